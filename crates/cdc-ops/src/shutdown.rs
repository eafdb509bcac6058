//! Graceful shutdown: SIGINT/SIGTERM cancel a token that every task watches.

pub use tokio_util::sync::CancellationToken as Shutdown;

/// Cancels `shutdown` on the first SIGINT or SIGTERM. Spawn once from `main`.
pub async fn shutdown_on_signals(shutdown: Shutdown) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot install signal handlers; SIGTERM will not shut down gracefully");
        return;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received, shutting down"),
        _ = int.recv() => tracing::info!("SIGINT received, shutting down"),
        _ = shutdown.cancelled() => return,
    }
    shutdown.cancel();
}
