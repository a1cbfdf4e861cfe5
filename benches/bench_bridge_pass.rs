//! Release-mode benchmark of the state store's share of a real bridge reconcile pass.
//!
//! ```text
//! cargo bench --bench bench_bridge_pass
//! cargo bench --bench bench_bridge_pass -- --agents 10000 --changes 30
//! cargo bench --bench bench_bridge_pass -- --write-limit-per-minute 2500
//! ```
//!
//! Seeds the Aircall and Zendesk simulators with `--agents` agents in sync, then runs the
//! continuous bridge (one-way Aircall → Zendesk) on an embedded `SqliteStore` in a fresh
//! temporary directory, wrapped in a decorator that times every store call:
//!
//! 1. **first pass**: a bridge starts on the empty store; its start-up pass lists both
//!    sides and stores every agent's state (nothing to write);
//! 2. **changed pass**: `--changes` percent of the agents change their Aircall status, and a
//!    second bridge instance starts on the same store; its pass lists both sides, stores the
//!    changed states, writes Zendesk once per changed agent, and stores each write's
//!    result. The pass is timed until every write has landed and no agent is busy.
//!
//! One JSON line per pass: wall time, the store's time (sum over its calls; the calls of
//! one pass overlap little, so this is close to its wall-time share), the share, and the
//! calls per kind. By default the clients run unpaced on loopback, so the providers' side
//! is as fast as it can ever be: a real account's round trips and rate limits only make the
//! store's share smaller. `--write-limit-per-minute N` gives Zendesk's status writes a
//! documented limit (enforced by the simulator with 429s, and the client paced to it), as
//! on a real account (Zendesk: 200 to 2,500 requests a minute by plan). Progress goes to
//! stderr. Exit code 0, 1 on failure, 2 for bad usage.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deskbridge::aircall::{AircallConfig, AircallProvider};
use deskbridge::http::RateLimit;
use deskbridge::mapping::{Side, StatusMap};
use deskbridge::ports::{StateStore, StatusProvider, WriteOp};
use deskbridge::sim::RateLimitRule;
use deskbridge::sim::aircall::{AircallAvailabilityStatus, AircallSim, AircallSimConfig, AircallUserSeed};
use deskbridge::sim::zendesk::{ZendeskAgentSeed, ZendeskGroupSeed, ZendeskSim, ZendeskSimConfig};
use deskbridge::status::Channel;
use deskbridge::store::SqliteStore;
use deskbridge::sync::{Bridge, BridgeNotice, BridgeOptions, LinkConfig, LinkMode, StatusLink};
use deskbridge::zendesk::{ZendeskAuth, ZendeskConfig, ZendeskProvider};
use serde_json::{Value, json};

const USAGE: &str = "\
Usage: bench_bridge_pass [--agents N] [--changes PCT] [--write-limit-per-minute N]

Prints one JSON line per reconcile pass (first pass on an empty store, then a pass with
PCT percent of the agents changed): wall time, the state store's time and share.

Options:
  --agents N      agents per side (default 10000)
  --changes PCT   percent of the agents whose Aircall status changes (default 30)
  --write-limit-per-minute N
                  Zendesk status writes allowed per minute (default: unlimited)";

/// Store calls by kind: (count, nanoseconds).
#[derive(Default)]
struct Timings {
    calls: [AtomicU64; KINDS.len()],
    nanos: [AtomicU64; KINDS.len()],
}

const KINDS: [&str; 8] =
    ["get", "put", "delete", "compare_and_set", "scan_prefix", "write_batch", "claims", "flush"];

impl Timings {
    fn record(&self, kind: usize, started: Instant) {
        self.calls[kind].fetch_add(1, Ordering::Relaxed);
        self.nanos[kind].fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
    }
    fn reset(&self) {
        for i in 0..KINDS.len() {
            self.calls[i].store(0, Ordering::Relaxed);
            self.nanos[i].store(0, Ordering::Relaxed);
        }
    }
    fn total_seconds(&self) -> f64 {
        self.nanos.iter().map(|n| n.load(Ordering::Relaxed)).sum::<u64>() as f64 / 1e9
    }
    fn calls_json(&self) -> Value {
        KINDS
            .iter()
            .enumerate()
            .map(|(i, kind)| (kind.to_string(), json!(self.calls[i].load(Ordering::Relaxed))))
            .collect::<serde_json::Map<_, _>>()
            .into()
    }
}

/// A store decorator that times every call of the store it wraps.
struct Timed {
    inner: SqliteStore,
    timings: Arc<Timings>,
}

