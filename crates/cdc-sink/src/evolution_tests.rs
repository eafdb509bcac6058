use cdc_model::{Column, ColumnType, TableId, TableSchema};
use iceberg::spec::{PrimitiveType, Schema, Type};

use super::evolve;
use crate::config::TableMode;
use crate::schema::table_schema;

fn source(columns: Vec<Column>) -> TableSchema {
    TableSchema {
        id: TableId::new("public", "t"),
        columns,
        key: vec![0],
    }
}

fn id() -> Column {
    Column::new("id", ColumnType::Int32, false)
}

fn schema(mode: TableMode, columns: Vec<Column>) -> Schema {
    table_schema(mode, &source(columns)).unwrap()
}

fn type_of(schema: &Schema, name: &str) -> (i32, Type) {
    let field = schema.field_by_name(name).unwrap();
    (field.id, (*field.field_type).clone())
}

fn decimal(precision: u32, scale: u32) -> ColumnType {
    ColumnType::Decimal {
        precision: Some(precision),
        scale,
    }
}

#[test]
fn unchanged_schema_needs_no_change() {
    for mode in [TableMode::Changelog, TableMode::Mirror, TableMode::History] {
        let s = schema(mode, vec![id(), Column::new("a", ColumnType::String, true)]);
        assert!(evolve("ns.t", &s, &s, s.highest_field_id())
            .unwrap()
            .is_none());
    }
}

#[test]
fn new_column_is_added_optional_with_a_fresh_id() {
    let old = schema(TableMode::Mirror, vec![id()]);
    let new = schema(
        TableMode::Mirror,
        vec![id(), Column::new("email", ColumnType::String, false)],
    );
    // A dropped column once had id last+1: new ids go above last-column-id.
    let last = old.highest_field_id() + 1;
    let evolved = evolve("ns.t", &new, &old, last).unwrap().unwrap();
    let email = evolved.schema.field_by_name("email").unwrap();
    assert_eq!(email.id, last + 1);
    assert!(!email.required);
    // Existing ids and the identifier fields are kept.
    for field in old.as_struct().fields() {
        assert_eq!(type_of(&evolved.schema, &field.name).0, field.id);
    }
    assert_eq!(
        evolved.schema.identifier_field_ids().collect::<Vec<_>>(),
        old.identifier_field_ids().collect::<Vec<_>>()
    );
    assert_eq!(evolved.changes, ["email: added (string)"]);
}

#[test]
fn widening_promotes_the_column_in_place() {
    let old = schema(
        TableMode::Changelog,
        vec![
            id(),
            Column::new("f", ColumnType::Float32, true),
            Column::new("d", decimal(10, 2), true),
        ],
    );
    let new = schema(
        TableMode::Changelog,
        vec![
            Column::new("id", ColumnType::Int64, false),
            Column::new("f", ColumnType::Float64, true),
            Column::new("d", decimal(20, 2), true),
        ],
    );
    let evolved = evolve("ns.t", &new, &old, old.highest_field_id())
        .unwrap()
        .unwrap();
    let s = &evolved.schema;
    assert_eq!(type_of(s, "id"), (1, Type::Primitive(PrimitiveType::Long)));
    assert_eq!(type_of(s, "f"), (2, Type::Primitive(PrimitiveType::Double)));
    assert_eq!(
        type_of(s, "d"),
        (
            3,
            Type::Primitive(PrimitiveType::Decimal {
                precision: 20,
                scale: 2
            })
        )
    );
    assert_eq!(evolved.changes.len(), 3, "{:?}", evolved.changes);
}

#[test]
fn narrower_source_and_dropped_columns_need_no_change() {
    let old = schema(
        TableMode::Changelog,
        vec![
            Column::new("id", ColumnType::Int64, false),
            Column::new("gone", ColumnType::String, true),
        ],
    );
    let new = schema(TableMode::Changelog, vec![id()]);
    assert!(evolve("ns.t", &new, &old, old.highest_field_id())
        .unwrap()
        .is_none());
}

#[test]
fn impossible_changes_name_table_and_column() {
    let old = schema(
        TableMode::Changelog,
        vec![id(), Column::new("amount", decimal(10, 2), true)],
    );
    let cases = [
        (Column::new("amount", ColumnType::String, true), "string"),
        (
            Column::new("amount", decimal(10, 4), true),
            "decimal(10, 4)",
        ),
    ];
    for (column, shown) in cases {
        let new = schema(TableMode::Changelog, vec![id(), column]);
        let err = evolve("ns.orders", &new, &old, old.highest_field_id())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("ns.orders") && err.contains("amount") && err.contains(shown),
            "{err}"
        );
    }
    // A narrower decimal of the same scale fits the table as it is.
    let narrower = schema(
        TableMode::Changelog,
        vec![id(), Column::new("amount", decimal(8, 2), true)],
    );
    assert!(evolve("ns.orders", &narrower, &old, old.highest_field_id())
        .unwrap()
        .is_none());
}

#[test]
fn mirror_key_changes_are_errors() {
    let old = schema(
        TableMode::Mirror,
        vec![id(), Column::new("a", ColumnType::Int32, false)],
    );
    let mut two = source(vec![id(), Column::new("a", ColumnType::Int32, false)]);
    two.key = vec![0, 1];
    let new = table_schema(TableMode::Mirror, &two).unwrap();
    let err = evolve("ns.t", &new, &old, old.highest_field_id())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("primary key changed from (id) to (a, id)"),
        "{err}"
    );
}
