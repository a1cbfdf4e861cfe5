//! Status mapping as data: how each provider's native statuses read as [`Presence`], and
//! which native status to write for a presence.
//!
//! A [`StatusTable`] describes one provider. A [`StatusMap`] pairs the tables of a link's
//! two sides (side [`Side::A`] and side [`Side::B`]) and translates a value from one side to
//! the other through presence. This module is the generic machinery; each provider module
//! exports its own table (`aircall::status_table()`, `zendesk::status_table()`,
//! `usedesk::status_table()`), and a link pairs two of them with [`StatusMap::new`]. The
//! Aircall and Zendesk presets reproduce the seed table of Aircall's Agent Status Sync
//! exactly:
//!
//! | From | To |
//! |---|---|
//! | Aircall Available | Zendesk Online |
//! | Zendesk Online | Aircall Available |
//! | Aircall Unavailable | Zendesk Offline |
//! | Zendesk Offline, Away, Transfers only | Aircall Unavailable |
//! | Aircall Automatic Schedule (`custom`) | not synced |
//! | Zendesk custom statuses | not synced |
//!
//! ```
//! # #[cfg(all(feature = "aircall", feature = "zendesk"))] {
//! use deskbridge::mapping::{Side, StatusMap, Translation};
//! use deskbridge::status::NativeStatus;
//! use deskbridge::{aircall, zendesk};
//!
//! // Side A = Aircall, side B = Zendesk (`StatusMap::aircall_zendesk()` is the same pair).
//! let map = StatusMap::new(aircall::status_table(), zendesk::status_table());
//! assert_eq!(map.translate(Side::A, &"available".into()), Translation::To("online".into()));
//! assert_eq!(map.translate(Side::B, &"away".into()), Translation::To("unavailable".into()));
//! assert!(matches!(map.translate(Side::A, &"custom".into()), Translation::Unmapped { .. }));
//!
//! // A custom Zendesk status nobody mapped is skipped; a user can map it.
//! let meeting = NativeStatus::from("In a meeting");
//! assert!(matches!(map.translate(Side::B, &meeting), Translation::Unmapped { .. }));
//! let map = map.with_reading(Side::B, "In a meeting", deskbridge::status::Presence::Away);
//! assert_eq!(map.translate(Side::B, &meeting), Translation::To("unavailable".into()));
//! # }
//! ```
//!
//! Nothing is ever guessed: a native value absent from a table reads as
//! [`Reading::Unmapped`] with the table's reason, and a presence with no native value to
//! write is [`Translation::NotWritable`].

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::status::{NativeStatus, Presence};

/// One side of a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Side {
    /// The first provider of the link (Aircall in the seed preset).
    A,
    /// The second provider of the link (Zendesk in the seed preset).
    B,
}

impl Side {
    /// The other side.
    pub fn other(self) -> Side {
        match self {
            Side::A => Side::B,
            Side::B => Side::A,
        }
    }

    /// 0 for A, 1 for B (for indexing per-side arrays).
    pub fn index(self) -> usize {
        match self {
            Side::A => 0,
            Side::B => 1,
        }
    }
}

/// How a native status reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Reading {
    /// The value means this presence.
    Presence(Presence),
    /// The value has no presence (Aircall Automatic Schedule, an unmapped Zendesk custom
    /// status); it is never synced, and the reason says why.
    Unmapped {
        /// Human-readable reason.
        reason: String,
    },
}

/// Which native value to write for a presence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum WriteRule {
    /// Write this native value.
    Write(NativeStatus),
    /// Never write this presence; the reason says why.
    NotWritable {
        /// Human-readable reason.
        reason: String,
    },
}

/// One provider's status vocabulary: native → presence and presence → native.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusTable {
    /// Provider name (`aircall`, `zendesk`, `usedesk`).
    pub provider: String,
    /// Native values and how they read. Values absent here are unmapped.
    pub readings: BTreeMap<NativeStatus, Reading>,
    /// What to write for each presence. Presences absent here are not writable.
    pub writes: BTreeMap<Presence, WriteRule>,
    /// The reason reported for a native value absent from `readings`.
    pub unknown_reason: String,
}

