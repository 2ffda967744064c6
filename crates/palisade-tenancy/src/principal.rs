//! Who acts: users, API keys, staff members and services, as one typed value
//! shared by RBAC bindings, API-key records and audit actors.

use crate::error::{Result, TenancyError, clip};

/// The longest principal id accepted, in bytes.
pub const MAX_PRINCIPAL_ID_LEN: usize = 128;

/// The kind of a [`Principal`], which is also its text prefix.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
#[non_exhaustive]
pub enum PrincipalKind {
    /// A human user of a tenant (`user:…`).
    User,
    /// An API key, by its public key id (`key:…`).
    ApiKey,
    /// A member of the operator's own staff (`staff:…`): access to tenant data
    /// only through time-bound, audited grants.
    Staff,
    /// An internal service or job (`service:…`).
    Service,
}

impl PrincipalKind {
    /// The text prefix, without the colon.
    #[must_use]
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::User => "user",
            Self::ApiKey => "key",
            Self::Staff => "staff",
            Self::Service => "service",
        }
    }

    fn from_prefix(s: &str) -> Option<Self> {
        Some(match s {
            "user" => Self::User,
            "key" => Self::ApiKey,
            "staff" => Self::Staff,
            "service" => Self::Service,
            _ => return None,
        })
    }
}

impl core::fmt::Display for PrincipalKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A principal: `kind:id`, e.g. `user:alice@example.com`, `key:k7f3…`,
/// `staff:bob`, `service:billing-sync`.
///
/// The id is 1–128 bytes of `A-Z a-z 0-9 . _ - @ +` (enough for emails,
/// UUIDs and key ids; nothing that needs escaping in logs, URLs or policy
/// files). Principals are not secret.
///
/// ```
/// use palisade_tenancy::{Principal, PrincipalKind};
/// let p: Principal = "user:alice@example.com".parse()?;
/// assert_eq!(p.kind(), PrincipalKind::User);
/// assert_eq!(p.id(), "alice@example.com");
/// assert_eq!(Principal::user("alice@example.com")?, p);
/// assert!("robot:x".parse::<Principal>().is_err());
/// # Ok::<(), palisade_tenancy::TenancyError>(())
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Principal {
    kind: PrincipalKind,
    id: Box<str>,
}

impl Principal {
    /// A principal of `kind` with `id`.
    ///
    /// # Errors
    /// [`TenancyError::Principal`] when `id` is empty, longer than 128 bytes,
    /// or has a character outside `A-Z a-z 0-9 . _ - @ +`.
    pub fn new(kind: PrincipalKind, id: &str) -> Result<Self> {
        validate_id(id).map_err(|reason| TenancyError::Principal {
            input: clip(&format!("{}:{id}", kind.as_str()), 80),
            reason,
        })?;
        Ok(Self {
            kind,
            id: id.into(),
        })
    }

    /// A user principal (`user:{id}`).
    ///
    /// # Errors
    /// As [`Principal::new`].
    pub fn user(id: &str) -> Result<Self> {
        Self::new(PrincipalKind::User, id)
    }

    /// An API-key principal (`key:{key_id}`).
    ///
    /// # Errors
    /// As [`Principal::new`].
    pub fn api_key(key_id: &str) -> Result<Self> {
        Self::new(PrincipalKind::ApiKey, key_id)
    }

    /// A staff principal (`staff:{id}`).
    ///
    /// # Errors
    /// As [`Principal::new`].
    pub fn staff(id: &str) -> Result<Self> {
        Self::new(PrincipalKind::Staff, id)
    }

    /// A service principal (`service:{name}`).
    ///
    /// # Errors
    /// As [`Principal::new`].
    pub fn service(name: &str) -> Result<Self> {
        Self::new(PrincipalKind::Service, name)
    }

    /// The kind.
    #[must_use]
    pub const fn kind(&self) -> PrincipalKind {
        self.kind
    }

    /// The id, without the kind prefix.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }
}

fn validate_id(id: &str) -> core::result::Result<(), &'static str> {
    if id.is_empty() {
        return Err("the id after `:` is empty");
    }
    if id.len() > MAX_PRINCIPAL_ID_LEN {
        return Err("the id after `:` is longer than 128 bytes");
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@' | b'+'))
    {
        return Err("the id may only hold `A-Z a-z 0-9 . _ - @ +`");
    }
    Ok(())
}

impl core::fmt::Display for Principal {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}:{}", self.kind.as_str(), self.id)
    }
}

impl core::fmt::Debug for Principal {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Principal({self})")
    }
}

impl core::str::FromStr for Principal {
    type Err = TenancyError;

    fn from_str(s: &str) -> Result<Self> {
        let bad = |reason| TenancyError::Principal {
            input: clip(s, 80),
            reason,
        };
        let (prefix, id) = s.split_once(':').ok_or_else(|| {
            bad("expected `kind:id` with kind `user`, `key`, `staff` or `service`")
        })?;
        let kind = PrincipalKind::from_prefix(prefix)
            .ok_or_else(|| bad("unknown kind: use `user`, `key`, `staff` or `service`"))?;
        validate_id(id).map_err(bad)?;
        Ok(Self {
            kind,
            id: id.into(),
        })
    }
}

impl serde::Serialize for Principal {
    fn serialize<S: serde::Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Principal {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Principal;
            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("a principal string `kind:id`")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> core::result::Result<Principal, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}
