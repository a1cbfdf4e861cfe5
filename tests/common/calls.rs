//! The rig of the calls end-to-end tests: an Aircall and a Zendesk simulator seeded with
//! matching agents and a known caller, and bridges over any store.
#![cfg(all(feature = "sim", feature = "aircall", feature = "zendesk"))]
#![allow(dead_code)]

use std::sync::Arc;

use deskbridge::aircall::CallEvent;
use deskbridge::aircall::{AircallClient, AircallConfig, WebhookVerifier};
use deskbridge::bridges::{CallOutcome, CallsBridge, CallsConfig};
use deskbridge::http::{RateLimit, RetryPolicy};
use deskbridge::ports::StateStore;
use deskbridge::sim::aircall::{AircallSim, AircallSimConfig, AircallUserSeed, CallStep, PlayedCall};
use deskbridge::sim::zendesk::{ZendeskAgentSeed, ZendeskSim, ZendeskSimConfig};
use deskbridge::zendesk::{ZendeskAuth, ZendeskClient, ZendeskConfig};

pub const TOKEN: &str = "sim-call-webhook-token";
pub const APP_ID: i64 = 735_264_019_863_524;
/// Zendesk agents.
pub const ZD_ADA: i64 = 16_765_840_570_101;
pub const ZD_BOB: i64 = 16_765_840_570_102;
/// Aircall users: Ada and Bob exist in both (Ada's e-mail spelled differently), Zed only
/// in Aircall.
pub const AC_ADA: u64 = 1001;
pub const AC_BOB: u64 = 1002;
pub const AC_ZED: u64 = 1003;
pub const CLAIRE_PHONE: &str = "+33 6 12 34 56 78";
pub const UNKNOWN_PHONE: &str = "+44 20 7946 0000";
pub const T0: i64 = 1_767_000_000;

pub struct Rig {
    pub aircall: AircallSim,
    pub zendesk: ZendeskSim,
    pub claire: i64,
}

impl Rig {
    pub async fn start() -> Self {
        let aircall = AircallSim::start(AircallSimConfig::new(vec![
            AircallUserSeed::new(AC_ADA, "Ada", "ADA@Example.com"),
            AircallUserSeed::new(AC_BOB, "Bob", "bob@example.com"),
            AircallUserSeed::new(AC_ZED, "Zed", "zed@example.com"),
        ]))
        .await
        .unwrap();
        let zendesk = ZendeskSim::start(ZendeskSimConfig::new(
            vec![
                ZendeskAgentSeed::new(ZD_ADA, "Ada", "ada@example.com"),
                ZendeskAgentSeed::new(ZD_BOB, "Bob", "bob@example.com"),
            ],
            Vec::new(),
        ))
        .await
        .unwrap();
        zendesk.set_talk_app_id(Some(APP_ID));
        let claire = zendesk.add_end_user("Claire", Some(CLAIRE_PHONE), Some("claire@example.org"));
        Self { aircall, zendesk, claire }
    }

    pub fn aircall_client(&self) -> AircallClient {
        let (id, token) = (AircallSimConfig::DEFAULT_API_ID, AircallSimConfig::DEFAULT_API_TOKEN);
        AircallClient::new(
            AircallConfig::basic(id, token)
                .with_base_url(self.aircall.base_url().as_str())
                .unwrap()
                .with_rate_limit(RateLimit::unlimited())
                .with_retry(RetryPolicy::never()),
        )
        .unwrap()
    }

    pub fn zendesk_client(&self) -> ZendeskClient {
        ZendeskClient::new(
            ZendeskConfig::for_base_url(
                self.zendesk.base_url(),
                ZendeskAuth::api_token(ZendeskSimConfig::DEFAULT_EMAIL, ZendeskSimConfig::DEFAULT_API_TOKEN),
            )
            .with_rate_limit(RateLimit::unlimited())
            .with_retry(RetryPolicy::never()),
        )
        .unwrap()
    }

    pub fn config() -> CallsConfig {
        CallsConfig::default().with_app_id(Some(APP_ID))
    }

    pub fn bridge(&self, store: Arc<dyn StateStore>, config: CallsConfig, instance: &str) -> CallsBridge {
        CallsBridge::new(self.aircall_client(), self.zendesk_client(), store, config)
            .unwrap()
            .instance_id(instance)
    }
}

/// The call event of a step, verified and parsed exactly as the router does.
pub fn event_of(step: &CallStep) -> CallEvent {
    let verifier = WebhookVerifier::new(TOKEN).unwrap();
    verifier.verify(&step.delivery.body, chrono::Utc::now()).unwrap().call_event().unwrap().unwrap()
}

/// Apply each step to the Aircall simulator and hand its event to the bridge, in order.
pub async fn play_all(rig: &Rig, played: &PlayedCall, bridge: &CallsBridge) -> Vec<(String, CallOutcome)> {
    let mut outcomes = Vec::new();
    for step in &played.steps {
        rig.aircall.apply_step(played, step);
        outcomes.push((step.event.clone(), bridge.handle(&event_of(step)).await.unwrap()));
    }
    outcomes
}
