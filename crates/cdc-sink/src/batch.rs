//! Buffered changelog rows → one Arrow [`RecordBatch`] in the exact Arrow schema iceberg-rust
//! derives from the table schema (`iceberg::arrow::schema_to_arrow_schema`, field ids in the
//! field metadata). Arrays are chosen by the Arrow field type, so the batch always matches
//! the schema the Parquet writer expects.

use std::borrow::Cow;
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
        Cell::of_ordered(row, source, None)
    }

    /// The cell of `source` in `row`; with `order`, source column `i` of the table is value
    /// `order[i]` of the row (`None`: absent from the row, null).
    fn of_ordered(
        row: &'a ChangelogRow,
        source: FieldSource,
        order: Option<&[Option<usize>]>,
    ) -> Result<Cell<'a>, String> {
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
            FieldSource::Column(i) => {
                let index = match order {
                    None => Some(i),
                    Some(order) => match order.get(i) {
                        Some(index) => *index,
                        None => return Err(format!("no row value is mapped to column {i}")),
                    },
                };
                match index {
                    None => Cell::Null,
                    Some(j) => match row.values.get(j) {
                        None => {
                            return Err(format!(
                                "row has {} values, column {j} missing",
                                row.values.len()
                            ))
                        }
                        Some(value) => Cell::of_value(value),
                    },
                }
            }
        })
    }

    fn of_value(value: &'a Value) -> Cell<'a> {
        match value {
            Value::Null => Cell::Null,
            Value::Boolean(v) => Cell::Bool(*v),
            Value::Int16(v) => Cell::Int(i64::from(*v)),
            Value::Int32(v) => Cell::Int(i64::from(*v)),
            Value::Int64(v) => Cell::Int(*v),
            Value::Float32(v) => Cell::F32(*v),
            Value::Float64(v) => Cell::F64(*v),
            Value::Decimal(d) => Cell::Decimal(d),
            Value::String(s) => Cell::Str(s),
            Value::Bytes(b) => Cell::Bytes(b),
            Value::Date(d) => Cell::Date(*d),
            Value::Timestamp(t) => Cell::Ts(*t),
            Value::TimestampTz(t) => Cell::TsTz(*t),
            v => Cell::Other(v),
        }
    }
}

/// Conversions of one cell to a field's Arrow type: `None` when the cell's kind cannot be
/// stored there, `Some(Err)` when this value cannot. Shared by [`build_batch`] and
/// [`check_row`], so a row that passes the check always builds.
fn to_bool(c: Cell<'_>) -> Option<Result<bool, String>> {
    match c {
        Cell::Bool(v) => Some(Ok(v)),
        _ => None,
    }
}

fn to_i32(c: Cell<'_>) -> Option<Result<i32, String>> {
    match c {
        Cell::Int(v) => Some(i32::try_from(v).map_err(|_| "value does not fit an int".to_owned())),
        _ => None,
    }
}

fn to_i64(c: Cell<'_>) -> Option<Result<i64, String>> {
    match c {
        Cell::Int(v) => Some(Ok(v)),
        _ => None,
    }
}

fn to_f32(c: Cell<'_>) -> Option<Result<f32, String>> {
    match c {
        Cell::F32(v) => Some(Ok(v)),
        _ => None,
    }
}

fn to_f64(c: Cell<'_>) -> Option<Result<f64, String>> {
    match c {
        Cell::F32(v) => Some(Ok(f64::from(v))),
        Cell::F64(v) => Some(Ok(v)),
        _ => None,
    }
}

fn to_decimal(c: Cell<'_>, precision: u8, scale: i8) -> Option<Result<i128, String>> {
    match c {
        Cell::Decimal(d) => Some(decimal_to_i128(d, precision, scale)),
        _ => None,
    }
}

fn to_date(c: Cell<'_>) -> Option<Result<i32, String>> {
    match c {
        Cell::Date(v) => Some(Ok(v)),
        _ => None,
    }
}

fn to_ts(c: Cell<'_>) -> Option<Result<i64, String>> {
    match c {
        Cell::Ts(v) => Some(Ok(v)),
        _ => None,
    }
}

