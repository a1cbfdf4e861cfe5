//! Release-mode benchmark of the screen pop's latency under load: the time from the
//! receipt of a `call.ringing_on_agent` webhook by the calls router to the arrival of the
//! display request at (simulated) Zendesk.
//!
//! ```text
//! cargo bench --features server --bench bench_calls_pop
//! cargo bench --features server --bench bench_calls_pop -- --calls 4000 --concurrency 64 --unknown-callers 20
//! ```
//!
//! Seeds the Zendesk simulator with `--agents` agents (`agent{n}@example.com`, the same on
//! the Aircall side) and `--calls` end users with phone numbers, starts the calls router
//! (`deskbridge::server::calls`) over a [`CallsBridge`] on a memory store, and POSTs one
//! ringing webhook per call through loopback HTTP, `--concurrency` at a time. Each call
//! rings a different (agent, caller) pair, so every display request is matched to its
//! webhook; `--unknown-callers` percent of the numbers are not in Zendesk and are created
//! (`--create-callers` path: search, create, display). A middleware stamps the receipt of
//! each webhook; the simulator stamps the arrival of each display request. Prints one JSON
//! line: latency percentiles (ms) overall and per path, throughput, and the request counts.
//! The clients run unpaced (the simulators enforce no limit): the figures measure the
//! library, the store and the loopback HTTP stack, not Zendesk's rate limits or WAN
//! latency (add one Zendesk round trip per request on the path for that).
//!
//! Exit code: 0, 1 when a webhook failed or a pop is missing, 2 for bad usage.

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::extract::Request;
use axum::middleware::{self, Next};
use deskbridge::aircall::{AircallClient, AircallConfig, WebhookVerifier};
use deskbridge::bridges::{CallsBridge, CallsConfig, LogMode};
use deskbridge::http::{Method, RateLimit, RetryPolicy};
use deskbridge::server::calls::{CallsRouterOptions, router};
use deskbridge::sim::WebhookDelivery;
use deskbridge::sim::aircall::{AircallSim, AircallSimConfig, AircallUserSeed, call_event_delivery};
use deskbridge::sim::zendesk::{ZendeskAgentSeed, ZendeskSim, ZendeskSimConfig};
use deskbridge::store::MemoryStore;
use deskbridge::zendesk::{ZendeskAuth, ZendeskClient, ZendeskConfig};
use serde_json::json;

const USAGE: &str = "\
Usage: bench_calls_pop [--calls N] [--agents N] [--concurrency N] [--unknown-callers PCT]

Screen-pop latency (webhook receipt -> display request) under load, on the simulators.

Options:
  --calls N            ringing webhooks, one per call (default 2000)
  --agents N           agents on both sides (default 200)
  --concurrency N      webhooks in flight at once (default 32)
  --unknown-callers P  percent of callers Zendesk does not know yet (created; default 0)
";
const TOKEN: &str = "bench-webhook-token";
const BENCH_HEADER: &str = "x-bench-call";

struct Options {
    calls: usize,
    agents: usize,
    concurrency: usize,
    unknown_percent: usize,
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Option<Options>, String> {
    let mut options = Options { calls: 2000, agents: 200, concurrency: 32, unknown_percent: 0 };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        if arg == "-h" || arg == "--help" {
            return Ok(None);
        }
        let value = args.next().ok_or_else(|| format!("{arg} needs a value"))?;
        let number: usize = value.parse().map_err(|_| format!("{arg}: \"{value}\" is not a number"))?;
        match arg.as_str() {
            "--calls" => options.calls = number.max(1),
            "--agents" => options.agents = number.max(1),
            "--concurrency" => options.concurrency = number.max(1),
            "--unknown-callers" => options.unknown_percent = number.min(100),
            other => return Err(format!("unknown argument \"{other}\"")),
        }
    }
    Ok(Some(options))
}