#[async_trait]
impl StateStore for Timed {
    async fn get(&self, key: &str) -> deskbridge::Result<Option<Value>> {
        let started = Instant::now();
        let result = self.inner.get(key).await;
        self.timings.record(0, started);
        result
    }
    async fn put(&self, key: &str, value: Value) -> deskbridge::Result<()> {
        let started = Instant::now();
        let result = self.inner.put(key, value).await;
        self.timings.record(1, started);
        result
    }
    async fn delete(&self, key: &str) -> deskbridge::Result<()> {
        let started = Instant::now();
        let result = self.inner.delete(key).await;
        self.timings.record(2, started);
        result
    }
    async fn compare_and_set(
        &self,
        key: &str,
        expected: Option<&Value>,
        new: Option<Value>,
    ) -> deskbridge::Result<bool> {
        let started = Instant::now();
        let result = self.inner.compare_and_set(key, expected, new).await;
        self.timings.record(3, started);
        result
    }
    async fn scan_prefix(&self, prefix: &str) -> deskbridge::Result<Vec<(String, Value)>> {
        let started = Instant::now();
        let result = self.inner.scan_prefix(prefix).await;
        self.timings.record(4, started);
        result
    }
    async fn write_batch(&self, ops: Vec<WriteOp>) -> deskbridge::Result<Vec<bool>> {
        let started = Instant::now();
        let result = self.inner.write_batch(ops).await;
        self.timings.record(5, started);
        result
    }
    async fn insert_if_absent(&self, key: &str, value: Value) -> deskbridge::Result<bool> {
        let started = Instant::now();
        let result = self.inner.insert_if_absent(key, value).await;
        self.timings.record(6, started);
        result
    }
    async fn try_claim(
        &self,
        key: &str,
        owner: &str,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> deskbridge::Result<bool> {
        let started = Instant::now();
        let result = self.inner.try_claim(key, owner, ttl, now).await;
        self.timings.record(6, started);
        result
    }
    async fn release_claim(&self, key: &str, owner: &str) -> deskbridge::Result<bool> {
        let started = Instant::now();
        let result = self.inner.release_claim(key, owner).await;
        self.timings.record(6, started);
        result
    }
    async fn flush(&self) -> deskbridge::Result<()> {
        let started = Instant::now();
        let result = self.inner.flush().await;
        self.timings.record(7, started);
        result
    }
}

fn parse_args() -> Result<(usize, usize, Option<u32>), String> {
    let (mut agents, mut changes, mut limit) = (10_000, 30, None);
    let mut args = std::env::args().skip(1).filter(|arg| arg != "--bench");
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--agents" => {
                agents = value()?.parse().map_err(|_| "--agents needs a whole number".to_owned())?
            }
            "--changes" => {
                changes = value()?.parse().map_err(|_| "--changes needs a percentage".to_owned())?
            }
            "--write-limit-per-minute" => {
                limit = Some(
                    value()?
                        .parse()
                        .map_err(|_| "--write-limit-per-minute needs a whole number".to_owned())?,
                )
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if agents == 0 || changes > 100 {
        return Err("--agents must be above 0 and --changes at most 100".into());
    }
    Ok((agents, changes, limit))
}

struct Rig {
    aircall_sim: AircallSim,
    zendesk_sim: ZendeskSim,
    aircall: Arc<dyn StatusProvider>,
    zendesk: Arc<dyn StatusProvider>,
    store: Arc<dyn StateStore>,
    timings: Arc<Timings>,
}

impl Rig {
    /// Run one bridge instance until its start-up pass is over and `writes` Zendesk writes
    /// have landed with no agent busy; returns the wall time and the time and number of
    /// this benchmark's own polling scans (to take out of the store's figures).
    async fn pass(&self, instance: &str, writes: usize) -> deskbridge::Result<(Duration, Duration, u64)> {
        self.zendesk_sim.server().clear_log();
        self.timings.reset();
        let link = StatusLink::new(
            "voice",
            ("aircall", Arc::clone(&self.aircall), Channel::Voice),
            ("zendesk", Arc::clone(&self.zendesk), Channel::Voice),
            LinkConfig::new(StatusMap::aircall_zendesk(), LinkMode::OneWay { from: Side::A }),
        );
        let options = BridgeOptions::default().with_reconcile_every(Duration::from_secs(3600));
        let (passed_tx, mut passed_rx) = tokio::sync::mpsc::unbounded_channel();
        let bridge = Bridge::new(Arc::clone(&self.store), options)
            .instance_id(instance)
            .status_link(link)?
            .on_notice(move |notice| {
                if matches!(notice, BridgeNotice::Reconciled { .. }) {
                    let _ = passed_tx.send(());
                }
            });
        let handle = bridge.handle();
        let started = Instant::now();
        let task = tokio::spawn(bridge.run());
        passed_rx
            .recv()
            .await
            .ok_or_else(|| deskbridge::Error::config("the bridge stopped before its pass"))?;
        let (mut polling, mut polls) = (Duration::ZERO, 0);
        loop {
            let landed = self.zendesk_sim.server().requests().iter().filter(|r| r.is_write()).count();
            let scanning = Instant::now();
            let busy = self.store.scan_prefix("bridge/voice/busy/").await?.len();
            polling += scanning.elapsed();
            polls += 1;
            if landed >= writes && busy == 0 {
                break;
            }
            if started.elapsed() > Duration::from_secs(600) {
                return Err(deskbridge::Error::config(format!(
                    "gave up after 10 minutes: {landed} of {writes} writes landed, {busy} agents busy"
                )));
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let elapsed = started.elapsed();
        handle.shutdown();
        task.await.map_err(|e| deskbridge::Error::config(format!("bridge task: {e}")))??;
        Ok((elapsed, polling, polls))
    }
}

fn line(
    name: &str,
    agents: usize,
    changes: usize,
    limit: Option<u32>,
    measured: (Duration, Duration, u64),
    timings: &Timings,
) -> Value {
    let (wall, polling, polls) = measured;
    let wall_s = wall.as_secs_f64();
    // The benchmark's own polling scans are not the pass's.
    let store_s = timings.total_seconds() - polling.as_secs_f64();
    let mut calls = timings.calls_json();
    calls["scan_prefix"] = json!(calls["scan_prefix"].as_u64().unwrap_or(0).saturating_sub(polls));
    json!({
        "pass": name,
        "agents": agents,
        "changes": changes,
        "pass_s": round(wall_s),
        "store_s": round(store_s),
        "store_share": round(store_s / wall_s),
        "store_calls": calls,
        "write_limit_per_minute": limit,
    })
}

fn round(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

async fn bench(agents: usize, percent: usize, limit: Option<u32>) -> deskbridge::Result<()> {
    let dir =
        tempfile::tempdir().map_err(|e| deskbridge::Error::store(format!("temporary directory: {e}")))?;
    let aircall_sim = AircallSim::start(AircallSimConfig::new(AircallUserSeed::synthetic(agents))).await?;
    let groups = ZendeskGroupSeed::synthetic(10);
    let group_ids: Vec<i64> = groups.iter().map(|g| g.id).collect();
    let mut zendesk_config = ZendeskSimConfig::new(ZendeskAgentSeed::synthetic(agents, &group_ids), groups);
    if let Some(limit) = limit {
        zendesk_config = zendesk_config.rate_limit(
            RateLimitRule::per_minute(limit)
                .for_paths(["/api/v2/agent_availabilities/agent_statuses/agents/"]),
        );
    }
    let zendesk_sim = ZendeskSim::start(zendesk_config).await?;
    let aircall: Arc<dyn StatusProvider> = Arc::new(AircallProvider::from_config(
        AircallConfig::basic(AircallSimConfig::DEFAULT_API_ID, AircallSimConfig::DEFAULT_API_TOKEN)
            .with_base_url(aircall_sim.base_url().as_str())?
            .with_rate_limit(RateLimit::unlimited()),
    )?);
    let zendesk: Arc<dyn StatusProvider> = Arc::new(ZendeskProvider::from_config(
        ZendeskConfig::for_base_url(
            zendesk_sim.base_url(),
            ZendeskAuth::api_token(ZendeskSimConfig::DEFAULT_EMAIL, ZendeskSimConfig::DEFAULT_API_TOKEN),
        )
        .with_rate_limit(limit.map_or(RateLimit::unlimited(), RateLimit::per_minute)),
    )?);
    let timings = Arc::new(Timings::default());
    let store: Arc<dyn StateStore> = Arc::new(Timed {
        inner: SqliteStore::open(dir.path().join("state.sqlite3")).await?,
        timings: Arc::clone(&timings),
    });
    let rig = Rig { aircall_sim, zendesk_sim, aircall, zendesk, store, timings };

    eprintln!("first pass over {agents} agents on an empty store…");
    let measured = rig.pass("bench-1", 0).await?;
    println!("{}", line("first", agents, 0, limit, measured, &rig.timings));

    // Synthetic agent n is available (n % 3 == 1), unavailable (2) or on Automatic
    // Schedule (0, not synced): flip the first `changes` synced agents.
    let changes = agents * percent / 100;
    let mut flipped = 0;
    for n in 1..=agents {
        if flipped == changes {
            break;
        }
        let status = match n % 3 {
            1 => AircallAvailabilityStatus::Unavailable,
            2 => AircallAvailabilityStatus::Available,
            _ => continue,
        };
        rig.aircall_sim.set_availability(1000 + n as u64, status, None)?;
        flipped += 1;
    }
    eprintln!("a pass with {flipped} agents changed…");
    let measured = rig.pass("bench-2", flipped).await?;
    println!("{}", line("changed", agents, flipped, limit, measured, &rig.timings));
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let (agents, changes, limit) = match parse_args() {
        Ok(parsed) => parsed,
        Err(message) if message.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("error: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match bench(agents, changes, limit).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
