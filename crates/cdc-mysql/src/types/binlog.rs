//! Values decoded from binlog rows events (`mysql_common`'s `BinlogValue`).

use cdc_model::Value;
use mysql_async::binlog::value::BinlogValue;
use mysql_async::Value as MyValue;

use super::column::{Kind, MappedColumn};
use super::json;
use super::temporal::{self, Parts};
use super::ValueError;

impl MappedColumn {
    /// The event-model value of a binlog row value of this column. A JSON partial-update
    /// diff needs the before image: use [`MappedColumn::binlog_json_update`].
    pub fn binlog_value(&self, value: &BinlogValue<'_>) -> Result<Value, ValueError> {
        match value {
            BinlogValue::Value(v) => self.binlog_plain(v),
            BinlogValue::Jsonb(doc) => match self.kind {
                Kind::Json => json::jsonb_text(doc)
                    .map(Value::String)
                    .map_err(|e| self.error(format!("binary JSON: {e}"))),
                _ => Err(self.error("binary JSON for a non-JSON column")),
            },
            BinlogValue::JsonDiff(_) => {
                Err(self.error("a JSON partial update needs the before image (binlog_json_update)"))
            }
        }
    }

    /// The after value of a JSON column in a PARTIAL_UPDATE_ROWS event: `after` is either a
    /// full document or diffs applied to the before image `before`.
    pub fn binlog_json_update(
        &self,
        before: &BinlogValue<'_>,
        after: &BinlogValue<'_>,
    ) -> Result<Value, ValueError> {
        let BinlogValue::JsonDiff(diffs) = after else {
            return self.binlog_value(after);
        };
        let BinlogValue::Jsonb(doc) = before else {
            return Err(self.error("a JSON diff without a binary JSON before image"));
        };
        json::apply_json_diffs(doc, diffs)
            .map(Value::String)
            .map_err(|e| self.error(format!("applying a JSON diff: {e}")))
    }

    fn binlog_plain(&self, v: &MyValue) -> Result<Value, ValueError> {
        match (v, &self.kind) {
            (MyValue::NULL, _) => Ok(Value::Null),
            // Pre-5.6 TIMESTAMP: epoch seconds as an integer.
            (MyValue::Int(secs), Kind::Timestamp) => Ok(if *secs == 0 {
                Value::Null
            } else {
                Value::TimestampTz(secs.saturating_mul(1_000_000))
            }),
            (MyValue::Int(i), _) => self.integer(binlog_int24(&self.kind, i128::from(*i))),
            (MyValue::UInt(u), _) => self.integer(binlog_int24(&self.kind, i128::from(*u))),
            (MyValue::Float(f), _) => self.float(f64::from(*f)),
            (MyValue::Double(d), _) => self.float(*d),
            (MyValue::Bytes(b), _) => self.binlog_bytes(b),
            (MyValue::Date(y, mo, d, h, mi, s, us), _) => self.date_time(Parts {
                year: u32::from(*y),
                month: u32::from(*mo),
                day: u32::from(*d),
                hour: u32::from(*h),
                minute: u32::from(*mi),
                second: u32::from(*s),
                micros: *us,
            }),
            (MyValue::Time(neg, days, h, m, s, us), Kind::Time) => {
                Ok(Value::Time(temporal::time_micros(
                    *neg,
                    u64::from(*days) * 24 + u64::from(*h),
                    u64::from(*m),
                    u64::from(*s),
                    u64::from(*us),
                )))
            }
            (other, _) => Err(self.error(format!("unexpected binlog value {other:?}"))),
        }
    }

    fn binlog_bytes(&self, b: &[u8]) -> Result<Value, ValueError> {
        let utf8 = || {
            std::str::from_utf8(b).map_err(|_| self.error(format!("{b:02x?} is not ASCII text")))
        };
        match &self.kind {
            Kind::Decimal => self.decimal_text(utf8()?),
            // mysql_common writes YEAR as 1900 + the stored byte: 1900 is the zero year.
            Kind::Year => {
                let year: u32 = utf8()?
                    .parse()
                    .map_err(|_| self.error(format!("{b:?} is not a year")))?;
                self.year(if year == 1900 { 0 } else { year })
            }
            Kind::Timestamp => temporal::parse_epoch_seconds(utf8()?)
                .map(|us| us.map_or(Value::Null, Value::TimestampTz))
                .map_err(|e| self.error(e)),
            Kind::Text(_) => self.text_bytes(b),
            Kind::Binary { .. } => self.binary(b),
            Kind::Bit { .. } => self.bits(b),
            Kind::Set(_) => self.set_mask(b),
            Kind::Geometry => self.geometry(b),
            // MariaDB stores JSON as LONGTEXT: the document text as written.
            Kind::Json => String::from_utf8(b.to_vec())
                .map(Value::String)
                .map_err(|_| self.error("JSON text is not UTF-8")),
            _ => Err(self.error(format!("unexpected bytes {b:02x?}"))),
        }
    }
}

/// mysql_common reads a signed MEDIUMINT's three bytes without sign extension (-800000
/// arrives as 15977216): a signed MEDIUMINT cannot hold a value in [2^23, 2^24), so such a
/// value is the two's complement of a negative one.
fn binlog_int24(kind: &Kind, v: i128) -> i128 {
    match kind {
        Kind::Integer {
            bytes: 3,
            unsigned: false,
        } if (1 << 23..1 << 24).contains(&v) => v - (1 << 24),
        _ => v,
    }
}
