//! Run a provider simulator as a standalone process, so clients written in other languages
//! (and deskbridge's own benchmarks, in another process) talk to the same local server.
//!
//! ```text
//! cargo run --release --example sim_server -- --agents 10000 --groups 20
//! ```
//!
//! When the simulator is ready, ONE JSON line goes to stdout:
//!
//! ```text
//! {"base_url":"http://127.0.0.1:41234/","email":"admin@example.com","api_token":"sim-zendesk-token",
//!  "control_url":"http://127.0.0.1:41235/"}
//! ```
//!
//! The process then serves until it is killed (or for `--for SECONDS`). The simulator's
//! API port is always ephemeral (the framework binds port 0); `--control-port` chooses the
//! control port. The control server (same loopback interface, no authentication) answers:
//!
//! - `GET /requests`: the request log summarised as JSON: `total`, `by_status` (`"200": n`),
//!   `by_route` (`"GET /api/v2/users": n`, numeric path segments shown as `{id}`, the
//!   `.json` suffix dropped) and `timeline` (`[ms since the first request, route, status]`
//!   per request);
//! - `POST /reset`: forget the request log;
//! - `POST /rate-limit?limit=N&window_ms=M`: replace the rate limits with one rule of `N`
//!   requests per `M` ms over every path (`limit=0`: no limit). Refused requests are
//!   answered with Zendesk's 429, `Retry-After` and `X-Rate-Limit*` headers.
//!
//! Only the Zendesk simulator is offered (`--provider zendesk`); agents, groups and
//! memberships come from `ZendeskAgentSeed::synthetic` / `ZendeskGroupSeed::synthetic`
//! (one membership per agent). Omnichannel routing is off by default so the Talk
//! availability API is writable.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use deskbridge::sim::RateLimitRule;
use deskbridge::sim::zendesk::{ZendeskAgentSeed, ZendeskGroupSeed, ZendeskSim, ZendeskSimConfig};
use serde::Deserialize;
use serde_json::json;

const HELP: &str = "\
sim_server: run a provider simulator as a standalone process on 127.0.0.1

USAGE:
    sim_server [OPTIONS]

OPTIONS:
    --provider NAME              zendesk (the only one offered) [default: zendesk]
    --agents N                   synthetic agents [default: 10000]
    --groups N                   synthetic groups; each agent joins one [default: 20]
    --omnichannel on|off         omnichannel routing (off: the Talk API is writable) [default: off]
    --rate-limit-per-minute N    enforce N requests per minute over every path [default: none]
    --rate-limit N               enforce N requests per --rate-window-ms window
    --rate-window-ms MS          window of --rate-limit [default: 1000]
    --control-port P             port of the control server (0: ephemeral) [default: 0]
    --for SECONDS                stop after this long [default: serve until killed]
    -h, --help                   this text

Prints one JSON line {base_url, email, api_token, control_url} when ready.
Control: GET /requests, POST /reset, POST /rate-limit?limit=N&window_ms=M.
";

#[derive(Debug)]
struct Options {
    agents: usize,
    groups: usize,
    omnichannel: bool,
    rate_limit: Option<RateLimitRule>,
    control_port: u16,
    serve_for: Option<Duration>,
}

enum Parsed {
    Run(Options),
    Help,
}

fn parse_number<T: std::str::FromStr>(flag: &str, value: Option<String>) -> Result<T, String> {
    let value = value.ok_or_else(|| format!("{flag} needs a value"))?;
    value.trim().parse::<T>().map_err(|_| format!("{flag}: `{value}` is not a valid number"))
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Parsed, String> {
    let mut options = Options {
        agents: 10_000,
        groups: 20,
        omnichannel: false,
        rate_limit: None,
        control_port: 0,
        serve_for: None,
    };
    let mut per_window: Option<u32> = None;
    let mut window_ms: u64 = 1000;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(Parsed::Help),
            "--provider" => {
                let name = args.next().ok_or("--provider needs a value")?;
                if name != "zendesk" {
                    return Err(format!("--provider: `{name}` is not offered (only `zendesk`)"));
                }
            }
            "--agents" => options.agents = parse_number("--agents", args.next())?,
            "--groups" => options.groups = parse_number("--groups", args.next())?,
            "--omnichannel" => {
                options.omnichannel = match args.next().as_deref() {
                    Some("on") => true,
                    Some("off") => false,
                    other => return Err(format!("--omnichannel expects on or off, got {other:?}")),
                }
            }
            "--rate-limit-per-minute" => {
                let limit: u32 = parse_number("--rate-limit-per-minute", args.next())?;
                options.rate_limit = (limit > 0).then(|| RateLimitRule::per_minute(limit));
            }
            "--rate-limit" => per_window = Some(parse_number("--rate-limit", args.next())?),
            "--rate-window-ms" => window_ms = parse_number("--rate-window-ms", args.next())?,
            "--control-port" => options.control_port = parse_number("--control-port", args.next())?,
            "--for" => {
                let seconds: u64 = parse_number("--for", args.next())?;
                options.serve_for = Some(Duration::from_secs(seconds));
            }
            other => return Err(format!("unknown argument `{other}` (see --help)")),
        }
    }
    if let Some(limit) = per_window {
        if window_ms == 0 {
            return Err("--rate-window-ms must be positive".into());
        }
        options.rate_limit = (limit > 0).then(|| RateLimitRule::new(limit, Duration::from_millis(window_ms)));
    }
    Ok(Parsed::Run(options))
}

