//! Bad input never panics the Debezium JSON decoder (`decode_record`).
//!
//! Seeds are the real records of the golden files (`tests/golden/*.json`,
//! `tests/golden/binlog/*.golden`). Every seed must still decode; random bytes, byte-level
//! mutations of the seeds and JSON-level mutations (type changes, removed / duplicated fields,
//! huge numbers) must give `Ok` or `Err`, never a panic. No `catch_unwind`: a panic fails the
//! test and proptest prints the minimized input.

use std::path::{Path, PathBuf};

use cdc_model::debezium::decode_record;
use proptest::prelude::*;
use serde_json::Value as Json;

/// One real record: key and value bytes as Kafka carries them.
#[derive(Clone, Debug)]
struct Record {
    /// False for the transaction-topic and heartbeat records, which are not change events.
    change: bool,
    key: Option<Vec<u8>>,
    value: Vec<u8>,
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The golden records: `<name>.key.json` + `<name>.value.json` pairs and the
/// `<name>.key {json}` / `<name>.value {json}` lines of the binlog golden files.
fn seeds() -> Vec<Record> {
    let mut out = Vec::new();
    let dir = golden_dir();
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("golden dir")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    for name in &names {
        if let Some(stem) = name.strip_suffix(".value.json") {
            let key = dir.join(format!("{stem}.key.json"));
            out.push(Record {
                change: true,
                key: key.exists().then(|| read(&key).trim().as_bytes().to_vec()),
                value: read(&dir.join(name)).trim().as_bytes().to_vec(),
            });
        }
    }
    let binlog = dir.join("binlog");
    let mut files: Vec<_> = std::fs::read_dir(&binlog)
        .expect("binlog golden dir")
        .map(|e| e.expect("dir entry").path())
        .collect();
    files.sort();
    for file in files {
        let text = read(&file);
        let change = !file.to_string_lossy().contains("transaction_heartbeat");
        let mut keys = std::collections::HashMap::new();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let Some((label, json)) = line.split_once(' ') else {
                continue;
            };
            let label = format!(".{label}");
            if let Some(name) = label.strip_suffix(".key") {
                keys.insert(name.to_string(), json.as_bytes().to_vec());
            } else if let Some(name) = label.strip_suffix(".value") {
                out.push(Record {
                    change,
                    key: keys.get(name).cloned(),
                    value: json.as_bytes().to_vec(),
                });
            }
        }
    }
    assert!(
        out.len() >= 10,
        "expected the golden records, found {}",
        out.len()
    );
    out
}

#[test]
fn golden_records_decode() {
    for record in seeds().into_iter().filter(|r| r.change) {
        if let Err(e) = decode_record(record.key.as_deref(), Some(&record.value)) {
            panic!(
                "valid record does not decode: {e}\n{}",
                String::from_utf8_lossy(&record.value)
            );
        }
    }
}

/// A byte-level edit of a seed.
#[derive(Clone, Debug)]
enum ByteEdit {
    Flip(usize, u8),
    Insert(usize, u8),
    Delete(usize, usize),
    Truncate(usize),
    /// Copies a range of the input over another place (splices fields).
    Splice(usize, usize, usize),
}

fn byte_edit() -> impl Strategy<Value = ByteEdit> {
    let idx = any::<prop::sample::Index>();
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| ByteEdit::Flip(i, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| ByteEdit::Insert(i, b)),
        (any::<usize>(), 1usize..16).prop_map(|(i, n)| ByteEdit::Delete(i, n)),
        idx.prop_map(|i| ByteEdit::Truncate(i.index(usize::MAX))),
        (any::<usize>(), any::<usize>(), 1usize..64)
            .prop_map(|(a, b, n)| ByteEdit::Splice(a, b, n)),
    ]
}

fn apply(bytes: &mut Vec<u8>, edit: &ByteEdit) {
    if bytes.is_empty() {
        return;
    }
    let len = bytes.len();
    match *edit {
        ByteEdit::Flip(i, b) => bytes[i % len] ^= b | 1,
        ByteEdit::Insert(i, b) => bytes.insert(i % (len + 1), b),
        ByteEdit::Delete(i, n) => {
            let at = i % len;
            bytes.drain(at..(at + n).min(len));
        }
        ByteEdit::Truncate(i) => bytes.truncate(i % len),
        ByteEdit::Splice(from, to, n) => {
            let from = from % len;
            let piece: Vec<u8> = bytes[from..(from + n).min(len)].to_vec();
            let to = to % len;
            bytes.splice(to..to, piece);
        }
    }
}

