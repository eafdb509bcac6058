//! Merging small manifests at commit time, as Iceberg's own writers do by default
//! (`commit.manifest-merge.enabled`): every commit adds a manifest or two, and without merging
//! the manifest list — read and rewritten by every commit and every reader's scan planning —
//! grows without bound between maintenance runs.
//!
//! The policy is read from the table properties Iceberg defines, with Iceberg's defaults:
//! - `commit.manifest-merge.enabled` (true);
//! - `commit.manifest.min-count-to-merge` (100): the small manifests of one kind (data or
//!   deletes) and partition spec are merged once there are at least this many;
//! - `commit.manifest.target-size-bytes` (8 MiB): a manifest at least this large is never
//!   rewritten, and merged manifests are packed up to about this size.
//!
//! A merged manifest lists the live entries of its inputs as `EXISTING`, each with the
//! snapshot that added it and its data and file sequence numbers, so deletes keep applying
//! exactly as before; `DELETED` entries (which only describe the snapshot that wrote them) are
//! dropped.

use iceberg::spec::{ManifestContentType, ManifestFile, TableMetadata};

use super::replace::sequence_numbers;
use super::OwnedTable;
use crate::SinkError;

const PROP_ENABLED: &str = "commit.manifest-merge.enabled";
const PROP_MIN_COUNT: &str = "commit.manifest.min-count-to-merge";
const PROP_TARGET_BYTES: &str = "commit.manifest.target-size-bytes";
const DEFAULT_MIN_COUNT: usize = 100;
const DEFAULT_TARGET_BYTES: i64 = 8 * 1024 * 1024;

/// When and how a table's manifests are merged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MergePolicy {
    pub enabled: bool,
    pub min_count: usize,
    pub target_bytes: i64,
}

impl MergePolicy {
    /// The policy in `md`'s table properties; an unreadable value falls back to Iceberg's
    /// default (as Iceberg's `PropertyUtil` would reject it, we warn instead of failing
    /// every commit of the table).
    pub fn of(md: &TableMetadata) -> MergePolicy {
        fn read<T: std::str::FromStr>(md: &TableMetadata, key: &str, default: T) -> T {
            match md.properties().get(key) {
                None => default,
                Some(raw) => raw.trim().parse().unwrap_or_else(|_| {
                    tracing::warn!(property = key, value = %raw, "unreadable table property; using Iceberg's default");
                    default
                }),
            }
        }
        MergePolicy {
            enabled: read(md, PROP_ENABLED, true),
            min_count: read(md, PROP_MIN_COUNT, DEFAULT_MIN_COUNT).max(2),
            target_bytes: read(md, PROP_TARGET_BYTES, DEFAULT_TARGET_BYTES).max(1),
        }
    }

    /// Which of `manifests` to merge, as groups each written as one new manifest: per kind
    /// and partition spec, the small ones in list order, packed up to the target size — when
    /// there are at least `min_count` of them. Groups of one are left alone.
    pub fn plan(&self, manifests: &[ManifestFile]) -> Vec<Vec<usize>> {
        if !self.enabled {
            return Vec::new();
        }
        let mut kinds: Vec<((bool, i32), Vec<usize>)> = Vec::new();
        for (i, m) in manifests.iter().enumerate() {
            if m.manifest_length >= self.target_bytes {
                continue;
            }
            let kind = (
                m.content == ManifestContentType::Deletes,
                m.partition_spec_id,
            );
            match kinds.iter_mut().find(|(k, _)| *k == kind) {
                Some((_, small)) => small.push(i),
                None => kinds.push((kind, vec![i])),
            }
        }
        let mut groups = Vec::new();
        for (_, small) in kinds {
            if small.len() < self.min_count {
                continue;
            }
            let mut group: Vec<usize> = Vec::new();
            let mut bytes = 0i64;
            for i in small {
                let length = manifests[i].manifest_length;
                if !group.is_empty() && bytes.saturating_add(length) > self.target_bytes {
                    groups.push(std::mem::take(&mut group));
                    bytes = 0;
                }
                group.push(i);
                bytes = bytes.saturating_add(length);
            }
            groups.push(group);
        }
        groups.retain(|g| g.len() > 1);
        groups
    }
}

