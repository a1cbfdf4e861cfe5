//! Webhook receivers for the continuous [`Bridge`](crate::sync::Bridge) (feature `server`).
//!
//! A provider's webhook endpoint is a [`WebhookReceiver`]: its default path segment,
//! the verification of a delivery (headers + raw body) and the [`BridgeEvent`]s it becomes.
//! Each provider implements it in its own folder ([`aircall::AircallReceiver`](crate::aircall::AircallReceiver),
//! [`zendesk::ZendeskReceiver`](crate::zendesk::ZendeskReceiver), [`usedesk::UsedeskReceiver`](crate::usedesk::UsedeskReceiver), [`twitter::XReceiver`](crate::twitter::XReceiver)), and
//! an embedder implements it for its own provider; [`WebhookRoutes::receiver`] mounts any
//! of them at `{prefix}/{segment}` ([`WebhookRoutes::receiver_at`] at a path of its own).
//! This module holds only the generic machinery: body limit, answers, queueing.
//!
//! Every event a receiver queues names its source with a routing key: the provider's id
//! ([`aircall::PROVIDER`](crate::aircall::PROVIDER), [`zendesk::PROVIDER`](crate::zendesk::PROVIDER), [`twitter::PROVIDER`](crate::twitter::PROVIDER) for X); the bridge
//! routes it to the link sides whose
//! [`StatusLink::sources`](crate::sync::StatusLink::sources) name that key. The paths below
//! use the default prefix `/webhooks` ([`WebhookRoutes::path_prefix`] changes it), and
//! [`WebhookRoutes::into_router_for`] gives a router for an application with its own state.
//!
//! Every receiver reads the **raw body bytes** (bounded by
//! [`WebhookOptions::max_body_bytes`]), verifies the delivery with the provider's verifier
//! before trusting anything in it, turns it into [`BridgeEvent`]s and **queues** them on the
//! bridge with [`BridgeHandle::send`](crate::sync::BridgeHandle::send); it answers as soon as the events are queued, never
//! after the bridge has processed them (Aircall wants an answer within 5 s, X's CRC within
//! 3 s). Duplicate and out-of-order deliveries are harmless: the bridge drops repeated
//! delivery ids and orders changes by the provider's own time.
//!
//! | Path | Method | Provider | Verified by |
//! |---|---|---|---|
//! | [`AIRCALL_PATH`] `/webhooks/aircall` | POST | Aircall ([`aircall::AircallReceiver`](crate::aircall::AircallReceiver)) | the body `token` ([`aircall::WebhookVerifier`](crate::aircall::WebhookVerifier)) |
//! | [`ZENDESK_PATH`] `/webhooks/zendesk` | POST | Zendesk ([`zendesk::ZendeskReceiver`](crate::zendesk::ZendeskReceiver)) | `x-zendesk-webhook-signature` over timestamp + body, with a replay window on the router's clock ([`zendesk::WebhookVerifier`](crate::zendesk::WebhookVerifier)) |
//! | [`USEDESK_PATH`] `/webhooks/usedesk` | POST | Usedesk ([`usedesk::UsedeskReceiver`](crate::usedesk::UsedeskReceiver)) | the body `secret` ([`usedesk::UsedeskWebhookVerifier`](crate::usedesk::UsedeskWebhookVerifier)) |
//! | [`X_PATH`] `/webhooks/x` | GET (CRC), POST | X ([`twitter::XReceiver`](crate::twitter::XReceiver)) | `x-twitter-webhooks-signature` ([`twitter::XWebhook`](crate::twitter::XWebhook)) |
//!
//! Answers (always JSON):
//!
//! - **200** `{"accepted": N}`: verified; `N` events were queued (0 for deliveries the
//!   bridge has no use for: call events, Usedesk ticket events, other Zendesk channels).
//!   X's CRC answers 200 `{"response_token": "sha256=…"}`.
//! - **400** `{"error": "malformed", "message"}`: the body (or the CRC query) is unreadable.
//! - **401** `{"error": "unauthorized", "message"}`: missing or wrong token / signature, or a
//!   Zendesk timestamp outside the replay window. Nothing is forwarded.
//! - **413** `{"error": "too_large", …}`: the body exceeds the limit.
//! - **503** `{"error": "unavailable", …}`: the bridge has stopped, or its queue stayed full
//!   for [`WebhookOptions::enqueue_timeout`]; the provider retries later.
//!
//! A handler never answers 500. Error messages never quote secrets or signatures.
//!
//! What each delivery becomes:
//!
//! - **Aircall** user events carrying `availability_status` →
//!   [`BridgeEvent::Status`] (channel voice, origin [`Origin::Unknown`](crate::sync::Origin::Unknown): Aircall names no
//!   actor, so the bridge recognises its own echoes by the remembered-write window;
//!   `at` = the envelope timestamp; `delivery_id` = the idempotency key). Events without
//!   the status, and `user.deleted`, → [`BridgeEvent::Changed`] (the bridge re-reads).
//!   Other events → nothing.
//! - **Zendesk** `agent.unified_state_changed` → [`BridgeEvent::Status`] with the unified
//!   status name (the four defaults in the API's snake case), origin from
//!   [`zendesk::WebhookEvent::origin`](crate::zendesk::WebhookEvent::origin) (`PUBLIC_API` → [`Origin::Ours`](crate::sync::Origin::Ours)), `at` = the envelope
//!   `time` (else the event's `updated_at`, else now), `delivery_id` = the envelope id. A
//!   custom status is forwarded by name with [`CustomStatusReading::ByName`](crate::zendesk::CustomStatusReading::ByName) (the
//!   provider's default) and as [`BridgeEvent::Changed`] with
//!   [`CustomStatusReading::ByTalkChannel`](crate::zendesk::CustomStatusReading::ByTalkChannel), whose value needs the status catalog.
//!   `agent.state_changed` on the `talk` channel → [`BridgeEvent::Status`] with the
//!   channel state, origin unknown; other channels and event types → nothing. Subscribe the
//!   webhook to the event matching the account: `unified_state_changed` with omnichannel
//!   routing, `state_changed` without.
//! - **Usedesk** deliveries (new tickets, comments, chats) say nothing about agent status:
//!   they are verified, logged and acknowledged; nothing is forwarded.
//! - **X** Account Activity deliveries → one [`BridgeEvent::Message`] with source `"x"` per
//!   inbound DM or mention (the bridge routes it through the inbox registered as `"x"`).
//!
//! ```no_run
//! # #[cfg(all(feature = "aircall", feature = "zendesk"))]
//! # async fn demo(bridge: deskbridge::sync::Bridge) -> deskbridge::Result<()> {
//! use deskbridge::server::webhooks::WebhookRoutes;
//! use deskbridge::{aircall, zendesk};
//!
//! let routes = WebhookRoutes::new(bridge.handle())
//!     // POST /webhooks/aircall
//!     .receiver(aircall::AircallReceiver::new(aircall::WebhookVerifier::new("aircall-webhook-token")?))
//!     // POST /webhooks/zendesk
//!     .receiver(zendesk::ZendeskReceiver::new(
//!         zendesk::WebhookVerifier::new("zendesk-signing-secret")?,
//!         zendesk::CustomStatusReading::ByName,
//!     ))
//!     .into_router();
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await
//!     .map_err(|e| deskbridge::Error::config(e.to_string()))?;
//! // Timeouts, connection and request limits (deskbridge::server::limits): never a bare
//! // `axum::serve` on a public endpoint.
//! let limits = deskbridge::server::limits::ServerLimits::default();
//! tokio::spawn(deskbridge::server::limits::serve(listener, routes, limits));
//! bridge.run().await
//! # }
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use chrono::{DateTime, Utc};
use serde_json::json;

