//! [`Palisade`]: built once from configuration, shared by every request.

use std::collections::HashMap;
use std::sync::Arc;

use palisade_apikey::{ApiKeys, KeyStore, MemoryStore, Verified, VerifyContext};
use palisade_envelope::{Envelope, KeyProvider, LocalKeyring};
use palisade_tenancy::{Principal, PrincipalKind, Scope, TenantId, Timestamp};

use crate::authorized::Authorized;
use crate::breakglass::{Grants, NO_GRANT};
use crate::config::PalisadeConfig;
use crate::denial::{Denial, DenyReason};
use crate::error::Result;
use crate::policy::PolicySlot;
use crate::ratelimit_backend::{
    LimitRequest, Plans, RateLimitBackend, RateRefusal, refusal_denial,
};
use crate::request::{Credential, Request};
use crate::trail::{Decision, Trail};

/// The Palisade request path, built once at start-up and cheap to clone
/// (one `Arc`): API keys, the RBAC policy (swappable while serving), the
/// audit trail, envelope encryption and rate limits.
///
/// `S` is the API-key store and `P` the envelope key provider; the defaults
/// are the embedded in-memory store and local keyring.
pub struct Palisade<S = MemoryStore, P = LocalKeyring> {
    pub(crate) inner: Arc<Inner<S, P>>,
}

impl<S, P> Clone for Palisade<S, P> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<S, P> core::fmt::Debug for Palisade<S, P> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Palisade")
            .field("policy_version", &self.inner.policy.version())
            .finish_non_exhaustive()
    }
}

pub(crate) struct Inner<S, P> {
    pub(crate) config: PalisadeConfig,
    pub(crate) keys: ApiKeys<S>,
    pub(crate) envelope: Envelope<P>,
    pub(crate) policy: PolicySlot,
    pub(crate) trail: Arc<Trail>,
    pub(crate) limiter: Arc<dyn RateLimitBackend>,
    pub(crate) plans: Plans,
    pub(crate) origins: HashMap<TenantId, Vec<String>>,
    pub(crate) grants: Grants,
}

/// Who is asking, once the credential has been checked.
struct Caller<'v> {
    principal: &'v Principal,
    key: Option<&'v Principal>,
    verified: Option<&'v Verified>,
    scope: Scope,
}

impl<S: KeyStore, P: KeyProvider> Palisade<S, P> {
    /// The configuration it was built from.
    #[must_use]
    pub fn config(&self) -> &PalisadeConfig {
        &self.inner.config
    }

    /// The raw API-key service, for background jobs and start-up
    /// provisioning: it **bypasses** the tenant scope check, RBAC and the
    /// audit trail (`revoke(id)` revokes any tenant's key, `issue` mints
    /// any scopes for any owner, nothing is recorded). Request handlers use
    /// [`Palisade::key_admin`] with the request's [`Authorized`] instead.
    #[must_use]
    pub fn keys_unchecked(&self) -> &ApiKeys<S> {
        &self.inner.keys
    }

