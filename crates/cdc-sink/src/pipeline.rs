//! The consume → buffer → commit loop.
//!
//! Resume: every partition is read from the offsets the Iceberg tables hold
//! ([`crate::assignment`]); records a table already holds (its snapshot summary's
//! `cdc.kafka-offsets`) are skipped there, so nothing is applied twice. Group offsets are
//! committed after the Iceberg commits, for lag monitoring.
//!
//! Dead letters: a record that cannot be decoded or applied (a record error, see
//! [`SinkError::dead_letter_reason`]) is copied to the dead-letter topic and counts as
//! consumed; it never touches a table's offsets. Every commit first waits for the broker to
//! acknowledge the copies sent so far, so no offset — neither a table's nor the group's —
//! passes a record whose copy is not durable.

use std::sync::Arc;
use std::time::Duration;

use cdc_model::debezium::{decode_record, Decoded};
use cdc_ops::Shutdown;
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Message};
use tokio::time::Instant;

use crate::assignment::{Assignment, DISCOVERY_INTERVAL};
use crate::changelog::RecordOrigin;
use crate::config::CommitConfig;
use crate::dead_letter::DeadLetters;
use crate::kafka::{PendingOffsets, SinkConsumer};
use crate::metrics::SinkMetrics;
use crate::writer::{Appended, LakeWriter};
use crate::SinkError;

/// How often the loop asks the writer whether a table is due for maintenance.
const MAINTENANCE_CHECK: Duration = Duration::from_secs(10);

/// Consecutive failed offset commits after which the sink stops.
const MAX_OFFSET_COMMIT_FAILURES: u32 = 5;

/// Why a commit happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trigger {
    Interval,
    MaxRows,
    MaxBytes,
    Shutdown,
}

impl Trigger {
    fn as_str(self) -> &'static str {
        match self {
            Trigger::Interval => "interval",
            Trigger::MaxRows => "max_rows",
            Trigger::MaxBytes => "max_bytes",
            Trigger::Shutdown => "shutdown",
        }
    }
}

pub(crate) struct Pipeline {
    pub consumer: Arc<SinkConsumer>,
    assignment: Assignment,
    pub writer: LakeWriter,
    pub metrics: SinkMetrics,
    pub commit: CommitConfig,
    dead_letters: Option<DeadLetters>,
    pending: PendingOffsets,
    /// When the first record since the last commit was consumed.
    first_pending: Option<Instant>,
    /// When tables without rows were last moved to the consumed position.
    idle_advanced: Instant,
    offset_commit_failures: u32,
}

impl Pipeline {
    pub fn new(
        consumer: Arc<SinkConsumer>,
        assignment: Assignment,
        writer: LakeWriter,
        metrics: SinkMetrics,
        commit: CommitConfig,
        dead_letters: Option<DeadLetters>,
    ) -> Pipeline {
        Pipeline {
            consumer,
            assignment,
            writer,
            metrics,
            commit,
            dead_letters,
            pending: PendingOffsets::default(),
            first_pending: None,
            idle_advanced: Instant::now(),
            offset_commit_failures: 0,
        }
    }

