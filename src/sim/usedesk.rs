//! Usedesk API simulator (`POST /{method}`).
//!
//! Serves, on Usedesk's method paths and with the shapes of the Usedesk provider
//! reference (every method is a `POST`; the body is JSON or form fields):
//!
//! | Path | Parameters | Answer |
//! |---|---|---|
//! | `/users` | `user_type` (`admin`, `employee`, `support`; default `employee`), `user_id`, `group_id` | `[{id, name, email, position, role, phone, chat_online_status:"0"/"1", online_status:"0"/"1", groups:[{id, name, company_id, deleted:"0"/"1", deleted_at, custom_working_time, timezone, pivot}]}]` |
//! | `/groups` | none | `[{id, name, company_id, deleted, deleted_at, custom_working_time, timezone, users:[…]}]` (deleted groups included, flagged) |
//! | `/create/comment` (multipart) | the same fields as form parts plus `files[]` parts, as Usedesk documents for uploads; see [`UsedeskSim::comment_files`] |
//! | `/update/user` | `user_id`\*, `chat_online_status`, `ticket_online_status` (`"true"` / `"false"` as documented; JSON booleans, `1`, `"1"` accepted) | `{"status":"success","user_id":N}` |
//! | `/create/ticket` | `subject`\* (≤ 255), `message`\*, `client_id` (id or `"new_client"` + `client_name`), `channel_id`, `status` (default 8), `tag` (comma-separated), `additional_id`, `from` | `{"status":"success","ticket_id":N}` |
//! | `/create/comment` | `ticket_id`\*, `message`\*, `type` (`public` / `private`, default private), `from` (default `user`) | `{"status":"success","comment_id":N}` |
//! | `/ticket` | `ticket_id`\* | `{ticket:{…, status_id, additional_id}, comments:[…], tags:[{name}], changes:[]}` |
//! | `/tickets` | `fchannel`, `fstatus`, `tag`, `client_id`, `created_after`, `created_before` (`YYYY-MM-DD HH:MM[:SS]`, UTC), `offset` | at most 100 rows, newest first, without `additional_id` |
//! | `/channels` | none | `[{channel_id, channel_name, channel_type}]` |
//! | `/clients` | `query` with `search_type` (`partial_match` default: case-insensitive substring of the name, an e-mail or a phone; `full_match`: equal to one of them, case-insensitive), `created_after`, `created_before` (`YYYY-MM-DD HH:MM[:SS]`, UTC, inclusive), `offset` (a **page number**, as documented) | at most 100 rows in ascending id order (Usedesk's order is UNCONFIRMED): `{id, name, emails: "a@x, b@y" \| null, phone: "…" \| null, tickets: [ids], created_at, updated_at}` (the listing shape a public client types; UNCONFIRMED) |
//!
//! **Numbers as strings.** The flags (`chat_online_status`, `online_status`, `deleted`,
//! `is_first`) and `company_id` are strings, as in Usedesk's examples; ids are JSON
//! numbers. Clients must read both.
//!
//! **Authentication and errors.** The token is the body field `api_token` (the
//! framework's header authentication is not used). A missing or wrong token, a missing
//! required field, an unknown id or an invalid value is answered the way Usedesk reports
//! errors: **HTTP 200** with `{"error": "<message>"}` (the reference: "errors come back in
//! the JSON body, often with HTTP 200"; which statuses the real API uses for a bad token
//! is UNCONFIRMED, so the simulator always uses 200). Unknown paths answer 404 and other
//! methods 405, with the same `{"error"}` body.
//!
//! **`/tickets` `offset`.** Whether it is a page number (as documented for `/clients`) or
//! a row offset is UNCONFIRMED; the simulator does either
//! ([`TicketsOffset`], default page number) so clients can be tested against both.
//!
//! **Rate limits** (none by default; the real API states 0.4 requests per second for
//! `/tickets` and documents no 429): a spent [`RateLimitRule`] answers 429
//! `{"error":"Too Many Requests"}` with `Retry-After`; no other limit headers are sent.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::http::{Method, StatusCode};
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value, json};
use url::Url;

use super::server::lock;
use super::{
    RateLimitRule, RateLimitStatus, SimProvider, SimRequest, SimResponse, SimServer, WebhookDelivery,
};
use crate::{Error, Result};

/// Rows per `/tickets` answer.
const TICKETS_PAGE_SIZE: usize = 100;
/// Rows per `/clients` answer.
const CLIENTS_PAGE_SIZE: usize = 100;
/// The simulated company id.
const COMPANY_ID: &str = "1";
/// Usedesk's date format in answers.
const DATE_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// What `/tickets` `offset` means in this simulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TicketsOffset {
    /// `offset=1` is the second page of 100 (as documented for `/clients`).
    #[default]
    PageNumber,
    /// `offset=100` is the second page of 100.
    RowOffset,
}

/// An agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsedeskSimUser {
    /// User id.
    pub id: u64,
    /// Display name.
    pub name: String,
    /// E-mail.
    pub email: String,
    /// `admin`, `employee` or `support` (what `/users` filters by `user_type`).
    pub user_type: String,
    /// Chat-section status.
    pub chat_online: bool,
    /// Ticket-section status.
    pub ticket_online: bool,
    /// Group ids.
    pub group_ids: Vec<u64>,
}

impl UsedeskSimUser {
    /// An offline `employee` in no group.
    pub fn new(id: u64, name: impl Into<String>, email: impl Into<String>) -> Self {
        Self {
            id,
            name: name.into(),
            email: email.into(),
            user_type: "employee".to_owned(),
            chat_online: false,
            ticket_online: false,
            group_ids: Vec::new(),
        }
    }

    /// The same user with another type.
    pub fn with_type(mut self, user_type: &str) -> Self {
        self.user_type = user_type.to_owned();
        self
    }

    /// The same user with these statuses.
    pub fn with_status(mut self, chat_online: bool, ticket_online: bool) -> Self {
        self.chat_online = chat_online;
        self.ticket_online = ticket_online;
        self
    }

    /// The same user in these groups.
    pub fn in_groups(mut self, group_ids: &[u64]) -> Self {
        self.group_ids = group_ids.to_vec();
        self
    }
}

/// A group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsedeskSimGroup {
    /// Group id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// Deleted (still listed, flagged).
    pub deleted: bool,
}

