//! Slot health: how far the slot's confirmed position trails the server's WAL, how much WAL it
//! retains, and its `wal_status`. A slot whose WAL was removed (`wal_status = lost`) cannot
//! deliver the changes it missed: that stops the capture with the recovery to take.

use std::time::Duration;

use crate::config::SourceConfig;
use crate::metrics::{CaptureMetrics, WalStatus};
use crate::CaptureError;

/// How often the slot is inspected.
const INTERVAL: Duration = Duration::from_secs(10);

/// Samples the slot every [`INTERVAL`] until an error; returns only with an error.
pub async fn monitor(source: &SourceConfig, metrics: CaptureMetrics) -> CaptureError {
    let client = match crate::source::connect_sql(source).await {
        Ok(c) => c,
        Err(e) => return e,
    };
    let mut tick = tokio::time::interval(INTERVAL);
    loop {
        tick.tick().await;
        let row = match client
            .query_opt(
                "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::int8, \
                        pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::int8, \
                        wal_status::text \
                 FROM pg_replication_slots WHERE slot_name = $1",
                &[&source.slot_name],
            )
            .await
        {
            Ok(row) => row,
            Err(e) => return CaptureError::postgres("inspecting the replication slot", e),
        };
        let Some(row) = row else {
            return CaptureError::SlotLost(format!(
                "replication slot {} was dropped while streaming; changes after the stored \
                 position may be lost. Restart with snapshot.mode = when_needed to take a new \
                 snapshot",
                source.slot_name
            ));
        };
        let lag: Option<i64> = row.get(0);
        let retained: Option<i64> = row.get(1);
        let status: Option<String> = row.get(2);
        metrics.slot_lag_bytes.set(lag.unwrap_or(0));
        metrics.slot_retained_wal_bytes.set(retained.unwrap_or(0));
        for s in ["reserved", "extended", "unreserved", "lost"] {
            let current = i64::from(status.as_deref() == Some(s));
            metrics
                .slot_wal_status
                .get_or_create(&WalStatus {
                    status: s.to_owned(),
                })
                .set(current);
        }
        if status.as_deref() == Some("lost") {
            return CaptureError::SlotLost(format!(
                "replication slot {} lost WAL it still needed (wal_status=lost, see \
                 max_slot_wal_keep_size); changes were lost. Restart with snapshot.mode = \
                 when_needed to drop the slot and take a new snapshot",
                source.slot_name
            ));
        }
    }
}
