//! Set Usedesk agents' chat and ticket statuses from a shift schedule.
//!
//! At an instant, every agent on shift is set online and every agent off shift offline,
//! per channel, through the group filter: chat status only for members of the
//! `--group-chats` groups, ticket status only for members of the `--group-requests`
//! groups (no list: everyone), nothing for members of a `--do-not-change` group. Agents
//! the schedule does not know are left alone unless `--offline-unscheduled` is given.
//! Configured group names that match no Usedesk group stop the run before anything is
//! written (`--allow-unknown-groups` turns that into a warning).
//!
//! ```text
//! cargo run --example shift_to_usedesk                       # simulator + sample schedule
//! cargo run --example shift_to_usedesk -- --json --dry-run
//! cargo run --example shift_to_usedesk -- --group-chats "Chat team" --group-requests "Mail team"
//! cargo run --example shift_to_usedesk -- --watch --for 10
//! USEDESK_API_TOKEN=… cargo run --example shift_to_usedesk -- --schedule shifts.csv --dry-run
//! cargo run --example shift_to_usedesk -- --source shifton    # Shifton simulator unless SHIFTON_* set
//! cargo run --example shift_to_usedesk -- --source ical examples/data/sample_rota.ics
//! cargo run --example shift_to_usedesk -- --source ical https://calendar.example.com/rota.ics --watch
//! ```
//!
//! Without `USEDESK_API_TOKEN` it runs against the in-process Usedesk simulator (sample
//! roster) with the bundled `examples/data/sample_schedule.csv`, at 2026-11-23T10:00:00Z
//! unless `--at` is given. `--source shifton` reads Shifton (the `SHIFTON_*` variables;
//! without them, the in-process Shifton simulator's sample company and
//! `examples/data/shifton_employee_map.csv`); `--source ical FILE_OR_URL` reads an
//! iCalendar file or feed URL (polled with `ETag` / `If-Modified-Since` in watch mode). Exit codes: 0 when every planned change was written or
//! deliberately skipped, 1 when a write or a provider call failed, 2 for bad usage or
//! configuration (unknown group names included, in which case nothing was written).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use chrono_tz::Tz;
use deskbridge::Error;
use deskbridge::filter::GroupFilter;
use deskbridge::http::RateLimit;
use deskbridge::ical::{IcalFeed, IcalSource};
use deskbridge::ports::{ScheduleSource, StateStore};
use deskbridge::schedule::ical::{AllDay, Assignee, IcalOptions};
use deskbridge::schedule::{Schedule, parse_zone, shifts_from_csv, shifts_from_json};
use deskbridge::shifton::{ShiftonAuth, ShiftonClient, ShiftonConfig, ShiftonSchedule};
use deskbridge::sim::shifton::{ShiftonSim, ShiftonSimConfig};
use deskbridge::sim::usedesk::{UsedeskSim, UsedeskSimConfig};
use deskbridge::status::Channel;
use deskbridge::store::StateSpec;
use deskbridge::sync::default_instance_id;
use deskbridge::sync::{ShiftSpec, ShiftSync, SyncReport, Unscheduled};
use deskbridge::usedesk::{UsedeskClient, UsedeskConfig, UsedeskProvider};
use reqwest::Method;

/// The schedule used when no `--schedule` is given on the simulator.
const SAMPLE_SCHEDULE: &str = include_str!("data/sample_schedule.csv");
/// The employee map used with the Shifton simulator.
const SAMPLE_EMPLOYEE_MAP: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/shifton_employee_map.csv");
/// Default seconds between two checks of a Shifton or iCalendar source in watch mode.
const DEFAULT_POLL_SECONDS: u64 = 60;
/// The instant used with the bundled sample when no `--at` is given (11:00 in Berlin on
/// the sample's first day: some agents on shift, some off).
const SAMPLE_INSTANT: (i32, u32, u32, u32) = (2026, 11, 23, 10);
/// Default reconcile interval in watch mode.
const DEFAULT_RECONCILE_SECONDS: u64 = 300;

const HELP: &str = "\
shift_to_usedesk: set Usedesk agents online on shift and offline off shift

USAGE:
    shift_to_usedesk [OPTIONS]

