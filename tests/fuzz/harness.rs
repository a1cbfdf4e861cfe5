//! The fuzz harness shared by the short pass (`tests/fuzz.rs`, run by CI) and the long
//! pass (`examples/fuzz.rs`, built with `panic = "abort"`): a deterministic, seeded
//! mutation loop on stable Rust.
//!
//! Every target starts from **real payloads** (the simulators' webhook deliveries and API
//! answers, the example schedule, Talkdesk's documented example manifest and requests) and
//! mutates them with structure-aware mutators (JSON values replaced, removed, duplicated,
//! retyped and filled with hostile strings and numbers; CSV fields replaced; signatures
//! and tokens re-applied after mutation so the parsers behind the verifiers are reached)
//! and with byte-level ones (flips, truncation, insertion, trailing garbage). The property
//! checked is the one the issue asks for: **no input reaches a panic**; the routers must
//! also never answer 5xx to a request that is the client's fault.
#![allow(dead_code)]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use serde_json::{Map, Value, json};
use tower::ServiceExt;

use deskbridge::bridges::{AcceptedCredentials, UsedeskTalkdeskBackend};
use deskbridge::http::{RateLimit, RetryPolicy};
use deskbridge::server::webhooks::{
    AIRCALL_PATH, USEDESK_PATH, WebhookOptions, WebhookRoutes, X_PATH, ZENDESK_PATH,
};
use deskbridge::sim::aircall::{AircallAvailabilityStatus, AircallSim, AircallSimConfig, AircallUserSeed};
use deskbridge::sim::twitter::{XSim, XSimConfig, sample};
use deskbridge::sim::usedesk::{UsedeskSim, UsedeskSimConfig};
use deskbridge::sim::zendesk::{
    ZendeskAgentSeed, ZendeskGroupSeed, ZendeskSeedStatus, ZendeskSim, ZendeskSimConfig,
    unified_state_changed_payload,
};
use deskbridge::store::MemoryStore;
use deskbridge::sync::{Bridge, BridgeOptions};
use deskbridge::talkdesk::{DateTimeFormat, Manifest};

pub const AIRCALL_TOKEN: &str = "fuzz-aircall-token";
pub const ZENDESK_SECRET: &str = "fuzz-zendesk-secret";
pub const USEDESK_SECRET: &str = "fuzz-usedesk-secret";
pub const X_SECRET: &str = "fuzz-x-secret";
pub const TD_ACCOUNT: &str = "fuzz-account";
pub const TD_TOKEN: &str = "fuzz-token";

/// A small, fast, deterministic generator (SplitMix64).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Strings that have broken parsers before, or could.
pub const HOSTILE_STRINGS: &[&str] = &[
    "",
    " ",
    "0",
    "-1",
    "0:0:-8334601228800",
    "0:0:9223372036854775807",
    "18446744073709551615:18446744073709551615:-9223372036854775808",
    "-9223372036854775808",
    "9223372036854775807",
    "18446744073709551616",
    "1e400",
    "NaN",
    "9999-12-31T23:59:59Z",
    "+262143-12-31T23:59:59Z",
    "-262143-01-01T00:00:00Z",
    "0000-00-00 00:00:00",
    "2024-02-30T10:00:00Z",
    "2024-03-31T02:30:00",
    "2024-03-31 02:30",
    "Europe/Berlin",
    "Not/AZone",
    "Mon Feb 30 25:61:61 +9999 2024",
    "\u{212A}ate@corp.com",
    "kate@CORP.com",
    "U\u{308}NAL@x.io",
    "\u{0}",
    "\u{FEFF}",
    "\u{202E}gnp.exe",
    "<script>alert(1)</script>",
    "&amp;&lt;&#x0;",
    "{{contact.first_name}}",
    "YYYY-MM-DDTHH:mm:ssZ",
    "YYYYYYYYYYYYYYYYYYYYYYYY",
    "[[[[[[[[[[",
    "sha256=",
    "sha256=!!!!",
    "%00%ff",
    "a:b:c",
    "user.opened.v2",
    "zen:event-type:agent.unified_state_changed",
    "message_create",
];

/// Numbers at the edges.
pub fn hostile_number(rng: &mut Rng) -> Value {
    let choices = [
        json!(0),
        json!(-1),
        json!(i64::MIN),
        json!(i64::MAX),
        json!(u64::MAX),
        json!(i32::MAX),
        json!(-8_334_601_228_800_i64),
        json!(253_402_300_800_i64),
        json!(1.5),
        json!(-0.0),
        json!(1e300),
        json!(4_294_967_296_u64),
    ];
    rng.pick(&choices).clone()
}

fn hostile_string(rng: &mut Rng) -> String {
    match rng.below(10) {
        0 => "x".repeat(rng.below(70_000)),
        1 => "é".repeat(rng.below(2000)),
        2 => (0..rng.below(64)).map(|_| char::from_u32(rng.below(0x11_0000) as u32).unwrap_or('?')).collect(),
        _ => (*rng.pick(HOSTILE_STRINGS)).to_owned(),
    }
}

