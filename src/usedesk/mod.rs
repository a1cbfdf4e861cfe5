//! Usedesk (feature `usedesk`): agents' chat and ticket statuses, groups, tickets and
//! comments, and outbound webhooks.
//!
//! - [`UsedeskConfig`]: base URL (default `https://api.usedesk.ru`; everything before the
//!   method name, e.g. `https://secure.usedesk.com/uapi`), the API channel's secret key
//!   (`api_token`), pacing (default 0.4 requests per second) and timeout;
//!   [`UsedeskConfig::from_env`] reads `USEDESK_API_TOKEN` and `USEDESK_BASE_URL`.
//! - [`UsedeskClient`]: the typed API. Every call is a `POST` with `api_token` in the JSON
//!   body; an HTTP 200 answer carrying `error` is an [`Error::Api`](crate::Error::Api)
//!   with Usedesk's message and `code`.
//! - [`UsedeskProvider`]: the [`StatusProvider`](crate::ports::StatusProvider) port (native
//!   values `online` / `offline` on [`Channel::Chat`](crate::status::Channel::Chat) and
//!   [`Channel::Tickets`](crate::status::Channel::Tickets); see
//!   [`usedesk::status_table`](status_table)).
//! - [`UsedeskDesk`]: the [`TicketDesk`](crate::ports::TicketDesk) port, with
//!   `additional_id` as the dedupe key and a hidden marker in comments.
//! - `webhook`: verification of the `secret` field and the payload variants.
//! - `model`: the tolerant serde types.
//!
//! ```no_run
//! # async fn demo() -> deskbridge::Result<()> {
//! use deskbridge::ports::StatusProvider;
//! use deskbridge::status::{Channel, NativeStatus};
//! use deskbridge::usedesk::{UsedeskClient, UsedeskConfig, UsedeskProvider};
//!
//! let Some(config) = UsedeskConfig::from_env()? else {
//!     return Ok(()); // no USEDESK_API_TOKEN: nothing to do
//! };
//! let provider = UsedeskProvider::new(UsedeskClient::new(config)?);
//! for agent in provider.list_agents().await? {
//!     println!("{} {:?} {:?}", agent.name, agent.groups, agent.status(Channel::Chat));
//! }
//! provider.set_status("2154861", Channel::Tickets, &NativeStatus::from("online")).await?;
//! # Ok(()) }
//! ```

mod adapter;
mod client;
mod model;
mod preset;
#[cfg(feature = "server")]
mod receiver;
mod webhook;

/// The provider's id, its one path: the name in errors, spans and reports, what its
/// `StatusProvider::name()` returns, and the routing key of the events its webhook receiver
/// queues.
pub const PROVIDER: &str = "usedesk";

pub use adapter::{OFFLINE, ONLINE, UsedeskDesk, UsedeskProvider, comment_marker};
pub use client::{
    CLIENTS_PAGE_SIZE, ClientQuery, CreateCommentRequest, CreateTicketRequest, OffsetMode, StatusUpdate,
    TICKETS_PAGE_SIZE, TagReadBack, TicketClient, TicketQuery, UploadFile, UsedeskClient, UsedeskConfig,
};
pub use model::{
    ClientSummary, CreatedComment, CreatedTicket, GroupMember, TagName, TicketComment, TicketDetails,
    TicketRecord, TicketStatus, TicketSummary, UpdateUserResponse, UsedeskChannel, UsedeskGroup, UsedeskUser,
    UserGroup, UserType,
};
pub use preset::status_table;
#[cfg(feature = "server")]
pub use receiver::UsedeskReceiver;
pub use webhook::{
    ChatEvent, NewCommentEvent, NewTicketEvent, TicketUpdateEvent, UsedeskWebhookEvent,
    UsedeskWebhookVerifier,
};
