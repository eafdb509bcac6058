//! The consistent snapshot against a real MariaDB 10.11 (`cdc_testkit::MariaDbServer`):
//! a type matrix read by 3 workers equals what the binlog carries for the same rows; under
//! concurrent writes, snapshot + stream from the returned position give exactly the final
//! table (global lock, table locks, MariaDB's lock-free snapshot position); resume skips
//! completed chunks with the same boundaries.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cdc_model::Value;
use cdc_mysql::binlog::{
    check_server, BinlogEvents, EventKind, Gtid, MariaGtid, Requirements, RowsKind, StartPosition,
    StreamOptions,
};
use cdc_mysql::ddl::{DdlOptions, Schemas, TableId};
use cdc_mysql::snapshot::{
    begin, ChunkId, LockMode, Progress, SnapshotConfig, SnapshotError, SnapshotMessage,
    SnapshotRow, TableChunks, TablePlan, CHANNEL_CAPACITY,
};
use cdc_mysql::types::MappedColumn;
use cdc_testkit::{wait_until, MariaDbServer};
use mysql_async::binlog::row::BinlogRow;
use mysql_async::prelude::Queryable;

const DEADLINE: Duration = Duration::from_secs(60);

type Row = Vec<Value>;

fn config(workers: usize, chunk_rows: u64, lock: LockMode) -> SnapshotConfig {
    SnapshotConfig {
        workers,
        chunk_rows,
        lock,
        ..SnapshotConfig::default()
    }
}

/// What one snapshot run delivered.
struct Read {
    rows: Vec<SnapshotRow>,
    done: Vec<ChunkId>,
    progress: Progress,
    elapsed: Duration,
}

/// Reads a begun snapshot to the end through a bounded channel.
async fn read_all(
    snapshot: cdc_mysql::snapshot::ConsistentSnapshot,
    completed: &BTreeSet<ChunkId>,
) -> Read {
    let (tx, mut rx) = tokio::sync::mpsc::channel(CHANNEL_CAPACITY);
    let progress = Progress::new();
    let started = Instant::now();
    let completed = completed.clone();
    let reader = {
        let progress = progress.clone();
        tokio::spawn(async move { snapshot.read(&completed, tx, progress).await })
    };
    let mut rows = Vec::new();
    let mut done = Vec::new();
    let mut in_chunk: BTreeMap<ChunkId, u64> = BTreeMap::new();
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while let Some(message) = tokio::time::timeout_at(deadline, rx.recv())
        .await
        .expect("snapshot rows before the deadline")
    {
        match message {
            SnapshotMessage::Row(row) => {
                assert!(!done.contains(&row.chunk), "row after its chunk was done");
                *in_chunk.entry(row.chunk).or_default() += 1;
                rows.push(row);
            }
            SnapshotMessage::ChunkDone { chunk, rows: n } => {
                assert_eq!(in_chunk.get(&chunk).copied().unwrap_or(0), n, "{chunk:?}");
                done.push(chunk);
            }
        }
    }
    reader.await.expect("reader task").expect("snapshot read");
    Read {
        rows,
        done,
        progress,
        elapsed: started.elapsed(),
    }
}

fn id_of(row: &[Value]) -> i32 {
    match row.first() {
        Some(Value::Int32(id)) => *id,
        other => panic!("id column {other:?}"),
    }
}

/// Snapshot rows by id, asserting each id came exactly once.
fn by_id(rows: &[SnapshotRow]) -> BTreeMap<i32, Row> {
    let mut out = BTreeMap::new();
    for r in rows {
        let previous = out.insert(id_of(&r.values), r.values.clone());
        assert!(previous.is_none(), "id {} read twice", id_of(&r.values));
    }
    out
}

fn binlog_row(columns: &[MappedColumn], row: &BinlogRow) -> Row {
    assert_eq!(row.len(), columns.len());
    columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let v = row.as_ref(i).expect("column in the row image");
            c.binlog_value(v)
                .unwrap_or_else(|e| panic!("binlog value of {}: {e}", c.name))
        })
        .collect()
}

/// One row change of `table` from the binlog, converted.
#[derive(Debug)]
struct Change {
    kind: RowsKind,
    before: Option<Row>,
    after: Option<Row>,
}

