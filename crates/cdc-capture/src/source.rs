//! Connections to the PostgreSQL source and the control plane: publication, slot, resume plan.

use std::time::Duration;

use cdc_model::TableId;
use cdc_proto::checkpoint::v1::PostgresPosition;
use pgwire_replication::{Lsn, ReplicationClient, ReplicationConfig};

use crate::config::{PublicationMode, SnapshotMode, SourceConfig, SslMode};
use crate::pgtypes::SESSION_SETTINGS;
use crate::table::quote_ident;
use crate::CaptureError;

/// Opens a regular SQL connection (catalog queries, snapshot reads).
pub async fn connect_sql(source: &SourceConfig) -> Result<tokio_postgres::Client, CaptureError> {
    let mut cfg = tokio_postgres::Config::new();
    cfg.host(&source.host)
        .port(source.port())
        .user(&source.user)
        .dbname(&source.database)
        .application_name("cdc-capture")
        .connect_timeout(Duration::from_secs(30));
    if !source.password.is_empty() {
        cfg.password(source.password.expose());
    }
    let context = || {
        format!(
            "connecting to {}:{} as {} (ssl_mode {})",
            source.host,
            source.port(),
            source.user,
            source.ssl_mode.as_str()
        )
    };
    let closed = |result: Result<(), tokio_postgres::Error>| {
        if let Err(e) = result {
            tracing::warn!(error = %e, "PostgreSQL connection closed");
        }
    };
    match crate::tls::sql_tls(source)? {
        None => {
            let (client, connection) = cfg
                .ssl_mode(tokio_postgres::config::SslMode::Disable)
                .connect(tokio_postgres::NoTls)
                .await
                .map_err(|e| CaptureError::postgres(context(), e))?;
            tokio::spawn(async move { closed(connection.await) });
            Ok(client)
        }
        Some(tls) => {
            let mode = if source.ssl_mode == SslMode::Prefer {
                tokio_postgres::config::SslMode::Prefer
            } else {
                tokio_postgres::config::SslMode::Require
            };
            let (client, connection) = cfg
                .ssl_mode(mode)
                .connect(tokio_postgres_rustls::MakeRustlsConnect::new(tls))
                .await
                .map_err(|e| CaptureError::postgres(context(), e))?;
            tokio::spawn(async move { closed(connection.await) });
            Ok(client)
        }
    }
}

/// The replication connection's configuration.
pub fn replication_config(source: &SourceConfig) -> ReplicationConfig {
    let options = SESSION_SETTINGS
        .iter()
        .map(|(k, v)| format!("-c {k}={v}"))
        .collect::<Vec<_>>()
        .join(" ");
    ReplicationConfig::new(
        source.host.clone(),
        source.user.clone(),
        source.password.expose().to_owned(),
        source.database.clone(),
        source.slot_name.clone(),
        source.publication_name.clone(),
    )
    .with_port(source.port())
    .with_tls(crate::tls::replication_tls(source))
    .with_options(options)
    .with_application_name("cdc-capture")
    .with_status_interval(Duration::from_secs(1))
}

