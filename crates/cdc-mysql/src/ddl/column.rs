//! `sqlparser` column definitions → [`ColumnDef`], with Debezium's reading of defaults,
//! AUTO_INCREMENT, ON UPDATE and inline keys.

use sqlparser::ast::{self, ColumnOption, DataType, Expr, UnaryOperator, Value};

use super::metadata::{column_metadata, jdbc};
use super::model::{ColumnDef, TableDef, TypeAttributes};
use super::rewrite::charset_of_collation;
use super::schemas::APPLY;

/// A column definition and the inline keys it declared.
#[derive(Debug, Clone)]
pub(crate) struct ParsedColumn {
    pub def: ColumnDef,
    pub primary_key: bool,
    pub unique: bool,
}

/// What Debezium records for `CURRENT_TIMESTAMP` / `NOW()` defaults.
const EPOCH_DEFAULT: &str = "1970-01-01 00:00:00";

pub(crate) fn from_sql(col: &ast::ColumnDef, attributes: TypeAttributes) -> ParsedColumn {
    from_parts(&col.name.value, &col.data_type, &col.options, attributes)
}

pub(crate) fn from_parts(
    name: &str,
    data_type: &DataType,
    options: &[ast::ColumnOptionDef],
    attributes: TypeAttributes,
) -> ParsedColumn {
    let mut def = ColumnDef {
        name: name.to_string(),
        data_type: data_type.clone(),
        nullable: true,
        charset: None,
        collation: None,
        default: None,
        has_default: false,
        auto_increment: false,
        generated: false,
        computed: false,
        comment: None,
        position: 0,
        attributes,
    };
    let mut primary_key = false;
    let mut unique = false;
    // SERIAL = BIGINT UNSIGNED NOT NULL AUTO_INCREMENT UNIQUE.
    if let DataType::Custom(n, args) = data_type {
        if args.is_empty() && n.to_string().eq_ignore_ascii_case("SERIAL") {
            def.data_type = DataType::BigIntUnsigned(None);
            def.nullable = false;
            def.auto_increment = true;
            def.generated = true;
            unique = true;
        }
    }
    for opt in options.iter().map(|o| &o.option) {
        match opt {
            ColumnOption::Null => def.nullable = true,
            ColumnOption::NotNull => def.nullable = false,
            ColumnOption::Default(expr) => {
                let (text, has) = default_text(expr);
                def.default = text;
                def.has_default = has;
            }
            ColumnOption::PrimaryKey(_) => {
                primary_key = true;
                def.nullable = false;
            }
            ColumnOption::Unique(_) => unique = true,
            ColumnOption::CharacterSet(n) => def.charset = Some(unquoted(n)),
            ColumnOption::Collation(n) => def.collation = Some(unquoted(n)),
            ColumnOption::Comment(c) => def.comment = Some(c.clone()),
            ColumnOption::OnUpdate(_) => {
                def.auto_increment = true;
                def.generated = true;
            }
            ColumnOption::DialectSpecific(tokens)
                if tokens
                    .iter()
                    .any(|t| t.to_string().eq_ignore_ascii_case("AUTO_INCREMENT")) =>
            {
                def.auto_increment = true;
                def.generated = true;
            }
            ColumnOption::Generated {
                generation_expr: Some(_),
                ..
            } => def.computed = true,
            _ => {}
        }
    }
    if def.charset.is_none() {
        def.charset = def.collation.as_deref().and_then(charset_of_collation);
    }
    // A nullable column defaults to NULL: Debezium's `ColumnEditor.optional(true)` sets
    // `hasDefaultValue`.
    if def.nullable {
        def.has_default = true;
    }
    ParsedColumn {
        def,
        primary_key,
        unique,
    }
}

/// An object name's last part without quotes (`utf8mb4`, `` `utf8mb4_bin` ``).
pub(crate) fn unquoted(name: &ast::ObjectName) -> String {
    match name.0.last() {
        Some(ast::ObjectNamePart::Identifier(id)) => id.value.clone(),
        _ => name.to_string(),
    }
}

/// Debezium's `defaultValueExpression` and `hasDefaultValue` for `DEFAULT expr`.
pub(crate) fn default_text(expr: &Expr) -> (Option<String>, bool) {
    match expr {
        Expr::Value(v) => match &v.value {
            Value::Null => (None, false),
            Value::SingleQuotedString(s)
            | Value::DoubleQuotedString(s)
            | Value::HexStringLiteral(s)
            | Value::SingleQuotedByteStringLiteral(s)
            | Value::DoubleQuotedByteStringLiteral(s)
            | Value::NationalStringLiteral(s) => (Some(s.clone()), true),
            Value::Number(n, _) => (Some(n.to_string()), true),
            Value::Boolean(b) => (Some(b.to_string()), true),
            other => (Some(other.to_string()), true),
        },
        Expr::UnaryOp { op, expr } => match (op, default_text(expr)) {
            (UnaryOperator::Minus, (Some(t), true)) => (Some(format!("-{t}")), true),
            (UnaryOperator::Plus, (Some(t), true)) => (Some(format!("+{t}")), true),
            _ => (None, true),
        },
        Expr::Prefixed { value, .. } => default_text(value),
        Expr::Function(f) => {
            let name = f.name.to_string().to_ascii_uppercase();
            match name.as_str() {
                "NOW" | "CURRENT_TIMESTAMP" | "LOCALTIME" | "LOCALTIMESTAMP" => {
                    (Some(EPOCH_DEFAULT.to_string()), true)
                }
                _ => (None, true),
            }
        }
        Expr::TypedString(t) => (Some(t.to_string()), true),
        _ => (None, true),
    }
}

/// Column names of a key (expression key parts are refused).
pub(crate) fn index_columns(cols: &[ast::IndexColumn]) -> Result<Vec<String>, String> {
    cols.iter()
        .map(|c| match &c.column.expr {
            ast::Expr::Identifier(id) => Ok(id.value.clone()),
            // `KEY (name(10))`: a prefix key on column `name`.
            ast::Expr::Function(f) => Ok(unquoted(&f.name)),
            other => Err(format!("{APPLY}unsupported key part `{other}`")),
        })
        .collect()
}

/// Sets the primary key (names as the table spells them); key columns become NOT NULL.
pub(crate) fn set_primary_key(table: &mut TableDef, cols: Vec<String>) -> Result<(), String> {
    let mut names = Vec::with_capacity(cols.len());
    for c in cols {
        let idx = table.column_index(&c).ok_or_else(|| {
            format!(
                "{APPLY}primary key names unknown column `{c}` of {}",
                table.id
            )
        })?;
        table.columns[idx].nullable = false;
        names.push(table.columns[idx].name.clone());
    }
    table.primary_key = names;
    Ok(())
}

/// A character column without a character set takes the table's.
pub(crate) fn inherit_charset(mut def: ColumnDef, table_charset: Option<&str>) -> ColumnDef {
    let meta = column_metadata(&def);
    if meta.uses_charset() {
        if meta.jdbc_type == jdbc::NCHAR || meta.jdbc_type == jdbc::NVARCHAR {
            def.charset = Some("utf8".to_string());
        } else if def
            .charset
            .as_deref()
            .is_none_or(|c| c.eq_ignore_ascii_case("DEFAULT"))
        {
            def.charset = table_charset.map(str::to_string);
        }
    }
    def
}
