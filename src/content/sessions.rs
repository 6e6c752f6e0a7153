//! Sessions of the admin API: a sign-in issues an access token and a refresh token (see
//! `crate::tokens`); a refresh rotates the refresh token, and a rotated token used again
//! revokes its whole family; `DELETE /session` and `bloggo user revoke` end sign-ins.
//! Each of these writes its audit row in the same transaction as its change.

use anyhow::Result;
use chrono::Utc;
use serde_json::json;

use crate::content::ActAs;
use crate::model::Timestamp;
use crate::store::content::audit::{self, Client};
use crate::store::content::sessions::{self, Session};
use crate::store::content::users::{self, User};
use crate::store::content::Permission;
use crate::store::{Store, Tx};
use crate::tokens::{self, AccessKey, Claims, TokenError};

/// Why a token was not accepted (the API answers 401 with it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error("the refresh token is unknown, expired or revoked: sign in again")]
    Invalid,
    #[error("this refresh token was already used: every token of its sign-in is now revoked; sign in again")]
    Reused,
    #[error("the sign-in of this access token was revoked or has ended: sign in again")]
    Ended,
    #[error("the user of this token no longer exists")]
    NoUser,
    #[error(transparent)]
    Access(#[from] TokenError),
}

/// A pair of tokens handed to a client.
#[derive(Debug, Clone)]
pub struct Issued {
    pub access_token: String,
    pub refresh_token: String,
    /// Seconds the access token is accepted.
    pub expires_in: u64,
    pub user: User,
    pub family_id: i64,
}

fn later(by: std::time::Duration) -> Timestamp {
    Timestamp::from(Utc::now() + chrono::Duration::from_std(by).unwrap_or_default())
}

/// Issues a refresh token (continuing `family`, or a new one) and its access token.
fn issue(tx: &Tx, key: &AccessKey, user: User, family: Option<i64>) -> Result<Issued> {
    let refresh = tokens::new_refresh()?;
    let (_, family_id) = sessions::insert(
        tx,
        user.id,
        &tokens::refresh_hash(&refresh),
        later(tokens::REFRESH_TTL),
        family,
        Timestamp::now(),
    )?;
    let access = key.sign(Claims {
        user_id: user.id,
        family_id,
        expires: Utc::now().timestamp() + tokens::ACCESS_TTL.as_secs() as i64,
    });
    Ok(Issued {
        access_token: access,
        refresh_token: refresh,
        expires_in: tokens::ACCESS_TTL.as_secs(),
        user,
        family_id,
    })
}

/// A new sign-in for `user` (whose passphrase `content::signin` checked).
pub fn start(store: &mut Store, key: &AccessKey, user: User, client: &Client) -> Result<Issued> {
    store.write(|tx| {
        let issued = issue(tx, key, user, None)?;
        audit::write_from(
            tx,
            Some(issued.user.id),
            "session.start",
            "session",
            Some(issued.family_id),
            None,
            client,
        )?;
        Ok(issued)
    })
}

/// Exchanges a refresh token for a new pair. A token already exchanged revokes its whole
/// family (it was copied: whoever holds the newer one is not necessarily its owner), and the
/// revocation is committed even though the call fails.
pub fn refresh(
    store: &mut Store,
    key: &AccessKey,
    refresh_token: &str,
    client: &Client,
) -> Result<Issued> {
    let outcome = store.write(|tx| -> Result<Result<Issued, SessionError>> {
        let now = Timestamp::now();
        let Some(token) = sessions::by_hash(tx, &tokens::refresh_hash(refresh_token))? else {
            return Ok(Err(SessionError::Invalid));
        };
        if token.revoked_at.is_some() || token.expires_at <= now {
            return Ok(Err(SessionError::Invalid));
        }
        if token.rotated_at.is_some() {
            let revoked = sessions::revoke_family(tx, token.family_id, now)?;
            audit::write_from(
                tx,
                Some(token.user_id),
                "session.reuse",
                "session",
                Some(token.family_id),
                Some(&json!({"revoked": revoked})),
                client,
            )?;
            return Ok(Err(SessionError::Reused));
        }
        let Some(user) = users::by_id(tx, token.user_id)? else {
            return Ok(Err(SessionError::NoUser));
        };
        sessions::mark_rotated(tx, token.id, now)?;
        let issued = issue(tx, key, user, Some(token.family_id))?;
        audit::write_from(
            tx,
            Some(issued.user.id),
            "session.refresh",
            "session",
            Some(token.family_id),
            None,
            client,
        )?;
        Ok(Ok(issued))
    })?;
    Ok(outcome?)
}

/// The user an access token was issued to, with its claims, while the token's signature
/// holds, it has not expired, its sign-in is live and the user still exists.
pub fn authenticate(
    store: &mut Store,
    key: &AccessKey,
    access_token: &str,
) -> Result<(User, Claims)> {
    let claims = key
        .verify(access_token, Utc::now().timestamp())
        .map_err(SessionError::Access)?;
    let found = store.read(|tx| -> Result<Result<User, SessionError>> {
        if !sessions::family_live(tx, claims.family_id, Timestamp::now())? {
            return Ok(Err(SessionError::Ended));
        }
        Ok(users::by_id(tx, claims.user_id)?.ok_or(SessionError::NoUser))
    })?;
    Ok((found?, claims))
}

/// Ends a sign-in (its family), as its own user asks (`DELETE /session`).
pub fn end(store: &mut Store, user: &User, family_id: i64, client: &Client) -> Result<usize> {
    store.write(|tx| {
        let n = sessions::revoke_family(tx, family_id, Timestamp::now())?;
        audit::write_from(
            tx,
            Some(user.id),
            "session.end",
            "session",
            Some(family_id),
            None,
            client,
        )?;
        Ok(n)
    })
}

