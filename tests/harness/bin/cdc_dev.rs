//! `cdc-dev`: the driver behind `dev/demo`. Runs the whole pipeline on this machine on real
//! services and ends with one line: `demo: OK …` or `demo: FAIL <reason>` (exit 1).

use std::sync::atomic::AtomicUsize;
use std::time::{Duration, Instant};

use cdc_e2e::pipeline::Pipeline;
use cdc_e2e::readback;
use cdc_e2e::schema::TABLES;
use cdc_e2e::workload::{Spec, Workload};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) != Some("demo") {
        eprintln!("usage: cdc-dev demo\n\nStarts PostgreSQL and Kafka on private loopback ports, creates the sample \
                   schema, runs cdc-capture and cdc-sink, applies a burst of changes, waits for \
                   Iceberg to catch up and compares it with PostgreSQL.");
        std::process::exit(2);
    }
    let dir = std::env::temp_dir().join(format!("cdc-demo-{}", std::process::id()));
    // Ctrl-C drops the demo future, whose services and processes stop on drop.
    let outcome = tokio::select! {
        outcome = demo(&dir) => outcome,
        _ = tokio::signal::ctrl_c() => Err("interrupted".to_owned()),
    };
    match outcome {
        Ok(line) => {
            let _ = std::fs::remove_dir_all(&dir);
            println!("{line}");
        }
        Err(reason) => {
            println!("demo: FAIL {}", reason.replace('\n', " | "));
            eprintln!("(work directory kept: {})", dir.display());
            std::process::exit(1);
        }
    }
}

async fn demo(dir: &std::path::Path) -> Result<String, String> {
    let e = |e: cdc_e2e::HarnessError| e.to_string();
    let t0 = Instant::now();
    println!("demo: starting PostgreSQL 15 and Apache Kafka (KRaft) on loopback …");
    let mut p = Pipeline::start(dir).await.map_err(e)?;
    let client = p.connect().await.map_err(e)?;
    let mut workload = Workload::setup(&client, 2026, 50, 80).await.map_err(e)?;
    println!(
        "demo: services up in {:.1}s; sample schema created (customers, orders; 130 rows to snapshot)",
        t0.elapsed().as_secs_f64()
    );
    p.start_capture().map_err(e)?;
    p.start_sink().map_err(e)?;
    let spec = Spec {
        inserts: 400,
        updates: 150,
        pk_changes: 5,
        deletes: 40,
    };
    let t1 = Instant::now();
    let done = workload
        .run(&client, spec, &AtomicUsize::new(0))
        .await
        .map_err(e)?;
    println!(
        "demo: load generator: {} inserts, {} updates, {} deletes in {} transactions ({:.1}s)",
        done.inserts,
        done.updates,
        done.deletes,
        done.transactions,
        t1.elapsed().as_secs_f64()
    );
    let reports = p
        .wait_until_in_sync(Duration::from_secs(180))
        .await
        .map_err(e)?;
    println!(
        "demo: Iceberg matched PostgreSQL {:.1}s after the load started",
        t1.elapsed().as_secs_f64()
    );
    for table in TABLES {
        let shown = readback::show(&p.lake_dir(), table, 5).await.map_err(e)?;
        println!("{shown}");
    }
    p.shutdown().await.map_err(e)?;
    let rows: u64 = reports.iter().map(|r| r.rows).sum();
    Ok(format!(
        "demo: OK {} tables, {rows} rows, iceberg matches postgres",
        reports.len()
    ))
}
