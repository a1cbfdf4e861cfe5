//! The HTTP layer every provider client is built on.
//!
//! A provider module (Aircall, Zendesk, Usedesk, X, Talkdesk) builds one
//! [`ApiClient`] per configuration and describes each call as an [`ApiRequest`]:
//!
//! ```no_run
//! # async fn demo() -> deskbridge::Result<()> {
//! use deskbridge::http::{ApiClient, ApiRequest, Auth, RateLimit, RateLimitHeaders};
//! use serde::Deserialize;
//!
//! #[derive(Deserialize)]
//! struct User { id: u64 }
//! #[derive(Deserialize)]
//! struct UserEnvelope { user: User }
//!
//! let base = url::Url::parse("https://api.aircall.io").map_err(|e| deskbridge::Error::config(e.to_string()))?;
//! let client = ApiClient::builder("aircall", base)
//!     .auth(Auth::basic("api_id", "api_token"))
//!     .rate_limit(RateLimit::per_minute(60))
//!     .rate_limit_headers(RateLimitHeaders::aircall())
//!     .build()?;
//! let user: UserEnvelope = client.send_json(ApiRequest::get("/v1/users/{id}").param("id", 42)?).await?;
//! # let _ = user.user.id;
//! # Ok(()) }
//! ```
//!
//! The pieces, each replaceable and testable on its own:
//!
//! - [`transport`]: the [`Transport`] trait (one built request in, one complete answer or
//!   a [`TransportError`] out) and [`ReqwestTransport`] (rustls, pooled connections, no
//!   redirects). Requests are data, so tests and simulators substitute their own.
//! - [`auth`]: [`Auth`] (`None`, `Basic`, `Bearer`, or a provider's [`RequestSigner`] such
//!   as X's OAuth 1.0a). Secrets stay in `SecretString`, are redacted from `Debug`, and are
//!   scrubbed from any text a provider echoes back into an error.
//! - [`client`]: [`ApiClient`], [`ApiClientBuilder`], [`ApiRequest`], [`ApiResponse`]. The
//!   base URL is everything before the API's documented path; its path prefix is kept
//!   (`https://secure.usedesk.com/uapi` + `/users`). Absolute URLs handed out by a
//!   provider (Aircall's `next_page_link`) are sent only on the base URL's origin.
//! - [`retry`]: [`RetryPolicy`] and its pure decision ([`RetryDecision`]): 429s always
//!   (the provider refused before processing), 5xx and timeouts only for idempotent or
//!   retry-safe requests, honouring `Retry-After` and the providers' reset headers.
//! - [`ratelimit`]: [`RateLimit`] (configured pace), [`RateLimitHeaders`] (which headers
//!   carry the provider's budget), [`Pacer`] (pure pacing arithmetic) and [`RateLimiter`]
//!   (shared by concurrent callers, sleeping with `tokio::time`).
//! - [`interpret`]: [`ErrorInterpreter`] reads a provider's error body into a code and a
//!   message; [`DefaultErrorInterpreter`] knows the common shapes and, opt-in, Usedesk's
//!   HTTP 200 errors.
//! - [`paginate`](mod@paginate): lazy streams over page links, cursors, tokens and offsets, with a
//!   guard against servers that repeat a cursor.
//!
//! Every request runs in a `tracing` span named `http_request` with the fields `provider`,
//! `method`, `path` (the template, e.g. `/v1/users/{id}`), `status` and `attempt`. No span,
//! log line or error carries a secret, a query string or a body.

// One path per item: the files are crate-private, everything public is re-exported here.
pub(crate) mod auth;
pub(crate) mod client;
pub(crate) mod interpret;
pub(crate) mod paginate;
pub(crate) mod ratelimit;
pub(crate) mod retry;
pub(crate) mod transport;

pub use auth::{Auth, REDACTED, RequestSigner};
pub use client::{ApiClient, ApiClientBuilder, ApiRequest, ApiResponse, DEFAULT_TIMEOUT, REQUEST_ID_HEADERS};
pub use interpret::{DefaultErrorInterpreter, ErrorInterpreter, MAX_MESSAGE_CHARS, ProviderError};
pub use paginate::{Cursor, Page, collect_all, paginate, paginate_offsets, paginate_pages};
pub use ratelimit::{
    LOW_REMAINING_WITHOUT_LIMIT, LimitSnapshot, MAX_HEADER_WAIT, Pacer, RateLimit, RateLimitHeaders,
    RateLimiter, ResetKind,
};
pub use retry::{AttemptOutcome, RetryContext, RetryDecision, RetryPolicy, retry_after, server_delay};
pub use transport::{HttpRequest, HttpResponse, ReqwestTransport, Transport, TransportError};

/// HTTP method, header map and header types, re-exported so provider modules and custom
/// transports need no direct dependency on `http`.
pub use reqwest::Method;
pub use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
