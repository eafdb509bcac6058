use std::path::PathBuf;

use cdc_model::debezium::{BinaryMode, DecimalMode, HstoreMode, IntervalMode, TimePrecisionMode};

use super::*;
use crate::config::{PublicationMode, SnapshotMode};
use crate::CaptureConfig;

pub(super) fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/debezium")
        .join(name)
}

/// The password `inventory.properties` reads through `${env:…}`.
pub(super) fn set_password() {
    std::env::set_var("CDC_DBZ_FIXTURE_PASSWORD", "pw-from-env");
}

/// Translates a fixture and types it as our configuration, with the environment overrides
/// `CDC_DBZ_FIXTURE__*` on top (as `CDC_CAPTURE__*` are in the binary).
pub(super) fn config(name: &str) -> (CaptureConfig, Vec<String>) {
    set_password();
    std::env::set_var(
        "CDC_DBZ_FIXTURE__KAFKA__BOOTSTRAP_SERVERS",
        "env-broker:9092",
    );
    std::env::set_var("CDC_DBZ_FIXTURE__STATE__DIR", "/var/lib/cdc");
    let translated = load(&fixture(name)).unwrap();
    let config = cdc_ops::load_config_from_table(translated.table, "CDC_DBZ_FIXTURE")
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    (config, translated.warnings)
}

#[test]
fn properties_file_maps_every_supported_option() {
    let (c, warnings) = config("inventory.properties");
    assert_eq!(c.topic_prefix, "dbserver1");
    let s = &c.source;
    assert_eq!((s.host.as_str(), s.port()), ("db.internal", 6543));
    assert_eq!(
        (s.user.as_str(), s.database.as_str()),
        ("debezium", "inventory")
    );
    assert_eq!(s.password.expose(), "pw-from-env");
    assert_eq!(s.slot_name, "debezium_inv");
    assert_eq!(s.publication_name, "dbz_publication");
    assert_eq!(s.publication_autocreate_mode, PublicationMode::Filtered);
    assert_eq!(s.schema_include_list.as_deref(), Some("inventory"));
    assert_eq!(
        s.table_exclude_list.as_deref(),
        Some("inventory\\.orders_archive,inventory\\.spatial.*")
    );
    assert_eq!(
        s.column_exclude_list.as_deref(),
        Some("inventory.customers.email")
    );
    assert_eq!(
        s.message_key_columns.as_deref(),
        Some("inventory.orders:purchaser,order_date")
    );
    assert_eq!(
        s.signal_data_collection.as_deref(),
        Some("inventory.debezium_signal")
    );
    assert!(s.tables.is_empty());
    assert_eq!(c.snapshot.mode, SnapshotMode::WhenNeeded);
    assert_eq!(c.snapshot.fetch_size, 2048);
    let v = &c.values;
    assert_eq!(v.decimal_handling_mode, DecimalMode::String);
    assert_eq!(v.time_precision_mode, TimePrecisionMode::Connect);
    assert_eq!(v.binary_handling_mode, BinaryMode::Hex);
    assert_eq!(v.interval_handling_mode, IntervalMode::String);
    assert_eq!(v.hstore_handling_mode, HstoreMode::Map);
    assert_eq!(v.money_fraction_digits, 4);
    assert_eq!(v.unavailable_value_placeholder, "__toast");
    let e = &c.events;
    assert!(!e.tombstones_on_delete);
    assert_eq!(e.skipped_operations, ["t", "d"]);
    assert_eq!(e.heartbeat_interval_ms, 10_000);
    assert!(e
        .heartbeat_action_query
        .as_deref()
        .unwrap()
        .starts_with("INSERT INTO"));
    assert_eq!(e.heartbeat_topic_prefix, "__hb");
    assert!(e.provide_transaction_metadata);
    // An environment override wins over the file's extra key.
    assert_eq!(c.kafka.bootstrap_servers, "env-broker:9092");
    assert_eq!(c.state.dir, PathBuf::from("/var/lib/cdc"));
    assert_eq!(
        (c.kafka.topic_partitions, c.kafka.topic_replication_factor),
        (3, 1)
    );
    // The password never shows in the resolved configuration's debug output (`--check`).
    assert!(!format!("{c:?}").contains("pw-from-env"));
    // One warning per ignored option, naming it.
    let named = |key: &str| warnings.iter().filter(|w| w.starts_with(key)).count();
    for key in [
        "snapshot.isolation.mode",
        "max.queue.size",
        "max.batch.size",
        "topic.creation.default.cleanup.policy",
    ] {
        assert_eq!(named(key), 1, "{key}: {warnings:?}");
    }
    assert_eq!(warnings.len(), 4, "{warnings:?}");
    c.validate().unwrap();
}

