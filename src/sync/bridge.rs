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
}

impl Default for BridgeOptions {
    fn default() -> Self {
        Self {
            reconcile_every: StdDuration::from_secs(300),
            tick_every: StdDuration::from_secs(1),
            write_concurrency: 16,
            remembered_deliveries: 10_000,
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
    /// Queue an event. Fails only when the bridge has stopped.
    pub async fn send(&self, event: BridgeEvent) -> Result<()> {
        self.events.send(event).await.map_err(|_| Error::config("the bridge has stopped"))
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
    states: HashMap<String, LinkState>,
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
        }
    }

    /// Add a status link. Names must be unique.
    pub fn status_link(mut self, link: StatusLink) -> Result<Self> {
        if self.links.iter().any(|l| l.link.name == link.name) {
            return Err(Error::config(format!("two status links are named \"{}\"", link.name)));
        }
        if link.name.is_empty() || link.name.contains('/') {
            return Err(Error::config("a link name must be non-empty and contain no '/'"));
        }
        self.links.push(LinkRuntime {
            link,
            index: HashMap::new(),
            ids: HashMap::new(),
            states: HashMap::new(),
        });
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

    /// Run until [`BridgeHandle::shutdown`]. Loads stored state, reconciles every link at
    /// once, then reacts to events, ticks, reconcile intervals and shift boundaries.
    pub async fn run(mut self) -> Result<()> {
        for i in 0..self.links.len() {
            let prefix = format!("bridge/{}/agent/", self.links[i].link.name);
            for (key, _) in self.store.scan_prefix(&prefix).await? {
                let agent = key[prefix.len()..].to_owned();
                if let Some(state) = self.store.get_as::<LinkState>(&key).await? {
                    self.links[i].states.insert(agent, state);
                }
            }
        }
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
                Some(done) = done_rx.recv() => self.write_done(done, &mut writes, &permits, &done_tx).await?,
                Some(event) = self.events_rx.recv() => self.on_event(event, &mut writes, &permits, &done_tx).await?,
                _ = reconcile.tick() => {
                    self.reconcile_all(&mut writes, &permits, &done_tx).await?;
                    self.poll_inboxes().await;
                }
                _ = tick.tick() => self.tick_all(&mut writes, &permits, &done_tx).await?,
                _ = tokio::time::sleep(shift_wait), if has_shifts => {
                    next_shift_run = self.run_shifts().await;
                }
            }
        }
        // Graceful shutdown: handle the events already queued, let in-flight writes
        // finish, and store their results.
        while let Ok(event) = self.events_rx.try_recv() {
            self.on_event(event, &mut writes, &permits, &done_tx).await?;
        }
        drop(done_tx);
        while writes.join_next().await.is_some() {}
        while let Ok(done) = done_rx.try_recv() {
            self.apply_write_result(done).await?;
        }
        Ok(())
    }

