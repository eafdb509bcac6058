//! Rendering of keys and envelopes. Schemas are precomputed once per table.

use std::sync::Arc;

use serde_json::{json, Map, Value as Json};

use super::connect::{fallback_value, field_schema, value_json};
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
}

impl TableCodec {
    /// Precomputes the key and envelope schemas of `table` for `topic`.
    pub fn new(table: Arc<TableSchema>, topic: &str) -> TableCodec {
        let key_prefix = (!table.key.is_empty()).then(|| {
            let fields: Vec<Json> = table.key_columns().map(field_schema).collect();
            let schema = json!({
                "type": "struct", "fields": fields, "optional": false,
                "name": format!("{topic}.Key"),
            });
            format!("{{\"schema\":{schema},\"payload\":")
        });
        let schema = envelope_schema(&table, topic);
        TableCodec {
            table,
            key_prefix,
            value_prefix: format!("{{\"schema\":{schema},\"payload\":"),
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
        Ok(Some(wrap(prefix, &self.key_payload(row)?)))
    }

    /// The key payload of `row` as compact JSON (`{"id":1}`), or `None` for a keyless
    /// table. This is also how Kafka Connect's default `SimpleHeaderConverter` renders a key
    /// struct in the `__debezium.oldkey`/`__debezium.newkey` headers of a primary-key change.
    pub fn encode_key_payload(&self, row: &Row) -> Result<Option<Vec<u8>>, EncodeError> {
        if self.key_prefix.is_none() {
            return Ok(None);
        }
        let payload = self.key_payload(row)?;
        // Serialising a serde_json::Value into memory cannot fail.
        Ok(Some(serde_json::to_vec(&payload).unwrap_or_default()))
    }

    fn key_payload(&self, row: &Row) -> Result<Json, EncodeError> {
        self.check_width(row)?;
        let mut payload = Map::new();
        for &i in &self.table.key {
            let column = &self.table.columns[i];
            payload.insert(column.name.clone(), self.column_json(i, &row[i])?);
        }
        Ok(Json::Object(payload))
    }

    /// The Kafka value (the Debezium envelope) of `event`.
    pub fn encode_value(&self, event: &ChangeEvent) -> Result<Vec<u8>, EncodeError> {
        let mut p = Map::new();
        p.insert("before".into(), self.row_json(event.before.as_ref())?);
        p.insert("after".into(), self.row_json(event.after.as_ref())?);
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
        Ok(wrap(&self.value_prefix, &Json::Object(p)))
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

    fn row_json(&self, row: Option<&Row>) -> Result<Json, EncodeError> {
        let Some(row) = row else {
            return Ok(Json::Null);
        };
        self.check_width(row)?;
        let mut m = Map::new();
        for (i, value) in row.iter().enumerate() {
            m.insert(
                self.table.columns[i].name.clone(),
                self.column_json(i, value)?,
            );
        }
        Ok(Json::Object(m))
    }

    fn column_json(&self, i: usize, value: &Value) -> Result<Json, EncodeError> {
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
        value_json(&column.ty, value).map_err(|e| EncodeError::Value {
            table: self.table.id.to_string(),
            column: column.name.clone(),
            reason: e.0,
        })
    }
}

pub(super) fn wrap(prefix: &str, payload: &Json) -> Vec<u8> {
    let mut out = Vec::with_capacity(prefix.len() + 256);
    out.extend_from_slice(prefix.as_bytes());
    // Serialising a serde_json::Value into a Vec cannot fail.
    serde_json::to_writer(&mut out, payload).expect("serialising JSON into memory");
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
    }
    Json::Object(m)
}

fn envelope_schema(table: &TableSchema, topic: &str) -> Json {
    let row_fields: Vec<Json> = table.columns.iter().map(field_schema).collect();
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
