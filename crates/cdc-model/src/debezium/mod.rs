//! Debezium 3.x JSON envelopes as Kafka Connect's `JsonConverter` writes them with
//! `schemas.enable=true` (`{"schema": …, "payload": …}`), in both directions.
//!
//! - [`connect`]: column type ↔ Connect field schema (names, parameters, defaults).
//! - [`encode`]: [`TableCodec`] renders keys and envelopes, with schemas precomputed per table.
//! - [`decode`]: [`decode_record`] parses a Kafka key/value pair back into a [`ChangeEvent`].
//! - `auxiliary`: transaction metadata, heartbeat and logical-decoding message records.
//! - `options`: Debezium's handling modes ([`ValueOptions`]).
//!
//! Encoding follows the default handling modes: `decimal.handling.mode=precise`,
//! `time.precision.mode=adaptive`, `binary.handling.mode=bytes`.
//!
//! [`ChangeEvent`]: crate::ChangeEvent

mod auxiliary;
mod connect;
mod decode;
mod encode;
mod options;

pub use auxiliary::{heartbeat, logical_message, transaction_begin, transaction_end, AuxRecord};
pub use decode::{decode_record, DecodeError, Decoded};
pub use encode::{EncodeError, TableCodec};
pub use options::{
    BinaryMode, DecimalMode, HstoreMode, IntervalMode, TimePrecisionMode, ValueOptions,
};

/// `source.version` written by default: the Debezium release whose output format we emit.
pub const DEBEZIUM_VERSION: &str = "3.6.3.Final";

/// The value Debezium substitutes for unchanged TOASTed columns.
pub const UNAVAILABLE_VALUE_PLACEHOLDER: &str = "__debezium_unavailable_value";
