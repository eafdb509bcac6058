//! `cdc-capture` configuration (TOML, with `CDC_CAPTURE__SECTION__KEY` environment overrides).

use std::collections::BTreeMap;
use std::path::PathBuf;

use cdc_model::debezium::ValueOptions;
use cdc_ops::{OpsConfig, Secret};
use serde::Deserialize;

use crate::selection::Selection;
use crate::CaptureError;

/// Complete configuration of one capture instance (one source database).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptureConfig {
    /// Logical server name: topics are `<topic_prefix>.<schema>.<table>` (Debezium `topic.prefix`).
    pub topic_prefix: String,
    pub source: SourceConfig,
    pub kafka: KafkaConfig,
    #[serde(default)]
    pub state: StateConfig,
    #[serde(default)]
    pub snapshot: SnapshotConfig,
    /// How column values are rendered (Debezium's handling modes).
    #[serde(default)]
    pub values: ValueOptions,
    /// Which events are emitted besides row changes.
    #[serde(default)]
    pub events: EventsConfig,
    #[serde(default)]
    pub ops: OpsConfig<9101>,
}

/// Event-level options, named as in Debezium.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsConfig {
    /// `tombstones.on.delete`: a null-value record with the same key after each delete.
    #[serde(default = "default_true")]
    pub tombstones_on_delete: bool,
    /// `skipped.operations`: op codes not emitted (`c`, `u`, `d`, `t`); `none` or empty = all.
    #[serde(default = "default_skipped_operations")]
    pub skipped_operations: Vec<String>,
    /// `provide.transaction.metadata`: BEGIN/END records on `<topic_prefix>.transaction` and a
    /// `transaction` block in every change event.
    #[serde(default)]
    pub provide_transaction_metadata: bool,
    /// `heartbeat.interval.ms`: 0 = off. Heartbeats go to `__debezium-heartbeat.<topic_prefix>`
    /// and let the slot advance while captured tables are idle.
    #[serde(default)]
    pub heartbeat_interval_ms: u64,
    /// `heartbeat.action.query`: SQL run on each heartbeat (e.g. an upsert into a heartbeat
    /// table) so that an otherwise idle captured database writes WAL.
    #[serde(default)]
    pub heartbeat_action_query: Option<String>,
    /// `topic.heartbeat.prefix`.
    #[serde(default = "default_heartbeat_prefix")]
    pub heartbeat_topic_prefix: String,
}

impl Default for EventsConfig {
    fn default() -> Self {
        EventsConfig {
            tombstones_on_delete: true,
            skipped_operations: default_skipped_operations(),
            provide_transaction_metadata: false,
            heartbeat_interval_ms: 0,
            heartbeat_action_query: None,
            heartbeat_topic_prefix: default_heartbeat_prefix(),
        }
    }
}

fn default_skipped_operations() -> Vec<String> {
    vec!["t".into()]
}

fn default_heartbeat_prefix() -> String {
    "__debezium-heartbeat".into()
}

/// Which database the capture reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// PostgreSQL logical replication (pgoutput).
    #[default]
    Postgres,
    /// MySQL 8.x binlog (`source.connector = mysql`).
    Mysql,
    /// MariaDB 10.6+ binlog (`source.connector = mariadb`).
    Mariadb,
}

impl SourceKind {
    pub fn is_binlog(self) -> bool {
        matches!(self, SourceKind::Mysql | SourceKind::Mariadb)
    }
}

