//! `cdc-sink verify`: compares source PostgreSQL or MySQL/MariaDB tables with their Iceberg
//! tables (row count and an order-independent checksum over all compared columns).
//!
//! Submodules:
//! - `canonical`: the canonical form of a value, per Iceberg type and source type.
//! - `postgres`: connecting, source columns, streaming rows with `COPY … TO STDOUT`.
//! - `mysql`: connecting (`mysql://` / `mariadb://`), source columns, streaming rows over the
//!   binary protocol, MySQL values → canonical values.
//! - `tls`: TLS to the source ([`SourceTls`], the capture's `source.ssl_mode` names).
//! - `iceberg`: Arrow batches read back from Iceberg → canonical values.
//!
//! Each row is encoded as its canonical values in the Iceberg column order and hashed with
//! XXH3-128; a table's checksum is the wrapping sum of its row hashes (independent of order,
//! sensitive to duplicates). Columns whose names start with `_cdc_` are ignored, as are
//! columns present on one side only (reported as notes).

mod canonical;
mod iceberg;
mod mysql;
mod postgres;
mod tls;

use std::collections::HashMap;
use std::fmt::Write as _;

use ::iceberg::{NamespaceIdent, TableIdent};
use cdc_model::TableId;
use futures::TryStreamExt;
use twox_hash::XxHash3_128;

use crate::catalog::ChangelogCatalog;
use crate::config::SinkConfig;
use crate::SinkError;
use canonical::{Canon, Kind};

pub use tls::{SourceTls, SourceTlsMode};

/// Tables with more primary keys than this on one side are checked without example keys.
const MAX_TRACKED_KEYS: usize = 5_000_000;
/// Example keys printed per mismatching table.
const MAX_EXAMPLES: usize = 5;

/// What to compare.
#[derive(Debug, Clone)]
pub struct VerifyRequest {
    /// libpq connection string or `postgres://` URL of the source database, or a `mysql://` /
    /// `mariadb://` URL (may contain a password; never printed).
    pub source: String,
    /// Source tables (`schema.table`; MySQL: `db.table`).
    pub tables: Vec<TableId>,
    /// Iceberg table (`namespace.name`) compared instead of the mirror table; only with one
    /// source table.
    pub iceberg_table: Option<String>,
    /// TLS to the source database.
    pub tls: SourceTls,
}

/// The outcome for one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub table: String,
    pub iceberg_table: String,
    pub source_rows: u64,
    pub iceberg_rows: u64,
    pub source_checksum: u128,
    pub iceberg_checksum: u128,
    /// Number of primary keys whose rows differ, when it could be computed.
    pub differing_keys: Option<usize>,
    /// Up to five differing keys, e.g. `missing in iceberg: id=5`.
    pub examples: Vec<String>,
    /// Columns present on one side only (not compared).
    pub notes: Vec<String>,
}

impl VerifyReport {
    pub fn is_ok(&self) -> bool {
        self.source_rows == self.iceberg_rows && self.source_checksum == self.iceberg_checksum
    }

    /// `verify: OK <table> <rows>` or `verify: MISMATCH <table> source_rows=… …`.
    pub fn line(&self) -> String {
        if self.is_ok() {
            return format!("verify: OK {} {}", self.table, self.source_rows);
        }
        let mut line = format!(
            "verify: MISMATCH {} source_rows={} iceberg_rows={} source_checksum={:032x} \
             iceberg_checksum={:032x} iceberg_table={}",
            self.table,
            self.source_rows,
            self.iceberg_rows,
            self.source_checksum,
            self.iceberg_checksum,
            self.iceberg_table
        );
        if let Some(n) = self.differing_keys {
            let _ = write!(line, " differing_keys={n}");
        }
        if !self.examples.is_empty() {
            let _ = write!(line, " examples=[{}]", self.examples.join("; "));
        }
        line
    }
}

