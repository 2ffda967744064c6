//! Verification inputs and outputs: [`VerifyContext`] and [`Verified`].

use std::net::IpAddr;
use std::sync::Arc;

use palisade_tenancy::{Principal, Scope, Timestamp};

use crate::entry::KeyEntry;
use crate::keyid::KeyId;
use crate::record::KeyRecord;

/// What a verification is checked against: the time (passed in, never read
/// from a clock here), the client IP, and optionally a required permission.
#[derive(Clone, Copy, Debug)]
pub struct VerifyContext<'a> {
    /// The request's time.
    pub now: Timestamp,
    /// The client's IP, if known. Keys with an IP allow-list refuse requests
    /// without one.
    pub ip: Option<IpAddr>,
    /// A permission (`resource:action`) the key must grant, if any.
    pub required_scope: Option<&'a str>,
}

impl<'a> VerifyContext<'a> {
    /// A context at `now` with no IP and no required scope.
    #[must_use]
    pub const fn new(now: Timestamp) -> Self {
        Self {
            now,
            ip: None,
            required_scope: None,
        }
    }

    /// Set the client IP.
    #[must_use]
    pub const fn with_ip(mut self, ip: IpAddr) -> Self {
        self.ip = Some(ip);
        self
    }

    /// Require the key to grant `scope`.
    #[must_use]
    pub const fn require(mut self, scope: &'a str) -> Self {
        self.required_scope = Some(scope);
        self
    }
}

/// A verified key: who it is, which tenant scope it acts in, and what it
/// grants. Built without heap allocation: it shares the store's
/// `Arc<KeyEntry>` snapshot.
#[derive(Clone, Debug)]
pub struct Verified {
    entry: Arc<KeyEntry>,
    remaining: Option<u64>,
    needs_rehash: bool,
    rehashed: bool,
    resealed: bool,
}

impl Verified {
    pub(crate) fn new(entry: Arc<KeyEntry>, remaining: Option<u64>, needs_rehash: bool) -> Self {
        Self {
            entry,
            remaining,
            needs_rehash,
            rehashed: false,
            resealed: false,
        }
    }

    /// Note that this verify rewrote the record (`legacy`: it sealed a
    /// version 1 record; else it rehashed under the current pepper).
    pub(crate) fn set_rewritten(&mut self, done: bool, legacy: bool) {
        self.rehashed = done && self.needs_rehash;
        self.resealed = done && legacy;
    }

    /// The key id.
    #[must_use]
    pub fn key_id(&self) -> &KeyId {
        &self.entry.record().key_id
    }

    /// The tenant scope the key belongs to (the request's scope).
    #[must_use]
    pub fn scope(&self) -> &Scope {
        &self.entry.record().scope
    }

    /// The granted permissions, as stored (`resource:action`, `*` wildcards).
    #[must_use]
    pub fn granted_scopes(&self) -> &[String] {
        &self.entry.record().scopes
    }

    /// True when a granted scope covers `required`.
    #[must_use]
    pub fn grants(&self, required: &str) -> bool {
        self.entry.record().grants(required)
    }

    /// The key's own principal, `key:{key_id}`.
    #[must_use]
    pub fn key_principal(&self) -> &Principal {
        self.entry.principal()
    }

    /// The owner the key acts for, if any.
    #[must_use]
    pub fn owner(&self) -> Option<&Principal> {
        self.entry.record().owner.as_ref()
    }

    /// The principal whose roles RBAC evaluates (narrowed by the key's
    /// scopes): the owner if set, else the key itself.
    #[must_use]
    pub fn acting_principal(&self) -> &Principal {
        self.owner().unwrap_or_else(|| self.key_principal())
    }

    /// The record's generation: cache anything derived from the record
    /// (e.g. an RBAC mask of its scopes) under `(key_id, generation)`.
    #[must_use]
    pub fn generation(&self) -> u64 {
        self.entry.record().generation
    }

    /// Uses left after this one (`None`: unlimited).
    #[must_use]
    pub fn remaining_uses(&self) -> Option<u64> {
        self.remaining
    }

    /// True when the stored hash uses an older pepper version than the
    /// current one (the verifier rehashes it when configured to).
    #[must_use]
    pub fn needs_rehash(&self) -> bool {
        self.needs_rehash
    }

    /// True when this verification rewrote the stored hash under the
    /// current pepper (a pepper rehash, which the host audits). The entry
    /// held here is the record as verified, before the rewrite.
    #[must_use]
    pub fn rehashed(&self) -> bool {
        self.rehashed
    }

    /// True when this verification sealed a version 1 record as version 2
    /// (only with `ApiKeys::accept_legacy_records`).
    #[must_use]
    pub fn resealed(&self) -> bool {
        self.resealed
    }

    /// The effective scopes of the key: the permissions it grants, as
    /// stored (RBAC narrows the owner's roles by these).
    #[must_use]
    pub fn effective_scopes(&self) -> &[String] {
        &self.entry.record().scopes
    }

    /// The full record snapshot.
    #[must_use]
    pub fn record(&self) -> &KeyRecord {
        self.entry.record()
    }

    /// The shared entry (its `Arc` identity changes with every record change).
    #[must_use]
    pub fn entry(&self) -> &Arc<KeyEntry> {
        &self.entry
    }
}
