//! The crate's one error type.

use crate::scope::Scope;

/// Result alias for this crate.
pub type Result<T, E = TenancyError> = core::result::Result<T, E>;

/// Everything that can go wrong in `palisade-tenancy`.
///
/// Parse errors name the input's kind and what to fix; they never echo more
/// than the offending text, which is itself never secret (ids, names).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TenancyError {
    /// An id string did not start with the prefix of its type.
    #[error("invalid {kind} id: expected prefix `{expected}_`, found `{found}`")]
    IdPrefix {
        /// The id type, e.g. `tenant`.
        kind: &'static str,
        /// The prefix this type requires, e.g. `ten`.
        expected: &'static str,
        /// The prefix found (at most 16 characters of it).
        found: String,
    },
    /// An id string had the right prefix but a body of the wrong length.
    #[error("invalid {kind} id: the part after `_` must be 26 characters, found {found}")]
    IdLength {
        /// The id type.
        kind: &'static str,
        /// The length found.
        found: usize,
    },
    /// An id string contained a character outside its alphabet.
    #[error(
        "invalid {kind} id: character `{found}` at position {position} is not in the alphabet `0-9 a-h j k m n p-t v-z` (lowercase Crockford base32)"
    )]
    IdCharacter {
        /// The id type.
        kind: &'static str,
        /// The offending character.
        found: char,
        /// Its byte position in the whole string.
        position: usize,
    },
    /// The first character of an id body encodes more than 128 bits.
    #[error(
        "invalid {kind} id: the first character after `_` must be `0`-`7` (the id would exceed 128 bits)"
    )]
    IdOverflow {
        /// The id type.
        kind: &'static str,
    },
    /// A scope string was not `ten_…` or `ten_…/prj_…`.
    #[error(
        "invalid scope `{input}`: expected `ten_<26 chars>` or `ten_<26 chars>/prj_<26 chars>`"
    )]
    ScopeSyntax {
        /// The input (at most 80 characters of it).
        input: String,
    },
    /// A principal string was not `kind:id` with a known kind and a valid id.
    #[error("invalid principal `{input}`: {reason}")]
    Principal {
        /// The input (at most 80 characters of it).
        input: String,
        /// What is wrong and how to fix it.
        reason: &'static str,
    },
    /// A scoped value was reached with a scope that its owner's scope does not contain.
    #[error("scope `{accessor}` may not access a value owned by scope `{owner}`")]
    CrossTenant {
        /// The scope that owns the value.
        owner: Scope,
        /// The scope that was presented.
        accessor: Scope,
    },
    /// A namespace purpose or name broke the charset or length rules.
    #[error("invalid namespace `{input}`: {reason}")]
    Namespace {
        /// The input (at most 80 characters of it).
        input: String,
        /// What is wrong and how to fix it.
        reason: &'static str,
    },
    /// A retention rule or record kind could not be parsed.
    #[error("invalid retention rule `{input}`: {reason}")]
    Retention {
        /// The input (at most 80 characters of it).
        input: String,
        /// What is wrong and how to fix it.
        reason: &'static str,
    },
    /// A timestamp could not be parsed.
    #[error("invalid timestamp `{input}`: {reason}")]
    Timestamp {
        /// The input (at most 80 characters of it).
        input: String,
        /// What is wrong and how to fix it.
        reason: &'static str,
    },
}

/// Cut user input for inclusion in an error message, on a char boundary.
pub(crate) fn clip(input: &str, max: usize) -> String {
    match input.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", input.get(..at).unwrap_or_default()),
        None => input.to_owned(),
    }
}
