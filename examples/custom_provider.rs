//! An in-house presence system as a `StatusProvider`, synced from Zendesk (its simulator) by
//! the bridge, whose state goes through a `StateStore` decorator. Needs nothing but deskbridge.
use deskbridge::mapping::{Side, StatusMap, StatusTable};
use deskbridge::prelude::*;
use deskbridge::sim::zendesk::{ZendeskAgentSeed, ZendeskSim, ZendeskSimConfig};
use deskbridge::status::{Channel::Voice, Presence::Offline, Presence::Online};
use deskbridge::store::MemoryStore;
use deskbridge::sync::{Bridge, BridgeOptions, LinkConfig, LinkMode, StatusLink};
use deskbridge::zendesk::{ZendeskAuth, ZendeskConfig, ZendeskProvider};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::{collections::BTreeMap, time::Duration};

/// The in-house system: one presence string per agent e-mail, on the voice channel only.
pub struct InHouse(Mutex<BTreeMap<String, String>>);
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
#[async_trait]
impl StatusProvider for InHouse {
    fn name(&self) -> &'static str {
        "in-house"
    }
    async fn list_agents(&self) -> Result<Vec<Agent>> {
        let agent = |(e, s): (&String, &String)| Agent::new(e, e).with_email(e).with_status(Voice, s);
        Ok(lock(&self.0).iter().map(agent).collect())
    }
    async fn list_groups(&self) -> Result<Vec<Group>> {
        Ok(Vec::new())
    }
    async fn set_status(&self, agent_id: &str, channel: Channel, status: &NativeStatus) -> Result<()> {
        let voice = (channel == Voice).then_some(());
        voice.ok_or_else(|| Error::invalid("in-house channel", format!("only voice, not {channel}")))?;
        lock(&self.0).insert(agent_id.to_owned(), status.as_str().to_owned()); // idempotent
        Ok(())
    }
}

/// Counts `put`s. All methods are required: forgetting to forward the claim methods fails to compile.
pub struct Counted<S>(pub S, pub AtomicUsize);
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

/// Zendesk (agent1 online, agent2 offline) → in-house (the reverse), until both are in step.
pub async fn run() -> Result<BTreeMap<String, String>> {
    let sim = ZendeskSim::start(ZendeskSimConfig::new(ZendeskAgentSeed::synthetic(2, &[]), vec![])).await?;
    let auth = ZendeskAuth::api_token(ZendeskSimConfig::DEFAULT_EMAIL, ZendeskSimConfig::DEFAULT_API_TOKEN);
    let zendesk = Arc::new(ZendeskProvider::from_config(ZendeskConfig::for_base_url(sim.base_url(), auth))?);
    let ours = StatusTable::new("in-house").read("available", Online).read("off", Offline);
    let ours = ours.write(Online, "available").write(Offline, "off");
    let config = LinkConfig::new(
        StatusMap::new(deskbridge::zendesk::status_table(), ours),
        LinkMode::OneWay { from: Side::A },
    );
    let seed = [("agent1@example.com", "off"), ("agent2@example.com", "available")];
    let in_house = Arc::new(InHouse(Mutex::new(seed.map(|(e, s)| (e.to_owned(), s.to_owned())).into())));
    let (a, b) =
        (("zendesk", zendesk as Arc<dyn StatusProvider>, Voice), ("in-house", in_house.clone() as _, Voice));
    let link = StatusLink::new("zendesk-in-house", a, b, config);
    let store = Arc::new(Counted(MemoryStore::new(), AtomicUsize::new(0)));
    let bridge = Bridge::new(store.clone(), BridgeOptions::default()).status_link(link)?;
    let (handle, task) = (bridge.handle(), tokio::spawn(bridge.run()));
    while !lock(&in_house.0).values().eq(["available", "off"]) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    handle.shutdown();
    task.await.map_err(|e| Error::external("bridge task", e))??;
    println!("in-house presence: {:?} ({} state puts)", lock(&in_house.0), store.1.load(Relaxed));
    Ok(lock(&in_house.0).clone())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    run().await.map(drop)
}
