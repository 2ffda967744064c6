//! The [`KeyAdmin`] operations (sync; for an in-memory or cached store).

use core::time::Duration;

use palisade_apikey::{Cidr, IssuedKey, KeyId, KeyStore, NewKey};
use palisade_envelope::KeyProvider;
use palisade_tenancy::Timestamp;

use crate::admin::{
    ACT_IPS, ACT_ISSUE, ACT_LIST, ACT_READ, ACT_REVOKE, ACT_ROTATE, ACT_SCOPES, KeyAdmin,
    PERM_READ, PERM_REVOKE, PERM_ROTATE, PERM_UPDATE, Target, generation_of, info,
};
use crate::admin_audit::KeyEvent;
use crate::admin_error::KeyAdminError;
use crate::admin_info::KeyInfo;

impl<S: KeyStore, P: KeyProvider> KeyAdmin<'_, S, P> {
    /// The key `id`, if it lies in the caller's scope and the caller may
    /// `apikeys:read` there. Audited as `apikey.read`.
    ///
    /// # Errors
    /// [`KeyAdminError::NotFound`] (also for another tenant's or project's
    /// key), [`KeyAdminError::NotPermitted`], or
    /// [`KeyAdminError::Unavailable`] when the audit record fails.
    pub fn get(&self, id: &KeyId, now: Timestamp) -> Result<KeyInfo, KeyAdminError> {
        let found = self.keys().store().get(id);
        let t = self.target(ACT_READ, PERM_READ, id, found, false, now)?;
        self.finish_get(t, now)
    }

    pub(crate) fn finish_get(&self, t: Target, now: Timestamp) -> Result<KeyInfo, KeyAdminError> {
        let ev = KeyEvent::new(ACT_READ, t.record.scope, Some(&t.record.key_id))
            .int("generation", t.record.generation);
        self.record(now, ev)
            .map_err(|e| KeyAdminError::Unavailable {
                reason: format!("audit record failed: {e}"),
            })?;
        Ok(info(&t.record))
    }

    /// Every key in the caller's scope that it may `apikeys:read`, oldest
    /// first. Audited once, as `apikey.list` in the caller's tenant log.
    ///
    /// # Errors
    /// [`KeyAdminError::NotPermitted`] when the caller may read keys
    /// neither in its scope nor in any scope of a key listed;
    /// [`KeyAdminError::Unavailable`] when the audit record fails.
    pub fn list(&self, now: Timestamp) -> Result<Vec<KeyInfo>, KeyAdminError> {
        let all = self.keys().list(self.auth.tenant());
        self.finish_list(all, now)
    }

    pub(crate) fn finish_list(
        &self,
        all: Vec<palisade_apikey::KeyRecord>,
        now: Timestamp,
    ) -> Result<Vec<KeyInfo>, KeyAdminError> {
        let scope = self.auth.scope;
        let who = self.authority();
        let (visible, anywhere) = self.palisade.inner.policy.with_policy(|policy, _| {
            let visible: Vec<KeyInfo> = all
                .iter()
                .filter(|r| scope.contains(&r.scope) && who.may(policy, PERM_READ, r.scope, now))
                .map(info)
                .collect();
            let anywhere = !visible.is_empty() || who.may(policy, PERM_READ, scope, now);
            (visible, anywhere)
        });
        let ev = KeyEvent::new(ACT_LIST, scope, None);
        if !anywhere {
            let err = KeyAdminError::NotPermitted {
                principal: who.principal.to_string(),
                permission: PERM_READ,
                scope,
            };
            return Err(self.refuse(now, ev, err));
        }
        let count = u64::try_from(visible.len()).unwrap_or(u64::MAX);
        self.record(now, ev.int("count", count))
            .map_err(|e| KeyAdminError::Unavailable {
                reason: format!("audit record failed: {e}"),
            })?;
        Ok(visible)
    }

    /// Issue `new` on the caller's behalf: its scope must lie within the
    /// caller's, the caller must hold `apikeys:create` there, its owner must
    /// be the caller (or one it may administer), and its scopes must be
    /// known to the policy and within what the caller may do now.
    /// Audited as `apikey.issue` with the new key id.
    ///
    /// # Errors
    /// [`KeyAdminError::NotPermitted`], [`KeyAdminError::StaffOwner`],
    /// [`KeyAdminError::OwnerNotAdministrable`],
    /// [`KeyAdminError::UnknownScope`], [`KeyAdminError::Escalation`],
    /// [`KeyAdminError::Key`] for an invalid request, or
    /// [`KeyAdminError::Unavailable`] (the key is then not usable).
    pub fn issue(&self, new: NewKey, now: Timestamp) -> Result<IssuedKey, KeyAdminError> {
        self.check_issue(&new, now)?;
        let ev = KeyEvent::new(ACT_ISSUE, *new.target_scope(), None)
            .str("key_name", new.name())
            .scopes("new_scopes", new.granted_scopes());
        match self.keys().issue(new, now) {
            Ok(issued) => self.finish_issue(issued, now),
            Err(e) => Err(self.failed(now, ev, e)),
        }
    }

    /// Revoke the key `id` from `now` on. Audited as `apikey.revoke` with
    /// the earlier and the resulting `revoked_at`.
    ///
    /// # Errors
    /// [`KeyAdminError::NotFound`], [`KeyAdminError::NotPermitted`],
    /// [`KeyAdminError::OwnerNotAdministrable`], a store error, or
    /// [`KeyAdminError::Unaudited`] (the key is revoked).
    pub fn revoke(&self, id: &KeyId, now: Timestamp) -> Result<(), KeyAdminError> {
        let found = self.keys().store().get(id);
        let t = self.target(ACT_REVOKE, PERM_REVOKE, id, found, true, now)?;
        let ev = revoke_event(&t, id);
        match self.keys().revoke(id, now) {
            Ok(()) => {
                let until = Some(t.record.revoked_at.map_or(now, |r| r.min(now)));
                let ev =
                    with_generation(ev.time("revoked_at", until), generation_of(self.keys(), id));
                self.done(now, ev, ACT_REVOKE, id)
            }
            Err(e) => Err(self.failed(now, ev, e)),
        }
    }

    /// Rotate the key `id`: issue its successor (same scope, owner and
    /// scopes; the caller receives its secret, so its scopes must be within
    /// the caller's) and let the old key work for `grace`. Audited as
    /// `apikey.rotate` with `successor_key_id` and `grace_until`.
    ///
    /// # Errors
    /// As [`KeyAdmin::revoke`], plus [`KeyAdminError::Escalation`],
    /// [`KeyAdminError::UnknownScope`] and [`KeyAdminError::Key`] (e.g. an
    /// inactive key). [`KeyAdminError::Unavailable`] when the record of the
    /// successor fails (it is then revoked).
    pub fn rotate(
        &self,
        id: &KeyId,
        grace: Duration,
        now: Timestamp,
    ) -> Result<IssuedKey, KeyAdminError> {
        let found = self.keys().store().get(id);
        let t = self.target(ACT_ROTATE, PERM_ROTATE, id, found, true, now)?;
        let ev = || rotate_event(&t, id);
        self.check_grant(now, &t.record.scopes, t.record.scope, ev)?;
        match self.keys().rotate(id, grace, now) {
            Ok(successor) => self.finish_rotate(&t, id, successor, grace, now),
            Err(e) => Err(self.failed(now, ev(), e)),
        }
    }

    pub(crate) fn finish_rotate(
        &self,
        t: &Target,
        id: &KeyId,
        successor: IssuedKey,
        grace: Duration,
        now: Timestamp,
    ) -> Result<IssuedKey, KeyAdminError> {
        let ev = rotate_event(t, id)
            .str("successor_key_id", successor.key_id().as_str())
            .time("grace_until", Some(now.saturating_add(grace)));
        let ev = with_generation(ev, generation_of(self.keys(), id));
        match self.record(now, ev) {
            Ok(()) => Ok(successor),
            Err(e) => {
                let undone = self.keys().revoke(successor.key_id(), now).is_ok();
                Err(KeyAdminError::Unavailable {
                    reason: format!(
                        "the audit record of the rotation failed ({e}); the successor was {}",
                        if undone {
                            "revoked again"
                        } else {
                            "issued but could not be revoked: revoke it"
                        }
                    ),
                })
            }
        }
    }

    /// Replace the key's granted scopes with `scopes` (each known to the
    /// policy and within what the caller may do now). Audited as
    /// `apikey.set_scopes` with `old_scopes` and `new_scopes`.
    ///
    /// # Errors
    /// As [`KeyAdmin::revoke`], plus [`KeyAdminError::Escalation`],
    /// [`KeyAdminError::UnknownScope`] and [`KeyAdminError::Key`] for a
    /// malformed scope.
    pub fn set_scopes(
        &self,
        id: &KeyId,
        scopes: &[&str],
        now: Timestamp,
    ) -> Result<(), KeyAdminError> {
        let found = self.keys().store().get(id);
        let t = self.target(ACT_SCOPES, PERM_UPDATE, id, found, true, now)?;
        let ev = || scopes_event(&t, id, scopes);
        for s in scopes {
            if let Err(e) = palisade_apikey::validate_scope(s) {
                return Err(self.refuse(now, ev(), KeyAdminError::Key(e)));
            }
        }
        self.check_grant(now, scopes, t.record.scope, ev)?;
        match self.keys().set_scopes(id, scopes) {
            Ok(()) => {
                let ev = with_generation(ev(), generation_of(self.keys(), id));
                self.done(now, ev, ACT_SCOPES, id)
            }
            Err(e) => Err(self.failed(now, ev(), e)),
        }
    }

    /// Replace the key's IP allow-list (empty: any address). Audited as
    /// `apikey.set_allowed_ips` with the old and new lists.
    ///
    /// # Errors
    /// As [`KeyAdmin::revoke`].
    pub fn set_allowed_ips(
        &self,
        id: &KeyId,
        ips: &[Cidr],
        now: Timestamp,
    ) -> Result<(), KeyAdminError> {
        let found = self.keys().store().get(id);
        let t = self.target(ACT_IPS, PERM_UPDATE, id, found, true, now)?;
        let ev = ips_event(&t, id, ips);
        match self.keys().set_allowed_ips(id, ips) {
            Ok(()) => {
                let ev = with_generation(ev, generation_of(self.keys(), id));
                self.done(now, ev, ACT_IPS, id)
            }
            Err(e) => Err(self.failed(now, ev, e)),
        }
    }
}

