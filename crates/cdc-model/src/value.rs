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
    /// Microseconds since the Unix epoch (an instant).
    TimestampTz(i64),
}

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
