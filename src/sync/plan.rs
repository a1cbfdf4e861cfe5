//! Plans (what a sync would do) and reports.
//!
//! A [`Plan`] lists each change with its reason, each deliberate skip with its reason, and
//! every agent that could not be matched. [`apply`](super::apply) executes a plan and
//! returns a [`SyncReport`]: per agent what was written, skipped (why) and failed (the
//! error). A report renders as a human table ([`Display`](std::fmt::Display)) and as JSON
//! (serde).

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::filter::{FilterDecision, GroupFilter};
use crate::identity::{IdentityOverrides, join_each};
use crate::mapping::{Side, StatusMap};
use crate::status::{Agent, Channel, NativeStatus, Text};
use crate::sync::link::{Decision, SkipReason, TargetPolicy, decide};

/// Which agent an entry is about.
///
/// Its fields are [`Text`]s: ids, names and e-mails of up to 23 bytes are stored inline,
/// so planning a change allocates nothing for them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentRef {
    /// The agent's e-mail as the target provider stores it.
    pub email: Option<Text>,
    /// Display name (target provider's).
    pub name: Text,
    /// The agent's id at the source, if the source is a provider.
    pub source_id: Option<Text>,
    /// The agent's id at the target (the id that is written).
    pub target_id: Text,
}

impl AgentRef {
    /// The target agent `agent`, reached from the source agent with id `source_id`.
    pub fn of(agent: &Agent, source_id: Option<&Text>) -> Self {
        Self {
            email: agent.email.clone(),
            name: agent.name.clone(),
            source_id: source_id.cloned(),
            target_id: agent.id.clone(),
        }
    }

    fn label(&self) -> &str {
        self.email.as_deref().unwrap_or(&self.name)
    }
}

/// One status write to make.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// The agent.
    pub agent: AgentRef,
    /// The target channel.
    pub channel: Channel,
    /// The value the target holds now (`None`: unknown).
    pub from: Option<NativeStatus>,
    /// The value to write.
    pub to: NativeStatus,
    /// Why, in words (`aircall "available" → online`); changes with the same reason
    /// share one [`Text`].
    pub reason: Text,
}

/// An agent deliberately left alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    /// The agent.
    pub agent: AgentRef,
    /// The channel.
    pub channel: Channel,
    /// Why.
    pub reason: SkipReason,
}

/// Why an agent could not be matched across providers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum UnmatchedWhy {
    /// No agent with this e-mail on the other side.
    NoMatch,
    /// The agent has no e-mail.
    NoEmail,
    /// Several agents share this e-mail; none is guessed.
    DuplicateEmail,
}

/// An agent present on one side only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unmatched {
    /// The provider the agent is in.
    pub provider: String,
    /// The agent's id there.
    pub id: String,
    /// E-mail, if any.
    pub email: Option<String>,
    /// Display name.
    pub name: String,
    /// Why it was not matched.
    pub why: UnmatchedWhy,
}

/// What a sync would do, before anything is written: apply it with
/// [`apply`](super::apply), or report it as a preview with [`SyncReport::preview`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Source provider name.
    pub source: String,
    /// Target provider name.
    pub target: String,
    /// Writes to make.
    pub changes: Vec<Change>,
    /// Agents deliberately left alone.
    pub skipped: Vec<Skipped>,
    /// Agents present on one side only.
    pub unmatched: Vec<Unmatched>,
    /// Agents already in sync (counted, not listed).
    pub in_sync: usize,
    /// Warnings found while planning that did not stop it (e.g. unknown group names when
    /// allowed); carried into the report.
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// Whether a run wrote its decisions or only previewed them.
///
/// Serialized inside reports as the boolean `dry_run` (`true` for [`RunMode::Preview`]),
/// the JSON shape reports had before this type existed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum RunMode {
    /// The decisions were carried out: writes made, state recorded.
    #[default]
    Apply,
    /// The decisions were only computed: nothing written anywhere (no provider, helpdesk
    /// or store write).
    Preview,
}

impl RunMode {
    /// True for [`RunMode::Preview`].
    pub fn is_preview(self) -> bool {
        self == RunMode::Preview
    }
}

/// Serde for a [`RunMode`] stored as the boolean `dry_run` field of a report.
pub(crate) mod run_mode_as_dry_run_flag {
    use super::RunMode;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(mode: &RunMode, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bool(mode.is_preview())
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<RunMode, D::Error> {
        Ok(if bool::deserialize(deserializer)? { RunMode::Preview } else { RunMode::Apply })
    }
}

/// A one-way link between two providers, for a one-shot sync.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OneWaySpec {
    /// The status tables of the two sides.
    pub map: StatusMap,
    /// Which side of `map` is the source.
    pub from: Side,
    /// The source channel that is read.
    pub source_channel: Channel,
    /// The target channel that is written.
    pub target_channel: Channel,
    /// What to do with target values the map does not know.
    pub target_policy: TargetPolicy,
    /// Group filter applied to the *target* agents' groups.
    pub filter: GroupFilter,
    /// Explicit identity pairs (source e-mail → target e-mail).
    pub identity: IdentityOverrides,
}

