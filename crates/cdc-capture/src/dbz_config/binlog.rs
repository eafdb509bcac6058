//! The MySQL and MariaDB connectors' own options (`io.debezium.connector.mysql.MySqlConnector`,
//! `io.debezium.connector.mariadb.MariaDbConnector`; Debezium's `BinlogConnectorConfig`,
//! `MySqlConnectorConfig`, `MariaDbConnectorConfig` and the Kafka schema history), and the
//! ones whose values are checked by hand. The shared options are in [`super::options`].
//!
//! Options the PostgreSQL capture supports but the MySQL / MariaDB capture does not
//! (`snapshot.locking.mode=none` on MySQL) are refused here with the Debezium name;
//! `CaptureConfig::validate` refuses their TOML keys.

use toml::Value;

use super::options::Kind::*;
use super::options::Rule::{self, *};
use super::{insert, Connector};

/// Options Debezium requires (besides `connector.class`).
pub const REQUIRED: &[&str] = &[
    "topic.prefix",
    "database.hostname",
    "database.user",
    "database.server.id",
];

/// MySQL / MariaDB options with an exact name.
pub const OPTIONS: &[(&str, Rule)] = &[
    // --- connection ---
    ("database.server.id", Special),
    ("database.server.id.offset", Ignore("snapshot connections are ordinary client connections and need no server id")),
    ("database.ssl.mode", Special),
    ("database.ssl.keystore", Special),
    ("database.ssl.keystore.password", Ignore("the client certificate and key are read from an unencrypted PEM file (source.ssl_cert / source.ssl_key), which has no password")),
    ("database.ssl.truststore", Special),
    ("database.ssl.truststore.password", Ignore("the trusted CAs are read from a PEM file (source.ssl_root_cert), which has no password")),
    ("database.dbname", Ignore("the MySQL / MariaDB connectors read every database; select them with database.include.list")),
    ("connect.timeout.ms", Ignore("connection attempts are not cut short by cdc-capture (the operating system's TCP timeout applies)")),
    ("connect.keep.alive", Ignore("the binlog connection is kept alive by server heartbeats and reconnected by restarting cdc-capture")),
    ("connect.keep.alive.interval.ms", Ignore("the binlog connection is kept alive by server heartbeats and reconnected by restarting cdc-capture")),
    ("use.nongraceful.disconnect", Ignore("the binlog connection is closed normally")),
    ("binlog.net.write.timeout", Ignore("the server's net_write_timeout applies")),
    ("binlog.net.read.timeout", Ignore("the server's net_read_timeout applies")),
    ("binlog.buffer.size", Ignore("transactions are emitted as the binlog records them")),
    ("min.row.count.to.stream.results", Ignore("snapshot rows are read in primary-key chunks of snapshot.fetch.size rows")),
    ("ddl.parser.type", Quiet(&["default"], "DDL statements are parsed by cdc-capture's own MySQL parser")),
    // --- what is captured ---
    ("database.include.list", Map("source.database_include_list", Str)),
    ("database.exclude.list", Map("source.database_exclude_list", Str)),
    ("database.whitelist", Reject("renamed; use database.include.list")),
    ("database.blacklist", Reject("renamed; use database.exclude.list")),
    ("schema.include.list", Reject("MySQL / MariaDB have no schemas; select databases with database.include.list")),
    ("schema.exclude.list", Reject("MySQL / MariaDB have no schemas; select databases with database.exclude.list")),
    ("column.include.list", Map("source.column_include_list", Str)),
    ("column.exclude.list", Map("source.column_exclude_list", Str)),
    ("message.key.columns", Map("source.message_key_columns", Str)),
    ("signal.data.collection", Map("source.signal_data_collection", Str)),
    ("gtid.source.includes", Reject("GTID source filters are not supported: every transaction of the captured tables is emitted; remove the option")),
    ("gtid.source.excludes", Reject("GTID source filters are not supported: every transaction of the captured tables is emitted; remove the option")),
    ("gtid.source.filter.dml.events", Accept),
    ("gtid.ignore.on.recovery", Quiet(&["false"], "the stored GTID set is always used to resume when the server has GTIDs")),
    ("include.query", Map("source.include_query", Bool)),
    ("include.schema.changes", Map("source.include_schema_changes", Bool)),
    ("resolve.create.table.like.schema", Accept),
    // --- snapshot ---
    ("snapshot.mode", Special),
    ("snapshot.locking.mode", Special),
    ("snapshot.lock.timeout.ms", Ignore("the snapshot waits for its locks without a timeout of its own (the server's lock_wait_timeout applies)")),
    ("snapshot.new.tables", Reject("removed from Debezium; new tables are captured from their CREATE TABLE in the binlog")),
    ("incremental.snapshot.chunk.size", Map("snapshot.incremental_chunk_size", Int)),
    // --- values ---
    ("time.precision.mode", Map("values.time_precision_mode", Enum(&["adaptive_time_microseconds", "connect"]))),
    ("bigint.unsigned.handling.mode", Map("source.bigint_unsigned_handling_mode", Enum(&["long", "precise"]))),
    ("enable.time.adjuster", Map("source.enable_time_adjuster", Bool)),
    ("unavailable.value.placeholder", Ignore("binlog_row_image=FULL is required, so every value is available")),
    ("inconsistent.schema.handling.mode", Only(&["fail"], "a row of a table whose schema is unknown stops the capture; it is never skipped")),
    ("event.deserialization.failure.handling.mode", Only(&["fail"], "a binlog event that cannot be decoded stops the capture; it is never skipped")),
    // --- events ---
    ("heartbeat.action.query", Reject("heartbeat action queries are not run for MySQL / MariaDB; remove the option (the binlog position advances with every server event and heartbeats are emitted every heartbeat.interval.ms without it)")),
    // --- schema history ---
    ("schema.history.internal", Special),
    ("schema.history.internal.kafka.topic", Map("source.schema_history_topic", Str)),
    // Translated with `kafka.bootstrap.servers` (see `super::translate`).
    ("schema.history.internal.kafka.bootstrap.servers", Accept),
    ("schema.history.internal.skip.unparseable.ddl", Quiet(&["false"], "a DDL statement cdc-capture cannot parse stops the capture (naming the statement); it is never skipped")),
    ("schema.history.internal.store.only.captured.tables.ddl", Quiet(&["false"], "the schema history keeps the DDL of every table, so tables added to the filters later have their schema")),
    ("schema.history.internal.store.only.captured.databases.ddl", Quiet(&["false"], "the schema history keeps the DDL of every database, so databases added to the filters later have their schema")),
    ("schema.history.internal.ddl.filter", Ignore("housekeeping statements are skipped by cdc-capture's own list")),
    ("schema.history.internal.name", Ignore("the schema history is identified by its topic")),
];

