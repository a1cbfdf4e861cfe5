//! Zendesk: agents, groups, agent status (unified or Talk), and agent-status webhooks.
//!
//! - `client`: [`ZendeskConfig`] (subdomain or base URL, API token or OAuth, pace,
//!   account mode, custom status reading; [`ZendeskConfig::from_env`]) and
//!   [`ZendeskClient`], a typed API over [`ApiClient`](crate::http::ApiClient).
//! - `model`: tolerant serde types (`i64` ids given as numbers or strings) and
//!   [`ZendeskErrorInterpreter`].
//! - `webhook`: signature verification with an explicit clock and agent-event parsing.
//! - `talk`: Talk Partner Edition: screen pop, voice tickets, call records, caller
//!   lookup by phone (methods on [`ZendeskClient`]).
//! - `adapter`: [`ZendeskProvider`], the [`StatusProvider`](crate::ports::StatusProvider)
//!   port.
//!
//! **Two status APIs.** With omnichannel routing on, an agent has one *unified* status
//! (`online`, `offline`, `away`, `transfers_only` or a custom one like `In a meeting`),
//! written with `PUT /api/v2/agent_availabilities/agent_statuses/agents/{id}` and the
//! status id resolved by name per account (ids are never hard-coded; the documentation
//! itself disagrees on them). With routing off, the Talk availability's `agent_state` is
//! written with `PUT /api/v2/channels/voice/availabilities/{id}`. The client finds out
//! which applies (account settings, then the answers themselves: a Talk 400 means routing
//! is on, a unified 403/404 means it is off), caches it, and reports
//! [`Error::Unsupported`](crate::Error::Unsupported) when neither path works.
//!
//! **Request counts** of [`ZendeskProvider::list_agents`](crate::ports::StatusProvider::list_agents)
//! for U agents, G groups and M memberships: `ceil(U/100) + ceil(G/100) + ceil(M/100)`, plus
//! one settings request per client, plus, with routing on, `ceil(U/100)` availability
//! pages (and one cached status-list request with
//! [`CustomStatusReading::ByTalkChannel`]); with routing off, U Talk reads (no list
//! endpoint exists), paced by the client. A write is one request (plus one cached
//! status-list request in unified mode), two when the mode flips.
//!
//! ```no_run
//! # async fn demo() -> deskbridge::Result<()> {
//! use deskbridge::ports::StatusProvider;
//! use deskbridge::status::{Channel, NativeStatus};
//! use deskbridge::zendesk::{ZendeskAuth, ZendeskConfig, ZendeskProvider};
//!
//! let config = match ZendeskConfig::from_env()? {
//!     Some(config) => config,
//!     None => ZendeskConfig::for_subdomain("acme", ZendeskAuth::api_token("admin@acme.com", "token"))?,
//! };
//! let zendesk = ZendeskProvider::from_config(config)?;
//! for agent in zendesk.list_agents().await? {
//!     println!("{} {:?} {:?}", agent.name, agent.groups, agent.status(Channel::Voice));
//! }
//! zendesk.set_status("16765840571292", Channel::Voice, &NativeStatus::new("online")).await?;
//! # Ok(()) }
//! ```

mod adapter;
mod client;
mod model;
mod preset;
#[cfg(feature = "server")]
mod receiver;
mod setup;
mod talk;
mod webhook;

/// The provider's id, its one path: the name in errors, spans and reports, what its
/// `StatusProvider::name()` returns, and the routing key of the events its webhook receiver
/// queues.
pub const PROVIDER: &str = "zendesk";

pub use adapter::ZendeskProvider;
pub use client::{
    AccountMode, CustomStatusReading, DEFAULT_REQUESTS_PER_MINUTE, INCREMENTAL_PAGE_SIZE, IncrementalStart,
    MEMBERSHIP_READ_CONCURRENCY, ModeSetting, PAGE_SIZE, StatusCatalog, TALK_READ_CONCURRENCY, UnifiedBody,
    UnifiedBodySetting, WritePath, ZendeskAuth, ZendeskClient, ZendeskConfig, canonical_status_name,
};
pub use model::{
    AccountSettings, AgentAvailability, AgentStatus, CursorLinks, CursorMeta, GroupMembership,
    GroupMembershipsPage, GroupsPage, IncrementalUsersPage, REASON_PUBLIC_API, StatusChannels,
    TalkAvailability, TalkState, UnifiedStatus, User, UsersPage, ZendeskErrorBody, ZendeskErrorInterpreter,
    ZendeskGroup, option_string_or_i64, string_or_i64,
};
pub use preset::status_table;
#[cfg(feature = "server")]
pub use receiver::ZendeskReceiver;
pub use setup::{EnsuredZendeskWebhook, STATUS_SUBSCRIPTIONS, ZendeskWebhook};
pub use talk::{
    CallComment, CallDirection, CallFields, CallRecord, NewCall, NewTicket, NewVoiceTicket, PhoneUser,
    Ticket, TicketComment, VoiceComment, VoiceVia, is_not_found, normalize_phone,
};
pub use webhook::{
    AgentEvent, DEFAULT_REPLAY_WINDOW, SIGNATURE_HEADER, STATE_CHANGED, TIMESTAMP_HEADER,
    UNIFIED_STATE_CHANGED, UnifiedState, WebhookEvent, WebhookVerifier, parse_event,
};
