//! Aircall webhooks: verification of the body `token`, parsing of the envelope, user events.
//!
//! Aircall signs nothing. Every delivery is a JSON envelope
//! `{resource, event, timestamp, token, data}` whose `token` equals the webhook's token
//! (returned when the webhook is created through `POST /v1/webhooks`; the Dashboard does not
//! show it). [`WebhookVerifier::verify`] compares it with the configured token in constant
//! time (over SHA-256 digests, so neither content nor length leaks) before anything else
//! of the body is trusted, then parses the envelope.
//!
//! # Delivery facts that shape a receiver
//!
//! - **No replay protection** in the protocol, and delivery is at-least-once and unordered:
//!   Aircall retries failed deliveries for up to 12 hours. Deduplicate with
//!   [`WebhookEvent::idempotency_key`]. An optional freshness window
//!   ([`WebhookVerifier::with_max_age`]) exists but is off by default, because a window
//!   shorter than 12 h rejects legitimate retries.
//! - Answer 2xx within 5 s; queue the work.
//! - **`user.closed` may arrive twice** when unavailability reasons are enabled: first with
//!   only `availability_status`, then again with the chosen `substatus`. They are two
//!   updates, not duplicates; the idempotency key tells them apart by the substatus.
//! - **What `opened`/`closed` and `connected`/`disconnected` mean is UNCONFIRMED.** One
//!   source (hookdeck, quoting Aircall) says `user.opened` / `user.closed` fire when the
//!   user becomes available / unavailable and `user.connected` / `user.disconnected` when
//!   they open / close the Aircall Workspace; another (an AsyncAPI file) says the reverse
//!   kind of thing ("came online", "opened the phone app"). deskbridge therefore never
//!   derives a status from the event *name*: it reads `availability_status` from the user
//!   object in `data` when it is there, and otherwise asks for a re-read of the user
//!   ([`UserObservation::NeedsRead`]). No event specific to a change to `custom` is known.
//! - V1 user events are to be deprecated; V2 (`user.closed.v2`) leaves `numbers` out of
//!   `data`. Both are parsed. Unknown events (calls, contacts, numbers, future families)
//!   parse into [`WebhookEventKind::Other`], never into an error.
//!
//! ```
//! use chrono::Utc;
//! use deskbridge::aircall::{UserObservation, WebhookVerifier};
//!
//! let verifier = WebhookVerifier::new("webhook-token")?;
//! let body = br#"{"resource":"user","event":"user.closed.v2","timestamp":1700000000,
//!     "token":"webhook-token","data":{"id":42,"availability_status":"unavailable"}}"#;
//! let event = verifier.verify(body, Utc::now())?;
//! assert_eq!(event.idempotency_key(), "user.closed.v2/42/1700000000");
//! match event.user_observation() {
//!     Some(UserObservation::Status { user_id, status, .. }) => {
//!         assert_eq!((user_id, status.as_str()), (42, "unavailable"));
//!     }
//!     other => panic!("unexpected {other:?}"),
//! }
//! # Ok::<(), deskbridge::Error>(())
//! ```

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use serde_json::Value;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::client::PROVIDER;
use super::model::{Substatus, User};
use crate::error::WebhookFailure;
use crate::status::NativeStatus;
use crate::{Error, Result};

/// Which generation of user events a delivery belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventVersion {
    /// `user.closed` (to be deprecated by Aircall).
    V1,
    /// `user.closed.v2` (`data` without `numbers`).
    V2,
}

/// What happened to a user. Meanings of opened/closed versus connected/disconnected are
/// UNCONFIRMED (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UserEventKind {
    /// `user.created`: the user was invited / provisioned.
    Created,
    /// `user.deleted`: the user was deleted.
    Deleted,
    /// `user.connected`: per hookdeck, opened the Aircall Workspace (logged in).
    Connected,
    /// `user.disconnected`: per hookdeck, closed the Aircall Workspace (logged out).
    Disconnected,
    /// `user.opened`: per hookdeck, became available.
    Opened,
    /// `user.closed`: per hookdeck, became unavailable; may arrive twice (status, then
    /// substatus).
    Closed,
    /// `user.wut_start`: wrap-up time started (skipped when wrap-up time is 0).
    WrapUpStarted,
    /// `user.wut_end`: wrap-up time ended.
    WrapUpEnded,
}

