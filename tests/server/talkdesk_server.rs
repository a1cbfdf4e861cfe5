//! The Talkdesk bridge router over real HTTP on 127.0.0.1, with an in-memory backend.
#![cfg(all(feature = "talkdesk", feature = "server"))]

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{TimeZone, Utc};
use deskbridge::server::talkdesk::{RouterOptions, router_with_options};
use deskbridge::talkdesk::{
    ActionCall, ActionCreated, AgentsPage, AgentsPageRequest, AuthFields, AuthValidated, BackendError,
    Contact, ContactsPage, ContactsPageRequest, Interaction, InteractionQuery, InteractionStatus, Manifest,
    TalkdeskAgent, TalkdeskBackend,
};
use serde_json::{Value, json};
use url::Url;

const TOKEN: &str = "secret-token-123";

/// Contacts with a change counter, agents, and a log of executed actions.
#[derive(Default)]
struct MemoryBackend {
    /// (contact, change sequence number); the checkpoint is the highest sequence seen.
    contacts: Mutex<Vec<(Contact, u64)>>,
    agents: Vec<TalkdeskAgent>,
    executed: Mutex<Vec<ActionCall>>,
    calls: Mutex<u32>,
}

impl MemoryBackend {
    fn new() -> Self {
        let contacts = (1..=5).map(|n| (Contact::new(format!("c{n}"), format!("Contact {n}")), n)).collect();
        let agents = (1..=5)
            .map(|n| TalkdeskAgent {
                id: format!("a{n}"),
                name: format!("Agent {n}"),
                email: format!("agent{n}@example.com"),
            })
            .collect();
        Self { contacts: Mutex::new(contacts), agents, ..Self::default() }
    }

    fn authorize(&self, auth: &AuthFields) -> Result<(), BackendError> {
        *self.calls.lock().unwrap() += 1;
        if auth.expose("token") == Some(TOKEN) { Ok(()) } else { Err(BackendError::Unauthorized) }
    }

    fn touch(&self, id: &str, sequence: u64) {
        let mut contacts = self.contacts.lock().unwrap();
        match contacts.iter_mut().find(|(contact, _)| contact.id == id) {
            Some(entry) => entry.1 = sequence,
            None => contacts.push((Contact::new(id, format!("Contact {id}")), sequence)),
        }
    }
}

fn parse_number<T: std::str::FromStr>(text: Option<&str>, what: &str) -> Result<Option<T>, BackendError> {
    text.map(|text| text.parse().map_err(|_| BackendError::rejected(format!("bad {what}")))).transpose()
}

#[async_trait]
impl TalkdeskBackend for MemoryBackend {
    async fn validate_auth(&self, auth: &AuthFields) -> Result<AuthValidated, BackendError> {
        self.authorize(auth)?;
        let mut validated = AuthValidated::default();
        validated.extra_fields.insert("account_id".into(), json!(42));
        Ok(validated)
    }

    async fn contacts_page(
        &self,
        auth: &AuthFields,
        request: &ContactsPageRequest,
    ) -> Result<ContactsPage, BackendError> {
        self.authorize(auth)?;
        let since: u64 = parse_number(request.checkpoint.as_deref(), "checkpoint")?.unwrap_or(0);
        let start: usize = parse_number(request.offset.as_deref(), "offset")?.unwrap_or(0);
        let mut changed: Vec<(Contact, u64)> =
            self.contacts.lock().unwrap().iter().filter(|(_, seq)| *seq > since).cloned().collect();
        changed.sort_by_key(|(_, seq)| *seq);
        let end = (start + request.page_size).min(changed.len());
        let checkpoint = changed.iter().map(|(_, seq)| *seq).max().unwrap_or(since);
        Ok(ContactsPage {
            contacts: changed[start.min(end)..end].iter().map(|(contact, _)| contact.clone()).collect(),
            synchronization_checkpoint: Some(checkpoint.to_string()),
            next_offset: (end < changed.len()).then(|| end.to_string()),
            context: request.context.clone(),
        })
    }

    async fn interactions(
        &self,
        auth: &AuthFields,
        query: &InteractionQuery,
    ) -> Result<Vec<Interaction>, BackendError> {
        self.authorize(auth)?;
        let contact = query.contact_external_id.clone().unwrap_or_default();
        let interaction = |id: &str, kind: &str| Interaction {
            id: format!("{contact}-{id}"),
            subject: format!("{kind} {id}"),
            description: None,
            date: Utc.with_ymd_and_hms(2024, 5, 1, 10, 0, 0).unwrap(),
            url: None,
            interaction_type: kind.to_owned(),
            priority: None,
            status: Some(InteractionStatus::Open),
        };
        Ok(vec![interaction("1", "ticket"), interaction("2", "call")])
    }

