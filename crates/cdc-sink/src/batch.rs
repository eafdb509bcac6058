//! Buffered changelog rows → one Arrow [`RecordBatch`] in the exact Arrow schema iceberg-rust
//! derives from the table schema (`iceberg::arrow::schema_to_arrow_schema`, field ids in the
//! field metadata). Arrays are chosen by the Arrow field type, so the batch always matches
//! the schema the Parquet writer expects.

use std::sync::Arc;

use arrow_array::builder::{LargeBinaryBuilder, StringBuilder};
use arrow_array::{
    ArrayRef, BooleanArray, Date32Array, Decimal128Array, Float32Array, Float64Array, Int32Array,
    Int64Array, RecordBatch, TimestampMicrosecondArray,
};
use arrow_schema::{DataType, Field, Schema as ArrowSchema, SchemaRef, TimeUnit};
use cdc_model::{Decimal, Value};

use crate::changelog::{
    ChangelogRow, COL_KAFKA_OFFSET, COL_KAFKA_PARTITION, COL_OP, COL_POSITION, COL_TS, COL_TS_MS,
};
use crate::keyed::history;
use crate::SinkError;

/// Where the values of one Arrow field come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldSource {
    /// The n-th source column ([`ChangelogRow::values`] index).
    Column(usize),
    Op,
    TsMs,
    Position,
    KafkaPartition,
    KafkaOffset,
    /// History `_valid_from`: the source time of the change (timestamptz).
    SourceTime,
    /// Changelog `_cdc_ts`: the source time of the change as a UTC timestamp.
    SourceTimeUtc,
    /// History: null until the version is closed.
    ValidTo,
    /// History: true until the version is closed.
    IsCurrent,
    /// History: computed after the batch is built (null here).
    RowHash,
}

/// Maps each field of a changelog table's Arrow schema to its value source. Source columns
/// are numbered in table order, skipping the metadata columns.
pub(crate) fn field_sources(schema: &ArrowSchema) -> Vec<FieldSource> {
    let mut next_column = 0;
    schema
        .fields()
        .iter()
        .map(|field| match field.name().as_str() {
            COL_OP => FieldSource::Op,
            COL_TS_MS => FieldSource::TsMs,
            COL_POSITION => FieldSource::Position,
            COL_KAFKA_PARTITION => FieldSource::KafkaPartition,
            COL_KAFKA_OFFSET => FieldSource::KafkaOffset,
            history::COL_VALID_FROM => FieldSource::SourceTime,
            COL_TS => FieldSource::SourceTimeUtc,
            history::COL_VALID_TO => FieldSource::ValidTo,
            history::COL_IS_CURRENT => FieldSource::IsCurrent,
            history::COL_OP => FieldSource::Op,
            history::COL_ROW_HASH => FieldSource::RowHash,
            _ => {
                next_column += 1;
                FieldSource::Column(next_column - 1)
            }
        })
        .collect()
}

