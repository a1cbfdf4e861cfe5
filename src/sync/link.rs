//! The per-agent link state machine.
//!
//! A *link* joins one agent's status on two providers (side A and side B). It is a pure
//! function [`step`]`(state, event, now) -> actions` (the state is updated in place): no
//! I/O, no clock reads. The engine feeds it observations (webhooks, polls), write results
//! and ticks, and carries out the [`LinkAction::Write`]s it returns.
//!
//! Invariants (property-tested in this module):
//! - a one-way link never writes to its source;
//! - no write is issued for a value the target is known to hold already;
//! - in two-way mode our own echo never causes a write back (echoes are recognised by
//!   their origin, e.g. Zendesk's `PUBLIC_API` reason, or by a remembered-write window);
//! - lossy mappings do not drift: in two-way mode, a target value that maps back to the
//!   source's value counts as in sync (Zendesk Away ↔ Aircall Unavailable stays Away);
//! - once events stop, the link settles: writes are bounded by the number of real changes
//!   plus a bounded number of retries.
//!
//! - after the last real change has been delivered, the target holds the mapping of the
//!   source's actual value without waiting for a reconcile pass, whatever the provider's
//!   clock skew (±5 s tested), stamp granularity (whole seconds), duplicates, reordering and
//!   replays stamped in the future ("when in doubt, read": see [`step_with`]).
//!
//! Conflicts in two-way mode resolve by the documented policy *the later change wins*, by
//! the provider's own timestamp of each change; a tie goes to the configured
//! [`LinkConfig::preferred`] side.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::mapping::{Side, StatusMap, Translation};
use crate::status::NativeStatus;

/// Which way a link syncs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LinkMode {
    /// Only `from` is read; only the other side is written (Aircall's product behaviour).
    OneWay {
        /// The source side.
        from: Side,
    },
    /// Both sides are read and written; the later change wins.
    TwoWay,
}

/// What to do when the target holds a value the map does not know (a Zendesk custom status
/// such as "In a meeting", Aircall's Automatic Schedule).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TargetPolicy {
    /// Leave it alone and report why: the agent chose it on purpose (default).
    #[default]
    LeaveAlone,
    /// Overwrite it with the source's mapped value.
    SourceWins,
}

/// Configuration of a link; shared by every agent of the link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LinkConfig {
    /// The status tables of the two sides.
    pub map: StatusMap,
    /// One-way or two-way.
    pub mode: LinkMode,
    /// Unknown target values: leave alone or overwrite.
    pub target_policy: TargetPolicy,
    /// How long after a write an observation of the same value, with no origin, counts as
    /// our own echo.
    pub echo_window: StdDuration,
    /// A write with no result after this long is treated as failed.
    pub write_timeout: StdDuration,
    /// Attempts per desired value before giving up until the next real change.
    pub max_attempts: u32,
    /// Backoff after the first failure (doubles per attempt) when the provider gave no
    /// retry-after.
    pub retry_base: StdDuration,
    /// Two-way: the side that wins when both changed at the same instant or neither has a
    /// known change time.
    pub preferred: Side,
    /// How much later than the last read of a side an event's provider stamp must be to be
    /// trusted without reading the agent again ("clearly newer"), and how far in the future
    /// a stamp may lie before it is clamped to the time of receipt (default 30 s).
    ///
    /// Provider stamps are coarse (Aircall: whole seconds) and provider clocks drift from
    /// ours; a listing takes seconds (Aircall's pacer allows one request per second). Keep
    /// the tolerance above the clock skew you expect plus a few seconds; a larger value costs
    /// at most one one-agent read per event that arrives shortly after a read.
    #[serde(default = "default_tolerance")]
    pub tolerance: StdDuration,
}

/// Builder methods: start from the constructor and set what differs.
impl LinkConfig {
    /// Set [`map`](Self::map).
    pub fn with_map(mut self, map: StatusMap) -> Self {
        self.map = map;
        self
    }

    /// Set [`mode`](Self::mode).
    pub fn with_mode(mut self, mode: LinkMode) -> Self {
        self.mode = mode;
        self
    }

