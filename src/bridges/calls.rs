//! Aircall calls → Zendesk Talk Partner Edition (features `aircall` and `zendesk`): the
//!
//! The full description is on [`CallsBridge`].

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::RwLock;

use crate::aircall::AircallClient;
use crate::aircall::{Call, CallEvent, CallEventKind};
use crate::identity::normalize_email;
use crate::ports::StateStore;
use crate::store::StateStoreExt;
use crate::sync::RunMode;
use crate::zendesk::ZendeskClient;
use crate::zendesk::{
    CallComment, CallDirection, CallFields, NewCall, NewTicket, NewVoiceTicket, VoiceComment, VoiceVia,
    is_not_found, normalize_phone,
};
use crate::{Error, Result};

/// How a finished call is written to Zendesk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LogMode {
    /// A ticket plus a TPE call record whose voice comment shows on it (needs
    /// [`CallsConfig::app_id`]). The richer display.
    #[default]
    CallRecord,
    /// One voice (or voicemail) ticket with the Tickets-API voice comment.
    VoiceTicket,
}

/// What happens to a missed call (not answered, no voicemail).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum MissedCalls {
    /// Log it like any call (a ticket tagged `missed_call`), so someone calls back.
    #[default]
    Ticket,
    /// Log nothing.
    Ignore,
}

/// Configuration of a [`CallsBridge`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct CallsConfig {
    /// The Zendesk app id of the integration (mandatory in call records); required by
    /// [`LogMode::CallRecord`].
    pub app_id: Option<i64>,
    /// How calls are logged.
    pub log_mode: LogMode,
    /// What happens to missed calls.
    pub missed_calls: MissedCalls,
    /// Pop the caller's profile to the rung agent (default on).
    pub screen_pop: bool,
    /// Create an end user for a number Zendesk does not know (default off: an unknown
    /// caller is not popped, and the ticket's requester is the API user).
    pub create_unknown_callers: bool,
    /// Open the new ticket in the answering agent's browser (default on).
    pub display_ticket_to_agent: bool,
    /// Attach Aircall AI's transcription when there is one (default on; one extra Aircall
    /// request per answered call or voicemail).
    pub fetch_transcription: bool,
    /// Tags of every ticket (default `aircall`, `phone_call`); missed calls add
    /// `missed_call`, voicemails `voicemail`.
    pub tags: Vec<String>,
    /// Aircall user id → Zendesk agent id, consulted before the e-mail join.
    pub agent_overrides: BTreeMap<u64, i64>,
    /// Prefix of every store key (default `calls/`).
    pub state_prefix: String,
    /// How long a claim on a call or a number lasts (default 60 s).
    pub claim_ttl: Duration,
    /// How long to wait for another instance's claim (default 2 s).
    pub claim_wait: Duration,
    /// Minimum time between two reloads of the Zendesk agent list when an e-mail is not
    /// found (default 60 s).
    pub agent_reload_interval: Duration,
    /// [`RunMode::Apply`] (default) carries each decision out; [`RunMode::Preview`]
    /// decides but writes nothing: no pop, no user, no ticket, no call record, no state.
    /// Preview outcomes are [`CallOutcome::DryRun`] describing what would be done (Zendesk
    /// and Aircall are still read: caller search, the call, the agent list). Stored in
    /// configuration files as the boolean `dry_run` (`true` for a preview).
    #[serde(rename = "dry_run", with = "crate::sync::run_mode_as_dry_run_flag")]
    pub mode: RunMode,
}

/// Builder methods: start from [`CallsConfig::default`] (or the constructor) and set what differs.
impl CallsConfig {
    /// Set [`app_id`](Self::app_id).
    pub fn with_app_id(mut self, app_id: Option<i64>) -> Self {
        self.app_id = app_id;
        self
    }

    /// Set [`log_mode`](Self::log_mode).
    pub fn with_log_mode(mut self, log_mode: LogMode) -> Self {
        self.log_mode = log_mode;
        self
    }

    /// Set [`missed_calls`](Self::missed_calls).
    pub fn with_missed_calls(mut self, missed_calls: MissedCalls) -> Self {
        self.missed_calls = missed_calls;
        self
    }

    /// Set [`screen_pop`](Self::screen_pop).
    pub fn with_screen_pop(mut self, screen_pop: bool) -> Self {
        self.screen_pop = screen_pop;
        self
    }

    /// Set [`create_unknown_callers`](Self::create_unknown_callers).
    pub fn with_create_unknown_callers(mut self, create_unknown_callers: bool) -> Self {
        self.create_unknown_callers = create_unknown_callers;
        self
    }

