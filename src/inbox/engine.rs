//! The inbox engine itself.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::report::{InboxReport, MessageOutcome, RoutedMessage};
use crate::ports::{
    InboundMessage, MessageKind, MessageSource, NewTicket, StateStore, TicketDesk, TicketRef, TicketState,
    WriteOp,
};
use crate::store::StateStoreExt;
use crate::sync::RunMode;
use crate::{Error, Result};

/// How the inbox routes messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct InboxConfig {
    /// Tag for tickets opened from DMs (Usedesk: `Twitter:Direct`, no space).
    pub dm_tag: String,
    /// Tag for tickets opened from mentions (Usedesk: `Twitter: Mention`, with a space).
    pub mention_tag: String,
    /// The helpdesk channel tickets are created in (Usedesk Twitter channel id).
    pub channel_id: Option<String>,
    /// Raise a silence alert when no customer message arrived for this long.
    pub silence_alert_after: Option<StdDuration>,
    /// How far before a recorded create attempt to look when checking whether the create
    /// happened (clock skew between us and the helpdesk).
    pub recovery_margin: StdDuration,
    /// Prefix of every key this inbox keeps in the state store.
    pub state_prefix: String,
    /// How long the claim on a person's messages lasts (default 2 minutes; see
    /// [`Inbox`]): longer than routing one message can take, HTTP retries included. An
    /// instance that dies while routing holds that person's messages at most this long.
    #[serde(default = "default_claim_ttl")]
    pub claim_ttl: StdDuration,
    /// How long to wait for another instance's claim on a person's messages before
    /// leaving the message to a later pass (default 2 s).
    #[serde(default = "default_claim_wait")]
    pub claim_wait: StdDuration,
    /// How long a message's *processed* mark (`processed/…`, the duplicate guard) is kept
    /// after both the message's time and its processing (default 30 days, X's DM lookup
    /// window). Marks past it are pruned ([`Inbox::prune_processed`], run at most every
    /// [`PRUNE_EVERY`] by the passes and routes themselves), so the store stays bounded
    /// however long the inbox runs. A message older than the pruning horizon that arrives
    /// again (a redelivery or re-fetch whose mark may have been pruned) is never routed a
    /// second time: it is reported as [`MessageOutcome::SkippedStale`].
    #[serde(default = "default_processed_retention")]
    pub processed_retention: StdDuration,
}

/// Builder methods: start from [`InboxConfig::default`] (or the constructor) and set what differs.
impl InboxConfig {
    /// Set [`dm_tag`](Self::dm_tag).
    pub fn with_dm_tag(mut self, dm_tag: String) -> Self {
        self.dm_tag = dm_tag;
        self
    }

    /// Set [`mention_tag`](Self::mention_tag).
    pub fn with_mention_tag(mut self, mention_tag: String) -> Self {
        self.mention_tag = mention_tag;
        self
    }

    /// Set [`channel_id`](Self::channel_id).
    pub fn with_channel_id(mut self, channel_id: Option<String>) -> Self {
        self.channel_id = channel_id;
        self
    }

    /// Set [`silence_alert_after`](Self::silence_alert_after).
    pub fn with_silence_alert_after(mut self, silence_alert_after: Option<StdDuration>) -> Self {
        self.silence_alert_after = silence_alert_after;
        self
    }

    /// Set [`recovery_margin`](Self::recovery_margin).
    pub fn with_recovery_margin(mut self, recovery_margin: StdDuration) -> Self {
        self.recovery_margin = recovery_margin;
        self
    }

    /// Set [`state_prefix`](Self::state_prefix).
    pub fn with_state_prefix(mut self, state_prefix: String) -> Self {
        self.state_prefix = state_prefix;
        self
    }

    /// Set [`claim_ttl`](Self::claim_ttl).
    pub fn with_claim_ttl(mut self, claim_ttl: StdDuration) -> Self {
        self.claim_ttl = claim_ttl;
        self
    }

    /// Set [`claim_wait`](Self::claim_wait).
    pub fn with_claim_wait(mut self, claim_wait: StdDuration) -> Self {
        self.claim_wait = claim_wait;
        self
    }

    /// Set [`processed_retention`](Self::processed_retention).
    pub fn with_processed_retention(mut self, processed_retention: StdDuration) -> Self {
        self.processed_retention = processed_retention;
        self
    }
}

/// How often the passes and routes prune processed marks (at most; instances sharing a
/// store take turns through a compare-and-set on `<prefix><source>/prune`).
pub const PRUNE_EVERY: StdDuration = StdDuration::from_secs(3600);