impl UserEventKind {
    /// Every kind.
    pub const ALL: [UserEventKind; 8] = [
        Self::Created,
        Self::Deleted,
        Self::Connected,
        Self::Disconnected,
        Self::Opened,
        Self::Closed,
        Self::WrapUpStarted,
        Self::WrapUpEnded,
    ];

    /// The V1 event name (`user.closed`); V2 appends `.v2`.
    pub fn v1_name(self) -> &'static str {
        match self {
            Self::Created => "user.created",
            Self::Deleted => "user.deleted",
            Self::Connected => "user.connected",
            Self::Disconnected => "user.disconnected",
            Self::Opened => "user.opened",
            Self::Closed => "user.closed",
            Self::WrapUpStarted => "user.wut_start",
            Self::WrapUpEnded => "user.wut_end",
        }
    }

    /// Read an event name: `Some((kind, version))` for a known user event.
    pub fn parse(event: &str) -> Option<(Self, EventVersion)> {
        let (base, version) = match event.strip_suffix(".v2") {
            Some(base) => (base, EventVersion::V2),
            None => (event, EventVersion::V1),
        };
        Self::ALL.into_iter().find(|kind| kind.v1_name() == base).map(|kind| (kind, version))
    }
}

/// A user event: its kind, version and the user object Aircall sent in `data`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserEvent {
    /// What happened.
    pub kind: UserEventKind,
    /// V1 or V2.
    pub version: EventVersion,
    /// The user as sent (may or may not carry `availability_status`).
    pub user: User,
}

/// What a verified delivery is about.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum WebhookEventKind {
    /// One of the known `user.*` events.
    User(UserEvent),
    /// Any other event (calls, numbers, contacts, `integration.deleted`, unknown user
    /// events), with `data` as sent.
    Other {
        /// The `data` object, untouched.
        data: Value,
    },
}

/// A verified, parsed delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookEvent {
    /// The event name exactly as sent (`user.closed.v2`).
    pub event: String,
    /// The `resource` (`user`, `call`, …), when sent.
    pub resource: Option<String>,
    /// The envelope `timestamp` (UNIX seconds) as a time.
    pub occurred_at: DateTime<Utc>,
    /// `data.id` as text, when `data` has an id.
    pub data_id: Option<String>,
    /// The typed content.
    pub kind: WebhookEventKind,
    /// `data.substatus` when present and not null (distinguishes the two `user.closed`).
    substatus: Option<String>,
}

impl WebhookEvent {
    /// A key that is equal for redeliveries of the same event and different for distinct
    /// events: `{event}/{data.id}/{timestamp}`, with `/{substatus}` appended when `data`
    /// carries one, because `user.closed` is sent twice (status, then substatus) possibly
    /// within the same second. A missing `data.id` is written `-`.
    pub fn idempotency_key(&self) -> String {
        let id = self.data_id.as_deref().unwrap_or("-");
        let mut key = format!("{}/{id}/{}", self.event, self.occurred_at.timestamp());
        if let Some(substatus) = &self.substatus {
            key.push('/');
            key.push_str(substatus);
        }
        key
    }

    /// The user event, when this is one.
    pub fn user_event(&self) -> Option<&UserEvent> {
        match &self.kind {
            WebhookEventKind::User(event) => Some(event),
            WebhookEventKind::Other { .. } => None,
        }
    }

    /// What the sync engine learns from this delivery; `None` for non-user events.
    pub fn user_observation(&self) -> Option<UserObservation> {
        let event = self.user_event()?;
        let user_id = event.user.id;
        let at = self.occurred_at;
        Some(if event.kind == UserEventKind::Deleted {
            UserObservation::Deleted { user_id, at }
        } else {
            match &event.user.availability_status {
                Some(status) => UserObservation::Status {
                    user_id,
                    status: NativeStatus::new(status.as_str()),
                    substatus: event.user.substatus.clone(),
                    at,
                },
                None => UserObservation::NeedsRead { user_id, at },
            }
        })
    }
}

