//! The MySQL / MariaDB side: connecting (`mysql://` / `mariadb://` URL; `MYSQL_PWD` supplies a
//! missing password), the source table's columns from `information_schema`, and streaming its
//! rows over the binary protocol (exact floats, dates and times) in UTC.

use cdc_model::TableId;
use iceberg::spec::PrimitiveType;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder, Value};

use super::canonical::{date_canon, double_bits, float_bits, normalise_decimal, Canon, Kind};
use super::tls::{SourceTls, SourceTlsMode};
use crate::SinkError;

fn my_err(context: impl Into<String>) -> impl FnOnce(mysql_async::Error) -> SinkError {
    let context = context.into();
    move |source| SinkError::MySql { context, source }
}

/// Whether `source` names a MySQL / MariaDB server.
pub(crate) fn is_mysql_url(source: &str) -> bool {
    source.starts_with("mysql://") || source.starts_with("mariadb://")
}

/// Connects to `url` (`mysql://` or `mariadb://`) with `tls`, in a UTC session. The URL
/// (which may hold a password) never appears in errors. `prefer` falls back to plaintext when
/// the server offers no TLS.
pub(crate) async fn connect(url: &str, tls: &SourceTls) -> Result<Conn, SinkError> {
    let url = match url.strip_prefix("mariadb://") {
        Some(rest) => format!("mysql://{rest}"),
        None => url.to_owned(),
    };
    let opts = Opts::from_url(&url).map_err(|_| {
        SinkError::Config(
            "the source URL is not valid (expected mysql://user[:password]@host[:port][/db] \
             or mariadb://…)"
                .into(),
        )
    })?;
    let mut builder = OptsBuilder::from_opts(opts.clone());
    if opts.pass().is_none() {
        if let Ok(password) = std::env::var("MYSQL_PWD") {
            builder = builder.pass(Some(password));
        }
    }
    let plain = builder.clone();
    if let Some(ssl) = tls.mysql()? {
        builder = builder.ssl_opts(Some(ssl));
    }
    let mut conn =
        match Conn::new(builder).await {
            Err(mysql_async::Error::Driver(
                mysql_async::DriverError::NoClientSslFlagFromServer,
            )) if tls.mode == SourceTlsMode::Prefer => Conn::new(plain).await,
            other => other,
        }
        .map_err(my_err("cannot connect"))?;
    conn.query_drop("SET time_zone = '+00:00'")
        .await
        .map_err(my_err("cannot set the session time zone"))?;
    Ok(conn)
}

/// The MySQL side of a column: `DATA_TYPE` and `COLUMN_TYPE` of `information_schema`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MyColumnType {
    /// `int`, `varchar`, `bit`, … (lower case).
    pub data_type: String,
    /// `int(10) unsigned`, `bit(3)`, `enum('a','b')`, … (lower case).
    pub column_type: String,
}

impl MyColumnType {
    fn unsigned(&self) -> bool {
        self.column_type.contains("unsigned")
    }

    /// `n` of `bit(n)`.
    fn bit_width(&self) -> Option<u32> {
        let inner = self.column_type.strip_prefix("bit(")?.split(')').next()?;
        inner.parse().ok()
    }
}

/// How one MySQL column is compared: the shared [`Kind`] (Iceberg side) plus what the MySQL
/// value needs to reach the same canonical form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MyKind {
    /// Integers, YEAR, BOOLEAN/TINYINT(1); `BIGINT UNSIGNED` wraps as Debezium's `long` mode.
    Int,
    /// `BIGINT UNSIGNED` as a decimal (`precise` mode) or string.
    UnsignedDecimal {
        scale: i8,
    },
    Bool,
    Float,
    Double,
    Decimal {
        scale: i8,
    },
    DecimalText,
    Text,
    /// `TIME` as the sink's `HH:MM:SS.ffffff` text.
    Clock,
    Binary,
    /// `BIT(n)`, n > 1: Debezium's little-endian bytes of `(n + 7) / 8` bytes.
    Bits {
        bytes: usize,
    },
    Date,
    /// `DATETIME` (Iceberg timestamp).
    Timestamp,
    /// `TIMESTAMP` read in UTC (Iceberg timestamptz).
    TimestampTz,
}

