//! The schema in force at each binlog position, from the DDL that Query events carry.
//!
//! Statements are tokenized and parsed with `sqlparser`'s MySQL dialect; nothing here matches
//! SQL with regular expressions. Where `sqlparser` 0.63 lacks MySQL/MariaDB syntax, small
//! token-level passes fill the gap (see [`Schemas::apply`] for the list).
//!
//! - `model`: the tracked schema ([`TableDef`], [`ColumnDef`], [`TableId`]) and what a statement
//!   changed ([`SchemaChange`]).
//! - `comments`: MySQL/MariaDB executable comments (`/*!50100 … */`, `/*M!100100 … */`).
//! - `tokens`: tokenizing, statement splitting and classification, handing token runs to
//!   `sqlparser`.
//! - `rewrite`: token rewrites for column syntax `sqlparser` misses (ZEROFILL, CHARSET, …).
//! - `column`: `sqlparser` column definitions → [`ColumnDef`] (defaults as Debezium records them),
//!   keys and character-set inheritance.
//! - `schemas`: [`Schemas`], the tracker: statement dispatch, options, lookups.
//! - `create`: CREATE TABLE and CREATE TABLE … LIKE.
//! - `statements`: DROP/RENAME/TRUNCATE TABLE, CREATE UNIQUE INDEX, databases.
//! - `alter`: ALTER TABLE, clause by clause; `alter_columns`: its column and key clauses.
//! - `metadata`: a column's JDBC type, type name, length and scale as Debezium's DDL parser
//!   reports them ([`ColumnMetadata`]).
//! - `history`: Debezium's schema history record (`schema.history.internal.kafka.topic`)
//!   encode/decode; `recovery`: [`Schemas::recover`] replays records.
//! - `event`: the schema-change record on the `<topic.prefix>` topic (its `source` block is
//!   `cdc-model`'s binlog source block).

mod alter;
mod alter_columns;
mod column;
mod comments;
mod create;
mod event;
mod history;
mod metadata;
mod model;
mod recovery;
mod rewrite;
mod schemas;
mod statements;
mod tokens;

pub use comments::{ServerFlavor, ServerVersion};
pub use event::{
    key_schema, schema_change_record, schema_change_records, value_schema, SchemaChangeRecord,
};
pub use history::{
    table_change_json, table_from_json, HistoryError, HistoryRecord, TableChange, TableChangeType,
};
pub use metadata::{column_metadata, jdbc, type_metadata, ColumnMetadata};
pub use model::{
    ChangeKind, ColumnDef, DatabaseDef, SchemaChange, TableDef, TableId, TypeAttributes,
};
pub use schemas::{DdlOptions, Schemas};

/// A DDL statement that could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum DdlError {
    /// `sqlparser` (or the token passes around it) rejected the statement.
    #[error("cannot parse DDL statement `{statement}`: {message}")]
    Parse { statement: String, message: String },
    /// The statement parsed but refers to schema objects in a way that cannot be applied
    /// (unknown table, unknown column, CREATE TABLE … SELECT, …).
    #[error("cannot apply DDL statement `{statement}`: {message}")]
    Apply { statement: String, message: String },
}

/// At most 300 characters of a statement, for error messages and logs.
pub(crate) fn truncated(sql: &str) -> String {
    const MAX: usize = 300;
    let sql = sql.trim();
    match sql.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &sql[..i]),
        None => sql.to_string(),
    }
}
