//! [`KeyAdmin`]: tenant-safe, permission-checked, audited key administration
//! on behalf of an [`Authorized`] caller.
//!
//! Each call does, in one place: the scope check (a key outside the
//! caller's scope is "no such key"), the RBAC check of the operation's
//! permission in the key's scope, the ownership check (only the caller's
//! own keys unless it holds [`ADMIN_PERMISSION`](crate::ADMIN_PERMISSION)), the escalation and
//! unknown-scope checks for anything that grants scopes, the change, and
//! an audit record in the key's tenant log — allowed, denied or failed.

use palisade_apikey::{ApiKeyError, ApiKeys, KeyId, KeyRecord, KeyStore};
use palisade_envelope::KeyProvider;
use palisade_rbac::CompiledPolicy;
use palisade_tenancy::{Scope, Timestamp};

use crate::admin_audit::{KeyEvent, owner_of};
use crate::admin_check::Authority;
use crate::admin_error::KeyAdminError;
use crate::admin_info::KeyInfo;
use crate::authorized::Authorized;
use crate::service::Palisade;

/// Permission to read and list keys.
pub const PERM_READ: &str = "apikeys:read";
/// Permission to issue keys.
pub const PERM_CREATE: &str = "apikeys:create";
/// Permission to revoke keys.
pub const PERM_REVOKE: &str = "apikeys:revoke";
/// Permission to rotate keys (the caller receives the successor's secret).
pub const PERM_ROTATE: &str = "apikeys:rotate";
/// Permission to change a key's scopes or IP allow-list.
pub const PERM_UPDATE: &str = "apikeys:update";

pub(crate) const ACT_READ: &str = "apikey.read";
pub(crate) const ACT_LIST: &str = "apikey.list";
pub(crate) const ACT_ISSUE: &str = "apikey.issue";
pub(crate) const ACT_REVOKE: &str = "apikey.revoke";
pub(crate) const ACT_ROTATE: &str = "apikey.rotate";
pub(crate) const ACT_SCOPES: &str = "apikey.set_scopes";
pub(crate) const ACT_IPS: &str = "apikey.set_allowed_ips";

/// Key administration for one authorized caller: get from
/// [`Palisade::key_admin`].
///
/// | call | permission (in the key's scope) | also |
/// |---|---|---|
/// | [`get`](KeyAdmin::get), [`list`](KeyAdmin::list) | `apikeys:read` | |
/// | [`issue`](KeyAdmin::issue) | `apikeys:create` | owner administrable; scopes within the caller's |
/// | [`revoke`](KeyAdmin::revoke) | `apikeys:revoke` | owner administrable |
/// | [`rotate`](KeyAdmin::rotate) | `apikeys:rotate` | owner administrable; scopes within the caller's |
/// | [`set_scopes`](KeyAdmin::set_scopes) | `apikeys:update` | owner administrable; scopes within the caller's |
/// | [`set_allowed_ips`](KeyAdmin::set_allowed_ips) | `apikeys:update` | owner administrable |
///
/// **Scope.** Only keys whose scope lies within the caller's
/// ([`Authorized::scope`]) exist for it; any other id is refused as
/// [`KeyAdminError::NotFound`], exactly like an id that does not exist.
///
/// **Permissions** are the caller's roles in the key's scope at `now`,
/// narrowed by the scopes of the key it presented ([`Authorized::key_scopes`]);
/// for staff, the break-glass grant's permissions (while it is live and
/// covers the scope). A policy that does not declare a permission grants
/// it to nobody, so the operation is refused.
///
/// **May administer.** A caller may manage (issue for, revoke, rotate,
/// rescope) keys owned by its own acting principal ([`Authorized::principal`]:
/// the presenting key's owner, or the user); keys owned by anyone else, and
/// keys without an owner (their own principal), need [`ADMIN_PERMISSION`](crate::ADMIN_PERMISSION)
/// (`apikeys:admin`) in the key's scope. Staff never own keys.
///
/// **No escalation.** Scopes granted by [`issue`](KeyAdmin::issue),
/// [`rotate`](KeyAdmin::rotate) (the successor keeps the old key's scopes,
/// and the caller receives its secret) and [`set_scopes`](KeyAdmin::set_scopes)
/// must each match at least one permission of the policy in force
/// ([`KeyAdminError::UnknownScope`]) and may only cover permissions the
/// caller may use in the key's scope now; against a caller presenting a
/// key, each pattern must also be covered by one of that key's own
/// patterns, so it cannot widen when the policy grows
/// ([`KeyAdminError::Escalation`] names every excess).
///
/// **Audit.** Every call appends a record to the key's tenant log (named
/// `apikey.*`, distinct from the `apikeys.*` records of the request path's
/// permission check: `apikey.read`, `.list`, `.issue`, `.revoke`, `.rotate`, `.set_scopes`,
/// `.set_allowed_ips`; resource `apikey`/key id) with the acting principal,
/// the presenting key (`caller_key_id`), the key id (`key_id`), old and new
/// values, the record `generation` after the change, and the outcome. A
/// refusal for a key outside the caller's scope is recorded in the key's
/// tenant log with the real reason and in the caller's log as "not found".
/// A change whose record cannot be written is reported as
/// [`KeyAdminError::Unaudited`]; an issued key whose record cannot be
/// written is revoked again ([`KeyAdminError::Unavailable`]).
pub struct KeyAdmin<'a, S = palisade_apikey::MemoryStore, P = palisade_envelope::LocalKeyring> {
    pub(crate) palisade: &'a Palisade<S, P>,
    pub(crate) auth: &'a Authorized<P>,
}

