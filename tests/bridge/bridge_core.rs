//! The continuous bridge over in-memory providers: events, duplicates, reordering, drops
//! healed by reconcile, two-way without ping-pong, restart without loss.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use deskbridge::mapping::{Side, StatusMap};
use deskbridge::ports::{StateStore, StatusProvider, WriteOp};
use deskbridge::status::{Agent, Channel, Group, NativeStatus};
use deskbridge::store::MemoryStore;
use deskbridge::sync::{
    Bridge, BridgeEvent, BridgeHandle, BridgeNotice, BridgeOptions, DeliveryOutcome, LinkConfig, LinkMode,
    Origin, RECONCILE_BATCH, StatusLink,
};
use deskbridge::{Error, Result};

/// A provider whose agents live in memory; records every write.
struct Fake {
    name: &'static str,
    agents: Mutex<Vec<(String, String, String)>>, // id, email, status
    writes: Mutex<Vec<(String, String)>>,
    fail_writes: Mutex<u32>,
    write_delay: Mutex<Duration>,
}

impl Fake {
    fn new(name: &'static str, agents: &[(&str, &str, &str)]) -> Arc<Self> {
        Arc::new(Self {
            name,
            agents: Mutex::new(
                agents.iter().map(|(i, e, s)| (i.to_string(), e.to_string(), s.to_string())).collect(),
            ),
            writes: Mutex::new(vec![]),
            fail_writes: Mutex::new(0),
            write_delay: Mutex::new(Duration::ZERO),
        })
    }
    fn set(&self, id: &str, status: &str) {
        for a in self.agents.lock().unwrap().iter_mut() {
            if a.0 == id {
                a.2 = status.into();
            }
        }
    }
    fn status(&self, id: &str) -> String {
        self.agents.lock().unwrap().iter().find(|a| a.0 == id).map(|a| a.2.clone()).unwrap_or_default()
    }
    fn writes(&self) -> Vec<(String, String)> {
        self.writes.lock().unwrap().clone()
    }
}

#[async_trait]
impl StatusProvider for Fake {
    fn name(&self) -> &'static str {
        self.name
    }
    async fn list_agents(&self) -> Result<Vec<Agent>> {
        Ok(self
            .agents
            .lock()
            .unwrap()
            .iter()
            .map(|(id, email, s)| Agent {
                id: id.into(),
                email: Some(email.into()),
                name: id.into(),
                groups: vec![],
                statuses: deskbridge::status::Statuses::from([(
                    Channel::Voice,
                    NativeStatus::from(s.as_str()),
                )]),
            })
            .collect())
    }
    async fn list_groups(&self) -> Result<Vec<Group>> {
        Ok(vec![])
    }
    async fn set_status(&self, agent_id: &str, _channel: Channel, status: &NativeStatus) -> Result<()> {
        let delay = *self.write_delay.lock().unwrap();
        tokio::time::sleep(delay).await;
        {
            let mut fail = self.fail_writes.lock().unwrap();
            if *fail > 0 {
                *fail -= 1;
                return Err(Error::Api {
                    provider: self.name,
                    context: "set".into(),
                    status: 503,
                    code: None,
                    message: "down".into(),
                    call: None,
                });
            }
        }
        self.writes.lock().unwrap().push((agent_id.to_owned(), status.as_str().to_owned()));
        self.set(agent_id, status.as_str());
        Ok(())
    }
}

fn epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().unwrap()
}

/// A clock that follows tokio's (paused) time from `start`.
fn clock(start: tokio::time::Instant) -> Arc<dyn Fn() -> DateTime<Utc> + Send + Sync> {
    Arc::new(move || epoch() + chrono::Duration::from_std(start.elapsed()).unwrap())
}

struct Rig {
    aircall: Arc<Fake>,
    zendesk: Arc<Fake>,
    store: Arc<MemoryStore>,
    notices: Arc<Mutex<Vec<BridgeNotice>>>,
    started: tokio::time::Instant,
}

fn rig() -> Rig {
    Rig {
        aircall: Fake::new(
            "aircall",
            &[
                ("1", "ana@example.com", "available"),
                ("2", "Ben@example.com", "unavailable"),
                ("3", "cy@example.com", "custom"),
            ],
        ),
        zendesk: Fake::new(
            "zendesk",
            &[
                ("z1", "ana@example.com", "offline"),
                ("z2", "ben@example.com", "offline"),
                ("z3", "cy@example.com", "online"),
            ],
        ),
        store: Arc::new(MemoryStore::new()),
        notices: Arc::new(Mutex::new(vec![])),
        started: tokio::time::Instant::now(),
    }
}

impl Rig {
    fn start(&self, mode: LinkMode) -> (BridgeHandle, tokio::task::JoinHandle<Result<()>>) {
        self.start_on(self.store.clone() as Arc<dyn StateStore>, mode)
    }

