//! deskbridge's side of the peer benchmark (`benches/peers/`, see its README): against a
//! Zendesk base URL (normally the standalone simulator of `examples/sim_server.rs`),
//!
//! 1. list every agent and admin (`GET /api/v2/users?role[]=agent&role[]=admin`, cursor
//!    pages of 100) and every group membership (`GET /api/v2/group_memberships`), both
//!    listings running at once, and join them (agent → group ids);
//! 2. set the Talk availability (`PUT /api/v2/channels/voice/availabilities/{id}`,
//!    `agent_state` online/offline alternating) of the first `--writes` agents, at most
//!    `--concurrency` at a time, through the client's rate limiter;
//!
//! and print ONE JSON line: wall times (list, write, total), requests sent (counted by a
//! wrapping `Transport`: every attempt, retries included), agents and memberships listed,
//! writes ok/failed, and the peak RSS (`VmHWM`).
//!
//! ```text
//! cargo run --release --example bench_zendesk_peers -- --base-url http://127.0.0.1:41234/ \
//!     --email admin@example.com --api-token sim-zendesk-token --expect-agents 10000
//! ```
//!
//! Exit codes: 0 when everything listed and every write succeeded; 1 when a listing failed,
//! fewer agents than `--expect-agents` came back, or a write failed; 2 for bad usage.
//! Flags fall back to `ZENDESK_BASE_URL`, `ZENDESK_EMAIL`, `ZENDESK_API_TOKEN`.

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use async_trait::async_trait;
use deskbridge::http::{
    ApiClient, Auth, HttpRequest, HttpResponse, RateLimit, RateLimitHeaders, ReqwestTransport, Transport,
    TransportError,
};
use deskbridge::zendesk::ZendeskErrorInterpreter;
use deskbridge::zendesk::{CustomStatusReading, ModeSetting, TalkState, ZendeskClient};
use futures_util::stream::{self, StreamExt};
use serde_json::json;
use url::Url;

const HELP: &str = "\
bench_zendesk_peers: list Zendesk agents with their group memberships, then set the Talk
availability of some of them; print one JSON line of figures

USAGE:
    bench_zendesk_peers [OPTIONS]

OPTIONS:
    --base-url URL          everything before /api/v2 [env: ZENDESK_BASE_URL]
    --email EMAIL           API-token user [env: ZENDESK_EMAIL]
    --api-token TOKEN       API token [env: ZENDESK_API_TOKEN]
    --writes N              Talk availability writes [default: 3000]
    --concurrency N         writes in flight at once [default: 8]
    --state S               alternate | online | offline [default: alternate]
    --pace-per-minute N     client-side pacing; 0 = none (the server's headers and 429s
                            still slow it down) [default: 0]
    --expect-agents N       fail (exit 1) when fewer agents are listed
    --list-only             skip the writes
    -h, --help              this text
";

#[derive(Debug)]
struct Options {
    base_url: Url,
    email: String,
    api_token: String,
    writes: usize,
    concurrency: usize,
    state: StateChoice,
    pace_per_minute: u32,
    expect_agents: Option<usize>,
    list_only: bool,
}

#[derive(Debug, Clone, Copy)]
enum StateChoice {
    Alternate,
    Fixed(TalkState),
}

impl StateChoice {
    fn for_index(self, index: usize) -> TalkState {
        match self {
            Self::Alternate if index % 2 == 0 => TalkState::Online,
            Self::Alternate => TalkState::Offline,
            Self::Fixed(state) => state,
        }
    }
}

enum Parsed {
    Run(Box<Options>),
    Help,
}

fn parse_number<T: std::str::FromStr>(flag: &str, value: Option<String>) -> Result<T, String> {
    let value = value.ok_or_else(|| format!("{flag} needs a value"))?;
    value.trim().parse::<T>().map_err(|_| format!("{flag}: `{value}` is not a valid number"))
}

fn parse_args(
    args: impl IntoIterator<Item = String>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Parsed, String> {
    let mut base_url = env("ZENDESK_BASE_URL");
    let mut email = env("ZENDESK_EMAIL");
    let mut api_token = env("ZENDESK_API_TOKEN");
    let mut writes = 3000;
    let mut concurrency = 8;
    let mut state = StateChoice::Alternate;
    let mut pace_per_minute = 0;
    let mut expect_agents = None;
    let mut list_only = false;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(Parsed::Help),
            "--base-url" => base_url = Some(args.next().ok_or("--base-url needs a value")?),
            "--email" => email = Some(args.next().ok_or("--email needs a value")?),
            "--api-token" => api_token = Some(args.next().ok_or("--api-token needs a value")?),
            "--writes" => writes = parse_number("--writes", args.next())?,
            "--concurrency" => concurrency = parse_number("--concurrency", args.next())?,
            "--pace-per-minute" => pace_per_minute = parse_number("--pace-per-minute", args.next())?,
            "--expect-agents" => expect_agents = Some(parse_number("--expect-agents", args.next())?),
            "--list-only" => list_only = true,
            "--state" => {
                state = match args.next().as_deref() {
                    Some("alternate") => StateChoice::Alternate,
                    Some(name) => match TalkState::from_name(name) {
                        Some(talk) => StateChoice::Fixed(talk),
                        None => return Err(format!("--state: unknown state `{name}`")),
                    },
                    None => return Err("--state needs a value".into()),
                }
            }
            other => return Err(format!("unknown argument `{other}` (see --help)")),
        }
    }
    if concurrency == 0 {
        return Err("--concurrency must be at least 1".into());
    }
    let base_url = base_url.ok_or("--base-url (or ZENDESK_BASE_URL) is required")?;
    let base_url = Url::parse(&base_url).map_err(|error| format!("--base-url `{base_url}`: {error}"))?;
    let email = email.ok_or("--email (or ZENDESK_EMAIL) is required")?;
    let api_token = api_token.ok_or("--api-token (or ZENDESK_API_TOKEN) is required")?;
    Ok(Parsed::Run(Box::new(Options {
        base_url,
        email,
        api_token,
        writes,
        concurrency,
        state,
        pace_per_minute,
        expect_agents,
        list_only,
    })))
}

