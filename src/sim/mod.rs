//! Loopback simulators of the providers (feature `sim`).
//!
//! Each simulator is a real HTTP server on `127.0.0.1` (an ephemeral port) that answers on
//! the provider's real paths with the provider's real payload shapes, as documented in the
//! provider references. deskbridge's own clients, the examples (run with no account
//! anywhere) and the end-to-end tests talk to them exactly as they would talk to the real
//! service: only the base URL differs.
//!
//! The crate's HTTP client is not used here: the simulators are servers only.
//!
//! # The framework
//!
//! Everything that is not specific to one provider lives in this module and is shared by
//! every simulator:
//!
//! * [`SimServer`]: the running server. It owns the [request log](SimServer::requests),
//!   the [credentials](Credential) it accepts, the [rate limits](RateLimitRule) it
//!   enforces and the [faults](Fault) it injects, and it shuts down on
//!   [`SimServer::shutdown`] or when dropped.
//! * [`SimProvider`]: what a provider simulator implements: its handlers (one synchronous
//!   function that dispatches on method and path), and the shapes of its 401 and 429
//!   answers and of its rate-limit headers.
//! * [`SimRequest`] / [`SimResponse`]: what handlers read and return; the log records
//!   [`SimRequest`]s with the status that was answered.
//! * [`WebhookDelivery`]: a webhook body and its headers, built by a provider simulator
//!   (signed the provider's way) and optionally POSTed to a receiver.
//!
//! Every request goes through the same steps, in this order:
//!
//! 1. it is recorded in the log (always, even when it is refused);
//! 2. authentication: when credentials are configured and none matches the
//!    `Authorization` header, the provider's 401 answer is returned;
//! 3. rate limiting: every [`RateLimitRule`] whose paths match counts the request; when
//!    one of them is spent, the provider's 429 answer (with its headers) is returned and
//!    nothing is counted. Answers that pass carry the provider's limit headers;
//! 4. fault injection: the first [`Fault`] matching method and path is applied (and its
//!    remaining count decremented);
//! 5. the provider's handler.
//!
//! # Provider simulators
//!
//! * [`aircall::AircallSim`]: users, availabilities, teams, user webhooks, calls (played
//!   ringing → answered / missed / voicemail → ended, with their call webhooks).
//! * [`zendesk::ZendeskSim`]: users, groups, memberships, unified agent statuses, agent
//!   availabilities (JSON:API), the Talk availability API, agent webhooks, and Talk
//!   Partner Edition (screen pop, voice tickets, call records, callers by phone).
//! * [`usedesk::UsedeskSim`]: agents, groups, per-section statuses, tickets, comments,
//!   channels, HTTP-200 errors, outbound webhooks.
//! * [`twitter::XSim`]: DM events, mentions, posting DMs and replies, signed Account
//!   Activity deliveries.

mod server;
mod webhook;

pub mod aircall;
#[cfg(feature = "shifton")]
pub mod shifton;
pub mod twitter;
pub mod usedesk;
pub mod zendesk;

pub use server::{
    Credential, Fault, FaultKind, RateLimitRule, RateLimitStatus, SimProvider, SimRequest, SimResponse,
    SimServer,
};
pub use webhook::WebhookDelivery;
