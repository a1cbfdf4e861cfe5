//! Usedesk behind the ports: [`UsedeskProvider`] ([`StatusProvider`]) and [`UsedeskDesk`]
//! ([`TicketDesk`]).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::client::{
    CreateCommentRequest, CreateTicketRequest, StatusUpdate, TicketClient, TicketQuery, UsedeskClient,
    UsedeskConfig,
};
use super::model::UsedeskUser;
use crate::ports::{NewTicket, StatusProvider, TicketDesk, TicketRef, TicketState};
use crate::status::{Agent, Channel, Group, NativeStatus, Text};
use crate::{Error, Result};

/// The native value for an online section (see [`status_table`](super::status_table)).
pub const ONLINE: &str = "online";
/// The native value for an offline section.
pub const OFFLINE: &str = "offline";

fn native(online: bool) -> NativeStatus {
    NativeStatus::from(if online { ONLINE } else { OFFLINE })
}

/// Usedesk agents and their two statuses (chat and tickets) as a [`StatusProvider`]
/// named `usedesk`.
///
/// - [`list_agents`](StatusProvider::list_agents) asks `POST /users` once per user type
///   (three requests; see [`UsedeskClient::all_users`]) and reports
///   [`Channel::Chat`] from `chat_online_status` and [`Channel::Tickets`] from
///   `online_status`, as `online` / `offline`; groups are the names of the agent's
///   non-deleted groups.
/// - [`set_status`](StatusProvider::set_status) writes `chat_online_status` or
///   `ticket_online_status` (only that field) with `POST /update/user`.
#[derive(Debug, Clone)]
pub struct UsedeskProvider {
    client: UsedeskClient,
}

impl UsedeskProvider {
    /// Wrap a client.
    pub fn new(client: UsedeskClient) -> Self {
        Self { client }
    }

    /// Build the client for `config` and wrap it.
    ///
    /// # Errors
    /// As [`UsedeskClient::new`].
    pub fn from_config(config: UsedeskConfig) -> Result<Self> {
        UsedeskClient::new(config).map(Self::new)
    }

    /// The client.
    pub fn client(&self) -> &UsedeskClient {
        &self.client
    }

    /// One Usedesk user as an [`Agent`].
    pub fn agent_from(user: UsedeskUser) -> Agent {
        let mut statuses = crate::status::Statuses::new();
        if let Some(chat) = user.chat_online_status {
            statuses.insert(Channel::Chat, native(chat));
        }
        if let Some(tickets) = user.online_status {
            statuses.insert(Channel::Tickets, native(tickets));
        }
        Agent {
            id: user.id.into(),
            email: user.email.map(Text::from),
            name: user.name.into(),
            groups: user.groups.into_iter().filter(|g| !g.deleted).map(|g| g.name).collect(),
            statuses,
        }
    }
}

#[async_trait]
impl StatusProvider for UsedeskProvider {
    fn name(&self) -> &'static str {
        super::PROVIDER
    }

    async fn list_agents(&self) -> Result<Vec<Agent>> {
        Ok(self.client.all_users().await?.into_iter().map(Self::agent_from).collect())
    }

    async fn list_groups(&self) -> Result<Vec<Group>> {
        Ok(self
            .client
            .groups()
            .await?
            .into_iter()
            .filter(|g| !g.deleted)
            .map(|g| Group { id: g.id, name: g.name })
            .collect())
    }

    async fn set_status(&self, agent_id: &str, channel: Channel, status: &NativeStatus) -> Result<()> {
        let online = match status.as_str() {
            ONLINE => true,
            OFFLINE => false,
            other => {
                return Err(Error::invalid(
                    "usedesk status",
                    format!("\"{other}\" is not a Usedesk status; expected \"online\" or \"offline\""),
                ));
            }
        };
        let update = match channel {
            Channel::Chat => StatusUpdate { chat_online: Some(online), ticket_online: None },
            Channel::Tickets => StatusUpdate { chat_online: None, ticket_online: Some(online) },
            other => {
                return Err(Error::invalid(
                    "usedesk channel",
                    format!("Usedesk has no {other} status; only chat and tickets can be set"),
                ));
            }
        };
        self.client.update_user_status(agent_id, update).await.map(|_| ())
    }

    /// Chat and tickets: `online` and `offline`; other channels cannot be written.
    async fn writable_statuses(&self, channel: Channel) -> Result<Option<Vec<NativeStatus>>> {
        Ok(Some(match channel {
            Channel::Chat | Channel::Tickets => vec![NativeStatus::new(ONLINE), NativeStatus::new(OFFLINE)],
            _ => Vec::new(),
        }))
    }
}

