//! Dates, times and timestamps as Debezium's MySQL connector converts them.
//!
//! - A date whose year, month or day is zero (`0000-00-00`, `2020-00-15`) becomes null, as
//!   Debezium's binlog row deserializers do (a NOT NULL column then shows the type's zero).
//! - `enable.time.adjuster`: years 0–69 are read as 2000–2069, 70–99 as 1970–1999.
//! - TIME is a signed duration (MySQL allows −838:59:59 … 838:59:59).
//! - TIMESTAMP is an instant; the zero timestamp (epoch second 0) becomes null.

use chrono::NaiveDate;

/// A calendar date-time as MySQL holds it (fields unchecked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Parts {
    pub year: u32,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub micros: u32,
}

/// Debezium's `adjustTemporal` for two-digit years.
pub(crate) fn adjust_year(year: u32, enabled: bool) -> u32 {
    match year {
        0..=69 if enabled => year + 2000,
        70..=99 if enabled => year + 1900,
        _ => year,
    }
}

impl Parts {
    pub(crate) fn date(year: u32, month: u32, day: u32) -> Parts {
        Parts {
            year,
            month,
            day,
            hour: 0,
            minute: 0,
            second: 0,
            micros: 0,
        }
    }

    /// True for MySQL's zero / partial-zero dates.
    fn is_zero_date(&self) -> bool {
        self.year == 0 || self.month == 0 || self.day == 0
    }

    fn naive_date(&self, adjust: bool) -> Result<NaiveDate, String> {
        let year = adjust_year(self.year, adjust);
        NaiveDate::from_ymd_opt(year as i32, self.month, self.day).ok_or_else(|| {
            format!(
                "{:04}-{:02}-{:02} is not a calendar date",
                year, self.month, self.day
            )
        })
    }

    /// Days since the epoch; `None` for a zero date.
    pub(crate) fn epoch_days(&self, adjust: bool) -> Result<Option<i32>, String> {
        if self.is_zero_date() {
            return Ok(None);
        }
        Ok(Some(cdc_model::time::days_from_date(
            self.naive_date(adjust)?,
        )))
    }

    /// Microseconds since the epoch of the wall-clock time read as UTC; `None` for a zero
    /// date.
    pub(crate) fn epoch_micros(&self, adjust: bool) -> Result<Option<i64>, String> {
        if self.is_zero_date() {
            return Ok(None);
        }
        let date = self.naive_date(adjust)?;
        let ts = date
            .and_hms_micro_opt(self.hour, self.minute, self.second, self.micros)
            .ok_or_else(|| {
                format!(
                    "{:02}:{:02}:{:02}.{:06} is not a time of day",
                    self.hour, self.minute, self.second, self.micros
                )
            })?;
        Ok(Some(cdc_model::time::micros_from_naive(ts)))
    }

    /// Parses `YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS[.ffffff]` (also with `T`).
    pub(crate) fn parse(text: &str) -> Option<Parts> {
        let (date, time) = match text.split_once([' ', 'T']) {
            Some((d, t)) => (d, Some(t)),
            None => (text, None),
        };
        let mut d = date.splitn(3, '-');
        let year = d.next()?.parse().ok()?;
        let month = d.next()?.parse().ok()?;
        let day = d.next()?.parse().ok()?;
        let mut parts = Parts::date(year, month, day);
        if let Some(time) = time {
            let (hms, micros) = split_fraction(time)?;
            let mut t = hms.splitn(3, ':');
            parts.hour = t.next()?.parse().ok()?;
            parts.minute = t.next()?.parse().ok()?;
            parts.second = t.next()?.parse().ok()?;
            parts.micros = micros;
        }
        Some(parts)
    }
}

/// `HH:MM:SS` and the fraction as microseconds (`.5` → 500000).
fn split_fraction(text: &str) -> Option<(&str, u32)> {
    match text.split_once('.') {
        None => Some((text, 0)),
        Some((whole, frac)) => {
            if frac.is_empty() || frac.len() > 6 || !frac.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            Some((whole, format!("{frac:0<6}").parse().ok()?))
        }
    }
}

/// Microseconds of a signed MySQL duration.
pub(crate) fn time_micros(
    negative: bool,
    hours: u64,
    minutes: u64,
    seconds: u64,
    micros: u64,
) -> i64 {
    let total = ((hours * 60 + minutes) * 60 + seconds) as i64 * 1_000_000 + micros as i64;
    if negative {
        -total
    } else {
        total
    }
}

/// Parses MySQL TIME text: `[-]H…H:MM:SS[.ffffff]`.
pub(crate) fn parse_time(text: &str) -> Option<i64> {
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (hms, micros) = split_fraction(body)?;
    let mut t = hms.splitn(3, ':');
    let hours: u64 = t.next()?.parse().ok()?;
    let minutes: u64 = t.next()?.parse().ok()?;
    let seconds: u64 = t.next().unwrap_or("0").parse().ok()?;
    if minutes > 59 || seconds > 59 {
        return None;
    }
    Some(time_micros(
        negative,
        hours,
        minutes,
        seconds,
        u64::from(micros),
    ))
}

/// Parses the binlog's TIMESTAMP2 form `seconds[.ffffff]` into microseconds since the
/// epoch; `None` (null) for MySQL's zero timestamp.
pub(crate) fn parse_epoch_seconds(text: &str) -> Result<Option<i64>, String> {
    let bad = || format!("{text:?} is not epoch seconds");
    let (whole, micros) = split_fraction(text).ok_or_else(bad)?;
    let seconds: i64 = whole.parse().map_err(|_| bad())?;
    if seconds == 0 && micros == 0 {
        return Ok(None);
    }
    Ok(Some(seconds * 1_000_000 + i64::from(micros)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_dates_are_null_and_two_digit_years_adjust() {
        assert_eq!(
            Parts::parse("0000-00-00").unwrap().epoch_days(true),
            Ok(None)
        );
        assert_eq!(
            Parts::parse("2020-00-15").unwrap().epoch_days(true),
            Ok(None)
        );
        assert_eq!(
            Parts::parse("2018-06-20").unwrap().epoch_days(true),
            Ok(Some(17702))
        );
        // 0069-01-01 → 2069-01-01, 0070-01-01 → 1970-01-01 (adjuster on), else kept.
        assert_eq!(Parts::date(70, 1, 1).epoch_days(true), Ok(Some(0)));
        assert_eq!(Parts::date(69, 1, 1).epoch_days(true), Ok(Some(36160)));
        assert_ne!(Parts::date(70, 1, 1).epoch_days(false), Ok(Some(0)));
        assert!(Parts::date(2021, 2, 30).epoch_days(true).is_err());
        let dt = Parts::parse("2018-06-20 06:37:03.5").unwrap();
        assert_eq!(dt.epoch_micros(true), Ok(Some(1_529_476_623_500_000)));
        assert!(Parts::parse("2018-06-20 06:37").is_none());
    }

    #[test]
    fn times_are_signed_durations() {
        assert_eq!(parse_time("838:59:59"), Some(3_020_399_000_000));
        assert_eq!(parse_time("-00:00:01.5"), Some(-1_500_000));
        assert_eq!(parse_time("12:30:00.000123"), Some(45_000_000_123));
        assert_eq!(parse_time("12:60:00"), None);
        assert_eq!(parse_epoch_seconds("0"), Ok(None));
        assert_eq!(
            parse_epoch_seconds("1704164645.500000"),
            Ok(Some(1_704_164_645_500_000))
        );
        assert!(parse_epoch_seconds("x").is_err());
    }
}