/// Applies Debezium's `publication.autocreate.mode` to the publication `name` for the
/// captured `tables` (see [`PublicationMode`]). Captured tables an existing publication does
/// not contain are reported: their changes are not streamed.
pub async fn ensure_publication(
    client: &tokio_postgres::Client,
    name: &str,
    mode: PublicationMode,
    tables: &[TableId],
) -> Result<(), CaptureError> {
    let pg = |what: String, e| CaptureError::postgres(what, e);
    let qualified = |t: &TableId| format!("{}.{}", quote_ident(&t.namespace), quote_ident(&t.name));
    let list = tables.iter().map(qualified).collect::<Vec<_>>().join(", ");
    let all_tables: Option<bool> = client
        .query_opt(
            "SELECT puballtables FROM pg_publication WHERE pubname = $1",
            &[&name],
        )
        .await
        .map_err(|e| pg(format!("looking up publication {name}"), e))?
        .map(|r| r.get(0));
    let create = match (all_tables, mode) {
        (None, PublicationMode::Disabled) => {
            return Err(CaptureError::Config(format!(
                "publication {name} does not exist and publication.autocreate.mode is \
                 disabled; create it (CREATE PUBLICATION {name} FOR TABLE …) and restart"
            )))
        }
        (None, PublicationMode::Filtered) => Some(format!("FOR TABLE {list}")),
        (None, PublicationMode::AllTables) => Some("FOR ALL TABLES".to_owned()),
        (None, PublicationMode::NoTables) => Some(String::new()),
        (Some(true), PublicationMode::Filtered) => {
            return Err(CaptureError::Config(format!(
                "publication {name} is FOR ALL TABLES and cannot be narrowed to the captured \
                 tables; drop it, or set publication.autocreate.mode to all_tables"
            )))
        }
        (Some(true), _) => return Ok(()),
        (Some(false), _) => None,
    };
    if let Some(target) = create {
        client
            .batch_execute(&format!(
                "CREATE PUBLICATION {} {target}",
                quote_ident(name)
            ))
            .await
            .map_err(|e| pg(format!("creating publication {name}"), e))?;
        tracing::info!(publication = name, ?mode, tables = %list, "publication created");
        if mode != PublicationMode::NoTables {
            return Ok(());
        }
    }
    let rows = client
        .query(
            "SELECT schemaname::text, tablename::text FROM pg_publication_tables WHERE pubname = $1",
            &[&name],
        )
        .await
        .map_err(|e| pg(format!("listing tables of publication {name}"), e))?;
    let present: Vec<TableId> = rows
        .iter()
        .map(|r| TableId::new(r.get::<_, String>(0), r.get::<_, String>(1)))
        .collect();
    let missing: Vec<&TableId> = tables.iter().filter(|t| !present.contains(t)).collect();
    let extra = present.iter().any(|t| !tables.contains(t));
    if mode == PublicationMode::Filtered && (!missing.is_empty() || extra) {
        client
            .batch_execute(&format!(
                "ALTER PUBLICATION {} SET TABLE {list}",
                quote_ident(name)
            ))
            .await
            .map_err(|e| pg(format!("setting the tables of publication {name}"), e))?;
        tracing::info!(publication = name, tables = %list, "publication tables updated");
        return Ok(());
    }
    for table in missing {
        tracing::warn!(publication = name, %table,
            "captured table is not in the publication: its rows are snapshotted but its \
             changes are not streamed until it is added (ALTER PUBLICATION … ADD TABLE)");
    }
    Ok(())
}

/// Whether the slot exists (and is a pgoutput slot of this database).
pub async fn slot_state(
    client: &tokio_postgres::Client,
    source: &SourceConfig,
) -> Result<SlotState, CaptureError> {
    let row = client
        .query_opt(
            "SELECT plugin::text, database::text, wal_status::text FROM pg_replication_slots \
             WHERE slot_name = $1",
            &[&source.slot_name],
        )
        .await
        .map_err(|e| CaptureError::postgres("looking up the replication slot", e))?;
    match row {
        None => Ok(SlotState::Missing),
        Some(r) => {
            let (plugin, db): (Option<String>, Option<String>) = (r.get(0), r.get(1));
            if plugin.as_deref() != Some("pgoutput") || db.as_deref() != Some(&source.database) {
                return Err(CaptureError::Config(format!(
                    "replication slot {} exists but is not a pgoutput slot of database {} \
                     (plugin {plugin:?}, database {db:?})",
                    source.slot_name, source.database
                )));
            }
            let status: Option<String> = r.get(2);
            if status.as_deref() == Some("lost") {
                return Ok(SlotState::Lost);
            }
            Ok(SlotState::Usable)
        }
    }
}

/// What [`slot_state`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotState {
    Missing,
    Usable,
    /// `wal_status = lost`: the server removed WAL the slot still needed.
    Lost,
}

/// Drops the slot (waits for a previous walsender holding it to go away).
pub async fn drop_slot(client: &tokio_postgres::Client, slot: &str) -> Result<(), CaptureError> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        match client
            .execute("SELECT pg_drop_replication_slot($1)", &[&slot])
            .await
        {
            Ok(_) => return Ok(()),
            Err(e) if tokio::time::Instant::now() < deadline && is_object_in_use(&e) => {
                tracing::info!(
                    slot,
                    "slot still active (previous process exiting); retrying"
                );
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => return Err(CaptureError::postgres(format!("dropping slot {slot}"), e)),
        }
    }
}

fn is_object_in_use(e: &tokio_postgres::Error) -> bool {
    e.code() == Some(&tokio_postgres::error::SqlState::OBJECT_IN_USE)
}

