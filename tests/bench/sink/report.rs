//! The figures of one run: the `P5a` / `P5b` lines and the markdown report.

use std::fmt::Write as _;
use std::time::Duration;

use cdc_model::Op;

use crate::lake::{median, percent};
use crate::stream::Change;

/// One timed pass of a stream (through the sink, or straight to Parquet).
#[derive(Debug, Clone, Default)]
pub struct Run {
    pub rows: usize,
    pub total: Duration,
    /// Sink only: time in `LakeWriter::append` and in `LakeWriter::commit`.
    pub append: Duration,
    pub commit: Duration,
    pub commits: usize,
    pub data_files: usize,
    pub delete_files: usize,
}

/// A stream and its repetitions on both sides.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: &'static str,
    pub preload: usize,
    pub inserts: usize,
    pub updates: usize,
    pub deletes: usize,
    pub sink: Vec<Run>,
    pub ceiling: Vec<Run>,
}

impl Scenario {
    pub fn new(name: &'static str, timed: &[Change], preload: usize) -> Scenario {
        let count = |op| timed.iter().filter(|c| c.op == op).count();
        Scenario {
            name,
            preload,
            inserts: count(Op::Create),
            updates: count(Op::Update),
            deletes: count(Op::Delete),
            sink: Vec::new(),
            ceiling: Vec::new(),
        }
    }

    pub fn sink_rows_per_sec(&self) -> f64 {
        median(self.sink.iter().map(Run::rows_per_sec).collect())
    }

    pub fn ceiling_rows_per_sec(&self) -> f64 {
        median(self.ceiling.iter().map(Run::rows_per_sec).collect())
    }

    /// Median sink rows/s ÷ median ceiling rows/s.
    pub fn ratio(&self) -> f64 {
        self.sink_rows_per_sec() / self.ceiling_rows_per_sec()
    }

    fn rows(&self) -> usize {
        self.inserts + self.updates + self.deletes
    }
}

/// Distribution of a latency sample, in milliseconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Latency {
    pub count: u64,
    pub p50: f64,
    pub p95: f64,
    pub max: f64,
}

/// The live pipeline at a fixed change rate.
#[derive(Debug, Clone, Default)]
pub struct Live {
    pub target_rate: u64,
    pub seconds: u64,
    pub changes: u64,
    pub achieved_rate: f64,
    pub preload: u64,
    pub commit_interval_ms: u64,
    pub commit_max_rows: u64,
    /// From the sink's `committed … took_ms` log lines of the load phase.
    pub commit: Latency,
    /// From `/metrics`: `cdc_sink_commit_duration_seconds` count and sum over the load phase.
    pub histogram_commits: f64,
    pub histogram_mean_ms: f64,
    /// Source commit → snapshot holding the row committed, per inserted / updated row.
    pub freshness: Latency,
    pub freshness_snapshots: u64,
    /// Load start → every change committed to the mirror.
    pub drained_after: Duration,
}

/// Everything measured.
#[derive(Debug, Default)]
pub struct Figures {
    pub machine: String,
    pub rows: usize,
    pub batch: usize,
    pub reps: usize,
    pub scenarios: Vec<Scenario>,
    pub live: Option<Live>,
    pub total: Duration,
    pub notes: Vec<String>,
}

impl Figures {
    /// `P5a <ratio>` and `P5b <ratio>`.
    pub fn lines(&self) -> String {
        self.scenarios
            .iter()
            .map(|s| format!("{} {:.2}\n", s.name, s.ratio()))
            .collect()
    }

