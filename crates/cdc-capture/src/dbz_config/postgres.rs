//! The PostgreSQL connector's own options (`io.debezium.connector.postgresql.PostgresConnector`);
//! the shared ones are in [`super::options`].

use super::options::Kind::*;
use super::options::Rule::{self, *};

const SNAPSHOT_MODES: &[&str] = &[
    "initial",
    "initial_only",
    "no_data",
    "never",
    "when_needed",
    "always",
];
/// libpq's modes except `allow` (plaintext first).
const SSL_MODES: &[&str] = &["disable", "prefer", "require", "verify-ca", "verify-full"];
const PUBLICATION_MODES: &[&str] = &["all_tables", "disabled", "filtered", "no_tables"];

/// `(option, our path, Debezium's default)` where our TOML default differs.
pub const DEBEZIUM_DEFAULTS: &[(&str, &str, &str)] = &[
    ("slot.name", "source.slot_name", "debezium"),
    (
        "publication.name",
        "source.publication_name",
        "dbz_publication",
    ),
    (
        "publication.autocreate.mode",
        "source.publication_autocreate_mode",
        "all_tables",
    ),
];

/// Options Debezium requires (besides `connector.class`).
pub const REQUIRED: &[&str] = &[
    "topic.prefix",
    "database.hostname",
    "database.user",
    "database.dbname",
];

/// PostgreSQL options with an exact name.
pub const OPTIONS: &[(&str, Rule)] = &[
    // --- connection ---
    ("database.dbname", Map("source.database", Str)),
    ("database.sslmode", Map("source.ssl_mode", Enum(SSL_MODES))),
    ("database.sslcert", Map("source.ssl_cert", Str)),
    ("database.sslkey", Map("source.ssl_key", Str)),
    ("database.sslpassword", Reject("encrypted client keys are not supported: give database.sslkey an unencrypted PEM key (e.g. from a secrets mount)")),
    ("database.sslrootcert", Map("source.ssl_root_cert", Str)),
    ("database.sslfactory", Reject("JDBC SSL socket factories do not apply: use database.sslmode and database.sslrootcert")),
    ("database.tcpKeepAlive", Ignore("TCP keepalive settings of the JDBC driver do not apply")),
    // --- slot and publication ---
    ("plugin.name", Special),
    ("slot.name", Map("source.slot_name", Str)),
    ("publication.name", Map("source.publication_name", Str)),
    ("publication.autocreate.mode", Map("source.publication_autocreate_mode", Enum(PUBLICATION_MODES))),
    ("publish.via.partition.root", Only(&["false"], "publishing partition changes under the root table is not supported")),
    ("slot.drop.on.stop", Only(&["false"], "dropping the slot on every stop loses the changes made while stopped")),
    ("slot.stream.params", Only(&[""], "extra pgoutput stream parameters are not supported")),
    ("slot.failover", Ignore("failover slots are not created; the slot is a regular logical slot")),
    ("slot.max.retries", Ignore("a busy slot is retried for up to one minute")),
    ("slot.retry.delay.ms", Ignore("a busy slot is retried every 500 ms")),
    ("status.update.interval.ms", Ignore("the replication status is sent every second")),
    ("replica.identity.autoset.values", Reject("cdc-capture does not change REPLICA IDENTITY of tables; set it with ALTER TABLE")),
    ("flush.lsn.source", Only(&["true"], "cdc-capture always confirms acknowledged LSNs to the slot")),
    ("lsn.flush.mode", Ignore("acknowledged LSNs are always confirmed to the slot")),
    ("lsn.flush.timeout.ms", Ignore("LSN confirmation has no timeout")),
    ("lsn.flush.timeout.action", Ignore("LSN confirmation has no timeout")),
    ("offset.mismatch.strategy", Ignore("the resume position is the offsets topic (or the checkpoint file); a lost slot stops the capture")),
    ("xmin.fetch.interval.ms", Ignore("the slot's xmin is not tracked")),
    // --- what is captured ---
    ("schema.include.list", Map("source.schema_include_list", Str)),
    ("schema.exclude.list", Map("source.schema_exclude_list", Str)),
    ("column.include.list", Map("source.column_include_list", Str)),
    ("column.exclude.list", Map("source.column_exclude_list", Str)),
    ("message.key.columns", Map("source.message_key_columns", Str)),
    ("signal.data.collection", Map("source.signal_data_collection", Str)),
    ("schema.whitelist", Reject("renamed; use schema.include.list")),
    ("schema.blacklist", Reject("renamed; use schema.exclude.list")),
    ("message.prefix.include.list", Reject("message prefix filters are not supported; every logical decoding message is emitted (op=m)")),
    ("message.prefix.exclude.list", Reject("message prefix filters are not supported; every logical decoding message is emitted (op=m)")),
    // --- snapshot ---
    ("snapshot.mode", Map("snapshot.mode", Enum(SNAPSHOT_MODES))),
    ("snapshot.isolation.mode", Ignore("the snapshot always reads the slot's exported snapshot (REPEATABLE READ), consistent with the stream")),
    ("snapshot.locking.mode", Only(&["none", "shared"], "the snapshot takes no table locks (the exported snapshot makes them unnecessary)")),
    ("snapshot.lock.timeout.ms", Ignore("the snapshot takes no table locks")),
    ("incremental.snapshot.chunk.size", Map("snapshot.incremental_chunk_size", Int)),
    // --- values ---
    ("time.precision.mode", Map("values.time_precision_mode", Enum(&["adaptive", "adaptive_time_microseconds", "connect"]))),
    ("interval.handling.mode", Map("values.interval_handling_mode", Enum(&["numeric", "string"]))),
    ("hstore.handling.mode", Map("values.hstore_handling_mode", Enum(&["json", "map"]))),
    ("money.fraction.digits", Map("values.money_fraction_digits", Int)),
    ("unavailable.value.placeholder", Map("values.unavailable_value_placeholder", Str)),
    ("include.unknown.datatypes", Only(&["false"], "columns of unknown types are left out of events; passing them through is not supported")),
    ("schema.refresh.mode", Ignore("schemas are refreshed from each pgoutput Relation message")),
    // --- events ---
    ("heartbeat.action.query", Map("events.heartbeat_action_query", Str)),
];

/// PostgreSQL options recognised by their prefix.
pub const PREFIXES: &[(&str, Rule)] = &[(
    "schema.history.internal.",
    Ignore("the PostgreSQL connector keeps no schema history"),
)];

/// PostgreSQL options validated by hand.
pub fn special(key: &str, value: &str, _warnings: &mut Vec<String>, problems: &mut Vec<String>) {
    match key {
        "plugin.name" => match value.to_ascii_lowercase().as_str() {
            "pgoutput" => {}
            "decoderbufs" => problems.push(
                "plugin.name=decoderbufs is not supported: cdc-capture decodes pgoutput only; \
                 set plugin.name=pgoutput (the output is the same)"
                    .into(),
            ),
            _ => problems.push(format!(
                "plugin.name={value} is not supported: cdc-capture decodes pgoutput only"
            )),
        },
        _ => problems.push(format!("{key}: no handler (bug)")),
    }
}
