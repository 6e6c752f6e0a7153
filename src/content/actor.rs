//! Who is acting: the `--as EMAIL` option every content command shares, the user it names
//! (else the store's only admin), and the permission check on that user's role.

use anyhow::Result;

use crate::store::content::users::{self, User};
use crate::store::content::{ContentError, Permission};
use crate::store::Tx;

/// `--as EMAIL`: who is acting, so whose role's permissions and posts a change is made with.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ActAs {
    /// Act as this user (their role must allow the change, and an author changes only their
    /// own posts). Default: $BLOGGO_USER, else the store's only admin.
    #[arg(long = "as", value_name = "EMAIL", env = "BLOGGO_USER")]
    pub as_user: Option<String>,
}

impl ActAs {
    /// Acting as the user with this email.
    pub fn email(email: &str) -> ActAs {
        ActAs {
            as_user: Some(email.to_string()),
        }
    }

    /// The email named with `--as` or `BLOGGO_USER`, if any.
    pub fn named(&self) -> Option<&str> {
        self.as_user
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty())
    }

    /// The acting user (see [`acting`]).
    pub fn user(&self, tx: &Tx) -> Result<User> {
        acting(tx, self.named())
    }

    /// The acting user, refused unless their role grants `perm`.
    pub fn require(&self, tx: &Tx, perm: Permission, action: &str) -> Result<User> {
        let user = self.user(tx)?;
        if users::has_permission(tx, user.id, perm)? {
            return Ok(user);
        }
        Err(ContentError::Forbidden {
            email: user.email,
            role: user.role,
            permission: perm.as_str().to_string(),
            action: action.to_string(),
        }
        .into())
    }
}

/// The acting user: the one `named` (by email, from `--as` or `BLOGGO_USER`), else the
/// store's only admin, so a one-person blog never names anyone. With several admins and no
/// name, nobody can be assumed: refused, asking for a name.
pub fn acting(tx: &Tx, named: Option<&str>) -> Result<User> {
    if let Some(email) = named.map(str::trim).filter(|e| !e.is_empty()) {
        return users::by_email(tx, email);
    }
    let mut admins = users::admins(tx)?;
    match admins.len() {
        0 => Err(ContentError::NoAdmin.into()),
        1 => Ok(admins.remove(0)),
        _ => Err(ContentError::WhoActs(admins.into_iter().map(|u| u.email).collect()).into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::fixture::{by, site, ADMIN, EDITOR};
    use crate::content::users;

    fn acting_email(s: &mut crate::content::fixture::Site, act: &ActAs) -> Result<String> {
        s.store.read(|tx| act.user(tx).map(|u| u.email))
    }

    #[test]
    fn the_only_admin_acts_unless_someone_is_named() {
        let mut s = site();
        assert_eq!(acting_email(&mut s, &ActAs::default()).unwrap(), ADMIN);
        assert_eq!(acting_email(&mut s, &by(EDITOR)).unwrap(), EDITOR);
        let blank = ActAs::email("  ");
        assert_eq!(acting_email(&mut s, &blank).unwrap(), ADMIN);
    }

    #[test]
    fn with_two_admins_nobody_is_assumed() {
        let mut s = site();
        users::set_role(&mut s.store, &by(ADMIN), EDITOR, "admin").unwrap();
        let err = acting_email(&mut s, &ActAs::default()).unwrap_err();
        assert!(matches!(
            err.downcast_ref::<ContentError>(),
            Some(ContentError::WhoActs(admins)) if admins.len() == 2
        ));
    }
}
