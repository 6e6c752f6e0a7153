//! Request paths → files of the output folder: decoding, traversal refusal, MIME types (from the
//! name, or sniffed as HTML when the name says nothing), ETags.

use std::path::{Path, PathBuf};

use percent_encoding::percent_decode_str;

/// Where a request path leads.
#[derive(Debug, PartialEq, Eq)]
pub enum Resolved {
    /// A file inside the output folder (canonical path).
    File(PathBuf),
    /// A folder requested without its trailing slash: redirect here.
    Redirect(String),
    NotFound,
    /// The path exists but leads outside the output folder (a symlink).
    Forbidden,
    /// The path itself is hostile or malformed (`..`, encoded `/`, NUL, bad UTF-8).
    BadPath(&'static str),
}

/// Decodes the path of a request target into the folder segments it names.
///
/// Every segment is percent-decoded on its own, so `%2f` cannot make new segments; `.` and
/// `..` (also as `%2e%2e`), NUL, backslashes and undecodable bytes are refused.
pub fn decode_segments(path: &str) -> Result<Vec<String>, &'static str> {
    if !path.starts_with('/') {
        return Err("the path must start with /");
    }
    let mut out = Vec::new();
    for raw in path.split('/') {
        if raw.is_empty() {
            continue;
        }
        let seg = percent_decode_str(raw)
            .decode_utf8()
            .map_err(|_| "the path is not UTF-8 once decoded")?;
        if seg == "." || seg == ".." {
            return Err("the path climbs out with . or ..");
        }
        if seg.contains(['/', '\\', '\0']) {
            return Err("the path has an encoded /, a backslash or a NUL byte");
        }
        out.push(seg.into_owned());
    }
    Ok(out)
}

/// Splits a target into its path and query (without the `?`).
pub fn split_target(target: &str) -> (&str, Option<&str>) {
    let target = target.split('#').next().unwrap_or(target);
    match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target, None),
    }
}

/// Resolves a request path against the canonical output folder `root`.
pub fn resolve(root: &Path, target: &str) -> Resolved {
    let (path, query) = split_target(target);
    let segments = match decode_segments(path) {
        Ok(s) => s,
        Err(why) => return Resolved::BadPath(why),
    };
    // Hidden files are not part of the site: bloggo's own (its manifest) and whatever else a
    // tool left there (`.git`, `.env`, editor swap files). `.well-known` is (RFC 8615).
    if segments
        .iter()
        .any(|s| s.starts_with('.') && s != ".well-known")
    {
        return Resolved::NotFound;
    }
    let mut p = root.to_path_buf();
    p.extend(&segments);
    // A folder URL: its index.html, resolved in one go (the common case of a page request).
    if path.ends_with('/') {
        return match p.join("index.html").canonicalize() {
            Ok(index) if !index.starts_with(root) => Resolved::Forbidden,
            Ok(index) if index.is_file() => Resolved::File(index),
            _ => match p.canonicalize() {
                Ok(c) if !c.starts_with(root) => Resolved::Forbidden,
                _ => Resolved::NotFound,
            },
        };
    }
    let canonical = match p.canonicalize() {
        Ok(c) => c,
        Err(_) => return Resolved::NotFound,
    };
    if !canonical.starts_with(root) {
        return Resolved::Forbidden;
    }
    if canonical.is_dir() {
        // Path-absolute with one leading slash, from the segments as sent: `//evil.example`
        // names this site's folder `evil.example` and must not become `Location:
        // //evil.example/`, which a browser reads as another host (empty segments collapse,
        // as Go's ServeMux, behind Hugo's server, cleans them).
        let mut to = String::with_capacity(path.len() + 1);
        for raw in path.split('/').filter(|s| !s.is_empty()) {
            to.push('/');
            to.push_str(raw);
        }
        to.push('/');
        if let Some(q) = query {
            to.push('?');
            to.push_str(q);
        }
        return Resolved::Redirect(to);
    }
    if canonical.is_file() {
        Resolved::File(canonical)
    } else {
        Resolved::NotFound
    }
}

/// The Content-Type of a file, with `charset=utf-8` for text. The type comes from the name; a
/// name that says nothing (no extension, or one no type is known for, like `1.16`) is an HTML
/// page when the file begins as one (see [`looks_like_html`]), else `application/octet-stream`.
pub fn content_type(path: &Path) -> String {
    let Some(mime) = mime_guess::from_path(path).first() else {
        return if looks_like_html(path) {
            "text/html; charset=utf-8"
        } else {
            "application/octet-stream"
        }
        .to_string();
    };
    let essence = mime.essence_str();
    let textual = mime.type_() == mime_guess::mime::TEXT
        || matches!(
            essence,
            "application/javascript" | "application/json" | "application/xml" | "image/svg+xml"
        )
        || essence.ends_with("+xml");
    if textual {
        format!("{essence}; charset=utf-8")
    } else {
        essence.to_string()
    }
}

/// Whether a file is an HTML page (gets the live-reload script while serving): named `.html`
/// or `.htm`, or with a name that says nothing and HTML inside, as [`content_type`] has it.
pub fn is_html(path: &Path) -> bool {
    match path.extension().and_then(|e| e.to_str()) {
        Some(e) if e.eq_ignore_ascii_case("html") || e.eq_ignore_ascii_case("htm") => true,
        _ => mime_guess::from_path(path).first().is_none() && looks_like_html(path),
    }
}

