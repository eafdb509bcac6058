//! The benchmark table (a bigint key and eight columns of mixed types) and seeded change
//! streams over it: insert-only (P5a) and 40% inserts / 50% updates / 10% deletes (P5b).

use std::sync::Arc;

use cdc_model::{
    ChangeEvent, Column, ColumnType, Decimal, Op, Position, SnapshotMarker, SourceInfo, TableId,
    TableSchema, Value,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// `public.bench_items` in PostgreSQL terms (the live run creates exactly this table).
pub const CREATE_TABLE: &str = "CREATE TABLE public.bench_items (
    id bigint PRIMARY KEY,
    account_id integer NOT NULL,
    name text NOT NULL,
    email text,
    amount numeric(12,2) NOT NULL,
    score double precision,
    active boolean NOT NULL,
    created_at timestamptz NOT NULL,
    due date
)";

/// Microseconds of 2026-01-01T00:00:00Z.
const BASE_US: i64 = 1_767_225_600_000_000;
/// Days of 2026-01-01 since the epoch.
const BASE_DAY: i32 = 20_454;

/// The table as the capture describes it.
pub fn table() -> Arc<TableSchema> {
    Arc::new(TableSchema {
        id: TableId::new("public", "bench_items"),
        columns: vec![
            Column::new("id", ColumnType::Int64, false),
            Column::new("account_id", ColumnType::Int32, false),
            Column::new("name", ColumnType::String, false),
            Column::new("email", ColumnType::String, true),
            Column::new(
                "amount",
                ColumnType::Decimal {
                    precision: Some(12),
                    scale: 2,
                },
                false,
            ),
            Column::new("score", ColumnType::Float64, true),
            Column::new("active", ColumnType::Boolean, false),
            Column::new(
                "created_at",
                ColumnType::TimestampTz { precision: None },
                false,
            ),
            Column::new("due", ColumnType::Date, true),
        ],
        key: vec![0],
    })
}

/// One row's values in plain Rust types (both the events and the Arrow batches come from it).
#[derive(Debug, Clone)]
pub struct Row {
    pub id: i64,
    pub account_id: i32,
    pub name: String,
    pub email: Option<String>,
    /// `amount` in cents.
    pub cents: i64,
    pub score: Option<f64>,
    pub active: bool,
    pub created_us: i64,
    pub due: Option<i32>,
}

impl Row {
    /// A seeded random row with key `id`.
    pub fn random(rng: &mut StdRng, id: i64) -> Row {
        let account_id = rng.random_range(1..50_000);
        let name = format!("item-{id}-{}", rng.random_range(0..1_000_000u32));
        Row {
            id,
            account_id,
            email: rng
                .random_bool(0.8)
                .then(|| format!("user{account_id}@example{}.com", account_id % 97)),
            name,
            cents: rng.random_range(0..100_000_000),
            score: rng.random_bool(0.9).then(|| rng.random_range(0.0..1000.0)),
            active: rng.random_bool(0.7),
            created_us: BASE_US + rng.random_range(0..31_536_000_000_000),
            due: rng
                .random_bool(0.5)
                .then(|| BASE_DAY + rng.random_range(0..730)),
        }
    }

    /// `amount` as SQL / decimal text.
    pub fn amount_text(&self) -> String {
        format!("{}.{:02}", self.cents / 100, self.cents % 100)
    }

    /// The values in column order.
    pub fn values(&self) -> Vec<Value> {
        let opt = |v: Option<Value>| v.unwrap_or(Value::Null);
        vec![
            Value::Int64(self.id),
            Value::Int32(self.account_id),
            Value::String(self.name.clone()),
            opt(self.email.clone().map(Value::String)),
            Decimal::parse(&self.amount_text()).map_or(Value::Null, Value::Decimal),
            opt(self.score.map(Value::Float64)),
            Value::Boolean(self.active),
            Value::TimestampTz(self.created_us),
            opt(self.due.map(Value::Date)),
        ]
    }
}

/// One change of a stream: `row` is the after image, or for a delete the deleted key (the
/// before image Debezium sends under `REPLICA IDENTITY DEFAULT` carries the key only).
#[derive(Debug, Clone)]
pub struct Change {
    pub op: Op,
    pub row: Row,
}

impl Change {
    /// The change event, as the sink decodes it from Kafka; `seq` orders the stream.
    pub fn event(&self, table: &Arc<TableSchema>, seq: u64) -> ChangeEvent {
        let (before, after) = match self.op {
            Op::Delete => {
                let mut key = vec![Value::Null; table.columns.len()];
                key[0] = Value::Int64(self.row.id);
                (Some(key), None)
            }
            _ => (None, Some(self.row.values())),
        };
        ChangeEvent {
            table: Arc::clone(table),
            op: self.op,
            before,
            after,
            source: SourceInfo {
                version: "3.6.3.Final".into(),
                name: "bench".into(),
                db: "bench".into(),
                ts_us: source_ts_us(seq),
                snapshot: SnapshotMarker::False,
                position: Position::Postgres {
                    lsn: source_lsn(seq),
                    last_commit_lsn: None,
                    tx_id: Some(1000 + i64::try_from(seq / 100).unwrap_or(0)),
                },
            },
            transaction: None,
            ts_ns: 0,
        }
    }
}

/// Source commit time of change `seq` (100 changes per millisecond).
pub fn source_ts_us(seq: u64) -> i64 {
    BASE_US + i64::try_from(seq).unwrap_or(i64::MAX) * 10
}

/// Source LSN of change `seq`.
pub fn source_lsn(seq: u64) -> u64 {
    0x1_0000_0000 + seq * 120
}

/// A seeded generator of changes; it tracks which keys are live.
pub struct Generator {
    rng: StdRng,
    next_id: i64,
    live: Vec<i64>,
}

impl Generator {
    pub fn new(seed: u64) -> Generator {
        Generator {
            rng: StdRng::seed_from_u64(seed),
            next_id: 1,
            live: Vec::new(),
        }
    }

    pub fn insert(&mut self) -> Change {
        let id = self.next_id;
        self.next_id += 1;
        self.live.push(id);
        Change {
            op: Op::Create,
            row: Row::random(&mut self.rng, id),
        }
    }

    /// `n` inserts.
    pub fn inserts(&mut self, n: usize) -> Vec<Change> {
        (0..n).map(|_| self.insert()).collect()
    }

    /// `n` changes: 50% updates and 10% deletes of random live keys (earlier commits and
    /// the current one alike), the rest inserts; an insert when no key is live.
    pub fn mixed(&mut self, n: usize) -> Vec<Change> {
        (0..n)
            .map(|_| {
                let dice = self.rng.random_range(0..100u32);
                if self.live.is_empty() || dice >= 60 {
                    return self.insert();
                }
                let at = self.rng.random_range(0..self.live.len());
                if dice < 50 {
                    let id = self.live[at];
                    Change {
                        op: Op::Update,
                        row: Row::random(&mut self.rng, id),
                    }
                } else {
                    let id = self.live.swap_remove(at);
                    Change {
                        op: Op::Delete,
                        row: Row::random(&mut self.rng, id),
                    }
                }
            })
            .collect()
    }
}
