//! The state machine on hand-built events: MySQL paths a MariaDB server cannot produce
//! (GTID sets, TRANSACTION_PAYLOAD, PARTIAL_UPDATE_ROWS, anonymous transactions, DDL groups)
//! and the refusals (TABLE_MAP mismatches, statement-based DML, ROLLBACK).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use cdc_model::event::BinlogFlavor;
use cdc_model::{Op, Position, Value};
use mysql_async::binlog::events::{Event, EventData, FormatDescriptionEvent, TableMapEvent};
use mysql_async::binlog::row::BinlogRow;
use mysql_async::binlog::value::BinlogValue;
use mysql_async::binlog::BinlogVersion;
use mysql_async::consts::ColumnType;
use mysql_async::Value as MyValue;
use mysql_common::packets::Column;
use serde_json::json;

use super::Machine;
use crate::binlog::{
    BinlogEvent, EventKind, EventPosition, Gtid, MySqlGtid, MySqlSource, RowChange, RowsKind,
};
use crate::ddl::{DdlOptions, Schemas, ServerVersion};
use crate::stream::offset::{BinlogOffset, Completed};
use crate::stream::{StreamConfig, StreamError, StreamItem};
use crate::types::{jsonb_text, HandlingModes};

// The binary JSON writer the types tests use (their module is private to `types`).
#[allow(clippy::duplicate_mod)]
#[path = "../../../tests/support/jsonb.rs"]
mod jsonb_support;
use jsonb_support::{diff, encode, parse};

const FILE: &str = "binlog.000007";
const UUID: &str = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
const T0: u32 = 1_700_000_000;

fn config() -> StreamConfig {
    StreamConfig {
        flavor: BinlogFlavor::MySql,
        topic_prefix: "srv".into(),
        connector_version: "3.6.3.Final".into(),
        replica_server_id: 99,
        tables: Arc::new(|t| t.name != "skipped"),
        columns: Arc::new(crate::stream::AllColumns),
        modes: HandlingModes::default(),
        include_query: true,
        heartbeat: Duration::ZERO,
    }
}

fn schemas() -> Schemas {
    let mut s = Schemas::new(DdlOptions {
        skip_unparseable: false,
        server: ServerVersion::mysql(8, 0, 36),
        server_charset: Some("utf8mb4".into()),
    });
    s.apply(
        "CREATE TABLE shop.docs (id INT PRIMARY KEY, doc JSON, name VARCHAR(20))",
        None,
    )
    .unwrap();
    s
}

fn gtid(gno: u64) -> Gtid {
    Gtid::MySql(MySqlGtid {
        source: MySqlSource {
            uuid: UUID.parse().unwrap(),
            tag: None,
        },
        gno,
    })
}

fn at(start: u64, end: u64, timestamp: u32) -> EventPosition {
    EventPosition {
        file: FILE.into(),
        start_pos: start,
        end_pos: end,
        server_id: 1,
        timestamp,
    }
}

fn ev(start: u64, end: u64, kind: EventKind) -> BinlogEvent {
    BinlogEvent {
        at: at(start, end, T0 + u32::try_from(start).unwrap()),
        kind,
    }
}

fn lenenc(out: &mut Vec<u8>, n: usize) {
    assert!(n < 251);
    out.push(u8::try_from(n).unwrap());
}

