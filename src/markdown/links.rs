//! Resolving a page's relative link and image URLs to site-absolute paths, so they work on
//! index pages and in feeds as well as on the page itself.

/// `url` resolved against the folder `base` (`/posts/slug/`), or `None` when `url` is not a
/// relative path: empty, site-absolute (`/x`), protocol-relative (`//host`), a fragment (`#x`),
/// a query (`?x`) or with a scheme (`https:`, `mailto:`, `data:`…). `.` and `..` segments are
/// resolved (never above the site root); the query and fragment are kept.
pub fn resolve_relative_url(base: &str, url: &str) -> Option<String> {
    if url.is_empty() || url.starts_with(['/', '#', '?']) || has_scheme(url) {
        return None;
    }
    let split = url.find(['?', '#']).unwrap_or(url.len());
    let (path, rest) = url.split_at(split);
    let mut segments: Vec<&str> = base.split('/').filter(|s| !s.is_empty()).collect();
    let parts: Vec<&str> = path.split('/').collect();
    // A path ending in `/`, `.` or `..` names a folder.
    let folder = matches!(parts.last(), Some(&"" | &"." | &".."));
    for part in &parts {
        match *part {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut out = String::with_capacity(base.len() + url.len() + 1);
    out.push('/');
    out.push_str(&segments.join("/"));
    if folder && !segments.is_empty() {
        out.push('/');
    }
    out.push_str(rest);
    Some(out)
}

/// RFC 3986 scheme: a letter, then letters, digits, `+`, `-` or `.`, then `:`, before any `/`.
fn has_scheme(url: &str) -> bool {
    let Some(colon) = url.find(':') else {
        return false;
    };
    let scheme = &url[..colon];
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

#[cfg(test)]
mod tests {
    use super::resolve_relative_url as r;

    #[test]
    fn relative_paths_resolve_under_the_base() {
        let b = "/posts/hello/";
        assert_eq!(r(b, "a.png").as_deref(), Some("/posts/hello/a.png"));
        assert_eq!(
            r(b, "./img/a.png").as_deref(),
            Some("/posts/hello/img/a.png")
        );
        assert_eq!(r(b, "../x/").as_deref(), Some("/posts/x/"));
        assert_eq!(r(b, "..").as_deref(), Some("/posts/"));
        assert_eq!(r(b, "../../../../a").as_deref(), Some("/a"));
        assert_eq!(r(b, "../../..").as_deref(), Some("/"));
        assert_eq!(
            r(b, "f.pdf?x=1#p2").as_deref(),
            Some("/posts/hello/f.pdf?x=1#p2")
        );
        assert_eq!(r("/posts/hello", "a").as_deref(), Some("/posts/hello/a"));
        assert_eq!(r(b, "a%20b.png").as_deref(), Some("/posts/hello/a%20b.png"));
    }

    #[test]
    fn other_urls_are_left_alone() {
        for url in [
            "",
            "/about/",
            "//cdn.example.org/x.js",
            "#top",
            "?q=1",
            "https://example.org",
            "HTTP://example.org",
            "mailto:a@b.c",
            "tel:+123",
            "data:image/png;base64,AAAA",
            "git+ssh://host/repo",
        ] {
            assert_eq!(r("/posts/p/", url), None, "{url}");
        }
        // A colon after a slash is part of a path, not a scheme.
        assert_eq!(r("/p/", "a/b:c").as_deref(), Some("/p/a/b:c"));
        assert_eq!(r("/p/", "1:2").as_deref(), Some("/p/1:2"));
    }
}
