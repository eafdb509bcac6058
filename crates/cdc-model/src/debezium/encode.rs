//! Rendering of keys and envelopes. Schemas are precomputed once per table.

use std::sync::Arc;

use serde_json::{json, Map, Value as Json};

use super::jsonout::Out;
use super::options::ValueOptions;
use super::render::{fallback_value, Renderer};
use crate::{ChangeEvent, Position, Row, SourceInfo, TableSchema, Value};

/// Why an event could not be encoded.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error("table {table}, column {column}: {reason}")]
    Value {
        table: String,
        column: String,
        reason: String,
    },
    #[error("table {table}: row has {got} values but the schema has {expected} columns")]
    RowWidth {
        table: String,
        expected: usize,
        got: usize,
    },
    #[error("table {table}: {op} event without a row image")]
    MissingRow { table: String, op: &'static str },
}

const SNAPSHOT_ALLOWED: &str =
    "true,first,first_in_data_collection,last_in_data_collection,last,false,incremental";

/// Encodes the events of one table for one topic.
#[derive(Debug, Clone)]
pub struct TableCodec {
    table: Arc<TableSchema>,
    /// `{"schema":<key schema>,"payload":` — `None` when the table has no key.
    key_prefix: Option<String>,
    /// `{"schema":<envelope schema>,"payload":`
    value_prefix: String,
    options: ValueOptions,
}

impl TableCodec {
    /// Precomputes the key and envelope schemas of `table` for `topic`, rendering values
    /// under `options` (Debezium's handling modes).
    pub fn new(table: Arc<TableSchema>, topic: &str, options: &ValueOptions) -> TableCodec {
        let renderer = Renderer { options };
        let key_prefix = (!table.key.is_empty()).then(|| {
            let fields: Vec<Json> = table
                .key_columns()
                .map(|c| renderer.field_schema(c))
                .collect();
            let schema = json!({
                "type": "struct", "fields": fields, "optional": false,
                "name": format!("{topic}.Key"),
            });
            format!("{{\"schema\":{schema},\"payload\":")
        });
        let schema = envelope_schema(&renderer, &table, topic);
        TableCodec {
            table,
            key_prefix,
            value_prefix: format!("{{\"schema\":{schema},\"payload\":"),
            options: options.clone(),
        }
    }

    pub fn table(&self) -> &Arc<TableSchema> {
        &self.table
    }

    /// The Kafka key of `event`, or `None` for a keyless table.
    pub fn encode_key(&self, event: &ChangeEvent) -> Result<Option<Vec<u8>>, EncodeError> {
        let Some(prefix) = &self.key_prefix else {
            return Ok(None);
        };
        if event.op == crate::Op::Truncate {
            // Debezium: a truncate record has a null key.
            return Ok(None);
        }
        let row = event.key_row().ok_or_else(|| EncodeError::MissingRow {
            table: self.table.id.to_string(),
            op: event.op.code(),
        })?;
        Ok(Some(wrap_out(prefix, &self.key_payload(row)?)))
    }

    /// The key payload of `row` as compact JSON (`{"id":1}`), or `None` for a keyless
    /// table. This is also how Kafka Connect's default `SimpleHeaderConverter` renders a key
    /// struct in the `__debezium.oldkey`/`__debezium.newkey` headers of a primary-key change.
    pub fn encode_key_payload(&self, row: &Row) -> Result<Option<Vec<u8>>, EncodeError> {
        if self.key_prefix.is_none() {
            return Ok(None);
        }
        let mut out = Vec::with_capacity(64);
        self.key_payload(row)?.write(&mut out);
        Ok(Some(out))
    }

    fn key_payload(&self, row: &Row) -> Result<Out, EncodeError> {
        self.check_width(row)?;
        let mut payload = Vec::with_capacity(self.table.key.len());
        for &i in &self.table.key {
            let column = &self.table.columns[i];
            payload.push((column.name.clone(), self.column_json(i, &row[i])?));
        }
        Ok(Out::Object(payload))
    }