/// The live sign-ins, of the user with `email` or of everyone.
pub fn list(store: &mut Store, email: Option<&str>) -> Result<Vec<Session>> {
    store.read(|tx| {
        let user = email.map(|e| users::by_email(tx, e)).transpose()?;
        sessions::live(tx, user.map(|u| u.id), Timestamp::now())
    })
}

/// What `bloggo user revoke` ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revoke {
    /// Every sign-in of the user with this email.
    User(String),
    /// Every sign-in of every user.
    All,
    /// The sign-in of the token with this id (as `user sessions` lists it).
    Id(i64),
}

/// Revokes sign-ins; a user may revoke their own, `users.manage` anyone's. Returns how many
/// tokens were revoked.
pub fn revoke(store: &mut Store, act: &ActAs, what: &Revoke) -> Result<usize> {
    store.write(|tx| {
        let actor = act.user(tx)?;
        let now = Timestamp::now();
        let (owner, n, family) = match what {
            Revoke::User(email) => {
                let user = users::by_email(tx, email)?;
                (
                    Some(user.id),
                    sessions::revoke_user(tx, Some(user.id), now)?,
                    None,
                )
            }
            Revoke::All => (None, sessions::revoke_user(tx, None, now)?, None),
            Revoke::Id(id) => {
                let Some((family, owner)) = sessions::family_of(tx, *id)? else {
                    anyhow::bail!("no session with id {id}; `bloggo user sessions` lists them");
                };
                (
                    Some(owner),
                    sessions::revoke_family(tx, family, now)?,
                    Some(family),
                )
            }
        };
        if owner != Some(actor.id) {
            act.require(tx, Permission::UsersManage, "revoke other users' sessions")?;
        }
        audit::write(
            tx,
            actor.id,
            "session.revoke",
            "session",
            family,
            None,
            Some(&json!({"user_id": owner, "revoked": n})),
        )?;
        Ok(n)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::fixture::{by, site, ADMIN, EDITOR};

    fn user(s: &mut crate::content::fixture::Site, email: &str) -> User {
        s.store.read(|tx| users::by_email(tx, email)).unwrap()
    }

    fn err_of(r: Result<impl std::fmt::Debug>) -> SessionError {
        r.unwrap_err().downcast::<SessionError>().unwrap()
    }

    #[test]
    fn a_refresh_rotates_and_a_reused_token_revokes_the_family() {
        let mut s = site();
        let key = AccessKey::generate().unwrap();
        let c = Client::default();
        let ed = user(&mut s, EDITOR);
        let first = start(&mut s.store, &key, ed.clone(), &c).unwrap();
        let (who, claims) = authenticate(&mut s.store, &key, &first.access_token).unwrap();
        assert_eq!(
            (who.email.as_str(), claims.family_id),
            (EDITOR, first.family_id)
        );
        // Stored as a hash only.
        let stored: String = s
            .store
            .test_conn()
            .query_row("SELECT token_hash FROM refresh_tokens", [], |r| r.get(0))
            .unwrap();
        assert_eq!(stored, tokens::refresh_hash(&first.refresh_token));

        let second = refresh(&mut s.store, &key, &first.refresh_token, &c).unwrap();
        assert_eq!(second.family_id, first.family_id);
        assert_ne!(second.refresh_token, first.refresh_token);
        // The old access token's family is still live through the new token.
        authenticate(&mut s.store, &key, &second.access_token).unwrap();
        assert_eq!(list(&mut s.store, Some(EDITOR)).unwrap().len(), 1);

        // The first token again: the family is revoked, the newest token too.
        assert_eq!(
            err_of(refresh(&mut s.store, &key, &first.refresh_token, &c)),
            SessionError::Reused
        );
        assert_eq!(
            err_of(refresh(&mut s.store, &key, &second.refresh_token, &c)),
            SessionError::Invalid
        );
        assert_eq!(
            err_of(authenticate(&mut s.store, &key, &second.access_token)),
            SessionError::Ended
        );
        assert!(list(&mut s.store, None).unwrap().is_empty());
        assert_eq!(
            err_of(refresh(&mut s.store, &key, "bgr.nonsense", &c)),
            SessionError::Invalid
        );
    }

    #[test]
    fn only_users_manage_revokes_others_sessions() {
        let mut s = site();
        let key = AccessKey::generate().unwrap();
        let c = Client::default();
        let ed = user(&mut s, EDITOR);
        let admin = user(&mut s, ADMIN);
        let a = start(&mut s.store, &key, ed.clone(), &c).unwrap();
        start(&mut s.store, &key, ed, &c).unwrap();
        start(&mut s.store, &key, admin, &c).unwrap();
        assert_eq!(list(&mut s.store, None).unwrap().len(), 3);
        let err = revoke(&mut s.store, &by(EDITOR), &Revoke::All).unwrap_err();
        assert!(err.to_string().contains("users.manage"), "{err}");
        let own = list(&mut s.store, Some(EDITOR)).unwrap()[0].id;
        assert_eq!(
            revoke(&mut s.store, &by(EDITOR), &Revoke::Id(own)).unwrap(),
            1
        );
        assert_eq!(
            err_of(authenticate(&mut s.store, &key, &a.access_token)),
            SessionError::Ended
        );
        assert_eq!(
            revoke(&mut s.store, &by(ADMIN), &Revoke::User(EDITOR.into())).unwrap(),
            1
        );
        assert_eq!(revoke(&mut s.store, &by(ADMIN), &Revoke::All).unwrap(), 1);
        assert!(list(&mut s.store, None).unwrap().is_empty());
    }
}
