//! Binlog positions: MariaDB GTIDs and GTID lists, MySQL GTID sets, and
//! file + position coordinates — parsed, formatted and (de)serialised as
//! the strings stored in offsets.
//!
//! - MariaDB GTID `domain-server-seq` (e.g. `0-1-6`); a [`MariaGtidList`]
//!   holds the last GTID of each replication domain (`0-1-6,1-2-9`), which is
//!   exactly what `@slave_connect_state` takes.
//! - MySQL GTID set `uuid:1-5:7-9,uuid2:1-3`, with MySQL 8.4 tags
//!   (`uuid:1-5:tag_a:1-3`). Formatted in MySQL's canonical form: lowercase
//!   UUIDs in order, untagged intervals first, then tags in order, intervals
//!   merged and sorted, single transactions as `n`, joined by `,` (MySQL itself
//!   joins with `,\n`; both parse).
//! - [`FilePosition`]: binlog file name, byte position of the next event, and
//!   the number of rows of the event at that position already handled (Debezium's
//!   `file`/`pos`/`row` offset fields).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A position string that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed {what} {input:?}: {reason}")]
pub struct PositionError {
    /// What was being parsed, e.g. `MariaDB GTID`.
    pub what: &'static str,
    /// The offending input.
    pub input: String,
    /// Why it was refused.
    pub reason: String,
}

impl PositionError {
    fn new(what: &'static str, input: &str, reason: impl Into<String>) -> Self {
        PositionError {
            what,
            input: input.to_string(),
            reason: reason.into(),
        }
    }
}

/// One MariaDB GTID: `domain_id-server_id-sequence`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MariaGtid {
    /// Replication domain.
    pub domain_id: u32,
    /// Server that originated the transaction.
    pub server_id: u32,
    /// Sequence number within the domain.
    pub sequence: u64,
}

impl fmt::Display for MariaGtid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}-{}", self.domain_id, self.server_id, self.sequence)
    }
}

impl FromStr for MariaGtid {
    type Err = PositionError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        const WHAT: &str = "MariaDB GTID";
        let parts: Vec<&str> = input.trim().split('-').collect();
        let [domain, server, seq] = parts.as_slice() else {
            return Err(PositionError::new(
                WHAT,
                input,
                "expected domain-server-sequence, e.g. 0-1-6",
            ));
        };
        let number = |part: &str, name: &str| {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(PositionError::new(
                    WHAT,
                    input,
                    format!("{name} {part:?} is not a decimal number"),
                ));
            }
            part.parse::<u64>()
                .map_err(|e| PositionError::new(WHAT, input, format!("{name}: {e}")))
        };
        let narrow = |value: u64, name: &str| {
            u32::try_from(value)
                .map_err(|_| PositionError::new(WHAT, input, format!("{name} exceeds 2^32-1")))
        };
        Ok(MariaGtid {
            domain_id: narrow(number(domain, "domain id")?, "domain id")?,
            server_id: narrow(number(server, "server id")?, "server id")?,
            sequence: number(seq, "sequence")?,
        })
    }
}

impl TryFrom<String> for MariaGtid {
    type Error = PositionError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<MariaGtid> for String {
    fn from(value: MariaGtid) -> Self {
        value.to_string()
    }
}

/// MariaDB GTID position: the last GTID of each domain (at most one per domain).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MariaGtidList {
    by_domain: BTreeMap<u32, MariaGtid>,
}

impl MariaGtidList {
    /// An empty list (stream from the server's first binlog).
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `gtid` as the last one of its domain (replacing the previous one).
    pub fn update(&mut self, gtid: MariaGtid) {
        self.by_domain.insert(gtid.domain_id, gtid);
    }

    /// The last GTID of `domain_id`, if any.
    pub fn get(&self, domain_id: u32) -> Option<MariaGtid> {
        self.by_domain.get(&domain_id).copied()
    }

    /// The GTIDs in domain order.
    pub fn iter(&self) -> impl Iterator<Item = MariaGtid> + '_ {
        self.by_domain.values().copied()
    }

    /// Whether the list holds no GTID.
    pub fn is_empty(&self) -> bool {
        self.by_domain.is_empty()
    }

    /// Whether `gtid` is at or before this position in its domain.
    pub fn contains(&self, gtid: MariaGtid) -> bool {
        self.get(gtid.domain_id)
            .is_some_and(|last| gtid.sequence <= last.sequence)
    }
}

impl FromIterator<MariaGtid> for MariaGtidList {
    fn from_iter<T: IntoIterator<Item = MariaGtid>>(iter: T) -> Self {
        let mut list = MariaGtidList::new();
        for gtid in iter {
            list.update(gtid);
        }
        list
    }
}

impl fmt::Display for MariaGtidList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, gtid) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{gtid}")?;
        }
        Ok(())
    }
}

