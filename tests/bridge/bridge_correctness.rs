//! Continuous bridge correctness (issue 13): the "when in doubt, read" ordering rule,
//! clamped future stamps, explicit routing keys and decorated providers, one outcome per
//! delivery (notices and metrics), unpaired agents without full passes, link validation
//! before the first write, and the group filter on status links.
//!
//! Runs on in-memory providers under tokio's paused clock: every test is instant.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use deskbridge::filter::GroupFilter;
use deskbridge::mapping::{Side, StatusMap, StatusTable};
use deskbridge::ports::{StateStore, StatusProvider};
use deskbridge::status::{Agent, Channel, Group, NativeStatus, Presence};
use deskbridge::store::MemoryStore;
use deskbridge::sync::SkipReason;
use deskbridge::sync::{
    Bridge, BridgeEvent, BridgeHandle, BridgeNotice, BridgeOptions, DeliveryOutcome, LinkConfig, LinkMode,
    LinkState, Origin, StatusLink,
};
use deskbridge::{Error, Result};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// One agent of a fake provider: id, e-mail, groups, voice status.
type FakeAgent = (String, String, Vec<String>, String);

/// A provider whose agents live in memory. Counts listings and one-agent reads; records
/// writes. Optionally behaves like Zendesk (canonical spelling, a vocabulary).
struct Fake {
    name: &'static str,
    agents: Mutex<Vec<FakeAgent>>,
    writes: Mutex<Vec<(String, String)>>,
    lists: AtomicUsize,
    reads: AtomicUsize,
    /// Values `set_status` accepts on voice (`None`: cannot tell); other channels: none.
    vocabulary: Option<Vec<&'static str>>,
    /// Lower-cases the four Zendesk defaults, as the Zendesk adapter does.
    zendesk_spelling: bool,
}

impl Fake {
    fn new(name: &'static str, agents: &[(&str, &str, &[&str], &str)]) -> Self {
        Self {
            name,
            agents: Mutex::new(
                agents
                    .iter()
                    .map(|(id, email, groups, status)| {
                        (
                            id.to_string(),
                            email.to_string(),
                            groups.iter().map(|g| g.to_string()).collect(),
                            status.to_string(),
                        )
                    })
                    .collect(),
            ),
            writes: Mutex::new(Vec::new()),
            lists: AtomicUsize::new(0),
            reads: AtomicUsize::new(0),
            vocabulary: None,
            zendesk_spelling: false,
        }
    }
    fn aircall(agents: &[(&str, &str, &[&str], &str)]) -> Arc<Self> {
        Arc::new(Self { vocabulary: Some(vec!["available", "unavailable"]), ..Self::new("aircall", agents) })
    }
    fn zendesk(agents: &[(&str, &str, &[&str], &str)]) -> Arc<Self> {
        Arc::new(Self {
            vocabulary: Some(vec!["online", "away", "transfers_only", "offline"]),
            zendesk_spelling: true,
            ..Self::new("zendesk", agents)
        })
    }
    fn set(&self, id: &str, status: &str) {
        for agent in self.agents.lock().unwrap().iter_mut() {
            if agent.0 == id {
                agent.3 = status.into();
            }
        }
    }
    fn status(&self, id: &str) -> String {
        self.agents.lock().unwrap().iter().find(|a| a.0 == id).map(|a| a.3.clone()).unwrap_or_default()
    }
    fn writes(&self) -> Vec<(String, String)> {
        self.writes.lock().unwrap().clone()
    }
    fn lists(&self) -> usize {
        self.lists.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl StatusProvider for Fake {
    fn name(&self) -> &'static str {
        self.name
    }
    async fn list_agents(&self) -> Result<Vec<Agent>> {
        self.lists.fetch_add(1, Ordering::SeqCst);
        Ok(self
            .agents
            .lock()
            .unwrap()
            .iter()
            .map(|(id, email, groups, status)| Agent {
                id: id.as_str().into(),
                email: Some(email.as_str().into()),
                name: id.as_str().into(),
                groups: groups.clone(),
                statuses: deskbridge::status::Statuses::from([(
                    Channel::Voice,
                    NativeStatus::from(status.as_str()),
                )]),
            })
            .collect())
    }
    async fn list_groups(&self) -> Result<Vec<Group>> {
        let mut names: Vec<String> = self.agents.lock().unwrap().iter().flat_map(|a| a.2.clone()).collect();
        names.sort();
        names.dedup();
        Ok(names.into_iter().map(|name| Group { id: name.clone(), name }).collect())
    }
    async fn set_status(&self, agent_id: &str, _channel: Channel, status: &NativeStatus) -> Result<()> {
        self.writes.lock().unwrap().push((agent_id.to_owned(), status.as_str().to_owned()));
        self.set(agent_id, status.as_str());
        Ok(())
    }
    async fn agent_status(&self, agent_id: &str, channel: Channel) -> Result<Option<NativeStatus>> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        if channel != Channel::Voice {
            return Ok(None);
        }
        Ok(self
            .agents
            .lock()
            .unwrap()
            .iter()
            .find(|a| a.0 == agent_id)
            .map(|a| NativeStatus::from(a.3.as_str())))
    }
    fn canonical_status(&self, _channel: Channel, value: &NativeStatus) -> NativeStatus {
        let folded = value.as_str().trim().to_ascii_lowercase().replace(' ', "_");
        if self.zendesk_spelling && ["online", "away", "transfers_only", "offline"].contains(&folded.as_str())
        {
            NativeStatus::new(folded)
        } else {
            value.clone()
        }
    }
    async fn writable_statuses(&self, channel: Channel) -> Result<Option<Vec<NativeStatus>>> {
        Ok(self.vocabulary.as_ref().map(|values| {
            if channel == Channel::Voice {
                values.iter().map(|v| NativeStatus::from(*v)).collect()
            } else {
                Vec::new()
            }
        }))
    }
}

