//! Reading a Debezium connector configuration into a flat `key → value` map: Java
//! `.properties` files, Kafka Connect JSON (`{"name": …, "config": {…}}`) or a bare JSON
//! object; and resolving Kafka config-provider references (`${env:…}`, `${file:…}`,
//! `${directory:…}`) in values.

use std::collections::BTreeMap;
use std::path::Path;

use super::DbzConfigError;

/// Parses Java `.properties` text: `key=value`, `key: value` or `key value` per logical
/// line, `#`/`!` comments, backslash line continuations and escapes (`\t`, `\n`, `\uXXXX`…).
/// A repeated key keeps its last value, as `java.util.Properties` does.
pub fn properties(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut map = BTreeMap::new();
    let mut lines = text.lines().enumerate();
    while let Some((number, first)) = lines.next() {
        let trimmed = first.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with('!') {
            continue;
        }
        // Join continuation lines: an odd number of trailing backslashes continues the line.
        let mut logical = trimmed.to_owned();
        while ends_with_odd_backslashes(&logical) {
            logical.pop();
            match lines.next() {
                Some((_, next)) => logical.push_str(next.trim_start()),
                None => break,
            }
        }
        let (key, value) = split_key_value(&logical);
        let key = unescape(key).map_err(|e| format!("line {}: {e}", number + 1))?;
        let value = unescape(value).map_err(|e| format!("line {}: {e}", number + 1))?;
        map.insert(key, value);
    }
    Ok(map)
}

fn ends_with_odd_backslashes(s: &str) -> bool {
    s.bytes().rev().take_while(|&b| b == b'\\').count() % 2 == 1
}

/// Splits at the first unescaped `=`, `:` or whitespace (whitespace around the separator is
/// dropped).
fn split_key_value(line: &str) -> (&str, &str) {
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'=' | b':' | b' ' | b'\t' | b'\x0c' => break,
            _ => i += 1,
        }
    }
    let i = i.min(bytes.len());
    let key = &line[..i];
    let mut rest = line[i..].trim_start_matches([' ', '\t', '\x0c']);
    if let Some(r) = rest.strip_prefix(['=', ':']) {
        rest = r.trim_start_matches([' ', '\t', '\x0c']);
    }
    (key, rest)
}

fn unescape(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\x0c'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                let code = u32::from_str_radix(&hex, 16)
                    .ok()
                    .filter(|_| hex.len() == 4)
                    .ok_or_else(|| format!("malformed \\u escape \\u{hex}"))?;
                out.push(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER));
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    Ok(out)
}

/// Reads a Kafka Connect JSON connector definition (`{"name": …, "config": {…}}`) or a bare
/// JSON object of options. Numbers and booleans become their text, as Connect does.
pub fn json(text: &str) -> Result<BTreeMap<String, String>, String> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let serde_json::Value::Object(mut top) = value else {
        return Err("expected a JSON object".into());
    };
    let (object, name) = match top.remove("config") {
        Some(serde_json::Value::Object(config)) => (config, top.remove("name")),
        Some(_) => return Err("`config` must be a JSON object".into()),
        None => (top, None),
    };
    let mut map = BTreeMap::new();
    if let Some(name) = name {
        map.insert("name".to_owned(), scalar("name", name)?);
    }
    for (key, value) in object {
        let text = scalar(&key, value)?;
        map.insert(key, text);
    }
    Ok(map)
}

fn scalar(key: &str, value: serde_json::Value) -> Result<String, String> {
    match value {
        serde_json::Value::String(s) => Ok(s),
        serde_json::Value::Number(n) => Ok(n.to_string()),
        serde_json::Value::Bool(b) => Ok(b.to_string()),
        serde_json::Value::Null => Ok(String::new()),
        _ => Err(format!(
            "option {key}: expected a string, number or boolean"
        )),
    }
}

