//! Usedesk's outbound webhooks: verification and parsing.
//!
//! The API channel's "Redirect URL" receives a POST for every tracked ticket and chat
//! event. Usedesk signs nothing: every payload carries a `secret` field, which
//! [`UsedeskWebhookVerifier`] compares with the configured secret in constant time. The
//! two kinds carry different secrets (documented): **ticket** events carry the API
//! channel's token ("app secret key"), **chat** events (those with a `chat_id`) carry the
//! channel's **application id** ("app ID"). Each kind is checked against its own secret
//! ([`UsedeskWebhookVerifier::with_chat_secret`]); without a configured application id, a
//! chat delivery is accepted only if it carries the token (the behaviour of earlier
//! releases), which real chat deliveries will not. The application id is shown in the
//! Usedesk UI to anyone who can see the channel page, so it is a weaker secret than the
//! token: treat chat deliveries as hints and confirm them through the API where it matters.
//! Payloads carry no timestamp, so no replay window can be enforced (and no clock is
//! needed); receivers deduplicate by the ids inside the event.
//!
//! Turn on the channel's "JSON request" option: form-encoded deliveries are refused as
//! malformed. The payload variants follow a third-party client (UNCONFIRMED in Usedesk's
//! docs) and are read tolerantly: unknown fields are kept in each variant's `raw` value,
//! and a payload matching no known variant is [`UsedeskWebhookEvent::Unknown`].
//!
//! ```
//! use deskbridge::usedesk::{UsedeskWebhookEvent, UsedeskWebhookVerifier};
//! let verifier = UsedeskWebhookVerifier::new("channel-secret").unwrap();
//! let body = br#"{"secret":"channel-secret","comment":{"id":5,"ticket_id":9,"message":"hi","from":"client"}}"#;
//! match verifier.verify(body).unwrap() {
//!     UsedeskWebhookEvent::NewComment(event) => assert_eq!(event.ticket_id.as_deref(), Some("9")),
//!     other => panic!("unexpected {other:?}"),
//! }
//! assert!(verifier.verify(br#"{"secret":"guess","ticket":{"id":1}}"#).is_err());
//! ```

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::model::{TicketStatus, opt_id, opt_status, opt_text};
use crate::error::WebhookFailure;
use crate::http::auth::REDACTED;
use crate::{Error, Result};

use super::PROVIDER;

fn failure(failure: WebhookFailure) -> Error {
    Error::WebhookVerification { provider: PROVIDER, failure }
}

/// Checks the `secret` field of Usedesk webhook deliveries.
#[derive(Clone)]
pub struct UsedeskWebhookVerifier {
    secret: SecretString,
    chat_secret: Option<SecretString>,
}

impl fmt::Debug for UsedeskWebhookVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UsedeskWebhookVerifier")
            .field("secret", &REDACTED)
            .field("chat_secret", &self.chat_secret.as_ref().map(|_| REDACTED))
            .finish()
    }
}

/// Constant-time equality of two secrets (digests compared, so neither content nor length
/// leaks through timing). An empty expected secret never matches.
fn same_secret(given: &str, expected: &str) -> bool {
    let same: bool = Sha256::digest(given.as_bytes()).ct_eq(&Sha256::digest(expected.as_bytes())).into();
    !expected.is_empty() && same
}

impl UsedeskWebhookVerifier {
    /// A verifier for the API channel's secret.
    ///
    /// # Errors
    /// [`Error::Config`] when the secret is empty or blank (it would accept forgeries).
    pub fn new(secret: impl Into<SecretString>) -> Result<Self> {
        let secret: SecretString = secret.into();
        if secret.expose_secret().trim().is_empty() {
            return Err(Error::config("usedesk: the webhook (API channel) secret is empty"));
        }
        Ok(Self { secret, chat_secret: None })
    }

    /// Check chat deliveries (payloads with a `chat_id`) against the API channel's
    /// application id ("app ID" on the channel page), which Usedesk documents as their
    /// `secret`; ticket deliveries keep using the token given to [`Self::new`].
    ///
    /// # Errors
    /// [`Error::Config`] when the application id is empty or blank.
    pub fn with_chat_secret(mut self, application_id: impl Into<SecretString>) -> Result<Self> {
        let application_id: SecretString = application_id.into();
        if application_id.expose_secret().trim().is_empty() {
            return Err(Error::config(
                "usedesk: the chat webhook secret (the API channel's application id) is empty",
            ));
        }
        self.chat_secret = Some(application_id);
        Ok(self)
    }

