//! One-shot Aircall ⇄ Zendesk agent status sync.
//!
//! ```text
//! cargo run --example one_shot_sync                                  # Aircall → Zendesk, on simulators
//! cargo run --example one_shot_sync -- --direction zendesk-to-aircall
//! cargo run --example one_shot_sync -- --dry-run --json
//! ```
//!
//! With no credentials both sides are loopback simulators (started in-process on
//! 127.0.0.1) seeded with a small, realistic roster: agents already in sync, agents out of
//! sync, one on Aircall's Automatic Schedule (`custom`), one in a Zendesk custom status
//! ("In a meeting"), one agent present in each system only, and e-mails that differ in case.
//! Each side independently becomes the real API when its credentials are set:
//!
//! - Aircall: `AIRCALL_API_ID` + `AIRCALL_API_TOKEN` (or `AIRCALL_ACCESS_TOKEN`),
//!   optional `AIRCALL_BASE_URL`;
//! - Zendesk: `ZENDESK_EMAIL` + `ZENDESK_API_TOKEN` (or `ZENDESK_OAUTH_TOKEN`) and
//!   `ZENDESK_SUBDOMAIN` or `ZENDESK_BASE_URL`.
//!
//! The report goes to stdout (a table, or with `--json` only the JSON report); which side
//! is simulated, and errors, go to stderr. Exit code: 0 when every planned change was
//! written or deliberately skipped, 1 when a write (or the sync) failed, 2 for bad usage
//! or configuration.
//!
//! The end-to-end tests (`tests/e2e/e2e_one_shot.rs`) include this file as a module and drive
//! the same functions against simulators they control.

use std::process::ExitCode;

use deskbridge::aircall::{AircallConfig, AircallProvider};
use deskbridge::http::RateLimit;
use deskbridge::mapping::{Side, StatusMap};
use deskbridge::sim::aircall::{
    AircallAvailabilityStatus, AircallSim, AircallSimConfig, AircallTeamSeed, AircallUserSeed,
};
use deskbridge::sim::zendesk::{
    ZendeskAgentSeed, ZendeskChannels, ZendeskGroupSeed, ZendeskSeedStatus, ZendeskSim, ZendeskSimConfig,
    ZendeskUnifiedStatus,
};
use deskbridge::sync::{ApplyOptions, OneShot, OneWaySpec, SyncReport};
use deskbridge::zendesk::{ZendeskAuth, ZendeskConfig, ZendeskProvider};
use deskbridge::{Error, Result};

/// The `--help` text.
pub const USAGE: &str = "\
Usage: one_shot_sync [--direction aircall-to-zendesk|zendesk-to-aircall] [--dry-run] [--json]

One-shot sync of agent statuses between Aircall and Zendesk (voice).

Options:
  --direction DIR   aircall-to-zendesk (default) or zendesk-to-aircall
  --dry-run         plan only: show what would be written, write nothing
  --json            print the report as JSON on stdout (nothing else goes to stdout)
  -h, --help        show this help

Environment (each side uses its simulator when its credentials are not set):
  AIRCALL_API_ID, AIRCALL_API_TOKEN (or AIRCALL_ACCESS_TOKEN), AIRCALL_BASE_URL
  ZENDESK_EMAIL, ZENDESK_API_TOKEN (or ZENDESK_OAUTH_TOKEN), ZENDESK_SUBDOMAIN or ZENDESK_BASE_URL

Exit status: 0 every planned change written or deliberately skipped, 1 a write failed,
2 bad usage or configuration.
";

/// Which way statuses flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Aircall is the source, Zendesk the target.
    AircallToZendesk,
    /// Zendesk is the source, Aircall the target.
    ZendeskToAircall,
}

impl Direction {
    fn parse(text: &str) -> std::result::Result<Self, String> {
        match text {
            "aircall-to-zendesk" => Ok(Self::AircallToZendesk),
            "zendesk-to-aircall" => Ok(Self::ZendeskToAircall),
            other => Err(format!(
                "unknown direction \"{other}\" (expected aircall-to-zendesk or zendesk-to-aircall)"
            )),
        }
    }
}

/// Parsed command-line options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Which way statuses flow.
    pub direction: Direction,
    /// Plan only.
    pub dry_run: bool,
    /// JSON report on stdout.
    pub json: bool,
}

/// What the command line asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Run the sync.
    Run(Options),
    /// Print the help text.
    Help,
}

