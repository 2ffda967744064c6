//! `compile`: validate a policy document and build the check-path tables.
//! Pure and deterministic: the same document and `now` give the same
//! decisions (hash seeds differ, answers do not).

use crate::bitset::SetArena;
use crate::document::{POLICY_VERSION, PolicyDocument};
use crate::error::{RbacError, Result, clip};
use crate::permission::PermissionTable;
use crate::policy::{
    BindingRec, CompiledPolicy, DenyIndex, DenyRec, Entry, Meta, NONE, PrincipalSlot, TIMED,
    TimelineRef,
};
use crate::roles::RoleTable;
use crate::timeline::{self, Item};
use palisade_tenancy::{Principal, PrincipalKind, Scope, TenantId, Timestamp};
use std::collections::HashMap;

/// Compile-time maps: fast hashing, seeded per instance.
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// The longest `reason` accepted, in bytes: the longest reason an audit
/// record holds (`palisade_audit::MAX_REASON_LEN`), so a reason always fits.
pub const MAX_REASON_LEN: usize = 512;
/// The most time-bound grants and denies that may apply to one principal in
/// one scope (each adds a cut to that entry's time line).
pub const MAX_TIMED_PER_SCOPE: usize = 256;
/// The most bindings plus deny rules in one policy.
pub const MAX_RULES: usize = 1 << 24;

