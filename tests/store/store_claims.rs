//! Claims (leases) through the provided `StateStore` methods, which build on
//! `compare_and_set` and judge expiry by the caller's clock: the shared claim checks on
//! `MemoryStore` and `FileStore`, plus exact-clock behaviour.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use deskbridge::Error;
use deskbridge::ports::{Claim, StateStore};
use deskbridge::store::{MemoryStore, StateStoreExt};
use serde_json::json;

mod memory {
    use super::*;

    claim_conformance_tests!(async {
        let store = Arc::new(MemoryStore::new()) as Arc<dyn StateStore>;
        (Arc::clone(&store), store, ())
    });
}

mod file {
    use super::*;
    use deskbridge::store::FileStore;

    claim_conformance_tests!(async {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::open(dir.path().join("state.json")).await.unwrap();
        (Arc::new(store.clone()) as Arc<dyn StateStore>, Arc::new(store) as Arc<dyn StateStore>, dir)
    });
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).unwrap()
}

fn at(seconds: i64) -> DateTime<Utc> {
    t0() + chrono::Duration::seconds(seconds)
}

#[tokio::test]
async fn the_stored_claim_is_owner_and_now_plus_ttl() {
    let store = MemoryStore::new();
    assert!(store.try_claim("lease/ana", "a", Duration::from_secs(30), t0()).await.unwrap());
    assert_eq!(
        store.get_as::<Claim>("lease/ana").await.unwrap(),
        Some(Claim { owner: "a".into(), expires_at: at(30) })
    );
    assert_eq!(
        store.get("lease/ana").await.unwrap(),
        Some(json!({"owner": "a", "expires_at": "2025-03-01T12:00:30Z"}))
    );
}

#[tokio::test]
async fn expiry_is_judged_by_the_callers_clock_at_the_exact_instant() {
    let store = MemoryStore::new();
    assert!(store.try_claim("lease/ana", "a", Duration::from_secs(10), t0()).await.unwrap());
    assert!(!store.try_claim("lease/ana", "b", Duration::from_secs(10), at(9)).await.unwrap());
    let claim = store.get_as::<Claim>("lease/ana").await.unwrap().unwrap();
    assert!(!claim.is_expired_at(at(9)));
    assert!(claim.is_expired_at(at(10)));
    // At expires_at the claim has lapsed.
    assert!(store.try_claim("lease/ana", "b", Duration::from_secs(10), at(10)).await.unwrap());
    assert_eq!(store.get_as::<Claim>("lease/ana").await.unwrap().unwrap().expires_at, at(20));
    // A caller whose clock lags sees b's claim as held.
    assert!(!store.try_claim("lease/ana", "a", Duration::from_secs(10), at(19)).await.unwrap());
}

#[tokio::test]
async fn renewal_moves_the_expiry_even_backwards_in_time() {
    let store = MemoryStore::new();
    assert!(store.try_claim("lease/x", "a", Duration::from_secs(60), t0()).await.unwrap());
    assert!(store.try_claim("lease/x", "a", Duration::from_secs(5), at(1)).await.unwrap());
    assert_eq!(store.get_as::<Claim>("lease/x").await.unwrap().unwrap().expires_at, at(6));
}

#[tokio::test]
async fn a_ttl_beyond_the_calendar_is_an_error_and_writes_nothing() {
    let store = MemoryStore::new();
    let err = store.try_claim("lease/x", "a", Duration::from_secs(u64::MAX), t0()).await.unwrap_err();
    assert!(matches!(err, Error::Store { .. }), "{err:?}");
    assert!(err.to_string().contains("lease/x"), "{err}");
    assert_eq!(store.get("lease/x").await.unwrap(), None);
}

#[tokio::test]
async fn release_does_not_care_about_expiry_only_ownership() {
    let store = MemoryStore::new();
    assert!(store.try_claim("lease/x", "a", Duration::from_secs(1), t0()).await.unwrap());
    assert!(!store.release_claim("lease/x", "b").await.unwrap());
    assert!(store.release_claim("lease/x", "a").await.unwrap());
    assert!(store.is_empty());
}
