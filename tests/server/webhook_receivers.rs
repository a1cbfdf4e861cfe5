//! An embedder's own [`WebhookReceiver`] for its own provider, mounted next to the built-in
//! receivers in a stateful axum app (`Router<AppState>`), delivering events into a running
//! [`Bridge`]; and the default path of every built-in receiver.
#![cfg(all(
    feature = "server",
    feature = "aircall",
    feature = "zendesk",
    feature = "usedesk",
    feature = "twitter"
))]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use deskbridge::axum::extract::State;
use deskbridge::axum::http::HeaderMap;
use deskbridge::axum::{Router, routing::get};
use deskbridge::mapping::{Side, StatusMap, StatusTable};
use deskbridge::prelude::*;
use deskbridge::server::webhooks::{
    AIRCALL_PATH, USEDESK_PATH, WebhookReceiver, WebhookRefusal, WebhookRequest, WebhookRoutes, X_PATH,
    ZENDESK_PATH,
};
use deskbridge::store::MemoryStore;
use deskbridge::sync::Origin;
use deskbridge::sync::{Bridge, BridgeEvent, BridgeNotice, BridgeOptions, LinkConfig, LinkMode, StatusLink};
use deskbridge::{aircall, twitter, usedesk, zendesk};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PRESENCE: &str = "presence";
const PRESENCE_TOKEN: &str = "presence-test-token";

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// An in-memory provider: agent e-mail → voice status.
struct Memory(&'static str, Mutex<BTreeMap<String, String>>);

impl Memory {
    fn new(name: &'static str, seed: &[(&str, &str)]) -> Arc<Self> {
        Arc::new(Self(
            name,
            Mutex::new(seed.iter().map(|(e, s)| ((*e).to_owned(), (*s).to_owned())).collect()),
        ))
    }
    fn status(&self, email: &str) -> Option<String> {
        lock(&self.1).get(email).cloned()
    }
}

#[async_trait]
impl StatusProvider for Memory {
    fn name(&self) -> &'static str {
        self.0
    }
    async fn list_agents(&self) -> Result<Vec<Agent>> {
        let agent =
            |(e, s): (&String, &String)| Agent::new(e, e).with_email(e).with_status(Channel::Voice, s);
        Ok(lock(&self.1).iter().map(agent).collect())
    }
    async fn list_groups(&self) -> Result<Vec<Group>> {
        Ok(Vec::new())
    }
    async fn set_status(&self, agent_id: &str, channel: Channel, status: &NativeStatus) -> Result<()> {
        if channel != Channel::Voice {
            return Err(Error::invalid("memory channel", format!("only voice, not {channel}")));
        }
        lock(&self.1).insert(agent_id.to_owned(), status.as_str().to_owned());
        Ok(())
    }
}

/// The embedder's receiver: `{"agent": "<e-mail>", "status": "<value>", "id": "<delivery>"}`
/// with a shared token in `x-presence-token`.
struct PresenceReceiver;

impl WebhookReceiver for PresenceReceiver {
    fn provider(&self) -> &str {
        PRESENCE
    }

    fn receive(&self, request: &WebhookRequest<'_>) -> std::result::Result<Vec<BridgeEvent>, WebhookRefusal> {
        if request.header("x-presence-token") != Some(PRESENCE_TOKEN) {
            return Err(WebhookRefusal::Unauthorized("presence: wrong or missing token".into()));
        }
        let body: Value = serde_json::from_slice(request.body)
            .map_err(|e| WebhookRefusal::Malformed(format!("presence: {e}")))?;
        let (Some(agent), Some(status)) = (body["agent"].as_str(), body["status"].as_str()) else {
            return Err(WebhookRefusal::Malformed("presence: `agent` and `status` are required".into()));
        };
        Ok(vec![BridgeEvent::Status {
            provider: PRESENCE.to_owned(),
            agent_id: agent.to_owned(),
            channel: Channel::Voice,
            value: status.into(),
            origin: Origin::Unknown,
            at: request.now,
            delivery_id: body["id"].as_str().map(str::to_owned),
        }])
    }
}

#[derive(Clone)]
struct AppState {
    greeting: &'static str,
}

async fn health(State(state): State<AppState>) -> &'static str {
    state.greeting
}

/// One HTTP/1.1 exchange over a fresh connection: (status code, body).
async fn http(
    address: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    let mut stream = tokio::net::TcpStream::connect(address).await.expect("connect to the test server");
    stream.write_all(request.as_bytes()).await.expect("write the request");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.expect("read the answer");
    let code = answer.get(9..12).and_then(|code| code.parse().ok()).unwrap_or(0);
    let body = answer.split_once("\r\n\r\n").map(|(_, body)| body.to_owned()).unwrap_or_default();
    (code, body)
}

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1");
    let address = listener.local_addr().expect("local address");
    tokio::spawn(async move { deskbridge::axum::serve(listener, app).await });
    address
}

