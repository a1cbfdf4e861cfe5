//! Create (or find) the webhooks a bridge needs, and print the secrets to store.
//!
//! ```text
//! cargo run --example setup_webhooks                                   # on simulators
//! cargo run --example setup_webhooks -- --public-url https://bridge.example.com
//! ```
//!
//! Idempotent: every provider is asked for its existing webhooks first, and a webhook
//! already delivering to the bridge's URL is reused (run it at every deployment). On the
//! simulators it runs the whole set-up twice to show that the second run creates nothing.
//!
//! - **Aircall** (`POST /v1/webhooks`): the answer carries the webhook's `token`, which
//!   the Dashboard does not show. Store it as the Aircall webhook secret.
//! - **Zendesk** (`POST /api/v2/webhooks`, event subscriptions to agent status changes,
//!   then `GET /api/v2/webhooks/{id}/signing_secret`): store the signing secret. No
//!   trigger is needed: agent events reach webhooks through subscriptions only.
//! - **X** (`POST /2/webhooks`, then `POST /2/account_activity/webhooks/{id}/subscriptions/all`):
//!   the bridge must already answer X's CRC challenge on the URL; listing webhooks needs
//!   the app's bearer token (`X_APP_BEARER_TOKEN`). The signing key is the app's consumer
//!   secret, which you already have.
//! - **Usedesk** has no webhook API: the steps to follow by hand are printed.
//!
//! Each provider uses its real API when its credentials are set (the same variables as
//! the other examples: `AIRCALL_API_ID`/`AIRCALL_API_TOKEN`, `ZENDESK_*`, `X_USER_TOKEN`
//! or the four `X_*` OAuth 1.0a values with `X_USER_ID`), else a loopback simulator.
//! Secrets go to stdout (that is the point of this tool); everything else to stderr.

use std::process::ExitCode;

use deskbridge::aircall::BRIDGE_EVENTS;
use deskbridge::aircall::{AircallClient, AircallConfig};
use deskbridge::http::RateLimit;
use deskbridge::sim::aircall::{AircallSim, AircallSimConfig};
use deskbridge::sim::twitter::{XSim, XSimConfig};
use deskbridge::sim::zendesk::{ZendeskSim, ZendeskSimConfig};
use deskbridge::twitter::XWebhookSetup;
use deskbridge::twitter::{XClient, XConfig};
use deskbridge::zendesk::{ZendeskAuth, ZendeskClient, ZendeskConfig};
use deskbridge::{Error, Result};
use secrecy::ExposeSecret;

const USAGE: &str = "\
Usage: setup_webhooks [--public-url URL]

Find or create the Aircall, Zendesk and X webhooks of a bridge served at URL
(default https://bridge.example.com), and print the secrets to store.
Paths: /webhooks/aircall, /webhooks/zendesk, /webhooks/x, /webhooks/usedesk.";

/// The Usedesk steps, which have no API.
const USEDESK_STEPS: &str = "\
usedesk: no webhook API; in Usedesk: Channels > Add channel > API, then
  1. Redirect URL: {url}
  2. tick \"JSON request\" (deskbridge refuses form-encoded deliveries) and \"Send to UTF-8\";
  3. tick the events under \"Tracking tickets\" (and \"Tracking chat\" for chats) and move the
     watched channels to the right column; Save;
  4. store the channel's \"app secret key\" (the API token: ticket deliveries carry it as
     `secret`) and its \"app ID\" (chat deliveries carry that as `secret`).";

struct Providers {
    aircall: AircallClient,
    zendesk: ZendeskClient,
    x: XWebhookSetup,
    // The simulators live as long as the clients that use them.
    _sims: (Option<AircallSim>, Option<ZendeskSim>, Option<XSim>),
}

