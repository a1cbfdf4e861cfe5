//! Request economy at real latency and real limits (issue 19).
//!
//! ```text
//! cargo bench --bench bench_economy                      # 10,000 agents, time scale 10
//! cargo bench --bench bench_economy -- --scale 1         # real time (about 15 minutes)
//! cargo bench --bench bench_economy -- --agents 2000 --round-trip-ms 50 --zendesk-per-minute 700
//! ```
//!
//! Seeds the Aircall and Zendesk simulators with `--agents` agents each (10 Zendesk groups,
//! 10 Aircall teams), gives both simulators a round trip of `--round-trip-ms` and their
//! documented limits (Zendesk `--zendesk-per-minute`, default 700: Suite Enterprise;
//! Aircall `--aircall-per-minute`, default 60), paces the clients at those limits, and
//! measures, for each scenario, the requests each side received and the wall time against
//! the floor:
//!
//! - *one-shot*: `OneShot::plan` of an Aircall → Zendesk voice sync (the reads of a sync;
//!   writes are one per changed agent and are left out: every agent is in sync);
//! - *reconcile pass*: the two listings of a bridge reconcile pass
//!   (`sync::reconcile_needs` of a one-way Aircall → Zendesk link, both listed at once);
//!
//! - *steady reconcile pass*: a reconcile pass right after a full one with nothing
//!   changed (incremental: Zendesk reads the incremental user export instead of the user
//!   pages; Aircall has no change feed and lists its users again);
//! - *steady pass, status webhooks*: the same with the Zendesk side declared as sending its
//!   status changes by webhook (`StatusLink::with_status_webhooks`, listed with
//!   `sync::steady_reconcile_needs`): Zendesk reads no statuses between full passes;
//!
//! each without and with a group filter (voice include list `Group 1`). `--zendesk-only`
//! lists only the Zendesk side of the reconcile passes (cheap enough to run in real time
//! with `--scale 1`).
//!
//! The floor of one side is `requests ÷ allowed rate + serial round trips`, where the
//! serial round trips are the answers nothing can overlap: the last one, plus one per
//! listing that must wait for another's answer (Zendesk's availabilities wait for the
//! account settings; named groups' memberships wait for the groups). Both sides are read
//! at once, so a scenario's floor is the larger of the two.
//!
//! **Time scale.** A real-time run of 10,000 agents takes about 200 s per scenario (Aircall:
//! 200 pages at 60 a minute). `--scale K` (default 10) divides every duration by K
//! consistently: the round trip (50 ms → 5 ms), the simulators' windows (60 s → 6 s, same
//! request count per window) and the clients' pacing. Requests are unchanged, and so is the
//! ratio of wall time to floor up to timer granularity: Aircall's reset header is in whole
//! UNIX seconds, so near a window's end the client may wait up to 1 s (scaled) too long.
//! Printed times are multiplied back by K (real-time equivalents).

use std::time::{Duration, Instant};

use deskbridge::aircall::{AircallConfig, AircallProvider};
use deskbridge::filter::GroupFilter;
use deskbridge::http::RateLimit;
use deskbridge::mapping::{Side, StatusMap};
use deskbridge::ports::StatusProvider;
use deskbridge::sim::aircall::{AircallSim, AircallSimConfig, AircallTeamSeed, AircallUserSeed};
use deskbridge::sim::zendesk::{ZendeskAgentSeed, ZendeskGroupSeed, ZendeskSim, ZendeskSimConfig};
use deskbridge::sim::{RateLimitRule, SimServer};
use deskbridge::status::Channel;
use deskbridge::sync::{
    LinkConfig, LinkMode, OneShot, OneWaySpec, StatusLink, reconcile_needs, steady_reconcile_needs,
};
use deskbridge::zendesk::{ZendeskAuth, ZendeskConfig, ZendeskProvider};

const GROUPS: usize = 10;

#[derive(Debug, Clone, Copy)]
struct Options {
    agents: usize,
    scale: u32,
    round_trip: Duration,
    zendesk_per_minute: u32,
    aircall_per_minute: u32,
    zendesk_only: bool,
}