    async fn agents_page(
        &self,
        auth: &AuthFields,
        request: &AgentsPageRequest,
    ) -> Result<AgentsPage, BackendError> {
        self.authorize(auth)?;
        let start = usize::try_from(request.offset.unwrap_or(0)).unwrap_or(usize::MAX).min(self.agents.len());
        let end = (start + request.page_size).min(self.agents.len());
        Ok(AgentsPage {
            agents: self.agents[start..end].to_vec(),
            next_offset: (end < self.agents.len()).then_some(end as u64),
        })
    }

    async fn execute_action(
        &self,
        auth: &AuthFields,
        call: &ActionCall,
    ) -> Result<ActionCreated, BackendError> {
        self.authorize(auth)?;
        match call.data.get("description").map(String::as_str) {
            Some("fail") => Err(BackendError::rejected("mycrm refused: state is closed for tickets")),
            Some("busy") => Err(BackendError::Unavailable {
                message: "mycrm is rate limiting".into(),
                retry_after: Some(std::time::Duration::from_millis(1500)),
            }),
            Some("boom") => {
                Err(BackendError::Upstream { message: format!("mycrm said 500 for token {TOKEN}") })
            }
            _ => {
                let mut executed = self.executed.lock().unwrap();
                executed.push(call.clone());
                Ok(ActionCreated::new(format!("T-{}", executed.len())))
            }
        }
    }
}

struct Bridge {
    base: String,
    backend: Arc<MemoryBackend>,
    client: reqwest::Client,
}

impl Bridge {
    async fn start() -> Self {
        Self::start_with(RouterOptions::default()).await
    }

    async fn start_with(options: RouterOptions) -> Self {
        let manifest =
            Manifest::example_mycrm(&Url::parse("https://bridge.example.com/talkdesk/").unwrap()).unwrap();
        let backend = Arc::new(MemoryBackend::new());
        let options = options.contacts_page_size(2).agents_page_size(2).max_body_bytes(4096);
        let app = router_with_options(backend.clone(), manifest, options);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { base: format!("http://{address}/talkdesk"), backend, client: reqwest::Client::new() }
    }

    async fn post_raw(&self, path: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}/{path}", self.base))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
        assert_eq!(content_type, "application/json", "non-JSON answer with status {status}");
        (status, response.json().await.unwrap())
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.post_raw(path, body.to_string()).await
    }

    fn calls(&self) -> u32 {
        *self.backend.calls.lock().unwrap()
    }
}

fn auth() -> Value {
    json!({"account": "acme", "token": TOKEN})
}

fn action_body(data: Value) -> Value {
    json!({"auth": auth(), "meta": {"contact_external_id": "c1", "agent_external_id": 7}, "data": data})
}

#[tokio::test]
async fn contacts_page_to_the_end_then_sync_incrementally_from_the_checkpoint() {
    let bridge = Bridge::start().await;
    let mut ids = Vec::new();
    let mut offset = Value::Null;
    let mut pages = 0;
    let checkpoint = loop {
        let (status, page) = bridge
            .post("contact_sync", json!({"auth": auth(), "meta": {"offset": offset, "context": {"run": 1}}}))
            .await;
        assert_eq!(status, 200, "{page}");
        pages += 1;
        assert_eq!(page["context"], json!({"run": 1}));
        ids.extend(page["contacts"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_owned()));
        match page.get("next_offset") {
            Some(next) => offset = next.clone(),
            None => break page["synchronization_checkpoint"].clone(),
        }
    };
    assert_eq!(pages, 3);
    assert_eq!(ids, ["c1", "c2", "c3", "c4", "c5"]);
    assert_eq!(checkpoint, "5");

    bridge.backend.touch("c2", 6);
    bridge.backend.touch("c9", 7);
    let (status, page) = bridge
        .post("contact_sync", json!({"auth": auth(), "meta": {"synchronization_checkpoint": checkpoint}}))
        .await;
    assert_eq!(status, 200, "{page}");
    let ids: Vec<&str> =
        page["contacts"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["c2", "c9"]);
    assert_eq!(page.get("next_offset"), None);
    assert_eq!(page["synchronization_checkpoint"], "7");
    assert_eq!(
        page["contacts"][0],
        json!({"id": "c2", "name": "Contact 2", "emails": [], "phones": [], "websites": []})
    );

    // Nothing changed since: the checkpoint survives the empty run.
    let (_, page) =
        bridge.post("contact_sync", json!({"auth": auth(), "meta": {"synchronization_checkpoint": 7}})).await;
    assert_eq!(page, json!({"contacts": [], "synchronization_checkpoint": "7"}));
}

