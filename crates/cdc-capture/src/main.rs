//! `cdc-capture` binary: parses the command line and configuration, then runs the capture.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use cdc_capture::dbz_config;
use clap::Parser;

/// Streams changes of PostgreSQL tables into Kafka as Debezium-compatible change events.
///
/// The capture creates (if missing) a publication for the configured tables and a pgoutput
/// replication slot, takes a consistent initial snapshot of existing rows (op `r`) from the
/// slot's exported snapshot — in parallel within each table, resumable after a crash — then
/// streams inserts, updates and deletes (op `c`/`u`/`d`, a tombstone after each delete) to
/// the topics `<topic_prefix>.<schema>.<table>` using Debezium 3.6's JSON envelope
/// (JsonConverter, schemas enabled), plus Debezium's transaction, heartbeat and message
/// topics when enabled. Delivery is exactly once by default: records and the resume position
/// commit together in Kafka transactions (consumers read with isolation.level=read_committed),
/// the slot is confirmed after the commit, and a restart resumes exactly after the last
/// committed change. Rows inserted into the signal table start incremental snapshots.
///
/// CONFIGURATION (TOML; every key can be overridden by an environment variable
/// CDC_CAPTURE__<SECTION>__<KEY>, e.g. CDC_CAPTURE__KAFKA__BOOTSTRAP_SERVERS):
///
///   topic_prefix = "dbserver1"          # Debezium topic.prefix (logical server name)
///
///   [source]
///   host = "127.0.0.1"                  # PostgreSQL host (default 127.0.0.1)
///   port = 5432
///   user = "cdc"                        # needs REPLICATION and SELECT on the tables
///   password = { env = "PGPASSWORD" }   # or "inline", or { file = "/run/secrets/pg" }
///   database = "app"
///   slot_name = "cdc"                   # [a-z0-9_]; created if missing
///   publication_name = "cdc_publication"
///   publication_autocreate_mode = "filtered"   # | all_tables | disabled | no_tables
///   tables = ["public.customers", "public.orders"]   # or, instead, Debezium-style filters:
///   # table_include_list / table_exclude_list = "inventory\\.orders.*,public.x"   (schema.table)
///   # schema_include_list / schema_exclude_list = "inventory"                   (schema)
///   # column_include_list / column_exclude_list = "public.customers.email"      (schema.table.column)
///   # message_key_columns = "public.orders:purchaser,order_date"   # key override
///   # signal_data_collection = "public.debezium_signal"  # execute-snapshot signals -> incremental snapshots
///   # (comma-separated regexes, anchored and case-insensitive; no tables and no filters =
///   #  every table; pg_catalog/information_schema are never captured)
///
///   [kafka]
///   bootstrap_servers = "127.0.0.1:9092"
///   max_in_flight = 50000               # unacknowledged records before reading pauses
///   create_topics = true                # create missing topics (brokers without auto-create)
///   topic_partitions = 1
///   topic_replication_factor = -1       # -1 = broker default
///   properties = { "security.protocol" = "SASL_SSL" }   # extra librdkafka settings
///   exactly_once = true                 # transactional producer + offsets topic (default)
///   transactional_id = "cdc-capture.dbserver1"   # default cdc-capture.<topic_prefix>
///   offsets_topic = "cdc-capture-offsets"        # compacted; key = topic_prefix
///   commit_interval_ms = 100            # Kafka transactions commit at least this often
///
///   [snapshot]
///   mode = "initial"                    # initial | initial_only | no_data (never) |
///                                       # when_needed | always
///   fetch_size = 10000                  # rows per snapshot round trip
///   max_threads = 4                     # connections reading each table (CTID chunks)
///   incremental_chunk_size = 1024       # rows per incremental-snapshot chunk
///
///   [values]                            # Debezium handling modes
///   decimal_handling_mode = "precise"   # | double | string
///   time_precision_mode = "adaptive"    # | adaptive_time_microseconds | connect
///   binary_handling_mode = "bytes"      # | base64 | base64-url-safe | hex
///   interval_handling_mode = "numeric"  # | string
///   hstore_handling_mode = "json"       # | map
///
///   [events]
///   tombstones_on_delete = true
///   skipped_operations = ["t"]          # c, u, d, t; ["none"] = emit truncates too
///   provide_transaction_metadata = false   # BEGIN/END on <topic_prefix>.transaction
///   heartbeat_interval_ms = 0           # > 0: __debezium-heartbeat.<topic_prefix>
///   # heartbeat_action_query = "UPDATE heartbeat SET ts = now()"
///
///   [state]                             # exactly_once = false only
///   dir = "cdc-state"                   # checkpoint file <dir>/<topic_prefix>.checkpoint
///   checkpoint_interval_ms = 1000
///
///   [ops]
///   listen = "127.0.0.1:9101"           # GET /metrics (Prometheus) and GET /healthz
///   log_format = "human"                # or "json"
///   log_filter = "info"                 # RUST_LOG syntax; RUST_LOG wins when set
///
/// DEBEZIUM CONNECTOR CONFIGS: `--config connector.properties` or `--config connector.json`
/// (Kafka Connect `{"name": …, "config": {…}}` or a bare map) runs a Debezium PostgreSQL,
/// MySQL or MariaDB connector configuration as is (connector.class PostgresConnector,
/// MySqlConnector or MariaDbConnector). Its options are translated into the keys above
/// (topic.prefix, database.*, slot.name, publication.*, the include/exclude lists,
/// message.key.columns, snapshot.mode, snapshot.fetch.size, the handling modes, tombstones,
/// skipped.operations, heartbeat.*, provide.transaction.metadata, signal.data.collection;
/// MySQL / MariaDB: database.server.id, database.include/exclude.list, include.query,
/// include.schema.changes, bigint.unsigned.handling.mode, enable.time.adjuster,
/// snapshot.locking.mode, schema.history.internal.kafka.topic/bootstrap.servers), then
/// CDC_CAPTURE__* overrides apply on top. Kafka brokers are not part of a PostgreSQL
/// connector config: set CDC_CAPTURE__KAFKA__BOOTSTRAP_SERVERS or the extra key
/// kafka.bootstrap.servers (MySQL / MariaDB: schema.history.internal.kafka.bootstrap.servers).
/// Options without effect on the records (max.queue.size, snapshot.isolation.mode, …) are
/// ignored with a warning naming them; options that would change the records (transforms,
/// column.mask.*, non-JSON converters, plugin.name=decoderbufs, …) and unknown options stop
/// the start with an error naming each. ${env:VAR}, ${file:path:key} and
/// ${directory:path:file} references are resolved. Debezium's defaults apply where ours
/// differ (slot.name=debezium, publication.name=dbz_publication,
/// publication.autocreate.mode=all_tables). To take over from a stopped Debezium connector
/// without a new snapshot, start with CDC_CAPTURE__SNAPSHOT__MODE=no_data: its slot is
/// adopted and streamed from its confirmed position. --check prints the translated
/// configuration (password masked) and the warnings.
///
/// SIGINT/SIGTERM stop reading, commit (or wait for Kafka to acknowledge) everything sent,
/// make the position durable and exit 0. Secrets never appear in logs or errors.
#[derive(Parser, Debug)]
#[command(name = "cdc-capture", version, verbatim_doc_comment)]
struct Cli {
    /// Path of the TOML configuration file, or of a Debezium connector configuration
    /// (`.properties` or `.json`; see above). Without it, configuration comes from
    /// CDC_CAPTURE__* environment variables only.
    #[arg(short, long, env = "CDC_CAPTURE_CONFIG")]
    config: Option<PathBuf>,

