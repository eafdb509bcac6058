//! Kafka Connect field schemas for column types, as Debezium declares them.

use base64::Engine as _;
use serde_json::{json, Map, Value as Json};

use crate::{Column, ColumnType, Value};

const DECIMAL: &str = "org.apache.kafka.connect.data.Decimal";
const VARIABLE_SCALE_DECIMAL: &str = "io.debezium.data.VariableScaleDecimal";
const JSON: &str = "io.debezium.data.Json";
const UUID: &str = "io.debezium.data.Uuid";
const DATE: &str = "io.debezium.time.Date";
const CONNECT_DATE: &str = "org.apache.kafka.connect.data.Date";
const TIMESTAMP: &str = "io.debezium.time.Timestamp";
const MICRO_TIMESTAMP: &str = "io.debezium.time.MicroTimestamp";
const CONNECT_TIMESTAMP: &str = "org.apache.kafka.connect.data.Timestamp";
const ZONED_TIMESTAMP: &str = "io.debezium.time.ZonedTimestamp";

/// Builds the field schema of `column` inside a struct (`"field"` last, as JsonConverter does).
pub(crate) fn field_schema(column: &Column) -> Json {
    let mut m = Map::new();
    let (ty, name, params): (&str, Option<&str>, Option<Json>) = match &column.ty {
        ColumnType::Boolean => ("boolean", None, None),
        ColumnType::Int16 => ("int16", None, None),
        ColumnType::Int32 => ("int32", None, None),
        ColumnType::Int64 => ("int64", None, None),
        ColumnType::Float32 => ("float", None, None),
        ColumnType::Float64 => ("double", None, None),
        ColumnType::Decimal { precision, scale } => {
            let mut p = Map::new();
            p.insert("scale".into(), Json::String(scale.to_string()));
            if let Some(precision) = precision {
                p.insert(
                    "connect.decimal.precision".into(),
                    Json::String(precision.to_string()),
                );
            }
            ("bytes", Some(DECIMAL), Some(Json::Object(p)))
        }
        ColumnType::VariableDecimal => {
            m.insert("type".into(), json!("struct"));
            m.insert(
                "fields".into(),
                json!([
                    {"type": "int32", "optional": false, "field": "scale"},
                    {"type": "bytes", "optional": false, "field": "value"}
                ]),
            );
            m.insert("optional".into(), Json::Bool(column.nullable));
            m.insert("name".into(), json!(VARIABLE_SCALE_DECIMAL));
            m.insert("version".into(), json!(1));
            m.insert("doc".into(), json!("Variable scaled decimal"));
            push_default_and_field(&mut m, column);
            return Json::Object(m);
        }
        ColumnType::String => ("string", None, None),
        ColumnType::Json => ("string", Some(JSON), None),
        ColumnType::Uuid => ("string", Some(UUID), None),
        ColumnType::Bytes => ("bytes", None, None),
        ColumnType::Date => ("int32", Some(DATE), None),
        ColumnType::Timestamp { precision } if *precision <= 3 => ("int64", Some(TIMESTAMP), None),
        ColumnType::Timestamp { .. } => ("int64", Some(MICRO_TIMESTAMP), None),
        ColumnType::TimestampTz { .. } => ("string", Some(ZONED_TIMESTAMP), None),
    };
    m.insert("type".into(), Json::String(ty.into()));
    m.insert("optional".into(), Json::Bool(column.nullable));
    if let Some(name) = name {
        m.insert("name".into(), Json::String(name.into()));
        m.insert("version".into(), json!(1));
    }
    if let Some(params) = params {
        m.insert("parameters".into(), params);
    }
    push_default_and_field(&mut m, column);
    Json::Object(m)
}

fn push_default_and_field(m: &mut Map<String, Json>, column: &Column) {
    if let Some(default) = &column.default {
        if let Ok(v) = value_json(&column.ty, default) {
            if !v.is_null() {
                m.insert("default".into(), v);
            }
        }
    }
    m.insert("field".into(), Json::String(column.name.clone()));
}

/// Why a value could not be rendered for its column type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ValueMismatch(pub String);

