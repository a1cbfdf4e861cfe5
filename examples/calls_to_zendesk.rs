//! Aircall calls → Zendesk Talk Partner Edition: the caller pops up on the rung agent's
//! screen while the phone rings, and every finished call is logged once in Zendesk (a
//! ticket with a TPE call record and voice comment, or a voice ticket), with the durable
//! recording link, the duration, the answering agent and the transcription.
//!
//! ```text
//! cargo run --example calls_to_zendesk --features server -- [--mode call-record|voice-ticket]
//!     [--missed ticket|ignore] [--create-callers] [--state PATH] [--dry-run] [--json]
//! ```
//!
//! - **No account** (no `AIRCALL_*` / `ZENDESK_*` variables): starts the Aircall and Zendesk
//!   simulators and this bridge's webhook receiver in this process, plays a day of calls
//!   (answered, recorded, missed, voicemail, an unknown caller, an outbound call, a
//!   redelivered and a reordered webhook) through real HTTP, and prints each action.
//! - **Real accounts**: with `AIRCALL_API_ID` + `AIRCALL_API_TOKEN` (or
//!   `AIRCALL_ACCESS_TOKEN`), `ZENDESK_SUBDOMAIN` (or `ZENDESK_BASE_URL`) + `ZENDESK_EMAIL` +
//!   `ZENDESK_API_TOKEN` (or `ZENDESK_OAUTH_TOKEN`) and `AIRCALL_WEBHOOK_TOKEN` set, serves
//!   `POST /webhooks/aircall/calls` on `DESKBRIDGE_WEBHOOK_ADDR` (default `127.0.0.1:8080`)
//!   until Ctrl-C. Point an Aircall webhook with the `call.*` events at it (through HTTPS).
//!   `ZENDESK_APP_ID` (your Zendesk app id) is needed for call records; without it the
//!   default mode is voice tickets.
//!
//! Exit status: 0 on success, 1 when a call failed (sim) or the server stopped on an
//! error, 2 for bad usage or configuration.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use deskbridge::aircall::{AircallClient, AircallConfig, WebhookVerifier};
use deskbridge::bridges::{CallOutcome, CallsBridge, CallsConfig, LogMode, MissedCalls};
use deskbridge::http::RateLimit;
use deskbridge::ports::StateStore;
use deskbridge::server::calls::{CallsRouterOptions, router};
use deskbridge::sim::aircall::{AircallSim, AircallSimConfig, AircallUserSeed, CallEnding, CallScript};
use deskbridge::sim::zendesk::{ZendeskAgentSeed, ZendeskSim, ZendeskSimConfig};
use deskbridge::store::{FileStore, MemoryStore};
use deskbridge::sync::RunMode;
use deskbridge::zendesk::{ZendeskAuth, ZendeskClient, ZendeskConfig};

/// `println!` that ignores a closed stdout (`| head`) instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

const USAGE: &str = "\
calls_to_zendesk: Aircall calls into Zendesk Talk Partner Edition (screen pop, call logging)

USAGE:
    calls_to_zendesk [OPTIONS]

OPTIONS:
    --mode call-record|voice-ticket   How a finished call is logged (default: call-record
                                      when ZENDESK_APP_ID is set or on the simulators,
                                      voice-ticket otherwise)
    --missed ticket|ignore            Missed calls become tickets (default) or nothing
    --create-callers                  Create a Zendesk end user for an unknown number
    --state PATH                      State file (exactly-once bookkeeping); default: in
                                      memory on the simulators, a file in the temp
                                      directory with real accounts
    --dry-run                         Decide, but write nothing to Zendesk or the state
    --json                            One JSON object per outcome on stdout
    -h, --help                        Print this help

ENVIRONMENT (all unset: simulators):
    AIRCALL_API_ID, AIRCALL_API_TOKEN (or AIRCALL_ACCESS_TOKEN), AIRCALL_BASE_URL
    ZENDESK_SUBDOMAIN or ZENDESK_BASE_URL, ZENDESK_EMAIL + ZENDESK_API_TOKEN or ZENDESK_OAUTH_TOKEN
    AIRCALL_WEBHOOK_TOKEN     The token of the Aircall webhook (from POST /v1/webhooks)
    ZENDESK_APP_ID            Your Zendesk app id (call records)
    DESKBRIDGE_WEBHOOK_ADDR   Where to listen (default 127.0.0.1:8080)
";

