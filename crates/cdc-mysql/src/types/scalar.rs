//! Conversions shared by the binlog and snapshot paths, so both give the same value.

use cdc_model::{ColumnType, Decimal, Value};
use num_bigint::BigInt;

use super::column::{Kind, MappedColumn};
use super::temporal::{self, Parts};
use super::ValueError;

impl MappedColumn {
    pub(crate) fn error(&self, problem: impl Into<String>) -> ValueError {
        ValueError {
            column: self.name.clone(),
            type_name: self.meta.type_name.clone(),
            problem: problem.into(),
        }
    }

    /// An integer value. Without `binlog_row_metadata=FULL` the binlog delivers unsigned
    /// columns sign-extended; a negative value of an unsigned column is read back as the
    /// unsigned number of the column's width, as Debezium's unsigned converters do.
    pub(crate) fn integer(&self, v: i128) -> Result<Value, ValueError> {
        let v = match self.kind {
            Kind::Integer {
                bytes,
                unsigned: true,
            } if v < 0 => v + (1i128 << (8 * u32::from(bytes))),
            _ => v,
        };
        let out_of_range = || self.error(format!("{v} is out of the column's range"));
        if let Kind::Integer { bytes, unsigned } = self.kind {
            let bits = 8 * u32::from(bytes);
            let (min, max) = if unsigned {
                (0, (1i128 << bits) - 1)
            } else {
                (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
            };
            if !(min..=max).contains(&v) {
                return Err(out_of_range());
            }
        }
        match (&self.kind, &self.ty) {
            (Kind::Boolean, _) => Ok(Value::Boolean(v != 0)),
            (Kind::Year, _) => self.year(u32::try_from(v).map_err(|_| out_of_range())?),
            (Kind::Enum(_), _) => self.enum_index(v),
            (Kind::Integer { .. }, ColumnType::Int16) => {
                Ok(Value::Int16(i16::try_from(v).map_err(|_| out_of_range())?))
            }
            (Kind::Integer { .. }, ColumnType::Int32) => {
                Ok(Value::Int32(i32::try_from(v).map_err(|_| out_of_range())?))
            }
            // BIGINT UNSIGNED in `long` mode wraps above 2^63 - 1, as in Debezium.
            (Kind::Integer { .. }, ColumnType::Int64) => match i64::try_from(v) {
                Ok(v) => Ok(Value::Int64(v)),
                Err(_) => Ok(Value::Int64(
                    u64::try_from(v).map_err(|_| out_of_range())? as i64
                )),
            },
            (
                Kind::Integer { .. },
                ColumnType::Decimal { .. } | ColumnType::ExactDecimal { .. },
            ) => Ok(Value::Decimal(Decimal {
                unscaled: BigInt::from(v),
                scale: 0,
            })),
            (Kind::Float, _) => Ok(Value::Float32(v as f32)),
            (Kind::Double, _) => Ok(Value::Float64(v as f64)),
            (Kind::Decimal, _) => self.decimal_text(&v.to_string()),
            _ => Err(self.error(format!("an integer ({v}) is not a value of this type"))),
        }
    }

    /// A floating-point value (FLOAT/REAL columns are single precision).
    pub(crate) fn float(&self, v: f64) -> Result<Value, ValueError> {
        match self.kind {
            Kind::Float => Ok(Value::Float32(v as f32)),
            Kind::Double => Ok(Value::Float64(v)),
            _ => Err(self.error(format!("a float ({v}) is not a value of this type"))),
        }
    }

    /// DECIMAL text at the column's scale.
    pub(crate) fn decimal_text(&self, text: &str) -> Result<Value, ValueError> {
        let d = Decimal::parse(text.trim())
            .ok_or_else(|| self.error(format!("{text:?} is not a decimal number")))?;
        let scale = match self.ty {
            ColumnType::Decimal { scale, .. } => scale,
            _ => d.scale,
        };
        let d = d
            .rescale(scale)
            .ok_or_else(|| self.error(format!("{text} does not fit scale {scale}")))?;
        Ok(Value::Decimal(d))
    }

    /// BIT(n) bytes as MySQL sends them (big-endian): BIT(1) is a boolean, wider columns
    /// Debezium's little-endian bytes of ⌈n/8⌉ bytes.
    pub(crate) fn bits(&self, bytes: &[u8]) -> Result<Value, ValueError> {
        let Kind::Bit { length } = self.kind else {
            return Err(self.error("bit bytes for a non-BIT column"));
        };
        if length == 1 {
            return Ok(Value::Boolean(bytes.iter().any(|&b| b != 0)));
        }
        let width = length.div_ceil(8) as usize;
        let mut le: Vec<u8> = bytes.iter().rev().copied().collect();
        while le.len() > width && le.last() == Some(&0) {
            le.pop();
        }
        if le.len() > width {
            return Err(self.error(format!("{} bytes exceed BIT({length})", bytes.len())));
        }
        le.resize(width, 0);
        Ok(Value::Bytes(le))
    }

    /// Text in the column's character set (binlog) or already decoded.
    pub(crate) fn text_bytes(&self, bytes: &[u8]) -> Result<Value, ValueError> {
        match &self.kind {
            Kind::Text(charset) => charset
                .decode(bytes)
                .map(Value::String)
                .map_err(|e| self.error(format!("character set {}: {e}", charset.name()))),
            _ => Err(self.error("text bytes for a non-text column")),
        }
    }

    /// BINARY/VARBINARY/BLOB bytes; BINARY(n) right-padded with zero bytes (the binlog
    /// strips them).
    pub(crate) fn binary(&self, bytes: &[u8]) -> Result<Value, ValueError> {
        let Kind::Binary { pad_to } = self.kind else {
            return Err(self.error("binary bytes for a non-binary column"));
        };
        let mut out = bytes.to_vec();
        if let Some(n) = pad_to {
            if out.len() < n {
                out.resize(n, 0);
            }
        }
        Ok(Value::Bytes(out))
    }

    /// An ENUM member by its 1-based index; index 0 is MySQL's '' for invalid values.
    pub(crate) fn enum_index(&self, index: i128) -> Result<Value, ValueError> {
        let Kind::Enum(labels) = &self.kind else {
            return Err(self.error("enum index for a non-ENUM column"));
        };
        if index == 0 {
            return Ok(Value::String(String::new()));
        }
        usize::try_from(index - 1)
            .ok()
            .and_then(|i| labels.get(i))
            .map(|l| Value::String(l.clone()))
            .ok_or_else(|| {
                self.error(format!(
                    "enum index {index} is not among {} members",
                    labels.len()
                ))
            })
    }

    /// An ENUM label or SET member list as text.
    pub(crate) fn label_text(&self, text: &str) -> Result<Value, ValueError> {
        match &self.kind {
            Kind::Enum(labels) => {
                if text.is_empty() || labels.iter().any(|l| l == text) {
                    Ok(Value::String(text.to_owned()))
                } else {
                    Err(self.error(format!("{text:?} is not an ENUM member")))
                }
            }
            Kind::Set(members) => {
                if text.is_empty() || text.split(',').all(|m| members.iter().any(|l| l == m)) {
                    Ok(Value::String(text.to_owned()))
                } else {
                    Err(self.error(format!("{text:?} is not a list of SET members")))
                }
            }
            _ => Err(self.error("a label for a non-ENUM/SET column")),
        }
    }

    /// A SET value from its bitmask (little-endian bytes, bit i = member i).
    pub(crate) fn set_mask(&self, mask: &[u8]) -> Result<Value, ValueError> {
        let Kind::Set(members) = &self.kind else {
            return Err(self.error("a bitmask for a non-SET column"));
        };
        let mut out = Vec::new();
        for (byte_index, byte) in mask.iter().enumerate() {
            for bit in 0..8 {
                if byte & (1 << bit) != 0 {
                    let i = byte_index * 8 + bit;
                    let member = members.get(i).ok_or_else(|| {
                        self.error(format!(
                            "SET bit {i} is beyond its {} members",
                            members.len()
                        ))
                    })?;
                    out.push(member.as_str());
                }
            }
        }
        Ok(Value::String(out.join(",")))
    }

    /// A YEAR value (0 is MySQL's zero year; the adjuster reads it as 2000, as Debezium's
    /// snapshot does).
    pub(crate) fn year(&self, year: u32) -> Result<Value, ValueError> {
        let y = temporal::adjust_year(year, self.enable_time_adjuster);
        Ok(Value::Int32(
            i32::try_from(y).map_err(|_| self.error("year out of range"))?,
        ))
    }

    /// DATE / DATETIME / TIMESTAMP from calendar fields (TIMESTAMP fields are UTC).
    pub(crate) fn date_time(&self, parts: Parts) -> Result<Value, ValueError> {
        let adjust = self.enable_time_adjuster;
        let e = |m: String| self.error(m);
        Ok(match self.kind {
            Kind::Date => parts
                .epoch_days(adjust)
                .map_err(e)?
                .map_or(Value::Null, Value::Date),
            Kind::DateTime => parts
                .epoch_micros(adjust)
                .map_err(e)?
                .map_or(Value::Null, Value::Timestamp),
            Kind::Timestamp => parts
                .epoch_micros(adjust)
                .map_err(e)?
                .map_or(Value::Null, Value::TimestampTz),
            _ => return Err(self.error("a date for a non-temporal column")),
        })
    }

    /// DATE / DATETIME / TIMESTAMP text (`YYYY-MM-DD[ HH:MM:SS[.f]]`).
    pub(crate) fn date_time_text(&self, text: &str) -> Result<Value, ValueError> {
        let parts =
            Parts::parse(text).ok_or_else(|| self.error(format!("{text:?} is not a date/time")))?;
        self.date_time(parts)
    }

    /// Geometry bytes as MySQL stores them: a 4-byte little-endian SRID, then OGC WKB.
    pub(crate) fn geometry(&self, bytes: &[u8]) -> Result<Value, ValueError> {
        if bytes.len() < 5 {
            return Err(self.error(format!(
                "{} bytes are too short for a geometry",
                bytes.len()
            )));
        }
        let (srid, wkb) = bytes.split_at(4);
        let srid = i32::from_le_bytes([srid[0], srid[1], srid[2], srid[3]]);
        if self.ty == ColumnType::Point
            && !(wkb.len() == 21
                && matches!(wkb[0], 0 | 1)
                && (wkb[1..5] == [1, 0, 0, 0] || wkb[1..5] == [0, 0, 0, 1]))
        {
            return Err(self.error("the value of a POINT column is not a 2-D point"));
        }
        // Debezium writes SRID 0 (none) as null.
        Ok(Value::Geometry {
            wkb: wkb.to_vec(),
            srid: (srid != 0).then_some(srid),
        })
    }
}
