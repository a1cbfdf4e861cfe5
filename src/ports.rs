//! The ports: async traits through which the engines talk to the outside world.
//!
//! Providers implement them (feature-gated adapters in `aircall`, `zendesk`, `usedesk`,
//! `twitter`); embedders may implement them for their own tools (a workforce system, a
//! database of shifts, a different helpdesk). Engines depend only on these traits, never
//! on a provider module.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Result;
use crate::schedule::Shift;
use crate::status::{Agent, Channel, Group, NativeStatus};

/// A system that holds agents and their per-channel status (Aircall, Zendesk, Usedesk).
///
/// # Contract
///
/// The engines rely on these rules; an embedder's implementation must keep them (the
/// `custom_provider` example and `docs/EXTENDING.md` show one):
///
/// - **Channels.** A provider has a fixed set of channels it supports (Aircall: voice;
///   Usedesk: chat and tickets). [`list_agents`](Self::list_agents) fills
///   [`Agent::statuses`] for every supported channel on which it can read the agent's
///   status, and leaves every other channel empty; an empty channel means "no status here",
///   never "offline". [`set_status`](Self::set_status) on an unsupported channel is an
///   [`Error::InvalidInput`](crate::Error::InvalidInput) naming the channel, and sends
///   nothing.
/// - **Values.** Statuses are the provider's own values ([`NativeStatus`]), spelled as the
///   provider spells them; the mapping to presence lives in [`crate::mapping`]. A value the
///   provider does not know is an [`Error::InvalidInput`](crate::Error::InvalidInput), not a
///   guess.
/// - **Idempotent writes.** `set_status` to the value the agent already holds must succeed
///   and change nothing visible; the engines may repeat a write after a timeout or a crash.
/// - **Errors.** A failure of the embedder's own system is reported as
///   [`Error::External`](crate::Error::External) (with its source and whether a retry may
///   help), so reports and retries treat it like a provider's own failure.
#[async_trait]
pub trait StatusProvider: Send + Sync {
    /// A short, stable provider name used in reports and errors (`aircall`, `zendesk`).
    fn name(&self) -> &'static str;

    /// Every agent with id, e-mail, groups and current status per supported channel (see
    /// the [contract](Self#contract): unsupported or unreadable channels stay empty).
    async fn list_agents(&self) -> Result<Vec<Agent>>;

    /// Every agent, reading only what `needs` asks for: a provider may skip groups (no
    /// group filter needs them) or channels nobody reads, and so spend fewer requests.
    /// What it returns for what was asked is what [`list_agents`](Self::list_agents)
    /// returns (see [`ListingNeeds`]).
    ///
    /// The default calls [`list_agents`](Self::list_agents) (reading everything).
    async fn list_agents_with(&self, needs: &ListingNeeds) -> Result<Vec<Agent>> {
        let _ = needs;
        self.list_agents().await
    }

    /// The requests [`list_agents_with`](Self::list_agents_with) will make for `needs`,
    /// so a caller can see (and budget) a listing before it runs. The default:
    /// [`RequestPlan::unknown`].
    fn planned_reads(&self, needs: &ListingNeeds) -> RequestPlan {
        let _ = needs;
        RequestPlan::unknown()
    }

    /// Every group the provider knows (for group filters and their validation).
    async fn list_groups(&self) -> Result<Vec<Group>>;

