//! The continuous bridge: runs status links, schedule links and inboxes all day.
//!
//! A [`Bridge`] owns a set of links and one [`StateStore`]. It reacts to
//! [`BridgeEvent`]s as they arrive (webhooks parsed by the `server` routers, or anything
//! the embedder sends through a [`BridgeHandle`]), runs a reconcile pass every interval
//! that repairs whatever a lost webhook missed, re-runs schedule links at every shift
//! boundary, polls inboxes, and shuts down gracefully: in-flight writes finish and their
//! results are stored before [`Bridge::run`] returns.
//!
//! Every agent's [`LinkState`] is stored under `bridge/{link}/agent/{key}` after each
//! change, so a restarted bridge continues where it stopped: a write that was in flight
//! when the process died is re-checked (its result is unknown) instead of forgotten.
//!
//! # Several instances
//!
//! The store, not memory, holds the truth: every event is applied by reading the agent's
//! state, stepping it and storing the result with one
//! [`compare_and_set`](StateStore::compare_and_set). That statement is the agent's claim:
//! the instance whose compare-and-set lands owns the writes it asks for, which it records
//! as the side's `pending` write *before* issuing them; an instance that loses the race
//! re-reads and steps again, and then finds the write pending (so it never issues it a
//! second time). A pending write is a lease that expires after the link's
//! [`write_timeout`](LinkConfig::write_timeout): if its instance dies, another instance
//! counts it as failed once the timeout has passed and retries it. Agents with a write
//! pending or a retry scheduled are listed under `bridge/{link}/busy/{key}`, which every
//! instance scans at each tick (and repairs at each reconcile pass), so any instance
//! finishes another's work. Schedule links run under a claim
//! ([`StateStore::try_claim`]) `bridge/schedule/{n}/claim`, so two instances never run the
//! same one at the same time. Several instances therefore share one store (PostgreSQL) and
//! need nothing else in common; see `docs/SHARED_STATE.md`.
//!
//! Cost of the reconcile interval, per status link and pass: the requests needed to list
//! both providers' agents with their statuses (Aircall: ⌈agents/50⌉ pages; Zendesk with
//! omnichannel routing: ⌈agents/100⌉ pages each of users, memberships, groups and
//! availabilities) plus one write per agent found out of sync. Unchanged agents cost no
//! write and no state-store write.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::identity::{EmailKey, IdentityOverrides, join};
use crate::inbox::Inbox;
use crate::mapping::Side;
use crate::ports::{InboundMessage, StateStore, StatusProvider};
use crate::status::{Channel, NativeStatus};
use crate::store::StateStoreExt;
use crate::sync::link::{LinkAction, LinkConfig, LinkEvent, LinkState, Origin, Seen, SkipReason, step};
use crate::sync::shifts::ShiftSync;
use crate::{Error, Result};

/// A status link between two providers, for every agent they share.
pub struct StatusLink {
    /// A short name, unique in the bridge (used in state keys and notices).
    pub name: String,
    /// Side A's provider and the channel read and written there.
    pub a: (Arc<dyn StatusProvider>, Channel),
    /// Side B's provider and channel.
    pub b: (Arc<dyn StatusProvider>, Channel),
    /// Mapping, direction, echo window, retries.
    pub config: LinkConfig,
    /// Explicit identity pairs (side A e-mail → side B e-mail).
    pub identity: IdentityOverrides,
}

impl std::fmt::Debug for StatusLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusLink")
            .field("name", &self.name)
            .field("a", &(self.a.0.name(), self.a.1))
            .field("b", &(self.b.0.name(), self.b.1))
            .field("mode", &self.config.mode)
            .finish_non_exhaustive()
    }
}

/// Something the bridge should react to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "event")]
pub enum BridgeEvent {
    /// A provider reported an agent's status (a verified webhook).
    Status {
        /// Provider name (`aircall`, `zendesk`).
        provider: String,
        /// The provider's agent id.
        agent_id: String,
        /// The channel.
        channel: Channel,
        /// The provider's value.
        value: NativeStatus,
        /// Who set it, if the provider says.
        origin: Origin,
        /// When it was set (provider time).
        at: DateTime<Utc>,
        /// The delivery id, for dropping duplicate deliveries.
        delivery_id: Option<String>,
    },
    /// A provider says an agent changed but not to what: re-read at the next pass (run
    /// one now).
    Changed {
        /// Provider name.
        provider: String,
        /// The provider's agent id.
        agent_id: String,
    },
    /// A social message arrived (a verified webhook); routed by the inbox whose source
    /// has this name.
    Message {
        /// The message source's name (`x`).
        source: String,
        /// The message.
        message: InboundMessage,
    },
    /// Run a reconcile pass of every link now.
    ReconcileNow,
}