fn random_value(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(if depth > 3 { 5 } else { 8 }) {
        0 => Value::Null,
        1 => Value::Bool(rng.chance(50)),
        2 => hostile_number(rng),
        3 | 4 => Value::String(hostile_string(rng)),
        5 => Value::Array((0..rng.below(4)).map(|_| random_value(rng, depth + 1)).collect()),
        6 => {
            let mut map = Map::new();
            for _ in 0..rng.below(4) {
                map.insert(hostile_string(rng).chars().take(20).collect(), random_value(rng, depth + 1));
            }
            Value::Object(map)
        }
        _ => {
            // Deep nesting (serde_json stops at 128 levels: an error, never a stack overflow).
            let mut v = json!(1);
            for _ in 0..rng.below(200) {
                v = json!([v]);
            }
            v
        }
    }
}

/// The number of nodes of a JSON value.
fn count_nodes(v: &Value) -> usize {
    1 + match v {
        Value::Array(items) => items.iter().map(count_nodes).sum(),
        Value::Object(map) => map.values().map(count_nodes).sum(),
        _ => 0,
    }
}

/// Apply `f` to the `n`th node (pre-order); true once applied.
fn apply_at(v: &mut Value, n: &mut usize, f: &mut dyn FnMut(&mut Value)) -> bool {
    if *n == 0 {
        f(v);
        return true;
    }
    *n -= 1;
    match v {
        Value::Array(items) => items.iter_mut().any(|item| apply_at(item, n, f)),
        Value::Object(map) => map.values_mut().any(|item| apply_at(item, n, f)),
        _ => false,
    }
}

/// One structure-aware mutation of a JSON value, at a random node.
pub fn mutate_json(rng: &mut Rng, root: &mut Value) {
    let mut index = rng.below(count_nodes(root));
    let choice = rng.below(9);
    let mut mutate = |node: &mut Value| mutate_node(rng, node, choice);
    apply_at(root, &mut index, &mut mutate);
}

fn mutate_node(rng: &mut Rng, node: &mut Value, choice: usize) {
    match choice {
        0 | 1 => *node = random_value(rng, 0),
        2 => {
            if let Value::Object(map) = node {
                if !map.is_empty() {
                    let key = map.keys().nth(rng.below(map.len())).cloned().unwrap_or_default();
                    map.remove(&key);
                }
            }
        }
        3 => {
            if let Value::Object(map) = node {
                map.insert(hostile_string(rng).chars().take(30).collect(), random_value(rng, 1));
            }
        }
        4 => {
            if let Value::Array(items) = node {
                if let Some(first) = items.first().cloned() {
                    for _ in 0..rng.below(50) {
                        items.push(first.clone());
                    }
                }
            }
        }
        5 => {
            // Retype: a number as a string and back, a string as a number.
            *node = match node.take() {
                Value::Number(n) => Value::String(n.to_string()),
                Value::String(s) => s.parse::<i64>().map(Value::from).unwrap_or_else(|_| hostile_number(rng)),
                Value::Null => Value::String(String::new()),
                other => Value::Array(vec![other]),
            }
        }
        6 => *node = Value::String(hostile_string(rng)),
        7 => *node = hostile_number(rng),
        _ => *node = Value::Null,
    }
}

/// Bytes inserted by the byte-level mutator.
const JUNK: &[&[u8]] = &[b"\0", b"\xff\xfe", b"{", b"}", b"\"", b"\\u0000", b",", b"]", b"\r\n"];
/// Bytes appended after a body.
const TRAILERS: &[&[u8]] = &[b" trailing", b"{}", b"\n{\"a\":1}", b"\0"];

/// One byte-level mutation.
pub fn mutate_bytes(rng: &mut Rng, bytes: &mut Vec<u8>) {
    match rng.below(7) {
        0 if !bytes.is_empty() => {
            let i = rng.below(bytes.len());
            bytes[i] ^= 1 << rng.below(8);
        }
        1 if !bytes.is_empty() => {
            let keep = rng.below(bytes.len());
            bytes.truncate(keep);
        }
        2 => {
            let i = rng.below(bytes.len() + 1);
            let junk = JUNK[rng.below(JUNK.len())];
            bytes.splice(i..i, junk.iter().copied());
        }
        3 => bytes.extend_from_slice(TRAILERS[rng.below(TRAILERS.len())]),
        4 if !bytes.is_empty() => {
            let i = rng.below(bytes.len());
            let j = (i + rng.below(64)).min(bytes.len());
            bytes.drain(i..j);
        }
        5 if !bytes.is_empty() => {
            let i = rng.below(bytes.len());
            bytes[i] = rng.next() as u8;
        }
        _ => {
            let i = rng.below(bytes.len() + 1);
            let s = hostile_string(rng);
            bytes.splice(i..i, s.bytes().take(4096));
        }
    }
}

