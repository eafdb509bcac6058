//! The schema-change record on the `<topic.prefix>` topic: Connect schema (field order, names,
//! versions as Debezium 3.6's `SchemaFactory` builds them) and payload, against a golden file
//! (`tests/golden/ddl/schema_change_*.json`, regenerate with `UPDATE_GOLDEN=1`).

use std::path::Path;

use cdc_model::{BinlogFlavor, Position, SnapshotMarker, SourceInfo};
use cdc_mysql::ddl::{
    schema_change_record, schema_change_records, DdlOptions, Schemas, ServerVersion,
};
use serde_json::Value as Json;

/// The source block of the documented schema-change example (shared-mariadb-mysql.adoc:
/// server_id 223344, `<connector>-bin.000003`, pos 570, no GTID, no thread, no query).
fn source(flavor: BinlogFlavor) -> SourceInfo {
    SourceInfo {
        version: "3.6.3.Final".into(),
        name: "dbserver1".into(),
        db: "inventory".into(),
        ts_us: 1_700_000_000_000_000,
        snapshot: SnapshotMarker::False,
        position: Position::Binlog {
            flavor,
            server_id: 223344,
            gtid: None,
            file: "mysql-bin.000003".into(),
            pos: 570,
            row: 0,
            thread: None,
            query: None,
        },
    }
}

fn golden(name: &str, got: &Json) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/golden/ddl/{name}.json"));
    let text = serde_json::to_string_pretty(got).unwrap() + "\n";
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, text).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text, want, "{} differs", path.display());
}

