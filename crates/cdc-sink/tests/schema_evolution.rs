//! Schema evolution through [`LakeWriter`] (no Kafka), in all three modes: the source table
//! widens its key (int → bigint) and other columns (float → double, decimal(10,2) →
//! decimal(20,2)), drops a column and adds one; rows written before and after are read back
//! by pyiceberg and DuckDB. Events still in the old schema are accepted after the change,
//! a restart keeps the evolved tables, and a change Iceberg cannot express is an error naming
//! the table and the column.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use cdc_model::{
    ChangeEvent, Column, ColumnType, Decimal, Op, Position, SnapshotMarker, SourceInfo, TableId,
    TableSchema, Value,
};
use cdc_sink::{Appended, IcebergConfig, LakeWriter, RecordOrigin, TableMode, TablesConfig};
use serde_json::{json, Value as Json};

const TOPIC: &str = "dbserver1.public.orders";
const PLACEHOLDER: &str = "__debezium_unavailable_value";

fn decimal(precision: u32) -> ColumnType {
    ColumnType::Decimal {
        precision: Some(precision),
        scale: 2,
    }
}

/// v1: id int, qty int, price real, amount numeric(10,2), note text.
fn v1() -> Arc<TableSchema> {
    Arc::new(TableSchema {
        id: TableId::new("public", "orders"),
        columns: vec![
            Column::new("id", ColumnType::Int32, false),
            Column::new("qty", ColumnType::Int32, true),
            Column::new("price", ColumnType::Float32, true),
            Column::new("amount", decimal(10), true),
            Column::new("note", ColumnType::String, true),
        ],
        key: vec![0],
    })
}

/// v2: id bigint, qty bigint, price double, amount numeric(20,2), note dropped, email added.
fn v2() -> Arc<TableSchema> {
    Arc::new(TableSchema {
        id: TableId::new("public", "orders"),
        columns: vec![
            Column::new("id", ColumnType::Int64, false),
            Column::new("qty", ColumnType::Int64, true),
            Column::new("price", ColumnType::Float64, true),
            Column::new("amount", decimal(20), true),
            Column::new("email", ColumnType::String, true),
        ],
        key: vec![0],
    })
}

fn dec(text: &str) -> Value {
    Value::Decimal(Decimal::parse(text).expect("decimal"))
}

fn row_v1(id: i32, qty: i32, price: f32, amount: &str, note: &str) -> Vec<Value> {
    vec![
        Value::Int32(id),
        Value::Int32(qty),
        Value::Float32(price),
        dec(amount),
        Value::String(note.into()),
    ]
}

fn row_v2(id: i64, qty: i64, price: f64, amount: &str, email: &str) -> Vec<Value> {
    vec![
        Value::Int64(id),
        Value::Int64(qty),
        Value::Float64(price),
        dec(amount),
        Value::String(email.into()),
    ]
}

fn event(
    table: Arc<TableSchema>,
    op: Op,
    before: Option<Vec<Value>>,
    after: Option<Vec<Value>>,
    t: i64,
) -> ChangeEvent {
    ChangeEvent {
        table,
        op,
        before,
        after,
        source: SourceInfo {
            version: "3.6.3.Final".into(),
            name: "dbserver1".into(),
            db: "app".into(),
            ts_us: 1_700_000_000_000_000 + t * 1_000_000,
            snapshot: SnapshotMarker::False,
            position: Position::Postgres {
                lsn: 0x1000 + u64::try_from(t).unwrap_or(0),
                last_commit_lsn: None,
                tx_id: Some(750),
            },
        },
        transaction: None,
        ts_ns: 0,
    }
}

fn config() -> TablesConfig {
    TablesConfig {
        modes: vec![TableMode::Changelog, TableMode::Mirror, TableMode::History],
        ..TablesConfig::default()
    }
}