#[derive(Debug, Default)]
struct Options {
    mode: Option<LogMode>,
    missed: MissedCalls,
    create_callers: bool,
    state: Option<PathBuf>,
    dry_run: bool,
    json: bool,
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Option<Options>, String> {
    let mut options = Options::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--mode" => {
                options.mode = Some(match value("--mode")?.as_str() {
                    "call-record" => LogMode::CallRecord,
                    "voice-ticket" => LogMode::VoiceTicket,
                    other => {
                        return Err(format!("--mode: expected call-record or voice-ticket, got \"{other}\""));
                    }
                })
            }
            "--missed" => {
                options.missed = match value("--missed")?.as_str() {
                    "ticket" => MissedCalls::Ticket,
                    "ignore" => MissedCalls::Ignore,
                    other => return Err(format!("--missed: expected ticket or ignore, got \"{other}\"")),
                }
            }
            "--create-callers" => options.create_callers = true,
            "--state" => options.state = Some(PathBuf::from(value("--state")?)),
            "--dry-run" => options.dry_run = true,
            "--json" => options.json = true,
            other => return Err(format!("unknown argument \"{other}\"")),
        }
    }
    Ok(Some(options))
}

/// Prints outcomes as lines or JSON, and counts them.
#[derive(Clone)]
struct Printer {
    json: bool,
    seen: Arc<Mutex<Vec<CallOutcome>>>,
}

