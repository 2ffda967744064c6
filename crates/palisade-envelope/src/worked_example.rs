//! The worked example of `docs/envelope-format.md`, byte for byte. It needs
//! fixed nonces, which only crate-internal code can inject.

use hkdf::Hkdf;
use palisade_tenancy::{Scope, TenantId};
use sha2::Sha256;

use crate::cache::SealMaterial;
use crate::derive::{KeyMaterial, LABEL_KEK, LABEL_MSG, PRK_SALT};
use crate::envelope::material_from;
use crate::{DataKey, EncryptionContext, Envelope, Kek, KeyProvider, LocalKeyring, single};

fn seq<const N: usize>(start: u8) -> [u8; N] {
    core::array::from_fn(|i| start + i as u8)
}

pub(crate) const EXPECTED_HEX: &str = include_str!("../tests/data/worked_example.hex");

pub(crate) fn example_inputs() -> (LocalKeyring, EncryptionContext) {
    let ring = LocalKeyring::with_primary("example-kek", Kek::from_bytes(seq(0x00))).unwrap();
    let tenant = TenantId::from_bytes(seq(0xa0));
    let ctx = EncryptionContext::new(Scope::tenant(tenant))
        .with("table", "provider_keys")
        .unwrap()
        .with("record", "42")
        .unwrap();
    (ring, ctx)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn doc_shows_the_same_bytes() {
    let doc = include_str!("../../../docs/envelope-format.md");
    let start = doc.find("<!-- BEGIN WORKED EXAMPLE OUTPUT -->").unwrap();
    let end = doc.find("<!-- END WORKED EXAMPLE OUTPUT -->").unwrap();
    let block: String = doc[start..end]
        .lines()
        .filter(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_hexdigit()))
        .collect();
    assert_eq!(block, EXPECTED_HEX.trim());
    // The intermediate values quoted in the doc too.
    for v in [
        "bbe05d43fadb21051b6769a3a42901a726abf76ca113a5e1b1efa4a57c39826f",
        "9b9e4fd4785417eac50e337aee4ac5e5dae5660d5d545e948ec4a8c0093251d1",
        "208574fa053b967335d43f53b2253e2829d35ecc325e11df5e4bc39b85e25797",
    ] {
        assert!(doc.contains(v), "{v}");
    }
}

#[test]
fn worked_example_matches_the_doc() {
    let (ring, ctx) = example_inputs();
    let dk = DataKey::from_bytes(seq(0x20));
    let wrapped = ring.wrap_with_nonce(&dk, ctx.scope(), &seq(0x40)).unwrap();
    let material: SealMaterial = material_from(&dk, &wrapped).unwrap();
    let mut out = Vec::new();
    single::seal_to(
        &material,
        &ctx,
        b"sk-test-0123456789",
        Some(&seq(0x60)),
        &mut out,
    )
    .unwrap();

    // Intermediate values quoted in the doc.
    let (kek_prk, _) = Hkdf::<Sha256>::extract(Some(PRK_SALT), &seq::<32>(0x00));
    let (dk_prk, _) = Hkdf::<Sha256>::extract(Some(PRK_SALT), &seq::<32>(0x20));
    let mut wctx = vec![11u8];
    wctx.extend_from_slice(b"example-kek");
    wctx.extend_from_slice(&1u32.to_be_bytes());
    wctx.extend_from_slice(ctx.scope().to_context_bytes().as_slice());
    let wd = KeyMaterial::new(&seq(0x00)).derive(LABEL_KEK, &seq(0x40), &wctx);
    let md = KeyMaterial::new(&seq(0x20)).derive(LABEL_MSG, &seq(0x60), ctx.canonical_bytes());
    println!("context      {}", hex(ctx.canonical_bytes()));
    println!("kek prk      {}", hex(&kek_prk));
    println!("wrap context {}", hex(&wctx));
    println!("wrap key     {}", hex(&*wd.key));
    println!("wrap commit  {}", hex(&wd.commitment));
    println!("wrapped      {}", hex(&wrapped.bytes));
    println!("dk prk       {}", hex(&dk_prk));
    println!("msg key      {}", hex(&*md.key));
    println!("msg commit   {}", hex(&md.commitment));
    println!("ciphertext   {}", hex(&out));
    assert_eq!(hex(&out), EXPECTED_HEX.trim());

    // And the public API opens the doc's bytes.
    let env = Envelope::new(ring);
    assert_eq!(&env.open(&ctx, &out).unwrap()[..], b"sk-test-0123456789");
    assert_eq!(env.provider().primary().unwrap().version, 1);
}
