//! The tracked schema: databases, tables, columns; and the changes a statement made.

use std::fmt;

use sqlparser::ast::DataType;

/// A table's identity: database and table name, as written in DDL (MySQL table names are
/// case-sensitive on Linux with `lower_case_table_names=0`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TableId {
    pub database: String,
    pub table: String,
}

impl TableId {
    pub fn new(database: impl Into<String>, table: impl Into<String>) -> Self {
        TableId {
            database: database.into(),
            table: table.into(),
        }
    }

    /// Debezium's `TableId.toDoubleQuotedString()`: `"db"."table"`.
    pub fn double_quoted(&self) -> String {
        format!("\"{}\".\"{}\"", self.database, self.table)
    }

    /// Parses Debezium's double-quoted form (`"db"."table"`, quotes doubled inside names), or an
    /// unquoted `db.table`.
    pub fn parse_double_quoted(text: &str) -> Option<TableId> {
        let mut parts = Vec::new();
        let mut chars = text.chars().peekable();
        while chars.peek().is_some() {
            let mut part = String::new();
            if chars.peek() == Some(&'"') {
                chars.next();
                loop {
                    match chars.next()? {
                        '"' if chars.peek() == Some(&'"') => {
                            chars.next();
                            part.push('"');
                        }
                        '"' => break,
                        c => part.push(c),
                    }
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c == '.' {
                        break;
                    }
                    part.push(c);
                    chars.next();
                }
            }
            parts.push(part);
            match chars.next() {
                None => break,
                Some('.') => continue,
                Some(_) => return None,
            }
        }
        match parts.as_slice() {
            [db, table] => Some(TableId::new(db.clone(), table.clone())),
            _ => None,
        }
    }
}

impl fmt::Display for TableId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.database, self.table)
    }
}

/// One column as the DDL defined it. `charset` is the effective character set of character
/// columns (explicit, from the collation, or inherited from the table); `None` for others.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnDef {
    pub name: String,
    pub data_type: DataType,
    pub nullable: bool,
    pub charset: Option<String>,
    /// Collation given explicitly on the column.
    pub collation: Option<String>,
    /// The default as Debezium records it (`defaultValueExpression`): literal text without
    /// quotes, `1970-01-01 00:00:00` for `CURRENT_TIMESTAMP`/`NOW()`, `None` for `DEFAULT NULL`
    /// and for expression defaults (which still set `has_default`, as does being nullable).
    pub default: Option<String>,
    pub has_default: bool,
    pub auto_increment: bool,
    /// Debezium's `generated`: AUTO_INCREMENT or `ON UPDATE CURRENT_TIMESTAMP`.
    pub generated: bool,
    /// A generated column (`AS (expr) [VIRTUAL|STORED]`); its values appear in row images.
    pub computed: bool,
    pub comment: Option<String>,
    /// 1-based position in the table.
    pub position: u32,
    /// Type attributes the data type does not carry (SIGNED, ZEROFILL, BINARY).
    pub attributes: TypeAttributes,
}

/// Type attributes written after a column's type that `DataType` does not keep; Debezium shows
/// them in the type name (`BIGINT SIGNED`, `INT UNSIGNED ZEROFILL`, `CHAR BINARY`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TypeAttributes {
    /// `SIGNED` written explicitly (and not overridden by a later UNSIGNED).
    pub signed: bool,
    /// `ZEROFILL` (implies UNSIGNED).
    pub zerofill: bool,
    /// The `BINARY` attribute of a character type (a binary collation).
    pub binary: bool,
}

/// One table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableDef {
    pub id: TableId,
    pub columns: Vec<ColumnDef>,
    pub primary_key: Vec<String>,
    pub default_charset: Option<String>,
    pub comment: Option<String>,
}

impl TableDef {
    pub fn name(&self) -> &str {
        &self.id.table
    }

    /// The column named `name` (MySQL column names are case-insensitive).
    pub fn column(&self, name: &str) -> Option<&ColumnDef> {
        self.columns
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
    }

    pub(crate) fn column_index(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// Renumbers positions 1..n after columns moved.
    pub(crate) fn renumber(&mut self) {
        for (i, c) in self.columns.iter_mut().enumerate() {
            c.position = u32::try_from(i + 1).unwrap_or(u32::MAX);
        }
    }
}

/// One database: its default character set/collation and tables.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DatabaseDef {
    pub name: String,
    pub default_charset: Option<String>,
    pub default_collation: Option<String>,
}

/// What one statement changed, one entry per affected table (Debezium emits one schema-change
/// event per entry) or per database statement.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaChange {
    /// The database the change belongs to (Debezium's `databaseName`).
    pub database: String,
    /// The statement text Debezium records for this change (for `DROP TABLE a, b` one
    /// ``DROP TABLE `db`.`a` `` per table).
    pub ddl: String,
    pub kind: ChangeKind,
}

/// The kind of a [`SchemaChange`].
#[derive(Debug, Clone, PartialEq)]
pub enum ChangeKind {
    /// A table was created; its definition after the statement.
    CreateTable(TableDef),
    /// A table was altered (or renamed: `previous` holds its old id).
    AlterTable {
        table: TableDef,
        previous: Option<TableId>,
    },
    DropTable(TableId),
    /// TRUNCATE: no schema change, reported because Debezium emits it.
    TruncateTable(TableId),
    /// CREATE/ALTER/DROP DATABASE or USE: a database-level event without table changes.
    Database,
}

impl SchemaChange {
    /// The table this change is about, if any.
    pub fn table_id(&self) -> Option<&TableId> {
        match &self.kind {
            ChangeKind::CreateTable(t) | ChangeKind::AlterTable { table: t, .. } => Some(&t.id),
            ChangeKind::DropTable(id) | ChangeKind::TruncateTable(id) => Some(id),
            ChangeKind::Database => None,
        }
    }
}
