//! The API client every provider module is built on.
//!
//! Documented in the [`http`](crate::http) module docs, where every public item of this file
//! is re-exported (its one path).

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::Method;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, USER_AGENT};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::Instrument as _;
use url::Url;

use super::auth::Auth;
use super::interpret::{DefaultErrorInterpreter, ErrorInterpreter, ProviderError};
use super::ratelimit::{RateLimit, RateLimitHeaders, RateLimiter};
use super::retry::{AttemptOutcome, RetryContext, RetryDecision, RetryPolicy, server_delay};
use super::transport::{HttpRequest, HttpResponse, ReqwestTransport, Transport, TransportError};
use crate::error::CallInfo;
use crate::{Error, Result};

/// Default per-request timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Where a request goes.
#[derive(Clone)]
enum Target {
    /// A path appended to the base URL's path.
    Path(String),
    /// An absolute URL that must share the base URL's origin.
    Absolute(Url),
}

/// One API call, as data. Build it, then hand it to [`ApiClient::send`].
///
/// ```
/// # use deskbridge::http::ApiRequest;
/// let request = ApiRequest::put("/v1/users/{id}")
///     .param("id", 42)
///     .unwrap()
///     .json(&serde_json::json!({"availability_status": "available"}))
///     .unwrap();
/// assert_eq!(request.path_template(), "/v1/users/{id}");
/// assert!(request.is_idempotent());
/// ```
#[derive(Clone)]
pub struct ApiRequest {
    method: Method,
    path_template: String,
    target: Target,
    query: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    headers: HeaderMap,
    idempotent: bool,
}

impl fmt::Debug for ApiRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiRequest")
            .field("method", &self.method)
            .field("path_template", &self.path_template)
            .field("query_keys", &self.query.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>())
            .field("header_names", &self.headers.keys().collect::<Vec<_>>())
            .field("body_len", &self.body.as_ref().map(Vec::len))
            .field("idempotent", &self.idempotent)
            .finish()
    }
}

impl ApiRequest {
    /// A request to `path_template`, appended to the base URL's path. Placeholders
    /// (`{id}`) are filled with [`ApiRequest::param`]; the template itself names the call
    /// in logs and errors. GET, HEAD, PUT, DELETE and OPTIONS are idempotent; POST and
    /// PATCH are not (see [`ApiRequest::retry_safe`]).
    pub fn new(method: Method, path_template: impl Into<String>) -> Self {
        let path_template = path_template.into();
        let idempotent =
            matches!(method, Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS);
        Self {
            target: Target::Path(path_template.clone()),
            method,
            path_template,
            query: Vec::new(),
            body: None,
            headers: HeaderMap::new(),
            idempotent,
        }
    }

    /// A GET request.
    pub fn get(path_template: impl Into<String>) -> Self {
        Self::new(Method::GET, path_template)
    }

    /// A POST request (not retried after a possible write unless marked safe).
    pub fn post(path_template: impl Into<String>) -> Self {
        Self::new(Method::POST, path_template)
    }

    /// A PUT request.
    pub fn put(path_template: impl Into<String>) -> Self {
        Self::new(Method::PUT, path_template)
    }

    /// A PATCH request (not retried after a possible write unless marked safe).
    pub fn patch(path_template: impl Into<String>) -> Self {
        Self::new(Method::PATCH, path_template)
    }

    /// A DELETE request.
    pub fn delete(path_template: impl Into<String>) -> Self {
        Self::new(Method::DELETE, path_template)
    }

    /// A request to an absolute URL the provider handed out (Aircall's
    /// `meta.next_page_link`). The client sends it only if it is on the base URL's origin
    /// (scheme, host and port), so credentials never go elsewhere. `path_template` names
    /// the call in logs and errors (e.g. `GET /v1/users (next page)`); the URL's own query
    /// is kept and is never logged.
    pub fn absolute(method: Method, path_template: impl Into<String>, url: Url) -> Self {
        let mut request = Self::new(method, path_template);
        request.target = Target::Absolute(url);
        request
    }

