//! Orphan-file removal: files under a table's location that neither a snapshot (manifest
//! lists, manifests, live data and delete files) nor the metadata log references, and that
//! are older than `orphan_min_age_secs` — a commit in progress has written files it does not
//! reference yet, so young files are never touched. Left behind by failed commits, crashes
//! and expired snapshots whose cleanup was interrupted. Local warehouses only.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use iceberg::table::Table;

use super::expire::remove;
use super::reachable::{collect, local_path, local_paths, metadata_files, ManifestCache};
use crate::SinkError;

/// Deletes the orphan files of `table`; returns how many.
pub(crate) async fn remove_orphans(
    table: &Table,
    name: &str,
    min_age: Duration,
    now: SystemTime,
    cache: &mut ManifestCache,
) -> Result<usize, SinkError> {
    let md = table.metadata();
    let Some(location) = local_path(md.location()) else {
        tracing::debug!(
            table = name,
            location = md.location(),
            "orphan removal skipped: not a local table location"
        );
        return Ok(0);
    };
    let mut referenced = metadata_files(table);
    collect(table, name, md.snapshots(), true, cache, &mut referenced).await?;
    let referenced = local_paths(&referenced);
    let cutoff = now.checked_sub(min_age).unwrap_or(SystemTime::UNIX_EPOCH);
    let files = tokio::task::spawn_blocking({
        let location = location.clone();
        move || walk(&location)
    })
    .await
    .map_err(|e| SinkError::Io {
        context: format!("table {name}: listing files panicked: {e}"),
        path: location.clone(),
        source: std::io::Error::other(e.to_string()),
    })??;
    let mut removed = 0;
    for (path, modified) in files {
        if modified < cutoff && !referenced.contains(&path) && remove(name, &path).await? {
            tracing::info!(table = name, file = %path.display(), "removed orphan file");
            removed += 1;
        }
    }
    Ok(removed)
}

/// Every regular file under `dir`, with its modification time.
fn walk(dir: &Path) -> Result<Vec<(PathBuf, SystemTime)>, SinkError> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_owned()];
    let mut seen: HashSet<PathBuf> = HashSet::new();
    while let Some(dir) = pending.pop() {
        let io_err = |source| SinkError::Io {
            context: format!("cannot list {}", dir.display()),
            path: dir.clone(),
            source,
        };
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io_err(e)),
        };
        for entry in entries {
            let entry = entry.map_err(io_err)?;
            // `file_type` does not follow symlinks: links are neither walked nor deleted.
            let kind = entry.file_type().map_err(io_err)?;
            let path = entry.path();
            if kind.is_dir() {
                if seen.insert(path.clone()) {
                    pending.push(path);
                }
            } else if kind.is_file() {
                let modified = entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .map_err(io_err)?;
                files.push((path, modified));
            }
        }
    }
    Ok(files)
}
