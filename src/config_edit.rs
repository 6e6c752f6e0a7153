//! Edits to a site's `bloggo.toml` that keep the writer's layout and comments: a key set in
//! place (top level or in a table), added where it is missing. Used when `bloggo import`
//! takes over an imported site's settings.
//!
//! An edit is checked before it is written: the new text must load as valid settings, or the
//! file is left as it was. The file is replaced atomically.

use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::config::{Settings, CONFIG_FILE};

/// One setting to take over: `table` is `None` for a top-level key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub table: Option<&'static str>,
    /// A bare TOML key (letters, digits, `-`, `_`).
    pub key: String,
    pub value: String,
    /// The values a site has before anyone chose one (what `bloggo init` writes): only these
    /// (or no value at all) are replaced; a value the writer chose is kept.
    pub replaceable: &'static [&'static str],
}

/// What taking a setting over did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Set {
        name: String,
        value: String,
    },
    Kept {
        name: String,
        yours: String,
        theirs: String,
    },
    /// Left out because `bloggo.toml` would not load with it (another setting says otherwise).
    Refused {
        name: String,
        value: String,
        why: String,
    },
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Set { name, value } => write!(f, "set {name} = {value:?}"),
            Outcome::Kept {
                name,
                yours,
                theirs,
            } => write!(
                f,
                "kept your {name} = {yours:?} (the imported site has {theirs:?})"
            ),
            Outcome::Refused { name, value, why } => {
                write!(f, "left out {name} = {value:?}: {why}")
            }
        }
    }
}

/// Sets each setting in `site`'s `bloggo.toml` where it is missing or still replaceable, and
/// writes the file (unless `dry_run`) when anything changed. Refuses, naming the setting, an
/// edit after which the file would not load.
pub fn take_over(site: &Path, settings: &[Setting], dry_run: bool) -> Result<Vec<Outcome>> {
    let file = site.join(CONFIG_FILE);
    let before = std::fs::read_to_string(&file)
        .with_context(|| format!("{}: cannot read", file.display()))?;
    let mut text = before.clone();
    let mut outcomes = Vec::new();
    for s in settings {
        let name = match s.table {
            Some(t) => format!("[{t}] {}", s.key),
            None => s.key.to_string(),
        };
        let current = get(&text, s.table, &s.key);
        match current {
            Some(v) if v == s.value => {}
            Some(v) if !s.replaceable.contains(&v.as_str()) => outcomes.push(Outcome::Kept {
                name,
                yours: v,
                theirs: s.value.clone(),
            }),
            _ => {
                let edited = set(&text, s.table, &s.key, &s.value);
                match loads(site, &edited) {
                    Ok(()) => {
                        text = edited;
                        outcomes.push(Outcome::Set {
                            name,
                            value: s.value.clone(),
                        });
                    }
                    Err(why) => outcomes.push(Outcome::Refused {
                        name,
                        value: s.value.clone(),
                        why,
                    }),
                }
            }
        }
    }
    if text != before && !dry_run {
        if let Err(why) = loads(site, &text) {
            bail!(
                "{}: the settings taken over from the imported site are not valid ({why}); the file was left as it was",
                file.display()
            );
        }
        crate::fsx::write_atomic(&file, text.as_bytes(), crate::fsx::Durability::Synced)
            .with_context(|| format!("{}: cannot write", file.display()))?;
    }
    Ok(outcomes)
}

/// Whether `text` loads as the settings of `site`, or why not.
fn loads(site: &Path, text: &str) -> Result<(), String> {
    let config = toml::from_str(text).map_err(|e| e.message().to_string())?;
    Settings::from_config(site, config)
        .map(|_| ())
        .map_err(|e| format!("{e:#}"))
}

/// The lines of `table` (`None`: the top level, before the first table header) as a range of
/// line indexes, or `None` when the table has no header.
fn table_lines(lines: &[&str], table: Option<&str>) -> Option<(usize, usize)> {
    let is_header = |l: &str| l.trim_start().starts_with('[');
    let start = match table {
        None => 0,
        Some(t) => {
            let header = format!("[{t}]");
            lines.iter().position(|l| l.trim() == header)? + 1
        }
    };
    let end = lines[start..]
        .iter()
        .position(|l| is_header(l))
        .map_or(lines.len(), |i| start + i);
    Some((start, end))
}

/// The line of `key` in `lines[range]`, if the key is set there.
fn key_line(lines: &[&str], (start, end): (usize, usize), key: &str) -> Option<usize> {
    (start..end).find(|&i| {
        let l = lines[i].trim_start();
        l.strip_prefix(key)
            .is_some_and(|rest| rest.trim_start().starts_with('='))
    })
}

