//! [`Schedule`]: shifts merged per agent, answering "who works when".

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::Shift;
use crate::Result;
use crate::ports::ScheduleSource;
use crate::status::Presence;

/// The form in which a schedule compares e-mails: trimmed, ASCII letters lower-cased, then
/// Unicode NFC (the rule of [`identity`](crate::identity): non-ASCII letters keep their case).
pub fn normalize_email(email: &str) -> String {
    crate::identity::fold_email(email.trim())
}

/// [`normalize_email`] without allocating when the e-mail is already normalised.
fn normalized(email: &str) -> std::borrow::Cow<'_, str> {
    let trimmed = email.trim();
    if trimmed.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) {
        std::borrow::Cow::Borrowed(trimmed)
    } else {
        std::borrow::Cow::Owned(crate::identity::fold_email(trimmed))
    }
}

/// Shifts merged per agent, with the questions the schedule → status sync asks.
///
/// Built from any list of [`Shift`]s: e-mails are normalised ([`normalize_email`]),
/// each agent's overlapping *and adjacent* shifts are merged into one (08:00–12:00 and
/// 12:00–16:00 become 08:00–16:00, so there is no status change at 12:00), and shifts
/// whose end is not after their start cover no instant and are dropped. Building is
/// order-independent and idempotent: the same shifts in any order, or the merged shifts
/// of a schedule, give an equal schedule.
///
/// Shifts are half-open: an agent is on shift from `start` (included) to `end`
/// (excluded). Every method takes the instant it asks about; nothing reads the clock.
///
/// As a [`ScheduleSource`] it returns the merged, normalised shifts overlapping the
/// requested window.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Schedule {
    /// Per normalised e-mail: merged shifts, sorted, pairwise separated by a gap.
    by_agent: BTreeMap<String, Vec<Shift>>,
    /// Every start and end of a merged shift: the instants at which someone's presence
    /// changes.
    boundaries: BTreeSet<DateTime<Utc>>,
}

impl Schedule {
    /// Build a schedule from shifts in any order.
    pub fn new(shifts: impl IntoIterator<Item = Shift>) -> Self {
        let mut grouped: BTreeMap<String, Vec<Shift>> = BTreeMap::new();
        for shift in shifts {
            if shift.end <= shift.start {
                continue;
            }
            let email = normalize_email(&shift.email);
            grouped.entry(email.clone()).or_default().push(Shift { email, ..shift });
        }
        let mut boundaries = BTreeSet::new();
        for shifts in grouped.values_mut() {
            shifts.sort_by_key(|shift| (shift.start, shift.end));
            let mut merged: Vec<Shift> = Vec::with_capacity(shifts.len());
            for shift in shifts.drain(..) {
                match merged.last_mut() {
                    Some(last) if shift.start <= last.end => last.end = last.end.max(shift.end),
                    _ => merged.push(shift),
                }
            }
            boundaries.extend(merged.iter().flat_map(|shift| [shift.start, shift.end]));
            *shifts = merged;
        }
        Self { by_agent: grouped, boundaries }
    }

    /// Whether `email` (any case, surrounding spaces ignored) is on shift at `at`:
    /// `start <= at < end` for one of their shifts.
    pub fn is_on_shift(&self, email: &str, at: DateTime<Utc>) -> bool {
        Self::covers(self.shifts_for(email), at)
    }

    /// [`Presence::Online`] when `email` is on shift at `at`, otherwise
    /// [`Presence::Offline`] (also for an agent the schedule does not know).
    pub fn presence_at(&self, email: &str, at: DateTime<Utc>) -> Presence {
        if self.is_on_shift(email, at) { Presence::Online } else { Presence::Offline }
    }

    /// The first instant strictly after `at` at which anyone's shift starts or ends;
    /// `None` when nothing changes after `at`. A sync loop sleeps until then.
    pub fn next_change_after(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.boundaries.range((Bound::Excluded(at), Bound::Unbounded)).next().copied()
    }

