//! Typed column values.

use num_bigint::BigInt;

/// A decimal number: `unscaled × 10^-scale`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decimal {
    pub unscaled: BigInt,
    pub scale: u32,
}

impl Decimal {
    /// Parses plain decimal text (`-12.340`, `7`, `.5`). Returns `None` for anything else,
    /// including `NaN`, infinities and exponents.
    pub fn parse(text: &str) -> Option<Decimal> {
        let (negative, digits) = match text.as_bytes().first()? {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        let (int_part, frac_part) = match digits.split_once('.') {
            Some((i, f)) => (i, f),
            None => (digits, ""),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return None;
        }
        if !int_part
            .bytes()
            .chain(frac_part.bytes())
            .all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let mut all = String::with_capacity(int_part.len() + frac_part.len() + 1);
        if negative {
            all.push('-');
        }
        all.push_str(int_part);
        all.push_str(frac_part);
        if all == "-" || all.is_empty() {
            return None;
        }
        let unscaled: BigInt = all.parse().ok()?;
        Some(Decimal {
            unscaled,
            scale: u32::try_from(frac_part.len()).ok()?,
        })
    }

    /// Parses decimal text with an optional exponent (`1.0E-7`, `6.78`, `-2e3`).
    pub fn parse_scientific(text: &str) -> Option<Decimal> {
        let (mantissa, exp) = match text.find(['e', 'E']) {
            Some(i) => (&text[..i], text[i + 1..].parse::<i64>().ok()?),
            None => (text, 0),
        };
        let d = Decimal::parse(mantissa)?;
        let scale = i64::from(d.scale) - exp;
        if scale >= 0 {
            Some(Decimal {
                unscaled: d.unscaled,
                scale: u32::try_from(scale).ok()?,
            })
        } else {
            let factor = BigInt::from(10u32).pow(u32::try_from(-scale).ok()?);
            Some(Decimal {
                unscaled: d.unscaled * factor,
                scale: 0,
            })
        }
    }

    /// Rescales to `scale` if that loses no digits; `None` otherwise.
    pub fn rescale(&self, scale: u32) -> Option<Decimal> {
        use std::cmp::Ordering;
        match scale.cmp(&self.scale) {
            Ordering::Equal => Some(self.clone()),
            Ordering::Greater => Some(Decimal {
                unscaled: &self.unscaled * BigInt::from(10u32).pow(scale - self.scale),
                scale,
            }),
            Ordering::Less => {
                let factor = BigInt::from(10u32).pow(self.scale - scale);
                let zero = BigInt::from(0);
                if &self.unscaled % &factor != zero {
                    return None;
                }
                Some(Decimal {
                    unscaled: &self.unscaled / factor,
                    scale,
                })
            }
        }
    }

    /// Rescales to `scale`, rounding half away from zero (Java's `RoundingMode.HALF_UP`).
    pub fn rescale_half_up(&self, scale: u32) -> Decimal {
        if scale >= self.scale {
            return self.rescale(scale).unwrap_or_else(|| self.clone());
        }
        let factor = BigInt::from(10u32).pow(self.scale - scale);
        let half = &factor / BigInt::from(2u32);
        let magnitude = BigInt::from(self.unscaled.magnitude().clone());
        let rounded = (magnitude + half) / factor;
        let unscaled = if self.unscaled.sign() == num_bigint::Sign::Minus {
            -rounded
        } else {
            rounded
        };
        Decimal { unscaled, scale }
    }

    /// Removes trailing fractional zeros (Debezium's `VariableScaleDecimal` form).
    pub fn strip_trailing_zeros(&self) -> Decimal {
        let ten = BigInt::from(10u32);
        let zero = BigInt::from(0);
        let mut d = self.clone();
        while d.scale > 0 && &d.unscaled % &ten == zero {
            d.unscaled /= &ten;
            d.scale -= 1;
        }
        d
    }
}

impl std::fmt::Display for Decimal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let digits = self.unscaled.magnitude().to_string();
        let sign = if self.unscaled.sign() == num_bigint::Sign::Minus {
            "-"
        } else {
            ""
        };
        let scale = self.scale as usize;
        if scale == 0 {
            return write!(f, "{sign}{digits}");
        }
        let padded = format!("{digits:0>width$}", width = scale + 1);
        let (i, frac) = padded.split_at(padded.len() - scale);
        write!(f, "{sign}{i}.{frac}")
    }
}