impl StatusTable {
    /// An empty table for `provider`: every value unmapped, nothing writable.
    pub fn new(provider: impl Into<String>) -> Self {
        let provider = provider.into();
        Self {
            unknown_reason: format!("{provider} status is not mapped"),
            provider,
            readings: BTreeMap::new(),
            writes: BTreeMap::new(),
        }
    }

    /// Read `native` as `presence` (adds or overrides).
    pub fn read(mut self, native: impl Into<NativeStatus>, presence: Presence) -> Self {
        self.readings.insert(native.into(), Reading::Presence(presence));
        self
    }

    /// Mark `native` as never synced, with a reason (adds or overrides).
    pub fn unmapped(mut self, native: impl Into<NativeStatus>, reason: impl Into<String>) -> Self {
        self.readings.insert(native.into(), Reading::Unmapped { reason: reason.into() });
        self
    }

    /// Write `native` for `presence` (adds or overrides).
    pub fn write(mut self, presence: Presence, native: impl Into<NativeStatus>) -> Self {
        self.writes.insert(presence, WriteRule::Write(native.into()));
        self
    }

    /// Never write anything for `presence`.
    pub fn never_write(mut self, presence: Presence, reason: impl Into<String>) -> Self {
        self.writes.insert(presence, WriteRule::NotWritable { reason: reason.into() });
        self
    }

    /// The reason reported for native values absent from the table.
    pub fn unknown(mut self, reason: impl Into<String>) -> Self {
        self.unknown_reason = reason.into();
        self
    }

    /// How `native` reads.
    pub fn reading(&self, native: &NativeStatus) -> Reading {
        match self.readings.get(native) {
            Some(r) => r.clone(),
            None => Reading::Unmapped { reason: format!("{} (\"{native}\")", self.unknown_reason) },
        }
    }

    /// The presence `native` reads as, if any (no allocation).
    pub fn presence_of(&self, native: &NativeStatus) -> Option<Presence> {
        match self.readings.get(native) {
            Some(Reading::Presence(p)) => Some(*p),
            _ => None,
        }
    }

    /// What to write for `presence`.
    pub fn write_rule(&self, presence: Presence) -> Option<&NativeStatus> {
        match self.writes.get(&presence) {
            Some(WriteRule::Write(n)) => Some(n),
            _ => None,
        }
    }
}

/// The result of translating a value from one side to the other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Translation {
    /// Write this value on the other side.
    To(NativeStatus),
    /// The source value has no presence: not synced.
    Unmapped {
        /// Why.
        reason: String,
    },
    /// The source value has a presence, but the other side has no value for it.
    NotWritable {
        /// The presence read from the source.
        presence: Presence,
        /// Why.
        reason: String,
    },
}

/// The status tables of a link's two sides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusMap {
    /// Side A's table.
    pub a: StatusTable,
    /// Side B's table.
    pub b: StatusTable,
}

impl StatusMap {
    /// Pair two tables.
    pub fn new(a: StatusTable, b: StatusTable) -> Self {
        Self { a, b }
    }

    /// The seed preset: side A = Aircall, side B = Zendesk (see the module docs); the
    /// same as `StatusMap::new(aircall::status_table(), zendesk::status_table())`.
    #[cfg(all(feature = "aircall", feature = "zendesk"))]
    pub fn aircall_zendesk() -> Self {
        Self::new(crate::aircall::status_table(), crate::zendesk::status_table())
    }

    /// The table of `side`.
    pub fn table(&self, side: Side) -> &StatusTable {
        match side {
            Side::A => &self.a,
            Side::B => &self.b,
        }
    }

    fn table_mut(&mut self, side: Side) -> &mut StatusTable {
        match side {
            Side::A => &mut self.a,
            Side::B => &mut self.b,
        }
    }

    /// Override or add a reading on `side` (e.g. map a Zendesk custom status).
    pub fn with_reading(mut self, side: Side, native: impl Into<NativeStatus>, presence: Presence) -> Self {
        let t = std::mem::replace(self.table_mut(side), StatusMap::placeholder());
        *self.table_mut(side) = t.read(native, presence);
        self
    }

