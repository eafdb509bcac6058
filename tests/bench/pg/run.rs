//! The benchmark's sequence of steps.

use std::time::{Duration, Instant};

use cdc_testkit::{KafkaBroker, PgInstall, PostgresServer};
use tokio_postgres::Client;

use crate::consumers::{self, Capture, CaptureSpec, DebeziumSpec};
use crate::observe::{self, Drain};
use crate::report::{Cpu, Figures, Throughput};
use crate::workload::{self, CHANGES_PER_TX, WIDE_ROW_BYTES};
use crate::{profile, BenchError, Options};

const DB: &str = "bench";
/// Publication of the `orders` table used by pg_recvlogical and Debezium (the capture keeps
/// its own, over the same table plus `wide_rows`).
const PUBLICATION: &str = "bench_pub";
const SLOT_RECV: &str = "bench_recvlogical";
const SLOT_CAPTURE: &str = "bench_capture";
const SLOT_DEBEZIUM: &str = "bench_debezium";
const SLOT_PERF: &str = "bench_perf";
const SLOT_SNAPSHOT: &str = "bench_snapshot";
const DRAIN_TIMEOUT: Duration = Duration::from_secs(900);

pub async fn run(o: &Options) -> Result<(), BenchError> {
    let started = Instant::now();
    std::fs::create_dir_all(&o.dir)
        .map_err(|e| BenchError::Check(format!("creating {}: {e}", o.dir.display())))?;
    let install = PgInstall::debian(15)?;
    let (pg, kafka) = tokio::try_join!(PostgresServer::start_with(&install), KafkaBroker::start())?;
    pg.create_database(DB).await?;
    let client = pg.connect(DB).await?;
    let bootstrap = kafka.bootstrap_servers();
    let mut f = Figures {
        machine: machine_info(&client).await,
        ..Figures::default()
    };
    println!(
        "bench: PostgreSQL 15 on port {}, Kafka at {bootstrap}; work dir {}",
        pg.port(),
        o.dir.display()
    );

    // Tables; the snapshot table is filled before any slot exists so no slot decodes it.
    workload::create_schema(&client, PUBLICATION).await?;
    if o.snapshot_rows > 0 {
        workload::fill_snapshot_table(&client, o.snapshot_rows).await?;
    }

    // Our capture creates its slot itself (a fresh start replaces an existing slot): run it
    // once with snapshot.mode=never until it has checkpointed, stop it, then create the other
    // slots, so every consumer starts before the backlog.
    let mut capture = Capture::configure(
        &o.dir,
        &pg,
        DB,
        &bootstrap,
        &CaptureSpec {
            name: "bench",
            slot: SLOT_CAPTURE,
            tables: &["public.orders", "public.wide_rows"],
            snapshot_mode: "never",
        },
    )?;
    capture.start()?;
    wait_checkpointed(&mut capture).await?;
    capture.stop().await?;
    let mut perf_capture = None;
    if o.perf {
        let mut c = Capture::configure(
            &o.dir,
            &pg,
            DB,
            &bootstrap,
            &CaptureSpec {
                name: "benchperf",
                slot: SLOT_PERF,
                tables: &["public.orders"],
                snapshot_mode: "never",
            },
        )?;
        c.start()?;
        wait_checkpointed(&mut c).await?;
        c.stop().await?;
        perf_capture = Some(c);
    }
    workload::create_slot(&client, SLOT_RECV).await?;
    if o.debezium {
        workload::create_slot(&client, SLOT_DEBEZIUM).await?;
    }

    // The backlog. The target LSN is taken before the last transaction: a consumer whose
    // confirmed position reaches it has confirmed that last commit.
    let txs = o.backlog_rows.div_ceil(CHANGES_PER_TX).max(1);
    f.backlog_rows = txs * CHANGES_PER_TX;
    let wal_start = workload::current_lsn(&client).await?;
    let t = Instant::now();
    workload::run_backlog(&client, txs - 1).await?;
    let target = workload::current_lsn(&client).await?;
    workload::run_backlog(&client, 1).await?;
    f.backlog_generation = t.elapsed();
    f.backlog_wal_bytes = wal_bytes(&client, &wal_start).await?;
    let expected_rows = 60 + (txs as i64) * 50;
    let rows = workload::count(&client, "orders").await?;
    if rows != expected_rows {
        return Err(BenchError::Check(format!(
            "backlog left {rows} rows in orders, expected {expected_rows}"
        )));
    }
    println!(
        "bench: backlog of {} row changes ({} transactions) in {:.1} s, {:.0} MB WAL",
        f.backlog_rows,
        txs,
        f.backlog_generation.as_secs_f64(),
        f.backlog_wal_bytes as f64 / 1048576.0
    );

    // P1: pg_recvlogical, the floor.
    let mut recv = consumers::start_recvlogical(
        &install,
        &pg,
        DB,
        SLOT_RECV,
        PUBLICATION,
        &o.dir.join("pg_recvlogical.log"),
    )?;
    let spawned = Instant::now();
    let drain = observe::wait_drained(&client, SLOT_RECV, &target, spawned, DRAIN_TIMEOUT, || {
        consumers::check_alive("pg_recvlogical", Some(&mut recv))
    })
    .await?;
    let cpu = cpu_of(&client, SLOT_RECV, recv.pid()).await?;
    recv.terminate(Duration::from_secs(10)).await?;
    workload::drop_slot(&client, SLOT_RECV).await?;
    f.recvlogical = Some(Throughput {
        drain,
        rows: f.backlog_rows,
        cpu,
    });
    println!(
        "bench: pg_recvlogical {:.0} rows/s",
        f.recvlogical.map_or(0.0, |t| t.rows_per_sec())
    );

    // P1/P3: cdc-capture resumes from its checkpoint.
    let pid = capture.start()?;
    let spawned = Instant::now();
    let drain = observe::wait_drained(
        &client,
        SLOT_CAPTURE,
        &target,
        spawned,
        DRAIN_TIMEOUT,
        || capture.check_alive(),
    )
    .await?;
    f.capture_memory = Some(observe::memory(pid)?);
    let cpu = cpu_of(&client, SLOT_CAPTURE, pid).await?;
    capture.stop().await?;
    f.capture = Some(Throughput {
        drain,
        rows: f.backlog_rows,
        cpu,
    });
    println!(
        "bench: cdc-capture {:.0} rows/s, peak RSS {:.1} MB",
        f.capture.map_or(0.0, |t| t.rows_per_sec()),
        f.capture_memory.map_or(0.0, |m| m.peak as f64 / 1048576.0)
    );

    // P2/P3: real Debezium.
    if o.debezium {
        debezium(o, &pg, &kafka, &client, (&wal_start, &target), &mut f).await?;
    }

    // Optional: a profile of the capture over the same backlog (not part of the figures).
    let mut profile_text = String::new();
    if let Some(c) = perf_capture.as_mut() {
        profile_text = profile::capture_pass(&o.dir, c, &client, SLOT_PERF, &target).await?;
        workload::drop_slot(&client, SLOT_PERF).await?;
    }

    // P6: one big transaction through a fresh capture process.
    if o.big_tx_mb > 0 {
        f.big_tx_rows = o.big_tx_mb * 1024 * 1024 / WIDE_ROW_BYTES;
        f.big_tx_bytes = f.big_tx_rows * WIDE_ROW_BYTES;
        let pid = capture.start()?;
        observe::wait_slot_active(&client, SLOT_CAPTURE, Duration::from_secs(60), || {
            capture.check_alive()
        })
        .await?;
        let t = Instant::now();
        workload::big_transaction(&client, f.big_tx_rows).await?;
        println!(
            "bench: big transaction of {} rows written in {:.1} s",
            f.big_tx_rows,
            t.elapsed().as_secs_f64()
        );
        let end = workload::current_lsn(&client).await?;
        let drain = observe::wait_drained(&client, SLOT_CAPTURE, &end, t, DRAIN_TIMEOUT, || {
            capture.check_alive()
        })
        .await?;
        f.big_tx_drain = Some(Drain {
            startup: Duration::ZERO,
            drain: drain.startup + drain.drain,
        });
        f.big_tx_memory = Some(observe::memory(pid)?);
        capture.stop().await?;
        println!(
            "bench: big transaction peak RSS {:.1} MB",
            f.p6().unwrap_or(0.0)
        );
    }

    // P4: initial snapshot against COPY (FORMAT binary).
    if o.snapshot_rows > 0 {
        snapshot(o, &pg, &install, &bootstrap, &mut f).await?;
    }

    f.total = started.elapsed();
    f.notes.push(format!(
        "Machine load (/proc/loadavg) at the end: {}. The 2 cores are shared with other \
         builds, so figures vary between runs; compare runs on an idle machine.",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    ));
    f.notes.push(
        "Our capture's producer compresses with LZ4 (librdkafka, linger 5 ms); the Debezium \
         handler's confluent-kafka producer sends uncompressed (linger 5 ms)."
            .to_owned(),
    );
    for line in f.lines() {
        println!("{line}");
    }
    let md = f.markdown(&profile_text);
    if let Some(parent) = o.report.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    std::fs::write(&o.report, md)
        .map_err(|e| BenchError::Check(format!("writing {}: {e}", o.report.display())))?;
    println!("bench: report {}", o.report.display());
    println!("bench: total {:.0} s", f.total.as_secs_f64());
    kafka.stop().await?;
    pg.stop().await?;
    Ok(())
}