fn field_names(schema: &Json) -> Vec<&str> {
    schema["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect()
}

#[test]
fn alter_add_column_record() {
    let mut schemas = Schemas::new(DdlOptions {
        server: ServerVersion::mysql(8, 0, 36),
        server_charset: Some("utf8mb4".into()),
        ..Default::default()
    });
    schemas
        .apply(
            "CREATE TABLE customers (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, first_name VARCHAR(255) NOT NULL, last_name VARCHAR(255) NOT NULL, email VARCHAR(255) NOT NULL UNIQUE KEY) AUTO_INCREMENT=1001",
            Some("inventory"),
        )
        .unwrap();
    let changes = schemas
        .apply(
            "ALTER TABLE customers ADD middle_name varchar(255) AFTER first_name",
            Some("inventory"),
        )
        .unwrap();
    assert_eq!(changes.len(), 1);
    let record = schema_change_record(&source(BinlogFlavor::MySql), 1_700_000_000_500, &changes[0]);
    let key: Json = serde_json::from_slice(&record.key).unwrap();
    let value: Json = serde_json::from_slice(&record.value).unwrap();

    assert_eq!(
        String::from_utf8(record.key.clone()).unwrap(),
        r#"{"schema":{"type":"struct","fields":[{"type":"string","optional":false,"field":"databaseName"}],"optional":false,"name":"io.debezium.connector.mysql.SchemaChangeKey","version":1},"payload":{"databaseName":"inventory"}}"#
    );
    let schema = &value["schema"];
    assert_eq!(
        schema["name"],
        "io.debezium.connector.mysql.SchemaChangeValue"
    );
    assert_eq!(
        field_names(schema),
        [
            "source",
            "ts_ms",
            "databaseName",
            "schemaName",
            "ddl",
            "tableChanges"
        ]
    );
    assert_eq!(
        field_names(&schema["fields"][0]),
        [
            "version",
            "connector",
            "name",
            "ts_ms",
            "snapshot",
            "db",
            "sequence",
            "ts_us",
            "ts_ns",
            "table",
            "server_id",
            "gtid",
            "file",
            "pos",
            "row",
            "thread",
            "query"
        ]
    );
    let change = &schema["fields"][5]["items"];
    assert_eq!(change["name"], "io.debezium.connector.schema.Change");
    assert_eq!(field_names(change), ["type", "id", "table"]);
    let table = &change["fields"][2];
    assert_eq!(table["name"], "io.debezium.connector.schema.Table");
    assert_eq!(table["optional"], true);
    assert_eq!(
        field_names(table),
        [
            "defaultCharsetName",
            "primaryKeyColumnNames",
            "columns",
            "comment"
        ]
    );
    assert_eq!(
        field_names(&table["fields"][2]["items"]),
        [
            "name",
            "jdbcType",
            "nativeType",
            "typeName",
            "typeExpression",
            "charsetName",
            "length",
            "scale",
            "position",
            "optional",
            "autoIncremented",
            "generated",
            "comment",
            "defaultValueExpression",
            "enumValues"
        ]
    );
    let payload = &value["payload"];
    assert_eq!(payload["databaseName"], "inventory");
    assert_eq!(payload["schemaName"], Json::Null);
    assert_eq!(payload["tableChanges"][0]["type"], "ALTER");
    assert_eq!(
        payload["tableChanges"][0]["id"],
        "\"inventory\".\"customers\""
    );
    let cols = &payload["tableChanges"][0]["table"]["columns"];
    assert_eq!(cols[2]["name"], "middle_name");
    assert_eq!(cols[2]["position"], 3);
    assert_eq!(cols[2]["optional"], true);
    assert_eq!(cols[0]["autoIncremented"], true);
    assert_eq!(cols[0]["generated"], true);
    golden("schema_change_alter", &key_value(&key, &value));
}

fn key_value(key: &Json, value: &Json) -> Json {
    serde_json::json!({"key": key, "value": value})
}

#[test]
fn drop_truncate_and_database_records() {
    let mut schemas = Schemas::new(DdlOptions::default());
    schemas.apply("CREATE DATABASE shop", None).unwrap();
    schemas.apply("CREATE TABLE shop.t (a INT)", None).unwrap();
    let mut out = Vec::new();
    for sql in ["TRUNCATE TABLE t", "DROP TABLE t", "DROP DATABASE shop"] {
        for change in schemas.apply(sql, Some("shop")).unwrap() {
            let record = schema_change_record(&source(BinlogFlavor::MariaDb), 1, &change);
            let value: Json = serde_json::from_slice(&record.value).unwrap();
            assert_eq!(
                value["schema"]["name"],
                "io.debezium.connector.mariadb.SchemaChangeValue"
            );
            assert_eq!(value["payload"]["source"]["connector"], "mariadb");
            out.push(value["payload"].clone());
        }
    }
    assert_eq!(out.len(), 3);
    assert_eq!(out[0]["tableChanges"], serde_json::json!([]));
    assert_eq!(
        out[1]["tableChanges"],
        serde_json::json!([{"type": "DROP", "id": "\"shop\".\"t\"", "table": null}])
    );
    assert_eq!(out[1]["ddl"], "DROP TABLE `shop`.`t`");
    assert_eq!(out[2]["tableChanges"], serde_json::json!([]));
    assert_eq!(out[2]["databaseName"], "shop");
}

/// A statement's records: grouped by database, `source.table` naming every table of the
/// statement in that database (Java `HashSet` order), `null` without tables; no record for
/// TRUNCATE (Debezium emits an op `t` data event instead).
#[test]
fn statement_records_name_all_tables_of_their_database() {
    let mut schemas = Schemas::new(DdlOptions::default());
    schemas.apply("CREATE DATABASE shop", None).unwrap();
    schemas.apply("CREATE TABLE shop.t2 (a INT)", None).unwrap();
    schemas.apply("CREATE TABLE shop.t1 (a INT)", None).unwrap();
    let payloads = |schemas: &mut Schemas, sql: &str| -> Vec<Json> {
        let changes = schemas.apply(sql, Some("shop")).unwrap();
        schema_change_records(&source(BinlogFlavor::MySql), 7, &changes)
            .iter()
            .map(|r| serde_json::from_slice::<Json>(&r.value).unwrap()["payload"].clone())
            .collect()
    };

    let dropped = payloads(&mut schemas, "DROP TABLE t2, t1");
    assert_eq!(dropped.len(), 2);
    for p in &dropped {
        // Java 17: new HashSet<>(Set.of("shop.t2", "shop.t1")) iterates shop.t1, shop.t2.
        assert_eq!(p["source"]["table"], "t1,t2");
        assert_eq!(p["source"]["db"], "shop");
        assert_eq!(p["source"]["connector"], "mysql");
        assert_eq!(p["ts_ms"], 7);
    }
    assert_eq!(dropped[0]["ddl"], "DROP TABLE `shop`.`t2`");
    assert_eq!(dropped[1]["ddl"], "DROP TABLE `shop`.`t1`");

    let created = payloads(&mut schemas, "CREATE DATABASE other");
    assert_eq!(created.len(), 1);
    assert_eq!(created[0]["source"]["table"], Json::Null);
    assert_eq!(created[0]["source"]["db"], "other");
    assert_eq!(created[0]["databaseName"], "other");

    schemas.apply("CREATE TABLE shop.t (a INT)", None).unwrap();
    assert!(payloads(&mut schemas, "TRUNCATE TABLE shop.t").is_empty());
}

/// The source block is cdc-model's: byte-identical to the `source` of a data event at the same
/// position, with the schema of that connector.
#[test]
fn source_block_is_the_binlog_source_of_cdc_model() {
    let mut schemas = Schemas::new(DdlOptions::default());
    let changes = schemas
        .apply(
            "CREATE TABLE inventory.customers (id INT PRIMARY KEY)",
            None,
        )
        .unwrap();
    for flavor in [BinlogFlavor::MySql, BinlogFlavor::MariaDb] {
        let source = source(flavor);
        let record = schema_change_record(&source, 1, &changes[0]);
        let value: Json = serde_json::from_slice(&record.value).unwrap();
        assert_eq!(
            value["schema"]["fields"][0],
            cdc_model::debezium::binlog_source_schema(flavor)
        );
        assert_eq!(
            value["payload"]["source"],
            cdc_model::debezium::source_payload(&source, "", Some("customers"))
        );
        let key: Json = serde_json::from_slice(&record.key).unwrap();
        assert_eq!(
            key["schema"]["name"],
            format!(
                "io.debezium.connector.{}.SchemaChangeKey",
                flavor.connector()
            )
        );
    }
}
