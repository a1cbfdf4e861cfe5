//! The conformance checks every [`StateStore`] must pass.
//!
//! Each check takes a store handle and a `namespace`: a key prefix the check may use
//! freely (it must hold no key when the check starts), so a store shared between tests
//! (a PostgreSQL database) can run every check side by side. A failed check panics with
//! the assertion that failed, like any test.
//!
//! Run them all from one test with [`run_all`], or one test per check (as deskbridge does
//! for its own stores) by calling the functions by name:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use std::sync::Arc;
//! use deskbridge::ports::StateStore;
//! use deskbridge::store::MemoryStore;
//! use deskbridge::test_util::store_conformance;
//!
//! let store: Arc<dyn StateStore> = Arc::new(MemoryStore::new());
//! store_conformance::run_all(store, "conformance").await;
//! # }
//! ```

use std::sync::Arc;

use serde_json::{Value, json};

use crate::ports::{StateStore, WriteOp};

/// Run every check in turn, each under its own sub-namespace of `namespace`.
pub async fn run_all(store: Arc<dyn StateStore>, namespace: &str) {
    let ns = |check: &str| format!("{namespace}/{check}");
    absent_key_reads_as_none(store.clone(), &ns("absent")).await;
    put_then_get_returns_the_value(store.clone(), &ns("put_get")).await;
    null_is_a_value_not_an_absence(store.clone(), &ns("null")).await;
    put_overwrites(store.clone(), &ns("overwrite")).await;
    delete_removes_and_is_idempotent(store.clone(), &ns("delete")).await;
    compare_and_set_applies_only_on_a_match(store.clone(), &ns("cas")).await;
    compare_and_set_with_none_removes(store.clone(), &ns("cas_none")).await;
    insert_if_absent_claims_once(store.clone(), &ns("insert")).await;
    scan_prefix_returns_matching_keys_in_order(store.clone(), &ns("scan")).await;
    keys_are_opaque_strings(store.clone(), &ns("opaque")).await;
    concurrent_insert_if_absent_has_one_winner(store.clone(), &ns("race_insert")).await;
    concurrent_compare_and_set_increments_lose_nothing(store.clone(), &ns("race_cas")).await;
    write_batch_applies_each_op_in_order(store.clone(), &ns("batch")).await;
    concurrent_write_batches_lose_no_increment(store, &ns("race_batch")).await;
}

fn key(namespace: &str, rest: &str) -> String {
    format!("{namespace}/{rest}")
}

/// A key never written reads as `None`, and scanning finds nothing.
pub async fn absent_key_reads_as_none(store: Arc<dyn StateStore>, ns: &str) {
    assert_eq!(store.get(&key(ns, "missing")).await.unwrap(), None);
    assert!(store.scan_prefix(&key(ns, "")).await.unwrap().is_empty());
}

/// Every JSON shape is returned exactly as stored.
pub async fn put_then_get_returns_the_value(store: Arc<dyn StateStore>, ns: &str) {
    let values = [
        json!("text with \"quotes\", a newline\nand ünïcödé"),
        json!(12345678901234567_u64),
        json!(-1.5),
        json!(true),
        json!([1, "two", {"three": 3}]),
        json!({"nested": {"deeper": [null, false]}, "empty": {}}),
    ];
    for (i, value) in values.iter().enumerate() {
        store.put(&key(ns, &format!("v{i}")), value.clone()).await.unwrap();
    }
    for (i, value) in values.iter().enumerate() {
        assert_eq!(store.get(&key(ns, &format!("v{i}"))).await.unwrap().as_ref(), Some(value), "key v{i}");
    }
}

/// A stored JSON `null` is present: it reads as `Some(null)` and blocks `insert_if_absent`.
pub async fn null_is_a_value_not_an_absence(store: Arc<dyn StateStore>, ns: &str) {
    let k = key(ns, "null");
    store.put(&k, Value::Null).await.unwrap();
    assert_eq!(store.get(&k).await.unwrap(), Some(Value::Null));
    assert!(!store.insert_if_absent(&k, json!(1)).await.unwrap());
    assert!(!store.compare_and_set(&k, None, Some(json!(1))).await.unwrap());
    assert!(store.compare_and_set(&k, Some(&Value::Null), Some(json!(1))).await.unwrap());
    assert_eq!(store.get(&k).await.unwrap(), Some(json!(1)));
}

