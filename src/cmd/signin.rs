//! The command line's sign-in: a command run `--as EMAIL` (or with `BLOGGO_USER`) for a user
//! who has a passphrase needs that passphrase, from `BLOGGO_PASSPHRASE` or typed at a prompt
//! (not echoed). A user without a passphrase (the seeded admin of a one-person blog) is never
//! asked, and without `--as` the store's only admin acts, as before.

use std::io::{IsTerminal, Write};

use anyhow::{bail, Context, Result};

use super::Ctx;
use crate::content::open_store;
use crate::content::signin::{self, Via};
use crate::store::content::audit::Client;

/// The environment variable a script passes the passphrase in.
pub const PASSPHRASE_ENV: &str = "BLOGGO_PASSPHRASE";

/// Refuses unless the user named by `--as` has no passphrase or the one given is theirs.
pub fn confirm_acting(ctx: &Ctx, email: &str) -> Result<()> {
    let (_settings, mut store) = open_store(&ctx.site)?;
    if !signin::has_passphrase(&mut store, email)? {
        return Ok(());
    }
    let passphrase = match std::env::var(PASSPHRASE_ENV) {
        Ok(p) => p,
        Err(_) if std::io::stdin().is_terminal() => prompt(email)?,
        Err(_) => bail!(
            "{email} has a passphrase: pass it in {PASSPHRASE_ENV} (stdin is not a terminal to ask for it)"
        ),
    };
    signin::sign_in(&mut store, email, &passphrase, Via::Cli, &Client::default())
        .with_context(|| format!("acting --as {email}"))?;
    Ok(())
}

/// Reads a passphrase from the terminal without echoing it.
fn prompt(email: &str) -> Result<String> {
    eprint!("passphrase for {email}: ");
    std::io::stderr().flush()?;
    let echo = Echo::off();
    let mut line = String::new();
    let read = std::io::stdin().read_line(&mut line);
    drop(echo);
    eprintln!();
    read.context("reading the passphrase")?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

/// The terminal's echo turned off until dropped (when stdin is a terminal).
struct Echo(Option<libc::termios>);

impl Echo {
    fn off() -> Echo {
        // SAFETY: tcgetattr/tcsetattr on stdin with a zeroed termios they fill in.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(libc::STDIN_FILENO, &mut t) != 0 {
                return Echo(None);
            }
            let saved = t;
            t.c_lflag &= !libc::ECHO;
            t.c_lflag |= libc::ECHONL;
            if libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &t) != 0 {
                return Echo(None);
            }
            Echo(Some(saved))
        }
    }
}

impl Drop for Echo {
    fn drop(&mut self) {
        if let Some(saved) = &self.0 {
            // SAFETY: restores the attributes read in `off`.
            unsafe {
                libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, saved);
            }
        }
    }
}
