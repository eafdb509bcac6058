//! Which tables and columns are captured and which columns form the message key, with
//! Debezium's semantics:
//!
//! - `table.include.list` / `table.exclude.list`: comma-separated regular expressions
//!   matched case-insensitively against the whole `schema.table` (anchored at both ends);
//!   `schema.include.list` / `schema.exclude.list` likewise against the schema name. An
//!   include list takes precedence over the exclude list of the same kind; schema and table
//!   filters must both accept a table. System schemas (`pg_catalog`, `information_schema`,
//!   `pg_temp*`, `pg_toast*`) and PostGIS's `spatial_ref_sys` are never captured by filters.
//! - `column.include.list` / `column.exclude.list`: the same against `schema.table.column`;
//!   an excluded column disappears from the key and value schemas and payloads.
//! - `message.key.columns`: `<table regex>:<col>,<col>;…`; each `table.col` pair is a regex
//!   on `schema.table.column`. The key is the matching columns, pattern by pattern in the
//!   order given (table column order within one pattern); a table no pattern matches keeps
//!   its primary key.
//!
//! Instead of filters the configuration may list the tables explicitly (`source.tables`).
//! Filters are resolved against the catalog at start.
//!
//! MySQL / MariaDB: the namespace is the database (`db.table`, `db.table.column`; database
//! filters instead of schema filters); the column rules reach `cdc_mysql` as its
//! `ColumnSelection`, which shapes snapshot, stream and incremental-snapshot events alike.

use cdc_model::TableId;
use regex::{Regex, RegexBuilder};

use crate::config::SourceConfig;
use crate::CaptureError;

/// The compiled selection rules of one capture.
#[derive(Debug, Default, Clone)]
pub struct Selection {
    tables: Tables,
    columns: Columns,
    /// `message.key.columns` patterns on `schema.table.column`, in the configured order.
    keys: Vec<Regex>,
    /// `signal.data.collection`, captured like Debezium does even when no filter names it.
    signal_table: Option<TableId>,
}

#[derive(Debug, Clone)]
enum Tables {
    Explicit(Vec<TableId>),
    Filtered { tables: Filter, schemas: Filter },
}

impl Default for Tables {
    fn default() -> Self {
        Tables::Explicit(Vec::new())
    }
}

#[derive(Debug, Default, Clone)]
enum Filter {
    #[default]
    All,
    Include(Vec<Regex>),
    Exclude(Vec<Regex>),
}

impl Filter {
    fn new(
        include: (&str, Option<&str>),
        exclude: (&str, Option<&str>),
    ) -> Result<Filter, CaptureError> {
        Ok(match (include.1, exclude.1) {
            (Some(i), _) if !i.trim().is_empty() => Filter::Include(regexes(include.0, i)?),
            (_, Some(e)) if !e.trim().is_empty() => Filter::Exclude(regexes(exclude.0, e)?),
            _ => Filter::All,
        })
    }

    fn accepts(&self, name: &str) -> bool {
        match self {
            Filter::All => true,
            Filter::Include(patterns) => patterns.iter().any(|p| p.is_match(name)),
            Filter::Exclude(patterns) => !patterns.iter().any(|p| p.is_match(name)),
        }
    }
}

type Columns = Filter;

/// Splits Debezium's comma-separated regex list (a backslash escapes the next character
/// from splitting; `\,` becomes a literal comma of the regex) and compiles each anchored
/// and case-insensitive.
fn regexes(option: &str, list: &str) -> Result<Vec<Regex>, CaptureError> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut chars = list.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                current.push(c);
                current.extend(chars.next());
            }
            ',' => parts.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    parts.push(current);
    parts
        .iter()
        .map(|p| p.trim().replace("\\,", ","))
        .filter(|p| !p.is_empty())
        .map(|p| anchored(option, &p))
        .collect()
}

fn anchored(option: &str, pattern: &str) -> Result<Regex, CaptureError> {
    RegexBuilder::new(&format!("^(?:{pattern})$"))
        .case_insensitive(true)
        .build()
        .map_err(|e| {
            CaptureError::Config(format!(
                "{option}: invalid regular expression {pattern:?}: {e}"
            ))
        })
}

fn parse_table(option: &str, text: &str) -> Result<TableId, CaptureError> {
    match text.trim().split_once('.') {
        Some((s, n)) if !s.is_empty() && !n.is_empty() && !n.contains('.') => {
            Ok(TableId::new(s, n))
        }
        _ => Err(CaptureError::Config(format!(
            "{option} entry {text:?} must be `schema.table`"
        ))),
    }
}

