//! Front matter: YAML between `---` lines (Jekyll, Hugo, Eleventy) or TOML between `+++`
//! lines (Zola, Hugo), read into one JSON object whatever the dialect, so the rest of import
//! reads keys the same way. Keys bloggo does not know are kept as they are.

use serde_json::{Map, Value};

/// Which front matter a file has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Yaml,
    Toml,
    /// No front matter: the whole file is the body.
    None,
}

/// A file split into its front matter and body.
#[derive(Debug)]
pub struct Split<'a> {
    pub dialect: Dialect,
    /// The front matter's text (between the fences).
    pub text: &'a str,
    /// The 1-based line of the file where `text` starts.
    pub first_line: usize,
    pub body: &'a str,
}

/// A problem in the front matter: line in the file and message.
pub type FmError = (usize, String);

/// Finds the front matter fences. An opened but never closed front matter is an error.
pub fn split(src: &str) -> Result<Split<'_>, FmError> {
    let (first, rest_at) = match src.find('\n') {
        Some(i) => (&src[..i], i + 1),
        None => (src, src.len()),
    };
    let (dialect, closers): (Dialect, &[&str]) = match first.trim_end() {
        "---" => (Dialect::Yaml, &["---", "..."]),
        "+++" => (Dialect::Toml, &["+++"]),
        _ => {
            return Ok(Split {
                dialect: Dialect::None,
                text: "",
                first_line: 1,
                body: src,
            })
        }
    };
    let mut at = rest_at;
    while at < src.len() {
        let end = src[at..]
            .find('\n')
            .map(|i| at + i + 1)
            .unwrap_or(src.len());
        let line = src[at..end].trim_end();
        if closers.contains(&line) {
            return Ok(Split {
                dialect,
                text: &src[rest_at..at],
                first_line: 2,
                body: &src[end..],
            });
        }
        at = end;
    }
    Err((
        1,
        format!(
            "the front matter opened with `{}` is never closed; add a `{}` line after it",
            first.trim_end(),
            closers[0]
        ),
    ))
}

/// Parses the front matter into a JSON object.
pub fn parse(s: &Split<'_>) -> Result<Map<String, Value>, FmError> {
    match s.dialect {
        Dialect::None => Ok(Map::new()),
        Dialect::Yaml => parse_yaml(s),
        Dialect::Toml => parse_toml(s),
    }
}

fn parse_yaml(s: &Split<'_>) -> Result<Map<String, Value>, FmError> {
    if s.text.trim().is_empty() {
        return Ok(Map::new());
    }
    let v: serde_norway::Value = serde_norway::from_str(s.text).map_err(|e| {
        // libyaml may notice a problem at the closing fence; point into the front matter.
        let last = s.text.lines().count().max(1);
        let line = e.location().map(|l| l.line()).unwrap_or(1).min(last);
        let mut msg = e.to_string();
        if let Some(i) = msg.find(" at line ") {
            msg.truncate(i);
        }
        (
            s.first_line + line - 1,
            format!("the YAML front matter does not parse: {msg}"),
        )
    })?;
    match v {
        serde_norway::Value::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = yaml_key(&k);
                let value = match &v {
                    // Keep what the writer typed: `version: 3.0` stays "3.0", not 3.
                    serde_norway::Value::Number(n) if n.is_f64() => raw_scalar(s, None, &key)
                        .map(Value::String)
                        .unwrap_or_else(|| yaml_to_json(v)),
                    _ => yaml_to_json(v),
                };
                out.insert(key, value);
            }
            Ok(out)
        }
        serde_norway::Value::Null => Ok(Map::new()),
        _ => Err((
            s.first_line,
            "the front matter is not a list of `key: value` lines".to_string(),
        )),
    }
}

fn yaml_key(k: &serde_norway::Value) -> String {
    match k {
        serde_norway::Value::String(s) => s.clone(),
        other => match yaml_to_json(other.clone()) {
            Value::String(s) => s,
            v => v.to_string(),
        },
    }
}

fn yaml_to_json(v: serde_norway::Value) -> Value {
    use serde_norway::Value as Y;
    match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                serde_json::Number::from_f64(f)
                    .map(Value::Number)
                    .unwrap_or_else(|| Value::String(n.to_string()))
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(yaml_to_json).collect()),
        Y::Mapping(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| (yaml_key(&k), yaml_to_json(v)))
                .collect(),
        ),
        Y::Tagged(t) => yaml_to_json(t.value),
    }
}

