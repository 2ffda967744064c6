//! The [`KeyAdmin`] operations on existing keys, each with an `_async`
//! twin for stores that must be awaited (the sync form polls the store
//! once and reports a store that would wait as
//! [`KeyAdminError::Unavailable`]).

use core::time::Duration;

use palisade_apikey::{ApiKeyError, Cidr, IssuedKey, KeyId, KeyRecord, KeyStore};
use palisade_envelope::KeyProvider;
use palisade_tenancy::Timestamp;

use crate::admin::{
    ACT_IPS, ACT_LIST, ACT_READ, ACT_REVOKE, ACT_ROTATE, ACT_SCOPES, Access, KeyAdmin, PERM_READ,
    PERM_REVOKE, PERM_ROTATE, PERM_UPDATE, Target, info,
};
use crate::admin_audit::KeyEvent;
use crate::admin_error::KeyAdminError;
use crate::admin_info::KeyInfo;
use crate::admin_issue::unrecorded;

impl<S: KeyStore, P: KeyProvider> KeyAdmin<'_, S, P> {
    /// The key `id`, if it lies in the caller's scope and the caller may
    /// `apikeys:read` there. Audited as `apikey.read`.
    ///
    /// # Errors
    /// [`KeyAdminError::NotFound`] (also for another tenant's or project's
    /// key), [`KeyAdminError::NotPermitted`], or
    /// [`KeyAdminError::Unavailable`] (store, or the audit record).
    pub fn get(&self, id: &KeyId, now: Timestamp) -> Result<KeyInfo, KeyAdminError> {
        let found = self.keys().get(id);
        let t = self.target(ACT_READ, PERM_READ, id, found, Access::Read, now)?;
        self.finish_get(&t, now)
    }

    /// [`KeyAdmin::get`], awaiting the store.
    ///
    /// # Errors
    /// As [`KeyAdmin::get`].
    pub async fn get_async(&self, id: &KeyId, now: Timestamp) -> Result<KeyInfo, KeyAdminError> {
        let found = self.keys().get_async(id).await;
        let t = self.target(ACT_READ, PERM_READ, id, found, Access::Read, now)?;
        self.finish_get(&t, now)
    }

    fn finish_get(&self, t: &Target, now: Timestamp) -> Result<KeyInfo, KeyAdminError> {
        let mut ev = KeyEvent::new(ACT_READ, t.record.scope, Some(&t.record.key_id))
            .int("generation", t.record.generation);
        if !t.authentic {
            ev = ev.str("integrity", "record MAC does not verify");
        }
        self.record(now, ev).map_err(audit_unavailable)?;
        Ok(info(&t.record, t.authentic))
    }

    /// Every key in the caller's scope that it may `apikeys:read`, oldest
    /// first. Audited once, as `apikey.list` in the caller's tenant log.
    ///
    /// # Errors
    /// [`KeyAdminError::NotPermitted`] when the caller may read keys
    /// neither in its scope nor in the scope of any key listed;
    /// [`KeyAdminError::Unavailable`] (store, or the audit record).
    pub fn list(&self, now: Timestamp) -> Result<Vec<KeyInfo>, KeyAdminError> {
        let all = self.keys().list(self.auth.tenant());
        self.finish_list(all, now)
    }

    /// [`KeyAdmin::list`], awaiting the store.
    ///
    /// # Errors
    /// As [`KeyAdmin::list`].
    pub async fn list_async(&self, now: Timestamp) -> Result<Vec<KeyInfo>, KeyAdminError> {
        let all = self.keys().list_async(self.auth.tenant()).await;
        self.finish_list(all, now)
    }

    fn finish_list(
        &self,
        all: Result<Vec<KeyRecord>, ApiKeyError>,
        now: Timestamp,
    ) -> Result<Vec<KeyInfo>, KeyAdminError> {
        let scope = self.auth.scope;
        let ev = KeyEvent::new(ACT_LIST, scope, None);
        let all = all.map_err(|e| self.failed(now, KeyEvent::new(ACT_LIST, scope, None), e))?;
        let who = self.authority();
        let keys = self.keys();
        let (visible, anywhere) = self.palisade.inner.policy.with_policy(|policy, _| {
            let visible: Vec<KeyInfo> = all
                .iter()
                .filter(|r| scope.contains(&r.scope) && who.may(policy, PERM_READ, r.scope, now))
                .map(|r| info(r, keys.record_is_authentic(r)))
                .collect();
            let anywhere = !visible.is_empty() || who.may(policy, PERM_READ, scope, now);
            (visible, anywhere)
        });
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
            .map_err(audit_unavailable)?;
        Ok(visible)
    }

    /// Revoke the key `id` from `now` on (also a key whose stored record
    /// fails its MAC). Audited as `apikey.revoke` with the earlier and the
    /// resulting `revoked_at`.
    ///
    /// # Errors
    /// [`KeyAdminError::NotFound`], [`KeyAdminError::NotPermitted`],
    /// [`KeyAdminError::OwnerNotAdministrable`], a store error, or
    /// [`KeyAdminError::Unaudited`] (the key is revoked).
    pub fn revoke(&self, id: &KeyId, now: Timestamp) -> Result<(), KeyAdminError> {
        let found = self.keys().get(id);
        let t = self.target(ACT_REVOKE, PERM_REVOKE, id, found, Access::Revoke, now)?;
        let done = self.keys().revoke(id, now);
        self.finish_change(revoke_event(&t, id), done, ACT_REVOKE, id, now)
    }

    /// [`KeyAdmin::revoke`], awaiting the store.
    ///
    /// # Errors
    /// As [`KeyAdmin::revoke`].
    pub async fn revoke_async(&self, id: &KeyId, now: Timestamp) -> Result<(), KeyAdminError> {
        let found = self.keys().get_async(id).await;
        let t = self.target(ACT_REVOKE, PERM_REVOKE, id, found, Access::Revoke, now)?;
        let done = self.keys().revoke_async(id, now).await;
        self.finish_change(revoke_event(&t, id), done, ACT_REVOKE, id, now)
    }

    /// Rotate the key `id`: issue its successor (same scope, owner and
    /// scopes; the caller receives its secret, so its scopes must be within
    /// the caller's) and let the old key work for `grace`. Audited as
    /// `apikey.rotate` with `successor_key_id` and `grace_until`.
    ///
    /// # Errors
    /// As [`KeyAdmin::revoke`], plus [`KeyAdminError::RecordTampered`],
    /// [`KeyAdminError::Escalation`], [`KeyAdminError::UnknownScope`] and
    /// [`KeyAdminError::Key`] (e.g. an inactive or already rotated key).
    /// [`KeyAdminError::Unavailable`] when the record of the successor
    /// fails (it is then revoked).
    pub fn rotate(
        &self,
        id: &KeyId,
        grace: Duration,
        now: Timestamp,
    ) -> Result<IssuedKey, KeyAdminError> {
        let found = self.keys().get(id);
        let t = self.check_rotate(id, found, now)?;
        let successor = self
            .keys()
            .rotate(id, grace, now)
            .map_err(|e| self.failed(now, rotate_event(&t, id), e))?;
        let generation = self.keys().get(id).ok().flatten().map(|r| r.generation);
        match self.record(
            now,
            rotated_event(&t, id, &successor, grace, generation, now),
        ) {
            Ok(()) => Ok(successor),
            Err(e) => {
                let undone = self.keys().revoke(successor.key_id(), now).is_ok();
                Err(unrecorded("successor key", &e, undone))
            }
        }
    }

    /// [`KeyAdmin::rotate`], awaiting the store.
    ///
    /// # Errors
    /// As [`KeyAdmin::rotate`].
    pub async fn rotate_async(
        &self,
        id: &KeyId,
        grace: Duration,
        now: Timestamp,
    ) -> Result<IssuedKey, KeyAdminError> {
        let found = self.keys().get_async(id).await;
        let t = self.check_rotate(id, found, now)?;
        let successor = match self.keys().rotate_async(id, grace, now).await {
            Ok(k) => k,
            Err(e) => return Err(self.failed(now, rotate_event(&t, id), e)),
        };
        let generation = self.keys().get_async(id).await.ok().flatten();
        let generation = generation.map(|r| r.generation);
        match self.record(
            now,
            rotated_event(&t, id, &successor, grace, generation, now),
        ) {
            Ok(()) => Ok(successor),
            Err(e) => {
                let undone = self
                    .keys()
                    .revoke_async(successor.key_id(), now)
                    .await
                    .is_ok();
                Err(unrecorded("successor key", &e, undone))
            }
        }
    }

    fn check_rotate(
        &self,
        id: &KeyId,
        found: Result<Option<KeyRecord>, ApiKeyError>,
        now: Timestamp,
    ) -> Result<Target, KeyAdminError> {
        let t = self.target(ACT_ROTATE, PERM_ROTATE, id, found, Access::Change, now)?;
        let ev = || rotate_event(&t, id);
        self.check_grant(now, &t.record.scopes, t.record.scope, ev)?;
        Ok(t)
    }

    /// Replace the key's granted scopes with `scopes` (each known to the
    /// policy and within what the caller may do now). Audited as
    /// `apikey.set_scopes` with `old_scopes` and `new_scopes`.
    ///
    /// # Errors
    /// As [`KeyAdmin::revoke`], plus [`KeyAdminError::RecordTampered`],
    /// [`KeyAdminError::Escalation`], [`KeyAdminError::UnknownScope`] and
    /// [`KeyAdminError::Key`] for a malformed scope.
    pub fn set_scopes(
        &self,
        id: &KeyId,
        scopes: &[&str],
        now: Timestamp,
    ) -> Result<(), KeyAdminError> {
        let found = self.keys().get(id);
        let t = self.check_scopes(id, found, scopes, now)?;
        let done = self.keys().set_scopes(id, scopes);
        self.finish_change(scopes_event(&t, id, scopes), done, ACT_SCOPES, id, now)
    }

    /// [`KeyAdmin::set_scopes`], awaiting the store.
    ///
    /// # Errors
    /// As [`KeyAdmin::set_scopes`].
    pub async fn set_scopes_async(
        &self,
        id: &KeyId,
        scopes: &[&str],
        now: Timestamp,
    ) -> Result<(), KeyAdminError> {
        let found = self.keys().get_async(id).await;
        let t = self.check_scopes(id, found, scopes, now)?;
        let done = self.keys().set_scopes_async(id, scopes).await;
        self.finish_change(scopes_event(&t, id, scopes), done, ACT_SCOPES, id, now)
    }

    fn check_scopes(
        &self,
        id: &KeyId,
        found: Result<Option<KeyRecord>, ApiKeyError>,
        scopes: &[&str],
        now: Timestamp,
    ) -> Result<Target, KeyAdminError> {
        let t = self.target(ACT_SCOPES, PERM_UPDATE, id, found, Access::Change, now)?;
        let ev = || scopes_event(&t, id, scopes);
        for s in scopes {
            if let Err(e) = palisade_apikey::validate_scope(s) {
                return Err(self.refuse(now, ev(), KeyAdminError::Key(e)));
            }
        }
        self.check_grant(now, scopes, t.record.scope, ev)?;
        Ok(t)
    }

    /// Replace the key's IP allow-list (empty: any address). Audited as
    /// `apikey.set_allowed_ips` with the old and new lists.
    ///
    /// # Errors
    /// As [`KeyAdmin::revoke`], plus [`KeyAdminError::RecordTampered`].
    pub fn set_allowed_ips(
        &self,
        id: &KeyId,
        ips: &[Cidr],
        now: Timestamp,
    ) -> Result<(), KeyAdminError> {
        let found = self.keys().get(id);
        let t = self.target(ACT_IPS, PERM_UPDATE, id, found, Access::Change, now)?;
        let done = self.keys().set_allowed_ips(id, ips);
        self.finish_change(ips_event(&t, id, ips), done, ACT_IPS, id, now)
    }

    /// [`KeyAdmin::set_allowed_ips`], awaiting the store.
    ///
    /// # Errors
    /// As [`KeyAdmin::set_allowed_ips`].
    pub async fn set_allowed_ips_async(
        &self,
        id: &KeyId,
        ips: &[Cidr],
        now: Timestamp,
    ) -> Result<(), KeyAdminError> {
        let found = self.keys().get_async(id).await;
        let t = self.target(ACT_IPS, PERM_UPDATE, id, found, Access::Change, now)?;
        let done = self.keys().set_allowed_ips_async(id, ips).await;
        self.finish_change(ips_event(&t, id, ips), done, ACT_IPS, id, now)
    }

    /// Record the outcome of a change that returned the new record.
    fn finish_change(
        &self,
        ev: KeyEvent,
        done: Result<KeyRecord, ApiKeyError>,
        action: &'static str,
        id: &KeyId,
        now: Timestamp,
    ) -> Result<(), KeyAdminError> {
        let new = match done {
            Ok(r) => r,
            Err(e) => return Err(self.failed(now, ev, e)),
        };
        let ev = match action {
            ACT_REVOKE => ev.time("revoked_at", new.revoked_at),
            _ => ev,
        };
        self.done(now, ev.int("generation", new.generation), action, id)
    }
}

