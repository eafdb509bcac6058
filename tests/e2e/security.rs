//! e2e: least privileges and secrets, on PostgreSQL.
//!
//! `cdc-capture` runs as a role with only `LOGIN REPLICATION` and `SELECT` on the captured
//! tables, against a publication created beforehand by the table owner; `cdc-sink verify`
//! runs as the same role. Passwords reach the processes only through a file and environment
//! variables (PostgreSQL password from a file, a librdkafka `sasl.password` from an env var in
//! both binaries). Then the test collects everything an operator or attacker could read —
//! both processes' logs at `debug` level, `/metrics` and `/healthz`, every `--help` text, the
//! error output of a wrong password and of an invalid config that holds an inline password —
//! and fails if any of the test passwords appears anywhere in it.

use std::path::Path;
use std::process::Output;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use cdc_e2e::pipeline::{Pipeline, DATABASE};
use cdc_e2e::security::assert_no_secrets;
use cdc_e2e::workload::{Spec, Workload};
use cdc_testkit::{free_port, workspace_binary, ManagedProcess};

/// The least-privileged role the capture and verify run as.
const ROLE: &str = "cdc_least";
/// Distinctive values that cannot occur in logs by accident (no table or column name
/// contains them).
const PG_PASSWORD: &str = "Pg-Least-7f3c9e1a";
const WRONG_PASSWORD: &str = "Pg-Wrong-0b8d44e2";
const INLINE_PASSWORD: &str = "Pg-Inline-93ad5c70";
const KAFKA_PASSWORD: &str = "Kafka-Sasl-5a6e1f07";

