//! ALTER TABLE, clause by clause: the statement is split at top-level commas and each clause is
//! recognised by its leading words; clauses that define columns or keys are handed to
//! `sqlparser` as a one-clause `ALTER TABLE`, the rest (table options, CONVERT TO, RENAME,
//! clauses without schema effect) are read from tokens. All clauses apply to a copy of the
//! table, committed only when every clause succeeded.

use sqlparser::ast::{
    AlterColumnOperation, AlterTableOperation, ColumnOptionDef, DataType, MySQLColumnPosition,
    RenameTableNameKind, Statement, TableConstraint,
};
use sqlparser::tokenizer::Token;

use super::column::{self, default_text};
use super::metadata::jdbc;
use super::model::{ChangeKind, SchemaChange, TableDef, TableId, TypeAttributes};
use super::rewrite::{self, charset_of_collation, split_commas, table_options};
use super::schemas::{
    after_object_name, index_columns, inherit_charset, set_primary_key, strip_wait, Ctx, Schemas,
    APPLY,
};
use super::tokens::{are_words, is_word, keyword, name_or_string, parse_with, word, Tok};

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
            "ADD" => add(table, clause),
            "DROP" => drop(table, clause),
            "MODIFY" | "CHANGE" => modify(table, clause),
            "ALTER" => alter_column(table, clause),
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

fn clause_text(clause: &[Tok]) -> String {
    let text: Vec<String> = clause.iter().map(|t| t.token.to_string()).collect();
    super::truncated(&text.join(" "))
}

