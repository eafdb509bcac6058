//! The PostgreSQL side: connecting, the source table's columns, and streaming its rows with
//! `COPY (SELECT …) TO STDOUT` (text format, bounded memory).

use std::str::FromStr;

use cdc_model::TableId;
use futures::StreamExt;
use tokio_postgres::{Client, NoTls};

use super::canonical::PgColumnType;
use super::tls::SourceTls;
use crate::SinkError;

/// Session settings under which the select expressions' text output is read.
const SESSION: &str = "SET DateStyle = ISO; SET TimeZone = 'UTC'; SET IntervalStyle = postgres; \
                       SET bytea_output = hex; SET extra_float_digits = 3";

fn pg_err(context: impl Into<String>) -> impl FnOnce(tokio_postgres::Error) -> SinkError {
    let context = context.into();
    move |source| SinkError::Postgres { context, source }
}

/// Connects to `conninfo` (libpq `key=value` or `postgres://` URL; `PGPASSWORD` supplies a
/// missing password) with `tls` (`disable` or `verify_full`).
pub(crate) async fn connect(conninfo: &str, tls: &SourceTls) -> Result<Client, SinkError> {
    let mut config = tokio_postgres::Config::from_str(conninfo).map_err(pg_err(
        "the connection string is not valid (expected `host=… user=… dbname=…` or a \
         postgres:// URL)",
    ))?;
    if config.get_password().is_none() {
        if let Ok(password) = std::env::var("PGPASSWORD") {
            config.password(password);
        }
    }
    let client = match tls.postgres()? {
        None => {
            let (client, connection) = config
                .connect(NoTls)
                .await
                .map_err(pg_err("cannot connect"))?;
            tokio::spawn(watch(connection));
            client
        }
        Some(rustls) => {
            config.ssl_mode(tokio_postgres::config::SslMode::Require);
            let (client, connection) = config
                .connect(tokio_postgres_rustls::MakeRustlsConnect::new(rustls))
                .await
                .map_err(pg_err("cannot connect (TLS, verify_full)"))?;
            tokio::spawn(watch(connection));
            client
        }
    };
    client
        .batch_execute(SESSION)
        .await
        .map_err(pg_err("cannot set the session settings"))?;
    let version: i32 = client
        .query_one("SELECT current_setting('server_version_num')::int4", &[])
        .await
        .map_err(pg_err("cannot read server_version_num"))?
        .get(0);
    if version < 140_000 {
        return Err(SinkError::Config(format!(
            "verify needs PostgreSQL 14 or later (server_version_num {version})"
        )));
    }
    Ok(client)
}

/// Drives a source connection, logging how it ended.
async fn watch<F: std::future::Future<Output = Result<(), tokio_postgres::Error>>>(connection: F) {
    if let Err(e) = connection.await {
        tracing::warn!(error = %e, "verify: source connection ended");
    }
}

/// One source column.
#[derive(Debug, Clone)]
pub(crate) struct SourceColumn {
    pub name: String,
    pub ty: PgColumnType,
    /// 1-based position in the primary key.
    pub pk_position: Option<i32>,
}

/// The columns of `table` in attribute order (domains resolved to their base type).
pub(crate) async fn columns(
    client: &Client,
    table: &TableId,
) -> Result<Vec<SourceColumn>, SinkError> {
    const SQL: &str = "SELECT a.attname::text, bt.typname::text, bt.typcategory = 'A', \
               coalesce(et.typtype, bt.typtype) = 'e', \
               array_position(i.indkey::int2[], a.attnum)::int4 \
        FROM pg_attribute a \
        JOIN pg_class c ON c.oid = a.attrelid \
        JOIN pg_namespace n ON n.oid = c.relnamespace \
        JOIN pg_type t ON t.oid = a.atttypid \
        JOIN pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END \
        LEFT JOIN pg_type et ON et.oid = bt.typelem AND bt.typcategory = 'A' \
        LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary \
        WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped \
        ORDER BY a.attnum";
    let rows = client
        .query(SQL, &[&table.namespace, &table.name])
        .await
        .map_err(pg_err(format!("cannot read the columns of {table}")))?;
    if rows.is_empty() {
        return Err(SinkError::Verify {
            table: table.to_string(),
            reason: "the source table does not exist or has no columns".into(),
        });
    }
    Ok(rows
        .iter()
        .map(|r| SourceColumn {
            name: r.get(0),
            ty: PgColumnType {
                name: r.get(1),
                is_array: r.get(2),
                is_enum: r.get(3),
            },
            pk_position: r.get(4),
        })
        .collect())
}

/// `"name"` with embedded quotes doubled.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Streams the rows of `COPY (select) TO STDOUT`, calling `on_row` with each row's fields
/// (`None` = SQL null). Memory is bounded by one chunk plus one row.
pub(crate) async fn copy_rows(
    client: &Client,
    table: &str,
    select: &str,
    mut on_row: impl FnMut(&[Option<String>]) -> Result<(), SinkError>,
) -> Result<u64, SinkError> {
    let sql = format!("COPY ({select}) TO STDOUT");
    let stream = client
        .copy_out(sql.as_str())
        .await
        .map_err(pg_err(format!("cannot read table {table}")))?;
    futures::pin_mut!(stream);
    let mut pending: Vec<u8> = Vec::new();
    let mut fields = Vec::new();
    let mut rows = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(pg_err(format!("reading table {table}")))?;
        pending.extend_from_slice(&chunk);
        let mut start = 0;
        while let Some(end) = pending[start..].iter().position(|&b| b == b'\n') {
            let line = &pending[start..start + end];
            parse_copy_line(line, &mut fields).map_err(|reason| SinkError::Verify {
                table: table.to_owned(),
                reason: format!("row {}: {reason}", rows + 1),
            })?;
            on_row(&fields)?;
            rows += 1;
            start += end + 1;
        }
        pending.drain(..start);
    }
    if !pending.is_empty() {
        return Err(SinkError::Verify {
            table: table.to_owned(),
            reason: "COPY output ended inside a row".into(),
        });
    }
    Ok(rows)
}

/// Splits one line of COPY text format into fields, undoing its backslash escapes.
pub(crate) fn parse_copy_line(line: &[u8], fields: &mut Vec<Option<String>>) -> Result<(), String> {
    fields.clear();
    for raw in line.split(|&b| b == b'\t') {
        if raw == b"\\N" {
            fields.push(None);
            continue;
        }
        let mut out = Vec::with_capacity(raw.len());
        let mut i = 0;
        while i < raw.len() {
            let b = raw[i];
            i += 1;
            if b != b'\\' {
                out.push(b);
                continue;
            }
            let Some(&e) = raw.get(i) else {
                return Err("dangling backslash in COPY output".into());
            };
            i += 1;
            out.push(match e {
                b'b' => 0x08,
                b'f' => 0x0c,
                b'n' => b'\n',
                b'r' => b'\r',
                b't' => b'\t',
                b'v' => 0x0b,
                b'0'..=b'7' => {
                    let mut v = u32::from(e - b'0');
                    for _ in 0..2 {
                        match raw.get(i) {
                            Some(&d @ b'0'..=b'7') => {
                                v = v * 8 + u32::from(d - b'0');
                                i += 1;
                            }
                            _ => break,
                        }
                    }
                    u8::try_from(v).map_err(|_| "octal escape out of range".to_owned())?
                }
                other => other,
            });
        }
        let text = String::from_utf8(out).map_err(|_| "value is not valid UTF-8".to_owned())?;
        fields.push(Some(text));
    }
    Ok(())
}