/// An embedder's decorator (metrics, logging) with a name of its own.
struct Metered {
    inner: Arc<Fake>,
    calls: AtomicUsize,
}

#[async_trait]
impl StatusProvider for Metered {
    fn name(&self) -> &'static str {
        "metered-aircall"
    }
    async fn list_agents(&self) -> Result<Vec<Agent>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.list_agents().await
    }
    async fn list_groups(&self) -> Result<Vec<Group>> {
        self.inner.list_groups().await
    }
    async fn set_status(&self, agent_id: &str, channel: Channel, status: &NativeStatus) -> Result<()> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.set_status(agent_id, channel, status).await
    }
}

fn epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().unwrap()
}

/// The bridge's clock: follows tokio's (paused) time from `epoch()` at `start`.
fn clock(start: tokio::time::Instant) -> Arc<dyn Fn() -> DateTime<Utc> + Send + Sync> {
    Arc::new(move || epoch() + chrono::Duration::from_std(start.elapsed()).unwrap())
}

/// The Prometheus recorder shared by the tests of this binary (a process has one).
fn metrics() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| PrometheusBuilder::new().install_recorder().unwrap())
}

/// The value of a counter line `name{labels} value` in the rendered metrics (0 if absent).
fn counter(name_and_labels: &str) -> f64 {
    metrics()
        .render()
        .lines()
        .find_map(|line| line.strip_prefix(name_and_labels).and_then(|rest| rest.trim().parse().ok()))
        .unwrap_or(0.0)
}

struct Run {
    handle: BridgeHandle,
    task: tokio::task::JoinHandle<Result<()>>,
    notices: Arc<Mutex<Vec<BridgeNotice>>>,
    started: tokio::time::Instant,
}

