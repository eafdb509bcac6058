//! Declared MySQL column types → the event model's column types and Debezium's column
//! metadata, as Debezium's MySQL connector maps them (`MySqlAntlrDdlParser` JDBC types,
//! `BinlogValueConverters.schemaBuilder`, `JdbcValueConverters.schemaBuilder`).

use cdc_model::ColumnType;
use sqlparser::ast::{DataType, ExactNumberInfo, GeometricTypeKind};

use super::charset::Charset;
use super::declared::{
    binary, blob_name, char_len, custom_name, decimal, enum_labels, escaped, fsp_len, fsp_of,
    geometry, int, text,
};
use super::meta::{jdbc, ColumnMeta, Shape};
use super::modes::{BigIntUnsignedMode, HandlingModes};
use super::TypeError;

/// How values of a column are read (what the converters need beyond the model type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    Boolean,
    /// `bytes`: storage width (1, 2, 3, 4, 8).
    Integer {
        bytes: u8,
        unsigned: bool,
    },
    Float,
    Double,
    Decimal,
    Bit {
        length: u32,
    },
    Text(Charset),
    /// `pad_to`: BINARY(n) values are right-padded with 0x00 to n bytes (Debezium DBZ-254).
    Binary {
        pad_to: Option<usize>,
    },
    Enum(Vec<String>),
    Set(Vec<String>),
    Json,
    Date,
    Time,
    DateTime,
    Timestamp,
    Year,
    Geometry,
}

/// A column with its mapped type, metadata and value-conversion rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappedColumn {
    pub name: String,
    pub ty: ColumnType,
    pub meta: ColumnMeta,
    pub(crate) kind: Kind,
    pub(crate) enable_time_adjuster: bool,
}

/// The event-model type of a column declared as `data_type` with character set `charset`.
pub fn column_type(
    data_type: &DataType,
    charset: Option<&str>,
    modes: &HandlingModes,
) -> Result<ColumnType, TypeError> {
    map_column("", data_type, charset, modes).map(|c| c.ty)
}

/// Debezium's column metadata of a column declared as `data_type`.
pub fn column_meta(data_type: &DataType, charset: Option<&str>) -> Result<ColumnMeta, TypeError> {
    map_column("", data_type, charset, &HandlingModes::default()).map(|c| c.meta)
}

