//! Optional profile (`CDC_BENCH_PERF=1`): a second capture drains the same backlog from its
//! own slot under a system-wide `perf record`; the measured figures come from the unprofiled
//! runs. The report groups the capture's samples by stage (crate / library) and lists its top
//! symbols and those of the walsender decoding for it.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use cdc_testkit::ManagedProcess;
use tokio_postgres::Client;

use crate::consumers::Capture;
use crate::{observe, BenchError};

const DRAIN_TIMEOUT: Duration = Duration::from_secs(900);

/// Stages, matched in order against a symbol (first match wins); a key starting with `^`
/// matches the symbol's start, any other key anywhere in it.
const STAGES: &[(&str, &[&str])] = &[
    (
        "librdkafka incl. LZ4/CRC (producer)",
        &["^rd_", "^LZ4", "rd_kafka", "crc32", "rdkafka"],
    ),
    (
        "malloc/free (libc)",
        &[
            "malloc",
            "^_int_free",
            "^cfree",
            "^free",
            "realloc",
            "unlink_chunk",
            "tcache",
        ],
    ),
    (
        "memcpy/memmove (libc)",
        &[
            "^__memmove",
            "^__memcpy",
            "^__memset",
            "^__memcmp",
            "^memcpy",
            "^memmove",
        ],
    ),
    (
        "serde_json (JSON building/serialising)",
        &["serde_json", "serde::"],
    ),
    ("indexmap (JSON object maps)", &["indexmap"]),
    ("chrono (timestamp formatting)", &["chrono"]),
    (
        "pgwire_replication (replication protocol)",
        &["pgwire_replication"],
    ),
    ("cdc_model (event model, Debezium codec)", &["cdc_model"]),
    (
        "cdc_capture (decode, stream, emit, publish)",
        &["cdc_capture"],
    ),
    ("tokio (runtime, channels)", &["tokio"]),
    (
        "hashbrown/alloc/core/std (collections, drops, formatting)",
        &["hashbrown", "alloc::", "core::", "std::"],
    ),
];

fn stage_of(symbol: &str) -> &'static str {
    let matches = |key: &str| match key.strip_prefix('^') {
        Some(prefix) => symbol.starts_with(prefix),
        None => symbol.contains(key),
    };
    STAGES
        .iter()
        .find(|(_, keys)| keys.iter().any(|k| matches(k)))
        .map_or("other", |(name, _)| name)
}

/// Runs `capture` over the backlog under `perf record -a`; returns the markdown section.
pub async fn capture_pass(
    dir: &Path,
    capture: &mut Capture,
    client: &Client,
    slot: &str,
    target: &str,
) -> Result<String, BenchError> {
    let data = dir.join("perf.data");
    let data_arg = data.display().to_string();
    let mut perf = ManagedProcess::spawn(
        Path::new("perf"),
        &["record", "-a", "-F", "499", "-o", &data_arg],
        &[],
        &dir.join("perf.log"),
    )?;
    let pid = capture.start()?;
    let spawned = Instant::now();
    let drain = observe::wait_drained(client, slot, target, spawned, DRAIN_TIMEOUT, || {
        capture.check_alive()
    })
    .await;
    let walsender = observe::walsender_pid(client, slot).await?;
    let stopped = capture.stop().await;
    perf.interrupt(Duration::from_secs(60)).await?;
    let drain = drain?;
    stopped?;

    let capture_symbols = symbols(&data_arg, Some(pid))?;
    let total: f64 = capture_symbols.iter().map(|s| s.0).sum::<f64>().max(1e-9);
    let mut stages: Vec<(String, f64)> = Vec::new();
    for (pct, symbol, kernel) in &capture_symbols {
        let stage = if *kernel {
            "kernel (syscalls, network, scheduling)".to_owned()
        } else {
            stage_of(symbol).to_owned()
        };
        match stages.iter_mut().find(|(n, _)| *n == stage) {
            Some((_, sum)) => *sum += pct,
            None => stages.push((stage, *pct)),
        }
    }
    stages.sort_by(|a, b| b.1.total_cmp(&a.1));
    let stage_table: String = stages
        .iter()
        .map(|(name, pct)| format!("| {name} | {:.1} % |\n", pct * 100.0 / total))
        .collect();
    let top = |list: &[(f64, String, bool)], n: usize| -> String {
        let total: f64 = list.iter().map(|s| s.0).sum::<f64>().max(1e-9);
        list.iter()
            .take(n)
            .map(|(pct, sym, _)| format!("{:6.2} %  {sym}", pct * 100.0 / total))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let walsender_top = match walsender {
        Some(w) => top(&symbols(&data_arg, Some(w))?, 15),
        None => "(walsender not found)".to_owned(),
    };
    Ok(format!(
        "`perf record -a -F 499` while a second `cdc-capture` drained the same backlog from its \
         own slot ({:.2} s under perf; the machine is shared, so other processes appear in the \
         per-process table).\n\nCPU by thread name, whole machine (`--sort comm`):\n\n```\n{}\n```\n\n\
         `cdc-capture` samples (all its threads) by stage:\n\n| stage | share of the capture's CPU |\n|---|---|\n{stage_table}\n\
         Top `cdc-capture` symbols (share of its samples):\n\n```\n{}\n```\n\n\
         Top symbols of the walsender decoding for it (PostgreSQL, pgoutput):\n\n```\n{walsender_top}\n```",
        drain.drain.as_secs_f64(),
        comm_report(&data_arg)?,
        top(&capture_symbols, 30),
    ))
}

/// `(percent, symbol, is_kernel)` of every symbol of process `pid`, largest first.
fn symbols(data: &str, pid: Option<u32>) -> Result<Vec<(f64, String, bool)>, BenchError> {
    let mut command = Command::new("perf");
    command.args([
        "report",
        "-i",
        data,
        "--stdio",
        "--no-children",
        "--sort",
        "symbol",
    ]);
    command.args(["--percent-limit", "0"]);
    if let Some(pid) = pid {
        command.args(["--pid", &pid.to_string()]);
    }
    let out = command
        .output()
        .map_err(|e| BenchError::Check(format!("running perf report: {e}")))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut list = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let line = line.trim();
        let Some((pct, rest)) = line.split_once('%') else {
            continue;
        };
        let Ok(pct) = pct.trim().parse::<f64>() else {
            continue;
        };
        let rest = rest.trim();
        let kernel = rest.starts_with("[k]");
        // perf pads the symbol column and appends `-  -` columns: cut at the first double space.
        let symbol = rest
            .trim_start_matches("[k]")
            .trim_start_matches("[.]")
            .trim_start();
        let symbol = symbol
            .split("  ")
            .next()
            .unwrap_or(symbol)
            .trim()
            .to_owned();
        list.push((pct, symbol, kernel));
    }
    Ok(list)
}

fn comm_report(data: &str) -> Result<String, BenchError> {
    let out = Command::new("perf")
        .args([
            "report",
            "-i",
            data,
            "--stdio",
            "--no-children",
            "--sort",
            "comm",
        ])
        .args(["--percent-limit", "1.5"])
        .output()
        .map_err(|e| BenchError::Check(format!("running perf report: {e}")))?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n"))
}