use crate::sync::BridgeEvent;
use crate::sync::BridgeHandle;
use crate::sync::Clock;
use crate::{Error, error::WebhookFailure};

/// The default path prefix of every receiver ([`WebhookRoutes::path_prefix`]).
pub const DEFAULT_PATH_PREFIX: &str = "/webhooks";

/// Where [`AircallReceiver`](crate::aircall::AircallReceiver) is served with the default
/// prefix.
pub const AIRCALL_PATH: &str = "/webhooks/aircall";
/// Where [`ZendeskReceiver`](crate::zendesk::ZendeskReceiver) is served with the default
/// prefix.
pub const ZENDESK_PATH: &str = "/webhooks/zendesk";
/// Where [`UsedeskReceiver`](crate::usedesk::UsedeskReceiver) is served with the default
/// prefix.
pub const USEDESK_PATH: &str = "/webhooks/usedesk";
/// Where [`XReceiver`](crate::twitter::XReceiver) is served with the default prefix (GET
/// for the CRC, POST for deliveries).
pub const X_PATH: &str = "/webhooks/x";

/// Default largest body accepted: 256 KiB (agent events are well under 4 KiB; X batches
/// a few events per delivery).
pub const DEFAULT_MAX_BODY_BYTES: usize = 256 * 1024;
/// Default longest wait for room in the bridge's event queue before answering 503.
pub const DEFAULT_ENQUEUE_TIMEOUT: Duration = Duration::from_secs(1);

