//! Contract tests of the X client, adapter, OAuth 1.0a signer and webhooks against a
//! strict local wiremock server (any unexpected request answers 500 naming it).
#![cfg(feature = "twitter")]

use crate::common;

use common::mock::strict_server;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use deskbridge::Error;
use deskbridge::WebhookFailure;
use deskbridge::http::{Method, RetryPolicy};
use deskbridge::ports::{MessageKind, MessageSource};
use deskbridge::twitter::{OAuth1Credentials, OAuth1Signer, percent_encode, signature_base_string};
use deskbridge::twitter::{XClient, XConfig, XSource, XSourceOptions};
use deskbridge::twitter::{XWebhook, crc_response_token, parse_account_activity, signature};
use serde_json::{Value, json};
use url::Url;
use wiremock::matchers::{body_json, header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const TOKEN: &str = "S3CR3T-x-user-token-77aa";
const OWN: &str = "1456789012345678901";

fn config(server: &MockServer) -> XConfig {
    XConfig::with_user_token(OWN, TOKEN).with_base_url(Url::parse(&server.uri()).unwrap()).unwrap()
}

fn client(server: &MockServer) -> XClient {
    XClient::new(config(server)).unwrap()
}

fn dm_page(events: Value, next: Option<&str>) -> Value {
    let mut meta = json!({ "result_count": events.as_array().map_or(0, Vec::len) });
    if let Some(next) = next {
        meta["next_token"] = json!(next);
    }
    json!({
        "data": events,
        "includes": {
            "users": [
                { "id": "2244994945", "username": "alice_w", "name": "Alice Walker" },
                { "id": OWN, "username": "acme_support", "name": "Acme Support" }
            ],
            "media": [ { "media_key": "3_99", "type": "photo", "url": "https://pbs.twimg.com/media/box.jpg" },
                       { "media_key": "16_98", "type": "animated_gif", "preview_image_url": "https://pbs.twimg.com/gif.jpg" } ]
        },
        "meta": meta
    })
}

fn dm(id: &str, sender: &str, text: &str, at: &str) -> Value {
    json!({ "id": id, "event_type": "MessageCreate", "text": text, "sender_id": sender,
            "dm_conversation_id": format!("2244994945-{OWN}"), "created_at": at, "unknown_field": [1, 2] })
}

async fn mount_dm_events(server: &MockServer, token: Option<&str>, body: Value) {
    let mut mock = Mock::given(method("GET"))
        .and(path("/2/dm_events"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(query_param("event_types", "MessageCreate"))
        .and(query_param(
            "dm_event.fields",
            "id,text,event_type,created_at,sender_id,dm_conversation_id,attachments,referenced_tweets",
        ))
        .and(query_param("expansions", "sender_id,attachments.media_keys"))
        .and(query_param("media.fields", "media_key,url,preview_image_url,type"))
        .and(query_param("user.fields", "id,username,name"))
        .and(query_param("max_results", "100"));
    mock = match token {
        Some(token) => mock.and(query_param("pagination_token", token)),
        None => mock.and(query_param_is_missing("pagination_token")),
    };
    mock.respond_with(ResponseTemplate::new(200).set_body_json(body)).mount(server).await;
}

async fn mount_mentions(server: &MockServer, since: Option<&str>, token: Option<&str>, body: Value) {
    let mut mock = Mock::given(method("GET"))
        .and(path(format!("/2/users/{OWN}/mentions")))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(query_param(
            "tweet.fields",
            "id,text,created_at,author_id,conversation_id,in_reply_to_user_id,referenced_tweets,attachments",
        ))
        .and(query_param("expansions", "author_id,attachments.media_keys"))
        .and(query_param("media.fields", "media_key,url,preview_image_url,type"))
        .and(query_param("user.fields", "id,username,name"))
        .and(query_param("max_results", "100"));
    mock = match since {
        Some(since) => mock.and(query_param("since_id", since)),
        None => mock.and(query_param_is_missing("since_id")),
    };
    mock = match token {
        Some(token) => mock.and(query_param("pagination_token", token)),
        None => mock.and(query_param_is_missing("pagination_token")),
    };
    mock.respond_with(ResponseTemplate::new(200).set_body_json(body)).mount(server).await;
}

const DM_TOKEN_2: &str = "18dp3p1tgh0gg0ee1a0";

#[tokio::test]
async fn dm_events_follow_next_token_and_decode_tolerantly() {
    let server = strict_server().await;
    let mut photo = dm("1790000000000000003", "2244994945", "see photo", "2024-05-06T09:01:00.000Z");
    photo["attachments"] = json!({ "media_keys": ["3_99"] });
    mount_dm_events(&server, None, dm_page(json!([photo]), Some(DM_TOKEN_2))).await;
    mount_dm_events(
        &server,
        Some(DM_TOKEN_2),
        json!({ "data": [dm("1790000000000000001", "2244994945", "hi", "2024-05-06T09:00:00.000Z")],
                "meta": { "result_count": 1 } }),
    )
    .await;
    let client = client(&server);
    let first = client.dm_events_page(None, 100).await.unwrap();
    assert_eq!(first.meta.next_token.as_deref(), Some(DM_TOKEN_2));
    assert_eq!(first.data[0].attachments.as_ref().unwrap().media_keys, vec!["3_99"]);
    assert_eq!(first.includes.user("2244994945").unwrap().username.as_deref(), Some("alice_w"));
    use futures_util::StreamExt as _;
    let pages: Vec<_> = client.dm_event_pages(100).collect().await;
    assert_eq!(pages.len(), 2);
    let second = pages[1].as_ref().unwrap();
    assert!(second.includes.users.is_empty(), "includes may be absent");
    assert_eq!(second.data[0].id, "1790000000000000001");
}

#[tokio::test]
async fn mentions_send_since_id_and_follow_pages() {
    let server = strict_server().await;
    mount_mentions(
        &server,
        Some("100"),
        None,
        json!({ "data": [{ "id": "300", "text": "@acme_support hi", "author_id": "5",
                           "referenced_tweets": [{ "type": "replied_to", "id": "200" }] }],
                "meta": { "newest_id": "300", "oldest_id": "300", "result_count": 1, "next_token": "b26v89c19zqg8o3fo7" } }),
    )
    .await;
    mount_mentions(
        &server,
        Some("100"),
        Some("b26v89c19zqg8o3fo7"),
        json!({ "meta": { "result_count": 0 } }),
    )
    .await;
    let client = client(&server);
    use futures_util::StreamExt as _;
    let pages: Vec<_> = client.mention_pages(OWN, Some("100"), 100).collect().await;
    assert_eq!(pages.len(), 2);
    let first = pages[0].as_ref().unwrap();
    assert_eq!(first.data[0].replied_to(), Some("200"));
    assert!(pages[1].as_ref().unwrap().data.is_empty());
}

#[tokio::test]
async fn send_dm_and_reply_post_the_documented_bodies() {
    let server = strict_server().await;
    Mock::given(method("POST"))
        .and(path("/2/dm_conversations/with/2244994945/messages"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({ "text": "We're on it" })))
        .respond_with(ResponseTemplate::new(201).set_body_json(
            json!({ "data": { "dm_conversation_id": format!("2244994945-{OWN}"), "dm_event_id": "1790000000000000009" } }),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/2/tweets"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(body_json(json!({ "text": "@carol_c fixed!", "reply": { "in_reply_to_tweet_id": "1790000000000000100" } })))
        .respond_with(ResponseTemplate::new(201).set_body_json(
            json!({ "data": { "id": "1790000000000000200", "text": "@carol_c fixed!", "edit_history_tweet_ids": ["1790000000000000200"] } }),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let source = XSource::from_config(config(&server)).unwrap();
    assert_eq!(source.send_direct_message("2244994945", "We're on it").await.unwrap(), "1790000000000000009");
    assert_eq!(
        source.reply_publicly("1790000000000000100", "@carol_c fixed!").await.unwrap(),
        "1790000000000000200"
    );
    assert!(matches!(source.send_direct_message("2244994945", "").await, Err(Error::InvalidInput { .. })));
}

#[tokio::test]
async fn a_429_waits_for_x_rate_limit_reset_then_succeeds() {
    let server = strict_server().await;
    let reset = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() + 2;
    Mock::given(method("GET"))
        .and(path("/2/dm_events"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("x-rate-limit-limit", "300")
                .insert_header("x-rate-limit-remaining", "0")
                .insert_header("x-rate-limit-reset", reset.to_string().as_str())
                .set_body_json(json!({ "title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429 })),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/2/dm_events"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "meta": { "result_count": 0 } })))
        .with_priority(2)
        .mount(&server)
        .await;
    let started = Instant::now();
    let page = client(&server).dm_events_page(None, 100).await.unwrap();
    assert!(page.data.is_empty());
    assert!(started.elapsed() >= Duration::from_millis(900), "waited {:?}", started.elapsed());
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_429_with_a_distant_reset_fails_with_the_wait() {
    let server = strict_server().await;
    let reset = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() + 600;
    Mock::given(method("GET"))
        .and(path(format!("/2/users/{OWN}/mentions")))
        .respond_with(
            ResponseTemplate::new(429).insert_header("x-rate-limit-reset", reset.to_string().as_str()),
        )
        .mount(&server)
        .await;
    let error = client(&server).mentions_page(OWN, None, None, 100).await.unwrap_err();
    match error {
        Error::RateLimited { provider: "x", retry_after: Some(wait), .. } => {
            assert!(wait > Duration::from_secs(500), "{wait:?}")
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
}

#[tokio::test]
async fn decode_errors_name_the_json_path() {
    let server = strict_server().await;
    Mock::given(method("GET"))
        .and(path("/2/dm_events"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({ "data": [{ "id": "1", "event_type": "MessageCreate" }, { "id": { "oops": true } }] }),
        ))
        .mount(&server)
        .await;
    match client(&server).dm_events_page(None, 100).await.unwrap_err() {
        Error::Decode { provider: "x", json_path, context, .. } => {
            assert_eq!(json_path, "data[1].id");
            assert_eq!(context, "GET /2/dm_events");
        }
        other => panic!("expected Decode, got {other:?}"),
    }
}

#[tokio::test]
async fn secrets_stay_out_of_debug_display_and_errors() {
    let server = strict_server().await;
    Mock::given(method("POST"))
        .and(path("/2/tweets"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "title": "Unauthorized", "type": "about:blank", "status": 401,
            "detail": format!("token {TOKEN} is not valid")
        })))
        .mount(&server)
        .await;
    let config = config(&server);
    let error = XClient::new(config.clone()).unwrap().reply("1", "hi").await.unwrap_err();
    assert!(matches!(error, Error::Api { status: 401, .. }), "{error:?}");
    for text in [format!("{error}"), format!("{error:?}"), format!("{config:?}")] {
        assert!(!text.contains(TOKEN), "{text}");
    }
    let credentials = OAuth1Credentials::new("ck-SECRET1", "cs-SECRET2", "at-SECRET3", "ats-SECRET4");
    let oauth = XConfig::with_oauth1(OWN, credentials.clone());
    let signer = OAuth1Signer::new(credentials);
    for text in [format!("{oauth:?}"), format!("{signer:?}")] {
        for secret in ["ck-SECRET1", "cs-SECRET2", "at-SECRET3", "ats-SECRET4"] {
            assert!(!text.contains(secret), "{text}");
        }
    }
    use deskbridge::http::RequestSigner as _;
    assert_eq!(signer.redact("a cs-SECRET2 b at-SECRET3"), "a [redacted] b [redacted]");
    let webhook = XWebhook::new("consumer-SECRET").unwrap();
    assert!(!format!("{webhook:?}").contains("consumer-SECRET"));
}

// ---------------------------------------------------------------- OAuth 1.0a

/// The reference request of X's "Creating a signature" page (developer.x.com
/// /en/docs/authentication/oauth-1-0a/creating-a-signature): public documentation values.
fn reference_signer() -> OAuth1Signer {
    OAuth1Signer::new(OAuth1Credentials::new(
        "xvz1evFS4wEEPTGEFPHBog",
        "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw",
        "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb",
        "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE",
    ))
    .with_fixed_nonce("kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg", 1_318_622_958)
}

#[test]
fn oauth1_signature_matches_the_published_reference_vector() {
    let signer = reference_signer();
    let url = Url::parse("https://api.twitter.com/1.1/statuses/update.json?include_entities=true").unwrap();
    let body = [("status".to_owned(), "Hello Ladies + Gentlemen, a signed OAuth request!".to_owned())];
    let oauth = signer.oauth_params("kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg", 1_318_622_958);
    let base = signature_base_string(&Method::POST, &url, &body, &oauth).unwrap();
    assert_eq!(
        base,
        "POST&https%3A%2F%2Fapi.twitter.com%2F1.1%2Fstatuses%2Fupdate.json&include_entities%3Dtrue%26\
         oauth_consumer_key%3Dxvz1evFS4wEEPTGEFPHBog%26oauth_nonce%3DkYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg\
         %26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D1318622958%26oauth_token%3D370773112-\
         GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb%26oauth_version%3D1.0%26status%3DHello%2520Ladies%2520%252B\
         %2520Gentlemen%252C%2520a%2520signed%2520OAuth%2520request%2521"
    );
    assert_eq!(signer.signature(&Method::POST, &url, &body, &oauth).unwrap(), "hCtSmYh+iHYCEqBWrE7C7hYmtUk=");
    // The same parameters in the query string sign identically (the base string is the same).
    let in_query = Url::parse(
        "https://API.Twitter.com:443/1.1/statuses/update.json?status=Hello%20Ladies%20%2B%20Gentlemen%2C%20a%20signed%20OAuth%20request%21&include_entities=true",
    )
    .unwrap();
    assert_eq!(
        signer.signature(&Method::POST, &in_query, &[], &oauth).unwrap(),
        "hCtSmYh+iHYCEqBWrE7C7hYmtUk="
    );
    let header = signer.authorization_header(&Method::POST, &url, &body).unwrap();
    assert!(header.contains("oauth_signature=\"hCtSmYh%2BiHYCEqBWrE7C7hYmtUk%3D\""), "{header}");
    assert!(header.contains("oauth_token=\"370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb\""));
}

#[tokio::test]
async fn oauth1_requests_carry_a_signature_the_server_can_recompute() {
    let server = strict_server().await;
    let seen: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let record = Arc::clone(&seen);
    let origin = server.uri();
    Mock::given(method("GET"))
        .and(path(format!("/2/users/{OWN}/mentions")))
        .respond_with(move |request: &Request| {
            let auth = request.headers.get("authorization").unwrap().to_str().unwrap().to_owned();
            // wiremock rebuilds the URL with host `localhost`; the client signed its own origin.
            let signed_url =
                format!("{origin}{}?{}", request.url.path(), request.url.query().unwrap_or_default());
            record.lock().unwrap().push((signed_url, auth));
            ResponseTemplate::new(200).set_body_json(json!({ "meta": { "result_count": 0 } }))
        })
        .mount(&server)
        .await;
    let credentials = OAuth1Credentials::new("ck", "cs secret", "at", "ats");
    let config = XConfig::with_oauth1(OWN, credentials.clone())
        .with_base_url(Url::parse(&server.uri()).unwrap())
        .unwrap();
    let client = XClient::new(config).unwrap();
    client.mentions_page(OWN, Some("123"), None, 100).await.unwrap();
    client.mentions_page(OWN, Some("123"), None, 100).await.unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    let mut nonces = Vec::new();
    for (url, auth) in &seen {
        let params: Vec<(String, String)> = auth
            .strip_prefix("OAuth ")
            .unwrap()
            .split(", ")
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap();
                let v = v.trim_matches('"');
                (
                    k.to_owned(),
                    url::form_urlencoded::parse(format!("v={}", v.replace('+', "%2B")).as_bytes())
                        .next()
                        .unwrap()
                        .1
                        .into_owned(),
                )
            })
            .collect();
        let get = |k: &str| params.iter().find(|(n, _)| n == k).unwrap().1.clone();
        let nonce = get("oauth_nonce");
        let timestamp: u64 = get("oauth_timestamp").parse().unwrap();
        let signer = OAuth1Signer::new(credentials.clone());
        let url = Url::parse(url).unwrap();
        let expected =
            signer.signature(&Method::GET, &url, &[], &signer.oauth_params(&nonce, timestamp)).unwrap();
        assert_eq!(get("oauth_signature"), expected, "{url} {auth}");
        assert_eq!(get("oauth_consumer_key"), "ck");
        nonces.push(nonce);
    }
    assert_ne!(nonces[0], nonces[1], "every request gets a fresh nonce");
    assert_eq!(percent_encode("cs secret"), "cs%20secret");
}

// ---------------------------------------------------------------- webhooks

#[test]
fn crc_and_signature_match_independently_computed_vectors() {
    // python3 -c "import hmac,hashlib,base64;print(base64.b64encode(hmac.new(b'consumer-secret',b'crc-token-123',hashlib.sha256).digest()).decode())"
    assert_eq!(
        crc_response_token("consumer-secret", "crc-token-123"),
        "sha256=pqNVCku98klY+uShlb3Xa/LIgd2B2xq7EveP37yRYOI="
    );
    // Same command with key b'kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw' and message b'challenge_string'.
    let webhook = XWebhook::new("kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw").unwrap();
    assert_eq!(
        serde_json::to_value(webhook.crc_response("challenge_string").unwrap()).unwrap(),
        json!({ "response_token": "sha256=nlBfoc+sYi739ivT57rTKKl7OQM8PcJSNybJqfjoBUk=" })
    );
    assert!(webhook.crc_response("").is_err());
    // Same command with key b'consumer-secret' and the body below.
    let body = br#"{"for_user_id":"1","tweet_create_events":[]}"#;
    assert_eq!(signature("consumer-secret", body), "sha256=RyDkCgoxlGUJRQ0A4jDZ0FM8elNswwj9zgfMmzQwrHQ=");
}

#[test]
fn signature_verification_rejects_missing_wrong_and_tampered() {
    let webhook = XWebhook::new("consumer-secret").unwrap();
    let body = br#"{"for_user_id":"1","tweet_create_events":[]}"#;
    let good = "sha256=RyDkCgoxlGUJRQ0A4jDZ0FM8elNswwj9zgfMmzQwrHQ=";
    webhook.verify(Some(good), body).unwrap();
    let reject = |header: Option<&str>, body: &[u8]| match webhook.verify(header, body) {
        Err(Error::WebhookVerification { provider: "x", failure }) => failure,
        other => panic!("expected a webhook rejection, got {other:?}"),
    };
    assert!(matches!(reject(None, body), WebhookFailure::Missing(_)));
    assert_eq!(reject(Some("sha256=AAAA"), body), WebhookFailure::BadSignature);
    assert_eq!(
        reject(Some("RyDkCgoxlGUJRQ0A4jDZ0FM8elNswwj9zgfMmzQwrHQ="), body),
        WebhookFailure::BadSignature
    );
    assert_eq!(reject(Some("sha256=not base64!"), body), WebhookFailure::BadSignature);
    assert_eq!(
        reject(Some(good), br#"{"for_user_id":"2","tweet_create_events":[]}"#),
        WebhookFailure::BadSignature
    );
    assert!(matches!(
        XWebhook::new("other-secret").unwrap().verify(Some(good), body),
        Err(Error::WebhookVerification { failure: WebhookFailure::BadSignature, .. })
    ));
}

#[test]
fn account_activity_dms_and_mentions_parse_into_inbound_messages() {
    let body = json!({
        "for_user_id": OWN,
        "direct_message_events": [
            { "type": "message_create", "id": "1790000000000000005", "created_timestamp": "1714986060000",
              "message_create": { "target": { "recipient_id": OWN }, "sender_id": "2244994945", "source_app_id": "1",
                "message_data": { "text": "box photo https://t.co/x", "entities": {},
                  "attachment": { "type": "media", "media": { "id_str": "99", "type": "photo",
                    "media_url_https": "https://ton.twitter.com/1.1/ton/data/dm/box.jpg" } } } } },
            { "type": "message_create", "id": "1790000000000000006", "created_timestamp": "1714986120000",
              "message_create": { "target": { "recipient_id": "2244994945" }, "sender_id": OWN,
                "message_data": { "text": "our own answer" } } },
            { "type": "some_future_event", "id": "7" }
        ],
        "users": {
            "2244994945": { "id": "2244994945", "name": "Alice Walker", "screen_name": "alice_w", "extra": 1 }
        },
        "tweet_create_events": [
            { "created_at": "Mon May 06 09:20:00 +0000 2024", "id": 1790000000000000100u64, "id_str": "1790000000000000100",
              "text": "@acme_support the app crashes", "in_reply_to_status_id_str": "1790000000000000050",
              "in_reply_to_user_id_str": OWN,
              "user": { "id": 1470000000000000042u64, "id_str": "1470000000000000042", "name": "Carol Chen", "screen_name": "carol_c" },
              "entities": { "user_mentions": [ { "id_str": OWN, "screen_name": "acme_support" } ] },
              "extended_entities": { "media": [ { "type": "animated_gif", "media_url_https": "https://pbs.twimg.com/tweet_video_thumb/x.jpg" } ] } },
            { "created_at": "Mon May 06 09:30:00 +0000 2024", "id_str": "1790000000000000101", "text": "@carol_c ours",
              "user": { "id_str": OWN, "screen_name": "acme_support" },
              "entities": { "user_mentions": [ { "id_str": "1470000000000000042" } ] } },
            { "created_at": "Mon May 06 09:31:00 +0000 2024", "id_str": "1790000000000000102", "text": "RT @acme_support: news",
              "user": { "id_str": "5" }, "retweeted_status": { "id_str": "1" },
              "entities": { "user_mentions": [ { "id_str": OWN } ] } },
            { "created_at": "Mon May 06 09:32:00 +0000 2024", "id_str": "1790000000000000103", "text": "unrelated",
              "user": { "id_str": "5" }, "entities": { "user_mentions": [] } }
        ]
    });
    let activity = parse_account_activity(body.to_string().as_bytes()).unwrap();
    assert_eq!(activity.for_user_id, OWN);
    assert_eq!(activity.ignored, 5);
    assert_eq!(activity.messages.len(), 2);
    let dm = &activity.messages[0];
    assert_eq!(dm.kind, MessageKind::DirectMessage);
    assert_eq!(dm.id, "1790000000000000005");
    assert_eq!(dm.author_id, "2244994945");
    assert_eq!(dm.author_handle.as_deref(), Some("alice_w"));
    assert_eq!(dm.author_name.as_deref(), Some("Alice Walker"));
    assert_eq!(dm.created_at.to_rfc3339(), "2024-05-06T09:01:00+00:00");
    assert_eq!(dm.media[0].kind, "photo");
    let mention = &activity.messages[1];
    assert_eq!(mention.kind, MessageKind::Mention);
    assert_eq!(mention.author_handle.as_deref(), Some("carol_c"));
    assert_eq!(mention.in_reply_to.as_deref(), Some("1790000000000000050"));
    assert_eq!(mention.created_at.to_rfc3339(), "2024-05-06T09:20:00+00:00");
    assert_eq!(mention.media[0].url, "https://pbs.twimg.com/tweet_video_thumb/x.jpg");

    for bad in [
        &b"not json"[..],
        br#"{"direct_message_events":[]}"#,
        br#"{"for_user_id":"1","tweet_create_events":{}}"#,
    ] {
        assert!(
            matches!(parse_account_activity(bad), Err(Error::WebhookVerification { provider: "x", .. })),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
}

// ---------------------------------------------------------------- adapter

#[tokio::test]
async fn fetch_returns_oldest_first_then_nothing_new_with_the_cursor() {
    let server = strict_server().await;
    let mut photo = dm("1790000000000000003", "2244994945", "see photo", "2024-05-06T09:01:00.000Z");
    photo["attachments"] = json!({ "media_keys": ["3_99", "3_missing"] });
    let events = json!([
        dm("1790000000000000004", OWN, "our answer", "2024-05-06T09:10:00.000Z"),
        photo,
        { "id": "1790000000000000002", "event_type": "ParticipantsJoin", "participant_ids": ["9"] },
        dm("1790000000000000001", "2244994945", "hi", "2024-05-06T09:00:00.000Z"),
    ]);
    mount_dm_events(&server, None, dm_page(events, None)).await;
    mount_mentions(
        &server,
        None,
        None,
        json!({
            "data": [
                { "id": "1790000000000000101", "text": "@acme_support RT", "author_id": "5", "created_at": "2024-05-06T09:45:00.000Z",
                  "referenced_tweets": [{ "type": "retweeted", "id": "1" }] },
                { "id": "1790000000000000100", "text": "@acme_support help", "author_id": "5",
                  "created_at": "2024-05-06T09:05:00.000Z", "conversation_id": "1790000000000000050",
                  "referenced_tweets": [{ "type": "replied_to", "id": "1790000000000000050" }],
                  "attachments": { "media_keys": ["16_98"] } }
            ],
            "includes": { "users": [{ "id": "5", "username": "bob_builds", "name": "Bob" }],
                          "media": [{ "media_key": "16_98", "type": "animated_gif", "preview_image_url": "https://pbs.twimg.com/gif.jpg" }] },
            "meta": { "newest_id": "1790000000000000101", "oldest_id": "1790000000000000100", "result_count": 2 }
        }),
    )
    .await;
    let source = XSource::from_config(config(&server)).unwrap();
    assert_eq!(source.name(), "x");
    assert_eq!(source.own_user_id(), OWN);
    let batch = source.fetch(&Value::Null).await.unwrap();
    let ids: Vec<&str> = batch.messages.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(
        ids,
        ["1790000000000000001", "1790000000000000003", "1790000000000000100", "1790000000000000004"]
    );
    let photo = &batch.messages[1];
    assert_eq!(photo.author_handle.as_deref(), Some("alice_w"));
    assert_eq!(photo.media.len(), 1, "unknown media keys are skipped");
    assert_eq!(photo.media[0].url, "https://pbs.twimg.com/media/box.jpg");
    let mention = &batch.messages[2];
    assert_eq!(mention.kind, MessageKind::Mention);
    assert_eq!(mention.in_reply_to.as_deref(), Some("1790000000000000050"));
    assert_eq!(mention.media[0].kind, "animated_gif");
    assert_eq!(mention.media[0].url, "https://pbs.twimg.com/gif.jpg");
    assert_eq!(batch.messages[3].author_id, OWN, "own DMs are returned; the inbox skips them");
    assert_eq!(
        batch.cursor,
        json!({ "dm_newest": "1790000000000000004", "mention_since_id": "1790000000000000101" })
    );

    // Second fetch: X lists the same DM events again (no since parameter); mentions use since_id.
    mount_mentions(&server, Some("1790000000000000101"), None, json!({ "meta": { "result_count": 0 } }))
        .await;
    let again = source.fetch(&batch.cursor).await.unwrap();
    assert!(again.messages.is_empty(), "{:?}", again.messages);
    assert_eq!(again.cursor, batch.cursor);

    assert!(matches!(source.fetch(&json!("garbage")).await, Err(Error::InvalidInput { .. })));
}

#[tokio::test]
async fn a_failure_midway_fails_the_fetch_instead_of_returning_a_partial_cursor() {
    let server = strict_server().await;
    mount_dm_events(
        &server,
        None,
        dm_page(
            json!([dm("1790000000000000010", "2244994945", "new", "2024-05-06T10:00:00.000Z")]),
            Some(DM_TOKEN_2),
        ),
    )
    .await;
    Mock::given(method("GET"))
        .and(path("/2/dm_events"))
        .and(query_param("pagination_token", DM_TOKEN_2))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "errors": [{ "message": "bad token" }], "title": "Invalid Request", "detail": "bad token",
            "type": "https://api.twitter.com/2/problems/invalid-request" })))
        .mount(&server)
        .await;
    let source = XSource::from_config(config(&server).with_retry(RetryPolicy::never())).unwrap();
    let cursor = json!({ "dm_newest": "1790000000000000001", "mention_since_id": "5" });
    let error = source.fetch(&cursor).await.unwrap_err();
    assert!(matches!(error, Error::Api { provider: "x", status: 400, .. }), "{error:?}");
}

#[tokio::test]
async fn reaching_the_page_bound_before_the_cursor_is_an_error_not_a_gap() {
    let server = strict_server().await;
    mount_dm_events(
        &server,
        None,
        dm_page(
            json!([dm("1790000000000000010", "2244994945", "new", "2024-05-06T10:00:00.000Z")]),
            Some(DM_TOKEN_2),
        ),
    )
    .await;
    let source = XSource::from_config(config(&server))
        .unwrap()
        .with_options(XSourceOptions { page_size: 100, max_pages: 1 });
    let cursor = json!({ "dm_newest": "1790000000000000001", "mention_since_id": null });
    let error = source.fetch(&cursor).await.unwrap_err();
    assert!(error.to_string().contains("max_pages"), "{error}");

    // On the first run the bound is where history starts: no error.
    mount_mentions(&server, None, None, json!({ "meta": { "result_count": 0 } })).await;
    let first = source.fetch(&Value::Null).await.unwrap();
    assert_eq!(first.messages.len(), 1);
    assert_eq!(first.cursor["dm_newest"], "1790000000000000010");
    assert_eq!(first.cursor["mention_since_id"], Value::Null);
}

#[test]
fn the_webhook_refuses_a_blank_consumer_secret() {
    for secret in ["", " \t"] {
        assert!(matches!(XWebhook::new(secret), Err(Error::Config(_))), "{secret:?}");
    }
}

/// X's answer when a query names a field its current document does not know.
fn invalid_field_problem(parameter: &str, value: &str) -> Value {
    json!({
        "errors": [{
            "parameters": { parameter: [value] },
            "message": format!("The `{parameter}` query parameter value [{value}] is not one of [id,text]")
        }],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": "https://api.twitter.com/2/problems/invalid-request"
    })
}

#[tokio::test]
async fn a_400_about_the_fields_switches_to_the_v2_167_vocabulary_once_and_for_good() {
    let server = strict_server().await;
    Mock::given(method("GET"))
        .and(path(format!("/2/users/{OWN}/mentions")))
        .and(query_param("tweet.fields", deskbridge::twitter::TWEET_FIELDS))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(invalid_field_problem("tweet.fields", "author_id")),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/2/users/{OWN}/mentions")))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(query_param("post.fields", "id,text,created_at,conversation_id,attachments"))
        .and(query_param(
            "expansions",
            "author_id,in_reply_to_user_id,referenced_posts,attachments.media_keys",
        ))
        .and(query_param("media.fields", "media_key,url,preview_image_url,type"))
        .and(query_param("user.fields", "id,username,name"))
        .and(query_param("max_results", "100"))
        .and(query_param_is_missing("tweet.fields"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [{ "id": "1790000000000000002", "text": "@acme_support and?", "author_id": "2244994945",
                       "in_reply_to_user_id": OWN,
                       "referenced_posts": [{ "type": "replied_to", "id": "1790000000000000001" }] }],
            "includes": { "users": [{ "id": "2244994945", "username": "alice_w", "name": "Alice Walker" }] },
            "meta": { "result_count": 1 }
        })))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/2/dm_events"))
        .and(query_param("dm_event.fields", "id,text,event_type,created_at,dm_conversation_id,attachments"))
        .and(query_param("expansions", "sender_id,attachments.media_keys,referenced_posts"))
        .and(query_param("event_types", "MessageCreate"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [{ "id": "1790000000000000003", "event_type": "MessageCreate", "text": "hi",
                       "sender_id": "2244994945" }],
            "meta": { "result_count": 1 }
        })))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let page = client.mentions_page(OWN, None, None, 100).await.unwrap();
    assert_eq!(page.data[0].author_id.as_deref(), Some("2244994945"));
    assert_eq!(page.data[0].replied_to(), Some("1790000000000000001"));
    assert_eq!(client.field_set(), deskbridge::twitter::XFieldSet::V2_167);
    // Remembered: no second refusal, and the DM call uses the same vocabulary.
    client.clone().mentions_page(OWN, None, None, 100).await.unwrap();
    let dms = client.dm_events_page(None, 100).await.unwrap();
    assert_eq!(dms.data[0].sender_id.as_deref(), Some("2244994945"));
}

#[tokio::test]
async fn a_400_about_something_else_is_not_retried_and_a_fixed_vocabulary_never_switches() {
    let server = strict_server().await;
    Mock::given(method("GET"))
        .and(path(format!("/2/users/{OWN}/mentions")))
        .and(query_param("tweet.fields", deskbridge::twitter::TWEET_FIELDS))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "errors": [{ "message": "Could not find user with id: [1456789012345678901]." }],
            "title": "Invalid Request", "detail": "Could not find user.",
            "type": "https://api.twitter.com/2/problems/invalid-request"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let error = client(&server).mentions_page(OWN, None, None, 100).await.unwrap_err();
    assert!(matches!(error, Error::Api { status: 400, .. }), "{error:?}");

    let fixed_server = strict_server().await;
    Mock::given(method("GET"))
        .and(path("/2/dm_events"))
        .and(query_param("dm_event.fields", deskbridge::twitter::DM_EVENT_FIELDS))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(invalid_field_problem("dm_event.fields", "sender_id")),
        )
        .expect(1)
        .mount(&fixed_server)
        .await;
    let fixed = XClient::new(
        config(&fixed_server)
            .with_fields(deskbridge::twitter::XFields::Fixed(deskbridge::twitter::XFieldSet::V2_159)),
    )
    .unwrap();
    assert!(fixed.dm_events_page(None, 100).await.is_err());
    assert_eq!(fixed.field_set(), deskbridge::twitter::XFieldSet::V2_159);
}
