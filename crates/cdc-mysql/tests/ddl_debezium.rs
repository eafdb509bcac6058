//! Expectations ported from Debezium's own DDL parser tests
//! (`debezium-connector-binlog/src/test/java/io/debezium/connector/binlog/BinlogAntlrDdlParserTest.java`
//! at v3.6.1.Final; method names in the test names): column names, type names, JDBC types,
//! lengths, scales, optionality, generated/auto-increment flags, primary keys, positions,
//! character sets.

use cdc_mysql::ddl::{column_metadata, jdbc, DdlOptions, Schemas, TableDef};

fn schemas() -> Schemas {
    let mut s = Schemas::new(DdlOptions::default());
    s.apply("CREATE DATABASE db CHARACTER SET utf8mb4", None)
        .unwrap();
    s
}

fn table<'a>(s: &'a Schemas, name: &str) -> &'a TableDef {
    s.table("db", name)
        .unwrap_or_else(|| panic!("no table {name}"))
}

fn names(t: &TableDef) -> Vec<&str> {
    t.columns.iter().map(|c| c.name.as_str()).collect()
}

/// Debezium's `assertColumn(table, name, typeName, jdbcType, length, scale, optional,
/// generated, autoIncremented)`, -1 meaning unset.
#[allow(clippy::too_many_arguments)]
fn assert_column(
    t: &TableDef,
    name: &str,
    type_name: &str,
    jdbc_type: i32,
    length: i32,
    scale: i32,
    optional: bool,
    generated: bool,
    auto_incremented: bool,
) {
    let c = t.column(name).unwrap_or_else(|| panic!("no column {name}"));
    let m = column_metadata(c);
    assert_eq!(m.type_name, type_name, "{name}");
    assert_eq!(m.jdbc_type, jdbc_type, "{name}");
    assert_eq!(m.length.unwrap_or(-1), length, "{name}");
    assert_eq!(m.scale.unwrap_or(-1), scale, "{name}");
    assert_eq!(c.nullable, optional, "{name}");
    assert_eq!(c.generated, generated, "{name}");
    assert_eq!(c.auto_increment, auto_incremented, "{name}");
}

#[test]
fn should_parse_time_with_now_default() {
    let mut s = schemas();
    s.apply(
        "CREATE TABLE t1 ( c1 int primary key auto_increment, c2 datetime, c3 datetime on update now(), c4 char(4));",
        Some("db"),
    )
    .unwrap();
    let t = table(&s, "t1");
    assert_eq!(names(t), ["c1", "c2", "c3", "c4"]);
    assert_eq!(t.primary_key, ["c1"]);
    assert_column(t, "c1", "INT", jdbc::INTEGER, -1, -1, false, true, true);
    assert_column(
        t,
        "c2",
        "DATETIME",
        jdbc::TIMESTAMP,
        -1,
        -1,
        true,
        false,
        false,
    );
    assert_column(
        t,
        "c3",
        "DATETIME",
        jdbc::TIMESTAMP,
        -1,
        -1,
        true,
        true,
        true,
    );
    assert_column(t, "c4", "CHAR", jdbc::CHAR, 4, -1, true, false, false);
}

#[test]
fn should_parse_create_table_statement_with_multiple_columns_for_primary_key() {
    let mut s = schemas();
    s.apply(
        "CREATE TABLE shop ( id BIGINT(20) NOT NULL AUTO_INCREMENT, version BIGINT(20) NOT NULL, name VARCHAR(255) NOT NULL, owner VARCHAR(255) NOT NULL, phone_number VARCHAR(255) NOT NULL, primary key (id, name) );",
        Some("db"),
    )
    .unwrap();
    let t = table(&s, "shop");
    assert_eq!(names(t), ["id", "version", "name", "owner", "phone_number"]);
    assert_eq!(t.primary_key, ["id", "name"]);
    assert_column(t, "id", "BIGINT", jdbc::BIGINT, 20, -1, false, true, true);
    assert_column(
        t,
        "version",
        "BIGINT",
        jdbc::BIGINT,
        20,
        -1,
        false,
        false,
        false,
    );
    assert_column(
        t,
        "name",
        "VARCHAR",
        jdbc::VARCHAR,
        255,
        -1,
        false,
        false,
        false,
    );
    assert_column(
        t,
        "phone_number",
        "VARCHAR",
        jdbc::VARCHAR,
        255,
        -1,
        false,
        false,
        false,
    );
}