    /// Set [`display_ticket_to_agent`](Self::display_ticket_to_agent).
    pub fn with_display_ticket_to_agent(mut self, display_ticket_to_agent: bool) -> Self {
        self.display_ticket_to_agent = display_ticket_to_agent;
        self
    }

    /// Set [`fetch_transcription`](Self::fetch_transcription).
    pub fn with_fetch_transcription(mut self, fetch_transcription: bool) -> Self {
        self.fetch_transcription = fetch_transcription;
        self
    }

    /// Set [`tags`](Self::tags).
    pub fn with_tags(mut self, tags: Vec<String>) -> Self {
        self.tags = tags;
        self
    }

    /// Set [`agent_overrides`](Self::agent_overrides).
    pub fn with_agent_overrides(mut self, agent_overrides: BTreeMap<u64, i64>) -> Self {
        self.agent_overrides = agent_overrides;
        self
    }

    /// Set [`state_prefix`](Self::state_prefix).
    pub fn with_state_prefix(mut self, state_prefix: String) -> Self {
        self.state_prefix = state_prefix;
        self
    }

    /// Set [`claim_ttl`](Self::claim_ttl).
    pub fn with_claim_ttl(mut self, claim_ttl: Duration) -> Self {
        self.claim_ttl = claim_ttl;
        self
    }

    /// Set [`claim_wait`](Self::claim_wait).
    pub fn with_claim_wait(mut self, claim_wait: Duration) -> Self {
        self.claim_wait = claim_wait;
        self
    }

    /// Set [`agent_reload_interval`](Self::agent_reload_interval).
    pub fn with_agent_reload_interval(mut self, agent_reload_interval: Duration) -> Self {
        self.agent_reload_interval = agent_reload_interval;
        self
    }

    /// Set [`mode`](Self::mode).
    pub fn with_mode(mut self, mode: RunMode) -> Self {
        self.mode = mode;
        self
    }
}

impl Default for CallsConfig {
    fn default() -> Self {
        Self {
            app_id: None,
            log_mode: LogMode::CallRecord,
            missed_calls: MissedCalls::Ticket,
            screen_pop: true,
            create_unknown_callers: false,
            display_ticket_to_agent: true,
            fetch_transcription: true,
            tags: vec!["aircall".into(), "phone_call".into()],
            agent_overrides: BTreeMap::new(),
            state_prefix: "calls/".into(),
            claim_ttl: Duration::from_secs(60),
            claim_wait: Duration::from_secs(2),
            agent_reload_interval: Duration::from_secs(60),
            mode: RunMode::Apply,
        }
    }
}

/// What kind of call was logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CallKind {
    /// Answered by an agent.
    Answered,
    /// Not answered, no voicemail.
    Missed,
    /// The caller left a voicemail.
    Voicemail,
}

/// The one observable result of handling a call event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[non_exhaustive]
pub enum CallOutcome {
    /// The caller's profile was opened in the agent's browser.
    Popped {
        /// Aircall call id.
        call_id: u64,
        /// Zendesk agent.
        agent_id: i64,
        /// Zendesk user shown.
        user_id: i64,
        /// Whether the user was created for this call.
        created_user: bool,
    },
    /// Nothing was popped, and why (unknown agent, hidden or unknown number, popping off,
    /// call already over).
    NotPopped {
        /// Aircall call id.
        call_id: u64,
        /// Why.
        reason: String,
    },
    /// The call was logged in Zendesk.
    Logged {
        /// Aircall call id.
        call_id: u64,
        /// Answered, missed or voicemail.
        kind: CallKind,
        /// The ticket.
        ticket_id: i64,
        /// The call record ([`LogMode::CallRecord`]); `None` in voice-ticket mode or when
        /// recovered from a crash (the record exists, its id was lost).
        call_record_id: Option<i64>,
        /// Whether an interrupted earlier attempt was found and completed.
        recovered: bool,
    },
    /// Already done for this call (a redelivery, a duplicate or a late event).
    Duplicate {
        /// Aircall call id.
        call_id: u64,
        /// What was already done.
        what: String,
    },
    /// Deliberately nothing (a missed call with [`MissedCalls::Ignore`], an event the flow
    /// does not use).
    Ignored {
        /// Aircall call id.
        call_id: u64,
        /// Why.
        reason: String,
    },
    /// Aircall does not report the call as over yet; a later `call.ended` logs it.
    Pending {
        /// Aircall call id.
        call_id: u64,
    },
    /// Another instance is working on this call; redeliver later.
    Busy {
        /// Aircall call id.
        call_id: u64,
    },
    /// [`RunMode::Preview`] ([`CallsConfig::mode`]): what would have been done.
    DryRun {
        /// Aircall call id.
        call_id: u64,
        /// The action, in words.
        action: String,
    },
}

