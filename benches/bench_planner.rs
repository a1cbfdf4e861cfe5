//! Release-mode benchmark of the planners on 100,000 agents: wall time on one thread and
//! heap use per agent, printed as one JSON line.
//!
//! Run: `cargo bench --bench bench_planner [-- --agents N --runs R --long-emails]`
//!
//! Heap is measured with a counting global allocator (`stats_alloc`) around the planning
//! call only (the rosters are built before): `bytes_allocated_per_agent` is everything the
//! planner allocated divided by the agents, `peak_live_bytes_per_agent` the most it held at
//! once (what it costs in memory, including the returned plan).

use std::alloc::System;
use std::time::Instant;

use deskbridge::mapping::{Side, StatusMap};
use deskbridge::status::{Agent, Channel, NativeStatus};
use deskbridge::sync::{OneWaySpec, plan_one_way};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn agent(i: usize, email: String, status: &str) -> Agent {
    Agent {
        id: i.to_string().into(),
        email: Some(email.into()),
        name: format!("Agent {i}").into(),
        groups: vec![],
        statuses: deskbridge::status::Statuses::from([(Channel::Voice, NativeStatus::from(status))]),
    }
}

fn main() {
    let mut agents = 100_000usize;
    let mut runs = 20usize;
    let mut long_emails = false;
    let mut args = std::env::args().skip(1).filter(|arg| arg != "--bench");
    while let Some(flag) = args.next() {
        if flag == "--long-emails" {
            long_emails = true;
            continue;
        }
        let value = args.next().and_then(|v| v.parse().ok());
        match (flag.as_str(), value) {
            ("--agents", Some(v)) => agents = v,
            ("--runs", Some(v)) => runs = v,
            _ => {
                eprintln!("usage: bench_planner [--agents N] [--runs R] [--long-emails]");
                std::process::exit(2);
            }
        }
    }
    // The default e-mails (`agent12345@example.com`, 22 bytes) fit in a `Text`'s 23 inline
    // bytes; `--long-emails` uses 40-byte ones, stored outside the agent, as most real
    // addresses are.
    let email = |i: usize, upper: bool| match (long_emails, upper) {
        (false, true) => format!("Agent{i}@Example.com"),
        (false, false) => format!("agent{i}@example.com"),
        (true, true) => format!("Firstname.Lastname{i:06}@Example-Support.com"),
        (true, false) => format!("firstname.lastname{i:06}@example-support.com"),
    };
    // 30 % out of sync; e-mails differ in case between the two sides; reversed order.
    let aircall: Vec<Agent> = (0..agents)
        .map(|i| agent(i, email(i, true), if i % 2 == 0 { "available" } else { "unavailable" }))
        .collect();
    let zendesk: Vec<Agent> = (0..agents)
        .rev()
        .map(|i| {
            let in_sync = i % 10 >= 3;
            let status = if (i % 2 == 0) == in_sync { "online" } else { "offline" };
            agent(i + 1_000_000, email(i, false), status)
        })
        .collect();
    let spec = OneWaySpec::new(StatusMap::aircall_zendesk(), Side::A);

    let mut times = Vec::with_capacity(runs);
    let mut allocated = 0usize;
    let mut peak = 0usize;
    let mut changes = 0usize;
    for run in 0..runs {
        let region = Region::new(GLOBAL);
        let start = Instant::now();
        let plan = plan_one_way("aircall", &aircall, "zendesk", &zendesk, &spec);
        let elapsed = start.elapsed();
        let stats = region.change();
        times.push(elapsed.as_secs_f64() * 1000.0);
        if run == 0 {
            allocated = stats.bytes_allocated;
            // Live at the end = the plan itself; the join's maps were freed on the way.
            peak = stats.bytes_allocated.saturating_sub(stats.bytes_deallocated).max(peak);
            changes = plan.changes.len();
        }
        drop(plan);
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    println!(
        "{{\"bench\":\"plan_one_way\",\"agents\":{agents},\"long_emails\":{long_emails},\"changes\":{changes},\"runs\":{runs},\"median_ms\":{median:.2},\"min_ms\":{:.2},\"bytes_allocated_per_agent\":{:.1},\"retained_bytes_per_agent\":{:.1}}}",
        times[0],
        allocated as f64 / agents as f64,
        peak as f64 / agents as f64
    );
}
