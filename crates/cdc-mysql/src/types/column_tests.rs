use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;

use super::*;

/// The declared type of `c` in `CREATE TABLE t (c <ty>)`.
pub(crate) fn parse_type(ty: &str) -> DataType {
    let sql = format!("CREATE TABLE t (c {ty})");
    let stmts = Parser::parse_sql(&MySqlDialect {}, &sql).expect(&sql);
    match &stmts[0] {
        sqlparser::ast::Statement::CreateTable(ct) => ct.columns[0].data_type.clone(),
        other => panic!("{other:?}"),
    }
}

fn ty(decl: &str, modes: &HandlingModes) -> ColumnType {
    column_type(&parse_type(decl), None, modes).unwrap_or_else(|e| panic!("{decl}: {e}"))
}

#[test]
fn every_mysql_type_maps_as_debezium_does() {
    let m = HandlingModes::default();
    let dec = |p, s| ColumnType::Decimal {
        precision: Some(p),
        scale: s,
    };
    let cases: Vec<(&str, ColumnType)> = vec![
        ("BOOL", ColumnType::Boolean),
        ("BOOLEAN", ColumnType::Boolean),
        ("TINYINT", ColumnType::Int16),
        ("TINYINT(1)", ColumnType::Int16),
        ("INT1", ColumnType::Int16),
        ("TINYINT UNSIGNED", ColumnType::Int16),
        ("SMALLINT", ColumnType::Int16),
        ("SMALLINT UNSIGNED", ColumnType::Int32),
        ("MEDIUMINT", ColumnType::Int32),
        ("MIDDLEINT", ColumnType::Int32),
        ("MEDIUMINT UNSIGNED", ColumnType::Int32),
        ("INT", ColumnType::Int32),
        ("INT(11)", ColumnType::Int32),
        ("INTEGER", ColumnType::Int32),
        ("INT UNSIGNED", ColumnType::Int64),
        ("INTEGER UNSIGNED", ColumnType::Int64),
        ("BIGINT", ColumnType::Int64),
        ("BIGINT(20) UNSIGNED", ColumnType::Int64),
        ("SERIAL", ColumnType::Int64),
        ("BIT", ColumnType::Boolean),
        ("BIT(1)", ColumnType::Boolean),
        ("BIT(64)", ColumnType::Bits { length: 64 }),
        ("DECIMAL", dec(10, 0)),
        ("DECIMAL(10,2) UNSIGNED", dec(10, 2)),
        ("NUMERIC(5)", dec(5, 0)),
        ("DEC(4,1)", dec(4, 1)),
        ("FIXED(6,3)", dec(6, 3)),
        ("FLOAT", ColumnType::Float32),
        ("FLOAT(24)", ColumnType::Float32),
        ("FLOAT(25)", ColumnType::Float64),
        ("FLOAT(7,4)", ColumnType::Float64),
        ("FLOAT UNSIGNED", ColumnType::Float32),
        ("REAL", ColumnType::Float32),
        ("DOUBLE", ColumnType::Float64),
        ("DOUBLE(10,3)", ColumnType::Float64),
        ("DOUBLE PRECISION", ColumnType::Float64),
        ("CHAR(10)", ColumnType::String),
        ("VARCHAR(255)", ColumnType::String),
        ("NCHAR(5)", ColumnType::String),
        ("NVARCHAR(5)", ColumnType::String),
        ("TINYTEXT", ColumnType::String),
        ("TEXT", ColumnType::String),
        ("MEDIUMTEXT", ColumnType::String),
        ("LONGTEXT", ColumnType::String),
        ("LONG", ColumnType::String),
        ("BINARY(16)", ColumnType::Bytes),
        ("VARBINARY(100)", ColumnType::Bytes),
        ("TINYBLOB", ColumnType::Bytes),
        ("BLOB", ColumnType::Bytes),
        ("MEDIUMBLOB", ColumnType::Bytes),
        ("LONGBLOB", ColumnType::Bytes),
        (
            "ENUM('a','b c','d''e')",
            ColumnType::Enum {
                allowed: vec!["a".into(), "b c".into(), "d'e".into()],
            },
        ),
        (
            "SET('x','y')",
            ColumnType::EnumSet {
                allowed: vec!["x".into(), "y".into()],
            },
        ),
        ("JSON", ColumnType::Json),
        ("DATE", ColumnType::Date),
        ("TIME", ColumnType::Time { precision: 0 }),
        ("TIME(3)", ColumnType::Time { precision: 3 }),
        ("DATETIME", ColumnType::Timestamp { precision: 0 }),
        ("DATETIME(6)", ColumnType::Timestamp { precision: 6 }),
        ("TIMESTAMP", ColumnType::TimestampTz { precision: Some(0) }),
        (
            "TIMESTAMP(2)",
            ColumnType::TimestampTz { precision: Some(2) },
        ),
        ("YEAR", ColumnType::Year),
        ("YEAR(4)", ColumnType::Year),
        ("POINT", ColumnType::Point),
        ("GEOMETRY", ColumnType::Geometry),
        ("LINESTRING", ColumnType::Geometry),
        ("POLYGON", ColumnType::Geometry),
        ("MULTIPOINT", ColumnType::Geometry),
        ("MULTILINESTRING", ColumnType::Geometry),
        ("MULTIPOLYGON", ColumnType::Geometry),
        ("GEOMETRYCOLLECTION", ColumnType::Geometry),
        ("GEOMCOLLECTION", ColumnType::Geometry),
    ];
    for (decl, expected) in cases {
        assert_eq!(ty(decl, &m), expected, "{decl}");
    }
}

