//! Ad-hoc incremental snapshots through Debezium's signal table, with the watermark (DBLog)
//! algorithm, while streaming continues.
//!
//! A user inserts `('<id>', 'execute-snapshot', '{"data-collections": ["public.t"],
//! "type": "incremental"}')` into the signal table (`source.signal_data_collection`, which is
//! captured). For each table, in primary-key order and up to the largest key present when the
//! table's turn comes, the capture reads chunks of `snapshot.incremental_chunk_size` rows:
//!
//! 1. insert `('<chunk>-open', 'snapshot-window-open', …)` into the signal table;
//! 2. read the chunk (`WHERE key > last ORDER BY key LIMIT n`) into a window;
//! 3. insert `('<chunk>-close', 'snapshot-window-close', …)`.
//!
//! The stream sees the open watermark, then every change committed meanwhile: a change to a
//! key in the window removes that row (the streamed event is newer or equally new). At the
//! close watermark the rest of the window is emitted as `op=r` with `snapshot=incremental`,
//! and the next chunk starts. The progress (tables left, last key, maximum key) is part of the
//! resume position, so an interrupted incremental snapshot continues after a restart; a
//! window that was not emitted is simply read again.
//!
//! Modules: `request` parses `execute-snapshot` signals, `window` holds a chunk's window
//! and advances the progress, `signal` acts on signal-table rows (all three
//! source-independent); `postgres` and `binlog` (MySQL / MariaDB) read chunks and write
//! watermarks on their source.

mod binlog;
mod postgres;
mod request;
mod signal;
mod window;

pub use binlog::BinlogSignals;
pub use postgres::Signals;