/// Builder methods: start from the constructor and set what differs.
impl OneWaySpec {
    /// Set [`map`](Self::map).
    pub fn with_map(mut self, map: StatusMap) -> Self {
        self.map = map;
        self
    }

    /// Set [`from`](Self::from).
    pub fn with_from(mut self, from: Side) -> Self {
        self.from = from;
        self
    }

    /// Set [`source_channel`](Self::source_channel).
    pub fn with_source_channel(mut self, source_channel: Channel) -> Self {
        self.source_channel = source_channel;
        self
    }

    /// Set [`target_channel`](Self::target_channel).
    pub fn with_target_channel(mut self, target_channel: Channel) -> Self {
        self.target_channel = target_channel;
        self
    }

    /// Set [`target_policy`](Self::target_policy).
    pub fn with_target_policy(mut self, target_policy: TargetPolicy) -> Self {
        self.target_policy = target_policy;
        self
    }

    /// Set [`filter`](Self::filter).
    pub fn with_filter(mut self, filter: GroupFilter) -> Self {
        self.filter = filter;
        self
    }

    /// Set [`identity`](Self::identity).
    pub fn with_identity(mut self, identity: IdentityOverrides) -> Self {
        self.identity = identity;
        self
    }
}

impl OneWaySpec {
    /// A voice-to-voice link from `from` with no filter and no overrides.
    pub fn new(map: StatusMap, from: Side) -> Self {
        Self {
            map,
            from,
            source_channel: Channel::Voice,
            target_channel: Channel::Voice,
            target_policy: TargetPolicy::LeaveAlone,
            filter: GroupFilter::default(),
            identity: IdentityOverrides::default(),
        }
    }
}

/// Decisions already taken for a (source value, target value) pair: a roster holds a
/// handful of distinct values, so most agents repeat a decision taken before, and looking
/// it up among a few inline values is cheaper than translating through the status tables.
#[derive(Default)]
struct RecentDecisions(Vec<(NativeStatus, Option<NativeStatus>, Decision)>);

impl RecentDecisions {
    /// More distinct pairs than this (custom statuses by the hundred) are decided afresh.
    const CAPACITY: usize = 32;

    fn decide(&mut self, spec: &OneWaySpec, value: &NativeStatus, have: Option<&NativeStatus>) -> Decision {
        if let Some((_, _, decision)) = self.0.iter().find(|(v, h, _)| v == value && h.as_ref() == have) {
            return decision.clone();
        }
        let decision = decide(&spec.map, spec.from, value, have, spec.target_policy, false);
        if self.0.len() < Self::CAPACITY {
            self.0.push((value.clone(), have.cloned(), decision.clone()));
        }
        decision
    }
}

/// Writes waiting to become [`Change`]s, built a block at a time (see `plan_one_way`).
struct ChangeBlock<'a> {
    source: &'a [Agent],
    target: &'a [Agent],
    spec: &'a OneWaySpec,
    source_provider: &'a str,
    reasons: SharedReasons,
    pending: Vec<(usize, usize, NativeStatus)>,
}

impl ChangeBlock<'_> {
    const SIZE: usize = 16;

    fn add(&mut self, source: usize, target: usize, to: NativeStatus, changes: &mut Vec<Change>) {
        self.pending.push((source, target, to));
        if self.pending.len() == Self::SIZE {
            self.flush(changes);
        }
    }

    fn flush(&mut self, changes: &mut Vec<Change>) {
        let (source, target) = (self.source, self.target);
        crate::prefetch::touch(self.pending.iter().flat_map(|&(si, ti, _)| {
            let t = &target[ti];
            [source[si].id.as_str(), t.id.as_str(), t.name.as_str(), t.email.as_deref().unwrap_or_default()]
        }));
        for (si, ti, to) in self.pending.drain(..) {
            let (s, t) = (&source[si], &target[ti]);
            let value = s.status(self.spec.source_channel);
            changes.push(Change {
                agent: AgentRef::of(t, Some(&s.id)),
                channel: self.spec.target_channel,
                from: t.status(self.spec.target_channel).cloned(),
                reason: self.reasons.mapped(self.source_provider, value, &to),
                to,
            });
        }
    }
}

/// The reasons of mapped changes (`aircall "available" → online`), one shared [`Text`]
/// per source value and target value, so thousands of changes share a handful of them.
#[derive(Default)]
struct SharedReasons(Vec<(Option<NativeStatus>, NativeStatus, Text)>);