impl UsedeskSimGroup {
    /// A live group.
    pub fn new(id: u64, name: impl Into<String>) -> Self {
        Self { id, name: name.into(), deleted: false }
    }
}

/// A client (customer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsedeskSimClient {
    /// Client id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// E-mail addresses.
    pub emails: Vec<String>,
    /// Phone numbers.
    pub phones: Vec<String>,
    /// Creation time (what `/clients` `created_after` / `created_before` filter on).
    pub created_at: DateTime<Utc>,
}

impl UsedeskSimClient {
    /// A client without e-mail or phone, created at the Unix epoch.
    pub fn new(id: u64, name: impl Into<String>) -> Self {
        Self {
            id,
            name: name.into(),
            emails: Vec::new(),
            phones: Vec::new(),
            created_at: DateTime::<Utc>::UNIX_EPOCH,
        }
    }

    /// The same client with these e-mail addresses.
    pub fn with_emails<S: AsRef<str>>(mut self, emails: &[S]) -> Self {
        self.emails = emails.iter().map(|e| e.as_ref().to_owned()).collect();
        self
    }

    /// The same client with these phone numbers.
    pub fn with_phones<S: AsRef<str>>(mut self, phones: &[S]) -> Self {
        self.phones = phones.iter().map(|p| p.as_ref().to_owned()).collect();
        self
    }

    /// The same client created at `at`.
    pub fn created_at(mut self, at: DateTime<Utc>) -> Self {
        self.created_at = at;
        self
    }
}

/// A channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsedeskSimChannel {
    /// Channel id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// `email`, `twitter`, `chat`, `api`, …
    pub channel_type: String,
}

/// A comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsedeskSimComment {
    /// Comment id.
    pub id: u64,
    /// Ticket id.
    pub ticket_id: u64,
    /// Message (HTML, stored as sent).
    pub message: String,
    /// `user`, `client` or `trigger`.
    pub from: String,
    /// `public` or `private`.
    pub kind: String,
    /// Writing client, for `from: client`.
    pub client_id: Option<u64>,
    /// Writing agent, for `from: user`.
    pub user_id: Option<u64>,
    /// Whether it is the ticket's first message.
    pub is_first: bool,
    /// When it was published.
    pub published_at: DateTime<Utc>,
}

/// A ticket (its comments are held separately; see [`UsedeskSim::comments`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsedeskSimTicket {
    /// Ticket id.
    pub id: u64,
    /// Subject.
    pub subject: String,
    /// Status id (1 Open … 8 New … 10 Merged).
    pub status_id: u64,
    /// Client id.
    pub client_id: u64,
    /// Channel id.
    pub channel_id: Option<u64>,
    /// Tags, as split from the comma-separated `tag`.
    pub tags: Vec<String>,
    /// `additional_id`.
    pub additional_id: Option<String>,
    /// Assigned agent.
    pub assignee_id: Option<u64>,
    /// Creation time.
    pub published_at: DateTime<Utc>,
}

/// How to start a [`UsedeskSim`].
#[derive(Debug, Clone)]
pub struct UsedeskSimConfig {
    /// Accepted `api_token`.
    pub api_token: SecretString,
    /// Agents.
    pub users: Vec<UsedeskSimUser>,
    /// Groups.
    pub groups: Vec<UsedeskSimGroup>,
    /// Clients.
    pub clients: Vec<UsedeskSimClient>,
    /// Channels.
    pub channels: Vec<UsedeskSimChannel>,
    /// Tickets.
    pub tickets: Vec<UsedeskSimTicket>,
    /// Comments (of the seeded tickets).
    pub comments: Vec<UsedeskSimComment>,
    /// What `/tickets` `offset` means.
    pub tickets_offset: TicketsOffset,
    /// Rate limits (none by default).
    pub rate_limits: Vec<RateLimitRule>,
}

impl UsedeskSimConfig {
    /// The token accepted by default.
    pub const DEFAULT_API_TOKEN: &'static str = "sim-usedesk-token";
    /// The sample seed's Twitter channel id.
    pub const SAMPLE_TWITTER_CHANNEL_ID: u64 = 12;
    /// The sample seed's e-mail channel id.
    pub const SAMPLE_EMAIL_CHANNEL_ID: u64 = 11;

    /// An empty account with the default token.
    pub fn new() -> Self {
        Self {
            api_token: SecretString::from(Self::DEFAULT_API_TOKEN),
            users: Vec::new(),
            groups: Vec::new(),
            clients: Vec::new(),
            channels: Vec::new(),
            tickets: Vec::new(),
            comments: Vec::new(),
            tickets_offset: TicketsOffset::default(),
            rate_limits: Vec::new(),
        }
    }

