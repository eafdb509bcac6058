//! Binlog positions: MariaDB GTIDs and GTID lists, MySQL GTID sets, and
//! file + position coordinates — parsed, formatted and (de)serialised as
//! the strings stored in offsets.
//!
//! - MariaDB GTID `domain-server-seq` (e.g. `0-1-6`); a [`MariaGtidList`]
//!   holds the last GTID of each replication domain (`0-1-6,1-2-9`), which is
//!   exactly what `@slave_connect_state` takes.
//! - MySQL GTID sets live in `gtid_set`.
//! - [`FilePosition`]: binlog file name, byte position of the next event, and
//!   the number of rows of the event at that position already handled (Debezium's
//!   `file`/`pos`/`row` offset fields).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::gtid_set::MySqlGtid;

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
    pub(crate) fn new(what: &'static str, input: &str, reason: impl Into<String>) -> Self {
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
