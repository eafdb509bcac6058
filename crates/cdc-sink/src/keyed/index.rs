//! The primary-key index of a keyed table: key → (data file, row position) of the key's live
//! row. Updates and deletes become Iceberg *position* deletes through it.
//!
//! Keys are compared by their `arrow-row` encoding, computed from the Arrow columns of the
//! key — the same columns whether they come from a batch being written or from a Parquet
//! file being re-read — so both paths agree byte for byte.
//!
//! The index lives in memory and is rebuilt from the table when the sink starts: the key
//! columns of every live data file are read in file order (row index = position), minus the
//! positions the table's position-delete files remove. Memory: about 60 bytes plus the
//! encoded key per live row.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, BooleanArray, Int64Array, RecordBatch, StringArray};
use arrow_row::{RowConverter, Rows, SortField};
use arrow_schema::{DataType, SchemaRef};
use iceberg::spec::{DataContentType, DataFile};
use iceberg::table::Table;

use super::read::read_columns;
use crate::SinkError;

/// Where a live row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RowLoc {
    file: u32,
    pub pos: i64,
}

/// Where compaction moved the live rows of one rewritten data file: in order, to `to`
/// starting at position `base`.
#[derive(Debug, Clone)]
pub(crate) struct Moved {
    pub to: Arc<str>,
    pub base: i64,
    /// Rows of the old file.
    pub rows: i64,
    /// Sorted positions of the old file that were deleted (not copied).
    pub deleted: Vec<i64>,
}

/// Key → live row location.
pub(crate) struct KeyIndex {
    converter: RowConverter,
    /// Positions of the key columns in the table's Arrow schema.
    key_columns: Vec<usize>,
    key_names: Vec<String>,
    key_types: Vec<DataType>,
    paths: Vec<Arc<str>>,
    path_ids: HashMap<Arc<str>, u32>,
    /// foldhash: keys are hashed once per change; SipHash showed in profiles.
    rows: foldhash::HashMap<Box<[u8]>, RowLoc>,
}

impl KeyIndex {
    /// An empty index over the key columns `key_columns` of `schema`.
    pub fn new(name: &str, schema: &SchemaRef, key_columns: Vec<usize>) -> Result<Self, SinkError> {
        let fields = key_columns
            .iter()
            .map(|&i| SortField::new(schema.field(i).data_type().clone()))
            .collect();
        let converter = RowConverter::new(fields).map_err(|e| SinkError::Batch {
            table: name.to_owned(),
            reason: format!("key columns cannot be indexed: {e}"),
        })?;
        Ok(KeyIndex {
            converter,
            key_names: key_columns
                .iter()
                .map(|&i| schema.field(i).name().clone())
                .collect(),
            key_types: key_columns
                .iter()
                .map(|&i| schema.field(i).data_type().clone())
                .collect(),
            key_columns,
            paths: Vec::new(),
            path_ids: HashMap::new(),
            rows: foldhash::HashMap::default(),
        })
    }

    /// The encoded keys of every row of `batch` (in the table's schema), in one buffer:
    /// `keys.row(i).data()` is row `i`'s key.
    pub fn keys(&self, name: &str, batch: &RecordBatch) -> Result<Rows, SinkError> {
        let columns: Vec<ArrayRef> = self
            .key_columns
            .iter()
            .map(|&i| Arc::clone(batch.column(i)))
            .collect();
        self.encode(name, &columns)
    }

    fn encode(&self, name: &str, columns: &[ArrayRef]) -> Result<Rows, SinkError> {
        self.converter
            .convert_columns(columns)
            .map_err(|e| SinkError::Batch {
                table: name.to_owned(),
                reason: format!("cannot encode primary keys: {e}"),
            })
    }

    pub fn get(&self, key: &[u8]) -> Option<RowLoc> {
        self.rows.get(key).copied()
    }

    /// The data file of `loc`.
    pub fn path(&self, loc: RowLoc) -> Arc<str> {
        Arc::clone(&self.paths[loc.file as usize])
    }