    /// Set [`target_policy`](Self::target_policy).
    pub fn with_target_policy(mut self, target_policy: TargetPolicy) -> Self {
        self.target_policy = target_policy;
        self
    }

    /// Set [`echo_window`](Self::echo_window).
    pub fn with_echo_window(mut self, echo_window: StdDuration) -> Self {
        self.echo_window = echo_window;
        self
    }

    /// Set [`write_timeout`](Self::write_timeout).
    pub fn with_write_timeout(mut self, write_timeout: StdDuration) -> Self {
        self.write_timeout = write_timeout;
        self
    }

    /// Set [`max_attempts`](Self::max_attempts).
    pub fn with_max_attempts(mut self, max_attempts: u32) -> Self {
        self.max_attempts = max_attempts;
        self
    }

    /// Set [`retry_base`](Self::retry_base).
    pub fn with_retry_base(mut self, retry_base: StdDuration) -> Self {
        self.retry_base = retry_base;
        self
    }

    /// Set [`preferred`](Self::preferred).
    pub fn with_preferred(mut self, preferred: Side) -> Self {
        self.preferred = preferred;
        self
    }

    /// Set [`tolerance`](Self::tolerance).
    pub fn with_tolerance(mut self, tolerance: StdDuration) -> Self {
        self.tolerance = tolerance;
        self
    }
}

fn default_tolerance() -> StdDuration {
    StdDuration::from_secs(30)
}

/// `duration` as a span of calendar time, saturating (a configured duration too large for
/// chrono is as good as forever).
fn span(duration: StdDuration) -> Duration {
    Duration::from_std(duration).unwrap_or(Duration::MAX)
}

impl LinkConfig {
    /// A link with the given map and mode and the default timings (echo window 2 min,
    /// write timeout 1 min, 5 attempts, 2 s base backoff, side A preferred, stamp tolerance
    /// 30 s).
    pub fn new(map: StatusMap, mode: LinkMode) -> Self {
        Self {
            map,
            mode,
            target_policy: TargetPolicy::LeaveAlone,
            echo_window: StdDuration::from_secs(120),
            write_timeout: StdDuration::from_secs(60),
            max_attempts: 5,
            retry_base: StdDuration::from_secs(2),
            preferred: Side::A,
            tolerance: default_tolerance(),
        }
    }
}

/// Who caused an observed value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Origin {
    /// deskbridge itself (e.g. Zendesk reported reason `PUBLIC_API`).
    Ours,
    /// Someone else: the agent, a supervisor, a routing rule.
    Others,
    /// The provider does not say (Aircall webhooks, polls).
    Unknown,
}

/// A value seen on one side during a reconcile pass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    /// The value.
    pub value: NativeStatus,
    /// Who set it, if known.
    pub origin: Origin,
    /// When it was set (provider time), or when it was read if the provider does not say.
    pub at: DateTime<Utc>,
}

/// Something that happened to a link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "event")]
#[non_exhaustive]
pub enum LinkEvent {
    /// A side was seen holding `value` (webhook or poll).
    Observed {
        /// Which side.
        side: Side,
        /// The value seen.
        value: NativeStatus,
        /// Who set it, if known.
        origin: Origin,
        /// When the value was set, by the provider's clock if it says, else when seen.
        at: DateTime<Utc>,
    },
    /// A reconcile pass read both sides; both are taken into account before deciding, so a
    /// pass never writes on the strength of one side alone.
    Snapshot {
        /// Side A's value, origin and change time, if the agent exists there.
        a: Option<Seen>,
        /// Side B's value, origin and change time, if the agent exists there.
        b: Option<Seen>,
    },
    /// A fresh read of one side of this agent (asked for with [`LinkAction::Read`]): the
    /// value the provider holds at the step's `now`. `None`: the provider reports no status
    /// for the agent on the link's channel (nothing is learnt).
    Read {
        /// Which side was read.
        side: Side,
        /// The value read.
        value: Option<NativeStatus>,
    },
    /// A write issued by this link succeeded.
    WriteSucceeded {
        /// Which side was written.
        side: Side,
        /// The value written.
        value: NativeStatus,
    },
    /// A write issued by this link failed.
    WriteFailed {
        /// Which side.
        side: Side,
        /// The value that was being written.
        value: NativeStatus,
        /// How long the provider asked us to wait, if it said.
        retry_after: Option<std::time::Duration>,
        /// The error, for the report.
        error: String,
    },
    /// Time passed (retries, timeouts).
    Tick,
}

