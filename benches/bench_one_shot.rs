//! Release-mode benchmark of a one-shot Aircall → Zendesk sync on the simulators.
//!
//! ```text
//! cargo bench --bench bench_one_shot
//! cargo bench --bench bench_one_shot -- --agents 10000 --out-of-sync 30 --concurrency 16
//! ```
//!
//! Seeds both simulators with the synthetic rosters (`agent{n}@example.com` on both
//! sides), puts `--out-of-sync` percent of the agents out of sync (Aircall and Zendesk
//! disagree), syncs Aircall → Zendesk once, then a second time, and prints one JSON line:
//! wall time (total and per phase: read, plan, apply), requests per provider (reads and
//! writes, from the simulators' request logs), the writes made versus the minimum needed
//! (the out-of-sync agents), and the second run's requests (it should only read). Progress
//! goes to stderr. The clients run unpaced (the simulators enforce no limit), so the
//! figures measure the library and the loopback HTTP stack, not a provider's rate limit.
//!
//! Exit code: 0, 1 when the sync failed or wrote something other than the minimum, 2 for
//! bad usage.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use deskbridge::aircall::{AircallConfig, AircallProvider};
use deskbridge::http::RateLimit;
use deskbridge::mapping::{Side, StatusMap};
use deskbridge::ports::StatusProvider;
use deskbridge::sim::aircall::{AircallAvailabilityStatus, AircallSim, AircallSimConfig, AircallUserSeed};
use deskbridge::sim::zendesk::{ZendeskAgentSeed, ZendeskGroupSeed, ZendeskSim, ZendeskSimConfig};
use deskbridge::sim::{RateLimitRule, SimServer};
use deskbridge::sync::{ApplyOptions, OneWaySpec, SyncReport, apply, plan_one_way};
use deskbridge::zendesk::{ZendeskAuth, ZendeskConfig, ZendeskProvider};
use serde_json::json;

const USAGE: &str = "\
Usage: bench_one_shot [--agents N] [--out-of-sync PCT] [--concurrency N] [--write-limit-per-minute N]

One-shot Aircall -> Zendesk sync on the simulators; prints one JSON line of figures.

Options:
  --agents N          agents on each side (default 10000)
  --out-of-sync PCT   percentage of agents whose statuses disagree, 0-100 (default 30)
  --concurrency N     writes in flight at once (default 16)
  --write-limit-per-minute N
                      the Zendesk simulator allows N status writes a minute (answering 429
                      with Zendesk's headers beyond it) and the client is paced at N a minute
  -h, --help          show this help
";

#[derive(Debug, Clone, Copy)]
struct Options {
    agents: usize,
    out_of_sync_percent: u32,
    concurrency: usize,
    write_limit_per_minute: Option<u32>,
}

enum Command {
    Run(Options),
    Help,
}

fn parse_args<I: IntoIterator<Item = String>>(args: I) -> Result<Command, String> {
    let mut options =
        Options { agents: 10_000, out_of_sync_percent: 30, concurrency: 16, write_limit_per_minute: None };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag.to_owned(), Some(value.to_owned())),
            _ => (arg.clone(), None),
        };
        if matches!(flag.as_str(), "-h" | "--help") && inline.is_none() {
            return Ok(Command::Help);
        }
        let mut value = |name: &str| -> Result<String, String> {
            match inline.clone() {
                Some(value) => Ok(value),
                None => args.next().ok_or_else(|| format!("{name} needs a value")),
            }
        };
        let number = |name: &str, text: String| -> Result<usize, String> {
            text.trim().parse::<usize>().map_err(|_| format!("{name}: \"{text}\" is not a whole number"))
        };
        match flag.as_str() {
            "--agents" => {
                options.agents = number("--agents", value("--agents")?)?;
                if options.agents == 0 {
                    return Err("--agents must be at least 1".into());
                }
            }
            "--out-of-sync" => {
                let percent = number("--out-of-sync", value("--out-of-sync")?)?;
                if percent > 100 {
                    return Err("--out-of-sync is a percentage, 0 to 100".into());
                }
                options.out_of_sync_percent = percent as u32;
            }
            "--write-limit-per-minute" => {
                let limit: usize = number("--write-limit-per-minute", value("--write-limit-per-minute")?)?;
                let limit =
                    u32::try_from(limit).map_err(|_| "--write-limit-per-minute is too large".to_owned())?;
                if limit == 0 {
                    return Err("--write-limit-per-minute must be at least 1".into());
                }
                options.write_limit_per_minute = Some(limit);
            }
            "--concurrency" => {
                options.concurrency = number("--concurrency", value("--concurrency")?)?;
                if options.concurrency == 0 {
                    return Err("--concurrency must be at least 1".into());
                }
            }
            _ => return Err(format!("unknown argument \"{arg}\"")),
        }
    }
    Ok(Command::Run(options))
}

