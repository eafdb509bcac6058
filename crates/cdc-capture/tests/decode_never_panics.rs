//! Bad input never panics the pgoutput decoder nor the PostgreSQL text-value parser.
//!
//! Seeds are valid pgoutput v1 messages of every kind the decoder handles (built here byte by
//! byte from the protocol description) and valid text output of every column type. Random
//! bytes and mutations of the seeds (flipped / inserted / deleted bytes, truncation, spliced
//! ranges, huge lengths) must give `Ok` or `Err`, never a panic. No `catch_unwind`: a panic
//! fails the test and proptest prints the minimized input.

use cdc_capture::fuzzing::{decode_pgoutput, parse_pg_text};
use cdc_model::ColumnType;
use proptest::prelude::*;

fn string(b: &mut Vec<u8>, s: &str) {
    b.extend_from_slice(s.as_bytes());
    b.push(0);
}

/// A tuple of text, null, unchanged-TOAST and binary columns.
fn tuple(b: &mut Vec<u8>, cols: &[Option<&str>]) {
    b.extend_from_slice(&(cols.len() as u16 + 1).to_be_bytes());
    for col in cols {
        match col {
            None => b.push(b'n'),
            Some(text) => {
                b.push(b't');
                b.extend_from_slice(&(text.len() as i32).to_be_bytes());
                b.extend_from_slice(text.as_bytes());
            }
        }
    }
    b.push(b'u');
}

/// Valid pgoutput messages: Relation, Insert, Update (no old / key / full), Delete,
/// Truncate, Type, Origin.
fn seeds() -> Vec<Vec<u8>> {
    let row = [Some("1"), None, Some("héllo wörld"), Some("{1,2,NULL}")];
    let mut out = Vec::new();

    let mut b = vec![b'R'];
    b.extend_from_slice(&16384u32.to_be_bytes());
    string(&mut b, "public");
    string(&mut b, "customers");
    b.push(b'd');
    b.extend_from_slice(&3u16.to_be_bytes());
    for (flags, name, oid, typmod) in [
        (1u8, "id", 23u32, -1i32),
        (0, "name", 1043, 259),
        (0, "n", 1700, 655366),
    ] {
        b.push(flags);
        string(&mut b, name);
        b.extend_from_slice(&oid.to_be_bytes());
        b.extend_from_slice(&typmod.to_be_bytes());
    }
    out.push(b);

    let mut b = vec![b'I'];
    b.extend_from_slice(&16384u32.to_be_bytes());
    b.push(b'N');
    tuple(&mut b, &row);
    out.push(b);

    for marker in [None, Some(b'K'), Some(b'O')] {
        let mut b = vec![b'U'];
        b.extend_from_slice(&16384u32.to_be_bytes());
        if let Some(m) = marker {
            b.push(m);
            tuple(&mut b, &[Some("1"), None, None, None]);
        }
        b.push(b'N');
        tuple(&mut b, &row);
        out.push(b);
    }

    for marker in [b'K', b'O'] {
        let mut b = vec![b'D'];
        b.extend_from_slice(&16384u32.to_be_bytes());
        b.push(marker);
        tuple(&mut b, &row);
        out.push(b);
    }

    let mut b = vec![b'T'];
    b.extend_from_slice(&2u32.to_be_bytes());
    b.push(1);
    b.extend_from_slice(&16384u32.to_be_bytes());
    b.extend_from_slice(&16390u32.to_be_bytes());
    out.push(b);

    let mut b = vec![b'Y'];
    b.extend_from_slice(&17000u32.to_be_bytes());
    string(&mut b, "public");
    string(&mut b, "mood");
    out.push(b);

    let mut b = vec![b'O'];
    b.extend_from_slice(&0x16B3748u64.to_be_bytes());
    string(&mut b, "origin_1");
    out.push(b);
    out
}

#[test]
fn seeds_decode() {
    for seed in seeds() {
        if let Err(e) = decode_pgoutput(&seed) {
            panic!("valid message {seed:?} does not decode: {e}");
        }
    }
}

#[derive(Clone, Debug)]
enum Edit {
    Flip(usize, u8),
    Insert(usize, u8),
    Delete(usize, usize),
    Truncate(usize),
    Splice(usize, usize, usize),
    /// Overwrites four bytes with a huge / negative big-endian length.
    HugeLength(usize, u32),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Flip(i, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Insert(i, b)),
        (any::<usize>(), 1usize..8).prop_map(|(i, n)| Edit::Delete(i, n)),
        any::<usize>().prop_map(Edit::Truncate),
        (any::<usize>(), any::<usize>(), 1usize..16).prop_map(|(a, b, n)| Edit::Splice(a, b, n)),
        (
            any::<usize>(),
            prop_oneof![
                Just(u32::MAX),
                Just(0x8000_0000),
                Just(0x7fff_ffff),
                Just(0xffff),
                any::<u32>()
            ]
        )
            .prop_map(|(i, v)| Edit::HugeLength(i, v)),
    ]
}