    /// A realistic account: the eight agents of `examples/data/sample_schedule.csv`
    /// (`ana@example.com` … `hugo@example.com`, ids 101–108; Ana is an `admin`, Hugo
    /// `support`, the others `employee`), groups "Chat team" (1), "Mail team" (2),
    /// "Managers" (3), "Night shift" (4) and a deleted "Archive" (5), channels
    /// `support@example.com` (11, e-mail), `@deskbridge_demo` (12, Twitter) and "Website
    /// chat" (13), one client and two tickets (an open e-mail ticket and a closed Twitter
    /// DM ticket).
    pub fn sample() -> Self {
        let user = UsedeskSimUser::new;
        let users = vec![
            user(101, "Ana Alves", "ana@example.com")
                .with_type("admin")
                .with_status(true, true)
                .in_groups(&[3, 1]),
            user(102, "Ben Becker", "ben@example.com").in_groups(&[1]),
            user(103, "Carla Conti", "carla@example.com").in_groups(&[4, 2]),
            user(104, "Dmitri Dorn", "dmitri@example.com").with_status(true, false).in_groups(&[1, 2]),
            user(105, "Eva Engel", "eva@example.com").in_groups(&[2]),
            user(106, "Farid Fahmy", "farid@example.com").with_status(false, true).in_groups(&[1, 5]),
            user(107, "Greta Gruber", "greta@example.com").in_groups(&[2, 3]),
            user(108, "Hugo Hale", "hugo@example.com").with_type("support").in_groups(&[4]),
        ];
        let groups = vec![
            UsedeskSimGroup::new(1, "Chat team"),
            UsedeskSimGroup::new(2, "Mail team"),
            UsedeskSimGroup::new(3, "Managers"),
            UsedeskSimGroup::new(4, "Night shift"),
            UsedeskSimGroup { deleted: true, ..UsedeskSimGroup::new(5, "Archive") },
        ];
        let channel = |id: u64, name: &str, kind: &str| UsedeskSimChannel {
            id,
            name: name.to_owned(),
            channel_type: kind.to_owned(),
        };
        let channels = vec![
            channel(Self::SAMPLE_EMAIL_CHANNEL_ID, "support@example.com", "email"),
            channel(Self::SAMPLE_TWITTER_CHANNEL_ID, "@deskbridge_demo", "twitter"),
            channel(13, "Website chat", "chat"),
        ];
        let at = |d: u32, h: u32| Utc.with_ymd_and_hms(2025, 11, d, h, 0, 0).single().unwrap_or_default();
        let clients = vec![
            UsedeskSimClient::new(501, "Maria Customer")
                .with_emails(&["maria@example.net"])
                .with_phones(&["+15550100501"])
                .created_at(at(1, 8)),
            UsedeskSimClient::new(502, "@tweeting_tom").created_at(at(2, 8)),
        ];
        let tickets = vec![
            UsedeskSimTicket {
                id: 9001,
                subject: "Order #1234 has not arrived".to_owned(),
                status_id: 1,
                client_id: 501,
                channel_id: Some(Self::SAMPLE_EMAIL_CHANNEL_ID),
                tags: Vec::new(),
                additional_id: None,
                assignee_id: Some(105),
                published_at: at(20, 9),
            },
            UsedeskSimTicket {
                id: 9002,
                subject: "Twitter DM from @tweeting_tom".to_owned(),
                status_id: 3,
                client_id: 502,
                channel_id: Some(Self::SAMPLE_TWITTER_CHANNEL_ID),
                tags: vec!["Twitter:Direct".to_owned()],
                additional_id: Some("x-dm-1000".to_owned()),
                assignee_id: Some(102),
                published_at: at(21, 15),
            },
        ];
        let comment =
            |id, ticket_id, message: &str, from: &str, client_id, user_id, is_first, published_at| {
                UsedeskSimComment {
                    id,
                    ticket_id,
                    message: message.to_owned(),
                    from: from.to_owned(),
                    kind: "public".to_owned(),
                    client_id,
                    user_id,
                    is_first,
                    published_at,
                }
            };
        let comments = vec![
            comment(
                70001,
                9001,
                "<p>Where is my order #1234?</p>",
                "client",
                Some(501),
                None,
                true,
                at(20, 9),
            ),
            comment(
                70002,
                9001,
                "<p>We are checking with the courier.</p>",
                "user",
                None,
                Some(105),
                false,
                at(20, 10),
            ),
            comment(70003, 9002, "Hello, my app crashes", "client", Some(502), None, true, at(21, 15)),
        ];
        Self { users, groups, clients, channels, tickets, comments, ..Self::new() }
    }

    /// Accept this token instead of the default.
    pub fn api_token(mut self, token: impl Into<String>) -> Self {
        self.api_token = SecretString::from(token.into());
        self
    }

    /// Make `/tickets` `offset` mean this.
    pub fn tickets_offset(mut self, mode: TicketsOffset) -> Self {
        self.tickets_offset = mode;
        self
    }

    /// Enforce this rate limit.
    pub fn rate_limit(mut self, rule: RateLimitRule) -> Self {
        self.rate_limits.push(rule);
        self
    }
}

impl Default for UsedeskSimConfig {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Debug)]
struct UsedeskState {
    token: SecretString,
    users: BTreeMap<u64, UsedeskSimUser>,
    groups: BTreeMap<u64, UsedeskSimGroup>,
    clients: BTreeMap<u64, UsedeskSimClient>,
    channels: BTreeMap<u64, UsedeskSimChannel>,
    tickets: BTreeMap<u64, UsedeskSimTicket>,
    comments: Vec<UsedeskSimComment>,
    tickets_offset: TicketsOffset,
    next_ticket_id: u64,
    next_comment_id: u64,
    next_client_id: u64,
    /// Split `tag` on spaces too, as "tags separated by commas and spaces" may mean.
    split_tags_on_spaces: bool,
    /// Files uploaded with comments (multipart `files[]`), by comment id.
    comment_files: BTreeMap<u64, Vec<Value>>,
}

struct UsedeskProvider {
    state: Arc<Mutex<UsedeskState>>,
}

/// A running Usedesk simulator. See the [module docs](self) for what it serves.
#[derive(Debug)]
pub struct UsedeskSim {
    server: SimServer,
    state: Arc<Mutex<UsedeskState>>,
}

fn check_unique(kind: &str, ids: impl Iterator<Item = u64>) -> Result<()> {
    let mut seen = std::collections::BTreeSet::new();
    for id in ids {
        if !seen.insert(id) {
            return Err(Error::config(format!("usedesk simulator: duplicate {kind} id {id}")));
        }
    }
    Ok(())
}

impl UsedeskSim {
    /// Start a simulator with `config` on `127.0.0.1`.
    ///
    /// # Errors
    /// [`Error::Config`] for duplicate ids or when the port cannot be bound.
    pub async fn start(config: UsedeskSimConfig) -> Result<Self> {
        check_unique("user", config.users.iter().map(|u| u.id))?;
        check_unique("group", config.groups.iter().map(|g| g.id))?;
        check_unique("client", config.clients.iter().map(|c| c.id))?;
        check_unique("channel", config.channels.iter().map(|c| c.id))?;
        check_unique("ticket", config.tickets.iter().map(|t| t.id))?;
        check_unique("comment", config.comments.iter().map(|c| c.id))?;
        let next_ticket_id = config.tickets.iter().map(|t| t.id).max().unwrap_or(10_000) + 1;
        let next_comment_id = config.comments.iter().map(|c| c.id).max().unwrap_or(100_000) + 1;
        let next_client_id = config.clients.iter().map(|c| c.id).max().unwrap_or(1_000) + 1;
        let state = Arc::new(Mutex::new(UsedeskState {
            token: config.api_token,
            users: config.users.into_iter().map(|u| (u.id, u)).collect(),
            groups: config.groups.into_iter().map(|g| (g.id, g)).collect(),
            clients: config.clients.into_iter().map(|c| (c.id, c)).collect(),
            channels: config.channels.into_iter().map(|c| (c.id, c)).collect(),
            tickets: config.tickets.into_iter().map(|t| (t.id, t)).collect(),
            comments: config.comments,
            tickets_offset: config.tickets_offset,
            next_ticket_id,
            next_comment_id,
            next_client_id,
            split_tags_on_spaces: false,
            comment_files: BTreeMap::new(),
        }));
        let provider = Arc::new(UsedeskProvider { state: Arc::clone(&state) });
        let server = SimServer::start(provider, Vec::new(), config.rate_limits).await?;
        Ok(Self { server, state })
    }