/// Schemas and tables Debezium's PostgreSQL connector never captures.
fn is_system_table(id: &TableId) -> bool {
    let schema = id.namespace.to_ascii_lowercase();
    schema == "pg_catalog"
        || schema == "information_schema"
        || schema.starts_with("pg_temp")
        || schema.starts_with("pg_toast")
        || id.name.eq_ignore_ascii_case("spatial_ref_sys")
}

impl Selection {
    /// Compiles the selection options of `source`.
    pub fn from_config(source: &SourceConfig) -> Result<Selection, CaptureError> {
        let filtered = [
            &source.table_include_list,
            &source.table_exclude_list,
            &source.schema_include_list,
            &source.schema_exclude_list,
            &source.database_include_list,
            &source.database_exclude_list,
        ]
        .iter()
        .any(|f| f.as_deref().is_some_and(|f| !f.trim().is_empty()));
        let tables = match (source.tables.is_empty(), filtered) {
            (false, true) => {
                return Err(CaptureError::Config(
                    "source.tables cannot be combined with table/schema include or exclude \
                     lists; use one or the other"
                        .into(),
                ))
            }
            (false, false) => Tables::Explicit(
                source
                    .tables
                    .iter()
                    .map(|t| parse_table("source.tables", t))
                    .collect::<Result<_, _>>()?,
            ),
            (true, _) => Tables::Filtered {
                tables: Filter::new(
                    ("table.include.list", source.table_include_list.as_deref()),
                    ("table.exclude.list", source.table_exclude_list.as_deref()),
                )?,
                // MySQL / MariaDB: the namespace is the database.
                schemas: if source.kind.is_binlog() {
                    Filter::new(
                        (
                            "database.include.list",
                            source.database_include_list.as_deref(),
                        ),
                        (
                            "database.exclude.list",
                            source.database_exclude_list.as_deref(),
                        ),
                    )?
                } else {
                    Filter::new(
                        ("schema.include.list", source.schema_include_list.as_deref()),
                        ("schema.exclude.list", source.schema_exclude_list.as_deref()),
                    )?
                },
            },
        };
        let columns = Filter::new(
            ("column.include.list", source.column_include_list.as_deref()),
            ("column.exclude.list", source.column_exclude_list.as_deref()),
        )?;
        let keys = match source.message_key_columns.as_deref() {
            Some(spec) => key_patterns(spec)?,
            None => Vec::new(),
        };
        let signal_table = source
            .signal_data_collection
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(|s| parse_table("signal.data.collection", s))
            .transpose()?;
        Ok(Selection {
            tables,
            columns,
            keys,
            signal_table,
        })
    }

    /// The signal table (`signal.data.collection`), if configured.
    pub fn signal_table(&self) -> Option<&TableId> {
        self.signal_table.as_ref()
    }

    /// The captured tables among `catalog` (every user table of the database, in catalog
    /// order). Explicitly listed tables are returned as listed.
    pub fn select_tables(&self, catalog: &[TableId]) -> Vec<TableId> {
        let mut selected: Vec<TableId> = match &self.tables {
            Tables::Explicit(list) => list.clone(),
            Tables::Filtered { tables, schemas } => catalog
                .iter()
                .filter(|id| !is_system_table(id))
                .filter(|id| schemas.accepts(&id.namespace))
                .filter(|id| tables.accepts(&format!("{}.{}", id.namespace, id.name)))
                .cloned()
                .collect(),
        };
        if let Some(signal) = &self.signal_table {
            if !selected.contains(signal) && catalog.contains(signal) {
                selected.push(signal.clone());
            }
        }
        selected
    }

    /// Whether `id` is captured: listed, or accepted by the include/exclude filters (a table
    /// created after the start is judged by the same rules as [`Selection::select_tables`]).
    pub fn captures(&self, id: &TableId) -> bool {
        let listed = match &self.tables {
            Tables::Explicit(list) => list.contains(id),
            Tables::Filtered { tables, schemas } => {
                !is_system_table(id)
                    && schemas.accepts(&id.namespace)
                    && tables.accepts(&format!("{}.{}", id.namespace, id.name))
            }
        };
        listed || self.signal_table.as_ref() == Some(id)
    }

    /// Whether `column` of `table` is captured.
    pub fn column_included(&self, table: &TableId, column: &str) -> bool {
        matches!(self.columns, Filter::All)
            || self
                .columns
                .accepts(&format!("{}.{}.{column}", table.namespace, table.name))
    }

    /// The `message.key.columns` key of `table`: indices into `columns` (the captured
    /// columns in order), or `None` when no pattern matches (the primary key applies).
    pub fn key_columns(&self, table: &TableId, columns: &[&str]) -> Option<Vec<usize>> {
        let mut key = Vec::new();
        for pattern in &self.keys {
            for (i, column) in columns.iter().enumerate() {
                let id = format!("{}.{}.{column}", table.namespace, table.name);
                if pattern.is_match(&id) && !key.contains(&i) {
                    key.push(i);
                }
            }
        }
        (!key.is_empty()).then_some(key)
    }

