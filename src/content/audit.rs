//! Reading the audit log (every change above writes its row in the same transaction).

use anyhow::Result;

use crate::model::Timestamp;
use crate::store::content::audit::{self, Entry};
use crate::store::Store;

/// Audit rows at or after `since` (a store timestamp), oldest first, at most `limit` (the
/// newest ones).
pub fn list(store: &mut Store, since: Option<Timestamp>, limit: usize) -> Result<Vec<Entry>> {
    store.read(|tx| audit::list(tx, since, limit))
}
