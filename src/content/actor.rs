//! Who is acting: the `--as EMAIL` option every content command shares, and the user it
//! names.

use anyhow::Result;

use crate::store::content::users::{self, User};
use crate::store::content::Permission;
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

    /// The acting user (see `users::acting`).
    pub fn user(&self, tx: &Tx) -> Result<User> {
        users::acting(tx, self.named())
    }

    /// The acting user, refused unless their role grants `perm`.
    pub fn require(&self, tx: &Tx, perm: Permission, action: &str) -> Result<User> {
        let user = self.user(tx)?;
        users::require(tx, &user, perm, action)?;
        Ok(user)
    }
}
