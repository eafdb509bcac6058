//! [`BinlogOffset`]: where a change stream (re)starts — Debezium's MySQL offset map — and the
//! completed GTID set it carries ([`Completed`]).

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value as Json};

use super::StreamError;
use crate::binlog::{FilePosition, Gtid, MariaGtidList, MySqlGtidSet, StartPosition};
use cdc_model::event::BinlogFlavor;

/// Where a binlog reader (re)starts and how much of the first transaction to skip —
/// Debezium's MySQL offset map (`gtids`, `file`, `pos`, `event`, `row`), serde-serialisable.
///
/// Inside a transaction `file`/`pos` is the transaction's first event (its GTID event, or
/// `BEGIN`), `event` counts its events already handled and `row` the rows of the next rows
/// event already published; `gtids` is the set completed *before* the transaction. After a
/// transaction, `file`/`pos` is the position after its last event, `event` = `row` = 0 and
/// `gtids` includes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BinlogOffset {
    /// Completed GTID set (MySQL set text / MariaDB GTID list text); `None` without GTIDs.
    pub gtids: Option<String>,
    /// File + position of the start of the transaction to resume in (or after the last
    /// completed event outside a transaction).
    pub file: String,
    pub pos: u64,
    /// Events of that transaction already published (to skip on restart).
    pub event: u64,
    /// Rows of the next rows event already published (to skip).
    pub row: u64,
    /// Server id and binlog timestamp (seconds) of the last event (Debezium `server_id`, `ts_sec`).
    pub server_id: u32,
    pub ts_sec: i64,
}

impl BinlogOffset {
    /// The offset of a position between transactions (e.g. a snapshot's), with the GTIDs
    /// completed there (`None` to resume by file and position).
    pub fn between_transactions(position: &FilePosition, gtids: Option<String>) -> BinlogOffset {
        BinlogOffset {
            gtids,
            file: position.file.clone(),
            pos: position.pos,
            event: 0,
            row: 0,
            server_id: 0,
            ts_sec: 0,
        }
    }

    /// Whether the offset points into a transaction (events or rows to skip).
    pub fn in_transaction(&self) -> bool {
        self.event > 0 || self.row > 0
    }

    /// The offset as Debezium's offset map (`BinlogOffsetContext.offsetUsingPosition`):
    /// `server_id` (if ≠0), `gtids` (if any), `file`, `pos`, `event` (if ≠0), `row` (if ≠0),
    /// `ts_sec`.
    pub fn to_map(&self) -> Map<String, Json> {
        let mut m = Map::new();
        if self.server_id != 0 {
            m.insert("server_id".into(), json!(self.server_id));
        }
        if let Some(gtids) = &self.gtids {
            m.insert("gtids".into(), json!(gtids));
        }
        m.insert("file".into(), json!(self.file));
        m.insert("pos".into(), json!(self.pos));
        if self.event != 0 {
            m.insert("event".into(), json!(self.event));
        }
        if self.row != 0 {
            m.insert("row".into(), json!(self.row));
        }
        m.insert("ts_sec".into(), json!(self.ts_sec));
        m
    }

    /// Reads a Debezium offset map (as [`BinlogOffset::to_map`] writes it, or as Debezium's
    /// MySQL/MariaDB connector stored it).
    pub fn from_map(map: &Map<String, Json>) -> Result<BinlogOffset, StreamError> {
        let bad = |reason: String| StreamError::Offset { reason };
        let number = |key: &str| -> Result<u64, StreamError> {
            match map.get(key) {
                None | Some(Json::Null) => Ok(0),
                Some(Json::Number(n)) => n
                    .as_u64()
                    .ok_or_else(|| bad(format!("`{key}` = {n} is not a non-negative integer"))),
                Some(Json::String(s)) => s
                    .parse()
                    .map_err(|_| bad(format!("`{key}` = {s:?} is not a non-negative integer"))),
                Some(other) => Err(bad(format!("`{key}` = {other} is not a number"))),
            }
        };
        let file = match map.get("file") {
            Some(Json::String(f)) => f.clone(),
            _ => return Err(bad("the offset has no binlog `file`".into())),
        };
        let gtids = match map.get("gtids") {
            None | Some(Json::Null) => None,
            Some(Json::String(g)) => Some(g.replace('\n', "")),
            Some(other) => return Err(bad(format!("`gtids` = {other} is not a string"))),
        };
        let server_id = u32::try_from(number("server_id")?)
            .map_err(|_| bad("`server_id` exceeds 2^32-1".into()))?;
        let ts_sec =
            i64::try_from(number("ts_sec")?).map_err(|_| bad("`ts_sec` exceeds 2^63-1".into()))?;
        Ok(BinlogOffset {
            gtids,
            file,
            pos: number("pos")?,
            event: number("event")?,
            row: number("row")?,
            server_id,
            ts_sec,
        })
    }
}

/// The GTIDs completed so far, in the server's flavor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Completed {
    /// The offset has no GTIDs: positions are file + position only.
    None,
    MariaDb(MariaGtidList),
    MySql(MySqlGtidSet),
}

impl Completed {
    /// Parses an offset's `gtids` for `flavor`.
    pub(crate) fn parse(
        gtids: Option<&str>,
        flavor: BinlogFlavor,
    ) -> Result<Completed, StreamError> {
        let bad = |e: crate::binlog::PositionError| StreamError::Offset {
            reason: e.to_string(),
        };
        Ok(match (gtids, flavor) {
            (None, _) => Completed::None,
            (Some(text), BinlogFlavor::MariaDb) => Completed::MariaDb(text.parse().map_err(bad)?),
            (Some(text), BinlogFlavor::MySql) => Completed::MySql(text.parse().map_err(bad)?),
        })
    }

