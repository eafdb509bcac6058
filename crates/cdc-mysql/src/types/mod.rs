//! MySQL / MariaDB column types and values in Debezium's MySQL connector mapping.
//!
//! A column's declared type (`sqlparser`'s [`DataType`] as the DDL parser produced it, plus
//! its character set) is mapped once into a [`MappedColumn`]: the event model's
//! [`ColumnType`](cdc_model::ColumnType), the schema-history metadata Debezium records
//! ([`ColumnMeta`]), and what the value converters need. Values then convert from either
//! source into the same [`cdc_model::Value`]:
//! - [`MappedColumn::binlog_value`]: a `BinlogValue` decoded from a rows event;
//! - [`MappedColumn::snapshot_value`]: a `mysql_async::Value` read by a snapshot `SELECT`
//!   (text or binary protocol).
//!
//! Module map:
//! - `modes`: handling modes ([`HandlingModes`]).
//! - `column`: declared type → [`MappedColumn`]; `declared`: reading a declared type's
//!   parts; `meta`: Debezium's column metadata ([`ColumnMeta`], JDBC type codes).
//! - `charset`: MySQL character sets → text decoding.
//! - `temporal`: dates, times and timestamps (zero dates, the two-digit-year adjuster).
//! - `scalar`: the conversions both value paths share (integers, decimals, bits, enums,
//!   sets, geometry).
//! - `binlog`: row-event values; `snapshot`: result-set values.
//! - `json`: MySQL binary JSON → text, and JSON partial-update diffs ([`apply_json_diffs`]).
//!
//! [`DataType`]: sqlparser::ast::DataType

mod binlog;
mod charset;
mod column;
mod declared;
mod json;
mod meta;
mod modes;
mod scalar;
mod snapshot;
mod temporal;

pub use column::{column_meta, column_type, map_column, MappedColumn};
pub use json::{apply_json_diffs, jsonb_text};
pub use meta::{jdbc, ColumnMeta};
pub use modes::{BigIntUnsignedMode, HandlingModes};

/// A declared column type the mapping cannot handle.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TypeError {
    #[error("column {column}: type {data_type} is not supported by the MySQL type mapping")]
    Unsupported { column: String, data_type: String },
    #[error("column {column}: type {data_type}: {reason}")]
    Invalid {
        column: String,
        data_type: String,
        reason: String,
    },
    #[error("handling modes: {0}")]
    Mode(String),
}

/// A value that cannot be converted for its column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column} ({type_name}): {problem}")]
pub struct ValueError {
    pub column: String,
    /// The column's declared type name (`INT UNSIGNED`, `DATETIME`, …).
    pub type_name: String,
    /// What is wrong with the value.
    pub problem: String,
}

#[cfg(test)]
#[path = "../../tests/support/jsonb.rs"]
mod jsonb_support;
#[cfg(test)]
mod value_tests;