/// Validate `doc` and compile it for checks. `now` is only used to reject
/// grants that have already expired; decisions take their own `now`.
///
/// # Errors
/// The first problem found, located in the document: unsupported version,
/// malformed or duplicate permission, unknown permission or wildcard that
/// matches nothing, malformed or duplicate role, unknown parent role,
/// inheritance cycle (named), binding to an unknown role, duplicate
/// binding, empty or expired window, staff grant without expiry, missing or
/// overlong reason or one with a control character, or a size limit. See [`RbacError`].
pub fn compile(doc: &PolicyDocument, now: Timestamp) -> Result<CompiledPolicy> {
    if doc.version != POLICY_VERSION {
        return Err(RbacError::UnsupportedVersion { found: doc.version });
    }
    if doc.bindings.len().saturating_add(doc.denies.len()) > MAX_RULES {
        return Err(RbacError::Limit {
            at: "bindings".into(),
            what: "bindings and denies",
            max: MAX_RULES,
        });
    }
    let perms = PermissionTable::new(&doc.permissions)?;
    let width = perms.width();
    let mut arena = SetArena::new(width);
    let (roles, role_index) = RoleTable::build(&doc.roles, &perms, &mut arena)?;
    let role_sets: Vec<Vec<u64>> = roles
        .effective
        .iter()
        .map(|&s| arena.get(s).to_vec())
        .collect();

    let mut names = Names::default();
    let mut recs = Vec::with_capacity(doc.bindings.len());
    let mut metas = Vec::new();
    names.by_principal.reserve(doc.bindings.len());
    for (i, b) in doc.bindings.iter().enumerate() {
        let at = || format!("bindings[{i}]");
        let role =
            role_index
                .get(b.role.as_str())
                .copied()
                .ok_or_else(|| RbacError::UnknownRole {
                    at: at(),
                    role: clip(&b.role, 80),
                })?;
        check_window(b.not_before, b.expires_at, &at)?;
        if let Some(e) = b.expires_at
            && e <= now
        {
            return Err(RbacError::GrantExpired {
                at: at(),
                expires_at: e.to_string(),
                now: now.to_string(),
            });
        }
        let staff = b.principal.kind() == PrincipalKind::Staff;
        if staff && b.expires_at.is_none() {
            return Err(RbacError::StaffGrantNotTimeBound {
                at: at(),
                principal: b.principal.to_string(),
            });
        }
        let timed = b.not_before.is_some() || b.expires_at.is_some();
        check_reason(b.reason.as_deref(), staff || timed, &at)?;
        let principal = names.principal(&b.principal);
        let scope = names.scope(b.scope);
        let meta = if timed || b.reason.is_some() {
            metas.push(Meta {
                not_before: b.not_before,
                expires_at: b.expires_at,
                reason: b.reason.as_deref().map(Into::into),
            });
            u32::try_from(metas.len() - 1).unwrap_or(NONE)
        } else {
            NONE
        };
        recs.push(BindingRec {
            principal,
            role,
            scope,
            meta,
            source: u32::try_from(i).unwrap_or(NONE),
        });
    }

    let mut denies = Vec::with_capacity(doc.denies.len());
    let mut deny_sets = Vec::with_capacity(doc.denies.len());
    for (j, d) in doc.denies.iter().enumerate() {
        let at = || format!("denies[{j}]");
        check_window(d.not_before, d.expires_at, &at)?;
        check_reason(d.reason.as_deref(), false, &at)?;
        let mut set = vec![0u64; width];
        for (k, p) in d.permissions.iter().enumerate() {
            perms.expand_into(p, &mut set, &|| format!("denies[{j}].permissions[{k}]"))?;
        }
        denies.push(DenyRec {
            principal: d.principal.as_ref().map(|p| names.principal(p)),
            scope: d.scope,
            patterns: d
                .permissions
                .iter()
                .map(|p| Box::<str>::from(p.as_str()))
                .collect(),
            meta: Meta {
                not_before: d.not_before,
                expires_at: d.expires_at,
                reason: d.reason.as_deref().map(Into::into),
            },
        });
        deny_sets.push(set);
    }

    // Intern every scope an entry can have, so the loop below only reads.
    let tenants: Vec<Scope> = recs
        .iter()
        .filter_map(|r| names.scopes.get(r.scope as usize))
        .map(Scope::widen_to_tenant)
        .collect();
    for s in tenants.into_iter().chain(denies.iter().map(|d| d.scope)) {
        let _ = names.scope(s);
    }

    // Denies that can touch a (principal, tenant): its own, and everyone's.
    let mut own_denies: FastMap<(u32, TenantId), Vec<usize>> = FastMap::default();
    let mut all_denies: FastMap<TenantId, Vec<usize>> = FastMap::default();
    for (j, d) in denies.iter().enumerate() {
        let t = d.scope.tenant_id();
        match d.principal {
            Some(p) => own_denies.entry((p, t)).or_default().push(j),
            None => all_denies.entry(t).or_default().push(j),
        }
    }
    let denies_for = |p: u32, t: TenantId| {
        let own = own_denies.get(&(p, t)).map_or(&[][..], |v| v.as_slice());
        let all = all_denies.get(&t).map_or(&[][..], |v| v.as_slice());
        own.iter().chain(all).copied()
    };

    let scope_of = |r: &BindingRec| names.scopes.get(r.scope as usize).copied();
    let mut order: Vec<usize> = (0..recs.len()).collect();
    order.sort_by_key(|&i| {
        recs.get(i)
            .map(|r| (r.principal, scope_of(r).map(|s| s.tenant_id())))
    });

    let mut out = Tables::default();
    let mut fast = vec![0u64; width];
    let mut start = 0;
    while start < order.len() {
        let key = |i: usize| {
            recs.get(i)
                .map(|r| (r.principal, scope_of(r).map(|s| s.tenant_id())))
        };
        let k0 = order.get(start).copied().and_then(key);
        let end = order.get(start..).map_or(start, |rest| {
            start + rest.iter().take_while(|&&i| key(i) == k0).count()
        });
        let group: Vec<&BindingRec> = order
            .get(start..end)
            .unwrap_or(&[])
            .iter()
            .filter_map(|&i| recs.get(i))
            .collect();
        start = end.max(start + 1);
        let Some((pid, Some(tenant))) = k0 else {
            continue;
        };
        // Duplicates share principal and tenant, so they meet in a group.
        if group.len() > 1 {
            let window = |r: &BindingRec| {
                metas
                    .get(r.meta as usize)
                    .map(|m| (m.not_before, m.expires_at))
            };
            let mut keys: Vec<_> = group
                .iter()
                .map(|r| (r.role, r.scope, window(r), r.source))
                .collect();
            keys.sort_unstable();
            if let Some(w) = keys
                .windows(2)
                .find(|w| matches!(w, [a, b] if (a.0, a.1, a.2) == (b.0, b.1, b.2)))
            {
                let (first, second) = (w.first().map_or(0, |k| k.3), w.last().map_or(0, |k| k.3));
                return Err(RbacError::DuplicateBinding {
                    at: format!("bindings[{second}]"),
                    first: format!("bindings[{first}]"),
                });
            }
        }
        let untimed = |r: &&BindingRec| {
            metas
                .get(r.meta as usize)
                .is_none_or(|m| m.not_before.is_none() && m.expires_at.is_none())
        };
        if group
            .iter()
            .all(|r| untimed(r) && scope_of(r).is_some_and(|s| s.is_tenant_wide()))
            && denies_for(pid, tenant).next().is_none()
        {
            // Common case: untimed tenant-wide grants, no denies: one set.
            fast.fill(0);
            for r in &group {
                let rs = role_sets
                    .get(r.role as usize)
                    .map_or(&[][..], |v| v.as_slice());
                crate::bitset::or_into(&mut fast, rs);
            }
            let set = arena.intern(&fast);
            if set != 0 {
                let sid = names
                    .by_scope
                    .get(&Scope::tenant(tenant))
                    .copied()
                    .unwrap_or(NONE);
                out.push(pid, sid, (Vec::new(), vec![set]))?;
            }
            continue;
        }
        let tenant_scope = Scope::tenant(tenant);
        let mut needed: Vec<Scope> = group.iter().filter_map(|r| scope_of(r)).collect();
        needed.extend(denies_for(pid, tenant).filter_map(|j| denies.get(j).map(|d| d.scope)));
        needed.retain(|s| !s.is_tenant_wide());
        needed.sort_unstable();
        needed.dedup();
        needed.insert(0, tenant_scope);
        let mut tenant_line: (Vec<i64>, Vec<u32>) = (Vec::new(), vec![0]);
        for s in needed {
            let mut items = Vec::new();
            for r in group
                .iter()
                .filter(|r| scope_of(r).is_some_and(|bs| bs.contains(&s)))
            {
                let m = metas.get(r.meta as usize);
                items.push(Item {
                    not_before: m.and_then(|m| m.not_before).map(|t| t.unix_millis()),
                    expires_at: m.and_then(|m| m.expires_at).map(|t| t.unix_millis()),
                    set: role_sets
                        .get(r.role as usize)
                        .map_or(&[][..], |v| v.as_slice()),
                    deny: false,
                });
            }
            for j in denies_for(pid, tenant) {
                if let (Some(d), Some(set)) = (denies.get(j), deny_sets.get(j))
                    && d.scope.contains(&s)
                {
                    items.push(Item {
                        not_before: d.meta.not_before.map(|t| t.unix_millis()),
                        expires_at: d.meta.expires_at.map(|t| t.unix_millis()),
                        set,
                        deny: true,
                    });
                }
            }
            if timeline::timed_count(&items) > MAX_TIMED_PER_SCOPE {
                return Err(RbacError::Limit {
                    at: format!("principal `{}` in `{s}`", names.display(pid)),
                    what: "time-bound grants and denies in one scope",
                    max: MAX_TIMED_PER_SCOPE,
                });
            }
            let tl = timeline::build(&items, width);
            let line = (
                tl.bounds,
                tl.sets
                    .iter()
                    .map(|set| arena.intern(set))
                    .collect::<Vec<u32>>(),
            );
            // A project entry equal to the tenant's adds nothing: the check
            // falls back to the tenant entry. An all-empty tenant entry is
            // the same as none.
            if line == tenant_line {
                continue;
            }
            if s.is_tenant_wide() {
                tenant_line = (line.0.clone(), line.1.clone());
            }
            out.push(pid, names.by_scope.get(&s).copied().unwrap_or(NONE), line)?;
        }
    }

    let warnings = crate::warning::deny_warnings(
        doc,
        &recs,
        &denies,
        &deny_sets,
        &role_sets,
        &roles,
        &names.scopes,
        &denies_for,
    );
    recs.sort_by_key(|r| (r.principal, r.source));
    let as_u32 = |v: Vec<usize>| -> Box<[u32]> {
        v.into_iter()
            .map(|j| u32::try_from(j).unwrap_or(NONE))
            .collect()
    };
    let deny_index = DenyIndex {
        own: own_denies
            .into_iter()
            .map(|(k, v)| (k, as_u32(v)))
            .collect(),
        all: all_denies
            .into_iter()
            .map(|(k, v)| (k, as_u32(v)))
            .collect(),
    };

    let hasher = foldhash::fast::RandomState::default();
    let Names {
        slots,
        text,
        scopes,
        ..
    } = names;
    let slot_hash = |s: u32, scope: Option<&Scope>| {
        let slot = slots.get(s as usize).copied().unwrap_or(PrincipalSlot {
            start: 0,
            len: 0,
            kind: PrincipalKind::User,
        });
        let id = text
            .get(slot.start as usize..slot.start as usize + usize::from(slot.len))
            .unwrap_or("");
        crate::policy::key_hash(&hasher, slot.kind, id, scope)
    };
    let mut principal_index = hashbrown::HashTable::with_capacity(slots.len());
    for s in 0..u32::try_from(slots.len()).unwrap_or(0) {
        principal_index.insert_unique(slot_hash(s, None), s, |&x| slot_hash(x, None));
    }
    // Entries live in the table itself: one probe reaches the set id.
    let entry_hash = |e: &Entry| slot_hash(e.principal, scopes.get(e.scope as usize));
    let mut tables = out;
    let mut entries = hashbrown::HashTable::with_capacity(tables.entries.len());
    for e in core::mem::take(&mut tables.entries) {
        entries.insert_unique(entry_hash(&e), e, entry_hash);
    }
    let mut binding_meta = metas;
    binding_meta.shrink_to_fit();
    Ok(CompiledPolicy {
        perms,
        width,
        sets: arena.into_words(),
        roles,
        scopes,
        principals: slots,
        principal_text: text,
        principal_index,
        entries,
        timelines: tables.timelines,
        bounds: tables.bounds,
        piece_sets: tables.piece_sets,
        bindings: recs,
        binding_meta,
        denies,
        deny_index,
        hasher,
        warnings,
    })
}

