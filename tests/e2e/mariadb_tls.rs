//! e2e: TLS to MariaDB, as a least-privileged user.
//!
//! The test makes its own CA and a server certificate for 127.0.0.1, and starts MariaDB with
//! it and `require_secure_transport = ON` (plaintext TCP logins are refused). It creates a
//! capture user with only `REPLICATION SLAVE`, `REPLICATION CLIENT` (MariaDB's `BINLOG
//! MONITOR`), `RELOAD` (for `FLUSH TABLES WITH READ LOCK`) and `SELECT` on the captured
//! database, `REQUIRE SSL`. Then:
//!
//! - `ssl_mode = disable` is refused by the server (secure transport required);
//! - a CA that did not sign the server certificate: the capture refuses to start, saying why;
//! - `ssl_mode = verify_full` with the test CA: the snapshot and the streamed changes reach
//!   Kafka and Iceberg, and `cdc-sink verify --source-ssl-mode verify_full` prints
//!   `verify: OK` for both tables (with a foreign CA it refuses the server). The server enforces TLS for every login of the capture
//!   user (`REQUIRE SSL`: snapshot, schema and dump connections alike), and while the capture
//!   streams its `performance_schema` shows every live session of the user (the binlog dump
//!   among them) with a TLS cipher;
//! - the user's password appears in none of the logs and outputs (capture at debug level).
//!
//! And `prefer` (the default) falls back to plaintext on a server without TLS, saying so.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cdc_e2e::mariadb::{show_output, verified_rows, MariaDbPipeline, PASSWORD_ENV};
use cdc_e2e::mariadb_workload::{MariaDbWorkload, TABLES};
use cdc_e2e::security::{assert_no_secrets, make_ca, make_server_cert, run_capture_to_exit};
use cdc_e2e::workload::Spec;
use cdc_testkit::{free_port, workspace_binary, ManagedProcess, MariaDbServer, MariaDbTls};
use mysql_async::prelude::Queryable;

/// The least-privileged capture user, and a password that cannot occur in logs by accident.
const USER: &str = "cdc_tls";
const PASSWORD: &str = "Maria-Tls-4c1d9b7e";

