//! Recovery: replaying schema history records into [`Schemas`].

use serde_json::Value as Json;

use super::history::{HistoryError, HistoryRecord, TableChangeType};
use super::schemas::Schemas;

impl Schemas {
    /// Replays history records in order: a record's `tableChanges` when present and not empty
    /// (unless `prefer_ddl`), else its `ddl` re-parsed in its `databaseName`.
    pub fn recover<'a>(
        &mut self,
        records: impl IntoIterator<Item = &'a HistoryRecord>,
        prefer_ddl: bool,
    ) -> Result<(), HistoryError> {
        for record in records {
            match &record.table_changes {
                Some(changes) if !changes.is_empty() && !prefer_ddl => {
                    for change in changes {
                        match (&change.kind, &change.table) {
                            (TableChangeType::Drop, _) => {
                                self.remove_table(&change.id);
                            }
                            (_, Some(table)) => {
                                if let Some(prev) = &change.previous_id {
                                    self.remove_table(prev);
                                }
                                self.put_table(table.clone());
                            }
                            (_, None) => {
                                return Err(HistoryError::Malformed(format!(
                                    "{} of {} without a table",
                                    change.kind.as_str(),
                                    change.id
                                )))
                            }
                        }
                    }
                }
                _ => {
                    if let Some(ddl) = &record.ddl {
                        self.apply(ddl, record.database_name.as_deref())
                            .map_err(|source| HistoryError::Replay {
                                position: Json::Object(record.position.clone()).to_string(),
                                source,
                            })?;
                    }
                }
            }
        }
        Ok(())
    }
}