/// Parse the arguments (without the program name). Errors are messages for stderr.
pub fn parse_args<I: IntoIterator<Item = String>>(args: I) -> std::result::Result<Command, String> {
    let mut options = Options { direction: Direction::AircallToZendesk, dry_run: false, json: false };
    let mut direction_seen = false;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag.to_owned(), Some(value.to_owned())),
            _ => (arg.clone(), None),
        };
        match flag.as_str() {
            "-h" | "--help" if inline.is_none() => return Ok(Command::Help),
            "--dry-run" if inline.is_none() => options.dry_run = true,
            "--json" if inline.is_none() => options.json = true,
            "--direction" => {
                if direction_seen {
                    return Err("--direction given twice".into());
                }
                direction_seen = true;
                let value = match inline {
                    Some(value) => value,
                    None => args.next().ok_or("--direction needs a value")?,
                };
                options.direction = Direction::parse(&value)?;
            }
            "--dry-run" | "--json" | "-h" | "--help" => return Err(format!("{flag} takes no value")),
            _ => return Err(format!("unknown argument \"{arg}\"")),
        }
    }
    Ok(Command::Run(options))
}

/// One person of the demo roster and how each system holds them.
#[derive(Debug, Clone, Copy)]
pub struct RosterEntry {
    /// Display name.
    pub name: &'static str,
    /// The e-mail in Aircall, when the person has an Aircall user.
    pub aircall_email: Option<&'static str>,
    /// Aircall `availability_status`.
    pub aircall_status: AircallAvailabilityStatus,
    /// The e-mail in Zendesk, when the person is a Zendesk agent.
    pub zendesk_email: Option<&'static str>,
    /// Zendesk unified status name (omnichannel routing on).
    pub zendesk_status: &'static str,
    /// Zendesk legacy Talk state (omnichannel routing off).
    pub zendesk_talk: &'static str,
}

/// The Zendesk custom status of the roster.
pub const IN_A_MEETING: &str = "In a meeting";
/// Its status id in the simulator (ids are data; the client resolves them by name).
pub const IN_A_MEETING_ID: i64 = 360_000_123_001;
/// Aircall user ids of the roster: `AIRCALL_FIRST_ID + position`.
pub const AIRCALL_FIRST_ID: u64 = 1001;
/// Zendesk user ids of the roster: `ZENDESK_FIRST_ID + position`.
pub const ZENDESK_FIRST_ID: i64 = 16_765_840_571_001;

/// The demo roster (position in this list gives the ids).
pub fn roster() -> Vec<RosterEntry> {
    use AircallAvailabilityStatus::{Available, Custom, Unavailable};
    let both = |name, email, aircall_status, zendesk_status, zendesk_talk| RosterEntry {
        name,
        aircall_email: Some(email),
        aircall_status,
        zendesk_email: Some(email),
        zendesk_status,
        zendesk_talk,
    };
    vec![
        both("Ana Lima", "ana.lima@example.com", Available, "online", "online"),
        both("Ben Okafor", "ben.okafor@example.com", Unavailable, "offline", "offline"),
        both("Chloé Martin", "chloe.martin@example.com", Available, "offline", "offline"),
        both("Diego Álvarez", "diego.alvarez@example.com", Unavailable, "online", "online"),
        both("Emma Schmidt", "emma.schmidt@example.com", Unavailable, "away", "away"),
        // Automatic Schedule in Aircall.
        both("Farah Haddad", "farah.haddad@example.com", Custom, "online", "online"),
        // A Zendesk custom status whose talk channel is away.
        both("Grace Kim", "grace.kim@example.com", Available, IN_A_MEETING, "away"),
        // The same person, e-mails differing in case.
        RosterEntry {
            name: "Hiro Tanaka",
            aircall_email: Some("Hiro.Tanaka@Example.com"),
            aircall_status: Available,
            zendesk_email: Some("hiro.tanaka@example.com"),
            zendesk_status: "transfers_only",
            zendesk_talk: "transfers_only",
        },
        // Only in Aircall.
        RosterEntry {
            name: "Isabel Rossi",
            aircall_email: Some("isabel.rossi@example.com"),
            aircall_status: Available,
            zendesk_email: None,
            zendesk_status: "offline",
            zendesk_talk: "offline",
        },
        // Only in Zendesk.
        RosterEntry {
            name: "Jonas Berg",
            aircall_email: None,
            aircall_status: Unavailable,
            zendesk_email: Some("jonas.berg@example.com"),
            zendesk_status: "online",
            zendesk_talk: "online",
        },
        both("Kwame Mensah", "kwame.mensah@example.com", Available, "online", "online"),
        both("Lena Novák", "lena.novak@example.com", Unavailable, "online", "online"),
    ]
}