pub(crate) fn with_generation(ev: KeyEvent, generation: Option<u64>) -> KeyEvent {
    match generation {
        Some(g) => ev.int("generation", g),
        None => ev,
    }
}

pub(crate) fn revoke_event(t: &Target, id: &KeyId) -> KeyEvent {
    KeyEvent::new(ACT_REVOKE, t.record.scope, Some(id)).time("old_revoked_at", t.record.revoked_at)
}

pub(crate) fn rotate_event(t: &Target, id: &KeyId) -> KeyEvent {
    KeyEvent::new(ACT_ROTATE, t.record.scope, Some(id)).scopes("scopes", &t.record.scopes)
}

pub(crate) fn scopes_event(t: &Target, id: &KeyId, scopes: &[&str]) -> KeyEvent {
    KeyEvent::new(ACT_SCOPES, t.record.scope, Some(id))
        .scopes("old_scopes", &t.record.scopes)
        .scopes("new_scopes", scopes)
}

pub(crate) fn ips_event(t: &Target, id: &KeyId, ips: &[Cidr]) -> KeyEvent {
    KeyEvent::new(ACT_IPS, t.record.scope, Some(id))
        .ips("old_allowed_ips", &t.record.allowed_ips)
        .ips("new_allowed_ips", ips)
}
