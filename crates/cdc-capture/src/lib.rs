//! `cdc-capture`: reads PostgreSQL logical replication (pgoutput) and publishes
//! Debezium-compatible change events to Kafka.
//!
//! Module map:
//! - [`config`]: the TOML configuration and its validation.
//! - [`dbz_config`]: Debezium PostgreSQL / MySQL / MariaDB connector configurations
//!   (`.properties`, Connect JSON) translated into the TOML configuration; supported /
//!   ignored / refused options.
//! - `selection`: captured tables (explicit or include/exclude filters), column filters and
//!   `message.key.columns`.
//! - `source`: SQL and replication connections; publication, slot and the resume plan.
//! - `tls`: TLS of the source connections (`source.ssl_mode`, libpq semantics; PostgreSQL
//!   over rustls, MySQL / MariaDB through mysql_async's rustls support).
//! - `pgoutput`: the pgoutput v1 decoder (bounds-checked, never panics).
//! - `pgtext`: PostgreSQL text output → values (arrays, hstore, geometry, infinity, BC, …).
//! - `pgtypes`: PostgreSQL types (resolved through the catalog) → model types.
//! - `table`: captured tables (schema, topic, codec) and tuple/row conversion.
//! - `snapshot`: the initial snapshot: parallel CTID chunks, resumable.
//! - `stream`: replication events → change events.
//! - `incremental/`: ad-hoc incremental snapshots through the signal table (watermarks):
//!   source-independent `request` + `window`, PostgreSQL chunk reads in `postgres`.
//! - `emit`: building events and publishing them (plus tombstones).
//! - `heartbeat`: Debezium heartbeat records, `heartbeat.action.query`, and a WAL message that
//!   lets the slot advance while captured tables are idle.
//! - `topics`: creating missing topics.
//! - `publisher`: exactly-once (transactional) or at-least-once delivery, behind one interface.
//! - `offsets`: the offsets topic holding the exactly-once resume position.
//! - `topic_read`: reading a single-partition topic back to its end (`read_committed`).
//! - `checkpoint`: the resume position file of at-least-once mode.
//! - `position`: what the publisher, offsets topic and checkpoint file need of a resume
//!   position (PostgreSQL slot LSNs or a MySQL/MariaDB binlog offset).
//! - `slot_health`: slot lag, retained WAL and `wal_status` metrics; a lost slot stops the capture.
//! - `metrics`: Prometheus metrics.
//! - `fuzzing` (hidden): the untrusted-input decoders' entry points for `fuzz/` and the
//!   property tests.
//! - `mysql`: MySQL / MariaDB sources (`source.kind`): binlog snapshot and streaming on the
//!   same publisher, offsets topic and emitter, plus the schema history topic.
//!
//! Data flow and guarantees: replication reader → decode → encode → producer. In exactly-once
//! mode (default) records and the resume position commit together in Kafka transactions, the
//! slot is confirmed after the commit, and a restart resumes exactly after the last committed
//! change (even inside a long source transaction): nothing is lost or published twice for
//! `read_committed` consumers. In at-least-once mode the acker confirms a transaction's end
//! LSN after Kafka acknowledged everything up to it; a crash may republish the unconfirmed
//! tail.

pub mod config;
pub mod dbz_config;

mod checkpoint;
mod emit;
#[doc(hidden)]
pub mod fuzzing;
mod heartbeat;
mod incremental;
mod metrics;
mod mysql;
mod offsets;
mod pgoutput;
mod pgtext;
mod pgtypes;
mod position;
mod publisher;
mod selection;
mod slot_health;
mod snapshot;
mod source;
mod stream;
mod table;
mod tls;
mod topic_read;
mod topics;

use std::collections::HashSet;
use std::time::Duration;

use cdc_proto::checkpoint::v1::PostgresPosition;
use pgwire_replication::Lsn;
use prometheus_client::registry::Registry;
use tokio::sync::watch;

pub use cdc_ops::Shutdown;
pub use config::CaptureConfig;

use crate::checkpoint::CheckpointStore;
use crate::config::SnapshotMode;
use crate::emit::Emitter;
use crate::metrics::CaptureMetrics;
use crate::offsets::OffsetsTopic;
use crate::publisher::Acker;
use crate::selection::Selection;
use crate::source::Plan;
use crate::table::{load_columns, CapturedTable};
use crate::topics::TopicSpec;

