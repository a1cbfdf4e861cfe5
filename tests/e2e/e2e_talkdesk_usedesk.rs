//! The Talkdesk bridge over Usedesk end to end: the router serving `UsedeskTalkdeskBackend`
//! over the Usedesk simulator, both on 127.0.0.1, driven with real HTTP calls; and the
//! compiled `talkdesk_bridge` example binary.
#![cfg(all(feature = "server", feature = "sim", feature = "talkdesk", feature = "usedesk"))]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use deskbridge::bridges::{AcceptedCredentials, UsedeskTalkdeskBackend};
use deskbridge::http::{RateLimit, RetryPolicy};
use deskbridge::server::talkdesk::{RouterOptions, router_with_options};
use deskbridge::sim::Fault;
use deskbridge::sim::usedesk::{
    UsedeskSim, UsedeskSimClient, UsedeskSimConfig, UsedeskSimTicket, UsedeskSimUser,
};
use deskbridge::talkdesk::Manifest;
use deskbridge::usedesk::{UsedeskClient, UsedeskConfig};
use reqwest::Method;
use serde_json::{Value, json};
use url::Url;

const ACCOUNT: &str = "acme";
const TOKEN: &str = "td-bridge-S3CR3T-42";
const PUBLIC_URL: &str = "https://bridge.example.com/talkdesk";
/// Clients added to the sample's two, created well before any test runs.
const EXTRA_CLIENTS: u64 = 250;

struct Bridge {
    sim: UsedeskSim,
    base: String,
    http: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Bridge {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn auth() -> Value {
    json!({"account": ACCOUNT, "token": TOKEN})
}

fn seeded() -> UsedeskSimConfig {
    let mut config = UsedeskSimConfig::sample();
    let old = Utc.with_ymd_and_hms(2025, 10, 1, 12, 0, 0).unwrap();
    for n in 0..EXTRA_CLIENTS {
        let id = 1000 + n;
        config.clients.push(
            UsedeskSimClient::new(id, format!("Client {id}"))
                .with_emails(&[format!("client{id}@example.org")])
                .created_at(old),
        );
    }
    // A support user without an e-mail: Talkdesk cannot match it, so it is left out.
    config.users.push(UsedeskSimUser::new(109, "No Mail", "").with_type("support"));
    let at = |d: u32, h: u32| Utc.with_ymd_and_hms(2025, 11, d, h, 0, 0).unwrap();
    let ticket = |id: u64, status_id: u64, client_id: u64, published_at| UsedeskSimTicket {
        id,
        subject: format!("Ticket {id}"),
        status_id,
        client_id,
        channel_id: Some(UsedeskSimConfig::SAMPLE_EMAIL_CHANNEL_ID),
        tags: Vec::new(),
        additional_id: None,
        assignee_id: None,
        published_at,
    };
    config.tickets.push(ticket(9003, 8, 501, at(22, 9))); // New
    config.tickets.push(ticket(9004, 4, 501, at(23, 9))); // Deleted: not an interaction
    config.tickets.push(ticket(9005, 6, 501, at(24, 9))); // Pending
    config.tickets.push(ticket(9006, 1, 1000, at(25, 9))); // another client's
    config
}

async fn start(config: UsedeskSimConfig, options: RouterOptions) -> Bridge {
    let sim = UsedeskSim::start(config).await.unwrap();
    let usedesk = UsedeskConfig::new(UsedeskSimConfig::DEFAULT_API_TOKEN)
        .unwrap()
        .with_base_url(sim.base_url().as_str())
        .unwrap()
        .with_rate_limit(RateLimit::unlimited())
        .with_retry(RetryPolicy {
            max_attempts: 1,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(50),
            max_total_wait: Duration::from_millis(100),
        });
    let backend = UsedeskTalkdeskBackend::new(
        UsedeskClient::new(usedesk).unwrap(),
        AcceptedCredentials::new(ACCOUNT, TOKEN).unwrap(),
    )
    .with_ticket_url_template("https://secure.usedesk.ru/tickets/{id}");
    let manifest = Manifest::example_mycrm(&Url::parse(PUBLIC_URL).unwrap()).unwrap();
    let app = router_with_options(Arc::new(backend), manifest, options);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/talkdesk", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await;
    });
    Bridge { sim, base, http: reqwest::Client::new(), stop: Some(stop) }
}