/// The string value of `key` in `table`, as the file has it.
fn get(text: &str, table: Option<&str>, key: &str) -> Option<String> {
    let value: toml::Table = toml::from_str(text).ok()?;
    let scope = match table {
        None => &value,
        Some(t) => value.get(t)?.as_table()?,
    };
    scope.get(key)?.as_str().map(str::to_string)
}

/// `text` with `key = "value"` in `table`: the key's line replaced, or a line added at the
/// end of the table (or the top level), or the table added at the end of the file.
fn set(text: &str, table: Option<&str>, key: &str, value: &str) -> String {
    let line = format!("{key} = {}", toml::Value::String(value.to_string()));
    let lines: Vec<&str> = text.lines().collect();
    let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    match table_lines(&lines, table) {
        Some(range) => match key_line(&lines, range, key) {
            Some(i) => out[i] = line,
            None => {
                // After the table's last non-blank line.
                let (start, end) = range;
                let at = (start..end)
                    .rev()
                    .find(|&i| !lines[i].trim().is_empty())
                    .map_or(start, |i| i + 1);
                out.insert(at, line);
            }
        },
        None => {
            if out.last().is_some_and(|l| !l.trim().is_empty()) {
                out.push(String::new());
            }
            out.push(format!("[{}]", table.unwrap_or_default()));
            out.push(line);
        }
    }
    let mut s = out.join("\n");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "# my blog\ntitle = \"My bloggo blog\"\nbase_url = \"https://mine.example\"\n\n[content]\nsync = true\n\n[backup]\nkeep_daily = 7\n";

    #[test]
    fn a_key_is_replaced_in_place_and_comments_stay() {
        let t = set(FILE, None, "title", "Jekyll \"News\"");
        assert!(
            t.starts_with("# my blog\ntitle = 'Jekyll \"News\"'\nbase_url"),
            "{t}"
        );
        assert_eq!(get(&t, None, "title").as_deref(), Some("Jekyll \"News\""));
    }

    #[test]
    fn a_missing_key_goes_to_its_table_and_a_missing_table_to_the_end() {
        let t = set(FILE, Some("content"), "words_per_minute", "250");
        assert!(
            t.contains("[content]\nsync = true\nwords_per_minute = \"250\"\n\n[backup]"),
            "{t}"
        );
        let t = set(FILE, Some("permalinks"), "posts", "/:year/:slug/");
        assert!(
            t.ends_with("keep_daily = 7\n\n[permalinks]\nposts = \"/:year/:slug/\"\n"),
            "{t}"
        );
        let t = set(FILE, None, "description", "d");
        assert!(
            t.contains("base_url = \"https://mine.example\"\ndescription = \"d\"\n\n[content]"),
            "{t}"
        );
    }

    #[test]
    fn only_values_nobody_chose_are_replaced() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(CONFIG_FILE), FILE).unwrap();
        let wanted = [
            Setting {
                table: None,
                key: "title".into(),
                value: "Their blog".into(),
                replaceable: &["My bloggo blog"],
            },
            Setting {
                table: None,
                key: "base_url".into(),
                value: "https://theirs.example".into(),
                replaceable: &["http://127.0.0.1:4000"],
            },
        ];
        let done = take_over(dir.path(), &wanted, false).unwrap();
        assert_eq!(
            done,
            [
                Outcome::Set {
                    name: "title".into(),
                    value: "Their blog".into()
                },
                Outcome::Kept {
                    name: "base_url".into(),
                    yours: "https://mine.example".into(),
                    theirs: "https://theirs.example".into()
                }
            ]
        );
        let now = std::fs::read_to_string(dir.path().join(CONFIG_FILE)).unwrap();
        assert!(now.contains("title = \"Their blog\"") && now.starts_with("# my blog\n"));
        assert!(now.contains("base_url = \"https://mine.example\""));
    }

    #[test]
    fn a_setting_that_would_not_load_is_left_out_and_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(CONFIG_FILE), FILE).unwrap();
        let bad = [Setting {
            table: None,
            key: "base_url".into(),
            value: "not a url".into(),
            replaceable: &["https://mine.example"],
        }];
        let done = take_over(dir.path(), &bad, false).unwrap();
        assert!(
            matches!(&done[..], [Outcome::Refused { name, .. }] if name == "base_url"),
            "{done:?}"
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join(CONFIG_FILE)).unwrap(),
            FILE
        );
    }
}
