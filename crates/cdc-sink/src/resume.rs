//! Where consumption resumes after a start: what the Iceberg tables hold.
//!
//! Every table the sink writes records two things:
//! - in its table properties, the Kafka topics that feed it ([`PROP_KAFKA_TOPICS`], a JSON
//!   array), each added (a metadata-only commit) before the table buffers the first record of
//!   that topic, so before any table of the same source can commit one;
//! - in each snapshot summary, the next offset of every partition whose records it holds
//!   (`cdc.kafka-offsets`, see [`crate::target::held_offsets`]).
//!
//! A committing table records the sink's consumed position for every partition of its topics,
//! not just the offsets of its own records (see [`crate::writer::LakeWriter::consumed`]), so a
//! table missing a partition has really seen none of it: it was claimed but killed before its
//! first commit, or the partition appeared after its last commit.
//!
//! The tables of one source table (mirror, changelog, history) commit one after the other, so
//! a crash can leave one holding records another does not. A partition is therefore read from
//! the minimum over every table its topic feeds, and from the beginning when one of those
//! tables holds none of the partition yet. Each table then skips the records it already holds
//! (`Target::holds`), so nothing is applied twice.

use std::collections::{BTreeSet, HashMap};

use iceberg::spec::TableMetadata;

use crate::target::{held_offsets, KafkaOffsets};
use crate::SinkError;

/// Table property: JSON array of the Kafka topics whose records the table is fed.
pub const PROP_KAFKA_TOPICS: &str = "cdc.kafka-topics";

/// The topics feeding `md`'s table: its [`PROP_KAFKA_TOPICS`] property (absent in tables
/// written before the property existed: empty).
pub(crate) fn fed_topics(md: &TableMetadata, name: &str) -> Result<BTreeSet<String>, SinkError> {
    md.properties()
        .get(PROP_KAFKA_TOPICS)
        .map(|text| {
            serde_json::from_str(text).map_err(|e| SinkError::Batch {
                table: name.to_owned(),
                reason: format!("the table property {PROP_KAFKA_TOPICS} is not valid: {e}"),
            })
        })
        .transpose()
        .map(Option::unwrap_or_default)
}

/// The table properties that record `topics` as the topics feeding a table.
pub(crate) fn topics_property(topics: &BTreeSet<String>) -> HashMap<String, String> {
    let text = serde_json::to_string(topics).unwrap_or_else(|_| "[]".to_owned());
    HashMap::from([(PROP_KAFKA_TOPICS.to_owned(), text)])
}

/// What one table holds.
#[derive(Debug)]
struct Held {
    topics: BTreeSet<String>,
    offsets: KafkaOffsets,
}

/// What the namespace's tables hold, read once at start-up.
#[derive(Debug, Default)]
pub struct ResumePoints {
    tables: Vec<Held>,
}

impl ResumePoints {
    /// Adds the table `md` (called `name`); tables fed by no topic are not the sink's.
    pub(crate) fn add_table(&mut self, md: &TableMetadata, name: &str) -> Result<(), SinkError> {
        let offsets = held_offsets(md, name)?.unwrap_or_default();
        let mut topics = fed_topics(md, name)?;
        topics.extend(offsets.keys().map(|t| t.to_string()));
        self.add(topics, offsets);
        Ok(())
    }

    fn add(&mut self, topics: BTreeSet<String>, offsets: KafkaOffsets) {
        if !topics.is_empty() {
            self.tables.push(Held { topics, offsets });
        }
    }

    /// Where to start reading `topic`/`partition`: the smallest next offset over the tables
    /// `topic` feeds, or `None` (the beginning) when one of them holds nothing of the
    /// partition or no table is fed by `topic`.
    pub fn start(&self, topic: &str, partition: i32) -> Option<i64> {
        let mut start: Option<i64> = None;
        for held in self.tables.iter().filter(|h| h.topics.contains(topic)) {
            let next = held.offsets.get(topic).and_then(|p| p.get(&partition))?;
            start = Some(start.map_or(*next, |s| s.min(*next)));
        }
        start
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use super::*;

    fn offsets(entries: &[(&str, i32, i64)]) -> KafkaOffsets {
        let mut out: KafkaOffsets = BTreeMap::new();
        for &(topic, partition, next) in entries {
            out.entry(Arc::from(topic))
                .or_default()
                .insert(partition, next);
        }
        out
    }

    fn topics(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn minimum_over_the_tables_a_topic_feeds() {
        let mut points = ResumePoints::default();
        points.add(topics(&["t"]), offsets(&[("t", 0, 80), ("t", 1, 7)]));
        points.add(topics(&["t"]), offsets(&[("t", 0, 215), ("t", 1, 9)]));
        points.add(topics(&["u"]), offsets(&[("u", 0, 3)]));
        assert_eq!(points.start("t", 0), Some(80));
        assert_eq!(points.start("t", 1), Some(7));
        assert_eq!(points.start("u", 0), Some(3));
    }

    #[test]
    fn a_table_holding_nothing_of_a_partition_reads_it_from_the_beginning() {
        let mut points = ResumePoints::default();
        points.add(topics(&["t"]), offsets(&[("t", 0, 300), ("t", 1, 50)]));
        points.add(topics(&["t"]), offsets(&[("t", 0, 215)]));
        assert_eq!(points.start("t", 0), Some(215));
        assert_eq!(
            points.start("t", 1),
            None,
            "the second table has none of partition 1"
        );
        // Claimed (the topic listed) but killed before its first commit.
        points.add(topics(&["u"]), offsets(&[]));
        points.add(topics(&["u"]), offsets(&[("u", 0, 9)]));
        assert_eq!(points.start("u", 0), None);
    }

    #[test]
    fn unknown_topics_and_foreign_tables() {
        let mut points = ResumePoints::default();
        points.add(topics(&[]), offsets(&[]));
        assert_eq!(points.start("t", 0), None);
        assert!(points.tables.is_empty());
    }
}