/// Maps column `name` declared as `data_type` (character set `charset` for textual types;
/// `None` means the table's default was not resolved and UTF-8 is assumed).
pub fn map_column(
    name: &str,
    data_type: &DataType,
    charset: Option<&str>,
    modes: &HandlingModes,
) -> Result<MappedColumn, TypeError> {
    let invalid = |reason: String| TypeError::Invalid {
        column: name.to_owned(),
        data_type: data_type.to_string(),
        reason,
    };
    let unsupported = || TypeError::Unsupported {
        column: name.to_owned(),
        data_type: data_type.to_string(),
    };
    let len = |n: &Option<u64>| n.map(|n| u32::try_from(n).unwrap_or(u32::MAX));
    let binary_charset = charset.is_some_and(|c| c.eq_ignore_ascii_case("binary"));
    let mut sh = Shape::default();
    use DataType as D;
    let (ty, kind) = match data_type {
        D::Bool => {
            sh = Shape::new(jdbc::BOOLEAN, "BOOL", None);
            (ColumnType::Boolean, Kind::Boolean)
        }
        D::Boolean => {
            sh = Shape::new(jdbc::BOOLEAN, "BOOLEAN", None);
            (ColumnType::Boolean, Kind::Boolean)
        }
        D::TinyInt(n) => {
            sh = Shape::new(jdbc::SMALLINT, "TINYINT", len(n));
            int(1, false)
        }
        D::TinyIntUnsigned(n) => {
            sh = Shape::new(jdbc::SMALLINT, "TINYINT UNSIGNED", len(n));
            int(1, true)
        }
        D::SmallInt(n) | D::Int2(n) => {
            sh = Shape::new(jdbc::SMALLINT, "SMALLINT", len(n));
            int(2, false)
        }
        D::SmallIntUnsigned(n) | D::Int2Unsigned(n) => {
            sh = Shape::new(jdbc::SMALLINT, "SMALLINT UNSIGNED", len(n));
            int(2, true)
        }
        D::MediumInt(n) => {
            sh = Shape::new(jdbc::INTEGER, "MEDIUMINT", len(n));
            int(3, false)
        }
        D::MediumIntUnsigned(n) => {
            sh = Shape::new(jdbc::INTEGER, "MEDIUMINT UNSIGNED", len(n));
            int(3, true)
        }
        D::Int(n) | D::Int4(n) => {
            sh = Shape::new(jdbc::INTEGER, "INT", len(n));
            int(4, false)
        }
        D::Integer(n) => {
            sh = Shape::new(jdbc::INTEGER, "INTEGER", len(n));
            int(4, false)
        }
        D::IntUnsigned(n) | D::Int4Unsigned(n) => {
            sh = Shape::new(jdbc::INTEGER, "INT UNSIGNED", len(n));
            int(4, true)
        }
        D::IntegerUnsigned(n) => {
            sh = Shape::new(jdbc::INTEGER, "INTEGER UNSIGNED", len(n));
            int(4, true)
        }
        D::BigInt(n) | D::Int8(n) => {
            sh = Shape::new(jdbc::BIGINT, "BIGINT", len(n));
            int(8, false)
        }
        D::BigIntUnsigned(n) | D::Int8Unsigned(n) => {
            sh = Shape::new(jdbc::BIGINT, "BIGINT UNSIGNED", len(n));
            let kind = Kind::Integer {
                bytes: 8,
                unsigned: true,
            };
            match modes.bigint_unsigned_handling_mode {
                BigIntUnsignedMode::Long => (ColumnType::Int64, kind),
                BigIntUnsignedMode::Precise => (
                    ColumnType::ExactDecimal {
                        precision: 20,
                        scale: 0,
                    },
                    kind,
                ),
            }
        }
        D::Bit(n) => {
            let length = len(n).unwrap_or(1);
            if length == 0 || length > 64 {
                return Err(invalid(format!("BIT({length}) is outside 1..=64")));
            }
            sh = Shape::new(jdbc::BIT, "BIT", Some(length));
            if length == 1 {
                (ColumnType::Boolean, Kind::Bit { length })
            } else {
                (ColumnType::Bits { length }, Kind::Bit { length })
            }
        }
        D::Decimal(info) | D::DecimalUnsigned(info) | D::Dec(info) | D::DecUnsigned(info) => {
            let name = if matches!(data_type, D::Decimal(_) | D::DecimalUnsigned(_)) {
                "DECIMAL"
            } else {
                "DEC"
            };
            decimal(&mut sh, jdbc::DECIMAL, name, info, &invalid)?
        }
        D::Numeric(info) => decimal(&mut sh, jdbc::NUMERIC, "NUMERIC", info, &invalid)?,
        D::Float(info) | D::FloatUnsigned(info) => {
            // FLOAT and FLOAT(p ≤ 24) are single precision; FLOAT(p ≥ 25) and FLOAT(M,D)
            // double (BinlogValueConverters: float32 only without scale and length ≤ 24).
            let (length, scale, double) = match info {
                ExactNumberInfo::None => (None, None, false),
                ExactNumberInfo::Precision(p) => (len(&Some(*p)), None, *p > 24),
                ExactNumberInfo::PrecisionAndScale(p, s) => {
                    (len(&Some(*p)), u32::try_from(*s).ok(), true)
                }
            };
            sh = Shape::new(jdbc::FLOAT, "FLOAT", length);
            sh.scale = scale;
            if double {
                (ColumnType::Float64, Kind::Double)
            } else {
                (ColumnType::Float32, Kind::Float)
            }
        }
        D::Real | D::RealUnsigned | D::Float4 => {
            sh = Shape::new(jdbc::REAL, "REAL", None);
            (ColumnType::Float32, Kind::Float)
        }
        D::Double(_)
        | D::DoubleUnsigned(_)
        | D::DoublePrecision
        | D::DoublePrecisionUnsigned
        | D::Float8
        | D::Float64 => {
            let (length, scale) = match data_type {
                D::Double(ExactNumberInfo::PrecisionAndScale(p, s))
                | D::DoubleUnsigned(ExactNumberInfo::PrecisionAndScale(p, s)) => {
                    (len(&Some(*p)), u32::try_from(*s).ok())
                }
                _ => (None, None),
            };
            sh = Shape::new(jdbc::DOUBLE, "DOUBLE", length);
            sh.scale = scale;
            (ColumnType::Float64, Kind::Double)
        }
        D::Char(n) | D::Character(n) if binary_charset => {
            sh = Shape::new(jdbc::BINARY, "BINARY", char_len(n));
            binary(char_len(n).or(Some(1)))
        }
        D::Varchar(n) | D::CharVarying(n) | D::CharacterVarying(n) if binary_charset => {
            sh = Shape::new(jdbc::VARBINARY, "VARBINARY", char_len(n));
            binary(None)
        }
        D::Char(n) | D::Character(n) => {
            sh = Shape::new(jdbc::CHAR, "CHAR", char_len(n));
            text(charset, name, data_type)?
        }
        D::Varchar(n) | D::CharVarying(n) | D::CharacterVarying(n) => {
            sh = Shape::new(jdbc::VARCHAR, "VARCHAR", char_len(n));
            text(charset, name, data_type)?
        }
        D::Nvarchar(n) => {
            sh = Shape::new(jdbc::NVARCHAR, "NVARCHAR", char_len(n));
            text(Some("utf8mb3"), name, data_type)?
        }
        D::Text | D::TinyText | D::MediumText | D::LongText if binary_charset => {
            sh = Shape::new(jdbc::BLOB, &blob_name(data_type), None);
            binary(None)
        }
        D::Text | D::TinyText | D::MediumText | D::LongText => {
            let type_name = data_type.to_string().to_ascii_uppercase();
            sh = Shape::new(jdbc::VARCHAR, &type_name, None);
            text(charset, name, data_type)?
        }
        D::Binary(n) => {
            let n = len(n).unwrap_or(1);
            sh = Shape::new(jdbc::BINARY, "BINARY", Some(n));
            binary(Some(n))
        }
        D::Varbinary(n) => {
            let length = match n {
                Some(sqlparser::ast::BinaryLength::IntegerLength { length }) => len(&Some(*length)),
                _ => None,
            };
            sh = Shape::new(jdbc::VARBINARY, "VARBINARY", length);
            binary(None)
        }
        D::Blob(n) => {
            sh = Shape::new(jdbc::BLOB, "BLOB", len(n));
            binary(None)
        }
        D::TinyBlob | D::MediumBlob | D::LongBlob => {
            sh = Shape::new(jdbc::BLOB, &blob_name(data_type), None);
            binary(None)
        }
        D::Enum(members, _) => {
            let labels = enum_labels(members);
            sh = Shape::new(jdbc::CHAR, "ENUM", Some(1));
            (
                ColumnType::Enum {
                    allowed: escaped(&labels),
                },
                Kind::Enum(labels),
            )
        }
        D::Set(members) => {
            sh = Shape::new(jdbc::CHAR, "SET", Some(1));
            (
                ColumnType::EnumSet {
                    allowed: escaped(members),
                },
                Kind::Set(members.clone()),
            )
        }
        D::JSON => {
            sh = Shape::new(jdbc::OTHER, "JSON", None);
            (ColumnType::Json, Kind::Json)
        }
        D::Date => {
            sh = Shape::new(jdbc::DATE, "DATE", None);
            (ColumnType::Date, Kind::Date)
        }
        D::Time(fsp, _) => {
            let fsp = fsp_of(fsp, &invalid)?;
            sh = Shape::new(jdbc::TIME, "TIME", fsp_len(fsp));
            (ColumnType::Time { precision: fsp }, Kind::Time)
        }
        D::Datetime(fsp) => {
            let fsp = fsp_of(fsp, &invalid)?;
            sh = Shape::new(jdbc::TIMESTAMP, "DATETIME", fsp_len(fsp));
            (ColumnType::Timestamp { precision: fsp }, Kind::DateTime)
        }
        D::Timestamp(fsp, _) => {
            let fsp = fsp_of(fsp, &invalid)?;
            sh = Shape::new(jdbc::TIMESTAMP_WITH_TIMEZONE, "TIMESTAMP", fsp_len(fsp));
            (
                ColumnType::TimestampTz {
                    precision: Some(fsp),
                },
                Kind::Timestamp,
            )
        }
        D::GeometricType(kind) => {
            let (type_name, point) = match kind {
                GeometricTypeKind::Point => ("POINT", true),
                GeometricTypeKind::Polygon => ("POLYGON", false),
                _ => return Err(unsupported()),
            };
            sh = Shape::new(jdbc::OTHER, type_name, None);
            geometry(point)
        }
        D::Custom(object_name, args) => {
            let type_name = custom_name(object_name);
            match (type_name.as_str(), args.as_slice()) {
                ("YEAR", [] | [_]) => {
                    sh = Shape::new(jdbc::INTEGER, "YEAR", None);
                    (ColumnType::Year, Kind::Year)
                }
                ("POINT", []) => {
                    sh = Shape::new(jdbc::OTHER, "POINT", None);
                    geometry(true)
                }
                (
                    "GEOMETRY" | "LINESTRING" | "POLYGON" | "MULTIPOINT" | "MULTILINESTRING"
                    | "MULTIPOLYGON" | "GEOMETRYCOLLECTION" | "GEOMCOLLECTION",
                    [],
                ) => {
                    sh = Shape::new(jdbc::OTHER, &type_name, None);
                    geometry(false)
                }
                ("INT1", []) => {
                    sh = Shape::new(jdbc::SMALLINT, "INT1", None);
                    int(1, false)
                }
                ("INT3" | "MIDDLEINT", []) => {
                    sh = Shape::new(jdbc::INTEGER, &type_name, None);
                    int(3, false)
                }
                ("FIXED", [p] | [p, _]) => {
                    let precision = p.trim().parse::<u64>().map_err(|_| unsupported())?;
                    let info = match args.as_slice() {
                        [_, scale] => ExactNumberInfo::PrecisionAndScale(
                            precision,
                            scale.trim().parse().map_err(|_| unsupported())?,
                        ),
                        _ => ExactNumberInfo::Precision(precision),
                    };
                    decimal(&mut sh, jdbc::DECIMAL, "FIXED", &info, &invalid)?
                }
                ("NCHAR", [] | [_]) => {
                    let length = args.first().and_then(|n| n.trim().parse().ok());
                    sh = Shape::new(jdbc::NCHAR, "NCHAR", length);
                    text(Some("utf8mb3"), name, data_type)?
                }
                // MySQL's LONG / LONG VARCHAR is MEDIUMTEXT.
                ("LONG", []) => {
                    sh = Shape::new(jdbc::VARCHAR, "MEDIUMTEXT", None);
                    text(charset, name, data_type)?
                }
                ("SERIAL", []) => {
                    // BIGINT UNSIGNED NOT NULL AUTO_INCREMENT UNIQUE.
                    sh = Shape::new(jdbc::BIGINT, "BIGINT UNSIGNED", None);
                    let kind = Kind::Integer {
                        bytes: 8,
                        unsigned: true,
                    };
                    match modes.bigint_unsigned_handling_mode {
                        BigIntUnsignedMode::Long => (ColumnType::Int64, kind),
                        BigIntUnsignedMode::Precise => (
                            ColumnType::ExactDecimal {
                                precision: 20,
                                scale: 0,
                            },
                            kind,
                        ),
                    }
                }
                _ => return Err(unsupported()),
            }
        }
        _ => return Err(unsupported()),
    };
    let enum_values = match &kind {
        Kind::Enum(labels) | Kind::Set(labels) => labels.iter().map(|l| format!("'{l}'")).collect(),
        _ => Vec::new(),
    };
    let meta = ColumnMeta {
        jdbc_type: sh.jdbc_type,
        type_expression: sh.type_name.clone(),
        type_name: sh.type_name,
        length: sh.length,
        scale: sh.scale,
        charset: match &kind {
            Kind::Text(cs) => Some(cs.name().to_owned()),
            _ => None,
        },
        enum_values,
    };
    Ok(MappedColumn {
        name: name.to_owned(),
        ty,
        meta,
        kind,
        enable_time_adjuster: modes.enable_time_adjuster,
    })
}

#[cfg(test)]
#[path = "column_tests.rs"]
pub(crate) mod tests;
