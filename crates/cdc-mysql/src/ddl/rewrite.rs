//! Token rewrites for MySQL/MariaDB column syntax `sqlparser` 0.63 does not parse, applied to a
//! column definition's tokens after its name. Each keeps the meaning the schema needs:
//!
//! - `ZEROFILL` → `UNSIGNED` (ZEROFILL implies UNSIGNED; the display padding is not schema);
//! - `CHARSET x` → `CHARACTER SET x`;
//! - the `BINARY` attribute of character types (`CHAR(3) BINARY`, a binary collation) is dropped;
//! - `SERIAL DEFAULT VALUE` → `NOT NULL AUTO_INCREMENT UNIQUE`;
//! - MariaDB `PERSISTENT` → `STORED`; `COMPRESSED[=method]`, `VISIBLE`/`INVISIBLE`,
//!   `WITH[OUT] SYSTEM VERSIONING`, `COLUMN_FORMAT x`, `STORAGE x` are dropped;
//! - `NATIONAL CHAR`/`NATIONAL CHARACTER` → `NCHAR`, `NATIONAL VARCHAR` → `NVARCHAR`,
//!   `LONG VARCHAR`/`LONG` → `MEDIUMTEXT`, `LONG VARBINARY` → `MEDIUMBLOB`.

use sqlparser::tokenizer::Token;

use super::model::TypeAttributes;
use super::tokens::{is_word, keyword, word, Tok};

const CHAR_TYPES: &[&str] = &[
    "CHAR",
    "VARCHAR",
    "TEXT",
    "TINYTEXT",
    "MEDIUMTEXT",
    "LONGTEXT",
    "CHARACTER",
    "NCHAR",
    "NVARCHAR",
];

/// Rewrites one column definition's tokens after the column name; returns the attributes the
/// rewrite removed or `sqlparser` drops.
pub(crate) fn column_tail(tokens: &[Tok]) -> (Vec<Tok>, TypeAttributes) {
    let mut attrs = TypeAttributes::default();
    let mut out: Vec<Tok> = Vec::with_capacity(tokens.len());
    let mut i = 0;
    let mut depth = 0i32;
    while i < tokens.len() {
        let t = &tokens[i];
        match &t.token {
            Token::LParen => depth += 1,
            Token::RParen => depth -= 1,
            _ => {}
        }
        let w = if depth == 0 { word(Some(t)) } else { None };
        let next = tokens.get(i + 1);
        match w.as_deref() {
            Some("SIGNED") => {
                attrs.signed = true;
                out.push(t.clone());
                i += 1;
            }
            Some("UNSIGNED") => {
                attrs.signed = false;
                out.push(t.clone());
                i += 1;
            }
            Some("ZEROFILL") => {
                attrs.zerofill = true;
                if !out.last().is_some_and(|p| is_word(Some(p), "UNSIGNED")) {
                    out.push(keyword("UNSIGNED"));
                }
                i += 1;
            }
            Some("CHARSET") => {
                out.push(keyword("CHARACTER"));
                out.push(keyword("SET"));
                i += 1;
            }
            Some("BINARY")
                if i > 0
                    && !matches!(next.map(|t| &t.token), Some(Token::LParen))
                    && (matches!(out.last().map(|t| &t.token), Some(Token::RParen))
                        || word(out.last()).is_some_and(|p| CHAR_TYPES.contains(&p.as_str()))
                        || out.len() >= 3
                            && is_word(out.get(out.len() - 3), "CHARACTER")
                            && is_word(out.get(out.len() - 2), "SET")) =>
            {
                attrs.binary = true;
                i += 1;
            }
            Some("SERIAL") if is_word(next, "DEFAULT") && is_word(tokens.get(i + 2), "VALUE") => {
                out.extend(["NOT", "NULL", "AUTO_INCREMENT", "UNIQUE"].map(keyword));
                i += 3;
            }
            Some("PERSISTENT") => {
                out.push(keyword("STORED"));
                i += 1;
            }
            Some("COMPRESSED") => {
                i += 1;
                if matches!(tokens.get(i).map(|t| &t.token), Some(Token::Eq)) {
                    i += 2;
                }
            }
            Some("VISIBLE") | Some("INVISIBLE") => i += 1,
            Some("WITH") | Some("WITHOUT")
                if is_word(next, "SYSTEM") && is_word(tokens.get(i + 2), "VERSIONING") =>
            {
                i += 3
            }
            Some("COLUMN_FORMAT") | Some("STORAGE") => i += 2,
            Some("NATIONAL") if is_word(next, "VARCHAR") => {
                out.push(keyword("NVARCHAR"));
                i += 2;
            }
            Some("NATIONAL") if is_word(next, "CHAR") || is_word(next, "CHARACTER") => {
                if is_word(tokens.get(i + 2), "VARYING") {
                    out.push(keyword("NVARCHAR"));
                    i += 3;
                } else {
                    out.push(keyword("NCHAR"));
                    i += 2;
                }
            }
            Some("LONG") if out.is_empty() => {
                if is_word(next, "VARBINARY") {
                    out.push(keyword("MEDIUMBLOB"));
                    i += 2;
                } else {
                    out.push(keyword("MEDIUMTEXT"));
                    i += if is_word(next, "VARCHAR") { 2 } else { 1 };
                }
            }
            _ => {
                out.push(t.clone());
                i += 1;
            }
        }
    }
    (out, attrs)
}

