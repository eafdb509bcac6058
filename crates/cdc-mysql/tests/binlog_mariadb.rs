//! The binlog event layer against a real MariaDB 10.11 (`cdc_testkit::MariaDbServer`):
//! event sequence of transactions and DDL, row images, GTIDs, resuming from a
//! GTID and from file + position, heartbeats, the settings check, and
//! compressed events (`log_bin_compress=ON`).

use std::time::{Duration, Instant};

use cdc_mysql::binlog::{
    check_server, read_settings, validate, BinlogError, BinlogEvent, BinlogEvents, EventKind,
    FilePosition, Flavor, Gtid, MariaGtid, MariaGtidList, Requirements, RowsKind, StartPosition,
    StreamOptions,
};
use cdc_testkit::MariaDbServer;
use mysql_async::binlog::row::BinlogRow;
use mysql_async::binlog::value::BinlogValue;
use mysql_async::prelude::Queryable;
use mysql_async::Value;

const DEADLINE: Duration = Duration::from_secs(30);

/// A row image as text, one string per column.
type Image = Option<Vec<String>>;

/// One step of a transaction, reduced to what the test compares.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Begin(String, bool),
    Query(String),
    Rows(RowsKind, String, Vec<(Image, Image)>),
    Xid,
    Commit,
}

fn text(value: Option<&BinlogValue<'_>>) -> String {
    match value {
        Some(BinlogValue::Value(Value::NULL)) | None => "NULL".into(),
        Some(BinlogValue::Value(Value::Int(i))) => format!("i{i}"),
        Some(BinlogValue::Value(Value::UInt(u))) => format!("u{u}"),
        Some(BinlogValue::Value(Value::Bytes(b))) => String::from_utf8_lossy(b).into_owned(),
        Some(other) => format!("{other:?}"),
    }
}

fn row(r: &Option<BinlogRow>) -> Image {
    r.as_ref()
        .map(|r| (0..r.len()).map(|i| text(r.as_ref(i))).collect())
}

fn step(event: &BinlogEvent) -> Option<Step> {
    Some(match &event.kind {
        EventKind::TransactionBegin { gtid, standalone } => Step::Begin(
            gtid.as_ref().map(ToString::to_string).unwrap_or_default(),
            *standalone,
        ),
        EventKind::Query { sql, .. } => Step::Query(sql.clone()),
        EventKind::Rows {
            kind, table, rows, ..
        } => Step::Rows(
            *kind,
            format!("{}.{}", table.database_name(), table.table_name()),
            rows.iter()
                .map(|c| (row(&c.before), row(&c.after)))
                .collect(),
        ),
        EventKind::Xid { .. } => Step::Xid,
        EventKind::Commit { .. } => Step::Commit,
        _ => return None,
    })
}

async fn next(events: &mut BinlogEvents, deadline: Instant) -> BinlogEvent {
    match tokio::time::timeout_at(deadline.into(), events.next()).await {
        Ok(Ok(event)) => event,
        Ok(Err(e)) => panic!("binlog stream failed: {e}"),
        Err(_) => panic!(
            "no binlog event before the deadline (at {:?})",
            events.position()
        ),
    }
}

/// Reads until the event group of `last` has ended; returns every event.
async fn read_through(events: &mut BinlogEvents, last: MariaGtid) -> Vec<BinlogEvent> {
    let deadline = Instant::now() + DEADLINE;
    let mut out = Vec::new();
    let mut in_last = None::<bool>; // Some(standalone) once `last` began
    loop {
        let event = next(events, deadline).await;
        let done = match (&event.kind, in_last) {
            (
                EventKind::TransactionBegin {
                    gtid: Some(Gtid::MariaDb(g)),
                    standalone,
                },
                _,
            ) if *g == last => {
                in_last = Some(*standalone);
                false
            }
            (EventKind::Xid { .. } | EventKind::Commit { .. }, Some(false)) => true,
            (EventKind::Query { .. }, Some(true)) => true,
            _ => false,
        };
        out.push(event);
        if done {
            return out;
        }
    }
}

