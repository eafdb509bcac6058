use super::*;

const U1: &str = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
const U2: &str = "57b70f4e-20d3-11e5-a393-4a63946f7eac";

#[test]
fn maria_gtid_round_trips() {
    let g: MariaGtid = "0-1-6".parse().unwrap();
    assert_eq!(
        g,
        MariaGtid {
            domain_id: 0,
            server_id: 1,
            sequence: 6
        }
    );
    assert_eq!(g.to_string(), "0-1-6");
    let big: MariaGtid = "4294967295-4294967295-18446744073709551615"
        .parse()
        .unwrap();
    assert_eq!(
        big.to_string(),
        "4294967295-4294967295-18446744073709551615"
    );
}

#[test]
fn maria_gtid_malformed() {
    for bad in [
        "",
        "0-1",
        "0-1-2-3",
        "a-1-2",
        "0--2",
        "0-1-+2",
        "-0-1-2",
        "4294967296-1-2",
        "0-1-18446744073709551616",
        "0 -1-2",
    ] {
        let err = bad.parse::<MariaGtid>().expect_err(bad);
        assert_eq!(err.what, "MariaDB GTID", "{bad}");
        assert!(err.to_string().contains(&format!("{bad:?}")), "{err}");
    }
}

#[test]
fn maria_gtid_list_parse_format_update() {
    let mut list: MariaGtidList = "1-2-9,0-1-6".parse().unwrap();
    assert_eq!(list.to_string(), "0-1-6,1-2-9");
    assert!(list.contains("0-7-5".parse().unwrap()));
    assert!(list.contains("0-1-6".parse().unwrap()));
    assert!(!list.contains("0-1-7".parse().unwrap()));
    assert!(!list.contains("2-1-1".parse().unwrap()));
    list.update("0-3-7".parse().unwrap());
    assert_eq!(list.to_string(), "0-3-7,1-2-9");
    assert_eq!("".parse::<MariaGtidList>().unwrap(), MariaGtidList::new());
    assert_eq!(
        " 0-1-6 , 1-2-9 ".parse::<MariaGtidList>().unwrap(),
        list_of("0-1-6,1-2-9")
    );
}

fn list_of(s: &str) -> MariaGtidList {
    s.parse().unwrap()
}

#[test]
fn maria_gtid_list_malformed() {
    let err = "0-1-6,0-2-7".parse::<MariaGtidList>().unwrap_err();
    assert!(err.reason.contains("domain 0 appears twice"), "{err}");
    let err = "0-1-6,".parse::<MariaGtidList>().unwrap_err();
    assert_eq!(err.what, "MariaDB GTID list");
    assert!("0-1-6;1-2-3".parse::<MariaGtidList>().is_err());
}