impl Run {
    fn notices(&self) -> Vec<BridgeNotice> {
        self.notices.lock().unwrap().clone()
    }
    fn now(&self) -> DateTime<Utc> {
        clock(self.started)()
    }
    fn outcomes(&self) -> Vec<DeliveryOutcome> {
        self.notices()
            .into_iter()
            .filter_map(|n| match n {
                BridgeNotice::Delivery { outcome, .. } => Some(outcome),
                _ => None,
            })
            .collect()
    }
    async fn send(&self, source: &str, id: &str, value: &str, at: DateTime<Utc>, delivery: &str) {
        let event = BridgeEvent::Status {
            provider: source.into(),
            agent_id: id.into(),
            channel: Channel::Voice,
            value: value.into(),
            origin: Origin::Unknown,
            at,
            delivery_id: Some(delivery.into()),
        };
        self.handle.send(event).await.unwrap();
    }
    async fn stop(self) -> Result<()> {
        self.handle.shutdown();
        self.task.await.unwrap()
    }
}

/// Start a bridge on `link` after `delay` of (paused) time; reconcile passes every 300 s.
async fn start_with(link: StatusLink, store: Arc<dyn StateStore>, delay: Duration) -> Run {
    let started = tokio::time::Instant::now();
    tokio::time::sleep(delay).await;
    let notices = Arc::new(Mutex::new(Vec::new()));
    let sink = notices.clone();
    let options = BridgeOptions::default()
        .with_reconcile_every(Duration::from_secs(300))
        .with_tick_every(Duration::from_secs(1));
    let bridge = Bridge::new(store, options)
        .status_link(link)
        .unwrap()
        .clock(clock(started))
        .on_notice(move |n| sink.lock().unwrap().push(n.clone()));
    let handle = bridge.handle();
    let task = tokio::spawn(bridge.run());
    tokio::time::sleep(Duration::from_millis(50)).await;
    Run { handle, task, notices, started }
}

fn link(a: Arc<dyn StatusProvider>, b: Arc<dyn StatusProvider>, mode: LinkMode) -> StatusLink {
    StatusLink::new(
        "voice",
        ("aircall", a, Channel::Voice),
        ("zendesk", b, Channel::Voice),
        LinkConfig::new(StatusMap::aircall_zendesk(), mode),
    )
}

const ONE_WAY: LinkMode = LinkMode::OneWay { from: Side::A };

fn pair() -> (Arc<Fake>, Arc<Fake>) {
    (
        Fake::aircall(&[
            ("1", "ana@example.com", &[], "unavailable"),
            ("2", "ben@example.com", &[], "unavailable"),
        ]),
        Fake::zendesk(&[
            ("z1", "ana@example.com", &[], "offline"),
            ("z2", "ben@example.com", &[], "offline"),
        ]),
    )
}

/// A whole-second stamp (as Aircall sends), `skew` seconds off our clock.
fn stamp(now: DateTime<Utc>, skew: i64) -> DateTime<Utc> {
    let t = now + chrono::Duration::seconds(skew);
    DateTime::from_timestamp(t.timestamp(), 0).unwrap()
}

async fn settle() {
    tokio::time::sleep(Duration::from_secs(3)).await;
}

