//! `bloggo user ...`: users and their roles.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::Ctx;
use crate::content::sessions::{self, Revoke};
use crate::content::users::{self, NewUser};
use crate::content::{open_store, ActAs};

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
    /// List the live sign-ins of the admin API (never a token: the store keeps only hashes).
    #[command(
        after_help = "Examples:\n  bloggo user sessions\n  bloggo user sessions ada@example.org"
    )]
    Sessions {
        /// Only this user's.
        email: Option<String>,
    },
    /// Revoke sign-ins of the admin API: a user's, one by ID (from `user sessions`), or all.
    /// Their refresh and access tokens stop working at once.
    #[command(
        after_help = "Examples:\n  bloggo user revoke ada@example.org\n  bloggo user revoke 12\n  bloggo user revoke --all"
    )]
    Revoke {
        /// An email (every sign-in of that user) or a session ID.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        target: Option<String>,
        /// Every sign-in of every user.
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        act: ActAs,
    },
}

pub fn run(ctx: &Ctx, args: Args) -> Result<ExitCode> {
    let (_settings, mut store) = open_store(&ctx.site)?;
    let mut out = std::io::stdout().lock();
    match args {
        Args::List => {
            let all = users::list(&mut store)?;
            writeln!(
                out,
                "{:<4} {:<24} {:<30} {:<7} {:>5}  passphrase",
                "id", "name", "email", "role", "posts"
            )?;
            for u in all {
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
        }
        Args::Add {
            name,
            email,
            role,
            passphrase_stdin,
            act,
        } => {
            let passphrase = if passphrase_stdin {
                let mut line = String::new();
                std::io::stdin()
                    .read_line(&mut line)
                    .context("reading the passphrase from stdin")?;
                Some(line.trim_end_matches(['\n', '\r']).to_string())
            } else {
                None
            };
            let new = NewUser {
                name: &name,
                email: &email,
                role: &role,
                passphrase: passphrase.as_deref(),
            };
            users::add(&mut store, &act, &new)?;
            if !ctx.quiet {
                writeln!(out, "added {} <{}> as {role}", name.trim(), email.trim())?;
            }
        }
        Args::Role { email, role, act } => {
            let change = users::set_role(&mut store, &act, &email, &role)?;
            let (user, admins) = (change.before, change.admins);
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
            let user = users::remove(&mut store, &act, &email, reassign.as_deref())?;
            if !ctx.quiet {
                writeln!(out, "removed {}", user.email)?;
            }
        }
        Args::Sessions { email } => {
            let live = sessions::list(&mut store, email.as_deref())?;
            if live.is_empty() {
                writeln!(out, "no live sessions")?;
                return Ok(ExitCode::SUCCESS);
            }
            writeln!(
                out,
                "{:<5} {:<30} {:<19}  {:<19}  expires (UTC)",
                "id", "email", "signed in (UTC)", "refreshed (UTC)"
            )?;
            for s in live {
                writeln!(
                    out,
                    "{:<5} {:<30} {:<19}  {:<19}  {}",
                    s.id, s.email, s.signed_in_at, s.refreshed_at, s.expires_at
                )?;
            }
        }
        Args::Revoke { target, all, act } => {
            let what = match (target, all) {
                (_, true) => Revoke::All,
                (Some(t), false) => match t.trim().parse::<i64>() {
                    Ok(id) => Revoke::Id(id),
                    Err(_) => Revoke::User(t),
                },
                (None, false) => unreachable!("clap requires a target unless --all"),
            };
            let n = sessions::revoke(&mut store, &act, &what)?;
            if !ctx.quiet {
                writeln!(out, "revoked {n} token(s)")?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