    /// Set one agent's status on one channel to the provider's own value. Idempotent; an
    /// unsupported channel or an unknown value is an
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) (see the [contract](Self#contract)).
    async fn set_status(&self, agent_id: &str, channel: Channel, status: &NativeStatus) -> Result<()>;

    /// One agent's current status on `channel`, read now (`None`: the agent is gone or has
    /// no status there). The continuous bridge calls it to confirm a doubtful webhook.
    ///
    /// The default lists every agent and picks this one; providers that can read one
    /// agent override it (Aircall: `GET /v1/users/{id}`; Zendesk: the agent's
    /// availability).
    async fn agent_status(&self, agent_id: &str, channel: Channel) -> Result<Option<NativeStatus>> {
        Ok(self
            .list_agents()
            .await?
            .into_iter()
            .find(|agent| agent.id.as_str() == agent_id)
            .and_then(|agent| agent.status(channel).cloned()))
    }

    /// The one spelling under which this provider compares and writes `value` on
    /// `channel` (Zendesk reads `Online` as `online`). The default keeps the value as it is.
    fn canonical_status(&self, channel: Channel, value: &NativeStatus) -> NativeStatus {
        let _ = channel;
        value.clone()
    }

    /// Every value, in canonical form, that [`set_status`](Self::set_status) accepts on
    /// `channel`: `Ok(Some(vec![]))` when the channel cannot be written at all, `Ok(None)`
    /// (the default) when the provider cannot tell. Links are checked against it before
    /// their first write.
    async fn writable_statuses(&self, channel: Channel) -> Result<Option<Vec<NativeStatus>>> {
        let _ = channel;
        Ok(None)
    }
}

/// What a caller needs from a listing of agents, so that a provider reads only that
/// ([`StatusProvider::list_agents_with`]).
///
/// The default needs everything [`StatusProvider::list_agents`] returns: groups and every
/// channel's status. Narrow it with the builder-style setters:
///
/// ```
/// use deskbridge::ports::ListingNeeds;
/// use deskbridge::status::Channel;
///
/// // A link on the voice channel with no group filter.
/// let needs = ListingNeeds::default().with_groups(false).with_channels([Channel::Voice]);
/// assert!(!needs.groups());
/// assert!(needs.wants_channel(Channel::Voice));
/// assert!(!needs.wants_channel(Channel::Chat));
/// ```
///
/// A provider may return more than was asked for (a group it read anyway); it must not
/// return less: an agent's groups are complete when [`groups`](Self::groups) is true (or,
/// with [`only_groups`](Self::only_groups), complete as far as the named groups go), and
/// each wanted channel is filled as [`StatusProvider::list_agents`] would fill it.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListingNeeds {
    groups: bool,
    only_groups: Option<Vec<String>>,
    channels: [bool; Channel::ALL.len()],
    incremental: bool,
}

impl Default for ListingNeeds {
    /// Everything: groups and every channel (what [`StatusProvider::list_agents`] returns).
    fn default() -> Self {
        Self { groups: true, only_groups: None, channels: [true; Channel::ALL.len()], incremental: false }
    }
}

impl ListingNeeds {
    /// Whether each agent's groups are needed (a group filter or a report uses them). When
    /// false, a provider may leave [`Agent::groups`] empty and skip reading groups,
    /// memberships or teams.
    pub fn with_groups(mut self, needed: bool) -> Self {
        self.groups = needed;
        if !needed {
            self.only_groups = None;
        }
        self
    }

    /// Only membership of the groups named here matters (a group filter's include and
    /// *Do not change* lists): a provider may then report, in [`Agent::groups`], only
    /// these of the agent's groups, and read only their memberships. Implies
    /// [`with_groups(true)`](Self::with_groups).
    pub fn with_only_groups<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut names: Vec<String> = names.into_iter().map(Into::into).collect();
        names.sort();
        names.dedup();
        self.groups = true;
        self.only_groups = Some(names);
        self
    }

    /// Only the statuses of these channels are needed; other channels may stay empty.
    pub fn with_channels<I>(mut self, channels: I) -> Self
    where
        I: IntoIterator<Item = Channel>,
    {
        self.channels = [false; Channel::ALL.len()];
        for channel in channels {
            self.channels[channel.index()] = true;
        }
        self
    }

    /// The listing may be incremental (default false): a provider with a change feed may
    /// answer from what its previous listing read, updated by the changes since (Zendesk:
    /// the incremental user export), instead of reading every record again. Statuses are
    /// still read fresh. A caller that allows this must still ask for a full listing now
    /// and then, so that nothing a feed misses drifts forever (the bridge's
    /// `BridgeOptions::full_pass_every`).
    pub fn with_incremental(mut self, allowed: bool) -> Self {
        self.incremental = allowed;
        self
    }

    /// Whether the listing may be incremental.
    pub fn incremental(&self) -> bool {
        self.incremental
    }

    /// Whether groups are needed.
    pub fn groups(&self) -> bool {
        self.groups
    }

    /// The only groups whose membership is needed, when the caller named them (sorted,
    /// without duplicates); `None` when every group is needed (or none, see
    /// [`groups`](Self::groups)).
    pub fn only_groups(&self) -> Option<&[String]> {
        self.only_groups.as_deref()
    }

    /// Whether the status on `channel` is needed.
    pub fn wants_channel(&self, channel: Channel) -> bool {
        self.channels[channel.index()]
    }
}

