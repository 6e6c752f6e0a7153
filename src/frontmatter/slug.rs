//! Slugs: lowercase, transliterated to ASCII (the `slug` crate), words joined by hyphens.

/// The slug of any text: `"Héllo, Wörld!"` → `"hello-world"`. Empty when the text has no
/// letter or digit that transliterates.
pub fn slugify(s: &str) -> String {
    slug::slugify(s)
}

/// The slug of a file name: as [`slugify`], but a dot between two words is kept
/// (`jekyll-3.0-released` stays so, as Jekyll's `:title` and Hugo's file-name URLs keep it)
/// unless `keep_dots` is false (Zola slugifies it away: `jekyll-3-0-released`).
pub fn slugify_name(name: &str, keep_dots: bool) -> String {
    if !keep_dots {
        return slugify(name);
    }
    name.split('.')
        .map(slugify)
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(".")
}

/// Splits a Jekyll/Zola style name `YYYY-MM-DD-rest` into its date and the rest.
pub fn split_dated_name(name: &str) -> (Option<chrono::NaiveDate>, &str) {
    let b = name.as_bytes();
    let dated = b.len() > 11
        && b[4] == b'-'
        && b[7] == b'-'
        && (b[10] == b'-' || b[10] == b'_')
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[8..10].iter().all(u8::is_ascii_digit);
    if !dated {
        return (None, name);
    }
    match chrono::NaiveDate::parse_from_str(&name[..10], "%Y-%m-%d") {
        Ok(d) => (Some(d), &name[11..]),
        Err(_) => (None, name),
    }
}

/// A translation file's name without its language code (`post.de` → `post` for `de`), as a
/// multilingual Hugo site names them; the code compares without case. `None` when the name
/// does not end in `.<code>` or nothing is left before it.
pub fn without_language<'a>(stem: &'a str, code: &str) -> Option<&'a str> {
    let (base, lang) = stem.rsplit_once('.')?;
    (!base.is_empty() && !code.is_empty() && lang.eq_ignore_ascii_case(code)).then_some(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_language_code_is_taken_off_the_end_of_a_name() {
        assert_eq!(without_language("post.de", "de"), Some("post"));
        assert_eq!(without_language("index.PT-BR", "pt-br"), Some("index"));
        assert_eq!(without_language("node.js", "de"), None);
        assert_eq!(without_language("post", "de"), None);
        assert_eq!(without_language(".de", "de"), None);
        assert_eq!(without_language("a.b.de", "de"), Some("a.b"));
    }

    #[test]
    fn slugs_are_lowercase_ascii_with_hyphens() {
        assert_eq!(slugify("Héllo, Wörld!"), "hello-world");
        assert_eq!(slugify("Jekyll 3.0 Released"), "jekyll-3-0-released");
        assert_eq!(slugify("Привет мир"), "privet-mir");
        assert_eq!(slugify("  --  "), "");
    }

    #[test]
    fn file_names_keep_their_dots_unless_told_not_to() {
        assert_eq!(
            slugify_name("jekyll-sass-converter-3.0-released", true),
            "jekyll-sass-converter-3.0-released"
        );
        assert_eq!(slugify_name("Release 1.2.3!", true), "release-1.2.3");
        assert_eq!(slugify_name("a..b.", true), "a.b");
        assert_eq!(slugify_name("...", true), "");
        assert_eq!(
            slugify_name("jekyll-3.0-released", false),
            "jekyll-3-0-released"
        );
    }

    #[test]
    fn dated_names_split() {
        let (d, rest) = split_dated_name("2016-04-26-jekyll-3-1-3-released");
        assert_eq!(d.unwrap().to_string(), "2016-04-26");
        assert_eq!(rest, "jekyll-3-1-3-released");
        assert_eq!(split_dated_name("2016-13-26-x"), (None, "2016-13-26-x"));
        assert_eq!(split_dated_name("notes"), (None, "notes"));
    }
}