    /// Runs until `shutdown` is cancelled (then commits what is buffered) or a fatal error.
    pub async fn run(mut self, shutdown: Shutdown) -> Result<(), SinkError> {
        let consumer = Arc::clone(&self.consumer);
        let interval = Duration::from_millis(self.commit.interval_ms);
        let mut discovery = tokio::time::interval(DISCOVERY_INTERVAL);
        discovery.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut maintenance = tokio::time::interval(MAINTENANCE_CHECK);
        maintenance.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let deadline = self.first_pending.map(|t| t + interval);
            tokio::select! {
                biased;
                () = shutdown.cancelled() => break,
                _ = discovery.tick() => {
                    let added = self.assignment.refresh(&consumer).await?;
                    if added > 0 {
                        self.metrics.set_assigned_partitions(self.assignment.len());
                    }
                }
                () = sleep_until(deadline), if deadline.is_some() => self.flush(Trigger::Interval).await?,
                _ = maintenance.tick() => self.maintain().await?,
                received = consumer.recv() => {
                    match received {
                        Ok(message) => self.handle(&message).await?,
                        Err(KafkaError::MessageConsumption(code)) => {
                            self.metrics.consumer_errors.inc();
                            // Already logged (rate-limited) by the client context.
                            tracing::debug!(error = %code, "transient kafka consume error");
                        }
                        Err(e) => return Err(SinkError::kafka("consuming failed", e)),
                    }
                    if self.writer.buffered_rows() >= self.commit.max_rows {
                        self.flush(Trigger::MaxRows).await?;
                    } else if self.writer.buffered_bytes() as u64 >= self.commit.max_bytes {
                        self.flush(Trigger::MaxBytes).await?;
                    }
                }
            }
        }
        tracing::info!(
            buffered_rows = self.writer.buffered_rows(),
            "shutting down: committing buffered rows"
        );
        self.flush(Trigger::Shutdown).await
    }

    /// Decodes and buffers one record. A record that cannot be decoded or applied goes to
    /// the dead-letter topic (or, with dead-lettering disabled, stops the sink): a record is
    /// never skipped silently.
    async fn handle(&mut self, message: &BorrowedMessage<'_>) -> Result<(), SinkError> {
        self.metrics.records_consumed.inc();
        let origin = RecordOrigin {
            topic: Arc::from(message.topic()),
            partition: message.partition(),
            offset: message.offset(),
        };
        if let Some(dead_letters) = &self.dead_letters {
            if *origin.topic == *dead_letters.topic() {
                return Err(SinkError::Config(format!(
                    "record {origin} is from the dead-letter topic: the subscription must not \
                     include dead_letter.topic"
                )));
            }
        }
        if let Err(error) = self.apply(message, &origin).await {
            self.dead_letter(message, &origin, error).await?;
        }
        self.writer.consumed(&origin);
        self.pending
            .record(&origin.topic, origin.partition, origin.offset);
        self.first_pending.get_or_insert_with(Instant::now);
        self.metrics.set_buffered_rows(self.writer.buffered_rows());
        Ok(())
    }

    /// Decodes `message` and buffers its event.
    async fn apply(
        &mut self,
        message: &BorrowedMessage<'_>,
        origin: &RecordOrigin,
    ) -> Result<(), SinkError> {
        let decoded = decode_record(message.key(), message.payload()).map_err(|source| {
            SinkError::Decode {
                origin: origin.clone(),
                source,
            }
        })?;
        let event = match decoded {
            Decoded::Tombstone => {
                self.metrics.tombstones.inc();
                return Ok(());
            }
            Decoded::Change(event) => event,
        };
        // An append may commit (keyed tables on a truncate; any table before a schema
        // change), and with it table offsets past earlier dead letters: those copies must be
        // durable first. A no-op unless copies are in flight.
        self.settle_dead_letters().await?;
        let table = event.table.id.clone();
        match self.writer.append(*event, origin.clone()).await? {
            Appended::Row => {}
            Appended::AlreadyCommitted => {
                self.metrics.records_replayed.inc();
            }
            Appended::SkippedTruncate => {
                self.metrics.truncates_skipped.inc();
                tracing::warn!(
                    table = %table,
                    record = %origin,
                    "truncate event skipped: changelog tables cannot represent it"
                );
            }
        }
        Ok(())
    }

    /// Sends a record that failed with a record error to the dead-letter topic; any other
    /// error (or any error with dead-lettering disabled) is returned: it stops the sink.
    async fn dead_letter(
        &mut self,
        message: &BorrowedMessage<'_>,
        origin: &RecordOrigin,
        error: SinkError,
    ) -> Result<(), SinkError> {
        let Some(reason) = error.dead_letter_reason() else {
            return Err(error);
        };
        let Some(dead_letters) = &mut self.dead_letters else {
            tracing::error!(
                record = %origin,
                reason = reason.as_str(),
                "dead_letter.enabled = false: the record stops the sink (fix or remove it, move \
                 the group's offset past it, or enable the dead-letter topic)"
            );
            return Err(error);
        };
        dead_letters
            .send(message, origin, reason, &crate::error_chain(&error))
            .await
    }

    /// Waits until every dead-letter copy sent so far is acknowledged.
    async fn settle_dead_letters(&mut self) -> Result<(), SinkError> {
        if let Some(dead_letters) = &mut self.dead_letters {
            if dead_letters.in_flight() > 0 {
                dead_letters.settle().await?;
            }
        }
        Ok(())
    }

    /// Maintains the table most overdue for maintenance, if any (between commits).
    async fn maintain(&mut self) -> Result<(), SinkError> {
        if let Some(report) = self.writer.maintain(std::time::SystemTime::now()).await? {
            self.metrics.maintained(&report);
        }
        Ok(())
    }

    /// Commits buffered rows to Iceberg, then the consumed offsets to Kafka.
    async fn flush(&mut self, trigger: Trigger) -> Result<(), SinkError> {
        // Tables without rows move to the consumed position at shutdown and now and then (see
        // `LakeWriter::consumed`).
        let idle = trigger == Trigger::Shutdown
            || self.idle_advanced.elapsed() >= crate::writer::IDLE_TABLE_ADVANCE;
        if self.pending.is_empty() && self.writer.buffered_rows() == 0 && !idle {
            self.first_pending = None;
            return Ok(());
        }
        let started = Instant::now();
        // Dead-letter copies first: the commits below move offsets past their records.
        self.settle_dead_letters().await?;
        let result = if idle {
            self.writer.commit_all().await
        } else {
            self.writer.commit().await
        };
        if idle && result.is_ok() {
            self.idle_advanced = Instant::now();
        }
        let committed = match result {
            Ok(committed) => committed,
            Err(e) => {
                self.metrics.commit_failures.inc();
                return Err(e);
            }
        };
        for table in &committed {
            self.metrics.rows_written(&table.table, table.rows);
        }
        self.metrics.set_buffered_rows(self.writer.buffered_rows());
        let rows: usize = committed.iter().map(|t| t.rows).sum();
        match self.pending.commit(&self.consumer).await {
            Ok(partitions) => {
                self.offset_commit_failures = 0;
                self.first_pending = None;
                self.metrics.commit_succeeded(started.elapsed());
                tracing::info!(
                    trigger = trigger.as_str(),
                    tables = committed.len(),
                    rows,
                    partitions,
                    took_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                    "committed"
                );
                Ok(())
            }
            Err(source) => {
                self.metrics.offset_commit_failures.inc();
                self.offset_commit_failures += 1;
                // Retry with the next flush; the Iceberg rows are already durable.
                self.first_pending = Some(Instant::now());
                // At shutdown there is no next commit to retry with.
                if self.offset_commit_failures >= MAX_OFFSET_COMMIT_FAILURES
                    || trigger == Trigger::Shutdown
                {
                    return Err(SinkError::OffsetCommit {
                        attempts: self.offset_commit_failures,
                        source,
                    });
                }
                tracing::warn!(
                    error = %source,
                    attempt = self.offset_commit_failures,
                    rows,
                    "rows committed to Iceberg but the Kafka offset commit failed; retrying at the next commit"
                );
                Ok(())
            }
        }
    }
}

/// Sleeps until `deadline`, or forever without one.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
