//! The embedded key provider: versioned KEKs held in process memory.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{PoisonError, RwLock};

use palisade_tenancy::Scope;
use zeroize::Zeroizing;

use crate::backend::{Cipher, TAG_LEN};
use crate::derive::{COMMITMENT_LEN, KeyMaterial, LABEL_KEK, NONCE_LEN};
use crate::error::{DecryptFailure, EnvelopeError, Result};
use crate::provider::{KekId, KeyProvider, KeyRef, WrappedKey};
use crate::secret::{DataKey, KEY_LEN, Kek, key_from_hex, random_nonce};

/// Length of a data key wrapped by [`LocalKeyring`]:
/// `nonce(32) ‖ commitment(32) ‖ AES-GCM(data key)(32) ‖ tag(16)`.
pub const LOCAL_WRAPPED_LEN: usize = NONCE_LEN + COMMITMENT_LEN + KEY_LEN + TAG_LEN;

/// The first line of a keyring text.
pub const KEYRING_MAGIC: &str = "palisade-keyring v1";

/// An in-process keyring of versioned key-encryption keys: one primary
/// version for new writes, older versions for reads, and per-KEK a
/// `min_decryption_version` below which reads fail.
///
/// KEKs are loaded from text (see [`LocalKeyring::from_text`]), a file, or
/// an environment variable; only their HKDF state is kept, zeroized on drop.
/// Wraps use the same committing construction as message bodies, with the
/// KEK id, version and tenant scope bound in.
#[derive(Default)]
pub struct LocalKeyring {
    state: RwLock<State>,
}

#[derive(Default)]
struct State {
    keks: BTreeMap<KekId, BTreeMap<u32, KeyMaterial>>,
    primary: Option<KeyRef>,
    min_decryption: BTreeMap<KekId, u32>,
}

