//! [`ZendeskProvider`]: the [`StatusProvider`] port over a [`ZendeskClient`].

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use async_trait::async_trait;

use super::client::{AccountMode, IncrementalStart};
use super::client::{PROVIDER, ZendeskClient, ZendeskConfig};
use super::model::User;
use crate::ports::{ListingNeeds, PlannedCount, PlannedRead, RequestPlan, StatusProvider};
use crate::status::{Agent, Channel, Group, NativeStatus, Statuses, Text};
use crate::{Error, Result};

/// Zendesk as a [`StatusProvider`] (name `"zendesk"`): agents with their groups and their
/// voice status ([`Channel::Voice`] only), groups, and voice status writes that adapt to
/// the account mode (see [`ZendeskClient::set_voice_status`]).
#[derive(Debug, Clone)]
pub struct ZendeskProvider {
    client: ZendeskClient,
    /// The agents of the last full listing, kept current by the incremental user export
    /// when a listing allows it ([`ListingNeeds::incremental`]). Shared by clones.
    known_agents: Arc<tokio::sync::Mutex<Option<KnownAgents>>>,
}

/// What the incremental listing starts from.
#[derive(Debug)]
struct KnownAgents {
    users: BTreeMap<i64, User>,
    next: IncrementalStart,
}

/// Whether a user from the export belongs in the agent listing (`role[]=agent&role[]=admin`
/// lists active agents and admins).
fn is_listed_agent(user: &User) -> bool {
    matches!(user.role.as_deref(), Some("agent" | "admin")) && user.active != Some(false)
}

