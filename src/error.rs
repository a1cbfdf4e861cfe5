//! The one error type of the crate.
//!
//! Every fallible operation returns [`Error`]. Its variants answer the questions an
//! operator asks first: *was the request sent?* ([`Error::Transport`]), *was the answer
//! readable?* ([`Error::Decode`]), *what did the provider say?* ([`Error::Api`],
//! [`Error::RateLimited`], [`Error::Unsupported`]), *is my configuration wrong?*
//! ([`Error::Config`], [`Error::UnknownGroups`], [`Error::InvalidInput`]), *was a webhook
//! forged or replayed?* ([`Error::WebhookVerification`]), and *is my state safe?*
//! ([`Error::Store`]), *has the engine stopped?* ([`Error::Stopped`]), and *did my own
//! component fail?* ([`Error::External`], for embedders' ports).
//!
//! No variant ever carries a secret: request URLs are kept without their query or fragment,
//! authentication headers are never copied, transport sources are stripped of their URL,
//! and bodies are quoted only as bounded excerpts of what the *provider* sent, scrubbed of
//! the client's secrets. Transport, store and external errors keep their source chain
//! ([`std::error::Error::source`]).

use std::time::Duration;

/// A `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a request never produced a readable HTTP answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TransportFailure {
    /// The connection could not be opened (DNS, refused, TLS).
    Connect,
    /// The per-request timeout elapsed.
    Timeout,
    /// The request was sent but the connection broke before a full answer arrived.
    Interrupted,
    /// The request could not be built (for example an invalid URL).
    Request,
}

impl std::fmt::Display for TransportFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Connect => "could not connect",
            Self::Timeout => "timed out",
            Self::Interrupted => "connection interrupted",
            Self::Request => "invalid request",
        })
    }
}

/// Why a webhook delivery was refused.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum WebhookFailure {
    /// A header or body field the provider always sends is absent.
    Missing(String),
    /// The signature or token does not match.
    BadSignature,
    /// The signed timestamp is outside the accepted replay window.
    Stale {
        /// How far the timestamp is from the receiver's clock, in seconds (signed).
        skew_seconds: i64,
    },
    /// The delivery could not be parsed after verification.
    Malformed(String),
}

impl std::fmt::Display for WebhookFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Missing(what) => write!(f, "missing {what}"),
            Self::BadSignature => f.write_str("signature or token does not match"),
            Self::Stale { skew_seconds } => {
                write!(f, "timestamp is {skew_seconds} s away from now, outside the replay window")
            }
            Self::Malformed(why) => write!(f, "malformed delivery: {why}"),
        }
    }
}

