//! Contract tests of the HTTP layer against a local wiremock server: retries, errors,
//! secrets, URL joining, origin checks, decoding and authentication headers.

use crate::common;

use common::mock::strict_server;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use base64::Engine as _;
use deskbridge::Error;
use deskbridge::TransportFailure;
use deskbridge::http::{
    ApiClient, ApiRequest, Auth, DefaultErrorInterpreter, Method, RateLimit, RateLimitHeaders,
    ReqwestTransport, RetryPolicy,
};
use serde::Deserialize;
use url::Url;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, Request, ResponseTemplate};

const BASIC_SECRET: &str = "S3CR3T-basic-9f8e7d6c";
const BEARER_SECRET: &str = "S3CR3T-bearer-1a2b3c4d";

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_secs(5),
        max_total_wait: Duration::from_secs(10),
    }
}

fn client_for(base: &str, auth: Auth) -> ApiClient {
    ApiClient::builder("testprov", Url::parse(base).unwrap())
        .auth(auth)
        .retry_policy(fast_retries())
        .build()
        .unwrap()
}

fn basic() -> Auth {
    Auth::basic("agent@example.com/token", BASIC_SECRET)
}

fn bearer() -> Auth {
    Auth::bearer(BEARER_SECRET)
}

fn assert_no_secret(text: &str) {
    let encoded =
        base64::engine::general_purpose::STANDARD.encode(format!("agent@example.com/token:{BASIC_SECRET}"));
    assert!(!text.contains(BASIC_SECRET), "basic secret leaked: {text}");
    assert!(!text.contains(BEARER_SECRET), "bearer secret leaked: {text}");
    assert!(!text.contains(&encoded), "basic credential leaked: {text}");
    assert!(!text.contains("S3CR3T"), "secret prefix leaked: {text}");
}

/// `Display` and `Debug` of an error and of every error in its source chain.
fn chain_texts(error: &Error) -> Vec<String> {
    let mut texts = vec![error.to_string(), format!("{error:?}")];
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        texts.push(cause.to_string());
        texts.push(format!("{cause:?}"));
        source = cause.source();
    }
    texts
}

#[derive(Debug, Deserialize)]
struct Users {
    users: Vec<User>,
}

#[derive(Debug, Deserialize)]
struct User {
    #[allow(dead_code)]
    id: u64,
}

