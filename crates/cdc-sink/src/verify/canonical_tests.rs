use super::*;

fn pg(name: &str) -> PgColumnType {
    PgColumnType {
        name: name.into(),
        is_array: false,
        is_enum: false,
    }
}

#[test]
fn decimals_normalise_on_both_sides() {
    assert_eq!(normalise_decimal("-0012.3400").unwrap(), "-12.34");
    assert_eq!(normalise_decimal("0.000").unwrap(), "0");
    assert_eq!(normalise_decimal("-0.0").unwrap(), "0");
    assert_eq!(normalise_decimal("100").unwrap(), "100");
    assert_eq!(normalise_decimal("NaN"), None);
    assert_eq!(decimal_text(-1234, 2), "-12.34");
    assert_eq!(decimal_text(5, 3), "0.005");
    assert_eq!(decimal_text(1200, 2), "12");
    assert_eq!(decimal_text(0, 2), "0");
    let kind = Kind::Decimal {
        scale: 2,
        money: false,
    };
    assert_eq!(
        kind.parse_pg("12.30").unwrap(),
        Canon::Text(decimal_text(1230, 2))
    );
    assert_eq!(
        kind.parse_pg("NaN").unwrap(),
        Canon::Special("NaN".into()),
        "NaN never equals a stored decimal"
    );
}

#[test]
fn floats_compare_bits_with_one_nan() {
    assert_eq!(
        Kind::Float.parse_pg("NaN").unwrap(),
        float_bits(-f32::NAN),
        "every NaN is the same value"
    );
    assert_eq!(
        Kind::Double.parse_pg("-Infinity").unwrap(),
        double_bits(f64::NEG_INFINITY)
    );
    assert_eq!(Kind::Double.parse_pg("0.1").unwrap(), double_bits(0.1));
    assert_ne!(Kind::Double.parse_pg("-0").unwrap(), double_bits(0.0));
    assert_eq!(Kind::Float.parse_pg("1.1").unwrap(), float_bits(1.1f32));
}

#[test]
fn clocks_render_like_the_sink() {
    let micros = (13 * 3600 + 5 * 60 + 7) * 1_000_000 + 120_000;
    assert_eq!(clock_text(micros, false), "13:05:07.120000");
    assert_eq!(clock_text(86_400_000_000, false), "24:00:00.000000");
    // timetz 01:00+02 is 23:00 UTC: PostgreSQL's epoch of it is -3600 s.
    assert_eq!(clock_text(-3_600_000_000, true), "23:00:00.000000Z");
    assert_eq!(
        Kind::Clock { utc: false }.parse_pg("3723000001").unwrap(),
        Canon::Text("01:02:03.000001".into())
    );
}

#[test]
fn intervals_compare_as_debezium_micro_durations() {
    assert_eq!(
        parse_interval_text("P14M3DT14706.780000S"),
        Some((14, 3, 14_706_780_000))
    );
    assert_eq!(
        parse_interval_text("P0M-3DT-1.500000S"),
        Some((0, -3, -1_500_000))
    );
    assert_eq!(parse_interval_text("P0M0DT0S"), Some((0, 0, 0)));
    assert_eq!(parse_interval_text("1 day"), None);
    // 1 year 2 mons 3 days 04:05:06.78 from PostgreSQL equals both the exact stored text and
    // the MicroDuration-only text of interval.handling.mode=numeric.
    let from_pg = Kind::Interval.parse_pg("14 3 14706780000").unwrap();
    assert_eq!(from_pg, Canon::Int(37_091_106_780_000));
    let numeric_mode = cdc_model::debezium::micro_duration(0, 0, 37_091_106_780_000);
    assert_eq!(Canon::Int(numeric_mode), from_pg);
}

#[test]
fn infinities_map_to_the_sinks_constants() {
    assert_eq!(
        date_canon(i32::MIN + 10_956),
        Kind::Date.parse_pg("infinity").unwrap()
    );
    assert_eq!(
        date_canon(-622_191_234),
        Kind::Date.parse_pg("infinity").unwrap()
    );
    assert_eq!(
        date_canon(-625_821_272),
        Kind::Date.parse_pg("-infinity").unwrap()
    );
    assert_eq!(date_canon(19_000), Kind::Date.parse_pg("19000").unwrap());
    assert_eq!(
        timestamp_canon(TIMESTAMP_INFINITY, false),
        Kind::Timestamp.parse_pg("infinity").unwrap()
    );
    assert_eq!(
        timestamp_canon(TIMESTAMPTZ_NEG_INFINITY, true),
        Kind::TimestampTz.parse_pg("-infinity").unwrap()
    );
    assert_ne!(
        timestamp_canon(TIMESTAMPTZ_INFINITY, false),
        Canon::Special("infinity".into()),
        "timestamp and timestamptz use different constants"
    );
}

#[test]
fn bytea_and_text() {
    assert_eq!(
        Kind::Binary.parse_pg("\\x00ff10").unwrap(),
        Canon::Bytes(vec![0, 255, 16])
    );
    assert!(Kind::Binary.parse_pg("\\x0").is_err());
    assert!(Kind::Bool.parse_pg("x").is_err());
    assert_eq!(
        Kind::Text { money: false }.parse_pg("ab  ").unwrap(),
        Canon::Text("ab  ".into())
    );
}

#[test]
fn kinds_follow_iceberg_and_source_types() {
    let k = |ice: PrimitiveType, name: &str| Kind::choose(&ice, &pg(name));
    assert_eq!(k(PrimitiveType::Int, "int2").unwrap(), Kind::Int);
    assert_eq!(
        k(PrimitiveType::String, "money").unwrap(),
        Kind::Text { money: true }
    );
    assert_eq!(
        k(PrimitiveType::String, "timetz").unwrap(),
        Kind::Clock { utc: true }
    );
    assert_eq!(k(PrimitiveType::Double, "numeric").unwrap(), Kind::Double);
    assert_eq!(
        k(PrimitiveType::String, "numeric").unwrap(),
        Kind::NumericText
    );
    assert_eq!(
        Kind::NumericText.parse_pg("2.50").unwrap(),
        Kind::NumericText.parse_pg("2.5").unwrap()
    );
    let money = k(
        PrimitiveType::Decimal {
            precision: 38,
            scale: 2,
        },
        "money",
    )
    .unwrap();
    assert_eq!(money.select_expr("\"m\""), "\"m\"::numeric");
    let err = k(PrimitiveType::String, "hstore").unwrap_err();
    assert!(
        err.contains("hstore") && err.contains("cannot be verified"),
        "{err}"
    );
    let array = PgColumnType {
        is_array: true,
        ..pg("int4")
    };
    assert!(Kind::choose(&PrimitiveType::String, &array)
        .unwrap_err()
        .contains("int4[]"));
    let mood = PgColumnType {
        is_enum: true,
        ..pg("mood")
    };
    assert_eq!(
        Kind::choose(&PrimitiveType::String, &mood).unwrap(),
        Kind::Text { money: false }
    );
}

#[test]
fn encoding_is_unambiguous() {
    let enc = |vals: &[Canon]| {
        let mut out = Vec::new();
        vals.iter().for_each(|v| v.encode(&mut out));
        out
    };
    assert_ne!(
        enc(&[Canon::Text("ab".into()), Canon::Text("c".into())]),
        enc(&[Canon::Text("a".into()), Canon::Text("bc".into())])
    );
    assert_ne!(enc(&[Canon::Null]), enc(&[Canon::Text(String::new())]));
    assert_ne!(enc(&[Canon::Int(1)]), enc(&[Canon::F64(1)]));
}
