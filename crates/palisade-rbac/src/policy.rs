//! The compiled policy and its hot path: `check`, `check_many`,
//! `permissions_of`, key scope masks. Nothing here allocates except the
//! listing and mask constructors.

use crate::bitset::{self, slice_of};
use crate::error::Result;
use crate::permission::{Generation, PermissionId, PermissionTable};
use crate::request::{Decision, Request, ScopeMask, Subject};
use crate::roles::RoleTable;
use crate::timeline;
use crate::warning::Warning;
use core::hash::BuildHasher;
use palisade_tenancy::{Principal, PrincipalKind, Scope, TenantId, Timestamp};

/// Marks `Entry::set` as a time line index rather than a set id.
pub(crate) const TIMED: u32 = 1 << 31;
/// "No value" in u32 index fields.
pub(crate) const NONE: u32 = u32::MAX;

/// A principal known to the policy: its id text lives in `principal_text`.
#[derive(Clone, Copy)]
pub(crate) struct PrincipalSlot {
    pub(crate) start: u32,
    pub(crate) len: u8,
    pub(crate) kind: PrincipalKind,
}

/// The precomputed permissions of one principal in one scope.
#[derive(Clone, Copy)]
pub(crate) struct Entry {
    pub(crate) principal: u32,
    pub(crate) scope: u32,
    /// A set id, or `TIMED | index` into `timelines`.
    pub(crate) set: u32,
}

/// Where one entry's time line lives in `bounds` / `piece_sets`.
#[derive(Clone, Copy)]
pub(crate) struct TimelineRef {
    pub(crate) bounds_start: u32,
    pub(crate) bounds_len: u32,
    pub(crate) sets_start: u32,
}

/// A binding, kept (compactly) for explain; sorted by principal.
#[derive(Clone, Copy)]
pub(crate) struct BindingRec {
    pub(crate) principal: u32,
    pub(crate) role: u32,
    pub(crate) scope: u32,
    /// Index into `binding_meta`, or `NONE`.
    pub(crate) meta: u32,
    /// Position in the source document.
    pub(crate) source: u32,
}

/// Window and reason of a binding or deny.
#[derive(Clone, Default)]
pub(crate) struct Meta {
    pub(crate) not_before: Option<Timestamp>,
    pub(crate) expires_at: Option<Timestamp>,
    pub(crate) reason: Option<Box<str>>,
}

impl Meta {
    pub(crate) fn active_at(&self, now: Timestamp) -> bool {
        self.not_before.is_none_or(|nb| nb <= now) && self.expires_at.is_none_or(|e| now < e)
    }
}

/// A deny rule, kept for explain.
pub(crate) struct DenyRec {
    pub(crate) principal: Option<u32>,
    pub(crate) scope: Scope,
    pub(crate) patterns: Box<[Box<str>]>,
    pub(crate) meta: Meta,
}

/// Deny rules by who they can touch, so `explain` reads only the rules that
/// can apply to a (principal, tenant): O(those rules), not O(all denies).
#[derive(Default)]
pub(crate) struct DenyIndex {
    /// Rules naming the principal, in that tenant (indexes into `denies`, ascending).
    pub(crate) own:
        std::collections::HashMap<(u32, TenantId), Box<[u32]>, foldhash::fast::RandomState>,
    /// Rules for everyone, in that tenant (ascending).
    pub(crate) all: std::collections::HashMap<TenantId, Box<[u32]>, foldhash::fast::RandomState>,
}

impl DenyIndex {
    /// The rules that can touch `principal` in `tenant`, in document order.
    pub(crate) fn candidates(&self, principal: u32, tenant: TenantId) -> Vec<u32> {
        let own = self.own.get(&(principal, tenant)).map_or(&[][..], |v| &**v);
        let all = self.all.get(&tenant).map_or(&[][..], |v| &**v);
        let mut v: Vec<u32> = own.iter().chain(all).copied().collect();
        v.sort_unstable();
        v
    }

    fn heap_bytes(&self) -> usize {
        let own: usize = self.own.values().map(|v| v.len() * 4).sum();
        let all: usize = self.all.values().map(|v| v.len() * 4).sum();
        own + all
            + self.own.capacity() * (size_of::<((u32, TenantId), Box<[u32]>)>() + 1)
            + self.all.capacity() * (size_of::<(TenantId, Box<[u32]>)>() + 1)
    }
}