impl CallOutcome {
    /// One line for logs and the example's output.
    pub fn describe(&self) -> String {
        match self {
            Self::Popped { call_id, agent_id, user_id, created_user } => format!(
                "call {call_id}: popped user {user_id}{} to agent {agent_id}",
                if *created_user { " (created)" } else { "" }
            ),
            Self::NotPopped { call_id, reason } => format!("call {call_id}: no screen pop ({reason})"),
            Self::Logged { call_id, kind, ticket_id, call_record_id, recovered } => format!(
                "call {call_id}: logged {kind:?} call on ticket {ticket_id}{}{}",
                call_record_id.map(|id| format!(", call record {id}")).unwrap_or_default(),
                if *recovered { " (recovered)" } else { "" }
            ),
            Self::Duplicate { call_id, what } => format!("call {call_id}: duplicate ({what})"),
            Self::Ignored { call_id, reason } => format!("call {call_id}: ignored ({reason})"),
            Self::Pending { call_id } => format!("call {call_id}: not over yet"),
            Self::Busy { call_id } => format!("call {call_id}: another instance is on it"),
            Self::DryRun { call_id, action } => format!("call {call_id}: would {action}"),
        }
    }
}

/// The stored state of one call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "stage", rename_all = "snake_case")]
enum LogStage {
    /// About to create the ticket (or voice ticket).
    TicketIntent { attempted_at: DateTime<Utc> },
    /// The ticket exists (call-record mode).
    TicketCreated { ticket_id: i64 },
    /// About to create the call record on the ticket.
    CallRecordIntent { ticket_id: i64, attempted_at: DateTime<Utc> },
    /// Logged.
    Done { kind: CallKind, ticket_id: i64, call_record_id: Option<i64> },
    /// Deliberately not logged.
    Ignored { reason: String },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct PoppedMark {
    user_id: i64,
    at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct KnownCaller {
    user_id: i64,
}

#[derive(Default)]
struct AgentDirectory {
    by_email: HashMap<String, i64>,
    loaded_at: Option<std::time::Instant>,
}

/// The Aircall-calls → Zendesk-TPE flow. See the [module docs](CallsBridge).
///
/// Aircall calls → Zendesk Talk Partner Edition (features `aircall` and `zendesk`): the
/// screen pop while the phone rings, and one log entry per finished call.
///
/// [`CallsBridge::handle`] takes a verified [`CallEvent`] and returns one [`CallOutcome`]:
///
/// - **`call.ringing_on_agent`**: the rung Aircall user is joined to a Zendesk agent by
///   e-mail (case-insensitive; [`CallsConfig::agent_overrides`] first); the caller is found
///   by number (`GET /api/v2/users/search`, then filtered on the digits), or created as an
///   end user when [`CallsConfig::create_unknown_callers`] is set; the caller's profile is
///   then opened in the agent's browser. Each (call, agent) pair pops once.
/// - **`call.ended`** and **`call.voicemail_left`**: the call is re-read from Aircall
///   (`GET /v1/calls/{id}`: the event may be stale or out of order), and logged once:
///   - [`LogMode::CallRecord`]: a ticket (`POST /api/v2/tickets`), then the TPE call record
///     with its voice comment on that ticket (`POST /api/v2/calls`): from/to lines,
///     direction, start and end, talk time, the answering agent, the caller, voicemail
///     flag, completion status, the durable recording link and the transcription.
///   - [`LogMode::VoiceTicket`]: one voice ticket (`POST /api/v2/channels/voice/tickets`,
///     `via_id` 45 inbound, 46 outbound, 44 voicemail) with its voice comment.
///   - A missed call (neither answered nor voicemail) is logged the same way or ignored,
///     by [`CallsConfig::missed_calls`].
///   - Recordings are linked by the Aircall `asset` page only
///     ([`Call::durable_media_link`]); the short-lived direct links are never stored or sent.
/// - Any other event: [`CallOutcome::Ignored`].
///
/// # Exactly once per call
///
/// The state of a call lives in the [`StateStore`] at `<prefix><call id>` and moves
/// through intent-then-confirm steps, like the inbox: before each Zendesk write the
/// intent is stored, after it the result. Every ticket carries the external id
/// `aircall-call-<id>`, which Zendesk can list (`GET /api/v2/tickets?external_id=`). So
/// after a crash between "created in Zendesk" and "state saved", the next delivery finds
/// the intent and looks before writing: the ticket by its external id; the call record by
/// the voice comment it leaves on that ticket (a ticket that only this call uses). A
/// redelivered, duplicated or reordered webhook finds the call done and is reported as
/// [`CallOutcome::Duplicate`].
///
/// Several instances may share the store (PostgreSQL): logging a call, and creating a
/// caller, happen under a claim ([`StateStore::try_claim`]) on the call (resp. the
/// number). A delivery that finds the call claimed by another instance for longer than
/// [`CallsConfig::claim_wait`] answers [`CallOutcome::Busy`] (the webhook router answers
/// 503, so Aircall redelivers it later).
///
/// # Latency
///
/// The ringing path makes, with a warm agent directory, one Zendesk search and one display
/// request (plus one user creation for a new caller) and a few store operations; no
/// Aircall request. `benches/bench_calls_pop.rs` measures webhook-receipt-to-display
/// under load (figures in `docs/PERFORMANCE.md`).
pub struct CallsBridge {
    aircall: AircallClient,
    zendesk: ZendeskClient,
    store: Arc<dyn StateStore>,
    config: CallsConfig,
    instance_id: String,
    agents: RwLock<AgentDirectory>,
}

impl std::fmt::Debug for CallsBridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallsBridge")
            .field("config", &self.config)
            .field("instance_id", &self.instance_id)
            .finish_non_exhaustive()
    }
}

