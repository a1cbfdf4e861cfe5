//! Soak benchmark of the continuous bridge: memory over a long run on the simulators.
//!
//! A one-way Aircall → Zendesk bridge (FileStore state, reconcile every minute) receives a
//! steady stream of status events for `--agents` agents while the Aircall simulator's
//! statuses flip; the bridge writes Zendesk. Every `--sample-every` seconds the process's
//! resident memory (`VmRSS`) is printed as a JSON line; at the end a summary line gives the
//! first, last, min and max samples and the growth per 1,000 events over the second half.
//! The simulators' request logs are cleared every 10 s so that only the bridge can grow.
//!
//! Run: `cargo bench --bench bench_bridge_soak -- --minutes 60`

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use deskbridge::aircall::{AircallConfig, AircallProvider};
use deskbridge::http::RateLimit;
use deskbridge::mapping::{Side, StatusMap};
use deskbridge::ports::{StateStore, StatusProvider};
use deskbridge::sim::aircall::{AircallAvailabilityStatus, AircallSim, AircallSimConfig, AircallUserSeed};
use deskbridge::sim::zendesk::{ZendeskAgentSeed, ZendeskGroupSeed, ZendeskSim, ZendeskSimConfig};
use deskbridge::status::Channel;
use deskbridge::store::FileStore;
use deskbridge::sync::{Bridge, BridgeEvent, BridgeOptions, LinkConfig, LinkMode, Origin, StatusLink};
use deskbridge::zendesk::{ZendeskAuth, ZendeskConfig, ZendeskProvider};

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

struct Options {
    minutes: u64,
    agents: usize,
    events_per_second: u64,
    sample_every: u64,
}

fn parse() -> Result<Options, String> {
    let mut o = Options { minutes: 60, agents: 200, events_per_second: 20, sample_every: 60 };
    let mut args = std::env::args().skip(1).filter(|arg| arg != "--bench");
    while let Some(flag) = args.next() {
        let mut value = || -> Result<u64, String> {
            args.next().and_then(|v| v.parse().ok()).ok_or_else(|| format!("{flag} needs a positive number"))
        };
        match flag.as_str() {
            "--minutes" => o.minutes = value()?,
            "--agents" => o.agents = value()? as usize,
            "--events-per-second" => o.events_per_second = value()?.max(1),
            "--sample-every" => o.sample_every = value()?.max(1),
            "--help" | "-h" => {
                return Err("usage: bench_bridge_soak [--minutes M] [--agents N] [--events-per-second R] [--sample-every S]".into());
            }
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if o.agents == 0 {
        return Err("--agents must be at least 1".into());
    }
    Ok(o)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let o = match parse() {
        Ok(o) => o,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    let groups = ZendeskGroupSeed::synthetic(5);
    let group_ids: Vec<i64> = groups.iter().map(|g| g.id).collect();
    let aircall_sim = AircallSim::start(AircallSimConfig::new(AircallUserSeed::synthetic(o.agents))).await?;
    let zendesk_sim =
        ZendeskSim::start(ZendeskSimConfig::new(ZendeskAgentSeed::synthetic(o.agents, &group_ids), groups))
            .await?;
    let aircall = AircallProvider::from_config(
        AircallConfig::basic(AircallSimConfig::DEFAULT_API_ID, AircallSimConfig::DEFAULT_API_TOKEN)
            .with_base_url(aircall_sim.base_url().as_str())?
            .with_rate_limit(RateLimit::unlimited()),
    )?;
    let zendesk = ZendeskProvider::from_config(
        ZendeskConfig::for_base_url(
            zendesk_sim.base_url(),
            ZendeskAuth::api_token(ZendeskSimConfig::DEFAULT_EMAIL, ZendeskSimConfig::DEFAULT_API_TOKEN),
        )
        .with_rate_limit(RateLimit::unlimited()),
    )?;
    let dir = tempfile::tempdir()?;
    let store: Arc<dyn StateStore> = Arc::new(FileStore::open(dir.path().join("state.json")).await?);
    let link = StatusLink::new(
        "voice",
        ("aircall", Arc::new(aircall) as Arc<dyn StatusProvider>, Channel::Voice),
        ("zendesk", Arc::new(zendesk) as Arc<dyn StatusProvider>, Channel::Voice),
        LinkConfig::new(StatusMap::aircall_zendesk(), LinkMode::OneWay { from: Side::A }),
    );
    let options = BridgeOptions::default().with_reconcile_every(Duration::from_secs(60));
    let bridge = Bridge::new(store, options).status_link(link)?;
    let handle = bridge.handle();
    let task = tokio::spawn(bridge.run());

    let total = Duration::from_secs(o.minutes * 60);
    let started = tokio::time::Instant::now();
    let interval = Duration::from_micros(1_000_000 / o.events_per_second);
    let mut next_sample = Duration::ZERO;
    let mut next_clear = Duration::from_secs(10);
    let mut samples: Vec<(u64, u64)> = Vec::new(); // (events, rss)
    let mut events: u64 = 0;
    let mut delivery: u64 = 0;
    while started.elapsed() < total {
        let elapsed = started.elapsed();
        if elapsed >= next_sample {
            let rss = rss_kib();
            samples.push((events, rss));
            println!("{{\"t_s\":{},\"events\":{events},\"rss_kib\":{rss}}}", elapsed.as_secs());
            next_sample += Duration::from_secs(o.sample_every);
        }
        if elapsed >= next_clear {
            aircall_sim.server().clear_log();
            zendesk_sim.server().clear_log();
            next_clear += Duration::from_secs(10);
        }
        let n = (events as usize % o.agents) + 1;
        let id = 1000 + n as u64;
        let status = if (events / o.agents as u64) % 2 == 0 {
            AircallAvailabilityStatus::Available
        } else {
            AircallAvailabilityStatus::Unavailable
        };
        aircall_sim.set_availability(id, status, None)?;
        delivery += 1;
        handle
            .send(BridgeEvent::Status {
                provider: "aircall".into(),
                agent_id: id.to_string(),
                channel: Channel::Voice,
                value: if status == AircallAvailabilityStatus::Available {
                    "available".into()
                } else {
                    "unavailable".into()
                },
                origin: Origin::Unknown,
                at: Utc::now(),
                delivery_id: Some(format!("soak-{delivery}")),
            })
            .await?;
        events += 1;
        tokio::time::sleep(interval).await;
    }
    handle.shutdown();
    task.await??;
    let rss_end = rss_kib();
    samples.push((events, rss_end));
    let half = &samples[samples.len() / 2..];
    let growth_per_1000 = match (half.first(), half.last()) {
        (Some(a), Some(b)) if b.0 > a.0 => (b.1 as f64 - a.1 as f64) / ((b.0 - a.0) as f64 / 1000.0),
        _ => 0.0,
    };
    let rss: Vec<u64> = samples.iter().map(|s| s.1).collect();
    println!(
        "{{\"summary\":true,\"minutes\":{},\"agents\":{},\"events\":{events},\"rss_first_kib\":{},\"rss_last_kib\":{rss_end},\"rss_min_kib\":{},\"rss_max_kib\":{},\"second_half_growth_kib_per_1000_events\":{growth_per_1000:.2}}}",
        o.minutes,
        o.agents,
        rss[0],
        rss.iter().min().copied().unwrap_or(0),
        rss.iter().max().copied().unwrap_or(0)
    );
    Ok(())
}