    /// Fill the placeholder `{name}` of the path with `value`, percent-encoded as one path
    /// segment.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the template has no such placeholder, or the value is
    /// empty, `.` or `..` (which would change which resource the path names).
    pub fn param(mut self, name: &str, value: impl fmt::Display) -> Result<Self> {
        let value = value.to_string();
        if value.is_empty() || value == "." || value == ".." {
            return Err(Error::invalid(
                "request path parameter",
                format!("`{name}` of {} must not be empty, `.` or `..`", self.path_template),
            ));
        }
        let placeholder = format!("{{{name}}}");
        match &mut self.target {
            Target::Path(path) if path.contains(&placeholder) => {
                *path = path.replace(&placeholder, &encode_segment(&value));
                Ok(self)
            }
            _ => Err(Error::invalid(
                "request path parameter",
                format!("{} has no placeholder {placeholder}", self.path_template),
            )),
        }
    }

    /// Add a query pair (appended in order; repeated keys are kept, as in `role[]=agent`).
    pub fn query(mut self, key: impl Into<String>, value: impl fmt::Display) -> Self {
        self.query.push((key.into(), value.to_string()));
        self
    }

    /// Add a query pair when the value is present.
    pub fn query_opt(self, key: impl Into<String>, value: Option<impl fmt::Display>) -> Self {
        match value {
            Some(value) => self.query(key, value),
            None => self,
        }
    }

    /// Set a JSON body (sent with `Content-Type: application/json`).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the value cannot be serialised.
    pub fn json(mut self, body: &impl Serialize) -> Result<Self> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| Error::invalid(format!("request body of {}", self.path_template), e.to_string()))?;
        self.body = Some(bytes);
        Ok(self)
    }

    /// Set a body of any type (a multipart form, binary data), sent with `content_type`.
    pub fn raw_body(mut self, content_type: HeaderValue, bytes: Vec<u8>) -> Self {
        self.body = Some(bytes);
        self.headers.insert(CONTENT_TYPE, content_type);
        self
    }

    /// Add a header (set after the defaults, before authentication).
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.insert(name, value);
        self
    }

    /// Mark this request safe to retry after a possible write (it carries a dedupe or
    /// idempotency key, or repeating it is harmless).
    pub fn retry_safe(mut self) -> Self {
        self.idempotent = true;
        self
    }

    /// Set whether the request may be repeated after a possible write.
    pub fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = idempotent;
        self
    }

    /// The HTTP method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The path template that names this call in logs and errors.
    pub fn path_template(&self) -> &str {
        &self.path_template
    }

    /// Whether the request may be retried after a possible write.
    pub fn is_idempotent(&self) -> bool {
        self.idempotent
    }

    /// `METHOD template`, as used in errors.
    pub fn context(&self) -> String {
        format!("{} {}", self.method, self.path_template)
    }
}

/// Percent-encode everything but RFC 3986 unreserved characters.
fn encode_segment(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A successful answer (2xx, and not declared an error by the interpreter).
pub struct ApiResponse {
    response: HttpResponse,
    context: String,
    /// The URL called, as shown in errors (no query, no credentials).
    called: String,
    client: Arc<Inner>,
}

impl fmt::Debug for ApiResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiResponse")
            .field("provider", &self.client.provider)
            .field("context", &self.context)
            .field("status", &self.response.status)
            .field("body_len", &self.response.body.len())
            .finish()
    }
}

