//! Provider-neutral presence, per channel, and the agents and groups the ports exchange.
//!
//! Every provider has its own status vocabulary (Aircall `available` / `unavailable` /
//! `custom`, Zendesk `online` / `away` / `transfers_only` / `offline` plus custom unified
//! statuses, Usedesk `0` / `1` per section). deskbridge keeps the provider's own value as a
//! [`NativeStatus`] and converts it to a [`Presence`] only through a
//! [`StatusMap`](crate::mapping::StatusMap), so a value nobody mapped is reported as
//! skipped rather than guessed.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Whether an agent can be reached, in provider-neutral terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    /// Routable: takes new work.
    Online,
    /// Briefly away: keeps queued work, takes no new work.
    Away,
    /// Takes only transfers from other agents (Zendesk's "Transfers only").
    TransfersOnly,
    /// Not routable.
    Offline,
}

impl Presence {
    /// All presences, in order.
    pub const ALL: [Presence; 4] = [Self::Online, Self::Away, Self::TransfersOnly, Self::Offline];

    /// The snake_case name (`online`, `away`, `transfers_only`, `offline`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Online => "online",
            Self::Away => "away",
            Self::TransfersOnly => "transfers_only",
            Self::Offline => "offline",
        }
    }
}

impl fmt::Display for Presence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Presence {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s).ok_or_else(|| {
            crate::Error::invalid(
                "presence",
                format!("unknown presence \"{s}\"; expected online, away, transfers_only or offline"),
            )
        })
    }
}

/// A channel on which an agent has a presence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Phone calls (Aircall, Zendesk Talk, Talkdesk).
    Voice,
    /// Live chat (Usedesk chat section).
    Chat,
    /// Tickets / e-mail / "requests" (Usedesk ticket section, Zendesk Support).
    Tickets,
    /// Asynchronous messaging (Zendesk messaging).
    Messaging,
}

impl Channel {
    /// All channels, in order.
    pub const ALL: [Channel; 4] = [Self::Voice, Self::Chat, Self::Tickets, Self::Messaging];

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Voice => "voice",
            Self::Chat => "chat",
            Self::Tickets => "tickets",
            Self::Messaging => "messaging",
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A status exactly as a provider names it (`available`, `transfers_only`, `In a meeting`).
///
/// Comparison is exact: providers' values are case-sensitive identifiers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NativeStatus(pub String);

impl NativeStatus {
    /// Wrap a provider's value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The value as the provider spells it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NativeStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for NativeStatus {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

impl From<String> for NativeStatus {
    fn from(s: String) -> Self {
        Self(s)
    }
}

/// A provider's agent, as the [`StatusProvider`](crate::ports::StatusProvider) port
/// reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agent {
    /// The provider's id for the agent, as a string (Zendesk ids exceed 32 bits; some
    /// providers use strings).
    pub id: String,
    /// E-mail address as the provider stores it (the identity join normalises it).
    pub email: Option<String>,
    /// Display name.
    pub name: String,
    /// Names of the groups the agent belongs to, exactly as the provider spells them.
    pub groups: Vec<String>,
    /// The agent's current status per channel, in the provider's own values.
    pub statuses: BTreeMap<Channel, NativeStatus>,
}

impl Agent {
    /// The status on `channel`, if the provider reports one.
    pub fn status(&self, channel: Channel) -> Option<&NativeStatus> {
        self.statuses.get(&channel)
    }
}

/// A group (team, department) of agents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    /// The provider's id.
    pub id: String,
    /// The name exactly as the provider spells it.
    pub name: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presence_round_trips_through_its_name() {
        for p in Presence::ALL {
            assert_eq!(p.as_str().parse::<Presence>().ok(), Some(p));
        }
        let err = "busy".parse::<Presence>().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("\"busy\""), "{err}");
    }
}
