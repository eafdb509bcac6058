//! The sink against catalogs we did not write, through [`LakeWriter`]: mirror and changelog
//! tables are committed (inserts, then updates and deletes as position deletes), read back
//! with pyiceberg, and a second writer claiming the tables fences the first — its next
//! commit is rejected by the catalog's compare-and-swap and ends in `SinkError::Fenced`.
//!
//! - REST: Apache Iceberg's own REST catalog test server (`RESTCatalogServer` from
//!   `iceberg-open-api`'s test fixtures, the server of the apache/iceberg-rest-fixture image:
//!   a JdbcCatalog on SQLite behind Iceberg's REST adapter), run from the jars
//!   dev/lib/install.sh puts in `$ICEBERG_REST_LIBS`. The server applies our `add-snapshot` /
//!   `set-snapshot-ref` / `set-properties` updates after checking `assert-table-uuid` and
//!   `assert-ref-snapshot-id`.
//! - Glue: moto's server (PyPI `moto[server]`) providing Glue and S3; table files on its S3.
//!   moto 5.1's `UpdateTable` ignores `VersionId`, so there the stale writer is caught by our
//!   read-compare of `metadata_location` before the update, not by Glue itself.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cdc_model::{
    ChangeEvent, Column, ColumnType, Op, Position, SnapshotMarker, SourceInfo, TableId,
    TableSchema, Value,
};
use cdc_sink::config::{CatalogConfig, CatalogKind};
use cdc_sink::{IcebergConfig, LakeWriter, RecordOrigin, SinkError, TableMode, TablesConfig};
use cdc_testkit::{free_port, wait_until, ManagedProcess};
use serde_json::{json, Value as Json};

const TOPIC: &str = "dbserver1.public.items";

fn items() -> Arc<TableSchema> {
    Arc::new(TableSchema {
        id: TableId::new("public", "items"),
        columns: vec![
            Column::new("id", ColumnType::Int64, false),
            Column::new("name", ColumnType::String, true),
        ],
        key: vec![0],
    })
}

fn event(op: Op, id: i64, name: Option<&str>, t: i64) -> ChangeEvent {
    let image = Some(vec![
        Value::Int64(id),
        name.map_or(Value::Null, |n| Value::String(n.into())),
    ]);
    let (before, after) = match op {
        Op::Delete => (image, None),
        _ => (None, image),
    };
    ChangeEvent {
        table: items(),
        op,
        before,
        after,
        source: SourceInfo {
            version: "3.6.3.Final".into(),
            name: "dbserver1".into(),
            db: "app".into(),
            ts_us: 1_700_000_000_000_000 + t * 1_000_000,
            snapshot: SnapshotMarker::False,
            position: Position::Postgres {
                lsn: 0x1000 + u64::try_from(t).unwrap_or(0),
                last_commit_lsn: None,
                tx_id: Some(750),
            },
        },
        transaction: None,
        ts_ns: 0,
    }
}

fn origin(offset: i64) -> RecordOrigin {
    RecordOrigin {
        topic: Arc::from(TOPIC),
        partition: 0,
        offset,
    }
}

fn tables() -> TablesConfig {
    TablesConfig {
        modes: vec![TableMode::Changelog, TableMode::Mirror],
        ..TablesConfig::default()
    }
}

/// Apache Iceberg's REST catalog server on a free loopback port; killed on drop.
struct Server {
    _process: ManagedProcess,
    uri: String,
}

/// Waits until `port` accepts connections or `process` exits.
async fn wait_for_port(process: &mut ManagedProcess, port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(90);
    let up = wait_until(deadline, Duration::from_millis(200), || {
        let ready = TcpStream::connect(("127.0.0.1", port)).is_ok();
        async move { ready }
    })
    .await;
    if up.is_err() || !process.is_running() {
        panic!("{what} did not start:\n{}", process.log_tail(40));
    }
}

