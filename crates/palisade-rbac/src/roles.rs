//! Role definitions: names, inheritance (cycles rejected, named), and each
//! role's effective permission set (its own plus every inherited role's).

use crate::bitset::{self, SetArena};
use crate::document::RoleDef;
use crate::error::{RbacError, Result, clip};
use crate::permission::PermissionTable;
use std::collections::HashMap;

/// The most roles one policy may define.
pub const MAX_ROLES: usize = 1 << 20;
const MAX_ROLE_NAME_LEN: usize = 64;

/// Compiled roles, indexed densely in declaration order. Text and lists
/// are packed into a few flat vectors (a role costs a few dozen bytes).
pub(crate) struct RoleTable {
    names: Strings,
    /// Every role's own patterns, role after role (for explain).
    patterns: Strings,
    pattern_ends: Vec<u32>,
    parent_ids: Vec<u32>,
    parent_ends: Vec<u32>,
    /// Set id of each role's effective permissions.
    pub(crate) effective: Vec<u32>,
}

/// Role name → index, borrowed from the document (compile time only).
pub(crate) type RoleIndex<'a> = HashMap<&'a str, u32, foldhash::fast::RandomState>;

/// Many strings in one buffer: string `i` ends at `ends[i]`.
#[derive(Default)]
struct Strings {
    text: String,
    ends: Vec<u32>,
}

impl Strings {
    fn push(&mut self, s: &str) {
        self.text.push_str(s);
        self.ends
            .push(u32::try_from(self.text.len()).unwrap_or(u32::MAX));
    }

    fn get(&self, i: usize) -> &str {
        let r = span(&self.ends, i);
        self.text.get(r).unwrap_or("")
    }

    fn shrink(&mut self) {
        self.text.shrink_to_fit();
        self.ends.shrink_to_fit();
    }

    fn heap_bytes(&self) -> usize {
        self.text.capacity() + self.ends.capacity() * 4
    }
}

/// Item `i`'s range in a list of end offsets.
fn span(ends: &[u32], i: usize) -> core::ops::Range<usize> {
    let start = i
        .checked_sub(1)
        .and_then(|j| ends.get(j))
        .map_or(0, |&e| e as usize);
    let end = ends.get(i).map_or(start, |&e| e as usize);
    start..end.max(start)
}

