//! Captured tables: the model schema of a PostgreSQL table, its topic and codec, and the
//! conversion of pgoutput tuples and snapshot rows into model rows.

use std::collections::HashMap;
use std::sync::Arc;

use cdc_model::debezium::{TableCodec, UNAVAILABLE_VALUE_PLACEHOLDER};
use cdc_model::{Column, ColumnType, Row, TableId, TableSchema, Value};

use crate::pgoutput::TupleValue;
use crate::pgtypes;
use crate::selection::Selection;
use crate::CaptureError;

/// What the catalog says about one column.
#[derive(Debug, Clone)]
pub struct PgColumn {
    pub name: String,
    pub type_oid: u32,
    pub type_modifier: i32,
    pub not_null: bool,
    /// `pg_get_expr` of the column default.
    pub default_expr: Option<String>,
    /// 1-based position in the primary key.
    pub pk_position: Option<i32>,
}

/// Loads the columns of `table` in attribute order.
pub async fn load_columns(
    client: &tokio_postgres::Client,
    table: &TableId,
) -> Result<Vec<PgColumn>, CaptureError> {
    const SQL: &str = "SELECT a.attname::text, a.atttypid::oid, a.atttypmod, a.attnotnull, \
               pg_get_expr(d.adbin, d.adrelid), \
               array_position(i.indkey::int2[], a.attnum)::int4 \
        FROM pg_attribute a \
        JOIN pg_class c ON c.oid = a.attrelid \
        JOIN pg_namespace n ON n.oid = c.relnamespace \
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
        LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary \
        WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped \
          AND a.attgenerated = '' \
        ORDER BY a.attnum";
    let rows = client
        .query(SQL, &[&table.namespace, &table.name])
        .await
        .map_err(|e| CaptureError::postgres(format!("reading the columns of {table}"), e))?;
    if rows.is_empty() {
        return Err(CaptureError::Config(format!(
            "table {table} does not exist or has no columns"
        )));
    }
    Ok(rows
        .iter()
        .map(|r| PgColumn {
            name: r.get(0),
            type_oid: r.get(1),
            type_modifier: r.get(2),
            not_null: r.get(3),
            default_expr: r.get(4),
            pk_position: r.get(5),
        })
        .collect())
}

/// A table being captured.
#[derive(Debug, Clone)]
pub struct CapturedTable {
    pub schema: Arc<TableSchema>,
    pub codec: TableCodec,
    pub topic: String,
    /// For each PostgreSQL column in attribute order, its index in `schema.columns`, or
    /// `None` when its type is not mapped (left out of events).
    source_columns: Vec<Option<usize>>,
    /// Quoted names of the mapped columns, for snapshot queries.
    select_list: String,
}

impl CapturedTable {
    /// Builds the table from its catalog columns. Columns `selection` excludes are left
    /// out of events; `message.key.columns` replaces the primary key as the event key.
    pub fn new(
        id: TableId,
        columns: &[PgColumn],
        topic_prefix: &str,
        selection: &Selection,
    ) -> CapturedTable {
        let mut model_columns = Vec::new();
        let mut source_columns = Vec::with_capacity(columns.len());
        let mut keyed: Vec<(i32, usize)> = Vec::new();
        for c in columns {
            if !selection.column_included(&id, &c.name) {
                source_columns.push(None);
                continue;
            }
            let Some(ty) = pgtypes::column_type(c.type_oid, c.type_modifier) else {
                tracing::warn!(table = %id, column = %c.name, type_oid = c.type_oid,
                    "column type is not supported yet; the column is left out of events");
                source_columns.push(None);
                continue;
            };
            let default = c
                .default_expr
                .as_deref()
                .and_then(|e| default_value(&ty, e));
            if let Some(p) = c.pk_position {
                keyed.push((p, model_columns.len()));
            }
            source_columns.push(Some(model_columns.len()));
            model_columns.push(Column {
                name: c.name.clone(),
                ty,
                nullable: !c.not_null,
                default,
            });
        }
        keyed.sort();
        let names: Vec<&str> = model_columns.iter().map(|c| c.name.as_str()).collect();
        let key = selection
            .key_columns(&id, &names)
            .unwrap_or_else(|| keyed.into_iter().map(|(_, i)| i).collect());
        let select_list = model_columns
            .iter()
            .map(|c| quote_ident(&c.name))
            .collect::<Vec<_>>()
            .join(", ");
        let topic = topic_name(topic_prefix, &id);
        let schema = Arc::new(TableSchema {
            id,
            columns: model_columns,
            key,
        });
        CapturedTable {
            codec: TableCodec::new(schema.clone(), &topic),
            schema,
            topic,
            source_columns,
            select_list,
        }
    }