fn parse() -> Result<Options, String> {
    let mut options = Options {
        agents: 10_000,
        scale: 10,
        round_trip: Duration::from_millis(50),
        zendesk_per_minute: 700,
        aircall_per_minute: 60,
        zendesk_only: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        let number = |text: String| text.parse::<u64>().map_err(|_| format!("{arg}: not a number: {text}"));
        match arg.as_str() {
            "--agents" => options.agents = number(value()?)? as usize,
            "--scale" => options.scale = number(value()?)?.clamp(1, 1000) as u32,
            "--round-trip-ms" => options.round_trip = Duration::from_millis(number(value()?)?),
            "--zendesk-per-minute" => options.zendesk_per_minute = number(value()?)?.max(1) as u32,
            "--zendesk-only" => options.zendesk_only = true,
            "--aircall-per-minute" => options.aircall_per_minute = number(value()?)?.max(1) as u32,
            // `cargo bench` passes `--bench`; other harness flags are ignored too.
            other if other.starts_with("--") && !other.contains("help") => {}
            _ => {
                return Err("usage: bench_economy [--agents N] [--scale K] [--round-trip-ms MS] \
                            [--zendesk-per-minute N] [--aircall-per-minute N] [--zendesk-only]"
                    .into());
            }
        }
    }
    Ok(options)
}

struct Env {
    options: Options,
    aircall_sim: AircallSim,
    zendesk_sim: ZendeskSim,
}

impl Env {
    fn window(&self) -> Duration {
        Duration::from_secs(60) / self.options.scale
    }

    fn round_trip(&self) -> Duration {
        self.options.round_trip / self.options.scale
    }

    /// Fresh limit windows and empty logs.
    fn restart_windows(&self) {
        let window = self.window();
        self.aircall_sim
            .server()
            .set_rate_limits(vec![RateLimitRule::new(self.options.aircall_per_minute, window)]);
        self.zendesk_sim
            .server()
            .set_rate_limits(vec![RateLimitRule::new(self.options.zendesk_per_minute, window)]);
        self.aircall_sim.server().clear_log();
        self.zendesk_sim.server().clear_log();
    }

    /// Fresh limit windows, empty logs and fresh clients (no budget carried over).
    fn reset(&self) -> (AircallProvider, ZendeskProvider) {
        let window = self.window();
        self.restart_windows();
        let aircall = AircallProvider::from_config(
            AircallConfig::basic(AircallSimConfig::DEFAULT_API_ID, AircallSimConfig::DEFAULT_API_TOKEN)
                .with_base_url(self.aircall_sim.base_url().as_str())
                .expect("the simulator's URL")
                .with_rate_limit(RateLimit::every(window / self.options.aircall_per_minute)),
        )
        .expect("an Aircall client");
        let zendesk = ZendeskProvider::from_config(
            ZendeskConfig::for_base_url(
                self.zendesk_sim.base_url(),
                ZendeskAuth::api_token(ZendeskSimConfig::DEFAULT_EMAIL, ZendeskSimConfig::DEFAULT_API_TOKEN),
            )
            .with_rate_limit(RateLimit::every(window / self.options.zendesk_per_minute)),
        )
        .expect("a Zendesk client");
        (aircall, zendesk)
    }
}

async fn start(options: Options) -> deskbridge::Result<Env> {
    let groups = ZendeskGroupSeed::synthetic(GROUPS);
    let group_ids: Vec<i64> = groups.iter().map(|group| group.id).collect();
    let users = AircallUserSeed::synthetic(options.agents);
    let teams = (0..GROUPS)
        .map(|team| AircallTeamSeed {
            id: team as u64 + 1,
            name: format!("Team {}", team + 1),
            user_ids: users.iter().skip(team).step_by(GROUPS).map(|user| user.id).collect(),
        })
        .collect();
    let aircall_sim = AircallSim::start(AircallSimConfig::new(users).teams(teams)).await?;
    let zendesk_sim = ZendeskSim::start(ZendeskSimConfig::new(
        ZendeskAgentSeed::synthetic(options.agents, &group_ids),
        groups,
    ))
    .await?;
    let env = Env { options, aircall_sim, zendesk_sim };
    let round_trip = env.round_trip();
    env.aircall_sim.server().set_round_trip(round_trip);
    env.zendesk_sim.server().set_round_trip(round_trip);
    Ok(env)
}