/// Compares every table of `request` (one after the other). Errors name the table and column.
pub async fn verify(
    config: &SinkConfig,
    request: VerifyRequest,
) -> Result<Vec<VerifyReport>, SinkError> {
    if request.iceberg_table.is_some() && request.tables.len() != 1 {
        return Err(SinkError::Config(
            "--iceberg-table needs exactly one --table".into(),
        ));
    }
    let catalog_db = config.iceberg.data_dir.join("catalog.db");
    if config.iceberg.catalog.kind == crate::config::CatalogKind::Sql && !catalog_db.is_file() {
        return Err(SinkError::Config(format!(
            "no Iceberg catalog at {} (check iceberg.data_dir)",
            catalog_db.display()
        )));
    }
    let catalog = ChangelogCatalog::open(&config.iceberg).await?;
    let mut source = if mysql::is_mysql_url(&request.source) {
        Source::MySql(mysql::connect(&request.source, &request.tls).await?)
    } else {
        Source::Postgres(postgres::connect(&request.source, &request.tls).await?)
    };
    let mut reports = Vec::with_capacity(request.tables.len());
    for table in &request.tables {
        let ident = match &request.iceberg_table {
            Some(name) => parse_ident(name)?,
            None => catalog.ident(&format!("{}_{}", table.namespace, table.name)),
        };
        reports.push(verify_table(&catalog, &mut source, table, &ident).await?);
    }
    Ok(reports)
}

fn parse_ident(name: &str) -> Result<TableIdent, SinkError> {
    match name.split_once('.') {
        Some((ns, table)) if !ns.is_empty() && !table.is_empty() => Ok(TableIdent::new(
            NamespaceIdent::new(ns.to_owned()),
            table.to_owned(),
        )),
        _ => Err(SinkError::Config(format!(
            "--iceberg-table {name:?} must be <namespace>.<table>"
        ))),
    }
}

/// The source database connection.
enum Source {
    Postgres(tokio_postgres::Client),
    MySql(mysql_async::Conn),
}

/// One compared column: its name, kind, source kind (MySQL) and primary-key position.
struct Compared {
    name: String,
    kind: Kind,
    my_kind: Option<mysql::MyKind>,
    pk: Option<i32>,
}

/// A source column, whichever the database.
struct SourceCol {
    name: String,
    pk_position: Option<i32>,
    ty: SourceType,
}

enum SourceType {
    Pg(canonical::PgColumnType),
    My(mysql::MyColumnType),
}

async fn source_columns(source: &mut Source, table: &TableId) -> Result<Vec<SourceCol>, SinkError> {
    Ok(match source {
        Source::Postgres(client) => postgres::columns(client, table)
            .await?
            .into_iter()
            .map(|c| SourceCol {
                name: c.name,
                pk_position: c.pk_position,
                ty: SourceType::Pg(c.ty),
            })
            .collect(),
        Source::MySql(conn) => mysql::columns(conn, table)
            .await?
            .into_iter()
            .map(|c| SourceCol {
                name: c.name,
                pk_position: c.pk_position,
                ty: SourceType::My(c.ty),
            })
            .collect(),
    })
}

