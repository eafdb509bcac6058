//! The server settings check: which server this is (MySQL or MariaDB) and
//! whether its binlog can be captured correctly, refused with the setting,
//! its value and the fix otherwise.
//!
//! [`read_settings`] queries the server; [`validate`] is a pure function of
//! the resulting [`ServerSettings`], so every rule is unit-tested;
//! [`check_server`] does both on a connection of its own.

use std::collections::HashMap;
use std::fmt;

use mysql_async::prelude::Queryable;

use super::error::BinlogError;

/// Which server family speaks on the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Flavor {
    /// MySQL (Oracle) or a compatible fork with MySQL's binlog (Percona).
    MySql,
    /// MariaDB: its own GTIDs and event types 160–171.
    MariaDb,
}

impl Flavor {
    /// MariaDB when `VERSION()` or `@@version_comment` says so, MySQL otherwise.
    pub fn detect(version: &str, version_comment: &str) -> Flavor {
        let mariadb = |s: &str| s.to_ascii_lowercase().contains("mariadb");
        if mariadb(version) || mariadb(version_comment) {
            Flavor::MariaDb
        } else {
            Flavor::MySql
        }
    }

    /// `"mysql"` or `"mariadb"` (Debezium's connector names).
    pub fn name(self) -> &'static str {
        match self {
            Flavor::MySql => "mysql",
            Flavor::MariaDb => "mariadb",
        }
    }
}

impl fmt::Display for Flavor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Flavor::MySql => "MySQL",
            Flavor::MariaDb => "MariaDB",
        })
    }
}

/// The server's binlog-related global settings. `None` = the variable does not
/// exist on this server (flavor or version).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSettings {
    /// MySQL or MariaDB.
    pub flavor: Flavor,
    /// `SELECT VERSION()`, e.g. `10.11.19-MariaDB-0+deb12u1`.
    pub version: String,
    /// `@@version_comment`.
    pub version_comment: String,
    /// `@@server_id`.
    pub server_id: u32,
    /// `@@log_bin`.
    pub log_bin: bool,
    /// `@@binlog_format` (ROW, STATEMENT, MIXED).
    pub binlog_format: String,
    /// `@@binlog_row_image` (FULL, MINIMAL, NOBLOB; MariaDB also FULL_NODUP).
    pub binlog_row_image: String,
    /// `@@binlog_row_metadata` (MySQL 8.0.1+, MariaDB 10.5+).
    pub binlog_row_metadata: Option<String>,
    /// `@@binlog_checksum` (NONE, CRC32).
    pub binlog_checksum: String,
    /// MariaDB `@@log_bin_compress`.
    pub log_bin_compress: Option<bool>,
    /// MySQL `@@gtid_mode` (OFF, OFF_PERMISSIVE, ON_PERMISSIVE, ON).
    pub gtid_mode: Option<String>,
}

const VARIABLES: &[&str] = &[
    "version_comment",
    "server_id",
    "log_bin",
    "binlog_format",
    "binlog_row_image",
    "binlog_row_metadata",
    "binlog_checksum",
    "log_bin_compress",
    "gtid_mode",
];

/// Reads [`ServerSettings`] (global values) over `conn`.
pub async fn read_settings(conn: &mut mysql_async::Conn) -> Result<ServerSettings, BinlogError> {
    let sql_err = |context: &str| {
        let context = context.to_string();
        move |source| BinlogError::Sql { context, source }
    };
    let version: Option<String> = conn
        .query_first("SELECT VERSION()")
        .await
        .map_err(sql_err("SELECT VERSION()"))?;
    let version = version.unwrap_or_default();
    let list = VARIABLES
        .iter()
        .map(|v| format!("'{v}'"))
        .collect::<Vec<_>>()
        .join(",");
    let query = format!("SHOW GLOBAL VARIABLES WHERE Variable_name IN ({list})");
    let rows: Vec<(String, String)> = conn.query(&query).await.map_err(sql_err(&query))?;
    let vars: HashMap<String, String> = rows
        .into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect();
    let required = |name: &str| {
        vars.get(name).cloned().ok_or_else(|| BinlogError::Setting {
            name: name.to_string(),
            reason: format!("the server ({version}) has no global variable {name}"),
        })
    };
    let on = |value: &str| matches!(value.to_ascii_uppercase().as_str(), "ON" | "1" | "TRUE");
    let server_id_text = required("server_id")?;
    let server_id = server_id_text
        .parse::<u32>()
        .map_err(|_| BinlogError::Setting {
            name: "server_id".into(),
            reason: format!("value {server_id_text:?} is not a 32-bit number"),
        })?;
    let version_comment = vars.get("version_comment").cloned().unwrap_or_default();
    Ok(ServerSettings {
        flavor: Flavor::detect(&version, &version_comment),
        version_comment,
        server_id,
        log_bin: on(&required("log_bin")?),
        binlog_format: required("binlog_format")?.to_ascii_uppercase(),
        binlog_row_image: required("binlog_row_image")?.to_ascii_uppercase(),
        binlog_row_metadata: vars
            .get("binlog_row_metadata")
            .map(|v| v.to_ascii_uppercase()),
        binlog_checksum: required("binlog_checksum")?.to_ascii_uppercase(),
        log_bin_compress: vars.get("log_bin_compress").map(|v| on(v)),
        gtid_mode: vars.get("gtid_mode").map(|v| v.to_ascii_uppercase()),
        version,
    })
}

