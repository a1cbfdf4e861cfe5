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
//! The pieces, each replaceable and testable on its own (one file each; every public item
//! is re-exported here, its one path):
//!
//! - `transport`: the [`Transport`] trait (one built request in, one complete answer or
//!   a [`TransportError`] out) and [`ReqwestTransport`] (rustls, pooled connections, no
//!   redirects). Requests are data, so tests and simulators substitute their own.
//! - `auth`: [`Auth`] (`None`, `Basic`, `Bearer`, or a provider's [`RequestSigner`] such
//!   as X's OAuth 1.0a). Secrets stay in `SecretString`, are redacted from `Debug`, and are
//!   scrubbed from any text a provider echoes back into an error.
//! - `client`: [`ApiClient`], [`ApiClientBuilder`], [`ApiRequest`], [`ApiResponse`]. The
//!   base URL is everything before the API's documented path; its path prefix is kept
//!   (`https://secure.usedesk.com/uapi` + `/users`). Absolute URLs handed out by a
//!   provider (Aircall's `next_page_link`) are sent only on the base URL's origin.
//! - `options`: [`ClientOptions`] (base URL, pace, timeout, retry policy, transport), the
//!   part of every provider configuration that is the same for all of them, and
//!   [`ConfigureClient`], the one set of builder methods every provider configuration has
//!   (`with_base_url` taking any [`IntoBaseUrl`], `with_rate_limit`, `with_timeout`,
//!   `with_retry`, `with_transport`). A base URL that already ends with the provider's API
//!   path (`https://acme.zendesk.com/api/v2/`) is refused, naming the URL and what to drop.
//! - `retry`: [`RetryPolicy`] and its pure decision ([`RetryDecision`]): 429s always
//!   (the provider refused before processing), 5xx and timeouts only for idempotent or
//!   retry-safe requests, honouring `Retry-After` and the providers' reset headers.
//! - `ratelimit`: [`RateLimit`] (configured pace), [`RateLimitHeaders`] (which headers
//!   carry the provider's budget), [`Pacer`] (pure pacing arithmetic) and [`RateLimiter`]
//!   (shared by concurrent callers, sleeping with `tokio::time`).
//! - `interpret`: [`ErrorInterpreter`] reads a provider's error body into a code and a
//!   message; [`DefaultErrorInterpreter`] knows the common shapes and, opt-in, Usedesk's
//!   HTTP 200 errors.
//! - `paginate`: lazy streams over page links, cursors, tokens and offsets, with a
//!   guard against servers that repeat a cursor.
//!
//! Every request runs in a `tracing` span named `http_request` with the fields `provider`,
//! `method`, `path` (the template, e.g. `/v1/users/{id}`), `status` and `attempt`. No span,
//! log line or error carries a secret, a query string or a body.
//!
//! ## Transport
//!
//! The transport: executes one fully built HTTP request.
//!
//! Requests and responses are plain data ([`HttpRequest`], [`HttpResponse`]), so tests and
//! the simulators can substitute their own [`Transport`]. [`ReqwestTransport`] is the
//! production implementation; it reuses one `reqwest::Client` (and so its connection pool)
//! for every request.
//!
//! ## Authentication
//!
//! Authentication: how each request proves who sends it.
//!
//! Secrets live in [`SecretString`](crate::secrecy::SecretString); [`Auth`]'s `Debug` never
//! shows them, header values carrying them are marked sensitive, and [`Auth::redact`] scrubs them from any text a
//! provider echoes back (a 401 body that quotes the token, a decode error quoting a value).
//!
//! ## The API client
//!
//! The API client every provider module is built on.
//!
//! A provider module builds one [`ApiClient`] per configuration and describes each call as
//! an [`ApiRequest`] value (method, path template, parameters, query, JSON body, extra
//! headers, idempotency). [`ApiClient::send`] resolves the URL against the base URL, paces,
//! authenticates, sends through the [`Transport`], retries per the [`RetryPolicy`], and
//! turns refusals into [`Error::Api`](crate::Error::Api) / [`Error::RateLimited`](crate::Error::RateLimited) with the provider's own code
//! and message. [`ApiResponse::json`] decodes with the JSON path of any mismatch.
//!
//! Nothing here logs or quotes a request body, a query string, a header value or a
//! credential: errors and spans name the request by its path template
//! (`PUT /v1/users/{id}`), and any text a provider sends back is scrubbed of the client's
//! secrets before it lands in an error.
//!
//! ## Retries
//!
//! The retry policy: a pure decision from what happened to what to do next.
//!
//! [`RetryPolicy::decide`] reads no clock and sleeps nowhere: the caller passes the
//! attempt's outcome, the response headers, the attempt number, the time already spent
//! waiting and the wall-clock `now`. The [`ApiClient`] does the sleeping.
//!
//! What is retried:
//!
//! | outcome | idempotent request | non-idempotent request (POST) |
//! |---|---|---|
//! | 429 Too Many Requests | yes | **yes**: the provider refused the request before processing it, so a retry cannot duplicate anything |
//! | 408, 500, 502, 503, 504 | yes | no (the write may have happened), unless the caller marked it safe |
//! | could not connect | yes | yes: nothing was sent |
//! | timed out, connection interrupted | yes | no, unless marked safe |
//! | any other status, an unbuildable request | no | no |
//!
//! How long to wait: `Retry-After` (seconds or an HTTP-date) on 429 and 503; on a 429
//! without it, the provider's reset header ([`RateLimitHeaders`]: `x-rate-limit-reset`,
//! `X-AircallApi-Reset` as UNIX seconds, `ratelimit-reset` as seconds); otherwise (or when
//! the hint is zero or in the past) capped exponential backoff `base_delay * 2^(attempt-1)`,
//! without jitter (requests are already spread by the rate limiter). The decision gives up
//! when the attempts are spent, when the server asks for more than `max_delay`, or when the
//! wait would push the total past `max_total_wait`; the error then carries the server's
//! hint so a scheduler can come back later.
//!
//! ## Rate limits
//!
//! Client-side pacing: a configured rate, tightened by the provider's limit headers.
//!
//! [`RateLimit`] is the configured pace (`per_minute(60)`, `per_second(0.4)`, or
//! `unlimited()`). [`RateLimitHeaders`] says which response headers carry the provider's
//! own budget (limit, remaining, reset). [`Pacer`] is the pure arithmetic with an explicit
//! clock; [`RateLimiter`] wraps it for concurrent callers and does the actual sleeping with
//! `tokio::time` (so tests with `tokio::time::pause` run instantly).
//!
//! Rules, in order, for each request:
//! 1. Requests start at least one configured interval apart (none when unlimited).
//! 2. When the provider said `remaining = 0`, wait until its reset.
//! 3. When the provider said little is left (at most a tenth of its limit, or at most
//!    [`LOW_REMAINING_WITHOUT_LIMIT`] when it gave no limit), spread what is left evenly
//!    until the reset: the next request starts `time to reset / remaining` later.
//! 4. After a 429, every caller sharing the limiter waits until the retry time
//!    ([`RateLimiter::hold_for`]).
//!
//! ## Error bodies
//!
//! Reading a provider's error out of a response body.
//!
//! An [`ErrorInterpreter`] turns a refused request's status and body into the provider's
//! error code and message (for [`Error::Api`](crate::Error::Api)), and may declare a
//! success status to be an error (Usedesk answers HTTP 200 with `{"error": …}`).
//! [`DefaultErrorInterpreter`] understands the common shapes; providers with odd shapes
//! implement the trait.
//!
//! ## Pagination
//!
//! Lazy pagination as streams.
//!
//! One generic core, [`paginate`], drives any style: it calls a fetch closure with the
//! cursor of the page to read (`None` for the first page) and yields the page's items one
//! by one, requesting the next page only when the consumer wants more. Provider modules
//! write the small adapter that turns their JSON into a [`Page`]:
//!
//! | style | provider | cursor | end |
//! |---|---|---|---|
//! | page links | Aircall `meta.next_page_link` | [`Cursor::Link`] (absolute URL; send it with [`ApiRequest::absolute`](ApiRequest::absolute), which refuses other origins) | `null` link |
//! | cursors | Zendesk `meta.after_cursor` / `links.next` | [`Cursor::Token`] or [`Cursor::Link`] | `meta.has_more == false` |
//! | tokens | X `meta.next_token` | [`Cursor::Token`] | no token |
//! | offsets | Usedesk, Talkdesk | [`Cursor::Offset`] (see [`paginate_offsets`]) | short or empty page |
//!
//! **A repeated cursor is an error.** When the server hands back a cursor it already gave
//! (a bug, or a proxy caching one page), the stream ends with
//! [`Error::Decode`](crate::Error::Decode) whose `json_path` is `next cursor` and whose message names the page,
//! instead of looping forever. The cursor's value is never quoted (it may be a URL whose
//! query carries a token).

// One path per item: the files are crate-private, everything public is re-exported here.
pub(crate) mod auth;
pub(crate) mod client;
pub(crate) mod interpret;
pub(crate) mod options;
pub(crate) mod paginate;
pub(crate) mod ratelimit;
pub(crate) mod retry;
pub(crate) mod transport;

pub use auth::{Auth, REDACTED, RequestSigner};
pub use client::{ApiClient, ApiClientBuilder, ApiRequest, ApiResponse, DEFAULT_TIMEOUT, REQUEST_ID_HEADERS};
pub use interpret::{DefaultErrorInterpreter, ErrorInterpreter, MAX_MESSAGE_CHARS, ProviderError};
#[cfg_attr(
    not(any(
        feature = "aircall",
        feature = "zendesk",
        feature = "usedesk",
        feature = "twitter",
        feature = "shifton"
    )),
    allow(unused_imports)
)]
pub(crate) use options::configure_client;
pub use options::{ClientOptions, ConfigureClient, IntoBaseUrl, check_base_url};
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
