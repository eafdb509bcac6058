//! The `source` block of Debezium records: its Connect schema and its payload, per connector.
//!
//! All connectors share Debezium's common part (`SchemaFactory.sourceInfoSchemaBuilder`,
//! `AbstractSourceInfoStructMaker.commonStruct`): `version, connector, name, ts_ms, snapshot,
//! db, sequence, ts_us, ts_ns`. Then
//! - PostgreSQL (`PostgresSourceInfoStructMaker`): `schema, table, txId, lsn, xmin, origin,
//!   origin_lsn`;
//! - MySQL and MariaDB (`BinlogSourceInfoStructMaker`, one layout for both connectors; only the
//!   schema name `io.debezium.connector.{mysql,mariadb}.Source` and `connector` differ):
//!   `table, server_id, gtid, file, pos, row, thread, query`. The binlog connectors leave
//!   `sequence` null (`BinlogSourceInfo` does not override `sequence()`).
//!
//! Source schemas have `version` 1 (since Debezium 3.1). The `snapshot` field is an
//! `io.debezium.data.Enum` whose default `"false"` the converter writes for the null that
//! streaming events carry.

use std::sync::LazyLock;

use serde_json::{json, Map, Value as Json};

use crate::{BinlogFlavor, Position, SnapshotMarker, SourceInfo};

const SNAPSHOT_ALLOWED: &str =
    "true,first,first_in_data_collection,last_in_data_collection,last,false,incremental";

pub(super) fn plain_field(ty: &str, optional: bool, field: &str) -> Json {
    json!({"type": ty, "optional": optional, "field": field})
}

/// The common fields every connector's source schema starts with.
fn common_fields() -> Vec<Json> {
    let f = plain_field;
    vec![
        f("string", false, "version"),
        f("string", false, "connector"),
        f("string", false, "name"),
        f("int64", false, "ts_ms"),
        json!({"type": "string", "optional": true, "name": "io.debezium.data.Enum", "version": 1,
               "parameters": {"allowed": SNAPSHOT_ALLOWED}, "default": "false",
               "field": "snapshot"}),
        f("string", false, "db"),
        f("string", true, "sequence"),
        f("int64", true, "ts_us"),
        f("int64", true, "ts_ns"),
    ]
}

fn source_struct(fields: Vec<Json>, connector: &str) -> Json {
    json!({
        "type": "struct", "fields": fields, "optional": false,
        "name": format!("io.debezium.connector.{connector}.Source"), "version": 1,
        "field": "source",
    })
}

/// Schema of the PostgreSQL `source` field (`io.debezium.connector.postgresql.Source`).
pub(super) fn postgres_source_schema() -> Json {
    let f = plain_field;
    let mut fields = common_fields();
    fields.extend([
        f("string", false, "schema"),
        f("string", false, "table"),
        f("int64", true, "txId"),
        f("int64", true, "lsn"),
        f("int64", true, "xmin"),
        f("string", true, "origin"),
        f("int64", true, "origin_lsn"),
    ]);
    source_struct(fields, "postgresql")
}

/// Schema of the MySQL / MariaDB `source` field (`io.debezium.connector.<connector>.Source`,
/// `BinlogSourceInfoStructMaker`), as the field `source` of an enclosing struct.
pub fn binlog_source_schema(flavor: BinlogFlavor) -> Json {
    let f = plain_field;
    let mut fields = common_fields();
    fields.extend([
        f("string", true, "table"),
        f("int64", false, "server_id"),
        f("string", true, "gtid"),
        f("string", false, "file"),
        f("int64", false, "pos"),
        f("int32", false, "row"),
        f("int64", true, "thread"),
        f("string", true, "query"),
    ]);
    source_struct(fields, flavor.connector())
}

/// Schema of the `source` field for events at `position`, serialised once per connector.
pub(super) fn source_schema_text(position: &Position) -> &'static str {
    static POSTGRES: LazyLock<String> = LazyLock::new(|| postgres_source_schema().to_string());
    static MYSQL: LazyLock<String> =
        LazyLock::new(|| binlog_source_schema(BinlogFlavor::MySql).to_string());
    static MARIADB: LazyLock<String> =
        LazyLock::new(|| binlog_source_schema(BinlogFlavor::MariaDb).to_string());
    match position {
        Position::Postgres { .. } => &POSTGRES,
        Position::Binlog {
            flavor: BinlogFlavor::MySql,
            ..
        } => &MYSQL,
        Position::Binlog {
            flavor: BinlogFlavor::MariaDb,
            ..
        } => &MARIADB,
    }
}

/// The Connect schema of the `source` field for events at `position` (the connector follows
/// from the position), as the field `source` of an enclosing struct.
pub fn source_schema(position: &Position) -> Json {
    match position {
        Position::Postgres { .. } => postgres_source_schema(),
        Position::Binlog { flavor, .. } => binlog_source_schema(*flavor),
    }
}

