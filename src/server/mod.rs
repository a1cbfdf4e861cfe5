//! HTTP servers (feature `server`): axum routers that other systems call.
//!
//! - `talkdesk` (features `server` and `talkdesk`): the endpoints Talkdesk calls on a custom
//!   integration's bridge (auth validation, contact and agent synchronization, interaction
//!   retrieval, action executors), served from any `TalkdeskBackend`.
//! - `calls` (features `server`, `aircall`, `zendesk`): the Aircall call-webhook receiver of
//!   the calls → Zendesk Talk Partner Edition flow (`bridges::calls`).
//! - [`webhooks`]: [`webhooks::WebhookRoutes`] mounts any [`webhooks::WebhookReceiver`] (the
//!   built-in ones for Aircall, Zendesk, Usedesk and X live in their provider's folder; an
//!   embedder can add its own), verifying each delivery, acknowledging at once and queueing
//!   the events on a running [`Bridge`](crate::sync::Bridge).
//!
//! - [`limits`]: [`limits::serve`], which serves any router with header, idle, body and
//!   request timeouts, connection and concurrency limits and a body cap
//!   ([`limits::ServerLimits`]).
//!
//! Routers are plain [`axum::Router`]s: mount them with `Router::merge` or `Router::nest`,
//! put TLS in front, and serve them with [`limits::serve`] (`axum::serve` applies no
//! timeout at all, so one slow client can hold a connection for ever):
//!
//! ```no_run
//! # async fn demo(routes: axum::Router) -> std::io::Result<()> {
//! use deskbridge::server::limits::{ServerLimits, serve};
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! serve(listener, routes, ServerLimits::default()).await
//! # }
//! ```

#[cfg(all(feature = "aircall", feature = "zendesk"))]
pub mod calls;
pub mod limits;
#[cfg(feature = "talkdesk")]
pub mod talkdesk;
pub mod webhooks;
