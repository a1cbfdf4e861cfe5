//! The continuous bridge fed by its webhook routers over real HTTP, on the Aircall and
//! Zendesk simulators: duplicated, reordered and dropped deliveries, refused deliveries,
//! a restart, two-way mode without drift, acknowledgement before processing, and the
//! `bridge` example binary.

#![cfg(all(feature = "server", feature = "sim", feature = "aircall", feature = "zendesk"))]

use crate::common::bridge as support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::http::Method;
use deskbridge::mapping::Side;
use deskbridge::ports::StateStore;
use deskbridge::server::webhooks::{AIRCALL_PATH, USEDESK_PATH, X_PATH, ZENDESK_PATH};
use deskbridge::sim::aircall::AircallAvailabilityStatus::{Available, Unavailable};
use deskbridge::sim::{Fault, WebhookDelivery};
use deskbridge::store::{FileStore, MemoryStore};
use deskbridge::sync::{Bridge, BridgeEvent, BridgeNotice, DeliveryOutcome, LinkMode};
use support::*;

const ONE_WAY: LinkMode = LinkMode::OneWay { from: Side::A };

fn memory() -> Arc<dyn StateStore> {
    Arc::new(MemoryStore::new())
}

/// The scripted Aircall changes: (user, status). User 1 goes away and comes back.
const SCRIPT: [(u64, deskbridge::sim::aircall::AircallAvailabilityStatus); 5] =
    [(1, Unavailable), (2, Available), (1, Available), (3, Available), (2, Unavailable)];

/// Apply the script to the sims, one virtual minute apart; the deliveries, in order.
fn play_script(sims: &Sims, clock: &VirtualClock) -> Vec<WebhookDelivery> {
    SCRIPT
        .iter()
        .map(|(id, status)| {
            clock.advance(60);
            sims.aircall.set_availability(*id, *status, None).unwrap();
            sims.aircall_delivery(*id, clock.now())
        })
        .collect()
}

