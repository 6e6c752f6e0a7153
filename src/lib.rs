//! bloggo: a static site generator whose content store is SQLite.
//!
//! The data flows one way: `store` (all SQL) → `snapshot` (plain structs) → `render`
//! (markdown + templates, pure, parallel) → `output` (atomic, incremental writes), run by
//! `pipeline` (`bloggo build`, and serve's rebuilds). `import`, `serve` and `backup` are
//! clients of those pieces; `content` holds the operations the content commands run (checks,
//! change, audit), and `cmd` only parses, asks and prints.

pub mod cli;
pub mod cmd;
pub mod config;
pub mod config_edit;
// The content operations (posts, review, trash, taxonomy, users) with their permission checks
// and audit; `cmd/` parses, prompts and prints around them.
pub mod content;
// A full disk told apart from other write failures (build output, backups).
pub mod disk;
// Atomic file replacement, folder sync and digests, shared below the stages.
pub mod fsx;
// The site's menu (`[[menu]]` in bloggo.toml): checked, ordered, resolved for templates.
pub mod menu;
// Byte sizes as messages and listings write them.
pub mod model;
// Post URL patterns (`[permalinks]`, a post's `path`) and where they put a post's page.
pub mod permalinks;
pub mod stats;
// The stats dashboard: one HTML page with SVG charts (`stats --html`, serve's `/_bloggo/stats`).
pub mod dashboard;
pub mod store;
pub mod tokens;
pub mod units;

// Front matter (YAML/TOML) and its dates → the model's `PostFields`.
pub mod frontmatter;
// Owned by the import work (issue 3): markdown folders → store, and content/ sync.
pub mod import;
// Owned by the build work (issue 4): store → snapshot → render → output, run by pipeline.
pub mod digest;
pub mod markdown;
pub mod output;
pub mod pipeline;
pub mod render;
pub mod snapshot;
pub mod templates;
// Access-log ingest (issue 19): `bloggo views ingest`.
pub mod ingest;
// Owned by the serve work (issue 5).
pub mod serve;
// Owned by the backup work (issue 6).
pub mod backup;
// The lock a running `bloggo serve` holds on a site (owned by the backup work; serve takes it).
pub mod lock;
// Owned by the content-management work (issue 8).
pub mod export;
// Webhooks (issue 18): events, signing, retries and the deliverer; the queue is in store/.
pub mod webhooks;

/// A shared corpus (`corpora/NAME` in `../shared` beside the repository, or beside the main
/// checkout for a worktree), for unit tests. Tests that read one are `#[ignore]`d with the
/// reason, and `.ci/run` runs them when the corpus is there; run without it, they fail saying
/// what is missing.
#[cfg(test)]
pub(crate) fn shared_corpus(name: &str) -> std::path::PathBuf {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    repo.ancestors()
        .map(|a| a.join("shared").join("corpora").join(name))
        .find(|d| d.is_dir())
        .unwrap_or_else(|| panic!("../shared/corpora/{name} is not beside the repository"))
}
