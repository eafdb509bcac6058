//! Temporal text output under `DateStyle=ISO`, `TimeZone=UTC`, `IntervalStyle=postgres`,
//! with the special values Debezium gives `infinity`, `-infinity` and BC dates.

use cdc_model::time::{days_from_date, micros_from_naive};
use cdc_model::{
    Value, TIMESTAMPTZ_INFINITY, TIMESTAMPTZ_NEG_INFINITY, TIMESTAMP_INFINITY,
    TIMESTAMP_NEG_INFINITY,
};
use chrono::{NaiveDate, NaiveDateTime};

use super::Origin;

/// Streamed `date` `-infinity`: PostgreSQL's `DATEVAL_NOBEGIN` (i32::MIN days after
/// 2000-01-01) rebased on 1970 (Debezium's `NEGATIVE_INFINITY_LOCAL_DATE`).
const DATE_NEG_INFINITY_STREAM: i32 = i32::MIN + 10_957;
/// Streamed `date` `infinity` (Debezium's `POSITIVE_INFINITY_LOCAL_DATE`, one day earlier).
const DATE_INFINITY_STREAM: i32 = i32::MIN + 10_956;
/// Snapshot `date` `-infinity` as real Debezium 3.6.3 emits it (pgjdbc's
/// `DATE_NEGATIVE_INFINITY` through `java.sql.Date.toLocalDate`).
const DATE_NEG_INFINITY_SNAPSHOT: i32 = -625_821_272;
/// Snapshot `date` `infinity` as real Debezium 3.6.3 emits it (pgjdbc's
/// `DATE_POSITIVE_INFINITY` through `java.sql.Date.toLocalDate`).
const DATE_INFINITY_SNAPSHOT: i32 = -622_191_234;

/// Splits a trailing ` BC` off, returning the text without it and whether it was there.
fn split_era(text: &str) -> (&str, bool) {
    match text.strip_suffix(" BC") {
        Some(t) => (t, true),
        None => (text, false),
    }
}

/// Parses year-first text, first turning a BC year into its proleptic number (`0044 BC` is
/// -43, `0001 BC` is 0).
fn with_year(text: &str, bc: bool, parse: impl Fn(&str) -> Option<i64>) -> Option<i64> {
    if !bc {
        return parse(text);
    }
    let (year, rest) = text.split_at(text.find('-')?);
    let year: i64 = 1 - year.parse::<i64>().ok()?;
    let sign = if year < 0 { "-" } else { "" };
    parse(&format!("{sign}{:04}{rest}", year.abs()))
}

/// `2024-02-29`, `0044-03-15 BC`, `12345-06-07`, `infinity` → days since 1970-01-01.
pub(super) fn date(text: &str, origin: Origin) -> Option<i32> {
    match (text, origin) {
        ("infinity", Origin::Stream) => return Some(DATE_INFINITY_STREAM),
        ("-infinity", Origin::Stream) => return Some(DATE_NEG_INFINITY_STREAM),
        ("-infinity", Origin::Snapshot) => return Some(DATE_NEG_INFINITY_SNAPSHOT),
        ("infinity", Origin::Snapshot) => return Some(DATE_INFINITY_SNAPSHOT),
        _ => {}
    }
    let (body, bc) = split_era(text);
    let (y, rest) = body.split_at(body.find('-')?);
    let mut year: i32 = y.parse().ok()?;
    if bc {
        // JDBC (snapshot) drops the era; the streaming parser keeps it (proleptic year).
        year = match origin {
            Origin::Snapshot => year,
            Origin::Stream => 1 - year,
        };
    }
    let mut parts = rest[1..].split('-');
    let month: u32 = parts.next()?.parse().ok()?;
    let day: u32 = parts.next()?.parse().ok()?;
    Some(days_from_date(NaiveDate::from_ymd_opt(year, month, day)?))
}

/// `HH:MM:SS[.ffffff]` (24:00:00 allowed) → microseconds past midnight.
pub(super) fn time(text: &str) -> Option<i64> {
    let (hms, frac) = match text.split_once('.') {
        Some((a, b)) => (a, b),
        None => (text, ""),
    };
    let mut parts = hms.split(':');
    let h: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let s: i64 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || frac.len() > 6 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let us: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<6}").parse().ok()?
    };
    Some(((h * 60 + m) * 60 + s) * 1_000_000 + us)
}

/// Position of the UTC offset (`+05`, `-03:30`) at the end of a time or timestamp text.
fn offset_start(text: &str, from: usize) -> Option<usize> {
    text.char_indices()
        .skip(from)
        .filter(|(_, c)| *c == '+' || *c == '-')
        .map(|(i, _)| i)
        .last()
}

/// `+05`, `-03:30`, `+05:30:15` → seconds east of UTC.
fn offset_seconds(offset: &str) -> Option<i64> {
    let sign: i64 = if offset.starts_with('-') { -1 } else { 1 };
    let mut total = 0;
    for (i, part) in offset[1..].split(':').enumerate() {
        let v: i64 = part.parse().ok()?;
        total += v * [3600, 60, 1].get(i)?;
    }
    Some(sign * total)
}

/// `11:45:01.5+02` → microseconds past midnight at UTC.
pub(super) fn timetz(text: &str) -> Option<i64> {
    let split = offset_start(text, 1)?;
    let (local, offset) = text.split_at(split);
    let local = time(local)?;
    let utc = local - offset_seconds(offset)? * 1_000_000;
    Some(utc.rem_euclid(86_400_000_000))
}

