//! ALTER TABLE, clause by clause: the statement is split at top-level commas and each clause is
//! recognised by its leading words; clauses that define columns or keys are handed to
//! `sqlparser` as a one-clause `ALTER TABLE`, the rest (table options, CONVERT TO, RENAME,
//! clauses without schema effect) are read from tokens. All clauses apply to a copy of the
//! table, committed only when every clause succeeded.

use sqlparser::ast::{AlterTableOperation, RenameTableNameKind, Statement};
use sqlparser::tokenizer::Token;

use super::alter_columns as columns;
use super::metadata::jdbc;
use super::model::{ChangeKind, SchemaChange, TableDef, TableId};
use super::rewrite::{charset_of_collation, split_commas, table_options};
use super::schemas::{after_object_name, strip_wait, Ctx, Schemas, APPLY};
use super::tokens::{are_words, is_word, keyword, parse_with, word, Tok};

/// Clauses that never change columns, keys or character sets.
const NO_EFFECT: &[&str] = &[
    "ALGORITHM",
    "LOCK",
    "FORCE",
    "ORDER",
    "ENABLE",
    "DISABLE",
    "DISCARD",
    "IMPORT",
    "ANALYZE",
    "CHECK",
    "COALESCE",
    "REORGANIZE",
    "EXCHANGE",
    "OPTIMIZE",
    "REBUILD",
    "REPAIR",
    "REMOVE",
    "TRUNCATE",
    "PARTITION",
    "UPGRADE",
    "SECONDARY_LOAD",
    "SECONDARY_UNLOAD",
    "VALIDATION",
];

/// Table options (`ENGINE=…`, `DEFAULT CHARSET=…`, …) that may open a clause.
const TABLE_OPTIONS: &[&str] = &[
    "DEFAULT",
    "CHARACTER",
    "CHARSET",
    "COLLATE",
    "COMMENT",
    "ENGINE",
    "AUTO_INCREMENT",
    "ROW_FORMAT",
    "AVG_ROW_LENGTH",
    "CHECKSUM",
    "TABLE_CHECKSUM",
    "COMPRESSION",
    "CONNECTION",
    "DATA",
    "DELAY_KEY_WRITE",
    "ENCRYPTION",
    "ENCRYPTED",
    "ENCRYPTION_KEY_ID",
    "INSERT_METHOD",
    "KEY_BLOCK_SIZE",
    "MAX_ROWS",
    "MIN_ROWS",
    "PACK_KEYS",
    "PASSWORD",
    "STATS_AUTO_RECALC",
    "STATS_PERSISTENT",
    "STATS_SAMPLE_PAGES",
    "TABLESPACE",
    "UNION",
    "PAGE_CHECKSUM",
    "PAGE_COMPRESSED",
    "PAGE_COMPRESSION_LEVEL",
    "TRANSACTIONAL",
    "IETF_QUOTES",
    "SECONDARY_ENGINE",
    "SECONDARY_ENGINE_ATTRIBUTE",
    "ENGINE_ATTRIBUTE",
    "AUTOEXTEND_SIZE",
    "STORAGE",
    "START",
    "SEQUENCE",
    "WITH",
    "WITHOUT",
];