fn options(start: StartPosition) -> StreamOptions {
    StreamOptions {
        replica_server_id: 4242,
        heartbeat: Duration::from_millis(500),
        start,
    }
}

fn s(v: &[&str]) -> Image {
    Some(v.iter().map(|x| x.to_string()).collect())
}

#[tokio::test]
async fn streams_transactions_and_ddl_and_resumes_from_gtid_and_file_position() {
    let server = MariaDbServer::start().await.expect("start MariaDB");
    for sql in [
        "CREATE DATABASE shop",
        "CREATE TABLE shop.t (id INT PRIMARY KEY, name VARCHAR(20), qty INT UNSIGNED) ENGINE=InnoDB",
        "BEGIN; INSERT INTO shop.t VALUES (1,'a',1),(2,'b',4294967295); COMMIT",
        "BEGIN; UPDATE shop.t SET name='bb', qty=20 WHERE id=2; DELETE FROM shop.t WHERE id=1; COMMIT",
        // Not binlogged itself; the rest goes to the second file.
        "FLUSH LOCAL BINARY LOGS",
        "ALTER TABLE shop.t ADD COLUMN note TEXT",
        "INSERT INTO shop.t VALUES (3,'c',3,'n')",
    ] {
        server.execute(sql).await.expect(sql);
    }
    let mut conn = mysql_async::Conn::new(server.cdc_opts())
        .await
        .expect("connect");
    let settings = check_server(server.cdc_opts(), Requirements::default())
        .await
        .expect("capturable");
    assert_eq!(settings.flavor, Flavor::MariaDb);
    let pos: String = conn
        .query_first("SELECT @@gtid_binlog_pos")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pos, "0-1-6");
    let logs: Vec<(String, u64)> = conn.query("SHOW BINARY LOGS").await.unwrap();
    let first_file = logs[0].0.clone();
    let last: MariaGtid = pos.parse().unwrap();

    // --- from the beginning (empty GTID list) ---
    let mut events = BinlogEvents::open(
        server.cdc_opts(),
        &settings,
        &options(StartPosition::MariaDbGtids(MariaGtidList::new())),
    )
    .await
    .expect("open");
    let all = read_through(&mut events, last).await;
    match &all[0].kind {
        EventKind::Rotate {
            file,
            pos,
            artificial,
        } => {
            assert_eq!(file, &first_file, "first rotate name without CRC bytes");
            assert_eq!(*pos, 4);
            assert!(artificial);
        }
        other => panic!("first event {other:?}"),
    }
    assert!(matches!(all[1].kind, EventKind::FormatDescription { .. }));
    assert!(all
        .iter()
        .any(|e| matches!(e.kind, EventKind::GtidList { .. })));
    assert!(all
        .iter()
        .any(|e| matches!(e.kind, EventKind::Checkpoint { .. })));
    // Positions: real events follow each other within a file (the server
    // leaves out the ANNOTATE_ROWS events a replica did not ask for, hence
    // `>=`); the stream moves to the second file at the rotation.
    assert_eq!(logs.len(), 2, "{logs:?}");
    let second_file = logs[1].0.clone();
    let mut previous = (first_file.clone(), 4);
    for e in all.iter().filter(|e| e.at.start_pos != e.at.end_pos) {
        assert_eq!(e.at.server_id, MariaDbServer::SERVER_ID);
        if e.at.file != previous.0 {
            assert_eq!(
                (previous.0.as_str(), e.at.file.as_str()),
                (first_file.as_str(), second_file.as_str())
            );
            previous = (e.at.file.clone(), 4);
        }
        assert!(e.at.start_pos >= previous.1, "{e:?} after {previous:?}");
        previous.1 = e.at.end_pos;
    }
    assert!(all.iter().any(|e| matches!(&e.kind, EventKind::Rotate { file, artificial: false, .. } if *file == second_file)));
    let alter = all
        .iter()
        .find(|e| matches!(&e.kind, EventKind::Query { sql, .. } if sql.starts_with("ALTER")))
        .unwrap();
    assert_eq!(alter.at.file, second_file);
    let steps: Vec<Step> = all.iter().filter_map(step).collect();
    let expected = vec![
        Step::Begin("0-1-1".into(), true),
        Step::Query("CREATE DATABASE shop".into()),
        Step::Begin("0-1-2".into(), true),
        Step::Query(
            "CREATE TABLE shop.t (id INT PRIMARY KEY, name VARCHAR(20), qty INT UNSIGNED) ENGINE=InnoDB"
                .into(),
        ),
        Step::Begin("0-1-3".into(), false),
        Step::Rows(
            RowsKind::Insert,
            "shop.t".into(),
            vec![
                (None, s(&["i1", "a", "i1"])),
                (None, s(&["i2", "b", "i4294967295"])),
            ],
        ),
        Step::Xid,
        Step::Begin("0-1-4".into(), false),
        Step::Rows(
            RowsKind::Update,
            "shop.t".into(),
            vec![(s(&["i2", "b", "i4294967295"]), s(&["i2", "bb", "i20"]))],
        ),
        Step::Rows(RowsKind::Delete, "shop.t".into(), vec![(s(&["i1", "a", "i1"]), None)]),
        Step::Xid,
        Step::Begin("0-1-5".into(), true),
        Step::Query("ALTER TABLE shop.t ADD COLUMN note TEXT".into()),
        Step::Begin("0-1-6".into(), false),
        Step::Rows(
            RowsKind::Insert,
            "shop.t".into(),
            vec![(None, s(&["i3", "c", "i3", "n"]))],
        ),
        Step::Xid,
    ];
    assert_eq!(steps, expected);
    // The stream stays open: idle, it delivers heartbeats (checksums verified).
    let deadline = Instant::now() + DEADLINE;
    loop {
        if matches!(next(&mut events, deadline).await.kind, EventKind::Heartbeat) {
            break;
        }
    }
    events.close().await.expect("close");

    // --- resume after GTID 0-1-3: exactly the groups after it ---
    let mut resumed = BinlogEvents::open(
        server.cdc_opts(),
        &settings,
        &options(StartPosition::MariaDbGtids("0-1-3".parse().unwrap())),
    )
    .await
    .expect("open from GTID");
    let after_gtid: Vec<Step> = read_through(&mut resumed, last)
        .await
        .iter()
        .filter_map(step)
        .collect();
    assert_eq!(after_gtid, expected[7..]);
    resumed.close().await.expect("close");

    // --- resume from the file position of 0-1-4's GTID event ---
    let start = all
        .iter()
        .find(|e| step(e) == Some(Step::Begin("0-1-4".into(), false)))
        .map(|e| e.at.start())
        .unwrap();
    assert_eq!(start.file, first_file);
    let mut by_pos = BinlogEvents::open(
        server.cdc_opts(),
        &settings,
        &options(StartPosition::File(FilePosition::new(
            start.file.clone(),
            start.pos,
        ))),
    )
    .await
    .expect("open from file position");
    let from_pos = read_through(&mut by_pos, last).await;
    let first_data = from_pos
        .iter()
        .find(|e| step(e).is_some())
        .expect("an event group");
    assert_eq!(first_data.at.start(), start);
    let steps: Vec<Step> = from_pos.iter().filter_map(step).collect();
    assert_eq!(steps, expected[7..]);
    by_pos.close().await.expect("close");

    conn.disconnect().await.unwrap();
    server.stop().await.expect("stop");
}

