//! The continuous bridge: runs status links, schedule links and inboxes all day.
//!
//! The full description is on [`Bridge`].

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use tracing::Instrument;

use crate::filter::{FilterDecision, GroupFilter};
use crate::identity::{EmailKey, IdentityOverrides, join};
use crate::inbox::Inbox;
use crate::mapping::Side;
use crate::ports::{InboundMessage, StateStore, StatusProvider, WriteOp};
use crate::status::{Channel, NativeStatus};
use crate::store::StateStoreExt;
use crate::sync::link::{
    LinkAction, LinkConfig, LinkEvent, LinkMode, LinkState, Origin, Seen, SkipReason, StepContext,
    StepOutcome, Verdict, step_with,
};
use crate::sync::shifts::ShiftSync;
use crate::{Error, Result};

/// A status link between two providers, for every agent they share.
///
/// Build it with [`StatusLink::new`]; every field is public for inspection.
#[non_exhaustive]
pub struct StatusLink {
    /// A short name, unique in the bridge (used in state keys and notices).
    pub name: String,
    /// Side A's provider and the channel read and written there.
    pub a: (Arc<dyn StatusProvider>, Channel),
    /// Side B's provider and channel.
    pub b: (Arc<dyn StatusProvider>, Channel),
    /// Mapping, direction, echo window, retries, stamp tolerance.
    pub config: LinkConfig,
    /// Explicit identity pairs (side A e-mail → side B e-mail).
    pub identity: IdentityOverrides,
    /// The routing keys of the event sources that feed side A and side B: a
    /// [`BridgeEvent::Status`] or [`BridgeEvent::Changed`] whose `provider` equals
    /// `sources[0]` is about side A. The `server` routers use `"aircall"` and `"zendesk"`.
    /// Independent of [`StatusProvider::name`], which is only for reports, so a provider
    /// wrapped in a decorator of another name is still fed.
    pub sources: [String; 2],
    /// Which agents the link may write, per written side, with the semantics of
    /// [`OneWaySpec::filter`](crate::sync::OneWaySpec::filter): include lists per channel
    /// and *Do not change* groups, matched against the groups of the agent on the side
    /// being written (in two-way mode, each side with its own channel and groups).
    pub filter: GroupFilter,
    /// Per side (`[a, b]`): whether the side's provider sends every status change to this
    /// bridge as a webhook event (see [`StatusLink::with_status_webhooks`]).
    pub status_webhooks: [bool; 2],
}

impl StatusLink {
    /// A link named `name` between side `a` and side `b`, each given as (routing key of
    /// its event source, provider, channel), with no identity overrides and no filter.
    ///
    /// ```no_run
    /// # use std::sync::Arc;
    /// # fn demo(aircall: Arc<dyn deskbridge::ports::StatusProvider>, zendesk: Arc<dyn deskbridge::ports::StatusProvider>) {
    /// use deskbridge::mapping::{Side, StatusMap};
    /// use deskbridge::status::Channel;
    /// use deskbridge::sync::{LinkConfig, LinkMode, StatusLink};
    ///
    /// let link = StatusLink::new(
    ///     "voice",
    ///     ("aircall", aircall, Channel::Voice),
    ///     ("zendesk", zendesk, Channel::Voice),
    ///     LinkConfig::new(StatusMap::aircall_zendesk(), LinkMode::OneWay { from: Side::A }),
    /// );
    /// # let _ = link;
    /// # }
    /// ```
    pub fn new(
        name: impl Into<String>,
        a: (&str, Arc<dyn StatusProvider>, Channel),
        b: (&str, Arc<dyn StatusProvider>, Channel),
        config: LinkConfig,
    ) -> Self {
        Self {
            name: name.into(),
            sources: [a.0.to_owned(), b.0.to_owned()],
            a: (a.1, a.2),
            b: (b.1, b.2),
            config,
            identity: IdentityOverrides::default(),
            filter: GroupFilter::default(),
            status_webhooks: [false, false],
        }
    }

    /// Declare that `side`'s provider sends every status change of the link's channel to
    /// this bridge as a verified webhook event (Zendesk's agent status webhook or
    /// Aircall's `user.*` events through [`server::webhooks`](crate::server), or your own
    /// feed as [`BridgeEvent::Status`]). Between two full passes
    /// ([`BridgeOptions::full_pass_every`], default 1 hour) a reconcile pass then reads
    /// that side's agents (incrementally where the provider has a change feed) but not
    /// their statuses: the events carry them. Every full pass still reads every status,
    /// so a lost webhook is healed within `full_pass_every` (plus `reconcile_every`).
    ///
    /// Leave it unset (the default) when webhooks are not set up or not trusted: every
    /// pass then reads every status. With Zendesk as this side, a steady-state pass costs
    /// one request (the incremental user export) instead of one per 100 agents for the
    /// users plus one per 100 agents for the statuses (`docs/PERFORMANCE.md`).
    pub fn with_status_webhooks(mut self, side: Side) -> Self {
        self.status_webhooks[side.index()] = true;
        self
    }

    /// Use these identity overrides.
    pub fn with_identity(mut self, identity: IdentityOverrides) -> Self {
        self.identity = identity;
        self
    }

    /// Use this group filter.
    pub fn with_filter(mut self, filter: GroupFilter) -> Self {
        self.filter = filter;
        self
    }

    fn side(&self, side: Side) -> (&Arc<dyn StatusProvider>, Channel) {
        match side {
            Side::A => (&self.a.0, self.a.1),
            Side::B => (&self.b.0, self.b.1),
        }
    }

    /// The sides this link may write.
    fn written_sides(&self) -> Vec<Side> {
        match self.config.mode {
            LinkMode::OneWay { from } => vec![from.other()],
            LinkMode::TwoWay => vec![Side::A, Side::B],
        }
    }
}

impl std::fmt::Debug for StatusLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusLink")
            .field("name", &self.name)
            .field("a", &(&self.sources[0], self.a.0.name(), self.a.1))
            .field("b", &(&self.sources[1], self.b.0.name(), self.b.1))
            .field("mode", &self.config.mode)
            .field("filter", &self.filter)
            .finish_non_exhaustive()
    }
}

