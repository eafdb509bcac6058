//! Entry points of the decoders that read untrusted bytes, for the fuzz targets (`fuzz/`)
//! and the property tests (`tests/decode_never_panics.rs`). Hidden, not a supported API:
//! they only forward to the crate-private decoders.

use cdc_model::{ColumnType, Value};

/// Decodes one pgoutput message (`pgoutput::decode`); `Err` is the decoder's message.
pub fn decode_pgoutput(data: &[u8]) -> Result<(), String> {
    crate::pgoutput::decode(data)
        .map(drop)
        .map_err(|e| e.to_string())
}

/// Parses PostgreSQL text output of a value of type `ty` (`pgtext::parse_text`), as the stream
/// (`snapshot == false`) or the snapshot reads it.
pub fn parse_pg_text(ty: &ColumnType, text: &str, snapshot: bool) -> Result<Value, String> {
    let origin = if snapshot {
        crate::pgtext::Origin::Snapshot
    } else {
        crate::pgtext::Origin::Stream
    };
    crate::pgtext::parse_text(ty, text, origin)
}