/// One value, borrowed from a row, before conversion to the field's Arrow type.
#[derive(Debug, Clone, Copy)]
enum Cell<'a> {
    Null,
    Bool(bool),
    Int(i64),
    F32(f32),
    F64(f64),
    Decimal(&'a Decimal),
    Str(&'a str),
    Bytes(&'a [u8]),
    Date(i32),
    Ts(i64),
    TsTz(i64),
    /// A value stored as text or binary (see [`other_text`]): time, interval, hstore, point,
    /// geometry, arrays, NaN/Infinity decimals.
    Other(&'a Value),
}

impl<'a> Cell<'a> {
    /// What kind of value this is, for errors (values themselves are never put in errors).
    fn kind(&self) -> &'static str {
        match self {
            Cell::Null => "null",
            Cell::Bool(_) => "boolean",
            Cell::Int(_) => "integer",
            Cell::F32(_) => "float",
            Cell::F64(_) => "double",
            Cell::Decimal(_) => "decimal",
            Cell::Str(_) => "string",
            Cell::Bytes(_) => "binary",
            Cell::Date(_) => "date",
            Cell::Ts(_) => "timestamp",
            Cell::TsTz(_) => "timestamptz",
            Cell::Other(_) => "structured",
        }
    }

    fn of(row: &'a ChangelogRow, source: FieldSource) -> Result<Cell<'a>, String> {
        Ok(match source {
            FieldSource::Op => Cell::Str(row.op.code()),
            FieldSource::TsMs => Cell::Int(row.ts_ms),
            FieldSource::Position => Cell::Str(&row.position),
            FieldSource::KafkaPartition => Cell::Int(i64::from(row.origin.partition)),
            FieldSource::KafkaOffset => Cell::Int(row.origin.offset),
            FieldSource::SourceTime => Cell::TsTz(row.ts_us),
            FieldSource::SourceTimeUtc => Cell::Ts(row.ts_us),
            FieldSource::ValidTo | FieldSource::RowHash => Cell::Null,
            FieldSource::IsCurrent => Cell::Bool(true),
            FieldSource::Column(i) => match row.values.get(i) {
                None => {
                    return Err(format!(
                        "row has {} values, column {i} missing",
                        row.values.len()
                    ))
                }
                Some(Value::Null) => Cell::Null,
                Some(Value::Boolean(v)) => Cell::Bool(*v),
                Some(Value::Int16(v)) => Cell::Int(i64::from(*v)),
                Some(Value::Int32(v)) => Cell::Int(i64::from(*v)),
                Some(Value::Int64(v)) => Cell::Int(*v),
                Some(Value::Float32(v)) => Cell::F32(*v),
                Some(Value::Float64(v)) => Cell::F64(*v),
                Some(Value::Decimal(d)) => Cell::Decimal(d),
                Some(Value::String(s)) => Cell::Str(s),
                Some(Value::Bytes(b)) => Cell::Bytes(b),
                Some(Value::Date(d)) => Cell::Date(*d),
                Some(Value::Timestamp(t)) => Cell::Ts(*t),
                Some(Value::TimestampTz(t)) => Cell::TsTz(*t),
                Some(v) => Cell::Other(v),
            },
        })
    }
}

/// Builds the batch of `rows` for a table whose Arrow schema is `schema` and whose field
/// sources are `sources` (from [`field_sources`]). `table` names the table in errors.
pub(crate) fn build_batch(
    table: &str,
    schema: &SchemaRef,
    sources: &[FieldSource],
    rows: &[ChangelogRow],
) -> Result<RecordBatch, SinkError> {
    if sources.len() != schema.fields().len() {
        return Err(SinkError::Batch {
            table: table.to_owned(),
            reason: format!(
                "{} field sources for {} fields",
                sources.len(),
                schema.fields().len()
            ),
        });
    }
    let mut arrays = Vec::with_capacity(sources.len());
    for (field, source) in schema.fields().iter().zip(sources) {
        let array = build_array(field, *source, rows).map_err(|e| match e {
            ArrayError::Row(row, reason) => SinkError::Value {
                table: table.to_owned(),
                column: field.name().clone(),
                origin: row.origin.clone(),
                reason,
            },
            ArrayError::Column(reason) => SinkError::Batch {
                table: table.to_owned(),
                reason: format!("column {}: {reason}", field.name()),
            },
        })?;
        arrays.push(array);
    }
    RecordBatch::try_new(schema.clone(), arrays).map_err(|e| SinkError::Batch {
        table: table.to_owned(),
        reason: e.to_string(),
    })
}

/// Why a column could not be built: a value of one row, or the column as a whole.
enum ArrayError<'r> {
    Row(&'r ChangelogRow, String),
    Column(String),
}

type CellResult<'r, T> = Result<T, ArrayError<'r>>;

/// Converts every row's cell of one field with `convert`, rejecting nulls in required fields.
fn cells<'r, T>(
    field: &Field,
    source: FieldSource,
    rows: &'r [ChangelogRow],
    convert: impl Fn(Cell<'r>) -> Option<Result<T, String>>,
) -> CellResult<'r, Vec<Option<T>>> {
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let cell = Cell::of(row, source).map_err(|e| ArrayError::Row(row, e))?;
        if let Cell::Null = cell {
            if !field.is_nullable() {
                return Err(ArrayError::Row(row, "null in a required column".into()));
            }
            out.push(None);
            continue;
        }
        let value = match convert(cell) {
            Some(result) => result.map_err(|e| ArrayError::Row(row, e))?,
            None => {
                let reason = format!(
                    "a {} value cannot be stored as {}",
                    cell.kind(),
                    field.data_type()
                );
                return Err(ArrayError::Row(row, reason));
            }
        };
        out.push(Some(value));
    }
    Ok(out)
}

fn build_array<'r>(
    field: &Field,
    source: FieldSource,
    rows: &'r [ChangelogRow],
) -> CellResult<'r, ArrayRef> {
    let array: ArrayRef = match field.data_type() {
        DataType::Boolean => Arc::new(BooleanArray::from(cells(
            field,
            source,
            rows,
            |c| match c {
                Cell::Bool(v) => Some(Ok(v)),
                _ => None,
            },
        )?)),
        DataType::Int32 => Arc::new(Int32Array::from(cells(field, source, rows, |c| match c {
            Cell::Int(v) => {
                Some(i32::try_from(v).map_err(|_| "value does not fit an int".to_owned()))
            }
            _ => None,
        })?)),
        DataType::Int64 => Arc::new(Int64Array::from(cells(field, source, rows, |c| match c {
            Cell::Int(v) => Some(Ok(v)),
            _ => None,
        })?)),
        DataType::Float32 => Arc::new(Float32Array::from(cells(
            field,
            source,
            rows,
            |c| match c {
                Cell::F32(v) => Some(Ok(v)),
                _ => None,
            },
        )?)),
        DataType::Float64 => Arc::new(Float64Array::from(cells(
            field,
            source,
            rows,
            |c| match c {
                Cell::F32(v) => Some(Ok(f64::from(v))),
                Cell::F64(v) => Some(Ok(v)),
                _ => None,
            },
        )?)),
        DataType::Decimal128(precision, scale) => {
            let (precision, scale) = (*precision, *scale);
            let values = cells(field, source, rows, |c| match c {
                Cell::Decimal(d) => Some(decimal_to_i128(d, precision, scale)),
                _ => None,
            })?;
            let array = Decimal128Array::from(values)
                .with_precision_and_scale(precision, scale)
                .map_err(|e| ArrayError::Column(e.to_string()))?;
            Arc::new(array)
        }
        DataType::Date32 => Arc::new(Date32Array::from(cells(
            field,
            source,
            rows,
            |c| match c {
                Cell::Date(v) => Some(Ok(v)),
                _ => None,
            },
        )?)),
        DataType::Timestamp(TimeUnit::Microsecond, None) => Arc::new(
            TimestampMicrosecondArray::from(cells(field, source, rows, |c| match c {
                Cell::Ts(v) => Some(Ok(v)),
                _ => None,
            })?),
        ),
        DataType::Timestamp(TimeUnit::Microsecond, Some(zone)) => {
            let values = cells(field, source, rows, |c| match c {
                Cell::TsTz(v) => Some(Ok(v)),
                _ => None,
            })?;
            Arc::new(TimestampMicrosecondArray::from(values).with_timezone(zone.clone()))
        }
        DataType::Utf8 => {
            let values = cells(field, source, rows, |c| match c {
                Cell::Str(s) => Some(Ok(std::borrow::Cow::Borrowed(s))),
                Cell::Decimal(d) => Some(Ok(std::borrow::Cow::Owned(d.to_string()))),
                Cell::Other(v) => other_text(v).map(|t| Ok(std::borrow::Cow::Owned(t))),
                _ => None,
            })?;
            let mut builder = StringBuilder::with_capacity(values.len(), 0);
            for value in values {
                builder.append_option(value);
            }
            Arc::new(builder.finish())
        }
        DataType::LargeBinary => {
            let values = cells(field, source, rows, |c| match c {
                Cell::Bytes(b) => Some(Ok(b)),
                Cell::Other(Value::Geometry { wkb, .. }) => Some(Ok(wkb.as_slice())),
                _ => None,
            })?;
            let mut builder = LargeBinaryBuilder::with_capacity(values.len(), 0);
            for value in values {
                builder.append_option(value);
            }
            Arc::new(builder.finish())
        }
        other => {
            let reason = format!("Arrow type {other} is not supported by the sink");
            return Err(ArrayError::Column(reason));
        }
    };
    Ok(array)
}