OPTIONS:
    --schedule PATH            Shift schedule, CSV or JSON (by extension .csv/.json, else
                               by content). Columns/fields: email, start, end, timezone.
                               Default on the simulator: the bundled sample schedule.
    --source schedule          Read --schedule (default).
    --source shifton           Read shifts from Shifton (SHIFTON_* variables below; none
                               set: the Shifton simulator's sample company).
    --source ical FILE_OR_URL  Read an iCalendar file or feed (https://, webcal://). A
                               shared calendar by default: each event's attendees, or an
                               e-mail in its summary, are the agents on shift.
    --ical-agent EMAIL         The iCalendar feed is this one agent's own calendar.
    --ical-calendars PATH      One calendar per agent: a CSV file with the columns
                               feed,email (feed = file or URL); replaces FILE_OR_URL.
    --ical-all-day shift|ignore  All-day events are shifts (default) or ignored.
    --poll-every SECONDS       Watch mode: check a Shifton or iCalendar source at most
                               this often (default 60; an unchanged feed costs a 304).
    --at RFC3339               The instant to apply (default: now; on the simulator with
                               the bundled sample: 2026-11-23T10:00:00Z). With --watch the
                               clock starts there and runs at real speed.
    --timezone ZONE            IANA zone for schedule times without a zone (default UTC).
    --group-chats \"A,B\"        Set chat status only for members of these groups.
    --group-requests \"C\"       Set ticket status only for members of these groups.
    --do-not-change \"D\"        Never touch members of these groups.
                               (Comma-separated; names may contain spaces and are
                               matched exactly. The group flags may be repeated.)
    --allow-unknown-groups     Warn about group names Usedesk does not have instead of
                               stopping before anything is written.
    --offline-unscheduled      Set agents who have no shift in the schedule offline
                               (default: leave them alone).
    --dry-run                  Plan and report, write nothing.
    --json                     Print only the JSON report on stdout (in watch mode one
                               JSON line per run: {\"at\", \"report\"} or {\"at\", \"error\"}).
    --watch                    Keep running: apply again at every shift boundary or
                               reconcile interval, whichever comes first.
    --reconcile-every SECONDS  Watch mode: apply at least this often (default 300).
    --for SECONDS              Watch mode: stop after this long (default: run until killed).
    --state SPEC               Apply only while holding the claim shift_to_usedesk/claim
                               in this store: a database PATH (embedded SQLite) or
                               postgres://... (feature postgres). Instances started on
                               one store (each with its own DESKBRIDGE_INSTANCE_ID) never
                               apply at once: a second one-shot run writes nothing and
                               exits 0; a second --watch stands by and takes over within
                               a lease (twice --reconcile-every, at least 60 s) of the
                               first one stopping. Default: no store, no claim.
    -h, --help                 Print this help.

ENVIRONMENT:
    USEDESK_API_TOKEN          API channel token. Unset: run on the in-process simulator.
    USEDESK_BASE_URL           Everything before the method name (default
                               https://api.usedesk.ru; e.g. https://secure.usedesk.com/uapi).
    SHIFTON_API_KEY            Shifton API key (current API), or the legacy login:
    SHIFTON_USERNAME, SHIFTON_PASSWORD, SHIFTON_CLIENT_ID, SHIFTON_CLIENT_SECRET
    SHIFTON_COMPANY_ID         Company id (needed by the legacy login).
    SHIFTON_PROJECT_ID         The project whose shifts are read.
    SHIFTON_TIME_ZONE          The company's IANA zone (planned times are local to it).
    SHIFTON_BASE_URL           Token and employees host (default https://api2.shifton.com).
    SHIFTON_SHIFTS_BASE_URL    Shifts host (default https://api.shifton.com).
    SHIFTON_EMPLOYEE_MAP       CSV employee_id,email for employees without an e-mail.

EXIT CODES:
    0  every planned change was written or deliberately skipped
    1  a write or a provider call failed
    2  bad usage or configuration (unknown group names: nothing was written)
";

/// Parsed command line.
#[derive(Debug)]
struct Options {
    schedule: Option<PathBuf>,
    source: Source,
    ical_agent: Option<String>,
    ical_calendars: Option<PathBuf>,
    ical_all_day: AllDay,
    poll_every: Duration,
    at: Option<DateTime<Utc>>,
    timezone: Tz,
    group_chats: Vec<String>,
    group_requests: Vec<String>,
    do_not_change: Vec<String>,
    allow_unknown_groups: bool,
    offline_unscheduled: bool,
    dry_run: bool,
    json: bool,
    watch: bool,
    reconcile_every: Duration,
    run_for: Option<Duration>,
    state: Option<String>,
}

/// Where the shifts come from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    /// `--schedule PATH` (or the bundled sample).
    Schedule,
    /// Shifton.
    Shifton,
    /// An iCalendar file or URL (`None` with `--ical-calendars`).
    Ical(Option<String>),
}

/// What the command line asks for.
#[derive(Debug)]
enum Command {
    Help,
    Run(Box<Options>),
}

fn parse_seconds(flag: &str, value: &str) -> Result<Duration, String> {
    let seconds: f64 =
        value.trim().parse().map_err(|_| format!("{flag} expects a number of seconds, got \"{value}\""))?;
    if !(seconds.is_finite() && seconds > 0.0) {
        return Err(format!("{flag} expects a positive number of seconds, got \"{value}\""));
    }
    Duration::try_from_secs_f64(seconds).map_err(|_| format!("{flag}: \"{value}\" is too large"))
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut options = Options {
        schedule: None,
        source: Source::Schedule,
        ical_agent: None,
        ical_calendars: None,
        ical_all_day: AllDay::Shift,
        poll_every: Duration::from_secs(DEFAULT_POLL_SECONDS),
        at: None,
        timezone: Tz::UTC,
        group_chats: Vec::new(),
        group_requests: Vec::new(),
        do_not_change: Vec::new(),
        allow_unknown_groups: false,
        offline_unscheduled: false,
        dry_run: false,
        json: false,
        watch: false,
        reconcile_every: Duration::from_secs(DEFAULT_RECONCILE_SECONDS),
        run_for: None,
        state: None,
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        // `--flag=value` and `--flag value` are both accepted for flags with a value.
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag.to_owned(), Some(value.to_owned())),
            _ => (arg.clone(), None),
        };
        let takes_value = matches!(
            flag.as_str(),
            "--schedule"
                | "--at"
                | "--timezone"
                | "--group-chats"
                | "--group-requests"
                | "--do-not-change"
                | "--reconcile-every"
                | "--for"
                | "--source"
                | "--ical-agent"
                | "--ical-calendars"
                | "--ical-all-day"
                | "--poll-every"
                | "--state"
        );
        let value = if takes_value {
            match inline {
                Some(value) => Some(value),
                None => Some(args.next().ok_or_else(|| format!("{flag} needs a value"))?),
            }
        } else {
            if inline.is_some() {
                return Err(format!("{flag} takes no value"));
            }
            None
        };
        let value = value.unwrap_or_default();
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--schedule" => {
                if value.trim().is_empty() {
                    return Err("--schedule needs a path".into());
                }
                options.schedule = Some(PathBuf::from(value));
            }
            "--at" => {
                let at = DateTime::parse_from_rfc3339(value.trim()).map_err(|e| {
                    format!(
                        "--at expects an RFC 3339 instant such as 2026-11-23T10:00:00Z, got \"{value}\": {e}"
                    )
                })?;
                options.at = Some(at.with_timezone(&Utc));
            }
            "--source" => {
                options.source = match value.trim() {
                    "schedule" | "file" => Source::Schedule,
                    "shifton" => Source::Shifton,
                    "ical" => {
                        // The location follows, unless --ical-calendars gives the feeds.
                        match args.next() {
                            Some(next) if next == "--ical-calendars" => {
                                let path = args.next().ok_or("--ical-calendars needs a path")?;
                                options.ical_calendars = Some(PathBuf::from(path));
                                Source::Ical(None)
                            }
                            Some(next) if !next.starts_with("--") => Source::Ical(Some(next)),
                            _ => {
                                return Err(
                                    "--source ical needs a FILE_OR_URL (or --ical-calendars PATH)".into()
                                );
                            }
                        }
                    }
                    other => {
                        return Err(format!("--source expects schedule, shifton or ical, got \"{other}\""));
                    }
                };
            }
            "--ical-agent" => {
                if !value.contains('@') {
                    return Err(format!("--ical-agent expects an e-mail, got \"{value}\""));
                }
                options.ical_agent = Some(value.trim().to_owned());
            }
            "--ical-calendars" => options.ical_calendars = Some(PathBuf::from(value)),
            "--ical-all-day" => {
                options.ical_all_day = match value.trim() {
                    "shift" => AllDay::Shift,
                    "ignore" => AllDay::Ignore,
                    other => return Err(format!("--ical-all-day expects shift or ignore, got \"{other}\"")),
                };
            }
            "--poll-every" => options.poll_every = parse_seconds("--poll-every", &value)?,
            "--timezone" => options.timezone = parse_zone(&value).map_err(|e| format!("--timezone: {e}"))?,
            "--group-chats" => options.group_chats.extend(GroupFilter::parse_names(&value)),
            "--group-requests" => options.group_requests.extend(GroupFilter::parse_names(&value)),
            "--do-not-change" => options.do_not_change.extend(GroupFilter::parse_names(&value)),
            "--allow-unknown-groups" => options.allow_unknown_groups = true,
            "--offline-unscheduled" => options.offline_unscheduled = true,
            "--dry-run" => options.dry_run = true,
            "--json" => options.json = true,
            "--watch" => options.watch = true,
            "--reconcile-every" => options.reconcile_every = parse_seconds("--reconcile-every", &value)?,
            "--for" => options.run_for = Some(parse_seconds("--for", &value)?),
            "--state" => {
                StateSpec::parse(&value).map_err(|e| format!("--state: {e}"))?;
                options.state = Some(value);
            }
            other => return Err(format!("unknown argument \"{other}\"")),
        }
    }
    if options.watch && options.dry_run {
        return Err("--watch cannot be combined with --dry-run (a dry run changes nothing to watch)".into());
    }
    if !options.watch && options.run_for.is_some() {
        return Err("--for only applies with --watch".into());
    }
    if options.ical_calendars.is_some() && options.source == Source::Schedule {
        options.source = Source::Ical(None);
    }
    match &options.source {
        Source::Schedule | Source::Shifton
            if options.ical_agent.is_some() || options.ical_calendars.is_some() =>
        {
            return Err("--ical-agent and --ical-calendars only apply with --source ical".into());
        }
        Source::Shifton | Source::Ical(_) if options.schedule.is_some() => {
            return Err("--schedule only applies with --source schedule".into());
        }
        Source::Ical(Some(_)) if options.ical_calendars.is_some() => {
            return Err("give either --source ical FILE_OR_URL or --ical-calendars PATH, not both".into());
        }
        Source::Ical(None) if options.ical_agent.is_some() => {
            return Err("--ical-agent applies to one feed; --ical-calendars names each feed's agent".into());
        }
        _ => {}
    }
    Ok(Command::Run(Box::new(options)))
}

/// An error that decides the exit code.
struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    fn usage(message: impl Into<String>) -> Self {
        Self { code: 2, message: message.into() }
    }

    /// Configuration errors (unknown groups, bad config, bad input) exit 2; failures to
    /// talk to Usedesk exit 1.
    fn from_error(error: &Error) -> Self {
        let code = match error {
            Error::UnknownGroups { .. } | Error::Config { .. } | Error::InvalidInput { .. } => 2,
            _ => 1,
        };
        Self { code, message: error.to_string() }
    }
}

fn load_schedule(path: &Path, zone: Tz) -> Result<Schedule, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::usage(format!("cannot read schedule {}: {e}", path.display())))?;
    let extension = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    let is_json = match extension.as_deref() {
        Some("json") => true,
        Some("csv") => false,
        _ => text.trim_start_matches('\u{feff}').trim_start().starts_with('['),
    };
    let shifts =
        if is_json { shifts_from_json(&text, Some(zone)) } else { shifts_from_csv(&text, Some(zone)) };
    let shifts = shifts.map_err(|e| Failure::usage(format!("schedule {}: {e}", path.display())))?;
    Ok(Schedule::new(shifts))
}

