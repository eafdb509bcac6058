//! Protobuf records of the formats this project owns, generated from `proto/` at build time.
//!
//! Module map:
//! - [`checkpoint::v1`]: `cdc.checkpoint.v1` — the capture's resume position.

/// Capture checkpoints.
pub mod checkpoint {
    /// `cdc.checkpoint.v1`: the capture's durable resume position.
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/cdc.checkpoint.v1.rs"));
    }
}

#[cfg(test)]
mod tests {
    use super::checkpoint::v1::{
        checkpoint::Source, Checkpoint, CollectionCount, IncrementalSnapshot, PartialTransaction,
        PostgresPosition, TableSnapshotProgress,
    };
    use prost::Message;

    #[test]
    fn checkpoint_round_trips() {
        let cp = Checkpoint {
            topic_prefix: "dbserver1".into(),
            written_at_unix_ms: 1,
            source: Some(Source::Postgres(PostgresPosition {
                slot_name: "cdc".into(),
                confirmed_lsn: 0x16B_3748,
                snapshot_lsn: 0x16B_0000,
                snapshot_completed: false,
                partial: Some(PartialTransaction {
                    final_lsn: 0x16B_4000,
                    messages_done: 7,
                    events_emitted: 8,
                    collections: vec![CollectionCount {
                        data_collection: "public.t".into(),
                        events: 8,
                    }],
                    begin_emitted: true,
                }),
                snapshot_progress: vec![TableSnapshotProgress {
                    table: "public.big".into(),
                    pages_per_chunk: 10,
                    chunks: 4,
                    done: vec![0, 2],
                    rows: 1234,
                }],
                incremental: Some(IncrementalSnapshot {
                    correlation_id: "ad-hoc-1".into(),
                    tables: vec!["public.t".into()],
                    last_key: vec!["42".into()],
                    max_key: vec!["99".into()],
                    max_key_known: true,
                    filters: [("public.t".to_owned(), "x > 1".to_owned())].into(),
                }),
            })),
        };
        let bytes = cp.encode_to_vec();
        assert_eq!(Checkpoint::decode(bytes.as_slice()).unwrap(), cp);
        assert!(Checkpoint::decode(&bytes[..bytes.len() - 1]).is_err());
    }
}
