//! Commit latency and freshness on the real pipeline: PostgreSQL → `cdc-capture` → Kafka →
//! `cdc-sink` (mirror mode) with a writer holding a fixed change rate.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cdc_e2e::pipeline::Pipeline;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::report::{Latency, Live};
use crate::stream::{self, Row};
use crate::{BenchError, Options};

/// The mirror table's metric label and catalog name.
const MIRROR: &str = "cdc.public_bench_items";
/// Rows in the table before the capture starts (its initial snapshot).
const PRELOAD: u64 = 20_000;
/// One source transaction per tick.
const TICK: Duration = Duration::from_millis(100);

pub async fn measure(options: &Options) -> Result<Live, BenchError> {
    let dir = options.dir.join("live");
    let _ = std::fs::remove_dir_all(&dir);
    let mut pipeline = Pipeline::start(&dir).await?;
    let result = drive(&mut pipeline, options).await;
    let stopped = pipeline.shutdown().await;
    let live = result?;
    stopped?;
    if !options.keep {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(live)
}

async fn drive(pipeline: &mut Pipeline, options: &Options) -> Result<Live, BenchError> {
    let client = pipeline.connect().await?;
    client.batch_execute(stream::CREATE_TABLE).await?;
    let mut load = Load::new(PRELOAD);
    for chunk in (1..=PRELOAD).collect::<Vec<_>>().chunks(1000) {
        let rows: Vec<String> = chunk.iter().map(|&id| load.row_sql(id)).collect();
        client
            .batch_execute(&format!(
                "INSERT INTO public.bench_items VALUES {}",
                rows.join(",")
            ))
            .await?;
    }
    pipeline.set_capture_tables(&["public.bench_items"], "")?;
    let commit = format!(
        "[commit]\ninterval_ms = {}\nmax_rows = {}\n\n[tables]\nmodes = [\"mirror\"]\n",
        options.live_interval_ms, options.batch
    );
    let mut edited = false;
    pipeline.edit_sink_config(|toml| {
        let old = "[commit]\ninterval_ms = 1000\nmax_rows = 5000\n";
        edited = toml.contains(old);
        toml.replace(old, &commit)
    })?;
    if !edited {
        return Err(BenchError::Check(
            "the harness's sink.toml has no [commit] section to replace".into(),
        ));
    }
    pipeline.start_capture()?;
    pipeline.start_sink()?;
    pipeline
        .wait_for_snapshot(PRELOAD, Duration::from_secs(300))
        .await?;
    wait_rows(pipeline, PRELOAD, Duration::from_secs(300)).await?;
    eprintln!("bench: live: {PRELOAD} rows snapshotted into the mirror; load starts");

    let log = pipeline.dir.join("sink.log");
    let commits_before = commit_lines(&log)?.len();
    let histogram_before = histogram(pipeline).await?;
    let load_start_ms = unix_ms();
    let started = Instant::now();
    let changes = load.run(&client, options).await?;
    let load_took = started.elapsed();
    eprintln!(
        "bench: live: {changes} changes in {:.1} s; waiting for the mirror",
        load_took.as_secs_f64()
    );
    wait_rows(
        pipeline,
        PRELOAD + changes,
        Duration::from_secs(options.live_seconds + 600),
    )
    .await?;
    let drained_after = started.elapsed();
    let histogram_after = histogram(pipeline).await?;
    let took: Vec<f64> = commit_lines(&log)?
        .into_iter()
        .skip(commits_before)
        .collect();
    let (snapshots, freshness) = freshness(&pipeline.lake_dir(), load_start_ms).await?;
    let commits = histogram_after.0 - histogram_before.0;
    Ok(Live {
        target_rate: options.live_rate,
        seconds: options.live_seconds,
        changes,
        achieved_rate: changes as f64 / load_took.as_secs_f64().max(1e-9),
        preload: PRELOAD,
        commit_interval_ms: options.live_interval_ms,
        commit_max_rows: options.batch as u64,
        commit: latency(took),
        histogram_commits: commits,
        histogram_mean_ms: 1000.0 * (histogram_after.1 - histogram_before.1) / commits.max(1.0),
        freshness,
        freshness_snapshots: snapshots,
        drained_after,
    })
}

fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Polls the sink's `/metrics` until the mirror committed `rows` change events.
async fn wait_rows(
    pipeline: &mut Pipeline,
    rows: u64,
    timeout: Duration,
) -> Result<(), BenchError> {
    let name = format!("cdc_sink_rows_written_total{{table=\"{MIRROR}\"}}");
    let deadline = Instant::now() + timeout;
    let mut seen = 0.0;
    while Instant::now() < deadline {
        pipeline.check_running()?;
        if let Ok((_, body)) = Pipeline::http_get(&pipeline.sink_metrics, "/metrics").await {
            seen = Pipeline::metric(&body, &name).unwrap_or(0.0);
            if seen >= rows as f64 {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(BenchError::Check(format!(
        "the mirror committed {seen} of {rows} change events within {timeout:?}"
    )))
}

/// `cdc_sink_commit_duration_seconds` `(count, sum)`.
async fn histogram(pipeline: &Pipeline) -> Result<(f64, f64), BenchError> {
    let (_, body) = Pipeline::http_get(&pipeline.sink_metrics, "/metrics").await?;
    let get = |name| Pipeline::metric(&body, name).unwrap_or(0.0);
    Ok((
        get("cdc_sink_commit_duration_seconds_count"),
        get("cdc_sink_commit_duration_seconds_sum"),
    ))
}

/// `took_ms` of every `committed` line of the sink's log, in order.
fn commit_lines(log: &Path) -> Result<Vec<f64>, BenchError> {
    let text = std::fs::read_to_string(log).map_err(|e| BenchError::io(log, e))?;
    Ok(text
        .lines()
        .map(strip_ansi)
        .filter(|l| l.contains("committed"))
        .filter_map(|l| {
            let at = l.find("took_ms=")? + "took_ms=".len();
            let digits: String = l[at..]
                .chars()
                .skip_while(|c| !c.is_ascii_digit())
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().ok()
        })
        .collect())
}

/// `line` without terminal colour sequences (`ESC [ … m`).
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Nearest-rank percentiles of `values` (milliseconds).
fn latency(mut values: Vec<f64>) -> Latency {
    values.sort_by(f64::total_cmp);
    let rank = |q: f64| {
        let i = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len().max(1)) - 1;
        values.get(i).copied().unwrap_or(f64::NAN)
    };
    Latency {
        count: values.len() as u64,
        p50: rank(0.5),
        p95: rank(0.95),
        max: values.last().copied().unwrap_or(f64::NAN),
    }
}

/// Runs `freshness.py`: `(snapshots, freshness)` of the mirror's snapshots after `since_ms`.
async fn freshness(lake: &Path, since_ms: i64) -> Result<(u64, Latency), BenchError> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/sink/freshness.py");
    let out = tokio::process::Command::new(cdc_e2e::readback::python())
        .arg(&script)
        .arg("--data-dir")
        .arg(lake)
        .args(["--table", MIRROR, "--since-ms", &since_ms.to_string()])
        .output()
        .await
        .map_err(|e| BenchError::io(&script, e))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().rfind(|l| l.starts_with('{'));
    let parsed = line.and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok());
    let Some(v) = parsed.filter(|_| out.status.success()) else {
        return Err(BenchError::Check(format!(
            "freshness.py failed ({}): {stdout}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )));
    };
    let f = |k: &str| v[k].as_f64().unwrap_or(f64::NAN);
    Ok((
        v["snapshots"].as_u64().unwrap_or(0),
        Latency {
            count: v["rows"].as_u64().unwrap_or(0),
            p50: f("p50"),
            p95: f("p95"),
            max: f("max"),
        },
    ))
}

/// The rate-limited writer: per tick one transaction of 40% inserts (new keys), 50% updates
/// (random live keys) and 10% deletes (the oldest live keys).
struct Load {
    rng: StdRng,
    /// Live keys are `lo..hi`.
    lo: u64,
    hi: u64,
}

impl Load {
    fn new(preloaded: u64) -> Load {
        Load {
            rng: StdRng::seed_from_u64(0x11fe),
            lo: 1,
            hi: preloaded + 1,
        }
    }

    fn row_sql(&mut self, id: u64) -> String {
        let row = Row::random(&mut self.rng, i64::try_from(id).unwrap_or(i64::MAX));
        let text = |v: Option<String>| v.map_or_else(|| "NULL".to_owned(), |s| format!("'{s}'"));
        format!(
            "({},{},'{}',{},{},{},{},to_timestamp({}::double precision / 1e6),{})",
            row.id,
            row.account_id,
            row.name,
            text(row.email.clone()),
            row.amount_text(),
            row.score.map_or_else(|| "NULL".into(), |s| format!("{s}")),
            row.active,
            row.created_us,
            row.due
                .map_or_else(|| "NULL".into(), |d| format!("DATE '1970-01-01' + {d}")),
        )
    }

    /// Writes for `options.live_seconds` at `options.live_rate`; returns the changes made.
    async fn run(
        &mut self,
        client: &tokio_postgres::Client,
        options: &Options,
    ) -> Result<u64, BenchError> {
        let per_tick = options.live_rate / 10;
        let inserts = per_tick * 4 / 10;
        let updates = per_tick / 2;
        let deletes = per_tick - inserts - updates;
        let ticks = options.live_seconds * 10;
        let mut interval = tokio::time::interval(TICK);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let mut changes = 0;
        for _ in 0..ticks {
            interval.tick().await;
            let rows: Vec<String> = (self.hi..self.hi + inserts)
                .map(|id| self.row_sql(id))
                .collect();
            self.hi += inserts;
            let (gone_lo, gone_hi) = (self.lo, self.lo + deletes);
            self.lo = gone_hi;
            let span = usize::try_from(self.hi - self.lo).unwrap_or(usize::MAX);
            let picked = rand::seq::index::sample(
                &mut self.rng,
                span,
                usize::try_from(updates).unwrap_or(0).min(span),
            );
            let ids: Vec<String> = picked
                .iter()
                .map(|i| (self.lo + i as u64).to_string())
                .collect();
            let score: f64 = self.rng.random_range(0.0..1000.0);
            let sql = format!(
                "BEGIN;\
                 INSERT INTO public.bench_items VALUES {};\
                 UPDATE public.bench_items SET amount = amount + 1, score = {score}, \
                 active = NOT active WHERE id IN ({});\
                 DELETE FROM public.bench_items WHERE id >= {gone_lo} AND id < {gone_hi};\
                 COMMIT;",
                rows.join(","),
                ids.join(",")
            );
            client.batch_execute(&sql).await?;
            changes += inserts + ids.len() as u64 + deletes;
        }
        Ok(changes)
    }
}
