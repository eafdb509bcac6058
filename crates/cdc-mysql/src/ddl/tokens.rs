//! Tokens: tokenizing with `sqlparser`'s MySQL dialect, splitting a Query event's text into
//! statements, classifying statements by their leading words, and handing token runs to
//! `sqlparser`'s parser.

use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Location, Token, TokenWithSpan, Tokenizer};

pub(crate) type Tok = TokenWithSpan;

/// The significant tokens of `sql` (whitespace and comments dropped).
pub(crate) fn tokenize(sql: &str) -> Result<Vec<Tok>, String> {
    let dialect = MySqlDialect {};
    let tokens = Tokenizer::new(&dialect, sql)
        .tokenize_with_location()
        .map_err(|e| e.to_string())?;
    Ok(tokens
        .into_iter()
        .filter(|t| !matches!(t.token, Token::Whitespace(_)))
        .collect())
}

/// The upper-cased text of an unquoted word.
pub(crate) fn word(tok: Option<&Tok>) -> Option<String> {
    match tok.map(|t| &t.token) {
        Some(Token::Word(w)) if w.quote_style.is_none() => Some(w.value.to_ascii_uppercase()),
        _ => None,
    }
}

/// Whether `tok` is the unquoted word `upper` (given in upper case).
pub(crate) fn is_word(tok: Option<&Tok>, upper: &str) -> bool {
    matches!(tok.map(|t| &t.token), Some(Token::Word(w)) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(upper))
}

/// Whether the tokens from `at` are the unquoted words `words`.
pub(crate) fn are_words(tokens: &[Tok], at: usize, words: &[&str]) -> bool {
    words
        .iter()
        .enumerate()
        .all(|(i, w)| is_word(tokens.get(at + i), w))
}

/// A synthetic keyword token.
pub(crate) fn keyword(upper: &str) -> Tok {
    Tok::wrap(Token::make_keyword(upper))
}

/// An identifier or literal value as text: a word (quoted or not) or a string literal.
pub(crate) fn name_or_string(tok: Option<&Tok>) -> Option<String> {
    match tok.map(|t| &t.token) {
        Some(Token::Word(w)) => Some(w.value.clone()),
        Some(Token::SingleQuotedString(s)) | Some(Token::DoubleQuotedString(s)) => Some(s.clone()),
        _ => None,
    }
}

/// Runs `f` over `tokens` with a MySQL-dialect parser and requires it to consume them all.
pub(crate) fn parse_with<T>(
    tokens: &[Tok],
    f: impl FnOnce(&mut Parser) -> Result<T, ParserError>,
) -> Result<T, String> {
    let dialect = MySqlDialect {};
    let mut parser = Parser::new(&dialect).with_tokens_with_locations(tokens.to_vec());
    let value = f(&mut parser).map_err(|e| e.to_string())?;
    let next = parser.peek_token();
    match next.token {
        Token::EOF | Token::SemiColon => Ok(value),
        other => Err(format!("unexpected `{other}`{}", next.span.start)),
    }
}

/// What a statement is, from its leading words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    CreateTable,
    AlterTable,
    DropTable,
    RenameTable,
    Truncate,
    CreateUniqueIndex,
    CreateDatabase,
    AlterDatabase,
    DropDatabase,
    Use,
    /// CREATE/DROP TEMPORARY TABLE: temporary tables never reach row events.
    Temporary,
    /// Stored programs (procedure, function, trigger, event, `BEGIN NOT ATOMIC`): their bodies
    /// hold `;`, so they run to the end of the text, and they never change table schemas.
    Compound,
    /// Statements that never change table schemas.
    NoSchemaChange,
    /// Anything else: `sqlparser` decides.
    Other,
}