    fn start_on(
        &self,
        store: Arc<dyn StateStore>,
        mode: LinkMode,
    ) -> (BridgeHandle, tokio::task::JoinHandle<Result<()>>) {
        let link = StatusLink::new(
            "voice",
            ("aircall", self.aircall.clone() as Arc<dyn StatusProvider>, Channel::Voice),
            ("zendesk", self.zendesk.clone() as Arc<dyn StatusProvider>, Channel::Voice),
            LinkConfig::new(StatusMap::aircall_zendesk(), mode),
        );
        let notices = self.notices.clone();
        let options = BridgeOptions::default()
            .with_reconcile_every(Duration::from_secs(60))
            .with_tick_every(Duration::from_secs(1));
        let bridge = Bridge::new(store, options)
            .status_link(link)
            .unwrap()
            .clock(clock(self.started))
            .on_notice(move |n| notices.lock().unwrap().push(n.clone()));
        let handle = bridge.handle();
        (handle, tokio::spawn(bridge.run()))
    }
}

fn status_event(
    provider: &str,
    id: &str,
    value: &str,
    origin: Origin,
    at_secs: i64,
    delivery: &str,
) -> BridgeEvent {
    BridgeEvent::Status {
        provider: provider.into(),
        agent_id: id.into(),
        channel: Channel::Voice,
        value: value.into(),
        origin,
        at: epoch() + chrono::Duration::seconds(at_secs),
        delivery_id: Some(delivery.into()),
    }
}

async fn settle() {
    tokio::time::sleep(Duration::from_secs(3)).await;
}