/// The source database (PostgreSQL, MySQL or MariaDB: `kind`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// `postgres` (default), `mysql` or `mariadb`.
    #[serde(default)]
    pub kind: SourceKind,
    #[serde(default = "default_host")]
    pub host: String,
    /// Default 5432 (PostgreSQL) or 3306 (MySQL / MariaDB); see [`SourceConfig::port`].
    #[serde(default)]
    pub port: Option<u16>,
    pub user: String,
    /// Inline, `{ env = "VAR" }` or `{ file = "/path" }`.
    #[serde(default)]
    pub password: Secret,
    /// PostgreSQL: the database (required). MySQL / MariaDB: unused (select databases with
    /// `database_include_list` or `tables`).
    #[serde(default)]
    pub database: String,
    /// TLS of every source connection (Debezium PostgreSQL `database.sslmode`, MySQL /
    /// MariaDB `database.ssl.mode`; libpq semantics): `disable`, `prefer` (default: TLS when
    /// offered, certificate not checked), `require` (TLS, certificate not checked),
    /// `verify_ca` (chain checked against `ssl_root_cert`; PostgreSQL only), `verify_full`
    /// (chain and host name checked; use this outside a trusted network).
    #[serde(default)]
    pub ssl_mode: SslMode,
    /// PEM bundle of the CAs trusted by `verify_ca` / `verify_full` (Debezium
    /// `database.sslrootcert`); default: the Mozilla root certificates.
    #[serde(default)]
    pub ssl_root_cert: Option<PathBuf>,
    /// Client certificate chain (PEM) for servers that require one (`database.sslcert`).
    #[serde(default)]
    pub ssl_cert: Option<PathBuf>,
    /// Its unencrypted private key (PEM; PKCS#8, PKCS#1 or SEC1) (`database.sslkey`).
    #[serde(default)]
    pub ssl_key: Option<PathBuf>,
    /// MySQL / MariaDB `database.server.id`: the replica server id of the binlog connection
    /// (required; unique among the server's replicas).
    #[serde(default)]
    pub server_id: Option<u32>,
    /// MySQL / MariaDB `database.include.list`: comma-separated regexes on the database name.
    #[serde(default)]
    pub database_include_list: Option<String>,
    /// MySQL / MariaDB `database.exclude.list`.
    #[serde(default)]
    pub database_exclude_list: Option<String>,
    /// MySQL / MariaDB `schema.history.internal.kafka.topic`: the schema history topic
    /// (single partition, infinite retention, created if missing). Default
    /// `schema-history.<topic_prefix>`.
    #[serde(default)]
    pub schema_history_topic: Option<String>,
    /// MySQL / MariaDB `include.schema.changes`: schema-change records on `<topic_prefix>`.
    #[serde(default = "default_true")]
    pub include_schema_changes: bool,
    /// MySQL / MariaDB `include.query`: the SQL statement in `source.query` (needs
    /// `binlog_rows_query_log_events` / `binlog_annotate_row_events`).
    #[serde(default)]
    pub include_query: bool,
    /// MySQL / MariaDB `bigint.unsigned.handling.mode`: `long` (default) or `precise`.
    #[serde(default)]
    pub bigint_unsigned_handling_mode: cdc_mysql::types::BigIntUnsignedMode,
    /// MySQL / MariaDB `enable.time.adjuster`: two-digit years become 19xx / 20xx.
    #[serde(default = "default_true")]
    pub enable_time_adjuster: bool,
    /// Replication slot (created if missing); `[a-z0-9_]` only.
    #[serde(default = "default_slot")]
    pub slot_name: String,
    /// Publication (created if missing, extended with missing tables); `[a-z0-9_]` only.
    #[serde(default = "default_publication")]
    pub publication_name: String,
    /// What to do about the publication at start (Debezium `publication.autocreate.mode`).
    #[serde(default)]
    pub publication_autocreate_mode: PublicationMode,
    /// Captured tables as `schema.table`. Alternatively select them with the include/exclude
    /// lists below (not both).
    #[serde(default)]
    pub tables: Vec<String>,
    /// `table.include.list`: comma-separated regexes on `schema.table` (see `selection`).
    #[serde(default)]
    pub table_include_list: Option<String>,
    /// `table.exclude.list`.
    #[serde(default)]
    pub table_exclude_list: Option<String>,
    /// `schema.include.list`: comma-separated regexes on the schema name.
    #[serde(default)]
    pub schema_include_list: Option<String>,
    /// `schema.exclude.list`.
    #[serde(default)]
    pub schema_exclude_list: Option<String>,
    /// `column.include.list`: comma-separated regexes on `schema.table.column` (MySQL /
    /// MariaDB: `database.table.column`).
    #[serde(default)]
    pub column_include_list: Option<String>,
    /// `column.exclude.list`.
    #[serde(default)]
    pub column_exclude_list: Option<String>,
    /// `message.key.columns`: `schema.table:col1,col2;…` key overrides.
    #[serde(default)]
    pub message_key_columns: Option<String>,
    /// `signal.data.collection`: the `schema.table` of the Debezium signalling table
    /// (`id varchar(42) primary key, type varchar(32) not null, data varchar(2048)`). It is
    /// captured like any other table; `execute-snapshot` signals start incremental
    /// snapshots, and the capture writes its watermarks into it.
    #[serde(default)]
    pub signal_data_collection: Option<String>,
}

