//! Text output of structured types: arrays, hstore, point, PostGIS EWKB, bit strings.

use cdc_model::Value;

/// A bit string (`1010000111`) as Debezium's `Bits`: the bits read as one unsigned number,
/// little-endian, in as few bytes as hold its highest set bit (`0` → no bytes).
pub(super) fn bits_le(text: &str) -> Option<Vec<u8>> {
    let mut bytes = Vec::with_capacity(text.len() / 8 + 1);
    for (i, c) in text.bytes().rev().enumerate() {
        let bit = match c {
            b'0' => false,
            b'1' => true,
            _ => return None,
        };
        if i % 8 == 0 {
            bytes.push(0u8);
        }
        if bit {
            let last = bytes.len() - 1;
            bytes[last] |= 1 << (i % 8);
        }
    }
    while bytes.last() == Some(&0) {
        bytes.pop();
    }
    Some(bytes)
}

/// Reads a double-quoted string with backslash escapes starting at `chars[*i] == '"'`.
fn quoted(chars: &[char], i: &mut usize) -> Option<String> {
    if chars.get(*i) != Some(&'"') {
        return None;
    }
    *i += 1;
    let mut out = String::new();
    loop {
        match chars.get(*i)? {
            '"' => {
                *i += 1;
                return Some(out);
            }
            '\\' => {
                out.push(*chars.get(*i + 1)?);
                *i += 2;
            }
            c => {
                out.push(*c);
                *i += 1;
            }
        }
    }
}

fn skip_spaces(chars: &[char], i: &mut usize) {
    while chars.get(*i).is_some_and(|c| c.is_whitespace()) {
        *i += 1;
    }
}

/// hstore output (`"a"=>"1", "b c"=>NULL`) → entries in output order.
pub(super) fn hstore(text: &str) -> Option<Vec<(String, Option<String>)>> {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let mut entries = Vec::new();
    skip_spaces(&chars, &mut i);
    while i < chars.len() {
        let key = quoted(&chars, &mut i)?;
        skip_spaces(&chars, &mut i);
        if chars.get(i..i + 2)? != ['=', '>'] {
            return None;
        }
        i += 2;
        skip_spaces(&chars, &mut i);
        let value = if chars.get(i..i + 4) == Some(&['N', 'U', 'L', 'L']) {
            i += 4;
            None
        } else {
            Some(quoted(&chars, &mut i)?)
        };
        entries.push((key, value));
        skip_spaces(&chars, &mut i);
        match chars.get(i) {
            None => break,
            Some(',') => {
                i += 1;
                skip_spaces(&chars, &mut i);
            }
            Some(_) => return None,
        }
    }
    Some(entries)
}

/// One-dimensional array output (`{1,2,NULL}`, `{"a b",""}`) → element texts (`None` for
/// NULL). Multi-dimensional arrays and arrays with explicit bounds are refused.
pub(super) fn array_items(text: &str) -> Option<Vec<Option<String>>> {
    let chars: Vec<char> = text.chars().collect();
    if chars.first() != Some(&'{') || chars.last() != Some(&'}') {
        return None;
    }
    let inner = &chars[1..chars.len() - 1];
    let mut items = Vec::new();
    if inner.is_empty() {
        return Some(items);
    }
    let mut i = 0;
    loop {
        if inner.get(i) == Some(&'"') {
            items.push(Some(quoted(inner, &mut i)?));
        } else {
            let start = i;
            while i < inner.len() && inner[i] != ',' {
                if matches!(inner[i], '{' | '}' | '"') {
                    return None;
                }
                i += 1;
            }
            let raw: String = inner[start..i].iter().collect();
            items.push((raw != "NULL").then_some(raw));
        }
        match inner.get(i) {
            None => return Some(items),
            Some(',') => i += 1,
            Some(_) => return None,
        }
    }
}

/// `(1.5,-2.25)` → a point.
pub(super) fn point(text: &str) -> Option<Value> {
    let inner = text.strip_prefix('(')?.strip_suffix(')')?;
    let (x, y) = inner.split_once(',')?;
    Some(Value::Point {
        x: x.trim().parse().ok()?,
        y: y.trim().parse().ok()?,
    })
}

/// PostGIS text output (hex EWKB) → the EWKB bytes and the SRID they carry, as Debezium's
/// `Geometry`/`Geography` hold them.
pub(super) fn ewkb_hex(text: &str) -> Option<Value> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let wkb: Vec<u8> = (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect::<Option<_>>()?;
    let word = |at: usize| -> Option<u32> {
        let b: [u8; 4] = wkb.get(at..at + 4)?.try_into().ok()?;
        Some(match wkb.first()? {
            0 => u32::from_be_bytes(b),
            1 => u32::from_le_bytes(b),
            _ => return None,
        })
    };
    const SRID_FLAG: u32 = 0x2000_0000;
    let srid = if word(1)? & SRID_FLAG != 0 {
        Some(word(5)? as i32)
    } else {
        None
    };
    Some(Value::Geometry { wkb, srid })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_strings_are_little_endian_and_minimal() {
        assert_eq!(bits_le("1010000111"), Some(vec![0x87, 0x02]));
        assert_eq!(bits_le("0000000001"), Some(vec![0x01]));
        assert_eq!(bits_le("101"), Some(vec![0x05]));
        assert_eq!(bits_le("1111000011110000111"), Some(vec![0x87, 0x87, 0x07]));
        assert_eq!(bits_le("0"), Some(vec![]));
        assert_eq!(bits_le(""), Some(vec![]));
        assert_eq!(bits_le("12"), None);
    }

    #[test]
    fn hstore_and_arrays() {
        assert_eq!(
            hstore(r#""a"=>"1", "b c"=>NULL, "q\"x"=>"x y""#),
            Some(vec![
                ("a".into(), Some("1".into())),
                ("b c".into(), None),
                ("q\"x".into(), Some("x y".into()))
            ])
        );
        assert_eq!(hstore(""), Some(vec![]));
        assert_eq!(
            array_items(r#"{"a","b c",NULL,"","NULL"}"#),
            Some(vec![
                Some("a".into()),
                Some("b c".into()),
                None,
                Some(String::new()),
                Some("NULL".into())
            ])
        );
        assert_eq!(
            array_items("{1,2,NULL,4}"),
            Some(vec![
                Some("1".into()),
                Some("2".into()),
                None,
                Some("4".into())
            ])
        );
        assert_eq!(array_items("{}"), Some(vec![]));
        assert_eq!(array_items("{{1,2},{3,4}}"), None);
    }

    #[test]
    fn points_and_ewkb() {
        assert_eq!(
            point("(1.5,-2.25)"),
            Some(Value::Point { x: 1.5, y: -2.25 })
        );
        let Some(Value::Geometry { wkb, srid }) =
            ewkb_hex("0101000020E6100000CDCCCCCCCCCC2A400000000000404A40")
        else {
            panic!("not parsed")
        };
        assert_eq!(srid, Some(4326));
        assert_eq!(wkb.len(), 25);
        let Some(Value::Geometry { srid, .. }) =
            ewkb_hex("010100000000000000000000000000000000000000")
        else {
            panic!("not parsed")
        };
        assert_eq!(srid, None);
    }
}
