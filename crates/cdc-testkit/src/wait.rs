//! Polling with a deadline: the only way this crate (and its tests) wait.
//!
//! Never sleep for a fixed time and hope something happened; poll the
//! condition at an interval until it holds or the deadline passes. Each
//! attempt is itself bounded by the deadline, so a hanging attempt (a
//! connect that never returns) cannot stall the caller past it.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::TestkitError;

/// Polls `condition` every `interval` until it returns `true` or `deadline` passes.
///
/// At least one attempt is always made. On timeout the error is
/// [`TestkitError::Timeout`].
///
/// ```no_run
/// # async fn demo() -> Result<(), cdc_testkit::TestkitError> {
/// use std::time::{Duration, Instant};
/// let deadline = Instant::now() + Duration::from_secs(30);
/// cdc_testkit::wait_until(deadline, Duration::from_millis(100), || async {
///     std::path::Path::new("/tmp/ready").exists()
/// })
/// .await?;
/// # Ok(()) }
/// ```
pub async fn wait_until<F, Fut>(
    deadline: Instant,
    interval: Duration,
    mut condition: F,
) -> Result<(), TestkitError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    poll_until("condition passed to wait_until", deadline, interval, || {
        let attempt = condition();
        async move { Ok(attempt.await.then_some(())) }
    })
    .await
}

/// Polls `attempt` every `interval` until it yields a value, fails, or `deadline` passes.
///
/// `attempt` returns `Ok(Some(value))` when done, `Ok(None)` to try again and
/// `Err(_)` to give up at once (e.g. the process being waited for has exited).
/// `what` names the awaited thing in the [`TestkitError::Timeout`] error.
pub async fn poll_until<T, F, Fut>(
    what: &str,
    deadline: Instant,
    interval: Duration,
    mut attempt: F,
) -> Result<T, TestkitError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, TestkitError>>,
{
    let started = Instant::now();
    let tokio_deadline = tokio::time::Instant::from_std(deadline);
    let timeout = || TestkitError::Timeout {
        what: what.to_string(),
        waited: started.elapsed(),
    };
    loop {
        match tokio::time::timeout_at(tokio_deadline, attempt()).await {
            Ok(Ok(Some(value))) => return Ok(value),
            Ok(Ok(None)) => {}
            Ok(Err(e)) => return Err(e),
            Err(_elapsed) => return Err(timeout()),
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(timeout());
        }
        tokio::time::sleep(interval.min(deadline - now)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn wait_until_returns_once_condition_holds() {
        let calls = AtomicU32::new(0);
        let deadline = Instant::now() + Duration::from_secs(5);
        wait_until(deadline, Duration::from_millis(1), || async {
            calls.fetch_add(1, Ordering::SeqCst) >= 3
        })
        .await
        .expect("condition should hold");
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn wait_until_times_out() {
        let deadline = Instant::now() + Duration::from_millis(50);
        let err = wait_until(deadline, Duration::from_millis(5), || async { false })
            .await
            .expect_err("should time out");
        assert!(matches!(err, TestkitError::Timeout { .. }), "{err}");
    }

    #[tokio::test]
    async fn poll_until_bounds_a_hanging_attempt() {
        let deadline = Instant::now() + Duration::from_millis(50);
        let err = poll_until("never", deadline, Duration::from_millis(5), || async {
            std::future::pending::<Result<Option<()>, TestkitError>>().await
        })
        .await
        .expect_err("should time out");
        assert!(err.to_string().contains("never"), "{err}");
    }

    #[tokio::test]
    async fn poll_until_stops_on_error() {
        let deadline = Instant::now() + Duration::from_secs(5);
        let err = poll_until("x", deadline, Duration::from_millis(1), || async {
            Err::<Option<()>, _>(TestkitError::Environment("boom".into()))
        })
        .await
        .expect_err("should fail");
        assert!(err.to_string().contains("boom"), "{err}");
    }
}