/// Why a link did not write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
#[non_exhaustive]
pub enum SkipReason {
    /// The source value has no presence (Aircall Automatic Schedule, a Zendesk custom
    /// status nobody mapped).
    SourceUnmapped {
        /// The source value.
        value: NativeStatus,
        /// Why it is not synced.
        reason: String,
    },
    /// The target holds a value the map does not know and the policy leaves it alone.
    TargetProtected {
        /// The target's value.
        value: NativeStatus,
        /// Why it is left alone.
        reason: String,
    },
    /// The target has no value for the source's presence.
    NotWritable {
        /// Why.
        reason: String,
    },
    /// The agent is in a *Do not change* group.
    DoNotChange {
        /// The matching group.
        group: String,
    },
    /// The channel has an include list and the agent is in none of its groups.
    NotInIncludedGroups {
        /// The channel.
        channel: crate::status::Channel,
    },
    /// The source reports no status for the agent on the synced channel.
    NoSourceStatus,
    /// The agent is not in the schedule and the flow leaves such agents alone.
    NotInSchedule,
    /// The writes for this value failed `attempts` times; waiting for the next change.
    GaveUp {
        /// The value that could not be written.
        value: NativeStatus,
        /// Attempts made.
        attempts: u32,
        /// The last error.
        error: String,
    },
}

impl SkipReason {
    /// The snake_case name of the reason (`source_unmapped`, `do_not_change`, …), used as
    /// the `reason` label of the bridge's skip metric.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::SourceUnmapped { .. } => "source_unmapped",
            Self::TargetProtected { .. } => "target_protected",
            Self::NotWritable { .. } => "not_writable",
            Self::DoNotChange { .. } => "do_not_change",
            Self::NotInIncludedGroups { .. } => "not_in_included_groups",
            Self::NoSourceStatus => "no_source_status",
            Self::NotInSchedule => "not_in_schedule",
            Self::GaveUp { .. } => "gave_up",
        }
    }
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::SourceUnmapped { value, reason } => write!(f, "source holds \"{value}\": {reason}"),
            Self::TargetProtected { value, reason } => {
                write!(f, "target holds \"{value}\", left alone: {reason}")
            }
            Self::NotWritable { reason } => f.write_str(reason),
            Self::DoNotChange { group } => write!(f, "in \"Do not change\" group \"{group}\""),
            Self::NotInIncludedGroups { channel } => write!(f, "not in any group synced for {channel}"),
            Self::NoSourceStatus => f.write_str("source reports no status on this channel"),
            Self::NotInSchedule => f.write_str("not in the schedule"),
            Self::GaveUp { value, attempts, error } => {
                write!(f, "gave up writing \"{value}\" after {attempts} attempts: {error}")
            }
        }
    }
}

/// What the link asks the engine to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "action")]
#[non_exhaustive]
pub enum LinkAction {
    /// Write `value` on `side`, then report the result with
    /// [`LinkEvent::WriteSucceeded`] or [`LinkEvent::WriteFailed`].
    Write {
        /// The side to write.
        side: Side,
        /// The value to write.
        value: NativeStatus,
        /// Which side's value this follows.
        because_of: NativeStatus,
    },
    /// Report that the link is deliberately not writing (reported once per reason).
    Skip(SkipReason),
    /// Read this side of the agent now and report the value with [`LinkEvent::Read`]: an
    /// observation differed from what the link knows and its stamp was not clearly newer
    /// (see [`Verdict::Doubtful`]).
    Read {
        /// The side to read.
        side: Side,
    },
}

