//! A copy of the `main.rs` of a throwaway crate outside the repository (path dependency on
//! deskbridge, plus tokio, and nothing else: no url, chrono, serde_json, async-trait or
//! axum), which uses only the public API to (1) write its own provider, (2) decorate a store,
//! (3) mount the webhook routers in its own stateful axum app, and (4) run the bridge.
#![cfg(feature = "server")]
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use deskbridge::axum::{Router, extract::State, routing::get};
use deskbridge::mapping::{Side, StatusMap, StatusTable};
use deskbridge::prelude::*;
use deskbridge::server::webhooks::WebhookRoutes;
use deskbridge::sim::zendesk::{ZendeskAgentSeed, ZendeskSim, ZendeskSimConfig};
use deskbridge::store::MemoryStore;
use deskbridge::sync::{Bridge, BridgeOptions, LinkConfig, LinkMode, StatusLink};
use deskbridge::zendesk::{
    CustomStatusReading, WebhookVerifier, ZendeskAuth, ZendeskConfig, ZendeskProvider,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

// (1) Our own provider.
struct InHouse(Mutex<BTreeMap<String, String>>);
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
#[async_trait]
impl StatusProvider for InHouse {
    fn name(&self) -> &'static str {
        "in-house"
    }
    async fn list_agents(&self) -> Result<Vec<Agent>> {
        let agent =
            |(e, s): (&String, &String)| Agent::new(e, e).with_email(e).with_status(Channel::Voice, s);
        Ok(lock(&self.0).iter().map(agent).collect())
    }
    async fn list_groups(&self) -> Result<Vec<Group>> {
        Ok(Vec::new())
    }
    async fn set_status(&self, agent_id: &str, channel: Channel, status: &NativeStatus) -> Result<()> {
        if channel != Channel::Voice {
            return Err(Error::invalid("in-house channel", format!("only voice, not {channel}")));
        }
        lock(&self.0).insert(agent_id.to_owned(), status.as_str().to_owned());
        Ok(())
    }
}

// (2) A store decorator: must forward every method, claims included.
struct Counted<S>(S, AtomicUsize);
#[async_trait]
impl<S: StateStore> StateStore for Counted<S> {
    async fn get(&self, key: &str) -> Result<Option<Value>> {
        self.0.get(key).await
    }
    async fn put(&self, key: &str, value: Value) -> Result<()> {
        self.1.fetch_add(1, Relaxed);
        self.0.put(key, value).await
    }
    async fn delete(&self, key: &str) -> Result<()> {
        self.0.delete(key).await
    }
    async fn compare_and_set(&self, key: &str, old: Option<&Value>, new: Option<Value>) -> Result<bool> {
        self.1.fetch_add(1, Relaxed);
        self.0.compare_and_set(key, old, new).await
    }
    async fn scan_prefix(&self, prefix: &str) -> Result<Vec<(String, Value)>> {
        self.0.scan_prefix(prefix).await
    }
    async fn insert_if_absent(&self, key: &str, value: Value) -> Result<bool> {
        self.0.insert_if_absent(key, value).await
    }
    async fn try_claim(&self, key: &str, owner: &str, ttl: Duration, now: DateTime<Utc>) -> Result<bool> {
        self.0.try_claim(key, owner, ttl, now).await
    }
    async fn release_claim(&self, key: &str, owner: &str) -> Result<bool> {
        self.0.release_claim(key, owner).await
    }

    async fn flush(&self) -> Result<()> {
        self.0.flush().await
    }
}

#[derive(Clone)]
struct AppState {
    greeting: &'static str,
}

async fn health(State(state): State<AppState>) -> &'static str {
    state.greeting
}

async fn http(address: std::net::SocketAddr, request: &str) -> std::io::Result<String> {
    let mut stream = tokio::net::TcpStream::connect(address).await?;
    stream.write_all(request.as_bytes()).await?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await?;
    Ok(answer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outside_crate_embeds_deskbridge_with_its_public_api_only()
-> std::result::Result<(), Box<dyn std::error::Error>> {
    let sim = ZendeskSim::start(ZendeskSimConfig::new(ZendeskAgentSeed::synthetic(2, &[]), vec![])).await?;
    let auth = ZendeskAuth::api_token(ZendeskSimConfig::DEFAULT_EMAIL, ZendeskSimConfig::DEFAULT_API_TOKEN);
    let zendesk = Arc::new(ZendeskProvider::from_config(ZendeskConfig::for_base_url(sim.base_url(), auth))?);
    let seed = [("agent1@example.com", "off"), ("agent2@example.com", "available")];
    let in_house = Arc::new(InHouse(Mutex::new(seed.map(|(e, s)| (e.to_owned(), s.to_owned())).into())));
    let ours = StatusTable::new("in-house")
        .read("available", Presence::Online)
        .read("off", Presence::Offline)
        .write(Presence::Online, "available")
        .write(Presence::Offline, "off");
    let config = LinkConfig::new(
        StatusMap::new(deskbridge::zendesk::status_table(), ours),
        LinkMode::OneWay { from: Side::A },
    );
    let link = StatusLink::new(
        "zendesk-in-house",
        (deskbridge::zendesk::PROVIDER, zendesk, Channel::Voice),
        ("in-house", in_house.clone(), Channel::Voice),
        config,
    );
    let store = Arc::new(Counted(MemoryStore::new(), AtomicUsize::new(0)));
    let bridge = Bridge::new(store.clone(), BridgeOptions::default()).status_link(link)?;
    let handle = bridge.handle();

    // (3) Our own stateful axum app, with deskbridge's webhook routes merged in.
    let webhooks = WebhookRoutes::new(handle.clone())
        .zendesk(WebhookVerifier::new("outside-crate-webhook-secret")?, CustomStatusReading::ByName)
        .into_router();
    let app = Router::new()
        .route("/health", get(health))
        .with_state(AppState { greeting: "in-house bridge up" })
        .merge(webhooks);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let server = tokio::spawn(async move { deskbridge::axum::serve(listener, app).await });

    // (4) Run the bridge until the in-house system is in step with Zendesk.
    let task = tokio::spawn(bridge.run());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !lock(&in_house.0).values().eq(["available", "off"]) {
        if tokio::time::Instant::now() > deadline {
            return Err("the bridge did not bring the in-house system in step within 60 s".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let health = http(address, "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await?;
    let body = "{}";
    let forged = format!(
        "POST /webhooks/zendesk HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let forged = http(address, &forged).await?;
    handle.shutdown();
    task.await??;
    server.abort();

    let now: DateTime<Utc> = Utc::now(); // chrono through the prelude
    let url = Url::parse(sim.base_url().as_str())?; // url through the prelude
    println!("(1)+(4) in-house presence after the bridge ran: {:?}", lock(&in_house.0));
    println!("(2) the decorated store saw {} writes", store.1.load(Relaxed));
    println!("(3) GET /health -> {:?}", health.lines().next().unwrap_or_default());
    println!("(3) unsigned POST /webhooks/zendesk -> {:?}", forged.lines().next().unwrap_or_default());
    println!("at {now}, Zendesk simulated at {url}, {}", json!({"ok": true}));
    assert!(health.starts_with("HTTP/1.1 200") && health.ends_with("in-house bridge up"), "{health}");
    assert!(forged.starts_with("HTTP/1.1 401"), "{forged}");
    assert!(store.1.load(Relaxed) > 0);
    Ok(())
}
