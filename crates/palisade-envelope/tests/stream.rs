//! STREAM segments: round trips at every boundary; truncation, reordering,
//! duplication and appended data are detected; Read/Write adapters.

#[cfg(test)]
mod common;

use std::io::{Read, Write};

use common::{ctx, env, tenant};
use palisade_envelope::{EnvelopeError, Rewrap, TAG_LEN, key_ref};
use proptest::prelude::*;

#[cfg(test)]
fn seal_stream(
    pt: &[u8],
    seg: u32,
) -> (
    palisade_envelope::Envelope<palisade_envelope::LocalKeyring>,
    Vec<u8>,
) {
    let env = env();
    let c = ctx(tenant(1), "doc");
    let mut w = env.encrypt_writer(&c, Vec::new(), Some(seg)).unwrap();
    // Write in uneven pieces to exercise buffering.
    for piece in pt.chunks(7) {
        w.write_all(piece).unwrap();
    }
    (env.clone(), w.finish().unwrap())
}

#[cfg(test)]
fn open_stream(
    env: &palisade_envelope::Envelope<palisade_envelope::LocalKeyring>,
    ct: &[u8],
) -> std::io::Result<Vec<u8>> {
    let c = ctx(tenant(1), "doc");
    let mut r = env.decrypt_reader(&c, ct).map_err(std::io::Error::other)?;
    let mut out = Vec::new();
    r.read_to_end(&mut out)?;
    Ok(out)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn round_trip_around_every_segment_boundary(seg in 16u32..48, k in 0usize..4, delta in -1i64..=1) {
        let len = usize::try_from((i64::from(seg) * k as i64 + delta).max(0)).unwrap();
        let pt: Vec<u8> = (0..len).map(|i| i as u8).collect();
        let (env, ct) = seal_stream(&pt, seg);
        prop_assert_eq!(open_stream(&env, &ct).unwrap(), pt);
    }

    #[test]
    fn truncation_at_any_byte_fails(len in 0usize..200, cut in any::<prop::sample::Index>()) {
        let pt = vec![0x5a; len];
        let (env, ct) = seal_stream(&pt, 32);
        let at = cut.index(ct.len());
        prop_assert!(open_stream(&env, &ct[..at]).is_err(), "cut at {} of {}", at, ct.len());
    }

    #[test]
    fn appended_data_fails(len in 0usize..200, extra in proptest::collection::vec(any::<u8>(), 1..40)) {
        let pt = vec![1u8; len];
        let (env, mut ct) = seal_stream(&pt, 32);
        ct.extend_from_slice(&extra);
        prop_assert!(open_stream(&env, &ct).is_err());
    }

    #[test]
    fn any_flipped_bit_fails(len in 0usize..150, pos in any::<prop::sample::Index>(), bit in 0u8..8) {
        let (env, mut ct) = seal_stream(&vec![7u8; len], 32);
        let i = pos.index(ct.len());
        ct[i] ^= 1 << bit;
        prop_assert!(open_stream(&env, &ct).is_err());
    }
}

#[test]
#[cfg(test)]
fn reordered_and_duplicated_segments_fail() {
    let seg = 32usize;
    let pt: Vec<u8> = (0..(seg * 3 + 5)).map(|i| i as u8).collect();
    let (env, ct) = seal_stream(&pt, seg as u32);
    let h = ct.len() - (3 * (seg + TAG_LEN) + 5 + TAG_LEN);
    let s = |i: usize| &ct[h + i * (seg + TAG_LEN)..h + (i + 1) * (seg + TAG_LEN)];
    let tail = &ct[h + 3 * (seg + TAG_LEN)..];
    let build = |order: &[usize]| {
        let mut v = ct[..h].to_vec();
        for &i in order {
            v.extend_from_slice(s(i));
        }
        v.extend_from_slice(tail);
        v
    };
    assert_eq!(open_stream(&env, &build(&[0, 1, 2])).unwrap(), pt);
    for order in [&[1, 0, 2][..], &[0, 0, 1, 2], &[0, 1, 1, 2], &[0, 2]] {
        assert!(open_stream(&env, &build(order)).is_err(), "{order:?}");
    }
    // Dropping the final segment: the last full segment is not flagged final.
    assert!(open_stream(&env, &ct[..h + 3 * (seg + TAG_LEN)]).is_err());
}

#[test]
#[cfg(test)]
fn no_plaintext_before_authentication() {
    let seg = 64usize;
    let pt = vec![0x41u8; seg * 2];
    let (env, mut ct) = seal_stream(&pt, seg as u32);
    // Corrupt the first segment's tag: the very first read must fail, with
    // nothing returned.
    let h = ct.len() - (2 * (seg + TAG_LEN) + TAG_LEN);
    ct[h + seg] ^= 1;
    let c = ctx(tenant(1), "doc");
    let mut r = env.decrypt_reader(&c, &ct[..]).unwrap();
    let mut buf = [0u8; 8];
    assert!(r.read(&mut buf).is_err());
    assert_eq!(buf, [0u8; 8]);
    assert!(r.read(&mut buf).is_err(), "errors are final");
}

#[test]
#[cfg(test)]
fn chunk_api_and_rewrap_of_a_stream() {
    let env = env();
    let c = ctx(tenant(2), "big");
    let mut sealer = env.stream_sealer(&c, Some(16)).unwrap();
    let mut out = sealer.header().to_vec();
    for (i, chunk) in [b"0123456789abcdef", b"fedcba9876543210"]
        .iter()
        .enumerate()
    {
        let mut seg = chunk.to_vec();
        sealer.seal_segment(&mut seg, i == 1).unwrap();
        out.extend_from_slice(&seg);
    }
    assert!(matches!(
        sealer.seal_segment(&mut vec![], true),
        Err(EnvelopeError::StreamFinished)
    ));
    // Rewrap the whole stream's header after a rotation.
    env.provider()
        .rotate(
            &key_ref(&out).unwrap().kek,
            palisade_envelope::Kek::generate().unwrap(),
        )
        .unwrap();
    let Rewrap::Rewrapped(out) = env.rewrap(&c, &out).unwrap() else {
        panic!()
    };
    let (mut opener, hl) = env.stream_opener(&c, &out).unwrap();
    let mut body = out[hl..].to_vec();
    let (a, b) = body.split_at_mut(16 + TAG_LEN);
    assert_eq!(opener.open_segment(a, false).unwrap(), b"0123456789abcdef");
    assert_eq!(opener.open_segment(b, true).unwrap(), b"fedcba9876543210");
    assert!(opener.is_finished());
    // A stream given to `open`, or a single-shot ciphertext to the stream API: typed errors.
    assert!(matches!(
        env.open(&c, &out),
        Err(EnvelopeError::WrongMode { found: 2 })
    ));
    let single = env.seal(&c, b"x").unwrap();
    assert!(matches!(
        env.stream_opener(&c, &single),
        Err(EnvelopeError::WrongMode { found: 1 })
    ));
    assert!(matches!(
        env.stream_sealer(&c, Some(8)),
        Err(EnvelopeError::InvalidHeader { .. })
    ));
}

#[test]
#[cfg(test)]
fn dropped_writer_leaves_an_unopenable_stream() {
    let env = env();
    let c = ctx(tenant(1), "doc");
    let mut sink = Vec::new();
    {
        let mut w = env.encrypt_writer(&c, &mut sink, Some(16)).unwrap();
        w.write_all(&[1u8; 40]).unwrap();
    }
    assert!(open_stream(&env, &sink).is_err());
}
