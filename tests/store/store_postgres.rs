//! `PostgresStore` against a real PostgreSQL server: the shared store and claim conformance
//! suites, two instances racing, migrations, a server restart, and secrets in errors.
//!
//! The server is `DESKBRIDGE_TEST_POSTGRES_URL` when set (`.ci/run` sets it); otherwise these
//! tests start one with `scripts/pg-test-server.sh start` (a throwaway cluster in
//! `target/pg-test`, left running for the next run; `scripts/pg-test-server.sh stop` removes
//! it). If no server can be had, the tests fail: they never fall back to a fake or skip.
//! Each test works in a schema of its own, dropped at the end.
#![cfg(feature = "postgres")]

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use deskbridge::Error;
use deskbridge::ports::{Claim, StateStore};
use deskbridge::store::{PostgresOptions, PostgresStore, StateStoreExt};
use serde_json::json;

use crate::common::shared as support;

use support::{OwnCluster, TestSchema, server_url};

/// A plain `tokio_postgres` client, to look at the tables behind the store's back.
async fn raw_client(url: &str) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    Ok(client)
}

mod conformance {
    use super::*;

    store_conformance_tests!(async {
        let schema = TestSchema::new();
        let store = schema.connect().await;
        (Arc::new(store) as Arc<dyn StateStore>, schema)
    });
}

/// Two instances: two stores with connections of their own on the same schema.
mod claims {
    use super::*;

