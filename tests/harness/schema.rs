//! The sample schema: two tables that together use every type the capture maps
//! (int2/4/8, bool, text/varchar, numeric(p,s) and numeric, float8, date, timestamp(p),
//! timestamptz(p), jsonb, uuid, bytea), and their seed rows (taken by the snapshot).

use rand::rngs::StdRng;
use rand::Rng;

/// Captured tables, as `schema.table`.
pub const TABLES: [&str; 2] = ["public.customers", "public.orders"];

pub const DDL: &str = "
DROP TABLE IF EXISTS public.orders, public.customers;
CREATE TABLE public.customers (
    id            serial PRIMARY KEY,
    name          text NOT NULL,
    email         varchar(200),
    active        boolean NOT NULL DEFAULT true,
    tier          int2,
    visits        int4,
    big_counter   int8,
    balance       numeric(12,2),
    ratio         numeric,
    score         float8,
    born          date,
    last_login    timestamp,
    created_at    timestamptz NOT NULL,
    profile       jsonb,
    external_id   uuid,
    avatar        bytea
);
CREATE TABLE public.orders (
    order_id      bigint PRIMARY KEY,
    customer_id   int4 NOT NULL,
    status        varchar(20) NOT NULL,
    quantity      int2 NOT NULL,
    total         numeric(10,3),
    discount      float8,
    paid          boolean,
    placed_on     date,
    shipped_at    timestamp(0),
    placed_at     timestamptz(3),
    details       jsonb,
    tracking      uuid,
    receipt       bytea,
    note          text
);
";

/// SQL literal of a string (standard_conforming_strings on).
pub fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn opt<T>(rng: &mut StdRng, null_pct: u32, f: impl FnOnce(&mut StdRng) -> T) -> Option<T> {
    (rng.random_range(0..100) >= null_pct).then(|| f(rng))
}

fn or_null(v: Option<String>) -> String {
    v.unwrap_or_else(|| "NULL".into())
}

const WORDS: &[&str] = &[
    "alpha",
    "Ünïcødé",
    "tab\there",
    "new\nline",
    "quote'd",
    "back\\slash",
    "",
    "emoji 🚀",
    "comma,sep",
    "\"dq\"",
    "spaces  ",
];

pub fn text(rng: &mut StdRng) -> String {
    let n = rng.random_range(1..4);
    (0..n)
        .map(|_| WORDS[rng.random_range(0..WORDS.len())])
        .collect::<Vec<_>>()
        .join(" ")
}

fn uuid(rng: &mut StdRng) -> String {
    let b: [u8; 16] = rng.random();
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "'{}-{}-{}-{}-{}'::uuid",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn bytea(rng: &mut StdRng) -> String {
    let n = rng.random_range(0..24);
    let h: String = (0..n)
        .map(|_| format!("{:02x}", rng.random::<u8>()))
        .collect();
    format!("'\\x{h}'::bytea")
}

fn json(rng: &mut StdRng) -> String {
    let v = serde_json::json!({
        "n": rng.random_range(-1000..1000),
        "s": text(rng),
        "nested": {"ok": rng.random::<bool>(), "list": [1, 2.5, null, "x"]},
    });
    format!("{}::jsonb", lit(&v.to_string()))
}

fn decimal(rng: &mut StdRng, int_digits: u32, scale: u32) -> String {
    let int = rng.random_range(0..10i64.pow(int_digits));
    let frac = rng.random_range(0..10i64.pow(scale));
    let sign = if rng.random_range(0..5) == 0 { "-" } else { "" };
    format!("{sign}{int}.{frac:0width$}", width = scale as usize)
}

fn float(rng: &mut StdRng) -> String {
    let v: f64 = rng.random_range(-1e6..1e6) / rng.random_range(1.0..1000.0);
    format!("{v:?}::float8")
}

fn date(rng: &mut StdRng) -> String {
    format!(
        "'{:04}-{:02}-{:02}'::date",
        rng.random_range(1950..2040),
        rng.random_range(1..13),
        rng.random_range(1..29)
    )
}

fn timestamp(rng: &mut StdRng, suffix: &str) -> String {
    format!(
        "'{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}{suffix}'",
        rng.random_range(1970..2038),
        rng.random_range(1..13),
        rng.random_range(1..29),
        rng.random_range(0..24),
        rng.random_range(0..60),
        rng.random_range(0..60),
        rng.random_range(0..1_000_000)
    )
}

/// `(column list, values)` of a random customer row.
pub fn customer_values(rng: &mut StdRng) -> (&'static str, String) {
    let tz = ["+00", "+02", "-05:30", "+09"][rng.random_range(0..4)];
    let v = [
        lit(&text(rng)),
        or_null(opt(rng, 20, |r| {
            lit(&format!("user{}@example.com", r.random::<u32>()))
        })),
        rng.random::<bool>().to_string(),
        or_null(opt(rng, 20, |r| r.random_range(-32768..32767).to_string())),
        or_null(opt(rng, 20, |r| r.random::<i32>().to_string())),
        or_null(opt(rng, 20, |r| r.random::<i64>().to_string())),
        or_null(opt(rng, 20, |r| decimal(r, 10, 2))),
        or_null(opt(rng, 20, |r| {
            let s = r.random_range(0..8);
            decimal(r, 6, s)
        })),
        or_null(opt(rng, 20, float)),
        or_null(opt(rng, 20, date)),
        or_null(opt(rng, 20, |r| format!("{}::timestamp", timestamp(r, "")))),
        format!("{}::timestamptz", timestamp(rng, tz)),
        or_null(opt(rng, 20, json)),
        or_null(opt(rng, 20, uuid)),
        or_null(opt(rng, 20, bytea)),
    ];
    (
        "name, email, active, tier, visits, big_counter, balance, ratio, score, born, \
         last_login, created_at, profile, external_id, avatar",
        v.join(", "),
    )
}

/// `(column list, values)` of a random order row with id `order_id`.
pub fn order_values(rng: &mut StdRng, order_id: i64) -> (&'static str, String) {
    let statuses = ["new", "paid", "shipped", "cancelled"];
    let v = [
        order_id.to_string(),
        rng.random_range(1..500).to_string(),
        lit(statuses[rng.random_range(0..statuses.len())]),
        rng.random_range(1..100).to_string(),
        or_null(opt(rng, 15, |r| decimal(r, 7, 3))),
        or_null(opt(rng, 15, float)),
        or_null(opt(rng, 15, |r| r.random::<bool>().to_string())),
        or_null(opt(rng, 15, date)),
        or_null(opt(rng, 15, |r| {
            format!("{}::timestamp(0)", timestamp(r, ""))
        })),
        or_null(opt(rng, 15, |r| {
            format!("{}::timestamptz(3)", timestamp(r, "+01"))
        })),
        or_null(opt(rng, 15, json)),
        or_null(opt(rng, 15, uuid)),
        or_null(opt(rng, 15, bytea)),
        or_null(opt(rng, 15, |r| lit(&text(r)))),
    ];
    (
        "order_id, customer_id, status, quantity, total, discount, paid, placed_on, shipped_at, \
         placed_at, details, tracking, receipt, note",
        v.join(", "),
    )
}
