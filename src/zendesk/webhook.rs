//! Zendesk webhook verification (with an explicit clock) and agent-event parsing.
//!
//! Zendesk signs each delivery with `base64(HMAC-SHA256(key = signing secret,
//! message = x-zendesk-webhook-signature-timestamp + raw body))` in
//! `x-zendesk-webhook-signature`. [`WebhookVerifier::verify`] checks it in constant time on
//! the raw bytes (never re-serialise the JSON), then checks the timestamp against `now`
//! within a replay window (default [`DEFAULT_REPLAY_WINDOW`]; Zendesk documents none).
//! [`parse_event`] reads the envelope afterwards.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use deskbridge::zendesk::{AgentEvent, WebhookVerifier};
//!
//! let verifier = WebhookVerifier::new("dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ==").unwrap();
//! let body = br#"{"id":"01GX","type":"zen:event-type:agent.state_changed","detail":{"agent_id":"7"},"event":{"channel":"talk","previous_state":"offline","new_state":"online"}}"#;
//! let timestamp = "2021-03-25T05:09:27Z";
//! let signature = verifier.sign(timestamp, body); // what Zendesk sends
//! let now = Utc.with_ymd_and_hms(2021, 3, 25, 5, 10, 0).unwrap();
//! let event = verifier.verify_and_parse(Some(&signature), Some(timestamp), body, now).unwrap();
//! assert_eq!(event.agent_id, Some(7));
//! assert!(matches!(event.event, AgentEvent::StateChanged { .. }));
//! ```

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;
use sha2::Sha256;

use super::model::{REASON_PUBLIC_API, option_string_or_i64};
use crate::error::WebhookFailure;
use crate::http::HeaderMap;
use crate::sync::Origin;
use crate::{Error, Result};

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "x-zendesk-webhook-signature";
/// The header carrying the signed timestamp (ISO 8601, e.g. `2021-03-25T05:09:27Z`).
pub const TIMESTAMP_HEADER: &str = "x-zendesk-webhook-signature-timestamp";
/// Default tolerance between the signed timestamp and `now`, either way.
pub const DEFAULT_REPLAY_WINDOW: Duration = Duration::from_secs(5 * 60);
/// Event type of a unified status change.
pub const UNIFIED_STATE_CHANGED: &str = "zen:event-type:agent.unified_state_changed";
/// Event type of a per-channel state change.
pub const STATE_CHANGED: &str = "zen:event-type:agent.state_changed";

use super::PROVIDER;

fn rejected(failure: WebhookFailure) -> Error {
    Error::WebhookVerification { provider: PROVIDER, failure }
}

/// Verifies Zendesk webhook deliveries with one signing secret.
#[derive(Clone)]
pub struct WebhookVerifier {
    secret: SecretString,
    replay_window: Duration,
}

impl fmt::Debug for WebhookVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookVerifier")
            .field("secret", &"[redacted]")
            .field("replay_window", &self.replay_window)
            .finish()
    }
}

impl WebhookVerifier {
    /// A verifier for the webhook's signing secret (used as is, as the HMAC key: Zendesk
    /// does not Base64-decode it), with the default replay window.
    ///
    /// # Errors
    /// [`Error::Config`] when the secret is empty or blank (anyone could sign with it).
    pub fn new(secret: impl Into<SecretString>) -> Result<Self> {
        let secret: SecretString = secret.into();
        if secret.expose_secret().trim().is_empty() {
            return Err(Error::config("zendesk: the webhook signing secret is empty"));
        }
        Ok(Self { secret, replay_window: DEFAULT_REPLAY_WINDOW })
    }

    /// Accept timestamps at most `window` away from `now`.
    pub fn with_replay_window(mut self, window: Duration) -> Self {
        self.replay_window = window;
        self
    }

    /// The replay window.
    pub fn replay_window(&self) -> Duration {
        self.replay_window
    }