#[test]
fn connect_json_and_bare_json() {
    let (c, warnings) = config("inventory-connect.json");
    assert_eq!(c.source.port(), 5432);
    assert_eq!(c.source.password.expose(), "dbz");
    assert_eq!(
        c.source.table_include_list.as_deref(),
        Some("inventory.customers,inventory.orders")
    );
    assert_eq!(c.snapshot.mode, SnapshotMode::NoData);
    assert_eq!(
        c.source.publication_autocreate_mode,
        PublicationMode::AllTables
    );
    assert!(c.events.tombstones_on_delete);
    // Absent plugin.name: Debezium would use decoderbufs; accepted with a warning.
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("plugin.name") && warnings[0].contains("pgoutput"));

    let (c, warnings) = config("bare.json");
    assert_eq!(c.topic_prefix, "bare");
    // Debezium's defaults, not ours, where they differ.
    assert_eq!(c.source.slot_name, "debezium");
    assert_eq!(c.source.publication_name, "dbz_publication");
    assert_eq!(
        c.source.publication_autocreate_mode,
        PublicationMode::AllTables
    );
    assert_eq!(c.kafka.bootstrap_servers, "env-broker:9092");
    assert_eq!(c.snapshot.mode, SnapshotMode::NoData, "legacy `never`");
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn bootstrap_servers_are_required_from_the_environment_or_an_extra_key() {
    let translated = load(&fixture("bare.json")).unwrap();
    let err =
        cdc_ops::load_config_from_table::<CaptureConfig>(translated.table, "CDC_DBZ_FIXTURE_UNSET")
            .unwrap_err();
    assert!(err.to_string().contains("kafka"), "{err}");
    set_password();
    let translated = load(&fixture("inventory.properties")).unwrap();
    let c: CaptureConfig =
        cdc_ops::load_config_from_table(translated.table, "CDC_DBZ_FIXTURE_UNSET").unwrap();
    assert_eq!(c.kafka.bootstrap_servers, "kafka-1:9092,kafka-2:9092");
}

#[test]
fn refused_options_are_all_named_with_the_reason() {
    let err = load(&fixture("rejected.properties"))
        .unwrap_err()
        .to_string();
    for expected in [
        "plugin.name=decoderbufs is not supported",
        "table.include.lsit: unknown option",
        "transforms=unwrap is not supported: single message transforms",
        "transforms.unwrap.type is not supported",
        "column.mask.with.12.chars is not supported: masking",
        "value.converter=io.confluent.connect.avro.AvroConverter is not supported",
        "snapshot.mode: \"custom\" is not supported (supported: initial, initial_only",
        "database.sslmode: \"allow\" is not supported",
        "table.include.list and table.exclude.list cannot both be set",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
    }
    assert!(err.contains("rejected.properties"));
    assert!(!err.contains("do-not-print-me"));
    let err = load(&fixture("sqlserver.json")).unwrap_err().to_string();
    assert!(
        err.contains(
            "connector.class=io.debezium.connector.sqlserver.SqlServerConnector is not supported"
        ),
        "{err}"
    );
}

#[test]
fn every_listed_option_has_a_consistent_rule() {
    // Exact names are unique within each list and a connector's own list does not repeat a
    // shared option.
    for (list, shared) in [
        (postgres::OPTIONS, false),
        (binlog::OPTIONS, false),
        (options::COMMON, true),
    ] {
        let mut seen = std::collections::HashSet::new();
        for (name, _) in list {
            assert!(seen.insert(*name), "{name} listed twice");
            if !shared {
                assert!(
                    !options::COMMON.iter().any(|(n, _)| n == name),
                    "{name} is both shared and connector-specific"
                );
            }
        }
    }
    let pg = |key| options::rule(Connector::Postgres, key);
    assert!(matches!(
        pg("column.mask.hash.SHA-256.with.salt.x"),
        Some(Rule::Reject(_))
    ));
    assert!(matches!(pg("driver.loginTimeout"), Some(Rule::Ignore(_))));
    assert!(matches!(pg("database.loginTimeout"), Some(Rule::Ignore(_))));
    assert!(matches!(
        pg("value.converter.schema.registry.url"),
        Some(Rule::Reject(_))
    ));
    assert!(matches!(
        pg("value.converter.schemas.enable"),
        Some(Rule::Only(..))
    ));
    assert!(pg("no.such.option").is_none());
    assert!(options::is_foreign(
        Connector::Postgres,
        "database.server.id"
    ));
    assert!(!options::is_foreign(Connector::Postgres, "database.dbname"));
    let my = |key| options::rule(Connector::MySql, key);
    assert!(matches!(my("database.server.id"), Some(Rule::Special)));
    assert!(matches!(
        my("schema.history.internal.producer.security.protocol"),
        Some(Rule::Ignore(_))
    ));
    assert!(matches!(
        my("database.history.kafka.topic"),
        Some(Rule::Reject(_))
    ));
    assert!(my("slot.name").is_none());
    assert_eq!(
        Connector::from_class("MySqlConnector"),
        Some(Connector::MySql)
    );
    assert_eq!(Connector::from_class("MariaDb"), Some(Connector::MariaDb));
    assert_eq!(
        Connector::from_class("io.debezium.connector.postgresql.PostgresConnector"),
        Some(Connector::Postgres)
    );
    assert_eq!(Connector::from_class("mysql"), None);
}

#[test]
fn malformed_files() {
    let dir = std::env::temp_dir().join(format!("dbz-malformed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join("c.json");
    std::fs::write(&json, "{ not json").unwrap();
    assert!(matches!(load(&json), Err(DbzConfigError::Syntax { .. })));
    let props = dir.join("c.properties");
    std::fs::write(&props, "database.port=x\n").unwrap();
    let err = load(&props).unwrap_err().to_string();
    assert!(
        err.contains("database.port: \"x\" is not an integer"),
        "{err}"
    );
    assert!(err.contains("connector.class is missing"), "{err}");
    assert!(err.contains("topic.prefix is missing"), "{err}");
    assert!(err.contains("database.dbname is missing"), "{err}");
    assert!(matches!(
        load(&dir.join("absent.json")),
        Err(DbzConfigError::Read { .. })
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}
