//! Schedule-driven status: shifts decide each agent's status per channel (the Shifton →
//! Usedesk flow, for any [`StatusProvider`](crate::ports::StatusProvider)).
//!
//! At an instant, each agent on shift should be online and each agent off shift offline,
//! per channel, subject to the [`GroupFilter`]: with Usedesk, chat status only for members
//! of the *Group chats* groups, ticket status only for members of the *Group requests*
//! groups (an empty list means everyone), nothing at all for *Do not change* members.
//! Agents not in the schedule are left alone unless
//! [`Unscheduled::SetOffline`] is chosen. Outward only: the schedule is never changed.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::filter::{FilterDecision, GroupFilter};
use crate::mapping::StatusTable;
use crate::schedule::Schedule;
use crate::status::{Agent, Channel, Presence, Text};
use crate::sync::link::SkipReason;
use crate::sync::plan::{AgentRef, Change, Plan, Skipped, Unmatched, UnmatchedWhy};

/// What to do with provider agents who have no shift in the schedule at all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Unscheduled {
    /// Leave them alone and report them as skipped (default).
    #[default]
    LeaveAlone,
    /// Set them offline like anyone off shift.
    SetOffline,
}

/// How shifts drive a provider's statuses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ShiftSpec {
    /// The channels to set (Usedesk: chat and tickets).
    pub channels: Vec<Channel>,
    /// Group filter on the provider's groups.
    pub filter: GroupFilter,
    /// The provider's status table (which native value means online / offline).
    pub table: StatusTable,
    /// Agents absent from the schedule.
    pub unscheduled: Unscheduled,
}

/// Builder methods: start from the constructor and set what differs.
impl ShiftSpec {
    /// Set [`channels`](Self::channels).
    pub fn with_channels(mut self, channels: Vec<Channel>) -> Self {
        self.channels = channels;
        self
    }

    /// Set [`filter`](Self::filter).
    pub fn with_filter(mut self, filter: GroupFilter) -> Self {
        self.filter = filter;
        self
    }

    /// Set [`table`](Self::table).
    pub fn with_table(mut self, table: StatusTable) -> Self {
        self.table = table;
        self
    }

    /// Set [`unscheduled`](Self::unscheduled).
    pub fn with_unscheduled(mut self, unscheduled: Unscheduled) -> Self {
        self.unscheduled = unscheduled;
        self
    }
}

impl ShiftSpec {
    /// Usedesk chat and ticket statuses ([`usedesk::status_table`](crate::usedesk::status_table)),
    /// no filter, unscheduled agents left alone.
    #[cfg(feature = "usedesk")]
    pub fn usedesk() -> Self {
        Self {
            channels: vec![Channel::Chat, Channel::Tickets],
            filter: GroupFilter::default(),
            table: crate::usedesk::status_table(),
            unscheduled: Unscheduled::LeaveAlone,
        }
    }
}

