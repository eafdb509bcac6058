//! The durable resume position: a `cdc.checkpoint.v1.Checkpoint` protobuf file, replaced
//! atomically (write to a temporary file, fsync, rename, fsync the directory).

use std::io::Write;
use std::path::{Path, PathBuf};

use cdc_proto::checkpoint::v1::Checkpoint;
use prost::Message;

use crate::position::{wrong_kind, ResumePosition};
use crate::CaptureError;

/// Reads and writes one checkpoint file.
#[derive(Debug, Clone)]
pub struct CheckpointStore {
    path: PathBuf,
    topic_prefix: String,
}

impl CheckpointStore {
    pub fn new(path: PathBuf, topic_prefix: &str) -> CheckpointStore {
        CheckpointStore {
            path,
            topic_prefix: topic_prefix.to_owned(),
        }
    }

    /// The stored position, `None` if no checkpoint was written yet.
    pub fn load<P: ResumePosition>(&self) -> Result<Option<P>, CaptureError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.io_error(e)),
        };
        let cp = Checkpoint::decode(bytes.as_slice()).map_err(|e| {
            CaptureError::Checkpoint(format!("{} is corrupt: {e}", self.path.display()))
        })?;
        if cp.topic_prefix != self.topic_prefix {
            return Err(CaptureError::Checkpoint(format!(
                "{} belongs to topic prefix {:?}, not {:?}",
                self.path.display(),
                cp.topic_prefix,
                self.topic_prefix
            )));
        }
        match cp.source {
            Some(source) => P::from_source(source).map(Some).map_err(|found| {
                CaptureError::Checkpoint(wrong_kind::<P>(&self.path.display().to_string(), found))
            }),
            None => Err(CaptureError::Checkpoint(format!(
                "{} holds no {} position",
                self.path.display(),
                P::KIND
            ))),
        }
    }

    /// Durably replaces the checkpoint.
    pub fn store<P: ResumePosition>(&self, position: &P) -> Result<(), CaptureError> {
        let cp = Checkpoint {
            topic_prefix: self.topic_prefix.clone(),
            written_at_unix_ms: chrono::Utc::now().timestamp_millis(),
            source: Some(position.clone().into_source()),
        };
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| self.io_error(e))?;
        let tmp = self.path.with_extension("checkpoint.tmp");
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&cp.encode_to_vec())?;
            f.sync_all()?;
            std::fs::rename(&tmp, &self.path)?;
            std::fs::File::open(dir)?.sync_all()
        };
        write().map_err(|e| self.io_error(e))
    }

    /// Removes the checkpoint (before a fresh snapshot).
    pub fn clear(&self) -> Result<(), CaptureError> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.io_error(e)),
        }
    }

    fn io_error(&self, e: std::io::Error) -> CaptureError {
        CaptureError::Checkpoint(format!("{}: {e}", self.path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cdc_proto::checkpoint::v1::{BinlogOffset, MySqlPosition, PostgresPosition};

    #[test]
    fn stores_loads_and_rejects_foreign_or_corrupt_files() {
        let dir = std::env::temp_dir().join(format!("cdc-cp-test-{}", std::process::id()));
        let store = CheckpointStore::new(dir.join("srv.checkpoint"), "srv");
        assert_eq!(store.load::<PostgresPosition>().unwrap(), None);
        let pos = PostgresPosition {
            slot_name: "cdc".into(),
            confirmed_lsn: 42,
            snapshot_lsn: 7,
            snapshot_completed: true,
            partial: None,
            snapshot_progress: Vec::new(),
            incremental: None,
        };
        store.store(&pos).unwrap();
        assert_eq!(store.load().unwrap(), Some(pos));
        let other = CheckpointStore::new(dir.join("srv.checkpoint"), "other");
        assert!(other.load::<PostgresPosition>().is_err());
        let err = store.load::<MySqlPosition>().unwrap_err().to_string();
        assert!(err.contains("holds a PostgreSQL position"), "{err}");
        std::fs::write(dir.join("srv.checkpoint"), [0xff, 0xff, 0xff]).unwrap();
        assert!(store.load::<PostgresPosition>().is_err());
        store.clear().unwrap();
        assert_eq!(store.load::<PostgresPosition>().unwrap(), None);
        let mysql = MySqlPosition {
            offset: Some(BinlogOffset {
                gtids: Some("0-1-42".into()),
                file: "mariadb-bin.000003".into(),
                pos: 1234,
                event: 2,
                row: 1,
                server_id: 1,
                ts_sec: 1_700_000_000,
            }),
            snapshot_completed: true,
            ..MySqlPosition::default()
        };
        store.store(&mysql).unwrap();
        assert_eq!(store.load::<MySqlPosition>().unwrap(), Some(mysql));
        let err = store.load::<PostgresPosition>().unwrap_err().to_string();
        assert!(err.contains("holds a MySQL/MariaDB position"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