/// The unscaled `i128` of `d` at `scale`, checked against `precision`.
fn decimal_to_i128(d: &Decimal, precision: u8, scale: i8) -> Result<i128, String> {
    let target = u32::try_from(scale).map_err(|_| format!("negative decimal scale {scale}"))?;
    let rescaled = d
        .rescale(target)
        .ok_or_else(|| format!("value has more than {scale} fractional digits"))?;
    let unscaled = i128::try_from(&rescaled.unscaled)
        .map_err(|_| format!("value does not fit decimal({precision}, {scale})"))?;
    let limit = 10u128
        .checked_pow(u32::from(precision))
        .ok_or_else(|| format!("decimal precision {precision} is too large"))?;
    if unscaled.unsigned_abs() >= limit {
        return Err(format!("value does not fit decimal({precision}, {scale})"));
    }
    Ok(unscaled)
}

#[cfg(test)]
#[path = "batch_tests.rs"]
mod tests;

/// Text form of the values the sink stores as strings: ISO times (`HH:MM:SS.ffffff`, UTC
/// with `Z` for timetz), ISO-8601 durations for intervals (`P<months>M<days>DT<seconds>S`),
/// JSON objects for hstore, `(x,y)` for points, JSON arrays for arrays, `NaN`/`Infinity`
/// for special decimals.
fn other_text(v: &Value) -> Option<String> {
    use cdc_model::SpecialDecimal;
    fn clock(micros: i64) -> String {
        let secs = micros.div_euclid(1_000_000);
        format!(
            "{:02}:{:02}:{:02}.{:06}",
            secs / 3600,
            secs / 60 % 60,
            secs % 60,
            micros.rem_euclid(1_000_000)
        )
    }
    fn json(v: &Value) -> serde_json::Value {
        match v {
            Value::Null => serde_json::Value::Null,
            Value::Boolean(b) => (*b).into(),
            Value::Int16(i) => (*i).into(),
            Value::Int32(i) => (*i).into(),
            Value::Int64(i) => (*i).into(),
            Value::Float32(f) => f64::from(*f).into(),
            Value::Float64(f) => (*f).into(),
            Value::String(s) => s.clone().into(),
            other => other_text(other).map_or(serde_json::Value::Null, Into::into),
        }
    }
    Some(match v {
        Value::Time(us) => clock(*us),
        Value::TimeTz(us) => format!("{}Z", clock(*us)),
        Value::Interval {
            months,
            days,
            micros,
        } => format!(
            "P{months}M{days}DT{}S",
            Decimal {
                unscaled: (*micros).into(),
                scale: 6
            }
        ),
        Value::SpecialDecimal(SpecialDecimal::NaN) => "NaN".into(),
        Value::SpecialDecimal(SpecialDecimal::PositiveInfinity) => "Infinity".into(),
        Value::SpecialDecimal(SpecialDecimal::NegativeInfinity) => "-Infinity".into(),
        Value::Map(entries) => serde_json::Value::Object(
            entries
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.clone().map_or(serde_json::Value::Null, Into::into),
                    )
                })
                .collect(),
        )
        .to_string(),
        Value::Point { x, y } => format!("({x},{y})"),
        Value::Array(items) => {
            serde_json::Value::Array(items.iter().map(json).collect()).to_string()
        }
        Value::Date(d) => d.to_string(),
        Value::Decimal(d) => d.to_string(),
        Value::String(s) => s.clone(),
        Value::Bytes(b) => b.iter().map(|x| format!("{x:02x}")).collect(),
        Value::Timestamp(t) | Value::TimestampTz(t) => t.to_string(),
        _ => return None,
    })
}