async fn gtid_pos(server: &MariaDbServer) -> MariaGtid {
    let mut conn = server.connect_admin().await.expect("connect");
    let pos: String = conn
        .query_first("SELECT @@gtid_binlog_pos")
        .await
        .unwrap()
        .unwrap();
    pos.parse().expect("one GTID")
}

/// Streams from `start` through the transaction `last`; the changes of `table`.
async fn stream_changes(
    server: &MariaDbServer,
    start: StartPosition,
    last: MariaGtid,
    table: &TablePlan,
) -> Vec<Change> {
    let settings = check_server(server.cdc_opts(), Requirements::default())
        .await
        .expect("capturable");
    let options = StreamOptions {
        replica_server_id: 4343,
        heartbeat: Duration::from_millis(500),
        start,
    };
    let mut events = BinlogEvents::open(server.cdc_opts(), &settings, &options)
        .await
        .expect("open the binlog");
    let deadline = Instant::now() + DEADLINE;
    let mut out = Vec::new();
    let mut in_last = false;
    loop {
        let event = tokio::time::timeout_at(deadline.into(), events.next())
            .await
            .expect("binlog event before the deadline")
            .expect("binlog event");
        match &event.kind {
            EventKind::TransactionBegin {
                gtid: Some(Gtid::MariaDb(g)),
                ..
            } => {
                assert!(!in_last);
                in_last = *g == last;
            }
            EventKind::Rows {
                kind,
                table: map,
                rows,
                ..
            } if map.database_name() == table.id.database && map.table_name() == table.id.table => {
                for change in rows {
                    out.push(Change {
                        kind: *kind,
                        before: change
                            .before
                            .as_ref()
                            .map(|r| binlog_row(&table.columns, r)),
                        after: change.after.as_ref().map(|r| binlog_row(&table.columns, r)),
                    });
                }
            }
            EventKind::Xid { .. } | EventKind::Commit { .. } if in_last => break,
            _ => {}
        }
    }
    events.close().await.expect("close");
    out
}

// ---------------------------------------------------------------- (a) type matrix

const TYPES_DDL: &str = "CREATE TABLE snap.types (
    id INT PRIMARY KEY,
    ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT, mi MEDIUMINT UNSIGNED,
    bi BIGINT, biu BIGINT UNSIGNED,
    dec1 DECIMAL(20,6), dbl DOUBLE, flt FLOAT, b1 BIT(1), b12 BIT(12),
    c_latin CHAR(10) CHARACTER SET latin1, v_latin VARCHAR(40) CHARACTER SET latin1,
    v_utf VARCHAR(40) CHARACTER SET utf8mb4, t_utf TEXT CHARACTER SET utf8mb4,
    bl BLOB, bin BINARY(4), e ENUM('a','b','c'), s SET('x','y','z'), j JSON,
    d DATE, tm TIME(3), dt DATETIME(6), ts TIMESTAMP(6) NULL DEFAULT NULL, y YEAR
) DEFAULT CHARSET=utf8mb4";