async fn verify_table(
    catalog: &ChangelogCatalog,
    conn: &mut Source,
    source: &TableId,
    ident: &TableIdent,
) -> Result<VerifyReport, SinkError> {
    let table_name = source.to_string();
    let iceberg_name = format!("{}.{}", ident.namespace().join("."), ident.name());
    let table =
        catalog.catalog.load_table(ident).await.map_err(|e| {
            SinkError::catalog(format!("cannot load Iceberg table {iceberg_name}"), e)
        })?;
    let pg_columns = source_columns(conn, source).await?;
    let by_name: HashMap<&str, &SourceCol> =
        pg_columns.iter().map(|c| (c.name.as_str(), c)).collect();
    let mut compared = Vec::new();
    let mut notes = Vec::new();
    let schema = table.metadata().current_schema();
    for field in schema.as_struct().fields() {
        if field.name.starts_with("_cdc_") {
            continue;
        }
        let Some(pg) = by_name.get(field.name.as_str()) else {
            notes.push(format!("column {} is only in Iceberg", field.name));
            continue;
        };
        let column_error = |reason: String| SinkError::VerifyColumn {
            table: table_name.clone(),
            column: field.name.clone(),
            reason,
        };
        let ::iceberg::spec::Type::Primitive(ty) = field.field_type.as_ref() else {
            return Err(column_error(
                "nested Iceberg types cannot be verified".into(),
            ));
        };
        let (kind, my_kind) = match &pg.ty {
            SourceType::Pg(t) => (Kind::choose(ty, t).map_err(column_error)?, None),
            SourceType::My(t) => {
                let my = mysql::MyKind::choose(ty, t).map_err(column_error)?;
                (my.iceberg_kind(), Some(my))
            }
        };
        compared.push(Compared {
            name: field.name.clone(),
            kind,
            my_kind,
            pk: pg.pk_position,
        });
    }
    for c in &pg_columns {
        if !compared.iter().any(|k| k.name == c.name) && schema.field_by_name(&c.name).is_none() {
            notes.push(format!("column {} is only in the source", c.name));
        }
    }
    if compared.is_empty() {
        return Err(SinkError::Verify {
            table: table_name,
            reason: format!("no column of {iceberg_name} matches a source column"),
        });
    }
    let mut pk: Vec<(i32, usize)> = compared
        .iter()
        .enumerate()
        .filter_map(|(i, c)| c.pk.map(|p| (p, i)))
        .collect();
    pk.sort_unstable();
    let pk: Vec<usize> = pk.into_iter().map(|(_, i)| i).collect();
    let kinds: Vec<Kind> = compared.iter().map(|c| c.kind).collect();

    let mut source_side = Side::new(&pk);
    let mut iceberg_side = Side::new(&pk);
    let read_source = async {
        match conn {
            Source::Postgres(client) => {
                read_postgres(
                    client,
                    source,
                    &table_name,
                    &compared,
                    &kinds,
                    &mut source_side,
                )
                .await
            }
            Source::MySql(my) => {
                read_mysql(my, source, &table_name, &compared, &mut source_side).await
            }
        }
    };
    let read_iceberg = async {
        let scan_err = |e| SinkError::catalog(format!("cannot scan {iceberg_name}"), e);
        let names: Vec<&str> = compared.iter().map(|c| c.name.as_str()).collect();
        let mut batches = table
            .scan()
            .select(names.iter().copied())
            .build()
            .map_err(scan_err)?
            .to_arrow()
            .await
            .map_err(scan_err)?;
        while let Some(batch) = batches.try_next().await.map_err(scan_err)? {
            let indices = names
                .iter()
                .map(|n| batch.schema().index_of(n))
                .collect::<Result<Vec<_>, _>>()
                .and_then(|ix| batch.project(&ix))
                .map_err(|e| SinkError::Verify {
                    table: table_name.clone(),
                    reason: format!("batch read from {iceberg_name}: {e}"),
                })?;
            let rows =
                iceberg::batch_rows(&indices, &kinds).map_err(|reason| SinkError::Verify {
                    table: table_name.clone(),
                    reason: format!("{iceberg_name}, column {reason}"),
                })?;
            for row in &rows {
                iceberg_side.add(row);
            }
        }
        Ok::<_, SinkError>(())
    };
    let (source_rows, ()) = tokio::try_join!(read_source, read_iceberg)?;
    debug_assert_eq!(source_rows, source_side.rows);
    let (differing_keys, examples) = compare_keys(&compared, &pk, &source_side, &iceberg_side);
    Ok(VerifyReport {
        table: table_name,
        iceberg_table: iceberg_name,
        source_rows: source_side.rows,
        iceberg_rows: iceberg_side.rows,
        source_checksum: source_side.checksum,
        iceberg_checksum: iceberg_side.checksum,
        differing_keys,
        examples,
        notes,
    })
}

/// Running totals of one side.
struct Side<'a> {
    pk: &'a [usize],
    rows: u64,
    checksum: u128,
    encoded: Vec<u8>,
    /// Per primary key: wrapping sum of its row hashes; `None` without a key or when too many.
    by_key: Option<HashMap<Vec<Canon>, u128>>,
}