#[tokio::test]
async fn agents_page_to_the_end() {
    let bridge = Bridge::start().await;
    let (status, first) = bridge.post("agent_sync", json!({"auth": auth(), "meta": {"offset": null}})).await;
    assert_eq!(status, 200);
    assert_eq!(first["next_offset"], 2);
    assert_eq!(first["agents"][0], json!({"id": "a1", "name": "Agent 1", "email": "agent1@example.com"}));
    let (_, second) = bridge.post("agent_sync", json!({"auth": auth(), "meta": {"offset": 2}})).await;
    assert_eq!(second["next_offset"], 4);
    let (_, last) = bridge.post("agent_sync", json!({"auth": auth(), "meta": {"offset": 4}})).await;
    assert_eq!(last, json!({"agents": [{"id": "a5", "name": "Agent 5", "email": "agent5@example.com"}]}));
}

#[tokio::test]
async fn interactions_of_other_types_are_dropped() {
    let bridge = Bridge::start().await;
    let body = json!({"auth": auth(), "meta": {"interaction_types": ["ticket"]},
                      "data": {"contact_external_id": "c1", "contact_name": "Ana", "contact_emails": [], "contact_phones": []}});
    let (status, interactions) = bridge.post("interaction_update", body).await;
    assert_eq!(status, 200);
    assert_eq!(
        interactions,
        json!([{"id": "c1-1", "subject": "ticket 1", "date": "2024-05-01 10:00:00 UTC", "type": "ticket", "status": "open"}])
    );
}

#[tokio::test]
async fn auth_validation_answers_200_or_401() {
    let bridge = Bridge::start().await;
    let (status, body) = bridge.post("auth_validation", json!({"auth": auth()})).await;
    assert_eq!((status, body), (200, json!({"account_id": 42})));
    let (status, body) =
        bridge.post("auth_validation", json!({"auth": {"account": "acme", "token": "wrong-token"}})).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "unauthorized");
}

