//! Webhook receivers for the continuous [`Bridge`](crate::sync::Bridge): Aircall, Zendesk,
//! Usedesk and X (feature `server`, plus each provider's feature).
//!
//! Every event a receiver queues names its source with a routing key ([`AIRCALL_SOURCE`],
//! [`ZENDESK_SOURCE`], [`X_SOURCE`]); the bridge routes it to the link sides whose
//! [`StatusLink::sources`](crate::sync::StatusLink::sources) name that key, never by a
//! provider's `name()`. The paths below use the default prefix `/webhooks`
//! ([`WebhookRoutes::path_prefix`] changes it), and
//! [`WebhookRoutes::into_router_for`] gives a router for an application with its own state.
//!
//! Every receiver reads the **raw body bytes** (bounded by
//! [`WebhookOptions::max_body_bytes`]), verifies the delivery with the provider's verifier
//! before trusting anything in it, turns it into [`BridgeEvent`]s and **queues** them on the
//! bridge with [`BridgeHandle::send`]; it answers as soon as the events are queued, never
//! after the bridge has processed them (Aircall wants an answer within 5 s, X's CRC within
//! 3 s). Duplicate and out-of-order deliveries are harmless: the bridge drops repeated
//! delivery ids and orders changes by the provider's own time.
//!
//! | Path | Method | Provider | Verified by |
//! |---|---|---|---|
//! | [`AIRCALL_PATH`] `/webhooks/aircall` | POST | Aircall | the body `token` ([`aircall::webhook::WebhookVerifier`]) |
//! | [`ZENDESK_PATH`] `/webhooks/zendesk` | POST | Zendesk | `x-zendesk-webhook-signature` over timestamp + body, with a replay window on the router's clock ([`zendesk::WebhookVerifier`]) |
//! | [`USEDESK_PATH`] `/webhooks/usedesk` | POST | Usedesk | the body `secret` ([`usedesk::webhook::UsedeskWebhookVerifier`]) |
//! | [`X_PATH`] `/webhooks/x` | GET (CRC), POST | X | `x-twitter-webhooks-signature` ([`twitter::webhook::XWebhook`]) |
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
//!   [`BridgeEvent::Status`] (channel voice, origin [`Origin::Unknown`]: Aircall names no
//!   actor, so the bridge recognises its own echoes by the remembered-write window;
//!   `at` = the envelope timestamp; `delivery_id` = the idempotency key). Events without
//!   the status, and `user.deleted`, → [`BridgeEvent::Changed`] (the bridge re-reads).
//!   Other events → nothing.
//! - **Zendesk** `agent.unified_state_changed` → [`BridgeEvent::Status`] with the unified
//!   status name (the four defaults in the API's snake case), origin from
//!   [`zendesk::WebhookEvent::origin`] (`PUBLIC_API` → [`Origin::Ours`]), `at` = the envelope
//!   `time` (else the event's `updated_at`, else now), `delivery_id` = the envelope id. A
//!   custom status is forwarded by name with [`CustomStatusReading::ByName`] (the
//!   provider's default) and as [`BridgeEvent::Changed`] with
//!   [`CustomStatusReading::ByTalkChannel`], whose value needs the status catalog.
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
//! use deskbridge::zendesk::CustomStatusReading;
//!
//! let routes = WebhookRoutes::new(bridge.handle())
//!     .aircall(deskbridge::aircall::WebhookVerifier::new("aircall-webhook-token")?)
//!     .zendesk(deskbridge::zendesk::WebhookVerifier::new("zendesk-signing-secret")?, CustomStatusReading::ByName)
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

// With some provider features off, parts of the shared machinery go unused.
#![cfg_attr(
    not(all(feature = "aircall", feature = "zendesk", feature = "usedesk", feature = "twitter")),
    allow(dead_code, unused_imports)
)]

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::{DateTime, Utc};
use serde_json::json;

#[allow(unused_imports)]
use crate::status::Channel;
use crate::sync::BridgeEvent;
use crate::sync::BridgeHandle;
use crate::sync::Clock;
#[allow(unused_imports)]
use crate::sync::Origin;
use crate::{Error, error::WebhookFailure};

#[cfg(feature = "aircall")]
use crate::aircall;
#[cfg(feature = "twitter")]
use crate::twitter;
#[cfg(feature = "usedesk")]
use crate::usedesk;
#[cfg(feature = "zendesk")]
use crate::zendesk::{self, CustomStatusReading};

