//! Table identity, columns and the logical column types every connector maps into.

use std::fmt;

/// A captured table: PostgreSQL `schema.table`, MySQL `database.table`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TableId {
    /// PostgreSQL schema or MySQL database.
    pub namespace: String,
    /// Table name.
    pub name: String,
}

impl TableId {
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            name: name.into(),
        }
    }
}

impl fmt::Display for TableId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.namespace, self.name)
    }
}

/// Logical column type. Each variant has exactly one Debezium (Kafka Connect) representation
/// under the default handling modes and one Iceberg type in the sink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnType {
    Boolean,
    /// Kafka Connect `int8` (MySQL `TINYINT`); values are held as [`Value::Int16`] within
    /// −128..=127.
    ///
    /// [`Value::Int16`]: crate::Value::Int16
    Int8,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    /// Fixed-scale decimal; `precision` is `None` when the source does not declare one (money).
    Decimal {
        precision: Option<u32>,
        scale: u32,
    },
    /// Decimal that is always Connect's `Decimal`, whatever `decimal.handling.mode` says:
    /// MySQL `BIGINT UNSIGNED` under `bigint.unsigned.handling.mode=precise`.
    ExactDecimal {
        precision: u32,
        scale: u32,
    },
    /// Decimal whose scale varies per value (PostgreSQL `numeric` without typmod).
    VariableDecimal,
    String,
    /// JSON document as text (`io.debezium.data.Json`).
    Json,
    /// UUID in its canonical text form (`io.debezium.data.Uuid`).
    Uuid,
    Bytes,
    /// Days since 1970-01-01.
    Date,
    /// Wall-clock timestamp without zone; `precision` = fractional-second digits (0–6).
    Timestamp {
        precision: u8,
    },
    /// Instant; `precision` = fractional-second digits shown in text form (0–6), `None` if unknown.
    TimestampTz {
        precision: Option<u8>,
    },
    /// Time of day without zone; `precision` = fractional-second digits (0–6; 9 when decoded
    /// from a nanosecond schema).
    Time {
        precision: u8,
    },
    /// Time of day with zone, held normalised to UTC (`io.debezium.time.ZonedTime`).
    TimeTz,
    /// Calendar interval: months, days and microseconds (PostgreSQL `interval`).
    Interval,
    /// PostgreSQL `money`: a decimal whose scale is `money.fraction.digits`.
    Money,
    /// Bit string (`bit(n>1)`, `varbit`), `length` = declared bits (`io.debezium.data.Bits`).
    Bits {
        length: u32,
    },
    /// Enumerated type with its labels in sort order (`io.debezium.data.Enum`).
    Enum {
        allowed: Vec<String>,
    },
    /// MySQL `SET`: a comma list of members, with the allowed members in declaration order
    /// (`io.debezium.data.EnumSet`).
    EnumSet {
        allowed: Vec<String>,
    },
    /// MySQL `YEAR` as the year number (`io.debezium.time.Year`).
    Year,
    /// XML document as text (`io.debezium.data.Xml`).
    Xml,
    /// PostgreSQL `ltree` label path (`io.debezium.data.Ltree`).
    Ltree,
    /// PostgreSQL `tsvector` in its text form (`io.debezium.data.Tsvector`).
    Tsvector,
    /// PostgreSQL `hstore`: string keys to optional string values.
    Hstore,
    /// PostgreSQL `point` (`io.debezium.data.geometry.Point`).
    Point,
    /// PostGIS `geometry`: EWKB and SRID (`io.debezium.data.geometry.Geometry`).
    Geometry,
    /// PostGIS `geography`: EWKB and SRID (`io.debezium.data.geometry.Geography`).
    Geography,
    /// One-dimensional array whose elements (each nullable) have the given type.
    Array(Box<ColumnType>),
}

impl ColumnType {
    /// The type's zero (`0`, `""`, epoch, nil UUID): Debezium's fallback for a required column
    /// without a value, and the schema default of sequence-backed columns.
    pub fn zero_value(&self) -> crate::Value {
        use crate::{Decimal, Value};
        match self {
            ColumnType::Boolean => Value::Boolean(false),
            ColumnType::Int8 | ColumnType::Int16 => Value::Int16(0),
            ColumnType::Int32 => Value::Int32(0),
            ColumnType::Int64 => Value::Int64(0),
            ColumnType::Float32 => Value::Float32(0.0),
            ColumnType::Float64 => Value::Float64(0.0),
            ColumnType::Decimal { scale, .. } | ColumnType::ExactDecimal { scale, .. } => {
                Value::Decimal(Decimal {
                    unscaled: 0.into(),
                    scale: *scale,
                })
            }
            ColumnType::VariableDecimal => Value::Decimal(Decimal {
                unscaled: 0.into(),
                scale: 0,
            }),
            ColumnType::String
            | ColumnType::Json
            | ColumnType::Xml
            | ColumnType::Ltree
            | ColumnType::Tsvector
            | ColumnType::Enum { .. }
            | ColumnType::EnumSet { .. } => Value::String(String::new()),
            ColumnType::Year => Value::Int32(0),
            ColumnType::Money => Value::Decimal(Decimal {
                unscaled: 0.into(),
                scale: 0,
            }),
            ColumnType::Time { .. } => Value::Time(0),
            ColumnType::TimeTz => Value::TimeTz(0),
            ColumnType::Interval => Value::Interval {
                months: 0,
                days: 0,
                micros: 0,
            },
            ColumnType::Bits { .. } => Value::Bytes(Vec::new()),
            ColumnType::Hstore => Value::Map(Vec::new()),
            ColumnType::Point => Value::Point { x: 0.0, y: 0.0 },
            ColumnType::Geometry | ColumnType::Geography => Value::Geometry {
                wkb: Vec::new(),
                srid: None,
            },
            ColumnType::Array(_) => Value::Array(Vec::new()),
            ColumnType::Uuid => Value::String("00000000-0000-0000-0000-000000000000".into()),
            ColumnType::Bytes => Value::Bytes(Vec::new()),
            ColumnType::Date => Value::Date(0),
            ColumnType::Timestamp { .. } => Value::Timestamp(0),
            ColumnType::TimestampTz { .. } => Value::TimestampTz(0),
        }
    }
}

/// One column of a table schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub ty: ColumnType,
    pub nullable: bool,
    /// Column default as Debezium propagates it into the schema (`"default"`), if any.
    pub default: Option<crate::Value>,
}

impl Column {
    pub fn new(name: impl Into<String>, ty: ColumnType, nullable: bool) -> Self {
        Self {
            name: name.into(),
            ty,
            nullable,
            default: None,
        }
    }
}

/// Schema of a captured table: columns in table order and the key columns (indexes into
/// `columns`, in key order). An empty key means the events have a null Kafka key.
#[derive(Debug, Clone, PartialEq)]
pub struct TableSchema {
    pub id: TableId,
    pub columns: Vec<Column>,
    pub key: Vec<usize>,
}

impl TableSchema {
    /// Index of the column named `name`.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// The key columns, in key order.
    pub fn key_columns(&self) -> impl Iterator<Item = &Column> {
        self.key.iter().map(|&i| &self.columns[i])
    }
}