/// TLS mode of the source connections (libpq `sslmode`; Debezium's hyphenated spellings
/// are accepted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SslMode {
    Disable,
    #[default]
    Prefer,
    Require,
    #[serde(alias = "verify-ca")]
    VerifyCa,
    #[serde(alias = "verify-full")]
    VerifyFull,
}

impl SslMode {
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify_ca",
            SslMode::VerifyFull => "verify_full",
        }
    }
}

/// Debezium's `publication.autocreate.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PublicationMode {
    /// Create the publication `FOR TABLE` the captured tables if missing; otherwise make
    /// its table list equal to them (`ALTER PUBLICATION … SET TABLE`). A `FOR ALL TABLES`
    /// publication is an error.
    #[default]
    Filtered,
    /// Create the publication `FOR ALL TABLES` if missing; use an existing one as it is.
    AllTables,
    /// The publication must exist; it is used as it is.
    Disabled,
    /// Create the publication without tables if missing (tables are added by an operator);
    /// use an existing one as it is.
    NoTables,
}

/// The Kafka cluster events are published to.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaConfig {
    pub bootstrap_servers: String,
    /// Extra librdkafka producer properties (e.g. `security.protocol`). Values never logged.
    #[serde(default)]
    pub properties: BTreeMap<String, Secret>,
    /// Records handed to the producer but not yet acknowledged, at most. When reached, the
    /// replication reader stops reading until acknowledgements catch up.
    #[serde(default = "default_max_in_flight")]
    pub max_in_flight: usize,
    /// Create missing data topics at start (needed where the brokers do not auto-create).
    #[serde(default = "default_true")]
    pub create_topics: bool,
    /// Partitions of created topics.
    #[serde(default = "default_topic_partitions")]
    pub topic_partitions: i32,
    /// Replication factor of created topics; -1 = the broker's `default.replication.factor`.
    #[serde(default = "default_replication_factor")]
    pub topic_replication_factor: i32,
    /// `source.version` written into events.
    #[serde(default = "default_version")]
    pub source_version: String,
    /// Exactly-once delivery with a transactional producer (records and the resume position
    /// commit together). `false`: idempotent producer and a local checkpoint file
    /// (at-least-once: a crash may republish the unconfirmed tail).
    #[serde(default = "default_true")]
    pub exactly_once: bool,
    /// `transactional.id` of this capture; default `cdc-capture.<topic_prefix>`. A second
    /// instance with the same id fences the first.
    #[serde(default)]
    pub transactional_id: Option<String>,
    /// Compacted topic holding the resume position (key = topic_prefix), created if missing.
    #[serde(default = "default_offsets_topic")]
    pub offsets_topic: String,
    /// Longest time a Kafka transaction stays open before it commits: the delay before
    /// `read_committed` consumers see a change, traded against commit overhead (reading
    /// pauses while a commit flushes; `dev/bench pg` measured 14.9k rows/s at 100 ms and
    /// 22.7k rows/s at 1000 ms).
    #[serde(default = "default_commit_interval_ms")]
    pub commit_interval_ms: u64,
    /// `transaction.timeout.ms` of the producer.
    #[serde(default = "default_transaction_timeout_ms")]
    pub transaction_timeout_ms: u64,
}

/// Where the capture keeps its resume position.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateConfig {
    /// Directory of the checkpoint file `<topic_prefix>.checkpoint`.
    #[serde(default = "default_state_dir")]
    pub dir: PathBuf,
    /// Minimum interval between checkpoint file writes while streaming.
    #[serde(default = "default_checkpoint_interval_ms")]
    pub checkpoint_interval_ms: u64,
}

