//! Parsing of Debezium JSON records (ours or real Debezium's) back into change events.

use std::sync::Arc;

use base64::Engine as _;
use num_bigint::BigInt;
use serde_json::Value as Json;

use super::connect::column_type;
use crate::{
    BinlogFlavor, ChangeEvent, Column, ColumnType, Decimal, Op, Position, Row, SnapshotMarker,
    SourceInfo, TableId, TableSchema, TransactionBlock, Value,
};

/// Why a record could not be decoded. Messages name the field or column at fault.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("{part} is not valid JSON: {reason}")]
    Json { part: &'static str, reason: String },
    #[error("envelope has no schema: the JsonConverter must run with schemas.enable=true")]
    NoSchema,
    #[error("missing or malformed field `{0}`")]
    Field(&'static str),
    #[error("unknown op {0:?}")]
    UnknownOp(String),
    #[error("unsupported connector {0:?}")]
    UnsupportedConnector(String),
    #[error("column {column}: {reason}")]
    Column { column: String, reason: String },
    #[error("key column {0} is not a column of the row schema")]
    KeyColumn(String),
}

/// A decoded Kafka record.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    /// A change event (boxed: it is much larger than a tombstone).
    Change(Box<ChangeEvent>),
    /// A tombstone (null value) that follows a delete; it carries no row data.
    Tombstone,
}

/// Decodes one Kafka record of a Debezium data topic.
pub fn decode_record(key: Option<&[u8]>, value: Option<&[u8]>) -> Result<Decoded, DecodeError> {
    let Some(value) = value else {
        return Ok(Decoded::Tombstone);
    };
    let value: Json = serde_json::from_slice(value).map_err(|e| DecodeError::Json {
        part: "value",
        reason: e.to_string(),
    })?;
    let schema = value
        .get("schema")
        .filter(|s| !s.is_null())
        .ok_or(DecodeError::NoSchema)?;
    let payload = value.get("payload").ok_or(DecodeError::Field("payload"))?;

    let source = payload.get("source").ok_or(DecodeError::Field("source"))?;
    let str_field = |obj: &Json, name: &'static str| {
        obj.get(name)
            .and_then(Json::as_str)
            .map(str::to_owned)
            .ok_or(DecodeError::Field(name))
    };
    let connector = str_field(source, "connector")?;
    let position = position(&connector, source)?;
    let id = match &position {
        Position::Postgres { .. } => {
            TableId::new(str_field(source, "schema")?, str_field(source, "table")?)
        }
        // MySQL and MariaDB tables live in databases (`source.db`), with no schema level.
        Position::Binlog { .. } => {
            TableId::new(str_field(source, "db")?, str_field(source, "table")?)
        }
    };
    let mut table = row_schema(schema, id)?;
    table.key = key_columns(key, &table)?;
    let table = Arc::new(table);

    let op_code = str_field(payload, "op")?;
    let op = Op::from_code(&op_code).ok_or(DecodeError::UnknownOp(op_code))?;
    let before = row(payload.get("before"), &table)?;
    let after = row(payload.get("after"), &table)?;

    let ts_us = match source.get("ts_us").and_then(Json::as_i64) {
        Some(us) => us,
        None => source
            .get("ts_ms")
            .and_then(Json::as_i64)
            .ok_or(DecodeError::Field("source.ts_ms"))?
            .saturating_mul(1000),
    };
    let snapshot = match source.get("snapshot") {
        None | Some(Json::Null) => SnapshotMarker::False,
        Some(Json::String(s)) => SnapshotMarker::parse(s).ok_or(DecodeError::Field("snapshot"))?,
        Some(_) => return Err(DecodeError::Field("snapshot")),
    };
    let ts_ns = payload
        .get("ts_ns")
        .and_then(Json::as_i64)
        .or_else(|| {
            payload
                .get("ts_us")
                .and_then(Json::as_i64)
                .map(|v| v * 1000)
        })
        .or_else(|| {
            payload
                .get("ts_ms")
                .and_then(Json::as_i64)
                .map(|v| v * 1_000_000)
        })
        .unwrap_or(0);

    let transaction = match payload.get("transaction") {
        None | Some(Json::Null) => None,
        Some(t) => Some(TransactionBlock {
            id: str_field(t, "id")?,
            total_order: t
                .get("total_order")
                .and_then(Json::as_i64)
                .ok_or(DecodeError::Field("transaction.total_order"))?,
            data_collection_order: t
                .get("data_collection_order")
                .and_then(Json::as_i64)
                .ok_or(DecodeError::Field("transaction.data_collection_order"))?,
        }),
    };

    Ok(Decoded::Change(Box::new(ChangeEvent {
        table,
        op,
        before,
        after,
        source: SourceInfo {
            version: str_field(source, "version")?,
            name: str_field(source, "name")?,
            db: str_field(source, "db")?,
            ts_us,
            snapshot,
            position,
        },
        transaction,
        ts_ns,
    })))
}

