//! Paired fixtures: the same stored value as a binlog row value and as a snapshot result
//! value (text and binary protocol) must convert to the same event-model value.

use cdc_model::{ColumnType, Decimal, Value};
use mysql_async::binlog::value::BinlogValue;
use mysql_async::Value as My;
use serde_json::json;

use super::column::tests::parse_type;
use super::*;

use super::jsonb_support;

fn col(decl: &str, charset: Option<&str>) -> MappedColumn {
    col_with(decl, charset, &HandlingModes::default())
}

fn col_with(decl: &str, charset: Option<&str>, modes: &HandlingModes) -> MappedColumn {
    map_column("c", &parse_type(decl), charset, modes).unwrap_or_else(|e| panic!("{decl}: {e}"))
}

fn text(t: &str) -> My {
    My::Bytes(t.as_bytes().to_vec())
}

/// Converts `binlog` and every snapshot form, asserts they agree, returns the value.
fn same(c: &MappedColumn, binlog: BinlogValue<'_>, snapshots: &[My]) -> Value {
    let from_binlog = c
        .binlog_value(&binlog)
        .unwrap_or_else(|e| panic!("binlog: {e}"));
    for s in snapshots {
        let from_snapshot = c
            .snapshot_value(s)
            .unwrap_or_else(|e| panic!("snapshot {s:?}: {e}"));
        assert_eq!(
            from_binlog, from_snapshot,
            "{} binlog {binlog:?} vs snapshot {s:?}",
            c.meta.type_name
        );
    }
    from_binlog
}

fn bv(v: My) -> BinlogValue<'static> {
    BinlogValue::Value(v)
}

#[test]
fn integers_agree_and_unsigned_values_survive_missing_metadata() {
    let c = col("TINYINT UNSIGNED", None);
    // Without binlog_row_metadata=FULL the binlog sends 255 as -1.
    assert_eq!(
        same(&c, bv(My::Int(-1)), &[text("255"), My::Int(255)]),
        Value::Int16(255)
    );
    assert_eq!(
        same(&c, bv(My::UInt(255)), &[text("255")]),
        Value::Int16(255)
    );
    let c = col("TINYINT", None);
    assert_eq!(
        same(&c, bv(My::Int(-100)), &[text("-100"), My::Int(-100)]),
        Value::Int16(-100)
    );
    assert!(c.snapshot_value(&text("200")).is_err());
    let c = col("MEDIUMINT UNSIGNED", None);
    assert_eq!(
        same(&c, bv(My::Int(-1)), &[text("16777215")]),
        Value::Int32(16_777_215)
    );
    // A signed MEDIUMINT's binlog value comes without sign extension (MariaDB 10.11, found
    // by the Debezium differential test tests/e2e/mariadb_debezium.rs).
    let c = col("MEDIUMINT", None);
    for raw in [bv(My::Int(15_977_216)), bv(My::UInt(15_977_216))] {
        assert_eq!(
            same(&c, raw, &[text("-800000"), My::Int(-800_000)]),
            Value::Int32(-800_000)
        );
    }
    assert_eq!(
        same(&c, bv(My::UInt(8_388_608)), &[text("-8388608")]),
        Value::Int32(-8_388_608)
    );
    assert_eq!(
        same(&c, bv(My::Int(8_388_607)), &[text("8388607")]),
        Value::Int32(8_388_607)
    );
    let c = col("INT UNSIGNED", None);
    assert_eq!(
        same(&c, bv(My::Int(-1)), &[text("4294967295")]),
        Value::Int64(4_294_967_295)
    );
    let c = col("BIGINT UNSIGNED", None);
    // bigint.unsigned.handling.mode=long wraps, as Debezium does.
    assert_eq!(
        same(
            &c,
            bv(My::UInt(u64::MAX)),
            &[text("18446744073709551615"), My::UInt(u64::MAX)]
        ),
        Value::Int64(-1)
    );
    assert_eq!(same(&c, bv(My::Int(-1)), &[]), Value::Int64(-1));
    let precise = HandlingModes {
        bigint_unsigned_handling_mode: BigIntUnsignedMode::Precise,
        ..HandlingModes::default()
    };
    let c = col_with("BIGINT UNSIGNED", None, &precise);
    assert_eq!(
        same(&c, bv(My::Int(-1)), &[text("18446744073709551615")]),
        Value::Decimal(Decimal::parse("18446744073709551615").unwrap())
    );
    let c = col("BOOLEAN", None);
    assert_eq!(same(&c, bv(My::Int(1)), &[text("1")]), Value::Boolean(true));
}