const NO_SCHEMA_CHANGE: &[&str] = &[
    "START",
    "COMMIT",
    "ROLLBACK",
    "SAVEPOINT",
    "RELEASE",
    "XA",
    "SET",
    "FLUSH",
    "GRANT",
    "REVOKE",
    "ANALYZE",
    "OPTIMIZE",
    "REPAIR",
    "CHECK",
    "CHECKSUM",
    "INSTALL",
    "UNINSTALL",
    "LOCK",
    "UNLOCK",
    "INSERT",
    "UPDATE",
    "DELETE",
    "REPLACE",
    "CALL",
    "DO",
    "SHOW",
    "SELECT",
    "WITH",
    "PURGE",
    "RESET",
    "CHANGE",
    "LOAD",
    "HANDLER",
    "KILL",
    "SHUTDOWN",
    "HELP",
    "DESCRIBE",
    "DESC",
    "EXPLAIN",
    "PREPARE",
    "EXECUTE",
    "DEALLOCATE",
    "SIGNAL",
    "RESIGNAL",
    "GET",
    "BINLOG",
    "CACHE",
    "CLONE",
    "STOP",
    "RESTART",
    "BACKUP",
    "VALUES",
];

const CREATE_OBJECTS: &[&str] = &[
    "TABLE",
    "TEMPORARY",
    "DATABASE",
    "SCHEMA",
    "INDEX",
    "UNIQUE",
    "FULLTEXT",
    "SPATIAL",
    "VIEW",
    "TRIGGER",
    "PROCEDURE",
    "FUNCTION",
    "EVENT",
    "USER",
    "ROLE",
    "SERVER",
    "TABLESPACE",
    "LOGFILE",
    "SEQUENCE",
    "PACKAGE",
    "RESOURCE",
    "SYNONYM",
];

impl Kind {
    pub(crate) fn of(tokens: &[Tok]) -> Kind {
        let first = word(tokens.first()).unwrap_or_default();
        let nth = |i: usize| word(tokens.get(i)).unwrap_or_default();
        match first.as_str() {
            "CREATE" => {
                let object = tokens
                    .iter()
                    .skip(1)
                    .take(64)
                    .filter_map(|t| word(Some(t)))
                    .find(|w| CREATE_OBJECTS.contains(&w.as_str()))
                    .unwrap_or_default();
                match object.as_str() {
                    "TABLE" => Kind::CreateTable,
                    "TEMPORARY" => Kind::Temporary,
                    "DATABASE" | "SCHEMA" => Kind::CreateDatabase,
                    "UNIQUE" => Kind::CreateUniqueIndex,
                    "TRIGGER" | "PROCEDURE" | "FUNCTION" | "EVENT" | "PACKAGE" => Kind::Compound,
                    "" => Kind::Other,
                    _ => Kind::NoSchemaChange,
                }
            }
            "ALTER" => {
                let mut i = 1;
                while matches!(nth(i).as_str(), "ONLINE" | "OFFLINE" | "IGNORE") {
                    i += 1;
                }
                match nth(i).as_str() {
                    "TABLE" => Kind::AlterTable,
                    "DATABASE" | "SCHEMA" => Kind::AlterDatabase,
                    "" => Kind::Other,
                    _ if tokens.iter().any(|t| is_word(Some(t), "EVENT")) => Kind::Compound,
                    _ => Kind::NoSchemaChange,
                }
            }
            "DROP" => match nth(1).as_str() {
                "TABLE" | "TABLES" => Kind::DropTable,
                "TEMPORARY" => Kind::Temporary,
                "DATABASE" | "SCHEMA" => Kind::DropDatabase,
                "" => Kind::Other,
                _ => Kind::NoSchemaChange,
            },
            "RENAME" => match nth(1).as_str() {
                "TABLE" | "TABLES" => Kind::RenameTable,
                _ => Kind::NoSchemaChange,
            },
            "TRUNCATE" => Kind::Truncate,
            "USE" => Kind::Use,
            "BEGIN" => match nth(1).as_str() {
                "" | "WORK" => Kind::NoSchemaChange,
                _ if tokens.len() == 1 => Kind::NoSchemaChange,
                _ => Kind::Compound,
            },
            w if NO_SCHEMA_CHANGE.contains(&w) => Kind::NoSchemaChange,
            _ => Kind::Other,
        }
    }
}

/// One statement: its tokens (without the closing `;`) and text.
#[derive(Debug)]
pub(crate) struct Statement {
    pub tokens: Vec<Tok>,
    pub text: String,
    pub kind: Kind,
}

