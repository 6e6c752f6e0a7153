//! The key-value store (`key_value_store`): what bloggo remembers between runs that is not
//! content, such as the last backup taken and the last one verified (`crate::backup::record`).
//!
//! Values are JSON, typed by their key ([`Key`]): a key names its value's type once, where it
//! is declared, and every read and write goes through it. An entry past its `expires_at` reads
//! as absent; [`set`] removes expired entries as it writes.

use std::marker::PhantomData;

use anyhow::{Context, Result};
use rusqlite::{params, OptionalExtension};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::Tx;
use crate::model::Timestamp;

/// A key and the type of its value.
#[derive(Debug)]
pub struct Key<T> {
    name: &'static str,
    value: PhantomData<fn() -> T>,
}

impl<T> Key<T> {
    pub const fn new(name: &'static str) -> Key<T> {
        Key {
            name,
            value: PhantomData,
        }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }
}

/// The value of `key`, unless it is absent or expired.
pub fn get<T: DeserializeOwned>(tx: &Tx, key: &Key<T>) -> Result<Option<T>> {
    let text: Option<String> = tx
        .query_row(
            "SELECT value FROM key_value_store
             WHERE key = ?1 AND (expires_at IS NULL OR expires_at > ?2)",
            params![key.name, Timestamp::now()],
            |r| r.get(0),
        )
        .optional()?;
    text.map(|t| {
        serde_json::from_str(&t)
            .with_context(|| format!("key-value store: {:?} holds an unreadable value", key.name))
    })
    .transpose()
}

/// Sets `key` (until `expires`, when given), and removes every expired entry.
pub fn set<T: Serialize>(
    tx: &Tx,
    key: &Key<T>,
    value: &T,
    expires: Option<Timestamp>,
) -> Result<()> {
    let now = Timestamp::now();
    tx.execute(
        "DELETE FROM key_value_store WHERE expires_at IS NOT NULL AND expires_at <= ?1",
        [now],
    )?;
    tx.execute(
        "INSERT INTO key_value_store (key, value, expires_at, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?4)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value,
             expires_at = excluded.expires_at, updated_at = excluded.updated_at",
        params![key.name, serde_json::to_string(value)?, expires, now],
    )?;
    Ok(())
}

/// Removes `key`; false when it was not there.
pub fn delete<T>(tx: &Tx, key: &Key<T>) -> Result<bool> {
    Ok(tx.execute("DELETE FROM key_value_store WHERE key = ?1", [key.name])? > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Mark {
        id: String,
        n: u32,
    }

    const MARK: Key<Mark> = Key::new("test.mark");
    const OTHER: Key<String> = Key::new("test.other");

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.sqlite"), true).unwrap();
        (dir, store)
    }

    #[test]
    fn values_round_trip_by_key_and_are_replaced_and_deleted() {
        let (_d, mut s) = store();
        assert_eq!(s.read(|tx| get(tx, &MARK)).unwrap(), None);
        let m = Mark {
            id: "a".into(),
            n: 1,
        };
        s.write(|tx| set(tx, &MARK, &m, None)).unwrap();
        s.write(|tx| set(tx, &OTHER, &"x".to_string(), None))
            .unwrap();
        assert_eq!(s.read(|tx| get(tx, &MARK)).unwrap(), Some(m));
        let m2 = Mark {
            id: "b".into(),
            n: 2,
        };
        s.write(|tx| set(tx, &MARK, &m2, None)).unwrap();
        assert_eq!(s.read(|tx| get(tx, &MARK)).unwrap(), Some(m2));
        assert!(s.write(|tx| delete(tx, &MARK)).unwrap());
        assert!(!s.write(|tx| delete(tx, &MARK)).unwrap());
        assert_eq!(s.read(|tx| get(tx, &MARK)).unwrap(), None);
        assert_eq!(s.read(|tx| get(tx, &OTHER)).unwrap().as_deref(), Some("x"));
    }

    #[test]
    fn an_expired_value_reads_as_absent_and_goes_on_the_next_write() {
        let (_d, mut s) = store();
        let past = Timestamp::from(chrono::Utc::now() - chrono::Duration::minutes(1));
        let future = Timestamp::from(chrono::Utc::now() + chrono::Duration::hours(1));
        s.write(|tx| set(tx, &OTHER, &"old".to_string(), Some(past)))
            .unwrap();
        assert_eq!(s.read(|tx| get(tx, &OTHER)).unwrap(), None);
        let m = Mark {
            id: "a".into(),
            n: 1,
        };
        s.write(|tx| set(tx, &MARK, &m, Some(future))).unwrap();
        assert_eq!(s.read(|tx| get(tx, &MARK)).unwrap(), Some(m));
        let left: i64 = s
            .read(|tx| tx.query_row("SELECT count(*) FROM key_value_store", [], |r| r.get(0)))
            .unwrap();
        assert_eq!(left, 1);
    }

    #[test]
    fn a_value_of_another_shape_is_an_error_naming_the_key() {
        let (_d, mut s) = store();
        s.write(|tx| set(tx, &OTHER, &"text".to_string(), None))
            .unwrap();
        let wrong: Key<Mark> = Key::new("test.other");
        let e = format!("{:#}", s.read(|tx| get(tx, &wrong)).unwrap_err());
        assert!(e.contains("\"test.other\""), "{e}");
    }
}
