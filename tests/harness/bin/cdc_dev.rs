//! `cdc-dev`: the driver behind `dev/demo`. Runs the whole pipeline on this machine on real
//! services and ends with one line: `demo: OK …` or `demo: FAIL <reason>` (exit 1).
//!
//! `cdc-dev demo` (or `demo postgres`) runs it on PostgreSQL 15; `cdc-dev demo mysql` (or
//! `demo mariadb`) on MariaDB 10.11, checked with `cdc-sink verify`.

use std::future::Future;
use std::path::Path;
use std::sync::atomic::AtomicUsize;
use std::time::{Duration, Instant};

use cdc_e2e::mariadb::{verified_rows, MariaDbPipeline};
use cdc_e2e::mariadb_workload::{self, MariaDbWorkload};
use cdc_e2e::pipeline::Pipeline;
use cdc_e2e::readback;
use cdc_e2e::schema::TABLES;
use cdc_e2e::workload::{Done, Spec, Workload};

const USAGE: &str = "usage: cdc-dev demo [postgres|mysql]

Starts PostgreSQL (default) or MariaDB (`mysql`, `mariadb`) and Kafka on private loopback
ports, creates the sample schema, runs cdc-capture and cdc-sink, applies a burst of changes,
waits for Iceberg to catch up and compares it with the source database.";

/// The burst of changes applied while streaming (both sources).
const SPEC: Spec = Spec {
    inserts: 400,
    updates: 150,
    pk_changes: 5,
    deletes: 40,
};
/// How long the sink may take to catch up after the load.
const CATCH_UP: Duration = Duration::from_secs(180);

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let source = match args.as_slice() {
        ["demo"] | ["demo", "postgres" | "pg"] => "postgres",
        ["demo", "mysql" | "mariadb"] => "mariadb",
        _ => {
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    };
    let dir = std::env::temp_dir().join(format!("cdc-demo-{}", std::process::id()));
    if source == "postgres" {
        run(&dir, postgres_demo(&dir)).await
    } else {
        run(&dir, mariadb_demo(&dir)).await
    }
}

/// Runs a demo to its last line; on Ctrl-C drops it (its services and processes stop on drop).
async fn run(dir: &Path, demo: impl Future<Output = Result<String, String>>) {
    let outcome = tokio::select! {
        outcome = demo => outcome,
        _ = tokio::signal::ctrl_c() => Err("interrupted".to_owned()),
    };
    match outcome {
        Ok(line) => {
            let _ = std::fs::remove_dir_all(dir);
            println!("{line}");
        }
        Err(reason) => {
            println!("demo: FAIL {}", reason.replace('\n', " | "));
            eprintln!("(work directory kept: {})", dir.display());
            std::process::exit(1);
        }
    }
}

fn err(e: cdc_e2e::HarnessError) -> String {
    e.to_string()
}

fn print_load(done: &Done, started: Instant) {
    println!(
        "demo: load generator: {} inserts, {} updates, {} deletes in {} transactions ({:.1}s)",
        done.inserts,
        done.updates,
        done.deletes,
        done.transactions,
        started.elapsed().as_secs_f64()
    );
}

/// Prints a few current rows of every table, read back with pyiceberg + DuckDB.
async fn show_tables(lake: &Path, tables: &[&str]) -> Result<(), String> {
    for table in tables {
        println!("{}", readback::show(lake, table, 5).await.map_err(err)?);
    }
    Ok(())
}

/// The last line of a successful demo.
fn ok_line(tables: usize, rows: u64, source: &str) -> String {
    format!("demo: OK {tables} tables, {rows} rows, iceberg matches {source}")
}

async fn postgres_demo(dir: &Path) -> Result<String, String> {
    let t0 = Instant::now();
    println!("demo: starting PostgreSQL 15 and Apache Kafka (KRaft) on loopback …");
    let mut p = Pipeline::start(dir).await.map_err(err)?;
    let client = p.connect().await.map_err(err)?;
    let mut workload = Workload::setup(&client, 2026, 50, 80).await.map_err(err)?;
    println!(
        "demo: services up in {:.1}s; sample schema created (customers, orders; 130 rows to snapshot)",
        t0.elapsed().as_secs_f64()
    );
    p.start_capture().map_err(err)?;
    p.start_sink().map_err(err)?;
    let t1 = Instant::now();
    let done = workload
        .run(&client, SPEC, &AtomicUsize::new(0))
        .await
        .map_err(err)?;
    print_load(&done, t1);
    let reports = p.wait_until_in_sync(CATCH_UP).await.map_err(err)?;
    println!(
        "demo: Iceberg matched PostgreSQL {:.1}s after the load started",
        t1.elapsed().as_secs_f64()
    );
    show_tables(&p.lake_dir(), &TABLES).await?;
    p.shutdown().await.map_err(err)?;
    let rows: u64 = reports.iter().map(|r| r.rows).sum();
    Ok(ok_line(reports.len(), rows, "postgres"))
}

async fn mariadb_demo(dir: &Path) -> Result<String, String> {
    let tables = &mariadb_workload::TABLES;
    let t0 = Instant::now();
    println!(
        "demo: starting MariaDB 10.11 (binlog ROW, GTID) and Apache Kafka (KRaft) on loopback …"
    );
    let (mut workload, setup) = MariaDbWorkload::setup(2026, 50, 80);
    let mut p = MariaDbPipeline::start(dir, "shop", tables, &setup)
        .await
        .map_err(err)?;
    println!(
        "demo: services up in {:.1}s; sample schema created (shop.customers, shop.orders; 130 rows to snapshot)",
        t0.elapsed().as_secs_f64()
    );
    p.start_capture().map_err(err)?;
    p.start_sink().map_err(err)?;
    // The load starts once the snapshot is in Iceberg, so that it flows through the binlog.
    let snapshot = format!("verify: OK {} 50\nverify: OK {} 80\n", tables[0], tables[1]);
    p.verify_until(tables, &snapshot, CATCH_UP)
        .await
        .map_err(err)?;
    println!(
        "demo: initial snapshot (130 rows) verified in Iceberg {:.1}s after the start",
        t0.elapsed().as_secs_f64()
    );
    let t1 = Instant::now();
    let (transactions, done) = workload.transactions(SPEC);
    for sql in &transactions {
        p.db.execute(sql).await.map_err(|e| e.to_string())?;
    }
    print_load(&done, t1);
    let out = p
        .verify_until_with(tables, CATCH_UP, |stdout| {
            verified_rows(stdout, tables).is_some()
        })
        .await
        .map_err(err)?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    print!("{stdout}");
    println!(
        "demo: Iceberg matched MariaDB (cdc-sink verify) {:.1}s after the load started",
        t1.elapsed().as_secs_f64()
    );
    let counts = verified_rows(&stdout, tables).unwrap_or_default();
    // And with engines we did not write: the mirror tables read by pyiceberg and DuckDB.
    for (table, columns) in tables.iter().zip(mariadb_workload::READBACK_COLUMNS) {
        p.compare_mirror(table, &columns).await.map_err(err)?;
    }
    println!(
        "demo: mirror tables read back with pyiceberg and DuckDB equal MariaDB (keys, integers, \
         decimals, text, enum, dates)"
    );
    show_tables(&p.lake_dir(), tables).await?;
    p.shutdown().await.map_err(err)?;
    let rows: u64 = counts.iter().map(|(_, n)| n).sum();
    Ok(ok_line(counts.len(), rows, "mariadb"))
}