    /// Every live row's location.
    pub fn all_rows(&self) -> impl Iterator<Item = RowLoc> + '_ {
        self.rows.values().copied()
    }

    /// Every live row, as (data file, position).
    pub fn all_locations(&self) -> impl Iterator<Item = (Arc<str>, i64)> + '_ {
        self.rows.values().map(|&loc| (self.path(loc), loc.pos))
    }

    pub fn clear(&mut self) {
        self.rows.clear();
        self.paths.clear();
        self.path_ids.clear();
    }

    pub fn remove(&mut self, key: &[u8]) {
        self.rows.remove(key);
    }

    /// Records that `key`'s live row is now at `pos` of `path`.
    pub fn insert(&mut self, key: Box<[u8]>, path: &Arc<str>, pos: i64) {
        let file = self.file_id(path);
        self.insert_at(key, file, pos);
    }

    /// The id of data file `path` in this index (looked up once per file, not per row:
    /// hashing the path per row showed in profiles).
    pub fn file_id(&mut self, path: &Arc<str>) -> u32 {
        match self.path_ids.get(path) {
            Some(&id) => id,
            None => {
                let id = u32::try_from(self.paths.len()).unwrap_or(u32::MAX);
                self.paths.push(Arc::clone(path));
                self.path_ids.insert(Arc::clone(path), id);
                id
            }
        }
    }

    /// Records that `key`'s live row is now at `pos` of the file with id `file`
    /// ([`KeyIndex::file_id`]).
    pub fn insert_at(&mut self, key: Box<[u8]>, file: u32, pos: i64) {
        self.rows.insert(key, RowLoc { file, pos });
    }

    /// Makes room for `additional` more keys at once.
    pub fn reserve(&mut self, additional: usize) {
        self.rows.reserve(additional);
    }

    /// Applies a compaction: the live rows of every file in `moves` now live elsewhere.
    /// Also forgets files no indexed row is in. Returns false if an indexed row was not a live
    /// row of its rewritten file (the index disagrees with the table: rebuild it).
    pub fn remap(&mut self, moves: &HashMap<Arc<str>, Moved>) -> bool {
        let old_paths = std::mem::take(&mut self.paths);
        self.path_ids.clear();
        let mut consistent = true;
        for (key, loc) in std::mem::take(&mut self.rows) {
            let Some(path) = old_paths.get(loc.file as usize) else {
                consistent = false;
                continue;
            };
            let Some(moved) = moves.get(path) else {
                self.insert(key, path, loc.pos);
                continue;
            };
            match moved.deleted.binary_search(&loc.pos) {
                Err(rank) if (0..moved.rows).contains(&loc.pos) => {
                    let pos = moved.base + loc.pos - rank as i64;
                    self.insert(key, &moved.to, pos);
                }
                _ => consistent = false,
            }
        }
        consistent
    }

    /// Rebuilds the index from the live files of `table`'s current snapshot. With
    /// `current_flag` (history tables), only rows whose boolean column of that name is true
    /// are live versions of their key.
    pub async fn rebuild(
        &mut self,
        table: &Table,
        name: &str,
        current_flag: Option<&str>,
    ) -> Result<(), SinkError> {
        let err = |e| SinkError::catalog(format!("rebuilding the key index of {name}"), e);
        self.clear();
        let md = table.metadata();
        let Some(snapshot) = md.current_snapshot() else {
            return Ok(());
        };
        let list = table
            .manifest_list_reader(snapshot)
            .load()
            .await
            .map_err(err)?;
        let mut data: Vec<(i64, DataFile)> = Vec::new();
        let mut deletes: Vec<DataFile> = Vec::new();
        for manifest in list.entries() {
            let manifest = manifest.load_manifest(table.file_io()).await.map_err(err)?;
            for entry in manifest.entries() {
                if !entry.is_alive() {
                    continue;
                }
                let file = entry.data_file().clone();
                match file.content_type() {
                    DataContentType::Data => {
                        data.push((entry.sequence_number().unwrap_or(0), file))
                    }
                    DataContentType::PositionDeletes => deletes.push(file),
                    DataContentType::EqualityDeletes => {
                        return Err(SinkError::Batch {
                            table: name.to_owned(),
                            reason: format!(
                                "the table has an equality-delete file ({}); the sink writes and \
                                 reads only position deletes",
                                file.file_path()
                            ),
                        })
                    }
                }
            }
        }
        let mut deleted: HashMap<String, HashSet<i64>> = HashMap::new();
        for file in &deletes {
            let batch = read_columns(table, name, file.file_path(), &["file_path", "pos"]).await?;
            for batch in batch {
                let paths = downcast::<StringArray>(name, batch.column(0))?;
                let positions = downcast::<Int64Array>(name, batch.column(1))?;
                for i in 0..batch.num_rows() {
                    deleted
                        .entry(paths.value(i).to_owned())
                        .or_default()
                        .insert(positions.value(i));
                }
            }
        }
        // Older files first: a newer live row of a key wins.
        data.sort_by_key(|(sequence, _)| *sequence);
        let key_names = self.key_names.clone();
        let mut names: Vec<&str> = key_names.iter().map(String::as_str).collect();
        names.extend(current_flag);
        for (_, file) in data {
            let path: Arc<str> = Arc::from(file.file_path());
            let gone = deleted.get(file.file_path());
            let mut pos = 0i64;
            for batch in read_columns(table, name, &path, &names).await? {
                let flags = match current_flag {
                    Some(_) => {
                        Some(downcast::<BooleanArray>(name, batch.column(key_names.len()))?.clone())
                    }
                    None => None,
                };
                let columns = batch.columns()[..key_names.len()]
                    .iter()
                    .zip(&self.key_types)
                    .map(|(c, ty)| arrow_cast::cast(c, ty))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| SinkError::Batch {
                        table: name.to_owned(),
                        reason: format!("key columns of {path}: {e}"),
                    })?;
                let keys = self.encode(name, &columns)?;
                let file = self.file_id(&path);
                for (row, key) in keys.iter().enumerate() {
                    let current = flags
                        .as_ref()
                        .is_none_or(|f| f.is_valid(row) && f.value(row));
                    if current && !gone.is_some_and(|g| g.contains(&pos)) {
                        self.insert_at(Box::from(key.data()), file, pos);
                    }
                    pos += 1;
                }
            }
        }
        tracing::info!(
            table = name,
            rows = self.rows.len(),
            files = self.paths.len(),
            "key index rebuilt"
        );
        Ok(())
    }
}

