//! Snapshot expiry: snapshots older than `max_snapshot_age_secs` are removed from the table
//! metadata — except the newest `min_snapshots_to_keep` of the main branch and every
//! snapshot a branch or tag points at — then the manifest lists, manifests, data and delete
//! files that only expired snapshots referenced are deleted.
//!
//! Old metadata files: every commit trims the metadata log to
//! `write.metadata.previous-versions-max` entries (default 100); metadata files older than
//! the oldest one still logged are deleted here, unless the table sets
//! `write.metadata.delete-after-commit.enabled = false`.

use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use iceberg::spec::TableMetadata;
use iceberg::Catalog;

use super::reachable::{collect, local_path, local_paths, metadata_files, ManifestCache};
use crate::commit::pointer::CatalogPointer;
use crate::commit::OwnedTable;
use crate::config::MaintenanceConfig;
use crate::SinkError;

/// Table property: whether metadata files that left the metadata log are deleted.
const PROP_DELETE_AFTER_COMMIT: &str = "write.metadata.delete-after-commit.enabled";

#[derive(Debug, Default)]
pub(crate) struct Expired {
    pub snapshots: usize,
    /// Manifest lists, manifests, data and delete files deleted.
    pub files_deleted: usize,
    pub metadata_files_deleted: usize,
}

/// The snapshots of `md` to expire at `now`.
pub(crate) fn expired_snapshots(
    md: &TableMetadata,
    config: &MaintenanceConfig,
    now: SystemTime,
) -> Vec<i64> {
    if config.min_snapshots_to_keep == 0 {
        return Vec::new();
    }
    let cutoff = now
        .checked_sub(Duration::from_secs(config.max_snapshot_age_secs))
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(i64::MIN, |d| {
            i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
        });
    let Some(mut keep) = ref_snapshot_ids(md) else {
        tracing::warn!("cannot read the table's branches and tags; no snapshot expired");
        return Vec::new();
    };
    let mut ancestor = md.current_snapshot();
    for _ in 0..config.min_snapshots_to_keep {
        let Some(s) = ancestor else { break };
        keep.insert(s.snapshot_id());
        ancestor = s.parent_snapshot_id().and_then(|p| md.snapshot_by_id(p));
    }
    let mut ids: Vec<i64> = md
        .snapshots()
        .filter(|s| s.timestamp_ms() < cutoff && !keep.contains(&s.snapshot_id()))
        .map(|s| s.snapshot_id())
        .collect();
    ids.sort_unstable();
    ids
}

/// The snapshots branches and tags point at. iceberg 0.10.1 has no public accessor for the
/// refs (only a lookup by name), so they are read from the metadata's JSON form.
/// `None` if they cannot be read (then nothing is expired).
fn ref_snapshot_ids(md: &TableMetadata) -> Option<HashSet<i64>> {
    let mut ids: HashSet<i64> = md.current_snapshot_id().into_iter().collect();
    let json = serde_json::to_value(md).ok()?;
    if let Some(refs) = json.get("refs").and_then(|r| r.as_object()) {
        for r in refs.values() {
            ids.insert(r.get("snapshot-id").and_then(serde_json::Value::as_i64)?);
        }
    }
    Some(ids)
}

/// Expires `owned`'s old snapshots and deletes the files only they referenced.
pub(crate) async fn expire(
    owned: &mut OwnedTable,
    catalog: &dyn Catalog,
    pointer: &CatalogPointer,
    config: &MaintenanceConfig,
    now: SystemTime,
    cache: &mut ManifestCache,
) -> Result<Expired, SinkError> {
    let name = owned.name.clone();
    let ids = expired_snapshots(owned.table.metadata(), config, now);
    let mut expired = Expired::default();
    if !ids.is_empty() {
        let before = owned.table.clone();
        owned.remove_snapshots(catalog, pointer, &ids).await?;
        expired.snapshots = ids.len();
        let after = owned.table.clone();
        let mut retained = HashSet::new();
        collect(
            &after,
            &name,
            after.metadata().snapshots(),
            true,
            cache,
            &mut retained,
        )
        .await?;
        let mut candidates = HashSet::new();
        let gone = ids
            .iter()
            .filter_map(|id| before.metadata().snapshot_by_id(*id));
        collect(&before, &name, gone, false, cache, &mut candidates).await?;
        let retained = local_paths(&retained);
        let location = local_path(after.metadata().location());
        for file in local_paths(&candidates) {
            let inside = location.as_ref().is_some_and(|l| file.starts_with(l));
            if inside && !retained.contains(&file) && remove(&name, &file).await? {
                expired.files_deleted += 1;
            }
        }
        tracing::info!(
            table = %name,
            snapshots = expired.snapshots,
            files = expired.files_deleted,
            "expired snapshots"
        );
    }
    expired.metadata_files_deleted = remove_old_metadata(owned, &name).await?;
    Ok(expired)
}

/// Deletes metadata files older than the oldest one the metadata log still names.
async fn remove_old_metadata(owned: &OwnedTable, name: &str) -> Result<usize, SinkError> {
    let md = owned.table.metadata();
    if md
        .properties()
        .get(PROP_DELETE_AFTER_COMMIT)
        .map(String::as_str)
        == Some("false")
    {
        return Ok(0);
    }
    let logged = metadata_files(&owned.table);
    let Some(oldest) = logged.iter().filter_map(|f| metadata_version(f)).min() else {
        return Ok(0);
    };
    let Some(dir) = local_path(md.location()).map(|l| l.join("metadata")) else {
        return Ok(0);
    };
    let logged = local_paths(&logged);
    let mut deleted = 0;
    for path in list_dir(&dir).await? {
        let old = path
            .to_str()
            .and_then(metadata_version)
            .is_some_and(|v| v < oldest);
        if old && !logged.contains(&path) && remove(name, &path).await? {
            deleted += 1;
        }
    }
    Ok(deleted)
}

/// The version of a metadata file named `<version>-<uuid>.metadata.json`.
fn metadata_version(path: &str) -> Option<u64> {
    let file = path.rsplit('/').next()?;
    let stem = file.strip_suffix(".metadata.json")?;
    stem.split_once('-')?.0.parse().ok()
}

async fn list_dir(dir: &Path) -> Result<Vec<std::path::PathBuf>, SinkError> {
    let io_err = |source| SinkError::Io {
        context: format!("cannot list {}", dir.display()),
        path: dir.to_owned(),
        source,
    };
    let mut entries = match tokio::fs::read_dir(dir).await {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err(e)),
    };
    let mut paths = Vec::new();
    while let Some(entry) = entries.next_entry().await.map_err(io_err)? {
        paths.push(entry.path());
    }
    Ok(paths)
}

/// Deletes `path`; false if it was already gone.
pub(crate) async fn remove(name: &str, path: &Path) -> Result<bool, SinkError> {
    match tokio::fs::remove_file(path).await {
        Ok(()) => {
            tracing::debug!(table = name, file = %path.display(), "deleted");
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(SinkError::Io {
            context: format!("table {name}: cannot delete {}", path.display()),
            path: path.to_owned(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_versions() {
        assert_eq!(
            metadata_version("file:///w/t/metadata/00012-6e1f.metadata.json"),
            Some(12)
        );
        assert_eq!(metadata_version("/w/t/metadata/snap-1-0-x.avro"), None);
        assert_eq!(metadata_version("/w/t/metadata/x-m0.avro"), None);
    }
}
