//! HTTP servers (feature `server`): axum routers that other systems call.
//!
//! - `talkdesk` (features `server` and `talkdesk`): the endpoints Talkdesk calls on a custom
//!   integration's bridge (auth validation, contact and agent synchronization, interaction
//!   retrieval, action executors), served from any `TalkdeskBackend`.
//! - [`webhooks`]: receivers for Aircall, Zendesk, Usedesk and X webhooks that verify each
//!   delivery, acknowledge at once and queue the events on a running
//!   [`Bridge`](crate::sync::Bridge).
//!
//! Routers are plain [`axum::Router`]s: mount them with `Router::merge` or `Router::nest`,
//! add TLS and timeouts in front, and serve them with `axum::serve`.

#[cfg(feature = "talkdesk")]
pub mod talkdesk;
pub mod webhooks;
