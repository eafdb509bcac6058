//! `cdc-capture --check` with Debezium MySQL / MariaDB connector configs: the binary prints
//! the translated configuration with the password masked, and refuses a config naming every
//! problem without printing secret values.

use std::path::PathBuf;
use std::process::{Command, Output};

/// Runs `cdc-capture --check --config <fixture>` with the environment variables `env`.
fn check_with(fixture: &str, env: &[(&str, &str)]) -> Output {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/debezium")
        .join(fixture);
    Command::new(env!("CARGO_BIN_EXE_cdc-capture"))
        .arg("--check")
        .arg("--config")
        .arg(path)
        .env_remove("CDC_CAPTURE_CONFIG")
        .envs(env.iter().copied())
        .output()
        .expect("running cdc-capture")
}

fn check(fixture: &str) -> Output {
    check_with(fixture, &[])
}

#[test]
fn check_prints_a_mariadb_translation_without_the_password() {
    let out = check("mariadb-docs-connect.json");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for expected in [
        "kind: Mariadb",
        "host: \"192.168.99.100\"",
        "184054",
        "\"schemahistory.fullfillment\"",
        "bootstrap_servers: \"kafka:9092\"",
        "topic_prefix: \"fullfillment\"",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
    assert!(!stdout.contains("debezium-user-pw"), "{stdout}");
    assert!(!stderr.contains("debezium-user-pw"), "{stderr}");
}

#[test]
fn check_prints_the_warnings_of_a_mysql_engine_config() {
    let out = check_with(
        "mysql-engine.properties",
        &[("CDC_CAPTURE__KAFKA__BOOTSTRAP_SERVERS", "broker:9092")],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("warning: schema.history.internal=io.debezium.storage.file"));
    // No database.ssl.mode: Debezium's `preferred`, the capture's default `prefer`.
    assert!(!stdout.contains("warning: database.ssl.mode"), "{stdout}");
    assert!(stdout.contains("ssl_mode: Prefer"), "{stdout}");
    assert!(stdout.contains("kind: Mysql"));
    assert!(stdout.contains("bootstrap_servers: \"broker:9092\""));
    assert!(!stdout.contains("mysqlpw"), "{stdout}");
}

#[test]
fn check_refuses_a_mysql_config_naming_each_option() {
    let out = check("mysql-rejected.properties");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("gtid.source.includes is not supported"),
        "{stderr}"
    );
    assert!(stderr.contains("snapshot.locking.mode=none is not supported for MySQL"));
    assert!(
        stderr.contains("database.ssl.truststore=/etc/debezium/truststore.jks"),
        "{stderr}"
    );
    assert!(!stderr.contains("do-not-print-me"), "{stderr}");
    assert!(out.stdout.is_empty());
}
