//! Zendesk's status-table preset.

use crate::mapping::StatusTable;
use crate::status::Presence;

use super::PROVIDER;

/// Zendesk's unified / Talk statuses as a [`StatusTable`]: `online`, `away`,
/// `transfers_only`, `offline` read and write as themselves; any other value (a custom
/// unified status such as "In a meeting") is unmapped unless the user maps it
/// ([`StatusMap::with_reading`](crate::mapping::StatusMap::with_reading)).
pub fn status_table() -> StatusTable {
    let mut table = StatusTable::new(PROVIDER).unknown("Zendesk custom status is not synced");
    for presence in Presence::ALL {
        table = table.read(presence.as_str(), presence).write(presence, presence.as_str());
    }
    table
}