    /// Rebuilds the table from a pgoutput Relation message's columns, taking nullability,
    /// defaults and the primary key from the catalog columns.
    pub fn from_relation(
        id: TableId,
        relation: &[crate::pgoutput::RelationColumn],
        catalog: &[PgColumn],
        topic_prefix: &str,
        selection: &Selection,
    ) -> CapturedTable {
        let by_name: HashMap<&str, &PgColumn> =
            catalog.iter().map(|c| (c.name.as_str(), c)).collect();
        let columns: Vec<PgColumn> = relation
            .iter()
            .map(|r| {
                let known = by_name.get(r.name.as_str());
                PgColumn {
                    name: r.name.clone(),
                    type_oid: r.type_oid,
                    type_modifier: r.type_modifier,
                    not_null: known.is_some_and(|c| c.not_null),
                    default_expr: known.and_then(|c| c.default_expr.clone()),
                    pk_position: known.and_then(|c| c.pk_position),
                }
            })
            .collect();
        CapturedTable::new(id, &columns, topic_prefix, selection)
    }

    /// `SELECT` list of the captured columns.
    pub fn select_list(&self) -> &str {
        &self.select_list
    }

    /// Converts a pgoutput tuple into a model row.
    pub fn row_from_tuple(&self, tuple: &[TupleValue]) -> Result<Row, CaptureError> {
        if tuple.len() != self.source_columns.len() {
            return Err(CaptureError::Decode(format!(
                "table {}: tuple has {} columns, relation has {}",
                self.schema.id,
                tuple.len(),
                self.source_columns.len()
            )));
        }
        let mut row = Vec::with_capacity(self.schema.columns.len());
        for (value, target) in tuple.iter().zip(&self.source_columns) {
            let Some(i) = *target else { continue };
            let column = &self.schema.columns[i];
            row.push(match value {
                TupleValue::Null => Value::Null,
                TupleValue::UnchangedToast => self.unchanged_toast(column)?,
                TupleValue::Text(bytes) => {
                    let text = std::str::from_utf8(bytes).map_err(|_| {
                        self.value_error(column, "text value is not valid UTF-8".into())
                    })?;
                    pgtypes::parse_text(&column.ty, text)
                        .map_err(|reason| self.value_error(column, reason))?
                }
                TupleValue::Binary(_) => {
                    return Err(
                        self.value_error(column, "binary tuple data is not requested".into())
                    )
                }
            });
        }
        Ok(row)
    }

