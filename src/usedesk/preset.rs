//! Usedesk's status-table preset.

use crate::mapping::StatusTable;
use crate::status::Presence;

use super::PROVIDER;

/// Usedesk's per-section statuses (chat, tickets) as a [`StatusTable`]: `online` /
/// `offline`. Away and Transfers only are written as `offline` (Usedesk has no break status
/// in its API).
pub fn status_table() -> StatusTable {
    StatusTable::new(PROVIDER)
        .read("online", Presence::Online)
        .read("offline", Presence::Offline)
        .write(Presence::Online, "online")
        .write(Presence::Away, "offline")
        .write(Presence::TransfersOnly, "offline")
        .write(Presence::Offline, "offline")
        .unknown("Usedesk status is not mapped")
}
