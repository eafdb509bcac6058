//! Incremental snapshots on MySQL / MariaDB: watermark inserts into the signal table and chunk
//! reads with bound parameters (`WHERE (key) > (?) AND (key) <= (?) ORDER BY key LIMIT n`).
//!
//! The progress keeps key values as JSON of [`KeyValue`] (the binary-protocol value the
//! server returned), so a resumed snapshot binds exactly the value it read, whatever the key
//! type (integer, character, binary, temporal, composite).

use cdc_model::{ChangeEvent, Op, Position, Row, SnapshotMarker, SourceInfo, TableId, Value};
use cdc_mysql::ddl::{DdlOptions, Schemas};
use cdc_mysql::snapshot::{plan_table, KeyValue, TablePlan};
use cdc_mysql::stream::TableFilter;
use cdc_mysql::types::HandlingModes;
use cdc_proto::checkpoint::v1::{IncrementalSnapshot, MySqlPosition};
use mysql_async::prelude::Queryable;
use mysql_async::Value as MyValue;

use crate::emit::{now_ns, Emitter};
use crate::mysql::{list_tables, Codecs, EventTable};
use crate::CaptureError;

use super::signal::{chunk_id, Outcome, Snapshotter};
use super::window::Window;

/// Incremental-snapshot state of the binlog streamer.
pub struct BinlogSignals {
    table: TableId,
    /// One connection, re-established when the server dropped it (idle between snapshots).
    pool: mysql_async::Pool,
    chunk_size: u32,
    modes: HandlingModes,
    ddl_options: DdlOptions,
    /// Whether a table is captured (requests may name only those).
    captures: TableFilter,
    codecs: Codecs,
    run: Snapshotter<EventTable>,
}

fn my(what: impl Into<String>) -> impl FnOnce(mysql_async::Error) -> CaptureError {
    let what = what.into();
    move |e| CaptureError::mysql(format!("incremental snapshot: {what}"), e)
}

