//! Whether the server still holds every binlog event after a stored position, or purged some
//! (`PURGE BINARY LOGS`, `binlog_expire_logs_seconds` / `expire_logs_days`): what decides
//! between resuming, a new snapshot (`snapshot.mode = when_needed`) and a refusal.
//!
//! - Position with GTIDs, MariaDB: the GTID state at the start of the oldest binlog
//!   (`BINLOG_GTID_POS(<oldest file>, 4)`) must be covered domain by domain by the position's
//!   GTID list (the server finds the resume point from the GTID lists of its files).
//! - Position with GTIDs, MySQL: `@@GLOBAL.gtid_purged` must be a subset of the position's
//!   GTID set.
//! - File and position only: the file must still be listed by `SHOW BINARY LOGS`.

use mysql_async::prelude::Queryable;

use super::error::BinlogError;
use super::gtid_set::MySqlGtidSet;
use super::position::{MariaGtidList, PositionError};
use super::server::Flavor;

/// Whether the events after a position are still on the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Retention {
    /// Every event after the position can be read.
    Retained,
    /// Some were purged; `reason` says which (file or GTIDs) and what the server has left.
    Purged { reason: String },
}

/// What the server reports about its binlogs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerBinlogs {
    /// `SHOW BINARY LOGS`, oldest first.
    pub files: Vec<String>,
    /// MariaDB: the GTID state at the start of the oldest file; MySQL: `gtid_purged`.
    pub purged_gtids: String,
}

/// Reads what [`judge`] needs from the server (`REPLICATION CLIENT` for `SHOW BINARY LOGS`).
pub async fn server_binlogs(
    conn: &mut mysql_async::Conn,
    flavor: Flavor,
) -> Result<ServerBinlogs, BinlogError> {
    let sql = |context: &str| {
        let context = context.to_owned();
        move |source| BinlogError::Sql { context, source }
    };
    let rows: Vec<mysql_async::Row> = conn
        .query("SHOW BINARY LOGS")
        .await
        .map_err(sql("SHOW BINARY LOGS"))?;
    let files: Vec<String> = rows
        .into_iter()
        .filter_map(|r| r.get_opt::<String, _>(0).and_then(Result::ok))
        .collect();
    let purged_gtids: Option<String> = match (flavor, files.first()) {
        (Flavor::MariaDb, Some(oldest)) => conn
            .exec_first("SELECT BINLOG_GTID_POS(?, 4)", (oldest.as_str(),))
            .await
            .map_err(sql("BINLOG_GTID_POS of the oldest binlog"))?
            .flatten(),
        (Flavor::MariaDb, None) => None,
        (Flavor::MySql, _) => conn
            .query_first("SELECT @@GLOBAL.gtid_purged")
            .await
            .map_err(sql("reading gtid_purged"))?
            .flatten(),
    };
    Ok(ServerBinlogs {
        files,
        purged_gtids: purged_gtids.unwrap_or_default(),
    })
}

