//! Debezium's schema history record, as `KafkaSchemaHistory` writes it to
//! `schema.history.internal.kafka.topic` (one JSON document per record, null key, partition 0):
//! `{"source":{…},"position":{…},"ts_ms":…,"databaseName":…,"schemaName":…,"ddl":…,
//! "tableChanges":[…]}` (`io.debezium.relational.history.HistoryRecord`), the table changes in
//! `JsonTableChangeSerializer`'s layout; and recovery of [`Schemas`] from a sequence of records.

use serde_json::{json, Map, Value as Json};
use sqlparser::ast::DataType;

use super::metadata::column_metadata;
use super::model::{ChangeKind, ColumnDef, SchemaChange, TableDef, TableId, TypeAttributes};
use super::rewrite::column_tail;
use super::tokens::{parse_with, tokenize};
use super::DdlError;

/// A history record could not be read or replayed.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("schema history record is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("schema history record is malformed: {0}")]
    Malformed(String),
    #[error("schema history record at position {position} could not be replayed: {source}")]
    Replay {
        position: String,
        #[source]
        source: DdlError,
    },
}

fn malformed(msg: impl Into<String>) -> HistoryError {
    HistoryError::Malformed(msg.into())
}

/// `TableChanges.TableChangeType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableChangeType {
    Create,
    Alter,
    Drop,
}

impl TableChangeType {
    pub fn as_str(self) -> &'static str {
        match self {
            TableChangeType::Create => "CREATE",
            TableChangeType::Alter => "ALTER",
            TableChangeType::Drop => "DROP",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "CREATE" => Some(TableChangeType::Create),
            "ALTER" => Some(TableChangeType::Alter),
            "DROP" => Some(TableChangeType::Drop),
            _ => None,
        }
    }
}

/// One entry of `tableChanges`: the table after the change (none for DROP).
#[derive(Debug, Clone, PartialEq)]
pub struct TableChange {
    pub kind: TableChangeType,
    pub id: TableId,
    /// The old id of a renamed table.
    pub previous_id: Option<TableId>,
    pub table: Option<TableDef>,
}

impl TableChange {
    /// The table change Debezium records for a schema change (TRUNCATE and database
    /// statements record none).
    pub fn from_schema_change(change: &SchemaChange) -> Option<TableChange> {
        match &change.kind {
            ChangeKind::CreateTable(t) => Some(TableChange {
                kind: TableChangeType::Create,
                id: t.id.clone(),
                previous_id: None,
                table: Some(t.clone()),
            }),
            ChangeKind::AlterTable { table, previous } => Some(TableChange {
                kind: TableChangeType::Alter,
                id: table.id.clone(),
                previous_id: previous.clone(),
                table: Some(table.clone()),
            }),
            ChangeKind::DropTable(id) => Some(TableChange {
                kind: TableChangeType::Drop,
                id: id.clone(),
                previous_id: None,
                table: None,
            }),
            ChangeKind::TruncateTable(_) | ChangeKind::Database => None,
        }
    }
}

/// One schema history record.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryRecord {
    /// Debezium writes `{"server": "<topic.prefix>"}`.
    pub source: Map<String, Json>,
    /// The connector offset at the DDL (binlog file/pos, GTIDs, …).
    pub position: Map<String, Json>,
    pub ts_ms: Option<i64>,
    pub database_name: Option<String>,
    pub schema_name: Option<String>,
    pub ddl: Option<String>,
    pub table_changes: Option<Vec<TableChange>>,
}

impl HistoryRecord {
    /// The record Debezium writes for one schema change.
    pub fn for_change(
        server: &str,
        position: Map<String, Json>,
        ts_ms: i64,
        change: &SchemaChange,
    ) -> HistoryRecord {
        let mut source = Map::new();
        source.insert("server".into(), Json::String(server.to_string()));
        HistoryRecord {
            source,
            position,
            ts_ms: Some(ts_ms),
            database_name: Some(change.database.clone()),
            schema_name: None,
            ddl: Some(change.ddl.clone()),
            table_changes: Some(
                TableChange::from_schema_change(change)
                    .into_iter()
                    .collect(),
            ),
        }
    }

    /// The JSON document, keys in Debezium's order.
    pub fn to_json(&self) -> Json {
        let mut doc = Map::new();
        doc.insert("source".into(), Json::Object(self.source.clone()));
        doc.insert("position".into(), Json::Object(self.position.clone()));
        if let Some(ts) = self.ts_ms {
            doc.insert("ts_ms".into(), json!(ts));
        }
        if let Some(d) = &self.database_name {
            doc.insert("databaseName".into(), json!(d));
        }
        if let Some(s) = &self.schema_name {
            doc.insert("schemaName".into(), json!(s));
        }
        if let Some(d) = &self.ddl {
            doc.insert("ddl".into(), json!(d));
        }
        if let Some(changes) = &self.table_changes {
            doc.insert(
                "tableChanges".into(),
                Json::Array(changes.iter().map(table_change_json).collect()),
            );
        }
        Json::Object(doc)
    }