/// Tunables shared by every receiver.
#[derive(Clone)]
#[non_exhaustive]
pub struct WebhookOptions {
    /// Largest body accepted, in bytes; larger bodies get 413 and are not read further.
    pub max_body_bytes: usize,
    /// How long a handler may wait for room in the bridge's queue (it is bounded, 1,024
    /// events) before answering 503 so the provider retries; keep it well under the
    /// providers' budgets (Aircall 5 s, X 3 s).
    pub enqueue_timeout: Duration,
    /// The receiver's clock: the Zendesk replay window is checked against it, and it
    /// stamps events whose provider gives no time. The system clock by default;
    /// inject one in tests.
    pub clock: Clock,
}

/// Builder methods: start from [`WebhookOptions::default`] (or the constructor) and set what differs.
impl WebhookOptions {
    /// Set [`max_body_bytes`](Self::max_body_bytes).
    pub fn with_max_body_bytes(mut self, max_body_bytes: usize) -> Self {
        self.max_body_bytes = max_body_bytes;
        self
    }

    /// Set [`enqueue_timeout`](Self::enqueue_timeout).
    pub fn with_enqueue_timeout(mut self, enqueue_timeout: Duration) -> Self {
        self.enqueue_timeout = enqueue_timeout;
        self
    }

    /// Set [`clock`](Self::clock).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }
}

impl std::fmt::Debug for WebhookOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookOptions")
            .field("max_body_bytes", &self.max_body_bytes)
            .field("enqueue_timeout", &self.enqueue_timeout)
            .finish_non_exhaustive()
    }
}

impl Default for WebhookOptions {
    fn default() -> Self {
        Self {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            enqueue_timeout: DEFAULT_ENQUEUE_TIMEOUT,
            clock: Arc::new(Utc::now),
        }
    }
}

/// One webhook delivery as a receiver sees it: already bounded by
/// [`WebhookOptions::max_body_bytes`], not yet verified.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct WebhookRequest<'a> {
    /// The request headers (signatures, timestamps).
    pub headers: &'a HeaderMap,
    /// The raw body bytes, exactly as received (verify signatures over these, never over
    /// a re-serialised form). Empty for a GET.
    pub body: &'a [u8],
    /// The raw query string, if any (X's `crc_token`).
    pub query: Option<&'a str>,
    /// The receiver's clock ([`WebhookOptions::clock`]) at arrival: check replay windows
    /// against it, and stamp events whose provider gives no time with it.
    pub now: DateTime<Utc>,
}

impl<'a> WebhookRequest<'a> {
    /// A request, for calling a receiver directly (tests, another web framework).
    pub fn new(headers: &'a HeaderMap, body: &'a [u8], query: Option<&'a str>, now: DateTime<Utc>) -> Self {
        Self { headers, body, query, now }
    }

    /// The header `name` as text, if present and readable.
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// The first value of the query parameter `name`, decoded.
    pub fn query_param(&self, name: &str) -> Option<String> {
        let query = self.query?;
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    }
}

/// Why a receiver refuses a delivery; the message goes into the JSON answer and the log,
/// so it must never quote a secret or a signature.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WebhookRefusal {
    /// 400 `{"error": "malformed"}`: the body (or query) is unreadable.
    Malformed(String),
    /// 401 `{"error": "unauthorized"}`: missing or wrong token or signature, or outside
    /// the replay window. Nothing is forwarded.
    Unauthorized(String),
}

impl WebhookRefusal {
    /// A verifier's error: [`WebhookFailure::Malformed`] is 400, every other verification
    /// failure 401, any other error 400.
    pub fn from_error(error: Error) -> Self {
        match &error {
            Error::WebhookVerification { failure: WebhookFailure::Malformed(_), .. } => {
                Self::Malformed(error.to_string())
            }
            Error::WebhookVerification { .. } => Self::Unauthorized(error.to_string()),
            _ => Self::Malformed(error.to_string()),
        }
    }