/// Problem 1: a change made in the same second as a pass, stamped in whole seconds, and a
/// change stamped by a provider clock 2 s behind ours, are both applied at once (after
/// one read each), not dropped as older than the pass.
#[tokio::test(start_paused = true)]
async fn changes_around_a_pass_are_applied_at_once() {
    let (aircall, zendesk) = pair();
    // The pass starts 400 ms into a second.
    let run = start_with(
        link(aircall.clone(), zendesk.clone(), ONE_WAY),
        Arc::new(MemoryStore::new()),
        Duration::from_millis(400),
    )
    .await;
    assert_eq!(aircall.lists(), 1);
    assert!(zendesk.writes().is_empty(), "in sync at start");
    // Ana goes available right after the pass read her, in the same second.
    aircall.set("1", "available");
    run.send("aircall", "1", "available", stamp(run.now(), 0), "d1").await;
    // Ben goes available a second later; the provider's clock is 2 s behind ours.
    tokio::time::sleep(Duration::from_secs(1)).await;
    aircall.set("2", "available");
    run.send("aircall", "2", "available", stamp(run.now(), -2), "d2").await;
    settle().await;
    assert_eq!(zendesk.status("z1"), "online", "{:?}", run.notices());
    assert_eq!(zendesk.status("z2"), "online", "{:?}", run.notices());
    assert_eq!(aircall.lists(), 1, "no pass was needed");
    let confirmed: Vec<_> = run
        .outcomes()
        .into_iter()
        .filter(|o| matches!(o, DeliveryOutcome::Confirmed { read: Some(v) } if v.as_str() == "available"))
        .collect();
    assert_eq!(confirmed.len(), 2, "each doubtful delivery cost one read: {:?}", run.outcomes());
    assert_eq!(aircall.reads.load(Ordering::SeqCst), 2);
    // A delivery clearly newer than the pass is applied without a read.
    tokio::time::sleep(Duration::from_secs(60)).await;
    aircall.set("1", "unavailable");
    run.send("aircall", "1", "unavailable", stamp(run.now(), -3), "d3").await;
    settle().await;
    assert_eq!(zendesk.status("z1"), "offline");
    assert_eq!(aircall.reads.load(Ordering::SeqCst), 2);
    assert_eq!(run.outcomes().last(), Some(&DeliveryOutcome::Applied));
    // A late, older delivery of Ana is stale, with the stamps compared.
    run.send("aircall", "1", "available", stamp(run.now(), -40), "d0").await;
    settle().await;
    assert!(matches!(run.outcomes().last(), Some(DeliveryOutcome::Stale { .. })), "{:?}", run.outcomes());
    assert_eq!(zendesk.status("z1"), "offline");
    run.stop().await.unwrap();
}

/// Problem 2: a replayed delivery stamped in the year 2230 is clamped and confirmed by a
/// read (nothing wrong is written), and the agent keeps syncing afterwards.
#[tokio::test(start_paused = true)]
async fn a_stamp_in_the_future_never_freezes_an_agent() {
    let (aircall, zendesk) = pair();
    let run = start_with(
        link(aircall.clone(), zendesk.clone(), ONE_WAY),
        Arc::new(MemoryStore::new()),
        Duration::ZERO,
    )
    .await;
    let year_2230 = Utc.with_ymd_and_hms(2230, 1, 1, 0, 0, 0).single().unwrap();
    // A replay of an old "available" with a valid token and a stamp in 2230.
    run.send("aircall", "1", "available", year_2230, "replay").await;
    settle().await;
    assert!(zendesk.writes().is_empty(), "the replayed value was not written: {:?}", zendesk.writes());
    let notices = run.notices();
    assert!(
        notices.iter().any(|n| matches!(n, BridgeNotice::StampClamped { stamp, .. } if *stamp == year_2230)),
        "{notices:?}"
    );
    assert!(
        run.outcomes().iter().any(
            |o| matches!(o, DeliveryOutcome::Confirmed { read: Some(v) } if v.as_str() == "unavailable")
        )
    );
    // Real changes afterwards still sync, in both directions.
    for (i, value, expected) in [(1, "available", "online"), (2, "unavailable", "offline")] {
        tokio::time::sleep(Duration::from_secs(60)).await;
        aircall.set("1", value);
        run.send("aircall", "1", value, stamp(run.now(), 0), &format!("real{i}")).await;
        settle().await;
        assert_eq!(zendesk.status("z1"), expected, "{:?}", run.outcomes());
    }
    run.stop().await.unwrap();
}

/// Problem 2: a stored state whose stamps lie in 2230 (written before stamps were
/// clamped) is healed by the first pass.
#[tokio::test(start_paused = true)]
async fn a_pass_heals_an_agent_whatever_stamps_came_before() {
    let (aircall, zendesk) = pair();
    aircall.set("1", "available");
    let store = Arc::new(MemoryStore::new());
    let year_2230 = Utc.with_ymd_and_hms(2230, 1, 1, 0, 0, 0).single().unwrap();
    let mut state = LinkState::default();
    state.sides[0].observed = Some(("unavailable".into(), year_2230));
    state.sides[0].changed_at = Some(year_2230);
    state.sides[1].observed = Some(("offline".into(), year_2230));
    store.put("bridge/voice/agent/ana@example.com", serde_json::to_value(&state).unwrap()).await.unwrap();
    let run = start_with(link(aircall.clone(), zendesk.clone(), ONE_WAY), store, Duration::ZERO).await;
    settle().await;
    assert_eq!(zendesk.status("z1"), "online", "{:?}", run.notices());
    run.stop().await.unwrap();
}