/// A mutated copy of a JSON seed: a few structural mutations, then (sometimes) byte-level
/// ones; `fix` runs between, to re-apply tokens so verifiers let the input through.
pub fn mutated_json(rng: &mut Rng, seed: &Value, fix: &dyn Fn(&mut Rng, &mut Value)) -> Vec<u8> {
    let mut value = seed.clone();
    for _ in 0..1 + rng.below(4) {
        mutate_json(rng, &mut value);
    }
    fix(rng, &mut value);
    let mut bytes = serde_json::to_vec(&value).unwrap_or_default();
    if rng.chance(25) {
        for _ in 0..1 + rng.below(3) {
            mutate_bytes(rng, &mut bytes);
        }
    }
    bytes
}

/// A mutated copy of a text seed (CSV, patterns): field-level replacements, then bytes.
pub fn mutated_text(rng: &mut Rng, seed: &str) -> Vec<u8> {
    let mut text = seed.to_owned();
    if rng.chance(70) {
        let mut fields: Vec<String> = text.split(',').map(str::to_owned).collect();
        for _ in 0..1 + rng.below(3) {
            let i = rng.below(fields.len());
            fields[i] = hostile_string(rng).chars().take(200).collect();
        }
        text = fields.join(",");
    }
    let mut bytes = text.into_bytes();
    if rng.chance(40) {
        for _ in 0..1 + rng.below(3) {
            mutate_bytes(rng, &mut bytes);
        }
    }
    bytes
}

/// Set `key` of an object root to `value` (a verifier's token, a signature's secret).
fn set_root(value: &mut Value, key: &str, to: Value) {
    if let Value::Object(map) = value {
        map.insert(key.to_owned(), to);
    }
}

/// The real payloads every target starts from.
pub struct Seeds {
    pub aircall_webhooks: Vec<Value>,
    pub zendesk_webhooks: Vec<Value>,
    pub usedesk_webhooks: Vec<Value>,
    pub x_webhooks: Vec<Value>,
    pub aircall_api: Vec<Value>,
    pub zendesk_api: Vec<Value>,
    pub usedesk_api: Vec<Value>,
    pub x_api: Vec<Value>,
    pub schedule_csv: Vec<String>,
    pub schedule_json: Vec<Value>,
    pub talkdesk_requests: Vec<(String, Value)>,
    pub talkdesk_manifest: Value,
    pub datetime_formats: Vec<String>,
    /// Keeps the simulators (and the Talkdesk backend's Usedesk) alive.
    pub usedesk_sim: UsedeskSim,
    pub now: DateTime<Utc>,
}

async fn fetch(http: &reqwest::Client, request: reqwest::RequestBuilder) -> Option<Value> {
    let _ = http;
    request.send().await.ok()?.json().await.ok()
}