/// Whether the first bytes of a file are an HTML document's (a UTF-8 byte order mark and
/// white space aside): a doctype, a comment, or one of the tags WHATWG MIME sniffing knows
/// (`<html`, `<head`, `<body`, `<p`, …), followed by a space or `>`. Unreadable is no.
fn looks_like_html(path: &Path) -> bool {
    use std::io::Read as _;
    let mut head = [0u8; 512];
    let n = match std::fs::File::open(path).and_then(|f| f.take(512).read(&mut head)) {
        Ok(n) => n,
        Err(_) => return false,
    };
    let text = head[..n]
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(&head[..n]);
    let start = text
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0C'))
        .unwrap_or(text.len());
    let text = &text[start..];
    if text.starts_with(b"<!--") {
        return true;
    }
    const TAGS: [&[u8]; 17] = [
        b"<!doctype html",
        b"<html",
        b"<head",
        b"<script",
        b"<iframe",
        b"<h1",
        b"<div",
        b"<font",
        b"<table",
        b"<a",
        b"<style",
        b"<title",
        b"<b",
        b"<body",
        b"<br",
        b"<p",
        b"<meta",
    ];
    TAGS.iter().any(|tag| {
        text.len() > tag.len()
            && text[..tag.len()].eq_ignore_ascii_case(tag)
            && matches!(text[tag.len()], b' ' | b'>')
    })
}

/// A strong ETag from the file's size and modification time (and a tag for what is
/// injected into it, so a page with an error overlay never matches one without).
pub fn etag(meta: &std::fs::Metadata, variant: u64) -> String {
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("\"{:x}-{:x}-{:x}\"", meta.len(), modified, variant)
}

/// Whether an `If-None-Match` header matches this ETag.
pub fn etag_matches(if_none_match: &str, etag: &str) -> bool {
    if_none_match
        .split(',')
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == etag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traversal_forms_are_refused() {
        for bad in [
            "/../etc/passwd",
            "/a/../../x",
            "/%2e%2e/secret",
            "/%2E%2E%2fsecret",
            "/a%2f..%2f..%2fsecret",
            "/..%5csecret",
            "/a%00.html",
            "/%ff",
            "/./x",
        ] {
            assert!(decode_segments(bad).is_err(), "{bad}");
        }
        assert_eq!(
            decode_segments("/posts//hello%20world/").unwrap(),
            vec!["posts", "hello world"]
        );
        assert!(decode_segments("etc/passwd").is_err());
    }

    #[test]
    fn resolves_files_folders_and_symlinks() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("out");
        std::fs::create_dir_all(root.join("a")).unwrap();
        std::fs::write(root.join("a/index.html"), "a").unwrap();
        std::fs::write(tmp.path().join("secret.txt"), "s").unwrap();
        let root = root.canonicalize().unwrap();
        assert_eq!(
            resolve(&root, "/a/"),
            Resolved::File(root.join("a/index.html"))
        );
        assert_eq!(
            resolve(&root, "/a?x=1"),
            Resolved::Redirect("/a/?x=1".into())
        );
        assert_eq!(resolve(&root, "/nope"), Resolved::NotFound);
        assert_eq!(resolve(&root, "//a"), Resolved::Redirect("/a/".into()));
        assert_eq!(
            resolve(&root, "///a?//x"),
            Resolved::Redirect("/a/?//x".into())
        );
        std::fs::write(root.join(".bloggo-manifest"), "m").unwrap();
        assert_eq!(resolve(&root, "/.bloggo-manifest"), Resolved::NotFound);
        assert_eq!(resolve(&root, "/%2Ebloggo-manifest"), Resolved::NotFound);
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(tmp.path().join("secret.txt"), root.join("link")).unwrap();
            assert_eq!(resolve(&root, "/link"), Resolved::Forbidden);
        }
    }

    #[test]
    fn mime_types_and_etags() {
        assert_eq!(
            content_type(Path::new("a.html")),
            "text/html; charset=utf-8"
        );
        assert_eq!(content_type(Path::new("a.png")), "image/png");
        assert_eq!(content_type(Path::new("a.woff2")), "font/woff2");
        assert_eq!(
            content_type(Path::new("a.svg")),
            "image/svg+xml; charset=utf-8"
        );
        assert_eq!(
            content_type(Path::new("missing")),
            "application/octet-stream"
        );
        assert!(etag_matches("\"x\", W/\"y\"", "\"y\""));
        assert!(!etag_matches("\"x\"", "\"y\""));
    }

    #[test]
    fn a_file_whose_name_says_nothing_is_html_when_it_begins_as_html() {
        let tmp = tempfile::tempdir().unwrap();
        let html = "text/html; charset=utf-8";
        let bytes = "application/octet-stream";
        for (name, body, mime) in [
            ("1.16", "<!DOCTYPE html>\n<html><p>x</p></html>", html),
            ("old", "\u{FEFF}\n  <html lang=\"en\">", html),
            ("comment", "<!-- generated -->\n<p>x", html),
            ("para", "<P>text", html),
            ("table", "<table>", html),
            ("CNAME", "blog.example.org\n", bytes),
            ("blob.bin16", "\0\x01\x02", bytes),
            ("almost", "<abbr>not on the list", bytes),
            ("empty", "", bytes),
            // A name with a type keeps it, whatever is inside.
            ("page.txt", "<html>", "text/plain; charset=utf-8"),
            ("page.HTML", "plain words", html),
        ] {
            let path = tmp.path().join(name);
            std::fs::write(&path, body).unwrap();
            assert_eq!(content_type(&path), mime, "{name}");
            assert_eq!(is_html(&path), mime == html, "{name}");
        }
    }
}