fn audit_unavailable(e: palisade_audit::AuditError) -> KeyAdminError {
    KeyAdminError::Unavailable {
        reason: format!("audit record failed: {e}"),
    }
}

fn revoke_event(t: &Target, id: &KeyId) -> KeyEvent {
    KeyEvent::new(ACT_REVOKE, t.record.scope, Some(id)).time("old_revoked_at", t.record.revoked_at)
}

fn rotate_event(t: &Target, id: &KeyId) -> KeyEvent {
    KeyEvent::new(ACT_ROTATE, t.record.scope, Some(id)).scopes("scopes", &t.record.scopes)
}

fn rotated_event(
    t: &Target,
    id: &KeyId,
    successor: &IssuedKey,
    grace: Duration,
    generation: Option<u64>,
    now: Timestamp,
) -> KeyEvent {
    let ev = rotate_event(t, id)
        .str("successor_key_id", successor.key_id().as_str())
        .time("grace_until", Some(now.saturating_add(grace)));
    match generation {
        Some(g) => ev.int("generation", g),
        None => ev,
    }
}

fn scopes_event(t: &Target, id: &KeyId, scopes: &[&str]) -> KeyEvent {
    KeyEvent::new(ACT_SCOPES, t.record.scope, Some(id))
        .scopes("old_scopes", &t.record.scopes)
        .scopes("new_scopes", scopes)
}

fn ips_event(t: &Target, id: &KeyId, ips: &[Cidr]) -> KeyEvent {
    KeyEvent::new(ACT_IPS, t.record.scope, Some(id))
        .ips("old_allowed_ips", &t.record.allowed_ips)
        .ips("new_allowed_ips", ips)
}
