//! CREATE TABLE and CREATE TABLE … LIKE: the definition list goes to `sqlparser` after the
//! column rewrites; table options after it are read by the token scanner.

use sqlparser::ast::{self, Statement, TableConstraint};
use sqlparser::tokenizer::Token;

use super::column::{self, index_columns, inherit_charset, set_primary_key, ParsedColumn};
use super::model::{ChangeKind, SchemaChange, TableDef};
use super::rewrite::{self, charset_of_collation, matching_paren, table_options, TableOptions};
use super::schemas::{after_object_name, Applied, Ctx, Schemas, APPLY};
use super::tokens::{are_words, is_word, parse_with, word, Tok};

impl Schemas {
    pub(super) fn create_table(&mut self, ctx: &Ctx, toks: &[Tok]) -> Applied {
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
}

/// Index of the token after `CREATE … TABLE [IF NOT EXISTS] name`.
fn after_table_name(toks: &[Tok]) -> Option<usize> {
    let mut i = toks.iter().position(|t| is_word(Some(t), "TABLE"))? + 1;
    if are_words(toks, i, &["IF", "NOT", "EXISTS"]) {
        i += 3;
    }
    after_object_name(toks, i)
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
