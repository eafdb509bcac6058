//! Streaming: turns replication events into change events and reports consistent points
//! (with the resume position) to the publisher.
//!
//! Resuming inside a transaction: exactly-once mode may have committed part of a long source
//! transaction to Kafka. PostgreSQL replays that transaction from its BEGIN; the stored
//! [`PartialTransaction`] names it by commit LSN and says how many change messages were
//! already published, which are skipped.

use std::collections::{HashMap, HashSet};

use cdc_model::debezium::ValueOptions;
use cdc_model::{Op, SnapshotMarker, TableId};
use cdc_proto::checkpoint::v1::{CollectionCount, PartialTransaction};
use pgwire_replication::ReplicationEvent;

use crate::emit::{Emitter, Origin, TxContext, TxCounters};
use crate::incremental::Signals;
use crate::pgoutput::{self, OldKind, PgOutputMessage};
use crate::selection::Selection;
use crate::table::{load_columns, CapturedTable};
use crate::CaptureError;

/// Microseconds between the Unix epoch and the PostgreSQL epoch (2000-01-01).
const PG_EPOCH_OFFSET_US: i64 = 946_684_800_000_000;

/// Prefix of the non-transactional logical messages the capture writes as heartbeats; they
/// only move the position and are never emitted.
pub const HEARTBEAT_MESSAGE_PREFIX: &str = "__cdc_capture_heartbeat";

struct Transaction {
    xid: u32,
    commit_us: i64,
    final_lsn: u64,
    /// Change messages seen so far (published or skipped on replay).
    messages: u64,
    /// Change messages to skip: already published before a restart.
    skip: u64,
    counters: TxCounters,
}

/// State of the stream between events.
pub struct Streamer<'a> {
    sql: &'a tokio_postgres::Client,
    emitter: &'a Emitter<'a>,
    topic_prefix: String,
    selection: &'a Selection,
    /// Handling modes for the codecs of tables registered while streaming.
    values: &'a ValueOptions,
    captured: HashSet<TableId>,
    relations: HashMap<u32, CapturedTable>,
    tx: Option<Transaction>,
    last_commit_lsn: Option<u64>,
    last_commit_us: Option<i64>,
    resume: Option<PartialTransaction>,
    /// Incremental snapshots, when a signal table is configured.
    signals: Option<Signals>,
}

