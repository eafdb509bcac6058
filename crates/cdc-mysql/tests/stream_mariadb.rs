//! The change stream against a real MariaDB 10.11 (`cdc_testkit::MariaDbServer`): a workload
//! of multi-row statements, multi-statement transactions, a non-transactional (MyISAM) table,
//! an uncaptured table, DDL in the middle, a primary-key change and a binlog rotation is read
//! once; then the stream is reopened at the offset of every item (with the schema recovered
//! from the history records published up to it) and must yield exactly the items after it —
//! by GTID and by file + position.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cdc_model::event::BinlogFlavor;
use cdc_model::{Op, Position, Row, Value};
use cdc_mysql::ddl::{DdlOptions, HistoryRecord, Schemas, ServerVersion};
use cdc_mysql::stream::{BinlogOffset, ChangeStream, StreamConfig, StreamError, StreamItem};
use cdc_mysql::types::HandlingModes;
use cdc_testkit::MariaDbServer;
use mysql_async::prelude::Queryable;

const DEADLINE: Duration = Duration::from_secs(60);

fn config() -> StreamConfig {
    StreamConfig {
        flavor: BinlogFlavor::MariaDb,
        topic_prefix: "shop_server".into(),
        connector_version: "3.6.3.Final".into(),
        replica_server_id: 4242,
        tables: Arc::new(|t| t.namespace == "shop" && t.name != "noise"),
        columns: Arc::new(cdc_mysql::stream::AllColumns),
        modes: HandlingModes::default(),
        include_query: true,
        heartbeat: Duration::ZERO,
    }
}

fn empty_schemas() -> Schemas {
    Schemas::new(DdlOptions {
        skip_unparseable: false,
        server: ServerVersion::mariadb(10, 11, 0),
        server_charset: Some("utf8mb4".into()),
    })
}

/// The schema at an item: the history records of the schema changes up to it, replayed.
fn schemas_at(history: &[HistoryRecord]) -> Schemas {
    let mut schemas = empty_schemas();
    // Through the JSON the history topic would hold.
    let decoded: Vec<HistoryRecord> = history
        .iter()
        .map(|r| HistoryRecord::decode(&r.encode()).expect("history record decodes"))
        .collect();
    schemas.recover(&decoded, false).expect("history replays");
    schemas
}

/// Reads items until one carries `last` (the offset after the workload's last transaction).
async fn read_until(stream: &mut ChangeStream, last: &BinlogOffset) -> Vec<StreamItem> {
    let deadline = Instant::now() + DEADLINE;
    let mut items = Vec::new();
    loop {
        let item = match tokio::time::timeout_at(deadline.into(), stream.next()).await {
            Ok(Ok(Some(item))) => item,
            Ok(Ok(None)) => panic!("stream ended after {} items", items.len()),
            Ok(Err(e)) => panic!("stream failed after {} items: {e}", items.len()),
            Err(_) => panic!(
                "no item before the deadline; {} items: {items:#?}",
                items.len()
            ),
        };
        let done = item
            .offset()
            .is_some_and(|o| o.file == last.file && o.pos == last.pos && !o.in_transaction());
        items.push(item);
        if done {
            return items;
        }
    }
}

/// One line per item, for failure messages.
fn summary(items: &[StreamItem]) -> Vec<String> {
    items
        .iter()
        .map(|item| match item {
            StreamItem::Begin { id, .. } => format!("Begin {id}"),
            StreamItem::Change { event, offset, .. } => format!(
                "{:?} {} {:?} @ {}:{} e{} r{}",
                event.op,
                event.table.id,
                event.key_row().and_then(|r| r.first()),
                offset.file,
                offset.pos,
                offset.event,
                offset.row
            ),
            StreamItem::SchemaChange { ddl, offset, .. } => {
                format!("DDL {ddl} @ {}:{}", offset.file, offset.pos)
            }
            StreamItem::Commit { id, offset, .. } => {
                format!("Commit {id} @ {}:{}", offset.file, offset.pos)
            }
            StreamItem::Heartbeat { offset } => {
                format!(
                    "Heartbeat @ {}:{} e{}",
                    offset.file, offset.pos, offset.event
                )
            }
        })
        .collect()
}

