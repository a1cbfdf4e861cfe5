//! The claim (lease) checks every [`StateStore`] must pass, run with two handles that play
//! two bridge instances (the same store for an in-process store, two connections for a
//! database).
//!
//! Each check takes both handles and a `namespace` key prefix that holds no key when it
//! starts. Clocks: the checks pass `Utc::now()` as `now` and wait real time for expiry
//! (under a second in all), so they hold both for stores that use the caller's clock and
//! for stores that use their own (PostgreSQL's server clock).
//!
//! A decorator that forgets to forward `try_claim` to a store with its own claim clock
//! still passes these checks (the fallback helpers are correct, only weaker): the trait
//! makes the claim methods required so that forgetting is a compile error instead.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use std::sync::Arc;
//! use deskbridge::ports::StateStore;
//! use deskbridge::store::MemoryStore;
//! use deskbridge::test_util::claim_conformance;
//!
//! let store: Arc<dyn StateStore> = Arc::new(MemoryStore::new());
//! claim_conformance::run_all(store.clone(), store, "claims").await;
//! # }
//! ```

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serde_json::json;

use crate::Error;
use crate::ports::{Claim, StateStore};
use crate::store::StateStoreExt;

/// Run every check in turn, each under its own sub-namespace of `namespace`.
pub async fn run_all(a: Arc<dyn StateStore>, b: Arc<dyn StateStore>, namespace: &str) {
    let ns = |check: &str| format!("{namespace}/{check}");
    a_claim_is_exclusive_until_released_or_expired(a.clone(), b.clone(), &ns("exclusive")).await;
    the_owner_renews_its_claim(a.clone(), b.clone(), &ns("renew")).await;
    an_expired_claim_passes_to_another_instance(a.clone(), b.clone(), &ns("expire")).await;
    only_the_owner_releases(a.clone(), b.clone(), &ns("release")).await;
    a_key_holding_something_else_is_an_error(a.clone(), b.clone(), &ns("not_a_claim")).await;
    racing_instances_have_one_winner_per_key(a, b, &ns("race")).await;
}

const LONG: Duration = Duration::from_secs(600);

fn key(namespace: &str, rest: &str) -> String {
    format!("{namespace}/{rest}")
}

async fn claim_at(store: &Arc<dyn StateStore>, key: &str) -> Claim {
    store.get_as::<Claim>(key).await.unwrap().expect("a claim is stored")
}

/// The first instance gets the claim; the other cannot take it while it is held; it is an
/// ordinary readable value `{owner, expires_at}`.
pub async fn a_claim_is_exclusive_until_released_or_expired(
    a: Arc<dyn StateStore>,
    b: Arc<dyn StateStore>,
    ns: &str,
) {
    let k = key(ns, "agent/ana");
    let before = Utc::now();
    assert!(a.try_claim(&k, "instance-a", LONG, Utc::now()).await.unwrap());
    assert!(!b.try_claim(&k, "instance-b", LONG, Utc::now()).await.unwrap());
    assert!(!b.try_claim(&k, "instance-b", Duration::from_millis(1), Utc::now()).await.unwrap());
    let claim = claim_at(&b, &k).await;
    assert_eq!(claim.owner, "instance-a");
    // Generous bounds: the store may use its own (roughly synchronised) clock.
    assert!(claim.expires_at > before + chrono::Duration::seconds(500), "{claim:?}");
    assert!(claim.expires_at < Utc::now() + chrono::Duration::seconds(700), "{claim:?}");
    let raw = b.get(&k).await.unwrap().unwrap();
    let mut fields: Vec<&String> = raw.as_object().unwrap().keys().collect();
    fields.sort();
    assert_eq!(fields, ["expires_at", "owner"]);
}

/// Claiming again as the owner succeeds and moves the expiry.
pub async fn the_owner_renews_its_claim(a: Arc<dyn StateStore>, b: Arc<dyn StateStore>, ns: &str) {
    let k = key(ns, "poll/x");
    assert!(a.try_claim(&k, "instance-a", Duration::from_secs(60), Utc::now()).await.unwrap());
    let first = claim_at(&a, &k).await;
    assert!(a.try_claim(&k, "instance-a", LONG, Utc::now()).await.unwrap());
    let renewed = claim_at(&b, &k).await;
    assert_eq!(renewed.owner, "instance-a");
    assert!(renewed.expires_at > first.expires_at + chrono::Duration::seconds(500), "{first:?} {renewed:?}");
    assert!(!b.try_claim(&k, "instance-b", LONG, Utc::now()).await.unwrap());
}

