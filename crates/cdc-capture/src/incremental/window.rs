//! A chunk's window and the progress it advances (source-independent): the rows read between
//! the open and close watermarks, minus the keys the stream changed meanwhile.

use std::collections::HashSet;

use cdc_model::{Row, TableId};
use cdc_proto::checkpoint::v1::IncrementalSnapshot;

/// An open window over one chunk of `T` (the source's captured-table handle).
pub(super) struct Window<T> {
    /// Chunk id; the watermarks are `<id>-open` and `<id>-close`.
    pub id: String,
    pub table: T,
    pub table_id: TableId,
    /// Whether the stream passed the open watermark (changes count from there on).
    pub open_seen: bool,
    /// Key payload and row, in key order.
    pub rows: Vec<(Vec<u8>, Row)>,
    removed: HashSet<Vec<u8>>,
    /// Text of the key of the chunk's last row; `None` when the chunk was empty.
    pub last_key: Option<Vec<String>>,
    /// Whether the chunk had as many rows as asked for (more may follow).
    pub full: bool,
}

impl<T> Window<T> {
    pub fn new(
        id: String,
        table: T,
        table_id: TableId,
        rows: Vec<(Vec<u8>, Row)>,
        last_key: Option<Vec<String>>,
        full: bool,
    ) -> Window<T> {
        Window {
            id,
            table,
            table_id,
            open_seen: false,
            rows,
            removed: HashSet::new(),
            last_key,
            full,
        }
    }

    /// A streamed change to `table` with key payload `key`: the streamed event wins over the
    /// window's copy (only after the open watermark).
    pub fn observe(&mut self, table: &TableId, key: &[u8]) {
        if self.open_seen && self.table_id == *table {
            self.removed.insert(key.to_vec());
        }
    }

    /// Whether `id` is this window's open watermark; marks it seen.
    pub fn open(&mut self, id: &str) -> bool {
        let hit = id == format!("{}-open", self.id);
        self.open_seen |= hit;
        hit
    }

    /// Whether `id` is this window's close watermark (after its open watermark).
    pub fn closes(&self, id: &str) -> bool {
        self.open_seen && id == format!("{}-close", self.id)
    }

    /// Splits into the rows to emit (not changed by the stream) and the progress facts.
    pub fn finish(self) -> (T, Vec<Row>, Option<Vec<String>>, bool) {
        let removed = self.removed;
        let rows = self
            .rows
            .into_iter()
            .filter(|(k, _)| !removed.contains(k))
            .map(|(_, r)| r)
            .collect();
        (self.table, rows, self.last_key, self.full)
    }
}

/// Advances `state` past an emitted chunk: the next chunk starts after `last_key` when the
/// chunk was full, otherwise the table is done. Returns `None` when every table is done.
pub(super) fn advance(
    mut state: IncrementalSnapshot,
    table: &TableId,
    last_key: Option<Vec<String>>,
    full: bool,
) -> Option<IncrementalSnapshot> {
    match (last_key, full) {
        (Some(last), true) => state.last_key = last,
        _ => {
            tracing::info!(%table, "incremental snapshot of table finished");
            state.tables.remove(0);
            state.last_key.clear();
            state.max_key.clear();
            state.max_key_known = false;
        }
    }
    if state.tables.is_empty() {
        tracing::info!(id = %state.correlation_id, "incremental snapshot finished");
        return None;
    }
    Some(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> IncrementalSnapshot {
        IncrementalSnapshot {
            correlation_id: "s".into(),
            tables: vec!["db.a".into(), "db.b".into()],
            last_key: vec![],
            max_key: vec!["9".into()],
            max_key_known: true,
            filters: Default::default(),
        }
    }

    #[test]
    fn streamed_changes_after_the_open_watermark_win() {
        let t = TableId::new("db", "a");
        let rows = vec![(b"1".to_vec(), vec![]), (b"2".to_vec(), vec![])];
        let mut w = Window::new(
            "c1".into(),
            (),
            t.clone(),
            rows,
            Some(vec!["2".into()]),
            true,
        );
        w.observe(&t, b"1"); // before the open watermark: the chunk read is newer
        assert!(!w.closes("c1-close"));
        assert!(!w.open("c2-open"));
        assert!(w.open("c1-open"));
        w.observe(&t, b"2");
        w.observe(&TableId::new("db", "b"), b"1");
        assert!(w.closes("c1-close"));
        let (_, rows, last, full) = w.finish();
        assert_eq!(rows.len(), 1);
        assert_eq!(last, Some(vec!["2".into()]));
        assert!(full);
    }

    #[test]
    fn progress_moves_to_the_next_chunk_then_table_then_ends() {
        let t = TableId::new("db", "a");
        let s = advance(state(), &t, Some(vec!["5".into()]), true).unwrap();
        assert_eq!((s.last_key.clone(), s.tables.len()), (vec!["5".into()], 2));
        let s = advance(s, &t, Some(vec!["9".into()]), false).unwrap();
        assert_eq!(s.tables, vec!["db.b"]);
        assert!(s.last_key.is_empty() && !s.max_key_known);
        assert!(advance(s, &t, None, false).is_none());
    }
}
