//! Debezium PostgreSQL, MySQL and MariaDB connector configurations used as they are: a
//! `.properties` file or Kafka Connect JSON is translated into the same TOML-shaped table our
//! own configuration file gives, so `CDC_CAPTURE__SECTION__KEY` environment overrides apply
//! on top of it and the same typed validation follows.
//!
//! `connector.class` picks the option lists: [`options`] (shared), [`postgres`], [`binlog`]
//! (MySQL / MariaDB). Every option is either mapped, accepted as having no effect on the
//! output (a warning naming it), or refused with the reason. Unknown options are refused too:
//! a misspelt filter must not silently capture everything.

mod binlog;
mod options;
mod parse;
mod postgres;

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

/// The Debezium connector a configuration is for (`connector.class`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connector {
    Postgres,
    MySql,
    MariaDb,
}

impl Connector {
    const ALL: [Connector; 3] = [Connector::Postgres, Connector::MySql, Connector::MariaDb];

    /// The connector's class name.
    fn class(self) -> &'static str {
        match self {
            Connector::Postgres => "io.debezium.connector.postgresql.PostgresConnector",
            Connector::MySql => "io.debezium.connector.mysql.MySqlConnector",
            Connector::MariaDb => "io.debezium.connector.mariadb.MariaDbConnector",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Connector::Postgres => "PostgreSQL",
            Connector::MySql => "MySQL",
            Connector::MariaDb => "MariaDB",
        }
    }

    /// The class named by `connector.class`: the full name, or one of Kafka Connect's
    /// aliases (the simple class name, or it without `Connector`).
    fn from_class(class: &str) -> Option<Connector> {
        Connector::ALL.into_iter().find(|c| {
            let full = c.class();
            let simple = &full[full.rfind('.').map_or(0, |i| i + 1)..];
            class == full || class == simple || Some(class) == simple.strip_suffix("Connector")
        })
    }

    fn is_binlog(self) -> bool {
        self != Connector::Postgres
    }
}

fn translate(map: &BTreeMap<String, String>) -> Result<Translated, Problems> {
    let mut table = Table::new();
    let mut warnings = Vec::new();
    let mut problems = Vec::new();
    let connector = match map.get("connector.class").map(|c| c.trim()) {
        Some(class) => Connector::from_class(class).unwrap_or_else(|| {
            problems.push(format!(
                "connector.class={class} is not supported: cdc-capture replaces {} only",
                Connector::ALL.map(Connector::class).join(", ")
            ));
            Connector::Postgres
        }),
        None => {
            problems.push(format!(
                "connector.class is missing (expected one of {})",
                Connector::ALL.map(Connector::class).join(", ")
            ));
            Connector::Postgres
        }
    };
    let mut resolved = BTreeMap::new();
    for (key, raw) in map {
        let value = parse::resolve_providers(key, raw).map_err(Problems::Provider)?;
        let value = value.trim();
        resolved.insert(key.as_str(), value.to_owned());
        let rule = match options::rule(connector, key) {
            Some(rule) if !options::is_foreign(connector, key) => rule,
            _ => {
                problems.push(unknown(connector, key));
                continue;
            }
        };
        match rule {
            Rule::Map(path, kind) => match typed(kind, value) {
                Ok(v) => insert(&mut table, path, v),
                Err(why) => problems.push(format!("{key}: {why}")),
            },
            Rule::Special if key == "connector.class" => {}
            Rule::Special if connector.is_binlog() => binlog::special(
                connector,
                key,
                value,
                &mut table,
                &mut warnings,
                &mut problems,
            ),
            Rule::Special => postgres::special(key, value, &mut warnings, &mut problems),
            Rule::Accept => {}
            Rule::Only(allowed, reason) => {
                if !allowed.iter().any(|a| a.eq_ignore_ascii_case(value)) {
                    problems.push(format!("{key}={value} is not supported: {reason}"));
                }
            }
            Rule::Quiet(allowed, reason) => {
                if !allowed.iter().any(|a| a.eq_ignore_ascii_case(value)) {
                    warnings.push(format!("{key}={value} is ignored: {reason}"));
                }
            }
            Rule::Ignore(reason) => warnings.push(format!("{key} is ignored: {reason}")),
            Rule::Reject(reason) => problems.push(format!("{key} is not supported: {reason}")),
        }
    }
    let required = if connector.is_binlog() {
        binlog::REQUIRED
    } else {
        postgres::REQUIRED
    };
    for required in required {
        if !map.contains_key(*required) {
            problems.push(format!("{required} is missing (Debezium requires it)"));
        }
    }
    for (a, b) in [
        ("table.include.list", "table.exclude.list"),
        ("schema.include.list", "schema.exclude.list"),
        ("column.include.list", "column.exclude.list"),
        ("database.include.list", "database.exclude.list"),
    ] {
        if map.contains_key(a) && map.contains_key(b) {
            problems.push(format!("{a} and {b} cannot both be set"));
        }
    }
    if connector.is_binlog() {
        finish_binlog(connector, &resolved, &mut table, &mut problems);
    } else {
        if !map.contains_key("plugin.name") {
            warnings.push(
                "plugin.name is not set: Debezium's default is decoderbufs, cdc-capture always \
                 uses pgoutput"
                    .into(),
            );
        }
        // Debezium's defaults where ours differ, so a config without them means the same.
        for (key, path, default) in postgres::DEBEZIUM_DEFAULTS {
            if !map.contains_key(*key) {
                insert(&mut table, path, Value::String((*default).to_owned()));
            }
        }
    }
    if problems.is_empty() {
        Ok(Translated { table, warnings })
    } else {
        Err(Problems::Refused(problems))
    }
}