fn naive_micros(text: &str) -> Option<i64> {
    // chrono reads years beyond four digits only with an explicit sign.
    let year_digits = text.find('-').unwrap_or(0);
    let signed;
    let text = if year_digits > 4 && text.as_bytes()[0].is_ascii_digit() {
        signed = format!("+{text}");
        signed.as_str()
    } else {
        text
    };
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
        .ok()
        .map(micros_from_naive)
}

/// `2024-02-29 11:45:01.123456`, `… BC`, `infinity` → µs since the epoch (wall clock).
pub(super) fn timestamp(text: &str) -> Option<i64> {
    match text {
        "infinity" => return Some(TIMESTAMP_INFINITY),
        "-infinity" => return Some(TIMESTAMP_NEG_INFINITY),
        _ => {}
    }
    let (body, bc) = split_era(text);
    with_year(body, bc, naive_micros)
}

/// `2024-02-29 11:45:01.5+00`, `0044-03-15 12:00:00+00 BC`, `infinity` → µs since the epoch.
pub(super) fn timestamptz(text: &str) -> Option<i64> {
    match text {
        "infinity" => return Some(TIMESTAMPTZ_INFINITY),
        "-infinity" => return Some(TIMESTAMPTZ_NEG_INFINITY),
        _ => {}
    }
    let (body, bc) = split_era(text);
    let date_end = body.find(' ')?;
    let split = offset_start(body, date_end)?;
    let (local, offset) = body.split_at(split);
    let local = with_year(local, bc, naive_micros)?;
    Some(local - offset_seconds(offset)? * 1_000_000)
}

/// Postgres-style interval text (`1 year 2 mons 3 days 04:05:06.78`, `-3 days -00:00:01.5`,
/// `00:00:00`) → months, days, microseconds.
pub(super) fn interval(text: &str) -> Option<Value> {
    let mut months: i64 = 0;
    let mut days: i64 = 0;
    let mut micros: i64 = 0;
    let mut tokens = text.split_whitespace();
    while let Some(token) = tokens.next() {
        if token.contains(':') {
            let (negative, t) = match token.strip_prefix('-') {
                Some(t) => (true, t),
                None => (false, token.strip_prefix('+').unwrap_or(token)),
            };
            // The hours field may exceed 24.
            let (h, rest) = t.split_once(':')?;
            let h: i64 = h.parse().ok()?;
            let ms = time(&format!("00:{rest}"))?;
            let total = h * 3_600_000_000 + ms;
            micros += if negative { -total } else { total };
            continue;
        }
        let n: i64 = token.parse().ok()?;
        match tokens.next()? {
            "year" | "years" => months += n * 12,
            "mon" | "mons" => months += n,
            "day" | "days" => days += n,
            _ => return None,
        }
    }
    Some(Value::Interval {
        months: i32::try_from(months).ok()?,
        days: i32::try_from(days).ok()?,
        micros,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(date("2024-02-29", Origin::Stream), Some(19782));
        assert_eq!(date("-infinity", Origin::Stream), Some(-2_147_472_691));
        assert_eq!(date("-infinity", Origin::Snapshot), Some(-625_821_272));
        assert_eq!(date("0001-01-01 BC", Origin::Snapshot), Some(-719_162));
        assert_eq!(date("0001-01-01 BC", Origin::Stream), Some(-719_528));
    }

    #[test]
    fn times_and_timestamps() {
        assert_eq!(time("11:45:01.123456"), Some(42_301_123_456));
        assert_eq!(time("23:59:59.999"), Some(86_399_999_000));
        assert_eq!(timetz("11:45:01.5+02"), Some(35_101_500_000));
        assert_eq!(timetz("00:00:00-11:30"), Some(41_400_000_000));
        assert_eq!(
            timestamp("2024-02-29 11:45:01.123456"),
            Some(1_709_207_101_123_456)
        );
        assert_eq!(
            timestamp("12345-06-07 08:09:10.5"),
            Some(327_416_976_550_500_000)
        );
        assert_eq!(timestamp("infinity"), Some(TIMESTAMP_INFINITY));
        assert_eq!(
            timestamptz("2024-02-29 06:15:01.5-05:30"),
            Some(1_709_207_101_500_000)
        );
        // 0044-03-15 12:00:00 BC = proleptic year -43
        let bc = timestamptz("0044-03-15 12:00:00+00 BC").unwrap();
        assert_eq!(
            cdc_model::time::zoned_timestamp_text(bc, 3).unwrap(),
            "-0043-03-15T12:00:00.000Z"
        );
    }

    #[test]
    fn intervals() {
        assert_eq!(
            interval("1 year 2 mons 3 days 04:05:06.78"),
            Some(Value::Interval {
                months: 14,
                days: 3,
                micros: 14_706_780_000
            })
        );
        assert_eq!(
            interval("-3 days -00:00:01.5"),
            Some(Value::Interval {
                months: 0,
                days: -3,
                micros: -1_500_000
            })
        );
        assert_eq!(
            interval("100:00:00"),
            Some(Value::Interval {
                months: 0,
                days: 0,
                micros: 360_000_000_000
            })
        );
    }
}