    fn mac(&self, timestamp: &str, body: &[u8]) -> Result<Hmac<Sha256>> {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.secret.expose_secret().as_bytes())
            .map_err(|_| Error::config("zendesk webhook signing secret is unusable"))?;
        mac.update(timestamp.as_bytes());
        mac.update(body);
        Ok(mac)
    }

    /// The signature Zendesk would send for `timestamp` and `body` (for tests and
    /// simulators).
    pub fn sign(&self, timestamp: &str, body: &[u8]) -> String {
        self.mac(timestamp, body).map(|mac| BASE64.encode(mac.finalize().into_bytes())).unwrap_or_default()
    }

    /// Verify a delivery from its two header values and raw body, at `now`.
    ///
    /// # Errors
    /// [`Error::WebhookVerification`] with [`WebhookFailure::Missing`] (a header absent or
    /// empty), [`WebhookFailure::Malformed`] (a timestamp that is not ISO 8601, a signature
    /// that is not Base64), [`WebhookFailure::BadSignature`], or
    /// [`WebhookFailure::Stale`] (checked after the signature).
    pub fn verify(
        &self,
        signature: Option<&str>,
        timestamp: Option<&str>,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<()> {
        let signature = signature
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| rejected(WebhookFailure::Missing(format!("{SIGNATURE_HEADER} header"))))?;
        let timestamp_text = timestamp
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| rejected(WebhookFailure::Missing(format!("{TIMESTAMP_HEADER} header"))))?;
        let signed_at = DateTime::parse_from_rfc3339(timestamp_text.trim())
            .map_err(|_| {
                rejected(WebhookFailure::Malformed(format!(
                    "{TIMESTAMP_HEADER} is not an ISO 8601 timestamp"
                )))
            })?
            .with_timezone(&Utc);
        let expected = BASE64
            .decode(signature)
            .map_err(|_| rejected(WebhookFailure::Malformed(format!("{SIGNATURE_HEADER} is not Base64"))))?;
        self.mac(timestamp_text, body)?
            .verify_slice(&expected)
            .map_err(|_| rejected(WebhookFailure::BadSignature))?;
        let skew_seconds = (now - signed_at).num_seconds();
        if skew_seconds.unsigned_abs() > self.replay_window.as_secs() {
            return Err(rejected(WebhookFailure::Stale { skew_seconds }));
        }
        Ok(())
    }

    /// [`verify`](Self::verify) with the values read from request headers.
    ///
    /// # Errors
    /// As [`verify`](Self::verify).
    pub fn verify_headers(&self, headers: &HeaderMap, body: &[u8], now: DateTime<Utc>) -> Result<()> {
        let get = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
        self.verify(get(SIGNATURE_HEADER), get(TIMESTAMP_HEADER), body, now)
    }

    /// Verify, then parse with [`parse_event`].
    ///
    /// # Errors
    /// As [`verify`](Self::verify) and [`parse_event`].
    pub fn verify_and_parse(
        &self,
        signature: Option<&str>,
        timestamp: Option<&str>,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<WebhookEvent> {
        self.verify(signature, timestamp, body, now)?;
        parse_event(body)
    }
}

/// A unified status as a `unified_state_changed` event carries it. The id may be a string
/// (public fixtures) or a number; the exact keys are UNCONFIRMED.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct UnifiedState {
    /// Status id, when given. Public fixtures disagree with the docs on default ids:
    /// resolve by name, never by id.
    #[serde(default, deserialize_with = "option_string_or_i64")]
    pub id: Option<i64>,
    /// Status name.
    #[serde(default)]
    pub name: String,
    /// Why it changed (`PUBLIC_API`, `AGENT_STATUS_SWITCHER`, …; an open set).
    #[serde(default)]
    pub reason: Option<String>,
}

/// What happened, by event type.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum AgentEvent {
    /// `zen:event-type:agent.unified_state_changed`.
    UnifiedStateChanged {
        /// The status before (absent on the first change).
        previous: Option<UnifiedState>,
        /// The status now.
        new: UnifiedState,
        /// When it changed, as sent.
        updated_at: Option<String>,
    },
    /// `zen:event-type:agent.state_changed` (one channel).
    StateChanged {
        /// `talk`, `messaging` or `support`.
        channel: String,
        /// The state before.
        previous_state: Option<String>,
        /// The state now.
        new_state: String,
        /// When it changed, as sent.
        updated_at: Option<String>,
    },
    /// Any other event type (work items, capacity, groups…), kept raw.
    Other {
        /// The `type` value.
        event_type: String,
        /// The `event` object.
        event: Value,
    },
}

/// A parsed delivery: the envelope and its event.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookEvent {
    /// The envelope id (`01GX…`): dedupe on it.
    pub id: String,
    /// The event type (`zen:event-type:…`).
    pub event_type: String,
    /// The account (`account_id`, or `detail.account_id`).
    pub account_id: Option<i64>,
    /// The agent (`detail.agent_id`, a string in the envelope).
    pub agent_id: Option<i64>,
    /// The availability version after the change (`detail.version`), when given.
    pub version: Option<i64>,
    /// The envelope `time`, when readable.
    pub time: Option<DateTime<Utc>>,
    /// What happened.
    pub event: AgentEvent,
}

