//! Prometheus metrics of the capture.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Labels of per-table event counters.
#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
pub struct TableOp {
    pub table: String,
    pub op: String,
}

/// Label of the slot `wal_status` gauge.
#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
pub struct WalStatus {
    pub status: String,
}

/// Handles to every capture metric (cheap to clone).
#[derive(Clone)]
pub struct CaptureMetrics {
    pub events: Family<TableOp, Counter>,
    pub records_sent: Counter,
    pub records_acked: Counter,
    pub in_flight: Gauge,
    pub transactions: Counter,
    pub acked_lsn: Gauge,
    pub snapshot_rows: Counter,
    pub skipped_messages: Counter,
    pub slot_lag_bytes: Gauge,
    pub slot_retained_wal_bytes: Gauge,
    pub slot_wal_status: Family<WalStatus, Gauge>,
    pub kafka_commits: Counter,
    pub kafka_commit_seconds: Histogram,
    pub heartbeats: Counter,
    pub snapshot_chunks_total: Gauge,
    pub snapshot_chunks_done: Gauge,
}

impl Default for CaptureMetrics {
    fn default() -> Self {
        CaptureMetrics {
            events: Family::default(),
            records_sent: Counter::default(),
            records_acked: Counter::default(),
            in_flight: Gauge::default(),
            transactions: Counter::default(),
            acked_lsn: Gauge::default(),
            snapshot_rows: Counter::default(),
            skipped_messages: Counter::default(),
            slot_lag_bytes: Gauge::default(),
            slot_retained_wal_bytes: Gauge::default(),
            slot_wal_status: Family::default(),
            kafka_commits: Counter::default(),
            kafka_commit_seconds: Histogram::new([
                0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ]),
            heartbeats: Counter::default(),
            snapshot_chunks_total: Gauge::default(),
            snapshot_chunks_done: Gauge::default(),
        }
    }
}

impl CaptureMetrics {
    /// Creates the metrics and registers them under the `cdc_capture` prefix.
    pub fn register(registry: &mut Registry) -> CaptureMetrics {
        let m = CaptureMetrics::default();
        let r = registry.sub_registry_with_prefix("cdc_capture");
        r.register(
            "events",
            "Change events emitted, by table and op",
            m.events.clone(),
        );
        r.register(
            "records_sent",
            "Kafka records handed to the producer",
            m.records_sent.clone(),
        );
        r.register(
            "records_acked",
            "Kafka records acknowledged by the brokers",
            m.records_acked.clone(),
        );
        r.register(
            "in_flight_records",
            "Records sent but not yet acknowledged",
            m.in_flight.clone(),
        );
        r.register(
            "transactions",
            "Source transactions processed",
            m.transactions.clone(),
        );
        r.register(
            "acked_lsn",
            "Commit end LSN up to which Kafka acknowledged everything",
            m.acked_lsn.clone(),
        );
        r.register(
            "snapshot_rows",
            "Rows read by the initial snapshot",
            m.snapshot_rows.clone(),
        );
        r.register(
            "skipped_messages",
            "pgoutput messages not emitted (skipped operations, our own heartbeat messages)",
            m.skipped_messages.clone(),
        );
        r.register(
            "slot_lag_bytes",
            "WAL bytes between the server's current position and the slot's confirmed position",
            m.slot_lag_bytes.clone(),
        );
        r.register(
            "slot_retained_wal_bytes",
            "WAL bytes the slot makes the server keep (current position minus restart_lsn)",
            m.slot_retained_wal_bytes.clone(),
        );
        r.register(
            "slot_wal_status",
            "1 for the slot's current wal_status (reserved, extended, unreserved, lost)",
            m.slot_wal_status.clone(),
        );
        r.register(
            "kafka_commits",
            "Kafka transactions committed (exactly-once mode)",
            m.kafka_commits.clone(),
        );
        r.register(
            "kafka_commit_seconds",
            "Duration of Kafka transaction commits",
            m.kafka_commit_seconds.clone(),
        );
        r.register("heartbeats", "Heartbeat records sent", m.heartbeats.clone());
        m
    }
}