impl FromStr for MariaGtidList {
    type Err = PositionError;

    /// Parses `0-1-6,1-2-9`; the empty string is the empty list. Two GTIDs of
    /// one domain are refused (the position would be ambiguous).
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let mut list = MariaGtidList::new();
        if input.trim().is_empty() {
            return Ok(list);
        }
        for part in input.split(',') {
            let gtid: MariaGtid = part.parse().map_err(|e: PositionError| {
                PositionError::new("MariaDB GTID list", input, e.to_string())
            })?;
            if list.by_domain.insert(gtid.domain_id, gtid).is_some() {
                return Err(PositionError::new(
                    "MariaDB GTID list",
                    input,
                    format!("domain {} appears twice", gtid.domain_id),
                ));
            }
        }
        Ok(list)
    }
}

impl TryFrom<String> for MariaGtidList {
    type Error = PositionError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<MariaGtidList> for String {
    fn from(value: MariaGtidList) -> Self {
        value.to_string()
    }
}

/// A MySQL GTID source: server UUID plus optional tag (MySQL 8.4+, lowercase).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MySqlSource {
    /// The originating server's UUID.
    pub uuid: Uuid,
    /// The GTID tag, if any (normalised to lowercase).
    pub tag: Option<String>,
}

/// One MySQL GTID: source and transaction number (`uuid[:tag]:gno`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MySqlGtid {
    /// Server UUID and tag.
    pub source: MySqlSource,
    /// Transaction number, ≥ 1.
    pub gno: u64,
}

impl fmt::Display for MySqlGtid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.source.uuid.as_hyphenated())?;
        if let Some(tag) = &self.source.tag {
            write!(f, ":{tag}")?;
        }
        write!(f, ":{}", self.gno)
    }
}

/// A MySQL GTID set. Intervals are inclusive, disjoint, merged and sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MySqlGtidSet {
    sources: BTreeMap<MySqlSource, Vec<(u64, u64)>>,
}

const GTID_SET: &str = "MySQL GTID set";

impl MySqlGtidSet {
    /// The empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the set holds no transaction.
    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }

    /// Adds one transaction.
    pub fn add(&mut self, gtid: &MySqlGtid) {
        self.add_interval(gtid.source.clone(), gtid.gno, gtid.gno);
    }

    /// Adds the inclusive interval `start..=end` of `source` (`1 <= start <= end`).
    fn add_interval(&mut self, source: MySqlSource, start: u64, end: u64) {
        let intervals = self.sources.entry(source).or_default();
        intervals.push((start, end));
        intervals.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::with_capacity(intervals.len());
        for &(s, e) in intervals.iter() {
            match merged.last_mut() {
                Some(last) if s <= last.1.saturating_add(1) => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        *intervals = merged;
    }

    /// Whether the set contains `gtid`.
    pub fn contains(&self, gtid: &MySqlGtid) -> bool {
        self.sources.get(&gtid.source).is_some_and(|intervals| {
            intervals
                .iter()
                .any(|&(s, e)| s <= gtid.gno && gtid.gno <= e)
        })
    }

    /// Whether every transaction of `other` is in this set.
    pub fn contains_set(&self, other: &MySqlGtidSet) -> bool {
        other.sources.iter().all(|(source, intervals)| {
            let Some(mine) = self.sources.get(source) else {
                return false;
            };
            intervals
                .iter()
                .all(|&(s, e)| mine.iter().any(|&(ms, me)| ms <= s && e <= me))
        })
    }

    /// The set as `mysql_async` SIDs for `BinlogStreamRequest::with_gtid_set`
    /// (intervals there are half-open).
    pub fn to_sids(&self) -> Result<Vec<mysql_async::Sid<'static>>, PositionError> {
        self.sources
            .iter()
            .map(|(source, intervals)| {
                // One SID per source, built from its text (the only public way
                // to attach a tag).
                let mut text = source.uuid.as_hyphenated().to_string();
                if let Some(tag) = &source.tag {
                    text.push(':');
                    text.push_str(tag);
                }
                for &(s, e) in intervals {
                    text.push_str(&format!(":{s}-{e}"));
                }
                text.parse::<mysql_async::Sid<'static>>()
                    .map_err(|e| PositionError::new(GTID_SET, &text, e.to_string()))
            })
            .collect()
    }
}

impl fmt::Display for MySqlGtidSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut previous_uuid: Option<Uuid> = None;
        for (source, intervals) in &self.sources {
            if previous_uuid != Some(source.uuid) {
                if previous_uuid.is_some() {
                    f.write_str(",")?;
                }
                write!(f, "{}", source.uuid.as_hyphenated())?;
                previous_uuid = Some(source.uuid);
            }
            if let Some(tag) = &source.tag {
                write!(f, ":{tag}")?;
            }
            for &(s, e) in intervals {
                if s == e {
                    write!(f, ":{s}")?;
                } else {
                    write!(f, ":{s}-{e}")?;
                }
            }
        }
        Ok(())
    }
}