fn check_window(
    nb: Option<Timestamp>,
    exp: Option<Timestamp>,
    at: &dyn Fn() -> String,
) -> Result<()> {
    match (nb, exp) {
        (Some(n), Some(e)) if n >= e => Err(RbacError::EmptyWindow {
            at: at(),
            not_before: n.to_string(),
            expires_at: e.to_string(),
        }),
        _ => Ok(()),
    }
}

fn check_reason(reason: Option<&str>, required: bool, at: &dyn Fn() -> String) -> Result<()> {
    match reason {
        Some(r) if r.len() > MAX_REASON_LEN => Err(RbacError::ReasonTooLong {
            at: at(),
            max: MAX_REASON_LEN,
        }),
        Some(r) if r.chars().any(char::is_control) => Err(RbacError::ReasonControlCharacter {
            at: at(),
            position: r.find(char::is_control).unwrap_or(0),
        }),
        Some(r) if required && r.trim().is_empty() => Err(RbacError::MissingReason { at: at() }),
        None if required => Err(RbacError::MissingReason { at: at() }),
        _ => Ok(()),
    }
}

/// Interned principals (text arena) and scopes.
#[derive(Default)]
struct Names<'a> {
    slots: Vec<PrincipalSlot>,
    text: String,
    by_principal: FastMap<&'a Principal, u32>,
    scopes: Vec<Scope>,
    by_scope: FastMap<Scope, u32>,
}