/// Talkdesk documents 200 today; its legacy documentation expected 204, which the router
/// answers on request (no body, so no extra fields), still 401 for bad credentials.
#[tokio::test]
async fn auth_validation_answers_204_in_legacy_mode() {
    let bridge = Bridge::start_with(RouterOptions::default().legacy_auth_validation_204(true)).await;
    let response = bridge
        .client
        .post(format!("{}/auth_validation", bridge.base))
        .header("content-type", "application/json")
        .body(json!({"auth": auth()}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 204);
    assert!(response.bytes().await.unwrap().is_empty());
    let (status, _) =
        bridge.post("auth_validation", json!({"auth": {"account": "acme", "token": "wrong-token"}})).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn bad_auth_gets_401_on_every_endpoint() {
    let bridge = Bridge::start().await;
    let wrong = json!({"account": "acme", "token": "wrong-token"});
    for path in ["contact_sync", "interaction_update", "agent_sync", "actions/create_ticket"] {
        let body = json!({"auth": wrong, "data": {"firstName": "Ana", "state": "CA"}});
        let (status, answer) = bridge.post(path, body).await;
        assert_eq!(status, 401, "{path}: {answer}");
        assert!(!answer.to_string().contains("wrong-token"));
    }
    // A missing mandatory credential field is refused before the backend is asked.
    let calls = bridge.calls();
    let (status, answer) = bridge.post("contact_sync", json!({"auth": {"account": "acme"}})).await;
    assert_eq!(status, 401);
    assert!(answer["message"].as_str().unwrap().contains("`token`"), "{answer}");
    let (status, _) = bridge.post("agent_sync", json!({"meta": {}})).await;
    assert_eq!(status, 401);
    assert_eq!(bridge.calls(), calls);
}

#[tokio::test]
async fn successful_action_answers_201_with_external_id() {
    let bridge = Bridge::start().await;
    let data =
        json!({"firstName": "Ana", "state": "CA", "meetingDate": "2024-05-01T10:00:00Z", "unknown": "x"});
    let (status, body) = bridge.post("actions/create_ticket", action_body(data)).await;
    assert_eq!((status, body), (201, json!({"external_id": "T-1"})));
    let executed = bridge.backend.executed.lock().unwrap();
    assert_eq!(executed.len(), 1);
    let call = &executed[0];
    assert_eq!(call.action, "create_ticket");
    assert_eq!(call.meta.contact_external_id.as_deref(), Some("c1"));
    assert_eq!(call.meta.agent_external_id.as_deref(), Some("7"));
    let keys: Vec<&str> = call.data.keys().map(String::as_str).collect();
    assert_eq!(keys, ["firstName", "meetingDate", "state"]);
}

#[tokio::test]
async fn invalid_action_inputs_answer_400_naming_the_input() {
    let bridge = Bridge::start().await;
    let cases = [
        (json!({"state": "CA"}), "firstName", "mandatory input is missing"),
        (json!({"firstName": "", "state": "CA"}), "firstName", "mandatory input is missing"),
        (json!({"firstName": "Ana", "state": "TX"}), "state", "`TX` is not one of the options AL, AK"),
        (
            json!({"firstName": "Ana", "state": "CA", "meetingDate": "2024-05-01 10:00"}),
            "meetingDate",
            "does not match `YYYY-MM-DDTHH:mm:ssZ`",
        ),
        (
            json!({"firstName": "Ana", "state": "CA", "meetingDate": "2024-02-30T10:00:00Z"}),
            "meetingDate",
            "is not a date",
        ),
    ];
    for (data, key, expected) in cases {
        let (status, body) = bridge.post("actions/create_ticket", action_body(data.clone())).await;
        assert_eq!(status, 400, "{data}: {body}");
        assert_eq!(body["error"], "invalid_input");
        assert_eq!(body["problems"][0]["key"], key, "{body}");
        let message = body["message"].as_str().unwrap();
        assert!(message.starts_with(&format!("data.{key}: ")) && message.contains(expected), "{message}");
    }
    assert!(bridge.backend.executed.lock().unwrap().is_empty());
}

#[tokio::test]
async fn failed_actions_answer_400_and_backend_errors_502_or_503_without_secrets() {
    let bridge = Bridge::start().await;
    let (status, body) = bridge
        .post(
            "actions/create_ticket",
            action_body(json!({"firstName": "Ana", "state": "CA", "description": "fail"})),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"error": "action_failed", "message": "mycrm refused: state is closed for tickets"})
    );
    let (status, body) = bridge
        .post(
            "actions/create_ticket",
            action_body(json!({"firstName": "Ana", "state": "CA", "description": "boom"})),
        )
        .await;
    assert_eq!(status, 502);
    assert_eq!(body["error"], "upstream_error");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("mycrm said 500") && !message.contains(TOKEN), "{message}");
    let body = action_body(json!({"firstName": "Ana", "state": "CA", "description": "busy"}));
    let response = bridge
        .client
        .post(format!("{}/actions/create_ticket", bridge.base))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 503);
    assert_eq!(response.headers()["retry-after"], "2");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "unavailable");
}

#[tokio::test]
async fn malformed_bodies_get_4xx_json() {
    let bridge = Bridge::start().await;
    let (status, body) = bridge.post_raw("contact_sync", "not json").await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "malformed_body");
    let (status, body) = bridge.post_raw("agent_sync", "").await;
    assert_eq!((status, body["error"].as_str()), (400, Some("malformed_body")));
    let (status, body) = bridge.post("agent_sync", json!({"auth": auth(), "meta": {"offset": "abc"}})).await;
    assert_eq!(status, 400);
    assert_eq!(body["field"], "meta.offset");
    let (status, body) = bridge.post("actions/create_ticket", json!({"auth": auth(), "data": [1, 2]})).await;
    assert_eq!((status, body["field"].as_str()), (400, Some("data")));
    let (status, body) = bridge.post("contact_sync", json!({"auth": TOKEN})).await;
    assert_eq!(status, 400);
    assert!(!body.to_string().contains(TOKEN), "{body}");
    let (status, body) = bridge.post_raw("contact_sync", format!("{{\"auth\": {}}} trailing", auth())).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("malformed_body")));
    let (status, body) = bridge.post_raw("contact_sync", "x".repeat(10_000)).await;
    assert_eq!((status, body["error"].as_str()), (413, Some("unreadable_body")));
}

#[tokio::test]
async fn unknown_actions_and_wrong_methods_get_json_errors() {
    let bridge = Bridge::start().await;
    let (status, body) = bridge.post("actions/delete_everything", action_body(json!({}))).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"], "not_found");
    // A 404 names nothing: neither the served paths nor the one asked for.
    let message = body["message"].as_str().unwrap();
    assert!(!message.contains("/talkdesk") && !message.contains("delete_everything"), "{body}");
    let response = bridge.client.get(format!("{}/contact_sync", bridge.base)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 405);
    assert_eq!(response.headers()["allow"], "POST");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "method_not_allowed");
}
