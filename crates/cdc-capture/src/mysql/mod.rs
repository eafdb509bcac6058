//! MySQL / MariaDB capture (`source.kind = mysql | mariadb`) on the shared delivery machinery:
//! the exactly-once [`Publisher`](crate::publisher::Publisher) with the offsets topic, the
//! [`Emitter`] (tombstones, transaction metadata, heartbeats), topic creation and metrics.
//!
//! - `tables`: listing and selecting tables, `SHOW CREATE TABLE`, codecs and topics.
//! - `history`: the schema history topic (append, read back, recover the schema).
//! - `snapshot`: publishing the chunks of a `cdc_mysql::snapshot` as `op=r` events.
//! - `offset`: the checkpoint's binlog offset ↔ `cdc_mysql::stream::BinlogOffset`.
//! - `stream`: binlog items → data, schema-change, history and transaction records.
//! - here: the run — server check, position and schema recovery, snapshot (fresh, resumed
//!   or schema-only), then streaming.
//!
//! Start-up: fence older instances, read the position (offsets topic, `read_committed`) and
//! the schema history (likewise), so the schema is exactly the one in force at the position.
//! A fresh start takes the snapshot: the schema of every table (history records, and
//! schema-change records for the captured ones), then the rows of the captured tables, then
//! streaming from the snapshot's binlog position. Only exactly-once delivery is supported:
//! history, data and position must become durable together.

mod history;
mod offset;
mod snapshot;
mod stream;
mod tables;

use std::collections::BTreeSet;
use std::time::Duration;

use cdc_model::BinlogFlavor;
use cdc_mysql::ddl::{
    ChangeKind, Connector, DdlOptions, HistoryRecord, SchemaChange, Schemas, ServerVersion,
    SourceBlock,
};
use cdc_mysql::snapshot::{ChunkId, TableChunks};
use cdc_proto::checkpoint::v1::{MySqlPosition, MySqlTableSnapshot};
use tokio::sync::watch;

use crate::config::{CaptureConfig, SnapshotMode, SourceConfig, SourceKind};
use crate::emit::{now_ns, Emitter};
use crate::metrics::CaptureMetrics;
use crate::offsets::OffsetsTopic;
use crate::selection::Selection;
use crate::topics::TopicSpec;
use crate::{publisher, topics, CaptureError, Shutdown};

use history::SchemaHistory;
use snapshot::{EventTable, SnapshotSource};

/// The connection options of the source.
fn connect_opts(source: &SourceConfig) -> mysql_async::Opts {
    let mut builder = mysql_async::OptsBuilder::default()
        .ip_or_hostname(source.host.clone())
        .tcp_port(source.port())
        .user(Some(source.user.clone()))
        .prefer_socket(false);
    if !source.password.is_empty() {
        builder = builder.pass(Some(source.password.expose().to_owned()));
    }
    builder.into()
}