/// One kind of request a listing makes ([`RequestPlan`]).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedRead {
    /// The HTTP method (`GET`).
    pub method: String,
    /// The path as the provider documents it, with `{placeholders}` for ids
    /// (`/api/v2/groups/{group_id}/memberships`).
    pub path: String,
    /// How many requests of this kind, as far as known before the listing.
    pub count: PlannedCount,
    /// What the read is for (`users`, `statuses`, `group memberships`).
    pub purpose: String,
}

impl PlannedRead {
    /// A `GET` of `path` for `purpose`.
    pub fn get(path: impl Into<String>, count: PlannedCount, purpose: impl Into<String>) -> Self {
        Self { method: "GET".to_owned(), path: path.into(), count, purpose: purpose.into() }
    }
}

/// How many requests a [`PlannedRead`] makes.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlannedCount {
    /// Exactly one request.
    One,
    /// One request per page of `page_size` records (the number of records is known only
    /// once the listing is read).
    Pages {
        /// Records per page.
        page_size: u32,
    },
    /// One request (or more, paged) per item of something listed first (one per group,
    /// one per agent).
    PerItem,
    /// At most once per client (a setting read once and cached), so possibly none.
    AtMostOnce,
}

/// The requests a listing will make ([`StatusProvider::planned_reads`]): which endpoints,
/// and how many requests each, as far as the provider can tell before reading.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestPlan {
    /// The reads, in no particular order (independent listings run concurrently).
    pub reads: Vec<PlannedRead>,
    /// False when the provider cannot tell which requests it makes (the default
    /// implementation); [`reads`](Self::reads) is then empty.
    pub known: bool,
}

impl RequestPlan {
    /// A plan of these reads.
    pub fn of(reads: Vec<PlannedRead>) -> Self {
        Self { reads, known: true }
    }

    /// The plan of a provider that cannot tell.
    pub fn unknown() -> Self {
        Self::default()
    }

    /// Whether the plan has a read of `path` (exactly as in [`PlannedRead::path`]).
    pub fn reads_path(&self, path: &str) -> bool {
        self.reads.iter().any(|read| read.path == path)
    }
}

/// A source of shifts: who works when.
#[async_trait]
pub trait ScheduleSource: Send + Sync {
    /// Shifts that overlap `[from, to)`.
    async fn shifts(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Shift>>;

    /// Every agent (e-mail) the schedule covers, whether or not they have a shift near
    /// now, when the source can tell; `None` (the default) when it cannot, in which case
    /// agents without a shift in the window read are treated as not in the schedule.
    async fn agents(&self) -> Result<Option<Vec<String>>> {
        Ok(None)
    }
}

/// A ticket's lifecycle state, as far as routing cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TicketState {
    /// Open, new, pending, on hold, solved: any state in which a new message still
    /// belongs to this ticket.
    Open,
    /// Closed (or deleted, merged, spam): the next message opens a new ticket.
    Closed,
}

