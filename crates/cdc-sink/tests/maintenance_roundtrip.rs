//! Table maintenance through [`LakeWriter::maintain`] on changelog, mirror and history tables
//! written by many small commits with updates and deletes: compaction keeps every row (read
//! back with pyiceberg and DuckDB, engines we did not write) with fewer files, snapshot
//! expiry deletes what only expired snapshots referenced, a planted orphan file goes while
//! referenced files stay, and later updates and deletes of rows moved by compaction apply —
//! in the same writer (remapped index) and after a re-open (rebuilt index).
//!
//! Time passing is simulated by passing a later `now` to `maintain`.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use cdc_model::{
    ChangeEvent, Column, ColumnType, Op, Position, SnapshotMarker, SourceInfo, TableId,
    TableSchema, Value,
};
use cdc_sink::{
    IcebergConfig, LakeWriter, MaintenanceConfig, MaintenanceReport, RecordOrigin, TableMode,
    TablesConfig,
};
use serde_json::{json, Value as Json};

const TOPIC: &str = "dbserver1.public.items";
const TABLES: [&str; 3] = [
    "cdc.public_items",
    "cdc.public_items_changelog",
    "cdc.public_items_history",
];

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

fn event(op: Op, id: i64, name: &str, t: i64) -> ChangeEvent {
    let image = vec![
        Value::Int64(id),
        Value::String(name.into()),
        Value::String(format!("doc-{id}")),
    ];
    let (before, after) = match op {
        Op::Delete => (Some(image), None),
        _ => (None, Some(image)),
    };
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

/// The writer, the expected mirror state and the next offset.
struct Source {
    writer: LakeWriter,
    mirror: BTreeMap<i64, String>,
    offset: i64,
}

impl Source {
    /// A fresh writer (every mode) on `iceberg` and an empty expected state.
    async fn open(iceberg: &IcebergConfig) -> Source {
        Source {
            writer: open(iceberg).await,
            mirror: BTreeMap::new(),
            offset: 0,
        }
    }

    async fn apply(&mut self, changes: &[(Op, i64, &str)]) {
        for &(op, id, name) in changes {
            let origin = RecordOrigin {
                topic: Arc::from(TOPIC),
                partition: 0,
                offset: self.offset,
            };
            let e = event(op, id, name, self.offset);
            self.writer.append(e, origin).await.expect("append");
            self.offset += 1;
            match op {
                Op::Delete => self.mirror.remove(&id),
                _ => self.mirror.insert(id, name.to_owned()),
            };
        }
        self.writer.commit().await.expect("commit");
    }

    fn expected_mirror(&self) -> Json {
        let rows: Vec<Json> = self
            .mirror
            .iter()
            .map(|(id, name)| json!([id, name, format!("doc-{id}")]))
            .collect();
        sorted(rows)
    }
}

fn sorted(mut rows: Vec<Json>) -> Json {
    rows.sort_by_key(|r| r.to_string());
    Json::Array(rows)
}

fn maintenance_config() -> MaintenanceConfig {
    MaintenanceConfig {
        interval_secs: 0,
        min_input_files: 2,
        target_file_size_bytes: 1024 * 1024,
        max_snapshot_age_secs: 0,
        min_snapshots_to_keep: 1,
        orphan_min_age_secs: 60,
        ..MaintenanceConfig::default()
    }
}

async fn open(iceberg: &IcebergConfig) -> LakeWriter {
    open_with(iceberg, &ALL_MODES, maintenance_config()).await
}

const ALL_MODES: [TableMode; 3] = [TableMode::Changelog, TableMode::Mirror, TableMode::History];

async fn open_with(
    iceberg: &IcebergConfig,
    modes: &[TableMode],
    maintenance: MaintenanceConfig,
) -> LakeWriter {
    let tables = TablesConfig {
        modes: modes.to_vec(),
        ..TablesConfig::default()
    };
    let mut writer = LakeWriter::open(iceberg, &tables).await.expect("open");
    writer.set_maintenance(maintenance);
    writer
}

/// Maintains every table once, an hour from now.
async fn maintain_all(writer: &mut LakeWriter) -> BTreeMap<String, MaintenanceReport> {
    maintain_n(writer, TABLES.len()).await
}

async fn maintain_n(writer: &mut LakeWriter, tables: usize) -> BTreeMap<String, MaintenanceReport> {
    let later = SystemTime::now() + Duration::from_secs(3600);
    let mut reports = BTreeMap::new();
    for _ in 0..tables {
        let report = writer
            .maintain(later)
            .await
            .expect("maintain")
            .expect("a table is due");
        reports.insert(report.table.clone(), report);
    }
    reports
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_expiry_and_orphans_keep_rows_readable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let iceberg = IcebergConfig::new(dir.path());
    let mut source = Source::open(&iceberg).await;
    twelve_commits(&mut source).await;
    let before: BTreeMap<&str, Json> = TABLES
        .iter()
        .map(|t| (*t, read_back(dir.path(), t)))
        .collect();
    let mirror = &before["cdc.public_items"];
    assert_eq!(mirror["py"], source.expected_mirror());
    for (table, state) in &before {
        assert_eq!(state["py"], state["duck"], "{table}");
    }
    assert_eq!(mirror["data_files"], json!(12));
    assert_eq!(mirror["delete_files"], json!(11));

    // An orphan in the mirror's data directory (left by a crashed commit, say).
    let location = PathBuf::from(mirror["location"].as_str().expect("location"));
    let orphan = location.join("data").join("orphan-from-a-crash.parquet");
    std::fs::write(&orphan, b"not referenced").expect("plant orphan");

    let started = std::time::Instant::now();
    let reports = maintain_all(&mut source.writer).await;
    let took = started.elapsed();
    for (table, report) in &reports {
        eprintln!("{report:?}");
        assert_eq!(report.failures, 0, "{table}");
        assert!(report.data_files_compacted >= 12, "{report:?}");
        assert!(report.snapshots_expired >= 12, "{report:?}");
        assert!(report.expired_files_deleted > 0, "{report:?}");
    }
    eprintln!("maintenance of 3 tables took {took:?}");
    assert_eq!(reports["cdc.public_items"].orphans_removed, 1);
    assert!(!orphan.exists());

    for table in TABLES {
        let after = read_back(dir.path(), table);
        let old = &before[table];
        assert_eq!(after["py"], old["py"], "{table}: rows changed");
        assert_eq!(after["duck"], old["py"], "{table}: DuckDB reads other rows");
        assert_eq!(after["data_files"], json!(1), "{table}");
        assert_eq!(after["delete_files"], json!(0), "{table}");
        assert_eq!(after["snapshots"], json!(1), "{table}");
        assert_eq!(after["operation"], json!("replace"), "{table}");
        assert_eq!(after["offsets"], old["offsets"], "{table}: offsets changed");
        // Referenced files exist; what only expired snapshots referenced is gone.
        for file in after["files"].as_array().expect("files") {
            assert!(
                Path::new(file.as_str().unwrap_or_default()).exists(),
                "{file}"
            );
        }
        let kept: HashSet<&Json> = after["files"].as_array().expect("files").iter().collect();
        for file in old["files"].as_array().expect("files") {
            if !kept.contains(file) {
                assert!(
                    !Path::new(file.as_str().unwrap_or_default()).exists(),
                    "{table}: {file} not deleted"
                );
            }
        }
        for list in old["manifest_lists"].as_array().expect("lists") {
            assert!(
                !Path::new(list.as_str().unwrap_or_default()).exists(),
                "{table}: {list} not deleted"
            );
        }
        assert_eq!(after["unreferenced_on_disk"], json!([]), "{table}");
    }

    // Rows moved by compaction: updated and deleted through the remapped index.
    source
        .apply(&[
            (Op::Update, 3, "after-compaction"),
            (Op::Delete, 6, ""),
            (Op::Update, 35, "x"),
        ])
        .await;
    check_keyed(dir.path(), &source);

    // A re-opened writer rebuilds the index from the compacted table.
    drop(std::mem::replace(&mut source.writer, open(&iceberg).await));
    source
        .apply(&[
            (Op::Update, 3, "after-reopen"),
            (Op::Update, 2, "again"),
            (Op::Delete, 34, ""),
            (Op::Create, 100, "n"),
        ])
        .await;
    check_keyed(dir.path(), &source);
    // And compacts again: still the same rows.
    let again = maintain_all(&mut source.writer).await;
    assert!(again.values().all(|r| r.failures == 0), "{again:?}");
    check_keyed(dir.path(), &source);
    let changelog = read_back(dir.path(), "cdc.public_items_changelog");
    assert_eq!(
        changelog["py"].as_array().map(Vec::len),
        Some(usize::try_from(source.offset).unwrap_or(0))
    );
}

/// 12 small commits: three inserts each, an update of a row of the previous commit and a
/// delete of another.
async fn twelve_commits(source: &mut Source) {
    for c in 0..12i64 {
        let base = c * 3;
        let mut changes = vec![
            (Op::Create, base + 1, "new"),
            (Op::Create, base + 2, "new"),
            (Op::Create, base + 3, "new"),
        ];
        if c > 0 {
            changes.push((Op::Update, base - 1, "updated"));
            changes.push((Op::Delete, base - 2, ""));
        }
        source.apply(&changes).await;
    }
}

/// No file is small (target 1 byte): only files with ≥ 60 % of their rows deleted are
/// rewritten — the first commit's (2 of 3 rows deleted; later ones lose 2 of 4 or 6) — and
/// the deletes of the files that stay are merged into one position-delete file. Kept files
/// keep their sequence numbers (as EXISTING entries), so the merged deletes, newer, apply.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletes_of_kept_files_are_merged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let iceberg = IcebergConfig::new(dir.path());
    let modes = [TableMode::Mirror, TableMode::History];
    let config = MaintenanceConfig {
        target_file_size_bytes: 1,
        delete_ratio_threshold: 0.6,
        ..maintenance_config()
    };
    let mut source = Source {
        writer: open_with(&iceberg, &modes, config.clone()).await,
        mirror: BTreeMap::new(),
        offset: 0,
    };
    twelve_commits(&mut source).await;
    let keyed = ["cdc.public_items", "cdc.public_items_history"];
    let before: BTreeMap<&str, Json> = keyed
        .iter()
        .map(|t| (*t, read_back(dir.path(), t)))
        .collect();
    let reports = maintain_n(&mut source.writer, keyed.len()).await;
    for table in keyed {
        let report = &reports[table];
        assert_eq!(
            (
                report.data_files_compacted,
                report.delete_files_compacted,
                report.files_written
            ),
            (1, 11, 2),
            "{report:?}"
        );
        let after = read_back(dir.path(), table);
        let old = &before[table];
        assert_eq!(after["py"], old["py"], "{table}: rows changed");
        assert_eq!(after["duck"], old["py"], "{table}: DuckDB reads other rows");
        assert_eq!(after["data_files"], json!(12), "{table}");
        assert_eq!(after["delete_files"], json!(1), "{table}");
        let summary = &after["summary"];
        assert_eq!(summary["cdc.maintenance"], json!("compaction"), "{summary}");
        assert_eq!(summary["added-data-files"], json!("1"), "{summary}");
        assert_eq!(summary["deleted-data-files"], json!("1"), "{summary}");
        assert_eq!(summary["added-delete-files"], json!("1"), "{summary}");
        assert_eq!(summary["removed-delete-files"], json!("11"), "{summary}");
        // Entries of the files that were there before keep their sequence numbers.
        let seqs = |state: &Json| -> BTreeMap<String, Json> {
            state["entries"]
                .as_array()
                .expect("entries")
                .iter()
                .map(|e| (e[0].as_str().unwrap_or_default().to_owned(), e.clone()))
                .collect()
        };
        let (old_entries, new_entries) = (seqs(old), seqs(&after));
        let mut existing = 0;
        let mut tombstones = 0;
        for (path, entry) in &new_entries {
            let Some(was) = old_entries.get(path) else {
                continue;
            };
            // Kept: EXISTING (0); the rewritten file: DELETED (2); both keep their numbers.
            assert_eq!(
                (&entry[2], &entry[3]),
                (&was[2], &was[3]),
                "{table}: {path}"
            );
            match entry[1].as_i64() {
                Some(0) => existing += 1,
                Some(2) => tombstones += 1,
                other => panic!("{table}: {path} has status {other:?}"),
            }
        }
        assert_eq!(tombstones, 1, "{table}");
        assert_eq!(existing, 11, "{table}");
    }
    // Keys in kept files (with merged deletes) and in the rewritten one change again.
    source
        .apply(&[
            (Op::Update, 3, "x"),
            (Op::Delete, 9, ""),
            (Op::Update, 11, "y"),
        ])
        .await;
    check_keyed(dir.path(), &source);
    // Another engine keeps only 2 previous metadata files in the log (while the sink is
    // stopped); the re-opened sink's maintenance deletes the older ones.
    drop(std::mem::replace(
        &mut source.writer,
        LakeWriter::open(&iceberg, &TablesConfig::default())
            .await
            .expect("open"),
    ));
    for table in keyed {
        set_property(
            dir.path(),
            table,
            "write.metadata.previous-versions-max",
            "2",
        );
    }
    source.writer = open_with(&iceberg, &modes, config).await;
    source
        .apply(&[
            (Op::Update, 3, "z"),
            (Op::Delete, 12, ""),
            (Op::Update, 36, "w"),
        ])
        .await;
    check_keyed(dir.path(), &source);
    let reports = maintain_n(&mut source.writer, keyed.len()).await;
    for table in keyed {
        assert_eq!(reports[table].failures, 0, "{:?}", reports[table]);
        let state = read_back(dir.path(), table);
        assert_eq!(state["metadata_files_on_disk"], json!(3), "{table}");
        assert_eq!(state["unreferenced_on_disk"], json!([]), "{table}");
    }
    check_keyed(dir.path(), &source);
}

