//! Users and their roles: add, change a role, remove (the `users.manage` permission), each
//! with its audit row.

use anyhow::{bail, Result};
use serde_json::json;

use crate::content::ActAs;
use crate::store::content::users::{self, User};
use crate::store::content::{audit, Permission};
use crate::store::Store;

/// Every user, by id.
pub fn list(store: &mut Store) -> Result<Vec<User>> {
    store.read(users::list)
}

/// A user to add.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    pub name: &'a str,
    pub email: &'a str,
    /// admin, editor or author.
    pub role: &'a str,
    pub passphrase: Option<&'a str>,
}

/// Adds a user; a passphrase must be at least 8 characters and is kept as its argon2 hash.
pub fn add(store: &mut Store, act: &ActAs, new: &NewUser) -> Result<i64> {
    store.write(|tx| {
        let actor = act.require(tx, Permission::UsersManage, "add users")?;
        let hash = match new.passphrase {
            Some(pass) if pass.len() < 8 => {
                bail!("the passphrase must be at least 8 characters")
            }
            Some(pass) => Some(users::hash_passphrase(pass)?),
            None => None,
        };
        let id = users::add(tx, new.name, new.email, new.role, hash.as_deref())?;
        audit::write(
            tx,
            actor.id,
            "user.add",
            "user",
            Some(id),
            None,
            Some(&json!({"name": new.name.trim(), "email": new.email.trim(), "role": new.role})),
        )?;
        Ok(id)
    })
}

/// A role change: the user before it, and how many admins the store has after it.
#[derive(Debug, Clone)]
pub struct RoleChange {
    pub before: User,
    pub admins: usize,
}

/// Changes a user's role (the last admin keeps theirs).
pub fn set_role(store: &mut Store, act: &ActAs, email: &str, role: &str) -> Result<RoleChange> {
    store.write(|tx| {
        let actor = act.require(tx, Permission::UsersManage, "change roles")?;
        let user = users::by_email(tx, email)?;
        users::set_role(tx, &user, role)?;
        audit::write(
            tx,
            actor.id,
            "user.role",
            "user",
            Some(user.id),
            Some(&json!({"role": user.role})),
            Some(&json!({"role": role})),
        )?;
        Ok(RoleChange {
            admins: users::admins(tx)?.len(),
            before: user,
        })
    })
}

/// Removes a user (never the acting one); their posts and versions go to `reassign`, which
/// is needed when they wrote posts. Returns the user removed.
pub fn remove(store: &mut Store, act: &ActAs, email: &str, reassign: Option<&str>) -> Result<User> {
    store.write(|tx| {
        let actor = act.require(tx, Permission::UsersManage, "remove users")?;
        let user = users::by_email(tx, email)?;
        if user.id == actor.id {
            bail!(
                "{} cannot remove themselves; act --as another admin",
                user.email
            );
        }
        let to = reassign.map(|e| users::by_email(tx, e)).transpose()?;
        users::remove(tx, &user, to.as_ref())?;
        audit::write(
            tx,
            actor.id,
            "user.remove",
            "user",
            Some(user.id),
            Some(&json!({"name": user.name, "email": user.email, "role": user.role})),
            to.as_ref().map(|t| json!({"posts_to": t.email})).as_ref(),
        )?;
        Ok(user)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::fixture::{by, site, ADMIN, AUTHOR, EDITOR};
    use crate::store::content::ContentError;

    #[test]
    fn only_users_manage_changes_users() {
        let mut s = site();
        let err = set_role(&mut s.store, &by(EDITOR), AUTHOR, "editor").unwrap_err();
        assert!(matches!(
            err.downcast_ref::<ContentError>(),
            Some(ContentError::Forbidden { permission, .. }) if permission == "users.manage"
        ));
        let change = set_role(&mut s.store, &by(ADMIN), AUTHOR, "editor").unwrap();
        assert_eq!(change.before.role, "author");
        assert_eq!(change.admins, 1);
    }

    #[test]
    fn the_last_admin_stays_and_nobody_removes_themselves() {
        let mut s = site();
        let err = set_role(&mut s.store, &by(ADMIN), ADMIN, "editor").unwrap_err();
        assert!(err.to_string().contains("is the last admin"), "{err}");
        let err = remove(&mut s.store, &by(ADMIN), ADMIN, None).unwrap_err();
        assert!(
            err.to_string().contains("cannot remove themselves"),
            "{err}"
        );
        let short = NewUser {
            name: "Cy",
            email: "cy@example.org",
            role: "author",
            passphrase: Some("short"),
        };
        let err = add(&mut s.store, &by(ADMIN), &short).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the passphrase must be at least 8 characters"
        );
        // Refused as a whole: no user, no audit row.
        let users = list(&mut s.store).unwrap();
        assert!(users.iter().all(|u| u.email != "cy@example.org"));
    }
}
