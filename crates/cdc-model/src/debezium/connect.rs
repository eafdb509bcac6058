//! Kafka Connect field schemas for column types, as Debezium declares them under the
//! configured handling modes, and the reverse mapping used by the decoder.

use serde_json::{json, Map, Value as Json};

use super::options::{BinaryMode, DecimalMode, HstoreMode, IntervalMode, TimePrecisionMode};
use super::render::Renderer;
use crate::{Column, ColumnType};

pub(crate) const DECIMAL: &str = "org.apache.kafka.connect.data.Decimal";
const VARIABLE_SCALE_DECIMAL: &str = "io.debezium.data.VariableScaleDecimal";
const JSON: &str = "io.debezium.data.Json";
const UUID: &str = "io.debezium.data.Uuid";
const XML: &str = "io.debezium.data.Xml";
const LTREE: &str = "io.debezium.data.Ltree";
const TSVECTOR: &str = "io.debezium.data.Tsvector";
const ENUM: &str = "io.debezium.data.Enum";
const ENUM_SET: &str = "io.debezium.data.EnumSet";
const YEAR: &str = "io.debezium.time.Year";
const BITS: &str = "io.debezium.data.Bits";
const POINT: &str = "io.debezium.data.geometry.Point";
const GEOMETRY: &str = "io.debezium.data.geometry.Geometry";
const GEOGRAPHY: &str = "io.debezium.data.geometry.Geography";
const DATE: &str = "io.debezium.time.Date";
const CONNECT_DATE: &str = "org.apache.kafka.connect.data.Date";
const TIME: &str = "io.debezium.time.Time";
const MICRO_TIME: &str = "io.debezium.time.MicroTime";
const NANO_TIME: &str = "io.debezium.time.NanoTime";
const CONNECT_TIME: &str = "org.apache.kafka.connect.data.Time";
const ZONED_TIME: &str = "io.debezium.time.ZonedTime";
const TIMESTAMP: &str = "io.debezium.time.Timestamp";
const MICRO_TIMESTAMP: &str = "io.debezium.time.MicroTimestamp";
const NANO_TIMESTAMP: &str = "io.debezium.time.NanoTimestamp";
const CONNECT_TIMESTAMP: &str = "org.apache.kafka.connect.data.Timestamp";
const ZONED_TIMESTAMP: &str = "io.debezium.time.ZonedTimestamp";
const MICRO_DURATION: &str = "io.debezium.time.MicroDuration";
const INTERVAL: &str = "io.debezium.time.Interval";

/// How a temporal type with fractional precision `precision` is represented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimeUnit {
    Millis,
    Micros,
    Nanos,
}