/// The log position a `source` block names, by its connector.
fn position(connector: &str, source: &Json) -> Result<Position, DecodeError> {
    let flavor = match connector {
        "postgresql" => return postgres_position(source),
        "mysql" => BinlogFlavor::MySql,
        "mariadb" => BinlogFlavor::MariaDb,
        _ => return Err(DecodeError::UnsupportedConnector(connector.to_owned())),
    };
    let int = |name: &'static str| source.get(name).and_then(Json::as_i64);
    let text = |name: &'static str| -> Result<Option<String>, DecodeError> {
        match source.get(name) {
            None | Some(Json::Null) => Ok(None),
            Some(Json::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(DecodeError::Field(name)),
        }
    };
    let thread = match source.get("thread") {
        None | Some(Json::Null) => None,
        Some(t) => Some(t.as_i64().ok_or(DecodeError::Field("source.thread"))?),
    };
    Ok(Position::Binlog {
        flavor,
        server_id: int("server_id").ok_or(DecodeError::Field("source.server_id"))?,
        gtid: text("gtid")?,
        file: text("file")?.ok_or(DecodeError::Field("source.file"))?,
        pos: int("pos").ok_or(DecodeError::Field("source.pos"))?,
        row: int("row")
            .and_then(|r| i32::try_from(r).ok())
            .ok_or(DecodeError::Field("source.row"))?,
        thread,
        query: text("query")?,
    })
}

fn postgres_position(source: &Json) -> Result<Position, DecodeError> {
    let last_commit_lsn = source
        .get("sequence")
        .and_then(Json::as_str)
        .and_then(|s| serde_json::from_str::<Vec<Option<String>>>(s).ok())
        .and_then(|seq| seq.first().cloned().flatten())
        .and_then(|s| s.parse().ok());
    Ok(Position::Postgres {
        lsn: source
            .get("lsn")
            .and_then(Json::as_u64)
            .ok_or(DecodeError::Field("source.lsn"))?,
        last_commit_lsn,
        tx_id: source.get("txId").and_then(Json::as_i64),
    })
}

/// Table schema from the `before`/`after` struct of the envelope schema.
fn row_schema(schema: &Json, id: TableId) -> Result<TableSchema, DecodeError> {
    let fields = schema
        .get("fields")
        .and_then(Json::as_array)
        .ok_or(DecodeError::Field("schema.fields"))?;
    let row = fields
        .iter()
        .find(|f| f.get("field").and_then(Json::as_str) == Some("after"))
        .or_else(|| {
            fields
                .iter()
                .find(|f| f.get("field").and_then(Json::as_str) == Some("before"))
        })
        .and_then(|f| f.get("fields"))
        .and_then(Json::as_array)
        .ok_or(DecodeError::Field("schema.fields[after].fields"))?;
    let mut columns = Vec::with_capacity(row.len());
    for field in row {
        let name = field
            .get("field")
            .and_then(Json::as_str)
            .ok_or(DecodeError::Field("schema field name"))?
            .to_owned();
        let col_err = |reason: String| DecodeError::Column {
            column: name.clone(),
            reason,
        };
        let ty = column_type(field).map_err(col_err)?;
        let nullable = field
            .get("optional")
            .and_then(Json::as_bool)
            .unwrap_or(true);
        let default = match field.get("default") {
            None | Some(Json::Null) => None,
            Some(d) => Some(value_from_json(&ty, d).map_err(col_err)?),
        };
        columns.push(Column {
            name,
            ty,
            nullable,
            default,
        });
    }
    Ok(TableSchema {
        id,
        columns,
        key: Vec::new(),
    })
}

fn key_columns(key: Option<&[u8]>, table: &TableSchema) -> Result<Vec<usize>, DecodeError> {
    let Some(key) = key else {
        return Ok(Vec::new());
    };
    let key: Json = serde_json::from_slice(key).map_err(|e| DecodeError::Json {
        part: "key",
        reason: e.to_string(),
    })?;
    let Some(fields) = key
        .get("schema")
        .and_then(|s| s.get("fields"))
        .and_then(Json::as_array)
    else {
        return Err(DecodeError::Field("key.schema.fields"));
    };
    fields
        .iter()
        .map(|f| {
            let name = f
                .get("field")
                .and_then(Json::as_str)
                .ok_or(DecodeError::Field("key field name"))?;
            table
                .column_index(name)
                .ok_or_else(|| DecodeError::KeyColumn(name.to_owned()))
        })
        .collect()
}

