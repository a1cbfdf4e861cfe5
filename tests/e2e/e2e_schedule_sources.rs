//! The `shift_to_usedesk` example with `--source shifton` and `--source ical` (file and
//! polled URL), against the simulators, as a user runs it.
#![cfg(all(feature = "sim", feature = "usedesk", feature = "shifton", feature = "ical"))]

// Shared with the other shift → Usedesk tests; only the example runner is used here.
#[allow(dead_code)]
use crate::common::shift as support;

use std::time::Duration;

use deskbridge::sync::SyncReport;
use support::run_example;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const EXAMPLE: &str = "shift_to_usedesk";
const TIMEOUT: Duration = Duration::from_secs(60);
const SAMPLE_ROTA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/sample_rota.ics");

#[test]
fn source_shifton_runs_on_the_shifton_simulator_without_credentials() {
    let out = run_example(EXAMPLE, &["--source", "shifton", "--json"], TIMEOUT);
    assert_eq!(out.code(), Some(0), "stderr:\n{}", out.stderr);
    assert!(out.stderr.contains("Shifton simulator"), "{}", out.stderr);
    assert!(out.stderr.contains("employee 1009 (Will Warehouse)"), "{}", out.stderr);
    let report: SyncReport = serde_json::from_str(&out.stdout).unwrap();
    // At 2026-11-23T10:00Z: Dmitri (tickets), Eva (both, by the employee map), Farid (chat).
    let written: Vec<(String, String)> = report
        .written
        .iter()
        .map(|w| {
            (
                w.agent.email.as_ref().map(|e| e.as_str().to_owned()).unwrap_or_default(),
                w.to.as_str().to_owned(),
            )
        })
        .collect();
    assert_eq!(written.len(), 4, "{written:?}");
    assert!(written.iter().all(|(_, to)| to == "online"), "{written:?}");
    assert!(written.iter().any(|(email, _)| email == "eva@example.com"), "{written:?}");
    assert_eq!(out.simulator_writes(), 4);
}

#[test]
fn source_ical_reads_a_shared_calendar_file() {
    let out = run_example(
        EXAMPLE,
        &["--source", "ical", SAMPLE_ROTA, "--at", "2026-11-23T10:00:00Z", "--dry-run"],
        TIMEOUT,
    );
    assert_eq!(out.code(), Some(0), "stderr:\n{}", out.stderr);
    assert!(out.stdout.contains("(dry run): 4 would write"), "{}", out.stdout);
    assert!(
        out.stdout.contains("eva@example.com     chat     would write  offline → online"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_malformed_feed_writes_nothing_and_names_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.ics");
    let text = std::fs::read_to_string(SAMPLE_ROTA)
        .unwrap()
        .replace("DTSTART;TZID=Europe/Berlin:20261123T120000", "DTSTART;TZID=Europe/Bärlin:20261123T120000");
    std::fs::write(&file, text).unwrap();
    let out = run_example(
        EXAMPLE,
        &["--source", "ical", file.to_str().unwrap(), "--at", "2026-11-23T10:00:00Z"],
        TIMEOUT,
    );
    assert_eq!(out.code(), Some(2), "stderr:\n{}", out.stderr);
    assert!(
        out.stderr.contains("broken.ics, line 37") && out.stderr.contains("Europe/Bärlin"),
        "{}",
        out.stderr
    );
    // The feed is read before the sync is built: no plan, no report, no write.
    assert!(out.stdout.is_empty(), "{}", out.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_mode_polls_a_feed_url_with_its_etag_and_304s_cost_nothing() {
    let server = MockServer::start().await;
    let rota = std::fs::read_to_string(SAMPLE_ROTA).unwrap();
    Mock::given(method("GET"))
        .and(path("/private-abc/rota.ics"))
        .and(header("if-none-match", "\"rota-1\""))
        .respond_with(ResponseTemplate::new(304))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/private-abc/rota.ics"))
        .respond_with(ResponseTemplate::new(200).insert_header("etag", "\"rota-1\"").set_body_string(rota))
        .with_priority(2)
        .mount(&server)
        .await;
    let url = format!("{}/private-abc/rota.ics", server.uri());
    let out = tokio::task::spawn_blocking(move || {
        let args = [
            "--source",
            "ical",
            url.as_str(),
            "--at",
            "2026-11-23T10:00:00Z",
            "--watch",
            "--for",
            "2.5",
            "--reconcile-every",
            "0.5",
            "--poll-every",
            "0.5",
            "--json",
        ];
        run_example(EXAMPLE, &args, TIMEOUT)
    })
    .await
    .unwrap();
    assert_eq!(out.code(), Some(0), "stderr:\n{}", out.stderr);
    assert!(!out.stderr.contains("private-abc"), "the feed's secret path is never printed:\n{}", out.stderr);
    let requests = server.received_requests().await.unwrap();
    assert!(requests.len() >= 3, "{} requests", requests.len());
    assert!(requests[0].headers.get("if-none-match").is_none());
    assert!(
        requests[1..].iter().all(|r| r.headers.get("if-none-match").is_some()),
        "later checks are conditional"
    );
    // The first run wrote the 4 changes; the re-runs found everything in sync.
    assert_eq!(out.simulator_writes(), 4);
}