/// The hidden marker embedded in a comment so that [`TicketDesk::has_comment`] can find
/// it: `<!-- deskbridge:KEY; -->` (the `;` ends the key, so `x-dm-1` never matches inside
/// `x-dm-12`), with every character of the key outside
/// `[A-Za-z0-9._:]` and `-` percent-encoded, and a `-` that follows a `-` encoded too (an
/// HTML comment must not contain `--`).
pub fn comment_marker(dedupe_key: &str) -> String {
    format!("<!-- {} -->", marker_token(dedupe_key))
}

/// `deskbridge:KEY;` (encoded as in [`comment_marker`]); what [`TicketDesk::has_comment`]
/// looks for in a comment's text, so that the marker is still found if Usedesk escapes
/// the comment delimiters.
fn marker_token(dedupe_key: &str) -> String {
    let mut out = String::from("deskbridge:");
    let mut previous_dash = false;
    for c in dedupe_key.chars() {
        let plain = c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':') || (c == '-' && !previous_dash);
        if plain {
            out.push(c);
        } else {
            let mut buffer = [0u8; 4];
            for byte in c.encode_utf8(&mut buffer).bytes() {
                out.push_str(&format!("%{byte:02X}"));
            }
        }
        previous_dash = c == '-' && plain;
    }
    out.push(';');
    out
}

/// Usedesk tickets as a [`TicketDesk`] named `usedesk`.
///
/// - [`create_ticket`](TicketDesk::create_ticket): `POST /create/ticket` with `from:
///   "client"`, `client_id` (or `"new_client"` + `client_name`), `channel_id`, the tags
///   joined with `,` exactly as spelled (`Twitter:Direct`, `Twitter: Mention`), and
///   `additional_id` = the dedupe key. Usedesk answers only `{status, ticket_id}`; when a
///   new client was created, one more `POST /ticket` learns its `client_id` (if that read
///   fails the ticket is still returned, without a client id).
/// - [`find_by_dedupe_key`](TicketDesk::find_by_dedupe_key): `POST /tickets` filtered by
///   `created_after` (and `fchannel` when [`UsedeskDesk::with_channel`] is set), newest
///   pages first, then `POST /ticket` for each candidate to compare `additional_id` (the
///   documented list rows do not carry it; when a row does, it is used directly).
///   **Cost:** one to [`UsedeskDesk::with_max_pages`] list calls plus one read per
///   candidate, at most [`UsedeskDesk::with_max_candidates`]; keep the window short (the
///   inbox engine's recovery margin) and configure the channel. When the bounded search
///   reads every candidate it may without a match while more remain, it fails with
///   [`Error::InvalidInput`] rather than answer "not found", which could create the ticket
///   twice.
/// - [`add_client_comment`](TicketDesk::add_client_comment): `POST /create/comment` with
///   `type: "public"`, `from: "client"` and the message followed by
///   [`comment_marker`].
/// - [`has_comment`](TicketDesk::has_comment): `POST /ticket`, looking for the marker in
///   the comments. Whether Usedesk keeps HTML comments in stored messages is UNCONFIRMED;
///   the marker is also matched when its delimiters come back escaped.
/// - [`ticket_state`](TicketDesk::ticket_state): `POST /ticket`; status 3 Closed, and also
///   4 Deleted, 7 Spam and 10 Merged, are [`TicketState::Closed`]; every other status
///   (unknown ids included) is [`TicketState::Open`].
#[derive(Debug, Clone)]
pub struct UsedeskDesk {
    client: UsedeskClient,
    channel_id: Option<String>,
    max_pages: usize,
    max_candidates: usize,
}

impl UsedeskDesk {
    /// Default bound on `/tickets` calls per dedupe search.
    pub const DEFAULT_MAX_PAGES: usize = 5;
    /// Default bound on `/ticket` reads per dedupe search.
    pub const DEFAULT_MAX_CANDIDATES: usize = 50;

    /// Build the client for `config` and wrap it; no channel filter.
    ///
    /// # Errors
    /// As [`UsedeskClient::new`].
    pub fn from_config(config: UsedeskConfig) -> Result<Self> {
        UsedeskClient::new(config).map(Self::new)
    }

    /// Wrap a client; no channel filter.
    pub fn new(client: UsedeskClient) -> Self {
        Self {
            client,
            channel_id: None,
            max_pages: Self::DEFAULT_MAX_PAGES,
            max_candidates: Self::DEFAULT_MAX_CANDIDATES,
        }
    }

    /// Restrict dedupe searches to this channel (`fchannel`): the channel the inbox
    /// creates its tickets in.
    pub fn with_channel(mut self, channel_id: impl Into<String>) -> Self {
        self.channel_id = Some(channel_id.into());
        self
    }

    /// Bound the `/tickets` calls of one dedupe search.
    pub fn with_max_pages(mut self, max_pages: usize) -> Self {
        self.max_pages = max_pages.max(1);
        self
    }