    /// Start with [`UsedeskSimConfig::sample`].
    ///
    /// # Errors
    /// As [`UsedeskSim::start`].
    pub async fn start_with_sample() -> Result<Self> {
        Self::start(UsedeskSimConfig::sample()).await
    }

    /// The shared server: request log, rate limits, faults.
    pub fn server(&self) -> &SimServer {
        &self.server
    }

    /// The files uploaded with a comment (`[{name, content_type, size}]`), empty when none.
    pub fn comment_files(&self, comment_id: u64) -> Vec<Value> {
        lock(&self.state).comment_files.get(&comment_id).cloned().unwrap_or_default()
    }

    /// Split `/create/ticket`'s `tag` on spaces as well as commas (default: commas only).
    /// Usedesk documents `tag` as "tags separated by commas and spaces", so an account may
    /// turn `Twitter: Mention` into `Twitter:` and `Mention`; this plays that account.
    pub fn split_tags_on_spaces(&self, split: bool) {
        lock(&self.state).split_tags_on_spaces = split;
    }

    /// The base URL (`http://127.0.0.1:PORT/`); the client appends the method name.
    pub fn base_url(&self) -> Url {
        self.server.base_url()
    }

    /// Stop the server gracefully.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }

    /// One agent's current state.
    pub fn user(&self, id: u64) -> Option<UsedeskSimUser> {
        lock(&self.state).users.get(&id).cloned()
    }

    /// Every agent, by id.
    pub fn users(&self) -> Vec<UsedeskSimUser> {
        lock(&self.state).users.values().cloned().collect()
    }

    /// Every group, by id.
    pub fn groups(&self) -> Vec<UsedeskSimGroup> {
        lock(&self.state).groups.values().cloned().collect()
    }

    /// Every client, by id.
    pub fn clients(&self) -> Vec<UsedeskSimClient> {
        lock(&self.state).clients.values().cloned().collect()
    }

    /// Every ticket, by id.
    pub fn tickets(&self) -> Vec<UsedeskSimTicket> {
        lock(&self.state).tickets.values().cloned().collect()
    }

    /// One ticket.
    pub fn ticket(&self, id: u64) -> Option<UsedeskSimTicket> {
        lock(&self.state).tickets.get(&id).cloned()
    }

    /// A ticket's comments, oldest first.
    pub fn comments(&self, ticket_id: u64) -> Vec<UsedeskSimComment> {
        lock(&self.state).comments.iter().filter(|c| c.ticket_id == ticket_id).cloned().collect()
    }

    /// Add a client (or replace the one with its id), as an agent would in the Usedesk UI.
    pub fn insert_client(&self, client: UsedeskSimClient) {
        let mut state = lock(&self.state);
        state.next_client_id = state.next_client_id.max(client.id + 1);
        state.clients.insert(client.id, client);
    }

    /// Set a ticket's status, as an agent would in the Usedesk UI.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an unknown ticket.
    pub fn set_ticket_status(&self, ticket_id: u64, status_id: u64) -> Result<()> {
        let mut state = lock(&self.state);
        let ticket = state
            .tickets
            .get_mut(&ticket_id)
            .ok_or_else(|| Error::invalid("usedesk ticket id", format!("no ticket {ticket_id}")))?;
        ticket.status_id = status_id;
        Ok(())
    }

    /// Set an agent's statuses, as the agent would in the Usedesk UI (`None` keeps one).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an unknown user.
    pub fn set_user_status(
        &self,
        user_id: u64,
        chat_online: Option<bool>,
        ticket_online: Option<bool>,
    ) -> Result<()> {
        let mut state = lock(&self.state);
        let user = state
            .users
            .get_mut(&user_id)
            .ok_or_else(|| Error::invalid("usedesk user id", format!("no user {user_id}")))?;
        if let Some(chat) = chat_online {
            user.chat_online = chat;
        }
        if let Some(tickets) = ticket_online {
            user.ticket_online = tickets;
        }
        Ok(())
    }

    /// A "new comment" webhook delivery for an existing comment, carrying `secret`
    /// (`{secret, comment, client, assignee_id}`); `None` for an unknown comment.
    pub fn new_comment_delivery(&self, comment_id: u64, secret: &str) -> Option<WebhookDelivery> {
        let state = lock(&self.state);
        let comment = state.comments.iter().find(|c| c.id == comment_id)?;
        let ticket = state.tickets.get(&comment.ticket_id)?;
        let body = json!({
            "secret": secret,
            "comment": comment_json(comment),
            "client": state.clients.get(&ticket.client_id).map(client_json),
            "assignee_id": ticket.assignee_id,
        });
        Some(delivery(&body))
    }

    /// A "new ticket" webhook delivery for an existing ticket, carrying `secret`
    /// (`{secret, ticket, client, custom_fields}`); `None` for an unknown ticket.
    pub fn new_ticket_delivery(&self, ticket_id: u64, secret: &str) -> Option<WebhookDelivery> {
        let state = lock(&self.state);
        let ticket = state.tickets.get(&ticket_id)?;
        let mut ticket_value = ticket_json(ticket);
        if let Some(first) = state.comments.iter().find(|c| c.ticket_id == ticket_id && c.is_first) {
            if let Some(object) = ticket_value.as_object_mut() {
                object.insert("message".into(), Value::from(first.message.clone()));
                object.insert("files".into(), json!([]));
            }
        }
        let body = json!({
            "secret": secret,
            "ticket": ticket_value,
            "client": state.clients.get(&ticket.client_id).map(client_json),
            "custom_fields": [],
        });
        Some(delivery(&body))
    }