#[derive(Debug, Clone, Copy, Default)]
struct Side429 {
    requests: usize,
    refused: usize,
}

fn count(server: &SimServer) -> Side429 {
    let log = server.requests();
    Side429 { requests: log.len(), refused: log.iter().filter(|r| r.status == Some(429)).count() }
}

struct Row {
    scenario: &'static str,
    filter: bool,
    aircall: Side429,
    zendesk: Side429,
    wall: Duration,
    floor: Duration,
    /// The Zendesk listing's own wall time (reconcile passes, where it is measured apart).
    zendesk_wall: Option<Duration>,
    zendesk_floor: Duration,
}

impl Env {
    /// One side's floor in real-time units: requests at the allowed rate, plus the round
    /// trips nothing can overlap.
    fn floor(&self, requests: usize, per_minute: u32, serial: u32) -> Duration {
        let at_rate = Duration::from_secs(60).mul_f64(requests as f64 / f64::from(per_minute));
        at_rate + self.options.round_trip * serial
    }

    fn row(&self, scenario: &'static str, filter: bool, wall: Duration) -> Row {
        let (aircall, zendesk) = (count(self.aircall_sim.server()), count(self.zendesk_sim.server()));
        // Zendesk: the last answer, the availabilities after the settings, and with a
        // filter the named groups' memberships after the groups.
        let zendesk_serial = 2 + u32::from(filter);
        let zendesk_floor = self.floor(zendesk.requests, self.options.zendesk_per_minute, zendesk_serial);
        let floor = self.floor(aircall.requests, self.options.aircall_per_minute, 1).max(zendesk_floor);
        Row {
            scenario,
            filter,
            aircall,
            zendesk,
            wall: wall * self.options.scale,
            floor,
            zendesk_wall: None,
            zendesk_floor,
        }
    }
}

fn filter(on: bool, group: &str) -> GroupFilter {
    if on { GroupFilter::default().include(Channel::Voice, [group]) } else { GroupFilter::default() }
}

async fn one_shot(env: &Env, with_filter: bool) -> deskbridge::Result<Row> {
    let (aircall, zendesk) = env.reset();
    let mut spec = OneWaySpec::new(StatusMap::aircall_zendesk(), Side::A);
    spec.filter = filter(with_filter, "Group 1");
    let sync = OneShot::new(&aircall, &zendesk, spec);
    let started = Instant::now();
    let plan = sync.plan().await?;
    let wall = started.elapsed();
    eprintln!("one-shot (filter {with_filter}): {} changes, {} in sync", plan.changes.len(), plan.in_sync);
    Ok(env.row("one-shot sync", with_filter, wall))
}