impl LocalKeyring {
    /// An empty keyring (add keys with [`LocalKeyring::insert`]).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A keyring with one KEK, version 1, as primary.
    ///
    /// # Errors
    /// [`EnvelopeError::InvalidKekId`] for a bad id.
    pub fn with_primary(kek_id: &str, kek: Kek) -> Result<Self> {
        let ring = Self::new();
        let id = KekId::new(kek_id)?;
        ring.insert(&id, 1, kek)?;
        ring.set_primary(&KeyRef {
            kek: id,
            version: 1,
        })?;
        Ok(ring)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Add KEK `id` version `version`.
    ///
    /// # Errors
    /// [`EnvelopeError::InvalidHeader`] for version 0 or a version already loaded.
    pub fn insert(&self, id: &KekId, version: u32, kek: Kek) -> Result<()> {
        if version == 0 {
            return Err(EnvelopeError::InvalidHeader {
                field: "kek version",
                reason: "must be 1 or more",
            });
        }
        let mut st = self.write();
        let versions = st.keks.entry(id.clone()).or_default();
        if versions.contains_key(&version) {
            return Err(EnvelopeError::InvalidHeader {
                field: "kek version",
                reason: "is already loaded",
            });
        }
        versions.insert(version, KeyMaterial::new(kek.bytes()));
        Ok(())
    }

    /// Add `kek` as the next version of `id` and make it primary.
    ///
    /// # Errors
    /// [`EnvelopeError::InvalidHeader`] if the version counter would overflow.
    pub fn rotate(&self, id: &KekId, kek: Kek) -> Result<KeyRef> {
        let mut st = self.write();
        let versions = st.keks.entry(id.clone()).or_default();
        let next = versions
            .keys()
            .next_back()
            .copied()
            .unwrap_or(0)
            .checked_add(1)
            .ok_or(EnvelopeError::InvalidHeader {
                field: "kek version",
                reason: "cannot exceed 4294967295",
            })?;
        versions.insert(next, KeyMaterial::new(kek.bytes()));
        let r = KeyRef {
            kek: id.clone(),
            version: next,
        };
        st.primary = Some(r.clone());
        Ok(r)
    }

    /// Make a loaded version the primary for new writes.
    ///
    /// # Errors
    /// [`EnvelopeError::UnknownKek`] if not loaded;
    /// [`EnvelopeError::KeyVersionRetired`] if below the minimum.
    pub fn set_primary(&self, key_ref: &KeyRef) -> Result<()> {
        let mut st = self.write();
        st.check(key_ref)?;
        st.primary = Some(key_ref.clone());
        Ok(())
    }

    /// Refuse decryption under versions of `id` below `min`. Ciphertexts
    /// under older versions must be rewrapped first. The minimum only ever
    /// rises: a retired version cannot be un-retired on a live keyring
    /// (build a new keyring to undo a mistake).
    ///
    /// # Errors
    /// [`EnvelopeError::UnknownKek`] if `id` is not loaded;
    /// [`EnvelopeError::InvalidHeader`] if `min` is above the primary version
    /// of `id`, or below its current minimum.
    pub fn set_min_decryption_version(&self, id: &KekId, min: u32) -> Result<()> {
        let mut st = self.write();
        if !st.keks.contains_key(id) {
            return Err(EnvelopeError::UnknownKek {
                kek: id.to_string(),
                version: min,
            });
        }
        if let Some(p) = &st.primary
            && &p.kek == id
            && p.version < min
        {
            return Err(EnvelopeError::InvalidHeader {
                field: "min-decryption-version",
                reason: "is above the primary version: rotate first",
            });
        }
        if st.min_decryption.get(id).is_some_and(|cur| min < *cur) {
            return Err(EnvelopeError::InvalidHeader {
                field: "min-decryption-version",
                reason: "may not decrease: a retired version stays retired",
            });
        }
        st.min_decryption.insert(id.clone(), min);
        Ok(())
    }

    /// The minimum decryption version of `id` (1 when unset).
    #[must_use]
    pub fn min_decryption_version(&self, id: &KekId) -> u32 {
        self.read().min_decryption.get(id).copied().unwrap_or(1)
    }

    /// Parse a keyring text (`docs/envelope-format.md` §7):
    ///
    /// ```text
    /// palisade-keyring v1
    /// kek <id> <version> <64 hex digits>
    /// primary <id> <version>
    /// min-decryption-version <id> <version>
    /// ```
    ///
    /// Lines end with LF or CRLF. A `#` starts a comment that runs to the end
    /// of its line, wherever it stands (so `# old; primary main 1` is all
    /// comment). What remains of a line may hold several directives
    /// separated by `;` (for environment variables). Words are separated by
    /// spaces or tabs; blank directives are skipped. The first directive is
    /// the magic line. `kek` directives may come in any order relative to
    /// the others: `primary` and `min-decryption-version` are applied after
    /// every `kek` is loaded. At most one `primary` and at most one
    /// `min-decryption-version` per KEK id are allowed (a repeat is an
    /// error, never "the last one wins"), so the minimum decryption version
    /// is stated once and cannot be lowered later in the same text.
    ///
    /// # Errors
    /// [`EnvelopeError::KeyringSyntax`] naming the (1-based) line and what
    /// is wrong.
    pub fn from_text(text: &str) -> Result<Self> {
        let ring = Self::new();
        let mut primary: Option<(usize, KeyRef)> = None;
        let mut mins: Vec<(usize, KeyRef)> = Vec::new();
        let mut seen_magic = false;
        for (i, raw_line) in text.split('\n').enumerate() {
            let line = i + 1;
            // Comments first: `#` to the end of the line, before any `;` split.
            let code = raw_line.split_once('#').map_or(raw_line, |(code, _)| code);
            for raw in code.split(';') {
                let l = raw.trim_matches([' ', '\t', '\r']);
                if l.is_empty() {
                    continue;
                }
                let err = |reason: &str| EnvelopeError::KeyringSyntax {
                    line,
                    reason: reason.to_owned(),
                };
                if !seen_magic {
                    if l != KEYRING_MAGIC {
                        return Err(err("the first line must be `palisade-keyring v1`"));
                    }
                    seen_magic = true;
                    continue;
                }
                let words: Vec<&str> = l.split([' ', '\t']).filter(|w| !w.is_empty()).collect();
                let kr = |id: &str, v: &str| -> Result<KeyRef> {
                    let kek = KekId::new(id).map_err(|e| err(&e.to_string()))?;
                    let version = v
                        .parse::<u32>()
                        .ok()
                        .filter(|v| *v > 0)
                        .ok_or_else(|| err("versions are integers from 1"))?;
                    Ok(KeyRef { kek, version })
                };
                match words.as_slice() {
                    ["kek", id, v, hex] => {
                        let r = kr(id, v)?;
                        let bytes = key_from_hex(hex)
                            .ok_or_else(|| err("a kek is exactly 64 hex digits"))?;
                        ring.insert(&r.kek, r.version, Kek::from_bytes(*bytes))
                            .map_err(|e| err(&e.to_string()))?;
                    }
                    ["primary", id, v] => {
                        let r = kr(id, v)?;
                        if let Some((first, _)) = &primary {
                            return Err(err(&format!(
                                "a second `primary` directive (the first is on line {first}): keep exactly one"
                            )));
                        }
                        primary = Some((line, r));
                    }
                    ["min-decryption-version", id, v] => {
                        let r = kr(id, v)?;
                        if let Some((first, _)) = mins.iter().find(|(_, m)| m.kek == r.kek) {
                            return Err(err(&format!(
                                "a second `min-decryption-version` for `{}` (the first is on line {first}): keep exactly one",
                                r.kek
                            )));
                        }
                        mins.push((line, r));
                    }
                    _ => {
                        return Err(err(
                            "expected `kek ID VERSION HEX`, `primary ID VERSION` or `min-decryption-version ID VERSION`",
                        ));
                    }
                }
            }
        }
        if !seen_magic {
            return Err(EnvelopeError::KeyringSyntax {
                line: 1,
                reason: "empty keyring: start with `palisade-keyring v1`".into(),
            });
        }
        if let Some((line, p)) = primary {
            ring.set_primary(&p)
                .map_err(|e| EnvelopeError::KeyringSyntax {
                    line,
                    reason: e.to_string(),
                })?;
        }
        for (line, m) in mins {
            ring.set_min_decryption_version(&m.kek, m.version)
                .map_err(|e| EnvelopeError::KeyringSyntax {
                    line,
                    reason: e.to_string(),
                })?;
        }
        Ok(ring)
    }

    /// Load a keyring text from a file (see [`LocalKeyring::from_text`]).
    ///
    /// # Errors
    /// [`EnvelopeError::Io`] or [`EnvelopeError::KeyringSyntax`].
    pub fn from_file(path: impl AsRef<std::path::Path>) -> Result<Self> {
        let text = Zeroizing::new(std::fs::read_to_string(path)?);
        Self::from_text(&text)
    }

    /// Load a keyring text from environment variable `var`, e.g.
    /// `PALISADE_KEYRING="palisade-keyring v1;kek main 1 …;primary main 1"`.
    ///
    /// # Errors
    /// [`EnvelopeError::KeyringEnv`] or [`EnvelopeError::KeyringSyntax`].
    pub fn from_env(var: &str) -> Result<Self> {
        let text = Zeroizing::new(std::env::var(var).map_err(|_| EnvelopeError::KeyringEnv {
            var: var.to_owned(),
        })?);
        Self::from_text(&text)
    }
}

impl State {
    fn check(&self, key_ref: &KeyRef) -> Result<&KeyMaterial> {
        let m = self
            .keks
            .get(&key_ref.kek)
            .and_then(|v| v.get(&key_ref.version))
            .ok_or_else(|| EnvelopeError::UnknownKek {
                kek: key_ref.kek.to_string(),
                version: key_ref.version,
            })?;
        let min = self.min_decryption.get(&key_ref.kek).copied().unwrap_or(1);
        if key_ref.version < min {
            return Err(EnvelopeError::KeyVersionRetired {
                kek: key_ref.kek.to_string(),
                version: key_ref.version,
                min,
            });
        }
        Ok(m)
    }
}

/// Context bound into a local wrap: `u8 len ‖ kek id ‖ u32be version ‖ scope bytes`.
fn wrap_context(key_ref: &KeyRef, scope: &Scope) -> ([u8; 1 + 64 + 4 + 34], usize) {
    let mut buf = [0u8; 1 + 64 + 4 + 34];
    let id = key_ref.kek.as_str().as_bytes();
    let sb = scope.to_context_bytes();
    let parts: [&[u8]; 4] = [
        &[u8::try_from(id.len()).unwrap_or(0)],
        id,
        &key_ref.version.to_be_bytes(),
        sb.as_slice(),
    ];
    let mut n = 0;
    for p in parts {
        if let Some(dst) = buf.get_mut(n..n + p.len()) {
            dst.copy_from_slice(p);
        }
        n += p.len();
    }
    (buf, n)
}

impl LocalKeyring {
    /// Wrap under the primary KEK with a caller-chosen nonce (tests and the
    /// documented worked example only: production wraps draw it at random).
    pub(crate) fn wrap_with_nonce(
        &self,
        key: &DataKey,
        scope: &Scope,
        nonce: &[u8; NONCE_LEN],
    ) -> Result<WrappedKey> {
        let st = self.read();
        let key_ref = st.primary.clone().ok_or(EnvelopeError::NoPrimaryKek)?;
        let material = st.check(&key_ref)?;
        let (ctx, n) = wrap_context(&key_ref, scope);
        let d = material.derive(LABEL_KEK, nonce, ctx.get(..n).unwrap_or_default());
        let mut out = Vec::with_capacity(LOCAL_WRAPPED_LEN);
        out.extend_from_slice(nonce);
        out.extend_from_slice(&d.commitment);
        out.extend_from_slice(key.expose_secret_bytes());
        let tag = Cipher::new(&d.key).seal(
            &crate::backend::segment_nonce(0, true),
            &[],
            out.get_mut(NONCE_LEN + COMMITMENT_LEN..)
                .unwrap_or_default(),
        )?;
        out.extend_from_slice(&tag);
        Ok(WrappedKey {
            key_ref,
            bytes: out,
        })
    }
}

impl KeyProvider for LocalKeyring {
    fn primary(&self) -> Result<KeyRef> {
        self.read()
            .primary
            .clone()
            .ok_or(EnvelopeError::NoPrimaryKek)
    }

