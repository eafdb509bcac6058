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
    pub maintenance: MaintenanceConfig,
    #[serde(default)]
    pub dead_letter: DeadLetterConfig,
    #[serde(default)]
    pub ops: OpsConfig,
}

/// `[dead_letter]`: where records that cannot be decoded or applied go (on by default).
///
/// Such a record is copied byte for byte (key, value, headers, timestamp) to the dead-letter
/// topic with `cdc.dlq.*` headers naming the reason and its original topic, partition and
/// offset; its offset is committed only after the broker acknowledged the copy. With
/// `enabled = false` such a record stops the sink instead (Kafka Connect's
/// `errors.tolerance = none`).
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadLetterConfig {
    /// Default true.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// The topic. Default `<kafka.group_id>.dlq` (`cdc-sink.dlq`). It must not be one the sink
    /// consumes.
    #[serde(default)]
    pub topic: Option<String>,
    /// Create the topic at start-up if it does not exist (with `max.message.bytes` 16 MiB, so
    /// copies of large records fit). Default true.
    #[serde(default = "default_true")]
    pub create_topic: bool,
    /// Partitions of a created topic. Default 1.
    #[serde(default = "default_dlq_partitions")]
    pub topic_partitions: i32,
    /// Replication factor of a created topic; -1 (default) = the broker's
    /// `default.replication.factor`.
    #[serde(default = "default_dlq_replication")]
    pub topic_replication_factor: i32,
    /// librdkafka producer settings applied on top of `kafka.properties` (which the producer
    /// shares, e.g. for security settings). Values of secret-looking keys are never logged.
    #[serde(default, deserialize_with = "scalar_map")]
    pub properties: BTreeMap<String, String>,
}

impl Default for DeadLetterConfig {
    fn default() -> Self {
        DeadLetterConfig {
            enabled: true,
            topic: None,
            create_topic: true,
            topic_partitions: default_dlq_partitions(),
            topic_replication_factor: default_dlq_replication(),
            properties: BTreeMap::new(),
        }
    }
}

impl DeadLetterConfig {
    /// The dead-letter topic when enabled: `topic`, or `<group_id>.dlq`.
    pub fn topic_for(&self, kafka: &KafkaConfig) -> Option<String> {
        self.enabled.then(|| {
            self.topic
                .clone()
                .unwrap_or_else(|| format!("{}.dlq", kafka.group_id))
        })
    }
}

impl fmt::Debug for DeadLetterConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeadLetterConfig")
            .field("enabled", &self.enabled)
            .field("topic", &self.topic)
            .field("create_topic", &self.create_topic)
            .field("topic_partitions", &self.topic_partitions)
            .field("topic_replication_factor", &self.topic_replication_factor)
            .field("properties", &shown_properties(&self.properties))
            .finish()
    }
}

fn default_true() -> bool {
    true
}
fn default_dlq_partitions() -> i32 {
    1
}
fn default_dlq_replication() -> i32 {
    -1
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
    /// Commit as soon as the buffered rows take about this many bytes in memory (estimated
    /// from their values). Default 67108864 (64 MiB).
    #[serde(default = "default_max_bytes")]
    pub max_bytes: u64,
}

impl Default for CommitConfig {
    fn default() -> Self {
        CommitConfig {
            interval_ms: default_interval_ms(),
            max_rows: default_max_rows(),
            max_bytes: default_max_bytes(),
        }
    }
}