/// Problem 3: events are routed by the link's routing key, not by `name()`: a provider
/// wrapped in a decorator with its own name is fed; an event no link takes is a notice
/// and a counter.
#[tokio::test(start_paused = true)]
async fn routing_is_by_key_so_decorated_providers_work() {
    let (aircall, zendesk) = pair();
    let metered = Arc::new(Metered { inner: aircall.clone(), calls: AtomicUsize::new(0) });
    let unrouted_before = counter("deskbridge_bridge_deliveries_total{outcome=\"unrouted\"}");
    let run = start_with(
        link(metered.clone(), zendesk.clone(), ONE_WAY),
        Arc::new(MemoryStore::new()),
        Duration::ZERO,
    )
    .await;
    tokio::time::sleep(Duration::from_secs(60)).await;
    aircall.set("1", "available");
    run.send("aircall", "1", "available", stamp(run.now(), 0), "d1").await;
    settle().await;
    assert_eq!(zendesk.status("z1"), "online", "{:?}", run.notices());
    assert_eq!(run.outcomes(), vec![DeliveryOutcome::Applied]);
    // The decorator's own name routes nothing.
    run.send("metered-aircall", "1", "unavailable", stamp(run.now(), 0), "d2").await;
    run.send("talkdesk", "1", "unavailable", stamp(run.now(), 0), "d3").await;
    settle().await;
    assert_eq!(zendesk.status("z1"), "online");
    let unrouted: Vec<_> =
        run.outcomes().into_iter().filter(|o| matches!(o, DeliveryOutcome::Unrouted { .. })).collect();
    assert_eq!(unrouted.len(), 2, "{:?}", run.outcomes());
    assert!(
        matches!(&unrouted[0], DeliveryOutcome::Unrouted { reason } if reason.contains("metered-aircall"))
    );
    assert!(counter("deskbridge_bridge_deliveries_total{outcome=\"unrouted\"}") >= unrouted_before + 2.0);
    assert!(counter("deskbridge_bridge_deliveries_total{outcome=\"applied\"}") >= 1.0);
    assert!(
        metrics().render().contains("deskbridge_bridge_writes_total{link=\"voice\",provider=\"zendesk\"}")
    );
    assert!(metrics().render().contains("deskbridge_bridge_pass_seconds"));
    run.stop().await.unwrap();
}

/// Problem 4: events for agents present on one side only cost no pass; an agent no pass
/// listed costs at most one pass per `learn_every`.
#[tokio::test(start_paused = true)]
async fn unpaired_agents_do_not_trigger_full_passes() {
    let aircall = Fake::aircall(&[
        ("1", "ana@example.com", &[], "unavailable"),
        ("9", "solo@example.com", &[], "unavailable"),
    ]);
    let zendesk = Fake::zendesk(&[("z1", "ana@example.com", &[], "offline")]);
    let run = start_with(
        link(aircall.clone(), zendesk.clone(), ONE_WAY),
        Arc::new(MemoryStore::new()),
        Duration::ZERO,
    )
    .await;
    assert_eq!((aircall.lists(), zendesk.lists()), (1, 1));
    for i in 0..10 {
        let value = if i % 2 == 0 { "available" } else { "unavailable" };
        run.send("aircall", "9", value, stamp(run.now(), 0), &format!("solo{i}")).await;
    }
    settle().await;
    assert_eq!((aircall.lists(), zendesk.lists()), (1, 1), "no pass for an unpaired agent");
    let unrouted = run.outcomes().iter().filter(|o| matches!(o, DeliveryOutcome::Unrouted { .. })).count();
    assert_eq!(unrouted, 10);
    // An agent no pass listed: one pass learns it, the next events are answered from memory.
    for i in 0..10 {
        run.send("aircall", "77", "available", stamp(run.now(), 0), &format!("new{i}")).await;
    }
    settle().await;
    assert_eq!((aircall.lists(), zendesk.lists()), (2, 2), "one learning pass");
    let unrouted = run.outcomes().iter().filter(|o| matches!(o, DeliveryOutcome::Unrouted { .. })).count();
    assert_eq!(unrouted, 20);
    run.stop().await.unwrap();
}