/// Whether agent `index` (0-based) of `total` is one of the `out` out-of-sync agents,
/// spread evenly (exactly `out` of them).
fn is_out_of_sync(index: usize, total: usize, out: usize) -> bool {
    (index * out) / total != ((index + 1) * out) / total
}

/// The synthetic seeds with `out` agents out of sync. The synthetic rosters agree (or
/// Aircall is on Automatic Schedule, which is skipped); an out-of-sync agent gets an
/// explicit Aircall status and the opposite Zendesk status.
fn seeds(total: usize, out: usize) -> (Vec<AircallUserSeed>, Vec<ZendeskAgentSeed>, Vec<ZendeskGroupSeed>) {
    let groups = ZendeskGroupSeed::synthetic(10);
    let group_ids: Vec<i64> = groups.iter().map(|group| group.id).collect();
    let mut aircall = AircallUserSeed::synthetic(total);
    let mut zendesk = ZendeskAgentSeed::synthetic(total, &group_ids);
    for index in 0..total {
        if !is_out_of_sync(index, total, out) {
            continue;
        }
        let (aircall_status, zendesk_status, talk) = if index % 2 == 0 {
            (AircallAvailabilityStatus::Available, 2, "offline")
        } else {
            (AircallAvailabilityStatus::Unavailable, 3, "online")
        };
        aircall[index].availability_status = aircall_status;
        zendesk[index].status_id = zendesk_status;
        zendesk[index].talk_state = talk.to_owned();
    }
    (aircall, zendesk, groups)
}

#[derive(Debug, Default, Clone, Copy)]
struct Requests {
    reads: usize,
    writes: usize,
}

fn requests(server: &SimServer) -> Requests {
    let log = server.requests();
    let writes = log.iter().filter(|request| request.is_write()).count();
    Requests { reads: log.len() - writes, writes }
}

/// Await `read`, returning its value and how long it took.
async fn timed<T>(
    read: impl std::future::Future<Output = deskbridge::Result<T>>,
) -> deskbridge::Result<(T, Duration)> {
    let started = Instant::now();
    read.await.map(|value| (value, started.elapsed()))
}

struct Run {
    report: SyncReport,
    read: Duration,
    read_aircall: Duration,
    read_zendesk: Duration,
    plan: Duration,
    apply: Duration,
    total: Duration,
}

async fn run_once(
    aircall: &AircallProvider,
    zendesk: &ZendeskProvider,
    spec: &OneWaySpec,
    options: ApplyOptions,
) -> deskbridge::Result<Run> {
    let started = Instant::now();
    // Both sides are read concurrently, as `OneShot` does; each is timed on its own too.
    let ((source, read_aircall), (target, read_zendesk)) =
        futures_util::future::try_join(timed(aircall.list_agents()), timed(zendesk.list_agents())).await?;
    let read = started.elapsed();
    let planning = Instant::now();
    let plan = plan_one_way(aircall.name(), &source, zendesk.name(), &target, spec);
    let plan_time = planning.elapsed();
    let applying = Instant::now();
    let report = apply(plan, zendesk, options).await;
    let apply_time = applying.elapsed();
    Ok(Run {
        report,
        read,
        read_aircall,
        read_zendesk,
        plan: plan_time,
        apply: apply_time,
        total: started.elapsed(),
    })
}

fn millis(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 1000.0 * 10.0).round() / 10.0
}

