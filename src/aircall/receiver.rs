//! Aircall's webhook endpoint as a [`WebhookReceiver`] (feature `server`): mount it with
//! [`WebhookRoutes::receiver`](crate::server::webhooks::WebhookRoutes::receiver), served at
//! `/webhooks/aircall` with the default prefix.

use crate::server::webhooks::{WebhookReceiver, WebhookRefusal, WebhookRequest};
use crate::status::Channel;
use crate::sync::BridgeEvent;
use crate::sync::Origin;

use super::PROVIDER;
use super::webhook::{UserObservation, WebhookVerifier};

/// Verifies Aircall deliveries by their body `token` and turns user events into
/// [`BridgeEvent`]s with source [`PROVIDER`] (`aircall`):
///
/// - user events carrying `availability_status` → [`BridgeEvent::Status`] (channel voice,
///   origin [`Origin::Unknown`]: Aircall names no actor, so the bridge recognises its own
///   echoes by the remembered-write window; `at` = the envelope timestamp; `delivery_id` =
///   the idempotency key);
/// - events without the status, and `user.deleted` → [`BridgeEvent::Changed`] (the bridge
///   re-reads);
/// - other events (calls, numbers) → nothing (200 `{"accepted": 0}`).
#[derive(Debug, Clone)]
pub struct AircallReceiver {
    verifier: WebhookVerifier,
}

impl AircallReceiver {
    /// A receiver checking deliveries with `verifier`.
    pub fn new(verifier: WebhookVerifier) -> Self {
        Self { verifier }
    }
}

impl WebhookReceiver for AircallReceiver {
    fn provider(&self) -> &str {
        PROVIDER
    }

    fn receive(&self, request: &WebhookRequest<'_>) -> Result<Vec<BridgeEvent>, WebhookRefusal> {
        let event = self.verifier.verify(request.body, request.now).map_err(WebhookRefusal::from_error)?;
        let changed = |user_id: u64| BridgeEvent::Changed {
            provider: PROVIDER.to_owned(),
            agent_id: user_id.to_string(),
        };
        Ok(match event.user_observation() {
            Some(UserObservation::Status { user_id, status, at, .. }) => vec![BridgeEvent::Status {
                provider: PROVIDER.to_owned(),
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