    /// A signature check's error, whatever it is: 401 (a body that fails its signature
    /// check is not trusted enough to be called malformed).
    pub fn unauthorized(error: Error) -> Self {
        Self::Unauthorized(error.to_string())
    }
}

/// What a provider's webhook endpoint does: where it is mounted by default, how a delivery
/// is verified and what it becomes. Object-safe; [`WebhookRoutes::receiver`] mounts one.
///
/// The generic machinery around it (the body limit with 413, the JSON answers, queueing on
/// the bridge with 503 when it is stopped or full, logs) is [`WebhookRoutes`]'s, so a
/// receiver is a pure function of the request: it never blocks and never panics on outside
/// data. Every [`BridgeEvent`] it returns names its source with the provider's id (the
/// routing key a [`StatusLink`](crate::sync::StatusLink)'s sources name).
///
/// ```
/// use deskbridge::server::webhooks::{WebhookReceiver, WebhookRefusal, WebhookRequest};
/// use deskbridge::status::Channel;
/// use deskbridge::sync::BridgeEvent;
/// use deskbridge::sync::Origin;
///
/// /// Our in-house presence system posts `{"agent": "42", "status": "online"}` with a
/// /// shared token in `x-presence-token`.
/// struct PresenceReceiver {
///     token: String,
/// }
///
/// impl WebhookReceiver for PresenceReceiver {
///     fn provider(&self) -> &str {
///         "presence"
///     }
///
///     fn receive(&self, request: &WebhookRequest<'_>) -> Result<Vec<BridgeEvent>, WebhookRefusal> {
///         // A real receiver compares in constant time; see `aircall::WebhookVerifier`.
///         if request.header("x-presence-token") != Some(self.token.as_str()) {
///             return Err(WebhookRefusal::Unauthorized("presence: wrong or missing token".into()));
///         }
///         let body: serde_json::Value = serde_json::from_slice(request.body)
///             .map_err(|e| WebhookRefusal::Malformed(format!("presence: {e}")))?;
///         let (Some(agent), Some(status)) = (body["agent"].as_str(), body["status"].as_str()) else {
///             return Err(WebhookRefusal::Malformed("presence: `agent` and `status` are required".into()));
///         };
///         Ok(vec![BridgeEvent::Status {
///             provider: self.provider().to_owned(),
///             agent_id: agent.to_owned(),
///             channel: Channel::Voice,
///             value: status.into(),
///             origin: Origin::Unknown,
///             at: request.now,
///             delivery_id: None,
///         }])
///     }
/// }
/// ```
pub trait WebhookReceiver: Send + Sync + 'static {
    /// The provider's id: the default path segment (`aircall` → `{prefix}/aircall`), the
    /// routing key of the events it queues, and the `provider` field of its logs.
    fn provider(&self) -> &str;

    /// Verify `request` (a POST) and turn it into events; an empty list acknowledges a
    /// delivery the bridge has no use for (200 `{"accepted": 0}`).
    fn receive(&self, request: &WebhookRequest<'_>) -> Result<Vec<BridgeEvent>, WebhookRefusal>;

    /// Whether the endpoint also answers GET (X's CRC challenge); `false` by default, and
    /// a GET is then 405 like any other unserved method.
    fn answers_get(&self) -> bool {
        false
    }

    /// The JSON body of a 200 answer to a GET, when [`answers_get`](Self::answers_get) is
    /// `true`. Refused as malformed by default.
    fn answer_get(&self, request: &WebhookRequest<'_>) -> Result<serde_json::Value, WebhookRefusal> {
        let _ = request;
        Err(WebhookRefusal::Malformed(format!("{}: GET is not served", self.provider())))
    }
}

/// Builds one [`Router`] serving the receivers added, at `{prefix}/{provider}` (see the
/// [module docs](self)) or at their own paths. Mount it with `Router::merge` (the paths are
/// absolute).
pub struct WebhookRoutes {
    bridge: BridgeHandle,
    options: WebhookOptions,
    prefix: String,
    /// Receivers by path below the prefix (`Some(segment)`) or absolute path (`None`, from
    /// [`WebhookRoutes::receiver_at`]), in the order added; a receiver added again at the
    /// same path replaces the earlier one.
    receivers: Vec<(Mount, Arc<dyn WebhookReceiver>)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Mount {
    /// `{prefix}/{segment}`.
    Segment(String),
    /// An absolute path.
    Path(String),
}

impl std::fmt::Debug for WebhookRoutes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let paths: Vec<String> = self.receivers.iter().map(|(mount, _)| self.path_of(mount)).collect();
        f.debug_struct("WebhookRoutes")
            .field("options", &self.options)
            .field("prefix", &self.prefix)
            .field("paths", &paths)
            .finish_non_exhaustive()
    }
}