impl WebhookEvent {
    /// Whether deskbridge (or any other public-API caller) made this change: the new
    /// unified state's reason is `PUBLIC_API`.
    pub fn is_own_change(&self) -> bool {
        matches!(&self.event, AgentEvent::UnifiedStateChanged { new, .. }
            if new.reason.as_deref() == Some(REASON_PUBLIC_API))
    }

    /// [`Origin::Ours`] for a `PUBLIC_API` change, [`Origin::Others`] for a change with
    /// another reason, [`Origin::Unknown`] when the event gives no reason (per-channel
    /// events).
    pub fn origin(&self) -> Origin {
        match &self.event {
            AgentEvent::UnifiedStateChanged { new, .. } => match new.reason.as_deref() {
                Some(REASON_PUBLIC_API) => Origin::Ours,
                Some(_) => Origin::Others,
                None => Origin::Unknown,
            },
            _ => Origin::Unknown,
        }
    }
}

#[derive(Deserialize)]
struct RawEnvelope {
    id: Value,
    #[serde(rename = "type")]
    event_type: String,
    #[serde(default, deserialize_with = "option_string_or_i64")]
    account_id: Option<i64>,
    #[serde(default)]
    detail: RawDetail,
    #[serde(default)]
    event: Value,
    #[serde(default)]
    time: Option<String>,
}

#[derive(Default, Deserialize)]
struct RawDetail {
    #[serde(default, deserialize_with = "option_string_or_i64")]
    account_id: Option<i64>,
    #[serde(default, deserialize_with = "option_string_or_i64")]
    agent_id: Option<i64>,
    #[serde(default, deserialize_with = "option_string_or_i64")]
    version: Option<i64>,
}

#[derive(Deserialize)]
struct RawUnifiedEvent {
    #[serde(default)]
    previous_unified_state: Option<UnifiedState>,
    new_unified_state: UnifiedState,
    #[serde(default)]
    updated_at: Option<String>,
}

#[derive(Deserialize)]
struct RawStateEvent {
    #[serde(default)]
    channel: String,
    #[serde(default)]
    previous_state: Option<String>,
    new_state: String,
    #[serde(default)]
    updated_at: Option<String>,
}

fn malformed(path: &str, error: impl fmt::Display) -> Error {
    rejected(WebhookFailure::Malformed(format!("at `{path}`: {error}")))
}

fn decode<T: serde::de::DeserializeOwned>(value: Value, prefix: &str) -> Result<T> {
    serde_path_to_error::deserialize(value)
        .map_err(|e| malformed(&format!("{prefix}{}", e.path()), e.inner()))
}

/// Parse a (verified) delivery body.
///
/// # Errors
/// [`Error::WebhookVerification`] with [`WebhookFailure::Malformed`] naming the JSON path
/// when the body is not the documented envelope, or a known event lacks its new state.
pub fn parse_event(body: &[u8]) -> Result<WebhookEvent> {
    let value: Value = serde_json::from_slice(body).map_err(|e| malformed(".", e))?;
    let envelope: RawEnvelope = decode(value, "")?;
    let id = match envelope.id {
        Value::String(id) if !id.trim().is_empty() => id,
        Value::Number(id) => id.to_string(),
        _ => return Err(malformed("id", "the envelope id is missing or empty")),
    };
    let event = match envelope.event_type.as_str() {
        UNIFIED_STATE_CHANGED => {
            let raw: RawUnifiedEvent = decode(envelope.event, "event.")?;
            AgentEvent::UnifiedStateChanged {
                previous: raw.previous_unified_state,
                new: raw.new_unified_state,
                updated_at: raw.updated_at,
            }
        }
        STATE_CHANGED => {
            let raw: RawStateEvent = decode(envelope.event, "event.")?;
            AgentEvent::StateChanged {
                channel: raw.channel,
                previous_state: raw.previous_state,
                new_state: raw.new_state,
                updated_at: raw.updated_at,
            }
        }
        _ => AgentEvent::Other { event_type: envelope.event_type.clone(), event: envelope.event },
    };
    let time = envelope
        .time
        .as_deref()
        .and_then(|time| DateTime::parse_from_rfc3339(time).ok())
        .map(|time| time.with_timezone(&Utc));
    Ok(WebhookEvent {
        id,
        event_type: envelope.event_type,
        account_id: envelope.account_id.or(envelope.detail.account_id),
        agent_id: envelope.detail.agent_id,
        version: envelope.detail.version,
        time,
        event,
    })
}
