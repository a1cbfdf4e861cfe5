//! The continuous bridge between Aircall and Zendesk, fed by webhooks.
//!
//! With no credentials it runs on the in-process simulators: it serves the webhook
//! routers on 127.0.0.1, and a scripted driver plays a working day of status changes on
//! both sides (compressed into seconds: one step = 15 virtual minutes), POSTing the
//! simulators' signed deliveries to the routers, sometimes duplicated, reordered or
//! dropped; the reconcile passes heal what was dropped. Every observation and write is
//! printed as it happens.
//!
//! With `AIRCALL_API_ID`/`AIRCALL_API_TOKEN` (or `AIRCALL_ACCESS_TOKEN`) and the Zendesk
//! variables set (see `ZendeskConfig::from_env`), plus `AIRCALL_WEBHOOK_TOKEN` and
//! `ZENDESK_WEBHOOK_SECRET`, it runs against the real APIs and serves the routers on
//! `DESKBRIDGE_WEBHOOK_ADDR` (default 127.0.0.1:8080); no driver runs.
//!
//! Either way, `GET /metrics` on the listen address answers the bridge's metrics
//! (deliveries by outcome, writes, skips by reason, failures, 429s, pass durations, queue
//! depth) in Prometheus text format.
//!
//! ```text
//! cargo run --example bridge --features server -- --for 5 --two-way
//! ```

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use deskbridge::aircall::{AircallConfig, AircallProvider, WebhookVerifier as AircallVerifier};
use deskbridge::http::RateLimit;
use deskbridge::mapping::{Side, StatusMap};
use deskbridge::ports::{StateStore, StatusProvider};
use deskbridge::server::webhooks::{AIRCALL_PATH, WebhookOptions, WebhookRoutes, ZENDESK_PATH};
use deskbridge::sim::WebhookDelivery;
use deskbridge::sim::aircall::{AircallAvailabilityStatus, AircallSim, AircallSimConfig, AircallUserSeed};
use deskbridge::sim::zendesk::{
    ZendeskAgentSeed, ZendeskGroupSeed, ZendeskSeedStatus, ZendeskSim, ZendeskSimConfig,
};
use deskbridge::status::Channel;
use deskbridge::store::StateSpec;
use deskbridge::sync::Clock;
use deskbridge::sync::{
    Bridge, BridgeNotice, BridgeOptions, DeliveryOutcome, LinkConfig, LinkMode, StatusLink,
};
use deskbridge::zendesk::{
    CustomStatusReading, WebhookVerifier as ZendeskVerifier, ZendeskAuth, ZendeskConfig, ZendeskProvider,
};
use deskbridge::{Error, Result};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use url::Url;

const HELP: &str = "\
bridge: keep Aircall and Zendesk agent statuses in sync continuously, from webhooks

USAGE:
    cargo run --example bridge --features server -- [OPTIONS]

OPTIONS:
    --for SECONDS              stop after SECONDS (graceful: in-flight writes finish);
                               default: run until Ctrl-C
    --two-way                  sync both ways, later change wins (default: one-way,
                               Aircall -> Zendesk, as Aircall's own integration)
    --state SPEC               where state is kept: a database PATH (embedded SQLite;
                               an old state .json file is imported once and left as it
                               was) or postgres://... (feature postgres), shared by
                               instances that each set DESKBRIDGE_INSTANCE_ID
                               (default: a database in the temp directory)
    --reconcile-every SECONDS  reconcile pass interval (default: 2 on the simulators,
                               300 on real accounts)
    --aircall-max-age SECONDS  refuse Aircall deliveries stamped further than SECONDS
                               from now (replay window; default: off, because Aircall
                               retries failed deliveries for up to 12 h)
    --help                     this text

Without credentials the simulators run in-process and a scripted day of status
changes is delivered to the webhook routers, sometimes duplicated, reordered or
dropped. With AIRCALL_* and ZENDESK_* credentials plus AIRCALL_WEBHOOK_TOKEN and
ZENDESK_WEBHOOK_SECRET, the real APIs are used and the routers listen on
DESKBRIDGE_WEBHOOK_ADDR (default 127.0.0.1:8080). GET /metrics on the same address
answers the bridge's metrics in Prometheus text format.

Exit codes: 0 all writes succeeded, 1 a write or the bridge failed, 2 bad usage.";

#[derive(Debug, Default)]
struct Args {
    run_for: Option<Duration>,
    two_way: bool,
    state: Option<String>,
    reconcile_every: Option<Duration>,
    aircall_max_age: Option<Duration>,
}

fn seconds(flag: &str, value: Option<String>) -> std::result::Result<Duration, String> {
    let value = value.ok_or_else(|| format!("{flag} needs a number of seconds"))?;
    match value.parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 && s < 1e9 => Ok(Duration::from_secs_f64(s)),
        _ => Err(format!("{flag}: \"{value}\" is not a positive number of seconds")),
    }
}