/// What the link made of one observation (a webhook event, a pass's read, a one-agent read).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "verdict")]
#[non_exhaustive]
pub enum Verdict {
    /// Taken as the side's new value (any write it calls for is a separate action).
    Applied,
    /// The side was already known to hold this value; only the stamps were refreshed.
    Unchanged,
    /// The same change (value and provider stamp) was already taken into account.
    Duplicate,
    /// Our own write coming back.
    Echo,
    /// Older, by the same provider's clock, than the change the link already holds.
    Stale {
        /// The observation's stamp.
        at: DateTime<Utc>,
        /// The stamp of the change the link holds.
        known_at: DateTime<Utc>,
    },
    /// The value differs from what the link knows and its stamp is not clearly newer than
    /// the last read (or lay in the future): the side is read again
    /// ([`LinkAction::Read`]) and the fresh value decides.
    Doubtful {
        /// The observation's stamp (after clamping).
        at: DateTime<Utc>,
        /// What it was compared with: the last read, or the stamp of the value held.
        known_at: Option<DateTime<Utc>>,
        /// The original stamp when it lay more than the tolerance in the future and was
        /// clamped to the time of receipt.
        clamped_from: Option<DateTime<Utc>>,
    },
}

/// What a step knows beyond the agent's state: when the side was last read by a pass, and
/// which sides the link's group filter protects for this agent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepContext {
    /// The end of the last reconcile pass that read this agent (the engine's clock).
    pub last_read: Option<DateTime<Utc>>,
    /// Per side (A, B): why the group filter forbids writing this agent there, if it does.
    pub blocked: [Option<SkipReason>; 2],
}

/// The result of [`step_with`]: the actions, and the verdict on each observation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepOutcome {
    /// What to do.
    pub actions: Vec<LinkAction>,
    /// Per observed side, what the link made of the observation.
    pub verdicts: Vec<(Side, Verdict)>,
}

/// The outcome of comparing a source value with a target value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "decision")]
#[non_exhaustive]
pub enum Decision {
    /// The target already holds the right value.
    InSync,
    /// The target must be written with this value.
    Write {
        /// The value to write.
        value: NativeStatus,
    },
    /// Not synced, deliberately.
    Skip(SkipReason),
}

/// Decide what the target should hold given the source's value (pure; used by both the
/// one-shot planner and the state machine).
///
/// `equivalence` accepts a target value that maps back to exactly the source value (used
/// in two-way mode so lossy mappings do not drift).
pub fn decide(
    map: &StatusMap,
    from: Side,
    source: &NativeStatus,
    target: Option<&NativeStatus>,
    policy: TargetPolicy,
    equivalence: bool,
) -> Decision {
    // Fast path, no allocation: mapped source and the target already holds the value.
    if let (Some(want), Some(have)) = (map.translate_value(from, source), target)
        && want == have
    {
        return Decision::InSync;
    }
    let want = match map.translate(from, source) {
        Translation::To(v) => v,
        Translation::Unmapped { reason } => {
            return Decision::Skip(SkipReason::SourceUnmapped { value: source.clone(), reason });
        }
        Translation::NotWritable { reason, .. } => return Decision::Skip(SkipReason::NotWritable { reason }),
    };
    let Some(have) = target else {
        return Decision::Write { value: want };
    };
    let target_table = map.table(from.other());
    if target_table.presence_of(have).is_none() && policy == TargetPolicy::LeaveAlone {
        let reason = match target_table.reading(have) {
            crate::mapping::Reading::Unmapped { reason } => reason,
            crate::mapping::Reading::Presence(_) => String::new(),
        };
        return Decision::Skip(SkipReason::TargetProtected {
            value: have.clone(),
            reason: format!("chosen on purpose ({reason})"),
        });
    }
    if equivalence && map.translate_value(from.other(), have) == Some(source) {
        return Decision::InSync;
    }
    Decision::Write { value: want }
}

/// How many recent writes per side are remembered to recognise late echoes.
pub const RECENT_WRITES: usize = 4;

