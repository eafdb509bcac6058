//! PostgreSQL types → model column types, and PostgreSQL text output → typed values.
//!
//! Text parsing assumes the session settings the capture pins on every connection
//! (`DateStyle=ISO`, `TimeZone=UTC`, `IntervalStyle=postgres`, `bytea_output=hex`).

use cdc_model::time::{days_from_date, micros_from_naive};
use cdc_model::{ColumnType, Decimal, Value};
use chrono::{NaiveDate, NaiveDateTime};

/// Session settings every capture connection runs with, so text output is parseable.
pub const SESSION_SETTINGS: &[(&str, &str)] = &[
    ("DateStyle", "ISO"),
    ("TimeZone", "UTC"),
    ("IntervalStyle", "postgres"),
    ("bytea_output", "hex"),
    ("extra_float_digits", "1"),
];

mod oid {
    pub const BOOL: u32 = 16;
    pub const BYTEA: u32 = 17;
    pub const NAME: u32 = 19;
    pub const INT8: u32 = 20;
    pub const INT2: u32 = 21;
    pub const INT4: u32 = 23;
    pub const TEXT: u32 = 25;
    pub const OID: u32 = 26;
    pub const JSON: u32 = 114;
    pub const FLOAT4: u32 = 700;
    pub const FLOAT8: u32 = 701;
    pub const BPCHAR: u32 = 1042;
    pub const VARCHAR: u32 = 1043;
    pub const DATE: u32 = 1082;
    pub const TIMESTAMP: u32 = 1114;
    pub const TIMESTAMPTZ: u32 = 1184;
    pub const NUMERIC: u32 = 1700;
    pub const UUID: u32 = 2950;
    pub const JSONB: u32 = 3802;
}

/// The column type for a PostgreSQL type oid and type modifier, or `None` when the type is
/// not mapped yet (such columns are left out of events, as Debezium does with
/// `include.unknown.datatypes=false`).
pub fn column_type(type_oid: u32, typmod: i32) -> Option<ColumnType> {
    Some(match type_oid {
        oid::BOOL => ColumnType::Boolean,
        oid::INT2 => ColumnType::Int16,
        oid::INT4 => ColumnType::Int32,
        oid::INT8 | oid::OID => ColumnType::Int64,
        oid::FLOAT4 => ColumnType::Float32,
        oid::FLOAT8 => ColumnType::Float64,
        oid::NUMERIC if typmod >= 4 => {
            let t = typmod - 4;
            ColumnType::Decimal {
                precision: Some(((t >> 16) & 0xffff) as u32),
                scale: (t & 0xffff) as u32,
            }
        }
        oid::NUMERIC => ColumnType::VariableDecimal,
        oid::TEXT | oid::VARCHAR | oid::BPCHAR | oid::NAME => ColumnType::String,
        oid::JSON | oid::JSONB => ColumnType::Json,
        oid::UUID => ColumnType::Uuid,
        oid::BYTEA => ColumnType::Bytes,
        oid::DATE => ColumnType::Date,
        oid::TIMESTAMP => ColumnType::Timestamp {
            precision: fractional_digits(typmod),
        },
        oid::TIMESTAMPTZ => ColumnType::TimestampTz {
            precision: Some(fractional_digits(typmod)),
        },
        _ => return None,
    })
}

fn fractional_digits(typmod: i32) -> u8 {
    if (0..=6).contains(&typmod) {
        typmod as u8
    } else {
        6
    }
}

/// Parses PostgreSQL text output of a value of type `ty`. `Err` says what was wrong.
pub fn parse_text(ty: &ColumnType, text: &str) -> Result<Value, String> {
    let bad = || format!("cannot parse {text:?} as {ty:?}");
    Ok(match ty {
        ColumnType::Boolean => match text {
            "t" | "true" => Value::Boolean(true),
            "f" | "false" => Value::Boolean(false),
            _ => return Err(bad()),
        },
        ColumnType::Int16 => Value::Int16(text.parse().map_err(|_| bad())?),
        ColumnType::Int32 => Value::Int32(text.parse().map_err(|_| bad())?),
        ColumnType::Int64 => Value::Int64(text.parse().map_err(|_| bad())?),
        ColumnType::Float32 => Value::Float32(text.parse().map_err(|_| bad())?),
        ColumnType::Float64 => Value::Float64(text.parse().map_err(|_| bad())?),
        ColumnType::Decimal { .. } | ColumnType::VariableDecimal => {
            Value::Decimal(Decimal::parse(text).ok_or_else(|| {
                format!(
                    "numeric value {text:?} cannot be represented with \
                     decimal.handling.mode=precise"
                )
            })?)
        }
        ColumnType::String | ColumnType::Json | ColumnType::Uuid => Value::String(text.to_owned()),
        ColumnType::Bytes => Value::Bytes(parse_bytea_hex(text).ok_or_else(bad)?),
        ColumnType::Date => {
            let d = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| unsupported(text))?;
            Value::Date(days_from_date(d))
        }
        ColumnType::Timestamp { .. } => {
            let ts = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
                .map_err(|_| unsupported(text))?;
            Value::Timestamp(micros_from_naive(ts))
        }
        ColumnType::TimestampTz { .. } => Value::TimestampTz(parse_timestamptz(text)?),
    })
}