fn row(json: Option<&Json>, table: &TableSchema) -> Result<Option<Row>, DecodeError> {
    let obj = match json {
        None | Some(Json::Null) => return Ok(None),
        Some(Json::Object(obj)) => obj,
        Some(_) => return Err(DecodeError::Field("before/after")),
    };
    let mut row = Vec::with_capacity(table.columns.len());
    for column in &table.columns {
        let v = obj.get(&column.name).unwrap_or(&Json::Null);
        row.push(
            value_from_json(&column.ty, v).map_err(|reason| DecodeError::Column {
                column: column.name.clone(),
                reason,
            })?,
        );
    }
    Ok(Some(row))
}

/// Parses the JSON payload of one column.
fn value_from_json(ty: &ColumnType, v: &Json) -> Result<Value, String> {
    if v.is_null() {
        return Ok(Value::Null);
    }
    let mismatch = || format!("value {v} does not match type {ty:?}");
    let int = || v.as_i64().ok_or_else(mismatch);
    let b64 = |v: &Json| -> Result<Vec<u8>, String> {
        let s = v.as_str().ok_or_else(mismatch)?;
        base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(|e| format!("invalid base64: {e}"))
    };
    let float = || -> Result<f64, String> {
        match v {
            Json::Number(n) => n.as_f64().ok_or_else(mismatch),
            Json::String(s) => match s.as_str() {
                "NaN" => Ok(f64::NAN),
                "Infinity" => Ok(f64::INFINITY),
                "-Infinity" => Ok(f64::NEG_INFINITY),
                _ => Err(mismatch()),
            },
            _ => Err(mismatch()),
        }
    };
    Ok(match ty {
        ColumnType::Boolean => Value::Boolean(v.as_bool().ok_or_else(mismatch)?),
        ColumnType::Int16 => Value::Int16(i16::try_from(int()?).map_err(|_| mismatch())?),
        ColumnType::Int8 => Value::Int16(
            i8::try_from(int()?)
                .map(i16::from)
                .map_err(|_| mismatch())?,
        ),
        ColumnType::Int32 => Value::Int32(i32::try_from(int()?).map_err(|_| mismatch())?),
        ColumnType::Int64 => Value::Int64(int()?),
        ColumnType::Float32 => Value::Float32(float()? as f32),
        ColumnType::Float64 => Value::Float64(float()?),
        ColumnType::Decimal { scale, .. } | ColumnType::ExactDecimal { scale, .. } => match v {
            // decimal.format=NUMERIC writes a JSON number.
            Json::Number(n) => Value::Decimal(
                Decimal::parse(&n.to_string())
                    .and_then(|d| d.rescale(*scale))
                    .ok_or_else(mismatch)?,
            ),
            _ => Value::Decimal(Decimal {
                unscaled: BigInt::from_signed_bytes_be(&b64(v)?),
                scale: *scale,
            }),
        },
        ColumnType::VariableDecimal => {
            let scale = v
                .get("scale")
                .and_then(Json::as_u64)
                .and_then(|s| u32::try_from(s).ok())
                .ok_or_else(mismatch)?;
            let bytes = b64(v.get("value").ok_or_else(mismatch)?)?;
            Value::Decimal(Decimal {
                unscaled: BigInt::from_signed_bytes_be(&bytes),
                scale,
            })
        }
        ColumnType::String
        | ColumnType::Json
        | ColumnType::Uuid
        | ColumnType::Xml
        | ColumnType::Ltree
        | ColumnType::Tsvector
        | ColumnType::Enum { .. }
        | ColumnType::EnumSet { .. } => Value::String(v.as_str().ok_or_else(mismatch)?.to_owned()),
        ColumnType::Year => Value::Int32(i32::try_from(int()?).map_err(|_| mismatch())?),
        ColumnType::Bytes | ColumnType::Bits { .. } => Value::Bytes(b64(v)?),
        ColumnType::Money => return Err(format!("{ty:?} is not a Connect schema type")),
        ColumnType::Date => Value::Date(i32::try_from(int()?).map_err(|_| mismatch())?),
        ColumnType::Time { precision } if *precision <= 3 => {
            Value::Time(int()?.checked_mul(1000).ok_or_else(mismatch)?)
        }
        ColumnType::Time { precision: 9 } => Value::Time(int()?.div_euclid(1000)),
        ColumnType::Time { .. } => Value::Time(int()?),
        ColumnType::TimeTz => {
            let s = v.as_str().ok_or_else(mismatch)?;
            Value::TimeTz(
                crate::time::parse_zoned_time(s)
                    .ok_or_else(|| format!("unparseable time {s:?}"))?,
            )
        }
        ColumnType::Interval => match v {
            Json::String(s) => parse_iso_interval(s).ok_or_else(mismatch)?,
            _ => duration_interval(int()?),
        },
        ColumnType::Hstore => {
            let obj = v.as_object().ok_or_else(mismatch)?;
            let mut entries = Vec::with_capacity(obj.len());
            for (k, val) in obj {
                let val = match val {
                    Json::Null => None,
                    Json::String(s) => Some(s.clone()),
                    _ => return Err(mismatch()),
                };
                entries.push((k.clone(), val));
            }
            Value::Map(entries)
        }
        ColumnType::Point => {
            let coord = |name: &str| -> Result<f64, String> {
                match v.get(name) {
                    Some(Json::Number(n)) => n.as_f64().ok_or_else(mismatch),
                    Some(Json::String(s)) if s == "NaN" => Ok(f64::NAN),
                    _ => Err(mismatch()),
                }
            };
            Value::Point {
                x: coord("x")?,
                y: coord("y")?,
            }
        }
        ColumnType::Geometry | ColumnType::Geography => Value::Geometry {
            wkb: b64(v.get("wkb").ok_or_else(mismatch)?)?,
            srid: match v.get("srid") {
                None | Some(Json::Null) => None,
                Some(s) => Some(
                    s.as_i64()
                        .and_then(|s| i32::try_from(s).ok())
                        .ok_or_else(mismatch)?,
                ),
            },
        },
        ColumnType::Array(element) => Value::Array(
            v.as_array()
                .ok_or_else(mismatch)?
                .iter()
                .map(|item| value_from_json(element, item))
                .collect::<Result<_, _>>()?,
        ),
        ColumnType::Timestamp { precision } if *precision <= 3 => {
            Value::Timestamp(int()?.checked_mul(1000).ok_or_else(mismatch)?)
        }
        ColumnType::Timestamp { precision: 9 } => Value::Timestamp(nanos_to_micros(int()?)),
        ColumnType::Timestamp { .. } => Value::Timestamp(int()?),
        ColumnType::TimestampTz { .. } => {
            let s = v.as_str().ok_or_else(mismatch)?;
            Value::TimestampTz(match s {
                "infinity" => crate::TIMESTAMPTZ_INFINITY,
                "-infinity" => crate::TIMESTAMPTZ_NEG_INFINITY,
                _ => crate::time::parse_instant_micros(s)
                    .ok_or_else(|| format!("unparseable timestamp {s:?}"))?,
            })
        }
    })
}