impl Printer {
    fn print(&self, event: Option<&str>, outcome: &CallOutcome) {
        if self.json {
            let mut value = serde_json::to_value(outcome).unwrap_or_default();
            if let (Some(event), Some(object)) = (event, value.as_object_mut()) {
                object.insert("event".into(), event.into());
            }
            out!("{value}");
        } else {
            match event {
                Some(event) => out!("{event:<24} {}", outcome.describe()),
                None => out!("{}", outcome.describe()),
            }
        }
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).push(outcome.clone());
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("calls_to_zendesk: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let aircall = AircallConfig::from_env();
    let zendesk = ZendeskConfig::from_env();
    match (aircall, zendesk) {
        (Ok(None), Ok(None)) => simulate(options).await,
        (Ok(Some(aircall)), Ok(Some(zendesk))) => serve(options, aircall, zendesk).await,
        (Err(error), _) | (_, Err(error)) => {
            eprintln!("calls_to_zendesk: {error}");
            ExitCode::from(2)
        }
        (Ok(a), Ok(z)) => {
            let missing = if a.is_none() {
                "AIRCALL_*"
            } else if z.is_none() {
                "ZENDESK_*"
            } else {
                ""
            };
            eprintln!(
                "calls_to_zendesk: only one side is configured ({missing} missing): set both for real \
                 accounts, or neither for the simulators"
            );
            ExitCode::from(2)
        }
    }
}

async fn open_store(path: Option<&PathBuf>) -> Result<Arc<dyn StateStore>, String> {
    match path {
        Some(path) => FileStore::open(path)
            .await
            .map(|store| Arc::new(store) as Arc<dyn StateStore>)
            .map_err(|e| format!("--state {}: {e}", path.display())),
        None => Ok(Arc::new(MemoryStore::new())),
    }
}

fn config(options: &Options, app_id: Option<i64>) -> CallsConfig {
    let mode =
        options.mode.unwrap_or(if app_id.is_some() { LogMode::CallRecord } else { LogMode::VoiceTicket });
    CallsConfig::default()
        .with_app_id(app_id)
        .with_log_mode(mode)
        .with_missed_calls(options.missed)
        .with_create_unknown_callers(options.create_callers)
        .with_mode(if options.dry_run { RunMode::Preview } else { RunMode::Apply })
}

const TOKEN: &str = "sim-aircall-webhook-token";
const APP_ID: i64 = 360_001_234_567;

/// A day of calls on the simulators, through the real webhook receiver.
async fn simulate(options: Options) -> ExitCode {
    let started: deskbridge::Result<(AircallSim, ZendeskSim)> = async {
        let aircall = AircallSim::start(AircallSimConfig::new(vec![
            AircallUserSeed::new(1001, "Ada Lovelace", "ada@example.com"),
            AircallUserSeed::new(1002, "Bob Martin", "Bob@Example.com"),
            AircallUserSeed::new(1003, "Zed (Aircall only)", "zed@example.com"),
        ]))
        .await?;
        let zendesk = ZendeskSim::start(ZendeskSimConfig::new(
            vec![
                ZendeskAgentSeed::new(16_765_840_570_101, "Ada Lovelace", "ada@example.com"),
                ZendeskAgentSeed::new(16_765_840_570_102, "Bob Martin", "bob@example.com"),
            ],
            Vec::new(),
        ))
        .await?;
        zendesk.set_talk_app_id(Some(APP_ID));
        zendesk.add_end_user("Claire Dubois", Some("+33 6 12 34 56 78"), Some("claire@example.org"));
        zendesk.add_end_user("Dan Smith", Some("+1 415 555 0199"), None);
        Ok((aircall, zendesk))
    }
    .await;
    let (aircall_sim, zendesk_sim) = match started {
        Ok(sims) => sims,
        Err(error) => {
            eprintln!("calls_to_zendesk: cannot start the simulators: {error}");
            return ExitCode::from(1);
        }
    };
    let store = match open_store(options.state.as_ref()).await {
        Ok(store) => store,
        Err(message) => {
            eprintln!("calls_to_zendesk: {message}");
            return ExitCode::from(2);
        }
    };
    let aircall = AircallClient::new(
        AircallConfig::basic(AircallSimConfig::DEFAULT_API_ID, AircallSimConfig::DEFAULT_API_TOKEN)
            .with_base_url(aircall_sim.base_url().as_str())
            .expect("the simulator's URL is valid")
            .with_rate_limit(RateLimit::unlimited()),
    );
    let zendesk = ZendeskClient::new(
        ZendeskConfig::for_base_url(
            zendesk_sim.base_url(),
            ZendeskAuth::api_token(ZendeskSimConfig::DEFAULT_EMAIL, ZendeskSimConfig::DEFAULT_API_TOKEN),
        )
        .with_rate_limit(RateLimit::unlimited()),
    );
    let (Ok(aircall), Ok(zendesk)) = (aircall, zendesk) else {
        eprintln!("calls_to_zendesk: cannot build the clients");
        return ExitCode::from(1);
    };
    let options = Options { mode: Some(options.mode.unwrap_or(LogMode::CallRecord)), ..options };
    let bridge = match CallsBridge::new(aircall, zendesk, store, config(&options, Some(APP_ID))) {
        Ok(bridge) => Arc::new(bridge.instance_id("calls-to-zendesk-sim")),
        Err(error) => {
            eprintln!("calls_to_zendesk: {error}");
            return ExitCode::from(2);
        }
    };
    let printer = Printer { json: options.json, seen: Arc::default() };
    let observer = printer.clone();
    let options_for_router = CallsRouterOptions::default().observer(move |event, outcome| {
        if !matches!(outcome, CallOutcome::Ignored { .. }) {
            observer.print(Some(event), outcome);
        }
    });
    let Ok(verifier) = WebhookVerifier::new(TOKEN) else { return ExitCode::from(1) };
    let app = router(Arc::clone(&bridge), verifier, options_for_router);
    let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("calls_to_zendesk: cannot listen: {error}");
            return ExitCode::from(1);
        }
    };
    let Ok(address) = listener.local_addr() else { return ExitCode::from(1) };
    let url = url::Url::parse(&format!("http://{address}/webhooks/aircall/calls")).expect("valid URL");
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    if !options.json {
        out!(
            "Simulated Aircall at {}, Zendesk at {}, webhook receiver at {url}; logging as {:?}{}.\n",
            aircall_sim.base_url(),
            zendesk_sim.base_url(),
            options.mode.unwrap_or_default(),
            if options.dry_run { " (dry run)" } else { "" }
        );
    }

    // 2026-12-01, 09:00 UTC onwards.
    let day = 1_796_115_600_i64;
    let answered = |by, talk_seconds, recorded| CallEnding::Answered { by, talk_seconds, recorded };
    let mut day_of_calls = vec![
        CallScript::inbound("+33 6 12 34 56 78", vec![1001, 1002], answered(1001, 312, true), day)
            .with_transcription(vec![
                ("external", "My parcel never arrived."),
                ("internal", "Let me check the tracking."),
            ]),
        CallScript::inbound(
            "+1 415 555 0199",
            vec![1002],
            CallEnding::Missed { reason: "agents_did_not_answer".into() },
            day + 1_800,
        ),
        CallScript::inbound(
            "+1 415 555 0199",
            vec![1002],
            CallEnding::Voicemail { seconds: 34 },
            day + 3_600,
        ),
        CallScript::inbound("+44 20 7946 0000", vec![1001], answered(1001, 95, true), day + 7_200),
        CallScript::inbound("anonymous", vec![1003, 1001], answered(1001, 40, false), day + 10_800),
        CallScript::inbound(
            "+33 6 12 34 56 78",
            vec![1001],
            CallEnding::Missed { reason: "out_of_opening_hours".into() },
            day + 32_400,
        ),
    ];
    let mut outbound =
        CallScript::inbound("+33 6 12 34 56 78", vec![1002], answered(1002, 180, true), day + 14_400);
    outbound.inbound = false;
    day_of_calls.push(outbound);

    let mut failures = 0;
    for (n, script) in day_of_calls.iter().enumerate() {
        let played = match aircall_sim.play_call(script, TOKEN) {
            Ok(played) => played,
            Err(error) => {
                eprintln!("calls_to_zendesk: {error}");
                return ExitCode::from(1);
            }
        };
        let mut steps: Vec<_> = played.steps.iter().collect();
        if n == 3 {
            // Aircall delivers at least once and in any order: call.ended before the rest.
            steps.rotate_right(1);
        }
        if n == 0 {
            // A redelivery of call.ended.
            steps.push(played.steps.last().expect("every call ends"));
        }
        for step in steps {
            aircall_sim.apply_step(&played, step);
            match step.delivery.send(&url).await {
                Ok(200) => {}
                Ok(status) => {
                    failures += 1;
                    eprintln!("{} {}: the receiver answered {status}", played.call_id, step.event);
                }
                Err(error) => {
                    failures += 1;
                    eprintln!("{} {}: {error}", played.call_id, step.event);
                }
            }
        }
    }
    server.abort();
    let records = zendesk_sim.talk_records();
    if options.json {
        out!(
            "{}",
            serde_json::json!({ "summary": { "calls": day_of_calls.len(), "tickets": records.tickets.len(),
                "call_records": records.calls.len(), "screen_pops": records.displays.len(),
                "callers_created": records.end_users.len().saturating_sub(2), "failures": failures } })
        );
    } else {
        out!(
            "\n{} calls: {} tickets, {} call records, {} screen pops, {} callers created, {failures} failures.",
            day_of_calls.len(),
            records.tickets.len(),
            records.calls.len(),
            records.displays.len(),
            records.end_users.len().saturating_sub(2)
        );
    }
    if failures == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

