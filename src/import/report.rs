//! `import --report`: what an import mapped how. One row per post it added or changed (its
//! URL and what set it, its section and kind, where its date came from, its aliases, the
//! constructs left as text), the totals over them, and both as an aligned text table or as
//! JSON. The rows are gathered by the import (see `Apply` in the parent module); this module
//! only counts and shows them.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::{ChangeKind, ImportSummary};
use crate::frontmatter::DateSource;
use crate::model::PostKind;

/// What set a post's URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "from")]
pub enum UrlSource {
    /// The post's own `path`, `permalink` or `url` key.
    OwnKey { key: &'static str },
    /// A `[permalinks]` pattern (taken over from the site, or bloggo.toml's), by its key.
    Permalinks { key: String, pattern: String },
    /// The default of the post's section, `/<section>/:slug/`.
    SectionDefault { pattern: String },
    /// bloggo's default: `/posts/:slug/` (or `[urls] posts`) for posts, `/:slug/` for pages.
    Default { pattern: String },
}

impl fmt::Display for UrlSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UrlSource::OwnKey { key } => write!(f, "`{key}` key"),
            UrlSource::Permalinks { key, .. } => write!(f, "[permalinks] {key}"),
            UrlSource::SectionDefault { pattern } => write!(f, "section default {pattern}"),
            UrlSource::Default { pattern } => write!(f, "default {pattern}"),
        }
    }
}

/// One post an import added or changed, and how it was mapped.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PostReport {
    /// The source file, relative to the imported path.
    pub source: String,
    #[serde(serialize_with = "change_name")]
    pub change: ChangeKind,
    /// The URL path bloggo publishes it at (`/2021/06/17/x/`).
    pub url: String,
    pub url_source: UrlSource,
    pub section: Option<String>,
    pub kind: PostKind,
    pub date_source: DateSource,
    pub aliases: usize,
    /// The constructs bloggo does not run, left on the page as text (by name).
    pub left_as_text: Vec<String>,
}

fn change_name<S: serde::Serializer>(c: &ChangeKind, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(match c {
        ChangeKind::New => "new",
        ChangeKind::Updated => "updated",
        ChangeKind::Deleted => "deleted",
    })
}

/// The totals over an import's rows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub new: usize,
    pub updated: usize,
    /// Posts whose file had not changed: not read again, so not detailed.
    pub unchanged: usize,
    /// Posts by what set their URL (as the text report names it).
    pub by_url_source: BTreeMap<String, usize>,
    /// Posts by where their date came from (as the text report names it).
    pub by_date_source: BTreeMap<String, usize>,
    /// The sections written (new or changed), by key.
    pub sections: Vec<String>,
    pub aliases: usize,
    pub posts_with_aliases: usize,
    /// The files with constructs left as text.
    pub left_as_text: Vec<String>,
}

/// Counts `summary`'s rows.
pub fn totals(summary: &ImportSummary) -> Totals {
    let mut t = Totals {
        new: summary.new,
        updated: summary.updated,
        unchanged: summary.unchanged,
        sections: summary.sections.clone(),
        ..Totals::default()
    };
    for r in &summary.report {
        *t.by_url_source.entry(r.url_source.to_string()).or_default() += 1;
        *t.by_date_source
            .entry(r.date_source.to_string())
            .or_default() += 1;
        t.aliases += r.aliases;
        t.posts_with_aliases += usize::from(r.aliases > 0);
        if !r.left_as_text.is_empty() {
            t.left_as_text.push(r.source.clone());
        }
    }
    t
}

