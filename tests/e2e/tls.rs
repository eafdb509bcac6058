//! e2e: TLS to PostgreSQL. The test makes its own CA and server certificates (openssl) and
//! turns TLS on in the server.
//!
//! - `ssl_mode = verify_full` with the CA: snapshot and streaming reach Iceberg, and the
//!   server shows every `cdc-capture` connection (SQL and the replication walsender) as TLS;
//!   `cdc-sink verify --source-ssl-mode verify_full` with the CA prints `verify: OK`, with a
//!   foreign CA it fails naming the reason;
//! - a CA that did not sign the server certificate: the capture refuses to start, saying why;
//! - a server certificate for another host name: `verify_full` refuses it, naming both names;
//! - `verify_ca` with the CA connects and streams;
//! - the Debezium spelling (`database.sslmode=verify-full`, `database.sslrootcert`) translates;
//! - Kafka over TLS with SASL/SCRAM-SHA-512 (the test configures the broker's listener): the
//!   capture and the sink reach Kafka only through it; a wrong password stops the capture.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use cdc_e2e::pipeline::{Pipeline, DATABASE};
use cdc_e2e::security::{make_ca, make_server_cert, run_capture_to_exit};
use cdc_e2e::workload::{Spec, Workload};
use cdc_testkit::{free_port, workspace_binary};