/// Most processed marks one pruning run deletes (the rest wait for the next run), so that
/// a run after a long pause stays short on stores that rewrite themselves per change.
pub const PRUNE_BATCH: usize = 1000;

fn default_processed_retention() -> StdDuration {
    StdDuration::from_secs(30 * 24 * 3600)
}

fn default_claim_ttl() -> StdDuration {
    StdDuration::from_secs(120)
}

fn default_claim_wait() -> StdDuration {
    StdDuration::from_secs(2)
}

/// `duration` as a span of calendar time, saturating.
fn span(duration: StdDuration) -> Duration {
    Duration::from_std(duration).unwrap_or(Duration::MAX)
}

impl Default for InboxConfig {
    fn default() -> Self {
        Self {
            dm_tag: "Twitter:Direct".into(),
            mention_tag: "Twitter: Mention".into(),
            channel_id: None,
            silence_alert_after: None,
            recovery_margin: StdDuration::from_secs(600),
            state_prefix: "inbox/".into(),
            claim_ttl: default_claim_ttl(),
            claim_wait: default_claim_wait(),
            processed_retention: default_processed_retention(),
        }
    }
}

/// The channel has been silent for too long.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SilenceAlert {
    /// The last customer message seen (or when watching began, if none yet).
    pub silent_since: DateTime<Utc>,
    /// Whole hours of silence.
    pub silent_for_hours: i64,
    /// When the alert was raised.
    pub raised_at: DateTime<Utc>,
}