/// The MySQL / MariaDB settings that depend on several options: the source kind and the
/// Kafka cluster (the schema history's). Without `database.ssl.mode` the capture uses
/// `prefer` (Debezium MySQL's default `preferred`; MariaDB's default `disable` becomes TLS
/// when the server offers it).
fn finish_binlog(
    connector: Connector,
    resolved: &BTreeMap<&str, String>,
    table: &mut Table,
    problems: &mut Vec<String>,
) {
    let kind = if connector == Connector::MariaDb {
        "mariadb"
    } else {
        "mysql"
    };
    insert(table, "source.kind", Value::String(kind.into()));
    // The schema history lives in the cluster the records go to: the history's broker list
    // (the only one a Kafka Connect config has) unless `kafka.bootstrap.servers` is given.
    const HISTORY_BROKERS: &str = "schema.history.internal.kafka.bootstrap.servers";
    match (
        resolved.get(HISTORY_BROKERS),
        resolved.get("kafka.bootstrap.servers"),
    ) {
        (Some(history), None) => insert(
            table,
            "kafka.bootstrap_servers",
            Value::String(history.clone()),
        ),
        (Some(history), Some(kafka)) if history != kafka => problems.push(format!(
            "{HISTORY_BROKERS} and kafka.bootstrap.servers differ: cdc-capture keeps the schema \
             history in the Kafka cluster it publishes to; remove one of them"
        )),
        _ => {}
    }
}

/// The message for an option `connector` does not have.
fn unknown(connector: Connector, key: &str) -> String {
    match Connector::ALL.into_iter().find(|other| {
        other.is_binlog() != connector.is_binlog() && options::rule(*other, key).is_some()
    }) {
        Some(other) => format!(
            "{key}: an option of the Debezium {} connector, not of the {} connector; remove it",
            other.name(),
            connector.name()
        ),
        None => format!(
            "{key}: unknown option (not a Debezium {} connector option cdc-capture knows; check \
             the spelling)",
            connector.name()
        ),
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

pub(super) fn insert(table: &mut Table, path: &str, value: Value) {
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
mod binlog_tests;
#[cfg(test)]
mod tests;