/// `[maintenance]`: compaction, snapshot expiry and orphan-file removal of the tables this
/// sink writes, run by the sink itself between commits (see the README).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceConfig {
    /// Default true.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Each table is maintained at most once per interval. Default 3600.
    #[serde(default = "default_maintenance_interval")]
    pub interval_secs: u64,
    /// Compact when at least this many data files are small or have many deleted rows, or
    /// the table has at least this many position-delete files. Default 5.
    #[serde(default = "default_min_input_files")]
    pub min_input_files: usize,
    /// Size of compacted data files; files under 75 % of it are small. Default 134217728
    /// (128 MiB).
    #[serde(default = "default_target_file_size")]
    pub target_file_size_bytes: u64,
    /// A data file whose deleted rows reach this fraction of its rows is rewritten; deletes
    /// of other files are merged into one position-delete file. Default 0.3.
    #[serde(default = "default_delete_ratio")]
    pub delete_ratio_threshold: f64,
    /// At most this many bytes of data files are rewritten per run (oldest first; at least
    /// two files); a table with more to compact is due again at the next check, after the
    /// sink has consumed in between. Default 1073741824 (1 GiB).
    #[serde(default = "default_max_compaction_bytes")]
    pub max_compaction_input_bytes: u64,
    /// Snapshots older than this are expired. Default 432000 (5 days).
    #[serde(default = "default_max_snapshot_age")]
    pub max_snapshot_age_secs: u64,
    /// The newest snapshots of the main branch kept whatever their age. Default 1.
    #[serde(default = "default_min_snapshots")]
    pub min_snapshots_to_keep: usize,
    /// Unreferenced files under a table's location are deleted once older than this; at
    /// least 60. Default 259200 (3 days).
    #[serde(default = "default_orphan_min_age")]
    pub orphan_min_age_secs: u64,
}

impl Default for MaintenanceConfig {
    fn default() -> Self {
        MaintenanceConfig {
            enabled: true,
            interval_secs: default_maintenance_interval(),
            min_input_files: default_min_input_files(),
            target_file_size_bytes: default_target_file_size(),
            delete_ratio_threshold: default_delete_ratio(),
            max_compaction_input_bytes: default_max_compaction_bytes(),
            max_snapshot_age_secs: default_max_snapshot_age(),
            min_snapshots_to_keep: default_min_snapshots(),
            orphan_min_age_secs: default_orphan_min_age(),
        }
    }
}

fn default_maintenance_interval() -> u64 {
    3600
}
fn default_min_input_files() -> usize {
    5
}
fn default_target_file_size() -> u64 {
    128 * 1024 * 1024
}
fn default_delete_ratio() -> f64 {
    0.3
}
fn default_max_compaction_bytes() -> u64 {
    1024 * 1024 * 1024
}
fn default_max_snapshot_age() -> u64 {
    5 * 24 * 3600
}
fn default_min_snapshots() -> usize {
    1
}
fn default_orphan_min_age() -> u64 {
    3 * 24 * 3600
}

impl MaintenanceConfig {
    fn validate(&self) -> Result<(), String> {
        if self.min_input_files < 2 {
            return Err("maintenance.min_input_files must be at least 2".into());
        }
        if self.target_file_size_bytes < 1024 * 1024 {
            return Err("maintenance.target_file_size_bytes must be at least 1048576".into());
        }
        if self.max_compaction_input_bytes < 1024 * 1024 {
            return Err("maintenance.max_compaction_input_bytes must be at least 1048576".into());
        }
        if !(self.delete_ratio_threshold > 0.0 && self.delete_ratio_threshold <= 1.0) {
            return Err("maintenance.delete_ratio_threshold must be in (0, 1]".into());
        }
        if self.min_snapshots_to_keep < 1 {
            return Err("maintenance.min_snapshots_to_keep must be at least 1".into());
        }
        if self.orphan_min_age_secs < 60 {
            return Err(
                "maintenance.orphan_min_age_secs must be at least 60 (files of a commit in \
                 progress are briefly unreferenced)"
                    .into(),
            );
        }
        Ok(())
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
fn default_max_bytes() -> u64 {
    64 << 20
}

/// librdkafka keys the sink sets itself; configuring them would break its guarantees.
const RESERVED_KAFKA_KEYS: [&str; 4] = [
    "bootstrap.servers",
    "group.id",
    "enable.auto.commit",
    "enable.auto.offset.store",
];

/// librdkafka keys the dead-letter producer sets itself (durability: every copy acknowledged
/// by all in-sync replicas, no duplicates from producer retries).
pub(crate) const RESERVED_DEAD_LETTER_KEYS: [&str; 4] = [
    "bootstrap.servers",
    "acks",
    "enable.idempotence",
    "transactional.id",
];

/// Whether a librdkafka property value must never be logged.
pub(crate) fn is_sensitive_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["password", "secret", "sasl", "key"]
        .iter()
        .any(|word| key.contains(word))
}

/// `value` as it may be logged: `***` when `key` is sensitive.
pub(crate) fn shown_value<'a>(key: &str, value: &'a str) -> &'a str {
    if is_sensitive_key(key) {
        "***"
    } else {
        value
    }
}

