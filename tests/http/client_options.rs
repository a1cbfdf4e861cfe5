//! One client-options shape on every provider (issue 15): the same builder methods, the
//! same base-URL forms, the same refusals, the same `from_env` rules, and errors that name
//! what was called. Local only: wiremock on 127.0.0.1, fake transports, no real
//! environment.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono_tz::Tz;
use deskbridge::Error;
use deskbridge::aircall::{AircallClient, AircallConfig, AircallProvider};
use deskbridge::http::{
    ClientOptions, ConfigureClient, HeaderMap, HttpRequest, HttpResponse, RateLimit, RetryPolicy, Transport,
    TransportError,
};
use deskbridge::shifton::{ShiftonAuth, ShiftonConfig};
use deskbridge::twitter::{XConfig, XSource};
use deskbridge::usedesk::{UsedeskConfig, UsedeskProvider};
use deskbridge::zendesk::{ZendeskAuth, ZendeskClient, ZendeskConfig, ZendeskProvider};
use url::Url;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "s3cr3t-VALUE-do-not-show";

fn aircall() -> AircallConfig {
    AircallConfig::basic("api-id", SECRET)
}

fn zendesk() -> ZendeskConfig {
    ZendeskConfig::for_subdomain("acme", ZendeskAuth::api_token("admin@example.com", SECRET)).unwrap()
}

fn usedesk() -> UsedeskConfig {
    UsedeskConfig::new(SECRET).unwrap()
}

fn x() -> XConfig {
    XConfig::with_user_token("42", SECRET)
}

fn shifton() -> ShiftonConfig {
    ShiftonConfig::new(ShiftonAuth::api_key(SECRET), "7", Tz::UTC).unwrap()
}

/// The same generic code configures every provider.
fn configure<C: ConfigureClient>(config: C, base: &str) -> C {
    config
        .with_base_url(base)
        .unwrap()
        .with_timeout(Duration::from_secs(3))
        .with_retry(RetryPolicy::default())
        .with_rate_limit(RateLimit::unlimited())
}

fn assert_configured<C: ConfigureClient>(config: &C, base: &str) {
    assert_eq!(config.base_url().as_str(), base, "{}", C::PROVIDER);
    let options: &ClientOptions = config.client_options();
    assert_eq!(options.timeout(), Duration::from_secs(3), "{}", C::PROVIDER);
    assert_eq!(options.rate_limit(), Some(RateLimit::unlimited()), "{}", C::PROVIDER);
    assert_eq!(options.retry(), RetryPolicy::default(), "{}", C::PROVIDER);
}

#[test]
fn every_provider_takes_the_same_builder() {
    let base = "http://127.0.0.1:9/prefix";
    assert_configured(&configure(aircall(), base), base);
    assert_configured(&configure(zendesk(), base), base);
    assert_configured(&configure(usedesk(), base), base);
    assert_configured(&configure(x(), base), base);
    assert_configured(&configure(shifton(), base), base);
}

#[test]
fn base_urls_are_accepted_as_str_string_and_url() {
    let text = "http://127.0.0.1:9/p";
    let url = Url::parse(text).unwrap();
    let owned = String::from(text);
    let forms: Vec<Box<dyn Fn(XConfig) -> deskbridge::Result<XConfig>>> = vec![
        Box::new(move |c| c.with_base_url(text)),
        Box::new(|c| c.with_base_url(String::from(text))),
        Box::new(move |c| c.with_base_url(&owned)),
        Box::new({
            let url = url.clone();
            move |c| c.with_base_url(url.clone())
        }),
        Box::new({
            let url = url.clone();
            move |c| c.with_base_url(&url)
        }),
    ];
    for form in forms {
        assert_eq!(form(x()).unwrap().base_url(), url);
    }
    // Inherent methods, no trait import needed at the call site, same forms.
    assert_eq!(aircall().with_base_url(&url).unwrap().base_url(), url);
    assert_eq!(usedesk().with_base_url(url.clone()).unwrap().base_url(), url);
    assert_eq!(zendesk().with_base_url(String::from(text)).unwrap().base_url(), url);
    assert_eq!(ZendeskConfig::for_base_url(url.clone(), ZendeskAuth::oauth(SECRET)).base_url(), url);
    assert_eq!(shifton().with_shifts_base_url(text).unwrap().shifts_base_url(), &url);
}

