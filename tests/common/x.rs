//! Shared helpers of the X -> Usedesk end-to-end tests: the real adapters over the
//! simulators, an inbox over a state store, the example binary, and process control.
//!
//! Also compiled as a test target of its own (with no tests), hence the feature gate.
#![cfg(all(feature = "sim", feature = "twitter", feature = "usedesk"))]
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::sync::Arc;
use std::time::{Duration, Instant};

use deskbridge::http::RateLimit;
use deskbridge::inbox::{Inbox, InboxConfig};
use deskbridge::ports::StateStore;
use deskbridge::sim::twitter::{XSimConfig, sample};
use deskbridge::sim::usedesk::UsedeskSimConfig;
use deskbridge::twitter::{XConfig, XSource};
use deskbridge::usedesk::{UsedeskClient, UsedeskConfig, UsedeskDesk};
use url::Url;

/// The Usedesk Twitter channel of the sample seed, as the inbox configures it.
pub const CHANNEL: &str = "12";

/// `XSource` over an X simulator at `base_url` (sample account, default token).
pub fn x_source(base_url: &Url) -> XSource {
    let config = XConfig::with_user_token(sample::OWN_ID, XSimConfig::DEFAULT_TOKEN)
        .with_base_url(base_url.clone())
        .unwrap();
    XSource::from_config(config).unwrap()
}

/// `UsedeskDesk` over a Usedesk simulator at `base_url`, unpaced, searching channel 12.
pub fn usedesk_desk(base_url: &Url) -> UsedeskDesk {
    let config = UsedeskConfig::new(UsedeskSimConfig::DEFAULT_API_TOKEN)
        .unwrap()
        .with_base_url(base_url.as_str())
        .unwrap()
        .with_rate_limit(RateLimit::unlimited());
    UsedeskDesk::new(UsedeskClient::new(config).unwrap()).with_channel(CHANNEL)
}

/// The inbox as the example builds it: X sim -> Usedesk sim (channel 12), state in `store`.
pub fn inbox(x_url: &Url, usedesk_url: &Url, store: Arc<dyn StateStore>) -> Inbox {
    let config = InboxConfig::default().with_channel_id(Some(CHANNEL.into()));
    Inbox::new(Arc::new(x_source(x_url)), Arc::new(usedesk_desk(usedesk_url)), store, config)
}

/// The compiled example binary (`target/<profile>/examples/twitter_to_usedesk`).
pub fn example_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).unwrap();
    let path =
        profile_dir.join("examples").join(format!("twitter_to_usedesk{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "example binary {} not found: run `cargo test --all-features` (cargo test builds the examples)",
        path.display()
    );
    path
}

/// A command for the example with every provider variable removed (simulator mode).
pub fn example_command() -> Command {
    let mut command = Command::new(example_binary());
    for name in [
        "X_USER_TOKEN",
        "X_USER_ID",
        "X_BASE_URL",
        "X_CONSUMER_KEY",
        "X_CONSUMER_SECRET",
        "X_ACCESS_TOKEN",
        "X_ACCESS_TOKEN_SECRET",
        "USEDESK_API_TOKEN",
        "USEDESK_BASE_URL",
        "USEDESK_TWITTER_CHANNEL_ID",
    ] {
        command.env_remove(name);
    }
    command
}

/// The example pointed at running simulators, as if they were real accounts.
pub fn example_command_against(x_url: &Url, usedesk_url: &Url) -> Command {
    let mut command = example_command();
    command
        .env("X_USER_TOKEN", XSimConfig::DEFAULT_TOKEN)
        .env("X_USER_ID", sample::OWN_ID)
        .env("X_BASE_URL", x_url.as_str())
        .env("USEDESK_API_TOKEN", UsedeskSimConfig::DEFAULT_API_TOKEN)
        .env("USEDESK_BASE_URL", usedesk_url.as_str())
        .env("USEDESK_TWITTER_CHANNEL_ID", CHANNEL);
    command
}

/// What a finished process printed and how it ended.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// Run `command` to the end, killing it after `timeout` (a failure). Its output is
/// small (a report), so it fits the pipes until the process has exited.
pub async fn run_with_timeout(command: &mut Command, timeout: Duration) -> Finished {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let status = wait_with_timeout(&mut child, timeout).await;
    let (mut stdout, mut stderr) = (String::new(), String::new());
    child.stdout.take().unwrap().read_to_string(&mut stdout).unwrap();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    Finished { status, stdout, stderr }
}

/// Wait for `child` to exit, killing it after `timeout` (a failure).
pub async fn wait_with_timeout(child: &mut Child, timeout: Duration) -> ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("child process did not finish within {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Wait until `condition` holds, failing after `timeout`.
pub async fn wait_until(what: &str, timeout: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