/// Small manifests are merged at commit time once a table holds
/// `commit.manifest.min-count-to-merge` of one kind (Iceberg's default is 100; a user sets 4
/// here with pyiceberg): the manifest list stays short without maintenance, and every insert,
/// update and delete still reads the same through pyiceberg and DuckDB (merged entries keep
/// their sequence numbers, so position deletes still apply to the right files).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_manifests_are_merged_at_commit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let iceberg = IcebergConfig::new(dir.path());
    let mut source = Source::open(&iceberg).await;
    source.apply(&[(Op::Create, 1000, "first")]).await;
    drop(std::mem::replace(
        &mut source.writer,
        LakeWriter::open(
            &IcebergConfig::new(dir.path().join("elsewhere")),
            &TablesConfig::default(),
        )
        .await
        .expect("open"),
    ));
    for table in TABLES {
        set_property(dir.path(), table, "commit.manifest.min-count-to-merge", "4");
    }
    source.writer = open(&iceberg).await;
    twelve_commits(&mut source).await;
    check_keyed(dir.path(), &source);
    for table in TABLES {
        let state = read_back(dir.path(), table);
        assert_eq!(state["py"], state["duck"], "{table}");
        // Unmerged: one data manifest per commit (13) plus, for the keyed tables, one
        // delete manifest per commit with deletes (11). Merged: at most 3 carried plus 1 new
        // of each kind.
        let manifests = state["manifests"].as_i64().expect("manifests");
        let limit = if table.ends_with("_changelog") { 4 } else { 8 };
        assert!(
            (2..=limit).contains(&manifests),
            "{table}: {manifests} manifests"
        );
        assert_eq!(state["unreferenced_on_disk"], json!([]), "{table}");
    }
    let changelog = read_back(dir.path(), "cdc.public_items_changelog");
    assert_eq!(
        changelog["py"].as_array().map(Vec::len),
        Some(usize::try_from(source.offset).unwrap_or(0))
    );
}

