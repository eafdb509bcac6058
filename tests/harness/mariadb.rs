//! MariaDB e2e helpers shared by the `mariadb*` tests: starting `cdc-capture` against the
//! test server (its password in `CDC_TEST_MARIADB_PASSWORD`) and reading a topic back.

use std::path::Path;

use cdc_testkit::{free_port, workspace_binary, ManagedProcess};

use crate::records::{read_topic, JsonRecord};

/// Starts `cdc-capture --config <config>` logging to `<dir>/<log>`.
pub fn spawn_capture(dir: &Path, config: &Path, log: &str) -> ManagedProcess {
    let bin = workspace_binary("cdc-capture").expect("cargo build -p cdc-capture first");
    let listen = format!("127.0.0.1:{}", free_port());
    ManagedProcess::spawn(
        &bin,
        &[
            "--config",
            &config.display().to_string(),
            "--metrics-listen",
            &listen,
        ],
        &[("CDC_TEST_MARIADB_PASSWORD", "cdc")],
        &dir.join(log),
    )
    .expect("spawn cdc-capture")
}

/// Every committed record of `topic` (`read_committed`), tombstones as `Value::Null` values.
pub async fn all_records(bootstrap: &str, topic: &str) -> Vec<JsonRecord> {
    let (b, t) = (bootstrap.to_owned(), topic.to_owned());
    tokio::task::spawn_blocking(move || read_topic(&b, &t))
        .await
        .expect("reader task")
        .expect("read topic")
}
