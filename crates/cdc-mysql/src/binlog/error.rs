//! The binlog layer's error type. Every error about an event names the binlog
//! file and position where it happened.

use super::position::FilePosition;
use super::server::SettingsError;

/// Everything that stops the binlog stream. None of these is retryable by
/// skipping: the caller restarts from its last committed offset or gives up.
#[derive(Debug, thiserror::Error)]
pub enum BinlogError {
    /// A client operation (connect, query, dump request, network read) failed.
    #[error("{context}: {source}")]
    Sql {
        /// What was being done.
        context: String,
        /// The driver's error.
        #[source]
        source: mysql_async::Error,
    },

    /// A server variable could not be read or understood.
    #[error("server setting {name}: {reason}")]
    Setting {
        /// The variable.
        name: String,
        /// What is wrong.
        reason: String,
    },

    /// The server's settings do not allow a correct capture.
    #[error(transparent)]
    Settings(#[from] SettingsError),

    /// An event's CRC32 does not match its bytes.
    #[error(
        "binlog checksum mismatch in event type {event_type} at {at}: stored {stored:#010x}, \
         computed {computed:#010x}"
    )]
    Checksum {
        /// Raw event type code.
        event_type: u8,
        /// Where (start position of the event when known, else the last position).
        at: FilePosition,
        /// Checksum carried by the event.
        stored: u32,
        /// Checksum of the event's bytes.
        computed: u32,
    },

    /// An event type this layer does not know; never skipped, since it may carry rows.
    #[error("unknown binlog event type {event_type} at {at}; refusing to skip it")]
    UnknownEvent {
        /// Raw event type code.
        event_type: u8,
        /// Where.
        at: FilePosition,
    },

    /// A known event that cannot be captured correctly (statement-based data,
    /// compressed MariaDB events, an incident, encryption).
    #[error("unsupported binlog event {name} (type {event_type}) at {at}: {reason}")]
    Unsupported {
        /// Event name.
        name: &'static str,
        /// Raw event type code.
        event_type: u8,
        /// Where.
        at: FilePosition,
        /// Why it cannot be captured.
        reason: String,
    },

    /// An event's body does not decode.
    #[error("cannot decode {what} at {at}: {reason}")]
    Decode {
        /// What was being decoded, e.g. `MariaDB GTID event`.
        what: String,
        /// Where.
        at: FilePosition,
        /// The decoder's complaint.
        reason: String,
    },

    /// The driver panicked while reading or decoding (e.g. mysql_common on a
    /// truncated packet); the stream is unusable afterwards.
    #[error("the binlog reader panicked after {at}: {message}")]
    Panicked {
        /// The last position read before the panic.
        at: FilePosition,
        /// The panic payload, if it was a string.
        message: String,
    },

    /// The stream ended (server closed it) — a non-blocking dump reached the end,
    /// or the server went away.
    #[error("the binlog stream ended after {at}")]
    Ended {
        /// The last position read.
        at: FilePosition,
    },

    /// `next` was called again after the stream had failed.
    #[error(
        "the binlog stream failed earlier (after {at}); reopen it from the last committed offset"
    )]
    Failed {
        /// The last position read.
        at: FilePosition,
    },
}