/// Connects with `opts`, reads the settings and [`validate`]s them: the
/// check to run before [`super::BinlogEvents::open`].
pub async fn check_server(
    opts: mysql_async::Opts,
    needs: Requirements,
) -> Result<ServerSettings, BinlogError> {
    let mut conn = mysql_async::Conn::new(opts)
        .await
        .map_err(|source| BinlogError::Sql {
            context: "connect to check the server settings".into(),
            source,
        })?;
    let settings = read_settings(&mut conn).await;
    // The settings are what matter; a failed goodbye does not.
    let _ = conn.disconnect().await;
    let settings = settings?;
    validate(&settings, needs)?;
    Ok(settings)
}

/// One setting that prevents correct capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingProblem {
    /// The variable, e.g. `binlog_format`.
    pub setting: &'static str,
    /// Its current value (`<absent>` when the server lacks it).
    pub value: String,
    /// Why that value cannot be captured and how to fix it.
    pub fix: String,
}

impl fmt::Display for SettingProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} = {}: {}", self.setting, self.value, self.fix)
    }
}

/// Every problem found by [`validate`], in a fixed order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{flavor} server {version} cannot be captured: {}", problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct SettingsError {
    /// MySQL or MariaDB.
    pub flavor: Flavor,
    /// The server's version string.
    pub version: String,
    /// What is wrong, at least one entry.
    pub problems: Vec<SettingProblem>,
}

/// What the capture needs beyond the always-required settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Requirements {
    /// Positions are MySQL GTID sets (needs `gtid_mode=ON` on MySQL).
    pub mysql_gtids: bool,
}