impl Bridge {
    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.post_raw(path, body.to_string()).await
    }

    async fn post_raw(&self, path: &str, body: String) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}/{path}", self.base))
            .header("content-type", "application/json")
            .body(body)
            .timeout(Duration::from_secs(20))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let content_type = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned());
        let text = response.text().await.unwrap();
        assert_eq!(content_type.as_deref(), Some("application/json"), "{status} {text}");
        (status, serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}")))
    }

    fn usedesk_calls(&self, path: &str) -> Vec<Value> {
        self.sim
            .server()
            .requests_matching(Method::POST, path)
            .into_iter()
            .filter(|r| r.path_segments().join("/") == path.trim_start_matches('/'))
            .map(|r| r.body_json().unwrap())
            .collect()
    }
}

#[tokio::test]
async fn auth_validation_accepts_the_configured_values_and_refuses_others() {
    let bridge = start(seeded(), RouterOptions::default()).await;
    let (status, body) = bridge.post("auth_validation", &json!({"auth": auth()})).await;
    assert_eq!((status, body), (200, json!({})));
    assert_eq!(bridge.usedesk_calls("/channels").len(), 1, "one cheap Usedesk call");

    for wrong in [
        json!({"account": ACCOUNT, "token": "td-bridge-S3CR3T-43"}),
        json!({"account": "other", "token": TOKEN}),
        json!({"account": ACCOUNT}),
    ] {
        let (status, body) = bridge.post("auth_validation", &json!({"auth": wrong})).await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["error"], "unauthorized");
        assert!(!body.to_string().contains(TOKEN));
    }
    // Every endpoint checks the credentials, not only auth validation.
    let bad = json!({"auth": {"account": ACCOUNT, "token": "nope"}});
    for path in ["contact_sync", "agent_sync", "interaction_update"] {
        assert_eq!(bridge.post(path, &bad).await.0, 401, "{path}");
    }
    assert_eq!(bridge.usedesk_calls("/channels").len(), 1, "refused calls never reach Usedesk");
    assert!(bridge.usedesk_calls("/clients").is_empty() && bridge.usedesk_calls("/users").is_empty());
}

#[tokio::test]
async fn contacts_page_to_the_end_then_sync_incrementally_from_the_checkpoint() {
    let bridge = start(seeded(), RouterOptions::default().contacts_page_size(40)).await;
    let mut seen = Vec::new();
    let mut offset: Option<String> = None;
    let mut checkpoints = BTreeSet::new();
    let mut pages = 0;
    loop {
        let mut meta = json!({});
        if let Some(offset) = &offset {
            meta["offset"] = json!(offset);
        }
        let (status, page) = bridge.post("contact_sync", &json!({"auth": auth(), "meta": meta})).await;
        assert_eq!(status, 200, "{page}");
        pages += 1;
        assert!(pages < 50, "paging never ended");
        let contacts = page["contacts"].as_array().unwrap();
        assert!(contacts.len() <= 40);
        seen.extend(contacts.iter().map(|c| c["id"].as_str().unwrap().to_owned()));
        checkpoints.insert(page["synchronization_checkpoint"].as_str().unwrap().to_owned());
        match page.get("next_offset") {
            Some(next) => offset = Some(next.as_str().unwrap().to_owned()),
            None => break,
        }
    }
    let expected: BTreeSet<String> = bridge.sim.clients().iter().map(|c| c.id.to_string()).collect();
    assert_eq!(seen.len(), expected.len(), "no contact twice, none missing");
    assert_eq!(seen.iter().cloned().collect::<BTreeSet<_>>(), expected);
    assert_eq!(checkpoints.len(), 1, "one checkpoint for the whole run");
    // 252 clients in Usedesk pages of 100, served 40 at a time: 3 Usedesk pages.
    let offsets: Vec<u64> =
        bridge.usedesk_calls("/clients").iter().map(|b| b["offset"].as_u64().unwrap()).collect();
    assert_eq!(offsets.iter().copied().collect::<BTreeSet<_>>(), BTreeSet::from([0, 1, 2]));

    // A full contact: every field mapped.
    let (_, first) = bridge.post("contact_sync", &json!({"auth": auth()})).await;
    assert_eq!(
        first["contacts"][0],
        json!({"id": "501", "name": "Maria Customer", "emails": ["maria@example.net"],
               "phones": ["+15550100501"], "websites": []})
    );

    // Incremental: only clients created after the checkpoint.
    let checkpoint = checkpoints.into_iter().next().unwrap();
    bridge.sim.server().clear_log();
    bridge.sim.insert_client(
        UsedeskSimClient::new(4242, "Newly Created").with_emails(&["new@example.com"]).created_at(Utc::now()),
    );
    let (status, page) = bridge
        .post("contact_sync", &json!({"auth": auth(), "meta": {"synchronization_checkpoint": checkpoint}}))
        .await;
    assert_eq!(status, 200, "{page}");
    let ids: Vec<&str> =
        page["contacts"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec!["4242"]);
    assert!(page.get("next_offset").is_none());
    assert!(page["synchronization_checkpoint"].as_str().unwrap() >= checkpoint.as_str());
    let sent = bridge.usedesk_calls("/clients");
    let cut = chrono::DateTime::parse_from_rfc3339(&checkpoint).unwrap().format("%Y-%m-%d %H:%M").to_string();
    assert_eq!(sent[0]["created_after"], json!(cut));

    // A checkpoint or offset this bridge never wrote is refused, naming it.
    let (status, body) = bridge
        .post("contact_sync", &json!({"auth": auth(), "meta": {"synchronization_checkpoint": "yesterday"}}))
        .await;
    assert_eq!(status, 400);
    assert!(body["message"].as_str().unwrap().contains("synchronization_checkpoint"), "{body}");
    let (status, body) = bridge.post("contact_sync", &json!({"auth": auth(), "meta": {"offset": "7"}})).await;
    assert_eq!(status, 400);
    assert!(body["message"].as_str().unwrap().contains("offset"), "{body}");
}

