//! Connections to the PostgreSQL source and the control plane: publication, slot, resume plan.

use std::time::Duration;

use cdc_model::TableId;
use cdc_proto::checkpoint::v1::PostgresPosition;
use pgwire_replication::{Lsn, ReplicationClient, ReplicationConfig, TlsConfig};

use crate::config::SourceConfig;
use crate::pgtypes::SESSION_SETTINGS;
use crate::table::quote_ident;
use crate::CaptureError;

/// Opens a regular SQL connection (catalog queries, snapshot reads).
pub async fn connect_sql(source: &SourceConfig) -> Result<tokio_postgres::Client, CaptureError> {
    let mut cfg = tokio_postgres::Config::new();
    cfg.host(&source.host)
        .port(source.port)
        .user(&source.user)
        .dbname(&source.database)
        .application_name("cdc-capture")
        .connect_timeout(Duration::from_secs(30));
    if !source.password.is_empty() {
        cfg.password(source.password.expose());
    }
    let (client, connection) = cfg.connect(tokio_postgres::NoTls).await.map_err(|e| {
        CaptureError::postgres(
            format!(
                "connecting to {}:{} as {}",
                source.host, source.port, source.user
            ),
            e,
        )
    })?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %e, "PostgreSQL connection closed");
        }
    });
    Ok(client)
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
    .with_port(source.port)
    .with_tls(TlsConfig::disabled())
    .with_options(options)
    .with_application_name("cdc-capture")
    .with_status_interval(Duration::from_secs(1))
}

/// Creates the publication if missing and adds captured tables it lacks.
pub async fn ensure_publication(
    client: &tokio_postgres::Client,
    name: &str,
    tables: &[TableId],
) -> Result<(), CaptureError> {
    let pg = |what: String, e| CaptureError::postgres(what, e);
    let qualified = |t: &TableId| format!("{}.{}", quote_ident(&t.namespace), quote_ident(&t.name));
    let exists = client
        .query_opt("SELECT 1 FROM pg_publication WHERE pubname = $1", &[&name])
        .await
        .map_err(|e| pg(format!("looking up publication {name}"), e))?
        .is_some();
    if !exists {
        let list = tables.iter().map(qualified).collect::<Vec<_>>().join(", ");
        client
            .batch_execute(&format!(
                "CREATE PUBLICATION {} FOR TABLE {list}",
                quote_ident(name)
            ))
            .await
            .map_err(|e| pg(format!("creating publication {name}"), e))?;
        tracing::info!(publication = name, tables = %list, "publication created");
        return Ok(());
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
    for table in tables.iter().filter(|t| !present.contains(t)) {
        client
            .batch_execute(&format!(
                "ALTER PUBLICATION {} ADD TABLE {}",
                quote_ident(name),
                qualified(table)
            ))
            .await
            .map_err(|e| pg(format!("adding {table} to publication {name}"), e))?;
        tracing::info!(publication = name, %table, "table added to publication");
    }
    Ok(())
}

/// Whether the slot exists (and is a pgoutput slot of this database).
pub async fn slot_exists(
    client: &tokio_postgres::Client,
    source: &SourceConfig,
) -> Result<bool, CaptureError> {
    let row = client
        .query_opt(
            "SELECT plugin::text, database::text FROM pg_replication_slots WHERE slot_name = $1",
            &[&source.slot_name],
        )
        .await
        .map_err(|e| CaptureError::postgres("looking up the replication slot", e))?;
    match row {
        None => Ok(false),
        Some(r) => {
            let (plugin, db): (Option<String>, Option<String>) = (r.get(0), r.get(1));
            if plugin.as_deref() != Some("pgoutput") || db.as_deref() != Some(&source.database) {
                return Err(CaptureError::Config(format!(
                    "replication slot {} exists but is not a pgoutput slot of database {} \
                     (plugin {plugin:?}, database {db:?})",
                    source.slot_name, source.database
                )));
            }
            Ok(true)
        }
    }
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

/// What to do at start, from the checkpoint and the slot.
#[derive(Debug, PartialEq)]
pub enum Plan {
    /// Stream from the checkpoint.
    Resume(PostgresPosition),
    /// Continue an interrupted initial snapshot (the slot is kept), then stream.
    ResumeSnapshot(PostgresPosition),
    /// (Re)create the slot and take the initial snapshot; drop a stale slot first.
    Fresh { drop_stale_slot: bool },
}

/// Decides how to start. A completed checkpoint whose slot is gone is an error: changes
/// since the checkpoint may be lost, and an operator must decide.
pub fn plan(
    checkpoint: Option<PostgresPosition>,
    slot_exists: bool,
    slot_name: &str,
) -> Result<Plan, CaptureError> {
    match checkpoint {
        Some(cp) if cp.snapshot_completed && cp.slot_name == slot_name => {
            if slot_exists {
                Ok(Plan::Resume(cp))
            } else {
                Err(CaptureError::SlotLost(format!(
                    "replication slot {slot_name} is missing but the checkpoint says streaming \
                     reached LSN {}; changes after it may be lost. Delete the checkpoint file to \
                     take a new initial snapshot",
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
        _ => Ok(Plan::Fresh {
            drop_stale_slot: slot_exists,
        }),
    }
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
        }
    }

    #[test]
    fn resume_plan() {
        assert_eq!(
            plan(Some(cp(true)), true, "cdc").unwrap(),
            Plan::Resume(cp(true))
        );
        assert!(plan(Some(cp(true)), false, "cdc").is_err());
        assert_eq!(
            plan(Some(cp(false)), true, "cdc").unwrap(),
            Plan::Fresh {
                drop_stale_slot: true
            }
        );
        assert_eq!(
            plan(None, false, "cdc").unwrap(),
            Plan::Fresh {
                drop_stale_slot: false
            }
        );
        assert_eq!(
            plan(Some(cp(true)), true, "other").unwrap(),
            Plan::Fresh {
                drop_stale_slot: true
            }
        );
    }
}