/// What the link knows of one side.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SideState {
    /// The latest value seen and when it was set.
    pub observed: Option<(NativeStatus, DateTime<Utc>)>,
    /// When someone other than us last changed this side (provider time).
    pub changed_at: Option<DateTime<Utc>>,
    /// The last change by someone else: value and provider time (to drop duplicates).
    pub last_external: Option<(NativeStatus, DateTime<Utc>)>,
    /// Our recent successful writes and when each succeeded, oldest first (at most
    /// [`RECENT_WRITES`]); the last one is what we believe the side holds by our hand.
    pub written: Vec<(NativeStatus, DateTime<Utc>)>,
    /// A write in flight: value, issued at, attempt number (1-based).
    pub pending: Option<(NativeStatus, DateTime<Utc>, u32)>,
    /// Failed attempts for the value in `failing`.
    pub failures: u32,
    /// The value whose writes are failing.
    pub failing: Option<NativeStatus>,
    /// Do not retry before this instant.
    pub retry_at: Option<DateTime<Utc>>,
    /// The value we gave up on (not retried until a new real change).
    pub gave_up: Option<NativeStatus>,
    /// When a one-agent read (or a pass that changed the state) last read this side, by the
    /// engine's clock.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_at: Option<DateTime<Utc>>,
    /// The latest provider stamp of an event trusted for this side (same clock as later
    /// events of the same provider): an event stamped before it is stale.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_at: Option<DateTime<Utc>>,
}

/// One agent's link state. Serialisable, so it survives restarts through a
/// [`StateStore`](crate::ports::StateStore).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LinkState {
    /// Side A, then side B.
    pub sides: [SideState; 2],
    /// The last skip reported, so a skip is reported once, not on every tick.
    pub last_skip: Option<SkipReason>,
}

impl LinkState {
    /// The state of `side`.
    pub fn side(&self, side: Side) -> &SideState {
        &self.sides[side.index()]
    }

    fn side_mut(&mut self, side: Side) -> &mut SideState {
        &mut self.sides[side.index()]
    }

    /// True when no write is in flight or scheduled for retry.
    pub fn is_idle(&self) -> bool {
        self.sides.iter().all(|s| s.pending.is_none() && s.retry_at.is_none())
    }
}

/// Advance `state` by `event` at `now`, returning what to do (no pass context, no group
/// filter: see [`step_with`]).
pub fn step(
    config: &LinkConfig,
    state: &mut LinkState,
    event: LinkEvent,
    now: DateTime<Utc>,
) -> Vec<LinkAction> {
    step_with(config, state, event, now, &StepContext::default()).actions
}

