//! Prometheus metrics of the sink, all prefixed `cdc_sink_`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::error::DeadLetterReason;
use crate::maintenance::MaintenanceReport;

/// Label set of per-table metrics (`table="cdc.public_customers_changelog"`) and of
/// dead letters (`reason="decode"`).
type TableLabels = Vec<(String, String)>;

fn reason_labels(reason: DeadLetterReason) -> TableLabels {
    vec![("reason".to_owned(), reason.as_str().to_owned())]
}

/// The sink's metrics. Cloning shares the underlying values.
#[derive(Clone)]
pub(crate) struct SinkMetrics {
    pub records_consumed: Counter,
    pub tombstones: Counter,
    pub truncates_skipped: Counter,
    pub records_replayed: Counter,
    pub consumer_errors: Counter,
    rows_written: Family<TableLabels, Counter>,
    pub commits: Counter,
    pub commit_failures: Counter,
    commit_duration: Histogram,
    last_commit: Gauge,
    pub buffered_rows: Gauge,
    pub offset_commit_failures: Counter,
    assigned_partitions: Gauge,
    dead_letters: Family<TableLabels, Counter>,
    maintenance: MaintenanceMetrics,
}

/// Table maintenance counters (see `crate::maintenance`).
#[derive(Clone)]
struct MaintenanceMetrics {
    runs: Counter,
    files_compacted: Counter,
    files_written: Counter,
    compaction_duration: Histogram,
    snapshots_expired: Counter,
    expired_files_deleted: Counter,
    orphans_removed: Counter,
    failures: Counter,
}

impl SinkMetrics {
    /// Creates the metrics and registers them in `registry` under the `cdc_sink` prefix.
    pub fn register(registry: &mut Registry) -> SinkMetrics {
        let metrics = SinkMetrics {
            records_consumed: Counter::default(),
            tombstones: Counter::default(),
            truncates_skipped: Counter::default(),
            records_replayed: Counter::default(),
            consumer_errors: Counter::default(),
            rows_written: Family::default(),
            commits: Counter::default(),
            commit_failures: Counter::default(),
            // 5 ms .. ~82 s
            commit_duration: Histogram::new(exponential_buckets(0.005, 2.0, 15)),
            last_commit: Gauge::default(),
            buffered_rows: Gauge::default(),
            offset_commit_failures: Counter::default(),
            assigned_partitions: Gauge::default(),
            dead_letters: Family::default(),
            maintenance: MaintenanceMetrics {
                runs: Counter::default(),
                files_compacted: Counter::default(),
                files_written: Counter::default(),
                // 10 ms .. ~160 s
                compaction_duration: Histogram::new(exponential_buckets(0.01, 2.0, 15)),
                snapshots_expired: Counter::default(),
                expired_files_deleted: Counter::default(),
                orphans_removed: Counter::default(),
                failures: Counter::default(),
            },
        };
        // Every reason shows up (at 0) before its first record.
        for reason in DeadLetterReason::ALL {
            metrics
                .dead_letters
                .get_or_create(&reason_labels(reason))
                .inc_by(0);
        }
        let r = registry.sub_registry_with_prefix("cdc_sink");
        r.register(
            "records_consumed",
            "Kafka records consumed (change events, tombstones and skipped events)",
            metrics.records_consumed.clone(),
        );
        r.register(
            "tombstones",
            "Tombstone records (null value after a delete), skipped",
            metrics.tombstones.clone(),
        );
        r.register(
            "truncates_skipped",
            "Truncate events, which have no rows to write, skipped",
            metrics.truncates_skipped.clone(),
        );
        r.register(
            "records_replayed",
            "Change events every table of their source table already held (replays after a restart), skipped",
            metrics.records_replayed.clone(),
        );
        r.register(
            "consumer_errors",
            "Transient Kafka consumer errors (librdkafka retries them)",
            metrics.consumer_errors.clone(),
        );
        r.register(
            "rows_written",
            "Changelog rows committed to Iceberg, per table",
            metrics.rows_written.clone(),
        );
        r.register(
            "commits",
            "Successful commits (Iceberg snapshots for every table with rows, then Kafka offsets)",
            metrics.commits.clone(),
        );
        r.register(
            "commit_failures",
            "Failed Iceberg commits (each one stops the sink)",
            metrics.commit_failures.clone(),
        );
        r.register(
            "commit_duration_seconds",
            "Time to write data files and commit all tables and Kafka offsets",
            metrics.commit_duration.clone(),
        );
        r.register(
            "last_commit_timestamp_seconds",
            "Unix time of the last successful commit",
            metrics.last_commit.clone(),
        );
        r.register(
            "buffered_rows",
            "Rows buffered in memory, not yet committed (bounded by commit.max_rows)",
            metrics.buffered_rows.clone(),
        );
        r.register(
            "offset_commit_failures",
            "Failed Kafka offset commits after a successful Iceberg commit",
            metrics.offset_commit_failures.clone(),
        );
        r.register(
            "assigned_partitions",
            "Kafka partitions the sink reads",
            metrics.assigned_partitions.clone(),
        );
        let m = &metrics.maintenance;
        r.register(
            "maintenance_runs",
            "Table maintenance runs (one table each)",
            m.runs.clone(),
        );
        r.register(
            "maintenance_files_compacted",
            "Data and position-delete files removed by compaction",
            m.files_compacted.clone(),
        );
        r.register(
            "maintenance_files_written",
            "Data and position-delete files written by compaction",
            m.files_written.clone(),
        );
        r.register(
            "maintenance_compaction_duration_seconds",
            "Time one table's compaction took",
            m.compaction_duration.clone(),
        );
        r.register(
            "maintenance_snapshots_expired",
            "Snapshots removed by snapshot expiry",
            m.snapshots_expired.clone(),
        );
        r.register(
            "maintenance_expired_files_deleted",
            "Files deleted by snapshot expiry (only expired snapshots referenced them) and old metadata files",
            m.expired_files_deleted.clone(),
        );
        r.register(
            "maintenance_orphans_removed",
            "Unreferenced files removed from table locations",
            m.orphans_removed.clone(),
        );
        r.register(
            "maintenance_failures",
            "Failed maintenance steps (logged; retried at the next run)",
            m.failures.clone(),
        );
        r.register(
            "dead_letters",
            "Records written to the dead-letter topic (acknowledged by the broker), per reason",
            metrics.dead_letters.clone(),
        );
        metrics
    }