/// Initial snapshot behaviour.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotConfig {
    /// Debezium `snapshot.mode`, see [`SnapshotMode`].
    #[serde(default = "default_snapshot_mode")]
    pub mode: SnapshotMode,
    /// MySQL / MariaDB `snapshot.locking.mode`, see [`SnapshotLocking`].
    #[serde(default)]
    pub locking_mode: SnapshotLocking,
    /// PostgreSQL: rows fetched per round trip. MySQL / MariaDB: rows per primary-key chunk
    /// (the unit of parallel reading and of resume).
    #[serde(default = "default_fetch_size")]
    pub fetch_size: u32,
    /// Connections reading each table in parallel (Debezium `snapshot.max.threads`); tables
    /// are cut into CTID ranges.
    #[serde(default = "default_max_threads")]
    pub max_threads: usize,
    /// Rows per chunk of an incremental snapshot (Debezium
    /// `incremental.snapshot.chunk.size`).
    #[serde(default = "default_incremental_chunk_size")]
    pub incremental_chunk_size: u32,
}

/// How a MySQL / MariaDB snapshot is made consistent with its binlog position (Debezium
/// `snapshot.locking.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotLocking {
    /// `FLUSH TABLES WITH READ LOCK` while the snapshot transactions start and the schemas
    /// and position are read (needs `RELOAD`); Debezium's `minimal`.
    #[default]
    #[serde(alias = "global")]
    Minimal,
    /// `LOCK TABLES … READ` on the captured tables only (managed services without `RELOAD`).
    Tables,
    /// MariaDB only: no lock; the snapshot's own binlog position
    /// (`binlog_snapshot_file/position`). Schemas must not change during the snapshot.
    None,
}

