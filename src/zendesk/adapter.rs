//! [`ZendeskProvider`]: the [`StatusProvider`] port over a [`ZendeskClient`].

use std::collections::HashMap;

use async_trait::async_trait;

use super::client::{PROVIDER, ZendeskClient, ZendeskConfig};
use crate::ports::StatusProvider;
use crate::status::{Agent, Channel, Group, NativeStatus, Statuses, Text};
use crate::{Error, Result};

/// Zendesk as a [`StatusProvider`] (name `"zendesk"`): agents with their groups and their
/// voice status ([`Channel::Voice`] only), groups, and voice status writes that adapt to
/// the account mode (see [`ZendeskClient::set_voice_status`]).
#[derive(Debug, Clone)]
pub struct ZendeskProvider {
    client: ZendeskClient,
}

impl ZendeskProvider {
    /// A provider over `client`.
    pub fn new(client: ZendeskClient) -> Self {
        Self { client }
    }

    /// A provider over a new client built from `config`.
    ///
    /// # Errors
    /// As [`ZendeskClient::new`].
    pub fn from_config(config: ZendeskConfig) -> Result<Self> {
        Ok(Self::new(ZendeskClient::new(config)?))
    }

    /// The client.
    pub fn client(&self) -> &ZendeskClient {
        &self.client
    }
}

fn parse_agent_id(agent_id: &str) -> Result<i64> {
    agent_id.trim().parse().map_err(|_| {
        Error::invalid("zendesk agent id", format!("\"{agent_id}\" is not a Zendesk user id (an integer)"))
    })
}

#[async_trait]
impl StatusProvider for ZendeskProvider {
    fn name(&self) -> &'static str {
        PROVIDER
    }

    /// Users (agents and admins), groups and memberships are read concurrently, one request
    /// per 100 records each; then the voice statuses (see
    /// [`ZendeskClient::voice_statuses`]: one request per 100 agents with routing on, one
    /// per agent with routing off). The account settings are read once per client.
    async fn list_agents(&self) -> Result<Vec<Agent>> {
        // The four listings are independent (in unified mode every agent's availability is
        // listed without a filter), so they run at the same time: the read takes as long as
        // the longest listing, not their sum.
        let (users, groups, memberships, prefetched) = tokio::try_join!(
            self.client.list_agents(),
            self.client.list_groups(),
            self.client.list_group_memberships(),
            self.client.prefetch_availabilities(),
        )?;
        let ids: Vec<i64> = users.iter().map(|user| user.id).collect();
        let statuses = self.client.voice_statuses_with(&ids, prefetched).await?;
        let group_names: HashMap<i64, &str> =
            groups.iter().filter(|g| !g.deleted).map(|g| (g.id, g.name.as_str())).collect();
        let mut groups_of: HashMap<i64, Vec<String>> = HashMap::new();
        for membership in &memberships {
            if let Some(name) = group_names.get(&membership.group_id) {
                groups_of.entry(membership.user_id).or_default().push((*name).to_owned());
            }
        }
        Ok(users
            .into_iter()
            .map(|user| {
                let mut groups = groups_of.remove(&user.id).unwrap_or_default();
                groups.sort();
                groups.dedup();
                let statuses: Statuses = statuses
                    .get(&user.id)
                    .map(|status| Statuses::from([(Channel::Voice, NativeStatus::new(status))]))
                    .unwrap_or_default();
                Agent {
                    id: user.id.to_string().into(),
                    email: user.email.map(Text::from),
                    name: user.name.into(),
                    groups,
                    statuses,
                }
            })
            .collect())
    }

    async fn list_groups(&self) -> Result<Vec<Group>> {
        Ok(self
            .client
            .list_groups()
            .await?
            .into_iter()
            .filter(|group| !group.deleted)
            .map(|group| Group { id: group.id.to_string(), name: group.name })
            .collect())
    }

    /// Only [`Channel::Voice`]. Unified mode: any status name of the account (an unknown
    /// one is [`Error::InvalidInput`] listing the known names); Talk mode: `online`,
    /// `offline`, `away` or `transfers_only`.
    async fn set_status(&self, agent_id: &str, channel: Channel, status: &NativeStatus) -> Result<()> {
        if channel != Channel::Voice {
            return Err(Error::invalid(
                "zendesk channel",
                format!("deskbridge sets only the voice status on Zendesk, not {channel}"),
            ));
        }
        let agent_id = parse_agent_id(agent_id)?;
        self.client.set_voice_status(agent_id, status.as_str()).await?;
        Ok(())
    }

    /// The agent's voice status alone. With omnichannel routing: the agent's availability
    /// (`GET /api/v2/agent_availabilities/{id}`, one request) when it holds one of the four
    /// default statuses; a custom status is read through
    /// [`ZendeskClient::voice_statuses`], which applies the configured
    /// [`CustomStatusReading`](super::CustomStatusReading). In Talk mode: the agent's Talk
    /// availability (one request).
    async fn agent_status(&self, agent_id: &str, channel: Channel) -> Result<Option<NativeStatus>> {
        if channel != Channel::Voice {
            return Ok(None);
        }
        let id = parse_agent_id(agent_id)?;
        if self.client.account_mode().await? == Some(super::client::AccountMode::Unified) {
            match self.client.agent_availability(id).await {
                Ok(availability) => {
                    let name = availability
                        .agent_status
                        .map(|status| super::client::canonical_status_name(&status.name));
                    if let Some(name) = name.filter(|name| super::TalkState::from_name(name).is_some()) {
                        return Ok(Some(NativeStatus::new(name)));
                    }
                }
                Err(Error::Api { status: 404, .. }) => return Ok(None),
                Err(error) => return Err(error),
            }
        }
        Ok(self.client.voice_statuses(&[id]).await?.remove(&id).map(NativeStatus::new))
    }

    /// The four default names in the API's snake case (`Online` → `online`); custom names
    /// unchanged (see [`canonical_status_name`](super::client::canonical_status_name)).
    fn canonical_status(&self, _channel: Channel, value: &NativeStatus) -> NativeStatus {
        NativeStatus::new(super::client::canonical_status_name(value.as_str()))
    }

    /// Voice: in Talk mode the four Talk states; otherwise every name of the account's
    /// status catalog, in canonical form. Other channels cannot be written.
    async fn writable_statuses(&self, channel: Channel) -> Result<Option<Vec<NativeStatus>>> {
        if channel != Channel::Voice {
            return Ok(Some(Vec::new()));
        }
        let defaults = || ["online", "away", "transfers_only", "offline"].map(NativeStatus::new).to_vec();
        if self.client.account_mode().await? == Some(super::client::AccountMode::Talk) {
            return Ok(Some(defaults()));
        }
        let catalog = self.client.status_catalog().await?;
        let mut names: Vec<NativeStatus> = catalog
            .statuses()
            .iter()
            .map(|status| NativeStatus::new(super::client::canonical_status_name(&status.name)))
            .collect();
        if names.is_empty() {
            names = defaults();
        }
        Ok(Some(names))
    }
}
