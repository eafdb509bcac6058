//! Captured tables: the model schema of a PostgreSQL table, its topic and codec, and the
//! conversion of pgoutput tuples and snapshot rows into model rows.

use std::collections::HashMap;
use std::sync::Arc;

use cdc_model::debezium::{TableCodec, ValueOptions};
use cdc_model::{Column, ColumnType, Row, TableId, TableSchema, Value};

use crate::pgoutput::TupleValue;
use crate::pgtext::{self, Origin};
use crate::pgtypes::{self, PgScalar, PgType};
use crate::selection::Selection;
use crate::CaptureError;

/// What the catalog says about one column.
#[derive(Debug, Clone)]
pub struct PgColumn {
    pub name: String,
    /// The declared type (`pg_attribute.atttypid`; a domain's own oid).
    pub type_oid: u32,
    pub type_modifier: i32,
    /// The type resolved through the catalog (domain → base type and its modifier).
    pub pg_type: PgType,
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
    // Domains resolve to their base type and its modifier (one level, as Debezium does);
    // arrays to their element; enums carry their labels in sort order.
    const SQL: &str = "SELECT a.attname::text, a.atttypid::oid, a.atttypmod, a.attnotnull, \
               pg_get_expr(d.adbin, d.adrelid), \
               array_position(i.indkey::int2[], a.attnum)::int4, \
               bt.oid::oid, bt.typname::text, \
               CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END, \
               (SELECT array_agg(e.enumlabel::text ORDER BY e.enumsortorder) \
                  FROM pg_enum e WHERE e.enumtypid = bt.oid), \
               et.oid::oid, et.typname::text, \
               (SELECT array_agg(e.enumlabel::text ORDER BY e.enumsortorder) \
                  FROM pg_enum e WHERE e.enumtypid = et.oid) \
        FROM pg_attribute a \
        JOIN pg_class c ON c.oid = a.attrelid \
        JOIN pg_namespace n ON n.oid = c.relnamespace \
        JOIN pg_type t ON t.oid = a.atttypid \
        JOIN pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END \
        LEFT JOIN pg_type et ON et.oid = bt.typelem AND bt.typcategory = 'A' \
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
        .map(|r| {
            let element_oid: Option<u32> = r.get(10);
            PgColumn {
                name: r.get(0),
                type_oid: r.get(1),
                type_modifier: r.get(2),
                not_null: r.get(3),
                default_expr: r.get(4),
                pk_position: r.get(5),
                pg_type: PgType {
                    scalar: PgScalar {
                        oid: r.get(6),
                        name: r.get(7),
                        enum_labels: r.get(9),
                    },
                    element: element_oid.map(|oid| PgScalar {
                        oid,
                        name: r.get(11),
                        enum_labels: r.get(12),
                    }),
                    typmod: r.get(8),
                },
            }
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
    /// Per model column: whether an unchanged TOAST value has a placeholder form.
    toast_placeholder: Vec<bool>,
}

impl CapturedTable {
    /// Builds the table from its catalog columns. Columns `selection` excludes are left
    /// out of events; `message.key.columns` replaces the primary key as the event key.
    pub fn new(
        id: TableId,
        columns: &[PgColumn],
        topic_prefix: &str,
        selection: &Selection,
        options: &ValueOptions,
    ) -> CapturedTable {
        let mut model_columns = Vec::new();
        let mut source_columns = Vec::with_capacity(columns.len());
        let mut toast_placeholder = Vec::with_capacity(columns.len());
        let mut keyed: Vec<(i32, usize)> = Vec::new();
        for c in columns {
            if !selection.column_included(&id, &c.name) {
                source_columns.push(None);
                continue;
            }
            let Some(ty) = pgtypes::column_type(&c.pg_type) else {
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
            toast_placeholder.push(pgtypes::has_toast_placeholder(&c.pg_type));
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
            codec: TableCodec::new(schema.clone(), &topic, options),
            schema,
            topic,
            source_columns,
            select_list,
            toast_placeholder,
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
        options: &ValueOptions,
    ) -> CapturedTable {
        let by_name: HashMap<&str, &PgColumn> =
            catalog.iter().map(|c| (c.name.as_str(), c)).collect();
        let columns: Vec<PgColumn> = relation
            .iter()
            .map(|r| {
                let known = by_name.get(r.name.as_str());
                // The catalog's resolution holds while the relation still declares the same
                // type; otherwise only built-in types are known by oid.
                let pg_type = match known {
                    Some(c) if c.type_oid == r.type_oid && c.type_modifier == r.type_modifier => {
                        c.pg_type.clone()
                    }
                    _ => PgType::builtin(r.type_oid, r.type_modifier),
                };
                PgColumn {
                    name: r.name.clone(),
                    type_oid: r.type_oid,
                    type_modifier: r.type_modifier,
                    pg_type,
                    not_null: known.is_some_and(|c| c.not_null),
                    default_expr: known.and_then(|c| c.default_expr.clone()),
                    pk_position: known.and_then(|c| c.pk_position),
                }
            })
            .collect();
        CapturedTable::new(id, &columns, topic_prefix, selection, options)
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
                // Rendered as `unavailable.value.placeholder` in the column's representation;
                // arrays Debezium has no placeholder for are null.
                TupleValue::UnchangedToast if self.toast_placeholder[i] => Value::Unavailable,
                TupleValue::UnchangedToast => Value::Null,
                TupleValue::Text(bytes) => {
                    let text = std::str::from_utf8(bytes).map_err(|_| {
                        self.value_error(column, "text value is not valid UTF-8".into())
                    })?;
                    pgtext::parse_text(&column.ty, text, Origin::Stream)
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
                Some(text) => pgtext::parse_text(&column.ty, text, Origin::Snapshot)
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

    /// Gives the columns `new` left as unchanged TOAST the values of a full old image
    /// (REPLICA IDENTITY FULL), as Debezium does.
    pub fn fill_unchanged_toast(&self, after: &mut Row, new: &[TupleValue], before: &Row) {
        for (value, target) in new.iter().zip(&self.source_columns) {
            if let (TupleValue::UnchangedToast, Some(i)) = (value, *target) {
                if let (Some(a), Some(b)) = (after.get_mut(i), before.get(i)) {
                    if *b != Value::Unavailable {
                        *a = b.clone();
                    }
                }
            }
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

/// The schema default Debezium propagates for a column default expression: plain literals
/// their value; function calls (`nextval(…)`, `now()`, …) the type's zero; anything else
/// none.
fn default_value(ty: &ColumnType, expr: &str) -> Option<Value> {
    let is_call = |e: &str| {
        e.split_once('(').is_some_and(|(f, _)| {
            !f.is_empty()
                && f.chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
        })
    };
    if is_call(expr) {
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
    pgtext::parse_text(ty, &literal, Origin::Stream).ok()
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
            pg_type: PgType::builtin(oid, -1),
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
                col("geo", 603, false, None, None),
                col("a", 23, true, Some("nextval('t_a_seq'::regclass)"), Some(1)),
                col("n", 23, false, Some("7"), None),
            ],
            "srv",
            &Selection::default(),
            &ValueOptions::default(),
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
                TupleValue::Text("(0,0),(1,1)".into()),
                TupleValue::Text("5".into()),
                TupleValue::Null,
            ])
            .unwrap();
        assert_eq!(row, vec![Value::Unavailable, Value::Int32(5), Value::Null]);
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