/// The payload of the `source` block of `s`.
///
/// - `schema`: PostgreSQL `source.schema` (the binlog connectors have no such field: their
///   `source.db` is the table's database).
/// - `table`: `source.table`. PostgreSQL renders `None` as `""` (logical-decoding messages);
///   the binlog connectors render it as null (schema changes that name no table, such as
///   `CREATE DATABASE`; a statement about several tables names them comma-separated).
pub fn source_payload(s: &SourceInfo, schema: &str, table: Option<&str>) -> Json {
    let mut m = Map::new();
    m.insert("version".into(), json!(s.version));
    m.insert("connector".into(), json!(s.position.connector()));
    m.insert("name".into(), json!(s.name));
    m.insert("ts_ms".into(), json!(s.ts_us.div_euclid(1000)));
    m.insert("snapshot".into(), json!(s.snapshot.as_str()));
    m.insert("db".into(), json!(s.db));
    match &s.position {
        Position::Postgres {
            lsn,
            last_commit_lsn,
            tx_id,
        } => {
            let sequence = json!([last_commit_lsn.map(|l| l.to_string()), lsn.to_string()]);
            m.insert("sequence".into(), Json::String(sequence.to_string()));
            insert_micros(&mut m, s.ts_us);
            m.insert("schema".into(), json!(schema));
            m.insert("table".into(), json!(table.unwrap_or("")));
            // Debezium leaves txId and lsn out of incremental-snapshot reads.
            let incremental = s.snapshot == SnapshotMarker::Incremental;
            let unless_incremental = |v: Json| if incremental { Json::Null } else { v };
            m.insert("txId".into(), unless_incremental(json!(tx_id)));
            m.insert("lsn".into(), unless_incremental(json!(lsn)));
            m.insert("xmin".into(), Json::Null);
            m.insert("origin".into(), Json::Null);
            m.insert("origin_lsn".into(), Json::Null);
        }
        Position::Binlog {
            flavor: _,
            server_id,
            gtid,
            file,
            pos,
            row,
            thread,
            query,
        } => {
            m.insert("sequence".into(), Json::Null);
            insert_micros(&mut m, s.ts_us);
            m.insert("table".into(), json!(table));
            m.insert("server_id".into(), json!(server_id));
            m.insert("gtid".into(), json!(gtid));
            m.insert("file".into(), json!(file));
            m.insert("pos".into(), json!(pos));
            m.insert("row".into(), json!(row));
            m.insert("thread".into(), json!(thread));
            m.insert("query".into(), json!(query));
        }
    }
    Json::Object(m)
}

/// `ts_us` and `ts_ns` of the same instant as `ts_ms` (source times have microsecond
/// precision at most, so `ts_ns` is `ts_us` × 1000).
fn insert_micros(m: &mut Map<String, Json>, ts_us: i64) {
    m.insert("ts_us".into(), json!(ts_us));
    m.insert("ts_ns".into(), json!(ts_us.saturating_mul(1000)));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The schema `BinlogSourceInfoTest.shouldHaveCorrectSchema` (debezium-connector-binlog,
    /// v3.6.1.Final) expects: field names, types and optionality in order, name and version.
    #[test]
    fn binlog_source_schema_is_debeziums() {
        let expected = [
            ("version", "string", false),
            ("connector", "string", false),
            ("name", "string", false),
            ("ts_ms", "int64", false),
            ("snapshot", "string", true),
            ("db", "string", false),
            ("sequence", "string", true),
            ("ts_us", "int64", true),
            ("ts_ns", "int64", true),
            ("table", "string", true),
            ("server_id", "int64", false),
            ("gtid", "string", true),
            ("file", "string", false),
            ("pos", "int64", false),
            ("row", "int32", false),
            ("thread", "int64", true),
            ("query", "string", true),
        ];
        for flavor in [BinlogFlavor::MySql, BinlogFlavor::MariaDb] {
            let schema = binlog_source_schema(flavor);
            let fields: Vec<(&str, &str, bool)> = schema["fields"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| {
                    (
                        f["field"].as_str().unwrap(),
                        f["type"].as_str().unwrap(),
                        f["optional"].as_bool().unwrap(),
                    )
                })
                .collect();
            assert_eq!(fields, expected);
            assert_eq!(
                schema["name"],
                format!("io.debezium.connector.{}.Source", flavor.connector())
            );
            assert_eq!(schema["version"], 1);
            assert_eq!(schema["fields"][4]["name"], "io.debezium.data.Enum");
            assert_eq!(schema["fields"][4]["default"], "false");
        }
    }

    /// `commonStruct`: ts_ms/ts_us/ts_ns of one instant (floor division before the epoch),
    /// `thread`/`gtid`/`query`/`table` null when absent, `sequence` always null.
    #[test]
    fn binlog_source_payload_fields() {
        let source = SourceInfo {
            version: "3.6.3.Final".into(),
            name: "dbserver1".into(),
            db: "inventory".into(),
            ts_us: -1_500,
            snapshot: SnapshotMarker::Incremental,
            position: Position::Binlog {
                flavor: BinlogFlavor::MariaDb,
                server_id: 7,
                gtid: None,
                file: "mariadb-bin.000001".into(),
                pos: 4,
                row: 3,
                thread: None,
                query: None,
            },
        };
        let p = source_payload(&source, "ignored", None);
        assert_eq!(
            p.to_string(),
            r#"{"version":"3.6.3.Final","connector":"mariadb","name":"dbserver1","ts_ms":-2,"snapshot":"incremental","db":"inventory","sequence":null,"ts_us":-1500,"ts_ns":-1500000,"table":null,"server_id":7,"gtid":null,"file":"mariadb-bin.000001","pos":4,"row":3,"thread":null,"query":null}"#
        );
        assert_eq!(
            source_schema(&source.position),
            binlog_source_schema(BinlogFlavor::MariaDb)
        );
    }
}