/// One column value. Which variant appears is decided by the column's
/// [`ColumnType`](crate::ColumnType): `Json` and `Uuid` columns hold `String`.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Boolean(bool),
    Int16(i16),
    Int32(i32),
    Int64(i64),
    Float32(f32),
    Float64(f64),
    Decimal(Decimal),
    String(String),
    Bytes(Vec<u8>),
    /// Days since 1970-01-01.
    Date(i32),
    /// Microseconds since 1970-01-01T00:00:00 of the wall clock (no zone).
    Timestamp(i64),
    /// Microseconds since the Unix epoch (an instant); [`TIMESTAMPTZ_INFINITY`] and
    /// [`TIMESTAMPTZ_NEG_INFINITY`] stand for PostgreSQL's `infinity` and `-infinity`.
    TimestampTz(i64),
    /// Microseconds past midnight.
    Time(i64),
    /// Microseconds past midnight, UTC.
    TimeTz(i64),
    /// A calendar interval. `micros` is the time part (it may exceed a day).
    Interval {
        months: i32,
        days: i32,
        micros: i64,
    },
    /// A decimal column holding `NaN` or an infinity (PostgreSQL `numeric`).
    SpecialDecimal(SpecialDecimal),
    /// String keys to optional string values, in source order (hstore).
    Map(Vec<(String, Option<String>)>),
    /// A 2-D point.
    Point {
        x: f64,
        y: f64,
    },
    /// Extended WKB as PostGIS writes it, with the SRID it carries (if any).
    Geometry {
        wkb: Vec<u8>,
        srid: Option<i32>,
    },
    /// Array elements (each possibly `Null`).
    Array(Vec<Value>),
    /// An unchanged TOASTed value the source did not send: rendered as
    /// `unavailable.value.placeholder` in the column's representation.
    Unavailable,
}

/// PostgreSQL `numeric` values that are not numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecialDecimal {
    NaN,
    PositiveInfinity,
    NegativeInfinity,
}

/// `Value::Timestamp` of PostgreSQL `infinity`, as Debezium represents it: pgjdbc's
/// `DATE_POSITIVE_INFINITY` (a millisecond constant) taken as microseconds.
pub const TIMESTAMP_INFINITY: i64 = 9_223_372_036_825_200_000;
/// `Value::Timestamp` of PostgreSQL `-infinity` (pgjdbc's `DATE_NEGATIVE_INFINITY` as µs).
pub const TIMESTAMP_NEG_INFINITY: i64 = -9_223_372_036_832_400_000;

/// `Value::TimestampTz` of PostgreSQL `infinity`.
pub const TIMESTAMPTZ_INFINITY: i64 = i64::MAX;
/// `Value::TimestampTz` of PostgreSQL `-infinity`.
pub const TIMESTAMPTZ_NEG_INFINITY: i64 = i64::MIN;

/// A row: one value per column, in table column order.
pub type Row = Vec<Value>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_parse_and_display_round_trip() {
        for text in ["0", "12345.67", "-0.05", "7", "-123.000", "0.001"] {
            assert_eq!(Decimal::parse(text).unwrap().to_string(), text);
        }
        assert_eq!(Decimal::parse(".5").unwrap().to_string(), "0.5");
        for bad in ["", "-", "NaN", "1e5", "Infinity", "1.2.3", "--1"] {
            assert!(Decimal::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn decimal_rescale_refuses_to_lose_digits() {
        let d = Decimal::parse("1.50").unwrap();
        assert_eq!(d.rescale(4).unwrap().to_string(), "1.5000");
        assert_eq!(d.rescale(1).unwrap().to_string(), "1.5");
        assert!(d.rescale(0).is_none());
        assert_eq!(d.strip_trailing_zeros().to_string(), "1.5");
    }
}
