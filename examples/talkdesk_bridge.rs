//! A Talkdesk custom-integration bridge over Usedesk.
//!
//! Serves the endpoints Talkdesk calls (auth validation, contact and agent synchronization,
//! interaction retrieval and the `create_ticket` action of Talkdesk's documented `mycrm`
//! example) from one Usedesk account, or from the Usedesk simulator when no
//! `USEDESK_API_TOKEN` is set.
//!
//! ```text
//! cargo run --example talkdesk_bridge --features server -- --listen 127.0.0.1:8087
//! cargo run --example talkdesk_bridge --features server -- --print-manifest
//! ```
//!
//! Run with `--help` for every flag and environment variable.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use deskbridge::bridges::{AcceptedCredentials, UsedeskTalkdeskBackend};
use deskbridge::http::RateLimit;
use deskbridge::server::limits::{ServerLimits, serve_with_shutdown};
use deskbridge::server::talkdesk::{Endpoint, endpoints, router};
use deskbridge::sim::usedesk::UsedeskSim;
use deskbridge::talkdesk::Manifest;
use deskbridge::usedesk::{UsedeskClient, UsedeskConfig};
use url::Url;

const DEFAULT_LISTEN: &str = "127.0.0.1:8087";
const DEFAULT_PUBLIC_URL: &str = "https://bridge.example.com/talkdesk";
/// The credentials accepted in simulator mode when none are configured.
const DEMO_ACCOUNT: &str = "demo";
const DEMO_TOKEN: &str = "demo-talkdesk-token";

const HELP: &str = "\
talkdesk_bridge: serve a Talkdesk custom integration from Usedesk

USAGE:
    talkdesk_bridge [--listen ADDR] [--public-url URL]
    talkdesk_bridge --print-manifest [--json] [--public-url URL]

FLAGS:
    --listen ADDR       Address to serve on (default 127.0.0.1:8087; port 0 picks a free
                        port). The bound address is printed as `listening on http://ADDR`.
    --public-url URL    The https base URL Talkdesk will call (behind your TLS proxy); the
                        manifest's endpoints are placed under it and the bridge serves them
                        at the same paths. Default https://bridge.example.com/talkdesk, a
                        placeholder: set your own before sending the manifest to Talkdesk.
    --print-manifest    Print the activation document (Markdown: Integration Details and
                        Action Details tables) and exit.
    --json              With --print-manifest: print the manifest as JSON instead.
    --timeout-ms N      Cut stalled clients after N ms: header read, idle, body and
                        request timeouts all set to N (default: the library's defaults,
                        10 s / 30 s / 15 s / 30 s; see deskbridge::server::limits).
    --max-connections N Most connections open at once (default 512).
    --help              Print this help.

