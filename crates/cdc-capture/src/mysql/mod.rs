//! MySQL / MariaDB capture (`source.kind = mysql | mariadb`) on the shared delivery machinery:
//! the exactly-once [`Publisher`](crate::publisher::Publisher) with the offsets topic, the
//! [`Emitter`] (tombstones, transaction metadata, heartbeats), topic creation and metrics.
//!
//! - `tables`: listing and selecting tables, `SHOW CREATE TABLE`, codecs and topics.
//! - `history`: the schema history topic (append, read back, recover the schema).
//! - `initial`: the initial snapshot run (fresh, resumed or schema-only) and its history.
//! - `snapshot`: publishing the chunks of a `cdc_mysql::snapshot` as `op=r` events.
//! - `offset`: the checkpoint's binlog offset ↔ `cdc_mysql::stream::BinlogOffset`.
//! - `stream`: binlog items → data, schema-change, history and transaction records; signal
//!   table rows drive incremental snapshots (`crate::incremental::BinlogSignals`).
//! - here: the run — server check, position and schema recovery, snapshot (fresh, resumed
//!   or schema-only), then streaming.
//!
//! Start-up: fence older instances, read the position (offsets topic, `read_committed`) and
//! the schema history (likewise), so the schema is exactly the one in force at the position.
//! The position is checked against the binlogs the server still has: purged events after it
//! mean a new snapshot with `snapshot.mode = when_needed`, a refusal naming it otherwise;
//! `always` takes a new snapshot on every start.
//! A fresh start takes the snapshot: the schema of every table (history records, and
//! schema-change records for the captured ones), then the rows of the captured tables, then
//! streaming from the snapshot's binlog position. Only exactly-once delivery is supported:
//! history, data and position must become durable together.

mod history;
mod initial;
mod offset;
mod snapshot;
mod stream;
mod tables;

use std::time::Duration;

use cdc_model::BinlogFlavor;
use cdc_mysql::ddl::{DdlOptions, Schemas, ServerVersion};
use cdc_proto::checkpoint::v1::MySqlPosition;
use tokio::sync::watch;

use crate::config::{CaptureConfig, SnapshotMode, SourceConfig, SourceKind, SslMode};
use crate::emit::Emitter;
use crate::metrics::CaptureMetrics;
use crate::offsets::OffsetsTopic;
use crate::selection::Selection;
use crate::topics::TopicSpec;
use crate::{publisher, tls, topics, CaptureError, Shutdown};

use history::SchemaHistory;
pub(crate) use snapshot::EventTable;
pub(crate) use tables::{list_tables, Codecs};

/// The connection options of every connection to the source, TLS included
/// (`source.ssl_mode`, see `crate::tls`). With TLS one connection is made first (a TLS
/// failure is reported with the mode); `prefer` falls back to plaintext when the server offers
/// no TLS, as MySQL's clients do, and the choice then holds for the run.
async fn connect_opts(source: &SourceConfig) -> Result<mysql_async::Opts, CaptureError> {
    let mut builder = mysql_async::OptsBuilder::default()
        .ip_or_hostname(source.host.clone())
        .tcp_port(source.port())
        .user(Some(source.user.clone()))
        .prefer_socket(false);
    if !source.password.is_empty() {
        builder = builder.pass(Some(source.password.expose().to_owned()));
    }
    let Some(ssl) = tls::mysql_ssl_opts(source)? else {
        return Ok(builder.into());
    };
    let secure: mysql_async::Opts = builder.clone().ssl_opts(Some(ssl)).into();
    // One connection first, so a TLS failure is reported as such.
    match mysql_async::Conn::new(secure.clone()).await {
        Ok(conn) => {
            let _ = conn.disconnect().await;
            tracing::info!(mode = source.ssl_mode.as_str(), "TLS to the source");
            Ok(secure)
        }
        Err(mysql_async::Error::Driver(mysql_async::DriverError::NoClientSslFlagFromServer))
            if source.ssl_mode == SslMode::Prefer =>
        {
            tls::warn_plaintext_fallback(source);
            Ok(builder.into())
        }
        Err(e) => {
            let root = match &source.ssl_root_cert {
                Some(path) => format!(", ssl_root_cert = {}", path.display()),
                None => String::new(),
            };
            let context = format!(
                "connecting with TLS (source.ssl_mode = {}{root})",
                source.ssl_mode.as_str()
            );
            Err(CaptureError::mysql(context, e))
        }
    }
}

/// What every part of the run shares.
struct Run<'a> {
    config: &'a CaptureConfig,
    /// Which tables are captured (also tables created while streaming).
    selection: &'a Selection,
    flavor: BinlogFlavor,
    opts: mysql_async::Opts,
    modes: cdc_mysql::types::HandlingModes,
    history: SchemaHistory,
    ddl_options: DdlOptions,
}

