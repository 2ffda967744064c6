//! Namespaces: charset/length rules, injectivity, opaque names.

use palisade_tenancy::{Namespace, NamespaceKey, ProjectId, Scope, TenancyError, TenantId};
use proptest::prelude::*;

fn valid_store_name(s: &str) -> bool {
    (3..=63).contains(&s.len())
        && s.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && !s.ends_with('_')
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

#[test]
fn known_answers() {
    let t =
        TenantId::from_uuid(uuid::Uuid::parse_str("01889c89-df6b-7f1c-a388-91396ec314bc").unwrap());
    let p = ProjectId::from_bytes([0; 16]);
    assert_eq!(
        Namespace::transparent(&Scope::tenant(t), "vec")
            .unwrap()
            .as_str(),
        "vec_01h2e8kqvbfwea724h75qc655w"
    );
    let ns = Namespace::transparent(&Scope::project(t, p), "cache9").unwrap();
    assert_eq!(
        ns.as_str(),
        "cache9_01h2e8kqvbfwea724h75qc655w_00000000000000000000000000"
    );
    assert_eq!(ns.purpose(), "cache9");
    assert!(!ns.is_opaque());
    // Opaque: HMAC-SHA256(key = 32 x 0x07, "palisade.namespace.v1" || 0x03 || "vec" || scope bytes),
    // first 20 bytes in base32. Pinned so a change of construction is noticed.
    let key = NamespaceKey::from_bytes([7; 32]);
    let opaque = Namespace::opaque(&Scope::tenant(t), "vec", &key).unwrap();
    // Computed independently (Python hmac + Crockford base32); see docs/tenancy.md.
    assert_eq!(opaque.as_str(), "vec_d2pjpzn1werb10kfq1kjssxyn79tqyrg");
    assert!(opaque.is_opaque());
    assert_eq!(
        opaque,
        Namespace::opaque(&Scope::tenant(t), "vec", &key).unwrap()
    );
    assert_ne!(
        opaque,
        Namespace::opaque(&Scope::tenant(t), "vec", &NamespaceKey::from_bytes([8; 32])).unwrap()
    );
    assert!(!format!("{key:?}").contains('7'));
}

#[test]
fn purpose_rules() {
    let s = Scope::tenant(TenantId::from_bytes([1; 16]));
    for bad in ["", "Vec", "9vec", "v_c", "vec-x", "abcdefghij", "vé"] {
        assert!(
            matches!(
                Namespace::transparent(&s, bad),
                Err(TenancyError::Namespace { .. })
            ),
            "{bad}"
        );
    }
    assert!(Namespace::transparent(&s, "abcdefghi").is_ok());
}

#[test]
fn parse_back() {
    let s = Scope::project(
        TenantId::from_bytes([1; 16]),
        ProjectId::from_bytes([2; 16]),
    );
    let ns = Namespace::transparent(&s, "obj").unwrap();
    let parsed: Namespace = ns.as_str().parse().unwrap();
    assert_eq!(parsed, ns);
    assert_eq!(parsed.scope(), Some(s));
    let opaque = Namespace::opaque(&s, "obj", &NamespaceKey::from_bytes([1; 32])).unwrap();
    assert_eq!(opaque.as_str().parse::<Namespace>().unwrap(), opaque);
    for bad in [
        "obj",
        "obj_",
        "obj_short",
        "obj_80000000000000000000000000",
        "OBJ_00000000000000000000000000",
        "obj_00000000000000000000000000_",
    ] {
        assert!(bad.parse::<Namespace>().is_err(), "{bad}");
    }
}

fn scope_strategy() -> impl Strategy<Value = Scope> {
    (0u8..3, proptest::option::of(0u8..3)).prop_map(|(t, p)| match p {
        None => Scope::tenant(TenantId::from_bytes([t; 16])),
        Some(p) => Scope::project(
            TenantId::from_bytes([t; 16]),
            ProjectId::from_bytes([p; 16]),
        ),
    })
}

proptest! {
    #[test]
    fn names_are_valid_and_injective(a in scope_strategy(), b in scope_strategy(), pa in "[a-z][a-z0-9]{0,8}", pb in "[a-z][a-z0-9]{0,8}") {
        let key = NamespaceKey::from_bytes([42; 32]);
        let ta = Namespace::transparent(&a, &pa).unwrap();
        let tb = Namespace::transparent(&b, &pb).unwrap();
        let oa = Namespace::opaque(&a, &pa, &key).unwrap();
        let ob = Namespace::opaque(&b, &pb, &key).unwrap();
        for n in [&ta, &tb, &oa, &ob] {
            prop_assert!(valid_store_name(n.as_str()), "{}", n);
        }
        let same = a == b && pa == pb;
        prop_assert_eq!(same, ta == tb);
        prop_assert_eq!(same, oa == ob);
        prop_assert_ne!(ta.as_str(), ob.as_str());
        prop_assert_eq!(ta.scope(), Some(a));
    }
}
