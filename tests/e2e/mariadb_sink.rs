//! e2e: MariaDB 10.11 → `cdc-capture` → Kafka → `cdc-sink` (mirror) → Iceberg, checked with
//! `cdc-sink verify` against the MariaDB source. A table with every MySQL type the capture maps
//! (NULLs and edge values) is snapshotted, then changed while streaming (inserts, updates,
//! deletes, a multi-statement transaction, and DDL mid-stream: ADD COLUMN — without a default,
//! since MariaDB fills a default into existing rows without binlog events —, DROP COLUMN, and
//! MODIFY COLUMN widenings INT → BIGINT and DECIMAL(10,2) → DECIMAL(12,2) followed by values
//! only the wider types hold): verify prints `verify: OK shop.vt <rows>` (the dropped column,
//! kept in Iceberg, is listed as a note and not compared). The mirror table is then read back
//! with pyiceberg and DuckDB (`iceberg_check.py dump`) and compared with MariaDB: the widened
//! Iceberg types, the dropped column null in rows written after the drop. A row changed directly
//! in MariaDB with the sink stopped makes verify print `verify: MISMATCH` and exit 1. The
//! password travels in MYSQL_PWD, never printed.

use std::time::{Duration, Instant};

use cdc_e2e::mariadb::{show_output, MariaDbPipeline};
use cdc_e2e::readback::mirror_rows;

const SCHEMA: &str = "CREATE TABLE shop.vt (
    id INT PRIMARY KEY,
    c_tiny TINYINT, c_small_u SMALLINT UNSIGNED, c_medium MEDIUMINT, c_int INT,
    c_int_u INT UNSIGNED, c_big BIGINT, c_big_u BIGINT UNSIGNED, c_dec DECIMAL(12,3),
    c_float FLOAT, c_double DOUBLE, c_bit1 BIT(1), c_bit10 BIT(10), c_bool BOOLEAN,
    c_char CHAR(4), c_varchar VARCHAR(30), c_text TEXT, c_blob BLOB, c_binary BINARY(4),
    c_enum ENUM('sad','ok','happy'), c_set SET('a','b','c'), c_json JSON, c_date DATE,
    c_time TIME(3), c_dt DATETIME(6), c_dt0 DATETIME, c_ts TIMESTAMP(6) NULL, c_year YEAR,
    c_money DECIMAL(10,2)
)";

fn row(id: i64, extra: &str) -> String {
    format!(
        "({id}, {t}, {id}, -{id}, {id} * 1000, {id} * 7, {id} * 1000003, {id} * 99991, \
         {id} * 1.125, {id} / 3, {id} / 7, {b1}, b'1000000011', {b1}, 'c{m}', 'v{id}', \
         REPEAT('é ', {m}), UNHEX(MD5('{id}')), 'ab', '{e}', 'a,c', JSON_OBJECT('g', {id}), \
         DATE_ADD('2020-01-01', INTERVAL {id} DAY), SEC_TO_TIME({id} * 37.125), \
         TIMESTAMPADD(MICROSECOND, {id} * 1000001, '2021-03-04 05:06:07.654321'), \
         '2000-01-01 00:00:00', TIMESTAMPADD(SECOND, {id} * 61, '2001-02-03 04:05:06.5'), \
         1990 + {m}, {id} * 12.5{extra})",
        t = id % 120 - 60,
        b1 = id % 2,
        m = id % 5,
        e = ["sad", "ok", "happy"][(id % 3) as usize],
    )
}

fn insert(ids: impl Iterator<Item = i64>, extra: &str) -> String {
    let rows: Vec<String> = ids.map(|id| row(id, extra)).collect();
    format!("INSERT INTO shop.vt VALUES {}", rows.join(", "))
}

