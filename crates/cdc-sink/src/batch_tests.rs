use std::str::FromStr;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Float32Type, Float64Type, Int32Type, Int64Type,
    TimestampMicrosecondType,
};
use arrow_array::Array;
use cdc_model::{Column, ColumnType, Op, TableId, TableSchema};

use super::*;
use crate::changelog::RecordOrigin;
use crate::schema::changelog_schema;

fn all_types_table() -> TableSchema {
    let columns = vec![
        Column::new("id", ColumnType::Int64, false),
        Column::new("flag", ColumnType::Boolean, true),
        Column::new("small", ColumnType::Int16, true),
        Column::new("regular", ColumnType::Int32, true),
        Column::new("real_col", ColumnType::Float32, true),
        Column::new("double_col", ColumnType::Float64, true),
        Column::new(
            "price",
            ColumnType::Decimal {
                precision: Some(10),
                scale: 2,
            },
            true,
        ),
        Column::new("any_numeric", ColumnType::VariableDecimal, true),
        Column::new("name", ColumnType::String, true),
        Column::new("doc", ColumnType::Json, true),
        Column::new("uid", ColumnType::Uuid, true),
        Column::new("blob", ColumnType::Bytes, true),
        Column::new("day", ColumnType::Date, true),
        Column::new("at", ColumnType::Timestamp { precision: 6 }, true),
        Column::new(
            "at_tz",
            ColumnType::TimestampTz { precision: Some(6) },
            true,
        ),
    ];
    TableSchema {
        id: TableId::new("public", "alltypes"),
        columns,
        key: vec![0],
    }
}

fn arrow_schema(table: &TableSchema) -> SchemaRef {
    let schema = changelog_schema(table).unwrap();
    Arc::new(iceberg::arrow::schema_to_arrow_schema(&schema).unwrap())
}

fn row(op: Op, offset: i64, values: Vec<Value>) -> ChangelogRow {
    ChangelogRow {
        op,
        ts_ms: 1_700_000_000_000 + offset,
        ts_us: (1_700_000_000_000 + offset) * 1000,
        position: "0/16B3748".into(),
        origin: RecordOrigin {
            topic: Arc::from("db.public.alltypes"),
            partition: 3,
            offset,
        },
        values,
    }
}

fn full_values() -> Vec<Value> {
    vec![
        Value::Int64(1),
        Value::Boolean(true),
        Value::Int16(-7),
        Value::Int32(70_000),
        Value::Float32(1.5),
        Value::Float64(-2.25),
        Value::Decimal(Decimal::parse("12345.67").unwrap()),
        Value::Decimal(Decimal::parse("-0.000123").unwrap()),
        Value::String("héllo".into()),
        Value::String("{\"a\":1}".into()),
        Value::String("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11".into()),
        Value::Bytes(vec![0, 1, 254, 255]),
        Value::Date(19_782),
        Value::Timestamp(1_709_207_101_500_000),
        Value::TimestampTz(-1),
    ]
}

#[test]
fn builds_every_type_with_iceberg_field_ids() {
    let table = all_types_table();
    let schema = arrow_schema(&table);
    let sources = field_sources(&schema);
    assert_eq!(sources[0], FieldSource::Column(0));
    assert_eq!(sources[15], FieldSource::Op);
    let mut deleted = vec![Value::Null; 15];
    deleted[0] = Value::Int64(1);
    let rows = vec![
        row(Op::Create, 10, full_values()),
        row(Op::Delete, 11, deleted),
    ];
    let batch = build_batch("public.alltypes", &schema, &sources, &rows).unwrap();

    assert_eq!(batch.num_rows(), 2);
    assert_eq!(
        batch.schema(),
        schema,
        "the batch keeps the field-id metadata"
    );
    let col = |name: &str| batch.column_by_name(name).unwrap().clone();
    assert_eq!(col("id").as_primitive::<Int64Type>().value(1), 1);
    assert!(col("flag").as_boolean().value(0));
    assert_eq!(col("small").as_primitive::<Int32Type>().value(0), -7);
    assert_eq!(col("regular").as_primitive::<Int32Type>().value(0), 70_000);
    assert_eq!(col("real_col").as_primitive::<Float32Type>().value(0), 1.5);
    assert_eq!(
        col("double_col").as_primitive::<Float64Type>().value(0),
        -2.25
    );
    let price = col("price");
    assert_eq!(price.data_type(), &DataType::Decimal128(10, 2));
    assert_eq!(price.as_primitive::<Decimal128Type>().value(0), 1_234_567);
    assert_eq!(col("any_numeric").as_string::<i32>().value(0), "-0.000123");
    assert_eq!(col("name").as_string::<i32>().value(0), "héllo");
    assert_eq!(col("blob").as_binary::<i64>().value(0), &[0, 1, 254, 255]);
    assert_eq!(col("day").as_primitive::<Date32Type>().value(0), 19_782);
    let at = col("at");
    assert_eq!(
        at.data_type(),
        &DataType::Timestamp(TimeUnit::Microsecond, None)
    );
    assert_eq!(
        at.as_primitive::<TimestampMicrosecondType>().value(0),
        1_709_207_101_500_000
    );
    let at_tz = col("at_tz");
    assert_eq!(
        at_tz.data_type(),
        &DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into()))
    );
    assert_eq!(
        at_tz.as_primitive::<TimestampMicrosecondType>().value(0),
        -1
    );
    assert!(col("name").is_null(1), "delete rows keep only the key");

    assert_eq!(col("_cdc_op").as_string::<i32>().value(1), "d");
    assert_eq!(
        col("_cdc_ts_ms").as_primitive::<Int64Type>().value(0),
        1_700_000_000_010
    );
    assert_eq!(
        col("_cdc_position").as_string::<i32>().value(0),
        "0/16B3748"
    );
    assert_eq!(
        col("_cdc_kafka_partition")
            .as_primitive::<Int32Type>()
            .value(1),
        3
    );
    assert_eq!(
        col("_cdc_kafka_offset")
            .as_primitive::<Int64Type>()
            .value(1),
        11
    );
}

