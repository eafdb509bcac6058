// Shared by the unit tests and the golden test; each uses a part of it.
#![allow(dead_code)]

//! Test support: MySQL's binary JSON format (small objects/arrays), written from a
//! `serde_json` document, and JSON diffs as PARTIAL_UPDATE_ROWS events carry them, parsed
//! with `mysql_common` itself.

use mysql_common::binlog::jsonb;
use mysql_common::binlog::jsondiff::JsonDiff;
use mysql_common::io::ParseBuf;
use serde_json::Value as J;

/// The binary JSON of `doc` (type byte, then the value).
pub fn encode(doc: &J) -> Vec<u8> {
    let (ty, body) = value(doc);
    let mut out = vec![ty];
    out.extend(body);
    out
}

/// Parses binary JSON with `mysql_common`.
pub fn parse(bytes: &[u8]) -> jsonb::Value<'static> {
    let v: jsonb::Value<'_> = ParseBuf(bytes).parse(()).expect("valid binary JSON");
    v.into_owned()
}

/// A JSON diff: operation (0 replace, 1 insert, 2 remove), path, value.
pub fn diff(op: u8, path: &str, value: Option<&J>) -> JsonDiff<'static> {
    let mut bytes = vec![op];
    lenenc(&mut bytes, path.len());
    bytes.extend_from_slice(path.as_bytes());
    if let Some(v) = value {
        let doc = encode(v);
        lenenc(&mut bytes, doc.len());
        bytes.extend(doc);
    }
    let d: JsonDiff<'_> = ParseBuf(&bytes).parse(()).expect("valid JSON diff");
    d.into_owned()
}

fn lenenc(out: &mut Vec<u8>, n: usize) {
    assert!(n < 251);
    out.push(n as u8);
}

/// (type, bytes) of a value stored out of line; inline types are handled by `entry`.
fn value(v: &J) -> (u8, Vec<u8>) {
    match v {
        J::Null => (0x04, vec![0x00]),
        J::Bool(true) => (0x04, vec![0x01]),
        J::Bool(false) => (0x04, vec![0x02]),
        J::Number(n) if n.as_i64().is_some_and(|i| i16::try_from(i).is_ok()) => {
            (0x05, (n.as_i64().unwrap() as i16).to_le_bytes().to_vec())
        }
        J::Number(n) if n.is_i64() => (0x09, n.as_i64().unwrap().to_le_bytes().to_vec()),
        J::Number(n) if n.is_u64() => (0x0a, n.as_u64().unwrap().to_le_bytes().to_vec()),
        J::Number(n) => (0x0b, n.as_f64().unwrap().to_le_bytes().to_vec()),
        J::String(s) => {
            let mut out = Vec::new();
            let mut len = s.len();
            loop {
                let byte = (len & 0x7f) as u8;
                len >>= 7;
                if len == 0 {
                    out.push(byte);
                    break;
                }
                out.push(byte | 0x80);
            }
            out.extend_from_slice(s.as_bytes());
            (0x0c, out)
        }
        J::Array(items) => (0x02, container(None, items.iter().collect())),
        J::Object(map) => {
            let mut members: Vec<(&String, &J)> = map.iter().collect();
            members.sort_by(|a, b| (a.0.len(), a.0.as_bytes()).cmp(&(b.0.len(), b.0.as_bytes())));
            let keys = members.iter().map(|(k, _)| k.as_str()).collect();
            (
                0x00,
                container(Some(keys), members.iter().map(|(_, v)| *v).collect()),
            )
        }
    }
}

/// A small-format object (with keys) or array.
fn container(keys: Option<Vec<&str>>, values: Vec<&J>) -> Vec<u8> {
    let n = values.len();
    let key_entries = keys.as_ref().map_or(0, |_| 4 * n);
    let header = 4 + key_entries + 3 * n;
    let mut tail: Vec<u8> = Vec::new();
    let mut key_part = Vec::new();
    if let Some(keys) = &keys {
        for k in keys {
            key_part.extend(((header + tail.len()) as u16).to_le_bytes());
            key_part.extend((k.len() as u16).to_le_bytes());
            tail.extend_from_slice(k.as_bytes());
        }
    }
    let mut value_part = Vec::new();
    for v in values {
        let (ty, body) = value(v);
        value_part.push(ty);
        if matches!(ty, 0x04 | 0x05) {
            let mut inline = body.clone();
            inline.resize(2, 0);
            value_part.extend(inline);
        } else {
            value_part.extend(((header + tail.len()) as u16).to_le_bytes());
            tail.extend(body);
        }
    }
    let size = header + tail.len();
    let mut out = Vec::with_capacity(size);
    out.extend((n as u16).to_le_bytes());
    out.extend((size as u16).to_le_bytes());
    out.extend(key_part);
    out.extend(value_part);
    out.extend(tail);
    out
}