    /// The Kafka record value.
    pub fn encode(&self) -> Vec<u8> {
        // Serialising a serde_json::Value into memory cannot fail.
        serde_json::to_vec(&self.to_json()).unwrap_or_default()
    }

    pub fn decode(bytes: &[u8]) -> Result<HistoryRecord, HistoryError> {
        let doc: Json = serde_json::from_slice(bytes)?;
        Self::from_json(&doc)
    }

    pub fn from_json(doc: &Json) -> Result<HistoryRecord, HistoryError> {
        let obj = doc
            .as_object()
            .ok_or_else(|| malformed("not a JSON object"))?;
        let map = |key: &str| -> Result<Map<String, Json>, HistoryError> {
            match obj.get(key) {
                Some(Json::Object(m)) => Ok(m.clone()),
                _ => Err(malformed(format!("`{key}` is missing or not an object"))),
            }
        };
        let string = |key: &str| obj.get(key).and_then(Json::as_str).map(str::to_string);
        let table_changes = match obj.get("tableChanges") {
            None | Some(Json::Null) => None,
            Some(Json::Array(items)) => Some(
                items
                    .iter()
                    .map(table_change_from_json)
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            Some(_) => return Err(malformed("`tableChanges` is not an array")),
        };
        Ok(HistoryRecord {
            source: map("source")?,
            position: map("position")?,
            ts_ms: obj.get("ts_ms").and_then(Json::as_i64),
            database_name: string("databaseName"),
            schema_name: string("schemaName"),
            ddl: string("ddl"),
            table_changes,
        })
    }
}

/// A table change in `JsonTableChangeSerializer`'s layout.
pub fn table_change_json(change: &TableChange) -> Json {
    let mut doc = Map::new();
    doc.insert("type".into(), json!(change.kind.as_str()));
    doc.insert("id".into(), json!(change.id.double_quoted()));
    if let Some(prev) = &change.previous_id {
        doc.insert("previousId".into(), json!(prev.double_quoted()));
    }
    if let Some(table) = &change.table {
        doc.insert("table".into(), table_json(table));
        doc.insert("comment".into(), json!(table.comment));
    }
    Json::Object(doc)
}

fn table_json(table: &TableDef) -> Json {
    let columns: Vec<Json> = table.columns.iter().map(column_json).collect();
    json!({
        "defaultCharsetName": table.default_charset,
        "primaryKeyColumnNames": table.primary_key,
        "columns": columns,
        "attributes": [],
    })
}

fn column_json(col: &ColumnDef) -> Json {
    let meta = column_metadata(col);
    let mut doc = Map::new();
    doc.insert("name".into(), json!(col.name));
    doc.insert("jdbcType".into(), json!(meta.jdbc_type));
    doc.insert("typeName".into(), json!(meta.type_name));
    doc.insert("typeExpression".into(), json!(meta.type_name));
    doc.insert("charsetName".into(), json!(col.charset));
    if let Some(l) = meta.length {
        doc.insert("length".into(), json!(l));
    }
    if let Some(s) = meta.scale {
        doc.insert("scale".into(), json!(s));
    }
    doc.insert("position".into(), json!(col.position));
    doc.insert("optional".into(), json!(col.nullable));
    doc.insert("autoIncremented".into(), json!(col.auto_increment));
    doc.insert("generated".into(), json!(col.generated));
    doc.insert("comment".into(), json!(col.comment));
    doc.insert("hasDefaultValue".into(), json!(col.has_default));
    if let Some(d) = &col.default {
        doc.insert("defaultValueExpression".into(), json!(d));
    }
    doc.insert("enumValues".into(), json!(meta.enum_values));
    Json::Object(doc)
}

fn table_change_from_json(doc: &Json) -> Result<TableChange, HistoryError> {
    let kind = doc
        .get("type")
        .and_then(Json::as_str)
        .and_then(TableChangeType::parse)
        .ok_or_else(|| malformed("table change without a valid `type`"))?;
    let id_text = doc
        .get("id")
        .and_then(Json::as_str)
        .ok_or_else(|| malformed("table change without `id`"))?;
    let id = TableId::parse_double_quoted(id_text)
        .ok_or_else(|| malformed(format!("table id `{id_text}` is not \"db\".\"table\"")))?;
    let previous_id = match doc.get("previousId").and_then(Json::as_str) {
        Some(p) => Some(
            TableId::parse_double_quoted(p)
                .ok_or_else(|| malformed(format!("table id `{p}` is not \"db\".\"table\"")))?,
        ),
        None => None,
    };
    let table = match kind {
        TableChangeType::Drop => None,
        _ => {
            let t = doc
                .get("table")
                .ok_or_else(|| malformed(format!("{} of {id} without `table`", kind.as_str())))?;
            let mut table = table_from_json(id.clone(), t)?;
            table.comment = doc
                .get("comment")
                .and_then(Json::as_str)
                .map(str::to_string);
            Some(table)
        }
    };
    Ok(TableChange {
        kind,
        id,
        previous_id,
        table,
    })
}

/// A table from its `table` document (`JsonTableChangeSerializer.fromDocument`). Column types
/// are rebuilt from `typeName`, `length`, `scale` and `enumValues`.
pub fn table_from_json(id: TableId, doc: &Json) -> Result<TableDef, HistoryError> {
    let columns = doc
        .get("columns")
        .and_then(Json::as_array)
        .ok_or_else(|| malformed(format!("table {id} without `columns`")))?
        .iter()
        .map(|c| column_from_json(&id, c))
        .collect::<Result<Vec<_>, _>>()?;
    let primary_key = match doc.get("primaryKeyColumnNames") {
        Some(Json::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str().map(str::to_string).ok_or_else(|| {
                    malformed(format!("table {id}: primary key name is not a string"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?,
        None | Some(Json::Null) => Vec::new(),
        Some(_) => {
            return Err(malformed(format!(
                "table {id}: `primaryKeyColumnNames` is not an array"
            )))
        }
    };
    Ok(TableDef {
        id,
        columns,
        primary_key,
        default_charset: doc
            .get("defaultCharsetName")
            .and_then(Json::as_str)
            .map(str::to_string),
        comment: None,
    })
}

fn column_from_json(table: &TableId, doc: &Json) -> Result<ColumnDef, HistoryError> {
    let name = doc
        .get("name")
        .and_then(Json::as_str)
        .ok_or_else(|| malformed(format!("table {table}: column without `name`")))?
        .to_string();
    let int = |k: &str| doc.get(k).and_then(Json::as_i64);
    let boolean = |k: &str| doc.get(k).and_then(Json::as_bool);
    let string = |k: &str| doc.get(k).and_then(Json::as_str).map(str::to_string);
    let type_name = string("typeName")
        .ok_or_else(|| malformed(format!("column {table}.{name} without `typeName`")))?;
    let enum_values: Vec<String> = doc
        .get("enumValues")
        .and_then(Json::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Json::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let (data_type, attributes) =
        rebuild_type(&type_name, int("length"), int("scale"), &enum_values)
            .map_err(|e| malformed(format!("column {table}.{name}: type `{type_name}`: {e}")))?;
    let default = string("defaultValueExpression");
    Ok(ColumnDef {
        name,
        data_type,
        nullable: boolean("optional").unwrap_or(true),
        charset: string("charsetName"),
        collation: None,
        has_default: boolean("hasDefaultValue").unwrap_or(default.is_some()),
        default,
        auto_increment: boolean("autoIncremented").unwrap_or(false),
        generated: boolean("generated").unwrap_or(false),
        computed: false,
        comment: string("comment"),
        position: int("position")
            .and_then(|p| u32::try_from(p).ok())
            .ok_or_else(|| malformed(format!("column {table}: missing or invalid `position`")))?,
        attributes,
    })
}

/// A data type from Debezium's type name (`INT UNSIGNED`, `DECIMAL`), length, scale and enum
/// values: `INT(11) UNSIGNED`, `DECIMAL(10,2)`, `ENUM('a','b')`.
fn rebuild_type(
    type_name: &str,
    length: Option<i64>,
    scale: Option<i64>,
    enum_values: &[String],
) -> Result<(DataType, TypeAttributes), String> {
    let words: Vec<&str> = type_name.split_whitespace().collect();
    let is_modifier = |w: &&str| {
        ["UNSIGNED", "SIGNED", "ZEROFILL", "BINARY"]
            .iter()
            .any(|m| w.eq_ignore_ascii_case(m))
    };
    let split = words
        .iter()
        .rposition(|w| !is_modifier(w))
        .map_or(0, |i| i + 1)
        .max(1)
        .min(words.len());
    let core = words[..split].join(" ");
    let modifiers = words[split..].join(" ");
    let upper = core.to_ascii_uppercase();
    let args = if upper == "ENUM" || upper == "SET" {
        let quoted: Vec<String> = enum_values
            .iter()
            .map(|v| format!("'{}'", v.replace('\\', "\\\\").replace('\'', "''")))
            .collect();
        format!("({})", quoted.join(","))
    } else {
        match (length, scale) {
            (Some(l), Some(s)) => format!("({l},{s})"),
            (Some(l), None) => format!("({l})"),
            _ => String::new(),
        }
    };
    let attempt = |args: &str| -> Result<(DataType, TypeAttributes), String> {
        let text = format!("{core}{args} {modifiers}");
        let toks = tokenize(&text)?;
        let (toks, attributes) = column_tail(&toks);
        Ok((parse_with(&toks, |p| p.parse_data_type())?, attributes))
    };
    attempt(&args).or_else(|e| if args.is_empty() { Err(e) } else { attempt("") })
}
