//! Building a [`Palisade`] from configuration, with embedded defaults for
//! every part the host does not supply.

use std::collections::HashMap;
use std::sync::Arc;

use palisade_apikey::{ApiKeys, KeyFormat, KeyStore, MemoryStore, Pepper, PepperSet};
use palisade_audit::{AuditLog, CheckpointSigner, FsyncPolicy, JsonlDir, MemorySinks, SinkFactory};
use palisade_envelope::{Envelope, Kek, KeyProvider, LocalKeyring};
use secrecy::SecretSlice;

use crate::breakglass::Grants;
use crate::breakglass_store::GrantStore;
use crate::config::PalisadeConfig;
use crate::error::{PalisadeError, Result};
use crate::policy::PolicySlot;
use crate::ratelimit::RateLimiter;
use crate::ratelimit_backend::{Plans, RateLimitBackend};
use crate::service::{Inner, Palisade};
use crate::trail::Trail;

/// The prefix of API keys issued by Palisade (`pal_live_…`, `pal_test_…`).
pub const DEFAULT_KEY_PREFIX: &str = "pal";

type ProviderFn<P> = Box<dyn FnOnce(&PalisadeConfig) -> Result<P>>;

/// Builds a [`Palisade`]: from a [`PalisadeConfig`], plus optionally your
/// own key store, key provider (KMS), audit sinks or policy text.
///
/// ```
/// use palisade::{Palisade, PalisadeConfig};
/// let palisade = Palisade::builder(PalisadeConfig::default())
///     .policy_toml("version = 1\npermissions = [\"inbox:read\"]")
///     .build()?;
/// assert_eq!(palisade.policy_version(), 1);
/// # Ok::<(), palisade::PalisadeError>(())
/// ```
pub struct PalisadeBuilder<S = MemoryStore, P = LocalKeyring> {
    config: PalisadeConfig,
    store: S,
    provider: ProviderFn<P>,
    policy_text: Option<String>,
    sinks: Option<Box<dyn SinkFactory>>,
    signer: Option<CheckpointSigner>,
    key_prefix: String,
    now: Option<palisade_tenancy::Timestamp>,
    grants: Option<Arc<dyn GrantStore>>,
    rate_limits: Option<Arc<dyn RateLimitBackend>>,
    publisher: Option<Arc<dyn palisade_audit::CheckpointPublisher>>,
}

impl Palisade {
    /// Start building from `config`.
    #[must_use]
    pub fn builder(config: PalisadeConfig) -> PalisadeBuilder {
        PalisadeBuilder {
            config,
            store: MemoryStore::new(),
            provider: Box::new(local_keyring),
            policy_text: None,
            sinks: None,
            signer: None,
            key_prefix: DEFAULT_KEY_PREFIX.to_owned(),
            now: None,
            grants: None,
            rate_limits: None,
            publisher: None,
        }
    }
}

/// The keyring named by `secrets.keyring`, or a fresh one-KEK keyring.
fn local_keyring(cfg: &PalisadeConfig) -> Result<LocalKeyring> {
    match &cfg.secrets.keyring {
        Some(src) => LocalKeyring::from_text(&src.read_text()?).map_err(component("envelope")),
        None => {
            LocalKeyring::with_primary("local", Kek::generate().map_err(component("envelope"))?)
                .map_err(component("envelope"))
        }
    }
}

fn component<E: core::fmt::Display>(component: &'static str) -> impl Fn(E) -> PalisadeError {
    move |e| PalisadeError::Component {
        component,
        message: e.to_string(),
    }
}

impl<S: KeyStore, P: KeyProvider> PalisadeBuilder<S, P> {
    /// Keep API-key records in `store` (e.g. a database adapter).
    #[must_use]
    pub fn key_store<S2: KeyStore>(self, store: S2) -> PalisadeBuilder<S2, P> {
        PalisadeBuilder {
            config: self.config,
            store,
            provider: self.provider,
            policy_text: self.policy_text,
            sinks: self.sinks,
            signer: self.signer,
            key_prefix: self.key_prefix,
            now: self.now,
            grants: self.grants,
            rate_limits: self.rate_limits,
            publisher: self.publisher,
        }
    }

