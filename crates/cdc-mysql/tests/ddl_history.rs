//! Schema history records: encode/decode round trips and recovery of the tracker from them,
//! both from `tableChanges` and by re-parsing `ddl`, over every golden DDL fixture.

use std::path::Path;

use cdc_mysql::ddl::{
    table_change_json, DdlOptions, HistoryRecord, Schemas, ServerVersion, TableChange,
    TableChangeType, TableDef,
};
use serde_json::{json, Map};

fn options() -> DdlOptions {
    DdlOptions {
        skip_unparseable: true,
        server: ServerVersion::mysql(8, 0, 36),
        server_charset: Some("utf8mb4".into()),
    }
}

/// Applies every golden fixture event, recording a history record per change.
fn tracked() -> (Schemas, Vec<HistoryRecord>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/ddl");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("sql"))
        .collect();
    names.sort();
    let mut schemas = Schemas::new(options());
    let mut records = Vec::new();
    let mut pos = 4u64;
    for path in names {
        let text = std::fs::read_to_string(&path).unwrap();
        for chunk in text.split("-- event").skip(1) {
            let (head, sql) = chunk.split_once('\n').unwrap_or((chunk, ""));
            let db = head.trim().strip_prefix("db=");
            for change in schemas.apply(sql, db).unwrap() {
                pos += 100;
                let mut position = Map::new();
                position.insert("file".into(), json!("binlog.000003"));
                position.insert("pos".into(), json!(pos));
                position.insert("server_id".into(), json!(223344));
                records.push(HistoryRecord::for_change(
                    "dbserver1",
                    position,
                    1_700_000_000_000,
                    &change,
                ));
            }
        }
    }
    (schemas, records)
}

fn snapshot(schemas: &Schemas) -> Vec<serde_json::Value> {
    schemas
        .tables()
        .map(|t: &TableDef| {
            table_change_json(&TableChange {
                kind: TableChangeType::Create,
                id: t.id.clone(),
                previous_id: None,
                table: Some(t.clone()),
            })
        })
        .collect()
}

#[test]
fn records_round_trip() {
    let (_, records) = tracked();
    assert!(
        records.len() > 50,
        "fixtures produced {} records",
        records.len()
    );
    for record in &records {
        let bytes = record.encode();
        let back = HistoryRecord::decode(&bytes).unwrap();
        // Column collations and generated-column expressions are not part of Debezium's
        // format; everything it carries comes back.
        assert_eq!(back.to_json(), record.to_json());
        assert_eq!(back.encode(), bytes);
    }
}

#[test]
fn record_layout_matches_debezium() {
    let mut schemas = Schemas::new(options());
    let changes = schemas
        .apply(
            "CREATE TABLE `t` (`id` int NOT NULL AUTO_INCREMENT, `name` varchar(20) DEFAULT 'x' COMMENT 'n', `e` enum('a','b'), PRIMARY KEY (`id`)) DEFAULT CHARSET=latin1 COMMENT='tbl'",
            Some("db"),
        )
        .unwrap();
    let mut position = Map::new();
    position.insert("file".into(), json!("binlog.000001"));
    position.insert("pos".into(), json!(157));
    let record = HistoryRecord::for_change("srv", position, 1700000000123, &changes[0]);
    let expected = json!({
        "source": {"server": "srv"},
        "position": {"file": "binlog.000001", "pos": 157},
        "ts_ms": 1700000000123i64,
        "databaseName": "db",
        "ddl": "CREATE TABLE `t` (`id` int NOT NULL AUTO_INCREMENT, `name` varchar(20) DEFAULT 'x' COMMENT 'n', `e` enum('a','b'), PRIMARY KEY (`id`)) DEFAULT CHARSET=latin1 COMMENT='tbl'",
        "tableChanges": [{
            "type": "CREATE",
            "id": "\"db\".\"t\"",
            "table": {
                "defaultCharsetName": "latin1",
                "primaryKeyColumnNames": ["id"],
                "columns": [
                    {"name": "id", "jdbcType": 4, "typeName": "INT", "typeExpression": "INT",
                     "charsetName": null, "position": 1, "optional": false,
                     "autoIncremented": true, "generated": true, "comment": null,
                     "hasDefaultValue": false, "enumValues": []},
                    {"name": "name", "jdbcType": 12, "typeName": "VARCHAR", "typeExpression": "VARCHAR",
                     "charsetName": "latin1", "length": 20, "position": 2, "optional": true,
                     "autoIncremented": false, "generated": false, "comment": "n",
                     "hasDefaultValue": true, "defaultValueExpression": "x", "enumValues": []},
                    {"name": "e", "jdbcType": 1, "typeName": "ENUM", "typeExpression": "ENUM",
                     "charsetName": "latin1", "length": 1, "position": 3, "optional": true,
                     "autoIncremented": false, "generated": false, "comment": null,
                     "hasDefaultValue": true, "enumValues": ["a", "b"]}
                ],
                "attributes": []
            },
            "comment": "tbl"
        }]
    });
    assert_eq!(record.to_json(), expected);
    // Key order is Debezium's, not alphabetical.
    let text = String::from_utf8(record.encode()).unwrap();
    assert!(
        text.starts_with("{\"source\":{\"server\":\"srv\"},\"position\":"),
        "{text}"
    );
    assert!(text.contains(
        "\"typeName\":\"INT\",\"typeExpression\":\"INT\",\"charsetName\":null,\"position\":1"
    ));
}