    /// The Kafka value (the Debezium envelope) of `event`.
    pub fn encode_value(&self, event: &ChangeEvent) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::with_capacity(self.value_prefix.len() + 512);
        out.extend_from_slice(self.value_prefix.as_bytes());
        out.extend_from_slice(b"{\"before\":");
        self.row_json(event.before.as_ref())?.write(&mut out);
        out.extend_from_slice(b",\"after\":");
        self.row_json(event.after.as_ref())?.write(&mut out);
        let mut p = Map::new();
        p.insert(
            "source".into(),
            source_json(
                &event.source,
                &event.table.id.namespace,
                &event.table.id.name,
            ),
        );
        p.insert(
            "transaction".into(),
            transaction_json(event.transaction.as_ref()),
        );
        p.insert("op".into(), Json::String(event.op.code().into()));
        let (ms, us, ns) = split_ns(event.ts_ns);
        p.insert("ts_ms".into(), json!(ms));
        p.insert("ts_us".into(), json!(us));
        p.insert("ts_ns".into(), json!(ns));
        // The remaining fields, spliced after `before`/`after` without their opening brace.
        let rest = serde_json::to_vec(&Json::Object(p)).expect("serialising JSON into memory");
        out.push(b',');
        out.extend_from_slice(&rest[1..]);
        out.push(b'}');
        Ok(out)
    }

    fn check_width(&self, row: &Row) -> Result<(), EncodeError> {
        if row.len() != self.table.columns.len() {
            return Err(EncodeError::RowWidth {
                table: self.table.id.to_string(),
                expected: self.table.columns.len(),
                got: row.len(),
            });
        }
        Ok(())
    }

    fn row_json(&self, row: Option<&Row>) -> Result<Out, EncodeError> {
        let Some(row) = row else {
            return Ok(Out::Null);
        };
        self.check_width(row)?;
        let mut m = Vec::with_capacity(row.len());
        for (i, value) in row.iter().enumerate() {
            m.push((
                self.table.columns[i].name.clone(),
                self.column_json(i, value)?,
            ));
        }
        Ok(Out::Object(m))
    }

    fn column_json(&self, i: usize, value: &Value) -> Result<Out, EncodeError> {
        let column = &self.table.columns[i];
        // JsonConverter writes the schema default for null; a required column without one gets
        // Debezium's type fallback.
        let fallback;
        let value = match value {
            Value::Null if column.default.is_some() || !column.nullable => {
                fallback = fallback_value(column);
                &fallback
            }
            v => v,
        };
        let renderer = Renderer {
            options: &self.options,
        };
        renderer
            .value(&column.ty, value)
            .map_err(|e| EncodeError::Value {
                table: self.table.id.to_string(),
                column: column.name.clone(),
                reason: e.0,
            })
    }
}

pub(super) fn wrap_out(prefix: &str, payload: &Out) -> Vec<u8> {
    let mut out = Vec::with_capacity(prefix.len() + 256);
    out.extend_from_slice(prefix.as_bytes());
    payload.write(&mut out);
    out.push(b'}');
    out
}

pub(super) fn split_ns(ns: i64) -> (i64, i64, i64) {
    (ns.div_euclid(1_000_000), ns.div_euclid(1_000), ns)
}

