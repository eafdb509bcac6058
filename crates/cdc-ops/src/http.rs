//! The operations endpoint: `GET /metrics` (Prometheus text format) and `GET /healthz`.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use prometheus_client::registry::Registry;

use crate::{OpsError, Shutdown};

/// Liveness of the process's pipeline: healthy until a component reports a failure.
#[derive(Clone, Default)]
pub struct Health(Arc<Mutex<Option<String>>>);

impl Health {
    /// Marks the process unhealthy with a reason shown by `/healthz`.
    pub fn fail(&self, reason: impl Into<String>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(reason.into());
    }

    /// `None` when healthy, the failure reason otherwise.
    pub fn failure(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// A running operations endpoint.
pub struct OpsServer {
    pub local_addr: SocketAddr,
    pub task: tokio::task::JoinHandle<()>,
}

#[derive(Clone)]
struct Ops {
    registry: Arc<Registry>,
    health: Health,
}

/// Binds `addr` and serves `/metrics` and `/healthz` until `shutdown` is cancelled.
pub async fn serve_ops_endpoint(
    addr: &str,
    registry: Arc<Registry>,
    health: Health,
    shutdown: Shutdown,
) -> Result<OpsServer, OpsError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| OpsError::Bind {
            addr: addr.to_owned(),
            source,
        })?;
    let local_addr = listener.local_addr().map_err(|source| OpsError::Bind {
        addr: addr.to_owned(),
        source,
    })?;
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .with_state(Ops { registry, health });
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "ops endpoint stopped");
        }
    });
    tracing::info!(%local_addr, "serving /metrics and /healthz");
    Ok(OpsServer { local_addr, task })
}

async fn metrics(State(ops): State<Ops>) -> impl IntoResponse {
    let mut body = String::new();
    match prometheus_client::encoding::text::encode(&mut body, &ops.registry) {
        Ok(()) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            body,
        ),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("cannot encode metrics: {e}\n"),
        ),
    }
}

async fn healthz(State(ops): State<Ops>) -> impl IntoResponse {
    match ops.health.failure() {
        None => (StatusCode::OK, "ok\n".to_owned()),
        Some(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("unhealthy: {reason}\n"),
        ),
    }
}

/// The `[ops]` section both binaries share; `PORT` is the binary's default port on
/// 127.0.0.1 (9101 capture, 9102 sink).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpsConfig<const PORT: u16> {
    /// Address of `/metrics` and `/healthz`. Default `127.0.0.1:<PORT>`.
    #[serde(default = "default_listen::<PORT>")]
    pub listen: String,
    /// `human` (default) or `json`.
    #[serde(default)]
    pub log_format: crate::LogFormat,
    /// `RUST_LOG`-style filter; `RUST_LOG` wins when set. Default `info`.
    #[serde(default = "default_log_filter")]
    pub log_filter: String,
}

impl<const PORT: u16> Default for OpsConfig<PORT> {
    fn default() -> Self {
        OpsConfig {
            listen: default_listen::<PORT>(),
            log_format: crate::LogFormat::default(),
            log_filter: default_log_filter(),
        }
    }
}

fn default_listen<const PORT: u16>() -> String {
    format!("127.0.0.1:{PORT}")
}

fn default_log_filter() -> String {
    "info".into()
}

/// Serves `/metrics` (from `registry`) and `/healthz` on `listen` while `work` runs. A failure
/// of `work` turns `/healthz` unhealthy with its message; the endpoint stops when `work` ends.
pub async fn serve_while<T, E>(
    listen: &str,
    registry: Registry,
    work: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, E>
where
    E: std::fmt::Display + From<OpsError>,
{
    let health = Health::default();
    let stop = Shutdown::new();
    let ops = serve_ops_endpoint(listen, Arc::new(registry), health.clone(), stop.clone()).await?;
    let result = work.await;
    if let Err(e) = &result {
        health.fail(e.to_string());
    }
    stop.cancel();
    if let Err(e) = ops.task.await {
        tracing::warn!(error = %e, "ops endpoint task failed");
    }
    result
}
