//! `cdc-sink` binary: parse flags, load the configuration, start logging and signal handling,
//! and run [`cdc_sink::run`].

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use cdc_ops::{init_logging, load_config, shutdown_on_signals, LogFormat, Shutdown};
use cdc_sink::config::ENV_PREFIX;
use cdc_sink::SinkConfig;
use clap::{Parser, Subcommand};

const CONFIG_HELP: &str = "\
CONFIGURATION FILE (TOML; see crates/cdc-sink/README.md, section \"Configuration\"):

  [kafka]
  bootstrap_servers = \"localhost:9092\"   # required
  group_id = \"cdc-sink\"                  # consumer group = resume position
  topics = [\"dbserver1.public.customers\"] # exact topic names, and/or:
  topic_pattern = \"^dbserver1\\\\..*\"       # regex, must start with ^; new topics
                                         # are picked up within ~5 s
  [kafka.properties]                     # extra librdkafka settings; values of keys
  \"security.protocol\" = \"SASL_SSL\"       # containing password, secret, sasl or key
  \"sasl.password\" = \"...\"                # are never logged. The sink sets
                                         # bootstrap.servers, group.id and
                                         # enable.auto.commit=false itself.

  [iceberg]
  data_dir = \"/var/lib/cdc-sink\"         # required: catalog.db + warehouse/
  catalog_name = \"cdc\"                   # readers must use the same name
  namespace = \"cdc\"                      # tables: <namespace>.<schema>_<table>_changelog

  [commit]
  interval_ms = 10000                    # commit at most this long after the first
                                         # record buffered since the last commit
  max_rows = 50000                       # commit when this many rows are buffered
  max_bytes = 67108864                   # ... or when they take about this many bytes
                                         # (rows and bytes bound memory)
  [maintenance]                          # between commits, one table at a time
  enabled = true                         # compaction, snapshot expiry, orphan files
  interval_secs = 3600                   # each table at most once per interval
  min_input_files = 5                    # compact at >= this many small files (or
                                         # files with many deletes, or delete files)
  target_file_size_bytes = 134217728     # compacted file size
  delete_ratio_threshold = 0.3           # rewrite files with >= 30 % rows deleted
  max_compaction_input_bytes = 1073741824  # per run; more is done in later runs
  max_snapshot_age_secs = 432000         # expire snapshots older than 5 days,
  min_snapshots_to_keep = 1              # keeping at least the newest
  orphan_min_age_secs = 259200           # delete unreferenced files after 3 days
  [dead_letter]                          # records that cannot be decoded or applied
  enabled = true                         # false: such a record stops the sink
  topic = \"cdc-sink.dlq\"                 # default <group_id>.dlq
  create_topic = true                    # create it at start-up if missing
  topic_partitions = 1                   # of a created topic
  topic_replication_factor = -1          # of a created topic; -1 = broker default
  [dead_letter.properties]               # producer settings on top of kafka.properties
                                         # (acks=all and idempotence are fixed)
  [ops]
  listen = \"127.0.0.1:9102\"              # GET /metrics and /healthz
  log_format = \"human\"                   # or \"json\"
  log_filter = \"info\"                    # RUST_LOG syntax; RUST_LOG wins if set

ENVIRONMENT OVERRIDES:
  Every key can be set or overridden with CDC_SINK__<SECTION>__<KEY>, e.g.
  CDC_SINK__KAFKA__BOOTSTRAP_SERVERS=broker:9092 or CDC_SINK__COMMIT__MAX_ROWS=10000.
  Values are read as TOML when they parse (numbers, booleans, [\"lists\"]) and as plain
  strings otherwise. Without --config the whole configuration comes from the environment.

DELIVERY:
  Rows are committed to Iceberg first, then the Kafka offsets, so a crash re-delivers
  records (at least once) and never loses them. A record that cannot be decoded or
  applied is copied to the dead-letter topic (headers cdc.dlq.reason, cdc.dlq.error,
  cdc.dlq.topic/partition/offset; metric cdc_sink_dead_letters_total{reason}) before its
  offset is committed; if the copy fails, or with dead_letter.enabled = false, it stops
  the sink with its topic, partition and offset.

EXIT STATUS:
  0 after SIGINT/SIGTERM once buffered rows are committed; 1 on any error.";

/// Consumes Debezium change events from Kafka and appends them to Apache Iceberg
/// changelog tables.
#[derive(Debug, Parser)]
#[command(name = "cdc-sink", version, after_long_help = CONFIG_HELP)]
struct Cli {
    /// Path of the TOML configuration file (see below). Without it, the configuration is
    /// read from CDC_SINK__* environment variables only.
    #[arg(long, short = 'c', value_name = "FILE")]
    config: Option<PathBuf>,

    /// Log format, overriding `ops.log_format`: `human` (default) or `json` (one object per
    /// line, for log shippers).
    #[arg(long, value_name = "FORMAT")]
    log_format: Option<LogFormat>,

    /// Address of the /metrics and /healthz endpoint, overriding `ops.listen`
    /// (e.g. `0.0.0.0:9102`; port 0 picks a free port).
    #[arg(long, value_name = "ADDR")]
    metrics_listen: Option<String>,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Compare source PostgreSQL or MySQL/MariaDB tables with their Iceberg tables and exit.
    Verify(VerifyArgs),
}

const VERIFY_HELP: &str = "\
WHAT IS COMPARED:
  For each --table, every row of the source table (PostgreSQL: streamed with COPY; MySQL /
  MariaDB: streamed over the binary protocol in a UTC session; bounded memory) and
  every live row of the Iceberg table (deletes applied). Each value is brought to one
  canonical form chosen by its Iceberg column type and source type; a row hash is XXH3-128
  of the row's canonical values in Iceberg column order, and a table's checksum is the
  wrapping sum of its row hashes (order independent, duplicate sensitive). Columns named
  _cdc_* and columns present on one side only are not compared (the latter are listed).
  With a primary key, up to 5 differing keys are printed.

SUPPORTED TYPES:
  integers, oid, bool, numeric (decimal, string or double handling), float4/float8 (bit
  patterns, one NaN), money, text/varchar/char/name/citext, json/jsonb (text as emitted),
  xml, uuid, inet/cidr/macaddr, ranges, ltree, tsvector, enums, bytea, date, time, timetz,
  timestamp, timestamptz (+-infinity as the sink writes them), interval (as Debezium's
  MicroDuration). Arrays, hstore, point, bit strings and PostGIS columns stop verify with
  an error naming the column. Needs PostgreSQL 14 or later.
  MySQL / MariaDB (--source mysql://… or mariadb://…, table db.table): signed/unsigned
  integers (BIGINT UNSIGNED as long, precise or string), YEAR, BIT(1) as boolean, BIT(n) as
  Debezium's little-endian bytes, BOOLEAN/TINYINT(1), DECIMAL, FLOAT/DOUBLE, CHAR/VARCHAR/
  TEXT, ENUM, SET, JSON, BINARY/VARBINARY/BLOB, DATE, TIME, DATETIME, TIMESTAMP (fsp 0-6;
  zero dates as null). GEOMETRY columns stop verify with an error naming the column.

EXAMPLES:
  PGPASSWORD=secret cdc-sink verify -c sink.toml \\
      --source 'host=db port=5432 user=cdc dbname=shop' --table public.customers
  CDC_SINK_VERIFY_SOURCE='postgres://cdc:secret@db/shop' cdc-sink verify -c sink.toml \\
      --table public.orders --iceberg-table cdc.public_orders_changelog
  MYSQL_PWD=secret cdc-sink verify -c sink.toml \\
      --source 'mariadb://cdc@db:3306' --table shop.orders \\
      --source-ssl-mode verify_full --source-ssl-root-cert /etc/cdc/db-ca.pem

OUTPUT AND EXIT STATUS:
  verify: OK <table> <rows>
  verify: MISMATCH <table> source_rows=<n> iceberg_rows=<m> ... examples=[...]
  0 when every table matches, 1 on any mismatch, 2 on errors.";

#[derive(Debug, clap::Args)]
#[command(after_long_help = VERIFY_HELP)]
struct VerifyArgs {
    /// The sink's TOML configuration (only [iceberg] is used). Without it, CDC_SINK__*
    /// environment variables.
    #[arg(long, short = 'c', value_name = "FILE")]
    config: Option<PathBuf>,

    /// Source database: libpq `key=value` string or postgres:// URL, or a mysql:// /
    /// mariadb:// URL. A password may come from PGPASSWORD (PostgreSQL) or MYSQL_PWD
    /// (MySQL/MariaDB) instead; it is never printed.
    #[arg(
        long,
        value_name = "CONNINFO",
        env = "CDC_SINK_VERIFY_SOURCE",
        hide_env_values = true
    )]
    source: String,

    /// Source table `schema.table` (MySQL/MariaDB: `db.table`); repeat for several tables.
    #[arg(long = "table", value_name = "SCHEMA.TABLE", required = true)]
    tables: Vec<String>,

    /// Iceberg table `namespace.name` to compare instead of the mirror table
    /// `<namespace>.<schema>_<table>` (only with a single --table).
    #[arg(long, value_name = "NS.NAME")]
    iceberg_table: Option<String>,

    /// TLS to the source (the capture's source.ssl_mode names): disable (default), prefer
    /// and require (MySQL/MariaDB; certificate not checked), verify_full (chain and host name
    /// checked).
    #[arg(long, value_name = "MODE", default_value = "disable")]
    source_ssl_mode: cdc_sink::verify::SourceTlsMode,

    /// PEM bundle of the CAs trusted by --source-ssl-mode verify_full (default: the Mozilla
    /// root certificates).
    #[arg(long, value_name = "FILE")]
    source_ssl_root_cert: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut cli = Cli::parse();
    if let Some(Command::Verify(args)) = cli.command.take() {
        return match verify(args).await {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::from(1),
            Err(e) => {
                eprintln!("cdc-sink verify: error: {e:#}");
                ExitCode::from(2)
            }
        };
    }
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cdc-sink: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs `cdc-sink verify`; `Ok(false)` when some table does not match.
async fn verify(args: VerifyArgs) -> anyhow::Result<bool> {
    let config: SinkConfig =
        load_config(args.config.as_deref(), ENV_PREFIX).context("cannot load the configuration")?;
    let mut tables = Vec::with_capacity(args.tables.len());
    for table in &args.tables {
        let Some((schema, name)) = table.split_once('.') else {
            anyhow::bail!("--table {table:?} must be <schema>.<table>");
        };
        tables.push(cdc_model::TableId::new(schema, name));
    }
    let request = cdc_sink::verify::VerifyRequest {
        source: args.source,
        tables,
        iceberg_table: args.iceberg_table,
        tls: cdc_sink::verify::SourceTls {
            mode: args.source_ssl_mode,
            root_cert: args.source_ssl_root_cert,
        },
    };
    let reports = cdc_sink::verify::verify(&config, request).await?;
    let mut all_ok = true;
    for report in &reports {
        for note in &report.notes {
            eprintln!("verify: note: {}: {note}", report.table);
        }
        println!("{}", report.line());
        all_ok &= report.is_ok();
    }
    Ok(all_ok)
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut config: SinkConfig =
        load_config(cli.config.as_deref(), ENV_PREFIX).context("cannot load the configuration")?;
    if let Some(format) = cli.log_format {
        config.ops.log_format = format;
    }
    if let Some(listen) = cli.metrics_listen {
        config.ops.listen = listen;
    }
    config.validate()?;
    init_logging(config.ops.log_format, &config.ops.log_filter)?;
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        ?config,
        "starting cdc-sink"
    );

    let shutdown = Shutdown::new();
    let signals = tokio::spawn(shutdown_on_signals(shutdown.clone()));
    let result = cdc_sink::run(config, shutdown.clone()).await;
    shutdown.cancel();
    // The signal task ends once the token is cancelled.
    let _ = signals.await;
    result?;
    tracing::info!("cdc-sink stopped");
    Ok(())
}