/// Waits until a freshly started capture has written its first checkpoint (`acked_lsn > 0`).
async fn wait_checkpointed(capture: &mut Capture) -> Result<(), BenchError> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        capture.check_alive()?;
        if observe::capture_metric(&capture.metrics, "cdc_capture_acked_lsn").await > 0.0 {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(BenchError::Check(
                "cdc-capture did not checkpoint within 60 s".into(),
            ));
        }
        tokio::time::sleep(observe::POLL).await;
    }
}

async fn debezium(
    o: &Options,
    pg: &PostgresServer,
    kafka: &KafkaBroker,
    client: &Client,
    (from, target): (&str, &str),
    f: &mut Figures,
) -> Result<(), BenchError> {
    let topic_prefix = "bench_dbz";
    kafka_create_topic(kafka, &format!("{topic_prefix}.public.orders")).await?;
    let python = o.venv.join("bin/python");
    let script = o.source_root.join("bench/debezium_bench.py");
    let dir = o.dir.join("debezium");
    std::fs::create_dir_all(&dir)
        .map_err(|e| BenchError::Check(format!("creating {}: {e}", dir.display())))?;
    let mut process = consumers::start_debezium(
        pg,
        &DebeziumSpec {
            python: &python,
            script: &script,
            dir: &dir,
            db: DB,
            slot: SLOT_DEBEZIUM,
            publication: PUBLICATION,
            topic_prefix,
            table: "public.orders",
            bootstrap: &kafka.bootstrap_servers(),
        },
    )?;
    let pid = process.pid();
    let spawned = Instant::now();
    let partial = observe::wait_drained_partial(
        client,
        SLOT_DEBEZIUM,
        from,
        target,
        spawned,
        o.debezium_timeout,
        || consumers::check_alive("debezium", Some(&mut process)),
    )
    .await?;
    f.debezium_memory = Some(observe::memory(pid)?);
    let cpu = cpu_of(client, SLOT_DEBEZIUM, pid).await?;
    let stats = consumers::debezium_stats(&dir)?;
    process.kill9()?;
    workload::drop_slot(client, SLOT_DEBEZIUM).await?;
    let rows = (f.backlog_rows as f64 * partial.fraction) as u64;
    if !partial.complete {
        f.notes.push(format!(
            "Debezium had not finished after {:?} (CDC_BENCH_DEBEZIUM_TIMEOUT); its rate is \
             the {:.1} % of the backlog's WAL ({rows} row changes) it had confirmed by then.",
            o.debezium_timeout,
            partial.fraction * 100.0
        ));
    }
    f.debezium = Some(Throughput {
        drain: partial.drain,
        rows,
        cpu,
    });
    f.debezium_records = stats.records;
    f.debezium_handler_seconds = stats.handler_seconds;
    println!(
        "bench: Debezium {:.0} rows/s ({} records, {:.1} s in the Python handler), peak RSS {:.1} MB",
        f.debezium.map_or(0.0, |t| t.rows_per_sec()),
        stats.records,
        stats.handler_seconds,
        f.debezium_memory.map_or(0.0, |m| m.peak as f64 / 1048576.0)
    );
    Ok(())
}

