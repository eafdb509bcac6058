//! Mirror and history tables through [`LakeWriter`] (no Kafka): updates and deletes as
//! position deletes (same-commit and earlier-commit rows), an unchanged TOAST value kept from
//! the table, replays skipped after a restart (index rebuilt from the table), a truncate —
//! then read back with pyiceberg and DuckDB, engines we did not write.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use cdc_model::{
    ChangeEvent, Column, ColumnType, Op, Position, SnapshotMarker, SourceInfo, TableId,
    TableSchema, Value,
};
use cdc_sink::{Appended, IcebergConfig, LakeWriter, RecordOrigin, TableMode, TablesConfig};
use serde_json::{json, Value as Json};

const TOPIC: &str = "dbserver1.public.items";
const PLACEHOLDER: &str = "__debezium_unavailable_value";

fn items() -> Arc<TableSchema> {
    Arc::new(TableSchema {
        id: TableId::new("public", "items"),
        columns: vec![
            Column::new("id", ColumnType::Int64, false),
            Column::new("name", ColumnType::String, true),
            Column::new("doc", ColumnType::String, true),
        ],
        key: vec![0],
    })
}

fn row(id: i64, name: &str, doc: &str) -> Vec<Value> {
    vec![
        Value::Int64(id),
        Value::String(name.into()),
        Value::String(doc.into()),
    ]
}

fn key(id: i64) -> Vec<Value> {
    vec![Value::Int64(id), Value::Null, Value::Null]
}

