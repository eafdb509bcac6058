//! The schema-change record Debezium's MySQL and MariaDB connectors publish on the
//! `<topic.prefix>` topic (`include.schema.changes=true`), as Kafka's `JsonConverter` writes it
//! with `schemas.enable=true`: key `io.debezium.connector.<connector>.SchemaChangeKey`
//! `{databaseName}`, value `io.debezium.connector.<connector>.SchemaChangeValue` `{source, ts_ms,
//! databaseName, schemaName, ddl, tableChanges}`; table changes in `ConnectTableChangeSerializer`'s
//! layout (Debezium 3.6 `SchemaFactory.schemaHistory*Schema`).

use serde_json::{json, Value as Json};

use super::history::{TableChange, TableChangeType};
use super::metadata::column_metadata;
use super::model::{ColumnDef, SchemaChange, TableDef};

/// Which Debezium connector's names to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connector {
    MySql,
    MariaDb,
}

impl Connector {
    /// `source.connector` and the middle of schema names: `mysql` / `mariadb`.
    pub fn name(self) -> &'static str {
        match self {
            Connector::MySql => "mysql",
            Connector::MariaDb => "mariadb",
        }
    }
}

/// The binlog `source` block (Debezium's `BinlogSourceInfoStructMaker`). A stand-in until the
/// binlog module provides its own; field meanings follow debezium-format.md §4.2.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceBlock {
    pub version: String,
    pub connector: Connector,
    /// `topic.prefix`.
    pub name: String,
    pub ts_ms: i64,
    /// `true`, `first`, `last`, … or `None` (rendered as the schema default `false`).
    pub snapshot: Option<String>,
    pub db: String,
    pub sequence: Option<String>,
    pub ts_us: Option<i64>,
    pub ts_ns: Option<i64>,
    pub table: Option<String>,
    pub server_id: i64,
    pub gtid: Option<String>,
    pub file: String,
    pub pos: i64,
    pub row: i32,
    pub thread: Option<i64>,
    pub query: Option<String>,
}

impl SourceBlock {
    fn payload(&self) -> Json {
        json!({
            "version": self.version,
            "connector": self.connector.name(),
            "name": self.name,
            "ts_ms": self.ts_ms,
            "snapshot": self.snapshot.as_deref().unwrap_or("false"),
            "db": self.db,
            "sequence": self.sequence,
            "ts_us": self.ts_us,
            "ts_ns": self.ts_ns,
            "table": self.table,
            "server_id": self.server_id,
            "gtid": self.gtid,
            "file": self.file,
            "pos": self.pos,
            "row": self.row,
            "thread": self.thread,
            "query": self.query,
        })
    }
}

const SNAPSHOT_ALLOWED: &str =
    "true,first,first_in_data_collection,last_in_data_collection,last,false,incremental";

fn field(ty: &str, optional: bool, name: &str) -> Json {
    json!({"type": ty, "optional": optional, "field": name})
}

fn string_array(optional: bool, name: &str) -> Json {
    json!({"type": "array", "items": {"type": "string", "optional": false},
           "optional": optional, "field": name})
}

/// Schema of the binlog `source` field (`io.debezium.connector.<connector>.Source`).
pub fn binlog_source_field_schema(connector: Connector) -> Json {
    let f = field;
    json!({
        "type": "struct",
        "fields": [
            f("string", false, "version"),
            f("string", false, "connector"),
            f("string", false, "name"),
            f("int64", false, "ts_ms"),
            {"type": "string", "optional": true, "name": "io.debezium.data.Enum", "version": 1,
             "parameters": {"allowed": SNAPSHOT_ALLOWED}, "default": "false", "field": "snapshot"},
            f("string", false, "db"),
            f("string", true, "sequence"),
            f("int64", true, "ts_us"),
            f("int64", true, "ts_ns"),
            f("string", true, "table"),
            f("int64", false, "server_id"),
            f("string", true, "gtid"),
            f("string", false, "file"),
            f("int64", false, "pos"),
            f("int32", false, "row"),
            f("int64", true, "thread"),
            f("string", true, "query"),
        ],
        "optional": false,
        "name": format!("io.debezium.connector.{}.Source", connector.name()),
        "version": 1,
        "field": "source",
    })
}