/// Captures a MySQL / MariaDB server until `shutdown` or a fatal error.
pub async fn capture(
    config: &CaptureConfig,
    selection: &Selection,
    metrics: CaptureMetrics,
    shutdown: &Shutdown,
) -> Result<(), CaptureError> {
    let flavor = match config.source.kind {
        SourceKind::Mysql => BinlogFlavor::MySql,
        SourceKind::Mariadb => BinlogFlavor::MariaDb,
        SourceKind::Postgres => {
            return Err(CaptureError::Config(
                "the MySQL capture was started for a PostgreSQL source".into(),
            ))
        }
    };
    if !config.kafka.exactly_once {
        return Err(CaptureError::Config(
            "kafka.exactly_once = false is not supported for MySQL / MariaDB: the schema \
             history, the records and the position must commit together"
                .into(),
        ));
    }
    crate::tls::warn_about(&config.source);
    let opts = connect_opts(&config.source).await?;
    let settings =
        cdc_mysql::binlog::check_server(opts.clone(), cdc_mysql::binlog::Requirements::default())
            .await
            .map_err(|e| CaptureError::mysql("checking the server", e))?;
    let server_is_maria = settings.flavor == cdc_mysql::binlog::Flavor::MariaDb;
    if server_is_maria != (flavor == BinlogFlavor::MariaDb) {
        return Err(CaptureError::Config(format!(
            "source.kind = {:?} but the server is {} ({})",
            config.source.kind, settings.flavor, settings.version
        )));
    }
    tracing::info!(version = %settings.version, server_id = settings.server_id,
        "binlog settings checked");
    if config.source.include_query && flavor == BinlogFlavor::MariaDb {
        // MariaDB sends ANNOTATE_ROWS events only to a replica whose COM_BINLOG_DUMP carries
        // BINLOG_SEND_ANNOTATE_ROWS_EVENT; mysql_async 0.37 cannot set that flag.
        tracing::warn!(
            "source.include_query (include.query) has no effect on MariaDB yet: the binlog \
             dump cannot ask for ANNOTATE_ROWS events, so source.query stays null \
             (Debezium fills it from binlog_annotate_row_events)"
        );
    }
    let mut conn = mysql_async::Conn::new(opts.clone())
        .await
        .map_err(|e| CaptureError::mysql("connecting", e))?;
    let all_tables = tables::list_tables(&mut conn).await?;
    let captured = tables::select(selection, &all_tables);
    if captured.is_empty() {
        return Err(CaptureError::Config(format!(
            "no table of the server matches the table selection ({})",
            selection.describe()
        )));
    }
    tracing::info!(tables = captured.len(), "captured tables selected");
    let charset: Option<String> =
        mysql_async::prelude::Queryable::query_first(&mut conn, "SELECT @@character_set_server")
            .await
            .map_err(|e| CaptureError::mysql("reading character_set_server", e))?;
    let run = Run {
        config,
        selection,
        flavor,
        opts,
        modes: config.mysql_modes()?,
        history: SchemaHistory {
            topic: config.schema_history_topic(),
            server: config.topic_prefix.clone(),
        },
        ddl_options: DdlOptions {
            skip_unparseable: false,
            server: server_version(&settings.version, server_is_maria),
            server_charset: charset,
        },
    };
    topics::ensure_topics(&config.kafka, &topic_specs(&run, &captured)).await?;

    // Fence older instances, then read what they committed: position and schema history.
    let fenced = publisher::fence(&config.kafka, &config.transactional_id()).await?;
    let offsets = OffsetsTopic {
        topic: config.kafka.offsets_topic.clone(),
        topic_prefix: config.topic_prefix.clone(),
    };
    let stored: Option<MySqlPosition> = offsets.load(&config.kafka).await?;
    let mut schemas = Schemas::new(run.ddl_options.clone());
    if stored.is_some() {
        let n = run.history.recover(&config.kafka, &mut schemas).await?;
        tracing::info!(records = n, topic = %run.history.topic, "schema recovered from the history");
    }
    let mut position = stored.unwrap_or_default();
    if let Some(why) = new_snapshot_needed(&run, &position, &mut conn, settings.flavor).await? {
        tracing::warn!(reason = %why, stored = %crate::position::ResumePosition::describe(&position),
            "taking a new snapshot instead of resuming the stored position");
        position = MySqlPosition::default();
    }
    tracing::info!(snapshot_completed = position.snapshot_completed,
        position = %crate::position::ResumePosition::describe(&position), "starting");
    // MySQL has no slot to confirm: nothing listens to acknowledgements.
    let (acked_tx, _acked_rx) = watch::channel(0);
    let publisher = fenced.start(
        &config.kafka,
        offsets,
        position.clone(),
        acked_tx,
        metrics.clone(),
    )?;
    let emitter = Emitter::new(config, &publisher, metrics)?;

    if position.snapshot_completed && config.snapshot.mode == SnapshotMode::InitialOnly {
        tracing::info!("snapshot.mode initial_only: the snapshot was completed earlier; stopping");
        drop(emitter);
        publisher.finish(Duration::from_secs(60)).await?;
        return Ok(());
    }
    if !position.snapshot_completed {
        let done = initial::take_snapshot(
            &run,
            &emitter,
            &position,
            &captured,
            &mut schemas,
            &mut conn,
            shutdown,
        )
        .await?;
        if !done {
            drop(emitter);
            publisher.finish(Duration::from_secs(60)).await?;
            return Ok(());
        }
        if config.snapshot.mode == SnapshotMode::InitialOnly {
            tracing::info!("snapshot.mode initial_only: snapshot published, stopping");
            drop(emitter);
            publisher.finish(Duration::from_secs(60)).await?;
            return Ok(());
        }
    }
    let _ = conn.disconnect().await;
    let resume = {
        let p = publisher.position();
        offset::from_proto(p.offset.as_ref().or(p.snapshot_offset.as_ref()))?
    };
    let transaction = publisher.position().transaction;
    let incremental = publisher.position().incremental;
    let streamed = stream::run(
        &run,
        &emitter,
        &captured,
        schemas,
        &resume,
        stream::Restored {
            transaction,
            incremental,
        },
        shutdown,
    )
    .await;
    drop(emitter);
    streamed?;
    tracing::info!("draining in-flight records");
    let last = publisher.finish(Duration::from_secs(60)).await?;
    tracing::info!(position = %crate::position::ResumePosition::describe(&last),
        "stopped; position is durable");
    Ok(())
}

