//! HTTP servers (feature `server`): axum routers that other systems call.
//!
//! - `talkdesk` (features `server` and `talkdesk`): the endpoints Talkdesk calls on a custom
//!   integration's bridge (auth validation, contact and agent synchronization, interaction
//!   retrieval, action executors), served from any `TalkdeskBackend`.
//! - `calls` (features `server`, `aircall`, `zendesk`): the Aircall call-webhook receiver of
//!   the calls → Zendesk Talk Partner Edition flow (`bridges::calls`).
//! - [`webhooks`]: receivers for Aircall, Zendesk, Usedesk and X webhooks that verify each
//!   delivery, acknowledge at once and queue the events on a running
//!   [`Bridge`](crate::sync::Bridge).
//!
//! Routers are plain [`axum::Router`]s: mount them with `Router::merge` or `Router::nest`,
//! add TLS and timeouts in front, and serve them with `axum::serve`.

#[cfg(all(feature = "aircall", feature = "zendesk"))]
pub mod calls;
#[cfg(feature = "talkdesk")]
pub mod talkdesk;
pub mod webhooks;