/// One reconcile pass's listings. `steady`: an incremental pass right after a full one
/// (nothing changed since; the full pass is not counted). `zendesk_only`: the Aircall side
/// is not listed (for real-time runs of the Zendesk side alone).
async fn reconcile_pass(
    env: &Env,
    with_filter: bool,
    steady: bool,
    webhooks: bool,
) -> deskbridge::Result<Row> {
    let (aircall, zendesk) = env.reset();
    let (aircall, zendesk): (std::sync::Arc<dyn StatusProvider>, std::sync::Arc<dyn StatusProvider>) =
        (std::sync::Arc::new(aircall), std::sync::Arc::new(zendesk));
    let mut link = StatusLink::new(
        "voice",
        ("aircall", aircall.clone(), Channel::Voice),
        ("zendesk", zendesk.clone(), Channel::Voice),
        LinkConfig::new(StatusMap::aircall_zendesk(), LinkMode::OneWay { from: Side::A }),
    );
    if with_filter {
        link = link.with_filter(filter(true, "Group 1"));
    }
    if webhooks {
        link = link.with_status_webhooks(Side::B);
    }
    let (a_needs, b_needs) = reconcile_needs(&link);
    let zendesk_only = env.options.zendesk_only;
    if steady {
        // The full pass before (not counted), then fresh limit windows.
        if !zendesk_only {
            aircall.list_agents_with(&a_needs).await?;
        }
        zendesk.list_agents_with(&b_needs).await?;
        env.restart_windows();
    }
    let (a_needs, b_needs) = if steady { steady_reconcile_needs(&link) } else { (a_needs, b_needs) };
    let started = Instant::now();
    let aircall_listing =
        async { if zendesk_only { Ok(Vec::new()) } else { aircall.list_agents_with(&a_needs).await } };
    let ((a, _), (b, zendesk_wall)) = futures_util::future::join(
        timed(started, aircall_listing),
        timed(started, zendesk.list_agents_with(&b_needs)),
    )
    .await;
    let wall = started.elapsed();
    eprintln!(
        "reconcile pass (filter {with_filter}, steady {steady}, webhooks {webhooks}): {} + {} agents listed",
        a?.len(),
        b?.len()
    );
    let name = match (steady, webhooks) {
        (false, _) => "reconcile pass",
        (true, false) => "steady reconcile pass",
        (true, true) => "steady pass, Zendesk status webhooks",
    };
    let mut row = env.row(name, with_filter, wall);
    row.zendesk_wall = Some(zendesk_wall * env.options.scale);
    Ok(row)
}

/// `listing`'s answer and when it came, from `started`.
async fn timed<T>(started: Instant, listing: impl std::future::Future<Output = T>) -> (T, Duration) {
    let answer = listing.await;
    (answer, started.elapsed())
}

fn main() -> std::process::ExitCode {
    let options = match parse() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return std::process::ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    match runtime.block_on(run(options)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bench_economy failed: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(options: Options) -> deskbridge::Result<()> {
    eprintln!("seeding {} agents per side, time scale {}", options.agents, options.scale);
    let env = start(options).await?;
    let mut rows = Vec::new();
    for with_filter in [false, true] {
        if !options.zendesk_only {
            rows.push(one_shot(&env, with_filter).await?);
        }
        rows.push(reconcile_pass(&env, with_filter, false, false).await?);
        rows.push(reconcile_pass(&env, with_filter, true, false).await?);
        rows.push(reconcile_pass(&env, with_filter, true, true).await?);
    }
    let minimum_aircall = options.agents.div_ceil(50);
    let minimum_zendesk = 2 * options.agents.div_ceil(100) + 1;
    println!(
        "{} agents, round trip {} ms, Zendesk {}/min, Aircall {}/min, time scale {}",
        options.agents,
        options.round_trip.as_millis(),
        options.zendesk_per_minute,
        options.aircall_per_minute,
        options.scale
    );
    println!(
        "minimum pages for the data used: Aircall {minimum_aircall}, Zendesk {minimum_zendesk} (users + availabilities + settings)"
    );
    println!(
        "| scenario | group filter | Aircall requests (429) | Zendesk requests (429) | wall | floor | wall ÷ floor | Zendesk alone: wall ÷ floor |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for row in &rows {
        println!(
            "| {} | {} | {} ({}) | {} ({}) | {:.1} s | {:.1} s | {:.2} | {} |",
            row.scenario,
            if row.filter { "yes" } else { "no" },
            row.aircall.requests,
            row.aircall.refused,
            row.zendesk.requests,
            row.zendesk.refused,
            row.wall.as_secs_f64(),
            row.floor.as_secs_f64(),
            row.wall.as_secs_f64() / row.floor.as_secs_f64(),
            row.zendesk_wall.map_or("–".to_owned(), |wall| format!(
                "{:.1} s ÷ {:.1} s = {:.2}",
                wall.as_secs_f64(),
                row.zendesk_floor.as_secs_f64(),
                wall.as_secs_f64() / row.zendesk_floor.as_secs_f64()
            )),
        );
    }
    Ok(())
}