/// A TABLE_MAP of `db`.`table` with `types` (metadata per type) and optional column names.
fn table_map(
    table_id: u64,
    db: &str,
    table: &str,
    types: &[(ColumnType, &[u8])],
    names: Option<&[&str]>,
) -> Arc<TableMapEvent<'static>> {
    let mut body = table_id.to_le_bytes()[..6].to_vec();
    body.extend_from_slice(&1u16.to_le_bytes());
    for name in [db, table] {
        lenenc(&mut body, name.len());
        body.extend_from_slice(name.as_bytes());
        body.push(0);
    }
    lenenc(&mut body, types.len());
    body.extend(types.iter().map(|(t, _)| *t as u8));
    let meta: Vec<u8> = types.iter().flat_map(|(_, m)| m.iter().copied()).collect();
    lenenc(&mut body, meta.len());
    body.extend(meta);
    body.extend(vec![0xffu8; types.len().div_ceil(8)]);
    if let Some(names) = names {
        let mut field = Vec::new();
        for n in names {
            lenenc(&mut field, n.len());
            field.extend_from_slice(n.as_bytes());
        }
        body.push(4); // COLUMN_NAME
        lenenc(&mut body, field.len());
        body.extend(field);
    }
    let size = 19 + body.len();
    let mut bytes = T0.to_le_bytes().to_vec();
    bytes.push(19); // TABLE_MAP_EVENT
    bytes.extend_from_slice(&1u32.to_le_bytes());
    bytes.extend_from_slice(&u32::try_from(size).unwrap().to_le_bytes());
    bytes.extend_from_slice(&0u32.to_le_bytes());
    bytes.extend_from_slice(&0u16.to_le_bytes());
    bytes.extend(body);
    let fde = FormatDescriptionEvent::new(BinlogVersion::Version4);
    let event = Event::read(&fde, &bytes[..]).expect("TABLE_MAP fixture parses");
    match event.read_data().expect("decodes") {
        Some(EventData::TableMapEvent(tme)) => Arc::new(tme.into_owned()),
        other => panic!("{other:?}"),
    }
}

const DOCS: &[(ColumnType, &[u8])] = &[
    (ColumnType::MYSQL_TYPE_LONG, &[]),
    (ColumnType::MYSQL_TYPE_JSON, &[4]),
    (ColumnType::MYSQL_TYPE_VARCHAR, &[80, 0]),
];

fn docs_map() -> Arc<TableMapEvent<'static>> {
    table_map(42, "shop", "docs", DOCS, Some(&["id", "doc", "name"]))
}

fn row(values: Vec<BinlogValue<'static>>) -> BinlogRow {
    let columns: Arc<[Column]> = values
        .iter()
        .map(|_| Column::new(ColumnType::MYSQL_TYPE_LONG))
        .collect();
    BinlogRow::new(values.into_iter().map(Some).collect(), columns)
}

fn plain(v: MyValue) -> BinlogValue<'static> {
    BinlogValue::Value(v)
}

fn doc_row(id: i64, doc: serde_json::Value, name: &str) -> BinlogRow {
    row(vec![
        plain(MyValue::Int(id)),
        BinlogValue::Jsonb(parse(&encode(&doc))),
        plain(MyValue::Bytes(name.as_bytes().to_vec())),
    ])
}

fn rows(kind: RowsKind, table: &Arc<TableMapEvent<'static>>, rows: Vec<RowChange>) -> EventKind {
    EventKind::Rows {
        kind,
        table_id: table.table_id(),
        table: Arc::clone(table),
        rows,
    }
}

fn insert(id: i64) -> RowChange {
    RowChange {
        before: None,
        after: Some(doc_row(id, json!({"n": id}), "n")),
    }
}

fn machine(offset: &BinlogOffset) -> Machine {
    let completed = Completed::parse(offset.gtids.as_deref(), BinlogFlavor::MySql).unwrap();
    Machine::new(config(), schemas(), offset, completed)
}

fn start() -> BinlogOffset {
    BinlogOffset {
        gtids: Some(format!("{UUID}:1-5")),
        file: FILE.into(),
        pos: 4,
        event: 0,
        row: 0,
        server_id: 0,
        ts_sec: 0,
    }
}

fn run(m: &mut Machine, events: Vec<BinlogEvent>) -> Result<Vec<StreamItem>, StreamError> {
    let mut out = VecDeque::new();
    for e in events {
        m.handle(e, &mut out)?;
    }
    Ok(out.into())
}