#[test]
fn decimals_and_floats_agree() {
    let c = col("DECIMAL(10,2)", None);
    assert_eq!(
        same(&c, bv(My::Bytes(b"-0.50".to_vec())), &[text("-0.50")]),
        Value::Decimal(Decimal::parse("-0.50").unwrap())
    );
    assert!(c.snapshot_value(&text("1.234")).is_err());
    let c = col("FLOAT", None);
    assert_eq!(
        same(&c, bv(My::Float(1.5)), &[text("1.5"), My::Float(1.5)]),
        Value::Float32(1.5)
    );
    let c = col("REAL", None);
    assert_eq!(
        same(&c, bv(My::Double(2.25)), &[text("2.25")]),
        Value::Float32(2.25)
    );
    let c = col("DOUBLE", None);
    assert_eq!(
        same(&c, bv(My::Double(0.1)), &[text("0.1"), My::Double(0.1)]),
        Value::Float64(0.1)
    );
}

#[test]
fn bits_strings_and_binaries_agree() {
    let c = col("BIT(10)", None);
    // b'1000000001' arrives big-endian; Debezium writes little-endian.
    assert_eq!(
        same(
            &c,
            bv(My::Bytes(vec![0x02, 0x01])),
            &[My::Bytes(vec![0x02, 0x01])]
        ),
        Value::Bytes(vec![0x01, 0x02])
    );
    let c = col("BIT(64)", None);
    assert_eq!(
        same(
            &c,
            bv(My::Bytes(vec![0, 0, 0, 0, 0, 0, 0, 5])),
            &[My::Bytes(vec![0, 0, 0, 0, 0, 0, 0, 5])]
        ),
        Value::Bytes(vec![5, 0, 0, 0, 0, 0, 0, 0])
    );
    let c = col("BIT(1)", None);
    assert_eq!(
        same(&c, bv(My::Bytes(vec![1])), &[My::Bytes(vec![1])]),
        Value::Boolean(true)
    );
    let c = col("VARCHAR(10)", Some("latin1"));
    assert_eq!(
        same(&c, bv(My::Bytes(vec![b'c', 0xe9, 0x80])), &[text("cé€")]),
        Value::String("cé€".into())
    );
    let c = col("TEXT", Some("utf8mb4"));
    let err = c
        .binlog_value(&bv(My::Bytes(vec![0xc3])))
        .unwrap_err()
        .to_string();
    assert!(err.contains("column c") && err.contains("utf8mb4"), "{err}");
    let c = col("BINARY(4)", None);
    // The binlog strips BINARY(n)'s trailing zero bytes; Debezium pads them back.
    assert_eq!(
        same(
            &c,
            bv(My::Bytes(vec![1, 2])),
            &[My::Bytes(vec![1, 2, 0, 0])]
        ),
        Value::Bytes(vec![1, 2, 0, 0])
    );
    let c = col("BLOB", None);
    assert_eq!(
        same(&c, bv(My::Bytes(vec![0, 255])), &[My::Bytes(vec![0, 255])]),
        Value::Bytes(vec![0, 255])
    );
}

#[test]
fn enums_and_sets_agree() {
    let c = col("ENUM('a','b','c,d')", None);
    assert_eq!(
        c.ty,
        ColumnType::Enum {
            allowed: vec!["a".into(), "b".into(), "c\\,d".into()]
        }
    );
    assert_eq!(
        same(&c, bv(My::Int(2)), &[text("b")]),
        Value::String("b".into())
    );
    assert_eq!(
        same(&c, bv(My::Int(3)), &[text("c,d")]),
        Value::String("c,d".into())
    );
    assert_eq!(
        same(&c, bv(My::Int(0)), &[text("")]),
        Value::String(String::new())
    );
    assert!(c
        .binlog_value(&bv(My::Int(9)))
        .unwrap_err()
        .to_string()
        .contains("index 9"));
    assert!(c.snapshot_value(&text("zz")).is_err());
    let c = col("SET('a','b','c')", None);
    assert_eq!(
        same(&c, bv(My::Bytes(vec![0b101])), &[text("a,c")]),
        Value::String("a,c".into())
    );
    assert_eq!(
        same(&c, bv(My::Bytes(vec![0])), &[text("")]),
        Value::String(String::new())
    );
    assert!(c.binlog_value(&bv(My::Bytes(vec![0b1000]))).is_err());
}

