//! Hostile input, black box (issue 14): one regression test per finding, over real HTTP on
//! 127.0.0.1 with the servers as the examples run them ([`deskbridge::server::limits::serve`]).
//!
//! - the X CRC endpoint is no signing oracle: a DM forged through it is refused and
//!   creates no ticket, while a genuinely signed DM does;
//! - the X parser refuses bytes after the JSON object;
//! - a crafted Talkdesk offset gets 400 and the server keeps serving;
//! - the Talkdesk router authenticates before it validates, and its 404 lists nothing;
//! - slow clients (idle, partial headers, a header at a time, a missing body, a body byte
//!   at a time) are cut at the configured timeouts, on the webhook and the Talkdesk
//!   servers;
//! - a burst of large bodies is refused with 413 without being read, and memory stays
//!   bounded.
#![cfg(all(feature = "server", feature = "sim"))]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use deskbridge::bridges::{AcceptedCredentials, UsedeskTalkdeskBackend};
use deskbridge::http::RateLimit;
use deskbridge::inbox::{Inbox, InboxConfig};
use deskbridge::ports::StateStore;
use deskbridge::server::limits::{ServerLimits, serve};
use deskbridge::server::talkdesk::router;
use deskbridge::server::webhooks::{WebhookRoutes, X_PATH};
use deskbridge::sim::twitter::{XSim, XSimConfig, sample};
use deskbridge::sim::usedesk::{UsedeskSim, UsedeskSimConfig};
use deskbridge::store::MemoryStore;
use deskbridge::sync::{Bridge, BridgeOptions};
use deskbridge::talkdesk::Manifest;
use deskbridge::twitter::{SIGNATURE_HEADER, XWebhook, signature};
use deskbridge::twitter::{XConfig, XSource};
use deskbridge::usedesk::{UsedeskClient, UsedeskConfig, UsedeskDesk};
use serde_json::{Value, json};
use url::Url;

const X_SECRET: &str = "x-consumer-secret";
const ACCOUNT: &str = "acme";
const TOKEN: &str = "td-bridge-token";
/// The Usedesk Twitter channel of the sample seed.
const CHANNEL: &str = "12";
/// Short timeouts, so that stalled clients are cut quickly.
const CUT: Duration = Duration::from_millis(300);

async fn serve_on_loopback(app: axum::Router, limits: ServerLimits) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, app, limits));
    addr
}

/// The X → Usedesk inbox behind the bridge, with the X webhook router served.
struct XWorld {
    x: XSim,
    usedesk: UsedeskSim,
    addr: SocketAddr,
    http: reqwest::Client,
    stop: deskbridge::sync::BridgeHandle,
}

