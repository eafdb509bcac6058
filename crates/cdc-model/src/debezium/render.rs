//! Column values rendered as Debezium's PostgreSQL value converters would, under the
//! configured handling modes.

use base64::Engine as _;

use super::connect::TimeUnit;
use super::jsonout::Out;
use super::options::{
    BinaryMode, DecimalMode, HstoreMode, IntervalMode, TimePrecisionMode, ValueOptions,
};
use crate::{
    Column, ColumnType, Decimal, SpecialDecimal, Value, TIMESTAMPTZ_INFINITY,
    TIMESTAMPTZ_NEG_INFINITY, TIMESTAMP_INFINITY, TIMESTAMP_NEG_INFINITY,
};

/// Average days per month in Debezium's `MicroDuration` (365.25 / 12).
const DAYS_PER_MONTH_AVG: f64 = 30.4375;

/// Why a value could not be rendered for its column type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ValueMismatch(pub String);

/// Renders schemas (see `connect`) and values under one set of handling modes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Renderer<'a> {
    pub(crate) options: &'a ValueOptions,
}

fn b64(bytes: &[u8]) -> Out {
    Out::Str(base64::engine::general_purpose::STANDARD.encode(bytes))
}

impl Renderer<'_> {
    /// Renders `value` as the JSON payload for a column of type `ty`.
    pub(crate) fn value(&self, ty: &ColumnType, value: &Value) -> Result<Out, ValueMismatch> {
        let o = self.options;
        Ok(match (ty, value) {
            (_, Value::Null) => Out::Null,
            (ty, Value::Unavailable) => self.placeholder(ty)?,
            (ColumnType::Boolean, Value::Boolean(b)) => Out::Bool(*b),
            (ColumnType::Int16, Value::Int16(v)) => Out::Int(i64::from(*v)),
            (ColumnType::Int8, Value::Int16(v)) if i8::try_from(*v).is_ok() => {
                Out::Int(i64::from(*v))
            }
            (ColumnType::Int32, Value::Int32(v)) => Out::Int(i64::from(*v)),
            (ColumnType::Int64, Value::Int64(v)) => Out::Int(*v),
            (ColumnType::Float32, Value::Float32(v)) => Out::float(*v),
            (ColumnType::Float64, Value::Float64(v)) => Out::double(*v),
            (
                ColumnType::Decimal { .. } | ColumnType::VariableDecimal | ColumnType::Money,
                Value::SpecialDecimal(s),
            ) => match o.decimal_handling_mode {
                // Debezium logs "Got a special value (NaN/Infinity) for Decimal type" and
                // writes null.
                DecimalMode::Precise => Out::Null,
                DecimalMode::Double => Out::double(match s {
                    SpecialDecimal::NaN => f64::NAN,
                    SpecialDecimal::PositiveInfinity => f64::INFINITY,
                    SpecialDecimal::NegativeInfinity => f64::NEG_INFINITY,
                }),
                DecimalMode::String => Out::Str(
                    match s {
                        SpecialDecimal::NaN => "NAN",
                        SpecialDecimal::PositiveInfinity => "POSITIVE_INFINITY",
                        SpecialDecimal::NegativeInfinity => "NEGATIVE_INFINITY",
                    }
                    .into(),
                ),
            },
            (
                ColumnType::Decimal { .. } | ColumnType::VariableDecimal | ColumnType::Money,
                Value::Decimal(d),
            ) if o.decimal_handling_mode != DecimalMode::Precise => match o.decimal_handling_mode {
                DecimalMode::Double => Out::double(d.to_string().parse().map_err(|_| {
                    ValueMismatch(format!("decimal {d} is not representable as a double"))
                })?),
                _ => Out::Str(d.to_string()),
            },
            (
                ColumnType::Decimal { scale, .. } | ColumnType::ExactDecimal { scale, .. },
                Value::Decimal(d),
            ) => {
                let d = d.rescale(*scale).ok_or_else(|| {
                    ValueMismatch(format!("decimal {d} does not fit scale {scale}"))
                })?;
                b64(&d.unscaled.to_signed_bytes_be())
            }
            (ColumnType::Money, Value::Decimal(d)) => {
                let d = d.rescale_half_up(u32::from(o.money_fraction_digits));
                b64(&d.unscaled.to_signed_bytes_be())
            }
            (ColumnType::VariableDecimal, Value::Decimal(d)) => {
                let d = d.strip_trailing_zeros();
                Out::Object(vec![
                    ("scale".into(), Out::Int(i64::from(d.scale))),
                    ("value".into(), b64(&d.unscaled.to_signed_bytes_be())),
                ])
            }
            (
                ColumnType::String
                | ColumnType::Json
                | ColumnType::Uuid
                | ColumnType::Xml
                | ColumnType::Ltree
                | ColumnType::Tsvector
                | ColumnType::Enum { .. }
                | ColumnType::EnumSet { .. },
                Value::String(s),
            ) => Out::Str(s.clone()),
            (ColumnType::Year, Value::Int32(v)) => Out::Int(i64::from(*v)),
            (ColumnType::Bytes, Value::Bytes(b)) => self.binary(b),
            (ColumnType::Bits { .. }, Value::Bytes(b)) => b64(b),
            (ColumnType::Date, Value::Date(d)) => Out::Int(i64::from(*d)),
            (ColumnType::Time { precision }, Value::Time(us)) => {
                Out::Int(match self.time_unit(*precision) {
                    TimeUnit::Millis => us.div_euclid(1000),
                    TimeUnit::Micros => *us,
                    TimeUnit::Nanos => us.saturating_mul(1000),
                })
            }
            (ColumnType::TimeTz, Value::TimeTz(us)) => Out::Str(
                crate::time::zoned_time_text(*us)
                    .ok_or_else(|| ValueMismatch(format!("time {us}µs is out of range")))?,
            ),
            (ColumnType::Timestamp { precision }, Value::Timestamp(us)) => {
                match self.timestamp_unit(*precision) {
                    TimeUnit::Millis => Out::Int(us.div_euclid(1000)),
                    TimeUnit::Micros => Out::Int(*us),
                    // Infinity saturates; other values beyond the i64 nanosecond range
                    // (before 1677, after 2262) cannot be converted and are written as null.
                    TimeUnit::Nanos => match *us {
                        TIMESTAMP_INFINITY => Out::Int(i64::MAX),
                        TIMESTAMP_NEG_INFINITY => Out::Int(i64::MIN),
                        us => us.checked_mul(1000).map_or(Out::Null, Out::Int),
                    },
                }
            }
            (ColumnType::TimestampTz { .. }, Value::TimestampTz(TIMESTAMPTZ_INFINITY)) => {
                Out::Str("infinity".into())
            }
            (ColumnType::TimestampTz { .. }, Value::TimestampTz(TIMESTAMPTZ_NEG_INFINITY)) => {
                Out::Str("-infinity".into())
            }
            (ColumnType::TimestampTz { precision }, Value::TimestampTz(us)) => {
                let text = crate::time::zoned_timestamp_text(*us, precision.unwrap_or(6))
                    .ok_or_else(|| ValueMismatch(format!("timestamp {us}µs is out of range")))?;
                Out::Str(text)
            }
            (
                ColumnType::Interval,
                Value::Interval {
                    months,
                    days,
                    micros,
                },
            ) => match o.interval_handling_mode {
                IntervalMode::Numeric => Out::Int(micro_duration(*months, *days, *micros)),
                IntervalMode::String => Out::Str(iso_interval(*months, *days, *micros)),
            },
            (ColumnType::Hstore, Value::Map(entries)) => self.hstore(entries),
            (ColumnType::Point, Value::Point { x, y }) => Out::Object(vec![
                ("x".into(), Out::double(*x)),
                ("y".into(), Out::double(*y)),
                ("wkb".into(), b64(&point_wkb(*x, *y))),
                ("srid".into(), Out::Null),
            ]),
            // MySQL POINT: the coordinates read from the column's WKB, which is kept with its SRID.
            (ColumnType::Point, Value::Geometry { wkb, srid }) => {
                let (x, y) = wkb_point(wkb)
                    .ok_or_else(|| ValueMismatch(format!("WKB {wkb:02x?} is not a 2-D point")))?;
                Out::Object(vec![
                    ("x".into(), Out::double(x)),
                    ("y".into(), Out::double(y)),
                    ("wkb".into(), b64(wkb)),
                    (
                        "srid".into(),
                        srid.map_or(Out::Null, |s| Out::Int(i64::from(s))),
                    ),
                ])
            }
            (ColumnType::Geometry | ColumnType::Geography, Value::Geometry { wkb, srid }) => {
                Out::Object(vec![
                    ("wkb".into(), b64(wkb)),
                    (
                        "srid".into(),
                        srid.map_or(Out::Null, |s| Out::Int(i64::from(s))),
                    ),
                ])
            }
            // pgjdbc cannot convert NaN/Infinity inside a numeric[]; Debezium writes null.
            (ColumnType::Array(_), Value::Array(items))
                if items.iter().any(|v| matches!(v, Value::SpecialDecimal(_))) =>
            {
                Out::Null
            }
            // Enum arrays have required elements (see `connect`): a NULL label makes the
            // whole value null.
            (ColumnType::Array(element), Value::Array(items))
                if matches!(element.as_ref(), ColumnType::Enum { .. })
                    && items.contains(&Value::Null) =>
            {
                Out::Null
            }
            (ColumnType::Array(element), Value::Array(items)) => Out::Array(
                items
                    .iter()
                    .map(|item| self.value(element, item))
                    .collect::<Result<_, _>>()?,
            ),
            (ty, v) => {
                return Err(ValueMismatch(format!(
                    "value {v:?} does not match type {ty:?}"
                )))
            }
        })
    }

    fn binary(&self, bytes: &[u8]) -> Out {
        use base64::engine::general_purpose::{STANDARD, URL_SAFE};
        Out::Str(match self.options.binary_handling_mode {
            BinaryMode::Bytes | BinaryMode::Base64 => STANDARD.encode(bytes),
            BinaryMode::Base64UrlSafe => URL_SAFE.encode(bytes),
            BinaryMode::Hex => bytes.iter().map(|b| format!("{b:02x}")).collect(),
        })
    }

    fn hstore(&self, entries: &[HstoreEntry]) -> Out {
        let ordered = java_hash_map_order(entries);
        let fields: Vec<(String, Out)> = ordered
            .into_iter()
            .map(|(k, v)| (k.clone(), v.clone().map_or(Out::Null, Out::Str)))
            .collect();
        match self.options.hstore_handling_mode {
            HstoreMode::Map => Out::Object(fields),
            HstoreMode::Json => {
                let mut text = Vec::new();
                Out::Object(fields).write(&mut text);
                Out::Str(String::from_utf8_lossy(&text).into_owned())
            }
        }
    }

    /// `unavailable.value.placeholder` in the representation of `ty` (Debezium's
    /// `UnchangedToastedPlaceholder`).
    fn placeholder(&self, ty: &ColumnType) -> Result<Out, ValueMismatch> {
        // (Infallible today; kept fallible like every other rendering path.)
        let p = &self.options.unavailable_value_placeholder;
        Ok(match ty {
            ColumnType::String
            | ColumnType::Json
            | ColumnType::Xml
            | ColumnType::Ltree
            | ColumnType::Tsvector
            | ColumnType::Enum { .. }
            | ColumnType::EnumSet { .. } => Out::Str(p.clone()),
            // What real Debezium 3.6.3 writes per binary.handling.mode: the placeholder's
            // bytes, the placeholder text (hex), or null (base64 modes).
            ColumnType::Bytes => match self.options.binary_handling_mode {
                BinaryMode::Bytes => self.binary(p.as_bytes()),
                BinaryMode::Hex => Out::Str(p.clone()),
                BinaryMode::Base64 | BinaryMode::Base64UrlSafe => Out::Null,
            },
            ColumnType::Hstore => self.hstore(&[(p.clone(), Some(p.clone()))]),
            // Debezium's `UnchangedToastedReplicationMessageColumn`: text/varchar/bpchar/json
            // arrays hold the text, int4/date/int8 arrays its bytes as numbers, bytea arrays
            // its bytes, uuid arrays its name-based UUID; other arrays are null. (The capture
            // only sends `Unavailable` for the arrays that have a placeholder.)
            ColumnType::Array(element) => match element.as_ref() {
                // Kafka Connect's own `Date` (time.precision.mode=connect) rejects the numbers.
                ColumnType::Date
                    if self.options.time_precision_mode == TimePrecisionMode::Connect =>
                {
                    Out::Null
                }
                ColumnType::Int32 | ColumnType::Date | ColumnType::Int64 => {
                    Out::Array(p.bytes().map(|b| Out::Int(i64::from(b as i8))).collect())
                }
                // Only binary.handling.mode=bytes converts the placeholder bytes.
                ColumnType::Bytes if self.options.binary_handling_mode == BinaryMode::Bytes => {
                    Out::Array(vec![self.binary(p.as_bytes())])
                }
                ColumnType::Uuid => Out::Array(vec![Out::Str(name_uuid(p.as_bytes()))]),
                ColumnType::String | ColumnType::Json => Out::Array(vec![Out::Str(p.clone())]),
                _ => Out::Null,
            },
            // Other types have no placeholder form; Debezium's converters cannot convert the
            // marker and write null (seen for PostGIS geometries).
            _ => Out::Null,
        })
    }
}