impl MyKind {
    /// The kind of a column stored as `iceberg` whose source type is `my`, or why it cannot be
    /// compared.
    pub(crate) fn choose(iceberg: &PrimitiveType, my: &MyColumnType) -> Result<MyKind, String> {
        let name = my.data_type.as_str();
        let text_types = [
            "char",
            "varchar",
            "tinytext",
            "text",
            "mediumtext",
            "longtext",
            "enum",
            "set",
            "json",
        ];
        let binary_types = [
            "binary",
            "varbinary",
            "tinyblob",
            "blob",
            "mediumblob",
            "longblob",
        ];
        let ints = [
            "tinyint",
            "smallint",
            "mediumint",
            "int",
            "integer",
            "bigint",
            "year",
        ];
        let kind = match (iceberg, name) {
            (PrimitiveType::Boolean, "bit" | "tinyint" | "boolean" | "bool") => Some(MyKind::Bool),
            (PrimitiveType::Int | PrimitiveType::Long, _) if ints.contains(&name) => {
                Some(MyKind::Int)
            }
            (PrimitiveType::Decimal { scale, .. }, "bigint") if my.unsigned() => {
                i8::try_from(*scale)
                    .ok()
                    .map(|scale| MyKind::UnsignedDecimal { scale })
            }
            (PrimitiveType::String, "bigint") if my.unsigned() => {
                Some(MyKind::UnsignedDecimal { scale: 0 })
            }
            (PrimitiveType::Float, "float") => Some(MyKind::Float),
            (PrimitiveType::Double, "float" | "double" | "real" | "decimal" | "numeric") => {
                Some(MyKind::Double)
            }
            (PrimitiveType::Decimal { scale, .. }, "decimal" | "numeric") => i8::try_from(*scale)
                .ok()
                .map(|scale| MyKind::Decimal { scale }),
            (PrimitiveType::String, "decimal" | "numeric") => Some(MyKind::DecimalText),
            (PrimitiveType::String, "time") => Some(MyKind::Clock),
            (PrimitiveType::String, _) if text_types.contains(&name) => Some(MyKind::Text),
            (PrimitiveType::Binary, "bit") => my.bit_width().map(|n| MyKind::Bits {
                bytes: n.div_ceil(8) as usize,
            }),
            (PrimitiveType::Binary, _) if binary_types.contains(&name) => Some(MyKind::Binary),
            (PrimitiveType::Date, "date") => Some(MyKind::Date),
            (PrimitiveType::Timestamp, "datetime") => Some(MyKind::Timestamp),
            (PrimitiveType::Timestamptz, "timestamp") => Some(MyKind::TimestampTz),
            _ => None,
        };
        kind.ok_or_else(|| {
            format!(
                "MySQL type {} stored as Iceberg {iceberg} cannot be verified (supported: \
                 integers, YEAR, BIT, BOOLEAN, DECIMAL, FLOAT/DOUBLE, CHAR/VARCHAR/TEXT, ENUM, \
                 SET, JSON, BINARY/VARBINARY/BLOB, DATE, TIME, DATETIME, TIMESTAMP)",
                my.column_type
            )
        })
    }

