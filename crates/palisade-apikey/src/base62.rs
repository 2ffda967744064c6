//! Base62 digits (`0-9A-Za-z`): random characters and fixed-width `u32`
//! encoding for the checksum. Not cryptography: only an alphabet.

/// The alphabet, in digit order: `0-9`, then `A-Z`, then `a-z`.
pub(crate) const ALPHABET: &[u8; 62] =
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Width of an encoded CRC32 (62^6 > 2^32).
pub(crate) const U32_WIDTH: usize = 6;

/// Byte → digit value, or 0xff when the byte is not in the alphabet.
#[expect(
    clippy::indexing_slicing,
    reason = "evaluated at compile time: a bad index fails the build"
)]
const DECODE: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < 62 {
        t[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    t
};

/// The digit value of `b`, if it is a base62 character.
#[inline]
pub(crate) fn digit(b: u8) -> Option<u8> {
    let d = DECODE.get(usize::from(b)).copied().unwrap_or(0xff);
    (d != 0xff).then_some(d)
}

/// True when `b` is a base62 character.
#[inline]
pub(crate) fn is_digit(b: u8) -> bool {
    digit(b).is_some()
}

/// Encode `v` as exactly six base62 characters, most significant first.
pub(crate) fn encode_u32(v: u32) -> [u8; U32_WIDTH] {
    let mut out = [b'0'; U32_WIDTH];
    let mut n = v;
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET.get((n % 62) as usize).copied().unwrap_or(b'0');
        n /= 62;
    }
    out
}

/// Decode six base62 characters (most significant first) into a `u32`;
/// `None` on a non-base62 character or a value above `u32::MAX`.
pub(crate) fn decode_u32(s: &[u8]) -> Option<u32> {
    if s.len() != U32_WIDTH {
        return None;
    }
    let mut v: u64 = 0;
    for &b in s {
        v = v * 62 + u64::from(digit(b)?);
    }
    u32::try_from(v).ok()
}

/// Fill `out` with independent, uniformly random base62 characters from the
/// operating system's CSPRNG (rejection sampling: bytes ≥ 248 are dropped so
/// that `b % 62` is unbiased). Each character carries log2(62) ≈ 5.954 bits.
pub(crate) fn fill_random<'a>(
    out: impl IntoIterator<Item = &'a mut u8>,
) -> Result<(), getrandom::Error> {
    let mut pool = zeroize::Zeroizing::new([0u8; 96]);
    let mut used = pool.len();
    for slot in out {
        loop {
            if used == pool.len() {
                getrandom::fill(pool.as_mut_slice())?;
                used = 0;
            }
            let b = pool.get(used).copied().unwrap_or(255);
            used += 1;
            if b < 248 {
                *slot = ALPHABET.get(usize::from(b % 62)).copied().unwrap_or(b'0');
                break;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn u32_round_trips_at_the_edges() {
        for v in [0, 1, 61, 62, 0xdead_beef, u32::MAX] {
            assert_eq!(decode_u32(&encode_u32(v)), Some(v));
        }
        assert_eq!(&encode_u32(0), b"000000");
        assert_eq!(&encode_u32(u32::MAX), b"4gfFC3");
    }

    #[test]
    fn decode_rejects_overflow_and_bad_chars() {
        assert_eq!(decode_u32(b"4gfFC4"), None);
        assert_eq!(decode_u32(b"zzzzzz"), None);
        assert_eq!(decode_u32(b"00000_"), None);
        assert_eq!(decode_u32(b"00000"), None);
    }

    #[test]
    fn random_fill_uses_only_the_alphabet() {
        let mut buf = [0u8; 500];
        fill_random(buf.iter_mut()).unwrap();
        assert!(buf.iter().all(|&b| is_digit(b)));
        // 500 draws from 62 symbols: all the same would be a broken RNG.
        assert!(buf.iter().any(|&b| b != buf[0]));
    }
}
