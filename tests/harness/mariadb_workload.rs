//! The MariaDB sample schema (`shop.customers`, `shop.orders`: integers signed and unsigned,
//! DECIMAL, DOUBLE, BOOLEAN, VARCHAR, TEXT, ENUM, JSON, DATE, DATETIME(6), TIMESTAMP(3),
//! VARBINARY) and a seeded load generator of inserts, updates and deletes in multi-statement
//! transactions — the MariaDB counterpart of [`crate::workload`].

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use crate::workload::{Done, Spec};

/// Captured tables, as `db.table`.
pub const TABLES: [&str; 2] = ["shop.customers", "shop.orders"];

/// Columns of each of [`TABLES`] compared as text with the mirror tables read back by
/// pyiceberg and DuckDB (key first).
pub const READBACK_COLUMNS: [[&str; 6]; 2] = [
    ["id", "name", "email", "visits", "balance", "born"],
    [
        "order_id",
        "customer_id",
        "status",
        "quantity",
        "total",
        "note",
    ],
];

/// Creates the database and both tables.
pub const DDL: [&str; 3] = [
    "CREATE DATABASE shop",
    "CREATE TABLE shop.customers (
        id INT PRIMARY KEY,
        name VARCHAR(100) NOT NULL,
        email VARCHAR(200),
        active BOOLEAN NOT NULL DEFAULT TRUE,
        visits INT UNSIGNED,
        balance DECIMAL(12,2),
        score DOUBLE,
        born DATE,
        created_at DATETIME(6) NOT NULL,
        profile JSON
    )",
    "CREATE TABLE shop.orders (
        order_id BIGINT PRIMARY KEY,
        customer_id INT NOT NULL,
        status ENUM('new','paid','shipped','cancelled') NOT NULL,
        quantity SMALLINT NOT NULL,
        total DECIMAL(10,3),
        placed_at TIMESTAMP(3) NULL,
        receipt VARBINARY(16),
        note TEXT
    )",
];

/// Generator state: the live keys of both tables.
pub struct MariaDbWorkload {
    rng: StdRng,
    customers: Vec<i32>,
    orders: Vec<i64>,
    next_customer: i32,
    next_order: i64,
}

#[derive(Clone, Copy)]
enum Kind {
    Insert,
    Update,
    PkChange,
    Delete,
}

impl MariaDbWorkload {
    /// The schema and one transaction of seed rows (`customers` + `orders`), as SQL to run
    /// before the capture starts (its initial snapshot takes them).
    pub fn setup(seed: u64, customers: usize, orders: usize) -> (MariaDbWorkload, Vec<String>) {
        let mut w = MariaDbWorkload {
            rng: StdRng::seed_from_u64(seed),
            customers: Vec::new(),
            orders: Vec::new(),
            next_customer: 1,
            next_order: 1000,
        };
        let mut sql: Vec<String> = DDL.iter().map(|s| (*s).to_owned()).collect();
        let mut seed_tx = String::from("START TRANSACTION;");
        for _ in 0..customers {
            seed_tx.push_str(&w.insert_customer());
        }
        for _ in 0..orders {
            seed_tx.push_str(&w.insert_order());
        }
        seed_tx.push_str("COMMIT");
        sql.push(seed_tx);
        (w, sql)
    }

    /// `spec` as transactions of 1–8 statements (`spec.pk_changes` of the updates move an
    /// order to a new `order_id`). Returns the SQL of each transaction and the operations
    /// it contains. (A key change or delete with no row left to change inserts an order.)
    pub fn transactions(&mut self, spec: Spec) -> (Vec<String>, Done) {
        let mut ops: Vec<Kind> = std::iter::repeat_n(Kind::Insert, spec.inserts)
            .chain(std::iter::repeat_n(
                Kind::Update,
                spec.updates - spec.pk_changes,
            ))
            .chain(std::iter::repeat_n(Kind::PkChange, spec.pk_changes))
            .chain(std::iter::repeat_n(Kind::Delete, spec.deletes))
            .collect();
        ops.shuffle(&mut self.rng);
        let mut done = Done::default();
        let mut out = Vec::new();
        let mut i = 0;
        while i < ops.len() {
            let n = self.rng.random_range(1..=8).min(ops.len() - i);
            let mut sql = String::from("START TRANSACTION;");
            for kind in &ops[i..i + n] {
                sql.push_str(&match kind {
                    Kind::Insert => {
                        done.inserts += 1;
                        if self.rng.random::<bool>() {
                            self.insert_customer()
                        } else {
                            self.insert_order()
                        }
                    }
                    Kind::Update => {
                        done.updates += 1;
                        self.update()
                    }
                    Kind::PkChange => {
                        done.updates += 1;
                        self.change_order_key()
                    }
                    Kind::Delete => {
                        done.deletes += 1;
                        self.delete()
                    }
                });
            }
            sql.push_str("COMMIT");
            out.push(sql);
            done.transactions += 1;
            i += n;
        }
        (out, done)
    }

