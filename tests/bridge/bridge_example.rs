//! The `bridge` example's real-API mode, driven as a black box: the Aircall and Zendesk
//! simulators play the real APIs on 127.0.0.1, the example binary runs against them with
//! credentials from the environment and reconcile passes every 300 s, and this test posts
//! signed Aircall deliveries stamped around the first pass with clock skew, plus one
//! replay stamped in the year 2230. Every real change must reach Zendesk long before the
//! next pass (asserted by polling, with a generous timeout, never by timing), and the
//! replay must write nothing wrong nor freeze the agent.
//!
//! The example binary is the one `cargo test --all-features` builds
//! (`target/<profile>/examples/bridge`); running this test alone needs it built first:
//! `cargo build --example bridge --features server,sim`.

#![cfg(all(feature = "server", feature = "sim"))]

use crate::common::bridge as support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::Method;
use chrono::{DateTime, TimeZone, Utc};
use deskbridge::sim::WebhookDelivery;
use deskbridge::sim::aircall::{
    AircallAvailabilityStatus, AircallSimConfig, AircallUser, user_event_delivery,
};
use deskbridge::sim::zendesk::ZendeskSimConfig;
use support::{AIRCALL_TOKEN, Sims, ZENDESK_SECRET, sims};
use url::Url;

/// Generous: the reconcile interval is 300 s, so a change seen well before this was
/// carried by its webhook, not by a pass.
const WITHIN: Duration = Duration::from_secs(60);

fn example_binary() -> std::path::PathBuf {
    // target/<profile>/deps/<this test> → target/<profile>/examples/bridge
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).expect("target/<profile>");
    let binary = profile_dir.join("examples").join(format!("bridge{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.exists(),
        "{} is missing: build it with `cargo build --example bridge --features server,sim` (cargo test --all-features builds it)",
        binary.display()
    );
    binary
}

struct Example {
    child: Child,
    output: Arc<Mutex<Vec<String>>>,
    base: Url,
}

impl Example {
    fn start(sims: &Sims, state: &std::path::Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let addr = format!("127.0.0.1:{port}");
        let mut child = Command::new(example_binary())
            .args(["--for", "600", "--reconcile-every", "300", "--state"])
            .arg(state)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("AIRCALL_API_ID", AircallSimConfig::DEFAULT_API_ID)
            .env("AIRCALL_API_TOKEN", AircallSimConfig::DEFAULT_API_TOKEN)
            .env("AIRCALL_BASE_URL", sims.aircall.base_url().as_str())
            .env("ZENDESK_BASE_URL", sims.zendesk.base_url().as_str())
            .env("ZENDESK_EMAIL", ZendeskSimConfig::DEFAULT_EMAIL)
            .env("ZENDESK_API_TOKEN", ZendeskSimConfig::DEFAULT_API_TOKEN)
            .env("AIRCALL_WEBHOOK_TOKEN", AIRCALL_TOKEN)
            .env("ZENDESK_WEBHOOK_SECRET", ZENDESK_SECRET)
            .env("DESKBRIDGE_WEBHOOK_ADDR", &addr)
            .env("DESKBRIDGE_INSTANCE_ID", "bridge-example-test")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the example starts");
        let output = Arc::new(Mutex::new(Vec::new()));
        for stream in [
            child.stdout.take().map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child.stderr.take().map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let sink = output.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(|l| l.ok()) {
                    sink.lock().unwrap().push(line);
                }
            });
        }
        Self { child, output, base: Url::parse(&format!("http://{addr}/")).unwrap() }
    }

    fn output(&self) -> Vec<String> {
        self.output.lock().unwrap().clone()
    }

    async fn wait_for_line(&self, what: &str, count: usize) {
        poll(
            || self.output().iter().filter(|l| l.contains(what)).count() >= count,
            || format!("no {count} line(s) with \"{what}\" in the example's output: {:#?}", self.output()),
        )
        .await;
    }

    async fn deliver(&self, delivery: &WebhookDelivery) -> u16 {
        delivery.send(&self.base.join("webhooks/aircall").unwrap()).await.unwrap()
    }
}

impl Drop for Example {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Poll `done` every 20 ms until it holds, or fail after [`WITHIN`]; returns how long it
/// took (printed for the record, never asserted).
async fn poll(mut done: impl FnMut() -> bool, explain: impl Fn() -> String) -> Duration {
    let started = tokio::time::Instant::now();
    let deadline = started + WITHIN;
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "{}", explain());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    started.elapsed()
}