#[tokio::test]
async fn agents_page_to_the_end_and_skip_users_without_email() {
    let bridge = start(seeded(), RouterOptions::default().agents_page_size(3)).await;
    let mut agents = Vec::new();
    let mut offsets = Vec::new();
    let mut offset = Value::Null;
    loop {
        let (status, page) =
            bridge.post("agent_sync", &json!({"auth": auth(), "meta": {"offset": offset}})).await;
        assert_eq!(status, 200, "{page}");
        agents.extend(page["agents"].as_array().unwrap().iter().cloned());
        match page.get("next_offset") {
            Some(next) => {
                offsets.push(next.as_u64().unwrap());
                offset = next.clone();
            }
            None => break,
        }
        assert!(offsets.len() < 10, "paging never ended");
    }
    assert_eq!(offsets, vec![3, 6]);
    let ids: Vec<&str> = agents.iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec!["101", "102", "103", "104", "105", "106", "107", "108"]);
    assert_eq!(agents[0], json!({"id": "101", "name": "Ana Alves", "email": "ana@example.com"}));
    // Admins, employees and support users are all asked for.
    let types: BTreeSet<String> =
        bridge.usedesk_calls("/users").iter().map(|b| b["user_type"].as_str().unwrap().to_owned()).collect();
    assert_eq!(types, BTreeSet::from(["admin".into(), "employee".into(), "support".into()]));
}