impl XWorld {
    async fn start() -> Self {
        let x = XSim::start_with_sample().await.unwrap();
        let usedesk = UsedeskSim::start_with_sample().await.unwrap();
        let source = XSource::from_config(
            XConfig::with_user_token(sample::OWN_ID, XSimConfig::DEFAULT_TOKEN)
                .with_base_url(x.base_url())
                .unwrap(),
        )
        .unwrap();
        let desk_config = UsedeskConfig::new(UsedeskSimConfig::DEFAULT_API_TOKEN)
            .unwrap()
            .with_base_url(usedesk.base_url().as_str())
            .unwrap()
            .with_rate_limit(RateLimit::unlimited());
        let desk = UsedeskDesk::new(UsedeskClient::new(desk_config).unwrap()).with_channel(CHANNEL);
        let store: Arc<dyn StateStore> = Arc::new(MemoryStore::new());
        let config = InboxConfig::default().with_channel_id(Some(CHANNEL.into()));
        let inbox = Inbox::new(Arc::new(source), Arc::new(desk), store.clone(), config);
        let options = BridgeOptions::default().with_reconcile_every(Duration::from_secs(3600));
        let bridge = Bridge::new(store, options).inbox("x", inbox);
        let handle = bridge.handle();
        let routes = WebhookRoutes::new(handle.clone()).x(XWebhook::new(X_SECRET).unwrap()).into_router();
        tokio::spawn(bridge.run());
        let addr = serve_on_loopback(routes, ServerLimits::default()).await;
        let world = Self { x, usedesk, addr, http: reqwest::Client::new(), stop: handle };
        // The bridge polls the inbox once at start (the sample's DMs become tickets): wait
        // until that is over, so that later counts see only what a test delivers.
        let (mut last, mut quiet) = (usize::MAX, 0);
        while quiet < 6 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let now = world.tickets();
            if now == last && now > 2 {
                quiet += 1;
            } else {
                (last, quiet) = (now, 0);
            }
        }
        world
    }

    fn url(&self) -> String {
        format!("http://{}{X_PATH}", self.addr)
    }

    fn tickets(&self) -> usize {
        self.usedesk.tickets().len()
    }

    async fn post(&self, body: &[u8], signature_header: Option<&str>) -> u16 {
        let mut request = self.http.post(self.url()).body(body.to_vec());
        if let Some(value) = signature_header {
            request = request.header(SIGNATURE_HEADER, value);
        }
        request.send().await.unwrap().status().as_u16()
    }

    /// How many Usedesk messages (ticket comments) quote `text`.
    fn quoting(&self, text: &str) -> usize {
        let tickets = self.usedesk.tickets();
        tickets.iter().flat_map(|t| self.usedesk.comments(t.id)).filter(|c| c.message.contains(text)).count()
    }

    /// Wait until a Usedesk message quotes `text` (or a few seconds pass).
    async fn quoted(&self, text: &str) -> usize {
        for _ in 0..100 {
            if self.quoting(text) > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.quoting(text)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dm_forged_through_the_crc_endpoint_is_refused_and_creates_nothing() {
    let world = XWorld::start().await;
    let before = world.tickets();
    // The forged DM: a real-looking event from Alice, never sent on X.
    const TEXT: &str = "refund me now, order 7f3a";
    let dm = world.x.add_dm(sample::ALICE_ID, sample::OWN_ID, TEXT, Utc::now(), Vec::new()).unwrap();
    let forged = serde_json::to_vec(&world.x.dm_payload(&dm.id).unwrap()).unwrap();

    // Step 1 of the attack: ask the CRC endpoint to "answer" the forged body.
    let crc = world
        .http
        .get(world.url())
        .query(&[("crc_token", String::from_utf8(forged.clone()).unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(crc.status().as_u16(), 400);
    let answer: Value = crc.json().await.unwrap();
    assert!(answer.get("response_token").is_none(), "no signature handed out: {answer}");
    // What the endpoint used to answer is exactly the delivery signature: refused anyway
    // when the attacker has nothing better.
    assert_eq!(world.post(&forged, None).await, 401);
    assert_eq!(world.post(&forged, Some("sha256=AAAA")).await, 401);
    // A token shaped like X's is still answered (X's CRC keeps working).
    let ok: Value = world
        .http
        .get(format!("{}?crc_token=Zm9vYmFyLWNoYWxsZW5nZQ", world.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        ok["response_token"],
        deskbridge::twitter::crc_response_token(X_SECRET, "Zm9vYmFyLWNoYWxsZW5nZQ")
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(world.tickets(), before, "the forged DM created no ticket");
    assert_eq!(world.quoting(TEXT), 0, "nor any comment");

    // Control: the same DM correctly signed (by X) does reach Usedesk (a comment on
    // Alice's open DM ticket), so the refusal above is the CRC fix and not a broken
    // pipeline.
    let signed = signature(X_SECRET, &forged);
    assert_eq!(world.post(&forged, Some(&signed)).await, 200);
    assert_eq!(world.quoted(TEXT).await, 1);
    world.stop.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_x_delivery_with_bytes_after_the_object_is_refused() {
    let world = XWorld::start().await;
    let before = world.tickets();
    let dm = world.x.add_dm(sample::BOB_ID, sample::OWN_ID, "hello 5b1c", Utc::now(), Vec::new()).unwrap();
    let mut body = serde_json::to_vec(&world.x.dm_payload(&dm.id).unwrap()).unwrap();
    body.extend_from_slice(b"{\"for_user_id\":\"1\"}");
    let signed = signature(X_SECRET, &body);
    assert_eq!(world.post(&body, Some(&signed)).await, 400);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(world.tickets(), before);
    assert_eq!(world.quoting("hello 5b1c"), 0);
    world.stop.shutdown();
}

/// The Talkdesk bridge over the Usedesk simulator, served with `limits`.
async fn talkdesk(limits: ServerLimits) -> (UsedeskSim, SocketAddr) {
    let sim = UsedeskSim::start_with_sample().await.unwrap();
    let config = UsedeskConfig::new(UsedeskSimConfig::DEFAULT_API_TOKEN)
        .unwrap()
        .with_base_url(sim.base_url().as_str())
        .unwrap()
        .with_rate_limit(RateLimit::unlimited());
    let backend = UsedeskTalkdeskBackend::new(
        UsedeskClient::new(config).unwrap(),
        AcceptedCredentials::new(ACCOUNT, TOKEN).unwrap(),
    );
    let manifest =
        Manifest::example_mycrm(&Url::parse("https://bridge.example.com/talkdesk").unwrap()).unwrap();
    let addr = serve_on_loopback(router(Arc::new(backend), manifest), limits).await;
    (sim, addr)
}

async fn post_json(addr: SocketAddr, path: &str, body: &Value) -> (u16, Value) {
    let response =
        reqwest::Client::new().post(format!("http://{addr}{path}")).json(body).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crafted_talkdesk_offset_gets_400_and_the_server_keeps_serving() {
    let (_sim, addr) = talkdesk(ServerLimits::default()).await;
    let auth = json!({"account": ACCOUNT, "token": TOKEN});
    for offset in ["0:0:-8334601228800", "0:0:-1", "0:0:99999999999999999", "0:0:9223372036854775807"] {
        let (status, body) =
            post_json(addr, "/talkdesk/contact_sync", &json!({"auth": auth, "meta": {"offset": offset}}))
                .await;
        assert_eq!(status, 400, "{offset}: {body}");
    }
    // Still serving on the same server.
    let (status, page) = post_json(addr, "/talkdesk/contact_sync", &json!({"auth": auth})).await;
    assert_eq!(status, 200, "{page}");
    assert!(page["contacts"].as_array().is_some_and(|c| !c.is_empty()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn talkdesk_authenticates_before_it_validates_and_404_lists_nothing() {
    let (sim, addr) = talkdesk(ServerLimits::default()).await;
    let tickets_before = sim.tickets().len();
    let invalid = json!({"firstName": "Ana", "state": "NOT-A-STATE"});
    // Wrong token, invalid inputs: 401, and nothing about the allowed states.
    let wrong = json!({"account": ACCOUNT, "token": "guess"});
    for path in ["/talkdesk/actions/create_ticket", "/talkdesk/contact_sync", "/talkdesk/agent_sync"] {
        let (status, body) =
            post_json(addr, path, &json!({"auth": wrong, "data": invalid, "meta": {"offset": "garbage"}}))
                .await;
        assert_eq!(status, 401, "{path}: {body}");
        let text = body.to_string();
        assert!(!text.contains("CA") && !text.contains("state") && !text.contains("offset"), "{text}");
    }
    // A malformed body with wrong credentials says nothing about the expected shape.
    let (status, body) =
        post_json(addr, "/talkdesk/contact_sync", &json!({"auth": wrong, "meta": {"offset": 12}})).await;
    assert_eq!(status, 401, "{body}");
    // The right credentials learn what is wrong.
    let right = json!({"account": ACCOUNT, "token": TOKEN});
    let (status, body) =
        post_json(addr, "/talkdesk/actions/create_ticket", &json!({"auth": right, "data": invalid})).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("state"), "{body}");
    assert_eq!(sim.tickets().len(), tickets_before);
    // Unknown paths: 404 naming nothing.
    let (status, body) = post_json(addr, "/talkdesk/nope", &json!({})).await;
    assert_eq!(status, 404);
    let text = body.to_string();
    assert!(
        !text.contains("contact_sync") && !text.contains("nope") && !text.contains("/talkdesk"),
        "{text}"
    );
}

/// What a raw client saw of the server: the bytes it got back and whether the server closed.
struct Seen {
    answer: String,
    closed: bool,
}

/// Open a raw connection, send `steps` (bytes, then a pause), then wait (bounded) for the
/// server to answer and close. Runs on a blocking thread.
fn raw_client(addr: SocketAddr, steps: Steps) -> Seen {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    let mut closed = false;
    let mut read_some = |stream: &mut TcpStream, answer: &mut Vec<u8>| -> bool {
        match stream.read(&mut buf) {
            Ok(0) => true,
            Ok(n) => {
                answer.extend_from_slice(&buf[..n]);
                false
            }
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                false
            }
            Err(_) => true,
        }
    };
    for (bytes, pause) in steps {
        if !bytes.is_empty() && stream.write_all(&bytes).is_err() {
            closed = true;
            break;
        }
        let until = Instant::now() + pause;
        while Instant::now() < until {
            if read_some(&mut stream, &mut answer) {
                closed = true;
                break;
            }
        }
        if closed {
            break;
        }
    }
    // A guard against hanging, far above the 300 ms configured: the server must close.
    let guard = Instant::now() + Duration::from_secs(10);
    while !closed && Instant::now() < guard {
        closed = read_some(&mut stream, &mut answer);
    }
    Seen { answer: String::from_utf8_lossy(&answer).into_owned(), closed }
}

/// What a raw client sends: bytes, then a pause, in order.
type Steps = Vec<(Vec<u8>, Duration)>;

fn slow_patterns(path: &str) -> Vec<(&'static str, Steps)> {
    let tick = Duration::from_millis(150);
    let head = format!("POST {path} HTTP/1.1\r\nhost: x\r\n");
    let trickled_headers: Steps = (0..20).map(|i| (format!("x-h{i}: v\r\n").into_bytes(), tick)).collect();
    let mut headers = vec![(head.clone().into_bytes(), tick)];
    headers.extend(trickled_headers);
    let body_start = format!("{head}content-type: application/json\r\ncontent-length: 100\r\n\r\n");
    let mut trickled_body = vec![(body_start.clone().into_bytes(), tick)];
    trickled_body.extend((0..20).map(|_| (b" ".to_vec(), tick)));
    vec![
        ("idle socket", vec![(Vec::new(), Duration::ZERO)]),
        ("partial headers", vec![(format!("POST {path} HTTP/1.1\r\nhost: x").into_bytes(), Duration::ZERO)]),
        ("a header at a time", headers),
        ("content-length with no body", vec![(body_start.into_bytes(), Duration::ZERO)]),
        ("a body byte at a time", trickled_body),
    ]
}

async fn assert_slow_clients_are_cut(addr: SocketAddr, path: &str) {
    for (name, steps) in slow_patterns(path) {
        let seen = tokio::task::spawn_blocking(move || raw_client(addr, steps)).await.unwrap();
        assert!(seen.closed, "{name}: the server kept the connection open");
        // Idle and header stalls are closed silently; body stalls get a 4xx first.
        if name.contains("body") {
            assert!(seen.answer.starts_with("HTTP/1.1 4"), "{name}: {}", seen.answer);
        } else {
            assert!(seen.answer.is_empty(), "{name}: {}", seen.answer);
        }
    }
    // Keep-alive between requests is cut too, after a complete request.
    let request = format!("POST {path} HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{{}}").into_bytes();
    let seen =
        tokio::task::spawn_blocking(move || raw_client(addr, vec![(request, Duration::ZERO)])).await.unwrap();
    assert!(seen.closed && seen.answer.starts_with("HTTP/1.1 "), "{}", seen.answer);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_at_the_configured_timeouts() {
    // The answer deadline is longer, so that a stalled body meets its own timeout (4xx)
    // rather than the request's (503).
    let limits = ServerLimits::default().with_all_timeouts(CUT).with_request_timeout(CUT * 10);
    let world = XWorld::start().await;
    // The webhook router, served again with short timeouts.
    let routes = WebhookRoutes::new(world.stop.clone()).x(XWebhook::new(X_SECRET).unwrap()).into_router();
    let webhooks = serve_on_loopback(routes, limits.clone()).await;
    assert_slow_clients_are_cut(webhooks, X_PATH).await;
    let (_sim, talkdesk_addr) = talkdesk(limits).await;
    assert_slow_clients_are_cut(talkdesk_addr, "/talkdesk/contact_sync").await;
    world.stop.shutdown();
}

/// Resident memory of this process, in KiB (Linux).
fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_large_bodies_is_refused_unread_and_memory_stays_bounded() {
    const CLIENTS: usize = 64;
    const DECLARED: usize = 8 * 1024 * 1024;
    let limits = ServerLimits::default().with_all_timeouts(Duration::from_secs(2));
    let (_sim, addr) = talkdesk(limits).await;
    let before = rss_kib();
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        clients.push(tokio::task::spawn_blocking(move || {
            let head = format!(
                "POST /talkdesk/contact_sync HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {DECLARED}\r\n\r\n"
            );
            // Send the headers, wait for the answer (413 before any body byte is sent),
            // then try to send the body: the server has closed.
            let mut steps = vec![(head.into_bytes(), Duration::from_millis(500))];
            steps.extend((0..8).map(|_| (vec![b' '; 64 * 1024], Duration::ZERO)));
            raw_client(addr, steps)
        }));
    }
    // And chunked bodies, which declare no length: cut at the body limit.
    for _ in 0..8 {
        clients.push(tokio::task::spawn_blocking(move || {
            let head = "POST /talkdesk/contact_sync HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
            let mut steps = vec![(head.as_bytes().to_vec(), Duration::ZERO)];
            let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, " ".repeat(64 * 1024)).into_bytes();
            steps.extend((0..24).map(|_| (chunk.clone(), Duration::ZERO)));
            raw_client(addr, steps)
        }));
    }
    let mut too_large = 0;
    for client in clients {
        let seen = client.await.unwrap();
        assert!(seen.closed, "the connection was left open");
        if seen.answer.starts_with("HTTP/1.1 413") {
            too_large += 1;
        } else {
            assert!(seen.answer.is_empty() || seen.answer.starts_with("HTTP/1.1 4"), "{}", seen.answer);
        }
    }
    assert!(too_large >= CLIENTS, "every over-declared body gets 413: {too_large}");
    if let (Some(before), Some(after)) = (before, rss_kib()) {
        // 72 clients offered 8 MiB each (576 MiB); the server may hold at most its
        // concurrency limit of bodies, each capped at 1 MiB.
        let grown_mib = after.saturating_sub(before) / 1024;
        assert!(grown_mib < 96, "RSS grew by {grown_mib} MiB");
    }
    // The server still answers.
    let (status, _) =
        post_json(addr, "/talkdesk/contact_sync", &json!({"auth": {"account": ACCOUNT, "token": TOKEN}}))
            .await;
    assert_eq!(status, 200);
}
