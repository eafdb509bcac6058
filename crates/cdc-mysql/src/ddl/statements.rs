//! DROP/RENAME/TRUNCATE TABLE, CREATE UNIQUE INDEX, and database statements.

use sqlparser::ast::{ObjectType, Statement};
use sqlparser::tokenizer::Token;

use super::column::{index_columns, set_primary_key};
use super::model::{ChangeKind, DatabaseDef, SchemaChange};
use super::rewrite::{charset_of_collation, matching_paren, table_options};
use super::schemas::{strip_wait, Applied, Ctx, Schemas, APPLY};
use super::tokens::{self, are_words, parse_with, word, Kind, Tok};

impl Schemas {
    pub(super) fn drop_table(&mut self, ctx: &Ctx, toks: &[Tok]) -> Applied {
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

    pub(super) fn rename_table(&mut self, ctx: &Ctx, toks: &[Tok]) -> Applied {
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

    pub(super) fn truncate(&mut self, ctx: &Ctx, toks: &[Tok]) -> Applied {
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

    pub(super) fn create_unique_index(&mut self, ctx: &Ctx, toks: &[Tok]) -> Applied {
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
    pub(super) fn database_statement(&mut self, ctx: &Ctx, kind: Kind, toks: &[Tok]) -> Applied {
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
}