#[tokio::test]
async fn interactions_are_the_contacts_tickets_mapped() {
    let bridge = start(seeded(), RouterOptions::default()).await;
    let (status, list) = bridge
        .post(
            "interaction_update",
            &json!({"auth": auth(), "meta": {"interaction_types": ["ticket"]},
                    "data": {"contact_external_id": "501", "contact_name": "Maria Customer"}}),
        )
        .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(
        list,
        json!([
            {"id": "9005", "subject": "Ticket 9005", "date": "2025-11-24 09:00:00 UTC",
             "url": "https://secure.usedesk.ru/tickets/9005", "type": "ticket", "priority": "normal",
             "status": "pending"},
            {"id": "9003", "subject": "Ticket 9003", "date": "2025-11-22 09:00:00 UTC",
             "url": "https://secure.usedesk.ru/tickets/9003", "type": "ticket", "priority": "normal",
             "status": "new"},
            {"id": "9001", "subject": "Order #1234 has not arrived",
             "description": "We are checking with the courier.", "date": "2025-11-20 09:00:00 UTC",
             "url": "https://secure.usedesk.ru/tickets/9001", "type": "ticket", "priority": "normal",
             "status": "open"}
        ])
    );
    let sent = bridge.usedesk_calls("/tickets");
    assert_eq!(sent[0]["client_id"], json!(501));

    // Without an external id, the contact is found by e-mail.
    let (status, by_email) = bridge
        .post(
            "interaction_update",
            &json!({"auth": auth(), "meta": {"interaction_types": ["ticket"]},
                    "data": {"contact_emails": ["maria@example.net"]}}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(by_email, list);
    let search = bridge.usedesk_calls("/clients");
    assert_eq!(search[0]["query"], "maria@example.net");
    assert_eq!(search[0]["search_type"], "full_match");

    // The seed manifest's other type, `case`: the same tickets, typed as asked; with
    // both asked, once each, as `ticket`.
    let (status, cases) = bridge
        .post(
            "interaction_update",
            &json!({"auth": auth(), "meta": {"interaction_types": ["case"]},
                    "data": {"contact_external_id": "501"}}),
        )
        .await;
    assert_eq!(status, 200);
    let mut expected_cases = list.clone();
    for item in expected_cases.as_array_mut().unwrap() {
        item["type"] = json!("case");
    }
    assert_eq!(cases, expected_cases);
    let (status, both) = bridge
        .post(
            "interaction_update",
            &json!({"auth": auth(), "meta": {"interaction_types": ["case", "ticket"]},
                    "data": {"contact_external_id": "501"}}),
        )
        .await;
    assert_eq!((status, both), (200, list.clone()));

    // Other interaction types: nothing, and Usedesk is not asked.
    bridge.sim.server().clear_log();
    let (status, none) = bridge
        .post(
            "interaction_update",
            &json!({"auth": auth(), "meta": {"interaction_types": ["call"]},
                    "data": {"contact_external_id": "501"}}),
        )
        .await;
    assert_eq!((status, none), (200, json!([])));
    assert!(bridge.usedesk_calls("/tickets").is_empty());
}

fn action_body(contact: Option<&str>, data: Value) -> Value {
    let mut meta = json!({"agent_external_id": "101"});
    if let Some(contact) = contact {
        meta["contact_external_id"] = json!(contact);
    }
    json!({"auth": auth(), "meta": meta, "data": data})
}

#[tokio::test]
async fn create_ticket_creates_the_composed_ticket_in_usedesk() {
    let bridge = start(seeded(), RouterOptions::default()).await;
    let data = json!({"description": "Call back about <order> #1234", "firstName": "Maria",
                      "state": "CA", "meetingDate": "2024-05-01T10:00:00Z"});
    let (status, created) = bridge.post("actions/create_ticket", &action_body(Some("501"), data)).await;
    assert_eq!(status, 201, "{created}");
    let id: u64 = created["external_id"].as_str().unwrap().parse().unwrap();
    assert_eq!(created["contact_external_id"], "501");
    let ticket = bridge.sim.ticket(id).expect("the ticket exists in Usedesk");
    assert_eq!(ticket.subject, "Talkdesk: Maria (CA), meeting 2024-05-01T10:00:00Z");
    assert_eq!(ticket.client_id, 501);
    assert_eq!(ticket.tags, vec!["talkdesk".to_owned()]);
    let comments = bridge.sim.comments(id);
    assert_eq!(comments.len(), 1);
    assert_eq!(
        comments[0].message,
        "<p>Call back about &lt;order&gt; #1234</p><p>First name: Maria<br>State: CA<br>Meeting date: \
         2024-05-01T10:00:00Z</p><p>Created in Talkdesk by agent 101 (Usedesk user id).</p>"
    );
    assert_eq!(comments[0].from, "client");

    // Outside a contact: a new Usedesk client named after the first name.
    let (status, created) = bridge
        .post("actions/create_ticket", &action_body(None, json!({"firstName": "Walk-in", "state": "FL"})))
        .await;
    assert_eq!(status, 201, "{created}");
    let id: u64 = created["external_id"].as_str().unwrap().parse().unwrap();
    let ticket = bridge.sim.ticket(id).unwrap();
    assert_eq!(ticket.subject, "Talkdesk: Walk-in (FL)");
    let client = bridge.sim.clients().into_iter().find(|c| c.id == ticket.client_id).unwrap();
    assert_eq!(client.name, "Walk-in");
    // Usedesk's create answer documents no client id, so none is claimed.
    assert!(created.get("contact_external_id").is_none(), "{created}");
}

#[tokio::test]
async fn each_invalid_input_is_refused_naming_it_and_nothing_is_written() {
    let bridge = start(seeded(), RouterOptions::default()).await;
    let valid = json!({"firstName": "Maria", "state": "CA"});
    let cases: Vec<(&str, Value)> = vec![
        ("firstName", json!({"state": "CA"})),
        ("firstName", json!({"firstName": "  ", "state": "CA"})),
        ("state", json!({"firstName": "Maria"})),
        ("state", json!({"firstName": "Maria", "state": "TX"})),
        ("meetingDate", json!({"firstName": "Maria", "state": "CA", "meetingDate": "tomorrow at 10"})),
        ("meetingDate", json!({"firstName": "Maria", "state": "CA", "meetingDate": "2024-05-01 10:00:00"})),
        ("description", json!({"firstName": "Maria", "state": "CA", "description": {"text": "x"}})),
    ];
    for (key, data) in cases {
        let (status, body) =
            bridge.post("actions/create_ticket", &action_body(Some("501"), data.clone())).await;
        assert_eq!(status, 400, "{data} -> {body}");
        assert_eq!(body["error"], "invalid_input");
        let keys: Vec<&str> =
            body["problems"].as_array().unwrap().iter().map(|p| p["key"].as_str().unwrap()).collect();
        assert_eq!(keys, vec![key], "{data} -> {body}");
        assert!(body["message"].as_str().unwrap().contains(key));
    }
    assert!(bridge.usedesk_calls("/create/ticket").is_empty(), "invalid inputs never reach Usedesk");
    assert_eq!(bridge.post("actions/create_ticket", &action_body(Some("501"), valid)).await.0, 201);
}

#[tokio::test]
async fn malformed_bodies_get_a_json_4xx() {
    let bridge = start(seeded(), RouterOptions::default()).await;
    for path in
        ["auth_validation", "contact_sync", "interaction_update", "agent_sync", "actions/create_ticket"]
    {
        for body in ["not json", "", "{\"auth\": ", "{\"auth\": [1, 2]}", "[]"] {
            let (status, answer) = bridge.post_raw(path, body.to_owned()).await;
            assert!((400..500).contains(&status), "{path} {body:?} -> {status} {answer}");
            assert!(answer["error"].is_string() && answer["message"].is_string(), "{answer}");
        }
    }
    let (status, answer) =
        bridge.post_raw("agent_sync", json!({"auth": auth(), "meta": {"offset": -4}}).to_string()).await;
    assert_eq!(status, 400);
    assert_eq!(answer["field"], "meta.offset");
    assert!(bridge.sim.server().requests().is_empty(), "nothing malformed reached Usedesk");
}

#[tokio::test]
async fn usedesk_errors_map_to_statuses() {
    let bridge = start(seeded(), RouterOptions::default()).await;
    // Usedesk's HTTP 200 error (an unknown client) → the action failed: 400 with its message.
    let (status, body) = bridge
        .post("actions/create_ticket", &action_body(Some("999999"), json!({"firstName": "X", "state": "AL"})))
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "action_failed");
    assert!(body["message"].as_str().unwrap().contains("Client not found"), "{body}");

    // An HTTP 200 error on a read → 400 `rejected` with Usedesk's message.
    bridge.sim.server().add_fault(
        Fault::ok_with_error_body(json!({"error": "Something is off", "code": 12})).on_path("/clients"),
    );
    let (status, body) = bridge.post("contact_sync", &json!({"auth": auth()})).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "rejected");
    assert!(body["message"].as_str().unwrap().contains("Something is off"), "{body}");

    // A Usedesk outage → 503 `unavailable`.
    bridge.sim.server().add_fault(Fault::status(503, "{\"error\":\"down\"}").on_path("/users").always());
    let (status, body) = bridge.post("agent_sync", &json!({"auth": auth()})).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"], "unavailable");
    bridge.sim.server().clear_faults();

    // The bridge's own Usedesk token rejected → auth validation fails upstream (502), not 401.
    bridge
        .sim
        .server()
        .add_fault(Fault::ok_with_error_body(json!({"error": "Wrong api_token"})).on_path("/channels"));
    let (status, body) = bridge.post("auth_validation", &json!({"auth": auth()})).await;
    assert_eq!(status, 502, "{body}");
    assert!(body["message"].as_str().unwrap().contains("Wrong api_token"));
}