/// Java's `UUID.nameUUIDFromBytes`: MD5 of the bytes as a version-3 UUID.
fn name_uuid(bytes: &[u8]) -> String {
    use md5::Digest as _;
    let mut b: [u8; 16] = md5::Md5::digest(bytes).into();
    b[6] = (b[6] & 0x0f) | 0x30;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// The value a required column takes when the source supplies none (Debezium's fallback:
/// the column default, else the type's zero).
pub(crate) fn fallback_value(column: &Column) -> Value {
    column
        .default
        .clone()
        .unwrap_or_else(|| column.ty.zero_value())
}

/// The fields pgjdbc's `PGInterval` holds for an interval: years, months, days, hours,
/// minutes, seconds (each carrying the sign of its part).
fn interval_fields(months: i32, days: i32, micros: i64) -> (i32, i32, i32, i64, i64, f64) {
    let sign = if micros < 0 { -1 } else { 1 };
    let abs = micros.unsigned_abs();
    let hours = (abs / 3_600_000_000) as i64 * sign;
    let minutes = ((abs / 60_000_000) % 60) as i64 * sign;
    let second_micros = abs % 60_000_000;
    let whole = (second_micros / 1_000_000) as f64;
    let fraction = (second_micros % 1_000_000) as f64;
    let seconds = (whole + fraction / 1_000_000.0) * sign as f64;
    (months / 12, months % 12, days, hours, minutes, seconds)
}

/// Debezium's `MicroDuration.durationMicros` (double arithmetic, months of 365.25/12 days,
/// truncated toward zero).
pub fn micro_duration(months: i32, days: i32, micros: i64) -> i64 {
    let (years, months, days, hours, minutes, seconds) = interval_fields(months, days, micros);
    let number_of_days = f64::from(years * 12 + months) * DAYS_PER_MONTH_AVG + f64::from(days);
    let number_of_seconds =
        ((number_of_days * 24.0 + hours as f64) * 60.0 + minutes as f64) * 60.0 + seconds;
    (number_of_seconds * 1e6) as i64
}

/// Debezium's `Interval.toIsoString`: `P<y>Y<m>M<d>DT<h>H<min>M<s>S`, seconds without
/// trailing zeros.
pub(crate) fn iso_interval(months: i32, days: i32, micros: i64) -> String {
    let (years, months, days, hours, minutes, seconds) = interval_fields(months, days, micros);
    let Out::Number(text) = Out::double(seconds) else {
        unreachable!("interval seconds are finite")
    };
    let seconds = Decimal::parse_scientific(&text)
        .map(|d| d.strip_trailing_zeros().to_string())
        .unwrap_or(text);
    format!("P{years}Y{months}M{days}DT{hours}H{minutes}M{seconds}S")
}

/// OGC WKB (little-endian) of a 2-D point.
fn point_wkb(x: f64, y: f64) -> Vec<u8> {
    let mut wkb = Vec::with_capacity(21);
    wkb.push(1);
    wkb.extend_from_slice(&1u32.to_le_bytes());
    wkb.extend_from_slice(&x.to_le_bytes());
    wkb.extend_from_slice(&y.to_le_bytes());
    wkb
}

/// The coordinates of an OGC WKB 2-D point (either byte order); `None` for anything else.
fn wkb_point(wkb: &[u8]) -> Option<(f64, f64)> {
    let (&order, rest) = wkb.split_first()?;
    let word = |b: &[u8]| -> Option<[u8; 4]> { b.get(..4)?.try_into().ok() };
    let float = |b: &[u8]| -> Option<[u8; 8]> { b.get(..8)?.try_into().ok() };
    let (kind, x, y) = match order {
        0 => (
            u32::from_be_bytes(word(rest)?),
            f64::from_be_bytes(float(rest.get(4..)?)?),
            f64::from_be_bytes(float(rest.get(12..)?)?),
        ),
        1 => (
            u32::from_le_bytes(word(rest)?),
            f64::from_le_bytes(float(rest.get(4..)?)?),
            f64::from_le_bytes(float(rest.get(12..)?)?),
        ),
        _ => return None,
    };
    (kind == 1 && rest.len() == 20).then_some((x, y))
}

/// One hstore key and its optional value.
type HstoreEntry = (String, Option<String>);

/// Java's `String.hashCode` (over UTF-16 code units).
fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

/// Iteration order of a `java.util.HashMap` filled with `entries` in order (pgjdbc's
/// `HStoreConverter.fromString` result, which Debezium serialises as is): by bucket of the
/// final table, then insertion order.
pub(crate) fn java_hash_map_order(entries: &[HstoreEntry]) -> Vec<&HstoreEntry> {
    let mut capacity: usize = 16;
    while entries.len() > capacity * 3 / 4 {
        capacity *= 2;
    }
    let mut indexed: Vec<(usize, usize, &HstoreEntry)> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let h = java_string_hash(&e.0) as u32;
            let spread = h ^ (h >> 16);
            (spread as usize & (capacity - 1), i, e)
        })
        .collect();
    indexed.sort_by_key(|&(bucket, i, _)| (bucket, i));
    indexed.into_iter().map(|(_, _, e)| e).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mysql_types_render_and_map_back() {
        use serde_json::json;
        let options = ValueOptions::default();
        let r = Renderer { options: &options };
        let schema_and_value = |ty: &ColumnType, v: &Value| {
            let schema = serde_json::Value::Object(r.type_schema(ty, true));
            let back = super::super::connect::column_type(&schema).unwrap();
            (schema, r.value(ty, v).unwrap().to_json(), back)
        };
        let (schema, value, back) = schema_and_value(&ColumnType::Int8, &Value::Int16(-128));
        assert_eq!(schema, json!({"type": "int8", "optional": true}));
        assert_eq!((value, back), (json!(-128), ColumnType::Int8));
        assert!(r.value(&ColumnType::Int8, &Value::Int16(200)).is_err());
        let (schema, value, back) = schema_and_value(&ColumnType::Year, &Value::Int32(2018));
        assert_eq!(schema["name"], json!("io.debezium.time.Year"));
        assert_eq!((value, back), (json!(2018), ColumnType::Year));
        let set = ColumnType::EnumSet {
            allowed: vec!["a".into(), "b\\,c".into()],
        };
        let (schema, value, back) = schema_and_value(&set, &Value::String("a".into()));
        assert_eq!(schema["name"], json!("io.debezium.data.EnumSet"));
        assert_eq!(schema["parameters"], json!({"allowed": "a,b\\,c"}));
        assert_eq!(value, json!("a"));
        assert!(matches!(back, ColumnType::EnumSet { .. }));
        // MySQL POINT: coordinates from the WKB, which is kept with its SRID.
        let wkb = point_wkb(1.5, -2.0);
        let (_, value, _) = schema_and_value(
            &ColumnType::Point,
            &Value::Geometry {
                wkb: wkb.clone(),
                srid: Some(4326),
            },
        );
        assert_eq!(
            value,
            json!({"x": 1.5, "y": -2.0, "wkb": base64::engine::general_purpose::STANDARD.encode(&wkb), "srid": 4326})
        );
        let not_a_point = Value::Geometry {
            wkb: vec![1, 2, 0, 0, 0],
            srid: None,
        };
        assert!(r.value(&ColumnType::Point, &not_a_point).is_err());
    }

    /// MySQL BIGINT UNSIGNED in precise mode stays a Connect Decimal under
    /// `decimal.handling.mode` string / double, as in Debezium.
    #[test]
    fn exact_decimal_ignores_decimal_handling_mode() {
        use serde_json::json;
        let ty = ColumnType::ExactDecimal {
            precision: 20,
            scale: 0,
        };
        let max = Value::Decimal(crate::Decimal::parse("18446744073709551615").unwrap());
        for mode in [
            DecimalMode::Precise,
            DecimalMode::String,
            DecimalMode::Double,
        ] {
            let options = ValueOptions {
                decimal_handling_mode: mode,
                ..ValueOptions::default()
            };
            let r = Renderer { options: &options };
            let schema = serde_json::Value::Object(r.type_schema(&ty, true));
            assert_eq!(
                schema,
                json!({"type": "bytes", "optional": true,
                    "name": "org.apache.kafka.connect.data.Decimal", "version": 1,
                    "parameters": {"scale": "0", "connect.decimal.precision": "20"}}),
                "{mode:?}"
            );
            assert_eq!(r.value(&ty, &max).unwrap().to_json(), json!("AP//////////"));
        }
    }

    #[test]
    fn micro_duration_matches_debezium() {
        // 1 year 2 mons 3 days 04:05:06.78
        let micros = ((4 * 60 + 5) * 60 + 6) * 1_000_000 + 780_000;
        assert_eq!(micro_duration(14, 3, micros), 37_091_106_780_000);
        // -3 days -00:00:01.5
        assert_eq!(micro_duration(0, -3, -1_500_000), -259_201_500_000);
        assert_eq!(iso_interval(0, -3, -1_500_000), "P0Y0M-3DT0H0M-1.5S");
        assert_eq!(iso_interval(14, 3, micros), "P1Y2M3DT4H5M6.78S");
        assert_eq!(iso_interval(0, 0, 0), "P0Y0M0DT0H0M0S");
    }

    #[test]
    fn name_uuid_matches_java() {
        assert_eq!(
            name_uuid(b"__debezium_unavailable_value"),
            "b68a35a7-17ad-35b3-af2a-ae46edb4545a"
        );
    }

    #[test]
    fn hstore_order_is_java_hash_map_order() {
        let e = |k: &str| (k.to_owned(), None);
        let entries = [e("a"), e("z"), e("b c")];
        let keys: Vec<&str> = java_hash_map_order(&entries)
            .iter()
            .map(|(k, _)| k.as_str())
            .collect();
        assert_eq!(keys, ["a", "b c", "z"]);
    }
}
