//! Contract tests of the Zendesk client against wiremock: every endpoint's method, path,
//! exact query, exact body and exact auth header; pagination; the account-mode logic;
//! retries; error messages; configuration; webhook verification and parsing.
#![cfg(feature = "zendesk")]

use crate::common;

use common::mock::strict_server;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use deskbridge::Error;
use deskbridge::WebhookFailure;
use deskbridge::http::RetryPolicy;
use deskbridge::sync::Origin;
use deskbridge::zendesk::{
    AccountMode, CustomStatusReading, ModeSetting, TalkState, WritePath, ZendeskAuth, ZendeskClient,
    ZendeskConfig,
};
use deskbridge::zendesk::{AgentEvent, WebhookVerifier, parse_event};
use serde_json::{Value, json};
use url::Url;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Match, Mock, MockServer, Request, ResponseTemplate};

const EMAIL: &str = "admin@example.com";
const TOKEN: &str = "tok-SECRET-123";
/// base64("admin@example.com/token:tok-SECRET-123"), computed with
/// `python3 -c 'import base64; print(base64.b64encode(b"admin@example.com/token:tok-SECRET-123"))'`.
const BASIC: &str = "Basic YWRtaW5AZXhhbXBsZS5jb20vdG9rZW46dG9rLVNFQ1JFVC0xMjM=";
const OAUTH: &str = "oauth-SECRET-456";
const ADA: i64 = 16_765_840_571_292;
const BOB: i64 = 16_765_840_571_293;

/// The query, exactly: these pairs, in this order, and nothing else.
struct ExactQuery(Vec<(String, String)>);

impl Match for ExactQuery {
    fn matches(&self, request: &Request) -> bool {
        let pairs: Vec<(String, String)> =
            request.url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        pairs == self.0
    }
}

fn query(pairs: &[(&str, &str)]) -> ExactQuery {
    ExactQuery(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
}

fn no_query() -> ExactQuery {
    ExactQuery(Vec::new())
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_secs(5),
        max_total_wait: Duration::from_secs(10),
    }
}

fn config(server: &MockServer) -> ZendeskConfig {
    ZendeskConfig::for_base_url(Url::parse(&server.uri()).unwrap(), ZendeskAuth::api_token(EMAIL, TOKEN))
        .with_retry(fast_retries())
}

