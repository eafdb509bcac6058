//! A JSON tree written the way Kafka Connect's `JsonConverter` (Jackson) writes payloads:
//! object fields in insertion order, floating-point numbers in Java's `Double.toString` /
//! `Float.toString` form (`1.0E-7`, `-9.223372036854776E16`, `99999.0`), non-finite floats as
//! the strings `NaN`, `Infinity`, `-Infinity`.

use serde_json::Value as Json;

/// One JSON value of a payload.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Out {
    Null,
    Bool(bool),
    Int(i64),
    /// A number already rendered as JSON text (Java's floating-point form).
    Number(String),
    Str(String),
    Array(Vec<Out>),
    Object(Vec<(String, Out)>),
}

impl Out {
    pub(crate) fn is_null(&self) -> bool {
        matches!(self, Out::Null)
    }

    /// A `double` as Jackson writes it.
    pub(crate) fn double(v: f64) -> Out {
        match non_finite(v) {
            Some(s) => Out::Str(s.into()),
            None => Out::Number(java_float_text(
                &format!("{:e}", v.abs()),
                v.is_sign_negative(),
            )),
        }
    }

    /// A `float` as Jackson writes it.
    pub(crate) fn float(v: f32) -> Out {
        match non_finite(f64::from(v)) {
            Some(s) => Out::Str(s.into()),
            None => Out::Number(java_float_text(
                &format!("{:e}", v.abs()),
                v.is_sign_negative(),
            )),
        }
    }

    /// Appends the JSON text.
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        match self {
            Out::Null => out.extend_from_slice(b"null"),
            Out::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            Out::Int(i) => out.extend_from_slice(i.to_string().as_bytes()),
            Out::Number(n) => out.extend_from_slice(n.as_bytes()),
            Out::Str(s) => write_str(out, s),
            Out::Array(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    item.write(out);
                }
                out.push(b']');
            }
            Out::Object(fields) => {
                out.push(b'{');
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_str(out, k);
                    out.push(b':');
                    v.write(out);
                }
                out.push(b'}');
            }
        }
    }

    /// The same value as a `serde_json` tree (used for schema defaults).
    pub(crate) fn to_json(&self) -> Json {
        match self {
            Out::Null => Json::Null,
            Out::Bool(b) => Json::Bool(*b),
            Out::Int(i) => Json::from(*i),
            Out::Number(n) => n
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map_or(Json::Null, Json::Number),
            Out::Str(s) => Json::String(s.clone()),
            Out::Array(items) => Json::Array(items.iter().map(Out::to_json).collect()),
            Out::Object(fields) => Json::Object(
                fields
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

/// Writes a JSON string as Jackson does: short escapes for `"`, `\\`, `\b`, `\t`, `\n`, `\f`,
/// `\r`; other control characters and characters outside the Basic Multilingual Plane as
/// `\uXXXX` (upper-case hex, the latter as a UTF-16 surrogate pair); everything else as is.
fn write_str(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let unit = |out: &mut Vec<u8>, u: u16| {
        out.extend_from_slice(b"\\u");
        for shift in [12, 8, 4, 0] {
            out.push(HEX[usize::from((u >> shift) & 0xf)]);
        }
    };
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\u{8}' => out.extend_from_slice(b"\\b"),
            '\t' => out.extend_from_slice(b"\\t"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\u{c}' => out.extend_from_slice(b"\\f"),
            '\r' => out.extend_from_slice(b"\\r"),
            c if (c as u32) < 0x20 => unit(out, c as u16),
            c if (c as u32) > 0xFFFF => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    unit(out, *u);
                }
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

fn non_finite(v: f64) -> Option<&'static str> {
    if v.is_nan() {
        Some("NaN")
    } else if v.is_infinite() {
        Some(if v > 0.0 { "Infinity" } else { "-Infinity" })
    } else {
        None
    }
}

/// Java's `Double.toString` layout of the shortest digits in `sci` (Rust `{:e}` text of a
/// non-negative finite number): plain notation for 10^-3 ≤ |v| < 10^7, else `d.dddE±n`;
/// always at least one fractional digit.
fn java_float_text(sci: &str, negative: bool) -> String {
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if negative { "-" } else { "" };
    if digits.bytes().all(|b| b == b'0') {
        return format!("{sign}0.0");
    }
    if (-3..7).contains(&exp) {
        let point = exp + 1; // digits before the decimal point
        let (int, frac) = if point <= 0 {
            (
                "0".to_owned(),
                format!("{}{digits}", "0".repeat((-point) as usize)),
            )
        } else if point as usize >= digits.len() {
            (
                format!("{digits}{}", "0".repeat(point as usize - digits.len())),
                String::new(),
            )
        } else {
            let (i, f) = digits.split_at(point as usize);
            (i.to_owned(), f.to_owned())
        };
        let frac = if frac.is_empty() {
            "0".to_owned()
        } else {
            frac
        };
        format!("{sign}{int}.{frac}")
    } else {
        let (first, rest) = digits.split_at(1);
        let rest = if rest.is_empty() { "0" } else { rest };
        format!("{sign}{first}.{rest}E{exp}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(o: Out) -> String {
        let mut v = Vec::new();
        o.write(&mut v);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn doubles_as_java_writes_them() {
        assert_eq!(text(Out::double(1e-7)), "1.0E-7");
        assert_eq!(
            text(Out::double(-92233720368547758.08)),
            "-9.223372036854776E16"
        );
        assert_eq!(text(Out::double(-99999.0)), "-99999.0");
        assert_eq!(text(Out::double(12345.67)), "12345.67");
        assert_eq!(text(Out::double(-0.01)), "-0.01");
        assert_eq!(text(Out::double(0.001)), "0.001");
        assert_eq!(text(Out::double(1e7)), "1.0E7");
        assert_eq!(text(Out::double(0.0)), "0.0");
        assert_eq!(text(Out::double(-0.0)), "-0.0");
        assert_eq!(text(Out::double(f64::NAN)), "\"NaN\"");
        assert_eq!(text(Out::float(1.5)), "1.5");
        assert_eq!(text(Out::float(f32::NEG_INFINITY)), "\"-Infinity\"");
        assert_eq!(text(Out::float(0.1)), "0.1");
    }

    #[test]
    fn strings_as_jackson_escapes_them() {
        assert_eq!(
            text(Out::Str("q\" b\\ t\t n\n \u{1} é 😀".into())),
            r#""q\" b\\ t\t n\n \u0001 é \uD83D\uDE00""#
        );
    }
}