    /// A chat-message webhook delivery on an existing ticket, as Usedesk documents it:
    /// `{chat_id, text, client_id, client, from, platform, secret, ticket}`, where `secret`
    /// is the API channel's **application id** (ticket deliveries carry the token
    /// instead). `chat_id` is the ticket id here. `None` for an unknown ticket.
    pub fn chat_message_delivery(
        &self,
        ticket_id: u64,
        text: &str,
        application_id: &str,
    ) -> Option<WebhookDelivery> {
        let state = lock(&self.state);
        let ticket = state.tickets.get(&ticket_id)?;
        let body = json!({
            "chat_id": ticket_id,
            "text": text,
            "client_id": ticket.client_id,
            "client": state.clients.get(&ticket.client_id).map(client_json),
            "from": "client",
            "platform": "usedesk_tg",
            "secret": application_id,
            "ticket": ticket_json(ticket),
        });
        Some(delivery(&body))
    }
}

fn delivery(body: &Value) -> WebhookDelivery {
    WebhookDelivery::new(
        "usedesk",
        body.to_string().into_bytes(),
        vec![("content-type".to_owned(), "application/json".to_owned())],
    )
}

fn flag(value: bool) -> &'static str {
    if value { "1" } else { "0" }
}

fn date(at: &DateTime<Utc>) -> String {
    at.format(DATE_FORMAT).to_string()
}

fn client_json(client: &UsedeskSimClient) -> Value {
    let emails: Vec<Value> = client.emails.iter().map(|email| json!({ "email": email })).collect();
    let phones: Vec<Value> =
        client.phones.iter().map(|phone| json!({ "phone": phone, "type": "mobile" })).collect();
    json!({ "id": client.id, "name": client.name, "avatar": null, "note": "", "emails": emails, "phones": phones, "additional_ids": [] })
}

fn comment_json(comment: &UsedeskSimComment) -> Value {
    json!({
        "id": comment.id,
        "message": comment.message,
        "from": comment.from,
        "type": comment.kind,
        "user_id": comment.user_id,
        "client_id": comment.client_id,
        "ticket_id": comment.ticket_id,
        "is_first": flag(comment.is_first),
        "published_at": date(&comment.published_at),
        "files": [],
    })
}

fn ticket_json(ticket: &UsedeskSimTicket) -> Value {
    json!({
        "id": ticket.id,
        "status_id": ticket.status_id,
        "subject": ticket.subject,
        "client_id": ticket.client_id,
        "assignee_id": ticket.assignee_id,
        "group": null,
        "channel_id": ticket.channel_id,
        "additional_id": ticket.additional_id,
        "last_updated_at": date(&ticket.published_at),
        "email": null,
        "published_at": date(&ticket.published_at),
        "company_id": COMPANY_ID,
    })
}

fn tags_json(tags: &[String]) -> Value {
    Value::Array(tags.iter().map(|name| json!({ "name": name })).collect())
}

/// Usedesk's error answer: HTTP 200 with `{"error": message}`.
fn refuse(message: impl Into<String>) -> SimResponse {
    SimResponse::json(StatusCode::OK, &json!({ "error": message.into() }))
}

fn ok(value: Value) -> SimResponse {
    SimResponse::json(StatusCode::OK, &value)
}

/// The parts of a `multipart/form-data` body: text fields as strings, and file parts
/// (`filename=` given) collected under `"files"` as `[{name, content_type, size}]`.
fn multipart_params(request: &SimRequest) -> Option<Map<String, Value>> {
    let content_type = request.header("content-type")?;
    let boundary = content_type.strip_prefix("multipart/form-data; boundary=")?.trim_matches('"');
    let delimiter = format!("--{boundary}");
    let body = &request.body[..];
    let mut map = Map::new();
    let mut files = Vec::new();
    let mut rest = body;
    while let Some(start) = find(rest, delimiter.as_bytes()) {
        rest = &rest[start + delimiter.len()..];
        if rest.starts_with(b"--") {
            break;
        }
        let rest_after = rest.strip_prefix(b"\r\n").unwrap_or(rest);
        let header_end = find(rest_after, b"\r\n\r\n")?;
        let headers = String::from_utf8_lossy(&rest_after[..header_end]).into_owned();
        let content = &rest_after[header_end + 4..];
        let end = find(content, format!("\r\n{delimiter}").as_bytes())?;
        let value = &content[..end];
        let attribute = |name: &str| {
            let key = format!("{name}=\"");
            let start = headers.find(&key)? + key.len();
            let length = headers[start..].find('"')?;
            Some(headers[start..start + length].to_owned())
        };
        let name = attribute("name")?;
        match attribute("filename") {
            Some(filename) => {
                let content_type = headers
                    .lines()
                    .find_map(|line| line.strip_prefix("Content-Type: "))
                    .unwrap_or("application/octet-stream");
                files.push(json!({ "name": filename, "content_type": content_type, "size": value.len() }));
            }
            None => {
                map.insert(name, Value::from(String::from_utf8_lossy(value).into_owned()));
            }
        }
        rest = &content[end + 2..];
    }
    if !files.is_empty() {
        map.insert("files".into(), Value::Array(files));
    }
    Some(map)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

/// The request's parameters: a JSON object, multipart fields, or form fields as strings.
fn params(request: &SimRequest) -> Option<Map<String, Value>> {
    if request.header("content-type").is_some_and(|c| c.starts_with("multipart/form-data")) {
        return multipart_params(request);
    }
    if let Some(value) = request.body_json() {
        return match value {
            Value::Object(map) => Some(map),
            _ => None,
        };
    }
    let text = request.body_text();
    let mut map = Map::new();
    for (key, value) in url::form_urlencoded::parse(text.as_bytes()) {
        map.insert(key.into_owned(), Value::from(value.into_owned()));
    }
    for (key, value) in request.query_pairs() {
        map.entry(key).or_insert(Value::from(value));
    }
    Some(map)
}

/// A field as text (strings as they are, numbers printed); `None` when absent or `null`.
fn text(params: &Map<String, Value>, key: &str) -> Option<String> {
    match params.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A numeric id field: `Ok(None)` when absent, `Err` when present but not an id.
fn number(params: &Map<String, Value>, key: &str) -> std::result::Result<Option<u64>, String> {
    match text(params, key) {
        None => Ok(None),
        Some(text) if text.trim().is_empty() => Ok(None),
        Some(text) => {
            text.trim().parse::<u64>().map(Some).map_err(|_| format!("The {key} must be an integer."))
        }
    }
}

fn boolean(params: &Map<String, Value>, key: &str) -> std::result::Result<Option<bool>, String> {
    match params.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::Number(n)) if n.as_u64() == Some(1) => Ok(Some(true)),
        Some(Value::Number(n)) if n.as_u64() == Some(0) => Ok(Some(false)),
        Some(Value::String(s)) if matches!(s.as_str(), "true" | "1") => Ok(Some(true)),
        Some(Value::String(s)) if matches!(s.as_str(), "false" | "0") => Ok(Some(false)),
        Some(_) => Err(format!("The {key} field must be true or false.")),
    }
}