impl ApiResponse {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.response.status
    }

    /// The response headers (lookups are case-insensitive).
    pub fn headers(&self) -> &HeaderMap {
        &self.response.headers
    }

    /// One header as text, looked up case-insensitively; `None` when absent or not text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.response.headers.get(name)?.to_str().ok()
    }

    /// The raw body.
    pub fn body(&self) -> &[u8] {
        &self.response.body
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.response.body).into_owned()
    }

    /// Decode the body as JSON.
    ///
    /// # Errors
    /// [`Error::Decode`] with the JSON path of the offending value (`users[1].id`, or `.`
    /// for the whole document) and serde's message, scrubbed of the client's secrets,
    /// followed by the URL called (` (called https://…/v1/users)`, never its query).
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        let mut deserializer = serde_json::Deserializer::from_slice(&self.response.body);
        serde_path_to_error::deserialize(&mut deserializer).map_err(|e| Error::Decode {
            provider: self.client.provider,
            context: self.context.clone(),
            json_path: e.path().to_string(),
            message: format!("{} (called {})", self.client.auth.redact(&e.inner().to_string()), self.called),
        })
    }

    /// The body, consumed.
    pub fn into_body(self) -> Vec<u8> {
        self.response.body
    }
}

struct Inner {
    provider: &'static str,
    base_url: Url,
    auth: Auth,
    timeout: Duration,
    retry: RetryPolicy,
    limiter: RateLimiter,
    interpreter: Arc<dyn ErrorInterpreter>,
    transport: Arc<dyn Transport>,
    default_headers: HeaderMap,
}

/// An HTTP client for one provider configuration. Cheap to clone: clones share the
/// connection pool, the rate limiter and the configuration.
#[derive(Clone)]
pub struct ApiClient {
    inner: Arc<Inner>,
}

impl fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiClient")
            .field("provider", &self.inner.provider)
            .field("base_url", &self.inner.base_url.as_str())
            .field("auth", &self.inner.auth)
            .field("timeout", &self.inner.timeout)
            .field("retry", &self.inner.retry)
            .field("limiter", &self.inner.limiter)
            .finish_non_exhaustive()
    }
}

/// Builds an [`ApiClient`]. Start with [`ApiClient::builder`].
#[must_use]
pub struct ApiClientBuilder {
    provider: &'static str,
    base_url: Url,
    auth: Auth,
    timeout: Duration,
    retry: RetryPolicy,
    rate_limit: RateLimit,
    limit_headers: RateLimitHeaders,
    limiter: Option<RateLimiter>,
    interpreter: Arc<dyn ErrorInterpreter>,
    transport: Option<Arc<dyn Transport>>,
    user_agent: String,
}

impl fmt::Debug for ApiClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiClientBuilder")
            .field("provider", &self.provider)
            .field("base_url", &self.base_url.as_str())
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

impl ApiClientBuilder {
    /// How requests authenticate (default [`Auth::None`]).
    pub fn auth(mut self, auth: Auth) -> Self {
        self.auth = auth;
        self
    }

    /// Per-request timeout, for each attempt (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The retry policy (default [`RetryPolicy::default`]).
    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The configured pace (default unlimited). Ignored when [`Self::rate_limiter`] is set.
    pub fn rate_limit(mut self, rate: RateLimit) -> Self {
        self.rate_limit = rate;
        self
    }

    /// Which headers carry the provider's budget and reset time (default
    /// [`RateLimitHeaders::common`]). Ignored when [`Self::rate_limiter`] is set.
    pub fn rate_limit_headers(mut self, headers: RateLimitHeaders) -> Self {
        self.limit_headers = headers;
        self
    }

    /// Share an existing limiter (a limit that spans several clients, like Aircall's
    /// per-company budget).
    pub fn rate_limiter(mut self, limiter: RateLimiter) -> Self {
        self.limiter = Some(limiter);
        self
    }

    /// How to read the provider's error bodies (default [`DefaultErrorInterpreter`]).
    pub fn error_interpreter(mut self, interpreter: impl ErrorInterpreter + 'static) -> Self {
        self.interpreter = Arc::new(interpreter);
        self
    }

