//! [`Schemas`]: databases and tables as the DDL seen so far defines them.

use std::collections::BTreeMap;

use sqlparser::ast::{self, ObjectName, ObjectNamePart, ObjectType, Statement, TableConstraint};
use sqlparser::tokenizer::Token;

use super::column::{self, ParsedColumn};
use super::comments::{resolve_executable_comments, ServerVersion};
use super::metadata::column_metadata;
use super::model::{ChangeKind, ColumnDef, DatabaseDef, SchemaChange, TableDef, TableId};
use super::rewrite::{self, charset_of_collation, matching_paren, table_options, TableOptions};
use super::tokens::{self, are_words, is_word, parse_with, word, Kind, Tok};
use super::{truncated, DdlError};

/// How [`Schemas`] treats input.
#[derive(Debug, Clone, Default)]
pub struct DdlOptions {
    /// Debezium's `schema.history.internal.skip.unparseable.ddl`: a statement that cannot be
    /// parsed or applied is logged as a warning and skipped instead of failing.
    pub skip_unparseable: bool,
    /// Decides which executable comments (`/*!NNNNN … */`, `/*M! … */`) count.
    pub server: ServerVersion,
    /// The server's `character_set_server`, for databases created without a character set.
    pub server_charset: Option<String>,
}

/// The schema tracker.
///
/// [`Schemas::apply`] understands what binlog Query events carry:
/// - `CREATE [OR REPLACE] TABLE [IF NOT EXISTS]` with columns, inline and table-level PRIMARY
///   KEY (a UNIQUE key stands in for a missing primary key, as in Debezium), character set and
///   collation inherited database → table → column, table comment; `CREATE TABLE … LIKE`;
///   table options and `PARTITION BY …` are read by a token scanner, so any option parses;
/// - `ALTER [ONLINE|IGNORE] TABLE` with any number of clauses: ADD/DROP/MODIFY/CHANGE/RENAME
///   COLUMN (with FIRST/AFTER, MariaDB `IF [NOT] EXISTS`), `ADD (c1 …, c2 …)`, ALTER COLUMN
///   SET/DROP DEFAULT, ADD/DROP PRIMARY KEY, UNIQUE keys, RENAME [TO|AS], CONVERT TO CHARACTER
///   SET, table options (charset, collation, comment), and clauses without schema effect
///   (ALGORITHM, LOCK, FORCE, indexes, foreign keys, checks, partitions, …);
/// - `DROP TABLE [IF EXISTS] a, b`; `RENAME TABLE a TO b, c TO d`; `TRUNCATE [TABLE]`;
///   `CREATE UNIQUE INDEX` (as a primary key stand-in);
/// - `CREATE/ALTER/DROP {DATABASE|SCHEMA}` with character set and collation; `USE`;
/// - statements that never change table schemas (transactions, SET, users, grants, views,
///   stored programs, DML, …): no change.
#[derive(Debug, Clone, Default)]
pub struct Schemas {
    options: DdlOptions,
    databases: BTreeMap<String, DatabaseDef>,
    tables: BTreeMap<TableId, TableDef>,
}

type Applied = Result<Vec<SchemaChange>, String>;

impl Schemas {
    pub fn new(options: DdlOptions) -> Self {
        Schemas {
            options,
            ..Default::default()
        }
    }

    pub fn options(&self) -> &DdlOptions {
        &self.options
    }

    pub fn table(&self, database: &str, table: &str) -> Option<&TableDef> {
        self.tables.get(&TableId::new(database, table))
    }

    pub fn table_by_id(&self, id: &TableId) -> Option<&TableDef> {
        self.tables.get(id)
    }

    /// All tables, ordered by database and name.
    pub fn tables(&self) -> impl Iterator<Item = &TableDef> {
        self.tables.values()
    }

    pub fn database(&self, name: &str) -> Option<&DatabaseDef> {
        self.databases.get(name)
    }

    /// Replaces (or adds) a table definition, as recovery from history does.
    pub fn put_table(&mut self, table: TableDef) {
        self.tables.insert(table.id.clone(), table);
    }

    /// Removes a table; returns its definition if it was known.
    pub fn remove_table(&mut self, id: &TableId) -> Option<TableDef> {
        self.tables.remove(id)
    }