async fn refused(link: StatusLink) -> String {
    let store = Arc::new(MemoryStore::new());
    let bridge = Bridge::new(store, BridgeOptions::default()).status_link(link).unwrap();
    match tokio::time::timeout(Duration::from_secs(5), bridge.run()).await {
        Ok(Err(error)) => error.to_string(),
        other => panic!("the link was accepted: {other:?}"),
    }
}

/// Problem 5: links that cannot work are refused before anything is written, each with
/// an error that names the problem.
#[tokio::test(start_paused = true)]
async fn links_that_cannot_work_are_refused_before_the_first_write() {
    let (aircall, zendesk) = pair();
    aircall.set("1", "available");
    let with_map = |map: StatusMap, mode: LinkMode| {
        StatusLink::new(
            "voice",
            ("aircall", aircall.clone() as Arc<dyn StatusProvider>, Channel::Voice),
            ("zendesk", zendesk.clone() as Arc<dyn StatusProvider>, Channel::Voice),
            LinkConfig::new(map, mode),
        )
    };
    // A write value Zendesk would resolve loosely but the planner compares exactly.
    let loose = refused(with_map(
        StatusMap::aircall_zendesk().with_write(Side::B, Presence::Online, "Online"),
        ONE_WAY,
    ))
    .await;
    assert!(loose.contains("\"Online\"") && loose.contains("\"online\""), "{loose}");
    // A reading on the source side spelled otherwise than the provider reports it.
    let reading = refused(with_map(
        StatusMap::aircall_zendesk().with_reading(Side::B, "Away", Presence::Away),
        LinkMode::OneWay { from: Side::B },
    ))
    .await;
    assert!(reading.contains("reads \"Away\"") && reading.contains("\"away\""), "{reading}");
    // Sides swapped.
    let swapped = refused(with_map(
        StatusMap::new(deskbridge::zendesk::status_table(), deskbridge::aircall::status_table()),
        ONE_WAY,
    ))
    .await;
    assert!(swapped.contains("swapped"), "{swapped}");
    // Two-way: the swap is found on either side.
    let swapped = refused(with_map(
        StatusMap::new(deskbridge::zendesk::status_table(), deskbridge::aircall::status_table()),
        LinkMode::TwoWay,
    ))
    .await;
    assert!(swapped.contains("swapped"), "{swapped}");
    // A target table with no writes.
    let empty = refused(with_map(
        StatusMap::new(deskbridge::aircall::status_table(), StatusTable::new("zendesk")),
        ONE_WAY,
    ))
    .await;
    assert!(empty.contains("no value to write"), "{empty}");
    // A value outside the vocabulary.
    let unknown = refused(with_map(
        StatusMap::aircall_zendesk().with_write(Side::B, Presence::Online, "busy"),
        ONE_WAY,
    ))
    .await;
    assert!(unknown.contains("\"busy\"") && unknown.contains("does not accept"), "{unknown}");
    // An include filter on a channel the link does not sync.
    let filtered = refused(
        with_map(StatusMap::aircall_zendesk(), ONE_WAY)
            .with_filter(GroupFilter::default().include(Channel::Chat, ["Support"])),
    )
    .await;
    assert!(filtered.contains("chat") && filtered.contains("voice"), "{filtered}");
    // A filter naming a group nobody has.
    let unknown_group = refused(
        with_map(StatusMap::aircall_zendesk(), ONE_WAY)
            .with_filter(GroupFilter::default().do_not_change(["Nobody"])),
    )
    .await;
    assert!(unknown_group.contains("\"Nobody\""), "{unknown_group}");
    // A channel the target cannot write.
    let chat = StatusLink::new(
        "voice",
        ("aircall", aircall.clone() as Arc<dyn StatusProvider>, Channel::Voice),
        ("zendesk", zendesk.clone() as Arc<dyn StatusProvider>, Channel::Chat),
        LinkConfig::new(StatusMap::aircall_zendesk(), ONE_WAY),
    );
    let chat = refused(chat).await;
    assert!(chat.contains("cannot write"), "{chat}");
    assert!(zendesk.writes().is_empty() && aircall.writes().is_empty(), "nothing was written");
    assert_eq!(zendesk.lists(), 0, "refused before the first pass");
}

