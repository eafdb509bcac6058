//! Source column types → Iceberg types, and the schema of each mode's Iceberg table.

use cdc_model::{Column, ColumnType, TableSchema};
use iceberg::spec::{NestedField, PrimitiveType, Schema, Transform, Type, UnboundPartitionSpec};

use crate::changelog::{
    COL_KAFKA_OFFSET, COL_KAFKA_PARTITION, COL_OP, COL_POSITION, COL_TS, COL_TS_MS,
    METADATA_COLUMNS,
};
use crate::config::TableMode;
use crate::keyed::history::{
    COL_IS_CURRENT, COL_OP as HISTORY_COL_OP, COL_ROW_HASH, COL_VALID_FROM, COL_VALID_TO,
    HISTORY_COLUMNS,
};
use crate::SinkError;

/// Largest decimal precision Iceberg (and Arrow `Decimal128`) supports.
pub const MAX_DECIMAL_PRECISION: u32 = 38;

/// The Iceberg type of a source column. `table` names the table in errors.
pub fn iceberg_type(table: &str, column: &Column) -> Result<PrimitiveType, SinkError> {
    let unsupported = |reason: String| SinkError::UnsupportedColumn {
        table: table.to_owned(),
        column: column.name.clone(),
        reason,
    };
    Ok(match &column.ty {
        ColumnType::Boolean => PrimitiveType::Boolean,
        ColumnType::Int8 | ColumnType::Int16 | ColumnType::Int32 | ColumnType::Year => {
            PrimitiveType::Int
        }
        ColumnType::Int64 => PrimitiveType::Long,
        ColumnType::Float32 => PrimitiveType::Float,
        ColumnType::Float64 => PrimitiveType::Double,
        ColumnType::Decimal { precision, scale } => {
            let precision = precision.unwrap_or(MAX_DECIMAL_PRECISION);
            if precision > MAX_DECIMAL_PRECISION {
                return Err(unsupported(format!(
                    "decimal precision {precision} exceeds Iceberg's maximum of {MAX_DECIMAL_PRECISION}"
                )));
            }
            if precision == 0 || *scale > precision {
                return Err(unsupported(format!(
                    "decimal({precision}, {scale}) has no Iceberg equivalent (need 0 <= scale <= precision, precision >= 1)"
                )));
            }
            PrimitiveType::Decimal {
                precision,
                scale: *scale,
            }
        }
        ColumnType::ExactDecimal { precision, scale } => PrimitiveType::Decimal {
            precision: (*precision).min(MAX_DECIMAL_PRECISION),
            scale: *scale,
        },
        // Scale varies per value: kept exact as decimal text.
        ColumnType::VariableDecimal => PrimitiveType::String,
        ColumnType::String | ColumnType::Json | ColumnType::Uuid => PrimitiveType::String,
        ColumnType::Bytes => PrimitiveType::Binary,
        ColumnType::Date => PrimitiveType::Date,
        ColumnType::Timestamp { .. } => PrimitiveType::Timestamp,
        ColumnType::TimestampTz { .. } => PrimitiveType::Timestamptz,
        // Kept exact as text (see `batch::other_text`): ISO times and durations, labels,
        // documents, JSON for hstore and arrays, `(x,y)` for points.
        ColumnType::Time { .. }
        | ColumnType::TimeTz
        | ColumnType::Interval
        | ColumnType::Money
        | ColumnType::Enum { .. }
        | ColumnType::EnumSet { .. }
        | ColumnType::Xml
        | ColumnType::Ltree
        | ColumnType::Tsvector
        | ColumnType::Hstore
        | ColumnType::Point
        | ColumnType::Array(_) => PrimitiveType::String,
        // Bit strings as Debezium's little-endian bytes; geometries as their EWKB.
        ColumnType::Bits { .. } | ColumnType::Geometry | ColumnType::Geography => {
            PrimitiveType::Binary
        }
    })
}