/// Everything that can go wrong in deskbridge.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is wrong or incomplete (missing credentials, a bad base URL,
    /// contradictory options). Nothing was sent.
    #[error("configuration error: {0}")]
    Config(String),

    /// Group names in a filter that match no group of the provider. Reported before
    /// anything is written.
    #[error("{provider}: configured group names match no group: {}", quote_list(.names))]
    UnknownGroups {
        /// The provider whose groups were checked.
        provider: &'static str,
        /// Every configured name that matched nothing, exactly as configured.
        names: Vec<String>,
    },

    /// Input handed to the library (a schedule file, a status name, a request body) is
    /// invalid.
    #[error("invalid {what}: {message}")]
    InvalidInput {
        /// What was being read, e.g. `schedule row 4` or `status`.
        what: String,
        /// What is wrong with it.
        message: String,
    },

    /// The request was not sent, or no complete answer came back.
    #[error("{provider}: {method} {path}: {failure}: {message}{}", call_suffix(.call))]
    Transport {
        /// Provider name.
        provider: &'static str,
        /// HTTP method.
        method: String,
        /// Path template (ids replaced), as the call is named in logs and metrics.
        path: String,
        /// The call actually made (its URL without the query), when the HTTP client raised
        /// the error.
        call: Option<Box<CallInfo>>,
        /// The kind of failure.
        failure: TransportFailure,
        /// Detail from the HTTP stack (every cause, joined; never the URL's query).
        message: String,
        /// The HTTP stack's own error, with the URL removed, for callers that inspect the
        /// chain (`std::error::Error::source`).
        #[source]
        source: Option<BoxError>,
    },

    /// The provider answered, but the body could not be read as expected.
    #[error("{provider}: unreadable answer to {context} at `{json_path}`: {message}")]
    Decode {
        /// Provider name.
        provider: &'static str,
        /// What was being read, e.g. `GET /v1/users`.
        context: String,
        /// JSON path of the offending value (`.` for the whole document).
        json_path: String,
        /// What was wrong.
        message: String,
    },

    /// The provider said no: a non-success status, or a success status whose body carries
    /// an error (Usedesk answers HTTP 200 with `{"error": …}`).
    #[error("{provider} refused {context} (HTTP {status}{}): {message}{}", code_suffix(.code), call_suffix(.call))]
    Api {
        /// Provider name.
        provider: &'static str,
        /// What was attempted, e.g. `PUT /v1/users/{id}`.
        context: String,
        /// HTTP status code.
        status: u16,
        /// The provider's error code, if it gave one (`RecordNotFound`, `bad_request`).
        code: Option<String>,
        /// The provider's message (bounded excerpt).
        message: String,
        /// The call actually made: its URL without the query, and the provider's request
        /// id when the answer carried one. `None` when the error was not raised by the HTTP
        /// client.
        call: Option<Box<CallInfo>>,
    },

    /// The provider is rate limiting us and the retry budget is spent.
    #[error("{provider}: rate limited on {context}{}{}", retry_suffix(.retry_after), call_suffix(.call))]
    RateLimited {
        /// Provider name.
        provider: &'static str,
        /// What was attempted.
        context: String,
        /// How long the provider asked us to wait, when it said.
        retry_after: Option<Duration>,
        /// The last refused call: its URL without the query, and the provider's request id
        /// when it sent one.
        call: Option<Box<CallInfo>>,
    },

    /// The operation is not available in this account's mode (e.g. Zendesk omnichannel
    /// routing rejects the legacy Talk status write, and the unified path failed too).
    #[error("{provider}: not supported in this account mode: {message}")]
    Unsupported {
        /// Provider name.
        provider: &'static str,
        /// What is unsupported and why.
        message: String,
    },

    /// A webhook delivery failed verification; it must not be processed.
    #[error("{provider} webhook rejected: {failure}")]
    WebhookVerification {
        /// Provider name.
        provider: &'static str,
        /// The reason.
        failure: WebhookFailure,
    },

    /// The state store could not read or write.
    #[error("state store: {message}")]
    Store {
        /// What failed (names the key or file, never a connection secret).
        message: String,
        /// The underlying error (an I/O error, a database error), when there is one.
        #[source]
        source: Option<BoxError>,
    },

    /// A continuous engine (a [`sync::Bridge`](crate::sync::Bridge)) was asked to do
    /// something after it stopped: its handle outlived its run loop. Not transient: a new
    /// engine must be started.
    #[error("{component} has stopped: {message}")]
    Stopped {
        /// Which engine, e.g. `bridge`.
        component: &'static str,
        /// What was asked of it.
        message: String,
    },

    /// A failure in an embedder's own port: a [`StatusProvider`](crate::ports::StatusProvider),
    /// [`StateStore`](crate::ports::StateStore) or other port implemented outside
    /// deskbridge. Build it with [`Error::external`] or [`Error::external_transient`].
    ///
    /// Whether a retry may help is the embedder's call ([`Error::is_transient`] returns
    /// `transient`); the source error stays reachable through
    /// [`std::error::Error::source`] and can be downcast. The source's text is part of the
    /// message, so reports that print only `Display` keep the detail: make sure it holds
    /// no secret.
    #[error("{component}: {source}")]
    External {
        /// The embedder's name for its component (e.g. `in-house presence`).
        component: String,
        /// Whether retrying the same operation later may succeed.
        transient: bool,
        /// The embedder's own error.
        #[source]
        source: BoxError,
    },
}