async fn kafka_create_topic(kafka: &KafkaBroker, topic: &str) -> Result<(), BenchError> {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    use rdkafka::client::DefaultClientContext;
    let admin: AdminClient<DefaultClientContext> = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", kafka.bootstrap_servers())
        .create()
        .map_err(|e| BenchError::Check(format!("Kafka admin client: {e}")))?;
    let results = admin
        .create_topics(
            &[NewTopic::new(topic, 1, TopicReplication::Fixed(1))],
            &AdminOptions::new(),
        )
        .await
        .map_err(|e| BenchError::Check(format!("creating topic {topic}: {e}")))?;
    for r in results {
        r.map_err(|(t, e)| BenchError::Check(format!("creating topic {t}: {e}")))?;
    }
    Ok(())
}

async fn snapshot(
    o: &Options,
    pg: &PostgresServer,
    install: &PgInstall,
    bootstrap: &str,
    f: &mut Figures,
) -> Result<(), BenchError> {
    f.snapshot_rows = o.snapshot_rows;
    // COPY … (FORMAT binary) through psql into /dev/null.
    let psql = install.binary("psql");
    let t = Instant::now();
    let status = std::process::Command::new(&psql)
        .args([
            "-X",
            "-q",
            "-h",
            pg.host(),
            "-p",
            &pg.port().to_string(),
            "-U",
            pg.user(),
            "-d",
            DB,
            "-c",
            "COPY snap_orders TO STDOUT (FORMAT binary)",
        ])
        .env("PGPASSWORD", pg.password())
        .stdout(std::process::Stdio::null())
        .status()
        .map_err(|e| BenchError::Check(format!("running {}: {e}", psql.display())))?;
    if !status.success() {
        return Err(BenchError::Check(format!("psql COPY exited with {status}")));
    }
    f.copy_binary = Some(t.elapsed());

    let mut capture = Capture::configure(
        &o.dir,
        pg,
        DB,
        bootstrap,
        &CaptureSpec {
            name: "benchsnap",
            slot: SLOT_SNAPSHOT,
            tables: &["public.snap_orders"],
            snapshot_mode: "initial",
        },
    )?;
    let t = Instant::now();
    let pid = capture.start()?;
    let metrics = capture.metrics.clone();
    observe::wait_snapshot_done(&metrics, o.snapshot_rows, DRAIN_TIMEOUT, || {
        capture.check_alive()
    })
    .await?;
    f.snapshot = Some(t.elapsed());
    f.snapshot_cpu = observe::cpu_seconds(pid).ok();
    capture.stop().await?;
    println!(
        "bench: snapshot {:.0} rows/s, COPY binary {:.0} rows/s",
        f.snapshot_rows_per_sec().unwrap_or(0.0),
        f.copy_rows_per_sec().unwrap_or(0.0)
    );
    Ok(())
}

/// CPU used so far by consumer `pid` and by the walsender serving `slot`.
async fn cpu_of(client: &Client, slot: &str, pid: u32) -> Result<Cpu, BenchError> {
    let walsender = match observe::walsender_pid(client, slot).await? {
        Some(w) => observe::cpu_seconds(w).ok(),
        None => None,
    };
    Ok(Cpu {
        consumer: observe::cpu_seconds(pid)?,
        walsender,
    })
}

async fn wal_bytes(client: &Client, since: &str) -> Result<u64, BenchError> {
    let bytes: f64 = client
        .query_one(
            "SELECT (pg_current_wal_lsn() - $1::text::pg_lsn)::float8",
            &[&since],
        )
        .await?
        .get(0);
    Ok(bytes as u64)
}

async fn machine_info(client: &Client) -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_default();
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| s.lines().next().map(str::to_owned))
        .unwrap_or_default();
    let version: String = match client.query_one("SELECT version()", &[]).await {
        Ok(row) => row.get(0),
        Err(e) => e.to_string(),
    };
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    format!(
        "cpu: {cpu} x {}\n{mem}\nloadavg at start: {}\n{version}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load.trim()
    )
}
