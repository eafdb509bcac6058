//! PostgreSQL text output → typed model values, for pgoutput tuples and snapshot rows alike.
//!
//! Parsing assumes the session settings the capture pins on every connection
//! ([`SESSION_SETTINGS`]). Submodules:
//! - `temporal`: date, time, timetz, timestamp, timestamptz (infinity, BC, years > 9999),
//!   interval (postgres style).
//! - `structured`: arrays, hstore, point, PostGIS EWKB, bit strings.

mod structured;
mod temporal;

use cdc_model::{ColumnType, Decimal, SpecialDecimal, Value};

/// Session settings every capture connection runs with, so text output is parseable.
pub const SESSION_SETTINGS: &[(&str, &str)] = &[
    ("DateStyle", "ISO"),
    ("TimeZone", "UTC"),
    ("IntervalStyle", "postgres"),
    ("bytea_output", "hex"),
    ("extra_float_digits", "1"),
    ("lc_monetary", "C"),
];

/// Where a text value comes from. Debezium reads snapshots through JDBC and the stream
/// through its own text parsers, and the two disagree on a few date values; we reproduce
/// both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Snapshot,
    Stream,
}

/// Parses PostgreSQL text output of a value of type `ty`. `Err` says what was wrong.
pub fn parse_text(ty: &ColumnType, text: &str, origin: Origin) -> Result<Value, String> {
    let bad = || format!("cannot parse {text:?} as {ty:?}");
    Ok(match ty {
        ColumnType::Boolean => match text {
            "t" | "true" | "1" => Value::Boolean(true),
            "f" | "false" | "0" => Value::Boolean(false),
            _ => return Err(bad()),
        },
        ColumnType::Int8 | ColumnType::Int16 => Value::Int16(text.parse().map_err(|_| bad())?),
        ColumnType::Int32 => Value::Int32(text.parse().map_err(|_| bad())?),
        ColumnType::Int64 => Value::Int64(text.parse().map_err(|_| bad())?),
        ColumnType::Float32 => Value::Float32(text.parse().map_err(|_| bad())?),
        ColumnType::Float64 => Value::Float64(text.parse().map_err(|_| bad())?),
        ColumnType::Decimal { .. }
        | ColumnType::ExactDecimal { .. }
        | ColumnType::VariableDecimal => match text {
            "NaN" => Value::SpecialDecimal(SpecialDecimal::NaN),
            "Infinity" => Value::SpecialDecimal(SpecialDecimal::PositiveInfinity),
            "-Infinity" => Value::SpecialDecimal(SpecialDecimal::NegativeInfinity),
            _ => Value::Decimal(Decimal::parse(text).ok_or_else(bad)?),
        },
        ColumnType::Money => Value::Decimal(parse_money(text).ok_or_else(bad)?),
        ColumnType::String
        | ColumnType::Json
        | ColumnType::Uuid
        | ColumnType::Xml
        | ColumnType::Ltree
        | ColumnType::Tsvector
        | ColumnType::Enum { .. }
        | ColumnType::EnumSet { .. } => Value::String(text.to_owned()),
        ColumnType::Year => Value::Int32(text.parse().map_err(|_| bad())?),
        ColumnType::Bytes => Value::Bytes(parse_bytea_hex(text).ok_or_else(bad)?),
        ColumnType::Bits { .. } => Value::Bytes(structured::bits_le(text).ok_or_else(bad)?),
        ColumnType::Date => Value::Date(temporal::date(text, origin).ok_or_else(bad)?),
        ColumnType::Time { .. } => Value::Time(temporal::time(text).ok_or_else(bad)?),
        ColumnType::TimeTz => Value::TimeTz(temporal::timetz(text).ok_or_else(bad)?),
        ColumnType::Timestamp { .. } => {
            Value::Timestamp(temporal::timestamp(text).ok_or_else(bad)?)
        }
        ColumnType::TimestampTz { .. } => {
            Value::TimestampTz(temporal::timestamptz(text).ok_or_else(bad)?)
        }
        ColumnType::Interval => temporal::interval(text).ok_or_else(bad)?,
        ColumnType::Hstore => Value::Map(structured::hstore(text).ok_or_else(bad)?),
        ColumnType::Point => structured::point(text).ok_or_else(bad)?,
        ColumnType::Geometry | ColumnType::Geography => {
            structured::ewkb_hex(text).ok_or_else(bad)?
        }
        ColumnType::Array(element) => {
            let items = structured::array_items(text).ok_or_else(bad)?;
            Value::Array(
                items
                    .into_iter()
                    .map(|item| match item {
                        None => Ok(Value::Null),
                        // Debezium converts array elements through pgjdbc in both phases, so
                        // they follow the snapshot's (JDBC) conversions.
                        Some(t) => parse_text(element, &t, Origin::Snapshot),
                    })
                    .collect::<Result<_, _>>()?,
            )
        }
    })
}

/// `money` text under `lc_monetary=C`: `$1,234.56`, `-$0.01`.
fn parse_money(text: &str) -> Option<Decimal> {
    let cleaned: String = text.chars().filter(|c| !matches!(c, '$' | ',')).collect();
    Decimal::parse(&cleaned)
}

/// `\x0102ff` → bytes.
fn parse_bytea_hex(text: &str) -> Option<Vec<u8>> {
    let hex = text.strip_prefix("\\x")?;
    if hex.len() % 2 != 0 {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(ty: &ColumnType, text: &str) -> Result<Value, String> {
        parse_text(ty, text, Origin::Stream)
    }

    #[test]
    fn parses_scalars() {
        assert_eq!(
            p(&ColumnType::Bytes, "\\x0102ff").unwrap(),
            Value::Bytes(vec![1, 2, 255])
        );
        assert_eq!(p(&ColumnType::Boolean, "t").unwrap(), Value::Boolean(true));
        assert_eq!(p(&ColumnType::Boolean, "0").unwrap(), Value::Boolean(false));
        assert_eq!(
            p(&ColumnType::VariableDecimal, "NaN").unwrap(),
            Value::SpecialDecimal(SpecialDecimal::NaN)
        );
        assert_eq!(
            p(&ColumnType::Money, "-$92,233,720,368,547,758.08").unwrap(),
            Value::Decimal(Decimal::parse("-92233720368547758.08").unwrap())
        );
        assert!(matches!(
            p(&ColumnType::Float64, "-Infinity").unwrap(),
            Value::Float64(f) if f == f64::NEG_INFINITY
        ));
        assert!(p(&ColumnType::Bytes, "\\x0").is_err());
        assert!(p(&ColumnType::Int16, "70000").is_err());
    }
}
