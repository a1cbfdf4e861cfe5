//! Provider-neutral presence, per channel, and the agents and groups the ports exchange.
//!
//! Every provider has its own status vocabulary (Aircall `available` / `unavailable` /
//! `custom`, Zendesk `online` / `away` / `transfers_only` / `offline` plus custom unified
//! statuses, Usedesk `0` / `1` per section). deskbridge keeps the provider's own value as a
//! [`NativeStatus`] and converts it to a [`Presence`] only through a
//! [`StatusMap`](crate::mapping::StatusMap), so a value nobody mapped is reported as
//! skipped rather than guessed.

use serde::{Deserialize, Serialize};
use smol_str::SmolStr;
use std::fmt;

/// Whether an agent can be reached, in provider-neutral terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
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
#[non_exhaustive]
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

    /// Position in [`Channel::ALL`].
    pub const fn index(self) -> usize {
        match self {
            Self::Voice => 0,
            Self::Chat => 1,
            Self::Tickets => 2,
            Self::Messaging => 3,
        }
    }

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
/// Comparison is exact: providers' values are case-sensitive identifiers. Values of up
/// to 23 bytes (every built-in status of every provider) are stored inline, so creating,
/// cloning and comparing them never allocates or follows a pointer; longer values are
/// shared, so cloning them never copies.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NativeStatus(SmolStr);

impl NativeStatus {
    /// Wrap a provider's value.
    pub fn new(value: impl AsRef<str>) -> Self {
        Self(SmolStr::new(value))
    }
    /// The value as the provider spells it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NativeStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("NativeStatus").field(&self.as_str()).finish()
    }
}

/// An immutable string that keeps up to 23 bytes inline and shares longer ones, so
/// creating a short one never allocates and cloning any of them never copies.
///
/// Plans and reports name every agent they mention with these (ids, e-mails, names);
/// they dereference to `&str` and compare with `str` and `String`.
///
/// ```
/// use deskbridge::status::Text;
///
/// let id = Text::from("z-1042");
/// assert_eq!(id, "z-1042");
/// assert_eq!(id.len(), 6);
/// assert_eq!(serde_json::to_string(&id).ok().as_deref(), Some("\"z-1042\""));
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Text(SmolStr);

impl Text {
    /// A text with `value`'s contents.
    pub fn new(value: impl AsRef<str>) -> Self {
        Self(SmolStr::new(value))
    }
    /// The contents.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for Text {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl PartialEq<Text> for str {
    fn eq(&self, other: &Text) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<Text> for &str {
    fn eq(&self, other: &Text) -> bool {
        *self == other.as_str()
    }
}

impl PartialEq<Text> for String {
    fn eq(&self, other: &Text) -> bool {
        self == other.as_str()
    }
}

/// The conversions and comparisons [`NativeStatus`] and [`Text`] share: both wrap a
/// `SmolStr` and read as the `str` they hold.
macro_rules! inline_string_impls {
    ($name:ident) => {
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                self.0 == other.as_str()
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(SmolStr::new(s))
            }
        }

        impl From<&String> for $name {
            fn from(s: &String) -> Self {
                Self(SmolStr::new(s))
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(SmolStr::from(s))
            }
        }

        impl From<$name> for String {
            fn from(s: $name) -> Self {
                s.0.into()
            }
        }
    };
}

inline_string_impls!(NativeStatus);
inline_string_impls!(Text);

/// An agent's status per channel: at most one provider value per [`Channel`].
///
/// Works like a small map from [`Channel`] to [`NativeStatus`] (`get`, `insert`, `remove`,
/// `iter` in channel order) and serialises as one: `{"voice": "online"}`. The values are
/// stored inline in the agent, one slot per channel, so reading an agent's status touches
/// no other memory (a `BTreeMap` would allocate a node per agent, and the planner would
/// wait on it for every agent).
///
/// ```
/// use deskbridge::status::{Channel, NativeStatus, Statuses};
///
/// let mut statuses = Statuses::from([(Channel::Chat, NativeStatus::from("1"))]);
/// statuses.insert(Channel::Tickets, NativeStatus::from("0"));
/// assert_eq!(statuses.get(Channel::Chat).map(NativeStatus::as_str), Some("1"));
/// assert_eq!(statuses.len(), 2);
/// assert_eq!(serde_json::to_string(&statuses).ok().as_deref(), Some(r#"{"chat":"1","tickets":"0"}"#));
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Statuses([Option<NativeStatus>; Channel::ALL.len()]);

