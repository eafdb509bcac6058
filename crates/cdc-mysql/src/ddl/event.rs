//! The schema-change record Debezium's MySQL and MariaDB connectors publish on the
//! `<topic.prefix>` topic (`include.schema.changes=true`), as Kafka's `JsonConverter` writes it
//! with `schemas.enable=true`: key `io.debezium.connector.<connector>.SchemaChangeKey`
//! `{databaseName}`, value `io.debezium.connector.<connector>.SchemaChangeValue` `{source, ts_ms,
//! databaseName, schemaName, ddl, tableChanges}`; table changes in `ConnectTableChangeSerializer`'s
//! layout (Debezium 3.6 `SchemaFactory.schemaHistory*Schema`). The `source` field is the binlog
//! source block of `cdc-model` (`io.debezium.connector.<connector>.Source`), the connector
//! (`mysql` / `mariadb`) following from the source's [`cdc_model::Position::Binlog`] flavor.

use cdc_model::debezium::{source_payload, source_schema};
use cdc_model::SourceInfo;
use serde_json::{json, Value as Json};

use super::history::{TableChange, TableChangeType};
use super::metadata::column_metadata;
use super::model::{ChangeKind, ColumnDef, SchemaChange, TableDef, TableId};

fn field(ty: &str, optional: bool, name: &str) -> Json {
    json!({"type": ty, "optional": optional, "field": name})
}