// ---------------------------------------------------------------------------------------
// The example binary
// ---------------------------------------------------------------------------------------

fn example_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|deps| deps.parent()).unwrap().join("examples");
    let path = dir.join(format!("talkdesk_bridge{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "the example binary {} is missing; run `cargo test --all-features` (which builds the examples)",
        path.display()
    );
    path
}

/// Run to completion, with a timeout.
fn run_example(args: &[&str]) -> (i32, String) {
    let mut child = Command::new(example_binary())
        .args(args)
        .env_remove("USEDESK_API_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let output = child.wait_with_output().unwrap();
            return (status.code().unwrap_or(-1), String::from_utf8(output.stdout).unwrap());
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("talkdesk_bridge {args:?} did not finish in time");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn example_prints_the_mycrm_manifest() {
    let (code, markdown) = run_example(&["--print-manifest"]);
    assert_eq!(code, 0);
    for needle in [
        "## Integration Details",
        "## Action Details: create_ticket",
        "| name | mycrm |",
        "**account**",
        "**token**",
        "{{contact.first_name}}",
        "AL,AK,AZ,AR,CA,CO,CT,DE,FL",
        "YYYY-MM-DDTHH:mm:ssZ",
        "https://bridge.example.com/talkdesk/actions/create_ticket",
    ] {
        assert!(markdown.contains(needle), "missing {needle:?} in\n{markdown}");
    }
    let (code, json) =
        run_example(&["--print-manifest", "--json", "--public-url", "https://td.example.net/x"]);
    assert_eq!(code, 0);
    let manifest = Manifest::from_json(&json).unwrap();
    assert_eq!(manifest.integration().name, "mycrm");
    let action = manifest.action("create_ticket").unwrap();
    assert_eq!(action.endpoint, "https://td.example.net/x/actions/create_ticket");
    let keys: Vec<&str> = action.inputs.iter().map(|i| i.key.as_str()).collect();
    assert_eq!(keys, vec!["description", "firstName", "state", "meetingDate"]);
    assert_eq!(run_example(&["--bogus"]).0, 2);
    assert_eq!(run_example(&["--json"]).0, 2);
    let (code, help) = run_example(&["--help"]);
    assert_eq!(code, 0);
    assert!(help.contains("--print-manifest") && help.contains("TALKDESK_BRIDGE_TOKEN"));
}

/// Kills the child when the test ends, however it ends.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn example_serves_auth_validation_over_http() {
    let mut child = Command::new(example_binary())
        .args(["--listen", "127.0.0.1:0"])
        .env_remove("USEDESK_API_TOKEN")
        .env_remove("TALKDESK_BRIDGE_ACCOUNT")
        .env_remove("TALKDESK_BRIDGE_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let running = Running(child);
    let (lines_tx, lines_rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut address = None;
    let mut accepted = None;
    while address.is_none() {
        let line =
            lines_rx.recv_timeout(Duration::from_secs(60)).expect("the example printed no address in time");
        if let Some(rest) = line.strip_prefix("listening on ") {
            address = Some(rest.trim().to_owned());
        }
        if let Some(rest) = line.strip_prefix("accepted auth (simulator mode): ") {
            accepted = Some(rest.to_owned());
        }
    }
    let (address, accepted) =
        (address.unwrap(), accepted.expect("simulator credentials printed before the address"));
    assert_eq!(accepted, "account = demo, token = demo-talkdesk-token");
    let http = reqwest::Client::new();
    let call = |token: &'static str| {
        http.post(format!("{address}/talkdesk/auth_validation"))
            .json(&json!({"auth": {"account": "demo", "token": token}}))
            .timeout(Duration::from_secs(20))
            .send()
    };
    let ok = call("demo-talkdesk-token").await.unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    assert_eq!(ok.json::<Value>().await.unwrap(), json!({}));
    assert_eq!(call("wrong").await.unwrap().status().as_u16(), 401);
    drop(running);
}
