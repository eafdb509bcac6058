//! MySQL JSON values: binary JSON (binlog) rendered as the text MySQL itself prints (what a
//! snapshot `SELECT` returns: `{"a": 1, "b": [1, 2]}`), so snapshot and streaming give the
//! same string; and JSON partial-update diffs applied to the before image.
//!
//! Objects print their keys in MySQL's storage order (by length, then bytes); strings are
//! escaped as MySQL does; doubles print in their shortest round-trip form with MySQL's
//! `.0` / exponent conventions.

use std::fmt::Write as _;

use mysql_async::binlog::jsonb::{self, JsonContainer, JsonDom, JsonNumber, JsonScalar};
use mysql_async::binlog::jsondiff::{JsonDiff, JsonDiffOperation};

/// A JSON document tree with MySQL's scalar kinds.
#[derive(Debug, Clone, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Double(f64),
    /// DECIMAL inside JSON, as its decimal text.
    Decimal(String),
    /// Strings and the quoted scalars (dates, times, opaque values).
    Str(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

/// MySQL's text of a binary JSON document.
pub fn jsonb_text(doc: &jsonb::Value<'_>) -> Result<String, String> {
    let tree = from_jsonb(doc)?;
    let mut out = String::new();
    write(&tree, &mut out);
    Ok(out)
}

/// Applies PARTIAL_UPDATE_ROWS JSON diffs to the before image `before`, in order, and
/// returns MySQL's text of the result.
pub fn apply_json_diffs(
    before: &jsonb::Value<'_>,
    diffs: &[JsonDiff<'_>],
) -> Result<String, String> {
    let mut tree = from_jsonb(before)?;
    for diff in diffs {
        let path = diff.path_str().into_owned();
        let legs = parse_path(&path).ok_or_else(|| format!("unsupported JSON path {path:?}"))?;
        let value = diff.value().map(from_jsonb).transpose()?;
        apply(&mut tree, &legs, diff.operation(), value)
            .map_err(|e| format!("{:?} at {path}: {e}", diff.operation()))?;
    }
    let mut out = String::new();
    write(&tree, &mut out);
    Ok(out)
}

fn from_jsonb(doc: &jsonb::Value<'_>) -> Result<Json, String> {
    let dom = doc.clone().parse().map_err(|e| e.to_string())?;
    Ok(from_dom(dom))
}

fn from_dom(dom: JsonDom) -> Json {
    match dom {
        JsonDom::Container(JsonContainer::Array(items)) => {
            Json::Array(items.into_iter().map(from_dom).collect())
        }
        JsonDom::Container(JsonContainer::Object(map)) => {
            let mut members: Vec<(String, Json)> =
                map.into_iter().map(|(k, v)| (k, from_dom(v))).collect();
            sort_keys(&mut members);
            Json::Object(members)
        }
        JsonDom::Scalar(JsonScalar::Null) => Json::Null,
        JsonDom::Scalar(JsonScalar::Boolean(b)) => Json::Bool(b),
        JsonDom::Scalar(JsonScalar::Number(JsonNumber::Int(i))) => Json::Int(i),
        JsonDom::Scalar(JsonScalar::Number(JsonNumber::Uint(u))) => Json::UInt(u),
        JsonDom::Scalar(JsonScalar::Number(JsonNumber::Double(d))) => Json::Double(d),
        JsonDom::Scalar(JsonScalar::Number(JsonNumber::Decimal(d))) => Json::Decimal(d.to_string()),
        JsonDom::Scalar(JsonScalar::String(s)) => Json::Str(s),
        JsonDom::Scalar(JsonScalar::DateTime(t)) => Json::Str(format!("{t:.6}")),
        JsonDom::Scalar(JsonScalar::Opaque(o)) => Json::Str(o.to_string()),
    }
}

/// MySQL keeps object members sorted by key length, then key bytes.
fn sort_keys(members: &mut [(String, Json)]) {
    members.sort_by(|a, b| (a.0.len(), a.0.as_bytes()).cmp(&(b.0.len(), b.0.as_bytes())));
}

fn write(json: &Json, out: &mut String) {
    match json {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Json::UInt(u) => {
            let _ = write!(out, "{u}");
        }
        Json::Double(d) => out.push_str(&double_text(*d)),
        Json::Decimal(d) => out.push_str(d),
        Json::Str(s) => quote(s, out),
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write(item, out);
            }
            out.push(']');
        }
        Json::Object(members) => {
            out.push('{');
            for (i, (k, v)) in members.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                quote(k, out);
                out.push_str(": ");
                write(v, out);
            }
            out.push('}');
        }
    }
}

