//! Debezium PostgreSQL connector configurations used as they are: a `.properties` file or
//! Kafka Connect JSON is translated into the same TOML-shaped table our own configuration
//! file gives, so `CDC_CAPTURE__SECTION__KEY` environment overrides apply on top of it and
//! the same typed validation follows.
//!
//! Every option is either mapped, accepted as having no effect on the output (a warning
//! naming it), or refused with the reason (see [`options`] for the lists). Unknown options
//! are refused too: a misspelt filter must not silently capture everything.

mod options;
mod parse;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use toml::{Table, Value};

use options::{Kind, Rule};

/// Why a Debezium configuration cannot be used. Never contains option values that may be
/// secret (only names, and values of enumerated options).
#[derive(Debug, thiserror::Error)]
pub enum DbzConfigError {
    #[error("cannot read Debezium connector config {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("Debezium connector config {path} is malformed: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("option {key}: cannot resolve {reference}: {why}")]
    Provider {
        key: String,
        reference: String,
        why: String,
    },
    #[error(
        "Debezium connector config {path} cannot be used as is:\n  - {}",
        problems.join("\n  - ")
    )]
    Refused {
        path: PathBuf,
        problems: Vec<String>,
    },
}

/// A translated configuration: the TOML-shaped table and one warning per ignored option.
pub struct Translated {
    pub table: Table,
    pub warnings: Vec<String>,
}

/// Prints the section names only: the table holds the password.
impl std::fmt::Debug for Translated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Translated")
            .field("sections", &self.table.keys().collect::<Vec<_>>())
            .field("warnings", &self.warnings)
            .finish()
    }
}

/// Whether `path` names a Debezium connector configuration (`.properties` or `.json`)
/// rather than our TOML.
pub fn is_debezium_config(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("properties" | "json")
    )
}

/// Reads and translates the Debezium connector configuration at `path`.
pub fn load(path: &Path) -> Result<Translated, DbzConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| DbzConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    let parsed = if path.extension().is_some_and(|e| e == "json") {
        parse::json(&text)
    } else {
        parse::properties(&text)
    };
    let map = parsed.map_err(|message| DbzConfigError::Syntax {
        path: path.to_owned(),
        message,
    })?;
    translate(&map).map_err(|problems| match problems {
        Problems::Provider(e) => e,
        Problems::Refused(problems) => DbzConfigError::Refused {
            path: path.to_owned(),
            problems,
        },
    })
}

enum Problems {
    Provider(DbzConfigError),
    Refused(Vec<String>),
}

/// `(option, our path, Debezium's default)` where our TOML default differs.
const DEBEZIUM_DEFAULTS: &[(&str, &str, &str)] = &[
    ("slot.name", "source.slot_name", "debezium"),
    (
        "publication.name",
        "source.publication_name",
        "dbz_publication",
    ),
    (
        "publication.autocreate.mode",
        "source.publication_autocreate_mode",
        "all_tables",
    ),
];

/// Options Debezium requires (besides `connector.class`).
const REQUIRED: &[&str] = &[
    "topic.prefix",
    "database.hostname",
    "database.user",
    "database.dbname",
];

const POSTGRES_CONNECTOR: &str = "io.debezium.connector.postgresql.PostgresConnector";

