//! Aircall: users' availability, teams and user webhooks (feature `aircall`).
//!
//! - `client`: [`AircallConfig`] (base URL, Basic `api_id:api_token` or OAuth bearer,
//!   pace, timeout; [`AircallConfig::from_env`]) and [`AircallClient`], the typed API
//!   (`/v1/ping`, `/v1/users`, `/v1/users/{id}`, `/v1/users/availabilities`, `/v1/teams`,
//!   `PUT /v1/users/{id}`) over [`ApiClient`](crate::http::ApiClient).
//! - `model`: tolerant serde types (string-or-integer ids, open status enums).
//! - `webhook`: [`WebhookVerifier`] (constant-time token check) and the parsed
//!   [`WebhookEvent`], with idempotency keys and [`UserObservation`]s for the sync engine.
//! - `calls`: calls (`/v1/calls`, recordings, voicemails, transcriptions) and the
//!   `call.*` webhook events ([`WebhookEvent::call_event`]).
//! - `adapter`: [`AircallProvider`], the [`StatusProvider`](crate::ports::StatusProvider)
//!   (`name() == "aircall"`, one channel: voice).
//!
//! The native values are Aircall's `availability_status`; their presences come from
//! [`aircall::status_table`](status_table). Facts the provider
//! reference marks UNCONFIRMED (the rate limit figure, the meaning of `custom` and of the
//! opened/closed events, the error body shape) are handled defensively and noted where
//! they matter.
//!
//! ```no_run
//! # async fn demo() -> deskbridge::Result<()> {
//! use deskbridge::aircall::{AircallConfig, AircallProvider};
//! use deskbridge::ports::StatusProvider;
//! use deskbridge::status::{Channel, NativeStatus};
//!
//! // AIRCALL_API_ID + AIRCALL_API_TOKEN (or AIRCALL_ACCESS_TOKEN), AIRCALL_BASE_URL.
//! let Some(config) = AircallConfig::from_env()? else {
//!     println!("no Aircall credentials; run against deskbridge::sim::aircall instead");
//!     return Ok(());
//! };
//! let aircall = AircallProvider::from_config(config)?;
//! for agent in aircall.list_agents().await? {
//!     println!("{} {:?} {:?} {:?}", agent.id, agent.email, agent.groups, agent.status(Channel::Voice));
//! }
//! aircall.set_status("1001", Channel::Voice, &NativeStatus::new("unavailable")).await?;
//! # Ok(()) }
//! ```

mod adapter;
mod calls;
mod client;
mod model;
mod preset;
#[cfg(feature = "server")]
mod receiver;
mod setup;
mod webhook;

/// The provider's id, its one path: the name in errors, spans and reports, what its
/// `StatusProvider::name()` returns, and the routing key of the events its webhook receiver
/// queues.
pub const PROVIDER: &str = "aircall";

pub use adapter::AircallProvider;
pub use calls::{
    Call, CallDirection, CallEvent, CallEventKind, CallNumber, CallQuery, CallStatus, CallUser,
    MissedCallReason, Transcription,
};
pub use client::{
    AircallAuth, AircallClient, AircallConfig, DEFAULT_BASE_URL, DEFAULT_REQUESTS_PER_MINUTE,
    ENV_ACCESS_TOKEN, ENV_API_ID, ENV_API_TOKEN, ENV_BASE_URL, PER_PAGE,
};
pub use model::{
    AvailabilitiesPage, AvailabilityUpdate, PageMeta, PagedEnvelope, Team, TeamMember, TeamsPage, User,
    UserAvailability, UserEnvelope, UsersPage, WritableStatus, de_id,
};
pub use model::{Availability, AvailabilityStatus, Substatus};
pub use preset::status_table;
#[cfg(feature = "server")]
pub use receiver::AircallReceiver;
pub use setup::{AircallWebhook, BRIDGE_EVENTS, EnsuredWebhook};
pub use webhook::{
    EventVersion, UserEvent, UserEventKind, UserObservation, WebhookEvent, WebhookEventKind, WebhookVerifier,
};