/// The report as aligned text: a table of the rows, then the totals.
pub fn text(summary: &ImportSummary) -> String {
    let mut table: Vec<[String; 9]> = vec![[
        "file",
        "change",
        "kind",
        "section",
        "url",
        "url from",
        "date from",
        "aliases",
        "left as text",
    ]
    .map(str::to_string)];
    for r in &summary.report {
        table.push([
            r.source.clone(),
            match r.change {
                ChangeKind::New => "new",
                ChangeKind::Updated => "updated",
                ChangeKind::Deleted => "deleted",
            }
            .to_string(),
            r.kind.to_string(),
            r.section.clone().unwrap_or_else(|| "-".into()),
            r.url.clone(),
            r.url_source.to_string(),
            r.date_source.to_string(),
            r.aliases.to_string(),
            if r.left_as_text.is_empty() {
                "-".into()
            } else {
                r.left_as_text.join(", ")
            },
        ]);
    }
    let mut widths = [0usize; 9];
    for row in &table {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    if summary.report.is_empty() {
        out.push_str("report: no post was added or changed\n");
    } else {
        for row in &table {
            let mut line = String::from(" ");
            for (w, cell) in widths.iter().zip(row) {
                line.push(' ');
                line.push_str(cell);
                line.push_str(&" ".repeat(w - cell.chars().count() + 1));
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
    let t = totals(summary);
    let counts = |m: &BTreeMap<String, usize>| {
        m.iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut line = |label: &str, value: String| out.push_str(&format!("{label:<14}{value}\n"));
    line(
        "posts:",
        format!(
            "{} new, {} updated, {} unchanged (their files had not changed; not read again)",
            t.new, t.updated, t.unchanged
        ),
    );
    if !t.by_url_source.is_empty() {
        line("URLs from:", counts(&t.by_url_source));
        line("dates from:", counts(&t.by_date_source));
    }
    line(
        "sections:",
        if t.sections.is_empty() {
            "none written".into()
        } else {
            format!("{} written ({})", t.sections.len(), t.sections.join(", "))
        },
    );
    line(
        "aliases:",
        format!(
            "{} on {}",
            t.aliases,
            plural(t.posts_with_aliases, "post", "posts")
        ),
    );
    line(
        "left as text:",
        if t.left_as_text.is_empty() {
            "none".into()
        } else {
            format!(
                "{} ({})",
                plural(t.left_as_text.len(), "file", "files"),
                t.left_as_text.join(", ")
            )
        },
    );
    out
}

/// The report as JSON: the rows, the totals and the counts of the summary.
pub fn json(summary: &ImportSummary) -> serde_json::Value {
    serde_json::json!({
        "posts": summary.report,
        "totals": totals(summary),
        "skipped": summary.skipped,
        "deleted": summary.deleted,
        "dry_run": summary.dry_run,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(source: &str, url_source: UrlSource, date_source: DateSource) -> PostReport {
        PostReport {
            source: source.into(),
            change: ChangeKind::New,
            url: format!("/{}/", source.trim_end_matches(".md")),
            url_source,
            section: None,
            kind: PostKind::Post,
            date_source,
            aliases: 0,
            left_as_text: Vec::new(),
        }
    }

    fn summary() -> ImportSummary {
        let own = UrlSource::OwnKey { key: "path" };
        let section = UrlSource::SectionDefault {
            pattern: "/blog/:slug/".into(),
        };
        let mut a = row("blog/a.md", own, DateSource::Path("path"));
        a.section = Some("blog".into());
        a.aliases = 2;
        let mut b = row(
            "blog/b.md",
            section.clone(),
            DateSource::FrontMatter("date"),
        );
        b.section = Some("blog".into());
        b.left_as_text = vec!["Zola shortcode `youtube()`".into()];
        let mut c = row("blog/c.md", section, DateSource::FrontMatter("date"));
        c.change = ChangeKind::Updated;
        ImportSummary {
            new: 2,
            updated: 1,
            unchanged: 4,
            sections: vec!["blog".into()],
            report: vec![a, b, c],
            ..ImportSummary::default()
        }
    }

    #[test]
    fn totals_count_by_source_aliases_and_files_left_as_text() {
        let t = totals(&summary());
        assert_eq!(
            t.by_url_source.into_iter().collect::<Vec<_>>(),
            [
                ("`path` key".to_string(), 1),
                ("section default /blog/:slug/".to_string(), 2)
            ]
        );
        assert_eq!(
            t.by_date_source.into_iter().collect::<Vec<_>>(),
            [("`date` key".to_string(), 2), ("`path` key".to_string(), 1)]
        );
        assert_eq!((t.aliases, t.posts_with_aliases), (2, 1));
        assert_eq!(t.left_as_text, ["blog/b.md"]);
        assert_eq!((t.new, t.updated, t.unchanged), (2, 1, 4));
    }

    #[test]
    fn the_text_table_is_aligned_and_ends_with_the_totals() {
        let text = text(&summary());
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("  file       change   kind"), "{text}");
        // Every column starts where its header does.
        let at = lines[0].find("url from").unwrap();
        assert_eq!(lines[1].find("`path` key"), Some(at), "{text}");
        assert_eq!(lines[2].find("section default"), Some(at), "{text}");
        assert!(lines[2].ends_with("Zola shortcode `youtube()`"), "{text}");
        assert!(lines[3].contains(" updated "), "{text}");
        assert!(text.contains(
            "posts:        2 new, 1 updated, 4 unchanged (their files had not changed; not read again)\n"
        ));
        assert!(text.contains("URLs from:    `path` key 1, section default /blog/:slug/ 2\n"));
        assert!(text.contains("dates from:   `date` key 2, `path` key 1\n"));
        assert!(text.contains("sections:     1 written (blog)\n"));
        assert!(text.contains("aliases:      2 on 1 post\n"));
        assert!(text.contains("left as text: 1 file (blog/b.md)\n"));
    }

    #[test]
    fn an_import_that_changed_nothing_says_so() {
        let s = ImportSummary {
            unchanged: 3,
            ..ImportSummary::default()
        };
        let text = text(&s);
        assert!(
            text.starts_with("report: no post was added or changed\n"),
            "{text}"
        );
        assert!(text.contains("0 new, 0 updated, 3 unchanged"), "{text}");
        assert!(text.contains("left as text: none"), "{text}");
    }

    #[test]
    fn json_has_the_rows_and_totals() {
        let v = json(&summary());
        assert_eq!(v["posts"][0]["url_source"]["from"], "own_key");
        assert_eq!(v["posts"][0]["url_source"]["key"], "path");
        assert_eq!(v["posts"][0]["date_source"]["from"], "path");
        assert_eq!(v["posts"][1]["date_source"]["key"], "date");
        assert_eq!(v["posts"][2]["change"], "updated");
        assert_eq!(v["posts"][0]["kind"], "post");
        assert_eq!(v["totals"]["aliases"], 2);
        assert_eq!(v["totals"]["unchanged"], 4);
    }
}