    /// Override or add the value written on `side` for `presence`.
    pub fn with_write(mut self, side: Side, presence: Presence, native: impl Into<NativeStatus>) -> Self {
        let t = std::mem::replace(self.table_mut(side), StatusMap::placeholder());
        *self.table_mut(side) = t.write(presence, native);
        self
    }

    fn placeholder() -> StatusTable {
        StatusTable::new("")
    }

    /// Translate `value`, read on side `from`, into the value to hold on the other side.
    pub fn translate(&self, from: Side, value: &NativeStatus) -> Translation {
        let source = self.table(from);
        let presence = match source.presence_of(value) {
            Some(p) => p,
            None => {
                return match source.reading(value) {
                    Reading::Unmapped { reason } => Translation::Unmapped { reason },
                    Reading::Presence(_) => Translation::Unmapped { reason: source.unknown_reason.clone() },
                };
            }
        };
        let target = self.table(from.other());
        match target.writes.get(&presence) {
            Some(WriteRule::Write(n)) => Translation::To(n.clone()),
            Some(WriteRule::NotWritable { reason }) => {
                Translation::NotWritable { presence, reason: reason.clone() }
            }
            None => Translation::NotWritable {
                presence,
                reason: format!("{} has no status for {presence}", target.provider),
            },
        }
    }

    /// The value to write on the other side, without allocating reasons (hot path).
    pub fn translate_value(&self, from: Side, value: &NativeStatus) -> Option<&NativeStatus> {
        let presence = self.table(from).presence_of(value)?;
        self.table(from.other()).write_rule(presence)
    }
}

#[cfg(all(test, feature = "aircall", feature = "zendesk"))]
mod tests {
    use super::*;

    fn t(map: &StatusMap, side: Side, v: &str) -> Translation {
        map.translate(side, &NativeStatus::from(v))
    }

    #[test]
    fn seed_table_is_reproduced_exactly() {
        let m = StatusMap::aircall_zendesk();
        assert_eq!(t(&m, Side::A, "available"), Translation::To("online".into()));
        assert_eq!(t(&m, Side::B, "online"), Translation::To("available".into()));
        assert_eq!(t(&m, Side::A, "unavailable"), Translation::To("offline".into()));
        for z in ["offline", "away", "transfers_only"] {
            assert_eq!(t(&m, Side::B, z), Translation::To("unavailable".into()), "{z}");
        }
        match t(&m, Side::A, "custom") {
            Translation::Unmapped { reason } => assert!(reason.contains("Automatic Schedule")),
            other => panic!("{other:?}"),
        }
        match t(&m, Side::B, "In a meeting") {
            Translation::Unmapped { reason } => {
                assert!(reason.contains("custom status") && reason.contains("In a meeting"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unknown_values_are_never_guessed() {
        let m = StatusMap::aircall_zendesk();
        // Case matters: provider values are identifiers.
        assert!(matches!(t(&m, Side::A, "Available"), Translation::Unmapped { .. }));
        assert!(matches!(t(&m, Side::A, ""), Translation::Unmapped { .. }));
        assert_eq!(m.translate_value(Side::A, &"custom".into()), None);
    }

    #[test]
    fn overrides_and_additions() {
        let m = StatusMap::aircall_zendesk()
            .with_reading(Side::B, "In a meeting", Presence::Away)
            .with_reading(Side::A, "custom", Presence::Online)
            .with_write(Side::B, Presence::Offline, "away");
        assert_eq!(t(&m, Side::B, "In a meeting"), Translation::To("unavailable".into()));
        assert_eq!(t(&m, Side::A, "custom"), Translation::To("online".into()));
        assert_eq!(t(&m, Side::A, "unavailable"), Translation::To("away".into()));
        let never = StatusMap::new(
            crate::zendesk::status_table(),
            crate::aircall::status_table().never_write(Presence::Away, "keep"),
        );
        assert!(matches!(
            t(&never, Side::A, "away"),
            Translation::NotWritable { presence: Presence::Away, .. }
        ));
    }

    #[test]
    fn map_is_serde_data() {
        let m = StatusMap::aircall_zendesk();
        let json = serde_json::to_string(&m).unwrap();
        let back: StatusMap = serde_json::from_str(&json).unwrap();
        assert_eq!(back, m);
    }
}