/// Why the stored position is not resumed but replaced by a new snapshot (`snapshot.mode`
/// `always`: every start; `when_needed`: the server purged binlog events after it), or an
/// error naming the position when the binlog after it is gone in any other mode.
async fn new_snapshot_needed(
    run: &Run<'_>,
    position: &MySqlPosition,
    conn: &mut mysql_async::Conn,
    flavor: cdc_mysql::binlog::Flavor,
) -> Result<Option<String>, CaptureError> {
    let mode = run.config.snapshot.mode;
    if mode == SnapshotMode::InitialOnly && position.snapshot_completed {
        return Ok(None);
    }
    if mode == SnapshotMode::Always && position.snapshot_completed {
        return Ok(Some("snapshot.mode = always".into()));
    }
    let Some(stored) = position
        .offset
        .as_ref()
        .or(position.snapshot_offset.as_ref())
    else {
        return Ok(None);
    };
    let server = cdc_mysql::binlog::server_binlogs(conn, flavor)
        .await
        .map_err(|e| CaptureError::mysql("listing the server's binlogs", e))?;
    let retention =
        cdc_mysql::binlog::judge(flavor, stored.gtids.as_deref(), &stored.file, &server)
            .map_err(|e| CaptureError::Checkpoint(format!("the stored binlog position: {e}")))?;
    match retention {
        cdc_mysql::binlog::Retention::Retained => Ok(None),
        cdc_mysql::binlog::Retention::Purged { reason } if mode == SnapshotMode::WhenNeeded => {
            Ok(Some(format!("snapshot.mode = when_needed: {reason}")))
        }
        cdc_mysql::binlog::Retention::Purged { reason } => Err(CaptureError::Config(format!(
            "the stored position ({}) cannot be resumed: {reason}; the changes since then are \
             no longer in the server's binlog. Set snapshot.mode = \"when_needed\" (Debezium \
             snapshot.mode=when_needed) to take a new snapshot, or start a new capture (new \
             offsets topic or topic_prefix); keep binlogs longer (binlog_expire_logs_seconds) \
             than the capture may be down",
            crate::position::ResumePosition::describe(position)
        ))),
    }
}

/// `VERSION()` as the DDL parser's executable-comment version.
fn server_version(version: &str, mariadb: bool) -> ServerVersion {
    let mut parts = version
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let (a, b, c) = (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    );
    if mariadb {
        ServerVersion::mariadb(a, b, c)
    } else {
        ServerVersion::mysql(a, b, c)
    }
}

/// Every topic the capture writes to, for creation at start.
fn topic_specs(run: &Run<'_>, captured: &[cdc_model::TableId]) -> Vec<TopicSpec> {
    let config = run.config;
    let prefix = &config.topic_prefix;
    let mut specs: Vec<TopicSpec> = captured
        .iter()
        .map(|id| TopicSpec::data(tables::topic_name(prefix, id)))
        .collect();
    if config.source.include_schema_changes {
        specs.push(TopicSpec::data(prefix.clone()));
    }
    if config.events.provide_transaction_metadata {
        specs.push(TopicSpec::data(format!("{prefix}.transaction")));
    }
    if config.events.heartbeat_interval_ms > 0 {
        specs.push(TopicSpec::data(format!(
            "{}.{prefix}",
            config.events.heartbeat_topic_prefix
        )));
    }
    specs.push(TopicSpec {
        name: run.history.topic.clone(),
        partitions: Some(1),
        compact: false,
        retain_forever: true,
    });
    specs.push(TopicSpec {
        name: config.kafka.offsets_topic.clone(),
        partitions: Some(1),
        compact: true,
        retain_forever: false,
    });
    specs
}
