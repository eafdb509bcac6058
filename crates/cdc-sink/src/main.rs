//! `cdc-sink` binary: parse flags, load the configuration, start logging and signal handling,
//! and run [`cdc_sink::run`].

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use cdc_ops::{init_logging, load_config, shutdown_on_signals, LogFormat, Shutdown};
use cdc_sink::config::ENV_PREFIX;
use cdc_sink::SinkConfig;
use clap::Parser;

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
                                         # (bounds memory)
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
  records (at least once) and never loses them. A record that is not a valid Debezium
  change event stops the sink with its topic, partition and offset.

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
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cdc-sink: error: {e:#}");
            ExitCode::FAILURE
        }
    }
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