    /// The raw API-key service (renamed: it skips every check).
    #[deprecated(
        since = "0.1.1",
        note = "bypasses tenant, RBAC and audit checks: use `key_admin(&auth)` in request handlers, or `keys_unchecked()` in background jobs"
    )]
    #[must_use]
    pub fn keys(&self) -> &ApiKeys<S> {
        &self.inner.keys
    }

    /// Envelope encryption (for background jobs; request handlers use
    /// [`Authorized::envelope`], which is bound to the request's scope).
    #[must_use]
    pub fn envelope(&self) -> &Envelope<P> {
        &self.inner.envelope
    }

    /// The audit log (per-tenant signed Merkle logs): call
    /// [`AuditLog::tick`](palisade_audit::AuditLog::tick) from a timer to
    /// sign due checkpoints.
    #[must_use]
    pub fn audit_log(&self) -> &palisade_audit::AuditLog {
        &self.inner.trail.log
    }

    /// The audit timer: write the summary records of refusal windows that
    /// ended by `now` ([`Palisade::flush_refusal_summaries`]), then sign
    /// due checkpoints ([`AuditLog::tick`](palisade_audit::AuditLog::tick)).
    /// Call it every few seconds.
    ///
    /// # Errors
    /// [`PalisadeError::Component`](crate::PalisadeError::Component) when a
    /// checkpoint cannot be signed or written.
    pub fn audit_tick(&self, now: Timestamp) -> Result<()> {
        self.flush_refusal_summaries(now);
        self.record_backend_events();
        self.inner
            .trail
            .log
            .tick(now)
            .map_err(|e| crate::PalisadeError::Component {
                component: "audit",
                message: e.to_string(),
            })
    }

    /// One audit record (in the unattributed log) per rate-limit backend
    /// event: each switch to and from its failure policy, once each.
    fn record_backend_events(&self) {
        use palisade_audit::DetailValue;
        for e in self.inner.limiter.take_events() {
            let (backend, at, action, text, decisions) = match &e {
                crate::BackendEvent::FallbackStarted {
                    backend,
                    policy,
                    reason,
                    at,
                } => (
                    *backend,
                    *at,
                    "ratelimit:fallback_started",
                    format!(
                        "rate-limit backend `{backend}` failing ({reason}): `{policy}` decides"
                    ),
                    0,
                ),
                crate::BackendEvent::FallbackEnded {
                    backend,
                    decisions,
                    at,
                } => (
                    *backend,
                    *at,
                    "ratelimit:fallback_ended",
                    format!("rate-limit backend `{backend}` answers again"),
                    *decisions,
                ),
            };
            let Ok(principal) = Principal::service("palisade-ratelimit") else {
                continue;
            };
            let denial = Denial::new(DenyReason::Internal, text);
            let details = [(
                "fallback_decisions",
                DetailValue::Int(i64::try_from(decisions).unwrap_or(i64::MAX)),
            )];
            let req = Request::new(
                Credential::ApiKey(""),
                action,
                "ratelimit_backend",
                backend,
                at,
            );
            let scope = Scope::tenant(crate::UNATTRIBUTED);
            let d = Decision::denied(&principal, None, None, scope, &denial).with_details(&details);
            // Best effort, like every system record: the decision stands.
            let _ = self.inner.trail.record(&d, &req);
        }
    }

    /// Sign every future audit checkpoint with `signer` (rotation), and
    /// accept its key in [`Palisade::verify_audit`]. Checkpoints signed by
    /// the previous key keep verifying: its public key stays in the keyring.
    ///
    /// # Errors
    /// [`PalisadeError::Component`](crate::PalisadeError::Component) when the
    /// signer's key id was used before (`AuditError::KeyIdReused`).
    pub fn rotate_audit_signer(&self, signer: palisade_audit::CheckpointSigner) -> Result<()> {
        let (id, key) = (signer.key_id().clone(), signer.verify_key());
        self.inner.trail.log.rotate_signer(signer).map_err(|e| {
            crate::PalisadeError::Component {
                component: "audit",
                message: e.to_string(),
            }
        })?;
        self.add_audit_verify_key(id, key)
    }

    /// Accept checkpoints signed by `key` (e.g. the previous signing key
    /// after a restart with a new one) in [`Palisade::verify_audit`].
    ///
    /// # Errors
    /// [`PalisadeError::Component`](crate::PalisadeError::Component) when
    /// `id` already names another key (`AuditError::KeyIdReused`).
    pub fn add_audit_verify_key(
        &self,
        id: palisade_audit::KeyId,
        key: palisade_audit::VerifyKey,
    ) -> Result<()> {
        // One keyring, the log's own: it checks stored checkpoints when a
        // tenant's file is resumed and verifies exports, so a key added
        // here also lets a restart continue a log an earlier key signed.
        self.inner
            .trail
            .log
            .add_verify_key(id, key)
            .map_err(|e| crate::PalisadeError::Component {
                component: "audit",
                message: e.to_string(),
            })
    }

    /// Export `tenant`'s audit log at `now` (a final checkpoint is signed),
    /// in the format `palisade-audit` verifies offline. Refusals counted
    /// but not yet summarised for this tenant (an over-budget client
    /// network) get their summary record first, so the export misses none.
    ///
    /// # Errors
    /// [`PalisadeError::Component`](crate::PalisadeError::Component) when the
    /// log cannot be read or signed.
    pub fn export_audit(&self, tenant: TenantId, now: Timestamp) -> Result<Vec<u8>> {
        let due = self.inner.trail.suppress.flush(now, Some(tenant), true);
        self.record_summaries(&due);
        let mut out = Vec::new();
        self.inner
            .trail
            .log
            .export(tenant, now, &mut out)
            .map_err(|e| crate::PalisadeError::Component {
                component: "audit",
                message: e.to_string(),
            })?;
        Ok(out)
    }

    /// Verify `tenant`'s export with this instance's checkpoint keys. Never
    /// panics; a problem is located by line and record index in the report.
    /// Another tenant's export is reported (`Problem::WrongTenant`), never OK.
    #[must_use]
    pub fn verify_audit(&self, tenant: TenantId, export: &[u8]) -> palisade_audit::Report {
        self.inner
            .trail
            .log
            .verify_export(export, &palisade_audit::VerifyOptions::new(tenant))
    }

    /// The rate-limit backend (e.g. to call
    /// [`RateLimitBackend::sweep`] and
    /// [`RateLimitBackend::drain_suppressions`] from a timer).
    #[must_use]
    pub fn rate_limiter(&self) -> &dyn RateLimitBackend {
        &*self.inner.limiter
    }

    /// The rate-limit plans in force (which tenant has which limits).
    #[must_use]
    pub fn rate_plans(&self) -> &Plans {
        &self.inner.plans
    }

    /// Replace the RBAC policy with one compiled from `text` (`now` only
    /// serves to reject grants that have already expired). Requests in
    /// flight finish on the old policy; later ones see the new one; cached
    /// key masks of the old version are not used again.
    ///
    /// # Errors
    /// [`PalisadeError::Component`](crate::PalisadeError::Component) when the
    /// policy does not compile; the old policy stays in force.
    pub fn swap_policy(&self, text: &str, now: Timestamp) -> Result<u64> {
        self.inner.policy.swap(text, now)
    }

    /// Run `f` on the compiled policy in force and its version (e.g. to
    /// list a user's permissions or explain a decision).
    pub fn with_policy<R>(&self, f: impl FnOnce(&palisade_rbac::CompiledPolicy, u64) -> R) -> R {
        self.inner.policy.with_policy(f)
    }

    /// The version of the policy in force (1 for the first, +1 per swap).
    #[must_use]
    pub fn policy_version(&self) -> u64 {
        self.inner.policy.version()
    }

    /// The one request path: verify the credential, derive the scope, check
    /// the target lies within it, check the browser origin, apply the rate
    /// limits, check RBAC (a key's scopes narrowing its owner's roles), and
    /// append a signed audit record of the decision, allow or deny alike.
    ///
    /// This is the synchronous twin of [`Palisade::authorize_async`], for
    /// embedded backends (in-memory key store, in-process limiter, local
    /// grants): it runs the same steps and polls them once. A backend that
    /// would have to wait (a key-store miss, a remote limiter or grant
    /// store) is never blocked on: the request is denied with
    /// [`DenyReason::Internal`] (HTTP 503); use `authorize_async` there.
    ///
    /// # Errors
    /// A [`Denial`]: show callers only its [`kind`](Denial::kind) (the
    /// `Display` form), log its [`explain`](Denial::explain). If the audit
    /// record cannot be written, an otherwise allowed request is denied
    /// ([`DenyReason::Internal`]).
    pub fn authorize(&self, req: &Request<'_>) -> core::result::Result<Authorized<P>, Denial> {
        let steps = core::pin::pin!(self.authorize_steps(req));
        let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
        match steps.poll(&mut cx) {
            core::task::Poll::Ready(outcome) => outcome,
            // Dropping the pending steps cancels them; nothing was allowed.
            core::task::Poll::Pending => Err(Denial::new(
                DenyReason::Internal,
                "a backend must be awaited on this request (key-store miss, remote rate \
                 limiter or grant store): call `Palisade::authorize_async`",
            )),
        }
    }

    /// The request path of [`Palisade::authorize`], awaiting the backends
    /// that may live elsewhere: the key fetch on a key-store cache miss, the
    /// rate-limit backend and the break-glass grant store. The axum layer
    /// calls this. With embedded backends every step is ready at once, so
    /// it costs the same as `authorize`.
    ///
    /// # Errors
    /// As [`Palisade::authorize`]; a backend failure is a fail-closed
    /// denial (HTTP 503), never "no such key" and never an allow.
    pub async fn authorize_async(
        &self,
        req: &Request<'_>,
    ) -> core::result::Result<Authorized<P>, Denial> {
        self.authorize_steps(req).await
    }

    /// The steps shared by both entry points. Every `.await` here is a
    /// point where a remote backend may suspend the request.
    async fn authorize_steps(
        &self,
        req: &Request<'_>,
    ) -> core::result::Result<Authorized<P>, Denial> {
        match req.credential {
            Credential::ApiKey(text) => {
                let ctx = VerifyContext {
                    now: req.now,
                    ip: req.facts.ip,
                    required_scope: None,
                };
                // Await point: the key fetch on a store miss.
                match self.inner.keys.verify_async(text, &ctx).await {
                    // Staff act only under break-glass grants, never by key
                    // (verification refuses such keys too: defence in depth).
                    Ok(v) if v.acting_principal().kind() == PrincipalKind::Staff => {
                        Err(self.refuse_staff_key(&v, req))
                    }
                    Ok(v) => {
                        self.audit_rehash(&v, req.now);
                        let caller = Caller {
                            principal: v.acting_principal(),
                            key: Some(v.key_principal()),
                            verified: Some(&v),
                            scope: *v.scope(),
                        };
                        self.decide(&caller, req).await
                    }
                    Err(rejection) => Err(self.refuse_key(text, rejection, req).await),
                }
            }
            Credential::Authenticated { principal, scope }
                if principal.kind() == PrincipalKind::Staff =>
            {
                let denial = Denial::new(
                    DenyReason::BreakGlass,
                    format!("`{principal}` must use a break-glass grant"),
                );
                let scope = req.target.unwrap_or(scope);
                let d = Decision::denied(principal, None, Some(NO_GRANT), scope, &denial);
                Err(match self.inner.trail.record(&d, req) {
                    Ok(()) => denial,
                    Err(e) => {
                        denial.with_extra_detail(&format!(" (and the audit record failed: {e})"))
                    }
                })
            }
            Credential::Authenticated { principal, scope } => {
                let caller = Caller {
                    principal,
                    key: None,
                    verified: None,
                    scope,
                };
                self.decide(&caller, req).await
            }
            Credential::Unusable { problem, claimed } => {
                Err(self.refuse_unusable(problem, claimed, req).await)
            }
            // Await point: the grant store (owned by breakglass.rs).
            Credential::Staff { principal, grant } => {
                self.staff_access(principal, grant, req).await
            }
        }
    }

    async fn decide(
        &self,
        caller: &Caller<'_>,
        req: &Request<'_>,
    ) -> core::result::Result<Authorized<P>, Denial> {
        let scope = match req.target {
            None => caller.scope,
            Some(t) if caller.scope.contains(&t) => t,
            Some(t) => {
                let d = Denial::new(
                    DenyReason::CrossTenant,
                    format!(
                        "`{}` acting in `{}` asked for a target in `{t}`",
                        caller.principal, caller.scope
                    ),
                );
                return Err(self.deny(caller, caller.scope, req, d));
            }
        };
        if let Some(origin) = req.facts.origin
            && !self
                .inner
                .origins
                .get(&scope.tenant_id())
                .is_some_and(|list| list.iter().any(|o| o == origin))
        {
            let d = Denial::new(
                DenyReason::OriginNotAllowed,
                format!(
                    "origin `{origin}` is not in the allowed origins of tenant `{}`",
                    scope.tenant_id()
                ),
            );
            return Err(self.deny(caller, scope, req, d));
        }
        let limited = caller.key.unwrap_or(caller.principal);
        // Await point: the rate-limit backend.
        let lr = LimitRequest {
            principal: limited,
            scope,
            plan: self.inner.plans.for_tenant(scope.tenant_id()),
            now: req.now,
        };
        // The sync fast path first; only a backend that must wait is awaited
        // (the in-process limiter never allocates a future).
        let rate = match self.inner.limiter.try_check(&lr) {
            Err(RateRefusal::WouldBlock) => self.inner.limiter.check(lr).await,
            other => other,
        };
        let rate = match rate {
            Ok(s) => s,
            Err(r) => return Err(self.deny(caller, scope, req, refusal_denial(r))),
        };
        if let Err(why) = self.inner.policy.check(
            caller.principal,
            caller.verified,
            req.permission,
            &scope,
            req.now,
        ) {
            return Err(self.deny(
                caller,
                scope,
                req,
                Denial::new(DenyReason::NotPermitted, why),
            ));
        }
        let decision = Decision::allowed(caller.principal, caller.key, None, scope);
        // The decision is accepted by the log before the allow is returned.
        let link = match self.inner.trail.record_linked(&decision, req) {
            Ok(link) => link,
            Err(e) => {
                return Err(Denial::new(
                    DenyReason::Internal,
                    format!("allowed, but the audit record failed: {e}"),
                ));
            }
        };
        Ok(Authorized {
            principal: caller.principal.clone(),
            key: caller.key.cloned(),
            scope,
            envelope: self.inner.envelope.for_scope(scope),
            rate: Some(rate),
            staff_reason: None,
            link: Some(link),
            verified: caller.verified.cloned(),
            grant: None,
        })
    }

    /// Audit a denial (best effort: the request is denied either way) and return it.
    fn deny(&self, caller: &Caller<'_>, scope: Scope, req: &Request<'_>, denial: Denial) -> Denial {
        let decision = Decision::denied(caller.principal, caller.key, None, scope, &denial);
        match self.inner.trail.record(&decision, req) {
            Ok(()) => denial,
            Err(e) => denial.with_extra_detail(&format!(" (and the audit record failed: {e})")),
        }
    }
}
