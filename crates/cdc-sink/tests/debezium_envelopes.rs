//! Envelopes written by real Debezium 3.6.3 (the type-matrix golden files of `cdc-model`,
//! recorded from Debezium's embedded engine by `tests/readback/type_matrix/regenerate_golden.sh`:
//! one column per PostgreSQL type, snapshot + insert/update (with an unchanged TOAST value) /
//! delete (REPLICA IDENTITY DEFAULT and FULL), tombstones, six handling-mode profiles) applied
//! through the sink into changelog, mirror and history tables, then read back with pyiceberg
//! and DuckDB:
//! - the changelog holds every change event once;
//! - the mirror equals the changelog folded to the last state per key (TOAST placeholders
//!   replaced by the key's previous value), and DuckDB reads the same rows as pyiceberg;
//! - the history has one current version per live key; no placeholder is ever stored in the
//!   mirror or the history.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use cdc_model::debezium::{decode_record, Decoded};
use cdc_sink::{IcebergConfig, LakeWriter, RecordOrigin, TableMode, TablesConfig};
use serde_json::Value as Json;

const PROFILES: [&str; 6] = [
    "default",
    "string_modes",
    "double_modes",
    "urlsafe",
    "microseconds",
    "nanoseconds",
];
const TABLES: [&str; 2] = ["public_type_matrix", "public_type_matrix_full"];

#[derive(serde::Deserialize)]
struct Record {
    destination: String,
    key: Option<String>,
    value: Option<String>,
}

fn golden(profile: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../cdc-model/tests/golden/type_matrix")
        .join(format!("{profile}.jsonl"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_debezium_envelopes_apply_in_every_mode() {
    for profile in PROFILES {
        let placeholder = if profile == "urlsafe" {
            "toasted"
        } else {
            "__debezium_unavailable_value"
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let tables = TablesConfig {
            modes: vec![TableMode::Changelog, TableMode::Mirror, TableMode::History],
            unavailable_value_placeholder: placeholder.to_owned(),
            ..TablesConfig::default()
        };
        let mut writer = LakeWriter::open(&IcebergConfig::new(dir.path()), &tables)
            .await
            .expect("open");
        let text = std::fs::read_to_string(golden(profile)).expect("golden file");
        let mut changes = 0;
        for (n, line) in text.lines().enumerate() {
            let record: Record = serde_json::from_str(line).expect("golden line");
            let at = format!("{profile}.jsonl line {}", n + 1);
            let decoded = decode_record(
                record.key.as_deref().map(str::as_bytes),
                record.value.as_deref().map(str::as_bytes),
            )
            .unwrap_or_else(|e| panic!("{at}: {e}"));
            let Decoded::Change(event) = decoded else {
                continue;
            };
            let origin = RecordOrigin {
                topic: Arc::from(record.destination.as_str()),
                partition: 0,
                offset: i64::try_from(n).unwrap_or(0),
            };
            writer
                .append(*event, origin)
                .await
                .unwrap_or_else(|e| panic!("{at}: {e}"));
            changes += 1;
            // Commit after the snapshot and midway, so updates and deletes also hit rows of
            // earlier commits.
            if n == 9 || n == 17 {
                writer.commit().await.expect("commit");
            }
        }
        writer.commit().await.expect("final commit");
        assert!(changes >= 20, "{profile}: only {changes} change records");
        for table in TABLES {
            let report = read_back(dir.path(), table, placeholder);
            assert_eq!(report["ok"], true, "{profile} {table}: {report:#}");
            println!(
                "{profile} {table}: {} changelog rows, {} mirror rows, {} history rows, {} \
                 TOAST values restored",
                report["changelog_rows"],
                report["mirror_rows"],
                report["history_rows"],
                report["restored"]
            );
        }
    }
}

fn read_back(dir: &Path, table: &str, placeholder: &str) -> Json {
    let output = Command::new(python())
        .arg("-c")
        .arg(READ_BACK)
        .arg(dir)
        .arg(table)
        .arg(placeholder)
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

d, base, placeholder = sys.argv[1], sys.argv[2], sys.argv[3]
catalog = SqlCatalog("cdc", uri=f"sqlite:///{d}/catalog.db", warehouse=f"file://{d}/warehouse",
                     init_catalog_tables="false")
import pyarrow as pa

def rows(table):
    # Dates and timestamps as integers: values beyond Python's datetime range (PostgreSQL
    # infinity, years > 9999) are kept.
    t = table.scan().to_arrow()
    for i, f in enumerate(t.schema):
        if pa.types.is_date(f.type) or pa.types.is_timestamp(f.type):
            t = t.set_column(i, f.name, t.column(i).cast(pa.int64() if pa.types.is_timestamp(f.type) else pa.int32()))
    return t.to_pylist()

changelog = rows(catalog.load_table(f"cdc.{base}_changelog"))
mirror_t = catalog.load_table(f"cdc.{base}")
mirror = rows(mirror_t)
history = rows(catalog.load_table(f"cdc.{base}_history"))

def is_placeholder(v):
    if isinstance(v, str):
        if v == placeholder:
            return True
        if v.startswith("["):
            try:
                # Arrays are JSON text; bytea elements are hex.
                return json.loads(v) in ([placeholder], [placeholder.encode().hex()])
            except ValueError:
                return False
    return isinstance(v, bytes) and v == placeholder.encode()

source = [c for c in mirror_t.schema().column_names if not c.startswith("_")]
problems = []
# Fold the changelog (Kafka offset order) to the last state per key, TOAST values kept.
state, restored = {}, 0
for row in sorted(changelog, key=lambda r: r["_cdc_kafka_offset"]):
    key = row["id"]
    if row["_cdc_op"] == "d":
        state.pop(key, None)
        continue
    new = {c: row[c] for c in source}
    for c in source:
        if is_placeholder(new[c]):
            restored += 1
            new[c] = state.get(key, {}).get(c)
    state[key] = new

def canon(v):
    return v.hex() if isinstance(v, bytes) else (str(v) if v is not None else None)

got = {r["id"]: {c: r[c] for c in source} for r in mirror}
if len(got) != len(mirror):
    problems.append("mirror has duplicate keys")
if sorted(got) != sorted(state):
    problems.append(f"mirror keys {sorted(got)} != expected {sorted(state)}")
for key in sorted(set(got) & set(state)):
    for c in source:
        if canon(got[key][c]) != canon(state[key][c]):
            problems.append(f"mirror id={key} {c}: {got[key][c]!r} != {state[key][c]!r}")
for name, rows in (("mirror", mirror), ("history", history)):
    for r in rows:
        for c in source:
            if is_placeholder(r[c]):
                problems.append(f"{name} id={r['id']} {c} holds the placeholder")
current = sorted(r["id"] for r in history if r["_is_current"])
if current != sorted(state):
    problems.append(f"history current {current} != {sorted(state)}")

con = duckdb.connect()
con.execute("SET autoinstall_known_extensions=false; SET autoload_known_extensions=false;")
for ext in ["avro", "iceberg"]:
    import_extension(ext, con=con)
    con.execute(f"LOAD {ext}")
duck = con.execute(f"SELECT id, count(*) FROM iceberg_scan('{mirror_t.metadata_location}') GROUP BY id ORDER BY id").fetchall()
if [r[0] for r in duck] != sorted(got) or any(r[1] != 1 for r in duck):
    problems.append(f"DuckDB reads mirror keys {duck}")
print(json.dumps({
    "ok": not problems, "problems": problems[:20], "changelog_rows": len(changelog),
    "mirror_rows": len(mirror), "history_rows": len(history), "restored": restored,
}))
"#;