async fn providers() -> Result<Providers> {
    let (aircall, aircall_sim) = match AircallConfig::from_env()? {
        Some(config) => (AircallClient::new(config)?, None),
        None => {
            eprintln!("aircall: no credentials, using the simulator");
            let sim = AircallSim::start(AircallSimConfig::new(Vec::new())).await?;
            let config =
                AircallConfig::basic(AircallSimConfig::DEFAULT_API_ID, AircallSimConfig::DEFAULT_API_TOKEN)
                    .with_base_url(sim.base_url().as_str())?
                    .with_rate_limit(RateLimit::unlimited());
            (AircallClient::new(config)?, Some(sim))
        }
    };
    let (zendesk, zendesk_sim) = match ZendeskConfig::from_env()? {
        Some(config) => (ZendeskClient::new(config)?, None),
        None => {
            eprintln!("zendesk: no credentials, using the simulator");
            let sim = ZendeskSim::start(ZendeskSimConfig::new(Vec::new(), Vec::new())).await?;
            let config = ZendeskConfig::for_base_url(
                sim.base_url(),
                ZendeskAuth::api_token(ZendeskSimConfig::DEFAULT_EMAIL, ZendeskSimConfig::DEFAULT_API_TOKEN),
            )
            .with_rate_limit(RateLimit::unlimited());
            (ZendeskClient::new(config)?, Some(sim))
        }
    };
    let (x, x_sim) = match XConfig::from_env()? {
        Some(config) => {
            let mut setup = XWebhookSetup::new(XClient::new(config.clone())?);
            if let Some(token) = std::env::var("X_APP_BEARER_TOKEN").ok().filter(|t| !t.trim().is_empty()) {
                setup = setup.with_app_bearer(&config, token)?;
            }
            (setup, None)
        }
        None => {
            eprintln!("x: no credentials, using the simulator");
            let sim = XSim::start_with_sample().await?;
            let config = XConfig::with_user_token(deskbridge::sim::twitter::sample::OWN_ID, sim.token())
                .with_base_url(sim.base_url())?;
            let setup = XWebhookSetup::new(XClient::new(config.clone())?)
                .with_app_bearer(&config, XSimConfig::DEFAULT_APP_TOKEN)?;
            (setup, Some(sim))
        }
    };
    let simulated = aircall_sim.is_some() || zendesk_sim.is_some() || x_sim.is_some();
    if simulated {
        eprintln!("(simulated providers print simulator secrets, not real ones)");
    }
    Ok(Providers { aircall, zendesk, x, _sims: (aircall_sim, zendesk_sim, x_sim) })
}

/// One set-up pass; returns how many webhooks it created.
async fn set_up(providers: &Providers, public_url: &str) -> Result<usize> {
    let base = public_url.trim_end_matches('/');
    let mut created = 0;

    let events: Vec<String> = BRIDGE_EVENTS.iter().map(|e| e.to_string()).collect();
    let aircall_url = format!("{base}/webhooks/aircall");
    let aircall = providers.aircall.ensure_webhook("deskbridge", &aircall_url, &events).await?;
    created += usize::from(aircall.created);
    let token = aircall.webhook.token.as_ref().map(|t| t.expose_secret().to_owned()).unwrap_or_default();
    println!(
        "aircall: webhook {} {} -> {aircall_url}\n  AIRCALL_WEBHOOK_TOKEN={token}",
        aircall.webhook.webhook_id,
        if aircall.created { "created" } else { "found" }
    );

    let zendesk_url = format!("{base}/webhooks/zendesk");
    let zendesk = providers.zendesk.ensure_status_webhook("deskbridge agent status", &zendesk_url).await?;
    created += usize::from(zendesk.created);
    println!(
        "zendesk: webhook {} {} -> {zendesk_url} ({})\n  ZENDESK_WEBHOOK_SECRET={}",
        zendesk.webhook.id,
        if zendesk.created { "created" } else { "found" },
        zendesk.webhook.subscriptions.join(", "),
        zendesk.signing_secret.expose_secret()
    );

    let x_url = format!("{base}/webhooks/x");
    match providers.x.ensure(&x_url).await {
        Ok(x) => {
            created += usize::from(x.created);
            println!(
                "x: webhook {} {} -> {x_url}, account {}\n  (signing key: the app's consumer secret, X_CONSUMER_SECRET)",
                x.webhook.id,
                if x.created { "registered" } else { "found" },
                if x.subscribed_now { "subscribed now" } else { "already subscribed" }
            );
        }
        Err(Error::Config(message)) => eprintln!("x: skipped: {message}"),
        Err(other) => return Err(other),
    }

    println!("{}", USEDESK_STEPS.replace("{url}", &format!("{base}/webhooks/usedesk")));
    Ok(created)
}

async fn run(args: &[String]) -> Result<()> {
    let mut public_url = "https://bridge.example.com".to_owned();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--public-url" => {
                public_url = iter.next().cloned().ok_or_else(|| Error::config("--public-url needs a URL"))?;
            }
            other => return Err(Error::config(format!("unknown argument {other}\n{USAGE}"))),
        }
    }
    let providers = providers().await?;
    let first = set_up(&providers, &public_url).await?;
    let all_simulated =
        providers._sims.0.is_some() && providers._sims.1.is_some() && providers._sims.2.is_some();
    if all_simulated {
        eprintln!("first run created {first} webhook(s); running again to show it is idempotent");
        let second = set_up(&providers, &public_url).await?;
        eprintln!("second run created {second} webhook(s)");
        if second != 0 {
            return Err(Error::config("the second run created webhooks: not idempotent"));
        }
    }
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    match run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
    }
}
