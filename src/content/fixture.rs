//! A site for the content operations' unit tests: a temporary folder with settings, a
//! migrated store (its seeded admin is `admin@localhost`), an editor and an author, all made
//! through the library.

use crate::config::Settings;
use crate::content::{users, ActAs};
use crate::store::Store;

pub(crate) const ADMIN: &str = "admin@localhost";
pub(crate) const EDITOR: &str = "ed@example.org";
pub(crate) const AUTHOR: &str = "ann@example.org";
pub(crate) const OTHER_AUTHOR: &str = "bob@example.org";

pub(crate) struct Site {
    _dir: tempfile::TempDir,
    pub settings: Settings,
    pub store: Store,
}

/// A site whose `content/` folder exists (so posts are synced to files there).
pub(crate) fn site() -> Site {
    let dir = tempfile::tempdir().unwrap();
    let config = toml::from_str("title = 't'\nbase_url = 'https://example.org/'").unwrap();
    let settings = Settings::from_config(dir.path(), config).unwrap();
    std::fs::create_dir_all(&settings.content).unwrap();
    let mut store = Store::open(&settings.store, true).unwrap();
    let admin = ActAs::email(ADMIN);
    for (name, email, role) in [
        ("Ed", EDITOR, "editor"),
        ("Ann", AUTHOR, "author"),
        ("Bob", OTHER_AUTHOR, "author"),
    ] {
        let new = users::NewUser {
            name,
            email,
            role,
            passphrase: None,
        };
        users::add(&mut store, &admin, &new).unwrap();
    }
    Site {
        _dir: dir,
        settings,
        store,
    }
}

/// Acting as `email`.
pub(crate) fn by(email: &str) -> ActAs {
    ActAs::email(email)
}