/// An item without its processing time, for comparisons.
fn norm(item: &StreamItem) -> String {
    match item {
        StreamItem::Change {
            event,
            offset,
            key_header,
        } => {
            let mut event = event.clone();
            event.ts_ns = 0;
            format!("{event:?} {offset:?} {key_header:?}")
        }
        other => format!("{other:?}"),
    }
}

const WORKLOAD: &[&str] = &[
    "CREATE DATABASE shop",
    "CREATE TABLE shop.items (id INT PRIMARY KEY, name VARCHAR(200), qty INT NOT NULL)",
    "CREATE TABLE shop.noise (id INT PRIMARY KEY, v INT)",
    "CREATE TABLE shop.log (id INT PRIMARY KEY, msg TEXT) ENGINE=MyISAM",
    "INSERT INTO shop.items VALUES (1,'a',1),(2,'b',2),(3,'c',3),(4,'d',4),(5,'e',5)",
    "BEGIN; INSERT INTO shop.items VALUES (6,'f',6),(7,'g',7); \
     UPDATE shop.items SET qty = qty + 10 WHERE id <= 3; \
     INSERT INTO shop.noise VALUES (1, 1); DELETE FROM shop.items WHERE id = 7; COMMIT",
    "INSERT INTO shop.noise VALUES (2, 2), (3, 3)",
    // MariaDB's per-statement settings prefix: the ALTER behind it still applies.
    "SET STATEMENT max_statement_time=60 FOR \
     ALTER TABLE shop.items ADD COLUMN note VARCHAR(20) DEFAULT 'n'",
    "UPDATE shop.items SET id = 101, note = 'moved' WHERE id = 1",
    // Two key changes in one rows event.
    "UPDATE shop.items SET id = id + 500 WHERE id IN (4, 5)",
    "INSERT INTO shop.log VALUES (1, 'x'), (2, 'y')",
    "FLUSH LOCAL BINARY LOGS",
    "INSERT INTO shop.items (id, name, qty) \
     SELECT 1000 + seq, REPEAT('z', 150), seq FROM shop.seq_1_to_120",
    "BEGIN; UPDATE shop.items SET qty = 0 WHERE id < 1000; DELETE FROM shop.items WHERE id > 1100; \
     COMMIT",
    "TRUNCATE TABLE shop.noise",
    "TRUNCATE TABLE shop.log",
];

struct Run {
    items: Vec<StreamItem>,
}

impl Run {
    async fn read(server: &MariaDbServer, start: &BinlogOffset, last: &BinlogOffset) -> Run {
        let mut stream = ChangeStream::open(server.cdc_opts(), config(), empty_schemas(), start)
            .await
            .expect("open the stream");
        let items = read_until(&mut stream, last).await;
        Run { items }
    }

    /// Reopens at the offset of every item and compares what follows.
    async fn check_restarts(&self, server: &MariaDbServer, last: &BinlogOffset) -> usize {
        let mut seen = HashSet::new();
        let mut history = Vec::new();
        let mut reopened = 0;
        for (i, item) in self.items.iter().enumerate() {
            if let StreamItem::SchemaChange { history: h, .. } = item {
                history.push(h.clone());
            }
            let Some(offset) = item.offset() else {
                continue;
            };
            if !seen.insert(format!("{offset:?}")) || i + 1 == self.items.len() {
                continue;
            }
            let mut stream =
                ChangeStream::open(server.cdc_opts(), config(), schemas_at(&history), offset)
                    .await
                    .unwrap_or_else(|e| panic!("reopen at {offset:?}: {e}"));
            let tail = read_until(&mut stream, last).await;
            let expected: Vec<String> = self.items[i + 1..].iter().map(norm).collect();
            let got: Vec<String> = tail.iter().map(norm).collect();
            assert_eq!(
                got.len(),
                expected.len(),
                "reopened at item {i} ({offset:?}): {got:#?}\nexpected {expected:#?}"
            );
            for (k, (g, e)) in got.iter().zip(&expected).enumerate() {
                assert_eq!(g, e, "reopened at item {i} ({offset:?}), item {k} after it");
            }
            stream.close().await.expect("close");
            reopened += 1;
        }
        reopened
    }
}