fn config_message(error: Error) -> String {
    assert!(matches!(error, Error::Config(_)), "{error:?}");
    let message = error.to_string();
    assert_eq!(message.matches("configuration error").count(), 1, "doubled prefix: {message}");
    assert!(!message.contains(SECRET), "{message}");
    message
}

#[test]
fn a_base_url_that_already_carries_the_api_prefix_is_refused() {
    let cases: Vec<(&str, deskbridge::Result<()>, &str)> = vec![
        (
            "https://acme.zendesk.com/api/v2/",
            zendesk().with_base_url("https://acme.zendesk.com/api/v2/").map(drop),
            "/api/v2",
        ),
        (
            // A URL handed to the constructor as is is refused when the client is built.
            "https://acme.zendesk.com/api/v2",
            ZendeskClient::new(ZendeskConfig::for_base_url(
                Url::parse("https://acme.zendesk.com/api/v2").unwrap(),
                ZendeskAuth::oauth(SECRET),
            ))
            .map(drop),
            "/api/v2",
        ),
        (
            "https://api.aircall.io/v1/",
            aircall().with_base_url("https://api.aircall.io/v1/").map(drop),
            "/v1",
        ),
        ("https://api.x.com/2", x().with_base_url("https://api.x.com/2").map(drop), "/2"),
        (
            "https://api2.shifton.com/api/v1",
            shifton().with_base_url("https://api2.shifton.com/api/v1").map(drop),
            "/api/v1",
        ),
    ];
    for (url, result, prefix) in cases {
        let message = config_message(result.unwrap_err());
        assert!(message.contains(url), "names the URL {url}: {message}");
        assert!(message.contains(&format!("API path {prefix}")), "names what to drop: {message}");
        assert!(message.contains("drop it"), "{message}");
    }
    // A prefix that is only part of a longer path is a proxy's, and is kept.
    assert!(zendesk().with_base_url("https://proxy.example/api/v2-zendesk").is_ok());
    assert!(aircall().with_base_url("https://proxy.example/v1/aircall").is_ok());
}

#[test]
fn unusable_base_urls_are_refused_once_prefixed() {
    for bad in ["not a url", "ftp://example.com", "https://user:pw@example.com", "https://example.com/?q=1"] {
        config_message(usedesk().with_base_url(bad).unwrap_err());
        config_message(x().with_base_url(bad).unwrap_err());
        config_message(zendesk().with_base_url(bad).unwrap_err());
    }
    let message = config_message(aircall().with_base_url("https://user:pw@example.com").unwrap_err());
    assert!(!message.contains("pw"), "credentials are not echoed: {message}");
}

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    move |name| map.get(name).cloned()
}

#[test]
fn from_env_is_none_only_when_nothing_is_set() {
    assert!(AircallConfig::from_env_with(env(&[])).unwrap().is_none());
    assert!(ZendeskConfig::from_env_with(env(&[])).unwrap().is_none());
    assert!(UsedeskConfig::from_env_with(env(&[])).unwrap().is_none());
    assert!(XConfig::from_env_with(env(&[])).unwrap().is_none());
    assert!(ShiftonConfig::from_env_with(env(&[])).unwrap().is_none());
    // Blank values count as unset.
    assert!(ZendeskConfig::from_env_with(env(&[("ZENDESK_SUBDOMAIN", "  ")])).unwrap().is_none());
}