impl Schemas {
    pub(crate) fn alter_table(
        &mut self,
        ctx: &Ctx,
        toks: &[Tok],
    ) -> Result<Vec<SchemaChange>, String> {
        let toks = strip_wait(toks);
        let mut i = 1;
        while matches!(
            word(toks.get(i)).as_deref(),
            Some("ONLINE" | "OFFLINE" | "IGNORE")
        ) {
            i += 1;
        }
        i += 1; // TABLE
        let if_exists = are_words(&toks, i, &["IF", "EXISTS"]);
        if if_exists {
            i += 2;
        }
        let name_end = after_object_name(&toks, i).ok_or("ALTER TABLE without a table name")?;
        let name_toks = &toks[i..name_end];
        let name = parse_with(name_toks, |p| p.parse_object_name(false))?;
        let id = self.resolve(&name, ctx.current)?;
        let Some(original) = self.get_table(&id) else {
            if if_exists {
                return Ok(Vec::new());
            }
            return Err(format!("{APPLY}ALTER TABLE names unknown table {id}"));
        };
        let mut table = original.clone();
        let database_charset = self
            .database(&id.database)
            .and_then(|d| d.default_charset.clone())
            .or_else(|| self.options().server_charset.clone());
        let rest = cut_partition_options(&toks[name_end..]);
        if !rest.is_empty() {
            for clause in split_commas(rest) {
                if clause.is_empty() {
                    return Err("empty ALTER TABLE clause".to_string());
                }
                self.apply_clause(ctx, &mut table, clause, database_charset.as_deref())?;
            }
        }
        table.renumber();
        let previous = (table.id != id).then(|| id.clone());
        self.replace_table(&id, table.clone());
        Ok(vec![SchemaChange {
            database: table.id.database.clone(),
            ddl: ctx.text.to_string(),
            kind: ChangeKind::AlterTable { table, previous },
        }])
    }

    fn apply_clause(
        &self,
        ctx: &Ctx,
        table: &mut TableDef,
        clause: &[Tok],
        database_charset: Option<&str>,
    ) -> Result<(), String> {
        let first = word(clause.first()).unwrap_or_default();
        let second = word(clause.get(1)).unwrap_or_default();
        match first.as_str() {
            "ADD" => columns::add(table, clause),
            "DROP" => columns::drop(table, clause),
            "MODIFY" | "CHANGE" => columns::modify(table, clause),
            "ALTER" => columns::alter_column(table, clause),
            "RENAME" => rename(self, ctx, table, clause),
            "CONVERT" => convert(table, clause, database_charset),
            "INDEX" | "DATA" if second == "DIRECTORY" => Ok(()),
            "WITH" | "WITHOUT" if second == "VALIDATION" => Ok(()),
            w if TABLE_OPTIONS.contains(&w) => {
                let opts = table_options(clause);
                if let Some(c) = opts.charset.filter(|c| !c.eq_ignore_ascii_case("DEFAULT")) {
                    table.default_charset = Some(c);
                } else if let Some(c) = opts.collation.as_deref().and_then(charset_of_collation) {
                    table.default_charset = Some(c);
                }
                if let Some(c) = opts.comment {
                    table.comment = Some(c);
                }
                Ok(())
            }
            w if NO_EFFECT.contains(&w) => Ok(()),
            _ => Err(format!(
                "unsupported ALTER TABLE clause `{}`",
                clause_text(clause)
            )),
        }
    }
}

/// Drops `PARTITION BY …` / `REMOVE PARTITIONING` that follow the clauses without a comma.
fn cut_partition_options(toks: &[Tok]) -> &[Tok] {
    let mut depth = 0;
    for (i, t) in toks.iter().enumerate() {
        match t.token {
            Token::LParen => depth += 1,
            Token::RParen => depth -= 1,
            _ if depth == 0
                && i > 0
                && !matches!(toks[i - 1].token, Token::Comma)
                && (are_words(toks, i, &["PARTITION", "BY"])
                    || are_words(toks, i, &["REMOVE", "PARTITIONING"])) =>
            {
                return &toks[..i];
            }
            _ => {}
        }
    }
    toks
}

pub(super) fn clause_text(clause: &[Tok]) -> String {
    let text: Vec<String> = clause.iter().map(|t| t.token.to_string()).collect();
    super::truncated(&text.join(" "))
}