    /// Applies the DDL text of one Query event; `current_database` is the event's default
    /// database. Returns one change per affected table or database, in statement order.
    pub fn apply(
        &mut self,
        sql: &str,
        current_database: Option<&str>,
    ) -> Result<Vec<SchemaChange>, DdlError> {
        let source = resolve_executable_comments(sql, self.options.server);
        let toks = match tokens::tokenize(&source) {
            Ok(t) => t,
            Err(message) => {
                return self.failed(DdlError::Parse {
                    statement: truncated(sql),
                    message,
                })
            }
        };
        let statements = tokens::split_statements(&source, toks);
        let single = statements.len() == 1;
        let mut current = current_database
            .filter(|d| !d.is_empty())
            .map(str::to_string);
        let mut changes = Vec::new();
        for stmt in statements {
            let text = if single {
                sql.trim().trim_end_matches(';').trim_end().to_string()
            } else {
                stmt.text.clone()
            };
            let ctx = Ctx {
                text: &text,
                current: current.as_deref(),
            };
            let result = match stmt.kind {
                Kind::CreateTable => self.create_table(&ctx, &stmt.tokens),
                Kind::AlterTable => self.alter_table(&ctx, &stmt.tokens),
                Kind::DropTable => self.drop_table(&ctx, &stmt.tokens),
                Kind::RenameTable => self.rename_table(&ctx, &stmt.tokens),
                Kind::Truncate => self.truncate(&ctx, &stmt.tokens),
                Kind::CreateUniqueIndex => self.create_unique_index(&ctx, &stmt.tokens),
                Kind::CreateDatabase | Kind::AlterDatabase | Kind::DropDatabase => {
                    self.database_statement(&ctx, stmt.kind, &stmt.tokens)
                }
                Kind::Use => match tokens::name_or_string(stmt.tokens.get(1)) {
                    Some(db) => {
                        current = Some(db.clone());
                        Ok(vec![SchemaChange {
                            database: db,
                            ddl: text.clone(),
                            kind: ChangeKind::Database,
                        }])
                    }
                    None => Err("USE without a database name".to_string()),
                },
                Kind::Temporary | Kind::Compound | Kind::NoSchemaChange => Ok(Vec::new()),
                Kind::Other => {
                    parse_with(&stmt.tokens, |p| p.parse_statement()).map(|_| Vec::new())
                }
            };
            match result {
                Ok(c) => changes.extend(c),
                Err(message) => {
                    let err = if let Some(message) = message.strip_prefix(APPLY) {
                        DdlError::Apply {
                            statement: truncated(&text),
                            message: message.to_string(),
                        }
                    } else {
                        DdlError::Parse {
                            statement: truncated(&text),
                            message,
                        }
                    };
                    self.failed(err)?;
                }
            }
        }
        Ok(changes)
    }

    fn failed(&self, err: DdlError) -> Result<Vec<SchemaChange>, DdlError> {
        if self.options.skip_unparseable {
            tracing::warn!(error = %err, "skipping DDL statement (skip_unparseable is set)");
            Ok(Vec::new())
        } else {
            Err(err)
        }
    }

    /// The character set a new table in `database` gets when it names none.
    fn database_charset(&self, database: &str) -> Option<String> {
        self.databases
            .get(database)
            .and_then(|d| d.default_charset.clone())
            .or_else(|| self.options.server_charset.clone())
    }