    async fn run_shifts(&self) -> DateTime<Utc> {
        let now = (self.clock)();
        let reconcile =
            chrono::Duration::from_std(self.options.reconcile_every).unwrap_or(chrono::Duration::minutes(5));
        let mut next = now + reconcile;
        for shifts in &self.shifts {
            match shifts.run_once(now, false).await {
                Ok(report) => self.notify(BridgeNotice::ScheduleRan {
                    written: report.written.len(),
                    failed: report.failed.len(),
                }),
                Err(e) => {
                    self.notify(BridgeNotice::Error { context: "schedule link".into(), error: e.to_string() })
                }
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
    ) -> Result<()> {
        match event {
            BridgeEvent::Status { provider, agent_id, channel, value, origin, at, delivery_id } => {
                if let Some(id) = &delivery_id
                    && !self.remember_delivery(&format!("{provider}/{id}"))
                {
                    self.notify(BridgeNotice::Duplicate { delivery_id: id.clone() });
                    return Ok(());
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
                        self.step_agent(li, &key, ev, now, writes, permits, done).await?;
                    }
                }
                if unknown_agent {
                    // A new agent, or one whose roster entry we lack: a pass learns it.
                    self.reconcile_all(writes, permits, done).await?;
                }
            }
            BridgeEvent::Changed { .. } | BridgeEvent::ReconcileNow => {
                self.reconcile_all(writes, permits, done).await?
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
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn step_agent(
        &mut self,
        li: usize,
        key: &str,
        event: LinkEvent,
        now: DateTime<Utc>,
        writes: &mut JoinSet<()>,
        permits: &Arc<tokio::sync::Semaphore>,
        done: &mpsc::UnboundedSender<WriteDone>,
    ) -> Result<()> {
        let rt = &mut self.links[li];
        let state = rt.states.entry(key.to_owned()).or_default();
        let before = state.clone();
        let actions = step(&rt.link.config, state, event, now);
        let changed = *state != before;
        let state = state.clone();
        let link_name = rt.link.name.clone();
        if changed {
            self.store.put_as(&state_key(&link_name, key), &state).await?;
        }
        for action in actions {
            match action {
                LinkAction::Skip(reason) => self.notify(BridgeNotice::Skipped {
                    link: link_name.clone(),
                    agent: key.to_owned(),
                    reason,
                }),
                LinkAction::Write { side, value, .. } => {
                    let rt = &self.links[li];
                    let (provider, channel) = match side {
                        Side::A => (rt.link.a.0.clone(), rt.link.a.1),
                        Side::B => (rt.link.b.0.clone(), rt.link.b.1),
                    };
                    let Some(agent_id) = rt.ids.get(key).and_then(|ids| ids[side.index()].clone()) else {
                        // The agent is not (or no longer) on that side: nothing to write to.
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
        Ok(())
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
    /// for stays pending in the stored state and is re-checked after a restart.
    async fn apply_write_result(&mut self, done: WriteDone) -> Result<()> {
        let (li, key) = (done.link, done.key.clone());
        let (event, notice) = self.write_result(done);
        let now = (self.clock)();
        let rt = &mut self.links[li];
        let state = rt.states.entry(key.clone()).or_default();
        let actions = step(&rt.link.config, state, event, now);
        let state = state.clone();
        let name = rt.link.name.clone();
        self.store.put_as(&state_key(&name, &key), &state).await?;
        self.notify(notice);
        for action in actions {
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
    ) -> Result<()> {
        let (li, key) = (done.link, done.key.clone());
        let (event, notice) = self.write_result(done);
        self.notify(notice);
        // The result may call for the next write at once (a change that arrived while
        // this write was in flight, or the other direction in two-way mode): step_agent
        // stores the state and starts it.
        let now = (self.clock)();
        self.step_agent(li, &key, event, now, writes, permits, tx).await?;
        while writes.try_join_next().is_some() {}
        Ok(())
    }

    async fn tick_all(
        &mut self,
        writes: &mut JoinSet<()>,
        permits: &Arc<tokio::sync::Semaphore>,
        done: &mpsc::UnboundedSender<WriteDone>,
    ) -> Result<()> {
        let now = (self.clock)();
        for li in 0..self.links.len() {
            let busy: Vec<String> =
                self.links[li].states.iter().filter(|(_, s)| !s.is_idle()).map(|(k, _)| k.clone()).collect();
            for key in busy {
                self.step_agent(li, &key, LinkEvent::Tick, now, writes, permits, done).await?;
            }
        }
        while writes.try_join_next().is_some() {}
        Ok(())
    }

    async fn reconcile_all(
        &mut self,
        writes: &mut JoinSet<()>,
        permits: &Arc<tokio::sync::Semaphore>,
        done: &mpsc::UnboundedSender<WriteDone>,
    ) -> Result<()> {
        for li in 0..self.links.len() {
            if let Err(e) = self.reconcile_link(li, writes, permits, done).await {
                let link = self.links[li].link.name.clone();
                self.notify(BridgeNotice::Error {
                    context: format!("reconcile {link}"),
                    error: e.to_string(),
                });
            }
        }
        Ok(())
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
            index.insert((Side::A, x.id.clone()), key.clone());
            index.insert((Side::B, y.id.clone()), key.clone());
            ids.insert(key.clone(), [Some(x.id.clone()), Some(y.id.clone())]);
            let seen = |v: Option<&NativeStatus>| {
                v.map(|value| Seen { value: value.clone(), origin: Origin::Unknown, at: now })
            };
            snapshots.push((key, seen(x.status(a_channel)), seen(y.status(b_channel))));
        }
        let agents = snapshots.len();
        {
            let rt = &mut self.links[li];
            rt.index = index;
            rt.ids = ids;
        }
        for (key, a, b) in snapshots {
            self.step_agent(li, &key, LinkEvent::Snapshot { a, b }, now, writes, permits, done).await?;
        }
        while writes.try_join_next().is_some() {}
        self.notify(BridgeNotice::Reconciled { link: self.links[li].link.name.clone(), agents });
        Ok(())
    }
}
