//! Golden DDL fixtures: `tests/golden/ddl/<name>.sql` holds Query events separated by lines
//! `-- event` (optionally `-- event db=<default database>`); `<name>.json` holds, per event, the
//! changes the tracker reports (table changes in Debezium's history layout). Regenerate with
//! `UPDATE_GOLDEN=1 cargo test -p cdc-mysql --test ddl_golden` and review the diff.

use std::path::{Path, PathBuf};

use cdc_mysql::ddl::{
    table_change_json, ChangeKind, DdlOptions, SchemaChange, Schemas, ServerVersion, TableChange,
};
use serde_json::{json, Value as Json};

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/ddl")
}

/// (default database, SQL) per event.
fn events(fixture: &str) -> Vec<(Option<String>, String)> {
    let mut out: Vec<(Option<String>, String)> = Vec::new();
    for line in fixture.lines() {
        if let Some(rest) = line.strip_prefix("-- event") {
            let db = rest.trim().strip_prefix("db=").map(str::to_string);
            out.push((db, String::new()));
        } else if let Some((_, sql)) = out.last_mut() {
            sql.push_str(line);
            sql.push('\n');
        }
    }
    out
}

fn change_json(change: &SchemaChange) -> Json {
    let what = match &change.kind {
        ChangeKind::TruncateTable(id) => json!({"truncate": id.double_quoted()}),
        ChangeKind::Database => json!("database"),
        _ => TableChange::from_schema_change(change)
            .map(|c| table_change_json(&c))
            .unwrap_or(Json::Null),
    };
    json!({"database": change.database, "ddl": change.ddl, "change": what})
}

fn run_fixture(name: &str, options: DdlOptions) {
    let dir = golden_dir();
    let sql = std::fs::read_to_string(dir.join(format!("{name}.sql"))).unwrap();
    let mut schemas = Schemas::new(options);
    let mut got = Vec::new();
    for (db, event) in events(&sql) {
        let result = match schemas.apply(&event, db.as_deref()) {
            Ok(changes) => json!(changes.iter().map(change_json).collect::<Vec<_>>()),
            Err(e) => json!({"error": e.to_string()}),
        };
        got.push(json!({"event": event.trim(), "changes": result}));
    }
    let got = serde_json::to_string_pretty(&Json::Array(got)).unwrap() + "\n";
    let path = dir.join(format!("{name}.json"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1)", path.display()));
    if got != want {
        let mismatch = got
            .lines()
            .zip(want.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        panic!(
            "{name}: output differs from {} at line {}:\n got: {}\nwant: {}",
            path.display(),
            mismatch + 1,
            got.lines().nth(mismatch).unwrap_or(""),
            want.lines().nth(mismatch).unwrap_or("")
        );
    }
}

fn mysql() -> DdlOptions {
    DdlOptions {
        skip_unparseable: false,
        server: ServerVersion::mysql(8, 0, 36),
        server_charset: Some("utf8mb4".into()),
    }
}

fn mariadb() -> DdlOptions {
    DdlOptions {
        skip_unparseable: false,
        server: ServerVersion::mariadb(10, 11, 6),
        server_charset: Some("latin1".into()),
    }
}

#[test]
fn mysql_tables() {
    run_fixture("mysql_tables", mysql());
}

#[test]
fn mysql_alter() {
    run_fixture("mysql_alter", mysql());
}

#[test]
fn mysqldump() {
    run_fixture("mysqldump", mysql());
}

#[test]
fn mariadb_forms() {
    run_fixture("mariadb", mariadb());
}

#[test]
fn charsets() {
    run_fixture("charsets", mysql());
}

#[test]
fn no_schema_change() {
    run_fixture("no_schema_change", mysql());
}

#[test]
fn errors() {
    run_fixture("errors", mysql());
}

/// Every prefix of every fixture event is applied to a fresh tracker and to one that already
/// holds the fixture's tables: errors are fine, panics are not.
#[test]
fn never_panics_on_truncated_input() {
    for entry in std::fs::read_dir(golden_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("sql") {
            continue;
        }
        let sql = std::fs::read_to_string(&path).unwrap();
        let mut full = Schemas::new(DdlOptions::default());
        let evs = events(&sql);
        for (db, event) in &evs {
            let _ = full.apply(event, db.as_deref());
        }
        for (db, event) in &evs {
            for (i, _) in event.char_indices().step_by(3) {
                let prefix = &event[..i];
                let _ = Schemas::new(DdlOptions::default()).apply(prefix, db.as_deref());
                let _ = full.clone().apply(prefix, db.as_deref());
            }
        }
    }
}
