//! Webhook set-up: find or create the Aircall webhook a bridge needs, and get its token.
//!
//! Aircall signs nothing: each delivery carries the webhook's `token` in its body, and
//! the token is returned only by the API (`POST /v1/webhooks`, `GET /v1/webhooks`);
//! public integration guides report that the Dashboard does not show it. So a bridge
//! creates its webhook through the API and stores the token it gets back:
//! [`AircallClient::ensure_webhook`] is idempotent (an existing webhook on the same URL is
//! reused, never duplicated).
//!
//! | call | method and path |
//! |---|---|
//! | [`AircallClient::webhooks`] | `GET /v1/webhooks` (pages of `webhooks[]`) |
//! | [`AircallClient::create_webhook`] | `POST /v1/webhooks` `{"custom_name", "url", "events"}` → `201 {"webhook": {…, "token"}}` |
//!
//! The shapes follow a third-party guide quoting Aircall's reference (UNCONFIRMED in
//! Aircall's own pages): fields are read tolerantly and a webhook without a token is
//! reported, never guessed.

use futures_util::Stream;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::client::AircallClient;
use super::model::{PageMeta, PagedEnvelope};
use crate::http::{ApiRequest, collect_all};
use crate::{Error, Result};

/// The user events a status bridge listens to (`user.*.v2`: Aircall marks the V1 user
/// events for deprecation).
pub const BRIDGE_EVENTS: [&str; 6] = [
    "user.opened.v2",
    "user.closed.v2",
    "user.connected.v2",
    "user.disconnected.v2",
    "user.wut_start.v2",
    "user.wut_end.v2",
];

/// An Aircall webhook as the API shows it. The token is a secret: it is redacted from
/// `Debug`.
#[derive(Clone, Deserialize)]
pub struct AircallWebhook {
    /// `webhook_id` (a UUID).
    #[serde(default, alias = "id", deserialize_with = "string_or_number")]
    pub webhook_id: String,
    /// The delivery URL.
    #[serde(default)]
    pub url: String,
    /// `custom_name`.
    #[serde(default)]
    pub custom_name: Option<String>,
    /// Whether Aircall delivers to it (it disables webhooks that keep failing).
    #[serde(default)]
    pub active: Option<bool>,
    /// Subscribed events (empty: all events).
    #[serde(default)]
    pub events: Vec<String>,
    /// The token every delivery carries, when the answer includes it.
    #[serde(default, deserialize_with = "secret_opt")]
    pub token: Option<SecretString>,
}

impl std::fmt::Debug for AircallWebhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AircallWebhook")
            .field("webhook_id", &self.webhook_id)
            .field("url", &self.url)
            .field("custom_name", &self.custom_name)
            .field("active", &self.active)
            .field("events", &self.events)
            .field("token", &self.token.as_ref().map(|_| crate::http::auth::REDACTED))
            .finish()
    }
}

fn string_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<String, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(text) => text,
        serde_json::Value::Number(number) => number.to_string(),
        _ => String::new(),
    })
}

fn secret_opt<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Option<SecretString>, D::Error> {
    let value: Option<String> = Option::deserialize(d)?;
    Ok(value.filter(|v| !v.trim().is_empty()).map(SecretString::from))
}

/// `GET /v1/webhooks` answer.
#[derive(Debug, Deserialize)]
struct WebhooksPage {
    #[serde(default)]
    webhooks: Vec<AircallWebhook>,
    #[serde(default)]
    meta: PageMeta,
}

impl PagedEnvelope for WebhooksPage {
    type Item = AircallWebhook;
    fn into_parts(self) -> (Vec<AircallWebhook>, PageMeta) {
        (self.webhooks, self.meta)
    }
}

#[derive(Deserialize)]
struct WebhookEnvelope {
    webhook: AircallWebhook,
}

#[derive(Serialize)]
struct CreateWebhook<'a> {
    custom_name: &'a str,
    url: &'a str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    events: &'a [String],
}

/// What [`AircallClient::ensure_webhook`] did.
#[derive(Debug, Clone)]
pub struct EnsuredWebhook {
    /// The webhook (its token is what the bridge's verifier needs).
    pub webhook: AircallWebhook,
    /// Whether it was created now (`false`: an existing one on the same URL was found).
    pub created: bool,
}

fn same_url(a: &str, b: &str) -> bool {
    a.trim_end_matches('/').eq_ignore_ascii_case(b.trim_end_matches('/'))
}

impl AircallClient {
    /// Every webhook of the company (`GET /v1/webhooks`, all pages), lazily.
    pub fn webhooks(&self) -> impl Stream<Item = Result<AircallWebhook>> + Send + 'static {
        self.paged::<WebhooksPage>("/v1/webhooks")
    }

    /// `POST /v1/webhooks`: create a webhook delivering `events` (all events when empty)
    /// to `url` (Aircall requires https). Not retried after a possible write.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an empty URL or name; [`Error::Api`] when Aircall
    /// refuses (400: bad URL or events, or more than 100 webhooks).
    pub async fn create_webhook(
        &self,
        custom_name: &str,
        url: &str,
        events: &[String],
    ) -> Result<AircallWebhook> {
        if url.trim().is_empty() || custom_name.trim().is_empty() {
            return Err(Error::invalid("aircall webhook", "the name and the URL must not be empty"));
        }
        let request = ApiRequest::post("/v1/webhooks").json(&CreateWebhook { custom_name, url, events })?;
        Ok(self.api().send_json::<WebhookEnvelope>(request).await?.webhook)
    }

    /// Find the webhook delivering to `url`, or create it (idempotent: run it at every
    /// start). An existing webhook is returned as it is (its events are not changed).
    ///
    /// # Errors
    /// As [`AircallClient::webhooks`] and [`AircallClient::create_webhook`];
    /// [`Error::Decode`] when the webhook comes back without a token (the bridge could
    /// not verify deliveries: recreate it).
    pub async fn ensure_webhook(
        &self,
        custom_name: &str,
        url: &str,
        events: &[String],
    ) -> Result<EnsuredWebhook> {
        let existing = collect_all(self.webhooks()).await?;
        let (webhook, created) = match existing.into_iter().find(|w| same_url(&w.url, url)) {
            Some(found) => (found, false),
            None => (self.create_webhook(custom_name, url, events).await?, true),
        };
        if webhook.token.is_none() {
            return Err(Error::Decode {
                provider: super::client::PROVIDER,
                context: "GET /v1/webhooks".into(),
                json_path: "webhook.token".into(),
                message: format!(
                    "webhook {} has no token in the answer; delete it and run the set-up again",
                    webhook.webhook_id
                ),
            });
        }
        Ok(EnsuredWebhook { webhook, created })
    }
}