#[test]
fn a_partial_environment_is_an_error_naming_the_missing_variables() {
    let cases: Vec<(deskbridge::Result<bool>, &[&str])> = vec![
        (
            AircallConfig::from_env_with(env(&[("AIRCALL_API_ID", "id")])).map(|c| c.is_some()),
            &["AIRCALL_API_TOKEN"],
        ),
        (
            AircallConfig::from_env_with(env(&[("AIRCALL_BASE_URL", "http://127.0.0.1:9")]))
                .map(|c| c.is_some()),
            &["AIRCALL_API_ID", "AIRCALL_ACCESS_TOKEN"],
        ),
        (
            ZendeskConfig::from_env_with(env(&[("ZENDESK_SUBDOMAIN", "acme")])).map(|c| c.is_some()),
            &["ZENDESK_EMAIL", "ZENDESK_API_TOKEN", "ZENDESK_OAUTH_TOKEN"],
        ),
        (
            ZendeskConfig::from_env_with(env(&[
                ("ZENDESK_EMAIL", "a@example.com"),
                ("ZENDESK_API_TOKEN", SECRET),
            ]))
            .map(|c| c.is_some()),
            &["ZENDESK_SUBDOMAIN", "ZENDESK_BASE_URL"],
        ),
        (
            UsedeskConfig::from_env_with(env(&[("USEDESK_BASE_URL", "http://127.0.0.1:9")]))
                .map(|c| c.is_some()),
            &["USEDESK_API_TOKEN"],
        ),
        (XConfig::from_env_with(env(&[("X_USER_TOKEN", SECRET)])).map(|c| c.is_some()), &["X_USER_ID"]),
        (
            XConfig::from_env_with(env(&[("X_CONSUMER_KEY", SECRET), ("X_USER_ID", "1")]))
                .map(|c| c.is_some()),
            &["X_CONSUMER_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET"],
        ),
        (
            ShiftonConfig::from_env_with(env(&[("SHIFTON_API_KEY", SECRET)])).map(|c| c.is_some()),
            &["SHIFTON_PROJECT_ID", "SHIFTON_TIME_ZONE"],
        ),
    ];
    for (result, missing) in cases {
        let message = config_message(result.unwrap_err());
        for name in missing {
            assert!(message.contains(name), "names {name}: {message}");
        }
    }
}

#[test]
fn a_bad_base_url_in_the_environment_names_the_variable_once() {
    let cases = [
        (
            ZendeskConfig::from_env_with(env(&[
                ("ZENDESK_OAUTH_TOKEN", SECRET),
                ("ZENDESK_BASE_URL", "https://acme.zendesk.com/api/v2"),
            ]))
            .map(drop),
            "ZENDESK_BASE_URL",
        ),
        (
            AircallConfig::from_env_with(env(&[
                ("AIRCALL_ACCESS_TOKEN", SECRET),
                ("AIRCALL_BASE_URL", "nope"),
            ]))
            .map(drop),
            "AIRCALL_BASE_URL",
        ),
        (
            UsedeskConfig::from_env_with(env(&[("USEDESK_API_TOKEN", SECRET), ("USEDESK_BASE_URL", "nope")]))
                .map(drop),
            "USEDESK_BASE_URL",
        ),
        (
            XConfig::from_env_with(env(&[
                ("X_USER_TOKEN", SECRET),
                ("X_USER_ID", "1"),
                ("X_BASE_URL", "nope"),
            ]))
            .map(drop),
            "X_BASE_URL",
        ),
    ];
    for (result, variable) in cases {
        let message = config_message(result.unwrap_err());
        assert_eq!(message.matches(variable).count(), 1, "{message}");
    }
}