/// What the bridge did, as it happens (for logs, consoles and tests).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "notice")]
pub enum BridgeNotice {
    /// A status was observed on a side of a link.
    Observed {
        /// Link name.
        link: String,
        /// Agent key (normalised e-mail).
        agent: String,
        /// Provider name.
        provider: String,
        /// The value.
        value: NativeStatus,
        /// Who set it.
        origin: Origin,
    },
    /// A write succeeded.
    Wrote {
        /// Link name.
        link: String,
        /// Agent key.
        agent: String,
        /// Provider written.
        provider: String,
        /// Value written.
        value: NativeStatus,
    },
    /// A write failed (it is retried per the link's policy).
    WriteFailed {
        /// Link name.
        link: String,
        /// Agent key.
        agent: String,
        /// Provider.
        provider: String,
        /// The value.
        value: NativeStatus,
        /// The error.
        error: String,
    },
    /// A link deliberately did not write.
    Skipped {
        /// Link name.
        link: String,
        /// Agent key.
        agent: String,
        /// Why.
        reason: SkipReason,
    },
    /// A delivery seen before was dropped.
    Duplicate {
        /// The delivery id.
        delivery_id: String,
    },
    /// A reconcile pass finished.
    Reconciled {
        /// Link name.
        link: String,
        /// Agents present on both sides.
        agents: usize,
    },
    /// A schedule link ran.
    ScheduleRan {
        /// Writes made.
        written: usize,
        /// Writes failed.
        failed: usize,
    },
    /// An inbox routed messages.
    InboxRouted {
        /// Messages routed in this pass.
        messages: usize,
        /// Messages that failed (retried later).
        failed: usize,
    },
    /// Something failed that the bridge will retry on its own (a pass, a poll).
    Error {
        /// What was being done.
        context: String,
        /// The error.
        error: String,
    },
}

/// Timings of a [`Bridge`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BridgeOptions {
    /// How often every link is reconciled (default 5 minutes).
    pub reconcile_every: StdDuration,
    /// How often retries and write timeouts are checked (default 1 s).
    pub tick_every: StdDuration,
    /// Writes in flight at once, all links together (default 16).
    pub write_concurrency: usize,
    /// Delivery ids remembered to drop duplicates (default 10,000).
    pub remembered_deliveries: usize,
    /// How long a schedule link's claim lasts (default 5 minutes): longer than one run of
    /// the link takes, so that no other instance runs it at the same time. An instance
    /// that dies mid-run holds the link at most this long.
    pub lease_ttl: StdDuration,
}

impl Default for BridgeOptions {
    fn default() -> Self {
        Self {
            reconcile_every: StdDuration::from_secs(300),
            tick_every: StdDuration::from_secs(1),
            write_concurrency: 16,
            remembered_deliveries: 10_000,
            lease_ttl: StdDuration::from_secs(300),
        }
    }
}

/// A handle to send events to a running bridge and to stop it.
#[derive(Debug, Clone)]
pub struct BridgeHandle {
    events: mpsc::Sender<BridgeEvent>,
    stop: Arc<watch::Sender<bool>>,
}

impl BridgeHandle {
    /// Queue an event.
    ///
    /// # Errors
    /// [`Error::Stopped`] when the bridge has stopped (its run loop ended).
    pub async fn send(&self, event: BridgeEvent) -> Result<()> {
        self.events
            .send(event)
            .await
            .map_err(|_| Error::Stopped { component: "bridge", message: "cannot queue an event".to_owned() })
    }

    /// Ask the bridge to stop: it finishes in-flight writes, stores their results and
    /// returns from [`Bridge::run`].
    pub fn shutdown(&self) {
        // Err only when the bridge already returned: nothing left to stop.
        let _ = self.stop.send(true);
    }
}

/// A notice callback.
pub type NoticeCallback = Arc<dyn Fn(&BridgeNotice) + Send + Sync>;

/// A clock (injectable for tests).
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

struct LinkRuntime {
    link: StatusLink,
    /// (side, provider agent id) → agent key.
    index: HashMap<(Side, String), String>,
    /// agent key → provider agent ids per side.
    ids: HashMap<String, [Option<String>; 2]>,
}

struct WriteDone {
    link: usize,
    key: String,
    side: Side,
    value: NativeStatus,
    result: std::result::Result<(), (String, Option<StdDuration>)>,
}