#[tokio::test]
async fn retry_after_one_second_then_success() {
    let server = strict_server().await;
    Mock::given(method("GET"))
        .and(path("/v1/users"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/users"))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"users":[{"id":1}]}"#))
        .expect(1)
        .mount(&server)
        .await;
    let client = client_for(&server.uri(), basic());
    let started = Instant::now();
    let users: Users = client.get_json("/v1/users").await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(900), "waited only {:?}", started.elapsed());
    assert_eq!(users.users.len(), 1);
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn post_503_is_not_retried() {
    let server = strict_server().await;
    Mock::given(method("POST"))
        .and(path("/create/ticket"))
        .respond_with(ResponseTemplate::new(503).set_body_string("busy"))
        .expect(1)
        .mount(&server)
        .await;
    let client = client_for(&server.uri(), Auth::None);
    let request = ApiRequest::post("/create/ticket").json(&serde_json::json!({"subject": "hi"})).unwrap();
    let error = client.send(request).await.unwrap_err();
    match &error {
        Error::Api { status, provider, context, message, .. } => {
            assert_eq!(*status, 503);
            assert_eq!(*provider, "testprov");
            assert_eq!(context, "POST /create/ticket");
            assert_eq!(message, "busy");
        }
        other => panic!("expected Error::Api, got {other:?}"),
    }
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn post_marked_retry_safe_is_retried_on_503() {
    let server = strict_server().await;
    Mock::given(method("POST"))
        .and(path("/create/ticket"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/create/ticket"))
        .and(header("idempotency-key", "dm-123"))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"ticket_id":7}"#))
        .expect(1)
        .mount(&server)
        .await;
    let client = client_for(&server.uri(), Auth::None);
    let request = ApiRequest::post("/create/ticket")
        .header("idempotency-key".parse().unwrap(), "dm-123".parse().unwrap())
        .retry_safe();
    assert_eq!(client.send(request).await.unwrap().status(), 200);
}

#[tokio::test]
async fn get_503_is_retried() {
    let server = strict_server().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/groups"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/groups"))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"groups":[]}"#))
        .expect(1)
        .mount(&server)
        .await;
    let client = client_for(&server.uri(), Auth::None);
    let body: serde_json::Value = client.get_json("/api/v2/groups").await.unwrap();
    assert_eq!(body["groups"], serde_json::json!([]));
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn secrets_never_appear_in_debug_or_errors() {
    let server = strict_server().await;
    // The server echoes whatever credential it received: raw header, and decoded.
    Mock::given(path("/echo401"))
        .respond_with(|request: &Request| {
            let received =
                request.headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
            let decoded = received
                .strip_prefix("Basic ")
                .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                .unwrap_or_default();
            let body = serde_json::json!({
                "error": "Unauthorized",
                "description": format!("bad credentials: header `{received}`, decoded `{decoded}`"),
            });
            ResponseTemplate::new(401).set_body_json(body)
        })
        .mount(&server)
        .await;
    Mock::given(path("/echo401text"))
        .respond_with(|request: &Request| {
            let received =
                request.headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
            ResponseTemplate::new(401).set_body_string(format!("{received} rejected"))
        })
        .mount(&server)
        .await;
    // A body whose wrong-typed value is the credential: serde quotes it in its message.
    Mock::given(path("/decode"))
        .respond_with(|request: &Request| {
            let received =
                request.headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
            let token = received.rsplit(' ').next().unwrap_or("").to_owned();
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(&token)
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                .unwrap_or_else(|_| token.clone());
            let password = decoded.rsplit(':').next().unwrap_or("").to_owned();
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"users": [{"id": password}]}))
        })
        .mount(&server)
        .await;
    Mock::given(path("/limited")).respond_with(ResponseTemplate::new(429)).mount(&server).await;

    // A port with nothing listening: connect failures.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };

    for auth in [basic(), bearer()] {
        let client = client_for(&server.uri(), auth.clone());
        let mut texts = vec![format!("{client:?}"), format!("{auth:?}")];
        let requests = [
            ApiRequest::get("/echo401"),
            ApiRequest::get("/echo401text"),
            ApiRequest::get("/limited").query("token", BEARER_SECRET),
        ];
        for request in requests {
            let error = client.send(request).await.unwrap_err();
            texts.extend(chain_texts(&error));
        }
        let decode = client.send_json::<Users>(ApiRequest::get("/decode")).await.unwrap_err();
        assert!(matches!(decode, Error::Decode { .. }), "{decode:?}");
        texts.extend(chain_texts(&decode));

        let offline =
            ApiClient::builder("testprov", Url::parse(&format!("http://127.0.0.1:{closed}")).unwrap())
                .auth(auth)
                .retry_policy(RetryPolicy::never())
                .build()
                .unwrap();
        let transport =
            offline.send(ApiRequest::get("/v1/users").query("api_token", BASIC_SECRET)).await.unwrap_err();
        assert!(
            matches!(transport, Error::Transport { failure: TransportFailure::Connect, .. }),
            "{transport:?}"
        );
        assert!(std::error::Error::source(&transport).is_some(), "the transport's own error is kept");
        texts.extend(chain_texts(&transport));
        texts.push(format!("{offline:?}"));

        for text in &texts {
            assert_no_secret(text);
        }
        assert!(texts.iter().any(|t| t.contains("[redacted]")), "echoed secrets are replaced, not dropped");
    }
}

#[tokio::test]
async fn rate_limited_when_429_retries_are_spent() {
    let server = strict_server().await;
    Mock::given(path("/2/dm_events"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "0"))
        .expect(3)
        .mount(&server)
        .await;
    let client = client_for(&server.uri(), bearer());
    let error = client.send(ApiRequest::get("/2/dm_events")).await.unwrap_err();
    assert!(matches!(error, Error::RateLimited { provider: "testprov", .. }), "{error:?}");
    assert!(error.is_transient());
}

