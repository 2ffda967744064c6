//! The record MAC (record format version 2): HMAC-SHA256, under a key
//! derived from the pepper, of the SHA-256 digest of a canonical encoding
//! of every security-relevant field of a [`KeyRecord`] (hash-then-MAC).
//! Specified byte for byte in `docs/apikey-format.md` §10. The encoding is
//! streamed into the hash (no buffer, no allocation); a `KeyEntry` keeps
//! the digest of its immutable record, so each verification does only the
//! keyed step (one pre-keyed HMAC over 32 bytes).

use hmac::Mac;
use subtle::ConstantTimeEq;

use palisade_tenancy::Timestamp;

use crate::cidr::Cidr;
use crate::format::Env;
use crate::hash::KeyHash;
use crate::keyid::KeyId;
use crate::pepper::PepperSet;
use crate::record::{KeyRecord, RECORD_VERSION, RecordSeal};

/// Domain-separation label that opens the record MAC's input.
pub const RECORD_MAC_LABEL: &[u8; 30] = b"palisade-apikey/record-mac/v2\0";

/// The HKDF-Expand `info` (RFC 5869 §2.3) that derives the record-MAC key
/// from a pepper: `record_key = HMAC-SHA256(pepper, RECORD_KEY_INFO ‖ 0x01)`.
pub const RECORD_KEY_INFO: &[u8; 29] = b"palisade-apikey/record-key/v2";

/// Where the canonical encoding goes: an HMAC state (verify, seal) or a
/// byte vector (tests, the documented example).
pub(crate) trait Sink {
    fn put(&mut self, bytes: &[u8]);
}

impl Sink for hmac::Hmac<sha2::Sha256> {
    fn put(&mut self, bytes: &[u8]) {
        self.update(bytes);
    }
}

impl Sink for sha2::Sha256 {
    fn put(&mut self, bytes: &[u8]) {
        sha2::Digest::update(self, bytes);
    }
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

fn len32(out: &mut impl Sink, n: usize) {
    out.put(&u32::try_from(n).unwrap_or(u32::MAX).to_be_bytes());
}

fn bytes(out: &mut impl Sink, b: &[u8]) {
    len32(out, b.len());
    out.put(b);
}

fn opt<T>(out: &mut impl Sink, v: Option<&T>, f: impl FnOnce(&mut dyn SinkDyn, &T)) {
    match v {
        None => out.put(&[0]),
        Some(v) => {
            out.put(&[1]);
            f(&mut Dyn(out), v);
        }
    }
}

/// Object-safe view of a sink, for the `opt` helper's closures.
trait SinkDyn {
    fn put(&mut self, bytes: &[u8]);
}

struct Dyn<'a, S: Sink>(&'a mut S);

impl<S: Sink> SinkDyn for Dyn<'_, S> {
    fn put(&mut self, b: &[u8]) {
        self.0.put(b);
    }
}

fn ts(out: &mut dyn SinkDyn, t: &Timestamp) {
    out.put(&t.unix_millis().to_be_bytes());
}

fn opt_ts(out: &mut impl Sink, t: Option<&Timestamp>) {
    opt(out, t, ts);
}

fn opt_id(out: &mut impl Sink, id: Option<&KeyId>) {
    opt(out, id, |o, id| o.put(id.as_bytes()));
}

fn opt_u64(out: &mut impl Sink, n: Option<&u64>) {
    opt(out, n, |o, n| o.put(&n.to_be_bytes()));
}

fn cidr(out: &mut impl Sink, c: &Cidr) {
    match c.addr() {
        std::net::IpAddr::V4(a) => {
            out.put(&[4]);
            out.put(&a.octets());
        }
        std::net::IpAddr::V6(a) => {
            out.put(&[6]);
            out.put(&a.octets());
        }
    }
    out.put(&[c.prefix_len()]);
}

fn hash(out: &mut impl Sink, h: &KeyHash) {
    match h {
        KeyHash::HmacSha256 {
            pepper_version,
            mac,
        } => {
            out.put(&[1]);
            out.put(&pepper_version.to_be_bytes());
            out.put(mac);
        }
        KeyHash::Argon2id { phc } => {
            out.put(&[2]);
            bytes(out, phc.as_bytes());
        }
        KeyHash::Sha256Import { digest } => {
            out.put(&[3]);
            out.put(digest);
        }
        KeyHash::Argon2idImport { phc } => {
            out.put(&[4]);
            bytes(out, phc.as_bytes());
        }
    }
}