#[test]
fn temporal_values_agree_including_zero_dates() {
    let c = col("DATE", None);
    assert_eq!(
        same(
            &c,
            bv(My::Date(2018, 6, 20, 0, 0, 0, 0)),
            &[text("2018-06-20"), My::Date(2018, 6, 20, 0, 0, 0, 0)]
        ),
        Value::Date(17702)
    );
    assert_eq!(
        same(&c, bv(My::Date(0, 0, 0, 0, 0, 0, 0)), &[text("0000-00-00")]),
        Value::Null
    );
    assert_eq!(
        same(
            &c,
            bv(My::Date(2018, 0, 1, 0, 0, 0, 0)),
            &[text("2018-00-01")]
        ),
        Value::Null
    );
    let c = col("DATETIME(3)", None);
    assert_eq!(
        same(
            &c,
            bv(My::Date(2018, 6, 20, 6, 37, 3, 500_000)),
            &[text("2018-06-20 06:37:03.500")]
        ),
        Value::Timestamp(1_529_476_623_500_000)
    );
    let c = col("TIMESTAMP(6)", None);
    assert_eq!(
        same(
            &c,
            bv(My::Bytes(b"1529476623.500000".to_vec())),
            &[
                text("2018-06-20 06:37:03.500000"),
                My::Date(2018, 6, 20, 6, 37, 3, 500_000)
            ]
        ),
        Value::TimestampTz(1_529_476_623_500_000)
    );
    assert_eq!(
        same(
            &c,
            bv(My::Bytes(b"0".to_vec())),
            &[text("0000-00-00 00:00:00.000000")]
        ),
        Value::Null
    );
    let c = col("TIME(6)", None);
    assert_eq!(
        same(
            &c,
            bv(My::Time(true, 0, 1, 2, 3, 4)),
            &[text("-01:02:03.000004"), My::Time(true, 0, 1, 2, 3, 4)]
        ),
        Value::Time(-3_723_000_004)
    );
    assert_eq!(
        same(
            &c,
            bv(My::Time(false, 34, 22, 59, 59, 0)),
            &[text("838:59:59.000000")]
        ),
        Value::Time(3_020_399_000_000)
    );
    let c = col("YEAR", None);
    assert_eq!(
        same(
            &c,
            bv(My::Bytes(b"2018".to_vec())),
            &[text("2018"), My::Int(2018)]
        ),
        Value::Int32(2018)
    );
    // The zero year: mysql_common reports 1900, the snapshot 0000.
    assert_eq!(
        same(&c, bv(My::Bytes(b"1900".to_vec())), &[text("0000")]),
        Value::Int32(2000)
    );
}

#[test]
fn geometry_and_json_agree() {
    let c = col("POINT", None);
    let mut bytes = 4326u32.to_le_bytes().to_vec();
    bytes.extend([1, 1, 0, 0, 0]);
    bytes.extend(1.0f64.to_le_bytes());
    bytes.extend(2.0f64.to_le_bytes());
    let expected = Value::Geometry {
        wkb: bytes[4..].to_vec(),
        srid: Some(4326),
    };
    assert_eq!(
        same(
            &c,
            bv(My::Bytes(bytes.clone())),
            &[My::Bytes(bytes.clone())]
        ),
        expected
    );
    let mut no_srid = bytes.clone();
    no_srid[..4].copy_from_slice(&[0; 4]);
    assert_eq!(
        same(&c, bv(My::Bytes(no_srid.clone())), &[My::Bytes(no_srid)]),
        Value::Geometry {
            wkb: bytes[4..].to_vec(),
            srid: None
        }
    );
    assert!(c.binlog_value(&bv(My::Bytes(vec![0; 4]))).is_err());

    let c = col("JSON", None);
    let doc = json!({"k": [1, "two", null], "a": {"b": true}});
    let jsonb = jsonb_support::parse(&jsonb_support::encode(&doc));
    assert_eq!(
        same(
            &c,
            BinlogValue::Jsonb(jsonb.clone()),
            &[text(r#"{"a": {"b": true}, "k": [1, "two", null]}"#)]
        ),
        Value::String(r#"{"a": {"b": true}, "k": [1, "two", null]}"#.into())
    );
    // MariaDB: JSON is LONGTEXT, the text as stored on both paths.
    assert_eq!(
        same(
            &c,
            bv(My::Bytes(br#"{"x":1}"#.to_vec())),
            &[text(r#"{"x":1}"#)]
        ),
        Value::String(r#"{"x":1}"#.into())
    );
    // Partial updates: diffs on the before image.
    let diffs = BinlogValue::JsonDiff(vec![jsonb_support::diff(0, "$.a.b", Some(&json!(false)))]);
    assert!(c.binlog_value(&diffs).is_err());
    assert_eq!(
        c.binlog_json_update(&BinlogValue::Jsonb(jsonb), &diffs)
            .unwrap(),
        Value::String(r#"{"a": {"b": false}, "k": [1, "two", null]}"#.into())
    );
}

#[test]
fn nulls_and_mismatched_values_never_panic() {
    for decl in [
        "INT",
        "VARCHAR(3)",
        "DATE",
        "JSON",
        "POINT",
        "SET('a')",
        "BIT(3)",
    ] {
        let c = col(decl, None);
        assert_eq!(c.binlog_value(&bv(My::NULL)).unwrap(), Value::Null);
        assert_eq!(c.snapshot_value(&My::NULL).unwrap(), Value::Null);
    }
    let c = col("INT", None);
    let err = c
        .binlog_value(&bv(My::Date(2020, 1, 1, 0, 0, 0, 0)))
        .unwrap_err();
    assert_eq!(err.column, "c");
    assert_eq!(err.type_name, "INT");
    assert!(col("DATE", None)
        .snapshot_value(&text("yesterday"))
        .is_err());
    assert!(col("DATE", None)
        .snapshot_value(&text("2021-02-30"))
        .is_err());
    assert!(col("TIME", None).snapshot_value(&My::Int(5)).is_err());
}
