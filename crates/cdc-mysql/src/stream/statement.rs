//! What a Query event's statement is, as far as the stream cares: transaction control that
//! carries no schema change, data changes written as statements (which the stream refuses),
//! or anything else (handed to the schema tracker).

/// The class of a Query event's statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Statement {
    /// `XA START` / `XA BEGIN`: an XA transaction's first statement (it ends at XA_PREPARE).
    XaStart,
    /// `XA …`, `SAVEPOINT …`, `ROLLBACK TO [SAVEPOINT] …`, `RELEASE SAVEPOINT …`: part of a
    /// transaction, no schema or row effect of their own.
    TransactionControl,
    /// `ROLLBACK`: a logged transaction undone (non-transactional tables were mixed in).
    Rollback,
    /// Statements Amazon RDS writes into `mysql.rds_heartbeat2`, `rds_sysinfo` and
    /// `rds_monitor` as text (Debezium's default `schema.history.internal.ddl.filter` drops
    /// them): no captured data, skipped.
    RdsHousekeeping,
    /// INSERT / UPDATE / DELETE / REPLACE / LOAD DATA as text: a session writes statement-based
    /// binlog, whose rows never appear as row images.
    DataChange,
    /// Anything else: DDL, or statements without schema effect (the tracker decides).
    Other,
}

/// Classifies `sql` by its leading keywords (after comments and MariaDB's
/// `SET STATEMENT … FOR`).
pub(crate) fn classify(sql: &str) -> Statement {
    let words = leading_words(sql, 4);
    let word = |i: usize| words.get(i).map(String::as_str).unwrap_or_default();
    match word(0) {
        "XA" if matches!(word(1), "START" | "BEGIN") => Statement::XaStart,
        "XA" | "SAVEPOINT" | "RELEASE" => Statement::TransactionControl,
        "ROLLBACK" if word(1) == "TO" => Statement::TransactionControl,
        "ROLLBACK" => Statement::Rollback,
        "INSERT" | "DELETE" if rds_table(&words) => Statement::RdsHousekeeping,
        "INSERT" | "UPDATE" | "DELETE" | "REPLACE" | "LOAD" => Statement::DataChange,
        "SET" if word(1) == "STATEMENT" => match for_clause(sql) {
            Some(rest) => classify(rest),
            None => Statement::Other,
        },
        _ => Statement::Other,
    }
}

/// `sql` without MariaDB's `SET STATEMENT var=value[, …] FOR` prefix (the schema tracker does
/// not read it; the statement after it is what changes the schema).
pub(crate) fn without_set_statement(sql: &str) -> &str {
    let words = leading_words(sql, 2);
    if words.first().map(String::as_str) == Some("SET")
        && words.get(1).map(String::as_str) == Some("STATEMENT")
    {
        if let Some(rest) = for_clause(sql) {
            return rest.trim_start();
        }
    }
    sql
}

/// Whether `INSERT INTO` / `DELETE FROM` targets one of RDS's housekeeping tables.
fn rds_table(words: &[String]) -> bool {
    let table = match words.get(2).map(String::as_str) {
        Some("MYSQL") => words.get(3),
        _ => words.get(2),
    };
    matches!(words.get(1).map(String::as_str), Some("INTO" | "FROM"))
        && table
            .is_some_and(|t| matches!(t.as_str(), "RDS_HEARTBEAT2" | "RDS_SYSINFO" | "RDS_MONITOR"))
}

/// The first `n` words of `sql`, upper-cased (a `.` or backquote between words separates them), skipping `/* … */`, `-- …` and `# …` comments
/// (MySQL executable comments `/*! … */` are skipped too: they never start a DML statement).
fn leading_words(sql: &str, n: usize) -> Vec<String> {
    let mut words = Vec::new();
    let mut rest = sql;
    while words.len() < n {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix("/*") {
            rest = after.find("*/").map_or("", |end| &after[end + 2..]);
        } else if rest.starts_with("-- ") || rest.starts_with('#') {
            rest = rest.find('\n').map_or("", |end| &rest[end + 1..]);
        } else if let Some(after) = rest.strip_prefix(['.', '`']) {
            rest = after;
        } else {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            if end == 0 {
                break;
            }
            words.push(rest[..end].to_ascii_uppercase());
            rest = &rest[end..];
        }
    }
    words
}

/// The statement after `SET STATEMENT var=value[, …] FOR`, found as the first ` FOR ` word
/// outside quotes.
fn for_clause(sql: &str) -> Option<&str> {
    let bytes = sql.as_bytes();
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if matches!(b, b'\'' | b'"' | b'`') => quote = Some(b),
            None => {
                let boundary_before = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
                let word = sql
                    .get(i..i + 3)
                    .is_some_and(|w| w.eq_ignore_ascii_case("FOR"));
                let boundary_after = bytes.get(i + 3).is_none_or(|c| !c.is_ascii_alphanumeric());
                if boundary_before && word && boundary_after {
                    return sql.get(i + 3..);
                }
            }
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_statement_prefixes_are_removed() {
        assert_eq!(
            without_set_statement(
                "SET STATEMENT max_statement_time=60 FOR ALTER TABLE t ADD c INT"
            ),
            "ALTER TABLE t ADD c INT"
        );
        assert_eq!(
            without_set_statement("set statement a='for', b=1 for  DROP TABLE t"),
            "DROP TABLE t"
        );
        assert_eq!(without_set_statement("SET @a = 1"), "SET @a = 1");
        assert_eq!(
            without_set_statement("ALTER TABLE t FORCE"),
            "ALTER TABLE t FORCE"
        );
    }

    #[test]
    fn statements_are_classified_by_their_leading_keywords() {
        use Statement::*;
        for (sql, class) in [
            ("XA START 'x'", XaStart),
            ("XA COMMIT 'x'", TransactionControl),
            ("SAVEPOINT s1", TransactionControl),
            ("rollback to savepoint s1", TransactionControl),
            ("ROLLBACK", Rollback),
            ("insert into t values (1)", DataChange),
            (
                "/* pt-table-checksum */ REPLACE INTO c SELECT 1",
                DataChange,
            ),
            ("  -- note\nUPDATE t SET a = 1", DataChange),
            (
                "SET STATEMENT max_statement_time=60 FOR DELETE FROM t",
                DataChange,
            ),
            (
                "SET STATEMENT sql_mode='FOR' FOR CREATE TABLE t (a INT)",
                Other,
            ),
            ("CREATE TABLE t (a INT)", Other),
            ("/*!40000 ALTER TABLE t DISABLE KEYS */", Other),
            ("ALTER TABLE t ADD COLUMN `update` INT", Other),
            ("", Other),
            (
                "INSERT INTO mysql.rds_heartbeat2(id, value) values (1,1510678117058) \
                 ON DUPLICATE KEY UPDATE value = 1510678117058",
                RdsHousekeeping,
            ),
            (
                "DELETE FROM `mysql`.`rds_sysinfo` where name = 'x'",
                RdsHousekeeping,
            ),
            (
                "SET STATEMENT max_statement_time=60 FOR INSERT INTO rds_monitor(id) values (1)",
                RdsHousekeeping,
            ),
            ("INSERT INTO mysql.user_data VALUES (1)", DataChange),
            ("INSERT INTO shop.rds_heartbeat2 VALUES (1)", DataChange),
        ] {
            assert_eq!(classify(sql), class, "{sql}");
        }
    }
}