ENVIRONMENT:
    USEDESK_API_TOKEN        Usedesk API token; without it the bridge serves the built-in
                             Usedesk simulator (sample data).
    USEDESK_BASE_URL         Usedesk base URL (default https://api.usedesk.ru).
    TALKDESK_BRIDGE_ACCOUNT  The `account` value Talkdesk must send (required with
                             USEDESK_API_TOKEN; in simulator mode default `demo`).
    TALKDESK_BRIDGE_TOKEN    The `token` value Talkdesk must send (required with
                             USEDESK_API_TOKEN; in simulator mode default
                             `demo-talkdesk-token`).

EXIT CODES: 0 after a clean shutdown (Ctrl-C) or a printed manifest; 1 when serving fails;
2 for bad usage or configuration.
";

#[derive(Debug)]
struct Options {
    listen: String,
    public_url: String,
    print_manifest: bool,
    json: bool,
    limits: ServerLimits,
}

enum Parsed {
    Run(Options),
    Help,
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Parsed, String> {
    let mut options = Options {
        listen: DEFAULT_LISTEN.to_owned(),
        public_url: DEFAULT_PUBLIC_URL.to_owned(),
        print_manifest: false,
        json: false,
        limits: ServerLimits::default(),
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag.to_owned(), Some(value.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            inline
                .clone()
                .or_else(|| args.next())
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "--help" | "-h" => return Ok(Parsed::Help),
            "--listen" => options.listen = value("--listen")?,
            "--public-url" => options.public_url = value("--public-url")?,
            "--print-manifest" if inline.is_none() => options.print_manifest = true,
            "--json" if inline.is_none() => options.json = true,
            "--timeout-ms" => {
                let ms: u64 = value("--timeout-ms")?
                    .parse()
                    .map_err(|_| "--timeout-ms needs a whole number of milliseconds".to_owned())?;
                options.limits = options.limits.with_all_timeouts(Duration::from_millis(ms));
            }
            "--max-connections" => {
                let n: usize = value("--max-connections")?
                    .parse()
                    .map_err(|_| "--max-connections needs a whole number".to_owned())?;
                options.limits = options.limits.with_max_connections(n);
            }
            _ => return Err(format!("unknown argument `{arg}`")),
        }
    }
    if options.json && !options.print_manifest {
        return Err("--json only goes with --print-manifest".to_owned());
    }
    Ok(Parsed::Run(options))
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("talkdesk_bridge: {message}\n(run with --help for usage)");
    ExitCode::from(2)
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.trim().is_empty())
}

fn describe(endpoint: &Endpoint) -> String {
    match endpoint {
        Endpoint::AuthValidation => "auth validation".to_owned(),
        Endpoint::ContactSynchronization => "contact synchronization".to_owned(),
        Endpoint::InteractionRetrieval => "interaction retrieval".to_owned(),
        Endpoint::AgentSynchronization => "agent synchronization".to_owned(),
        Endpoint::Action(name) => format!("action `{name}`"),
        other => format!("{other:?}"),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(Parsed::Help) => {
            print!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Ok(Parsed::Run(options)) => options,
        Err(message) => return usage_error(&message),
    };
    let public_url = match Url::parse(&options.public_url) {
        Ok(url) => url,
        Err(error) => {
            return usage_error(&format!("--public-url `{}` is not a URL: {error}", options.public_url));
        }
    };
    let manifest = match Manifest::example_mycrm(&public_url) {
        Ok(manifest) => manifest,
        Err(error) => return usage_error(&error.to_string()),
    };
    if options.print_manifest {
        if options.json {
            match manifest.to_json_pretty() {
                Ok(json) => println!("{json}"),
                Err(error) => return usage_error(&error.to_string()),
            }
        } else {
            print!("{}", manifest.to_markdown());
        }
        return ExitCode::SUCCESS;
    }
    let listen: SocketAddr = match options.listen.parse() {
        Ok(address) => address,
        Err(_) => {
            return usage_error(&format!(
                "--listen `{}` is not an address like 127.0.0.1:8087",
                options.listen
            ));
        }
    };
    if options.public_url == DEFAULT_PUBLIC_URL {
        eprintln!(
            "note: the manifest uses the placeholder {DEFAULT_PUBLIC_URL}; pass --public-url with the https URL \
             Talkdesk will call"
        );
    }

    let credentials = match AcceptedCredentials::from_env_with(env) {
        Ok(credentials) => credentials,
        Err(error) => return usage_error(&error.to_string()),
    };
    let usedesk_config = match UsedeskConfig::from_env() {
        Ok(config) => config,
        Err(error) => return usage_error(&error.to_string()),
    };
    let (client, credentials, sim) = match usedesk_config {
        Some(config) => {
            let Some(credentials) = credentials else {
                return usage_error(&format!(
                    "with {} set, {} and {} are required (the values Talkdesk must send)",
                    UsedeskConfig::ENV_API_TOKEN,
                    AcceptedCredentials::ENV_ACCOUNT,
                    AcceptedCredentials::ENV_TOKEN
                ));
            };
            match UsedeskClient::new(config.clone()) {
                Ok(client) => {
                    println!("mode: real Usedesk at {}", config.base_url());
                    (client, credentials, None)
                }
                Err(error) => return usage_error(&error.to_string()),
            }
        }
        None => {
            let sim = match UsedeskSim::start_with_sample().await {
                Ok(sim) => sim,
                Err(error) => {
                    eprintln!("talkdesk_bridge: could not start the Usedesk simulator: {error}");
                    return ExitCode::from(1);
                }
            };
            let config = UsedeskConfig::new(deskbridge::sim::usedesk::UsedeskSimConfig::DEFAULT_API_TOKEN)
                .and_then(|config| config.with_base_url(sim.base_url().as_str()))
                .map(|config| config.with_rate_limit(RateLimit::unlimited()));
            let client = match config.and_then(UsedeskClient::new) {
                Ok(client) => client,
                Err(error) => return usage_error(&error.to_string()),
            };
            let credentials =
                match credentials.map_or_else(|| AcceptedCredentials::new(DEMO_ACCOUNT, DEMO_TOKEN), Ok) {
                    Ok(credentials) => credentials,
                    Err(error) => return usage_error(&error.to_string()),
                };
            println!(
                "mode: Usedesk simulator at {} (no {} set)",
                sim.base_url(),
                UsedeskConfig::ENV_API_TOKEN
            );
            println!(
                "accepted auth (simulator mode): account = {}, token = {}",
                credentials.expose_account(),
                credentials.expose_token()
            );
            (client, credentials, Some(sim))
        }
    };

    let backend = UsedeskTalkdeskBackend::new(client, credentials);
    let app = router(Arc::new(backend), manifest.clone());
    let listener = match tokio::net::TcpListener::bind(listen).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("talkdesk_bridge: cannot listen on {listen}: {error}");
            return ExitCode::from(1);
        }
    };
    let bound = match listener.local_addr() {
        Ok(address) => address,
        Err(error) => {
            eprintln!("talkdesk_bridge: cannot read the bound address: {error}");
            return ExitCode::from(1);
        }
    };
    println!("listening on http://{bound}");
    println!("endpoints (POST, JSON; Talkdesk calls them under {public_url}):");
    for (path, endpoint) in endpoints(&manifest) {
        println!("  POST http://{bound}{path}  {}", describe(&endpoint));
    }
    println!("press Ctrl-C to stop");

    // Timeouts, connection and request limits and a body cap: the endpoints face the
    // internet (see deskbridge::server::limits).
    let served = serve_with_shutdown(listener, app, options.limits.clone(), async {
        if tokio::signal::ctrl_c().await.is_err() {
            // No signal handler: serve until the process is killed.
            std::future::pending::<()>().await;
        }
    })
    .await;
    if let Some(sim) = sim {
        sim.shutdown().await;
    }
    match served {
        Ok(()) => {
            println!("stopped");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("talkdesk_bridge: serving failed: {error}");
            ExitCode::from(1)
        }
    }
}