/// The routing key of the events the Aircall receiver queues (the `provider` of its
/// [`BridgeEvent`]s): name it in [`StatusLink::sources`](crate::sync::StatusLink::sources)
/// for the side Aircall feeds.
pub const AIRCALL_SOURCE: &str = "aircall";
/// The routing key of the events the Zendesk receiver queues.
pub const ZENDESK_SOURCE: &str = "zendesk";
/// The source name of the messages the X receiver queues (route them with
/// `Bridge::inbox("x", ..)`).
pub const X_SOURCE: &str = "x";

/// The default path prefix of every receiver ([`WebhookRoutes::path_prefix`]).
pub const DEFAULT_PATH_PREFIX: &str = "/webhooks";

/// Where [`WebhookRoutes::aircall`] is served (with the default prefix).
pub const AIRCALL_PATH: &str = "/webhooks/aircall";
/// Where [`WebhookRoutes::zendesk`] is served.
pub const ZENDESK_PATH: &str = "/webhooks/zendesk";
/// Where [`WebhookRoutes::usedesk`] is served.
pub const USEDESK_PATH: &str = "/webhooks/usedesk";
/// Where [`WebhookRoutes::x`] is served (GET for the CRC, POST for deliveries).
pub const X_PATH: &str = "/webhooks/x";

/// Default largest body accepted: 256 KiB (agent events are well under 4 KiB; X batches
/// a few events per delivery).
pub const DEFAULT_MAX_BODY_BYTES: usize = 256 * 1024;
/// Default longest wait for room in the bridge's event queue before answering 503.
pub const DEFAULT_ENQUEUE_TIMEOUT: Duration = Duration::from_secs(1);

/// Tunables shared by every receiver.
#[derive(Clone)]
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

/// Builds one [`Router`] serving the receivers of the providers added, at the paths of
/// the [module docs](self). Mount it with `Router::merge` (the paths are absolute).
#[derive(Debug)]
pub struct WebhookRoutes {
    bridge: BridgeHandle,
    options: WebhookOptions,
    prefix: String,
    #[cfg(feature = "aircall")]
    aircall: Option<aircall::WebhookVerifier>,
    #[cfg(feature = "zendesk")]
    zendesk: Option<(zendesk::WebhookVerifier, CustomStatusReading)>,
    #[cfg(feature = "usedesk")]
    usedesk: Option<usedesk::webhook::UsedeskWebhookVerifier>,
    #[cfg(feature = "twitter")]
    x: Option<twitter::webhook::XWebhook>,
}

impl WebhookRoutes {
    /// Receivers that queue their events on `bridge`, with default [`WebhookOptions`].
    pub fn new(bridge: BridgeHandle) -> Self {
        Self {
            bridge,
            options: WebhookOptions::default(),
            prefix: DEFAULT_PATH_PREFIX.to_owned(),
            #[cfg(feature = "aircall")]
            aircall: None,
            #[cfg(feature = "zendesk")]
            zendesk: None,
            #[cfg(feature = "usedesk")]
            usedesk: None,
            #[cfg(feature = "twitter")]
            x: None,
        }
    }

    /// Serve the receivers under `prefix` instead of [`DEFAULT_PATH_PREFIX`]
    /// (`/webhooks`): `path_prefix("/hooks/v1")` serves Aircall at `/hooks/v1/aircall`,
    /// Zendesk at `/hooks/v1/zendesk`, and so on; `path_prefix("")` serves them at the root
    /// (`/aircall`). A missing leading `/` is added and trailing ones are dropped.
    pub fn path_prefix(mut self, prefix: impl AsRef<str>) -> Self {
        let trimmed = prefix.as_ref().trim().trim_end_matches('/');
        self.prefix = if trimmed.is_empty() || trimmed.starts_with('/') {
            trimmed.to_owned()
        } else {
            format!("/{trimmed}")
        };
        self
    }

    /// Use these options for every receiver.
    pub fn options(mut self, options: WebhookOptions) -> Self {
        self.options = options;
        self
    }

    /// Serve Aircall deliveries at [`AIRCALL_PATH`], verified by `verifier`.
    #[cfg(feature = "aircall")]
    pub fn aircall(mut self, verifier: aircall::WebhookVerifier) -> Self {
        self.aircall = Some(verifier);
        self
    }

    /// Serve Zendesk deliveries at [`ZENDESK_PATH`], verified by `verifier`; `reading`
    /// must match the [`ZendeskConfig`](zendesk::ZendeskConfig)'s custom status reading
    /// of the provider on the link.
    #[cfg(feature = "zendesk")]
    pub fn zendesk(mut self, verifier: zendesk::WebhookVerifier, reading: CustomStatusReading) -> Self {
        self.zendesk = Some((verifier, reading));
        self
    }

