//! e2e: `cdc-sink verify` against a real pipeline. A table with many column types is
//! snapshotted (insert-only) into its changelog table, which then equals the source:
//! verify prints `verify: OK` and exits 0. After an UPDATE and a DELETE made directly in
//! PostgreSQL with the sink stopped, verify prints `verify: MISMATCH` naming the table and
//! both keys, and exits 1. The password comes from PGPASSWORD and is never printed.

use std::process::Output;
use std::time::{Duration, Instant};

use cdc_e2e::pipeline::Pipeline;
use cdc_testkit::{wait_until, workspace_binary};

const ROWS: i64 = 300;

const SCHEMA: &str = "
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN posint AS integer CHECK (VALUE > 0);
CREATE TABLE vt (
    id integer PRIMARY KEY,
    c_int2 smallint, c_int8 bigint, c_bool boolean, c_dom posint,
    c_num numeric, c_num_10_2 numeric(10, 2), c_real real, c_double double precision,
    c_money money, c_char char(5), c_varchar varchar(20), c_text text, c_bytea bytea,
    c_date date, c_time time, c_time3 time(3), c_timetz timetz,
    c_ts timestamp, c_ts3 timestamp(3), c_tstz timestamptz, c_interval interval,
    c_json json, c_jsonb jsonb, c_uuid uuid, c_inet inet, c_enum mood, c_tsrange tsrange,
    c_req text NOT NULL DEFAULT 'x'
);";

/// Rows 1..ROWS from a formula, plus special values and nulls.
fn rows_sql() -> String {
    format!(
        "INSERT INTO vt SELECT g, (g % 30000)::int2, g * 1000003, g % 2 = 0, g,
            (g * 1.25)::numeric, g * 3.14, g / 7.0, g / 3.0, g * 1.5, 'c' || (g % 10),
            'v' || g, repeat('é ', g % 5) || g, decode(md5(g::text), 'hex'),
            DATE '2020-01-01' + g, TIME '00:00:00' + g * INTERVAL '1.000001 second',
            TIME '12:00:00.123' + g * INTERVAL '1 minute',
            TIMETZ '10:00:00.5+02' + g * INTERVAL '1 second',
            TIMESTAMP '2021-03-04 05:06:07.654321' + g * INTERVAL '1 day 1 microsecond',
            TIMESTAMP '2021-03-04 05:06:07.123' + g * INTERVAL '1 hour',
            TIMESTAMPTZ '1999-12-31 23:59:59.999999+05' + g * INTERVAL '17 minutes',
            g * INTERVAL '1 mon 2 days 03:04:05.6',
            json_build_object('g', g, 'a', 'b')::json, jsonb_build_object('k', g, 'nested', jsonb_build_array(1, 'x')),
            md5(g::text)::uuid, ('10.0.' || (g % 256) || '.1/24')::inet,
            (ARRAY['sad', 'ok', 'happy'])[g % 3 + 1]::mood,
            tsrange(TIMESTAMP '2020-01-01' + g * INTERVAL '1 day', NULL), 'r' || g
         FROM generate_series(1, {ROWS}) g;
         INSERT INTO vt (id, c_num, c_real, c_double, c_date, c_ts, c_tstz, c_text, c_interval)
         VALUES ({a}, '-0.000100', 'NaN', '-Infinity', 'infinity', '-infinity', 'infinity',
                 E'tab\\there\\nnewline\\\\', '-3 days -00:00:01.5'),
                ({b}, '12345678901234567890.5', '-0', 'Infinity', '-infinity', 'infinity', '-infinity', '', '0'),
                ({c}, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);",
        a = ROWS + 1,
        b = ROWS + 2,
        c = ROWS + 3
    )
}

/// Runs `cdc-sink verify` on the changelog table of `public.vt`.
fn verify(p: &Pipeline) -> Output {
    // The password travels in PGPASSWORD, not in the connection string.
    let conninfo: Vec<&str> = Vec::new();
    let dsn = p.pg_dsn();
    let conninfo = dsn
        .split_whitespace()
        .filter(|kv| !kv.starts_with("password="))
        .fold(conninfo, |mut v, kv| {
            v.push(kv);
            v
        })
        .join(" ");
    std::process::Command::new(workspace_binary("cdc-sink").expect("cdc-sink binary"))
        .args([
            "verify",
            "--config",
            &p.dir.join("sink.toml").display().to_string(),
            "--source",
            &conninfo,
            "--table",
            "public.vt",
            "--iceberg-table",
            "cdc.public_vt_changelog",
        ])
        .env("PGPASSWORD", p.pg.password())
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_reports_ok_then_mismatch_after_direct_changes() {
    let mut p = Pipeline::start_named("verify")
        .await
        .expect("start PostgreSQL and Kafka");
    let client = p.connect().await.unwrap();
    client.batch_execute(SCHEMA).await.unwrap();
    client.batch_execute(&rows_sql()).await.unwrap();
    let total = ROWS + 3;
    p.set_capture_tables(&["public.vt"], "").unwrap();
    p.start_capture().unwrap();
    p.start_sink().unwrap();
    p.wait_for_snapshot(total as u64, Duration::from_secs(120))
        .await
        .unwrap();

    // The sink commits within ~1 s; verify until it matches (other errors fail at once).
    let expected = format!("verify: OK public.vt {total}\n");
    let mut last = None;
    let t0 = Instant::now();
    let synced = wait_until(
        Instant::now() + Duration::from_secs(90),
        Duration::from_millis(500),
        || {
            let out = verify(&p);
            // Until the sink's first commit the table does not exist yet.
            let missing = String::from_utf8_lossy(&out.stderr).contains("No such table");
            let done = out.status.code() == Some(0) || (out.status.code() == Some(2) && !missing);
            last = Some(out);
            async move { done }
        },
    )
    .await;
    let out = last.expect("verify ran");
    assert!(synced.is_ok(), "{}", show(&out));
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        expected,
        "{}",
        show(&out)
    );
    let password = p.pg.password().to_owned();
    assert!(!show(&out).contains(&password), "the password was printed");
    println!("verify OK after {:.1}s", t0.elapsed().as_secs_f64());

    p.kill_sink().unwrap();
    client
        .batch_execute(
            "UPDATE vt SET c_text = 'changed' WHERE id = 7; DELETE FROM vt WHERE id = 9;",
        )
        .await
        .unwrap();
    let out = verify(&p);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with(&format!(
            "verify: MISMATCH public.vt source_rows={} iceberg_rows={total} ",
            total - 1
        )),
        "{}",
        show(&out)
    );
    assert!(stdout.contains("differing_keys=2"), "{}", show(&out));
    assert!(stdout.contains("different values: id=7"), "{}", show(&out));
    assert!(stdout.contains("only in iceberg: id=9"), "{}", show(&out));
    assert!(!show(&out).contains(&password), "the password was printed");
    p.shutdown().await.unwrap();
}