impl Renderer<'_> {
    /// Unit of a `time(p)` column.
    pub(crate) fn time_unit(&self, precision: u8) -> TimeUnit {
        match self.options.time_precision_mode {
            TimePrecisionMode::Adaptive if precision <= 3 => TimeUnit::Millis,
            TimePrecisionMode::Connect => TimeUnit::Millis,
            TimePrecisionMode::Nanoseconds => TimeUnit::Nanos,
            _ => TimeUnit::Micros,
        }
    }

    /// Unit of a `timestamp(p)` column.
    pub(crate) fn timestamp_unit(&self, precision: u8) -> TimeUnit {
        match self.options.time_precision_mode {
            TimePrecisionMode::Connect => TimeUnit::Millis,
            TimePrecisionMode::Microseconds => TimeUnit::Micros,
            TimePrecisionMode::Nanoseconds => TimeUnit::Nanos,
            _ if precision <= 3 => TimeUnit::Millis,
            _ => TimeUnit::Micros,
        }
    }

    /// The field schema of `column` inside a struct (`"default"` and `"field"` last, as
    /// JsonConverter writes them).
    pub(crate) fn field_schema(&self, column: &Column) -> Json {
        let mut m = self.type_schema(&column.ty, column.nullable);
        if let Some(default) = &column.default {
            if let Ok(v) = self.value(&column.ty, default) {
                if !v.is_null() {
                    m.insert("default".into(), v.to_json());
                }
            }
        }
        m.insert("field".into(), Json::String(column.name.clone()));
        Json::Object(m)
    }

    /// The schema of a value of type `ty` (no `default`, no `field`).
    pub(crate) fn type_schema(&self, ty: &ColumnType, optional: bool) -> Map<String, Json> {
        let o = self.options;
        let mut m = Map::new();
        let put = |m: &mut Map<String, Json>, ty: &str, name: Option<&str>| {
            m.insert("type".into(), json!(ty));
            m.insert("optional".into(), json!(optional));
            if let Some(name) = name {
                m.insert("name".into(), json!(name));
                m.insert("version".into(), json!(1));
            }
        };
        match ty {
            ColumnType::Boolean => put(&mut m, "boolean", None),
            ColumnType::Int8 => put(&mut m, "int8", None),
            ColumnType::Int16 => put(&mut m, "int16", None),
            ColumnType::Int32 => put(&mut m, "int32", None),
            ColumnType::Int64 => put(&mut m, "int64", None),
            ColumnType::Float32 => put(&mut m, "float", None),
            ColumnType::Float64 => put(&mut m, "double", None),
            ColumnType::Decimal { .. } | ColumnType::Money | ColumnType::VariableDecimal
                if o.decimal_handling_mode == DecimalMode::Double =>
            {
                put(&mut m, "double", None)
            }
            ColumnType::Decimal { .. } | ColumnType::Money | ColumnType::VariableDecimal
                if o.decimal_handling_mode == DecimalMode::String =>
            {
                put(&mut m, "string", None)
            }
            ColumnType::Decimal { precision, scale } => {
                put(&mut m, "bytes", Some(DECIMAL));
                let mut p = Map::new();
                p.insert("scale".into(), json!(scale.to_string()));
                if let Some(precision) = precision {
                    p.insert(
                        "connect.decimal.precision".into(),
                        json!(precision.to_string()),
                    );
                }
                m.insert("parameters".into(), Json::Object(p));
            }
            ColumnType::ExactDecimal { precision, scale } => {
                put(&mut m, "bytes", Some(DECIMAL));
                m.insert(
                    "parameters".into(),
                    json!({"scale": scale.to_string(), "connect.decimal.precision": precision.to_string()}),
                );
            }
            ColumnType::Money => {
                put(&mut m, "bytes", Some(DECIMAL));
                m.insert(
                    "parameters".into(),
                    json!({"scale": o.money_fraction_digits.to_string()}),
                );
            }
            ColumnType::VariableDecimal => struct_schema(
                &mut m,
                json!([
                    {"type": "int32", "optional": false, "field": "scale"},
                    {"type": "bytes", "optional": false, "field": "value"}
                ]),
                optional,
                VARIABLE_SCALE_DECIMAL,
                "Variable scaled decimal",
            ),
            ColumnType::String => put(&mut m, "string", None),
            ColumnType::Json => put(&mut m, "string", Some(JSON)),
            ColumnType::Uuid => put(&mut m, "string", Some(UUID)),
            ColumnType::Xml => put(&mut m, "string", Some(XML)),
            ColumnType::Ltree => put(&mut m, "string", Some(LTREE)),
            ColumnType::Tsvector => put(&mut m, "string", Some(TSVECTOR)),
            ColumnType::Bytes if o.binary_handling_mode == BinaryMode::Bytes => {
                put(&mut m, "bytes", None)
            }
            ColumnType::Bytes => put(&mut m, "string", None),
            ColumnType::Bits { length } => {
                put(&mut m, "bytes", Some(BITS));
                m.insert("parameters".into(), json!({"length": length.to_string()}));
            }
            ColumnType::Enum { allowed } => {
                put(&mut m, "string", Some(ENUM));
                m.insert("parameters".into(), json!({"allowed": allowed.join(",")}));
            }
            ColumnType::EnumSet { allowed } => {
                put(&mut m, "string", Some(ENUM_SET));
                m.insert("parameters".into(), json!({"allowed": allowed.join(",")}));
            }
            ColumnType::Year => put(&mut m, "int32", Some(YEAR)),
            ColumnType::Date if o.time_precision_mode == TimePrecisionMode::Connect => {
                put(&mut m, "int32", Some(CONNECT_DATE))
            }
            ColumnType::Date => put(&mut m, "int32", Some(DATE)),
            ColumnType::Time { precision } => match self.time_unit(*precision) {
                TimeUnit::Millis if o.time_precision_mode == TimePrecisionMode::Connect => {
                    put(&mut m, "int32", Some(CONNECT_TIME))
                }
                TimeUnit::Millis => put(&mut m, "int32", Some(TIME)),
                TimeUnit::Micros => put(&mut m, "int64", Some(MICRO_TIME)),
                TimeUnit::Nanos => put(&mut m, "int64", Some(NANO_TIME)),
            },
            ColumnType::TimeTz => put(&mut m, "string", Some(ZONED_TIME)),
            ColumnType::Timestamp { precision } => match self.timestamp_unit(*precision) {
                TimeUnit::Millis if o.time_precision_mode == TimePrecisionMode::Connect => {
                    put(&mut m, "int64", Some(CONNECT_TIMESTAMP))
                }
                TimeUnit::Millis => put(&mut m, "int64", Some(TIMESTAMP)),
                TimeUnit::Micros => put(&mut m, "int64", Some(MICRO_TIMESTAMP)),
                TimeUnit::Nanos => put(&mut m, "int64", Some(NANO_TIMESTAMP)),
            },
            ColumnType::TimestampTz { .. } => put(&mut m, "string", Some(ZONED_TIMESTAMP)),
            ColumnType::Interval => match o.interval_handling_mode {
                IntervalMode::Numeric => put(&mut m, "int64", Some(MICRO_DURATION)),
                IntervalMode::String => put(&mut m, "string", Some(INTERVAL)),
            },
            ColumnType::Hstore => match o.hstore_handling_mode {
                HstoreMode::Json => put(&mut m, "string", Some(JSON)),
                HstoreMode::Map => {
                    m.insert("type".into(), json!("map"));
                    m.insert("keys".into(), json!({"type": "string", "optional": false}));
                    m.insert("values".into(), json!({"type": "string", "optional": true}));
                    m.insert("optional".into(), json!(optional));
                }
            },
            ColumnType::Point => struct_schema(
                &mut m,
                json!([
                    {"type": "double", "optional": false, "field": "x"},
                    {"type": "double", "optional": false, "field": "y"},
                    {"type": "bytes", "optional": true, "field": "wkb"},
                    {"type": "int32", "optional": true, "field": "srid"}
                ]),
                optional,
                POINT,
                "Geometry (POINT)",
            ),
            ColumnType::Geometry | ColumnType::Geography => {
                let (name, doc) = if *ty == ColumnType::Geometry {
                    (GEOMETRY, "Geometry")
                } else {
                    (GEOGRAPHY, "Geography")
                };
                struct_schema(
                    &mut m,
                    json!([
                        {"type": "bytes", "optional": false, "field": "wkb"},
                        {"type": "int32", "optional": true, "field": "srid"}
                    ]),
                    optional,
                    name,
                    doc,
                )
            }
            ColumnType::Array(element) => {
                m.insert("type".into(), json!("array"));
                // Debezium declares enum array elements required (so an array holding a NULL
                // label cannot be converted and is written as null).
                let items_optional = !matches!(element.as_ref(), ColumnType::Enum { .. });
                m.insert(
                    "items".into(),
                    Json::Object(self.type_schema(element, items_optional)),
                );
                m.insert("optional".into(), json!(optional));
            }
        }
        m
    }
}