pub(crate) fn role_at(i: usize, name: &str) -> String {
    format!("roles[{i}] (`{}`)", clip(name, 64))
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_ROLE_NAME_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

impl RoleTable {
    /// Validate the roles and compute their effective sets into `arena`.
    pub(crate) fn build<'a>(
        defs: &'a [RoleDef],
        perms: &PermissionTable,
        arena: &mut SetArena,
    ) -> Result<(Self, RoleIndex<'a>)> {
        if defs.len() > MAX_ROLES {
            return Err(RbacError::Limit {
                at: "roles".into(),
                what: "roles",
                max: MAX_ROLES,
            });
        }
        let mut index: RoleIndex<'a> =
            HashMap::with_capacity_and_hasher(defs.len(), Default::default());
        for (i, r) in defs.iter().enumerate() {
            if !valid_name(&r.name) {
                return Err(RbacError::RoleName {
                    at: format!("roles[{i}]"),
                    input: clip(&r.name, 80),
                });
            }
            let id = u32::try_from(i).unwrap_or(u32::MAX);
            if let Some(&first) = index.get(r.name.as_str()) {
                return Err(RbacError::DuplicateRole {
                    at: role_at(i, &r.name),
                    first: format!("roles[{first}]"),
                    role: r.name.clone(),
                });
            }
            index.insert(r.name.as_str(), id);
        }
        let width = perms.width();
        let mut sets: Vec<Vec<u64>> = Vec::with_capacity(defs.len());
        let mut table = Self {
            names: Strings::default(),
            patterns: Strings::default(),
            pattern_ends: Vec::with_capacity(defs.len()),
            parent_ids: Vec::new(),
            parent_ends: Vec::with_capacity(defs.len()),
            effective: Vec::with_capacity(defs.len()),
        };
        for (i, r) in defs.iter().enumerate() {
            let mut set = vec![0u64; width];
            for (j, p) in r.permissions.iter().enumerate() {
                perms.expand_into(p, &mut set, &|| {
                    format!("{}.permissions[{j}]", role_at(i, &r.name))
                })?;
                table.patterns.push(p);
            }
            sets.push(set);
            table.names.push(&r.name);
            table
                .pattern_ends
                .push(u32::try_from(table.patterns.ends.len()).unwrap_or(u32::MAX));
            for (j, parent) in r.inherits.iter().enumerate() {
                let Some(&pid) = index.get(parent.as_str()) else {
                    return Err(RbacError::UnknownParentRole {
                        at: format!("{}.inherits[{j}]", role_at(i, &r.name)),
                        role: r.name.clone(),
                        parent: clip(parent, 80),
                    });
                };
                table.parent_ids.push(pid);
            }
            table
                .parent_ends
                .push(u32::try_from(table.parent_ids.len()).unwrap_or(u32::MAX));
        }
        let order = topological(defs, &table)?;
        // Parents come before children in `order`, so each role's parents
        // are final when the role is reached.
        for &r in &order {
            let mut acc = sets.get(r as usize).cloned().unwrap_or_default();
            for &p in table.parents(r) {
                if let Some(ps) = sets.get(p as usize) {
                    bitset::or_into(&mut acc, ps);
                }
            }
            if let Some(slot) = sets.get_mut(r as usize) {
                *slot = acc;
            }
        }
        table.effective = sets.iter().map(|s| arena.intern(s)).collect();
        table.names.shrink();
        table.patterns.shrink();
        table.parent_ids.shrink_to_fit();
        Ok((table, index))
    }

    pub(crate) fn len(&self) -> usize {
        self.names.ends.len()
    }

    pub(crate) fn name(&self, r: u32) -> &str {
        self.names.get(r as usize)
    }

    fn parents(&self, r: u32) -> &[u32] {
        self.parent_ids
            .get(span(&self.parent_ends, r as usize))
            .unwrap_or(&[])
    }

    fn own_patterns(&self, r: u32) -> impl Iterator<Item = &str> + '_ {
        span(&self.pattern_ends, r as usize).map(|i| self.patterns.get(i))
    }

    /// The shortest inheritance chain from `role` to a role whose own
    /// patterns match `permission`, with the matching pattern.
    pub(crate) fn chain_to(&self, role: u32, permission: &str) -> Option<(Vec<String>, String)> {
        let n = self.len();
        let mut prev: Vec<Option<u32>> = vec![None; n];
        let mut seen = vec![false; n];
        let mut queue = std::collections::VecDeque::from([role]);
        if let Some(s) = seen.get_mut(role as usize) {
            *s = true;
        }
        while let Some(r) = queue.pop_front() {
            if let Some(p) = self
                .own_patterns(r)
                .find(|p| crate::permission::pattern_matches(p, permission))
            {
                let mut chain = vec![self.name(r).to_owned()];
                let mut cur = r;
                while let Some(Some(before)) = prev.get(cur as usize) {
                    chain.push(self.name(*before).to_owned());
                    cur = *before;
                }
                chain.reverse();
                return Some((chain, p.to_owned()));
            }
            for &p in self.parents(r) {
                if let Some(s) = seen.get_mut(p as usize)
                    && !*s
                {
                    *s = true;
                    if let Some(slot) = prev.get_mut(p as usize) {
                        *slot = Some(r);
                    }
                    queue.push_back(p);
                }
            }
        }
        None
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.names.heap_bytes()
            + self.patterns.heap_bytes()
            + (self.pattern_ends.capacity()
                + self.parent_ids.capacity()
                + self.parent_ends.capacity()
                + self.effective.capacity())
                * 4
    }
}

/// Roles ordered so that every parent precedes its children; a cycle is
/// reported with its members (iterative DFS: deep chains cannot overflow
/// the stack).
fn topological(defs: &[RoleDef], table: &RoleTable) -> Result<Vec<u32>> {
    const NEW: u8 = 0;
    const ACTIVE: u8 = 1;
    const DONE: u8 = 2;
    let n = table.len();
    let mut state = vec![NEW; n];
    let mut order = Vec::with_capacity(n);
    let name = |r: u32| defs.get(r as usize).map_or("", |d| d.name.as_str());
    for root in 0..n {
        if state.get(root) != Some(&NEW) {
            continue;
        }
        let root = u32::try_from(root).unwrap_or(u32::MAX);
        let mut stack: Vec<(u32, usize)> = vec![(root, 0)];
        if let Some(s) = state.get_mut(root as usize) {
            *s = ACTIVE;
        }
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            let ps = table.parents(node);
            if let Some(&p) = ps.get(*next) {
                *next += 1;
                match state.get(p as usize).copied() {
                    Some(NEW) => {
                        if let Some(s) = state.get_mut(p as usize) {
                            *s = ACTIVE;
                        }
                        stack.push((p, 0));
                    }
                    Some(ACTIVE) => {
                        let start = stack.iter().position(|(r, _)| *r == p).unwrap_or(0);
                        let mut cycle: Vec<&str> = stack
                            .get(start..)
                            .unwrap_or(&[])
                            .iter()
                            .map(|(r, _)| name(*r))
                            .collect();
                        cycle.push(name(p));
                        return Err(RbacError::RoleCycle {
                            cycle: clip(&cycle.join(" -> "), 400),
                        });
                    }
                    _ => {}
                }
            } else {
                if let Some(s) = state.get_mut(node as usize) {
                    *s = DONE;
                }
                order.push(node);
                stack.pop();
            }
        }
    }
    Ok(order)
}
