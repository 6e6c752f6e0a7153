//! `bloggo user ...`, and the `--as EMAIL` option every content command shares.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use serde_json::json;

use super::Ctx;
use crate::store::content::users::{self, User};
use crate::store::content::{audit, Permission};
use crate::store::Store;

/// `--as EMAIL`: who is acting, so whose role's permissions and posts a change is made with.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ActAs {
    /// Act as this user (their role must allow the change, and an author changes only their
    /// own posts). Default: $BLOGGO_USER, else the store's only admin.
    #[arg(long = "as", value_name = "EMAIL", env = "BLOGGO_USER")]
    pub as_user: Option<String>,
}

impl ActAs {
    /// The email named with `--as` or `BLOGGO_USER`, if any.
    pub fn named(&self) -> Option<&str> {
        self.as_user
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty())
    }

    /// The acting user (see `users::acting`).
    pub fn user(&self, conn: &rusqlite::Connection) -> Result<User> {
        users::acting(conn, self.named())
    }

    /// The acting user, refused unless their role grants `perm`.
    pub fn require(
        &self,
        conn: &rusqlite::Connection,
        perm: Permission,
        action: &str,
    ) -> Result<User> {
        let user = self.user(conn)?;
        users::require(conn, &user, perm, action)?;
        Ok(user)
    }
}

/// Opens the site's store (it must exist).
pub fn open_store(ctx: &Ctx) -> Result<(crate::config::Settings, Store)> {
    let settings = ctx.settings()?;
    let store = Store::open(&settings.store, false)?;
    Ok((settings, store))
}

#[derive(Debug, clap::Subcommand)]
pub enum Args {
    /// List users with their role and number of posts.
    #[command(after_help = "Example:\n  bloggo user list")]
    List,
    /// Add a user (an author by default).
    #[command(
        after_help = "Examples:\n  bloggo user add \"Ada Lovelace\" ada@example.org --role editor\n  printf 'correct horse\\n' | bloggo user add Bob bob@example.org --passphrase-stdin"
    )]
    Add {
        name: String,
        email: String,
        /// admin, editor or author.
        #[arg(long, default_value = "author")]
        role: String,
        /// Read a passphrase from the first line of stdin and keep its argon2 hash.
        #[arg(long)]
        passphrase_stdin: bool,
        #[command(flatten)]
        act: ActAs,
    },
    /// Change a user's role.
    #[command(after_help = "Example:\n  bloggo user role ada@example.org editor")]
    Role {
        email: String,
        /// admin, editor or author.
        role: String,
        #[command(flatten)]
        act: ActAs,
    },
    /// Remove a user; their posts go to --reassign.
    #[command(
        after_help = "Example:\n  bloggo user remove bob@example.org --reassign ada@example.org"
    )]
    Remove {
        email: String,
        /// Give the user's posts and versions to this user (needed when they wrote posts).
        #[arg(long, value_name = "EMAIL")]
        reassign: Option<String>,
        #[command(flatten)]
        act: ActAs,
    },
}

pub fn run(ctx: &Ctx, args: Args) -> Result<ExitCode> {
    let (_settings, mut store) = open_store(ctx)?;
    let tx = store.conn.transaction()?;
    let mut out = std::io::stdout().lock();
    match args {
        Args::List => {
            writeln!(
                out,
                "{:<4} {:<24} {:<30} {:<7} {:>5}  passphrase",
                "id", "name", "email", "role", "posts"
            )?;
            for u in users::list(&tx)? {
                writeln!(
                    out,
                    "{:<4} {:<24} {:<30} {:<7} {:>5}  {}",
                    u.id,
                    u.name,
                    u.email,
                    u.role,
                    u.posts,
                    if u.has_passphrase { "set" } else { "-" }
                )?;
            }
            return Ok(ExitCode::SUCCESS);
        }
        Args::Add {
            name,
            email,
            role,
            passphrase_stdin,
            act,
        } => {
            let actor = act.require(&tx, Permission::UsersManage, "add users")?;
            let hash = if passphrase_stdin {
                let mut line = String::new();
                std::io::stdin()
                    .read_line(&mut line)
                    .context("reading the passphrase from stdin")?;
                let pass = line.trim_end_matches(['\n', '\r']);
                if pass.len() < 8 {
                    bail!("the passphrase must be at least 8 characters");
                }
                Some(users::hash_passphrase(pass)?)
            } else {
                None
            };
            let id = users::add(&tx, &name, &email, &role, hash.as_deref())?;
            audit::write(
                &tx,
                actor.id,
                "user.add",
                "user",
                Some(id),
                None,
                Some(&json!({"name": name.trim(), "email": email.trim(), "role": role})),
            )?;
            tx.commit()?;
            if !ctx.quiet {
                writeln!(out, "added {} <{}> as {role}", name.trim(), email.trim())?;
            }
        }
        Args::Role { email, role, act } => {
            let actor = act.require(&tx, Permission::UsersManage, "change roles")?;
            let user = users::by_email(&tx, &email)?;
            users::set_role(&tx, &user, &role)?;
            audit::write(
                &tx,
                actor.id,
                "user.role",
                "user",
                Some(user.id),
                Some(&json!({"role": user.role})),
                Some(&json!({"role": role})),
            )?;
            let admins = users::admins(&tx)?.len();
            tx.commit()?;
            if !ctx.quiet {
                writeln!(out, "{} is now {role} (was {})", user.email, user.role)?;
                if admins > 1 && user.role != "admin" && role.trim() == "admin" {
                    writeln!(
                        out,
                        "the store now has {admins} admins: a change must name its user (--as EMAIL or BLOGGO_USER=EMAIL)"
                    )?;
                }
            }
        }
        Args::Remove {
            email,
            reassign,
            act,
        } => {
            let actor = act.require(&tx, Permission::UsersManage, "remove users")?;
            let user = users::by_email(&tx, &email)?;
            if user.id == actor.id {
                bail!(
                    "{} cannot remove themselves; act --as another admin",
                    user.email
                );
            }
            let to = reassign
                .as_deref()
                .map(|e| users::by_email(&tx, e))
                .transpose()?;
            users::remove(&tx, &user, to.as_ref())?;
            audit::write(
                &tx,
                actor.id,
                "user.remove",
                "user",
                Some(user.id),
                Some(&json!({"name": user.name, "email": user.email, "role": user.role})),
                to.as_ref().map(|t| json!({"posts_to": t.email})).as_ref(),
            )?;
            tx.commit()?;
            if !ctx.quiet {
                writeln!(out, "removed {}", user.email)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