/// Replaces Kafka config-provider references in `value` (of option `key`):
/// `${env:VAR}` (EnvVarConfigProvider), `${file:/path/file.properties:key}`
/// (FileConfigProvider) and `${directory:/path:file}` (DirectoryConfigProvider). Other
/// providers are an error. Errors name the option and the reference, never a value.
pub fn resolve_providers(key: &str, value: &str) -> Result<String, DbzConfigError> {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        let reference = &rest[start + 2..start + len];
        out.push_str(&rest[..start]);
        out.push_str(&resolve_reference(key, reference)?);
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn resolve_reference(key: &str, reference: &str) -> Result<String, DbzConfigError> {
    let fail = |why: String| DbzConfigError::Provider {
        key: key.to_owned(),
        reference: format!("${{{reference}}}"),
        why,
    };
    let (provider, rest) = reference
        .split_once(':')
        .ok_or_else(|| fail("expected ${provider:[path:]key}".into()))?;
    // The key is after the last ':'; the path (which may itself contain ':') before it.
    let (path, name) = match rest.rsplit_once(':') {
        Some((path, name)) => (path, name),
        None => ("", rest),
    };
    match provider {
        "env" => {
            std::env::var(name).map_err(|_| fail(format!("environment variable {name} is not set")))
        }
        "file" => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| fail(format!("cannot read {path}: {e}")))?;
            let map = properties(&text).map_err(|e| fail(format!("{path}: {e}")))?;
            map.get(name)
                .cloned()
                .ok_or_else(|| fail(format!("{path} has no key {name}")))
        }
        "directory" => {
            let file = Path::new(path).join(name);
            std::fs::read_to_string(&file)
                .map_err(|e| fail(format!("cannot read {}: {e}", file.display())))
        }
        other => Err(fail(format!(
            "config provider {other:?} is not supported (supported: env, file, directory)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_syntax() {
        let text = "# comment\n  ! also a comment\n\na=1\nb : two words \nc three\n\
                    d=multi\\\n    line\ne=tab\\there \\u00e9\\\\\nf\\=g=h\nempty=\nb=last\n";
        let map = properties(text).unwrap();
        assert_eq!(map["a"], "1");
        assert_eq!(map["b"], "last");
        assert_eq!(map["c"], "three");
        assert_eq!(map["d"], "multiline");
        assert_eq!(map["e"], "tab\there é\\");
        assert_eq!(map["f=g"], "h");
        assert_eq!(map["empty"], "");
        assert_eq!(map.len(), 7);
        assert!(properties("x=\\u12").is_err());
    }

    #[test]
    fn connect_json_and_bare_json() {
        let map = json(r#"{"name": "inv", "config": {"database.port": 5432, "x": true}}"#).unwrap();
        assert_eq!(map["name"], "inv");
        assert_eq!(map["database.port"], "5432");
        assert_eq!(map["x"], "true");
        let map = json(r#"{"topic.prefix": "srv"}"#).unwrap();
        assert_eq!(map["topic.prefix"], "srv");
        assert!(json("[1]").is_err());
        assert!(json(r#"{"a": [1]}"#).unwrap_err().contains("option a"));
    }

    #[test]
    fn config_providers() {
        let dir = std::env::temp_dir().join(format!("dbz-providers-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("secrets.properties"), "pg.password=s3cret\n").unwrap();
        std::fs::write(dir.join("pw"), "fromdir").unwrap();
        let file = format!(
            "${{file:{}:pg.password}}",
            dir.join("secrets.properties").display()
        );
        assert_eq!(
            resolve_providers("database.password", &file).unwrap(),
            "s3cret"
        );
        let d = format!("${{directory:{}:pw}}", dir.display());
        assert_eq!(resolve_providers("k", &d).unwrap(), "fromdir");
        assert_eq!(resolve_providers("k", "plain").unwrap(), "plain");
        let home = std::env::var("PATH").unwrap();
        assert_eq!(resolve_providers("k", "${env:PATH}").unwrap(), home);
        let err = resolve_providers("database.password", "${vault:secret/pg:pw}").unwrap_err();
        assert!(err.to_string().contains("database.password") && err.to_string().contains("vault"));
        let err = resolve_providers("k", "${env:CDC_SURELY_UNSET_VAR}").unwrap_err();
        assert!(err.to_string().contains("CDC_SURELY_UNSET_VAR"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