/// Splits tokenized text into statements at `;` (a stored program takes the rest of the text).
pub(crate) fn split_statements(source: &str, tokens: Vec<Tok>) -> Vec<Statement> {
    let lines = LineIndex::new(source);
    let mut out = Vec::new();
    let mut rest = tokens.as_slice();
    loop {
        while let Some(Token::SemiColon) = rest.first().map(|t| &t.token) {
            rest = &rest[1..];
        }
        if rest.is_empty() {
            break;
        }
        let kind = Kind::of(rest);
        let end = if kind == Kind::Compound {
            rest.len()
        } else {
            rest.iter()
                .position(|t| t.token == Token::SemiColon)
                .unwrap_or(rest.len())
        };
        let stmt = &rest[..end];
        let text = match (stmt.first(), stmt.last()) {
            (Some(a), Some(b)) => lines.slice(source, a.span.start, b.span.end),
            _ => None,
        };
        out.push(Statement {
            tokens: stmt.to_vec(),
            text: text.unwrap_or_default().trim().to_string(),
            kind,
        });
        rest = &rest[end..];
    }
    out
}

/// Byte offsets of line starts, to turn token locations back into source text.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(source: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(source.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    fn offset(&self, source: &str, loc: Location) -> Option<usize> {
        let line = usize::try_from(loc.line).ok()?.checked_sub(1)?;
        let start = *self.starts.get(line)?;
        let col = usize::try_from(loc.column).ok()?.checked_sub(1)?;
        let line_text = source.get(start..)?;
        match line_text.char_indices().nth(col) {
            Some((i, _)) => Some(start + i),
            None => Some(source.len()),
        }
    }

    fn slice(&self, source: &str, from: Location, to: Location) -> Option<String> {
        let a = self.offset(source, from)?;
        let b = self.offset(source, to)?;
        source.get(a..b.max(a)).map(str::to_string)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(sql: &str) -> Vec<(Kind, String)> {
        split_statements(sql, tokenize(sql).unwrap())
            .into_iter()
            .map(|s| (s.kind, s.text))
            .collect()
    }

    #[test]
    fn splits_and_classifies() {
        let got = split("USE db;\nCREATE TABLE `t;x` (a INT COMMENT 'a;b');; DROP TABLE t");
        assert_eq!(
            got,
            vec![
                (Kind::Use, "USE db".to_string()),
                (
                    Kind::CreateTable,
                    "CREATE TABLE `t;x` (a INT COMMENT 'a;b')".to_string()
                ),
                (Kind::DropTable, "DROP TABLE t".to_string()),
            ]
        );
        let got = split("CREATE DEFINER=`root`@`%` PROCEDURE p() BEGIN SELECT 1; SELECT 2; END");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, Kind::Compound);
        assert_eq!(split("BEGIN")[0].0, Kind::NoSchemaChange);
        assert_eq!(
            split("CREATE OR REPLACE TABLE t (a int)")[0].0,
            Kind::CreateTable
        );
        assert_eq!(
            split("CREATE UNIQUE INDEX i ON t (a)")[0].0,
            Kind::CreateUniqueIndex
        );
        assert_eq!(split("CREATE ALGORITHM=UNDEFINED DEFINER=`a`@`b` SQL SECURITY DEFINER VIEW v AS SELECT 1")[0].0, Kind::NoSchemaChange);
        assert_eq!(
            split("ALTER ONLINE IGNORE TABLE t ADD c INT")[0].0,
            Kind::AlterTable
        );
        assert_eq!(
            split("DROP TEMPORARY TABLE IF EXISTS t")[0].0,
            Kind::Temporary
        );
    }

    #[test]
    fn multibyte_text_is_sliced_by_characters() {
        let got = split("CREATE TABLE t (a INT COMMENT 'é€'); DROP TABLE `ü`");
        assert_eq!(got[0].1, "CREATE TABLE t (a INT COMMENT 'é€')");
        assert_eq!(got[1].1, "DROP TABLE `ü`");
    }
}