impl SnapshotLocking {
    pub fn lock_mode(self) -> cdc_mysql::snapshot::LockMode {
        match self {
            SnapshotLocking::Minimal => cdc_mysql::snapshot::LockMode::Global,
            SnapshotLocking::Tables => cdc_mysql::snapshot::LockMode::Tables,
            SnapshotLocking::None => cdc_mysql::snapshot::LockMode::MariaDbNoLock,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotMode {
    /// Snapshot existing rows when there is no completed snapshot (new slot), then stream.
    Initial,
    /// As `initial`, but stop (exit 0) once the snapshot is published instead of streaming.
    InitialOnly,
    /// No snapshot: stream from the point the slot was created (`never` is the legacy name).
    #[serde(alias = "never")]
    NoData,
    /// As `initial`, and also take a new snapshot when the checkpoint's slot was lost
    /// (MySQL / MariaDB: when the server purged binlog events after the stored position)
    /// instead of stopping with an error.
    WhenNeeded,
    /// Snapshot on every start; with a usable slot and checkpoint, stream from the slot
    /// after the snapshot (changes since the checkpoint are replayed after the snapshot).
    /// MySQL / MariaDB: stream from the new snapshot's binlog position.
    Always,
}

fn default_host() -> String {
    "127.0.0.1".into()
}
fn default_slot() -> String {
    "cdc".into()
}
fn default_publication() -> String {
    "cdc_publication".into()
}
fn default_max_in_flight() -> usize {
    50_000
}
fn default_true() -> bool {
    true
}
fn default_topic_partitions() -> i32 {
    1
}
fn default_replication_factor() -> i32 {
    -1
}
fn default_version() -> String {
    cdc_model::debezium::DEBEZIUM_VERSION.into()
}
fn default_offsets_topic() -> String {
    "cdc-capture-offsets".into()
}
fn default_commit_interval_ms() -> u64 {
    100
}
fn default_transaction_timeout_ms() -> u64 {
    60_000
}
fn default_state_dir() -> PathBuf {
    PathBuf::from("cdc-state")
}
fn default_checkpoint_interval_ms() -> u64 {
    1000
}
fn default_snapshot_mode() -> SnapshotMode {
    SnapshotMode::Initial
}
fn default_incremental_chunk_size() -> u32 {
    1024
}
fn default_max_threads() -> usize {
    4
}
fn default_fetch_size() -> u32 {
    10_000
}

impl SourceConfig {
    /// The port, or the kind's default (5432 / 3306).
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.kind {
            SourceKind::Postgres => 5432,
            SourceKind::Mysql | SourceKind::Mariadb => 3306,
        })
    }
}

impl Default for StateConfig {
    fn default() -> Self {
        StateConfig {
            dir: default_state_dir(),
            checkpoint_interval_ms: default_checkpoint_interval_ms(),
        }
    }
}

impl Default for SnapshotConfig {
    fn default() -> Self {
        SnapshotConfig {
            mode: default_snapshot_mode(),
            locking_mode: SnapshotLocking::default(),
            fetch_size: default_fetch_size(),
            max_threads: default_max_threads(),
            incremental_chunk_size: default_incremental_chunk_size(),
        }
    }
}

impl KafkaConfig {
    /// librdkafka settings every client of the capture shares: brokers and `properties`.
    pub fn client_config(&self) -> rdkafka::ClientConfig {
        let mut client = rdkafka::ClientConfig::new();
        client.set("bootstrap.servers", &self.bootstrap_servers);
        for (key, value) in &self.properties {
            client.set(key, value.expose());
        }
        client
    }
}

impl CaptureConfig {
    /// Checks what serde cannot and returns the compiled table/column selection.
    pub fn validate(&self) -> Result<Selection, CaptureError> {
        let plain = |what: &str, v: &str| {
            if v.is_empty()
                || !v
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            {
                Err(CaptureError::Config(format!(
                    "{what} {v:?} must be non-empty and use only [a-z0-9_]"
                )))
            } else {
                Ok(())
            }
        };
        self.validate_source_kind()?;
        plain("source.slot_name", &self.source.slot_name)?;
        plain("source.publication_name", &self.source.publication_name)?;
        if self.topic_prefix.is_empty()
            || !self
                .topic_prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        {
            return Err(CaptureError::Config(format!(
                "topic_prefix {:?} must be non-empty and use only [A-Za-z0-9._-]",
                self.topic_prefix
            )));
        }
        if self.kafka.topic_partitions < 1 || self.kafka.topic_replication_factor == 0 {
            return Err(CaptureError::Config(
                "kafka.topic_partitions must be >= 1 and kafka.topic_replication_factor \
                 >= 1 or -1 (broker default)"
                    .into(),
            ));
        }
        if self.kafka.max_in_flight == 0
            || self.snapshot.fetch_size == 0
            || self.snapshot.max_threads == 0
        {
            return Err(CaptureError::Config(
                "kafka.max_in_flight, snapshot.fetch_size and snapshot.max_threads must be \
                 positive"
                    .into(),
            ));
        }
        Selection::from_config(&self.source)
    }

    /// Settings that exist for one source kind only.
    fn validate_source_kind(&self) -> Result<(), CaptureError> {
        let s = &self.source;
        if s.ssl_cert.is_some() != s.ssl_key.is_some() {
            return Err(CaptureError::Config(
                "source.ssl_cert and source.ssl_key go together (client certificate and its key)"
                    .into(),
            ));
        }
        let set = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.trim().is_empty());
        if s.kind.is_binlog() {
            if s.ssl_mode == SslMode::VerifyCa {
                return Err(CaptureError::Config(
                    "source.ssl_mode = verify_ca is not supported for MySQL / MariaDB \
                     (mysql_async cannot check the chain without the host name); use \
                     verify_full with a server certificate that names source.host"
                        .into(),
                ));
            }
            if s.server_id.is_none_or(|id| id == 0) {
                return Err(CaptureError::Config(
                    "source.server_id (Debezium database.server.id) is required for MySQL / \
                     MariaDB: a non-zero id, unique among the server's replicas"
                        .into(),
                ));
            }
            if set(&s.schema_include_list) || set(&s.schema_exclude_list) {
                return Err(CaptureError::Config(
                    "source.schema_include_list / schema_exclude_list are PostgreSQL options; \
                     MySQL / MariaDB select databases with database_include_list / \
                     database_exclude_list"
                        .into(),
                ));
            }
            if self
                .events
                .heartbeat_action_query
                .as_deref()
                .is_some_and(|q| !q.trim().is_empty())
            {
                return Err(CaptureError::Config(
                    "events.heartbeat_action_query is not supported for MySQL / MariaDB yet \
                     (binlog heartbeats need no write to the source)"
                        .into(),
                ));
            }
            if self.snapshot.locking_mode == SnapshotLocking::None && s.kind == SourceKind::Mysql {
                return Err(CaptureError::Config(
                    "snapshot.locking_mode = none needs MariaDB (source.kind = mariadb); \
                     use tables on MySQL without the RELOAD privilege"
                        .into(),
                ));
            }
            self.mysql_modes()?;
        } else {
            if s.database.is_empty() {
                return Err(CaptureError::Config(
                    "source.database is required for PostgreSQL".into(),
                ));
            }
            if set(&s.database_include_list) || set(&s.database_exclude_list) {
                return Err(CaptureError::Config(
                    "source.database_include_list / database_exclude_list are MySQL / MariaDB \
                     options; PostgreSQL selects schemas with schema_include_list / \
                     schema_exclude_list"
                        .into(),
                ));
            }
        }
        Ok(())
    }

