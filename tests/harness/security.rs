//! Security helpers of the e2e tests: a private CA and server certificates made with the
//! `openssl` command (dev/lib/install.sh installs it), and the search of everything an
//! operator could read (logs, outputs, metrics) for test secrets.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use cdc_testkit::{free_port, workspace_binary};

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl (dev/lib/install.sh installs it)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A self-signed CA `<name>.crt` / `<name>.key` in `dir`.
pub fn make_ca(dir: &Path, name: &str) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            &format!("/CN={name}"),
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.crt"),
        ],
    );
}

/// A server certificate `<name>.crt` / `<name>.key` in `dir` for `san` (an openssl
/// subjectAltName list, e.g. `IP:127.0.0.1,DNS:localhost`), signed by the CA `ca`; returns
/// (certificate PEM, key PEM).
pub fn make_server_cert(dir: &Path, ca: &str, name: &str, san: &str) -> (String, String) {
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=cdc-test-server",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.csr"),
        ],
    );
    std::fs::write(
        dir.join(format!("{name}.ext")),
        format!("subjectAltName={san}\n"),
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            &format!("{ca}.crt"),
            "-CAkey",
            &format!("{ca}.key"),
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &format!("{name}.ext"),
            "-out",
            &format!("{name}.crt"),
        ],
    );
    let read = |f: String| std::fs::read_to_string(dir.join(f)).unwrap();
    (read(format!("{name}.crt")), read(format!("{name}.key")))
}

/// `"<secret> in <source>"` for every secret found in the text of a source (a log, an
/// output, a page): empty when nothing leaked.
fn leaked_secrets(exposed: &[(String, String)], secrets: &[&str]) -> Vec<String> {
    let mut leaks = Vec::new();
    for (source, text) in exposed {
        for secret in secrets {
            if text.contains(secret) {
                leaks.push(format!("{secret} in {source}"));
            }
        }
    }
    leaks
}

/// Asserts that no secret appears in any source of `exposed` (logs kept in `logs`, named in
/// the failure); returns the number of lines searched.
pub fn assert_no_secrets(exposed: &[(String, String)], secrets: &[&str], logs: &Path) -> usize {
    let leaks = leaked_secrets(exposed, secrets);
    assert!(
        leaks.is_empty(),
        "secrets leaked: {leaks:?} (logs in {})",
        logs.display()
    );
    exposed.iter().map(|(_, t)| t.lines().count()).sum()
}

/// Runs `cdc-capture --config <config>` with `env` (metrics on a free port) until it exits,
/// which it must within `timeout` (a TLS or login failure ends it); its output.
pub async fn run_capture_to_exit(config: &Path, env: &[(&str, &str)], timeout: Duration) -> Output {
    let mut command = tokio::process::Command::new(workspace_binary("cdc-capture").unwrap());
    command
        .arg("--config")
        .arg(config)
        .args(["--metrics-listen", &format!("127.0.0.1:{}", free_port())])
        .envs(env.iter().copied())
        .kill_on_drop(true);
    tokio::time::timeout(timeout, command.output())
        .await
        .expect("the capture exits")
        .expect("run cdc-capture")
}