    /// Log format, overriding `ops.log_format`: `human` or `json`.
    #[arg(long)]
    log_format: Option<cdc_ops::LogFormat>,

    /// Address for /metrics and /healthz, overriding `ops.listen` (e.g. 0.0.0.0:9101).
    #[arg(long)]
    metrics_listen: Option<String>,

    /// Validate the configuration, print the resolved settings (secrets masked) and exit.
    #[arg(long)]
    check: bool,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let (mut config, warnings) = load(cli.config.as_deref())?;
    if let Some(format) = cli.log_format {
        config.ops.log_format = format;
    }
    if let Some(listen) = cli.metrics_listen {
        config.ops.listen = listen;
    }
    if cli.check {
        config.validate()?;
        for warning in &warnings {
            println!("warning: {warning}");
        }
        println!("{config:#?}");
        return Ok(());
    }
    cdc_ops::init_logging(config.ops.log_format, &config.ops.log_filter)?;
    for warning in &warnings {
        tracing::warn!("Debezium connector config: {warning}");
    }
    let runtime = tokio::runtime::Runtime::new().context("starting the tokio runtime")?;
    runtime.block_on(async {
        let shutdown = cdc_capture::Shutdown::new();
        tokio::spawn(cdc_ops::shutdown_on_signals(shutdown.clone()));
        if let Err(e) = cdc_capture::run(config, shutdown).await {
            tracing::error!(error = %e, "cdc-capture stopped with an error");
            return Err(anyhow::Error::new(e));
        }
        Ok(())
    })
}

/// Loads our TOML, or a Debezium connector configuration (`.properties`, `.json`)
/// translated into the same shape; environment overrides apply on top of either. Returns
/// the warnings about ignored Debezium options (logged once logging is set up).
fn load(path: Option<&Path>) -> anyhow::Result<(cdc_capture::CaptureConfig, Vec<String>)> {
    const ENV_PREFIX: &str = "CDC_CAPTURE";
    match path {
        Some(path) if dbz_config::is_debezium_config(path) => {
            let translated = dbz_config::load(path)?;
            let config = cdc_ops::load_config_from_table(translated.table, ENV_PREFIX)
                .with_context(|| {
                    format!(
                        "loading Debezium connector config {} (Kafka brokers come from \
                         kafka.bootstrap.servers or CDC_CAPTURE__KAFKA__BOOTSTRAP_SERVERS)",
                        path.display()
                    )
                })?;
            Ok((config, translated.warnings))
        }
        _ => Ok((
            cdc_ops::load_config(path, ENV_PREFIX).context("loading configuration")?,
            Vec::new(),
        )),
    }
}
