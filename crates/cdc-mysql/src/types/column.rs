//! Declared MySQL column types → the event model's column types and Debezium's column
//! metadata, as Debezium's MySQL connector maps them (`MySqlAntlrDdlParser` JDBC types,
//! `BinlogValueConverters.schemaBuilder`, `JdbcValueConverters.schemaBuilder`).

use cdc_model::ColumnType;
use sqlparser::ast::{
    CharacterLength, DataType, EnumMember, ExactNumberInfo, GeometricTypeKind, ObjectName,
};

use super::charset::Charset;
use super::modes::{BigIntUnsignedMode, HandlingModes};
use super::TypeError;

/// `java.sql.Types` codes Debezium records as a column's `jdbcType`.
pub mod jdbc {
    pub const BIT: i32 = -7;
    pub const TINYINT: i32 = -6;
    pub const SMALLINT: i32 = 5;
    pub const INTEGER: i32 = 4;
    pub const BIGINT: i32 = -5;
    pub const FLOAT: i32 = 6;
    pub const REAL: i32 = 7;
    pub const DOUBLE: i32 = 8;
    pub const NUMERIC: i32 = 2;
    pub const DECIMAL: i32 = 3;
    pub const CHAR: i32 = 1;
    pub const VARCHAR: i32 = 12;
    pub const NCHAR: i32 = -15;
    pub const NVARCHAR: i32 = -9;
    pub const DATE: i32 = 91;
    pub const TIME: i32 = 92;
    pub const TIMESTAMP: i32 = 93;
    pub const TIMESTAMP_WITH_TIMEZONE: i32 = 2014;
    pub const BINARY: i32 = -2;
    pub const VARBINARY: i32 = -3;
    pub const BLOB: i32 = 2004;
    pub const BOOLEAN: i32 = 16;
    pub const OTHER: i32 = 1111;
}

