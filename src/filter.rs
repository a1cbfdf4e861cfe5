//! Group filters: which agents a flow may touch, per channel.
//!
//! Modelled on Shifton's Usedesk integration: *Group chats* (groups whose chat status is
//! synced), *Group requests* (groups whose ticket status is synced) and *Do not change*
//! (groups never touched). Names match the provider's group names **exactly and
//! case-sensitively**. An empty include list means no restriction; *Do not change* always
//! wins. Unlike the product it is modelled on, [`GroupFilter::validate`] names every
//! configured group that does not exist, before anything is written.
//!
//! ```
//! use deskbridge::filter::{FilterDecision, GroupFilter};
//! use deskbridge::status::Channel;
//!
//! let filter = GroupFilter::default()
//!     .include(Channel::Chat, GroupFilter::parse_names("Support, VIP team"))
//!     .do_not_change(["Managers"]);
//! let groups = vec!["Support".to_string()];
//! assert_eq!(filter.decide(Channel::Chat, &groups), FilterDecision::Allowed);
//! assert_eq!(filter.decide(Channel::Tickets, &groups), FilterDecision::Allowed); // no list
//! assert!(matches!(filter.decide(Channel::Chat, &["support".to_string()]), FilterDecision::NotInIncludedGroups { .. }));
//! ```

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::status::{Channel, Group};
use crate::{Error, Result};

/// Include lists per channel and a global exclude list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupFilter {
    /// Per channel, the groups whose members' status on that channel is synced. A channel
    /// absent here, or with an empty list, is not restricted.
    pub include: BTreeMap<Channel, Vec<String>>,
    /// Groups whose members are never touched on any channel (*Do not change*).
    pub exclude: Vec<String>,
}

/// What a filter says about one agent on one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "decision")]
#[non_exhaustive]
pub enum FilterDecision {
    /// The agent's status on the channel may be changed.
    Allowed,
    /// The agent is in a *Do not change* group.
    DoNotChange {
        /// The first matching excluded group.
        group: String,
    },
    /// The channel has an include list and the agent is in none of its groups.
    NotInIncludedGroups {
        /// The channel whose list excluded the agent.
        channel: Channel,
    },
}

impl GroupFilter {
    /// Split a comma-separated list of group names (`"Support, VIP team"`). Names may
    /// contain spaces; white space around each comma-separated item is trimmed, empty items
    /// are dropped, and case is kept exactly.
    pub fn parse_names(list: &str) -> Vec<String> {
        list.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
    }

    /// Restrict `channel` to members of `groups`.
    pub fn include<I, S>(mut self, channel: Channel, groups: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.include.entry(channel).or_default().extend(groups.into_iter().map(Into::into));
        self
    }

    /// Never touch members of `groups`.
    pub fn do_not_change<I, S>(mut self, groups: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.exclude.extend(groups.into_iter().map(Into::into));
        self
    }

    /// Decide for an agent who belongs to `agent_groups` (exact names).
    pub fn decide(&self, channel: Channel, agent_groups: &[String]) -> FilterDecision {
        if let Some(group) = self.exclude.iter().find(|g| agent_groups.contains(g)) {
            return FilterDecision::DoNotChange { group: group.clone() };
        }
        match self.include.get(&channel) {
            Some(list) if !list.is_empty() && !list.iter().any(|g| agent_groups.contains(g)) => {
                FilterDecision::NotInIncludedGroups { channel }
            }
            _ => FilterDecision::Allowed,
        }
    }

    /// Every configured name (include and exclude lists) that matches no group in `known`,
    /// in configuration order, without repeats.
    pub fn unknown_names(&self, known: &[Group]) -> Vec<String> {
        let mut unknown: Vec<String> = Vec::new();
        let configured = self.include.values().flatten().chain(self.exclude.iter());
        for name in configured {
            if !known.iter().any(|g| &g.name == name) && !unknown.contains(name) {
                unknown.push(name.clone());
            }
        }
        unknown
    }