fn zendesk_writes_of(sims: &Sims) -> Vec<(String, String)> {
    sims.zendesk
        .server()
        .writes()
        .iter()
        .map(|r| (r.path.rsplit('/').next().unwrap_or_default().to_owned(), r.body_text()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicated_reordered_and_dropped_deliveries_end_as_with_perfect_delivery() {
    // Perfect delivery.
    let perfect = sims().await;
    let clock = VirtualClock::new();
    let bridge = start(&perfect, memory(), ONE_WAY, &clock).await;
    bridge.started().await;
    for delivery in play_script(&perfect, &clock) {
        assert_eq!(bridge.deliver_aircall(&delivery).await, 200);
    }
    bridge.settle().await;
    let expected = perfect.state();
    assert_eq!(expected.1, vec!["online", "offline", "online"], "{:?}", zendesk_writes_of(&perfect));
    assert_eq!(perfect.writes(), (0, 5), "one Zendesk write per real change, none on the source");
    bridge.stop().await;

    // The same day, delivered badly: d2 (user 1 back) before d0 (user 1 away), d0 twice,
    // d3 (user 3) dropped, d1 delivered again late.
    let faulty = sims().await;
    let clock = VirtualClock::new();
    let bridge = start(&faulty, memory(), ONE_WAY, &clock).await;
    bridge.started().await;
    let d = play_script(&faulty, &clock);
    for delivery in [&d[2], &d[1], &d[0], &d[0], &d[4], &d[1]] {
        assert_eq!(bridge.deliver_aircall(delivery).await, 200);
    }
    bridge.settle().await;
    let (_, zendesk) = faulty.state();
    assert_eq!(zendesk, vec!["online", "offline", "offline"], "only the dropped change is missing");
    assert!(
        bridge
            .notices()
            .iter()
            .any(|n| matches!(n, BridgeNotice::Delivery { outcome: DeliveryOutcome::Duplicate, .. })),
        "the repeated deliveries were recognised"
    );
    // No write for the late, older delivery of user 1 nor for the duplicates.
    assert_eq!(faulty.writes(), (0, 2), "{:?}", zendesk_writes_of(&faulty));
    // The next reconcile pass heals the dropped delivery.
    bridge.handle.send(BridgeEvent::ReconcileNow).await.unwrap();
    bridge.settle().await;
    assert_eq!(faulty.state(), expected);
    assert_eq!(faulty.writes(), (0, 3));
    bridge.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_deliveries_get_4xx_json_and_nothing_is_processed() {
    let sims = sims().await;
    let clock = VirtualClock::new();
    let bridge = start(&sims, memory(), ONE_WAY, &clock).await;
    bridge.started().await;
    let observed_before = bridge.notices().len();
    clock.advance(60);
    sims.aircall.set_availability(1, Unavailable, None).unwrap();
    sims.zendesk.set_agent_status(102, "online", "AGENT_STATUS_SWITCHER").unwrap();
    let http = reqwest::Client::new();
    let post = |path: &str, body: Vec<u8>, headers: Vec<(String, String)>| {
        let mut request = http.post(bridge.url(path)).body(body);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request.send()
    };

    // Aircall: a wrong token, no token, not JSON.
    let forged = sims.aircall_delivery_with_token(1, clock.now(), "guessed-token");
    expect(post(AIRCALL_PATH, forged.body, forged.headers).await.unwrap(), 401, "unauthorized").await;
    expect(
        post(AIRCALL_PATH, br#"{"event":"user.closed","data":{"id":1}}"#.to_vec(), vec![]).await.unwrap(),
        401,
        "unauthorized",
    )
    .await;
    expect(post(AIRCALL_PATH, b"not json".to_vec(), vec![]).await.unwrap(), 400, "malformed").await;
    // Zendesk: signed with another secret, a tampered body, a stale timestamp, no headers.
    let wrong = sims.zendesk_delivery_with_secret(102, clock.now(), "other-secret");
    expect(post(ZENDESK_PATH, wrong.body, wrong.headers).await.unwrap(), 401, "unauthorized").await;
    let good = sims.zendesk_delivery(102, clock.now());
    let tampered = String::from_utf8(good.body.clone()).unwrap().replace("online", "offline").into_bytes();
    expect(post(ZENDESK_PATH, tampered, good.headers.clone()).await.unwrap(), 401, "unauthorized").await;
    let stale = sims.zendesk_delivery(102, clock.now() - chrono::Duration::minutes(30));
    expect(post(ZENDESK_PATH, stale.body, stale.headers).await.unwrap(), 401, "unauthorized").await;
    expect(post(ZENDESK_PATH, good.body.clone(), vec![]).await.unwrap(), 401, "unauthorized").await;
    // Usedesk and X: wrong secret / signature.
    let usedesk = br#"{"secret":"guess","ticket":{"id":1}}"#.to_vec();
    expect(post(USEDESK_PATH, usedesk, vec![]).await.unwrap(), 401, "unauthorized").await;
    let x_body = br#"{"for_user_id":"1","direct_message_events":[]}"#.to_vec();
    let bad_sig = vec![("x-twitter-webhooks-signature".to_owned(), "sha256=AAAA".to_owned())];
    expect(post(X_PATH, x_body.clone(), bad_sig).await.unwrap(), 401, "unauthorized").await;
    // Too large.
    let huge = vec![b' '; deskbridge::server::webhooks::DEFAULT_MAX_BODY_BYTES + 1];
    expect(post(AIRCALL_PATH, huge, vec![]).await.unwrap(), 413, "too_large").await;

    bridge.settle().await;
    assert_eq!(sims.writes(), (0, 0), "nothing was written");
    let processed: Vec<_> = bridge.notices()[observed_before..]
        .iter()
        .filter(|n| matches!(n, BridgeNotice::Delivery { .. } | BridgeNotice::Reconciled { .. }))
        .cloned()
        .collect();
    assert!(processed.is_empty(), "nothing reached the bridge: {processed:?}");

    // The same deliveries, correctly signed, are accepted and processed.
    let ok = sims.aircall_delivery(1, clock.now());
    assert_eq!(bridge.deliver_aircall(&ok).await, 200);
    let usedesk = format!(r#"{{"secret":"{USEDESK_SECRET}","ticket":{{"id":1}}}}"#).into_bytes();
    assert_eq!(post(USEDESK_PATH, usedesk, vec![]).await.unwrap().status().as_u16(), 200);
    let signature = deskbridge::twitter::signature(X_SECRET, &x_body);
    let signed = vec![("x-twitter-webhooks-signature".to_owned(), signature)];
    assert_eq!(post(X_PATH, x_body, signed).await.unwrap().status().as_u16(), 200);
    let crc: serde_json::Value = http
        .get(format!("{}?crc_token=challenge", bridge.url(X_PATH)))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(crc["response_token"], deskbridge::twitter::crc_response_token(X_SECRET, "challenge"));
    bridge.settle().await;
    assert_eq!(sims.zendesk_status(101), "offline");
    assert_eq!(sims.writes(), (0, 1));
    bridge.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_with_a_file_store_loses_nothing() {
    a_restart_loses_nothing(Durable::File).await;
}

#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_with_the_sqlite_store_loses_nothing() {
    a_restart_loses_nothing(Durable::Sqlite).await;
}

/// A store that survives a restart, opened again from its path.
#[derive(Clone, Copy)]
enum Durable {
    File,
    #[cfg(feature = "sqlite")]
    Sqlite,
}

impl Durable {
    async fn open(self, dir: &std::path::Path) -> Arc<dyn StateStore> {
        match self {
            Self::File => Arc::new(FileStore::open(dir.join("bridge-state.json")).await.unwrap()),
            #[cfg(feature = "sqlite")]
            Self::Sqlite => Arc::new(
                deskbridge::store::SqliteStore::open(dir.join("bridge-state.sqlite3")).await.unwrap(),
            ),
        }
    }
}

async fn a_restart_loses_nothing(durable: Durable) {
    let sims = sims().await;
    let clock = VirtualClock::new();
    let dir = tempfile::tempdir().unwrap();
    let store = durable.open(dir.path()).await;
    let bridge = start(&sims, store, ONE_WAY, &clock).await;
    bridge.started().await;

    // A change whose write is slow is in flight when the bridge is asked to stop.
    sims.zendesk.server().add_fault(
        Fault::delay(Duration::from_millis(700))
            .on_method(Method::PUT)
            .on_path("/api/v2/agent_availabilities"),
    );
    clock.advance(60);
    sims.aircall.set_availability(1, Unavailable, None).unwrap();
    let first = sims.aircall_delivery(1, clock.now());
    assert_eq!(bridge.deliver_aircall(&first).await, 200);
    for _ in 0..100 {
        if !sims.zendesk.server().writes().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(sims.writes(), (0, 1), "the write is in flight");
    let notices = bridge.notices.clone();
    bridge.stop().await;
    assert!(
        notices.lock().unwrap().iter().any(|n| matches!(n, BridgeNotice::Wrote { .. })),
        "graceful shutdown let the in-flight write finish"
    );
    assert_eq!(sims.zendesk_status(101), "offline");
    drop(notices);

    // While the bridge is down, user 2 changes: the delivery gets nowhere.
    clock.advance(60);
    sims.aircall.set_availability(2, Available, None).unwrap();
    let missed = sims.aircall_delivery(2, clock.now());

    let store = durable.open(dir.path()).await;
    let stored = Bridge::stored_state(store.as_ref(), "voice", "ana@example.com").await.unwrap().unwrap();
    assert!(stored.is_idle(), "the write's result was stored before the bridge returned");
    let bridge = start(&sims, store, ONE_WAY, &clock).await;
    bridge.started().await;
    assert_eq!(sims.zendesk_status(102), "online", "the start pass caught up");
    // Aircall retries both deliveries after the restart: neither writes again.
    assert_eq!(bridge.deliver_aircall(&first).await, 200);
    assert_eq!(bridge.deliver_aircall(&missed).await, 200);
    bridge.settle().await;
    assert_eq!(sims.writes(), (0, 2), "{:?}", zendesk_writes_of(&sims));
    assert_eq!(sims.state().1, vec!["offline", "online", "offline"]);
    bridge.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_way_zendesk_away_makes_aircall_unavailable_without_drift() {
    let sims = sims().await;
    let clock = VirtualClock::new();
    let bridge = start(&sims, memory(), LinkMode::TwoWay, &clock).await;
    bridge.started().await;
    assert_eq!(sims.writes(), (0, 0));

    // Ana sets Away in Zendesk.
    clock.advance(60);
    sims.zendesk.set_agent_status(101, "away", "AGENT_STATUS_SWITCHER").unwrap();
    assert_eq!(bridge.deliver_zendesk(&sims.zendesk_delivery(101, clock.now())).await, 200);
    bridge.settle().await;
    assert_eq!(sims.aircall_status(1), "unavailable");
    // Aircall reports our write back (no actor): it is our echo, not a change to Offline.
    clock.advance(1);
    assert_eq!(bridge.deliver_aircall(&sims.aircall_delivery(1, clock.now())).await, 200);
    bridge.settle().await;
    assert_eq!(sims.zendesk_status(101), "away", "Away ↔ Unavailable is in sync: no drift to Offline");
    assert_eq!(sims.writes(), (1, 0));

    // Ben becomes available in Aircall; Zendesk's PUBLIC_API echo does not come back.
    clock.advance(60);
    sims.aircall.set_availability(2, Available, None).unwrap();
    assert_eq!(bridge.deliver_aircall(&sims.aircall_delivery(2, clock.now())).await, 200);
    bridge.settle().await;
    assert_eq!(sims.zendesk_status(102), "online");
    clock.advance(1);
    assert_eq!(bridge.deliver_zendesk(&sims.zendesk_delivery(102, clock.now())).await, 200);
    bridge.settle().await;

    // A reconcile pass finds everything in sync: writes stay bounded.
    clock.advance(60);
    bridge.handle.send(BridgeEvent::ReconcileNow).await.unwrap();
    bridge.settle().await;
    assert_eq!(sims.writes(), (1, 1), "one write per real change");
    assert_eq!(
        sims.state(),
        (
            vec!["unavailable".into(), "available".into(), "unavailable".into()],
            vec!["away".into(), "online".into(), "offline".into()]
        )
    );
    bridge.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_router_acknowledges_before_a_slow_write_completes() {
    let sims = sims().await;
    let clock = VirtualClock::new();
    let bridge = start(&sims, memory(), ONE_WAY, &clock).await;
    bridge.started().await;
    let wrote = Arc::new(AtomicBool::new(false));
    sims.zendesk.server().add_fault(
        Fault::delay(Duration::from_secs(2)).on_method(Method::PUT).on_path("/api/v2/agent_availabilities"),
    );
    clock.advance(60);
    sims.aircall.set_availability(1, Unavailable, None).unwrap();
    let delivery = sims.aircall_delivery(1, clock.now());
    let watcher = {
        let notices = bridge.notices.clone();
        let wrote = wrote.clone();
        tokio::spawn(async move {
            loop {
                if notices.lock().unwrap().iter().any(|n| matches!(n, BridgeNotice::Wrote { .. })) {
                    wrote.store(true, Ordering::SeqCst);
                    return;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    let started = Instant::now();
    assert_eq!(bridge.deliver_aircall(&delivery).await, 200);
    assert!(!wrote.load(Ordering::SeqCst), "the 200 came before the write completed");
    tokio::time::timeout(Duration::from_secs(15), watcher).await.unwrap().unwrap();
    assert!(started.elapsed() >= Duration::from_secs(2), "the write did wait for the slow provider");
    assert_eq!(sims.zendesk_status(101), "offline");
    bridge.stop().await;
}

async fn expect(response: reqwest::Response, status: u16, error: &str) {
    assert_eq!(response.status().as_u16(), status);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], error, "{body}");
    assert!(!body.to_string().contains(AIRCALL_TOKEN) && !body.to_string().contains(ZENDESK_SECRET));
}

// ---- The example binary -------------------------------------------------------------

fn example_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe.parent().unwrap().parent().unwrap().join("examples").join("bridge");
    assert!(
        path.exists(),
        "the `bridge` example binary is missing at {}: run `cargo test --all-features`",
        path.display()
    );
    path
}

fn run_example(args: &[&str]) -> (i32, String, String) {
    let mut child = std::process::Command::new(example_binary())
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("the example did not stop within 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn the_example_runs_one_way_and_prints_its_writes() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.sqlite3");
    let (code, stdout, stderr) = run_example(&["--for", "3", "--state", state.to_str().unwrap()]);
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("wrote zendesk"), "{stdout}");
    assert!(!stdout.contains("wrote aircall"), "one-way never writes Aircall: {stdout}");
    assert!(state.exists(), "state persisted to --state");
}

#[test]
fn the_example_runs_two_way_and_prints_writes_on_both_sides() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let (code, stdout, stderr) =
        run_example(&["--for", "3", "--two-way", "--state", state.to_str().unwrap()]);
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("wrote zendesk") && stdout.contains("wrote aircall"), "{stdout}");
}

#[test]
fn the_example_explains_its_flags_and_refuses_bad_ones() {
    let (code, stdout, _) = run_example(&["--help"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("--two-way") && stdout.contains("--reconcile-every"), "{stdout}");
    let (code, _, stderr) = run_example(&["--for", "soon"]);
    assert_eq!(code, 2, "{stderr}");
    let (code, _, _) = run_example(&["--bogus"]);
    assert_eq!(code, 2);
}
