//! e2e: MariaDB 10.11 → `cdc-capture` → Kafka → `cdc-sink` (mirror) → Iceberg, checked with
//! `cdc-sink verify` against the MariaDB source. A table with every MySQL type the capture maps
//! (NULLs and edge values) is snapshotted, then changed while streaming (inserts, updates,
//! deletes, a multi-statement transaction, ADD COLUMN mid-stream; without a default, since
//! MariaDB fills a default into existing rows without binlog events): verify prints
//! `verify: OK shop.vt <rows>`. A row changed directly in MariaDB with the sink stopped makes it
//! print `verify: MISMATCH` and exit 1. The password travels in MYSQL_PWD, never printed.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use cdc_testkit::{
    free_port, wait_until, workspace_binary, KafkaBroker, ManagedProcess, MariaDbServer,
};

const SCHEMA: &str = "CREATE TABLE shop.vt (
    id INT PRIMARY KEY,
    c_tiny TINYINT, c_small_u SMALLINT UNSIGNED, c_medium MEDIUMINT, c_int INT,
    c_int_u INT UNSIGNED, c_big BIGINT, c_big_u BIGINT UNSIGNED, c_dec DECIMAL(12,3),
    c_float FLOAT, c_double DOUBLE, c_bit1 BIT(1), c_bit10 BIT(10), c_bool BOOLEAN,
    c_char CHAR(4), c_varchar VARCHAR(30), c_text TEXT, c_blob BLOB, c_binary BINARY(4),
    c_enum ENUM('sad','ok','happy'), c_set SET('a','b','c'), c_json JSON, c_date DATE,
    c_time TIME(3), c_dt DATETIME(6), c_dt0 DATETIME, c_ts TIMESTAMP(6) NULL, c_year YEAR
)";

