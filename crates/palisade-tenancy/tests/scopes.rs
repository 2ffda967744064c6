//! Scopes, Scoped<T> and their invariants.

use palisade_tenancy::{
    ProjectId, Scope, Scoped, TenancyError, TenantId, filter_visible, filter_visible_ref,
};
use proptest::prelude::*;

fn scope_strategy() -> impl Strategy<Value = Scope> {
    // Small id spaces so that equal tenants and projects occur often.
    (0u8..4, proptest::option::of(0u8..4)).prop_map(|(t, p)| {
        let tenant = TenantId::from_bytes([t; 16]);
        match p {
            None => Scope::tenant(tenant),
            Some(p) => Scope::project(tenant, ProjectId::from_bytes([p; 16])),
        }
    })
}

fn any_scope() -> impl Strategy<Value = Scope> {
    (any::<[u8; 16]>(), proptest::option::of(any::<[u8; 16]>())).prop_map(|(t, p)| match p {
        None => Scope::tenant(TenantId::from_bytes(t)),
        Some(p) => Scope::project(TenantId::from_bytes(t), ProjectId::from_bytes(p)),
    })
}

#[test]
fn context_bytes_known_answer() {
    let t = TenantId::from_bytes([0x11; 16]);
    let p = ProjectId::from_bytes([0x22; 16]);
    let tb = Scope::tenant(t).to_context_bytes();
    assert_eq!(format!("{tb:?}"), format!("0154{}", "11".repeat(16)));
    let pb = Scope::project(t, p).to_context_bytes();
    assert_eq!(
        format!("{pb:?}"),
        format!("0150{}{}", "11".repeat(16), "22".repeat(16))
    );
}

#[test]
fn context_bytes_reject_malformed() {
    let good = Scope::tenant(TenantId::from_bytes([3; 16])).to_context_bytes();
    let mut bytes = good.as_slice().to_vec();
    assert!(Scope::from_context_bytes(&bytes).is_ok());
    bytes[0] = 2;
    assert!(matches!(
        Scope::from_context_bytes(&bytes),
        Err(TenancyError::ScopeSyntax { .. })
    ));
    bytes[0] = 1;
    bytes[1] = b'P';
    assert!(Scope::from_context_bytes(&bytes).is_err());
    assert!(Scope::from_context_bytes(&[]).is_err());
    let mut long = good.as_slice().to_vec();
    long.push(0);
    assert!(Scope::from_context_bytes(&long).is_err());
}

#[test]
fn scope_text_and_serde() {
    let s = Scope::project(
        TenantId::from_bytes([1; 16]),
        ProjectId::from_bytes([2; 16]),
    );
    let text = s.to_string();
    assert!(text.starts_with("ten_") && text.contains("/prj_"));
    assert_eq!(text.parse::<Scope>().unwrap(), s);
    assert_eq!(
        serde_json::from_str::<Scope>(&serde_json::to_string(&s).unwrap()).unwrap(),
        s
    );
    for bad in [
        "",
        "ten_x",
        "prj_00000000000000000000000000",
        "ten_00000000000000000000000000/",
        "ten_00000000000000000000000000/ten_00000000000000000000000000",
    ] {
        assert!(
            matches!(bad.parse::<Scope>(), Err(TenancyError::ScopeSyntax { .. })),
            "{bad}"
        );
    }
}

#[test]
fn narrow_and_widen() {
    let t = TenantId::from_bytes([1; 16]);
    let p = ProjectId::from_bytes([2; 16]);
    let q = ProjectId::from_bytes([3; 16]);
    let whole = Scope::tenant(t);
    assert_eq!(whole.narrow(p), Some(Scope::project(t, p)));
    assert_eq!(Scope::project(t, p).narrow(p), Some(Scope::project(t, p)));
    assert_eq!(Scope::project(t, p).narrow(q), None);
    assert_eq!(Scope::project(t, p).widen_to_tenant(), whole);
    assert!(whole.is_tenant_wide());
}