/// Columns read back from the mirror table and compared with MariaDB (`c_medium`, dropped
/// mid-stream, is checked separately).
const READBACK: [&str; 7] = [
    "id",
    "c_int",
    "c_money",
    "c_dec",
    "c_varchar",
    "c_note",
    "c_date",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_to_iceberg_verify_ok_then_mismatch() {
    let setup = vec![
        "CREATE DATABASE shop".to_owned(),
        SCHEMA.to_owned(),
        insert(1..=200, ""),
        "INSERT INTO shop.vt (id) VALUES (201)".to_owned(),
        "INSERT INTO shop.vt (id, c_tiny, c_small_u, c_int_u, c_big, c_big_u, c_dec, c_float, \
         c_double, c_bit10, c_char, c_varchar, c_blob, c_json, c_date, c_time, c_dt, c_ts, c_year, \
         c_money) VALUES (202, -128, 65535, 4294967295, -9223372036854775808, \
         18446744073709551615, -999999999.999, -3.4e38, 1.7976931348623157e308, b'1111111111', \
         '', '', '', '[]', '1000-01-01', '-838:59:59', '1000-01-01 00:00:00', \
         '1970-01-01 00:00:01', 1901, -99999999.99)"
            .to_owned(),
    ];
    let dir = std::env::temp_dir().join(format!("cdc-e2e-mariadb-sink-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut p = MariaDbPipeline::start(&dir, "mdb", &["shop.vt"], &setup)
        .await
        .expect("start MariaDB and Kafka");
    let (_, password) = p.db.cdc_user();
    let password = password.to_owned();
    p.start_capture().expect("start cdc-capture");
    p.start_sink().expect("start cdc-sink");
    let timeout = Duration::from_secs(120);

    let t0 = Instant::now();
    p.verify_until(&["shop.vt"], "verify: OK shop.vt 202\n", timeout)
        .await
        .expect("snapshot verified");
    println!("snapshot verified after {:.1}s", t0.elapsed().as_secs_f64());

    // Streaming: inserts, updates, deletes, a multi-statement transaction, then DDL: ADD
    // COLUMN, DROP COLUMN, and widenings followed by values only the wider types hold.
    for sql in [
        insert(203..=260, ""),
        "UPDATE shop.vt SET c_varchar = 'updated', c_dec = c_dec + 1 WHERE id % 10 = 0".into(),
        "DELETE FROM shop.vt WHERE id % 17 = 0".into(),
        "START TRANSACTION; UPDATE shop.vt SET c_json = JSON_ARRAY(1, 'x') WHERE id = 3; \
         DELETE FROM shop.vt WHERE id = 4; INSERT INTO shop.vt (id) VALUES (300); COMMIT"
            .into(),
        "ALTER TABLE shop.vt ADD COLUMN c_note VARCHAR(20)".into(),
        insert(261..=280, ", 'late'"),
        "UPDATE shop.vt SET c_note = 'changed' WHERE id < 20".into(),
        "ALTER TABLE shop.vt DROP COLUMN c_medium".into(),
        "ALTER TABLE shop.vt MODIFY COLUMN c_int BIGINT, MODIFY COLUMN c_money DECIMAL(12,2)"
            .into(),
        "INSERT INTO shop.vt (id, c_int, c_money, c_varchar, c_note) VALUES \
         (281, 5000000000, 9999999999.99, 'wide', 'after'), \
         (282, -9223372036854775808, -9999999999.99, NULL, NULL), (283, NULL, 0.01, 'x', 'y')"
            .into(),
        "UPDATE shop.vt SET c_int = c_int * 1000000, c_money = c_money * 1000 \
         WHERE id BETWEEN 21 AND 25"
            .into(),
        "DELETE FROM shop.vt WHERE id = 30".into(),
    ] {
        p.db.execute(&sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    let rows = p.count("shop.vt").await.expect("count");
    let t1 = Instant::now();
    let out = p
        .verify_until(
            &["shop.vt"],
            &format!("verify: OK shop.vt {rows}\n"),
            timeout,
        )
        .await
        .expect("stream verified");
    println!(
        "stream verified after {:.1}s ({rows} rows)",
        t1.elapsed().as_secs_f64()
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("verify: note: shop.vt: column c_medium is only in Iceberg"),
        "{}",
        show_output(&out)
    );
    // The test user's password is `cdc`, a substring of table names: look for it as a URL credential.
    assert!(
        !show_output(&out).contains(&format!(":{password}@")),
        "the password was printed"
    );

    // Read back with engines we did not write: pyiceberg, and DuckDB's iceberg_scan (the
    // script fails if they differ).
    let t2 = Instant::now();
    let columns = ["id", "c_int", "c_money", "c_medium"];
    let dump = mirror_rows(&p.lake_dir(), "shop.vt", &columns)
        .await
        .expect("read the mirror table back");
    let types: Vec<(&str, &str)> = dump
        .types
        .iter()
        .map(|(c, t)| (c.as_str(), t.as_str()))
        .collect();
    assert!(types.contains(&("c_int", "long")), "{types:?}");
    assert!(types.contains(&("c_money", "decimal(12, 2)")), "{types:?}");
    assert!(types.contains(&("c_medium", "int")), "{types:?}");
    let iceberg = dump.rows;
    // Dropped at the source: kept, null in rows written from then on, old values unchanged.
    let medium = |id: i64| -> Option<String> {
        let row = iceberg
            .iter()
            .find(|r| r[0].as_deref() == Some(id.to_string().as_str()))
            .unwrap_or_else(|| panic!("id {id} not in the mirror table"));
        row[3].clone()
    };
    for id in [21, 25, 281, 282, 283] {
        assert_eq!(medium(id), None, "c_medium of id {id}");
    }
    assert_eq!(medium(40).as_deref(), Some("-40"));
    let rows_read = p
        .compare_mirror("shop.vt", &READBACK)
        .await
        .expect("mirror (pyiceberg/DuckDB) equal to MariaDB");
    println!(
        "mirror read back with pyiceberg + DuckDB and equal to MariaDB ({} rows) in {:.1}s",
        rows_read,
        t2.elapsed().as_secs_f64()
    );

    p.kill_sink().expect("kill the sink");
    p.db.execute("UPDATE shop.vt SET c_text = 'diverged' WHERE id = 7")
        .await
        .unwrap();
    let out = p.verify(&["shop.vt"]).expect("run verify");
    assert_eq!(out.status.code(), Some(1), "{}", show_output(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("verify: MISMATCH shop.vt "),
        "{}",
        show_output(&out)
    );
    assert!(
        stdout.contains("different values: id=7"),
        "{}",
        show_output(&out)
    );
    // The test user's password is `cdc`, a substring of table names: look for it as a URL credential.
    assert!(
        !show_output(&out).contains(&format!(":{password}@")),
        "the password was printed"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
