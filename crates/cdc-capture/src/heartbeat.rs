//! Heartbeats (`heartbeat.interval.ms`): a Debezium heartbeat record on
//! `__debezium-heartbeat.<topic_prefix>`, the optional `heartbeat.action.query`, and a
//! non-transactional logical message that comes back through the slot with a fresh LSN, so
//! the slot advances even when the captured tables are idle while the database is busy.

use crate::config::CaptureConfig;
use crate::emit::Emitter;
use crate::stream::HEARTBEAT_MESSAGE_PREFIX;
use crate::CaptureError;

/// One heartbeat, sent between source transactions.
pub async fn beat(
    sql: &tokio_postgres::Client,
    emitter: &Emitter<'_>,
    config: &CaptureConfig,
) -> Result<(), CaptureError> {
    emitter.heartbeat().await?;
    if let Some(query) = &config.events.heartbeat_action_query {
        sql.batch_execute(query)
            .await
            .map_err(|e| CaptureError::postgres("running events.heartbeat_action_query", e))?;
    }
    let emitted = sql
        .execute(
            "SELECT pg_logical_emit_message(false, $1, '')",
            &[&HEARTBEAT_MESSAGE_PREFIX],
        )
        .await;
    if let Err(e) = emitted {
        // Not fatal: keepalives still move the slot, only later.
        tracing::warn!(error = %e, "pg_logical_emit_message failed; the slot advances on keepalives only");
    }
    Ok(())
}