    /// Fail with [`Error::UnknownGroups`] naming every configured group that `provider`
    /// does not have.
    pub fn validate(&self, provider: &'static str, known: &[Group]) -> Result<()> {
        let names = self.unknown_names(known);
        if names.is_empty() { Ok(()) } else { Err(Error::UnknownGroups { provider, names }) }
    }

    /// True when the filter restricts nothing.
    pub fn is_empty(&self) -> bool {
        self.exclude.is_empty() && self.include.values().all(Vec::is_empty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groups(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    /// The full truth table over: in chat list / in tickets list / in exclude list,
    /// with and without include lists configured.
    #[test]
    fn truth_table() {
        let filter = GroupFilter::default()
            .include(Channel::Chat, ["Chat team"])
            .include(Channel::Tickets, ["Mail team"])
            .do_not_change(["Managers"]);
        use FilterDecision::*;
        let cases: &[(&[&str], FilterDecision, FilterDecision)] = &[
            (
                &[],
                NotInIncludedGroups { channel: Channel::Chat },
                NotInIncludedGroups { channel: Channel::Tickets },
            ),
            (&["Chat team"], Allowed, NotInIncludedGroups { channel: Channel::Tickets }),
            (&["Mail team"], NotInIncludedGroups { channel: Channel::Chat }, Allowed),
            (&["Chat team", "Mail team"], Allowed, Allowed),
            (
                &["Chat team", "Managers"],
                DoNotChange { group: "Managers".into() },
                DoNotChange { group: "Managers".into() },
            ),
            (
                &["Managers"],
                DoNotChange { group: "Managers".into() },
                DoNotChange { group: "Managers".into() },
            ),
            (
                &["chat team"],
                NotInIncludedGroups { channel: Channel::Chat },
                NotInIncludedGroups { channel: Channel::Tickets },
            ),
            (
                &["Other"],
                NotInIncludedGroups { channel: Channel::Chat },
                NotInIncludedGroups { channel: Channel::Tickets },
            ),
        ];
        for (member_of, chat, tickets) in cases {
            let g = groups(member_of);
            assert_eq!(&filter.decide(Channel::Chat, &g), chat, "chat for {member_of:?}");
            assert_eq!(&filter.decide(Channel::Tickets, &g), tickets, "tickets for {member_of:?}");
            // Voice has no include list: only the exclude list applies.
            let voice = filter.decide(Channel::Voice, &g);
            assert_eq!(voice == Allowed, !member_of.contains(&"Managers"), "voice for {member_of:?}");
        }
        // Empty include lists mean everyone.
        let open = GroupFilter::default().include(Channel::Chat, Vec::<String>::new());
        assert_eq!(open.decide(Channel::Chat, &[]), Allowed);
        assert!(open.is_empty());
    }

    #[test]
    fn parse_names_keeps_inner_spaces_and_case() {
        assert_eq!(
            GroupFilter::parse_names(" VIP team ,Support,, second Line"),
            groups(&["VIP team", "Support", "second Line"])
        );
        assert!(GroupFilter::parse_names("").is_empty());
    }

    #[test]
    fn validation_names_every_unknown_group() {
        let known = vec![
            Group { id: "1".into(), name: "Support".into() },
            Group { id: "2".into(), name: "Managers".into() },
        ];
        let filter = GroupFilter::default()
            .include(Channel::Chat, ["Support", "support", "Sales"])
            .include(Channel::Tickets, ["Sales"])
            .do_not_change(["Managers", "Board"]);
        assert_eq!(filter.unknown_names(&known), groups(&["support", "Sales", "Board"]));
        let err = filter.validate("usedesk", &known).unwrap_err().to_string();
        assert!(
            err.contains("\"support\"") && err.contains("\"Sales\"") && err.contains("\"Board\""),
            "{err}"
        );
        assert!(
            GroupFilter::default().include(Channel::Chat, ["Support"]).validate("usedesk", &known).is_ok()
        );
    }
}
