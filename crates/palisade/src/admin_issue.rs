//! [`KeyAdmin::issue`] (and its async twin), and the audit of key rewrites
//! made while verifying (pepper rehash, legacy reseal).

use palisade_apikey::{IssuedKey, KeyStore, NewKey, Verified};
use palisade_envelope::KeyProvider;
use palisade_tenancy::{PrincipalKind, Timestamp};

use crate::admin::{ACT_ISSUE, KeyAdmin, PERM_CREATE};
use crate::admin_audit::KeyEvent;
use crate::admin_check::ADMIN_PERMISSION;
use crate::admin_error::KeyAdminError;
use crate::service::Palisade;

impl<S: KeyStore, P: KeyProvider> KeyAdmin<'_, S, P> {
    /// Issue `new` on the caller's behalf: its scope must lie within the
    /// caller's, the caller must hold `apikeys:create` there, its owner must
    /// be the caller (or one it may administer; an ownerless key needs
    /// `apikeys:admin`), and its scopes must be known to the policy and
    /// within what the caller may do now. Audited as `apikey.issue` with
    /// the new key id.
    ///
    /// # Errors
    /// [`KeyAdminError::NotPermitted`], [`KeyAdminError::StaffOwner`],
    /// [`KeyAdminError::OwnerNotAdministrable`],
    /// [`KeyAdminError::UnknownScope`], [`KeyAdminError::Escalation`],
    /// [`KeyAdminError::Key`] for an invalid request (a store that would
    /// have to wait: use [`KeyAdmin::issue_async`]), or
    /// [`KeyAdminError::Unavailable`] (the key is then not usable).
    pub fn issue(&self, new: NewKey, now: Timestamp) -> Result<IssuedKey, KeyAdminError> {
        self.check_issue(&new, now)?;
        let ev = issue_request_event(&new);
        let issued = self
            .keys()
            .issue(new, now)
            .map_err(|e| self.failed(now, ev, e))?;
        match self.record(now, issued_event(&issued)) {
            Ok(()) => Ok(issued),
            Err(e) => {
                let undone = self.keys().revoke(issued.key_id(), now).is_ok();
                Err(unrecorded("new key", &e, undone))
            }
        }
    }

    /// [`KeyAdmin::issue`], awaiting the store.
    ///
    /// # Errors
    /// As [`KeyAdmin::issue`].
    pub async fn issue_async(
        &self,
        new: NewKey,
        now: Timestamp,
    ) -> Result<IssuedKey, KeyAdminError> {
        self.check_issue(&new, now)?;
        let ev = issue_request_event(&new);
        let issued = match self.keys().issue_async(new, now).await {
            Ok(k) => k,
            Err(e) => return Err(self.failed(now, ev, e)),
        };
        match self.record(now, issued_event(&issued)) {
            Ok(()) => Ok(issued),
            Err(e) => {
                let undone = self.keys().revoke_async(issued.key_id(), now).await.is_ok();
                Err(unrecorded("new key", &e, undone))
            }
        }
    }

    /// The checks of an issue request, before anything is created.
    pub(crate) fn check_issue(&self, new: &NewKey, now: Timestamp) -> Result<(), KeyAdminError> {
        let scope = *new.target_scope();
        let caller_scope = self.auth.scope;
        let owner = new.owner_ref();
        let ev = || {
            KeyEvent::new(ACT_ISSUE, scope, None)
                .str("key_name", new.name())
                .str(
                    "owner",
                    &owner.map_or_else(|| "-".into(), ToString::to_string),
                )
                .scopes("new_scopes", new.granted_scopes())
                .ips("new_allowed_ips", new.allowed_ips())
        };
        let who = self.authority();
        if !caller_scope.contains(&scope) {
            // Recorded in the caller's log only: naming any tenant must not
            // let a caller write into (or create) that tenant's log.
            let err = KeyAdminError::NotPermitted {
                principal: who.principal.to_string(),
                permission: PERM_CREATE,
                scope,
            };
            return Err(self.refuse(now, ev().in_scope(caller_scope), err));
        }
        if let Some(o) = owner.filter(|o| o.kind() == PrincipalKind::Staff) {
            let err = KeyAdminError::StaffOwner {
                owner: o.to_string(),
            };
            return Err(self.refuse(now, ev(), err));
        }
        let refusal = self.policy(|policy, _| {
            if !who.may(policy, PERM_CREATE, scope, now) {
                return Some(KeyAdminError::NotPermitted {
                    principal: who.principal.to_string(),
                    permission: PERM_CREATE,
                    scope,
                });
            }
            let administrable = match owner {
                Some(o) => who.may_administer(policy, o, scope, now),
                // An ownerless key is a new principal of its own.
                None => who.may(policy, ADMIN_PERMISSION, scope, now),
            };
            (!administrable).then(|| KeyAdminError::OwnerNotAdministrable {
                principal: who.principal.to_string(),
                owner: owner.map_or_else(|| "key:(the new key)".into(), ToString::to_string),
                scope,
            })
        });
        if let Some(err) = refusal {
            return Err(self.refuse(now, ev(), err));
        }
        self.check_grant(now, new.granted_scopes(), scope, ev)
    }
}

/// The error for a new key (or successor) whose audit record failed.
pub(crate) fn unrecorded(
    what: &str,
    e: &palisade_audit::AuditError,
    undone: bool,
) -> KeyAdminError {
    // No key may exist that its tenant's log does not show.
    KeyAdminError::Unavailable {
        reason: format!(
            "the audit record of the {what} failed ({e}); it was {}",
            if undone {
                "revoked again"
            } else {
                "issued but could not be revoked: revoke it"
            }
        ),
    }
}

fn issue_request_event(new: &NewKey) -> KeyEvent {
    KeyEvent::new(ACT_ISSUE, *new.target_scope(), None)
        .str("key_name", new.name())
        .scopes("new_scopes", new.granted_scopes())
}

fn issued_event(issued: &IssuedKey) -> KeyEvent {
    let r = issued.record();
    KeyEvent::new(ACT_ISSUE, r.scope, Some(&r.key_id))
        .str("key_name", &r.name)
        .str(
            "owner",
            &r.owner
                .as_ref()
                .map_or_else(|| "-".into(), ToString::to_string),
        )
        .scopes("new_scopes", &r.scopes)
        .ips("new_allowed_ips", &r.allowed_ips)
        .time("expires_at", r.expires_at)
        .int("generation", r.generation)
}

impl<S: KeyStore, P: KeyProvider> Palisade<S, P> {
    /// After a successful verify that rewrote the key's record (a rehash
    /// under the current pepper, or the seal of a version 1 record):
    /// record it in the key's tenant log, `apikey.rehash` (best effort:
    /// the request goes on either way).
    pub(crate) fn audit_rehash(&self, v: &Verified, now: Timestamp) {
        if !v.rehashed() && !v.resealed() {
            return;
        }
        let before = v.record().hash.pepper_version();
        let after = self.inner.keys.store().lookup(v.key_id()).found();
        let after = after.as_ref().map(|e| e.record());
        let _ = self.inner.trail.record_rehash(
            v,
            before,
            after.and_then(|r| r.hash.pepper_version()),
            after.map(|r| r.generation),
            v.resealed(),
            now,
        );
    }
}
