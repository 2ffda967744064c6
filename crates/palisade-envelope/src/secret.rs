//! Secret key newtypes: data keys and key-encryption keys.

use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::{EnvelopeError, Result};

/// Length of data keys and key-encryption keys (AES-256).
pub const KEY_LEN: usize = 32;

/// Fill `buf` from the operating system's generator.
pub(crate) fn random(buf: &mut [u8]) -> Result<()> {
    #[cfg(test)]
    OS_DRAWS.with(|n| n.set(n.get() + 1));
    getrandom::fill(buf).map_err(EnvelopeError::Random)
}

#[cfg(test)]
thread_local! {
    /// Calls to the OS generator on this thread (tests only).
    pub(crate) static OS_DRAWS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// A fresh 32-byte random nonce, drawn from the operating system's
/// generator on every call.
///
/// There is deliberately no user-space pool: a pool copied by `fork` can
/// only be detected by comparing process ids, and a double fork can hand a
/// grandchild its grandparent's pid (pid reuse) with the pool unchanged, so
/// it would replay nonces under an inherited cached data key. The kernel's
/// generator state is not in process memory and is never duplicated by
/// `fork` (Linux `getrandom(2)`, macOS `getentropy`, Windows
/// `ProcessPrng`), so two processes can never draw the same nonce except
/// with probability 2^-256 per pair. The cost is one system call per seal
/// (see `docs/envelope-format.md` §1).
pub(crate) fn random_nonce() -> Result<[u8; 32]> {
    let mut out = [0u8; 32];
    random(&mut out)?;
    Ok(out)
}

/// A 256-bit data key: encrypts message bodies (through per-message derived
/// keys), and is itself stored only wrapped under a key-encryption key.
///
/// Zeroized on drop; `Debug` is redacted; no `Clone` or `PartialEq`.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct DataKey([u8; KEY_LEN]);

impl DataKey {
    /// A fresh random data key.
    ///
    /// # Errors
    /// [`EnvelopeError::Random`] if the system generator fails.
    pub fn generate() -> Result<Self> {
        let mut k = Self([0; KEY_LEN]);
        random(&mut k.0)?;
        Ok(k)
    }

    /// Wrap raw bytes (e.g. a remote KMS's plaintext data key). The caller
    /// should zeroize its own copy.
    #[must_use]
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(bytes)
    }

    /// Build from a slice of exactly 32 bytes.
    ///
    /// # Errors
    /// [`EnvelopeError::InvalidHeader`] when the slice is not 32 bytes long.
    pub fn try_from_slice(bytes: &[u8]) -> Result<Self> {
        let arr: [u8; KEY_LEN] = bytes.try_into().map_err(|_| EnvelopeError::InvalidHeader {
            field: "data key",
            reason: "must be exactly 32 bytes",
        })?;
        Ok(Self(arr))
    }

    /// The raw key bytes, for [`KeyProvider`](crate::KeyProvider)
    /// implementations that must send them to a wrapping service.
    #[must_use]
    pub fn expose_secret_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

/// A 256-bit key-encryption key held by the local keyring.
///
/// Zeroized on drop; `Debug` is redacted; no `Clone` or `PartialEq`.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct Kek([u8; KEY_LEN]);

impl Kek {
    /// A fresh random KEK (for tests and for generating keyring files).
    ///
    /// # Errors
    /// [`EnvelopeError::Random`] if the system generator fails.
    pub fn generate() -> Result<Self> {
        let mut k = Self([0; KEY_LEN]);
        random(&mut k.0)?;
        Ok(k)
    }

    /// Wrap raw bytes. The caller should zeroize its own copy.
    #[must_use]
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(bytes)
    }

    /// The key as 64 lowercase hex characters, for writing a keyring file.
    #[must_use]
    pub fn to_hex(&self) -> Zeroizing<String> {
        let mut s = Zeroizing::new(String::with_capacity(2 * KEY_LEN));
        for b in &self.0 {
            s.push(hex_digit(b >> 4));
            s.push(hex_digit(b & 0x0f));
        }
        s
    }

    pub(crate) fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

impl fmt::Debug for Kek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Kek(<redacted>)")
    }
}

fn hex_digit(n: u8) -> char {
    char::from(if n < 10 { b'0' + n } else { b'a' + n - 10 })
}

/// Decode exactly 64 hex characters into a key, zeroizing intermediates.
pub(crate) fn key_from_hex(s: &str) -> Option<Zeroizing<[u8; KEY_LEN]>> {
    let mut out = Zeroizing::new([0u8; KEY_LEN]);
    if s.len() != 2 * KEY_LEN {
        return None;
    }
    for (o, pair) in out.iter_mut().zip(s.as_bytes().chunks_exact(2)) {
        let [hi, lo] = pair else { return None };
        *o = (nibble(*hi)? << 4) | nibble(*lo)?;
    }
    Some(out)
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}
