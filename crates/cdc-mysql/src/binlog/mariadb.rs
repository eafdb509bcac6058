//! MariaDB event types that mysql_common does not decode (160–171), parsed
//! from the event body (`Event::data()`: header and checksum removed) with
//! checked reads: truncated or malformed input is an error, never a panic.
//!
//! Layouts (MariaDB `sql/log_event.h`, KB "GTID_EVENT", "GTID_LIST_EVENT"):
//! - GTID (162): `seq_no u64, domain_id u32, flags2 u8`, then `commit_id u64`
//!   if `FL_GROUP_COMMIT_ID`, else 6 zero bytes; XA and extra flags may follow.
//! - GTID_LIST (163): `count u32` (low 28 bits; high 4 bits are flags), then
//!   `count × (domain_id u32, server_id u32, seq_no u64)`; an empty list is
//!   followed by two zero bytes (observed on 10.11).
//! - BINLOG_CHECKPOINT (161): `name_len u32, name`.
//! - ANNOTATE_ROWS (160): the statement text.

use super::position::MariaGtid;

/// ANNOTATE_ROWS_EVENT: the SQL statement of the following row events.
pub const ANNOTATE_ROWS: u8 = 160;
/// BINLOG_CHECKPOINT_EVENT.
pub const BINLOG_CHECKPOINT: u8 = 161;
/// GTID_EVENT: starts an event group (transaction or standalone statement).
pub const GTID: u8 = 162;
/// GTID_LIST_EVENT: the binlog state at the start of a file.
pub const GTID_LIST: u8 = 163;
/// START_ENCRYPTION_EVENT: the rest of the file is encrypted.
pub const START_ENCRYPTION: u8 = 164;
/// QUERY_COMPRESSED_EVENT (`log_bin_compress=ON`).
pub const QUERY_COMPRESSED: u8 = 165;
/// Last of the compressed rows events (166–171).
pub const LAST_ROWS_COMPRESSED: u8 = 171;

/// GTID flag: a standalone statement (DDL, non-transactional) with no BEGIN/COMMIT.
pub const FL_STANDALONE: u8 = 1;
/// GTID flag: a commit id follows.
pub const FL_GROUP_COMMIT_ID: u8 = 2;

/// A decoded MariaDB GTID event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MariaGtidEvent {
    /// The GTID; its server id comes from the event header.
    pub gtid: MariaGtid,
    /// `flags2` (see the `FL_*` constants).
    pub flags: u8,
    /// Group commit id, when `FL_GROUP_COMMIT_ID` is set.
    pub commit_id: Option<u64>,
}

impl MariaGtidEvent {
    /// A single statement with no BEGIN and no XID/COMMIT (DDL, or DML on a
    /// non-transactional table): the group ends with its one Query event.
    pub fn standalone(&self) -> bool {
        self.flags & FL_STANDALONE != 0
    }
}

/// Bounds-checked little-endian reads.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).filter(|&end| end <= self.buf.len());
        let Some(end) = end else {
            return Err(format!(
                "truncated: {what} needs {n} bytes at offset {}, body has {}",
                self.pos,
                self.buf.len()
            ));
        };
        let bytes = &self.buf[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    fn u8(&mut self, what: &str) -> Result<u8, String> {
        Ok(self.take(1, what)?[0])
    }

    fn u32(&mut self, what: &str) -> Result<u32, String> {
        let mut b = [0u8; 4];
        b.copy_from_slice(self.take(4, what)?);
        Ok(u32::from_le_bytes(b))
    }

    fn u64(&mut self, what: &str) -> Result<u64, String> {
        let mut b = [0u8; 8];
        b.copy_from_slice(self.take(8, what)?);
        Ok(u64::from_le_bytes(b))
    }

    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }
}

