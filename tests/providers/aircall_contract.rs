//! Contract tests of the Aircall client, webhook verifier and adapter against wiremock
//! (and one adapter test against the Aircall simulator). Every request is matched on
//! method, path, the whole query, the exact `Authorization` header and, for writes, the
//! exact JSON body; a catch-all fails naming any request nobody expected.
#![cfg(feature = "aircall")]

use crate::common;

use common::mock::strict_server;
use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use chrono::{TimeZone, Utc};
use deskbridge::Error;
use deskbridge::WebhookFailure;
use deskbridge::aircall::{
    AircallClient, AircallConfig, AircallProvider, AvailabilityStatus, Substatus, UserObservation,
    WebhookVerifier, WritableStatus,
};
use deskbridge::aircall::{EventVersion, UserEventKind, WebhookEventKind};
use deskbridge::http::{RateLimit, RetryPolicy};
use deskbridge::ports::StatusProvider;
use deskbridge::status::{Channel, NativeStatus};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Match, Mock, MockServer, Request, ResponseTemplate};

const API_ID: &str = "api-id-123";
const API_TOKEN: &str = "S3CR3T-aircall-token-9f8e";
const ACCESS_TOKEN: &str = "S3CR3T-oauth-access-1a2b";
const WEBHOOK_TOKEN: &str = "S3CR3T-webhook-token-77aa";

fn basic_header() -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{API_ID}:{API_TOKEN}")))
}

/// Matches when the request's query pairs are exactly these (any order).
struct ExactQuery(Vec<(String, String)>);

fn exact_query(pairs: &[(&str, &str)]) -> ExactQuery {
    let mut pairs: Vec<(String, String)> =
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    pairs.sort();
    ExactQuery(pairs)
}

impl Match for ExactQuery {
    fn matches(&self, request: &Request) -> bool {
        let mut got: Vec<(String, String)> = request.url.query_pairs().into_owned().collect();
        got.sort();
        got == self.0
    }
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_secs(5),
        max_total_wait: Duration::from_secs(10),
    }
}

fn config_for(server: &MockServer) -> AircallConfig {
    AircallConfig::basic(API_ID, API_TOKEN)
        .with_base_url(server.uri())
        .unwrap()
        .with_rate_limit(RateLimit::unlimited())
        .with_retry(fast_retries())
}

fn client_for(server: &MockServer) -> AircallClient {
    AircallClient::new(config_for(server)).unwrap()
}

fn user_json(id: u64, status: &str) -> Value {
    json!({
        "id": id,
        "direct_link": format!("https://api.aircall.io/v1/users/{id}"),
        "name": format!("Agent {id}"),
        "email": format!("agent{id}@example.com"),
        "created_at": "2024-01-15T09:00:00.000Z",
        "available": status == "available",
        "availability_status": status,
        "substatus": null,
        "time_zone": "Europe/Paris",
        "language": "en-US",
        "wrap_up_time": 0,
        "numbers": []
    })
}

fn meta(page: u64, next: Option<String>) -> Value {
    json!({
        "count": 1, "total": 3, "current_page": page, "per_page": 50,
        "next_page_link": next, "previous_page_link": null
    })
}

fn assert_no_secret(text: &str) {
    for secret in [API_TOKEN, ACCESS_TOKEN, WEBHOOK_TOKEN, "S3CR3T"] {
        assert!(!text.contains(secret), "secret leaked: {text}");
    }
    assert!(!text.contains(basic_header().trim_start_matches("Basic ")), "credential leaked: {text}");
}

// ---------------------------------------------------------------- users and pagination

#[tokio::test]
async fn list_users_follows_next_page_links_across_three_pages_with_basic_auth() {
    let server = strict_server().await;
    let base = server.uri();
    let pages = [
        (vec![("per_page", "50")], 1, Some(format!("{base}/v2/users?page=2&per_page=50"))),
        (vec![("page", "2"), ("per_page", "50")], 2, Some(format!("{base}/v2/users?page=3&per_page=50"))),
        (vec![("page", "3"), ("per_page", "50")], 3, None),
    ];
    for (query, page, next) in pages {
        Mock::given(method("GET"))
            .and(path("/v2/users"))
            .and(exact_query(&query))
            .and(header("authorization", basic_header().as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "users": [user_json(100 + page, "available")],
                "meta": meta(page, next),
            })))
            .expect(1)
            .named(format!("GET /v2/users page {page}"))
            .mount(&server)
            .await;
    }
    let users = client_for(&server).list_users().await.unwrap();
    let ids: Vec<u64> = users.iter().map(|user| user.id).collect();
    assert_eq!(ids, vec![101, 102, 103]);
    assert_eq!(users[0].email.as_deref(), Some("agent101@example.com"));
    assert_eq!(users[0].availability_status, Some(AvailabilityStatus::Available));
    server.verify().await;
}