/// The continuous bridge. See the [module docs](self).
pub struct Bridge {
    links: Vec<LinkRuntime>,
    shifts: Vec<ShiftSync>,
    inboxes: Vec<(String, Inbox)>,
    store: Arc<dyn StateStore>,
    options: BridgeOptions,
    clock: Clock,
    notices: Option<NoticeCallback>,
    events_tx: mpsc::Sender<BridgeEvent>,
    events_rx: mpsc::Receiver<BridgeEvent>,
    stop_tx: Arc<watch::Sender<bool>>,
    stop_rx: watch::Receiver<bool>,
    seen: (HashSet<String>, VecDeque<String>),
    instance_id: String,
}

impl std::fmt::Debug for Bridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bridge")
            .field("links", &self.links.iter().map(|l| &l.link).collect::<Vec<_>>())
            .field("schedule_links", &self.shifts.len())
            .field("inboxes", &self.inboxes.len())
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

fn state_key(link: &str, agent: &str) -> String {
    format!("bridge/{link}/agent/{agent}")
}

fn busy_prefix(link: &str) -> String {
    format!("bridge/{link}/busy/")
}

fn busy_key(link: &str, agent: &str) -> String {
    format!("bridge/{link}/busy/{agent}")
}

/// How often applying one event re-reads a state that another instance changed meanwhile.
const STEP_ATTEMPTS: usize = 32;

/// The environment variable that names this instance (see [`default_instance_id`]).
pub const INSTANCE_ID_VARIABLE: &str = "DESKBRIDGE_INSTANCE_ID";

/// The name an instance uses in the claims it takes in a shared store unless told
/// otherwise: the environment variable [`INSTANCE_ID_VARIABLE`] (`DESKBRIDGE_INSTANCE_ID`)
/// when set, else the host name.
///
/// The name is stable across restarts on purpose: an instance restarted after a crash takes
/// back its own claims at once (a claim of the same owner is renewed) instead of waiting for
/// them to expire, exactly like a single process that restarts. Instances sharing a store
/// must have distinct names, so two instances on the same host (or containers sharing the
/// host's name) must set `DESKBRIDGE_INSTANCE_ID`, or the embedder passes distinct ids to
/// [`Bridge::instance_id`] and [`Inbox::instance_id`].
pub fn default_instance_id() -> String {
    let named = |value: Option<String>| value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    named(std::env::var(INSTANCE_ID_VARIABLE).ok())
        .or_else(|| named(std::env::var("HOSTNAME").ok()))
        .or_else(|| named(std::fs::read_to_string("/etc/hostname").ok()))
        .unwrap_or_else(|| "deskbridge".to_owned())
}

/// `event`, less what is not newer than the state: a snapshot value that differs from a
/// side's recorded value, read no later than that value was recorded, may have been read
/// before a write that another instance made and recorded in between; it is dropped (the
/// next pass reads again). Other events pass unchanged.
fn fresh_part(event: &LinkEvent, state: &LinkState) -> LinkEvent {
    let LinkEvent::Snapshot { a, b } = event else { return event.clone() };
    let fresh = |side: Side, seen: &Option<Seen>| {
        seen.as_ref()
            .filter(|seen| match &state.side(side).observed {
                Some((value, recorded_at)) => *value == seen.value || seen.at > *recorded_at,
                None => true,
            })
            .cloned()
    };
    LinkEvent::Snapshot { a: fresh(Side::A, a), b: fresh(Side::B, b) }
}

/// The result of applying one event to an agent's stored state.
struct Stepped {
    actions: Vec<LinkAction>,
    /// Whether the stored state changed.
    changed: bool,
    /// Whether the state has a write pending or a retry scheduled afterwards.
    busy: bool,
}

impl Bridge {
    /// A bridge keeping its state in `store` (a [`FileStore`](crate::store::FileStore) by
    /// default in the examples; PostgreSQL for several instances).
    pub fn new(store: Arc<dyn StateStore>, options: BridgeOptions) -> Self {
        let (events_tx, events_rx) = mpsc::channel(1024);
        let (stop_tx, stop_rx) = watch::channel(false);
        Self {
            links: Vec::new(),
            shifts: Vec::new(),
            inboxes: Vec::new(),
            store,
            options,
            clock: Arc::new(Utc::now),
            notices: None,
            events_tx,
            events_rx,
            stop_tx: Arc::new(stop_tx),
            stop_rx,
            seen: (HashSet::new(), VecDeque::new()),
            instance_id: default_instance_id(),
        }
    }

    /// Name this instance `id` in the claims it takes (default: [`default_instance_id`]).
    /// Instances sharing a store must have distinct ids; keep the id across restarts.
    pub fn instance_id(mut self, id: impl Into<String>) -> Self {
        self.instance_id = id.into();
        self
    }