/// Whether the events after the position `gtids` (completed GTIDs, if the position has them)
/// / `file` are all in `server`'s binlogs.
pub fn judge(
    flavor: Flavor,
    gtids: Option<&str>,
    file: &str,
    server: &ServerBinlogs,
) -> Result<Retention, PositionError> {
    let oldest = server.files.first().map_or("none", String::as_str);
    let purged = |reason: String| Retention::Purged { reason };
    // An empty GTID list / set is a GTID position too (the stream asks for everything from the
    // oldest binlog, which must then still hold every transaction).
    let Some(gtids) = gtids.map(str::trim) else {
        return Ok(if server.files.iter().any(|f| f == file) {
            Retention::Retained
        } else {
            purged(format!(
                "binlog file {file} is no longer on the server (oldest binlog: {oldest})"
            ))
        });
    };
    let state = server.purged_gtids.trim();
    let shown = if gtids.is_empty() {
        "(no GTIDs)"
    } else {
        gtids
    };
    match flavor {
        Flavor::MariaDb => {
            let ours: MariaGtidList = gtids.parse()?;
            let first: MariaGtidList = state.parse()?;
            for needed in first.iter() {
                let covered = ours
                    .get(needed.domain_id)
                    .is_some_and(|g| g.sequence >= needed.sequence);
                if !covered {
                    return Ok(purged(format!(
                        "GTIDs of domain {} up to {needed} were purged (the oldest binlog, \
                         {oldest}, starts after them) but the position {shown} has not read them",
                        needed.domain_id
                    )));
                }
            }
            Ok(Retention::Retained)
        }
        Flavor::MySql => {
            let ours: MySqlGtidSet = gtids.parse()?;
            let gone: MySqlGtidSet = state.parse()?;
            Ok(if ours.contains_set(&gone) {
                Retention::Retained
            } else {
                purged(format!(
                    "the server purged GTIDs {gone} (gtid_purged) but the position {shown} \
                     has not read all of them"
                ))
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(files: &[&str], purged: &str) -> ServerBinlogs {
        ServerBinlogs {
            files: files.iter().map(|f| (*f).to_owned()).collect(),
            purged_gtids: purged.into(),
        }
    }

    fn purged(r: Retention) -> String {
        match r {
            Retention::Purged { reason } => reason,
            Retention::Retained => panic!("retained"),
        }
    }

    #[test]
    fn file_positions_need_their_file() {
        let s = server(&["bin.000002", "bin.000003"], "");
        assert_eq!(
            judge(Flavor::MariaDb, None, "bin.000002", &s).unwrap(),
            Retention::Retained
        );
        let reason = purged(judge(Flavor::MySql, None, "bin.000001", &s).unwrap());
        assert!(
            reason.contains("bin.000001") && reason.contains("oldest binlog: bin.000002"),
            "{reason}"
        );
    }

    #[test]
    fn mariadb_gtid_positions_must_cover_the_oldest_binlog_start() {
        // Oldest file starts after 0-1-3 and 1-2-7; the stored file itself may be gone.
        let s = server(&["bin.000002"], "0-1-3,1-2-7");
        for ours in ["0-1-3,1-2-7", "0-1-9,1-2-8", "0-1-3,1-2-7,2-5-1"] {
            assert_eq!(
                judge(Flavor::MariaDb, Some(ours), "bin.000001", &s).unwrap(),
                Retention::Retained,
                "{ours}"
            );
        }
        let reason = purged(judge(Flavor::MariaDb, Some("0-1-2,1-2-7"), "bin.000001", &s).unwrap());
        assert!(
            reason.contains("domain 0") && reason.contains("0-1-3"),
            "{reason}"
        );
        // A domain the position never saw, with purged transactions.
        let reason = purged(judge(Flavor::MariaDb, Some("0-1-5"), "bin.000002", &s).unwrap());
        assert!(reason.contains("domain 1"), "{reason}");
        // Nothing purged yet (first binlog: empty state).
        let fresh = server(&["bin.000001"], "");
        assert_eq!(
            judge(Flavor::MariaDb, Some("0-1-1"), "bin.000001", &fresh).unwrap(),
            Retention::Retained
        );
        assert!(judge(Flavor::MariaDb, Some("garbage"), "f", &fresh).is_err());
        // An empty list: everything from the oldest binlog, which must start empty too.
        assert_eq!(
            judge(Flavor::MariaDb, Some(""), "bin.000001", &fresh).unwrap(),
            Retention::Retained
        );
        let reason = purged(judge(Flavor::MariaDb, Some(""), "bin.000001", &s).unwrap());
        assert!(reason.contains("domain 0"), "{reason}");
    }

    #[test]
    fn mysql_gtid_positions_must_contain_gtid_purged() {
        let uuid = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
        let s = server(&["binlog.000009"], &format!("{uuid}:1-100"));
        assert_eq!(
            judge(
                Flavor::MySql,
                Some(&format!("{uuid}:1-150")),
                "binlog.000001",
                &s
            )
            .unwrap(),
            Retention::Retained
        );
        let reason = purged(
            judge(
                Flavor::MySql,
                Some(&format!("{uuid}:1-50")),
                "binlog.000009",
                &s,
            )
            .unwrap(),
        );
        assert!(
            reason.contains("gtid_purged") && reason.contains(":1-100"),
            "{reason}"
        );
        let empty = server(&["binlog.000001"], "");
        assert_eq!(
            judge(
                Flavor::MySql,
                Some(&format!("{uuid}:1-5")),
                "binlog.000001",
                &empty
            )
            .unwrap(),
            Retention::Retained
        );
    }
}
