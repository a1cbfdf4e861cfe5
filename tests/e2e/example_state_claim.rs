//! `shift_to_usedesk --state`: the example applies only while holding its claim in the
//! store, so instances started on one database never apply at once.
#![cfg(all(feature = "sim", feature = "usedesk", feature = "sqlite"))]

#[allow(dead_code)] // the shared helpers this file does not use
use crate::common::shift as support;

use std::time::Duration;

use chrono::Utc;
use deskbridge::ports::StateStore;
use deskbridge::store::SqliteStore;
use support::run_example;

const CLAIM: &str = "shift_to_usedesk/claim";
const TIMEOUT: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread")]
async fn a_run_whose_claim_another_instance_holds_writes_nothing_and_a_free_one_applies() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.sqlite3");
    let spec = db.to_str().unwrap().to_owned();
    let store = SqliteStore::open(&db).await.unwrap();
    assert!(store.try_claim(CLAIM, "another-instance", Duration::from_secs(600), Utc::now()).await.unwrap());

    let held = {
        let spec = spec.clone();
        tokio::task::spawn_blocking(move || run_example("shift_to_usedesk", &["--state", &spec], TIMEOUT))
            .await
            .unwrap()
    };
    assert_eq!(held.code(), Some(0), "stderr:\n{}", held.stderr);
    assert!(held.stderr.contains("another instance is applying the schedule"), "{}", held.stderr);
    assert_eq!(held.simulator_writes(), 0);
    assert!(store.get(CLAIM).await.unwrap().unwrap().to_string().contains("another-instance"));

    assert!(store.release_claim(CLAIM, "another-instance").await.unwrap());
    let free =
        tokio::task::spawn_blocking(move || run_example("shift_to_usedesk", &["--state", &spec], TIMEOUT))
            .await
            .unwrap();
    assert_eq!(free.code(), Some(0), "stderr:\n{}", free.stderr);
    assert_eq!(free.simulator_writes(), 4);
    assert_eq!(store.get(CLAIM).await.unwrap(), None, "released at the end of the run");
}

#[test]
fn a_bad_state_spec_is_bad_usage() {
    let out = run_example("shift_to_usedesk", &["--state", " "], TIMEOUT);
    assert_eq!(out.code(), Some(2), "stderr:\n{}", out.stderr);
    assert!(out.stderr.contains("--state"), "{}", out.stderr);
}
