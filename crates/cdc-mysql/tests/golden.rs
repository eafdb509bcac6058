//! Golden tests: column values Debezium's own MySQL tests expect (each file under
//! `tests/golden/` names its source in `source`), run through the MySQL type mapping, both
//! value paths (binlog row value and snapshot result value) and the event model's Debezium
//! JSON encoder; the field schema (type, name, parameters, optional) and the payload value
//! are compared field by field.
//!
//! Fixture inputs: `binlog` is one of `{"int": n}`, `{"uint": n}`, `{"float": x}`,
//! `{"double": x}`, `{"text": "…"}` / `{"hex": "…"}` (bytes), `{"date": [y,m,d,h,mi,s,µs]}`,
//! `{"time": [negative, days, h, m, s, µs]}`, `{"json": <document>}` (MySQL binary JSON),
//! `{"null": true}`; `snapshot` is a list of the same forms (text protocol values are
//! `text` / `hex`, binary protocol values the typed forms).

use std::path::Path;
use std::sync::Arc;

use cdc_model::debezium::{BinaryMode, DecimalMode, TableCodec};
use cdc_model::{
    BinlogFlavor, ChangeEvent, Column, Op, Position, SnapshotMarker, SourceInfo, TableId,
    TableSchema, Value,
};
use cdc_mysql::types::{map_column, BigIntUnsignedMode, HandlingModes, MappedColumn};
use mysql_async::binlog::value::BinlogValue;
use mysql_async::Value as My;
use serde_json::Value as J;
use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;

#[path = "support/jsonb.rs"]
mod jsonb_support;