    /// Serve Usedesk deliveries at [`USEDESK_PATH`], verified by `verifier`.
    #[cfg(feature = "usedesk")]
    pub fn usedesk(mut self, verifier: usedesk::webhook::UsedeskWebhookVerifier) -> Self {
        self.usedesk = Some(verifier);
        self
    }

    /// Serve X's CRC and deliveries at [`X_PATH`], verified with `webhook`.
    #[cfg(feature = "twitter")]
    pub fn x(mut self, webhook: twitter::webhook::XWebhook) -> Self {
        self.x = Some(webhook);
        self
    }

    /// The router, for an application with any state: merge it into the embedder's own
    /// `Router<S>` (the receivers carry their own state).
    pub fn into_router_for<S: Clone + Send + Sync + 'static>(self) -> Router<S> {
        self.into_router().with_state(())
    }

    /// The router.
    pub fn into_router(self) -> Router {
        #[allow(unused_mut)]
        let mut router = Router::new();
        #[allow(unused_variables)]
        let path = |name: &str| format!("{}/{name}", self.prefix);
        #[cfg(feature = "aircall")]
        if let Some(verifier) = self.aircall {
            let receiver = receiver(&self.bridge, &self.options, AircallReceiver { verifier });
            router = router.route(&path("aircall"), post(receive::<AircallReceiver>).with_state(receiver));
        }
        #[cfg(feature = "zendesk")]
        if let Some((verifier, reading)) = self.zendesk {
            let receiver = receiver(&self.bridge, &self.options, ZendeskReceiver { verifier, reading });
            router = router.route(&path("zendesk"), post(receive::<ZendeskReceiver>).with_state(receiver));
        }
        #[cfg(feature = "usedesk")]
        if let Some(verifier) = self.usedesk {
            let receiver = receiver(&self.bridge, &self.options, UsedeskReceiver { verifier });
            router = router.route(&path("usedesk"), post(receive::<UsedeskReceiver>).with_state(receiver));
        }
        #[cfg(feature = "twitter")]
        if let Some(webhook) = self.x {
            let receiver = receiver(&self.bridge, &self.options, XReceiver { webhook });
            router = router
                .route(&path("x"), axum::routing::get(x_crc).post(receive::<XReceiver>).with_state(receiver));
        }
        router
    }
}

/// The Aircall receiver alone, at [`AIRCALL_PATH`], with default options.
#[cfg(feature = "aircall")]
pub fn aircall_router(verifier: aircall::WebhookVerifier, bridge: BridgeHandle) -> Router {
    WebhookRoutes::new(bridge).aircall(verifier).into_router()
}

/// The Zendesk receiver alone, at [`ZENDESK_PATH`], with default options (system clock)
/// and [`CustomStatusReading::ByName`].
#[cfg(feature = "zendesk")]
pub fn zendesk_router(verifier: zendesk::WebhookVerifier, bridge: BridgeHandle) -> Router {
    WebhookRoutes::new(bridge).zendesk(verifier, CustomStatusReading::ByName).into_router()
}

/// The Usedesk receiver alone, at [`USEDESK_PATH`], with default options.
#[cfg(feature = "usedesk")]
pub fn usedesk_router(verifier: usedesk::webhook::UsedeskWebhookVerifier, bridge: BridgeHandle) -> Router {
    WebhookRoutes::new(bridge).usedesk(verifier).into_router()
}

/// The X receiver alone (CRC and deliveries), at [`X_PATH`], with default options.
#[cfg(feature = "twitter")]
pub fn x_router(webhook: twitter::webhook::XWebhook, bridge: BridgeHandle) -> Router {
    WebhookRoutes::new(bridge).x(webhook).into_router()
}

/// Why a delivery is refused.
#[derive(Debug)]
enum Refusal {
    /// 400.
    Malformed(String),
    /// 401.
    Unauthorized(String),
}

impl Refusal {
    /// A verifier's error: malformed bodies are 400, every authentication failure 401.
    fn from_error(error: Error) -> Self {
        match &error {
            Error::WebhookVerification { failure: WebhookFailure::Malformed(_), .. } => {
                Self::Malformed(error.to_string())
            }
            Error::WebhookVerification { .. } => Self::Unauthorized(error.to_string()),
            _ => Self::Malformed(error.to_string()),
        }
    }

    /// A verification failure: always 401, whatever the failure.
    #[allow(dead_code)]
    fn unauthorized(error: Error) -> Self {
        Self::Unauthorized(error.to_string())
    }
}