/// The `source` block of an event about `schema`.`table` (both empty for logical-decoding
/// messages).
pub(super) fn source_json(s: &SourceInfo, schema: &str, table: &str) -> Json {
    let mut m = Map::new();
    m.insert("version".into(), json!(s.version));
    match &s.position {
        Position::Postgres {
            lsn,
            last_commit_lsn,
            tx_id,
        } => {
            m.insert("connector".into(), json!("postgresql"));
            m.insert("name".into(), json!(s.name));
            m.insert("ts_ms".into(), json!(s.ts_us.div_euclid(1000)));
            m.insert("snapshot".into(), json!(s.snapshot.as_str()));
            m.insert("db".into(), json!(s.db));
            let sequence = json!([last_commit_lsn.map(|l| l.to_string()), lsn.to_string()]);
            m.insert("sequence".into(), Json::String(sequence.to_string()));
            m.insert("ts_us".into(), json!(s.ts_us));
            m.insert("ts_ns".into(), json!(s.ts_us.saturating_mul(1000)));
            m.insert("schema".into(), json!(schema));
            m.insert("table".into(), json!(table));
            // Debezium leaves txId and lsn out of incremental-snapshot reads.
            let incremental = s.snapshot == crate::SnapshotMarker::Incremental;
            m.insert(
                "txId".into(),
                if incremental {
                    Json::Null
                } else {
                    json!(tx_id)
                },
            );
            m.insert(
                "lsn".into(),
                if incremental { Json::Null } else { json!(lsn) },
            );
            m.insert("xmin".into(), Json::Null);
            m.insert("origin".into(), Json::Null);
            m.insert("origin_lsn".into(), Json::Null);
        }
        // Placeholder until the binlog encoding lands (helper "model"): the fields of
        // Debezium's binlog `source` block in their order.
        Position::Binlog {
            flavor,
            server_id,
            gtid,
            file,
            pos,
            row,
            thread,
            query,
        } => {
            let connector = match flavor {
                crate::event::BinlogFlavor::MySql => "mysql",
                crate::event::BinlogFlavor::MariaDb => "mariadb",
            };
            m.insert("connector".into(), json!(connector));
            m.insert("name".into(), json!(s.name));
            m.insert("ts_ms".into(), json!(s.ts_us.div_euclid(1000)));
            m.insert("snapshot".into(), json!(s.snapshot.as_str()));
            m.insert("db".into(), json!(s.db));
            m.insert("sequence".into(), Json::Null);
            m.insert("ts_us".into(), json!(s.ts_us));
            m.insert("ts_ns".into(), json!(s.ts_us.saturating_mul(1000)));
            m.insert("table".into(), json!(table));
            m.insert("server_id".into(), json!(server_id));
            m.insert("gtid".into(), json!(gtid));
            m.insert("file".into(), json!(file));
            m.insert("pos".into(), json!(pos));
            m.insert("row".into(), json!(row));
            m.insert("thread".into(), json!(thread));
            m.insert("query".into(), json!(query));
        }
    }
    Json::Object(m)
}

fn envelope_schema(renderer: &Renderer<'_>, table: &TableSchema, topic: &str) -> Json {
    let row_fields: Vec<Json> = table
        .columns
        .iter()
        .map(|c| renderer.field_schema(c))
        .collect();
    let row = |field: &str| {
        json!({
            "type": "struct", "fields": row_fields, "optional": true,
            "name": format!("{topic}.Value"), "field": field,
        })
    };
    let f = |ty: &str, optional: bool, field: &str| json!({"type": ty, "optional": optional, "field": field});
    json!({
        "type": "struct",
        "fields": [
            row("before"), row("after"), source_field_schema(), transaction_field_schema(),
            f("string", false, "op"),
            f("int64", true, "ts_ms"),
            f("int64", true, "ts_us"),
            f("int64", true, "ts_ns"),
        ],
        "optional": false, "name": format!("{topic}.Envelope"), "version": 2,
    })
}

fn plain_field(ty: &str, optional: bool, field: &str) -> Json {
    json!({"type": ty, "optional": optional, "field": field})
}

/// Schema of the PostgreSQL `source` field.
pub(super) fn source_field_schema() -> Json {
    let f = plain_field;
    json!({
        "type": "struct",
        "fields": [
            f("string", false, "version"),
            f("string", false, "connector"),
            f("string", false, "name"),
            f("int64", false, "ts_ms"),
            {"type": "string", "optional": true, "name": "io.debezium.data.Enum", "version": 1,
             "parameters": {"allowed": SNAPSHOT_ALLOWED}, "default": "false", "field": "snapshot"},
            f("string", false, "db"),
            f("string", true, "sequence"),
            f("int64", true, "ts_us"),
            f("int64", true, "ts_ns"),
            f("string", false, "schema"),
            f("string", false, "table"),
            f("int64", true, "txId"),
            f("int64", true, "lsn"),
            f("int64", true, "xmin"),
            f("string", true, "origin"),
            f("int64", true, "origin_lsn"),
        ],
        "optional": false, "name": "io.debezium.connector.postgresql.Source", "version": 1,
        "field": "source",
    })
}

/// Schema of the `transaction` field (`event.block`).
pub(super) fn transaction_field_schema() -> Json {
    let f = plain_field;
    json!({
        "type": "struct",
        "fields": [
            f("string", false, "id"),
            f("int64", false, "total_order"),
            f("int64", false, "data_collection_order"),
        ],
        "optional": true, "name": "event.block", "version": 1, "field": "transaction",
    })
}

/// The `transaction` payload of an event.
pub(super) fn transaction_json(t: Option<&crate::TransactionBlock>) -> Json {
    t.map_or(Json::Null, |t| {
        json!({"id": t.id, "total_order": t.total_order,
               "data_collection_order": t.data_collection_order})
    })
}
