//! A column's type metadata as Debezium's MySQL DDL parser reports it in `tableChanges`:
//! JDBC type (`java.sql.Types`), type name (= type expression), length, scale, enum values.
//! Mirrors `MySqlAntlrDdlParser`'s data-type table and `ColumnDefinitionParserListener`
//! (Debezium 3.6): TINYINT → SMALLINT (TINYINT only from 3.7.0), MEDIUMINT/INT/YEAR → INTEGER, TEXT types → VARCHAR, BLOB
//! types → BLOB, TIMESTAMP → TIMESTAMP_WITH_TIMEZONE, ENUM/SET → CHAR, spatial types and JSON →
//! OTHER; DECIMAL/NUMERIC default to (10,0), BIT to length 1, NCHAR to 1; ENUM has length 1 and
//! SET `2n-1`.

use sqlparser::ast::{CharacterLength, DataType, EnumMember, ExactNumberInfo};

use super::model::ColumnDef;

/// `java.sql.Types` constants (one table for the crate, in `types`).
pub use crate::types::jdbc;

/// Type metadata of one column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnMetadata {
    pub jdbc_type: i32,
    /// Debezium's `typeName`, which its MySQL parser also uses as `typeExpression`
    /// (`INT UNSIGNED`, `VARCHAR`, `ENUM`).
    pub type_name: String,
    pub length: Option<i32>,
    pub scale: Option<i32>,
    pub enum_values: Vec<String>,
}

impl ColumnMetadata {
    /// Whether Debezium gives columns of this type a character set.
    pub fn uses_charset(&self) -> bool {
        matches!(
            self.jdbc_type,
            jdbc::CHAR | jdbc::VARCHAR | jdbc::NCHAR | jdbc::NVARCHAR
        )
    }
}

/// Metadata of `column`'s type.
pub fn column_metadata(column: &ColumnDef) -> ColumnMetadata {
    let mut meta = type_metadata(&column.data_type);
    let a = column.attributes;
    if a.zerofill {
        let base = meta.type_name.trim_end_matches(" UNSIGNED").to_string();
        meta.type_name = format!("{base} UNSIGNED ZEROFILL");
    } else if a.signed && !meta.type_name.ends_with(" UNSIGNED") {
        meta.type_name.push_str(" SIGNED");
    }
    if a.binary {
        meta.type_name.push_str(" BINARY");
    }
    meta
}

fn len(v: Option<u64>) -> Option<i32> {
    v.and_then(|v| i32::try_from(v).ok())
}

fn char_len(v: &Option<CharacterLength>) -> Option<i32> {
    match v {
        Some(CharacterLength::IntegerLength { length, .. }) => len(Some(*length)),
        _ => None,
    }
}

/// (precision, scale) of an exact-number type, with the given defaults.
fn exact(info: &ExactNumberInfo, default: Option<(i32, i32)>) -> (Option<i32>, Option<i32>) {
    match info {
        ExactNumberInfo::None => match default {
            Some((p, s)) => (Some(p), Some(s)),
            None => (None, None),
        },
        ExactNumberInfo::Precision(p) => (len(Some(*p)), default.map(|_| 0)),
        ExactNumberInfo::PrecisionAndScale(p, s) => (len(Some(*p)), i32::try_from(*s).ok()),
    }
}