/// Parses `ALTER TABLE t <clause>` and returns its single operation.
fn parse_clause(clause: Vec<Tok>) -> Result<AlterTableOperation, String> {
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

/// `[COLUMN]` and `IF [NOT] EXISTS` after the clause's verb: (index after them, if-flag).
fn skip_column_and_if(clause: &[Tok], mut i: usize, not: bool) -> (usize, bool) {
    if is_word(clause.get(i), "COLUMN") {
        i += 1;
    }
    let words: &[&str] = if not {
        &["IF", "NOT", "EXISTS"]
    } else {
        &["IF", "EXISTS"]
    };
    if are_words(clause, i, words) {
        (i + words.len(), true)
    } else {
        (i, false)
    }
}

fn add(table: &mut TableDef, clause: &[Tok]) -> Result<(), String> {
    let second = word(clause.get(1)).unwrap_or_default();
    match second.as_str() {
        "PRIMARY" | "UNIQUE" => return add_key(table, clause),
        "CONSTRAINT" => {
            // CONSTRAINT [name] {PRIMARY KEY | UNIQUE | FOREIGN KEY | CHECK}
            let kind = clause[2..]
                .iter()
                .take(2)
                .filter_map(|t| word(Some(t)))
                .find(|w| matches!(w.as_str(), "PRIMARY" | "UNIQUE" | "FOREIGN" | "CHECK"));
            return match kind.as_deref() {
                Some("PRIMARY" | "UNIQUE") => add_key(table, clause),
                _ => Ok(()),
            };
        }
        "INDEX" | "KEY" | "FULLTEXT" | "SPATIAL" | "FOREIGN" | "CHECK" | "PARTITION" => {
            return Ok(())
        }
        "PERIOD" if is_word(clause.get(2), "FOR") => return Ok(()),
        "SYSTEM" if is_word(clause.get(2), "VERSIONING") => return Ok(()),
        _ => {}
    }
    let (i, if_not_exists) = skip_column_and_if(clause, 1, true);
    if matches!(clause.get(i).map(|t| &t.token), Some(Token::LParen)) {
        // ADD [COLUMN] (c1 …, c2 …)
        let close = rewrite::matching_paren(clause, i).ok_or("unbalanced parentheses")?;
        let mut toks = vec![
            keyword("CREATE"),
            keyword("TABLE"),
            Tok::wrap(Token::make_word("t", Some('`'))),
        ];
        let (list, attrs) = rewrite::definition_list(&clause[i..=close]);
        toks.extend(list);
        let Statement::CreateTable(create) = parse_with(&toks, |p| p.parse_statement())? else {
            return Err("expected column definitions".to_string());
        };
        for col in &create.columns {
            let attrs = rewrite::attributes_of(&attrs, &col.name.value);
            add_column(table, column::from_sql(col, attrs), None, if_not_exists)?;
        }
        return Ok(());
    }
    let Some(name) = clause.get(i) else {
        return Err("ADD COLUMN without a column".to_string());
    };
    let mut toks = vec![keyword("ADD"), keyword("COLUMN"), name.clone()];
    let (tail, attrs) = rewrite::column_tail(&clause[i + 1..]);
    toks.extend(tail);
    match parse_clause(toks)? {
        AlterTableOperation::AddColumn {
            column_def,
            column_position,
            ..
        } => add_column(
            table,
            column::from_sql(&column_def, attrs),
            column_position,
            if_not_exists,
        ),
        _ => Err("expected ADD COLUMN".to_string()),
    }
}

fn add_column(
    table: &mut TableDef,
    parsed: column::ParsedColumn,
    position: Option<MySQLColumnPosition>,
    if_not_exists: bool,
) -> Result<(), String> {
    if table.column_index(&parsed.def.name).is_some() {
        if if_not_exists {
            return Ok(());
        }
        return Err(format!(
            "{APPLY}column `{}` already exists in {}",
            parsed.def.name, table.id
        ));
    }
    let def = inherit_charset(parsed.def, table.default_charset.as_deref());
    let name = def.name.clone();
    let at = insert_index(table, position.as_ref())?;
    table.columns.insert(at, def);
    if parsed.primary_key || parsed.unique && table.primary_key.is_empty() {
        set_primary_key(table, vec![name])?;
    }
    Ok(())
}

fn insert_index(table: &TableDef, position: Option<&MySQLColumnPosition>) -> Result<usize, String> {
    match position {
        None => Ok(table.columns.len()),
        Some(MySQLColumnPosition::First) => Ok(0),
        Some(MySQLColumnPosition::After(c)) => {
            table.column_index(&c.value).map(|i| i + 1).ok_or_else(|| {
                format!(
                    "{APPLY}AFTER names unknown column `{}` of {}",
                    c.value, table.id
                )
            })
        }
    }
}

fn add_key(table: &mut TableDef, clause: &[Tok]) -> Result<(), String> {
    let mut toks = vec![keyword("ADD")];
    toks.extend(rewrite::constraint(&clause[1..]));
    // Index options after the key list (ALGORITHM, LOCK, …) do not matter: cut after it.
    if let Some(open) = toks.iter().position(|t| t.token == Token::LParen) {
        if let Some(close) = rewrite::matching_paren(&toks, open) {
            toks.truncate(close + 1);
        }
    }
    match parse_clause(toks)? {
        AlterTableOperation::AddConstraint { constraint, .. } => match constraint {
            TableConstraint::PrimaryKey(pk) => set_primary_key(table, index_columns(&pk.columns)?),
            TableConstraint::Unique(u) if table.primary_key.is_empty() => {
                // Expression key parts make a key ineligible, as in Debezium.
                match index_columns(&u.columns) {
                    Ok(cols) if cols.iter().all(|c| table.column_index(c).is_some()) => {
                        set_primary_key(table, cols)
                    }
                    _ => Ok(()),
                }
            }
            _ => Ok(()),
        },
        _ => Err("expected ADD PRIMARY KEY / UNIQUE".to_string()),
    }
}

fn drop(table: &mut TableDef, clause: &[Tok]) -> Result<(), String> {
    let second = word(clause.get(1)).unwrap_or_default();
    match second.as_str() {
        "PRIMARY" => {
            table.primary_key.clear();
            return Ok(());
        }
        "INDEX" | "KEY" | "FOREIGN" | "CHECK" | "CONSTRAINT" | "PARTITION" | "PERIOD" => {
            return Ok(())
        }
        "SYSTEM" if is_word(clause.get(2), "VERSIONING") => return Ok(()),
        _ => {}
    }
    let (i, if_exists) = skip_column_and_if(clause, 1, false);
    let name = name_or_string(clause.get(i)).ok_or("DROP COLUMN without a column")?;
    if clause.len() > i + 1
        && !(clause.len() == i + 2
            && matches!(
                word(clause.get(i + 1)).as_deref(),
                Some("RESTRICT" | "CASCADE")
            ))
    {
        return Err(format!("unsupported DROP clause `{}`", clause_text(clause)));
    }
    match table.column_index(&name) {
        Some(idx) => {
            let removed = table.columns.remove(idx);
            table
                .primary_key
                .retain(|k| !k.eq_ignore_ascii_case(&removed.name));
            Ok(())
        }
        None if if_exists => Ok(()),
        None => Err(format!(
            "{APPLY}DROP COLUMN names unknown column `{name}` of {}",
            table.id
        )),
    }
}

/// MODIFY [COLUMN] [IF EXISTS] c def, CHANGE [COLUMN] [IF EXISTS] old new def.
fn modify(table: &mut TableDef, clause: &[Tok]) -> Result<(), String> {
    let change = is_word(clause.first(), "CHANGE");
    let (i, if_exists) = skip_column_and_if(clause, 1, false);
    let names = if change { 2 } else { 1 };
    if clause.len() < i + names {
        return Err(format!("incomplete clause `{}`", clause_text(clause)));
    }
    let verb = if change { "CHANGE" } else { "MODIFY" };
    let mut toks = vec![keyword(verb), keyword("COLUMN")];
    toks.extend(clause[i..i + names].iter().cloned());
    let (tail, attrs) = rewrite::column_tail(&clause[i + names..]);
    toks.extend(tail);
    let (old, new, data_type, options, position) = match parse_clause(toks)? {
        AlterTableOperation::ChangeColumn {
            old_name,
            new_name,
            data_type,
            options,
            column_position,
        } => (
            old_name.value,
            new_name.value,
            data_type,
            options,
            column_position,
        ),
        AlterTableOperation::ModifyColumn {
            col_name,
            data_type,
            options,
            column_position,
        } => (
            col_name.value.clone(),
            col_name.value,
            data_type,
            options,
            column_position,
        ),
        _ => return Err(format!("expected {verb} COLUMN")),
    };
    let Some(idx) = table.column_index(&old) else {
        if if_exists {
            return Ok(());
        }
        return Err(format!(
            "{APPLY}{verb} names unknown column `{old}` of {}",
            table.id
        ));
    };
    if !old.eq_ignore_ascii_case(&new) && table.column_index(&new).is_some() {
        return Err(format!(
            "{APPLY}column `{new}` already exists in {}",
            table.id
        ));
    }
    replace_column(table, idx, &new, (&data_type, attrs), &options, position)?;
    for k in table.primary_key.iter_mut() {
        if k.eq_ignore_ascii_case(&old) {
            *k = new.clone();
        }
    }
    Ok(())
}

fn replace_column(
    table: &mut TableDef,
    idx: usize,
    name: &str,
    (data_type, attrs): (&DataType, TypeAttributes),
    options: &[sqlparser::ast::ColumnOption],
    position: Option<MySQLColumnPosition>,
) -> Result<(), String> {
    let option_defs: Vec<ColumnOptionDef> = options
        .iter()
        .map(|o| ColumnOptionDef {
            name: None,
            option: o.clone(),
        })
        .collect();
    let parsed = column::from_parts(name, data_type, &option_defs, attrs);
    let old = table.columns.remove(idx);
    let in_pk = table
        .primary_key
        .iter()
        .any(|k| k.eq_ignore_ascii_case(&old.name));
    let mut def = inherit_charset(parsed.def, table.default_charset.as_deref());
    if in_pk {
        def.nullable = false;
    }
    let at = match position {
        None => idx,
        Some(p) => insert_index(table, Some(&p))?,
    };
    let name = def.name.clone();
    table.columns.insert(at, def);
    if parsed.primary_key || parsed.unique && table.primary_key.is_empty() {
        set_primary_key(table, vec![name])?;
    }
    Ok(())
}

/// ALTER [COLUMN] c {SET DEFAULT v | DROP DEFAULT | SET [IN]VISIBLE}; ALTER {INDEX|CHECK|…}.
fn alter_column(table: &mut TableDef, clause: &[Tok]) -> Result<(), String> {
    let second = word(clause.get(1)).unwrap_or_default();
    if matches!(second.as_str(), "INDEX" | "KEY" | "CHECK" | "CONSTRAINT") {
        return Ok(());
    }
    let i = if second == "COLUMN" { 2 } else { 1 };
    let name = name_or_string(clause.get(i)).ok_or("ALTER COLUMN without a column")?;
    let idx = table.column_index(&name).ok_or_else(|| {
        format!(
            "{APPLY}ALTER COLUMN names unknown column `{name}` of {}",
            table.id
        )
    })?;
    if are_words(clause, i + 1, &["SET", "VISIBLE"])
        || are_words(clause, i + 1, &["SET", "INVISIBLE"])
    {
        return Ok(());
    }
    let mut toks = vec![keyword("ALTER"), keyword("COLUMN"), clause[i].clone()];
    toks.extend(clause[i + 1..].iter().cloned());
    match parse_clause(toks)? {
        AlterTableOperation::AlterColumn { op, .. } => {
            let col = &mut table.columns[idx];
            match op {
                AlterColumnOperation::SetDefault { value } => {
                    let (text, has) = default_text(&value);
                    col.default = text;
                    col.has_default = has;
                }
                AlterColumnOperation::DropDefault => {
                    col.default = None;
                    col.has_default = false;
                }
                other => return Err(format!("unsupported ALTER COLUMN operation `{other}`")),
            }
            Ok(())
        }
        _ => Err("expected ALTER COLUMN".to_string()),
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