#[tokio::test(start_paused = true)]
async fn one_way_reconciles_at_start_and_follows_events() {
    let r = rig();
    let (h, task) = r.start(LinkMode::OneWay { from: Side::A });
    settle().await;
    // Start: ana available → online; ben unavailable → offline is already so; cy is on Automatic Schedule.
    assert_eq!(r.zendesk.writes(), vec![("z1".into(), "online".into())]);
    assert!(r.aircall.writes().is_empty(), "one-way never writes its source");
    // An event; then the same delivery twice, and an older one delivered late.
    r.aircall.set("2", "available");
    h.send(status_event("aircall", "2", "available", Origin::Unknown, 10, "d1")).await.unwrap();
    h.send(status_event("aircall", "2", "available", Origin::Unknown, 10, "d1")).await.unwrap();
    h.send(status_event("aircall", "2", "unavailable", Origin::Unknown, 5, "d0")).await.unwrap();
    settle().await;
    assert_eq!(r.zendesk.writes(), vec![("z1".into(), "online".into()), ("z2".into(), "online".into())]);
    assert!(
        r.notices
            .lock()
            .unwrap()
            .iter()
            .any(|n| matches!(n, BridgeNotice::Delivery { outcome: DeliveryOutcome::Duplicate, .. }))
    );
    h.shutdown();
    task.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_dropped_webhook_is_healed_by_the_next_reconcile() {
    let r = rig();
    let (h, task) = r.start(LinkMode::OneWay { from: Side::A });
    settle().await;
    r.aircall.set("1", "unavailable"); // the webhook for this change never arrives
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert_eq!(r.zendesk.status("z1"), "online", "not yet: no event, no pass");
    tokio::time::sleep(Duration::from_secs(40)).await; // the 60 s pass
    assert_eq!(r.zendesk.status("z1"), "offline");
    h.shutdown();
    task.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn two_way_does_not_ping_pong_or_drift() {
    let r = rig();
    let (h, task) = r.start(LinkMode::TwoWay);
    settle().await;
    let start_writes = r.zendesk.writes().len() + r.aircall.writes().len();
    // Zendesk agent goes Away; Aircall follows to Unavailable; the echo comes back.
    r.zendesk.set("z1", "away");
    h.send(status_event("zendesk", "z1", "away", Origin::Others, 100, "e1")).await.unwrap();
    settle().await;
    assert_eq!(r.aircall.status("1"), "unavailable");
    h.send(status_event("aircall", "1", "unavailable", Origin::Unknown, 104, "e2")).await.unwrap();
    // Several reconcile passes later nothing has moved: Away stays Away.
    tokio::time::sleep(Duration::from_secs(200)).await;
    assert_eq!(r.zendesk.status("z1"), "away");
    assert_eq!(
        r.zendesk.writes().len() + r.aircall.writes().len(),
        start_writes + 1,
        "{:?} {:?}",
        r.zendesk.writes(),
        r.aircall.writes()
    );
    h.shutdown();
    task.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn failed_writes_are_retried_then_succeed() {
    let r = rig();
    *r.zendesk.fail_writes.lock().unwrap() = 2;
    let (h, task) = r.start(LinkMode::OneWay { from: Side::A });
    tokio::time::sleep(Duration::from_secs(20)).await;
    assert_eq!(r.zendesk.status("z1"), "online");
    let failures =
        r.notices.lock().unwrap().iter().filter(|n| matches!(n, BridgeNotice::WriteFailed { .. })).count();
    assert_eq!(failures, 2);
    h.shutdown();
    task.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_restart_in_the_middle_loses_nothing() {
    let r = rig();
    let (h, task) = r.start(LinkMode::TwoWay);
    settle().await;
    r.zendesk.set("z2", "online");
    h.send(status_event("zendesk", "z2", "online", Origin::Others, 50, "x1")).await.unwrap();
    h.shutdown(); // possibly before the write to Aircall finished
    task.await.unwrap().unwrap();
    let stored = Bridge::stored_state(r.store.as_ref(), "voice", "ben@example.com").await.unwrap();
    assert!(stored.is_some(), "state survives the stop");
    // A new bridge on the same store finishes the job and makes no extra write.
    let (h, task) = r.start(LinkMode::TwoWay);
    tokio::time::sleep(Duration::from_secs(120)).await;
    assert_eq!(r.aircall.status("2"), "available");
    let ben_writes = r.aircall.writes().iter().filter(|w| w.0 == "2").count();
    assert_eq!(ben_writes, 1, "{:?}", r.aircall.writes());
    h.shutdown();
    task.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_crash_during_a_write_is_recovered_after_restart() {
    let r = rig();
    let (h, task) = r.start(LinkMode::TwoWay);
    settle().await;
    *r.aircall.write_delay.lock().unwrap() = Duration::from_secs(5);
    r.zendesk.set("z2", "online");
    h.send(status_event("zendesk", "z2", "online", Origin::Others, 50, "x1")).await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await; // the write to Aircall is in flight
    task.abort(); // crash: no graceful shutdown, the write never lands
    let _ = task.await;
    assert_eq!(r.aircall.status("2"), "unavailable");
    let stored = Bridge::stored_state(r.store.as_ref(), "voice", "ben@example.com").await.unwrap().unwrap();
    assert!(stored.side(Side::A).pending.is_some(), "the in-flight write is on record: {stored:?}");
    *r.aircall.write_delay.lock().unwrap() = Duration::ZERO;
    let (h, task) = r.start(LinkMode::TwoWay);
    tokio::time::sleep(Duration::from_secs(120)).await;
    assert_eq!(r.aircall.status("2"), "available", "the restarted bridge finishes the job");
    assert_eq!(r.aircall.writes().iter().filter(|w| w.0 == "2").count(), 1);
    h.shutdown();
    task.await.unwrap().unwrap();
}

/// A store shared with an imaginary second instance: it records the size of every
/// `write_batch`, and when `cut_in` names an agent, the first batch that stores that
/// agent's state finds the other instance's copy of the same step stored a moment before.
struct Shared {
    inner: MemoryStore,
    cut_in: Mutex<Option<String>>,
    batches: Mutex<Vec<usize>>,
    lost: Mutex<usize>,
}

impl Shared {
    fn new(cut_in: Option<&str>) -> Arc<Self> {
        Arc::new(Self {
            inner: MemoryStore::new(),
            cut_in: Mutex::new(cut_in.map(|agent| format!("/agent/{agent}"))),
            batches: Mutex::new(vec![]),
            lost: Mutex::new(0),
        })
    }
}

#[async_trait]
impl StateStore for Shared {
    async fn get(&self, key: &str) -> Result<Option<serde_json::Value>> {
        self.inner.get(key).await
    }
    async fn put(&self, key: &str, value: serde_json::Value) -> Result<()> {
        self.inner.put(key, value).await
    }
    async fn delete(&self, key: &str) -> Result<()> {
        self.inner.delete(key).await
    }
    async fn compare_and_set(
        &self,
        key: &str,
        expected: Option<&serde_json::Value>,
        new: Option<serde_json::Value>,
    ) -> Result<bool> {
        self.inner.compare_and_set(key, expected, new).await
    }
    async fn scan_prefix(&self, prefix: &str) -> Result<Vec<(String, serde_json::Value)>> {
        self.inner.scan_prefix(prefix).await
    }
    async fn insert_if_absent(&self, key: &str, value: serde_json::Value) -> Result<bool> {
        self.inner.insert_if_absent(key, value).await
    }
    async fn try_claim(&self, key: &str, owner: &str, ttl: Duration, now: DateTime<Utc>) -> Result<bool> {
        self.inner.try_claim(key, owner, ttl, now).await
    }
    async fn release_claim(&self, key: &str, owner: &str) -> Result<bool> {
        self.inner.release_claim(key, owner).await
    }
    async fn flush(&self) -> Result<()> {
        self.inner.flush().await
    }
    async fn write_batch(&self, ops: Vec<WriteOp>) -> Result<Vec<bool>> {
        self.batches.lock().unwrap().push(ops.len());
        let cut_in = self.cut_in.lock().unwrap().clone();
        if let Some(suffix) = cut_in
            && let Some(op) = ops.iter().find(|op| op.key().ends_with(&suffix))
        {
            *self.cut_in.lock().unwrap() = None;
            assert_eq!(self.inner.write_batch(vec![op.clone()]).await?, vec![true]);
        }
        let applied = self.inner.write_batch(ops).await?;
        *self.lost.lock().unwrap() += applied.iter().filter(|a| !**a).count();
        Ok(applied)
    }
}

#[tokio::test(start_paused = true)]
async fn a_reconcile_pass_stores_its_states_in_batches() {
    let agents = RECONCILE_BATCH * 2 + 200;
    let emails: Vec<String> = (0..agents).map(|i| format!("agent{i}@example.com")).collect();
    let aircall: Vec<(String, &str, &str)> =
        emails.iter().enumerate().map(|(i, e)| (format!("a{i}"), e.as_str(), "available")).collect();
    let zendesk: Vec<(String, &str, &str)> =
        emails.iter().enumerate().map(|(i, e)| (format!("z{i}"), e.as_str(), "offline")).collect();
    let borrow = |v: &[(String, &str, &str)]| -> Vec<(String, String, String)> {
        v.iter().map(|(i, e, s)| (i.clone(), e.to_string(), s.to_string())).collect()
    };
    let r = rig();
    *r.aircall.agents.lock().unwrap() = borrow(&aircall);
    *r.zendesk.agents.lock().unwrap() = borrow(&zendesk);
    let store = Shared::new(None);
    let (h, task) = r.start_on(store.clone(), LinkMode::OneWay { from: Side::A });
    settle().await;
    // The pass stored every agent's state (each asks for a write) in chunks of at most
    // RECONCILE_BATCH compare-and-sets, then their busy markers the same way; the write
    // results that came back together were stored the same way, each agent's marker
    // removal and compare-and-set in one batch.
    let batches = store.batches.lock().unwrap().clone();
    let pass = [RECONCILE_BATCH, RECONCILE_BATCH, RECONCILE_BATCH, RECONCILE_BATCH, 200, 200];
    let results = [2 * RECONCILE_BATCH, 2 * RECONCILE_BATCH, 400];
    assert_eq!(batches, [&pass[..], &results[..]].concat());
    assert!(store.inner.scan_prefix("bridge/voice/busy/").await.unwrap().is_empty());
    assert_eq!(*store.lost.lock().unwrap(), 0);
    let mut written: Vec<String> =
        r.zendesk.writes().into_iter().map(|(id, v)| format!("{id}={v}")).collect();
    written.sort();
    written.dedup();
    assert_eq!(written.len(), agents, "every agent written exactly once");
    assert_eq!(r.zendesk.writes().len(), agents);
    assert!(r.zendesk.writes().iter().all(|(_, v)| v == "online"));
    h.shutdown();
    task.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn an_agent_another_instance_stored_first_is_stepped_again_and_written_once() {
    let r = rig();
    // The other instance stores ana's step (the write to Zendesk it then makes itself)
    // just before this instance's batch: this instance's compare-and-set for ana loses.
    let store = Shared::new(Some("ana@example.com"));
    let (h, task) = r.start_on(store.clone(), LinkMode::OneWay { from: Side::A });
    settle().await;
    assert_eq!(*store.lost.lock().unwrap(), 1, "ana's compare-and-set in the batch lost the race");
    // Re-read alone, ana's state already holds the pending write: this instance does not
    // write it a second time.
    assert!(r.zendesk.writes().is_empty(), "{:?}", r.zendesk.writes());
    // The other instance died before writing: after the write timeout, a tick finishes
    // the write, once.
    tokio::time::sleep(Duration::from_secs(120)).await;
    assert_eq!(r.zendesk.writes(), vec![("z1".into(), "online".into())]);
    let state = Bridge::stored_state(store.as_ref(), "voice", "ana@example.com").await.unwrap();
    assert!(state.is_some());
    h.shutdown();
    task.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_write_queued_longer_than_the_write_timeout_is_not_sent_twice() {
    let r = rig();
    // Zendesk's answer takes two minutes (a write queued behind a rate limit): twice the
    // link's write timeout. This instance knows the write is still under way and does not
    // time it out and send it again.
    *r.zendesk.write_delay.lock().unwrap() = Duration::from_secs(120);
    let (h, task) = r.start(LinkMode::OneWay { from: Side::A });
    tokio::time::sleep(Duration::from_secs(300)).await;
    assert_eq!(r.zendesk.writes(), vec![("z1".into(), "online".into())]);
    h.shutdown();
    task.await.unwrap().unwrap();
}