    /// Verify a raw delivery body and parse it: a chat delivery (top-level `chat_id`)
    /// against the chat secret when one is configured, anything else against the token.
    ///
    /// # Errors
    /// [`Error::WebhookVerification`] with [`WebhookFailure::Malformed`] when the body is
    /// not a JSON object, [`WebhookFailure::Missing`] when it has no string `secret`, and
    /// [`WebhookFailure::BadSignature`] when the secret differs (or the configured secret
    /// is empty: an empty secret never verifies).
    pub fn verify(&self, body: &[u8]) -> Result<UsedeskWebhookEvent> {
        let value: Value = serde_json::from_slice(body).map_err(|e| {
            failure(WebhookFailure::Malformed(format!(
                "body is not JSON ({e}); enable the channel's \"JSON request\" option"
            )))
        })?;
        let Value::Object(map) = value else {
            return Err(failure(WebhookFailure::Malformed("body is not a JSON object".into())));
        };
        let Some(Value::String(given)) = map.get("secret") else {
            return Err(failure(WebhookFailure::Missing("`secret` field".into())));
        };
        let is_chat = map.get("chat_id").is_some_and(|v| !v.is_null());
        let expected = match (&self.chat_secret, is_chat) {
            (Some(chat_secret), true) => chat_secret,
            _ => &self.secret,
        };
        if !same_secret(given, expected.expose_secret()) {
            return Err(failure(WebhookFailure::BadSignature));
        }
        Ok(UsedeskWebhookEvent::from_object(map))
    }
}

/// A verified webhook delivery.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum UsedeskWebhookEvent {
    /// A new ticket (`ticket`, `client`, `custom_fields`).
    NewTicket(NewTicketEvent),
    /// A new comment (`comment`, `client`, `assignee_id`).
    NewComment(NewCommentEvent),
    /// A ticket changed, reported by a trigger (`trigger`).
    TicketUpdate(TicketUpdateEvent),
    /// A customer-satisfaction rating (`csi`).
    Rating(Value),
    /// A chat event (`chat_id`, `text`, `from`, `platform`, `state`).
    Chat(ChatEvent),
    /// A payload matching no known variant (the secret was valid), `secret` removed.
    Unknown(Value),
}

/// A new ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTicketEvent {
    /// Ticket id.
    pub ticket_id: Option<String>,
    /// Status.
    pub status: Option<TicketStatus>,
    /// Subject.
    pub subject: Option<String>,
    /// Channel id.
    pub channel_id: Option<String>,
    /// The `additional_id` given on create, when present.
    pub additional_id: Option<String>,
    /// Client id (from `client.id`, else `ticket.client_id`).
    pub client_id: Option<String>,
    /// The whole payload, `secret` removed.
    pub raw: Value,
}

/// A new comment.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCommentEvent {
    /// Comment id.
    pub comment_id: Option<String>,
    /// Ticket id.
    pub ticket_id: Option<String>,
    /// Message (HTML).
    pub message: Option<String>,
    /// `user`, `client` or `trigger`.
    pub from: Option<String>,
    /// `public` or `private`.
    pub kind: Option<String>,
    /// The ticket's assignee.
    pub assignee_id: Option<String>,
    /// The whole payload, `secret` removed.
    pub raw: Value,
}

/// A ticket update reported by a trigger.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketUpdateEvent {
    /// Trigger id.
    pub trigger_id: Option<String>,
    /// Ticket id.
    pub ticket_id: Option<String>,
    /// Status before.
    pub old_status: Option<TicketStatus>,
    /// Status after.
    pub new_status: Option<TicketStatus>,
    /// The whole payload, `secret` removed.
    pub raw: Value,
}

/// A chat event.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatEvent {
    /// Chat id.
    pub chat_id: Option<String>,
    /// The ticket behind the chat (`ticket.id`).
    pub ticket_id: Option<String>,
    /// Message text.
    pub text: Option<String>,
    /// `user` or `client`.
    pub from: Option<String>,
    /// Platform (`telegram`, `widget`, …).
    pub platform: Option<String>,
    /// `new`, `reopened`, `closed`, or absent.
    pub state: Option<String>,
    /// The whole payload, `secret` removed.
    pub raw: Value,
}

/// Read one tolerant field with the model's readers; a value of the wrong type is absent.
fn text(object: Option<&Value>, key: &str) -> Option<String> {
    object.and_then(|o| o.get(key)).and_then(|v| opt_text(v.clone()).ok().flatten())
}

fn id_of(object: Option<&Value>, key: &str) -> Option<String> {
    object.and_then(|o| o.get(key)).and_then(|v| opt_id(v.clone()).ok().flatten())
}

fn status_of(object: Option<&Value>, key: &str) -> Option<TicketStatus> {
    object.and_then(|o| o.get(key)).and_then(|v| opt_status(v.clone()).ok().flatten())
}