async fn bench(options: Options) -> deskbridge::Result<bool> {
    let out = options.agents * options.out_of_sync_percent as usize / 100;
    let (aircall_seed, zendesk_seed, groups) = seeds(options.agents, out);
    eprintln!(
        "seeding {} agents per side, {} out of sync, concurrency {}",
        options.agents, out, options.concurrency
    );
    let aircall_sim = AircallSim::start(AircallSimConfig::new(aircall_seed)).await?;
    let mut zendesk_config = ZendeskSimConfig::new(zendesk_seed, groups);
    if let Some(limit) = options.write_limit_per_minute {
        zendesk_config = zendesk_config.rate_limit(
            RateLimitRule::per_minute(limit)
                .for_paths(["/api/v2/agent_availabilities/agent_statuses/agents/"]),
        );
    }
    let zendesk_sim = ZendeskSim::start(zendesk_config).await?;
    let zendesk_pace = options.write_limit_per_minute.map_or(RateLimit::unlimited(), RateLimit::per_minute);
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
        .with_rate_limit(zendesk_pace),
    )?;
    let spec = OneWaySpec::new(StatusMap::aircall_zendesk(), Side::A);
    let apply_options = ApplyOptions::default().with_concurrency(options.concurrency);

    eprintln!("first run…");
    let first = run_once(&aircall, &zendesk, &spec, apply_options).await?;
    let first_aircall = requests(aircall_sim.server());
    let first_zendesk = requests(zendesk_sim.server());
    let first_429 = zendesk_sim.server().requests().iter().filter(|r| r.status == Some(429)).count();
    aircall_sim.server().clear_log();
    zendesk_sim.server().clear_log();

    eprintln!("second run…");
    let second = run_once(&aircall, &zendesk, &spec, apply_options).await?;
    let second_aircall = requests(aircall_sim.server());
    let second_zendesk = requests(zendesk_sim.server());

    let written = first.report.written.len();
    let ok = first.report.is_success()
        && second.report.is_success()
        && written == out
        && second.report.written.is_empty()
        && second_aircall.writes + second_zendesk.writes == 0;
    let figures = json!({
        "bench": if options.write_limit_per_minute.is_some() {
            "one_shot aircall_to_zendesk (simulators, Zendesk writes rate-limited)"
        } else {
            "one_shot aircall_to_zendesk (simulators, unpaced clients)"
        },
        "write_limit_per_minute": options.write_limit_per_minute,
        "agents": options.agents,
        "out_of_sync": out,
        "concurrency": options.concurrency,
        "first_run": {
            "wall_ms": {
                "total": millis(first.total),
                "read": millis(first.read),
                "read_aircall": millis(first.read_aircall),
                "read_zendesk": millis(first.read_zendesk),
                "plan": millis(first.plan),
                "apply": millis(first.apply),
            },
            "requests": {
                "aircall": { "reads": first_aircall.reads, "writes": first_aircall.writes },
                "zendesk": { "reads": first_zendesk.reads, "writes": first_zendesk.writes },
            },
            "writes": written,
            "minimum_writes": out,
            "zendesk_429s": first_429,
            "write_rate_per_minute": if first.apply.is_zero() { 0.0 } else { (written as f64 / first.apply.as_secs_f64() * 60.0).round() },
            "skipped": first.report.skipped.len(),
            "failed": first.report.failed.len(),
            "unmatched": first.report.unmatched.len(),
            "in_sync": first.report.in_sync,
        },
        "second_run": {
            "wall_ms": {
                "total": millis(second.total),
                "read": millis(second.read),
                "read_aircall": millis(second.read_aircall),
                "read_zendesk": millis(second.read_zendesk),
                "plan": millis(second.plan),
                "apply": millis(second.apply),
            },
            "requests": {
                "aircall": { "reads": second_aircall.reads, "writes": second_aircall.writes },
                "zendesk": { "reads": second_zendesk.reads, "writes": second_zendesk.writes },
            },
            "writes": second.report.written.len(),
            "failed": second.report.failed.len(),
        },
    });
    println!("{figures}");
    aircall_sim.shutdown().await;
    zendesk_sim.shutdown().await;
    Ok(ok)
}

fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1).filter(|arg| arg != "--bench")) {
        Ok(Command::Run(options)) => options,
        Ok(Command::Help) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("error: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if cfg!(debug_assertions) {
        eprintln!("warning: built without optimisations; use `cargo bench --bench bench_one_shot`");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(bench(options)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!(
                "error: the sync failed or did not write exactly the out-of-sync agents (see the figures)"
            );
            ExitCode::from(1)
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(1)
        }
    }
}