#[test]
fn bigint_unsigned_precise_is_decimal_20_0() {
    let m = HandlingModes {
        bigint_unsigned_handling_mode: BigIntUnsignedMode::Precise,
        ..HandlingModes::default()
    };
    // A Connect Decimal whatever decimal.handling.mode says, as in Debezium (found by the
    // differential test tests/e2e/mariadb_debezium.rs with decimal.handling.mode=string).
    let precise = ColumnType::ExactDecimal {
        precision: 20,
        scale: 0,
    };
    assert_eq!(ty("BIGINT UNSIGNED", &m), precise);
    assert_eq!(ty("SERIAL", &m), precise);
    assert_eq!(ty("BIGINT", &m), ColumnType::Int64);
    assert_eq!(ty("INT UNSIGNED", &m), ColumnType::Int64);
}

#[test]
fn charsets_pick_text_or_bytes_and_unknown_ones_are_named() {
    let m = HandlingModes::default();
    let c = map_column("name", &parse_type("VARCHAR(10)"), Some("latin1"), &m).unwrap();
    assert_eq!(c.ty, ColumnType::String);
    assert_eq!(c.meta.charset.as_deref(), Some("latin1"));
    let b = map_column("raw", &parse_type("CHAR(4)"), Some("binary"), &m).unwrap();
    assert_eq!(b.ty, ColumnType::Bytes);
    assert_eq!(b.meta.type_name, "BINARY");
    let err = map_column("txt", &parse_type("TEXT"), Some("utf32"), &m).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("txt") && text.contains("utf32"), "{text}");
}

#[test]
fn unsupported_and_invalid_declarations_are_errors() {
    let m = HandlingModes::default();
    for decl in ["UUID", "INTERVAL", "VECTOR(3)", "GEOMETRY(4)"] {
        let err = map_column("c", &parse_type(decl), None, &m).unwrap_err();
        assert!(
            matches!(err, TypeError::Unsupported { .. }),
            "{decl}: {err}"
        );
    }
    for decl in [
        "DECIMAL(70,2)",
        "DECIMAL(5,6)",
        "BIT(65)",
        "TIME(7)",
        "DATETIME(9)",
    ] {
        let err = map_column("c", &parse_type(decl), None, &m).unwrap_err();
        assert!(matches!(err, TypeError::Invalid { .. }), "{decl}: {err}");
    }
}

#[test]
fn metadata_matches_debeziums_schema_history() {
    let meta = |decl: &str, cs: Option<&str>| column_meta(&parse_type(decl), cs).unwrap();
    let m = meta("INT(11) UNSIGNED", None);
    assert_eq!(
        (m.jdbc_type, m.type_name.as_str(), m.length, m.scale),
        (jdbc::INTEGER, "INT UNSIGNED", Some(11), None)
    );
    let m = meta("DECIMAL(10,2)", None);
    assert_eq!(
        (m.jdbc_type, m.type_name.as_str(), m.length, m.scale),
        (jdbc::DECIMAL, "DECIMAL", Some(10), Some(2))
    );
    let m = meta("VARCHAR(255)", Some("utf8mb4"));
    assert_eq!(
        (m.jdbc_type, m.length, m.charset.as_deref()),
        (jdbc::VARCHAR, Some(255), Some("utf8mb4"))
    );
    assert_eq!(
        meta("TIMESTAMP(3)", None).jdbc_type,
        jdbc::TIMESTAMP_WITH_TIMEZONE
    );
    assert_eq!(meta("TIMESTAMP(3)", None).length, Some(3));
    assert_eq!(meta("DATETIME", None).jdbc_type, jdbc::TIMESTAMP);
    assert_eq!(meta("YEAR", None).jdbc_type, jdbc::INTEGER);
    assert_eq!(meta("TINYINT(1)", None).jdbc_type, jdbc::SMALLINT);
    assert_eq!(meta("BOOLEAN", None).jdbc_type, jdbc::BOOLEAN);
    assert_eq!(meta("JSON", None).jdbc_type, jdbc::OTHER);
    assert_eq!(meta("MEDIUMBLOB", None).type_name, "MEDIUMBLOB");
    let e = meta("ENUM('a','b')", None);
    assert_eq!(
        (e.jdbc_type, e.enum_values.clone()),
        (jdbc::CHAR, vec!["'a'".to_string(), "'b'".to_string()])
    );
    assert_eq!(e.type_expression, "ENUM");
}