    /// A description of the table selection for errors and logs.
    pub fn describe(&self) -> String {
        match &self.tables {
            Tables::Explicit(list) => format!("source.tables ({} tables)", list.len()),
            Tables::Filtered { .. } => "the table/schema include and exclude lists".into(),
        }
    }
}

/// The column rules for the binlog capture (`db.table.column`).
impl cdc_mysql::stream::ColumnSelection for Selection {
    fn included(&self, table: &TableId, column: &str) -> bool {
        self.column_included(table, column)
    }

    fn key(&self, table: &TableId, columns: &[&str]) -> Option<Vec<usize>> {
        self.key_columns(table, columns)
    }
}

/// Parses `message.key.columns`: `<table regex>:<col>[,<col>…]` entries separated by `;`.
fn key_patterns(spec: &str) -> Result<Vec<Regex>, CaptureError> {
    let mut patterns = Vec::new();
    for entry in spec.split(';').map(str::trim).filter(|e| !e.is_empty()) {
        let (table, columns) = entry
            .split_once(':')
            .filter(|(t, c)| !t.trim().is_empty() && !c.trim().is_empty() && !c.contains(':'))
            .ok_or_else(|| {
                CaptureError::Config(format!(
                    "message.key.columns entry {entry:?} must be `<schema.table>:<column>[,<column>…]`"
                ))
            })?;
        for column in columns.split(',').map(str::trim) {
            if column.is_empty() {
                return Err(CaptureError::Config(format!(
                    "message.key.columns entry {entry:?} has an empty column name"
                )));
            }
            patterns.push(anchored(
                "message.key.columns",
                &format!("{}.{column}", table.trim()),
            )?);
        }
    }
    Ok(patterns)
}

/// The captured tables: the explicit list, or the filters applied to the catalog. An empty
/// result is an error (nothing would be captured).
pub async fn resolve(
    client: &tokio_postgres::Client,
    selection: &Selection,
) -> Result<Vec<TableId>, CaptureError> {
    let catalog = catalog_tables(client).await?;
    let tables = selection.select_tables(&catalog);
    if tables.is_empty() {
        return Err(CaptureError::Config(format!(
            "no table of the database matches {}",
            selection.describe()
        )));
    }
    if matches!(selection.tables, Tables::Filtered { .. }) {
        let names: Vec<String> = tables.iter().map(ToString::to_string).collect();
        tracing::info!(tables = %names.join(", "), "captured tables selected by the filters");
    }
    if !selection.keys.is_empty() {
        warn_key_overrides(client, selection, &tables).await?;
    }
    Ok(tables)
}

/// `message.key.columns` on a table without `REPLICA IDENTITY FULL`: the old row image of
/// a delete (and of a key-changing update) carries only the primary key, so the key columns
/// would be missing from it. Debezium has the same requirement; warn at start.
async fn warn_key_overrides(
    client: &tokio_postgres::Client,
    selection: &Selection,
    tables: &[TableId],
) -> Result<(), CaptureError> {
    const SQL: &str = "SELECT c.relreplident::text, \
               array_agg(a.attname::text ORDER BY a.attnum) \
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
        WHERE n.nspname = $1 AND c.relname = $2 GROUP BY c.relreplident";
    for table in tables {
        let row = client
            .query_opt(SQL, &[&table.namespace, &table.name])
            .await
            .map_err(|e| {
                CaptureError::postgres(format!("reading the replica identity of {table}"), e)
            })?;
        let Some(row) = row else { continue };
        let identity: String = row.get(0);
        let columns: Vec<String> = row.get(1);
        let names: Vec<&str> = columns.iter().map(String::as_str).collect();
        if identity != "f" && selection.key_columns(table, &names).is_some() {
            tracing::warn!(%table,
                "message.key.columns sets the key of a table without REPLICA IDENTITY FULL: \
                 deletes carry only the primary key in their old row, so the key columns \
                 are null there; run ALTER TABLE … REPLICA IDENTITY FULL");
        }
    }
    Ok(())
}

/// Every ordinary table (partitions included, as their changes are published under their
/// own names) of the database, in schema/name order.
async fn catalog_tables(client: &tokio_postgres::Client) -> Result<Vec<TableId>, CaptureError> {
    let rows = client
        .query(
            "SELECT n.nspname::text, c.relname::text FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind = 'r' ORDER BY 1, 2",
            &[],
        )
        .await
        .map_err(|e| CaptureError::postgres("listing the tables of the database", e))?;
    Ok(rows
        .iter()
        .map(|r| TableId::new(r.get::<_, String>(0), r.get::<_, String>(1)))
        .collect())
}

#[cfg(test)]
mod tests;
