//! Debezium 3.x JSON envelopes as Kafka Connect's `JsonConverter` writes them with
//! `schemas.enable=true` (`{"schema": …, "payload": …}`), in both directions.
//!
//! - [`connect`]: column type ↔ Connect field schema (names, parameters, defaults) under the
//!   handling modes.
//! - `render`: column values → payload JSON under the handling modes (Debezium's value
//!   converters: decimals, temporal units, intervals, hstore order, geometry, placeholders).
//! - `jsonout`: the payload JSON tree, written with Java's floating-point text.
//! - [`encode`]: [`TableCodec`] renders keys and envelopes, with schemas precomputed per table.
//! - [`decode`]: [`decode_record`] parses a Kafka key/value pair back into a [`ChangeEvent`].
//! - `source`: the `source` block per connector (PostgreSQL; MySQL and MariaDB binlog):
//!   [`source_schema`], [`binlog_source_schema`], [`source_payload`].
//! - `auxiliary`: transaction metadata, heartbeat and logical-decoding message records.
//! - `options`: Debezium's handling modes ([`ValueOptions`]).
//!
//! Encoding follows the [`ValueOptions`] given to [`TableCodec::new`]; decoding reads the
//! schema each record carries, so it needs no options.
//!
//! [`ChangeEvent`]: crate::ChangeEvent

mod auxiliary;
mod connect;
mod decode;
mod encode;
mod jsonout;
mod options;
mod render;
mod source;

pub use auxiliary::{
    binlog_transaction_id, heartbeat, logical_message, transaction_begin, transaction_end,
    AuxRecord,
};
pub use decode::{decode_record, DecodeError, Decoded};
pub use encode::{EncodeError, TableCodec};
pub use options::{
    BinaryMode, DecimalMode, HstoreMode, IntervalMode, TimePrecisionMode, ValueOptions,
};
pub use render::micro_duration;
pub use source::{binlog_source_schema, source_payload, source_schema};

/// `source.version` written by default: the Debezium release whose output format we emit.
pub const DEBEZIUM_VERSION: &str = "3.6.3.Final";

/// The value Debezium substitutes for unchanged TOASTed columns.
pub const UNAVAILABLE_VALUE_PLACEHOLDER: &str = "__debezium_unavailable_value";