/// Real accounts: serve the webhook until Ctrl-C.
async fn serve(options: Options, aircall: AircallConfig, zendesk: ZendeskConfig) -> ExitCode {
    let Some(token) = env("AIRCALL_WEBHOOK_TOKEN") else {
        eprintln!("calls_to_zendesk: AIRCALL_WEBHOOK_TOKEN is not set (the token of the Aircall webhook)");
        return ExitCode::from(2);
    };
    let app_id = match env("ZENDESK_APP_ID").map(|v| v.parse::<i64>()) {
        None => None,
        Some(Ok(id)) => Some(id),
        Some(Err(_)) => {
            eprintln!("calls_to_zendesk: ZENDESK_APP_ID is not an integer");
            return ExitCode::from(2);
        }
    };
    let addr = env("DESKBRIDGE_WEBHOOK_ADDR").unwrap_or_else(|| "127.0.0.1:8080".into());
    let state = options
        .state
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join("deskbridge-calls-to-zendesk.json"));
    let store = match open_store(Some(&state)).await {
        Ok(store) => store,
        Err(message) => {
            eprintln!("calls_to_zendesk: {message}");
            return ExitCode::from(2);
        }
    };
    let clients = AircallClient::new(aircall).and_then(|a| ZendeskClient::new(zendesk).map(|z| (a, z)));
    let bridge = clients.and_then(|(a, z)| CallsBridge::new(a, z, store, config(&options, app_id)));
    let (bridge, verifier) = match bridge.and_then(|b| WebhookVerifier::new(token).map(|v| (b, v))) {
        Ok(pair) => pair,
        Err(error) => {
            eprintln!("calls_to_zendesk: {error}");
            return ExitCode::from(2);
        }
    };
    let bridge = Arc::new(bridge);
    if let Err(error) = bridge.warm_up().await {
        eprintln!("calls_to_zendesk: cannot list the Zendesk agents: {error}");
        return ExitCode::from(1);
    }
    let printer = Printer { json: options.json, seen: Arc::default() };
    let observer = printer.clone();
    let app = router(
        bridge,
        verifier,
        CallsRouterOptions::default().observer(move |event, outcome| observer.print(Some(event), outcome)),
    );
    let listener = match tokio::net::TcpListener::bind(&addr).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("calls_to_zendesk: cannot listen on {addr}: {error}");
            return ExitCode::from(2);
        }
    };
    if !options.json {
        eprintln!(
            "calls_to_zendesk: serving POST /webhooks/aircall/calls on {addr} (state {}); Ctrl-C stops.",
            state.display()
        );
    }
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("calls_to_zendesk: server error: {error}");
            ExitCode::from(1)
        }
    }
}
