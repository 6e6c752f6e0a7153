//! Sections (`sections`, migration 7): a folder of posts with a page and a feed of its own.
//! Import writes them from `_index.md` files ([`upsert`]); the post writer makes a bare one for
//! a post whose folder has none yet ([`ensure`]); builds and export read them ([`all`],
//! [`all_in`]).

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::model::Timestamp;

/// A section as it is stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Section {
    /// The folder below the content root (`blog`, `sub-blog/rust`): its key and URL.
    pub path: String,
    pub title: String,
    pub description: Option<String>,
    /// Markdown shown above the listing.
    pub content: String,
    /// Front matter bloggo does not use, kept for export (JSON object text).
    pub extra: String,
    /// The `_index.md` it was imported from.
    pub source_path: Option<String>,
    pub source_hash: Option<String>,
}

impl Section {
    /// A section without an `_index.md`: titled after its folder (`sub-blog` → "Sub blog").
    pub fn bare(path: &str) -> Section {
        Section {
            path: path.to_string(),
            title: folder_title(path),
            description: None,
            content: String::new(),
            extra: "{}".into(),
            source_path: None,
            source_hash: None,
        }
    }
}

/// The title of a section without one: its last folder, words capitalised.
pub fn folder_title(path: &str) -> String {
    let last = path.rsplit('/').next().unwrap_or(path);
    let words: Vec<String> = last
        .split(['-', '_', ' '])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_uppercase().chain(c).collect(),
                None => String::new(),
            }
        })
        .collect();
    if words.is_empty() {
        last.to_string()
    } else {
        words.join(" ")
    }
}

/// What [`upsert`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    New,
    Updated,
    Unchanged,
}

const COLUMNS: &str = "path, title, description, content, extra, source_path, source_hash";

fn row(r: &rusqlite::Row) -> rusqlite::Result<Section> {
    Ok(Section {
        path: r.get(0)?,
        title: r.get(1)?,
        description: r.get(2)?,
        content: r.get(3)?,
        extra: r.get(4)?,
        source_path: r.get(5)?,
        source_hash: r.get(6)?,
    })
}

/// Inserts the section, or updates the one at its path when it differs.
pub fn upsert(conn: &Connection, s: &Section, now: Timestamp) -> rusqlite::Result<Written> {
    let current = conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM sections WHERE path = ?1"))?
        .query_row([&s.path], row)
        .optional()?;
    let written = match current {
        Some(c) if c == *s => return Ok(Written::Unchanged),
        Some(_) => Written::Updated,
        None => Written::New,
    };
    conn.prepare_cached(&format!(
        "INSERT INTO sections ({COLUMNS}, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)
         ON CONFLICT (path) DO UPDATE SET title = excluded.title,
             description = excluded.description, content = excluded.content,
             extra = excluded.extra, source_path = excluded.source_path,
             source_hash = excluded.source_hash, updated_at = excluded.updated_at"
    ))?
    .execute(params![
        s.path,
        s.title,
        s.description,
        s.content,
        s.extra,
        s.source_path,
        s.source_hash,
        now
    ])?;
    Ok(written)
}

/// Makes a bare section at `path` unless there is one (a post's folder without `_index.md`).
pub fn ensure(conn: &Connection, path: &str, now: Timestamp) -> rusqlite::Result<()> {
    let bare = Section::bare(path);
    conn.prepare_cached(
        "INSERT OR IGNORE INTO sections (path, title, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?3)",
    )?
    .execute(params![bare.path, bare.title, now])?;
    Ok(())
}

/// Every section, by path.
pub fn all(conn: &Connection) -> rusqlite::Result<Vec<Section>> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM sections ORDER BY path"))?;
    let rows = stmt.query_map([], row)?;
    rows.collect()
}

/// Every section, by path, in a read transaction's snapshot (export reads them with its posts).
pub fn all_in(tx: &super::Tx) -> rusqlite::Result<Vec<Section>> {
    all(tx.conn())
}

/// Deletes the sections imported from a file under `scope` (a `source_path` prefix) that is
/// not in `present`: its `_index.md` is gone. Their posts leave them (`ON DELETE SET NULL`).
/// Returns the paths of the sections deleted.
pub fn delete_gone(
    conn: &Connection,
    scope: &str,
    present: &std::collections::HashSet<&str>,
) -> rusqlite::Result<Vec<String>> {
    let gone: Vec<(String, String)> = {
        let mut stmt = conn.prepare_cached(
            "SELECT path, source_path FROM sections WHERE source_path IS NOT NULL ORDER BY path",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<rusqlite::Result<Vec<(String, String)>>>()?
            .into_iter()
            .filter(|(_, src)| src.starts_with(scope) && !present.contains(src.as_str()))
            .collect()
    };
    let mut stmt = conn.prepare_cached("DELETE FROM sections WHERE path = ?1")?;
    for (path, _) in &gone {
        stmt.execute([path])?;
    }
    Ok(gone.into_iter().map(|(p, _)| p).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn a_section_is_written_once_and_its_posts_leave_it_when_it_goes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.sqlite"), true).unwrap();
        let conn = &store.conn;
        let now: Timestamp = "2024-01-01 00:00:00".parse().unwrap();
        let s = Section {
            title: "Sub blog".into(),
            description: Some("Another blog".into()),
            source_path: Some("/x/content/sub-blog/_index.md".into()),
            source_hash: Some("h".into()),
            ..Section::bare("sub-blog")
        };
        assert_eq!(upsert(conn, &s, now).unwrap(), Written::New);
        assert_eq!(upsert(conn, &s, now).unwrap(), Written::Unchanged);
        let changed = Section {
            title: "Sub".into(),
            ..s.clone()
        };
        assert_eq!(upsert(conn, &changed, now).unwrap(), Written::Updated);
        ensure(conn, "sub-blog", now).unwrap();
        ensure(conn, "notes/rust", now).unwrap();
        let titles: Vec<(String, String)> = all(conn)
            .unwrap()
            .into_iter()
            .map(|s| (s.path, s.title))
            .collect();
        assert_eq!(
            titles,
            [
                ("notes/rust".to_string(), "Rust".to_string()),
                ("sub-blog".into(), "Sub".into())
            ]
        );
        conn.execute(
            "INSERT INTO posts (title, slug, section) VALUES ('A', 'a', 'sub-blog')",
            [],
        )
        .unwrap();
        let gone = delete_gone(conn, "/x/content/", &Default::default()).unwrap();
        assert_eq!(gone, ["sub-blog"]);
        let section: Option<String> = conn
            .query_row("SELECT section FROM posts", [], |r| r.get(0))
            .unwrap();
        assert_eq!(section, None);
        assert_eq!(folder_title("my_notes-2024"), "My Notes 2024");
    }
}
