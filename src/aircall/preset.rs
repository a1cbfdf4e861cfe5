//! Aircall's status-table preset.

use crate::mapping::StatusTable;
use crate::status::Presence;

use super::PROVIDER;

/// Aircall's statuses as a [`StatusTable`]: `available` → Online, `unavailable` →
/// Offline, `custom` (Automatic Schedule; the equivalence is UNCONFIRMED by Aircall)
/// unmapped. Online is written as `available`; every other presence as `unavailable`.
///
/// Pair it with another provider's table in a [`StatusMap`](crate::mapping::StatusMap):
/// `StatusMap::new(aircall::status_table(), zendesk::status_table())`.
pub fn status_table() -> StatusTable {
    StatusTable::new(PROVIDER)
        .read("available", Presence::Online)
        .read("unavailable", Presence::Offline)
        .unmapped("custom", "Aircall Automatic Schedule is not synced")
        .write(Presence::Online, "available")
        .write(Presence::Away, "unavailable")
        .write(Presence::TransfersOnly, "unavailable")
        .write(Presence::Offline, "unavailable")
        .unknown("Aircall status is not mapped")
}