/// A transport that counts every attempt it sends, then hands it to reqwest.
struct CountingTransport {
    inner: ReqwestTransport,
    sent: AtomicU64,
}

#[async_trait]
impl Transport for CountingTransport {
    async fn execute(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        self.sent.fetch_add(1, Ordering::Relaxed);
        self.inner.execute(request).await
    }
}

/// Peak resident set size of this process in KiB (`VmHWM`), when /proc tells.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn millis(since: Instant) -> f64 {
    (since.elapsed().as_secs_f64() * 1000.0 * 10.0).round() / 10.0
}

async fn run(options: Options) -> Result<(serde_json::Value, bool), String> {
    let transport = Arc::new(CountingTransport {
        inner: ReqwestTransport::new().map_err(|e| e.to_string())?,
        sent: AtomicU64::new(0),
    });
    let api = ApiClient::builder("zendesk", options.base_url.clone())
        .auth(Auth::basic(format!("{}/token", options.email), options.api_token.clone()))
        .rate_limit(RateLimit::per_minute(options.pace_per_minute))
        .rate_limit_headers(RateLimitHeaders::zendesk())
        .error_interpreter(ZendeskErrorInterpreter)
        .transport(transport.clone())
        .build()
        .map_err(|error| error.to_string())?;
    let client = ZendeskClient::from_api_client(api, ModeSetting::Auto, CustomStatusReading::ByName);

    let started = Instant::now();
    let (agents, memberships) = tokio::join!(client.list_agents(), client.list_group_memberships());
    let list_error = match (&agents, &memberships) {
        (Err(error), _) | (_, Err(error)) => Some(error.to_string()),
        _ => None,
    };
    let agents = agents.unwrap_or_default();
    let memberships = memberships.unwrap_or_default();
    let mut groups_of: HashMap<i64, Vec<i64>> = agents.iter().map(|agent| (agent.id, Vec::new())).collect();
    let mut memberships_joined = 0usize;
    for membership in &memberships {
        if let Some(groups) = groups_of.get_mut(&membership.user_id) {
            groups.push(membership.group_id);
            memberships_joined += 1;
        }
    }
    let list_ms = millis(started);
    let list_requests = transport.sent.load(Ordering::Relaxed);

    let write_started = Instant::now();
    let mut writes_ok = 0usize;
    let mut writes_failed = 0usize;
    let mut first_write_error = None;
    if !options.list_only && list_error.is_none() {
        let targets: Vec<(usize, i64)> =
            agents.iter().take(options.writes).map(|agent| agent.id).enumerate().collect();
        let state = options.state;
        let mut results = stream::iter(targets)
            .map(|(index, agent_id)| {
                let client = client.clone();
                async move { client.set_talk_state(agent_id, state.for_index(index)).await }
            })
            .buffer_unordered(options.concurrency);
        while let Some(result) = results.next().await {
            match result {
                Ok(_) => writes_ok += 1,
                Err(error) => {
                    writes_failed += 1;
                    first_write_error.get_or_insert_with(|| error.to_string());
                }
            }
        }
    }
    let write_ms = millis(write_started);
    let total_ms = millis(started);
    let requests = transport.sent.load(Ordering::Relaxed);

    let short = options.expect_agents.is_some_and(|expected| agents.len() < expected);
    let outcome = if list_error.is_some() {
        "error"
    } else if short {
        "truncated"
    } else {
        "complete"
    };
    let failed = list_error.is_some() || short || writes_failed > 0;
    let report = json!({
        "client": "deskbridge",
        "version": env!("CARGO_PKG_VERSION"),
        "outcome": outcome,
        "error": list_error.or(first_write_error),
        "list_ms": list_ms,
        "write_ms": write_ms,
        "total_ms": total_ms,
        "requests": requests,
        "list_requests": list_requests,
        "write_requests": requests - list_requests,
        "agents": agents.len(),
        "memberships": memberships.len(),
        "memberships_joined": memberships_joined,
        "agents_with_groups": groups_of.values().filter(|groups| !groups.is_empty()).count(),
        "writes_ok": writes_ok,
        "writes_failed": writes_failed,
        "concurrency": options.concurrency,
        "peak_rss_kib": peak_rss_kib(),
    });
    Ok((report, failed))
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1), |name| {
        std::env::var(name).ok().filter(|value| !value.trim().is_empty())
    }) {
        Ok(Parsed::Run(options)) => *options,
        Ok(Parsed::Help) => {
            print!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("bench_zendesk_peers: {message}");
            return ExitCode::from(2);
        }
    };
    let expect = options.expect_agents;
    match run(options).await {
        Ok((report, failed)) => {
            println!("{report}");
            if failed {
                eprintln!(
                    "bench_zendesk_peers: FAILED (outcome {}, expected {} agents, listed {}, writes failed {})",
                    report["outcome"],
                    expect.map_or_else(|| "?".to_owned(), |n| n.to_string()),
                    report["agents"],
                    report["writes_failed"],
                );
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(message) => {
            eprintln!("bench_zendesk_peers: {message}");
            ExitCode::from(2)
        }
    }
}