/// `Ok(None)` for `--help`.
fn parse_args(args: impl IntoIterator<Item = String>) -> std::result::Result<Option<Args>, String> {
    let mut parsed = Args::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--help" | "-h" => return Ok(None),
            "--for" => parsed.run_for = Some(seconds("--for", args.next())?),
            "--two-way" => parsed.two_way = true,
            "--state" => {
                let path = args.next().filter(|p| !p.is_empty()).ok_or("--state needs a path")?;
                parsed.state = Some(path);
            }
            "--reconcile-every" => parsed.reconcile_every = Some(seconds("--reconcile-every", args.next())?),
            "--aircall-max-age" => parsed.aircall_max_age = Some(seconds("--aircall-max-age", args.next())?),
            other => return Err(format!("unknown argument \"{other}\" (see --help)")),
        }
    }
    Ok(Some(parsed))
}

#[tokio::main]
async fn main() {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{HELP}");
            return;
        }
        Err(message) => {
            eprintln!("error: {message}");
            std::process::exit(2);
        }
    };
    let code = match run(args).await {
        Ok(0) => 0,
        Ok(failed_writes) => {
            eprintln!("{failed_writes} write(s) failed");
            1
        }
        Err(error @ Error::Config(_)) => {
            eprintln!("error: {error}");
            2
        }
        Err(error) => {
            eprintln!("error: {error}");
            1
        }
    };
    std::process::exit(code);
}

/// A clock that the driver moves: the working day runs in virtual time.
#[derive(Clone)]
struct DayClock(Arc<AtomicI64>);

impl DayClock {
    fn starting_at(start: DateTime<Utc>) -> Self {
        Self(Arc::new(AtomicI64::new(start.timestamp_millis())))
    }
    fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.0.load(Ordering::SeqCst)).unwrap_or_default()
    }
    fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds * 1000, Ordering::SeqCst);
    }
    fn clock(&self) -> Clock {
        let this = self.clone();
        Arc::new(move || this.now())
    }
}

fn printer(failed: Arc<AtomicUsize>, clock: Clock) -> impl Fn(&BridgeNotice) + Send + Sync + 'static {
    move |notice| {
        let at = clock().format("%H:%M");
        match notice {
            BridgeNotice::Delivery { source, agent_id, value, agent, outcome, .. } => {
                let who = agent.as_deref().unwrap_or(agent_id);
                let value = value.as_ref().map_or("(changed)", |v| v.as_str());
                println!("{at} delivery {source} {who} = {value}: {}", describe(outcome))
            }
            BridgeNotice::Wrote { agent, provider, value, .. } => {
                println!("{at} wrote {provider} {agent} = {value}")
            }
            BridgeNotice::WriteFailed { agent, provider, value, error, .. } => {
                failed.fetch_add(1, Ordering::SeqCst);
                println!("{at} FAILED {provider} {agent} = {value}: {error}")
            }
            BridgeNotice::Skipped { agent, reason, .. } => println!("{at} skipped {agent}: {reason}"),
            BridgeNotice::Reconciled { link, agents } => println!("{at} reconciled {link}: {agents} agents"),
            BridgeNotice::Error { context, error } => eprintln!("{at} error in {context}: {error}"),
            other => println!("{at} {other:?}"),
        }
    }
}