/// Errors of the capture. Messages name the table, column, LSN or setting at fault and
/// never contain secrets.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("configuration: {0}")]
    Config(String),
    #[error("PostgreSQL: {context}: {source}")]
    Postgres {
        context: String,
        #[source]
        source: tokio_postgres::Error,
    },
    #[error("replication: {context}: {source}")]
    Replication {
        context: String,
        #[source]
        source: pgwire_replication::PgWireError,
    },
    #[error("decoding: {0}")]
    Decode(String),
    #[error("encoding: {0}")]
    Encode(#[from] cdc_model::debezium::EncodeError),
    #[error("Kafka: {context}: {source}")]
    Kafka {
        context: String,
        #[source]
        source: rdkafka::error::KafkaError,
    },
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    #[error("{0}")]
    SlotLost(String),
    #[error("pipeline: {0}")]
    Pipeline(String),
    #[error(transparent)]
    Ops(#[from] cdc_ops::OpsError),
    #[error("MySQL/MariaDB: {context}: {source}")]
    MySql {
        context: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl CaptureError {
    fn postgres(context: impl Into<String>, source: tokio_postgres::Error) -> Self {
        CaptureError::Postgres {
            context: context.into(),
            source,
        }
    }
    fn replication(context: impl Into<String>, source: pgwire_replication::PgWireError) -> Self {
        CaptureError::Replication {
            context: context.into(),
            source,
        }
    }
    fn mysql(
        context: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        CaptureError::MySql {
            context: context.into(),
            source: Box::new(source),
        }
    }
    fn kafka(context: impl Into<String>, source: rdkafka::error::KafkaError) -> Self {
        CaptureError::Kafka {
            context: context.into(),
            source,
        }
    }
}

/// `X/Y` text form of an LSN.
pub(crate) fn lsn_text(lsn: u64) -> String {
    Lsn::from_u64(lsn).to_pg_string()
}

/// Runs the capture until `shutdown` is cancelled (then flushes, checkpoints and returns
/// `Ok`) or a fatal error occurs.
pub async fn run(config: CaptureConfig, shutdown: Shutdown) -> Result<(), CaptureError> {
    let selection = config.validate()?;
    let mut registry = Registry::default();
    let metrics = CaptureMetrics::register(&mut registry);
    let listen = config.ops.listen.clone();
    if config.source.kind.is_binlog() {
        return cdc_ops::serve_while(
            &listen,
            registry,
            mysql::capture(&config, &selection, metrics, &shutdown),
        )
        .await;
    }
    cdc_ops::serve_while(
        &listen,
        registry,
        capture(&config, &selection, metrics, &shutdown),
    )
    .await
}

async fn capture(
    config: &CaptureConfig,
    selection: &Selection,
    metrics: CaptureMetrics,
    shutdown: &Shutdown,
) -> Result<(), CaptureError> {
    let source = &config.source;
    tls::warn_about(source);
    let sql = source::connect_sql(source).await?;
    let table_ids = &selection::resolve(&sql, selection).await?;
    source::ensure_publication(
        &sql,
        &source.publication_name,
        source.publication_autocreate_mode,
        table_ids,
    )
    .await?;
    topics::ensure_topics(&config.kafka, &topic_specs(config, table_ids)).await?;

    // Exactly-once: fence older instances first, then read what they committed.
    let store = CheckpointStore::new(config.checkpoint_path(), &config.topic_prefix);
    let offsets = OffsetsTopic {
        topic: config.kafka.offsets_topic.clone(),
        topic_prefix: config.topic_prefix.clone(),
    };
    let (fenced, stored) = if config.kafka.exactly_once {
        let fenced = publisher::fence(&config.kafka, &config.transactional_id()).await?;
        let stored = match offsets.load(&config.kafka).await? {
            Some(p) => Some(p),
            // Switching from at-least-once: continue from the checkpoint file.
            None => store.load()?,
        };
        (Some(fenced), stored)
    } else {
        (None, store.load()?)
    };
    let slot_exists = match source::slot_state(&sql, source).await? {
        source::SlotState::Missing => false,
        source::SlotState::Usable => true,
        source::SlotState::Lost
            if matches!(
                config.snapshot.mode,
                SnapshotMode::WhenNeeded | SnapshotMode::Always
            ) =>
        {
            tracing::warn!(slot = %source.slot_name, mode = ?config.snapshot.mode,
                "replication slot lost WAL it needed (wal_status=lost); dropping it and taking a new snapshot");
            source::drop_slot(&sql, &source.slot_name).await?;
            false
        }
        source::SlotState::Lost => {
            return Err(CaptureError::SlotLost(format!(
                "replication slot {} lost WAL it still needed (wal_status=lost, see \
                 max_slot_wal_keep_size); changes were lost. Set snapshot.mode = when_needed \
                 to drop it and take a new snapshot automatically",
                source.slot_name
            )));
        }
    };
    let plan = source::plan(config.snapshot.mode, stored, slot_exists, &source.slot_name)?;

    // Create the slot first (a fresh start needs its consistent point for the position).
    let (start, position) = match plan {
        Plan::Resume {
            position,
            snapshot_first,
        } => {
            tracing::info!(slot = %source.slot_name, lsn = %lsn_text(position.confirmed_lsn),
                inside_transaction = position.partial.is_some(), snapshot_first,
                "resuming streaming from the stored position");
            let start = if snapshot_first {
                Start::SnapshotThenStream
            } else {
                Start::Stream
            };
            (start, position)
        }
        Plan::SnapshotOnly => (Start::SnapshotOnly, stored_or_default(&source.slot_name)),
        Plan::ResumeSnapshot(position) => {
            let done: usize = position
                .snapshot_progress
                .iter()
                .map(|t| t.done.len())
                .sum();
            tracing::info!(slot = %source.slot_name, chunks_done = done,
                "resuming the interrupted initial snapshot");
            (Start::ResumeSnapshot, position)
        }
        Plan::AdoptSlot => {
            let lsn = source::slot_confirmed_lsn(&sql, &source.slot_name).await?;
            tracing::info!(slot = %source.slot_name, lsn = %lsn_text(lsn),
                "snapshot.mode no_data: streaming from the existing slot's confirmed position");
            let position = PostgresPosition {
                slot_name: source.slot_name.clone(),
                confirmed_lsn: lsn,
                snapshot_lsn: lsn,
                snapshot_completed: true,
                ..PostgresPosition::default()
            };
            store.store(&position)?;
            (Start::Stream, position)
        }
        Plan::Fresh { drop_stale_slot } => {
            if drop_stale_slot {
                tracing::warn!(slot = %source.slot_name,
                    "slot exists without a completed snapshot; dropping it and starting over");
                source::drop_slot(&sql, &source.slot_name).await?;
            }
            store.clear()?;
            let slot = source::create_slot(source).await?;
            let position = PostgresPosition {
                slot_name: source.slot_name.clone(),
                confirmed_lsn: 0,
                snapshot_lsn: slot.consistent_lsn,
                snapshot_completed: false,
                partial: None,
                snapshot_progress: Vec::new(),
                incremental: None,
            };
            (Start::NewSlot(slot), position)
        }
    };
    let resume_lsn = Lsn::from_u64(position.confirmed_lsn.max(position.snapshot_lsn));
    let resume_partial = position.partial.clone();
    let snapshot_progress = position.snapshot_progress.clone();
    let incremental = position.incremental.clone();
    let snapshot_lsn = position.snapshot_lsn;
    let (acked_tx, mut acked_rx) = watch::channel(position.confirmed_lsn);
    let (publisher, mut acker_task) = match fenced {
        Some(fenced) => {
            let publisher =
                fenced.start(&config.kafka, offsets, position, acked_tx, metrics.clone())?;
            (publisher, None)
        }
        None => {
            let (publisher, queue) =
                publisher::at_least_once(&config.kafka, position.clone(), metrics.clone())?;
            let acker = Acker {
                store,
                position,
                acked_lsn: acked_tx,
                checkpoint_interval: Duration::from_millis(config.state.checkpoint_interval_ms),
                metrics: metrics.clone(),
            };
            (publisher, Some(tokio::spawn(acker.run(queue))))
        }
    };
    let emitter = Emitter::new(config, &publisher, metrics)?;
    let mut repl = match start {
        Start::NewSlot(slot) => {
            let source::NewSlot {
                mut client,
                consistent_lsn,
                snapshot_name,
            } = slot;
            initial_snapshot(
                config,
                selection,
                table_ids,
                &snapshot_name,
                consistent_lsn,
                &[],
                &emitter,
                shutdown,
            )
            .await?;
            client
                .start()
                .await
                .map_err(|e| CaptureError::replication("starting replication", e))?;
            client
                .wait_started()
                .await
                .map_err(|e| CaptureError::replication("waiting for the stream to start", e))?;
            client
        }
        Start::ResumeSnapshot => {
            // The exported snapshot died with the crashed run: read the remaining chunks
            // from a new one, then stream from the slot's consistent point.
            let (exporter, name) = snapshot::export_snapshot(source).await?;
            initial_snapshot(
                config,
                selection,
                table_ids,
                &name,
                snapshot_lsn,
                &snapshot_progress,
                &emitter,
                shutdown,
            )
            .await?;
            drop(exporter);
            source::start_streaming(source, resume_lsn).await?
        }
        Start::SnapshotThenStream | Start::SnapshotOnly => {
            // A snapshot outside a new slot: read the tables in a new snapshot, at the
            // current WAL position.
            let (exporter, name) = snapshot::export_snapshot(source).await?;
            let lsn = current_wal_lsn(&exporter).await?;
            let tables = load_tables(config, selection, table_ids).await?;
            let run = snapshot::SnapshotRun {
                source,
                snapshot_name: &name,
                consistent_lsn: lsn,
                threads: config.snapshot.max_threads,
                fetch_size: config.snapshot.fetch_size,
                progress: &[],
            };
            snapshot::run(&run, &tables, &emitter, shutdown).await?;
            drop(exporter);
            if matches!(start, Start::SnapshotOnly) {
                tracing::info!("snapshot.mode initial_only: snapshot published, stopping");
                drop(emitter);
                publisher.finish(Duration::from_secs(60)).await?;
                if let Some(task) = acker_task {
                    task.await.map_err(|e| {
                        CaptureError::Pipeline(format!("acknowledgement task failed: {e}"))
                    })??;
                }
                return Ok(());
            }
            source::start_streaming(source, resume_lsn).await?
        }
        Start::Stream => source::start_streaming(source, resume_lsn).await?,
    };

    let slot_monitor = slot_health::monitor(source, emitter.metrics.clone());
    tokio::pin!(slot_monitor);
    let captured: HashSet<_> = table_ids.iter().cloned().collect();
    let mut streamer = stream::Streamer::new(
        &sql,
        &emitter,
        &config.topic_prefix,
        selection,
        &config.values,
        captured,
        resume_partial,
    );
    if let Some(signal_table) = selection.signal_table() {
        let signals = incremental::Signals::new(config, signal_table.clone(), incremental).await?;
        streamer = streamer.with_signals(signals);
    }
    let mut commit_tick = tokio::time::interval(Duration::from_millis(
        config.kafka.commit_interval_ms.clamp(10, 1000),
    ));
    commit_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let heartbeat_ms = config.events.heartbeat_interval_ms;
    let mut heartbeat_tick = tokio::time::interval(Duration::from_millis(heartbeat_ms.max(1)));
    heartbeat_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let streamed: Result<(), CaptureError> = loop {
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => break Ok(()),
            done = acker_done(&mut acker_task) => break Err(done),
            e = &mut slot_monitor => break Err(e),
            changed = acked_rx.changed() => {
                if changed.is_ok() {
                    repl.update_applied_lsn(Lsn::from_u64(*acked_rx.borrow_and_update()));
                }
            }
            _ = commit_tick.tick() => {
                if let Err(e) = emitter.publisher.tick().await {
                    break Err(e);
                }
            }
            _ = heartbeat_tick.tick(), if heartbeat_ms > 0 && !streamer.in_transaction() => {
                if let Err(e) = heartbeat::beat(&sql, &emitter, config).await {
                    break Err(e);
                }
            }
            event = repl.recv() => match event {
                Ok(Some(event)) => {
                    if let Err(e) = streamer.handle(event).await {
                        break Err(e);
                    }
                }
                Ok(None) => break Err(CaptureError::Pipeline("replication stream ended".into())),
                Err(e) => break Err(CaptureError::replication("receiving", e)),
            },
        }
    };
    drop(streamer);
    drop(emitter);
    if let Err(e) = streamed {
        repl.abort();
        return Err(e);
    }
    // Graceful: make everything sent durable, then confirm the final LSN.
    tracing::info!("draining in-flight records");
    let mut last = publisher.finish(Duration::from_secs(60)).await?;
    if let Some(task) = acker_task {
        last = task
            .await
            .map_err(|e| CaptureError::Pipeline(format!("acknowledgement task failed: {e}")))??;
    }
    repl.update_applied_lsn(Lsn::from_u64(last.confirmed_lsn));
    if let Err(e) = repl.shutdown().await {
        tracing::warn!(error = %e, "replication connection did not close cleanly");
    }
    tracing::info!(lsn = %lsn_text(last.confirmed_lsn), "stopped; position is durable");
    Ok(())
}

/// Resolves when the at-least-once acknowledgement task ends (always an error while
/// streaming); never in exactly-once mode.
async fn acker_done(
    task: &mut Option<tokio::task::JoinHandle<Result<PostgresPosition, CaptureError>>>,
) -> CaptureError {
    let Some(handle) = task.as_mut() else {
        return std::future::pending().await;
    };
    match handle.await {
        Ok(Err(e)) => e,
        Ok(Ok(_)) => CaptureError::Pipeline("acknowledgement task ended early".into()),
        Err(e) => CaptureError::Pipeline(format!("acknowledgement task failed: {e}")),
    }
}

/// Every topic the capture writes to, for creation at start.
fn topic_specs(config: &CaptureConfig, table_ids: &[cdc_model::TableId]) -> Vec<TopicSpec> {
    let prefix = &config.topic_prefix;
    let mut specs: Vec<TopicSpec> = table_ids
        .iter()
        .map(|id| TopicSpec::data(table::topic_name(prefix, id)))
        .collect();
    if config.events.provide_transaction_metadata {
        specs.push(TopicSpec::data(format!("{prefix}.transaction")));
    }
    if config.events.heartbeat_interval_ms > 0 {
        specs.push(TopicSpec::data(format!(
            "{}.{prefix}",
            config.events.heartbeat_topic_prefix
        )));
    }
    if config.kafka.exactly_once {
        specs.push(TopicSpec {
            name: config.kafka.offsets_topic.clone(),
            partitions: Some(1),
            compact: true,
            retain_forever: false,
        });
    }
    specs
}

/// How streaming starts.
enum Start {
    /// A new slot: snapshot from its exported snapshot, then stream.
    NewSlot(source::NewSlot),
    /// Finish an interrupted initial snapshot, then stream.
    ResumeSnapshot,
    /// Stream from the stored position.
    Stream,
    /// `snapshot.mode = always` with an existing slot: snapshot in a new transaction, then
    /// stream from the stored position.
    SnapshotThenStream,
    /// `snapshot.mode = initial_only`: snapshot in a new transaction and stop.
    SnapshotOnly,
}

/// The position of an `initial_only` run (nothing is streamed).
fn stored_or_default(slot_name: &str) -> PostgresPosition {
    PostgresPosition {
        slot_name: slot_name.to_owned(),
        ..PostgresPosition::default()
    }
}

async fn current_wal_lsn(client: &tokio_postgres::Client) -> Result<u64, CaptureError> {
    let lsn: String = client
        .query_one("SELECT pg_current_wal_lsn()::text", &[])
        .await
        .map_err(|e| CaptureError::postgres("reading the current WAL position", e))?
        .get(0);
    Lsn::parse(&lsn)
        .map(|l| l.as_u64())
        .map_err(|e| CaptureError::Decode(format!("WAL position {lsn:?}: {e:?}")))
}

/// Builds the captured tables from the catalog (column filters and key overrides applied).
async fn load_tables(
    config: &CaptureConfig,
    selection: &Selection,
    table_ids: &[cdc_model::TableId],
) -> Result<Vec<std::sync::Arc<CapturedTable>>, CaptureError> {
    let catalog = source::connect_sql(&config.source).await?;
    let mut tables = Vec::with_capacity(table_ids.len());
    for id in table_ids {
        let columns = load_columns(&catalog, id).await?;
        tables.push(std::sync::Arc::new(CapturedTable::new(
            id.clone(),
            &columns,
            &config.topic_prefix,
            selection,
            &config.values,
        )));
    }
    Ok(tables)
}

/// Takes the initial snapshot (unless disabled) inside `snapshot_name`, skipping chunks
/// `progress` records as published, then marks it completed at `consistent_lsn`.
#[allow(clippy::too_many_arguments)]
async fn initial_snapshot(
    config: &CaptureConfig,
    selection: &Selection,
    table_ids: &[cdc_model::TableId],
    snapshot_name: &str,
    consistent_lsn: u64,
    progress: &[cdc_proto::checkpoint::v1::TableSnapshotProgress],
    emitter: &Emitter<'_>,
    shutdown: &Shutdown,
) -> Result<(), CaptureError> {
    if config.snapshot.mode != SnapshotMode::NoData {
        let tables = load_tables(config, selection, table_ids).await?;
        let run = snapshot::SnapshotRun {
            source: &config.source,
            snapshot_name,
            consistent_lsn,
            threads: config.snapshot.max_threads,
            fetch_size: config.snapshot.fetch_size,
            progress,
        };
        snapshot::run(&run, &tables, emitter, shutdown).await?;
    }
    emitter
        .publisher
        .safe_point(|p| {
            p.snapshot_completed = true;
            p.snapshot_progress.clear();
            p.confirmed_lsn = p.confirmed_lsn.max(consistent_lsn);
        })
        .await
}