impl Statuses {
    /// No status on any channel.
    pub fn new() -> Self {
        Self::default()
    }

    /// The status on `channel`, if any.
    pub fn get(&self, channel: Channel) -> Option<&NativeStatus> {
        self.0[channel.index()].as_ref()
    }

    /// Set the status on `channel`, returning the value it replaces.
    pub fn insert(&mut self, channel: Channel, value: NativeStatus) -> Option<NativeStatus> {
        self.0[channel.index()].replace(value)
    }

    /// Remove the status on `channel`, returning it.
    pub fn remove(&mut self, channel: Channel) -> Option<NativeStatus> {
        self.0[channel.index()].take()
    }

    /// Whether a status is set on `channel`.
    pub fn contains(&self, channel: Channel) -> bool {
        self.0[channel.index()].is_some()
    }

    /// The statuses set, in [`Channel`] order.
    pub fn iter(&self) -> StatusesIter<'_> {
        StatusesIter { channels: Channel::ALL.into_iter().zip(self.0.iter()) }
    }

    /// How many channels have a status.
    pub fn len(&self) -> usize {
        self.0.iter().filter(|value| value.is_some()).count()
    }

    /// True when no channel has a status.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(Option::is_none)
    }
}

impl fmt::Debug for Statuses {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Extend<(Channel, NativeStatus)> for Statuses {
    fn extend<I: IntoIterator<Item = (Channel, NativeStatus)>>(&mut self, iter: I) {
        for (channel, value) in iter {
            self.insert(channel, value);
        }
    }
}

impl FromIterator<(Channel, NativeStatus)> for Statuses {
    fn from_iter<I: IntoIterator<Item = (Channel, NativeStatus)>>(iter: I) -> Self {
        let mut statuses = Self::new();
        statuses.extend(iter);
        statuses
    }
}

impl<const N: usize> From<[(Channel, NativeStatus); N]> for Statuses {
    fn from(entries: [(Channel, NativeStatus); N]) -> Self {
        entries.into_iter().collect()
    }
}

impl<'a> IntoIterator for &'a Statuses {
    type Item = (Channel, &'a NativeStatus);
    type IntoIter = StatusesIter<'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// The statuses of a [`Statuses`], in [`Channel`] order (see [`Statuses::iter`]).
#[derive(Debug, Clone)]
pub struct StatusesIter<'a> {
    channels: std::iter::Zip<
        std::array::IntoIter<Channel, { Channel::ALL.len() }>,
        std::slice::Iter<'a, Option<NativeStatus>>,
    >,
}

impl<'a> Iterator for StatusesIter<'a> {
    type Item = (Channel, &'a NativeStatus);
    fn next(&mut self) -> Option<Self::Item> {
        self.channels.by_ref().find_map(|(channel, value)| Some((channel, value.as_ref()?)))
    }
}

impl Serialize for Statuses {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for Statuses {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StatusesVisitor;
        impl<'de> serde::de::Visitor<'de> for StatusesVisitor {
            type Value = Statuses;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map from channel (voice, chat, tickets, messaging) to status")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Statuses, A::Error> {
                let mut statuses = Statuses::new();
                while let Some((channel, value)) = map.next_entry::<Channel, NativeStatus>()? {
                    statuses.insert(channel, value);
                }
                Ok(statuses)
            }
        }
        deserializer.deserialize_map(StatusesVisitor)
    }
}

/// A provider's agent, as the [`StatusProvider`](crate::ports::StatusProvider) port
/// reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agent {
    /// The provider's id for the agent, as a string (Zendesk ids exceed 32 bits; some
    /// providers use strings).
    pub id: Text,
    /// E-mail address as the provider stores it (the identity join normalises it).
    pub email: Option<Text>,
    /// Display name.
    pub name: Text,
    /// Names of the groups the agent belongs to, exactly as the provider spells them.
    pub groups: Vec<String>,
    /// The agent's current status per channel, in the provider's own values.
    pub statuses: Statuses,
}

impl Agent {
    /// An agent with this id and display name, no e-mail, no group and no status yet (add
    /// them with the `with_*` methods). For an embedder's own
    /// [`StatusProvider`](crate::ports::StatusProvider):
    ///
    /// ```
    /// use deskbridge::status::{Agent, Channel};
    /// let agent = Agent::new("7", "Ana").with_email("ana@example.com").with_status(Channel::Voice, "available");
    /// assert_eq!(agent.status(Channel::Voice).map(|s| s.as_str()), Some("available"));
    /// ```
    pub fn new(id: impl Into<Text>, name: impl Into<Text>) -> Self {
        Self {
            id: id.into(),
            email: None,
            name: name.into(),
            groups: Vec::new(),
            statuses: Statuses::default(),
        }
    }