/// A second `put` replaces the first.
pub async fn put_overwrites(store: Arc<dyn StateStore>, ns: &str) {
    let k = key(ns, "k");
    store.put(&k, json!("first")).await.unwrap();
    store.put(&k, json!({"second": true})).await.unwrap();
    assert_eq!(store.get(&k).await.unwrap(), Some(json!({"second": true})));
    assert_eq!(store.scan_prefix(&key(ns, "")).await.unwrap().len(), 1);
}

/// `delete` removes the key, leaves others alone, and is fine on an absent key.
pub async fn delete_removes_and_is_idempotent(store: Arc<dyn StateStore>, ns: &str) {
    store.put(&key(ns, "a"), json!(1)).await.unwrap();
    store.put(&key(ns, "b"), json!(2)).await.unwrap();
    store.delete(&key(ns, "a")).await.unwrap();
    store.delete(&key(ns, "a")).await.unwrap();
    store.delete(&key(ns, "never")).await.unwrap();
    assert_eq!(store.get(&key(ns, "a")).await.unwrap(), None);
    assert_eq!(store.get(&key(ns, "b")).await.unwrap(), Some(json!(2)));
}

/// `compare_and_set` applies exactly when the current value equals `expected`.
pub async fn compare_and_set_applies_only_on_a_match(store: Arc<dyn StateStore>, ns: &str) {
    let k = key(ns, "cas");
    // Expecting a value on an absent key fails.
    assert!(!store.compare_and_set(&k, Some(&json!(0)), Some(json!(1))).await.unwrap());
    assert_eq!(store.get(&k).await.unwrap(), None);
    // Expecting absence on an absent key applies.
    assert!(store.compare_and_set(&k, None, Some(json!({"n": 1}))).await.unwrap());
    // Expecting absence on a present key fails.
    assert!(!store.compare_and_set(&k, None, Some(json!(9))).await.unwrap());
    // A different value fails and changes nothing.
    assert!(!store.compare_and_set(&k, Some(&json!({"n": 2})), Some(json!(9))).await.unwrap());
    assert_eq!(store.get(&k).await.unwrap(), Some(json!({"n": 1})));
    // An equal value (structural JSON equality) applies.
    assert!(store.compare_and_set(&k, Some(&json!({"n": 1})), Some(json!({"n": 2}))).await.unwrap());
    assert_eq!(store.get(&k).await.unwrap(), Some(json!({"n": 2})));
    // Setting the value already held counts as applied.
    assert!(store.compare_and_set(&k, Some(&json!({"n": 2})), Some(json!({"n": 2}))).await.unwrap());
}

/// `compare_and_set` with `new = None` removes the key when `expected` matches.
pub async fn compare_and_set_with_none_removes(store: Arc<dyn StateStore>, ns: &str) {
    let k = key(ns, "lease");
    store.put(&k, json!("holder-1")).await.unwrap();
    assert!(!store.compare_and_set(&k, Some(&json!("holder-2")), None).await.unwrap());
    assert_eq!(store.get(&k).await.unwrap(), Some(json!("holder-1")));
    assert!(store.compare_and_set(&k, Some(&json!("holder-1")), None).await.unwrap());
    assert_eq!(store.get(&k).await.unwrap(), None);
    // Removing an absent key while expecting absence is a (trivially) applied no-op.
    assert!(store.compare_and_set(&k, None, None).await.unwrap());
    assert_eq!(store.get(&k).await.unwrap(), None);
}

