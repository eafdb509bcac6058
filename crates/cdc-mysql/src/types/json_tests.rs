use serde_json::json;

use super::*;

use crate::types::jsonb_support::{diff, encode, parse};

#[test]
fn binary_json_prints_as_mysql_does() {
    let doc = parse(&encode(&json!({
        "bb": [1, 2.5, "x\n\"q\"", -40000, 1e20],
        "a": 1,
        "c": null,
        "t": true,
        "ü": {"z": false, "aa": []}
    })));
    assert_eq!(
        jsonb_text(&doc).unwrap(),
        r#"{"a": 1, "c": null, "t": true, "bb": [1, 2.5, "x\n\"q\"", -40000, 1e20], "ü": {"z": false, "aa": []}}"#
    );
    assert_eq!(jsonb_text(&parse(&encode(&json!(3.0)))).unwrap(), "3.0");
    assert_eq!(
        jsonb_text(&parse(&encode(&json!("\u{1}")))).unwrap(),
        r#""\u0001""#
    );
    assert_eq!(jsonb_text(&parse(&encode(&json!([])))).unwrap(), "[]");
}

#[test]
fn diffs_apply_in_order_to_the_before_image() {
    let before = parse(&encode(&json!({"a": 1, "list": [10, 20, 30], "gone": "x"})));
    let diffs = [
        diff(0, "$.a", Some(&json!({"deep": [true]}))),
        diff(1, "$.list[1]", Some(&json!(15))),
        diff(1, "$.list[9]", Some(&json!(99))),
        diff(2, "$.list[0]", None),
        diff(2, "$.gone", None),
        diff(1, "$.\"new key\"", Some(&json!("v"))),
        diff(0, "$.a.deep[0]", Some(&json!(false))),
    ];
    assert_eq!(
        apply_json_diffs(&before, &diffs).unwrap(),
        r#"{"a": {"deep": [false]}, "list": [15, 20, 30, 99], "new key": "v"}"#
    );
    let root = [diff(0, "$", Some(&json!([1])))];
    assert_eq!(apply_json_diffs(&before, &root).unwrap(), "[1]");
}

#[test]
fn impossible_diffs_are_errors_not_guesses() {
    let before = parse(&encode(&json!({"a": [1]})));
    for (d, expect) in [
        (diff(0, "$.missing", Some(&json!(1))), "no element"),
        (diff(2, "$.a[5]", None), "no element 5"),
        (diff(1, "$.a", Some(&json!(1))), "already exists"),
        (diff(0, "$.a[x]", Some(&json!(1))), "unsupported JSON path"),
        (diff(2, "$", None), "root"),
    ] {
        let err = apply_json_diffs(&before, std::slice::from_ref(&d)).unwrap_err();
        assert!(err.contains(expect), "{err}");
    }
}

#[test]
fn paths_parse_members_quoted_members_and_indexes() {
    assert_eq!(
        parse_path(r#"$.a."b.c"[3].d"#).unwrap(),
        vec![
            Leg::Member("a".into()),
            Leg::Member("b.c".into()),
            Leg::Index(3),
            Leg::Member("d".into())
        ]
    );
    assert_eq!(parse_path("$").unwrap(), vec![]);
    assert!(parse_path("a.b").is_none());
    assert!(parse_path("$..a").is_none());
}
