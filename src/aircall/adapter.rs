//! [`AircallProvider`]: Aircall as a [`StatusProvider`].
//!
//! - **Agents** are Aircall users: id (as text), e-mail (the join key), name, the names of
//!   the teams they belong to as groups, and one status, on [`Channel::Voice`]: the user's
//!   `availability_status` exactly as Aircall spells it (`available`, `unavailable`,
//!   `custom`, or an unrecognised value kept verbatim). A user whose answer carries no
//!   `availability_status` has no status (the engines report it as skipped).
//! - **Groups** are Aircall teams (`GET /v1/teams`, one paged call, members included).
//!   [`list_agents`](StatusProvider::list_agents) reads them to fill each agent's groups
//!   (a user in no team has no groups); [`list_agents_with`](StatusProvider::list_agents_with)
//!   reads them only when the caller needs groups.
//! - **Writes** go to `PUT /v1/users/{id}` with `availability_status`, on the voice channel
//!   only. Values Aircall computes and cannot be set (`offline`, `in_call`,
//!   `do_not_disturb`, …) are refused with [`Error::InvalidInput`] before anything is sent.
//!
//! Converting between these native values and presences is the job of
//! [`aircall::status_table`](super::status_table), not of this adapter.

use std::collections::HashMap;

use async_trait::async_trait;

use super::client::{AircallClient, AircallConfig, PROVIDER};
use super::model::{User, WritableStatus};
use crate::ports::{ListingNeeds, PlannedCount, PlannedRead, RequestPlan, StatusProvider};
use crate::status::{Agent, Channel, Group, NativeStatus, Text};
use crate::{Error, Result};

/// Aircall behind the [`StatusProvider`] port. Its `Debug` shows no credential.
#[derive(Clone, Debug)]
pub struct AircallProvider {
    client: AircallClient,
}

impl AircallProvider {
    /// Wrap a client.
    pub fn new(client: AircallClient) -> Self {
        Self { client }
    }

    /// Build the client for `config` and wrap it.
    ///
    /// # Errors
    /// As [`AircallClient::new`].
    pub fn from_config(config: AircallConfig) -> Result<Self> {
        AircallClient::new(config).map(Self::new)
    }

    /// The typed client underneath.
    pub fn client(&self) -> &AircallClient {
        &self.client
    }
}

/// Parse an agent id handed in by an engine.
fn user_id(agent_id: &str) -> Result<u64> {
    agent_id.trim().parse().map_err(|_| {
        Error::invalid("aircall user id", format!("\"{agent_id}\" is not an Aircall user id (a number)"))
    })
}

fn agent(user: User, groups: Vec<String>) -> Agent {
    let mut statuses = crate::status::Statuses::new();
    if let Some(status) = &user.availability_status {
        statuses.insert(Channel::Voice, NativeStatus::new(status.as_str()));
    }
    Agent {
        id: user.id.to_string().into(),
        email: user.email.map(Text::from),
        name: user.name.into(),
        groups,
        statuses,
    }
}

#[async_trait]
impl StatusProvider for AircallProvider {
    fn name(&self) -> &'static str {
        PROVIDER
    }

    /// Everything: [`list_agents_with`](StatusProvider::list_agents_with) with the
    /// default [`ListingNeeds`].
    async fn list_agents(&self) -> Result<Vec<Agent>> {
        self.list_agents_with(&ListingNeeds::default()).await
    }

    /// The users (`GET /v2/users`, 50 per page), which carry the voice status; and the
    /// teams (`GET /v1/teams`, concurrently) only when `needs` asks for groups. Without
    /// groups every agent's groups are empty.
    async fn list_agents_with(&self, needs: &ListingNeeds) -> Result<Vec<Agent>> {
        let teams =
            async { if needs.groups() { self.client.list_teams().await.map(Some) } else { Ok(None) } };
        let (teams, users) = tokio::try_join!(teams, self.client.list_users())?;
        let mut groups_of: HashMap<u64, Vec<String>> = HashMap::new();
        for team in teams.unwrap_or_default() {
            if let Some(only) = needs.only_groups() {
                if only.binary_search(&team.name).is_err() {
                    continue;
                }
            }
            for member in team.users {
                let groups = groups_of.entry(member.id).or_default();
                if !groups.contains(&team.name) {
                    groups.push(team.name.clone());
                }
            }
        }
        Ok(users
            .into_iter()
            .map(|user| {
                let groups = groups_of.remove(&user.id).unwrap_or_default();
                agent(user, groups)
            })
            .collect())
    }

    /// `GET /v2/users` (or `/v1/users` once v2 proved missing) and, with groups,
    /// `GET /v1/teams`; both paged.
    fn planned_reads(&self, needs: &ListingNeeds) -> RequestPlan {
        let users = if self.client.users_api_version() == Some(1) { "/v1/users" } else { "/v2/users" };
        let mut reads = vec![PlannedRead::get(
            users,
            PlannedCount::Pages { page_size: super::client::PER_PAGE },
            "users",
        )];
        if needs.groups() {
            reads.push(PlannedRead::get(
                "/v1/teams",
                PlannedCount::Pages { page_size: super::client::PER_PAGE },
                "teams",
            ));
        }
        RequestPlan::of(reads)
    }

    async fn list_groups(&self) -> Result<Vec<Group>> {
        let teams = self.client.list_teams().await?;
        Ok(teams.into_iter().map(|team| Group { id: team.id.to_string(), name: team.name }).collect())
    }

    async fn set_status(&self, agent_id: &str, channel: Channel, status: &NativeStatus) -> Result<()> {
        if channel != Channel::Voice {
            return Err(Error::invalid(
                "aircall channel",
                format!("Aircall has only the voice channel; cannot set a {channel} status"),
            ));
        }
        let status = WritableStatus::parse(status.as_str())?;
        let id = user_id(agent_id)?;
        self.client.set_availability(id, status, None).await.map(|_| ())
    }

    /// `GET /v1/users/{id}`: one request. A user Aircall no longer has (404) has no status.
    async fn agent_status(&self, agent_id: &str, channel: Channel) -> Result<Option<NativeStatus>> {
        if channel != Channel::Voice {
            return Ok(None);
        }
        let id = user_id(agent_id)?;
        match self.client.user(id).await {
            Ok(user) => Ok(user.availability_status.map(|status| NativeStatus::new(status.as_str()))),
            Err(Error::Api { status: 404, .. }) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Voice: `available` and `unavailable` (the values `PUT /v1/users/{id}` accepts);
    /// other channels cannot be written.
    async fn writable_statuses(&self, channel: Channel) -> Result<Option<Vec<NativeStatus>>> {
        Ok(Some(if channel == Channel::Voice {
            vec![NativeStatus::new("available"), NativeStatus::new("unavailable")]
        } else {
            Vec::new()
        }))
    }
}