/// Two MySQL transactions: a partial JSON update, then a compressed transaction.
fn workload() -> Vec<BinlogEvent> {
    let docs = docs_map();
    let before = doc_row(1, json!({"a": 1, "list": [10, 20]}), "x");
    let after = row(vec![
        plain(MyValue::Int(1)),
        BinlogValue::JsonDiff(vec![
            diff(0, "$.a", Some(&json!(2))),
            diff(1, "$.list[2]", Some(&json!(30))),
        ]),
        plain(MyValue::Bytes(b"y".to_vec())),
    ]);
    vec![
        ev(
            4,
            4,
            EventKind::Rotate {
                file: FILE.into(),
                pos: 4,
                artificial: true,
            },
        ),
        ev(
            4,
            126,
            EventKind::FormatDescription {
                server_version: "8.0.36".into(),
            },
        ),
        ev(126, 157, EventKind::PreviousGtids),
        ev(
            200,
            279,
            EventKind::TransactionBegin {
                gtid: Some(gtid(6)),
                standalone: false,
            },
        ),
        ev(279, 350, EventKind::Begin { thread_id: 77 }),
        ev(
            350,
            400,
            EventKind::RowsQuery {
                sql: "UPDATE docs SET …".into(),
            },
        ),
        ev(400, 460, EventKind::TableMap(Arc::clone(&docs))),
        ev(
            460,
            600,
            rows(
                RowsKind::PartialUpdate,
                &docs,
                vec![RowChange {
                    before: Some(before),
                    after: Some(after),
                }],
            ),
        ),
        ev(600, 631, EventKind::Xid { xid: 9 }),
        ev(
            631,
            710,
            EventKind::TransactionBegin {
                gtid: Some(gtid(7)),
                standalone: false,
            },
        ),
        ev(
            710,
            900,
            EventKind::TransactionPayload {
                uncompressed_size: 400,
            },
        ),
        // The payload's events carry its position.
        ev(710, 900, EventKind::Begin { thread_id: 78 }),
        ev(710, 900, EventKind::TableMap(Arc::clone(&docs))),
        ev(
            710,
            900,
            rows(RowsKind::Insert, &docs, vec![insert(2), insert(3)]),
        ),
        ev(
            710,
            900,
            rows(
                RowsKind::Delete,
                &docs,
                vec![RowChange {
                    before: Some(doc_row(1, json!({}), "y")),
                    after: None,
                }],
            ),
        ),
        ev(710, 900, EventKind::Xid { xid: 10 }),
    ]
}

#[test]
fn mysql_transactions_gtid_sets_payloads_and_partial_json_updates() {
    let items = run(&mut machine(&start()), workload()).unwrap();
    let kinds: Vec<&str> = items
        .iter()
        .map(|i| match i {
            StreamItem::Begin { .. } => "begin",
            StreamItem::Change { .. } => "change",
            StreamItem::Commit { .. } => "commit",
            StreamItem::SchemaChange { .. } => "ddl",
            StreamItem::Heartbeat { .. } => "heartbeat",
        })
        .collect();
    assert_eq!(
        kinds,
        ["begin", "change", "commit", "begin", "change", "change", "change", "commit"]
    );
    // The partial update: diffs applied to the before image; MySQL GTID-group time.
    let StreamItem::Begin { id, ts_us } = &items[0] else {
        panic!()
    };
    assert_eq!(id, &format!("{UUID}:6"));
    assert_eq!(*ts_us, i64::from(T0 + 200) * 1_000_000);
    let StreamItem::Change {
        event,
        offset,
        key_header,
    } = &items[1]
    else {
        panic!()
    };
    assert!(key_header.is_none());
    assert_eq!(event.op, Op::Update);
    let expected = jsonb_text(&parse(&encode(&json!({"a": 2, "list": [10, 20, 30]})))).unwrap();
    assert_eq!(event.after.as_ref().unwrap()[1], Value::String(expected));
    assert_eq!(event.after.as_ref().unwrap()[2], Value::String("y".into()));
    assert_eq!(event.source.ts_us, i64::from(T0 + 200) * 1_000_000);
    assert_eq!(
        event.source.position,
        Position::Binlog {
            flavor: BinlogFlavor::MySql,
            server_id: 1,
            gtid: Some(format!("{UUID}:6")),
            file: FILE.into(),
            pos: 460,
            row: 0,
            thread: Some(77),
            query: Some("UPDATE docs SET …".into()),
        }
    );
    assert_eq!(
        (
            offset.gtids.as_deref(),
            offset.pos,
            offset.event,
            offset.row
        ),
        (Some(format!("{UUID}:1-5").as_str()), 279, 3, 1)
    );
    let StreamItem::Commit { offset, .. } = &items[2] else {
        panic!()
    };
    assert_eq!(
        (offset.gtids.clone(), offset.pos, offset.event, offset.row),
        (Some(format!("{UUID}:1-6")), 631, 0, 0)
    );
    // The compressed transaction: counted through the payload, its end after the payload.
    let StreamItem::Change { event, offset, .. } = &items[5] else {
        panic!()
    };
    // Counted from the BEGIN inside the payload (which carries the payload's position).
    assert_eq!((offset.pos, offset.event, offset.row), (710, 2, 2));
    match &event.source.position {
        Position::Binlog {
            pos,
            row,
            thread,
            query,
            ..
        } => {
            assert_eq!((*pos, *row, *thread), (710, 1, Some(78)));
            assert_eq!(
                query, &None,
                "the rows query belongs to the previous transaction"
            );
        }
        other => panic!("{other:?}"),
    }
    let StreamItem::Commit { offset, id, .. } = &items[7] else {
        panic!()
    };
    assert_eq!(id, &format!("{UUID}:7"));
    assert_eq!(
        (offset.gtids.clone(), offset.pos),
        (Some(format!("{UUID}:1-7")), 900)
    );
}