    pub fn markdown(&self) -> String {
        let mut md = String::new();
        let _ = writeln!(md, "# Sink benchmark (`dev/bench sink`)\n");
        let _ = writeln!(
            md,
            "Machine: {}. Run took {:.0} s. Release build.\n",
            self.machine,
            self.total.as_secs_f64()
        );
        let _ = writeln!(
            md,
            "## P5a / P5b: sink throughput against writing Parquet\n"
        );
        let _ = writeln!(
            md,
            "Table `public.bench_items`: bigint key + int, text, text, numeric(12,2), \
             double, boolean, timestamptz, date; mirror mode only. {} changes per run, \
             committed every {} changes (the sink's default `commit.max_rows`), {} \
             repetitions interleaved, medians compared.\n",
            self.rows, self.batch, self.reps
        );
        let _ = writeln!(
            md,
            "- **Numerator**: decoded change events (`ChangeEvent`, built before the clock \
             starts) through `LakeWriter::append` + `LakeWriter::commit` into a fresh mirror \
             table on a local SQLite catalog: Arrow conversion, Parquet data files, \
             position-delete files, the primary-key index, manifests, the catalog swap.\n\
             - **Denominator (ceiling)**: the same changes as Arrow `RecordBatch`es in the \
             mirror table's exact Arrow schema (source columns + `_cdc_*`; a delete as its \
             key row), built before the clock starts, written with `parquet::ArrowWriter` \
             (ZSTD default level, as the sink) one file per batch of the same size. No \
             deletes are applied on this side: it is the cost of persisting the change rows.\n"
        );
        let _ = writeln!(
            md,
            "| | changes | preload | sink rows/s | ceiling rows/s | ratio | target |\n\
             |---|---|---|---|---|---|---|"
        );
        for s in &self.scenarios {
            let target = if s.name == "P5a" {
                "≥ 0.7"
            } else {
                "≥ 0.4"
            };
            let _ = writeln!(
                md,
                "| {} | {} ({} c / {} u / {} d) | {} | {:.0} | {:.0} | **{:.2}** | {target} |",
                s.name,
                s.rows(),
                s.inserts,
                s.updates,
                s.deletes,
                s.preload,
                s.sink_rows_per_sec(),
                s.ceiling_rows_per_sec(),
                s.ratio()
            );
        }
        let _ = writeln!(md, "\nPer repetition (sink: time in append / commit):\n");
        let _ = writeln!(
            md,
            "| | rep | sink rows/s | append | commit | commits | data files | delete files | ceiling rows/s |\n\
             |---|---|---|---|---|---|---|---|---|"
        );
        for s in &self.scenarios {
            for (i, (sink, ceiling)) in s.sink.iter().zip(&s.ceiling).enumerate() {
                let _ = writeln!(
                    md,
                    "| {} | {i} | {:.0} | {:.1} s ({:.0}%) | {:.1} s ({:.0}%) | {} | {} | {} | {:.0} |",
                    s.name,
                    sink.rows_per_sec(),
                    sink.append.as_secs_f64(),
                    percent(sink.append, sink.total),
                    sink.commit.as_secs_f64(),
                    percent(sink.commit, sink.total),
                    sink.commits,
                    sink.data_files,
                    sink.delete_files,
                    ceiling.rows_per_sec()
                );
            }
        }
        if let Some(live) = &self.live {
            live_markdown(&mut md, live);
        }
        if !self.notes.is_empty() {
            let _ = writeln!(md, "\n## Notes\n");
            for note in &self.notes {
                let _ = writeln!(md, "- {note}");
            }
        }
        md
    }
}

fn live_markdown(md: &mut String, live: &Live) {
    let _ = writeln!(
        md,
        "\n## Commit latency and freshness at {} changes/s\n",
        live.target_rate
    );
    let _ = writeln!(
        md,
        "PostgreSQL 15 → `cdc-capture` → Kafka 4.1.1 → `cdc-sink` (release binaries, mirror \
         mode, `commit.interval_ms = {}`, `commit.max_rows = {}`). {} rows preloaded (initial \
         snapshot), then {} s of load: one transaction per 100 ms, 40% inserts, 50% updates, \
         10% deletes. {} changes at {:.0} changes/s achieved; all committed to the mirror {:.1} s \
         after the load began.\n",
        live.commit_interval_ms,
        live.commit_max_rows,
        live.preload,
        live.seconds,
        live.changes,
        live.achieved_rate,
        live.drained_after.as_secs_f64()
    );
    let _ = writeln!(
        md,
        "| | samples | p50 | p95 | max |\n|---|---|---|---|---|\n\
         | commit latency (ms) | {} | {:.0} | {:.0} | {:.0} |\n\
         | freshness (ms) | {} | {:.0} | {:.0} | {:.0} |\n",
        live.commit.count,
        live.commit.p50,
        live.commit.p95,
        live.commit.max,
        live.freshness.count,
        live.freshness.p50,
        live.freshness.p95,
        live.freshness.max
    );
    let _ = writeln!(
        md,
        "- **Commit latency**: each load-phase commit's `took_ms` from the sink's \
         `committed` log line (data files, deletes, manifests, catalog swap, Kafka offsets); \
         the `/metrics` histogram `cdc_sink_commit_duration_seconds` agrees: {:.0} commits, \
         mean {:.0} ms.\n\
         - **Freshness**: per inserted or updated row, the `timestamp-ms` of the Iceberg \
         snapshot that added it minus its `_cdc_ts_ms` (the PostgreSQL commit time the \
         capture reports), over the {} load-phase snapshots of the mirror table (read with \
         pyiceberg). The snapshot time is taken just before the catalog swap, so a row \
         becomes visible at most one catalog swap later. Deletes leave no row to time; they \
         commit in the same snapshots. Freshness is bounded below by the commit interval: a \
         row waits up to `commit.interval_ms` in the sink's buffer.",
        live.histogram_commits, live.histogram_mean_ms, live.freshness_snapshots
    );
}
