//! The change-event model shared by `cdc-capture` and `cdc-sink`, and the Debezium JSON
//! envelope codec in both directions. No I/O happens in this crate.
//!
//! Module map:
//! - [`schema`]: table identity, columns, column types, key columns.
//! - [`value`]: typed column values ([`Value`], [`Decimal`]) and rows.
//! - [`event`]: [`ChangeEvent`] — op, before/after rows, source block, position, timestamps.
//! - [`debezium`]: Debezium 3.x JSON (JsonConverter, `schemas.enable=true`) encode and decode.
//! - [`time`]: calendar conversions used by the codec (days/micros since the epoch ↔ ISO text).

pub mod debezium;
pub mod event;
pub mod schema;
pub mod time;
pub mod value;

pub use event::{
    BinlogFlavor, ChangeEvent, Op, Position, SnapshotMarker, SourceInfo, TransactionBlock,
};
pub use schema::{Column, ColumnType, TableId, TableSchema};
pub use value::{
    Decimal, Row, SpecialDecimal, Value, TIMESTAMPTZ_INFINITY, TIMESTAMPTZ_NEG_INFINITY,
    TIMESTAMP_INFINITY, TIMESTAMP_NEG_INFINITY,
};
