//! End to end: the one-shot Aircall ⇄ Zendesk sync on the simulators, asserting the exact
//! writes (method, path, body) from the simulators' request logs, and the
//! `one_shot_sync` example binary itself (flags, stdout, exit codes).
#![cfg(all(feature = "sim", feature = "aircall", feature = "zendesk"))]

// The example's functions (roster, seeds, providers on simulators, sync, exit code) are
// driven directly, so the tests exercise exactly what the binary runs.
#[path = "../../examples/one_shot_sync.rs"]
#[allow(dead_code)]
mod one_shot_sync;

use std::collections::BTreeSet;
use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use deskbridge::sim::aircall::AircallSim;
use deskbridge::sim::zendesk::{ZendeskSim, ZendeskSimConfig};
use deskbridge::sim::{Fault, SimServer};
use deskbridge::status::NativeStatus;
use deskbridge::sync::{SkipReason, SyncReport, UnmatchedWhy};
use serde_json::{Value, json};

use one_shot_sync::{Direction, roster};

/// A write as the simulator received it.
type Write = (String, String, Value);

struct Env {
    aircall_sim: AircallSim,
    zendesk_sim: ZendeskSim,
    aircall: deskbridge::aircall::AircallProvider,
    zendesk: deskbridge::zendesk::ZendeskProvider,
}

async fn start(omnichannel_routing: bool) -> Env {
    let aircall_sim = AircallSim::start(one_shot_sync::aircall_sim_config()).await.unwrap();
    let zendesk_sim =
        ZendeskSim::start(one_shot_sync::zendesk_sim_config(omnichannel_routing)).await.unwrap();
    let aircall = one_shot_sync::aircall_on_sim(&aircall_sim).unwrap();
    let zendesk = one_shot_sync::zendesk_on_sim(&zendesk_sim).unwrap();
    Env { aircall_sim, zendesk_sim, aircall, zendesk }
}

impl Env {
    async fn run(&self, direction: Direction, dry_run: bool) -> SyncReport {
        one_shot_sync::sync(&self.aircall, &self.zendesk, direction, dry_run).await.unwrap()
    }

    fn clear_logs(&self) {
        self.aircall_sim.server().clear_log();
        self.zendesk_sim.server().clear_log();
    }
}

fn position(name: &str) -> usize {
    roster()
        .iter()
        .position(|entry| entry.name == name)
        .unwrap_or_else(|| panic!("{name} is not in the roster"))
}

fn aircall_id(name: &str) -> u64 {
    one_shot_sync::AIRCALL_FIRST_ID + position(name) as u64
}

fn zendesk_id(name: &str) -> i64 {
    one_shot_sync::ZENDESK_FIRST_ID + position(name) as i64
}

fn writes(server: &SimServer) -> BTreeSet<(String, String, String)> {
    server
        .writes()
        .into_iter()
        .map(|request| {
            let body = request.body_json().unwrap_or(Value::Null).to_string();
            (request.method.to_string(), request.path.clone(), body)
        })
        .collect()
}

fn expected(writes: Vec<Write>) -> BTreeSet<(String, String, String)> {
    writes.into_iter().map(|(method, path, body)| (method, path, body.to_string())).collect()
}

fn unified_put(name: &str, status_id: i64) -> Write {
    (
        "PUT".into(),
        format!("/api/v2/agent_availabilities/agent_statuses/agents/{}", zendesk_id(name)),
        json!({ "id": status_id }),
    )
}

fn talk_put(name: &str, state: &str) -> Write {
    (
        "PUT".into(),
        format!("/api/v2/channels/voice/availabilities/{}", zendesk_id(name)),
        json!({ "availability": { "agent_state": state } }),
    )
}

fn aircall_put(name: &str, status: &str) -> Write {
    ("PUT".into(), format!("/v1/users/{}", aircall_id(name)), json!({ "availability_status": status }))
}

fn status_id(sim: &ZendeskSim, name: &str) -> i64 {
    sim.statuses().into_iter().find(|status| status.name == name).unwrap().id
}