/// The Aircall simulator seed for [`roster`]: users and two teams.
pub fn aircall_sim_config() -> AircallSimConfig {
    let mut users = Vec::new();
    for (position, entry) in roster().iter().enumerate() {
        if let Some(email) = entry.aircall_email {
            users.push(
                AircallUserSeed::new(AIRCALL_FIRST_ID + position as u64, entry.name, email)
                    .with_status(entry.aircall_status),
            );
        }
    }
    let ids: Vec<u64> = users.iter().map(|user| user.id).collect();
    let (first_line, billing) = ids.split_at(ids.len() * 2 / 3);
    AircallSimConfig::new(users).teams(vec![
        AircallTeamSeed { id: 501, name: "Support".into(), user_ids: first_line.to_vec() },
        AircallTeamSeed { id: 502, name: "Billing".into(), user_ids: billing.to_vec() },
    ])
}

/// The Zendesk simulator seed for [`roster`]: agents, two groups, the "In a meeting"
/// custom status, omnichannel routing on or off.
pub fn zendesk_sim_config(omnichannel_routing: bool) -> ZendeskSimConfig {
    let statuses = ZendeskUnifiedStatus::defaults();
    let in_a_meeting = ZendeskUnifiedStatus::custom(
        IN_A_MEETING_ID,
        IN_A_MEETING,
        ZendeskChannels { messaging: "away".into(), support: "online".into(), talk: "away".into() },
    );
    let groups = vec![ZendeskGroupSeed::new(360_001, "Support"), ZendeskGroupSeed::new(360_002, "Billing")];
    let mut agents = Vec::new();
    for (position, entry) in roster().iter().enumerate() {
        let Some(email) = entry.zendesk_email else { continue };
        let status = statuses
            .iter()
            .chain(std::iter::once(&in_a_meeting))
            .find(|status| status.name == entry.zendesk_status)
            .map_or(ZendeskSeedStatus::Offline, ZendeskSeedStatus::of);
        let group = if position % 3 == 2 { 360_002 } else { 360_001 };
        agents.push(
            ZendeskAgentSeed::new(ZENDESK_FIRST_ID + position as i64, entry.name, email)
                .with_groups(vec![group])
                .with_status(status)
                .with_talk_state(entry.zendesk_talk),
        );
    }
    ZendeskSimConfig::new(agents, groups)
        .custom_statuses(vec![in_a_meeting])
        .omnichannel_routing(omnichannel_routing)
}

/// An Aircall provider on a simulator: its default credentials, no client-side pacing
/// (the simulator has no limit).
pub fn aircall_on_sim(sim: &AircallSim) -> Result<AircallProvider> {
    let config = AircallConfig::basic(AircallSimConfig::DEFAULT_API_ID, AircallSimConfig::DEFAULT_API_TOKEN)
        .with_base_url(sim.base_url().as_str())?
        .with_rate_limit(RateLimit::unlimited());
    AircallProvider::from_config(config)
}

/// A Zendesk provider on a simulator: its default credentials, no client-side pacing.
pub fn zendesk_on_sim(sim: &ZendeskSim) -> Result<ZendeskProvider> {
    let auth = ZendeskAuth::api_token(ZendeskSimConfig::DEFAULT_EMAIL, ZendeskSimConfig::DEFAULT_API_TOKEN);
    let config = ZendeskConfig::for_base_url(sim.base_url(), auth).with_rate_limit(RateLimit::unlimited());
    ZendeskProvider::from_config(config)
}

/// The two providers, and the simulators standing in for the sides without credentials
/// (kept alive for the run).
pub struct Sides {
    /// Aircall (real or simulated).
    pub aircall: AircallProvider,
    /// Zendesk (real or simulated).
    pub zendesk: ZendeskProvider,
    /// The Aircall simulator, when Aircall is simulated.
    pub aircall_sim: Option<AircallSim>,
    /// The Zendesk simulator, when Zendesk is simulated.
    pub zendesk_sim: Option<ZendeskSim>,
}