impl<'a> Side<'a> {
    fn new(pk: &'a [usize]) -> Side<'a> {
        Side {
            pk,
            rows: 0,
            checksum: 0,
            encoded: Vec::new(),
            by_key: (!pk.is_empty()).then(HashMap::new),
        }
    }

    fn add(&mut self, row: &[Canon]) {
        self.encoded.clear();
        for value in row {
            value.encode(&mut self.encoded);
        }
        let hash = XxHash3_128::oneshot(&self.encoded);
        self.rows += 1;
        self.checksum = self.checksum.wrapping_add(hash);
        if let Some(map) = &mut self.by_key {
            if map.len() >= MAX_TRACKED_KEYS {
                self.by_key = None;
                return;
            }
            let key: Vec<Canon> = self.pk.iter().map(|&i| row[i].clone()).collect();
            let entry = map.entry(key).or_insert(0);
            // Distinguishes a duplicated row (2h) from one row (h).
            *entry = entry.wrapping_add(hash).wrapping_add(1);
        }
    }
}

/// The number of differing keys and up to [`MAX_EXAMPLES`] of them, sorted.
fn compare_keys(
    compared: &[Compared],
    pk: &[usize],
    source: &Side,
    iceberg: &Side,
) -> (Option<usize>, Vec<String>) {
    let (Some(s), Some(i)) = (&source.by_key, &iceberg.by_key) else {
        return (None, Vec::new());
    };
    let show = |key: &[Canon]| {
        pk.iter()
            .zip(key)
            .map(|(&c, v)| format!("{}={v}", compared[c].name))
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut diffs: Vec<String> = Vec::new();
    for (key, hash) in s {
        match i.get(key) {
            None => diffs.push(format!("missing in iceberg: {}", show(key))),
            Some(h) if h != hash => diffs.push(format!("different values: {}", show(key))),
            Some(_) => {}
        }
    }
    for key in i.keys().filter(|k| !s.contains_key(*k)) {
        diffs.push(format!("only in iceberg: {}", show(key)));
    }
    let count = diffs.len();
    diffs.sort_unstable();
    diffs.truncate(MAX_EXAMPLES);
    (Some(count), diffs)
}

async fn read_postgres(
    client: &tokio_postgres::Client,
    source: &TableId,
    table_name: &str,
    compared: &[Compared],
    kinds: &[Kind],
    side: &mut Side<'_>,
) -> Result<u64, SinkError> {
    let select = format!(
        "SELECT {} FROM ONLY {}.{}",
        compared
            .iter()
            .map(|c| c.kind.select_expr(&postgres::quote_ident(&c.name)))
            .collect::<Vec<_>>()
            .join(", "),
        postgres::quote_ident(&source.namespace),
        postgres::quote_ident(&source.name)
    );
    let mut row = Vec::with_capacity(kinds.len());
    postgres::copy_rows(client, table_name, &select, |fields| {
        row.clear();
        for (i, (field, kind)) in fields.iter().zip(kinds).enumerate() {
            row.push(match field {
                None => Canon::Null,
                Some(text) => kind
                    .parse_pg(text)
                    .map_err(|reason| SinkError::VerifyColumn {
                        table: table_name.to_owned(),
                        column: compared[i].name.clone(),
                        reason,
                    })?,
            });
        }
        if fields.len() != kinds.len() {
            return Err(SinkError::Verify {
                table: table_name.to_owned(),
                reason: format!(
                    "COPY row has {} fields, expected {}",
                    fields.len(),
                    kinds.len()
                ),
            });
        }
        side.add(&row);
        Ok(())
    })
    .await
}

async fn read_mysql(
    conn: &mut mysql_async::Conn,
    source: &TableId,
    table_name: &str,
    compared: &[Compared],
    side: &mut Side<'_>,
) -> Result<u64, SinkError> {
    let my_kinds: Vec<mysql::MyKind> = compared
        .iter()
        .map(|c| {
            c.my_kind.ok_or_else(|| SinkError::Verify {
                table: table_name.to_owned(),
                reason: format!("column {} has no MySQL kind", c.name),
            })
        })
        .collect::<Result<_, _>>()?;
    let select = format!(
        "SELECT {} FROM {}.{}",
        compared
            .iter()
            .zip(&my_kinds)
            .map(|(c, k)| k.select_expr(&mysql::quote_ident(&c.name)))
            .collect::<Vec<_>>()
            .join(", "),
        mysql::quote_ident(&source.namespace),
        mysql::quote_ident(&source.name)
    );
    let mut row = Vec::with_capacity(my_kinds.len());
    mysql::read_rows(conn, table_name, &select, |values| {
        if values.len() != my_kinds.len() {
            return Err(SinkError::Verify {
                table: table_name.to_owned(),
                reason: format!(
                    "row has {} values, expected {}",
                    values.len(),
                    my_kinds.len()
                ),
            });
        }
        row.clear();
        for (i, (value, kind)) in values.into_iter().zip(&my_kinds).enumerate() {
            row.push(
                kind.canon(value)
                    .map_err(|reason| SinkError::VerifyColumn {
                        table: table_name.to_owned(),
                        column: compared[i].name.clone(),
                        reason,
                    })?,
            );
        }
        side.add(&row);
        Ok(())
    })
    .await
}