fn client(server: &MockServer) -> ZendeskClient {
    ZendeskClient::new(config(server)).unwrap()
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

fn last_page() -> Value {
    json!({ "has_more": false, "after_cursor": null, "before_cursor": null })
}

async fn mount_settings(server: &MockServer, body: Value, times: u64) {
    Mock::given(method("GET"))
        .and(path("/api/v2/account/settings"))
        .and(no_query())
        .and(header("authorization", BASIC))
        .respond_with(ok(body))
        .expect(times)
        .mount(server)
        .await;
}

/// Statuses with non-default ids (online = 1, offline = 7, …) to prove nothing is
/// hard-coded.
fn statuses_body() -> Value {
    json!({
        "default": [
            { "id": 9, "type": "agent_status", "attributes": { "name": "away", "description": "Away" } },
            { "id": 7, "type": "agent_status", "attributes": { "name": "offline", "description": "Offline" } },
            { "id": 1, "type": "agent_status", "attributes": { "name": "online", "description": "Online" } },
            { "id": 8, "type": "agent_status", "attributes": { "name": "transfers_only" } },
        ],
        "custom": [
            { "id": 1260812345678_i64, "type": "agent_status", "attributes": {
                "name": "In a meeting", "description": "Busy",
                "channels": { "talk": "away", "messaging": "offline", "support": "online" } } },
        ],
        "links": { "next": null, "prev": null },
        "meta": last_page(),
    })
}

async fn mount_statuses(server: &MockServer, times: u64) {
    Mock::given(method("GET"))
        .and(path("/api/v2/agent_availabilities/agent_statuses"))
        .and(query(&[("page[size]", "100")]))
        .and(header("authorization", BASIC))
        .respond_with(ok(statuses_body()))
        .expect(times)
        .mount(server)
        .await;
}

fn talk_put_path(agent: i64) -> String {
    format!("/api/v2/channels/voice/availabilities/{agent}")
}

fn unified_put_path(agent: i64) -> String {
    format!("/api/v2/agent_availabilities/agent_statuses/agents/{agent}")
}

#[tokio::test]
async fn agents_are_listed_with_role_filter_and_followed_across_cursor_pages() {
    let server = strict_server().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/users"))
        .and(query(&[("role[]", "agent"), ("role[]", "admin"), ("page[size]", "100")]))
        .and(header("authorization", BASIC))
        .and(header("accept", "application/json"))
        .respond_with(ok(json!({
            "users": [{ "id": ADA, "name": "Ada", "email": "ada@example.com", "role": "agent" }],
            "meta": { "has_more": true, "after_cursor": "xc1", "before_cursor": "xc0" },
            "links": { "next": "https://ignored.example/x", "prev": null },
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/users"))
        .and(query(&[
            ("role[]", "agent"),
            ("role[]", "admin"),
            ("page[size]", "100"),
            ("page[after]", "xc1"),
        ]))
        .and(header("authorization", BASIC))
        .respond_with(ok(json!({
            "users": [{ "id": BOB.to_string(), "name": "Bob", "email": null, "role": "admin", "extra": 1 }],
            "meta": last_page(),
            "links": { "next": null, "prev": null },
        })))
        .expect(1)
        .mount(&server)
        .await;
    let users = client(&server).list_agents().await.unwrap();
    assert_eq!(users.iter().map(|u| u.id).collect::<Vec<_>>(), vec![ADA, BOB]);
    assert_eq!(users[0].email.as_deref(), Some("ada@example.com"));
    assert_eq!(users[1].email, None);
}

#[tokio::test]
async fn groups_follow_links_next_when_no_after_cursor_is_given_and_oauth_is_bearer() {
    let server = strict_server().await;
    let next = format!("{}/api/v2/groups?page%5Bsize%5D=100&page%5Bafter%5D=g2", server.uri());
    Mock::given(method("GET"))
        .and(path("/api/v2/groups"))
        .and(query(&[("page[size]", "100")]))
        .and(header("authorization", format!("Bearer {OAUTH}").as_str()))
        .respond_with(ok(json!({
            "groups": [{ "id": 360000000001_i64, "name": "Support" }],
            "meta": { "has_more": true },
            "links": { "next": next },
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/groups"))
        .and(query(&[("page[size]", "100"), ("page[after]", "g2")]))
        .and(header("authorization", format!("Bearer {OAUTH}").as_str()))
        .respond_with(ok(json!({
            "groups": [{ "id": 360000000002_i64, "name": "Sales", "deleted": false }],
            "meta": last_page(),
        })))
        .expect(1)
        .mount(&server)
        .await;
    let config = ZendeskConfig::for_base_url(Url::parse(&server.uri()).unwrap(), ZendeskAuth::oauth(OAUTH))
        .with_retry(fast_retries());
    let groups = ZendeskClient::new(config).unwrap().list_groups().await.unwrap();
    assert_eq!(groups.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(), vec!["Support", "Sales"]);
}

#[tokio::test]
async fn group_memberships_are_read_from_the_account_wide_path() {
    let server = strict_server().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/group_memberships"))
        .and(query(&[("page[size]", "100")]))
        .and(header("authorization", BASIC))
        .respond_with(ok(json!({
            "group_memberships": [
                { "id": 9000000000001_i64, "user_id": ADA, "group_id": 360000000001_i64, "default": true },
            ],
            "meta": last_page(),
        })))
        .expect(1)
        .mount(&server)
        .await;
    let memberships = client(&server).list_group_memberships().await.unwrap();
    assert_eq!(memberships.len(), 1);
    assert_eq!((memberships[0].user_id, memberships[0].group_id), (ADA, 360_000_000_001));
}

#[tokio::test]
async fn a_path_prefix_in_the_base_url_is_kept() {
    let server = strict_server().await;
    Mock::given(method("GET"))
        .and(path("/proxy/zendesk/api/v2/groups"))
        .and(query(&[("page[size]", "100")]))
        .respond_with(ok(json!({ "groups": [], "meta": last_page() })))
        .expect(1)
        .mount(&server)
        .await;
    let base = Url::parse(&format!("{}/proxy/zendesk", server.uri())).unwrap();
    let client =
        ZendeskClient::new(ZendeskConfig::for_base_url(base, ZendeskAuth::api_token(EMAIL, TOKEN))).unwrap();
    assert!(client.list_groups().await.unwrap().is_empty());
}

#[tokio::test]
async fn statuses_are_read_from_either_key_spelling_and_resolved_by_name() {
    let server = strict_server().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/agent_availabilities/agent_statuses"))
        .and(query(&[("page[size]", "100")]))
        .respond_with(ok(json!({
            "default_statuses": [{ "id": "1", "type": "agent_status", "attributes": { "name": "Online" } }],
            "custom_statuses": [{ "id": 42, "type": "agent_status", "attributes": {
                "name": "Lunch", "channels": { "talk": "offline" } } }],
            "meta": last_page(),
        })))
        .expect(2)
        .mount(&server)
        .await;
    let client = client(&server);
    let statuses = client.agent_statuses().await.unwrap();
    assert_eq!(statuses.len(), 2);
    assert!(!statuses[0].custom && statuses[1].custom);
    assert_eq!(statuses[1].channels.as_ref().unwrap().talk.as_deref(), Some("offline"));
    let catalog = client.status_catalog().await.unwrap();
    assert_eq!(client.status_catalog().await.unwrap(), catalog, "the catalog is fetched once, then cached");
    assert_eq!(catalog.by_name("online").unwrap().id, 1, "`Online` resolves from `online`");
    assert_eq!(catalog.by_name("Lunch").unwrap().id, 42);
    assert!(catalog.by_name("lunch ").is_none());
}

#[tokio::test]
async fn availabilities_are_read_one_and_many_with_string_ids() {
    let server = strict_server().await;
    Mock::given(method("GET"))
        .and(path(format!("/api/v2/agent_availabilities/{ADA}")))
        .and(no_query())
        .and(header("authorization", BASIC))
        .respond_with(ok(json!({
            "data": {
                "id": format!("agent_availabilities|{ADA}"),
                "type": "agent_availabilities",
                "attributes": {
                    "agent_id": ADA,
                    "agent_status": { "id": "1", "name": "online", "reason": "PUBLIC_API", "updated_at": "2024-01-01T00:00:00Z" },
                    "group_ids": [360000000001_i64],
                    "version": 3,
                },
            },
            "included": [],
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/agent_availabilities"))
        .and(query(&[("filter[agent_id]", &format!("{ADA},{BOB}")), ("page[size]", "100")]))
        .and(header("authorization", BASIC))
        .respond_with(ok(json!({
            "data": [
                { "id": format!("agent_availabilities|{ADA}"), "attributes": { "agent_id": ADA } },
                { "id": format!("agent_availabilities|{BOB}"), "attributes": { "version": "2" } },
            ],
            "links": { "next": null }, "meta": last_page(),
        })))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let one = client.agent_availability(ADA).await.unwrap();
    let status = one.agent_status.unwrap();
    assert_eq!((status.id, status.name.as_str()), (1, "online"));
    assert!(status.is_public_api());
    assert_eq!((one.group_ids, one.version), (vec![360_000_000_001], Some(3)));
    let many = client.list_agent_availabilities(Some(&[ADA, BOB])).await.unwrap();
    assert_eq!(many.iter().map(|a| a.agent_id).collect::<Vec<_>>(), vec![ADA, BOB]);
    assert!(many.iter().all(|a| a.agent_status.is_none()), "routing off: no agent_status");
    assert_eq!(many[1].version, Some(2));
}

#[tokio::test]
async fn talk_availability_is_read_and_written_with_the_exact_body() {
    let server = strict_server().await;
    Mock::given(method("GET"))
        .and(path(talk_put_path(ADA)))
        .and(no_query())
        .and(header("authorization", BASIC))
        .respond_with(ok(
            json!({ "availability": { "agent_state": "away", "via": "client", "call_status": null } }),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(talk_put_path(ADA)))
        .and(no_query())
        .and(header("authorization", BASIC))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({ "availability": { "agent_state": "transfers_only" } })))
        .respond_with(ok(json!({ "availability": { "agent_state": "transfers_only", "via": "client" } })))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let read = client.talk_availability(ADA).await.unwrap();
    assert_eq!((read.agent_state.as_deref(), read.via.as_deref()), (Some("away"), Some("client")));
    let written = client.set_talk_state(ADA, TalkState::TransfersOnly).await.unwrap();
    assert_eq!(written.agent_state.as_deref(), Some("transfers_only"));
}

#[tokio::test]
async fn routing_on_in_the_settings_writes_the_unified_status_resolved_by_name() {
    let server = strict_server().await;
    mount_settings(&server, json!({ "settings": { "routing": { "enabled": true } } }), 1).await;
    mount_statuses(&server, 1).await;
    Mock::given(method("PUT"))
        .and(path(unified_put_path(ADA)))
        .and(no_query())
        .and(header("authorization", BASIC))
        .and(body_json(json!({ "id": 1 })))
        .respond_with(ok(json!({ "data": { "attributes": { "agent_id": ADA, "agent_status": { "id": 1, "name": "online" } } } })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(unified_put_path(BOB)))
        .and(body_json(json!({ "id": 1260812345678_i64 })))
        .respond_with(ok(json!({})))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    assert_eq!(client.set_voice_status(ADA, "online").await.unwrap(), WritePath::Unified { status_id: 1 });
    assert_eq!(
        client.set_voice_status(BOB, "In a meeting").await.unwrap(),
        WritePath::Unified { status_id: 1_260_812_345_678 }
    );
    assert_eq!(client.cached_mode(), Some(AccountMode::Unified));
}

#[tokio::test]
async fn a_talk_400_switches_to_the_unified_path_once_and_the_mode_is_cached() {
    let server = strict_server().await;
    // Settings that say nothing: the client learns from the answers.
    mount_settings(&server, json!({ "settings": { "agents": {} } }), 1).await;
    Mock::given(method("PUT"))
        .and(path(talk_put_path(ADA)))
        .and(body_json(json!({ "availability": { "agent_state": "online" } })))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "bad_request",
            "description": "agent_state cannot be updated while omnichannel routing is enabled",
        })))
        .expect(1)
        .mount(&server)
        .await;
    mount_statuses(&server, 1).await;
    Mock::given(method("PUT"))
        .and(path(unified_put_path(ADA)))
        .and(body_json(json!({ "id": 1 })))
        .respond_with(ok(json!({})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(unified_put_path(BOB)))
        .and(body_json(json!({ "id": 7 })))
        .respond_with(ok(json!({})))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    assert_eq!(client.account_mode().await.unwrap(), None);
    assert_eq!(client.set_voice_status(ADA, "online").await.unwrap(), WritePath::Unified { status_id: 1 });
    assert_eq!(client.cached_mode(), Some(AccountMode::Unified));
    // Second write: straight to unified (the Talk PUT mock allows one call only).
    assert_eq!(client.set_voice_status(BOB, "offline").await.unwrap(), WritePath::Unified { status_id: 7 });
}

#[tokio::test]
async fn a_unified_403_switches_to_the_talk_path() {
    let server = strict_server().await;
    // Settings claim unified statuses (stale), but the unified API refuses.
    mount_settings(&server, json!({ "settings": { "agents": { "unified_agent_statuses": true } } }), 1).await;
    Mock::given(method("GET"))
        .and(path("/api/v2/agent_availabilities/agent_statuses"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({
            "errors": [{ "code": "Forbidden", "title": "Forbidden", "detail": "Omnichannel routing is off" }],
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(talk_put_path(ADA)))
        .and(header("authorization", BASIC))
        .and(body_json(json!({ "availability": { "agent_state": "away" } })))
        .respond_with(ok(json!({ "availability": { "agent_state": "away" } })))
        .expect(2)
        .mount(&server)
        .await;
    let client = client(&server);
    assert_eq!(client.set_voice_status(ADA, "away").await.unwrap(), WritePath::Talk(TalkState::Away));
    assert_eq!(client.cached_mode(), Some(AccountMode::Talk));
    assert_eq!(client.set_voice_status(ADA, "away").await.unwrap(), WritePath::Talk(TalkState::Away));
    let err = client.set_voice_status(ADA, "In a meeting").await.unwrap_err();
    assert!(matches!(&err, Error::InvalidInput { .. }), "{err}");
}

#[tokio::test]
async fn neither_path_working_is_unsupported_and_explains_both() {
    let server = strict_server().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/account/settings"))
        .respond_with(ResponseTemplate::new(403).set_body_string("Forbidden"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(talk_put_path(ADA)))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({ "error": "bad_request", "description": "no agent_state" })),
        )
        .expect(1)
        .mount(&server)
        .await;
    mount_statuses(&server, 1).await;
    Mock::given(method("PUT"))
        .and(path(unified_put_path(ADA)))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_json(json!({ "error": "Forbidden", "description": "Not an admin" })),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server).set_voice_status(ADA, "online").await.unwrap_err();
    match &err {
        Error::Unsupported { provider, message } => {
            assert_eq!(*provider, "zendesk");
            assert!(message.contains("no agent_state") && message.contains("Not an admin"), "{message}");
        }
        other => panic!("expected Unsupported, got {other:?}"),
    }
}

#[tokio::test]
async fn an_unknown_status_name_lists_the_known_ones_after_one_refresh() {
    let server = strict_server().await;
    mount_settings(&server, json!({ "settings": { "routing": { "enabled": true } } }), 1).await;
    mount_statuses(&server, 2).await;
    let err = client(&server).set_voice_status(ADA, "Lunch").await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::InvalidInput { .. }));
    assert!(
        text.contains("\"Lunch\"") && text.contains("\"In a meeting\"") && text.contains("\"online\""),
        "{text}"
    );
}

#[tokio::test]
async fn a_429_with_retry_after_is_waited_out() {
    let server = strict_server().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/groups"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "1")
                .set_body_json(json!({ "error": "TooManyRequests", "description": "slow down" })),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/groups"))
        .and(query(&[("page[size]", "100")]))
        .respond_with(ok(json!({ "groups": [{ "id": 1, "name": "Support" }], "meta": last_page() })))
        .expect(1)
        .mount(&server)
        .await;
    let started = Instant::now();
    let groups = client(&server).list_groups().await.unwrap();
    assert_eq!(groups.len(), 1);
    assert!(started.elapsed() >= Duration::from_millis(950), "waited {:?}", started.elapsed());
}

#[tokio::test]
async fn error_bodies_give_readable_messages_without_secrets() {
    let server = strict_server().await;
    Mock::given(method("GET"))
        .and(path(talk_put_path(ADA)))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({ "error": "RecordNotFound", "description": "Not found" })),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/api/v2/agent_availabilities/{ADA}")))
        .respond_with(ResponseTemplate::new(422).set_body_json(json!({
            "errors": [{ "code": "InvalidValue", "title": "Invalid", "detail": "bad agent" }],
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/account/settings"))
        .respond_with(
            ResponseTemplate::new(401).set_body_string(format!("Couldn't authenticate you with {TOKEN}")),
        )
        .mount(&server)
        .await;
    let client = client(&server);
    let err = client.talk_availability(ADA).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "zendesk refused GET /api/v2/channels/voice/availabilities/{{agent_id}} (HTTP 404, RecordNotFound): \
             Not found (called {}/api/v2/channels/voice/availabilities/{ADA})",
            server.uri()
        )
    );
    let err = client.agent_availability(ADA).await.unwrap_err();
    assert!(err.to_string().contains("(HTTP 422, InvalidValue): Invalid: bad agent (called "), "{err}");
    let err = client.account_settings().await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("Couldn't authenticate you") && !text.contains(TOKEN), "{text}");
}

#[tokio::test]
async fn voice_statuses_use_the_list_when_routing_is_on_and_one_get_per_agent_when_off() {
    let server = strict_server().await;
    mount_settings(&server, json!({}), 1).await;
    Mock::given(method("GET"))
        .and(path("/api/v2/agent_availabilities"))
        .and(query(&[("page[size]", "100")]))
        .respond_with(ok(json!({
            "data": [
                { "id": format!("agent_availabilities|{ADA}"), "attributes": { "agent_id": ADA,
                  "agent_status": { "id": 1260812345678_i64, "name": "In a meeting", "reason": "AGENT_STATUS_SWITCHER" } } },
                { "id": format!("agent_availabilities|{BOB}"), "attributes": { "agent_id": BOB,
                  "agent_status": { "id": 1, "name": "Online" } } },
            ],
            "meta": last_page(),
        })))
        .expect(2)
        .mount(&server)
        .await;
    mount_statuses(&server, 1).await;
    let by_name = client(&server);
    let statuses = by_name.voice_statuses(&[ADA, BOB]).await.unwrap();
    assert_eq!(statuses[&ADA], "In a meeting");
    assert_eq!(statuses[&BOB], "online");
    assert_eq!(by_name.cached_mode(), Some(AccountMode::Unified));
    let by_talk = ZendeskClient::new(
        config(&server)
            .with_custom_status_reading(CustomStatusReading::ByTalkChannel)
            .with_mode(ModeSetting::Forced(AccountMode::Unified)),
    )
    .unwrap();
    let statuses = by_talk.voice_statuses(&[ADA, BOB]).await.unwrap();
    assert_eq!(statuses[&ADA], "away");

    let off = strict_server().await;
    for (agent, state) in [(ADA, "online"), (BOB, "transfers_only")] {
        Mock::given(method("GET"))
            .and(path(talk_put_path(agent)))
            .respond_with(ok(json!({ "availability": { "agent_state": state } })))
            .expect(1)
            .mount(&off)
            .await;
    }
    let talk = ZendeskClient::new(config(&off).with_mode(ModeSetting::Forced(AccountMode::Talk))).unwrap();
    let statuses = talk.voice_statuses(&[ADA, BOB]).await.unwrap();
    assert_eq!((statuses[&ADA].as_str(), statuses[&BOB].as_str()), ("online", "transfers_only"));
}

#[test]
fn webhook_verifiers_refuse_a_blank_secret() {
    for secret in ["", "  "] {
        assert!(matches!(WebhookVerifier::new(secret), Err(Error::Config(_))), "{secret:?}");
    }
}

#[test]
fn debug_and_display_never_show_the_token() {
    let config = ZendeskConfig::for_subdomain("acme", ZendeskAuth::api_token(EMAIL, TOKEN)).unwrap();
    assert_eq!(config.base_url().as_str(), "https://acme.zendesk.com/");
    for text in
        [format!("{config:?}"), config.to_string(), format!("{:?}", config.auth), config.auth.to_string()]
    {
        assert!(!text.contains(TOKEN), "{text}");
    }
    assert!(config.to_string().contains(EMAIL));
    let oauth = ZendeskAuth::oauth(OAUTH);
    assert!(!format!("{oauth:?}{oauth}").contains(OAUTH));
    let client = ZendeskClient::new(config).unwrap();
    assert!(!format!("{client:?}").contains(TOKEN));
    let verifier = WebhookVerifier::new("whsec-SECRET").unwrap();
    assert!(!format!("{verifier:?}").contains("whsec-SECRET"));
}

#[test]
fn config_from_env_with() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    };
    assert!(ZendeskConfig::from_env_with(env(&[])).unwrap().is_none());
    // Where the account is, but no credentials: a partial configuration, never "unset".
    for set in ["ZENDESK_SUBDOMAIN", "ZENDESK_BASE_URL"] {
        let lookup = |name: &str| (name == set).then(|| "https://acme.zendesk.com".to_owned());
        let err = ZendeskConfig::from_env_with(lookup).unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, Error::Config(_)), "{message}");
        assert!(message.contains(set) && message.contains("ZENDESK_API_TOKEN"), "{message}");
    }
    // A bad subdomain is named once, with no doubled "configuration error" prefix.
    let err =
        ZendeskConfig::from_env_with(env(&[("ZENDESK_SUBDOMAIN", "-bad-"), ("ZENDESK_OAUTH_TOKEN", "o")]))
            .unwrap_err()
            .to_string();
    assert_eq!(err.matches("configuration error").count(), 1, "{err}");
    assert!(err.contains("ZENDESK_SUBDOMAIN"), "{err}");
    let config = ZendeskConfig::from_env_with(env(&[
        ("ZENDESK_SUBDOMAIN", "acme"),
        ("ZENDESK_EMAIL", "a@b.c"),
        ("ZENDESK_API_TOKEN", "t"),
    ]))
    .unwrap()
    .unwrap();
    assert_eq!(config.base_url().as_str(), "https://acme.zendesk.com/");
    assert!(matches!(config.auth, ZendeskAuth::ApiToken { ref email, .. } if email == "a@b.c"));
    let config = ZendeskConfig::from_env_with(env(&[
        ("ZENDESK_SUBDOMAIN", "acme"),
        ("ZENDESK_BASE_URL", "http://127.0.0.1:9/prefix"),
        ("ZENDESK_OAUTH_TOKEN", "o"),
    ]))
    .unwrap()
    .unwrap();
    assert_eq!(config.base_url().as_str(), "http://127.0.0.1:9/prefix");
    assert!(matches!(config.auth, ZendeskAuth::OAuth(_)));
    let cases: [(&[(&str, &str)], &str); 4] = [
        (&[("ZENDESK_SUBDOMAIN", "acme"), ("ZENDESK_API_TOKEN", "t")], "ZENDESK_EMAIL"),
        (&[("ZENDESK_SUBDOMAIN", "acme"), ("ZENDESK_EMAIL", "a@b.c")], "ZENDESK_API_TOKEN"),
        (&[("ZENDESK_OAUTH_TOKEN", "o")], "ZENDESK_SUBDOMAIN"),
        (&[("ZENDESK_OAUTH_TOKEN", "o"), ("ZENDESK_SUBDOMAIN", "acme.zendesk.com")], "ZENDESK_SUBDOMAIN"),
    ];
    for (pairs, variable) in cases {
        let lookup = |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string());
        let err = ZendeskConfig::from_env_with(lookup).unwrap_err();
        assert!(matches!(err, Error::Config(_)) && err.to_string().contains(variable), "{err}");
    }
    let lookup =
        |name: &str| (name == "ZENDESK_BASE_URL").then(|| "not a url".to_owned()).or(Some("x".into()));
    assert!(ZendeskConfig::from_env_with(lookup).unwrap_err().to_string().contains("ZENDESK_BASE_URL"));
}

// ---- webhooks ----

const TEST_SECRET: &str = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ==";
const TIMESTAMP: &str = "2021-03-25T05:09:27Z";
const VECTOR_BODY: &str = r#"{"id":"01GXTEST","type":"zen:event-type:agent.unified_state_changed"}"#;
/// Computed independently:
/// `python3 -c 'import hmac,hashlib,base64; print(base64.b64encode(hmac.new(
///  b"dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ==", b"2021-03-25T05:09:27Z" +
///  b"{\"id\":\"01GXTEST\",\"type\":\"zen:event-type:agent.unified_state_changed\"}",
///  hashlib.sha256).digest()).decode())'`
const VECTOR_SIGNATURE: &str = "U6jgoPPhvT0RXrB+JQZCvBDCj1R+xTes60n5MWH4jV4=";

fn at(seconds_after: i64) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2021, 3, 25, 5, 9, 27).unwrap() + chrono::Duration::seconds(seconds_after)
}

fn failure(result: deskbridge::Result<()>) -> WebhookFailure {
    match result {
        Err(Error::WebhookVerification { provider: "zendesk", failure }) => failure,
        other => panic!("expected a webhook rejection, got {other:?}"),
    }
}

#[test]
fn webhook_signature_matches_the_independent_vector() {
    let verifier = WebhookVerifier::new(TEST_SECRET).unwrap();
    assert_eq!(verifier.sign(TIMESTAMP, VECTOR_BODY.as_bytes()), VECTOR_SIGNATURE);
    verifier.verify(Some(VECTOR_SIGNATURE), Some(TIMESTAMP), VECTOR_BODY.as_bytes(), at(30)).unwrap();
    // Through a header map too.
    let mut headers = deskbridge::http::HeaderMap::new();
    headers.insert("x-zendesk-webhook-signature", VECTOR_SIGNATURE.parse().unwrap());
    headers.insert("x-zendesk-webhook-signature-timestamp", TIMESTAMP.parse().unwrap());
    verifier.verify_headers(&headers, VECTOR_BODY.as_bytes(), at(-30)).unwrap();
}

#[test]
fn webhook_rejections_are_typed() {
    let verifier = WebhookVerifier::new(TEST_SECRET).unwrap();
    let body = VECTOR_BODY.as_bytes();
    let tampered = VECTOR_BODY.replace("01GXTEST", "01GXTESU");
    assert_eq!(
        failure(verifier.verify(Some(VECTOR_SIGNATURE), Some(TIMESTAMP), tampered.as_bytes(), at(0))),
        WebhookFailure::BadSignature
    );
    assert_eq!(
        failure(verifier.verify(Some(VECTOR_SIGNATURE), Some("2021-03-25T05:09:28Z"), body, at(0))),
        WebhookFailure::BadSignature
    );
    assert_eq!(
        failure(WebhookVerifier::new("other").unwrap().verify(
            Some(VECTOR_SIGNATURE),
            Some(TIMESTAMP),
            body,
            at(0)
        )),
        WebhookFailure::BadSignature
    );
    assert_eq!(
        failure(verifier.verify(Some(VECTOR_SIGNATURE), Some(TIMESTAMP), body, at(301))),
        WebhookFailure::Stale { skew_seconds: 301 }
    );
    assert_eq!(
        failure(verifier.verify(Some(VECTOR_SIGNATURE), Some(TIMESTAMP), body, at(-400))),
        WebhookFailure::Stale { skew_seconds: -400 }
    );
    let strict = WebhookVerifier::new(TEST_SECRET).unwrap().with_replay_window(Duration::from_secs(10));
    assert!(matches!(
        failure(strict.verify(Some(VECTOR_SIGNATURE), Some(TIMESTAMP), body, at(11))),
        WebhookFailure::Stale { .. }
    ));
    assert!(
        matches!(failure(verifier.verify(None, Some(TIMESTAMP), body, at(0))), WebhookFailure::Missing(h) if h.contains("x-zendesk-webhook-signature"))
    );
    assert!(
        matches!(failure(verifier.verify(Some(VECTOR_SIGNATURE), None, body, at(0))), WebhookFailure::Missing(h) if h.contains("timestamp"))
    );
    assert!(matches!(
        failure(verifier.verify(Some(VECTOR_SIGNATURE), Some("yesterday"), body, at(0))),
        WebhookFailure::Malformed(_)
    ));
    assert!(matches!(
        failure(verifier.verify(Some("%%%"), Some(TIMESTAMP), body, at(0))),
        WebhookFailure::Malformed(_)
    ));
}

fn unified_event(reason: &str) -> Value {
    json!({
        "account_id": 10000001,
        "detail": { "account_id": "10000001", "agent_id": ADA.to_string(), "version": "4" },
        "event": {
            "previous_unified_state": { "id": "2", "name": "offline", "reason": "AGENT_STATUS_SWITCHER" },
            "new_unified_state": { "id": "3", "name": "online", "reason": reason },
            "updated_at": "2024-01-15T09:00:00Z",
        },
        "id": "01GXEVENT0001",
        "subject": format!("zen:agent:{ADA}"),
        "time": "2024-01-15T09:00:00.123456789Z",
        "type": "zen:event-type:agent.unified_state_changed",
        "zendesk_event_version": "2022-11-06",
    })
}

#[test]
fn events_are_parsed_and_public_api_changes_are_recognised() {
    let event = parse_event(unified_event("PUBLIC_API").to_string().as_bytes()).unwrap();
    assert_eq!(event.id, "01GXEVENT0001");
    assert_eq!((event.account_id, event.agent_id, event.version), (Some(10_000_001), Some(ADA), Some(4)));
    assert!(event.time.is_some());
    match &event.event {
        AgentEvent::UnifiedStateChanged { previous, new, .. } => {
            assert_eq!(previous.as_ref().unwrap().name, "offline");
            assert_eq!((new.id, new.name.as_str()), (Some(3), "online"));
        }
        other => panic!("{other:?}"),
    }
    assert!(event.is_own_change());
    assert_eq!(event.origin(), Origin::Ours);
    let theirs = parse_event(unified_event("AGENT_STATUS_SWITCHER").to_string().as_bytes()).unwrap();
    assert!(!theirs.is_own_change());
    assert_eq!(theirs.origin(), Origin::Others);

    let talk = json!({
        "detail": { "agent_id": "7" }, "id": "01GXEVENT0002", "type": "zen:event-type:agent.state_changed",
        "event": { "channel": "talk", "previous_state": "offline", "new_state": "away", "updated_at": "x" },
    });
    let talk = parse_event(talk.to_string().as_bytes()).unwrap();
    assert!(
        matches!(&talk.event, AgentEvent::StateChanged { channel, new_state, .. } if channel == "talk" && new_state == "away")
    );
    assert_eq!(talk.origin(), Origin::Unknown);

    let other =
        json!({ "id": "01GXEVENT0003", "type": "zen:event-type:agent.work_item_added", "event": { "x": 1 } });
    let other = parse_event(other.to_string().as_bytes()).unwrap();
    assert!(
        matches!(&other.event, AgentEvent::Other { event_type, .. } if event_type.ends_with("work_item_added"))
    );

    let broken = json!({ "id": "01GX", "type": "zen:event-type:agent.unified_state_changed", "event": {} });
    let err = parse_event(broken.to_string().as_bytes()).unwrap_err();
    assert!(
        matches!(&err, Error::WebhookVerification { failure: WebhookFailure::Malformed(m), .. } if m.contains("new_unified_state")),
        "{err}"
    );
    assert!(parse_event(b"not json").is_err());
}

#[test]
fn verify_and_parse_runs_both_steps() {
    let verifier = WebhookVerifier::new(TEST_SECRET).unwrap();
    let body = unified_event("PUBLIC_API").to_string();
    let signature = verifier.sign(TIMESTAMP, body.as_bytes());
    let event = verifier.verify_and_parse(Some(&signature), Some(TIMESTAMP), body.as_bytes(), at(1)).unwrap();
    assert!(event.is_own_change());
    assert!(
        verifier.verify_and_parse(Some(VECTOR_SIGNATURE), Some(TIMESTAMP), body.as_bytes(), at(1)).is_err()
    );
}

fn unified_answer(agent: i64, status: i64) -> Value {
    json!({ "data": { "attributes": { "agent_id": agent, "agent_status": { "id": status, "name": "online" } },
                      "id": format!("agent_availabilities|{agent}"), "type": "agent_availabilities" } })
}

#[tokio::test]
async fn a_400_on_the_unified_write_tries_the_json_api_body_once_and_keeps_it() {
    let server = strict_server().await;
    Mock::given(method("PUT"))
        .and(path(unified_put_path(ADA)))
        .and(no_query())
        .and(header("authorization", BASIC))
        .and(body_json(json!({ "id": 1 })))
        .respond_with(ResponseTemplate::new(400).set_body_json(
            json!({ "error": "BadRequest", "description": "Invalid request body: data is required" }),
        ))
        .expect(1)
        .mount(&server)
        .await;
    for (agent, status) in [(ADA, 1), (BOB, 7)] {
        Mock::given(method("PUT"))
            .and(path(unified_put_path(agent)))
            .and(no_query())
            .and(header("authorization", BASIC))
            .and(header("content-type", "application/json"))
            .and(body_json(json!({ "data": { "type": "agent_status",
                                             "attributes": { "agent_status_id": status.to_string() } } })))
            .respond_with(ok(unified_answer(agent, status)))
            .expect(1)
            .mount(&server)
            .await;
    }
    let client = client(&server);
    assert_eq!(client.unified_body(), deskbridge::zendesk::UnifiedBody::IdObject);
    client.set_unified_status(ADA, 1).await.unwrap();
    assert_eq!(client.unified_body(), deskbridge::zendesk::UnifiedBody::JsonApi);
    // Remembered by the clones: Bob's write goes straight to the JSON:API form.
    client.clone().set_unified_status(BOB, 7).await.unwrap();
}

#[tokio::test]
async fn other_refusals_and_a_fixed_body_are_not_retried_in_the_other_form() {
    let server = strict_server().await;
    Mock::given(method("PUT"))
        .and(path(unified_put_path(ADA)))
        .and(body_json(json!({ "id": 99 })))
        .respond_with(ResponseTemplate::new(422).set_body_json(
            json!({ "error": "RecordInvalid", "description": "Agent status 99 does not exist" }),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(unified_put_path(BOB)))
        .and(body_json(
            json!({ "data": { "type": "agent_status", "attributes": { "agent_status_id": "1" } } }),
        ))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({ "error": "BadRequest" })))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    assert!(matches!(client.set_unified_status(ADA, 99).await, Err(Error::Api { status: 422, .. })));
    let fixed = ZendeskClient::new(config(&server).with_unified_body(
        deskbridge::zendesk::UnifiedBodySetting::Fixed(deskbridge::zendesk::UnifiedBody::JsonApi),
    ))
    .unwrap();
    assert!(matches!(fixed.set_unified_status(BOB, 1).await, Err(Error::Api { status: 400, .. })));
}

#[tokio::test]
async fn talk_availability_is_read_bare_or_wrapped_and_an_empty_answer_is_an_error() {
    let server = strict_server().await;
    let bodies = [
        (ADA, json!({ "agent_state": "online", "via": "phone", "call_status": "on_call" })),
        (BOB, json!({ "availability": { "agent_state": "away", "via": "client", "call_status": null } })),
        (3, json!({ "something_else": true })),
    ];
    for (agent, body) in &bodies {
        Mock::given(method("GET"))
            .and(path(talk_put_path(*agent)))
            .and(no_query())
            .and(header("authorization", BASIC))
            .respond_with(ok(body.clone()))
            .expect(1)
            .mount(&server)
            .await;
    }
    let client = client(&server);
    let bare = client.talk_availability(ADA).await.unwrap();
    assert_eq!(
        (bare.agent_state.as_deref(), bare.via.as_deref(), bare.call_status.as_deref()),
        (Some("online"), Some("phone"), Some("on_call"))
    );
    let wrapped = client.talk_availability(BOB).await.unwrap();
    assert_eq!(wrapped.agent_state.as_deref(), Some("away"));
    let error = client.talk_availability(3).await.unwrap_err();
    assert!(matches!(error, Error::Decode { .. }), "{error:?}");
}

#[tokio::test]
async fn a_429_without_retry_after_waits_for_ratelimit_reset_then_backs_off() {
    let server = strict_server().await;
    // First 429: no Retry-After, `ratelimit-reset: 1` (seconds).
    Mock::given(method("GET"))
        .and(path("/api/v2/groups"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("ratelimit-limit", "700")
                .insert_header("ratelimit-remaining", "0")
                .insert_header("ratelimit-reset", "1")
                .set_body_string("Rate limit for ticket updates exceeded"),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    // Second 429: no header at all, so the capped backoff decides (10 ms in these tests).
    Mock::given(method("GET"))
        .and(path("/api/v2/groups"))
        .respond_with(ResponseTemplate::new(429).set_body_string("Too Many Requests"))
        .up_to_n_times(1)
        .with_priority(2)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/groups"))
        .and(query(&[("page[size]", "100")]))
        .respond_with(ok(json!({ "groups": [{ "id": 1, "name": "Support" }], "meta": last_page() })))
        .with_priority(3)
        .expect(1)
        .mount(&server)
        .await;
    let started = Instant::now();
    let groups = client(&server).list_groups().await.unwrap();
    assert_eq!(groups.len(), 1);
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(950), "ratelimit-reset honoured: waited {waited:?}");
}

#[test]
fn the_two_unified_bodies_are_exactly_the_documented_shapes() {
    use deskbridge::zendesk::UnifiedBody;
    assert_eq!(UnifiedBody::IdObject.body(4), json!({ "id": 4 }));
    assert_eq!(
        UnifiedBody::JsonApi.body(4),
        json!({ "data": { "type": "agent_status", "attributes": { "agent_status_id": "4" } } })
    );
}