/// Start the simulators and collect their payloads.
pub async fn seeds() -> Seeds {
    let now = Utc::now();
    let http = reqwest::Client::new();
    let aircall = AircallSim::start(AircallSimConfig::new(vec![
        AircallUserSeed::new(1, "Ana", "ana@example.com").with_status(AircallAvailabilityStatus::Available),
        AircallUserSeed::new(2, "Ben", "ben@example.com").with_status(AircallAvailabilityStatus::Unavailable),
    ]))
    .await
    .expect("aircall sim");
    let zendesk = ZendeskSim::start(ZendeskSimConfig::new(
        vec![
            ZendeskAgentSeed::new(101, "Ana", "ana@example.com").with_status(ZendeskSeedStatus::Online),
            ZendeskAgentSeed::new(102, "Ben", "ben@example.com").with_status(ZendeskSeedStatus::Offline),
        ],
        vec![ZendeskGroupSeed::new(1, "Support")],
    ))
    .await
    .expect("zendesk sim");
    let x = XSim::start_with_sample().await.expect("x sim");
    let usedesk = UsedeskSim::start_with_sample().await.expect("usedesk sim");

    let mut aircall_webhooks = Vec::new();
    for (id, event) in [(1, "user.opened.v2"), (2, "user.closed"), (1, "user.updated"), (2, "user.deleted")] {
        let user = aircall.user(id).expect("seeded user");
        let delivery = deskbridge::sim::aircall::user_event_delivery(
            event,
            &user,
            AIRCALL_TOKEN,
            now.timestamp() as u64,
            &aircall.base_url(),
        );
        aircall_webhooks.extend(serde_json::from_slice(&delivery.body).ok());
    }
    let mut zendesk_webhooks = Vec::new();
    for id in [101, 102] {
        let agent = zendesk.agent(id).expect("seeded agent");
        zendesk_webhooks.push(unified_state_changed_payload(
            zendesk.account_id(),
            id,
            agent.previous_status.as_ref(),
            &agent.status,
            agent.version,
            &format!("01FUZZ{id}"),
            &now.to_rfc3339_opts(SecondsFormat::Millis, true),
        ));
        zendesk_webhooks.push(deskbridge::sim::zendesk::state_changed_payload(
            zendesk.account_id(),
            id,
            "talk",
            "offline",
            "online",
            3,
            &format!("01FUZZT{id}"),
            &now.to_rfc3339_opts(SecondsFormat::Secs, true),
        ));
    }
    let mut usedesk_webhooks = Vec::new();
    for ticket in usedesk.tickets() {
        if let Some(d) = usedesk.new_ticket_delivery(ticket.id, USEDESK_SECRET) {
            usedesk_webhooks.extend(serde_json::from_slice(&d.body).ok());
        }
        for comment in usedesk.comments(ticket.id) {
            if let Some(d) = usedesk.new_comment_delivery(comment.id, USEDESK_SECRET) {
                usedesk_webhooks.extend(serde_json::from_slice(&d.body).ok());
            }
        }
    }
    let mut x_webhooks = Vec::new();
    for dm in x.dm_events() {
        x_webhooks.extend(x.dm_payload(&dm.id));
    }
    for post in x.posts() {
        x_webhooks.extend(x.post_payload(&post.id));
    }

    let aircall_api: Vec<Value> = futures_util::future::join_all(
        ["v1/users", "v1/users/1", "v1/users/availabilities", "v1/users/1/availability", "v1/teams"]
            .iter()
            .map(|path| {
                fetch(
                    &http,
                    http.get(aircall.base_url().join(path).expect("url")).basic_auth(
                        AircallSimConfig::DEFAULT_API_ID,
                        Some(AircallSimConfig::DEFAULT_API_TOKEN),
                    ),
                )
            }),
    )
    .await
    .into_iter()
    .flatten()
    .collect();
    let zendesk_api: Vec<Value> = futures_util::future::join_all(
        [
            "api/v2/users.json",
            "api/v2/groups.json",
            "api/v2/group_memberships.json",
            "api/v2/agent_availabilities",
            "api/v2/channels/voice/availabilities/101.json",
        ]
        .iter()
        .map(|path| {
            fetch(
                &http,
                http.get(zendesk.base_url().join(path).expect("url")).basic_auth(
                    format!("{}/token", ZendeskSimConfig::DEFAULT_EMAIL),
                    Some(ZendeskSimConfig::DEFAULT_API_TOKEN),
                ),
            )
        }),
    )
    .await
    .into_iter()
    .flatten()
    .collect();
    let usedesk_api: Vec<Value> = futures_util::future::join_all(
        ["clients", "tickets", "users", "groups", "channels", "ticket"].iter().map(|path| {
            let body = json!({"api_token": UsedeskSimConfig::DEFAULT_API_TOKEN, "ticket_id": 9001});
            fetch(&http, http.post(usedesk.base_url().join(path).expect("url")).json(&body))
        }),
    )
    .await
    .into_iter()
    .flatten()
    .collect();
    let x_api: Vec<Value> = futures_util::future::join_all(
        [
            "2/dm_events?expansions=sender_id,attachments.media_keys&media.fields=url,type".to_owned(),
            format!("2/users/{}/mentions?expansions=author_id", sample::OWN_ID),
            "2/users/me".to_owned(),
        ]
        .iter()
        .map(|path| {
            fetch(
                &http,
                http.get(x.base_url().join(path).expect("url")).bearer_auth(XSimConfig::DEFAULT_TOKEN),
            )
        }),
    )
    .await
    .into_iter()
    .flatten()
    .collect();

    let sample_csv = include_str!("../../examples/data/sample_schedule.csv");
    let mut schedule_csv = vec![sample_csv.to_owned()];
    schedule_csv.extend(
        sample_csv
            .lines()
            .filter(|l| !l.starts_with('#'))
            .skip(1)
            .map(|row| format!("email,start,end,timezone\n{row}\n")),
    );
    let schedule_json = vec![
        json!([{"email": "ana@example.com", "start": "2026-11-23T08:00:00", "end": "2026-11-23T16:00:00", "timezone": "Europe/Berlin"}]),
        json!({"shifts": [{"email": "ben@example.com", "start": "2026-11-23T08:00:00Z", "end": "2026-11-23T16:00:00+01:00"}]}),
        json!([{"email": "cy@example.com", "start": "2026-03-29 02:30", "end": "2026-03-29 10:00", "timezone": "Europe/Berlin"}]),
    ];

    let auth = json!({"account": TD_ACCOUNT, "token": TD_TOKEN});
    let talkdesk_requests = vec![
        ("auth_validation".to_owned(), json!({"auth": auth})),
        (
            "contact_sync".to_owned(),
            json!({"auth": auth, "meta": {"synchronization_checkpoint": null, "offset": null, "context": null}}),
        ),
        (
            "contact_sync".to_owned(),
            json!({"auth": auth, "meta": {"synchronization_checkpoint": "2026-11-20T10:00:00Z", "offset": "0:0:1764000000"}}),
        ),
        (
            "interaction_update".to_owned(),
            json!({"auth": auth, "meta": {"interaction_types": ["ticket"]}, "data": {"contact_external_id": "501", "contact_name": "Ana", "contact_emails": ["ana@example.com"], "contact_phones": ["+15550100"]}}),
        ),
        ("agent_sync".to_owned(), json!({"auth": auth, "meta": {"offset": 0}})),
        (
            "actions/create_ticket".to_owned(),
            json!({"auth": auth, "meta": {"contact_external_id": "501", "agent_external_id": "101"}, "data": {"firstName": "Ana", "state": "CA", "meetingDate": "2026-11-23T10:00:00Z", "description": "Call back"}}),
        ),
    ];
    let manifest =
        Manifest::example_mycrm(&url::Url::parse("https://bridge.example.com/talkdesk").expect("url"))
            .expect("example manifest");
    let talkdesk_manifest =
        serde_json::from_str(&manifest.to_json_pretty().expect("manifest json")).expect("manifest value");
    let datetime_formats = [
        "YYYY-MM-DDTHH:mm:ssZ",
        "YYYY-MM-DD",
        "DD/MM/YYYY HH:mm",
        "MM-DD-YY hh:mm A",
        "YYYY-MM-DDTHH:mm:ss.SSSZ",
        "x",
        "X",
        "[at] HH:mm",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();

    // The other simulators only had to answer the seed requests.
    drop((aircall, zendesk, x));
    Seeds {
        aircall_webhooks,
        zendesk_webhooks,
        usedesk_webhooks,
        x_webhooks,
        aircall_api,
        zendesk_api,
        usedesk_api,
        x_api,
        schedule_csv,
        schedule_json,
        talkdesk_requests,
        talkdesk_manifest,
        datetime_formats,
        usedesk_sim: usedesk,
        now,
    }
}

/// A target's body: make one input from the generator, run it, return it.
pub type TargetFn = Box<dyn Fn(&mut Rng) -> Vec<u8>>;

/// One fuzz target: a name, its relative cost (iterations = budget / cost) and the body.
pub struct Target {
    pub name: &'static str,
    pub cost: u64,
    pub run: TargetFn,
}

/// What a run of one target did.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub name: &'static str,
    pub inputs: u64,
    pub panics: Vec<String>,
    pub elapsed: Duration,
}