/// A large commit is written as several data files encoded in parallel (one per core, each
/// at least 16,384 rows): the key index points into the right file, so later updates and
/// deletes of rows in every part apply — in the same writer and after a re-open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_commit_is_written_as_parallel_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let iceberg = IcebergConfig::new(dir.path());
    let mut source = Source::open(&iceberg).await;
    let inserts: Vec<(Op, i64, &str)> = (0..40_000).map(|id| (Op::Create, id, "new")).collect();
    source.apply(&inserts).await;
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let parts = cores.min(2) as i64;
    for table in TABLES {
        let files = read_back(dir.path(), table)["data_files"].as_i64();
        // The changelog is partitioned by day, and these changes span two days (one file
        // for the 6,400 rows before midnight).
        match table.ends_with("_changelog") {
            true => assert_eq!(files, Some(parts + 1), "{table}"),
            false => assert_eq!(files, Some(parts), "{table}"),
        }
    }
    check_keyed(dir.path(), &source);
    // Rows in the first and the last part change.
    let changes = [
        (Op::Update, 5, "first-part"),
        (Op::Update, 30_000, "last-part"),
        (Op::Delete, 39_999, ""),
        (Op::Delete, 20_001, ""),
    ];
    source.apply(&changes).await;
    check_keyed(dir.path(), &source);
    drop(std::mem::replace(&mut source.writer, open(&iceberg).await));
    source
        .apply(&[(Op::Update, 30_000, "again"), (Op::Delete, 7, "")])
        .await;
    check_keyed(dir.path(), &source);
}

