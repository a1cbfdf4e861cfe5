//! Contract tests of the webhook set-up helpers against a strict wiremock server (any
//! unexpected request answers 500 naming it): the exact method, path, query, body and
//! authentication of every call, and idempotency (an existing webhook is reused).
#![cfg(all(feature = "aircall", feature = "zendesk", feature = "twitter"))]

use crate::common;

use common::mock::strict_server;
use deskbridge::Error;
use deskbridge::aircall::{AircallClient, AircallConfig};
use deskbridge::http::RateLimit;
use deskbridge::twitter::XWebhookSetup;
use deskbridge::twitter::{XClient, XConfig};
use deskbridge::zendesk::{ZendeskAuth, ZendeskClient, ZendeskConfig};
use secrecy::ExposeSecret;
use serde_json::json;
use url::Url;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const URL: &str = "https://bridge.example.com/webhooks/x";

fn aircall(server: &MockServer) -> AircallClient {
    AircallClient::new(
        AircallConfig::basic("api-id", "api-token")
            .with_base_url(server.uri())
            .unwrap()
            .with_rate_limit(RateLimit::unlimited()),
    )
    .unwrap()
}

fn zendesk(server: &MockServer) -> ZendeskClient {
    ZendeskClient::new(
        ZendeskConfig::for_base_url(Url::parse(&server.uri()).unwrap(), ZendeskAuth::oauth("zd-oauth-token"))
            .with_rate_limit(RateLimit::unlimited()),
    )
    .unwrap()
}

fn x(server: &MockServer) -> XWebhookSetup {
    let config = XConfig::with_user_token("42", "x-user-token")
        .with_base_url(Url::parse(&server.uri()).unwrap())
        .unwrap();
    XWebhookSetup::new(XClient::new(config.clone()).unwrap()).with_app_bearer(&config, "x-app-token").unwrap()
}

#[tokio::test]
async fn aircall_creates_the_webhook_once_and_returns_its_token() {
    let server = strict_server().await;
    // Basic base64("api-id:api-token").
    let basic = "Basic YXBpLWlkOmFwaS10b2tlbg==";
    Mock::given(method("GET"))
        .and(path("/v1/webhooks"))
        .and(query_param("per_page", "50"))
        .and(header("authorization", basic))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "webhooks": [{"webhook_id": "aaaa", "url": "https://other.example.com/hook", "active": true,
                          "events": [], "token": "other-token"}],
            "meta": {"count": 1, "total": 1, "current_page": 1, "per_page": 50, "next_page_link": null}
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/webhooks"))
        .and(header("authorization", basic))
        .and(body_json(json!({"custom_name": "deskbridge", "url": "https://bridge.example.com/webhooks/aircall",
                              "events": ["user.opened.v2", "user.closed.v2"]})))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"webhook": {
            "webhook_id": "5c0e-uuid", "url": "https://bridge.example.com/webhooks/aircall", "active": true,
            "events": ["user.opened.v2", "user.closed.v2"], "token": "S3CR3T-aircall-hook", "created_at": "2026-01-01T00:00:00Z"
        }})))
        .expect(1)
        .mount(&server)
        .await;
    let events = vec!["user.opened.v2".to_owned(), "user.closed.v2".to_owned()];
    let ensured = aircall(&server)
        .ensure_webhook("deskbridge", "https://bridge.example.com/webhooks/aircall", &events)
        .await
        .unwrap();
    assert!(ensured.created);
    assert_eq!(ensured.webhook.webhook_id, "5c0e-uuid");
    assert_eq!(ensured.webhook.token.as_ref().unwrap().expose_secret(), "S3CR3T-aircall-hook");
    assert!(!format!("{ensured:?}").contains("S3CR3T"), "the token stays out of Debug");
}

#[tokio::test]
async fn aircall_reuses_an_existing_webhook_and_refuses_one_without_a_token() {
    let server = strict_server().await;
    Mock::given(method("GET"))
        .and(path("/v1/webhooks"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "webhooks": [{"webhook_id": "w1", "url": "https://bridge.example.com/webhooks/aircall/", "token": "tok"},
                         {"webhook_id": "w2", "url": "https://bridge.example.com/no-token"}],
            "meta": {"next_page_link": null}
        })))
        .expect(2)
        .mount(&server)
        .await;
    let client = aircall(&server);
    let found = client
        .ensure_webhook("deskbridge", "https://bridge.example.com/webhooks/aircall", &[])
        .await
        .unwrap();
    assert!(!found.created, "same URL (trailing slash aside): reused, nothing posted");
    let error =
        client.ensure_webhook("deskbridge", "https://bridge.example.com/no-token", &[]).await.unwrap_err();
    assert!(matches!(error, Error::Decode { .. }), "{error:?}");
}