fn describe(outcome: &DeliveryOutcome) -> String {
    match outcome {
        DeliveryOutcome::Confirmed { read } => {
            format!("confirmed by reading the agent ({})", read.as_ref().map_or("no status", |v| v.as_str()))
        }
        DeliveryOutcome::Stale { at, known_at } => format!("stale (stamped {at}, the link holds {known_at})"),
        DeliveryOutcome::Unrouted { reason } => format!("unrouted: {reason}"),
        DeliveryOutcome::Failed { error } => format!("FAILED: {error}"),
        other => other.as_str().to_owned(),
    }
}

fn link(aircall: Arc<dyn StatusProvider>, zendesk: Arc<dyn StatusProvider>, two_way: bool) -> StatusLink {
    let mode = if two_way { LinkMode::TwoWay } else { LinkMode::OneWay { from: Side::A } };
    StatusLink::new(
        "voice",
        ("aircall", aircall, Channel::Voice),
        ("zendesk", zendesk, Channel::Voice),
        LinkConfig::new(StatusMap::aircall_zendesk(), mode),
    )
}

async fn open_store(spec: Option<String>) -> Result<Arc<dyn StateStore>> {
    let spec = spec.unwrap_or_else(|| {
        let path = std::env::temp_dir().join(format!("deskbridge-bridge-{}.sqlite3", std::process::id()));
        path.display().to_string()
    });
    let spec = StateSpec::parse(&spec)?;
    eprintln!("state: {spec}");
    spec.open().await
}

/// The webhook routes plus `GET /metrics` (Prometheus text format), when a recorder could
/// be installed (it can be only once per process).
fn with_metrics(routes: axum::Router) -> axum::Router {
    static HANDLE: std::sync::OnceLock<Option<PrometheusHandle>> = std::sync::OnceLock::new();
    let handle = HANDLE.get_or_init(|| match PrometheusBuilder::new().install_recorder() {
        Ok(handle) => Some(handle),
        Err(error) => {
            eprintln!("metrics disabled: {error}");
            None
        }
    });
    match handle.clone() {
        Some(handle) => routes.route(
            "/metrics",
            axum::routing::get(move || {
                let handle = handle.clone();
                async move {
                    handle.run_upkeep();
                    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], handle.render())
                }
            }),
        ),
        None => routes,
    }
}

async fn serve(listener: tokio::net::TcpListener, routes: axum::Router) {
    let routes = with_metrics(routes);
    let limits = deskbridge::server::limits::ServerLimits::default();
    if let Err(error) = deskbridge::server::limits::serve(listener, routes, limits).await {
        eprintln!("webhook server stopped: {error}");
    }
}

/// Returns the number of failed writes.
async fn run(args: Args) -> Result<usize> {
    match (AircallConfig::from_env()?, ZendeskConfig::from_env()?) {
        (Some(aircall), Some(zendesk)) => run_live(args, aircall, zendesk).await,
        (None, None) => run_simulated(args).await,
        // Half a live configuration is a mistake, not a request for the simulators.
        (Some(_), None) => {
            Err(Error::config("Aircall is configured but Zendesk is not (see ZendeskConfig::from_env)"))
        }
        (None, Some(_)) => {
            Err(Error::config("Zendesk is configured but Aircall is not (see AircallConfig::from_env)"))
        }
    }
}

async fn run_live(args: Args, aircall: AircallConfig, zendesk: ZendeskConfig) -> Result<usize> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let token =
        env("AIRCALL_WEBHOOK_TOKEN").ok_or_else(|| Error::config("AIRCALL_WEBHOOK_TOKEN is not set"))?;
    let secret =
        env("ZENDESK_WEBHOOK_SECRET").ok_or_else(|| Error::config("ZENDESK_WEBHOOK_SECRET is not set"))?;
    let addr = env("DESKBRIDGE_WEBHOOK_ADDR").unwrap_or_else(|| "127.0.0.1:8080".into());
    let reading = zendesk.custom_status_reading;
    let failed = Arc::new(AtomicUsize::new(0));
    let clock: Clock = Arc::new(Utc::now);
    let options = BridgeOptions {
        reconcile_every: args.reconcile_every.unwrap_or(Duration::from_secs(300)),
        ..BridgeOptions::default()
    };
    let bridge = Bridge::new(open_store(args.state).await?, options)
        .status_link(link(
            Arc::new(AircallProvider::from_config(aircall)?),
            Arc::new(ZendeskProvider::from_config(zendesk)?),
            args.two_way,
        ))?
        .on_notice(printer(failed.clone(), clock));
    let handle = bridge.handle();
    let mut aircall_verifier = AircallVerifier::new(token)?;
    if let Some(max_age) = args.aircall_max_age {
        aircall_verifier = aircall_verifier.with_max_age(max_age);
    }
    let routes = WebhookRoutes::new(handle.clone())
        .aircall(aircall_verifier)
        .zendesk(ZendeskVerifier::new(secret)?, reading)
        .into_router();
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|e| Error::config(format!("cannot listen on {addr}: {e}")))?;
    eprintln!(
        "webhooks: http://{addr}{AIRCALL_PATH} and http://{addr}{ZENDESK_PATH}; metrics: http://{addr}/metrics"
    );
    let server = tokio::spawn(serve(listener, routes));
    let bridge = tokio::spawn(bridge.run());
    wait(args.run_for).await;
    handle.shutdown();
    let result = bridge.await.map_err(|e| Error::config(format!("the bridge task failed: {e}")))?;
    server.abort();
    result?;
    Ok(failed.load(Ordering::SeqCst))
}