/// Written before a helpdesk write; removed once its result is stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
enum Intent {
    Create { attempted_at: DateTime<Utc> },
    Comment { ticket_id: String },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Processed {
    ticket_id: Option<String>,
    /// The message's own time.
    at: DateTime<Utc>,
    /// When it was processed (absent in marks written before pruning existed).
    #[serde(default)]
    processed_at: Option<DateTime<Utc>>,
}

impl Processed {
    /// The later of the message's time and its processing: the mark is kept for the
    /// retention after it.
    fn last(&self) -> DateTime<Utc> {
        self.processed_at.map_or(self.at, |p| p.max(self.at))
    }
}

/// The last pruning run: when it ran and the horizon it pruned up to.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PruneRun {
    at: DateTime<Utc>,
    horizon: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct DmThread {
    ticket_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct MentionRoot {
    ticket_id: String,
    author_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct TicketThread {
    kind: MessageKind,
    author_id: String,
    /// The customer's latest message in the ticket (public replies go under it).
    reply_to: String,
}

enum Route {
    Comment { ticket_id: String },
    Create { why: String },
}

/// A callback for silence alerts.
pub type SilenceCallback = Box<dyn Fn(&SilenceAlert) + Send + Sync>;

/// What a preview has decided so far in one pass, so that later messages of the pass are
/// routed as they would be after a real pass (a DM following a first DM joins the ticket
/// the first one would open).
#[derive(Debug, Default)]
struct PreviewOverlay {
    /// Author → the placeholder ticket their DM would open.
    dm_threads: HashMap<String, String>,
    /// Post id → (placeholder ticket, author) for mentions that would open a ticket.
    mention_roots: HashMap<String, (String, String)>,
    created: usize,
}

impl PreviewOverlay {
    fn new_ticket(&mut self) -> String {
        self.created += 1;
        format!("(new ticket {})", self.created)
    }
}

/// Routes messages from a [`MessageSource`] into a [`TicketDesk`], keeping its state in a
/// [`StateStore`]. See the [module docs](crate::inbox).
///
/// # Several instances
///
/// Any number of inboxes (in as many processes) may poll the same source into the same
/// desk when they share the store. Each message is routed under a claim
/// ([`StateStore::try_claim`]) on its author, `<prefix><source>/claim/author/<author id>`,
/// taken before the message's processed mark is checked and released once its result is
/// stored: one instance at a time decides and writes for a person, so two DMs from the
/// same person that reach two instances at once still open one ticket, and a message never
/// reaches the desk twice. A message whose author another instance holds (for longer than
/// [`InboxConfig::claim_wait`]) is reported as [`MessageOutcome::SkippedClaimed`]; the
/// pass then leaves that person's later messages alone too (their order matters) and does
/// not advance the cursor, so the next pass fetches them again. The intent/processed
/// protocol still makes a crash safe; the claim expires after [`InboxConfig::claim_ttl`]
/// (or is taken back at once by the same instance id after a restart), and the next
/// instance to take it finishes the interrupted work.
pub struct Inbox {
    source: Arc<dyn MessageSource>,
    desk: Arc<dyn TicketDesk>,
    store: Arc<dyn StateStore>,
    config: InboxConfig,
    on_silence: Option<SilenceCallback>,
    instance_id: String,
    attacher: Option<Arc<dyn MediaAttacher>>,
}

/// Attaches a direct message's media to the ticket it was written to, after the ticket
/// or comment exists (for X: the DM media downloaded with the user's credentials and
/// uploaded to Usedesk, `bridges::XDmMediaToUsedesk`). Called once per DM
/// with media, right after its fresh write; a failure is logged and does not fail the
/// message (its text already lists the media URLs). A crash between the write and the
/// attachment loses the attachment rather than duplicating it: a recovered write is
/// not attached again.
#[async_trait::async_trait]
pub trait MediaAttacher: Send + Sync {
    /// Attach `message.media` to ticket `ticket_id`.
    ///
    /// # Errors
    /// Whatever the upload reports (logged by the inbox).
    async fn attach(&self, ticket_id: &str, message: &InboundMessage) -> Result<()>;
}

impl std::fmt::Debug for Inbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inbox")
            .field("source", &self.source.name())
            .field("desk", &self.desk.name())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Inbox {
    /// An inbox from `source` to `desk`, with its state in `store`.
    pub fn new(
        source: Arc<dyn MessageSource>,
        desk: Arc<dyn TicketDesk>,
        store: Arc<dyn StateStore>,
        config: InboxConfig,
    ) -> Self {
        Self {
            source,
            desk,
            store,
            config,
            on_silence: None,
            instance_id: crate::sync::default_instance_id(),
            attacher: None,
        }
    }

    /// Attach DM media to tickets with `attacher` after each fresh write (see
    /// [`MediaAttacher`]).
    pub fn media_attacher(mut self, attacher: Arc<dyn MediaAttacher>) -> Self {
        self.attacher = Some(attacher);
        self
    }

    async fn attach_media(&self, ticket_id: &str, msg: &InboundMessage) {
        let Some(attacher) = &self.attacher else { return };
        if msg.kind != MessageKind::DirectMessage || msg.media.is_empty() {
            return;
        }
        if let Err(error) = attacher.attach(ticket_id, msg).await {
            tracing::warn!(message = %msg.id, ticket = ticket_id, %error, "inbox: DM media not attached");
        }
    }

    /// Name this instance `id` in the claims it takes (default:
    /// [`default_instance_id`](crate::sync::default_instance_id)). Inboxes sharing
    /// a store must have distinct ids; an inbox restarted with the same id takes back its
    /// own claims at once.
    pub fn instance_id(mut self, id: impl Into<String>) -> Self {
        self.instance_id = id.into();
        self
    }

    /// Call `alert` when the channel has been silent for
    /// [`InboxConfig::silence_alert_after`] (once per silence).
    pub fn on_silence(mut self, alert: impl Fn(&SilenceAlert) + Send + Sync + 'static) -> Self {
        self.on_silence = Some(Box::new(alert));
        self
    }

    /// The configuration.
    pub fn config(&self) -> &InboxConfig {
        &self.config
    }

    fn key(&self, rest: &str) -> String {
        format!("{}{}/{rest}", self.config.state_prefix, self.source.name())
    }

    fn message_key(kind: MessageKind, id: &str) -> String {
        match kind {
            MessageKind::DirectMessage => format!("dm/{id}"),
            MessageKind::Mention => format!("mention/{id}"),
        }
    }

    /// The key stored with the helpdesk write for `message`, unique per source and message.
    pub fn dedupe_key(&self, message: &InboundMessage) -> String {
        let kind = match message.kind {
            MessageKind::DirectMessage => "dm",
            MessageKind::Mention => "mention",
        };
        format!("{}-{kind}-{}", self.source.name(), message.id)
    }

    /// One pass: fetch messages since the stored cursor, route each, advance the cursor
    /// if all succeeded (none failed, none left to another instance), check for silence
    /// ([`check_silence`](Self::check_silence)).
    ///
    /// The cursor advances only from the value this pass read (a compare-and-set), so an
    /// instance whose pass started earlier never moves it back.
    pub async fn poll_once(&self, now: DateTime<Utc>) -> Result<InboxReport> {
        self.poll(now, RunMode::Apply).await
    }

    /// What [`poll_once`](Self::poll_once) would do now: fetch messages since the stored
    /// cursor and decide each one's route (a message routed to a ticket an earlier message
    /// of the same pass would open counts as a comment on it), and whether a silence alert
    /// is due; nothing is written anywhere (no helpdesk write, no store write, no claim,
    /// no silence callback). The report's `mode` is [`RunMode::Preview`].
    pub async fn preview_poll(&self, now: DateTime<Utc>) -> Result<InboxReport> {
        self.poll(now, RunMode::Preview).await
    }

    async fn poll(&self, now: DateTime<Utc>, mode: RunMode) -> Result<InboxReport> {
        let preview = mode.is_preview();
        let cursor_key = self.key("cursor");
        let stored_cursor = self.store.get(&cursor_key).await?;
        let cursor = stored_cursor.clone().unwrap_or(Value::Null);
        let batch = self.source.fetch(&cursor).await?;
        let mut report = InboxReport { mode, ..InboxReport::default() };
        // People whose earlier message another instance holds: their later messages wait
        // too, so that each person's messages are routed in order.
        let mut held_authors = HashSet::new();
        let mut overlay = PreviewOverlay::default();
        for message in batch.messages {
            let routed = if held_authors.contains(&message.author_id) {
                routed_message(message, MessageOutcome::SkippedClaimed)
            } else {
                let author = message.author_id.clone();
                let routed = self.route_with(message, now, mode, preview.then_some(&mut overlay)).await;
                if routed.outcome == MessageOutcome::SkippedClaimed {
                    held_authors.insert(author);
                }
                routed
            };
            report.messages.push(routed);
        }
        let complete = report.is_success() && report.count(|o| *o == MessageOutcome::SkippedClaimed) == 0;
        if !preview && complete {
            report.cursor_advanced =
                self.store.compare_and_set(&cursor_key, stored_cursor.as_ref(), Some(batch.cursor)).await?;
        }
        report.silence_alert = self.silence(now, mode).await?;
        if !preview {
            self.prune_if_due(now).await;
        }
        Ok(report)
    }

    /// Route one message (from a poll or a webhook). Errors are reported in the outcome;
    /// the message is then left unprocessed, to be retried.
    ///
    /// The message is routed under a claim on its author (see [`Inbox`]); when another
    /// instance holds it for longer than [`InboxConfig::claim_wait`], the outcome is
    /// [`MessageOutcome::SkippedClaimed`] and the message is left to a later pass.
    pub async fn route(&self, message: InboundMessage, now: DateTime<Utc>) -> RoutedMessage {
        let routed = self.route_with(message, now, RunMode::Apply, None).await;
        self.prune_if_due(now).await;
        routed
    }

    /// What [`route`](Self::route) would do with `message` now: its outcome is decided
    /// (skipped as own, duplicate or stale, a comment on an existing ticket, or a new
    /// ticket), with nothing written anywhere (no helpdesk write, no store write, no
    /// claim).
    pub async fn preview_route(&self, message: InboundMessage, now: DateTime<Utc>) -> RoutedMessage {
        self.route_with(message, now, RunMode::Preview, None).await
    }

    /// Delete the processed marks whose message and processing are both older than
    /// [`InboxConfig::processed_retention`] (at most [`PRUNE_BATCH`] per call), and record
    /// the horizon so that such a message, if it ever comes again, is skipped as stale
    /// rather than routed twice. Returns how many marks were deleted.
    ///
    /// Passes and routes call it themselves at most every [`PRUNE_EVERY`]; call it
    /// directly to prune on your own schedule.
    pub async fn prune_processed(&self, now: DateTime<Utc>) -> Result<usize> {
        let Some(horizon) = now.checked_sub_signed(span(self.config.processed_retention)) else {
            return Ok(0);
        };
        // The horizon is recorded before any mark goes: a message whose mark is being
        // deleted is already refused as stale.
        self.record_horizon(now, horizon).await?;
        let prefix = self.key("processed/");
        let mut expired = Vec::new();
        for (key, value) in self.store.scan_prefix(&prefix).await? {
            if expired.len() >= PRUNE_BATCH {
                break;
            }
            // A mark this version cannot read is left alone (never guess).
            let Ok(mark) = serde_json::from_value::<Processed>(value) else { continue };
            if mark.last() < horizon {
                expired.push(WriteOp::Delete { key });
            }
        }
        let pruned = expired.len();
        if pruned > 0 {
            self.store.write_batch(expired).await?;
        }
        if pruned > 0 {
            tracing::debug!(pruned, %horizon, "inbox: processed marks pruned");
        }
        Ok(pruned)
    }

    /// Move the recorded horizon forward to `horizon` (never back).
    async fn record_horizon(&self, now: DateTime<Utc>, horizon: DateTime<Utc>) -> Result<()> {
        let key = self.key("prune");
        for _ in 0..16 {
            let stored = self.store.get(&key).await?;
            let previous = stored.as_ref().and_then(|v| PruneRun::deserialize(v).ok());
            let run =
                PruneRun { at: now, horizon: previous.as_ref().map_or(horizon, |p| p.horizon.max(horizon)) };
            let value = serde_json::to_value(&run)
                .map_err(|e| Error::store(format!("cannot encode \"{key}\": {e}")))?;
            if self.store.compare_and_set(&key, stored.as_ref(), Some(value)).await? {
                return Ok(());
            }
        }
        Err(Error::store(format!("\"{key}\" kept changing; pruning left for later")))
    }

    /// The horizon of the last pruning run, if any ran.
    async fn pruned_horizon(&self) -> Result<Option<DateTime<Utc>>> {
        let stored = self.store.get(&self.key("prune")).await?;
        Ok(stored.and_then(|v| PruneRun::deserialize(&v).ok()).map(|r| r.horizon))
    }

    /// [`prune_processed`](Self::prune_processed) when the last run is older than
    /// [`PRUNE_EVERY`]. Failures are logged: pruning never fails a pass.
    async fn prune_if_due(&self, now: DateTime<Utc>) {
        let last: Option<PruneRun> = self.store.get_as(&self.key("prune")).await.unwrap_or(None);
        if last.is_some_and(|run| now - run.at < span(PRUNE_EVERY) && run.at <= now) {
            return;
        }
        if let Err(e) = self.prune_processed(now).await {
            tracing::warn!(error = %e, "inbox: pruning processed marks failed; will retry");
        }
    }

    async fn route_with(
        &self,
        message: InboundMessage,
        now: DateTime<Utc>,
        mode: RunMode,
        overlay: Option<&mut PreviewOverlay>,
    ) -> RoutedMessage {
        let outcome = match self.route_claimed(&message, now, mode, overlay).await {
            Ok(outcome) => outcome,
            Err(e) => {
                tracing::warn!(message_id = %message.id, error = %e, "inbox: routing failed; will retry");
                MessageOutcome::Failed { error: e.to_string() }
            }
        };
        routed_message(message, outcome)
    }

    /// Take the claim on the author, route, release.
    async fn route_claimed(
        &self,
        msg: &InboundMessage,
        now: DateTime<Utc>,
        mode: RunMode,
        overlay: Option<&mut PreviewOverlay>,
    ) -> Result<MessageOutcome> {
        if msg.author_id == self.source.own_user_id() {
            return Ok(MessageOutcome::SkippedOwn);
        }
        let mkey = Self::message_key(msg.kind, &msg.id);
        let processed_key = self.key(&format!("processed/{mkey}"));
        if self.store.get(&processed_key).await?.is_some() {
            return Ok(MessageOutcome::SkippedDuplicate);
        }
        // Its mark may have been pruned: never route it a second time.
        if self.pruned_horizon().await?.is_some_and(|horizon| msg.created_at < horizon) {
            return Ok(MessageOutcome::SkippedStale);
        }
        if mode.is_preview() {
            return self.route_inner(msg, &mkey, now, mode, overlay).await;
        }
        let claim = self.key(&format!("claim/author/{}", msg.author_id));
        if !self.claim(&claim, now).await? {
            return Ok(MessageOutcome::SkippedClaimed);
        }
        // Another instance may have finished the message between the check above and the
        // claim.
        let outcome = match self.store.get(&processed_key).await {
            Ok(Some(_)) => Ok(MessageOutcome::SkippedDuplicate),
            Ok(None) => self.route_inner(msg, &mkey, now, mode, None).await,
            Err(e) => Err(e),
        };
        if let Err(e) = self.store.release_claim(&claim, &self.instance_id).await {
            // The claim lapses on its own after claim_ttl.
            tracing::warn!(claim = %claim, error = %e, "inbox: could not release a claim");
        }
        outcome
    }

    /// Take `claim` for this instance, waiting up to [`InboxConfig::claim_wait`] while
    /// another instance holds it.
    async fn claim(&self, claim: &str, now: DateTime<Utc>) -> Result<bool> {
        let ttl = self.config.claim_ttl;
        let wait = self.config.claim_wait;
        let started = std::time::Instant::now();
        let mut pause = std::time::Duration::from_millis(25);
        loop {
            let elapsed = started.elapsed();
            let at = now + Duration::from_std(elapsed).unwrap_or_default();
            if self.store.try_claim(claim, &self.instance_id, ttl, at).await? {
                return Ok(true);
            }
            if elapsed >= wait {
                return Ok(false);
            }
            tokio::time::sleep(pause.min(wait - elapsed)).await;
            pause = (pause * 2).min(std::time::Duration::from_millis(400));
        }
    }

    async fn route_inner(
        &self,
        msg: &InboundMessage,
        mkey: &str,
        now: DateTime<Utc>,
        mode: RunMode,
        overlay: Option<&mut PreviewOverlay>,
    ) -> Result<MessageOutcome> {
        let preview = mode.is_preview();
        let dedupe = self.dedupe_key(msg);
        let intent_key = self.key(&format!("intent/{mkey}"));
        let intent: Option<Intent> = self.store.get_as(&intent_key).await?;
        let mut create_attempted_at = None;
        match intent {
            Some(Intent::Comment { ticket_id }) if !preview => {
                let already = self.desk.has_comment(&ticket_id, &dedupe).await?;
                if !already {
                    self.desk.add_client_comment(&ticket_id, &render(msg), &dedupe).await?;
                }
                self.record(msg, &TicketRef { id: ticket_id.clone(), client_id: None }, false, now).await?;
                return Ok(if already {
                    MessageOutcome::Recovered { ticket_id }
                } else {
                    MessageOutcome::Commented { ticket_id }
                });
            }
            Some(Intent::Create { attempted_at }) if !preview => {
                let since = attempted_at
                    .checked_sub_signed(span(self.config.recovery_margin))
                    .unwrap_or(DateTime::<Utc>::MIN_UTC);
                if let Some(ticket) = self.desk.find_by_dedupe_key(&dedupe, since).await? {
                    self.record(msg, &ticket, true, now).await?;
                    return Ok(MessageOutcome::Recovered { ticket_id: ticket.id });
                }
                create_attempted_at = Some(attempted_at);
            }
            _ => {}
        }
        let route = match create_attempted_at {
            // An interrupted create that did not happen: create, as decided then.
            Some(_) => Route::Create { why: "retrying an interrupted create".into() },
            None => match overlay.as_deref().and_then(|o| Self::decide_in_overlay(o, msg)) {
                Some(route) => route,
                None => self.decide(msg).await?,
            },
        };
        if preview {
            if let (Route::Create { .. }, Some(overlay)) = (&route, overlay) {
                let ticket = overlay.new_ticket();
                match msg.kind {
                    MessageKind::DirectMessage => {
                        overlay.dm_threads.insert(msg.author_id.clone(), ticket);
                    }
                    MessageKind::Mention => {
                        overlay.mention_roots.insert(msg.id.clone(), (ticket, msg.author_id.clone()));
                    }
                }
            }
            return Ok(match route {
                Route::Comment { ticket_id } => MessageOutcome::Commented { ticket_id },
                Route::Create { why } => MessageOutcome::CreatedTicket { ticket_id: None, why },
            });
        }
        match route {
            Route::Comment { ticket_id } => {
                self.store.put_as(&intent_key, &Intent::Comment { ticket_id: ticket_id.clone() }).await?;
                // The intent must outlive a power loss, or a lost intent could mean a second
                // comment or ticket.
                self.store.flush().await?;
                self.desk.add_client_comment(&ticket_id, &render(msg), &dedupe).await?;
                self.attach_media(&ticket_id, msg).await;
                self.record(msg, &TicketRef { id: ticket_id.clone(), client_id: None }, false, now).await?;
                Ok(MessageOutcome::Commented { ticket_id })
            }
            Route::Create { why } => {
                let attempted_at = create_attempted_at.unwrap_or(now);
                self.store.put_as(&intent_key, &Intent::Create { attempted_at }).await?;
                self.store.flush().await?;
                let client_id: Option<String> =
                    self.store.get_as(&self.key(&format!("client/{}", msg.author_id))).await?;
                let ticket = self.desk.create_ticket(&self.new_ticket(msg, client_id, dedupe)).await?;
                self.attach_media(&ticket.id, msg).await;
                self.record(msg, &ticket, true, now).await?;
                Ok(MessageOutcome::CreatedTicket { ticket_id: Some(ticket.id), why })
            }
        }
    }

    /// In a preview, where an earlier message of the same pass would have opened the
    /// ticket this one belongs to.
    fn decide_in_overlay(overlay: &PreviewOverlay, msg: &InboundMessage) -> Option<Route> {
        match msg.kind {
            MessageKind::DirectMessage => {
                overlay.dm_threads.get(&msg.author_id).map(|t| Route::Comment { ticket_id: t.clone() })
            }
            MessageKind::Mention => {
                let (ticket, author) = overlay.mention_roots.get(msg.in_reply_to.as_deref()?)?;
                (*author == msg.author_id).then(|| Route::Comment { ticket_id: ticket.clone() })
            }
        }
    }

    async fn decide(&self, msg: &InboundMessage) -> Result<Route> {
        match msg.kind {
            MessageKind::DirectMessage => {
                let thread: Option<DmThread> =
                    self.store.get_as(&self.key(&format!("dm-thread/{}", msg.author_id))).await?;
                match thread {
                    None => Ok(Route::Create { why: "first DM from this person".into() }),
                    Some(DmThread { ticket_id }) => match self.desk.ticket_state(&ticket_id).await? {
                        TicketState::Open => Ok(Route::Comment { ticket_id }),
                        TicketState::Closed => {
                            Ok(Route::Create { why: format!("previous ticket {ticket_id} is closed") })
                        }
                    },
                }
            }
            MessageKind::Mention => {
                let Some(parent) = &msg.in_reply_to else {
                    return Ok(Route::Create { why: "new mention".into() });
                };
                let root: Option<MentionRoot> =
                    self.store.get_as(&self.key(&format!("mention-root/{parent}"))).await?;
                match root {
                    Some(root) if root.author_id == msg.author_id => {
                        Ok(Route::Comment { ticket_id: root.ticket_id })
                    }
                    _ => Ok(Route::Create {
                        why: "reply to a reply, or to a post that opened no ticket".into(),
                    }),
                }
            }
        }
    }

    fn new_ticket(&self, msg: &InboundMessage, client_id: Option<String>, dedupe_key: String) -> NewTicket {
        let who =
            msg.author_handle.as_deref().map(|h| format!("@{h}")).unwrap_or_else(|| msg.author_id.clone());
        let (subject, tag) = match msg.kind {
            MessageKind::DirectMessage => (format!("Twitter DM from {who}"), self.config.dm_tag.clone()),
            MessageKind::Mention => {
                let mut preview: String = msg.text.chars().take(80).collect();
                if msg.text.chars().count() > 80 {
                    preview.push('…');
                }
                (format!("Twitter mention from {who}: {preview}"), self.config.mention_tag.clone())
            }
        };
        NewTicket {
            subject,
            message: render(msg),
            client_id,
            client_name: msg.author_name.clone().unwrap_or_else(|| who.clone()),
            channel_id: self.config.channel_id.clone(),
            tags: vec![tag],
            dedupe_key,
        }
    }

    /// Store the result of a helpdesk write, mark the message processed and drop the
    /// intent, with one [`write_batch`](StateStore::write_batch) (one transaction on the
    /// embedded store, where all of it lands or none; op after op elsewhere, in this order,
    /// where every prefix of it is safe to crash in: the intent stays until the message is
    /// marked processed, and a replayed intent finds the ticket by its dedupe key).
    async fn record(
        &self,
        msg: &InboundMessage,
        ticket: &TicketRef,
        created: bool,
        now: DateTime<Utc>,
    ) -> Result<()> {
        // First, so that a crash before the batch leaves nothing newer than the intent.
        self.note_message_time(msg.created_at).await?;
        let encode = |key: String, value: serde_json::Result<Value>| {
            value
                .map(|value| WriteOp::Put { key: key.clone(), value })
                .map_err(|e| Error::store(format!("cannot encode the value of key \"{key}\": {e}")))
        };
        let mut ops = Vec::with_capacity(5);
        match msg.kind {
            MessageKind::DirectMessage => {
                let thread = DmThread { ticket_id: ticket.id.clone() };
                ops.push(encode(
                    self.key(&format!("dm-thread/{}", msg.author_id)),
                    serde_json::to_value(&thread),
                )?);
            }
            MessageKind::Mention if created => {
                let root = MentionRoot { ticket_id: ticket.id.clone(), author_id: msg.author_id.clone() };
                ops.push(encode(self.key(&format!("mention-root/{}", msg.id)), serde_json::to_value(&root))?);
            }
            MessageKind::Mention => {}
        }
        let thread =
            TicketThread { kind: msg.kind, author_id: msg.author_id.clone(), reply_to: msg.id.clone() };
        ops.push(encode(self.key(&format!("ticket/{}", ticket.id)), serde_json::to_value(&thread))?);
        if let Some(client_id) = &ticket.client_id {
            ops.push(encode(
                self.key(&format!("client/{}", msg.author_id)),
                serde_json::to_value(client_id),
            )?);
        }
        let mkey = Self::message_key(msg.kind, &msg.id);
        let processed =
            Processed { ticket_id: Some(ticket.id.clone()), at: msg.created_at, processed_at: Some(now) };
        ops.push(encode(self.key(&format!("processed/{mkey}")), serde_json::to_value(&processed))?);
        ops.push(WriteOp::Delete { key: self.key(&format!("intent/{mkey}")) });
        self.store.write_batch(ops).await.map(|_| ())
    }

    /// Move `last-message-at` forward to `at` (never back, whatever other instances do).
    async fn note_message_time(&self, at: DateTime<Utc>) -> Result<()> {
        let last_key = self.key("last-message-at");
        let new = serde_json::to_value(at)
            .map_err(|e| Error::store(format!("cannot encode \"{last_key}\": {e}")))?;
        for _ in 0..16 {
            let stored = self.store.get(&last_key).await?;
            let last = stored.as_ref().and_then(|v| DateTime::<Utc>::deserialize(v).ok());
            if last.is_some_and(|l| l >= at) {
                return Ok(());
            }
            if self.store.compare_and_set(&last_key, stored.as_ref(), Some(new.clone())).await? {
                return Ok(());
            }
        }
        // Others kept moving it: it is at least as recent as when we started.
        Ok(())
    }

    /// Raise the silence alert if due (once per silence): recorded in the store, logged,
    /// and passed to the silence callback. The first check starts the clock when no
    /// message was ever seen.
    pub async fn check_silence(&self, now: DateTime<Utc>) -> Result<Option<SilenceAlert>> {
        self.silence(now, RunMode::Apply).await
    }

    /// The silence alert [`check_silence`](Self::check_silence) would raise now, if any;
    /// nothing is written or called (when no message was ever seen and no check started
    /// the clock, it counts from `now`, so none is due).
    pub async fn silence_due(&self, now: DateTime<Utc>) -> Result<Option<SilenceAlert>> {
        self.silence(now, RunMode::Preview).await
    }

    async fn silence(&self, now: DateTime<Utc>, mode: RunMode) -> Result<Option<SilenceAlert>> {
        let preview = mode.is_preview();
        let Some(limit) = self.config.silence_alert_after else { return Ok(None) };
        let last: Option<DateTime<Utc>> = self.store.get_as(&self.key("last-message-at")).await?;
        let since = match last {
            Some(t) => t,
            None => {
                let started_key = self.key("watching-since");
                match self.store.get_as::<DateTime<Utc>>(&started_key).await? {
                    Some(t) => t,
                    None if preview => now,
                    None => {
                        // The first instance to start watching sets it.
                        self.store.insert_if_absent_as(&started_key, &now).await?;
                        self.store.get_as::<DateTime<Utc>>(&started_key).await?.unwrap_or(now)
                    }
                }
            }
        };
        if now - since < span(limit) {
            return Ok(None);
        }
        let alerted_key = self.key("silence-alerted-at");
        let stored_alerted = self.store.get(&alerted_key).await?;
        let alerted = stored_alerted.as_ref().and_then(|v| DateTime::<Utc>::deserialize(v).ok());
        if alerted.is_some_and(|a| a >= since) {
            return Ok(None); // already alerted for this silence
        }
        let alert =
            SilenceAlert { silent_since: since, silent_for_hours: (now - since).num_hours(), raised_at: now };
        if !preview {
            let raised = serde_json::to_value(now)
                .map_err(|e| Error::store(format!("cannot encode \"{alerted_key}\": {e}")))?;
            // Of several instances, the one whose compare-and-set lands raises the alert.
            if !self.store.compare_and_set(&alerted_key, stored_alerted.as_ref(), Some(raised)).await? {
                return Ok(None);
            }
            tracing::warn!(hours = alert.silent_for_hours, "inbox: channel silent");
            if let Some(callback) = &self.on_silence {
                callback(&alert);
            }
        }
        Ok(Some(alert))
    }

    /// An agent's answer to `ticket_id`: a DM to the customer for a DM ticket, a public
    /// reply under the customer's latest post for a mention ticket. Returns the id of the
    /// message sent.
    pub async fn answer(&self, ticket_id: &str, text: &str) -> Result<String> {
        let thread: TicketThread =
            self.store.get_as(&self.key(&format!("ticket/{ticket_id}"))).await?.ok_or_else(|| {
                Error::invalid(
                    "ticket",
                    format!("ticket {ticket_id} was not opened from {}", self.source.name()),
                )
            })?;
        match thread.kind {
            MessageKind::DirectMessage => self.source.send_direct_message(&thread.author_id, text).await,
            MessageKind::Mention => self.source.reply_publicly(&thread.reply_to, text).await,
        }
    }
}

fn routed_message(message: InboundMessage, outcome: MessageOutcome) -> RoutedMessage {
    let author =
        message.author_handle.clone().map(|h| format!("@{h}")).unwrap_or_else(|| message.author_id.clone());
    RoutedMessage { message_id: message.id, kind: message.kind, author, outcome }
}

/// The ticket text for a message: its text, then one line per media item.
fn render(msg: &InboundMessage) -> String {
    let mut out = msg.text.clone();
    for media in &msg.media {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&format!("[{}] {}", media.kind, media.url));
    }
    out
}