/// `` `name` `` with backticks doubled.
fn quote(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// `(?, ?, …)` for `n` values.
fn holes(n: usize) -> String {
    format!("({})", vec!["?"; n].join(", "))
}

/// A key value as the progress stores it.
fn key_text(v: MyValue) -> String {
    serde_json::to_string(&KeyValue::from(v)).unwrap_or_default()
}

/// A stored key as bound parameters.
fn key_params(table: &TableId, texts: &[String]) -> Result<Vec<MyValue>, CaptureError> {
    texts
        .iter()
        .map(|t| {
            serde_json::from_str::<KeyValue>(t)
                .map(|k| MyValue::from(&k))
                .map_err(|e| {
                    CaptureError::Checkpoint(format!(
                        "incremental snapshot of {table}: stored key value {t:?} is not a \
                         MySQL key value: {e}"
                    ))
                })
        })
        .collect()
}

/// The text of column `name` of a signal row.
fn text(schema: &cdc_model::TableSchema, row: &Row, name: &str) -> Option<String> {
    let i = schema
        .columns
        .iter()
        .position(|c| c.name.eq_ignore_ascii_case(name))?;
    match row.get(i)? {
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

impl BinlogSignals {
    /// Connects for watermarks and chunk reads; `resumed` is the stored progress.
    pub async fn new(
        config: &crate::config::CaptureConfig,
        opts: mysql_async::Opts,
        table: TableId,
        modes: HandlingModes,
        ddl_options: DdlOptions,
        captures: TableFilter,
        resumed: Option<IncrementalSnapshot>,
    ) -> Result<BinlogSignals, CaptureError> {
        let constraints = mysql_async::PoolConstraints::new(0, 1)
            .ok_or_else(|| CaptureError::Pipeline("pool constraints 0..=1".into()))?;
        let opts = mysql_async::OptsBuilder::from_opts(opts)
            .pool_opts(mysql_async::PoolOpts::default().with_constraints(constraints));
        // Connect now, so that a source refusing the connection fails at start.
        let pool = mysql_async::Pool::new(opts);
        drop(pool.get_conn().await.map_err(my("connecting"))?);
        Ok(BinlogSignals {
            table,
            pool,
            chunk_size: config.snapshot.incremental_chunk_size.max(1),
            codecs: Codecs::new(
                &config.topic_prefix,
                &modes,
                std::sync::Arc::new(crate::selection::Selection::from_config(&config.source)?),
            ),
            modes,
            ddl_options,
            captures,
            run: Snapshotter::new(resumed),
        })
    }

    /// Whether `id` is the signal table.
    pub fn is_signal_table(&self, id: &TableId) -> bool {
        *id == self.table
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

    /// A row inserted into the signal table (`source` is its event's). Returns the new
    /// progress when it changed (to be stored in the position); at the open window's close
    /// watermark, first emits the window's rows as `op=r` with `snapshot=incremental`.
    pub async fn on_signal(
        &mut self,
        schema: &cdc_model::TableSchema,
        row: &Row,
        source: &SourceInfo,
        emitter: &Emitter<'_, MySqlPosition>,
    ) -> Result<Option<Option<IncrementalSnapshot>>, CaptureError> {
        let (Some(id), Some(kind)) = (text(schema, row, "id"), text(schema, row, "type")) else {
            return Ok(None);
        };
        let captured = if kind == "execute-snapshot" {
            let mut conn = self.pool.get_conn().await.map_err(my("connecting"))?;
            let all = list_tables(&mut conn).await?;
            all.into_iter().filter(|t| (self.captures)(t)).collect()
        } else {
            Vec::new()
        };
        let data = text(schema, row, "data");
        match self.run.on_signal(&id, &kind, data.as_deref(), &captured) {
            Outcome::Nothing => Ok(None),
            Outcome::Progress(p) => Ok(Some(p)),
            Outcome::Closed {
                table,
                rows,
                progress,
            } => {
                let emitted = rows.len() as u64;
                for row in rows {
                    let event = ChangeEvent {
                        table: table.schema.clone(),
                        op: Op::Read,
                        before: None,
                        after: Some(row),
                        source: incremental_source(source, &table.schema.id),
                        transaction: None,
                        ts_ns: now_ns(),
                    };
                    emitter
                        .emit_event(&table.codec, &table.topic, event, None, &[])
                        .await?;
                }
                emitter.metrics.snapshot_rows.inc_by(emitted);
                Ok(Some(progress))
            }
        }
    }

    /// Opens the next chunk's window when a snapshot is running and no window is open.
    /// Returns the progress when it changed (a table turned out empty, keyless or finished).
    pub async fn next_chunk(
        &mut self,
    ) -> Result<Option<Option<IncrementalSnapshot>>, CaptureError> {
        if self.run.window.is_some() || self.run.state.is_none() {
            return Ok(None);
        }
        let mut conn = self.pool.get_conn().await.map_err(my("connecting"))?;
        let conn = &mut conn;
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
            let Some(id) = name.split_once('.').map(|(d, t)| TableId::new(d, t)) else {
                state.tables.remove(0);
                changed = true;
                continue;
            };
            let mut schemas = Schemas::new(self.ddl_options.clone());
            let plan = plan_table(
                conn,
                &mut schemas,
                &cdc_mysql::ddl::TableId::new(id.namespace.clone(), id.name.clone()),
                &self.modes,
            )
            .await
            .map_err(|e| CaptureError::mysql(format!("incremental snapshot of {id}"), e))?;
            let key_index = key_indexes(&plan);
            if plan.key.is_empty() || key_index.len() != plan.key.len() {
                tracing::warn!(table = %id,
                    "incremental snapshot needs a primary key without NULLs; table skipped");
                state.tables.remove(0);
                changed = true;
                continue;
            }
            let keys: Vec<String> = plan.key.iter().map(|k| quote(k)).collect();
            let key_list = keys.join(", ");
            let from = format!("{}.{}", quote(&id.namespace), quote(&id.name));
            if !state.max_key_known {
                let desc: Vec<String> = keys.iter().map(|k| format!("{k} DESC")).collect();
                let max: Option<mysql_async::Row> = conn
                    .query_first(format!(
                        "SELECT {key_list} FROM {from} ORDER BY {} LIMIT 1",
                        desc.join(", ")
                    ))
                    .await
                    .map_err(my(format!("reading the largest key of {id}")))?;
                match max {
                    Some(row) => {
                        state.max_key = row
                            .unwrap_raw()
                            .into_iter()
                            .map(|v| key_text(v.unwrap_or(MyValue::NULL)))
                            .collect();
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
            let tuple = format!("({key_list})");
            let mut conditions = vec![format!("{tuple} <= {}", holes(keys.len()))];
            let mut params = key_params(&id, &state.max_key)?;
            if !state.last_key.is_empty() {
                conditions.push(format!("{tuple} > {}", holes(keys.len())));
                params.extend(key_params(&id, &state.last_key)?);
            }
            if let Some(filter) = state.filters.get(&name) {
                conditions.push(format!("({filter})"));
            }
            let columns: Vec<String> = plan.columns.iter().map(|c| quote(&c.name)).collect();
            let select = format!(
                "SELECT {} FROM {from} WHERE {} ORDER BY {key_list} LIMIT {}",
                columns.join(", "),
                conditions.join(" AND "),
                self.chunk_size
            );
            let chunk = chunk_id();
            let signal = format!(
                "{}.{}",
                quote(&self.table.namespace),
                quote(&self.table.name)
            );
            let opened =
                serde_json::json!({ "openWindowTimestamp": chrono::Utc::now().to_rfc3339() });
            conn.exec_drop(
                format!(
                    "INSERT INTO {signal} (id, type, data) VALUES (?, 'snapshot-window-open', ?)"
                ),
                (format!("{chunk}-open"), opened.to_string()),
            )
            .await
            .map_err(my("writing the open watermark"))?;
            let read: Vec<mysql_async::Row> = conn
                .exec(select, params)
                .await
                .map_err(my(format!("reading a chunk of {id}")))?;
            let table = self.codecs.for_def(&plan.def, &self.modes)?;
            let mut rows = Vec::with_capacity(read.len());
            let mut last_key = None;
            for r in read {
                let raw = r.unwrap_raw();
                if raw.len() != plan.columns.len() {
                    return Err(CaptureError::Pipeline(format!(
                        "incremental snapshot of {id}: {} values for {} columns",
                        raw.len(),
                        plan.columns.len()
                    )));
                }
                let raw: Vec<MyValue> = raw
                    .into_iter()
                    .map(|v| v.unwrap_or(MyValue::NULL))
                    .collect();
                let mut row: Row = Vec::with_capacity(raw.len());
                for (column, value) in plan.columns.iter().zip(&raw) {
                    row.push(column.snapshot_value(value).map_err(|e| {
                        CaptureError::mysql(
                            format!("incremental snapshot of {id}, column {}", column.name),
                            e,
                        )
                    })?);
                }
                let row = table.row(row);
                last_key = Some(
                    key_index
                        .iter()
                        .map(|&i| key_text(raw[i].clone()))
                        .collect(),
                );
                let key = table.codec.encode_key_payload(&row)?.unwrap_or_default();
                rows.push((key, row));
            }
            let full = rows.len() as u64 >= u64::from(self.chunk_size);
            conn.exec_drop(
                    format!(
                        "INSERT INTO {signal} (id, type, data) VALUES (?, 'snapshot-window-close', '{{}}')"
                    ),
                    (format!("{chunk}-close"),),
                )
                .await
                .map_err(my("writing the close watermark"))?;
            tracing::debug!(table = %id, %chunk, rows = rows.len(), "chunk window open");
            self.run.window = Some(Window::new(chunk, table, id, rows, last_key, full));
        }
    }
}

/// The positions of the key columns among the plan's columns.
fn key_indexes(plan: &TablePlan) -> Vec<usize> {
    plan.key
        .iter()
        .filter_map(|k| {
            plan.columns
                .iter()
                .position(|c| c.name.eq_ignore_ascii_case(k))
        })
        .collect()
}

/// The `source` block of an incremental-snapshot event: the binlog position of the close
/// watermark (as Debezium: the stream's position when the chunk is emitted), marked
/// `snapshot=incremental`, naming the row's database.
fn incremental_source(watermark: &SourceInfo, table: &TableId) -> SourceInfo {
    let mut source = watermark.clone();
    source.db = table.namespace.clone();
    source.ts_us = now_ns().div_euclid(1000);
    source.snapshot = SnapshotMarker::Incremental;
    if let Position::Binlog { row, query, .. } = &mut source.position {
        *row = 0;
        *query = None;
    }
    source
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_values_round_trip_through_the_progress() {
        let id = TableId::new("db", "t");
        let values = vec![
            MyValue::Int(-5),
            MyValue::UInt(u64::MAX),
            MyValue::Bytes(b"a'b".to_vec()),
            MyValue::Date(2024, 2, 29, 1, 2, 3, 456),
        ];
        let texts: Vec<String> = values.iter().cloned().map(key_text).collect();
        assert_eq!(key_params(&id, &texts).unwrap(), values);
        let err = key_params(&id, &["42x".into()]).unwrap_err().to_string();
        assert!(err.contains("db.t"), "{err}");
        assert_eq!(holes(2), "(?, ?)");
        assert_eq!(quote("a`b"), "`a``b`");
    }
}