impl<'a> Streamer<'a> {
    pub fn new(
        sql: &'a tokio_postgres::Client,
        emitter: &'a Emitter<'a>,
        topic_prefix: &str,
        selection: &'a Selection,
        values: &'a ValueOptions,
        captured: HashSet<TableId>,
        resume: Option<PartialTransaction>,
    ) -> Streamer<'a> {
        Streamer {
            sql,
            emitter,
            topic_prefix: topic_prefix.to_owned(),
            selection,
            values,
            captured,
            relations: HashMap::new(),
            tx: None,
            last_commit_lsn: None,
            last_commit_us: None,
            resume,
            signals: None,
        }
    }

    /// Enables incremental snapshots through the signal table.
    pub fn with_signals(mut self, signals: Signals) -> Self {
        self.signals = Some(signals);
        self
    }

    /// Between transactions: starts the next incremental-snapshot chunk when one is due.
    async fn incremental_step(&mut self) -> Result<(), CaptureError> {
        let Some(signals) = &mut self.signals else {
            return Ok(());
        };
        if let Some(progress) = signals.next_chunk(self.selection).await? {
            self.emitter
                .publisher
                .safe_point(|p| p.incremental = progress)
                .await?;
        }
        Ok(())
    }

    /// Before a change is emitted: a change to a key inside the open incremental-snapshot
    /// window removes that row from the window.
    fn observe_window(&mut self, message: &PgOutputMessage) -> Result<(), CaptureError> {
        let Some(signals) = &mut self.signals else {
            return Ok(());
        };
        if !signals.window_open() {
            return Ok(());
        }
        let (rel_id, tuples) = match message {
            PgOutputMessage::Insert { rel_id, new } => (rel_id, vec![new]),
            PgOutputMessage::Update { rel_id, old, new } => {
                let mut t = vec![new];
                if let Some((_, o)) = old {
                    t.push(o);
                }
                (rel_id, t)
            }
            PgOutputMessage::Delete { rel_id, old } => (rel_id, vec![&old.1]),
            _ => return Ok(()),
        };
        let Some(table) = self.relations.get(rel_id) else {
            return Ok(());
        };
        for tuple in tuples {
            let row = table.row_from_tuple(tuple)?;
            if let Some(key) = table.codec.encode_key_payload(&row)? {
                signals.observe(&table.schema.id, &key);
            }
        }
        Ok(())
    }

    fn is_signal_relation(&self, rel_id: u32) -> bool {
        match (&self.signals, self.relations.get(&rel_id)) {
            (Some(signals), Some(table)) => signals.is_signal_table(&table.schema.id),
            _ => false,
        }
    }

    /// After a change was emitted: acts on rows inserted into the signal table.
    async fn handle_signal(
        &mut self,
        message: &PgOutputMessage,
        lsn: u64,
    ) -> Result<(), CaptureError> {
        let (Some(signals), PgOutputMessage::Insert { rel_id, new }) = (&mut self.signals, message)
        else {
            return Ok(());
        };
        let Some(table) = self.relations.get(rel_id) else {
            return Ok(());
        };
        if !signals.is_signal_table(&table.schema.id) {
            return Ok(());
        }
        let row = table.row_from_tuple(new)?;
        let captured: Vec<TableId> = self.captured.iter().cloned().collect();
        if let Some(progress) = signals
            .on_signal(table, &row, &captured, self.emitter, lsn)
            .await?
        {
            self.emitter
                .publisher
                .safe_point(|p| p.incremental = progress)
                .await?;
        }
        Ok(())
    }

    /// Whether a source transaction is open (heartbeats wait for its end).
    pub fn in_transaction(&self) -> bool {
        self.tx.is_some()
    }

    /// Handles one replication event.
    pub async fn handle(&mut self, event: ReplicationEvent) -> Result<(), CaptureError> {
        match event {
            ReplicationEvent::Begin {
                final_lsn,
                xid,
                commit_time_micros,
            } => self.begin(final_lsn.as_u64(), xid, commit_time_micros)?,
            ReplicationEvent::Commit { lsn, end_lsn, .. } => {
                let Some(mut tx) = self.tx.take() else {
                    return Err(CaptureError::Decode(format!(
                        "COMMIT at LSN {} without BEGIN",
                        crate::lsn_text(lsn.as_u64())
                    )));
                };
                self.emitter
                    .end_transaction(
                        tx.xid,
                        lsn.as_u64(),
                        tx.commit_us.div_euclid(1000),
                        &tx.counters,
                    )
                    .await?;
                tx.counters = TxCounters::default();
                // Debezium's `sequence` names the end of the previous commit record (the WAL
                // position pgoutput streams the Commit message at), not its start.
                self.last_commit_lsn = Some(end_lsn.as_u64());
                self.last_commit_us = Some(tx.commit_us);
                self.emitter.metrics.transactions.inc();
                let end = end_lsn.as_u64();
                self.emitter
                    .publisher
                    .safe_point(|p| {
                        p.confirmed_lsn = p.confirmed_lsn.max(end);
                        p.partial = None;
                    })
                    .await?;
                self.incremental_step().await?;
            }
            ReplicationEvent::XLogData {
                wal_start, data, ..
            } => {
                let message = pgoutput::decode(&data).map_err(|e| {
                    CaptureError::Decode(format!(
                        "at LSN {}: {e}",
                        crate::lsn_text(wal_start.as_u64())
                    ))
                })?;
                self.handle_message(message, wal_start.as_u64()).await?;
            }
            ReplicationEvent::Message {
                transactional,
                lsn,
                prefix,
                content,
            } => {
                self.logical_message(transactional, lsn.as_u64(), &prefix, &content)
                    .await?;
            }
            // Between transactions everything before `wal_end` that concerns the captured
            // tables has been received; once everything earlier is durable in Kafka the slot
            // may move to `wal_end` (so idle captured tables do not hold back WAL).
            ReplicationEvent::KeepAlive { wal_end, .. }
                if self.tx.is_none() && wal_end.as_u64() > 0 =>
            {
                self.advance(wal_end.as_u64()).await?;
                self.incremental_step().await?;
            }
            ReplicationEvent::KeepAlive { .. } | ReplicationEvent::StoppedAt { .. } => {}
        }
        Ok(())
    }

    fn begin(&mut self, final_lsn: u64, xid: u32, commit_us: i64) -> Result<(), CaptureError> {
        if self.tx.is_some() {
            return Err(CaptureError::Decode(format!(
                "BEGIN of transaction {xid} inside another transaction"
            )));
        }
        let mut tx = Transaction {
            xid,
            commit_us: commit_us.saturating_add(PG_EPOCH_OFFSET_US),
            final_lsn,
            messages: 0,
            skip: 0,
            counters: TxCounters::default(),
        };
        if let Some(partial) = self.resume.take() {
            if partial.final_lsn == final_lsn {
                tracing::info!(xid, commit_lsn = %crate::lsn_text(final_lsn),
                    skip = partial.messages_done,
                    "resuming inside a partly published transaction");
                tx.skip = partial.messages_done;
                tx.counters = TxCounters {
                    begin_emitted: partial.begin_emitted,
                    events: partial.events_emitted,
                    collections: partial
                        .collections
                        .into_iter()
                        .map(|c| (c.data_collection, c.events))
                        .collect(),
                };
            } else if partial.final_lsn > final_lsn {
                // An earlier transaction than the partial one: keep waiting for it.
                self.resume = Some(partial);
            } else {
                return Err(CaptureError::Checkpoint(format!(
                    "the stored position is inside the transaction committing at {}, which \
                     the slot did not replay (next transaction commits at {}); the slot was \
                     advanced by someone else",
                    crate::lsn_text(partial.final_lsn),
                    crate::lsn_text(final_lsn)
                )));
            }
        }
        self.tx = Some(tx);
        Ok(())
    }

    /// Counts one change message of the open transaction. Returns `false` when it was
    /// already published before a restart and must be skipped.
    fn count_message(&mut self) -> bool {
        match &mut self.tx {
            Some(tx) => {
                tx.messages += 1;
                tx.messages > tx.skip
            }
            None => true,
        }
    }

    /// After a published change message: report the in-transaction position.
    async fn change_done(&mut self) -> Result<(), CaptureError> {
        let Some(tx) = &self.tx else {
            return Ok(());
        };
        let partial = PartialTransaction {
            final_lsn: tx.final_lsn,
            messages_done: tx.messages,
            events_emitted: tx.counters.events,
            collections: tx
                .counters
                .collections
                .iter()
                .map(|(c, n)| CollectionCount {
                    data_collection: c.clone(),
                    events: *n,
                })
                .collect(),
            begin_emitted: tx.counters.begin_emitted,
        };
        self.emitter
            .publisher
            .safe_point(|p| p.partial = Some(partial))
            .await
    }

    /// Moves the position to `lsn` between transactions.
    async fn advance(&mut self, lsn: u64) -> Result<(), CaptureError> {
        self.emitter
            .publisher
            .safe_point(|p| p.confirmed_lsn = p.confirmed_lsn.max(lsn))
            .await
    }

    async fn logical_message(
        &mut self,
        transactional: bool,
        lsn: u64,
        prefix: &str,
        content: &[u8],
    ) -> Result<(), CaptureError> {
        if !transactional {
            // Decoded immediately, between transactions. Confirming `lsn + 1` makes a
            // restart skip it (decoding skips what lies before the start point).
            if prefix != HEARTBEAT_MESSAGE_PREFIX {
                let origin = Origin {
                    ts_us: self
                        .last_commit_us
                        .unwrap_or_else(|| crate::emit::now_ns() / 1000),
                    snapshot: SnapshotMarker::False,
                    lsn,
                    last_commit_lsn: Some(lsn),
                    tx_id: None,
                };
                self.emitter
                    .emit_message(prefix, content, &origin, None)
                    .await?;
            }
            if self.tx.is_none() {
                self.advance(lsn + 1).await?;
            }
            return Ok(());
        }
        if !self.count_message() {
            return Ok(());
        }
        let origin = self.origin(lsn)?;
        let tx = self.tx.as_mut().map(|t| TxContext {
            xid: t.xid,
            commit_ts_ms: t.commit_us.div_euclid(1000),
            counters: &mut t.counters,
        });
        self.emitter
            .emit_message(prefix, content, &origin, tx)
            .await?;
        self.change_done().await
    }

    async fn handle_message(
        &mut self,
        message: PgOutputMessage,
        lsn: u64,
    ) -> Result<(), CaptureError> {
        match message {
            PgOutputMessage::Relation {
                rel_id,
                namespace,
                name,
                columns,
                ..
            } => {
                let id = TableId::new(namespace, name);
                if !self.captured.contains(&id) {
                    self.relations.remove(&rel_id);
                    return Ok(());
                }
                let catalog = load_columns(self.sql, &id).await?;
                let table = CapturedTable::from_relation(
                    id,
                    &columns,
                    &catalog,
                    &self.topic_prefix,
                    self.selection,
                    self.values,
                );
                tracing::debug!(table = %table.schema.id, rel_id, "relation registered");
                self.relations.insert(rel_id, table);
                return Ok(());
            }
            PgOutputMessage::Type { .. } | PgOutputMessage::Origin { .. } => return Ok(()),
            PgOutputMessage::Unknown(tag) => {
                return Err(CaptureError::Decode(format!(
                    "unknown pgoutput message type {:?} at LSN {}",
                    tag as char,
                    crate::lsn_text(lsn)
                )));
            }
            PgOutputMessage::Insert { .. }
            | PgOutputMessage::Update { .. }
            | PgOutputMessage::Delete { .. }
            | PgOutputMessage::Truncate { .. } => {}
        }
        if !self.count_message() {
            return Ok(());
        }
        self.observe_window(&message)?;
        let signal = match &message {
            PgOutputMessage::Insert { rel_id, .. } if self.is_signal_relation(*rel_id) => {
                Some(message.clone())
            }
            _ => None,
        };
        self.change(message, lsn).await?;
        if let Some(signal) = signal {
            self.handle_signal(&signal, lsn).await?;
        }
        self.change_done().await
    }

    /// Emits the events of one insert, update, delete or truncate message.
    async fn change(&mut self, message: PgOutputMessage, lsn: u64) -> Result<(), CaptureError> {
        let origin = self.origin(lsn)?;
        let Some(tx) = self.tx.as_mut() else {
            return Ok(());
        };
        let (xid, commit_ts_ms) = (tx.xid, tx.commit_us.div_euclid(1000));
        let counters = &mut tx.counters;
        fn ctx(xid: u32, commit_ts_ms: i64, counters: &mut TxCounters) -> Option<TxContext<'_>> {
            Some(TxContext {
                xid,
                commit_ts_ms,
                counters,
            })
        }
        let emitter = self.emitter;
        match message {
            PgOutputMessage::Insert { rel_id, new } => {
                let Some(table) = self.relations.get(&rel_id) else {
                    return Ok(());
                };
                let after = table.row_from_tuple(&new)?;
                emitter
                    .emit(
                        table,
                        Op::Create,
                        None,
                        Some(after),
                        &origin,
                        ctx(xid, commit_ts_ms, counters),
                    )
                    .await?;
            }
            PgOutputMessage::Update { rel_id, old, new } => {
                let Some(table) = self.relations.get(&rel_id) else {
                    return Ok(());
                };
                let mut after = table.row_from_tuple(&new)?;
                let before = match &old {
                    Some((kind, tuple)) => Some((*kind, table.row_from_tuple(tuple)?)),
                    None => None,
                };
                // REPLICA IDENTITY FULL: unchanged TOAST values come from the old image.
                if let Some((OldKind::Full, b)) = &before {
                    table.fill_unchanged_toast(&mut after, &new, b);
                }
                let key_changed = before.as_ref().is_some_and(|(_, b)| {
                    !table.schema.key.is_empty()
                        && table.schema.key.iter().any(|&i| b[i] != after[i])
                });
                if key_changed {
                    // Debezium: delete (+ tombstone) of the old key with the new key in a
                    // `__debezium.newkey` header, then create of the new key with the old
                    // one in `__debezium.oldkey`.
                    let before = before.map(|(_, b)| b);
                    let key_of = |row: &cdc_model::Row| -> Result<Vec<u8>, CaptureError> {
                        Ok(table.codec.encode_key_payload(row)?.unwrap_or_default())
                    };
                    let old_key = match &before {
                        Some(b) => key_of(b)?,
                        None => Vec::new(),
                    };
                    let new_key = key_of(&after)?;
                    emitter
                        .emit_with_headers(
                            table,
                            Op::Delete,
                            before,
                            None,
                            &origin,
                            ctx(xid, commit_ts_ms, counters),
                            &[("__debezium.newkey", &new_key)],
                        )
                        .await?;
                    emitter
                        .emit_with_headers(
                            table,
                            Op::Create,
                            None,
                            Some(after),
                            &origin,
                            ctx(xid, commit_ts_ms, counters),
                            &[("__debezium.oldkey", &old_key)],
                        )
                        .await?;
                } else {
                    let before = before.and_then(|(kind, b)| (kind == OldKind::Full).then_some(b));
                    emitter
                        .emit(
                            table,
                            Op::Update,
                            before,
                            Some(after),
                            &origin,
                            ctx(xid, commit_ts_ms, counters),
                        )
                        .await?;
                }
            }
            PgOutputMessage::Delete { rel_id, old } => {
                let Some(table) = self.relations.get(&rel_id) else {
                    return Ok(());
                };
                let before = table.row_from_tuple(&old.1)?;
                emitter
                    .emit(
                        table,
                        Op::Delete,
                        Some(before),
                        None,
                        &origin,
                        ctx(xid, commit_ts_ms, counters),
                    )
                    .await?;
            }
            PgOutputMessage::Truncate { rel_ids, .. } => {
                for rel_id in rel_ids {
                    if let Some(table) = self.relations.get(&rel_id) {
                        emitter
                            .emit(
                                table,
                                Op::Truncate,
                                None,
                                None,
                                &origin,
                                ctx(xid, commit_ts_ms, counters),
                            )
                            .await?;
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn origin(&self, lsn: u64) -> Result<Origin, CaptureError> {
        let tx = self.tx.as_ref().ok_or_else(|| {
            CaptureError::Decode(format!(
                "change at LSN {} outside a transaction",
                crate::lsn_text(lsn)
            ))
        })?;
        Ok(Origin {
            ts_us: tx.commit_us,
            snapshot: SnapshotMarker::False,
            lsn,
            last_commit_lsn: self.last_commit_lsn,
            tx_id: Some(i64::from(tx.xid)),
        })
    }
}