    /// The transport (default: a new [`ReqwestTransport`]). Pass a shared one to pool
    /// connections across clients, or a fake in tests.
    pub fn transport(mut self, transport: Arc<dyn Transport>) -> Self {
        self.transport = Some(transport);
        self
    }

    /// The `User-Agent` header (default `deskbridge/<version>`).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Check the configuration and build the client.
    ///
    /// # Errors
    /// [`Error::Config`] when the base URL is not an `http`/`https` URL with a host, carries
    /// credentials, a query or a fragment; when the timeout is zero; when the user agent
    /// is not a valid header value; or when the default transport cannot be built.
    pub fn build(self) -> Result<ApiClient> {
        let provider = self.provider;
        let base = &self.base_url;
        if !matches!(base.scheme(), "http" | "https") || base.host_str().is_none() {
            return Err(Error::config(format!("{provider}: base URL must be an http(s) URL with a host")));
        }
        if !base.username().is_empty() || base.password().is_some() {
            return Err(Error::config(format!(
                "{provider}: base URL must not carry credentials; configure authentication instead"
            )));
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err(Error::config(format!("{provider}: base URL must not have a query or fragment")));
        }
        if self.timeout.is_zero() {
            return Err(Error::config(format!("{provider}: request timeout must be positive")));
        }
        let mut default_headers = HeaderMap::new();
        default_headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        let user_agent = HeaderValue::from_str(&self.user_agent)
            .map_err(|_| Error::config(format!("{provider}: user agent is not a valid header value")))?;
        default_headers.insert(USER_AGENT, user_agent);
        let transport = match self.transport {
            Some(transport) => transport,
            None => Arc::new(ReqwestTransport::new()?),
        };
        let limiter = self.limiter.unwrap_or_else(|| RateLimiter::new(self.rate_limit, self.limit_headers));
        Ok(ApiClient {
            inner: Arc::new(Inner {
                provider,
                base_url: self.base_url,
                auth: self.auth,
                timeout: self.timeout,
                retry: self.retry,
                limiter,
                interpreter: self.interpreter,
                transport,
                default_headers,
            }),
        })
    }
}

impl ApiClient {
    /// Start building a client for `provider` (a short name used in errors and spans:
    /// `aircall`, `zendesk`) at `base_url`: everything before the API's documented paths
    /// (`https://api.aircall.io`, `https://acme.zendesk.com`,
    /// `https://secure.usedesk.com/uapi`). A path prefix in it is kept.
    pub fn builder(provider: &'static str, base_url: Url) -> ApiClientBuilder {
        ApiClientBuilder {
            provider,
            base_url,
            auth: Auth::None,
            timeout: DEFAULT_TIMEOUT,
            retry: RetryPolicy::default(),
            rate_limit: RateLimit::unlimited(),
            limit_headers: RateLimitHeaders::common(),
            limiter: None,
            interpreter: Arc::new(DefaultErrorInterpreter::new()),
            transport: None,
            user_agent: format!("deskbridge/{}", env!("CARGO_PKG_VERSION")),
        }
    }

