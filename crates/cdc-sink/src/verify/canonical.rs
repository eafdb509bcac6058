//! One canonical form per column value, computed from either side: PostgreSQL text output
//! (of the select expression [`Kind::select_expr`] chooses) and the Arrow value read back from
//! Iceberg. The forms are equal exactly when the sink stored the value faithfully.
//!
//! The kind of a column is decided by its Iceberg type and, for Iceberg strings the sink
//! renders from special PostgreSQL types (`batch::other_text`), by the PostgreSQL type.

use cdc_model::{
    TIMESTAMPTZ_INFINITY, TIMESTAMPTZ_NEG_INFINITY, TIMESTAMP_INFINITY, TIMESTAMP_NEG_INFINITY,
};
use iceberg::spec::PrimitiveType;

/// `date` `infinity` / `-infinity` as the sink writes them: Debezium's streaming constants
/// (PostgreSQL's `DATEVAL_NOBEGIN` rebased on 1970) and its snapshot (pgjdbc) constants.
const DATE_INFINITY: [i32; 2] = [i32::MIN + 10_956, -622_191_234];
const DATE_NEG_INFINITY: [i32; 2] = [i32::MIN + 10_957, -625_821_272];

/// PostgreSQL types whose text output the sink stores unchanged in an Iceberg string.
const VERBATIM_TYPES: [&str; 22] = [
    "text",
    "varchar",
    "bpchar",
    "char",
    "name",
    "citext",
    "json",
    "jsonb",
    "xml",
    "uuid",
    "inet",
    "cidr",
    "macaddr",
    "macaddr8",
    "ltree",
    "tsvector",
    "int4range",
    "int8range",
    "numrange",
    "tsrange",
    "tstzrange",
    "daterange",
];

/// How a column is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Bool,
    /// int, long (and `oid`).
    Int,
    Float,
    Double,
    /// Iceberg decimal at `scale`: compared as the normalised number (read as numeric from
    /// `money`).
    Decimal {
        scale: i8,
        money: bool,
    },
    /// Iceberg string holding a variable-scale numeric: compared as the normalised number
    /// (Debezium may drop trailing fractional zeros).
    NumericText,
    /// Iceberg string holding PostgreSQL's text output (numeric text for `money`).
    Text {
        money: bool,
    },
    /// Iceberg string `HH:MM:SS.ffffff` (time) or `…Z` in UTC (timetz).
    Clock {
        utc: bool,
    },
    /// Iceberg string `P<months>M<days>DT<seconds>S`: compared as Debezium's `MicroDuration`
    /// (what the default `interval.handling.mode=numeric` keeps of an interval).
    Interval,
    Binary,
    Date,
    Timestamp,
    TimestampTz,
}

/// The PostgreSQL side of a column: base type name (domains resolved) and whether it is an
/// array or an enum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PgColumnType {
    pub name: String,
    pub is_array: bool,
    pub is_enum: bool,
}

impl Kind {
    /// The kind of a column stored as `iceberg` whose source type is `pg`, or why it cannot be
    /// compared.
    pub(crate) fn choose(iceberg: &PrimitiveType, pg: &PgColumnType) -> Result<Kind, String> {
        let name = pg.name.as_str();
        let kind = match (iceberg, name) {
            _ if pg.is_array => None,
            (PrimitiveType::Boolean, "bool") => Some(Kind::Bool),
            (PrimitiveType::Int | PrimitiveType::Long, "int2" | "int4" | "int8" | "oid") => {
                Some(Kind::Int)
            }
            (PrimitiveType::Float, "float4") => Some(Kind::Float),
            (PrimitiveType::Double, "float8" | "numeric") => Some(Kind::Double),
            (PrimitiveType::Decimal { scale, .. }, "numeric" | "money") => {
                i8::try_from(*scale).ok().map(|scale| Kind::Decimal {
                    scale,
                    money: name == "money",
                })
            }
            (PrimitiveType::String, "numeric") => Some(Kind::NumericText),
            (PrimitiveType::String, "money") => Some(Kind::Text { money: true }),
            (PrimitiveType::String, "time") => Some(Kind::Clock { utc: false }),
            (PrimitiveType::String, "timetz") => Some(Kind::Clock { utc: true }),
            (PrimitiveType::String, "interval") => Some(Kind::Interval),
            (PrimitiveType::String, _) if pg.is_enum || VERBATIM_TYPES.contains(&name) => {
                Some(Kind::Text { money: false })
            }
            (PrimitiveType::Binary, "bytea") => Some(Kind::Binary),
            (PrimitiveType::Date, "date") => Some(Kind::Date),
            (PrimitiveType::Timestamp, "timestamp") => Some(Kind::Timestamp),
            (PrimitiveType::Timestamptz, "timestamptz") => Some(Kind::TimestampTz),
            _ => None,
        };
        kind.ok_or_else(|| {
            let array = if pg.is_array { "[]" } else { "" };
            format!(
                "PostgreSQL type {name}{array} stored as Iceberg {iceberg} cannot be verified yet \
                 (supported: integers, bool, numeric, float4/8, money, text-like types, json/jsonb, \
                 uuid, enums, bytea, date, time/timetz, timestamp/timestamptz, interval)"
            )
        })
    }