impl WebhookRoutes {
    /// Receivers that queue their events on `bridge`, with default [`WebhookOptions`].
    pub fn new(bridge: BridgeHandle) -> Self {
        Self {
            bridge,
            options: WebhookOptions::default(),
            prefix: DEFAULT_PATH_PREFIX.to_owned(),
            receivers: Vec::new(),
        }
    }

    /// Serve the receivers under `prefix` instead of [`DEFAULT_PATH_PREFIX`]
    /// (`/webhooks`): `path_prefix("/hooks/v1")` serves Aircall at `/hooks/v1/aircall`,
    /// Zendesk at `/hooks/v1/zendesk`, and so on; `path_prefix("")` serves them at the root
    /// (`/aircall`). A missing leading `/` is added and trailing ones are dropped.
    /// Receivers mounted with [`receiver_at`](Self::receiver_at) are not affected.
    pub fn path_prefix(mut self, prefix: impl AsRef<str>) -> Self {
        self.prefix = normalize_path(prefix.as_ref());
        self
    }

    /// Use these options for every receiver.
    pub fn options(mut self, options: WebhookOptions) -> Self {
        self.options = options;
        self
    }

    /// Serve `receiver` at `{prefix}/{receiver.provider()}` (`/webhooks/aircall` for
    /// [`AircallReceiver`](crate::aircall::AircallReceiver) with the default prefix).
    pub fn receiver(self, receiver: impl WebhookReceiver) -> Self {
        let segment = receiver.provider().trim_matches('/').to_owned();
        self.mount(Mount::Segment(segment), Arc::new(receiver))
    }

    /// Serve `receiver` at `path`, whatever the prefix (`receiver_at("/hooks/aircall-eu",
    /// …)`); a missing leading `/` is added and trailing ones are dropped.
    pub fn receiver_at(self, path: impl AsRef<str>, receiver: impl WebhookReceiver) -> Self {
        let path = normalize_path(path.as_ref());
        self.mount(Mount::Path(path), Arc::new(receiver))
    }

    fn mount(mut self, mount: Mount, receiver: Arc<dyn WebhookReceiver>) -> Self {
        self.receivers.retain(|(existing, _)| *existing != mount);
        self.receivers.push((mount, receiver));
        self
    }

    fn path_of(&self, mount: &Mount) -> String {
        match mount {
            Mount::Segment(segment) => format!("{}/{segment}", self.prefix),
            Mount::Path(path) if path.is_empty() => "/".to_owned(),
            Mount::Path(path) => path.clone(),
        }
    }

    /// Serve Aircall deliveries at `{prefix}/aircall`, verified by `verifier`: shorthand
    /// for `.receiver(AircallReceiver::new(verifier))`.
    #[cfg(feature = "aircall")]
    pub fn aircall(self, verifier: crate::aircall::WebhookVerifier) -> Self {
        self.receiver(crate::aircall::AircallReceiver::new(verifier))
    }

    /// Serve Zendesk deliveries at `{prefix}/zendesk`: shorthand for
    /// `.receiver(ZendeskReceiver::new(verifier, reading))`; `reading` must match the
    /// [`ZendeskConfig`](crate::zendesk::ZendeskConfig)'s custom status reading of the
    /// provider on the link.
    #[cfg(feature = "zendesk")]
    pub fn zendesk(
        self,
        verifier: crate::zendesk::WebhookVerifier,
        reading: crate::zendesk::CustomStatusReading,
    ) -> Self {
        self.receiver(crate::zendesk::ZendeskReceiver::new(verifier, reading))
    }

    /// Serve Usedesk deliveries at `{prefix}/usedesk`: shorthand for
    /// `.receiver(UsedeskReceiver::new(verifier))`.
    #[cfg(feature = "usedesk")]
    pub fn usedesk(self, verifier: crate::usedesk::UsedeskWebhookVerifier) -> Self {
        self.receiver(crate::usedesk::UsedeskReceiver::new(verifier))
    }

    /// Serve X's CRC and deliveries at `{prefix}/x`: shorthand for
    /// `.receiver(XReceiver::new(webhook))`.
    #[cfg(feature = "twitter")]
    pub fn x(self, webhook: crate::twitter::XWebhook) -> Self {
        self.receiver(crate::twitter::XReceiver::new(webhook))
    }

