//! The signal-table protocol (source-independent): what a row inserted into the signal table
//! means for the running incremental snapshot and its open window.

use cdc_model::{Row, TableId};
use cdc_proto::checkpoint::v1::IncrementalSnapshot;

use super::request::parse_request;
use super::window::{advance, Window};

/// What a signal did.
pub(super) enum Outcome<T> {
    /// Nothing to store.
    Nothing,
    /// The progress changed: store it in the position.
    Progress(Option<IncrementalSnapshot>),
    /// The open window's close watermark: emit `rows` of `table` as `op=r`, then store
    /// `progress` (already advanced past the chunk).
    Closed {
        table: T,
        rows: Vec<Row>,
        progress: Option<IncrementalSnapshot>,
    },
}

/// The running incremental snapshot and its open window.
pub(super) struct Snapshotter<T> {
    /// The running snapshot (mirrors the position's `incremental` field).
    pub state: Option<IncrementalSnapshot>,
    pub window: Option<Window<T>>,
}

impl<T> Snapshotter<T> {
    pub fn new(resumed: Option<IncrementalSnapshot>) -> Snapshotter<T> {
        if let Some(s) = &resumed {
            tracing::info!(id = %s.correlation_id, tables = ?s.tables,
                "resuming an incremental snapshot");
        }
        Snapshotter {
            state: resumed,
            window: None,
        }
    }

    /// A row `(id, type, data)` inserted into the signal table; `captured` are the tables a
    /// request may name.
    pub fn on_signal(
        &mut self,
        id: &str,
        kind: &str,
        data: Option<&str>,
        captured: &[TableId],
    ) -> Outcome<T> {
        match kind {
            "execute-snapshot" => match parse_request(id, data.unwrap_or_default(), captured) {
                Ok(request) => {
                    tracing::info!(%id, tables = ?request.tables, "incremental snapshot requested");
                    self.state = Some(request);
                    self.window = None;
                    Outcome::Progress(self.state.clone())
                }
                Err(reason) => {
                    tracing::warn!(%id, %reason, "signal ignored");
                    Outcome::Nothing
                }
            },
            "stop-snapshot" => {
                tracing::info!(%id, "incremental snapshot stopped by signal");
                self.state = None;
                self.window = None;
                Outcome::Progress(None)
            }
            "snapshot-window-open" => {
                if let Some(w) = &mut self.window {
                    w.open(id);
                }
                Outcome::Nothing
            }
            "snapshot-window-close" => {
                if !self.window.as_ref().is_some_and(|w| w.closes(id)) {
                    return Outcome::Nothing;
                }
                let Some(w) = self.window.take() else {
                    return Outcome::Nothing;
                };
                let table_id = w.table_id.clone();
                let (table, rows, last_key, full) = w.finish();
                if let Some(state) = self.state.take() {
                    self.state = advance(state, &table_id, last_key, full);
                }
                Outcome::Closed {
                    table,
                    rows,
                    progress: self.state.clone(),
                }
            }
            other => {
                tracing::debug!(%id, kind = other, "signal not handled");
                Outcome::Nothing
            }
        }
    }

    /// A streamed change to `table` with key payload `key`: the streamed event wins over the
    /// window's copy.
    pub fn observe(&mut self, table: &TableId, key: &[u8]) {
        if let Some(w) = &mut self.window {
            w.observe(table, key);
        }
    }

    /// Whether a window is waiting for its watermarks.
    pub fn window_open(&self) -> bool {
        self.window.is_some()
    }
}

/// A new chunk id: unique across restarts (the watermarks `<id>-open` / `<id>-close` are
/// primary keys of the signal table, and a resumed stream may replay older ones), and as
/// Debezium's (a UUID, so the watermark ids fit its `varchar(42)` id column).
pub(super) fn chunk_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incremental::window::Window;

    #[test]
    fn a_request_then_a_window_closes_into_rows_and_progress() {
        let t = TableId::new("db", "a");
        let mut s: Snapshotter<()> = Snapshotter::new(None);
        assert!(matches!(
            s.on_signal(
                "x",
                "execute-snapshot",
                Some("{\"data-collections\": [\"db.a\"]}"),
                std::slice::from_ref(&t)
            ),
            Outcome::Progress(Some(_))
        ));
        let id = chunk_id();
        assert_eq!(format!("{id}-close").len(), 42);
        s.window = Some(Window::new(
            id.clone(),
            (),
            t.clone(),
            vec![(b"1".to_vec(), vec![]), (b"2".to_vec(), vec![])],
            Some(vec!["2".into()]),
            false,
        ));
        assert!(matches!(
            s.on_signal(&format!("{id}-close"), "snapshot-window-close", None, &[]),
            Outcome::Nothing
        ));
        s.on_signal(&format!("{id}-open"), "snapshot-window-open", None, &[]);
        s.observe(&t, b"2");
        match s.on_signal(&format!("{id}-close"), "snapshot-window-close", None, &[]) {
            Outcome::Closed { rows, progress, .. } => {
                assert_eq!(rows.len(), 1);
                assert!(progress.is_none(), "the only table is done");
            }
            _ => panic!("the window did not close"),
        }
        assert!(!s.window_open() && s.state.is_none());
        assert!(matches!(
            s.on_signal("y", "stop-snapshot", None, &[]),
            Outcome::Progress(None)
        ));
    }
}