/// Microseconds of a `NanoTimestamp`; the saturated extremes are Debezium's infinities.
fn nanos_to_micros(ns: i64) -> i64 {
    match ns {
        i64::MAX => crate::TIMESTAMP_INFINITY,
        i64::MIN => crate::TIMESTAMP_NEG_INFINITY,
        ns => ns.div_euclid(1000),
    }
}

/// An interval whose `MicroDuration` rendering is `micros` (Debezium truncates its double
/// arithmetic, so the exact time part may be one microsecond above).
fn duration_interval(micros: i64) -> Value {
    let time_part = [micros, micros.saturating_add(1), micros.saturating_sub(1)]
        .into_iter()
        .find(|&m| super::render::micro_duration(0, 0, m) == micros)
        .unwrap_or(micros);
    Value::Interval {
        months: 0,
        days: 0,
        micros: time_part,
    }
}

/// Parses `io.debezium.time.Interval` text (`P1Y2M3DT4H5M6.78S`, signed parts).
fn parse_iso_interval(text: &str) -> Option<Value> {
    let rest = text.strip_prefix('P')?;
    let (date, time) = rest.split_once('T').unwrap_or((rest, ""));
    let mut months: i64 = 0;
    let mut days: i64 = 0;
    let mut micros: i64 = 0;
    let mut take = |part: &str, in_time: bool| -> Option<()> {
        let mut num = String::new();
        for c in part.chars() {
            if c.is_ascii_digit() || c == '-' || c == '.' || c == '+' {
                num.push(c);
                continue;
            }
            match (in_time, c) {
                (false, 'Y') => months += num.parse::<i64>().ok()? * 12,
                (false, 'M') => months += num.parse::<i64>().ok()?,
                (false, 'D') => days += num.parse::<i64>().ok()?,
                (true, 'H') => micros += num.parse::<i64>().ok()? * 3_600_000_000,
                (true, 'M') => micros += num.parse::<i64>().ok()? * 60_000_000,
                (true, 'S') => {
                    let d = Decimal::parse(&num)?.rescale(6)?;
                    micros += i64::try_from(&d.unscaled).ok()?;
                }
                _ => return None,
            }
            num.clear();
        }
        num.is_empty().then_some(())
    };
    take(date, false)?;
    take(time, true)?;
    Some(Value::Interval {
        months: i32::try_from(months).ok()?,
        days: i32::try_from(days).ok()?,
        micros,
    })
}