/// A JSON-level edit: replaces the value at a pseudo-random node with another JSON value, or
/// removes an object member.
#[derive(Clone, Debug)]
enum JsonEdit {
    Replace(usize, Json),
    Remove(usize),
}

fn json_scalar() -> impl Strategy<Value = Json> {
    prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        any::<i64>().prop_map(Json::from),
        any::<u64>().prop_map(Json::from),
        any::<f64>().prop_map(Json::from),
        Just(serde_json::json!(1e308)),
        Just(serde_json::json!(-9223372036854775808i64)),
        Just(serde_json::json!(18446744073709551615u64)),
        ".{0,12}".prop_map(Json::String),
        Just(Json::String("AAAA".into())),
        Just(Json::String("99999999999999999999-01-01".into())),
        Just(Json::Array(vec![])),
        Just(serde_json::json!({})),
        Just(serde_json::json!({"type": "struct", "fields": [], "optional": false})),
        Just(serde_json::json!({"scale": 2147483647, "value": "////"})),
    ]
}

fn json_edit() -> impl Strategy<Value = JsonEdit> {
    prop_oneof![
        3 => (any::<usize>(), json_scalar()).prop_map(|(i, v)| JsonEdit::Replace(i, v)),
        1 => any::<usize>().prop_map(JsonEdit::Remove),
    ]
}

fn count_nodes(v: &Json) -> usize {
    1 + match v {
        Json::Array(a) => a.iter().map(count_nodes).sum(),
        Json::Object(o) => o.values().map(count_nodes).sum(),
        _ => 0,
    }
}

/// Applies `edit` at node number `target` (pre-order); returns true once applied.
fn edit_at(v: &mut Json, target: &mut usize, edit: &JsonEdit) -> bool {
    if *target == 0 {
        if let JsonEdit::Replace(_, new) = edit {
            *v = new.clone();
            return true;
        }
    }
    *target = target.saturating_sub(1);
    match v {
        Json::Array(a) => a.iter_mut().any(|c| edit_at(c, target, edit)),
        Json::Object(o) => {
            if matches!(edit, JsonEdit::Remove(_)) && *target < o.len() {
                let key = o.keys().nth(*target).cloned().expect("key in range");
                o.remove(&key);
                return true;
            }
            o.values_mut().any(|c| edit_at(c, target, edit))
        }
        _ => false,
    }
}

fn mutate_json(bytes: &[u8], edits: &[JsonEdit]) -> Vec<u8> {
    let mut doc: Json = serde_json::from_slice(bytes).expect("seed is JSON");
    for edit in edits {
        let nodes = count_nodes(&doc);
        let (JsonEdit::Replace(i, _) | JsonEdit::Remove(i)) = edit;
        let mut target = i % nodes;
        edit_at(&mut doc, &mut target, edit);
    }
    serde_json::to_vec(&doc).expect("serialize")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes(key in prop::option::of(prop::collection::vec(any::<u8>(), 0..256)),
                    value in prop::option::of(prop::collection::vec(any::<u8>(), 0..512))) {
        let _ = decode_record(key.as_deref(), value.as_deref());
    }

    #[test]
    fn random_json(value in "\\{\"schema\":.{0,40},\"payload\":.{0,80}\\}") {
        let _ = decode_record(None, Some(value.as_bytes()));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4096, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_golden_bytes(seed in any::<prop::sample::Index>(),
                            edits in prop::collection::vec(byte_edit(), 1..6),
                            mutate_key in any::<bool>()) {
        let seeds = seeds_cached();
        let record = &seeds[seed.index(seeds.len())];
        let mut key = record.key.clone();
        let mut value = record.value.clone();
        for edit in &edits {
            match (&mut key, mutate_key) {
                (Some(k), true) => apply(k, edit),
                _ => apply(&mut value, edit),
            }
        }
        let _ = decode_record(key.as_deref(), Some(&value));
    }

    #[test]
    fn mutated_golden_json(seed in any::<prop::sample::Index>(),
                           edits in prop::collection::vec(json_edit(), 1..4),
                           mutate_key in any::<bool>()) {
        let seeds = seeds_cached();
        let record = &seeds[seed.index(seeds.len())];
        let (key, value) = match (&record.key, mutate_key) {
            (Some(k), true) => (Some(mutate_json(k, &edits)), record.value.clone()),
            _ => (record.key.clone(), mutate_json(&record.value, &edits)),
        };
        let _ = decode_record(key.as_deref(), Some(&value));
    }
}

fn seeds_cached() -> &'static [Record] {
    static SEEDS: std::sync::OnceLock<Vec<Record>> = std::sync::OnceLock::new();
    SEEDS.get_or_init(seeds)
}
