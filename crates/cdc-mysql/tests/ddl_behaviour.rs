//! Tracker behaviour beyond single statements: skipping unparseable DDL, atomic ALTER TABLE,
//! several statements in one Query event, executable-comment versions, error messages.

use cdc_mysql::ddl::{ChangeKind, DdlError, DdlOptions, Schemas, ServerVersion};

fn columns(s: &Schemas, db: &str, t: &str) -> Vec<String> {
    s.table(db, t)
        .unwrap()
        .columns
        .iter()
        .map(|c| c.name.clone())
        .collect()
}

#[test]
fn skip_unparseable_warns_and_continues() {
    let sql =
        "CREATE TABLE a (x INT); CREATE TABLE b (y INT NOT NULL DEFAULT; CREATE TABLE c (z INT)";
    let err = Schemas::new(DdlOptions::default())
        .apply(sql, Some("db"))
        .unwrap_err();
    assert!(matches!(err, DdlError::Parse { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("CREATE TABLE b (y INT NOT NULL DEFAULT"),
        "{err}"
    );

    let mut s = Schemas::new(DdlOptions {
        skip_unparseable: true,
        ..Default::default()
    });
    let changes = s.apply(sql, Some("db")).unwrap();
    assert_eq!(changes.len(), 2);
    assert!(s.table("db", "a").is_some() && s.table("db", "c").is_some());
    assert!(s.table("db", "b").is_none());
    // Unknown tables are skipped too (tracking that started mid-stream).
    assert!(s
        .apply("ALTER TABLE nope ADD COLUMN q INT", Some("db"))
        .unwrap()
        .is_empty());
}

#[test]
fn failed_alter_changes_nothing() {
    let mut s = Schemas::new(DdlOptions::default());
    s.apply("CREATE TABLE t (a INT, b INT)", Some("db"))
        .unwrap();
    let before = s.table("db", "t").unwrap().clone();
    let err = s
        .apply(
            "ALTER TABLE t ADD COLUMN c INT, DROP COLUMN a, ADD COLUMN c INT",
            Some("db"),
        )
        .unwrap_err();
    assert!(matches!(err, DdlError::Apply { .. }), "{err}");
    assert!(
        err.to_string().contains("`c` already exists in db.t"),
        "{err}"
    );
    assert_eq!(s.table("db", "t").unwrap(), &before);
}

#[test]
fn statements_in_one_event_apply_in_order_with_use() {
    let mut s = Schemas::new(DdlOptions::default());
    let changes = s
        .apply(
            "CREATE DATABASE d1; USE d1; CREATE TABLE t (a INT); ALTER TABLE t ADD b INT FIRST;",
            None,
        )
        .unwrap();
    assert_eq!(changes.len(), 4);
    assert_eq!(changes[1].ddl, "USE d1");
    assert!(matches!(changes[3].kind, ChangeKind::AlterTable { .. }));
    assert_eq!(columns(&s, "d1", "t"), ["b", "a"]);
    assert_eq!(
        s.table("d1", "t")
            .unwrap()
            .columns
            .iter()
            .map(|c| c.position)
            .collect::<Vec<_>>(),
        [1, 2]
    );
}

#[test]
fn executable_comment_versions_follow_the_server() {
    let sql = "CREATE TABLE t (a INT /*!80023 INVISIBLE */, b INT) /*M!100100 PAGE_CHECKSUM=1 */";
    for server in [
        ServerVersion::mysql(5, 7, 44),
        ServerVersion::mysql(8, 0, 36),
        ServerVersion::mariadb(10, 6, 0),
    ] {
        let mut s = Schemas::new(DdlOptions {
            server,
            ..Default::default()
        });
        s.apply(sql, Some("db")).unwrap();
        assert_eq!(columns(&s, "db", "t"), ["a", "b"]);
    }
    // A version-gated column exists only where the server runs the comment.
    let sql = "CREATE TABLE t (a INT /*!80000 , b INT */)";
    let mut old = Schemas::new(DdlOptions {
        server: ServerVersion::mysql(5, 7, 44),
        ..Default::default()
    });
    old.apply(sql, Some("db")).unwrap();
    assert_eq!(columns(&old, "db", "t"), ["a"]);
    let mut new = Schemas::new(DdlOptions::default());
    new.apply(sql, Some("db")).unwrap();
    assert_eq!(columns(&new, "db", "t"), ["a", "b"]);
}

#[test]
fn long_statements_are_truncated_in_errors() {
    let sql = format!(
        "CREATE TABLE t (a INT, {} b INT NOT NULL DEFAULT",
        "c INT, ".repeat(200)
    );
    let err = Schemas::new(DdlOptions::default())
        .apply(&sql, Some("db"))
        .unwrap_err()
        .to_string();
    assert!(err.len() < 500, "{}", err.len());
    assert!(err.contains('…'));
}

#[test]
fn garbage_never_panics() {
    let pieces = [
        "CREATE",
        "ALTER",
        "TABLE",
        "DROP",
        "ADD",
        "COLUMN",
        "(",
        ")",
        ",",
        ";",
        "'",
        "`",
        "\"",
        "/*!",
        "*/",
        "/*M!",
        "--",
        "#",
        "\n",
        "IF",
        "EXISTS",
        "NOT",
        "PRIMARY",
        "KEY",
        "t",
        "db.t",
        "INT",
        "ENUM('a'",
        "DEFAULT",
        "CHANGE",
        "MODIFY",
        "RENAME",
        "TO",
        "CONVERT",
        "CHARSET",
        "FIRST",
        "AFTER",
        "LIKE",
        "USE",
        "DATABASE",
        "=",
        "x",
        "12",
        "SERIAL",
        "BINARY",
        "ZEROFILL",
        "PARTITION",
        "BY",
        "SELECT",
        "BEGIN",
        "END",
        "é",
        "\\",
    ];
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut s = Schemas::new(DdlOptions::default());
    s.apply("CREATE TABLE t (a INT PRIMARY KEY, b INT)", Some("db"))
        .unwrap();
    for _ in 0..20_000 {
        let mut sql = String::new();
        let n = (state % 12) as usize + 1;
        for _ in 0..n {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            sql.push_str(pieces[(state % pieces.len() as u64) as usize]);
            sql.push(' ');
        }
        let _ = s.clone().apply(&sql, Some("db"));
        let _ = s.clone().apply(&format!("ALTER TABLE t {sql}"), Some("db"));
        let _ = s
            .clone()
            .apply(&format!("CREATE TABLE u ({sql})"), Some("db"));
    }
}

#[test]
fn expression_keys_do_not_stand_in_for_a_primary_key() {
    let mut s = Schemas::new(DdlOptions::default());
    s.apply(
        "CREATE TABLE t (a VARCHAR(10) NOT NULL, b INT NOT NULL, UNIQUE KEY ua ((lower(a))), UNIQUE KEY ub (b), KEY k ((b + 1)))",
        Some("db"),
    )
    .unwrap();
    assert_eq!(s.table("db", "t").unwrap().primary_key, ["b"]);
    s.apply("CREATE TABLE u (a INT NOT NULL)", Some("db"))
        .unwrap();
    s.apply("CREATE UNIQUE INDEX x ON u ((a * 2))", Some("db"))
        .unwrap();
    s.apply("ALTER TABLE u ADD UNIQUE KEY y ((a + 1))", Some("db"))
        .unwrap();
    assert!(s.table("db", "u").unwrap().primary_key.is_empty());
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep_parens = format!(
        "CREATE TABLE t (a INT DEFAULT {}1{})",
        "(".repeat(5000),
        ")".repeat(5000)
    );
    let deep_minus = format!("CREATE TABLE t (a INT DEFAULT {}1)", "- ".repeat(5000));
    let deep_alter = format!(
        "ALTER TABLE t ADD COLUMN b INT DEFAULT {}",
        "(".repeat(20000)
    );
    let mut s = Schemas::new(DdlOptions::default());
    s.apply("CREATE TABLE t (a INT)", Some("db")).unwrap();
    for sql in [deep_parens, deep_minus, deep_alter] {
        assert!(s.clone().apply(&sql, Some("db")).is_err());
    }
}