fn apply(bytes: &mut Vec<u8>, edit: &Edit) {
    if bytes.is_empty() {
        return;
    }
    let len = bytes.len();
    match *edit {
        Edit::Flip(i, b) => bytes[i % len] ^= b | 1,
        Edit::Insert(i, b) => bytes.insert(i % (len + 1), b),
        Edit::Delete(i, n) => {
            let at = i % len;
            bytes.drain(at..(at + n).min(len));
        }
        Edit::Truncate(i) => bytes.truncate(i % len),
        Edit::Splice(from, to, n) => {
            let from = from % len;
            let piece = bytes[from..(from + n).min(len)].to_vec();
            let to = to % len;
            bytes.splice(to..to, piece);
        }
        Edit::HugeLength(i, v) => {
            let at = i % len;
            for (k, byte) in v.to_be_bytes().into_iter().enumerate() {
                if let Some(slot) = bytes.get_mut(at + k) {
                    *slot = byte;
                }
            }
        }
    }
}

/// Every column type the text parser handles.
fn column_types() -> Vec<ColumnType> {
    let scalars = vec![
        ColumnType::Boolean,
        ColumnType::Int16,
        ColumnType::Int32,
        ColumnType::Int64,
        ColumnType::Float32,
        ColumnType::Float64,
        ColumnType::Decimal {
            precision: Some(10),
            scale: 2,
        },
        ColumnType::Decimal {
            precision: None,
            scale: 0,
        },
        ColumnType::VariableDecimal,
        ColumnType::Money,
        ColumnType::String,
        ColumnType::Json,
        ColumnType::Uuid,
        ColumnType::Bytes,
        ColumnType::Date,
        ColumnType::Timestamp { precision: 6 },
        ColumnType::Timestamp { precision: 0 },
        ColumnType::TimestampTz { precision: Some(3) },
        ColumnType::TimestampTz { precision: None },
        ColumnType::Time { precision: 6 },
        ColumnType::TimeTz,
        ColumnType::Interval,
        ColumnType::Bits { length: 1 },
        ColumnType::Bits { length: 12 },
        ColumnType::Enum {
            allowed: vec!["a".into(), "b".into()],
        },
        ColumnType::Xml,
        ColumnType::Ltree,
        ColumnType::Tsvector,
        ColumnType::Hstore,
        ColumnType::Point,
        ColumnType::Geometry,
        ColumnType::Geography,
    ];
    let arrays: Vec<_> = scalars
        .iter()
        .map(|t| ColumnType::Array(Box::new(t.clone())))
        .collect();
    scalars.into_iter().chain(arrays).collect()
}

/// Valid text output of the types above (and of their arrays), as PostgreSQL prints it under
/// the capture's session settings.
const TEXT_SEEDS: &[&str] = &[
    "t",
    "f",
    "-32768",
    "2147483647",
    "-9223372036854775808",
    "1.5e+38",
    "NaN",
    "Infinity",
    "-Infinity",
    "12345678.90",
    "-0.000001",
    "$1,234.56",
    "-$0.01",
    "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
    "\\x00ff10",
    "2024-02-29",
    "0001-01-01 BC",
    "294276-12-31",
    "infinity",
    "-infinity",
    "2024-02-29 23:59:59.999999",
    "2024-02-29 23:59:59.123+05:30",
    "10000-01-01 00:00:00+00",
    "24:00:00",
    "13:45:01.5+02",
    "1 year 2 mons -3 days +04:05:06.789",
    "-178000000 years",
    "@ 1 day",
    "1",
    "101010101010",
    "{1,2,NULL}",
    "{\"a b\",\"c\\\\\\\"d\",NULL}",
    "{}",
    "{{1,2},{3,4}}",
    "\"a\"=>\"1\", \"b\"=>NULL",
    "(1.5,-2)",
    "0101000020E6100000000000000000F03F0000000000000040",
    "'a':1 'b':2A",
    "Top.Science.Astronomy",
    "<a>x</a>",
    "{\"k\": [1, 2.5e10, null]}",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 4096, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn pgoutput_random_bytes(data in prop::collection::vec(any::<u8>(), 0..256),
                             tag in prop::sample::select(b"RIUDTYOBCMX".to_vec())) {
        let _ = decode_pgoutput(&data);
        let mut tagged = vec![tag];
        tagged.extend_from_slice(&data);
        let _ = decode_pgoutput(&tagged);
    }

    #[test]
    fn pgoutput_mutated_seeds(seed in any::<prop::sample::Index>(),
                              edits in prop::collection::vec(edit(), 1..6)) {
        let seeds = seeds();
        let mut msg = seeds[seed.index(seeds.len())].clone();
        for e in &edits {
            apply(&mut msg, e);
        }
        let _ = decode_pgoutput(&msg);
    }

    #[test]
    fn text_random(ty in any::<prop::sample::Index>(), text in ".{0,40}", snapshot in any::<bool>()) {
        let types = column_types();
        let _ = parse_pg_text(&types[ty.index(types.len())], &text, snapshot);
    }

    #[test]
    fn text_mutated_seeds(ty in any::<prop::sample::Index>(),
                          seed in prop::sample::select(TEXT_SEEDS),
                          edits in prop::collection::vec(edit(), 0..4),
                          snapshot in any::<bool>()) {
        let types = column_types();
        let mut bytes = seed.as_bytes().to_vec();
        for e in &edits {
            apply(&mut bytes, e);
        }
        let text = String::from_utf8_lossy(&bytes);
        let _ = parse_pg_text(&types[ty.index(types.len())], &text, snapshot);
    }
}
