//! P5a / P5b: a change stream through [`LakeWriter`] into a mirror-only table (append +
//! commit, position deletes and the key index included) against the ceiling of writing the
//! same rows straight to Parquet; repetitions interleaved, medians compared.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use cdc_sink::{IcebergConfig, LakeWriter, RecordOrigin, TableMode, TablesConfig};

use crate::ceiling;
use crate::report::{Run, Scenario};
use crate::stream::{self, Change, Generator};
use crate::{BenchError, Options};

const TOPIC: &str = "bench.public.bench_items";

/// A stream to measure: `preload` committed untimed first, then `timed`.
struct Stream {
    name: &'static str,
    preload: Vec<Change>,
    timed: Vec<Change>,
}

/// Runs both scenarios `options.reps` times each.
pub async fn measure(options: &Options) -> Result<Vec<Scenario>, BenchError> {
    let n = options.rows;
    let mut insert_only = Generator::new(0x5a);
    let mut mixed = Generator::new(0x5b);
    let streams = [
        Stream {
            name: "P5a",
            // One row first: the table exists before the clock starts.
            preload: insert_only.inserts(1),
            timed: insert_only.inserts(n),
        },
        Stream {
            name: "P5b",
            preload: mixed.inserts(n / 2),
            timed: mixed.mixed(n),
        },
    ];
    let mut scenarios: Vec<Scenario> = streams
        .iter()
        .map(|s| Scenario::new(s.name, &s.timed, s.preload.len()))
        .collect();
    let mut schema: Option<SchemaRef> = None;
    for rep in 0..options.reps {
        for (stream, scenario) in streams.iter().zip(scenarios.iter_mut()) {
            let dir = options.dir.join(format!("{}-{rep}", stream.name));
            let _ = std::fs::remove_dir_all(&dir);
            let sink = through_sink(&dir.join("lake"), stream, options.batch).await?;
            eprintln!(
                "bench: {} rep {rep}: sink {:.0} rows/s",
                stream.name,
                sink.rows_per_sec()
            );
            if schema.is_none() {
                // The mirror's Arrow schema exactly as the sink wrote it.
                schema = Some(ceiling::data_file_schema(&dir.join("lake"))?);
            }
            let schema = schema
                .clone()
                .ok_or_else(|| BenchError::Check("no Arrow schema for the ceiling".into()))?;
            let batches = ceiling_batches(&schema, stream, options.batch)?;
            let took = ceiling::write(&dir.join("ceiling"), &batches)?;
            let ceiling = Run {
                rows: stream.timed.len(),
                total: took,
                ..Run::default()
            };
            eprintln!(
                "bench: {} rep {rep}: ceiling {:.0} rows/s",
                stream.name,
                ceiling.rows_per_sec()
            );
            scenario.sink.push(sink);
            scenario.ceiling.push(ceiling);
            if !options.keep {
                let _ = std::fs::remove_dir_all(&dir);
            }
        }
    }
    Ok(scenarios)
}

fn origin(topic: &Arc<str>, seq: u64) -> RecordOrigin {
    RecordOrigin {
        topic: Arc::clone(topic),
        partition: 0,
        offset: i64::try_from(seq).unwrap_or(i64::MAX),
    }
}

/// The stream through a fresh writer on a fresh catalog in `lake`, committing every `batch`
/// changes (as the sink does at `commit.max_rows`).
async fn through_sink(lake: &Path, stream: &Stream, batch: usize) -> Result<Run, BenchError> {
    let tables = TablesConfig {
        modes: vec![TableMode::Mirror],
        ..TablesConfig::default()
    };
    let mut writer = LakeWriter::open(&IcebergConfig::new(lake), &tables).await?;
    let table = stream::table();
    let topic: Arc<str> = Arc::from(TOPIC);
    let mut seq = 0u64;
    for chunk in stream.preload.chunks(batch.max(1)) {
        for change in chunk {
            writer
                .append(change.event(&table, seq), origin(&topic, seq))
                .await?;
            seq += 1;
        }
        writer.commit().await?;
    }
    // Decoded events are what the sink's consume loop hands the writer; build them first.
    let events: Vec<_> = stream
        .timed
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let s = seq + i as u64;
            (c.event(&table, s), origin(&topic, s))
        })
        .collect();
    let mut run = Run {
        rows: events.len(),
        ..Run::default()
    };
    let started = Instant::now();
    let mut events = events.into_iter().peekable();
    while events.peek().is_some() {
        let t = Instant::now();
        for (event, origin) in events.by_ref().take(batch.max(1)) {
            writer.append(event, origin).await?;
        }
        run.append += t.elapsed();
        let t = Instant::now();
        for table in writer.commit().await? {
            run.data_files += table.data_files;
            run.delete_files += table.delete_files;
        }
        run.commit += t.elapsed();
        run.commits += 1;
    }
    run.total = started.elapsed();
    Ok(run)
}

/// The timed changes as batches of `batch` rows with the stream positions the sink saw.
fn ceiling_batches(
    schema: &SchemaRef,
    stream: &Stream,
    batch: usize,
) -> Result<Vec<RecordBatch>, BenchError> {
    let first = stream.preload.len() as u64;
    stream
        .timed
        .chunks(batch.max(1))
        .enumerate()
        .map(|(i, chunk)| ceiling::batch(schema, chunk, first + (i * batch.max(1)) as u64))
        .collect()
}

impl Run {
    pub fn rows_per_sec(&self) -> f64 {
        self.rows as f64 / self.total.as_secs_f64().max(1e-9)
    }
}

/// Median of `values` (the mean of the middle two for an even count).
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// Share of `part` in `whole`, in percent.
pub fn percent(part: Duration, whole: Duration) -> f64 {
    100.0 * part.as_secs_f64() / whole.as_secs_f64().max(1e-9)
}