fn parse_toml(s: &Split<'_>) -> Result<Map<String, Value>, FmError> {
    let table: toml::Table = toml::from_str(s.text).map_err(|e| {
        let line = e
            .span()
            .map(|sp| crate::config::line_col(s.text, sp.start).0)
            .unwrap_or(1);
        (
            s.first_line + line - 1,
            format!(
                "the TOML front matter does not parse: {}",
                e.message().trim()
            ),
        )
    })?;
    let mut out = Map::new();
    for (k, v) in table {
        let value = match v {
            toml::Value::Float(_) => raw_scalar(s, None, &k)
                .map(Value::String)
                .unwrap_or_else(|| toml_to_json(v)),
            // Zola's [extra]: its version-like numbers keep their text too.
            toml::Value::Table(t) if k == "extra" => Value::Object(
                t.into_iter()
                    .map(|(ek, ev)| {
                        let j = match ev {
                            toml::Value::Float(_) => raw_scalar(s, Some("extra"), &ek)
                                .map(Value::String)
                                .unwrap_or_else(|| toml_to_json(ev)),
                            other => toml_to_json(other),
                        };
                        (ek, j)
                    })
                    .collect(),
            ),
            other => toml_to_json(other),
        };
        out.insert(k, value);
    }
    Ok(out)
}

fn toml_to_json(v: toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Float(f) => serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or_else(|| Value::String(f.to_string())),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.into_iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => {
            Value::Object(t.into_iter().map(|(k, v)| (k, toml_to_json(v))).collect())
        }
    }
}

/// The file line of a top-level key (`key:` or `key =`), for messages.
pub fn key_line(s: &Split<'_>, key: &str) -> Option<usize> {
    key_in_section(s.text, None, key).map(|(i, _)| s.first_line + i)
}

/// The line index and value text of `key` at the top level (`section` None) or in a TOML
/// `[section]` table.
fn key_in_section<'t>(text: &'t str, section: Option<&str>, key: &str) -> Option<(usize, &'t str)> {
    let mut current: Option<&str> = None;
    text.lines().enumerate().find_map(|(i, line)| {
        if let Some(h) = line.strip_prefix('[') {
            current = Some(h.trim_end().trim_end_matches(']').trim());
            return None;
        }
        if current != section {
            return None;
        }
        let rest = line.strip_prefix(key)?.trim_start();
        let value = rest.strip_prefix(':').or_else(|| rest.strip_prefix('='))?;
        Some((i, value))
    })
}

/// The text a scalar was written as, without quotes or a trailing comment.
fn raw_scalar(s: &Split<'_>, section: Option<&str>, key: &str) -> Option<String> {
    let (_, value) = key_in_section(s.text, section, key)?;
    let v = match value.find(" #") {
        Some(i) => &value[..i],
        None => value,
    }
    .trim();
    let v = v.trim_matches(|c| c == '"' || c == '\'');
    (!v.is_empty()).then(|| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_and_toml_read_the_same() {
        let y = split("---\ntitle: Hi\nversion: 3.0\ntags: [a, b]\n---\nbody\n").unwrap();
        assert_eq!(y.dialect, Dialect::Yaml);
        assert_eq!(y.body, "body\n");
        let ym = parse(&y).unwrap();
        let t = split("+++\ntitle = \"Hi\"\nversion = 3.0\ntags = [\"a\", \"b\"]\n+++\nbody\n")
            .unwrap();
        let tm = parse(&t).unwrap();
        assert_eq!(ym, tm);
        assert_eq!(ym["version"], Value::String("3.0".into()));
    }

    #[test]
    fn unterminated_and_broken_front_matter_name_a_line() {
        assert_eq!(split("---\ntitle: x\n").unwrap_err().0, 1);
        let s = split("---\ntitle: x\ndate: [1, 2\n---\n").unwrap();
        let (line, msg) = parse(&s).unwrap_err();
        assert!(line >= 3, "{line} {msg}");
        assert!(msg.contains("YAML"), "{msg}");
        let s = split("+++\ntitle = \"x\"\ndate = = 3\n+++\n").unwrap();
        assert_eq!(parse(&s).unwrap_err().0, 3);
    }

    #[test]
    fn no_front_matter_is_all_body() {
        let s = split("# Title\n\ntext").unwrap();
        assert_eq!(s.dialect, Dialect::None);
        assert_eq!(s.body, "# Title\n\ntext");
    }

    #[test]
    fn toml_dates_become_text() {
        let s = split("+++\ndate = 2024-05-01T10:00:00Z\n+++\n").unwrap();
        assert_eq!(parse(&s).unwrap()["date"], "2024-05-01T10:00:00Z");
    }
}