/// Write `text` to stdout; a closed stdout (`| head`) is an error, not a panic.
fn write_stdout(text: &str) -> Result<(), Failure> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| Failure { code: 1, message: format!("cannot write to stdout: {e}") })
}

fn print_report(at: DateTime<Utc>, report: &SyncReport, json: bool, watch: bool) -> Result<(), Failure> {
    let at_text = at.to_rfc3339_opts(SecondsFormat::Secs, true);
    if json {
        let text = if watch {
            serde_json::to_string(&serde_json::json!({"at": at_text, "report": report}))
        } else {
            serde_json::to_string_pretty(report)
        };
        let text =
            text.map_err(|e| Failure { code: 1, message: format!("cannot encode the report: {e}") })?;
        write_stdout(&format!("{text}\n"))
    } else {
        write_stdout(&format!("Usedesk statuses at {at_text}\n{report}"))
    }
}

/// The running environment: the simulator (kept alive for the run) or a real account.
struct Target {
    provider: UsedeskProvider,
    simulator: Option<UsedeskSim>,
}

async fn connect() -> Result<Target, Failure> {
    let config = UsedeskConfig::from_env().map_err(|e| Failure::from_error(&e))?;
    if let Some(config) = config {
        eprintln!("using the Usedesk API at {}", config.base_url());
        let client = UsedeskClient::new(config).map_err(|e| Failure::from_error(&e))?;
        return Ok(Target { provider: UsedeskProvider::new(client), simulator: None });
    }
    let sim = UsedeskSim::start_with_sample()
        .await
        .map_err(|e| Failure { code: 1, message: format!("cannot start the simulator: {e}") })?;
    eprintln!("USEDESK_API_TOKEN is not set: using the Usedesk simulator at {}", sim.base_url());
    let config = UsedeskConfig::new(UsedeskSimConfig::DEFAULT_API_TOKEN)
        .and_then(|c| c.with_base_url(sim.base_url().as_str()))
        .map(|c| c.with_rate_limit(RateLimit::unlimited()))
        .map_err(|e| Failure::from_error(&e))?;
    let client = UsedeskClient::new(config).map_err(|e| Failure::from_error(&e))?;
    Ok(Target { provider: UsedeskProvider::new(client), simulator: Some(sim) })
}