/// Build both sides: the real API where `aircall` / `zendesk` configurations are given
/// (with the providers' default pacing), a seeded simulator elsewhere. Says on stderr
/// which is which.
pub async fn connect(aircall: Option<AircallConfig>, zendesk: Option<ZendeskConfig>) -> Result<Sides> {
    let (aircall, aircall_sim) = match aircall {
        Some(config) => {
            eprintln!("aircall: real API at {}", config.base_url());
            (AircallProvider::from_config(config)?, None)
        }
        None => {
            let sim = AircallSim::start(aircall_sim_config()).await?;
            eprintln!("aircall: simulated at {} (no AIRCALL_API_ID/AIRCALL_API_TOKEN set)", sim.base_url());
            (aircall_on_sim(&sim)?, Some(sim))
        }
    };
    let (zendesk, zendesk_sim) = match zendesk {
        Some(config) => {
            eprintln!("zendesk: real API at {}", config.base_url());
            (ZendeskProvider::from_config(config)?, None)
        }
        None => {
            let sim = ZendeskSim::start(zendesk_sim_config(true)).await?;
            eprintln!("zendesk: simulated at {} (no ZENDESK_EMAIL/ZENDESK_API_TOKEN set)", sim.base_url());
            (zendesk_on_sim(&sim)?, Some(sim))
        }
    };
    Ok(Sides { aircall, zendesk, aircall_sim, zendesk_sim })
}

/// The seed mapping (Aircall = side A, Zendesk = side B), voice to voice, from the
/// direction's source.
pub fn spec(direction: Direction) -> OneWaySpec {
    let from = match direction {
        Direction::AircallToZendesk => Side::A,
        Direction::ZendeskToAircall => Side::B,
    };
    OneWaySpec::new(StatusMap::aircall_zendesk(), from)
}

/// Run the one-shot sync between `aircall` and `zendesk` in `direction`.
pub async fn sync(
    aircall: &AircallProvider,
    zendesk: &ZendeskProvider,
    direction: Direction,
    dry_run: bool,
) -> Result<SyncReport> {
    let one_shot = match direction {
        Direction::AircallToZendesk => OneShot::new(aircall, zendesk, spec(direction)),
        Direction::ZendeskToAircall => OneShot::new(zendesk, aircall, spec(direction)),
    };
    let one_shot = one_shot.options(ApplyOptions::default());
    if dry_run { one_shot.plan().await.map(SyncReport::preview) } else { one_shot.run().await }
}

/// Print the report: JSON alone, or the table.
pub fn print_report(report: &SyncReport, json: bool) -> Result<()> {
    if json {
        let text = serde_json::to_string_pretty(report)
            .map_err(|e| Error::invalid("report", format!("cannot encode the report as JSON: {e}")))?;
        println!("{text}");
    } else {
        print!("{report}");
    }
    Ok(())
}

/// The exit code for a finished report.
pub fn exit_code(report: &SyncReport) -> u8 {
    if report.is_success() { 0 } else { 1 }
}

async fn run(options: Options) -> ExitCode {
    let configs = AircallConfig::from_env().and_then(|a| ZendeskConfig::from_env().map(|z| (a, z)));
    let (aircall_config, zendesk_config) = match configs {
        Ok(configs) => configs,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    let sides = match connect(aircall_config, zendesk_config).await {
        Ok(sides) => sides,
        Err(error @ Error::Config(..)) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(1);
        }
    };
    let result = sync(&sides.aircall, &sides.zendesk, options.direction, options.dry_run).await;
    let code = match result {
        Ok(report) => match print_report(&report, options.json) {
            Ok(()) => {
                if !report.is_success() {
                    eprintln!("error: {} write(s) failed", report.failed.len());
                }
                exit_code(&report)
            }
            Err(error) => {
                eprintln!("error: {error}");
                1
            }
        },
        Err(error) => {
            eprintln!("error: sync failed: {error}");
            if matches!(error, Error::Config(..)) { 2 } else { 1 }
        }
    };
    if let Some(sim) = sides.aircall_sim {
        sim.shutdown().await;
    }
    if let Some(sim) = sides.zendesk_sim {
        sim.shutdown().await;
    }
    ExitCode::from(code)
}

fn main() -> ExitCode {
    let command = match parse_args(std::env::args().skip(1)) {
        Ok(command) => command,
        Err(message) => {
            eprintln!("error: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let options = match command {
        Command::Help => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Command::Run(options) => options,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(run(options))
}