    /// Wrap data keys with `provider` (e.g. a KMS adapter) instead of the
    /// keyring named in the configuration.
    #[must_use]
    pub fn key_provider<P2: KeyProvider + 'static>(self, provider: P2) -> PalisadeBuilder<S, P2> {
        PalisadeBuilder {
            config: self.config,
            store: self.store,
            provider: Box::new(move |_| Ok(provider)),
            policy_text: self.policy_text,
            sinks: self.sinks,
            signer: self.signer,
            key_prefix: self.key_prefix,
            now: self.now,
            grants: self.grants,
            rate_limits: self.rate_limits,
            publisher: self.publisher,
        }
    }

    /// Keep break-glass grants in `store` (e.g. a database adapter, so a
    /// grant made through one replica works on all of them) instead of
    /// this process's memory.
    #[must_use]
    pub fn grant_store(mut self, store: Arc<dyn GrantStore>) -> Self {
        self.grants = Some(store);
        self
    }

    /// Decide rate limits and the refused-credential budget in `backend`
    /// (e.g. `palisade-redis`, shared by a fleet) instead of the in-process
    /// limiter. The plans still come from `rate_limits` in the configuration.
    #[must_use]
    pub fn rate_limit_backend(mut self, backend: Arc<dyn RateLimitBackend>) -> Self {
        self.rate_limits = Some(backend);
        self
    }

    /// Use this RBAC policy (TOML) instead of `policy_path`.
    #[must_use]
    pub fn policy_toml(mut self, text: &str) -> Self {
        self.policy_text = Some(text.to_owned());
        self
    }

    /// Write audit records through `sinks` instead of `audit_dir`.
    #[must_use]
    pub fn audit_sinks(mut self, sinks: Box<dyn SinkFactory>) -> Self {
        self.sinks = Some(sinks);
        self
    }

    /// Hand every signed audit checkpoint to `publisher` as well (e.g. a
    /// [`palisade_audit::FilePublisher`] on storage the audit directory's
    /// writers cannot change, or a witness), so that truncation at a
    /// checkpoint or a fork is caught by `palisade-audit verify --published`.
    #[must_use]
    pub fn audit_publisher(
        mut self,
        publisher: Arc<dyn palisade_audit::CheckpointPublisher>,
    ) -> Self {
        self.publisher = Some(publisher);
        self
    }

    /// Sign audit checkpoints with `signer` instead of the configured key.
    #[must_use]
    pub fn audit_signer(mut self, signer: CheckpointSigner) -> Self {
        self.signer = Some(signer);
        self
    }

    /// Issue keys with this prefix instead of `pal`.
    #[must_use]
    pub fn key_prefix(mut self, prefix: &str) -> Self {
        prefix.clone_into(&mut self.key_prefix);
        self
    }

    /// The start-up time, used only to reject policy grants that have
    /// already expired (default: the system clock when `build` runs).
    #[must_use]
    pub fn at(mut self, now: palisade_tenancy::Timestamp) -> Self {
        self.now = Some(now);
        self
    }

    fn peppers(cfg: &PalisadeConfig) -> Result<PepperSet> {
        let peppers = if cfg.secrets.peppers.is_empty() {
            vec![Pepper::generate(1).map_err(component("apikey"))?]
        } else {
            let mut v = Vec::with_capacity(cfg.secrets.peppers.len());
            for p in &cfg.secrets.peppers {
                let bytes = p.source.read_hex(
                    palisade_apikey::MIN_PEPPER_LEN,
                    palisade_apikey::MAX_PEPPER_LEN,
                )?;
                v.push(
                    Pepper::new(p.version, SecretSlice::from(bytes.to_vec()))
                        .map_err(component("apikey"))?,
                );
            }
            v
        };
        PepperSet::new(peppers).map_err(component("apikey"))
    }

    fn signer(cfg: &PalisadeConfig) -> Result<CheckpointSigner> {
        match &cfg.secrets.audit_signing_key {
            Some(named) => {
                let id = palisade_audit::KeyId::new(&named.id).map_err(component("audit"))?;
                let seed = named.source.read_hex(32, 32)?;
                let seed: &[u8; 32] =
                    seed.as_slice()
                        .try_into()
                        .map_err(|_| PalisadeError::Secret {
                            name: named.id.clone(),
                            reason: "an Ed25519 seed is 64 hex digits",
                        })?;
                Ok(CheckpointSigner::ed25519(id, seed))
            }
            None => {
                let id = palisade_audit::KeyId::new("ephemeral").map_err(component("audit"))?;
                CheckpointSigner::generate_ed25519(id).map_err(component("audit"))
            }
        }
    }

    fn policy(&self) -> Result<PolicySlot> {
        let now = self.now.unwrap_or_else(palisade_tenancy::Timestamp::now);
        match (&self.policy_text, &self.config.policy_path) {
            (Some(text), _) => PolicySlot::from_text(text, now),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path).map_err(|source| PalisadeError::Io {
                    path: path.clone(),
                    source,
                })?;
                PolicySlot::from_text(&text, now)
            }
            (None, None) => PolicySlot::deny_all(now),
        }
    }

    /// Build it.
    ///
    /// # Errors
    /// [`PalisadeError::Config`] for an invalid configuration,
    /// [`PalisadeError::Secret`]/[`PalisadeError::Io`] for unreadable secrets
    /// or files, [`PalisadeError::Component`] when a member crate refuses
    /// its part (policy does not compile, keyring malformed…).
    pub fn build(self) -> Result<Palisade<S, P>> {
        let cfg = &self.config;
        cfg.validate()?;
        let format = KeyFormat::new(&self.key_prefix).map_err(component("apikey"))?;
        let policy = self.policy()?;
        let provider = (self.provider)(cfg)?;
        let signer = match self.signer {
            Some(s) => s,
            None => Self::signer(cfg)?,
        };
        let sinks: Box<dyn SinkFactory> = match (self.sinks, &cfg.audit_dir) {
            (Some(s), _) => s,
            (None, Some(dir)) => {
                std::fs::create_dir_all(dir).map_err(|source| PalisadeError::Io {
                    path: dir.clone(),
                    source,
                })?;
                Box::new(JsonlDir::new(
                    std::path::Path::new(dir),
                    FsyncPolicy::default(),
                ))
            }
            (None, None) => Box::new(MemorySinks),
        };
        let plans = Plans::from_config(
            &cfg.rate_limits,
            cfg.tenants
                .iter()
                .filter_map(|(t, c)| c.plan.as_deref().map(|p| (*t, p))),
        )?;
        let limiter: Arc<dyn RateLimitBackend> = match self.rate_limits {
            Some(backend) => backend,
            None => Arc::new(RateLimiter::from_plans(plans.clone(), &cfg.rate_limits)?),
        };
        let origins: HashMap<_, _> = cfg
            .tenants
            .iter()
            .map(|(t, c)| (*t, c.cors_origins.clone()))
            .collect();
        let keys = ApiKeys::new(format, Self::peppers(cfg)?, self.store);
        let inner = Inner {
            keys,
            envelope: Envelope::new(provider),
            policy,
            trail: Arc::new(Trail::new(
                match self.publisher {
                    Some(p) => AuditLog::new(sinks, signer).with_publisher(p),
                    None => AuditLog::new(sinks, signer),
                },
                i64::from(cfg.rate_limits.suppression_window_seconds).saturating_mul(1000),
            )),
            limiter,
            plans,
            origins,
            grants: self.grants.map(Grants::new).unwrap_or_default(),
            config: self.config,
        };
        Ok(Palisade {
            inner: Arc::new(inner),
        })
    }
}
