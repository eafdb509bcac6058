//! Calendar conversions between the model's integer temporal values and ISO-8601 text.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

const EPOCH: NaiveDate = match NaiveDate::from_ymd_opt(1970, 1, 1) {
    Some(d) => d,
    None => panic!("1970-01-01 is a valid date"),
};

/// Days since 1970-01-01 of a calendar date.
pub fn days_from_date(date: NaiveDate) -> i32 {
    // A NaiveDate spans roughly ±262,000 years, so the day count always fits in i32.
    date.signed_duration_since(EPOCH).num_days() as i32
}

/// Calendar date of a day count; `None` outside chrono's range.
pub fn date_from_days(days: i32) -> Option<NaiveDate> {
    EPOCH.checked_add_signed(chrono::TimeDelta::try_days(i64::from(days))?)
}

/// Microseconds since the epoch of a wall-clock timestamp read as UTC.
pub fn micros_from_naive(ts: NaiveDateTime) -> i64 {
    ts.and_utc().timestamp_micros()
}

/// Wall-clock timestamp of a microsecond count.
pub fn naive_from_micros(micros: i64) -> Option<NaiveDateTime> {
    DateTime::<Utc>::from_timestamp_micros(micros).map(|t| t.naive_utc())
}

/// Debezium `io.debezium.time.ZonedTimestamp` text: UTC, `Z` suffix, exactly `precision`
/// fractional digits when `precision > 0`, none otherwise.
pub fn zoned_timestamp_text(micros: i64, precision: u8) -> Option<String> {
    let ts = DateTime::<Utc>::from_timestamp_micros(micros)?;
    let base = ts.format("%Y-%m-%dT%H:%M:%S").to_string();
    if precision == 0 {
        return Some(format!("{base}Z"));
    }
    let frac = format!("{:06}", micros.rem_euclid(1_000_000));
    let digits = usize::from(precision.min(6));
    Some(format!("{base}.{}Z", &frac[..digits]))
}

/// Debezium `io.debezium.time.ZonedTime` text of a UTC time of day (Java's
/// `ISO_OFFSET_TIME`): `HH:MM:SS`, the fraction without trailing zeros, `Z`.
pub fn zoned_time_text(micros: i64) -> Option<String> {
    if !(0..86_400_000_000).contains(&micros) {
        return None;
    }
    let secs = micros / 1_000_000;
    let frac = micros % 1_000_000;
    let mut text = format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    if frac != 0 {
        let digits = format!("{frac:06}");
        text.push('.');
        text.push_str(digits.trim_end_matches('0'));
    }
    text.push('Z');
    Some(text)
}

/// Parses `HH:MM:SS[.f]Z` (see [`zoned_time_text`]) into microseconds past midnight.
pub fn parse_zoned_time(text: &str) -> Option<i64> {
    let t = text.strip_suffix('Z')?;
    let (hms, frac) = match t.split_once('.') {
        Some((a, b)) => (a, b),
        None => (t, ""),
    };
    let mut parts = hms.split(':');
    let h: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let s: i64 = parts.next().unwrap_or("0").parse().ok()?;
    if frac.len() > 6 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac_us: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<6}").parse().ok()?
    };
    Some(((h * 60 + m) * 60 + s) * 1_000_000 + frac_us)
}

/// Parses RFC 3339 text (any offset) into microseconds since the epoch.
pub fn parse_instant_micros(text: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc).timestamp_micros())
        .or_else(|| {
            // Years before 0 or after 9999 (`-0043-…`, `+12345-…`), UTC only.
            NaiveDateTime::parse_from_str(text.strip_suffix('Z')?, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(micros_from_naive)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        let d = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
        assert_eq!(days_from_date(d), 19782);
        assert_eq!(date_from_days(19782), Some(d));
        assert_eq!(
            days_from_date(NaiveDate::from_ymd_opt(1969, 12, 31).unwrap()),
            -1
        );
    }

    #[test]
    fn zoned_timestamp_keeps_column_precision() {
        let micros = 1_709_207_101_500_000; // 2024-02-29T11:45:01.5Z
        assert_eq!(
            zoned_timestamp_text(micros, 6).unwrap(),
            "2024-02-29T11:45:01.500000Z"
        );
        assert_eq!(
            zoned_timestamp_text(micros, 3).unwrap(),
            "2024-02-29T11:45:01.500Z"
        );
        assert_eq!(
            zoned_timestamp_text(1_709_214_301_000_000, 0).unwrap(),
            "2024-02-29T13:45:01Z"
        );
        assert_eq!(
            parse_instant_micros("2024-02-29T13:45:01.5+02:00"),
            Some(micros)
        );
        assert_eq!(
            zoned_timestamp_text(-1, 6).unwrap(),
            "1969-12-31T23:59:59.999999Z"
        );
    }
}
