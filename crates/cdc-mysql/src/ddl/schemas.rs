//! [`Schemas`]: databases and tables as the DDL seen so far defines them.

use std::collections::BTreeMap;

use sqlparser::ast::{ObjectName, ObjectNamePart};
use sqlparser::tokenizer::Token;

use super::comments::{resolve_executable_comments, ServerVersion};
use super::model::{ChangeKind, DatabaseDef, SchemaChange, TableDef, TableId};
use super::tokens::{self, is_word, parse_with, Kind, Tok};
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
    pub(super) options: DdlOptions,
    pub(super) databases: BTreeMap<String, DatabaseDef>,
    pub(super) tables: BTreeMap<TableId, TableDef>,
}

pub(super) type Applied = Result<Vec<SchemaChange>, String>;

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
    pub(super) fn database_charset(&self, database: &str) -> Option<String> {
        self.databases
            .get(database)
            .and_then(|d| d.default_charset.clone())
            .or_else(|| self.options.server_charset.clone())
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