/// Plan the writes that make `agents` match `schedule` at `at` (pure).
pub fn plan_shifts(
    schedule: &Schedule,
    target_name: &str,
    agents: &[Agent],
    spec: &ShiftSpec,
    at: DateTime<Utc>,
) -> Plan {
    let mut plan = Plan { source: "schedule".into(), target: target_name.into(), ..Plan::default() };
    let mut matched = std::collections::HashSet::new();
    for agent in agents {
        let Some(email) = agent.email.as_deref().map(str::trim).filter(|e| !e.is_empty()) else {
            plan.unmatched.push(Unmatched {
                provider: target_name.into(),
                id: agent.id.to_string(),
                email: None,
                name: agent.name.to_string(),
                why: UnmatchedWhy::NoEmail,
            });
            continue;
        };
        let agent_ref = || AgentRef::of(agent, None);
        let entry = schedule.agent_entry(email);
        let scheduled = entry.is_some();
        let shifts = match entry {
            Some((key, shifts)) => {
                matched.insert(key);
                shifts
            }
            None => &[],
        };
        let presence = if Schedule::covers(shifts, at) { Presence::Online } else { Presence::Offline };
        for &channel in &spec.channels {
            let skip = |reason| Skipped { agent: agent_ref(), channel, reason };
            match spec.filter.decide(channel, &agent.groups) {
                FilterDecision::Allowed => {}
                FilterDecision::DoNotChange { group } => {
                    plan.skipped.push(skip(SkipReason::DoNotChange { group }));
                    continue;
                }
                FilterDecision::NotInIncludedGroups { channel } => {
                    plan.skipped.push(skip(SkipReason::NotInIncludedGroups { channel }));
                    continue;
                }
            }
            if !scheduled && spec.unscheduled == Unscheduled::LeaveAlone {
                plan.skipped.push(skip(SkipReason::NotInSchedule));
                continue;
            }
            let Some(want) = spec.table.write_rule(presence) else {
                plan.skipped.push(skip(SkipReason::NotWritable {
                    reason: format!("{} has no status for {presence}", spec.table.provider),
                }));
                continue;
            };
            let have = agent.status(channel);
            if have == Some(want) {
                plan.in_sync += 1;
                continue;
            }
            let until = Schedule::next_boundary(shifts, at)
                .map(|t| format!(" until {}", t.to_rfc3339_opts(SecondsFormat::Secs, true)))
                .unwrap_or_default();
            let reason = match (scheduled, presence) {
                (_, Presence::Online) => Text::from(format!("on shift{until}")),
                (true, _) => Text::from(format!("off shift{until}")),
                (false, _) => Text::from("not in the schedule: set offline"),
            };
            plan.changes.push(Change {
                agent: agent_ref(),
                channel,
                from: have.cloned(),
                to: want.clone(),
                reason,
            });
        }
    }
    for email in schedule.agents() {
        if !matched.contains(email) {
            plan.unmatched.push(Unmatched {
                provider: "schedule".into(),
                id: email.to_owned(),
                email: Some(email.to_owned()),
                name: email.to_owned(),
                why: UnmatchedWhy::NoMatch,
            });
        }
    }
    plan
}

/// Runs the schedule-driven flow against a provider: read the schedule and the agents,
/// validate the group filter, plan, apply. [`ShiftSync::watch`] repeats at every shift
/// boundary (or reconcile interval, whichever comes first).
pub struct ShiftSync {
    schedule: std::sync::Arc<dyn crate::ports::ScheduleSource>,
    target: std::sync::Arc<dyn crate::ports::StatusProvider>,
    spec: ShiftSpec,
    allow_unknown_groups: bool,
    options: crate::sync::ApplyOptions,
    horizon: chrono::Duration,
}

impl std::fmt::Debug for ShiftSync {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShiftSync")
            .field("target", &self.target.name())
            .field("spec", &self.spec)
            .finish_non_exhaustive()
    }
}

impl ShiftSync {
    /// Drive `target`'s statuses from `schedule` per `spec`.
    pub fn new(
        schedule: std::sync::Arc<dyn crate::ports::ScheduleSource>,
        target: std::sync::Arc<dyn crate::ports::StatusProvider>,
        spec: ShiftSpec,
    ) -> Self {
        Self {
            schedule,
            target,
            spec,
            allow_unknown_groups: false,
            options: crate::sync::ApplyOptions::default(),
            horizon: chrono::Duration::days(2),
        }
    }

    /// Report configured group names the provider does not have as warnings instead of
    /// failing before anything is written.
    pub fn allow_unknown_groups(mut self, allow: bool) -> Self {
        self.allow_unknown_groups = allow;
        self
    }

    /// How many writes run at once (the provider's client paces them).
    pub fn options(mut self, options: crate::sync::ApplyOptions) -> Self {
        self.options = options;
        self
    }

    /// How far around `at` shifts are read from the schedule source (default 2 days each
    /// way); shifts longer than this are not seen whole. Agents the source lists (see
    /// [`ScheduleSource::agents`](crate::ports::ScheduleSource::agents)) but who have no
    /// shift in the window are off shift, not "not in the schedule".
    pub fn horizon(mut self, horizon: chrono::Duration) -> Self {
        self.horizon = horizon;
        self
    }

    async fn load(&self, at: DateTime<Utc>) -> crate::Result<Schedule> {
        let (shifts, agents) = futures_util::future::try_join(
            self.schedule.shifts(at - self.horizon, at + self.horizon),
            self.schedule.agents(),
        )
        .await?;
        // Agents with no shift in the window are still in the schedule: off shift.
        Ok(Schedule::new(shifts).with_agents(agents.unwrap_or_default()))
    }