    fn create_table(&mut self, ctx: &Ctx, toks: &[Tok]) -> Applied {
        // `LIKE` right after the name, or `(LIKE …)`.
        let name_end = after_table_name(toks).ok_or("CREATE TABLE without a table name")?;
        let is_like = is_word(toks.get(name_end), "LIKE")
            || matches!(toks.get(name_end).map(|t| &t.token), Some(Token::LParen))
                && is_word(toks.get(name_end + 1), "LIKE");
        if is_like {
            // `(LIKE src)` → `LIKE src`.
            let mut toks = toks.to_vec();
            if toks[name_end].token == Token::LParen {
                if let Some(close) = matching_paren(&toks, name_end) {
                    toks.remove(close);
                    toks.remove(name_end);
                }
            }
            return self.create_table_like(ctx, &toks);
        }
        let open = match toks.get(name_end).map(|t| &t.token) {
            Some(Token::LParen) => name_end,
            _ => {
                return Err(format!(
                    "{APPLY}CREATE TABLE … SELECT is not supported: the columns come from a query (row-based binlogs log such tables with their full definition)"
                ))
            }
        };
        let close = matching_paren(toks, open).ok_or("unbalanced parentheses")?;
        let tail = &toks[close + 1..];
        if tail_has_query(tail) {
            return Err(format!(
                "{APPLY}CREATE TABLE … SELECT is not supported: the columns come from a query"
            ));
        }
        let mut rewritten = toks[..open].to_vec();
        let (list, attrs) = rewrite::definition_list(&toks[open..=close]);
        rewritten.extend(list);
        let stmt = parse_with(&rewritten, |p| p.parse_statement())?;
        let Statement::CreateTable(create) = stmt else {
            return Err("not a CREATE TABLE statement".to_string());
        };
        let id = self.resolve(&create.name, ctx.current)?;
        if self.tables.contains_key(&id) && !create.or_replace {
            // MySQL refuses to create an existing table; IF NOT EXISTS makes that a no-op.
            return Ok(Vec::new());
        }
        let opts = table_options(tail);
        let charset = self.table_charset(&opts, &id.database);
        let mut table = TableDef {
            id: id.clone(),
            columns: Vec::new(),
            primary_key: Vec::new(),
            default_charset: charset,
            comment: opts.comment,
        };
        let mut explicit_pk: Option<Vec<String>> = None;
        let mut unique_pk: Option<Vec<String>> = None;
        for col in &create.columns {
            let ParsedColumn {
                def,
                primary_key,
                unique,
            } = column::from_sql(col, rewrite::attributes_of(&attrs, &col.name.value));
            if table.column_index(&def.name).is_some() {
                return Err(format!("{APPLY}duplicate column `{}`", def.name));
            }
            if primary_key {
                explicit_pk = Some(vec![def.name.clone()]);
            } else if unique && unique_pk.is_none() {
                unique_pk = Some(vec![def.name.clone()]);
            }
            table
                .columns
                .push(inherit_charset(def, table.default_charset.as_deref()));
        }
        for constraint in &create.constraints {
            match constraint {
                TableConstraint::PrimaryKey(pk) => {
                    explicit_pk = Some(index_columns(&pk.columns)?);
                }
                TableConstraint::Unique(u) if unique_pk.is_none() => {
                    // Expression key parts make a key ineligible, as in Debezium.
                    if let Ok(cols) = index_columns(&u.columns) {
                        if cols.iter().all(|c| table.column_index(c).is_some()) {
                            unique_pk = Some(cols);
                        }
                    }
                }
                _ => {}
            }
        }
        if let Some(pk) = explicit_pk.or(unique_pk) {
            set_primary_key(&mut table, pk)?;
        }
        table.renumber();
        self.tables.insert(id.clone(), table.clone());
        Ok(vec![SchemaChange {
            database: id.database.clone(),
            ddl: ctx.text.to_string(),
            kind: ChangeKind::CreateTable(table),
        }])
    }

    fn create_table_like(&mut self, ctx: &Ctx, toks: &[Tok]) -> Applied {
        let stmt = parse_with(toks, |p| p.parse_statement())?;
        let Statement::CreateTable(create) = stmt else {
            return Err("not a CREATE TABLE statement".to_string());
        };
        let source = match &create.like {
            Some(ast::CreateTableLikeKind::Parenthesized(l))
            | Some(ast::CreateTableLikeKind::Plain(l)) => &l.name,
            None => return Err("CREATE TABLE … LIKE without a source table".to_string()),
        };
        let id = self.resolve(&create.name, ctx.current)?;
        let source = self.resolve(source, ctx.current)?;
        if self.tables.contains_key(&id) && !create.or_replace {
            return Ok(Vec::new());
        }
        let Some(original) = self.tables.get(&source) else {
            return Err(format!(
                "{APPLY}CREATE TABLE … LIKE names unknown table {source}"
            ));
        };
        let mut table = original.clone();
        table.id = id.clone();
        self.tables.insert(id.clone(), table.clone());
        Ok(vec![SchemaChange {
            database: id.database.clone(),
            ddl: ctx.text.to_string(),
            kind: ChangeKind::CreateTable(table),
        }])
    }

    fn table_charset(&self, opts: &TableOptions, database: &str) -> Option<String> {
        opts.charset
            .clone()
            .filter(|c| !c.eq_ignore_ascii_case("DEFAULT"))
            .or_else(|| opts.collation.as_deref().and_then(charset_of_collation))
            .or_else(|| self.database_charset(database))
    }