#[test]
fn restarting_inside_a_compressed_transaction_skips_what_was_published() {
    let all = run(&mut machine(&start()), workload()).unwrap();
    let norm = |items: &[StreamItem]| -> Vec<String> {
        items
            .iter()
            .map(|i| match i {
                StreamItem::Change { event, offset, .. } => {
                    let mut e = event.clone();
                    e.ts_ns = 0;
                    format!("{e:?} {offset:?}")
                }
                other => format!("{other:?}"),
            })
            .collect()
    };
    for (i, item) in all.iter().enumerate() {
        let Some(offset) = item.offset() else {
            continue;
        };
        // By GTID, the server resends the transactions not in `gtids`: from the GTID event
        // of the one the offset is in, or after the last completed one.
        let from = if offset.in_transaction() {
            workload()
                .iter()
                .filter(|e| matches!(e.kind, EventKind::TransactionBegin { .. }))
                .map(|e| e.at.start_pos)
                .filter(|p| *p <= offset.pos)
                .max()
                .unwrap()
        } else {
            offset.pos.max(200)
        };
        let events: Vec<BinlogEvent> = workload()
            .into_iter()
            .filter(|e| e.at.start_pos < 200 || e.at.start_pos >= from)
            .collect();
        let tail = run(&mut machine(offset), events).unwrap();
        assert_eq!(norm(&tail), norm(&all[i + 1..]), "restart after item {i}");
    }
}