    /// Add a status link. Names must be unique.
    pub fn status_link(mut self, link: StatusLink) -> Result<Self> {
        if self.links.iter().any(|l| l.link.name == link.name) {
            return Err(Error::config(format!("two status links are named \"{}\"", link.name)));
        }
        if link.name.is_empty() || link.name.contains('/') {
            return Err(Error::config("a link name must be non-empty and contain no '/'"));
        }
        self.links.push(LinkRuntime { link, index: HashMap::new(), ids: HashMap::new() });
        Ok(self)
    }

    /// Add a schedule link: it runs at start, at every shift boundary and every reconcile
    /// interval.
    pub fn schedule_link(mut self, shifts: ShiftSync) -> Self {
        self.shifts.push(shifts);
        self
    }

    /// Add an inbox, polled every reconcile interval; [`BridgeEvent::Message`]s whose
    /// `source` is `source_name` are routed through it at once.
    pub fn inbox(mut self, source_name: impl Into<String>, inbox: Inbox) -> Self {
        self.inboxes.push((source_name.into(), inbox));
        self
    }

    /// Use `clock` instead of the system clock.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Receive a [`BridgeNotice`] for everything the bridge does.
    pub fn on_notice(mut self, notice: impl Fn(&BridgeNotice) + Send + Sync + 'static) -> Self {
        self.notices = Some(Arc::new(notice));
        self
    }

    /// A handle to send events and to stop the bridge.
    pub fn handle(&self) -> BridgeHandle {
        BridgeHandle { events: self.events_tx.clone(), stop: self.stop_tx.clone() }
    }

    fn notify(&self, notice: BridgeNotice) {
        tracing::debug!(?notice, "bridge");
        if let Some(n) = &self.notices {
            n(&notice);
        }
    }

    /// The stored state of one agent of a link (for inspection and tests).
    pub async fn stored_state(
        store: &dyn StateStore,
        link: &str,
        agent_email: &str,
    ) -> Result<Option<LinkState>> {
        let key = crate::identity::normalize_email(agent_email).unwrap_or_default();
        store.get_as(&state_key(link, &key)).await
    }

