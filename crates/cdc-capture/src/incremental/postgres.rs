//! Incremental snapshots on PostgreSQL: chunk reads and watermark inserts over SQL.

use std::sync::Arc;

use cdc_model::{Op, Row, SnapshotMarker, TableId, Value};
use cdc_proto::checkpoint::v1::IncrementalSnapshot;
use tokio_postgres::SimpleQueryMessage;

use crate::emit::{Emitter, Origin};
use crate::pgtypes::SESSION_SETTINGS;
use crate::selection::Selection;
use crate::table::{load_columns, quote_ident, CapturedTable};
use crate::CaptureError;

use super::signal::{chunk_id, Outcome, Snapshotter};
use super::window::Window;

/// Incremental-snapshot state of the streamer.
pub struct Signals {
    table: TableId,
    sql: tokio_postgres::Client,
    chunk_size: u32,
    topic_prefix: String,
    values: cdc_model::debezium::ValueOptions,
    run: Snapshotter<Arc<CapturedTable>>,
}

fn pg(what: impl Into<String>) -> impl FnOnce(tokio_postgres::Error) -> CaptureError {
    let what = what.into();
    move |e| CaptureError::postgres(format!("incremental snapshot: {what}"), e)
}

/// `'text'` as an SQL literal.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

impl Signals {
    /// Connects for watermarks and chunk reads; `resumed` is the stored progress.
    pub async fn new(
        config: &crate::config::CaptureConfig,
        table: TableId,
        resumed: Option<IncrementalSnapshot>,
    ) -> Result<Signals, CaptureError> {
        let sql = crate::source::connect_sql(&config.source).await?;
        let mut setup = String::new();
        for (k, v) in SESSION_SETTINGS {
            setup.push_str(&format!("SET {k} = '{v}'; "));
        }
        sql.batch_execute(&setup)
            .await
            .map_err(pg("session settings"))?;
        Ok(Signals {
            table,
            sql,
            chunk_size: config.snapshot.incremental_chunk_size,
            topic_prefix: config.topic_prefix.clone(),
            values: config.values.clone(),
            run: Snapshotter::new(resumed),
        })
    }

    /// Whether `id` is the signal table.
    pub fn is_signal_table(&self, id: &TableId) -> bool {
        *id == self.table
    }

    /// A row inserted into the signal table. Returns the new progress when a snapshot was
    /// requested (to be stored in the position), and emits the window at its close watermark.
    pub async fn on_signal(
        &mut self,
        table: &CapturedTable,
        row: &Row,
        captured: &[TableId],
        emitter: &Emitter<'_>,
        lsn: u64,
    ) -> Result<Option<Option<IncrementalSnapshot>>, CaptureError> {
        let text = |name: &str| {
            table
                .schema
                .columns
                .iter()
                .position(|c| c.name == name)
                .and_then(|i| match &row[i] {
                    Value::String(s) => Some(s.clone()),
                    _ => None,
                })
        };
        let (Some(id), Some(kind)) = (text("id"), text("type")) else {
            return Ok(None);
        };
        let data = text("data");
        match self.run.on_signal(&id, &kind, data.as_deref(), captured) {
            Outcome::Nothing => Ok(None),
            Outcome::Progress(p) => Ok(Some(p)),
            Outcome::Closed {
                table,
                rows,
                progress,
            } => {
                let origin = Origin {
                    ts_us: chrono::Utc::now().timestamp_micros(),
                    snapshot: SnapshotMarker::Incremental,
                    lsn,
                    last_commit_lsn: None,
                    tx_id: None,
                };
                let emitted = rows.len();
                for row in rows {
                    emitter
                        .emit(&table, Op::Read, None, Some(row), &origin, None)
                        .await?;
                }
                emitter.metrics.snapshot_rows.inc_by(emitted as u64);
                Ok(Some(progress))
            }
        }
    }

    /// A streamed change to `table` with key payload `key`: the streamed event wins over the
    /// window's copy.
    pub fn observe(&mut self, table: &TableId, key: &[u8]) {
        self.run.observe(table, key);
    }

    /// Whether a window is waiting for its watermarks.
    pub fn window_open(&self) -> bool {
        self.run.window_open()
    }