impl SharedReasons {
    fn mapped(&mut self, source_provider: &str, value: Option<&NativeStatus>, to: &NativeStatus) -> Text {
        if let Some((_, _, reason)) = self.0.iter().find(|(v, t, _)| v.as_ref() == value && t == to) {
            return reason.clone();
        }
        let value_text = value.map_or("?", NativeStatus::as_str);
        let reason = Text::from(format!("{source_provider} \"{value_text}\" → {to}"));
        self.0.push((value.cloned(), to.clone(), reason.clone()));
        reason
    }
}

/// Plan a one-way sync from `source` agents to `target` agents (pure).
pub fn plan_one_way(
    source_name: &str,
    source: &[Agent],
    target_name: &str,
    target: &[Agent],
    spec: &OneWaySpec,
) -> Plan {
    let mut plan = Plan {
        source: source_name.to_owned(),
        target: target_name.to_owned(),
        changes: Vec::new(),
        skipped: Vec::new(),
        unmatched: Vec::new(),
        in_sync: 0,
        warnings: Vec::new(),
    };
    // Each matched pair is decided as the join finds it (reading only the two agents'
    // inline statuses); writes wait in a block of 16 before their changes are built.
    // Building a change copies the target agent's id, name and e-mail, which at 100,000
    // agents are rarely still in cache: reading a block of them before copying lets their
    // cache misses overlap instead of following one another.
    let mut changes = ChangeBlock {
        source,
        target,
        spec,
        source_provider: &spec.map.table(spec.from).provider,
        reasons: SharedReasons::default(),
        pending: Vec::with_capacity(ChangeBlock::SIZE),
    };
    let mut decisions = RecentDecisions::default();
    let channel = spec.target_channel;
    let on_pair = |si: usize, ti: usize| {
        let (s, t) = (&source[si], &target[ti]);
        let agent_ref = || AgentRef::of(t, Some(&s.id));
        if !spec.filter.is_empty() {
            match spec.filter.decide(channel, &t.groups) {
                FilterDecision::Allowed => {}
                FilterDecision::DoNotChange { group } => {
                    plan.skipped.push(Skipped {
                        agent: agent_ref(),
                        channel,
                        reason: SkipReason::DoNotChange { group },
                    });
                    return;
                }
                FilterDecision::NotInIncludedGroups { channel } => {
                    plan.skipped.push(Skipped {
                        agent: agent_ref(),
                        channel,
                        reason: SkipReason::NotInIncludedGroups { channel },
                    });
                    return;
                }
            }
        }
        let Some(value) = s.status(spec.source_channel) else {
            plan.skipped.push(Skipped { agent: agent_ref(), channel, reason: SkipReason::NoSourceStatus });
            return;
        };
        match decisions.decide(spec, value, t.status(channel)) {
            Decision::InSync => plan.in_sync += 1,
            Decision::Write { value: to } => changes.add(si, ti, to, &mut plan.changes),
            Decision::Skip(reason) => plan.skipped.push(Skipped { agent: agent_ref(), channel, reason }),
        }
    };
    let joined =
        join_each(source, target, |a| a.email.as_deref(), |a| a.email.as_deref(), &spec.identity, on_pair);
    changes.flush(&mut plan.changes);
    let unmatched = |provider: &str, a: &Agent, why| Unmatched {
        provider: provider.to_owned(),
        id: a.id.to_string(),
        email: a.email.as_deref().map(str::to_owned),
        name: a.name.to_string(),
        why,
    };
    for &i in &joined.only_left {
        let why = if source[i].email.as_deref().is_some_and(|e| !e.trim().is_empty()) {
            UnmatchedWhy::NoMatch
        } else {
            UnmatchedWhy::NoEmail
        };
        plan.unmatched.push(unmatched(source_name, &source[i], why));
    }
    for &i in &joined.ambiguous_left {
        plan.unmatched.push(unmatched(source_name, &source[i], UnmatchedWhy::DuplicateEmail));
    }
    for &i in &joined.only_right {
        let why = if target[i].email.as_deref().is_some_and(|e| !e.trim().is_empty()) {
            UnmatchedWhy::NoMatch
        } else {
            UnmatchedWhy::NoEmail
        };
        plan.unmatched.push(unmatched(target_name, &target[i], why));
    }
    for &i in &joined.ambiguous_right {
        plan.unmatched.push(unmatched(target_name, &target[i], UnmatchedWhy::DuplicateEmail));
    }
    plan
}

/// A write that failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failed {
    /// The change that was attempted.
    pub change: Change,
    /// The error, as text (never containing secrets).
    pub error: String,
    /// Whether retrying later may succeed.
    pub transient: bool,
}