/// Parses a GTID event body; `server_id` is the event header's.
pub fn parse_gtid(body: &[u8], server_id: u32) -> Result<MariaGtidEvent, String> {
    let mut r = Reader::new(body);
    let sequence = r.u64("seq_no")?;
    let domain_id = r.u32("domain_id")?;
    let flags = r.u8("flags2")?;
    let commit_id = if flags & FL_GROUP_COMMIT_ID != 0 {
        Some(r.u64("commit_id")?)
    } else {
        r.take(6, "padding")?;
        None
    };
    Ok(MariaGtidEvent {
        gtid: MariaGtid {
            domain_id,
            server_id,
            sequence,
        },
        flags,
        commit_id,
    })
}

/// Parses a GTID_LIST event body: one GTID per (domain, server) pair.
pub fn parse_gtid_list(body: &[u8]) -> Result<Vec<MariaGtid>, String> {
    let mut r = Reader::new(body);
    let count = r.u32("count")? & 0x0fff_ffff;
    // Each entry is 16 bytes; check before allocating for a bogus count.
    let needed = u64::from(count) * 16;
    if needed > r.remaining() as u64 {
        return Err(format!(
            "truncated: {count} GTIDs need {needed} bytes, body has {} after the count",
            r.remaining()
        ));
    }
    let mut gtids = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let domain_id = r.u32("domain_id")?;
        let server_id = r.u32("server_id")?;
        let sequence = r.u64("seq_no")?;
        gtids.push(MariaGtid {
            domain_id,
            server_id,
            sequence,
        });
    }
    // MariaDB pads an empty list with two zero bytes; anything else is garbage.
    let rest = r.take(r.remaining(), "padding")?;
    if rest.iter().any(|&b| b != 0) {
        return Err(format!(
            "{} bytes left after {count} GTIDs, not zero padding",
            rest.len()
        ));
    }
    Ok(gtids)
}

/// Parses a BINLOG_CHECKPOINT event body: the oldest binlog file still needed
/// for crash recovery.
pub fn parse_checkpoint(body: &[u8]) -> Result<String, String> {
    let mut r = Reader::new(body);
    let len = r.u32("name length")? as usize;
    let name = r.take(len, "file name")?;
    String::from_utf8(name.to_vec()).map_err(|e| format!("file name is not UTF-8: {e}"))
}

/// An ANNOTATE_ROWS event body: the statement, lossily decoded as UTF-8
/// (it is informational; row data never comes from it).
pub fn parse_annotate_rows(body: &[u8]) -> String {
    String::from_utf8_lossy(body).into_owned()
}