/// What a provider's receiver does with a raw delivery.
trait Interpret: Send + Sync + 'static {
    /// The provider, for logs.
    const PROVIDER: &'static str;

    /// Verify and translate a delivery; `now` is the receiver's clock.
    fn interpret(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> std::result::Result<Vec<BridgeEvent>, Refusal>;
}

struct Receiver<P> {
    provider: P,
    bridge: BridgeHandle,
    options: WebhookOptions,
}

fn receiver<P>(bridge: &BridgeHandle, options: &WebhookOptions, provider: P) -> Arc<Receiver<P>> {
    Arc::new(Receiver { provider, bridge: bridge.clone(), options: options.clone() })
}

fn answer(status: StatusCode, error: &str, message: impl Into<String>) -> Response {
    let message = crate::error::excerpt(&message.into(), 300);
    (status, axum::Json(json!({ "error": error, "message": message }))).into_response()
}

async fn receive<P: Interpret>(
    State(receiver): State<Arc<Receiver<P>>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let limit = receiver.options.max_body_bytes;
    let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
        // The only errors are the limit and a broken connection; neither is processed.
        tracing::warn!(provider = P::PROVIDER, limit, "webhook body too large or unreadable");
        return answer(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the body is larger than {limit} bytes or could not be read"),
        );
    };
    let now = (receiver.options.clock)();
    let events = match receiver.provider.interpret(&headers, &bytes, now) {
        Ok(events) => events,
        Err(Refusal::Malformed(message)) => {
            tracing::warn!(provider = P::PROVIDER, %message, "webhook refused: malformed");
            return answer(StatusCode::BAD_REQUEST, "malformed", message);
        }
        Err(Refusal::Unauthorized(message)) => {
            tracing::warn!(provider = P::PROVIDER, %message, "webhook refused: not verified");
            return answer(StatusCode::UNAUTHORIZED, "unauthorized", message);
        }
    };
    forward(&receiver.bridge, receiver.options.enqueue_timeout, P::PROVIDER, events).await
}