fn written_names(report: &SyncReport) -> Vec<(String, String)> {
    let mut written: Vec<(String, String)> = report
        .written
        .iter()
        .map(|change| (change.agent.name.to_string(), change.to.as_str().to_owned()))
        .collect();
    written.sort();
    written
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> =
        items.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect();
    pairs.sort();
    pairs
}

fn skipped(report: &SyncReport) -> Vec<(String, SkipReason)> {
    let mut skipped: Vec<(String, SkipReason)> =
        report.skipped.iter().map(|skip| (skip.agent.name.to_string(), skip.reason.clone())).collect();
    skipped.sort_by(|a, b| a.0.cmp(&b.0));
    skipped
}

fn assert_unmatched(report: &SyncReport) {
    let mut unmatched: Vec<(String, String, String, UnmatchedWhy)> =
        report.unmatched.iter().map(|u| (u.provider.clone(), u.id.clone(), u.name.clone(), u.why)).collect();
    unmatched.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    assert_eq!(
        unmatched,
        vec![
            (
                "aircall".into(),
                aircall_id("Isabel Rossi").to_string(),
                "Isabel Rossi".into(),
                UnmatchedWhy::NoMatch
            ),
            (
                "zendesk".into(),
                zendesk_id("Jonas Berg").to_string(),
                "Jonas Berg".into(),
                UnmatchedWhy::NoMatch
            ),
        ]
    );
}

fn source_unmapped(skip: &SkipReason, value: &str) -> bool {
    matches!(skip, SkipReason::SourceUnmapped { value: v, .. } if v.as_str() == value)
}