async fn wait(run_for: Option<Duration>) {
    match run_for {
        Some(duration) => tokio::time::sleep(duration).await,
        None => {
            // Ctrl-C needs tokio's `signal` feature; without it, run for a day.
            tokio::time::sleep(Duration::from_secs(24 * 3600)).await
        }
    }
}

const ROSTER: [(u64, i64, &str, &str); 4] = [
    (1, 101, "Ana", "ana@example.com"),
    (2, 102, "Ben", "ben@example.com"),
    (3, 103, "Cy", "cy@example.com"),
    (4, 104, "Dee", "dee@example.com"),
];

const AIRCALL_TOKEN: &str = "example-aircall-webhook-token";
const ZENDESK_SECRET: &str = "example-zendesk-signing-secret";

/// One scripted change: on Aircall (user index, available?) or on Zendesk (agent index,
/// status name).
#[derive(Clone, Copy)]
enum Change {
    Aircall(usize, bool),
    Zendesk(usize, &'static str),
}

/// A working day: every step is 15 minutes from 08:00.
const DAY: [Change; 16] = [
    Change::Aircall(0, true),
    Change::Aircall(1, true),
    Change::Zendesk(2, "online"),
    Change::Aircall(3, true),
    Change::Zendesk(0, "away"),
    Change::Aircall(1, false),
    Change::Aircall(0, true),
    Change::Zendesk(1, "online"),
    Change::Aircall(2, false),
    Change::Zendesk(3, "transfers_only"),
    Change::Aircall(3, true),
    Change::Aircall(1, true),
    Change::Zendesk(2, "online"),
    Change::Aircall(0, false),
    Change::Aircall(1, false),
    Change::Zendesk(3, "offline"),
];

struct Driver {
    aircall: AircallSim,
    zendesk: ZendeskSim,
    clock: DayClock,
    base: Url,
    /// Writes already answered with an echo delivery: (Aircall, Zendesk).
    echoed: (usize, usize),
    held: Option<(&'static str, WebhookDelivery)>,
}

impl Driver {
    fn aircall_delivery(&self, index: usize) -> Option<WebhookDelivery> {
        let user = self.aircall.user(ROSTER[index].0)?;
        let event = if user.available() { "user.opened.v2" } else { "user.closed.v2" };
        let at = self.clock.now().timestamp().max(0) as u64;
        Some(deskbridge::sim::aircall::user_event_delivery(
            event,
            &user,
            AIRCALL_TOKEN,
            at,
            &self.aircall.base_url(),
        ))
    }

    fn zendesk_delivery(&self, index: usize) -> Option<WebhookDelivery> {
        let id = ROSTER[index].1;
        let agent = self.zendesk.agent(id)?;
        let now = self.clock.now();
        let payload = deskbridge::sim::zendesk::unified_state_changed_payload(
            self.zendesk.account_id(),
            id,
            agent.previous_status.as_ref(),
            &agent.status,
            agent.version,
            &format!("01EXAMPLE{id}V{}", agent.version),
            &now.to_rfc3339_opts(SecondsFormat::Millis, true),
        );
        Some(deskbridge::sim::zendesk::webhook_delivery(
            &payload,
            ZENDESK_SECRET,
            &now.to_rfc3339_opts(SecondsFormat::Secs, true),
            self.zendesk.account_id(),
            "01EXAMPLEWEBHOOK",
            &format!("{id}-{}", agent.version),
        ))
    }