/// The HTTP call behind an [`Error::Api`], [`Error::RateLimited`] or [`Error::Transport`]:
/// what to quote to the provider's support, and what shows a misconfigured base URL.
/// Boxed in the error so that every `Result` stays small.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallInfo {
    /// The URL actually called (scheme, host, port, path), never its query or fragment,
    /// which may carry secrets: a doubled path prefix in a base URL shows here.
    pub url: String,
    /// The provider's id for the request, from its response headers (see
    /// [`crate::http::REQUEST_ID_HEADERS`]).
    pub request_id: Option<String>,
}

impl CallInfo {
    /// A call to `url` (which must carry no query), with the provider's request id if any.
    pub fn new(url: impl Into<String>, request_id: Option<String>) -> Self {
        Self { url: url.into(), request_id }
    }
}

/// A boxed error that can cross threads: the source type of [`Error::External`],
/// [`Error::Store`] and [`Error::Transport`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

impl Error {
    /// Shorthand for [`Error::Config`].
    pub fn config(message: impl Into<String>) -> Self {
        Self::Config(message.into())
    }

    /// Shorthand for [`Error::InvalidInput`].
    pub fn invalid(what: impl Into<String>, message: impl Into<String>) -> Self {
        Self::InvalidInput { what: what.into(), message: message.into() }
    }

    /// Shorthand for [`Error::Store`] without a source.
    pub fn store(message: impl Into<String>) -> Self {
        Self::Store { message: message.into(), source: None }
    }

    /// [`Error::Store`] keeping the underlying error as its source (an I/O error, a
    /// database driver's error, an embedder's store error). `message` says what failed;
    /// the source's own text is not repeated in it.
    pub fn store_with_source(message: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Self::Store { message: message.into(), source: Some(source.into()) }
    }

    /// [`Error::External`] for a failure of an embedder's own component that a retry will
    /// not fix (bad data, a refusal). `source` may be any error, or a message (`&str`,
    /// `String`).
    ///
    /// ```
    /// use deskbridge::Error;
    ///
    /// let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "presence service reset");
    /// let error = Error::external_transient("in-house presence", io);
    /// assert!(error.is_transient());
    /// assert_eq!(error.to_string(), "in-house presence: presence service reset");
    /// let source = std::error::Error::source(&error).unwrap();
    /// assert!(source.downcast_ref::<std::io::Error>().is_some());
    /// ```
    pub fn external(component: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Self::External { component: component.into(), transient: false, source: source.into() }
    }

    /// [`Error::External`] for a failure that may succeed when retried later (a timeout,
    /// a connection reset, an overloaded service).
    pub fn external_transient(component: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Self::External { component: component.into(), transient: true, source: source.into() }
    }

    /// True when retrying the same operation later may succeed (transport failures,
    /// rate limits, 5xx answers, and [`Error::External`] failures marked transient).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Transport { .. } | Self::RateLimited { .. } => true,
            Self::Api { status, .. } => *status >= 500 || *status == 429 || *status == 408,
            Self::External { transient, .. } => *transient,
            _ => false,
        }
    }

    /// The URL that was called, without its query, when the error came from an HTTP call.
    pub fn url(&self) -> Option<&str> {
        self.call().map(|call| call.url.as_str())
    }

    /// The provider's id for the failed request, when its answer carried one.
    pub fn request_id(&self) -> Option<&str> {
        self.call().and_then(|call| call.request_id.as_deref())
    }

    /// The HTTP call behind an API, rate-limit or transport error, when known.
    pub fn call(&self) -> Option<&CallInfo> {
        match self {
            Self::Transport { call, .. } | Self::Api { call, .. } | Self::RateLimited { call, .. } => {
                call.as_deref()
            }
            _ => None,
        }
    }

    /// How long the provider asked us to wait, when it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