#[tokio::test]
async fn users_stream_is_lazy() {
    use futures_util::StreamExt;
    let server = strict_server().await;
    let base = server.uri();
    Mock::given(method("GET"))
        .and(path("/v2/users"))
        .and(exact_query(&[("per_page", "50")]))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "users": [user_json(1, "available"), user_json(2, "unavailable")],
            "meta": meta(1, Some(format!("{base}/v2/users?page=2&per_page=50"))),
        })))
        .expect(1)
        .mount(&server)
        .await;
    let client = client_for(&server);
    let mut stream = Box::pin(client.users());
    assert_eq!(stream.next().await.unwrap().unwrap().id, 1);
    assert_eq!(stream.next().await.unwrap().unwrap().id, 2);
    drop(stream);
    // Page 2 was never requested: the catch-all (expect 0) and the page-1 mock (expect 1)
    // verify that when the server drops.
    server.verify().await;
}

#[tokio::test]
async fn a_next_link_on_another_origin_is_rebased_onto_the_configured_base_url() {
    let server = strict_server().await;
    Mock::given(method("GET"))
        .and(path("/proxy/aircall/v2/users"))
        .and(exact_query(&[("per_page", "50")]))
        .and(header("authorization", basic_header().as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "users": [user_json(1, "available")],
            // Aircall behind a proxy that does not rewrite links.
            "meta": meta(1, Some("https://api.aircall.io/v2/users?page=2&per_page=50".into())),
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/proxy/aircall/v2/users"))
        .and(exact_query(&[("page", "2"), ("per_page", "50")]))
        .and(header("authorization", basic_header().as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "users": [user_json(2, "custom")],
            "meta": meta(2, None),
        })))
        .expect(1)
        .mount(&server)
        .await;
    let config = config_for(&server).with_base_url(format!("{}/proxy/aircall", server.uri())).unwrap();
    let users = AircallClient::new(config).unwrap().list_users().await.unwrap();
    assert_eq!(users.iter().map(|u| u.id).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(users[1].availability_status, Some(AvailabilityStatus::Custom));
    server.verify().await;
}

#[tokio::test]
async fn one_user_tolerates_string_ids_unknown_values_and_unknown_fields() {
    let server = strict_server().await;
    Mock::given(method("GET"))
        .and(path("/v2/users/42"))
        .and(exact_query(&[]))
        .and(header("authorization", basic_header().as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "user": {
                "id": "42", "name": "Ada", "email": null, "availability_status": "always_opened",
                "substatus": "in_traning", "brand_new_field": {"nested": [1, 2]}
            }
        })))
        .expect(1)
        .mount(&server)
        .await;
    let user = client_for(&server).user(42).await.unwrap();
    assert_eq!(user.id, 42);
    assert_eq!(user.email, None);
    assert_eq!(user.availability_status, Some(AvailabilityStatus::Unrecognized("always_opened".into())));
    assert_eq!(user.substatus, Some(Substatus::InTraining));
    server.verify().await;
}

#[tokio::test]
async fn availabilities_are_paged_with_fifty_per_page() {
    let server = strict_server().await;
    let base = server.uri();
    Mock::given(method("GET"))
        .and(path("/v1/users/availabilities"))
        .and(exact_query(&[("per_page", "50")]))
        .and(header("authorization", basic_header().as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "users": [{"id": 1, "availability": "in_call"}, {"id": 2, "availability": "ringing"}],
            "meta": meta(1, Some(format!("{base}/v1/users/availabilities?page=2&per_page=50"))),
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/users/availabilities"))
        .and(exact_query(&[("page", "2"), ("per_page", "50")]))
        .and(header("authorization", basic_header().as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "users": [{"id": 3, "availability": "do_not_disturb"}],
            "meta": meta(2, None),
        })))
        .expect(1)
        .mount(&server)
        .await;
    let rows = client_for(&server).list_availabilities().await.unwrap();
    let seen: Vec<(u64, String)> =
        rows.iter().map(|row| (row.id, row.availability.as_ref().unwrap().as_str().to_owned())).collect();
    assert_eq!(seen, vec![(1, "in_call".into()), (2, "ringing".into()), (3, "do_not_disturb".into())]);
    server.verify().await;
}

#[tokio::test]
async fn teams_are_listed_with_their_members() {
    let server = strict_server().await;
    Mock::given(method("GET"))
        .and(path("/v1/teams"))
        .and(exact_query(&[("per_page", "50")]))
        .and(header("authorization", basic_header().as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "teams": [
                {"id": 5, "name": "Support FR", "users": [user_json(1, "available")]},
                {"id": 6, "name": "Empty", "users": null}
            ],
            "meta": meta(1, None),
        })))
        .expect(1)
        .mount(&server)
        .await;
    let teams = client_for(&server).list_teams().await.unwrap();
    assert_eq!(teams.len(), 2);
    assert_eq!(teams[0].name, "Support FR");
    assert_eq!(teams[0].users.iter().map(|m| m.id).collect::<Vec<_>>(), vec![1]);
    assert!(teams[1].users.is_empty());
    server.verify().await;
}