/// A schedule source, and the Shifton simulator behind it when one was started.
struct Loaded {
    source: Arc<dyn ScheduleSource>,
    shifton_sim: Option<ShiftonSim>,
    /// Whether the source is a bundled sample (the demo then defaults `--at` to the sample
    /// instant).
    sample: bool,
}

async fn load_source(options: &Options, usedesk_on_simulator: bool) -> Result<Loaded, Failure> {
    match &options.source {
        Source::Schedule => {
            let schedule = match &options.schedule {
                Some(path) => load_schedule(path, options.timezone)?,
                None if usedesk_on_simulator => {
                    eprintln!(
                        "no --schedule: using the bundled sample schedule (examples/data/sample_schedule.csv)"
                    );
                    let shifts = shifts_from_csv(SAMPLE_SCHEDULE, Some(options.timezone))
                        .map_err(|e| Failure::usage(format!("bundled sample schedule: {e}")))?;
                    Schedule::new(shifts)
                }
                None => return Err(Failure::usage("--schedule PATH is required with USEDESK_API_TOKEN")),
            };
            let sample = options.schedule.is_none();
            Ok(Loaded { source: Arc::new(schedule), shifton_sim: None, sample })
        }
        Source::Shifton => {
            let refresh = options.poll_every;
            if let Some(config) = ShiftonConfig::from_env().map_err(|e| Failure::from_error(&e))? {
                eprintln!(
                    "using the Shifton API at {} (shifts: {})",
                    config.base_url(),
                    config.shifts_base_url()
                );
                let client = ShiftonClient::new(config).map_err(|e| Failure::from_error(&e))?;
                let schedule = ShiftonSchedule::connect(client).await.map_err(|e| Failure::from_error(&e))?;
                report_unmapped(&schedule);
                let source = Arc::new(schedule.with_refresh_interval(refresh));
                return Ok(Loaded { source, shifton_sim: None, sample: false });
            }
            if !usedesk_on_simulator {
                return Err(Failure::usage(
                    "--source shifton with a real Usedesk account needs SHIFTON_API_KEY (or the legacy \
                     SHIFTON_USERNAME/PASSWORD/CLIENT_ID/CLIENT_SECRET), SHIFTON_PROJECT_ID and SHIFTON_TIME_ZONE",
                ));
            }
            let sim = ShiftonSim::start_with_sample().await.map_err(|e| Failure {
                code: 1,
                message: format!("cannot start the Shifton simulator: {e}"),
            })?;
            eprintln!("no SHIFTON_* credentials: using the Shifton simulator at {}", sim.base_url());
            let zone = parse_zone(ShiftonSimConfig::SAMPLE_TIME_ZONE).map_err(|e| Failure::from_error(&e))?;
            let config = ShiftonConfig::new(
                ShiftonAuth::ApiKey(ShiftonSimConfig::DEFAULT_API_KEY.to_owned().into()),
                ShiftonSimConfig::SAMPLE_PROJECT_ID.to_string(),
                zone,
            )
            .and_then(|c| c.with_base_url(sim.base_url().as_str()))
            .and_then(|c| c.with_shifts_base_url(sim.base_url().as_str()))
            .map(|c| c.with_rate_limit(RateLimit::unlimited()).with_employee_map(SAMPLE_EMPLOYEE_MAP))
            .map_err(|e| Failure::from_error(&e))?;
            let client = ShiftonClient::new(config).map_err(|e| Failure::from_error(&e))?;
            let schedule = ShiftonSchedule::connect(client).await.map_err(|e| Failure::from_error(&e))?;
            report_unmapped(&schedule);
            let source = Arc::new(schedule.with_refresh_interval(refresh));
            Ok(Loaded { source, shifton_sim: Some(sim), sample: true })
        }
        Source::Ical(location) => {
            let ical_options = IcalOptions { default_zone: options.timezone, all_day: options.ical_all_day };
            let feeds = match (location, &options.ical_calendars) {
                (Some(location), _) => {
                    let feed = IcalFeed::parse_location(location).map_err(|e| Failure::from_error(&e))?;
                    let assignee = match &options.ical_agent {
                        Some(email) => Assignee::Calendar(email.clone()),
                        None => Assignee::Attendees,
                    };
                    vec![feed.assignee(assignee).options(ical_options)]
                }
                (None, Some(path)) => calendars_file(path, &ical_options)?,
                (None, None) => return Err(Failure::usage("--source ical needs a FILE_OR_URL")),
            };
            for feed in &feeds {
                eprintln!("reading iCalendar feed {} ({:?})", feed.location.label(), feed.assignee);
            }
            let source = IcalSource::new(feeds)
                .map_err(|e| Failure::from_error(&e))?
                .with_poll_interval(options.poll_every);
            // Read every feed now: a broken feed stops the run before anything is written.
            source.refresh().await.map_err(|e| Failure::from_error(&e))?;
            Ok(Loaded { source: Arc::new(source), shifton_sim: None, sample: false })
        }
    }
}