/// Problem 6: the group filter on a status link, with `OneShot`'s semantics, one-way and
/// two-way.
#[tokio::test(start_paused = true)]
async fn the_group_filter_applies_to_status_links() {
    for mode in [ONE_WAY, LinkMode::TwoWay] {
        let aircall = Fake::aircall(&[
            ("1", "ana@example.com", &["Phones"], "available"),
            ("2", "ben@example.com", &["Phones"], "available"),
            ("3", "cy@example.com", &[], "available"),
        ]);
        let zendesk = Fake::zendesk(&[
            ("z1", "ana@example.com", &["Support"], "offline"),
            ("z2", "ben@example.com", &["Support", "Managers"], "offline"),
            ("z3", "cy@example.com", &["Sales"], "offline"),
        ]);
        // One-way: the filter is checked against the target's groups (Zendesk); two-way,
        // against the groups of both sides.
        let included: &[&str] = if mode == ONE_WAY { &["Support"] } else { &["Support", "Phones"] };
        let filter = GroupFilter::default()
            .include(Channel::Voice, included.iter().copied())
            .do_not_change(["Managers"]);
        let link = link(aircall.clone(), zendesk.clone(), mode).with_filter(filter);
        let run = start_with(link, Arc::new(MemoryStore::new()), Duration::ZERO).await;
        settle().await;
        if mode == ONE_WAY {
            assert_eq!(zendesk.writes(), vec![("z1".to_owned(), "online".to_owned())], "{:?}", run.notices());
        } else {
            // Two-way: with no change time known, side A wins; the filter protects each
            // agent on the side that would be written.
            assert_eq!(zendesk.writes(), vec![("z1".to_owned(), "online".to_owned())], "{:?}", run.notices());
            assert!(aircall.writes().is_empty());
        }
        let skips: Vec<SkipReason> = run
            .notices()
            .into_iter()
            .filter_map(|n| match n {
                BridgeNotice::Skipped { reason, .. } => Some(reason),
                _ => None,
            })
            .collect();
        assert!(skips.contains(&SkipReason::DoNotChange { group: "Managers".into() }), "{skips:?}");
        assert!(skips.contains(&SkipReason::NotInIncludedGroups { channel: Channel::Voice }), "{skips:?}");
        if mode == LinkMode::TwoWay {
            // Cy changes on Zendesk: the Aircall side of Cy is in no included group either.
            tokio::time::sleep(Duration::from_secs(60)).await;
            zendesk.set("z3", "online");
            aircall.set("3", "unavailable");
            let event = BridgeEvent::Status {
                provider: "zendesk".into(),
                agent_id: "z3".into(),
                channel: Channel::Voice,
                value: "offline".into(),
                origin: Origin::Others,
                at: stamp(run.now(), 0),
                delivery_id: Some("z3".into()),
            };
            run.handle.send(event).await.unwrap();
            settle().await;
            assert!(aircall.writes().is_empty(), "{:?}", aircall.writes());
        }
        run.stop().await.unwrap();
    }
}

