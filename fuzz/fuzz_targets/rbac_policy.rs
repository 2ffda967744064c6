#![no_main]
//! The policy parsers (TOML and JSON) and the compiler, on arbitrary bytes:
//! they return errors, never panic. When a document compiles, a few checks
//! and explanations run against it too.

use palisade_rbac::{PolicyDocument, Request, Subject, compile};
use palisade_tenancy::{Principal, Scope, Timestamp};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let now = Timestamp::from_unix_seconds(1_790_000_000);
    for doc in [
        PolicyDocument::from_toml(text),
        PolicyDocument::from_json(text),
    ]
    .into_iter()
    .flatten()
    {
        let Ok(policy) = compile(&doc, now) else {
            continue;
        };
        let _ = policy.scope_mask(&doc.permissions);
        for b in doc.bindings.iter().take(8) {
            exercise(&policy, &b.principal, b.scope, now);
            exercise(&policy, &b.principal, b.scope.widen_to_tenant(), now);
        }
        if let Ok(nobody) = "user:nobody".parse::<Principal>()
            && let Ok(scope) = "ten_01jd8x5gq0f6r9t2m4b7c3w8ye".parse::<Scope>()
        {
            exercise(&policy, &nobody, scope, now);
        }
    }
});

fn exercise(policy: &palisade_rbac::CompiledPolicy, p: &Principal, scope: Scope, now: Timestamp) {
    let names: Vec<String> = policy
        .permission_names()
        .take(16)
        .map(str::to_owned)
        .collect();
    for n in &names {
        if let Some(id) = policy.permission(n) {
            let req = Request::new(p, scope, id, now);
            let d = policy.check(&req);
            assert_eq!(policy.explain(&req).decision, d);
        }
    }
    let _ = policy.permissions_of_subject(&Subject::new(p, scope, now));
}
