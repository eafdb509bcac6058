//! MySQL / MariaDB connector configurations: Debezium's documented examples translated to
//! the TOML-level table, every mapped option, refusals and warnings.

use std::collections::BTreeMap;

use cdc_model::debezium::{BinaryMode, DecimalMode, TimePrecisionMode};

use super::tests::{config, fixture, set_password};
use super::*;
use crate::config::{SnapshotLocking, SnapshotMode, SourceKind};
use crate::CaptureConfig;

/// The translated table of a fixture, compared as TOML.
fn table(name: &str) -> (Table, Vec<String>) {
    set_password();
    let translated = load(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    (translated.table, translated.warnings)
}

fn toml(text: &str) -> Table {
    toml::from_str(text).unwrap()
}

/// Translates `pairs` with the tutorial's required options.
fn translate_with(class: &str, pairs: &[(&str, &str)]) -> Result<Translated, Vec<String>> {
    let mut map: BTreeMap<String, String> = [
        ("connector.class", class),
        ("database.hostname", "h"),
        ("database.user", "u"),
        ("database.server.id", "1"),
        ("topic.prefix", "p"),
    ]
    .into_iter()
    .chain(pairs.iter().copied())
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let tls_off = if class == MARIADB {
        "disable"
    } else {
        "disabled"
    };
    map.entry("database.ssl.mode".into())
        .or_insert_with(|| tls_off.into());
    translate(&map).map_err(|p| match p {
        Problems::Refused(problems) => problems,
        Problems::Provider(e) => vec![e.to_string()],
    })
}

const MYSQL: &str = "io.debezium.connector.mysql.MySqlConnector";
const MARIADB: &str = "io.debezium.connector.mariadb.MariaDbConnector";

#[test]
fn mysql_tutorial_connect_json() {
    let (t, warnings) = table("mysql-tutorial-connect.json");
    assert_eq!(
        t,
        toml(
            r#"
            topic_prefix = "dbserver1"
            [source]
            kind = "mysql"
            host = "mysql"
            port = 3306
            user = "debezium"
            password = "dbz"
            server_id = 184054
            database_include_list = "inventory"
            schema_history_topic = "schemahistory.inventory"
            [kafka]
            bootstrap_servers = "kafka:9092"
            "#
        )
    );
    // No database.ssl.mode: Debezium's `preferred` is the capture's default `prefer`.
    assert!(warnings.is_empty(), "{warnings:?}");
    let (c, _) = config("mysql-tutorial-connect.json");
    assert_eq!(c.source.kind, SourceKind::Mysql);
    assert_eq!(c.source.server_id, Some(184054));
    assert_eq!(c.schema_history_topic(), "schemahistory.inventory");
    assert_eq!(c.snapshot.mode, SnapshotMode::Initial);
    assert_eq!(c.snapshot.locking_mode, SnapshotLocking::Minimal);
    let selection = c.validate().unwrap();
    assert_eq!(
        selection.select_tables(&[
            cdc_model::TableId::new("inventory", "customers"),
            cdc_model::TableId::new("shop", "orders"),
        ]),
        [cdc_model::TableId::new("inventory", "customers")]
    );
    assert_eq!(
        c.mysql_modes().unwrap().value.time_precision_mode,
        TimePrecisionMode::AdaptiveTimeMicroseconds
    );
}

#[test]
fn mariadb_docs_connect_json() {
    let (t, warnings) = table("mariadb-docs-connect.json");
    assert_eq!(
        t,
        toml(
            r#"
            topic_prefix = "fullfillment"
            [source]
            kind = "mariadb"
            host = "192.168.99.100"
            port = 3306
            user = "debezium-user"
            password = "debezium-user-pw"
            server_id = 184054
            database_include_list = "inventory"
            schema_history_topic = "schemahistory.fullfillment"
            include_schema_changes = true
            [kafka]
            bootstrap_servers = "kafka:9092"
            "#
        )
    );
    // MariaDB's ssl.mode default is `disable`: nothing to warn about.
    assert!(warnings.is_empty(), "{warnings:?}");
    let (c, _) = config("mariadb-docs-connect.json");
    assert_eq!(c.source.kind, SourceKind::Mariadb);
    c.validate().unwrap();
}

#[test]
fn mysql_embedded_engine_properties() {
    let (t, warnings) = table("mysql-engine.properties");
    assert_eq!(
        t,
        toml(
            r#"
            topic_prefix = "my-app-connector"
            [source]
            kind = "mysql"
            host = "localhost"
            port = 3306
            user = "mysqluser"
            password = "mysqlpw"
            server_id = 85744
            "#
        )
    );
    // The file-based schema history and the engine's offset store are replaced by ours.
    for key in [
        "offset.storage ",
        "offset.storage.file.filename",
        "offset.flush.interval.ms",
        "schema.history.internal=io.debezium.storage.file.history.FileSchemaHistory is ignored",
        "schema.history.internal.file.filename",
    ] {
        assert_eq!(
            warnings.iter().filter(|w| w.starts_with(key)).count(),
            1,
            "{key}: {warnings:?}"
        );
    }
    assert_eq!(warnings.len(), 5, "{warnings:?}");
    let (c, _) = config("mysql-engine.properties");
    assert_eq!(c.kafka.bootstrap_servers, "env-broker:9092");
    assert_eq!(c.schema_history_topic(), "schema-history.my-app-connector");
    c.validate().unwrap();
}

#[test]
fn mariadb_properties_map_every_supported_option() {
    let (t, warnings) = table("mariadb-full.properties");
    assert_eq!(
        t,
        toml(
            r#"
            topic_prefix = "shop"
            [source]
            kind = "mariadb"
            host = "maria.internal"
            port = 3307
            user = "cdc"
            password = "pw-from-env"
            server_id = 5400
            ssl_mode = "disable"
            database_exclude_list = "scratch,tmp_.*"
            table_include_list = "shop\\.orders,shop\\.customers"
            include_schema_changes = false
            include_query = true
            schema_history_topic = "shop.history"
            bigint_unsigned_handling_mode = "precise"
            enable_time_adjuster = false
            [snapshot]
            mode = "initial_only"
            locking_mode = "none"
            fetch_size = 5000
            max_threads = 2
            [values]
            decimal_handling_mode = "string"
            binary_handling_mode = "base64"
            time_precision_mode = "connect"
            [events]
            heartbeat_interval_ms = 5000
            heartbeat_topic_prefix = "__hb"
            provide_transaction_metadata = true
            tombstones_on_delete = false
            skipped_operations = []
            [kafka]
            bootstrap_servers = "kafka-1:9092,kafka-2:9092"
            topic_partitions = 2
            topic_replication_factor = 3
            "#
        )
    );
    for key in [
        "schema.history.internal.kafka.recovery.poll.interval.ms is ignored",
        "schema.history.internal.store.only.captured.tables.ddl=true is ignored",
        "connect.timeout.ms is ignored",
        "connect.keep.alive is ignored",
        "binlog.buffer.size is ignored",
        "max.batch.size is ignored",
    ] {
        assert_eq!(
            warnings.iter().filter(|w| w.starts_with(key)).count(),
            1,
            "{key}: {warnings:?}"
        );
    }
    assert_eq!(warnings.len(), 6, "{warnings:?}");
    let (c, _) = config("mariadb-full.properties");
    assert_eq!(c.source.password.expose(), "pw-from-env");
    assert_eq!(c.snapshot.locking_mode, SnapshotLocking::None);
    assert_eq!(c.snapshot.mode, SnapshotMode::InitialOnly);
    let modes = c.mysql_modes().unwrap();
    assert_eq!(modes.value.decimal_handling_mode, DecimalMode::String);
    assert_eq!(modes.value.binary_handling_mode, BinaryMode::Base64);
    assert_eq!(modes.value.time_precision_mode, TimePrecisionMode::Connect);
    assert_eq!(
        modes.bigint_unsigned_handling_mode,
        cdc_mysql::types::BigIntUnsignedMode::Precise
    );
    assert!(!modes.enable_time_adjuster);
    assert!(c.skipped_operations().unwrap().is_empty());
    c.validate().unwrap();
}

#[test]
fn refused_mysql_options_are_all_named_with_what_to_do() {
    let err = load(&fixture("mysql-rejected.properties"))
        .unwrap_err()
        .to_string();
    for expected in [
        "database.server.id: \"0\" is not a server id",
        "database.ssl.mode=verify_ca is not supported for MySQL / MariaDB (the chain cannot be \
         checked without the host name); use database.ssl.mode=verify_identity",
        "database.ssl.truststore=/etc/debezium/truststore.jks: not a readable PEM file; \
         cdc-capture cannot read Java keystores (JKS / PKCS#12): export the CA certificates as \
         PEM (keytool -exportcert",
        "snapshot.locking.mode=none is not supported for MySQL",
        "database.include.list and database.exclude.list cannot both be set",
        "gtid.source.includes is not supported: GTID source filters",
        "heartbeat.action.query is not supported: heartbeat action queries are not run",
        "time.precision.mode: \"adaptive\" is not supported (supported: \
         adaptive_time_microseconds, connect)",
        "slot.name: an option of the Debezium PostgreSQL connector, not of the MySQL connector",
        "database.history.kafka.topic is not supported: renamed in Debezium 2.0",
        "schema.include.list is not supported: MySQL / MariaDB have no schemas",
        "transforms=unwrap is not supported",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
    }
    assert_eq!(err.matches("\n  - ").count(), 12, "{err}");
    assert!(err.contains("mysql-rejected.properties"));
    assert!(!err.contains("do-not-print-me"), "{err}");
}

#[test]
fn snapshot_and_tls_modes_per_connector() {
    let snapshot = |class, mode| {
        translate_with(class, &[("snapshot.mode", mode)])
            .map(|t| t.table["snapshot"]["mode"].as_str().unwrap().to_owned())
    };
    for class in [MYSQL, MARIADB] {
        assert_eq!(snapshot(class, "initial").unwrap(), "initial");
        assert_eq!(snapshot(class, "INITIAL_ONLY").unwrap(), "initial_only");
        assert_eq!(snapshot(class, "no_data").unwrap(), "no_data");
        assert_eq!(snapshot(class, "schema_only").unwrap(), "no_data");
        assert_eq!(snapshot(class, "when_needed").unwrap(), "when_needed");
        assert_eq!(snapshot(class, "always").unwrap(), "always");
        for (mode, says) in [
            ("recovery", "a lost schema history cannot be rebuilt"),
            (
                "schema_only_recovery",
                "a lost schema history cannot be rebuilt",
            ),
            ("never", "use no_data"),
            (
                "configuration_based",
                "supported: initial, initial_only, no_data",
            ),
            ("custom", "supported: initial, initial_only, no_data"),
        ] {
            let problems = snapshot(class, mode).unwrap_err();
            assert!(problems[0].contains(says), "{mode}: {problems:?}");
        }
    }
    let renamed = translate_with(MYSQL, &[("snapshot.mode", "schema_only")]).unwrap();
    assert!(renamed.warnings[0].contains("renamed no_data"));

    let locking = |class, mode| {
        translate_with(class, &[("snapshot.locking.mode", mode)]).map(|t| {
            t.table["snapshot"]["locking_mode"]
                .as_str()
                .unwrap()
                .to_owned()
        })
    };
    assert_eq!(locking(MYSQL, "minimal").unwrap(), "minimal");
    assert_eq!(locking(MARIADB, "minimal").unwrap(), "minimal");
    assert_eq!(locking(MARIADB, "none").unwrap(), "none");
    assert!(locking(MYSQL, "none").unwrap_err()[0].contains("LOCKING_MODE=tables"));
    assert!(locking(MYSQL, "extended").unwrap_err()[0].contains("use minimal"));
    assert!(locking(MYSQL, "minimal_percona").unwrap_err()[0].contains("Percona"));
    assert!(
        locking(MARIADB, "minimal_percona").unwrap_err()[0].contains("(supported: minimal, none)")
    );
    assert!(locking(MYSQL, "custom").unwrap_err()[0].contains("(supported: minimal)"));

    let tls = |class, mode| translate_with(class, &[("database.ssl.mode", mode)]);
    let ssl_mode = |class, mode| {
        let t = tls(class, mode).unwrap();
        assert!(t.warnings.is_empty(), "{:?}", t.warnings);
        t.table["source"]["ssl_mode"].as_str().unwrap().to_owned()
    };
    for (mode, ours) in [
        ("disabled", "disable"),
        ("preferred", "prefer"),
        ("REQUIRED", "require"),
        ("verify_identity", "verify_full"),
    ] {
        assert_eq!(ssl_mode(MYSQL, mode), ours, "{mode}");
    }
    for (mode, ours) in [
        ("disable", "disable"),
        ("trust", "require"),
        ("verify-full", "verify_full"),
    ] {
        assert_eq!(ssl_mode(MARIADB, mode), ours, "{mode}");
    }
    assert!(
        tls(MYSQL, "verify_ca").unwrap_err()[0].contains("use database.ssl.mode=verify_identity")
    );
    assert!(tls(MARIADB, "verify-ca").unwrap_err()[0].contains("use database.ssl.mode=verify-full"));
    assert!(tls(MYSQL, "disable").unwrap_err()[0].contains("(supported: disabled, preferred"));
    assert!(tls(MARIADB, "verify_identity").is_err(), "MySQL's spelling");

    // Trust and key stores: PEM files map onto the ssl_* paths, Java keystores are refused.
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("ca.pem");
    std::fs::write(
        &pem,
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let pem = pem.display().to_string();
    let stores = [
        ("database.ssl.mode", "verify_identity"),
        ("database.ssl.truststore", pem.as_str()),
        ("database.ssl.truststore.password", "changeit"),
        ("database.ssl.keystore", pem.as_str()),
    ];
    let t = translate_with(MYSQL, &stores).unwrap();
    let source = &t.table["source"];
    for key in ["ssl_root_cert", "ssl_cert", "ssl_key"] {
        assert_eq!(source[key].as_str(), Some(pem.as_str()), "{key}");
    }
    assert_eq!(t.warnings.len(), 1, "{:?}", t.warnings);
    assert!(!t.warnings[0].contains("changeit"));
    let jks = dir.path().join("keystore");
    std::fs::write(&jks, [0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2]).unwrap();
    let jks = jks.display().to_string();
    let err = translate_with(MARIADB, &[("database.ssl.keystore", jks.as_str())]).unwrap_err();
    assert!(err[0].contains("openssl pkcs12"), "{err:?}");

    // The history's brokers are the Kafka cluster unless kafka.bootstrap.servers differs.
    let brokers = [("schema.history.internal.kafka.bootstrap.servers", "k:9092")];
    let t = translate_with(MYSQL, &brokers).unwrap();
    assert_eq!(
        t.table["kafka"]["bootstrap_servers"].as_str(),
        Some("k:9092")
    );
    let same = [brokers[0], ("kafka.bootstrap.servers", "k:9092")];
    assert!(translate_with(MYSQL, &same).is_ok());
    let differ = [brokers[0], ("kafka.bootstrap.servers", "other:9092")];
    assert!(translate_with(MYSQL, &differ).unwrap_err()[0].contains("differ"));

    // Server ids are positive 32-bit numbers.
    for bad in ["-1", "4294967296", "x"] {
        assert!(translate_with(MYSQL, &[("database.server.id", bad)]).is_err());
    }
    // A MySQL-only option refused for PostgreSQL names the connector it belongs to.
    let pg = translate_with(
        "io.debezium.connector.postgresql.PostgresConnector",
        &[("database.dbname", "d"), ("plugin.name", "pgoutput")],
    )
    .unwrap_err();
    assert!(
        pg.iter().any(|p| p.starts_with(
            "database.server.id: an option of the Debezium MySQL connector, not of the \
             PostgreSQL connector"
        )),
        "{pg:?}"
    );
}

/// The options refused for MySQL only are exactly those whose TOML keys
/// `CaptureConfig::validate` refuses for a MySQL source: once the capture supports one, this
/// fails and the option is to be mapped (as for PostgreSQL).
#[test]
fn mysql_only_refusals_match_the_capture_validation() {
    let (option, value, path) = ("snapshot.locking.mode", "none", "snapshot.locking_mode");
    assert!(
        translate_with(MYSQL, &[(option, value)]).is_err(),
        "{option}={value} is translated"
    );
    let mut table = translate_with(MYSQL, &[]).unwrap().table;
    insert(&mut table, path, Value::String(value.into()));
    insert(
        &mut table,
        "kafka.bootstrap_servers",
        Value::String("k".into()),
    );
    let c: CaptureConfig = cdc_ops::load_config_from_table(table, "CDC_DBZ_FIXTURE_UNSET")
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    assert!(
        c.validate().is_err(),
        "{path} = {value:?} is accepted for MySQL now: map {option} in binlog.rs"
    );
}

#[test]
fn secrets_never_show_in_the_translation_warnings_or_errors() {
    set_password();
    let translated = load(&fixture("mariadb-full.properties")).unwrap();
    let shown = format!("{translated:?} {:?}", translated.warnings);
    assert!(!shown.contains("pw-from-env"), "{shown}");
    let (c, _) = config("mariadb-docs-connect.json");
    assert!(!format!("{c:?}").contains("debezium-user-pw"));
    // Refused configs name options, never the values of secret ones.
    let err = translate_with(
        MYSQL,
        &[
            ("database.password", "s3cret-pw"),
            ("database.ssl.keystore.password", "s3cret-ks"),
            ("database.ssl.truststore.password", "s3cret-ts"),
            ("database.server.id", "nope"),
        ],
    )
    .unwrap_err()
    .join("\n");
    assert!(err.contains("database.server.id"), "{err}");
    assert!(!err.contains("s3cret"), "{err}");
    let ignored = translate_with(
        MYSQL,
        &[
            ("database.ssl.keystore.password", "s3cret-ks"),
            ("database.ssl.truststore.password", "s3cret-ts"),
        ],
    )
    .unwrap()
    .warnings
    .join("\n");
    assert!(
        ignored.contains("database.ssl.keystore.password"),
        "{ignored}"
    );
    assert!(!ignored.contains("s3cret"), "{ignored}");
}

/// Every option of Debezium's MySQL / MariaDB connector documentation has a rule (the list:
/// `tests/fixtures/debezium/binlog-documented-options.txt`).
#[test]
fn every_documented_option_has_a_rule() {
    let documented = include_str!("../../tests/fixtures/debezium/binlog-documented-options.txt");
    let keys: Vec<&str> = documented
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    assert!(keys.len() > 100, "{}", keys.len());
    for connector in [Connector::MySql, Connector::MariaDb] {
        for key in &keys {
            assert!(
                options::rule(connector, key).is_some() && !options::is_foreign(connector, key),
                "{key} has no rule for {connector:?}"
            );
        }
    }
}

#[test]
fn the_signal_table_and_chunk_size_are_mapped_for_binlog_sources() {
    for class in [MYSQL, MARIADB] {
        let mut table = translate_with(
            class,
            &[
                ("signal.data.collection", "inventory.debezium_signal"),
                ("incremental.snapshot.chunk.size", "512"),
            ],
        )
        .unwrap()
        .table;
        insert(
            &mut table,
            "kafka.bootstrap_servers",
            Value::String("k".into()),
        );
        let c: CaptureConfig =
            cdc_ops::load_config_from_table(table, "CDC_DBZ_FIXTURE_UNSET").unwrap();
        assert_eq!(
            c.source.signal_data_collection.as_deref(),
            Some("inventory.debezium_signal")
        );
        assert_eq!(c.snapshot.incremental_chunk_size, 512);
        c.validate().unwrap();
    }
}

#[test]
fn column_filters_and_key_overrides_map_for_both_connectors() {
    for class in [MYSQL, MARIADB] {
        for (option, value, path) in [
            (
                "column.include.list",
                "shop.orders.(id|total)",
                "column_include_list",
            ),
            (
                "column.exclude.list",
                "shop.customers.email",
                "column_exclude_list",
            ),
            (
                "message.key.columns",
                "shop.orders:purchaser",
                "message_key_columns",
            ),
        ] {
            let t = translate_with(class, &[(option, value)])
                .unwrap_or_else(|e| panic!("{class} {option}: {e:?}"))
                .table;
            assert_eq!(
                t["source"][path].as_str(),
                Some(value),
                "{class} {option}: {t:?}"
            );
        }
    }
}