/// Heap bytes held by a [`CompiledPolicy`] (see
/// [`CompiledPolicy::heap_usage`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeapUsage {
    /// Tables that `check`, `check_many` and `permissions_of` read:
    /// interned principals, (principal, scope) entries and their hash index,
    /// permission sets, time lines, permission names.
    pub check_path: usize,
    /// Tables only `explain` reads: bindings, reasons, deny rules, role
    /// names, patterns and inheritance, the principal index, warnings.
    pub explain: usize,
}

impl HeapUsage {
    /// Both together.
    #[must_use]
    pub const fn total(&self) -> usize {
        self.check_path + self.explain
    }
}

/// A validated, immutable policy, ready to answer checks.
///
/// `Send + Sync`; share it behind an `Arc` and swap versions with
/// [`SharedPolicy`](crate::SharedPolicy). Build it with
/// [`compile`](crate::compile).
pub struct CompiledPolicy {
    pub(crate) perms: PermissionTable,
    pub(crate) width: usize,
    pub(crate) sets: Vec<u64>,
    pub(crate) roles: RoleTable,
    pub(crate) scopes: Vec<Scope>,
    pub(crate) principals: Vec<PrincipalSlot>,
    pub(crate) principal_text: String,
    pub(crate) principal_index: hashbrown::HashTable<u32>,
    pub(crate) entries: hashbrown::HashTable<Entry>,
    pub(crate) timelines: Vec<TimelineRef>,
    pub(crate) bounds: Vec<i64>,
    pub(crate) piece_sets: Vec<u32>,
    pub(crate) bindings: Vec<BindingRec>,
    pub(crate) binding_meta: Vec<Meta>,
    pub(crate) denies: Vec<DenyRec>,
    pub(crate) deny_index: DenyIndex,
    pub(crate) hasher: foldhash::fast::RandomState,
    pub(crate) warnings: Vec<Warning>,
}

impl core::fmt::Debug for CompiledPolicy {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CompiledPolicy")
            .field("generation", &self.perms.generation())
            .field("permissions", &self.perms.len())
            .field("roles", &self.roles.len())
            .field("principals", &self.principals.len())
            .field("entries", &self.entries.len())
            .finish_non_exhaustive()
    }
}

impl CompiledPolicy {
    /// The permission numbering's generation: [`PermissionId`]s and
    /// [`ScopeMask`]s are valid exactly for policies of this generation.
    #[must_use]
    pub fn generation(&self) -> Generation {
        self.perms.generation()
    }

    /// Intern a permission name (resolve once, then pass the id per request).
    /// `None` when the policy does not declare it.
    #[must_use]
    pub fn permission(&self, name: &str) -> Option<PermissionId> {
        self.perms.lookup(name).map(|index| PermissionId {
            generation: self.generation(),
            index,
        })
    }

    /// The name of a permission id of this generation.
    #[must_use]
    pub fn permission_name(&self, id: PermissionId) -> Option<&str> {
        if id.generation == self.generation() {
            self.perms.name(id.index)
        } else {
            None
        }
    }

