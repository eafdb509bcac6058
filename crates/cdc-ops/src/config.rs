//! Configuration loading: a TOML file, then environment overrides, then typed validation.
//!
//! An override is an environment variable `<PREFIX>__<SECTION>__<KEY>=value` (double
//! underscores separate path segments, matched case-insensitively), e.g.
//! `CDC_CAPTURE__KAFKA__BOOTSTRAP_SERVERS=broker:9092`. Values are read as TOML when they
//! parse as a TOML value (numbers, booleans, arrays, quoted strings) and as plain strings
//! otherwise.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use toml::{Table, Value};

/// Why the configuration could not be loaded. Never contains secret values.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("config file {path} is not valid TOML: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("environment override {var} conflicts with a non-table value at `{at}`")]
    Override { var: String, at: String },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// Loads `T` from the TOML file at `path` (if any) with overrides from the environment
/// variables starting with `<env_prefix>__`.
pub fn load_config<T: DeserializeOwned>(
    path: Option<&Path>,
    env_prefix: &str,
) -> Result<T, ConfigError> {
    let table = match path {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.to_owned(),
                source,
            })?;
            text.parse::<Table>().map_err(|e| ConfigError::Parse {
                path: path.to_owned(),
                message: e.message().to_owned(),
            })?
        }
        None => Table::new(),
    };
    load_config_from_table(table, env_prefix)
}

/// Loads `T` from an already-built TOML table (e.g. one translated from another
/// configuration format) with overrides from the environment variables starting with
/// `<env_prefix>__`.
pub fn load_config_from_table<T: DeserializeOwned>(
    mut table: Table,
    env_prefix: &str,
) -> Result<T, ConfigError> {
    apply_env_overrides(&mut table, env_prefix, std::env::vars())?;
    // Deserialisation errors name the field, never its value.
    Value::Table(table)
        .try_into()
        .map_err(|e: toml::de::Error| ConfigError::Invalid(e.message().to_owned()))
}

fn apply_env_overrides(
    table: &mut Table,
    env_prefix: &str,
    vars: impl Iterator<Item = (String, String)>,
) -> Result<(), ConfigError> {
    let prefix = format!("{}__", env_prefix.to_ascii_uppercase());
    let mut vars: Vec<(String, String)> = vars
        .filter(|(k, _)| k.to_ascii_uppercase().starts_with(&prefix))
        .collect();
    vars.sort();
    for (var, raw) in vars {
        let path: Vec<String> = var[prefix.len()..]
            .split("__")
            .map(str::to_ascii_lowercase)
            .collect();
        let Some((leaf, parents)) = path.split_last() else {
            continue;
        };
        let mut node = &mut *table;
        for (depth, segment) in parents.iter().enumerate() {
            let entry = node
                .entry(segment.clone())
                .or_insert_with(|| Value::Table(Table::new()));
            node = entry.as_table_mut().ok_or_else(|| ConfigError::Override {
                var: var.clone(),
                at: path[..=depth].join("."),
            })?;
        }
        node.insert(leaf.clone(), parse_env_value(&raw));
    }
    Ok(())
}

fn parse_env_value(raw: &str) -> Value {
    format!("v = {raw}")
        .parse::<Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| Value::String(raw.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_overrides_nest_and_type_values() {
        let mut table: Table = "[kafka]\nbootstrap_servers = \"a:1\"\n".parse().unwrap();
        let vars = [
            ("APP__KAFKA__BOOTSTRAP_SERVERS", "b:2"),
            ("APP__SINK__COMMIT_ROWS", "500"),
            ("APP__SINK__TABLES", "[\"x\", \"y\"]"),
            ("OTHER__KAFKA__X", "ignored"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        apply_env_overrides(&mut table, "app", vars.into_iter()).unwrap();
        assert_eq!(table["kafka"]["bootstrap_servers"].as_str(), Some("b:2"));
        assert_eq!(table["sink"]["commit_rows"].as_integer(), Some(500));
        assert_eq!(table["sink"]["tables"].as_array().unwrap().len(), 2);
        assert!(!table.contains_key("other"));
    }

    #[test]
    fn override_into_a_scalar_is_an_error() {
        let mut table: Table = "kafka = 1\n".parse().unwrap();
        let vars = [("APP__KAFKA__X".to_string(), "1".to_string())];
        assert!(apply_env_overrides(&mut table, "APP", vars.into_iter()).is_err());
    }
}