#[test]
fn anonymous_transactions_and_ddl_groups() {
    let docs = docs_map();
    let mut m = machine(&BinlogOffset {
        gtids: None,
        ..start()
    });
    let items = run(
        &mut m,
        vec![
            ev(
                200,
                265,
                EventKind::TransactionBegin {
                    gtid: None,
                    standalone: false,
                },
            ),
            ev(265, 330, EventKind::Begin { thread_id: 5 }),
            ev(330, 380, EventKind::TableMap(Arc::clone(&docs))),
            ev(380, 450, rows(RowsKind::Insert, &docs, vec![insert(1)])),
            ev(450, 481, EventKind::Xid { xid: 1 }),
            // MySQL DDL: GTID (anonymous) + the statement, no BEGIN, no XID.
            ev(
                481,
                546,
                EventKind::TransactionBegin {
                    gtid: None,
                    standalone: false,
                },
            ),
            ev(
                546,
                700,
                EventKind::Query {
                    schema: "shop".into(),
                    sql: "ALTER TABLE docs ADD COLUMN extra INT".into(),
                    thread_id: 5,
                },
            ),
            // A statement without schema effect still moves the offset.
            ev(
                700,
                765,
                EventKind::TransactionBegin {
                    gtid: None,
                    standalone: false,
                },
            ),
            ev(
                765,
                850,
                EventKind::Query {
                    schema: "".into(),
                    sql: "GRANT SELECT ON *.* TO u".into(),
                    thread_id: 5,
                },
            ),
        ],
    )
    .unwrap();
    let StreamItem::Begin { id, .. } = &items[0] else {
        panic!("{items:?}")
    };
    assert_eq!(id, &format!("file={FILE},pos=265"));
    // Debezium: a transaction begins at its BEGIN (no GTID event time on anonymous ones).
    assert!(
        matches!(&items[0], StreamItem::Begin { ts_us, .. } if *ts_us == i64::from(T0 + 265) * 1_000_000)
    );
    assert!(
        matches!(&items[1], StreamItem::Change { event, .. } if event.source.ts_us == i64::from(T0 + 380) * 1_000_000)
    );
    let StreamItem::SchemaChange {
        ddl,
        offset,
        history,
        ..
    } = &items[3]
    else {
        panic!("{items:?}")
    };
    assert_eq!(ddl, "ALTER TABLE docs ADD COLUMN extra INT");
    assert_eq!(
        (offset.pos, offset.event, offset.gtids.clone()),
        (700, 0, None)
    );
    assert_eq!(history.position.get("pos"), Some(&json!(700)));
    assert_eq!(m.schemas().table("shop", "docs").unwrap().columns.len(), 4);
    let StreamItem::Heartbeat { offset } = &items[4] else {
        panic!("{items:?}")
    };
    assert_eq!(offset.pos, 850);
    assert_eq!(items.len(), 5);
    // The old TABLE_MAP no longer fits the altered table.
    let err = run(
        &mut m,
        vec![
            ev(
                900,
                965,
                EventKind::TransactionBegin {
                    gtid: None,
                    standalone: false,
                },
            ),
            ev(965, 1000, EventKind::Begin { thread_id: 5 }),
            ev(1000, 1050, EventKind::TableMap(docs)),
        ],
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("shop.docs") && err.contains("binlog.000007:1000") && err.contains("4"),
        "{err}"
    );
}

#[test]
fn table_maps_that_do_not_fit_the_schema_are_refused() {
    let cases: Vec<(Arc<TableMapEvent<'static>>, &str)> = vec![
        (table_map(1, "shop", "docs", &DOCS[..2], None), "2 columns"),
        (
            table_map(
                1,
                "shop",
                "docs",
                &[DOCS[0], DOCS[1], (ColumnType::MYSQL_TYPE_LONG, &[])],
                None,
            ),
            "column name",
        ),
        (
            table_map(1, "shop", "docs", DOCS, Some(&["id", "document", "name"])),
            "column doc is named document",
        ),
        (table_map(1, "shop", "unknown", DOCS, None), "does not know"),
    ];
    for (tme, expected) in cases {
        let err = run(
            &mut machine(&start()),
            vec![
                ev(
                    200,
                    279,
                    EventKind::TransactionBegin {
                        gtid: Some(gtid(6)),
                        standalone: false,
                    },
                ),
                ev(279, 350, EventKind::Begin { thread_id: 1 }),
                ev(350, 400, EventKind::TableMap(tme)),
            ],
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains(expected) && err.contains("binlog.000007:350"),
            "{expected}: {err}"
        );
    }
    // An uncaptured table is not checked, and its rows are skipped.
    let skipped = table_map(2, "shop", "skipped", DOCS, None);
    let items = run(
        &mut machine(&start()),
        vec![
            ev(
                200,
                279,
                EventKind::TransactionBegin {
                    gtid: Some(gtid(6)),
                    standalone: false,
                },
            ),
            ev(279, 350, EventKind::Begin { thread_id: 1 }),
            ev(350, 400, EventKind::TableMap(Arc::clone(&skipped))),
            ev(400, 450, rows(RowsKind::Insert, &skipped, vec![insert(1)])),
            ev(450, 481, EventKind::Xid { xid: 1 }),
        ],
    )
    .unwrap();
    assert!(
        matches!(&items[..], [StreamItem::Heartbeat { offset }] if offset.pos == 481 && offset.gtids == Some(format!("{UUID}:1-6")))
    );
}