#[tokio::test]
async fn ping_with_bearer_sends_the_access_token() {
    let server = strict_server().await;
    Mock::given(method("GET"))
        .and(path("/v1/ping"))
        .and(exact_query(&[]))
        .and(header("authorization", format!("Bearer {ACCESS_TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ping": "pong"})))
        .expect(1)
        .mount(&server)
        .await;
    let config = AircallConfig::bearer(ACCESS_TOKEN)
        .with_base_url(server.uri())
        .unwrap()
        .with_rate_limit(RateLimit::unlimited());
    AircallClient::new(config).unwrap().ping().await.unwrap();
    server.verify().await;
}

// ---------------------------------------------------------------- writes

#[tokio::test]
async fn set_availability_puts_exactly_the_status_and_the_optional_substatus() {
    let server = strict_server().await;
    Mock::given(method("PUT"))
        .and(path("/v1/users/7"))
        .and(exact_query(&[]))
        .and(header("authorization", basic_header().as_str()))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({"availability_status": "unavailable", "substatus": "on_a_break"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "user": {"id": 7, "name": "Bob", "availability_status": "unavailable", "substatus": "on_a_break"}
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/v1/users/7"))
        .and(body_json(json!({"availability_status": "custom"})))
        .and(header("authorization", basic_header().as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "user": {"id": 7, "name": "Bob", "availability_status": "custom"}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let client = client_for(&server);
    let user =
        client.set_availability(7, WritableStatus::Unavailable, Some(Substatus::OnABreak)).await.unwrap();
    assert_eq!(user.substatus, Some(Substatus::OnABreak));
    let user = client.set_availability(7, WritableStatus::Custom, None).await.unwrap();
    assert_eq!(user.availability_status, Some(AvailabilityStatus::Custom));
    server.verify().await;
}

// ---------------------------------------------------------------- errors and limits

#[tokio::test]
async fn a_429_waits_until_x_aircallapi_reset_then_succeeds() {
    let server = strict_server().await;
    let reset = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() + 2;
    Mock::given(method("GET"))
        .and(path("/v2/users/1"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("X-AircallApi-Limit", "60")
                .insert_header("X-AircallApi-Remaining", "0")
                .insert_header("X-AircallApi-Reset", reset.to_string().as_str())
                .set_body_json(json!({"error": "Too Many Requests", "troubleshoot": "Slow down"})),
        )
        .up_to_n_times(1)
        .expect(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/users/1"))
        .and(header("authorization", basic_header().as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"user": user_json(1, "available")})))
        .expect(1)
        .with_priority(2)
        .mount(&server)
        .await;
    let started = Instant::now();
    let user = client_for(&server).user(1).await.unwrap();
    assert_eq!(user.id, 1);
    assert!(started.elapsed() >= Duration::from_millis(900), "waited only {:?}", started.elapsed());
    server.verify().await;
}

#[tokio::test]
async fn a_404_is_an_api_error_carrying_aircalls_message() {
    let server = strict_server().await;
    // A v2 404 is ambiguous (unknown user, or no v2 line): v1 is asked once, and its 404
    // is the answer.
    Mock::given(method("GET"))
        .and(path("/v2/users/999"))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"error": "Not found", "troubleshoot": "User not found"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/users/999"))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"error": "Not found", "troubleshoot": "User not found"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let error = client_for(&server).user(999).await.unwrap_err();
    match &error {
        Error::Api { provider, context, status, message, .. } => {
            assert_eq!(*provider, "aircall");
            assert_eq!(context, "GET /v1/users/{id}");
            assert_eq!(*status, 404);
            assert_eq!(message, "Not found (User not found)");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        error.to_string(),
        format!(
            "aircall refused GET /v1/users/{{id}} (HTTP 404): Not found (User not found) (called {}/v1/users/999)",
            server.uri()
        )
    );
    server.verify().await;
}

#[tokio::test]
async fn a_malformed_body_is_a_decode_error_naming_the_json_path() {
    let server = strict_server().await;
    Mock::given(method("GET"))
        .and(path("/v2/users"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "users": [user_json(1, "available"), {"id": "not-a-number", "name": "X"}],
            "meta": meta(1, None),
        })))
        .expect(1)
        .mount(&server)
        .await;
    match client_for(&server).list_users().await.unwrap_err() {
        Error::Decode { provider, context, json_path, message } => {
            assert_eq!(provider, "aircall");
            assert_eq!(context, "GET /v2/users");
            assert_eq!(json_path, "users[1].id");
            assert!(message.contains("Aircall id"), "{message}");
        }
        other => panic!("unexpected {other:?}"),
    }
    server.verify().await;
}

#[tokio::test]
async fn errors_and_debug_output_never_show_the_credentials() {
    let server = strict_server().await;
    Mock::given(method("GET"))
        .and(path("/v1/ping"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": format!("Unauthorized token {API_TOKEN}"), "troubleshoot": "Check api_id and api_token"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let config = config_for(&server);
    let client = AircallClient::new(config.clone()).unwrap();
    let error = client.ping().await.unwrap_err();
    assert!(matches!(error, Error::Api { status: 401, .. }), "{error:?}");
    assert_no_secret(&error.to_string());
    assert_no_secret(&format!("{error:?}"));
    assert_no_secret(&format!("{config:?}"));
    assert!(format!("{config:?}").contains(API_ID), "the id is not secret and helps debugging");
    assert_no_secret(&format!("{client:?}"));
    assert_no_secret(&format!("{:?}", AircallProvider::new(client)));
    let bearer = AircallConfig::bearer(ACCESS_TOKEN);
    assert_no_secret(&format!("{bearer:?}"));
    assert_no_secret(&format!("{:?}", AircallProvider::from_config(bearer).unwrap()));
    assert_no_secret(&format!("{:?}", WebhookVerifier::new(WEBHOOK_TOKEN).unwrap()));
    server.verify().await;
}

#[test]
fn defaults_are_the_production_url_and_sixty_requests_per_minute() {
    let config = AircallConfig::basic(API_ID, API_TOKEN);
    assert_eq!(config.base_url().as_str(), "https://api.aircall.io/");
    assert_eq!(config.rate_limit(), RateLimit::per_minute(60));
    assert_eq!(config.client_options().timeout(), Duration::from_secs(30));
}

// ---------------------------------------------------------------- from_env

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    move |name| map.get(name).cloned()
}

fn config_error(result: deskbridge::Result<Option<AircallConfig>>) -> String {
    match result {
        Err(Error::Config(message)) => message,
        other => panic!("expected a configuration error, got {other:?}"),
    }
}

#[test]
fn from_env_reads_basic_or_bearer_credentials_and_the_base_url() {
    assert!(AircallConfig::from_env_with(env(&[])).unwrap().is_none());
    assert!(AircallConfig::from_env_with(env(&[("AIRCALL_API_ID", "  ")])).unwrap().is_none());

    let config = AircallConfig::from_env_with(env(&[
        ("AIRCALL_API_ID", API_ID),
        ("AIRCALL_API_TOKEN", API_TOKEN),
        ("AIRCALL_BASE_URL", "http://127.0.0.1:9999/prefix"),
    ]))
    .unwrap()
    .unwrap();
    assert_eq!(config.base_url().as_str(), "http://127.0.0.1:9999/prefix");
    assert!(
        matches!(&config.auth, deskbridge::aircall::AircallAuth::Basic { api_id, .. } if api_id == API_ID)
    );

    let config =
        AircallConfig::from_env_with(env(&[("AIRCALL_ACCESS_TOKEN", ACCESS_TOKEN)])).unwrap().unwrap();
    assert!(matches!(config.auth, deskbridge::aircall::AircallAuth::Bearer(_)));
    assert_eq!(config.base_url().as_str(), "https://api.aircall.io/");
}

#[test]
fn from_env_names_the_variable_that_is_wrong() {
    let message = config_error(AircallConfig::from_env_with(env(&[("AIRCALL_API_ID", API_ID)])));
    assert!(message.contains("AIRCALL_API_TOKEN"), "{message}");
    let message = config_error(AircallConfig::from_env_with(env(&[("AIRCALL_API_TOKEN", API_TOKEN)])));
    assert!(message.contains("AIRCALL_API_ID"), "{message}");
    assert_no_secret(&message);
    for bad in ["not a url", "ftp://example.com", "https://user:pw@example.com", "https://example.com/?q=1"] {
        let message = config_error(AircallConfig::from_env_with(env(&[
            ("AIRCALL_ACCESS_TOKEN", ACCESS_TOKEN),
            ("AIRCALL_BASE_URL", bad),
        ])));
        assert!(message.contains("AIRCALL_BASE_URL"), "{bad}: {message}");
    }
    let message = config_error(AircallConfig::from_env_with(env(&[
        ("AIRCALL_API_ID", API_ID),
        ("AIRCALL_API_TOKEN", API_TOKEN),
        ("AIRCALL_ACCESS_TOKEN", ACCESS_TOKEN),
    ])));
    assert!(message.contains("AIRCALL_ACCESS_TOKEN"), "{message}");
    assert_no_secret(&message);
    // A base URL without credentials is a partial configuration, never "unset".
    let message =
        config_error(AircallConfig::from_env_with(env(&[("AIRCALL_BASE_URL", "https://api.aircall.io")])));
    assert!(message.contains("AIRCALL_BASE_URL") && message.contains("AIRCALL_API_TOKEN"), "{message}");
}

// ---------------------------------------------------------------- webhooks

fn delivery(event: &str, token: Option<&str>, data: Value) -> Vec<u8> {
    let mut envelope = json!({"resource": "user", "event": event, "timestamp": 1_700_000_000, "data": data});
    if let Some(token) = token {
        envelope["token"] = json!(token);
    }
    serde_json::to_vec(&envelope).unwrap()
}

fn verifier() -> WebhookVerifier {
    WebhookVerifier::new(WEBHOOK_TOKEN).unwrap()
}

fn now() -> chrono::DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_030, 0).unwrap()
}

fn rejection(result: deskbridge::Result<deskbridge::aircall::WebhookEvent>) -> WebhookFailure {
    match result {
        Err(Error::WebhookVerification { provider: "aircall", failure }) => failure,
        other => panic!("expected a webhook rejection, got {other:?}"),
    }
}

#[test]
fn valid_v1_and_v2_user_events_parse_with_kind_version_and_status() {
    for kind in UserEventKind::ALL {
        for (name, version) in [
            (kind.v1_name().to_owned(), EventVersion::V1),
            (format!("{}.v2", kind.v1_name()), EventVersion::V2),
        ] {
            let body = delivery(&name, Some(WEBHOOK_TOKEN), user_json(42, "unavailable"));
            let event = verifier().verify(&body, now()).unwrap();
            assert_eq!(event.event, name);
            assert_eq!(event.resource.as_deref(), Some("user"));
            assert_eq!(event.occurred_at.timestamp(), 1_700_000_000);
            let user_event = event.user_event().unwrap();
            assert_eq!((user_event.kind, user_event.version), (kind, version));
            assert_eq!(user_event.user.id, 42);
            assert_eq!(event.idempotency_key(), format!("{name}/42/1700000000"));
            let expected = if kind == UserEventKind::Deleted {
                UserObservation::Deleted { user_id: 42, at: event.occurred_at }
            } else {
                UserObservation::Status {
                    user_id: 42,
                    status: NativeStatus::new("unavailable"),
                    substatus: None,
                    at: event.occurred_at,
                }
            };
            assert_eq!(event.user_observation(), Some(expected));
        }
    }
}

#[test]
fn a_wrong_token_is_a_bad_signature_and_a_missing_one_is_missing() {
    let body = delivery("user.opened.v2", Some("S3CR3T-webhook-token-77ab"), user_json(1, "available"));
    assert_eq!(rejection(verifier().verify(&body, now())), WebhookFailure::BadSignature);
    let body = delivery("user.opened.v2", Some(""), user_json(1, "available"));
    assert_eq!(rejection(verifier().verify(&body, now())), WebhookFailure::BadSignature);
    let body = delivery("user.opened.v2", None, user_json(1, "available"));
    assert!(
        matches!(rejection(verifier().verify(&body, now())), WebhookFailure::Missing(what) if what.contains("token"))
    );
    let mut envelope: Value = serde_json::from_slice(&body).unwrap();
    envelope["token"] = json!(12345);
    let body = serde_json::to_vec(&envelope).unwrap();
    assert!(matches!(rejection(verifier().verify(&body, now())), WebhookFailure::Malformed(_)));
}

#[test]
fn malformed_deliveries_are_rejected_never_panicking() {
    for body in [&b"{not json"[..], b"", b"[1,2]", b"\"text\"", b"null", &[0xff, 0xfe, 0x00][..]] {
        assert!(matches!(rejection(verifier().verify(body, now())), WebhookFailure::Malformed(_)));
    }
    // A valid token with an unreadable envelope: the message names the JSON path.
    let mut envelope =
        json!({"event": "user.closed", "timestamp": "soon", "token": WEBHOOK_TOKEN, "data": {}});
    let failure = rejection(verifier().verify(&serde_json::to_vec(&envelope).unwrap(), now()));
    assert!(matches!(&failure, WebhookFailure::Malformed(why) if why.contains("`timestamp`")), "{failure:?}");
    envelope["timestamp"] = json!(1_700_000_000);
    envelope["data"] = json!({"id": "abc"});
    let failure = rejection(verifier().verify(&serde_json::to_vec(&envelope).unwrap(), now()));
    assert!(matches!(&failure, WebhookFailure::Malformed(why) if why.contains("`data.id`")), "{failure:?}");
    envelope.as_object_mut().unwrap().remove("event");
    let failure = rejection(verifier().verify(&serde_json::to_vec(&envelope).unwrap(), now()));
    assert!(matches!(&failure, WebhookFailure::Malformed(why) if why.contains("event")), "{failure:?}");
}

#[test]
fn unknown_events_parse_as_other_with_their_data() {
    let data = json!({"id": 9001, "direction": "inbound"});
    let mut envelope: Value =
        serde_json::from_slice(&delivery("call.hungup", Some(WEBHOOK_TOKEN), data.clone())).unwrap();
    envelope["resource"] = json!("call");
    let event = verifier().verify(&serde_json::to_vec(&envelope).unwrap(), now()).unwrap();
    assert_eq!(event.kind, WebhookEventKind::Other { data: data.clone() });
    assert_eq!(event.user_observation(), None);
    assert_eq!(event.idempotency_key(), "call.hungup/9001/1700000000");
    let event = verifier().verify(&delivery("user.renamed.v2", Some(WEBHOOK_TOKEN), data), now()).unwrap();
    assert!(matches!(event.kind, WebhookEventKind::Other { .. }));
}

#[test]
fn the_two_user_closed_deliveries_are_distinct_updates() {
    let status_only = user_json(7, "unavailable");
    let mut with_reason = user_json(7, "unavailable");
    with_reason["substatus"] = json!("out_for_lunch");
    let first =
        verifier().verify(&delivery("user.closed.v2", Some(WEBHOOK_TOKEN), status_only), now()).unwrap();
    let second =
        verifier().verify(&delivery("user.closed.v2", Some(WEBHOOK_TOKEN), with_reason), now()).unwrap();
    assert_ne!(first.idempotency_key(), second.idempotency_key());
    assert!(matches!(
        second.user_observation(),
        Some(UserObservation::Status { substatus: Some(Substatus::OutForLunch), .. })
    ));
    // A redelivery of the same event has the same key.
    let again = verifier()
        .verify(&delivery("user.closed.v2", Some(WEBHOOK_TOKEN), user_json(7, "unavailable")), now())
        .unwrap();
    assert_eq!(first.idempotency_key(), again.idempotency_key());
}

#[test]
fn a_payload_without_a_status_asks_for_a_read_instead_of_guessing() {
    let event = verifier()
        .verify(&delivery("user.opened.v2", Some(WEBHOOK_TOKEN), json!({"id": "15"})), now())
        .unwrap();
    assert_eq!(
        event.user_observation(),
        Some(UserObservation::NeedsRead { user_id: 15, at: event.occurred_at })
    );
}

#[test]
fn the_optional_freshness_window_rejects_stale_deliveries() {
    let body = delivery("user.opened", Some(WEBHOOK_TOKEN), user_json(1, "available"));
    let strict = verifier().with_max_age(Duration::from_secs(10));
    assert_eq!(rejection(strict.verify(&body, now())), WebhookFailure::Stale { skew_seconds: 30 });
    assert!(verifier().with_max_age(Duration::from_secs(60)).verify(&body, now()).is_ok());
}

// ---------------------------------------------------------------- adapter

#[tokio::test]
async fn the_adapter_lists_agents_with_team_names_and_voice_statuses() {
    let server = strict_server().await;
    Mock::given(method("GET"))
        .and(path("/v1/teams"))
        .and(exact_query(&[("per_page", "50")]))
        .and(header("authorization", basic_header().as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "teams": [
                {"id": 5, "name": "Support FR", "users": [{"id": 1}, {"id": 2}]},
                {"id": 6, "name": "VIP", "users": [{"id": 2}]}
            ],
            "meta": meta(1, None),
        })))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/users"))
        .and(exact_query(&[("per_page", "50")]))
        .and(header("authorization", basic_header().as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "users": [user_json(1, "available"), user_json(2, "custom"), user_json(3, "unavailable"),
                      {"id": 4, "name": "No status"}],
            "meta": meta(1, None),
        })))
        .expect(1)
        .mount(&server)
        .await;
    let provider = AircallProvider::from_config(config_for(&server)).unwrap();
    assert_eq!(provider.name(), "aircall");
    let agents = provider.list_agents().await.unwrap();
    let summary: Vec<(String, Vec<String>, Option<String>)> = agents
        .iter()
        .map(|a| {
            (a.id.to_string(), a.groups.clone(), a.status(Channel::Voice).map(|s| s.as_str().to_owned()))
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("1".into(), vec!["Support FR".into()], Some("available".into())),
            ("2".into(), vec!["Support FR".into(), "VIP".into()], Some("custom".into())),
            ("3".into(), vec![], Some("unavailable".into())),
            ("4".into(), vec![], None),
        ]
    );
    assert_eq!(agents[0].email.as_deref(), Some("agent1@example.com"));
    let groups = provider.list_groups().await.unwrap();
    assert_eq!(
        groups.iter().map(|g| (g.id.as_str(), g.name.as_str())).collect::<Vec<_>>(),
        vec![("5", "Support FR"), ("6", "VIP")]
    );
    server.verify().await;
}

