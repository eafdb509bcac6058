//! Running PostgreSQL as an unprivileged OS user.
//!
//! PostgreSQL refuses to run as root. When this process is root, initdb and
//! postgres are run as the `postgres` OS user (created by the Debian package)
//! by setting the child's uid/gid directly (no `su`/`runuser` wrapper, so the
//! spawned PID is the postmaster itself), and the directories they write are
//! chowned to that user. When not root, everything runs as the current user.

use std::ffi::CString;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use crate::TestkitError;

/// The OS user PostgreSQL runs as when we are root.
const SERVICE_USER: &str = "postgres";

/// An OS user to run a service as.
#[derive(Debug, Clone)]
pub(crate) struct ServiceUser {
    name: String,
    uid: u32,
    gid: u32,
}

impl ServiceUser {
    /// `Some(postgres user)` when running as root, `None` otherwise.
    pub(crate) fn for_postgres() -> Result<Option<ServiceUser>, TestkitError> {
        // SAFETY: geteuid has no preconditions and cannot fail.
        if unsafe { libc::geteuid() } != 0 {
            return Ok(None);
        }
        lookup(SERVICE_USER).map(Some)
    }

    /// Makes `command` run as this user (its primary group, no supplementary groups).
    pub(crate) fn apply(&self, command: &mut Command) {
        command.uid(self.uid).gid(self.gid);
        command.env("USER", &self.name).env("LOGNAME", &self.name);
    }

    /// Gives `path` (not recursively) to this user.
    pub(crate) fn chown(&self, path: &Path) -> Result<(), TestkitError> {
        std::os::unix::fs::chown(path, Some(self.uid), Some(self.gid))
            .map_err(|e| TestkitError::io(format!("chown {} to {}", path.display(), self.name), e))
    }

    /// Checks that this user can reach the absolute path `dir`: every existing
    /// ancestor must be searchable (x bit) by it (missing ones will be created
    /// 0755 by us). Catches e.g. a demo directory under root's 0700 home.
    pub(crate) fn check_can_reach(&self, dir: &Path) -> Result<(), TestkitError> {
        for ancestor in dir.ancestors().skip(1) {
            let meta = match ancestor.metadata() {
                Ok(meta) => meta,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(TestkitError::io(format!("stat {}", ancestor.display()), e)),
            };
            let mode = meta.mode();
            let searchable = if meta.uid() == self.uid {
                mode & 0o100 != 0
            } else if meta.gid() == self.gid {
                mode & 0o010 != 0
            } else {
                mode & 0o001 != 0
            };
            if !searchable {
                return Err(TestkitError::Environment(format!(
                    "PostgreSQL runs as OS user `{}`, which cannot enter {} (mode {:o}) to reach {}; \
                     choose a directory outside it (e.g. under /tmp) or make it searchable (chmod o+x)",
                    self.name,
                    ancestor.display(),
                    mode & 0o7777,
                    dir.display()
                )));
            }
        }
        Ok(())
    }
}

/// Looks up a user by name with the re-entrant `getpwnam_r`.
fn lookup(name: &str) -> Result<ServiceUser, TestkitError> {
    let c_name = CString::new(name)
        .map_err(|_| TestkitError::Environment(format!("invalid user name {name:?}")))?;
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: `passwd` is plain old data; all-zero is a valid (if meaningless) value.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: all pointers are valid for the duration of the call and `buf.len()`
    // is the true size of `buf`; getpwnam_r writes only into `pwd` and `buf`.
    let rc = unsafe {
        libc::getpwnam_r(
            c_name.as_ptr(),
            &mut pwd,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        )
    };
    if rc != 0 {
        return Err(TestkitError::io(
            format!("look up OS user `{name}`"),
            std::io::Error::from_raw_os_error(rc),
        ));
    }
    if result.is_null() {
        return Err(TestkitError::Environment(format!(
            "running as root, so PostgreSQL must run as OS user `{name}`, which does not exist \
             (install the Debian postgresql package or create the user)"
        )));
    }
    Ok(ServiceUser {
        name: name.to_string(),
        uid: pwd.pw_uid,
        gid: pwd.pw_gid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_can_be_looked_up() {
        let root = lookup("root").expect("root exists");
        assert_eq!(root.uid, 0);
    }

    #[test]
    fn missing_user_is_an_environment_error() {
        let err = lookup("no-such-user-cdc-testkit").expect_err("must not exist");
        assert!(matches!(err, TestkitError::Environment(_)), "{err}");
    }
}