    /// Records one table's maintenance run.
    pub fn maintained(&self, report: &MaintenanceReport) {
        let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        let m = &self.maintenance;
        m.runs.inc();
        m.files_compacted.inc_by(count(
            report.data_files_compacted + report.delete_files_compacted,
        ));
        m.files_written.inc_by(count(report.files_written));
        if let Some(took) = report.compaction_time {
            m.compaction_duration.observe(took.as_secs_f64());
        }
        m.snapshots_expired.inc_by(count(report.snapshots_expired));
        m.expired_files_deleted
            .inc_by(count(report.expired_files_deleted));
        m.orphans_removed.inc_by(count(report.orphans_removed));
        m.failures.inc_by(count(report.failures));
    }

    /// One record's copy in the dead-letter topic was acknowledged.
    pub fn dead_letter(&self, reason: DeadLetterReason) {
        self.dead_letters
            .get_or_create(&reason_labels(reason))
            .inc();
    }

    pub fn rows_written(&self, table: &str, rows: usize) {
        let labels = vec![("table".to_owned(), table.to_owned())];
        self.rows_written
            .get_or_create(&labels)
            .inc_by(u64::try_from(rows).unwrap_or(u64::MAX));
    }

    pub fn commit_succeeded(&self, took: Duration) {
        self.commits.inc();
        self.commit_duration.observe(took.as_secs_f64());
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        self.last_commit.set(now);
    }

    pub fn set_assigned_partitions(&self, partitions: usize) {
        self.assigned_partitions
            .set(i64::try_from(partitions).unwrap_or(i64::MAX));
    }

    pub fn set_buffered_rows(&self, rows: usize) {
        self.buffered_rows
            .set(i64::try_from(rows).unwrap_or(i64::MAX));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_names_are_stable() {
        let mut registry = Registry::default();
        let metrics = SinkMetrics::register(&mut registry);
        metrics.records_consumed.inc();
        metrics.rows_written("cdc.public_t_changelog", 3);
        metrics.commit_succeeded(Duration::from_millis(20));
        metrics.maintained(&MaintenanceReport {
            table: "cdc.public_t".into(),
            data_files_compacted: 7,
            delete_files_compacted: 3,
            orphans_removed: 2,
            compaction_time: Some(Duration::from_millis(30)),
            ..MaintenanceReport::default()
        });
        metrics.dead_letter(DeadLetterReason::MissingImage);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        for name in [
            "cdc_sink_records_consumed_total 1",
            "cdc_sink_tombstones_total 0",
            "cdc_sink_truncates_skipped_total",
            "cdc_sink_rows_written_total{table=\"cdc.public_t_changelog\"} 3",
            "cdc_sink_commits_total 1",
            "cdc_sink_commit_failures_total 0",
            "cdc_sink_commit_duration_seconds_bucket",
            "cdc_sink_last_commit_timestamp_seconds",
            "cdc_sink_buffered_rows",
            "cdc_sink_offset_commit_failures_total",
            "cdc_sink_consumer_errors_total",
            "cdc_sink_maintenance_runs_total 1",
            "cdc_sink_maintenance_files_compacted_total 10",
            "cdc_sink_maintenance_files_written_total 0",
            "cdc_sink_maintenance_compaction_duration_seconds_count 1",
            "cdc_sink_maintenance_snapshots_expired_total 0",
            "cdc_sink_maintenance_expired_files_deleted_total 0",
            "cdc_sink_maintenance_orphans_removed_total 2",
            "cdc_sink_maintenance_failures_total 0",
            "cdc_sink_dead_letters_total{reason=\"missing_image\"} 1",
            "cdc_sink_dead_letters_total{reason=\"decode\"} 0",
        ] {
            assert!(text.contains(name), "{name} missing from\n{text}");
        }
    }
}