fn string_array(optional: bool, name: &str) -> Json {
    json!({"type": "array", "items": {"type": "string", "optional": false},
           "optional": optional, "field": name})
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

/// Connect schema of the key (`connector`: `mysql` or `mariadb`, see
/// [`cdc_model::Position::connector`]).
pub fn key_schema(connector: &str) -> Json {
    json!({
        "type": "struct",
        "fields": [field("string", false, "databaseName")],
        "optional": false,
        "name": format!("io.debezium.connector.{connector}.SchemaChangeKey"),
        "version": 1,
    })
}

/// Connect schema of the value for records whose source is at `position`.
pub fn value_schema(position: &cdc_model::Position) -> Json {
    let connector = position.connector();
    json!({
        "type": "struct",
        "fields": [
            source_schema(position),
            field("int64", false, "ts_ms"),
            field("string", true, "databaseName"),
            field("string", true, "schemaName"),
            field("string", true, "ddl"),
            {"type": "array", "items": change_schema(), "optional": false, "field": "tableChanges"},
        ],
        "optional": false,
        "name": format!("io.debezium.connector.{connector}.SchemaChangeValue"),
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

/// The key and value Debezium publishes on the `<topic.prefix>` topic for one `change`, about
/// that change's table alone. `source` is the binlog source block at the DDL (its `db` is
/// replaced by the change's database, its table is the change's table); `ts_ms` is the value's
/// `ts_ms`. For the records of a whole statement use [`schema_change_records`].
pub fn schema_change_record(
    source: &SourceInfo,
    ts_ms: i64,
    change: &SchemaChange,
) -> SchemaChangeRecord {
    let table = change.table_id().map(|t| t.table.as_str());
    record(source, table, ts_ms, change)
}

/// The records Debezium publishes on the `<topic.prefix>` topic for the `changes` of one DDL
/// statement (as [`super::Schemas::apply`] returned them), in order.
///
/// As Debezium (`BinlogDatabaseSchema.parseDdl`), the changes are grouped by database and each
/// record's `source.table` names every table the statement touched in that database, comma
/// separated in the iteration order of Java's `HashSet<TableId>` (so `DROP TABLE a, b` gives two
/// records whose `source.table` is the same pair); `null` when no table is involved (`CREATE
/// DATABASE`). TRUNCATE TABLE gives no record: Debezium turns it into an op `t` data event.
pub fn schema_change_records(
    source: &SourceInfo,
    ts_ms: i64,
    changes: &[SchemaChange],
) -> Vec<SchemaChangeRecord> {
    changes
        .iter()
        .filter(|c| !matches!(c.kind, ChangeKind::TruncateTable(_)))
        .map(|change| {
            let tables: Vec<&TableId> = changes
                .iter()
                .filter(|c| c.database == change.database)
                .filter_map(SchemaChange::table_id)
                .collect();
            let names = java_hash_set_order(tables)
                .iter()
                .map(|t| t.table.as_str())
                .collect::<Vec<_>>()
                .join(",");
            let table = (!names.is_empty()).then_some(names.as_str());
            record(source, table, ts_ms, change)
        })
        .collect()
}

fn record(
    source: &SourceInfo,
    table: Option<&str>,
    ts_ms: i64,
    change: &SchemaChange,
) -> SchemaChangeRecord {
    let connector = source.position.connector();
    let mut source = source.clone();
    source.db.clone_from(&change.database);
    let changes: Vec<Json> = TableChange::from_schema_change(change)
        .iter()
        .map(change_payload)
        .collect();
    let key = json!({
        "schema": key_schema(connector),
        "payload": {"databaseName": change.database},
    });
    let value = json!({
        "schema": value_schema(&source.position),
        "payload": {
            "source": source_payload(&source, "", table),
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

/// `tables` (duplicates dropped) in the order a Java `HashSet<TableId>` built from them
/// iterates, as `new HashSet<>(set)` in `BinlogSourceInfo.tableEvent` leaves it: by bucket
/// (`hash ^ hash >>> 16` masked by the table size), insertion order within a bucket. Debezium's
/// `TableId.hashCode` is the hash of `db.table`.
fn java_hash_set_order(tables: Vec<&TableId>) -> Vec<&TableId> {
    let mut unique: Vec<&TableId> = Vec::with_capacity(tables.len());
    for t in tables {
        if !unique.contains(&t) {
            unique.push(t);
        }
    }
    // HashSet(Collection): initial capacity max(size / .75 + 1, 16), rounded up to a power of two.
    let wanted = ((unique.len() as f64 / 0.75) as usize + 1).max(16);
    let mask = wanted.next_power_of_two() - 1;
    let bucket = |t: &TableId| {
        let id = format!("{}.{}", t.database, t.table);
        let h = id
            .encode_utf16()
            .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)));
        let spread = (h ^ ((h as u32) >> 16) as i32) as u32;
        spread as usize & mask
    };
    unique.sort_by_key(|t| bucket(t));
    unique
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(ids: &[&str]) -> String {
        let ids: Vec<TableId> = ids
            .iter()
            .map(|s| {
                let (db, t) = s.split_once('.').unwrap();
                TableId::new(db, t)
            })
            .collect();
        java_hash_set_order(ids.iter().collect())
            .iter()
            .map(|t| format!("{}.{}", t.database, t.table))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Expected orders printed by Java 17: `String.join(",", new HashSet<>(set))` with the
    /// elements added in the order given (`TableId.hashCode` is the hash of `db.table`).
    #[test]
    fn table_order_is_java_hash_set_order() {
        assert_eq!(order(&["shop.t2", "shop.t1"]), "shop.t1,shop.t2");
        assert_eq!(
            order(&[
                "inventory.orders",
                "inventory.customers",
                "inventory.products"
            ]),
            "inventory.customers,inventory.orders,inventory.products"
        );
        assert_eq!(
            order(&["db.zeta", "db.alpha", "db.Mid", "db.b", "db.alpha"]),
            "db.zeta,db.Mid,db.b,db.alpha"
        );
        let many: Vec<String> = (0..30).map(|i| format!("db.t{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(
            order(&many),
            "db.t2,db.t3,db.t0,db.t1,db.t10,db.t11,db.t12,db.t13,db.t14,db.t15,db.t16,db.t17,\
             db.t18,db.t19,db.t8,db.t9,db.t6,db.t7,db.t4,db.t5,db.t20,db.t21,db.t22,db.t23,\
             db.t24,db.t25,db.t26,db.t27,db.t28,db.t29"
        );
    }
}