    /// Opens the next chunk's window when a snapshot is running and no window is open.
    /// Returns the progress when it changed (a table turned out empty or finished).
    pub async fn next_chunk(
        &mut self,
        selection: &Selection,
    ) -> Result<Option<Option<IncrementalSnapshot>>, CaptureError> {
        let mut changed = false;
        loop {
            if self.run.window.is_some() {
                return Ok(changed.then(|| self.run.state.clone()));
            }
            let Some(state) = &mut self.run.state else {
                return Ok(changed.then_some(None));
            };
            let Some(name) = state.tables.first().cloned() else {
                self.run.state = None;
                return Ok(Some(None));
            };
            let Some(id) = name.split_once('.').map(|(s, t)| TableId::new(s, t)) else {
                state.tables.remove(0);
                changed = true;
                continue;
            };
            let columns = load_columns(&self.sql, &id).await?;
            let table = Arc::new(CapturedTable::new(
                id.clone(),
                &columns,
                &self.topic_prefix,
                selection,
                &self.values,
            ));
            if table.schema.key.is_empty() {
                tracing::warn!(table = %id, "incremental snapshot needs a primary key; table skipped");
                state.tables.remove(0);
                changed = true;
                continue;
            }
            let keys: Vec<String> = table
                .schema
                .key
                .iter()
                .map(|&i| quote_ident(&table.schema.columns[i].name))
                .collect();
            let keys = keys.join(", ");
            let from = format!("{}.{}", quote_ident(&id.namespace), quote_ident(&id.name));
            if !state.max_key_known {
                let rows = self
                    .sql
                    .simple_query(&format!(
                        "SELECT {keys} FROM {from} ORDER BY {keys} DESC LIMIT 1"
                    ))
                    .await
                    .map_err(pg(format!("reading the largest key of {id}")))?;
                match first_row_texts(&rows) {
                    Some(max) => {
                        state.max_key = max;
                        state.max_key_known = true;
                    }
                    None => {
                        tracing::info!(table = %id, "incremental snapshot: table is empty");
                        state.tables.remove(0);
                        changed = true;
                        continue;
                    }
                }
            }
            let types = key_types(&self.sql, &id, &table).await?;
            let typed = |texts: &[String]| -> String {
                texts
                    .iter()
                    .zip(&types)
                    .map(|(t, ty)| format!("{}::{ty}", literal(t)))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let mut conditions = vec![format!("({keys}) <= ({})", typed(&state.max_key))];
            if !state.last_key.is_empty() {
                conditions.push(format!("({keys}) > ({})", typed(&state.last_key)));
            }
            if let Some(filter) = state.filters.get(&name) {
                conditions.push(format!("({filter})"));
            }
            let chunk_id = chunk_id();
            let signal = format!(
                "{}.{}",
                quote_ident(&self.table.namespace),
                quote_ident(&self.table.name)
            );
            let now = chrono::Utc::now().to_rfc3339();
            self.sql
                .batch_execute(&format!(
                    "INSERT INTO {signal} (id, type, data) VALUES ({}, 'snapshot-window-open', {})",
                    literal(&format!("{chunk_id}-open")),
                    literal(&format!("{{\"openWindowTimestamp\": \"{now}\"}}"))
                ))
                .await
                .map_err(pg("writing the open watermark"))?;
            let messages = self
                .sql
                .simple_query(&format!(
                    "SELECT {} FROM {from} WHERE {} ORDER BY {keys} LIMIT {}",
                    table.select_list(),
                    conditions.join(" AND "),
                    self.chunk_size
                ))
                .await
                .map_err(pg(format!("reading a chunk of {id}")))?;
            let mut rows = Vec::new();
            let mut last_key = None;
            for m in &messages {
                if let SimpleQueryMessage::Row(r) = m {
                    let row = table.row_from_text((0..r.len()).map(|i| r.get(i)))?;
                    last_key = Some(
                        table
                            .schema
                            .key
                            .iter()
                            .map(|&i| r.get(i).unwrap_or_default().to_owned())
                            .collect(),
                    );
                    let key = table.codec.encode_key_payload(&row)?.unwrap_or_default();
                    rows.push((key, row));
                }
            }
            let full = rows.len() as u32 >= self.chunk_size;
            self.sql
                .batch_execute(&format!(
                    "INSERT INTO {signal} (id, type, data) VALUES ({}, 'snapshot-window-close', {})",
                    literal(&format!("{chunk_id}-close")),
                    literal("{}")
                ))
                .await
                .map_err(pg("writing the close watermark"))?;
            tracing::debug!(table = %id, chunk = %chunk_id, rows = rows.len(), "chunk window open");
            self.run.window = Some(Window::new(chunk_id, table, id, rows, last_key, full));
        }
    }
}

fn first_row_texts(messages: &[SimpleQueryMessage]) -> Option<Vec<String>> {
    messages.iter().find_map(|m| match m {
        SimpleQueryMessage::Row(r) => Some(
            (0..r.len())
                .map(|i| r.get(i).unwrap_or_default().to_owned())
                .collect(),
        ),
        _ => None,
    })
}

/// `format_type` of each key column, for typed literals.
async fn key_types(
    sql: &tokio_postgres::Client,
    id: &TableId,
    table: &CapturedTable,
) -> Result<Vec<String>, CaptureError> {
    let mut types = Vec::new();
    for &i in &table.schema.key {
        let name = &table.schema.columns[i].name;
        let row = sql
            .query_one(
                "SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a \
                 WHERE a.attrelid = format('%I.%I', $1::text, $2::text)::regclass \
                 AND a.attname = $3",
                &[&id.namespace, &id.name, name],
            )
            .await
            .map_err(pg(format!("reading the type of {id}.{name}")))?;
        types.push(row.get::<_, String>(0));
    }
    Ok(types)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_quoted() {
        assert_eq!(literal("it's"), "'it''s'");
    }
}
