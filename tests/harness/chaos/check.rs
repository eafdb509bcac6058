//! The checks after a chaos run: Kafka (read_committed) against the load's ground truth,
//! the changelog tables against Kafka, and the mirror tables against PostgreSQL with
//! `cdc-sink verify`.

use std::collections::{BTreeMap, BTreeSet};

use cdc_testkit::workspace_binary;

use super::load::{Ev, Truth, TABLES};
use crate::pipeline::{Pipeline, TOPIC_PREFIX};
use crate::readback::changelog_offsets_of;
use crate::topics::{payload, read_topics};
use crate::{io, HarnessError, Result};

/// Differences between what was expected and what was found.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    pub expected: usize,
    pub found: usize,
    pub lost: usize,
    pub duplicated: usize,
    /// Keys whose events are all there but in another order.
    pub reordered: usize,
    pub examples: Vec<String>,
}

impl Tally {
    fn example(&mut self, text: String) {
        if self.examples.len() < 5 {
            self.examples.push(text);
        }
    }
}

/// Kafka origins `(partition, offset)` of every change event per source table, and the
/// events per key.
pub struct KafkaView {
    pub origins: BTreeMap<String, Vec<(i32, i64)>>,
    pub events: Truth,
}

/// Reads every committed record of the chaos topics.
pub async fn read_kafka(bootstrap: &str) -> Result<KafkaView> {
    let bootstrap = bootstrap.to_owned();
    let topics: Vec<String> = TABLES
        .iter()
        .map(|t| format!("{TOPIC_PREFIX}.public.{t}"))
        .collect();
    let records = tokio::task::spawn_blocking(move || read_topics(&bootstrap, &topics))
        .await
        .map_err(|e| HarnessError::Check(format!("topic reader task: {e}")))??;
    let mut view = KafkaView {
        origins: BTreeMap::new(),
        events: Truth::new(),
    };
    for ((topic, partition), records) in records {
        let table = topic.rsplit('.').next().unwrap_or_default().to_owned();
        for r in records {
            let Some(value) = r.value.as_deref() else {
                continue; // tombstone
            };
            let v = payload(Some(value));
            let id = payload(r.key.as_deref())["id"]
                .as_i64()
                .ok_or_else(|| HarnessError::Check(format!("{topic}@{}: no id", r.offset)))?;
            let after_v = || {
                v["after"]["v"]
                    .as_i64()
                    .ok_or_else(|| HarnessError::Check(format!("{topic}@{}: no after.v", r.offset)))
            };
            let ev = match v["op"].as_str() {
                Some("r") => Ev::Read(after_v()?),
                Some("c") => Ev::Create(after_v()?),
                Some("u") => Ev::Update(after_v()?),
                Some("d") => Ev::Delete,
                other => {
                    return Err(HarnessError::Check(format!(
                        "{topic}@{}: unexpected op {other:?}",
                        r.offset
                    )))
                }
            };
            view.events.entry((table.clone(), id)).or_default().push(ev);
            view.origins
                .entry(format!("public.{table}"))
                .or_default()
                .push((partition, r.offset));
        }
    }
    for origins in view.origins.values_mut() {
        origins.sort_unstable();
    }
    Ok(view)
}

/// Every expected event exactly once and in order per key.
pub fn compare_events(truth: &Truth, kafka: &Truth) -> Tally {
    let mut tally = Tally {
        expected: truth.values().map(Vec::len).sum(),
        found: kafka.values().map(Vec::len).sum(),
        ..Tally::default()
    };
    let keys: BTreeSet<&(String, i64)> = truth.keys().chain(kafka.keys()).collect();
    for key in keys {
        let want = truth.get(key).map(Vec::as_slice).unwrap_or_default();
        let got = kafka.get(key).map(Vec::as_slice).unwrap_or_default();
        if want == got {
            continue;
        }
        let count = |list: &[Ev], ev: &Ev| list.iter().filter(|e| *e == ev).count();
        let (mut lost, mut duplicated) = (0, 0);
        for ev in dedup(want) {
            lost += count(want, &ev).saturating_sub(count(got, &ev));
        }
        for ev in dedup(got) {
            duplicated += count(got, &ev).saturating_sub(count(want, &ev));
        }
        if lost == 0 && duplicated == 0 {
            tally.reordered += 1;
        }
        tally.lost += lost;
        tally.duplicated += duplicated;
        tally.example(format!(
            "{}.{}: expected {want:?}, Kafka has {got:?}",
            key.0, key.1
        ));
    }
    tally
}

fn dedup(list: &[Ev]) -> Vec<Ev> {
    let mut out: Vec<Ev> = Vec::new();
    for ev in list {
        if !out.contains(ev) {
            out.push(*ev);
        }
    }
    out
}

/// Every Kafka change record exactly once in its changelog table.
pub async fn compare_changelog(p: &Pipeline, kafka: &KafkaView) -> Result<Tally> {
    let tables: Vec<String> = TABLES.iter().map(|t| format!("public.{t}")).collect();
    let names: Vec<&str> = tables.iter().map(String::as_str).collect();
    let lake: BTreeMap<String, Vec<(i32, i64)>> = changelog_offsets_of(&p.lake_dir(), &names)
        .await?
        .into_iter()
        .collect();
    let mut tally = Tally::default();
    for table in &tables {
        let want = kafka.origins.get(table).cloned().unwrap_or_default();
        let got = lake.get(table).cloned().unwrap_or_default();
        tally.expected += want.len();
        tally.found += got.len();
        let mut counts: BTreeMap<(i32, i64), (usize, usize)> = BTreeMap::new();
        for o in &want {
            counts.entry(*o).or_default().0 += 1;
        }
        for o in &got {
            counts.entry(*o).or_default().1 += 1;
        }
        for (origin, (w, g)) in counts {
            if g < w {
                tally.lost += w - g;
                tally.example(format!(
                    "{table}: Kafka {origin:?} missing from the changelog"
                ));
            } else if g > w {
                tally.duplicated += g - w;
                tally.example(format!("{table}: Kafka {origin:?} {g}× in the changelog"));
            }
        }
    }
    Ok(tally)
}

/// `cdc-sink verify` of each chaos table's mirror: the tables that differ, with the output.
pub async fn verify_mirrors(p: &Pipeline) -> Result<Vec<(String, String)>> {
    let conninfo = format!(
        "host={} port={} user={} dbname={}",
        p.pg.host(),
        p.pg.port(),
        p.pg.user(),
        crate::pipeline::DATABASE
    );
    let mut diverged = Vec::new();
    for table in TABLES {
        let table = format!("public.{table}");
        let out = tokio::process::Command::new(workspace_binary("cdc-sink")?)
            .args(["verify", "--config"])
            .arg(p.dir.join("sink.toml"))
            .args(["--source", &conninfo, "--table", &table])
            .env("PGPASSWORD", p.pg.password())
            .env_remove("CDC_SINK_VERIFY_SOURCE")
            .output()
            .await
            .map_err(io("running cdc-sink verify"))?;
        if out.status.code() != Some(0) {
            diverged.push((
                table,
                format!(
                    "exit {:?}: {}{}",
                    out.status.code(),
                    String::from_utf8_lossy(&out.stdout).trim(),
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            ));
        }
    }
    Ok(diverged)
}
