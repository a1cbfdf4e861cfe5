//! Helpers for the shift → Usedesk end-to-end tests (`crate::common::shift`).
#![cfg(all(feature = "sim", feature = "usedesk"))]

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use deskbridge::sim::usedesk::{UsedeskSim, UsedeskSimConfig, UsedeskSimGroup, UsedeskSimUser};
use reqwest::Method;
use serde_json::Value;

/// The compiled example binary `name`, next to the test executable's directory
/// (`target/<profile>/deps/x-hash` → `target/<profile>/examples/<name>`).
pub fn example_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).expect("target/<profile> directory");
    let binary = profile_dir.join("examples").join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.is_file(),
        "example binary {} is missing: run `cargo test --all-features` (cargo builds every example \
         before running the tests)",
        binary.display()
    );
    binary
}

/// What a finished example run printed.
#[derive(Debug)]
pub struct RunOutput {
    /// Exit status.
    pub status: ExitStatus,
    /// Everything on stdout.
    pub stdout: String,
    /// Everything on stderr.
    pub stderr: String,
}

impl RunOutput {
    /// The exit code (`None` when killed by a signal).
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// The number in the simulator's closing line "simulator received N status writes".
    pub fn simulator_writes(&self) -> usize {
        let line = self
            .stderr
            .lines()
            .find(|l| l.starts_with("simulator received "))
            .unwrap_or_else(|| panic!("no simulator summary on stderr:\n{}", self.stderr));
        line["simulator received ".len()..]
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("unreadable simulator summary: {line}"))
    }
}

/// Run the example `name` with `args`, without Usedesk credentials (simulator mode), and
/// kill it if it has not finished after `timeout`.
pub fn run_example(name: &str, args: &[&str], timeout: Duration) -> RunOutput {
    let mut child = Command::new(example_binary(name))
        .args(args)
        .env_remove("USEDESK_API_TOKEN")
        .env_remove("USEDESK_BASE_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the example");
    let mut stdout_pipe = child.stdout.take().expect("stdout pipe");
    let mut stderr_pipe = child.stderr.take().expect("stderr pipe");
    let stdout_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout_pipe.read_to_string(&mut text);
        text
    });
    let stderr_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr_pipe.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the example") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            let stderr = stderr_reader.join().unwrap_or_default();
            panic!("example {name} {args:?} did not finish within {timeout:?}; stderr:\n{stderr}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    RunOutput {
        status,
        stdout: stdout_reader.join().expect("stdout reader"),
        stderr: stderr_reader.join().expect("stderr reader"),
    }
}

/// Group ids of the test roster.
pub const LIVE_CHAT_EU: u64 = 1;
/// "E-mail desk".
pub const EMAIL_DESK: u64 = 2;
/// "Team leads" (used as *Do not change*).
pub const TEAM_LEADS: u64 = 3;
/// "Night owls" (in no list).
pub const NIGHT_OWLS: u64 = 4;

/// A roster whose group names contain spaces:
///
/// | id | e-mail | groups | chat | tickets |
/// |---|---|---|---|---|
/// | 201 | ana@ | Live chat EU | off | off |
/// | 202 | ben@ | Live chat EU, E-mail desk | on | on |
/// | 203 | cy@ | E-mail desk, Team leads | off | off |
/// | 204 | dee@ | E-mail desk | off | off |
/// | 205 | eli@ | Live chat EU | on | on |
/// | 206 | fay@ | Night owls | off | off |
/// | 207 | gus@ | Live chat EU, E-mail desk | on | off |
pub fn roster() -> UsedeskSimConfig {
    let user = UsedeskSimUser::new;
    let mut config = UsedeskSimConfig::new();
    config.groups = vec![
        UsedeskSimGroup::new(LIVE_CHAT_EU, "Live chat EU"),
        UsedeskSimGroup::new(EMAIL_DESK, "E-mail desk"),
        UsedeskSimGroup::new(TEAM_LEADS, "Team leads"),
        UsedeskSimGroup::new(NIGHT_OWLS, "Night owls"),
    ];
    config.users = vec![
        user(201, "Ana", "ana@example.com").in_groups(&[LIVE_CHAT_EU]),
        user(202, "Ben", "ben@example.com").with_status(true, true).in_groups(&[LIVE_CHAT_EU, EMAIL_DESK]),
        user(203, "Cy", "cy@example.com").with_type("admin").in_groups(&[EMAIL_DESK, TEAM_LEADS]),
        user(204, "Dee", "dee@example.com").in_groups(&[EMAIL_DESK]),
        user(205, "Eli", "eli@example.com").with_status(true, true).in_groups(&[LIVE_CHAT_EU]),
        user(206, "Fay", "fay@example.com").with_type("support").in_groups(&[NIGHT_OWLS]),
        user(207, "Gus", "gus@example.com").with_status(true, false).in_groups(&[LIVE_CHAT_EU, EMAIL_DESK]),
    ];
    config
}

/// The bodies of every `POST /update/user` the simulator received, in arrival order.
pub fn status_writes(sim: &UsedeskSim) -> Vec<Value> {
    sim.server()
        .requests_matching(Method::POST, "/update/user")
        .iter()
        .map(|r| r.body_json().expect("update/user body is JSON"))
        .collect()
}

/// [`status_writes`] sorted by `user_id` and then by field (writes run concurrently, so
/// their arrival order is not fixed).
pub fn sorted_status_writes(sim: &UsedeskSim) -> Vec<Value> {
    let mut writes = status_writes(sim);
    writes.sort_by_key(|w| (w["user_id"].as_u64(), w.get("chat_online_status").is_none()));
    writes
}