/// What a sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncReport {
    /// Source provider name.
    pub source: String,
    /// Target provider name.
    pub target: String,
    /// [`RunMode::Preview`] when nothing was written on purpose (`written` lists the
    /// planned writes); serialized as the boolean `dry_run`.
    #[serde(rename = "dry_run", with = "run_mode_as_dry_run_flag", default)]
    pub mode: RunMode,
    /// Writes made (or, in a preview, planned).
    pub written: Vec<Change>,
    /// Agents deliberately left alone, with the reason.
    pub skipped: Vec<Skipped>,
    /// Writes that failed, with the error.
    pub failed: Vec<Failed>,
    /// Agents present on one side only.
    pub unmatched: Vec<Unmatched>,
    /// Agents already in sync.
    pub in_sync: usize,
    /// Warnings that did not stop the sync (e.g. unknown group names when allowed).
    pub warnings: Vec<String>,
}

impl SyncReport {
    /// A preview report of `plan`: what [`apply`](super::apply) would write, with
    /// nothing written.
    pub fn preview(plan: Plan) -> Self {
        Self {
            source: plan.source,
            target: plan.target,
            mode: RunMode::Preview,
            written: plan.changes,
            skipped: plan.skipped,
            failed: Vec::new(),
            unmatched: plan.unmatched,
            in_sync: plan.in_sync,
            warnings: plan.warnings,
        }
    }

    /// True when every planned change was written or deliberately skipped.
    pub fn is_success(&self) -> bool {
        self.failed.is_empty()
    }

    /// Append another report's entries (for flows that sync several channels).
    pub fn merge(&mut self, other: SyncReport) {
        self.written.extend(other.written);
        self.skipped.extend(other.skipped);
        self.failed.extend(other.failed);
        self.unmatched.extend(other.unmatched);
        self.in_sync += other.in_sync;
        self.warnings.extend(other.warnings);
    }
}

impl fmt::Display for SyncReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = if self.mode.is_preview() { "would write" } else { "written" };
        writeln!(
            f,
            "{} → {}{}: {} {verb}, {} skipped, {} failed, {} unmatched, {} already in sync",
            self.source,
            self.target,
            if self.mode.is_preview() { " (dry run)" } else { "" },
            self.written.len(),
            self.skipped.len(),
            self.failed.len(),
            self.unmatched.len(),
            self.in_sync
        )?;
        let mut rows: Vec<[String; 4]> = Vec::new();
        for c in &self.written {
            let from = c.from.as_ref().map_or("?", NativeStatus::as_str);
            rows.push([
                c.agent.label().to_owned(),
                c.channel.to_string(),
                verb.to_owned(),
                format!("{from} → {} ({})", c.to, c.reason),
            ]);
        }
        for s in &self.skipped {
            rows.push([
                s.agent.label().to_owned(),
                s.channel.to_string(),
                "skipped".into(),
                s.reason.to_string(),
            ]);
        }
        for x in &self.failed {
            rows.push([
                x.change.agent.label().to_owned(),
                x.change.channel.to_string(),
                "FAILED".into(),
                format!("→ {}: {}", x.change.to, x.error),
            ]);
        }
        for u in &self.unmatched {
            let why = match u.why {
                UnmatchedWhy::NoMatch => "no agent with this e-mail on the other side",
                UnmatchedWhy::NoEmail => "has no e-mail",
                UnmatchedWhy::DuplicateEmail => "e-mail shared by several agents",
            };
            let who = u.email.clone().unwrap_or_else(|| u.name.clone());
            rows.push([
                who,
                "-".into(),
                "unmatched".into(),
                format!("only in {} (id {}): {why}", u.provider, u.id),
            ]);
        }
        if !rows.is_empty() {
            let header = ["AGENT", "CHANNEL", "OUTCOME", "DETAIL"];
            let mut w = header.map(|h| h.chars().count());
            for r in &rows {
                for (i, c) in r.iter().enumerate().take(3) {
                    w[i] = w[i].max(c.chars().count());
                }
            }
            let line = |f: &mut fmt::Formatter<'_>, r: [&str; 4]| {
                writeln!(
                    f,
                    "  {:<a$}  {:<b$}  {:<c$}  {}",
                    r[0],
                    r[1],
                    r[2],
                    r[3],
                    a = w[0],
                    b = w[1],
                    c = w[2]
                )
            };
            line(f, header)?;
            for r in &rows {
                line(f, [&r[0], &r[1], &r[2], &r[3]])?;
            }
        }
        for warning in &self.warnings {
            writeln!(f, "warning: {warning}")?;
        }
        Ok(())
    }
}

#[cfg(all(test, feature = "aircall", feature = "zendesk"))]
mod tests;