/// The port's one-agent read falls back to a listing for providers that do not override
/// it (embedders' providers keep compiling and working).
#[tokio::test(start_paused = true)]
async fn the_default_one_agent_read_lists() {
    struct Plain(Arc<Fake>);
    #[async_trait]
    impl StatusProvider for Plain {
        fn name(&self) -> &'static str {
            "plain"
        }
        async fn list_agents(&self) -> Result<Vec<Agent>> {
            self.0.list_agents().await
        }
        async fn list_groups(&self) -> Result<Vec<Group>> {
            Ok(Vec::new())
        }
        async fn set_status(&self, _: &str, _: Channel, _: &NativeStatus) -> Result<()> {
            Err(Error::config("read-only"))
        }
    }
    let (aircall, _) = pair();
    aircall.set("2", "available");
    let plain = Plain(aircall.clone());
    assert_eq!(plain.agent_status("2", Channel::Voice).await.unwrap(), Some("available".into()));
    assert_eq!(plain.agent_status("404", Channel::Voice).await.unwrap(), None);
    assert_eq!(plain.writable_statuses(Channel::Voice).await.unwrap(), None);
}

/// The routers mount under any path prefix, inside an application with its own state;
/// their events carry the routing key the link names; Aircall's replay window refuses a
/// delivery stamped in 2230 before anything is queued.
#[cfg(all(feature = "server", feature = "aircall"))]
#[tokio::test]
async fn routers_mount_under_a_prefix_in_an_app_with_state() {
    use deskbridge::aircall::PROVIDER as AIRCALL_SOURCE;
    use deskbridge::aircall::WebhookVerifier;
    use deskbridge::server::webhooks::WebhookRoutes;

    #[derive(Clone)]
    struct AppState(&'static str);

    let (aircall, zendesk) = pair();
    let link = StatusLink::new(
        "voice",
        (AIRCALL_SOURCE, aircall.clone() as Arc<dyn StatusProvider>, Channel::Voice),
        ("zendesk", zendesk.clone() as Arc<dyn StatusProvider>, Channel::Voice),
        LinkConfig::new(StatusMap::aircall_zendesk(), ONE_WAY),
    );
    let notices = Arc::new(Mutex::new(Vec::new()));
    let sink = notices.clone();
    let bridge = Bridge::new(Arc::new(MemoryStore::new()), BridgeOptions::default())
        .status_link(link)
        .unwrap()
        .on_notice(move |n| sink.lock().unwrap().push(n.clone()));
    let handle = bridge.handle();
    let task = tokio::spawn(bridge.run());
    let verifier = WebhookVerifier::new("hook-token").unwrap().with_max_age(Duration::from_secs(600));
    let app: axum::Router<AppState> = axum::Router::new()
        .route(
            "/health",
            axum::routing::get(|axum::extract::State(state): axum::extract::State<AppState>| async move {
                state.0
            }),
        )
        .merge(
            WebhookRoutes::new(handle.clone()).path_prefix("hooks/v1/").aircall(verifier).into_router_for(),
        );
    let app = app.with_state(AppState("ok"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let body = |timestamp: i64| {
        serde_json::json!({
            "resource": "user", "event": "user.opened.v2", "timestamp": timestamp, "token": "hook-token",
            "data": {"id": 1, "email": "ana@example.com", "availability_status": "available"}
        })
        .to_string()
    };
    let client = reqwest::Client::new();
    let post = |path: &str, body: String| client.post(format!("{base}{path}")).body(body).send();
    assert_eq!(reqwest::get(format!("{base}/health")).await.unwrap().text().await.unwrap(), "ok");
    let now = Utc::now().timestamp();
    assert_eq!(post("/webhooks/aircall", body(now)).await.unwrap().status().as_u16(), 404);
    let replay =
        post("/hooks/v1/aircall", body(Utc.with_ymd_and_hms(2230, 1, 1, 0, 0, 0).unwrap().timestamp()));
    assert_eq!(replay.await.unwrap().status().as_u16(), 401, "outside the replay window");
    aircall.set("1", "available");
    assert_eq!(post("/hooks/v1/aircall", body(now)).await.unwrap().status().as_u16(), 200);
    for _ in 0..200 {
        if zendesk.status("z1") == "online" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(zendesk.status("z1"), "online", "{:?}", notices.lock().unwrap());
    let deliveries =
        notices.lock().unwrap().iter().filter(|n| matches!(n, BridgeNotice::Delivery { .. })).count();
    assert_eq!(deliveries, 1, "the refused replay never reached the bridge");
    handle.shutdown();
    task.await.unwrap().unwrap();
    server.abort();
}