    async fn post(&self, path: &'static str, delivery: &WebhookDelivery) {
        let url = self.base.join(path.trim_start_matches('/')).unwrap_or_else(|_| self.base.clone());
        match delivery.send(&url).await {
            Ok(200) => {}
            Ok(status) => eprintln!("webhook to {path} answered {status}"),
            Err(error) => eprintln!("webhook to {path} failed: {error}"),
        }
    }

    /// Deliver, with the day's delivery faults: every 5th step is duplicated, every 7th
    /// held back and delivered after the next one (reordered), every 9th dropped.
    async fn deliver(&mut self, step: usize, path: &'static str, delivery: WebhookDelivery) {
        if step % 9 == 8 {
            println!(
                "{} (webhook dropped: the next reconcile pass heals it)",
                self.clock.now().format("%H:%M")
            );
            return;
        }
        if step % 7 == 6 && self.held.is_none() {
            self.held = Some((path, delivery));
            return;
        }
        self.post(path, &delivery).await;
        if step % 5 == 4 {
            self.post(path, &delivery).await;
        }
        if let Some((held_path, held)) = self.held.take() {
            self.post(held_path, &held).await;
        }
    }

    /// Deliver the providers' webhooks for the bridge's own writes (Aircall's carry no
    /// actor; Zendesk's say PUBLIC_API): the bridge must recognise them as echoes.
    async fn echo_writes(&mut self) {
        let aircall_writes = self.aircall.server().writes();
        for request in aircall_writes.iter().skip(self.echoed.0) {
            let id = request.path.rsplit('/').next().and_then(|id| id.parse::<u64>().ok());
            if let Some(index) = ROSTER.iter().position(|r| Some(r.0) == id)
                && let Some(delivery) = self.aircall_delivery(index)
            {
                self.post(AIRCALL_PATH, &delivery).await;
            }
        }
        self.echoed.0 = aircall_writes.len();
        let zendesk_writes = self.zendesk.server().writes();
        for request in zendesk_writes.iter().skip(self.echoed.1) {
            let id = request.path.rsplit('/').next().and_then(|id| id.parse::<i64>().ok());
            if let Some(index) = ROSTER.iter().position(|r| Some(r.1) == id)
                && let Some(delivery) = self.zendesk_delivery(index)
            {
                self.post(ZENDESK_PATH, &delivery).await;
            }
        }
        self.echoed.1 = zendesk_writes.len();
    }

