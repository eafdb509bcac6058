//! The tables of a MySQL / MariaDB server: listing and selecting them, reading their DDL, and
//! their event schemas, codecs and topics.

use std::collections::HashMap;
use std::sync::Arc;

use cdc_model::debezium::{TableCodec, ValueOptions};
use cdc_model::{TableId, TableSchema};
use cdc_mysql::ddl::TableDef;
use cdc_mysql::stream::{ColumnSelection, Projection};
use cdc_mysql::types::HandlingModes;
use mysql_async::prelude::Queryable;

use super::snapshot::EventTable;
use crate::selection::Selection;
use crate::CaptureError;

/// Databases never captured (Debezium's MySQL connector skips them too).
const SYSTEM_DATABASES: &[&str] = &["mysql", "information_schema", "performance_schema", "sys"];

/// Every base table outside the system databases, as `(database, table)`.
pub async fn list_tables(conn: &mut mysql_async::Conn) -> Result<Vec<TableId>, CaptureError> {
    let rows: Vec<(String, String)> = conn
        .query(
            "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES \
             WHERE TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_SCHEMA, TABLE_NAME",
        )
        .await
        .map_err(|e| CaptureError::mysql("listing tables", e))?;
    Ok(rows
        .into_iter()
        .filter(|(db, _)| !SYSTEM_DATABASES.contains(&db.to_ascii_lowercase().as_str()))
        .map(|(db, t)| TableId::new(db, t))
        .collect())
}

/// Whether `id` is in a system database.
pub fn is_system_database(id: &TableId) -> bool {
    SYSTEM_DATABASES.contains(&id.namespace.to_ascii_lowercase().as_str())
}

/// The captured tables among `all`.
pub fn select(selection: &Selection, all: &[TableId]) -> Vec<TableId> {
    selection.select_tables(all)
}

/// `SHOW CREATE TABLE` of each of `tables`.
pub async fn show_create(
    conn: &mut mysql_async::Conn,
    tables: &[TableId],
) -> Result<Vec<(TableId, String)>, CaptureError> {
    let mut out = Vec::with_capacity(tables.len());
    for id in tables {
        let quoted = format!(
            "`{}`.`{}`",
            id.namespace.replace('`', "``"),
            id.name.replace('`', "``")
        );
        let row: Option<(String, String)> = conn
            .query_first(format!("SHOW CREATE TABLE {quoted}"))
            .await
            .map_err(|e| CaptureError::mysql(format!("SHOW CREATE TABLE {id}"), e))?;
        let (_, ddl) = row.ok_or_else(|| {
            CaptureError::Config(format!("SHOW CREATE TABLE {id} returned nothing"))
        })?;
        out.push((id.clone(), ddl));
    }
    Ok(out)
}

/// `<topic_prefix>.<db>.<table>`.
pub fn topic_name(prefix: &str, id: &TableId) -> String {
    format!("{prefix}.{}.{}", id.namespace, id.name)
}

/// The model table id of a tracked table.
pub fn model_id(id: &cdc_mysql::ddl::TableId) -> TableId {
    TableId::new(id.database.clone(), id.table.clone())
}

/// The tracked table id of a model table id.
pub fn ddl_id(id: &TableId) -> cdc_mysql::ddl::TableId {
    cdc_mysql::ddl::TableId::new(id.namespace.clone(), id.name.clone())
}

/// Codecs of the captured tables, rebuilt when a table's schema changes (a DDL gives the
/// stream's events a new schema).
pub struct Codecs {
    prefix: String,
    options: ValueOptions,
    /// The column filters and key overrides (applied to tables built from definitions).
    columns: Arc<dyn ColumnSelection>,
    tables: HashMap<TableId, EventTable>,
}

impl Codecs {
    pub fn new(prefix: &str, modes: &HandlingModes, columns: Arc<dyn ColumnSelection>) -> Codecs {
        Codecs {
            prefix: prefix.to_owned(),
            options: modes.value.clone(),
            columns,
            tables: HashMap::new(),
        }
    }

    /// The table for events of `schema` (the same codec while the schema is unchanged).
    pub fn get(&mut self, schema: &Arc<TableSchema>) -> &EventTable {
        let fresh = match self.tables.get(&schema.id) {
            Some(t) => !(Arc::ptr_eq(&t.schema, schema) || *t.schema == **schema),
            None => true,
        };
        if fresh {
            let topic = topic_name(&self.prefix, &schema.id);
            let table = EventTable {
                schema: schema.clone(),
                codec: TableCodec::new(schema.clone(), &topic, &self.options),
                topic,
                projection: None,
            };
            self.tables.insert(schema.id.clone(), table);
        }
        &self.tables[&schema.id]
    }

    /// The table for a tracked definition, whose rows (every column of the table, as the
    /// snapshot reads them) go through [`EventTable::row`].
    pub fn for_def(
        &mut self,
        def: &TableDef,
        modes: &HandlingModes,
    ) -> Result<EventTable, CaptureError> {
        let error = |e| CaptureError::mysql(format!("table {}", def.id), e);
        let (full, _) = cdc_mysql::stream::table_schema(def, modes).map_err(error)?;
        let projection = Projection::new(&full, self.columns.as_ref()).map_err(error)?;
        let identity = projection.is_identity(&full);
        let table = self.get(&Arc::new(projection.schema.clone()));
        Ok(EventTable {
            schema: table.schema.clone(),
            codec: table.codec.clone(),
            topic: table.topic.clone(),
            projection: (!identity).then(|| Arc::new(projection)),
        })
    }
}
