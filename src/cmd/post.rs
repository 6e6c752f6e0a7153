//! `bloggo post ...`: find, write, publish, version and review posts.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};

use super::Ctx;
use crate::config::Settings;
use crate::content::posts::read::{self, History, ListQuery};
use crate::content::posts::trash;
use crate::content::posts::write::{self, NewPost, Published, Review};
use crate::content::{open_store, ActAs};
use crate::frontmatter::dates;
use crate::frontmatter::write::{document, Format};
use crate::model::{PostKind, Timestamp, VersionStatus};
use crate::store::content::versions::{self, State};
use crate::store::Store;

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
        /// A standalone page (at /SLUG/, out of listings and feeds) instead of a post.
        #[arg(long)]
        page: bool,
        /// Put it in a section (a folder of content/ with an `_index.md`, made when missing).
        #[arg(long, value_name = "FOLDER")]
        section: Option<String>,
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
    let (settings, mut store) = open_store(&ctx.site)?;
    let store = &mut store;
    let settings = &settings;
    let mut out = std::io::stdout().lock();
    let say = |out: &mut std::io::StdoutLock, msg: String| -> Result<()> {
        if !ctx.quiet {
            writeln!(out, "{msg}")?;
        }
        Ok(())
    };
    match args {
        Args::List(a) => list(store, settings, a, &mut out)?,
        Args::Show { slug } => show(store, settings, &slug, &mut out)?,
        Args::New {
            title,
            categories,
            tags,
            slug,
            page,
            section,
            no_edit,
            act,
        } => {
            let new = NewPost {
                title,
                slug,
                categories,
                tags,
                kind: if page { PostKind::Page } else { PostKind::Post },
                section,
            };
            let post = write::create(store, settings, &act, &new)?;
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
                edit(store, settings, &post.slug, &act, ctx.quiet)?;
            }
        }
        Args::Edit { slug, act } => {
            drop(out);
            edit(store, settings, &slug, &act, ctx.quiet)?;
        }
        Args::Publish { slug, at, act } => {
            let msg = match write::publish(store, settings, &act, &slug, at.as_deref())? {
                Published::Now => format!("published {slug}"),
                Published::Scheduled(when) => format!(
                    "scheduled {slug} for {}",
                    dates::show_time(when, &settings.timezone)
                ),
            };
            say(&mut out, msg)?;
        }
        Args::Unpublish { slug, act } => {
            write::unpublish(store, settings, &act, &slug)?;
            say(&mut out, format!("{slug} is a draft again"))?;
        }
        Args::Archive { slug, act } => {
            write::archive(store, settings, &act, &slug)?;
            say(&mut out, format!("archived {slug}"))?;
        }
        Args::Delete { slug, act } => {
            trash::delete(store, settings, &act, &slug)?;
            say(
                &mut out,
                format!("deleted {slug} (`bloggo post restore {slug}` undoes it)"),
            )?;
        }
        Args::Restore { slug, act } => {
            trash::restore(store, settings, &act, &slug)?;
            say(&mut out, format!("restored {slug}"))?;
        }
        Args::Purge {
            older_than,
            yes,
            act,
        } => {
            let n = purge(store, settings, &older_than, yes, &act, &mut out)?;
            say(&mut out, format!("purged {n} post(s)"))?;
        }
        Args::History { slug } => write_history(&read::history(store, &slug)?, &mut out)?,
        Args::Diff { slug, v1, v2 } => diff(store, &slug, v1, v2, &mut out)?,
        Args::Revert { slug, to, act } => {
            let v = write::revert(store, settings, &act, &slug, to)?;
            say(
                &mut out,
                format!("{slug} is back to version {to} (recorded as version {v})"),
            )?;
        }
        Args::Submit { slug, act } => {
            let v = write::review(store, settings, &act, &slug, Review::Submit, None)?;
            say(&mut out, format!("{slug} (version {v}) is pending review"))?;
        }
        Args::Approve { slug, by, act } => {
            let v = write::review(store, settings, &act, &slug, Review::Approve, by.as_deref())?;
            say(
                &mut out,
                format!("approved version {v} of {slug}; it is published"),
            )?;
        }
        Args::Reject { slug, by, act } => {
            let v = write::review(store, settings, &act, &slug, Review::Reject, by.as_deref())?;
            say(
                &mut out,
                format!("rejected version {v} of {slug}; it is a draft again"),
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn list(store: &mut Store, settings: &Settings, a: ListArgs, out: &mut impl Write) -> Result<()> {
    let now = Timestamp::now();
    let q = ListQuery {
        status: a.status,
        tag: a.tag,
        category: a.category,
        author: a.author,
        deleted: a.deleted,
    };
    let rows = read::list(store, &q, now)?;
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
            read::shown_status(r.status, r.published_at, now),
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
    dates::in_zone(ts, tz)
        .format("%Y-%m-%d %H:%M %:z")
        .to_string()
}

fn show(store: &mut Store, settings: &Settings, slug: &str, out: &mut impl Write) -> Result<()> {
    let read::Shown {
        post,
        history,
        stats,
    } = read::show(store, slug)?;
    let now = Timestamp::now();
    write!(
        out,
        "{}",
        document(&post, &settings.timezone, Format::Plain)?
    )?;
    writeln!(out, "\n-- versions --")?;
    write_history(&history, out)?;
    writeln!(out, "\n-- stats --")?;
    writeln!(
        out,
        "status:    {}",
        read::shown_status(post.status, post.published_at, now)
    )?;
    writeln!(out, "views:     {}", post.view_count)?;
    if let Some(st) = stats {
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
    store: &mut Store,
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
    let post = write::open_for_edit(store, act, slug)?;
    let original = document(&post, &settings.timezone, Format::Plain)?;
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
        match write::save_edit(store, settings, act, &post, &text) {
            Ok(changed) => {
                if !quiet {
                    let summary = if changed.is_empty() {
                        "nothing changed".to_string()
                    } else {
                        changed.join(", ")
                    };
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

/// Lists the posts a purge would remove, asks (unless `yes`), then purges them.
fn purge(
    store: &mut Store,
    settings: &Settings,
    older_than: &str,
    yes: bool,
    act: &ActAs,
    out: &mut impl Write,
) -> Result<usize> {
    let age = crate::config::parse_duration(older_than).context("--older-than")?;
    let cutoff = crate::content::ago(age).context("--older-than is too long")?;
    let doomed = trash::plan_purge(store, act, cutoff)?;
    if doomed.is_empty() {
        return Ok(0);
    }
    for d in &doomed {
        writeln!(out, "  {}  {}  (deleted {})", d.slug, d.title, d.deleted_at)?;
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
    trash::purge(store, settings, act, cutoff, &doomed)
}

fn write_history(h: &History, out: &mut impl Write) -> Result<()> {
    let mut prev_content = String::new();
    let mut prev_title: Option<String> = None;
    for v in &h.versions {
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
    if h.versions.last().map(|v| v.state()) != Some(h.current.clone()) {
        let (add, del) = versions::line_changes(&prev_content, &h.current.content);
        writeln!(out, "current (not yet a version)  +{add}/-{del}")?;
    }
    Ok(())
}

/// The text a diff compares: the versioned fields, then the body.
fn diff_text(s: &State) -> String {
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
    store: &mut Store,
    slug: &str,
    v1: i64,
    v2: Option<i64>,
    out: &mut impl Write,
) -> Result<()> {
    let (a, b) = read::diff(store, slug, v1, v2)?;
    let b_name = match v2 {
        Some(v) => format!("{slug} v{v}"),
        None => format!("{slug} current"),
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
