//! Webhook set-up: register the bridge's webhook with X and subscribe our account to it.
//!
//! | call | method and path | authentication |
//! |---|---|---|
//! | [`XWebhookSetup::webhooks`] | `GET /2/webhooks` | the app's bearer token (app-only) |
//! | [`XWebhookSetup::register`] | `POST /2/webhooks` `{"url"}` | user context |
//! | [`XWebhookSetup::is_subscribed`] | `GET /2/account_activity/webhooks/{webhook_id}/subscriptions/all` | user context |
//! | [`XWebhookSetup::subscribe`] | `POST /2/account_activity/webhooks/{webhook_id}/subscriptions/all` `{}` | user context |
//!
//! The paths, bodies and authentication are those of X's OpenAPI documents (v2.159 and
//! v2.167 agree; checked by `tests/providers/conformance_x.rs`). When X registers a webhook it
//! sends a CRC challenge to the URL first, so the bridge's receiver must already be
//! answering it ([`super::webhook`]); the registration's `valid` flag reports the outcome.
//! Listing webhooks needs the app's bearer token; without it [`XWebhookSetup::ensure`]
//! cannot find an existing webhook and says so instead of registering a duplicate.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;

use super::{PROVIDER, XClient, XConfig};
use crate::http::{ApiClient, ApiRequest, Auth, RateLimitHeaders};
use crate::{Error, Result};

/// A webhook configuration registered with X.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct XWebhookConfig {
    /// Webhook id.
    #[serde(default)]
    pub id: String,
    /// Delivery URL.
    #[serde(default)]
    pub url: String,
    /// Whether X's CRC check of the URL passed.
    #[serde(default)]
    pub valid: Option<bool>,
    /// Creation time, as X writes it.
    #[serde(default)]
    pub created_at: Option<String>,
}

#[derive(Deserialize)]
struct One<T> {
    data: T,
}

#[derive(Deserialize)]
struct Many<T> {
    #[serde(default = "Vec::new")]
    data: Vec<T>,
}

#[derive(Deserialize)]
struct Subscribed {
    #[serde(default)]
    subscribed: bool,
}

/// What [`XWebhookSetup::ensure`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnsuredXWebhook {
    /// The webhook.
    pub webhook: XWebhookConfig,
    /// Whether it was registered now.
    pub created: bool,
    /// Whether our account was subscribed now (`false`: it already was).
    pub subscribed_now: bool,
}

/// Registers and subscribes the bridge's X webhook. Cheap to clone.
#[derive(Debug, Clone)]
pub struct XWebhookSetup {
    user: XClient,
    app: Option<ApiClient>,
}

fn same_url(a: &str, b: &str) -> bool {
    a.trim_end_matches('/').eq_ignore_ascii_case(b.trim_end_matches('/'))
}

impl XWebhookSetup {
    /// Set-up calls in our account's user context.
    pub fn new(user: XClient) -> Self {
        Self { user, app: None }
    }

    /// Also list webhooks with the app's bearer token (needed by [`Self::webhooks`] and
    /// so by [`Self::ensure`]), on `config`'s base URL.
    ///
    /// # Errors
    /// [`Error::Config`] for a blank token or an unusable HTTP client.
    pub fn with_app_bearer(
        mut self,
        config: &XConfig,
        app_bearer_token: impl Into<SecretString>,
    ) -> Result<Self> {
        let token: SecretString = app_bearer_token.into();
        if token.expose_secret().trim().is_empty() {
            return Err(Error::config("x: the app bearer token is empty"));
        }
        let api = config
            .client_options()
            .api_client_builder(PROVIDER, config.base_url())
            .auth(Auth::Bearer(token))
            .rate_limit_headers(RateLimitHeaders::x())
            .build()?;
        self.app = Some(api);
        Ok(self)
    }

    /// `GET /2/webhooks` (app-only authentication).
    ///
    /// # Errors
    /// [`Error::Config`] without an app bearer token; as [`ApiClient::send_json`].
    pub async fn webhooks(&self) -> Result<Vec<XWebhookConfig>> {
        let Some(app) = &self.app else {
            return Err(Error::config(
                "x: listing webhooks needs the app's bearer token (XWebhookSetup::with_app_bearer)",
            ));
        };
        let answer: Many<XWebhookConfig> = app.send_json(ApiRequest::get("/2/webhooks")).await?;
        Ok(answer.data)
    }

    /// `POST /2/webhooks` with `{"url": url}`: X checks the URL with a CRC request first.
    /// Not retried after a possible write.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an empty URL or one over 200 characters (the
    /// documents' limit); [`Error::Api`] when X refuses (for example a failed CRC check).
    pub async fn register(&self, url: &str) -> Result<XWebhookConfig> {
        if url.trim().is_empty() || url.chars().count() > 200 {
            return Err(Error::invalid("x webhook url", "must be 1 to 200 characters"));
        }
        let request = ApiRequest::post("/2/webhooks").json(&json!({ "url": url }))?;
        let answer: One<XWebhookConfig> = self.user.api().send_json(request).await?;
        Ok(answer.data)
    }

    /// Whether our account's activity is delivered to `webhook_id`.
    ///
    /// # Errors
    /// As [`ApiClient::send_json`].
    pub async fn is_subscribed(&self, webhook_id: &str) -> Result<bool> {
        let request = ApiRequest::get("/2/account_activity/webhooks/{webhook_id}/subscriptions/all")
            .param("webhook_id", webhook_id)?;
        let answer: One<Subscribed> = self.user.api().send_json(request).await?;
        Ok(answer.data.subscribed)
    }

    /// Subscribe our account's activity (DMs, mentions) to `webhook_id` (body `{}`).
    ///
    /// # Errors
    /// As [`ApiClient::send_json`].
    pub async fn subscribe(&self, webhook_id: &str) -> Result<()> {
        let request = ApiRequest::post("/2/account_activity/webhooks/{webhook_id}/subscriptions/all")
            .param("webhook_id", webhook_id)?
            .json(&json!({}))?;
        let answer: One<Subscribed> = self.user.api().send_json(request).await?;
        if answer.data.subscribed {
            Ok(())
        } else {
            Err(Error::Api {
                provider: PROVIDER,
                context: "POST /2/account_activity/webhooks/{webhook_id}/subscriptions/all".into(),
                status: 200,
                code: None,
                call: None,
                message: "X answered subscribed: false".into(),
            })
        }
    }

    /// Find the webhook on `url` or register it, then make sure our account is
    /// subscribed to it. Idempotent.
    ///
    /// # Errors
    /// As the calls above.
    pub async fn ensure(&self, url: &str) -> Result<EnsuredXWebhook> {
        let existing = self.webhooks().await?;
        let (webhook, created) = match existing.into_iter().find(|w| same_url(&w.url, url)) {
            Some(found) => (found, false),
            None => (self.register(url).await?, true),
        };
        let subscribed_now = if self.is_subscribed(&webhook.id).await? {
            false
        } else {
            self.subscribe(&webhook.id).await?;
            true
        };
        Ok(EnsuredXWebhook { webhook, created, subscribed_now })
    }
}
