//! Schedule-driven Usedesk statuses end to end: `ShiftSync` against the Usedesk simulator
//! over real HTTP (exact `POST /update/user` bodies from the request log), and the
//! `shift_to_usedesk` example binary (flags, stdout, exit codes).
#![cfg(all(feature = "sim", feature = "usedesk"))]

use crate::common::shift as support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use chrono::{DateTime, TimeZone, Utc};
use deskbridge::Error;
use deskbridge::filter::GroupFilter;
use deskbridge::http::RateLimit;
use deskbridge::schedule::{Schedule, Shift, shifts_from_csv};
use deskbridge::sim::usedesk::{UsedeskSim, UsedeskSimConfig};
use deskbridge::status::Channel;
use deskbridge::sync::{ShiftSpec, ShiftSync, SkipReason, SyncReport, UnmatchedWhy, Unscheduled};
use deskbridge::usedesk::{UsedeskClient, UsedeskConfig, UsedeskProvider};
use serde_json::{Value, json};
use support::{roster, run_example, sorted_status_writes, status_writes};

/// One watch run: when, and what it did.
type RunAt = (DateTime<Utc>, SyncReport);

const TOKEN: &str = UsedeskSimConfig::DEFAULT_API_TOKEN;
const EXAMPLE: &str = "shift_to_usedesk";
const EXAMPLE_TIMEOUT: Duration = Duration::from_secs(60);

fn provider(sim: &UsedeskSim) -> Arc<UsedeskProvider> {
    let config = UsedeskConfig::new(TOKEN)
        .unwrap()
        .with_base_url(sim.base_url().as_str())
        .unwrap()
        .with_rate_limit(RateLimit::unlimited());
    Arc::new(UsedeskProvider::new(UsedeskClient::new(config).unwrap()))
}

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

/// The roster's schedule, written as an operator would (local Berlin times, RFC 3339,
/// and a zone-less row read in the default zone, UTC).
const ROSTER_SCHEDULE: &str = "\
email,start,end,timezone
ana@example.com,2026-11-23 08:00,2026-11-23 16:00,Europe/Berlin
Ben@Example.com,2026-11-23 12:00,2026-11-23 20:00,UTC
cy@example.com,2026-11-23T09:00:00Z,2026-11-23T17:00:00Z,
dee@example.com,2026-11-23T09:00:00+00:00,2026-11-23T18:00:00+00:00,
fay@example.com,2026-11-23 06:00,2026-11-23 14:00,
gus@example.com,2026-11-23 08:00,2026-11-23 12:00,UTC
ghost@example.com,2026-11-23 08:00,2026-11-23 12:00,UTC
";

/// 10:00 UTC: ana, cy, dee, fay, gus on shift; ben off; eli not in the schedule.
fn roster_instant() -> DateTime<Utc> {
    utc("2026-11-23T10:00:00Z")
}

fn roster_schedule() -> Arc<Schedule> {
    Arc::new(Schedule::new(shifts_from_csv(ROSTER_SCHEDULE, Some(chrono_tz::UTC)).unwrap()))
}

/// *Group chats* "Live chat EU", *Group requests* "E-mail desk", *Do not change*
/// "Team leads", parsed as the example parses its flags.
fn roster_filter() -> GroupFilter {
    GroupFilter::default()
        .include(Channel::Chat, GroupFilter::parse_names("Live chat EU"))
        .include(Channel::Tickets, GroupFilter::parse_names(" E-mail desk "))
        .do_not_change(GroupFilter::parse_names("Team leads"))
}

fn spec(filter: GroupFilter, unscheduled: Unscheduled) -> ShiftSpec {
    let mut spec = ShiftSpec::usedesk();
    spec.filter = filter;
    spec.unscheduled = unscheduled;
    spec
}

/// Usedesk documents the status flags as the strings "true" / "false".
fn flag(online: bool) -> &'static str {
    if online { "true" } else { "false" }
}

fn chat(user_id: u64, online: bool) -> Value {
    json!({"api_token": TOKEN, "user_id": user_id, "chat_online_status": flag(online)})
}

fn tickets(user_id: u64, online: bool) -> Value {
    json!({"api_token": TOKEN, "user_id": user_id, "ticket_online_status": flag(online)})
}