/// Source time = `t` seconds after 2023-11-14T22:13:20Z.
fn event(op: Op, before: Option<Vec<Value>>, after: Option<Vec<Value>>, t: i64) -> ChangeEvent {
    ChangeEvent {
        table: items(),
        op,
        before,
        after,
        source: SourceInfo {
            version: "3.6.3.Final".into(),
            name: "dbserver1".into(),
            db: "app".into(),
            ts_us: 1_700_000_000_000_000 + t * 1_000_000,
            snapshot: if op == Op::Read {
                SnapshotMarker::True
            } else {
                SnapshotMarker::False
            },
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

fn origin(offset: i64) -> RecordOrigin {
    RecordOrigin {
        topic: Arc::from(TOPIC),
        partition: 0,
        offset,
    }
}

fn config() -> TablesConfig {
    TablesConfig {
        modes: vec![TableMode::Mirror, TableMode::History],
        ..TablesConfig::default()
    }
}

async fn apply(writer: &mut LakeWriter, events: Vec<(ChangeEvent, i64)>) -> Vec<Appended> {
    let mut outcomes = Vec::new();
    for (event, offset) in events {
        outcomes.push(writer.append(event, origin(offset)).await.expect("append"));
        writer.consumed(&origin(offset));
    }
    outcomes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mirror_and_history_round_trip_through_pyiceberg_and_duckdb() {
    let dir = tempfile::tempdir().expect("tempdir");
    let iceberg = IcebergConfig::new(dir.path());
    let mut writer = LakeWriter::open(&iceberg, &config()).await.expect("open");

    // Commit 1: an update and an insert+delete inside one commit.
    apply(
        &mut writer,
        vec![
            (event(Op::Read, None, Some(row(1, "a", "doc-1")), 0), 0),
            (event(Op::Read, None, Some(row(2, "b", "doc-2")), 0), 1),
            (event(Op::Create, None, Some(row(3, "c", "doc-3")), 1), 2),
            (event(Op::Update, None, Some(row(1, "a2", "doc-1b")), 2), 3),
            (event(Op::Create, None, Some(row(4, "d", "doc-4")), 3), 4),
            (event(Op::Delete, Some(key(4)), None, 4), 5),
        ],
    )
    .await;
    let committed = writer.commit().await.expect("commit 1");
    assert_eq!(committed.len(), 2, "{committed:?}");

    // Commit 2: rows of commit 1 updated (one with an unchanged TOAST value) and deleted.
    let second = || {
        vec![
            (
                event(Op::Update, None, Some(row(2, "b2", PLACEHOLDER)), 5),
                6,
            ),
            (event(Op::Delete, Some(key(3)), None, 6), 7),
            (event(Op::Create, None, Some(row(5, "e", "doc-5")), 7), 8),
        ]
    };
    apply(&mut writer, second()).await;
    writer.commit().await.expect("commit 2");
    drop(writer);

    // A restarted writer rebuilds the index; the replayed records are skipped.
    let mut writer = LakeWriter::open(&iceberg, &config()).await.expect("reopen");
    let replayed = apply(&mut writer, second()).await;
    assert!(
        replayed.iter().all(|a| *a == Appended::AlreadyCommitted),
        "{replayed:?}"
    );
    apply(
        &mut writer,
        vec![(
            event(Op::Update, None, Some(row(1, "a3", PLACEHOLDER)), 8),
            9,
        )],
    )
    .await;
    writer.commit().await.expect("commit 3");
    let mirror_before_truncate = read_back(dir.path(), "cdc.public_items");

    // A truncate, then a new row in the same commit.
    apply(
        &mut writer,
        vec![
            (event(Op::Truncate, None, None, 9), 10),
            (event(Op::Create, None, Some(row(6, "f", "doc-6")), 10), 11),
        ],
    )
    .await;
    writer.commit().await.expect("commit 4");

    assert_eq!(
        mirror_before_truncate["pyiceberg"],
        json!([[1, "a3", "doc-1b"], [2, "b2", "doc-2"], [5, "e", "doc-5"]])
    );
    assert_eq!(
        mirror_before_truncate["duckdb"],
        mirror_before_truncate["pyiceberg"]
    );
    let mirror = read_back(dir.path(), "cdc.public_items");
    assert_eq!(mirror["pyiceberg"], json!([[6, "f", "doc-6"]]));
    assert_eq!(mirror["duckdb"], mirror["pyiceberg"]);
    let history = read_back(dir.path(), "cdc.public_items_history");
    // (id, name, doc, valid_from s, valid_to s, is_current, op)
    assert_eq!(
        history["pyiceberg"],
        json!([
            [1, "a", "doc-1", 0, 2, false, "r"],
            [1, "a2", "doc-1b", 2, 8, false, "u"],
            [1, "a3", "doc-1b", 8, 9, false, "u"],
            [2, "b", "doc-2", 0, 5, false, "r"],
            [2, "b2", "doc-2", 5, 9, false, "u"],
            [3, "c", "doc-3", 1, 6, false, "c"],
            [4, "d", "doc-4", 3, 4, false, "c"],
            [5, "e", "doc-5", 7, 9, false, "c"],
            [6, "f", "doc-6", 10, null, true, "c"],
        ])
    );
    assert_eq!(history["duckdb"], history["pyiceberg"]);
    assert_eq!(history["hashes_distinct"], json!(true));
    assert_eq!(mirror["equality_deletes"], json!(0));
}

/// Regression (e2e_sink_kill9, seed 1795339811): the changelog committed offsets 0..=1, the
/// mirror was claimed but the sink died before its first commit. The restart must read the
/// partition from the beginning — not from the changelog's offset — or the mirror misses rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_killed_before_its_first_commit_is_replayed_from_the_beginning() {
    let dir = tempfile::tempdir().expect("tempdir");
    let iceberg = IcebergConfig::new(dir.path());
    let first = || {
        vec![
            (event(Op::Read, None, Some(row(1, "a", "doc-1")), 0), 0),
            (event(Op::Read, None, Some(row(2, "b", "doc-2")), 0), 1),
        ]
    };
    let changelog_only = TablesConfig {
        modes: vec![TableMode::Changelog],
        ..TablesConfig::default()
    };
    let mut writer = LakeWriter::open(&iceberg, &changelog_only)
        .await
        .expect("open");
    apply(&mut writer, first()).await;
    writer.commit().await.expect("changelog commit");
    let points = writer.resume_points().await.expect("resume points");
    assert_eq!(points.start(TOPIC, 0), Some(2));
    drop(writer);

    let both = TablesConfig {
        modes: vec![TableMode::Changelog, TableMode::Mirror],
        ..TablesConfig::default()
    };
    let third = || vec![(event(Op::Create, None, Some(row(3, "c", "doc-3")), 1), 2)];
    let mut writer = LakeWriter::open(&iceberg, &both).await.expect("open");
    apply(&mut writer, third()).await;
    drop(writer); // killed: the mirror is claimed, nothing committed

    let mut writer = LakeWriter::open(&iceberg, &both).await.expect("reopen");
    let points = writer.resume_points().await.expect("resume points");
    assert_eq!(
        points.start(TOPIC, 0),
        None,
        "the mirror holds none of the partition's records: read it from the beginning"
    );
    let replayed = apply(&mut writer, first()).await;
    assert!(
        replayed.iter().all(|a| *a == Appended::Row),
        "the mirror takes the replayed records: {replayed:?}"
    );
    apply(&mut writer, third()).await;
    writer.commit().await.expect("commit");
    assert_eq!(
        writer
            .resume_points()
            .await
            .expect("resume points")
            .start(TOPIC, 0),
        Some(3)
    );

    let mirror = read_back(dir.path(), "cdc.public_items");
    assert_eq!(
        mirror["pyiceberg"],
        json!([[1, "a", "doc-1"], [2, "b", "doc-2"], [3, "c", "doc-3"]])
    );
    assert_eq!(mirror["duckdb"], mirror["pyiceberg"]);
}

/// A topic feeding several source tables (a routing SMT, or records of other sources): a
/// table that takes nothing of a busy stretch still moves to the consumed position at
/// `commit_all` (shutdown, and every minute), so it does not drag every restart back to its
/// last own record; a plain `commit` leaves it where it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_idle_in_a_shared_topic_moves_to_the_consumed_position() {
    let dir = tempfile::tempdir().expect("tempdir");
    let iceberg = IcebergConfig::new(dir.path());
    let changelog = TablesConfig {
        modes: vec![TableMode::Changelog],
        ..TablesConfig::default()
    };
    let mut writer = LakeWriter::open(&iceberg, &changelog).await.expect("open");
    let mut tags = event(Op::Create, None, Some(row(1, "t", "tag")), 0);
    tags.table = Arc::new(TableSchema {
        id: TableId::new("public", "tags"),
        ..(*items()).clone()
    });
    apply(&mut writer, vec![(tags, 0)]).await;
    apply(
        &mut writer,
        (1..=5)
            .map(|i| (event(Op::Create, None, Some(row(i, "a", "doc")), i), i))
            .collect(),
    )
    .await;
    writer.commit().await.expect("commit");
    let start = |points: cdc_sink::ResumePoints| points.start(TOPIC, 0);
    assert_eq!(
        start(writer.resume_points().await.expect("points")),
        Some(6),
        "both tables committed rows: both record the consumed position"
    );
    apply(
        &mut writer,
        (6..=9)
            .map(|i| (event(Op::Create, None, Some(row(i, "a", "doc")), i), i))
            .collect(),
    )
    .await;
    writer.commit().await.expect("commit");
    assert_eq!(
        start(writer.resume_points().await.expect("points")),
        Some(6),
        "a plain commit leaves the idle table behind"
    );
    let committed = writer.commit_all().await.expect("commit_all");
    assert_eq!(committed.len(), 1, "one empty snapshot: {committed:?}");
    assert_eq!(committed[0].rows, 0);
    assert_eq!(
        start(writer.resume_points().await.expect("points")),
        Some(10)
    );
    assert!(
        writer.commit_all().await.expect("commit_all").is_empty(),
        "nothing moved: no snapshot"
    );
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
history = name.endswith("_history")
BASE = 1_700_000_000

def key(r):
    return (r[0], r[3] if history else 0)

def shape(rows):
    out = []
    for r in rows:
        if history:
            to = r["_valid_to"]
            out.append([r["id"], r["name"], r["doc"], int(r["_valid_from"].timestamp()) - BASE,
                        None if to is None else int(to.timestamp()) - BASE, r["_is_current"], r["_op"]])
        else:
            out.append([r["id"], r["name"], r["doc"]])
    return sorted(out, key=key)

py_rows = table.scan().to_arrow().to_pylist()
con = duckdb.connect()
con.execute("SET autoinstall_known_extensions=false; SET autoload_known_extensions=false;")
for ext in ["avro", "iceberg"]:
    import_extension(ext, con=con)
    con.execute(f"LOAD {ext}")
if history:
    # Timestamps as epoch seconds (DuckDB's Python datetimes with zones need pytz).
    cur = con.execute("SELECT id, name, doc, epoch(_valid_from)::BIGINT - 1700000000, "
                      "epoch(_valid_to)::BIGINT - 1700000000, _is_current, _op "
                      f"FROM iceberg_scan('{table.metadata_location}')")
    duck = sorted((list(r) for r in cur.fetchall()), key=key)
else:
    cur = con.execute(f"SELECT id, name, doc FROM iceberg_scan('{table.metadata_location}')")
    duck = sorted((list(r) for r in cur.fetchall()), key=key)
eq = sum(1 for t in table.scan().plan_files() for df in t.delete_files if df.content == 2)
print(json.dumps({
    "pyiceberg": shape(py_rows),
    "duckdb": duck,
    "hashes_distinct": history and len({r["_row_hash"] for r in py_rows}) == len(py_rows),
    "equality_deletes": eq,
}))
"#;