/// Advance `state` by `event` at `now` with what the engine knows beyond the state (the
/// last pass, the group filter), returning the actions and the verdict on each observation.
///
/// # The ordering rule ("when in doubt, read")
///
/// An observed value that differs from what the link knows is taken at once only when its
/// stamp is *clearly newer*: later than the stamp of the value held, and more than
/// [`LinkConfig::tolerance`] after the last read of the side. One stamped before a change
/// already taken from the same provider is [`Verdict::Stale`]. Anything in between is
/// [`Verdict::Doubtful`]: the link asks for a [`LinkAction::Read`] of that one agent and
/// decides on the fresh value. A stamp more than the tolerance in the future is clamped to
/// `now` and is always doubtful. A read (a pass's [`LinkEvent::Snapshot`] or a
/// [`LinkEvent::Read`]) is the truth at the time it was made: whatever stamps came before
/// (stored stamps in the future are clamped first), it heals the agent.
pub fn step_with(
    config: &LinkConfig,
    state: &mut LinkState,
    event: LinkEvent,
    now: DateTime<Utc>,
    context: &StepContext,
) -> StepOutcome {
    sanitize(config, state, now);
    let mut verdicts = Vec::new();
    let mut reads = Vec::new();
    match event {
        LinkEvent::Observed { side, value, origin, at } => {
            // On a one-way link the target's observations only record what it holds; the
            // evaluation below never takes the target as a source.
            let verdict = observe_event(config, state.side_mut(side), value, origin, at, now, context);
            if matches!(verdict, Verdict::Doubtful { .. }) {
                reads.push(LinkAction::Read { side });
            }
            verdicts.push((side, verdict));
        }
        LinkEvent::Snapshot { a, b } => {
            for (side, seen) in [(Side::A, a), (Side::B, b)] {
                if let Some(Seen { value, origin, at }) = seen {
                    let verdict = observe_read(config, state.side_mut(side), value, origin, at, now, true);
                    if matches!(verdict, Verdict::Doubtful { .. }) {
                        reads.push(LinkAction::Read { side });
                    }
                    verdicts.push((side, verdict));
                }
            }
        }
        LinkEvent::Read { side, value } => {
            let verdict = match value {
                Some(value) => {
                    let s = state.side_mut(side);
                    s.read_at = Some(now);
                    observe_read(config, s, value, Origin::Unknown, now, now, false)
                }
                None => Verdict::Unchanged,
            };
            verdicts.push((side, verdict));
        }
        LinkEvent::WriteSucceeded { side, value } => {
            let s = state.side_mut(side);
            s.pending = None;
            s.failures = 0;
            s.failing = None;
            s.retry_at = None;
            if s.written.len() == RECENT_WRITES {
                s.written.remove(0);
            }
            s.written.push((value.clone(), now));
            // The side now holds what we wrote. Keep the provider's change time of the
            // previous external change: our write is not a "real" change.
            let at = s.observed.as_ref().map_or(now, |(_, t)| (*t).max(now));
            s.observed = Some((value, at));
        }
        LinkEvent::WriteFailed { side, value, retry_after, error } => {
            let s = state.side_mut(side);
            let attempt = s.pending.as_ref().map_or(s.failures + 1, |(_, _, n)| *n);
            s.pending = None;
            s.failing = Some(value.clone());
            s.failures = attempt;
            if attempt >= config.max_attempts {
                s.retry_at = None;
                s.gave_up = Some(value.clone());
                let skip = SkipReason::GaveUp { value, attempts: attempt, error };
                state.last_skip = Some(skip.clone());
                return StepOutcome { actions: vec![LinkAction::Skip(skip)], verdicts };
            }
            let wait = match retry_after {
                Some(d) => Duration::from_std(d).unwrap_or(Duration::MAX),
                None => span(config.retry_base) * 2i32.saturating_pow(attempt.saturating_sub(1).min(16)),
            };
            s.retry_at = Some(now.checked_add_signed(wait).unwrap_or(DateTime::<Utc>::MAX_UTC));
        }
        LinkEvent::Tick => {
            for s in &mut state.sides {
                if let Some((value, issued, attempt)) = s.pending.clone()
                    && now - issued >= span(config.write_timeout)
                {
                    // No result came back: count it as a failed attempt.
                    s.pending = None;
                    s.failing = Some(value.clone());
                    s.failures = attempt;
                    if attempt >= config.max_attempts {
                        s.gave_up = Some(value);
                    }
                }
            }
        }
    }
    let mut actions = evaluate(config, state, now, &context.blocked);
    actions.extend(reads);
    StepOutcome { actions, verdicts }
}