impl OwnedTable {
    /// Merges the small manifests among `manifests` (the current snapshot's, to be carried
    /// into snapshot `snapshot_id` of commit `commit_id`) by the table's [`MergePolicy`];
    /// returns the list to carry, merged manifests in place of their inputs.
    pub(super) async fn merge_manifests(
        &self,
        manifests: Vec<ManifestFile>,
        commit_id: &str,
        snapshot_id: i64,
    ) -> Result<Vec<ManifestFile>, SinkError> {
        let md = self.table.metadata();
        let groups = MergePolicy::of(md).plan(&manifests);
        if groups.is_empty() {
            return Ok(manifests);
        }
        let default_spec = md.default_partition_spec_id();
        let err = |e| SinkError::commit(&self.name, e);
        let mut replaced = vec![false; manifests.len()];
        let mut merged = Vec::with_capacity(groups.len());
        for (n, group) in groups.into_iter().enumerate() {
            let first = &manifests[group[0]];
            // Our writers write in the default spec; manifests of an older spec stay as
            // they are (compaction rewrites their files into the current spec).
            if first.partition_spec_id != default_spec {
                continue;
            }
            let deletes = first.content == ManifestContentType::Deletes;
            let name = format!("merged{n}");
            let mut writer = self.manifest_writer(commit_id, name, snapshot_id, deletes)?;
            for &i in &group {
                let manifest = manifests[i]
                    .load_manifest(self.table.file_io())
                    .await
                    .map_err(err)?;
                for entry in manifest.entries().iter().filter(|e| e.is_alive()) {
                    let (data_seq, file_seq) = sequence_numbers(entry).map_err(err)?;
                    let added_by = entry
                        .snapshot_id()
                        .unwrap_or(manifests[i].added_snapshot_id);
                    writer
                        .add_existing_file(
                            entry.data_file().clone(),
                            added_by,
                            data_seq,
                            Some(file_seq),
                        )
                        .map_err(err)?;
                }
                replaced[i] = true;
            }
            merged.push((
                group.len(),
                writer.write_manifest_file().await.map_err(err)?,
            ));
        }
        let inputs: usize = merged.iter().map(|(n, _)| n).sum();
        tracing::debug!(table = %self.name, inputs, outputs = merged.len(), "merged manifests");
        let mut carried: Vec<ManifestFile> = manifests
            .into_iter()
            .zip(replaced)
            .filter(|(_, gone)| !gone)
            .map(|(m, _)| m)
            .collect();
        carried.extend(merged.into_iter().map(|(_, m)| m));
        Ok(carried)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(deletes: bool, spec: i32, length: i64) -> ManifestFile {
        ManifestFile {
            manifest_path: String::new(),
            manifest_length: length,
            partition_spec_id: spec,
            content: if deletes {
                ManifestContentType::Deletes
            } else {
                ManifestContentType::Data
            },
            sequence_number: 1,
            min_sequence_number: 1,
            added_snapshot_id: 1,
            added_files_count: Some(1),
            existing_files_count: Some(0),
            deleted_files_count: Some(0),
            added_rows_count: Some(1),
            existing_rows_count: Some(0),
            deleted_rows_count: Some(0),
            partitions: None,
            key_metadata: None,
            first_row_id: None,
        }
    }

    fn policy(min_count: usize, target_bytes: i64) -> MergePolicy {
        MergePolicy {
            enabled: true,
            min_count,
            target_bytes,
        }
    }

    #[test]
    fn nothing_merges_below_the_minimum_count() {
        let list: Vec<_> = (0..3).map(|_| manifest(false, 0, 100)).collect();
        assert!(policy(4, 1000).plan(&list).is_empty());
        assert_eq!(policy(3, 1000).plan(&list), vec![vec![0, 1, 2]]);
    }

    #[test]
    fn kinds_and_specs_merge_separately_and_large_manifests_stay() {
        let list = vec![
            manifest(false, 0, 100),
            manifest(true, 0, 100),
            manifest(false, 0, 5000),
            manifest(false, 0, 100),
            manifest(true, 0, 100),
            manifest(false, 1, 100),
            manifest(false, 0, 100),
        ];
        assert_eq!(policy(2, 1000).plan(&list), vec![vec![0, 3, 6], vec![1, 4]]);
        assert_eq!(policy(3, 1000).plan(&list), vec![vec![0, 3, 6]]);
    }

    #[test]
    fn merged_manifests_are_packed_up_to_the_target_size() {
        let list: Vec<_> = (0..7).map(|_| manifest(false, 0, 400)).collect();
        assert_eq!(
            policy(2, 1000).plan(&list),
            vec![vec![0, 1], vec![2, 3], vec![4, 5]]
        );
    }

    #[test]
    fn disabled_merging_keeps_every_manifest() {
        let list: Vec<_> = (0..200).map(|_| manifest(false, 0, 100)).collect();
        let off = MergePolicy {
            enabled: false,
            ..policy(2, 1000)
        };
        assert!(off.plan(&list).is_empty());
    }
}
