//! `sqlparser` column definitions → [`ColumnDef`], with Debezium's reading of defaults,
//! AUTO_INCREMENT, ON UPDATE and inline keys.

use sqlparser::ast::{self, ColumnOption, DataType, Expr, UnaryOperator, Value};

use super::model::{ColumnDef, TypeAttributes};
use super::rewrite::charset_of_collation;

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
