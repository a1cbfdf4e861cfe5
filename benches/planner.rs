//! Planning a one-way sync of 100,000 agents (identity join, mapping, diff), and the
//! schedule-driven planner over 100,000 agents: pure CPU, no I/O.
//!
//! Run: `cargo bench --bench planner`

use chrono::{TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use deskbridge::mapping::{Side, StatusMap};
use deskbridge::schedule::{Schedule, Shift};
use deskbridge::status::{Agent, Channel, NativeStatus};
use deskbridge::sync::{OneWaySpec, ShiftSpec, plan_one_way, plan_shifts};

const AGENTS: usize = 100_000;

fn agent(i: usize, email: String, channel: Channel, status: &str) -> Agent {
    Agent {
        id: i.to_string().into(),
        email: Some(email.into()),
        name: format!("Agent {i}").into(),
        groups: vec![],
        statuses: deskbridge::status::Statuses::from([(channel, NativeStatus::from(status))]),
    }
}

/// Aircall and Zendesk rosters with 30 % of agents out of sync, e-mails differing in case.
fn rosters() -> (Vec<Agent>, Vec<Agent>) {
    let aircall = (0..AGENTS)
        .map(|i| {
            agent(
                i,
                format!("Agent{i}@Example.com"),
                Channel::Voice,
                if i % 2 == 0 { "available" } else { "unavailable" },
            )
        })
        .collect();
    let zendesk = (0..AGENTS)
        .rev()
        .map(|i| {
            let in_sync = i % 10 >= 3;
            let status = match (i % 2 == 0, in_sync) {
                (true, true) | (false, false) => "online",
                _ => "offline",
            };
            agent(i + 1_000_000, format!("agent{i}@example.com"), Channel::Voice, status)
        })
        .collect();
    (aircall, zendesk)
}

fn bench_plan(c: &mut Criterion) {
    let (aircall, zendesk) = rosters();
    let spec = OneWaySpec::new(StatusMap::aircall_zendesk(), Side::A);
    let plan = plan_one_way("aircall", &aircall, "zendesk", &zendesk, &spec);
    assert_eq!(plan.changes.len(), AGENTS * 3 / 10);
    c.bench_function("plan_one_way 100k agents (30% out of sync)", |b| {
        b.iter(|| plan_one_way("aircall", &aircall, "zendesk", &zendesk, &spec))
    });

    let day = |h| Utc.with_ymd_and_hms(2026, 11, 23, h, 0, 0).single().unwrap_or_default();
    let schedule = Schedule::new((0..AGENTS).map(|i| Shift {
        email: format!("agent{i}@example.com"),
        start: day(if i % 2 == 0 { 8 } else { 14 }),
        end: day(if i % 2 == 0 { 16 } else { 22 }),
    }));
    let usedesk: Vec<Agent> = (0..AGENTS)
        .map(|i| {
            let mut a = agent(i, format!("agent{i}@example.com"), Channel::Chat, "offline");
            a.statuses.insert(Channel::Tickets, NativeStatus::from("offline"));
            a
        })
        .collect();
    let shift_spec = ShiftSpec::usedesk();
    c.bench_function("plan_shifts 100k agents x 2 channels", |b| {
        b.iter(|| plan_shifts(&schedule, "usedesk", &usedesk, &shift_spec, day(10)))
    });
}

criterion_group!(benches, bench_plan);
criterion_main!(benches);