#[test]
fn recovery_from_table_changes_rebuilds_the_schema() {
    let (schemas, records) = tracked();
    let mut recovered = Schemas::new(options());
    recovered.recover(&records, false).unwrap();
    assert_eq!(snapshot(&recovered), snapshot(&schemas));
    // Column types come back from typeName/length/scale/enumValues.
    for table in schemas.tables() {
        let other = recovered.table_by_id(&table.id).unwrap();
        for (a, b) in table.columns.iter().zip(&other.columns) {
            assert_eq!(
                cdc_mysql::ddl::column_metadata(a),
                cdc_mysql::ddl::column_metadata(b),
                "{}.{}",
                table.id,
                a.name
            );
        }
    }
}

#[test]
fn recovery_by_reparsing_ddl_rebuilds_the_schema() {
    let (schemas, records) = tracked();
    let mut recovered = Schemas::new(options());
    recovered.recover(&records, true).unwrap();
    assert_eq!(snapshot(&recovered), snapshot(&schemas));
    // Records without tableChanges (as older Debezium versions wrote) re-parse too.
    let stripped: Vec<HistoryRecord> = records
        .iter()
        .cloned()
        .map(|mut r| {
            r.table_changes = None;
            r
        })
        .collect();
    let mut recovered = Schemas::new(options());
    recovered.recover(&stripped, false).unwrap();
    assert_eq!(snapshot(&recovered), snapshot(&schemas));
    assert!(!snapshot(&schemas).is_empty());
}

#[test]
fn malformed_records_are_errors() {
    for bad in [
        &b"not json"[..],
        b"[]",
        b"{\"source\":{}}",
        b"{\"source\":{},\"position\":{},\"tableChanges\":{}}",
        b"{\"source\":{},\"position\":{},\"tableChanges\":[{\"type\":\"CREATE\",\"id\":\"x\"}]}",
        b"{\"source\":{},\"position\":{},\"tableChanges\":[{\"type\":\"CREATE\",\"id\":\"\\\"a\\\".\\\"b\\\"\"}]}",
        b"{\"source\":{},\"position\":{},\"tableChanges\":[{\"type\":\"NOPE\",\"id\":\"\\\"a\\\".\\\"b\\\"\"}]}",
        b"{\"source\":{},\"position\":{},\"tableChanges\":[{\"type\":\"ALTER\",\"id\":\"\\\"a\\\".\\\"b\\\"\",\"table\":{\"columns\":[{\"name\":\"c\"}]}}]}",
    ] {
        assert!(HistoryRecord::decode(bad).is_err(), "{}", String::from_utf8_lossy(bad));
    }
}

#[test]
fn replay_failure_names_the_position() {
    let mut position = Map::new();
    position.insert("pos".into(), json!(42));
    let record = HistoryRecord {
        source: Map::new(),
        position,
        ts_ms: None,
        database_name: Some("db".into()),
        schema_name: None,
        ddl: Some("ALTER TABLE missing ADD COLUMN c INT".into()),
        table_changes: Some(Vec::new()),
    };
    let err = Schemas::new(DdlOptions::default())
        .recover([&record], false)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("{\"pos\":42}") && err.contains("missing"),
        "{err}"
    );
}
