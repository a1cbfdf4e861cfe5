//! Zendesk's webhook endpoint as a [`WebhookReceiver`] (feature `server`), served at
//! `/webhooks/zendesk` with the default prefix.

use chrono::{DateTime, Utc};

use crate::server::webhooks::{WebhookReceiver, WebhookRefusal, WebhookRequest};
use crate::status::Channel;
use crate::sync::BridgeEvent;

use super::PROVIDER;
use super::client::{CustomStatusReading, canonical_status_name};
use super::model::TalkState;
use super::webhook::{AgentEvent, SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookVerifier, parse_event};

/// Verifies Zendesk deliveries by `x-zendesk-webhook-signature` over timestamp + body,
/// with a replay window on the receiver's clock, and turns agent events into
/// [`BridgeEvent`]s with source [`PROVIDER`] (`zendesk`):
///
/// - `agent.unified_state_changed` → [`BridgeEvent::Status`] with the unified status name
///   (the four defaults in the API's snake case), origin from
///   [`WebhookEvent::origin`](super::WebhookEvent::origin) (`PUBLIC_API` → ours), `at` =
///   the envelope `time` (else the event's `updated_at`, else now), `delivery_id` = the
///   envelope id. A custom status is forwarded by name with [`CustomStatusReading::ByName`]
///   and as [`BridgeEvent::Changed`] with [`CustomStatusReading::ByTalkChannel`], whose
///   value needs the status catalog.
/// - `agent.state_changed` on the `talk` channel → [`BridgeEvent::Status`] with the
///   channel state, origin unknown; other channels and event types → nothing.
///
/// Every failure of the signature check (missing, unreadable, wrong, stale) is 401; only
/// an unreadable body after a valid signature is 400.
#[derive(Debug, Clone)]
pub struct ZendeskReceiver {
    verifier: WebhookVerifier,
    reading: CustomStatusReading,
}

impl ZendeskReceiver {
    /// A receiver checking deliveries with `verifier`; `reading` must match the
    /// [`ZendeskConfig`](super::ZendeskConfig)'s custom status reading of the provider on
    /// the link.
    pub fn new(verifier: WebhookVerifier, reading: CustomStatusReading) -> Self {
        Self { verifier, reading }
    }
}

impl WebhookReceiver for ZendeskReceiver {
    fn provider(&self) -> &str {
        PROVIDER
    }

    fn receive(&self, request: &WebhookRequest<'_>) -> Result<Vec<BridgeEvent>, WebhookRefusal> {
        let body = request.body;
        self.verifier
            .verify(request.header(SIGNATURE_HEADER), request.header(TIMESTAMP_HEADER), body, request.now)
            .map_err(WebhookRefusal::unauthorized)?;
        let event = parse_event(body).map_err(WebhookRefusal::from_error)?;
        let agent_id = || {
            event.agent_id.map(|id| id.to_string()).ok_or_else(|| {
                WebhookRefusal::Malformed(format!(
                    "zendesk: {} event {} has no `detail.agent_id`",
                    event.event_type, event.id
                ))
            })
        };
        let parse_time = |text: Option<&String>| {
            text.and_then(|t| DateTime::parse_from_rfc3339(t.trim()).ok()).map(|t| t.with_timezone(&Utc))
        };
        let status = |agent_id: String, value: String, at: DateTime<Utc>| BridgeEvent::Status {
            provider: PROVIDER.to_owned(),
            agent_id,
            channel: Channel::Voice,
            value: value.into(),
            origin: event.origin(),
            at,
            delivery_id: Some(event.id.clone()),
        };
        Ok(match &event.event {
            AgentEvent::UnifiedStateChanged { new, updated_at, .. } => {
                let agent_id = agent_id()?;
                let at = event.time.or_else(|| parse_time(updated_at.as_ref())).unwrap_or(request.now);
                let canonical = canonical_status_name(&new.name);
                let is_default = TalkState::from_name(&canonical).is_some();
                if new.name.trim().is_empty() {
                    return Err(WebhookRefusal::Malformed(format!(
                        "zendesk: event {} has an empty `event.new_unified_state.name`",
                        event.id
                    )));
                }
                if is_default || self.reading == CustomStatusReading::ByName {
                    vec![status(agent_id, canonical, at)]
                } else {
                    vec![BridgeEvent::Changed { provider: PROVIDER.to_owned(), agent_id }]
                }
            }
            AgentEvent::StateChanged { channel, new_state, updated_at, .. } if channel == "talk" => {
                let agent_id = agent_id()?;
                let at = event.time.or_else(|| parse_time(updated_at.as_ref())).unwrap_or(request.now);
                vec![status(agent_id, canonical_status_name(new_state), at)]
            }
            _ => Vec::new(),
        })
    }
}