/// Starts streaming from `lsn` on the existing slot. A slot still held by the walsender of a
/// previous (crashed) process is retried for up to a minute, until the server notices.
pub async fn start_streaming(
    source: &SourceConfig,
    lsn: Lsn,
) -> Result<ReplicationClient, CaptureError> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let cfg = replication_config(source)
            .with_start_lsn(lsn)
            .with_ack_lsn(lsn);
        let attempt = async {
            let mut client = ReplicationClient::connect(cfg).await?;
            client.wait_started().await?;
            Ok::<_, pgwire_replication::PgWireError>(client)
        };
        match attempt.await {
            Ok(client) => return Ok(client),
            Err(e)
                if tokio::time::Instant::now() < deadline
                    && e.to_string().contains("is active for PID") =>
            {
                tracing::info!(slot = %source.slot_name,
                    "slot still held by a previous connection; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => return Err(CaptureError::replication("starting replication", e)),
        }
    }
}

/// A slot created with an exported snapshot.
pub struct NewSlot {
    pub client: ReplicationClient,
    pub consistent_lsn: u64,
    pub snapshot_name: String,
}

/// Creates the slot on a gated replication session, exporting its snapshot. The snapshot
/// stays importable until the session's next command (`start`).
pub async fn create_slot(source: &SourceConfig) -> Result<NewSlot, CaptureError> {
    let repl = |what: &str, e| CaptureError::replication(what.to_owned(), e);
    let mut client = ReplicationClient::connect_gated(replication_config(source))
        .await
        .map_err(|e| repl("opening the replication connection", e))?;
    let rows = client
        .simple_query(&format!(
            "CREATE_REPLICATION_SLOT {} LOGICAL pgoutput (SNAPSHOT 'export')",
            source.slot_name
        ))
        .await
        .map_err(|e| repl("creating the replication slot", e))?;
    let text = |row: &Vec<Option<bytes::Bytes>>, i: usize| {
        row.get(i)
            .and_then(|v| v.as_ref())
            .and_then(|b| std::str::from_utf8(b).ok())
            .map(str::to_owned)
    };
    let row = rows
        .first()
        .ok_or_else(|| CaptureError::Decode("CREATE_REPLICATION_SLOT returned no row".into()))?;
    let (Some(point), Some(snapshot_name)) = (text(row, 1), text(row, 2)) else {
        return Err(CaptureError::Decode(
            "CREATE_REPLICATION_SLOT returned no consistent point or snapshot name".into(),
        ));
    };
    let consistent_lsn = Lsn::parse(&point)
        .map_err(|e| CaptureError::Decode(format!("consistent point {point:?}: {e:?}")))?
        .as_u64();
    tracing::info!(slot = %source.slot_name, consistent_point = %point, snapshot = %snapshot_name,
        "replication slot created");
    Ok(NewSlot {
        client,
        consistent_lsn,
        snapshot_name,
    })
}

/// What to do at start, from the snapshot mode, the checkpoint and the slot.
#[derive(Debug, PartialEq)]
pub enum Plan {
    /// Stream from the checkpoint; with `snapshot_first` (mode `always`) read the tables in
    /// a new transaction first.
    Resume {
        position: PostgresPosition,
        snapshot_first: bool,
    },
    /// Continue an interrupted initial snapshot (the slot is kept), then stream.
    ResumeSnapshot(PostgresPosition),
    /// (Re)create the slot and take the initial snapshot (unless the mode is `no_data`);
    /// drop a stale slot first.
    Fresh { drop_stale_slot: bool },
    /// `initial_only`: read the tables in a new transaction and stop; no slot is created and
    /// the checkpoint is left as it is.
    SnapshotOnly,
    /// `no_data` with an existing slot and no checkpoint of it (e.g. taking over from
    /// Debezium): stream from the slot's confirmed position, no snapshot.
    AdoptSlot,
}

/// Decides how to start. A completed checkpoint whose slot is gone is an error (changes
/// since the checkpoint may be lost and an operator must decide) unless the snapshot mode
/// says to take a new snapshot then (`when_needed`, `always`).
pub fn plan(
    mode: SnapshotMode,
    checkpoint: Option<PostgresPosition>,
    slot_exists: bool,
    slot_name: &str,
) -> Result<Plan, CaptureError> {
    if mode == SnapshotMode::InitialOnly {
        return Ok(Plan::SnapshotOnly);
    }
    match checkpoint {
        Some(cp) if cp.snapshot_completed && cp.slot_name == slot_name => {
            if slot_exists {
                Ok(Plan::Resume {
                    position: cp,
                    snapshot_first: mode == SnapshotMode::Always,
                })
            } else if matches!(mode, SnapshotMode::WhenNeeded | SnapshotMode::Always) {
                tracing::warn!(slot = slot_name, lsn = %crate::lsn_text(cp.confirmed_lsn),
                    ?mode, "replication slot is missing; taking a new snapshot");
                Ok(Plan::Fresh {
                    drop_stale_slot: false,
                })
            } else {
                Err(CaptureError::SlotLost(format!(
                    "replication slot {slot_name} is missing but the checkpoint says streaming \
                     reached LSN {}; changes after it may be lost. Reset the stored position (README: Re-snapshot) \
                     (or set snapshot.mode to when_needed) to take a new initial snapshot",
                    crate::lsn_text(cp.confirmed_lsn)
                )))
            }
        }
        Some(cp)
            if slot_exists
                && cp.slot_name == slot_name
                && cp.snapshot_progress.iter().any(|t| !t.done.is_empty()) =>
        {
            Ok(Plan::ResumeSnapshot(cp))
        }
        _ if slot_exists && mode == SnapshotMode::NoData => Ok(Plan::AdoptSlot),
        _ => Ok(Plan::Fresh {
            drop_stale_slot: slot_exists,
        }),
    }
}