#[tokio::test]
async fn settings_are_checked_and_compressed_events_are_decoded() {
    let server = MariaDbServer::start().await.expect("start MariaDB");
    let mut conn = mysql_async::Conn::new(server.cdc_opts())
        .await
        .expect("connect");
    let good = read_settings(&mut conn).await.expect("settings");
    assert_eq!(good.server_id, MariaDbServer::SERVER_ID);
    assert_eq!(good.binlog_checksum, "CRC32");
    assert_eq!(good.log_bin_compress, Some(false));
    assert_eq!(good.gtid_mode, None);
    assert!(good.version.contains("MariaDB"), "{}", good.version);
    validate(&good, Requirements { mysql_gtids: true }).expect("MariaDB needs no gtid_mode");

    server
        .execute(
            "SET GLOBAL binlog_format='MIXED'; SET GLOBAL binlog_row_image='MINIMAL'; \
             SET GLOBAL log_bin_compress=ON; SET GLOBAL log_bin_compress_min_len=10",
        )
        .await
        .unwrap();
    let bad = read_settings(&mut conn).await.expect("settings");
    assert_eq!(bad.log_bin_compress, Some(true));
    let err = validate(&bad, Requirements::default()).expect_err("refused");
    match check_server(server.cdc_opts(), Requirements::default()).await {
        Err(BinlogError::Settings(e)) => assert_eq!(e, err),
        other => panic!("expected the settings refused, got {other:?}"),
    }
    let names: Vec<_> = err.problems.iter().map(|p| p.setting).collect();
    assert_eq!(names, ["binlog_format", "binlog_row_image"]);
    assert!(err.to_string().contains("binlog_format = MIXED"), "{err}");

    // log_bin_compress=ON: compressed QUERY and rows events decode like plain ones.
    server
        .execute("SET GLOBAL binlog_format='ROW'; SET GLOBAL binlog_row_image='FULL'")
        .await
        .unwrap();
    let create = "CREATE TABLE z.t (id INT PRIMARY KEY, v VARCHAR(400)) ENGINE=InnoDB";
    for sql in [
        "CREATE DATABASE z",
        create,
        "INSERT INTO z.t VALUES (1, REPEAT('x', 200)), (2, 'short')",
        "UPDATE z.t SET v = REPEAT('y', 300) WHERE id = 1",
        "DELETE FROM z.t WHERE id = 2",
    ] {
        server.execute(sql).await.expect(sql);
    }
    let mut admin = server.connect_admin().await.unwrap();
    let types: Vec<String> = admin
        .query_map("SHOW BINLOG EVENTS", |row: mysql_async::Row| {
            row.get::<String, _>("Event_type").unwrap_or_default()
        })
        .await
        .unwrap();
    assert!(
        types.iter().any(|t| t.starts_with("Write_rows_compressed")),
        "{types:?}"
    );
    assert!(types.iter().any(|t| t == "Query_compressed"), "{types:?}");
    let pos: String = conn
        .query_first("SELECT @@gtid_binlog_pos")
        .await
        .unwrap()
        .unwrap();
    let mut events = BinlogEvents::open(
        server.cdc_opts(),
        &good,
        &options(StartPosition::MariaDbGtids(MariaGtidList::new())),
    )
    .await
    .expect("open");
    let steps: Vec<Step> = read_through(&mut events, pos.parse().unwrap())
        .await
        .iter()
        .filter_map(step)
        .collect();
    let x = "x".repeat(200);
    let y = "y".repeat(300);
    let expected = vec![
        Step::Begin("0-1-1".into(), true),
        Step::Query("CREATE DATABASE z".into()),
        Step::Begin("0-1-2".into(), true),
        Step::Query(create.into()),
        Step::Begin("0-1-3".into(), false),
        Step::Rows(
            RowsKind::Insert,
            "z.t".into(),
            vec![(None, s(&["i1", &x])), (None, s(&["i2", "short"]))],
        ),
        Step::Xid,
        Step::Begin("0-1-4".into(), false),
        Step::Rows(
            RowsKind::Update,
            "z.t".into(),
            vec![(s(&["i1", &x]), s(&["i1", &y]))],
        ),
        Step::Xid,
        Step::Begin("0-1-5".into(), false),
        Step::Rows(
            RowsKind::Delete,
            "z.t".into(),
            vec![(s(&["i2", "short"]), None)],
        ),
        Step::Xid,
    ];
    assert_eq!(steps, expected);
    events.close().await.expect("close");
    admin.disconnect().await.unwrap();
    conn.disconnect().await.unwrap();
    server.stop().await.expect("stop");
}
