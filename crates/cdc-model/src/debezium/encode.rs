//! Rendering of keys and envelopes. Schemas are precomputed once per table.

use std::sync::Arc;

use serde_json::{json, Map, Value as Json};

use super::jsonout::Out;
use super::options::ValueOptions;
use super::render::{fallback_value, Renderer};
use super::source::{plain_field, source_payload, source_schema_text};
use crate::{ChangeEvent, Row, TableSchema, Value};

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

/// Encodes the events of one table for one topic.
#[derive(Debug, Clone)]
pub struct TableCodec {
    table: Arc<TableSchema>,
    /// `{"schema":<key schema>,"payload":` — `None` when the table has no key.
    key_prefix: Option<String>,
    /// `{"schema":<envelope schema>,"payload":`, split around the `source` field schema, which
    /// follows the connector of each event's position: `value_head` ends after the `after`
    /// field, `value_tail` starts with the comma before the `transaction` field.
    value_head: String,
    value_tail: String,
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
        let (value_head, value_tail) = envelope_schema(&renderer, &table, topic);
        TableCodec {
            table,
            key_prefix,
            value_head,
            value_tail,
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
        let source_schema = source_schema_text(&event.source.position);
        let mut out = Vec::with_capacity(
            self.value_head.len() + source_schema.len() + self.value_tail.len() + 512,
        );
        out.extend_from_slice(self.value_head.as_bytes());
        out.extend_from_slice(source_schema.as_bytes());
        out.extend_from_slice(self.value_tail.as_bytes());
        out.extend_from_slice(b"{\"before\":");
        self.row_json(event.before.as_ref())?.write(&mut out);
        out.extend_from_slice(b",\"after\":");
        self.row_json(event.after.as_ref())?.write(&mut out);
        let mut p = Map::new();
        p.insert(
            "source".into(),
            source_payload(
                &event.source,
                &event.table.id.namespace,
                Some(&event.table.id.name),
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

/// The envelope schema of `table` as the `{"schema":…,"payload":` prefix of a record, split
/// where the `source` field schema goes (between the `after` and `transaction` fields).
fn envelope_schema(renderer: &Renderer<'_>, table: &TableSchema, topic: &str) -> (String, String) {
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
    let f = plain_field;
    let head = format!(
        "{{\"schema\":{{\"type\":\"struct\",\"fields\":[{},{},",
        row("before"),
        row("after")
    );
    let tail = format!(
        ",{},{},{},{},{}],\"optional\":false,\"name\":{},\"version\":2}},\"payload\":",
        transaction_field_schema(),
        f("string", false, "op"),
        f("int64", true, "ts_ms"),
        f("int64", true, "ts_us"),
        f("int64", true, "ts_ns"),
        Json::String(format!("{topic}.Envelope")),
    );
    (head, tail)
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