fn quote(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A double as MySQL prints it in JSON: shortest round-trip digits; plain notation for
/// decimal exponents −5 < e < 15 (with `.0` on integral values), else `1.5e-7` / `1e20`.
fn double_text(d: f64) -> String {
    if !d.is_finite() {
        return "null".into();
    }
    if d == 0.0 {
        return if d.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    let exponent = d.abs().log10().floor() as i32;
    if (-5 < exponent) && (exponent < 15) {
        let text = format!("{d}");
        if text.contains('.') {
            text
        } else {
            format!("{text}.0")
        }
    } else {
        format!("{d:e}")
    }
}

/// One leg of a JSON path: an object member or an array position.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Leg {
    Member(String),
    Index(usize),
}

/// Parses the paths MySQL writes into JSON diffs: `$`, `.name`, `."quoted name"`, `[n]`.
fn parse_path(path: &str) -> Option<Vec<Leg>> {
    let mut rest = path.trim().strip_prefix('$')?;
    let mut legs = Vec::new();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            legs.push(Leg::Index(r[..end].trim().parse().ok()?));
            rest = &r[end + 1..];
        } else if let Some(r) = rest.strip_prefix('.') {
            if r.starts_with('"') {
                // A JSON string literal: find its closing quote, honouring escapes.
                let bytes = r.as_bytes();
                let mut i = 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                let literal = r.get(..=i)?;
                legs.push(Leg::Member(serde_json::from_str(literal).ok()?));
                rest = &r[i + 1..];
            } else {
                let end = r.find(['.', '[']).unwrap_or(r.len());
                if end == 0 {
                    return None;
                }
                legs.push(Leg::Member(r[..end].to_owned()));
                rest = &r[end..];
            }
        } else {
            return None;
        }
    }
    Some(legs)
}

fn apply(
    tree: &mut Json,
    legs: &[Leg],
    op: JsonDiffOperation,
    value: Option<Json>,
) -> Result<(), String> {
    let Some((last, parents)) = legs.split_last() else {
        // The whole document.
        return match (op, value) {
            (JsonDiffOperation::REPLACE, Some(v)) => {
                *tree = v;
                Ok(())
            }
            _ => Err("only REPLACE may target the document root".into()),
        };
    };
    let mut node = tree;
    for leg in parents {
        node = child(node, leg).ok_or_else(|| format!("no element at {leg:?}"))?;
    }
    let missing_value = || "operation without a value".to_string();
    match (op, node, last) {
        (JsonDiffOperation::REPLACE, node, leg) => {
            let slot =
                child(node, leg).ok_or_else(|| format!("no element at {leg:?} to replace"))?;
            *slot = value.ok_or_else(missing_value)?;
        }
        (JsonDiffOperation::INSERT, Json::Object(members), Leg::Member(key)) => {
            if members.iter().any(|(k, _)| k == key) {
                return Err(format!("member {key:?} already exists"));
            }
            members.push((key.clone(), value.ok_or_else(missing_value)?));
            sort_keys(members);
        }
        (JsonDiffOperation::INSERT, Json::Array(items), Leg::Index(i)) => {
            let at = (*i).min(items.len());
            items.insert(at, value.ok_or_else(missing_value)?);
        }
        (JsonDiffOperation::REMOVE, Json::Object(members), Leg::Member(key)) => {
            let at = members
                .iter()
                .position(|(k, _)| k == key)
                .ok_or_else(|| format!("no member {key:?} to remove"))?;
            members.remove(at);
        }
        (JsonDiffOperation::REMOVE, Json::Array(items), Leg::Index(i)) => {
            if *i >= items.len() {
                return Err(format!("no element {i} to remove"));
            }
            items.remove(*i);
        }
        (op, _, leg) => return Err(format!("{op:?} cannot apply to {leg:?}")),
    }
    Ok(())
}

fn child<'a>(node: &'a mut Json, leg: &Leg) -> Option<&'a mut Json> {
    match (node, leg) {
        (Json::Object(members), Leg::Member(key)) => {
            members.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v)
        }
        (Json::Array(items), Leg::Index(i)) => items.get_mut(*i),
        _ => None,
    }
}

#[cfg(test)]
#[path = "json_tests.rs"]
mod tests;
