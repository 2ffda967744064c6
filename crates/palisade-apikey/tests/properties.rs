//! Property tests of the issue's invariants.
#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test helpers outside #[test] fns: a failure is the test failing"
)]

use std::time::Duration;

use palisade_apikey::{
    ApiKeys, Cidr, KeyFormat, NewKey, Pepper, PepperSet, Rejection, VerifyContext,
};
use palisade_tenancy::{Scope, TenantId, Timestamp};
use proptest::prelude::*;

const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn service() -> ApiKeys {
    ApiKeys::in_memory(
        KeyFormat::default(),
        PepperSet::new([Pepper::generate(1).unwrap()]).unwrap(),
    )
}

fn t0() -> Timestamp {
    Timestamp::from_unix_seconds(1_800_000_000)
}

fn at(s: u64) -> Timestamp {
    t0().saturating_add(Duration::from_secs(s))
}

fn with_checksum(head: &str) -> String {
    let mut n = u64::from(crc32fast::hash(head.as_bytes()));
    let mut d = [b'0'; 6];
    for slot in d.iter_mut().rev() {
        *slot = ALPHABET[(n % 62) as usize];
        n /= 62;
    }
    format!("{head}{}", std::str::from_utf8(&d).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Issued keys verify exactly inside their window: never before
    /// not-before, never at/after expiry, revocation or the end of grace.
    #[test]
    fn verifies_exactly_in_window(
        nb in proptest::option::of(0u64..100),
        life in proptest::option::of(1u64..200),
        revoke in proptest::option::of(0u64..300),
        grace in proptest::option::of(0u64..300),
        probes in proptest::collection::vec(0u64..400, 1..12),
    ) {
        let keys = service();
        let mut req = NewKey::new(Scope::tenant(TenantId::new_v7()), "p");
        if let Some(nb) = nb { req = req.not_before(at(nb)); }
        let exp = life.map(|l| nb.unwrap_or(0) + l);
        if let Some(e) = exp { req = req.expires_at(at(e)); }
        let k = keys.issue(req, t0()).unwrap();
        let mut grace_end = None;
        if let Some(g) = grace
            && keys.rotate(k.key_id(), Duration::from_secs(g), t0()).is_ok()
        {
            grace_end = Some(g);
        }
        if let Some(r) = revoke { keys.revoke(k.key_id(), at(r)).unwrap(); }
        for t in probes {
            let model = nb.is_none_or(|nb| t >= nb)
                && exp.is_none_or(|e| t < e)
                && revoke.is_none_or(|r| t < r)
                && grace_end.is_none_or(|g| t < g);
            let got = keys.verify(k.expose_secret(), &VerifyContext::new(at(t)));
            prop_assert_eq!(got.is_ok(), model, "t={} got={:?}", t, got.err());
        }
    }

    /// Any single-character change is caught by the checksum or the hash.
    #[test]
    fn single_character_changes_never_verify(pos in 0usize..72, c in any::<char>()) {
        let keys = service();
        let k = keys.issue(NewKey::new(Scope::tenant(TenantId::new_v7()), "p"), t0()).unwrap();
        let orig: Vec<char> = k.expose_secret().chars().collect();
        prop_assume!(orig[pos] != c);
        let mut changed = orig.clone();
        changed[pos] = c;
        let s: String = changed.into_iter().collect();
        let r = keys.verify(&s, &VerifyContext::new(t0()));
        prop_assert!(matches!(r, Err(Rejection::Malformed(_))), "{:?}", r.map(|v| *v.key_id()));
        // Even with a recomputed checksum, the hash refuses it.
        if pos < 66 && c.is_ascii_alphanumeric() {
            let s = with_checksum(&s[..66]);
            let r = keys.verify(&s, &VerifyContext::new(t0()));
            prop_assert!(r.is_err());
        }
    }

    /// Scan finds every embedded key, at its exact range, and nothing else.
    #[test]
    fn scan_finds_every_embedded_key(
        chunks in proptest::collection::vec("[ -~\\n]{0,40}|pal_live_[0-9A-Za-z]{0,70}|pal_", 1..8),
        n_keys in 0usize..4,
    ) {
        let keys = service();
        let issued: Vec<_> = (0..n_keys)
            .map(|_| keys.issue(NewKey::new(Scope::tenant(TenantId::new_v7()), "s"), t0()).unwrap())
            .collect();
        let mut text = String::new();
        let mut expected = Vec::new();
        for (i, chunk) in chunks.iter().enumerate() {
            text.push_str(chunk);
            if let Some(k) = issued.get(i) {
                text.push(' ');
                expected.push((text.len()..text.len() + 72, *k.key_id()));
                text.push_str(k.expose_secret());
                text.push(' ');
            }
        }
        for k in issued.iter().skip(chunks.len()) {
            expected.push((text.len()..text.len() + 72, *k.key_id()));
            text.push_str(k.expose_secret());
            text.push('\n');
        }
        let found: Vec<_> = keys.format().scan(&text).into_iter().map(|f| (f.range, f.key_id)).collect();
        prop_assert_eq!(found, expected);
        let red = keys.format().redact(&text);
        prop_assert!(keys.format().scan(&red).is_empty());
        for k in &issued { prop_assert!(!red.contains(k.expose_secret())); }
    }

    /// Random text, including strings shaped like keys, yields no key.
    #[test]
    fn no_false_positive_in_random_text(
        text in "([ -~]{0,30}(pal_(live|test)_1[0-9A-Za-z]{62,64})?){1,6}",
    ) {
        prop_assert!(KeyFormat::default().scan(&text).is_empty());
    }

    /// Keys of different tenants never verify as one another: a record moved
    /// to another tenant refuses its key, and a verified key reports only
    /// its own tenant.
    #[test]
    fn tenants_never_cross(project_a in any::<bool>(), project_b in any::<bool>()) {
        let keys = service();
        let scope = |p: bool| {
            let t = TenantId::new_v7();
            if p { Scope::project(t, palisade_tenancy::ProjectId::new_v7()) } else { Scope::tenant(t) }
        };
        let (sa, sb) = (scope(project_a), scope(project_b));
        let a = keys.issue(NewKey::new(sa, "a"), t0()).unwrap();
        let b = keys.issue(NewKey::new(sb, "b"), t0()).unwrap();
        prop_assert_eq!(keys.verify(a.expose_secret(), &VerifyContext::new(t0())).unwrap().scope().to_owned(), sa);
        prop_assert_eq!(keys.verify(b.expose_secret(), &VerifyContext::new(t0())).unwrap().scope().to_owned(), sb);
        // A's key id with B's secret (checksum fixed up).
        let mixed = with_checksum(&format!("{}{}", &a.expose_secret()[..26], &b.expose_secret()[26..66]));
        prop_assert_eq!(keys.verify(&mixed, &VerifyContext::new(t0())).unwrap_err(), Rejection::WrongSecret);
        // A's record rewritten to belong to B's tenant: A's key no longer verifies.
        let mut moved = keys.store().get(a.key_id()).unwrap().snapshot();
        moved.scope = sb;
        keys.store().restore(moved).unwrap();
        prop_assert_eq!(keys.verify(a.expose_secret(), &VerifyContext::new(t0())).unwrap_err(), Rejection::WrongSecret);
    }

    /// Parsing arbitrary text never panics; what parses has the right length.
    #[test]
    fn parse_never_panics(s in "\\PC{0,90}|pal_(live|test)_\\PC{0,70}") {
        let f = KeyFormat::default();
        if f.parse(&s).is_ok() { prop_assert_eq!(s.len(), 72); }
    }

    /// CIDR matching agrees with a bit-by-bit model.
    #[test]
    fn cidr_matches_bit_model(net in any::<u128>(), ip in any::<u128>(), len in 0u8..=128, v4 in any::<bool>()) {
        let (bits, net, ip, len) = if v4 {
            (32u32, net & 0xffff_ffff, ip & 0xffff_ffff, len % 33)
        } else {
            (128, net, ip, len)
        };
        let bit = |x: u128, i: u32| (x >> (bits - 1 - i)) & 1;
        let masked = (0..bits).fold(0u128, |acc, i| (acc << 1) | if i < u32::from(len) { bit(net, i) } else { 0 });
        let model = (0..u32::from(len)).all(|i| bit(ip, i) == bit(net, i));
        let (na, ia): (std::net::IpAddr, std::net::IpAddr) = if v4 {
            (std::net::Ipv4Addr::from(masked as u32).into(), std::net::Ipv4Addr::from(ip as u32).into())
        } else {
            (std::net::Ipv6Addr::from(masked).into(), std::net::Ipv6Addr::from(ip).into())
        };
        prop_assume!(v4 || ia.to_canonical() == ia);
        let c = Cidr::new(na, len).unwrap();
        prop_assert_eq!(c.contains(ia), model);
        prop_assert_eq!(c.to_string().parse::<Cidr>().unwrap(), c);
    }
}