fn phone(n: usize) -> String {
    format!(
        "+33 6 {:02} {:02} {:02} {:02}",
        (n / 1_000_000) % 100,
        (n / 10_000) % 100,
        (n / 100) % 100,
        n % 100
    )
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn summary(mut values: Vec<f64>) -> serde_json::Value {
    values.sort_by(f64::total_cmp);
    let round = |v: f64| (v * 1000.0).round() / 1000.0;
    json!({
        "n": values.len(),
        "p50_ms": round(percentile(&values, 50.0)),
        "p90_ms": round(percentile(&values, 90.0)),
        "p99_ms": round(percentile(&values, 99.0)),
        "max_ms": round(values.last().copied().unwrap_or(f64::NAN)),
    })
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1).filter(|arg| arg != "--bench")) {
        Ok(Some(options)) => options,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("bench_calls_pop: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&options).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(error) => {
            eprintln!("bench_calls_pop: {error}");
            ExitCode::from(1)
        }
    }
}

async fn run(options: &Options) -> deskbridge::Result<bool> {
    let aircall_users: Vec<AircallUserSeed> = (1..=options.agents)
        .map(|n| AircallUserSeed::new(1000 + n as u64, format!("Agent {n}"), format!("agent{n}@example.com")))
        .collect();
    let aircall_sim = AircallSim::start(AircallSimConfig::new(aircall_users)).await?;
    let zendesk_sim = ZendeskSim::start(ZendeskSimConfig::new(
        ZendeskAgentSeed::synthetic(options.agents, &[]),
        Vec::new(),
    ))
    .await?;
    let mut known = HashMap::new();
    for n in 0..options.calls {
        if (n * 100) / options.calls >= options.unknown_percent {
            known.insert(n, zendesk_sim.add_end_user(&format!("Caller {n}"), Some(&phone(n)), None));
        }
    }
    let aircall = AircallClient::new(
        AircallConfig::basic(AircallSimConfig::DEFAULT_API_ID, AircallSimConfig::DEFAULT_API_TOKEN)
            .with_base_url(aircall_sim.base_url().as_str())?
            .with_rate_limit(RateLimit::unlimited())
            .with_retry(RetryPolicy::never()),
    )?;
    let zendesk = ZendeskClient::new(
        ZendeskConfig::for_base_url(
            zendesk_sim.base_url(),
            ZendeskAuth::api_token(ZendeskSimConfig::DEFAULT_EMAIL, ZendeskSimConfig::DEFAULT_API_TOKEN),
        )
        .with_rate_limit(RateLimit::unlimited())
        .with_retry(RetryPolicy::never()),
    )?;
    let config = CallsConfig::default().with_log_mode(LogMode::VoiceTicket).with_create_unknown_callers(true);
    let bridge = Arc::new(
        CallsBridge::new(aircall, zendesk, Arc::new(MemoryStore::new()), config)?.instance_id("bench"),
    );
    bridge.warm_up().await?;

    // Receipt stamps, by the bench header.
    let receipts: Arc<Mutex<HashMap<usize, SystemTime>>> = Arc::default();
    let stamp = Arc::clone(&receipts);
    let app = router(Arc::clone(&bridge), WebhookVerifier::new(TOKEN)?, CallsRouterOptions::default()).layer(
        middleware::from_fn(move |request: Request, next: Next| {
            let stamp = Arc::clone(&stamp);
            async move {
                let at = SystemTime::now();
                if let Some(n) =
                    request.headers().get(BENCH_HEADER).and_then(|v| v.to_str().ok()?.parse().ok())
                {
                    stamp.lock().unwrap_or_else(|e| e.into_inner()).insert(n, at);
                }
                next.run(request).await
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| deskbridge::Error::config(format!("cannot listen: {e}")))?;
    let address = listener.local_addr().map_err(|e| deskbridge::Error::config(e.to_string()))?;
    let url = url::Url::parse(&format!("http://{address}/webhooks/aircall/calls"))
        .map_err(|e| deskbridge::Error::config(e.to_string()))?;
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    // One ringing webhook per call: call n rings agent (n % agents) + 1 for caller n.
    let deliveries: Vec<(usize, i64, WebhookDelivery)> = (0..options.calls)
        .map(|n| {
            let agent = n % options.agents + 1;
            let call = json!({
                "id": 500_000_000 + n as u64, "direction": "inbound", "status": "initial",
                "started_at": 1_767_000_000 + n as i64, "raw_digits": phone(n),
                "user": { "id": 1000 + agent as u64, "name": format!("Agent {agent}"), "email": format!("agent{agent}@example.com") },
                "number": { "id": 1, "digits": "+33 1 76 00 00 00" },
            });
            let mut delivery = call_event_delivery("call.ringing_on_agent", &call, TOKEN, 1_767_000_000 + n as i64);
            delivery.headers.push((BENCH_HEADER.to_owned(), n.to_string()));
            (n, 16_765_840_570_000 + agent as i64, delivery)
        })
        .collect();
    eprintln!(
        "bench_calls_pop: {} ringing webhooks, {} agents, concurrency {}, {} % unknown callers",
        options.calls, options.agents, options.concurrency, options.unknown_percent
    );
    let started = Instant::now();
    let queue = Arc::new(Mutex::new(deliveries.into_iter()));
    let failures = Arc::new(Mutex::new(Vec::new()));
    let mut workers = Vec::new();
    for _ in 0..options.concurrency {
        let (queue, failures, url) = (Arc::clone(&queue), Arc::clone(&failures), url.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let next = queue.lock().unwrap_or_else(|e| e.into_inner()).next();
                let Some((n, _, delivery)) = next else { break };
                match delivery.send(&url).await {
                    Ok(200) => {}
                    Ok(status) => {
                        failures.lock().unwrap_or_else(|e| e.into_inner()).push(format!("call {n}: {status}"))
                    }
                    Err(error) => {
                        failures.lock().unwrap_or_else(|e| e.into_inner()).push(format!("call {n}: {error}"))
                    }
                }
            }
        }));
    }
    for worker in workers {
        let _ = worker.await;
    }
    let elapsed = started.elapsed();
    server.abort();

    // Match each display request to its call: (agent, user) pairs are unique per call.
    let records = zendesk_sim.talk_records();
    let created: HashMap<String, i64> = records
        .end_users
        .iter()
        .filter_map(|u| {
            u.phone.as_ref().map(|p| (p.chars().filter(|c| c.is_ascii_digit() || *c == '+').collect(), u.id))
        })
        .collect();
    let displays: HashMap<String, SystemTime> = zendesk_sim
        .server()
        .requests_matching(Method::POST, "/api/v2/channels/voice/agents/")
        .into_iter()
        .filter(|r| r.status == Some(200))
        .map(|r| (r.path.clone(), r.received_at))
        .collect();
    let receipts = receipts.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let (mut all, mut found_path, mut created_path) = (Vec::new(), Vec::new(), Vec::new());
    let mut missing = 0;
    for n in 0..options.calls {
        let agent = 16_765_840_570_000 + (n % options.agents + 1) as i64;
        let number: String = phone(n).chars().filter(|c| c.is_ascii_digit() || *c == '+').collect();
        let user = known.get(&n).copied().or_else(|| created.get(&number).copied());
        let display = user.and_then(|user| {
            displays.get(&format!("/api/v2/channels/voice/agents/{agent}/users/{user}/display"))
        });
        match (receipts.get(&n), display) {
            (Some(receipt), Some(display)) => {
                let ms = display.duration_since(*receipt).unwrap_or(Duration::ZERO).as_secs_f64() * 1000.0;
                all.push(ms);
                if known.contains_key(&n) { found_path.push(ms) } else { created_path.push(ms) }
            }
            _ => missing += 1,
        }
    }
    let failures = failures.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let zendesk_requests = zendesk_sim.server().count();
    let report = json!({
        "calls": options.calls,
        "agents": options.agents,
        "concurrency": options.concurrency,
        "unknown_callers_percent": options.unknown_percent,
        "elapsed_s": (elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
        "webhooks_per_s": (options.calls as f64 / elapsed.as_secs_f64()).round(),
        "receipt_to_display": summary(all),
        "known_caller": summary(found_path),
        "created_caller": summary(created_path),
        "zendesk_requests": zendesk_requests,
        "missing_pops": missing,
        "failed_webhooks": failures.len(),
    });
    println!("{report}");
    for failure in failures.iter().take(5) {
        eprintln!("bench_calls_pop: {failure}");
    }
    Ok(failures.is_empty() && missing == 0)
}