#[test]
fn decimals_are_rescaled_and_checked() {
    let d = |s: &str| Decimal::parse(s).unwrap();
    assert_eq!(decimal_to_i128(&d("1.5"), 10, 2), Ok(150));
    assert_eq!(
        decimal_to_i128(&d("-99999999.99"), 10, 2),
        Ok(-9_999_999_999)
    );
    assert!(
        decimal_to_i128(&d("100000000.00"), 10, 2).is_err(),
        "11 digits"
    );
    assert!(
        decimal_to_i128(&d("1.234"), 10, 2).is_err(),
        "would lose a digit"
    );
    let huge = "1".repeat(40);
    assert!(decimal_to_i128(&d(&huge), 38, 0).is_err(), "beyond i128");
    let max38 = "9".repeat(38);
    assert_eq!(
        decimal_to_i128(&d(&max38), 38, 0),
        Ok(i128::from_str(&max38).unwrap())
    );
}

#[test]
fn value_errors_name_table_column_and_record() {
    let table = all_types_table();
    let schema = arrow_schema(&table);
    let sources = field_sources(&schema);
    let mut values = full_values();
    values[6] = Value::Decimal(Decimal::parse("123456789.1").unwrap());
    let err = build_batch(
        "public.alltypes",
        &schema,
        &sources,
        &[row(Op::Update, 42, values)],
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("public.alltypes"), "{err}");
    assert!(err.contains("price"), "{err}");
    assert!(err.contains("db.public.alltypes/3@42"), "{err}");
    assert!(
        !err.contains("123456789"),
        "values stay out of errors: {err}"
    );

    let mut values = full_values();
    values[3] = Value::String("not an int".into());
    let err = build_batch(
        "public.alltypes",
        &schema,
        &sources,
        &[row(Op::Create, 1, values)],
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("regular") && err.contains("string"), "{err}");

    let short = row(Op::Create, 2, vec![Value::Int64(1)]);
    assert!(build_batch("public.alltypes", &schema, &sources, &[short]).is_err());
}

#[test]
fn the_row_check_agrees_with_building_the_batch() {
    let table = all_types_table();
    let schema = arrow_schema(&table);
    let sources = field_sources(&schema);
    let check = |values: Vec<Value>| {
        let row = row(Op::Create, 7, values);
        let checked = check_row("public.alltypes", &schema, &sources, &row, None);
        let built = build_batch(
            "public.alltypes",
            &schema,
            &sources,
            std::slice::from_ref(&row),
        );
        assert_eq!(
            checked.as_ref().err().map(ToString::to_string),
            built.as_ref().err().map(ToString::to_string),
            "check_row and build_batch disagree"
        );
        checked.is_ok()
    };
    assert!(check(full_values()));
    let mut wide = full_values();
    wide[6] = Value::Decimal(Decimal::parse("123456789.1").unwrap());
    assert!(!check(wide));
    let mut wrong = full_values();
    wrong[3] = Value::String("not an int".into());
    assert!(!check(wrong));
    assert!(!check(vec![Value::Int64(1)]));

    // Table columns mapped to row values: the second source column is absent (null).
    let values = full_values();
    let mut order: Vec<Option<usize>> = (0..values.len()).map(Some).collect();
    order[1] = None;
    let row = row(Op::Create, 8, values);
    check_row("public.alltypes", &schema, &sources, &row, Some(&order)).unwrap();
    order.truncate(1);
    assert!(check_row("public.alltypes", &schema, &sources, &row, Some(&order)).is_err());
}

#[test]
fn empty_buffers_give_empty_batches() {
    let schema = arrow_schema(&all_types_table());
    let batch = build_batch("t", &schema, &field_sources(&schema), &[]).unwrap();
    assert_eq!(batch.num_rows(), 0);
}
