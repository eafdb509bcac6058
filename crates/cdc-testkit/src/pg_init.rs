//! Creating a PostgreSQL cluster on disk: initdb as the right OS user, then
//! the testkit's `postgresql.conf` additions and `pg_hba.conf`.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::process::Command;

use crate::os_user::ServiceUser;
use crate::pg_install::PgInstall;
use crate::TestkitError;

/// The superuser created by initdb.
pub(crate) const USER: &str = "postgres";
/// The superuser's password.
pub(crate) const PASSWORD: &str = "postgres";

/// Settings appended to `postgresql.conf` after initdb.
const CONF: &str = "
# ---- added by cdc-testkit ----
wal_level = logical
max_replication_slots = 10
max_wal_senders = 10
fsync = off
synchronous_commit = off
full_page_writes = off
log_line_prefix = '%m [%p] %q%u@%d '
";

/// `pg_hba.conf`: trust over the unix socket, password (SCRAM) over loopback TCP,
/// both for normal and replication connections.
const PG_HBA: &str = "\
# written by cdc-testkit
# TYPE  DATABASE     USER  ADDRESS        METHOD
local   all          all                  trust
local   replication  all                  trust
host    all          all   127.0.0.1/32   scram-sha-256
host    replication  all   127.0.0.1/32   scram-sha-256
host    all          all   ::1/128        scram-sha-256
host    replication  all   ::1/128        scram-sha-256
";

/// Makes `dir` usable by the server's OS user.
pub(crate) fn prepare_dir(dir: &Path, user: Option<&ServiceUser>) -> Result<(), TestkitError> {
    use std::os::unix::fs::PermissionsExt;
    let Some(user) = user else {
        return Ok(());
    };
    user.check_can_reach(dir)?;
    // The postgres user writes the unix socket here; others may look in.
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| TestkitError::io(format!("chmod {}", dir.display()), e))?;
    user.chown(dir)
}

/// Runs initdb into `data` and writes the testkit's configuration.
pub(crate) fn init_cluster(
    install: &PgInstall,
    dir: &Path,
    data: &Path,
    user: Option<&ServiceUser>,
) -> Result<(), TestkitError> {
    let pwfile = dir.join(".pwfile");
    std::fs::write(&pwfile, format!("{PASSWORD}\n"))
        .map_err(|e| TestkitError::io(format!("write {}", pwfile.display()), e))?;
    if let Some(user) = user {
        user.chown(&pwfile)?;
    }
    let initdb = install.binary("initdb");
    let mut command = Command::new(&initdb);
    command
        .arg("-D")
        .arg(data)
        .args([
            "-U",
            USER,
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
        ])
        .args(["-E", "UTF8", "--locale=C", "--no-sync"])
        .arg(format!("--pwfile={}", pwfile.display()))
        .current_dir(dir);
    if let Some(user) = user {
        user.apply(&mut command);
    }
    let output = command
        .output()
        .map_err(|e| TestkitError::io(format!("run {}", initdb.display()), e))?;
    let _ = std::fs::remove_file(&pwfile);
    if !output.status.success() {
        return Err(TestkitError::Command {
            what: format!("initdb -D {}", data.display()),
            status: output.status.to_string(),
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        });
    }
    let conf = data.join("postgresql.conf");
    OpenOptions::new()
        .append(true)
        .open(&conf)
        .and_then(|mut f| f.write_all(CONF.as_bytes()))
        .map_err(|e| TestkitError::io(format!("append to {}", conf.display()), e))?;
    let hba = data.join("pg_hba.conf");
    std::fs::write(&hba, PG_HBA)
        .map_err(|e| TestkitError::io(format!("write {}", hba.display()), e))
}
