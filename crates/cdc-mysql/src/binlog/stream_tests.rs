//! The per-event checks of [`BinlogEvents`] on hand-built event fixtures.

use mysql_async::binlog::events::{BinlogEventFooter, FormatDescriptionEvent};
use mysql_async::binlog::BinlogVersion;

use super::*;
use crate::binlog::position::{Gtid, MariaGtid};

const FILE: &str = "mariadb-bin.000001";

/// A v4 event: header, body, and a CRC32 footer when `crc`.
fn raw_event(event_type: u8, log_pos: u32, body: &[u8], crc: bool) -> Vec<u8> {
    let size = 19 + body.len() + if crc { CRC_LEN } else { 0 };
    let mut bytes = Vec::with_capacity(size);
    bytes.extend_from_slice(&1_700_000_000u32.to_le_bytes());
    bytes.push(event_type);
    bytes.extend_from_slice(&1u32.to_le_bytes());
    bytes.extend_from_slice(&(size as u32).to_le_bytes());
    bytes.extend_from_slice(&log_pos.to_le_bytes());
    bytes.extend_from_slice(&0u16.to_le_bytes());
    bytes.extend_from_slice(body);
    if crc {
        let crc = crc32fast::hash(&bytes);
        bytes.extend_from_slice(&crc.to_le_bytes());
    }
    bytes
}

fn crc32_fde() -> FormatDescriptionEvent<'static> {
    FormatDescriptionEvent::new(BinlogVersion::Version4).with_footer(BinlogEventFooter::new(
        BinlogChecksumAlg::BINLOG_CHECKSUM_ALG_CRC32,
    ))
}

/// Parses with checksums on (as after the stream's FORMAT_DESCRIPTION).
fn event(bytes: &[u8]) -> Event {
    Event::read(&crc32_fde(), bytes).expect("fixture parses")
}

fn stream() -> BinlogEvents {
    BinlogEvents {
        inner: None,
        flavor: Flavor::MariaDb,
        server_crc32: true,
        file: FILE.into(),
        pos: 4,
        seen_format_description: true,
        tables: Tables::default(),
        expect_payload: None,
        payload_at: None,
    }
}

/// MariaDB GTID 0-1-6 (transactional), 19-byte body.
fn gtid_body() -> Vec<u8> {
    let mut body = 6u64.to_le_bytes().to_vec();
    body.extend_from_slice(&0u32.to_le_bytes());
    body.push(0x0c);
    body.extend_from_slice(&[0; 6]);
    body
}

#[test]
fn mariadb_gtid_event_with_its_position() {
    let mut s = stream();
    let e = s
        .accept(&event(&raw_event(162, 400, &gtid_body(), true)))
        .unwrap();
    assert_eq!(
        e.kind,
        EventKind::TransactionBegin {
            gtid: Some(Gtid::MariaDb(MariaGtid {
                domain_id: 0,
                server_id: 1,
                sequence: 6
            })),
            standalone: false
        }
    );
    assert_eq!(
        (e.at.file.as_str(), e.at.start_pos, e.at.end_pos),
        (FILE, 358, 400)
    );
    assert_eq!(e.at.timestamp, 1_700_000_000);
    assert_eq!(s.position(), FilePosition::new(FILE, 400));
}

#[test]
fn checksum_mismatch_is_fatal_and_names_the_position() {
    let mut bytes = raw_event(162, 400, &gtid_body(), true);
    bytes[19] ^= 0x01; // a body byte, after the CRC was computed
    let err = stream().accept(&event(&bytes)).unwrap_err();
    match &err {
        BinlogError::Checksum { event_type, at, .. } => {
            assert_eq!(*event_type, 162);
            assert_eq!(at, &FilePosition::new(FILE, 358));
        }
        other => panic!("{other}"),
    }
    assert!(err.to_string().contains("mariadb-bin.000001:358"), "{err}");
}

#[test]
fn unknown_event_type_is_fatal() {
    let err = stream()
        .accept(&event(&raw_event(200, 500, &[1, 2, 3], true)))
        .unwrap_err();
    assert!(
        matches!(&err, BinlogError::UnknownEvent { event_type: 200, at } if at.pos == 474),
        "{err}"
    );
    assert!(err.to_string().contains("refusing to skip"), "{err}");
}

#[test]
fn truncated_mariadb_gtid_is_a_decode_error() {
    let err = stream()
        .accept(&event(&raw_event(162, 400, &gtid_body()[..5], true)))
        .unwrap_err();
    match &err {
        BinlogError::Decode { what, reason, .. } => {
            assert_eq!(what, "GTID_EVENT");
            assert!(reason.starts_with("truncated"), "{reason}");
        }
        other => panic!("{other}"),
    }
}