fn struct_schema(m: &mut Map<String, Json>, fields: Json, optional: bool, name: &str, doc: &str) {
    m.insert("type".into(), json!("struct"));
    m.insert("fields".into(), fields);
    m.insert("optional".into(), json!(optional));
    m.insert("name".into(), json!(name));
    m.insert("version".into(), json!(1));
    m.insert("doc".into(), json!(doc));
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
        ("struct", Some(POINT)) => ColumnType::Point,
        ("struct", Some(GEOMETRY)) => ColumnType::Geometry,
        ("struct", Some(GEOGRAPHY)) => ColumnType::Geography,
        ("string", Some(JSON)) => ColumnType::Json,
        ("string", Some(UUID)) => ColumnType::Uuid,
        ("string", Some(XML)) => ColumnType::Xml,
        ("string", Some(LTREE)) => ColumnType::Ltree,
        ("string", Some(TSVECTOR)) => ColumnType::Tsvector,
        ("string", Some(ENUM)) => ColumnType::Enum {
            allowed: param("allowed")
                .map(|a| a.split(',').map(str::to_owned).collect())
                .unwrap_or_default(),
        },
        ("string", Some(ENUM_SET)) => ColumnType::EnumSet {
            allowed: param("allowed")
                .map(|a| a.split(',').map(str::to_owned).collect())
                .unwrap_or_default(),
        },
        ("int32", Some(YEAR)) => ColumnType::Year,
        ("bytes", Some(BITS)) => ColumnType::Bits {
            length: param("length")
                .and_then(|s| s.parse().ok())
                .ok_or("Bits schema without a numeric length parameter")?,
        },
        ("string", Some(ZONED_TIMESTAMP)) => ColumnType::TimestampTz { precision: None },
        ("string", Some(ZONED_TIME)) => ColumnType::TimeTz,
        ("int64", Some(MICRO_DURATION)) | ("string", Some(INTERVAL)) => ColumnType::Interval,
        ("int32", Some(DATE | CONNECT_DATE)) => ColumnType::Date,
        ("int32", Some(TIME | CONNECT_TIME)) => ColumnType::Time { precision: 3 },
        ("int64", Some(MICRO_TIME)) => ColumnType::Time { precision: 6 },
        ("int64", Some(NANO_TIME)) => ColumnType::Time { precision: 9 },
        ("int64", Some(TIMESTAMP | CONNECT_TIMESTAMP)) => ColumnType::Timestamp { precision: 3 },
        ("int64", Some(MICRO_TIMESTAMP)) => ColumnType::Timestamp { precision: 6 },
        ("int64", Some(NANO_TIMESTAMP)) => ColumnType::Timestamp { precision: 9 },
        ("map", _) => ColumnType::Hstore,
        ("array", _) => ColumnType::Array(Box::new(column_type(
            schema.get("items").ok_or("array schema without items")?,
        )?)),
        ("boolean", _) => ColumnType::Boolean,
        ("int8", _) => ColumnType::Int8,
        ("int16", _) => ColumnType::Int16,
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