/// `insert_if_absent` sets the key once and never overwrites.
pub async fn insert_if_absent_claims_once(store: Arc<dyn StateStore>, ns: &str) {
    let k = key(ns, "processed/evt-1");
    assert!(store.insert_if_absent(&k, json!("first")).await.unwrap());
    assert!(!store.insert_if_absent(&k, json!("second")).await.unwrap());
    assert_eq!(store.get(&k).await.unwrap(), Some(json!("first")));
}

/// `scan_prefix` returns exactly the keys starting with the prefix (a plain string
/// prefix, not a path segment match), in key order.
pub async fn scan_prefix_returns_matching_keys_in_order(store: Arc<dyn StateStore>, ns: &str) {
    for (k, v) in
        [("dm/b", 2), ("dm/a", 1), ("dm/ab", 3), ("dm", 0), ("dmx/a", 4), ("dl/z", 5), ("dm/a/b", 6)]
    {
        store.put(&key(ns, k), json!(v)).await.unwrap();
    }
    let got: Vec<(String, Value)> = store.scan_prefix(&key(ns, "dm/")).await.unwrap();
    let expected: Vec<(String, Value)> = [("dm/a", 1), ("dm/a/b", 6), ("dm/ab", 3), ("dm/b", 2)]
        .iter()
        .map(|(k, v)| (key(ns, k), json!(v)))
        .collect();
    assert_eq!(got, expected);
    let got = store.scan_prefix(&key(ns, "dm")).await.unwrap();
    let got_keys: Vec<&str> = got.iter().map(|(k, _)| k.strip_prefix(ns).unwrap()).collect();
    assert_eq!(got_keys, ["/dm", "/dm/a", "/dm/a/b", "/dm/ab", "/dm/b", "/dmx/a"]);
    assert_eq!(store.scan_prefix(&key(ns, "")).await.unwrap().len(), 7);
    assert!(store.scan_prefix(&key(ns, "dm/c")).await.unwrap().is_empty());
}

/// Keys are compared as exact strings: case, spaces, unicode and separators matter.
pub async fn keys_are_opaque_strings(store: Arc<dyn StateStore>, ns: &str) {
    let keys = ["Ana@Example.com", "ana@example.com", "with space", "ключ/ü", "a//b", "trailing/", "%_*"];
    for (i, k) in keys.iter().enumerate() {
        store.put(&key(ns, k), json!(i)).await.unwrap();
    }
    for (i, k) in keys.iter().enumerate() {
        assert_eq!(store.get(&key(ns, k)).await.unwrap(), Some(json!(i)), "key {k:?}");
    }
    // `%` and `_` are not wildcards.
    assert_eq!(store.scan_prefix(&key(ns, "%")).await.unwrap().len(), 1);
    assert!(store.scan_prefix(&key(ns, "_")).await.unwrap().is_empty());
}

/// Many tasks racing to claim one key: exactly one wins, and its value is the one stored.
pub async fn concurrent_insert_if_absent_has_one_winner(store: Arc<dyn StateStore>, ns: &str) {
    let k = key(ns, "claimed");
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let store = Arc::clone(&store);
            let k = k.clone();
            tokio::spawn(async move { (i, store.insert_if_absent(&k, json!(i)).await.unwrap()) })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        let (i, won) = task.await.unwrap();
        if won {
            winners.push(i);
        }
    }
    assert_eq!(winners.len(), 1, "winners: {winners:?}");
    assert_eq!(store.get(&k).await.unwrap(), Some(json!(winners[0])));
}