#[test]
fn statement_based_dml_and_rollbacks_are_refused_with_their_position() {
    for (sql, expected) in [
        (
            "INSERT INTO docs VALUES (1, NULL, 'a')",
            "STATEMENT or MIXED",
        ),
        ("ROLLBACK", "rolled back"),
    ] {
        let err = run(
            &mut machine(&start()),
            vec![
                ev(
                    200,
                    279,
                    EventKind::TransactionBegin {
                        gtid: Some(gtid(6)),
                        standalone: false,
                    },
                ),
                ev(279, 350, EventKind::Begin { thread_id: 1 }),
                ev(
                    350,
                    420,
                    EventKind::Query {
                        schema: "shop".into(),
                        sql: sql.into(),
                        thread_id: 1,
                    },
                ),
            ],
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, StreamError::Statement { .. }), "{text}");
        assert!(
            text.contains(expected) && text.contains("binlog.000007:350"),
            "{text}"
        );
    }
    // XA and savepoints pass.
    let items = run(
        &mut machine(&start()),
        vec![
            ev(
                200,
                279,
                EventKind::TransactionBegin {
                    gtid: Some(gtid(6)),
                    standalone: false,
                },
            ),
            ev(
                279,
                350,
                EventKind::Query {
                    schema: "".into(),
                    sql: "XA START 'x'".into(),
                    thread_id: 1,
                },
            ),
            ev(
                350,
                400,
                EventKind::Query {
                    schema: "".into(),
                    sql: "XA END 'x'".into(),
                    thread_id: 1,
                },
            ),
            ev(400, 450, EventKind::XaPrepare),
        ],
    )
    .unwrap();
    assert!(
        matches!(&items[..], [StreamItem::Heartbeat { offset }] if offset.pos == 450),
        "{items:?}"
    );
}