/// The Iceberg types of a source table's columns, in source order, as `(name, type)`.
pub fn source_field_types(table: &TableSchema) -> Result<Vec<(String, PrimitiveType)>, SinkError> {
    let name = table.id.to_string();
    let mut fields = Vec::with_capacity(table.columns.len());
    for column in &table.columns {
        if METADATA_COLUMNS.contains(&column.name.as_str())
            || HISTORY_COLUMNS.contains(&column.name.as_str())
        {
            return Err(SinkError::UnsupportedColumn {
                table: name,
                column: column.name.clone(),
                reason: "the name is reserved for a sink metadata column".into(),
            });
        }
        fields.push((column.name.clone(), iceberg_type(&name, column)?));
    }
    Ok(fields)
}

/// The changelog schema: every source column (optional) in source order, then the metadata
/// columns. Field ids are 1.. in that order.
#[cfg(test)]
pub fn changelog_schema(table: &TableSchema) -> Result<Schema, SinkError> {
    table_schema(TableMode::Changelog, table)
}

/// The schema of `table`'s Iceberg table in `mode`: the source columns in source order, then
/// the mode's metadata columns; field ids 1.. in that order.
/// - changelog: every source column optional;
/// - mirror: primary-key columns required and the table's identifier fields;
/// - history: source columns optional, then the SCD2 columns.
pub fn table_schema(mode: TableMode, table: &TableSchema) -> Result<Schema, SinkError> {
    let key: Vec<&str> = table
        .key
        .iter()
        .filter_map(|&i| table.columns.get(i).map(|c| c.name.as_str()))
        .collect();
    if mode == TableMode::Mirror && key.is_empty() {
        return Err(SinkError::UnsupportedColumn {
            table: table.id.to_string(),
            column: String::new(),
            reason: "a mirror table needs a primary key (or Debezium message.key.columns); \
                     use the changelog mode for this table"
                .into(),
        });
    }
    let mut fields = Vec::new();
    let mut identifiers = Vec::new();
    for (name, ty) in source_field_types(table)? {
        let id = next_id(&fields);
        let required = mode == TableMode::Mirror && key.contains(&name.as_str());
        if required {
            identifiers.push(id);
        }
        let field = if required {
            NestedField::required(id, name, Type::Primitive(ty))
        } else {
            NestedField::optional(id, name, Type::Primitive(ty))
        };
        fields.push(field.into());
    }
    let metadata: &[(&str, PrimitiveType, bool)] = match mode {
        TableMode::Changelog => &[
            (COL_OP, PrimitiveType::String, true),
            (COL_TS_MS, PrimitiveType::Long, true),
            // Optional: changelog tables of older sink versions gain it by evolution. A UTC
            // `timestamp` rather than `timestamptz`: AWS Glue's column types (through
            // iceberg-catalog-glue 0.10.1) have no `timestamptz`.
            (COL_TS, PrimitiveType::Timestamp, false),
            (COL_POSITION, PrimitiveType::String, false),
            (COL_KAFKA_PARTITION, PrimitiveType::Int, true),
            (COL_KAFKA_OFFSET, PrimitiveType::Long, true),
        ],
        TableMode::Mirror => &[
            (COL_OP, PrimitiveType::String, true),
            (COL_TS_MS, PrimitiveType::Long, true),
            (COL_POSITION, PrimitiveType::String, false),
            (COL_KAFKA_PARTITION, PrimitiveType::Int, true),
            (COL_KAFKA_OFFSET, PrimitiveType::Long, true),
        ],
        TableMode::History => &[
            (COL_VALID_FROM, PrimitiveType::Timestamptz, true),
            (COL_VALID_TO, PrimitiveType::Timestamptz, false),
            (COL_IS_CURRENT, PrimitiveType::Boolean, true),
            (HISTORY_COL_OP, PrimitiveType::String, true),
            (COL_ROW_HASH, PrimitiveType::String, false),
        ],
    };
    for (name, ty, required) in metadata {
        let id = next_id(&fields);
        let field = if *required {
            NestedField::required(id, *name, Type::Primitive(ty.clone()))
        } else {
            NestedField::optional(id, *name, Type::Primitive(ty.clone()))
        };
        fields.push(field.into());
    }
    Schema::builder()
        .with_fields(fields)
        .with_identifier_field_ids(identifiers)
        .build()
        .map_err(|e| SinkError::Batch {
            table: table.id.to_string(),
            reason: format!("cannot build the Iceberg schema: {e}"),
        })
}