/// An optional `Y-m-d H:i` date parameter, refused with Usedesk's message when malformed.
fn date_param(params: &Map<String, Value>, key: &str) -> std::result::Result<Option<DateTime<Utc>>, String> {
    match text(params, key) {
        None => Ok(None),
        Some(value) => parse_filter_date(&value)
            .map(Some)
            .ok_or_else(|| format!("The {key} does not match the format Y-m-d H:i.")),
    }
}

fn parse_filter_date(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .map(|naive| naive.and_utc())
}

fn id_list(params: &Map<String, Value>, key: &str) -> std::result::Result<Option<Vec<u64>>, String> {
    match text(params, key) {
        None => Ok(None),
        Some(text) => text
            .split(',')
            .filter(|part| !part.trim().is_empty())
            .map(|part| part.trim().parse::<u64>())
            .collect::<std::result::Result<Vec<_>, _>>()
            .map(Some)
            .map_err(|_| format!("The {key} filter must be a comma-separated list of ids.")),
    }
}

macro_rules! attempt {
    ($e:expr) => {
        match $e {
            Ok(value) => value,
            Err(message) => return refuse(message),
        }
    };
}

impl UsedeskState {
    fn user_json(&self, user: &UsedeskSimUser) -> Value {
        let groups: Vec<Value> = user
            .group_ids
            .iter()
            .filter_map(|id| self.groups.get(id))
            .map(|group| {
                json!({
                    "id": group.id,
                    "name": group.name,
                    "company_id": COMPANY_ID,
                    "deleted": flag(group.deleted),
                    "deleted_at": null,
                    "custom_working_time": "0",
                    "timezone": "UTC",
                    "pivot": { "user_id": user.id.to_string(), "user_group_id": group.id.to_string() },
                })
            })
            .collect();
        json!({
            "id": user.id,
            "name": user.name,
            "email": user.email,
            "position": "",
            "role": user.user_type,
            "phone": null,
            "chat_online_status": flag(user.chat_online),
            "online_status": flag(user.ticket_online),
            "groups": groups,
        })
    }

    fn users(&self, params: &Map<String, Value>) -> SimResponse {
        let user_type = text(params, "user_type").unwrap_or_else(|| "employee".to_owned());
        if !matches!(user_type.as_str(), "admin" | "employee" | "support") {
            return refuse("The selected user type is invalid.");
        }
        let user_id = attempt!(number(params, "user_id"));
        let group_id = attempt!(number(params, "group_id"));
        let users: Vec<Value> = self
            .users
            .values()
            .filter(|user| match user_id {
                Some(id) => user.id == id,
                None => user.user_type == user_type,
            })
            .filter(|user| group_id.is_none_or(|group| user.group_ids.contains(&group)))
            .map(|user| self.user_json(user))
            .collect();
        ok(Value::Array(users))
    }

    fn groups_json(&self) -> SimResponse {
        let groups: Vec<Value> = self
            .groups
            .values()
            .map(|group| {
                let users: Vec<Value> = self
                    .users
                    .values()
                    .filter(|user| user.group_ids.contains(&group.id))
                    .map(|user| {
                        json!({
                            "id": user.id,
                            "name": user.name,
                            "email": user.email,
                            "position": "",
                            "role": user.user_type,
                            "phone": null,
                            "pivot": { "user_group_id": group.id.to_string(), "user_id": user.id.to_string() },
                        })
                    })
                    .collect();
                json!({
                    "id": group.id,
                    "name": group.name,
                    "company_id": COMPANY_ID,
                    "deleted": flag(group.deleted),
                    "deleted_at": null,
                    "custom_working_time": "0",
                    "timezone": "UTC",
                    "users": users,
                })
            })
            .collect();
        ok(Value::Array(groups))
    }

    fn update_user(&mut self, params: &Map<String, Value>) -> SimResponse {
        let Some(user_id) = attempt!(number(params, "user_id")) else {
            return refuse("The user id field is required.");
        };
        let chat = attempt!(boolean(params, "chat_online_status"));
        let tickets = attempt!(boolean(params, "ticket_online_status"));
        let Some(user) = self.users.get_mut(&user_id) else {
            return refuse("User not found");
        };
        if let Some(chat) = chat {
            user.chat_online = chat;
        }
        if let Some(tickets) = tickets {
            user.ticket_online = tickets;
        }
        if let Some(name) = text(params, "name") {
            user.name = name;
        }
        if let Some(email) = text(params, "email") {
            user.email = email;
        }
        ok(json!({ "status": "success", "user_id": user_id }))
    }

