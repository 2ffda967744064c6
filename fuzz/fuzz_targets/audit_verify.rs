#![no_main]
//! The offline verifier, the published-checkpoints reader, the canonical record decoder and the proof decoders
//! on arbitrary bytes: never panic; whatever decodes re-encodes to the same
//! bytes (the encodings are canonical).
use palisade_audit::{
    ConsistencyProof, InclusionProof, KeyId, Keyring, VerifyKey, VerifyOptions, decode_record,
    encode_record, verify_with,
};
use palisade_tenancy::TenantId;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let keys = Keyring::new()
        .with(
            KeyId::new("k1").unwrap(),
            VerifyKey::hmac(&[0x0b; 32]).unwrap(),
        )
        .unwrap();
    let tenant = TenantId::from_bytes([0x11; 16]);
    let strict = verify_with(data, &keys, &VerifyOptions::new(tenant));
    let lax = verify_with(
        data,
        &keys,
        &VerifyOptions {
            allow_unsigned_tail: true,
            trusted: Some((3, [0; 32])),
            ..VerifyOptions::new(tenant)
        },
    );
    assert!(strict.records <= data.len() as u64 && lax.records <= data.len() as u64);
    // The published-checkpoints reader, and verification against what it read.
    if let Ok(published) = palisade_audit::read_published(data) {
        let opts = VerifyOptions {
            published,
            ..VerifyOptions::new(tenant)
        };
        let _ = verify_with(data, &keys, &opts);
    }

    if let Ok((index, event)) = decode_record(data) {
        let mut again = Vec::new();
        encode_record(index, &event, &mut again);
        assert_eq!(again, data);
    }
    if let Ok(p) = InclusionProof::from_bytes(data) {
        assert_eq!(p.to_bytes(), data);
        let _ = p.verify(&[0; 32], &[0; 32]);
    }
    if let Ok(p) = ConsistencyProof::from_bytes(data) {
        assert_eq!(p.to_bytes(), data);
        let _ = p.verify(&[0; 32], &[0; 32]);
    }
});