#[test]
fn should_parse_alter_table_statement_add_columns() {
    let mut s = schemas();
    s.apply("CREATE TABLE t ( col1 VARCHAR(25) ); ", Some("db"))
        .unwrap();
    let t = table(&s, "t");
    assert!(t.primary_key.is_empty());
    assert_column(
        t,
        "col1",
        "VARCHAR",
        jdbc::VARCHAR,
        25,
        -1,
        true,
        false,
        false,
    );
    assert_eq!(t.column("col1").unwrap().position, 1);

    s.apply("ALTER TABLE t ADD col2 VARCHAR(50) NOT NULL;", Some("db"))
        .unwrap();
    let t = table(&s, "t");
    assert_eq!(names(t), ["col1", "col2"]);
    assert_column(
        t,
        "col2",
        "VARCHAR",
        jdbc::VARCHAR,
        50,
        -1,
        false,
        false,
        false,
    );
    assert_eq!(t.column("col2").unwrap().position, 2);

    s.apply(
        "ALTER TABLE t ADD col3 FLOAT NOT NULL AFTER col1;",
        Some("db"),
    )
    .unwrap();
    let t = table(&s, "t");
    assert_eq!(names(t), ["col1", "col3", "col2"]);
    assert_column(t, "col3", "FLOAT", jdbc::FLOAT, -1, -1, false, false, false);
    assert_eq!(
        t.columns.iter().map(|c| c.position).collect::<Vec<_>>(),
        [1, 2, 3]
    );

    s.apply(
        "ALTER TABLE t ADD COLUMN col4 INT(10) DEFAULT ' 29 ' COLLATE 'utf8_general_ci';",
        Some("db"),
    )
    .unwrap();
    let t = table(&s, "t");
    assert_eq!(names(t), ["col1", "col3", "col2", "col4"]);
    assert_column(t, "col4", "INT", jdbc::INTEGER, 10, -1, true, false, false);
    assert_eq!(t.column("col4").unwrap().default.as_deref(), Some(" 29 "));
}

#[test]
fn should_parse_create_table_with_enum_and_set_columns() {
    let mut s = schemas();
    s.apply(
        "CREATE TABLE t ( c1 ENUM('a','b','c') NOT NULL, c2 SET('a','b','c') NULL);",
        Some("db"),
    )
    .unwrap();
    let t = table(&s, "t");
    assert_eq!(names(t), ["c1", "c2"]);
    assert_column(t, "c1", "ENUM", jdbc::CHAR, 1, -1, false, false, false);
    assert_column(t, "c2", "SET", jdbc::CHAR, 5, -1, true, false, false);
    assert_eq!(
        column_metadata(t.column("c1").unwrap()).enum_values,
        ["a", "b", "c"]
    );
}

#[test]
fn should_parse_create_table_with_charsets_and_inherit_defaults() {
    // shouldParseCharacterSetsAndUseDefault (database default utf8mb4).
    let mut s = schemas();
    s.apply(
        "CREATE TABLE t1 (\n id int(11) not null auto_increment,\n c1 varchar(255) default null,\n c2 varchar(255) not null,\n c3 varchar(255) charset latin2 not null,\n primary key (`id`)\n) engine=InnoDB auto_increment=1006 default charset=latin1;",
        Some("db"),
    )
    .unwrap();
    let t = table(&s, "t1");
    assert_eq!(t.primary_key, ["id"]);
    assert_column(t, "id", "INT", jdbc::INTEGER, 11, -1, false, true, true);
    let cs = |t: &TableDef, c: &str| t.column(c).unwrap().charset.clone();
    assert_eq!(cs(t, "c1").as_deref(), Some("latin1"));
    assert_eq!(cs(t, "c2").as_deref(), Some("latin1"));
    assert_eq!(cs(t, "c3").as_deref(), Some("latin2"));
    s.apply(
        "CREATE TABLE t2 (\n id int(11) not null auto_increment,\n c1 varchar(255) default null,\n c2 varchar(255) not null,\n c3 varchar(255) charset latin2 not null,\n primary key (`id`)\n) engine=InnoDB auto_increment=1006;",
        Some("db"),
    )
    .unwrap();
    let t2 = table(&s, "t2");
    assert_eq!(cs(t2, "c1").as_deref(), Some("utf8mb4"));
    assert_eq!(cs(t2, "c2").as_deref(), Some("utf8mb4"));
    assert_eq!(cs(t2, "c3").as_deref(), Some("latin2"));
    assert_eq!(cs(t2, "id"), None);
}