/// `GET /api/v2/users/123.json` → `GET /api/v2/users/{id}`.
fn route_of(method: &str, path: &str) -> String {
    let template: Vec<&str> = path
        .split('/')
        .filter(|segment| !segment.is_empty())
        .map(|segment| {
            let segment = segment.strip_suffix(".json").unwrap_or(segment);
            if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) { "{id}" } else { segment }
        })
        .collect();
    format!("{method} /{}", template.join("/"))
}

async fn requests_summary(State(sim): State<Arc<ZendeskSim>>) -> axum::Json<serde_json::Value> {
    let log = sim.server().requests();
    let mut by_status: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_route: BTreeMap<String, u64> = BTreeMap::new();
    for request in &log {
        let status = request.status.map_or_else(|| "pending".to_owned(), |status| status.to_string());
        *by_status.entry(status).or_default() += 1;
        *by_route.entry(route_of(request.method.as_str(), &request.path)).or_default() += 1;
    }
    let first = log.first().map(|request| request.received_at);
    let timeline: Vec<serde_json::Value> = log
        .iter()
        .map(|request| {
            let at =
                first.and_then(|first| request.received_at.duration_since(first).ok()).unwrap_or_default();
            json!([at.as_millis() as u64, route_of(request.method.as_str(), &request.path), request.status])
        })
        .collect();
    axum::Json(
        json!({ "total": log.len(), "by_status": by_status, "by_route": by_route, "timeline": timeline }),
    )
}

async fn reset(State(sim): State<Arc<ZendeskSim>>) -> StatusCode {
    sim.server().clear_log();
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct RateLimitQuery {
    limit: u32,
    window_ms: Option<u64>,
}

async fn set_rate_limit(
    State(sim): State<Arc<ZendeskSim>>,
    Query(query): Query<RateLimitQuery>,
) -> (StatusCode, String) {
    let window_ms = query.window_ms.unwrap_or(60_000);
    if window_ms == 0 {
        return (StatusCode::BAD_REQUEST, "window_ms must be positive\n".into());
    }
    let rules = if query.limit == 0 {
        Vec::new()
    } else {
        vec![RateLimitRule::new(query.limit, Duration::from_millis(window_ms))]
    };
    sim.server().set_rate_limits(rules);
    (StatusCode::OK, format!("rate limit: {} per {window_ms} ms\n", query.limit))
}

async fn run(options: Options) -> Result<(), String> {
    let groups = ZendeskGroupSeed::synthetic(options.groups);
    let group_ids: Vec<i64> = groups.iter().map(|group| group.id).collect();
    let agents = ZendeskAgentSeed::synthetic(options.agents, &group_ids);
    let mut config = ZendeskSimConfig::new(agents, groups).omnichannel_routing(options.omnichannel);
    if let Some(rule) = options.rate_limit.clone() {
        config = config.rate_limit(rule);
    }
    let sim = Arc::new(ZendeskSim::start(config).await.map_err(|error| error.to_string())?);

    let listener =
        tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, options.control_port)))
            .await
            .map_err(|error| format!("cannot bind the control port {}: {error}", options.control_port))?;
    let control_address = listener.local_addr().map_err(|error| format!("control address: {error}"))?;
    let control = axum::Router::new()
        .route("/requests", get(requests_summary))
        .route("/reset", post(reset))
        .route("/rate-limit", post(set_rate_limit))
        .with_state(Arc::clone(&sim));
    let control_task = tokio::spawn(async move { axum::serve(listener, control).await });

    let ready = json!({
        "base_url": sim.base_url().as_str(),
        "email": ZendeskSimConfig::DEFAULT_EMAIL,
        "api_token": ZendeskSimConfig::DEFAULT_API_TOKEN,
        "control_url": format!("http://{control_address}/"),
        "agents": options.agents,
        "groups": options.groups,
        "omnichannel_routing": options.omnichannel,
    });
    println!("{ready}");
    eprintln!(
        "sim_server: zendesk simulator at {} ({} agents, {} groups, routing {}); control at http://{control_address}/",
        sim.base_url(),
        options.agents,
        options.groups,
        if options.omnichannel { "on" } else { "off" },
    );
    match options.serve_for {
        Some(duration) => tokio::time::sleep(duration).await,
        None => match control_task.await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => return Err(format!("control server stopped: {error}")),
            Err(error) => return Err(format!("control server task failed: {error}")),
        },
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(Parsed::Run(options)) => options,
        Ok(Parsed::Help) => {
            print!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("sim_server: {message}");
            return ExitCode::from(2);
        }
    };
    match run(options).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("sim_server: {message}");
            ExitCode::FAILURE
        }
    }
}
