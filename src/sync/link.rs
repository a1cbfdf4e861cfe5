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
//! Conflicts in two-way mode resolve by the documented policy *the later change wins*, by
//! the provider's own timestamp of each change; a tie goes to the configured
//! [`LinkConfig::preferred`] side.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::mapping::{Side, StatusMap, Translation};
use crate::status::NativeStatus;

/// Which way a link syncs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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
pub enum TargetPolicy {
    /// Leave it alone and report why: the agent chose it on purpose (default).
    #[default]
    LeaveAlone,
    /// Overwrite it with the source's mapped value.
    SourceWins,
}

/// Configuration of a link; shared by every agent of the link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkConfig {
    /// The status tables of the two sides.
    pub map: StatusMap,
    /// One-way or two-way.
    pub mode: LinkMode,
    /// Unknown target values: leave alone or overwrite.
    pub target_policy: TargetPolicy,
    /// How long after a write an observation of the same value, with no origin, counts as
    /// our own echo.
    pub echo_window: Duration,
    /// A write with no result after this long is treated as failed.
    pub write_timeout: Duration,
    /// Attempts per desired value before giving up until the next real change.
    pub max_attempts: u32,
    /// Backoff after the first failure (doubles per attempt) when the provider gave no
    /// retry-after.
    pub retry_base: Duration,
    /// Two-way: the side that wins when both changed at the same instant or neither has a
    /// known change time.
    pub preferred: Side,
}

impl LinkConfig {
    /// A link with the given map and mode and the default timings (echo window 2 min,
    /// write timeout 1 min, 5 attempts, 2 s base backoff, side A preferred).
    pub fn new(map: StatusMap, mode: LinkMode) -> Self {
        Self {
            map,
            mode,
            target_policy: TargetPolicy::LeaveAlone,
            echo_window: Duration::minutes(2),
            write_timeout: Duration::minutes(1),
            max_attempts: 5,
            retry_base: Duration::seconds(2),
            preferred: Side::A,
        }
    }
}

/// Who caused an observed value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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
}

/// The outcome of comparing a source value with a target value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "decision")]
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
}

/// One agent's link state. Serialisable, so it survives restarts through a
/// [`StateStore`](crate::ports::StateStore).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
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

/// Advance `state` by `event` at `now`, returning what to do.
pub fn step(
    config: &LinkConfig,
    state: &mut LinkState,
    event: LinkEvent,
    now: DateTime<Utc>,
) -> Vec<LinkAction> {
    match event {
        LinkEvent::Observed { side, value, origin, at } => {
            // On a one-way link the target's observations only record what it holds; the
            // evaluation below never takes the target as a source.
            observe(config, state.side_mut(side), value, origin, at, now, true);
        }
        LinkEvent::Snapshot { a, b } => {
            for (side, seen) in [(Side::A, a), (Side::B, b)] {
                if let Some(Seen { value, origin, at }) = seen {
                    observe(config, state.side_mut(side), value, origin, at, now, false);
                }
            }
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
                return vec![LinkAction::Skip(skip)];
            }
            let wait = match retry_after {
                Some(d) => Duration::from_std(d).unwrap_or(Duration::MAX),
                None => config.retry_base * 2i32.saturating_pow(attempt.saturating_sub(1).min(16)),
            };
            s.retry_at = Some(now.checked_add_signed(wait).unwrap_or(DateTime::<Utc>::MAX_UTC));
        }
        LinkEvent::Tick => {
            for s in &mut state.sides {
                if let Some((value, issued, attempt)) = s.pending.clone()
                    && now - issued >= config.write_timeout
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
    evaluate(config, state, now)
}

fn observe(
    config: &LinkConfig,
    s: &mut SideState,
    value: NativeStatus,
    origin: Origin,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
    reported: bool,
) {
    let older_than_seen = s.observed.as_ref().is_some_and(|(_, seen_at)| at < *seen_at);
    // A second delivery of a change already taken into account (webhooks are delivered at
    // least once), possibly after our write replaced the value.
    let duplicate = s.last_external.as_ref().is_some_and(|(v, t)| *v == value && *t == at);
    if older_than_seen || duplicate {
        return; // stale: the newer value stands
    }
    let ours = match origin {
        Origin::Ours => true,
        Origin::Others => false,
        Origin::Unknown => {
            s.pending.as_ref().is_some_and(|(v, _, _)| *v == value)
                || s.written.iter().any(|(v, t)| *v == value && now - *t <= config.echo_window)
        }
    };
    if ours {
        let latest = s.pending.as_ref().map(|(v, _, _)| v).or(s.written.last().map(|(v, _)| v));
        if latest.is_some_and(|v| *v != value) {
            return; // the echo of an earlier write of ours, overtaken by a later one
        }
    }
    // A provider that names the actor (Zendesk) reports each change as an event: a newer
    // change by someone else counts even when it lands on the value we last knew (we may
    // have missed the change in between). Without an actor (polls, Aircall), only a
    // different value is a change, so a poll never makes its side look "newer".
    let changed = match &s.observed {
        None => true,
        Some((v, seen_at)) => *v != value || (origin == Origin::Others && at > *seen_at),
    };
    let value_for_record = value.clone();
    if changed {
        s.observed = Some((value, at));
    } else if (origin != Origin::Unknown || reported)
        && let Some((_, seen_at)) = &mut s.observed
    {
        // The same value reported again with an actor, or reported by an event stamped
        // with the provider's time (an Aircall webhook): keep the latest report time, so
        // an older change delivered late (A→B→A delivered as A, B) stays older. A poll
        // (snapshot) that sees the same value keeps the time the value was first seen, so
        // an unchanged agent's state does not change on every pass.
        *seen_at = (*seen_at).max(at);
    }
    if !ours && changed {
        s.changed_at = Some(at);
        s.last_external = Some((value_for_record, at));
        s.gave_up = None;
        s.failures = 0;
        s.failing = None;
        s.retry_at = None;
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

fn evaluate(config: &LinkConfig, state: &mut LinkState, now: DateTime<Utc>) -> Vec<LinkAction> {
    let from = source_side(config, state);
    let to = from.other();
    let Some((source, _)) = state.side(from).observed.clone() else { return Vec::new() };
    let target = state.side(to);
    if target.pending.is_some() {
        return Vec::new();
    }
    let two_way = config.mode == LinkMode::TwoWay;
    let decision = decide(
        &config.map,
        from,
        &source,
        target.observed.as_ref().map(|(v, _)| v),
        config.target_policy,
        two_way,
    );
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

#[cfg(test)]
mod tests;
