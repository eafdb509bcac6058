use iceberg::spec::PrimitiveType;
use mysql_async::Value;

use super::*;

fn ty(data_type: &str, column_type: &str) -> MyColumnType {
    MyColumnType {
        data_type: data_type.into(),
        column_type: column_type.into(),
    }
}

fn canon(iceberg: PrimitiveType, t: MyColumnType, v: Value) -> Canon {
    MyKind::choose(&iceberg, &t).unwrap().canon(v).unwrap()
}

#[test]
fn integers_and_bigint_unsigned_long_mode_wraps() {
    assert_eq!(
        canon(
            PrimitiveType::Int,
            ty("tinyint", "tinyint(4)"),
            Value::Int(-128)
        ),
        Canon::Int(-128)
    );
    assert_eq!(
        canon(
            PrimitiveType::Long,
            ty("bigint", "bigint(20) unsigned"),
            Value::UInt(u64::MAX)
        ),
        Canon::Int(-1)
    );
    assert_eq!(
        canon(PrimitiveType::Int, ty("year", "year(4)"), Value::Int(2155)),
        Canon::Int(2155)
    );
}

#[test]
fn bigint_unsigned_precise_is_a_decimal() {
    let kind = MyKind::choose(
        &PrimitiveType::Decimal {
            precision: 20,
            scale: 0,
        },
        &ty("bigint", "bigint(20) unsigned"),
    )
    .unwrap();
    assert_eq!(
        kind.iceberg_kind(),
        Kind::Decimal {
            scale: 0,
            money: false
        }
    );
    assert_eq!(
        kind.canon(Value::Bytes(b"18446744073709551615".to_vec()))
            .unwrap(),
        Canon::Text("18446744073709551615".into())
    );
}

#[test]
fn decimals_are_normalised() {
    let d = PrimitiveType::Decimal {
        precision: 10,
        scale: 4,
    };
    assert_eq!(
        canon(
            d,
            ty("decimal", "decimal(10,4)"),
            Value::Bytes(b"-0012.3400".to_vec())
        ),
        Canon::Text("-12.34".into())
    );
}

#[test]
fn floats_keep_their_bits() {
    assert_eq!(
        canon(
            PrimitiveType::Float,
            ty("float", "float"),
            Value::Float(0.1)
        ),
        float_bits(0.1)
    );
    assert_eq!(
        canon(
            PrimitiveType::Double,
            ty("float", "float"),
            Value::Float(0.1)
        ),
        double_bits(f64::from(0.1f32))
    );
    assert_eq!(
        canon(
            PrimitiveType::Double,
            ty("double", "double"),
            Value::Double(1e308)
        ),
        double_bits(1e308)
    );
}

#[test]
fn bits_and_booleans() {
    assert_eq!(
        canon(PrimitiveType::Boolean, ty("bit", "bit(1)"), Value::Int(1)),
        Canon::Bool(true)
    );
    // BIT(10) b'1000000011' = 0x02 0x03 big-endian → little-endian 03 02.
    assert_eq!(
        canon(
            PrimitiveType::Binary,
            ty("bit", "bit(10)"),
            Value::Bytes(vec![0x02, 0x03])
        ),
        Canon::Bytes(vec![0x03, 0x02])
    );
    assert_eq!(bits_le(&[0x01], 3), vec![0x01, 0, 0]);
    assert_eq!(
        canon(
            PrimitiveType::Int,
            ty("tinyint", "tinyint(1)"),
            Value::Int(1)
        ),
        Canon::Int(1)
    );
}

#[test]
fn strings_enums_sets_json_and_binaries() {
    for (dt, ct) in [
        ("varchar", "varchar(10)"),
        ("enum", "enum('a','b')"),
        ("set", "set('a','b')"),
        ("json", "json"),
        ("longtext", "longtext"),
    ] {
        assert_eq!(
            canon(
                PrimitiveType::String,
                ty(dt, ct),
                Value::Bytes(b"a,b".to_vec())
            ),
            Canon::Text("a,b".into())
        );
    }
    assert_eq!(
        canon(
            PrimitiveType::Binary,
            ty("blob", "blob"),
            Value::Bytes(vec![0, 255])
        ),
        Canon::Bytes(vec![0, 255])
    );
}

#[test]
fn dates_times_and_timestamps() {
    assert_eq!(days_from_civil(1970, 1, 1), 0);
    assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    assert_eq!(days_from_civil(1, 1, 1), -719_162);
    assert_eq!(
        canon(
            PrimitiveType::Date,
            ty("date", "date"),
            Value::Date(9999, 12, 31, 0, 0, 0, 0)
        ),
        Canon::Int(2_932_896)
    );
    assert_eq!(
        canon(
            PrimitiveType::Date,
            ty("date", "date"),
            Value::Date(0, 0, 0, 0, 0, 0, 0)
        ),
        Canon::Null
    );
    assert_eq!(
        canon(
            PrimitiveType::Timestamp,
            ty("datetime", "datetime(6)"),
            Value::Date(1970, 1, 2, 0, 0, 1, 5)
        ),
        Canon::Int(86_401_000_005)
    );
    assert_eq!(
        canon(
            PrimitiveType::Timestamptz,
            ty("timestamp", "timestamp(3)"),
            Value::Date(1970, 1, 1, 0, 0, 0, 123_000)
        ),
        Canon::Int(123_000)
    );
    assert_eq!(
        MyKind::choose(&PrimitiveType::Timestamptz, &ty("timestamp", "timestamp"))
            .unwrap()
            .iceberg_kind(),
        Kind::TimestampTz
    );
    assert_eq!(
        canon(
            PrimitiveType::String,
            ty("time", "time(6)"),
            Value::Time(false, 1, 2, 3, 4, 5)
        ),
        Canon::Text("26:03:04.000005".into())
    );
}

#[test]
fn nulls_and_unsupported_types() {
    assert_eq!(
        canon(PrimitiveType::Int, ty("int", "int(11)"), Value::NULL),
        Canon::Null
    );
    let err = MyKind::choose(&PrimitiveType::Binary, &ty("geometry", "geometry")).unwrap_err();
    assert!(err.contains("geometry"), "{err}");
}

#[test]
fn url_scheme_selects_mysql() {
    assert!(is_mysql_url("mysql://u@h/db"));
    assert!(is_mysql_url("mariadb://u:p@h:3306"));
    assert!(!is_mysql_url("postgres://u@h/db"));
    assert!(!is_mysql_url("host=h user=u"));
}