/// `(command, Ssl_cipher)` of every current session of the capture user.
async fn capture_sessions(p: &MariaDbPipeline) -> Vec<(String, String)> {
    let mut conn = p.db.connect_admin().await.unwrap();
    let rows: Vec<(Option<String>, Option<String>)> = conn
        .exec(
            "SELECT t.PROCESSLIST_COMMAND, s.VARIABLE_VALUE FROM performance_schema.threads t \
             LEFT JOIN performance_schema.status_by_thread s ON s.THREAD_ID = t.THREAD_ID \
             AND s.VARIABLE_NAME = 'Ssl_cipher' WHERE t.PROCESSLIST_USER = ?",
            (USER,),
        )
        .await
        .unwrap();
    let _ = conn.disconnect().await;
    rows.into_iter()
        .map(|(c, s)| (c.unwrap_or_default(), s.unwrap_or_default()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn least_privileged_capture_over_verified_tls() {
    let dir = std::env::temp_dir().join(format!("cdc-e2e-mariadb-tls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let certs = dir.join("certs");
    std::fs::create_dir_all(&certs).unwrap();
    make_ca(&certs, "ca");
    make_ca(&certs, "other-ca");
    let (cert, key) = make_server_cert(&certs, "ca", "server", "IP:127.0.0.1,DNS:localhost");
    let ca = certs.join("ca.crt").display().to_string();

    let (mut workload, mut setup) = MariaDbWorkload::setup(23, 30, 40);
    setup.extend([
        format!("CREATE USER '{USER}'@'127.0.0.1' IDENTIFIED BY '{PASSWORD}' REQUIRE SSL"),
        format!(
            "GRANT REPLICATION SLAVE, REPLICATION CLIENT, RELOAD ON *.* TO '{USER}'@'127.0.0.1'"
        ),
        format!("GRANT SELECT ON shop.* TO '{USER}'@'127.0.0.1'"),
    ]);
    let tls = MariaDbTls {
        cert_pem: &cert,
        key_pem: &key,
        require_secure_transport: true,
    };
    let mut p = MariaDbPipeline::start_with_tls(
        &dir,
        "mtls",
        &TABLES,
        &setup,
        tls,
        &["--performance-schema=ON"],
    )
    .await
    .expect("start MariaDB with TLS and Kafka");
    let grants = p
        .text_rows(&format!("SHOW GRANTS FOR '{USER}'@'127.0.0.1'"))
        .await
        .unwrap();
    let grants: Vec<String> = grants
        .into_iter()
        .flatten()
        .flatten()
        .map(|g| match g.split_once(" IDENTIFIED BY") {
            Some((grant, _)) => format!("{grant} … REQUIRE SSL"),
            None => g,
        })
        .collect();
    println!("e2e mariadb tls: grants of {USER}: {grants:?}");
    p.use_login(USER, PASSWORD).unwrap();
    p.edit_capture_config(|toml| {
        toml.replace(
            "server_id = 5500\n",
            &format!("server_id = 5500\nssl_mode = \"verify_full\"\nssl_root_cert = \"{ca}\"\n"),
        )
    })
    .unwrap();
    let verified = std::fs::read_to_string(p.capture_config()).unwrap();
    assert!(
        verified.contains("verify_full") && verified.contains(USER),
        "{verified}"
    );
    let env = [(PASSWORD_ENV, PASSWORD), ("RUST_LOG", "debug")];
    let mut exposed: Vec<(String, String)> = Vec::new();

    // Plaintext: the server refuses the login.
    let plain = dir.join("capture-plain.toml");
    std::fs::write(
        &plain,
        verified.replace("ssl_mode = \"verify_full\"", "ssl_mode = \"disable\""),
    )
    .unwrap();
    let out = run_capture_to_exit(&plain, &env, Duration::from_secs(60)).await;
    let text = show_output(&out);
    assert!(!out.status.success(), "{text}");
    // (MariaDB refuses a REQUIRE SSL user's plaintext login as a failed login.)
    assert!(text.contains("Access denied for user 'cdc_tls'"), "{text}");
    exposed.push(("plaintext capture".into(), text));
    // And any plaintext TCP login, whoever the user: the testkit's `cdc` user (no REQUIRE
    // SSL) logs in over TLS (the testkit's own connections) but not in plaintext. (MariaDB
    // 10.11 reports the refusal as a failed login.)
    let secure: Vec<Vec<Option<String>>> = p
        .text_rows("SELECT @@require_secure_transport")
        .await
        .unwrap();
    assert_eq!(secure, [[Some("1".to_owned())]]);
    let mut over_tls = mysql_async::Conn::new(p.db.cdc_opts()).await.unwrap();
    let cipher: Option<(String, String)> = over_tls
        .query_first("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
        .await
        .unwrap();
    assert!(cipher.is_some_and(|(_, c)| !c.is_empty()));
    let _ = over_tls.disconnect().await;
    let (cdc, cdc_password) = p.db.cdc_user();
    let plain_login = mysql_async::OptsBuilder::default()
        .ip_or_hostname(p.db.host())
        .tcp_port(p.db.port())
        .user(Some(cdc))
        .pass(Some(cdc_password))
        .prefer_socket(false);
    let refused = mysql_async::Conn::new(plain_login).await.err().unwrap();
    assert!(
        refused.to_string().contains("Access denied for user 'cdc'"),
        "{refused}"
    );

    // A foreign CA: the certificate is refused.
    let foreign = dir.join("capture-other-ca.toml");
    std::fs::write(&foreign, verified.replace("ca.crt", "other-ca.crt")).unwrap();
    let out = run_capture_to_exit(&foreign, &env, Duration::from_secs(60)).await;
    let text = show_output(&out);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("UnknownIssuer"), "{text}");
    println!(
        "e2e mariadb tls: foreign CA refused: {}",
        text.lines().find(|l| l.contains("UnknownIssuer")).unwrap()
    );
    exposed.push(("foreign CA capture".into(), text));

    // verify_full with the test CA: snapshot and streaming.
    let config = p.capture_config().display().to_string();
    let listen = format!("127.0.0.1:{}", free_port());
    p.capture = Some(
        ManagedProcess::spawn(
            &workspace_binary("cdc-capture").unwrap(),
            &["--config", &config, "--metrics-listen", &listen],
            &env,
            &dir.join("capture.log"),
        )
        .unwrap(),
    );
    p.start_sink().unwrap();
    p.verify_args = vec![
        "--source-ssl-mode".into(),
        "verify_full".into(),
        "--source-ssl-root-cert".into(),
        ca.clone(),
    ];
    let timeout = Duration::from_secs(180);
    let t0 = Instant::now();
    let out = p
        .verify_until_with(&TABLES, timeout, |stdout| {
            verified_rows(stdout, &TABLES)
                == Some(vec![
                    ("shop.customers".into(), 30),
                    ("shop.orders".into(), 40),
                ])
        })
        .await
        .unwrap_or_else(|e| panic!("snapshot: {e}\n(logs in {})", dir.display()));
    println!(
        "e2e mariadb tls: snapshot verified over TLS after {:.1}s",
        t0.elapsed().as_secs_f64()
    );
    exposed.push(("verify (snapshot)".into(), show_output(&out)));

    let spec = Spec {
        inserts: 60,
        updates: 30,
        pk_changes: 3,
        deletes: 12,
    };
    let (transactions, done) = workload.transactions(spec);
    for sql in &transactions {
        p.db.execute(sql).await.unwrap();
    }
    let counts = [
        p.count("shop.customers").await.unwrap() as u64,
        p.count("shop.orders").await.unwrap() as u64,
    ];
    let seen = AtomicUsize::new(0);
    let out = p
        .verify_until_with(&TABLES, timeout, |stdout| {
            seen.fetch_add(1, Ordering::Relaxed);
            verified_rows(stdout, &TABLES)
                == Some(vec![
                    ("shop.customers".into(), counts[0]),
                    ("shop.orders".into(), counts[1]),
                ])
        })
        .await
        .unwrap_or_else(|e| panic!("streaming: {e}\n(logs in {})", dir.display()));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(stdout.contains("verify: OK shop.orders"), "{stdout}");
    println!(
        "e2e mariadb tls: {} transactions ({} inserts, {} updates, {} deletes) streamed and \
         verified over TLS ({} verify runs)",
        transactions.len(),
        done.inserts,
        done.updates,
        done.deletes,
        seen.load(Ordering::Relaxed)
    );
    exposed.push(("verify (streaming)".into(), show_output(&out)));
    // verify with a foreign CA refuses the server.
    let trusted = std::mem::replace(
        &mut p.verify_args[3],
        certs.join("other-ca.crt").display().to_string(),
    );
    let out = p.verify(&TABLES).unwrap();
    let text = show_output(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("UnknownIssuer"), "{text}");
    exposed.push(("verify (foreign CA)".into(), text));
    p.verify_args[3] = trusted;

    // The server's view: every session of the capture user is TLS, the binlog dump included.
    let sessions = capture_sessions(&p).await;
    let mut admin = p.db.connect_admin().await.unwrap();
    let logins: Option<u64> = admin
        .exec_first(
            "SELECT TOTAL_CONNECTIONS FROM performance_schema.accounts WHERE USER = ?",
            (USER,),
        )
        .await
        .unwrap();
    let _ = admin.disconnect().await;
    println!(
        "e2e mariadb tls: {} logins of {USER} (REQUIRE SSL: all TLS); live sessions \
         (command, cipher): {sessions:?}",
        logins.unwrap_or(0)
    );
    assert!(
        sessions.iter().any(|(command, _)| command == "Binlog Dump"),
        "no binlog dump session of {USER}: {sessions:?}"
    );
    assert!(
        sessions.iter().all(|(_, cipher)| !cipher.is_empty()),
        "a session without TLS: {sessions:?}"
    );

    p.check_running().unwrap();
    let capture_log = dir.join("capture.log");
    let sink_log = dir.join("sink.log");
    let shutdown = p.shutdown().await;
    for log in [&capture_log, &sink_log] {
        let text = std::fs::read_to_string(log).unwrap();
        exposed.push((log.display().to_string(), text));
    }
    shutdown.unwrap();
    assert!(
        exposed[exposed.len() - 2].1.contains("DEBUG"),
        "the capture log must hold debug output"
    );
    let lines = assert_no_secrets(&exposed, &[PASSWORD], &dir);
    println!(
        "e2e mariadb tls: {} outputs and logs ({lines} lines) free of the password",
        exposed.len()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `prefer` (the default) against a server without TLS falls back to plaintext, says so, and
/// the capture proceeds (the server check runs over the plaintext connection).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefer_falls_back_to_plaintext_without_server_tls() {
    let dir = std::env::temp_dir().join(format!("cdc-e2e-mariadb-prefer-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = MariaDbServer::start().await.expect("start MariaDB");
    db.execute("CREATE DATABASE shop; CREATE TABLE shop.t (id INT PRIMARY KEY)")
        .await
        .unwrap();
    let (user, password) = db.cdc_user();
    let config = dir.join("capture.toml");
    // Kafka is never reached: the source connection comes first.
    std::fs::write(
        &config,
        format!(
            "topic_prefix = \"p\"\n[source]\nkind = \"mariadb\"\nhost = \"{}\"\nport = {}\n\
             user = \"{user}\"\npassword = {{ env = \"{PASSWORD_ENV}\" }}\nserver_id = 5501\n\
             tables = [\"shop.t\"]\n[kafka]\nbootstrap_servers = \"127.0.0.1:{}\"\n",
            db.host(),
            db.port(),
            free_port()
        ),
    )
    .unwrap();
    let config = config.display().to_string();
    let listen = format!("127.0.0.1:{}", free_port());
    let mut capture = ManagedProcess::spawn(
        &workspace_binary("cdc-capture").unwrap(),
        &["--config", &config, "--metrics-listen", &listen],
        &[(PASSWORD_ENV, password)],
        &dir.join("capture.log"),
    )
    .unwrap();
    let log = dir.join("capture.log");
    let fell_back = cdc_testkit::wait_until(
        Instant::now() + Duration::from_secs(60),
        Duration::from_millis(100),
        || async {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            text.contains("offers no TLS: connecting in plaintext")
                && text.contains("binlog settings checked")
        },
    )
    .await;
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    capture.kill9().unwrap();
    fell_back.unwrap_or_else(|_| panic!("no plaintext fallback:\n{text}"));
    assert!(!text.contains("TLS to the source"), "{text}");
    println!("e2e mariadb tls: prefer fell back to plaintext on a server without TLS");
    db.stop().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
