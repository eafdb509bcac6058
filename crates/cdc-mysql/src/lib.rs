//! `cdc-mysql`: MySQL 8.x and MariaDB 10.6+ as a change source, for `cdc-capture`.
//!
//! Module map:
//! - `binlog`: the binlog event layer over `mysql_async`'s binlog stream — MariaDB events
//!   mysql_common does not decode (GTID, GTID_LIST, …), checksum verification, a strict
//!   unknown-event policy; positions (MySQL GTID sets, MariaDB GTID lists, file + position);
//!   the server settings check; whether the binlog after a position was purged.
//! - `types`: MySQL column types → the event model's column types, and binlog / text-protocol
//!   values → event-model values, in Debezium's MySQL connector mapping.
//! - `ddl`: the schema in force at each binlog position: DDL from Query events parsed with
//!   `sqlparser`'s MySQL dialect, and the schema history record format.
//! - `snapshot`: the consistent initial snapshot: table plans and primary-key chunks, the
//!   locked (or lock-free) start of N worker transactions at one binlog position, parallel
//!   chunk reading into a bounded channel, progress and resume.
//! - `stream`: the binlog change stream: events → change events, schema changes and
//!   transaction boundaries with restartable offsets (`BinlogOffset`), in Debezium's semantics;
//!   the column filters and key overrides that shape events (`ColumnSelection`, `Projection`).

pub mod binlog;
pub mod ddl;
pub mod snapshot;
pub mod stream;
pub mod types;