thread_local! {
    /// The input being run, for the panic hook (with `panic = "abort"` nothing unwinds).
    static CURRENT: std::cell::RefCell<(&'static str, Vec<u8>)> = const { std::cell::RefCell::new(("", Vec::new())) };
}

/// Print the target and input that panicked, before the default hook (and an abort).
pub fn install_panic_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        CURRENT.with(|current| {
            if let Ok(current) = current.try_borrow() {
                eprintln!(
                    "fuzz: target `{}` panicked on input {:?}",
                    current.0,
                    String::from_utf8_lossy(&current.1)
                );
            }
        });
        default(info);
    }));
}

/// Run each target for `budget / cost` inputs (at least 1) from `seed`.
pub fn run(targets: &[Target], budget: u64, seed: u64) -> Vec<Outcome> {
    targets
        .iter()
        .map(|target| {
            let mut rng = Rng::new(seed ^ fxhash(target.name));
            let inputs = (budget / target.cost.max(1)).max(1);
            let mut panics = Vec::new();
            let started = Instant::now();
            for _ in 0..inputs {
                let result = catch_unwind(AssertUnwindSafe(|| {
                    let input = (target.run)(&mut rng);
                    CURRENT.with(|c| *c.borrow_mut() = (target.name, input));
                }));
                if result.is_err() {
                    let input = CURRENT.with(|c| c.borrow().1.clone());
                    panics.push(String::from_utf8_lossy(&input).chars().take(2000).collect());
                }
            }
            Outcome { name: target.name, inputs, panics, elapsed: started.elapsed() }
        })
        .collect()
}

fn fxhash(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}

/// Record `input` as the current one, then run `f` on it (so a panic names it).
fn with_input<T>(name: &'static str, input: Vec<u8>, f: impl FnOnce(&[u8]) -> T) -> Vec<u8> {
    CURRENT.with(|c| *c.borrow_mut() = (name, input.clone()));
    let _ = f(&input);
    input
}

