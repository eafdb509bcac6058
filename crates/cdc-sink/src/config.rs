//! The sink's configuration file (TOML) and its validation.
//!
//! Every key can be overridden by an environment variable `CDC_SINK__<SECTION>__<KEY>`
//! (see [`cdc_ops::config`]). Example:
//!
//! ```toml
//! [kafka]
//! bootstrap_servers = "localhost:9092"
//! topic_pattern = "^dbserver1\\..*"
//!
//! [iceberg]
//! data_dir = "/var/lib/cdc-sink"
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

/// `[ops]`: logs, metrics and health; default endpoint `127.0.0.1:9102`.
pub type OpsConfig = cdc_ops::OpsConfig<9102>;
use serde::{Deserialize, Deserializer};

pub use crate::catalog::settings::{CatalogConfig, CatalogKind};
use crate::SinkError;

/// Environment-variable prefix of configuration overrides.
pub const ENV_PREFIX: &str = "CDC_SINK";

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SinkConfig {
    pub kafka: KafkaConfig,
    pub iceberg: IcebergConfig,
    #[serde(default)]
    pub commit: CommitConfig,
    #[serde(default)]
    pub tables: TablesConfig,
    #[serde(default)]
    pub ops: OpsConfig,
}

/// What an Iceberg table holds for a source table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TableMode {
    /// `<schema>_<table>_changelog`: every change event appended as a row (bronze).
    Changelog,
    /// `<schema>_<table>`: the current state, one row per primary key (silver).
    Mirror,
    /// `<schema>_<table>_history`: SCD type 2 versions of every row.
    History,
}

/// `[tables]`: which Iceberg tables each source table feeds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TablesConfig {
    /// Modes of every source table. Default `["changelog", "mirror"]`.
    #[serde(default = "default_modes")]
    pub modes: Vec<TableMode>,
    /// Per source table (`schema.table`) overrides of `modes`, e.g.
    /// `"public.orders" = ["mirror", "history"]`.
    #[serde(default)]
    pub overrides: BTreeMap<String, Vec<TableMode>>,
    /// Debezium's `unavailable.value.placeholder` (unchanged TOAST values): in `mirror` and
    /// `history` such a value keeps the row's previous value. Default
    /// `__debezium_unavailable_value`.
    #[serde(default = "default_placeholder")]
    pub unavailable_value_placeholder: String,
}

impl Default for TablesConfig {
    fn default() -> Self {
        TablesConfig {
            modes: default_modes(),
            overrides: BTreeMap::new(),
            unavailable_value_placeholder: default_placeholder(),
        }
    }
}

impl TablesConfig {
    /// The modes of source table `schema.table`, sorted, without duplicates.
    pub fn modes_of(&self, table: &str) -> Vec<TableMode> {
        let mut modes = self.overrides.get(table).unwrap_or(&self.modes).clone();
        modes.sort();
        modes.dedup();
        modes
    }
}

fn default_modes() -> Vec<TableMode> {
    vec![TableMode::Changelog, TableMode::Mirror]
}
fn default_placeholder() -> String {
    "__debezium_unavailable_value".to_owned()
}

/// `[kafka]`: where change events are read from.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaConfig {
    /// Required. Comma-separated `host:port` list.
    pub bootstrap_servers: String,
    /// Consumer group; its committed offsets are the sink's resume position. Default `cdc-sink`.
    #[serde(default = "default_group_id")]
    pub group_id: String,
    /// Exact topic names to consume.
    #[serde(default)]
    pub topics: Vec<String>,
    /// Regular expression of topics to consume (librdkafka syntax, must start with `^`),
    /// e.g. `^dbserver1\..*`. New matching topics are picked up within seconds.
    #[serde(default)]
    pub topic_pattern: Option<String>,
    /// Extra librdkafka settings (`security.protocol`, `sasl.mechanism`, ...). Values of keys
    /// containing `password`, `secret` or `sasl` are never logged.
    #[serde(default, deserialize_with = "scalar_map")]
    pub properties: BTreeMap<String, String>,
}

/// `[iceberg]`: where changelog tables are written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IcebergConfig {
    /// Required for the `sql` catalog: holds `catalog.db` (SQLite SQL catalog) and
    /// `warehouse/` (table files). Not used by the `rest` catalog.
    #[serde(default)]
    pub data_dir: PathBuf,
    /// Catalog name stored in the SQL catalog; readers (pyiceberg `SqlCatalog(name, ...)`)
    /// must use the same name. Default `cdc`.
    #[serde(default = "default_catalog_name")]
    pub catalog_name: String,
    /// Iceberg namespace of the changelog tables. Default `cdc`.
    #[serde(default = "default_namespace")]
    pub namespace: String,
    /// `[iceberg.catalog]`: the catalog kind (`sql` by default) and how to reach it.
    #[serde(default)]
    pub catalog: CatalogConfig,
}