fn parse_type(ty: &str) -> sqlparser::ast::DataType {
    let sql = format!("CREATE TABLE t (c {ty})");
    let stmts = Parser::parse_sql(&MySqlDialect {}, &sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    match &stmts[0] {
        sqlparser::ast::Statement::CreateTable(ct) => ct.columns[0].data_type.clone(),
        other => panic!("{other:?}"),
    }
}

fn modes(spec: Option<&J>) -> HandlingModes {
    let mut m = HandlingModes::default();
    let Some(spec) = spec else { return m };
    let get = |k: &str| spec.get(k).and_then(J::as_str);
    match get("bigint.unsigned.handling.mode") {
        Some("precise") => m.bigint_unsigned_handling_mode = BigIntUnsignedMode::Precise,
        Some("long") | None => {}
        Some(other) => panic!("bigint mode {other}"),
    }
    match get("decimal.handling.mode") {
        Some("double") => m.value.decimal_handling_mode = DecimalMode::Double,
        Some("string") => m.value.decimal_handling_mode = DecimalMode::String,
        Some("precise") | None => {}
        Some(other) => panic!("decimal mode {other}"),
    }
    match get("binary.handling.mode") {
        Some("hex") => m.value.binary_handling_mode = BinaryMode::Hex,
        Some("base64") => m.value.binary_handling_mode = BinaryMode::Base64,
        Some("base64-url-safe") => m.value.binary_handling_mode = BinaryMode::Base64UrlSafe,
        Some("bytes") | None => {}
        Some(other) => panic!("binary mode {other}"),
    }
    if let Some(b) = spec.get("enable.time.adjuster").and_then(J::as_bool) {
        m.enable_time_adjuster = b;
    }
    m
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

fn my_value(input: &J) -> My {
    let (kind, v) = input
        .as_object()
        .and_then(|o| o.iter().next())
        .expect("one-key input");
    let n = |i: usize| v[i].as_u64().expect("number");
    match kind.as_str() {
        "null" => My::NULL,
        "int" => My::Int(v.as_i64().expect("int")),
        "uint" => My::UInt(v.as_u64().expect("uint")),
        "float" => My::Float(v.as_f64().expect("float") as f32),
        "double" => My::Double(v.as_f64().expect("double")),
        "text" => My::Bytes(v.as_str().expect("text").as_bytes().to_vec()),
        "hex" => My::Bytes(hex(v.as_str().expect("hex"))),
        "date" => My::Date(
            n(0) as u16,
            n(1) as u8,
            n(2) as u8,
            n(3) as u8,
            n(4) as u8,
            n(5) as u8,
            n(6) as u32,
        ),
        "time" => My::Time(
            v[0].as_bool().expect("sign"),
            n(1) as u32,
            n(2) as u8,
            n(3) as u8,
            n(4) as u8,
            n(5) as u32,
        ),
        other => panic!("unknown input form {other}"),
    }
}

fn binlog_value(input: &J) -> BinlogValue<'static> {
    match input.get("json") {
        Some(doc) => BinlogValue::Jsonb(jsonb_support::parse(&jsonb_support::encode(doc))),
        None => BinlogValue::Value(my_value(input)),
    }
}

fn source() -> SourceInfo {
    SourceInfo {
        version: "3.6.3.Final".into(),
        name: "mysql".into(),
        db: "db".into(),
        ts_us: 0,
        snapshot: SnapshotMarker::False,
        position: Position::Binlog {
            flavor: BinlogFlavor::MySql,
            server_id: 1,
            gtid: None,
            file: "mysql-bin.000001".into(),
            pos: 4,
            row: 0,
            thread: None,
            query: None,
        },
    }
}

/// The `after` field schema and payload value of `value` in a one-column table.
fn encoded(column: &MappedColumn, nullable: bool, modes: &HandlingModes, value: Value) -> (J, J) {
    let table = Arc::new(TableSchema {
        id: TableId::new("db", "t"),
        columns: vec![Column::new(
            column.name.clone(),
            column.ty.clone(),
            nullable,
        )],
        key: vec![],
    });
    let codec = TableCodec::new(table.clone(), "mysql.db.t", &modes.value);
    let event = ChangeEvent {
        table,
        op: Op::Create,
        before: None,
        after: Some(vec![value]),
        source: source(),
        transaction: None,
        ts_ns: 0,
    };
    let bytes = codec.encode_value(&event).expect("encodes");
    let json: J = serde_json::from_slice(&bytes).expect("JSON");
    let schema = json["schema"]["fields"][1]["fields"][0].clone();
    let value = json["payload"]["after"][&column.name].clone();
    (schema, value)
}

fn run(path: &Path) -> usize {
    let text = std::fs::read_to_string(path).expect("golden file");
    let golden: J = serde_json::from_str(&text).expect("golden JSON");
    let file = path.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        golden["source"]
            .as_str()
            .is_some_and(|s| s.contains("debezium")),
        "{file}: source"
    );
    let modes = modes(golden.get("modes"));
    let mut checked = 0;
    for spec in golden["columns"].as_array().expect("columns") {
        let name = spec["name"].as_str().expect("name");
        let ctx = format!("{file} column {name}");
        let nullable = spec.get("nullable").and_then(J::as_bool).unwrap_or(true);
        let column = map_column(
            name,
            &parse_type(spec["type"].as_str().expect("type")),
            spec.get("charset").and_then(J::as_str),
            &modes,
        )
        .unwrap_or_else(|e| panic!("{ctx}: {e}"));
        for case in spec["cases"].as_array().expect("cases") {
            let from_binlog = column
                .binlog_value(&binlog_value(&case["binlog"]))
                .unwrap_or_else(|e| panic!("{ctx}: binlog: {e}"));
            for snap in case["snapshot"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
            {
                let from_snapshot = column
                    .snapshot_value(&my_value(snap))
                    .unwrap_or_else(|e| panic!("{ctx}: snapshot {snap}: {e}"));
                assert_eq!(
                    from_binlog, from_snapshot,
                    "{ctx}: binlog vs snapshot {snap}"
                );
            }
            let (schema, value) = encoded(&column, nullable, &modes, from_binlog);
            for (key, expected) in spec["schema"].as_object().expect("schema") {
                assert_eq!(&schema[key], expected, "{ctx}: schema {key} in {schema}");
            }
            if spec["schema"].get("parameters").is_none() {
                assert!(
                    schema.get("parameters").is_none(),
                    "{ctx}: unexpected parameters {schema}"
                );
            }
            assert_eq!(value, case["value"], "{ctx}: value for {}", case["binlog"]);
            checked += 1;
        }
    }
    checked
}

#[test]
fn debezium_mysql_golden_values() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("golden dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 6, "golden files: {files:?}");
    let total: usize = files.iter().map(|f| run(f)).sum();
    assert!(total >= 60, "only {total} golden values checked");
}