impl Server {
    /// Apache Iceberg's REST catalog server.
    async fn rest(dir: &Path) -> Server {
        let libs = std::env::var_os("ICEBERG_REST_LIBS")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| home().join(".cache/cdc/iceberg-rest-1.10.0/lib"));
        assert!(
            libs.join("iceberg-open-api-1.10.0-test-fixtures.jar")
                .is_file(),
            "no Iceberg REST fixture jars in {} (run dev/lib/install.sh)",
            libs.display()
        );
        let port = free_port();
        let warehouse = dir.join("warehouse");
        std::fs::create_dir_all(&warehouse).expect("warehouse dir");
        let classpath = format!("{}/*", libs.display());
        let port_text = port.to_string();
        let warehouse_uri = format!("file://{}", warehouse.display());
        let jdbc = format!("jdbc:sqlite:{}/catalog.db", dir.display());
        let mut process = ManagedProcess::spawn(
            Path::new("java"),
            &[
                "-cp",
                &classpath,
                "org.apache.iceberg.rest.RESTCatalogServer",
            ],
            &[
                ("CATALOG_REST_PORT", port_text.as_str()),
                ("CATALOG_WAREHOUSE", warehouse_uri.as_str()),
                ("CATALOG_URI", jdbc.as_str()),
            ],
            &dir.join("rest-server.log"),
        )
        .expect("start the REST catalog server");
        wait_for_port(&mut process, port, "the REST catalog server").await;
        Server {
            _process: process,
            uri: format!("http://127.0.0.1:{port}"),
        }
    }

    /// moto's server (Glue and S3), with the bucket `cdc-lake`.
    async fn moto(dir: &Path) -> Server {
        let port = free_port();
        let port_text = port.to_string();
        let mut process = ManagedProcess::spawn(
            &venv().join("bin/moto_server"),
            &["-H", "127.0.0.1", "-p", &port_text],
            &[],
            &dir.join("moto.log"),
        )
        .expect("start moto_server");
        wait_for_port(&mut process, port, "moto_server").await;
        let server = Server {
            _process: process,
            uri: format!("http://127.0.0.1:{port}"),
        };
        python(MAKE_BUCKET, &[&server.uri]);
        server
    }

    fn rest_config(&self) -> IcebergConfig {
        let mut config = IcebergConfig::new("");
        config.catalog = CatalogConfig {
            kind: CatalogKind::Rest,
            uri: Some(self.uri.clone()),
            ..CatalogConfig::default()
        };
        config
    }

    fn glue_config(&self) -> IcebergConfig {
        let mut config = IcebergConfig::new("");
        let secret = |s: &str| cdc_ops::Secret::new(s);
        config.catalog = CatalogConfig {
            kind: CatalogKind::Glue,
            uri: Some(self.uri.clone()),
            warehouse: Some("s3://cdc-lake/warehouse".into()),
            region: Some("us-east-1".into()),
            access_key_id: Some(secret("testing")),
            secret_access_key: Some(secret("testing")),
            properties: [
                ("s3.endpoint", self.uri.as_str()),
                ("s3.path-style-access", "true"),
                ("s3.region", "us-east-1"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), secret(v)))
            .collect(),
            ..CatalogConfig::default()
        };
        config
    }
}

fn venv() -> PathBuf {
    home().join(".cache/cdc/venv")
}

fn home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default()
}

async fn append(writer: &mut LakeWriter, events: Vec<(ChangeEvent, i64)>) {
    for (event, offset) in events {
        writer.append(event, origin(offset)).await.expect("append");
    }
}