fn show(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs `bin args…` with `env`, killed after `timeout`; its output.
async fn run(bin: &str, args: &[&str], env: &[(&str, &str)], timeout: Duration) -> Output {
    let mut command = tokio::process::Command::new(workspace_binary(bin).expect("binary"));
    // Only what the test passes: no PGPASSWORD / MYSQL_PWD inherited from the caller.
    command
        .args(args)
        .kill_on_drop(true)
        .env_remove("PGPASSWORD")
        .env_remove("MYSQL_PWD");
    for (k, v) in env {
        command.env(k, v);
    }
    tokio::time::timeout(timeout, command.output())
        .await
        .unwrap_or_else(|_| panic!("{bin} {args:?} did not exit within {timeout:?}"))
        .expect("run binary")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn least_privileged_capture_and_verify_never_reveal_secrets() {
    let mut p = Pipeline::start_named("security")
        .await
        .expect("start PostgreSQL and Kafka");
    let dir = p.dir.clone();
    let admin = p.connect().await.unwrap();
    let mut workload = Workload::setup(&admin, 11, 40, 60).await.unwrap();
    admin
        .batch_execute(&format!(
            "CREATE ROLE {ROLE} LOGIN REPLICATION PASSWORD '{PG_PASSWORD}';
             GRANT CONNECT ON DATABASE {DATABASE} TO {ROLE};
             GRANT USAGE ON SCHEMA public TO {ROLE};
             GRANT SELECT ON public.customers, public.orders TO {ROLE};
             CREATE PUBLICATION cdc_publication FOR TABLE public.customers, public.orders;"
        ))
        .await
        .unwrap();
    let privileged: bool = admin
        .query_one(
            "SELECT rolsuper OR rolcreatedb OR rolcreaterole OR rolbypassrls FROM pg_roles \
             WHERE rolname = $1",
            &[&ROLE],
        )
        .await
        .unwrap()
        .get(0);
    assert!(!privileged, "{ROLE} must be least-privileged");

    // Secrets: the PostgreSQL password in a file, the Kafka one in an env var.
    let secret_file = dir.join("pg-password");
    std::fs::write(&secret_file, format!("{PG_PASSWORD}\n")).unwrap();
    let kafka_secret = [("CDC_TEST_KAFKA_PASSWORD", KAFKA_PASSWORD)];
    let kafka_property = "\"sasl.password\" = { env = \"CDC_TEST_KAFKA_PASSWORD\" }";
    p.edit_capture_config(|toml| {
        let toml = toml
            .replace(
                &format!("user = \"{}\"", p.pg.user()),
                &format!("user = \"{ROLE}\""),
            )
            .replace(
                "password = { env = \"CDC_TEST_PG_PASSWORD\" }",
                &format!("password = {{ file = \"{}\" }}", secret_file.display()),
            );
        assert!(
            toml.contains(ROLE) && toml.contains("pg-password"),
            "{toml}"
        );
        format!("{toml}\n[kafka.properties]\n{kafka_property}\n")
    })
    .unwrap();
    p.edit_sink_config(|toml| format!("{toml}{kafka_property}\n"))
        .unwrap();
    let capture_toml = dir.join("capture.toml");
    let sink_toml = dir.join("sink.toml");
    for config in [&capture_toml, &sink_toml] {
        let text = read(config);
        assert!(!text.contains(PG_PASSWORD) && !text.contains(KAFKA_PASSWORD));
    }

    // Run at debug level: the most a log can say.
    let debug_env = [("RUST_LOG", "debug"), kafka_secret[0]];
    let capture_config = capture_toml.display().to_string();
    p.capture = Some(
        ManagedProcess::spawn(
            &workspace_binary("cdc-capture").unwrap(),
            &[
                "--config",
                &capture_config,
                "--metrics-listen",
                &p.capture_metrics,
            ],
            &debug_env,
            &dir.join("capture.log"),
        )
        .unwrap(),
    );
    let sink_config = sink_toml.display().to_string();
    p.sink = Some(
        ManagedProcess::spawn(
            &workspace_binary("cdc-sink").unwrap(),
            &["--config", &sink_config],
            &debug_env,
            &dir.join("sink.log"),
        )
        .unwrap(),
    );
    p.wait_for_snapshot(100, Duration::from_secs(120))
        .await
        .unwrap_or_else(|e| panic!("{e}\n(logs in {})", dir.display()));
    let streaming_as: Vec<String> = admin
        .query(
            "SELECT usename::text FROM pg_stat_replication WHERE application_name <> ''",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        streaming_as,
        vec![ROLE.to_owned()],
        "replication connection"
    );
    let spec = Spec {
        inserts: 150,
        updates: 60,
        pk_changes: 5,
        deletes: 20,
    };
    workload
        .run(&admin, spec, &AtomicUsize::new(0))
        .await
        .unwrap();
    p.wait_until_in_sync(Duration::from_secs(180))
        .await
        .unwrap_or_else(|e| panic!("{e}\n(logs in {})", dir.display()));

    // Everything an operator can read from the running processes.
    let mut exposed: Vec<(String, String)> = Vec::new();
    for (name, addr) in [("capture", &p.capture_metrics), ("sink", &p.sink_metrics)] {
        for path in ["/metrics", "/healthz"] {
            let (status, body) = Pipeline::http_get(addr, path).await.unwrap();
            assert!(status.contains("200"), "{name}{path}: {status}");
            exposed.push((format!("{name} {path}"), body));
        }
    }

    // verify as the least-privileged role, password from PGPASSWORD.
    let conninfo = format!(
        "host={} port={} user={ROLE} dbname={DATABASE}",
        p.pg.host(),
        p.pg.port()
    );
    // The mirror tables (verify's default) hold the current rows.
    let verify_args = |table: &'static str| {
        vec![
            "verify".to_owned(),
            "--config".to_owned(),
            sink_config.clone(),
            "--source".to_owned(),
            conninfo.clone(),
            "--table".to_owned(),
            table.to_owned(),
        ]
    };
    for table in ["public.customers", "public.orders"] {
        let args = verify_args(table);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let ok = run(
            "cdc-sink",
            &args,
            &[("PGPASSWORD", PG_PASSWORD), kafka_secret[0]],
            Duration::from_secs(120),
        )
        .await;
        assert_eq!(ok.status.code(), Some(0), "{}", show(&ok));
        assert!(
            String::from_utf8_lossy(&ok.stdout).starts_with(&format!("verify: OK {table} ")),
            "{}",
            show(&ok)
        );
        exposed.push((format!("verify {table}"), show(&ok)));
        let wrong = run(
            "cdc-sink",
            &args,
            &[("PGPASSWORD", WRONG_PASSWORD), kafka_secret[0]],
            Duration::from_secs(120),
        )
        .await;
        assert_eq!(wrong.status.code(), Some(2), "{}", show(&wrong));
        assert!(show(&wrong).contains("password"), "{}", show(&wrong));
        exposed.push((
            format!("verify {table} with a wrong password"),
            show(&wrong),
        ));
    }

    // A second capture with a wrong password (own state, metrics port and log) fails clearly.
    let wrong_file = dir.join("wrong-password");
    std::fs::write(&wrong_file, WRONG_PASSWORD).unwrap();
    let wrong_toml = dir.join("capture-wrong.toml");
    std::fs::write(
        &wrong_toml,
        read(&capture_toml)
            .replace("pg-password", "wrong-password")
            .replace("capture-state", "capture-state-wrong"),
    )
    .unwrap();
    let metrics = format!("127.0.0.1:{}", free_port());
    let wrong = run(
        "cdc-capture",
        &[
            "--config",
            &wrong_toml.display().to_string(),
            "--metrics-listen",
            &metrics,
        ],
        &debug_env,
        Duration::from_secs(120),
    )
    .await;
    assert!(!wrong.status.success(), "{}", show(&wrong));
    assert!(
        show(&wrong).contains("password authentication failed"),
        "{}",
        show(&wrong)
    );
    exposed.push(("capture with a wrong password".into(), show(&wrong)));

    // An invalid config holding an inline password, and a password given as an env override
    // of an invalid config: the errors name the problem, never the value.
    let inline_toml = dir.join("capture-inline.toml");
    std::fs::write(
        &inline_toml,
        read(&capture_toml).replace(
            &format!("password = {{ file = \"{}\" }}", secret_file.display()),
            &format!("password = \"{INLINE_PASSWORD}\"\nport_typo = 1"),
        ),
    )
    .unwrap();
    let inline = inline_toml.display().to_string();
    for (what, env) in [
        ("inline password", vec![]),
        (
            "password override",
            vec![("CDC_CAPTURE__SOURCE__PASSWORD", INLINE_PASSWORD)],
        ),
    ] {
        let out = run(
            "cdc-capture",
            &["--config", &inline],
            &env,
            Duration::from_secs(60),
        )
        .await;
        assert!(!out.status.success(), "{what}: {}", show(&out));
        assert!(show(&out).contains("config"), "{what}: {}", show(&out));
        exposed.push((format!("invalid config ({what})"), show(&out)));
    }

    for (bin, args) in [
        ("cdc-capture", vec!["--help"]),
        ("cdc-sink", vec!["--help"]),
        ("cdc-sink", vec!["verify", "--help"]),
    ] {
        let out = run(bin, &args, &[], Duration::from_secs(30)).await;
        assert!(out.status.success(), "{bin} {args:?}: {}", show(&out));
        exposed.push((format!("{bin} {args:?}"), show(&out)));
    }

    p.stop_processes().await.unwrap();
    for log in ["capture.log", "sink.log"] {
        let text = read(&dir.join(log));
        assert!(
            text.lines().count() > 20 && text.contains("DEBUG"),
            "{log} must hold debug output"
        );
        exposed.push((log.to_owned(), text));
    }

    let secrets = [PG_PASSWORD, WRONG_PASSWORD, INLINE_PASSWORD, KAFKA_PASSWORD];
    let lines = assert_no_secrets(&exposed, &secrets, &dir);
    println!(
        "e2e security: {} sources ({lines} lines) free of 4 test secrets; capture and verify \
         ran as {ROLE}",
        exposed.len()
    );
    p.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