/// `properties` with the values of sensitive keys replaced by `***`.
fn shown_properties(properties: &BTreeMap<String, String>) -> BTreeMap<&str, &str> {
    properties
        .iter()
        .map(|(k, v)| (k.as_str(), shown_value(k, v)))
        .collect()
}

impl fmt::Debug for KafkaConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let properties = shown_properties(&self.properties);
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
        self.validate_dead_letter()?;
        if self.commit.interval_ms == 0 {
            return invalid("commit.interval_ms must be at least 1".into());
        }
        if self.commit.max_rows == 0 {
            return invalid("commit.max_rows must be at least 1".into());
        }
        if self.commit.max_bytes < 1 << 20 {
            return invalid("commit.max_bytes must be at least 1048576 (1 MiB)".into());
        }
        self.maintenance.validate().map_err(SinkError::Config)
    }
}

impl SinkConfig {
    fn validate_dead_letter(&self) -> Result<(), SinkError> {
        let invalid = |msg: String| Err(SinkError::Config(msg));
        let dlq = &self.dead_letter;
        let Some(topic) = dlq.topic_for(&self.kafka) else {
            return Ok(());
        };
        if topic.trim().is_empty() || topic.len() > 249 {
            return invalid(format!(
                "dead_letter.topic {topic:?} is not a valid topic name"
            ));
        }
        if self.kafka.topics.contains(&topic) {
            return invalid(format!(
                "dead_letter.topic {topic:?} is also in kafka.topics: the sink would consume \
                 its own dead letters"
            ));
        }
        if let Some(pattern) = &self.kafka.topic_pattern {
            // librdkafka's pattern syntax is close to the regex crate's; a pattern this crate
            // cannot parse is left to librdkafka, and the pipeline refuses records of the
            // dead-letter topic anyway.
            if regex::Regex::new(pattern).is_ok_and(|re| re.is_match(&topic)) {
                return invalid(format!(
                    "dead_letter.topic {topic:?} matches kafka.topic_pattern {pattern:?}: the \
                     sink would consume its own dead letters (set another dead_letter.topic)"
                ));
            }
        }
        if dlq.topic_partitions < 1 || dlq.topic_replication_factor == 0 {
            return invalid(
                "dead_letter.topic_partitions must be at least 1 and \
                 dead_letter.topic_replication_factor -1 or at least 1"
                    .into(),
            );
        }
        for key in dlq.properties.keys().chain(self.kafka.properties.keys()) {
            if RESERVED_DEAD_LETTER_KEYS.contains(&key.as_str()) {
                return invalid(format!(
                    "{key:?} is set by the sink's dead-letter producer itself and cannot be \
                     overridden in kafka.properties or dead_letter.properties"
                ));
            }
        }
        Ok(())
    }
}