impl FromStr for MySqlGtidSet {
    type Err = PositionError;

    /// Parses `uuid:1-5:7,uuid2:tag:3` (whitespace and newlines around parts
    /// ignored; the empty string is the empty set).
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let err = |reason: String| PositionError::new(GTID_SET, input, reason);
        let mut set = MySqlGtidSet::new();
        if input.trim().is_empty() {
            return Ok(set);
        }
        for part in input.split(',') {
            let mut components = part.trim().split(':');
            let uuid_text = components.next().unwrap_or_default().trim();
            let uuid = Uuid::try_parse(uuid_text)
                .map_err(|e| err(format!("bad server UUID {uuid_text:?}: {e}")))?;
            let mut tag: Option<String> = None;
            let mut intervals_of_tag = 0usize;
            let mut any = false;
            for component in components {
                let component = component.trim();
                let first = component.bytes().next();
                match first {
                    Some(b'0'..=b'9') => {
                        let (start, end) = parse_interval(component).map_err(&err)?;
                        set.add_interval(
                            MySqlSource {
                                uuid,
                                tag: tag.clone(),
                            },
                            start,
                            end,
                        );
                        intervals_of_tag += 1;
                        any = true;
                    }
                    Some(_) => {
                        if tag.is_some() && intervals_of_tag == 0 {
                            return Err(err(format!("tag {tag:?} has no interval")));
                        }
                        tag = Some(parse_tag(component).map_err(&err)?);
                        intervals_of_tag = 0;
                    }
                    None => return Err(err(format!("empty component in {part:?}"))),
                }
            }
            if !any || intervals_of_tag == 0 {
                return Err(err(format!("{part:?} has no transaction interval")));
            }
        }
        Ok(set)
    }
}

/// `n` or `a-b` (inclusive, `1 <= a <= b`).
fn parse_interval(text: &str) -> Result<(u64, u64), String> {
    let number = |s: &str| {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("interval {text:?}: {s:?} is not a number"));
        }
        s.parse::<u64>()
            .map_err(|e| format!("interval {text:?}: {e}"))
    };
    let (start, end) = match text.split_once('-') {
        Some((a, b)) => (number(a)?, number(b)?),
        None => {
            let n = number(text)?;
            (n, n)
        }
    };
    if start == 0 {
        return Err(format!("interval {text:?}: transaction numbers start at 1"));
    }
    if start > end {
        return Err(format!("interval {text:?}: start is after end"));
    }
    Ok((start, end))
}

/// A MySQL 8.4 GTID tag: `[a-z_][a-z0-9_]{0,31}`, case-insensitive (lowercased).
fn parse_tag(text: &str) -> Result<String, String> {
    let tag = text.to_ascii_lowercase();
    let valid = (1..=32).contains(&tag.len())
        && tag
            .bytes()
            .next()
            .is_some_and(|b| b == b'_' || b.is_ascii_lowercase())
        && tag
            .bytes()
            .all(|b| b == b'_' || b.is_ascii_lowercase() || b.is_ascii_digit());
    if valid {
        Ok(tag)
    } else {
        Err(format!(
            "tag {text:?} is not [a-z_][a-z0-9_]* of at most 32 characters"
        ))
    }
}

impl TryFrom<String> for MySqlGtidSet {
    type Error = PositionError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<MySqlGtidSet> for String {
    fn from(value: MySqlGtidSet) -> Self {
        value.to_string()
    }
}

/// A GTID as read from a transaction's first event.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Gtid {
    /// MariaDB `domain-server-seq`.
    MariaDb(MariaGtid),
    /// MySQL `uuid[:tag]:gno`.
    MySql(MySqlGtid),
}

impl fmt::Display for Gtid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Gtid::MariaDb(g) => g.fmt(f),
            Gtid::MySql(g) => g.fmt(f),
        }
    }
}

/// Binlog coordinates: the event starting at byte `pos` of `file`, of which
/// `row` rows have already been handled (0 = none).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FilePosition {
    /// Binlog file name, e.g. `mariadb-bin.000001`.
    pub file: String,
    /// Byte offset of an event in `file` (4 = the first event).
    pub pos: u64,
    /// Rows of that event already handled.
    #[serde(default)]
    pub row: u64,
}

impl FilePosition {
    /// `file` at `pos`, no row handled.
    pub fn new(file: impl Into<String>, pos: u64) -> Self {
        FilePosition {
            file: file.into(),
            pos,
            row: 0,
        }
    }
}

impl fmt::Display for FilePosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.pos)?;
        if self.row > 0 {
            write!(f, " row {}", self.row)?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "position_tests.rs"]
mod tests;