/// Once the ttl has passed, another instance takes the claim, and the former owner no
/// longer holds it.
pub async fn an_expired_claim_passes_to_another_instance(
    a: Arc<dyn StateStore>,
    b: Arc<dyn StateStore>,
    ns: &str,
) {
    let k = key(ns, "agent/bo");
    assert!(a.try_claim(&k, "instance-a", Duration::from_millis(200), Utc::now()).await.unwrap());
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(b.try_claim(&k, "instance-b", LONG, Utc::now()).await.unwrap());
    assert!(!a.try_claim(&k, "instance-a", LONG, Utc::now()).await.unwrap());
    assert_eq!(claim_at(&a, &k).await.owner, "instance-b");
    assert!(!a.release_claim(&k, "instance-a").await.unwrap());
    assert_eq!(claim_at(&a, &k).await.owner, "instance-b");
}

/// Release removes only the caller's own claim; afterwards anyone may claim.
pub async fn only_the_owner_releases(a: Arc<dyn StateStore>, b: Arc<dyn StateStore>, ns: &str) {
    let k = key(ns, "agent/cy");
    assert!(!a.release_claim(&k, "instance-a").await.unwrap(), "nothing to release");
    assert!(a.try_claim(&k, "instance-a", LONG, Utc::now()).await.unwrap());
    assert!(!b.release_claim(&k, "instance-b").await.unwrap());
    assert_eq!(claim_at(&b, &k).await.owner, "instance-a");
    assert!(a.release_claim(&k, "instance-a").await.unwrap());
    assert_eq!(b.get(&k).await.unwrap(), None);
    assert!(!a.release_claim(&k, "instance-a").await.unwrap());
    assert!(b.try_claim(&k, "instance-b", LONG, Utc::now()).await.unwrap());
    // An expired claim of the caller is still the caller's to release.
    let short = key(ns, "agent/short");
    assert!(a.try_claim(&short, "instance-a", Duration::from_millis(1), Utc::now()).await.unwrap());
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(a.release_claim(&short, "instance-a").await.unwrap());
}

/// A key that holds something other than a claim is never overwritten by a claim call:
/// both claim calls fail with a store error naming the key.
pub async fn a_key_holding_something_else_is_an_error(
    a: Arc<dyn StateStore>,
    _b: Arc<dyn StateStore>,
    ns: &str,
) {
    let values = [
        json!(5),
        json!("instance-a"),
        json!({"owner": "instance-a"}),
        json!({"owner": 7, "expires_at": "2020-01-01T00:00:00Z"}),
        json!({"owner": "instance-a", "expires_at": "not a time"}),
    ];
    for (i, value) in values.iter().enumerate() {
        let k = key(ns, &format!("cursor{i}"));
        a.put(&k, value.clone()).await.unwrap();
        let err = a.try_claim(&k, "instance-a", LONG, Utc::now()).await.unwrap_err();
        assert!(matches!(err, Error::Store { .. }), "{value}: {err:?}");
        assert!(err.to_string().contains(&k), "{value}: {err}");
        let err = a.release_claim(&k, "instance-a").await.unwrap_err();
        assert!(matches!(err, Error::Store { .. }), "{value}: {err:?}");
        assert_eq!(a.get(&k).await.unwrap().as_ref(), Some(value));
    }
}

/// Many tasks on both instances race for the same claims: exactly one wins each key, and
/// the stored owner is the winner.
pub async fn racing_instances_have_one_winner_per_key(
    a: Arc<dyn StateStore>,
    b: Arc<dyn StateStore>,
    ns: &str,
) {
    let keys: Vec<String> = (0..6).map(|i| key(ns, &format!("race/{i}"))).collect();
    let mut tasks = Vec::new();
    for contender in 0..16 {
        let store = if contender % 2 == 0 { Arc::clone(&a) } else { Arc::clone(&b) };
        let keys = keys.clone();
        tasks.push(tokio::spawn(async move {
            let owner = format!("instance-{contender}");
            let mut won = Vec::new();
            for k in &keys {
                if store.try_claim(k, &owner, LONG, Utc::now()).await.unwrap() {
                    won.push(k.clone());
                }
            }
            (owner, won)
        }));
    }
    let mut winners: Vec<(String, String)> = Vec::new();
    for task in tasks {
        let (owner, won) = task.await.unwrap();
        winners.extend(won.into_iter().map(|k| (k, owner.clone())));
    }
    winners.sort();
    let won_keys: Vec<&String> = winners.iter().map(|(k, _)| k).collect();
    assert_eq!(won_keys, keys.iter().collect::<Vec<_>>(), "each key exactly once: {winners:?}");
    for (k, owner) in &winners {
        assert_eq!(&claim_at(&a, k).await.owner, owner);
    }
}
