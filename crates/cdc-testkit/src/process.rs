//! Child processes that cannot outlive their owner.
//!
//! [`ManagedProcess`] runs a program with stdout and stderr appended to a log
//! file, offers SIGKILL / SIGTERM-with-deadline, and kills the process when it
//! is dropped. The PostgreSQL and Kafka wrappers are built on it.

use std::ffi::OsStr;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::{poll_until, TestkitError};

/// How often exit is polled while waiting for a process to stop.
const EXIT_POLL: Duration = Duration::from_millis(20);
/// How much of a log file [`log_tail`] reads at most.
const TAIL_BYTES: u64 = 64 * 1024;

/// A spawned child process with its output in a log file; killed (SIGKILL) on drop.
#[derive(Debug)]
pub struct ManagedProcess {
    child: Child,
    name: String,
    log_file: PathBuf,
    exit: Option<ExitStatus>,
}

impl ManagedProcess {
    /// Spawns `program` with `args` and extra environment `envs` (added to the
    /// inherited environment). Stdin is closed; stdout and stderr are appended
    /// to `log_file` (created with its parent directories if missing, so a
    /// restarted process keeps writing to the same log).
    pub fn spawn(
        program: &Path,
        args: &[&str],
        envs: &[(&str, &str)],
        log_file: &Path,
    ) -> Result<ManagedProcess, TestkitError> {
        let mut command = Command::new(program);
        command.args(args);
        command.envs(envs.iter().copied());
        Self::spawn_command(command, log_file)
    }

    /// Spawns a prepared command with stdin closed and output appended to `log_file`.
    pub(crate) fn spawn_command(
        mut command: Command,
        log_file: &Path,
    ) -> Result<ManagedProcess, TestkitError> {
        let name = Path::new(command.get_program())
            .file_name()
            .map_or_else(|| command.get_program().into(), OsStr::to_os_string)
            .to_string_lossy()
            .into_owned();
        let stdout = open_log(log_file)?;
        let stderr = stdout.try_clone().map_err(|e| {
            TestkitError::io(format!("duplicate handle of {}", log_file.display()), e)
        })?;
        command.stdin(Stdio::null()).stdout(stdout).stderr(stderr);
        let child = command.spawn().map_err(|e| {
            TestkitError::io(
                format!("spawn {}", command.get_program().to_string_lossy()),
                e,
            )
        })?;
        Ok(ManagedProcess {
            child,
            name,
            log_file: log_file.to_path_buf(),
            exit: None,
        })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The log file receiving the process's stdout and stderr.
    pub fn log_file(&self) -> &Path {
        &self.log_file
    }

    /// Whether the process is still running (reaps it if it has exited).
    pub fn is_running(&mut self) -> bool {
        self.poll_exit().is_none()
    }

    /// The exit status if the process has exited, without blocking.
    pub fn exit_status(&mut self) -> Option<ExitStatus> {
        self.poll_exit()
    }

    /// The last `lines` lines of the process's log (at most the last 64 KiB).
    pub fn log_tail(&self, lines: usize) -> String {
        log_tail(&self.log_file, lines)
    }

    /// Kills the process with SIGKILL and reaps it. A no-op if it already exited.
    pub fn kill9(&mut self) -> Result<(), TestkitError> {
        if self.poll_exit().is_some() {
            return Ok(());
        }
        // `Child::kill` sends SIGKILL on Unix.
        if let Err(e) = self.child.kill() {
            // It may have exited between the check and the kill.
            if self.poll_exit().is_some() {
                return Ok(());
            }
            return Err(TestkitError::io(
                format!("SIGKILL {} (pid {})", self.name, self.pid()),
                e,
            ));
        }
        let status = self
            .child
            .wait()
            .map_err(|e| TestkitError::io(format!("reap {} (pid {})", self.name, self.pid()), e))?;
        self.exit = Some(status);
        Ok(())
    }

    /// Sends SIGTERM and waits up to `timeout` for the process to exit,
    /// returning its exit status. If it does not exit in time it is killed
    /// with SIGKILL and [`TestkitError::Timeout`] is returned.
    pub async fn terminate(&mut self, timeout: Duration) -> Result<ExitStatus, TestkitError> {
        self.signal_and_wait(libc::SIGTERM, "SIGTERM", timeout)
            .await
    }

    /// Freezes the process (SIGSTOP), e.g. to simulate a stalled broker. A no-op if it exited.
    pub fn pause(&mut self) -> Result<(), TestkitError> {
        if self.poll_exit().is_some() {
            return Ok(());
        }
        self.send_signal(libc::SIGSTOP, "SIGSTOP")
    }

    /// Lets a [`pause`](Self::pause)d process run again (SIGCONT). A no-op if it exited.
    pub fn resume(&mut self) -> Result<(), TestkitError> {
        if self.poll_exit().is_some() {
            return Ok(());
        }
        self.send_signal(libc::SIGCONT, "SIGCONT")
    }

    /// As [`terminate`](Self::terminate) with SIGINT (Ctrl-C), for programs that finish
    /// their output on it (e.g. `perf record`).
    pub async fn interrupt(&mut self, timeout: Duration) -> Result<ExitStatus, TestkitError> {
        self.signal_and_wait(libc::SIGINT, "SIGINT", timeout).await
    }

    /// Sends `signal` and waits up to `timeout` for exit; SIGKILL and a
    /// timeout error if the process does not exit in time.
    pub(crate) async fn signal_and_wait(
        &mut self,
        signal: libc::c_int,
        signal_name: &str,
        timeout: Duration,
    ) -> Result<ExitStatus, TestkitError> {
        if let Some(status) = self.poll_exit() {
            return Ok(status);
        }
        self.send_signal(signal, signal_name)?;
        let what = format!(
            "{} (pid {}) to exit after {signal_name}; it was then killed with SIGKILL",
            self.name,
            self.pid()
        );
        let deadline = Instant::now() + timeout;
        let waited = poll_until(&what, deadline, EXIT_POLL, || {
            let exit = self.poll_exit();
            async move { Ok(exit) }
        })
        .await;
        match waited {
            Ok(status) => Ok(status),
            Err(e) => {
                self.kill9()?;
                Err(e)
            }
        }
    }

    /// For `Drop` impls: sends `signal`, blocks up to `timeout` for exit, then
    /// SIGKILLs. Never fails; the process is reaped when this returns.
    pub(crate) fn shutdown_blocking(&mut self, signal: libc::c_int, timeout: Duration) {
        if self.poll_exit().is_some() {
            return;
        }
        if self.send_signal(signal, "shutdown signal").is_ok() {
            let deadline = Instant::now() + timeout;
            while Instant::now() < deadline {
                if self.poll_exit().is_some() {
                    return;
                }
                // Blocking poll: Drop cannot await.
                std::thread::sleep(EXIT_POLL);
            }
        }
        let _ = self.kill9();
    }

    fn send_signal(&mut self, signal: libc::c_int, signal_name: &str) -> Result<(), TestkitError> {
        let pid = libc::pid_t::try_from(self.pid()).map_err(|_| {
            TestkitError::Environment(format!("pid {} does not fit pid_t", self.pid()))
        })?;
        // SAFETY: kill(2) has no memory-safety preconditions. The pid is our
        // own child that has not been reaped yet (checked by the callers), so
        // it cannot have been recycled for another process.
        let rc = unsafe { libc::kill(pid, signal) };
        if rc == 0 {
            Ok(())
        } else {
            Err(TestkitError::io(
                format!("send {signal_name} to {} (pid {pid})", self.name),
                std::io::Error::last_os_error(),
            ))
        }
    }

    fn poll_exit(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            // An error here means the child was already reaped elsewhere; treat as running
            // only if we have no status, which cannot happen since we own the only handle.
            if let Ok(Some(status)) = self.child.try_wait() {
                self.exit = Some(status);
            }
        }
        self.exit
    }
}