/// The slot's `confirmed_flush_lsn`: where streaming from it starts.
pub async fn slot_confirmed_lsn(
    client: &tokio_postgres::Client,
    slot: &str,
) -> Result<u64, CaptureError> {
    let text: Option<String> = client
        .query_one(
            "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1",
            &[&slot],
        )
        .await
        .map_err(|e| CaptureError::postgres(format!("reading the position of slot {slot}"), e))?
        .get(0);
    let text = text.ok_or_else(|| {
        CaptureError::Config(format!("replication slot {slot} has no confirmed position"))
    })?;
    Lsn::parse(&text)
        .map(|l| l.as_u64())
        .map_err(|e| CaptureError::Decode(format!("slot {slot} position {text:?}: {e:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cp(completed: bool) -> PostgresPosition {
        PostgresPosition {
            slot_name: "cdc".into(),
            confirmed_lsn: 10,
            snapshot_lsn: 5,
            snapshot_completed: completed,
            partial: None,
            snapshot_progress: Vec::new(),
            incremental: None,
        }
    }

    #[test]
    fn resume_plan() {
        use SnapshotMode::*;
        let resume = |snapshot_first| Plan::Resume {
            position: cp(true),
            snapshot_first,
        };
        let fresh = |drop_stale_slot| Plan::Fresh { drop_stale_slot };
        assert_eq!(
            plan(Initial, Some(cp(true)), true, "cdc").unwrap(),
            resume(false)
        );
        assert_eq!(
            plan(NoData, Some(cp(true)), true, "cdc").unwrap(),
            resume(false)
        );
        assert_eq!(
            plan(WhenNeeded, Some(cp(true)), true, "cdc").unwrap(),
            resume(false)
        );
        assert_eq!(
            plan(Always, Some(cp(true)), true, "cdc").unwrap(),
            resume(true)
        );
        // Lost slot: an error unless the mode re-snapshots.
        assert!(plan(Initial, Some(cp(true)), false, "cdc").is_err());
        assert!(plan(NoData, Some(cp(true)), false, "cdc").is_err());
        assert_eq!(
            plan(WhenNeeded, Some(cp(true)), false, "cdc").unwrap(),
            fresh(false)
        );
        assert_eq!(
            plan(Always, Some(cp(true)), false, "cdc").unwrap(),
            fresh(false)
        );
        // no_data takes over an existing slot it has no checkpoint of.
        assert_eq!(
            plan(NoData, Some(cp(false)), true, "cdc").unwrap(),
            Plan::AdoptSlot
        );
        assert_eq!(plan(NoData, None, true, "cdc").unwrap(), Plan::AdoptSlot);
        assert_eq!(
            plan(NoData, Some(cp(true)), true, "other").unwrap(),
            Plan::AdoptSlot
        );
        assert_eq!(plan(NoData, None, false, "cdc").unwrap(), fresh(false));
        // Interrupted snapshot, no checkpoint, another slot's checkpoint: start over.
        for mode in [Initial, WhenNeeded, Always] {
            assert_eq!(
                plan(mode, Some(cp(false)), true, "cdc").unwrap(),
                fresh(true)
            );
            assert_eq!(plan(mode, None, false, "cdc").unwrap(), fresh(false));
            assert_eq!(
                plan(mode, Some(cp(true)), true, "other").unwrap(),
                fresh(true)
            );
        }
        for slot in [true, false] {
            assert_eq!(
                plan(InitialOnly, Some(cp(true)), slot, "cdc").unwrap(),
                Plan::SnapshotOnly
            );
            assert_eq!(
                plan(InitialOnly, None, slot, "cdc").unwrap(),
                Plan::SnapshotOnly
            );
        }
    }
}