#[test]
fn cross_tenant_error_names_both_scopes_and_no_content() {
    let a = Scope::tenant(TenantId::from_bytes([1; 16]));
    let b = Scope::tenant(TenantId::from_bytes([2; 16]));
    let mut v = Scoped::new(a, String::from("secret-ish body"));
    let err = v.get(&b).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains(&a.to_string()) && msg.contains(&b.to_string()),
        "{msg}"
    );
    assert!(!msg.contains("secret-ish"));
    assert!(v.get_mut(&b).is_err());
    v.get_mut(&a).unwrap().push('!');
    let (back, err) = v.clone().into_inner(&b).unwrap_err();
    assert!(matches!(err, TenancyError::CrossTenant { .. }));
    assert_eq!(back, v);
    assert_eq!(v.into_inner(&a).unwrap(), "secret-ish body!");
}

#[test]
fn debug_redacts_unless_asked() {
    let a = Scope::tenant(TenantId::from_bytes([1; 16]));
    let v = Scoped::new(a, "hunter2");
    assert!(!format!("{v:?}").contains("hunter2"));
    assert!(format!("{:?}", v.debug_unredacted()).contains("hunter2"));
    assert_eq!(v.clone().map(str::len).get(&a).unwrap(), &7);
    assert_eq!(**v.as_ref().get(&a).unwrap(), "hunter2");
}

#[test]
fn project_values_are_invisible_to_sibling_projects_and_to_the_tenant_wide_scope() {
    let t = TenantId::from_bytes([1; 16]);
    let p = Scope::project(t, ProjectId::from_bytes([2; 16]));
    let q = Scope::project(t, ProjectId::from_bytes([3; 16]));
    let v = Scoped::new(p, 1);
    assert!(v.get(&p).is_ok());
    assert!(v.get(&q).is_err());
    assert!(v.get(&Scope::tenant(t)).is_err());
    // A tenant-wide value is visible from each project.
    assert!(Scoped::new(Scope::tenant(t), 1).get(&q).is_ok());
}

proptest! {
    #[test]
    fn distinct_scopes_give_distinct_bytes(a in any_scope(), b in any_scope()) {
        let (ab, bb) = (a.to_context_bytes(), b.to_context_bytes());
        prop_assert_eq!(a == b, ab.as_slice() == bb.as_slice());
        prop_assert_eq!(Scope::from_context_bytes(ab.as_slice()).unwrap(), a);
        // No encoding is a proper prefix of another (safe to concatenate).
        if a != b {
            prop_assert!(!bb.as_slice().starts_with(ab.as_slice()));
        }
    }

    #[test]
    fn small_space_injectivity(a in scope_strategy(), b in scope_strategy()) {
        prop_assert_eq!(a == b, a.to_context_bytes() == b.to_context_bytes());
        prop_assert_eq!(a == b, a.to_string() == b.to_string());
    }

    #[test]
    fn containment_laws(a in scope_strategy(), b in scope_strategy(), c in scope_strategy()) {
        prop_assert!(a.contains(&a));
        if a.contains(&b) && b.contains(&a) { prop_assert_eq!(a, b); }
        if a.contains(&b) && b.contains(&c) { prop_assert!(a.contains(&c)); }
        prop_assert_eq!(a.contains(&b), b.is_within(&a));
        if a.tenant_id() != b.tenant_id() { prop_assert!(!a.contains(&b)); }
    }

    #[test]
    fn scoped_opens_only_within_owner(owner in scope_strategy(), accessor in scope_strategy(), x in any::<u32>()) {
        let v = Scoped::new(owner, x);
        prop_assert_eq!(v.get(&accessor).is_ok(), owner.contains(&accessor));
        if owner.tenant_id() != accessor.tenant_id() {
            let is_cross_tenant = matches!(v.get(&accessor), Err(TenancyError::CrossTenant { .. }));
            prop_assert!(is_cross_tenant);
        }
    }

    #[test]
    fn filter_keeps_exactly_the_visible(items in proptest::collection::vec((scope_strategy(), any::<u16>()), 0..40), accessor in scope_strategy()) {
        let scoped: Vec<Scoped<u16>> = items.iter().map(|(s, v)| Scoped::new(*s, *v)).collect();
        let expected: Vec<u16> = items.iter().filter(|(s, _)| s.contains(&accessor)).map(|(_, v)| *v).collect();
        let by_ref: Vec<u16> = filter_visible_ref(&scoped, &accessor).copied().collect();
        let owned: Vec<u16> = filter_visible(scoped, &accessor).collect();
        prop_assert_eq!(&owned, &expected);
        prop_assert_eq!(&by_ref, &expected);
    }
}
