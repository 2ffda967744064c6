//! Request scopes: a tenant, optionally narrowed to one of its projects.

use crate::error::{Result, TenancyError, clip};
use crate::id::{ProjectId, TenantId};

/// Version byte that opens [`Scope::to_context_bytes`].
pub const SCOPE_BYTES_VERSION: u8 = 0x01;
const KIND_TENANT: u8 = b'T';
const KIND_PROJECT: u8 = b'P';

/// The part of a tenant that a request, a key or a value belongs to: the
/// whole tenant, or one project inside it.
///
/// Containment is the only relation: a tenant-wide scope contains each of
/// its projects; a project scope contains only itself; scopes of different
/// tenants never contain one another.
///
/// ```
/// use palisade_tenancy::{ProjectId, Scope, TenantId};
/// let t = TenantId::new_v7();
/// let whole = Scope::tenant(t);
/// let proj = Scope::project(t, ProjectId::new_v7());
/// assert!(whole.contains(&proj));
/// assert!(proj.is_within(&whole));
/// assert!(!proj.contains(&whole));
/// assert!(!whole.contains(&Scope::tenant(TenantId::new_v7())));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Scope {
    tenant: TenantId,
    project: Option<ProjectId>,
}

impl Scope {
    /// The whole of `tenant`.
    #[must_use]
    pub const fn tenant(tenant: TenantId) -> Self {
        Self {
            tenant,
            project: None,
        }
    }

    /// One project of `tenant`.
    #[must_use]
    pub const fn project(tenant: TenantId, project: ProjectId) -> Self {
        Self {
            tenant,
            project: Some(project),
        }
    }

    /// The tenant this scope belongs to.
    #[must_use]
    pub const fn tenant_id(&self) -> TenantId {
        self.tenant
    }

    /// The project, if the scope is narrowed to one.
    #[must_use]
    pub const fn project_id(&self) -> Option<ProjectId> {
        self.project
    }

    /// True when the scope is the whole tenant.
    #[must_use]
    pub const fn is_tenant_wide(&self) -> bool {
        self.project.is_none()
    }

    /// The tenant-wide scope of this scope's tenant.
    #[must_use]
    pub const fn widen_to_tenant(&self) -> Self {
        Self::tenant(self.tenant)
    }

    /// Narrow a tenant-wide scope to one of its projects. A project scope
    /// narrowed to another project is not contained in it, so this returns
    /// `None` unless `self` is tenant-wide or already that project.
    #[must_use]
    pub fn narrow(&self, project: ProjectId) -> Option<Self> {
        match self.project {
            None => Some(Self::project(self.tenant, project)),
            Some(p) if p == project => Some(*self),
            Some(_) => None,
        }
    }

    /// True when `other` lies inside `self`: the same tenant, and either
    /// `self` is tenant-wide or both name the same project.
    #[must_use]
    pub fn contains(&self, other: &Scope) -> bool {
        self.tenant == other.tenant
            && match self.project {
                None => true,
                Some(p) => other.project == Some(p),
            }
    }

    /// True when `self` lies inside `other` (`other.contains(self)`).
    #[must_use]
    pub fn is_within(&self, other: &Scope) -> bool {
        other.contains(self)
    }

    /// Canonical bytes of this scope, for binding into MACs, AEAD associated
    /// data and signatures (envelope encryption contexts, audit records).
    ///
    /// Layout (specified in `docs/tenancy.md`): `0x01`, then `b'T'` and the 16
    /// tenant UUID bytes (18 bytes), or `b'P'`, the 16 tenant bytes and the 16
    /// project bytes (34 bytes). Different scopes always give different bytes,
    /// and no scope's bytes are a prefix of another's.
    #[must_use]
    pub fn to_context_bytes(&self) -> ScopeBytes {
        let mut buf = [0u8; ScopeBytes::MAX_LEN];
        buf[0] = SCOPE_BYTES_VERSION;
        buf[2..18].copy_from_slice(self.tenant.as_bytes());
        let len = match self.project {
            None => {
                buf[1] = KIND_TENANT;
                18
            }
            Some(p) => {
                buf[1] = KIND_PROJECT;
                buf[18..34].copy_from_slice(p.as_bytes());
                34
            }
        };
        ScopeBytes { buf, len }
    }

    /// Parse the bytes made by [`Scope::to_context_bytes`].
    ///
    /// # Errors
    /// [`TenancyError::ScopeSyntax`] when the bytes are not exactly one of the
    /// two layouts.
    pub fn from_context_bytes(bytes: &[u8]) -> Result<Self> {
        let bad = || TenancyError::ScopeSyntax {
            input: format!("<{} context bytes>", bytes.len()),
        };
        let tenant_bytes = |r: Option<&[u8]>| -> Result<TenantId> {
            let arr: [u8; 16] = r.and_then(|s| s.try_into().ok()).ok_or_else(bad)?;
            Ok(TenantId::from_bytes(arr))
        };
        match (bytes.first(), bytes.get(1), bytes.len()) {
            (Some(&SCOPE_BYTES_VERSION), Some(&KIND_TENANT), 18) => {
                Ok(Self::tenant(tenant_bytes(bytes.get(2..18))?))
            }
            (Some(&SCOPE_BYTES_VERSION), Some(&KIND_PROJECT), 34) => {
                let t = tenant_bytes(bytes.get(2..18))?;
                let p: [u8; 16] = bytes
                    .get(18..34)
                    .and_then(|s| s.try_into().ok())
                    .ok_or_else(bad)?;
                Ok(Self::project(t, ProjectId::from_bytes(p)))
            }
            _ => Err(bad()),
        }
    }
}

/// The canonical bytes of a [`Scope`], kept on the stack (no allocation).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ScopeBytes {
    buf: [u8; ScopeBytes::MAX_LEN],
    len: usize,
}

impl ScopeBytes {
    /// The longest encoding (a project scope).
    pub const MAX_LEN: usize = 34;

    /// The bytes.
    #[must_use]
    pub fn as_slice(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&self.buf)
    }
}

impl AsRef<[u8]> for ScopeBytes {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl core::fmt::Debug for ScopeBytes {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for b in self.as_slice() {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl core::fmt::Display for Scope {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.project {
            None => write!(f, "{}", self.tenant),
            Some(p) => write!(f, "{}/{}", self.tenant, p),
        }
    }
}

impl core::fmt::Debug for Scope {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Scope({self})")
    }
}

impl core::str::FromStr for Scope {
    type Err = TenancyError;

    fn from_str(s: &str) -> Result<Self> {
        let bad = || TenancyError::ScopeSyntax { input: clip(s, 80) };
        match s.split_once('/') {
            None => Ok(Self::tenant(s.parse().map_err(|_| bad())?)),
            Some((t, p)) => Ok(Self::project(
                t.parse().map_err(|_| bad())?,
                p.parse().map_err(|_| bad())?,
            )),
        }
    }
}

impl serde::Serialize for Scope {
    fn serialize<S: serde::Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Scope {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Scope;
            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("a scope string `ten_…` or `ten_…/prj_…`")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> core::result::Result<Scope, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

impl From<TenantId> for Scope {
    fn from(t: TenantId) -> Self {
        Self::tenant(t)
    }
}