/// A ticket to create in a helpdesk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewTicket {
    /// Subject line.
    pub subject: String,
    /// The first message, as the client wrote it (media rendered as lines of text).
    pub message: String,
    /// The helpdesk's client id when the client is already known (from an earlier ticket).
    pub client_id: Option<String>,
    /// The client's name as shown in the helpdesk (used when a new client is created).
    pub client_name: String,
    /// Channel id in the helpdesk, when it routes by channel.
    pub channel_id: Option<String>,
    /// Tags to put on the ticket (e.g. `Twitter:Direct`), exactly as spelled.
    pub tags: Vec<String>,
    /// A key unique to this message, stored with the ticket (Usedesk `additional_id`) so
    /// that a create interrupted before its result was saved can be found instead of
    /// repeated.
    pub dedupe_key: String,
}

/// A created or found ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketRef {
    /// The helpdesk's ticket id.
    pub id: String,
    /// The client id the helpdesk assigned, when it says.
    pub client_id: Option<String>,
}

/// A helpdesk in which customer messages become tickets and comments.
#[async_trait]
pub trait TicketDesk: Send + Sync {
    /// A short, stable name used in reports and errors.
    fn name(&self) -> &'static str;

    /// Create a ticket.
    async fn create_ticket(&self, ticket: &NewTicket) -> Result<TicketRef>;

    /// Find a ticket created with `dedupe_key`, looking at tickets created at or after
    /// `created_after` (the moment the create was first attempted, less a margin), so that
    /// a create interrupted before its result was stored is not repeated.
    async fn find_by_dedupe_key(
        &self,
        dedupe_key: &str,
        created_after: DateTime<Utc>,
    ) -> Result<Option<TicketRef>>;

    /// Add a comment written by the client to an existing ticket. Implementations embed
    /// `dedupe_key` in the comment so [`has_comment`](Self::has_comment) can find it.
    async fn add_client_comment(&self, ticket_id: &str, message: &str, dedupe_key: &str) -> Result<()>;

    /// Whether the ticket already has a comment added with `dedupe_key`.
    async fn has_comment(&self, ticket_id: &str, dedupe_key: &str) -> Result<bool>;

    /// The ticket's state.
    async fn ticket_state(&self, ticket_id: &str) -> Result<TicketState>;
}

/// What kind of social message arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum MessageKind {
    /// A private direct message.
    DirectMessage,
    /// A public post that mentions our account.
    Mention,
}

/// A picture, GIF or video attached to a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Media {
    /// The provider's media type (`photo`, `animated_gif`, `video`).
    pub kind: String,
    /// Where to see it (image URL, or preview image for videos).
    pub url: String,
}

/// A message from a social channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboundMessage {
    /// The provider's id of the message (DM event id, post id): unique per kind.
    pub id: String,
    /// DM or mention.
    pub kind: MessageKind,
    /// The author's stable user id.
    pub author_id: String,
    /// The author's handle (`@name` without the `@`), when known.
    pub author_handle: Option<String>,
    /// The author's display name, when known.
    pub author_name: Option<String>,
    /// The text.
    pub text: String,
    /// When it was sent.
    pub created_at: DateTime<Utc>,
    /// For a mention that replies to a post: the id of that post.
    pub in_reply_to: Option<String>,
    /// Attached media.
    pub media: Vec<Media>,
}

/// A batch of messages and the cursor to ask from next time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageBatch {
    /// Messages, oldest first.
    pub messages: Vec<InboundMessage>,
    /// Opaque cursor to store and pass to the next [`MessageSource::fetch`].
    pub cursor: Value,
}

/// A social channel: DMs and mentions in, DMs and public replies out.
#[async_trait]
pub trait MessageSource: Send + Sync {
    /// A short, stable name used in reports and errors.
    fn name(&self) -> &'static str;

    /// Our own account's user id (its messages are not customer messages).
    fn own_user_id(&self) -> &str;

    /// Messages since `cursor` (`Value::Null` on the first run), oldest first.
    async fn fetch(&self, cursor: &Value) -> Result<MessageBatch>;