/// Queue `events` on the bridge (not waiting for their processing) and answer.
async fn forward(
    bridge: &BridgeHandle,
    timeout: Duration,
    provider: &'static str,
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

#[cfg(feature = "aircall")]
struct AircallReceiver {
    verifier: aircall::WebhookVerifier,
}

#[cfg(feature = "aircall")]
impl Interpret for AircallReceiver {
    const PROVIDER: &'static str = AIRCALL_SOURCE;

    fn interpret(
        &self,
        _headers: &HeaderMap,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> std::result::Result<Vec<BridgeEvent>, Refusal> {
        use aircall::webhook::UserObservation;
        let event = self.verifier.verify(body, now).map_err(Refusal::from_error)?;
        let changed = |user_id: u64| BridgeEvent::Changed {
            provider: Self::PROVIDER.to_owned(),
            agent_id: user_id.to_string(),
        };
        Ok(match event.user_observation() {
            Some(UserObservation::Status { user_id, status, at, .. }) => vec![BridgeEvent::Status {
                provider: Self::PROVIDER.to_owned(),
                agent_id: user_id.to_string(),
                channel: Channel::Voice,
                value: status,
                origin: Origin::Unknown,
                at,
                delivery_id: Some(event.idempotency_key()),
            }],
            Some(UserObservation::NeedsRead { user_id, .. } | UserObservation::Deleted { user_id, .. }) => {
                vec![changed(user_id)]
            }
            None => Vec::new(),
        })
    }
}

#[cfg(feature = "zendesk")]
struct ZendeskReceiver {
    verifier: zendesk::WebhookVerifier,
    reading: CustomStatusReading,
}

#[cfg(feature = "zendesk")]
impl Interpret for ZendeskReceiver {
    const PROVIDER: &'static str = ZENDESK_SOURCE;

    fn interpret(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> std::result::Result<Vec<BridgeEvent>, Refusal> {
        use zendesk::webhook::{AgentEvent, SIGNATURE_HEADER, TIMESTAMP_HEADER};
        let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
        // Every failure of the signature check (missing, unreadable, wrong, stale) is 401;
        // only an unreadable body after a valid signature is 400.
        self.verifier
            .verify(header(SIGNATURE_HEADER), header(TIMESTAMP_HEADER), body, now)
            .map_err(Refusal::unauthorized)?;
        let event = zendesk::webhook::parse_event(body).map_err(Refusal::from_error)?;
        let agent_id = || {
            event.agent_id.map(|id| id.to_string()).ok_or_else(|| {
                Refusal::Malformed(format!(
                    "zendesk: {} event {} has no `detail.agent_id`",
                    event.event_type, event.id
                ))
            })
        };
        let parse_time = |text: Option<&String>| {
            text.and_then(|t| DateTime::parse_from_rfc3339(t.trim()).ok()).map(|t| t.with_timezone(&Utc))
        };
        let status = |agent_id: String, value: String, at: DateTime<Utc>| BridgeEvent::Status {
            provider: Self::PROVIDER.to_owned(),
            agent_id,
            channel: Channel::Voice,
            value: value.into(),
            origin: event.origin(),
            at,
            delivery_id: Some(event.id.clone()),
        };
        Ok(match &event.event {
            AgentEvent::UnifiedStateChanged { new, updated_at, .. } => {
                let agent_id = agent_id()?;
                let at = event.time.or_else(|| parse_time(updated_at.as_ref())).unwrap_or(now);
                let canonical = zendesk::client::canonical_status_name(&new.name);
                let is_default = zendesk::TalkState::from_name(&canonical).is_some();
                if new.name.trim().is_empty() {
                    return Err(Refusal::Malformed(format!(
                        "zendesk: event {} has an empty `event.new_unified_state.name`",
                        event.id
                    )));
                }
                if is_default || self.reading == CustomStatusReading::ByName {
                    vec![status(agent_id, canonical, at)]
                } else {
                    vec![BridgeEvent::Changed { provider: Self::PROVIDER.to_owned(), agent_id }]
                }
            }
            AgentEvent::StateChanged { channel, new_state, updated_at, .. } if channel == "talk" => {
                let agent_id = agent_id()?;
                let at = event.time.or_else(|| parse_time(updated_at.as_ref())).unwrap_or(now);
                vec![status(agent_id, zendesk::client::canonical_status_name(new_state), at)]
            }
            _ => Vec::new(),
        })
    }
}

#[cfg(feature = "usedesk")]
struct UsedeskReceiver {
    verifier: usedesk::webhook::UsedeskWebhookVerifier,
}

#[cfg(feature = "usedesk")]
impl Interpret for UsedeskReceiver {
    const PROVIDER: &'static str = "usedesk";

    fn interpret(
        &self,
        _headers: &HeaderMap,
        body: &[u8],
        _now: DateTime<Utc>,
    ) -> std::result::Result<Vec<BridgeEvent>, Refusal> {
        use usedesk::webhook::UsedeskWebhookEvent;
        let event = self.verifier.verify(body).map_err(Refusal::from_error)?;
        // Ticket, comment, rating and chat events carry no agent status: informational.
        let kind = match &event {
            UsedeskWebhookEvent::NewTicket(_) => "new ticket",
            UsedeskWebhookEvent::NewComment(_) => "new comment",
            UsedeskWebhookEvent::TicketUpdate(_) => "ticket update",
            UsedeskWebhookEvent::Rating(_) => "rating",
            UsedeskWebhookEvent::Chat(_) => "chat",
            _ => "unknown",
        };
        tracing::info!(provider = Self::PROVIDER, kind, "webhook received (informational)");
        Ok(Vec::new())
    }
}

#[cfg(feature = "twitter")]
struct XReceiver {
    webhook: twitter::webhook::XWebhook,
}

#[cfg(feature = "twitter")]
impl Interpret for XReceiver {
    const PROVIDER: &'static str = X_SOURCE;

    fn interpret(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        _now: DateTime<Utc>,
    ) -> std::result::Result<Vec<BridgeEvent>, Refusal> {
        let header = headers.get(twitter::webhook::SIGNATURE_HEADER).and_then(|value| value.to_str().ok());
        self.webhook.verify(header, body).map_err(Refusal::unauthorized)?;
        let activity = twitter::webhook::parse_account_activity(body).map_err(Refusal::from_error)?;
        Ok(activity
            .messages
            .into_iter()
            .map(|message| BridgeEvent::Message { source: Self::PROVIDER.to_owned(), message })
            .collect())
    }
}

/// `GET /webhooks/x?crc_token=…`: X's challenge-response check.
#[cfg(feature = "twitter")]
async fn x_crc(State(receiver): State<Arc<Receiver<XReceiver>>>, uri: axum::http::Uri) -> Response {
    let token = uri
        .query()
        .and_then(|query| url::form_urlencoded::parse(query.as_bytes()).find(|(key, _)| key == "crc_token"))
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    match receiver.provider.webhook.crc_response(&token) {
        Ok(crc) => (StatusCode::OK, axum::Json(crc)).into_response(),
        Err(error) => answer(StatusCode::BAD_REQUEST, "malformed", error.to_string()),
    }
}