/// Parses `ALTER TABLE t <clause>` and returns its single operation.
pub(super) fn parse_clause(clause: Vec<Tok>) -> Result<AlterTableOperation, String> {
    let mut toks = vec![
        keyword("ALTER"),
        keyword("TABLE"),
        Tok::wrap(Token::make_word("t", Some('`'))),
    ];
    toks.extend(clause);
    match parse_with(&toks, |p| p.parse_statement())? {
        Statement::AlterTable(mut alter) if alter.operations.len() == 1 => {
            Ok(alter.operations.remove(0))
        }
        _ => Err("expected one ALTER TABLE operation".to_string()),
    }
}

/// RENAME COLUMN a TO b; RENAME {INDEX|KEY} …; RENAME [TO|AS] new_name.
fn rename(
    schemas: &Schemas,
    ctx: &Ctx,
    table: &mut TableDef,
    clause: &[Tok],
) -> Result<(), String> {
    let second = word(clause.get(1)).unwrap_or_default();
    match second.as_str() {
        "INDEX" | "KEY" => Ok(()),
        "COLUMN" => match parse_clause(clause.to_vec())? {
            AlterTableOperation::RenameColumn {
                old_column_name,
                new_column_name,
            } => {
                let idx = table.column_index(&old_column_name.value).ok_or_else(|| {
                    format!(
                        "{APPLY}RENAME COLUMN names unknown column `{}` of {}",
                        old_column_name.value, table.id
                    )
                })?;
                if table.column_index(&new_column_name.value).is_some()
                    && !old_column_name
                        .value
                        .eq_ignore_ascii_case(&new_column_name.value)
                {
                    return Err(format!(
                        "{APPLY}column `{}` already exists in {}",
                        new_column_name.value, table.id
                    ));
                }
                let old =
                    std::mem::replace(&mut table.columns[idx].name, new_column_name.value.clone());
                for k in table.primary_key.iter_mut() {
                    if k.eq_ignore_ascii_case(&old) {
                        *k = new_column_name.value.clone();
                    }
                }
                Ok(())
            }
            _ => Err("expected RENAME COLUMN".to_string()),
        },
        _ => {
            let start = if matches!(second.as_str(), "TO" | "AS") {
                2
            } else {
                1
            };
            let mut toks = vec![keyword("RENAME"), keyword("TO")];
            toks.extend(clause[start..].iter().cloned());
            match parse_clause(toks)? {
                AlterTableOperation::RenameTable {
                    table_name: RenameTableNameKind::To(name) | RenameTableNameKind::As(name),
                } => {
                    let new: TableId = schemas.resolve(
                        &name,
                        Some(&table.id.database).map(|s| s.as_str()).or(ctx.current),
                    )?;
                    if new != table.id && schemas.get_table(&new).is_some() {
                        return Err(format!("{APPLY}RENAME TO names existing table {new}"));
                    }
                    table.id = new;
                    Ok(())
                }
                _ => Err("expected RENAME TO".to_string()),
            }
        }
    }
}

/// CONVERT TO {CHARACTER SET|CHARSET} cs [COLLATE co]: every character column takes `cs`.
fn convert(
    table: &mut TableDef,
    clause: &[Tok],
    database_charset: Option<&str>,
) -> Result<(), String> {
    if !is_word(clause.get(1), "TO") {
        return Err(format!("unsupported clause `{}`", clause_text(clause)));
    }
    let opts = table_options(&clause[2..]);
    let charset = match opts.charset {
        Some(c) if c.eq_ignore_ascii_case("DEFAULT") => database_charset.map(str::to_string),
        Some(c) => Some(c),
        None => {
            return Err(format!(
                "CONVERT TO without a character set: `{}`",
                clause_text(clause)
            ))
        }
    };
    table.default_charset = charset.clone();
    for col in table.columns.iter_mut() {
        let meta = super::metadata::column_metadata(col);
        // NCHAR/NVARCHAR stay utf8, as Debezium reports them.
        if meta.uses_charset() && meta.jdbc_type != jdbc::NCHAR && meta.jdbc_type != jdbc::NVARCHAR
        {
            col.charset = charset.clone();
            col.collation = opts.collation.clone();
        }
    }
    Ok(())
}