    fn drop_table(&mut self, ctx: &Ctx, toks: &[Tok]) -> Applied {
        // MariaDB: DROP TABLE … [WAIT n | NOWAIT].
        let toks = strip_wait(toks);
        let stmt = parse_with(&toks, |p| p.parse_statement())?;
        let Statement::Drop {
            object_type: ObjectType::Table,
            if_exists,
            names,
            cascade,
            restrict,
            ..
        } = stmt
        else {
            return Err("not a DROP TABLE statement".to_string());
        };
        let prefix = if if_exists {
            "DROP TABLE IF EXISTS "
        } else {
            "DROP TABLE "
        };
        let suffix = if cascade {
            " CASCADE"
        } else if restrict {
            " RESTRICT"
        } else {
            ""
        };
        let mut changes = Vec::new();
        for name in &names {
            let id = self.resolve(name, ctx.current)?;
            let known = self.tables.remove(&id).is_some();
            if known || !if_exists {
                changes.push(SchemaChange {
                    database: id.database.clone(),
                    ddl: format!(
                        "{prefix}`{}`.`{}`{suffix}",
                        id.database.replace('`', "``"),
                        id.table.replace('`', "``")
                    ),
                    kind: ChangeKind::DropTable(id),
                });
            }
        }
        Ok(changes)
    }

    fn rename_table(&mut self, ctx: &Ctx, toks: &[Tok]) -> Applied {
        // MariaDB: RENAME TABLE [IF EXISTS] …
        let mut toks = strip_wait(toks);
        let if_exists = are_words(&toks, 2, &["IF", "EXISTS"]);
        if if_exists {
            toks.drain(2..4);
        }
        let stmt = parse_with(&toks, |p| p.parse_statement())?;
        let Statement::RenameTable(pairs) = stmt else {
            return Err("not a RENAME TABLE statement".to_string());
        };
        let mut changes = Vec::new();
        for pair in &pairs {
            let old = self.resolve(&pair.old_name, ctx.current)?;
            let new = self.resolve(&pair.new_name, ctx.current)?;
            let Some(mut table) = self.tables.remove(&old) else {
                if if_exists {
                    continue;
                }
                return Err(format!("{APPLY}RENAME TABLE names unknown table {old}"));
            };
            table.id = new.clone();
            self.tables.insert(new.clone(), table.clone());
            changes.push(SchemaChange {
                database: new.database.clone(),
                ddl: ctx.text.to_string(),
                kind: ChangeKind::AlterTable {
                    table,
                    previous: Some(old),
                },
            });
        }
        Ok(changes)
    }

    fn truncate(&mut self, ctx: &Ctx, toks: &[Tok]) -> Applied {
        let stmt = parse_with(toks, |p| p.parse_statement())?;
        let Statement::Truncate(t) = stmt else {
            return Err("not a TRUNCATE statement".to_string());
        };
        t.table_names
            .iter()
            .map(|target| {
                let id = self.resolve(&target.name, ctx.current)?;
                Ok(SchemaChange {
                    database: id.database.clone(),
                    ddl: ctx.text.to_string(),
                    kind: ChangeKind::TruncateTable(id),
                })
            })
            .collect()
    }

    fn create_unique_index(&mut self, ctx: &Ctx, toks: &[Tok]) -> Applied {
        // Index options sqlparser may not know (ALGORITHM=, LOCK=, VISIBLE) do not matter here:
        // parse up to the closing parenthesis of the key list.
        let open = toks
            .iter()
            .position(|t| t.token == Token::LParen)
            .ok_or("CREATE INDEX without a key list")?;
        let close = matching_paren(toks, open).ok_or("unbalanced parentheses")?;
        let stmt = parse_with(&toks[..=close], |p| p.parse_statement())?;
        let Statement::CreateIndex(index) = stmt else {
            return Err("not a CREATE INDEX statement".to_string());
        };
        let id = self.resolve(&index.table_name, ctx.current)?;
        let Some(table) = self.tables.get(&id) else {
            return Ok(Vec::new());
        };
        let Ok(cols) = index_columns(&index.columns) else {
            return Ok(Vec::new());
        };
        if !table.primary_key.is_empty() || cols.iter().any(|c| table.column_index(c).is_none()) {
            return Ok(Vec::new());
        }
        let mut table = table.clone();
        set_primary_key(&mut table, cols)?;
        self.tables.insert(id.clone(), table.clone());
        Ok(vec![SchemaChange {
            database: id.database.clone(),
            ddl: ctx.text.to_string(),
            kind: ChangeKind::AlterTable {
                table,
                previous: None,
            },
        }])
    }