    /// The first instant strictly after `at` at which `email`'s presence changes.
    pub fn next_change_for(&self, email: &str, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        Self::next_boundary(self.shifts_for(email), at)
    }

    /// Register agents who are in the schedule but have no shift here (for example
    /// because only a window of shifts was loaded): they count as scheduled and off shift,
    /// not as absent from the schedule.
    pub fn with_agents<I, S>(mut self, emails: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        for email in emails {
            let email = normalize_email(email.as_ref());
            if !email.is_empty() {
                self.by_agent.entry(email).or_default();
            }
        }
        self
    }

    /// Whether `email` is in the schedule at all (with shifts or registered by
    /// [`with_agents`](Self::with_agents)).
    pub fn knows(&self, email: &str) -> bool {
        self.agent(email).is_some()
    }

    /// Every agent in the schedule (normalised e-mails, sorted).
    pub fn agents(&self) -> impl Iterator<Item = &str> + '_ {
        self.by_agent.keys().map(String::as_str)
    }

    /// The agents on shift at `at` (normalised e-mails, sorted).
    pub fn on_shift_at(&self, at: DateTime<Utc>) -> impl Iterator<Item = &str> + '_ {
        self.agents().filter(move |email| self.is_on_shift(email, at))
    }

    /// `email`'s merged shifts, sorted by start; empty for an unknown agent.
    pub fn shifts_for(&self, email: &str) -> &[Shift] {
        self.agent(email).unwrap_or(&[])
    }

    /// `email`'s merged shifts, or `None` when the schedule does not know the agent at all
    /// (one lookup, no allocation for an already-normalised e-mail).
    pub fn agent(&self, email: &str) -> Option<&[Shift]> {
        self.agent_entry(email).map(|(_, shifts)| shifts)
    }

    /// Like [`agent`](Self::agent), with the schedule's own (normalised) e-mail.
    pub fn agent_entry(&self, email: &str) -> Option<(&str, &[Shift])> {
        self.by_agent.get_key_value(normalized(email).as_ref()).map(|(k, v)| (k.as_str(), v.as_slice()))
    }

    /// Whether `shifts` (one agent's merged shifts, as [`agent`](Self::agent) returns
    /// them) cover `at`.
    pub fn covers(shifts: &[Shift], at: DateTime<Utc>) -> bool {
        let first_not_over = shifts.partition_point(|shift| shift.end <= at);
        shifts.get(first_not_over).is_some_and(|shift| shift.start <= at)
    }

    /// The next start or end in `shifts` strictly after `at`.
    pub fn next_boundary(shifts: &[Shift], at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let first_not_over = shifts.partition_point(|shift| shift.end <= at);
        shifts.get(first_not_over).map(|shift| if shift.start > at { shift.start } else { shift.end })
    }

    /// Every merged shift, by agent and then by start.
    pub fn shifts(&self) -> impl Iterator<Item = &Shift> + '_ {
        self.by_agent.values().flatten()
    }

    /// The merged shifts that overlap `[from, to)` (`start < to` and `end > from`), by
    /// agent and then by start. Empty when `to <= from`.
    pub fn shifts_overlapping(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Shift> {
        self.shifts().filter(|shift| shift.start < to && shift.end > from).cloned().collect()
    }

    /// Whether the schedule holds no shift.
    pub fn is_empty(&self) -> bool {
        self.by_agent.values().all(Vec::is_empty)
    }
}

impl FromIterator<Shift> for Schedule {
    fn from_iter<I: IntoIterator<Item = Shift>>(shifts: I) -> Self {
        Self::new(shifts)
    }
}

#[async_trait]
impl ScheduleSource for Schedule {
    async fn shifts(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Shift>> {
        Ok(self.shifts_overlapping(from, to))
    }

    async fn agents(&self) -> Result<Option<Vec<String>>> {
        Ok(Some(self.agents().map(str::to_owned).collect()))
    }
}
