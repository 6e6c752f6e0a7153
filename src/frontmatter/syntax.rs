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
    if let Some(m) = simple_yaml(s.text) {
        return Ok(m);
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

/// The front matter most files have, read without libyaml: only `key: value` lines whose
/// value is a double-quoted string without escapes, a plain scalar that YAML reads as a
/// string, `true`/`false`, or a flow list `[...]` of strings. Anything else (numbers, nulls, comments,
/// nesting, escapes, tabs, CRs, anchors, duplicate keys...) gives `None` and the file goes
/// through `serde_norway`, so the result is always what `serde_norway` gives. libyaml cost an
/// import ~30 µs per file even for five short lines (a tenth of the import's parse CPU).
fn simple_yaml(text: &str) -> Option<Map<String, Value>> {
    if !text.chars().all(yaml_simple_char) {
        return None;
    }
    let mut out = Map::new();
    for line in text.split('\n') {
        if line.is_empty() {
            continue;
        }
        let (key, value) = line.split_once(": ")?;
        let mut kb = key.bytes();
        if !kb
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
            || !kb.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            || !plain_is_string(key)
        {
            return None;
        }
        let value = value.trim_start_matches(' ').trim_end_matches(' ');
        let value = if let Some(inner) = value.strip_prefix('[') {
            let mut items = Vec::new();
            let mut rest = inner.strip_suffix(']')?.trim_start_matches(' ');
            while !rest.is_empty() {
                let (item, after) = if let Some(q) = rest.strip_prefix('"') {
                    let end = q.find('"')?;
                    let item = &q[..end];
                    (!item.contains('\\')).then_some(())?;
                    (item, &q[end + 1..])
                } else {
                    let end = rest.find(',').unwrap_or(rest.len());
                    let item = rest[..end].trim_end_matches(' ');
                    let flow_safe = !item.contains(['[', ']', '{', '}', '#', ':', '\'', '"']);
                    (flow_safe && plain_start(item) && plain_is_string(item)).then_some(())?;
                    (item, &rest[end..])
                };
                items.push(Value::String(item.to_string()));
                let after = after.trim_start_matches(' ');
                rest = match after.strip_prefix(',') {
                    // A trailing comma is left to libyaml.
                    Some(r) if !r.trim_start_matches(' ').is_empty() => r.trim_start_matches(' '),
                    None if after.is_empty() => after,
                    _ => return None,
                };
            }
            Value::Array(items)
        } else if let Some(q) = value.strip_prefix('"') {
            let inner = q.strip_suffix('"')?;
            if inner.contains(['"', '\\']) {
                return None;
            }
            Value::String(inner.to_string())
        } else if let Some(b) = yaml_bool(value) {
            Value::Bool(b)
        } else {
            let plain = plain_start(value)
                && !value.contains(" #")
                && !value.contains(": ")
                && !value.ends_with(':')
                && plain_is_string(value);
            Value::String(plain.then(|| value.to_string())?)
        };
        if out.insert(key.to_string(), value).is_some() {
            return None;
        }
    }
    Some(out)
}

/// A plain scalar `serde_norway` reads as a boolean (YAML 1.2's spellings only).
fn yaml_bool(v: &str) -> Option<bool> {
    match v {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

/// Characters `simple_yaml` takes: printable ones as libyaml defines them, minus the tab, CR
/// and the Unicode line breaks (NEL, U+2028, U+2029) and BOM, which it leaves to libyaml.
fn yaml_simple_char(c: char) -> bool {
    matches!(c, '\n' | ' '..='~' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
        && !matches!(c, '\u{FEFF}' | '\u{2028}' | '\u{2029}')
}

/// A plain scalar that does not begin with a YAML indicator.
fn plain_start(v: &str) -> bool {
    v.bytes()
        .next()
        .is_some_and(|b| !b"-?:,[]{}#&*!|>'\"%@`".contains(&b))
}

/// Whether `serde_norway` reads this plain scalar as a string (not a null, boolean, integer
/// or float). Cautious: anything that might be a number is left to it.
fn plain_is_string(v: &str) -> bool {
    const NUMBERISH: &str = "0123456789abcdefABCDEFxXoObB_+-.eEinftyINFTY";
    let may_be_number = v.starts_with(|c: char| c.is_ascii_digit() || "+-.".contains(c))
        && v.chars().all(|c| NUMBERISH.contains(c));
    !v.is_empty()
        && !matches!(
            v,
            "~" | "null" | "Null" | "NULL" | "true" | "True" | "TRUE" | "false" | "False" | "FALSE"
        )
        && !may_be_number
        && v.parse::<f64>().is_err()
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

    /// What `parse_yaml` gives without the fast path.
    fn through_libyaml(text: &str) -> Result<Map<String, Value>, String> {
        let v: serde_norway::Value = serde_norway::from_str(text).map_err(|e| e.to_string())?;
        match v {
            serde_norway::Value::Mapping(m) => Ok(m
                .into_iter()
                .map(|(k, v)| (yaml_key(&k), yaml_to_json(v)))
                .collect()),
            other => Err(format!("not a mapping: {other:?}")),
        }
    }

    #[test]
    fn simple_yaml_reads_common_front_matter_as_libyaml_does() {
        let text = "title: \"This: a # title\"\ndate: 2015-01-01T08:00:38Z\nslug: post-00000-this\nauthor: \"Ada Writer\"\ncategories: [\"life\", \"ops/backups\"]\ntags: [a, b c, \"x, y\"]\nempty: []\nlayout: post\nname: Café  \ndraft: true\nx: FALSE\ny: yes\n";
        let fast = simple_yaml(text).expect("the fast path takes it");
        assert_eq!(Ok(fast), through_libyaml(text));
        // Left to libyaml: numbers, booleans, nulls, escapes, comments, nesting, duplicates.
        for text in [
            "a: 1\n",
            "a: 0x1f\n",
            "a: 1e5\n",
            "a: .inf\n",
            "a: [True]\n",
            "a: ~\n",
            "a: \"x\\ty\"\n",
            "a: x # c\n",
            "# c\na: x\n",
            "a:\n  b: c\n",
            "a: x\na: y\n",
            "a: [x, ]\n",
            "a: [1, b]\n",
            "a: x\r\n",
            "null: x\n",
            "a: &x y\n",
            "a: x:\n",
        ] {
            assert_eq!(simple_yaml(text), None, "{text:?}");
        }
    }

    #[test]
    #[ignore = "needs the real posts in ../shared/corpora/jekyll-posts (not in the repository); .ci/run runs it with --ignored when they are there"]
    fn corpus_simple_yaml_agrees_with_libyaml_on_the_shared_jekyll_posts() {
        let dir = crate::shared_corpus("jekyll-posts");
        let mut fast = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let src = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            let Ok(s) = split(&src) else { continue };
            if let Some(m) = simple_yaml(s.text).filter(|_| s.dialect == Dialect::Yaml) {
                assert_eq!(Ok(m), through_libyaml(s.text), "{}", s.text);
                fast += 1;
            }
        }
        assert!(fast > 0, "the fast path took none of the posts");
    }

    proptest::proptest! {
        #[test]
        fn simple_yaml_agrees_with_libyaml(
            lines in proptest::collection::vec(
                (
                    "[a-zA-Z_][a-zA-Z0-9_-]{0,6}|null|True|inf",
                    proptest::prop_oneof![
                        "[ -~]{0,12}",
                        "\"[ -~]{0,12}\"",
                        "\\[[ -~]{0,16}\\]",
                        "[0-9a-fA-F.xeE:+ -]{1,10}",
                        "[a-z]{1,5}: [a-z]{1,5}",
                        "(true|False|NULL|~|yes|no|\\.nan|-\\.inf|0o17|1_000|007|é|\u{2028}|\u{85})",
                    ],
                ),
                0..5,
            )
        ) {
            let text: String = lines.iter().map(|(k, v)| format!("{k}: {v}\n")).collect();
            // (parse_yaml reads a blank front matter as empty before either parser.)
            if let Some(fast) = simple_yaml(&text).filter(|_| !text.trim().is_empty()) {
                proptest::prop_assert_eq!(Ok(fast), through_libyaml(&text), "{:?}", text);
            }
        }
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