/// The external id of the ticket of Aircall call `call_id`.
pub fn external_id(call_id: u64) -> String {
    format!("aircall-call-{call_id}")
}

impl CallsBridge {
    /// A bridge from `aircall` to `zendesk` keeping its state in `store`.
    ///
    /// # Errors
    /// [`Error::Config`] when [`LogMode::CallRecord`] is chosen without an `app_id`.
    pub fn new(
        aircall: AircallClient,
        zendesk: ZendeskClient,
        store: Arc<dyn StateStore>,
        config: CallsConfig,
    ) -> Result<Self> {
        if config.log_mode == LogMode::CallRecord && config.app_id.is_none() {
            return Err(Error::config(
                "calls bridge: call-record mode needs the Zendesk app id (CallsConfig::app_id); \
                 set it, or use LogMode::VoiceTicket",
            ));
        }
        Ok(Self {
            aircall,
            zendesk,
            store,
            config,
            instance_id: crate::sync::default_instance_id(),
            agents: RwLock::new(AgentDirectory::default()),
        })
    }

    /// Name this instance `id` in its claims (instances sharing a store need distinct ids;
    /// a restarted instance with the same id takes its claims back at once).
    pub fn instance_id(mut self, id: impl Into<String>) -> Self {
        self.instance_id = id.into();
        self
    }

    /// The configuration.
    pub fn config(&self) -> &CallsConfig {
        &self.config
    }

    /// Load the Zendesk agent list now (otherwise the first ringing call does it).
    ///
    /// # Errors
    /// The listing's error.
    pub async fn warm_up(&self) -> Result<usize> {
        self.reload_agents().await
    }

    /// Handle one verified call event. See the [module docs](CallsBridge).
    ///
    /// # Errors
    /// Provider or store errors; the call's state stays consistent, so handling the same
    /// event again (Aircall redelivers on a non-2xx answer) resumes where it stopped.
    #[tracing::instrument(name = "calls.handle", skip_all, fields(call_id = event.call.id, event = %event.kind))]
    pub async fn handle(&self, event: &CallEvent) -> Result<CallOutcome> {
        let call_id = event.call.id;
        let result = match &event.kind {
            CallEventKind::RingingOnAgent => self.ring(&event.call).await,
            CallEventKind::Ended | CallEventKind::VoicemailLeft => self.log(call_id).await,
            other => Ok(CallOutcome::Ignored { call_id, reason: format!("{other} is not used") }),
        };
        match &result {
            Ok(outcome) => tracing::info!(outcome = %outcome.describe(), "calls bridge"),
            Err(error) => tracing::warn!(%error, "calls bridge: failed; a redelivery resumes it"),
        }
        result
    }

    fn key(&self, rest: &str) -> String {
        format!("{}{rest}", self.config.state_prefix)
    }

    async fn reload_agents(&self) -> Result<usize> {
        let agents = self.zendesk.list_agents().await?;
        let mut by_email = HashMap::with_capacity(agents.len());
        for agent in agents {
            if let Some(email) = agent.email.as_deref().and_then(normalize_email) {
                by_email.insert(email, agent.id);
            }
        }
        let count = by_email.len();
        let mut directory = self.agents.write().await;
        directory.by_email = by_email;
        directory.loaded_at = Some(std::time::Instant::now());
        Ok(count)
    }

