//! Commits through an Iceberg REST catalog: `POST /v1/{prefix}/namespaces/{ns}/tables/{table}`
//! with `requirements` (the table UUID, and the snapshot `main` pointed at when the commit was
//! planned) and `updates` (the changes the snapshot producer made to the metadata). The server
//! writes the new metadata file and swaps its pointer only if every requirement holds.
//!
//! iceberg-catalog-rest 0.10.1 keeps a `TableCommit` constructible only through its own
//! `Transaction` actions, which cannot add a snapshot with delete files; so this module sends
//! the commit request itself, to the same endpoint and with the same `prefix` the catalog's
//! `/v1/config` names.

use std::collections::HashMap;
use std::time::Duration;

use iceberg::{TableIdent, TableRequirement, TableUpdate};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION};
use reqwest::{StatusCode, Url};
use serde::Deserialize;

use super::pointer::Swap;
use crate::config::CatalogConfig;
use crate::SinkError;

/// Longest wait for a commit answer; past it the outcome is unknown and read back.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The REST catalog's commit endpoint.
pub(crate) struct RestPointer {
    client: reqwest::Client,
    /// `{uri}/v1/{prefix}/`, ending with `/`.
    base: Url,
}

/// `GET /v1/config`.
#[derive(Deserialize)]
struct ConfigResponse {
    #[serde(default)]
    defaults: HashMap<String, String>,
    #[serde(default)]
    overrides: HashMap<String, String>,
}

fn rest_err(context: impl Into<String>, detail: impl ToString) -> SinkError {
    SinkError::CatalogRequest {
        context: context.into(),
        detail: detail.to_string(),
    }
}

impl RestPointer {
    /// Reads the catalog's `/v1/config` (for the URI and path prefix) and prepares requests
    /// with the configured token and headers.
    pub async fn connect(settings: &CatalogConfig) -> Result<RestPointer, SinkError> {
        let uri = settings.uri.as_deref().unwrap_or_default();
        let mut headers = HeaderMap::new();
        if let Some(token) = &settings.token {
            let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
                .map_err(|_| rest_err("iceberg.catalog.token", "not a valid HTTP header value"))?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        for (name, value) in settings.headers() {
            let invalid = || {
                rest_err(
                    format!("iceberg.catalog.properties.header.{name}"),
                    "not a valid HTTP header",
                )
            };
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid())?;
            let mut value = HeaderValue::from_str(value.expose()).map_err(|_| invalid())?;
            value.set_sensitive(true);
            headers.insert(name, value);
        }
        let client = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| rest_err("cannot build the HTTP client", e))?;
        let mut config_url = parse_base(uri)?
            .join("v1/config")
            .map_err(|e| rest_err(format!("iceberg.catalog.uri {uri:?}"), e))?;
        if let Some(warehouse) = &settings.warehouse {
            config_url
                .query_pairs_mut()
                .append_pair("warehouse", warehouse);
        }
        let context = format!("GET {config_url}");
        let response = client
            .get(config_url.clone())
            .send()
            .await
            .map_err(|e| rest_err(&context, e))?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            return Err(rest_err(&context, answer(status, &body)));
        }
        let config: ConfigResponse = response.json().await.map_err(|e| rest_err(&context, e))?;
        // Precedence as in the REST spec: server defaults < client properties < overrides.
        let lookup = |key: &str| {
            config
                .overrides
                .get(key)
                .cloned()
                .or_else(|| settings.properties.get(key).map(|v| v.expose().to_owned()))
                .or_else(|| config.defaults.get(key).cloned())
        };
        let uri = lookup("uri").unwrap_or_else(|| uri.to_owned());
        let mut base = parse_base(&uri)?
            .join("v1/")
            .map_err(|e| rest_err(&uri, e))?;
        if let Some(prefix) = lookup("prefix").filter(|p| !p.is_empty()) {
            base = base
                .join(&format!("{}/", prefix.trim_matches('/')))
                .map_err(|e| rest_err(format!("catalog prefix {prefix:?}"), e))?;
        }
        Ok(RestPointer { client, base })
    }

    /// Sends the commit. `Err` is a definite failure (nothing committed); an outcome the
    /// catalog did not report (5xx, timeout, lost connection) is [`Swap::Unknown`].
    pub async fn commit(
        &self,
        ident: &TableIdent,
        requirements: Vec<TableRequirement>,
        updates: Vec<TableUpdate>,
    ) -> Result<Swap, SinkError> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| rest_err("catalog URI", "cannot be a base"))?
            .pop_if_empty()
            .extend([
                "namespaces",
                &ident.namespace().join("\u{1f}"),
                "tables",
                ident.name(),
            ]);
        let body = serde_json::json!({
            "identifier": ident,
            "requirements": requirements,
            "updates": updates,
        });
        let context = format!("commit to {}", ident);
        let response = match self.client.post(url).json(&body).send().await {
            Ok(response) => response,
            Err(e) if e.is_builder() => return Err(rest_err(&context, e)),
            Err(e) => return Ok(Swap::Unknown(rest_err(&context, e))),
        };
        let status = response.status();
        if status.is_success() {
            return Ok(Swap::Done);
        }
        let body = response.text().await.unwrap_or_default();
        match status {
            // CommitFailedException: a requirement no longer holds.
            StatusCode::CONFLICT => {
                tracing::debug!(table = %ident, answer = %answer(status, &body), "REST commit rejected");
                Ok(Swap::Conflict)
            }
            s if s.is_server_error() => Ok(Swap::Unknown(rest_err(&context, answer(s, &body)))),
            s => Err(rest_err(&context, answer(s, &body))),
        }
    }
}

/// `uri` as a base URL ending with `/`.
fn parse_base(uri: &str) -> Result<Url, SinkError> {
    let with_slash = format!("{}/", uri.trim_end_matches('/'));
    Url::parse(&with_slash).map_err(|e| rest_err(format!("iceberg.catalog.uri {uri:?}"), e))
}

/// The status and the server's error message, shortened.
fn answer(status: StatusCode, body: &str) -> String {
    #[derive(Deserialize)]
    struct ErrorModel {
        message: String,
        #[serde(rename = "type", default)]
        kind: String,
    }
    #[derive(Deserialize)]
    struct ErrorResponse {
        error: ErrorModel,
    }
    match serde_json::from_str::<ErrorResponse>(body) {
        Ok(r) => format!("HTTP {status}: {} {}", r.error.kind, r.error.message),
        Err(_) => {
            let mut text: String = body.chars().take(300).collect();
            if text.len() < body.len() {
                text.push('…');
            }
            format!("HTTP {status}: {text}")
        }
    }
}