    /// Bound the `/ticket` reads of one dedupe search.
    pub fn with_max_candidates(mut self, max_candidates: usize) -> Self {
        self.max_candidates = max_candidates;
        self
    }

    /// The client.
    pub fn client(&self) -> &UsedeskClient {
        &self.client
    }
}

#[async_trait]
impl TicketDesk for UsedeskDesk {
    fn name(&self) -> &'static str {
        super::PROVIDER
    }

    async fn create_ticket(&self, ticket: &NewTicket) -> Result<TicketRef> {
        let client = match &ticket.client_id {
            Some(id) if !id.trim().is_empty() => TicketClient::Existing(id.clone()),
            _ => TicketClient::New { name: ticket.client_name.clone() },
        };
        let is_new_client = matches!(client, TicketClient::New { .. });
        let request = CreateTicketRequest {
            subject: ticket.subject.clone(),
            message: ticket.message.clone(),
            client,
            channel_id: ticket.channel_id.clone(),
            tags: ticket.tags.clone(),
            additional_id: Some(ticket.dedupe_key.clone()),
            from: "client".to_owned(),
        };
        let created = self.client.create_ticket(&request).await?;
        let mut client_id =
            created.client_id.or_else(|| if is_new_client { None } else { ticket.client_id.clone() });
        if client_id.is_none() {
            match self.client.ticket(&created.ticket_id).await {
                Ok(details) => client_id = details.ticket.client_id,
                Err(error) => tracing::warn!(
                    ticket_id = %created.ticket_id,
                    %error,
                    "usedesk: ticket created, but its client id could not be read"
                ),
            }
        }
        Ok(TicketRef { id: created.ticket_id, client_id })
    }

    async fn find_by_dedupe_key(
        &self,
        dedupe_key: &str,
        created_after: DateTime<Utc>,
    ) -> Result<Option<TicketRef>> {
        let query = TicketQuery {
            channels: self.channel_id.iter().cloned().collect(),
            created_after: Some(created_after),
            ..TicketQuery::default()
        };
        let (rows, truncated) = self.client.tickets_all(&query, self.max_pages).await?;
        let mut to_read = Vec::new();
        for row in rows {
            match row.additional_id.as_deref() {
                Some(found) if found == dedupe_key => {
                    return Ok(Some(TicketRef { id: row.id, client_id: row.client_id }));
                }
                Some(_) => {}
                None => to_read.push(row.id),
            }
        }
        let unread = to_read.len().saturating_sub(self.max_candidates);
        for ticket_id in to_read.into_iter().take(self.max_candidates) {
            let details = self.client.ticket(&ticket_id).await?;
            if details.ticket.additional_id.as_deref() == Some(dedupe_key) {
                return Ok(Some(TicketRef { id: details.ticket.id, client_id: details.ticket.client_id }));
            }
        }
        if truncated || unread > 0 {
            return Err(Error::invalid(
                "usedesk dedupe search",
                format!(
                    "more tickets were created since {created_after} than one search reads \
                     ({} list calls, {} ticket reads) and none of those read carries the key; \
                     narrow the window, set the channel, or raise the bounds",
                    self.max_pages, self.max_candidates
                ),
            ));
        }
        Ok(None)
    }

    async fn add_client_comment(&self, ticket_id: &str, message: &str, dedupe_key: &str) -> Result<()> {
        let request = CreateCommentRequest {
            ticket_id: ticket_id.to_owned(),
            message: format!("{message}\n{}", comment_marker(dedupe_key)),
            kind: "public".to_owned(),
            from: "client".to_owned(),
        };
        self.client.create_comment(&request).await.map(|_| ())
    }

    async fn has_comment(&self, ticket_id: &str, dedupe_key: &str) -> Result<bool> {
        let token = marker_token(dedupe_key);
        let details = self.client.ticket(ticket_id).await?;
        Ok(details.comments.iter().any(|comment| comment.message.contains(&token)))
    }

    async fn ticket_state(&self, ticket_id: &str) -> Result<TicketState> {
        let details = self.client.ticket(ticket_id).await?;
        Ok(match details.ticket.status_id {
            Some(status) if status.is_closed() => TicketState::Closed,
            _ => TicketState::Open,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_safe_and_unambiguous() {
        assert_eq!(comment_marker("x-dm-1"), "<!-- deskbridge:x-dm-1; -->");
        assert_eq!(comment_marker("a--b>c"), "<!-- deskbridge:a-%2Db%3Ec; -->");
        // A key is never a prefix match of a longer key.
        assert!(!comment_marker("x-dm-12").contains(&marker_token("x-dm-1")));
        assert!(!comment_marker("a b").contains("a b"));
    }
}
