//! `execute-snapshot` signals: which tables, with which extra filters (source-independent).

use cdc_model::TableId;
use cdc_proto::checkpoint::v1::IncrementalSnapshot;
use serde_json::Value as Json;

/// Parses an `execute-snapshot` signal's `data` into the progress of a new incremental
/// snapshot. `data-collections` are regular expressions matched against the captured tables'
/// `namespace.name`; `additional-conditions` give a `filter` per table. Errors name why the
/// signal is ignored (a blocking snapshot is not supported).
pub(super) fn parse_request(
    id: &str,
    data: &str,
    captured: &[TableId],
) -> Result<IncrementalSnapshot, String> {
    let json: Json = serde_json::from_str(data).map_err(|e| format!("data is not JSON: {e}"))?;
    let kind = json["type"].as_str().unwrap_or("incremental");
    if !kind.eq_ignore_ascii_case("incremental") {
        return Err(format!(
            "snapshot type {kind:?} is not supported (only incremental)"
        ));
    }
    let patterns = json["data-collections"]
        .as_array()
        .ok_or("data-collections is missing")?;
    let mut tables = Vec::new();
    for p in patterns {
        let p = p.as_str().ok_or("data-collections must be strings")?;
        let re = regex::Regex::new(&format!("^(?:{p})$"))
            .map_err(|e| format!("data-collection {p:?} is not a valid regex: {e}"))?;
        for id in captured {
            let name = id.to_string();
            if re.is_match(&name) && !tables.contains(&name) {
                tables.push(name);
            }
        }
    }
    if tables.is_empty() {
        return Err(format!("no captured table matches {patterns:?}"));
    }
    let mut filters = std::collections::HashMap::new();
    if let Some(conditions) = json["additional-conditions"].as_array() {
        for c in conditions {
            if let (Some(t), Some(f)) = (c["data-collection"].as_str(), c["filter"].as_str()) {
                filters.insert(t.to_owned(), f.to_owned());
            }
        }
    }
    Ok(IncrementalSnapshot {
        correlation_id: id.to_owned(),
        tables,
        last_key: Vec::new(),
        max_key: Vec::new(),
        max_key_known: false,
        filters,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_parsed_like_debezium() {
        let captured = [TableId::new("public", "a"), TableId::new("public", "b1")];
        let r = parse_request(
            "s1",
            r#"{"data-collections": ["public.b.*", "public.a"], "type": "INCREMENTAL",
                "additional-conditions": [{"data-collection": "public.a", "filter": "x > 1"}]}"#,
            &captured,
        )
        .unwrap();
        assert_eq!(r.tables, vec!["public.b1", "public.a"]);
        assert_eq!(r.filters.get("public.a").map(String::as_str), Some("x > 1"));
        assert!(parse_request("s", r#"{"data-collections": ["x"]}"#, &captured).is_err());
        assert!(parse_request(
            "s",
            r#"{"data-collections": ["public.a"], "type": "blocking"}"#,
            &captured
        )
        .is_err());
        assert!(parse_request("s", "not json", &captured).is_err());
    }
}
