//! The peer benchmark's two example binaries, run as processes: `sim_server` serves the
//! seeded agents and counts requests on its control port; `bench_zendesk_peers` lists them
//! all, writes the Talk availabilities, reports the figures, and fails loudly when it
//! lists fewer agents than expected.
#![cfg(all(feature = "sim", feature = "zendesk"))]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe.parent().unwrap().parent().unwrap().join("examples").join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo test --all-features` (it builds the examples)",
        path.display()
    );
    path
}

struct Sim(Child);

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn http(method: &str, url: &str) -> serde_json::Value {
    let url = url::Url::parse(url).unwrap();
    let mut stream = TcpStream::connect((url.host_str().unwrap(), url.port().unwrap())).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        stream,
        "{method} {} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
        url.path()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let body = answer.split_once("\r\n\r\n").map(|(_, body)| body).unwrap_or("");
    serde_json::from_str(body).unwrap_or(serde_json::Value::Null)
}

fn run_bench(base_url: &str, extra: &[&str]) -> (Option<i32>, serde_json::Value) {
    let mut child = Command::new(example("bench_zendesk_peers"))
        .args(["--base-url", base_url, "--email", "admin@example.com", "--api-token", "sim-zendesk-token"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("bench_zendesk_peers did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stdout = String::new();
    child.stdout.take().unwrap().read_to_string(&mut stdout).unwrap();
    (status.code(), serde_json::from_str(stdout.trim()).unwrap())
}

#[test]
fn bench_lists_everything_writes_and_fails_loudly_when_short() {
    let mut child = Command::new(example("sim_server"))
        .args(["--agents", "250", "--groups", "3", "--for", "60"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let sim = Sim(child);
    let ready: serde_json::Value = serde_json::from_str(&line).unwrap();
    let base_url = ready["base_url"].as_str().unwrap().to_owned();
    let control = ready["control_url"].as_str().unwrap().to_owned();

    let (code, report) =
        run_bench(&base_url, &["--writes", "40", "--concurrency", "4", "--expect-agents", "250"]);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["agents"], 250);
    assert_eq!(report["memberships"], 250);
    assert_eq!(report["agents_with_groups"], 250);
    assert_eq!(report["writes_ok"], 40);
    assert_eq!(report["requests"], 3 + 3 + 40);
    let counts = http("GET", &format!("{control}requests"));
    assert_eq!(counts["by_route"]["GET /api/v2/users"], 3);
    assert_eq!(counts["by_route"]["GET /api/v2/group_memberships"], 3);
    assert_eq!(counts["by_route"]["PUT /api/v2/channels/voice/availabilities/{id}"], 40);
    assert_eq!(counts["total"], report["requests"]);

    http("POST", &format!("{control}reset"));
    let (code, report) = run_bench(&base_url, &["--list-only", "--expect-agents", "251"]);
    assert_eq!(code, Some(1), "{report}");
    assert_eq!(report["outcome"], "truncated");
    assert_eq!(http("GET", &format!("{control}requests"))["total"], 6);
    drop(sim);
}
