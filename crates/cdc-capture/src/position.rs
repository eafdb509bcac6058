//! The resume position of a capture, whatever its source: what the publisher, the offsets
//! topic and the checkpoint file need to know about it.
//!
//! Two positions exist, one per source kind: [`PostgresPosition`] (slot LSNs) and
//! [`MySqlPosition`] (binlog offset). Both are `cdc.checkpoint.v1` protobuf messages, stored
//! as the `source` of a [`Checkpoint`]. A stored position of the other kind is an error that
//! names both kinds (a capture never silently starts over).

use cdc_proto::checkpoint::v1::{checkpoint::Source, MySqlPosition, PostgresPosition};

/// A resume position the shared delivery machinery can carry.
pub trait ResumePosition: Clone + std::fmt::Debug + Send + Sync + 'static {
    /// The source kind, for messages (`PostgreSQL`, `MySQL/MariaDB`).
    const KIND: &'static str;

    /// What changes when the position moves durably forward; the at-least-once publisher
    /// queues a position for the checkpoint file only when this changed.
    type Progress: PartialEq;

    /// Wraps the position as a checkpoint's `source`.
    fn into_source(self) -> Source;

    /// The position of a checkpoint's `source`; `Err` names the kind it holds instead.
    fn from_source(source: Source) -> Result<Self, &'static str>;

    fn progress(&self) -> Self::Progress;

    /// The monotone mark the source may be acknowledged up to once everything before this
    /// position is durable (PostgreSQL: the LSN the slot may confirm); `None` = nothing to
    /// acknowledge at the source.
    fn acknowledge_mark(&self) -> Option<u64>;

    /// Whether the initial snapshot is completed.
    fn snapshot_completed(&self) -> bool;

    /// The position as the at-least-once checkpoint file keeps it: a restart from the file
    /// replays the open source transaction from its start (PostgreSQL drops `partial`).
    fn at_least_once(&mut self);

    /// Short text for logs.
    fn describe(&self) -> String;
}

/// The kind a checkpoint `source` holds, for errors.
fn kind_of(source: &Source) -> &'static str {
    match source {
        Source::Postgres(_) => PostgresPosition::KIND,
        Source::Mysql(_) => MySqlPosition::KIND,
    }
}

impl ResumePosition for PostgresPosition {
    const KIND: &'static str = "PostgreSQL";
    type Progress = (u64, bool, usize);

    fn into_source(self) -> Source {
        Source::Postgres(self)
    }

    fn from_source(source: Source) -> Result<Self, &'static str> {
        match source {
            Source::Postgres(p) => Ok(p),
            other => Err(kind_of(&other)),
        }
    }

    fn progress(&self) -> Self::Progress {
        let chunks = self
            .snapshot_progress
            .iter()
            .map(|t| t.done.len())
            .sum::<usize>();
        (self.confirmed_lsn, self.snapshot_completed, chunks)
    }

    fn acknowledge_mark(&self) -> Option<u64> {
        Some(self.confirmed_lsn)
    }

    fn snapshot_completed(&self) -> bool {
        self.snapshot_completed
    }

    fn at_least_once(&mut self) {
        self.partial = None;
    }

    fn describe(&self) -> String {
        format!("LSN {}", crate::lsn_text(self.confirmed_lsn))
    }
}

impl ResumePosition for MySqlPosition {
    const KIND: &'static str = "MySQL/MariaDB";
    /// Offset, snapshot flag and chunks done: at-least-once checkpoints follow every
    /// published change (a binlog offset has no coarser durable unit).
    type Progress = (Option<cdc_proto::checkpoint::v1::BinlogOffset>, bool, usize);

    fn into_source(self) -> Source {
        Source::Mysql(self)
    }

    fn from_source(source: Source) -> Result<Self, &'static str> {
        match source {
            Source::Mysql(p) => Ok(p),
            other => Err(kind_of(&other)),
        }
    }

    fn progress(&self) -> Self::Progress {
        let chunks = self
            .snapshot_tables
            .iter()
            .map(|t| t.done.len())
            .sum::<usize>();
        (self.offset.clone(), self.snapshot_completed, chunks)
    }

    fn acknowledge_mark(&self) -> Option<u64> {
        None
    }

    fn snapshot_completed(&self) -> bool {
        self.snapshot_completed
    }

    fn at_least_once(&mut self) {
        // The offset itself counts the events of the open transaction already published
        // (`event`, `row`): nothing to drop, the transaction metadata counters stay with it.
    }

    fn describe(&self) -> String {
        match &self.offset {
            Some(o) => match &o.gtids {
                Some(g) => format!(
                    "binlog {}:{} (event {}, row {}) gtids {g}",
                    o.file, o.pos, o.event, o.row
                ),
                None => format!(
                    "binlog {}:{} (event {}, row {})",
                    o.file, o.pos, o.event, o.row
                ),
            },
            None => "no binlog offset yet".into(),
        }
    }
}

/// The error text for a stored position of the wrong kind.
pub fn wrong_kind<P: ResumePosition>(what: &str, found: &str) -> String {
    format!(
        "{what} holds a {found} position, but this capture reads {} (source.kind); use \
         another topic_prefix or remove the stored position to start over",
        P::KIND
    )
}