    /// The type handling modes of a MySQL / MariaDB capture: `values` with Debezium's
    /// MySQL default time precision (`adaptive`, PostgreSQL's default, means
    /// `adaptive_time_microseconds` here).
    pub fn mysql_modes(&self) -> Result<cdc_mysql::types::HandlingModes, CaptureError> {
        use cdc_model::debezium::TimePrecisionMode;
        let mut value = self.values.clone();
        if value.time_precision_mode == TimePrecisionMode::Adaptive {
            value.time_precision_mode = TimePrecisionMode::AdaptiveTimeMicroseconds;
        }
        let modes = cdc_mysql::types::HandlingModes {
            value,
            bigint_unsigned_handling_mode: self.source.bigint_unsigned_handling_mode,
            enable_time_adjuster: self.source.enable_time_adjuster,
        };
        modes
            .validate()
            .map_err(|e| CaptureError::Config(format!("values: {e}")))?;
        Ok(modes)
    }

    /// The MySQL / MariaDB schema history topic.
    pub fn schema_history_topic(&self) -> String {
        self.source
            .schema_history_topic
            .clone()
            .filter(|t| !t.trim().is_empty())
            .unwrap_or_else(|| format!("schema-history.{}", self.topic_prefix))
    }

    /// The producer's `transactional.id`.
    pub fn transactional_id(&self) -> String {
        self.kafka
            .transactional_id
            .clone()
            .unwrap_or_else(|| format!("cdc-capture.{}", self.topic_prefix))
    }

    /// Op codes not to emit (`skipped.operations`).
    pub fn skipped_operations(&self) -> Result<Vec<cdc_model::Op>, CaptureError> {
        let mut ops = Vec::new();
        for code in &self.events.skipped_operations {
            let code = code.trim();
            if code.is_empty() || code == "none" {
                continue;
            }
            match cdc_model::Op::from_code(code) {
                Some(op) if op != cdc_model::Op::Read => ops.push(op),
                _ => {
                    return Err(CaptureError::Config(format!(
                        "events.skipped_operations: {code:?} is not one of c, u, d, t, none"
                    )))
                }
            }
        }
        Ok(ops)
    }

