//! Secrets: configured inline, through an environment variable, or read from a file, and
//! never printed by `Debug`, `Display` or serialisation.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Deserializer};

use crate::ConfigError;

/// A secret value. `Debug`/`Display` print `***`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself, for handing to a client library. Never log the result.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// How a secret is configured: `password = "x"`, `password = { env = "PGPASSWORD" }` or
/// `password = { file = "/run/secrets/pg" }` (trailing newline stripped).
#[derive(Deserialize)]
#[serde(untagged)]
enum SecretSource {
    Inline(String),
    Env { env: String },
    File { file: PathBuf },
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
        let source = SecretSource::deserialize(d)?;
        resolve(source).map_err(serde::de::Error::custom)
    }
}

fn resolve(source: SecretSource) -> Result<Secret, ConfigError> {
    match source {
        SecretSource::Inline(v) => Ok(Secret(v)),
        SecretSource::Env { env } => std::env::var(&env).map(Secret).map_err(|_| {
            ConfigError::Invalid(format!("secret environment variable {env} is not set"))
        }),
        SecretSource::File { file } => std::fs::read_to_string(&file)
            .map(|s| Secret(s.trim_end_matches(['\n', '\r']).to_owned()))
            .map_err(|e| {
                ConfigError::Invalid(format!("cannot read secret file {}: {e}", file.display()))
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, Debug)]
    struct Conf {
        password: Secret,
    }

    #[test]
    fn secrets_never_print() {
        let c: Conf = toml::from_str("password = \"hunter2\"").unwrap();
        assert_eq!(c.password.expose(), "hunter2");
        assert!(!format!("{c:?} {}", c.password).contains("hunter2"));
    }

    #[test]
    fn secrets_from_files() {
        let path = std::env::temp_dir().join(format!("cdc-secret-{}", std::process::id()));
        std::fs::write(&path, "s3cret\n").unwrap();
        let text = format!("password = {{ file = {:?} }}", path.display().to_string());
        let c: Conf = toml::from_str(&text).unwrap();
        assert_eq!(c.password.expose(), "s3cret");
        std::fs::remove_file(path).unwrap();
    }
}