fn to_tstz(c: Cell<'_>) -> Option<Result<i64, String>> {
    match c {
        Cell::TsTz(v) => Some(Ok(v)),
        _ => None,
    }
}

fn to_text(c: Cell<'_>) -> Option<Result<Cow<'_, str>, String>> {
    match c {
        Cell::Str(s) => Some(Ok(Cow::Borrowed(s))),
        Cell::Decimal(d) => Some(Ok(Cow::Owned(d.to_string()))),
        Cell::Other(v) => other_text(v).map(|t| Ok(Cow::Owned(t))),
        _ => None,
    }
}

fn to_binary(c: Cell<'_>) -> Option<Result<&[u8], String>> {
    match c {
        Cell::Bytes(b) => Some(Ok(b)),
        Cell::Other(Value::Geometry { wkb, .. }) => Some(Ok(wkb.as_slice())),
        _ => None,
    }
}

/// Why `cell` cannot be stored in `field` at all.
fn mismatch(field: &Field, cell: Cell<'_>) -> String {
    format!(
        "a {} value cannot be stored as {}",
        cell.kind(),
        field.data_type()
    )
}

/// Checks that `row` would build into a batch of `schema` (see [`build_batch`]) without
/// building it; `order` maps table columns to row values as in [`Cell::of_ordered`].
pub(crate) fn check_row(
    table: &str,
    schema: &SchemaRef,
    sources: &[FieldSource],
    row: &ChangelogRow,
    order: Option<&[Option<usize>]>,
) -> Result<(), SinkError> {
    for (field, source) in schema.fields().iter().zip(sources) {
        let checked =
            Cell::of_ordered(row, *source, order).and_then(|cell| check_cell(field, cell));
        if let Err(reason) = checked {
            return Err(SinkError::Value {
                table: table.to_owned(),
                column: field.name().clone(),
                origin: row.origin.clone(),
                reason,
            });
        }
    }
    Ok(())
}

fn check_cell(field: &Field, cell: Cell<'_>) -> Result<(), String> {
    if let Cell::Null = cell {
        return match field.is_nullable() {
            true => Ok(()),
            false => Err("null in a required column".into()),
        };
    }
    fn drop_ok<T>(r: Option<Result<T, String>>) -> Option<Result<(), String>> {
        r.map(|r| r.map(drop))
    }
    let checked = match field.data_type() {
        DataType::Boolean => drop_ok(to_bool(cell)),
        DataType::Int32 => drop_ok(to_i32(cell)),
        DataType::Int64 => drop_ok(to_i64(cell)),
        DataType::Float32 => drop_ok(to_f32(cell)),
        DataType::Float64 => drop_ok(to_f64(cell)),
        DataType::Decimal128(precision, scale) => drop_ok(to_decimal(cell, *precision, *scale)),
        DataType::Date32 => drop_ok(to_date(cell)),
        DataType::Timestamp(TimeUnit::Microsecond, None) => drop_ok(to_ts(cell)),
        DataType::Timestamp(TimeUnit::Microsecond, Some(_)) => drop_ok(to_tstz(cell)),
        DataType::Utf8 => drop_ok(to_text(cell)),
        DataType::LargeBinary => drop_ok(to_binary(cell)),
        other => return Err(format!("Arrow type {other} is not supported by the sink")),
    };
    checked.unwrap_or_else(|| Err(mismatch(field, cell)))
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
    let column = |i: usize| -> Result<ArrayRef, SinkError> {
        let field = schema.field(i);
        build_array(field, sources[i], rows).map_err(|e| match e {
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
        })
    };
    let arrays = in_parallel(sources.len(), rows.len(), column)?;
    RecordBatch::try_new(schema.clone(), arrays).map_err(|e| SinkError::Batch {
        table: table.to_owned(),
        reason: e.to_string(),
    })
}

/// Below this many rows a batch is built on the calling thread (spawning costs more).
const PARALLEL_MIN_ROWS: usize = 4096;

/// `build(i)` for every column `i` of `columns`, on up to one thread per core when there are
/// at least [`PARALLEL_MIN_ROWS`] rows: columns are independent, and turning row values into
/// Arrow arrays is a large share of a commit. Results in column order; the first error (by
/// column) wins.
fn in_parallel<T: Send>(
    columns: usize,
    rows: usize,
    build: impl Fn(usize) -> Result<T, SinkError> + Sync,
) -> Result<Vec<T>, SinkError> {
    let threads = crate::cores().min(columns);
    if rows < PARALLEL_MIN_ROWS || threads < 2 {
        return (0..columns).map(build).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut built: Vec<(usize, Result<T, SinkError>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if i >= columns {
                            return mine;
                        }
                        mine.push((i, build(i)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    built.sort_by_key(|(i, _)| *i);
    built.into_iter().map(|(_, r)| r).collect()
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
            None => return Err(ArrayError::Row(row, mismatch(field, cell))),
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
        DataType::Boolean => Arc::new(BooleanArray::from(cells(field, source, rows, to_bool)?)),
        DataType::Int32 => Arc::new(Int32Array::from(cells(field, source, rows, to_i32)?)),
        DataType::Int64 => Arc::new(Int64Array::from(cells(field, source, rows, to_i64)?)),
        DataType::Float32 => Arc::new(Float32Array::from(cells(field, source, rows, to_f32)?)),
        DataType::Float64 => Arc::new(Float64Array::from(cells(field, source, rows, to_f64)?)),
        DataType::Decimal128(precision, scale) => {
            let (precision, scale) = (*precision, *scale);
            let values = cells(field, source, rows, |c| to_decimal(c, precision, scale))?;
            let array = Decimal128Array::from(values)
                .with_precision_and_scale(precision, scale)
                .map_err(|e| ArrayError::Column(e.to_string()))?;
            Arc::new(array)
        }
        DataType::Date32 => Arc::new(Date32Array::from(cells(field, source, rows, to_date)?)),
        DataType::Timestamp(TimeUnit::Microsecond, None) => Arc::new(
            TimestampMicrosecondArray::from(cells(field, source, rows, to_ts)?),
        ),
        DataType::Timestamp(TimeUnit::Microsecond, Some(zone)) => {
            let values = cells(field, source, rows, to_tstz)?;
            Arc::new(TimestampMicrosecondArray::from(values).with_timezone(zone.clone()))
        }
        DataType::Utf8 => {
            let values = cells(field, source, rows, to_text)?;
            let bytes = values.iter().flatten().map(|v| v.len()).sum();
            let mut builder = StringBuilder::with_capacity(values.len(), bytes);
            for value in values {
                builder.append_option(value);
            }
            Arc::new(builder.finish())
        }
        DataType::LargeBinary => {
            let values = cells(field, source, rows, to_binary)?;
            let bytes = values.iter().flatten().map(|v| v.len()).sum();
            let mut builder = LargeBinaryBuilder::with_capacity(values.len(), bytes);
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
    use std::cmp::Ordering;
    let target = u32::try_from(scale).map_err(|_| format!("negative decimal scale {scale}"))?;
    let too_precise = || format!("value has more than {scale} fractional digits");
    // In i128 when the value fits (every decimal(38) does); `None` falls back to BigInt.
    let fast = i128::try_from(&d.unscaled)
        .ok()
        .and_then(|u| match target.cmp(&d.scale) {
            Ordering::Equal => Some(Ok(u)),
            Ordering::Greater => 10i128
                .checked_pow(target - d.scale)
                .and_then(|f| u.checked_mul(f))
                .map(Ok),
            Ordering::Less => 10i128.checked_pow(d.scale - target).map(|f| {
                if u % f == 0 {
                    Ok(u / f)
                } else {
                    Err(too_precise())
                }
            }),
        });
    let unscaled = match fast {
        Some(result) => result?,
        None => {
            let rescaled = d.rescale(target).ok_or_else(too_precise)?;
            i128::try_from(&rescaled.unscaled)
                .map_err(|_| format!("value does not fit decimal({precision}, {scale})"))?
        }
    };
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
