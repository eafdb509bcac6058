//! A seeded load generator for the sample schema.

use std::sync::atomic::{AtomicUsize, Ordering};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use crate::schema::{customer_values, order_values, DDL};
use crate::Result;

/// How much work to do.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub inserts: usize,
    /// Updates, including `pk_changes` that move an order to a new `order_id`.
    pub updates: usize,
    pub pk_changes: usize,
    pub deletes: usize,
}

/// Operations executed, by kind.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Done {
    pub inserts: usize,
    pub updates: usize,
    pub deletes: usize,
    pub transactions: usize,
}

#[derive(Clone, Copy)]
enum Kind {
    Insert,
    Update,
    PkChange,
    Delete,
}

/// Generator state: the live keys of both tables.
pub struct Workload {
    rng: StdRng,
    customers: Vec<i32>,
    orders: Vec<i64>,
    next_customer: i32,
    next_order: i64,
}

impl Workload {
    /// Creates the schema (dropping old tables) and inserts the seed rows.
    pub async fn setup(
        client: &tokio_postgres::Client,
        seed: u64,
        customers: usize,
        orders: usize,
    ) -> Result<Workload> {
        client.batch_execute(DDL).await?;
        let mut w = Workload {
            rng: StdRng::seed_from_u64(seed),
            customers: Vec::new(),
            orders: Vec::new(),
            next_customer: 1,
            next_order: 1000,
        };
        let mut sql = String::from("BEGIN;");
        for _ in 0..customers {
            sql.push_str(&w.insert_customer());
        }
        for _ in 0..orders {
            sql.push_str(&w.insert_order());
        }
        sql.push_str("COMMIT;");
        client.batch_execute(&sql).await?;
        Ok(w)
    }

    /// Runs `spec` in transactions of 1–8 statements; `progress` counts operations done.
    pub async fn run(
        &mut self,
        client: &tokio_postgres::Client,
        spec: Spec,
        progress: &AtomicUsize,
    ) -> Result<Done> {
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
        let mut i = 0;
        while i < ops.len() {
            let n = self.rng.random_range(1..=8).min(ops.len() - i);
            let mut sql = String::from("BEGIN;");
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
            sql.push_str("COMMIT;");
            client.batch_execute(&sql).await?;
            done.transactions += 1;
            i += n;
            progress.store(i, Ordering::SeqCst);
        }
        Ok(done)
    }

    fn insert_customer(&mut self) -> String {
        let id = self.next_customer;
        self.next_customer += 1;
        self.customers.push(id);
        let (cols, values) = customer_values(&mut self.rng);
        format!("INSERT INTO public.customers (id, {cols}) VALUES ({id}, {values});")
    }

    fn insert_order(&mut self) -> String {
        let id = self.next_order;
        self.next_order += 1;
        self.orders.push(id);
        let (cols, values) = order_values(&mut self.rng, id);
        format!("INSERT INTO public.orders ({cols}) VALUES ({values});")
    }

    fn update(&mut self) -> String {
        // Rewrite a random subset of the columns of a random live row.
        let pick = |all: &str, values: &str, rng: &mut StdRng, skip: usize| -> String {
            let cols: Vec<&str> = all.split(',').map(str::trim).collect();
            let vals = split_values(values);
            let mut sets: Vec<String> = cols
                .iter()
                .zip(&vals)
                .skip(skip)
                .filter(|_| rng.random_range(0..3) == 0)
                .map(|(c, v)| format!("{c} = {v}"))
                .collect();
            if sets.is_empty() {
                sets.push(format!("{} = {}", cols[skip], vals[skip]));
            }
            sets.join(", ")
        };
        if self.rng.random::<bool>() && !self.customers.is_empty() {
            let id = self.customers[self.rng.random_range(0..self.customers.len())];
            let (cols, values) = customer_values(&mut self.rng);
            let sets = pick(cols, &values, &mut self.rng, 0);
            format!("UPDATE public.customers SET {sets} WHERE id = {id};")
        } else {
            let id = self.orders[self.rng.random_range(0..self.orders.len())];
            let (cols, values) = order_values(&mut self.rng, id);
            let sets = pick(cols, &values, &mut self.rng, 1);
            format!("UPDATE public.orders SET {sets} WHERE order_id = {id};")
        }
    }

    fn change_order_key(&mut self) -> String {
        let i = self.rng.random_range(0..self.orders.len());
        let old = self.orders[i];
        let new = self.next_order;
        self.next_order += 1;
        self.orders[i] = new;
        format!("UPDATE public.orders SET order_id = {new}, note = 'moved from {old}' WHERE order_id = {old};")
    }

    fn delete(&mut self) -> String {
        if self.rng.random::<bool>() && self.customers.len() > 1 {
            let id = self
                .customers
                .swap_remove(self.rng.random_range(0..self.customers.len()));
            format!("DELETE FROM public.customers WHERE id = {id};")
        } else {
            let id = self
                .orders
                .swap_remove(self.rng.random_range(0..self.orders.len()));
            format!("DELETE FROM public.orders WHERE order_id = {id};")
        }
    }
}

/// Splits a generated VALUES list at top-level commas (outside quotes).
fn split_values(values: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_quote = false;
    for c in values.chars() {
        match c {
            '\'' => {
                in_quote = !in_quote;
                cur.push(c);
            }
            ',' if !in_quote => out.push(std::mem::take(&mut cur).trim().to_owned()),
            _ => cur.push(c),
        }
    }
    out.push(cur.trim().to_owned());
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn split_values_respects_quotes() {
        assert_eq!(
            super::split_values("1, 'a,b', 'it''s', NULL"),
            vec!["1", "'a,b'", "'it''s'", "NULL"]
        );
    }
}