fn skipped(report: &SyncReport, email: &str, channel: Channel) -> Option<SkipReason> {
    report
        .skipped
        .iter()
        .find(|s| s.agent.email.as_deref() == Some(email) && s.channel == channel)
        .map(|s| s.reason.clone())
}

#[tokio::test]
async fn group_filters_decide_the_exact_status_writes_and_a_second_run_writes_nothing() {
    let sim = UsedeskSim::start(roster()).await.unwrap();
    let sync =
        ShiftSync::new(roster_schedule(), provider(&sim), spec(roster_filter(), Unscheduled::LeaveAlone));

    let report = sync.run_once(roster_instant()).await.unwrap();

    assert_eq!(
        sorted_status_writes(&sim),
        vec![chat(201, true), chat(202, false), tickets(202, false), tickets(204, true), tickets(207, true)]
    );
    for request in sim.server().requests_matching(reqwest::Method::POST, "/update/user") {
        assert_eq!(request.query, None, "the token travels in the body only");
        assert!(!request.path.contains(TOKEN));
    }
    assert!(report.is_success(), "{report}");
    assert_eq!(report.written.len(), 5);
    assert_eq!(report.in_sync, 1, "gus's chat is already online");
    assert!(report.warnings.is_empty());
    let ana = report.written.iter().find(|c| c.agent.target_id == "201").unwrap();
    assert_eq!(ana.reason, "on shift until 2026-11-23T15:00:00Z");
    let ben = report.written.iter().find(|c| c.agent.target_id == "202").unwrap();
    assert_eq!(ben.reason, "off shift until 2026-11-23T12:00:00Z");
    // What was left alone, and why.
    let not_included = |channel| Some(SkipReason::NotInIncludedGroups { channel });
    assert_eq!(skipped(&report, "ana@example.com", Channel::Tickets), not_included(Channel::Tickets));
    let leads = Some(SkipReason::DoNotChange { group: "Team leads".into() });
    assert_eq!(skipped(&report, "cy@example.com", Channel::Chat), leads);
    assert_eq!(skipped(&report, "cy@example.com", Channel::Tickets), leads);
    assert_eq!(skipped(&report, "dee@example.com", Channel::Chat), not_included(Channel::Chat));
    assert_eq!(skipped(&report, "eli@example.com", Channel::Chat), Some(SkipReason::NotInSchedule));
    assert_eq!(skipped(&report, "eli@example.com", Channel::Tickets), not_included(Channel::Tickets));
    assert_eq!(skipped(&report, "fay@example.com", Channel::Chat), not_included(Channel::Chat));
    assert_eq!(skipped(&report, "fay@example.com", Channel::Tickets), not_included(Channel::Tickets));
    assert_eq!(report.skipped.len(), 8);
    assert_eq!(report.unmatched.len(), 1);
    assert_eq!(report.unmatched[0].email.as_deref(), Some("ghost@example.com"));
    assert_eq!(report.unmatched[0].why, UnmatchedWhy::NoMatch);
    // The simulator holds what was written, and nothing else changed.
    let state: Vec<(u64, bool, bool)> =
        sim.users().iter().map(|u| (u.id, u.chat_online, u.ticket_online)).collect();
    assert_eq!(
        state,
        vec![
            (201, true, false),
            (202, false, false),
            (203, false, false),
            (204, false, true),
            (205, true, true),
            (206, false, false),
            (207, true, true),
        ]
    );

    // A second run at the same instant finds everything in sync and writes nothing.
    let again = sync.run_once(roster_instant()).await.unwrap();
    assert!(again.written.is_empty(), "{again}");
    assert_eq!(again.in_sync, 6);
    assert_eq!(status_writes(&sim).len(), 5);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_plan_reports_the_changes_and_writes_nothing() {
    let sim = UsedeskSim::start(roster()).await.unwrap();
    let sync =
        ShiftSync::new(roster_schedule(), provider(&sim), spec(roster_filter(), Unscheduled::LeaveAlone));
    let report = deskbridge::sync::SyncReport::preview(sync.plan_at(roster_instant()).await.unwrap());
    assert!(report.mode.is_preview());
    let mut planned: Vec<(String, Channel, String)> = report
        .written
        .iter()
        .map(|c| (c.agent.target_id.to_string(), c.channel, c.to.as_str().to_owned()))
        .collect();
    planned.sort();
    assert_eq!(
        planned,
        vec![
            ("201".into(), Channel::Chat, "online".into()),
            ("202".into(), Channel::Chat, "offline".into()),
            ("202".into(), Channel::Tickets, "offline".into()),
            ("204".into(), Channel::Tickets, "online".into()),
            ("207".into(), Channel::Tickets, "online".into()),
        ]
    );
    assert!(status_writes(&sim).is_empty());
    assert!(sim.server().requests().iter().all(|r| r.path == "/users" || r.path == "/groups"));
    sim.shutdown().await;
}

#[tokio::test]
async fn unknown_group_names_fail_before_anything_is_written_unless_allowed() {
    let sim = UsedeskSim::start(roster()).await.unwrap();
    let filter = GroupFilter::default()
        .include(Channel::Chat, GroupFilter::parse_names("Live chat EU, VIP team"))
        .include(Channel::Tickets, GroupFilter::parse_names("Sales"))
        .do_not_change(GroupFilter::parse_names("Team leads, Managers, live chat eu"));
    let sync = ShiftSync::new(roster_schedule(), provider(&sim), spec(filter, Unscheduled::LeaveAlone));

    let error = sync.run_once(roster_instant()).await.unwrap_err();
    match &error {
        Error::UnknownGroups { provider, names } => {
            assert_eq!(*provider, "usedesk");
            // Every unknown name, exactly as configured (names match case-sensitively).
            assert_eq!(names, &["VIP team", "Sales", "Managers", "live chat eu"]);
        }
        other => panic!("expected UnknownGroups, got {other:?}"),
    }
    assert!(status_writes(&sim).is_empty());
    assert!(sim.users().iter().all(|u| roster().users.contains(u)), "no agent changed");

    // Allowed: a warning in the report, and the filter applies as configured (the
    // tickets list names no existing group, so no ticket status is touched).
    let sync = sync.allow_unknown_groups(true);
    let report = sync.run_once(roster_instant()).await.unwrap();
    assert_eq!(report.warnings, vec![error.to_string()]);
    assert_eq!(sorted_status_writes(&sim), vec![chat(201, true), chat(202, false)]);
    assert!(report.to_string().contains("warning: usedesk: configured group names match no group"));
    sim.shutdown().await;
}

#[tokio::test]
async fn unscheduled_agents_are_left_alone_or_set_offline_on_request() {
    let sim = UsedeskSim::start(roster()).await.unwrap();
    let leave = ShiftSync::new(
        roster_schedule(),
        provider(&sim),
        spec(GroupFilter::default(), Unscheduled::LeaveAlone),
    );
    let report = leave.run_once(roster_instant()).await.unwrap();
    let eli_writes = |sim: &UsedeskSim| -> Vec<Value> {
        sorted_status_writes(sim).into_iter().filter(|w| w["user_id"] == 205).collect()
    };
    assert!(eli_writes(&sim).is_empty());
    assert_eq!(skipped(&report, "eli@example.com", Channel::Chat), Some(SkipReason::NotInSchedule));
    assert_eq!(skipped(&report, "eli@example.com", Channel::Tickets), Some(SkipReason::NotInSchedule));
    let eli = sim.user(205).unwrap();
    assert!(eli.chat_online && eli.ticket_online);

    let offline = ShiftSync::new(
        roster_schedule(),
        provider(&sim),
        spec(GroupFilter::default(), Unscheduled::SetOffline),
    );
    let report = offline.run_once(roster_instant()).await.unwrap();
    assert_eq!(eli_writes(&sim), vec![chat(205, false), tickets(205, false)]);
    assert!(report.written.iter().all(|c| c.agent.target_id == "205"), "only eli was still out of sync");
    assert!(report.written.iter().all(|c| c.reason == "not in the schedule: set offline"));
    sim.shutdown().await;
}

/// Clocks go back in Berlin at 03:00 CEST on 2026-10-25 (01:00 UTC).
#[tokio::test]
async fn shifts_across_the_autumn_clock_change_switch_at_the_right_instants() {
    let mut config = UsedeskSimConfig::new();
    config.users = vec![
        deskbridge::sim::usedesk::UsedeskSimUser::new(301, "Night", "night@example.com"),
        deskbridge::sim::usedesk::UsedeskSimUser::new(302, "Twice", "twice@example.com"),
    ];
    let sim = UsedeskSim::start(config).await.unwrap();
    // Zone-less rows are read in the default zone, as `--timezone Europe/Berlin` does.
    let csv = "email,start,end\n\
               night@example.com,2026-10-25 00:00,2026-10-25 06:00\n\
               twice@example.com,2026-10-25 02:30,2026-10-25 04:00\n";
    let schedule = Schedule::new(shifts_from_csv(csv, Some(chrono_tz::Europe::Berlin)).unwrap());
    let sync = ShiftSync::new(
        Arc::new(schedule),
        provider(&sim),
        spec(GroupFilter::default(), Unscheduled::LeaveAlone),
    );
    // (instant, writes expected at that instant)
    let steps: Vec<(&str, Vec<Value>)> = vec![
        ("2026-10-24T21:59:59Z", vec![]),
        // 00:00 CEST is 22:00 UTC the day before.
        ("2026-10-24T22:00:00Z", vec![chat(301, true), tickets(301, true)]),
        ("2026-10-25T00:29:59Z", vec![]),
        // An ambiguous start (02:30 happens twice) takes the earlier reading: 02:30 CEST.
        ("2026-10-25T00:30:00Z", vec![chat(302, true), tickets(302, true)]),
        ("2026-10-25T02:59:59Z", vec![]),
        // 04:00 CET is 03:00 UTC.
        ("2026-10-25T03:00:00Z", vec![chat(302, false), tickets(302, false)]),
        // 06:00 read as CEST would be 04:00 UTC; it is CET, so still on shift here.
        ("2026-10-25T04:30:00Z", vec![]),
        ("2026-10-25T04:59:59Z", vec![]),
        ("2026-10-25T05:00:00Z", vec![chat(301, false), tickets(301, false)]),
    ];
    for (at, expected) in steps {
        sim.server().clear_log();
        let report = sync.run_once(utc(at)).await.unwrap();
        assert!(report.is_success(), "{report}");
        assert_eq!(sorted_status_writes(&sim), expected, "at {at}");
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn watch_sets_an_agent_online_at_shift_start_and_offline_at_shift_end() {
    let sim = UsedeskSim::start(roster()).await.unwrap();
    let now = Utc::now();
    let start = now + chrono::Duration::milliseconds(1500);
    let end = now + chrono::Duration::milliseconds(3000);
    let schedule = Schedule::new([Shift::new("ana@example.com", start, end).unwrap()]);
    let sync = ShiftSync::new(
        Arc::new(schedule),
        provider(&sim),
        spec(GroupFilter::default(), Unscheduled::LeaveAlone),
    );
    let reports: Arc<Mutex<Vec<RunAt>>> = Arc::default();
    let collected = Arc::clone(&reports);
    let on_report = move |at: DateTime<Utc>, result: deskbridge::Result<SyncReport>| {
        collected.lock().unwrap().push((at, result.unwrap()));
    };
    // Stop once both boundaries have been acted on (or give up after 20 s).
    let stop = async {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while status_writes(&sim).len() < 4 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    };
    sync.watch(Utc::now, chrono::Duration::seconds(60), on_report, stop).await.unwrap();

    let requests = sim.server().requests_matching(reqwest::Method::POST, "/update/user");
    let bodies: Vec<Value> = requests.iter().map(|r| r.body_json().unwrap()).collect();
    assert_eq!(bodies.len(), 4, "{bodies:?}");
    let mut online = bodies[..2].to_vec();
    online.sort_by_key(|w| w.get("chat_online_status").is_none());
    let mut offline = bodies[2..].to_vec();
    offline.sort_by_key(|w| w.get("chat_online_status").is_none());
    assert_eq!(online, vec![chat(201, true), tickets(201, true)]);
    assert_eq!(offline, vec![chat(201, false), tickets(201, false)]);
    let system = |t: DateTime<Utc>| SystemTime::from(t);
    assert!(
        requests[..2].iter().all(|r| r.received_at >= system(start)),
        "online only once the shift started"
    );
    assert!(requests[2..].iter().all(|r| r.received_at >= system(end)), "offline only once the shift ended");
    // The first run (before the shift) wrote nothing: ana was offline and off shift.
    let reports: Vec<RunAt> = reports.lock().unwrap().clone();
    assert!(reports[0].0 < start);
    assert!(reports[0].1.written.is_empty());
    let ended = reports.iter().find(|(_, r)| r.written.iter().any(|c| c.to == "offline")).unwrap();
    assert!(ended.0 >= end);
    assert!(ended.1.written.iter().all(|c| c.reason == "off shift"), "{}", ended.1);
    // Nobody else was touched.
    assert_eq!(sim.users().iter().filter(|u| !roster().users.contains(u)).count(), 0);
    sim.shutdown().await;
}

// ---- The example binary ----

#[test]
fn example_default_run_uses_the_simulator_and_writes() {
    let out = run_example(EXAMPLE, &[], EXAMPLE_TIMEOUT);
    assert_eq!(out.code(), Some(0), "stderr:\n{}", out.stderr);
    assert!(out.stdout.starts_with("Usedesk statuses at 2026-11-23T10:00:00Z\n"), "{}", out.stdout);
    assert!(out.stdout.contains("schedule → usedesk: 4 written, 0 skipped, 0 failed"), "{}", out.stdout);
    assert!(out.stdout.contains("eva@example.com"));
    assert!(out.stderr.contains("simulator"));
    assert!(out.stderr.contains("2026-11-23T10:00:00Z"), "the default instant is announced");
    assert_eq!(out.simulator_writes(), 4);
}

#[test]
fn example_json_prints_exactly_one_json_document() {
    let out = run_example(EXAMPLE, &["--json", "--group-chats", "Chat team"], EXAMPLE_TIMEOUT);
    assert_eq!(out.code(), Some(0), "stderr:\n{}", out.stderr);
    let documents: Vec<Value> = serde_json::Deserializer::from_str(&out.stdout)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", out.stdout));
    assert_eq!(documents.len(), 1, "{}", out.stdout);
    let report: SyncReport = serde_json::from_value(documents[0].clone()).unwrap();
    assert!(!report.mode.is_preview());
    assert_eq!(report.source, "schedule");
    assert_eq!(report.target, "usedesk");
    assert_eq!(report.written.len(), out.simulator_writes());
    // Chat status only for "Chat team" members (eva is not one); tickets for everyone.
    let mut written: Vec<(String, Channel)> =
        report.written.iter().map(|c| (c.agent.target_id.to_string(), c.channel)).collect();
    written.sort();
    assert_eq!(
        written,
        vec![
            ("104".into(), Channel::Tickets),
            ("105".into(), Channel::Tickets),
            ("106".into(), Channel::Chat)
        ]
    );
    assert_eq!(
        skipped(&report, "eva@example.com", Channel::Chat),
        Some(SkipReason::NotInIncludedGroups { channel: Channel::Chat })
    );
}

#[test]
fn example_dry_run_writes_nothing() {
    let out = run_example(EXAMPLE, &["--dry-run"], EXAMPLE_TIMEOUT);
    assert_eq!(out.code(), Some(0), "stderr:\n{}", out.stderr);
    assert!(out.stdout.contains("(dry run): 4 would write"), "{}", out.stdout);
    assert_eq!(out.simulator_writes(), 0);
}

#[test]
fn example_unknown_group_exits_non_zero_naming_it_and_writes_nothing() {
    let out = run_example(EXAMPLE, &["--group-chats", "No such group", "--json"], EXAMPLE_TIMEOUT);
    assert_eq!(out.code(), Some(2), "stderr:\n{}", out.stderr);
    assert!(out.stderr.contains("\"No such group\""), "{}", out.stderr);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    assert_eq!(out.simulator_writes(), 0);

    let allowed =
        run_example(EXAMPLE, &["--group-chats", "No such group", "--allow-unknown-groups"], EXAMPLE_TIMEOUT);
    assert_eq!(allowed.code(), Some(0), "stderr:\n{}", allowed.stderr);
    assert!(
        allowed.stderr.contains("warning: usedesk: configured group names match no group: \"No such group\"")
    );
}

#[test]
fn example_bad_usage_exits_2() {
    for args in [
        &["--bogus"][..],
        &["--at"][..],
        &["--at", "tomorrow"][..],
        &["--timezone", "Mars/Olympus"][..],
        &["--for", "2"][..],
        &["--watch", "--dry-run"][..],
        &["--schedule", "/nonexistent/shifts.csv"][..],
    ] {
        let out = run_example(EXAMPLE, args, EXAMPLE_TIMEOUT);
        assert_eq!(out.code(), Some(2), "{args:?}: stderr:\n{}", out.stderr);
        assert!(out.stdout.is_empty(), "{args:?}: {}", out.stdout);
        assert!(!out.stderr.is_empty());
    }
    let out = run_example(EXAMPLE, &["--bogus"], EXAMPLE_TIMEOUT);
    assert!(out.stderr.contains("--bogus"));
    let help = run_example(EXAMPLE, &["--help"], EXAMPLE_TIMEOUT);
    assert_eq!(help.code(), Some(0));
    assert!(help.stdout.contains("--group-requests"));
}

#[test]
fn example_reads_a_json_schedule_at_a_given_instant() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shifts.json");
    std::fs::write(
        &path,
        r#"[{"email": "ben@example.com", "start": "2026-11-23 08:00", "end": "2026-11-23 16:00"},
            {"email": "ana@example.com", "start": "2026-11-23T00:00:00Z", "end": "2026-11-23T01:00:00Z"}]"#,
    )
    .unwrap();
    let args = [
        "--schedule",
        path.to_str().unwrap(),
        "--at=2026-11-23T08:30:00+01:00",
        "--timezone",
        "Europe/Berlin",
    ];
    let out = run_example(EXAMPLE, &args, EXAMPLE_TIMEOUT);
    assert_eq!(out.code(), Some(0), "stderr:\n{}", out.stderr);
    // 07:30 UTC: ben (08:00 Berlin = 07:00 UTC) is on shift, ana's shift is over.
    assert!(out.stdout.starts_with("Usedesk statuses at 2026-11-23T07:30:00Z"), "{}", out.stdout);
    let written = |who: &str, channel: &str, change: &str| {
        out.stdout.lines().any(|l| {
            let cells: Vec<&str> = l.split_whitespace().collect();
            cells.len() >= 6 && cells[..3] == [who, channel, "written"] && l.contains(change)
        })
    };
    for channel in ["chat", "tickets"] {
        assert!(written("ben@example.com", channel, "offline → online (on shift"), "{}", out.stdout);
        assert!(written("ana@example.com", channel, "online → offline (off shift)"), "{}", out.stdout);
    }
    assert_eq!(out.simulator_writes(), 4);
}

#[test]
fn example_watch_stops_after_the_given_time() {
    let out = run_example(EXAMPLE, &["--watch", "--for", "2", "--json"], EXAMPLE_TIMEOUT);
    assert_eq!(out.code(), Some(0), "stderr:\n{}", out.stderr);
    let lines: Vec<Value> = out.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(!lines.is_empty());
    assert_eq!(lines[0]["at"], "2026-11-23T10:00:00Z");
    assert_eq!(lines[0]["report"]["written"].as_array().unwrap().len(), 4);
    assert_eq!(out.simulator_writes(), 4);
}

#[test]
fn example_watch_stops_on_unknown_groups() {
    let out = run_example(EXAMPLE, &["--watch", "--do-not-change", "Ghosts"], EXAMPLE_TIMEOUT);
    assert_eq!(out.code(), Some(2), "stderr:\n{}", out.stderr);
    assert!(out.stderr.contains("\"Ghosts\""));
    assert_eq!(out.simulator_writes(), 0);
}

#[test]
fn sample_instant_is_inside_the_sample_schedule() {
    // The example's default demo instant: keep it meaningful if the sample changes.
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/sample_schedule.csv"))
            .unwrap();
    let schedule = Schedule::new(shifts_from_csv(&text, None).unwrap());
    let at = Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap();
    assert!(schedule.on_shift_at(at).count() > 0);
    assert!(schedule.agents().count() > schedule.on_shift_at(at).count());
}