fn show(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs a capture with `config` until it exits (it must, within a minute).
async fn run_capture(p: &Pipeline, config: &Path) -> Output {
    let env = [("CDC_TEST_PG_PASSWORD", p.pg.password())];
    run_capture_to_exit(config, &env, Duration::from_secs(60)).await
}

/// How many of the capture's sessions use TLS, and how many there are.
async fn capture_sessions(admin: &tokio_postgres::Client) -> (i64, i64) {
    let row = admin
        .query_one(
            "SELECT count(*) FILTER (WHERE s.ssl), count(*) FROM pg_stat_activity a \
             JOIN pg_stat_ssl s USING (pid) WHERE a.application_name = 'cdc-capture'",
            &[],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capture_verifies_the_server_certificate() {
    let mut p = Pipeline::start_named("tls").await.expect("start services");
    let dir = p.dir.clone();
    let certs = dir.join("certs");
    std::fs::create_dir_all(&certs).unwrap();
    make_ca(&certs, "ca");
    make_ca(&certs, "other-ca");
    let (cert, key) = make_server_cert(&certs, "ca", "server", "IP:127.0.0.1,DNS:localhost");
    p.pg.use_tls_certificate(&cert, &key).await.unwrap();

    let admin = p.connect().await.unwrap();
    let mut workload = Workload::setup(&admin, 5, 30, 40).await.unwrap();
    let ca = certs.join("ca.crt").display().to_string();
    // verify_full checks the certificate against the host name the capture connects to (the
    // replication client needs a DNS name for it).
    let host = format!("host = \"{}\"", p.pg.host());
    p.edit_capture_config(|toml| {
        toml.replace(&host, "host = \"localhost\"").replace(
            "database = ",
            &format!("ssl_mode = \"verify_full\"\nssl_root_cert = \"{ca}\"\ndatabase = "),
        )
    })
    .unwrap();
    let capture_toml = dir.join("capture.toml");
    let verified = std::fs::read_to_string(&capture_toml).unwrap();
    assert!(
        verified.contains("verify_full") && verified.contains("localhost"),
        "{verified}"
    );

    // verify_full with the right CA: the whole pipeline works, every session is TLS.
    p.start_capture().unwrap();
    p.start_sink().unwrap();
    p.wait_for_snapshot(70, Duration::from_secs(120))
        .await
        .unwrap();
    let spec = Spec {
        inserts: 60,
        updates: 30,
        pk_changes: 2,
        deletes: 10,
    };
    workload
        .run(&admin, spec, &AtomicUsize::new(0))
        .await
        .unwrap();
    p.wait_until_in_sync(Duration::from_secs(120))
        .await
        .unwrap_or_else(|e| panic!("{e}\n(logs in {})", dir.display()));
    let (tls, all) = capture_sessions(&admin).await;
    let walsenders: i64 = admin
        .query_one(
            "SELECT count(*) FROM pg_stat_replication r JOIN pg_stat_ssl s USING (pid) \
             WHERE r.application_name = 'cdc-capture' AND s.ssl",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    println!(
        "e2e tls: verify_full: {tls} of {all} capture sessions TLS, {walsenders} TLS walsender"
    );
    assert!(all >= 2 && tls == all, "{tls} of {all} sessions use TLS");
    assert_eq!(walsenders, 1, "the replication connection uses TLS");
    // cdc-sink verify over TLS (verify_full with the CA), and refusing a foreign CA.
    let verify = |root: &str| {
        Command::new(workspace_binary("cdc-sink").unwrap())
            .args(["verify", "--config"])
            .arg(dir.join("sink.toml"))
            .args([
                "--source",
                &format!(
                    "host=localhost port={} user={} dbname={DATABASE}",
                    p.pg.port(),
                    p.pg.user()
                ),
                "--table",
                "public.customers",
                "--source-ssl-mode",
                "verify_full",
                "--source-ssl-root-cert",
                root,
            ])
            .env("PGPASSWORD", p.pg.password())
            .output()
            .unwrap()
    };
    let out = verify(&ca);
    assert!(
        out.status.success()
            && String::from_utf8_lossy(&out.stdout).starts_with("verify: OK public.customers "),
        "{}",
        show(&out)
    );
    let out = verify(&certs.join("other-ca.crt").display().to_string());
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(show(&out).contains("UnknownIssuer"), "{}", show(&out));
    p.stop_processes().await.unwrap();

    // A CA that did not sign the server certificate.
    let other = dir.join("capture-other-ca.toml");
    std::fs::write(
        &other,
        verified
            .replace("ca.crt", "other-ca.crt")
            .replace("capture-state", "state-other"),
    )
    .unwrap();
    let out = run_capture(&p, &other).await;
    assert!(!out.status.success(), "{}", show(&out));
    assert!(show(&out).contains("UnknownIssuer"), "{}", show(&out));

    // A certificate for another host: verify_full refuses it, verify_ca accepts the chain.
    let (cert, key) = make_server_cert(&certs, "ca", "wrong-host", "DNS:db.elsewhere.invalid");
    p.pg.use_tls_certificate(&cert, &key).await.unwrap();
    let wrong_host = dir.join("capture-wrong-host.toml");
    std::fs::write(
        &wrong_host,
        verified.replace("capture-state", "state-wrong-host"),
    )
    .unwrap();
    let out = run_capture(&p, &wrong_host).await;
    assert!(!out.status.success(), "{}", show(&out));
    assert!(show(&out).contains("not valid for name"), "{}", show(&out));
    // verify_ca checks the chain only on the SQL connections; the replication client
    // (pgwire-replication 0.5.0) still checks the name, so it runs with the right certificate.
    let (cert, key) = make_server_cert(&certs, "ca", "server-2", "IP:127.0.0.1,DNS:localhost");
    p.pg.use_tls_certificate(&cert, &key).await.unwrap();
    p.edit_capture_config(|toml| toml.replace("verify_full", "verify_ca"))
        .unwrap();
    p.start_capture().unwrap();
    workload
        .run(&admin, spec, &AtomicUsize::new(0))
        .await
        .unwrap();
    p.start_sink().unwrap();
    p.wait_until_in_sync(Duration::from_secs(120))
        .await
        .unwrap_or_else(|e| panic!("verify_ca: {e}\n(logs in {})", dir.display()));
    let (tls, all) = capture_sessions(&admin).await;
    assert!(
        all >= 2 && tls == all,
        "verify_ca: {tls} of {all} sessions use TLS"
    );

    // Debezium's spelling translates to the same settings.
    let properties = dir.join("connector.properties");
    std::fs::write(
        &properties,
        format!(
            "connector.class=io.debezium.connector.postgresql.PostgresConnector\n\
             database.hostname=localhost\ndatabase.port={}\ndatabase.user=postgres\n\
             database.dbname=shop\ntopic.prefix=shop\ndatabase.sslmode=verify-full\n\
             database.sslrootcert={ca}\n",
            p.pg.port()
        ),
    )
    .unwrap();
    let out = Command::new(workspace_binary("cdc-capture").unwrap())
        .arg("--config")
        .arg(&properties)
        .arg("--check")
        .env(
            "CDC_CAPTURE__KAFKA__BOOTSTRAP_SERVERS",
            p.kafka.bootstrap_servers(),
        )
        .output()
        .unwrap();
    let text = show(&out);
    assert!(
        out.status.success() && text.contains("ssl_mode: VerifyFull") && text.contains("ca.crt"),
        "{text}"
    );
    p.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// The broker's SASL_SSL listener: TLS with a certificate of the test CA, SCRAM-SHA-512.
const KAFKA_USER: &str = "cdc-pipeline";
const KAFKA_PASSWORD: &str = "Scram-7d41c0e2";

/// librdkafka settings for the SASL_SSL listener; the password comes from an env var.
fn kafka_security(ca: &str) -> String {
    format!(
        "\"security.protocol\" = \"SASL_SSL\"\n\"sasl.mechanisms\" = \"SCRAM-SHA-512\"\n\
         \"sasl.username\" = \"{KAFKA_USER}\"\n\
         \"sasl.password\" = {{ env = \"CDC_TEST_KAFKA_PASSWORD\" }}\n\
         \"ssl.ca.location\" = \"{ca}\"\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capture_and_sink_use_kafka_over_tls_with_scram() {
    let dir = std::env::temp_dir().join(format!("cdc-e2e-kafka-tls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let certs = dir.join("certs");
    std::fs::create_dir_all(&certs).unwrap();
    make_ca(&certs, "ca");
    let (cert, key) = make_server_cert(&certs, "ca", "broker", "IP:127.0.0.1,DNS:localhost");
    let key_and_chain = certs.join("broker.pem");
    std::fs::write(&key_and_chain, format!("{key}{cert}")).unwrap();
    let secure = cdc_testkit::SecureListener {
        key_and_chain_pem: key_and_chain,
        scram_user: KAFKA_USER.into(),
        scram_password: KAFKA_PASSWORD.into(),
    };
    let mut p = Pipeline::start_with_secure_kafka(&dir, &secure)
        .await
        .expect("start PostgreSQL and Kafka with a SASL_SSL listener");
    let secure_bootstrap = p.kafka.secure_bootstrap_servers().unwrap();
    let plain_bootstrap = p.kafka.bootstrap_servers();
    let ca = certs.join("ca.crt").display().to_string();
    let security = kafka_security(&ca);

    // Both processes reach Kafka only through SASL_SSL.
    p.edit_capture_config(|toml| {
        format!(
            "{}\n[kafka.properties]\n{security}",
            toml.replace(&plain_bootstrap, &secure_bootstrap)
        )
    })
    .unwrap();
    p.edit_sink_config(|toml| {
        format!(
            "{}{security}",
            toml.replace(&plain_bootstrap, &secure_bootstrap)
        )
    })
    .unwrap();
    for config in ["capture.toml", "sink.toml"] {
        let text = std::fs::read_to_string(dir.join(config)).unwrap();
        assert!(
            !text.contains(&plain_bootstrap) && text.contains(&secure_bootstrap),
            "{config}: {text}"
        );
    }
    let admin = p.connect().await.unwrap();
    let mut workload = Workload::setup(&admin, 9, 20, 30).await.unwrap();
    let env = [("CDC_TEST_KAFKA_PASSWORD", KAFKA_PASSWORD)];
    let capture_config = dir.join("capture.toml").display().to_string();
    p.capture = Some(
        cdc_testkit::ManagedProcess::spawn(
            &workspace_binary("cdc-capture").unwrap(),
            &[
                "--config",
                &capture_config,
                "--metrics-listen",
                &p.capture_metrics,
            ],
            &[env[0], ("CDC_TEST_PG_PASSWORD", p.pg.password())],
            &dir.join("capture.log"),
        )
        .unwrap(),
    );
    let sink_config = dir.join("sink.toml").display().to_string();
    p.sink = Some(
        cdc_testkit::ManagedProcess::spawn(
            &workspace_binary("cdc-sink").unwrap(),
            &["--config", &sink_config],
            &env,
            &dir.join("sink.log"),
        )
        .unwrap(),
    );
    p.wait_for_snapshot(50, Duration::from_secs(120))
        .await
        .unwrap_or_else(|e| panic!("{e}\n(logs in {})", dir.display()));
    let spec = Spec {
        inserts: 50,
        updates: 20,
        pk_changes: 2,
        deletes: 10,
    };
    workload
        .run(&admin, spec, &AtomicUsize::new(0))
        .await
        .unwrap();
    p.wait_until_in_sync(Duration::from_secs(120))
        .await
        .unwrap_or_else(|e| panic!("{e}\n(logs in {})", dir.display()));
    let report = p.check_topics().await.unwrap();
    assert!(report.records >= 50 + 82, "{report:?}");
    println!(
        "e2e kafka tls: {} records through SASL_SSL (SCRAM-SHA-512)",
        report.records
    );
    p.stop_processes().await.unwrap();

    // A wrong password is refused by the broker: the capture cannot start.
    let out = tokio::time::timeout(Duration::from_secs(90), {
        let mut command = tokio::process::Command::new(workspace_binary("cdc-capture").unwrap());
        command
            .args(["--config", &capture_config])
            .args(["--metrics-listen", &format!("127.0.0.1:{}", free_port())])
            .env("CDC_TEST_KAFKA_PASSWORD", "not-the-password")
            .env("CDC_TEST_PG_PASSWORD", p.pg.password())
            .kill_on_drop(true);
        command.output()
    })
    .await
    .expect("a capture with a wrong Kafka password exits")
    .unwrap();
    // (librdkafka reports the refused login only as a timeout of the first request.)
    assert!(!out.status.success(), "{}", show(&out));
    assert!(show(&out).contains("Kafka"), "{}", show(&out));
    p.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
