//! Which served file is which post's page: the output file → post id map of the build being
//! served ([`PostPages::of`] a build's snapshot), and the lookup of a request path in it
//! ([`PostPages::post_at`]).
//!
//! Keyed by each post's output file (`Post::file`, relative to the output folder, which serve
//! serves at `/`), so a post at its own `path`, a standalone page (`kind = 'page'`), posts that
//! share a slug and patterns without `:slug` are all found; alias and moved-post redirect pages
//! are other files, so they are not in it (the page they redirect to counts).

use std::collections::HashMap;

use crate::snapshot::Snapshot;

/// A build's post and page files (relative to the output folder) and their post ids.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PostPages {
    by_file: HashMap<String, i64>,
}

impl PostPages {
    /// The pages of every post and standalone page of a build's snapshot.
    pub fn of(snap: &Snapshot) -> PostPages {
        snap.posts
            .iter()
            .map(|p| (p.file.clone(), p.row.id))
            .collect()
    }

    /// How many pages it knows.
    pub fn len(&self) -> usize {
        self.by_file.len()
    }

    /// Whether it knows no page.
    pub fn is_empty(&self) -> bool {
        self.by_file.is_empty()
    }

    /// The post whose page a request path (without its query) names: `/a/` and
    /// `/a/index.html` are the same page, segments are percent-decoded as the file lookup
    /// decodes them.
    pub fn post_at(&self, path: &str) -> Option<i64> {
        self.by_file.get(&file_of(path)?).copied()
    }
}

impl FromIterator<(String, i64)> for PostPages {
    /// Output files (relative to the output folder) and the ids of the posts they are pages of.
    fn from_iter<I: IntoIterator<Item = (String, i64)>>(files: I) -> PostPages {
        PostPages {
            by_file: files.into_iter().collect(),
        }
    }
}

/// The output file a request path names (`/a/` → `a/index.html`); `None` for a path the file
/// lookup refuses.
fn file_of(path: &str) -> Option<String> {
    let mut segs = super::files::decode_segments(path).ok()?;
    if path.ends_with('/') {
        segs.push("index.html".to_string());
    }
    Some(segs.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pages(files: &[(&str, i64)]) -> PostPages {
        files.iter().map(|(f, id)| (f.to_string(), *id)).collect()
    }

    #[test]
    fn request_paths_are_normalised_to_output_files() {
        let p = pages(&[
            ("posts/hello/index.html", 1),
            ("2024/05/01/hello.html", 2),
            ("posts/hé/index.html", 3),
            ("index.html", 4),
        ]);
        assert_eq!(p.post_at("/posts/hello/"), Some(1));
        assert_eq!(p.post_at("/posts/hello/index.html"), Some(1));
        assert_eq!(p.post_at("/posts//hello/"), Some(1));
        assert_eq!(p.post_at("/posts/hello"), None);
        assert_eq!(p.post_at("/posts/"), None);
        assert_eq!(p.post_at("/tags/hello/"), None);
        assert_eq!(p.post_at("/posts/a/b/"), None);
        assert_eq!(p.post_at("/posts/h%C3%A9/"), Some(3));
        assert_eq!(p.post_at("/2024/05/01/hello.html"), Some(2));
        assert_eq!(p.post_at("/2024/05/01/hello.html/"), None);
        assert_eq!(p.post_at("/"), Some(4));
        assert_eq!(p.post_at("/posts/%2e%2e/hello/"), None);
    }
}