#[tokio::test]
async fn the_adapter_writes_voice_statuses_and_refuses_what_aircall_cannot_set_before_sending() {
    let server = strict_server().await;
    Mock::given(method("PUT"))
        .and(path("/v1/users/12"))
        .and(header("authorization", basic_header().as_str()))
        .and(body_json(json!({"availability_status": "unavailable"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"user": user_json(12, "unavailable")})))
        .expect(1)
        .mount(&server)
        .await;
    let provider = AircallProvider::from_config(config_for(&server)).unwrap();
    provider.set_status("12", Channel::Voice, &NativeStatus::new("unavailable")).await.unwrap();

    let error = provider.set_status("12", Channel::Chat, &NativeStatus::new("available")).await.unwrap_err();
    assert!(matches!(&error, Error::InvalidInput { message, .. } if message.contains("voice")), "{error:?}");
    for native in ["offline", "in_call", "do_not_disturb", "Available", "always_opened"] {
        let error = provider.set_status("12", Channel::Voice, &NativeStatus::new(native)).await.unwrap_err();
        assert!(
            matches!(&error, Error::InvalidInput { message, .. } if message.contains(&format!("\"{native}\""))),
            "{native}: {error:?}"
        );
    }
    let error =
        provider.set_status("abc", Channel::Voice, &NativeStatus::new("available")).await.unwrap_err();
    assert!(
        matches!(&error, Error::InvalidInput { message, .. } if message.contains("\"abc\"")),
        "{error:?}"
    );
    // Nothing but the one valid PUT reached the server (the catch-all expects none).
    server.verify().await;
}