    /// Plan the statuses due at `at`, writing nothing (the preview: see
    /// [`SyncReport::preview`](crate::sync::SyncReport::preview)). Configured group names
    /// that match no provider group fail with
    /// [`Error::UnknownGroups`](crate::Error::UnknownGroups), unless allowed (then they
    /// are in [`Plan::warnings`](crate::sync::Plan::warnings)).
    pub async fn plan_at(&self, at: DateTime<Utc>) -> crate::Result<Plan> {
        let (schedule, agents) =
            futures_util::future::try_join(self.load(at), self.target.list_agents()).await?;
        let mut warnings = Vec::new();
        if !self.spec.filter.is_empty() {
            let groups = self.target.list_groups().await?;
            if let Err(e) = self.spec.filter.validate(self.target.name(), &groups) {
                if !self.allow_unknown_groups {
                    return Err(e);
                }
                warnings.push(e.to_string());
            }
        }
        let plan = plan_shifts(&schedule, self.target.name(), &agents, &self.spec, at);
        Ok(Plan { warnings, ..plan })
    }

    /// Plan the statuses due at `at` ([`plan_at`](Self::plan_at)) and apply them. Unknown
    /// group names fail before anything is written, unless allowed.
    pub async fn run_once(&self, at: DateTime<Utc>) -> crate::Result<crate::sync::SyncReport> {
        let plan = self.plan_at(at).await?;
        Ok(crate::sync::apply(plan, self.target.as_ref(), self.options).await)
    }

    /// The next instant the flow should run after `at`: the next shift boundary, or
    /// `at + reconcile_every`, whichever is first.
    pub async fn next_run_after(
        &self,
        at: DateTime<Utc>,
        reconcile_every: chrono::Duration,
    ) -> crate::Result<DateTime<Utc>> {
        let schedule = self.load(at).await?;
        let reconcile = at + reconcile_every;
        Ok(schedule.next_change_after(at).map_or(reconcile, |b| b.min(reconcile)))
    }