    async fn step(&mut self, step: usize) -> Result<()> {
        self.clock.advance(15 * 60);
        let at = self.clock.now().format("%H:%M");
        match DAY[step % DAY.len()] {
            Change::Aircall(index, available) => {
                let status = if available {
                    AircallAvailabilityStatus::Available
                } else {
                    AircallAvailabilityStatus::Unavailable
                };
                self.aircall.set_availability(ROSTER[index].0, status, None)?;
                println!("{at} [day] {} sets {} in Aircall", ROSTER[index].2, status.as_str());
                if let Some(delivery) = self.aircall_delivery(index) {
                    self.deliver(step, AIRCALL_PATH, delivery).await;
                }
            }
            Change::Zendesk(index, name) => {
                self.zendesk.set_agent_status(ROSTER[index].1, name, "AGENT_STATUS_SWITCHER")?;
                println!("{at} [day] {} sets {name} in Zendesk", ROSTER[index].2);
                if let Some(delivery) = self.zendesk_delivery(index) {
                    self.deliver(step, ZENDESK_PATH, delivery).await;
                }
            }
        }
        Ok(())
    }
}

async fn run_simulated(args: Args) -> Result<usize> {
    let aircall = AircallSim::start(AircallSimConfig::new(
        ROSTER.iter().map(|(id, _, name, email)| AircallUserSeed::new(*id, *name, *email)).collect(),
    ))
    .await?;
    let zendesk = ZendeskSim::start(ZendeskSimConfig::new(
        ROSTER
            .iter()
            .map(|(_, id, name, email)| {
                ZendeskAgentSeed::new(*id, *name, *email).with_status(ZendeskSeedStatus::Offline)
            })
            .collect(),
        vec![ZendeskGroupSeed::new(1, "Support")],
    ))
    .await?;
    for (id, ..) in ROSTER {
        aircall.set_availability(id, AircallAvailabilityStatus::Unavailable, None)?;
    }
    let aircall_provider = AircallProvider::from_config(
        AircallConfig::basic(AircallSimConfig::DEFAULT_API_ID, AircallSimConfig::DEFAULT_API_TOKEN)
            .with_base_url(aircall.base_url().as_str())?
            .with_rate_limit(RateLimit::unlimited()),
    )?;
    let zendesk_provider = ZendeskProvider::from_config(
        ZendeskConfig::for_base_url(
            zendesk.base_url(),
            ZendeskAuth::api_token(ZendeskSimConfig::DEFAULT_EMAIL, ZendeskSimConfig::DEFAULT_API_TOKEN),
        )
        .with_rate_limit(RateLimit::unlimited()),
    )?;

    let day_start = Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 0).single().unwrap_or_default();
    let clock = DayClock::starting_at(day_start);
    let failed = Arc::new(AtomicUsize::new(0));
    let options = BridgeOptions {
        reconcile_every: args.reconcile_every.unwrap_or(Duration::from_secs(2)),
        tick_every: Duration::from_millis(200),
        ..BridgeOptions::default()
    };
    let mode = if args.two_way { "two-way" } else { "one-way aircall -> zendesk" };
    println!("bridge: {mode}, {} agents on the simulators", ROSTER.len());
    let bridge = Bridge::new(open_store(args.state).await?, options)
        .status_link(link(Arc::new(aircall_provider), Arc::new(zendesk_provider), args.two_way))?
        .clock(clock.clock())
        .on_notice(printer(failed.clone(), clock.clock()));
    let handle = bridge.handle();
    let routes = WebhookRoutes::new(handle.clone())
        .options(WebhookOptions { clock: clock.clock(), ..WebhookOptions::default() })
        .aircall(AircallVerifier::new(AIRCALL_TOKEN)?)
        .zendesk(ZendeskVerifier::new(ZENDESK_SECRET)?, CustomStatusReading::ByName)
        .into_router();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| Error::config(format!("cannot listen on 127.0.0.1: {e}")))?;
    let addr = listener.local_addr().map_err(|e| Error::config(e.to_string()))?;
    let base = Url::parse(&format!("http://{addr}/")).map_err(|e| Error::config(e.to_string()))?;
    eprintln!("webhooks: {base}{} and {base}{}", &AIRCALL_PATH[1..], &ZENDESK_PATH[1..]);
    let server = tokio::spawn(serve(listener, routes));
    let bridge_task = tokio::spawn(bridge.run());

    let mut driver = Driver { aircall, zendesk, clock, base, echoed: (0, 0), held: None };
    let stop_at = args.run_for.map(|d| tokio::time::Instant::now() + d);
    let errors = Arc::new(Mutex::new(Vec::new()));
    // Let the first reconcile pass run, then play the day (and the next, and so on).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut step = 0;
    loop {
        if stop_at.is_some_and(|at| tokio::time::Instant::now() >= at) {
            break;
        }
        if let Err(error) = driver.step(step).await {
            errors.lock().map(|mut e| e.push(error.to_string())).ok();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        driver.echo_writes().await;
        tokio::time::sleep(Duration::from_millis(60)).await;
        step += 1;
    }
    handle.shutdown();
    let result = bridge_task.await.map_err(|e| Error::config(format!("the bridge task failed: {e}")))?;
    server.abort();
    result?;
    let (aircall_writes, zendesk_writes) =
        (driver.aircall.server().writes().len(), driver.zendesk.server().writes().len());
    println!("done after {step} steps: {aircall_writes} Aircall writes, {zendesk_writes} Zendesk writes");
    for error in errors.lock().map(|e| e.clone()).unwrap_or_default() {
        eprintln!("driver error: {error}");
    }
    Ok(failed.load(Ordering::SeqCst))
}
