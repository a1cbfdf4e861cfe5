//! A real PostgreSQL server for the shared-state tests, found or started exactly as
//! `tests/store/store_postgres.rs` does: `DESKBRIDGE_TEST_POSTGRES_URL` when set (`.ci/run` sets
//! it), otherwise `scripts/pg-test-server.sh start` (a throwaway cluster in
//! `target/pg-test`). No server is a failure, never a skip. Each test works in a schema of
//! its own, dropped at the end; a test that restarts the server gets a cluster of its own.

#![cfg(feature = "postgres")]
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::Utc;
use deskbridge::store::{PostgresOptions, PostgresStore};

pub const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/pg-test-server.sh");

/// Run the test server script; its last line of output is the URL.
pub fn script(args: &[&str], cluster_dir: Option<&Path>, first_port: Option<u16>) -> String {
    let mut command = Command::new("bash");
    command.arg(SCRIPT).args(args);
    if let Some(dir) = cluster_dir {
        command.env("DESKBRIDGE_PG_TEST_DIR", dir);
    }
    if let Some(port) = first_port {
        command.env("DESKBRIDGE_PG_TEST_PORT", port.to_string());
    }
    let output = command.output().unwrap_or_else(|err| panic!("cannot run {SCRIPT}: {err}"));
    assert!(
        output.status.success(),
        "{SCRIPT} {args:?} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).lines().last().unwrap_or_default().trim().to_owned()
}

/// The shared test server's URL (started once per test process when not given).
pub fn server_url() -> String {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| match std::env::var("DESKBRIDGE_TEST_POSTGRES_URL") {
        Ok(url) if !url.trim().is_empty() => url,
        _ => script(&["start"], None, None),
    })
    .clone()
}

/// A schema of its own for one test on `url`; dropped (with everything in it) when the
/// guard goes.
pub struct TestSchema {
    pub name: String,
    pub url: String,
}

impl Default for TestSchema {
    fn default() -> Self {
        Self::new()
    }
}

impl TestSchema {
    /// A schema on the shared test server.
    pub fn new() -> Self {
        Self::on(server_url())
    }

    /// A schema on the server at `url`.
    pub fn on(url: String) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let stamp = Utc::now().timestamp_micros();
        let name =
            format!("shared_{}_{}_{stamp}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
        Self { name, url }
    }

    pub fn options(&self) -> PostgresOptions {
        PostgresOptions::new(self.url.clone()).schema(self.name.clone())
    }

    /// A store of its own (its own connections), as another process would have.
    pub async fn connect(&self) -> PostgresStore {
        PostgresStore::connect_with(self.options()).await.unwrap()
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        let (url, name) = (self.url.clone(), self.name.clone());
        // Drop runs inside the test's runtime: clean up on a thread with a runtime of its own.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async {
                let Ok((client, connection)) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await
                else {
                    return;
                };
                tokio::spawn(connection);
                let _ = client
                    .batch_execute(&format!(
                        "SET lock_timeout = '5s'; DROP SCHEMA IF EXISTS \"{name}\" CASCADE"
                    ))
                    .await;
            });
        });
        let _ = cleanup.join();
    }
}

/// A cluster of its own (a restart would disturb the other tests), stopped and removed at
/// the end.
pub struct OwnCluster {
    dir: tempfile::TempDir,
}

impl OwnCluster {
    /// Start it, trying ports from `first_port`; returns it and its URL.
    pub fn start(first_port: u16) -> (Self, String) {
        let dir = tempfile::Builder::new().prefix("deskbridge-pg-shared-").tempdir().unwrap();
        // As root, the cluster belongs to the `postgres` user, who must reach it.
        std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let url = script(&["start"], Some(&dir.path().join("cluster")), Some(first_port));
        (Self { dir }, url)
    }

    /// Stop and start the same cluster (data kept); returns the URL.
    pub fn restart(&self) -> String {
        script(&["restart"], Some(&self.dir.path().join("cluster")), None)
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(SCRIPT)
            .arg("stop")
            .env("DESKBRIDGE_PG_TEST_DIR", self.dir.path().join("cluster"))
            .status();
    }
}
