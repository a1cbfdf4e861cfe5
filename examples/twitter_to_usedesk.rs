//! One pass of the X (Twitter) inbox: poll DMs and mentions since the stored cursor,
//! route them into Usedesk tickets with Usedesk's Twitter-channel rules, print the report.
//!
//! ```text
//! cargo run --example twitter_to_usedesk -- [--state PATH] [--json] [--dry-run]
//!                                           [--silence-alert-hours N]
//! ```
//!
//! Environment (each side independently; a side without credentials runs on its
//! simulator, started in this process with seeded conversations):
//!
//! - `X_USER_TOKEN` (OAuth 2.0 user token; or the four `X_CONSUMER_KEY`,
//!   `X_CONSUMER_SECRET`, `X_ACCESS_TOKEN`, `X_ACCESS_TOKEN_SECRET` for OAuth 1.0a),
//!   `X_USER_ID` (our own account, whose messages are skipped), `X_BASE_URL` (optional:
//!   everything before `/2/...`, e.g. `https://api.x.com`);
//! - `USEDESK_API_TOKEN`, `USEDESK_BASE_URL` (optional), `USEDESK_TWITTER_CHANNEL_ID`
//!   (required with a real Usedesk account: the channel tickets are created in).
//!
//! The state (an embedded SQLite database, or PostgreSQL with `--state postgres://…`)
//! keeps the cursor, the DM-to-ticket map and the processed message ids; it is meant for
//! real accounts. Simulators live only as long as this process, so when either side is
//! simulated the default state is a fresh database for this run (its name contains `sim`),
//! removed at the end.
//!
//! Exit status: 0 when no message failed, 1 when any failed (they are retried on the next
//! pass) or the pass could not run, 2 for bad usage or configuration.

use std::process::ExitCode;
use std::sync::Arc;

use chrono::Utc;
use deskbridge::http::RateLimit;
use deskbridge::inbox::{Inbox, InboxConfig};
use deskbridge::ports::StateStore;
use deskbridge::sim::twitter::XSim;
use deskbridge::sim::usedesk::{UsedeskSim, UsedeskSimConfig};
use deskbridge::store::{MemoryStore, StateSpec};
use deskbridge::twitter::{XConfig, XSource};
use deskbridge::usedesk::{UsedeskClient, UsedeskConfig, UsedeskDesk};

const USAGE: &str = "\
twitter_to_usedesk: one pass of X DMs and mentions into Usedesk tickets

USAGE:
    twitter_to_usedesk [OPTIONS]