/// What a user event tells the sync engine about one Aircall user.
///
/// Webhooks carry no actor, so the origin of the change is unknown (echo suppression must
/// remember what deskbridge wrote).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UserObservation {
    /// The payload carries the user's `availability_status`, as Aircall spells it.
    Status {
        /// The user id.
        user_id: u64,
        /// The `availability_status` (e.g. `unavailable`), the value the Aircall status
        /// table maps.
        status: NativeStatus,
        /// The reason, when sent.
        substatus: Option<Substatus>,
        /// The envelope timestamp.
        at: DateTime<Utc>,
    },
    /// Something changed but the payload does not say the status: read the user
    /// (`GET /v1/users/{id}`) to learn it. The status is never guessed from the event
    /// name, whose meaning is UNCONFIRMED.
    NeedsRead {
        /// The user id.
        user_id: u64,
        /// The envelope timestamp.
        at: DateTime<Utc>,
    },
    /// The user was deleted.
    Deleted {
        /// The user id.
        user_id: u64,
        /// The envelope timestamp.
        at: DateTime<Utc>,
    },
}

impl UserObservation {
    /// The user id.
    pub fn user_id(&self) -> u64 {
        match self {
            Self::Status { user_id, .. }
            | Self::NeedsRead { user_id, .. }
            | Self::Deleted { user_id, .. } => *user_id,
        }
    }
}

/// Checks and parses Aircall webhook deliveries for one webhook token.
#[derive(Clone)]
pub struct WebhookVerifier {
    token_digest: [u8; 32],
    max_age: Option<Duration>,
}

impl fmt::Debug for WebhookVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookVerifier")
            .field("token", &crate::http::auth::REDACTED)
            .field("max_age", &self.max_age)
            .finish()
    }
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

fn rejected(failure: WebhookFailure) -> Error {
    Error::WebhookVerification { provider: PROVIDER, failure }
}

impl WebhookVerifier {
    /// A verifier for the webhook `token` (from `POST /v1/webhooks` or `GET /v1/webhooks/{id}`).
    ///
    /// # Errors
    /// [`Error::Config`] when the token is empty or blank (it would accept forgeries).
    pub fn new(token: impl Into<SecretString>) -> Result<Self> {
        let token: SecretString = token.into();
        if token.expose_secret().trim().is_empty() {
            return Err(Error::config("aircall: the webhook token is empty"));
        }
        Ok(Self { token_digest: digest(token.expose_secret().as_bytes()), max_age: None })
    }

    /// Reject deliveries whose `timestamp` is further than `max_age` from the receiver's
    /// clock ([`WebhookFailure::Stale`]). Off by default: Aircall retries for up to 12 h, so
    /// a shorter window drops legitimate retries.
    pub fn with_max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(max_age);
        self
    }

    /// Verify a delivery's raw body and parse it. `now` is the receiver's clock, used only
    /// with [`with_max_age`](Self::with_max_age).
    ///
    /// # Errors
    /// [`Error::WebhookVerification`] (provider `aircall`) with
    /// - [`WebhookFailure::Malformed`] when the body is not a JSON object, `token` is not a
    ///   string, or (after the token matched) the envelope is unreadable: the message names
    ///   the JSON path;
    /// - [`WebhookFailure::Missing`] when there is no `token`;
    /// - [`WebhookFailure::BadSignature`] when the token does not match;
    /// - [`WebhookFailure::Stale`] when outside the configured window.
    pub fn verify(&self, body: &[u8], now: DateTime<Utc>) -> Result<WebhookEvent> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| rejected(WebhookFailure::Malformed(format!("body is not JSON: {e}"))))?;
        let Value::Object(object) = &value else {
            return Err(rejected(WebhookFailure::Malformed("body is not a JSON object".into())));
        };
        let presented = match object.get("token") {
            None | Some(Value::Null) => {
                return Err(rejected(WebhookFailure::Missing("`token` field".into())));
            }
            Some(Value::String(token)) => token,
            Some(_) => return Err(rejected(WebhookFailure::Malformed("`token` is not a string".into()))),
        };
        if !self.token_matches(presented) {
            return Err(rejected(WebhookFailure::BadSignature));
        }
        let event = parse_envelope(value)?;
        if let Some(max_age) = self.max_age {
            let skew_seconds = now.signed_duration_since(event.occurred_at).num_seconds();
            if skew_seconds.unsigned_abs() > max_age.as_secs() {
                return Err(rejected(WebhookFailure::Stale { skew_seconds }));
            }
        }
        Ok(event)
    }

    /// Whether `presented` equals the configured token (constant time).
    pub fn token_matches(&self, presented: &str) -> bool {
        bool::from(digest(presented.as_bytes()).ct_eq(&self.token_digest))
    }
}