/// Drops index attributes `sqlparser` does not know (`VISIBLE`, `INVISIBLE`) from a table
/// constraint's tokens.
pub(crate) fn constraint(tokens: &[Tok]) -> Vec<Tok> {
    tokens
        .iter()
        .filter(|t| !is_word(Some(t), "VISIBLE") && !is_word(Some(t), "INVISIBLE"))
        .cloned()
        .collect()
}

/// Words that open a table constraint (rather than a column) in a definition list.
pub(crate) fn starts_constraint(tokens: &[Tok]) -> bool {
    matches!(
        word(tokens.first()).as_deref(),
        Some(
            "PRIMARY"
                | "UNIQUE"
                | "KEY"
                | "INDEX"
                | "FULLTEXT"
                | "SPATIAL"
                | "CONSTRAINT"
                | "FOREIGN"
                | "CHECK"
                | "PERIOD"
        )
    )
}

/// Splits a token run at commas outside parentheses.
pub(crate) fn split_commas(tokens: &[Tok]) -> Vec<&[Tok]> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, t) in tokens.iter().enumerate() {
        match t.token {
            Token::LParen => depth += 1,
            Token::RParen => depth -= 1,
            Token::Comma if depth == 0 => {
                parts.push(&tokens[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&tokens[start..]);
    parts
}

/// Index of the parenthesis closing the one at `open`.
pub(crate) fn matching_paren(tokens: &[Tok], open: usize) -> Option<usize> {
    let mut depth = 0i32;
    for (i, t) in tokens.iter().enumerate().skip(open) {
        match t.token {
            Token::LParen => depth += 1,
            Token::RParen => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Type attributes per column name, from [`definition_list`].
pub(crate) type ColumnAttributes = Vec<(String, TypeAttributes)>;

/// The attributes recorded for column `name`.
pub(crate) fn attributes_of(attrs: &ColumnAttributes, name: &str) -> TypeAttributes {
    attrs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, a)| *a)
        .unwrap_or_default()
}

/// Rewrites a parenthesized definition list (`( col …, constraint …, … )`, both parentheses
/// included): each column's tail by [`column_tail`], each constraint by [`constraint`].
pub(crate) fn definition_list(tokens: &[Tok]) -> (Vec<Tok>, ColumnAttributes) {
    let mut attrs = Vec::new();
    let inner = match tokens {
        [first, inner @ .., last]
            if first.token == Token::LParen && last.token == Token::RParen =>
        {
            inner
        }
        _ => return (tokens.to_vec(), attrs),
    };
    let mut out = vec![tokens[0].clone()];
    for (n, def) in split_commas(inner).into_iter().enumerate() {
        if n > 0 {
            out.push(Tok::wrap(Token::Comma));
        }
        if starts_constraint(def) {
            out.extend(constraint(def));
        } else if let Some((name, tail)) = def.split_first() {
            out.push(name.clone());
            let (tail, a) = column_tail(tail);
            out.extend(tail);
            if let Token::Word(w) = &name.token {
                attrs.push((w.value.clone(), a));
            }
        }
    }
    out.push(tokens[tokens.len() - 1].clone());
    (out, attrs)
}

/// Table-level options the schema keeps: character set, collation, comment.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct TableOptions {
    pub charset: Option<String>,
    pub collation: Option<String>,
    pub comment: Option<String>,
}

/// Reads `[DEFAULT] {CHARACTER SET|CHARSET} [=] x`, `[DEFAULT] COLLATE [=] x` and
/// `COMMENT [=] 'text'` from table or database options; other options are skipped.
pub(crate) fn table_options(tokens: &[Tok]) -> TableOptions {
    let mut opts = TableOptions::default();
    let mut i = 0;
    let value_at = |mut j: usize| -> (Option<String>, usize) {
        if matches!(tokens.get(j).map(|t| &t.token), Some(Token::Eq)) {
            j += 1;
        }
        (super::tokens::name_or_string(tokens.get(j)), j + 1)
    };
    while i < tokens.len() {
        let w = word(tokens.get(i));
        match w.as_deref() {
            Some("CHARACTER") if is_word(tokens.get(i + 1), "SET") => {
                let (v, next) = value_at(i + 2);
                opts.charset = v;
                i = next;
            }
            Some("CHARSET") => {
                let (v, next) = value_at(i + 1);
                opts.charset = v;
                i = next;
            }
            Some("COLLATE") => {
                let (v, next) = value_at(i + 1);
                opts.collation = v;
                i = next;
            }
            Some("COMMENT") => {
                let (v, next) = value_at(i + 1);
                opts.comment = v;
                i = next;
            }
            _ => i += 1,
        }
    }
    opts
}

/// The character set a collation belongs to, as Debezium infers it (the part before the
/// first `_`): `utf8mb4_bin` → `utf8mb4`.
pub(crate) fn charset_of_collation(collation: &str) -> Option<String> {
    match collation.find('_') {
        Some(i) if i > 0 => Some(collation[..i].to_string()),
        _ => None,
    }
}
