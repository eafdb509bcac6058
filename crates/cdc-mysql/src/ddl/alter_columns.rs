//! ALTER TABLE clauses on columns and keys: ADD/DROP/MODIFY/CHANGE/ALTER COLUMN, ADD/DROP
//! PRIMARY KEY and UNIQUE keys. Column definitions go to `sqlparser` after the column rewrites.

use sqlparser::ast::{
    AlterColumnOperation, AlterTableOperation, ColumnOptionDef, DataType, MySQLColumnPosition,
    Statement, TableConstraint,
};
use sqlparser::tokenizer::Token;

use super::alter::{clause_text, parse_clause};
use super::column::{self, default_text, index_columns, inherit_charset, set_primary_key};
use super::model::{TableDef, TypeAttributes};
use super::rewrite;
use super::schemas::APPLY;
use super::tokens::{are_words, is_word, keyword, name_or_string, parse_with, word, Tok};

/// `[COLUMN]` and `IF [NOT] EXISTS` after the clause's verb: (index after them, if-flag).
pub(super) fn skip_column_and_if(clause: &[Tok], mut i: usize, not: bool) -> (usize, bool) {
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

pub(super) fn add(table: &mut TableDef, clause: &[Tok]) -> Result<(), String> {
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

pub(super) fn add_column(
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

pub(super) fn insert_index(
    table: &TableDef,
    position: Option<&MySQLColumnPosition>,
) -> Result<usize, String> {
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

pub(super) fn add_key(table: &mut TableDef, clause: &[Tok]) -> Result<(), String> {
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

pub(super) fn drop(table: &mut TableDef, clause: &[Tok]) -> Result<(), String> {
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
pub(super) fn modify(table: &mut TableDef, clause: &[Tok]) -> Result<(), String> {
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

pub(super) fn replace_column(
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
pub(super) fn alter_column(table: &mut TableDef, clause: &[Tok]) -> Result<(), String> {
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