#[tokio::test]
async fn zendesk_creates_an_event_subscribed_webhook_and_reads_its_signing_secret() {
    let server = strict_server().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/webhooks"))
        .and(query_param("page[size]", "100"))
        .and(header("authorization", "Bearer zd-oauth-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "webhooks": [], "meta": {"has_more": false, "after_cursor": null}, "links": {"next": null}
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v2/webhooks"))
        .and(header("authorization", "Bearer zd-oauth-token"))
        .and(body_json(json!({"webhook": {
            "name": "deskbridge agent status", "status": "active",
            "endpoint": "https://bridge.example.com/webhooks/zendesk", "http_method": "POST",
            "request_format": "json",
            "subscriptions": ["zen:event-type:agent.unified_state_changed", "zen:event-type:agent.state_changed"]
        }})))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"webhook": {
            "id": "01GXWEBHOOK", "name": "deskbridge agent status", "status": "active",
            "endpoint": "https://bridge.example.com/webhooks/zendesk", "http_method": "POST", "request_format": "json",
            "subscriptions": ["zen:event-type:agent.unified_state_changed", "zen:event-type:agent.state_changed"]
        }})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/webhooks/01GXWEBHOOK/signing_secret"))
        .and(header("authorization", "Bearer zd-oauth-token"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"signing_secret": {"algorithm": "SHA256", "secret": "S3CR3T-zd-signing"}}),
            ),
        )
        .expect(1)
        .mount(&server)
        .await;
    let ensured = zendesk(&server)
        .ensure_status_webhook("deskbridge agent status", "https://bridge.example.com/webhooks/zendesk")
        .await
        .unwrap();
    assert!(ensured.created);
    assert_eq!(ensured.signing_secret.expose_secret(), "S3CR3T-zd-signing");
}

#[tokio::test]
async fn zendesk_refuses_to_reuse_a_webhook_missing_a_subscription() {
    let server = strict_server().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/webhooks"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "webhooks": [{"id": "01TRIGGER", "endpoint": "https://bridge.example.com/webhooks/zendesk",
                          "subscriptions": ["conditional_ticket_events"]}],
            "meta": {"has_more": false}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let error = zendesk(&server)
        .ensure_status_webhook("deskbridge", "https://bridge.example.com/webhooks/zendesk")
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Config(m) if m.contains("01TRIGGER") && m.contains("unified_state_changed")),
        "{error}"
    );
}

#[tokio::test]
async fn x_registers_with_the_user_token_lists_with_the_app_token_and_subscribes() {
    let server = strict_server().await;
    Mock::given(method("GET"))
        .and(path("/2/webhooks"))
        .and(header("authorization", "Bearer x-app-token"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"data": [], "meta": {"result_count": 0}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/2/webhooks"))
        .and(header("authorization", "Bearer x-user-token"))
        .and(body_json(json!({"url": URL})))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"data": {"id": "1700000000000000001", "url": URL, "valid": true, "created_at": "2026-01-01T00:00:00.000Z"}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let subscription = "/2/account_activity/webhooks/1700000000000000001/subscriptions/all";
    Mock::given(method("GET"))
        .and(path(subscription))
        .and(header("authorization", "Bearer x-user-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {"subscribed": false}})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(subscription))
        .and(header("authorization", "Bearer x-user-token"))
        .and(body_json(json!({})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {"subscribed": true}})))
        .expect(1)
        .mount(&server)
        .await;
    let ensured = x(&server).ensure(URL).await.unwrap();
    assert!(ensured.created && ensured.subscribed_now);
    assert_eq!(ensured.webhook.id, "1700000000000000001");
}

#[tokio::test]
async fn x_without_an_app_token_does_not_register_blindly() {
    let server = strict_server().await;
    let config = XConfig::with_user_token("42", "x-user-token")
        .with_base_url(Url::parse(&server.uri()).unwrap())
        .unwrap();
    let setup = XWebhookSetup::new(XClient::new(config).unwrap());
    assert!(matches!(setup.ensure(URL).await, Err(Error::Config(_))));
    assert!(setup.register(&"x".repeat(201)).await.is_err(), "over the documents' 200 characters");
}