/// `now + tolerance`, saturating.
fn horizon(config: &LinkConfig, now: DateTime<Utc>) -> DateTime<Utc> {
    now.checked_add_signed(span(config.tolerance)).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Clamp every stored stamp that lies beyond the tolerance in the future (a state stored
/// before stamps were clamped, or a clock that jumped back), so no stamp can freeze an
/// agent: a later read or event is then compared with the present.
fn sanitize(config: &LinkConfig, state: &mut LinkState, now: DateTime<Utc>) {
    let limit = horizon(config, now);
    for s in &mut state.sides {
        if let Some((_, t)) = &mut s.observed
            && *t > limit
        {
            *t = now;
        }
        if s.event_at.is_some_and(|t| t > limit) {
            s.event_at = None;
        }
        if s.read_at.is_some_and(|t| t > limit) {
            s.read_at = Some(now);
        }
        if s.changed_at.is_some_and(|t| t > limit) {
            s.changed_at = Some(now);
        }
        if let Some((_, t)) = &mut s.last_external
            && *t > limit
        {
            *t = now;
        }
    }
}

/// Whether an observation of `value` with `origin` is our own write coming back.
fn is_ours(
    config: &LinkConfig,
    s: &SideState,
    value: &NativeStatus,
    origin: Origin,
    now: DateTime<Utc>,
) -> bool {
    match origin {
        Origin::Ours => true,
        Origin::Others => false,
        Origin::Unknown => {
            s.pending.as_ref().is_some_and(|(v, _, _)| v == value)
                || s.written.iter().any(|(v, t)| v == value && now - *t <= span(config.echo_window))
        }
    }
}

/// Take `value` as the side's new value, set at `at`.
fn take(s: &mut SideState, value: NativeStatus, at: DateTime<Utc>, ours: bool) {
    if !ours {
        s.changed_at = Some(at);
        s.last_external = Some((value.clone(), at));
        s.gave_up = None;
        s.failures = 0;
        s.failing = None;
        s.retry_at = None;
    }
    s.observed = Some((value, at));
}

/// An event reported with the provider's stamp (a webhook).
fn observe_event(
    config: &LinkConfig,
    s: &mut SideState,
    value: NativeStatus,
    origin: Origin,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
    context: &StepContext,
) -> Verdict {
    let (at, clamped_from) = if at > horizon(config, now) { (now, Some(at)) } else { (at, None) };
    // A second delivery of a change already taken into account (webhooks are delivered at
    // least once), possibly after our write replaced the value.
    if clamped_from.is_none() && s.last_external.as_ref().is_some_and(|(v, t)| *v == value && *t == at) {
        return Verdict::Duplicate;
    }
    let ours = is_ours(config, s, &value, origin, now);
    if ours {
        let latest = s.pending.as_ref().map(|(v, _, _)| v).or(s.written.last().map(|(v, _)| v));
        if latest.is_some_and(|v| *v != value) {
            return Verdict::Echo; // the echo of an earlier write of ours, overtaken by a later one
        }
    }
    let known = s.observed.clone();
    match known {
        Some((known_value, known_at)) if known_value == value => {
            // A provider that names the actor (Zendesk) reports each change as an event: a
            // newer change by someone else counts even when it lands on the value we last
            // knew (we may have missed the change in between).
            if clamped_from.is_none() && origin == Origin::Others && at > known_at && !ours {
                take(s, value, at, false);
                s.event_at = Some(s.event_at.map_or(at, |e| e.max(at)));
                return Verdict::Applied;
            }
            if clamped_from.is_none() {
                // Keep the latest report time, so an older change delivered late (A→B→A
                // delivered as A, B) stays older.
                if let Some((_, seen_at)) = &mut s.observed {
                    *seen_at = (*seen_at).max(at);
                }
                s.event_at = Some(s.event_at.map_or(at, |e| e.max(at)));
            }
            if ours { Verdict::Echo } else { Verdict::Unchanged }
        }
        known => {
            let known_at = known.as_ref().map(|(_, t)| *t);
            if ours {
                // The echo of our write, delivered after a later change to that side was
                // already taken (webhooks arrive out of order): the side has moved on, so
                // the echo tells nothing new and must not replace the newer value.
                let overtaken = clamped_from.is_none()
                    && (known_at.is_some_and(|t| at < t) || s.event_at.is_some_and(|e| at < e));
                if !overtaken {
                    take(s, value, at, true);
                }
                return Verdict::Echo;
            }
            if let Some(event_at) = s.event_at
                && clamped_from.is_none()
                && at < event_at
            {
                return Verdict::Stale { at, known_at: event_at };
            }
            let last_read = match (s.read_at, context.last_read) {
                (Some(x), Some(y)) => Some(x.max(y)),
                (x, y) => x.or(y),
            };
            let within_read = last_read
                .is_some_and(|r| r.checked_add_signed(span(config.tolerance)).is_none_or(|end| at <= end));
            let not_after_known = known_at.is_some_and(|t| at <= t);
            if clamped_from.is_some() || within_read || not_after_known {
                let compared = if within_read { last_read } else { known_at };
                return Verdict::Doubtful { at, known_at: compared, clamped_from };
            }
            take(s, value, at, false);
            s.event_at = Some(at);
            Verdict::Applied
        }
    }
}

/// A value read from the provider at `at` (a pass's listing, stamped with its start, or a
/// one-agent read). `may_doubt`: a pass's value that differs from a value recorded at or
/// after the listing started may have been read before that change (another instance's
/// write, a webhook): it is confirmed by a one-agent read instead of taken.
fn observe_read(
    config: &LinkConfig,
    s: &mut SideState,
    value: NativeStatus,
    origin: Origin,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
    may_doubt: bool,
) -> Verdict {
    let ours = is_ours(config, s, &value, origin, now);
    if ours {
        let latest = s.pending.as_ref().map(|(v, _, _)| v).or(s.written.last().map(|(v, _)| v));
        if latest.is_some_and(|v| *v != value) {
            return Verdict::Echo;
        }
    }
    match &s.observed {
        // A pass that sees the same value keeps the time the value was first seen, so an
        // unchanged agent's state does not change on every pass.
        Some((known, _)) if *known == value => {
            if ours {
                Verdict::Echo
            } else {
                Verdict::Unchanged
            }
        }
        Some((_, known_at)) if may_doubt && at <= *known_at => {
            Verdict::Doubtful { at, known_at: Some(*known_at), clamped_from: None }
        }
        _ => {
            take(s, value, at, ours);
            s.read_at = Some(now);
            if ours { Verdict::Echo } else { Verdict::Applied }
        }
    }
}

fn source_side(config: &LinkConfig, state: &LinkState) -> Side {
    match config.mode {
        LinkMode::OneWay { from } => from,
        LinkMode::TwoWay => {
            let a = state.sides[0].changed_at;
            let b = state.sides[1].changed_at;
            match (a, b) {
                (Some(a), Some(b)) if a > b => Side::A,
                (Some(a), Some(b)) if b > a => Side::B,
                (Some(_), None) => Side::A,
                (None, Some(_)) => Side::B,
                _ => config.preferred,
            }
        }
    }
}

fn evaluate(
    config: &LinkConfig,
    state: &mut LinkState,
    now: DateTime<Utc>,
    blocked: &[Option<SkipReason>; 2],
) -> Vec<LinkAction> {
    let from = source_side(config, state);
    let to = from.other();
    let Some((source, _)) = state.side(from).observed.clone() else { return Vec::new() };
    let target = state.side(to);
    if target.pending.is_some() {
        return Vec::new();
    }
    let two_way = config.mode == LinkMode::TwoWay;
    let mut decision = decide(
        &config.map,
        from,
        &source,
        target.observed.as_ref().map(|(v, _)| v),
        config.target_policy,
        two_way,
    );
    if let (Decision::Write { .. }, Some(reason)) = (&decision, &blocked[to.index()]) {
        decision = Decision::Skip(reason.clone());
    }
    match decision {
        Decision::InSync => {
            state.last_skip = None;
            Vec::new()
        }
        Decision::Skip(reason) => {
            if state.last_skip.as_ref() == Some(&reason) {
                Vec::new()
            } else {
                state.last_skip = Some(reason.clone());
                vec![LinkAction::Skip(reason)]
            }
        }
        Decision::Write { value } => {
            let t = state.side_mut(to);
            if t.gave_up.as_ref() == Some(&value) {
                return Vec::new();
            }
            if t.retry_at.is_some_and(|r| r > now) {
                return Vec::new();
            }
            let attempt = if t.failing.as_ref() == Some(&value) { t.failures + 1 } else { 1 };
            t.retry_at = None;
            t.pending = Some((value.clone(), now, attempt));
            state.last_skip = None;
            vec![LinkAction::Write { side: to, value, because_of: source }]
        }
    }
}

#[cfg(all(test, feature = "aircall", feature = "zendesk"))]
mod tests;
