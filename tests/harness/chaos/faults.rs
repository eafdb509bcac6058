//! The faults `dev/chaos` injects, and the supervision that restarts a process that exited
//! (as systemd or ECS would: an exit on a fatal error is the processes' designed reaction,
//! restarting them is not a manual step).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::Rng;

use crate::pipeline::Pipeline;
use crate::{io, HarnessError, Result};

/// Size of the tmpfs the sink's warehouse lives on when mounting is permitted.
const WAREHOUSE_BYTES: u64 = 4 << 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    KillCapture,
    KillSink,
    PostgresRestart,
    KafkaRestart,
    /// SIGSTOP of the broker for longer than the clients' timeouts, then SIGCONT.
    KafkaStall,
    /// The warehouse file system turns read-only for a while.
    WarehouseReadOnly,
    /// The warehouse file system is full for a while.
    WarehouseFull,
}

impl Fault {
    pub fn name(self) -> &'static str {
        match self {
            Fault::KillCapture => "kill -9 cdc-capture",
            Fault::KillSink => "kill -9 cdc-sink",
            Fault::PostgresRestart => "PostgreSQL immediate restart",
            Fault::KafkaRestart => "Kafka broker restart",
            Fault::KafkaStall => "Kafka broker stall (SIGSTOP)",
            Fault::WarehouseReadOnly => "warehouse read-only",
            Fault::WarehouseFull => "warehouse disk full",
        }
    }

    /// A schedule of `n` faults: every available kind at least once (when `n` allows), the
    /// rest drawn at random, in random order.
    pub fn schedule(rng: &mut StdRng, n: usize, warehouse_faults: bool) -> Vec<Fault> {
        let mut kinds = vec![
            Fault::KillCapture,
            Fault::KillSink,
            Fault::PostgresRestart,
            Fault::KafkaRestart,
            Fault::KafkaStall,
        ];
        if warehouse_faults {
            kinds.extend([Fault::WarehouseReadOnly, Fault::WarehouseFull]);
        }
        let mut plan: Vec<Fault> = kinds
            .iter()
            .copied()
            .cycle()
            .take(n.min(kinds.len()))
            .collect();
        while plan.len() < n {
            // Process kills are the most common production fault: weight them double.
            let pick = rng.random_range(0..kinds.len() + 2);
            plan.push(match pick {
                i if i < kinds.len() => kinds[i],
                i if i == kinds.len() => Fault::KillCapture,
                _ => Fault::KillSink,
            });
        }
        plan.shuffle(rng);
        plan
    }
}

/// The sink's warehouse on its own tmpfs, so it can be made read-only or full. Unmounted on
/// drop.
pub struct Warehouse {
    path: PathBuf,
}

impl Warehouse {
    /// Mounts a tmpfs at `path` (created); `None` when mounting is not permitted here (not
    /// root), in which case the warehouse faults are skipped.
    pub fn mount(path: &Path) -> Option<Warehouse> {
        std::fs::create_dir_all(path).ok()?;
        let ok = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={WAREHOUSE_BYTES}"),
                "tmpfs",
            ])
            .arg(path)
            .output()
            .is_ok_and(|o| o.status.success());
        ok.then(|| Warehouse {
            path: path.to_owned(),
        })
    }

    fn remount(&self, options: &str) -> Result<()> {
        let out = Command::new("mount")
            .args(["-o", &format!("remount,{options}")])
            .arg(&self.path)
            .output()
            .map_err(io("running mount"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(HarnessError::Check(format!(
                "mount -o remount,{options} {}: {}",
                self.path.display(),
                String::from_utf8_lossy(&out.stderr)
            )))
        }
    }

    /// Remounts read-only; retried for a few seconds because the remount is refused
    /// (EBUSY) while the sink holds a file open for writing.
    pub fn read_only(&self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.remount("ro") {
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    std::thread::sleep(Duration::from_millis(20));
                }
                other => return other,
            }
        }
    }

    pub fn writable(&self) -> Result<()> {
        self.remount(&format!("rw,size={WAREHOUSE_BYTES}"))
    }

    /// Shrinks the file system to about what it already holds: new writes soon fail with
    /// ENOSPC.
    pub fn full(&self) -> Result<()> {
        let out = Command::new("df")
            .args(["-B1", "--output=used"])
            .arg(&self.path)
            .output()
            .map_err(io("running df"))?;
        let used: u64 = String::from_utf8_lossy(&out.stdout)
            .lines()
            .nth(1)
            .and_then(|l| l.trim().parse().ok())
            .ok_or_else(|| HarnessError::Check("df printed no usage".into()))?;
        // tmpfs refuses a size below what it holds (counted in pages, with metadata): take
        // the smallest margin it accepts.
        let mut last = None;
        for margin in [4096, 64 << 10, 1 << 20] {
            match self.remount(&format!("size={}", used + margin)) {
                Ok(()) => return Ok(()),
                Err(e) => last = Some(e),
            }
        }
        Err(last.expect("tried at least once"))
    }
}

impl Drop for Warehouse {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).output();
    }
}

/// How long a stall or a warehouse fault lasts: longer than the clients' timeouts
/// (the sink's session timeout is 6 s, librdkafka's socket timeout 60 s is not waited out).
fn hold(rng: &mut StdRng) -> Duration {
    Duration::from_millis(rng.random_range(8_000..14_000))
}

