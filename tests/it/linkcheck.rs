//! A link checker for built sites (what lychee does offline): every `href` and `src` (and meta
//! refresh or `og:url` `content`) in every HTML page that points inside the site must name a
//! file of the output, and a `#fragment` must name an element id (or anchor name) of the page
//! it points to.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use regex::Regex;

/// A link that does not resolve: the page it is on, the link, and why.
#[derive(Debug, PartialEq)]
pub struct Broken {
    pub page: String,
    pub link: String,
    pub why: &'static str,
}

/// Every broken internal link of the site in `public` (built with `origin` as its base URL,
/// such as `http://127.0.0.1:4000`; links to other hosts are not followed).
pub fn broken_links(public: &Path, origin: &str) -> Vec<Broken> {
    let tags = Regex::new(r"<[a-zA-Z][^<>]*>").unwrap();
    let attr = Regex::new(r#"(href|src|content)="([^"]*)""#).unwrap();
    let id = Regex::new(r#"(?:id|name)\s*=\s*"([^"]*)""#).unwrap();
    let pages: Vec<PathBuf> = walkdir::WalkDir::new(public)
        .into_iter()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "html"))
        .map(|e| e.into_path())
        .collect();
    let mut ids: HashMap<PathBuf, HashSet<String>> = HashMap::new();
    let mut broken = Vec::new();
    for page in &pages {
        let html = std::fs::read_to_string(page).unwrap();
        let rel = page
            .strip_prefix(public)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let dir = format!("/{}", rel.rsplit_once('/').map_or("", |(d, _)| d));
        for cap in tags
            .find_iter(&html)
            .flat_map(|t| attr.captures_iter(t.as_str()))
        {
            let mut link = html_unescape(&cap[2]);
            if &cap[1] == "content" {
                // A meta refresh (`0; url=…`) or a page's own URL (`og:url`); other
                // `content` values are text.
                match link.strip_prefix("0; url=") {
                    Some(url) => link = url.to_string(),
                    None if link.starts_with(origin) => {}
                    None => continue,
                }
            }
            let Some(target) = internal(&link, origin, &dir) else {
                continue;
            };
            let (path, fragment) = match target.split_once('#') {
                Some((p, f)) => (p.to_string(), Some(f.to_string())),
                None => (target.clone(), None),
            };
            let path = path.split('?').next().unwrap_or("").to_string();
            let file = if path.is_empty() {
                Some(page.clone())
            } else {
                file_of(public, &path)
            };
            let Some(file) = file else {
                broken.push(Broken {
                    page: rel.clone(),
                    link,
                    why: "no such file",
                });
                continue;
            };
            let Some(fragment) = fragment.filter(|f| !f.is_empty()) else {
                continue;
            };
            if file.extension().is_none_or(|x| x != "html") {
                continue;
            }
            let known = ids.entry(file.clone()).or_insert_with(|| {
                let text = std::fs::read_to_string(&file).unwrap_or_default();
                id.captures_iter(&text).map(|c| c[1].to_string()).collect()
            });
            let fragment = percent_decode(&fragment);
            if !known.contains(&fragment) {
                broken.push(Broken {
                    page: rel.clone(),
                    link,
                    why: "no element with that id",
                });
            }
        }
    }
    broken
}

/// The site path a link points to (resolved against the page's folder `dir`), or `None` for a
/// link outside the site (another host, `mailto:`, `data:`, a script).
fn internal(link: &str, origin: &str, dir: &str) -> Option<String> {
    let link = link.trim();
    if link.is_empty() {
        return None;
    }
    if let Some(rest) = link.strip_prefix(origin) {
        return Some(if rest.is_empty() {
            "/".into()
        } else {
            rest.into()
        });
    }
    if link.starts_with("//")
        || link.contains("://")
        || link.contains(':') && !link.starts_with(['/', '#', '.'])
    {
        return None;
    }
    if link.starts_with(['/', '#']) {
        return Some(link.to_string());
    }
    // Relative: against the page's folder.
    let mut parts: Vec<&str> = dir.split('/').filter(|s| !s.is_empty()).collect();
    for seg in link.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    let mut out = format!("/{}", parts.join("/"));
    if link.ends_with('/') && !out.ends_with('/') {
        out.push('/');
    }
    Some(out)
}