/// Write the canonical encoding of `r` as sealed under pepper
/// `pepper_version`. Fields in this order (§10 of the format doc): label,
/// seal pepper version, record version, key id, scope, env, owner, scopes,
/// created_at, not_before, expires_at, revoked_at, allowed_ips,
/// remaining_uses_cap, refill, hash, rotated_from, rotated_to, grace_until,
/// generation. Not covered: `name` (a display label), the live counters
/// `remaining_uses` and `last_used`, and the seal itself.
pub(crate) fn encode(out: &mut impl Sink, r: &KeyRecord, pepper_version: u32) {
    out.put(RECORD_MAC_LABEL);
    out.put(&pepper_version.to_be_bytes());
    out.put(&[r.version]);
    out.put(r.key_id.as_bytes());
    let scope = r.scope.to_context_bytes();
    out.put(&[u8::try_from(scope.as_slice().len()).unwrap_or(u8::MAX)]);
    out.put(scope.as_slice());
    out.put(&[match r.env {
        Env::Live => 0,
        Env::Test => 1,
    }]);
    match &r.owner {
        None => out.put(&[0]),
        Some(p) => {
            out.put(&[1]);
            let kind = p.kind().as_str();
            len32(out, kind.len() + 1 + p.id().len());
            out.put(kind.as_bytes());
            out.put(b":");
            out.put(p.id().as_bytes());
        }
    }
    len32(out, r.scopes.len());
    for s in &r.scopes {
        bytes(out, s.as_bytes());
    }
    out.put(&r.created_at.unix_millis().to_be_bytes());
    opt_ts(out, r.not_before.as_ref());
    opt_ts(out, r.expires_at.as_ref());
    opt_ts(out, r.revoked_at.as_ref());
    len32(out, r.allowed_ips.len());
    for c in &r.allowed_ips {
        cidr(out, c);
    }
    opt_u64(out, r.remaining_uses_cap.as_ref());
    opt(out, r.refill.as_ref(), |o, f| {
        o.put(&f.amount.to_be_bytes());
        o.put(&f.interval_secs.to_be_bytes());
    });
    hash(out, &r.hash);
    opt_id(out, r.rotated_from.as_ref());
    opt_id(out, r.rotated_to.as_ref());
    opt_ts(out, r.grace_until.as_ref());
    out.put(&r.generation.to_be_bytes());
}

/// `SHA-256(E)`: the digest of `r`'s canonical encoding as sealed under
/// pepper `version` (unkeyed, so a [`crate::KeyEntry`] computes it once when
/// it is built; the record inside an entry is immutable).
pub(crate) fn digest(r: &KeyRecord, version: u32) -> [u8; 32] {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    encode(&mut h, r, version);
    h.finalize().into()
}

/// The keyed step, done on every verification:
/// `HMAC-SHA256(record_key[version], digest)`.
pub(crate) fn mac_over(peppers: &PepperSet, version: u32, digest: &[u8; 32]) -> Option<[u8; 32]> {
    let mut mac = peppers.record_mac(version)?;
    #[cfg(test)]
    crate::hash::work::count(crate::hash::work::RECORD_MAC);
    mac.update(digest);
    Some(mac.finalize().into_bytes().into())
}

/// The record MAC of `r` under pepper `version`'s record key:
/// `HMAC-SHA256(record_key[version], SHA-256(E))`.
pub(crate) fn mac_of(peppers: &PepperSet, version: u32, r: &KeyRecord) -> Option<[u8; 32]> {
    mac_over(peppers, version, &digest(r, version))
}

/// Set `r`'s version to [`RECORD_VERSION`] and seal it under the current
/// pepper.
pub(crate) fn seal(peppers: &PepperSet, r: &mut KeyRecord) {
    r.version = RECORD_VERSION;
    let version = peppers.current_version();
    // The current version is always configured, so the MAC always exists.
    r.seal = mac_of(peppers, version, r).map(|mac| RecordSeal {
        pepper_version: version,
        mac,
    });
}

/// Outcome of checking a record's seal.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum SealCheck {
    /// The MAC verifies.
    Authentic,
    /// The MAC does not verify, or its pepper is not configured, or a
    /// version 2 record has no seal.
    Tampered,
    /// A version 1 record (no seal).
    Legacy,
}

/// Check `r`'s seal. Every outcome costs one keyed record MAC (a decoy one
/// for an unsealed record or a missing pepper), so the refusals take the
/// time of a check.
pub(crate) fn check(peppers: &PepperSet, r: &KeyRecord) -> SealCheck {
    let d = r.seal.map(|s| digest(r, s.pepper_version));
    check_digest(peppers, r, d.as_ref())
}

/// [`check`] with the record's digest already computed (`None` exactly
/// when the record has no seal): what verification does with the digest a
/// [`crate::KeyEntry`] holds.
pub(crate) fn check_digest(
    peppers: &PepperSet,
    r: &KeyRecord,
    digest: Option<&[u8; 32]>,
) -> SealCheck {
    let (Some(seal), Some(digest)) = (r.seal, digest) else {
        decoy(peppers);
        return if r.version == crate::record::RECORD_VERSION_V1 {
            SealCheck::Legacy
        } else {
            SealCheck::Tampered
        };
    };
    match mac_over(peppers, seal.pepper_version, digest) {
        Some(m) if bool::from(m.ct_eq(&seal.mac)) => SealCheck::Authentic,
        Some(_) => SealCheck::Tampered,
        None => {
            decoy(peppers);
            SealCheck::Tampered
        }
    }
}

/// The keyed step over a dummy digest: exactly the per-verify cost of a
/// record check, whatever the record's size.
pub(crate) fn decoy(peppers: &PepperSet) {
    core::hint::black_box(mac_over(peppers, peppers.current_version(), &[0; 32]));
}
