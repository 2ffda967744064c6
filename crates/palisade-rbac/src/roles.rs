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

/// Compiled roles, indexed densely in declaration order.
pub(crate) struct RoleTable {
    pub(crate) names: Vec<Box<str>>,
    pub(crate) index: HashMap<Box<str>, u32, foldhash::fast::RandomState>,
    pub(crate) parents: Vec<Box<[u32]>>,
    /// The role's own patterns (for explain).
    pub(crate) patterns: Vec<Box<[Box<str>]>>,
    /// Set id of the effective permissions.
    pub(crate) effective: Vec<u32>,
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
    pub(crate) fn build(
        defs: &[RoleDef],
        perms: &PermissionTable,
        arena: &mut SetArena,
    ) -> Result<Self> {
        if defs.len() > MAX_ROLES {
            return Err(RbacError::Limit {
                at: "roles".into(),
                what: "roles",
                max: MAX_ROLES,
            });
        }
        let mut index: HashMap<Box<str>, u32, _> =
            HashMap::with_capacity_and_hasher(defs.len(), foldhash::fast::RandomState::default());
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
            index.insert(r.name.as_str().into(), id);
        }
        let width = perms.width();
        let mut direct: Vec<Vec<u64>> = Vec::with_capacity(defs.len());
        let mut parents = Vec::with_capacity(defs.len());
        for (i, r) in defs.iter().enumerate() {
            let mut set = vec![0u64; width];
            for (j, p) in r.permissions.iter().enumerate() {
                perms.expand_into(p, &mut set, &|| {
                    format!("{}.permissions[{j}]", role_at(i, &r.name))
                })?;
            }
            direct.push(set);
            let mut ps = Vec::with_capacity(r.inherits.len());
            for (j, parent) in r.inherits.iter().enumerate() {
                let Some(&pid) = index.get(parent.as_str()) else {
                    return Err(RbacError::UnknownParentRole {
                        at: format!("{}.inherits[{j}]", role_at(i, &r.name)),
                        role: r.name.clone(),
                        parent: clip(parent, 80),
                    });
                };
                ps.push(pid);
            }
            parents.push(ps.into_boxed_slice());
        }
        let order = topological(defs, &parents)?;
        // Parents come before children in `order`, so each role's parents
        // are final when the role is reached.
        let mut effective_sets: Vec<Vec<u64>> = direct;
        for &r in &order {
            let mut acc = effective_sets.get(r as usize).cloned().unwrap_or_default();
            for &p in parents.get(r as usize).map(|b| &**b).unwrap_or(&[]) {
                if let Some(ps) = effective_sets.get(p as usize) {
                    bitset::or_into(&mut acc, ps);
                }
            }
            if let Some(slot) = effective_sets.get_mut(r as usize) {
                *slot = acc;
            }
        }
        let effective = effective_sets.iter().map(|s| arena.intern(s)).collect();
        let patterns = defs
            .iter()
            .map(|r| {
                r.permissions
                    .iter()
                    .map(|p| Box::<str>::from(p.as_str()))
                    .collect()
            })
            .collect();
        let names = defs
            .iter()
            .map(|r| Box::<str>::from(r.name.as_str()))
            .collect();
        Ok(Self {
            names,
            index,
            parents,
            patterns,
            effective,
        })
    }

    pub(crate) fn lookup(&self, name: &str) -> Option<u32> {
        self.index.get(name).copied()
    }

    pub(crate) fn name(&self, r: u32) -> &str {
        self.names.get(r as usize).map_or("", |n| n)
    }

    /// The shortest inheritance chain from `role` to a role whose own
    /// patterns match `permission`, with the matching pattern.
    pub(crate) fn chain_to(&self, role: u32, permission: &str) -> Option<(Vec<String>, String)> {
        let n = self.names.len();
        let mut prev: Vec<Option<u32>> = vec![None; n];
        let mut seen = vec![false; n];
        let mut queue = std::collections::VecDeque::from([role]);
        if let Some(s) = seen.get_mut(role as usize) {
            *s = true;
        }
        while let Some(r) = queue.pop_front() {
            let own = self.patterns.get(r as usize).map(|b| &**b).unwrap_or(&[]);
            if let Some(p) = own
                .iter()
                .find(|p| crate::permission::pattern_matches(p, permission))
            {
                let mut chain = vec![self.name(r).to_owned()];
                let mut cur = r;
                while let Some(Some(before)) = prev.get(cur as usize) {
                    chain.push(self.name(*before).to_owned());
                    cur = *before;
                }
                chain.reverse();
                return Some((chain, p.to_string()));
            }
            for &p in self.parents.get(r as usize).map(|b| &**b).unwrap_or(&[]) {
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
        let names: usize = self.names.iter().map(|n| n.len() * 2).sum();
        let parents: usize = self.parents.iter().map(|p| p.len() * 4).sum();
        let patterns: usize = self
            .patterns
            .iter()
            .flat_map(|p| p.iter())
            .map(|p| p.len() + 16)
            .sum();
        names
            + parents
            + patterns
            + self.names.capacity() * 16
            + self.parents.capacity() * 16
            + self.patterns.capacity() * 16
            + self.effective.capacity() * 4
            + self.index.capacity() * (size_of::<(Box<str>, u32)>() + 1)
    }
}

/// Roles ordered so that every parent precedes its children; a cycle is
/// reported with its members (iterative DFS: deep chains cannot overflow
/// the stack).
fn topological(defs: &[RoleDef], parents: &[Box<[u32]>]) -> Result<Vec<u32>> {
    const NEW: u8 = 0;
    const ACTIVE: u8 = 1;
    const DONE: u8 = 2;
    let n = parents.len();
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
            let ps = parents.get(node as usize).map(|b| &**b).unwrap_or(&[]);
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