    /// Send a direct message to `user_id`; returns the new message id.
    async fn send_direct_message(&self, user_id: &str, text: &str) -> Result<String>;

    /// Publish a public reply under the post `in_reply_to`; returns the new post id.
    async fn reply_publicly(&self, in_reply_to: &str, text: &str) -> Result<String>;
}

/// Durable key-value state: cursors, last written values, DM-to-ticket maps, processed
/// event ids.
///
/// Keys are `/`-separated strings (`inbox/processed/123`); values are JSON. Every
/// implementation makes each call atomic; [`compare_and_set`](Self::compare_and_set) is the
/// primitive engines use when a read and a write must not interleave.
///
/// # Claims (leases)
///
/// When several bridge instances share one store, [`try_claim`](Self::try_claim) and
/// [`release_claim`](Self::release_claim) let exactly one of them own a piece of work (an
/// agent's sync, a poll loop) for a while. A claim is an ordinary key whose value is a
/// [`Claim`] — JSON `{"owner": "...", "expires_at": "<RFC 3339 UTC>"}` — so it can be read
/// with `get` (or `StateStoreExt::get_as::<Claim>`) like any other value. An owner is any
/// string that identifies one instance (e.g. host name plus process id); instances must use
/// distinct owners.
///
/// Expiry is judged by a clock: the provided implementations (built on
/// `compare_and_set`, used by the memory and file stores) use the `now` the caller passes,
/// so instances sharing such a store need roughly synchronised clocks, and a claim is only
/// as exclusive as their skew allows (keep `ttl` well above the skew). A store may use a
/// clock of its own instead and ignore `now`: the PostgreSQL store uses the database
/// server's `now()`, so the instances' clocks do not matter there.
///
/// A claim guarantees exclusivity only while it is unexpired: an owner that may work longer
/// than `ttl` must renew (call `try_claim` again) well before it expires, and stop working
/// when a renewal returns `false`.
///
/// # Implementing and decorating
///
/// Every method is required, on purpose. A wrapper (a decorator that adds metrics, a
/// cache, a key prefix) must forward [`insert_if_absent`](Self::insert_if_absent),
/// [`try_claim`](Self::try_claim) and [`release_claim`](Self::release_claim) to the store it
/// wraps: if the trait supplied them, a wrapper that forgot would compile and silently
/// replace, say, PostgreSQL's server-clock claims with a client-clock emulation. As with
/// `tower::Service` (and unlike `std::io::Write`'s provided `write_all`), forgetting is a
/// compile error instead.
///
/// A store with no native primitive for these three implements each in one line with the
/// helpers in [`via_cas`], which build them from `get` and `compare_and_set`. Check a new
/// store, or a decorator over one, with the conformance suites of the `test-util` feature
/// (`deskbridge::test_util::{store_conformance, claim_conformance}`).
#[async_trait]
pub trait StateStore: Send + Sync {
    /// The value at `key`.
    async fn get(&self, key: &str) -> Result<Option<Value>>;

    /// Set `key` to `value`.
    async fn put(&self, key: &str, value: Value) -> Result<()>;

    /// Remove `key` (no error if absent).
    async fn delete(&self, key: &str) -> Result<()>;

    /// Atomically set `key` to `new` (or remove it when `new` is `None`) only if its
    /// current value equals `expected` (`None`: absent). Returns whether it was applied.
    async fn compare_and_set(&self, key: &str, expected: Option<&Value>, new: Option<Value>) -> Result<bool>;

    /// Every key starting with `prefix`, with its value, in key order.
    async fn scan_prefix(&self, prefix: &str) -> Result<Vec<(String, Value)>>;

    /// Set `key` only if it is absent. Returns whether it was set (i.e. the caller is the
    /// first to claim it).
    ///
    /// A store with no native primitive for this implements it with
    /// [`via_cas::insert_if_absent`]; a decorator forwards it to the store it wraps.
    async fn insert_if_absent(&self, key: &str, value: Value) -> Result<bool>;

