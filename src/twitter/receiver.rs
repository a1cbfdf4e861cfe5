//! X's Account Activity webhook endpoint as a [`WebhookReceiver`] (feature `server`),
//! served at `/webhooks/x` with the default prefix: GET for the CRC challenge, POST for
//! deliveries.

use crate::server::webhooks::{WebhookReceiver, WebhookRefusal, WebhookRequest};
use crate::sync::BridgeEvent;

use super::PROVIDER;
use super::webhook::{SIGNATURE_HEADER, XWebhook, parse_account_activity};

/// Verifies X deliveries by `x-twitter-webhooks-signature` and turns each inbound DM or
/// mention into one [`BridgeEvent::Message`] with source [`PROVIDER`] (`x`; the bridge
/// routes it through the inbox registered as `"x"`). Answers X's CRC GET
/// (`?crc_token=…`) with `{"response_token": "sha256=…"}`.
#[derive(Debug, Clone)]
pub struct XReceiver {
    webhook: XWebhook,
}

impl XReceiver {
    /// A receiver checking deliveries and answering the CRC with `webhook`.
    pub fn new(webhook: XWebhook) -> Self {
        Self { webhook }
    }
}

impl WebhookReceiver for XReceiver {
    fn provider(&self) -> &str {
        PROVIDER
    }

    fn receive(&self, request: &WebhookRequest<'_>) -> Result<Vec<BridgeEvent>, WebhookRefusal> {
        self.webhook
            .verify(request.header(SIGNATURE_HEADER), request.body)
            .map_err(WebhookRefusal::unauthorized)?;
        let activity = parse_account_activity(request.body).map_err(WebhookRefusal::from_error)?;
        Ok(activity
            .messages
            .into_iter()
            .map(|message| BridgeEvent::Message { source: PROVIDER.to_owned(), message })
            .collect())
    }

    fn answers_get(&self) -> bool {
        true
    }

    fn answer_get(&self, request: &WebhookRequest<'_>) -> Result<serde_json::Value, WebhookRefusal> {
        let token = request.query_param("crc_token").unwrap_or_default();
        let crc = self
            .webhook
            .crc_response(&token)
            .map_err(|error| WebhookRefusal::Malformed(error.to_string()))?;
        serde_json::to_value(crc).map_err(|error| WebhookRefusal::Malformed(error.to_string()))
    }
}
