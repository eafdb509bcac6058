use super::*;

fn source(options: &[(&str, &str)]) -> SourceConfig {
    let mut text = String::from("user = \"u\"\ndatabase = \"d\"\n");
    for (k, v) in options {
        if *k == "tables" {
            text.push_str(&format!("tables = {v}\n"));
        } else {
            text.push_str(&format!("{k} = {v:?}\n"));
        }
    }
    toml::from_str(&text).unwrap()
}

fn ids(names: &[&str]) -> Vec<TableId> {
    names
        .iter()
        .map(|n| {
            let (s, t) = n.split_once('.').unwrap();
            TableId::new(s, t)
        })
        .collect()
}

fn select(options: &[(&str, &str)]) -> Vec<String> {
    let catalog = ids(&[
        "inventory.customers",
        "inventory.orders",
        "inventory.orders_archive",
        "public.spatial_ref_sys",
        "public.users",
        "Sales.Deals",
        "information_schema.sql_features",
        "pg_catalog.pg_class",
        "pg_temp_3.scratch",
    ]);
    let selection = Selection::from_config(&source(options)).unwrap();
    selection
        .select_tables(&catalog)
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn no_filters_capture_every_user_table() {
    assert_eq!(
        select(&[]),
        [
            "inventory.customers",
            "inventory.orders",
            "inventory.orders_archive",
            "public.users",
            "Sales.Deals"
        ]
    );
}

#[test]
fn table_include_list_is_anchored_and_case_insensitive() {
    assert_eq!(
        select(&[("table_include_list", "inventory.orders, sales.deals")]),
        ["inventory.orders", "Sales.Deals"]
    );
    // Anchored: `orders` alone matches nothing, `inventory.orders.*` matches both.
    assert!(select(&[("table_include_list", "orders")]).is_empty());
    assert_eq!(
        select(&[("table_include_list", "inventory\\.orders.*")]),
        ["inventory.orders", "inventory.orders_archive"]
    );
    // System tables are never captured, even when a filter names them.
    assert!(select(&[("table_include_list", "pg_catalog.*,public.spatial_ref_sys")]).is_empty());
}

#[test]
fn exclude_lists_and_schema_filters() {
    assert_eq!(
        select(&[("table_exclude_list", ".*_archive,public\\..*")]),
        ["inventory.customers", "inventory.orders", "Sales.Deals"]
    );
    assert_eq!(
        select(&[("schema_include_list", "inventory")]),
        [
            "inventory.customers",
            "inventory.orders",
            "inventory.orders_archive"
        ]
    );
    assert_eq!(
        select(&[("schema_exclude_list", "inventory,SALES")]),
        ["public.users"]
    );
    // Schema and table filters must both accept.
    assert_eq!(
        select(&[
            ("schema_include_list", "inventory"),
            ("table_exclude_list", "inventory.orders_archive")
        ]),
        ["inventory.customers", "inventory.orders"]
    );
    // An include list wins over an exclude list of the same kind.
    assert_eq!(
        select(&[
            ("table_include_list", "public.users"),
            ("table_exclude_list", "public.users")
        ]),
        ["public.users"]
    );
}

#[test]
fn escaped_comma_belongs_to_the_regex() {
    let r = regexes("table.include.list", "a\\.b{1\\,2}, c.d ,,").unwrap();
    assert_eq!(r.len(), 2);
    assert!(r[0].is_match("a.bb"));
    assert!(r[1].is_match("C.D"));
    let err = regexes("table.include.list", "a(").unwrap_err().to_string();
    assert!(
        err.contains("table.include.list") && err.contains("a("),
        "{err}"
    );
}

#[test]
fn explicit_tables_and_the_signal_table() {
    assert_eq!(
        select(&[
            ("tables", "[\"x.y\"]"),
            ("signal_data_collection", "public.users")
        ]),
        ["x.y", "public.users"]
    );
    assert_eq!(
        select(&[
            ("table_include_list", "inventory.orders"),
            ("signal_data_collection", "public.users")
        ]),
        ["inventory.orders", "public.users"]
    );
    let both = source(&[("tables", "[\"x.y\"]"), ("schema_include_list", "x")]);
    assert!(Selection::from_config(&both).is_err());
    let bad = source(&[("tables", "[\"nodot\"]")]);
    assert!(Selection::from_config(&bad).is_err());
}

#[test]
fn column_filters() {
    let t = TableId::new("inventory", "customers");
    let s = Selection::from_config(&source(&[(
        "column_exclude_list",
        "inventory.customers.email,.*\\.secret_.*",
    )]))
    .unwrap();
    assert!(!s.column_included(&t, "email"));
    assert!(!s.column_included(&t, "EMAIL"));
    assert!(!s.column_included(&TableId::new("a", "b"), "secret_x"));
    assert!(s.column_included(&t, "email2"));
    assert!(s.column_included(&TableId::new("inventory", "orders"), "email"));
    let s = Selection::from_config(&source(&[(
        "column_include_list",
        "inventory.customers.(id|name)",
    )]))
    .unwrap();
    assert!(s.column_included(&t, "id"));
    assert!(!s.column_included(&t, "email"));
    assert!(!s.column_included(&TableId::new("x", "y"), "id"));
    assert!(Selection::default().column_included(&t, "anything"));
}

#[test]
fn message_key_columns() {
    let s = Selection::from_config(&source(&[(
        "message_key_columns",
        "inventory.customers:email,id; (.*).orders:purchaser",
    )]))
    .unwrap();
    let cols = ["id", "name", "email"];
    // Pattern order: email first, then id.
    assert_eq!(
        s.key_columns(&TableId::new("inventory", "customers"), &cols),
        Some(vec![2, 0])
    );
    assert_eq!(
        s.key_columns(&TableId::new("other", "orders"), &["id", "purchaser"]),
        Some(vec![1])
    );
    assert_eq!(s.key_columns(&TableId::new("x", "y"), &cols), None);
    for bad in ["nocolon", "t:", ":c", "t:a,,b", "t:a:b"] {
        let e = Selection::from_config(&source(&[("message_key_columns", bad)]));
        assert!(e.is_err(), "{bad}");
    }
}

/// MySQL / MariaDB: the same rules on `db.table.column`, as `cdc_mysql`'s column selection
/// projecting a table's full schema (snapshot, stream and incremental snapshot use it).
#[test]
fn binlog_column_rules_project_table_schemas() {
    use cdc_model::{Column, ColumnType, TableSchema};
    use cdc_mysql::stream::Projection;
    let s = Selection::from_config(&source(&[
        ("kind", "mariadb"),
        ("column_exclude_list", "shop.customers.email"),
        ("message_key_columns", "shop.customers:name"),
    ]))
    .unwrap();
    let full = TableSchema {
        id: TableId::new("shop", "customers"),
        columns: ["id", "name", "email"]
            .iter()
            .map(|n| Column::new(*n, ColumnType::Int32, true))
            .collect(),
        key: vec![0],
    };
    let p = Projection::new(&full, &s).unwrap();
    let names: Vec<&str> = p.schema.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["id", "name"]);
    assert_eq!(p.schema.key, [1]);
    assert_eq!(p.kept, [0, 1]);
    use cdc_model::Value::Int32;
    assert_eq!(
        p.row(vec![Int32(1), Int32(2), Int32(3)]),
        [Int32(1), Int32(2)]
    );
    // Other tables keep every column and their primary key.
    let other = TableSchema {
        id: TableId::new("shop", "orders"),
        ..full.clone()
    };
    let p = Projection::new(&other, &s).unwrap();
    assert!(p.is_identity(&other) && p.schema == other);
    // A key column the filters exclude is refused (Debezium would key by a column the value
    // does not carry).
    let s = Selection::from_config(&source(&[
        ("kind", "mysql"),
        ("column_include_list", "shop.customers.(name|email)"),
    ]))
    .unwrap();
    let e = Projection::new(&full, &s).unwrap_err().to_string();
    assert!(
        e.contains("column id") && e.contains("shop.customers"),
        "{e}"
    );
}