    /// The select-list expression for quoted column `col` whose text output [`Kind::parse_pg`]
    /// reads. Requires PostgreSQL 14+ (`extract` returning `numeric`).
    pub(crate) fn select_expr(self, col: &str) -> String {
        let epoch_micros = |c: &str| format!("(extract(epoch from {c}) * 1000000)::int8");
        match self {
            Kind::Text { money: true } | Kind::Decimal { money: true, .. } => {
                format!("{col}::numeric")
            }
            Kind::Clock { .. } => epoch_micros(col),
            Kind::Interval => format!(
                "(extract(year from {col}) * 12 + extract(month from {col}))::int8::text \
                 || ' ' || extract(day from {col})::int8::text || ' ' \
                 || ((extract(hour from {col}) * 3600 + extract(minute from {col}) * 60) * 1000000 \
                  + extract(microseconds from {col}))::int8::text"
            ),
            Kind::Date => format!(
                "CASE WHEN isfinite({col}) THEN ({col} - DATE '1970-01-01')::text \
                 ELSE {col}::text END"
            ),
            Kind::Timestamp | Kind::TimestampTz => format!(
                "CASE WHEN isfinite({col}) THEN {}::text ELSE {col}::text END",
                epoch_micros(col)
            ),
            _ => col.to_owned(),
        }
    }

    /// Canonical form of the PostgreSQL text `text` of [`Kind::select_expr`].
    pub(crate) fn parse_pg(self, text: &str) -> Result<Canon, String> {
        let bad = || format!("cannot read PostgreSQL value {text:?} as {self:?}");
        let int = |t: &str| t.parse::<i64>().map_err(|_| bad());
        Ok(match self {
            Kind::Bool => match text {
                "t" => Canon::Bool(true),
                "f" => Canon::Bool(false),
                _ => return Err(bad()),
            },
            Kind::Int => Canon::Int(int(text)?),
            Kind::Float => float_bits(text.parse::<f32>().map_err(|_| bad())?),
            Kind::Double => double_bits(text.parse::<f64>().map_err(|_| bad())?),
            Kind::Decimal { .. } | Kind::NumericText => match normalise_decimal(text) {
                Some(n) => Canon::Text(n),
                // NaN / ±Infinity have no Iceberg decimal: never equal to a stored value.
                None => Canon::Special(text.to_owned()),
            },
            Kind::Text { .. } => Canon::Text(text.to_owned()),
            Kind::Clock { utc } => Canon::Text(clock_text(int(text)?, utc)),
            Kind::Interval => {
                let mut parts = text.split(' ');
                let mut next = || parts.next().ok_or_else(bad).and_then(int);
                let (months, days, micros) = (next()?, next()?, next()?);
                let months = i32::try_from(months).map_err(|_| bad())?;
                let days = i32::try_from(days).map_err(|_| bad())?;
                Canon::Int(cdc_model::debezium::micro_duration(months, days, micros))
            }
            Kind::Binary => Canon::Bytes(parse_bytea_hex(text).ok_or_else(bad)?),
            Kind::Date | Kind::Timestamp | Kind::TimestampTz => match text {
                "infinity" => Canon::Special("infinity".into()),
                "-infinity" => Canon::Special("-infinity".into()),
                _ => Canon::Int(int(text)?),
            },
        })
    }
}

/// A value in canonical form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Canon {
    Null,
    Bool(bool),
    Int(i64),
    /// IEEE bits, NaN canonicalised.
    F32(u32),
    F64(u64),
    Text(String),
    Bytes(Vec<u8>),
    /// Values with no ordinary form: `infinity`, `-infinity`, numeric `NaN`.
    Special(String),
}

impl Canon {
    /// Appends a self-delimiting encoding (tag, length, payload) to `out`.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        let mut tagged = |tag: u8, payload: &[u8]| {
            out.push(tag);
            out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
            out.extend_from_slice(payload);
        };
        match self {
            Canon::Null => tagged(0, &[]),
            Canon::Bool(b) => tagged(1, &[u8::from(*b)]),
            Canon::Int(i) => tagged(2, &i.to_le_bytes()),
            Canon::F32(b) => tagged(3, &b.to_le_bytes()),
            Canon::F64(b) => tagged(4, &b.to_le_bytes()),
            Canon::Text(s) => tagged(5, s.as_bytes()),
            Canon::Bytes(b) => tagged(6, b),
            Canon::Special(s) => tagged(7, s.as_bytes()),
        }
    }
}

