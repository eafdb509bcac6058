//! The benchmark's tables and the SQL that fills them.
//!
//! - `orders`: a typical OLTP row of ~150 bytes (bigserial key, ints, a smallint status,
//!   two numerics, two timestamptz, an 80-character note). The backlog is written by the
//!   procedure `bench_backlog(txs)`: every transaction inserts 60 rows, updates 30 and deletes
//!   10 rows of the previous transaction — exactly 100 row changes per transaction.
//! - `snap_orders`: the same shape, filled before any slot exists, for the snapshot figure.
//! - `wide_rows`: ~1 KB rows (random hex text, stored inline and uncompressed), for the
//!   one-big-transaction memory figure.

use tokio_postgres::Client;

/// Row changes per backlog transaction.
pub const CHANGES_PER_TX: u64 = 100;
/// Rows inserted per backlog transaction (the rest are 30 updates and 10 deletes).
const INSERTS_PER_TX: i64 = 60;
/// Bytes of `wide_rows.payload` per row.
pub const WIDE_ROW_BYTES: u64 = 1024;

const ORDER_COLUMNS: &str = "id bigserial PRIMARY KEY, customer_id int NOT NULL, \
    product_id int NOT NULL, quantity int NOT NULL, status smallint NOT NULL, \
    price numeric(12,2) NOT NULL, discount numeric(5,2), created_at timestamptz NOT NULL, \
    updated_at timestamptz, note text";

/// One generated `orders` row for the series value `g` (~150 bytes on disk).
const ORDER_VALUES: &str = "(g % 100000)::int, (g % 5000)::int, (1 + g % 7)::int, \
    (g % 5)::smallint, ((g % 100000) / 100.0)::numeric(12,2), ((g % 30) / 10.0)::numeric(5,2), \
    now(), NULL, rpad('order ' || g::text || ' ', 80, md5(g::text))";

const INSERT_COLUMNS: &str = "customer_id, product_id, quantity, status, price, discount, \
    created_at, updated_at, note";

/// Creates the tables, the backlog procedure and the publication `publication` (orders only),
/// and seeds `orders` with one transaction's worth of rows so the first backlog transaction
/// has rows to update and delete.
pub async fn create_schema(
    client: &Client,
    publication: &str,
) -> Result<(), tokio_postgres::Error> {
    let procedure = format!(
        "CREATE PROCEDURE bench_backlog(txs int) LANGUAGE plpgsql AS $$ \
         DECLARE hi bigint; \
         BEGIN \
           FOR i IN 1..txs LOOP \
             INSERT INTO orders ({INSERT_COLUMNS}) \
               SELECT {ORDER_VALUES} FROM generate_series(1, {INSERTS_PER_TX}) g; \
             hi := currval('orders_id_seq'); \
             UPDATE orders SET status = (status + 1) % 5, quantity = quantity + 1, \
               updated_at = now() WHERE id > hi - 120 AND id <= hi - 90; \
             DELETE FROM orders WHERE id > hi - 90 AND id <= hi - 80; \
             COMMIT; \
           END LOOP; \
         END $$"
    );
    client
        .batch_execute(&format!(
            "CREATE TABLE orders ({ORDER_COLUMNS}); \
             CREATE TABLE snap_orders ({ORDER_COLUMNS}); \
             CREATE TABLE wide_rows (id bigint PRIMARY KEY, payload text NOT NULL); \
             INSERT INTO orders ({INSERT_COLUMNS}) \
               SELECT {ORDER_VALUES} FROM generate_series(1, {INSERTS_PER_TX}) g; \
             CREATE PUBLICATION {publication} FOR TABLE orders; \
             {procedure};"
        ))
        .await
}

/// Fills `snap_orders` with `rows` rows (one transaction) and analyzes it.
pub async fn fill_snapshot_table(client: &Client, rows: u64) -> Result<(), tokio_postgres::Error> {
    client
        .batch_execute(&format!(
            "INSERT INTO snap_orders ({INSERT_COLUMNS}) \
               SELECT {ORDER_VALUES} FROM generate_series(1, {rows}) g"
        ))
        .await?;
    client.batch_execute("VACUUM ANALYZE snap_orders").await
}

/// Runs `txs` backlog transactions (`txs * CHANGES_PER_TX` row changes).
pub async fn run_backlog(client: &Client, txs: u64) -> Result<(), tokio_postgres::Error> {
    if txs == 0 {
        return Ok(());
    }
    client
        .batch_execute(&format!("CALL bench_backlog({txs})"))
        .await
}

/// One transaction inserting `rows` rows of [`WIDE_ROW_BYTES`] into `wide_rows`.
pub async fn big_transaction(client: &Client, rows: u64) -> Result<(), tokio_postgres::Error> {
    // 32 random hex characters repeated to 1 KB: incompressible enough per row, stored inline.
    let repeats = WIDE_ROW_BYTES / 32;
    client
        .batch_execute(&format!(
            "INSERT INTO wide_rows SELECT g, repeat(md5(random()::text), {repeats}) \
             FROM generate_series(1, {rows}) g"
        ))
        .await
}

/// `pg_current_wal_lsn()` as text.
pub async fn current_lsn(client: &Client) -> Result<String, tokio_postgres::Error> {
    Ok(client
        .query_one("SELECT pg_current_wal_lsn()::text", &[])
        .await?
        .get(0))
}

/// Row count of `table`.
pub async fn count(client: &Client, table: &str) -> Result<i64, tokio_postgres::Error> {
    Ok(client
        .query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .await?
        .get(0))
}

/// Creates a pgoutput logical slot.
pub async fn create_slot(client: &Client, slot: &str) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            "SELECT pg_create_logical_replication_slot($1, 'pgoutput')",
            &[&slot],
        )
        .await
        .map(|_| ())
}

/// Drops a slot (must be inactive).
pub async fn drop_slot(client: &Client, slot: &str) -> Result<(), tokio_postgres::Error> {
    client
        .execute("SELECT pg_drop_replication_slot($1)", &[&slot])
        .await
        .map(|_| ())
}