/// Checks that the binlog of a server with `settings` can be captured
/// without losing or misreading data.
pub fn validate(settings: &ServerSettings, needs: Requirements) -> Result<(), SettingsError> {
    let mut problems = Vec::new();
    let mut refuse = |setting: &'static str, value: &str, fix: String| {
        problems.push(SettingProblem {
            setting,
            value: value.to_string(),
            fix,
        })
    };
    if !settings.log_bin {
        refuse(
            "log_bin",
            "OFF",
            "the server writes no binlog; start it with log_bin (log-bin=<basename> in my.cnf) and a server_id".into(),
        );
    }
    if settings.binlog_format != "ROW" {
        refuse(
            "binlog_format",
            &settings.binlog_format,
            "statement-based (STATEMENT or MIXED) binlogs do not carry row images; \
             SET GLOBAL binlog_format=ROW and set binlog_format=ROW in my.cnf"
                .into(),
        );
    }
    if settings.binlog_row_image != "FULL" {
        refuse(
            "binlog_row_image",
            &settings.binlog_row_image,
            "row images would lack unchanged columns; SET GLOBAL binlog_row_image=FULL and set \
             it in my.cnf"
                .into(),
        );
    }
    match settings.binlog_row_metadata.as_deref() {
        Some("FULL") => {}
        value => refuse(
            "binlog_row_metadata",
            value.unwrap_or("<absent>"),
            match value {
                None => format!(
                    "{} {} cannot log column metadata; unsigned integers, ENUM/SET values and \
                     character sets need it (MySQL 8.0.1+ or MariaDB 10.5+)",
                    settings.flavor, settings.version
                ),
                Some(_) => "unsigned integers, ENUM/SET values and column character sets are \
                            decoded from it; SET GLOBAL binlog_row_metadata=FULL and set it in my.cnf"
                    .into(),
            },
        ),
    }
    if !matches!(settings.binlog_checksum.as_str(), "CRC32" | "NONE") {
        refuse(
            "binlog_checksum",
            &settings.binlog_checksum,
            "only CRC32 and NONE are known; SET GLOBAL binlog_checksum=CRC32".into(),
        );
    }
    // MariaDB log_bin_compress=ON is fine: compressed events are expanded.
    if needs.mysql_gtids && settings.flavor == Flavor::MySql {
        let mode = settings.gtid_mode.as_deref().unwrap_or("<absent>");
        if mode != "ON" {
            refuse(
                "gtid_mode",
                mode,
                "GTID positions need gtid_mode=ON (and enforce_gtid_consistency=ON); enable \
                 them or use file+position offsets"
                    .into(),
            );
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(SettingsError {
            flavor: settings.flavor,
            version: settings.version.clone(),
            problems,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mariadb() -> ServerSettings {
        ServerSettings {
            flavor: Flavor::MariaDb,
            version: "10.11.19-MariaDB-0+deb12u1".into(),
            version_comment: "Debian 12".into(),
            server_id: 1,
            log_bin: true,
            binlog_format: "ROW".into(),
            binlog_row_image: "FULL".into(),
            binlog_row_metadata: Some("FULL".into()),
            binlog_checksum: "CRC32".into(),
            log_bin_compress: Some(false),
            gtid_mode: None,
        }
    }

    fn mysql() -> ServerSettings {
        ServerSettings {
            flavor: Flavor::MySql,
            version: "8.0.36".into(),
            version_comment: "MySQL Community Server - GPL".into(),
            log_bin_compress: None,
            gtid_mode: Some("ON".into()),
            ..mariadb()
        }
    }

    fn problems(settings: &ServerSettings, needs: Requirements) -> Vec<SettingProblem> {
        validate(settings, needs).map_or_else(|e| e.problems, |()| Vec::new())
    }

    #[test]
    fn flavor_detection() {
        assert_eq!(
            Flavor::detect("10.11.19-MariaDB-0+deb12u1", "Debian 12"),
            Flavor::MariaDb
        );
        assert_eq!(
            Flavor::detect("5.5.5-10.6.1", "mariadb.org binary distribution"),
            Flavor::MariaDb
        );
        assert_eq!(
            Flavor::detect("8.0.36", "MySQL Community Server - GPL"),
            Flavor::MySql
        );
        assert_eq!(Flavor::MariaDb.name(), "mariadb");
    }

    #[test]
    fn good_settings_pass() {
        validate(&mariadb(), Requirements { mysql_gtids: true }).unwrap();
        let compressed = ServerSettings {
            log_bin_compress: Some(true),
            ..mariadb()
        };
        validate(&compressed, Requirements::default()).unwrap();
        validate(&mysql(), Requirements { mysql_gtids: true }).unwrap();
        let none = ServerSettings {
            binlog_checksum: "NONE".into(),
            ..mysql()
        };
        validate(&none, Requirements::default()).unwrap();
    }

    #[test]
    fn statement_and_mixed_are_refused() {
        for format in ["STATEMENT", "MIXED"] {
            let s = ServerSettings {
                binlog_format: format.into(),
                ..mariadb()
            };
            let err = validate(&s, Requirements::default()).unwrap_err();
            assert_eq!(err.problems.len(), 1);
            let text = err.to_string();
            assert!(
                text.contains(&format!("binlog_format = {format}")),
                "{text}"
            );
            assert!(text.contains("SET GLOBAL binlog_format=ROW"), "{text}");
            assert!(text.contains("MariaDB server 10.11.19"), "{text}");
        }
    }

    #[test]
    fn each_bad_setting_is_named() {
        let cases: Vec<(ServerSettings, &str, &str)> = vec![
            (
                ServerSettings {
                    log_bin: false,
                    ..mariadb()
                },
                "log_bin",
                "OFF",
            ),
            (
                ServerSettings {
                    binlog_row_image: "MINIMAL".into(),
                    ..mariadb()
                },
                "binlog_row_image",
                "MINIMAL",
            ),
            (
                ServerSettings {
                    binlog_row_image: "NOBLOB".into(),
                    ..mysql()
                },
                "binlog_row_image",
                "NOBLOB",
            ),
            (
                ServerSettings {
                    binlog_row_metadata: Some("MINIMAL".into()),
                    ..mariadb()
                },
                "binlog_row_metadata",
                "MINIMAL",
            ),
            (
                ServerSettings {
                    binlog_row_metadata: None,
                    ..mysql()
                },
                "binlog_row_metadata",
                "<absent>",
            ),
            (
                ServerSettings {
                    binlog_checksum: "XXH64".into(),
                    ..mysql()
                },
                "binlog_checksum",
                "XXH64",
            ),
        ];
        for (settings, setting, value) in cases {
            let found = problems(&settings, Requirements::default());
            assert_eq!(found.len(), 1, "{setting}: {found:?}");
            assert_eq!(found[0].setting, setting);
            assert_eq!(found[0].value, value);
            assert!(!found[0].fix.is_empty());
        }
    }

    #[test]
    fn gtid_mode_matters_only_for_mysql_gtid_positions() {
        let off = ServerSettings {
            gtid_mode: Some("OFF_PERMISSIVE".into()),
            ..mysql()
        };
        assert!(problems(&off, Requirements::default()).is_empty());
        let found = problems(&off, Requirements { mysql_gtids: true });
        assert_eq!(found[0].setting, "gtid_mode");
        assert_eq!(found[0].value, "OFF_PERMISSIVE");
        // MariaDB has no gtid_mode: its GTIDs are always on.
        assert!(problems(&mariadb(), Requirements { mysql_gtids: true }).is_empty());
    }

    #[test]
    fn all_problems_are_reported_together() {
        let s = ServerSettings {
            binlog_format: "MIXED".into(),
            binlog_row_image: "MINIMAL".into(),
            ..mariadb()
        };
        let names: Vec<_> = problems(&s, Requirements::default())
            .iter()
            .map(|p| p.setting)
            .collect();
        assert_eq!(names, ["binlog_format", "binlog_row_image"]);
    }
}
