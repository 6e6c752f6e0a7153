//! Signing in: an email and passphrase checked against the user's argon2 hash (constant
//! time), a refusal written to the audit log. The command line (`--as` with a passphrase)
//! and the admin API's `POST /session` both sign in here.

use anyhow::Result;
use serde_json::json;

use crate::store::content::audit::{self, Client};
use crate::store::content::users::{self, User};
use crate::store::Store;

/// Why a sign-in was refused. One message for a wrong passphrase, an unknown email and a
/// user without a passphrase, so a refusal does not tell which emails exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("wrong email or passphrase for {email}")]
pub struct Refused {
    pub email: String,
}

/// Where a sign-in comes from, as its audit row says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Cli,
    Api,
}

impl Via {
    fn as_str(self) -> &'static str {
        match self {
            Via::Cli => "cli",
            Via::Api => "api",
        }
    }
}

/// Whether the user with this email has a passphrase (the command line asks for it only
/// then). An unknown email is the store's usual typed error.
pub fn has_passphrase(store: &mut Store, email: &str) -> Result<bool> {
    store.read(|tx| Ok(users::by_email(tx, email)?.has_passphrase))
}

/// The user with `email` when `passphrase` is theirs; else [`Refused`], after an audit row
/// `session.refused` (on the user named, when there is one). The hash is read in one short
/// read, verified outside any transaction (argon2 takes a while on purpose).
pub fn sign_in(
    store: &mut Store,
    email: &str,
    passphrase: &str,
    via: Via,
    client: &Client,
) -> Result<User> {
    let (user, hash) = store.read(|tx| -> Result<_> {
        let user = match users::by_email(tx, email) {
            Ok(u) => Some(u),
            Err(e)
                if e.downcast_ref::<crate::store::content::ContentError>()
                    .is_some() =>
            {
                None
            }
            Err(e) => return Err(e),
        };
        let hash = match &user {
            Some(u) => users::passphrase_hash(tx, u.id)?,
            None => None,
        };
        Ok((user, hash))
    })?;
    if users::verify_passphrase(hash.as_deref(), passphrase) {
        if let Some(user) = user {
            return Ok(user);
        }
    }
    let user_id = user.as_ref().map(|u| u.id);
    store.write(|tx| {
        audit::write_from(
            tx,
            user_id,
            "session.refused",
            "user",
            user_id,
            Some(&json!({"email": email.trim(), "via": via.as_str()})),
            client,
        )
    })?;
    Err(Refused {
        email: email.trim().to_string(),
    }
    .into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::fixture::{by, site, ADMIN};
    use crate::content::users::{add, NewUser};

    #[test]
    fn a_wrong_passphrase_is_refused_and_audited() {
        let mut s = site();
        let new = NewUser {
            name: "Pat",
            email: "pat@example.org",
            role: "editor",
            passphrase: Some("correct horse"),
        };
        add(&mut s.store, &by(ADMIN), &new).unwrap();
        assert!(has_passphrase(&mut s.store, "pat@example.org").unwrap());
        assert!(!has_passphrase(&mut s.store, ADMIN).unwrap());
        let client = Client::default();
        let pat = sign_in(
            &mut s.store,
            "PAT@example.org",
            "correct horse",
            Via::Cli,
            &client,
        );
        assert_eq!(pat.unwrap().email, "pat@example.org");
        let err = sign_in(&mut s.store, "pat@example.org", "wrong", Via::Cli, &client).unwrap_err();
        assert!(err.downcast_ref::<Refused>().is_some(), "{err}");
        // No passphrase, no such user: the same refusal.
        for email in [ADMIN, "nobody@example.org"] {
            let err = sign_in(&mut s.store, email, "whatever1", Via::Api, &client).unwrap_err();
            assert!(err.downcast_ref::<Refused>().is_some(), "{err}");
        }
        let rows = crate::content::audit::list(&mut s.store, None, 100).unwrap();
        let refused: Vec<_> = rows
            .iter()
            .filter(|e| e.action == "session.refused")
            .collect();
        assert_eq!(refused.len(), 3);
        assert_eq!(refused[0].user.as_deref(), Some("pat@example.org"));
        assert_eq!(refused[2].user, None);
    }
}