    /// Adds a transaction's GTID. A GTID of the other flavor is an error; GTIDs are ignored
    /// when the offset tracks none (file + position positions).
    pub(crate) fn add(&mut self, gtid: &Gtid) -> Result<(), String> {
        match (self, gtid) {
            (Completed::None, _) => Ok(()),
            (Completed::MariaDb(list), Gtid::MariaDb(g)) => {
                list.update(*g);
                Ok(())
            }
            (Completed::MySql(set), Gtid::MySql(g)) => {
                set.add(g);
                Ok(())
            }
            (Completed::MariaDb(_), Gtid::MySql(g)) => {
                Err(format!("MySQL GTID {g} in a MariaDB GTID position"))
            }
            (Completed::MySql(_), Gtid::MariaDb(g)) => {
                Err(format!("MariaDB GTID {g} in a MySQL GTID set"))
            }
        }
    }

    /// The text stored in [`BinlogOffset::gtids`].
    pub(crate) fn text(&self) -> Option<String> {
        match self {
            Completed::None => None,
            Completed::MariaDb(list) => Some(list.to_string()),
            Completed::MySql(set) => Some(set.to_string()),
        }
    }

    /// Where a dump resuming at `offset` starts: after these GTIDs, else at its file/pos.
    pub(crate) fn start(&self, offset: &BinlogOffset) -> StartPosition {
        match self {
            Completed::None => {
                StartPosition::File(FilePosition::new(offset.file.clone(), offset.pos))
            }
            Completed::MariaDb(list) => StartPosition::MariaDbGtids(list.clone()),
            Completed::MySql(set) => StartPosition::MySqlGtids(set.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offset() -> BinlogOffset {
        BinlogOffset {
            gtids: Some("0-1-6,1-2-9".into()),
            file: "mariadb-bin.000002".into(),
            pos: 1234,
            event: 3,
            row: 2,
            server_id: 1,
            ts_sec: 1_700_000_000,
        }
    }

    #[test]
    fn offset_map_round_trips_with_debezium_keys() {
        let o = offset();
        let map = o.to_map();
        let keys: Vec<&str> = map.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "server_id",
                "gtids",
                "file",
                "pos",
                "event",
                "row",
                "ts_sec"
            ]
        );
        assert_eq!(BinlogOffset::from_map(&map).unwrap(), o);
        let between = BinlogOffset::between_transactions(&FilePosition::new("f.000001", 4), None);
        let map = between.to_map();
        assert_eq!(
            map.keys().map(String::as_str).collect::<Vec<_>>(),
            ["file", "pos", "ts_sec"]
        );
        assert!(!between.in_transaction());
        assert!(o.in_transaction());
    }

    #[test]
    fn debezium_offset_maps_are_read() {
        let map: Map<String, Json> = serde_json::from_str(
            r#"{"ts_sec":1700000000,"file":"mysql-bin.000003","pos":"154","row":1,
                "server_id":223344,"event":2,
                "gtids":"3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5,\n4e11fa47-71ca-11e1-9e33-c80aa9429562:1"}"#,
        )
        .unwrap();
        let o = BinlogOffset::from_map(&map).unwrap();
        assert_eq!(o.pos, 154);
        assert_eq!((o.event, o.row, o.server_id), (2, 1, 223344));
        assert!(!o.gtids.as_deref().unwrap().contains('\n'));
        let c = Completed::parse(o.gtids.as_deref(), BinlogFlavor::MySql).unwrap();
        assert!(matches!(c.start(&o), StartPosition::MySqlGtids(_)));
        let mut missing = map.clone();
        missing.remove("file");
        assert!(BinlogOffset::from_map(&missing)
            .unwrap_err()
            .to_string()
            .contains("file"));
        let mut negative = map;
        negative.insert("pos".into(), json!(-1));
        assert!(BinlogOffset::from_map(&negative).is_err());
    }

    #[test]
    fn completed_gtids_grow_per_flavor() {
        use crate::binlog::{MariaGtid, MySqlGtid, MySqlSource};
        let mut maria = Completed::parse(Some("0-1-6"), BinlogFlavor::MariaDb).unwrap();
        maria
            .add(&Gtid::MariaDb(MariaGtid {
                domain_id: 0,
                server_id: 1,
                sequence: 7,
            }))
            .unwrap();
        maria
            .add(&Gtid::MariaDb(MariaGtid {
                domain_id: 2,
                server_id: 5,
                sequence: 1,
            }))
            .unwrap();
        assert_eq!(maria.text().as_deref(), Some("0-1-7,2-5-1"));

        let uuid = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
        let mut mysql =
            Completed::parse(Some(&format!("{uuid}:1-5")), BinlogFlavor::MySql).unwrap();
        let gtid_of = |gno| MySqlGtid {
            source: MySqlSource {
                uuid: uuid.parse().unwrap(),
                tag: None,
            },
            gno,
        };
        let gtid = gtid_of(6);
        mysql.add(&Gtid::MySql(gtid.clone())).unwrap();
        assert_eq!(mysql.text(), Some(format!("{uuid}:1-6")));
        mysql.add(&Gtid::MySql(gtid_of(8))).unwrap();
        assert_eq!(mysql.text(), Some(format!("{uuid}:1-6:8")));
        assert!(maria.add(&Gtid::MySql(gtid)).is_err());

        let mut none = Completed::parse(None, BinlogFlavor::MySql).unwrap();
        assert!(none
            .add(&Gtid::MariaDb(MariaGtid {
                domain_id: 0,
                server_id: 1,
                sequence: 1
            }))
            .is_ok());
        assert_eq!(none.text(), None);
        assert!(Completed::parse(Some("nonsense"), BinlogFlavor::MariaDb).is_err());
    }
}