#[test]
fn maria_serde_is_the_string_form() {
    let list = list_of("0-1-6,1-2-9");
    let json = serde_json::to_string(&list).unwrap();
    assert_eq!(json, r#""0-1-6,1-2-9""#);
    assert_eq!(serde_json::from_str::<MariaGtidList>(&json).unwrap(), list);
    assert!(serde_json::from_str::<MariaGtidList>(r#""0-1""#).is_err());
    let gtid: MariaGtid = serde_json::from_str(r#""0-1-6""#).unwrap();
    assert_eq!(gtid.sequence, 6);
}

#[test]
fn mysql_set_canonical_form() {
    let input = format!(
        "{}:3,\n {}:7-9:1-5:6:11",
        U2.to_uppercase(),
        U1.to_uppercase()
    );
    let set: MySqlGtidSet = input.parse().unwrap();
    // merged 1-5,6,7-9 → 1-9; 11 alone; U1 sorts before U2.
    assert_eq!(set.to_string(), format!("{U1}:1-9:11,{U2}:3"));
    let again: MySqlGtidSet = set.to_string().parse().unwrap();
    assert_eq!(again, set);
    assert_eq!("".parse::<MySqlGtidSet>().unwrap(), MySqlGtidSet::new());
}

#[test]
fn mysql_set_with_tags() {
    let set: MySqlGtidSet = format!("{U1}:Beta:3:alpha:1-2:5,{U1}:4").parse().unwrap();
    assert_eq!(set.to_string(), format!("{U1}:4:alpha:1-2:5:beta:3"));
    let g = |tag: Option<&str>, gno| MySqlGtid {
        source: MySqlSource {
            uuid: U1.parse().unwrap(),
            tag: tag.map(str::to_string),
        },
        gno,
    };
    assert!(set.contains(&g(Some("alpha"), 5)));
    assert!(!set.contains(&g(Some("alpha"), 3)));
    assert!(set.contains(&g(None, 4)));
    assert!(!set.contains(&g(None, 3)));
    assert_eq!(g(Some("alpha"), 5).to_string(), format!("{U1}:alpha:5"));
    let sids = set.to_sids().unwrap();
    assert_eq!(sids.len(), 3);
    let texts: Vec<String> = sids.iter().map(ToString::to_string).collect();
    assert_eq!(
        texts,
        vec![
            format!("{U1}:4"),
            format!("{U1}:alpha:1-2:5"),
            format!("{U1}:beta:3")
        ]
    );
}

#[test]
fn mysql_set_add_and_contains() {
    let mut set: MySqlGtidSet = format!("{U1}:1-3:5").parse().unwrap();
    let gtid = |gno| MySqlGtid {
        source: MySqlSource {
            uuid: U1.parse().unwrap(),
            tag: None,
        },
        gno,
    };
    assert!(!set.contains(&gtid(4)));
    set.add(&gtid(4));
    assert_eq!(set.to_string(), format!("{U1}:1-5"));
    set.add(&gtid(7));
    assert_eq!(set.to_string(), format!("{U1}:1-5:7"));
    let mut other = MySqlGtidSet::new();
    other.add(&MySqlGtid {
        source: MySqlSource {
            uuid: U2.parse().unwrap(),
            tag: None,
        },
        gno: 1,
    });
    set.add(
        &other
            .sources
            .keys()
            .next()
            .cloned()
            .map(|source| MySqlGtid { source, gno: 1 })
            .unwrap(),
    );
    assert_eq!(set.to_string(), format!("{U1}:1-5:7,{U2}:1"));
    assert!(set.contains_set(&format!("{U1}:2-4,{U2}:1").parse().unwrap()));
    assert!(!set.contains_set(&format!("{U1}:5-7").parse().unwrap()));
    assert!(set.contains_set(&MySqlGtidSet::new()));
    let sids = set.to_sids().unwrap();
    assert_eq!(sids[0].intervals()[0].start(), 1);
    assert_eq!(
        sids[0].intervals()[0].end(),
        6,
        "mysql_async intervals are half-open"
    );
}

#[test]
fn mysql_set_malformed() {
    for bad in [
        "not-a-uuid:1-5".to_string(),
        U1.to_string(),
        format!("{U1}:"),
        format!("{U1}:0"),
        format!("{U1}:5-3"),
        format!("{U1}:1-x"),
        format!("{U1}:1--3"),
        format!("{U1}:tag"),
        format!("{U1}:tag:"),
        format!("{U1}:1:tag"),
        format!("{U1}:a:b:1"),
        format!("{U1}:9tag:1"),
        format!("{U1}:{}:1", "t".repeat(33)),
        format!("{U1}:1-18446744073709551616"),
        format!("{U1}:1,,{U2}:1"),
    ] {
        let err = bad.parse::<MySqlGtidSet>().expect_err(&bad);
        assert_eq!(err.what, "MySQL GTID set", "{bad}");
    }
}

#[test]
fn mysql_set_serde() {
    let set: MySqlGtidSet = format!("{U1}:1-5").parse().unwrap();
    let json = serde_json::to_value(&set).unwrap();
    assert_eq!(json, serde_json::json!(format!("{U1}:1-5")));
    assert_eq!(serde_json::from_value::<MySqlGtidSet>(json).unwrap(), set);
}

#[test]
fn file_position_serde_and_display() {
    let mut p = FilePosition::new("mariadb-bin.000001", 1234);
    assert_eq!(p.to_string(), "mariadb-bin.000001:1234");
    p.row = 2;
    assert_eq!(p.to_string(), "mariadb-bin.000001:1234 row 2");
    let json = serde_json::to_string(&p).unwrap();
    assert_eq!(json, r#"{"file":"mariadb-bin.000001","pos":1234,"row":2}"#);
    let back: FilePosition = serde_json::from_str(r#"{"file":"f.1","pos":4}"#).unwrap();
    assert_eq!(back, FilePosition::new("f.1", 4));
}