    /// `CREATE {DATABASE|SCHEMA} [IF NOT EXISTS] db [options]`,
    /// `ALTER {DATABASE|SCHEMA} [db] options`, `DROP {DATABASE|SCHEMA} [IF EXISTS] db`.
    fn database_statement(&mut self, ctx: &Ctx, kind: Kind, toks: &[Tok]) -> Applied {
        let mut i = 2;
        if are_words(toks, i, &["IF", "NOT", "EXISTS"]) {
            i += 3;
        } else if are_words(toks, i, &["IF", "EXISTS"]) {
            i += 2;
        }
        let option_start = |w: Option<String>| {
            matches!(
                w.as_deref(),
                Some(
                    "DEFAULT"
                        | "CHARACTER"
                        | "CHARSET"
                        | "COLLATE"
                        | "ENCRYPTION"
                        | "READ"
                        | "COMMENT"
                )
            )
        };
        let name = match toks.get(i).map(|t| &t.token) {
            Some(Token::Word(_))
                if !(kind == Kind::AlterDatabase && option_start(word(toks.get(i)))) =>
            {
                i += 1;
                tokens::name_or_string(toks.get(i - 1))
            }
            _ if kind == Kind::AlterDatabase => ctx.current.map(str::to_string),
            _ => None,
        };
        let name = name.ok_or_else(|| format!("{APPLY}no database named and none selected"))?;
        let opts = table_options(&toks[i.min(toks.len())..]);
        match kind {
            Kind::DropDatabase => {
                self.databases.remove(&name);
                self.tables.retain(|id, _| id.database != name);
            }
            _ => {
                let exists = self.databases.contains_key(&name);
                if kind == Kind::CreateDatabase && exists {
                    // IF NOT EXISTS on an existing database changes nothing.
                } else {
                    let db = self
                        .databases
                        .entry(name.clone())
                        .or_insert_with(|| DatabaseDef {
                            name: name.clone(),
                            ..Default::default()
                        });
                    if let Some(c) = opts.charset.filter(|c| !c.eq_ignore_ascii_case("DEFAULT")) {
                        db.default_charset = Some(c);
                    } else if let Some(c) = opts.collation.as_deref().and_then(charset_of_collation)
                    {
                        db.default_charset = Some(c);
                    }
                    if let Some(c) = opts.collation {
                        db.default_collation = Some(c);
                    }
                }
            }
        }
        Ok(vec![SchemaChange {
            database: name,
            ddl: ctx.text.to_string(),
            kind: ChangeKind::Database,
        }])
    }

    /// `db.table` or `table` in the current database.
    pub(crate) fn resolve(
        &self,
        name: &ObjectName,
        current: Option<&str>,
    ) -> Result<TableId, String> {
        let parts: Vec<&str> = name
            .0
            .iter()
            .map(|p| match p {
                ObjectNamePart::Identifier(id) => Ok(id.value.as_str()),
                _ => Err(format!("unsupported table name `{name}`")),
            })
            .collect::<Result<_, _>>()?;
        match parts.as_slice() {
            [db, table] => Ok(TableId::new(*db, *table)),
            [table] => match current {
                Some(db) => Ok(TableId::new(db, *table)),
                None => Err(format!(
                    "{APPLY}table `{table}` without a database and none selected"
                )),
            },
            _ => Err(format!("unsupported table name `{name}`")),
        }
    }

    pub(crate) fn get_table(&self, id: &TableId) -> Option<&TableDef> {
        self.tables.get(id)
    }

    /// Replaces `old` by `table` (which may carry a new id).
    pub(crate) fn replace_table(&mut self, old: &TableId, table: TableDef) {
        self.tables.remove(old);
        self.tables.insert(table.id.clone(), table);
    }
}

/// Marks an error message as an apply (not parse) failure.
pub(crate) const APPLY: &str = "\u{0}apply:";

pub(crate) struct Ctx<'a> {
    pub text: &'a str,
    pub current: Option<&'a str>,
}