#[test]
fn encryption_is_refused_and_bad_compressed_events_are_errors() {
    let err = stream()
        .accept(&event(&raw_event(164, 600, &[0; 12], true)))
        .unwrap_err();
    assert!(
        matches!(
            &err,
            BinlogError::Unsupported {
                event_type: 164,
                ..
            }
        ),
        "{err}"
    );
    for code in [165u8, 166, 171] {
        let err = stream()
            .accept(&event(&raw_event(code, 600, &[0; 12], true)))
            .unwrap_err();
        assert!(matches!(&err, BinlogError::Decode { .. }), "{code}: {err}");
    }
}

fn rotate_body(name: &str) -> Vec<u8> {
    let mut body = 4u64.to_le_bytes().to_vec();
    body.extend_from_slice(name.as_bytes());
    body
}

#[test]
fn first_rotate_name_loses_its_crc_bytes_and_is_verified() {
    // Before any FORMAT_DESCRIPTION mysql_common knows of no checksum: the
    // CRC stays in the body.
    let plain = FormatDescriptionEvent::new(BinlogVersion::Version4);
    let bytes = raw_event(4, 0, &rotate_body("mariadb-bin.000002"), true);
    let raw = Event::read(&plain, &bytes[..]).unwrap();
    assert!(raw.data().ends_with(&bytes[bytes.len() - 4..]));
    let mut s = BinlogEvents {
        seen_format_description: false,
        file: String::new(),
        ..stream()
    };
    let e = s.accept(&raw).unwrap();
    assert_eq!(
        e.kind,
        EventKind::Rotate {
            file: "mariadb-bin.000002".into(),
            pos: 4,
            artificial: true
        }
    );
    assert_eq!(s.position(), FilePosition::new("mariadb-bin.000002", 4));

    let mut corrupt = bytes.clone();
    let last = corrupt.len() - 1;
    corrupt[last] ^= 0xff;
    let raw = Event::read(&plain, &corrupt[..]).unwrap();
    let mut s = BinlogEvents {
        seen_format_description: false,
        ..stream()
    };
    let err = s.accept(&raw).unwrap_err();
    assert!(
        matches!(err, BinlogError::Checksum { event_type: 4, .. }),
        "{err}"
    );
}

#[test]
fn a_payload_that_expanded_to_nothing_is_fatal() {
    let mut s = stream();
    s.expect_payload = Some(EventPosition {
        file: FILE.into(),
        start_pos: 700,
        end_pos: 900,
        server_id: 1,
        timestamp: 0,
    });
    // The next event is a regular (checksummed) XID, not an expanded one.
    let xid = raw_event(16, 931, &7u64.to_le_bytes(), true);
    let err = s.accept(&event(&xid)).unwrap_err();
    match &err {
        BinlogError::Decode { what, at, .. } => {
            assert_eq!(what, "TRANSACTION_PAYLOAD event");
            assert_eq!(at, &FilePosition::new(FILE, 700));
        }
        other => panic!("{other}"),
    }
}

#[test]
fn xid_and_query_events() {
    let mut s = stream();
    let e = s
        .accept(&event(&raw_event(16, 431, &7u64.to_le_bytes(), true)))
        .unwrap();
    assert_eq!(e.kind, EventKind::Xid { xid: 7 });
    assert_eq!(e.at.start_pos, 400);
}

#[test]
fn a_panic_in_the_driver_becomes_an_error() {
    // mysql_common's Event::read panics when the header announces more bytes
    // than the packet holds; the stream runs it under `guarded`.
    let mut bytes = raw_event(16, 431, &7u64.to_le_bytes(), true);
    bytes.truncate(25);
    let at = FilePosition::new(FILE, 400);
    let err = guarded(at.clone(), || {
        Event::read(&crc32_fde(), &bytes[..]).map_err(|e| BinlogError::Decode {
            what: "event".into(),
            at: at.clone(),
            reason: e.to_string(),
        })
    })
    .unwrap_err();
    assert!(
        matches!(&err, BinlogError::Panicked { at, .. } if at.pos == 400),
        "{err}"
    );
}

const UUID: &str = "3e11fa47-71ca-11e1-9e33-c80aa9429562";

/// MySQL 5.6-style GTID body: flags, SID, GNO.
fn mysql_gtid_body(uuid: uuid::Uuid, gno: u64) -> Vec<u8> {
    let mut body = vec![1u8];
    body.extend_from_slice(uuid.as_bytes());
    body.extend_from_slice(&gno.to_le_bytes());
    body
}