impl IcebergConfig {
    /// A configuration with the default catalog name and namespace.
    pub fn new(data_dir: impl Into<PathBuf>) -> IcebergConfig {
        IcebergConfig {
            data_dir: data_dir.into(),
            catalog_name: default_catalog_name(),
            namespace: default_namespace(),
            catalog: CatalogConfig::default(),
        }
    }
}

/// `[commit]`: when buffered rows become an Iceberg snapshot.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommitConfig {
    /// Commit at the latest this long after the first record buffered since the last commit.
    /// Default 10000.
    #[serde(default = "default_interval_ms")]
    pub interval_ms: u64,
    /// Commit as soon as this many rows are buffered across all tables. This bounds the
    /// sink's memory. Default 50000.
    #[serde(default = "default_max_rows")]
    pub max_rows: usize,
}

impl Default for CommitConfig {
    fn default() -> Self {
        CommitConfig {
            interval_ms: default_interval_ms(),
            max_rows: default_max_rows(),
        }
    }
}

fn default_group_id() -> String {
    "cdc-sink".to_owned()
}
fn default_catalog_name() -> String {
    "cdc".to_owned()
}
fn default_namespace() -> String {
    "cdc".to_owned()
}
fn default_interval_ms() -> u64 {
    10_000
}
fn default_max_rows() -> usize {
    50_000
}

/// librdkafka keys the sink sets itself; configuring them would break its guarantees.
const RESERVED_KAFKA_KEYS: [&str; 4] = [
    "bootstrap.servers",
    "group.id",
    "enable.auto.commit",
    "enable.auto.offset.store",
];

/// Whether a librdkafka property value must never be logged.
pub(crate) fn is_sensitive_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["password", "secret", "sasl", "key"]
        .iter()
        .any(|word| key.contains(word))
}

impl fmt::Debug for KafkaConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let properties: BTreeMap<&str, &str> = self
            .properties
            .iter()
            .map(|(k, v)| {
                let shown = if is_sensitive_key(k) {
                    "***"
                } else {
                    v.as_str()
                };
                (k.as_str(), shown)
            })
            .collect();
        f.debug_struct("KafkaConfig")
            .field("bootstrap_servers", &self.bootstrap_servers)
            .field("group_id", &self.group_id)
            .field("topics", &self.topics)
            .field("topic_pattern", &self.topic_pattern)
            .field("properties", &properties)
            .finish()
    }
}

impl SinkConfig {
    /// Checks what serde cannot: required combinations, ranges and reserved keys.
    pub fn validate(&self) -> Result<(), SinkError> {
        let invalid = |msg: String| Err(SinkError::Config(msg));
        let kafka = &self.kafka;
        if kafka.bootstrap_servers.trim().is_empty() {
            return invalid("kafka.bootstrap_servers must not be empty".into());
        }
        if kafka.group_id.trim().is_empty() {
            return invalid("kafka.group_id must not be empty".into());
        }
        if kafka.topics.is_empty() && kafka.topic_pattern.is_none() {
            return invalid("set kafka.topics and/or kafka.topic_pattern".into());
        }
        if let Some(topic) = kafka
            .topics
            .iter()
            .find(|t| t.is_empty() || t.starts_with('^'))
        {
            return invalid(format!(
                "kafka.topics entry {topic:?} is not a topic name (use kafka.topic_pattern for regular expressions)"
            ));
        }
        if let Some(pattern) = &kafka.topic_pattern {
            if !pattern.starts_with('^') || pattern.len() < 2 {
                return invalid(format!(
                    "kafka.topic_pattern {pattern:?} must be a regular expression starting with `^`"
                ));
            }
        }
        for key in kafka.properties.keys() {
            if RESERVED_KAFKA_KEYS.contains(&key.as_str()) {
                return invalid(format!(
                    "kafka.properties.{key:?} is set by the sink itself and cannot be overridden"
                ));
            }
        }
        if self.tables.modes.is_empty() {
            return invalid("tables.modes must name at least one mode".into());
        }
        if let Some((table, _)) = self.tables.overrides.iter().find(|(_, m)| m.is_empty()) {
            return invalid(format!(
                "tables.overrides.{table:?} must name at least one mode"
            ));
        }
        let iceberg = &self.iceberg;
        if iceberg.catalog.kind == CatalogKind::Sql && iceberg.data_dir.as_os_str().is_empty() {
            return invalid("iceberg.data_dir must not be empty".into());
        }
        iceberg.catalog.validate().map_err(SinkError::Config)?;
        if iceberg.catalog_name.trim().is_empty() {
            return invalid("iceberg.catalog_name must not be empty".into());
        }
        if iceberg.namespace.is_empty() || iceberg.namespace.contains('.') {
            return invalid(format!(
                "iceberg.namespace {:?} must be a single non-empty name without `.`",
                iceberg.namespace
            ));
        }
        if self.commit.interval_ms == 0 {
            return invalid("commit.interval_ms must be at least 1".into());
        }
        if self.commit.max_rows == 0 {
            return invalid("commit.max_rows must be at least 1".into());
        }
        Ok(())
    }
}