    /// Every declared permission, in declaration (id) order.
    pub fn permission_names(&self) -> impl Iterator<Item = &str> + '_ {
        (0..u32::try_from(self.perms.len()).unwrap_or(u32::MAX)).filter_map(|i| self.perms.name(i))
    }

    /// Number of declared permissions.
    #[must_use]
    pub fn permission_count(&self) -> usize {
        self.perms.len()
    }

    /// Compile warnings (e.g. a deny that removes every permission a
    /// binding's role gives).
    #[must_use]
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    /// Turn an API key's granted scopes (`inbox:read`, `knowledge:*`, …)
    /// into a mask for checks. Do it once per key and [`Generation`].
    ///
    /// # Errors
    /// [`RbacError::PermissionSyntax`](crate::RbacError::PermissionSyntax) or
    /// [`RbacError::UnknownPermission`](crate::RbacError::UnknownPermission)
    /// (located as ``key scopes[i]``) when an entry is malformed or matches
    /// nothing this policy declares: a host should then deny the key's
    /// requests, never ignore the error.
    pub fn scope_mask<S: AsRef<str>>(&self, scopes: &[S]) -> Result<ScopeMask> {
        let mut bits = vec![0u64; self.width];
        for (i, s) in scopes.iter().enumerate() {
            self.perms
                .expand_into(s.as_ref(), &mut bits, &|| format!("key scopes[{i}]"))?;
        }
        Ok(ScopeMask {
            generation: self.generation(),
            bits: bits.into_boxed_slice(),
        })
    }

    /// Decide one request. Allocation-free; `Deny` for an unknown principal,
    /// a principal with no grant in the scope, a stale permission id or key
    /// mask, a matching deny rule, or a permission outside the key's scopes.
    #[must_use]
    pub fn check(&self, request: &Request<'_>) -> Decision {
        let s = &request.subject;
        let Some(set) = self.subject_set(s) else {
            return Decision::Deny;
        };
        if self.permitted(set, s.key_scopes, request.permission) {
            Decision::Allow
        } else {
            Decision::Deny
        }
    }

    /// Decide one request naming the permission by string (one extra hash
    /// lookup; no allocation). Unknown names are denied.
    #[must_use]
    pub fn check_named(&self, subject: &Subject<'_>, permission: &str) -> Decision {
        match self.permission(permission) {
            Some(p) => self.check(&subject.request(p)),
            None => Decision::Deny,
        }
    }

    /// Decide many permissions for one subject: the (principal, scope)
    /// lookup is done once. Writes `out[i]` for `permissions[i]`; if `out`
    /// is longer its tail is set to `Deny`, if shorter the extra
    /// permissions are not decided. Allocation-free.
    pub fn check_many(
        &self,
        subject: &Subject<'_>,
        permissions: &[PermissionId],
        out: &mut [Decision],
    ) {
        let n = out.len().min(permissions.len());
        let (head, tail) = out.split_at_mut(n);
        tail.fill(Decision::Deny);
        let generation = self.generation();
        let set = match (self.subject_set(subject), subject.key_scopes) {
            (None, _) => None,
            (Some(_), Some(m)) if m.generation != generation => None,
            (Some(set), mask) => Some((set, mask)),
        };
        let Some((set, mask)) = set else {
            head.fill(Decision::Deny);
            return;
        };
        if !permissions.iter().all(|p| p.generation == generation) {
            // Rare: mixed generations; decide one by one.
            for (slot, p) in head.iter_mut().zip(permissions) {
                let ok = self.permitted(set, mask, *p);
                *slot = if ok { Decision::Allow } else { Decision::Deny };
            }
            return;
        }
        let word =
            |bits: &[u64], i: u32| bits.get((i >> 6) as usize).copied().unwrap_or(0) >> (i & 63);
        match mask {
            None => {
                for (slot, p) in head.iter_mut().zip(permissions) {
                    let bit = word(set, p.index) & 1;
                    *slot = if bit == 1 {
                        Decision::Allow
                    } else {
                        Decision::Deny
                    };
                }
            }
            Some(m) => {
                for (slot, p) in head.iter_mut().zip(permissions) {
                    let bit = word(set, p.index) & word(&m.bits, p.index) & 1;
                    *slot = if bit == 1 {
                        Decision::Allow
                    } else {
                        Decision::Deny
                    };
                }
            }
        }
    }

    /// Every permission `principal` holds in `scope` at `now` (declaration
    /// order), for menus and data filtering. Empty for unknown principals.
    #[must_use]
    pub fn permissions_of(&self, principal: &Principal, scope: Scope, now: Timestamp) -> Vec<&str> {
        self.permissions_of_subject(&Subject::new(principal, scope, now))
    }

    /// As [`CompiledPolicy::permissions_of`], narrowed by the subject's key
    /// scopes (empty if the mask is of another generation).
    #[must_use]
    pub fn permissions_of_subject(&self, subject: &Subject<'_>) -> Vec<&str> {
        let Some(set) = self.subject_set(subject) else {
            return Vec::new();
        };
        if subject
            .key_scopes
            .is_some_and(|m| m.generation != self.generation())
        {
            return Vec::new();
        }
        bitset::ones(set)
            .filter(|&i| {
                subject
                    .key_scopes
                    .is_none_or(|m| bitset::test_bit(&m.bits, i))
            })
            .filter_map(|i| self.perms.name(u32::try_from(i).ok()?))
            .collect()
    }

    /// Approximate heap bytes held by this policy (from its tables'
    /// capacities), split into what checks read and what only explain and
    /// metadata read. For capacity planning.
    #[must_use]
    pub fn heap_usage(&self) -> HeapUsage {
        let denies: usize = self
            .denies
            .iter()
            .map(|d| size_of::<DenyRec>() + d.patterns.iter().map(|p| p.len() + 16).sum::<usize>())
            .sum();
        let meta: usize = self
            .binding_meta
            .iter()
            .map(|m| m.reason.as_ref().map_or(0, |r| r.len()))
            .sum();
        let check_path = self.perms.heap_bytes()
            + self.sets.capacity() * 8
            + self.scopes.capacity() * size_of::<Scope>()
            + self.principals.capacity() * size_of::<PrincipalSlot>()
            + self.principal_text.capacity()
            + self.entries.allocation_size()
            + self.timelines.capacity() * size_of::<TimelineRef>()
            + self.bounds.capacity() * 8
            + self.piece_sets.capacity() * 4;
        let explain = self.roles.heap_bytes()
            + self.principal_index.allocation_size()
            + self.bindings.capacity() * size_of::<BindingRec>()
            + self.binding_meta.capacity() * size_of::<Meta>()
            + meta
            + denies
            + self.deny_index.heap_bytes()
            + self.warnings.capacity() * size_of::<Warning>();
        HeapUsage {
            check_path,
            explain,
        }
    }

    /// Is `p` in `set`, within the key mask, and of this generation?
    #[inline]
    fn permitted(&self, set: &[u64], mask: Option<&ScopeMask>, p: PermissionId) -> bool {
        let generation = self.generation();
        p.generation == generation
            && bitset::test_bit(set, p.index as usize)
            && mask.is_none_or(|m| {
                m.generation == generation && bitset::test_bit(&m.bits, p.index as usize)
            })
    }

    /// The effective set of a subject at its `now`, or `None` when the
    /// principal has nothing in this scope.
    #[inline]
    pub(crate) fn subject_set(&self, s: &Subject<'_>) -> Option<&[u64]> {
        let e = self
            .find_entry(s.principal, &s.scope)
            .or_else(|| match s.scope.project_id() {
                Some(_) => self.find_entry(s.principal, &s.scope.widen_to_tenant()),
                None => None,
            })?;
        Some(slice_of(&self.sets, self.width, self.set_at(e, s.now)))
    }

    fn set_at(&self, e: &Entry, now: Timestamp) -> u32 {
        if e.set & TIMED == 0 {
            return e.set;
        }
        let Some(t) = self.timelines.get((e.set & !TIMED) as usize) else {
            return 0;
        };
        let b0 = t.bounds_start as usize;
        let bounds = self
            .bounds
            .get(b0..b0 + t.bounds_len as usize)
            .unwrap_or(&[]);
        let i = timeline::piece(bounds, now.unix_millis());
        self.piece_sets
            .get(t.sets_start as usize + i)
            .copied()
            .unwrap_or(0)
    }

    #[inline]
    pub(crate) fn entry_hash(&self, kind: PrincipalKind, id: &str, scope: &Scope) -> u64 {
        key_hash(&self.hasher, kind, id, Some(scope))
    }

    #[inline]
    pub(crate) fn principal_hash(&self, kind: PrincipalKind, id: &str) -> u64 {
        key_hash(&self.hasher, kind, id, None)
    }

    pub(crate) fn slot_is(&self, slot: u32, kind: PrincipalKind, id: &str) -> bool {
        self.principals.get(slot as usize).is_some_and(|s| {
            let start = s.start as usize;
            s.kind == kind && self.principal_text.get(start..start + usize::from(s.len)) == Some(id)
        })
    }

    #[inline]
    fn find_entry(&self, p: &Principal, scope: &Scope) -> Option<&Entry> {
        let (kind, id) = (p.kind(), p.id());
        let h = self.entry_hash(kind, id, scope);
        self.entries.find(h, |e| {
            self.scopes.get(e.scope as usize) == Some(scope) && self.slot_is(e.principal, kind, id)
        })
    }

    /// The slot of a principal named anywhere in the policy.
    pub(crate) fn find_principal(&self, p: &Principal) -> Option<u32> {
        let (kind, id) = (p.kind(), p.id());
        self.principal_index
            .find(self.principal_hash(kind, id), |&s| {
                self.slot_is(s, kind, id)
            })
            .copied()
    }
}

/// The hash of a (principal, scope) entry key, or of a principal alone.
/// Scopes are fed as two integers (a few multiply rounds instead of
/// byte-slice hashing); equality is always checked after the probe.
#[inline]
pub(crate) fn key_hash(
    h: &foldhash::fast::RandomState,
    kind: PrincipalKind,
    id: &str,
    scope: Option<&Scope>,
) -> u64 {
    match scope {
        None => h.hash_one((kind, id)),
        Some(s) => {
            let t = u128::from_le_bytes(*s.tenant_id().as_bytes());
            let p = s
                .project_id()
                .map_or(0, |p| u128::from_le_bytes(*p.as_bytes()));
            h.hash_one((kind, id, t, p))
        }
    }
}

// The compiled policy must be shareable across request threads.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<CompiledPolicy>();
};

#[cfg(test)]
mod tests {
    #[test]
    fn none_is_not_timed() {
        assert_ne!(super::NONE & super::TIMED, 0);
    }
}