fn translate(map: &BTreeMap<String, String>) -> Result<Translated, Problems> {
    let mut table = Table::new();
    let mut warnings = Vec::new();
    let mut problems = Vec::new();
    for (key, raw) in map {
        let value = parse::resolve_providers(key, raw).map_err(Problems::Provider)?;
        let value = value.trim();
        let Some(rule) = options::rule(key) else {
            problems.push(format!(
                "{key}: unknown option (not a Debezium PostgreSQL connector option cdc-capture \
                 knows; check the spelling)"
            ));
            continue;
        };
        match rule {
            Rule::Map(path, kind) => match typed(kind, value) {
                Ok(v) => insert(&mut table, path, v),
                Err(why) => problems.push(format!("{key}: {why}")),
            },
            Rule::Special => special(key, value, &mut warnings, &mut problems),
            Rule::Accept => {}
            Rule::Only(allowed, reason) => {
                if !allowed.iter().any(|a| a.eq_ignore_ascii_case(value)) {
                    problems.push(format!("{key}={value} is not supported: {reason}"));
                }
            }
            Rule::Ignore(reason) => warnings.push(format!("{key} is ignored: {reason}")),
            Rule::Reject(reason) => problems.push(format!("{key} is not supported: {reason}")),
        }
    }
    if !map.contains_key("connector.class") {
        problems.push(format!(
            "connector.class is missing (expected {POSTGRES_CONNECTOR})"
        ));
    }
    for required in REQUIRED {
        if !map.contains_key(*required) {
            problems.push(format!("{required} is missing (Debezium requires it)"));
        }
    }
    if !map.contains_key("plugin.name") {
        warnings.push(
            "plugin.name is not set: Debezium's default is decoderbufs, cdc-capture always \
             uses pgoutput"
                .into(),
        );
    }
    if map.contains_key("table.include.list") && map.contains_key("table.exclude.list") {
        problems.push("table.include.list and table.exclude.list cannot both be set".into());
    }
    if map.contains_key("schema.include.list") && map.contains_key("schema.exclude.list") {
        problems.push("schema.include.list and schema.exclude.list cannot both be set".into());
    }
    if map.contains_key("column.include.list") && map.contains_key("column.exclude.list") {
        problems.push("column.include.list and column.exclude.list cannot both be set".into());
    }
    // Debezium's defaults where ours differ, so a config without them means the same.
    for (key, path, default) in DEBEZIUM_DEFAULTS {
        if !map.contains_key(*key) {
            insert(&mut table, path, Value::String((*default).to_owned()));
        }
    }
    if problems.is_empty() {
        Ok(Translated { table, warnings })
    } else {
        Err(Problems::Refused(problems))
    }
}

/// Options validated by hand.
fn special(key: &str, value: &str, warnings: &mut Vec<String>, problems: &mut Vec<String>) {
    match key {
        "connector.class" => {
            if value != POSTGRES_CONNECTOR && value != "PostgresConnector" {
                problems.push(format!(
                    "connector.class={value} is not supported: cdc-capture replaces \
                     {POSTGRES_CONNECTOR} only"
                ));
            }
        }
        "plugin.name" => match value.to_ascii_lowercase().as_str() {
            "pgoutput" => {}
            "decoderbufs" => problems.push(
                "plugin.name=decoderbufs is not supported: cdc-capture decodes pgoutput only; \
                 set plugin.name=pgoutput (the output is the same)"
                    .into(),
            ),
            _ => problems.push(format!(
                "plugin.name={value} is not supported: cdc-capture decodes pgoutput only"
            )),
        },
        "database.sslmode" => match value.to_ascii_lowercase().as_str() {
            "disable" => {}
            "allow" | "prefer" => warnings.push(format!(
                "database.sslmode={value}: cdc-capture connects without TLS"
            )),
            _ => problems.push(format!(
                "database.sslmode={value} is not supported: cdc-capture connects without TLS"
            )),
        },
        _ => problems.push(format!("{key}: no handler (bug)")),
    }
}

fn typed(kind: Kind, value: &str) -> Result<Value, String> {
    match kind {
        Kind::Str => Ok(Value::String(value.to_owned())),
        Kind::Int => value
            .parse::<i64>()
            .map(Value::Integer)
            .map_err(|_| format!("{value:?} is not an integer")),
        Kind::Bool => match value.to_ascii_lowercase().as_str() {
            "true" => Ok(Value::Boolean(true)),
            "false" => Ok(Value::Boolean(false)),
            _ => Err(format!("{value:?} is not true or false")),
        },
        Kind::Enum(allowed) => {
            let lower = value.to_ascii_lowercase();
            if allowed.contains(&lower.as_str()) {
                Ok(Value::String(lower))
            } else {
                Err(format!(
                    "{value:?} is not supported (supported: {})",
                    allowed.join(", ")
                ))
            }
        }
        Kind::OpList => {
            let ops: Vec<Value> = value
                .split(',')
                .map(str::trim)
                .filter(|op| !op.is_empty() && !op.eq_ignore_ascii_case("none"))
                .map(|op| Value::String(op.to_owned()))
                .collect();
            Ok(Value::Array(ops))
        }
    }
}

fn insert(table: &mut Table, path: &str, value: Value) {
    let mut node = table;
    let mut parts = path.split('.').peekable();
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            node.insert(part.to_owned(), value);
            return;
        }
        let entry = node
            .entry(part.to_owned())
            .or_insert_with(|| Value::Table(Table::new()));
        // Translation paths are constants that never nest under a scalar.
        let Some(next) = entry.as_table_mut() else {
            return;
        };
        node = next;
    }
}

#[cfg(test)]
mod tests;