/// The output file a site path is served from, as a static server would: the file itself, or
/// a folder's `index.html`.
fn file_of(public: &Path, path: &str) -> Option<PathBuf> {
    let rel = percent_decode(path.trim_start_matches('/'));
    let p = public.join(&rel);
    if path.ends_with('/') || rel.is_empty() {
        let index = p.join("index.html");
        return index.is_file().then_some(index);
    }
    if p.is_file() {
        return Some(p);
    }
    let index = p.join("index.html");
    index.is_file().then_some(index)
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

fn html_unescape(s: &str) -> String {
    s.replace("&amp;", "&")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
}

#[test]
fn the_checker_finds_a_missing_page_and_a_missing_anchor() {
    let dir = tempfile::tempdir().unwrap();
    let public = dir.path();
    std::fs::create_dir_all(public.join("posts/a")).unwrap();
    std::fs::write(
        public.join("index.html"),
        r##"<a href="/posts/a/">a</a> <a href="/posts/a/#there">there</a>
<a href="posts/b/">b</a> <a href="/posts/a/#nowhere">nowhere</a> <a href="https://x.org/">out</a>
<a href="http://127.0.0.1:4000/posts/a/">abs</a> <a href="mailto:x@y">m</a>"##,
    )
    .unwrap();
    std::fs::write(
        public.join("posts/a/index.html"),
        r#"<h2 id="there">T</h2>"#,
    )
    .unwrap();
    let broken = broken_links(public, "http://127.0.0.1:4000");
    let links: Vec<(&str, &str)> = broken.iter().map(|b| (b.link.as_str(), b.why)).collect();
    assert_eq!(
        links,
        [
            ("posts/b/", "no such file"),
            ("/posts/a/#nowhere", "no element with that id")
        ]
    );
}

/// The Jekyll project's own posts, built with jekyllrb.com's permalink pattern: every link
/// between them resolves (written as `/news/…` URLs or `post_url` tags). What is left broken
/// is what they link to outside this folder (the Jekyll site's `/docs/` pages and its other
/// files), which no importer can bring.
#[test]
#[ignore = "needs the real posts in ../shared/corpora/jekyll-posts (run by .ci/run when present)"]
fn corpus_links_between_the_real_jekyll_posts_resolve() {
    let corpus = crate::harness::shared_corpus("jekyll-posts");
    let site = crate::harness::Site::new();
    // jekyllrb.com's own setting: the posts link to each other at these URLs.
    let config = site.read("bloggo.toml");
    site.write(
        "bloggo.toml",
        &format!("{config}\n[permalinks]\nposts = \"/news/:year/:month/:day/:slug/\"\n"),
    );
    site.run(&["import", corpus.to_str().unwrap()]).ok();
    site.run(&["build", "--quiet"]).ok();
    let broken = broken_links(&site.path("public"), "http://127.0.0.1:4000");
    let between_posts: Vec<&Broken> = broken
        .iter()
        .filter(|b| b.link.starts_with("/news/") || b.link.contains("post_url"))
        .collect();
    assert!(between_posts.is_empty(), "{between_posts:#?}");
    let outside: Vec<&Broken> = broken
        .iter()
        .filter(|b| {
            ![
                "/docs/",
                "/news/",
                "/tutorials/",
                "/philosophy",
                "/img/",
                "/team/",
                "/help/",
            ]
            .iter()
            .any(|p| b.link.starts_with(p))
        })
        .collect();
    assert!(
        outside.is_empty(),
        "links that are not the Jekyll site's own pages: {outside:#?}"
    );
}