    /// Claim `key` for `owner` for `ttl`. Returns whether `owner` now holds the claim.
    ///
    /// The claim is taken when `key` is absent, when it holds a claim that has expired
    /// (`expires_at <= now`), or when it already holds a claim of `owner` — which is then
    /// renewed to expire `ttl` after now. A claim of another owner that has not expired is
    /// left alone and the answer is `false`. See the [trait documentation](Self#claims-leases)
    /// for whose clock decides expiry (`now` here, unless the store documents its own).
    ///
    /// A key that holds something other than a [`Claim`] is an [`Error::Store`](crate::Error::Store)
    /// naming the key; so is a `now + ttl` outside the representable time range.
    ///
    /// A store that judges expiry by the caller's clock implements it with
    /// [`via_cas::try_claim`]; a decorator forwards it to the store it wraps.
    async fn try_claim(&self, key: &str, owner: &str, ttl: Duration, now: DateTime<Utc>) -> Result<bool>;

    /// Give up `owner`'s claim on `key`. Returns whether a claim of `owner` was removed
    /// (`false` when the key is absent or claimed by another owner, who keeps it).
    ///
    /// A claim of `owner` is removed even if it has expired (no one else took it). A key
    /// that holds something other than a [`Claim`] is an [`Error::Store`](crate::Error::Store).
    ///
    /// A store with no native primitive implements it with [`via_cas::release_claim`]; a
    /// decorator forwards it to the store it wraps.
    async fn release_claim(&self, key: &str, owner: &str) -> Result<bool>;

    /// Make every change this store has acknowledged survive a power loss (not only a
    /// killed process), before the caller does something outside that must never be done
    /// twice: the inbox calls it after recording its intent and before creating a ticket
    /// or adding a comment.
    ///
    /// A store whose every call is durable when it returns (the file store `fsync`s each
    /// change; PostgreSQL with its default `synchronous_commit = on`), and the memory
    /// store, implement it as `Ok(())`. The embedded SQLite store with its default
    /// durability syncs its log here (one disk sync). It is required, not provided, for the
    /// same reason as the claim methods: a decorator that forgot to forward it would
    /// silently lose the wrapped store's power-loss guarantee.
    async fn flush(&self) -> Result<()>;

    /// Apply `ops` in order; returns, for each, whether it applied (`put` and `delete`
    /// always apply; a [`WriteOp::CompareAndSet`] applies when the key held `expected`,
    /// judged after the earlier ops of the batch).
    ///
    /// This is how an engine groups the state writes of one pass. Each op keeps the
    /// semantics of the single call it stands for; what a store adds is the grouping:
    ///
    /// - The provided implementation (memory and file stores, and every embedder's store)
    ///   runs the single calls one after another, so each op commits on its own and a
    ///   failure leaves the earlier ops applied. On a store that several instances share
    ///   this is what keeps each agent's compare-and-set correct: every op is judged
    ///   against the state the other instances see at that moment, and no row lock is held
    ///   across the batch.
    /// - The PostgreSQL store keeps exactly those semantics (one statement, one commit per
    ///   op) but pipelines the statements on one connection, so a batch costs about one
    ///   round trip; on an error, later ops may have applied too.
    /// - The embedded SQLite store commits the whole batch in one transaction (one commit
    ///   instead of one per op): all of it is applied or, on an error, none of it.
    ///
    /// On an error, re-read what the batch was about before deciding again, as after a
    /// failed single call.
    ///
    /// A decorator may leave this provided: the default calls the decorator's own single
    /// calls, so it sees every write (at the cost of the wrapped store's grouping).
    async fn write_batch(&self, ops: Vec<WriteOp>) -> Result<Vec<bool>> {
        let mut applied = Vec::with_capacity(ops.len());
        for op in ops {
            applied.push(match op {
                WriteOp::Put { key, value } => self.put(&key, value).await.map(|()| true)?,
                WriteOp::Delete { key } => self.delete(&key).await.map(|()| true)?,
                WriteOp::CompareAndSet { key, expected, new } => {
                    self.compare_and_set(&key, expected.as_ref(), new).await?
                }
            });
        }
        Ok(applied)
    }
}