#[cfg(feature = "sim")]
mod on_the_simulator {
    use super::*;
    use deskbridge::http::Method;
    use deskbridge::sim::aircall::{
        AircallAvailabilityStatus, AircallSim, AircallSimConfig, AircallTeamSeed, AircallUserSeed,
    };

    #[tokio::test]
    async fn the_adapter_lists_agents_and_sets_a_status_on_the_simulator() {
        let mut users = AircallUserSeed::synthetic(55);
        users[0] = AircallUserSeed::new(1001, "Ada", "ada@example.com");
        let config = AircallSimConfig::new(users)
            .credentials(API_ID, API_TOKEN)
            .teams(vec![AircallTeamSeed { id: 9, name: "Night shift".into(), user_ids: vec![1001, 1055] }]);
        let sim = AircallSim::start(config).await.unwrap();
        let provider = AircallProvider::from_config(
            AircallConfig::basic(API_ID, API_TOKEN)
                .with_base_url(sim.base_url().as_str())
                .unwrap()
                .with_rate_limit(RateLimit::unlimited()),
        )
        .unwrap();

        let agents = provider.list_agents().await.unwrap();
        assert_eq!(agents.len(), 55);
        assert_eq!(agents[0].email.as_deref(), Some("ada@example.com"));
        assert_eq!(agents[0].groups, vec!["Night shift".to_owned()]);
        assert_eq!(agents[54].groups, vec!["Night shift".to_owned()]);
        assert_eq!(agents[1].status(Channel::Voice).map(NativeStatus::as_str), Some("unavailable"));
        assert_eq!(agents[2].status(Channel::Voice).map(NativeStatus::as_str), Some("custom"));

        let listing = sim.server().requests_matching(Method::GET, "/v2/users");
        assert_eq!(listing.len(), 2, "55 users at 50 per page");
        assert_eq!(listing[0].query_value("per_page").as_deref(), Some("50"));
        assert_eq!(listing[1].query_value("page").as_deref(), Some("2"));

        sim.server().clear_log();
        provider.set_status("1001", Channel::Voice, &NativeStatus::new("unavailable")).await.unwrap();
        let writes = sim.server().writes();
        assert_eq!(writes.len(), 1);
        assert_eq!(writes[0].method, Method::PUT);
        assert_eq!(writes[0].path, "/v1/users/1001");
        assert_eq!(writes[0].body_json(), Some(json!({"availability_status": "unavailable"})));
        assert_eq!(writes[0].header("authorization"), Some(basic_header().as_str()));
        assert_eq!(writes[0].status, Some(200));
        assert_eq!(sim.user(1001).unwrap().availability_status, AircallAvailabilityStatus::Unavailable);
        sim.shutdown().await;
    }