/// Something the bridge should react to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "event")]
#[non_exhaustive]
pub enum BridgeEvent {
    /// A provider reported an agent's status (a verified webhook).
    Status {
        /// The routing key of the event source (`aircall`, `zendesk` from the `server`
        /// routers), matched against [`StatusLink::sources`], never against
        /// [`StatusProvider::name`].
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
    /// A provider says an agent changed but not to what: the agent is read again (one
    /// agent when the link knows it, else a pass).
    Changed {
        /// The routing key of the event source (see [`BridgeEvent::Status`]).
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
#[non_exhaustive]
pub enum BridgeNotice {
    /// What became of one delivery ([`BridgeEvent::Status`] or [`BridgeEvent::Changed`]):
    /// exactly one per link side the delivery feeds, or one `Unrouted` / `Duplicate` when
    /// it feeds none.
    Delivery {
        /// The routing key it came from.
        source: String,
        /// The provider's agent id.
        agent_id: String,
        /// The delivery id, when the provider gives one.
        delivery_id: Option<String>,
        /// The value delivered (`None` for [`BridgeEvent::Changed`]).
        value: Option<NativeStatus>,
        /// The link it fed, when routed.
        link: Option<String>,
        /// The agent key (normalised e-mail), when known.
        agent: Option<String>,
        /// The outcome.
        outcome: DeliveryOutcome,
    },
    /// A provider stamp lay more than the link's tolerance in the future: it was clamped
    /// to the time of receipt, and the agent is read to confirm the value.
    StampClamped {
        /// Link name.
        link: String,
        /// Agent key.
        agent: String,
        /// The stamp as delivered.
        stamp: DateTime<Utc>,
        /// The time of receipt it was clamped to.
        clamped_to: DateTime<Utc>,
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
    /// A reconcile pass finished.
    Reconciled {
        /// Link name.
        link: String,
        /// Agents present on both sides.
        agents: usize,
    },
    /// A link's configuration was checked against its providers before the first write
    /// (see [`Bridge::validate`]).
    Validated {
        /// Link name.
        link: String,
        /// Checks that could not be made (a provider that cannot tell its vocabulary).
        unchecked: Vec<String>,
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

/// The one outcome of a delivery on one link (see [`BridgeNotice::Delivery`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
#[non_exhaustive]
pub enum DeliveryOutcome {
    /// Clearly newer than what the link knew: taken as the side's new value at once (any
    /// write it calls for is reported as [`BridgeNotice::Wrote`]).
    Applied,
    /// Doubtful (not clearly newer than the last read, a clamped stamp, or an event without
    /// a value): the agent was read and the fresh value decided.
    Confirmed {
        /// The value read (`None`: the provider reports no status for the agent).
        read: Option<NativeStatus>,
    },
    /// The same delivery id, or the same change (value and stamp), was handled before.
    Duplicate,
    /// The value the link already knew for the side: nothing to do.
    Unchanged,
    /// Our own write coming back.
    Echo,
    /// Older, by the provider's own clock, than the change the link holds.
    Stale {
        /// The delivery's stamp.
        at: DateTime<Utc>,
        /// The stamp of the change the link holds.
        known_at: DateTime<Utc>,
    },
    /// No link side is fed by this source and channel, or the agent is not paired (present
    /// on one side only): nothing to sync.
    Unrouted {
        /// Why, in words.
        reason: String,
    },
    /// The state store or the confirming read failed; a later pass heals the agent.
    Failed {
        /// The error.
        error: String,
    },
}

impl DeliveryOutcome {
    /// The snake_case name used as the `outcome` label of the
    /// `deskbridge_bridge_deliveries_total` metric.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Confirmed { .. } => "confirmed",
            Self::Duplicate => "duplicate",
            Self::Unchanged => "unchanged",
            Self::Echo => "echo",
            Self::Stale { .. } => "stale",
            Self::Unrouted { .. } => "unrouted",
            Self::Failed { .. } => "failed",
        }
    }
}

/// Timings of a [`Bridge`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
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
    /// An event about an agent no pass has listed (a new agent) runs a pass to learn it,
    /// at most once per this interval (default 1 minute); agents listed on one side only
    /// are remembered by every pass and never cost one.
    pub learn_every: StdDuration,
    /// Reconcile passes in between may be incremental (providers with a change feed read
    /// only what changed since the last pass, see
    /// [`ListingNeeds::with_incremental`](crate::ports::ListingNeeds::with_incremental));
    /// every this often (default 1 hour) a pass reads everything, so that nothing a feed
    /// misses drifts forever. Zero: every pass is full.
    pub full_pass_every: StdDuration,
}

/// Builder methods: start from [`BridgeOptions::default`] (or the constructor) and set what differs.
impl BridgeOptions {
    /// Set [`reconcile_every`](Self::reconcile_every).
    pub fn with_reconcile_every(mut self, reconcile_every: StdDuration) -> Self {
        self.reconcile_every = reconcile_every;
        self
    }

    /// Set [`tick_every`](Self::tick_every).
    pub fn with_tick_every(mut self, tick_every: StdDuration) -> Self {
        self.tick_every = tick_every;
        self
    }

    /// Set [`write_concurrency`](Self::write_concurrency).
    pub fn with_write_concurrency(mut self, write_concurrency: usize) -> Self {
        self.write_concurrency = write_concurrency;
        self
    }

    /// Set [`remembered_deliveries`](Self::remembered_deliveries).
    pub fn with_remembered_deliveries(mut self, remembered_deliveries: usize) -> Self {
        self.remembered_deliveries = remembered_deliveries;
        self
    }

    /// Set [`lease_ttl`](Self::lease_ttl).
    pub fn with_lease_ttl(mut self, lease_ttl: StdDuration) -> Self {
        self.lease_ttl = lease_ttl;
        self
    }

    /// Set [`learn_every`](Self::learn_every).
    pub fn with_learn_every(mut self, learn_every: StdDuration) -> Self {
        self.learn_every = learn_every;
        self
    }

    /// Set [`full_pass_every`](Self::full_pass_every).
    pub fn with_full_pass_every(mut self, full_pass_every: StdDuration) -> Self {
        self.full_pass_every = full_pass_every;
        self
    }
}

impl Default for BridgeOptions {
    fn default() -> Self {
        Self {
            reconcile_every: StdDuration::from_secs(300),
            tick_every: StdDuration::from_secs(1),
            write_concurrency: 16,
            remembered_deliveries: 10_000,
            lease_ttl: StdDuration::from_secs(300),
            learn_every: StdDuration::from_secs(60),
            full_pass_every: StdDuration::from_secs(3600),
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
    /// agent key → the agent's groups per side (for the group filter).
    groups: HashMap<String, [Vec<String>; 2]>,
    /// Per side, provider agent ids known not to be paired: listed by the last pass on one
    /// side only (or ambiguous), plus ids that a learning pass did not list at all (at most
    /// [`MAX_UNLISTED`] of those). Rebuilt by every pass.
    unpaired: [HashSet<String>; 2],
    /// Ids added to `unpaired` without being listed, since the last pass.
    unlisted: usize,
    /// When the last pass of this link finished (the bridge's clock).
    last_pass: Option<DateTime<Utc>>,
    /// When the last full (not incremental) pass of this link started.
    last_full_pass: Option<DateTime<Utc>>,
    /// agent key → the busy state this instance last stored for the agent: where a write
    /// result starts from instead of reading the store (a hint only: a compare-and-set
    /// judges it, and a stale one costs a re-read). Cleared by every pass; bounded by the
    /// number of agents.
    hints: std::sync::Mutex<HashMap<String, Value>>,
}

/// Ids of agents that no pass listed, remembered as unpaired between two passes.
const MAX_UNLISTED: usize = 10_000;

/// The delivery a one-agent read confirms.
#[derive(Debug, Clone)]
struct DeliveryRef {
    source: String,
    agent_id: String,
    delivery_id: Option<String>,
    value: Option<NativeStatus>,
}

struct WriteDone {
    link: usize,
    key: String,
    side: Side,
    value: NativeStatus,
    result: std::result::Result<(), (String, Option<StdDuration>, bool)>,
}

struct ReadDone {
    link: usize,
    key: String,
    side: Side,
    result: std::result::Result<Option<NativeStatus>, (String, bool)>,
    delivery: Option<DeliveryRef>,
}

/// A write or a one-agent read that finished.
enum Completion {
    Write(WriteDone),
    Read(ReadDone),
}

type Done = mpsc::UnboundedSender<Completion>;

/// The continuous bridge. See the [module docs](Bridge).
///
/// The continuous bridge: runs status links, schedule links and inboxes all day.
///
/// A [`Bridge`] owns a set of links and one [`StateStore`]. It reacts to
/// [`BridgeEvent`]s as they arrive (webhooks parsed by the `server` routers, or anything
/// the embedder sends through a [`BridgeHandle`]), runs a reconcile pass every interval
/// that repairs whatever a lost webhook missed, re-runs schedule links at every shift
/// boundary, polls inboxes, and shuts down gracefully: in-flight writes finish and their
/// results are stored before [`Bridge::run`] returns.
///
/// Every agent's [`LinkState`] is stored under `bridge/{link}/agent/{key}` after each
/// change, so a restarted bridge continues where it stopped: a write that was in flight
/// when the process died is re-checked (its result is unknown) instead of forgotten.
///
/// # Several instances
///
/// The store, not memory, holds the truth: every event is applied by reading the agent's
/// state, stepping it and storing the result with one
/// [`compare_and_set`](StateStore::compare_and_set). That statement is the agent's claim:
/// the instance whose compare-and-set lands owns the writes it asks for, which it records
/// as the side's `pending` write *before* issuing them; an instance that loses the race
/// re-reads and steps again, and then finds the write pending (so it never issues it a
/// second time). A pending write is a lease that expires after the link's
/// [`write_timeout`](LinkConfig::write_timeout): if its instance dies, another instance
/// counts it as failed once the timeout has passed and retries it. Agents with a write
/// pending or a retry scheduled are listed under `bridge/{link}/busy/{key}`, which every
/// instance scans at each tick (and repairs at each reconcile pass), so any instance
/// finishes another's work. Schedule links run under a claim
/// ([`StateStore::try_claim`]) `bridge/schedule/{n}/claim`, so two instances never run the
/// same one at the same time. Several instances therefore share one store (PostgreSQL) and
/// need nothing else in common; see `docs/SHARED_STATE.md`.
///
/// Cost of the reconcile interval, per status link and pass: the requests needed to list
/// both providers' agents with their statuses (Aircall: ⌈agents/50⌉ pages; Zendesk with
/// omnichannel routing: ⌈agents/100⌉ pages each of users, memberships, groups and
/// availabilities) plus one write per agent found out of sync. Unchanged agents cost no
/// write and no state-store write.
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
    /// (link, agent) with a write this instance started and whose result has not come
    /// back: still queued behind the write permits or the provider's pace, never timed out
    /// by this instance's ticks.
    /// Counted per side: a two-way link may have both sides' writes in flight.
    in_flight: std::sync::Mutex<HashMap<(usize, String), usize>>,
    instance_id: String,
    /// When an event about an unlisted agent last ran a pass.
    last_learn: Option<tokio::time::Instant>,
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

/// How many agents' states a reconcile pass stores with one
/// [`StateStore::write_batch`] (one transaction on the embedded SQLite store): large enough
/// that the commits cost little next to the providers' listings, small enough that a failed
/// batch (whose agents are then stepped again one by one) and the time a transaction holds
/// the database stay short.
pub const RECONCILE_BATCH: usize = 500;

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

/// An event to apply to one agent in a batch (see `Bridge::commit_many`).
struct Commit {
    li: usize,
    key: String,
    event: LinkEvent,
    /// The agent's stored state as just read (`Some(None)`: absent), or `None` to start
    /// from this instance's hint or a read.
    current: Option<Option<Value>>,
}

/// One agent's step, computed but not stored yet (see `Bridge::plan_step`).
enum Planned {
    /// The step asks for a write this instance cannot make (an agent it has not listed on
    /// every side yet): nothing is stored.
    NotListed,
    /// The state does not change: nothing to store.
    Unchanged(Stepped),
    /// Store `new` in place of `current` (compare-and-set), then carry out `stepped`.
    Store { current: Option<Value>, new: Value, stepped: Stepped, was_idle: bool },
}

/// The result of applying one event to an agent's stored state.
struct Stepped {
    actions: Vec<LinkAction>,
    /// What the link made of the event's observations.
    verdicts: Vec<(Side, Verdict)>,
    /// Whether the stored state changed.
    changed: bool,
    /// Whether the state has a write pending or a retry scheduled afterwards.
    busy: bool,
}

impl Bridge {
    /// A bridge keeping its state in `store` (the embedded `SqliteStore` by default in the
    /// examples; PostgreSQL for several instances).
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
            in_flight: std::sync::Mutex::new(HashMap::new()),
            instance_id: default_instance_id(),
            last_learn: None,
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
        if link.sources.iter().any(|source| source.trim().is_empty()) {
            return Err(Error::config(format!(
                "status link \"{}\": both sides need the routing key of their event source",
                link.name
            )));
        }
        if link.sources[0] == link.sources[1] && link.a.1 == link.b.1 {
            return Err(Error::config(format!(
                "status link \"{}\": both sides are fed by source \"{}\" on {}; events could not tell them apart",
                link.name, link.sources[0], link.a.1
            )));
        }
        self.links.push(LinkRuntime {
            link,
            index: HashMap::new(),
            ids: HashMap::new(),
            groups: HashMap::new(),
            unpaired: [HashSet::new(), HashSet::new()],
            unlisted: 0,
            last_pass: None,
            last_full_pass: None,
            hints: std::sync::Mutex::new(HashMap::new()),
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
        record_metrics(&notice);
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

    /// Run until [`BridgeHandle::shutdown`]. Checks every link against its providers
    /// ([`Bridge::validate`]) and returns the error before anything is written if one
    /// cannot work; then reconciles every link at once, and reacts to events, ticks,
    /// reconcile intervals and shift boundaries.
    ///
    /// Failures of a provider or of the store while handling an event, a tick or a pass
    /// are reported as [`BridgeNotice::Error`] and retried by later ticks and passes; the
    /// bridge keeps running.
    pub async fn run(mut self) -> Result<()> {
        self.validate().await?;
        let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Completion>();
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
                Some(done) = done_rx.recv() => {
                    // Results that arrived together are stored together (one batch).
                    let mut batch = vec![done];
                    while batch.len() < RECONCILE_BATCH {
                        match done_rx.try_recv() {
                            Ok(done) => batch.push(done),
                            Err(_) => break,
                        }
                    }
                    self.completed_all(batch, &mut writes, &permits, &done_tx).await
                }
                Some(event) = self.events_rx.recv() => {
                    metrics::gauge!("deskbridge_bridge_queue_depth").set(self.events_rx.len() as f64);
                    self.on_event(event, &mut writes, &permits, &done_tx).await
                }
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
            match done {
                Completion::Write(done) => {
                    let context = format!("storing the result of a write for {}", done.key);
                    if let Err(e) = self.apply_write_result(done).await {
                        self.notify(BridgeNotice::Error { context, error: e.to_string() });
                    }
                }
                Completion::Read(done) => {
                    // Not acted upon during shutdown: the next pass after a restart reads again.
                    if let Some(delivery) = done.delivery {
                        let link = self.links[done.link].link.name.clone();
                        let outcome = match done.result {
                            Ok(read) => DeliveryOutcome::Confirmed { read },
                            Err((error, _)) => DeliveryOutcome::Failed { error },
                        };
                        self.notify_delivery(&delivery, Some(link), Some(done.key), outcome);
                    }
                }
            }
        }
        Ok(())
    }

    /// Check every status link against its providers, before anything is written (run by
    /// [`Bridge::run`] at start; callable on its own as a dry check). For each side the link
    /// writes (the target of a one-way link, both sides of a two-way link):
    ///
    /// - the side's table has at least one value to write;
    /// - the provider can write the side's channel at all;
    /// - every value the table writes (and every value it reads) is in the provider's one
    ///   canonical spelling ([`StatusProvider::canonical_status`]), so what is compared is
    ///   what is written;
    /// - every value written is in the provider's vocabulary
    ///   ([`StatusProvider::writable_statuses`]: Zendesk's status catalog, Aircall's enum,
    ///   Usedesk's values) — and when the *other* side's table would fit, the error says the
    ///   sides are swapped;
    /// - the group filter restricts only channels the link writes, and names only groups
    ///   the written providers have.
    ///
    /// Providers that cannot tell their vocabulary (`Ok(None)`) are not checked; a
    /// [`BridgeNotice::Validated`] per link lists what could not be checked.
    ///
    /// # Errors
    /// [`Error::Config`] naming the link, the side and the problem; [`Error::UnknownGroups`]
    /// for filter groups no written provider has; a provider's error when it could not be
    /// asked.
    pub async fn validate(&self) -> Result<()> {
        for rt in &self.links {
            let unchecked = validate_link(&rt.link).await?;
            self.notify(BridgeNotice::Validated { link: rt.link.name.clone(), unchecked });
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
                    match shifts.run_once(now).await {
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
            match inbox.poll_once(now).await {
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

    fn notify_delivery(
        &self,
        delivery: &DeliveryRef,
        link: Option<String>,
        agent: Option<String>,
        outcome: DeliveryOutcome,
    ) {
        self.notify(BridgeNotice::Delivery {
            source: delivery.source.clone(),
            agent_id: delivery.agent_id.clone(),
            delivery_id: delivery.delivery_id.clone(),
            value: delivery.value.clone(),
            link,
            agent,
            outcome,
        });
    }

    /// The link sides fed by `source` on `channel` (`None`: any channel).
    fn routes(&self, source: &str, channel: Option<Channel>) -> Vec<(usize, Side)> {
        let mut routes = Vec::new();
        for (li, rt) in self.links.iter().enumerate() {
            for side in [Side::A, Side::B] {
                let (_, ch) = rt.link.side(side);
                if rt.link.sources[side.index()] == source && channel.is_none_or(|c| c == ch) {
                    routes.push((li, side));
                }
            }
        }
        routes
    }

    async fn on_event(
        &mut self,
        event: BridgeEvent,
        writes: &mut JoinSet<()>,
        permits: &Arc<tokio::sync::Semaphore>,
        done: &Done,
    ) {
        let (delivery, channel, observation) = match event {
            BridgeEvent::Status { provider, agent_id, channel, value, origin, at, delivery_id } => {
                let delivery =
                    DeliveryRef { source: provider, agent_id, delivery_id, value: Some(value.clone()) };
                (delivery, Some(channel), Some((value, origin, at)))
            }
            BridgeEvent::Changed { provider, agent_id } => {
                (DeliveryRef { source: provider, agent_id, delivery_id: None, value: None }, None, None)
            }
            BridgeEvent::ReconcileNow => {
                self.reconcile_all(writes, permits, done).await;
                return;
            }
            BridgeEvent::Message { source, message } => {
                let now = (self.clock)();
                if let Some((_, inbox)) = self.inboxes.iter().find(|(name, _)| *name == source) {
                    let routed = inbox.route(message, now).await;
                    let failed =
                        usize::from(matches!(routed.outcome, crate::inbox::MessageOutcome::Failed { .. }));
                    self.notify(BridgeNotice::InboxRouted { messages: 1, failed });
                } else {
                    self.notify(BridgeNotice::Error {
                        context: format!("message from source \"{source}\""),
                        error: "no inbox is registered for this source; the message is picked up by the next poll, if any".into(),
                    });
                }
                return;
            }
        };
        if let Some(id) = &delivery.delivery_id
            && !self.remember_delivery(&format!("{}/{id}", delivery.source))
        {
            self.notify_delivery(&delivery, None, None, DeliveryOutcome::Duplicate);
            return;
        }
        let routes = self.routes(&delivery.source, channel);
        if routes.is_empty() {
            let on = channel.map(|c| format!(" on {c}")).unwrap_or_default();
            let reason = format!("no status link side is fed by source \"{}\"{on}", delivery.source);
            self.notify_delivery(&delivery, None, None, DeliveryOutcome::Unrouted { reason });
            return;
        }
        let now = (self.clock)();
        let mut unknown = Vec::new();
        for (li, side) in routes {
            let link_name = self.links[li].link.name.clone();
            let Some(key) = self.links[li].index.get(&(side, delivery.agent_id.clone())).cloned() else {
                if self.links[li].unpaired[side.index()].contains(&delivery.agent_id) {
                    let reason = format!(
                        "agent {} of source \"{}\" is not paired on link \"{link_name}\" (present on one side only, or its e-mail is ambiguous)",
                        delivery.agent_id, delivery.source
                    );
                    self.notify_delivery(
                        &delivery,
                        Some(link_name),
                        None,
                        DeliveryOutcome::Unrouted { reason },
                    );
                } else {
                    unknown.push((li, side));
                }
                continue;
            };
            let Some((value, origin, at)) = observation.clone() else {
                // A change without a value: read this one agent.
                self.spawn_read(li, &key, side, Some(delivery.clone()), writes, done);
                continue;
            };
            let event = LinkEvent::Observed { side, value, origin, at };
            let stepped =
                self.step_agent(li, &key, event, now, None, Some(&delivery), writes, permits, done).await;
            let outcome = match stepped {
                Err(error) => DeliveryOutcome::Failed { error },
                Ok(stepped) => match stepped.verdicts.into_iter().find(|(s, _)| *s == side).map(|(_, v)| v) {
                    Some(Verdict::Applied) => DeliveryOutcome::Applied,
                    Some(Verdict::Unchanged) | None => DeliveryOutcome::Unchanged,
                    Some(Verdict::Duplicate) => DeliveryOutcome::Duplicate,
                    Some(Verdict::Echo) => DeliveryOutcome::Echo,
                    Some(Verdict::Stale { at, known_at }) => DeliveryOutcome::Stale { at, known_at },
                    Some(Verdict::Doubtful { clamped_from, at, .. }) => {
                        if let Some(stamp) = clamped_from {
                            self.notify(BridgeNotice::StampClamped {
                                link: link_name.clone(),
                                agent: key.clone(),
                                stamp,
                                clamped_to: at,
                            });
                        }
                        // The read's result reports the outcome.
                        continue;
                    }
                },
            };
            self.notify_delivery(&delivery, Some(link_name), Some(key), outcome);
        }
        if unknown.is_empty() {
            return;
        }
        let may_learn = self.last_learn.is_none_or(|t| t.elapsed() >= self.options.learn_every);
        if may_learn {
            // A new agent, or one whose roster entry we lack: a pass learns it (and reads it).
            self.last_learn = Some(tokio::time::Instant::now());
            self.reconcile_all(writes, permits, done).await;
        }
        for (li, side) in unknown {
            let rt = &mut self.links[li];
            let link_name = rt.link.name.clone();
            if let Some(key) = rt.index.get(&(side, delivery.agent_id.clone())).cloned() {
                let read = match Bridge::stored_state(self.store.as_ref(), &link_name, &key).await {
                    Ok(state) => state.and_then(|s| s.side(side).observed.clone()).map(|(v, _)| v),
                    Err(_) => None,
                };
                let outcome = DeliveryOutcome::Confirmed { read };
                self.notify_delivery(&delivery, Some(link_name), Some(key), outcome);
                continue;
            }
            let reason = if may_learn {
                if rt.unpaired[side.index()].contains(&delivery.agent_id) {
                    format!(
                        "agent {} of source \"{}\" is not paired on link \"{link_name}\" (present on one side only)",
                        delivery.agent_id, delivery.source
                    )
                } else {
                    if rt.unlisted < MAX_UNLISTED {
                        rt.unlisted += 1;
                        rt.unpaired[side.index()].insert(delivery.agent_id.clone());
                    }
                    format!(
                        "agent {} of source \"{}\" is not listed by the provider of link \"{link_name}\"",
                        delivery.agent_id, delivery.source
                    )
                }
            } else {
                format!(
                    "agent {} of source \"{}\" was not listed by the last pass of link \"{link_name}\"; a pass ran less than {:?} ago, the next one learns it",
                    delivery.agent_id, delivery.source, self.options.learn_every
                )
            };
            self.notify_delivery(&delivery, Some(link_name), None, DeliveryOutcome::Unrouted { reason });
        }
    }

    /// Whether this instance knows the provider id of `key` on every side `actions` write.
    fn can_issue(&self, li: usize, key: &str, actions: &[LinkAction]) -> bool {
        let ids = self.links[li].ids.get(key);
        actions.iter().all(|action| match action {
            LinkAction::Write { side, .. } | LinkAction::Read { side } => {
                ids.is_some_and(|ids| ids[side.index()].is_some())
            }
            LinkAction::Skip(_) => true,
        })
    }

    /// What the engine knows of the agent beyond its state: the link's last pass and the
    /// group filter's verdict per side.
    fn context(&self, li: usize, key: &str) -> StepContext {
        let rt = &self.links[li];
        let mut blocked: [Option<SkipReason>; 2] = [None, None];
        if !rt.link.filter.is_empty() {
            let empty = [Vec::new(), Vec::new()];
            let groups = rt.groups.get(key).unwrap_or(&empty);
            for side in [Side::A, Side::B] {
                let (_, channel) = rt.link.side(side);
                blocked[side.index()] = match rt.link.filter.decide(channel, &groups[side.index()]) {
                    FilterDecision::Allowed => None,
                    FilterDecision::DoNotChange { group } => Some(SkipReason::DoNotChange { group }),
                    FilterDecision::NotInIncludedGroups { channel } => {
                        Some(SkipReason::NotInIncludedGroups { channel })
                    }
                };
            }
        }
        StepContext { last_read: rt.last_pass, blocked }
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
        let skey = state_key(&self.links[li].link.name, key);
        let mut store_errors = 0;
        for _ in 0..STEP_ATTEMPTS {
            let current = match stored.take() {
                Some(value) => value,
                None => self.store.get(&skey).await?,
            };
            let (current, new, mut stepped, was_idle) =
                match self.plan_step(li, key, event, now, current, issue)? {
                    Planned::NotListed => return Ok(None),
                    Planned::Unchanged(stepped) => return Ok(Some(stepped)),
                    Planned::Store { current, new, stepped, was_idle } => (current, new, stepped, was_idle),
                };
            let hint = stepped.busy.then(|| new.clone());
            match self.store.compare_and_set(&skey, current.as_ref(), Some(new)).await {
                Ok(true) => {
                    match hint {
                        Some(state) => self.remember_hint(li, key, state),
                        None => self.forget_hint(li, key),
                    }
                    self.mark_busy(li, key, stepped.busy, was_idle).await?;
                    stepped.changed = true;
                    return Ok(Some(stepped));
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

    /// Step `event` on `current` (the agent's stored state as read) without storing
    /// anything: what [`commit_step`](Self::commit_step) stores with one compare-and-set,
    /// and what a reconcile pass stores for many agents with one
    /// [`write_batch`](StateStore::write_batch).
    fn plan_step(
        &self,
        li: usize,
        key: &str,
        event: &LinkEvent,
        now: DateTime<Utc>,
        current: Option<Value>,
        issue: bool,
    ) -> Result<Planned> {
        let rt = &self.links[li];
        let before = match &current {
            Some(value) => LinkState::deserialize(value).map_err(|e| {
                Error::store(format!(
                    "key \"{}\" holds a value that is not a link state ({e})",
                    state_key(&rt.link.name, key)
                ))
            })?,
            None => LinkState::default(),
        };
        let mut state = before.clone();
        let context = self.context(li, key);
        let StepOutcome { actions, verdicts } =
            step_with(&rt.link.config, &mut state, event.clone(), now, &context);
        if issue && !self.can_issue(li, key, &actions) {
            return Ok(Planned::NotListed);
        }
        let busy = !state.is_idle();
        if state == before {
            return Ok(Planned::Unchanged(Stepped { actions, verdicts, changed: false, busy }));
        }
        let new = serde_json::to_value(&state).map_err(|e| {
            Error::store(format!("cannot encode the state \"{}\": {e}", state_key(&rt.link.name, key)))
        })?;
        Ok(Planned::Store {
            current,
            new,
            stepped: Stepped { actions, verdicts, changed: false, busy },
            was_idle: before.is_idle(),
        })
    }

    /// Keep the agent's busy marker in step with a state just stored: set it when the
    /// state became busy, remove it when it became idle.
    async fn mark_busy(&self, li: usize, key: &str, busy: bool, was_idle: bool) -> Result<()> {
        if busy && was_idle {
            self.store.put(&busy_key(&self.links[li].link.name, key), Value::Bool(true)).await?;
        } else if !busy && !was_idle {
            self.clear_busy(li, key).await?;
        }
        Ok(())
    }

    /// Remove the agent's busy marker, then put it back if the state became busy again in
    /// the meantime (another instance may have marked it just before the removal).
    async fn clear_busy(&self, li: usize, key: &str) -> Result<()> {
        self.store.delete(&busy_key(&self.links[li].link.name, key)).await?;
        self.remark_if_busy(li, key).await
    }

    /// Put the agent's busy marker back if its stored state is busy (after the marker was
    /// removed: another instance may have made the state busy just before).
    async fn remark_if_busy(&self, li: usize, key: &str) -> Result<()> {
        let name = &self.links[li].link.name;
        let state: Option<LinkState> = self.store.get_as(&state_key(name, key)).await?;
        if state.is_some_and(|s| !s.is_idle()) {
            self.store.put(&busy_key(name, key), Value::Bool(true)).await?;
        }
        Ok(())
    }

    /// Apply `event` to one agent and carry out what the link asks (writes, and reads that
    /// confirm `delivery`); failures are reported as notices (later ticks and passes retry)
    /// and returned as text.
    #[allow(clippy::too_many_arguments)]
    async fn step_agent(
        &self,
        li: usize,
        key: &str,
        event: LinkEvent,
        now: DateTime<Utc>,
        stored: Option<Option<Value>>,
        delivery: Option<&DeliveryRef>,
        writes: &mut JoinSet<()>,
        permits: &Arc<tokio::sync::Semaphore>,
        done: &Done,
    ) -> std::result::Result<Stepped, String> {
        let link_name = self.links[li].link.name.clone();
        let span = tracing::debug_span!("deskbridge.agent_step", link = %link_name, agent = %key);
        let stepped = match self.commit_step(li, key, &event, now, stored, true).instrument(span).await {
            Ok(Some(stepped)) => stepped,
            Ok(None) => {
                return Err(format!(
                    "this instance has not listed agent {key} on every side of link \"{link_name}\" yet"
                ));
            }
            Err(e) => {
                self.notify(BridgeNotice::Error {
                    context: format!("{link_name} {key}"),
                    error: e.to_string(),
                });
                return Err(e.to_string());
            }
        };
        self.issue_actions(li, key, &stepped, delivery, writes, permits, done);
        Ok(stepped)
    }

    /// Carry out what a stored step asks: report skips, start reads and writes in the
    /// background.
    #[allow(clippy::too_many_arguments)]
    fn issue_actions(
        &self,
        li: usize,
        key: &str,
        stepped: &Stepped,
        delivery: Option<&DeliveryRef>,
        writes: &mut JoinSet<()>,
        permits: &Arc<tokio::sync::Semaphore>,
        done: &Done,
    ) {
        let link_name = &self.links[li].link.name;
        for action in &stepped.actions {
            match action {
                LinkAction::Skip(reason) => self.notify(BridgeNotice::Skipped {
                    link: link_name.clone(),
                    agent: key.to_owned(),
                    reason: reason.clone(),
                }),
                LinkAction::Read { side } => {
                    self.spawn_read(li, key, *side, delivery.cloned(), writes, done);
                }
                LinkAction::Write { side, value, .. } => {
                    let (side, value) = (*side, value.clone());
                    let rt = &self.links[li];
                    let (provider, channel) = rt.link.side(side);
                    let provider = provider.clone();
                    let Some(agent_id) = rt.ids.get(key).and_then(|ids| ids[side.index()].clone()) else {
                        // commit_step checked that the id is known.
                        continue;
                    };
                    let done = done.clone();
                    let permits = permits.clone();
                    let key = key.to_owned();
                    if let Ok(mut in_flight) = self.in_flight.lock() {
                        *in_flight.entry((li, key.clone())).or_default() += 1;
                    }
                    writes.spawn(async move {
                        let Ok(_permit) = permits.acquire_owned().await else { return };
                        let result = provider
                            .set_status(&agent_id, channel, &value)
                            .await
                            .map_err(|e| (e.to_string(), e.retry_after(), is_rate_limited(&e)));
                        // Err only if the bridge stopped listening: the result is lost, and
                        // the stored pending write is re-checked after a restart.
                        let _ =
                            done.send(Completion::Write(WriteDone { link: li, key, side, value, result }));
                    });
                }
            }
        }
    }

    /// Read one side of one agent in the background; the result comes back as a
    /// [`Completion::Read`].
    fn spawn_read(
        &self,
        li: usize,
        key: &str,
        side: Side,
        delivery: Option<DeliveryRef>,
        writes: &mut JoinSet<()>,
        done: &Done,
    ) {
        let rt = &self.links[li];
        let (provider, channel) = rt.link.side(side);
        let provider = provider.clone();
        let Some(agent_id) = rt.ids.get(key).and_then(|ids| ids[side.index()].clone()) else {
            return;
        };
        metrics::counter!("deskbridge_bridge_reads_total", "link" => rt.link.name.clone(), "provider" => provider.name())
            .increment(1);
        let done = done.clone();
        let key = key.to_owned();
        writes.spawn(async move {
            let result = provider
                .agent_status(&agent_id, channel)
                .await
                .map_err(|e| (e.to_string(), is_rate_limited(&e)));
            let _ = done.send(Completion::Read(ReadDone { link: li, key, side, result, delivery }));
        });
    }

    /// The link event and the notice of a write result.
    fn write_result(&self, done: WriteDone) -> (LinkEvent, BridgeNotice) {
        if let Ok(mut in_flight) = self.in_flight.lock() {
            let entry = (done.link, done.key.clone());
            match in_flight.get_mut(&entry) {
                Some(count) if *count > 1 => *count -= 1,
                Some(_) => {
                    in_flight.remove(&entry);
                }
                None => {}
            }
        }
        let rt = &self.links[done.link];
        let provider = rt.link.side(done.side).0.name();
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
            Err((error, retry_after, rate_limited)) => {
                if rate_limited {
                    metrics::counter!("deskbridge_bridge_rate_limited_total", "provider" => provider)
                        .increment(1);
                }
                (
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
                )
            }
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

    /// Step the result of a one-agent read (and report the delivery it confirms).
    async fn read_completed(
        &mut self,
        done: ReadDone,
        writes: &mut JoinSet<()>,
        permits: &Arc<tokio::sync::Semaphore>,
        tx: &Done,
    ) {
        let link = self.links[done.link].link.name.clone();
        let outcome = match done.result {
            Ok(read) => {
                let now = (self.clock)();
                let event = LinkEvent::Read { side: done.side, value: read.clone() };
                match self.step_agent(done.link, &done.key, event, now, None, None, writes, permits, tx).await
                {
                    Ok(_) => DeliveryOutcome::Confirmed { read },
                    Err(error) => DeliveryOutcome::Failed { error },
                }
            }
            Err((error, rate_limited)) => {
                let provider = self.links[done.link].link.side(done.side).0.name();
                if rate_limited {
                    metrics::counter!("deskbridge_bridge_rate_limited_total", "provider" => provider)
                        .increment(1);
                }
                self.notify(BridgeNotice::Error {
                    context: format!("reading {} of link {link} from {provider}", done.key),
                    error: error.clone(),
                });
                DeliveryOutcome::Failed { error }
            }
        };
        if let Some(delivery) = &done.delivery {
            self.notify_delivery(delivery, Some(link), Some(done.key), outcome);
        }
        while writes.try_join_next().is_some() {}
    }

    /// Handle completions that arrived together: the write results are stepped and stored
    /// as one batch ([`commit_many`](Self::commit_many)), the reads one by one.
    async fn completed_all(
        &mut self,
        batch: Vec<Completion>,
        writes: &mut JoinSet<()>,
        permits: &Arc<tokio::sync::Semaphore>,
        tx: &Done,
    ) {
        let mut steps = Vec::new();
        for done in batch {
            match done {
                Completion::Write(done) => {
                    let (li, key) = (done.link, done.key.clone());
                    let (event, notice) = self.write_result(done);
                    self.notify(notice);
                    steps.push(Commit { li, key, event, current: None });
                }
                Completion::Read(done) => self.read_completed(done, writes, permits, tx).await,
            }
        }
        let now = (self.clock)();
        self.commit_many(steps, now, writes, permits, tx).await;
        while writes.try_join_next().is_some() {}
    }

    /// Step every busy agent (a write pending or a retry due), whichever instance made it
    /// busy: the busy markers are in the store.
    async fn tick_all(
        &mut self,
        writes: &mut JoinSet<()>,
        permits: &Arc<tokio::sync::Semaphore>,
        done: &Done,
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
                // A write of ours still queued (behind the write permits or the provider's
                // pace) is not timed out: its result will come.
                if self.in_flight.lock().is_ok_and(|in_flight| in_flight.contains_key(&(li, key.to_owned())))
                {
                    continue;
                }
                let stepped =
                    self.step_agent(li, key, LinkEvent::Tick, now, None, None, writes, permits, done).await;
                if let Ok(Stepped { changed: false, busy: false, .. }) = stepped {
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
        done: &Done,
    ) {
        for li in 0..self.links.len() {
            let link = self.links[li].link.name.clone();
            let started = std::time::Instant::now();
            let span = tracing::info_span!("deskbridge.reconcile_pass", link = %link);
            let result = self.reconcile_link(li, writes, permits, done).instrument(span).await;
            let outcome = if result.is_ok() { "ok" } else { "error" };
            metrics::histogram!("deskbridge_bridge_pass_seconds", "link" => link.clone(), "result" => outcome)
                .record(started.elapsed().as_secs_f64());
            if let Err(e) = result {
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
        done: &Done,
    ) -> Result<()> {
        let (a, b) = {
            let l = &self.links[li].link;
            (l.a.0.clone(), l.b.0.clone())
        };
        // The values listed were read at some moment of the listing: stamp them with its
        // start, so a value read before a change recorded meanwhile (a webhook, another
        // instance's write) is recognised as doubtful and read again; the end of the
        // listing is the pass's read time that later events are compared with.
        let read_at = (self.clock)();
        // Only what the pass uses: each side's statuses on its channel, groups only for a
        // filter (and only the groups it names).
        let full_pass_due = self.links[li].last_full_pass.is_none_or(|last| {
            (read_at - last).to_std().is_ok_and(|since| since >= self.options.full_pass_every)
        });
        if full_pass_due {
            self.links[li].last_full_pass = Some(read_at);
        }
        let (a_needs, b_needs) = if full_pass_due {
            crate::sync::engine::reconcile_needs(&self.links[li].link)
        } else {
            crate::sync::engine::steady_reconcile_needs(&self.links[li].link)
        };
        let (a_agents, b_agents) =
            futures_util::future::try_join(a.list_agents_with(&a_needs), b.list_agents_with(&b_needs))
                .await?;
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
        let mut groups = HashMap::new();
        let mut snapshots = Vec::with_capacity(joined.pairs.len());
        let filtered = !self.links[li].link.filter.is_empty();
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
            if filtered {
                groups.insert(key.clone(), [x.groups.clone(), y.groups.clone()]);
            }
            let seen = |v: Option<&NativeStatus>| {
                v.map(|value| Seen { value: value.clone(), origin: Origin::Unknown, at: read_at })
            };
            snapshots.push((key, seen(x.status(a_channel)), seen(y.status(b_channel))));
        }
        let mut unpaired: [HashSet<String>; 2] = [HashSet::new(), HashSet::new()];
        for &i in joined.only_left.iter().chain(&joined.ambiguous_left) {
            unpaired[0].insert(a_agents[i].id.to_string());
        }
        for &i in joined.only_right.iter().chain(&joined.ambiguous_right) {
            unpaired[1].insert(b_agents[i].id.to_string());
        }
        let agents = snapshots.len();
        let name = self.links[li].link.name.clone();
        {
            let rt = &mut self.links[li];
            rt.index = index;
            rt.ids = ids;
            rt.groups = groups;
            rt.unpaired = unpaired;
            rt.unlisted = 0;
            rt.last_pass = Some(now);
        }
        metrics::gauge!("deskbridge_bridge_paired_agents", "link" => name.clone()).set(agents as f64);
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
        if let Ok(mut hints) = self.links[li].hints.lock() {
            hints.clear();
        }
        let mut snapshots = snapshots.into_iter().peekable();
        while snapshots.peek().is_some() {
            let chunk: Vec<Commit> = snapshots
                .by_ref()
                .take(RECONCILE_BATCH)
                .map(|(key, a, b)| {
                    let current = Some(stored.remove(&key));
                    Commit { li, key, event: LinkEvent::Snapshot { a, b }, current }
                })
                .collect();
            self.commit_many(chunk, now, writes, permits, done).await;
        }
        while writes.try_join_next().is_some() {}
        self.notify(BridgeNotice::Reconciled { link: name, agents });
        Ok(())
    }

    /// Step several agents' events and store the changed states with one
    /// [`write_batch`](StateStore::write_batch) of compare-and-sets (one transaction on the
    /// embedded store; the markers of agents becoming idle go in it too), then the new busy
    /// markers with a second one, then carry out what each stored step asks. Each agent's compare-and-set is judged on its own:
    /// an agent whose state another instance changed since it was read, or every agent of
    /// a batch that failed, is stepped again alone from a fresh read, as an event would be.
    ///
    /// An entry without a value read (`current: None`) starts from the state this
    /// instance last stored for it when it has one (a hint the compare-and-set checks),
    /// else from a read.
    async fn commit_many(
        &self,
        commits: Vec<Commit>,
        now: DateTime<Utc>,
        writes: &mut JoinSet<()>,
        permits: &Arc<tokio::sync::Semaphore>,
        done: &Done,
    ) {
        // Steps to store: (entry, the step, the state stored, whether it was idle before).
        let mut to_store: Vec<(Commit, Stepped, Value, bool)> = Vec::new();
        let mut ops = Vec::new();
        for mut commit in commits {
            let (li, key) = (commit.li, commit.key.clone());
            let link_name = &self.links[li].link.name;
            let (current, verified) = match commit.current.take() {
                Some(current) => (current, true),
                None => match self.hint(li, &key) {
                    Some(hint) => (Some(hint), false),
                    None => match self.store.get(&state_key(link_name, &key)).await {
                        Ok(current) => (current, true),
                        Err(e) => {
                            self.notify(BridgeNotice::Error {
                                context: format!("{link_name} {key}"),
                                error: e.to_string(),
                            });
                            continue;
                        }
                    },
                },
            };
            match self.plan_step(li, &key, &commit.event, now, current, true) {
                Ok(Planned::NotListed) => {}
                Ok(Planned::Unchanged(stepped)) if verified => {
                    self.issue_actions(li, &key, &stepped, None, writes, permits, done);
                }
                // Nothing to store on a hint: what it asks must come from the stored state.
                Ok(Planned::Unchanged(_)) => {
                    self.forget_hint(li, &key);
                    let _ =
                        self.step_agent(li, &key, commit.event, now, None, None, writes, permits, done).await;
                }
                Ok(Planned::Store { current, new, stepped, was_idle }) => {
                    ops.push(WriteOp::CompareAndSet {
                        key: state_key(link_name, &key),
                        expected: current,
                        new: Some(new.clone()),
                    });
                    to_store.push((commit, stepped, new, was_idle));
                }
                Err(e) => self.notify(BridgeNotice::Error {
                    context: format!("{link_name} {key}"),
                    error: e.to_string(),
                }),
            }
        }
        if to_store.is_empty() {
            return;
        }
        // An agent whose state becomes idle has its busy marker removed in the same batch,
        // just before its compare-and-set: if another instance makes the state busy again
        // before that statement, the statement does not apply and the agent is stepped
        // again (and marked again) below; if after, that instance marks it itself. So no
        // busy state is left without its marker, with no read to check.
        let mut batch = Vec::with_capacity(ops.len() * 2);
        let mut cas_at = Vec::with_capacity(ops.len());
        for (op, (commit, stepped, _, was_idle)) in ops.into_iter().zip(&to_store) {
            if !stepped.busy && !was_idle {
                batch.push(WriteOp::Delete { key: busy_key(&self.links[commit.li].link.name, &commit.key) });
            }
            cas_at.push(batch.len());
            batch.push(op);
        }
        let batch_len = batch.len();
        let applied: Vec<bool> = match self.store.write_batch(batch).await {
            Ok(applied) if applied.len() == batch_len => cas_at.iter().map(|&i| applied[i]).collect(),
            Ok(applied) => {
                self.notify(BridgeNotice::Error {
                    context: "storing link states".into(),
                    error: format!(
                        "the state store answered {} results for a batch of {batch_len} writes; stepping each agent again",
                        applied.len(),
                    ),
                });
                vec![false; to_store.len()]
            }
            // Unknown which ops applied: every agent of the batch is read again below.
            Err(e) => {
                self.notify(BridgeNotice::Error {
                    context: "storing link states".into(),
                    error: e.to_string(),
                });
                vec![false; to_store.len()]
            }
        };
        let mut stored_steps = Vec::with_capacity(to_store.len());
        let mut markers = Vec::new();
        for ((commit, mut stepped, new, was_idle), applied) in to_store.into_iter().zip(applied) {
            let Commit { li, key, event, .. } = commit;
            if !applied {
                // Another instance changed the state since it was read (or the batch
                // failed): step its version, alone.
                self.forget_hint(li, &key);
                let _ = self.step_agent(li, &key, event, now, None, None, writes, permits, done).await;
                if !stepped.busy && !was_idle {
                    // The marker may have gone with the batch: put it back if the state
                    // is busy.
                    if let Err(e) = self.remark_if_busy(li, &key).await {
                        let link_name = &self.links[li].link.name;
                        self.notify(BridgeNotice::Error {
                            context: format!("{link_name} {key}"),
                            error: e.to_string(),
                        });
                    }
                }
                continue;
            }
            stepped.changed = true;
            if stepped.busy {
                self.remember_hint(li, &key, new);
                if was_idle {
                    let marker = busy_key(&self.links[li].link.name, &key);
                    markers.push(WriteOp::Put { key: marker, value: Value::Bool(true) });
                }
            } else {
                self.forget_hint(li, &key);
            }
            stored_steps.push((li, key, stepped));
        }
        if !markers.is_empty()
            && let Err(e) = self.store.write_batch(markers).await
        {
            // The states are stored without their markers: the next pass repairs the
            // markers and steps them; nothing is started now, as after a failed single call.
            self.notify(BridgeNotice::Error { context: "storing busy markers".into(), error: e.to_string() });
            return;
        }
        for (li, key, stepped) in stored_steps {
            self.issue_actions(li, &key, &stepped, None, writes, permits, done);
        }
    }

    /// The busy state this instance last stored for `key`, if it remembers one.
    fn hint(&self, li: usize, key: &str) -> Option<Value> {
        self.links[li].hints.lock().ok().and_then(|hints| hints.get(key).cloned())
    }

    fn remember_hint(&self, li: usize, key: &str, state: Value) {
        if let Ok(mut hints) = self.links[li].hints.lock() {
            hints.insert(key.to_owned(), state);
        }
    }

    fn forget_hint(&self, li: usize, key: &str) {
        if let Ok(mut hints) = self.links[li].hints.lock() {
            hints.remove(key);
        }
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

/// Whether `error` is a provider's "too many requests".
fn is_rate_limited(error: &Error) -> bool {
    matches!(error, Error::RateLimited { .. } | Error::Api { status: 429, .. })
}

/// Count `notice` in the `metrics` facade (a no-op unless the embedder installed a
/// recorder, e.g. a Prometheus exporter).
fn record_metrics(notice: &BridgeNotice) {
    match notice {
        BridgeNotice::Delivery { outcome, .. } => {
            metrics::counter!("deskbridge_bridge_deliveries_total", "outcome" => outcome.as_str())
                .increment(1)
        }
        BridgeNotice::StampClamped { link, .. } => {
            metrics::counter!("deskbridge_bridge_stamps_clamped_total", "link" => link.clone()).increment(1)
        }
        BridgeNotice::Wrote { link, provider, .. } => metrics::counter!(
            "deskbridge_bridge_writes_total", "link" => link.clone(), "provider" => provider.clone()
        )
        .increment(1),
        BridgeNotice::WriteFailed { link, provider, .. } => metrics::counter!(
            "deskbridge_bridge_write_failures_total", "link" => link.clone(), "provider" => provider.clone()
        )
        .increment(1),
        BridgeNotice::Skipped { link, reason, .. } => metrics::counter!(
            "deskbridge_bridge_skips_total", "link" => link.clone(), "reason" => reason.kind()
        )
        .increment(1),
        BridgeNotice::Reconciled { link, .. } => {
            metrics::counter!("deskbridge_bridge_passes_total", "link" => link.clone()).increment(1)
        }
        BridgeNotice::Error { .. } => metrics::counter!("deskbridge_bridge_errors_total").increment(1),
        BridgeNotice::ScheduleRan { written, failed } => {
            metrics::counter!("deskbridge_bridge_schedule_writes_total").increment(*written as u64);
            metrics::counter!("deskbridge_bridge_schedule_write_failures_total").increment(*failed as u64);
        }
        BridgeNotice::InboxRouted { .. } | BridgeNotice::Validated { .. } => {}
    }
}

/// The checks of [`Bridge::validate`] for one link; returns what could not be checked.
async fn validate_link(link: &StatusLink) -> Result<Vec<String>> {
    let name = &link.name;
    let mut unchecked = Vec::new();
    let written = link.written_sides();
    let side_name = |side: Side| if side == Side::A { "A" } else { "B" };
    for &side in &written {
        let (provider, channel) = link.side(side);
        let table = link.config.map.table(side);
        let values: Vec<&NativeStatus> = table
            .writes
            .values()
            .filter_map(|rule| match rule {
                crate::mapping::WriteRule::Write(value) => Some(value),
                crate::mapping::WriteRule::NotWritable { .. } => None,
            })
            .collect();
        if values.is_empty() {
            return Err(Error::config(format!(
                "status link \"{name}\": side {} ({}, table \"{}\") has no value to write for any presence, so nothing could ever be written there",
                side_name(side),
                provider.name(),
                table.provider
            )));
        }
        for value in values.iter().copied() {
            let canonical = provider.canonical_status(channel, value);
            if canonical != *value {
                return Err(Error::config(format!(
                    "status link \"{name}\": side {} ({}) spells \"{value}\", but {} compares and writes it as \"{canonical}\"; use \"{canonical}\" in the status table",
                    side_name(side),
                    provider.name(),
                    provider.name()
                )));
            }
        }
        let Some(vocabulary) = provider.writable_statuses(channel).await? else {
            unchecked.push(format!(
                "side {}: {} cannot list the values it accepts on {channel}",
                side_name(side),
                provider.name()
            ));
            continue;
        };
        if vocabulary.is_empty() {
            return Err(Error::config(format!(
                "status link \"{name}\": side {} is {} on {channel}, which {} cannot write",
                side_name(side),
                provider.name(),
                provider.name()
            )));
        }
        let unknown: Vec<String> =
            values.iter().filter(|v| !vocabulary.contains(v)).map(|v| format!("\"{v}\"")).collect();
        if !unknown.is_empty() {
            let other = link.config.map.table(side.other());
            let other_fits =
                other.writes.values().all(|rule| match rule {
                    crate::mapping::WriteRule::Write(value) => vocabulary.contains(value),
                    crate::mapping::WriteRule::NotWritable { .. } => true,
                }) && other.writes.values().any(|rule| matches!(rule, crate::mapping::WriteRule::Write(_)));
            if other_fits {
                return Err(Error::config(format!(
                    "status link \"{name}\": the status map's sides are swapped: side {} is {} but its table is \"{}\" (the table of side {} fits {})",
                    side_name(side),
                    provider.name(),
                    table.provider,
                    side_name(side.other()),
                    provider.name()
                )));
            }
            let known: Vec<String> = vocabulary.iter().map(|v| format!("\"{v}\"")).collect();
            return Err(Error::config(format!(
                "status link \"{name}\": side {} ({} on {channel}) would be written {}, which {} does not accept; it accepts {}",
                side_name(side),
                provider.name(),
                unknown.join(", "),
                provider.name(),
                known.join(", ")
            )));
        }
    }
    // Every side is read: a reading spelled otherwise than the provider reports its values
    // would never match.
    for side in [Side::A, Side::B] {
        let (provider, channel) = link.side(side);
        for value in link.config.map.table(side).readings.keys() {
            let canonical = provider.canonical_status(channel, value);
            if canonical != *value {
                return Err(Error::config(format!(
                    "status link \"{name}\": side {} ({}) reads \"{value}\", but {} reports it as \"{canonical}\"; use \"{canonical}\" in the status table",
                    side_name(side),
                    provider.name(),
                    provider.name()
                )));
            }
        }
    }
    let filter = &link.filter;
    if !filter.is_empty() {
        let written_channels: Vec<Channel> = written.iter().map(|&side| link.side(side).1).collect();
        for (channel, groups) in &filter.include {
            if !groups.is_empty() && !written_channels.contains(channel) {
                let list: Vec<String> = written_channels.iter().map(|c| c.to_string()).collect();
                return Err(Error::config(format!(
                    "status link \"{name}\": the group filter restricts {channel}, but the link writes only {}",
                    list.join(" and ")
                )));
            }
        }
        let mut known = Vec::new();
        let mut providers = Vec::new();
        for &side in &written {
            let provider = link.side(side).0;
            known.extend(provider.list_groups().await?);
            providers.push(provider.name());
        }
        filter.validate(providers.first().copied().unwrap_or("provider"), &known)?;
    }
    Ok(unchecked)
}