    fn create_ticket(&mut self, params: &Map<String, Value>) -> SimResponse {
        let subject = text(params, "subject").unwrap_or_default();
        if subject.trim().is_empty() {
            return refuse("The subject field is required.");
        }
        if subject.chars().count() > 255 {
            return refuse("The subject may not be greater than 255 characters.");
        }
        let message = text(params, "message").unwrap_or_default();
        if message.trim().is_empty() {
            return refuse("The message field is required.");
        }
        let channel_id = attempt!(number(params, "channel_id"));
        if let Some(channel) = channel_id {
            if !self.channels.contains_key(&channel) {
                return refuse("Channel not found");
            }
        }
        let status_id = attempt!(number(params, "status")).unwrap_or(8);
        let from = text(params, "from").unwrap_or_else(|| "client".to_owned());
        if !matches!(from.as_str(), "user" | "client" | "trigger") {
            return refuse("The selected from is invalid.");
        }
        let tag = text(params, "tag").unwrap_or_default();
        if tag.chars().count() > 255 {
            return refuse("The tag may not be greater than 255 characters.");
        }
        let client_id = match text(params, "client_id").as_deref().map(str::trim) {
            Some("new_client") | None | Some("") => {
                let name = text(params, "client_name")
                    .filter(|n| !n.trim().is_empty())
                    .unwrap_or_else(|| "Client".into());
                let id = self.next_client_id;
                self.next_client_id += 1;
                let mut client = UsedeskSimClient::new(id, name).created_at(Utc::now());
                client.emails =
                    text(params, "client_email").filter(|e| !e.trim().is_empty()).into_iter().collect();
                client.phones =
                    text(params, "client_phone").filter(|p| !p.trim().is_empty()).into_iter().collect();
                self.clients.insert(id, client);
                id
            }
            Some(other) => match other.parse::<u64>() {
                Ok(id) if self.clients.contains_key(&id) => id,
                Ok(_) => return refuse("Client not found"),
                Err(_) => return refuse("The client id must be an integer or new_client."),
            },
        };
        let now = Utc::now();
        let ticket_id = self.next_ticket_id;
        self.next_ticket_id += 1;
        let separators: &[char] = if self.split_tags_on_spaces { &[',', ' '] } else { &[','] };
        let tags: Vec<String> =
            tag.split(separators).map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect();
        self.tickets.insert(
            ticket_id,
            UsedeskSimTicket {
                id: ticket_id,
                subject,
                status_id,
                client_id,
                channel_id,
                tags,
                additional_id: text(params, "additional_id").filter(|a| !a.is_empty()),
                assignee_id: None,
                published_at: now,
            },
        );
        let comment_id = self.next_comment_id;
        self.next_comment_id += 1;
        self.comments.push(UsedeskSimComment {
            id: comment_id,
            ticket_id,
            message,
            kind: "public".to_owned(),
            client_id: (from == "client").then_some(client_id),
            user_id: None,
            from,
            is_first: true,
            published_at: now,
        });
        ok(json!({ "status": "success", "ticket_id": ticket_id }))
    }

    fn create_comment(&mut self, params: &Map<String, Value>) -> SimResponse {
        let Some(ticket_id) = attempt!(number(params, "ticket_id")) else {
            return refuse("The ticket id field is required.");
        };
        let message = text(params, "message").unwrap_or_default();
        if message.trim().is_empty() {
            return refuse("The message field is required.");
        }
        let kind = text(params, "type").unwrap_or_else(|| "private".to_owned());
        if !matches!(kind.as_str(), "public" | "private") {
            return refuse("The selected type is invalid.");
        }
        let from = text(params, "from").unwrap_or_else(|| "user".to_owned());
        if !matches!(from.as_str(), "user" | "client" | "trigger") {
            return refuse("The selected from is invalid.");
        }
        let user_id = attempt!(number(params, "user_id"));
        let Some(ticket) = self.tickets.get(&ticket_id) else {
            return refuse("Ticket not found");
        };
        let client_id = (from == "client").then_some(ticket.client_id);
        let user_id =
            if from == "user" { user_id.or_else(|| self.users.keys().next().copied()) } else { None };
        let comment_id = self.next_comment_id;
        self.next_comment_id += 1;
        self.comments.push(UsedeskSimComment {
            id: comment_id,
            ticket_id,
            message,
            from,
            kind,
            client_id,
            user_id,
            is_first: false,
            published_at: Utc::now(),
        });
        if let Some(Value::Array(files)) = params.get("files") {
            self.comment_files.insert(comment_id, files.clone());
        }
        ok(json!({ "status": "success", "comment_id": comment_id }))
    }

    fn ticket(&self, params: &Map<String, Value>) -> SimResponse {
        let Some(ticket_id) = attempt!(number(params, "ticket_id")) else {
            return refuse("The ticket id field is required.");
        };
        let Some(ticket) = self.tickets.get(&ticket_id) else {
            return refuse("Ticket not found");
        };
        let comments: Vec<Value> =
            self.comments.iter().filter(|c| c.ticket_id == ticket_id).map(comment_json).collect();
        ok(json!({
            "ticket": ticket_json(ticket),
            "comments": comments,
            "tags": tags_json(&ticket.tags),
            "changes": [],
        }))
    }

    fn tickets(&self, params: &Map<String, Value>) -> SimResponse {
        let channels = attempt!(id_list(params, "fchannel"));
        let statuses = attempt!(id_list(params, "fstatus"));
        let client_id = attempt!(number(params, "client_id"));
        let offset = attempt!(number(params, "offset")).unwrap_or(0);
        let after = attempt!(date_param(params, "created_after"));
        let before = attempt!(date_param(params, "created_before"));
        let tag = text(params, "tag");
        let mut rows: Vec<&UsedeskSimTicket> = self
            .tickets
            .values()
            .filter(|t| channels.as_ref().is_none_or(|c| t.channel_id.is_some_and(|id| c.contains(&id))))
            .filter(|t| statuses.as_ref().is_none_or(|s| s.contains(&t.status_id)))
            .filter(|t| client_id.is_none_or(|c| t.client_id == c))
            .filter(|t| after.is_none_or(|a| t.published_at >= a))
            .filter(|t| before.is_none_or(|b| t.published_at <= b))
            .filter(|t| tag.as_ref().is_none_or(|tag| t.tags.iter().any(|x| x == tag)))
            .collect();
        rows.sort_by_key(|ticket| std::cmp::Reverse(ticket.id));
        let start = match self.tickets_offset {
            TicketsOffset::PageNumber => offset.saturating_mul(TICKETS_PAGE_SIZE as u64),
            TicketsOffset::RowOffset => offset,
        };
        let page: Vec<Value> = rows
            .into_iter()
            .skip(usize::try_from(start).unwrap_or(usize::MAX))
            .take(TICKETS_PAGE_SIZE)
            .map(|ticket| {
                let last_comment =
                    self.comments.iter().rev().find(|c| c.ticket_id == ticket.id).map(|c| c.message.clone());
                json!({
                    "id": ticket.id,
                    "subject": ticket.subject,
                    "status_id": ticket.status_id,
                    "client_id": ticket.client_id,
                    "client_name": self.clients.get(&ticket.client_id).map(|c| c.name.clone()),
                    "assignee_id": ticket.assignee_id,
                    "channel_id": ticket.channel_id,
                    "group": null,
                    "last_updated_at": date(&ticket.published_at),
                    "published_at": date(&ticket.published_at),
                    "type": "question",
                    "priority": "medium",
                    "tags": tags_json(&ticket.tags),
                    "ticket_fields": [],
                    "last_comment": last_comment,
                })
            })
            .collect();
        ok(Value::Array(page))
    }

