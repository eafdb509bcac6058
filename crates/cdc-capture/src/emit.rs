//! Building change events and publishing them (with tombstones after deletes).

use cdc_model::{ChangeEvent, Op, Position, Row, SnapshotMarker, SourceInfo};

use crate::metrics::{CaptureMetrics, TableOp};
use crate::publisher::Publisher;
use crate::table::CapturedTable;
use crate::CaptureError;

/// What every event of this capture shares.
pub struct Emitter<'a> {
    pub publisher: &'a Publisher,
    pub metrics: CaptureMetrics,
    pub server_name: String,
    pub database: String,
    pub version: String,
}

/// Where and when a change happened.
pub struct Origin {
    pub ts_us: i64,
    pub snapshot: SnapshotMarker,
    pub lsn: u64,
    pub last_commit_lsn: Option<u64>,
    pub tx_id: Option<i64>,
}

impl Emitter<'_> {
    /// Encodes and sends one event; a delete is followed by its tombstone.
    pub async fn emit(
        &self,
        table: &CapturedTable,
        op: Op,
        before: Option<Row>,
        after: Option<Row>,
        origin: &Origin,
    ) -> Result<(), CaptureError> {
        let event = ChangeEvent {
            table: table.schema.clone(),
            op,
            before,
            after,
            source: SourceInfo {
                version: self.version.clone(),
                name: self.server_name.clone(),
                db: self.database.clone(),
                ts_us: origin.ts_us,
                snapshot: origin.snapshot,
                position: Position::Postgres {
                    lsn: origin.lsn,
                    last_commit_lsn: origin.last_commit_lsn,
                    tx_id: origin.tx_id,
                },
            },
            transaction: None,
            ts_ns: now_ns(),
        };
        let key = table.codec.encode_key(&event)?;
        let value = table.codec.encode_value(&event)?;
        self.publisher
            .send(&table.topic, key.as_deref(), Some(&value))
            .await?;
        if op == Op::Delete {
            self.publisher
                .send(&table.topic, key.as_deref(), None)
                .await?;
        }
        self.metrics
            .events
            .get_or_create(&TableOp {
                table: table.schema.id.to_string(),
                op: op.code().to_owned(),
            })
            .inc();
        Ok(())
    }
}

/// Nanoseconds since the Unix epoch, now.
pub fn now_ns() -> i64 {
    chrono::Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX)
}
