//! Which files snapshots reference: their manifest lists, manifests and the data and delete
//! files those list. Manifests never change once written, so what each one lists is cached
//! per table between maintenance runs.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use iceberg::spec::{SnapshotRef, TableMetadata};
use iceberg::table::Table;

use crate::SinkError;

/// The files one manifest lists: `(path, live)`.
type Listed = Arc<[(String, bool)]>;

/// Manifest path → the files it lists.
#[derive(Default)]
pub(crate) struct ManifestCache {
    manifests: HashMap<String, Listed>,
    /// Manifests used since the last [`ManifestCache::retain_used`].
    used: HashSet<String>,
}

impl ManifestCache {
    /// Forgets manifests not used since the last call.
    pub fn retain_used(&mut self) {
        let used = std::mem::take(&mut self.used);
        self.manifests.retain(|path, _| used.contains(path));
    }
}

/// Adds to `files` every file `snapshots` of `table` reference: manifest lists, manifests,
/// and the data and delete files of their entries — only live ones with `live_only` (a
/// `DELETED` entry says the file is *not* in the snapshot).
pub(crate) async fn collect<'a>(
    table: &Table,
    name: &str,
    snapshots: impl Iterator<Item = &'a SnapshotRef>,
    live_only: bool,
    cache: &mut ManifestCache,
    files: &mut HashSet<String>,
) -> Result<(), SinkError> {
    let err = |e| SinkError::catalog(format!("reading the manifests of {name}"), e);
    for snapshot in snapshots {
        files.insert(snapshot.manifest_list().to_owned());
        let list = table
            .manifest_list_reader(snapshot)
            .load()
            .await
            .map_err(err)?;
        for manifest in list.entries() {
            let path = manifest.manifest_path.clone();
            files.insert(path.clone());
            let listed = match cache.manifests.get(&path) {
                Some(listed) => Arc::clone(listed),
                None => {
                    let loaded = manifest.load_manifest(table.file_io()).await.map_err(err)?;
                    let listed: Listed = loaded
                        .entries()
                        .iter()
                        .map(|e| (e.file_path().to_owned(), e.is_alive()))
                        .collect();
                    cache.manifests.insert(path.clone(), Arc::clone(&listed));
                    listed
                }
            };
            cache.used.insert(path);
            files.extend(
                listed
                    .iter()
                    .filter(|(_, live)| *live || !live_only)
                    .map(|(p, _)| p.clone()),
            );
        }
    }
    Ok(())
}

/// The metadata files the table's metadata log names, plus the current one.
pub(crate) fn metadata_files(table: &Table) -> HashSet<String> {
    let md: &TableMetadata = table.metadata();
    md.metadata_log()
        .iter()
        .map(|l| l.metadata_file.clone())
        .chain(table.metadata_location().map(str::to_owned))
        .collect()
}

/// The local filesystem path of a `file:` URI or plain path; `None` for other schemes.
pub(crate) fn local_path(uri: &str) -> Option<PathBuf> {
    let path = if let Some(rest) = uri.strip_prefix("file://") {
        rest
    } else if let Some(rest) = uri.strip_prefix("file:") {
        rest
    } else if uri.contains("://") {
        return None;
    } else {
        uri
    };
    Path::new(path).is_absolute().then(|| PathBuf::from(path))
}

/// `files` as local paths (files on other storage are left out).
pub(crate) fn local_paths(files: &HashSet<String>) -> HashSet<PathBuf> {
    files.iter().filter_map(|f| local_path(f)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths_of_uris() {
        assert_eq!(local_path("file:///a/b"), Some(PathBuf::from("/a/b")));
        assert_eq!(local_path("file:/a/b"), Some(PathBuf::from("/a/b")));
        assert_eq!(local_path("/a/b"), Some(PathBuf::from("/a/b")));
        assert_eq!(local_path("s3://bucket/a"), None);
        assert_eq!(local_path("relative/a"), None);
    }
}