    fn clients(&self, params: &Map<String, Value>) -> SimResponse {
        let offset = attempt!(number(params, "offset")).unwrap_or(0);
        let after = attempt!(date_param(params, "created_after"));
        let before = attempt!(date_param(params, "created_before"));
        let full_match = match text(params, "search_type").as_deref() {
            None | Some("partial_match") => false,
            Some("full_match") => true,
            Some(_) => return refuse("The selected search type is invalid."),
        };
        let query = text(params, "query").map(|q| q.trim().to_lowercase()).filter(|q| !q.is_empty());
        let matches = |client: &UsedeskSimClient| -> bool {
            let Some(query) = &query else { return true };
            std::iter::once(&client.name).chain(&client.emails).chain(&client.phones).any(|value| {
                let value = value.to_lowercase();
                if full_match { value == *query } else { value.contains(query.as_str()) }
            })
        };
        let start = offset.saturating_mul(CLIENTS_PAGE_SIZE as u64);
        let page: Vec<Value> = self
            .clients
            .values()
            .filter(|c| after.is_none_or(|a| c.created_at >= a))
            .filter(|c| before.is_none_or(|b| c.created_at <= b))
            .filter(|c| matches(c))
            .skip(usize::try_from(start).unwrap_or(usize::MAX))
            .take(CLIENTS_PAGE_SIZE)
            .map(|client| {
                let tickets: Vec<u64> =
                    self.tickets.values().filter(|t| t.client_id == client.id).map(|t| t.id).collect();
                let emails = (!client.emails.is_empty()).then(|| client.emails.join(", "));
                json!({
                    "id": client.id,
                    "name": client.name,
                    "emails": emails,
                    "phone": client.phones.first(),
                    "tickets": tickets,
                    "created_at": date(&client.created_at),
                    "updated_at": date(&client.created_at),
                })
            })
            .collect();
        ok(Value::Array(page))
    }

    fn channels_json(&self) -> SimResponse {
        let channels: Vec<Value> = self
            .channels
            .values()
            .map(|c| json!({ "channel_id": c.id, "channel_name": c.name, "channel_type": c.channel_type }))
            .collect();
        ok(Value::Array(channels))
    }
}

impl SimProvider for UsedeskProvider {
    fn name(&self) -> &'static str {
        "usedesk"
    }

    fn handle(&self, request: &SimRequest, _base_url: &Url) -> SimResponse {
        let path = request.path_segments().join("/");
        const KNOWN: [&str; 9] = [
            "users",
            "groups",
            "update/user",
            "create/ticket",
            "create/comment",
            "ticket",
            "tickets",
            "channels",
            "clients",
        ];
        if !KNOWN.contains(&path.as_str()) {
            return SimResponse::json(StatusCode::NOT_FOUND, &json!({ "error": "Method not found" }));
        }
        if request.method != Method::POST {
            return SimResponse::json(
                StatusCode::METHOD_NOT_ALLOWED,
                &json!({ "error": "Every Usedesk API method is a POST" }),
            );
        }
        let Some(params) = params(request) else {
            return refuse("The request body must be a JSON object or form fields.");
        };
        let mut state = lock(&self.state);
        let token_ok = matches!(params.get("api_token"), Some(Value::String(t)) if !t.is_empty() && t == state.token.expose_secret());
        if !token_ok {
            return self.unauthorized(request);
        }
        match path.as_str() {
            "users" => state.users(&params),
            "groups" => state.groups_json(),
            "update/user" => state.update_user(&params),
            "create/ticket" => state.create_ticket(&params),
            "create/comment" => state.create_comment(&params),
            "ticket" => state.ticket(&params),
            "tickets" => state.tickets(&params),
            "clients" => state.clients(&params),
            _ => state.channels_json(),
        }
    }

    /// Usedesk's answer to a missing or wrong `api_token`: HTTP 200 with an error body.
    fn unauthorized(&self, _request: &SimRequest) -> SimResponse {
        refuse("Wrong api_token")
    }

    fn too_many_requests(&self, _status: &RateLimitStatus) -> SimResponse {
        SimResponse::json(StatusCode::TOO_MANY_REQUESTS, &json!({ "error": "Too Many Requests" }))
    }

    fn rate_limit_headers(&self, status: &RateLimitStatus, exceeded: bool) -> Vec<(&'static str, String)> {
        if exceeded { vec![("retry-after", status.retry_after.as_secs().to_string())] } else { Vec::new() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_dates_read_minutes_and_seconds() {
        assert_eq!(
            parse_filter_date("2026-11-23 08:05"),
            Utc.with_ymd_and_hms(2026, 11, 23, 8, 5, 0).single()
        );
        assert_eq!(
            parse_filter_date("2026-11-23 08:05:09"),
            Utc.with_ymd_and_hms(2026, 11, 23, 8, 5, 9).single()
        );
        assert_eq!(parse_filter_date("23.11.2026"), None);
    }

    #[test]
    fn sample_matches_the_sample_schedule() {
        let config = UsedeskSimConfig::sample();
        let emails: Vec<&str> = config.users.iter().map(|u| u.email.as_str()).collect();
        for name in ["ana", "ben", "carla", "dmitri", "eva", "farid", "greta", "hugo"] {
            assert!(emails.contains(&format!("{name}@example.com").as_str()), "{name}");
        }
        assert!(check_unique("user", config.users.iter().map(|u| u.id)).is_ok());
        assert!(check_unique("x", [1, 2, 1].into_iter()).is_err());
    }
}
