//! Column metadata as Debezium's schema history records it: `java.sql.Types` codes (the
//! JDBC types `MySqlAntlrDdlParser` assigns), type names, lengths and scales.

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

/// JDBC type, name, length and scale while mapping.
#[derive(Default)]
pub(crate) struct Shape {
    pub(crate) jdbc_type: i32,
    pub(crate) type_name: String,
    pub(crate) length: Option<u32>,
    pub(crate) scale: Option<u32>,
}

impl Shape {
    pub(crate) fn new(jdbc_type: i32, type_name: &str, length: Option<u32>) -> Shape {
        Shape {
            jdbc_type,
            type_name: type_name.to_owned(),
            length,
            scale: None,
        }
    }
}