    #[tokio::test]
    async fn a_simulated_webhook_delivery_verifies_and_observes_the_status() {
        let sim = AircallSim::start(AircallSimConfig::new(AircallUserSeed::synthetic(2))).await.unwrap();
        let delivery = sim.user_event_delivery("user.closed.v2", 1002, WEBHOOK_TOKEN).unwrap();
        let event = verifier().verify(&delivery.body, Utc::now()).unwrap();
        match event.user_observation() {
            Some(UserObservation::Status { user_id, status, .. }) => {
                assert_eq!((user_id, status.as_str()), (1002, "unavailable"));
            }
            other => panic!("unexpected {other:?}"),
        }
        let forged = sim.user_event_delivery("user.closed.v2", 1002, "forged").unwrap();
        assert_eq!(rejection(verifier().verify(&forged.body, Utc::now())), WebhookFailure::BadSignature);
        sim.shutdown().await;
    }
}

// ---------------------------------------------------------------- provider fidelity

#[tokio::test]
async fn users_fall_back_from_v2_to_v1_with_a_404_and_remember_it() {
    let server = strict_server().await;
    Mock::given(method("GET"))
        .and(path("/v2/users"))
        .and(exact_query(&[("per_page", "50")]))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"error": "Not found", "troubleshoot": "Resource not found"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/users"))
        .and(exact_query(&[("per_page", "50")]))
        .and(header("authorization", basic_header().as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "users": [user_json(1, "available")], "meta": meta(1, None),
        })))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/users/1"))
        .and(exact_query(&[]))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"user": user_json(1, "available")})))
        .expect(1)
        .mount(&server)
        .await;
    let client = client_for(&server);
    assert_eq!(client.users_api_version(), None);
    assert_eq!(client.list_users().await.unwrap().len(), 1);
    assert_eq!(client.users_api_version(), Some(1));
    // Remembered by clones: straight to v1, for the listing and for one user.
    assert_eq!(client.clone().list_users().await.unwrap().len(), 1);
    assert_eq!(client.user(1).await.unwrap().id, 1);
}