fn unsupported(text: &str) -> String {
    format!("temporal value {text:?} is not supported yet (infinity and BC dates come later)")
}

/// `2024-02-29 11:45:01.5+00`, `…+05:30`, `…-03` → microseconds since the epoch.
fn parse_timestamptz(text: &str) -> Result<i64, String> {
    // The offset starts at the last '+' or '-' after the time part.
    let split = text
        .char_indices()
        .skip(11)
        .filter(|(_, c)| *c == '+' || *c == '-')
        .map(|(i, _)| i)
        .last()
        .ok_or_else(|| unsupported(text))?;
    let (local, offset) = text.split_at(split);
    let ts = NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M:%S%.f")
        .map_err(|_| unsupported(text))?;
    let sign: i64 = if offset.starts_with('-') { -1 } else { 1 };
    let mut parts = offset[1..].split(':');
    let mut next = || -> Result<i64, String> {
        parts
            .next()
            .map_or(Ok(0), |p| p.parse::<i64>().map_err(|_| unsupported(text)))
    };
    let offset_secs = sign * (next()? * 3600 + next()? * 60 + next()?);
    Ok(micros_from_naive(ts) - offset_secs * 1_000_000)
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

    #[test]
    fn maps_types_with_modifiers() {
        assert_eq!(
            column_type(1700, (10 << 16) + 2 + 4),
            Some(ColumnType::Decimal {
                precision: Some(10),
                scale: 2
            })
        );
        assert_eq!(column_type(1700, -1), Some(ColumnType::VariableDecimal));
        assert_eq!(
            column_type(1114, 3),
            Some(ColumnType::Timestamp { precision: 3 })
        );
        assert_eq!(
            column_type(1114, -1),
            Some(ColumnType::Timestamp { precision: 6 })
        );
        assert_eq!(
            column_type(1184, 0),
            Some(ColumnType::TimestampTz { precision: Some(0) })
        );
        assert_eq!(column_type(600, -1), None); // point: not mapped yet
    }

    #[test]
    fn parses_text_output() {
        let ts6 = ColumnType::Timestamp { precision: 6 };
        let tz = ColumnType::TimestampTz { precision: Some(6) };
        assert_eq!(
            parse_text(&ts6, "2024-02-29 13:45:01.123456").unwrap(),
            Value::Timestamp(1_709_214_301_123_456)
        );
        assert_eq!(
            parse_text(&tz, "2024-02-29 11:45:01.5+00").unwrap(),
            Value::TimestampTz(1_709_207_101_500_000)
        );
        assert_eq!(
            parse_text(&tz, "2024-02-29 13:45:01.5+02").unwrap(),
            Value::TimestampTz(1_709_207_101_500_000)
        );
        assert_eq!(
            parse_text(&tz, "2024-02-29 06:15:01.5-05:30").unwrap(),
            Value::TimestampTz(1_709_207_101_500_000)
        );
        assert_eq!(
            parse_text(&ColumnType::Date, "2024-02-29").unwrap(),
            Value::Date(19782)
        );
        assert_eq!(
            parse_text(&ColumnType::Bytes, "\\x0102ff").unwrap(),
            Value::Bytes(vec![1, 2, 255])
        );
        assert_eq!(
            parse_text(&ColumnType::Boolean, "t").unwrap(),
            Value::Boolean(true)
        );
        assert!(parse_text(&ColumnType::VariableDecimal, "NaN").is_err());
        assert!(parse_text(&ColumnType::Date, "infinity").is_err());
        assert!(parse_text(&ColumnType::Bytes, "\\x0").is_err());
        assert!(parse_text(&ColumnType::Int16, "70000").is_err());
    }
}
