//! Regression tests for issue 10's envelope findings that need the crate's
//! internals (E6: a crafted second encoding of a plaintext).

use crate::format::MIN_SEGMENT_SIZE;
use crate::{
    DecryptFailure, EncryptionContext, Envelope, EnvelopeError, Kek, LocalKeyring, TAG_LEN,
};
use palisade_tenancy::{Scope, TenantId};

/// Issue 10 E6: the spec allows an empty final segment only for an empty
/// plaintext. The chunk API used to write, and the reader to accept, an
/// empty final segment after full ones (a second encoding of the same
/// plaintext).
#[test]
fn empty_final_segment_after_full_ones_is_refused_by_writer_and_reader() {
    let env = Envelope::new(LocalKeyring::with_primary("m", Kek::generate().unwrap()).unwrap());
    let c = EncryptionContext::new(Scope::tenant(TenantId::from_bytes([3; 16])));
    let s = usize::try_from(MIN_SEGMENT_SIZE).unwrap();
    // The chunk API refuses to write it.
    let mut sealer = env.stream_sealer(&c, Some(MIN_SEGMENT_SIZE)).unwrap();
    let mut full = vec![7u8; s];
    sealer.seal_segment(&mut full, false).unwrap();
    assert!(matches!(
        sealer.seal_segment(&mut Vec::new(), true),
        Err(EnvelopeError::InvalidHeader { .. })
    ));
    // Crafted anyway: the opener and the reader refuse it.
    let mut crafted = sealer.header().to_vec();
    crafted.extend_from_slice(&full);
    let mut empty = Vec::new();
    sealer.seal_unchecked(&mut empty, true).unwrap();
    crafted.extend_from_slice(&empty);
    let (mut opener, hl) = env.stream_opener(&c, &crafted).unwrap();
    let mut body = crafted.get(hl..).unwrap().to_vec();
    let (a, b) = body.split_at_mut(s + TAG_LEN);
    assert_eq!(opener.open_segment(a, false).unwrap(), &[7u8; 16][..]);
    assert_eq!(
        opener.open_segment(b, true).unwrap_err().failure_detail(),
        Some(DecryptFailure::Truncated)
    );
    let mut r = env.decrypt_reader(&c, crafted.as_slice()).unwrap();
    let mut out = Vec::new();
    assert!(std::io::Read::read_to_end(&mut r, &mut out).is_err());
    // The one encoding of 16 bytes (one full, final segment) opens; so does
    // the empty plaintext's single empty segment.
    for pt in [vec![7u8; s], Vec::new()] {
        let mut sealer = env.stream_sealer(&c, Some(MIN_SEGMENT_SIZE)).unwrap();
        let mut ct = sealer.header().to_vec();
        let mut seg = pt.clone();
        sealer.seal_segment(&mut seg, true).unwrap();
        ct.extend_from_slice(&seg);
        let mut r = env.decrypt_reader(&c, ct.as_slice()).unwrap();
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut r, &mut out).unwrap();
        assert_eq!(out, pt);
    }
}
