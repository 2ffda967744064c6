//! Reading the secrets the configuration points at.

use zeroize::Zeroizing;

use crate::config::SecretSource;
use crate::error::{PalisadeError, Result};

impl SecretSource {
    fn name(&self) -> &str {
        match self {
            Self::Env(v) | Self::File(v) => v,
        }
    }

    /// The secret's text, trimmed of surrounding whitespace.
    pub(crate) fn read_text(&self) -> Result<Zeroizing<String>> {
        let raw = Zeroizing::new(match self {
            Self::Env(var) => std::env::var(var).map_err(|_| PalisadeError::Secret {
                name: var.clone(),
                reason: "the environment variable is not set",
            })?,
            Self::File(path) => {
                std::fs::read_to_string(path).map_err(|source| PalisadeError::Io {
                    path: path.clone(),
                    source,
                })?
            }
        });
        Ok(Zeroizing::new(raw.trim().to_owned()))
    }

    /// The secret's text (trimmed), for adapters that need one (e.g. a
    /// database connection string).
    ///
    /// # Errors
    /// [`PalisadeError::Secret`] when the variable is unset,
    /// [`PalisadeError::Io`] when the file cannot be read.
    pub fn read_secret(&self) -> Result<secrecy::SecretString> {
        Ok(secrecy::SecretString::from(self.read_text()?.as_str()))
    }

    /// The secret as bytes from hex, of `min..=max` bytes.
    pub(crate) fn read_hex(&self, min: usize, max: usize) -> Result<Zeroizing<Vec<u8>>> {
        let text = self.read_text()?;
        let bad = |reason| PalisadeError::Secret {
            name: self.name().to_owned(),
            reason,
        };
        if text.len() % 2 != 0 || !(2 * min..=2 * max).contains(&text.len()) {
            return Err(bad(
                "wrong length: see the configuration docs for the number of hex digits",
            ));
        }
        let mut out = Zeroizing::new(vec![0u8; text.len() / 2]);
        hex::decode_to_slice(text.as_bytes(), &mut out).map_err(|_| bad("not hexadecimal"))?;
        Ok(out)
    }
}