    /// Path of the checkpoint file.
    pub fn checkpoint_path(&self) -> PathBuf {
        self.state
            .dir
            .join(format!("{}.checkpoint", self.topic_prefix))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(extra: &str) -> CaptureConfig {
        let text = format!(
            "topic_prefix = \"srv\"\n[source]\nuser = \"u\"\ndatabase = \"d\"\n\
             tables = [\"public.a\"]\n{extra}\n[kafka]\nbootstrap_servers = \"k:9092\"\n"
        );
        toml::from_str(&text).unwrap()
    }

    #[test]
    fn defaults_and_validation() {
        let c = parse("");
        assert_eq!(c.source.slot_name, "cdc");
        assert_eq!(
            c.validate().unwrap().select_tables(&[]),
            vec![cdc_model::TableId::new("public", "a")]
        );
        assert_eq!(
            c.source.publication_autocreate_mode,
            PublicationMode::Filtered
        );
        assert_eq!(c.snapshot.mode, SnapshotMode::Initial);
        let c = parse("table_include_list = \"public.x\"");
        assert!(c.validate().is_err(), "tables and filters are exclusive");
        assert_eq!(
            c.checkpoint_path(),
            PathBuf::from("cdc-state/srv.checkpoint")
        );
        assert!(parse("slot_name = \"Bad-Slot\"").validate().is_err());
        let mut bad = parse("");
        bad.source.tables = vec!["nodot".into()];
        assert!(bad.validate().is_err());
    }

    #[test]
    fn mysql_sources() {
        let mysql = |extra: &str| -> CaptureConfig {
            let text = format!(
                "topic_prefix = \"srv\"\n[source]\nkind = \"mariadb\"\nuser = \"u\"\n{extra}\n\
                 [kafka]\nbootstrap_servers = \"k:9092\"\n"
            );
            toml::from_str(&text).unwrap()
        };
        let c = mysql("server_id = 5400\ndatabase_include_list = \"inventory\"");
        assert_eq!(c.source.kind, SourceKind::Mariadb);
        assert_eq!(c.source.port(), 3306);
        assert!(c.source.include_schema_changes);
        assert!(!c.source.include_query);
        assert_eq!(c.schema_history_topic(), "schema-history.srv");
        assert_eq!(c.snapshot.locking_mode, SnapshotLocking::Minimal);
        let selection = c.validate().unwrap();
        let picked = selection.select_tables(&[
            cdc_model::TableId::new("inventory", "orders"),
            cdc_model::TableId::new("other", "orders"),
        ]);
        assert_eq!(picked, vec![cdc_model::TableId::new("inventory", "orders")]);
        assert_eq!(
            c.mysql_modes().unwrap().value.time_precision_mode,
            cdc_model::debezium::TimePrecisionMode::AdaptiveTimeMicroseconds
        );
        let err = |c: CaptureConfig| c.validate().unwrap_err().to_string();
        assert!(err(mysql("")).contains("server_id"));
        assert!(err(mysql(
            "server_id = 1\n[events]\nheartbeat_action_query = \"SELECT 1\""
        ))
        .contains("heartbeat_action_query"));
        assert!(err(mysql("server_id = 1\nschema_include_list = \"x\""))
            .contains("database_include_list"));
        let tls = mysql(
            "server_id = 1\nssl_mode = \"verify_full\"\nssl_root_cert = \"/ca.pem\"\n\
             ssl_cert = \"/c.pem\"\nssl_key = \"/k.pem\"",
        );
        assert_eq!(tls.source.ssl_mode, SslMode::VerifyFull);
        tls.validate().unwrap();
        assert!(err(mysql("server_id = 1\nssl_mode = \"verify-ca\"")).contains("verify_full"));
        assert!(err(mysql("server_id = 1\nssl_cert = \"/c.pem\"")).contains("ssl_key"));
        let c: CaptureConfig = toml::from_str(
            "topic_prefix = \"srv\"\n[source]\nkind = \"mysql\"\nuser = \"u\"\nserver_id = 1\n\
             [snapshot]\nlocking_mode = \"none\"\n[kafka]\nbootstrap_servers = \"k\"\n",
        )
        .unwrap();
        assert!(err(c).contains("needs MariaDB"));
        // PostgreSQL: the database is required, the MySQL options are refused.
        let mut pg = parse("");
        pg.source.database.clear();
        assert!(err(pg).contains("source.database is required"));
        let mut pg = parse("");
        pg.source.database_include_list = Some("x".into());
        assert!(err(pg).contains("MySQL / MariaDB options"));
        assert_eq!(parse("").source.port(), 5432);
    }

    #[test]
    fn snapshot_mode_names() {
        for (text, mode) in [
            ("initial", SnapshotMode::Initial),
            ("initial_only", SnapshotMode::InitialOnly),
            ("no_data", SnapshotMode::NoData),
            ("never", SnapshotMode::NoData),
            ("when_needed", SnapshotMode::WhenNeeded),
            ("always", SnapshotMode::Always),
        ] {
            let c = parse(&format!("[snapshot]\nmode = \"{text}\""));
            assert_eq!(c.snapshot.mode, mode, "{text}");
        }
    }
}