#[tokio::test]
async fn a_v2_404_for_one_user_that_v1_knows_switches_to_v1() {
    let server = strict_server().await;
    Mock::given(method("GET"))
        .and(path("/v2/users/5"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"error": "Not found"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/users/5"))
        .and(exact_query(&[]))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"user": user_json(5, "unavailable")})))
        .expect(1)
        .mount(&server)
        .await;
    let client = client_for(&server);
    assert_eq!(client.user(5).await.unwrap().id, 5);
    assert_eq!(client.users_api_version(), Some(1));
}

#[tokio::test]
async fn the_pace_is_learned_from_x_aircallapi_limit_and_an_override_keeps_its_own() {
    let server = strict_server().await;
    let reset = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() + 60;
    Mock::given(method("GET"))
        .and(path("/v1/ping"))
        .and(exact_query(&[]))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("X-AircallApi-Limit", "120")
                .insert_header("X-AircallApi-Remaining", "119")
                .insert_header("X-AircallApi-Reset", reset.to_string().as_str())
                .set_body_json(json!({"ping": "pong"})),
        )
        .expect(2)
        .mount(&server)
        .await;
    let learning = AircallClient::new(
        AircallConfig::basic(API_ID, API_TOKEN)
            .with_base_url(server.uri())
            .unwrap()
            .with_retry(fast_retries()),
    )
    .unwrap();
    let limiter = learning.api().rate_limiter();
    assert_eq!(limiter.current_rate(), RateLimit::per_minute(60), "conservative until Aircall speaks");
    learning.ping().await.unwrap();
    assert_eq!(limiter.current_rate(), RateLimit::per_minute(120));

    let fixed = AircallClient::new(
        AircallConfig::basic(API_ID, API_TOKEN)
            .with_base_url(server.uri())
            .unwrap()
            .with_rate_limit(RateLimit::per_minute(30)),
    )
    .unwrap();
    fixed.ping().await.unwrap();
    assert_eq!(fixed.api().rate_limiter().current_rate(), RateLimit::per_minute(30));
}