impl<S, P> core::fmt::Debug for KeyAdmin<'_, S, P> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("KeyAdmin")
            .field("principal", &self.auth.principal)
            .field("scope", &self.auth.scope)
            .finish_non_exhaustive()
    }
}

impl<S: KeyStore, P: KeyProvider> Palisade<S, P> {
    /// Key administration acting as `auth` (see [`KeyAdmin`] for the checks
    /// and the audit). Use this in request handlers.
    #[must_use]
    pub fn key_admin<'a>(&'a self, auth: &'a Authorized<P>) -> KeyAdmin<'a, S, P> {
        KeyAdmin {
            palisade: self,
            auth,
        }
    }
}

/// A checked target: the record as read, and whether its MAC verifies.
pub(crate) struct Target {
    pub(crate) record: KeyRecord,
    pub(crate) authentic: bool,
}

/// What a call does to its target key.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Access {
    /// Reads it.
    Read,
    /// Revokes it (allowed on a record whose MAC fails: it only makes the
    /// key less usable).
    Revoke,
    /// Changes it (rotate, rescope, IP list).
    Change,
}

impl<S: KeyStore, P: KeyProvider> KeyAdmin<'_, S, P> {
    pub(crate) fn keys(&self) -> &ApiKeys<S> {
        &self.palisade.inner.keys
    }

    pub(crate) fn authority(&self) -> Authority<'_> {
        Authority {
            principal: &self.auth.principal,
            key: self.auth.verified.as_ref(),
            grant: self.auth.grant.as_deref(),
        }
    }

    pub(crate) fn policy<R>(&self, f: impl FnOnce(&CompiledPolicy, u64) -> R) -> R {
        self.palisade.inner.policy.with_policy(f)
    }

    /// Append `ev` (best effort for refusals: the caller is refused anyway).
    pub(crate) fn record(
        &self,
        now: Timestamp,
        ev: KeyEvent,
    ) -> Result<(), palisade_audit::AuditError> {
        self.palisade.inner.trail.record_key_event(
            &self.authority(),
            self.auth.staff_reason.as_deref(),
            self.auth.link.as_deref(),
            now,
            ev,
        )
    }

    /// Record the refusal `err` and return it.
    pub(crate) fn refuse(&self, now: Timestamp, ev: KeyEvent, err: KeyAdminError) -> KeyAdminError {
        // Ignored on purpose: the call is refused whether or not this lands.
        let _ = self.record(now, ev.denied(err.code(), &err.to_string()));
        err
    }

    /// Record that an authorized change failed, and return the error.
    pub(crate) fn failed(&self, now: Timestamp, ev: KeyEvent, err: ApiKeyError) -> KeyAdminError {
        let err = KeyAdminError::from(err);
        let _ = self.record(now, ev.failed(err.code(), &err.to_string()));
        err
    }

    /// Record a completed change; a failed record is reported.
    pub(crate) fn done(
        &self,
        now: Timestamp,
        ev: KeyEvent,
        action: &'static str,
        id: &KeyId,
    ) -> Result<(), KeyAdminError> {
        self.record(now, ev).map_err(|e| KeyAdminError::Unaudited {
            action,
            key_id: id.to_string(),
            reason: e.to_string(),
        })
    }

    /// The key `id` as read from the store (`found`), checked to lie in the
    /// caller's scope, to be one the caller may `permission` on, and (for
    /// changes) to be owned by a principal it may administer and to carry
    /// an authentic record MAC. Every refusal is recorded.
    pub(crate) fn target(
        &self,
        action: &'static str,
        permission: &'static str,
        id: &KeyId,
        found: Result<Option<KeyRecord>, ApiKeyError>,
        access: Access,
        now: Timestamp,
    ) -> Result<Target, KeyAdminError> {
        let not_found = || KeyAdminError::NotFound {
            key_id: id.to_string(),
        };
        let caller_scope = self.auth.scope;
        let record = match found {
            Ok(Some(r)) => r,
            Ok(None) => {
                let ev = KeyEvent::new(action, caller_scope, Some(id));
                return Err(self.refuse(now, ev, not_found()));
            }
            Err(e) => {
                return Err(self.failed(now, KeyEvent::new(action, caller_scope, Some(id)), e));
            }
        };
        let ev = KeyEvent::new(action, record.scope, Some(id));
        if !caller_scope.contains(&record.scope) {
            // The key's tenant learns who tried; the caller's log reads
            // exactly as for an id that does not exist.
            let why = format!(
                "`{}` acting in `{caller_scope}` named a key of `{}`",
                self.auth.principal, record.scope
            );
            let _ = self.record(now, ev.denied("cross_tenant", &why));
            if record.scope.tenant_id() != caller_scope.tenant_id() {
                let mine = KeyEvent::new(action, caller_scope, Some(id));
                return Err(self.refuse(now, mine, not_found()));
            }
            return Err(not_found());
        }
        let authentic = self.keys().record_is_authentic(&record);
        let who = self.authority();
        let owner = owner_of(&record);
        let refusal = self.policy(|policy, _| {
            if !who.may(policy, permission, record.scope, now) {
                return Some(KeyAdminError::NotPermitted {
                    principal: who.principal.to_string(),
                    permission,
                    scope: record.scope,
                });
            }
            if access == Access::Read {
                return None;
            }
            if let Some(o) = owner
                .as_ref()
                .filter(|o| !who.may_administer(policy, o, record.scope, now))
            {
                return Some(KeyAdminError::OwnerNotAdministrable {
                    principal: who.principal.to_string(),
                    owner: o.to_string(),
                    scope: record.scope,
                });
            }
            // A record edited outside Palisade may only be revoked.
            (access == Access::Change && !authentic).then(|| KeyAdminError::RecordTampered {
                key_id: id.to_string(),
            })
        });
        match refusal {
            Some(err) => Err(self.refuse(now, ev, err)),
            None => Ok(Target { record, authentic }),
        }
    }

    /// Check a grant of `scopes` to a key in `scope` (unknown scopes,
    /// escalation), recording a refusal as `ev`.
    pub(crate) fn check_grant<T: AsRef<str>>(
        &self,
        now: Timestamp,
        scopes: &[T],
        scope: Scope,
        ev: impl FnOnce() -> KeyEvent,
    ) -> Result<(), KeyAdminError> {
        let who = self.authority();
        self.policy(|policy, version| who.check_grant(policy, version, scopes, scope, now))
            .map_err(|err| self.refuse(now, ev(), err))
    }
}

pub(crate) fn info(record: &KeyRecord, authentic: bool) -> KeyInfo {
    KeyInfo::new(record, authentic)
}