    claim_conformance_tests!(async {
        let schema = TestSchema::new();
        let a = PostgresStore::connect_with(schema.options().connections(1)).await.unwrap();
        let b = PostgresStore::connect_with(schema.options().connections(3)).await.unwrap();
        (Arc::new(a) as Arc<dyn StateStore>, Arc::new(b) as Arc<dyn StateStore>, schema)
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_race_for_many_claims_and_each_has_one_winner() {
    let schema = TestSchema::new();
    let instances: Vec<PostgresStore> = vec![schema.connect().await, schema.connect().await];
    let keys: Vec<String> = (0..20).map(|i| format!("agent/{i}")).collect();
    let mut tasks = Vec::new();
    for (n, store) in instances.iter().enumerate() {
        for worker in 0..4 {
            let (store, keys) = (store.clone(), keys.clone());
            let owner = format!("instance-{n}-worker-{worker}");
            tasks.push(tokio::spawn(async move {
                let mut won = Vec::new();
                for key in keys.iter().rev().skip(worker).chain(keys.iter()) {
                    if store.try_claim(key, &owner, Duration::from_secs(600), Utc::now()).await.unwrap() {
                        won.push((key.clone(), owner.clone()));
                    }
                }
                won
            }));
        }
    }
    let mut winners = std::collections::BTreeMap::new();
    for task in tasks {
        for (key, owner) in task.await.unwrap() {
            // An owner may renew its own claim; no key may have two owners.
            let previous = winners.insert(key.clone(), owner.clone());
            assert!(
                previous.is_none() || previous.as_ref() == Some(&owner),
                "{key}: {previous:?} and {owner}"
            );
        }
    }
    assert_eq!(winners.len(), keys.len());
    for (key, owner) in winners {
        assert_eq!(instances[1].get_as::<Claim>(&key).await.unwrap().unwrap().owner, owner);
    }
}

#[tokio::test]
async fn the_server_clock_decides_expiry_not_the_callers() {
    let schema = TestSchema::new();
    let (a, b) = (schema.connect().await, schema.connect().await);
    let long_ago = Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).unwrap();
    let far_future = Utc.with_ymd_and_hms(2100, 1, 1, 0, 0, 0).unwrap();
    assert!(a.try_claim("lease", "a", Duration::from_secs(600), long_ago).await.unwrap());
    // With the caller's clock, b would see a claim expired decades ago.
    assert!(!b.try_claim("lease", "b", Duration::from_secs(600), far_future).await.unwrap());
    let claim = b.get_as::<Claim>("lease").await.unwrap().unwrap();
    let from_now = claim.expires_at - Utc::now();
    assert!(
        from_now > chrono::Duration::seconds(300) && from_now < chrono::Duration::seconds(900),
        "{claim:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_connects_migrate_once_and_reconnecting_is_a_no_op() {
    let schema = TestSchema::new();
    let connects: Vec<_> = (0..8)
        .map(|_| {
            let options = schema.options().connections(1);
            tokio::spawn(async move { PostgresStore::connect_with(options).await })
        })
        .collect();
    let mut stores = Vec::new();
    for connect in connects {
        stores.push(connect.await.unwrap().unwrap());
    }
    stores[0].put("k", json!("v")).await.unwrap();
    let again = schema.connect().await;
    assert_eq!(again.get("k").await.unwrap(), Some(json!("v")));
    let client = raw_client(&schema.url).await.unwrap();
    let rows = client
        .query(
            &format!(
                "SELECT version, count(*) FROM \"{}\".deskbridge_migrations GROUP BY version",
                schema.name
            ),
            &[],
        )
        .await
        .unwrap();
    let versions: Vec<(i32, i64)> = rows.iter().map(|row| (row.get(0), row.get(1))).collect();
    assert_eq!(versions, [(1, 1)]);
}

#[tokio::test]
async fn a_schema_migrated_by_a_newer_deskbridge_is_refused() {
    let schema = TestSchema::new();
    drop(schema.connect().await);
    let client = raw_client(&schema.url).await.unwrap();
    client
        .batch_execute(&format!(
            "INSERT INTO \"{}\".deskbridge_migrations (version, description) VALUES (999, 'future')",
            schema.name
        ))
        .await
        .unwrap();
    let err = PostgresStore::connect_with(schema.options()).await.unwrap_err();
    assert!(matches!(err, Error::Store { .. }), "{err:?}");
    assert!(err.to_string().contains("newer than this deskbridge"), "{err}");
}

#[tokio::test]
async fn schemas_are_independent_and_names_are_checked() {
    let (one, two) = (TestSchema::new(), TestSchema::new());
    let (first, second) = (one.connect().await, two.connect().await);
    first.put("same/key", json!(1)).await.unwrap();
    second.put("same/key", json!(2)).await.unwrap();
    assert_eq!(first.get("same/key").await.unwrap(), Some(json!(1)));
    assert_eq!(second.scan_prefix("").await.unwrap(), [("same/key".to_owned(), json!(2))]);
    assert_eq!(first.schema(), one.name);
    let err = PostgresStore::connect_with(PostgresOptions::new(server_url()).schema("x\"; DROP TABLE y; --"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
    let err =
        PostgresStore::connect_with(PostgresOptions::new(server_url()).connections(0)).await.unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
}

#[tokio::test]
async fn equality_follows_serde_json_not_jsonb() {
    let schema = TestSchema::new();
    let store = schema.connect().await;
    store.put("n", json!(1.0)).await.unwrap();
    assert_eq!(store.get("n").await.unwrap(), Some(json!(1.0)));
    // jsonb says 1 = 1.0; serde_json (and so the store) says they differ.
    assert!(!store.compare_and_set("n", Some(&json!(1)), Some(json!(2))).await.unwrap());
    assert!(
        store
            .compare_and_set("n", Some(&json!(1.0)), Some(json!({"b": 1, "a": [1.5e-7, 1e300]})))
            .await
            .unwrap()
    );
    let stored = store.get("n").await.unwrap().unwrap();
    assert_eq!(stored, json!({"a": [1.5e-7, 1e300], "b": 1}));
    assert!(store.compare_and_set("n", Some(&stored), None).await.unwrap());
}

#[tokio::test]
async fn nul_characters_are_refused_not_stored() {
    let schema = TestSchema::new();
    let store = schema.connect().await;
    let err = store.put("bad\0key", json!(1)).await.unwrap_err();
    assert!(matches!(err, Error::Store { .. }), "{err:?}");
    let err = store.put("bad/value", json!("a\u{0}b")).await.unwrap_err();
    assert!(matches!(err, Error::Store { .. }), "{err:?}");
    assert!(err.to_string().contains("bad/value"), "{err}");
    assert!(store.scan_prefix("").await.unwrap().is_empty());
    // The store still works after refused statements.
    store.put("good", json!(1)).await.unwrap();
}

#[tokio::test]
async fn tls_is_not_offered_so_sslmode_require_is_refused() {
    let err = PostgresStore::connect(&format!("{}?sslmode=require", server_url())).await.unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
    assert!(err.to_string().contains("TLS"), "{err}");
}

/// Errors and `Debug` output never contain the password, whatever goes wrong.
#[tokio::test]
async fn errors_and_debug_never_contain_the_password() {
    let server = url::Url::parse(&server_url()).unwrap();
    let host_port = format!("{}:{}", server.host_str().unwrap(), server.port().unwrap());
    let database = server.path().trim_start_matches('/').to_owned();
    let secret = "Pa55-word-NEVER-shown";
    let assert_clean = |what: &str, text: String| {
        assert!(!text.contains(secret), "{what} shows the password: {text}");
        assert!(!text.contains("NEVER"), "{what} shows part of the password: {text}");
    };
    // `Display` and `Debug` of an error and of every error in its source chain.
    let chain = |err: &Error| {
        let mut text = format!("{err} {err:?}");
        let mut source = std::error::Error::source(err);
        while let Some(cause) = source {
            text.push_str(&format!(" | {cause} {cause:?}"));
            source = cause.source();
        }
        text
    };

    // The script's cluster has a role that must log in with SCRAM (password below).
    let wrong = format!("postgres://deskbridge_pw:{secret}@{host_port}/{database}");
    let err = PostgresStore::connect(&wrong).await.unwrap_err();
    assert!(matches!(err, Error::Store { .. }), "{err:?}");
    assert!(err.to_string().contains("password authentication failed"), "{err}");
    assert!(err.to_string().contains(&format!("deskbridge_pw@{host_port}/{database}")), "{err}");
    assert!(std::error::Error::source(&err).is_some(), "the driver's error is kept: {err:?}");
    assert_clean("wrong password error", chain(&err));

    let right = format!("postgres://deskbridge_pw:deskbridge-test-password@{host_port}/{database}");
    let schema = TestSchema::new();
    let store =
        PostgresStore::connect_with(PostgresOptions::new(right).schema(schema.name.clone())).await.unwrap();
    assert!(!format!("{store:?}").contains("deskbridge-test-password"), "{store:?}");
    let err = store.put("k", json!("\u{0}")).await.unwrap_err();
    assert!(!format!("{err} {err:?}").contains("deskbridge-test-password"), "{err:?}");

    let missing_database = format!("postgres://deskbridge:{secret}@{host_port}/no_such_database");
    let err = PostgresStore::connect(&missing_database).await.unwrap_err();
    assert!(err.to_string().contains("no_such_database"), "{err}");
    assert_clean("missing database error", chain(&err));

    let closed_port = format!("postgres://deskbridge:{secret}@127.0.0.1:1/{database}?connect_timeout=5");
    let err = PostgresStore::connect(&closed_port).await.unwrap_err();
    assert!(matches!(err, Error::Store { .. }), "{err:?}");
    assert_clean("refused connection error", chain(&err));

    let unreadable = format!("postgres://deskbridge:{secret}@127.0.0.1:notaport/{database}");
    let err = PostgresStore::connect(&unreadable).await.unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
    assert_clean("unreadable connection string error", chain(&err));

    assert_clean("options", format!("{:?}", PostgresOptions::new(wrong)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_works_again_after_a_server_restart() {
    let (cluster, url) = tokio::task::spawn_blocking(|| OwnCluster::start(56432)).await.unwrap();
    let store = PostgresStore::connect_with(PostgresOptions::new(url.clone()).connections(2)).await.unwrap();
    store.put("cursor", json!(41)).await.unwrap();
    assert!(store.try_claim("lease", "a", Duration::from_secs(600), Utc::now()).await.unwrap());

    let (cluster, restarted_url) = tokio::task::spawn_blocking(move || {
        let url = cluster.restart();
        (cluster, url)
    })
    .await
    .unwrap();
    assert_eq!(restarted_url, url);

    // The same store, transparently: reads and writes on both connections.
    for _ in 0..4 {
        assert_eq!(store.get("cursor").await.unwrap(), Some(json!(41)));
    }
    store.put("cursor", json!(42)).await.unwrap();
    assert!(store.compare_and_set("cursor", Some(&json!(42)), Some(json!(43))).await.unwrap());
    assert!(store.try_claim("lease", "a", Duration::from_secs(600), Utc::now()).await.unwrap());
    // A new instance sees the same state.
    let other = PostgresStore::connect(&url).await.unwrap();
    assert_eq!(other.get("cursor").await.unwrap(), Some(json!(43)));
    assert!(!other.try_claim("lease", "b", Duration::from_secs(600), Utc::now()).await.unwrap());
    drop(other);
    drop(store);
    tokio::task::spawn_blocking(move || drop(cluster)).await.unwrap();
}