#[tokio::test]
async fn rate_limited_carries_a_reset_hint_too_long_to_wait_for() {
    let server = strict_server().await;
    let reset = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs() + 900;
    Mock::given(path("/2/users/1/mentions"))
        .respond_with(
            ResponseTemplate::new(429).insert_header("x-rate-limit-reset", reset.to_string().as_str()),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = client_for(&server.uri(), bearer());
    let error = client.send(ApiRequest::get("/2/users/1/mentions")).await.unwrap_err();
    let hint = error.retry_after().expect("the reset time is reported");
    assert!(hint > Duration::from_secs(890) && hint <= Duration::from_secs(900), "{hint:?}");
}

#[tokio::test]
async fn base_url_path_prefix_is_kept() {
    let server = strict_server().await;
    Mock::given(method("POST"))
        .and(path("/uapi/users"))
        .and(body_json(serde_json::json!({"api_token": "abc"})))
        .respond_with(ResponseTemplate::new(200).set_body_string("[]"))
        .expect(1)
        .mount(&server)
        .await;
    let client = client_for(&format!("{}/uapi", server.uri()), Auth::None);
    let request = ApiRequest::post("/users").json(&serde_json::json!({"api_token": "abc"})).unwrap();
    let users: Vec<serde_json::Value> = client.send_json(request).await.unwrap();
    assert!(users.is_empty());
}

#[tokio::test]
async fn absolute_links_only_on_the_same_origin() {
    let server = strict_server().await;
    let elsewhere = strict_server().await;
    Mock::given(method("GET"))
        .and(path("/v1/users"))
        .and(query_param("page", "2"))
        .and(query_param("per_page", "50"))
        .and(header("authorization", format!("Bearer {BEARER_SECRET}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"users":[]}"#))
        .expect(1)
        .mount(&server)
        .await;
    let client = client_for(&server.uri(), bearer());

    let same = Url::parse(&format!("{}/v1/users?page=2&per_page=50", server.uri())).unwrap();
    let users: Users =
        client.send_json(ApiRequest::absolute(Method::GET, "/v1/users (next page)", same)).await.unwrap();
    assert!(users.users.is_empty());

    let foreign = Url::parse(&format!("{}/v1/users?page=2", elsewhere.uri())).unwrap();
    let error =
        client.send(ApiRequest::absolute(Method::GET, "/v1/users (next page)", foreign)).await.unwrap_err();
    assert!(matches!(error, Error::InvalidInput { .. }), "{error:?}");
    assert!(error.to_string().contains("refusing to send credentials"), "{error}");
    assert!(elsewhere.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn decode_errors_carry_the_json_path() {
    let server = strict_server().await;
    Mock::given(path("/v1/users"))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"users":[{"id":1},{"id":"two"}]}"#))
        .mount(&server)
        .await;
    let client = client_for(&server.uri(), Auth::None);
    let error = client.get_json::<Users>("/v1/users").await.unwrap_err();
    match &error {
        Error::Decode { json_path, context, provider, .. } => {
            assert_eq!(json_path, "users[1].id");
            assert_eq!(context, "GET /v1/users");
            assert_eq!(*provider, "testprov");
        }
        other => panic!("expected Error::Decode, got {other:?}"),
    }
}

#[tokio::test]
async fn auth_headers_are_exactly_what_providers_expect() {
    let server = strict_server().await;
    let expected_basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("agent@example.com/token:{BASIC_SECRET}"))
    );
    Mock::given(path("/basic"))
        .and(header("authorization", expected_basic.as_str()))
        .and(header("accept", "application/json"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/bearer"))
        .and(header("authorization", format!("Bearer {BEARER_SECRET}").as_str()))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/none"))
        .respond_with(|request: &Request| {
            ResponseTemplate::new(if request.headers.contains_key("authorization") { 400 } else { 204 })
        })
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(
        client_for(&server.uri(), basic()).send(ApiRequest::get("/basic")).await.unwrap().status(),
        204
    );
    assert_eq!(
        client_for(&server.uri(), bearer()).send(ApiRequest::get("/bearer")).await.unwrap().status(),
        204
    );
    assert_eq!(
        client_for(&server.uri(), Auth::None).send(ApiRequest::get("/none")).await.unwrap().status(),
        204
    );
}

#[tokio::test]
async fn signer_hook_sees_method_and_full_url() {
    struct Recorder;
    impl deskbridge::http::RequestSigner for Recorder {
        fn sign(
            &self,
            method: &Method,
            url: &Url,
            headers: &mut deskbridge::http::HeaderMap,
        ) -> deskbridge::Result<()> {
            let value = format!("OAuth sig=\"{method} {}?{}\"", url.path(), url.query().unwrap_or(""));
            headers.insert("authorization", value.parse().map_err(|_| deskbridge::Error::config("bad"))?);
            Ok(())
        }
    }
    let server = strict_server().await;
    Mock::given(path("/2/dm_events"))
        .and(header("authorization", "OAuth sig=\"GET /2/dm_events?max_results=100\""))
        .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
        .expect(1)
        .mount(&server)
        .await;
    let client = client_for(&server.uri(), Auth::signer(Recorder));
    client.send(ApiRequest::get("/2/dm_events").query("max_results", 100)).await.unwrap();
}

#[tokio::test]
async fn provider_errors_are_interpreted() {
    let server = strict_server().await;
    Mock::given(path("/api/v2/users/9"))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_string(r#"{"error":"RecordNotFound","description":"Not found"}"#),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = client_for(&server.uri(), Auth::None);
    let request = ApiRequest::get("/api/v2/users/{id}").param("id", 9).unwrap();
    let error = client.send(request).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "testprov refused GET /api/v2/users/{{id}} (HTTP 404, RecordNotFound): Not found (called {}/api/v2/users/9)",
            server.uri()
        )
    );
}

#[tokio::test]
async fn http_200_with_error_body_is_an_error_when_the_provider_says_so() {
    let server = strict_server().await;
    Mock::given(path("/update/ticket"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string(r#"{"error":"Ticket not found","code":111}"#),
        )
        .expect(2)
        .mount(&server)
        .await;
    let usedesk = ApiClient::builder("usedesk", Url::parse(&server.uri()).unwrap())
        .error_interpreter(DefaultErrorInterpreter::new().error_key_in_success())
        .build()
        .unwrap();
    let error = usedesk.send(ApiRequest::post("/update/ticket")).await.unwrap_err();
    assert!(
        matches!(&error, Error::Api { status: 200, code: Some(code), message, .. } if code == "111" && message == "Ticket not found"),
        "{error:?}"
    );
    // Without the opt-in, the status is trusted.
    let plain = client_for(&server.uri(), Auth::None);
    assert_eq!(plain.send(ApiRequest::post("/update/ticket")).await.unwrap().status(), 200);
}

#[tokio::test]
async fn timeouts_are_transport_errors() {
    let server = strict_server().await;
    Mock::given(path("/slow"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .expect(1)
        .mount(&server)
        .await;
    let client = ApiClient::builder("testprov", Url::parse(&server.uri()).unwrap())
        .timeout(Duration::from_millis(200))
        .retry_policy(RetryPolicy::never())
        .build()
        .unwrap();
    let error = client.send(ApiRequest::get("/slow")).await.unwrap_err();
    assert!(
        matches!(&error, Error::Transport { failure: TransportFailure::Timeout, path, .. } if path == "/slow"),
        "{error:?}"
    );
}

#[tokio::test]
async fn empty_remaining_budget_waits_for_the_reset() {
    let server = strict_server().await;
    let reset = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs() + 2;
    Mock::given(path("/v1/users"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(r#"{"users":[]}"#)
                .insert_header("X-AircallApi-Limit", "60")
                .insert_header("X-AircallApi-Remaining", "0")
                .insert_header("X-AircallApi-Reset", reset.to_string().as_str()),
        )
        .expect(2)
        .mount(&server)
        .await;
    let client = ApiClient::builder("aircall", Url::parse(&server.uri()).unwrap())
        .rate_limit(RateLimit::unlimited())
        .rate_limit_headers(RateLimitHeaders::aircall())
        .transport(Arc::new(ReqwestTransport::new().unwrap()))
        .build()
        .unwrap();
    client.send(ApiRequest::get("/v1/users")).await.unwrap();
    let started = Instant::now();
    client.send(ApiRequest::get("/v1/users")).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(900), "waited only {:?}", started.elapsed());
}

/// A scripted transport: requests are data, so a fake can stand in for the network.
struct Scripted {
    answers: std::sync::Mutex<Vec<Result<deskbridge::http::HttpResponse, deskbridge::http::TransportError>>>,
    seen: std::sync::Mutex<Vec<deskbridge::http::HttpRequest>>,
}

#[async_trait::async_trait]
impl deskbridge::http::Transport for Scripted {
    async fn execute(
        &self,
        request: deskbridge::http::HttpRequest,
    ) -> Result<deskbridge::http::HttpResponse, deskbridge::http::TransportError> {
        self.seen.lock().unwrap().push(request);
        self.answers.lock().unwrap().remove(0)
    }
}

fn scripted(
    answers: Vec<Result<deskbridge::http::HttpResponse, deskbridge::http::TransportError>>,
) -> Arc<Scripted> {
    Arc::new(Scripted { answers: std::sync::Mutex::new(answers), seen: std::sync::Mutex::new(Vec::new()) })
}

fn ok_response() -> deskbridge::http::HttpResponse {
    deskbridge::http::HttpResponse { status: 200, headers: Default::default(), body: b"{}".to_vec() }
}

#[tokio::test(start_paused = true)]
async fn transport_failures_retry_only_when_safe() {
    use deskbridge::http::TransportError;
    // Could not connect: nothing was sent, so even a POST is retried (after the backoff).
    let fake =
        scripted(vec![Err(TransportError::new(TransportFailure::Connect, "refused")), Ok(ok_response())]);
    let client = ApiClient::builder("fake", Url::parse("https://api.example.com/base").unwrap())
        .transport(fake.clone())
        .retry_policy(fast_retries())
        .build()
        .unwrap();
    let started = tokio::time::Instant::now();
    client.send(ApiRequest::post("/tickets")).await.unwrap();
    assert_eq!(started.elapsed(), Duration::from_millis(10));
    {
        let seen = fake.seen.lock().unwrap();
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0].url.as_str(), "https://api.example.com/base/tickets");
        assert_eq!(seen[0].timeout, Duration::from_secs(30));
    }

    // Interrupted after sending: a POST may have been processed; not retried.
    let interrupted = || Err(TransportError::new(TransportFailure::Interrupted, "reset"));
    let fake = scripted(vec![interrupted(), interrupted(), Ok(ok_response())]);
    let client = ApiClient::builder("fake", Url::parse("https://api.example.com").unwrap())
        .transport(fake.clone())
        .retry_policy(fast_retries())
        .build()
        .unwrap();
    let error = client.send(ApiRequest::post("/tickets")).await.unwrap_err();
    assert!(
        matches!(&error, Error::Transport { failure: TransportFailure::Interrupted, method, path, .. } if method == "POST" && path == "/tickets"),
        "{error:?}"
    );
    assert_eq!(fake.seen.lock().unwrap().len(), 1);
    // The same failure on a GET is retried.
    client.send(ApiRequest::get("/tickets")).await.unwrap();
    assert_eq!(fake.seen.lock().unwrap().len(), 3);
}

/// A base URL that already holds the API's path prefix doubles it; the error names the URL
/// actually called (never its query), so the mistake shows, with the provider's request id.
#[tokio::test]
async fn errors_name_the_url_called_and_the_request_id() {
    let server = strict_server().await;
    Mock::given(path("/api/v2/api/v2/users"))
        .respond_with(
            ResponseTemplate::new(404)
                .insert_header("x-zendesk-request-id", "8a7b6c5d4e3f")
                .set_body_json(serde_json::json!({"error": "InvalidEndpoint"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = client_for(&format!("{}/api/v2", server.uri()), bearer());
    let request = ApiRequest::get("/api/v2/users").query("api_token", BEARER_SECRET);
    let error = client.send(request).await.unwrap_err();
    let expected_url = format!("{}/api/v2/api/v2/users", server.uri());
    assert_eq!(error.url(), Some(expected_url.as_str()), "{error:?}");
    assert_eq!(error.request_id(), Some("8a7b6c5d4e3f"));
    let text = error.to_string();
    assert!(text.contains(&expected_url) && text.contains("request id 8a7b6c5d4e3f"), "{text}");
    for text in chain_texts(&error) {
        assert_no_secret(&text);
    }

    // A transport failure names the URL too.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let offline =
        ApiClient::builder("testprov", Url::parse(&format!("http://127.0.0.1:{closed}/prefix")).unwrap())
            .retry_policy(RetryPolicy::never())
            .build()
            .unwrap();
    let error = offline.send(ApiRequest::get("/v1/users").query("token", BEARER_SECRET)).await.unwrap_err();
    let expected_url = format!("http://127.0.0.1:{closed}/prefix/v1/users");
    assert_eq!(error.url(), Some(expected_url.as_str()), "{error:?}");
    assert!(error.to_string().contains(&expected_url), "{error}");
    for text in chain_texts(&error) {
        assert_no_secret(&text);
    }
}

/// An embedder's own failure keeps its source (downcastable) and its transient flag.
#[test]
fn external_errors_keep_their_source_and_transient_flag() {
    #[derive(Debug)]
    struct PresenceDown;
    impl std::fmt::Display for PresenceDown {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("presence service unavailable")
        }
    }
    impl std::error::Error for PresenceDown {}

    let error = Error::external_transient("in-house presence", PresenceDown);
    assert!(error.is_transient());
    assert_eq!(error.to_string(), "in-house presence: presence service unavailable");
    let source = std::error::Error::source(&error).unwrap();
    assert!(source.downcast_ref::<PresenceDown>().is_some());
    let permanent = Error::external("in-house presence", "agent 7 has no e-mail");
    assert!(!permanent.is_transient());
    assert!(matches!(permanent, Error::External { transient: false, .. }));
}

/// A custom transport's source error is kept (and can be downcast) when it is clean, and
/// replaced by a scrubbed copy of its chain when some level quotes a credential.
#[tokio::test]
async fn transport_sources_are_kept_or_scrubbed() {
    use deskbridge::http::TransportError;
    #[derive(Debug)]
    struct Leaky(String);
    impl std::fmt::Display for Leaky {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "proxy said: {}", self.0)
        }
    }
    impl std::error::Error for Leaky {}

    let send = |cause: Leaky| {
        let fake =
            scripted(vec![Err(TransportError::new(TransportFailure::Connect, "refused").with_source(cause))]);
        ApiClient::builder("fake", Url::parse("https://api.example.com").unwrap())
            .auth(bearer())
            .transport(fake)
            .retry_policy(RetryPolicy::never())
            .build()
            .unwrap()
    };
    let clean = send(Leaky("connection refused".into())).send(ApiRequest::get("/a")).await.unwrap_err();
    let source = std::error::Error::source(&clean).expect("the source is kept");
    assert!(source.downcast_ref::<Leaky>().is_some(), "a clean source keeps its type");

    let leaky = Leaky(format!("bad header Authorization: Bearer {BEARER_SECRET}"));
    let error = send(leaky).send(ApiRequest::get("/a")).await.unwrap_err();
    let texts = chain_texts(&error);
    assert!(texts.len() >= 4, "the chain is kept, scrubbed: {texts:?}");
    assert!(texts.iter().any(|t| t.contains("proxy said: bad header")), "{texts:?}");
    for text in &texts {
        assert_no_secret(text);
    }
}
