//! The binlog event layer over `mysql_async`'s binlog stream.
//!
//! | module     | concept                                                                        |
//! |------------|--------------------------------------------------------------------------------|
//! | `position` | [`MariaGtid`], [`MariaGtidList`], [`FilePosition`], [`Gtid`], [`PositionError`] |
//! | `gtid_set` | [`MySqlGtidSet`], [`MySqlGtid`], [`MySqlSource`]: MySQL GTIDs, tags, canonical text |
//! | `server`   | [`check_server`] = [`read_settings`] → [`ServerSettings`] + [`validate`]       |
//! | `retention`| [`judge`] / [`server_binlogs`]: are the events after a position still there? |
//! | `stream`   | [`BinlogEvents`]: open a dump from a [`StartPosition`], read verified events   |
//! | `events`   | [`BinlogEvent`] / [`EventKind`]: typed events, strict unknown-event policy      |
//! | `mariadb`  | (private) MariaDB GTID / GTID_LIST / CHECKPOINT / ANNOTATE_ROWS decoders        |
//! | `compressed` | (private) MariaDB compressed events (165–171) → plain QUERY / rows events     |
//! | `error`    | [`BinlogError`], naming file and position                                      |
//!
//! Typical use: `check_server` (or `read_settings` + `validate`), then
//! `BinlogEvents::open` and `next()` in a loop; persist the position of the
//! last committed transaction (its GTID, or `EventPosition::start` of its
//! first event) and reopen from it after a restart.

mod compressed;
mod error;
mod events;
mod gtid_set;
mod mariadb;
mod position;
mod retention;
mod server;
mod stream;

pub use error::BinlogError;
pub use events::{BinlogEvent, EventKind, EventPosition, RowChange, RowsKind};
pub use gtid_set::{MySqlGtid, MySqlGtidSet, MySqlSource};
pub use position::{FilePosition, Gtid, MariaGtid, MariaGtidList, PositionError};
pub use retention::{judge, server_binlogs, Retention, ServerBinlogs};
pub use server::{
    check_server, read_settings, validate, Flavor, Requirements, ServerSettings, SettingProblem,
    SettingsError,
};
#[doc(hidden)]
pub use stream::decode_raw_events;
pub use stream::{BinlogEvents, StartPosition, StreamOptions};
