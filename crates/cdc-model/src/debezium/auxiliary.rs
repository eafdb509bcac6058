//! Debezium's auxiliary records, beside row changes: transaction metadata (`<prefix>.transaction`),
//! heartbeats (`__debezium-heartbeat.<prefix>`), the same for every connector, and PostgreSQL logical-decoding messages
//! (`<prefix>.message`, op `m`). Schemas follow Debezium 3.6's `SchemaFactory` and
//! `PostgresSchemaFactory`; the JSON layout is Kafka's `JsonConverter` with schemas enabled.

use std::sync::LazyLock;

use base64::Engine as _;
use serde_json::{json, Value as Json};

use super::encode::{split_ns, transaction_field_schema, transaction_json};
use super::source::{postgres_source_schema, source_payload};
use crate::{SourceInfo, TransactionBlock};

/// A Kafka record: key and value bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuxRecord {
    pub key: Vec<u8>,
    pub value: Vec<u8>,
}

/// `prefix` + `payload` + `}`: a JsonConverter record whose schema part is precomputed.
fn wrap(prefix: &str, payload: &Json) -> Vec<u8> {
    let mut out = Vec::with_capacity(prefix.len() + 128);
    out.extend_from_slice(prefix.as_bytes());
    // Serialising a serde_json::Value into memory cannot fail.
    serde_json::to_writer(&mut out, payload).unwrap_or_default();
    out.push(b'}');
    out
}

fn prefix(schema: &Json) -> String {
    format!("{{\"schema\":{schema},\"payload\":")
}

fn field(ty: &str, optional: bool, name: &str) -> Json {
    json!({"type": ty, "optional": optional, "field": name})
}

static TX_KEY: LazyLock<String> = LazyLock::new(|| {
    prefix(&json!({
        "type": "struct", "fields": [field("string", false, "id")], "optional": false,
        "name": "io.debezium.connector.common.TransactionMetadataKey", "version": 1,
    }))
});

static TX_VALUE: LazyLock<String> = LazyLock::new(|| {
    prefix(&json!({
        "type": "struct",
        "fields": [
            field("string", false, "status"),
            field("string", false, "id"),
            field("int64", true, "event_count"),
            {"type": "array", "items": {
                "type": "struct",
                "fields": [field("string", false, "data_collection"), field("int64", false, "event_count")],
                "optional": true, "name": "event.collection", "version": 1,
             }, "optional": true, "field": "data_collections"},
            field("int64", false, "ts_ms"),
        ],
        "optional": false, "name": "io.debezium.connector.common.TransactionMetadataValue",
        "version": 1,
    }))
});

/// Debezium's transaction id of a MySQL / MariaDB transaction: its GTID, or
/// `file=<binlog file>,pos=<position of its BEGIN event>` when the server writes no GTIDs
/// (`BinlogOffsetContext.NON_GTID_TRANSACTION_ID_FORMAT`). BEGIN, END and every event of the
/// transaction carry the same id.
pub fn binlog_transaction_id(gtid: Option<&str>, file: &str, begin_pos: u64) -> String {
    match gtid {
        Some(gtid) => gtid.to_owned(),
        None => format!("file={file},pos={begin_pos}"),
    }
}

/// The BEGIN record of a transaction on the transaction topic.
pub fn transaction_begin(id: &str, commit_ts_ms: i64) -> AuxRecord {
    AuxRecord {
        key: wrap(&TX_KEY, &json!({ "id": id })),
        value: wrap(
            &TX_VALUE,
            &json!({"status": "BEGIN", "id": id, "event_count": null,
                    "data_collections": null, "ts_ms": commit_ts_ms}),
        ),
    }
}

/// The END record of a transaction: total events and events per data collection
/// (PostgreSQL `schema.table`, MySQL/MariaDB `db.table`), in order of first appearance.
pub fn transaction_end(
    id: &str,
    commit_ts_ms: i64,
    event_count: u64,
    per_collection: &[(String, u64)],
) -> AuxRecord {
    let collections: Vec<Json> = per_collection
        .iter()
        .map(|(c, n)| json!({"data_collection": c, "event_count": n}))
        .collect();
    AuxRecord {
        key: wrap(&TX_KEY, &json!({ "id": id })),
        value: wrap(
            &TX_VALUE,
            &json!({"status": "END", "id": id, "event_count": event_count,
                    "data_collections": collections, "ts_ms": commit_ts_ms}),
        ),
    }
}

static HEARTBEAT_KEY: LazyLock<String> = LazyLock::new(|| {
    prefix(&json!({
        "type": "struct", "fields": [field("string", false, "serverName")], "optional": false,
        "name": "io.debezium.connector.common.ServerNameKey", "version": 1,
    }))
});

