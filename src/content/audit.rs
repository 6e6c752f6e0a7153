//! Reading the audit log (every change above writes its row in the same transaction), and
//! the rows of admin API calls that change nothing in the store.

use anyhow::Result;

use crate::model::Timestamp;
use crate::store::content::audit::{self, Entry};
use crate::store::Store;

/// Audit rows at or after `since` (a store timestamp), oldest first, at most `limit` (the
/// newest ones).
pub fn list(store: &mut Store, since: Option<Timestamp>, limit: usize) -> Result<Vec<Entry>> {
    store.read(|tx| audit::list(tx, since, limit))
}

/// Appends the audit row of an admin API call (or a refusal of one): who (`None` when
/// nobody signed in), what, and the client's address and user agent.
pub fn record(
    store: &mut Store,
    user_id: Option<i64>,
    action: &str,
    resource_type: &str,
    values: Option<&serde_json::Value>,
    client: &audit::Client,
) -> Result<()> {
    store.write(|tx| audit::write_from(tx, user_id, action, resource_type, None, values, client))
}