/// The partition spec a new table of `mode` (with `schema`) is created with: changelog tables
/// by the day of the change (`day(_cdc_ts)`, field `_cdc_ts_day`), the others unpartitioned.
pub fn partition_spec(
    table: &str,
    mode: TableMode,
    schema: &Schema,
) -> Result<Option<UnboundPartitionSpec>, SinkError> {
    if mode != TableMode::Changelog {
        return Ok(None);
    }
    let err = |reason: String| SinkError::Batch {
        table: table.to_owned(),
        reason,
    };
    let source = schema
        .field_by_name(COL_TS)
        .ok_or_else(|| err(format!("the changelog schema has no {COL_TS} column")))?;
    let spec = UnboundPartitionSpec::builder()
        .add_partition_field(source.id, format!("{COL_TS}_day"), Transform::Day)
        .map_err(|e| err(format!("cannot build the partition spec: {e}")))?
        // REST catalogs (Apache Iceberg's Java parser) require the spec id.
        .with_spec_id(0)
        .build();
    Ok(Some(spec))
}

fn next_id(fields: &[iceberg::spec::NestedFieldRef]) -> i32 {
    i32::try_from(fields.len()).map_or(i32::MAX, |n| n.saturating_add(1))
}

#[cfg(test)]
mod tests {
    use cdc_model::TableId;

    use super::*;

    fn table(columns: Vec<Column>) -> TableSchema {
        TableSchema {
            id: TableId::new("public", "t"),
            columns,
            key: vec![0],
        }
    }

    #[test]
    fn maps_every_column_type() {
        let cases = [
            (ColumnType::Boolean, PrimitiveType::Boolean),
            (ColumnType::Int16, PrimitiveType::Int),
            (ColumnType::Int32, PrimitiveType::Int),
            (ColumnType::Int64, PrimitiveType::Long),
            (ColumnType::Float32, PrimitiveType::Float),
            (ColumnType::Float64, PrimitiveType::Double),
            (
                ColumnType::Decimal {
                    precision: Some(10),
                    scale: 2,
                },
                PrimitiveType::Decimal {
                    precision: 10,
                    scale: 2,
                },
            ),
            (
                ColumnType::Decimal {
                    precision: None,
                    scale: 2,
                },
                PrimitiveType::Decimal {
                    precision: 38,
                    scale: 2,
                },
            ),
            (ColumnType::VariableDecimal, PrimitiveType::String),
            (ColumnType::String, PrimitiveType::String),
            (ColumnType::Json, PrimitiveType::String),
            (ColumnType::Uuid, PrimitiveType::String),
            (ColumnType::Bytes, PrimitiveType::Binary),
            (ColumnType::Date, PrimitiveType::Date),
            (
                ColumnType::Timestamp { precision: 6 },
                PrimitiveType::Timestamp,
            ),
            (
                ColumnType::TimestampTz { precision: None },
                PrimitiveType::Timestamptz,
            ),
        ];
        for (ty, expected) in cases {
            let column = Column::new("c", ty, true);
            assert_eq!(iceberg_type("public.t", &column).unwrap(), expected);
        }
    }

    #[test]
    fn rejects_oversized_decimals_naming_table_and_column() {
        let column = Column::new(
            "amount",
            ColumnType::Decimal {
                precision: Some(40),
                scale: 2,
            },
            true,
        );
        let err = iceberg_type("public.orders", &column)
            .unwrap_err()
            .to_string();
        assert!(err.contains("public.orders") && err.contains("amount") && err.contains("40"));
    }

    #[test]
    fn schema_has_source_then_metadata_columns() {
        let t = table(vec![
            Column::new("id", ColumnType::Int64, false),
            Column::new("name", ColumnType::String, true),
        ]);
        let schema = changelog_schema(&t).unwrap();
        let names: Vec<_> = schema
            .as_struct()
            .fields()
            .iter()
            .map(|f| f.name.clone())
            .collect();
        assert_eq!(
            names,
            [
                "id",
                "name",
                "_cdc_op",
                "_cdc_ts_ms",
                "_cdc_ts",
                "_cdc_position",
                "_cdc_kafka_partition",
                "_cdc_kafka_offset"
            ]
        );
        let id = schema.field_by_name("id").unwrap();
        assert!(!id.required, "source columns are optional");
        assert!(schema.field_by_name("_cdc_op").unwrap().required);
    }
}