/// Renders `value` as the JSON payload for a column of type `ty`.
pub(crate) fn value_json(ty: &ColumnType, value: &Value) -> Result<Json, ValueMismatch> {
    let b64 = |bytes: &[u8]| Json::String(base64::engine::general_purpose::STANDARD.encode(bytes));
    Ok(match (ty, value) {
        (_, Value::Null) => Json::Null,
        (ColumnType::Boolean, Value::Boolean(b)) => Json::Bool(*b),
        (ColumnType::Int16, Value::Int16(v)) => json!(v),
        (ColumnType::Int32, Value::Int32(v)) => json!(v),
        (ColumnType::Int64, Value::Int64(v)) => json!(v),
        (ColumnType::Float32, Value::Float32(v)) => float_json(f64::from(*v), v.to_string()),
        (ColumnType::Float64, Value::Float64(v)) => float_json(*v, v.to_string()),
        (ColumnType::Decimal { scale, .. }, Value::Decimal(d)) => {
            let d = d
                .rescale(*scale)
                .ok_or_else(|| ValueMismatch(format!("decimal {d} does not fit scale {scale}")))?;
            b64(&d.unscaled.to_signed_bytes_be())
        }
        (ColumnType::VariableDecimal, Value::Decimal(d)) => {
            let d = d.strip_trailing_zeros();
            json!({"scale": d.scale, "value": b64(&d.unscaled.to_signed_bytes_be())})
        }
        (ColumnType::String | ColumnType::Json | ColumnType::Uuid, Value::String(s)) => {
            Json::String(s.clone())
        }
        (ColumnType::Bytes, Value::Bytes(b)) => b64(b),
        (ColumnType::Date, Value::Date(d)) => json!(d),
        (ColumnType::Timestamp { precision }, Value::Timestamp(us)) if *precision <= 3 => {
            json!(us.div_euclid(1000))
        }
        (ColumnType::Timestamp { .. }, Value::Timestamp(us)) => json!(us),
        (ColumnType::TimestampTz { precision }, Value::TimestampTz(us)) => {
            let text = crate::time::zoned_timestamp_text(*us, precision.unwrap_or(6))
                .ok_or_else(|| ValueMismatch(format!("timestamp {us}µs is out of range")))?;
            Json::String(text)
        }
        (ty, v) => {
            return Err(ValueMismatch(format!(
                "value {v:?} does not match type {ty:?}"
            )))
        }
    })
}

/// Jackson writes NaN and infinities as quoted strings; finite floats in their shortest form.
fn float_json(v: f64, shortest: String) -> Json {
    if v.is_nan() {
        Json::String("NaN".into())
    } else if v.is_infinite() {
        Json::String(if v > 0.0 { "Infinity" } else { "-Infinity" }.into())
    } else {
        // `shortest` is the shortest text that reads back as the original (f32 or f64) value.
        shortest
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or(Json::Null, Json::Number)
    }
}

/// The value a required column takes when the source supplies none (Debezium's type fallback,
/// e.g. non-key columns of a REPLICA IDENTITY DEFAULT delete).
pub(crate) fn fallback_value(column: &Column) -> Value {
    column
        .default
        .clone()
        .unwrap_or_else(|| column.ty.zero_value())
}

/// Column type of a Connect field schema; `Err` names what is not supported.
pub(crate) fn column_type(schema: &Json) -> Result<ColumnType, String> {
    let ty = schema.get("type").and_then(Json::as_str).unwrap_or("");
    let name = schema.get("name").and_then(Json::as_str);
    let param = |key: &str| {
        schema
            .get("parameters")
            .and_then(|p| p.get(key))
            .and_then(Json::as_str)
    };
    Ok(match (ty, name) {
        ("bytes", Some(DECIMAL)) => ColumnType::Decimal {
            scale: param("scale")
                .and_then(|s| s.parse().ok())
                .ok_or("Decimal schema without a numeric scale parameter")?,
            precision: param("connect.decimal.precision").and_then(|p| p.parse().ok()),
        },
        ("struct", Some(VARIABLE_SCALE_DECIMAL)) => ColumnType::VariableDecimal,
        ("string", Some(JSON)) => ColumnType::Json,
        ("string", Some(UUID)) => ColumnType::Uuid,
        ("string", Some(ZONED_TIMESTAMP)) => ColumnType::TimestampTz { precision: None },
        ("int32", Some(DATE | CONNECT_DATE)) => ColumnType::Date,
        ("int64", Some(TIMESTAMP | CONNECT_TIMESTAMP)) => ColumnType::Timestamp { precision: 3 },
        ("int64", Some(MICRO_TIMESTAMP)) => ColumnType::Timestamp { precision: 6 },
        ("boolean", _) => ColumnType::Boolean,
        ("int8" | "int16", _) => ColumnType::Int16,
        ("int32", _) => ColumnType::Int32,
        ("int64", _) => ColumnType::Int64,
        ("float", _) => ColumnType::Float32,
        ("double", _) => ColumnType::Float64,
        ("string", _) => ColumnType::String,
        ("bytes", _) => ColumnType::Bytes,
        (other, name) => {
            return Err(format!(
                "unsupported Connect schema type {other:?} (name {})",
                name.unwrap_or("none")
            ))
        }
    })
}