impl std::fmt::Display for Canon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Canon::Null => f.write_str("null"),
            Canon::Bool(b) => write!(f, "{b}"),
            Canon::Int(i) => write!(f, "{i}"),
            Canon::F32(b) => write!(f, "{}", f32::from_bits(*b)),
            Canon::F64(b) => write!(f, "{}", f64::from_bits(*b)),
            Canon::Text(s) | Canon::Special(s) => write!(f, "{s:?}"),
            Canon::Bytes(b) => {
                f.write_str("\\x")?;
                b.iter().try_for_each(|x| write!(f, "{x:02x}"))
            }
        }
    }
}

pub(crate) fn float_bits(v: f32) -> Canon {
    Canon::F32(if v.is_nan() {
        f32::NAN.to_bits()
    } else {
        v.to_bits()
    })
}

pub(crate) fn double_bits(v: f64) -> Canon {
    Canon::F64(if v.is_nan() {
        f64::NAN.to_bits()
    } else {
        v.to_bits()
    })
}

/// `-0012.3400` → `-12.34`; `0.000` → `0`. `None` when `text` is not a plain decimal.
pub(crate) fn normalise_decimal(text: &str) -> Option<String> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !all_digits(int) || !all_digits(frac) {
        return None;
    }
    let int = int.trim_start_matches('0');
    let frac = frac.trim_end_matches('0');
    let mut out = String::with_capacity(int.len() + frac.len() + 3);
    if negative && !(int.is_empty() && frac.is_empty()) {
        out.push('-');
    }
    out.push_str(if int.is_empty() { "0" } else { int });
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    Some(out)
}

/// The decimal text of `unscaled` × 10^-`scale`, normalised.
pub(crate) fn decimal_text(unscaled: i128, scale: i8) -> String {
    let digits = unscaled.unsigned_abs().to_string();
    let sign = if unscaled < 0 { "-" } else { "" };
    let text = if scale <= 0 {
        format!(
            "{sign}{digits}{}",
            "0".repeat(usize::from(scale.unsigned_abs()))
        )
    } else {
        let scale = usize::from(scale.unsigned_abs());
        let padded = format!("{digits:0>width$}", width = scale + 1);
        let (i, f) = padded.split_at(padded.len() - scale);
        format!("{sign}{i}.{f}")
    };
    normalise_decimal(&text).unwrap_or(text)
}

/// `HH:MM:SS.ffffff` of `micros` after midnight (wrapped into a day for UTC times), with a
/// trailing `Z` when `utc`, as the sink writes time and timetz.
pub(crate) fn clock_text(micros: i64, utc: bool) -> String {
    let micros = if utc {
        micros.rem_euclid(86_400_000_000)
    } else {
        micros
    };
    let secs = micros.div_euclid(1_000_000);
    format!(
        "{:02}:{:02}:{:02}.{:06}{}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        micros.rem_euclid(1_000_000),
        if utc { "Z" } else { "" }
    )
}

/// The sink's interval text `P<months>M<days>DT<seconds>S` → `(months, days, micros)`.
pub(crate) fn parse_interval_text(text: &str) -> Option<(i32, i32, i64)> {
    let rest = text.strip_prefix('P')?;
    let (months, rest) = rest.split_once('M')?;
    let (days, rest) = rest.split_once("DT")?;
    let seconds = rest.strip_suffix('S')?;
    let (negative, seconds) = match seconds.strip_prefix('-') {
        Some(s) => (true, s),
        None => (false, seconds),
    };
    let (whole, frac) = seconds.split_once('.').unwrap_or((seconds, ""));
    if frac.len() > 6 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let frac: i64 = format!("{frac:0<6}").parse().ok()?;
    let micros = whole.checked_mul(1_000_000)?.checked_add(frac)?;
    Some((
        months.parse().ok()?,
        days.parse().ok()?,
        if negative { -micros } else { micros },
    ))
}

/// Canonical form of a stored date (days since the epoch), mapping the sink's infinities.
pub(crate) fn date_canon(days: i32) -> Canon {
    if DATE_INFINITY.contains(&days) {
        Canon::Special("infinity".into())
    } else if DATE_NEG_INFINITY.contains(&days) {
        Canon::Special("-infinity".into())
    } else {
        Canon::Int(i64::from(days))
    }
}

/// Canonical form of stored timestamp micros, mapping the sink's infinities.
pub(crate) fn timestamp_canon(micros: i64, with_zone: bool) -> Canon {
    let (pos, neg) = if with_zone {
        (TIMESTAMPTZ_INFINITY, TIMESTAMPTZ_NEG_INFINITY)
    } else {
        (TIMESTAMP_INFINITY, TIMESTAMP_NEG_INFINITY)
    };
    if micros == pos {
        Canon::Special("infinity".into())
    } else if micros == neg {
        Canon::Special("-infinity".into())
    } else {
        Canon::Int(micros)
    }
}

/// `\x0102ff` → bytes.
fn parse_bytea_hex(text: &str) -> Option<Vec<u8>> {
    let hex = text.strip_prefix("\\x")?.as_bytes();
    if hex.len() % 2 != 0 {
        return None;
    }
    hex.chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok())
        .collect()
}

#[cfg(test)]
#[path = "canonical_tests.rs"]
mod tests;