fn set_property(dir: &Path, table: &str, key: &str, value: &str) {
    let script = r#"
import sys
from pyiceberg.catalog.sql import SqlCatalog
d, name, key, value = sys.argv[1:5]
catalog = SqlCatalog("cdc", uri=f"sqlite:///{d}/catalog.db", warehouse=f"file://{d}/warehouse",
                     init_catalog_tables="false")
with catalog.load_table(name).transaction() as tx:
    tx.set_properties({key: value})
"#;
    let output = Command::new(python())
        .arg("-c")
        .arg(script)
        .args([
            dir.as_os_str(),
            table.as_ref(),
            key.as_ref(),
            value.as_ref(),
        ])
        .output()
        .expect("run python");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "python failed:\n{stderr}");
}

/// A compaction larger than `max_compaction_input_bytes` is done in bounded runs, oldest
/// files first, the table due again at once until nothing is left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_runs_are_bounded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let iceberg = IcebergConfig::new(dir.path());
    let config = MaintenanceConfig {
        interval_secs: 3600,
        max_compaction_input_bytes: 1,
        ..maintenance_config()
    };
    let mut source = Source {
        writer: open_with(&iceberg, &[TableMode::Changelog], config).await,
        mirror: BTreeMap::new(),
        offset: 0,
    };
    for c in 0..6 {
        source
            .apply(&[(Op::Create, c, "a"), (Op::Update, c, "b")])
            .await;
    }
    let table = "cdc.public_items_changelog";
    let before = read_back(dir.path(), table);
    assert_eq!(before["data_files"], json!(6));
    let later = SystemTime::now() + Duration::from_secs(3600);
    let mut runs = Vec::new();
    while let Some(report) = source.writer.maintain(later).await.expect("maintain") {
        assert_eq!(report.data_files_compacted, 2, "{report:?}");
        runs.push(report.more_to_compact);
        assert!(runs.len() <= 5, "{runs:?}");
    }
    // 6 files: 3 runs of 2 originals, then 2 runs over the 3 outputs; then not due.
    assert_eq!(runs, [true, true, true, true, false]);
    let after = read_back(dir.path(), table);
    assert_eq!(after["data_files"], json!(1));
    assert_eq!(after["py"], before["py"]);
    assert_eq!(after["duck"], before["py"]);
}

