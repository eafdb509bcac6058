//! Writes change events covering every column type through [`LakeWriter`] (changelog mode) (no Kafka),
//! then reads the table back with pyiceberg and DuckDB in a subprocess.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cdc_model::{
    ChangeEvent, Column, ColumnType, Decimal, Op, Position, SnapshotMarker, SourceInfo, TableId,
    TableSchema, Value,
};
use cdc_sink::{
    Appended, IcebergConfig, LakeWriter, RecordOrigin, SinkError, TableMode, TablesConfig,
};
use serde_json::Value as Json;

const TOPIC: &str = "dbserver1.public.alltypes";

fn alltypes() -> Arc<TableSchema> {
    let columns = vec![
        Column::new("id", ColumnType::Int64, false),
        Column::new("flag", ColumnType::Boolean, true),
        Column::new("small", ColumnType::Int16, true),
        Column::new("regular", ColumnType::Int32, true),
        Column::new("real_col", ColumnType::Float32, true),
        Column::new("double_col", ColumnType::Float64, true),
        Column::new(
            "price",
            ColumnType::Decimal {
                precision: Some(10),
                scale: 2,
            },
            true,
        ),
        Column::new(
            "money",
            ColumnType::Decimal {
                precision: None,
                scale: 2,
            },
            true,
        ),
        Column::new("any_numeric", ColumnType::VariableDecimal, true),
        Column::new("name", ColumnType::String, true),
        Column::new("doc", ColumnType::Json, true),
        Column::new("uid", ColumnType::Uuid, true),
        Column::new("blob", ColumnType::Bytes, true),
        Column::new("day", ColumnType::Date, true),
        Column::new("at", ColumnType::Timestamp { precision: 6 }, true),
        Column::new(
            "at_tz",
            ColumnType::TimestampTz { precision: Some(6) },
            true,
        ),
    ];
    Arc::new(TableSchema {
        id: TableId::new("public", "alltypes"),
        columns,
        key: vec![0],
    })
}

fn dec(text: &str) -> Value {
    Value::Decimal(Decimal::parse(text).expect("test decimal"))
}

/// A full row for `id`.
fn full_row(id: i64, name: &str, price: &str) -> Vec<Value> {
    vec![
        Value::Int64(id),
        Value::Boolean(true),
        Value::Int16(-7),
        Value::Int32(70_000),
        Value::Float32(1.5),
        Value::Float64(-2.25),
        dec(price),
        dec("-1234567890123456.78"),
        dec("-0.000123"),
        Value::String(name.to_owned()),
        Value::String("{\"a\": [1, 2]}".to_owned()),
        Value::String("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11".to_owned()),
        Value::Bytes(vec![0, 1, 254, 255]),
        Value::Date(19_782),                       // 2024-02-29
        Value::Timestamp(1_709_207_101_500_000),   // 2024-02-29T11:45:01.5
        Value::TimestampTz(1_709_207_101_000_001), // 2024-02-29T11:45:01.000001Z
    ]
}

fn key_only(id: i64) -> Vec<Value> {
    let mut row = vec![Value::Null; alltypes().columns.len()];
    row[0] = Value::Int64(id);
    row
}

fn event(
    table: &Arc<TableSchema>,
    op: Op,
    before: Option<Vec<Value>>,
    after: Option<Vec<Value>>,
    lsn: u64,
) -> ChangeEvent {
    ChangeEvent {
        table: Arc::clone(table),
        op,
        before,
        after,
        source: SourceInfo {
            version: "3.6.3.Final".into(),
            name: "dbserver1".into(),
            db: "app".into(),
            ts_us: 1_700_000_000_123_456 + i64::try_from(lsn).unwrap_or(0) * 1000,
            snapshot: if op == Op::Read {
                SnapshotMarker::True
            } else {
                SnapshotMarker::False
            },
            position: Position::Postgres {
                lsn,
                last_commit_lsn: None,
                tx_id: Some(750),
            },
        },
        transaction: None,
        ts_ns: 1_700_000_000_200_000_000,
    }
}

fn origin(partition: i32, offset: i64) -> RecordOrigin {
    RecordOrigin {
        topic: Arc::from(TOPIC),
        partition,
        offset,
    }
}