static HEARTBEAT_VALUE: LazyLock<String> = LazyLock::new(|| {
    prefix(&json!({
        "type": "struct", "fields": [field("int64", false, "ts_ms")], "optional": false,
        "name": "io.debezium.connector.common.Heartbeat", "version": 1,
    }))
});

/// A heartbeat record (Debezium sends it to partition 0 of the heartbeat topic).
pub fn heartbeat(server_name: &str, ts_ms: i64) -> AuxRecord {
    AuxRecord {
        key: wrap(&HEARTBEAT_KEY, &json!({ "serverName": server_name })),
        value: wrap(&HEARTBEAT_VALUE, &json!({ "ts_ms": ts_ms })),
    }
}

static MESSAGE_KEY: LazyLock<String> = LazyLock::new(|| {
    prefix(&json!({
        "type": "struct", "fields": [field("string", true, "prefix")], "optional": false,
        "name": "io.debezium.connector.postgresql.MessageKey", "version": 1,
    }))
});

static MESSAGE_VALUE: LazyLock<String> = LazyLock::new(|| {
    prefix(&json!({
        "type": "struct",
        "fields": [
            field("string", false, "op"),
            field("int64", true, "ts_ms"),
            postgres_source_schema(),
            transaction_field_schema(),
            {"type": "struct",
             "fields": [field("string", true, "prefix"), field("bytes", true, "content")],
             "optional": false, "name": "io.debezium.connector.postgresql.Message", "version": 1,
             "field": "message"},
        ],
        "optional": false, "name": "io.debezium.connector.postgresql.MessageValue", "version": 1,
    }))
});

/// A logical-decoding message (`pg_logical_emit_message`) as Debezium's op `m` record.
/// `ts_ns` is the processing time; `source` has empty schema and table.
pub fn logical_message(
    source: &SourceInfo,
    transaction: Option<&TransactionBlock>,
    message_prefix: &str,
    content: &[u8],
    ts_ns: i64,
) -> AuxRecord {
    let (ms, _, _) = split_ns(ts_ns);
    let content = base64::engine::general_purpose::STANDARD.encode(content);
    AuxRecord {
        key: wrap(&MESSAGE_KEY, &json!({ "prefix": message_prefix })),
        value: wrap(
            &MESSAGE_VALUE,
            &json!({
                "op": "m", "ts_ms": ms,
                "source": source_payload(source, "", None),
                "transaction": transaction_json(transaction),
                "message": {"prefix": message_prefix, "content": content},
            }),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Position, SnapshotMarker};

    /// Payloads of real Debezium 3.6.3 output (reference App. A.3).
    #[test]
    fn payloads_match_debezium() {
        let payload = |bytes: &[u8]| -> Json {
            serde_json::from_slice::<Json>(bytes).unwrap()["payload"].clone()
        };
        let b = transaction_begin("732:22234592", 1795307390690);
        assert_eq!(
            payload(&b.value).to_string(),
            r#"{"status":"BEGIN","id":"732:22234592","event_count":null,"data_collections":null,"ts_ms":1795307390690}"#
        );
        assert_eq!(payload(&b.key).to_string(), r#"{"id":"732:22234592"}"#);
        let e = transaction_end(
            "732:22234888",
            1795307390690,
            2,
            &[("public.customers".into(), 2)],
        );
        assert_eq!(
            payload(&e.value).to_string(),
            r#"{"status":"END","id":"732:22234888","event_count":2,"data_collections":[{"data_collection":"public.customers","event_count":2}],"ts_ms":1795307390690}"#
        );
        let h = heartbeat("dbserver1", 1795307374121);
        assert_eq!(payload(&h.key).to_string(), r#"{"serverName":"dbserver1"}"#);
        assert_eq!(payload(&h.value).to_string(), r#"{"ts_ms":1795307374121}"#);
        let source = SourceInfo {
            version: "3.6.3.Final".into(),
            name: "dbserver1".into(),
            db: "postgres".into(),
            ts_us: 1795307390690277,
            snapshot: SnapshotMarker::False,
            position: Position::Postgres {
                lsn: 22235256,
                last_commit_lsn: Some(22235256),
                tx_id: None,
            },
        };
        let m = logical_message(&source, None, "bar", b"world", 1_795_307_391_207_000_000);
        assert_eq!(payload(&m.key).to_string(), r#"{"prefix":"bar"}"#);
        assert_eq!(
            payload(&m.value).to_string(),
            r#"{"op":"m","ts_ms":1795307391207,"source":{"version":"3.6.3.Final","connector":"postgresql","name":"dbserver1","ts_ms":1795307390690,"snapshot":"false","db":"postgres","sequence":"[\"22235256\",\"22235256\"]","ts_us":1795307390690277,"ts_ns":1795307390690277000,"schema":"","table":"","txId":null,"lsn":22235256,"xmin":null,"origin":null,"origin_lsn":null},"transaction":null,"message":{"prefix":"bar","content":"d29ybGQ="}}"#
        );
    }
}
