//! `cdc-capture`: reads PostgreSQL logical replication (pgoutput) and publishes
//! Debezium-compatible change events to Kafka.
//!
//! Module map:
//! - [`config`]: the TOML configuration and its validation.
//! - `source`: SQL and replication connections; publication, slot and the resume plan.
//! - `pgoutput`: the pgoutput v1 decoder (bounds-checked, never panics).
//! - `pgtypes`: PostgreSQL types (resolved through the catalog) → model types.
//! - `pgtext`: PostgreSQL text output → values (arrays, hstore, geometry, infinity, BC, …).
//! - `table`: captured tables (schema, topic, codec) and tuple/row conversion.
//! - `snapshot`: the initial snapshot from the slot's exported snapshot.
//! - `stream`: replication events → change events.
//! - `emit`: building events and publishing them (plus tombstones).
//! - `topics`: creating missing data topics.
//! - `publisher`: the idempotent producer and the in-order acknowledgement task.
//! - `checkpoint`: the durable resume position file.
//! - `slot_health`: slot lag, retained WAL and `wal_status` metrics; a lost slot stops the capture.
//! - `metrics`: Prometheus metrics.
//!
//! Data flow and guarantees: replication reader → decode → encode → producer; deliveries are
//! awaited in order by the acker, which confirms a transaction's end LSN to PostgreSQL and
//! to the checkpoint only after Kafka acknowledged every record of it and before it. After a
//! crash, streaming resumes after the last confirmed transaction: nothing is lost, the
//! unconfirmed tail may be published twice.

pub mod config;

mod checkpoint;
mod emit;
mod metrics;
mod pgoutput;
mod pgtext;
mod pgtypes;
mod publisher;
mod slot_health;
mod snapshot;
mod source;
mod stream;
mod table;
mod topics;

use std::collections::HashSet;
use std::time::Duration;

use cdc_proto::checkpoint::v1::PostgresPosition;
use pgwire_replication::{Lsn, ReplicationClient};
use prometheus_client::registry::Registry;
use tokio::sync::watch;

pub use cdc_ops::Shutdown;
pub use config::CaptureConfig;

use crate::checkpoint::CheckpointStore;
use crate::config::SnapshotMode;
use crate::emit::Emitter;
use crate::metrics::CaptureMetrics;
use crate::publisher::Acker;
use crate::source::Plan;
use crate::table::{load_columns, CapturedTable};

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
    let tables = config.validate()?;
    let mut registry = Registry::default();
    let metrics = CaptureMetrics::register(&mut registry);
    let listen = config.ops.listen.clone();
    cdc_ops::serve_while(
        &listen,
        registry,
        capture(&config, &tables, metrics, &shutdown),
    )
    .await
}

