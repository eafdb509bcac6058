//! Captured tables as the stream decodes them: one [`TableVersion`] per table schema (the
//! event model's [`TableSchema`], shared by every event until the next DDL, plus the mapped
//! columns), the TABLE_MAP check against the tracked schema, and row images → event rows.
//! [`ColumnSelection`] / [`Projection`]: the columns events carry and their key (Debezium's
//! `column.include.list` / `column.exclude.list` and `message.key.columns`), the same for
//! snapshot and stream.

use std::sync::Arc;

use cdc_model::{Column, Row, TableId as ModelTableId, TableSchema, Value};
use mysql_async::binlog::events::{OptionalMetadataField, TableMapEvent};
use mysql_async::binlog::row::BinlogRow;
use mysql_async::binlog::value::BinlogValue;
use mysql_async::consts::ColumnType as BinlogType;

use super::StreamError;
use crate::binlog::EventPosition;
use crate::ddl::{TableDef, TableId};
use crate::types::{map_column, HandlingModes, MappedColumn, TypeError};

/// The event-model schema of `def` (columns in table order with their defaults, the primary
/// key as key) and its mapped columns. Snapshot and stream build their schemas with this one function, so the
/// events of both carry equal schemas.
pub fn table_schema(
    def: &TableDef,
    modes: &HandlingModes,
) -> Result<(TableSchema, Vec<MappedColumn>), TypeError> {
    let mapped = def
        .columns
        .iter()
        .map(|c| map_column(&c.name, &c.data_type, c.charset.as_deref(), modes))
        .collect::<Result<Vec<_>, _>>()?;
    let columns = def
        .columns
        .iter()
        .zip(&mapped)
        .map(|(c, m)| Column {
            default: c.default.as_deref().and_then(|text| default_value(m, text)),
            ..Column::new(c.name.clone(), m.ty.clone(), c.nullable)
        })
        .collect();
    let key = def
        .primary_key
        .iter()
        .map(|k| {
            def.columns
                .iter()
                .position(|c| c.name.eq_ignore_ascii_case(k))
                .ok_or_else(|| TypeError::Invalid {
                    column: k.clone(),
                    data_type: String::new(),
                    reason: format!("primary key column of {} is not a column", def.id),
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let schema = TableSchema {
        id: ModelTableId::new(def.id.database.clone(), def.id.table.clone()),
        columns,
        key,
    };
    Ok((schema, mapped))
}

/// Which columns of a captured table its events carry and which form the key: Debezium's
/// `column.include.list` / `column.exclude.list` and `message.key.columns`, decided by the
/// capture's configuration.
pub trait ColumnSelection: Send + Sync {
    /// Whether events of `table` carry `column`.
    fn included(&self, table: &ModelTableId, column: &str) -> bool;
    /// The key of `table` among `columns` (indices), or `None`: the primary key.
    fn key(&self, table: &ModelTableId, columns: &[&str]) -> Option<Vec<usize>>;
}

/// Every column, keyed by the primary key.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllColumns;

impl ColumnSelection for AllColumns {
    fn included(&self, _: &ModelTableId, _: &str) -> bool {
        true
    }

    fn key(&self, _: &ModelTableId, _: &[&str]) -> Option<Vec<usize>> {
        None
    }
}

/// The part of a table's full schema (every column, [`table_schema`]) its events carry.
#[derive(Debug, Clone, PartialEq)]
pub struct Projection {
    /// The event schema: the included columns in table order, keyed as configured.
    pub schema: TableSchema,
    /// For each column of `schema`, its index among the table's columns.
    pub kept: Vec<usize>,
}

impl Projection {
    /// Projects `full` (its primary key, or the `message.key.columns` key) through
    /// `selection`. As in Debezium the key is chosen among all the table's columns; a key
    /// column the column filters exclude is refused (events cannot carry a key column their
    /// value lacks).
    pub fn new(
        full: &TableSchema,
        selection: &dyn ColumnSelection,
    ) -> Result<Projection, TypeError> {
        let id = &full.id;
        let kept: Vec<usize> = (0..full.columns.len())
            .filter(|&i| selection.included(id, &full.columns[i].name))
            .collect();
        let names: Vec<&str> = full.columns.iter().map(|c| c.name.as_str()).collect();
        let key_full = selection
            .key(id, &names)
            .unwrap_or_else(|| full.key.clone());
        let key = key_full
            .iter()
            .map(|&k| {
                kept.iter()
                    .position(|&i| i == k)
                    .ok_or_else(|| TypeError::Invalid {
                        column: names.get(k).copied().unwrap_or_default().to_owned(),
                        data_type: String::new(),
                        reason: format!(
                            "a key column of {id} is excluded by the column filters; include it \
                         (column_include_list / column_exclude_list) or choose another key \
                         (message_key_columns)"
                        ),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let schema = TableSchema {
            id: id.clone(),
            columns: kept.iter().map(|&i| full.columns[i].clone()).collect(),
            key,
        };
        Ok(Projection { schema, kept })
    }

    /// Whether events carry every column (rows need no projection).
    pub fn is_identity(&self, full: &TableSchema) -> bool {
        self.kept.len() == full.columns.len()
    }

    /// The event row of a full row of the table.
    pub fn row(&self, mut full: Row) -> Row {
        if self.kept.len() == full.len() {
            return full;
        }
        self.kept
            .iter()
            .map(|&i| {
                full.get_mut(i)
                    .map_or(Value::Null, |v| std::mem::replace(v, Value::Null))
            })
            .collect()
    }
}

/// A column default as the schema carries it: the DDL's literal read like a text-protocol
/// value of the column (as Debezium's default-value converter parses it). Defaults of binary,
/// bit, JSON and geometry columns, unparseable literals and NULL give none (Debezium, too,
/// drops defaults it cannot convert).
fn default_value(column: &MappedColumn, text: &str) -> Option<Value> {
    use crate::types::jdbc;
    match column.meta.jdbc_type {
        jdbc::BIT | jdbc::BINARY | jdbc::VARBINARY | jdbc::BLOB | jdbc::OTHER => None,
        _ => column
            .snapshot_value(&mysql_async::Value::Bytes(text.as_bytes().to_vec()))
            .ok()
            .filter(|v| *v != Value::Null),
    }
}

/// One captured table at one schema version.
#[derive(Debug)]
pub(crate) struct TableVersion {
    pub(crate) id: TableId,
    /// The event schema (the projection's).
    pub(crate) schema: Arc<TableSchema>,
    /// Every column of the table, in table order (as the binlog has them).
    pub(crate) columns: Vec<MappedColumn>,
    /// The table columns events carry, in order.
    kept: Vec<usize>,
}

impl TableVersion {
    pub(crate) fn new(
        def: &TableDef,
        modes: &HandlingModes,
        selection: &dyn ColumnSelection,
        at: &EventPosition,
    ) -> Result<TableVersion, StreamError> {
        let type_error = |source| StreamError::Type {
            table: def.id.to_string(),
            at: at.start(),
            source: Box::new(source),
        };
        let (full, columns) = table_schema(def, modes).map_err(type_error)?;
        let projection = Projection::new(&full, selection).map_err(type_error)?;
        Ok(TableVersion {
            id: def.id.clone(),
            schema: Arc::new(projection.schema),
            columns,
            kept: projection.kept,
        })
    }

    fn mismatch(&self, at: &EventPosition, reason: String) -> StreamError {
        StreamError::Schema {
            table: self.id.to_string(),
            at: at.start(),
            reason,
        }
    }

    /// Refuses a TABLE_MAP whose columns do not fit the tracked schema (count, binlog column
    /// types, and names when the server logs them): its rows would decode into wrong columns.
    pub(crate) fn check_table_map(
        &self,
        tme: &TableMapEvent<'_>,
        at: &EventPosition,
    ) -> Result<(), StreamError> {
        let count = usize::try_from(tme.columns_count()).unwrap_or(usize::MAX);
        if count != self.columns.len() {
            return Err(self.mismatch(
                at,
                format!(
                    "the TABLE_MAP has {count} columns, the tracked schema {} ({}); the schema \
                     history does not match the binlog",
                    self.columns.len(),
                    self.column_names()
                ),
            ));
        }
        for (i, column) in self.columns.iter().enumerate() {
            let ty = tme.get_column_type(i).map_err(|e| {
                self.mismatch(
                    at,
                    format!("column {}: bad binlog column type: {e}", column.name),
                )
            })?;
            let Some(ty) = ty else {
                return Err(self.mismatch(at, format!("column {}: no binlog type", column.name)));
            };
            if !accepts_binlog_type(column, ty) {
                return Err(self.mismatch(
                    at,
                    format!(
                        "column {} is {} in the tracked schema but {ty:?} in the TABLE_MAP; the \
                         schema history does not match the binlog",
                        column.name, column.meta.type_name
                    ),
                ));
            }
        }
        for field in tme.iter_optional_meta() {
            let field = field.map_err(|e| {
                self.mismatch(
                    at,
                    format!("TABLE_MAP optional metadata does not decode: {e}"),
                )
            })?;
            if let OptionalMetadataField::ColumnName(names) = field {
                for (i, name) in names.iter_names().enumerate() {
                    let name = name.map_err(|e| {
                        self.mismatch(at, format!("TABLE_MAP column names do not decode: {e}"))
                    })?;
                    let expected = self.columns.get(i).map(|c| c.name.as_str());
                    if expected.is_none_or(|e| !e.eq_ignore_ascii_case(&name.name())) {
                        return Err(self.mismatch(
                            at,
                            format!(
                                "column {} is named {} in the TABLE_MAP; the schema history does \
                                 not match the binlog",
                                expected.unwrap_or("<none>"),
                                name.name()
                            ),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    fn column_names(&self) -> String {
        self.columns
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The event row of a row image (`before`: the before image of a partial update, whose
    /// JSON diffs apply to it).
    pub(crate) fn row(
        &self,
        image: &BinlogRow,
        before: Option<&BinlogRow>,
        at: &EventPosition,
        row_index: usize,
    ) -> Result<Row, StreamError> {
        let value_err = |source| StreamError::Value {
            table: self.id.to_string(),
            at: at.start(),
            row: row_index,
            source: Box::new(source),
        };
        let mut row = Vec::with_capacity(self.kept.len());
        for &i in &self.kept {
            let Some(column) = self.columns.get(i) else {
                continue;
            };
            let Some(value) = image.as_ref(i) else {
                return Err(self.mismatch(
                    at,
                    format!(
                        "column {} is missing from row {row_index}'s image (binlog_row_image \
                         must be FULL)",
                        column.name
                    ),
                ));
            };
            let converted = match (value, before.and_then(|b| b.as_ref(i))) {
                (BinlogValue::JsonDiff(_), Some(old)) => column.binlog_json_update(old, value),
                _ => column.binlog_value(value),
            };
            row.push(converted.map_err(value_err)?);
        }
        Ok(row)
    }

    /// Whether the key columns differ between two rows (false for keyless tables).
    pub(crate) fn key_changed(&self, before: &Row, after: &Row) -> bool {
        self.schema
            .key
            .iter()
            .any(|&i| before.get(i).unwrap_or(&Value::Null) != after.get(i).unwrap_or(&Value::Null))
    }
}

/// Whether a TABLE_MAP column type (the real type of STRING columns) can hold the values of
/// `column`, judged by its declared type (JDBC type and name as Debezium records them).
pub(crate) fn accepts_binlog_type(column: &MappedColumn, ty: BinlogType) -> bool {
    use crate::types::jdbc;
    use BinlogType as T;
    let string = matches!(
        ty,
        T::MYSQL_TYPE_STRING | T::MYSQL_TYPE_VAR_STRING | T::MYSQL_TYPE_VARCHAR
    );
    let blob = matches!(
        ty,
        T::MYSQL_TYPE_BLOB
            | T::MYSQL_TYPE_TINY_BLOB
            | T::MYSQL_TYPE_MEDIUM_BLOB
            | T::MYSQL_TYPE_LONG_BLOB
    );
    let name = column.meta.type_name.as_str();
    let first_word = name.split(' ').next().unwrap_or_default();
    match column.meta.jdbc_type {
        jdbc::BOOLEAN | jdbc::TINYINT => ty == T::MYSQL_TYPE_TINY,
        // Debezium 3.6 reports TINYINT as SMALLINT (jdbcType 5): the name tells them apart.
        jdbc::SMALLINT => match first_word {
            "TINYINT" | "INT1" | "BOOL" | "BOOLEAN" => ty == T::MYSQL_TYPE_TINY,
            _ => ty == T::MYSQL_TYPE_SHORT,
        },
        jdbc::INTEGER => match first_word {
            "MEDIUMINT" | "INT3" | "MIDDLEINT" => ty == T::MYSQL_TYPE_INT24,
            "YEAR" => ty == T::MYSQL_TYPE_YEAR,
            _ => ty == T::MYSQL_TYPE_LONG,
        },
        jdbc::BIGINT => ty == T::MYSQL_TYPE_LONGLONG,
        jdbc::BIT => ty == T::MYSQL_TYPE_BIT,
        jdbc::FLOAT | jdbc::REAL | jdbc::DOUBLE => {
            matches!(ty, T::MYSQL_TYPE_FLOAT | T::MYSQL_TYPE_DOUBLE)
        }
        jdbc::DECIMAL | jdbc::NUMERIC => {
            matches!(ty, T::MYSQL_TYPE_NEWDECIMAL | T::MYSQL_TYPE_DECIMAL)
        }
        jdbc::CHAR if first_word == "ENUM" => {
            matches!(ty, T::MYSQL_TYPE_ENUM | T::MYSQL_TYPE_STRING)
        }
        jdbc::CHAR if first_word == "SET" => matches!(ty, T::MYSQL_TYPE_SET | T::MYSQL_TYPE_STRING),
        jdbc::CHAR
        | jdbc::VARCHAR
        | jdbc::NCHAR
        | jdbc::NVARCHAR
        | jdbc::BINARY
        | jdbc::VARBINARY
        | jdbc::BLOB => string || blob,
        // MariaDB stores JSON as LONGTEXT.
        jdbc::OTHER if first_word == "JSON" => ty == T::MYSQL_TYPE_JSON || blob,
        jdbc::OTHER => ty == T::MYSQL_TYPE_GEOMETRY,
        jdbc::DATE => matches!(ty, T::MYSQL_TYPE_DATE | T::MYSQL_TYPE_NEWDATE),
        jdbc::TIME => matches!(ty, T::MYSQL_TYPE_TIME | T::MYSQL_TYPE_TIME2),
        jdbc::TIMESTAMP => matches!(ty, T::MYSQL_TYPE_DATETIME | T::MYSQL_TYPE_DATETIME2),
        jdbc::TIMESTAMP_WITH_TIMEZONE => {
            matches!(ty, T::MYSQL_TYPE_TIMESTAMP | T::MYSQL_TYPE_TIMESTAMP2)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ddl::{DdlOptions, Schemas};

    #[test]
    fn schemas_carry_columns_key_and_convertible_defaults() {
        let mut schemas = Schemas::new(DdlOptions::default());
        schemas
            .apply(
                "CREATE TABLE d.t (a INT NOT NULL DEFAULT 7, b VARCHAR(5) DEFAULT 'x', \
                 c DATETIME DEFAULT '2020-01-02 03:04:05', d BIT(3) DEFAULT b'101', \
                 e INT, f TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, PRIMARY KEY (b, a))",
                None,
            )
            .unwrap();
        let def = schemas.table("d", "t").unwrap();
        let (schema, mapped) = table_schema(def, &HandlingModes::default()).unwrap();
        assert_eq!(mapped.len(), 6);
        assert_eq!(schema.id, ModelTableId::new("d", "t"));
        assert_eq!(schema.key, [1, 0]);
        let defaults: Vec<Option<Value>> =
            schema.columns.iter().map(|c| c.default.clone()).collect();
        assert_eq!(defaults[0], Some(Value::Int32(7)));
        assert_eq!(defaults[1], Some(Value::String("x".into())));
        assert_eq!(defaults[2], Some(Value::Timestamp(1_577_934_245_000_000)));
        assert_eq!(defaults[3], None);
        assert_eq!(defaults[4], None);
        assert_eq!(defaults[5], Some(Value::TimestampTz(0)));
        assert!(!schema.columns[0].nullable && schema.columns[4].nullable);
    }
}