async fn apply(writer: &mut LakeWriter, events: Vec<ChangeEvent>, first: i64) -> Vec<Appended> {
    let mut outcomes = Vec::new();
    for (n, event) in events.into_iter().enumerate() {
        let origin = RecordOrigin {
            topic: Arc::from(TOPIC),
            partition: 0,
            offset: first + i64::try_from(n).unwrap_or(0),
        };
        outcomes.push(writer.append(event, origin).await.expect("append"));
    }
    outcomes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tables_follow_the_source_schema() {
    let dir = tempfile::tempdir().expect("tempdir");
    let iceberg = IcebergConfig::new(dir.path());
    let mut writer = LakeWriter::open(&iceberg, &config()).await.expect("open");

    // Commit 1, schema v1.
    apply(
        &mut writer,
        vec![
            event(
                v1(),
                Op::Create,
                None,
                Some(row_v1(1, 1, 1.5, "10.25", "n1")),
                0,
            ),
            event(
                v1(),
                Op::Create,
                None,
                Some(row_v1(2, 2, 2.5, "20.50", "n2")),
                1,
            ),
        ],
        0,
    )
    .await;
    writer.commit().await.expect("commit 1");

    // Commit 2, schema v2: an update of a row written under v1, a new row, a delete; the
    // key value of row 3 does not fit the old int column.
    let big = 5_000_000_000;
    apply(
        &mut writer,
        vec![
            event(
                v2(),
                Op::Update,
                None,
                Some(row_v2(1, 11, 1.25, "12345678901234.50", "a@x")),
                2,
            ),
            event(
                v2(),
                Op::Create,
                None,
                Some(row_v2(big, 3, 3.5, "30.00", "c@x")),
                3,
            ),
            event(v2(), Op::Delete, Some(row_v2(2, 0, 0.0, "0", "")), None, 4),
        ],
        2,
    )
    .await;
    writer.commit().await.expect("commit 2");
    drop(writer);

    // A restart with the evolved tables; the replay is skipped; an unchanged TOAST value of
    // the added column is restored from the table; an event still in schema v1 is accepted.
    let mut writer = LakeWriter::open(&iceberg, &config()).await.expect("reopen");
    let replayed = apply(
        &mut writer,
        vec![event(
            v2(),
            Op::Create,
            None,
            Some(row_v2(big, 3, 3.5, "30.00", "c@x")),
            3,
        )],
        3,
    )
    .await;
    assert_eq!(replayed, [Appended::AlreadyCommitted]);
    apply(
        &mut writer,
        vec![
            event(
                v2(),
                Op::Update,
                None,
                Some(row_v2(1, 12, 1.25, "1.00", PLACEHOLDER)),
                5,
            ),
            event(
                v1(),
                Op::Create,
                None,
                Some(row_v1(4, 4, 4.5, "40.00", "n4")),
                6,
            ),
        ],
        5,
    )
    .await;
    writer.commit().await.expect("commit 3");

    // numeric(10,2) → text cannot be expressed in Iceberg.
    let mut retyped = (*v2()).clone();
    retyped.columns[3] = Column::new("amount", ColumnType::String, true);
    let err = writer
        .append(
            event(
                Arc::new(retyped),
                Op::Create,
                None,
                Some(row_v2(9, 9, 9.0, "9", "x")),
                7,
            ),
            RecordOrigin {
                topic: Arc::from(TOPIC),
                partition: 0,
                offset: 7,
            },
        )
        .await
        .expect_err("an impossible type change fails");
    let err = err.to_string();
    assert!(
        err.contains("cdc.public_orders") && err.contains("amount"),
        "{err}"
    );
    drop(writer);

    // (id, qty, price, amount, note, email)
    let mirror = read_back(dir.path(), "cdc.public_orders");
    assert_eq!(
        mirror["pyiceberg"],
        json!([
            [1, 12, 1.25, "1.00", null, "a@x"],
            [4, 4, 4.5, "40.00", "n4", null],
            [big, 3, 3.5, "30.00", null, "c@x"],
        ])
    );
    assert_eq!(mirror["duckdb"], mirror["pyiceberg"]);
    assert_eq!(
        mirror["types"],
        json!({"id": "long", "qty": "long", "price": "double", "amount": "decimal(20, 2)",
               "note": "string", "email": "string"})
    );
    let changelog = read_back(dir.path(), "cdc.public_orders_changelog");
    assert_eq!(
        changelog["pyiceberg"],
        json!([
            [1, 1, 1.5, "10.25", "n1", null],
            [1, 11, 1.25, "12345678901234.50", null, "a@x"],
            [1, 12, 1.25, "1.00", null, PLACEHOLDER],
            [2, 0, 0.0, "0.00", null, ""],
            [2, 2, 2.5, "20.50", "n2", null],
            [4, 4, 4.5, "40.00", "n4", null],
            [big, 3, 3.5, "30.00", null, "c@x"],
        ])
    );
    assert_eq!(changelog["duckdb"], changelog["pyiceberg"]);
    let history = read_back(dir.path(), "cdc.public_orders_history");
    assert_eq!(
        history["pyiceberg"],
        json!([
            [1, 1, 1.5, "10.25", "n1", null],
            [1, 11, 1.25, "12345678901234.50", null, "a@x"],
            [1, 12, 1.25, "1.00", null, "a@x"],
            [2, 2, 2.5, "20.50", "n2", null],
            [4, 4, 4.5, "40.00", "n4", null],
            [big, 3, 3.5, "30.00", null, "c@x"],
        ])
    );
    assert_eq!(history["duckdb"], history["pyiceberg"]);
    assert_eq!(history["current"], json!([1, 4, big]));
}

fn read_back(dir: &Path, table: &str) -> Json {
    let output = Command::new(python())
        .arg("-c")
        .arg(READ_BACK)
        .arg(dir)
        .arg(table)
        .output()
        .expect("run python");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "python failed:\n{stderr}");
    serde_json::from_slice(&output.stdout).expect("python prints JSON")
}

fn python() -> PathBuf {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    home.join(".cache/cdc/venv/bin/python")
}

const READ_BACK: &str = r#"
import json, sys
import duckdb
from duckdb_extensions import import_extension
from pyiceberg.catalog.sql import SqlCatalog

d, name = sys.argv[1], sys.argv[2]
catalog = SqlCatalog("cdc", uri=f"sqlite:///{d}/catalog.db", warehouse=f"file://{d}/warehouse",
                     init_catalog_tables="false")
table = catalog.load_table(name)
COLS = ["id", "qty", "price", "amount", "note", "email"]

def plain(v):
    return None if v is None else (str(v) if type(v).__name__ == "Decimal" else v)

def shape(rows):
    return sorted(([plain(v) for v in r] for r in rows),
                  key=lambda r: json.dumps(r, sort_keys=True))

py = table.scan().to_arrow()
py_rows = [[r[c] for c in COLS] for r in py.to_pylist()]
con = duckdb.connect()
con.execute("SET autoinstall_known_extensions=false; SET autoload_known_extensions=false;")
for ext in ["avro", "iceberg"]:
    import_extension(ext, con=con)
    con.execute(f"LOAD {ext}")
cols = ", ".join(COLS)
duck = con.execute(f"SELECT {cols} FROM iceberg_scan('{table.metadata_location}')").fetchall()
out = {
    "pyiceberg": shape(py_rows),
    "duckdb": shape(duck),
    "types": {f.name: str(f.field_type) for f in table.schema().fields if not f.name.startswith("_")},
}
if name.endswith("_history"):
    out["current"] = sorted(r["id"] for r in py.to_pylist() if r["_is_current"])
print(json.dumps(out))
"#;