/// Injects `fault`; returns a one-line description of what was done.
pub async fn inject(
    p: &mut Pipeline,
    fault: Fault,
    warehouse: Option<&Warehouse>,
    rng: &mut StdRng,
    supervisor: &mut Supervisor,
) -> Result<String> {
    Ok(match fault {
        Fault::KillCapture => {
            p.kill_capture()?;
            p.start_capture()?;
            fault.name().to_owned()
        }
        Fault::KillSink => {
            p.kill_sink()?;
            p.start_sink()?;
            fault.name().to_owned()
        }
        Fault::PostgresRestart => {
            let t = Instant::now();
            p.pg.restart_immediate().await?;
            format!(
                "{} (back in {:.1}s)",
                fault.name(),
                t.elapsed().as_secs_f64()
            )
        }
        Fault::KafkaRestart => {
            let t = Instant::now();
            p.kafka.restart().await?;
            format!(
                "{} (back in {:.1}s)",
                fault.name(),
                t.elapsed().as_secs_f64()
            )
        }
        Fault::KafkaStall => {
            let held = hold(rng);
            p.kafka.pause()?;
            let result = supervisor.watch(p, held).await;
            p.kafka.resume()?;
            result?;
            format!("{} for {:.1}s", fault.name(), held.as_secs_f64())
        }
        Fault::WarehouseReadOnly | Fault::WarehouseFull => {
            let warehouse = warehouse.ok_or_else(|| {
                HarnessError::Check(format!(
                    "{} scheduled without a warehouse mount",
                    fault.name()
                ))
            })?;
            let held = hold(rng);
            if fault == Fault::WarehouseReadOnly {
                warehouse.read_only()?;
            } else {
                warehouse.full()?;
            }
            let result = supervisor.watch(p, held).await;
            warehouse.writable()?;
            result?;
            format!("{} for {:.1}s", fault.name(), held.as_secs_f64())
        }
    })
}

/// Restarts `cdc-capture` / `cdc-sink` when they exit, counting the restarts and keeping the
/// last lines each one logged before exiting.
#[derive(Default)]
pub struct Supervisor {
    pub restarts: usize,
    pub exits: Vec<String>,
}

impl Supervisor {
    /// Restarts whichever process exited.
    pub fn revive(&mut self, p: &mut Pipeline) -> Result<()> {
        let capture_exited = p.capture.as_mut().is_some_and(|c| !c.is_running());
        if capture_exited {
            let tail = p
                .capture
                .as_ref()
                .map(|c| c.log_tail(200))
                .unwrap_or_default();
            self.exits
                .push(format!("cdc-capture exited: {}", one_line(&tail)));
            p.start_capture()?;
            self.restarts += 1;
        }
        let sink_exited = p.sink.as_mut().is_some_and(|s| !s.is_running());
        if sink_exited {
            let tail = p.sink.as_ref().map(|s| s.log_tail(200)).unwrap_or_default();
            self.exits
                .push(format!("cdc-sink exited: {}", one_line(&tail)));
            p.start_sink()?;
            self.restarts += 1;
        }
        Ok(())
    }

    /// How often each process was restarted, with its distinct last words (UUIDs and
    /// numbers folded so repeated errors count once), at most three per process.
    pub fn summary(&self) -> Vec<String> {
        let mut out = Vec::new();
        for process in ["cdc-capture", "cdc-sink"] {
            let prefix = format!("{process} exited: ");
            let exits: Vec<&str> = self
                .exits
                .iter()
                .filter_map(|e| e.strip_prefix(&prefix))
                .collect();
            if exits.is_empty() {
                continue;
            }
            let mut distinct: Vec<(String, &str)> = Vec::new();
            for exit in &exits {
                let folded: String = exit
                    .chars()
                    .map(|c| if c.is_ascii_hexdigit() { '#' } else { c })
                    .collect();
                if !distinct.iter().any(|(f, _)| *f == folded) {
                    distinct.push((folded, exit));
                }
            }
            out.push(format!(
                "{process}: restarted {} times; {} distinct exits, e.g.:",
                exits.len(),
                distinct.len()
            ));
            out.extend(distinct.iter().take(3).map(|(_, e)| format!("  {e}")));
        }
        out
    }

    /// Supervises for `span` (the fault schedule's wait between faults).
    pub async fn watch(&mut self, p: &mut Pipeline, span: Duration) -> Result<()> {
        let end = Instant::now() + span;
        while Instant::now() < end {
            self.revive(p)?;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Ok(())
    }
}

/// The last error line of a log tail (an error report may be followed by a backtrace), else
/// its last line.
fn one_line(tail: &str) -> String {
    // Not the frames of a backtrace ("  12: name", "at file:line").
    let frame = |l: &str| {
        let l = l.trim_start();
        l.starts_with("at ")
            || l.split_once(':')
                .is_some_and(|(n, _)| n.parse::<u32>().is_ok())
    };
    let lines: Vec<&str> = tail
        .lines()
        .filter(|l| !l.trim().is_empty() && !frame(l))
        .collect();
    let line = lines
        .iter()
        .rev()
        .find(|l| l.to_ascii_lowercase().contains("error"))
        .or(lines.last())
        .copied()
        .unwrap_or("");
    line.chars().take(300).collect()
}