    /// The router, for an application with any state: merge it into the embedder's own
    /// `Router<S>` (the receivers carry their own state).
    pub fn into_router_for<S: Clone + Send + Sync + 'static>(self) -> Router<S> {
        self.into_router().with_state(())
    }

    /// The router.
    pub fn into_router(self) -> Router {
        // One route per path: a later receiver at the same path already replaced an
        // earlier one, but a segment and an absolute path may still meet.
        let mut routes: BTreeMap<String, MethodRouter> = BTreeMap::new();
        for (mount, receiver) in &self.receivers {
            let path = self.path_of(mount);
            let mounted = Arc::new(Mounted {
                receiver: Arc::clone(receiver),
                bridge: self.bridge.clone(),
                options: self.options.clone(),
            });
            let mut method = post(receive).with_state(Arc::clone(&mounted));
            if receiver.answers_get() {
                method = method.merge(get(answer_get).with_state(mounted));
            }
            routes.insert(path, method);
        }
        routes.into_iter().fold(Router::new(), |router, (path, method)| router.route(&path, method))
    }
}

fn normalize_path(path: &str) -> String {
    let trimmed = path.trim().trim_end_matches('/');
    if trimmed.is_empty() || trimmed.starts_with('/') { trimmed.to_owned() } else { format!("/{trimmed}") }
}

/// A receiver with what the handlers around it need.
struct Mounted {
    receiver: Arc<dyn WebhookReceiver>,
    bridge: BridgeHandle,
    options: WebhookOptions,
}

fn answer(status: StatusCode, error: &str, message: impl Into<String>) -> Response {
    let message = crate::error::excerpt(&message.into(), 300);
    (status, axum::Json(json!({ "error": error, "message": message }))).into_response()
}

fn refused(provider: &str, refusal: WebhookRefusal) -> Response {
    match refusal {
        WebhookRefusal::Malformed(message) => {
            tracing::warn!(provider, %message, "webhook refused: malformed");
            answer(StatusCode::BAD_REQUEST, "malformed", message)
        }
        WebhookRefusal::Unauthorized(message) => {
            tracing::warn!(provider, %message, "webhook refused: not verified");
            answer(StatusCode::UNAUTHORIZED, "unauthorized", message)
        }
    }
}

async fn receive(State(mounted): State<Arc<Mounted>>, headers: HeaderMap, uri: Uri, body: Body) -> Response {
    let provider = mounted.receiver.provider();
    let limit = mounted.options.max_body_bytes;
    let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
        // The only errors are the limit and a broken connection; neither is processed.
        tracing::warn!(provider, limit, "webhook body too large or unreadable");
        return answer(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the body is larger than {limit} bytes or could not be read"),
        );
    };
    let request = WebhookRequest::new(&headers, &bytes, uri.query(), (mounted.options.clock)());
    match mounted.receiver.receive(&request) {
        Ok(events) => forward(&mounted.bridge, mounted.options.enqueue_timeout, provider, events).await,
        Err(refusal) => refused(provider, refusal),
    }
}

async fn answer_get(State(mounted): State<Arc<Mounted>>, headers: HeaderMap, uri: Uri) -> Response {
    let request = WebhookRequest::new(&headers, &[], uri.query(), (mounted.options.clock)());
    match mounted.receiver.answer_get(&request) {
        Ok(body) => (StatusCode::OK, axum::Json(body)).into_response(),
        Err(refusal) => refused(mounted.receiver.provider(), refusal),
    }
}

/// Queue `events` on the bridge (not waiting for their processing) and answer.
async fn forward(
    bridge: &BridgeHandle,
    timeout: Duration,
    provider: &str,
    events: Vec<BridgeEvent>,
) -> Response {
    let count = events.len();
    let queued = tokio::time::timeout(timeout, async {
        for event in events {
            bridge.send(event).await?;
        }
        Ok::<(), Error>(())
    })
    .await;
    match queued {
        Ok(Ok(())) => {
            tracing::debug!(provider, count, "webhook accepted");
            (StatusCode::OK, axum::Json(json!({ "accepted": count }))).into_response()
        }
        Ok(Err(error)) => answer(StatusCode::SERVICE_UNAVAILABLE, "unavailable", error.to_string()),
        Err(_) => answer(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the bridge's event queue is full; retry later",
        ),
    }
}
