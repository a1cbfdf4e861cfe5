//! The webhook receiver of the Aircall-calls → Zendesk flow (features `server`,
//! `aircall` and `zendesk`): [`router`] serves `POST <path>`, verifies each delivery with
//! the webhook token, and hands `call.*` events to a [`CallsBridge`].
//!
//! Answers, chosen so Aircall's at-least-once delivery does the retrying:
//!
//! - **200** with the [`CallOutcome`] as JSON once the event is handled (popped, logged,
//!   duplicate, ignored, dry run), and for verified events that are not call events
//!   (`{"outcome": "ignored"}`).
//! - **401** when the token does not match or is missing; **400** for a body that is not
//!   JSON or whose `data` is not a call (naming the JSON path); **413** above the body
//!   limit. Nothing reaches the bridge.
//! - **503** with `Retry-After` when another instance holds the call
//!   ([`CallOutcome::Busy`]) or when `call.ended` finds the call not over yet in Aircall's
//!   API ([`CallOutcome::Pending`]; after `call.voicemail_left` it is a 200, `call.ended`
//!   follows), and **502** when Zendesk, Aircall or the store failed: Aircall redelivers,
//!   and the bridge resumes where it stopped (exactly once per call).
//!
//! The event is handled before answering, so an answer means the work is done or will be
//! redelivered: the ringing path is a few requests (well inside Aircall's 5 s); logging an
//! ended call is up to six.
//!
//! ```no_run
//! # async fn demo(bridge: deskbridge::bridges::CallsBridge) -> deskbridge::Result<()> {
//! use std::sync::Arc;
//! use deskbridge::aircall::WebhookVerifier;
//! use deskbridge::server::calls::{router, CallsRouterOptions};
//!
//! let app = router(Arc::new(bridge), WebhookVerifier::new("webhook-token")?, CallsRouterOptions::default());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await.map_err(|e| deskbridge::Error::config(e.to_string()))?;
//! axum::serve(listener, app).await.map_err(|e| deskbridge::Error::config(e.to_string()))?;
//! # Ok(()) }
//! ```

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::Utc;
use serde_json::json;

use crate::Error;
use crate::aircall::CallEventKind;
use crate::aircall::WebhookVerifier;
use crate::bridges::{CallOutcome, CallsBridge};
use crate::error::{WebhookFailure, excerpt};

/// A callback that sees every handled event (its name, e.g. `call.ended`) and its outcome
/// (for logs, metrics, the example's output).
pub type OutcomeObserver = Arc<dyn Fn(&str, &CallOutcome) + Send + Sync>;

/// Options of [`router`].
#[derive(Clone)]
#[non_exhaustive]
pub struct CallsRouterOptions {
    /// The path served (default `/webhooks/aircall/calls`).
    pub path: String,
    /// Largest body accepted (default 256 KiB; Aircall's call payloads are a few KiB).
    pub max_body_bytes: usize,
    /// Called with every outcome.
    pub observer: Option<OutcomeObserver>,
}

impl Default for CallsRouterOptions {
    fn default() -> Self {
        Self { path: "/webhooks/aircall/calls".into(), max_body_bytes: 256 * 1024, observer: None }
    }
}

impl std::fmt::Debug for CallsRouterOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallsRouterOptions")
            .field("path", &self.path)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("observer", &self.observer.is_some())
            .finish()
    }
}

impl CallsRouterOptions {
    /// Serve at `path` (must start with `/`).
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// Set the body limit.
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// Observe every handled event and its outcome.
    pub fn observer(mut self, observer: impl Fn(&str, &CallOutcome) + Send + Sync + 'static) -> Self {
        self.observer = Some(Arc::new(observer));
        self
    }
}

#[derive(Clone)]
struct AppState {
    bridge: Arc<CallsBridge>,
    verifier: WebhookVerifier,
    observer: Option<OutcomeObserver>,
}

/// The router: `POST <options.path>` → verify → [`CallsBridge::handle`]. See the
/// [module docs](self) for the answers.
pub fn router(bridge: Arc<CallsBridge>, verifier: WebhookVerifier, options: CallsRouterOptions) -> Router {
    let state = AppState { bridge, verifier, observer: options.observer };
    Router::new()
        .route(&options.path, post(receive))
        .layer(DefaultBodyLimit::max(options.max_body_bytes))
        .with_state(state)
}

fn answer(status: StatusCode, code: &str, message: impl AsRef<str>) -> Response {
    (status, axum::Json(json!({ "error": code, "message": excerpt(message.as_ref(), 500) }))).into_response()
}

async fn receive(State(state): State<AppState>, body: Bytes) -> Response {
    let event = match state.verifier.verify(&body, Utc::now()) {
        Ok(event) => event,
        Err(error @ Error::WebhookVerification { failure: WebhookFailure::Malformed(_), .. }) => {
            return answer(StatusCode::BAD_REQUEST, "malformed", error.to_string());
        }
        Err(error) => return answer(StatusCode::UNAUTHORIZED, "unauthorized", error.to_string()),
    };
    let call_event = match event.call_event() {
        None => return (StatusCode::OK, axum::Json(json!({ "outcome": "ignored" }))).into_response(),
        Some(Err(error)) => return answer(StatusCode::BAD_REQUEST, "malformed", error.to_string()),
        Some(Ok(call_event)) => call_event,
    };
    match state.bridge.handle(&call_event).await {
        Ok(outcome) => {
            if let Some(observer) = &state.observer {
                observer(call_event.kind.as_str(), &outcome);
            }
            // Busy: another instance holds the call. Pending on `call.ended`: Aircall does
            // not report the call as over yet, and no later event would log it. Both ask
            // Aircall to redeliver.
            let retry_later = match outcome {
                CallOutcome::Busy { .. } => true,
                CallOutcome::Pending { .. } => call_event.kind == CallEventKind::Ended,
                _ => false,
            };
            let status = if retry_later { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::OK };
            let mut response = (status, axum::Json(&outcome)).into_response();
            if status == StatusCode::SERVICE_UNAVAILABLE {
                response.headers_mut().insert("retry-after", axum::http::HeaderValue::from_static("5"));
            }
            response
        }
        Err(error) => {
            tracing::warn!(%error, call_id = call_event.call.id, event = %call_event.kind, "calls webhook failed");
            answer(StatusCode::BAD_GATEWAY, "upstream", error.to_string())
        }
    }
}