    fn customer_values(&mut self) -> String {
        let r = &mut self.rng;
        let n: u32 = r.random_range(0..100_000);
        let email = if r.random_range(0..5) == 0 {
            "NULL".to_owned()
        } else {
            format!("'user{n}@example.org'")
        };
        let profile = if r.random::<bool>() {
            format!(
                "JSON_OBJECT('tier', {}, 'tags', JSON_ARRAY('a', 'b'))",
                n % 4
            )
        } else {
            "NULL".to_owned()
        };
        format!(
            "'Customer {n} d''Été', {email}, {active}, {visits}, {balance}, {score}, \
             DATE_ADD('1950-01-01', INTERVAL {days} DAY), \
             TIMESTAMPADD(MICROSECOND, {micros}, '2024-01-01 00:00:00'), {profile}",
            active = r.random::<bool>(),
            visits = r.random_range(0..4_000_000_000u64),
            balance = format_args!("{}.{:02}", r.random_range(-99_999..1_000_000), n % 100),
            score = r.random_range(-1000.0..1000.0f64),
            days = r.random_range(0..20_000),
            micros = r.random_range(0..86_400_000_000i64 * 365),
        )
    }

    fn order_values(&mut self, customer: i32) -> String {
        let r = &mut self.rng;
        let status = ["new", "paid", "shipped", "cancelled"][r.random_range(0..4)];
        let note = if r.random::<bool>() {
            format!("'note {}'", r.random_range(0..1000))
        } else {
            "NULL".to_owned()
        };
        format!(
            "{customer}, '{status}', {quantity}, {total}, \
             TIMESTAMPADD(MICROSECOND, {ms} * 1000, '2024-06-01 12:00:00'), \
             UNHEX(MD5({seed})), {note}",
            quantity = r.random_range(1..500),
            total = format_args!(
                "{}.{:03}",
                r.random_range(0..1_000_000),
                r.random_range(0..1000)
            ),
            ms = r.random_range(0..86_400_000i64 * 100),
            seed = r.random_range(0..1_000_000),
        )
    }

    fn insert_customer(&mut self) -> String {
        let id = self.next_customer;
        self.next_customer += 1;
        self.customers.push(id);
        let values = self.customer_values();
        format!(
            "INSERT INTO shop.customers (id, name, email, active, visits, balance, score, born, \
             created_at, profile) VALUES ({id}, {values});"
        )
    }

    fn insert_order(&mut self) -> String {
        let id = self.next_order;
        self.next_order += 1;
        self.orders.push(id);
        let customer = self.random_customer();
        let values = self.order_values(customer);
        format!(
            "INSERT INTO shop.orders (order_id, customer_id, status, quantity, total, placed_at, \
             receipt, note) VALUES ({id}, {values});"
        )
    }

    fn random_customer(&mut self) -> i32 {
        match self.customers.len() {
            0 => 0,
            n => self.customers[self.rng.random_range(0..n)],
        }
    }

    fn update(&mut self) -> String {
        if self.orders.is_empty() || (self.rng.random::<bool>() && !self.customers.is_empty()) {
            let id = self.random_customer();
            let r = &mut self.rng;
            match r.random_range(0..3) {
                0 => format!(
                    "UPDATE shop.customers SET visits = visits + 1, score = {} WHERE id = {id};",
                    r.random_range(-1000.0..1000.0f64)
                ),
                1 => format!(
                    "UPDATE shop.customers SET email = NULL, active = NOT active WHERE id = {id};"
                ),
                _ => format!(
                    "UPDATE shop.customers SET balance = balance + {}.25, \
                     profile = JSON_SET(COALESCE(profile, '{{}}'), '$.updated', TRUE) WHERE id = {id};",
                    r.random_range(1..100)
                ),
            }
        } else {
            let id = self.orders[self.rng.random_range(0..self.orders.len())];
            let status = ["paid", "shipped", "cancelled"][self.rng.random_range(0..3)];
            format!(
                "UPDATE shop.orders SET status = '{status}', quantity = quantity + 1, \
                 note = CONCAT(COALESCE(note, ''), ' +{status}') WHERE order_id = {id};"
            )
        }
    }

    fn change_order_key(&mut self) -> String {
        if self.orders.is_empty() {
            return self.insert_order();
        }
        let i = self.rng.random_range(0..self.orders.len());
        let old = self.orders[i];
        let new = self.next_order;
        self.next_order += 1;
        self.orders[i] = new;
        format!(
            "UPDATE shop.orders SET order_id = {new}, note = 'moved from {old}' \
             WHERE order_id = {old};"
        )
    }

    fn delete(&mut self) -> String {
        if (self.rng.random::<bool>() || self.orders.is_empty()) && self.customers.len() > 1 {
            let id = self
                .customers
                .swap_remove(self.rng.random_range(0..self.customers.len()));
            format!("DELETE FROM shop.customers WHERE id = {id};")
        } else if !self.orders.is_empty() {
            let id = self
                .orders
                .swap_remove(self.rng.random_range(0..self.orders.len()));
            format!("DELETE FROM shop.orders WHERE order_id = {id};")
        } else {
            // Nothing left to delete but the last customer: insert instead.
            self.insert_order()
        }
    }
}
