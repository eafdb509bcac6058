//! What a changelog table holds: one row per change event, the source columns followed by the
//! `_cdc_*` metadata columns, and how tables are named.

use std::sync::Arc;

use cdc_model::{Op, Row, Value};

/// `_cdc_op`: Debezium op code, `c`, `u`, `d` or `r` (required string).
pub const COL_OP: &str = "_cdc_op";
/// `_cdc_ts_ms`: source time (commit time when streaming) in ms since the epoch (required long).
pub const COL_TS_MS: &str = "_cdc_ts_ms";
/// `_cdc_ts`: the same source time as a UTC `timestamp` in µs (optional; changelog tables
/// only, which are partitioned by its day).
pub const COL_TS: &str = "_cdc_ts";
/// `_cdc_position`: source log position, e.g. a PostgreSQL LSN `16/B374D848` or a MySQL/MariaDB
/// binlog `mysql-bin.000003:484:0 gtid=0-1-61` (`file:pos:row`) (optional string).
pub const COL_POSITION: &str = "_cdc_position";
/// `_cdc_kafka_partition`: Kafka partition the event was read from (required int).
pub const COL_KAFKA_PARTITION: &str = "_cdc_kafka_partition";
/// `_cdc_kafka_offset`: Kafka offset of the event (required long).
pub const COL_KAFKA_OFFSET: &str = "_cdc_kafka_offset";

/// The metadata columns, in table order after the source columns (mirror tables have all
/// but `_cdc_ts`).
pub const METADATA_COLUMNS: [&str; 6] = [
    COL_OP,
    COL_TS_MS,
    COL_TS,
    COL_POSITION,
    COL_KAFKA_PARTITION,
    COL_KAFKA_OFFSET,
];

/// Where a Kafka record came from. Displayed as `topic/partition@offset`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordOrigin {
    pub topic: Arc<str>,
    pub partition: i32,
    pub offset: i64,
}

impl std::fmt::Display for RecordOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}@{}", self.topic, self.partition, self.offset)
    }
}

/// One buffered changelog row: the source row image plus the metadata column values.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ChangelogRow {
    pub op: Op,
    pub ts_ms: i64,
    /// Source time in µs (`source.ts_us`).
    pub ts_us: i64,
    pub position: String,
    pub origin: RecordOrigin,
    /// Source column values in the Iceberg table's column order.
    pub values: Row,
}

impl ChangelogRow {
    /// About how many bytes the row takes in memory (for the commit threshold).
    pub fn approx_bytes(&self) -> usize {
        let values: usize = self.values.iter().map(value_bytes).sum();
        std::mem::size_of::<ChangelogRow>() + self.position.len() + values
    }
}

fn value_bytes(value: &Value) -> usize {
    let inline = std::mem::size_of::<Value>();
    inline
        + match value {
            Value::String(s) => s.len(),
            Value::Bytes(b) => b.len(),
            Value::Decimal(_) => 16,
            Value::Array(items) => items.iter().map(value_bytes).sum(),
            Value::Map(entries) => entries
                .iter()
                .map(|(k, v)| k.len() + v.as_ref().map_or(0, String::len) + 48)
                .sum(),
            Value::Geometry { wkb, .. } => wkb.len(),
            _ => 0,
        }
}

/// `source.ts_us` in milliseconds, rounded towards negative infinity.
pub(crate) fn ts_ms(ts_us: i64) -> i64 {
    ts_us.div_euclid(1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_timestamps() {
        assert_eq!(ts_ms(1_700_000_000_123_999), 1_700_000_000_123);
        assert_eq!(ts_ms(-1), -1);
        let origin = RecordOrigin {
            topic: Arc::from("db.public.t"),
            partition: 2,
            offset: 41,
        };
        assert_eq!(origin.to_string(), "db.public.t/2@41");
    }

    #[test]
    fn row_size_counts_value_payloads() {
        let row = |values| ChangelogRow {
            op: Op::Create,
            ts_ms: 0,
            ts_us: 0,
            position: "0/1".into(),
            origin: RecordOrigin {
                topic: Arc::from("t"),
                partition: 0,
                offset: 0,
            },
            values,
        };
        let small = row(vec![Value::Int64(1)]).approx_bytes();
        let big = row(vec![
            Value::String("x".repeat(10_000)),
            Value::Array(vec![Value::Bytes(vec![0; 5_000])]),
        ])
        .approx_bytes();
        assert!(small < 1_000, "{small}");
        assert!((15_000..16_000).contains(&big), "{big}");
    }
}