OPTIONS:
    --state SPEC               State (cursor, DM-to-ticket map, processed ids): a
                               database PATH (embedded SQLite; an old state .json file
                               is imported once into the .sqlite3 beside it and left as
                               it was) or postgres://... (feature postgres), shared by
                               instances that each set DESKBRIDGE_INSTANCE_ID.
                               Default: deskbridge-twitter-to-usedesk.json in the system
                               temp directory; when a side is simulated, a fresh
                               per-run database (name contains \"sim\") removed at the end.
    --json                     Print only the JSON report on stdout.
    --dry-run                  Decide, but write nothing (no ticket, no comment, no state).
                               A message that would join a ticket opened earlier in the
                               same pass is shown joining it, as \"(new ticket N)\".
    --silence-alert-hours N    Alert when no customer message arrived for N hours.
    -h, --help                 Print this help.

ENVIRONMENT (a side without credentials runs on its in-process simulator):
    X_USER_TOKEN               X OAuth 2.0 user access token (or X_CONSUMER_KEY,
                               X_CONSUMER_SECRET, X_ACCESS_TOKEN, X_ACCESS_TOKEN_SECRET)
    X_USER_ID                  Our own X account id (its messages are skipped)
    X_BASE_URL                 Everything before /2/... (default https://api.x.com)
    USEDESK_API_TOKEN          Usedesk API token
    USEDESK_BASE_URL           Usedesk API base URL (default https://api.usedesk.ru)
    USEDESK_TWITTER_CHANNEL_ID Usedesk Twitter channel id (required with USEDESK_API_TOKEN)

EXIT STATUS:
    0 no message failed, 1 a message failed or the pass could not run, 2 bad usage
";

/// The command line.
#[derive(Debug, Default)]
struct Options {
    state: Option<String>,
    json: bool,
    dry_run: bool,
    silence_alert_hours: Option<u32>,
}

enum Command {
    Run(Options),
    Help,
}

/// Open the state `spec` names. A dry run writes nothing, so it does not create a
/// database that does not exist yet: it reads an empty state instead.
async fn open_store(spec: &str, temporary: bool, dry_run: bool) -> deskbridge::Result<Arc<dyn StateStore>> {
    let spec = StateSpec::parse(spec)?;
    let note = if temporary { " (for this simulated run only)" } else { "" };
    if dry_run && spec.database_path().is_some_and(|path| !path.exists()) {
        eprintln!("state: {spec}{note}: no database yet; a dry run creates none and reads empty state");
        return Ok(Arc::new(MemoryStore::new()));
    }
    eprintln!("state: {spec}{note}");
    spec.open().await
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut options = Options::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag.to_owned(), Some(value.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            match inline.clone().or_else(|| args.next()) {
                Some(v) if !v.is_empty() => Ok(v),
                _ => Err(format!("{name} needs a value")),
            }
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--json" | "--dry-run" if inline.is_some() => return Err(format!("{flag} takes no value")),
            "--json" => options.json = true,
            "--dry-run" => options.dry_run = true,
            "--state" => {
                if options.state.is_some() {
                    return Err("--state given twice".into());
                }
                options.state = Some(value("--state")?);
            }
            "--silence-alert-hours" => {
                if options.silence_alert_hours.is_some() {
                    return Err("--silence-alert-hours given twice".into());
                }
                let text = value("--silence-alert-hours")?;
                match text.parse::<u32>() {
                    Ok(hours) if hours > 0 => options.silence_alert_hours = Some(hours),
                    _ => {
                        return Err(format!(
                            "--silence-alert-hours needs a whole number of hours above 0, not \"{text}\""
                        ));
                    }
                }
            }
            other => return Err(format!("unknown argument \"{other}\"")),
        }
    }
    Ok(Command::Run(options))
}

/// Where messages come from and go to, with the simulators kept alive for the run.
struct Sides {
    source: XSource,
    desk: UsedeskDesk,
    channel_id: String,
    simulated: bool,
    _x_sim: Option<XSim>,
    _usedesk_sim: Option<UsedeskSim>,
}

/// Build both sides from the environment, starting a simulator for a side without
/// credentials. `Err` is a configuration problem (exit 2).
async fn sides() -> Result<Sides, String> {
    let (source, x_sim) = match XConfig::from_env().map_err(|e| e.to_string())? {
        Some(config) => {
            eprintln!("X: {} (account {})", config.base_url(), config.own_user_id);
            (XSource::from_config(config).map_err(|e| e.to_string())?, None)
        }
        None => {
            let sim = XSim::start_with_sample().await.map_err(|e| e.to_string())?;
            eprintln!("X: simulated at {} (no X_USER_TOKEN; seeded conversations)", sim.base_url());
            let config = XConfig::with_user_token(sim.own_user().id.clone(), sim.token())
                .with_base_url(sim.base_url())
                .map_err(|e| e.to_string())?;
            (XSource::from_config(config).map_err(|e| e.to_string())?, Some(sim))
        }
    };
    let channel_env = std::env::var("USEDESK_TWITTER_CHANNEL_ID").ok().filter(|v| !v.trim().is_empty());
    let (config, channel_id, usedesk_sim) = match UsedeskConfig::from_env().map_err(|e| e.to_string())? {
        Some(config) => {
            let channel_id = channel_env.map(|v| v.trim().to_owned()).ok_or(
                "USEDESK_TWITTER_CHANNEL_ID is not set: the id of the Usedesk Twitter channel tickets go to",
            )?;
            if !channel_id.bytes().all(|b| b.is_ascii_digit()) {
                return Err("USEDESK_TWITTER_CHANNEL_ID must be a numeric channel id".into());
            }
            eprintln!("Usedesk: {} (channel {channel_id})", config.base_url());
            (config, channel_id, None)
        }
        None => {
            if channel_env.is_some() {
                eprintln!("note: USEDESK_TWITTER_CHANNEL_ID is ignored without USEDESK_API_TOKEN");
            }
            let sim = UsedeskSim::start_with_sample().await.map_err(|e| e.to_string())?;
            let channel_id = UsedeskSimConfig::SAMPLE_TWITTER_CHANNEL_ID.to_string();
            eprintln!(
                "Usedesk: simulated at {} (no USEDESK_API_TOKEN; Twitter channel {channel_id})",
                sim.base_url()
            );
            let config = UsedeskConfig::new(UsedeskSimConfig::DEFAULT_API_TOKEN)
                .and_then(|c| c.with_base_url(sim.base_url().as_str()))
                .map_err(|e| e.to_string())?
                .with_rate_limit(RateLimit::unlimited());
            (config, channel_id, Some(sim))
        }
    };
    let desk = UsedeskDesk::new(UsedeskClient::new(config).map_err(|e| e.to_string())?)
        .with_channel(channel_id.clone());
    let simulated = x_sim.is_some() || usedesk_sim.is_some();
    Ok(Sides { source, desk, channel_id, simulated, _x_sim: x_sim, _usedesk_sim: usedesk_sim })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(Command::Run(options)) => options,
        Ok(Command::Help) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("error: {message}\n(run with --help for usage)");
            return ExitCode::from(2);
        }
    };
    let sides = match sides().await {
        Ok(sides) => sides,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };

    // Stored state is only meaningful for real accounts: simulators start fresh each run.
    let (state_spec, temporary_state) = match &options.state {
        Some(spec) => (spec.clone(), false),
        None if sides.simulated => (
            std::env::temp_dir()
                .join(format!("deskbridge-twitter-to-usedesk-sim-{}.sqlite3", std::process::id()))
                .display()
                .to_string(),
            true,
        ),
        None => {
            (std::env::temp_dir().join("deskbridge-twitter-to-usedesk.json").display().to_string(), false)
        }
    };
    let store = match open_store(&state_spec, temporary_state, options.dry_run).await {
        Ok(store) => store,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };

    let config =
        InboxConfig::default().with_channel_id(Some(sides.channel_id.clone())).with_silence_alert_after(
            options.silence_alert_hours.map(|h| std::time::Duration::from_secs(u64::from(h) * 3600)),
        );
    // DM photos reach the ticket as files, downloaded with the account's X credentials.
    let attacher = deskbridge::bridges::XDmMediaToUsedesk::new(
        sides.source.client().clone(),
        sides.desk.client().clone(),
    );
    let inbox = Inbox::new(Arc::new(sides.source.clone()), Arc::new(sides.desk.clone()), store, config)
        .media_attacher(Arc::new(attacher));
    let result = if options.dry_run {
        inbox.preview_poll(Utc::now()).await
    } else {
        inbox.poll_once(Utc::now()).await
    };
    drop(inbox);
    if temporary_state {
        // Ignore "not found": a dry run writes no database.
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{state_spec}{suffix}"));
        }
    }
    let report = match result {
        Ok(report) => report,
        Err(e) => {
            eprintln!("error: the pass could not run: {e}");
            return ExitCode::from(1);
        }
    };

    if options.json {
        match serde_json::to_string_pretty(&report) {
            Ok(json) => println!("{json}"),
            Err(e) => {
                eprintln!("error: cannot encode the report: {e}");
                return ExitCode::from(1);
            }
        }
    } else {
        print!("{report}");
    }
    if report.is_success() { ExitCode::SUCCESS } else { ExitCode::from(1) }
}