    /// Run at `start`, then at every shift boundary or reconcile interval, until `stop`
    /// resolves; `clock` tells the time and `on_report` receives each report. A shift's
    /// end sets the agent offline even when nothing else changed. Errors of one run are
    /// passed to `on_report` and the watch goes on.
    pub async fn watch<C, F, S>(
        &self,
        clock: C,
        reconcile_every: chrono::Duration,
        mut on_report: F,
        stop: S,
    ) -> crate::Result<()>
    where
        C: Fn() -> DateTime<Utc>,
        F: FnMut(DateTime<Utc>, crate::Result<crate::sync::SyncReport>),
        S: std::future::Future<Output = ()>,
    {
        tokio::pin!(stop);
        loop {
            let now = clock();
            on_report(now, self.run_once(now).await);
            let next = self.next_run_after(now, reconcile_every).await.unwrap_or(now + reconcile_every);
            let wait = (next - clock()).to_std().unwrap_or(std::time::Duration::ZERO);
            tokio::select! {
                _ = &mut stop => return Ok(()),
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::Shift;
    use crate::status::NativeStatus;
    use chrono::TimeZone;

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, h, 0, 0).single().unwrap()
    }

    fn agent(id: &str, email: &str, chat: &str, tickets: &str, groups: &[&str]) -> Agent {
        Agent {
            id: id.into(),
            email: Some(email.into()),
            name: id.into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            statuses: crate::status::Statuses::from([
                (Channel::Chat, NativeStatus::from(chat)),
                (Channel::Tickets, NativeStatus::from(tickets)),
            ]),
        }
    }

    fn writes(plan: &Plan) -> Vec<(String, Channel, String)> {
        plan.changes
            .iter()
            .map(|c| (c.agent.target_id.to_string(), c.channel, c.to.as_str().to_owned()))
            .collect()
    }

    #[test]
    fn shifts_drive_both_channels_through_the_group_filter() {
        let schedule = Schedule::new([
            Shift { email: "Ana@example.com".into(), start: at(8), end: at(16) },
            Shift { email: "ben@example.com".into(), start: at(12), end: at(20) },
            Shift { email: "cy@example.com".into(), start: at(8), end: at(16) },
            Shift { email: "ghost@example.com".into(), start: at(8), end: at(16) },
        ]);
        let agents = vec![
            agent("1", "ana@example.com", "offline", "offline", &["Chat team"]),
            agent("2", "ben@example.com", "online", "online", &["Chat team", "Mail team"]),
            agent("3", "cy@example.com", "offline", "offline", &["Managers", "Chat team"]),
            agent("4", "dee@example.com", "online", "online", &["Mail team"]),
        ];
        let mut spec = ShiftSpec::usedesk();
        spec.filter = GroupFilter::default()
            .include(Channel::Chat, ["Chat team"])
            .include(Channel::Tickets, ["Mail team"])
            .do_not_change(["Managers"]);
        let plan = plan_shifts(&schedule, "usedesk", &agents, &spec, at(9));
        assert_eq!(
            writes(&plan),
            vec![
                ("1".into(), Channel::Chat, "online".into()),
                ("2".into(), Channel::Chat, "offline".into()),
                ("2".into(), Channel::Tickets, "offline".into())
            ]
        );
        assert!(
            plan.changes[0].reason.starts_with("on shift until 2026-11-23T16:00:00Z"),
            "{}",
            plan.changes[0].reason
        );
        assert!(plan.changes[1].reason.starts_with("off shift until 2026-11-23T12:00:00Z"));
        let skipped: Vec<(&str, Channel, &SkipReason)> =
            plan.skipped.iter().map(|s| (s.agent.target_id.as_str(), s.channel, &s.reason)).collect();
        assert!(skipped.contains(&(
            "1",
            Channel::Tickets,
            &SkipReason::NotInIncludedGroups { channel: Channel::Tickets }
        )));
        assert!(skipped.contains(&(
            "3",
            Channel::Chat,
            &SkipReason::DoNotChange { group: "Managers".into() }
        )));
        assert!(skipped.contains(&(
            "4",
            Channel::Chat,
            &SkipReason::NotInIncludedGroups { channel: Channel::Chat }
        )));
        assert!(skipped.contains(&("4", Channel::Tickets, &SkipReason::NotInSchedule)));
        assert_eq!(plan.unmatched.len(), 1);
        assert_eq!(plan.unmatched[0].email.as_deref(), Some("ghost@example.com"));
        // At the end of Ana's shift she goes offline even though nothing else changed.
        let mut agents = agents;
        agents[0].statuses.insert(Channel::Chat, "online".into());
        let plan = plan_shifts(&schedule, "usedesk", &agents, &spec, at(16));
        assert!(writes(&plan).contains(&("1".into(), Channel::Chat, "offline".into())));
    }

    #[tokio::test]
    async fn an_agent_with_no_shift_near_now_is_off_shift_not_unscheduled() {
        use crate::status::NativeStatus;
        // Ana's only shift is a week away: outside the 2-day window ShiftSync reads.
        let schedule = Schedule::new([Shift {
            email: "ana@example.com".into(),
            start: at(8) + chrono::Duration::days(7),
            end: at(16) + chrono::Duration::days(7),
        }]);
        struct One(Vec<Agent>);
        #[async_trait::async_trait]
        impl crate::ports::StatusProvider for One {
            fn name(&self) -> &'static str {
                "usedesk"
            }
            async fn list_agents(&self) -> crate::Result<Vec<Agent>> {
                Ok(self.0.clone())
            }
            async fn list_groups(&self) -> crate::Result<Vec<crate::status::Group>> {
                Ok(vec![])
            }
            async fn set_status(&self, _: &str, _: Channel, _: &NativeStatus) -> crate::Result<()> {
                Ok(())
            }
        }
        let target = std::sync::Arc::new(One(vec![agent("1", "ana@example.com", "online", "online", &[])]));
        let sync = ShiftSync::new(std::sync::Arc::new(schedule), target, ShiftSpec::usedesk());
        let plan = sync.plan_at(at(10)).await.unwrap();
        let writes: Vec<(Channel, &str)> = plan.changes.iter().map(|c| (c.channel, c.to.as_str())).collect();
        assert_eq!(writes, vec![(Channel::Chat, "offline"), (Channel::Tickets, "offline")]);
        assert!(plan.unmatched.is_empty());
    }

    #[test]
    fn unscheduled_agents_can_be_set_offline() {
        let schedule = Schedule::new([Shift { email: "ana@example.com".into(), start: at(8), end: at(16) }]);
        let agents = vec![agent("4", "dee@example.com", "online", "offline", &[])];
        let mut spec = ShiftSpec::usedesk();
        spec.unscheduled = Unscheduled::SetOffline;
        let plan = plan_shifts(&schedule, "usedesk", &agents, &spec, at(9));
        assert_eq!(writes(&plan), vec![("4".into(), Channel::Chat, "offline".into())]);
        assert_eq!(plan.in_sync, 1);
        assert_eq!(plan.changes[0].reason, "not in the schedule: set offline");
    }
}