/// Metadata of a data type as parsed from DDL.
pub fn type_metadata(data_type: &DataType) -> ColumnMetadata {
    use DataType as D;
    let simple = |jdbc: i32, name: &str, length: Option<i32>| ColumnMetadata {
        jdbc_type: jdbc,
        type_name: name.to_string(),
        length,
        scale: None,
        enum_values: Vec::new(),
    };
    let numeric =
        |jdbc: i32, name: &str, (length, scale): (Option<i32>, Option<i32>)| ColumnMetadata {
            jdbc_type: jdbc,
            type_name: name.to_string(),
            length,
            scale,
            enum_values: Vec::new(),
        };
    let decimal = Some((10, 0));
    match data_type {
        D::TinyInt(l) => simple(jdbc::SMALLINT, "TINYINT", len(*l)),
        D::TinyIntUnsigned(l) => simple(jdbc::SMALLINT, "TINYINT UNSIGNED", len(*l)),
        D::SmallInt(l) | D::Int2(l) => simple(jdbc::SMALLINT, "SMALLINT", len(*l)),
        D::SmallIntUnsigned(l) | D::Int2Unsigned(l) => {
            simple(jdbc::SMALLINT, "SMALLINT UNSIGNED", len(*l))
        }
        D::MediumInt(l) => simple(jdbc::INTEGER, "MEDIUMINT", len(*l)),
        D::MediumIntUnsigned(l) => simple(jdbc::INTEGER, "MEDIUMINT UNSIGNED", len(*l)),
        D::Int(l) | D::Int4(l) => simple(jdbc::INTEGER, "INT", len(*l)),
        D::Integer(l) => simple(jdbc::INTEGER, "INTEGER", len(*l)),
        D::IntUnsigned(l) | D::Int4Unsigned(l) => simple(jdbc::INTEGER, "INT UNSIGNED", len(*l)),
        D::IntegerUnsigned(l) => simple(jdbc::INTEGER, "INTEGER UNSIGNED", len(*l)),
        D::BigInt(l) | D::Int8(l) => simple(jdbc::BIGINT, "BIGINT", len(*l)),
        D::BigIntUnsigned(l) | D::Int8Unsigned(l) => {
            simple(jdbc::BIGINT, "BIGINT UNSIGNED", len(*l))
        }
        D::Real => simple(jdbc::REAL, "REAL", None),
        D::RealUnsigned => simple(jdbc::REAL, "REAL UNSIGNED", None),
        D::Float(i) => numeric(jdbc::FLOAT, "FLOAT", exact(i, None)),
        D::FloatUnsigned(i) => numeric(jdbc::FLOAT, "FLOAT UNSIGNED", exact(i, None)),
        D::Double(i) => numeric(jdbc::DOUBLE, "DOUBLE", exact(i, None)),
        D::DoubleUnsigned(i) => numeric(jdbc::DOUBLE, "DOUBLE UNSIGNED", exact(i, None)),
        D::DoublePrecision => simple(jdbc::DOUBLE, "DOUBLE PRECISION", None),
        D::DoublePrecisionUnsigned => simple(jdbc::DOUBLE, "DOUBLE PRECISION UNSIGNED", None),
        D::Decimal(i) => numeric(jdbc::DECIMAL, "DECIMAL", exact(i, decimal)),
        D::DecimalUnsigned(i) => numeric(jdbc::DECIMAL, "DECIMAL UNSIGNED", exact(i, decimal)),
        D::Dec(i) => numeric(jdbc::DECIMAL, "DEC", exact(i, decimal)),
        D::DecUnsigned(i) => numeric(jdbc::DECIMAL, "DEC UNSIGNED", exact(i, decimal)),
        D::Numeric(i) => numeric(jdbc::NUMERIC, "NUMERIC", exact(i, decimal)),
        D::Bit(l) => simple(jdbc::BIT, "BIT", len(*l).or(Some(1))),
        D::Bool => simple(jdbc::BOOLEAN, "BOOL", None),
        D::Boolean => simple(jdbc::BOOLEAN, "BOOLEAN", None),
        D::Char(l) | D::Character(l) => simple(jdbc::CHAR, "CHAR", char_len(l)),
        D::Varchar(l) | D::CharVarying(l) | D::CharacterVarying(l) => {
            simple(jdbc::VARCHAR, "VARCHAR", char_len(l))
        }
        D::Nvarchar(l) => simple(jdbc::NVARCHAR, "NVARCHAR", char_len(l)),
        D::Text => simple(jdbc::VARCHAR, "TEXT", None),
        D::TinyText => simple(jdbc::VARCHAR, "TINYTEXT", None),
        D::MediumText => simple(jdbc::VARCHAR, "MEDIUMTEXT", None),
        D::LongText => simple(jdbc::VARCHAR, "LONGTEXT", None),
        D::Binary(l) => simple(jdbc::BINARY, "BINARY", len(*l)),
        D::Varbinary(l) => simple(
            jdbc::VARBINARY,
            "VARBINARY",
            match l {
                Some(sqlparser::ast::BinaryLength::IntegerLength { length }) => len(Some(*length)),
                _ => None,
            },
        ),
        D::Blob(l) => simple(jdbc::BLOB, "BLOB", len(*l)),
        D::TinyBlob => simple(jdbc::BLOB, "TINYBLOB", None),
        D::MediumBlob => simple(jdbc::BLOB, "MEDIUMBLOB", None),
        D::LongBlob => simple(jdbc::BLOB, "LONGBLOB", None),
        D::Date => simple(jdbc::DATE, "DATE", None),
        D::Time(p, _) => simple(jdbc::TIME, "TIME", len(*p)),
        D::Datetime(p) => simple(jdbc::TIMESTAMP, "DATETIME", len(*p)),
        D::Timestamp(p, _) => simple(jdbc::TIMESTAMP_WITH_TIMEZONE, "TIMESTAMP", len(*p)),
        D::JSON => simple(jdbc::OTHER, "JSON", None),
        D::Enum(members, _) => {
            let values: Vec<String> = members
                .iter()
                .map(|m| match m {
                    EnumMember::Name(n) | EnumMember::NamedValue(n, _) => n.clone(),
                })
                .collect();
            ColumnMetadata {
                jdbc_type: jdbc::CHAR,
                type_name: "ENUM".to_string(),
                length: Some(1),
                scale: None,
                enum_values: values,
            }
        }
        D::Set(values) => ColumnMetadata {
            jdbc_type: jdbc::CHAR,
            type_name: "SET".to_string(),
            length: Some(
                i32::try_from(values.len() * 2)
                    .unwrap_or(i32::MAX)
                    .saturating_sub(1)
                    .max(0),
            ),
            scale: None,
            enum_values: values.clone(),
        },
        D::Custom(name, args) => {
            let name = name.to_string().to_ascii_uppercase();
            let first = args.first().and_then(|a| a.trim().parse::<i32>().ok());
            match name.as_str() {
                "YEAR" => simple(jdbc::INTEGER, "YEAR", first),
                "NCHAR" => simple(jdbc::NCHAR, "NCHAR", first.or(Some(1))),
                "FIXED" => {
                    let scale = args.get(1).and_then(|a| a.trim().parse::<i32>().ok());
                    match first {
                        Some(p) => {
                            numeric(jdbc::DECIMAL, "FIXED", (Some(p), Some(scale.unwrap_or(0))))
                        }
                        None => numeric(jdbc::DECIMAL, "FIXED", (Some(10), Some(0))),
                    }
                }
                "SERIAL" => simple(jdbc::BIGINT, "BIGINT UNSIGNED", None),
                _ => simple(jdbc::OTHER, &name, None),
            }
        }
        other => simple(jdbc::OTHER, &other.to_string().to_ascii_uppercase(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::dialect::MySqlDialect;
    use sqlparser::parser::Parser;

    fn meta(ty: &str) -> (i32, String, Option<i32>, Option<i32>) {
        let dialect = MySqlDialect {};
        let dt = Parser::new(&dialect)
            .try_with_sql(ty)
            .and_then(|mut p| p.parse_data_type())
            .unwrap();
        let m = type_metadata(&dt);
        (m.jdbc_type, m.type_name, m.length, m.scale)
    }

    #[test]
    fn debezium_type_table() {
        assert_eq!(
            meta("INT(11) UNSIGNED"),
            (4, "INT UNSIGNED".into(), Some(11), None)
        );
        assert_eq!(meta("TINYINT(1)"), (5, "TINYINT".into(), Some(1), None));
        assert_eq!(meta("DECIMAL"), (3, "DECIMAL".into(), Some(10), Some(0)));
        assert_eq!(meta("DECIMAL(6)"), (3, "DECIMAL".into(), Some(6), Some(0)));
        assert_eq!(
            meta("DECIMAL(10,2)"),
            (3, "DECIMAL".into(), Some(10), Some(2))
        );
        assert_eq!(
            meta("NUMERIC(5,1)"),
            (2, "NUMERIC".into(), Some(5), Some(1))
        );
        assert_eq!(
            meta("VARCHAR(255)"),
            (12, "VARCHAR".into(), Some(255), None)
        );
        assert_eq!(meta("TEXT"), (12, "TEXT".into(), None, None));
        assert_eq!(meta("BIT"), (-7, "BIT".into(), Some(1), None));
        assert_eq!(meta("DATETIME(6)"), (93, "DATETIME".into(), Some(6), None));
        assert_eq!(
            meta("TIMESTAMP(3)"),
            (2014, "TIMESTAMP".into(), Some(3), None)
        );
        assert_eq!(meta("YEAR"), (4, "YEAR".into(), None, None));
        assert_eq!(meta("SET('a','b','c')"), (1, "SET".into(), Some(5), None));
        assert_eq!(meta("ENUM('a','b')"), (1, "ENUM".into(), Some(1), None));
        assert_eq!(meta("GEOMETRY"), (1111, "GEOMETRY".into(), None, None));
        assert_eq!(meta("JSON"), (1111, "JSON".into(), None, None));
        assert_eq!(
            meta("DOUBLE(10,3)"),
            (8, "DOUBLE".into(), Some(10), Some(3))
        );
        assert_eq!(meta("MEDIUMBLOB"), (2004, "MEDIUMBLOB".into(), None, None));
    }
}