/// The atomic operations of [`StateStore`] built from `get` and `compare_and_set` alone:
/// the implementations of [`StateStore::insert_if_absent`], [`StateStore::try_claim`] and
/// [`StateStore::release_claim`] for a store with no native primitive of its own (the
/// memory and file stores use them). Each is one line in an `impl StateStore`:
///
/// ```
/// # use std::time::Duration;
/// # use deskbridge::prelude::*;
/// # use deskbridge::ports::via_cas;
/// # struct MyStore;
/// # #[async_trait]
/// # impl StateStore for MyStore {
/// #     async fn get(&self, _: &str) -> Result<Option<Value>> { Ok(None) }
/// #     async fn put(&self, _: &str, _: Value) -> Result<()> { Ok(()) }
/// #     async fn delete(&self, _: &str) -> Result<()> { Ok(()) }
/// #     async fn compare_and_set(&self, _: &str, _: Option<&Value>, _: Option<Value>) -> Result<bool> { Ok(true) }
/// #     async fn scan_prefix(&self, _: &str) -> Result<Vec<(String, Value)>> { Ok(vec![]) }
/// #     async fn flush(&self) -> Result<()> { Ok(()) }
/// async fn insert_if_absent(&self, key: &str, value: Value) -> Result<bool> {
///     via_cas::insert_if_absent(self, key, value).await
/// }
/// async fn try_claim(&self, key: &str, owner: &str, ttl: Duration, now: DateTime<Utc>) -> Result<bool> {
///     via_cas::try_claim(self, key, owner, ttl, now).await
/// }
/// async fn release_claim(&self, key: &str, owner: &str) -> Result<bool> {
///     via_cas::release_claim(self, key, owner).await
/// }
/// # }
/// ```
///
/// A decorator must not use these: it forwards to the store it wraps, which may have a
/// primitive of its own (PostgreSQL judges claims by the database server's clock).
pub mod via_cas {
    use std::time::Duration;

    use chrono::{DateTime, Utc};
    use serde_json::Value;

    use super::{CLAIM_ATTEMPTS, Claim, StateStore, claim_expiry, claim_from_value, claim_to_value};
    use crate::Result;

    /// [`StateStore::insert_if_absent`] as `compare_and_set(key, None, Some(value))`.
    ///
    /// # Errors
    /// Whatever `compare_and_set` reports.
    pub async fn insert_if_absent<S: StateStore + ?Sized>(
        store: &S,
        key: &str,
        value: Value,
    ) -> Result<bool> {
        store.compare_and_set(key, None, Some(value)).await
    }

    /// [`StateStore::try_claim`] judged by the caller's `now`, as a read followed by a
    /// compare-and-set, re-read when another writer won the race (up to 64 times).
    ///
    /// # Errors
    /// As [`StateStore::try_claim`], plus an [`Error::Store`](crate::Error::Store) when the
    /// key kept changing under contention.
    pub async fn try_claim<S: StateStore + ?Sized>(
        store: &S,
        key: &str,
        owner: &str,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let expires_at = claim_expiry(key, now, ttl)?;
        let claim = Claim { owner: owner.to_owned(), expires_at };
        let new = claim_to_value(key, &claim)?;
        // Each failed compare-and-set means another writer changed the key in between;
        // re-read and decide again.
        for _ in 0..CLAIM_ATTEMPTS {
            let current = store.get(key).await?;
            let may_take = match &current {
                None => true,
                Some(value) => {
                    let held = claim_from_value(key, value)?;
                    held.owner == owner || held.expires_at <= now
                }
            };
            if !may_take {
                return Ok(false);
            }
            if store.compare_and_set(key, current.as_ref(), Some(new.clone())).await? {
                return Ok(true);
            }
        }
        Err(crate::Error::store(format!(
            "claim \"{key}\" kept changing under contention; gave up after {CLAIM_ATTEMPTS} attempts"
        )))
    }