#[test]
fn should_parse_create_table_statement_with_signed_types() {
    let mut s = schemas();
    s.apply(
        "CREATE TABLE foo ( c1 BIGINT SIGNED NOT NULL, c2 INT UNSIGNED NOT NULL, c3 INT(4) ZEROFILL );",
        Some("db"),
    )
    .unwrap();
    let t = table(&s, "foo");
    assert_column(
        t,
        "c1",
        "BIGINT SIGNED",
        jdbc::BIGINT,
        -1,
        -1,
        false,
        false,
        false,
    );
    assert_column(
        t,
        "c2",
        "INT UNSIGNED",
        jdbc::INTEGER,
        -1,
        -1,
        false,
        false,
        false,
    );
    // ZEROFILL implies UNSIGNED (DataTypeBuilder.adjustSignedUnsignedZerofill).
    assert_column(
        t,
        "c3",
        "INT UNSIGNED ZEROFILL",
        jdbc::INTEGER,
        4,
        -1,
        true,
        false,
        false,
    );
}

#[test]
fn should_parse_non_binary_string_with_binary_collation_as_string() {
    let mut s = schemas();
    s.apply(
        "CREATE TABLE non_binary ( c1 CHAR(60) BINARY PRIMARY KEY,c2 VARCHAR(60) BINARY NOT NULL DEFAULT '',c3 TINYTEXT BINARY NOT NULL DEFAULT 'N',c4 TEXT BINARY,c5 MEDIUMTEXT BINARY,c6 LONGTEXT BINARY,c7 NCHAR(60) BINARY,c8 NVARCHAR(60) BINARY) engine=MyISAM CHARACTER SET utf8 COLLATE utf8_bin",
        Some("db"),
    )
    .unwrap();
    let t = table(&s, "non_binary");
    assert_eq!(t.columns.len(), 8);
    let has_default = |c: &str| {
        let c = t.column(c).unwrap();
        (c.has_default, c.default.clone())
    };
    assert_column(
        t,
        "c1",
        "CHAR BINARY",
        jdbc::CHAR,
        60,
        -1,
        false,
        false,
        false,
    );
    assert_eq!(has_default("c1"), (false, None));
    assert_column(
        t,
        "c2",
        "VARCHAR BINARY",
        jdbc::VARCHAR,
        60,
        -1,
        false,
        false,
        false,
    );
    assert_eq!(has_default("c2"), (true, Some(String::new())));
    assert_column(
        t,
        "c3",
        "TINYTEXT BINARY",
        jdbc::VARCHAR,
        -1,
        -1,
        false,
        false,
        false,
    );
    assert_eq!(has_default("c3"), (true, Some("N".into())));
    assert_column(
        t,
        "c4",
        "TEXT BINARY",
        jdbc::VARCHAR,
        -1,
        -1,
        true,
        false,
        false,
    );
    assert_eq!(has_default("c4"), (true, None));
    assert_column(
        t,
        "c5",
        "MEDIUMTEXT BINARY",
        jdbc::VARCHAR,
        -1,
        -1,
        true,
        false,
        false,
    );
    assert_column(
        t,
        "c6",
        "LONGTEXT BINARY",
        jdbc::VARCHAR,
        -1,
        -1,
        true,
        false,
        false,
    );
    assert_column(
        t,
        "c7",
        "NCHAR BINARY",
        jdbc::NCHAR,
        60,
        -1,
        true,
        false,
        false,
    );
    assert_column(
        t,
        "c8",
        "NVARCHAR BINARY",
        jdbc::NVARCHAR,
        60,
        -1,
        true,
        false,
        false,
    );
    assert_eq!(t.column("c8").unwrap().charset.as_deref(), Some("utf8"));
}

#[test]
fn should_not_duplicate_binary_type_name() {
    let mut s = schemas();
    s.apply(
        "CREATE TABLE mytable (c1 BINARY(16), c2 VARBINARY(32))",
        Some("db"),
    )
    .unwrap();
    let t = table(&s, "mytable");
    assert_column(t, "c1", "BINARY", jdbc::BINARY, 16, -1, true, false, false);
    assert_column(
        t,
        "c2",
        "VARBINARY",
        jdbc::VARBINARY,
        32,
        -1,
        true,
        false,
        false,
    );
    assert!(t.column("c1").unwrap().has_default);
}