    /// The provider name.
    pub fn provider(&self) -> &'static str {
        self.inner.provider
    }

    /// The base URL.
    pub fn base_url(&self) -> &Url {
        &self.inner.base_url
    }

    /// The rate limiter (shared by clones).
    pub fn rate_limiter(&self) -> &RateLimiter {
        &self.inner.limiter
    }

    /// The absolute URL a request goes to, query included.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when a path placeholder is unfilled, the path carries a
    /// query or fragment, or an absolute URL is on another origin than the base URL (or
    /// carries credentials).
    pub fn url_for(&self, request: &ApiRequest) -> Result<Url> {
        let base = &self.inner.base_url;
        let mut url = match &request.target {
            Target::Path(path) => {
                if let Some(start) = path.find('{') {
                    let name: String = path[start..].chars().take_while(|c| *c != '}').skip(1).collect();
                    return Err(Error::invalid(
                        "request path",
                        format!("placeholder {{{name}}} of {} was not filled", request.path_template),
                    ));
                }
                if path.contains(['?', '#']) {
                    return Err(Error::invalid(
                        "request path",
                        format!(
                            "{} must not contain a query or fragment; use ApiRequest::query",
                            request.path_template
                        ),
                    ));
                }
                let prefix = base.path().trim_end_matches('/');
                let separator = if path.starts_with('/') { "" } else { "/" };
                let mut url = base.clone();
                url.set_path(&format!("{prefix}{separator}{path}"));
                url
            }
            Target::Absolute(url) => {
                if url.origin() != base.origin() {
                    return Err(Error::invalid(
                        "absolute request URL",
                        format!(
                            "{}: origin {} is not the configured origin {}; refusing to send credentials there",
                            self.inner.provider,
                            url.origin().ascii_serialization(),
                            base.origin().ascii_serialization()
                        ),
                    ));
                }
                if !url.username().is_empty() || url.password().is_some() {
                    return Err(Error::invalid("absolute request URL", "URL must not carry credentials"));
                }
                let mut url = url.clone();
                url.set_fragment(None);
                url
            }
        };
        if !request.query.is_empty() {
            url.query_pairs_mut().extend_pairs(&request.query);
        }
        Ok(url)
    }

    /// Send a request: pace, authenticate, retry per policy, and check the answer.
    ///
    /// # Errors
    /// - [`Error::InvalidInput`] for a request that cannot be sent (see
    ///   [`ApiClient::url_for`]); nothing was sent.
    /// - [`Error::Transport`] when no complete answer came back after the retries.
    /// - [`Error::RateLimited`] when the provider still answered 429 when the retries were
    ///   spent (with its retry hint).
    /// - [`Error::Api`] for any other non-success status after the retries, or a success
    ///   status the interpreter declares an error.
    /// - Whatever the authentication signer reports.
    pub async fn send(&self, request: ApiRequest) -> Result<ApiResponse> {
        let span = tracing::info_span!(
            "http_request",
            provider = self.inner.provider,
            method = %request.method,
            path = %request.path_template,
            status = tracing::field::Empty,
            attempt = tracing::field::Empty,
        );
        self.send_inner(request).instrument(span).await
    }

    async fn send_inner(&self, request: ApiRequest) -> Result<ApiResponse> {
        let inner = &self.inner;
        let url = self.url_for(&request)?;
        let context = request.context();
        let mut attempt: u32 = 0;
        let mut waited = Duration::ZERO;
        let no_headers = HeaderMap::new();
        loop {
            attempt += 1;
            let span = tracing::Span::current();
            span.record("attempt", attempt);
            inner.limiter.acquire().await;

            let mut headers = inner.default_headers.clone();
            if request.body.is_some() {
                headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            }
            for (name, value) in &request.headers {
                headers.insert(name.clone(), value.clone());
            }
            inner.auth.apply(&request.method, &url, &mut headers)?;
            let http_request = HttpRequest {
                method: request.method.clone(),
                url: url.clone(),
                headers,
                body: request.body.clone(),
                timeout: inner.timeout,
            };

            let outcome = match inner.transport.execute(http_request).await {
                Ok(response) => {
                    span.record("status", response.status);
                    inner.limiter.observe(&response.headers);
                    if (200..300).contains(&response.status) {
                        if let Some(error) =
                            inner.interpreter.error_in_success(response.status, &response.body)
                        {
                            return Err(self.api_error(&context, &url, &response, error));
                        }
                        let called = inner.auth.redact(&url_without_query(&url));
                        return Ok(ApiResponse { response, context, called, client: self.inner.clone() });
                    }
                    Ok(response)
                }
                Err(failure) => Err(failure),
            };
            let (attempt_outcome, response_headers) = match &outcome {
                Ok(response) => (AttemptOutcome::Status(response.status), &response.headers),
                Err(failure) => (AttemptOutcome::Transport(failure.failure), &no_headers),
            };
            let now = SystemTime::now();
            let decision = inner.retry.decide(&RetryContext {
                idempotent: request.idempotent,
                outcome: attempt_outcome,
                headers: response_headers,
                attempt,
                waited,
                now,
                reset_headers: inner.limiter.headers(),
            });
            match decision {
                RetryDecision::RetryAfter(wait) => {
                    tracing::warn!(
                        outcome = %describe_outcome(attempt_outcome),
                        wait_ms = wait.as_millis() as u64,
                        "retrying request"
                    );
                    if attempt_outcome == AttemptOutcome::Status(429) {
                        let stated = server_delay(429, response_headers, now, inner.limiter.headers());
                        if stated.is_some() {
                            inner.limiter.provider_retry_after(wait);
                        } else {
                            inner.limiter.hold_for(wait);
                        }
                    }
                    tokio::time::sleep(wait).await;
                    waited += wait;
                }
                RetryDecision::GiveUp => {
                    return Err(match outcome {
                        Err(failure) => self.transport_error(&request, &url, failure),
                        Ok(response) if response.status == 429 => Error::RateLimited {
                            provider: inner.provider,
                            context,
                            retry_after: server_delay(429, &response.headers, now, inner.limiter.headers()),
                            call: Some(Box::new(CallInfo::new(
                                inner.auth.redact(&url_without_query(&url)),
                                request_id(&response.headers),
                            ))),
                        },
                        Ok(response) => {
                            let error = inner.interpreter.interpret(response.status, &response.body);
                            self.api_error(&context, &url, &response, error)
                        }
                    });
                }
            }
        }
    }

    fn api_error(&self, context: &str, url: &Url, response: &HttpResponse, error: ProviderError) -> Error {
        let auth = &self.inner.auth;
        Error::Api {
            provider: self.inner.provider,
            context: context.to_owned(),
            status: response.status,
            code: error.code.map(|code| auth.redact(&code)),
            message: auth.redact(&error.message),
            call: Some(Box::new(CallInfo::new(
                auth.redact(&url_without_query(url)),
                request_id(&response.headers),
            ))),
        }
    }

    fn transport_error(&self, request: &ApiRequest, url: &Url, failure: TransportError) -> Error {
        Error::Transport {
            provider: self.inner.provider,
            method: request.method.to_string(),
            path: request.path_template.clone(),
            call: Some(Box::new(CallInfo::new(self.inner.auth.redact(&url_without_query(url)), None))),
            failure: failure.failure,
            message: self.inner.auth.redact(&failure.message),
            source: failure.source.map(|source| self.scrub_source(source)),
        }
    }

    /// `source` as is when no level of its chain quotes one of the client's secrets (so it
    /// can still be downcast), else a scrubbed copy of the chain.
    fn scrub_source(&self, source: crate::error::BoxError) -> crate::error::BoxError {
        let auth = &self.inner.auth;
        let mut level: Option<&(dyn std::error::Error + 'static)> = Some(&*source);
        let mut clean = true;
        while let Some(error) = level {
            let (display, debug) = (error.to_string(), format!("{error:?}"));
            clean &= auth.redact(&display) == display && auth.redact(&debug) == debug;
            level = error.source();
        }
        if clean { source } else { crate::error::scrubbed_chain(&*source, &|text| auth.redact(text)) }
    }

    /// Send a request and decode its JSON answer.
    ///
    /// # Errors
    /// As [`ApiClient::send`], plus [`Error::Decode`] from [`ApiResponse::json`].
    pub async fn send_json<T: DeserializeOwned>(&self, request: ApiRequest) -> Result<T> {
        self.send(request).await?.json()
    }

    /// GET a fixed path (no placeholders) and decode its JSON answer.
    ///
    /// # Errors
    /// As [`ApiClient::send_json`].
    pub async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.send_json(ApiRequest::get(path)).await
    }
}