    /// [`StateStore::release_claim`] as a read followed by a compare-and-set.
    ///
    /// # Errors
    /// As [`StateStore::release_claim`], plus an [`Error::Store`](crate::Error::Store) when
    /// the key kept changing under contention.
    pub async fn release_claim<S: StateStore + ?Sized>(store: &S, key: &str, owner: &str) -> Result<bool> {
        for _ in 0..CLAIM_ATTEMPTS {
            let Some(current) = store.get(key).await? else {
                return Ok(false);
            };
            if claim_from_value(key, &current)?.owner != owner {
                return Ok(false);
            }
            if store.compare_and_set(key, Some(&current), None).await? {
                return Ok(true);
            }
        }
        Err(crate::Error::store(format!(
            "claim \"{key}\" kept changing under contention; gave up after {CLAIM_ATTEMPTS} attempts"
        )))
    }
}

/// One write of a [`StateStore::write_batch`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum WriteOp {
    /// [`StateStore::put`]: set `key` to `value`.
    Put {
        /// The key.
        key: String,
        /// Its new value.
        value: Value,
    },
    /// [`StateStore::delete`]: remove `key` (no error if absent).
    Delete {
        /// The key.
        key: String,
    },
    /// [`StateStore::compare_and_set`]: set `key` to `new` (remove it when `None`) only if
    /// it holds `expected` (`None`: absent).
    CompareAndSet {
        /// The key.
        key: String,
        /// The value the key must hold for the op to apply (`None`: absent).
        expected: Option<Value>,
        /// The value to set (`None`: remove the key).
        new: Option<Value>,
    },
}

impl WriteOp {
    /// The key the op writes.
    pub fn key(&self) -> &str {
        match self {
            Self::Put { key, .. } | Self::Delete { key } | Self::CompareAndSet { key, .. } => key,
        }
    }
}

/// How often the provided claim methods re-read a key whose compare-and-set lost a race.
const CLAIM_ATTEMPTS: usize = 64;

/// The value [`StateStore::try_claim`] stores at a claimed key: who holds it and until when.
///
/// Serialised as `{"owner": "...", "expires_at": "2025-01-31T12:00:00.123456Z"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    /// The instance that holds the claim.
    pub owner: String,
    /// When the claim lapses; from then on any owner may take it.
    pub expires_at: DateTime<Utc>,
}

impl Claim {
    /// Whether the claim has lapsed at `now` (`expires_at <= now`).
    pub fn is_expired_at(&self, now: DateTime<Utc>) -> bool {
        self.expires_at <= now
    }
}

/// `now + ttl`, or a store error naming `key` when that is not a representable instant.
pub(crate) fn claim_expiry(key: &str, now: DateTime<Utc>, ttl: Duration) -> Result<DateTime<Utc>> {
    chrono::TimeDelta::from_std(ttl)
        .ok()
        .and_then(|ttl| now.checked_add_signed(ttl))
        .ok_or_else(|| crate::Error::store(format!("claim \"{key}\": ttl {ttl:?} is out of range")))
}

fn claim_to_value(key: &str, claim: &Claim) -> Result<Value> {
    serde_json::to_value(claim)
        .map_err(|err| crate::Error::store(format!("cannot encode the claim \"{key}\": {err}")))
}

/// Read `value` as a [`Claim`], or a store error saying that `key` holds something else.
pub(crate) fn claim_from_value(key: &str, value: &Value) -> Result<Claim> {
    Claim::deserialize(value).map_err(|err| {
        crate::Error::store(format!("key \"{key}\" holds a value that is not a claim ({err})"))
    })
}