#[derive(Deserialize)]
struct RawEnvelope {
    #[serde(default)]
    resource: Option<String>,
    event: String,
    #[serde(deserialize_with = "de_timestamp")]
    timestamp: i64,
    #[serde(default)]
    data: Value,
}

fn malformed_at(error: serde_path_to_error::Error<serde_json::Error>) -> Error {
    let path = error.path().to_string();
    rejected(WebhookFailure::Malformed(format!("at `{path}`: {}", error.inner())))
}

/// Parse an envelope whose token was already checked.
fn parse_envelope(value: Value) -> Result<WebhookEvent> {
    let raw: RawEnvelope = serde_path_to_error::deserialize(value).map_err(malformed_at)?;
    let occurred_at = DateTime::from_timestamp(raw.timestamp, 0).ok_or_else(|| {
        rejected(WebhookFailure::Malformed(format!("at `timestamp`: {} is out of range", raw.timestamp)))
    })?;
    let data_id = match raw.data.get("id") {
        Some(Value::String(id)) => Some(id.clone()),
        Some(Value::Number(id)) => Some(id.to_string()),
        _ => None,
    };
    let substatus = raw.data.get("substatus").and_then(Value::as_str).map(str::to_owned);
    let kind = match UserEventKind::parse(&raw.event) {
        Some((kind, version)) => {
            let user: User = serde_path_to_error::deserialize(raw.data).map_err(|e| {
                let path = e.path().to_string();
                rejected(WebhookFailure::Malformed(format!("at `data.{path}`: {}", e.inner())))
            })?;
            WebhookEventKind::User(UserEvent { kind, version, user })
        }
        None => WebhookEventKind::Other { data: raw.data },
    };
    Ok(WebhookEvent { event: raw.event, resource: raw.resource, occurred_at, data_id, kind, substatus })
}

/// UNIX seconds: an integer, or a string of digits (defensive).
fn de_timestamp<'de, D: Deserializer<'de>>(deserializer: D) -> std::result::Result<i64, D::Error> {
    struct TimestampVisitor;

    impl Visitor<'_> for TimestampVisitor {
        type Value = i64;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("UNIX seconds (an integer or a string of digits)")
        }

        fn visit_i64<E: de::Error>(self, value: i64) -> std::result::Result<i64, E> {
            Ok(value)
        }

        fn visit_u64<E: de::Error>(self, value: u64) -> std::result::Result<i64, E> {
            i64::try_from(value).map_err(|_| E::invalid_value(de::Unexpected::Unsigned(value), &self))
        }

        fn visit_f64<E: de::Error>(self, value: f64) -> std::result::Result<i64, E> {
            if value.is_finite() && value.fract() == 0.0 && value.abs() < 1e15 {
                Ok(value as i64)
            } else {
                Err(E::invalid_value(de::Unexpected::Float(value), &self))
            }
        }

        fn visit_str<E: de::Error>(self, value: &str) -> std::result::Result<i64, E> {
            value.trim().parse().map_err(|_| E::invalid_value(de::Unexpected::Str(value), &self))
        }
    }

    deserializer.deserialize_any(TimestampVisitor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_names_parse_with_their_version() {
        assert_eq!(
            UserEventKind::parse("user.wut_start.v2"),
            Some((UserEventKind::WrapUpStarted, EventVersion::V2))
        );
        assert_eq!(UserEventKind::parse("user.opened"), Some((UserEventKind::Opened, EventVersion::V1)));
        assert_eq!(UserEventKind::parse("user.renamed.v2"), None);
        assert_eq!(UserEventKind::parse("call.created"), None);
    }

    #[test]
    fn empty_tokens_are_refused() {
        assert!(matches!(WebhookVerifier::new("  "), Err(Error::Config(_))));
    }
}