/// What every part of the run shares.
struct Run<'a> {
    config: &'a CaptureConfig,
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
    let opts = connect_opts(&config.source);
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
    let position = stored.unwrap_or_default();
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
        let done = take_snapshot(
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
    let streamed = stream::run(
        &run,
        &emitter,
        &captured,
        schemas,
        &resume,
        transaction,
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

/// The initial snapshot (rows unless `snapshot.mode = no_data`), fresh or resumed. Returns
/// `false` when `shutdown` interrupted it.
#[allow(clippy::too_many_arguments)]
async fn take_snapshot(
    run: &Run<'_>,
    emitter: &Emitter<'_, MySqlPosition>,
    position: &MySqlPosition,
    captured: &[cdc_model::TableId],
    schemas: &mut Schemas,
    conn: &mut mysql_async::Conn,
    shutdown: &Shutdown,
) -> Result<bool, CaptureError> {
    let config = run.config;
    let resume: Option<Vec<TableChunks>> = if position.snapshot_tables.is_empty() {
        None
    } else {
        Some(
            position
                .snapshot_tables
                .iter()
                .map(|t| {
                    serde_json::from_str(&t.chunks_json).map_err(|e| {
                        CaptureError::Checkpoint(format!(
                            "snapshot chunks of {}.{}: {e}",
                            t.database, t.table
                        ))
                    })
                })
                .collect::<Result<_, _>>()?,
        )
    };
    let snapshot_tables: Vec<cdc_mysql::ddl::TableId> = match &resume {
        Some(chunks) => chunks.iter().map(TableChunks::table_id).collect(),
        None => captured.iter().map(tables::ddl_id).collect(),
    };
    // The schema of every table, so that DDL of uncaptured tables applies while streaming
    // (Debezium's history holds them all too). Read before the snapshot lock; the captured
    // tables are read again under it.
    let all = if resume.is_none() {
        let all = tables::list_tables(conn).await?;
        let ddl = tables::show_create(conn, &all).await?;
        for (id, text) in &ddl {
            schemas.remove_table(&tables::ddl_id(id));
            schemas
                .apply(text, Some(&id.namespace))
                .map_err(|e| CaptureError::mysql(format!("schema of {id}"), e))?;
        }
        ddl
    } else {
        Vec::new()
    };
    let snap_config = cdc_mysql::snapshot::SnapshotConfig {
        workers: config.snapshot.max_threads,
        chunk_rows: u64::from(config.snapshot.fetch_size),
        lock: config.snapshot.locking_mode.lock_mode(),
        lock_wait_timeout: Duration::from_secs(10),
        modes: run.modes.clone(),
    };
    // A resumed snapshot plans into a scratch tracker: the stream continues from the
    // recovered schema at the first run's position.
    let mut scratch = Schemas::new(run.ddl_options.clone());
    let plan_into = if resume.is_some() {
        &mut scratch
    } else {
        &mut *schemas
    };
    let snap = cdc_mysql::snapshot::begin(
        run.opts.clone(),
        plan_into,
        &snapshot_tables,
        &snap_config,
        resume.as_deref(),
    )
    .await
    .map_err(|e| CaptureError::mysql("starting the snapshot", e))?;
    let (snapshot_offset, snap_file) = match &resume {
        Some(_) => {
            let stored = position.snapshot_offset.clone().ok_or_else(|| {
                CaptureError::Checkpoint("resumed snapshot without its binlog position".into())
            })?;
            let file = (stored.file.clone(), stored.pos);
            (stored, file)
        }
        None => {
            let gtids = snap.position.gtids.as_ref().map(|g| match g {
                cdc_mysql::snapshot::SnapshotGtids::MariaDb(l) => l.to_string(),
                cdc_mysql::snapshot::SnapshotGtids::MySql(s) => s.to_string(),
            });
            let o = offset::snapshot_offset(&snap.position.file, gtids);
            let file = (o.file.clone(), o.pos);
            (o, file)
        }
    };
    tracing::info!(file = %snap_file.0, pos = snap_file.1, tables = snap.tables.len(),
        workers = snap.workers(), resumed = resume.is_some(), "snapshot started");

    let mut codecs = tables::Codecs::new(&config.topic_prefix, &run.modes);
    let mut event_tables = Vec::with_capacity(snap.tables.len());
    for plan in &snap.tables {
        let t = codecs.for_def(&plan.def, &run.modes)?;
        event_tables.push(EventTable {
            schema: t.schema.clone(),
            codec: t.codec.clone(),
            topic: t.topic.clone(),
        });
    }
    if resume.is_none() {
        let history_position = offset::history_position(&snapshot_offset);
        let ts_ms = now_ns().div_euclid(1_000_000);
        for (id, text) in &all {
            let Some(def) = schemas.table_by_id(&tables::ddl_id(id)).cloned() else {
                continue;
            };
            let change = SchemaChange {
                database: id.namespace.clone(),
                ddl: text.clone(),
                kind: ChangeKind::CreateTable(def),
            };
            let record = HistoryRecord::for_change(
                &config.topic_prefix,
                history_position.clone(),
                ts_ms,
                &change,
            );
            run.history.append(emitter.publisher, &record).await?;
            if config.source.include_schema_changes && captured.contains(id) {
                let source = SourceBlock {
                    version: config.kafka.source_version.clone(),
                    connector: match run.flavor {
                        BinlogFlavor::MySql => Connector::MySql,
                        BinlogFlavor::MariaDb => Connector::MariaDb,
                    },
                    name: config.topic_prefix.clone(),
                    ts_ms,
                    snapshot: Some("true".into()),
                    db: id.namespace.clone(),
                    sequence: None,
                    ts_us: Some(ts_ms * 1000),
                    ts_ns: Some(ts_ms * 1_000_000),
                    table: Some(id.name.clone()),
                    server_id: 0,
                    gtid: None,
                    file: snapshot_offset.file.clone(),
                    pos: i64::try_from(snapshot_offset.pos).unwrap_or(i64::MAX),
                    row: 0,
                    thread: None,
                    query: None,
                };
                let rec = cdc_mysql::ddl::schema_change_record(&source, ts_ms, &change);
                emitter
                    .publisher
                    .send(&config.topic_prefix, None, Some(&rec.key), Some(&rec.value))
                    .await?;
            }
        }
        // The history and the chunk plan become durable before any row.
        let planned: Vec<MySqlTableSnapshot> = snap
            .chunks
            .iter()
            .map(|c| MySqlTableSnapshot {
                database: c.database.clone(),
                table: c.table.clone(),
                chunks_json: serde_json::to_string(c).unwrap_or_default(),
                done: Vec::new(),
                rows: 0,
            })
            .collect();
        let offset = snapshot_offset.clone();
        emitter
            .publisher
            .safe_point(move |p| {
                p.snapshot_offset = Some(offset);
                p.snapshot_tables = planned;
            })
            .await?;
    }
    let completed: BTreeSet<ChunkId> = position
        .snapshot_tables
        .iter()
        .enumerate()
        .flat_map(|(t, s)| {
            s.done.iter().map(move |&i| ChunkId {
                table: t,
                index: i as usize,
            })
        })
        .collect();
    if config.snapshot.mode == SnapshotMode::NoData {
        drop(snap);
    } else {
        let source = SnapshotSource {
            flavor: run.flavor,
            version: config.kafka.source_version.clone(),
            server_name: config.topic_prefix.clone(),
            file: snap_file.0,
            pos: snap_file.1,
        };
        match snapshot::publish(emitter, snap, &event_tables, completed, &source, shutdown).await? {
            Some(rows) => tracing::info!(rows, "snapshot published"),
            None => return Ok(false),
        }
    }
    let offset = snapshot_offset;
    emitter
        .publisher
        .safe_point(move |p| {
            p.snapshot_completed = true;
            p.snapshot_tables.clear();
            p.offset = Some(offset);
        })
        .await?;
    Ok(true)
}