fn target_protected(skip: &SkipReason, value: &str) -> bool {
    matches!(skip, SkipReason::TargetProtected { value: v, .. } if v.as_str() == value)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aircall_to_zendesk_with_routing_on_writes_unified_statuses_resolved_by_name() {
    let env = start(true).await;
    let report = env.run(Direction::AircallToZendesk, false).await;

    let online = status_id(&env.zendesk_sim, "online");
    let offline = status_id(&env.zendesk_sim, "offline");
    assert_eq!(
        writes(env.zendesk_sim.server()),
        expected(vec![
            unified_put("Chloé Martin", online),
            unified_put("Diego Álvarez", offline),
            unified_put("Emma Schmidt", offline),
            unified_put("Hiro Tanaka", online),
            unified_put("Lena Novák", offline),
        ])
    );
    assert!(env.aircall_sim.server().writes().is_empty(), "the source is never written");
    // The ids came from the account's status list, read once.
    assert_eq!(
        env.zendesk_sim
            .server()
            .requests_matching(deskbridge::http::Method::GET, "/api/v2/agent_availabilities/agent_statuses")
            .len(),
        1
    );

    assert!(report.is_success());
    assert_eq!(one_shot_sync::exit_code(&report), 0);
    assert_eq!(
        written_names(&report),
        pairs(&[
            ("Chloé Martin", "online"),
            ("Diego Álvarez", "offline"),
            ("Emma Schmidt", "offline"),
            ("Hiro Tanaka", "online"),
            ("Lena Novák", "offline"),
        ])
    );
    let skipped = skipped(&report);
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    assert_eq!(skipped[0].0, "Farah Haddad");
    assert!(source_unmapped(&skipped[0].1, "custom"), "{:?}", skipped[0].1);
    assert!(skipped[0].1.to_string().contains("Automatic Schedule"), "{}", skipped[0].1);
    assert_eq!(skipped[1].0, "Grace Kim");
    assert!(target_protected(&skipped[1].1, "In a meeting"), "{:?}", skipped[1].1);
    assert_unmatched(&report);
    assert_eq!(report.in_sync, 3);
    // Hiro's e-mails differ in case and still matched.
    assert!(
        report
            .written
            .iter()
            .any(|c| c.agent.source_id.as_deref() == Some(aircall_id("Hiro Tanaka").to_string().as_str()))
    );

    // The simulator now holds what was written, stamped as an API change.
    let chloe = env.zendesk_sim.agent_status(zendesk_id("Chloé Martin")).unwrap();
    assert_eq!((chloe.name.as_str(), chloe.reason.as_str()), ("online", "PUBLIC_API"));
    let grace = env.zendesk_sim.agent_status(zendesk_id("Grace Kim")).unwrap();
    assert_eq!(grace.name, "In a meeting");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aircall_to_zendesk_with_routing_off_writes_the_talk_availability() {
    let env = start(false).await;
    let report = env.run(Direction::AircallToZendesk, false).await;

    // With routing off Grace's voice status is her Talk state (away), which is mapped.
    assert_eq!(
        writes(env.zendesk_sim.server()),
        expected(vec![
            talk_put("Chloé Martin", "online"),
            talk_put("Diego Álvarez", "offline"),
            talk_put("Emma Schmidt", "offline"),
            talk_put("Grace Kim", "online"),
            talk_put("Hiro Tanaka", "online"),
            talk_put("Lena Novák", "offline"),
        ])
    );
    assert!(env.aircall_sim.server().writes().is_empty());
    assert!(report.is_success());
    let skipped = skipped(&report);
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert_eq!(skipped[0].0, "Farah Haddad");
    assert!(source_unmapped(&skipped[0].1, "custom"));
    assert_unmatched(&report);
    assert_eq!(report.in_sync, 3);
    assert_eq!(env.zendesk_sim.talk_availability(zendesk_id("Grace Kim")).unwrap().agent_state, "online");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zendesk_to_aircall_writes_availability_status() {
    let env = start(true).await;
    let report = env.run(Direction::ZendeskToAircall, false).await;

    assert_eq!(
        writes(env.aircall_sim.server()),
        expected(vec![
            aircall_put("Chloé Martin", "unavailable"),
            aircall_put("Diego Álvarez", "available"),
            aircall_put("Hiro Tanaka", "unavailable"),
            aircall_put("Lena Novák", "available"),
        ])
    );
    assert!(env.zendesk_sim.server().writes().is_empty(), "the source is never written");
    assert!(report.is_success());
    assert_eq!(
        written_names(&report),
        pairs(&[
            ("Chloé Martin", "unavailable"),
            ("Diego Álvarez", "available"),
            ("Hiro Tanaka", "unavailable"),
            ("Lena Novák", "available"),
        ])
    );
    let skipped = skipped(&report);
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    assert_eq!(skipped[0].0, "Farah Haddad");
    assert!(target_protected(&skipped[0].1, "custom"), "{:?}", skipped[0].1);
    assert_eq!(skipped[1].0, "Grace Kim");
    assert!(source_unmapped(&skipped[1].1, "In a meeting"), "{:?}", skipped[1].1);
    assert_unmatched(&report);
    // Ana, Ben, Emma (away reads as unavailable), Kwame.
    assert_eq!(report.in_sync, 4);
    assert_eq!(
        env.aircall_sim.user(aircall_id("Diego Álvarez")).unwrap().availability_status.as_str(),
        "available"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_writes_nothing_in_either_direction() {
    for (direction, planned) in [(Direction::AircallToZendesk, 5), (Direction::ZendeskToAircall, 4)] {
        for routing in [true, false] {
            let env = start(routing).await;
            let report = env.run(direction, true).await;
            assert!(report.mode.is_preview());
            // Routing off: Grace's voice status is her Talk state (away), which is mapped.
            let planned = if routing { planned } else { planned + 1 };
            assert_eq!(report.written.len(), planned, "{direction:?} routing {routing}");
            for server in [env.aircall_sim.server(), env.zendesk_sim.server()] {
                let non_get: Vec<_> = server
                    .requests()
                    .into_iter()
                    .filter(|r| r.method != deskbridge::http::Method::GET)
                    .collect();
                assert!(non_get.is_empty(), "{direction:?}: {non_get:?}");
                assert!(server.count() > 0, "the dry run reads both sides");
            }
            assert!(report.to_string().contains("(dry run)"));
        }
    }
}

/// `OneShot::plan` writes nothing, `OneShot::apply` writes exactly the plan, and the
/// warnings found while planning (an unknown group, allowed) reach the report.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_then_apply_writes_the_plan_and_keeps_its_warnings() {
    use deskbridge::filter::GroupFilter;
    use deskbridge::mapping::{Side, StatusMap};
    use deskbridge::sync::{OneShot, OneWaySpec};
    let env = start(true).await;
    let mut spec = OneWaySpec::new(StatusMap::aircall_zendesk(), Side::A);
    spec.filter = GroupFilter::default().do_not_change(["No such group"]);
    let strict = OneShot::new(&env.aircall, &env.zendesk, spec.clone());
    assert!(strict.plan().await.is_err(), "an unknown group fails before anything is written");
    let one_shot = OneShot::new(&env.aircall, &env.zendesk, spec).allow_unknown_groups(true);
    let plan = one_shot.plan().await.unwrap();
    assert_eq!(plan.warnings.len(), 1, "{:?}", plan.warnings);
    assert!(!plan.changes.is_empty());
    let non_get = |server: &SimServer| {
        server.requests().into_iter().filter(|r| r.method != deskbridge::http::Method::GET).count()
    };
    assert_eq!(non_get(env.zendesk_sim.server()) + non_get(env.aircall_sim.server()), 0);
    let preview = SyncReport::preview(plan.clone());
    assert_eq!(
        (preview.written.clone(), preview.warnings.clone()),
        (plan.changes.clone(), plan.warnings.clone())
    );
    let report = one_shot.apply(plan.clone()).await;
    assert!(!report.mode.is_preview() && report.is_success(), "{report}");
    assert_eq!(report.written, plan.changes);
    assert_eq!(report.warnings, plan.warnings);
    assert_eq!(non_get(env.zendesk_sim.server()), plan.changes.len());
    // `run` is plan then apply: the second pass finds nothing to write, with the warning.
    let again = one_shot.run().await.unwrap();
    assert!(again.written.is_empty(), "{again}");
    assert_eq!(again.warnings, plan.warnings);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_writes_nothing() {
    for direction in [Direction::AircallToZendesk, Direction::ZendeskToAircall] {
        for routing in [true, false] {
            let env = start(routing).await;
            let first = env.run(direction, false).await;
            assert!(!first.written.is_empty());
            env.clear_logs();
            let second = env.run(direction, false).await;
            assert!(second.is_success());
            assert!(second.written.is_empty(), "{direction:?} routing {routing}: {second}");
            assert!(env.aircall_sim.server().writes().is_empty());
            assert!(env.zendesk_sim.server().writes().is_empty());
            assert_eq!(second.in_sync, first.in_sync + first.written.len());
            assert_eq!(second.skipped, first.skipped);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_write_is_reported_and_the_others_are_written() {
    let env = start(true).await;
    let diego = format!("/api/v2/agent_availabilities/agent_statuses/agents/{}", zendesk_id("Diego Álvarez"));
    env.zendesk_sim.server().add_fault(
        Fault::status(503, r#"{"error":"ServiceUnavailable"}"#)
            .on_method(deskbridge::http::Method::PUT)
            .on_path(diego.clone())
            .always(),
    );
    let report = env.run(Direction::AircallToZendesk, false).await;

    assert!(!report.is_success());
    assert_eq!(one_shot_sync::exit_code(&report), 1);
    assert_eq!(report.failed.len(), 1, "{report}");
    let failed = &report.failed[0];
    assert_eq!(failed.change.agent.name, "Diego Álvarez");
    assert_eq!(failed.change.to, NativeStatus::from("offline"));
    assert!(failed.error.contains("503"), "{}", failed.error);
    assert!(failed.transient);
    assert_eq!(report.written.len(), 4);
    assert!(report.to_string().contains("1 failed"), "{report}");
    assert!(report.to_string().contains("FAILED"), "{report}");
    // The PUT was attempted (and retried: 503 on an idempotent PUT); the others landed.
    let attempts = env.zendesk_sim.server().requests_matching(deskbridge::http::Method::PUT, &diego);
    assert!(attempts.len() > 1, "{attempts:?}");
    assert_eq!(env.zendesk_sim.agent_status(zendesk_id("Diego Álvarez")).unwrap().name, "online");
    assert_eq!(env.zendesk_sim.agent_status(zendesk_id("Lena Novák")).unwrap().name, "offline");
}

#[test]
fn arguments_are_parsed_strictly() {
    use one_shot_sync::{Command as Cli, Options, parse_args};
    let args = |list: &[&str]| parse_args(list.iter().map(|s| (*s).to_owned()));
    let default = Options { direction: Direction::AircallToZendesk, dry_run: false, json: false };
    assert_eq!(args(&[]), Ok(Cli::Run(default)));
    assert_eq!(
        args(&["--direction", "zendesk-to-aircall", "--dry-run", "--json"]),
        Ok(Cli::Run(Options { direction: Direction::ZendeskToAircall, dry_run: true, json: true }))
    );
    assert_eq!(
        args(&["--direction=zendesk-to-aircall"]),
        Ok(Cli::Run(Options { direction: Direction::ZendeskToAircall, ..default }))
    );
    assert_eq!(args(&["--help"]), Ok(Cli::Help));
    assert_eq!(args(&["-h"]), Ok(Cli::Help));
    assert!(args(&["--direction"]).is_err());
    assert!(args(&["--direction", "sideways"]).is_err());
    assert!(args(&["--direction", "aircall-to-zendesk", "--direction", "zendesk-to-aircall"]).is_err());
    assert!(args(&["--dry-run=yes"]).is_err());
    assert!(args(&["--verbose"]).is_err());
    assert!(args(&["extra"]).is_err());
}

// ---------------------------------------------------------------------------------------
// The compiled example binary.

const BINARY_TIMEOUT: Duration = Duration::from_secs(120);

fn binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let path = profile_dir.join("examples").join(format!("one_shot_sync{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "the example binary {} is missing: run `cargo test --all-features` (it builds the examples first)",
        path.display()
    );
    path
}

struct Output {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Run the example with `args` and `env` (every provider variable of the parent removed
/// first), killed after [`BINARY_TIMEOUT`].
fn run_binary(args: &[&str], env: &[(&str, String)]) -> Output {
    let mut command = Command::new(binary());
    command.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    for (name, _) in std::env::vars() {
        if name.starts_with("AIRCALL_") || name.starts_with("ZENDESK_") {
            command.env_remove(name);
        }
    }
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut text = String::new();
        stdout.read_to_string(&mut text).map(|_| text)
    });
    let err_reader = std::thread::spawn(move || {
        let mut text = String::new();
        stderr.read_to_string(&mut text).map(|_| text)
    });
    let deadline = Instant::now() + BINARY_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("one_shot_sync {args:?} did not finish within {BINARY_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        code: status.code(),
        stdout: out_reader.join().unwrap().unwrap(),
        stderr: err_reader.join().unwrap().unwrap(),
    }
}

/// Point the binary's Zendesk side at a simulator the test controls, as "real" Zendesk.
fn zendesk_env(sim: &ZendeskSim) -> Vec<(&'static str, String)> {
    vec![
        ("ZENDESK_BASE_URL", sim.base_url().to_string()),
        ("ZENDESK_EMAIL", ZendeskSimConfig::DEFAULT_EMAIL.to_owned()),
        ("ZENDESK_API_TOKEN", ZendeskSimConfig::DEFAULT_API_TOKEN.to_owned()),
    ]
}

#[test]
fn binary_default_run_prints_the_table_and_exits_0() {
    let out = run_binary(&[], &[]);
    assert_eq!(out.code, Some(0), "stderr: {}", out.stderr);
    assert!(
        out.stdout.starts_with(
            "aircall → zendesk: 5 written, 2 skipped, 0 failed, 2 unmatched, 3 already in sync\n"
        ),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("AGENT"), "{}", out.stdout);
    assert!(out.stdout.contains("chloe.martin@example.com"), "{}", out.stdout);
    assert!(out.stderr.contains("aircall: simulated"), "{}", out.stderr);
    assert!(out.stderr.contains("zendesk: simulated"), "{}", out.stderr);
}

#[test]
fn binary_json_prints_exactly_one_json_report() {
    let out = run_binary(&["--json", "--direction", "zendesk-to-aircall"], &[]);
    assert_eq!(out.code, Some(0), "stderr: {}", out.stderr);
    // from_str rejects trailing non-whitespace: stdout is one document and nothing else.
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["source"], "zendesk");
    assert_eq!(report["target"], "aircall");
    assert_eq!(report["dry_run"], false);
    assert_eq!(report["written"].as_array().unwrap().len(), 4);
    assert_eq!(report["skipped"].as_array().unwrap().len(), 2);
    assert_eq!(report["failed"].as_array().unwrap().len(), 0);
    assert_eq!(report["unmatched"].as_array().unwrap().len(), 2);
    assert_eq!(report["in_sync"], 4);
    let typed: SyncReport = serde_json::from_value(report).unwrap();
    assert!(typed.is_success());
}

#[test]
fn binary_dry_run_writes_nothing() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sim = runtime.block_on(ZendeskSim::start(one_shot_sync::zendesk_sim_config(true))).unwrap();
    let out = run_binary(&["--dry-run"], &zendesk_env(&sim));
    assert_eq!(out.code, Some(0), "stderr: {}", out.stderr);
    assert!(
        out.stdout.starts_with("aircall → zendesk (dry run): 5 would write, 2 skipped"),
        "{}",
        out.stdout
    );
    assert!(out.stderr.contains("zendesk: real API at"), "{}", out.stderr);
    assert!(out.stderr.contains("aircall: simulated"), "{}", out.stderr);
    assert!(sim.server().count() > 0, "the binary read the test's simulator");
    let non_get: Vec<_> =
        sim.server().requests().into_iter().filter(|r| r.method != deskbridge::http::Method::GET).collect();
    assert!(non_get.is_empty(), "{non_get:?}");
    runtime.block_on(sim.shutdown());
}

#[test]
fn binary_exits_1_when_a_write_fails() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sim = runtime.block_on(ZendeskSim::start(one_shot_sync::zendesk_sim_config(true))).unwrap();
    let lena = format!("/api/v2/agent_availabilities/agent_statuses/agents/{}", zendesk_id("Lena Novák"));
    sim.server().add_fault(
        Fault::status(503, r#"{"error":"ServiceUnavailable"}"#)
            .on_method(deskbridge::http::Method::PUT)
            .on_path(lena)
            .always(),
    );
    let out = run_binary(&["--json"], &zendesk_env(&sim));
    assert_eq!(out.code, Some(1), "stderr: {}", out.stderr);
    let report: SyncReport = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].change.agent.name, "Lena Novák");
    assert_eq!(report.written.len(), 4);
    assert!(out.stderr.contains("1 write(s) failed"), "{}", out.stderr);
    runtime.block_on(sim.shutdown());
}

#[test]
fn binary_rejects_a_bad_flag_with_exit_2_and_usage() {
    let out = run_binary(&["--frobnicate"], &[]);
    assert_eq!(out.code, Some(2));
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    assert!(out.stderr.contains("unknown argument \"--frobnicate\""), "{}", out.stderr);
    assert!(out.stderr.contains("Usage: one_shot_sync"), "{}", out.stderr);

    let out = run_binary(&["--direction", "up"], &[]);
    assert_eq!(out.code, Some(2));
    assert!(out.stderr.contains("Usage: one_shot_sync"), "{}", out.stderr);
}

#[test]
fn binary_bad_configuration_exits_2() {
    let out = run_binary(&[], &[("ZENDESK_API_TOKEN", "token".to_owned())]);
    assert_eq!(out.code, Some(2), "stderr: {}", out.stderr);
    assert!(out.stderr.contains("ZENDESK_EMAIL"), "{}", out.stderr);
    assert!(out.stdout.is_empty());
    assert!(!out.stderr.contains("token\n") && !out.stderr.contains("\"token\""), "{}", out.stderr);
}

#[test]
fn binary_help_prints_usage_and_exits_0() {
    let out = run_binary(&["--help"], &[]);
    assert_eq!(out.code, Some(0));
    assert!(out.stdout.starts_with("Usage: one_shot_sync"), "{}", out.stdout);
    assert!(out.stdout.contains("AIRCALL_API_ID"));
    assert!(out.stdout.contains("ZENDESK_SUBDOMAIN"));
}
