//! Values read by a snapshot `SELECT` (`mysql_async::Value`, text or binary protocol).
//!
//! Requirements on the snapshot connection: results in utf8mb4 (mysql_async's default
//! connection collation), and `time_zone = '+00:00'` so TIMESTAMP text is UTC.

use cdc_model::Value;
use mysql_async::Value as MyValue;

use super::column::{Kind, MappedColumn};
use super::temporal::{self, Parts};
use super::ValueError;

impl MappedColumn {
    /// The event-model value of a result-set value of this column.
    pub fn snapshot_value(&self, value: &MyValue) -> Result<Value, ValueError> {
        match value {
            MyValue::NULL => Ok(Value::Null),
            MyValue::Bytes(b) => self.snapshot_bytes(b),
            MyValue::Int(i) => self.integer(i128::from(*i)),
            MyValue::UInt(u) => self.integer(i128::from(*u)),
            MyValue::Float(f) => self.float(f64::from(*f)),
            MyValue::Double(d) => self.float(*d),
            MyValue::Date(y, mo, d, h, mi, s, us) => self.date_time(Parts {
                year: u32::from(*y),
                month: u32::from(*mo),
                day: u32::from(*d),
                hour: u32::from(*h),
                minute: u32::from(*mi),
                second: u32::from(*s),
                micros: *us,
            }),
            MyValue::Time(neg, days, h, m, s, us) if self.kind == Kind::Time => {
                Ok(Value::Time(temporal::time_micros(
                    *neg,
                    u64::from(*days) * 24 + u64::from(*h),
                    u64::from(*m),
                    u64::from(*s),
                    u64::from(*us),
                )))
            }
            other => Err(self.error(format!("unexpected result value {other:?}"))),
        }
    }

    fn snapshot_bytes(&self, b: &[u8]) -> Result<Value, ValueError> {
        // Textual results arrive in the connection's character set (utf8mb4).
        let text = || {
            std::str::from_utf8(b).map_err(|e| self.error(format!("result text is not UTF-8: {e}")))
        };
        let number = |t: &str| -> Result<i128, ValueError> {
            t.trim()
                .parse()
                .map_err(|_| self.error(format!("{t:?} is not an integer")))
        };
        match &self.kind {
            Kind::Boolean | Kind::Integer { .. } => self.integer(number(text()?)?),
            Kind::Float | Kind::Double => {
                let t = text()?;
                let v: f64 = t
                    .trim()
                    .parse()
                    .map_err(|_| self.error(format!("{t:?} is not a number")))?;
                self.float(v)
            }
            Kind::Decimal => self.decimal_text(text()?),
            Kind::Bit { .. } => self.bits(b),
            Kind::Text(_) => Ok(Value::String(text()?.to_owned())),
            Kind::Binary { .. } => self.binary(b),
            Kind::Enum(_) | Kind::Set(_) => self.label_text(text()?),
            Kind::Json => Ok(Value::String(text()?.to_owned())),
            Kind::Date | Kind::DateTime | Kind::Timestamp => self.date_time_text(text()?),
            Kind::Time => {
                let t = text()?;
                temporal::parse_time(t)
                    .map(Value::Time)
                    .ok_or_else(|| self.error(format!("{t:?} is not a time")))
            }
            Kind::Year => {
                let year = number(text()?)?;
                self.year(u32::try_from(year).map_err(|_| self.error("year out of range"))?)
            }
            Kind::Geometry => self.geometry(b),
        }
    }
}