/// The mirror holds the expected rows, and the history's current versions are the mirror.
fn check_keyed(dir: &Path, source: &Source) {
    let mirror = read_back(dir, "cdc.public_items");
    assert_eq!(mirror["py"], source.expected_mirror());
    assert_eq!(mirror["duck"], mirror["py"]);
    let history = read_back(dir, "cdc.public_items_history");
    assert_eq!(history["duck"], history["py"]);
    assert_eq!(history["current"], source.expected_mirror());
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
import json, os, sys
import duckdb
from duckdb_extensions import import_extension
from pyiceberg.catalog.sql import SqlCatalog

d, name = sys.argv[1], sys.argv[2]
catalog = SqlCatalog("cdc", uri=f"sqlite:///{d}/catalog.db", warehouse=f"file://{d}/warehouse",
                     init_catalog_tables="false")
table = catalog.load_table(name)
if name.endswith("_history"):
    cols = ["id", "name", "doc", "_is_current", "_op", "_row_hash"]
elif name.endswith("_changelog"):
    cols = ["id", "name", "doc", "_cdc_op", "_cdc_kafka_offset"]
else:
    cols = ["id", "name", "doc"]

def rows(records):
    return sorted((list(r) for r in records), key=lambda r: json.dumps(r))

py = table.scan(selected_fields=tuple(cols)).to_arrow().to_pylist()
py_rows = rows([r[c] for c in cols] for r in py)
con = duckdb.connect()
con.execute("SET autoinstall_known_extensions=false; SET autoload_known_extensions=false;")
for ext in ["avro", "iceberg"]:
    import_extension(ext, con=con)
    con.execute(f"LOAD {ext}")
duck = rows(con.execute(f"SELECT {', '.join(cols)} FROM iceberg_scan('{table.metadata_location}')").fetchall())

def local(p):
    return p[len("file://"):] if p.startswith("file://") else p

files = table.inspect.files().to_pylist()
snap = table.current_snapshot()
referenced = set(local(f["file_path"]) for f in files)
lists = [local(s.manifest_list) for s in table.metadata.snapshots]
referenced.update(lists)
for s in table.metadata.snapshots:
    for m in s.manifests(table.io):
        referenced.add(local(m.manifest_path))
referenced.add(local(table.metadata_location))
referenced.update(local(l.metadata_file) for l in table.metadata.metadata_log)
location = local(table.location())
on_disk = [os.path.join(root, f) for root, _, fs in os.walk(location) for f in fs]
print(json.dumps({
    "py": py_rows,
    "duck": duck,
    "current": rows([r["id"], r["name"], r["doc"]] for r in py if r.get("_is_current")),
    "data_files": sum(1 for f in files if f["content"] == 0),
    "delete_files": sum(1 for f in files if f["content"] != 0),
    "files": sorted(local(f["file_path"]) for f in files),
    "snapshots": len(table.metadata.snapshots),
    "manifests": len(snap.manifests(table.io)),
    "manifest_lists": lists,
    "operation": snap.summary.operation.value,
    "offsets": snap.summary.additional_properties.get("cdc.kafka-offsets"),
    "location": location,
    "unreferenced_on_disk": sorted(p for p in on_disk if p not in referenced),
    "summary": snap.summary.additional_properties,
    "metadata_files_on_disk": sum(1 for p in on_disk if p.endswith(".metadata.json")),
    "entries": [[local(e["data_file"]["file_path"]), e["status"], e["sequence_number"],
                 e["file_sequence_number"]]
                for e in table.inspect.entries().to_pylist() if e["data_file"]["content"] == 0],
}))
"#;