/// The name of a MariaDB-specific event type, for errors.
pub fn event_name(event_type: u8) -> Option<&'static str> {
    Some(match event_type {
        ANNOTATE_ROWS => "ANNOTATE_ROWS_EVENT",
        BINLOG_CHECKPOINT => "BINLOG_CHECKPOINT_EVENT",
        GTID => "GTID_EVENT",
        GTID_LIST => "GTID_LIST_EVENT",
        START_ENCRYPTION => "START_ENCRYPTION_EVENT",
        QUERY_COMPRESSED => "QUERY_COMPRESSED_EVENT",
        166 => "WRITE_ROWS_COMPRESSED_EVENT_V1",
        167 => "UPDATE_ROWS_COMPRESSED_EVENT_V1",
        168 => "DELETE_ROWS_COMPRESSED_EVENT_V1",
        169 => "WRITE_ROWS_COMPRESSED_EVENT",
        170 => "UPDATE_ROWS_COMPRESSED_EVENT",
        171 => "DELETE_ROWS_COMPRESSED_EVENT",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GTID 0-1-6, flags 0x0c (transactional, allow parallel), 6 bytes padding.
    const GTID_BODY: [u8; 19] = [
        6, 0, 0, 0, 0, 0, 0, 0, // seq_no
        0, 0, 0, 0,    // domain 0
        0x0c, // flags2
        0, 0, 0, 0, 0, 0, // padding
    ];

    #[test]
    fn gtid_event() {
        let e = parse_gtid(&GTID_BODY, 1).unwrap();
        assert_eq!(e.gtid.to_string(), "0-1-6");
        assert_eq!(e.flags, 0x0c);
        assert_eq!(e.commit_id, None);
        assert!(!e.standalone());
    }

    #[test]
    fn gtid_event_with_commit_id_and_trailing_extras() {
        let mut body = vec![0x2a, 0x01, 0, 0, 0, 0, 0, 0]; // seq 298
        body.extend_from_slice(&7u32.to_le_bytes()); // domain 7
        body.push(FL_STANDALONE | FL_GROUP_COMMIT_ID | 32);
        body.extend_from_slice(&99u64.to_le_bytes());
        body.push(0); // flags_extra (10.5+) — not interpreted
        let e = parse_gtid(&body, 42).unwrap();
        assert_eq!(e.gtid.to_string(), "7-42-298");
        assert_eq!(e.commit_id, Some(99));
        assert!(e.standalone());
    }

    #[test]
    fn truncated_gtid_is_an_error() {
        for len in 0..GTID_BODY.len() {
            let err = parse_gtid(&GTID_BODY[..len], 1).unwrap_err();
            assert!(err.starts_with("truncated"), "{len}: {err}");
        }
        let mut with_commit = GTID_BODY;
        with_commit[12] = FL_GROUP_COMMIT_ID;
        let err = parse_gtid(&with_commit[..15], 1).unwrap_err();
        assert!(err.contains("commit_id"), "{err}");
    }

    fn gtid_list_body(gtids: &[(u32, u32, u64)], flags: u32) -> Vec<u8> {
        let mut body = ((gtids.len() as u32) | (flags << 28))
            .to_le_bytes()
            .to_vec();
        for &(d, s, n) in gtids {
            body.extend_from_slice(&d.to_le_bytes());
            body.extend_from_slice(&s.to_le_bytes());
            body.extend_from_slice(&n.to_le_bytes());
        }
        body
    }

    #[test]
    fn gtid_list_event() {
        assert!(parse_gtid_list(&[0, 0, 0, 0]).unwrap().is_empty());
        let body = gtid_list_body(&[(0, 1, 6), (1, 2, 9)], 0b0001);
        let list = parse_gtid_list(&body).unwrap();
        let text: Vec<String> = list.iter().map(ToString::to_string).collect();
        assert_eq!(text, ["0-1-6", "1-2-9"]);
    }

    #[test]
    fn malformed_gtid_list() {
        let body = gtid_list_body(&[(0, 1, 6), (1, 2, 9)], 0);
        for len in 0..body.len() {
            assert!(parse_gtid_list(&body[..len]).is_err(), "{len}");
        }
        let mut extra = body.clone();
        extra.push(1);
        assert!(parse_gtid_list(&extra).unwrap_err().contains("left"));
        // As written by MariaDB 10.11 for an empty list: count 0 + 2 zero bytes.
        assert!(parse_gtid_list(&[0, 0, 0, 0, 0, 0]).unwrap().is_empty());
        assert!(parse_gtid_list(&[0, 0, 0, 0, 0, 7]).is_err());
        // A huge count is refused before allocating.
        let err = parse_gtid_list(&[0xff, 0xff, 0xff, 0x0f, 1, 2]).unwrap_err();
        assert!(err.starts_with("truncated"), "{err}");
    }

    #[test]
    fn checkpoint_and_annotate() {
        let mut body = 18u32.to_le_bytes().to_vec();
        body.extend_from_slice(b"mariadb-bin.000001");
        assert_eq!(parse_checkpoint(&body).unwrap(), "mariadb-bin.000001");
        assert!(parse_checkpoint(&body[..10]).is_err());
        assert!(parse_checkpoint(&[1, 0]).is_err());
        let mut bad = 1u32.to_le_bytes().to_vec();
        bad.push(0xff);
        assert!(parse_checkpoint(&bad).unwrap_err().contains("UTF-8"));
        assert_eq!(
            parse_annotate_rows(b"INSERT INTO t VALUES (1)"),
            "INSERT INTO t VALUES (1)"
        );
        assert_eq!(event_name(166), Some("WRITE_ROWS_COMPRESSED_EVENT_V1"));
        assert_eq!(event_name(30), None);
    }
}