/// MySQL / MariaDB options recognised by their prefix.
pub const PREFIXES: &[(&str, Rule)] = &[
    ("schema.history.internal.", Ignore("the schema history is read and written with the capture's own Kafka clients (kafka.properties)")),
    ("database.history.", Reject("renamed in Debezium 2.0; use schema.history.internal.*")),
];

const KAFKA_HISTORY: &str = "io.debezium.storage.kafka.history.KafkaSchemaHistory";

/// Options of the MySQL / MariaDB connectors checked by hand; `table` receives the mapped
/// value.
pub fn special(
    connector: Connector,
    key: &str,
    value: &str,
    table: &mut toml::Table,
    warnings: &mut Vec<String>,
    problems: &mut Vec<String>,
) {
    let lower = value.to_ascii_lowercase();
    match key {
        "database.server.id" => match value.parse::<u32>() {
            Ok(id) if id > 0 => insert(table, "source.server_id", Value::Integer(id.into())),
            _ => problems.push(format!(
                "database.server.id: {value:?} is not a server id (1 to 4294967295, unique \
                 among the server's replicas)"
            )),
        },
        "database.ssl.mode" => ssl_mode(connector, &lower, table, problems),
        "database.ssl.truststore" => {
            pem_store(key, value, &["source.ssl_root_cert"], table, problems)
        }
        "database.ssl.keystore" => pem_store(
            key,
            value,
            &["source.ssl_cert", "source.ssl_key"],
            table,
            problems,
        ),
        "snapshot.mode" => snapshot_mode(&lower, table, warnings, problems),
        "snapshot.locking.mode" => locking_mode(connector, &lower, table, problems),
        "schema.history.internal" => {
            if value != KAFKA_HISTORY {
                warnings.push(format!(
                    "schema.history.internal={value} is ignored: cdc-capture keeps the schema \
                     history in the Kafka topic schema.history.internal.kafka.topic (default \
                     schema-history.<topic.prefix>)"
                ));
            }
        }
        _ => problems.push(format!("{key}: no handler (bug)")),
    }
}

/// Debezium's TLS modes: MySQL's (`disabled`, `preferred`, `required`, `verify_ca`,
/// `verify_identity`) and MariaDB's (`disable`, `trust`, `verify-ca`, `verify-full`).
fn ssl_mode(connector: Connector, mode: &str, table: &mut toml::Table, problems: &mut Vec<String>) {
    let (modes, verify_ca, verify_full): (&[(&str, &str)], &str, &str) = match connector {
        Connector::MariaDb => (
            &[
                ("disable", "disable"),
                ("trust", "require"),
                ("verify-full", "verify_full"),
            ],
            "verify-ca",
            "verify-full",
        ),
        _ => (
            &[
                ("disabled", "disable"),
                ("preferred", "prefer"),
                ("required", "require"),
                ("verify_identity", "verify_full"),
            ],
            "verify_ca",
            "verify_identity",
        ),
    };
    if let Some((_, ours)) = modes.iter().find(|(theirs, _)| *theirs == mode) {
        insert(table, "source.ssl_mode", Value::String((*ours).into()));
    } else if mode == verify_ca {
        problems.push(format!(
            "database.ssl.mode={mode} is not supported for MySQL / MariaDB (the chain cannot \
             be checked without the host name); use database.ssl.mode={verify_full} with a \
             server certificate that names database.hostname"
        ));
    } else {
        let supported: Vec<&str> = modes.iter().map(|(theirs, _)| *theirs).collect();
        problems.push(format!(
            "database.ssl.mode: {mode:?} is not a mode of this connector (supported: {}, \
             and {verify_ca} refused)",
            supported.join(", ")
        ));
    }
}