fn downcast<'a, T: 'static>(name: &str, array: &'a ArrayRef) -> Result<&'a T, SinkError> {
    array
        .as_any()
        .downcast_ref::<T>()
        .ok_or_else(|| SinkError::Batch {
            table: name.to_owned(),
            reason: format!("unexpected column type {}", array.data_type()),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_schema::{Field, Schema};

    #[test]
    fn remap_follows_moved_rows_and_detects_stale_ones() {
        let schema: SchemaRef =
            Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
        let mut index = KeyIndex::new("t", &schema, vec![0]).unwrap();
        let (a, b, c): (Arc<str>, Arc<str>, Arc<str>) = ("a".into(), "b".into(), "c".into());
        index.insert(Box::from(&b"k1"[..]), &a, 0);
        index.insert(Box::from(&b"k2"[..]), &a, 3);
        index.insert(Box::from(&b"k3"[..]), &b, 1);
        // a: 4 rows, position 1 deleted, moved to c from position 5; b stays.
        let moves = HashMap::from([(
            Arc::clone(&a),
            Moved {
                to: Arc::clone(&c),
                base: 5,
                rows: 4,
                deleted: vec![1],
            },
        )]);
        assert!(index.remap(&moves));
        let at = |k: &[u8]| index.get(k).map(|l| (index.path(l), l.pos));
        assert_eq!(at(b"k1"), Some((Arc::clone(&c), 5)));
        assert_eq!(at(b"k2"), Some((Arc::clone(&c), 7)));
        assert_eq!(at(b"k3"), Some((Arc::clone(&b), 1)));
        assert_eq!(index.paths.len(), 2, "the rewritten file is forgotten");
        // A row the index holds but the compaction saw as deleted: stale.
        index.insert(Box::from(&b"k4"[..]), &b, 2);
        let moves = HashMap::from([(
            Arc::clone(&b),
            Moved {
                to: Arc::clone(&a),
                base: 0,
                rows: 3,
                deleted: vec![2],
            },
        )]);
        assert!(!index.remap(&moves));
    }
}
