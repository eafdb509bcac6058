//! Read-back through engines we did not write: `tests/readback/iceberg_check.py` runs
//! pyiceberg (and DuckDB for display) from the venv that `dev/lib/install.sh` creates.

use std::path::{Path, PathBuf};

use crate::{io, HarnessError, Result};

/// One table's comparison result.
#[derive(Debug, Clone)]
pub struct TableReport {
    pub table: String,
    pub ok: bool,
    /// Rows in PostgreSQL.
    pub rows: u64,
    /// Rows of the changelog table.
    pub changelog_rows: u64,
    /// The script's JSON line, for error messages.
    pub raw: String,
}

/// The venv's python: `$CDC_VENV/bin/python`, default `~/.cache/cdc/venv/bin/python`.
pub fn python() -> PathBuf {
    let venv = std::env::var_os("CDC_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/cdc/venv")
        });
    venv.join("bin/python")
}

/// The read-back script.
pub fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("readback/iceberg_check.py")
}

/// Compares every sample table's latest Iceberg state with PostgreSQL.
pub async fn compare(pg_dsn: &str, lake: &Path) -> Result<Vec<TableReport>> {
    let out = tokio::process::Command::new(python())
        .arg(script())
        .args(["compare", "--pg", pg_dsn, "--data-dir"])
        .arg(lake)
        .args(["--tables", &crate::schema::TABLES.join(",")])
        .output()
        .await
        .map_err(io(
            "running iceberg_check.py (is the venv installed? run dev/test)",
        ))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut reports = Vec::new();
    for line in stdout.lines().filter(|l| l.starts_with('{')) {
        let v: serde_json::Value = serde_json::from_str(line)
            .map_err(|e| HarnessError::Check(format!("bad read-back output {line:?}: {e}")))?;
        reports.push(TableReport {
            table: v["table"].as_str().unwrap_or_default().to_owned(),
            ok: v["ok"].as_bool().unwrap_or(false),
            rows: v["rows"].as_u64().unwrap_or(0),
            changelog_rows: v["changelog_rows"].as_u64().unwrap_or(0),
            raw: line.to_owned(),
        });
    }
    if reports.len() != crate::schema::TABLES.len() {
        return Err(HarnessError::Check(format!(
            "read-back failed ({}): {stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(reports)
}

/// Prints a few current rows of `table` read with pyiceberg + DuckDB.
pub async fn show(lake: &Path, table: &str, limit: usize) -> Result<String> {
    let out = tokio::process::Command::new(python())
        .arg(script())
        .args(["show", "--data-dir"])
        .arg(lake)
        .args(["--table", table, "--limit", &limit.to_string()])
        .output()
        .await
        .map_err(io("running iceberg_check.py show"))?;
    if !out.status.success() {
        return Err(HarnessError::Check(format!(
            "iceberg_check.py show failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Every changelog row's Kafka origin `(partition, offset)` per sample table (sorted,
/// duplicates kept), read with pyiceberg; fails if DuckDB's `iceberg_scan` counts differently.
pub async fn changelog_offsets(lake: &Path) -> Result<Vec<(String, Vec<(i32, i64)>)>> {
    changelog_offsets_of(lake, &crate::schema::TABLES).await
}

/// As [`changelog_offsets`] for the source tables `tables` (`schema.table`).
pub async fn changelog_offsets_of(
    lake: &Path,
    tables: &[&str],
) -> Result<Vec<(String, Vec<(i32, i64)>)>> {
    let out = tokio::process::Command::new(python())
        .arg(script())
        .args(["offsets", "--data-dir"])
        .arg(lake)
        .args(["--tables", &tables.join(",")])
        .output()
        .await
        .map_err(io("running iceberg_check.py offsets"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(HarnessError::Check(format!(
            "iceberg_check.py offsets failed ({}): {stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    let mut tables = Vec::new();
    for line in stdout.lines().filter(|l| l.starts_with('{')) {
        let bad = |e: String| HarnessError::Check(format!("bad offsets output {line:?}: {e}"));
        let v: serde_json::Value = serde_json::from_str(line).map_err(|e| bad(e.to_string()))?;
        let pairs: Vec<(i32, i64)> =
            serde_json::from_value(v["offsets"].clone()).map_err(|e| bad(e.to_string()))?;
        let table = v["table"].as_str().unwrap_or_default().to_owned();
        tables.push((table, pairs));
    }
    Ok(tables)
}

/// The mirror table of a source table as read back by pyiceberg (and checked equal to DuckDB's
/// own `iceberg_scan`): each column's Iceberg type, and the rows (sorted) as text values.
#[derive(Debug, Clone)]
pub struct MirrorDump {
    /// `(column, Iceberg type)` in the requested order, e.g. `("c_int", "long")`.
    pub types: Vec<(String, String)>,
    /// One entry per live row; decimals, dates and times as text, bytes as hex.
    pub rows: Vec<Vec<Option<String>>>,
}

/// Reads `columns` of the mirror table of `table` (`schema.table`) with pyiceberg and DuckDB;
/// fails if the two engines disagree.
pub async fn mirror_rows(lake: &Path, table: &str, columns: &[&str]) -> Result<MirrorDump> {
    let out = tokio::process::Command::new(python())
        .arg(script())
        .args(["dump", "--data-dir"])
        .arg(lake)
        .args(["--table", table, "--columns", &columns.join(",")])
        .output()
        .await
        .map_err(io("running iceberg_check.py dump"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(HarnessError::Check(format!(
            "iceberg_check.py dump failed ({}): {stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    let bad = |e: String| HarnessError::Check(format!("bad dump output {stdout:?}: {e}"));
    let v: serde_json::Value =
        serde_json::from_str(stdout.trim()).map_err(|e| bad(e.to_string()))?;
    let types = columns
        .iter()
        .map(|c| {
            let ty = v["types"][c].as_str().unwrap_or_default().to_owned();
            ((*c).to_owned(), ty)
        })
        .collect();
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    };
    let rows = v["rows"]
        .as_array()
        .ok_or_else(|| bad("no rows".into()))?
        .iter()
        .map(|r| {
            r.as_array()
                .map(|values| values.iter().map(text).collect())
                .ok_or_else(|| bad(format!("row {r} is not an array")))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(MirrorDump { types, rows })
}
