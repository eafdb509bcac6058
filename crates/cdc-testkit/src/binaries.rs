//! Finding the workspace's own binaries (built by `cargo build --bins`) from a test.

use std::path::{Path, PathBuf};

use crate::TestkitError;

/// Locates the workspace binary `name` (e.g. `"cdc-capture"`).
///
/// Looked for, in order: next to the current executable; in the parent of
/// that directory if it is named `deps` (where cargo puts test executables,
/// so this is `target/<profile>/`); in `$CARGO_TARGET_DIR/debug`. Fails with
/// [`TestkitError::BinaryNotFound`], listing the places searched and hinting
/// at `cargo build --bins`.
///
/// Note that `cargo test` only builds the binaries of the package under test;
/// tests that run other packages' binaries need a `cargo build --bins` first.
pub fn workspace_binary(name: &str) -> Result<PathBuf, TestkitError> {
    let file_name = format!("{name}{}", std::env::consts::EXE_SUFFIX);
    let searched = candidate_dirs()
        .into_iter()
        .map(|dir| dir.join(&file_name))
        .collect::<Vec<_>>();
    searched
        .iter()
        .find(|path| is_executable_file(path))
        .cloned()
        .ok_or_else(|| TestkitError::BinaryNotFound {
            name: name.to_string(),
            searched,
        })
}

fn candidate_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
    {
        if exe_dir.file_name().is_some_and(|n| n == "deps") {
            if let Some(profile_dir) = exe_dir.parent() {
                dirs.push(profile_dir.to_path_buf());
            }
        }
        dirs.insert(0, exe_dir);
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR").filter(|v| !v.is_empty()) {
        let debug = PathBuf::from(target).join("debug");
        if !dirs.contains(&debug) {
            dirs.push(debug);
        }
    }
    dirs
}

fn is_executable_file(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_binary_names_search_path_and_hint() {
        let err = workspace_binary("no-such-binary-xyz").expect_err("must not exist");
        let text = err.to_string();
        assert!(text.contains("no-such-binary-xyz"), "{text}");
        assert!(text.contains("cargo build --bins"), "{text}");
    }
}
