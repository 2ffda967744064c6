//! Store and read back a tenant's provider API key with palisade-envelope,
//! rotate the key-encryption key, rewrap the stored ciphertext, retire the
//! old version, and show that the ciphertext copied into another tenant's row
//! does not open.
//!
//! Run: `cargo run --example encrypt_provider_keys`

use palisade_envelope::{Envelope, EnvelopeError, Kek, KekId, LocalKeyring, Rewrap, key_ref};
use palisade_tenancy::{Scope, TenantId};
use secrecy::{ExposeSecret, SecretString};

fn main() -> Result<(), EnvelopeError> {
    // A keyring as it would come from a file or `PALISADE_KEYRING`
    // (see docs/envelope-format.md); here one fresh KEK, version 1.
    let keyring_text = format!(
        "palisade-keyring v1\nkek provider-keys 1 {}\nprimary provider-keys 1\n",
        &*Kek::generate()?.to_hex()
    );
    let envelope = Envelope::new(LocalKeyring::from_text(&keyring_text)?);

    // Each request handler gets a tenant-bound handle.
    let acme = envelope.for_scope(Scope::tenant(TenantId::new_v7()));
    let ctx = acme
        .context()
        .with("table", "provider_keys")?
        .with("column", "api_key")?
        .with("record", "openai")?;

    // Store.
    let stored = acme.seal_secret(&ctx, &SecretString::from("sk-proj-EXAMPLE-not-a-real-key"))?;
    println!("stored {} bytes under {}", stored.len(), key_ref(&stored)?);

    // Read back.
    let key = acme.open_secret(&ctx, &stored)?;
    println!(
        "read back: {}…",
        key.expose_secret().get(..8).unwrap_or_default()
    );

    // Rotate the KEK: new writes use version 2; version 1 still reads.
    let id = KekId::new("provider-keys")?;
    let v2 = envelope.provider().rotate(&id, Kek::generate()?)?;
    println!("rotated to {v2}");

    // Rewrap: only the header's wrapped data key changes.
    let stored = match acme.rewrap(&ctx, &stored)? {
        Rewrap::Rewrapped(bytes) => bytes,
        Rewrap::AlreadyPrimary => stored,
    };
    println!("rewrapped, now under {}", key_ref(&stored)?);

    // Retire version 1: anything not rewrapped would now fail loudly.
    envelope.provider().set_min_decryption_version(&id, 2)?;
    assert_eq!(
        acme.open_secret(&ctx, &stored)?.expose_secret(),
        "sk-proj-EXAMPLE-not-a-real-key"
    );
    println!("still opens after retiring v1");

    // The same bytes copied into another tenant's row do not open.
    let globex = envelope.for_scope(Scope::tenant(TenantId::new_v7()));
    let globex_ctx = globex
        .context()
        .with("table", "provider_keys")?
        .with("column", "api_key")?
        .with("record", "openai")?;
    match globex.open_secret(&globex_ctx, &stored) {
        Err(e) => println!("moved to another tenant: {e}"),
        Ok(_) => {
            return Err(EnvelopeError::Provider(
                "cross-tenant open must fail".into(),
            ));
        }
    }
    // And the handle refuses a context of another tenant outright.
    assert!(matches!(
        acme.open_secret(&globex_ctx, &stored),
        Err(EnvelopeError::ScopeMismatch { .. })
    ));
    Ok(())
}