    /// The same agent with this e-mail (the identity join's key).
    pub fn with_email(mut self, email: impl Into<Text>) -> Self {
        self.email = Some(email.into());
        self
    }

    /// The same agent in these groups (names exactly as the provider spells them).
    pub fn with_groups(mut self, groups: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.groups = groups.into_iter().map(Into::into).collect();
        self
    }

    /// The same agent with `status` on `channel` (replacing any status there).
    pub fn with_status(mut self, channel: Channel, status: impl Into<NativeStatus>) -> Self {
        self.statuses.insert(channel, status.into());
        self
    }

    /// The status on `channel`, if the provider reports one.
    pub fn status(&self, channel: Channel) -> Option<&NativeStatus> {
        self.statuses.get(channel)
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
    fn statuses_serialise_like_a_map_in_channel_order() {
        let statuses = Statuses::from([
            (Channel::Tickets, NativeStatus::from("0")),
            (Channel::Voice, NativeStatus::from("online")),
        ]);
        let json = serde_json::to_string(&statuses).unwrap_or_default();
        assert_eq!(json, r#"{"voice":"online","tickets":"0"}"#);
        let back: Statuses = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(back, statuses);
        assert_eq!(format!("{statuses:?}"), r#"{Voice: NativeStatus("online"), Tickets: NativeStatus("0")}"#);
        let channels: Vec<Channel> = statuses.iter().map(|(channel, _)| channel).collect();
        assert_eq!(channels, vec![Channel::Voice, Channel::Tickets]);
        let mut values = Vec::new();
        for (_, value) in &statuses {
            values.push(value.as_str());
        }
        assert_eq!(values, ["online", "0"]);
    }

    #[test]
    fn statuses_refuse_an_unknown_channel_by_name() {
        let err = serde_json::from_str::<Statuses>(r#"{"fax":"on"}"#).err().map(|e| e.to_string());
        assert!(err.as_deref().is_some_and(|e| e.contains("fax")), "{err:?}");
        assert!(serde_json::from_str::<Statuses>("[]").is_err());
    }

    #[test]
    fn statuses_insert_replace_and_remove() {
        let mut statuses = Statuses::new();
        assert!(statuses.is_empty());
        assert_eq!(statuses.insert(Channel::Chat, NativeStatus::from("1")), None);
        assert_eq!(statuses.insert(Channel::Chat, NativeStatus::from("0")), Some(NativeStatus::from("1")));
        assert!(statuses.contains(Channel::Chat) && !statuses.contains(Channel::Voice));
        assert_eq!(statuses.len(), 1);
        assert_eq!(statuses.remove(Channel::Chat), Some(NativeStatus::from("0")));
        assert!(statuses.is_empty());
    }

    #[test]
    fn long_values_are_kept_whole_and_compare_like_strings() {
        let long = "In a meeting with the whole support team";
        let status = NativeStatus::from(long);
        assert_eq!(status.as_str(), long);
        assert_eq!(status.clone(), NativeStatus::new(String::from(long)));
        assert_eq!(status, long);
        assert_eq!(status, long.to_owned());
        assert_eq!(status.to_string(), long);
        assert_eq!(status.as_ref(), long);
        let text = Text::from(long.to_owned());
        assert_eq!(text, long);
        assert_eq!(String::from(text.clone()), long);
        assert_eq!(format!("{text:?}"), format!("{long:?}"));
        let mut texts = vec![Text::from("b"), Text::from("a")];
        texts.sort();
        assert_eq!(texts, ["a", "b"]);
    }

    #[test]
    fn presence_round_trips_through_its_name() {
        for p in Presence::ALL {
            assert_eq!(p.as_str().parse::<Presence>().ok(), Some(p));
        }
        let err = "busy".parse::<Presence>().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("\"busy\""), "{err}");
    }
}
