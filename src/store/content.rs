//! The content operations' queries: posts, versions, review, taxonomy, users, audit.
//!
//! Every function takes the open transaction (`Tx`) of a `Store::write` or `Store::read`, so
//! the content operations (`crate::content`) decide where a unit of work begins and ends; the
//! permission check (`crate::content::access`), the change and its audit row commit together.

pub mod audit;
pub mod posts;
pub mod sessions;
pub mod taxonomy;
pub mod users;
pub mod versions;

use thiserror::Error;

/// Errors the commands branch on or show as they are.
#[derive(Debug, Error)]
pub enum ContentError {
    #[error("no post with slug {0:?}; `bloggo post list` (or `post list --deleted`) shows them")]
    NoPost(String),
    #[error("the slug {slug:?} is the slug of {} posts: {}; name the one you mean by its id, e.g. `#{}`", .candidates.len(), .candidates.join(", "), .first)]
    AmbiguousSlug {
        slug: String,
        /// `#id (source file or title)` of each.
        candidates: Vec<String>,
        first: i64,
    },
    #[error("no user with email {0:?}; `bloggo user list` shows them")]
    NoUser(String),
    #[error("no category with slug {0:?}; `bloggo category list` shows them")]
    NoCategory(String),
    #[error("no tag with slug or name {0:?}; `bloggo tag list` shows them")]
    NoTag(String),
    #[error("{email} may not {action}: the {role} role lacks the `{permission}` permission; act --as a user whose role has it, or have an admin run `bloggo user role {email} editor`")]
    Forbidden {
        email: String,
        role: String,
        permission: String,
        action: String,
    },
    #[error("--by '{by}' is not the acting user '{actor}' (from --as or BLOGGO_USER): a user cannot act as someone else; drop --by, or let {by} run the command as themselves")]
    NotTheActor { by: String, actor: String },
    #[error("the store has {} admins ({}), so bloggo cannot tell who is acting: name yourself with --as EMAIL or BLOGGO_USER=EMAIL", .0.len(), .0.join(", "))]
    WhoActs(Vec<String>),
    #[error("the store has no admin to act by default: name the acting user with --as EMAIL or BLOGGO_USER=EMAIL")]
    NoAdmin,
}

/// A permission name from the `permissions` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    PostsCreate,
    PostsEdit,
    PostsPublish,
    PostsDelete,
    UsersManage,
    CategoriesManage,
    TagsManage,
    /// Views and referrers (`bloggo stats`, the API's `/stats`).
    AnalyticsView,
    /// Backups, restore, migrations (the API's `/backups`).
    SystemAdmin,
}

impl Permission {
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::PostsCreate => "posts.create",
            Permission::PostsEdit => "posts.edit",
            Permission::PostsPublish => "posts.publish",
            Permission::PostsDelete => "posts.delete",
            Permission::UsersManage => "users.manage",
            Permission::CategoriesManage => "categories.manage",
            Permission::TagsManage => "tags.manage",
            Permission::AnalyticsView => "analytics.view",
            Permission::SystemAdmin => "system.admin",
        }
    }
}