fn report_unmapped(schedule: &ShiftonSchedule) {
    for employee in &schedule.roster().unmapped {
        eprintln!(
            "warning: Shifton employee {} ({}) has no e-mail and no SHIFTON_EMPLOYEE_MAP entry: their shifts are ignored",
            employee.id,
            employee.name.as_deref().unwrap_or("no name")
        );
    }
}

/// Read `--ical-calendars`: CSV `feed,email`, one calendar per agent.
fn calendars_file(path: &Path, options: &IcalOptions) -> Result<Vec<IcalFeed>, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::usage(format!("cannot read {}: {e}", path.display())))?;
    let mut reader =
        csv::ReaderBuilder::new().trim(csv::Trim::All).comment(Some(b'#')).from_reader(text.as_bytes());
    let headers = reader.headers().map_err(|e| Failure::usage(format!("{}: {e}", path.display())))?.clone();
    let column = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let (Some(feed_at), Some(email_at)) = (column("feed"), column("email")) else {
        return Err(Failure::usage(format!("{}: expected the columns feed,email", path.display())));
    };
    let mut feeds = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| Failure::usage(format!("{}: {e}", path.display())))?;
        let line = record.position().map_or(0, |p| p.line());
        let (feed, email) = (record.get(feed_at).unwrap_or(""), record.get(email_at).unwrap_or(""));
        if !email.contains('@') {
            return Err(Failure::usage(format!(
                "{}, line {line}: \"{email}\" is not an e-mail",
                path.display()
            )));
        }
        let feed = IcalFeed::parse_location(feed)
            .map_err(|e| Failure::usage(format!("{}, line {line}: {e}", path.display())))?;
        feeds.push(feed.assignee(Assignee::Calendar(email.to_owned())).options(options.clone()));
    }
    if feeds.is_empty() {
        return Err(Failure::usage(format!("{}: no calendar listed", path.display())));
    }
    Ok(feeds)
}

