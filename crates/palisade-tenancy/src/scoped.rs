//! Values owned by one scope, which cannot be read from another.

use crate::error::{Result, TenancyError};
use crate::scope::Scope;

/// A value owned by one [`Scope`]. Its contents are reached only by
/// presenting a scope that the owner's scope contains (the same tenant, and
/// the owner tenant-wide or the same project); anything else is
/// [`TenancyError::CrossTenant`], naming both scopes and nothing of the value.
///
/// A request in project `P` may read tenant-wide values and `P`'s values; a
/// request in project `Q` of the same tenant may not read `P`'s; a request
/// of another tenant may read nothing. A tenant-wide request must narrow to a
/// project to read that project's values.
///
/// `Debug` never prints the value; use [`Scoped::debug_unredacted`] when you
/// mean to.
///
/// ```
/// use palisade_tenancy::{Scope, Scoped, TenantId, TenancyError};
/// let acme = Scope::tenant(TenantId::new_v7());
/// let globex = Scope::tenant(TenantId::new_v7());
/// let row = Scoped::new(acme, String::from("acme's provider key id"));
/// assert_eq!(row.get(&acme)?, "acme's provider key id");
/// assert!(matches!(row.get(&globex), Err(TenancyError::CrossTenant { .. })));
/// assert!(!format!("{row:?}").contains("provider"));
/// # Ok::<(), TenancyError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Scoped<T> {
    owner: Scope,
    value: T,
}

impl<T> Scoped<T> {
    /// Wrap `value` as owned by `owner`.
    #[must_use]
    pub const fn new(owner: Scope, value: T) -> Self {
        Self { owner, value }
    }

    /// The owning scope.
    #[must_use]
    pub const fn owner(&self) -> &Scope {
        &self.owner
    }

    /// True when `accessor` may reach the value (`owner.contains(accessor)`).
    #[must_use]
    pub fn is_visible_to(&self, accessor: &Scope) -> bool {
        self.owner.contains(accessor)
    }

    fn check(&self, accessor: &Scope) -> Result<()> {
        if self.is_visible_to(accessor) {
            Ok(())
        } else {
            Err(TenancyError::CrossTenant {
                owner: self.owner,
                accessor: *accessor,
            })
        }
    }

    /// Borrow the value as `accessor`.
    ///
    /// # Errors
    /// [`TenancyError::CrossTenant`] when the owner's scope does not contain `accessor`.
    pub fn get(&self, accessor: &Scope) -> Result<&T> {
        self.check(accessor)?;
        Ok(&self.value)
    }

    /// Borrow the value mutably as `accessor`.
    ///
    /// # Errors
    /// [`TenancyError::CrossTenant`] when the owner's scope does not contain `accessor`.
    pub fn get_mut(&mut self, accessor: &Scope) -> Result<&mut T> {
        self.check(accessor)?;
        Ok(&mut self.value)
    }

    /// Take the value out as `accessor`. On refusal the value is handed back
    /// untouched inside the error pair, so nothing is lost.
    ///
    /// # Errors
    /// `(self, CrossTenant)` when the owner's scope does not contain `accessor`.
    pub fn into_inner(self, accessor: &Scope) -> core::result::Result<T, (Self, TenancyError)> {
        match self.check(accessor) {
            Ok(()) => Ok(self.value),
            Err(e) => Err((self, e)),
        }
    }

    /// Transform the value, keeping its owner. No access check is needed: the
    /// result is still owned by the same scope.
    #[must_use]
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Scoped<U> {
        Scoped {
            owner: self.owner,
            value: f(self.value),
        }
    }

    /// A `Scoped` that borrows the value.
    #[must_use]
    pub const fn as_ref(&self) -> Scoped<&T> {
        Scoped {
            owner: self.owner,
            value: &self.value,
        }
    }

    /// A `Debug` view that does print the value: for tests and deliberate
    /// diagnostics only.
    #[must_use]
    pub fn debug_unredacted(&self) -> impl core::fmt::Debug + '_
    where
        T: core::fmt::Debug,
    {
        Unredacted(self)
    }
}

struct Unredacted<'a, T>(&'a Scoped<T>);

impl<T: core::fmt::Debug> core::fmt::Debug for Unredacted<'_, T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Scoped")
            .field("owner", &self.0.owner)
            .field("value", &self.0.value)
            .finish()
    }
}

impl<T> core::fmt::Debug for Scoped<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Scoped")
            .field("owner", &self.owner)
            .field("value", &"<redacted>")
            .finish()
    }
}

/// Keep the values of `items` that `accessor` may see, dropping the rest.
///
/// ```
/// use palisade_tenancy::{filter_visible, Scope, Scoped, TenantId};
/// let a = Scope::tenant(TenantId::new_v7());
/// let b = Scope::tenant(TenantId::new_v7());
/// let rows = vec![Scoped::new(a, 1), Scoped::new(b, 2), Scoped::new(a, 3)];
/// let mine: Vec<i32> = filter_visible(rows, &a).collect();
/// assert_eq!(mine, [1, 3]);
/// ```
pub fn filter_visible<'s, T, I>(items: I, accessor: &'s Scope) -> impl Iterator<Item = T> + 's
where
    I: IntoIterator<Item = Scoped<T>>,
    I::IntoIter: 's,
{
    items
        .into_iter()
        .filter(move |s| s.is_visible_to(accessor))
        .map(|s| s.value)
}

/// Borrowing form of [`filter_visible`]: references to the values `accessor` may see.
pub fn filter_visible_ref<'a, T: 'a, I>(
    items: I,
    accessor: &'a Scope,
) -> impl Iterator<Item = &'a T> + 'a
where
    I: IntoIterator<Item = &'a Scoped<T>>,
    I::IntoIter: 'a,
{
    items
        .into_iter()
        .filter(move |s| s.is_visible_to(accessor))
        .map(|s| &s.value)
}