async fn capture(
    config: &CaptureConfig,
    table_ids: &[cdc_model::TableId],
    metrics: CaptureMetrics,
    shutdown: &Shutdown,
) -> Result<(), CaptureError> {
    let source = &config.source;
    let sql = source::connect_sql(source).await?;
    source::ensure_publication(&sql, &source.publication_name, table_ids).await?;
    let store = CheckpointStore::new(config.checkpoint_path(), &config.topic_prefix);
    let plan = source::plan(
        store.load()?,
        source::slot_exists(&sql, source).await?,
        &source.slot_name,
    )?;

    let topic_names: Vec<String> = table_ids
        .iter()
        .map(|id| table::topic_name(&config.topic_prefix, id))
        .collect();
    topics::ensure_topics(&config.kafka, &topic_names).await?;
    let (publisher, queue) = publisher::create(&config.kafka, metrics.clone())?;
    let emitter = Emitter {
        publisher: &publisher,
        metrics: metrics.clone(),
        server_name: config.topic_prefix.clone(),
        database: source.database.clone(),
        version: config.kafka.source_version.clone(),
    };

    // Create the slot first (a fresh start needs its consistent point for the checkpoint),
    // then start the acker before anything is published.
    let (new_slot, position) = match plan {
        Plan::Resume(position) => {
            tracing::info!(slot = %source.slot_name, lsn = %lsn_text(position.confirmed_lsn),
                "resuming streaming from checkpoint");
            (None, position)
        }
        Plan::Fresh { drop_stale_slot } => {
            if drop_stale_slot {
                tracing::warn!(slot = %source.slot_name,
                    "slot exists without a completed snapshot checkpoint; dropping it and starting over");
                source::drop_slot(&sql, &source.slot_name).await?;
            }
            store.clear()?;
            let slot = source::create_slot(source).await?;
            let position = PostgresPosition {
                slot_name: source.slot_name.clone(),
                confirmed_lsn: 0,
                snapshot_lsn: slot.consistent_lsn,
                snapshot_completed: false,
            };
            (Some(slot), position)
        }
    };
    let resume_lsn = Lsn::from_u64(position.confirmed_lsn);
    let (acked_tx, mut acked_rx) = watch::channel(position.confirmed_lsn);
    let acker = Acker {
        store,
        position,
        acked_lsn: acked_tx,
        checkpoint_interval: Duration::from_millis(config.state.checkpoint_interval_ms),
        metrics,
    };
    let mut acker_task = tokio::spawn(acker.run(queue));
    let mut repl = match new_slot {
        Some(slot) => slot_then_snapshot(config, table_ids, slot, &emitter, shutdown).await?,
        None => source::start_streaming(source, resume_lsn).await?,
    };

    let slot_monitor = slot_health::monitor(source, emitter.metrics.clone());
    tokio::pin!(slot_monitor);
    let captured: HashSet<_> = table_ids.iter().cloned().collect();
    let mut streamer = stream::Streamer::new(
        &sql,
        &emitter,
        &config.topic_prefix,
        &config.values,
        captured,
    );
    let streamed: Result<(), CaptureError> = loop {
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => break Ok(()),
            done = &mut acker_task => {
                break Err(match done {
                    Ok(Err(e)) => e,
                    Ok(Ok(_)) => CaptureError::Pipeline("acknowledgement task ended early".into()),
                    Err(e) => CaptureError::Pipeline(format!("acknowledgement task failed: {e}")),
                });
            }
            e = &mut slot_monitor => break Err(e),
            changed = acked_rx.changed() => {
                if changed.is_ok() {
                    repl.update_applied_lsn(Lsn::from_u64(*acked_rx.borrow_and_update()));
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
    // Graceful: close the queue, let the acker drain and checkpoint, confirm the final LSN.
    tracing::info!("draining in-flight records");
    let producer_flush = tokio::task::spawn_blocking({
        let publisher = publisher;
        move || {
            let flushed = publisher.flush(Duration::from_secs(60));
            drop(publisher);
            flushed
        }
    });
    producer_flush
        .await
        .map_err(|e| CaptureError::Pipeline(format!("flush task failed: {e}")))??;
    let last = acker_task
        .await
        .map_err(|e| CaptureError::Pipeline(format!("acknowledgement task failed: {e}")))??;
    repl.update_applied_lsn(Lsn::from_u64(last.confirmed_lsn));
    if let Err(e) = repl.shutdown().await {
        tracing::warn!(error = %e, "replication connection did not close cleanly");
    }
    tracing::info!(lsn = %lsn_text(last.confirmed_lsn), "stopped; checkpoint written");
    Ok(())
}

/// Takes the initial snapshot (unless disabled) from the new slot's exported snapshot, queues
/// the snapshot-done marker, and starts streaming.
async fn slot_then_snapshot(
    config: &CaptureConfig,
    table_ids: &[cdc_model::TableId],
    slot: source::NewSlot,
    emitter: &Emitter<'_>,
    shutdown: &Shutdown,
) -> Result<ReplicationClient, CaptureError> {
    let source::NewSlot {
        mut client,
        consistent_lsn,
        snapshot_name,
    } = slot;
    if config.snapshot.mode == SnapshotMode::Initial {
        let reader = source::connect_sql(&config.source).await?;
        let mut tables = Vec::with_capacity(table_ids.len());
        for id in table_ids {
            let columns = load_columns(&reader, id).await?;
            tables.push(CapturedTable::new(
                id.clone(),
                &columns,
                &config.topic_prefix,
                &config.values,
            ));
        }
        snapshot::run(
            &reader,
            &snapshot_name,
            consistent_lsn,
            &tables,
            emitter,
            config.snapshot.fetch_size,
            shutdown,
        )
        .await?;
    }
    emitter.publisher.snapshot_done(consistent_lsn).await?;
    client
        .start()
        .await
        .map_err(|e| CaptureError::replication("starting replication", e))?;
    client
        .wait_started()
        .await
        .map_err(|e| CaptureError::replication("waiting for the stream to start", e))?;
    Ok(client)
}