/// `database.ssl.truststore` / `keystore`: a PEM file maps onto `paths` (the CA bundle; the
/// client certificate and its key, both in one file); a Java keystore cannot be read.
fn pem_store(
    key: &str,
    path: &str,
    paths: &[&str],
    table: &mut toml::Table,
    problems: &mut Vec<String>,
) {
    let lower = path.to_ascii_lowercase();
    let java = [
        ".jks",
        ".p12",
        ".pfx",
        ".pkcs12",
        ".keystore",
        ".truststore",
    ]
    .iter()
    .any(|ext| lower.ends_with(ext));
    let pem = !java
        && std::fs::read(path).is_ok_and(|bytes| {
            String::from_utf8_lossy(&bytes[..bytes.len().min(4096)]).contains("-----BEGIN ")
        });
    if pem {
        for target in paths {
            insert(table, target, Value::String(path.into()));
        }
        return;
    }
    let (what, how) = if key == "database.ssl.truststore" {
        (
            "the CA certificates",
            "keytool -exportcert -rfc -alias <ca> -keystore <truststore> > ca.pem",
        )
    } else {
        (
            "the client certificate and its unencrypted key",
            "openssl pkcs12 -in <keystore.p12> -nodes -out client.pem",
        )
    };
    problems.push(format!(
        "{key}={path}: not a readable PEM file; cdc-capture cannot read Java keystores \
         (JKS / PKCS#12): export {what} as PEM ({how}) and give that file's path"
    ));
}

fn snapshot_mode(
    mode: &str,
    table: &mut toml::Table,
    warnings: &mut Vec<String>,
    problems: &mut Vec<String>,
) {
    let ours = match mode {
        "initial" | "initial_only" | "no_data" | "when_needed" | "always" => mode,
        "schema_only" => {
            warnings.push(
                "snapshot.mode=schema_only was renamed no_data in Debezium 3.0; no_data is used"
                    .into(),
            );
            "no_data"
        }
        "recovery" | "schema_only_recovery" => {
            return problems.push(format!(
                "snapshot.mode={mode} is not supported: a lost schema history cannot be \
                 rebuilt from the current schemas; start a new capture (new topic.prefix or \
                 offsets) with initial or no_data"
            ))
        }
        "never" => {
            return problems.push(
                "snapshot.mode=never (read the binlog from its first file without any \
                 snapshot) is not supported; use no_data to capture the schemas and stream \
                 from the current position"
                    .into(),
            )
        }
        other => {
            return problems.push(format!(
                "snapshot.mode={other} is not supported (supported: initial, initial_only, \
                 no_data, when_needed, always)"
            ))
        }
    };
    insert(table, "snapshot.mode", Value::String(ours.to_owned()));
}

fn locking_mode(
    connector: Connector,
    mode: &str,
    table: &mut toml::Table,
    problems: &mut Vec<String>,
) {
    let ours = match (mode, connector) {
        ("minimal", _) => "minimal",
        ("none", Connector::MariaDb) => "none",
        ("none", _) => {
            return problems.push(
                "snapshot.locking.mode=none is not supported for MySQL: the snapshot needs a \
                 lock to read a binlog position consistent with its rows; use minimal (needs \
                 the RELOAD privilege), or without RELOAD set \
                 CDC_CAPTURE__SNAPSHOT__LOCKING_MODE=tables (LOCK TABLES … READ on the \
                 captured tables)"
                    .into(),
            )
        }
        ("extended", _) => {
            return problems.push(
                "snapshot.locking.mode=extended is not supported: writes are blocked only \
                 while the snapshot starts (the rows are read in one consistent InnoDB \
                 snapshot); use minimal"
                    .into(),
            )
        }
        ("minimal_percona" | "minimal_percona_no_table_locks", Connector::MySql) => {
            return problems.push(format!(
                "snapshot.locking.mode={mode} is not supported: Percona backup locks are not \
                 used; use minimal"
            ))
        }
        (other, _) => {
            return problems.push(format!(
                "snapshot.locking.mode={other} is not supported (supported: minimal{})",
                if connector == Connector::MariaDb {
                    ", none"
                } else {
                    ""
                }
            ))
        }
    };
    insert(
        table,
        "snapshot.locking_mode",
        Value::String(ours.to_owned()),
    );
}