    /// The shared kind the Iceberg side reads the column as.
    pub(crate) fn iceberg_kind(self) -> Kind {
        match self {
            MyKind::Int => Kind::Int,
            MyKind::UnsignedDecimal { scale } | MyKind::Decimal { scale } => Kind::Decimal {
                scale,
                money: false,
            },
            MyKind::Bool => Kind::Bool,
            MyKind::Float => Kind::Float,
            MyKind::Double => Kind::Double,
            MyKind::DecimalText => Kind::NumericText,
            MyKind::Text => Kind::Text { money: false },
            MyKind::Clock => Kind::Clock { utc: false },
            MyKind::Binary | MyKind::Bits { .. } => Kind::Binary,
            MyKind::Date => Kind::Date,
            MyKind::Timestamp => Kind::Timestamp,
            MyKind::TimestampTz => Kind::TimestampTz,
        }
    }

    /// The select-list expression for quoted column `col`.
    pub(crate) fn select_expr(self, col: &str) -> String {
        match self {
            // Exact decimal text for both.
            MyKind::UnsignedDecimal { .. } | MyKind::Decimal { .. } | MyKind::DecimalText => {
                format!("CAST({col} AS CHAR)")
            }
            // BIT comes as big-endian bytes; `+0` gives its number (YEAR stays a number).
            MyKind::Bool => format!("{col} + 0"),
            _ => col.to_owned(),
        }
    }

    /// Canonical form of a value read over the binary protocol.
    pub(crate) fn canon(self, value: Value) -> Result<Canon, String> {
        let bad = |v: &Value| format!("cannot read MySQL value {v:?} as {self:?}");
        if value == Value::NULL {
            return Ok(Canon::Null);
        }
        let text = |v: &Value| match v {
            Value::Bytes(b) => String::from_utf8(b.clone()).map_err(|_| bad(v)),
            Value::Int(i) => Ok(i.to_string()),
            Value::UInt(u) => Ok(u.to_string()),
            _ => Err(bad(v)),
        };
        Ok(match self {
            MyKind::Int => match value {
                Value::Int(i) => Canon::Int(i),
                // BIGINT UNSIGNED in Debezium's default `long` mode wraps to negative.
                Value::UInt(u) => Canon::Int(u as i64),
                ref v => Canon::Int(text(v)?.parse().map_err(|_| bad(v))?),
            },
            MyKind::Bool => match value {
                Value::Int(i) => Canon::Bool(i != 0),
                Value::UInt(u) => Canon::Bool(u != 0),
                ref v => Canon::Bool(text(v)?.parse::<i128>().map_err(|_| bad(v))? != 0),
            },
            MyKind::Float => match value {
                Value::Float(f) => float_bits(f),
                Value::Double(d) => float_bits(d as f32),
                ref v => return Err(bad(v)),
            },
            MyKind::Double => match value {
                Value::Float(f) => double_bits(f64::from(f)),
                Value::Double(d) => double_bits(d),
                ref v => double_bits(text(v)?.parse().map_err(|_| bad(v))?),
            },
            MyKind::UnsignedDecimal { .. } | MyKind::Decimal { .. } | MyKind::DecimalText => {
                let t = text(&value)?;
                Canon::Text(normalise_decimal(&t).ok_or_else(|| bad(&value))?)
            }
            MyKind::Text => Canon::Text(text(&value)?),
            MyKind::Binary => match value {
                Value::Bytes(b) => Canon::Bytes(b),
                ref v => return Err(bad(v)),
            },
            MyKind::Bits { bytes } => match value {
                Value::Bytes(b) => Canon::Bytes(bits_le(&b, bytes)),
                ref v => return Err(bad(v)),
            },
            MyKind::Clock => match value {
                Value::Time(negative, days, h, m, s, us) => {
                    let micros = ((i64::from(days) * 24 + i64::from(h)) * 3600
                        + i64::from(m) * 60
                        + i64::from(s))
                        * 1_000_000
                        + i64::from(us);
                    Canon::Text(super::canonical::clock_text(
                        if negative { -micros } else { micros },
                        false,
                    ))
                }
                ref v => return Err(bad(v)),
            },
            MyKind::Date => match value {
                // The zero date has no calendar day: Debezium emits null.
                Value::Date(0, _, _, _, _, _, _) | Value::Date(_, 0, _, _, _, _, _) => Canon::Null,
                Value::Date(y, mo, d, ..) => {
                    let days = days_from_civil(i64::from(y), i64::from(mo), i64::from(d));
                    date_canon(i32::try_from(days).map_err(|_| bad(&value))?)
                }
                ref v => return Err(bad(v)),
            },
            MyKind::Timestamp | MyKind::TimestampTz => match value {
                Value::Date(0, _, _, _, _, _, _) | Value::Date(_, 0, _, _, _, _, _) => Canon::Null,
                Value::Date(y, mo, d, h, mi, s, us) => {
                    let days = days_from_civil(i64::from(y), i64::from(mo), i64::from(d));
                    let secs =
                        days * 86_400 + i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(s);
                    Canon::Int(secs * 1_000_000 + i64::from(us))
                }
                ref v => return Err(bad(v)),
            },
        })
    }
}