/// Operation, table, before and after image.
type Change = (Op, String, Option<Row>, Option<Row>);

fn changes(items: &[StreamItem]) -> Vec<Change> {
    items
        .iter()
        .filter_map(|item| match item {
            StreamItem::Change { event, .. } => Some((
                event.op,
                event.table.id.to_string(),
                event.before.clone(),
                event.after.clone(),
            )),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarting_at_any_item_yields_exactly_the_items_after_it() {
    let server = MariaDbServer::start().await.expect("start MariaDB");
    let mut admin = server.connect_admin().await.expect("connect");
    let logs: Vec<(String, u64)> = admin.query("SHOW BINARY LOGS").await.unwrap();
    let first_file = logs[0].0.clone();
    for sql in WORKLOAD {
        admin.query_drop(*sql).await.expect(sql);
    }
    let gtid_pos: String = admin
        .query_first("SELECT @@gtid_binlog_pos")
        .await
        .unwrap()
        .unwrap();
    let (file, pos): (String, u64) = admin
        .query_first("SHOW MASTER STATUS")
        .await
        .unwrap()
        .map(|row: mysql_async::Row| {
            let file: String = row.get(0).unwrap();
            let pos: u64 = row.get(1).unwrap();
            (file, pos)
        })
        .unwrap();
    let last = BinlogOffset {
        gtids: Some(gtid_pos.clone()),
        file: file.clone(),
        pos,
        event: 0,
        row: 0,
        server_id: 0,
        ts_sec: 0,
    };

    // --- by GTID, from the beginning ---
    let start = BinlogOffset {
        gtids: Some(String::new()),
        file: first_file.clone(),
        pos: 4,
        event: 0,
        row: 0,
        server_id: 0,
        ts_sec: 0,
    };
    let run = Run::read(&server, &start, &last).await;
    let items = &run.items;
    assert_eq!(
        items
            .last()
            .and_then(StreamItem::offset)
            .and_then(|o| o.gtids.clone()),
        Some(gtid_pos.clone())
    );

    // What was captured: rows of items and log, none of noise.
    let all = changes(items);
    assert!(all
        .iter()
        .all(|(_, t, _, _)| t == "shop.items" || t == "shop.log"));
    let int = |i: i32| Value::Int32(i);
    assert_eq!(all[0].0, Op::Create);
    assert_eq!(all[0].3.as_ref().unwrap()[0], int(1));
    assert_eq!(all[0].3.as_ref().unwrap()[1], Value::String("a".into()));
    // 5 inserts, the transaction's 2 inserts + 3 updates + 1 delete.
    let ops: Vec<Op> = all.iter().take(11).map(|c| c.0).collect();
    use Op::*;
    assert_eq!(
        ops,
        [Create, Create, Create, Create, Create, Create, Create, Update, Update, Update, Delete]
    );
    // The primary-key change: delete of 1 + create of 101 with the new column.
    let pk: Vec<&StreamItem> = items
        .iter()
        .filter(|i| {
            matches!(
                i,
                StreamItem::Change {
                    key_header: Some(_),
                    ..
                }
            )
        })
        .collect();
    assert_eq!(pk.len(), 6);
    match (pk[0], pk[1]) {
        (
            StreamItem::Change {
                event: d,
                key_header: Some(hd),
                ..
            },
            StreamItem::Change {
                event: c,
                key_header: Some(hc),
                ..
            },
        ) => {
            assert_eq!((d.op, c.op), (Delete, Create));
            assert_eq!(hd.name, "__debezium.newkey");
            assert_eq!(hd.row[0], int(101));
            assert_eq!(hc.name, "__debezium.oldkey");
            assert_eq!(hc.row[0], int(1));
            let after = c.after.as_ref().unwrap();
            assert_eq!(after.len(), 4);
            assert_eq!(after[3], Value::String("moved".into()));
            assert_eq!(c.table.columns.len(), 4);
        }
        other => panic!("{other:?}"),
    }
    // One TableSchema per version: the 5 first inserts share it.
    let schemas: Vec<_> = items
        .iter()
        .filter_map(|i| match i {
            StreamItem::Change { event, .. } if event.table.id.name == "items" => {
                Some(Arc::as_ptr(&event.table))
            }
            _ => None,
        })
        .collect();
    assert!(schemas[..11].iter().all(|p| *p == schemas[0]));
    assert_ne!(schemas[0], *schemas.last().unwrap());
    // Source positions: GTIDs, files before and after the rotation, rows within an event.
    let positions: Vec<(Option<String>, String, i32)> = items
        .iter()
        .filter_map(|i| match i {
            StreamItem::Change { event, .. } => match &event.source.position {
                Position::Binlog {
                    gtid, file, row, ..
                } => Some((gtid.clone(), file.clone(), *row)),
                _ => None,
            },
            _ => None,
        })
        .collect();
    assert!(positions.iter().all(|p| p.0.is_some()));
    assert_eq!(
        positions[..5].iter().map(|p| p.2).collect::<Vec<_>>(),
        [0, 1, 2, 3, 4]
    );
    assert!(positions.iter().any(|p| p.1 == first_file));
    assert!(positions.iter().any(|p| p.1 == file && file != first_file));
    // Transactions: Begin/Commit pairs around changes; uncaptured ones are heartbeats.
    let begins = items
        .iter()
        .filter(|i| matches!(i, StreamItem::Begin { .. }))
        .count();
    let commits = items
        .iter()
        .filter(|i| matches!(i, StreamItem::Commit { .. }))
        .count();
    assert_eq!(begins, commits);
    assert_eq!(begins, 7, "{:#?}", summary(items));
    assert!(items
        .iter()
        .any(|i| matches!(i, StreamItem::Heartbeat { .. })));
    let ddl: Vec<&str> = items
        .iter()
        .filter_map(|i| match i {
            StreamItem::SchemaChange { ddl, .. } => Some(ddl.as_str()),
            _ => None,
        })
        .collect();
    // TRUNCATE is no schema change: an `op=t` event of a captured table, a heartbeat else.
    assert_eq!(ddl.len(), 5, "{ddl:?}");
    assert!(matches!(
        &items[items.len() - 2],
        StreamItem::Heartbeat { offset } if !offset.in_transaction()
    ));
    match items.last() {
        Some(StreamItem::Change {
            event,
            offset,
            key_header: None,
        }) => {
            assert_eq!(
                (event.op, event.table.id.name.as_str()),
                (Op::Truncate, "log")
            );
            assert!(event.before.is_none() && event.after.is_none());
            assert_eq!(offset.gtids.as_deref(), Some(gtid_pos.as_str()));
        }
        other => panic!("{other:?}"),
    }
    // The bulk insert spans several rows events: offsets with row counts inside one event.
    assert!(items
        .iter()
        .filter_map(StreamItem::offset)
        .any(|o| o.event > 3 && o.row > 1));

    let reopened = run.check_restarts(&server, &last).await;
    eprintln!(
        "GTID mode: {} items, reopened at {reopened} offsets",
        items.len()
    );
    assert!(reopened > 150);

    // --- by file + position, from the beginning: the same items, offsets without GTIDs ---
    let start = BinlogOffset {
        gtids: None,
        ..start
    };
    let last = BinlogOffset {
        gtids: None,
        ..last
    };
    let by_pos = Run::read(&server, &start, &last).await;
    assert_eq!(by_pos.items.len(), items.len());
    assert!(by_pos
        .items
        .iter()
        .filter_map(StreamItem::offset)
        .all(|o| o.gtids.is_none()));
    let reopened = by_pos.check_restarts(&server, &last).await;
    eprintln!("file mode: reopened at {reopened} offsets");

    // A stale offset (inside a transaction, at a position that is no transaction start) is
    // refused, not misread.
    let bogus = BinlogOffset {
        pos: by_pos.items[3].offset().map_or(4, |o| o.pos) + 1,
        event: 2,
        ..last.clone()
    };
    let mut stream = ChangeStream::open(server.cdc_opts(), config(), empty_schemas(), &bogus)
        .await
        .expect("open");
    let err = tokio::time::timeout(DEADLINE, stream.next()).await.unwrap();
    assert!(err.is_err(), "{err:?}");
    drop(stream);
    let _: Option<StreamError> = None;
    server.stop().await.expect("stop");
}

async fn next_item(stream: &mut ChangeStream) -> Result<Option<StreamItem>, StreamError> {
    tokio::time::timeout(DEADLINE, stream.next())
        .await
        .expect("an item before the deadline")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_multi_table_ddl_and_unknown_tables() {
    let server = MariaDbServer::start().await.expect("start MariaDB");
    let mut admin = server.connect_admin().await.expect("connect");
    admin.query_drop("CREATE DATABASE shop").await.unwrap();
    let gtid_pos: String = admin
        .query_first("SELECT @@gtid_binlog_pos")
        .await
        .unwrap()
        .unwrap();
    let status: mysql_async::Row = admin
        .query_first("SHOW MASTER STATUS")
        .await
        .unwrap()
        .unwrap();
    let start = BinlogOffset {
        gtids: Some(gtid_pos),
        file: status.get(0).unwrap(),
        pos: status.get(1).unwrap(),
        event: 0,
        row: 0,
        server_id: 0,
        ts_sec: 0,
    };
    let mut schemas = empty_schemas();
    schemas.apply("CREATE DATABASE shop", None).unwrap();
    let beating = StreamConfig {
        heartbeat: Duration::from_millis(200),
        ..config()
    };

    // A stream configured for the other flavor is refused before reading.
    let mysql = StreamConfig {
        flavor: BinlogFlavor::MySql,
        ..config()
    };
    let err = ChangeStream::open(server.cdc_opts(), mysql, schemas.clone(), &start)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StreamError::Config(m) if m.contains("MariaDB")),
        "{err}"
    );

    // Idle: server heartbeats carry the start offset.
    let mut stream =
        ChangeStream::open(server.cdc_opts(), beating.clone(), schemas.clone(), &start)
            .await
            .expect("open");
    match next_item(&mut stream).await {
        Ok(Some(StreamItem::Heartbeat { offset })) => assert_eq!(
            (
                offset.gtids,
                offset.file,
                offset.pos,
                offset.event,
                offset.row
            ),
            (start.gtids.clone(), start.file.clone(), start.pos, 0, 0)
        ),
        other => panic!("{other:?}"),
    }

    // One statement, two tables: two schema changes sharing the offset after it.
    for sql in [
        "CREATE TABLE shop.a (id INT PRIMARY KEY)",
        "CREATE TABLE shop.b (id INT PRIMARY KEY)",
        "DROP TABLE shop.a, shop.b",
    ] {
        admin.query_drop(sql).await.expect(sql);
    }
    let mut ddl = Vec::new();
    while ddl.len() < 4 {
        match next_item(&mut stream).await {
            Ok(Some(StreamItem::SchemaChange {
                ddl: text, offset, ..
            })) => ddl.push((text, offset)),
            Ok(Some(StreamItem::Heartbeat { .. })) => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(ddl[2].0, "DROP TABLE `shop`.`a`");
    assert_eq!(ddl[3].0, "DROP TABLE `shop`.`b`");
    assert_eq!(ddl[2].1, ddl[3].1);
    assert_ne!(ddl[1].1, ddl[2].1);
    assert!(stream.schemas().table("shop", "a").is_none());

    // A captured table the schema does not know: refused, naming it and the position.
    let mut stream = ChangeStream::open(server.cdc_opts(), beating, schemas, &ddl[3].1)
        .await
        .expect("open");
    admin
        .query_drop("CREATE TABLE shop.c (id INT PRIMARY KEY)")
        .await
        .unwrap();
    let mut unknown = empty_schemas();
    unknown.apply("CREATE DATABASE shop", None).unwrap();
    // The stream knows shop.c from its CREATE; a second stream opened after it does not.
    loop {
        match next_item(&mut stream).await {
            Ok(Some(StreamItem::SchemaChange { offset, .. })) => {
                let mut blind = ChangeStream::open(server.cdc_opts(), config(), unknown, &offset)
                    .await
                    .expect("open");
                admin
                    .query_drop("INSERT INTO shop.c VALUES (1)")
                    .await
                    .unwrap();
                let err = next_item(&mut blind).await.unwrap_err().to_string();
                assert!(
                    err.contains("shop.c")
                        && err.contains("mariadb-bin.")
                        && err.contains("does not know"),
                    "{err}"
                );
                assert!(matches!(
                    next_item(&mut blind).await,
                    Err(StreamError::Failed)
                ));
                break;
            }
            Ok(Some(StreamItem::Heartbeat { .. })) => {}
            other => panic!("{other:?}"),
        }
    }
    server.stop().await.expect("stop");
}

/// One 50 000-row transaction streams as one Begin, 50 000 changes in key order and one
/// Commit; prints the rate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_transaction_streams_row_by_row() {
    const ROWS: i32 = 50_000;
    let server = MariaDbServer::start().await.expect("start MariaDB");
    let mut admin = server.connect_admin().await.expect("connect");
    let gtid_pos: String = admin
        .query_first("SELECT @@gtid_binlog_pos")
        .await
        .unwrap()
        .unwrap();
    let status: mysql_async::Row = admin
        .query_first("SHOW MASTER STATUS")
        .await
        .unwrap()
        .unwrap();
    let start = BinlogOffset {
        gtids: Some(gtid_pos),
        file: status.get(0).unwrap(),
        pos: status.get(1).unwrap(),
        event: 0,
        row: 0,
        server_id: 0,
        ts_sec: 0,
    };
    for sql in [
        "CREATE DATABASE shop",
        "CREATE TABLE shop.items (id INT PRIMARY KEY, name VARCHAR(200), qty INT NOT NULL, \
         price DECIMAL(10,2), at DATETIME(3))",
        &format!(
            "INSERT INTO shop.items SELECT seq, CONCAT('item-', seq), seq % 100, seq / 7, \
             '2024-01-02 03:04:05.678' FROM shop.seq_1_to_{ROWS}"
        ),
    ] {
        admin.query_drop(sql).await.expect(sql);
    }
    let mut stream = ChangeStream::open(server.cdc_opts(), config(), empty_schemas(), &start)
        .await
        .expect("open");
    let started = Instant::now();
    let (mut changes, mut begins, mut next_id) = (0, 0, 1);
    loop {
        match next_item(&mut stream)
            .await
            .expect("item")
            .expect("open stream")
        {
            StreamItem::SchemaChange { .. } => {}
            StreamItem::Begin { .. } => begins += 1,
            StreamItem::Change { event, .. } => {
                assert_eq!(event.after.as_ref().unwrap()[0], Value::Int32(next_id));
                next_id += 1;
                changes += 1;
            }
            StreamItem::Commit { .. } => break,
            StreamItem::Heartbeat { .. } => panic!("unexpected heartbeat"),
        }
    }
    let elapsed = started.elapsed();
    assert_eq!((begins, changes), (1, ROWS));
    eprintln!(
        "{ROWS} rows in one transaction: {:.2} s, {:.0} changes/s (debug build)",
        elapsed.as_secs_f64(),
        f64::from(ROWS) / elapsed.as_secs_f64()
    );
    server.stop().await.expect("stop");
}
