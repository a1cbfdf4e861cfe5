//! Webhook set-up: find or create the Zendesk webhook subscribed to agent-status events,
//! and read its signing secret.
//!
//! | call | method and path |
//! |---|---|
//! | [`ZendeskClient::webhooks`] | `GET /api/v2/webhooks` (cursor pages of `webhooks[]`) |
//! | [`ZendeskClient::create_webhook`] | `POST /api/v2/webhooks` `{"webhook": {name, status, endpoint, http_method, request_format, subscriptions}}` |
//! | [`ZendeskClient::webhook_signing_secret`] | `GET /api/v2/webhooks/{id}/signing_secret` |
//!
//! Agent events (`zen:event-type:agent.*`) reach a webhook only through an **event
//! subscription** (documented: such webhooks must be `POST` with JSON, and a webhook is
//! either event-subscribed or connected to triggers, never both). No trigger is needed
//! for agent status. [`ZendeskClient::ensure_status_webhook`] is idempotent: a webhook on
//! the same endpoint is reused, and one missing a needed subscription is reported (not
//! silently changed). Needs an admin's credentials.

use futures_util::Stream;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::json;

use super::client::{PROVIDER, ZendeskClient};
use super::model::{CursorLinks, CursorMeta};
use super::webhook::{STATE_CHANGED, UNIFIED_STATE_CHANGED};
use crate::http::{ApiRequest, collect_all};
use crate::{Error, Result};

/// The event subscriptions a status bridge needs: unified status changes (omnichannel
/// routing on) and per-channel state changes (Talk, routing off).
pub const STATUS_SUBSCRIPTIONS: [&str; 2] = [UNIFIED_STATE_CHANGED, STATE_CHANGED];

/// A Zendesk webhook as the API shows it.
#[derive(Debug, Clone, Deserialize)]
pub struct ZendeskWebhook {
    /// Webhook id (a string such as `01GX…`).
    #[serde(default)]
    pub id: String,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// `active` or `inactive`.
    #[serde(default)]
    pub status: Option<String>,
    /// The delivery URL.
    #[serde(default)]
    pub endpoint: String,
    /// `POST`, `GET`, …
    #[serde(default)]
    pub http_method: Option<String>,
    /// `json`, `xml`, `form_encoded`.
    #[serde(default)]
    pub request_format: Option<String>,
    /// Event subscriptions (`zen:event-type:…`); `conditional_ticket_events` marks a
    /// trigger-connected webhook.
    #[serde(default)]
    pub subscriptions: Vec<String>,
}

#[derive(Deserialize)]
struct WebhooksPage {
    #[serde(default)]
    webhooks: Vec<ZendeskWebhook>,
    #[serde(default)]
    meta: Option<CursorMeta>,
    #[serde(default)]
    links: Option<CursorLinks>,
}

#[derive(Deserialize)]
struct WebhookEnvelope {
    webhook: ZendeskWebhook,
}

#[derive(Deserialize)]
struct SigningSecretEnvelope {
    signing_secret: SigningSecret,
}

#[derive(Deserialize)]
struct SigningSecret {
    #[serde(default)]
    secret: Option<String>,
}

/// What [`ZendeskClient::ensure_status_webhook`] did.
#[derive(Debug, Clone)]
pub struct EnsuredZendeskWebhook {
    /// The webhook.
    pub webhook: ZendeskWebhook,
    /// Whether it was created now.
    pub created: bool,
    /// Its signing secret (for [`super::webhook::WebhookVerifier`]).
    pub signing_secret: SecretString,
}

fn same_url(a: &str, b: &str) -> bool {
    a.trim_end_matches('/').eq_ignore_ascii_case(b.trim_end_matches('/'))
}

impl ZendeskClient {
    /// Every webhook of the account (`GET /api/v2/webhooks`), lazily.
    pub fn webhooks(&self) -> impl Stream<Item = Result<ZendeskWebhook>> + Send + 'static {
        self.cursor_list("/api/v2/webhooks", Vec::new(), |page: WebhooksPage| {
            (page.webhooks, page.meta, page.links)
        })
    }

    /// `POST /api/v2/webhooks`: an active JSON `POST` webhook named `name` delivering
    /// `subscriptions` to `endpoint`. Not retried after a possible write.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an empty name, endpoint or subscription list;
    /// [`Error::Api`] when Zendesk refuses.
    pub async fn create_webhook(
        &self,
        name: &str,
        endpoint: &str,
        subscriptions: &[&str],
    ) -> Result<ZendeskWebhook> {
        if name.trim().is_empty() || endpoint.trim().is_empty() || subscriptions.is_empty() {
            return Err(Error::invalid(
                "zendesk webhook",
                "name, endpoint and subscriptions must not be empty",
            ));
        }
        let request = ApiRequest::post("/api/v2/webhooks").json(&json!({ "webhook": {
            "name": name,
            "status": "active",
            "endpoint": endpoint,
            "http_method": "POST",
            "request_format": "json",
            "subscriptions": subscriptions,
        }}))?;
        Ok(self.api().send_json::<WebhookEnvelope>(request).await?.webhook)
    }

    /// `GET /api/v2/webhooks/{id}/signing_secret`: the secret that signs deliveries.
    ///
    /// # Errors
    /// [`Error::Api`]; [`Error::Decode`] when the answer carries no secret.
    pub async fn webhook_signing_secret(&self, webhook_id: &str) -> Result<SecretString> {
        let request = ApiRequest::get("/api/v2/webhooks/{webhook_id}/signing_secret")
            .param("webhook_id", webhook_id)?;
        let answer: SigningSecretEnvelope = self.api().send_json(request).await?;
        answer.signing_secret.secret.filter(|s| !s.is_empty()).map(SecretString::from).ok_or_else(|| {
            Error::Decode {
                provider: PROVIDER,
                context: "GET /api/v2/webhooks/{webhook_id}/signing_secret".into(),
                json_path: "signing_secret.secret".into(),
                message: "no secret in the answer".into(),
            }
        })
    }

    /// Find the webhook delivering to `endpoint`, or create it subscribed to
    /// [`STATUS_SUBSCRIPTIONS`]; then read its signing secret. Idempotent.
    ///
    /// # Errors
    /// As the calls above; [`Error::Config`] when a webhook on `endpoint` exists but
    /// lacks a needed subscription or is connected to triggers (Zendesk cannot turn one
    /// kind into the other: delete it or use another endpoint).
    pub async fn ensure_status_webhook(&self, name: &str, endpoint: &str) -> Result<EnsuredZendeskWebhook> {
        let existing = collect_all(self.webhooks()).await?;
        let (webhook, created) = match existing.into_iter().find(|w| same_url(&w.endpoint, endpoint)) {
            Some(found) => {
                let missing: Vec<&str> = STATUS_SUBSCRIPTIONS
                    .iter()
                    .copied()
                    .filter(|needed| !found.subscriptions.iter().any(|s| s == needed))
                    .collect();
                if !missing.is_empty() {
                    return Err(Error::config(format!(
                        "zendesk: webhook {} on {endpoint} is not subscribed to {}; delete it or choose another endpoint",
                        found.id,
                        missing.join(", ")
                    )));
                }
                (found, false)
            }
            None => (self.create_webhook(name, endpoint, &STATUS_SUBSCRIPTIONS).await?, true),
        };
        let signing_secret = self.webhook_signing_secret(&webhook.id).await?;
        Ok(EnsuredZendeskWebhook { webhook, created, signing_secret })
    }
}