    /// Converts a snapshot row (text values of the select list) into a model row.
    pub fn row_from_text<'a>(
        &self,
        values: impl Iterator<Item = Option<&'a str>>,
    ) -> Result<Row, CaptureError> {
        let row: Row = values
            .zip(&self.schema.columns)
            .map(|(v, column)| match v {
                None => Ok(Value::Null),
                Some(text) => pgtypes::parse_text(&column.ty, text)
                    .map_err(|reason| self.value_error(column, reason)),
            })
            .collect::<Result<_, _>>()?;
        if row.len() != self.schema.columns.len() {
            return Err(CaptureError::Decode(format!(
                "table {}: snapshot row has {} values, expected {}",
                self.schema.id,
                row.len(),
                self.schema.columns.len()
            )));
        }
        Ok(row)
    }

    fn unchanged_toast(&self, column: &Column) -> Result<Value, CaptureError> {
        match column.ty {
            ColumnType::String | ColumnType::Json => {
                Ok(Value::String(UNAVAILABLE_VALUE_PLACEHOLDER.into()))
            }
            ColumnType::Bytes => Ok(Value::Bytes(UNAVAILABLE_VALUE_PLACEHOLDER.into())),
            _ => Err(self.value_error(
                column,
                "unchanged TOAST value for a type without a placeholder".into(),
            )),
        }
    }

    fn value_error(&self, column: &Column, reason: String) -> CaptureError {
        CaptureError::Decode(format!(
            "table {}, column {}: {reason}",
            self.schema.id, column.name
        ))
    }
}

/// `<prefix>.<schema>.<table>`, characters outside `[A-Za-z0-9._-]` replaced by `_` as
/// Debezium's topic naming strategy does.
pub fn topic_name(prefix: &str, id: &TableId) -> String {
    format!("{prefix}.{}.{}", id.namespace, id.name)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Quotes an SQL identifier.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The schema default Debezium propagates for a column default expression: sequence
/// defaults become the type's zero, plain literals their value; anything else none.
fn default_value(ty: &ColumnType, expr: &str) -> Option<Value> {
    if expr.starts_with("nextval(") {
        return Some(ty.zero_value());
    }
    let literal = match expr.strip_prefix('\'') {
        Some(rest) => {
            let end = rest.find("'::")?;
            rest[..end].replace("''", "'")
        }
        None => expr
            .split("::")
            .next()?
            .trim_matches(|c| c == '(' || c == ')')
            .to_owned(),
    };
    pgtypes::parse_text(ty, &literal).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(
        name: &str,
        oid: u32,
        not_null: bool,
        default: Option<&str>,
        pk: Option<i32>,
    ) -> PgColumn {
        PgColumn {
            name: name.into(),
            type_oid: oid,
            type_modifier: -1,
            not_null,
            default_expr: default.map(Into::into),
            pk_position: pk,
        }
    }

    #[test]
    fn builds_schema_key_defaults_and_skips_unmapped_types() {
        let t = CapturedTable::new(
            TableId::new("public", "t x"),
            &[
                col("b", 25, false, Some("'x''y'::text"), Some(2)),
                col("geo", 600, false, None, None),
                col("a", 23, true, Some("nextval('t_a_seq'::regclass)"), Some(1)),
                col("n", 23, false, Some("7"), None),
            ],
            "srv",
            &Selection::default(),
        );
        assert_eq!(t.topic, "srv.public.t_x");
        let names: Vec<_> = t.schema.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["b", "a", "n"]);
        assert_eq!(t.schema.key, vec![1, 0]);
        assert_eq!(
            t.schema.columns[0].default,
            Some(Value::String("x'y".into()))
        );
        assert_eq!(t.schema.columns[1].default, Some(Value::Int32(0)));
        assert_eq!(t.schema.columns[2].default, Some(Value::Int32(7)));
        assert_eq!(t.select_list(), "\"b\", \"a\", \"n\"");
        let row = t
            .row_from_tuple(&[
                TupleValue::UnchangedToast,
                TupleValue::Text("POINT".into()),
                TupleValue::Text("5".into()),
                TupleValue::Null,
            ])
            .unwrap();
        assert_eq!(
            row,
            vec![
                Value::String(UNAVAILABLE_VALUE_PLACEHOLDER.into()),
                Value::Int32(5),
                Value::Null
            ]
        );
        assert!(t.row_from_tuple(&[TupleValue::Null]).is_err());
        assert!(t
            .row_from_tuple(&[
                TupleValue::Null,
                TupleValue::Null,
                TupleValue::Text("x".into()),
                TupleValue::Null
            ])
            .is_err());
    }
}