fn row(id: i64, extra: &str) -> String {
    format!(
        "({id}, {t}, {id}, -{id}, {id} * 1000, {id} * 7, {id} * 1000003, {id} * 99991, \
         {id} * 1.125, {id} / 3, {id} / 7, {b1}, b'1000000011', {b1}, 'c{m}', 'v{id}', \
         REPEAT('é ', {m}), UNHEX(MD5('{id}')), 'ab', '{e}', 'a,c', JSON_OBJECT('g', {id}), \
         DATE_ADD('2020-01-01', INTERVAL {id} DAY), SEC_TO_TIME({id} * 37.125), \
         TIMESTAMPADD(MICROSECOND, {id} * 1000001, '2021-03-04 05:06:07.654321'), \
         '2000-01-01 00:00:00', TIMESTAMPADD(SECOND, {id} * 61, '2001-02-03 04:05:06.5'), \
         1990 + {m}{extra})",
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

fn spawn(bin: &str, args: &[&str], env: &[(&str, &str)], log: &Path) -> ManagedProcess {
    let bin = workspace_binary(bin).expect("cargo build the binaries first");
    ManagedProcess::spawn(&bin, args, env, log).expect("spawn")
}

fn verify(dir: &Path, db: &MariaDbServer) -> Output {
    let (user, password) = db.cdc_user();
    std::process::Command::new(workspace_binary("cdc-sink").expect("cdc-sink binary"))
        .args([
            "verify",
            "--config",
            &dir.join("sink.toml").display().to_string(),
            "--source",
            &format!("mariadb://{user}@{}:{}", db.host(), db.port()),
            "--table",
            "shop.vt",
        ])
        .env("MYSQL_PWD", password)
        .env_remove("CDC_SINK_VERIFY_SOURCE")
        .output()
        .expect("run cdc-sink verify")
}

fn show(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs verify until it prints `expected` (the sink commits about every second).
async fn verify_until(dir: &Path, db: &MariaDbServer, expected: &str) -> Output {
    let mut last = None;
    let ok = wait_until(
        Instant::now() + Duration::from_secs(120),
        Duration::from_millis(500),
        || {
            let out = verify(dir, db);
            let done = String::from_utf8_lossy(&out.stdout) == expected;
            last = Some(out);
            async move { done }
        },
    )
    .await;
    let out = last.expect("verify ran");
    assert!(ok.is_ok(), "expected {expected:?}\n{}", show(&out));
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_to_iceberg_verify_ok_then_mismatch() {
    let (db, kafka) = tokio::try_join!(MariaDbServer::start(), KafkaBroker::start())
        .expect("start MariaDB and Kafka");
    let bootstrap = kafka.bootstrap_servers();
    db.execute("CREATE DATABASE shop").await.unwrap();
    db.execute(SCHEMA).await.unwrap();
    db.execute(&insert(1..=200, "")).await.unwrap();
    db.execute("INSERT INTO shop.vt (id) VALUES (201)")
        .await
        .unwrap();
    db.execute(
        "INSERT INTO shop.vt (id, c_tiny, c_small_u, c_int_u, c_big, c_big_u, c_dec, c_float, \
         c_double, c_bit10, c_char, c_varchar, c_blob, c_json, c_date, c_time, c_dt, c_ts, c_year) \
         VALUES (202, -128, 65535, 4294967295, -9223372036854775808, 18446744073709551615, \
         -999999999.999, -3.4e38, 1.7976931348623157e308, b'1111111111', '', '', '', '[]', \
         '1000-01-01', '-838:59:59', '1000-01-01 00:00:00', '1970-01-01 00:00:01', 1901)",
    )
    .await
    .unwrap();

    let dir: PathBuf =
        std::env::temp_dir().join(format!("cdc-e2e-mariadb-sink-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (user, password) = db.cdc_user();
    let capture_toml = dir.join("capture.toml");
    std::fs::write(
        &capture_toml,
        format!(
            "topic_prefix = \"mdb\"\n\n[source]\nkind = \"mariadb\"\nhost = \"{host}\"\n\
             port = {port}\nuser = \"{user}\"\npassword = {{ env = \"CDC_TEST_MARIADB_PASSWORD\" }}\n\
             server_id = 5500\ntables = [\"shop.vt\"]\n\n[kafka]\nbootstrap_servers = \"{bootstrap}\"\n",
            host = db.host(),
            port = db.port(),
        ),
    )
    .unwrap();
    let sink_toml = dir.join("sink.toml");
    std::fs::write(
        &sink_toml,
        format!(
            "[kafka]\nbootstrap_servers = \"{bootstrap}\"\ngroup_id = \"cdc-sink-mdb\"\n\
             topic_pattern = \"^mdb\\\\..*\"\n\n[iceberg]\ndata_dir = \"{data}\"\n\n\
             [commit]\ninterval_ms = 1000\n\n[ops]\nlisten = \"127.0.0.1:{port}\"\n",
            data = dir.join("lake").display(),
            port = free_port(),
        ),
    )
    .unwrap();
    let capture_listen = format!("127.0.0.1:{}", free_port());
    let mut capture = spawn(
        "cdc-capture",
        &[
            "--config",
            &capture_toml.display().to_string(),
            "--metrics-listen",
            &capture_listen,
        ],
        &[("CDC_TEST_MARIADB_PASSWORD", password)],
        &dir.join("capture.log"),
    );
    let sink_args = ["--config".to_owned(), sink_toml.display().to_string()];
    let sink_args: Vec<&str> = sink_args.iter().map(String::as_str).collect();
    let mut sink = spawn("cdc-sink", &sink_args, &[], &dir.join("sink.log"));

    let t0 = Instant::now();
    verify_until(&dir, &db, "verify: OK shop.vt 202\n").await;
    println!("snapshot verified after {:.1}s", t0.elapsed().as_secs_f64());

    // Streaming: inserts, updates, deletes, a multi-statement transaction, ADD COLUMN.
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
    ] {
        db.execute(&sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    let rows: i64 = {
        use mysql_async::prelude::Queryable;
        let mut conn = db.connect_admin().await.expect("connect");
        let count: Option<i64> = conn
            .query_first("SELECT COUNT(*) FROM shop.vt")
            .await
            .expect("count");
        count.expect("a count")
    };
    let t1 = Instant::now();
    let out = verify_until(&dir, &db, &format!("verify: OK shop.vt {rows}\n")).await;
    println!(
        "stream verified after {:.1}s ({rows} rows)",
        t1.elapsed().as_secs_f64()
    );
    // The test user's password is `cdc`, a substring of table names: look for it as a URL credential.
    assert!(
        !show(&out).contains(&format!(":{password}@")),
        "the password was printed"
    );

    sink.kill9().unwrap();
    db.execute("UPDATE shop.vt SET c_text = 'diverged' WHERE id = 7")
        .await
        .unwrap();
    let out = verify(&dir, &db);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("verify: MISMATCH shop.vt "),
        "{}",
        show(&out)
    );
    assert!(stdout.contains("different values: id=7"), "{}", show(&out));
    // The test user's password is `cdc`, a substring of table names: look for it as a URL credential.
    assert!(
        !show(&out).contains(&format!(":{password}@")),
        "the password was printed"
    );
    capture.kill9().unwrap();
}
