//! MySQL GTIDs and GTID sets: `uuid:1-5:7-9,uuid2:1-3`, with MySQL 8.4 tags
//! (`uuid:1-5:tag_a:1-3`). Formatted in MySQL's canonical form: lowercase
//! UUIDs in order, untagged intervals first, then tags in order, intervals
//! merged and sorted, single transactions as `n`, joined by `,` (MySQL itself
//! joins with `,\n`; both parse).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::position::PositionError;

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

#[cfg(test)]
mod tests {
    use super::*;

    const U1: &str = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
    const U2: &str = "57b70f4e-20d3-11e5-a393-4a63946f7eac";

    #[test]
    fn mysql_set_canonical_form() {
        let input = format!(
            "{}:3,\n {}:7-9:1-5:6:11",
            U2.to_uppercase(),
            U1.to_uppercase()
        );
        let set: MySqlGtidSet = input.parse().unwrap();
        // merged 1-5,6,7-9 → 1-9; 11 alone; U1 sorts before U2.
        assert_eq!(set.to_string(), format!("{U1}:1-9:11,{U2}:3"));
        let again: MySqlGtidSet = set.to_string().parse().unwrap();
        assert_eq!(again, set);
        assert_eq!("".parse::<MySqlGtidSet>().unwrap(), MySqlGtidSet::new());
    }

    #[test]
    fn mysql_set_with_tags() {
        let set: MySqlGtidSet = format!("{U1}:Beta:3:alpha:1-2:5,{U1}:4").parse().unwrap();
        assert_eq!(set.to_string(), format!("{U1}:4:alpha:1-2:5:beta:3"));
        let g = |tag: Option<&str>, gno| MySqlGtid {
            source: MySqlSource {
                uuid: U1.parse().unwrap(),
                tag: tag.map(str::to_string),
            },
            gno,
        };
        assert!(set.contains(&g(Some("alpha"), 5)));
        assert!(!set.contains(&g(Some("alpha"), 3)));
        assert!(set.contains(&g(None, 4)));
        assert!(!set.contains(&g(None, 3)));
        assert_eq!(g(Some("alpha"), 5).to_string(), format!("{U1}:alpha:5"));
        let sids = set.to_sids().unwrap();
        assert_eq!(sids.len(), 3);
        let texts: Vec<String> = sids.iter().map(ToString::to_string).collect();
        assert_eq!(
            texts,
            vec![
                format!("{U1}:4"),
                format!("{U1}:alpha:1-2:5"),
                format!("{U1}:beta:3")
            ]
        );
    }

    #[test]
    fn mysql_set_add_and_contains() {
        let mut set: MySqlGtidSet = format!("{U1}:1-3:5").parse().unwrap();
        let gtid = |gno| MySqlGtid {
            source: MySqlSource {
                uuid: U1.parse().unwrap(),
                tag: None,
            },
            gno,
        };
        assert!(!set.contains(&gtid(4)));
        set.add(&gtid(4));
        assert_eq!(set.to_string(), format!("{U1}:1-5"));
        set.add(&gtid(7));
        assert_eq!(set.to_string(), format!("{U1}:1-5:7"));
        let mut other = MySqlGtidSet::new();
        other.add(&MySqlGtid {
            source: MySqlSource {
                uuid: U2.parse().unwrap(),
                tag: None,
            },
            gno: 1,
        });
        set.add(
            &other
                .sources
                .keys()
                .next()
                .cloned()
                .map(|source| MySqlGtid { source, gno: 1 })
                .unwrap(),
        );
        assert_eq!(set.to_string(), format!("{U1}:1-5:7,{U2}:1"));
        assert!(set.contains_set(&format!("{U1}:2-4,{U2}:1").parse().unwrap()));
        assert!(!set.contains_set(&format!("{U1}:5-7").parse().unwrap()));
        assert!(set.contains_set(&MySqlGtidSet::new()));
        let sids = set.to_sids().unwrap();
        assert_eq!(sids[0].intervals()[0].start(), 1);
        assert_eq!(
            sids[0].intervals()[0].end(),
            6,
            "mysql_async intervals are half-open"
        );
    }

    #[test]
    fn mysql_set_malformed() {
        for bad in [
            "not-a-uuid:1-5".to_string(),
            U1.to_string(),
            format!("{U1}:"),
            format!("{U1}:0"),
            format!("{U1}:5-3"),
            format!("{U1}:1-x"),
            format!("{U1}:1--3"),
            format!("{U1}:tag"),
            format!("{U1}:tag:"),
            format!("{U1}:1:tag"),
            format!("{U1}:a:b:1"),
            format!("{U1}:9tag:1"),
            format!("{U1}:{}:1", "t".repeat(33)),
            format!("{U1}:1-18446744073709551616"),
            format!("{U1}:1,,{U2}:1"),
        ] {
            let err = bad.parse::<MySqlGtidSet>().expect_err(&bad);
            assert_eq!(err.what, "MySQL GTID set", "{bad}");
        }
    }

    #[test]
    fn mysql_set_serde() {
        let set: MySqlGtidSet = format!("{U1}:1-5").parse().unwrap();
        let json = serde_json::to_value(&set).unwrap();
        assert_eq!(json, serde_json::json!(format!("{U1}:1-5")));
        assert_eq!(serde_json::from_value::<MySqlGtidSet>(json).unwrap(), set);
    }
}
