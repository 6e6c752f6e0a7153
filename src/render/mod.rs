//! Snapshot → page jobs → rendered pages. Pure: no IO, no locks, no store reads.
//!
//! Two stages, each a type, so a page cannot be rendered before what it needs is there:
//! - [`Planner`] (`fingerprint.rs`): the digests of what every page is made from, each job's
//!   output file and fingerprint ([`Planner::plan`]) and the posts whose rendered markdown it
//!   needs ([`Planner::needs`]);
//! - [`Renderer`] ([`Planner::with_bodies`], given that markdown): turns one job into bytes
//!   ([`Renderer::render`]), with the template contexts of `context.rs` and the feeds, sitemap
//!   and search index of `feeds.rs`.
//!
//! `routes.rs` lists every page of the site ([`jobs`]) and where each goes ([`route`]). The
//! caller runs jobs in parallel (rayon) and streams each page to the output as it comes.

use std::borrow::Cow;
use std::sync::OnceLock;

mod context;
mod feeds;
mod fingerprint;
mod routes;

pub use context::rebase_links;
pub use fingerprint::{Digests, DigestsPatch, Planner};
pub use routes::{drop_aliases_over_pages, jobs, route, Job, Scope};

use crate::markdown::Rendered;
use crate::snapshot::Post;
use crate::templates::{xml_text, TemplateContext as Context};
use context::Card;

/// A rendered page: its file under the output root and its bytes.
#[derive(Debug, Clone)]
pub struct Page {
    pub file: String,
    pub bytes: Vec<u8>,
}

/// A page that failed: its route and the whole cause (template, line, chain).
#[derive(Debug, Clone)]
pub struct PageError {
    pub route: String,
    pub message: String,
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.route, self.message)
    }
}

/// Makes pages: the [`Planner`] of a snapshot with the rendered markdown of the posts the
/// pages to make need (see [`Planner::with_bodies`]).
pub struct Renderer<'a> {
    plan: Planner<'a>,
    /// Rendered markdown of the posts whose pages (or cards) are made this build.
    bodies: Vec<Option<Rendered>>,
    /// Each post's card (what listings show), made once when first needed.
    /// Boxed: a card is a few hundred bytes, and a patch makes a handful of a blog's cards.
    cards: Vec<OnceLock<Box<Card<'a>>>>,
    /// What every page's context starts from (`site` and `config`).
    base: Context,
}

impl<'a> Renderer<'a> {
    fn new(plan: Planner<'a>, bodies: Vec<Option<Rendered>>) -> Self {
        let n = plan.snap.posts.len();
        debug_assert_eq!(bodies.len(), n);
        let mut base = Context::new();
        base.insert("config", &plan.site);
        base.insert("site", &plan.site);
        Renderer {
            plan,
            bodies,
            cards: (0..n).map(|_| OnceLock::new()).collect(),
            base,
        }
    }

    /// The plan this renderer makes pages of (digests, fingerprints).
    pub fn planner(&self) -> &Planner<'a> {
        &self.plan
    }

    /// A post's rendered markdown, when it was loaded.
    pub fn body_of(&self, i: usize) -> Option<&Rendered> {
        self.bodies[i].as_ref()
    }

    fn body(&self, i: usize) -> &Rendered {
        self.bodies[i]
            .as_ref()
            .expect("a job's bodies are loaded before it renders (see Planner::needs)")
    }

    fn post(&self, i: usize) -> &'a Post {
        &self.plan.snap.posts[i]
    }

    /// Renders one job.
    pub fn render(&self, job: Job) -> Result<Page, PageError> {
        let snap = self.plan.snap;
        let (file, path) = route(snap, job);
        let fail = |message: String| PageError {
            route: path.clone(),
            message,
        };
        let mut needs = Vec::new();
        self.plan.needs(job, &mut needs);
        if let Some(&i) = needs.iter().find(|&&i| self.bodies[i].is_none()) {
            return Err(fail(format!(
                "the markdown of post {:?} was not loaded for this page (a bug in bloggo: \
                 please report it; `bloggo build --clean` works around it)",
                self.post(i).row.slug
            )));
        }
        let bytes = match job {
            Job::Robots => format!(
                "User-agent: *\nAllow: /\n\nSitemap: {}\n",
                snap.site.permalink(&snap.site.path("sitemap.xml"))
            )
            .into_bytes(),
            Job::Search => self.search().map_err(|e| fail(e.to_string()))?,
            _ => {
                let (template, ctx) = self.context(job, &path);
                let text = self.plan.templates.render(template, &ctx).map_err(fail)?;
                // Every XML file of the site is made here (feeds, sitemap): characters XML 1.0
                // forbids are taken out of the whole of it, whatever field or template they
                // came from.
                if file.ends_with(".xml") {
                    match xml_text(&text) {
                        Cow::Borrowed(_) => text,
                        Cow::Owned(clean) => clean,
                    }
                } else {
                    text
                }
                .into_bytes()
            }
        };
        Ok(Page { file, bytes })
    }
}
