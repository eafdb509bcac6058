//! Watching the consumers from outside: replication slot positions in PostgreSQL, peak
//! memory of a process from `/proc`, and counters from the capture's `/metrics`.

use std::time::{Duration, Instant};

use cdc_e2e::pipeline::Pipeline;
use tokio_postgres::Client;

use crate::BenchError;

/// How often slot positions and metrics are polled.
pub const POLL: Duration = Duration::from_millis(20);

/// Timestamps of one consumer draining a slot.
#[derive(Debug, Clone, Copy)]
pub struct Drain {
    /// From spawning the consumer until the slot became active (connect, JVM start-up, ...).
    pub startup: Duration,
    /// From the slot becoming active until its `confirmed_flush_lsn` passed the target.
    pub drain: Duration,
}

/// Outcome of [`wait_drained_partial`].
#[derive(Debug, Clone, Copy)]
pub struct PartialDrain {
    pub drain: Drain,
    /// Whether the target was reached before the timeout.
    pub complete: bool,
    /// Fraction of the WAL between `from` and the target the slot had confirmed.
    pub fraction: f64,
}

/// As [`wait_drained`], but a timeout is not an error: it reports how far the slot got,
/// as the fraction of the WAL from `from` to `target` it confirmed (the backlog is uniform,
/// so this is also the fraction of its row changes).
pub async fn wait_drained_partial(
    client: &Client,
    slot: &str,
    from: &str,
    target: &str,
    spawned: Instant,
    timeout: Duration,
    alive: impl FnMut() -> Result<(), BenchError>,
) -> Result<PartialDrain, BenchError> {
    let result = wait_drained(client, slot, target, spawned, timeout, alive).await;
    match result {
        Ok(drain) => Ok(PartialDrain {
            drain,
            complete: true,
            fraction: 1.0,
        }),
        Err(BenchError::Timeout { active_at }) => {
            let fraction: f64 = client
                .query_one(
                    "SELECT ((confirmed_flush_lsn - $2::text::pg_lsn) \
                       / (($3::text::pg_lsn - $2::text::pg_lsn)))::float8 \
                     FROM pg_replication_slots WHERE slot_name = $1",
                    &[&slot, &from, &target],
                )
                .await?
                .get(0);
            let now = Instant::now();
            let active_at = active_at.unwrap_or(now);
            Ok(PartialDrain {
                drain: Drain {
                    startup: active_at - spawned,
                    drain: now - active_at,
                },
                complete: false,
                fraction: fraction.clamp(0.0, 1.0),
            })
        }
        Err(e) => Err(e),
    }
}

/// Polls until `slot` is active, then until its `confirmed_flush_lsn >= target`; `spawned` is
/// when the consumer process was started. `alive` is checked on every poll so a consumer that
/// died fails fast.
pub async fn wait_drained(
    client: &Client,
    slot: &str,
    target: &str,
    spawned: Instant,
    timeout: Duration,
    mut alive: impl FnMut() -> Result<(), BenchError>,
) -> Result<Drain, BenchError> {
    let deadline = spawned + timeout;
    let mut active_at = None;
    loop {
        alive()?;
        let row = client
            .query_one(
                "SELECT active, coalesce(confirmed_flush_lsn >= $2::text::pg_lsn, false) \
                 FROM pg_replication_slots WHERE slot_name = $1",
                &[&slot, &target],
            )
            .await?;
        let (active, done): (bool, bool) = (row.get(0), row.get(1));
        let now = Instant::now();
        if active && active_at.is_none() {
            active_at = Some(now);
        }
        if done {
            let active_at = active_at.unwrap_or(now);
            return Ok(Drain {
                startup: active_at - spawned,
                drain: now - active_at,
            });
        }
        if now >= deadline {
            eprintln!("bench: slot {slot} did not confirm {target} within {timeout:?}");
            return Err(BenchError::Timeout { active_at });
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Polls until `slot` exists and is active.
pub async fn wait_slot_active(
    client: &Client,
    slot: &str,
    timeout: Duration,
    mut alive: impl FnMut() -> Result<(), BenchError>,
) -> Result<(), BenchError> {
    let deadline = Instant::now() + timeout;
    loop {
        alive()?;
        let active = client
            .query_opt(
                "SELECT active FROM pg_replication_slots WHERE slot_name = $1",
                &[&slot],
            )
            .await?
            .is_some_and(|r| r.get::<_, bool>(0));
        if active {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(BenchError::Check(format!(
                "slot {slot} not active within {timeout:?}"
            )));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Peak and current resident set of a process, in bytes (`VmHWM`, `VmRSS`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Memory {
    pub peak: u64,
    pub current: u64,
}

/// Reads `VmHWM` and `VmRSS` of `pid`.
pub fn memory(pid: u32) -> Result<Memory, BenchError> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path)
        .map_err(|e| BenchError::Check(format!("reading {path}: {e}")))?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb * 1024)
            .ok_or_else(|| BenchError::Check(format!("no {name} in {path}")))
    };
    Ok(Memory {
        peak: field("VmHWM:")?,
        current: field("VmRSS:")?,
    })
}

/// CPU seconds (user + system, all threads) `pid` has used so far, from `/proc/<pid>/stat`.
pub fn cpu_seconds(pid: u32) -> Result<f64, BenchError> {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path)
        .map_err(|e| BenchError::Check(format!("reading {path}: {e}")))?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or_else(|| BenchError::Check(format!("malformed {path}")))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| -> Result<f64, BenchError> {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .ok_or_else(|| BenchError::Check(format!("malformed {path}")))
    };
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    // `rest` starts at field 3 (state), so utime (14) is index 11 and stime (15) index 12.
    Ok((ticks(11)? + ticks(12)?) / hz)
}

/// PID of the walsender serving `slot` (`active_pid`), if active.
pub async fn walsender_pid(client: &Client, slot: &str) -> Result<Option<u32>, BenchError> {
    let row = client
        .query_opt(
            "SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1",
            &[&slot],
        )
        .await?;
    Ok(row
        .and_then(|r| r.get::<_, Option<i32>>(0))
        .and_then(|p| u32::try_from(p).ok()))
}

/// Value of the unlabelled sample `name` on the capture's `/metrics` (0 when absent or the
/// endpoint is not up yet).
pub async fn capture_metric(listen: &str, name: &str) -> f64 {
    match Pipeline::http_get(listen, "/metrics").await {
        Ok((_, body)) => Pipeline::metric(&body, name).unwrap_or(0.0),
        Err(_) => 0.0,
    }
}

/// Polls the capture's `/metrics` until its snapshot read `rows` rows and Kafka acknowledged
/// them (`acked_lsn > 0`, set once the snapshot's records are all acknowledged).
pub async fn wait_snapshot_done(
    listen: &str,
    rows: u64,
    timeout: Duration,
    mut alive: impl FnMut() -> Result<(), BenchError>,
) -> Result<(), BenchError> {
    let deadline = Instant::now() + timeout;
    loop {
        alive()?;
        let read = capture_metric(listen, "cdc_capture_snapshot_rows_total").await;
        let acked = capture_metric(listen, "cdc_capture_acked_lsn").await;
        if read >= rows as f64 && acked > 0.0 {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(BenchError::Check(format!(
                "snapshot of {rows} rows not acknowledged within {timeout:?} (read {read})"
            )));
        }
        tokio::time::sleep(POLL).await;
    }
}