/// Accepts strings, integers, floats and booleans as librdkafka setting values.
fn scalar_map<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Scalar {
        String(String),
        Int(i64),
        Float(f64),
        Bool(bool),
    }
    let raw = BTreeMap::<String, Scalar>::deserialize(d)?;
    Ok(raw
        .into_iter()
        .map(|(k, v)| {
            let v = match v {
                Scalar::String(s) => s,
                Scalar::Int(i) => i.to_string(),
                Scalar::Float(x) => x.to_string(),
                Scalar::Bool(b) => b.to_string(),
            };
            (k, v)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<SinkConfig, String> {
        let config: SinkConfig = toml_like(text)?;
        config.validate().map_err(|e| e.to_string())?;
        Ok(config)
    }

    /// Parses TOML through `cdc_ops::load_config` as the binary does.
    fn toml_like(text: &str) -> Result<SinkConfig, String> {
        let dir = std::env::temp_dir().join(format!("cdc-sink-config-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let path = dir.join("sink.toml");
        std::fs::write(&path, text).map_err(|e| e.to_string())?;
        let loaded = cdc_ops::load_config::<SinkConfig>(Some(&path), "CDC_SINK_TEST_UNUSED");
        let _ = std::fs::remove_dir_all(&dir);
        loaded.map_err(|e| e.to_string())
    }

    const MINIMAL: &str = "[kafka]\nbootstrap_servers = \"k:9092\"\ntopics = [\"a.b.c\"]\n\
                           [iceberg]\ndata_dir = \"/tmp/x\"\n";

    #[test]
    fn defaults_are_documented_values() {
        let c = parse(MINIMAL).unwrap();
        assert_eq!(c.kafka.group_id, "cdc-sink");
        assert_eq!(c.iceberg.catalog_name, "cdc");
        assert_eq!(c.iceberg.namespace, "cdc");
        assert_eq!(c.commit.interval_ms, 10_000);
        assert_eq!(c.commit.max_rows, 50_000);
        assert_eq!(c.ops.listen, "127.0.0.1:9102");
        assert_eq!(c.ops.log_filter, "info");
    }

    #[test]
    fn rejects_bad_combinations() {
        let no_topics = "[kafka]\nbootstrap_servers = \"k\"\n[iceberg]\ndata_dir = \"/x\"\n";
        assert!(parse(no_topics).unwrap_err().contains("topic_pattern"));
        let bad_pattern = no_topics.replace("\"k\"\n", "\"k\"\ntopic_pattern = \"db\\\\..*\"\n");
        assert!(parse(&bad_pattern)
            .unwrap_err()
            .contains("must be a regular expression"));
        let unknown = format!("{MINIMAL}[commit]\nintervl_ms = 5\n");
        assert!(parse(&unknown).unwrap_err().contains("intervl_ms"));
        let reserved = format!("{MINIMAL}[kafka.properties]\n\"enable.auto.commit\" = true\n");
        assert!(parse(&reserved).unwrap_err().contains("set by the sink"));
    }

    #[test]
    fn properties_accept_scalars_and_hide_secrets() {
        let text = MINIMAL.replace(
            "topics",
            "properties = { \"fetch.min.bytes\" = 10, \"sasl.password\" = \"hunter2\" }\ntopics",
        );
        let c = parse(&text).unwrap();
        assert_eq!(c.kafka.properties["fetch.min.bytes"], "10");
        let shown = format!("{c:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("fetch.min.bytes"));
    }
}