    fn wrap(&self, key: &DataKey, scope: &Scope) -> Result<WrappedKey> {
        self.wrap_with_nonce(key, scope, &random_nonce()?)
    }

    fn unwrap(&self, key_ref: &KeyRef, wrapped: &[u8], scope: &Scope) -> Result<DataKey> {
        const FAIL: EnvelopeError = EnvelopeError::DecryptionFailed(DecryptFailure::Unwrap);
        let st = self.read();
        let material = st.check(key_ref)?;
        if wrapped.len() != LOCAL_WRAPPED_LEN {
            return Err(FAIL);
        }
        let (nonce, rest) = wrapped.split_at(NONCE_LEN);
        let (commitment, rest) = rest.split_at(COMMITMENT_LEN);
        let (ct, tag) = rest.split_at(KEY_LEN);
        let (Ok(nonce), Ok(commitment), Ok(tag)) = (
            <&[u8; NONCE_LEN]>::try_from(nonce),
            <&[u8; COMMITMENT_LEN]>::try_from(commitment),
            <&[u8; TAG_LEN]>::try_from(tag),
        ) else {
            return Err(FAIL);
        };
        let (ctx, n) = wrap_context(key_ref, scope);
        let d = material.derive(LABEL_KEK, nonce, ctx.get(..n).unwrap_or_default());
        if !d.commitment_matches(commitment) {
            return Err(FAIL);
        }
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        key.copy_from_slice(ct);
        Cipher::new(&d.key)
            .open(
                &crate::backend::segment_nonce(0, true),
                &[],
                key.as_mut_slice(),
                tag,
            )
            .map_err(|_| FAIL)?;
        Ok(DataKey::from_bytes(*key))
    }

    fn is_primary(&self, key_ref: &KeyRef) -> bool {
        self.read().primary.as_ref() == Some(key_ref)
    }

    fn check_decryptable(&self, key_ref: &KeyRef) -> Result<()> {
        self.read().check(key_ref).map(|_| ())
    }
}

impl fmt::Debug for LocalKeyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.read();
        let mut d = f.debug_struct("LocalKeyring");
        d.field("primary", &st.primary);
        for (id, versions) in &st.keks {
            d.field(id.as_str(), &versions.keys().collect::<Vec<_>>());
        }
        d.field("min_decryption", &st.min_decryption);
        d.finish_non_exhaustive()
    }
}