    /// The Zendesk agent of an Aircall user: override, else e-mail (reloading the agent
    /// list when it is missing and the list is older than the reload interval).
    async fn zendesk_agent(&self, user: Option<&crate::aircall::CallUser>) -> Result<Option<i64>> {
        let Some(user) = user else { return Ok(None) };
        if let Some(id) = self.config.agent_overrides.get(&user.id) {
            return Ok(Some(*id));
        }
        let Some(email) = user.email.as_deref().and_then(normalize_email) else { return Ok(None) };
        let stale = {
            let directory = self.agents.read().await;
            if let Some(id) = directory.by_email.get(&email) {
                return Ok(Some(*id));
            }
            directory.loaded_at.is_none_or(|at| at.elapsed() >= self.config.agent_reload_interval)
        };
        if stale {
            self.reload_agents().await?;
            return Ok(self.agents.read().await.by_email.get(&email).copied());
        }
        Ok(None)
    }

    /// Take the claim on `key`, waiting up to `claim_wait`.
    async fn claim(&self, key: &str) -> Result<bool> {
        let deadline = tokio::time::Instant::now() + self.config.claim_wait;
        loop {
            if self.store.try_claim(key, &self.instance_id, self.config.claim_ttl, Utc::now()).await? {
                return Ok(true);
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(false);
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    async fn release(&self, key: &str) {
        if let Err(error) = self.store.release_claim(key, &self.instance_id).await {
            tracing::warn!(%error, key, "calls bridge: could not release a claim (it expires on its own)");
        }
    }

    /// The caller's Zendesk user: remembered for the number, else searched, else created
    /// when configured. `None` for a hidden or unknown number.
    async fn caller(&self, call: &Call) -> Result<Option<(i64, bool)>> {
        let Some(raw) = call.raw_digits.as_deref() else { return Ok(None) };
        let number = normalize_phone(raw);
        if !number.chars().any(|c| c.is_ascii_digit()) {
            return Ok(None);
        }
        let known_key = self.key(&format!("caller/{number}"));
        if let Some(known) = self.store.get_as::<KnownCaller>(&known_key).await? {
            return Ok(Some((known.user_id, false)));
        }
        if let Some(user) = self.zendesk.find_users_by_phone(&number).await?.first() {
            return Ok(Some((user.id, false)));
        }
        if !self.config.create_unknown_callers || self.config.mode.is_preview() {
            return Ok(None);
        }
        // Search lags behind creation, so a just-created caller is found through the store;
        // the claim keeps two deliveries (several agents rung at once) from creating two.
        let claim_key = self.key(&format!("claim/caller/{number}"));
        if !self.claim(&claim_key).await? {
            return Err(Error::store(format!(
                "calls bridge: the caller {number} is being created by another instance; try again"
            )));
        }
        let result = async {
            if let Some(known) = self.store.get_as::<KnownCaller>(&known_key).await? {
                return Ok(Some((known.user_id, false)));
            }
            let user = self.zendesk.create_end_user(&format!("Caller {number}"), &number).await?;
            self.store.put_as(&known_key, &KnownCaller { user_id: user.id }).await?;
            Ok(Some((user.id, true)))
        }
        .await;
        self.release(&claim_key).await;
        result
    }

    async fn ring(&self, call: &Call) -> Result<CallOutcome> {
        let call_id = call.id;
        let not_popped = |reason: String| Ok(CallOutcome::NotPopped { call_id, reason });
        if !self.config.screen_pop {
            return not_popped("screen pop is off".into());
        }
        if let Some(LogStage::Done { .. } | LogStage::Ignored { .. }) =
            self.store.get_as::<LogStage>(&self.key(&call_id.to_string())).await?
        {
            return Ok(CallOutcome::Duplicate { call_id, what: "the call is already over".into() });
        }
        let Some(agent_id) = self.zendesk_agent(call.user.as_ref()).await? else {
            let who = call.user.as_ref().map(|u| u.id.to_string()).unwrap_or_else(|| "?".into());
            return not_popped(format!("Aircall user {who} has no Zendesk agent with the same e-mail"));
        };
        let pop_key = self.key(&format!("{call_id}/pop/{agent_id}"));
        if self.store.get(&pop_key).await?.is_some() {
            return Ok(CallOutcome::Duplicate {
                call_id,
                what: format!("already popped to agent {agent_id}"),
            });
        }
        let caller = self.caller(call).await?;
        if self.config.mode.is_preview() {
            let action = match (caller, self.config.create_unknown_callers) {
                (Some((user_id, _)), _) => format!("pop user {user_id} to agent {agent_id}"),
                (None, true)
                    if call.raw_digits.as_deref().is_some_and(|d| d.chars().any(|c| c.is_ascii_digit())) =>
                {
                    format!(
                        "create an end user for {} and pop it to agent {agent_id}",
                        call.raw_digits.as_deref().unwrap_or_default()
                    )
                }
                (None, _) => return not_popped("the number is hidden or no Zendesk user has it".into()),
            };
            return Ok(CallOutcome::DryRun { call_id, action });
        }
        let Some((user_id, created_user)) = caller else {
            return not_popped("the number is hidden or no Zendesk user has it".into());
        };
        // The mark is taken before the display, so concurrent deliveries of the same ring
        // (a redelivery racing the first attempt, on any instance) pop once.
        if !self.store.insert_if_absent_as(&pop_key, &PoppedMark { user_id, at: Utc::now() }).await? {
            return Ok(CallOutcome::Duplicate {
                call_id,
                what: format!("already popped to agent {agent_id}"),
            });
        }
        if let Err(error) = self.zendesk.display_user(agent_id, user_id).await {
            // Not shown: free the mark so a redelivery may try again.
            if let Err(store_error) = self.store.delete(&pop_key).await {
                tracing::warn!(%store_error, key = pop_key, "calls bridge: could not clear a pop mark");
            }
            // Zendesk's answer for an agent it cannot show anything to (unknown id, no Talk
            // seat): retrying will not help, so it is an outcome, not an error.
            if is_not_found(&error) {
                return not_popped(format!("Zendesk refused the pop to agent {agent_id}: {error}"));
            }
            return Err(error);
        }
        Ok(CallOutcome::Popped { call_id, agent_id, user_id, created_user })
    }

    async fn log(&self, call_id: u64) -> Result<CallOutcome> {
        let state_key = self.key(&call_id.to_string());
        if let Some(outcome) = self.finished(call_id, &state_key).await? {
            return Ok(outcome);
        }
        if self.config.mode.is_preview() {
            return self.log_claimed(call_id, &state_key).await;
        }
        let claim_key = self.key(&format!("claim/call/{call_id}"));
        if !self.claim(&claim_key).await? {
            return Ok(CallOutcome::Busy { call_id });
        }
        let result = self.log_claimed(call_id, &state_key).await;
        self.release(&claim_key).await;
        result
    }

    async fn finished(&self, call_id: u64, state_key: &str) -> Result<Option<CallOutcome>> {
        Ok(match self.store.get_as::<LogStage>(state_key).await? {
            Some(LogStage::Done { ticket_id, .. }) => Some(CallOutcome::Duplicate {
                call_id,
                what: format!("already logged on ticket {ticket_id}"),
            }),
            Some(LogStage::Ignored { reason }) => {
                Some(CallOutcome::Duplicate { call_id, what: format!("already ignored ({reason})") })
            }
            _ => None,
        })
    }

    async fn log_claimed(&self, call_id: u64, state_key: &str) -> Result<CallOutcome> {
        // Re-read under the claim: another instance may have finished meanwhile.
        if let Some(outcome) = self.finished(call_id, state_key).await? {
            return Ok(outcome);
        }
        let stage = self.store.get_as::<LogStage>(state_key).await?;
        let call = self.aircall.call(call_id).await?;
        if !call.is_over() {
            return Ok(CallOutcome::Pending { call_id });
        }
        let kind = if call.has_voicemail() {
            CallKind::Voicemail
        } else if call.was_answered() {
            CallKind::Answered
        } else {
            CallKind::Missed
        };
        if kind == CallKind::Missed && self.config.missed_calls == MissedCalls::Ignore && stage.is_none() {
            if self.config.mode.is_preview() {
                return Ok(CallOutcome::DryRun { call_id, action: "ignore this missed call".into() });
            }
            let reason = "missed call, missed calls are ignored".to_owned();
            self.store.put_as(state_key, &LogStage::Ignored { reason: reason.clone() }).await?;
            return Ok(CallOutcome::Ignored { call_id, reason });
        }
        let agent_id =
            if kind == CallKind::Answered { self.zendesk_agent(call.user.as_ref()).await? } else { None };
        let caller = self.caller(&call).await?.map(|(id, _)| id);
        let transcription = if self.config.fetch_transcription && kind != CallKind::Missed {
            match self.aircall.call_transcription(call_id).await {
                Ok(found) => found.map(|t| t.text),
                Err(error) => {
                    tracing::warn!(%error, call_id, "calls bridge: no transcription (logging without it)");
                    None
                }
            }
        } else {
            None
        };
        let details = CallDetails { call: &call, kind, agent_id, caller, transcription };
        if self.config.mode.is_preview() {
            return Ok(CallOutcome::DryRun { call_id, action: details.plan(self.config.log_mode) });
        }
        match self.config.log_mode {
            LogMode::VoiceTicket => self.log_voice_ticket(state_key, stage, &details).await,
            LogMode::CallRecord => self.log_call_record(state_key, stage, &details).await,
        }
    }

    /// The ticket of this call if an interrupted attempt created it.
    async fn existing_ticket(&self, call_id: u64) -> Result<Option<i64>> {
        let tickets = self.zendesk.tickets_by_external_id(&external_id(call_id)).await?;
        Ok(tickets.iter().map(|t| t.id).min())
    }

    async fn log_voice_ticket(
        &self,
        state_key: &str,
        stage: Option<LogStage>,
        d: &CallDetails<'_>,
    ) -> Result<CallOutcome> {
        let call_id = d.call.id;
        let recovered = match stage {
            Some(LogStage::TicketIntent { .. }) => self.existing_ticket(call_id).await?,
            _ => None,
        };
        let (ticket_id, was_recovered) = match recovered {
            Some(ticket_id) => (ticket_id, true),
            None => {
                self.store.put_as(state_key, &LogStage::TicketIntent { attempted_at: Utc::now() }).await?;
                let mut ticket = NewVoiceTicket::new(d.via(), d.voice_comment());
                ticket.subject = Some(d.subject());
                ticket.requester_id = d.caller;
                ticket.assignee_id = d.agent_id;
                ticket.tags = d.tags(&self.config.tags);
                ticket.external_id = Some(external_id(call_id));
                ticket.display_to_agent = d.agent_id.filter(|_| self.config.display_ticket_to_agent);
                (self.zendesk.create_voice_ticket(&ticket).await?.id, false)
            }
        };
        self.store
            .put_as(state_key, &LogStage::Done { kind: d.kind, ticket_id, call_record_id: None })
            .await?;
        Ok(CallOutcome::Logged {
            call_id,
            kind: d.kind,
            ticket_id,
            call_record_id: None,
            recovered: was_recovered,
        })
    }

    async fn log_call_record(
        &self,
        state_key: &str,
        stage: Option<LogStage>,
        d: &CallDetails<'_>,
    ) -> Result<CallOutcome> {
        let call_id = d.call.id;
        let mut recovered = false;
        // Step 1: the ticket.
        let ticket_id = match stage {
            Some(LogStage::TicketCreated { ticket_id }) => ticket_id,
            Some(LogStage::CallRecordIntent { ticket_id, .. }) => {
                // Step 2 may have happened: its voice comment is on the ticket.
                let comments = self.zendesk.ticket_comments(ticket_id).await?;
                if comments.iter().any(|c| c.is_voice()) {
                    self.store
                        .put_as(state_key, &LogStage::Done { kind: d.kind, ticket_id, call_record_id: None })
                        .await?;
                    return Ok(CallOutcome::Logged {
                        call_id,
                        kind: d.kind,
                        ticket_id,
                        call_record_id: None,
                        recovered: true,
                    });
                }
                recovered = true;
                ticket_id
            }
            other => {
                let found = match other {
                    Some(LogStage::TicketIntent { .. }) => self.existing_ticket(call_id).await?,
                    _ => None,
                };
                let ticket_id = match found {
                    Some(ticket_id) => {
                        recovered = true;
                        ticket_id
                    }
                    None => {
                        self.store
                            .put_as(state_key, &LogStage::TicketIntent { attempted_at: Utc::now() })
                            .await?;
                        let ticket = NewTicket {
                            subject: d.subject(),
                            comment_body: d.summary(),
                            public: false,
                            requester_id: d.caller,
                            assignee_id: d.agent_id,
                            tags: d.tags(&self.config.tags),
                            external_id: Some(external_id(call_id)),
                        };
                        self.zendesk.create_ticket(&ticket).await?.id
                    }
                };
                self.store.put_as(state_key, &LogStage::TicketCreated { ticket_id }).await?;
                ticket_id
            }
        };
        // Step 2: the call record and its voice comment.
        self.store
            .put_as(state_key, &LogStage::CallRecordIntent { ticket_id, attempted_at: Utc::now() })
            .await?;
        let call = NewCall {
            fields: d.call_fields(self.config.app_id, ticket_id),
            comment: Some(CallComment {
                author_id: d.agent_id,
                display_to_agent: d.agent_id.filter(|_| self.config.display_ticket_to_agent),
                title: Some(d.subject()),
            }),
        };
        let record = self.zendesk.create_call(&call).await?;
        self.store
            .put_as(state_key, &LogStage::Done { kind: d.kind, ticket_id, call_record_id: Some(record.id) })
            .await?;
        Ok(CallOutcome::Logged {
            call_id,
            kind: d.kind,
            ticket_id,
            call_record_id: Some(record.id),
            recovered,
        })
    }
}

/// Everything about a finished call that goes into Zendesk.
struct CallDetails<'a> {
    call: &'a Call,
    kind: CallKind,
    agent_id: Option<i64>,
    caller: Option<i64>,
    transcription: Option<String>,
}

impl CallDetails<'_> {
    fn other_party(&self) -> String {
        self.call.raw_digits.clone().unwrap_or_else(|| "an unknown number".into())
    }

    fn our_line(&self) -> String {
        self.call.number.as_ref().and_then(|n| n.digits.clone()).unwrap_or_default()
    }

    /// (from, to) as the voice comment and call record want them.
    fn lines(&self) -> (String, String) {
        if self.call.is_inbound() {
            (self.other_party(), self.our_line())
        } else {
            (self.our_line(), self.other_party())
        }
    }

    fn subject(&self) -> String {
        let who = self.other_party();
        match (self.kind, self.call.is_inbound()) {
            (CallKind::Voicemail, _) => format!("Voicemail from {who}"),
            (CallKind::Missed, true) => format!("Missed call from {who}"),
            (CallKind::Missed, false) => format!("Unanswered call to {who}"),
            (CallKind::Answered, true) => format!("Call from {who}"),
            (CallKind::Answered, false) => format!("Call to {who}"),
        }
    }

    fn summary(&self) -> String {
        let (from, to) = self.lines();
        let mut text = format!("{} ({from} → {to})", self.subject());
        if let Some(started) = self.call.started_at {
            text.push_str(&format!(", started {}", started.to_rfc3339()));
        }
        if let Some(duration) = self.call.duration {
            text.push_str(&format!(", {duration} s"));
        }
        if let Some(link) = self.call.durable_media_link() {
            text.push_str(&format!(". Recording: {link}"));
        }
        text.push('.');
        text
    }

    fn tags(&self, base: &[String]) -> Vec<String> {
        let mut tags = base.to_vec();
        match self.kind {
            CallKind::Missed => tags.push("missed_call".into()),
            CallKind::Voicemail => tags.push("voicemail".into()),
            CallKind::Answered => {}
        }
        tags
    }

    /// What logging this call would write, in words (dry run).
    fn plan(&self, mode: LogMode) -> String {
        let what = match mode {
            LogMode::CallRecord => "create a ticket and a call record with its voice comment".to_owned(),
            LogMode::VoiceTicket => format!("create a voice ticket (via_id {})", self.via().id()),
        };
        let mut text = format!("{what}: \"{}\"", self.subject());
        if let Some(caller) = self.caller {
            text.push_str(&format!(", requester {caller}"));
        }
        if let Some(agent) = self.agent_id {
            text.push_str(&format!(", answered by agent {agent}"));
        }
        if let Some(duration) = self.call.duration {
            text.push_str(&format!(", {duration} s"));
        }
        if let Some(link) = self.call.durable_media_link() {
            text.push_str(&format!(", recording {link}"));
        }
        if self.transcription.is_some() {
            text.push_str(", with transcription");
        }
        text
    }

    fn via(&self) -> VoiceVia {
        match (self.kind, self.call.is_inbound()) {
            (CallKind::Voicemail, _) => VoiceVia::Voicemail,
            (_, true) => VoiceVia::Inbound,
            (_, false) => VoiceVia::Outbound,
        }
    }

    fn voice_comment(&self) -> VoiceComment {
        let (from, to) = self.lines();
        VoiceComment {
            from,
            to,
            recording_url: self.call.durable_media_link().map(str::to_owned),
            started_at: self.call.started_at.unwrap_or_else(Utc::now),
            call_duration: self.call.duration.unwrap_or(0),
            answered_by_id: self.agent_id,
            transcription_text: self.transcription.clone(),
            location: self.call.country_code_a2.clone(),
        }
    }

    fn call_fields(&self, app_id: Option<i64>, ticket_id: i64) -> CallFields {
        let (from, to) = self.lines();
        CallFields {
            app_id,
            from_line: Some(from),
            to_line: Some(to),
            call_started_at: Some(self.call.started_at.unwrap_or_else(Utc::now)),
            call_ended_at: self.call.ended_at,
            direction: Some(if self.call.is_inbound() {
                CallDirection::Inbound
            } else {
                CallDirection::Outbound
            }),
            agent_id: self.agent_id,
            end_user_id: self.caller,
            ticket_id: Some(ticket_id),
            voicemail: Some(self.kind == CallKind::Voicemail),
            completion_status: Some(
                match self.kind {
                    CallKind::Answered => "completed",
                    CallKind::Voicemail => "abandoned_in_voicemail",
                    CallKind::Missed => "abandoned_in_queue",
                }
                .into(),
            ),
            talk_time: self.call.talk_seconds(),
            recording_url: self.call.durable_media_link().map(str::to_owned),
            transcript: self.transcription.clone(),
            ..CallFields::default()
        }
    }
}
