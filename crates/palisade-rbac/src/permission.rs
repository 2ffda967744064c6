//! Permissions (`resource:action`), wildcard patterns, the interned
//! permission universe of a policy and its generation.

use crate::bitset;
use crate::error::{RbacError, Result, clip};
use palisade_tenancy::PermissionSyntax;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// The most permissions one policy may declare.
pub const MAX_PERMISSIONS: usize = 65_536;
/// The longest resource or action name, in bytes. The whole permission
/// (both parts and the `:`) is at most
/// [`MAX_PERMISSION_LEN`](palisade_tenancy::MAX_PERMISSION_LEN) = 64 bytes,
/// the shared grammar of `palisade-tenancy`, so this is 62 in practice.
pub const MAX_PERMISSION_PART_LEN: usize = 64;
const GENERATION_DOMAIN: &[u8] = b"palisade-rbac/permissions/v1";

/// Identifies the permission numbering of a compiled policy: the SHA-256 of
/// its declared permission list, first 8 bytes (see `docs/rbac.md`).
///
/// [`PermissionId`]s and [`ScopeMask`](crate::ScopeMask)s are valid for every
/// policy with the same generation, so a host can key its caches on it; two
/// policies that declare the same permissions in the same order share it.
/// Using an id or mask with a policy of another generation yields `Deny`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Generation(u64);

impl Generation {
    /// The generation as a number.
    #[must_use]
    pub const fn as_u64(&self) -> u64 {
        self.0
    }

    /// The generation of a permission list, in declaration order.
    pub(crate) fn of<S: AsRef<str>>(names: &[S]) -> Self {
        let mut h = Sha256::new();
        h.update(GENERATION_DOMAIN);
        for n in names {
            let n = n.as_ref();
            h.update(u32::try_from(n.len()).unwrap_or(u32::MAX).to_be_bytes());
            h.update(n.as_bytes());
        }
        let d = h.finalize();
        let mut first = [0u8; 8];
        for (dst, src) in first.iter_mut().zip(d.iter()) {
            *dst = *src;
        }
        Self(u64::from_be_bytes(first))
    }
}

impl core::fmt::Display for Generation {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// A permission interned by a compiled policy: cheap to copy and compare,
/// resolved once (e.g. at start-up) with
/// [`CompiledPolicy::permission`](crate::CompiledPolicy::permission).
///
/// It carries its policy's [`Generation`]: used with a policy of another
/// generation it never allows.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct PermissionId {
    pub(crate) generation: Generation,
    pub(crate) index: u32,
}

impl PermissionId {
    /// The dense index (declaration order, from 0).
    #[must_use]
    pub const fn index(&self) -> u32 {
        self.index
    }

    /// The generation of the policy that issued it.
    #[must_use]
    pub const fn generation(&self) -> Generation {
        self.generation
    }
}

/// Check a concrete permission `resource:action` (the shared grammar of
/// [`palisade_tenancy::check_permission`]).
pub(crate) fn validate_name(s: &str, at: impl FnOnce() -> String) -> Result<()> {
    palisade_tenancy::check_permission(s).map_err(|e| RbacError::PermissionSyntax {
        at: at(),
        input: clip(s, 80),
        reason: syntax_reason(e),
    })
}

fn syntax_reason(e: PermissionSyntax) -> &'static str {
    match e {
        PermissionSyntax::Shape => "expected `resource:action`, `resource:*`, `*:action` or `*`",
        PermissionSyntax::TooLong => "longer than 64 bytes (resource, `:` and action together)",
        PermissionSyntax::PatternPart => {
            "each side must be `*` or 1 or more characters of `a-z 0-9 _ - .` (lowercase)"
        }
        _ => {
            "resource and action must each be 1 or more characters of `a-z 0-9 _ - .` (lowercase), 64 bytes in all"
        }
    }
}

/// Check a pattern: `*`, or each side `*` or a part
/// ([`palisade_tenancy::check_pattern`]).
fn check_pattern(s: &str, at: &dyn Fn() -> String) -> Result<()> {
    palisade_tenancy::check_pattern(s).map_err(|e| RbacError::PermissionSyntax {
        at: at(),
        input: clip(s, 80),
        reason: syntax_reason(e),
    })
}

/// True when the permission `name` matches the pattern `pattern` (both
/// assumed valid). The naive definition, also used by explain.
pub(crate) fn pattern_matches(pattern: &str, name: &str) -> bool {
    palisade_tenancy::pattern_covers(pattern, name)
}

/// The declared permissions of a policy, numbered in declaration order.
pub(crate) struct PermissionTable {
    names: Vec<Box<str>>,
    index: HashMap<Box<str>, u32, foldhash::fast::RandomState>,
    generation: Generation,
}

impl PermissionTable {
    /// Intern the declared list, rejecting bad syntax and duplicates.
    pub(crate) fn new(declared: &[String]) -> Result<Self> {
        if declared.len() > MAX_PERMISSIONS {
            return Err(RbacError::Limit {
                at: "permissions".into(),
                what: "permissions",
                max: MAX_PERMISSIONS,
            });
        }
        let mut index = HashMap::with_capacity_and_hasher(
            declared.len(),
            foldhash::fast::RandomState::default(),
        );
        let mut names = Vec::with_capacity(declared.len());
        for (i, p) in declared.iter().enumerate() {
            let at = || format!("permissions[{i}]");
            validate_name(p, at)?;
            let id = u32::try_from(i).unwrap_or(u32::MAX);
            if index.insert(Box::<str>::from(p.as_str()), id).is_some() {
                return Err(RbacError::DuplicatePermission {
                    at: at(),
                    permission: clip(p, 80),
                });
            }
            names.push(Box::<str>::from(p.as_str()));
        }
        Ok(Self {
            generation: Generation::of(&names),
            names,
            index,
        })
    }

    /// Number of 64-bit words in a set over this universe.
    pub(crate) fn width(&self) -> usize {
        self.names.len().div_ceil(64)
    }

    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }

    pub(crate) fn generation(&self) -> Generation {
        self.generation
    }

    pub(crate) fn lookup(&self, name: &str) -> Option<u32> {
        self.index.get(name).copied()
    }

    pub(crate) fn name(&self, index: u32) -> Option<&str> {
        self.names.get(index as usize).map(|b| &**b)
    }

    /// Add every permission matching `pattern` to `set`.
    ///
    /// # Errors
    /// Bad syntax, or a pattern that matches no declared permission.
    pub(crate) fn expand_into(
        &self,
        pattern: &str,
        set: &mut [u64],
        at: &dyn Fn() -> String,
    ) -> Result<()> {
        check_pattern(pattern, at)?;
        let mut matched = false;
        if pattern != "*" && !pattern.contains('*') {
            if let Some(i) = self.lookup(pattern) {
                bitset::set_bit(set, i as usize);
                matched = true;
            }
        } else {
            for (i, n) in self.names.iter().enumerate() {
                if pattern_matches(pattern, n) {
                    bitset::set_bit(set, i);
                    matched = true;
                }
            }
        }
        if matched {
            Ok(())
        } else {
            Err(RbacError::UnknownPermission {
                at: at(),
                permission: clip(pattern, 80),
            })
        }
    }

    /// Heap bytes held (approximate: table buckets plus strings).
    pub(crate) fn heap_bytes(&self) -> usize {
        let strings: usize = self.names.iter().map(|n| 2 * n.len()).sum();
        strings
            + self.names.capacity() * size_of::<Box<str>>()
            + self.index.capacity() * (size_of::<(Box<str>, u32)>() + 1)
    }
}
