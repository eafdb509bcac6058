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