/// Row `n` of the type matrix as an SQL tuple; every 17th row is NULL in every nullable
/// column.
fn types_row(n: i64) -> String {
    if n % 17 == 0 {
        let nulls = vec!["NULL"; 25].join(", ");
        return format!("({n}, {nulls})");
    }
    let bi = if n % 3 == 0 {
        format!("{}", i64::MIN + n)
    } else {
        format!("{}", n * 1_000_000_007)
    };
    let sets = ["", "x", "y", "x,y", "z", "x,z", "y,z", "x,y,z"];
    let tm = if n % 5 == 0 {
        "'-838:59:59.000'".to_string()
    } else {
        format!(
            "'{}:{:02}:{:02}.{:03}'",
            n % 200,
            n % 60,
            (n * 7) % 60,
            n % 1000
        )
    };
    let date = chrono::NaiveDate::from_ymd_opt(1990, 1, 1).unwrap() + chrono::Days::new(n as u64);
    let values = [
        format!("{}", (n % 256) - 128),
        format!("{}", n % 256),
        format!("{}", (n * 7) % 65536 - 32768),
        format!("{}", (n * 131) % 16_777_216),
        bi,
        format!("{}", u64::MAX - n as u64),
        format!(
            "{}{}.{:06}",
            if n % 2 == 0 { "-" } else { "" },
            n * 12345,
            n % 1_000_000
        ),
        if n % 7 == 0 {
            "1.5e300".into()
        } else {
            format!("{}.25", n)
        },
        format!("{}.5", n % 1000),
        format!("{}", n % 2),
        format!("{}", n % 4096),
        format!("'é{}'", n % 100_000),
        format!("'Grüße {n}'"),
        format!("'日本語 {n} 😀'"),
        format!("'{}'", "text ".repeat((n % 50) as usize)),
        format!("X'00FF{:08X}'", n),
        format!("X'{:02X}'", n % 256),
        format!("'{}'", ["a", "b", "c"][(n % 3) as usize]),
        format!("'{}'", sets[(n % 8) as usize]),
        format!("'{{\"n\": {n}, \"a\": [1, \"x\", null, true], \"o\": {{\"k\": 1.5}}}}'"),
        format!("'{date}'"),
        tm,
        format!(
            "'2021-03-04 05:{:02}:{:02}.{:06}'",
            n % 60,
            (n / 60) % 60,
            n % 1_000_000
        ),
        format!(
            "'2022-0{}-1{} 1{}:00:00.{:06}'",
            1 + n % 9,
            n % 10,
            n % 10,
            n * 3 % 1_000_000
        ),
        format!("{}", 1901 + n % 255),
    ];
    format!("({n}, {})", values.join(", "))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn type_matrix_snapshot_equals_binlog_values() {
    const ROWS: i64 = 3000;
    let server = MariaDbServer::start().await.expect("start MariaDB");
    server.execute("CREATE DATABASE snap").await.unwrap();
    server.execute(TYPES_DDL).await.unwrap();
    let before_inserts = gtid_pos(&server).await;
    let mut admin = server.connect_admin().await.unwrap();
    for batch in (1..=ROWS).collect::<Vec<_>>().chunks(500) {
        let values: Vec<String> = batch.iter().map(|&n| types_row(n)).collect();
        admin
            .query_drop(format!(
                "INSERT INTO snap.types VALUES {}",
                values.join(",\n")
            ))
            .await
            .expect("insert the type matrix");
    }
    let after_inserts = gtid_pos(&server).await;

    let table = TableId::new("snap", "types");
    let mut schemas = Schemas::new(DdlOptions::default());
    let snapshot = begin(
        server.cdc_opts(),
        &mut schemas,
        std::slice::from_ref(&table),
        &config(3, 250, LockMode::Global),
        None,
    )
    .await
    .expect("begin the snapshot");
    assert_eq!(snapshot.workers(), 3);
    assert_eq!(
        snapshot.position.start(),
        StartPosition::MariaDbGtids(std::iter::once(after_inserts).collect())
    );
    assert!(
        schemas.table("snap", "types").is_some(),
        "shared schema model"
    );
    let plan = snapshot.tables[0].clone();
    let chunk_count = snapshot.chunks[0].len();
    assert_eq!(chunk_count, (ROWS as usize).div_ceil(250) + 1);
    let read = read_all(snapshot, &BTreeSet::new()).await;
    let snap_rows = by_id(&read.rows);
    assert_eq!(snap_rows.len(), ROWS as usize, "every row exactly once");
    assert_eq!(read.done.len(), chunk_count);
    assert_eq!(read.progress.rows(), ROWS as u64);
    assert_eq!(read.progress.chunks(), (chunk_count, chunk_count));
    eprintln!(
        "snapshot of {ROWS} type-matrix rows ({} columns) with 3 workers: {:?}, {:.0} rows/s",
        plan.columns.len(),
        read.elapsed,
        ROWS as f64 / read.elapsed.as_secs_f64()
    );

    let mut streamed = BTreeMap::new();
    let start = StartPosition::MariaDbGtids(std::iter::once(before_inserts).collect());
    for change in stream_changes(&server, start, after_inserts, &plan).await {
        assert_eq!(change.kind, RowsKind::Insert);
        let row = change.after.expect("after image");
        assert!(streamed.insert(id_of(&row), row).is_none());
    }
    assert_eq!(streamed.len(), ROWS as usize);
    for (id, row) in &snap_rows {
        let binlog = &streamed[id];
        for ((column, s), b) in plan.columns.iter().zip(row).zip(binlog) {
            assert_eq!(s, b, "row {id}, column {}: snapshot vs binlog", column.name);
        }
    }
    // Spot checks that the values are what was written, not just equal on both paths.
    assert_eq!(snap_rows[&1][13], Value::String("Grüße 1".into()));
    assert_eq!(snap_rows[&1][14], Value::String("日本語 1 😀".into()));
    assert_eq!(snap_rows[&17][1], Value::Null);
    server.stop().await.expect("stop");
}

// ---------------------------------------------------------------- (b, c) concurrent writes

const BASE_ROWS: i32 = 2000;

/// A session committing small transactions (update, insert, delete) on `snap.acc` until
/// stopped.
struct Writer {
    stop: Arc<AtomicBool>,
    commits: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Writer {
    async fn start(server: &MariaDbServer) -> Writer {
        let mut conn = server.connect_admin().await.expect("writer connects");
        let stop = Arc::new(AtomicBool::new(false));
        let commits = Arc::new(AtomicU64::new(0));
        let task = {
            let (stop, commits) = (Arc::clone(&stop), Arc::clone(&commits));
            tokio::spawn(async move {
                let mut k: i64 = 0;
                while !stop.load(Ordering::SeqCst) {
                    k += 1;
                    let base = (k * 37) % i64::from(BASE_ROWS) + 1;
                    let sql = format!(
                        "BEGIN;
                         UPDATE snap.acc SET v = v + 1, note = 'u{k}' WHERE id = {};
                         INSERT IGNORE INTO snap.acc VALUES ({}, {k}, 'new {k}');
                         DELETE FROM snap.acc WHERE id = {};
                         COMMIT",
                        base * 10,
                        base * 10 + 1 + k % 9,
                        ((k * 53) % i64::from(BASE_ROWS) + 1) * 10,
                    );
                    conn.query_drop(sql).await.expect("writer transaction");
                    commits.fetch_add(1, Ordering::SeqCst);
                }
            })
        };
        Writer {
            stop,
            commits,
            task,
        }
    }

    fn commits(&self) -> u64 {
        self.commits.load(Ordering::SeqCst)
    }

    /// Waits until `more` transactions have committed after now.
    async fn wait_for(&self, more: u64) {
        let target = self.commits() + more;
        let commits = Arc::clone(&self.commits);
        wait_until(Instant::now() + DEADLINE, Duration::from_millis(5), || {
            let commits = Arc::clone(&commits);
            async move { commits.load(Ordering::SeqCst) >= target }
        })
        .await
        .expect("writer commits");
    }

    async fn stop(self) {
        self.stop.store(true, Ordering::SeqCst);
        self.task.await.expect("writer task");
    }
}

/// The table's content now, converted like snapshot rows.
async fn table_content(server: &MariaDbServer, plan: &TablePlan) -> BTreeMap<i32, Row> {
    let mut conn = server.connect_admin().await.unwrap();
    conn.query_drop("SET time_zone = '+00:00'").await.unwrap();
    let rows: Vec<mysql_async::Row> = conn
        .query(format!(
            "SELECT * FROM {}.{}",
            plan.id.database, plan.id.table
        ))
        .await
        .unwrap();
    rows.into_iter()
        .map(|r| {
            let values: Row = plan
                .columns
                .iter()
                .zip(r.unwrap())
                .map(|(c, v)| c.snapshot_value(&v).unwrap())
                .collect();
            (id_of(&values), values)
        })
        .collect()
}

/// Applies streamed changes to the snapshot's rows, refusing anything that shows a gap or a
/// duplicate (an insert of a present key, an update or delete whose before image differs).
fn apply_strictly(rows: &mut BTreeMap<i32, Row>, changes: Vec<Change>) {
    for c in changes {
        if let Some(before) = &c.before {
            let id = id_of(before);
            assert_eq!(
                rows.remove(&id).as_ref(),
                Some(before),
                "{:?} of id {id}",
                c.kind
            );
        }
        if let Some(after) = c.after {
            let id = id_of(&after);
            assert!(
                rows.insert(id, after).is_none(),
                "{:?} of present id {id}",
                c.kind
            );
        }
    }
}

async fn snapshot_and_stream_meet_exactly(lock: LockMode) {
    let server = MariaDbServer::start().await.expect("start MariaDB");
    server.execute("CREATE DATABASE snap").await.unwrap();
    server
        .execute("CREATE TABLE snap.acc (id INT PRIMARY KEY, v INT NOT NULL, note VARCHAR(20))")
        .await
        .unwrap();
    let values: Vec<String> = (1..=BASE_ROWS)
        .map(|i| format!("({}, {i}, 'base')", i * 10))
        .collect();
    server
        .execute(&format!("INSERT INTO snap.acc VALUES {}", values.join(",")))
        .await
        .unwrap();

    let writer = Writer::start(&server).await;
    writer.wait_for(20).await;
    let table = TableId::new("snap", "acc");
    let mut schemas = Schemas::new(DdlOptions::default());
    let snapshot = begin(
        server.cdc_opts(),
        &mut schemas,
        std::slice::from_ref(&table),
        &config(3, 100, lock),
        None,
    )
    .await
    .expect("begin the snapshot");
    let at_begin = writer.commits();
    let plan = snapshot.tables[0].clone();
    let start = snapshot.position.start();
    let read = read_all(snapshot, &BTreeSet::new()).await;
    assert!(
        writer.commits() > at_begin,
        "the writer committed while the snapshot was read"
    );
    writer.wait_for(20).await;
    writer.stop().await;
    let last = gtid_pos(&server).await;

    let mut rows = by_id(&read.rows);
    assert!(
        rows.keys().any(|id| id % 10 != 0),
        "the snapshot holds rows the writer inserted before it"
    );
    let changes = stream_changes(&server, start, last, &plan).await;
    assert!(!changes.is_empty());
    apply_strictly(&mut rows, changes);
    assert_eq!(rows, table_content(&server, &plan).await);
    server.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn global_lock_snapshot_and_stream_meet_exactly() {
    snapshot_and_stream_meet_exactly(LockMode::Global).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn table_lock_snapshot_and_stream_meet_exactly() {
    snapshot_and_stream_meet_exactly(LockMode::Tables).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_no_lock_snapshot_and_stream_meet_exactly() {
    snapshot_and_stream_meet_exactly(LockMode::MariaDbNoLock).await;
}

// ---------------------------------------------------------------- (d) resume

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_skips_completed_chunks_with_the_same_boundaries() {
    let server = MariaDbServer::start().await.expect("start MariaDB");
    server.execute("CREATE DATABASE snap").await.unwrap();
    server
        .execute("CREATE TABLE snap.r (a INT, b VARCHAR(10), v INT, PRIMARY KEY (a, b))")
        .await
        .unwrap();
    let values: Vec<String> = (1..=1000)
        .map(|i| format!("({}, 'k{}', {i})", i / 4, i % 4))
        .collect();
    server
        .execute(&format!("INSERT INTO snap.r VALUES {}", values.join(",")))
        .await
        .unwrap();
    let table = TableId::new("snap", "r");
    let tables = std::slice::from_ref(&table);
    let mut schemas = Schemas::new(DdlOptions::default());
    let first = begin(
        server.cdc_opts(),
        &mut schemas,
        tables,
        &config(2, 100, LockMode::Global),
        None,
    )
    .await
    .expect("begin");
    let chunks: Vec<TableChunks> = first.chunks.clone();
    assert_eq!(chunks[0].key, ["a", "b"]);
    assert_eq!(chunks[0].len(), 11);
    let run1 = read_all(first, &BTreeSet::new()).await;
    assert_eq!(run1.rows.len(), 1000);
    // The first five chunks completed before an interruption; the plan is persisted.
    let completed: BTreeSet<ChunkId> = (0..5).map(|index| ChunkId { table: 0, index }).collect();
    let persisted = serde_json::to_string(&chunks).unwrap();
    let restored: Vec<TableChunks> = serde_json::from_str(&persisted).unwrap();
    assert_eq!(restored, chunks);
    let key = |r: &SnapshotRow| match (&r.values[0], &r.values[1]) {
        (Value::Int32(a), Value::String(b)) => (*a, b.clone()),
        other => panic!("key {other:?}"),
    };
    let before_restart: BTreeSet<_> = run1
        .rows
        .iter()
        .filter(|r| completed.contains(&r.chunk))
        .map(key)
        .collect();
    assert_eq!(before_restart.len(), 500);

    // Rows written before the restart land in whichever chunk covers their key; a fresh
    // plan would now split differently, the resumed one keeps the boundaries.
    server
        .execute("INSERT INTO snap.r VALUES (-1, 'new', 0), (9999, 'new', 0)")
        .await
        .unwrap();
    let second = begin(
        server.cdc_opts(),
        &mut schemas,
        tables,
        &config(3, 100, LockMode::Global),
        Some(&restored),
    )
    .await
    .expect("resume");
    assert_eq!(second.chunks, chunks);
    let run2 = read_all(second, &completed).await;
    assert!(run2.done.iter().all(|c| !completed.contains(c)));
    assert_eq!(run2.done.len(), 6);
    assert_eq!(run2.progress.chunks(), (11, 11));
    assert_eq!(run2.progress.rows(), run2.rows.len() as u64);
    let after_restart: BTreeSet<_> = run2.rows.iter().map(key).collect();
    assert_eq!(after_restart.len(), run2.rows.len(), "no row read twice");
    assert!(before_restart.is_disjoint(&after_restart));
    // The row keyed below every boundary belongs to the completed chunk 0: not read again.
    assert!(!after_restart.contains(&(-1, "new".to_string())));
    assert!(after_restart.contains(&(9999, "new".to_string())));
    assert_eq!(before_restart.len() + after_restart.len(), 1001);

    // A plan that does not fit the tables is refused.
    let mut wrong = restored.clone();
    wrong[0].key = vec!["v".into()];
    let mut schemas = Schemas::new(DdlOptions::default());
    let err = begin(
        server.cdc_opts(),
        &mut schemas,
        tables,
        &config(1, 100, LockMode::Global),
        Some(&wrong),
    )
    .await
    .expect_err("mismatched plan");
    assert!(matches!(err, SnapshotError::Config(_)), "{err}");
    server.stop().await.expect("stop");
}

// ---------------------------------------------------------------- tables without chunk keys

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tables_without_a_usable_key_are_one_chunk() {
    let server = MariaDbServer::start().await.expect("start MariaDB");
    for sql in [
        "CREATE DATABASE snap",
        "CREATE TABLE snap.nokey (id INT, v VARCHAR(5))",
        "INSERT INTO snap.nokey VALUES (1, 'a'), (1, 'a'), (2, NULL)",
        // A nullable unique key stands in for the primary key but cannot bound chunks.
        "CREATE TABLE snap.nullable_uk (id INT NULL, v INT, UNIQUE KEY (id))",
        "INSERT INTO snap.nullable_uk VALUES (NULL, 1), (NULL, 2), (5, 3)",
        "CREATE TABLE snap.empty (id INT PRIMARY KEY)",
    ] {
        server.execute(sql).await.expect(sql);
    }
    let tables = [
        TableId::new("snap", "nokey"),
        TableId::new("snap", "nullable_uk"),
        TableId::new("snap", "empty"),
    ];
    let mut schemas = Schemas::new(DdlOptions::default());
    let snapshot = begin(
        server.cdc_opts(),
        &mut schemas,
        &tables,
        &config(2, 1, LockMode::Global),
        None,
    )
    .await
    .expect("begin");
    for (chunks, table) in snapshot.chunks.iter().zip(&tables) {
        assert_eq!(chunks.table_id(), *table);
        assert_eq!(chunks.len(), 1, "{table}");
        let key_used = !chunks.key.is_empty();
        assert_eq!(
            key_used,
            table.table == "empty",
            "{table}: {:?}",
            chunks.key
        );
    }
    let read = read_all(snapshot, &BTreeSet::new()).await;
    let count = |t: &str| read.rows.iter().filter(|r| r.table.table == t).count();
    assert_eq!(
        (count("nokey"), count("nullable_uk"), count("empty")),
        (3, 3, 0)
    );
    assert_eq!(read.done.len(), 3);
    let progress = read.progress.tables();
    assert_eq!(progress[0].table, "snap.nokey");
    assert_eq!((progress[0].rows, progress[0].chunks_done), (3, 1));
    server.stop().await.expect("stop");
}