/// Index of the token after `CREATE … TABLE [IF NOT EXISTS] name`.
fn after_table_name(toks: &[Tok]) -> Option<usize> {
    let mut i = toks.iter().position(|t| is_word(Some(t), "TABLE"))? + 1;
    if are_words(toks, i, &["IF", "NOT", "EXISTS"]) {
        i += 3;
    }
    after_object_name(toks, i)
}

/// Index after a possibly qualified name (`a`, `a.b`) starting at `i`.
pub(crate) fn after_object_name(toks: &[Tok], mut i: usize) -> Option<usize> {
    matches!(toks.get(i)?.token, Token::Word(_)).then_some(())?;
    i += 1;
    while matches!(toks.get(i).map(|t| &t.token), Some(Token::Period))
        && matches!(toks.get(i + 1).map(|t| &t.token), Some(Token::Word(_)))
    {
        i += 2;
    }
    Some(i)
}

/// Whether table options are followed by a query (`CREATE TABLE t (…) [AS] SELECT …`).
fn tail_has_query(tail: &[Tok]) -> bool {
    let mut depth = 0;
    for (i, t) in tail.iter().enumerate() {
        match t.token {
            Token::LParen => depth += 1,
            Token::RParen => depth -= 1,
            _ if depth == 0 => {
                if are_words(tail, i, &["WITH", "SYSTEM", "VERSIONING"]) {
                    continue;
                }
                let w = word(Some(t));
                if matches!(w.as_deref(), Some("SELECT" | "WITH" | "VALUES" | "TABLE"))
                    || (w.as_deref() == Some("AS") && i + 1 < tail.len())
                        && !is_word(tail.get(i + 1), "OF")
                {
                    // `PARTITION BY … VALUES LESS THAN` and `… IN (…)` stay legal.
                    let in_partition = tail[..i].iter().any(|t| is_word(Some(t), "PARTITION"));
                    if !in_partition {
                        return true;
                    }
                }
            }
            _ => {}
        }
    }
    false
}

/// Removes MariaDB's `WAIT n` / `NOWAIT` from DROP/RENAME/ALTER TABLE.
pub(crate) fn strip_wait(toks: &[Tok]) -> Vec<Tok> {
    let mut out = Vec::with_capacity(toks.len());
    let mut i = 0;
    while i < toks.len() {
        if is_word(toks.get(i), "NOWAIT") {
            i += 1;
        } else if is_word(toks.get(i), "WAIT")
            && matches!(toks.get(i + 1).map(|t| &t.token), Some(Token::Number(..)))
        {
            i += 2;
        } else {
            out.push(toks[i].clone());
            i += 1;
        }
    }
    out
}

/// Column names of a key (expression key parts are refused).
pub(crate) fn index_columns(cols: &[ast::IndexColumn]) -> Result<Vec<String>, String> {
    cols.iter()
        .map(|c| match &c.column.expr {
            ast::Expr::Identifier(id) => Ok(id.value.clone()),
            // `KEY (name(10))`: a prefix key on column `name`.
            ast::Expr::Function(f) => Ok(column::unquoted(&f.name)),
            other => Err(format!("{APPLY}unsupported key part `{other}`")),
        })
        .collect()
}

/// Sets the primary key (names as the table spells them); key columns become NOT NULL.
pub(crate) fn set_primary_key(table: &mut TableDef, cols: Vec<String>) -> Result<(), String> {
    let mut names = Vec::with_capacity(cols.len());
    for c in cols {
        let idx = table.column_index(&c).ok_or_else(|| {
            format!(
                "{APPLY}primary key names unknown column `{c}` of {}",
                table.id
            )
        })?;
        table.columns[idx].nullable = false;
        names.push(table.columns[idx].name.clone());
    }
    table.primary_key = names;
    Ok(())
}

/// A character column without a character set takes the table's.
pub(crate) fn inherit_charset(mut def: ColumnDef, table_charset: Option<&str>) -> ColumnDef {
    let meta = column_metadata(&def);
    if meta.uses_charset() {
        if meta.jdbc_type == super::metadata::jdbc::NCHAR
            || meta.jdbc_type == super::metadata::jdbc::NVARCHAR
        {
            def.charset = Some("utf8".to_string());
        } else if def
            .charset
            .as_deref()
            .is_none_or(|c| c.eq_ignore_ascii_case("DEFAULT"))
        {
            def.charset = table_charset.map(str::to_string);
        }
    }
    def
}