fn column_schema() -> Json {
    let f = field;
    json!({
        "type": "struct",
        "fields": [
            f("string", false, "name"),
            f("int32", false, "jdbcType"),
            f("int32", true, "nativeType"),
            f("string", false, "typeName"),
            f("string", true, "typeExpression"),
            f("string", true, "charsetName"),
            f("int32", true, "length"),
            f("int32", true, "scale"),
            f("int32", false, "position"),
            f("boolean", true, "optional"),
            f("boolean", true, "autoIncremented"),
            f("boolean", true, "generated"),
            f("string", true, "comment"),
            f("string", true, "defaultValueExpression"),
            string_array(true, "enumValues"),
        ],
        "optional": false,
        "name": "io.debezium.connector.schema.Column",
        "version": 1,
    })
}

fn table_schema() -> Json {
    json!({
        "type": "struct",
        "fields": [
            field("string", true, "defaultCharsetName"),
            string_array(true, "primaryKeyColumnNames"),
            {"type": "array", "items": column_schema(), "optional": false, "field": "columns"},
            field("string", true, "comment"),
        ],
        "optional": true,
        "name": "io.debezium.connector.schema.Table",
        "version": 1,
        "field": "table",
    })
}

fn change_schema() -> Json {
    json!({
        "type": "struct",
        "fields": [field("string", false, "type"), field("string", false, "id"), table_schema()],
        "optional": false,
        "name": "io.debezium.connector.schema.Change",
        "version": 1,
    })
}

/// Connect schema of the key.
pub fn key_schema(connector: Connector) -> Json {
    json!({
        "type": "struct",
        "fields": [field("string", false, "databaseName")],
        "optional": false,
        "name": format!("io.debezium.connector.{}.SchemaChangeKey", connector.name()),
        "version": 1,
    })
}

/// Connect schema of the value.
pub fn value_schema(connector: Connector) -> Json {
    json!({
        "type": "struct",
        "fields": [
            binlog_source_field_schema(connector),
            field("int64", false, "ts_ms"),
            field("string", true, "databaseName"),
            field("string", true, "schemaName"),
            field("string", true, "ddl"),
            {"type": "array", "items": change_schema(), "optional": false, "field": "tableChanges"},
        ],
        "optional": false,
        "name": format!("io.debezium.connector.{}.SchemaChangeValue", connector.name()),
        "version": 1,
    })
}

fn column_payload(col: &ColumnDef) -> Json {
    let meta = column_metadata(col);
    json!({
        "name": col.name,
        "jdbcType": meta.jdbc_type,
        "nativeType": null,
        "typeName": meta.type_name,
        "typeExpression": meta.type_name,
        "charsetName": col.charset,
        "length": meta.length,
        "scale": meta.scale,
        "position": col.position,
        "optional": col.nullable,
        "autoIncremented": col.auto_increment,
        "generated": col.generated,
        "comment": col.comment,
        "defaultValueExpression": col.default,
        "enumValues": if meta.enum_values.is_empty() { Json::Null } else { json!(meta.enum_values) },
    })
}

fn table_payload(table: &TableDef) -> Json {
    json!({
        "defaultCharsetName": table.default_charset,
        "primaryKeyColumnNames": table.primary_key,
        "columns": table.columns.iter().map(column_payload).collect::<Vec<_>>(),
        "comment": table.comment,
    })
}

fn change_payload(change: &TableChange) -> Json {
    let table = match (&change.kind, &change.table) {
        (TableChangeType::Drop, _) | (_, None) => Json::Null,
        (_, Some(t)) => table_payload(t),
    };
    json!({"type": change.kind.as_str(), "id": change.id.double_quoted(), "table": table})
}

/// A schema-change record's key and value bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaChangeRecord {
    pub key: Vec<u8>,
    pub value: Vec<u8>,
}

/// The key and value Debezium publishes on the `<topic.prefix>` topic for `change`; `ts_ms` is
/// the value's `ts_ms`.
pub fn schema_change_record(
    source: &SourceBlock,
    ts_ms: i64,
    change: &SchemaChange,
) -> SchemaChangeRecord {
    let connector = source.connector;
    let changes: Vec<Json> = TableChange::from_schema_change(change)
        .iter()
        .map(change_payload)
        .collect();
    let key = json!({
        "schema": key_schema(connector),
        "payload": {"databaseName": change.database},
    });
    let value = json!({
        "schema": value_schema(connector),
        "payload": {
            "source": source.payload(),
            "ts_ms": ts_ms,
            "databaseName": change.database,
            "schemaName": null,
            "ddl": change.ddl,
            "tableChanges": changes,
        },
    });
    // Serialising a serde_json::Value into memory cannot fail.
    SchemaChangeRecord {
        key: serde_json::to_vec(&key).unwrap_or_default(),
        value: serde_json::to_vec(&value).unwrap_or_default(),
    }
}
