//! Shared rig of the webhook/bridge end-to-end tests: the Aircall and Zendesk simulators
//! with a small roster, a virtual clock, the bridge on both, and its webhook routers
//! served over real HTTP on 127.0.0.1.

#![cfg(all(feature = "server", feature = "sim"))]
#![allow(dead_code)]

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use deskbridge::aircall::{AircallConfig, AircallProvider, WebhookVerifier as AircallVerifier};
use deskbridge::http::RateLimit;
use deskbridge::mapping::StatusMap;
use deskbridge::ports::{StateStore, StatusProvider};
use deskbridge::server::webhooks::{WebhookOptions, WebhookRoutes};
use deskbridge::sim::WebhookDelivery;
use deskbridge::sim::aircall::{AircallAvailabilityStatus, AircallSim, AircallSimConfig, AircallUserSeed};
use deskbridge::sim::zendesk::{
    ZendeskAgentSeed, ZendeskGroupSeed, ZendeskSeedStatus, ZendeskSim, ZendeskSimConfig,
    unified_state_changed_payload,
};
use deskbridge::status::Channel;
use deskbridge::sync::Clock;
use deskbridge::sync::{Bridge, BridgeHandle, BridgeNotice, BridgeOptions, LinkConfig, LinkMode, StatusLink};
use deskbridge::twitter::XWebhook;
use deskbridge::usedesk::UsedeskWebhookVerifier;
use deskbridge::zendesk::{
    CustomStatusReading, WebhookVerifier as ZendeskVerifier, ZendeskAuth, ZendeskConfig, ZendeskProvider,
};
use url::Url;

pub const AIRCALL_TOKEN: &str = "aircall-webhook-token";
pub const ZENDESK_SECRET: &str = "zendesk-signing-secret";
pub const USEDESK_SECRET: &str = "usedesk-channel-secret";
pub const X_SECRET: &str = "x-consumer-secret";

/// Zendesk ids of the roster (Aircall ids are 1, 2, 3 in the same order).
pub const ZENDESK_IDS: [i64; 3] = [101, 102, 103];

/// A clock the test moves by hand (milliseconds since the epoch).
#[derive(Clone)]
pub struct VirtualClock(Arc<AtomicI64>);

impl Default for VirtualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl VirtualClock {
    pub fn new() -> Self {
        let start = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().unwrap();
        Self(Arc::new(AtomicI64::new(start.timestamp_millis())))
    }
    pub fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.0.load(Ordering::SeqCst)).unwrap()
    }
    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds * 1000, Ordering::SeqCst);
    }
    pub fn clock(&self) -> Clock {
        let this = self.clone();
        Arc::new(move || this.now())
    }
}

pub struct Sims {
    pub aircall: AircallSim,
    pub zendesk: ZendeskSim,
}

/// Ana available/online, Ben and Cy unavailable/offline: in sync at the start.
pub async fn sims() -> Sims {
    use AircallAvailabilityStatus::{Available, Unavailable};
    let aircall = AircallSim::start(AircallSimConfig::new(vec![
        AircallUserSeed::new(1, "Ana", "ana@example.com").with_status(Available),
        AircallUserSeed::new(2, "Ben", "ben@example.com").with_status(Unavailable),
        AircallUserSeed::new(3, "Cy", "cy@example.com").with_status(Unavailable),
    ]))
    .await
    .unwrap();
    let zendesk = ZendeskSim::start(ZendeskSimConfig::new(
        vec![
            ZendeskAgentSeed::new(101, "Ana", "ana@example.com").with_status(ZendeskSeedStatus::Online),
            ZendeskAgentSeed::new(102, "Ben", "ben@example.com").with_status(ZendeskSeedStatus::Offline),
            ZendeskAgentSeed::new(103, "Cy", "cy@example.com").with_status(ZendeskSeedStatus::Offline),
        ],
        vec![ZendeskGroupSeed::new(1, "Support")],
    ))
    .await
    .unwrap();
    Sims { aircall, zendesk }
}

impl Sims {
    pub fn aircall_status(&self, id: u64) -> String {
        self.aircall.user(id).unwrap().availability_status.as_str().to_owned()
    }
    pub fn zendesk_status(&self, id: i64) -> String {
        self.zendesk.agent_status(id).unwrap().name
    }
    /// Every status on both sides, for comparisons.
    pub fn state(&self) -> (Vec<String>, Vec<String>) {
        (
            (1..=3).map(|id| self.aircall_status(id)).collect(),
            ZENDESK_IDS.iter().map(|id| self.zendesk_status(*id)).collect(),
        )
    }
    /// Status writes in the sims' logs: (Aircall, Zendesk).
    pub fn writes(&self) -> (usize, usize) {
        (self.aircall.server().writes().len(), self.zendesk.server().writes().len())
    }

    /// The Aircall delivery for user `id`'s current state, stamped `at`.
    pub fn aircall_delivery(&self, id: u64, at: DateTime<Utc>) -> WebhookDelivery {
        self.aircall_delivery_with_token(id, at, AIRCALL_TOKEN)
    }
    pub fn aircall_delivery_with_token(&self, id: u64, at: DateTime<Utc>, token: &str) -> WebhookDelivery {
        let user = self.aircall.user(id).unwrap();
        let event = if user.available() { "user.opened.v2" } else { "user.closed.v2" };
        deskbridge::sim::aircall::user_event_delivery(
            event,
            &user,
            token,
            at.timestamp() as u64,
            &self.aircall.base_url(),
        )
    }