fn deserialize_all<'a>(bytes: &'a [u8], parsers: &[fn(&'a [u8])]) {
    for parse in parsers {
        parse(bytes);
    }
}

macro_rules! parsers {
    ($($ty:ty),* $(,)?) => {
        &[$(|b: &[u8]| { let _ = serde_json::from_slice::<$ty>(b); }),*]
    };
}

/// Every target, over `seeds`; `rt` drives the routers.
pub fn targets(seeds: Arc<Seeds>, rt: Arc<tokio::runtime::Runtime>) -> Vec<Target> {
    let now = seeds.now;
    let mut targets: Vec<Target> = Vec::new();

    // Aircall: the body token is the credential; keep it (mostly) so parsing is reached.
    let aircall = deskbridge::aircall::WebhookVerifier::new(AIRCALL_TOKEN).expect("verifier");
    let s = seeds.clone();
    targets.push(Target {
        name: "aircall webhook verify+parse",
        cost: 1,
        run: Box::new(move |rng| {
            let seed = rng.pick(&s.aircall_webhooks).clone();
            let fix = |rng: &mut Rng, v: &mut Value| {
                if rng.chance(85) {
                    set_root(v, "token", json!(AIRCALL_TOKEN));
                }
                if rng.chance(60) {
                    set_root(v, "timestamp", json!(now.timestamp()));
                }
            };
            let input = mutated_json(rng, &seed, &fix);
            with_input("aircall webhook verify+parse", input, |b| {
                if let Ok(event) = aircall.verify(b, now) {
                    let _ = (event.user_observation(), event.idempotency_key());
                }
            })
        }),
    });

    let zendesk = deskbridge::zendesk::WebhookVerifier::new(ZENDESK_SECRET).expect("verifier");
    let s = seeds.clone();
    targets.push(Target {
        name: "zendesk webhook verify+parse",
        cost: 1,
        run: Box::new(move |rng| {
            let seed = rng.pick(&s.zendesk_webhooks).clone();
            let input = mutated_json(rng, &seed, &|_, _| {});
            let timestamp = if rng.chance(70) {
                now.to_rfc3339_opts(SecondsFormat::Secs, true)
            } else {
                hostile_string(rng).chars().take(100).collect()
            };
            let signature =
                if rng.chance(85) { zendesk.sign(&timestamp, &input) } else { hostile_string(rng) };
            with_input("zendesk webhook verify+parse", input, |b| {
                let _ = zendesk.verify(Some(&signature), Some(&timestamp), b, now);
                if let Ok(event) = deskbridge::zendesk::parse_event(b) {
                    let _ = (event.origin(), event.is_own_change());
                }
            })
        }),
    });

    let usedesk = deskbridge::usedesk::UsedeskWebhookVerifier::new(USEDESK_SECRET).expect("verifier");
    let s = seeds.clone();
    targets.push(Target {
        name: "usedesk webhook verify+parse",
        cost: 1,
        run: Box::new(move |rng| {
            let seed = rng.pick(&s.usedesk_webhooks).clone();
            let fix = |rng: &mut Rng, v: &mut Value| {
                if rng.chance(85) {
                    set_root(v, "secret", json!(USEDESK_SECRET));
                }
            };
            let input = mutated_json(rng, &seed, &fix);
            with_input("usedesk webhook verify+parse", input, |b| {
                let _ = usedesk.verify(b);
            })
        }),
    });

    let x = deskbridge::twitter::XWebhook::new(X_SECRET).expect("verifier");
    let s = seeds.clone();
    targets.push(Target {
        name: "x webhook verify+parse, crc",
        cost: 1,
        run: Box::new(move |rng| {
            let seed = rng.pick(&s.x_webhooks).clone();
            let input = mutated_json(rng, &seed, &|_, _| {});
            let header = if rng.chance(85) {
                deskbridge::twitter::signature(X_SECRET, &input)
            } else {
                hostile_string(rng)
            };
            with_input("x webhook verify+parse, crc", input, |b| {
                let _ = x.verify_and_parse(Some(&header), b);
                let _ = deskbridge::twitter::parse_account_activity(b);
                if let Ok(crc) = x.crc_response(&String::from_utf8_lossy(b)) {
                    // The fix of finding 1: an answered token is never a delivery body.
                    assert!(deskbridge::twitter::parse_account_activity(b).is_err(), "{crc:?}");
                }
            })
        }),
    });

    let s = seeds.clone();
    targets.push(Target {
        name: "schedule csv loader",
        cost: 1,
        run: Box::new(move |rng| {
            let seed = rng.pick(&s.schedule_csv).clone();
            let input = mutated_text(rng, &seed);
            with_input("schedule csv loader", input, |b| {
                let text = String::from_utf8_lossy(b);
                let _ = deskbridge::schedule::shifts_from_csv(&text, None);
                let _ = deskbridge::schedule::shifts_from_csv(&text, Some(chrono_tz::Europe::Berlin));
            })
        }),
    });

    let s = seeds.clone();
    targets.push(Target {
        name: "schedule json loader",
        cost: 1,
        run: Box::new(move |rng| {
            let seed = rng.pick(&s.schedule_json).clone();
            let input = mutated_json(rng, &seed, &|_, _| {});
            with_input("schedule json loader", input, |b| {
                let text = String::from_utf8_lossy(b);
                let _ = deskbridge::schedule::shifts_from_json(&text, None);
                let _ = deskbridge::schedule::shifts_from_json(&text, Some(chrono_tz::America::New_York));
            })
        }),
    });

    let s = seeds.clone();
    let manifest = Manifest::from_json(&seeds.talkdesk_manifest.to_string()).expect("manifest");
    targets.push(Target {
        name: "talkdesk contract types + manifest",
        cost: 1,
        run: Box::new(move |rng| {
            use deskbridge::talkdesk::*;
            let (_, seed) = rng.pick(&s.talkdesk_requests).clone();
            let seed = if rng.chance(15) { s.talkdesk_manifest.clone() } else { seed };
            let input = mutated_json(rng, &seed, &|_, _| {});
            let manifest = &manifest;
            with_input("talkdesk contract types + manifest", input, |b| {
                deserialize_all(
                    b,
                    parsers![
                        AuthValidationRequest,
                        ContactSyncRequest,
                        InteractionRetrievalRequest,
                        AgentSyncRequest,
                        ActionRequest,
                        deskbridge::talkdesk::ContactsPage,
                        deskbridge::talkdesk::AgentsPage,
                        Vec<deskbridge::talkdesk::Interaction>,
                    ],
                );
                let _ = Manifest::from_json(&String::from_utf8_lossy(b));
                if let Ok(request) = serde_json::from_slice::<ActionRequest>(b) {
                    if let Some(action) = manifest.action("create_ticket") {
                        let _ = action.validate_data(&request.data);
                    }
                }
            })
        }),
    });

    let s = seeds.clone();
    targets.push(Target {
        name: "talkdesk datetime formats",
        cost: 1,
        run: Box::new(move |rng| {
            let seed = rng.pick(&s.datetime_formats).clone();
            let pattern = mutated_text(rng, &seed);
            let value: String = if rng.chance(50) {
                now.to_rfc3339_opts(SecondsFormat::Secs, true)
            } else {
                hostile_string(rng).chars().take(100).collect()
            };
            let mut input = pattern.clone();
            input.push(b'\n');
            input.extend_from_slice(value.as_bytes());
            with_input("talkdesk datetime formats", input, |_| {
                if let Ok(format) = DateTimeFormat::parse(&String::from_utf8_lossy(&pattern)) {
                    let _ = (format.check(&value), format.pattern());
                }
            })
        }),
    });

    macro_rules! model_target {
        ($name:literal, $seeds:ident, [$($ty:ty),* $(,)?]) => {{
            let s = seeds.clone();
            targets.push(Target {
                name: $name,
                cost: 1,
                run: Box::new(move |rng| {
                    let seed = rng.pick(&s.$seeds).clone();
                    let input = mutated_json(rng, &seed, &|_, _| {});
                    with_input($name, input, |b| deserialize_all(b, parsers![$($ty),*]))
                }),
            });
        }};
    }
    {
        use deskbridge::aircall::*;
        model_target!(
            "aircall models",
            aircall_api,
            [User, UsersPage, UserEnvelope, UserAvailability, AvailabilitiesPage, Team, TeamsPage, PageMeta]
        );
    }
    {
        use deskbridge::zendesk::*;
        model_target!(
            "zendesk models",
            zendesk_api,
            [User, UsersPage, ZendeskGroup, GroupsPage, GroupMembershipsPage, TalkAvailability, CursorMeta]
        );
    }
    {
        use deskbridge::usedesk::*;
        let s = seeds.clone();
        targets.push(Target {
            name: "usedesk models",
            cost: 1,
            run: Box::new(move |rng| {
                let seed = rng.pick(&s.usedesk_api).clone();
                let input = mutated_json(rng, &seed, &|_, _| {});
                with_input("usedesk models", input, |b| {
                    deserialize_all(
                        b,
                        parsers![
                            Vec<UsedeskUser>,
                            Vec<UsedeskGroup>,
                            Vec<TicketSummary>,
                            TicketDetails,
                            Vec<UsedeskChannel>,
                            CreatedTicket,
                            CreatedComment,
                            UpdateUserResponse,
                        ],
                    );
                    if let Ok(clients) = serde_json::from_slice::<Vec<ClientSummary>>(b) {
                        for client in clients {
                            let _ = client.phone_numbers();
                        }
                    }
                })
            }),
        });
    }
    {
        use deskbridge::twitter::*;
        model_target!(
            "x models",
            x_api,
            [XList<DmEvent>, XList<Tweet>, XList<User>, DataEnvelope<User>, DataEnvelope<SentDm>, DataEnvelope<CreatedTweet>, Problem]
        );
    }

    // The webhook routers in process, behind a running bridge with no links.
    let routes = {
        let _guard = rt.enter();
        let bridge = Bridge::new(Arc::new(MemoryStore::new()), BridgeOptions::default());
        let handle = bridge.handle();
        rt.spawn(bridge.run());
        let options = WebhookOptions::default()
            .with_enqueue_timeout(Duration::from_millis(50))
            .with_clock(Arc::new(move || now));
        WebhookRoutes::new(handle)
            .options(options)
            .aircall(deskbridge::aircall::WebhookVerifier::new(AIRCALL_TOKEN).expect("verifier"))
            .zendesk(
                deskbridge::zendesk::WebhookVerifier::new(ZENDESK_SECRET).expect("verifier"),
                deskbridge::zendesk::CustomStatusReading::ByName,
            )
            .usedesk(deskbridge::usedesk::UsedeskWebhookVerifier::new(USEDESK_SECRET).expect("verifier"))
            .x(deskbridge::twitter::XWebhook::new(X_SECRET).expect("verifier"))
            .into_router()
    };
    let s = seeds.clone();
    let runtime = rt.clone();
    let signer = deskbridge::zendesk::WebhookVerifier::new(ZENDESK_SECRET).expect("verifier");
    targets.push(Target {
        name: "webhook routers (oneshot)",
        cost: 2,
        run: Box::new(move |rng| {
            let (path, seed) = match rng.below(4) {
                0 => (AIRCALL_PATH, rng.pick(&s.aircall_webhooks).clone()),
                1 => (ZENDESK_PATH, rng.pick(&s.zendesk_webhooks).clone()),
                2 => (USEDESK_PATH, rng.pick(&s.usedesk_webhooks).clone()),
                _ => (X_PATH, rng.pick(&s.x_webhooks).clone()),
            };
            let fix = |rng: &mut Rng, v: &mut Value| {
                if rng.chance(85) {
                    set_root(v, "token", json!(AIRCALL_TOKEN));
                    set_root(v, "secret", json!(USEDESK_SECRET));
                }
            };
            let input = mutated_json(rng, &seed, &fix);
            let timestamp = now.to_rfc3339_opts(SecondsFormat::Secs, true);
            let mut request = axum::http::Request::builder()
                .method(if rng.chance(90) { "POST" } else { *rng.pick(&["GET", "PUT", "DELETE"]) })
                .uri(if rng.chance(95) {
                    path.to_owned()
                } else {
                    format!(
                        "{path}?crc_token={}",
                        url::form_urlencoded::byte_serialize(&input[..input.len().min(300)])
                            .collect::<String>()
                    )
                })
                .header("content-type", "application/json")
                .header("x-zendesk-webhook-signature-timestamp", timestamp.clone())
                .header("x-zendesk-webhook-signature", signer.sign(&timestamp, &input))
                .header("x-twitter-webhooks-signature", deskbridge::twitter::signature(X_SECRET, &input));
            if rng.chance(5) {
                request = request.header(
                    "x-twitter-webhooks-signature",
                    hostile_string(rng).chars().take(50).collect::<String>(),
                );
            }
            let request = request.body(Body::from(input.clone()));
            with_input("webhook routers (oneshot)", input, |_| {
                if let Ok(request) = request {
                    let Ok(response) = runtime.block_on(routes.clone().oneshot(request));
                    // The client's fault never gets a 5xx (503 means the queue is full).
                    let status = response.status().as_u16();
                    assert!(status < 500 || status == 503, "status {status}");
                }
            })
        }),
    });

    // The Talkdesk router in process over the Usedesk backend and simulator.
    let app = {
        let sim = &seeds.usedesk_sim;
        let config = deskbridge::usedesk::UsedeskConfig::new(UsedeskSimConfig::DEFAULT_API_TOKEN)
            .expect("config")
            .with_base_url(sim.base_url().as_str())
            .expect("url")
            .with_rate_limit(RateLimit::unlimited())
            .with_retry(RetryPolicy {
                max_attempts: 1,
                base_delay: Duration::from_millis(1),
                max_delay: Duration::from_millis(1),
                max_total_wait: Duration::from_millis(1),
            });
        let _guard = rt.enter();
        let backend = UsedeskTalkdeskBackend::new(
            deskbridge::usedesk::UsedeskClient::new(config).expect("client"),
            AcceptedCredentials::new(TD_ACCOUNT, TD_TOKEN).expect("credentials"),
        );
        let manifest = Manifest::from_json(&seeds.talkdesk_manifest.to_string()).expect("manifest");
        deskbridge::server::talkdesk::router(Arc::new(backend), manifest)
    };
    let s = seeds.clone();
    let runtime = rt.clone();
    targets.push(Target {
        name: "talkdesk router over usedesk (oneshot)",
        cost: 4,
        run: Box::new(move |rng| {
            let (path, seed) = rng.pick(&s.talkdesk_requests).clone();
            let fix = |rng: &mut Rng, v: &mut Value| {
                if rng.chance(85) {
                    set_root(v, "auth", json!({"account": TD_ACCOUNT, "token": TD_TOKEN}));
                }
            };
            let input = mutated_json(rng, &seed, &fix);
            let path = if rng.chance(95) {
                format!("/talkdesk/{path}")
            } else {
                format!("/talkdesk/{}", hostile_string(rng).chars().take(20).collect::<String>())
            };
            let request = axum::http::Request::builder()
                .method("POST")
                .uri(path)
                .header("content-type", "application/json")
                .body(Body::from(input.clone()));
            with_input("talkdesk router over usedesk (oneshot)", input, |_| {
                if let Ok(request) = request {
                    let Ok(response) = runtime.block_on(app.clone().oneshot(request));
                    // Bad input is 4xx; 5xx only for the upstream (the simulator answers).
                    let status = response.status().as_u16();
                    assert!(status < 500, "status {status}");
                }
            })
        }),
    });
    targets
}

/// A Markdown table of outcomes.
pub fn table(outcomes: &[Outcome]) -> String {
    let mut out = String::from("| Target | Inputs | Panics | Time |\n|---|---:|---:|---:|\n");
    for o in outcomes {
        out.push_str(&format!(
            "| {} | {} | {} | {:.1} s |\n",
            o.name,
            o.inputs,
            o.panics.len(),
            o.elapsed.as_secs_f64()
        ));
    }
    let total: u64 = outcomes.iter().map(|o| o.inputs).sum();
    out.push_str(&format!(
        "| **total** | **{total}** | **{}** | |\n",
        outcomes.iter().map(|o| o.panics.len()).sum::<usize>()
    ));
    out
}

/// Unused helper kept for callers that build dates from parts.
pub fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).single().unwrap_or_else(Utc::now)
}