/// MySQL's big-endian `BIT` bytes → Debezium's little-endian bytes of length `len`.
pub(crate) fn bits_le(big_endian: &[u8], len: usize) -> Vec<u8> {
    let mut out: Vec<u8> = big_endian.iter().rev().copied().collect();
    out.resize(len.max(1), 0);
    out
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// One source column.
#[derive(Debug, Clone)]
pub(crate) struct SourceColumn {
    pub name: String,
    pub ty: MyColumnType,
    /// 1-based position in the primary key.
    pub pk_position: Option<i32>,
}

/// The columns of `table` (`db.table`) in ordinal order.
pub(crate) async fn columns(
    conn: &mut Conn,
    table: &TableId,
) -> Result<Vec<SourceColumn>, SinkError> {
    const SQL: &str = "SELECT c.COLUMN_NAME, LOWER(c.DATA_TYPE), LOWER(c.COLUMN_TYPE), \
               k.ORDINAL_POSITION \
        FROM information_schema.COLUMNS c \
        LEFT JOIN information_schema.KEY_COLUMN_USAGE k \
          ON k.TABLE_SCHEMA = c.TABLE_SCHEMA AND k.TABLE_NAME = c.TABLE_NAME \
         AND k.COLUMN_NAME = c.COLUMN_NAME AND k.CONSTRAINT_NAME = 'PRIMARY' \
        WHERE c.TABLE_SCHEMA = ? AND c.TABLE_NAME = ? \
        ORDER BY c.ORDINAL_POSITION";
    let rows: Vec<(String, String, String, Option<i64>)> = conn
        .exec(SQL, (&table.namespace, &table.name))
        .await
        .map_err(my_err(format!("cannot read the columns of {table}")))?;
    if rows.is_empty() {
        return Err(SinkError::Verify {
            table: table.to_string(),
            reason: "the source table does not exist or has no columns".into(),
        });
    }
    Ok(rows
        .into_iter()
        .map(|(name, data_type, column_type, pk)| SourceColumn {
            name,
            ty: MyColumnType {
                data_type,
                column_type,
            },
            pk_position: pk.and_then(|p| i32::try_from(p).ok()),
        })
        .collect())
}

/// `` `name` `` with embedded backticks doubled.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// Streams the rows of `select` (binary protocol), calling `on_row` with each row's values.
pub(crate) async fn read_rows(
    conn: &mut Conn,
    table: &str,
    select: &str,
    mut on_row: impl FnMut(Vec<Value>) -> Result<(), SinkError>,
) -> Result<u64, SinkError> {
    let mut result = conn
        .exec_iter(select, ())
        .await
        .map_err(my_err(format!("cannot read table {table}")))?;
    let mut rows = 0u64;
    while let Some(row) = result
        .next()
        .await
        .map_err(my_err(format!("reading table {table}")))?
    {
        on_row(row.unwrap())?;
        rows += 1;
    }
    Ok(rows)
}

#[cfg(test)]
#[path = "mysql_tests.rs"]
mod tests;