impl Drop for ManagedProcess {
    fn drop(&mut self) {
        let _ = self.kill9();
    }
}

/// Opens (creating, appending) a log file, creating its parent directories.
fn open_log(path: &Path) -> Result<File, TestkitError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| TestkitError::io(format!("create log dir {}", parent.display()), e))?;
    }
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| TestkitError::io(format!("open log file {}", path.display()), e))
}

/// The last `lines` lines of the file at `path` (reading at most its last 64 KiB).
/// Never fails: an unreadable file yields a short explanation instead.
pub(crate) fn log_tail(path: &Path, lines: usize) -> String {
    let read = || -> std::io::Result<String> {
        let mut file = File::open(path)?;
        let len = file.metadata()?.len();
        let start = len.saturating_sub(TAIL_BYTES);
        file.seek(SeekFrom::Start(start))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    };
    match read() {
        Ok(text) => {
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("<could not read {}: {e}>", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn terminate_returns_status_and_log_is_captured() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("sub/sh.log");
        let mut p = ManagedProcess::spawn(
            Path::new("/bin/sh"),
            &["-c", "echo hello-$GREETING; exec sleep 30"],
            &[("GREETING", "world")],
            &log,
        )
        .expect("spawn");
        assert!(p.is_running());
        let deadline = Instant::now() + Duration::from_secs(10);
        crate::wait_until(deadline, Duration::from_millis(10), || {
            let tail = p.log_tail(5);
            async move { tail.contains("hello-world") }
        })
        .await
        .expect("log line");
        let status = p
            .terminate(Duration::from_secs(10))
            .await
            .expect("terminate");
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(libc::SIGTERM));
        assert!(!p.is_running());
    }

    #[tokio::test]
    async fn terminate_escalates_to_sigkill() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut p = ManagedProcess::spawn(
            Path::new("/bin/sh"),
            &[
                "-c",
                "trap '' TERM; echo trapped; while :; do sleep 1; done",
            ],
            &[],
            &dir.path().join("trap.log"),
        )
        .expect("spawn");
        // SIGTERM before the trap is installed would simply end the shell.
        let deadline = Instant::now() + Duration::from_secs(10);
        crate::wait_until(deadline, Duration::from_millis(10), || {
            let tail = p.log_tail(1);
            async move { tail.contains("trapped") }
        })
        .await
        .expect("trap installed");
        let err = p
            .terminate(Duration::from_millis(300))
            .await
            .expect_err("should time out");
        assert!(matches!(err, TestkitError::Timeout { .. }), "{err}");
        assert!(!p.is_running());
    }

    #[test]
    fn kill9_and_tail() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("x.log");
        std::fs::write(&log, "a\nb\nc\n").expect("write");
        assert_eq!(log_tail(&log, 2), "b\nc");
        let mut p =
            ManagedProcess::spawn(Path::new("/bin/sleep"), &["30"], &[], &log).expect("spawn");
        p.kill9().expect("kill9");
        assert!(!p.is_running());
        p.kill9().expect("second kill9 is a no-op");
    }
}