    /// The Zendesk `unified_state_changed` delivery of agent `id`'s last change, stamped
    /// `at`, signed with `secret`.
    pub fn zendesk_delivery_with_secret(&self, id: i64, at: DateTime<Utc>, secret: &str) -> WebhookDelivery {
        let agent = self.zendesk.agent(id).unwrap();
        let payload = unified_state_changed_payload(
            self.zendesk.account_id(),
            id,
            agent.previous_status.as_ref(),
            &agent.status,
            agent.version,
            &format!("01E2E{id}V{}", agent.version),
            &at.to_rfc3339_opts(SecondsFormat::Millis, true),
        );
        deskbridge::sim::zendesk::webhook_delivery(
            &payload,
            secret,
            &at.to_rfc3339_opts(SecondsFormat::Secs, true),
            self.zendesk.account_id(),
            "01E2EWEBHOOK",
            &format!("{id}-{}", agent.version),
        )
    }
    pub fn zendesk_delivery(&self, id: i64, at: DateTime<Utc>) -> WebhookDelivery {
        self.zendesk_delivery_with_secret(id, at, ZENDESK_SECRET)
    }

    pub fn providers(&self) -> (Arc<dyn StatusProvider>, Arc<dyn StatusProvider>) {
        let aircall =
            AircallConfig::basic(AircallSimConfig::DEFAULT_API_ID, AircallSimConfig::DEFAULT_API_TOKEN)
                .with_base_url(self.aircall.base_url().as_str())
                .unwrap()
                .with_rate_limit(RateLimit::unlimited());
        let zendesk = ZendeskConfig::for_base_url(
            self.zendesk.base_url(),
            ZendeskAuth::api_token(ZendeskSimConfig::DEFAULT_EMAIL, ZendeskSimConfig::DEFAULT_API_TOKEN),
        )
        .with_rate_limit(RateLimit::unlimited());
        (
            Arc::new(AircallProvider::from_config(aircall).unwrap()),
            Arc::new(ZendeskProvider::from_config(zendesk).unwrap()),
        )
    }
}

/// A running bridge with its webhook routers served on 127.0.0.1.
pub struct Running {
    pub handle: BridgeHandle,
    pub task: tokio::task::JoinHandle<deskbridge::Result<()>>,
    pub server: tokio::task::JoinHandle<()>,
    pub base: Url,
    pub notices: Arc<Mutex<Vec<BridgeNotice>>>,
}

impl Running {
    pub fn url(&self, path: &str) -> Url {
        self.base.join(path.trim_start_matches('/')).unwrap()
    }
    pub async fn deliver_aircall(&self, delivery: &WebhookDelivery) -> u16 {
        delivery.send(&self.url(deskbridge::server::webhooks::AIRCALL_PATH)).await.unwrap()
    }
    pub async fn deliver_zendesk(&self, delivery: &WebhookDelivery) -> u16 {
        delivery.send(&self.url(deskbridge::server::webhooks::ZENDESK_PATH)).await.unwrap()
    }
    pub fn notices(&self) -> Vec<BridgeNotice> {
        self.notices.lock().unwrap().clone()
    }
    /// Wait until the bridge has been quiet (no new notice) for a while.
    pub async fn settle(&self) {
        let mut last = usize::MAX;
        let mut quiet = 0;
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let now = self.notices.lock().unwrap().len();
            if now == last {
                quiet += 1;
                if quiet >= 4 {
                    return;
                }
            } else {
                quiet = 0;
                last = now;
            }
        }
    }
    /// Wait for the first reconcile pass.
    pub async fn started(&self) {
        for _ in 0..100 {
            if self.notices().iter().any(|n| matches!(n, BridgeNotice::Reconciled { .. })) {
                return self.settle().await;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the bridge did not reconcile at start: {:?}", self.notices());
    }
    /// Stop gracefully and wait for the bridge to return.
    pub async fn stop(self) {
        self.handle.shutdown();
        tokio::time::timeout(Duration::from_secs(20), self.task).await.unwrap().unwrap().unwrap();
        self.server.abort();
    }
}

pub async fn start(sims: &Sims, store: Arc<dyn StateStore>, mode: LinkMode, clock: &VirtualClock) -> Running {
    let (aircall, zendesk) = sims.providers();
    let link = StatusLink::new(
        "voice",
        ("aircall", aircall, Channel::Voice),
        ("zendesk", zendesk, Channel::Voice),
        LinkConfig::new(StatusMap::aircall_zendesk(), mode),
    );
    let notices = Arc::new(Mutex::new(Vec::new()));
    let sink = notices.clone();
    let options = BridgeOptions::default()
        .with_reconcile_every(Duration::from_secs(3600))
        .with_tick_every(Duration::from_millis(100));
    let bridge = Bridge::new(store, options)
        .status_link(link)
        .unwrap()
        .clock(clock.clock())
        .on_notice(move |n| sink.lock().unwrap().push(n.clone()));
    let handle = bridge.handle();
    let routes = WebhookRoutes::new(handle.clone())
        .options(WebhookOptions::default().with_clock(clock.clock()))
        .aircall(AircallVerifier::new(AIRCALL_TOKEN).unwrap())
        .zendesk(ZendeskVerifier::new(ZENDESK_SECRET).unwrap(), CustomStatusReading::ByName)
        .usedesk(UsedeskWebhookVerifier::new(USEDESK_SECRET).unwrap())
        .x(XWebhook::new(X_SECRET).unwrap())
        .into_router();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    let server = tokio::spawn(async move {
        axum::serve(listener, routes).await.unwrap();
    });
    let task = tokio::spawn(bridge.run());
    Running { handle, task, server, base, notices }
}
