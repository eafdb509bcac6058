//! The binlog offset as the checkpoint stores it (`cdc.checkpoint.v1.BinlogOffset`) and as the
//! change stream uses it (`cdc_mysql::stream::BinlogOffset`): the same fields.

use cdc_mysql::binlog::FilePosition;
use cdc_mysql::stream::BinlogOffset;
use cdc_proto::checkpoint::v1::BinlogOffset as StoredOffset;
use serde_json::{Map, Value as Json};

use crate::CaptureError;

pub fn to_proto(o: &BinlogOffset) -> StoredOffset {
    StoredOffset {
        gtids: o.gtids.clone(),
        file: o.file.clone(),
        pos: o.pos,
        event: o.event,
        row: o.row,
        server_id: o.server_id,
        ts_sec: o.ts_sec,
    }
}

/// The stream offset of a stored one; `None` (no position yet) is an error.
pub fn from_proto(o: Option<&StoredOffset>) -> Result<BinlogOffset, CaptureError> {
    let o = o.ok_or_else(|| {
        CaptureError::Checkpoint("the stored MySQL position has no binlog offset".into())
    })?;
    Ok(BinlogOffset {
        gtids: o.gtids.clone(),
        file: o.file.clone(),
        pos: o.pos,
        event: o.event,
        row: o.row,
        server_id: o.server_id,
        ts_sec: o.ts_sec,
    })
}

/// The offset of a snapshot's position (between transactions).
pub fn snapshot_offset(position: &FilePosition, gtids: Option<String>) -> StoredOffset {
    to_proto(&BinlogOffset::between_transactions(position, gtids))
}

/// The `position` of the snapshot's schema history records (Debezium's offset map with
/// `snapshot: true`).
pub fn history_position(o: &StoredOffset) -> Map<String, Json> {
    let mut map = from_proto(Some(o)).map(|b| b.to_map()).unwrap_or_default();
    map.insert("snapshot".into(), Json::Bool(true));
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_and_stream_offsets_convert_both_ways() {
        let o = BinlogOffset {
            gtids: Some("0-1-42".into()),
            file: "mariadb-bin.000002".into(),
            pos: 4711,
            event: 3,
            row: 1,
            server_id: 1,
            ts_sec: 1_700_000_000,
        };
        assert_eq!(from_proto(Some(&to_proto(&o))).unwrap(), o);
        assert!(from_proto(None).is_err());
        let snap = snapshot_offset(&FilePosition::new("f.000001".to_string(), 4), None);
        assert_eq!(
            (snap.file.as_str(), snap.pos, snap.event),
            ("f.000001", 4, 0)
        );
        assert_eq!(history_position(&snap)["snapshot"], Json::Bool(true));
    }
}