fn quote_list(names: &[String]) -> String {
    names.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", ")
}

fn code_suffix(code: &Option<String>) -> String {
    code.as_deref().map(|c| format!(", {c}")).unwrap_or_default()
}

fn call_suffix(call: &Option<Box<CallInfo>>) -> String {
    match call.as_deref() {
        None => String::new(),
        Some(CallInfo { url, request_id: None }) => format!(" (called {url})"),
        Some(CallInfo { url, request_id: Some(id) }) => format!(" (called {url}; request id {id})"),
    }
}

fn retry_suffix(retry_after: &Option<Duration>) -> String {
    retry_after.map(|d| format!("; retry after {} s", d.as_secs_f64())).unwrap_or_default()
}

/// A copy of an error chain whose every level's text went through `scrub` (for sources
/// whose own `Display` or `Debug` might quote a secret, like a database driver's error that
/// could echo a connection string). The copy keeps the chain's shape and text, not its
/// types.
pub(crate) fn scrubbed_chain(
    error: &(dyn std::error::Error + 'static),
    scrub: &dyn Fn(&str) -> String,
) -> BoxError {
    Box::new(ScrubbedError {
        display: scrub(&error.to_string()),
        debug: scrub(&format!("{error:?}")),
        source: error.source().map(|source| scrubbed_chain(source, scrub)),
    })
}

/// One level of [`scrubbed_chain`].
struct ScrubbedError {
    display: String,
    debug: String,
    source: Option<BoxError>,
}

impl std::fmt::Display for ScrubbedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.display)
    }
}

impl std::fmt::Debug for ScrubbedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.debug)
    }
}

impl std::error::Error for ScrubbedError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|source| source as &(dyn std::error::Error + 'static))
    }
}

/// Cut a provider's body or message to a readable, bounded excerpt (on a char boundary).
pub(crate) fn excerpt(text: &str, max_chars: usize) -> String {
    let mut out: String = text.chars().take(max_chars).collect();
    if text.chars().count() > max_chars {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_what_matters() {
        let e = Error::UnknownGroups { provider: "usedesk", names: vec!["Sales".into(), "VIP team".into()] };
        assert_eq!(e.to_string(), "usedesk: configured group names match no group: \"Sales\", \"VIP team\"");
        let e = Error::Api {
            provider: "zendesk",
            context: "PUT /api/v2/channels/voice/availabilities/{id}".into(),
            status: 400,
            code: Some("bad_request".into()),
            message: "agent_state cannot be changed".into(),
            call: Some(Box::new(CallInfo::new(
                "https://acme.zendesk.com/api/v2/channels/voice/availabilities/7",
                Some("8f1d-42".into()),
            ))),
        };
        assert!(e.to_string().ends_with(
            "(called https://acme.zendesk.com/api/v2/channels/voice/availabilities/7; request id 8f1d-42)"
        ));
        assert!(e.to_string().contains("HTTP 400, bad_request"));
        let e = Error::RateLimited {
            provider: "x",
            context: "GET /2/dm_events".into(),
            retry_after: Some(Duration::from_secs(3)),
            call: None,
        };
        assert!(e.to_string().ends_with("retry after 3 s"));
        assert!(e.is_transient());
    }

    /// Every `Result` in the crate carries an `Error`: keep it under clippy's
    /// `result_large_err` threshold (128 bytes) by boxing what grows.
    #[test]
    fn the_error_stays_small() {
        assert!(std::mem::size_of::<Error>() < 128, "Error is {} bytes", std::mem::size_of::<Error>());
    }

    #[test]
    fn excerpt_is_bounded_and_char_safe() {
        assert_eq!(excerpt("héllo", 2), "hé…");
        assert_eq!(excerpt("ok", 5), "ok");
    }
}