impl UsedeskWebhookEvent {
    /// Classify a payload (already verified), in the order a chat payload needs: `chat_id`
    /// first (chats also carry `ticket`), then `trigger`, `comment`, `csi`, `ticket`.
    fn from_object(mut map: Map<String, Value>) -> Self {
        map.remove("secret");
        let raw = Value::Object(map);
        let top = Some(&raw);
        let get = |key: &str| raw.get(key).filter(|v| !v.is_null());
        if get("chat_id").is_some() {
            return Self::Chat(ChatEvent {
                chat_id: id_of(top, "chat_id"),
                ticket_id: id_of(get("ticket"), "id"),
                text: text(top, "text"),
                from: text(top, "from"),
                platform: text(top, "platform"),
                state: text(top, "state"),
                raw: raw.clone(),
            });
        }
        if let Some(trigger) = get("trigger") {
            return Self::TicketUpdate(TicketUpdateEvent {
                trigger_id: id_of(Some(trigger), "id"),
                ticket_id: id_of(Some(trigger), "ticket_id"),
                old_status: status_of(Some(trigger), "old_status"),
                new_status: status_of(Some(trigger), "new_status"),
                raw: raw.clone(),
            });
        }
        if let Some(comment) = get("comment") {
            return Self::NewComment(NewCommentEvent {
                comment_id: id_of(Some(comment), "id"),
                ticket_id: id_of(Some(comment), "ticket_id"),
                message: text(Some(comment), "message"),
                from: text(Some(comment), "from"),
                kind: text(Some(comment), "type"),
                assignee_id: id_of(top, "assignee_id"),
                raw: raw.clone(),
            });
        }
        if let Some(csi) = get("csi") {
            return Self::Rating(csi.clone());
        }
        if let Some(ticket) = get("ticket") {
            return Self::NewTicket(NewTicketEvent {
                ticket_id: id_of(Some(ticket), "id"),
                status: status_of(Some(ticket), "status_id"),
                subject: text(Some(ticket), "subject"),
                channel_id: id_of(Some(ticket), "channel_id"),
                additional_id: text(Some(ticket), "additional_id"),
                client_id: id_of(get("client"), "id").or_else(|| id_of(Some(ticket), "client_id")),
                raw: raw.clone(),
            });
        }
        Self::Unknown(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verifier() -> UsedeskWebhookVerifier {
        UsedeskWebhookVerifier::new("s3cret").unwrap()
    }

    #[test]
    fn variants_are_told_apart() {
        let v = verifier();
        let chat = v
            .verify(br#"{"secret":"s3cret","chat_id":"77","text":"hi","from":"client","platform":"widget","state":"new","ticket":{"id":9}}"#)
            .unwrap();
        assert!(
            matches!(&chat, UsedeskWebhookEvent::Chat(c) if c.chat_id.as_deref() == Some("77") && c.ticket_id.as_deref() == Some("9") && c.state.as_deref() == Some("new"))
        );
        let trigger = v
            .verify(
                br#"{"secret":"s3cret","trigger":{"id":1,"ticket_id":"9","old_status":8,"new_status":"3"}}"#,
            )
            .unwrap();
        assert!(
            matches!(&trigger, UsedeskWebhookEvent::TicketUpdate(t) if t.new_status == Some(TicketStatus::Closed) && t.old_status == Some(TicketStatus::New))
        );
        let ticket = v
            .verify(br#"{"secret":"s3cret","ticket":{"id":"9","status_id":8,"additional_id":"x-dm-1","client_id":4},"client":null}"#)
            .unwrap();
        assert!(
            matches!(&ticket, UsedeskWebhookEvent::NewTicket(t) if t.client_id.as_deref() == Some("4") && t.additional_id.as_deref() == Some("x-dm-1"))
        );
        let csi = v.verify(br#"{"secret":"s3cret","csi":{"rating":5}}"#).unwrap();
        assert!(matches!(csi, UsedeskWebhookEvent::Rating(_)));
        let unknown = v.verify(br#"{"secret":"s3cret","something":1}"#).unwrap();
        assert_eq!(unknown, UsedeskWebhookEvent::Unknown(serde_json::json!({"something": 1})));
    }

    #[test]
    fn bad_secrets_and_bodies_are_refused() {
        let v = verifier();
        let reason = |body: &[u8]| match v.verify(body) {
            Err(Error::WebhookVerification { failure, .. }) => failure,
            other => panic!("{other:?}"),
        };
        assert_eq!(reason(br#"{"secret":"s3cre","ticket":{}}"#), WebhookFailure::BadSignature);
        assert!(matches!(reason(br#"{"ticket":{}}"#), WebhookFailure::Missing(_)));
        assert!(matches!(reason(b"secret=s3cret&ticket[id]=1"), WebhookFailure::Malformed(_)));
        assert!(matches!(reason(b"[1]"), WebhookFailure::Malformed(_)));
        assert!(matches!(UsedeskWebhookVerifier::new(" "), Err(Error::Config(_))));
        assert!(!format!("{v:?}").contains("s3cret"));
    }
}