#[cfg(feature = "sim")]
#[tokio::test]
async fn on_the_simulator_users_come_from_v2_or_v1_and_the_limit_is_learned() {
    use deskbridge::http::Method;
    use deskbridge::sim::RateLimitRule;
    use deskbridge::sim::aircall::{AircallSim, AircallSimConfig, AircallUserSeed};
    let seeds: Vec<AircallUserSeed> =
        (1..=3).map(|i| AircallUserSeed::new(i, format!("Agent {i}"), format!("a{i}@example.com"))).collect();
    let sim = AircallSim::start(AircallSimConfig::new(seeds).rate_limit(RateLimitRule::per_minute(120)))
        .await
        .unwrap();
    let config = || {
        AircallConfig::basic(AircallSimConfig::DEFAULT_API_ID, AircallSimConfig::DEFAULT_API_TOKEN)
            .with_base_url(sim.base_url().as_str())
            .unwrap()
    };
    let client = AircallClient::new(config()).unwrap();
    assert_eq!(client.list_users().await.unwrap().len(), 3);
    assert_eq!(client.users_api_version(), Some(2));
    assert_eq!(client.api().rate_limiter().current_rate(), RateLimit::per_minute(120));
    let v2 = sim.server().requests_matching(Method::GET, "/v2/users");
    assert_eq!(v2.len(), 1);

    sim.set_users_v2(false);
    let fresh = AircallClient::new(config()).unwrap();
    assert_eq!(fresh.list_users().await.unwrap().len(), 3);
    assert_eq!(fresh.users_api_version(), Some(1));
    assert_eq!(sim.server().requests_matching(Method::GET, "/v1/users").len(), 1);
}