/// Read-modify-write loops built on `compare_and_set` lose no update under contention.
pub async fn concurrent_compare_and_set_increments_lose_nothing(store: Arc<dyn StateStore>, ns: &str) {
    let k = key(ns, "counter");
    store.put(&k, json!(0)).await.unwrap();
    let (tasks_count, increments) = (8, 10);
    let tasks: Vec<_> = (0..tasks_count)
        .map(|_| {
            let store = Arc::clone(&store);
            let k = k.clone();
            tokio::spawn(async move {
                for _ in 0..increments {
                    loop {
                        let current = store.get(&k).await.unwrap().unwrap();
                        let next = json!(current.as_u64().unwrap() + 1);
                        if store.compare_and_set(&k, Some(&current), Some(next)).await.unwrap() {
                            break;
                        }
                        tokio::task::yield_now().await;
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(store.get(&k).await.unwrap(), Some(json!(tasks_count * increments)));
}

/// `write_batch` applies its ops in order, each with the semantics of its single call
/// (a compare-and-set judged after the earlier ops of the batch), and answers one result
/// per op; an empty batch is no call at all.
pub async fn write_batch_applies_each_op_in_order(store: Arc<dyn StateStore>, ns: &str) {
    assert_eq!(store.write_batch(Vec::new()).await.unwrap(), Vec::<bool>::new());
    let (a, b, c, d) = (key(ns, "a"), key(ns, "b"), key(ns, "c"), key(ns, "d"));
    store.put(&b, json!("old")).await.unwrap();
    let cas = |key: &str, expected: Option<Value>, new: Option<Value>| WriteOp::CompareAndSet {
        key: key.to_owned(),
        expected,
        new,
    };
    let applied = store
        .write_batch(vec![
            WriteOp::Put { key: a.clone(), value: json!(1) },
            // Judged after the put above: applies.
            cas(&a, Some(json!(1)), Some(json!({"n": 2}))),
            // The value is {"n": 2} now: does not apply, and is no error.
            cas(&a, Some(json!(1)), Some(json!(3))),
            WriteOp::Delete { key: b.clone() },
            // b was deleted by the op before: absence is expected and found.
            cas(&b, None, Some(json!("new"))),
            cas(&c, None, Some(json!("first"))),
            cas(&c, None, Some(json!("second"))),
            // Expecting a value on an absent key.
            cas(&d, Some(json!(0)), None),
            // Removing an absent key while expecting absence: a trivially applied no-op.
            cas(&d, None, None),
        ])
        .await
        .unwrap();
    assert_eq!(applied, vec![true, true, false, true, true, true, false, false, true]);
    assert_eq!(store.get(&a).await.unwrap(), Some(json!({"n": 2})));
    assert_eq!(store.get(&b).await.unwrap(), Some(json!("new")));
    assert_eq!(store.get(&c).await.unwrap(), Some(json!("first")));
    assert_eq!(store.get(&d).await.unwrap(), None);
    let scanned: Vec<String> =
        store.scan_prefix(&key(ns, "")).await.unwrap().into_iter().map(|(k, _)| k).collect();
    assert_eq!(scanned, vec![a, b, c]);
}

/// Compare-and-sets inside batches stay atomic per key when several writers batch at
/// once (as bridge instances sharing a store do): read-modify-write loops over a shared
/// counter lose no increment, and each writer's own keys are all written.
pub async fn concurrent_write_batches_lose_no_increment(store: Arc<dyn StateStore>, ns: &str) {
    let counter = key(ns, "counter");
    store.put(&counter, json!(0)).await.unwrap();
    let (writers, rounds) = (6, 8);
    let tasks: Vec<_> = (0..writers)
        .map(|writer| {
            let store = Arc::clone(&store);
            let counter = counter.clone();
            let own = key(ns, &format!("own/{writer}"));
            tokio::spawn(async move {
                for round in 0..rounds {
                    loop {
                        let current = store.get(&counter).await.unwrap().unwrap();
                        let next = json!(current.as_u64().unwrap() + 1);
                        let applied = store
                            .write_batch(vec![
                                WriteOp::CompareAndSet {
                                    key: counter.clone(),
                                    expected: Some(current),
                                    new: Some(next),
                                },
                                WriteOp::Put { key: format!("{own}/{round}"), value: json!(round) },
                            ])
                            .await
                            .unwrap();
                        assert_eq!(applied.len(), 2);
                        assert!(applied[1], "a put always applies");
                        if applied[0] {
                            break;
                        }
                        tokio::task::yield_now().await;
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(store.get(&counter).await.unwrap(), Some(json!(writers * rounds)));
    assert_eq!(store.scan_prefix(&key(ns, "own/")).await.unwrap().len(), writers * rounds);
}
