use super::*;

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