impl ZendeskProvider {
    /// A provider over `client`.
    pub fn new(client: ZendeskClient) -> Self {
        Self { client, known_agents: Arc::new(tokio::sync::Mutex::new(None)) }
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

impl ZendeskProvider {
    /// The agents and admins: every one listed (and remembered, with the time to continue
    /// the incremental export from), or, when `incremental` and a listing is remembered,
    /// the remembered ones updated by the incremental user export (one request per 1000
    /// changed users, usually one).
    async fn agent_users(&self, incremental: bool) -> Result<Vec<User>> {
        if incremental {
            // Held through the export, so two listings never continue from one cursor.
            let mut known = self.known_agents.lock().await;
            if let Some(known) = known.as_mut() {
                let (changed, cursor) = self.client.incremental_users(known.next.clone()).await?;
                for user in changed {
                    if is_listed_agent(&user) {
                        known.users.insert(user.id, user);
                    } else {
                        known.users.remove(&user.id);
                    }
                }
                known.next = IncrementalStart::Cursor(cursor);
                return Ok(known.users.values().cloned().collect());
            }
        }
        // A minute of margin: a change made while the listing ran, which the listing may
        // have missed, is in the export from this time on.
        let started = chrono::Utc::now().timestamp() - 60;
        let users = self.client.list_agents().await?;
        *self.known_agents.lock().await = Some(KnownAgents {
            users: users.iter().map(|user| (user.id, user.clone())).collect(),
            next: IncrementalStart::Time(started),
        });
        Ok(users)
    }

    /// Each agent's group names, as far as `needs` asks: nothing, every group, or only the
    /// named groups (whose memberships alone are read, four groups at a time).
    async fn groups_of_agents(&self, needs: &ListingNeeds) -> Result<HashMap<i64, Vec<String>>> {
        let mut groups_of: HashMap<i64, Vec<String>> = HashMap::new();
        if !needs.groups() {
            return Ok(groups_of);
        }
        let (groups, memberships) = match needs.only_groups() {
            Some(names) => {
                let groups = self.client.list_groups().await?;
                let wanted: Vec<i64> = groups
                    .iter()
                    .filter(|g| !g.deleted && names.binary_search(&g.name).is_ok())
                    .map(|g| g.id)
                    .collect();
                let memberships = self.client.list_memberships_of_groups(&wanted).await?;
                (groups, memberships)
            }
            None => tokio::try_join!(self.client.list_groups(), self.client.list_group_memberships())?,
        };
        let group_names: HashMap<i64, &str> =
            groups.iter().filter(|g| !g.deleted).map(|g| (g.id, g.name.as_str())).collect();
        for membership in &memberships {
            if let Some(name) = group_names.get(&membership.group_id) {
                groups_of.entry(membership.user_id).or_default().push((*name).to_owned());
            }
        }
        Ok(groups_of)
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

    /// Everything: [`list_agents_with`](StatusProvider::list_agents_with) with the
    /// default [`ListingNeeds`].
    async fn list_agents(&self) -> Result<Vec<Agent>> {
        self.list_agents_with(&ListingNeeds::default()).await
    }

    /// Users (agents and admins, one request per 100), and only what `needs` asks for,
    /// all concurrently:
    ///
    /// - **groups** (when needed): the groups (one request per 100), and either every
    ///   membership of the account (`GET /api/v2/group_memberships`, one request per 100)
    ///   or, when `needs` names the only groups that matter, the memberships of those
    ///   groups alone (`GET /api/v2/groups/{id}/memberships`, four groups at a time);
    /// - **voice statuses** (when [`Channel::Voice`] is wanted): see
    ///   [`ZendeskClient::voice_statuses`] (one request per 100 agents with routing on,
    ///   one per agent with routing off). The account settings are read once per client.
    ///
    /// Without groups and without voice, only the users are read.
    async fn list_agents_with(&self, needs: &ListingNeeds) -> Result<Vec<Agent>> {
        let voice = needs.wants_channel(Channel::Voice);
        // The listings are independent (in unified mode every agent's availability is
        // listed without a filter), so they run at the same time: the read takes as long as
        // the longest listing, not their sum (the client paces them all under one limit).
        let (users, mut groups_of, prefetched) =
            tokio::try_join!(self.agent_users(needs.incremental()), self.groups_of_agents(needs), async {
                if voice { self.client.prefetch_availabilities().await } else { Ok(None) }
            },)?;
        let statuses = if voice {
            let ids: Vec<i64> = users.iter().map(|user| user.id).collect();
            self.client.voice_statuses_with(&ids, prefetched).await?
        } else {
            Default::default()
        };
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

    /// Exactly the endpoints [`list_agents_with`](StatusProvider::list_agents_with) calls
    /// for `needs`, given what this client already knows: the account settings appear
    /// only while the mode is unknown; the Talk per-agent reads only when the account is
    /// (or may be) in Talk mode; the status catalog only when custom statuses are read by
    /// their Talk channel and the catalog is not cached.
    fn planned_reads(&self, needs: &ListingNeeds) -> RequestPlan {
        let pages = PlannedCount::Pages { page_size: super::client::PAGE_SIZE };
        let remembered = self.known_agents.try_lock().map(|known| known.is_some()).unwrap_or(true);
        let mut reads = vec![if needs.incremental() && remembered {
            PlannedRead::get(
                "/api/v2/incremental/users/cursor.json",
                PlannedCount::Pages { page_size: super::client::INCREMENTAL_PAGE_SIZE },
                "users changed since the last listing",
            )
        } else {
            PlannedRead::get("/api/v2/users", pages, "users")
        }];
        if needs.groups() {
            reads.push(PlannedRead::get("/api/v2/groups", pages, "groups"));
            if needs.only_groups().is_some() {
                reads.push(PlannedRead::get(
                    "/api/v2/groups/{group_id}/memberships",
                    PlannedCount::PerItem,
                    "memberships of each named group",
                ));
            } else {
                reads.push(PlannedRead::get("/api/v2/group_memberships", pages, "group memberships"));
            }
        }
        if needs.wants_channel(Channel::Voice) {
            if self.client.settings_read_pending() {
                reads.push(PlannedRead::get(
                    "/api/v2/account/settings",
                    PlannedCount::AtMostOnce,
                    "account mode",
                ));
            }
            let mode = self.client.cached_mode();
            if mode != Some(AccountMode::Talk) {
                reads.push(PlannedRead::get("/api/v2/agent_availabilities", pages, "voice statuses"));
                if self.client.custom_status_reading() == super::CustomStatusReading::ByTalkChannel
                    && !self.client.catalog_cached()
                {
                    reads.push(PlannedRead::get(
                        "/api/v2/agent_availabilities/agent_statuses",
                        PlannedCount::AtMostOnce,
                        "status catalog",
                    ));
                }
            }
            if mode != Some(AccountMode::Unified) {
                reads.push(PlannedRead::get(
                    "/api/v2/channels/voice/availabilities/{agent_id}",
                    PlannedCount::PerItem,
                    "Talk voice status of each agent",
                ));
            }
        }
        RequestPlan::of(reads)
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