    /// Run until [`BridgeHandle::shutdown`]. Reconciles every link at once, then reacts to
    /// events, ticks, reconcile intervals and shift boundaries.
    ///
    /// Failures of a provider or of the store while handling an event, a tick or a pass
    /// are reported as [`BridgeNotice::Error`] and retried by later ticks and passes; the
    /// bridge keeps running.
    pub async fn run(mut self) -> Result<()> {
        let (done_tx, mut done_rx) = mpsc::unbounded_channel::<WriteDone>();
        let mut writes: JoinSet<()> = JoinSet::new();
        let permits = Arc::new(tokio::sync::Semaphore::new(self.options.write_concurrency.max(1)));
        let mut reconcile = tokio::time::interval(self.options.reconcile_every);
        reconcile.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut tick = tokio::time::interval(self.options.tick_every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut next_shift_run = (self.clock)();
        let mut stop = self.stop_rx.clone();
        loop {
            let shift_wait = (next_shift_run - (self.clock)()).to_std().unwrap_or(StdDuration::ZERO);
            let has_shifts = !self.shifts.is_empty();
            tokio::select! {
                biased;
                _ = stop.changed() => break,
                Some(done) = done_rx.recv() => self.write_done(done, &mut writes, &permits, &done_tx).await,
                Some(event) = self.events_rx.recv() => self.on_event(event, &mut writes, &permits, &done_tx).await,
                _ = reconcile.tick() => {
                    self.reconcile_all(&mut writes, &permits, &done_tx).await;
                    self.poll_inboxes().await;
                }
                _ = tick.tick() => self.tick_all(&mut writes, &permits, &done_tx).await,
                _ = tokio::time::sleep(shift_wait), if has_shifts => {
                    next_shift_run = self.run_shifts().await;
                }
            }
        }
        // Graceful shutdown: handle the events already queued, let in-flight writes
        // finish, and store their results.
        while let Ok(event) = self.events_rx.try_recv() {
            self.on_event(event, &mut writes, &permits, &done_tx).await;
        }
        drop(done_tx);
        while writes.join_next().await.is_some() {}
        while let Ok(done) = done_rx.try_recv() {
            let context = format!("storing the result of a write for {}", done.key);
            if let Err(e) = self.apply_write_result(done).await {
                self.notify(BridgeNotice::Error { context, error: e.to_string() });
            }
        }
        Ok(())
    }

    async fn run_shifts(&self) -> DateTime<Utc> {
        let now = (self.clock)();
        let reconcile =
            chrono::Duration::from_std(self.options.reconcile_every).unwrap_or(chrono::Duration::minutes(5));
        let mut next = now + reconcile;
        for (n, shifts) in self.shifts.iter().enumerate() {
            // One instance at a time runs a schedule link; another that finds it claimed
            // leaves it (the holder is running it now).
            let claim = format!("bridge/schedule/{n}/claim");
            match self.store.try_claim(&claim, &self.instance_id, self.options.lease_ttl, now).await {
                Ok(true) => {
                    match shifts.run_once(now, false).await {
                        Ok(report) => self.notify(BridgeNotice::ScheduleRan {
                            written: report.written.len(),
                            failed: report.failed.len(),
                        }),
                        Err(e) => self.notify(BridgeNotice::Error {
                            context: "schedule link".into(),
                            error: e.to_string(),
                        }),
                    }
                    if let Err(e) = self.store.release_claim(&claim, &self.instance_id).await {
                        // The claim lapses on its own after lease_ttl.
                        self.notify(BridgeNotice::Error {
                            context: format!("releasing {claim}"),
                            error: e.to_string(),
                        });
                    }
                }
                Ok(false) => {}
                Err(e) => self.notify(BridgeNotice::Error {
                    context: format!("claiming {claim}"),
                    error: e.to_string(),
                }),
            }
            if let Ok(t) = shifts.next_run_after(now, reconcile).await {
                next = next.min(t);
            }
        }
        next
    }

    async fn poll_inboxes(&self) {
        let now = (self.clock)();
        for (name, inbox) in &self.inboxes {
            match inbox.poll_once(now, false).await {
                Ok(report) => self.notify(BridgeNotice::InboxRouted {
                    messages: report.messages.len(),
                    failed: report.count(|o| matches!(o, crate::inbox::MessageOutcome::Failed { .. })),
                }),
                Err(e) => self
                    .notify(BridgeNotice::Error { context: format!("inbox {name}"), error: e.to_string() }),
            }
        }
    }

    fn remember_delivery(&mut self, id: &str) -> bool {
        if self.seen.0.contains(id) {
            return false;
        }
        self.seen.0.insert(id.to_owned());
        self.seen.1.push_back(id.to_owned());
        while self.seen.1.len() > self.options.remembered_deliveries {
            if let Some(old) = self.seen.1.pop_front() {
                self.seen.0.remove(&old);
            }
        }
        true
    }

    async fn on_event(
        &mut self,
        event: BridgeEvent,
        writes: &mut JoinSet<()>,
        permits: &Arc<tokio::sync::Semaphore>,
        done: &mpsc::UnboundedSender<WriteDone>,
    ) {
        match event {
            BridgeEvent::Status { provider, agent_id, channel, value, origin, at, delivery_id } => {
                if let Some(id) = &delivery_id
                    && !self.remember_delivery(&format!("{provider}/{id}"))
                {
                    self.notify(BridgeNotice::Duplicate { delivery_id: id.clone() });
                    return;
                }
                let now = (self.clock)();
                let mut unknown_agent = false;
                for li in 0..self.links.len() {
                    let sides = [Side::A, Side::B];
                    for side in sides {
                        let (p, ch) = match side {
                            Side::A => (&self.links[li].link.a.0, self.links[li].link.a.1),
                            Side::B => (&self.links[li].link.b.0, self.links[li].link.b.1),
                        };
                        if p.name() != provider || ch != channel {
                            continue;
                        }
                        let Some(key) = self.links[li].index.get(&(side, agent_id.clone())).cloned() else {
                            unknown_agent = true;
                            continue;
                        };
                        self.notify(BridgeNotice::Observed {
                            link: self.links[li].link.name.clone(),
                            agent: key.clone(),
                            provider: provider.clone(),
                            value: value.clone(),
                            origin,
                        });
                        let ev = LinkEvent::Observed { side, value: value.clone(), origin, at };
                        self.step_agent(li, &key, ev, now, None, writes, permits, done).await;
                    }
                }
                if unknown_agent {
                    // A new agent, or one whose roster entry we lack: a pass learns it.
                    self.reconcile_all(writes, permits, done).await;
                }
            }
            BridgeEvent::Changed { .. } | BridgeEvent::ReconcileNow => {
                self.reconcile_all(writes, permits, done).await
            }
            BridgeEvent::Message { source, message } => {
                let now = (self.clock)();
                if let Some((_, inbox)) = self.inboxes.iter().find(|(name, _)| *name == source) {
                    let routed = inbox.route(message, now, false).await;
                    let failed =
                        usize::from(matches!(routed.outcome, crate::inbox::MessageOutcome::Failed { .. }));
                    self.notify(BridgeNotice::InboxRouted { messages: 1, failed });
                }
            }
        }
    }

    /// Whether this instance knows the provider id of `key` on every side `actions` write.
    fn can_issue(&self, li: usize, key: &str, actions: &[LinkAction]) -> bool {
        let ids = self.links[li].ids.get(key);
        actions.iter().all(|action| match action {
            LinkAction::Write { side, .. } => ids.is_some_and(|ids| ids[side.index()].is_some()),
            LinkAction::Skip(_) => true,
        })
    }

    /// Apply `event` to the agent's stored state: read it (or take `stored`, a value just
    /// read with the key's current value), step it, and store the result with one
    /// compare-and-set, re-reading and stepping again whenever another instance changed the
    /// state in between. Returns `None`, storing nothing, when `issue` is set and the step
    /// asks for a write this instance cannot make (an agent it has not seen in a pass yet):
    /// another instance, or this one after its next pass, will.
    async fn commit_step(
        &self,
        li: usize,
        key: &str,
        event: &LinkEvent,
        now: DateTime<Utc>,
        mut stored: Option<Option<Value>>,
        issue: bool,
    ) -> Result<Option<Stepped>> {
        let rt = &self.links[li];
        let skey = state_key(&rt.link.name, key);
        let mut store_errors = 0;
        for _ in 0..STEP_ATTEMPTS {
            let current = match stored.take() {
                Some(value) => value,
                None => self.store.get(&skey).await?,
            };
            let before = match &current {
                Some(value) => LinkState::deserialize(value).map_err(|e| {
                    Error::store(format!("key \"{skey}\" holds a value that is not a link state ({e})"))
                })?,
                None => LinkState::default(),
            };
            let mut state = before.clone();
            let actions = step(&rt.link.config, &mut state, fresh_part(event, &before), now);
            let busy = !state.is_idle();
            if state == before {
                return Ok(Some(Stepped { actions, changed: false, busy }));
            }
            if issue && !self.can_issue(li, key, &actions) {
                return Ok(None);
            }
            let new = serde_json::to_value(&state)
                .map_err(|e| Error::store(format!("cannot encode the state \"{skey}\": {e}")))?;
            match self.store.compare_and_set(&skey, current.as_ref(), Some(new)).await {
                Ok(true) => {
                    if busy && !before.is_idle() {
                        // Still busy: the marker is there already.
                    } else if busy {
                        self.store.put(&busy_key(&rt.link.name, key), Value::Bool(true)).await?;
                    } else if !before.is_idle() {
                        self.clear_busy(li, key).await?;
                    }
                    return Ok(Some(Stepped { actions, changed: true, busy }));
                }
                // Another instance changed the state first: step its version.
                Ok(false) => {}
                // Unknown whether it applied (a connection lost mid-call): re-read. Had it
                // applied, stepping the stored result again asks for no second write.
                Err(e) => {
                    store_errors += 1;
                    if store_errors > 2 {
                        return Err(e);
                    }
                }
            }
        }
        Err(Error::store(format!(
            "the state \"{skey}\" kept changing under other instances; gave up after {STEP_ATTEMPTS} attempts"
        )))
    }

    /// Remove the agent's busy marker, then put it back if the state became busy again in
    /// the meantime (another instance may have marked it just before the removal).
    async fn clear_busy(&self, li: usize, key: &str) -> Result<()> {
        let name = &self.links[li].link.name;
        let marker = busy_key(name, key);
        self.store.delete(&marker).await?;
        let state: Option<LinkState> = self.store.get_as(&state_key(name, key)).await?;
        if state.is_some_and(|s| !s.is_idle()) {
            self.store.put(&marker, Value::Bool(true)).await?;
        }
        Ok(())
    }

    /// Apply `event` to one agent and carry out what the link asks; failures are reported
    /// as notices (later ticks and passes retry).
    #[allow(clippy::too_many_arguments)]
    async fn step_agent(
        &self,
        li: usize,
        key: &str,
        event: LinkEvent,
        now: DateTime<Utc>,
        stored: Option<Option<Value>>,
        writes: &mut JoinSet<()>,
        permits: &Arc<tokio::sync::Semaphore>,
        done: &mpsc::UnboundedSender<WriteDone>,
    ) -> Option<Stepped> {
        let link_name = self.links[li].link.name.clone();
        let stepped = match self.commit_step(li, key, &event, now, stored, true).await {
            Ok(Some(stepped)) => stepped,
            Ok(None) => return None,
            Err(e) => {
                self.notify(BridgeNotice::Error {
                    context: format!("{link_name} {key}"),
                    error: e.to_string(),
                });
                return None;
            }
        };
        for action in &stepped.actions {
            match action {
                LinkAction::Skip(reason) => self.notify(BridgeNotice::Skipped {
                    link: link_name.clone(),
                    agent: key.to_owned(),
                    reason: reason.clone(),
                }),
                LinkAction::Write { side, value, .. } => {
                    let (side, value) = (*side, value.clone());
                    let rt = &self.links[li];
                    let (provider, channel) = match side {
                        Side::A => (rt.link.a.0.clone(), rt.link.a.1),
                        Side::B => (rt.link.b.0.clone(), rt.link.b.1),
                    };
                    let Some(agent_id) = rt.ids.get(key).and_then(|ids| ids[side.index()].clone()) else {
                        // commit_step checked that the id is known.
                        continue;
                    };
                    let done = done.clone();
                    let permits = permits.clone();
                    let key = key.to_owned();
                    writes.spawn(async move {
                        let Ok(_permit) = permits.acquire_owned().await else { return };
                        let result = provider
                            .set_status(&agent_id, channel, &value)
                            .await
                            .map_err(|e| (e.to_string(), e.retry_after()));
                        // Err only if the bridge stopped listening: the result is lost, and
                        // the stored pending write is re-checked after a restart.
                        let _ = done.send(WriteDone { link: li, key, side, value, result });
                    });
                }
            }
        }
        Some(stepped)
    }

    /// The link event and the notice of a write result.
    fn write_result(&self, done: WriteDone) -> (LinkEvent, BridgeNotice) {
        let rt = &self.links[done.link];
        let provider = match done.side {
            Side::A => rt.link.a.0.name(),
            Side::B => rt.link.b.0.name(),
        };
        match done.result {
            Ok(()) => (
                LinkEvent::WriteSucceeded { side: done.side, value: done.value.clone() },
                BridgeNotice::Wrote {
                    link: rt.link.name.clone(),
                    agent: done.key,
                    provider: provider.to_owned(),
                    value: done.value,
                },
            ),
            Err((error, retry_after)) => (
                LinkEvent::WriteFailed {
                    side: done.side,
                    value: done.value.clone(),
                    retry_after,
                    error: error.clone(),
                },
                BridgeNotice::WriteFailed {
                    link: rt.link.name.clone(),
                    agent: done.key,
                    provider: provider.to_owned(),
                    value: done.value,
                    error,
                },
            ),
        }
    }

    /// Store a write result during shutdown: no new write is started; one the link asks
    /// for stays pending in the stored state and is re-checked after a restart (or by
    /// another instance once the link's write timeout has passed).
    async fn apply_write_result(&mut self, done: WriteDone) -> Result<()> {
        let (li, key) = (done.link, done.key.clone());
        let (event, notice) = self.write_result(done);
        let now = (self.clock)();
        self.notify(notice);
        let stepped = self.commit_step(li, &key, &event, now, None, false).await?;
        let name = self.links[li].link.name.clone();
        for action in stepped.map(|s| s.actions).unwrap_or_default() {
            if let LinkAction::Skip(reason) = action {
                self.notify(BridgeNotice::Skipped { link: name.clone(), agent: key.clone(), reason });
            }
        }
        Ok(())
    }

    async fn write_done(
        &mut self,
        done: WriteDone,
        writes: &mut JoinSet<()>,
        permits: &Arc<tokio::sync::Semaphore>,
        tx: &mpsc::UnboundedSender<WriteDone>,
    ) {
        let (li, key) = (done.link, done.key.clone());
        let (event, notice) = self.write_result(done);
        self.notify(notice);
        // The result may call for the next write at once (a change that arrived while
        // this write was in flight, or the other direction in two-way mode): step_agent
        // stores the state and starts it.
        let now = (self.clock)();
        self.step_agent(li, &key, event, now, None, writes, permits, tx).await;
        while writes.try_join_next().is_some() {}
    }

    /// Step every busy agent (a write pending or a retry due), whichever instance made it
    /// busy: the busy markers are in the store.
    async fn tick_all(
        &mut self,
        writes: &mut JoinSet<()>,
        permits: &Arc<tokio::sync::Semaphore>,
        done: &mpsc::UnboundedSender<WriteDone>,
    ) {
        let now = (self.clock)();
        for li in 0..self.links.len() {
            let prefix = busy_prefix(&self.links[li].link.name);
            let busy = match self.store.scan_prefix(&prefix).await {
                Ok(busy) => busy,
                Err(e) => {
                    let context = format!("tick {}", self.links[li].link.name);
                    self.notify(BridgeNotice::Error { context, error: e.to_string() });
                    continue;
                }
            };
            for (marker, _) in busy {
                let key = &marker[prefix.len()..];
                let stepped =
                    self.step_agent(li, key, LinkEvent::Tick, now, None, writes, permits, done).await;
                if let Some(Stepped { changed: false, busy: false, .. }) = stepped {
                    // A marker left behind (an instance died between the two writes).
                    if let Err(e) = self.clear_busy(li, key).await {
                        self.notify(BridgeNotice::Error {
                            context: format!("tick {marker}"),
                            error: e.to_string(),
                        });
                    }
                }
            }
        }
        while writes.try_join_next().is_some() {}
    }

    async fn reconcile_all(
        &mut self,
        writes: &mut JoinSet<()>,
        permits: &Arc<tokio::sync::Semaphore>,
        done: &mpsc::UnboundedSender<WriteDone>,
    ) {
        for li in 0..self.links.len() {
            if let Err(e) = self.reconcile_link(li, writes, permits, done).await {
                let link = self.links[li].link.name.clone();
                self.notify(BridgeNotice::Error {
                    context: format!("reconcile {link}"),
                    error: e.to_string(),
                });
            }
        }
    }

    async fn reconcile_link(
        &mut self,
        li: usize,
        writes: &mut JoinSet<()>,
        permits: &Arc<tokio::sync::Semaphore>,
        done: &mpsc::UnboundedSender<WriteDone>,
    ) -> Result<()> {
        let (a, b) = {
            let l = &self.links[li].link;
            (l.a.0.clone(), l.b.0.clone())
        };
        // The values listed were read at some moment of the listing: stamp them with its
        // start, so a value read before a write that another instance recorded meanwhile is
        // recognised as older (see `fresh_part`).
        let read_at = (self.clock)();
        let (a_agents, b_agents) = futures_util::future::try_join(a.list_agents(), b.list_agents()).await?;
        let now = (self.clock)();
        let (a_channel, b_channel) = (self.links[li].link.a.1, self.links[li].link.b.1);
        let joined = join(
            &a_agents,
            &b_agents,
            |x| x.email.as_deref(),
            |x| x.email.as_deref(),
            &self.links[li].link.identity,
        );
        let mut index = HashMap::with_capacity(joined.pairs.len() * 2);
        let mut ids = HashMap::with_capacity(joined.pairs.len());
        let mut snapshots = Vec::with_capacity(joined.pairs.len());
        for &(ai, bi) in &joined.pairs {
            let (x, y) = (&a_agents[ai], &b_agents[bi]);
            let Some(key) = x
                .email
                .as_deref()
                .and_then(EmailKey::new)
                .and_then(|_| crate::identity::normalize_email(x.email.as_deref().unwrap_or_default()))
            else {
                continue;
            };
            index.insert((Side::A, x.id.to_string()), key.clone());
            index.insert((Side::B, y.id.to_string()), key.clone());
            ids.insert(key.clone(), [Some(x.id.to_string()), Some(y.id.to_string())]);
            let seen = |v: Option<&NativeStatus>| {
                v.map(|value| Seen { value: value.clone(), origin: Origin::Unknown, at: read_at })
            };
            snapshots.push((key, seen(x.status(a_channel)), seen(y.status(b_channel))));
        }
        let agents = snapshots.len();
        let name = self.links[li].link.name.clone();
        {
            let rt = &mut self.links[li];
            rt.index = index;
            rt.ids = ids;
        }
        // Every stored state in one read; each agent's step starts from it (and re-reads
        // only if another instance changed it meanwhile).
        let prefix = format!("bridge/{name}/agent/");
        let mut stored: HashMap<String, Value> = self
            .store
            .scan_prefix(&prefix)
            .await?
            .into_iter()
            .map(|(key, value)| (key[prefix.len()..].to_owned(), value))
            .collect();
        self.repair_busy_markers(&name, &stored).await?;
        for (key, a, b) in snapshots {
            let current = Some(stored.remove(&key));
            self.step_agent(li, &key, LinkEvent::Snapshot { a, b }, now, current, writes, permits, done)
                .await;
        }
        while writes.try_join_next().is_some() {}
        self.notify(BridgeNotice::Reconciled { link: name, agents });
        Ok(())
    }

    /// Mark every busy stored state that lacks its marker (an instance died between
    /// storing the state and marking it), so ticks find it.
    async fn repair_busy_markers(&self, link: &str, stored: &HashMap<String, Value>) -> Result<()> {
        let prefix = busy_prefix(link);
        let marked: HashSet<String> = self
            .store
            .scan_prefix(&prefix)
            .await?
            .into_iter()
            .map(|(k, _)| k[prefix.len()..].to_owned())
            .collect();
        for (agent, value) in stored {
            let busy = LinkState::deserialize(value).is_ok_and(|s| !s.is_idle());
            if busy && !marked.contains(agent) {
                self.store.put(&busy_key(link, agent), Value::Bool(true)).await?;
            }
        }
        Ok(())
    }
}
