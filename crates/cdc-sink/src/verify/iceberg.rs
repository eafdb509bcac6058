//! The Iceberg side: live rows of a table (position and equality deletes applied by
//! iceberg-rust's reader) as canonical values.

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Float32Type, Float64Type, Int32Type, Int64Type,
    TimestampMicrosecondType,
};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;

use super::canonical::{
    date_canon, decimal_text, double_bits, float_bits, normalise_decimal, parse_interval_text,
    timestamp_canon, Canon, Kind,
};

/// Canonical values of column `array` (all rows of one batch) of kind `kind`.
pub(crate) fn column_values(kind: Kind, array: &dyn Array) -> Result<Vec<Canon>, String> {
    let wrong = || {
        format!(
            "Iceberg column has Arrow type {} which does not hold {kind:?} values",
            array.data_type()
        )
    };
    let n = array.len();
    let mut out = Vec::with_capacity(n);
    macro_rules! each {
        ($values:expr, $convert:expr) => {{
            let values = $values;
            for i in 0..n {
                out.push(if values.is_null(i) {
                    Canon::Null
                } else {
                    $convert(values.value(i))?
                });
            }
        }};
    }
    let ok = |c: Canon| -> Result<Canon, String> { Ok(c) };
    match (kind, array.data_type()) {
        (Kind::Bool, DataType::Boolean) => each!(array.as_boolean(), |v| ok(Canon::Bool(v))),
        (Kind::Int, DataType::Int32) => {
            each!(array.as_primitive::<Int32Type>(), |v: i32| ok(Canon::Int(
                i64::from(v)
            )))
        }
        (Kind::Int, DataType::Int64) => {
            each!(array.as_primitive::<Int64Type>(), |v| ok(Canon::Int(v)))
        }
        (Kind::Float, DataType::Float32) => {
            each!(array.as_primitive::<Float32Type>(), |v| ok(float_bits(v)))
        }
        (Kind::Double, DataType::Float64) => {
            each!(array.as_primitive::<Float64Type>(), |v| ok(double_bits(v)))
        }
        (Kind::Decimal { .. }, DataType::Decimal128(_, scale)) => {
            let scale = *scale;
            each!(array.as_primitive::<Decimal128Type>(), |v| ok(Canon::Text(
                decimal_text(v, scale)
            )))
        }
        (Kind::Date, DataType::Date32) => {
            each!(array.as_primitive::<Date32Type>(), |v| ok(date_canon(v)))
        }
        (Kind::Timestamp, DataType::Timestamp(_, None)) => each!(
            array.as_primitive::<TimestampMicrosecondType>(),
            |v| ok(timestamp_canon(v, false))
        ),
        (Kind::TimestampTz, DataType::Timestamp(_, Some(_))) => each!(
            array.as_primitive::<TimestampMicrosecondType>(),
            |v| ok(timestamp_canon(v, true))
        ),
        (
            Kind::Text { .. } | Kind::NumericText | Kind::Clock { .. } | Kind::Interval,
            DataType::Utf8,
        ) => {
            each!(array.as_string::<i32>(), |v| text(kind, v))
        }
        (
            Kind::Text { .. } | Kind::NumericText | Kind::Clock { .. } | Kind::Interval,
            DataType::LargeUtf8,
        ) => {
            each!(array.as_string::<i64>(), |v| text(kind, v))
        }
        (Kind::Binary, DataType::LargeBinary) => {
            each!(array.as_binary::<i64>(), |v: &[u8]| ok(Canon::Bytes(
                v.to_vec()
            )))
        }
        (Kind::Binary, DataType::Binary) => {
            each!(array.as_binary::<i32>(), |v: &[u8]| ok(Canon::Bytes(
                v.to_vec()
            )))
        }
        _ => return Err(wrong()),
    }
    if let DataType::Timestamp(unit, _) = array.data_type() {
        if *unit != arrow_schema::TimeUnit::Microsecond {
            return Err(wrong());
        }
    }
    Ok(out)
}

fn text(kind: Kind, v: &str) -> Result<Canon, String> {
    if kind == Kind::NumericText {
        return Ok(match normalise_decimal(v) {
            Some(n) => Canon::Text(n),
            None => Canon::Special(v.to_owned()),
        });
    }
    if kind == Kind::Interval {
        let (months, days, micros) = parse_interval_text(v)
            .ok_or_else(|| format!("stored interval {v:?} is not the sink's interval text"))?;
        return Ok(Canon::Int(cdc_model::debezium::micro_duration(
            months, days, micros,
        )));
    }
    Ok(Canon::Text(v.to_owned()))
}

/// Canonical rows of `batch` whose columns are `kinds` in order.
pub(crate) fn batch_rows(batch: &RecordBatch, kinds: &[Kind]) -> Result<Vec<Vec<Canon>>, String> {
    let mut columns = Vec::with_capacity(kinds.len());
    for (i, kind) in kinds.iter().enumerate() {
        let name = batch.schema().field(i).name().clone();
        let values =
            column_values(*kind, batch.column(i).as_ref()).map_err(|e| format!("{name}: {e}"))?;
        columns.push(values.into_iter());
    }
    let mut rows = Vec::with_capacity(batch.num_rows());
    for _ in 0..batch.num_rows() {
        rows.push(
            columns
                .iter_mut()
                .map(|c| c.next().unwrap_or(Canon::Null))
                .collect(),
        );
    }
    Ok(rows)
}