#[test]
fn anonymous_transactions_restart_at_their_begin_by_position() {
    let docs = docs_map();
    let events = || {
        vec![
            ev(
                200,
                265,
                EventKind::TransactionBegin {
                    gtid: None,
                    standalone: false,
                },
            ),
            ev(265, 330, EventKind::Begin { thread_id: 5 }),
            ev(330, 380, EventKind::TableMap(Arc::clone(&docs))),
            ev(
                380,
                450,
                rows(RowsKind::Insert, &docs, vec![insert(1), insert(2)]),
            ),
            ev(450, 481, EventKind::Xid { xid: 1 }),
        ]
    };
    let start = BinlogOffset {
        gtids: None,
        ..start()
    };
    let all = run(&mut machine(&start), events()).unwrap();
    let StreamItem::Change { offset, .. } = &all[1] else {
        panic!("{all:?}")
    };
    // Debezium's offset: the BEGIN's position, BEGIN and TABLE_MAP handled, one row.
    assert_eq!((offset.pos, offset.event, offset.row), (265, 2, 1));
    // The server resends from the BEGIN.
    let tail = run(
        &mut machine(offset),
        events()
            .into_iter()
            .filter(|e| e.at.start_pos >= 265)
            .collect(),
    )
    .unwrap();
    assert_eq!(tail.len(), 2);
    assert!(
        matches!(&tail[0], StreamItem::Change { event, .. } if event.after.as_ref().unwrap()[0] == Value::Int32(2))
    );
    assert!(
        matches!(&tail[1], StreamItem::Commit { id, .. } if id == &format!("file={FILE},pos=265"))
    );
    // An offset into a transaction that does not start there is refused.
    let err = run(
        &mut machine(&BinlogOffset {
            pos: 200,
            ..offset.clone()
        }),
        events()
            .into_iter()
            .filter(|e| e.at.start_pos >= 265)
            .collect(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("binlog.000007:200") && err.contains("binlog.000007:265"),
        "{err}"
    );
}

#[test]
fn a_heartbeat_before_the_transaction_to_resume_keeps_the_offset() {
    let offset = BinlogOffset {
        pos: 279,
        event: 3,
        row: 1,
        ..start()
    };
    let items = run(
        &mut machine(&offset),
        vec![
            ev(
                4,
                4,
                EventKind::Rotate {
                    file: FILE.into(),
                    pos: 4,
                    artificial: true,
                },
            ),
            BinlogEvent {
                at: at(4, 4, 0),
                kind: EventKind::Heartbeat,
            },
        ],
    )
    .unwrap();
    assert!(
        matches!(&items[..], [StreamItem::Heartbeat { offset: o }] if *o == offset),
        "{items:?}"
    );
}

/// `source.thread` / `source.query` on MariaDB, as Debezium's MariaDB connector sets them:
/// MariaDB writes no `BEGIN` query (its GTID event opens the transaction), so no thread id is
/// ever known and `thread` stays null; `query` is the ANNOTATE_ROWS statement of the rows
/// after it, only with `include.query`, and is forgotten at the commit.
#[test]
fn mariadb_thread_is_null_and_query_comes_from_annotate_rows() {
    let maria = |sequence| {
        Some(Gtid::MariaDb(crate::binlog::MariaGtid {
            domain_id: 0,
            server_id: 1,
            sequence,
        }))
    };
    for include_query in [true, false] {
        let offset = BinlogOffset {
            gtids: Some("0-1-5".into()),
            ..start()
        };
        let config = StreamConfig {
            flavor: BinlogFlavor::MariaDb,
            include_query,
            ..config()
        };
        let completed = Completed::parse(offset.gtids.as_deref(), BinlogFlavor::MariaDb).unwrap();
        let mut m = Machine::new(config, schemas(), &offset, completed);
        let docs = docs_map();
        let items = run(
            &mut m,
            vec![
                ev(
                    200,
                    240,
                    EventKind::TransactionBegin {
                        gtid: maria(6),
                        standalone: false,
                    },
                ),
                ev(
                    240,
                    300,
                    EventKind::AnnotateRows {
                        sql: "INSERT INTO docs VALUES (1, '{}', 'n')".into(),
                    },
                ),
                ev(300, 350, EventKind::TableMap(Arc::clone(&docs))),
                ev(350, 420, rows(RowsKind::Insert, &docs, vec![insert(1)])),
                ev(420, 451, EventKind::Xid { xid: 1 }),
                ev(
                    451,
                    491,
                    EventKind::TransactionBegin {
                        gtid: maria(7),
                        standalone: false,
                    },
                ),
                ev(491, 540, EventKind::TableMap(Arc::clone(&docs))),
                ev(540, 600, rows(RowsKind::Insert, &docs, vec![insert(2)])),
                ev(600, 631, EventKind::Xid { xid: 2 }),
            ],
        )
        .unwrap();
        let sources: Vec<(Option<i64>, Option<String>, Option<String>)> = items
            .iter()
            .filter_map(|i| match i {
                StreamItem::Change { event, .. } => match &event.source.position {
                    Position::Binlog {
                        flavor: BinlogFlavor::MariaDb,
                        thread,
                        query,
                        gtid,
                        ..
                    } => Some((*thread, query.clone(), gtid.clone())),
                    other => panic!("{other:?}"),
                },
                _ => None,
            })
            .collect();
        let annotated = include_query.then(|| "INSERT INTO docs VALUES (1, '{}', 'n')".to_owned());
        assert_eq!(
            sources,
            vec![
                (None, annotated, Some("0-1-6".into())),
                (None, None, Some("0-1-7".into())),
            ],
            "include_query = {include_query}"
        );
    }
}

/// Column filters and a key override (Debezium's `column.exclude.list` and
/// `message.key.columns`): events of `shop.docs` without `doc`, keyed by `name`.
struct NoDocKeyedByName;

impl crate::stream::ColumnSelection for NoDocKeyedByName {
    fn included(&self, _: &cdc_model::TableId, column: &str) -> bool {
        column != "doc"
    }

    fn key(&self, _: &cdc_model::TableId, columns: &[&str]) -> Option<Vec<usize>> {
        columns.iter().position(|c| *c == "name").map(|i| vec![i])
    }
}

#[test]
fn column_filters_and_key_overrides_shape_stream_events() {
    let config = StreamConfig {
        columns: Arc::new(NoDocKeyedByName),
        ..config()
    };
    let offset = start();
    let completed = Completed::parse(offset.gtids.as_deref(), BinlogFlavor::MySql).unwrap();
    let mut m = Machine::new(config, schemas(), &offset, completed);
    let docs = docs_map();
    let update = |id, from: &str, to: &str| RowChange {
        before: Some(doc_row(id, json!({"n": 1}), from)),
        after: Some(doc_row(id, json!({"n": 2}), to)),
    };
    let items = run(
        &mut m,
        vec![
            ev(
                200,
                279,
                EventKind::TransactionBegin {
                    gtid: Some(gtid(6)),
                    standalone: false,
                },
            ),
            ev(279, 350, EventKind::Begin { thread_id: 3 }),
            ev(350, 400, EventKind::TableMap(Arc::clone(&docs))),
            ev(400, 450, rows(RowsKind::Insert, &docs, vec![insert(1)])),
            // The primary key is unchanged but the configured key (`name`) changes: a delete
            // and a create, as Debezium does for a change of the message key.
            ev(
                450,
                520,
                rows(
                    RowsKind::Update,
                    &docs,
                    vec![update(1, "n", "m"), update(1, "m", "m")],
                ),
            ),
            ev(520, 551, EventKind::Xid { xid: 1 }),
        ],
    )
    .unwrap();
    let changes: Vec<_> = items
        .iter()
        .filter_map(|i| match i {
            StreamItem::Change {
                event, key_header, ..
            } => Some((event, key_header)),
            _ => None,
        })
        .collect();
    assert_eq!(changes.len(), 4, "{items:?}");
    let schema = &changes[0].0.table;
    let names: Vec<&str> = schema.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["id", "name"]);
    assert_eq!(schema.key, [1]);
    assert_eq!(
        changes[0].0.after,
        Some(vec![Value::Int32(1), Value::String("n".into())])
    );
    let ops: Vec<Op> = changes.iter().map(|(e, _)| e.op).collect();
    assert_eq!(ops, [Op::Create, Op::Delete, Op::Create, Op::Update]);
    assert_eq!(
        changes[1].1.as_ref().map(|h| (h.name, h.row.clone())),
        Some((
            "__debezium.newkey",
            vec![Value::Int32(1), Value::String("m".into())]
        ))
    );
}

#[test]
fn a_key_column_the_filters_exclude_is_refused() {
    struct NoId;
    impl crate::stream::ColumnSelection for NoId {
        fn included(&self, _: &cdc_model::TableId, column: &str) -> bool {
            column != "id"
        }
        fn key(&self, _: &cdc_model::TableId, _: &[&str]) -> Option<Vec<usize>> {
            None
        }
    }
    let config = StreamConfig {
        columns: Arc::new(NoId),
        ..config()
    };
    let offset = start();
    let completed = Completed::parse(offset.gtids.as_deref(), BinlogFlavor::MySql).unwrap();
    let mut m = Machine::new(config, schemas(), &offset, completed);
    let err = run(
        &mut m,
        vec![
            ev(
                200,
                279,
                EventKind::TransactionBegin {
                    gtid: Some(gtid(6)),
                    standalone: false,
                },
            ),
            ev(279, 350, EventKind::Begin { thread_id: 3 }),
            ev(350, 400, EventKind::TableMap(docs_map())),
        ],
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("shop.docs") && err.contains("column id") && err.contains("excluded"),
        "{err}"
    );
}