/// Accepts strings, integers, floats and booleans as librdkafka setting values.
/// A map of librdkafka settings: scalars as they are, and `{ env = "VAR" }` or
/// `{ file = "/path" }` for values that must stay out of the config file (passwords).
fn scalar_map<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Scalar {
        String(String),
        Int(i64),
        Float(f64),
        Bool(bool),
        Reference(toml::value::Table),
    }
    let raw = BTreeMap::<String, Scalar>::deserialize(d)?;
    raw.into_iter()
        .map(|(k, v)| {
            let v = match v {
                Scalar::String(s) => s,
                Scalar::Int(i) => i.to_string(),
                Scalar::Float(x) => x.to_string(),
                Scalar::Bool(b) => b.to_string(),
                Scalar::Reference(table) => toml::Value::Table(table)
                    .try_into::<cdc_ops::Secret>()
                    .map_err(|e| {
                        serde::de::Error::custom(format!("property {k}: {}", e.message()))
                    })?
                    .expose()
                    .to_owned(),
            };
            Ok((k, v))
        })
        .collect()
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
        assert_eq!(c.maintenance, MaintenanceConfig::default());
        assert!(c.maintenance.enabled);
        assert_eq!(c.maintenance.max_snapshot_age_secs, 432_000);
        assert_eq!(c.maintenance.orphan_min_age_secs, 259_200);
    }

    #[test]
    fn maintenance_limits() {
        let zero_age = format!("{MINIMAL}[maintenance]\norphan_min_age_secs = 0\n");
        assert!(parse(&zero_age)
            .unwrap_err()
            .contains("orphan_min_age_secs"));
        let ratio = format!("{MINIMAL}[maintenance]\ndelete_ratio_threshold = 0\n");
        assert!(parse(&ratio)
            .unwrap_err()
            .contains("delete_ratio_threshold"));
        let ok = format!("{MINIMAL}[maintenance]\nenabled = false\ninterval_secs = 60\n");
        let c = parse(&ok).unwrap();
        assert!(!c.maintenance.enabled);
        assert_eq!(c.maintenance.interval_secs, 60);
    }

    #[test]
    fn dead_letter_defaults() {
        let c = parse(MINIMAL).unwrap();
        assert!(c.dead_letter.enabled);
        assert_eq!(
            c.dead_letter.topic_for(&c.kafka).as_deref(),
            Some("cdc-sink.dlq")
        );
        assert!(c.dead_letter.create_topic);
        assert_eq!(c.dead_letter.topic_partitions, 1);
        assert_eq!(c.dead_letter.topic_replication_factor, -1);
    }

    #[test]
    fn dead_letter_topic_is_checked() {
        let off = parse(&format!("{MINIMAL}[dead_letter]\nenabled = false\n")).unwrap();
        assert_eq!(off.dead_letter.topic_for(&off.kafka), None);
        let grouped = MINIMAL.replace("topics", "group_id = \"lake\"\ntopics");
        let c = parse(&grouped).unwrap();
        assert_eq!(
            c.dead_letter.topic_for(&c.kafka).as_deref(),
            Some("lake.dlq")
        );
        let own = format!("{MINIMAL}[dead_letter]\ntopic = \"a.b.c\"\n");
        assert!(parse(&own).unwrap_err().contains("its own dead letters"));
        let pattern = "[kafka]\nbootstrap_servers = \"k\"\ntopic_pattern = \"^cdc.*\"\n\
                       [iceberg]\ndata_dir = \"/x\"\n";
        assert!(parse(pattern)
            .unwrap_err()
            .contains("matches kafka.topic_pattern"));
        let elsewhere = format!("{pattern}[dead_letter]\ntopic = \"dead.letters\"\n");
        parse(&elsewhere).unwrap();
        let acks = format!("{MINIMAL}[dead_letter.properties]\nacks = 1\n");
        assert!(parse(&acks).unwrap_err().contains("dead-letter producer"));
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

    #[test]
    fn properties_read_secrets_from_files_and_name_the_key_when_missing() {
        let dir = std::env::temp_dir().join(format!("cdc-sink-secret-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("sasl");
        std::fs::write(&file, "Kafka-Pw-0x5eed\n").unwrap();
        let text = MINIMAL.replace(
            "topics",
            &format!(
                "properties = {{ \"sasl.password\" = {{ file = \"{}\" }} }}\ntopics",
                file.display()
            ),
        );
        let c = parse(&text).unwrap();
        assert_eq!(c.kafka.properties["sasl.password"], "Kafka-Pw-0x5eed");
        assert!(!format!("{c:?}").contains("Kafka-Pw-0x5eed"));
        let missing = MINIMAL.replace(
            "topics",
            "properties = { \"sasl.password\" = { env = \"CDC_SINK_TEST_NO_SUCH_VAR\" } }\ntopics",
        );
        let err = parse(&missing).unwrap_err();
        assert!(
            err.contains("sasl.password") && err.contains("CDC_SINK_TEST_NO_SUCH_VAR"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
