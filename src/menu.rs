//! The site's menu: `[[menu]]` entries of `bloggo.toml` (`name`, `url`, optional `weight`),
//! checked and put in order once when the settings load ([`items`]), then resolved against a
//! build's base URL ([`links`]) for the templates (`site.menu`).

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

/// One `[[menu]]` entry as written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MenuEntry {
    pub name: String,
    /// A site path (`/about/`) or an external URL (`https://…`, `mailto:…`).
    pub url: String,
    /// Lower first; entries without one come after those with one, in the file's order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<i64>,
}

/// Where a menu entry leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A path below the site's root (`/about/` is `about/` under a base URL's path).
    Site(String),
    /// Another site's URL, kept as written.
    External(String),
}

/// A checked menu entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenuItem {
    pub name: String,
    pub target: Target,
}

/// A menu entry as templates see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MenuLink {
    pub name: String,
    /// The URL path under the site's root, or the external URL.
    pub url: String,
    /// Another site's page (the default theme gives it `rel="noopener"`).
    pub external: bool,
}

/// The entries checked (a name, a site path or an http(s)/mailto URL) and in order.
pub fn items(entries: &[MenuEntry]) -> Result<Vec<MenuItem>> {
    let mut out: Vec<(Option<i64>, MenuItem)> = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        let n = i + 1;
        let name = e.name.trim();
        if name.is_empty() {
            bail!("[[menu]] entry {n}: `name` is empty; give the link a name");
        }
        let url = e.url.trim();
        let target = if url.starts_with("//") {
            bail!("[[menu]] {name:?}: url {url:?} has no scheme; write https://… for another site");
        } else if url.starts_with('/') {
            if url.contains(['\\', ' ']) || url.split('/').any(|s| s == "..") {
                bail!("[[menu]] {name:?}: url {url:?} is not a usable site path");
            }
            Target::Site(url.to_string())
        } else if ["http://", "https://", "mailto:"]
            .iter()
            .any(|s| url.len() > s.len() && url[..s.len()].eq_ignore_ascii_case(s))
        {
            Target::External(url.to_string())
        } else {
            bail!(
                "[[menu]] {name:?}: url {url:?} must be a site path (\"/about/\") or a URL (\"https://…\")"
            );
        };
        out.push((
            e.weight,
            MenuItem {
                name: name.to_string(),
                target,
            },
        ));
    }
    // Stable: equal weights, and the entries without one, keep the file's order.
    out.sort_by_key(|(w, _)| (w.is_none(), *w));
    Ok(out.into_iter().map(|(_, m)| m).collect())
}

/// The menu of a build whose base URL's path is `root` (`/` or `/blog/`).
pub fn links(items: &[MenuItem], root: &str) -> Vec<MenuLink> {
    items
        .iter()
        .map(|m| match &m.target {
            Target::Site(p) => MenuLink {
                name: m.name.clone(),
                url: format!("{root}{}", p.trim_start_matches('/')),
                external: false,
            },
            Target::External(u) => MenuLink {
                name: m.name.clone(),
                url: u.clone(),
                external: true,
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, url: &str, weight: Option<i64>) -> MenuEntry {
        MenuEntry {
            name: name.into(),
            url: url.into(),
            weight,
        }
    }

    #[test]
    fn entries_go_by_weight_then_file_order() {
        let got = items(&[
            entry("c", "/c/", None),
            entry("b", "/b/", Some(2)),
            entry("a", "/a/", Some(1)),
            entry("d", "https://d.example/", None),
            entry("b2", "/b2/", Some(2)),
        ])
        .unwrap();
        let names: Vec<&str> = got.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "b2", "c", "d"]);
    }

    #[test]
    fn site_paths_go_under_the_root_and_external_urls_stay() {
        let m = items(&[
            entry("About", "/about/", None),
            entry("Code", "https://git.example/me", None),
        ])
        .unwrap();
        let l = links(&m, "/blog/");
        assert_eq!((l[0].url.as_str(), l[0].external), ("/blog/about/", false));
        assert_eq!(
            (l[1].url.as_str(), l[1].external),
            ("https://git.example/me", true)
        );
        assert_eq!(links(&m, "/")[0].url, "/about/");
    }

    #[test]
    fn bad_entries_name_the_entry_and_the_fix() {
        for (e, want) in [
            (entry(" ", "/a/", None), "entry 1: `name` is empty"),
            (entry("A", "about", None), "must be a site path"),
            (entry("A", "//x.example/", None), "has no scheme"),
            (entry("A", "/../x/", None), "not a usable site path"),
            (
                entry("A", "javascript:alert(1)", None),
                "must be a site path",
            ),
        ] {
            let err = items(&[e]).unwrap_err().to_string();
            assert!(err.contains(want), "{err}");
        }
    }
}
