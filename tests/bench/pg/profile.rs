//! Optional profile (`CDC_BENCH_PERF=1`): a second capture drains the same backlog from its
//! own slot under a system-wide `perf record`, so the capture, the walsender (decoding) and
//! the Kafka broker all show up; the measured figures come from the unprofiled runs.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use cdc_testkit::ManagedProcess;
use tokio_postgres::Client;

use crate::consumers::Capture;
use crate::{observe, BenchError};

const DRAIN_TIMEOUT: Duration = Duration::from_secs(900);

/// Runs `capture` over the backlog under `perf record -a`; returns the markdown of the
/// top processes and symbols.
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
    capture.start()?;
    let spawned = Instant::now();
    let drain = observe::wait_drained(client, slot, target, spawned, DRAIN_TIMEOUT, || {
        capture.check_alive()
    })
    .await;
    let stopped = capture.stop().await;
    perf.interrupt(Duration::from_secs(60)).await?;
    let drain = drain?;
    stopped?;
    let report = |sort: &str, limit: &str| -> Result<String, BenchError> {
        let out = Command::new("perf")
            .args([
                "report",
                "-i",
                &data_arg,
                "--stdio",
                "--no-children",
                "--sort",
                sort,
            ])
            .args(["--percent-limit", limit])
            .output()
            .map_err(|e| BenchError::Check(format!("running perf report: {e}")))?;
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .take(45)
            .collect::<Vec<_>>()
            .join("\n"))
    };
    Ok(format!(
        "`perf record -a -F 499` while a second `cdc-capture` drained the same backlog \
         ({:.2} s under perf; whole machine, 2 cores).\n\nCPU by process (`--sort comm`):\n\n\
         ```\n{}\n```\n\nTop symbols (`--sort comm,dso,symbol`, ≥ 0.7 %):\n\n```\n{}\n```",
        drain.drain.as_secs_f64(),
        report("comm", "1")?,
        report("comm,dso,symbol", "0.7")?
    ))
}