async fn run(options: Options) -> Result<(), Failure> {
    let target = connect().await?;
    let on_simulator = target.simulator.is_some();
    let loaded = load_source(&options, on_simulator).await?;
    let at = match options.at {
        Some(at) => at,
        None if on_simulator && loaded.sample => {
            let (y, m, d, h) = SAMPLE_INSTANT;
            let at = Utc
                .with_ymd_and_hms(y, m, d, h, 0, 0)
                .single()
                .ok_or_else(|| Failure::usage("the sample instant is not a valid date"))?;
            eprintln!(
                "no --at: using {} (inside the sample schedule) so the demo has something to do",
                at.to_rfc3339_opts(SecondsFormat::Secs, true)
            );
            at
        }
        None => Utc::now(),
    };

    let mut spec = ShiftSpec::usedesk();
    spec.filter = GroupFilter::default()
        .include(Channel::Chat, options.group_chats.clone())
        .include(Channel::Tickets, options.group_requests.clone())
        .do_not_change(options.do_not_change.clone());
    spec.unscheduled =
        if options.offline_unscheduled { Unscheduled::SetOffline } else { Unscheduled::LeaveAlone };
    let sync = ShiftSync::new(loaded.source, Arc::new(target.provider), spec)
        .allow_unknown_groups(options.allow_unknown_groups);

    let lease = match &options.state {
        Some(spec) => Some(Lease::take(spec, &options).await?),
        None => None,
    };
    let outcome = match &lease {
        Some(lease) if !lease.held => Ok(()),
        _ if options.watch => watch(&sync, &options, at, lease.as_ref()).await,
        _ => once(&sync, &options, at).await,
    };
    if let Some(lease) = lease {
        lease.release().await;
    }

    if let Some(sim) = target.simulator {
        let writes = sim.server().requests_matching(Method::POST, "/update/user").len();
        eprintln!("simulator received {writes} status writes (POST /update/user)");
        sim.shutdown().await;
    }
    if let Some(sim) = loaded.shifton_sim {
        let reads = sim.server().requests_matching(Method::GET, "/work/1.0.0/projects").len();
        eprintln!("Shifton simulator answered {reads} shifts requests");
        sim.shutdown().await;
    }
    outcome
}