impl<'a> Names<'a> {
    fn principal(&mut self, p: &'a Principal) -> u32 {
        if let Some(&s) = self.by_principal.get(p) {
            return s;
        }
        let s = u32::try_from(self.slots.len()).unwrap_or(NONE);
        let start = u32::try_from(self.text.len()).unwrap_or(NONE);
        // Principal ids are at most 128 bytes (palisade-tenancy checks it).
        let len = u8::try_from(p.id().len()).unwrap_or(u8::MAX);
        self.text.push_str(p.id());
        self.slots.push(PrincipalSlot {
            start,
            len,
            kind: p.kind(),
        });
        self.by_principal.insert(p, s);
        s
    }

    fn scope(&mut self, sc: Scope) -> u32 {
        *self.by_scope.entry(sc).or_insert_with(|| {
            self.scopes.push(sc);
            u32::try_from(self.scopes.len() - 1).unwrap_or(NONE)
        })
    }

    fn display(&self, s: u32) -> String {
        self.slots.get(s as usize).map_or_else(String::new, |slot| {
            let id = self
                .text
                .get(slot.start as usize..slot.start as usize + usize::from(slot.len))
                .unwrap_or("");
            format!("{}:{id}", slot.kind)
        })
    }
}

/// The check-path tables being filled.
#[derive(Default)]
struct Tables {
    entries: Vec<Entry>,
    timelines: Vec<TimelineRef>,
    bounds: Vec<i64>,
    piece_sets: Vec<u32>,
}

impl Tables {
    fn push(
        &mut self,
        principal: u32,
        scope: u32,
        (bounds, sets): (Vec<i64>, Vec<u32>),
    ) -> Result<()> {
        let limit = || RbacError::Limit {
            at: "policy".into(),
            what: "precomputed entries",
            max: TIMED as usize,
        };
        let set = if bounds.is_empty() {
            sets.first().copied().unwrap_or(0)
        } else {
            let idx = u32::try_from(self.timelines.len())
                .ok()
                .filter(|i| i & TIMED == 0)
                .ok_or_else(limit)?;
            self.timelines.push(TimelineRef {
                bounds_start: u32::try_from(self.bounds.len()).map_err(|_| limit())?,
                bounds_len: u32::try_from(bounds.len()).map_err(|_| limit())?,
                sets_start: u32::try_from(self.piece_sets.len()).map_err(|_| limit())?,
            });
            self.bounds.extend(bounds);
            self.piece_sets.extend(sets);
            TIMED | idx
        };
        if self.entries.len() >= TIMED as usize {
            return Err(limit());
        }
        self.entries.push(Entry {
            principal,
            scope,
            set,
        });
        Ok(())
    }
}