fn changelog_only() -> TablesConfig {
    TablesConfig {
        modes: vec![TableMode::Changelog],
        ..TablesConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changelog_round_trips_through_pyiceberg_and_duckdb() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = IcebergConfig::new(dir.path());
    let table = alltypes();

    let mut writer = LakeWriter::open(&config, &changelog_only())
        .await
        .expect("open writer");
    let appends = [
        (
            event(
                &table,
                Op::Read,
                None,
                Some(full_row(1, "héllo", "12345.67")),
                0x1_0000_0010,
            ),
            origin(0, 0),
        ),
        (
            event(&table, Op::Create, None, Some(key_only(2)), 0x1_0000_0020),
            origin(0, 1),
        ),
        (
            event(
                &table,
                Op::Create,
                None,
                Some(full_row(3, "third", "-99999999.99")),
                0x1_0000_0030,
            ),
            origin(0, 2),
        ),
    ];
    for (event, origin) in appends {
        assert_eq!(
            writer.append(event, origin).await.expect("append"),
            Appended::Row
        );
    }
    assert_eq!(writer.buffered_rows(), 3);
    let committed = writer.commit().await.expect("first commit");
    assert_eq!(committed.len(), 1);
    assert_eq!(committed[0].table, "cdc.public_alltypes_changelog");
    assert_eq!(committed[0].rows, 3);
    assert_eq!(writer.buffered_rows(), 0);

    let update = event(
        &table,
        Op::Update,
        None,
        Some(full_row(1, "updated", "0.01")),
        0x1_0000_0040,
    );
    writer
        .append(update, origin(0, 3))
        .await
        .expect("append update");
    let delete = event(&table, Op::Delete, Some(key_only(2)), None, 0x1_0000_0050);
    writer
        .append(delete, origin(0, 4))
        .await
        .expect("append delete");
    let truncate = event(&table, Op::Truncate, None, None, 0x1_0000_0060);
    assert_eq!(
        writer
            .append(truncate, origin(0, 5))
            .await
            .expect("truncate"),
        Appended::SkippedTruncate
    );
    assert_eq!(writer.commit().await.expect("second commit")[0].rows, 2);
    assert!(
        writer.commit().await.expect("empty commit").is_empty(),
        "nothing buffered"
    );
    drop(writer);

    // A restarted sink loads the existing table and appends to it.
    let mut writer = LakeWriter::open(&config, &changelog_only())
        .await
        .expect("reopen writer");
    let insert = event(
        &table,
        Op::Create,
        None,
        Some(full_row(4, "fourth", "1")),
        0x1_0000_0070,
    );
    writer
        .append(insert, origin(1, 0))
        .await
        .expect("append after reopen");
    writer.commit().await.expect("third commit");

    // A type change Iceberg cannot express is refused, naming table and column (schema
    // evolution itself: tests/schema_evolution.rs).
    let mut retyped = (*alltypes()).clone();
    let flag = retyped.column_index("flag").expect("flag column");
    retyped.columns[flag] = Column::new("flag", ColumnType::String, true);
    let mut row = full_row(5, "fifth", "2");
    row[flag] = Value::String("yes".into());
    let err = writer
        .append(
            event(
                &Arc::new(retyped),
                Op::Create,
                None,
                Some(row),
                0x1_0000_0080,
            ),
            origin(1, 1),
        )
        .await
        .expect_err("an impossible type change must be refused");
    assert!(matches!(err, SinkError::SchemaMismatch { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("cdc.public_alltypes_changelog") && text.contains("flag"),
        "{text}"
    );

    check_with_python(dir.path());
}

fn check_with_python(dir: &Path) {
    let python = python();
    let output = Command::new(&python)
        .arg("-c")
        .arg(READ_BACK)
        .arg(dir)
        .output()
        .expect("run python");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "python failed:\n{stderr}");
    let report: Json = serde_json::from_slice(&output.stdout).expect("python prints JSON");

    let types = &report["types"];
    assert_eq!(types["price"], "decimal128(10, 2)");
    assert_eq!(types["money"], "decimal128(38, 2)");
    assert_eq!(types["day"], "date32[day]");
    assert_eq!(types["at"], "timestamp[us]");
    assert!(
        types["at_tz"]
            .as_str()
            .is_some_and(|t| t.starts_with("timestamp[us, tz=")),
        "{types}"
    );
    assert!(
        types["blob"].as_str().is_some_and(|t| t.contains("binary")),
        "{types}"
    );
    assert_eq!(types["_cdc_kafka_partition"], "int32");
    // Partitioned by the day of the change.
    let spec = report["spec"].as_str().unwrap_or_default();
    assert!(
        spec.contains("_cdc_ts_day") && spec.contains("day"),
        "{spec}"
    );
    assert_eq!(report["file_days"], report["row_days"]);
    assert!(
        report["row_days"].as_array().is_some_and(|d| !d.is_empty()),
        "{report}"
    );
    assert_eq!(
        report["pruned_files"], 0,
        "a filter on _cdc_ts prunes by day"
    );

    let rows = report["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 6, "{rows:#?}");
    let ops: Vec<&str> = rows.iter().filter_map(|r| r["_cdc_op"].as_str()).collect();
    assert_eq!(ops, ["r", "c", "c", "u", "d", "c"]);

    let first = &rows[0];
    assert_eq!(first["id"], 1);
    assert_eq!(first["flag"], true);
    assert_eq!(first["small"], -7);
    assert_eq!(first["regular"], 70_000);
    assert_eq!(first["real_col"], 1.5);
    assert_eq!(first["double_col"], -2.25);
    assert_eq!(first["price"], "12345.67");
    assert_eq!(first["money"], "-1234567890123456.78");
    assert_eq!(first["any_numeric"], "-0.000123");
    assert_eq!(first["name"], "héllo");
    assert_eq!(first["doc"], "{\"a\": [1, 2]}");
    assert_eq!(first["uid"], "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
    assert_eq!(first["blob"], "0001feff");
    assert_eq!(first["day"], "2024-02-29");
    assert_eq!(first["at"], "2024-02-29T11:45:01.500000");
    assert_eq!(first["at_tz"], "2024-02-29T11:45:01.000001+00:00");
    assert_eq!(
        first["_cdc_ts_ms"],
        1_700_000_000_123_i64 + 0x1_0000_0010_i64
    );
    assert_eq!(first["_cdc_position"], "1/10");
    assert_eq!(first["_cdc_kafka_partition"], 0);
    assert_eq!(first["_cdc_kafka_offset"], 0);

    assert_eq!(rows[1]["id"], 2);
    assert!(rows[1]["name"].is_null());
    assert_eq!(rows[2]["price"], "-99999999.99");
    assert_eq!(rows[3]["name"], "updated");
    assert_eq!(rows[3]["price"], "0.01");
    assert_eq!(rows[4]["id"], 2, "delete rows keep the key");
    assert!(rows[4]["flag"].is_null());
    assert_eq!(rows[5]["price"], "1.00");
    assert_eq!(rows[5]["_cdc_kafka_partition"], 1);

    let snapshots = report["snapshots"].as_array().expect("snapshots");
    assert_eq!(snapshots.len(), 3);
    let offsets: Vec<Json> = snapshots
        .iter()
        .map(|s| {
            serde_json::from_str(s["cdc.kafka-offsets"].as_str().unwrap_or("null"))
                .unwrap_or(Json::Null)
        })
        .collect();
    assert_eq!(offsets[0], serde_json::json!({ TOPIC: { "0": 3 } }));
    // Cumulative, and the skipped truncate (offset 5) counts as consumed.
    assert_eq!(offsets[1], serde_json::json!({ TOPIC: { "0": 6 } }));
    assert_eq!(offsets[2], serde_json::json!({ TOPIC: { "0": 6, "1": 1 } }));
    assert_eq!(report["format_version"], 2);
    assert_eq!(report["duckdb"], serde_json::json!([6, 13]));
}

/// The venv with pyiceberg, pyarrow and duckdb; waits for a background install to finish.
fn python() -> PathBuf {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let venv = home.join(".cache/cdc/venv");
    let started = Instant::now();
    while !venv.join(".complete-v1").exists() {
        assert!(
            started.elapsed() < Duration::from_secs(900),
            "{} is not ready: install pyiceberg 0.12, pyarrow and duckdb there",
            venv.display()
        );
        std::thread::sleep(Duration::from_secs(5));
    }
    venv.join("bin/python")
}

const READ_BACK: &str = r#"
import datetime, decimal, json, sys
import duckdb
from pyiceberg.catalog.sql import SqlCatalog

d = sys.argv[1]
catalog = SqlCatalog("cdc", uri=f"sqlite:///{d}/catalog.db", warehouse=f"file://{d}/warehouse")
table = catalog.load_table("cdc.public_alltypes_changelog")
arrow_tbl = table.scan().to_arrow().sort_by([("_cdc_kafka_partition", "ascending"), ("_cdc_kafka_offset", "ascending")])

def plain(v):
    if isinstance(v, decimal.Decimal):
        return str(v)
    if isinstance(v, (datetime.date, datetime.datetime)):
        return v.isoformat(timespec="microseconds") if isinstance(v, datetime.datetime) else v.isoformat()
    if isinstance(v, bytes):
        return v.hex()
    raise TypeError(type(v))

snapshots = []
snap = table.current_snapshot()
while snap is not None:
    snapshots.append(snap.summary.additional_properties)
    snap = table.snapshot_by_id(snap.parent_snapshot_id) if snap.parent_snapshot_id else None
snapshots.reverse()

# Partitioned by the day of the change: every file's partition value is the day of its rows.
epoch = datetime.date(1970, 1, 1)
file_days = {}
for task in table.scan().plan_files():
    day = task.file.partition[0]
    file_days[task.file.file_path] = day if isinstance(day, int) else (day - epoch).days
row_days = sorted({(r["_cdc_ts"].date() - epoch).days for r in arrow_tbl.to_pylist()})
pruned = table.scan(row_filter=f"_cdc_ts >= '{datetime.datetime(2099, 1, 1).isoformat()}'").plan_files()

print(json.dumps({
    "spec": str(table.spec()),
    "file_days": sorted(set(file_days.values())),
    "row_days": row_days,
    "pruned_files": len(list(pruned)),
    "types": {f.name: str(f.type) for f in arrow_tbl.schema},
    "rows": arrow_tbl.to_pylist(),
    "snapshots": snapshots,
    "format_version": table.format_version,
    "duckdb": list(duckdb.sql("select count(*), sum(id) from arrow_tbl").fetchone()),
}, default=plain))
"#;