/// Aircall's delivery of `user` as it is, stamped `at` (whole seconds).
fn delivery(sims: &Sims, user: &AircallUser, at: DateTime<Utc>) -> WebhookDelivery {
    let event = if user.available() { "user.opened.v2" } else { "user.closed.v2" };
    user_event_delivery(event, user, AIRCALL_TOKEN, at.timestamp() as u64, &sims.aircall.base_url())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_applies_every_real_change_at_once_and_survives_a_2230_replay() {
    let sims = sims().await;
    let dir = tempfile::tempdir().unwrap();
    let example = Example::start(&sims, &dir.path().join("state.json"));
    example.wait_for_line("reconciled voice", 1).await;
    let user_listings = || {
        sims.aircall
            .server()
            .requests_matching(Method::GET, "/v1/users")
            .iter()
            .filter(|r| r.path == "/v1/users")
            .count()
    };
    let listings_after_start = user_listings();
    let changes = |sims: &Sims| sims.zendesk.server().writes().len();
    assert_eq!(changes(&sims), 0, "in sync at start");

    // 1. Ben goes available in the same second as the pass; stamped in whole seconds.
    sims.aircall.set_availability(2, AircallAvailabilityStatus::Available, None).unwrap();
    let ben = sims.aircall.user(2).unwrap();
    assert_eq!(example.deliver(&delivery(&sims, &ben, Utc::now())).await, 200);
    let took =
        poll(|| sims.zendesk_status(102) == "online", || format!("Ben: {:#?}", example.output())).await;
    eprintln!("Ben: the change reached Zendesk after {took:?}");

    // 2. Cy goes available; Aircall's clock is 5 s behind ours.
    sims.aircall.set_availability(3, AircallAvailabilityStatus::Available, None).unwrap();
    let cy = sims.aircall.user(3).unwrap();
    assert_eq!(example.deliver(&delivery(&sims, &cy, Utc::now() - chrono::Duration::seconds(5))).await, 200);
    let took = poll(|| sims.zendesk_status(103) == "online", || format!("Cy: {:#?}", example.output())).await;
    eprintln!("Cy: the change reached Zendesk after {took:?}");

    // 3. Ana goes unavailable; Aircall's clock is 5 s ahead of ours. Her earlier delivery
    //    (available) is kept for the replay.
    let ana_before = sims.aircall.user(1).unwrap();
    sims.aircall.set_availability(1, AircallAvailabilityStatus::Unavailable, None).unwrap();
    let ana = sims.aircall.user(1).unwrap();
    assert_eq!(example.deliver(&delivery(&sims, &ana, Utc::now() + chrono::Duration::seconds(5))).await, 200);
    let took =
        poll(|| sims.zendesk_status(101) == "offline", || format!("Ana: {:#?}", example.output())).await;
    eprintln!("Ana: the change reached Zendesk after {took:?}");

    // 4. The old "available" of Ana, replayed with a valid token and a stamp in 2230: it is
    //    clamped, confirmed by reading Ana, and writes nothing.
    let year_2230 = Utc.with_ymd_and_hms(2230, 1, 1, 0, 0, 0).single().unwrap();
    let confirmed = example
        .output()
        .iter()
        .filter(|l| l.contains("confirmed by reading the agent (unavailable)"))
        .count();
    assert_eq!(example.deliver(&delivery(&sims, &ana_before, year_2230)).await, 200);
    example.wait_for_line("confirmed by reading the agent (unavailable)", confirmed + 1).await;
    assert_eq!(sims.zendesk_status(101), "offline", "the replay wrote nothing");
    assert!(example.output().iter().any(|l| l.contains("StampClamped")), "{:#?}", example.output());

    // 5. Ana is not frozen: her next real change goes through at once.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    sims.aircall.set_availability(1, AircallAvailabilityStatus::Available, None).unwrap();
    let ana = sims.aircall.user(1).unwrap();
    assert_eq!(example.deliver(&delivery(&sims, &ana, Utc::now())).await, 200);
    let took =
        poll(|| sims.zendesk_status(101) == "online", || format!("Ana again: {:#?}", example.output())).await;
    eprintln!("Ana again: the change reached Zendesk after {took:?}");

    // One write per real change, none from a pass: no pass ran after the first one.
    assert_eq!(changes(&sims), 4, "{:?}", sims.zendesk.server().writes());
    assert_eq!(user_listings(), listings_after_start, "no reconcile pass carried a change");

    // The metrics are served on the listen address, in Prometheus text format.
    let metrics = reqwest::get(example.base.join("metrics").unwrap()).await.unwrap().text().await.unwrap();
    assert!(metrics.contains("deskbridge_bridge_deliveries_total"), "{metrics}");
    assert!(metrics.contains("deskbridge_bridge_writes_total"), "{metrics}");
}