/// Two commits, a second writer fencing the first, one more commit by the second writer; then
/// checks the mirror and changelog tables as pyiceberg reads them (`read` runs the reader).
async fn commit_and_fence(iceberg: &IcebergConfig, read: impl Fn(&str) -> Json) {
    let mut writer = LakeWriter::open(iceberg, &tables()).await.expect("open");
    append(
        &mut writer,
        vec![
            (event(Op::Create, 1, Some("a"), 1), 0),
            (event(Op::Create, 2, Some("b"), 2), 1),
            (event(Op::Create, 3, Some("c"), 3), 2),
        ],
    )
    .await;
    let committed = writer.commit().await.expect("commit 1");
    assert_eq!(committed.len(), 2, "{committed:?}");
    // Updates and deletes of rows in earlier commits: position deletes in the mirror.
    append(
        &mut writer,
        vec![
            (event(Op::Update, 1, Some("a2"), 4), 3),
            (event(Op::Delete, 2, Some("b"), 5), 4),
        ],
    )
    .await;
    writer.commit().await.expect("commit 2");

    // A second writer claims the tables (on its first event); the first one is now stale.
    let mut newer = LakeWriter::open(iceberg, &tables())
        .await
        .expect("open newer");
    append(&mut newer, vec![(event(Op::Create, 5, Some("e"), 7), 5)]).await;
    append(
        &mut writer,
        vec![(event(Op::Create, 4, Some("stale"), 6), 5)],
    )
    .await;
    let stale = writer
        .commit()
        .await
        .expect_err("the stale writer must be fenced");
    assert!(
        matches!(stale, SinkError::Fenced { .. }),
        "expected Fenced, got {stale:?}"
    );
    newer.commit().await.expect("the newer writer commits");
    assert_eq!(
        newer
            .resume_points()
            .await
            .expect("offsets")
            .start(TOPIC, 0),
        Some(6),
        "both tables hold offsets 0..=5"
    );

    let mirror = read("cdc.public_items");
    assert_eq!(mirror["rows"], json!([[1, "a2"], [3, "c"], [5, "e"]]));
    assert_eq!(mirror["format_version"], json!(2));
    let changelog = read("cdc.public_items_changelog");
    assert_eq!(
        changelog["rows"],
        json!([[1, "a"], [1, "a2"], [2, "b"], [2, "b"], [3, "c"], [5, "e"]])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_catalog_commits_read_back_by_pyiceberg_and_stale_writers_are_fenced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::rest(dir.path()).await;
    commit_and_fence(&server.rest_config(), |table| {
        python(READ_BACK_REST, &[&server.uri, table])
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn glue_catalog_commits_read_back_by_pyiceberg_and_stale_writers_are_fenced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::moto(dir.path()).await;
    commit_and_fence(&server.glue_config(), |table| {
        python(READ_BACK_GLUE, &[&server.uri, table])
    })
    .await;
    // What Athena reads: the Glue table's Iceberg parameters.
    let glue = python(GLUE_TABLE, &[&server.uri, "cdc", "public_items"]);
    assert_eq!(glue["table_type"], json!("ICEBERG"), "{glue}");
    let location = glue["metadata_location"]
        .as_str()
        .expect("metadata_location");
    let previous = glue["previous_metadata_location"]
        .as_str()
        .expect("previous");
    assert!(location.starts_with("s3://cdc-lake/warehouse/"), "{glue}");
    assert_ne!(location, previous);
}

/// Runs `script` with the venv's python; its stdout is JSON.
fn python(script: &str, args: &[&str]) -> Json {
    let output = Command::new(venv().join("bin/python"))
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("run python");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "python failed:\n{stderr}");
    serde_json::from_slice(&output.stdout).expect("python prints JSON")
}

const READ_BACK_REST: &str = r#"
import json, sys
from pyiceberg.catalog.rest import RestCatalog

uri, name = sys.argv[1], sys.argv[2]
table = RestCatalog("cdc", uri=uri).load_table(name)
rows = table.scan(selected_fields=("id", "name")).to_arrow().to_pylist()
print(json.dumps({"rows": sorted([r["id"], r["name"]] for r in rows),
                  "format_version": table.format_version}))
"#;

const READ_BACK_GLUE: &str = r#"
import json, sys
uri = sys.argv[1]
from pyiceberg.catalog.glue import GlueCatalog
catalog = GlueCatalog("cdc", **{
    "glue.endpoint": uri, "glue.region": "us-east-1",
    "glue.access-key-id": "testing", "glue.secret-access-key": "testing",
    "s3.endpoint": uri, "s3.region": "us-east-1",
    "s3.access-key-id": "testing", "s3.secret-access-key": "testing",
})
table = catalog.load_table(sys.argv[2])
rows = table.scan(selected_fields=("id", "name")).to_arrow().to_pylist()
print(json.dumps({"rows": sorted([r["id"], r["name"]] for r in rows),
                  "format_version": table.format_version}))
"#;

const MAKE_BUCKET: &str = r#"
import json, sys
uri = sys.argv[1]
import boto3
boto3.client("s3", endpoint_url=uri, region_name="us-east-1", aws_access_key_id="testing",
             aws_secret_access_key="testing").create_bucket(Bucket="cdc-lake")
print("{}")
"#;

const GLUE_TABLE: &str = r#"
import json, sys
import boto3
uri, db, name = sys.argv[1], sys.argv[2], sys.argv[3]
glue = boto3.client("glue", endpoint_url=uri, region_name="us-east-1",
                    aws_access_key_id="testing", aws_secret_access_key="testing")
print(json.dumps(glue.get_table(DatabaseName=db, Name=name)["Table"]["Parameters"]))
"#;