#[tokio::test]
async fn a_404_names_the_method_and_the_full_url_called() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(404).set_body_string("no such route"))
        .mount(&server)
        .await;
    // A proxy prefix in the base URL shows up in the error, so a wrong prefix is visible.
    let base = format!("{}/zendesk-proxy", server.uri());
    let client = ZendeskClient::new(ZendeskConfig::for_base_url(
        Url::parse(&base).unwrap(),
        ZendeskAuth::api_token("admin@example.com", SECRET),
    ))
    .unwrap();
    let error = client.list_groups().await.unwrap_err();
    assert!(matches!(error, Error::Api { status: 404, .. }), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("GET /api/v2/groups"), "{message}");
    assert!(message.contains(&format!("{base}/api/v2/groups")), "full URL: {message}");
    assert_eq!(error.url(), Some(format!("{base}/api/v2/groups").as_str()));
    assert!(!message.contains('?'), "no query string: {message}");
    assert!(!message.contains(SECRET), "{message}");

    let aircall =
        AircallClient::new(aircall().with_base_url(server.uri()).unwrap().with_retry(RetryPolicy::default()))
            .unwrap();
    let error = aircall.list_teams().await.unwrap_err();
    let message = error.to_string();
    assert!(message.contains(&format!("{}/v1/teams", server.uri())), "full URL: {message}");
    assert!(!message.contains("per_page"), "no query string: {message}");
}

#[tokio::test]
async fn an_unreadable_answer_names_the_url_called() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"groups":[{"id":"not a number"}]}"#))
        .mount(&server)
        .await;
    let client = ZendeskClient::new(zendesk().with_base_url(server.uri()).unwrap()).unwrap();
    let error = client.list_groups().await.unwrap_err();
    assert!(matches!(error, Error::Decode { .. }), "{error:?}");
    let message = error.to_string();
    assert!(message.contains(&format!("(called {}/api/v2/groups)", server.uri())), "{message}");
    assert!(!message.contains('?'), "no query string: {message}");
}

/// Answers every request with an empty JSON list envelope, counting the calls.
struct CountingTransport {
    calls: AtomicUsize,
}

#[async_trait]
impl Transport for CountingTransport {
    async fn execute(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        assert_eq!(request.timeout, Duration::from_secs(3));
        Ok(HttpResponse {
            status: 200,
            headers: HeaderMap::new(),
            body: br#"{"groups":[],"meta":{"has_more":false}}"#.to_vec(),
        })
    }
}

#[tokio::test]
async fn the_transport_and_timeout_options_reach_the_client() {
    let transport = Arc::new(CountingTransport { calls: AtomicUsize::new(0) });
    let config = configure(zendesk(), "http://127.0.0.1:9").with_transport(transport.clone());
    let provider = ZendeskProvider::from_config(config).unwrap();
    assert!(provider.client().list_groups().await.unwrap().is_empty());
    assert_eq!(transport.calls.load(Ordering::SeqCst), 1);
}

#[test]
fn every_provider_has_from_config() {
    let base = "http://127.0.0.1:9";
    AircallProvider::from_config(configure(aircall(), base)).unwrap();
    ZendeskProvider::from_config(configure(zendesk(), base)).unwrap();
    UsedeskProvider::from_config(configure(usedesk(), base)).unwrap();
    XSource::from_config(configure(x(), base)).unwrap();
    // Shifton's schedule connects (reads the employees) on construction, so it is async;
    // its client is built the same way.
    deskbridge::shifton::ShiftonClient::new(configure(shifton(), base)).unwrap();
}

#[test]
fn secrets_are_absent_from_debug_and_display() {
    let texts = [
        format!("{:?}", configure(aircall(), "http://127.0.0.1:9")),
        format!("{:?}", AircallConfig::bearer(SECRET)),
        format!("{:?} {}", zendesk(), zendesk()),
        format!("{:?}", ZendeskConfig::for_subdomain("acme", ZendeskAuth::oauth(SECRET)).unwrap()),
        format!("{:?}", usedesk()),
        format!("{:?}", x()),
        format!("{:?}", shifton()),
        format!(
            "{:?}",
            ShiftonConfig::new(ShiftonAuth::password("user", SECRET, "client", SECRET), "7", Tz::UTC)
                .unwrap()
        ),
        format!("{:?}", AircallClient::new(aircall()).unwrap()),
        format!("{:?}", ZendeskClient::new(zendesk()).unwrap()),
        format!("{:?}", ClientOptions::default().with_base_url("http://127.0.0.1:9").unwrap()),
    ];
    for text in texts {
        assert!(!text.contains(SECRET), "{text}");
    }
}