/// The response headers that carry a provider's id for a request, in the order they are
/// looked up; the first one present names the request in [`Error::Api`] and
/// [`Error::RateLimited`].
///
/// `x-zendesk-request-id` (Zendesk), `x-request-id` (the common convention) and
/// `x-transaction-id` (X) are UNCONFIRMED against the vendors' documentation: the lookup is
/// tolerant, and an absent header only means no id in the error.
pub const REQUEST_ID_HEADERS: [&str; 4] =
    ["x-zendesk-request-id", "x-request-id", "x-transaction-id", "request-id"];

/// The provider's request id, when a response carries one (bounded, printable ASCII only).
fn request_id(headers: &HeaderMap) -> Option<String> {
    REQUEST_ID_HEADERS.iter().find_map(|name| {
        let value = headers.get(*name)?.to_str().ok()?.trim();
        let printable =
            !value.is_empty() && value.len() <= 128 && value.bytes().all(|b| b.is_ascii_graphic());
        printable.then(|| value.to_owned())
    })
}

/// `url` as shown in errors: scheme, host, port and path; never the query or fragment.
fn url_without_query(url: &Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    // The base URL never carries credentials (checked at build time); be sure anyway.
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.to_string()
}

fn describe_outcome(outcome: AttemptOutcome) -> String {
    match outcome {
        AttemptOutcome::Status(status) => format!("HTTP {status}"),
        AttemptOutcome::Transport(failure) => failure.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(base: &str) -> ApiClient {
        ApiClient::builder("test", Url::parse(base).unwrap())
            .transport(Arc::new(ReqwestTransport::new().unwrap()))
            .build()
            .unwrap()
    }

    #[test]
    fn joins_keep_the_base_path_prefix() {
        let usedesk = client("https://secure.usedesk.com/uapi");
        assert_eq!(
            usedesk.url_for(&ApiRequest::post("/users")).unwrap().as_str(),
            "https://secure.usedesk.com/uapi/users"
        );
        let slash = client("https://secure.usedesk.com/uapi/");
        assert_eq!(
            slash.url_for(&ApiRequest::post("users")).unwrap().as_str(),
            "https://secure.usedesk.com/uapi/users"
        );
        let aircall = client("https://api.aircall.io");
        let request = ApiRequest::get("/v1/users/{id}").param("id", "a b/c").unwrap().query("per_page", 50);
        assert_eq!(
            aircall.url_for(&request).unwrap().as_str(),
            "https://api.aircall.io/v1/users/a%20b%2Fc?per_page=50"
        );
    }

    #[test]
    fn bad_paths_and_params_are_refused() {
        let c = client("https://api.aircall.io");
        assert!(ApiRequest::get("/v1/users/{id}").param("id", "..").is_err());
        assert!(ApiRequest::get("/v1/users/{id}").param("id", "").is_err());
        assert!(ApiRequest::get("/v1/users").param("id", 1).is_err());
        assert!(c.url_for(&ApiRequest::get("/v1/users/{id}")).is_err());
        assert!(c.url_for(&ApiRequest::get("/v1/users?page=2")).is_err());
    }

    #[test]
    fn bad_base_urls_are_refused() {
        for base in ["ftp://example.com", "https://user:pw@example.com", "https://example.com/?q=1"] {
            let result = ApiClient::builder("test", Url::parse(base).unwrap())
                .transport(Arc::new(ReqwestTransport::new().unwrap()))
                .build();
            assert!(matches!(result, Err(Error::Config(_))), "{base}");
        }
    }

    #[test]
    fn idempotency_defaults_follow_the_method() {
        assert!(ApiRequest::get("/").is_idempotent());
        assert!(ApiRequest::put("/").is_idempotent());
        assert!(ApiRequest::delete("/").is_idempotent());
        assert!(!ApiRequest::post("/").is_idempotent());
        assert!(ApiRequest::post("/").retry_safe().is_idempotent());
    }
}