#[test]
fn mysql_gtid_and_anonymous_gtid_begin_transactions() {
    let uuid: uuid::Uuid = UUID.parse().unwrap();
    let mut s = BinlogEvents {
        flavor: Flavor::MySql,
        file: "binlog.000003".into(),
        ..stream()
    };
    let e = s
        .accept(&event(&raw_event(33, 300, &mysql_gtid_body(uuid, 7), true)))
        .unwrap();
    let EventKind::TransactionBegin {
        gtid: Some(gtid),
        standalone: false,
    } = &e.kind
    else {
        panic!("{:?}", e.kind);
    };
    assert_eq!(gtid.to_string(), format!("{UUID}:7"));
    let e = s
        .accept(&event(&raw_event(
            34,
            400,
            &mysql_gtid_body(uuid::Uuid::nil(), 0),
            true,
        )))
        .unwrap();
    assert_eq!(
        e.kind,
        EventKind::TransactionBegin {
            gtid: None,
            standalone: false
        }
    );
}

/// A QUERY body: thread id, no status variables.
fn query_body(thread_id: u32, schema: &str, sql: &str) -> Vec<u8> {
    let mut body = thread_id.to_le_bytes().to_vec();
    body.extend_from_slice(&0u32.to_le_bytes()); // exec time
    body.push(schema.len() as u8);
    body.extend_from_slice(&0u16.to_le_bytes()); // error code
    body.extend_from_slice(&0u16.to_le_bytes()); // status vars length
    body.extend_from_slice(schema.as_bytes());
    body.push(0);
    body.extend_from_slice(sql.as_bytes());
    body
}

#[test]
fn begin_commit_and_other_queries() {
    let mut s = stream();
    let kind = |s: &mut BinlogEvents, pos, schema, sql| {
        s.accept(&event(&raw_event(
            2,
            pos,
            &query_body(42, schema, sql),
            true,
        )))
        .unwrap()
        .kind
    };
    assert_eq!(
        kind(&mut s, 200, "", "BEGIN"),
        EventKind::Begin { thread_id: 42 }
    );
    assert_eq!(
        kind(&mut s, 300, "", "COMMIT"),
        EventKind::Commit { thread_id: 42 }
    );
    assert_eq!(
        kind(&mut s, 400, "shop", "ALTER TABLE t ADD c INT"),
        EventKind::Query {
            schema: "shop".into(),
            sql: "ALTER TABLE t ADD c INT".into(),
            thread_id: 42
        }
    );
}

#[test]
fn rows_without_a_table_map_are_an_error() {
    // WRITE_ROWS v1: table id 18, flags, 1 column, bitmap, one row (INT 5).
    let mut body = vec![18, 0, 0, 0, 0, 0, 1, 0, 1, 0x01];
    body.extend_from_slice(&[0x00, 5, 0, 0, 0]);
    let err = stream()
        .accept(&event(&raw_event(23, 500, &body, true)))
        .unwrap_err();
    match &err {
        BinlogError::Decode { what, reason, at } => {
            assert_eq!(what, "WRITE_ROWS event");
            assert!(
                reason.contains("table id 18 has no preceding TABLE_MAP"),
                "{reason}"
            );
            assert_eq!(at.file, FILE);
        }
        other => panic!("{other}"),
    }
}

/// A TRANSACTION_PAYLOAD body (uncompressed, algorithm NONE) around `payload`.
fn payload_body(payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u8; // < 251: one-byte length-encoded integer
    let mut body = vec![1, 1, len]; // payload size
    body.extend_from_slice(&[2, 3, 0xfc, 0xff, 0x00]); // compression type 255 = NONE
    body.extend_from_slice(&[3, 1, len]); // uncompressed size
    body.push(0); // end of header
    body.extend_from_slice(payload);
    body
}

#[test]
fn events_inside_a_transaction_payload_carry_its_position() {
    let mut s = BinlogEvents {
        flavor: Flavor::MySql,
        ..stream()
    };
    let inner_xid = raw_event(16, 0, &9u64.to_le_bytes(), false);
    let tpe = s
        .accept(&event(&raw_event(
            40,
            1000,
            &payload_body(&inner_xid),
            true,
        )))
        .unwrap();
    assert_eq!(
        tpe.kind,
        EventKind::TransactionPayload {
            uncompressed_size: inner_xid.len() as u64
        }
    );
    let (start, end) = (tpe.at.start_pos, tpe.at.end_pos);
    assert_eq!(end, 1000);
    // Expanded events are read with checksums off (WL#3549) and have no position.
    let mut unchecked = crc32_fde().footer();
    unchecked.set_checksum_enabled(false);
    let fde = crc32_fde().with_footer(unchecked);
    let inner = Event::read(&fde, &inner_xid[..]).unwrap();
    let e = s.accept(&inner).unwrap();
    assert_eq!(e.kind, EventKind::Xid { xid: 9 });
    assert_eq!((e.at.start_pos, e.at.end_pos), (start, end));
    // The next regular event is positioned by its own header again.
    let e = s
        .accept(&event(&raw_event(16, 1100, &10u64.to_le_bytes(), true)))
        .unwrap();
    assert_eq!((e.at.start_pos, e.at.end_pos), (1069, 1100));
    assert_eq!(s.position(), FilePosition::new(FILE, 1100));
}