/// Column metadata as Debezium's schema history and `tableChanges` record it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnMeta {
    /// `java.sql.Types` code (see [`jdbc`]).
    pub jdbc_type: i32,
    /// Upper-case type name with `UNSIGNED`/`ZEROFILL` (`INT UNSIGNED`, `VARCHAR`).
    pub type_name: String,
    /// The type expression (Debezium writes the type name).
    pub type_expression: String,
    /// Declared length / precision / fractional-second digits / bits, if any.
    pub length: Option<u32>,
    /// Declared scale, if any.
    pub scale: Option<u32>,
    /// Character set of a textual column.
    pub charset: Option<String>,
    /// ENUM / SET members as Debezium lists them (quoted: `'a'`).
    pub enum_values: Vec<String>,
}

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
            sh = Shape::new(jdbc::TINYINT, "TINYINT", len(n));
            int(1, false)
        }
        D::TinyIntUnsigned(n) => {
            sh = Shape::new(jdbc::TINYINT, "TINYINT UNSIGNED", len(n));
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
                    ColumnType::Decimal {
                        precision: Some(20),
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
                    sh = Shape::new(jdbc::TINYINT, "INT1", None);
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
                            ColumnType::Decimal {
                                precision: Some(20),
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

/// JDBC type, name, length and scale while mapping.
#[derive(Default)]
struct Shape {
    jdbc_type: i32,
    type_name: String,
    length: Option<u32>,
    scale: Option<u32>,
}

impl Shape {
    fn new(jdbc_type: i32, type_name: &str, length: Option<u32>) -> Shape {
        Shape {
            jdbc_type,
            type_name: type_name.to_owned(),
            length,
            scale: None,
        }
    }
}

fn int(bytes: u8, unsigned: bool) -> (ColumnType, Kind) {
    // TINYINT is Connect int8 (the DDL parser's `Types.TINYINT`); Debezium widens unsigned
    // types to the next Connect integer (TINYINT UNSIGNED → int16, SMALLINT UNSIGNED → int32,
    // INT UNSIGNED → int64).
    let ty = match (bytes, unsigned) {
        (1, false) => ColumnType::Int8,
        (1, true) | (2, false) => ColumnType::Int16,
        (2, true) | (3, _) | (4, false) => ColumnType::Int32,
        _ => ColumnType::Int64,
    };
    (ty, Kind::Integer { bytes, unsigned })
}

fn decimal(
    sh: &mut Shape,
    jdbc_type: i32,
    type_name: &str,
    info: &ExactNumberInfo,
    invalid: &dyn Fn(String) -> TypeError,
) -> Result<(ColumnType, Kind), TypeError> {
    // MySQL: DECIMAL = DECIMAL(10,0), DECIMAL(M) = DECIMAL(M,0); M ≤ 65, D ≤ 30, D ≤ M.
    let (precision, scale) = match info {
        ExactNumberInfo::None => (10, 0),
        ExactNumberInfo::Precision(p) => (*p, 0),
        ExactNumberInfo::PrecisionAndScale(p, s) => (*p, *s),
    };
    let (Ok(precision), Ok(scale)) = (u32::try_from(precision), u32::try_from(scale)) else {
        return Err(invalid(format!(
            "precision {precision} / scale {scale} out of range"
        )));
    };
    if precision == 0 || precision > 65 || scale > 30 || scale > precision {
        return Err(invalid(format!(
            "DECIMAL({precision},{scale}) is outside MySQL's limits"
        )));
    }
    *sh = Shape::new(jdbc_type, type_name, Some(precision));
    sh.scale = Some(scale);
    Ok((
        ColumnType::Decimal {
            precision: Some(precision),
            scale,
        },
        Kind::Decimal,
    ))
}

fn text(
    charset: Option<&str>,
    column: &str,
    data_type: &DataType,
) -> Result<(ColumnType, Kind), TypeError> {
    let cs =
        Charset::from_name(charset.unwrap_or("utf8mb4")).ok_or_else(|| TypeError::Invalid {
            column: column.to_owned(),
            data_type: data_type.to_string(),
            reason: format!(
                "character set {} is not supported",
                charset.unwrap_or_default()
            ),
        })?;
    Ok((ColumnType::String, Kind::Text(cs)))
}

fn binary(pad_to: Option<u32>) -> (ColumnType, Kind) {
    (
        ColumnType::Bytes,
        Kind::Binary {
            pad_to: pad_to.map(|n| n as usize),
        },
    )
}

fn geometry(point: bool) -> (ColumnType, Kind) {
    let ty = if point {
        ColumnType::Point
    } else {
        ColumnType::Geometry
    };
    (ty, Kind::Geometry)
}

fn char_len(n: &Option<CharacterLength>) -> Option<u32> {
    match n {
        Some(CharacterLength::IntegerLength { length, .. }) => {
            Some(u32::try_from(*length).unwrap_or(u32::MAX))
        }
        _ => None,
    }
}

fn fsp_of(fsp: &Option<u64>, invalid: &dyn Fn(String) -> TypeError) -> Result<u8, TypeError> {
    match *fsp {
        None => Ok(0),
        Some(n @ 0..=6) => Ok(n as u8),
        Some(n) => Err(invalid(format!(
            "fractional-second precision {n} exceeds 6"
        ))),
    }
}

fn fsp_len(fsp: u8) -> Option<u32> {
    (fsp > 0).then_some(u32::from(fsp))
}

fn blob_name(data_type: &DataType) -> String {
    match data_type {
        DataType::TinyBlob | DataType::TinyText => "TINYBLOB",
        DataType::MediumBlob | DataType::MediumText => "MEDIUMBLOB",
        DataType::LongBlob | DataType::LongText => "LONGBLOB",
        _ => "BLOB",
    }
    .to_owned()
}

/// Members as Debezium's MySQL connector lists them in the `allowed` parameter
/// (`EnumeratedValues.toCommaSeparatedString`): `\` and `,` escaped with a backslash.
fn escaped(labels: &[String]) -> Vec<String> {
    labels
        .iter()
        .map(|l| l.replace('\\', "\\\\").replace(',', "\\,"))
        .collect()
}

fn enum_labels(members: &[EnumMember]) -> Vec<String> {
    members
        .iter()
        .map(|m| match m {
            EnumMember::Name(name) | EnumMember::NamedValue(name, _) => name.clone(),
        })
        .collect()
}

fn custom_name(name: &ObjectName) -> String {
    name.0
        .last()
        .map(|part| part.to_string().trim_matches('`').to_ascii_uppercase())
        .unwrap_or_default()
}

#[cfg(test)]
#[path = "column_tests.rs"]
pub(crate) mod tests;
