//! Schema evolution: how an existing Iceberg table follows the schema of its source table as
//! Debezium reports it in each change event.
//!
//! - a new source column is added to the table as an optional column (older rows read null);
//! - a widened source column widens the table column, as far as Iceberg allows: `int → long`,
//!   `float → double`, `decimal(P, S) → decimal(P', S)` with `P' > P`;
//! - a source column narrower than the table column (e.g. the table is already `long`) is
//!   written into the wider table column unchanged;
//! - a dropped source column stays in the table and is null in rows written from then on;
//! - any other type change, a change of a mirror table's primary key, or a new or dropped
//!   required column is an error naming the table and column: Iceberg cannot express it, and
//!   the table must be recreated (or the column renamed at the source).
//!
//! Field ids of existing columns never change; new columns get ids above the table's
//! `last-column-id`, so every Iceberg reader maps old data files correctly.

use iceberg::spec::{NestedField, NestedFieldRef, PrimitiveType, Schema, Type};

use crate::SinkError;

/// A schema change to commit: the new schema and what changed, for logs.
#[derive(Debug)]
pub(crate) struct Evolution {
    pub schema: Schema,
    pub changes: Vec<String>,
}

/// Compares the schema the sink would create for the source table now (`expected`) with the
/// table's `current` schema. `Ok(None)`: the table can take the source's rows as it is.
/// `last_column_id` is the table metadata's `last-column-id`.
pub(crate) fn evolve(
    table: &str,
    expected: &Schema,
    current: &Schema,
    last_column_id: i32,
) -> Result<Option<Evolution>, SinkError> {
    let mismatch = |column: &str, reason: String| SinkError::SchemaMismatch {
        table: table.to_owned(),
        column: column.to_owned(),
        reason,
    };
    let keys = |schema: &Schema| -> Vec<String> {
        let mut names: Vec<String> = schema
            .identifier_field_ids()
            .filter_map(|id| schema.name_by_field_id(id).map(str::to_owned))
            .collect();
        names.sort();
        names
    };
    let (want_keys, have_keys) = (keys(expected), keys(current));
    if want_keys != have_keys {
        return Err(mismatch(
            &want_keys.join(", "),
            format!(
                "the primary key changed from ({}) to ({}); the identifier fields of an \
                 Iceberg mirror table cannot change: recreate the table",
                have_keys.join(", "),
                want_keys.join(", ")
            ),
        ));
    }
    let mut changes = Vec::new();
    let mut fields: Vec<NestedFieldRef> = Vec::with_capacity(expected.as_struct().fields().len());
    for field in current.as_struct().fields() {
        let Some(wanted) = expected.field_by_name(&field.name) else {
            if field.required {
                return Err(mismatch(
                    &field.name,
                    "a required column is gone from the source table".into(),
                ));
            }
            // Dropped at the source: kept, written as null from now on.
            fields.push(field.clone());
            continue;
        };
        let (have, want) = (primitive(field), primitive(wanted));
        match (have, want) {
            (Some(have), Some(want)) if have == want => fields.push(field.clone()),
            (Some(have), Some(want)) if widens(have, want) => {
                changes.push(format!("{}: {have} → {want}", field.name));
                fields.push(
                    NestedField {
                        field_type: Box::new(Type::Primitive(want.clone())),
                        ..(**field).clone()
                    }
                    .into(),
                );
            }
            // The source is narrower than the table: its values fit as they are.
            (Some(have), Some(want)) if widens(want, have) => fields.push(field.clone()),
            _ => {
                return Err(mismatch(
                    &field.name,
                    format!(
                        "the type changed from {} to {}, which Iceberg cannot express (it \
                         widens only int → long, float → double and decimal precision); \
                         recreate the table or add the column under a new name",
                        field.field_type, wanted.field_type
                    ),
                ))
            }
        }
    }
    let mut next_id = last_column_id.max(current.highest_field_id());
    for wanted in expected.as_struct().fields() {
        if current.field_by_name(&wanted.name).is_some() {
            continue;
        }
        if wanted.required {
            return Err(mismatch(
                &wanted.name,
                "a new required column cannot be added to an existing Iceberg table".into(),
            ));
        }
        next_id = next_id
            .checked_add(1)
            .ok_or_else(|| mismatch(&wanted.name, "the table has run out of field ids".into()))?;
        changes.push(format!("{}: added ({})", wanted.name, wanted.field_type));
        fields.push(
            NestedField {
                id: next_id,
                ..(**wanted).clone()
            }
            .into(),
        );
    }
    if changes.is_empty() {
        return Ok(None);
    }
    let schema = Schema::builder()
        .with_schema_id(current.schema_id())
        .with_fields(fields)
        .with_identifier_field_ids(current.identifier_field_ids())
        .build()
        .map_err(|e| SinkError::Batch {
            table: table.to_owned(),
            reason: format!("cannot build the evolved Iceberg schema: {e}"),
        })?;
    Ok(Some(Evolution { schema, changes }))
}

fn primitive(field: &NestedField) -> Option<&PrimitiveType> {
    match field.field_type.as_ref() {
        Type::Primitive(p) => Some(p),
        _ => None,
    }
}

/// Whether Iceberg (format v2) can promote a column of type `from` to `to`.
fn widens(from: &PrimitiveType, to: &PrimitiveType) -> bool {
    match (from, to) {
        (PrimitiveType::Int, PrimitiveType::Long)
        | (PrimitiveType::Float, PrimitiveType::Double) => true,
        (
            PrimitiveType::Decimal {
                precision: p1,
                scale: s1,
            },
            PrimitiveType::Decimal {
                precision: p2,
                scale: s2,
            },
        ) => s1 == s2 && p2 > p1,
        _ => false,
    }
}

#[cfg(test)]
#[path = "evolution_tests.rs"]
mod tests;