async fn once(sync: &ShiftSync, options: &Options, at: DateTime<Utc>) -> Result<(), Failure> {
    let result = if options.dry_run {
        sync.plan_at(at).await.map(deskbridge::sync::SyncReport::preview)
    } else {
        sync.run_once(at).await
    };
    let report = result.map_err(|e| Failure::from_error(&e))?;
    for warning in &report.warnings {
        eprintln!("warning: {warning}");
    }
    print_report(at, &report, options.json, false)?;
    if report.is_success() {
        Ok(())
    } else {
        Err(Failure { code: 1, message: format!("{} status writes failed", report.failed.len()) })
    }
}

async fn watch(
    sync: &ShiftSync,
    options: &Options,
    at: DateTime<Utc>,
    lease: Option<&Lease>,
) -> Result<(), Failure> {
    // The clock starts at `at` and runs at real speed.
    let started = Utc::now();
    let clock = move || at + (Utc::now() - started);
    let fatal = tokio::sync::Notify::new();
    let mut outcome: Result<(), Failure> = Ok(());
    let reconcile = chrono::Duration::from_std(options.reconcile_every)
        .map_err(|_| Failure::usage("--reconcile-every is too large"))?;
    eprintln!(
        "watching: applying at every shift boundary or every {} s{}",
        options.reconcile_every.as_secs_f64(),
        options.run_for.map(|d| format!(", for {} s", d.as_secs_f64())).unwrap_or_default()
    );
    let stop = async {
        let lost = async {
            match lease {
                Some(lease) => lease.keep().await,
                None => std::future::pending().await,
            }
        };
        let limit = async {
            match options.run_for {
                Some(limit) => tokio::time::sleep(limit).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = limit => {}
            _ = fatal.notified() => {}
            _ = lost => {}
        }
    };
    let on_report = |at: DateTime<Utc>, result: deskbridge::Result<SyncReport>| match result {
        Ok(report) => {
            for warning in &report.warnings {
                eprintln!("warning: {warning}");
            }
            if let Err(failure) = print_report(at, &report, options.json, true) {
                eprintln!("error: {}", failure.message);
            }
            if !report.is_success() && outcome.is_ok() {
                outcome = Err(Failure { code: 1, message: "some status writes failed".into() });
            }
        }
        Err(error) => {
            let failure = Failure::from_error(&error);
            let at_text = at.to_rfc3339_opts(SecondsFormat::Secs, true);
            if options.json {
                let line = serde_json::json!({"at": at_text, "error": failure.message});
                if let Err(e) = write_stdout(&format!("{line}\n")) {
                    eprintln!("error: {}", e.message);
                }
            }
            eprintln!("error at {at_text}: {}", failure.message);
            // Configuration errors do not heal by waiting: stop.
            if failure.code == 2 {
                fatal.notify_one();
            }
            if outcome.is_ok() || failure.code == 2 {
                outcome = Err(failure);
            }
        }
    };
    sync.watch(clock, reconcile, on_report, stop).await.map_err(|e| Failure::from_error(&e))?;
    outcome
}

/// The claim under which this process applies the schedule (`--state`), so that instances
/// sharing a store never apply at the same time.
struct Lease {
    store: Arc<dyn StateStore>,
    owner: String,
    ttl: Duration,
    /// False for a one-shot run that found the claim held by another instance.
    held: bool,
}

impl Lease {
    const KEY: &'static str = "shift_to_usedesk/claim";

    /// Open the store and take the claim: at once for a one-shot run (which does nothing
    /// when another instance holds it), waiting as a standby in watch mode.
    async fn take(spec: &str, options: &Options) -> Result<Self, Failure> {
        let spec = StateSpec::parse(spec).map_err(|e| Failure::from_error(&e))?;
        eprintln!("state: {spec}");
        let store = spec.open().await.map_err(|e| Failure::from_error(&e))?;
        let ttl = (options.reconcile_every * 2).max(Duration::from_secs(60));
        let mut lease = Self { store, owner: default_instance_id(), ttl, held: false };
        let mut announced = false;
        loop {
            lease.held = lease.renew().await?;
            if lease.held || !options.watch {
                break;
            }
            if !announced {
                eprintln!(
                    "standing by: another instance holds {} (this one is \"{}\")",
                    Self::KEY,
                    lease.owner
                );
                announced = true;
            }
            tokio::time::sleep(lease.ttl / 4).await;
        }
        if !lease.held {
            eprintln!("another instance is applying the schedule ({} is held): nothing done", Self::KEY);
        }
        Ok(lease)
    }

    async fn renew(&self) -> Result<bool, Failure> {
        self.store
            .try_claim(Self::KEY, &self.owner, self.ttl, Utc::now())
            .await
            .map_err(|e| Failure::from_error(&e))
    }

    /// Renew the claim every quarter lease; returns when it is lost (another instance took
    /// it, or the store failed for a whole lease).
    async fn keep(&self) {
        let mut last_renewed = std::time::Instant::now();
        loop {
            tokio::time::sleep(self.ttl / 4).await;
            match self.renew().await {
                Ok(true) => last_renewed = std::time::Instant::now(),
                Ok(false) => {
                    eprintln!("error: {} was taken by another instance: stopping", Self::KEY);
                    return;
                }
                Err(failure) if last_renewed.elapsed() >= self.ttl => {
                    eprintln!("error: cannot renew {}: {}: stopping", Self::KEY, failure.message);
                    return;
                }
                Err(failure) => eprintln!("warning: cannot renew {}: {}", Self::KEY, failure.message),
            }
        }
    }

    async fn release(self) {
        if self.held {
            if let Err(e) = self.store.release_claim(Self::KEY, &self.owner).await {
                eprintln!("warning: cannot release {} (it lapses on its own): {e}", Self::KEY);
            }
        }
    }
}

fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(Command::Help) => {
            return match write_stdout(HELP) {
                Ok(()) => ExitCode::SUCCESS,
                Err(_) => ExitCode::from(1),
            };
        }
        Ok(Command::Run(options)) => options,
        Err(message) => {
            eprintln!("shift_to_usedesk: {message}\nRun with --help for usage.");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("shift_to_usedesk: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(*options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("shift_to_usedesk: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}
