//! Units of work on a store: `Store::write` (an IMMEDIATE transaction) and `Store::read` (a
//! deferred one, one consistent snapshot), each running a closure with a [`Tx`].
//!
//! The closure's `Ok` commits, its `Err` (or a panic) rolls back, so a caller never holds a
//! transaction open across a prompt or forgets to commit. The store's query functions take a
//! `&Tx`; its connection stays inside `store/`.

use rusqlite::{Params, Row, Statement, Transaction, TransactionBehavior};

use super::Store;

/// An open transaction on a store. Only `store/` reaches the connection under it.
pub struct Tx<'c> {
    tx: Transaction<'c>,
}

/// The connection's statements, for the store's query modules only (the same names as
/// rusqlite's, so a query function reads the same whether it is given a `Tx` or not).
impl Tx<'_> {
    pub(in crate::store) fn prepare(&self, sql: &str) -> rusqlite::Result<Statement<'_>> {
        self.tx.prepare(sql)
    }

    pub(in crate::store) fn execute<P: Params>(
        &self,
        sql: &str,
        params: P,
    ) -> rusqlite::Result<usize> {
        self.tx.execute(sql, params)
    }

    pub(in crate::store) fn query_row<T, P, F>(
        &self,
        sql: &str,
        params: P,
        f: F,
    ) -> rusqlite::Result<T>
    where
        P: Params,
        F: FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    {
        self.tx.query_row(sql, params, f)
    }

    /// The connection under the transaction, for store code that takes a `&Connection`
    /// (the post writer, which also runs outside a `Tx` during import).
    pub(in crate::store) fn conn(&self) -> &rusqlite::Connection {
        &self.tx
    }

    pub(in crate::store) fn last_insert_rowid(&self) -> i64 {
        self.tx.last_insert_rowid()
    }
}

impl Store {
    /// Runs `f` in a write transaction, which takes the store's write lock when it begins
    /// (waiting the busy timeout for another writer), and commits when `f` returns `Ok`.
    pub fn write<T, E>(&mut self, f: impl FnOnce(&Tx) -> Result<T, E>) -> Result<T, E>
    where
        E: From<rusqlite::Error>,
    {
        self.run(TransactionBehavior::Immediate, f)
    }

    /// Runs `f` in a read transaction: everything it reads comes from one snapshot.
    pub fn read<T, E>(&mut self, f: impl FnOnce(&Tx) -> Result<T, E>) -> Result<T, E>
    where
        E: From<rusqlite::Error>,
    {
        self.run(TransactionBehavior::Deferred, f)
    }

    fn run<T, E>(
        &mut self,
        behavior: TransactionBehavior,
        f: impl FnOnce(&Tx) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<rusqlite::Error>,
    {
        let tx = Tx {
            tx: self.conn.transaction_with_behavior(behavior)?,
        };
        let value = f(&tx)?;
        tx.tx.commit()?;
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("blog.db"), true).unwrap();
        (dir, store)
    }

    fn count(store: &mut Store) -> i64 {
        store
            .read(|tx| tx.query_row("SELECT COUNT(*) FROM tags", [], |r| r.get(0)))
            .unwrap()
    }

    #[test]
    fn ok_commits_and_err_rolls_back() {
        let (_dir, mut store) = store();
        let insert = "INSERT INTO tags (name, slug) VALUES ('a', 'a')";
        let failed: anyhow::Result<()> = store.write(|tx| {
            tx.execute(insert, [])?;
            anyhow::bail!("refused")
        });
        assert!(failed.is_err());
        assert_eq!(count(&mut store), 0);
        store
            .write(|tx| tx.execute(insert, []).map(|_| ()))
            .unwrap();
        assert_eq!(count(&mut store), 1);
    }
}
