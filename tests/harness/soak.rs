//! `dev/soak`: the chaos load at a fixed rate through the whole pipeline for N minutes, no
//! faults, sampling once a second: RSS of `cdc-capture` and `cdc-sink`, the slot's lag
//! (current WAL − confirmed position), the sink's consumer lag (high watermark − committed
//! group offset, summed over partitions) and its mean commit latency. The report says per
//! series whether it grows over the run: after a warm-up (the first 10 %), the median of the
//! last third is compared with the median of the first third.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use crate::chaos::load::{self, Pace};
use crate::chaos::{spawn_load, Supervisor};
use crate::pipeline::{Pipeline, TOPIC_PREFIX};
use crate::{io, HarnessError, Result};

/// The sink's consumer group in the harness configuration.
const GROUP: &str = "cdc-sink-test";

#[derive(Debug, Clone)]
pub struct Options {
    pub minutes: f64,
    /// Changes per second.
    pub rate: u64,
    pub seed: u64,
    pub dir: std::path::PathBuf,
}

/// One series: its name, unit, how much growth is tolerated as noise, and its samples.
struct Series {
    name: &'static str,
    unit: &'static str,
    /// Growth below this absolute amount is noise (e.g. a few MiB of RSS).
    slack: f64,
    samples: Vec<f64>,
}

impl Series {
    fn new(name: &'static str, unit: &'static str, slack: f64) -> Series {
        Series {
            name,
            unit,
            slack,
            samples: Vec::new(),
        }
    }

    /// (median of the first third, median of the last third, grows?) after the warm-up.
    fn verdict(&self) -> (f64, f64, bool) {
        let steady = &self.samples[self.samples.len() / 10..];
        let third = (steady.len() / 3).max(1);
        let first = median(&steady[..third.min(steady.len())]);
        let last = median(&steady[steady.len().saturating_sub(third)..]);
        let grows = last > first * 1.25 + self.slack;
        (first, last, grows)
    }
}

fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Resident set size of `pid` in MiB (0 when it is not running).
fn rss_mib(pid: Option<u32>) -> f64 {
    let Some(pid) = pid else { return 0.0 };
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Sum over the chaos topics' partitions of high watermark − the group's committed offset.
fn consumer_lag(consumer: &BaseConsumer) -> Result<f64> {
    let timeout = Duration::from_secs(5);
    let mut list = TopicPartitionList::new();
    for table in load::TABLES {
        list.add_partition(&format!("{TOPIC_PREFIX}.public.{table}"), 0);
    }
    let committed = consumer.committed_offsets(list, timeout)?;
    let mut lag = 0i64;
    for element in committed.elements() {
        let (_, high) = consumer.fetch_watermarks(element.topic(), element.partition(), timeout)?;
        let done = match element.offset() {
            Offset::Offset(o) => o,
            _ => 0,
        };
        lag += (high - done).max(0);
    }
    Ok(lag as f64)
}

/// Runs the soak; returns the markdown report and whether any series grows.
pub async fn run(options: &Options) -> Result<(String, bool)> {
    let _ = std::fs::remove_dir_all(&options.dir);
    let mut p = Pipeline::start(&options.dir).await?;
    let admin = p.connect().await?;
    let (sql, truth) = load::setup_sql();
    admin.batch_execute(&sql).await?;
    let tables: Vec<String> = load::TABLES.iter().map(|t| format!("public.{t}")).collect();
    let names: Vec<&str> = tables.iter().map(String::as_str).collect();
    p.set_capture_tables(&names, "")?;
    p.start_capture()?;
    p.start_sink()?;
    p.wait_for_snapshot(
        (load::TABLES.len() as i64 * load::SEED_ROWS) as u64,
        Duration::from_secs(180),
    )
    .await?;
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", p.kafka.bootstrap_servers())
        .set("group.id", GROUP)
        .set("enable.auto.commit", "false")
        .create()?;
    let consumer = Arc::new(consumer);

    let stop = Arc::new(AtomicBool::new(false));
    let (load, stats) = spawn_load(
        &p,
        options.seed,
        Pace::Rate(options.rate),
        Arc::new(Mutex::new(truth)),
        stop.clone(),
    );
    let mut series = [
        Series::new("cdc-capture RSS", "MiB", 16.0),
        Series::new("cdc-sink RSS", "MiB", 32.0),
        Series::new("slot lag", "bytes", 4.0 * 1024.0 * 1024.0),
        Series::new("consumer lag", "records", 2.0 * options.rate as f64),
        Series::new("commit latency", "ms", 100.0),
    ];
    let mut supervisor = Supervisor::default();
    let mut last_commit: Option<(f64, f64)> = None;
    let t0 = Instant::now();
    let end = t0 + Duration::from_secs_f64(options.minutes * 60.0);
    let mut next_progress = t0 + Duration::from_secs(60);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    while Instant::now() < end {
        tick.tick().await;
        if load.is_finished() {
            break;
        }
        supervisor.revive(&mut p)?;
        let capture_pid = p.capture.as_ref().map(|c| c.pid());
        let sink_pid = p.sink.as_ref().map(|s| s.pid());
        let slot_lag: f64 = admin
            .query_one(
                "SELECT COALESCE(pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn), 0)::float8 \
                 FROM pg_replication_slots WHERE slot_name = 'cdc'",
                &[],
            )
            .await?
            .get(0);
        let lag = {
            let consumer = consumer.clone();
            tokio::task::spawn_blocking(move || consumer_lag(&consumer))
                .await
                .map_err(|e| HarnessError::Check(format!("lag task: {e}")))??
        };
        let (_, body) = Pipeline::http_get(&p.sink_metrics, "/metrics").await?;
        let sum = Pipeline::metric(&body, "cdc_sink_commit_duration_seconds_sum").unwrap_or(0.0);
        let count =
            Pipeline::metric(&body, "cdc_sink_commit_duration_seconds_count").unwrap_or(0.0);
        let latency = match last_commit {
            Some((s, c)) if count > c => (sum - s) / (count - c) * 1000.0,
            _ => series[4].samples.last().copied().unwrap_or(0.0),
        };
        last_commit = Some((sum, count));
        for (s, v) in series.iter_mut().zip([
            rss_mib(capture_pid),
            rss_mib(sink_pid),
            slot_lag,
            lag,
            latency,
        ]) {
            s.samples.push(v);
        }
        if Instant::now() >= next_progress {
            next_progress += Duration::from_secs(60);
            println!(
                "soak: {:.0} min: {} changes; capture {:.0} MiB, sink {:.0} MiB, slot lag {:.0} B, \
                 consumer lag {lag:.0}, commit {latency:.0} ms",
                t0.elapsed().as_secs_f64() / 60.0,
                stats.changes.load(Ordering::SeqCst),
                series[0].samples.last().unwrap_or(&0.0),
                series[1].samples.last().unwrap_or(&0.0),
                slot_lag
            );
        }
    }
    stop.store(true, Ordering::SeqCst);
    load.await
        .map_err(|e| HarnessError::Check(format!("load task: {e}")))??;
    let elapsed = t0.elapsed().as_secs_f64();
    let changes = stats.changes.load(Ordering::SeqCst);

    let mut report = String::new();
    let _ = writeln!(
        report,
        "# Soak: {:.1} min at {} changes/s\n\n{changes} changes ({:.0}/s) in {} transactions; \
         {} samples; process restarts: {}.\n\n| series | first third (median) | last third \
         (median) | max | grows |\n|---|---|---|---|---|",
        elapsed / 60.0,
        options.rate,
        changes as f64 / elapsed,
        stats.transactions.load(Ordering::SeqCst),
        series[0].samples.len(),
        supervisor.restarts
    );
    let mut any_grows = false;
    for s in &series {
        let (first, last, grows) = s.verdict();
        let max = s.samples.iter().copied().fold(0.0, f64::max);
        any_grows |= grows;
        let _ = writeln!(
            report,
            "| {} | {first:.1} {unit} | {last:.1} {unit} | {max:.1} {unit} | {} |",
            s.name,
            if grows { "**yes**" } else { "no" },
            unit = s.unit
        );
    }
    let csv = options.dir.join("samples.csv");
    let mut text =
        String::from("second,capture_rss_mib,sink_rss_mib,slot_lag_bytes,consumer_lag,commit_ms\n");
    for i in 0..series[0].samples.len() {
        let row: Vec<String> = series
            .iter()
            .map(|s| format!("{:.1}", s.samples[i]))
            .collect();
        let _ = writeln!(text, "{},{}", i + 1, row.join(","));
    }
    std::fs::write(&csv, text).map_err(io("writing samples.csv"))?;
    let _ = writeln!(report, "\nSamples: {}", csv.display());
    p.stop_processes().await?;
    p.shutdown().await?;
    Ok((report, any_grows))
}
