//! `bloggo post ...`: find, write, publish, version and review posts.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use serde_json::json;

use super::user::{open_store, ActAs};
use super::Ctx;
use crate::config::Settings;
use crate::export::{self, Format};
use crate::model::{AuthorRef, CategoryPath, PostFields, PostStatus, Timestamp, VersionStatus};
use crate::store::content::access::{self, PostAction};
use crate::store::content::posts::{self, Post};
use crate::store::content::users::{self, User};
use crate::store::content::{audit, taxonomy, versions, Permission};

#[derive(Debug, clap::Subcommand)]
pub enum Args {
    /// List posts (newest first): id, slug, title, status, published date, views.
    #[command(
        after_help = "Examples:\n  bloggo post list --status draft\n  bloggo post list --tag rust --category tech --author ada@example.org\n  bloggo post list --deleted"
    )]
    List(ListArgs),
    /// Show a post as markdown with front matter, then its versions and stats.
    #[command(after_help = "Example:\n  bloggo post show hello-world")]
    Show { slug: String },
    /// Create a draft (and its file in content/ when the site syncs one); opens $EDITOR
    /// when run on a terminal.
    #[command(
        after_help = "Example:\n  bloggo post new \"Hello, world\" --category Tech/Rust --tag intro --tag rust"
    )]
    New {
        title: String,
        /// A category path (`Parent/Child`); repeat for several. Created when missing.
        #[arg(long = "category", value_name = "PATH")]
        categories: Vec<String>,
        /// A tag; repeat for several. Created when missing.
        #[arg(long = "tag", value_name = "NAME")]
        tags: Vec<String>,
        /// The slug (default: from the title).
        #[arg(long)]
        slug: Option<String>,
        /// Do not open $EDITOR even on a terminal.
        #[arg(long)]
        no_edit: bool,
        #[command(flatten)]
        act: ActAs,
    },
    /// Edit a post in $EDITOR as markdown with front matter; saved only when it parses.
    #[command(after_help = "Example:\n  EDITOR=nano bloggo post edit hello-world")]
    Edit {
        slug: String,
        #[command(flatten)]
        act: ActAs,
    },
    /// Publish now, or schedule with --at.
    #[command(
        after_help = "Examples:\n  bloggo post publish hello-world\n  bloggo post publish hello-world --at \"2030-01-01 09:00\"\n  bloggo post publish hello-world --at 2030-01-01T09:00:00+01:00"
    )]
    Publish {
        slug: String,
        /// RFC 3339, or `YYYY-MM-DD HH:MM` in the site's time zone. A future time schedules.
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
        #[command(flatten)]
        act: ActAs,
    },
    /// Back to draft (the post leaves the site at the next build).
    #[command(after_help = "Example:\n  bloggo post unpublish hello-world")]
    Unpublish {
        slug: String,
        #[command(flatten)]
        act: ActAs,
    },
    /// Archive a post.
    #[command(after_help = "Example:\n  bloggo post archive hello-world")]
    Archive {
        slug: String,
        #[command(flatten)]
        act: ActAs,
    },
    /// Soft-delete a post (`restore` brings it back; `purge` removes it for good).
    #[command(after_help = "Example:\n  bloggo post delete hello-world")]
    Delete {
        slug: String,
        #[command(flatten)]
        act: ActAs,
    },
    /// Undelete a soft-deleted post.
    #[command(after_help = "Example:\n  bloggo post restore hello-world")]
    Restore {
        slug: String,
        #[command(flatten)]
        act: ActAs,
    },
    /// Physically delete posts soft-deleted longer ago than --older-than.
    #[command(
        after_help = "Examples:\n  bloggo post purge --older-than 30d\n  bloggo post purge --older-than 0s --yes   # in scripts"
    )]
    Purge {
        #[arg(long, default_value = "30d", value_name = "DURATION")]
        older_than: String,
        /// Do not ask for confirmation (needed when not on a terminal).
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        act: ActAs,
    },
    /// The versions of a post, with +added/-removed lines against the one before.
    #[command(after_help = "Example:\n  bloggo post history hello-world")]
    History { slug: String },
    /// A unified diff between two versions (V2 defaults to the current post).
    #[command(
        after_help = "Examples:\n  bloggo post diff hello-world 1\n  bloggo post diff hello-world 1 3"
    )]
    Diff {
        slug: String,
        v1: i64,
        v2: Option<i64>,
    },
    /// Make a version current again (recorded as a new version).
    #[command(after_help = "Example:\n  bloggo post revert hello-world --to 2")]
    Revert {
        slug: String,
        #[arg(long, value_name = "V")]
        to: i64,
        #[command(flatten)]
        act: ActAs,
    },
    /// Submit a post for review (status pending).
    #[command(after_help = "Example:\n  bloggo post submit hello-world --as author@example.org")]
    Submit {
        slug: String,
        #[command(flatten)]
        act: ActAs,
    },
    /// Approve a pending post: its version is marked approved and the post published.
    #[command(after_help = "Example:\n  bloggo post approve hello-world --by editor@example.org")]
    Approve {
        slug: String,
        /// The reviewer: the acting user (needs posts.publish). May repeat --as or
        /// BLOGGO_USER, never name someone else; alone, it names the acting user.
        #[arg(long, value_name = "EMAIL")]
        by: Option<String>,
        #[command(flatten)]
        act: ActAs,
    },
    /// Reject a pending post: its version is marked rejected and the post goes back to draft.
    #[command(after_help = "Example:\n  bloggo post reject hello-world --by editor@example.org")]
    Reject {
        slug: String,
        /// The reviewer: the acting user, as for approve.
        #[arg(long, value_name = "EMAIL")]
        by: Option<String>,
        #[command(flatten)]
        act: ActAs,
    },
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// draft, pending, published, archived or scheduled.
    #[arg(long)]
    status: Option<String>,
    /// A tag slug or name.
    #[arg(long)]
    tag: Option<String>,
    /// A category slug or path; posts in its subcategories count too.
    #[arg(long)]
    category: Option<String>,
    /// An author's email, name or slug.
    #[arg(long)]
    author: Option<String>,
    /// Only soft-deleted posts.
    #[arg(long)]
    deleted: bool,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<ExitCode> {
    let (settings, mut store) = open_store(ctx)?;
    let conn = &mut store.conn;
    let mut out = std::io::stdout().lock();
    let say = |out: &mut std::io::StdoutLock, msg: String| -> Result<()> {
        if !ctx.quiet {
            writeln!(out, "{msg}")?;
        }
        Ok(())
    };
    match args {
        Args::List(a) => list(conn, &settings, &a, &mut out)?,
        Args::Show { slug } => show(conn, &settings, &slug, &mut out)?,
        Args::New {
            title,
            categories,
            tags,
            slug,
            no_edit,
            act,
        } => {
            let post = new_post(conn, &settings, &title, slug, &categories, &tags, &act)?;
            let interactive = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
            say(&mut out, format!("created the draft {}", post.slug))?;
            if let Some(p) = &post.source_path {
                say(
                    &mut out,
                    format!("  file: {}", settings.root.join(p).display()),
                )?;
            }
            if interactive && !no_edit && editor().is_some() {
                drop(out);
                edit(conn, &settings, &post.slug, &act, ctx.quiet)?;
            }
        }
        Args::Edit { slug, act } => {
            drop(out);
            edit(conn, &settings, &slug, &act, ctx.quiet)?;
        }
        Args::Publish { slug, at, act } => {
            let msg = publish(conn, &settings, &slug, at.as_deref(), &act)?;
            say(&mut out, msg)?;
        }
        Args::Unpublish { slug, act } => {
            set_status(
                conn,
                &settings,
                &slug,
                PostStatus::Draft,
                PostAction::Unpublish,
                &act,
            )?;
            say(&mut out, format!("{slug} is a draft again"))?;
        }
        Args::Archive { slug, act } => {
            set_status(
                conn,
                &settings,
                &slug,
                PostStatus::Archived,
                PostAction::Archive,
                &act,
            )?;
            say(&mut out, format!("archived {slug}"))?;
        }
        Args::Delete { slug, act } => {
            soft_delete(conn, &settings, &slug, true, &act)?;
            say(
                &mut out,
                format!("deleted {slug} (`bloggo post restore {slug}` undoes it)"),
            )?;
        }
        Args::Restore { slug, act } => {
            soft_delete(conn, &settings, &slug, false, &act)?;
            say(&mut out, format!("restored {slug}"))?;
        }
        Args::Purge {
            older_than,
            yes,
            act,
        } => {
            let n = purge(conn, &settings, &older_than, yes, &act, &mut out)?;
            say(&mut out, format!("purged {n} post(s)"))?;
        }
        Args::History { slug } => history(conn, &slug, &mut out)?,
        Args::Diff { slug, v1, v2 } => diff(conn, &slug, v1, v2, &mut out)?,
        Args::Revert { slug, to, act } => {
            let v = revert(conn, &settings, &slug, to, &act)?;
            say(
                &mut out,
                format!("{slug} is back to version {to} (recorded as version {v})"),
            )?;
        }
        Args::Submit { slug, act } => {
            let v = review(conn, &settings, &slug, Review::Submit, None, &act)?;
            say(&mut out, format!("{slug} (version {v}) is pending review"))?;
        }
        Args::Approve { slug, by, act } => {
            let v = review(conn, &settings, &slug, Review::Approve, by, &act)?;
            say(
                &mut out,
                format!("approved version {v} of {slug}; it is published"),
            )?;
        }
        Args::Reject { slug, by, act } => {
            let v = review(conn, &settings, &slug, Review::Reject, by, &act)?;
            say(
                &mut out,
                format!("rejected version {v} of {slug}; it is a draft again"),
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The status a listing shows: `scheduled` for a published post with a future date.
fn shown_status(status: PostStatus, published_at: Option<Timestamp>, now: Timestamp) -> String {
    match published_at {
        Some(d) if status == PostStatus::Published && d > now => "scheduled".into(),
        _ => status.as_str().into(),
    }
}

fn list(
    conn: &rusqlite::Connection,
    settings: &Settings,
    a: &ListArgs,
    out: &mut impl Write,
) -> Result<()> {
    let now = Timestamp::now();
    let filter = posts::Filter {
        status: a.status.clone(),
        tag: a
            .tag
            .as_deref()
            .map(|t| taxonomy::tag(conn, t).map(|t| t.id))
            .transpose()?,
        category: a
            .category
            .as_deref()
            .map(|c| taxonomy::category(conn, c).map(|c| c.id))
            .transpose()?,
        author: match a.author.as_deref() {
            Some(who) => Some(
                users::find(conn, who)?
                    .ok_or_else(|| {
                        anyhow::anyhow!("no user with email, name or slug {who:?}; `bloggo user list` shows them")
                    })?
                    .id,
            ),
            None => None,
        },
        deleted: a.deleted,
    };
    let rows = posts::list(conn, &filter, now)?;
    let title_w = rows
        .iter()
        .map(|r| r.title.chars().count().min(48))
        .max()
        .unwrap_or(5)
        .max(5);
    let slug_w = rows
        .iter()
        .map(|r| r.slug.len().min(40))
        .max()
        .unwrap_or(4)
        .max(4);
    writeln!(
        out,
        "{:>5}  {:<slug_w$}  {:<title_w$}  {:<9}  {:<22}  {:>6}",
        "id", "slug", "title", "status", "published", "views"
    )?;
    for r in &rows {
        let title: String = if r.title.chars().count() > 48 {
            r.title.chars().take(47).chain(['…']).collect()
        } else {
            r.title.clone()
        };
        writeln!(
            out,
            "{:>5}  {:<slug_w$}  {:<title_w$}  {:<9}  {:<22}  {:>6}",
            r.id,
            r.slug,
            title,
            shown_status(r.status, r.published_at, now),
            r.published_at
                .map(|d| local_minutes(d, &settings.timezone))
                .unwrap_or_else(|| "-".into()),
            r.views
        )?;
    }
    Ok(())
}

/// `2024-05-01 10:00 +02:00`: a store timestamp in the site's zone, to the minute.
fn local_minutes(ts: Timestamp, tz: &crate::config::Timezone) -> String {
    export::in_zone(ts, tz)
        .format("%Y-%m-%d %H:%M %:z")
        .to_string()
}

fn show(
    conn: &rusqlite::Connection,
    settings: &Settings,
    slug: &str,
    out: &mut impl Write,
) -> Result<()> {
    let post = posts::by_slug(conn, slug)?;
    let now = Timestamp::now();
    write!(
        out,
        "{}",
        export::document(&post, &settings.timezone, Format::Plain)?
    )?;
    writeln!(out, "\n-- versions --")?;
    write_history(conn, &post, out)?;
    writeln!(out, "\n-- stats --")?;
    writeln!(
        out,
        "status:    {}",
        shown_status(post.status, post.published_at, now)
    )?;
    writeln!(out, "views:     {}", post.view_count)?;
    if let Some(st) = posts::stats(conn, post.id)? {
        writeln!(
            out,
            "devices:   {} desktop, {} mobile, {} tablet",
            st.desktop_views, st.mobile_views, st.tablet_views
        )?;
        if let Some(at) = &st.last_viewed_at {
            writeln!(out, "last view: {at}")?;
        }
    }
    writeln!(out, "read time: {} min", post.read_time)?;
    writeln!(out, "created:   {}", post.created_at)?;
    writeln!(out, "updated:   {}", post.updated_at)?;
    if let Some(d) = &post.deleted_at {
        writeln!(out, "deleted:   {d}")?;
    }
    if let Some(p) = &post.source_path {
        writeln!(out, "source:    {p}")?;
    }
    for f in &post.files {
        writeln!(
            out,
            "media:     {} ({} bytes, {})",
            f.file_path, f.file_size, f.mime_type
        )?;
    }
    Ok(())
}

/// Minutes to read a body at the site's reading speed.
fn read_time(settings: &Settings, content: &str) -> i64 {
    let words = crate::markdown::word_count(content) as i64;
    let wpm = i64::from(settings.config.content.words_per_minute.max(1));
    (words + wpm - 1) / wpm
}

/// What `bloggo import` keeps in `posts.source_path` for a file: its path relative to the
/// site folder when inside it (`content/hello.md`), else its absolute path.
fn source_key(settings: &Settings, file: &Path) -> Result<String> {
    let site = std::fs::canonicalize(&settings.root)
        .with_context(|| format!("{}: cannot read", settings.root.display()))?;
    let dir = file.parent().unwrap_or(Path::new("."));
    let abs = std::fs::canonicalize(dir)
        .with_context(|| format!("{}: cannot read", dir.display()))?
        .join(file.file_name().unwrap_or_default());
    Ok(match abs.strip_prefix(&site) {
        Ok(rel) => rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/"),
        Err(_) => abs.to_string_lossy().into_owned(),
    })
}

/// Where a post's `source_path` is inside `content/`: the file and its path there. None for
/// a post imported from another folder (it is never written back there).
fn in_content(settings: &Settings, source_path: &str) -> Option<(PathBuf, PathBuf)> {
    let site = std::fs::canonicalize(&settings.root).ok()?;
    let content = std::fs::canonicalize(&settings.content).ok()?;
    let file = site.join(source_path);
    let rel = file.strip_prefix(&content).ok()?.to_path_buf();
    let trashed = rel
        .components()
        .next()
        .is_some_and(|c| c.as_os_str() == TRASH);
    (!trashed).then_some((file, rel))
}

/// The existing file in `content/` a post's `source_path` names.
fn content_file(settings: &Settings, source_path: &str) -> Option<PathBuf> {
    in_content(settings, source_path)
        .map(|(file, _)| file)
        .filter(|f| f.is_file())
}

/// The hidden folder of `content/` (sync skips it) where a deleted post's file waits, so a
/// sync does not bring the post back; `restore` moves it home, `purge` removes it.
const TRASH: &str = ".trash";

fn trash_path(settings: &Settings, rel: &Path) -> PathBuf {
    settings.content.join(TRASH).join(rel)
}

fn move_file(from: &Path, to: &Path) -> Result<()> {
    if let Some(d) = to.parent() {
        std::fs::create_dir_all(d).with_context(|| format!("{}: cannot create", d.display()))?;
    }
    std::fs::rename(from, to)
        .with_context(|| format!("moving {} to {}", from.display(), to.display()))
}

/// Writes a post's document to a file (atomically) and records it as the post's source,
/// with the SHA-256 of its bytes, so the next sync sees an unchanged file.
fn write_source_file(
    conn: &rusqlite::Connection,
    settings: &Settings,
    post_id: i64,
    path: &Path,
) -> Result<()> {
    let post = posts::load(conn, post_id)?;
    let text = export::document(&post, &settings.timezone, Format::Plain)?;
    crate::fsx::write_atomic(path, text.as_bytes(), crate::fsx::Durability::Atomic)
        .with_context(|| format!("{}: cannot write", path.display()))?;
    let key = source_key(settings, path)?;
    posts::set_source(
        conn,
        post_id,
        &key,
        &crate::fsx::sha256_hex(text.as_bytes()),
    )
}

/// Keeps a synced post's file in `content/` in step with the store after a change.
fn sync_source_file(conn: &rusqlite::Connection, settings: &Settings, post_id: i64) -> Result<()> {
    if !settings.config.content.sync {
        return Ok(());
    }
    let source = posts::load(conn, post_id)?.source_path;
    if let Some(file) = source.and_then(|s| content_file(settings, &s)) {
        write_source_file(conn, settings, post_id, &file)?;
    }
    Ok(())
}

fn new_post(
    conn: &mut rusqlite::Connection,
    settings: &Settings,
    title: &str,
    slug: Option<String>,
    categories: &[String],
    tags: &[String],
    act: &ActAs,
) -> Result<Post> {
    let tx = conn.transaction()?;
    let actor = act.require(&tx, Permission::PostsCreate, "create posts")?;
    if title.trim().is_empty() {
        bail!("a post needs a title");
    }
    let slug = match slug {
        Some(s) => {
            let s = slug::slugify(&s);
            if posts::id_of(&tx, &s).is_ok() {
                bail!("a post with the slug {s:?} already exists; pick another --slug");
            }
            s
        }
        None => posts::free_slug(&tx, title)?,
    };
    let fields = PostFields {
        title: title.to_string(),
        slug: slug.clone(),
        categories: categories
            .iter()
            .map(|c| CategoryPath::from(c.as_str()))
            .collect(),
        tags: tags.to_vec(),
        ..PostFields::default()
    };
    let id = posts::create(&tx, &fields, actor.id)?;
    versions::record_change(&tx, id, actor.id)?;
    audit::write(
        &tx,
        actor.id,
        "post.create",
        "post",
        Some(id),
        None,
        Some(&json!({"title": title.trim(), "slug": slug, "categories": categories, "tags": tags})),
    )?;
    let mut written = None;
    if settings.config.content.sync {
        let path = settings.content.join(format!("{slug}.md"));
        if path.exists() {
            bail!(
                "{}: a file with this name already exists in content/; import it, or pick another --slug",
                path.display()
            );
        }
        write_source_file(&tx, settings, id, &path)?;
        written = Some(path);
    }
    if let Err(e) = tx.commit() {
        if let Some(p) = written {
            let _ = std::fs::remove_file(p);
        }
        return Err(e.into());
    }
    posts::load(conn, id)
}

/// `$VISUAL` or `$EDITOR`.
fn editor() -> Option<String> {
    ["VISUAL", "EDITOR"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
}

/// Runs the editor on a file (through the shell, so `EDITOR="code --wait"` works).
fn run_editor(editor: &str, path: &Path) -> Result<()> {
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(path)
        .status()
        .with_context(|| format!("starting the editor {editor:?}"))?;
    if !status.success() {
        bail!("the editor {editor:?} exited with {status}");
    }
    Ok(())
}

/// Asks a yes/no question on the terminal.
fn confirm(question: &str, default: bool) -> Result<bool> {
    eprint!("{question} [{}] ", if default { "Y/n" } else { "y/N" });
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(match line.trim().to_ascii_lowercase().as_str() {
        "" => default,
        a => a.starts_with('y'),
    })
}

/// The edit loop: the post as a document in $EDITOR, parsed and saved in one transaction.
/// A document that does not parse or apply saves nothing: on a terminal the writer may
/// reopen it; otherwise the command fails and the text is kept in a file it names.
fn edit(
    conn: &mut rusqlite::Connection,
    settings: &Settings,
    slug: &str,
    act: &ActAs,
    quiet: bool,
) -> Result<()> {
    let editor = editor().ok_or_else(|| {
        anyhow::anyhow!(
            "set $EDITOR (or $VISUAL) to your editor, e.g. EDITOR=nano bloggo post edit {slug}"
        )
    })?;
    let post = live_post(conn, slug)?;
    // Refused before the editor opens, so nobody writes an edit that cannot be saved.
    access::check(conn, &act.user(conn)?, PostAction::Edit, &post)?;
    let original = export::document(&post, &settings.timezone, Format::Plain)?;
    let file = tempfile::Builder::new()
        .prefix(&format!("bloggo-{}-", post.slug))
        .suffix(".md")
        .tempfile()
        .context("creating a temporary file for the editor")?;
    std::fs::write(file.path(), &original)
        .with_context(|| format!("{}: cannot write", file.path().display()))?;
    let interactive = std::io::stdin().is_terminal();
    loop {
        run_editor(&editor, file.path())?;
        let text = std::fs::read_to_string(file.path())
            .with_context(|| format!("{}: cannot read the edited text", file.path().display()))?;
        if text == original {
            if !quiet {
                println!("no changes to {slug}");
            }
            return Ok(());
        }
        match save_edit(conn, settings, &post, &text, act) {
            Ok(summary) => {
                if !quiet {
                    println!("saved {slug}: {summary}");
                }
                return Ok(());
            }
            Err(e) if interactive => {
                eprintln!("error: {e:#}");
                if !confirm("nothing was saved; reopen the editor?", true)? {
                    let kept = keep(file)?;
                    bail!(
                        "edit abandoned; nothing was saved (your text is in {})",
                        kept.display()
                    );
                }
            }
            Err(e) => {
                let kept = keep(file)?;
                return Err(e.context(format!(
                    "nothing was saved; your text is in {}",
                    kept.display()
                )));
            }
        }
    }
}

fn keep(file: tempfile::NamedTempFile) -> Result<PathBuf> {
    let (_, path) = file.keep().context("keeping the edited text")?;
    Ok(path)
}

/// Reads an edited document with import's own parser, so an edit means exactly what the
/// same text in a `content/` file means to sync. Returns the post state, the author named
/// and the read time.
fn read_document(
    settings: &Settings,
    before: &Post,
    text: &str,
) -> Result<(PostFields, Option<AuthorRef>)> {
    let ctx = crate::import::ParseContext::for_site(settings);
    let p = crate::import::parse_file(&format!("{}.md", before.slug), text.as_bytes(), &ctx)
        .map_err(|problems| {
            let lines: Vec<String> = problems
                .iter()
                .map(|p| match p.line {
                    Some(l) => format!("line {l}: {}", p.message),
                    None => p.message.clone(),
                })
                .collect();
            anyhow::anyhow!("the edited post: {}", lines.join("; "))
        })?;
    let author = p.fields.authors.first().cloned();
    Ok((p.fields, author))
}

/// Parses an edited document and applies it, all or nothing. Returns what changed.
fn save_edit(
    conn: &mut rusqlite::Connection,
    settings: &Settings,
    before: &Post,
    text: &str,
    act: &ActAs,
) -> Result<String> {
    let (edit, author) = read_document(settings, before, text)?;
    let tx = conn.transaction()?;
    // The post may have changed while the editor was open: refuse to overwrite that.
    let now_post = posts::load(&tx, before.id)?;
    if now_post.updated_at != before.updated_at {
        bail!(
            "{} changed in the store while you were editing; edit it again",
            before.slug
        );
    }
    let old = &before.fields;
    let actor = act.user(&tx)?;
    access::check(&tx, &actor, PostAction::Edit, &now_post)?;
    if edit.status != old.status || edit.published_at != old.published_at {
        access::check(&tx, &actor, PostAction::ChangeStatus, &now_post)?;
    }
    let mut changed = changed_fields(old, &edit);
    let author_id = match author {
        Some(a)
            if before
                .author
                .as_ref()
                .is_none_or(|b| b.name != a.name && Some(&b.email) != a.email.as_ref()) =>
        {
            let known = match &a.email {
                Some(e) => users::find(&tx, e)?,
                None => None,
            };
            let u = match known {
                Some(u) => u,
                None => users::find(&tx, &a.name)?.ok_or_else(|| {
                    anyhow::anyhow!(
                        "the edited post: no user named {:?}; add them with `bloggo user add`",
                        a.name
                    )
                })?,
            };
            access::check_reassign(&tx, &actor, &now_post, &u)?;
            changed.push("author");
            Some(u.id)
        }
        _ => None,
    };
    if changed.is_empty() {
        return Ok("nothing changed".into());
    }
    versions::keep_before_change(&tx, before.id)?;
    let author_id = author_id.or(now_post.author.as_ref().map(|a| a.id));
    posts::apply(&tx, &now_post, &edit, author_id)?;
    let v = versions::record_change(&tx, before.id, actor.id)?;
    audit::write(
        &tx,
        actor.id,
        "post.edit",
        "post",
        Some(before.id),
        None,
        Some(&json!({"slug": edit.slug, "changed": changed, "version": v})),
    )?;
    sync_source_file(&tx, settings, before.id)?;
    tx.commit()?;
    Ok(changed.join(", "))
}

fn changed_fields(a: &PostFields, b: &PostFields) -> Vec<&'static str> {
    let mut c = Vec::new();
    let mut check = |name: &'static str, same: bool| {
        if !same {
            c.push(name);
        }
    };
    check("title", a.title == b.title);
    check("subtitle", a.subtitle == b.subtitle);
    check("slug", a.slug == b.slug);
    check("body", a.content == b.content);
    check("excerpt", a.excerpt == b.excerpt);
    check("cover", a.cover_image == b.cover_image);
    check("status", a.status == b.status);
    check("date", a.published_at == b.published_at);
    check("updated", a.modified_at == b.modified_at);
    check("extra", a.extra == b.extra);
    check("categories", a.categories == b.categories);
    check("tags", a.tags == b.tags);
    check("aliases", a.aliases == b.aliases);
    c
}

/// Loads a post for a change: refuses a soft-deleted one.
fn live_post(conn: &rusqlite::Connection, slug: &str) -> Result<Post> {
    let post = posts::by_slug(conn, slug)?;
    if post.deleted_at.is_some() {
        bail!("{slug} is deleted; `bloggo post restore {slug}` first");
    }
    Ok(post)
}

fn status_json(p: &Post) -> serde_json::Value {
    json!({"status": p.status.as_str(), "published_at": p.published_at})
}

fn publish(
    conn: &mut rusqlite::Connection,
    settings: &Settings,
    slug: &str,
    at: Option<&str>,
    act: &ActAs,
) -> Result<String> {
    let tx = conn.transaction()?;
    let actor = act.user(&tx)?;
    let post = live_post(&tx, slug)?;
    access::check(&tx, &actor, PostAction::Publish, &post)?;
    let now = Timestamp::now();
    let when = match at {
        Some(t) => export::parse_time(t, &settings.timezone)?,
        // Keep a date the post already has in the past; otherwise now.
        None => match post.published_at {
            Some(d) if d <= now => d,
            _ => now,
        },
    };
    posts::set_status(&tx, post.id, PostStatus::Published, Some(when))?;
    let after = posts::load(&tx, post.id)?;
    let action = if when > now {
        "post.schedule"
    } else {
        "post.publish"
    };
    audit::write(
        &tx,
        actor.id,
        action,
        "post",
        Some(post.id),
        Some(&status_json(&post)),
        Some(&status_json(&after)),
    )?;
    sync_source_file(&tx, settings, post.id)?;
    tx.commit()?;
    Ok(if when > now {
        format!(
            "scheduled {slug} for {}",
            export::show_time(when, &settings.timezone)
        )
    } else {
        format!("published {slug}")
    })
}

fn set_status(
    conn: &mut rusqlite::Connection,
    settings: &Settings,
    slug: &str,
    status: PostStatus,
    action: PostAction,
    act: &ActAs,
) -> Result<()> {
    let tx = conn.transaction()?;
    let actor = act.user(&tx)?;
    let post = live_post(&tx, slug)?;
    access::check(&tx, &actor, action, &post)?;
    posts::set_status(&tx, post.id, status, post.published_at)?;
    let after = posts::load(&tx, post.id)?;
    audit::write(
        &tx,
        actor.id,
        &format!("post.{}", action.verb()),
        "post",
        Some(post.id),
        Some(&status_json(&post)),
        Some(&status_json(&after)),
    )?;
    sync_source_file(&tx, settings, post.id)?;
    tx.commit()?;
    Ok(())
}

fn soft_delete(
    conn: &mut rusqlite::Connection,
    settings: &Settings,
    slug: &str,
    delete: bool,
    act: &ActAs,
) -> Result<()> {
    let tx = conn.transaction()?;
    let action = if delete {
        PostAction::Delete
    } else {
        PostAction::Restore
    };
    let verb = action.verb();
    let actor = act.user(&tx)?;
    let post = posts::by_slug(&tx, slug)?;
    access::check(&tx, &actor, action, &post)?;
    match (delete, &post.deleted_at) {
        (true, Some(d)) => bail!("{slug} was already deleted at {d}"),
        (false, None) => bail!("{slug} is not deleted"),
        _ => {}
    }
    let now = Timestamp::now();
    posts::set_deleted(&tx, post.id, delete.then_some(now))?;
    // A synced post's file goes to (or comes back from) content/.trash.
    let moved = match post
        .source_path
        .as_deref()
        .and_then(|s| in_content(settings, s))
    {
        Some((file, rel)) if settings.config.content.sync => {
            let trash = trash_path(settings, &rel);
            let (from, to) = if delete { (file, trash) } else { (trash, file) };
            if !delete && to.exists() {
                bail!(
                    "{} exists again; the next sync brings the post back from it (or remove that file and restore)",
                    to.display()
                );
            }
            if from.is_file() {
                move_file(&from, &to)?;
                Some((from, to))
            } else {
                None
            }
        }
        _ => None,
    };
    audit::write(
        &tx,
        actor.id,
        &format!("post.{verb}"),
        "post",
        Some(post.id),
        Some(&json!({"deleted_at": post.deleted_at})),
        Some(&json!({"deleted_at": delete.then_some(now)})),
    )?;
    if let Err(e) = tx.commit() {
        if let Some((from, to)) = moved {
            let _ = std::fs::rename(to, from);
        }
        return Err(e.into());
    }
    Ok(())
}

fn purge(
    conn: &mut rusqlite::Connection,
    settings: &Settings,
    older_than: &str,
    yes: bool,
    act: &ActAs,
    out: &mut impl Write,
) -> Result<usize> {
    let age = crate::config::parse_duration(older_than).context("--older-than")?;
    let cutoff = Timestamp::from(
        chrono::Utc::now() - chrono::Duration::from_std(age).context("--older-than is too long")?,
    );
    let tx = conn.transaction()?;
    let actor = act.require(&tx, Permission::PostsDelete, "purge posts")?;
    let doomed = posts::purgeable(&tx, cutoff)?;
    if doomed.is_empty() {
        return Ok(0);
    }
    for (id, ..) in &doomed {
        access::check(&tx, &actor, PostAction::Purge, &posts::load(&tx, *id)?)?;
    }
    for (_, slug, title, deleted_at) in &doomed {
        writeln!(out, "  {slug}  {title}  (deleted {deleted_at})")?;
    }
    if !yes {
        if !std::io::stdin().is_terminal() {
            bail!(
                "{} post(s) would be removed for good; pass --yes to confirm",
                doomed.len()
            );
        }
        if !confirm(
            &format!("remove these {} post(s) for good?", doomed.len()),
            false,
        )? {
            bail!("nothing was purged");
        }
    }
    let mut files = Vec::new();
    let mut media = Vec::new();
    for (id, slug, title, deleted_at) in &doomed {
        let post = posts::load(&tx, *id)?;
        // A synced post's unchanged file would bring it back at the next sync.
        if let (Some(source), Some(hash)) = (&post.source_path, &post.source_hash) {
            if let Some((file, rel)) = in_content(settings, source) {
                for path in [file, trash_path(settings, &rel)] {
                    if std::fs::read(&path).is_ok_and(|b| crate::fsx::sha256_hex(&b) == *hash) {
                        files.push(path);
                    }
                }
            }
        }
        media.extend(posts::purge(&tx, *id)?);
        audit::write(
            &tx,
            actor.id,
            "post.purge",
            "post",
            Some(*id),
            Some(&json!({"slug": slug, "title": title, "deleted_at": deleted_at})),
            None,
        )?;
    }
    tx.commit()?;
    for f in files {
        std::fs::remove_file(&f).with_context(|| {
            format!(
                "{}: the post was purged but its file could not be removed",
                f.display()
            )
        })?;
    }
    remove_media(settings, &media)?;
    Ok(doomed.len())
}

/// Removes the bytes of purged media (site-relative paths from the store), only inside the
/// site's media folder, and the folders they leave empty there.
fn remove_media(settings: &Settings, media: &[String]) -> Result<()> {
    let Ok(root) = settings.media.canonicalize() else {
        return Ok(()); // no media folder: nothing to remove
    };
    for rel in media {
        let Ok(path) = settings.root.join(rel).canonicalize() else {
            continue; // already gone
        };
        if !path.starts_with(&root) || !path.is_file() {
            continue;
        }
        std::fs::remove_file(&path).with_context(|| {
            format!(
                "{}: the post was purged but its media file could not be removed; remove it by hand",
                path.display()
            )
        })?;
        let mut dir = path.parent();
        while let Some(d) = dir.filter(|d| *d != root && d.starts_with(&root)) {
            if std::fs::remove_dir(d).is_err() {
                break; // not empty
            }
            dir = d.parent();
        }
    }
    Ok(())
}

fn write_history(conn: &rusqlite::Connection, post: &Post, out: &mut impl Write) -> Result<()> {
    let all = versions::list(conn, post.id)?;
    let current = versions::current(conn, post.id)?;
    let mut prev_content = String::new();
    let mut prev_title: Option<String> = None;
    for v in &all {
        let (add, del) = versions::line_changes(&prev_content, &v.content);
        let title_note = match &prev_title {
            Some(t) if *t != v.title => format!("  title: {:?}", v.title),
            _ => String::new(),
        };
        let review = match (&v.status, &v.approved_by) {
            (VersionStatus::Approved | VersionStatus::Rejected, Some(by)) => format!(
                "{} by {by} at {}",
                v.status.as_str(),
                v.approved_at.map_or("?".to_string(), |t| t.to_string())
            ),
            _ => v.status.as_str().to_string(),
        };
        writeln!(
            out,
            "v{:<3} {}  {:<24} +{add}/-{del}  {review}{title_note}",
            v.version,
            v.created_at,
            v.author.as_deref().unwrap_or("-"),
        )?;
        prev_content = v.content.clone();
        prev_title = Some(v.title.clone());
    }
    if all.last().map(|v| v.state()) != Some(current.clone()) {
        let (add, del) = versions::line_changes(&prev_content, &current.content);
        writeln!(out, "current (not yet a version)  +{add}/-{del}")?;
    }
    Ok(())
}

fn history(conn: &rusqlite::Connection, slug: &str, out: &mut impl Write) -> Result<()> {
    let post = posts::by_slug(conn, slug)?;
    write_history(conn, &post, out)
}

/// The text a diff compares: the versioned fields, then the body.
fn diff_text(s: &versions::State) -> String {
    let mut t = format!("title: {}\n", s.title);
    if let Some(e) = &s.excerpt {
        t.push_str(&format!("summary: {e}\n"));
    }
    if let Some(c) = &s.cover_image {
        t.push_str(&format!("cover: {c}\n"));
    }
    t.push('\n');
    t.push_str(&s.content);
    if !t.ends_with('\n') {
        t.push('\n');
    }
    t
}

fn diff(
    conn: &rusqlite::Connection,
    slug: &str,
    v1: i64,
    v2: Option<i64>,
    out: &mut impl Write,
) -> Result<()> {
    let id = posts::id_of(conn, slug)?;
    let a = versions::get(conn, id, slug, v1)?.state();
    let (b, b_name) = match v2 {
        Some(v) => (
            versions::get(conn, id, slug, v)?.state(),
            format!("{slug} v{v}"),
        ),
        None => (versions::current(conn, id)?, format!("{slug} current")),
    };
    let (ta, tb) = (diff_text(&a), diff_text(&b));
    let d = similar::TextDiff::from_lines(&ta, &tb);
    write!(
        out,
        "{}",
        d.unified_diff()
            .context_radius(3)
            .header(&format!("{slug} v{v1}"), &b_name)
    )?;
    Ok(())
}

fn revert(
    conn: &mut rusqlite::Connection,
    settings: &Settings,
    slug: &str,
    to: i64,
    act: &ActAs,
) -> Result<i64> {
    let tx = conn.transaction()?;
    let actor = act.user(&tx)?;
    let post = live_post(&tx, slug)?;
    access::check(&tx, &actor, PostAction::Revert, &post)?;
    let target = versions::get(&tx, post.id, slug, to)?;
    if versions::current(&tx, post.id)? == target.state() {
        bail!("{slug} already has the text of version {to}; nothing to revert");
    }
    versions::keep_before_change(&tx, post.id)?;
    let mut e = target.state.applied_to(post.fields.clone());
    e.read_time = read_time(settings, &e.content);
    posts::apply(&tx, &post, &e, post.author.as_ref().map(|a| a.id))?;
    let v = versions::record_change(&tx, post.id, actor.id)?;
    audit::write(
        &tx,
        actor.id,
        "post.revert",
        "post",
        Some(post.id),
        None,
        Some(&json!({"to": to, "version": v})),
    )?;
    sync_source_file(&tx, settings, post.id)?;
    tx.commit()?;
    Ok(v)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Review {
    Submit,
    Approve,
    Reject,
}

/// Submit, approve or reject; returns the version concerned.
fn review(
    conn: &mut rusqlite::Connection,
    settings: &Settings,
    slug: &str,
    step: Review,
    by: Option<String>,
    act: &ActAs,
) -> Result<i64> {
    let tx = conn.transaction()?;
    let post = live_post(&tx, slug)?;
    let (actor, status, version_status, action): (User, _, _, _) = match step {
        Review::Submit => {
            let actor = act.user(&tx)?;
            access::check(&tx, &actor, PostAction::Submit, &post)?;
            if post.status == PostStatus::Published {
                bail!("{slug} is already published; unpublish it first to send it to review");
            }
            (
                actor,
                PostStatus::Pending,
                VersionStatus::Pending,
                "post.submit",
            )
        }
        Review::Approve | Review::Reject => {
            // The reviewer is the acting user; --by may not name someone else.
            let reviewer = access::reviewer(&tx, act.named(), by.as_deref())?;
            let action = if step == Review::Approve {
                PostAction::Approve
            } else {
                PostAction::Reject
            };
            access::check(&tx, &reviewer, action, &post)?;
            if post.status != PostStatus::Pending {
                bail!(
                    "{slug} is {}, not pending review; `bloggo post submit {slug}` first",
                    post.status
                );
            }
            if step == Review::Approve {
                (
                    reviewer,
                    PostStatus::Published,
                    VersionStatus::Approved,
                    "post.approve",
                )
            } else {
                (
                    reviewer,
                    PostStatus::Draft,
                    VersionStatus::Rejected,
                    "post.reject",
                )
            }
        }
    };
    let v = versions::keep_before_change(&tx, post.id)?;
    let reviewer = (step != Review::Submit).then_some(actor.id);
    versions::set_review(&tx, post.id, v, version_status, reviewer)?;
    let published_at = match status {
        PostStatus::Published => Some(post.published_at.unwrap_or_else(Timestamp::now)),
        _ => post.published_at,
    };
    posts::set_status(&tx, post.id, status, published_at)?;
    audit::write(
        &tx,
        actor.id,
        action,
        "post",
        Some(post.id),
        Some(&status_json(&post)),
        Some(&json!({"status": status.as_str(), "version": v, "review": version_status.as_str()})),
    )?;
    sync_source_file(&tx, settings, post.id)?;
    tx.commit()?;
    Ok(v)
}