fn built_in(routes: WebhookRoutes) -> WebhookRoutes {
    routes
        .receiver(aircall::AircallReceiver::new(
            aircall::WebhookVerifier::new("aircall-test-token").expect("token"),
        ))
        .receiver(zendesk::ZendeskReceiver::new(
            zendesk::WebhookVerifier::new("zendesk-test-secret").expect("secret"),
            zendesk::CustomStatusReading::ByName,
        ))
        .receiver(usedesk::UsedeskReceiver::new(
            usedesk::UsedeskWebhookVerifier::new("usedesk-test-secret").expect("secret"),
        ))
        .receiver(twitter::XReceiver::new(twitter::XWebhook::new("x-test-consumer-secret").expect("secret")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_receiver_next_to_the_built_in_ones_feeds_a_running_bridge() {
    let presence = Memory::new("presence", &[("agent1@example.com", "off")]);
    let desk = Memory::new("desk", &[("agent1@example.com", "offline")]);
    let presence_table = StatusTable::new(PRESENCE)
        .read("available", Presence::Online)
        .read("off", Presence::Offline)
        .write(Presence::Online, "available")
        .write(Presence::Offline, "off");
    let desk_table = StatusTable::new("desk")
        .read("online", Presence::Online)
        .read("offline", Presence::Offline)
        .write(Presence::Online, "online")
        .write(Presence::Offline, "offline");
    let link = StatusLink::new(
        "presence-desk",
        (PRESENCE, presence.clone(), Channel::Voice),
        ("desk", desk.clone(), Channel::Voice),
        LinkConfig::new(StatusMap::new(presence_table, desk_table), LinkMode::OneWay { from: Side::A }),
    );
    let notices = Arc::new(Mutex::new(Vec::<BridgeNotice>::new()));
    let seen = notices.clone();
    let bridge = Bridge::new(Arc::new(MemoryStore::new()), BridgeOptions::default())
        .status_link(link)
        .expect("a valid link")
        .on_notice(move |notice| lock(&seen).push(notice.clone()));
    let handle = bridge.handle();

    // The embedder's stateful app: its own route, the built-in receivers and its own
    // receiver, in one `Router<AppState>`.
    let webhooks = built_in(WebhookRoutes::new(handle.clone())).receiver(PresenceReceiver);
    let app: Router<AppState> =
        Router::new().route("/health", get(health)).merge(webhooks.into_router_for::<AppState>());
    let address = serve(app.with_state(AppState { greeting: "up" })).await;
    let task = tokio::spawn(bridge.run());

    assert_eq!(http(address, "GET", "/health", &[], "").await, (200, "up".to_owned()));
    // Refused before anything reaches the bridge.
    let (code, body) =
        http(address, "POST", "/webhooks/presence", &[], r#"{"agent":"agent1@example.com"}"#).await;
    assert_eq!(code, 401, "{body}");
    assert!(body.contains("unauthorized"), "{body}");
    let token = [("x-presence-token", PRESENCE_TOKEN)];
    let (code, body) = http(address, "POST", "/webhooks/presence", &token, "not json").await;
    assert_eq!(code, 400, "{body}");

    // The agent goes online in the presence system, which posts a delivery. The bridge
    // confirms the value by reading the presence system, then writes the desk; its next
    // reconcile pass is 5 minutes away, so only the delivery can bring the desk online
    // within the deadline.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !lock(&notices).iter().any(|notice| matches!(notice, BridgeNotice::Reconciled { .. })) {
        assert!(tokio::time::Instant::now() < deadline, "no first pass: {:?}", lock(&notices));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    lock(&presence.1).insert("agent1@example.com".to_owned(), "available".to_owned());
    let delivery = r#"{"agent":"agent1@example.com","status":"available","id":"d-1"}"#;
    let (code, body) = http(address, "POST", "/webhooks/presence", &token, delivery).await;
    assert_eq!((code, body.as_str()), (200, r#"{"accepted":1}"#));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while desk.status("agent1@example.com").as_deref() != Some("online") {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the delivery never reached the desk: {:?}",
            lock(&notices)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let routed = lock(&notices).iter().any(|notice| {
        matches!(notice, BridgeNotice::Delivery { source, link: Some(link), delivery_id: Some(id), .. }
            if source == PRESENCE && link == "presence-desk" && id == "d-1")
    });
    assert!(routed, "no delivery notice for d-1: {:?}", lock(&notices));

    handle.shutdown();
    task.await.expect("the bridge task").expect("the bridge stops cleanly");
}

#[tokio::test]
async fn built_in_receivers_keep_their_default_paths() {
    let bridge = stopped_bridge();
    let address = serve(built_in(WebhookRoutes::new(bridge)).into_router()).await;
    assert_eq!(aircall::PROVIDER, "aircall");
    assert_eq!(zendesk::PROVIDER, "zendesk");
    assert_eq!(usedesk::PROVIDER, "usedesk");
    assert_eq!(twitter::PROVIDER, "x");
    assert_eq!(
        [AIRCALL_PATH, ZENDESK_PATH, USEDESK_PATH, X_PATH],
        ["/webhooks/aircall", "/webhooks/zendesk", "/webhooks/usedesk", "/webhooks/x"]
    );
    // Each path is served (an unverified delivery is refused by the receiver, not 404);
    // an unserved method is 405 and an unknown provider 404.
    for path in [AIRCALL_PATH, ZENDESK_PATH, USEDESK_PATH, X_PATH] {
        let (code, body) = http(address, "POST", path, &[], "{}").await;
        assert!(code == 400 || code == 401, "POST {path}: {code} {body}");
    }
    for path in [AIRCALL_PATH, ZENDESK_PATH, USEDESK_PATH] {
        assert_eq!(http(address, "GET", path, &[], "").await.0, 405, "GET {path}");
    }
    assert_eq!(http(address, "POST", "/webhooks/talkdesk", &[], "{}").await.0, 404);
    // X's CRC is a GET on its own path.
    let (code, body) = http(address, "GET", "/webhooks/x?crc_token=challenge", &[], "").await;
    assert_eq!(code, 200, "{body}");
    let expected = twitter::crc_response_token("x-test-consumer-secret", "challenge");
    assert!(body.contains(&expected), "{body}");
    assert_eq!(http(address, "GET", "/webhooks/x", &[], "").await.0, 400);
}

#[tokio::test]
async fn prefixes_own_paths_and_replacements() {
    let bridge = stopped_bridge();
    let routes = built_in(WebhookRoutes::new(bridge).path_prefix("hooks/v1/"))
        // Added twice at the same path: the later one serves, and the router builds.
        .receiver(aircall::AircallReceiver::new(
            aircall::WebhookVerifier::new("second-token").expect("token"),
        ))
        .receiver_at("/in-house/presence", PresenceReceiver);
    assert!(format!("{routes:?}").contains("/hooks/v1/aircall"));
    assert!(!format!("{routes:?}").contains("second-token"), "no secret in Debug");
    let address = serve(routes.into_router()).await;
    for provider in ["aircall", "zendesk", "usedesk", "x"] {
        let (code, _) = http(address, "POST", &format!("/hooks/v1/{provider}"), &[], "{}").await;
        assert!(code == 400 || code == 401, "{provider}: {code}");
        assert_eq!(http(address, "POST", &format!("/webhooks/{provider}"), &[], "{}").await.0, 404);
    }
    let token = [("x-presence-token", PRESENCE_TOKEN)];
    assert_eq!(http(address, "POST", "/in-house/presence", &token, "{}").await.0, 400);
    assert_eq!(http(address, "POST", "/hooks/v1/presence", &token, "{}").await.0, 404);
    // A verified delivery to a stopped bridge: 503, as for the built-in receivers.
    let delivery = r#"{"agent":"a@example.com","status":"available"}"#;
    assert_eq!(http(address, "POST", "/in-house/presence", &token, delivery).await.0, 503);
}

#[test]
fn a_receiver_is_a_pure_function_of_the_request() {
    let headers = HeaderMap::new();
    let now = Utc::now();
    let request = WebhookRequest::new(&headers, b"{}", Some("crc_token=a%20b&x=1"), now);
    assert_eq!(request.query_param("crc_token").as_deref(), Some("a b"));
    assert!(matches!(PresenceReceiver.receive(&request), Err(WebhookRefusal::Unauthorized(_))));
    let receivers: Vec<Box<dyn WebhookReceiver>> = vec![
        Box::new(PresenceReceiver),
        Box::new(aircall::AircallReceiver::new(aircall::WebhookVerifier::new("t").expect("token"))),
    ];
    assert_eq!(receivers.iter().map(|r| r.provider()).collect::<Vec<_>>(), ["presence", "aircall"]);
    assert!(!receivers[0].answers_get());
}

/// A bridge handle whose bridge has already stopped (deliveries get 503).
fn stopped_bridge() -> deskbridge::sync::BridgeHandle {
    let bridge = Bridge::new(Arc::new(MemoryStore::new()), BridgeOptions::default());
    let handle = bridge.handle();
    drop(bridge);
    handle
}
