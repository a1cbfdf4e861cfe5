//! Usedesk's webhook endpoint as a [`WebhookReceiver`] (feature `server`), served at
//! `/webhooks/usedesk` with the default prefix.

use crate::server::webhooks::{WebhookReceiver, WebhookRefusal, WebhookRequest};
use crate::sync::BridgeEvent;

use super::PROVIDER;
use super::webhook::{UsedeskWebhookEvent, UsedeskWebhookVerifier};

/// Verifies Usedesk deliveries by their body `secret`. Usedesk's deliveries (new tickets,
/// comments, ratings, chats) say nothing about agent status: they are verified, logged and
/// acknowledged (200 `{"accepted": 0}`); nothing is forwarded.
#[derive(Debug, Clone)]
pub struct UsedeskReceiver {
    verifier: UsedeskWebhookVerifier,
}

impl UsedeskReceiver {
    /// A receiver checking deliveries with `verifier`.
    pub fn new(verifier: UsedeskWebhookVerifier) -> Self {
        Self { verifier }
    }
}

impl WebhookReceiver for UsedeskReceiver {
    fn provider(&self) -> &str {
        PROVIDER
    }

    fn receive(&self, request: &WebhookRequest<'_>) -> Result<Vec<BridgeEvent>, WebhookRefusal> {
        let event = self.verifier.verify(request.body).map_err(WebhookRefusal::from_error)?;
        let kind = match &event {
            UsedeskWebhookEvent::NewTicket(_) => "new ticket",
            UsedeskWebhookEvent::NewComment(_) => "new comment",
            UsedeskWebhookEvent::TicketUpdate(_) => "ticket update",
            UsedeskWebhookEvent::Rating(_) => "rating",
            UsedeskWebhookEvent::Chat(_) => "chat",
            _ => "unknown",
        };
        tracing::info!(provider = PROVIDER, kind, "webhook received (informational)");
        Ok(Vec::new())
    }
}
