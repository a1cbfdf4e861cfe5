//! The provider-neutral server: request log, authentication, rate limiting, fault
//! injection, and dispatch to a provider's handlers.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use url::Url;

use crate::{Error, Result};

/// Largest request body a simulator reads (16 MiB); larger bodies are answered 413.
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// How long [`SimServer::shutdown`] waits for in-flight requests before aborting the server.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Lock a mutex, recovering the data if a previous holder panicked (the simulators' state
/// stays usable; a panic in a test thread must not cascade into every later request).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One HTTP request as a simulator received it.
///
/// Handlers read it; the request log stores it, with [`SimRequest::status`] filled in once
/// the answer is known. Headers are kept in full (authentication headers included) so
/// tests can assert on them.
#[derive(Debug, Clone)]
pub struct SimRequest {
    /// Position in the server's log, counting from 0 since the server started (not reset
    /// by [`SimServer::clear_log`]).
    pub sequence: u64,
    /// HTTP method.
    pub method: Method,
    /// Path, exactly as sent (percent-encoding kept), e.g. `/v1/users/12`.
    pub path: String,
    /// Raw query string without the `?`, when there was one.
    pub query: Option<String>,
    /// Every request header.
    pub headers: HeaderMap,
    /// The raw body (empty when none was sent).
    pub body: Bytes,
    /// When the request arrived.
    pub received_at: SystemTime,
    /// The status the simulator answered; `None` while the request is still being handled
    /// (for example during an injected delay).
    pub status: Option<u16>,
}

impl SimRequest {
    /// The value of a header, when present and valid text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// The decoded query parameters, in order (`page%5Bsize%5D=2` reads as `page[size]`, `2`).
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        match &self.query {
            Some(query) => url::form_urlencoded::parse(query.as_bytes()).into_owned().collect(),
            None => Vec::new(),
        }
    }

    /// The first value of a query parameter.
    pub fn query_value(&self, name: &str) -> Option<String> {
        self.query_pairs().into_iter().find(|(key, _)| key == name).map(|(_, value)| value)
    }

    /// Every value of a (possibly repeated) query parameter, e.g. `role[]`.
    pub fn query_values(&self, name: &str) -> Vec<String> {
        self.query_pairs().into_iter().filter(|(key, _)| key == name).map(|(_, value)| value).collect()
    }

    /// The body parsed as JSON; `None` when it is empty or not JSON.
    pub fn body_json(&self) -> Option<serde_json::Value> {
        if self.body.is_empty() {
            return None;
        }
        serde_json::from_slice(&self.body).ok()
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// True for every method but GET, HEAD and OPTIONS.
    pub fn is_write(&self) -> bool {
        !matches!(self.method, Method::GET | Method::HEAD | Method::OPTIONS)
    }

    /// The path split on `/`, without empty segments.
    pub fn path_segments(&self) -> Vec<&str> {
        self.path.split('/').filter(|segment| !segment.is_empty()).collect()
    }
}

/// The answer a handler gives.
#[derive(Debug, Clone)]
pub struct SimResponse {
    /// HTTP status.
    pub status: StatusCode,
    /// Response headers (the content type included).
    pub headers: HeaderMap,
    /// Response body.
    pub body: Bytes,
}

impl SimResponse {
    /// A JSON answer.
    pub fn json(status: StatusCode, value: &serde_json::Value) -> Self {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
        Self { status, headers, body: Bytes::from(value.to_string()) }
    }

    /// A plain-text answer.
    pub fn text(status: StatusCode, text: impl Into<String>) -> Self {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
        Self { status, headers, body: Bytes::from(text.into()) }
    }

    /// Add (or replace) a header. A value that is not a valid header value is left out.
    pub fn with_header(mut self, name: &'static str, value: impl AsRef<str>) -> Self {
        if let Ok(value) = HeaderValue::from_str(value.as_ref()) {
            self.headers.insert(HeaderName::from_static(name), value);
        }
        self
    }

    /// The body parsed as JSON, when it is JSON.
    pub fn body_json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    fn into_axum(self) -> Response {
        let mut response = (self.status, self.body).into_response();
        response.headers_mut().extend(self.headers);
        response
    }
}

/// Credentials a simulator accepts. The secrets are redacted in `Debug`.
#[derive(Debug, Clone)]
pub enum Credential {
    /// HTTP Basic: `Authorization: Basic base64(username:password)`.
    Basic {
        /// The user part (Aircall: the API id; Zendesk: `{email}/token`).
        username: String,
        /// The password part (Aircall: the API token; Zendesk: the API token).
        password: SecretString,
    },
    /// `Authorization: Bearer {token}`.
    Bearer(SecretString),
}

impl Credential {
    /// HTTP Basic credentials.
    pub fn basic(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self::Basic { username: username.into(), password: SecretString::from(password.into()) }
    }

    /// A bearer token.
    pub fn bearer(token: impl Into<String>) -> Self {
        Self::Bearer(SecretString::from(token.into()))
    }

    /// Whether an `Authorization` header value carries these credentials.
    pub fn matches(&self, authorization: &str) -> bool {
        let Some((scheme, value)) = authorization.trim().split_once(' ') else {
            return false;
        };
        match self {
            Self::Basic { username, password } => {
                if !scheme.eq_ignore_ascii_case("basic") {
                    return false;
                }
                let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(value.trim()) else {
                    return false;
                };
                let Ok(decoded) = String::from_utf8(decoded) else {
                    return false;
                };
                match decoded.split_once(':') {
                    Some((user, pass)) => user == username && pass == password.expose_secret(),
                    None => false,
                }
            }
            Self::Bearer(token) => {
                scheme.eq_ignore_ascii_case("bearer") && value.trim() == token.expose_secret()
            }
        }
    }
}

/// A rate limit: at most `limit` requests per fixed `window`, counted over the requests
/// whose path starts with one of `path_prefixes` (every request when the list is empty).
///
/// The window is fixed and measured with a monotonic clock: it starts with the first
/// counted request and refills entirely when it has elapsed. Refused (429) requests are
/// not counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitRule {
    /// Requests allowed per window.
    pub limit: u32,
    /// Window length.
    pub window: Duration,
    /// Path prefixes counted by this rule; empty means all paths.
    pub path_prefixes: Vec<String>,
}

impl RateLimitRule {
    /// `limit` requests per `window`, over every path.
    pub fn new(limit: u32, window: Duration) -> Self {
        Self { limit, window, path_prefixes: Vec::new() }
    }

    /// `limit` requests per minute, over every path.
    pub fn per_minute(limit: u32) -> Self {
        Self::new(limit, Duration::from_secs(60))
    }

    /// Restrict the rule to paths starting with one of these prefixes (a group of paths,
    /// e.g. Zendesk's Talk API `/api/v2/channels/voice/`).
    pub fn for_paths<I, S>(mut self, prefixes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.path_prefixes = prefixes.into_iter().map(Into::into).collect();
        self
    }

    fn applies_to(&self, path: &str) -> bool {
        self.path_prefixes.is_empty()
            || self.path_prefixes.iter().any(|prefix| path.starts_with(prefix.as_str()))
    }
}

/// Where a rate limit stands after a request, handed to the provider to build its headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitStatus {
    /// Requests allowed per window.
    pub limit: u32,
    /// Requests left in the current window.
    pub remaining: u32,
    /// When the window refills (wall clock).
    pub resets_at: SystemTime,
    /// How long until the window refills, rounded up to whole seconds (at least 1 s).
    pub retry_after: Duration,
}

impl RateLimitStatus {
    /// [`RateLimitStatus::resets_at`] as UNIX seconds, rounded up.
    pub fn resets_at_epoch_seconds(&self) -> u64 {
        let since_epoch = self.resets_at.duration_since(UNIX_EPOCH).unwrap_or_default();
        since_epoch.as_secs() + u64::from(since_epoch.subsec_nanos() > 0)
    }
}

#[derive(Debug)]
struct LimitCounter {
    rule: RateLimitRule,
    window_started: Option<(Instant, SystemTime)>,
    used: u32,
}

impl LimitCounter {
    /// Refill the window if it has elapsed, then report where the counter stands.
    fn refresh(&mut self, now: Instant, wall_now: SystemTime) -> (Instant, SystemTime) {
        match self.window_started {
            Some((started, wall_started)) if now.duration_since(started) < self.rule.window => {
                (started, wall_started)
            }
            _ => {
                self.window_started = Some((now, wall_now));
                self.used = 0;
                (now, wall_now)
            }
        }
    }

    fn status(&self, started: Instant, wall_started: SystemTime, now: Instant) -> RateLimitStatus {
        let left = self.rule.window.saturating_sub(now.duration_since(started));
        let whole_seconds = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        RateLimitStatus {
            limit: self.rule.limit,
            remaining: self.rule.limit.saturating_sub(self.used),
            resets_at: wall_started + self.rule.window,
            retry_after: Duration::from_secs(whole_seconds.max(1)),
        }
    }
}

/// What a fault does to a matching request.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultKind {
    /// Answer this status and body instead of running the handler (the content type is
    /// JSON when the body parses as JSON, text otherwise). Typically a 5xx.
    Status {
        /// The status to answer.
        status: u16,
        /// The body to answer.
        body: String,
    },
    /// Wait this long, then handle the request normally.
    Delay(Duration),
    /// Run the handler (its state changes happen), then cut its body in half so it is no
    /// longer valid JSON, keeping its status and content type: a truncated answer.
    TruncatedBody,
    /// Answer HTTP 200 with this JSON body instead of running the handler, as providers
    /// that report errors inside a success (Usedesk) do.
    OkWithErrorBody(serde_json::Value),
}

/// A fault injected on requests matching a method and a path prefix, a number of times.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    /// What the fault does.
    pub kind: FaultKind,
    /// Only requests with this method; any method when `None`.
    pub method: Option<Method>,
    /// Only requests whose path starts with this prefix (`""` matches every path).
    pub path_prefix: String,
    /// How many more requests it applies to; `None` means every matching request.
    pub remaining: Option<u32>,
}

impl Fault {
    /// A fault applied once, to the next request of any method on any path.
    pub fn new(kind: FaultKind) -> Self {
        Self { kind, method: None, path_prefix: String::new(), remaining: Some(1) }
    }

    /// A fault answering `status` with `body`.
    pub fn status(status: u16, body: impl Into<String>) -> Self {
        Self::new(FaultKind::Status { status, body: body.into() })
    }

    /// A fault delaying the answer by `delay`.
    pub fn delay(delay: Duration) -> Self {
        Self::new(FaultKind::Delay(delay))
    }

    /// A fault truncating the answer's body.
    pub fn truncated_body() -> Self {
        Self::new(FaultKind::TruncatedBody)
    }

    /// A fault answering 200 with an error inside the JSON body.
    pub fn ok_with_error_body(body: serde_json::Value) -> Self {
        Self::new(FaultKind::OkWithErrorBody(body))
    }

    /// Only on requests with this method.
    pub fn on_method(mut self, method: Method) -> Self {
        self.method = Some(method);
        self
    }

    /// Only on requests whose path starts with `prefix`.
    pub fn on_path(mut self, prefix: impl Into<String>) -> Self {
        self.path_prefix = prefix.into();
        self
    }

    /// Apply to the next `count` matching requests.
    pub fn times(mut self, count: u32) -> Self {
        self.remaining = Some(count);
        self
    }

    /// Apply to every matching request until [`SimServer::clear_faults`].
    pub fn always(mut self) -> Self {
        self.remaining = None;
        self
    }

    fn matches(&self, method: &Method, path: &str) -> bool {
        self.method.as_ref().is_none_or(|wanted| wanted == method)
            && path.starts_with(self.path_prefix.as_str())
    }
}

/// What a provider simulator supplies to the shared server.
///
/// Handlers are synchronous and must be cheap: they run on the server's tasks and usually
/// lock the simulator's state briefly. They must answer every input with a response (an
/// error response for bad input), never panic.
pub trait SimProvider: Send + Sync + 'static {
    /// The provider's name, for logs and errors (`"aircall"`).
    fn name(&self) -> &'static str;

    /// Answer one authenticated, rate-limit-admitted request. `base_url` is the server's
    /// own base URL, for absolute links in the answer.
    fn handle(&self, request: &SimRequest, base_url: &Url) -> SimResponse;

    /// The provider's answer to missing or wrong credentials (a 401).
    fn unauthorized(&self, request: &SimRequest) -> SimResponse;

    /// The provider's answer when a rate limit is spent (a 429, without the limit headers:
    /// the server adds [`SimProvider::rate_limit_headers`]).
    fn too_many_requests(&self, status: &RateLimitStatus) -> SimResponse;

    /// The provider's rate-limit headers. `exceeded` is true on the 429 answer.
    fn rate_limit_headers(&self, status: &RateLimitStatus, exceeded: bool) -> Vec<(&'static str, String)>;
}

struct Core {
    provider: Arc<dyn SimProvider>,
    base_url: Url,
    log: Mutex<RequestLog>,
    credentials: Mutex<Vec<Credential>>,
    limits: Mutex<Vec<LimitCounter>>,
    faults: Mutex<Vec<Fault>>,
    /// The simulated round trip ([`SimServer::set_round_trip`]).
    round_trip: Mutex<Duration>,
}

#[derive(Default)]
struct RequestLog {
    next_sequence: u64,
    entries: Vec<SimRequest>,
}

enum Admission {
    Refused(SimResponse),
    Admitted(Option<RateLimitStatus>),
}

impl Core {
    fn authenticate(&self, request: &SimRequest) -> bool {
        let credentials = lock(&self.credentials);
        if credentials.is_empty() {
            return true;
        }
        let Some(authorization) = request.header(AUTHORIZATION.as_str()) else {
            return false;
        };
        credentials.iter().any(|credential| credential.matches(authorization))
    }

    /// Count the request against every matching rule, or refuse it when one is spent.
    fn admit(&self, path: &str) -> Admission {
        let mut limits = lock(&self.limits);
        let now = Instant::now();
        let wall_now = SystemTime::now();
        let mut tightest: Option<RateLimitStatus> = None;
        let mut windows = Vec::new();
        for (index, counter) in limits.iter_mut().enumerate() {
            if !counter.rule.applies_to(path) {
                continue;
            }
            let (started, wall_started) = counter.refresh(now, wall_now);
            if counter.used >= counter.rule.limit {
                let status = counter.status(started, wall_started, now);
                let mut response = self.provider.too_many_requests(&status);
                for (name, value) in self.provider.rate_limit_headers(&status, true) {
                    response = response.with_header(name, value);
                }
                return Admission::Refused(response);
            }
            windows.push((index, started, wall_started));
        }
        for (index, started, wall_started) in windows {
            let counter = &mut limits[index];
            counter.used += 1;
            let status = counter.status(started, wall_started, now);
            if tightest.is_none_or(|current| status.remaining < current.remaining) {
                tightest = Some(status);
            }
        }
        Admission::Admitted(tightest)
    }

    fn take_fault(&self, method: &Method, path: &str) -> Option<FaultKind> {
        let mut faults = lock(&self.faults);
        let index = faults.iter().position(|fault| fault.matches(method, path))?;
        let kind = faults[index].kind.clone();
        match &mut faults[index].remaining {
            Some(remaining) if *remaining <= 1 => {
                faults.remove(index);
            }
            Some(remaining) => *remaining -= 1,
            None => {}
        }
        Some(kind)
    }

    fn record(&self, mut request: SimRequest) -> SimRequest {
        let mut log = lock(&self.log);
        request.sequence = log.next_sequence;
        log.next_sequence += 1;
        log.entries.push(request.clone());
        request
    }

    fn record_status(&self, sequence: u64, status: StatusCode) {
        let mut log = lock(&self.log);
        if let Some(entry) = log.entries.iter_mut().rev().find(|entry| entry.sequence == sequence) {
            entry.status = Some(status.as_u16());
        }
    }
}

async fn dispatch(State(core): State<Arc<Core>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => bytes,
        Err(error) => {
            return SimResponse::text(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("unreadable request body: {error}"),
            )
            .into_axum();
        }
    };
    let request = core.record(SimRequest {
        sequence: 0,
        method: parts.method,
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts.headers,
        body,
        received_at: SystemTime::now(),
        status: None,
    });
    let response = answer(&core, &request).await;
    core.record_status(request.sequence, response.status);
    response.into_axum()
}

/// Answer after the simulated round trip: half of it before the request "arrives" (is
/// counted by the rate limits), half after the answer is made.
async fn answer(core: &Core, request: &SimRequest) -> SimResponse {
    let round_trip = *lock(&core.round_trip);
    if round_trip.is_zero() {
        return answer_now(core, request).await;
    }
    let there = round_trip / 2;
    tokio::time::sleep(there).await;
    let response = answer_now(core, request).await;
    tokio::time::sleep(round_trip - there).await;
    response
}

async fn answer_now(core: &Core, request: &SimRequest) -> SimResponse {
    if !core.authenticate(request) {
        return core.provider.unauthorized(request);
    }
    let limit_status = match core.admit(&request.path) {
        Admission::Refused(response) => return response,
        Admission::Admitted(status) => status,
    };
    let mut truncate = false;
    let mut response = match core.take_fault(&request.method, &request.path) {
        Some(FaultKind::Status { status, body }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            match serde_json::from_str::<serde_json::Value>(&body) {
                Ok(json) => SimResponse::json(status, &json),
                Err(_) => SimResponse::text(status, body),
            }
        }
        Some(FaultKind::OkWithErrorBody(body)) => SimResponse::json(StatusCode::OK, &body),
        Some(FaultKind::Delay(delay)) => {
            tokio::time::sleep(delay).await;
            core.provider.handle(request, &core.base_url)
        }
        Some(FaultKind::TruncatedBody) => {
            truncate = true;
            core.provider.handle(request, &core.base_url)
        }
        None => core.provider.handle(request, &core.base_url),
    };
    if truncate {
        let keep = response.body.len() / 2;
        response.body = if keep == 0 { Bytes::from_static(b"{\"") } else { response.body.slice(..keep) };
    }
    if let Some(status) = limit_status {
        for (name, value) in core.provider.rate_limit_headers(&status, false) {
            response = response.with_header(name, value);
        }
    }
    response
}

fn counters(rules: Vec<RateLimitRule>) -> Vec<LimitCounter> {
    rules.into_iter().map(|rule| LimitCounter { rule, window_started: None, used: 0 }).collect()
}

/// A running simulator: an HTTP server on `127.0.0.1` with its request log and its
/// authentication, rate-limit and fault settings, all changeable while it runs.
///
/// Dropping it stops the server (in-flight requests are cut); [`SimServer::shutdown`]
/// stops it gracefully and waits.
pub struct SimServer {
    core: Arc<Core>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for SimServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimServer")
            .field("provider", &self.core.provider.name())
            .field("base_url", &self.core.base_url.as_str())
            .finish_non_exhaustive()
    }
}

impl SimServer {
    /// Start serving `provider` on `127.0.0.1` at an ephemeral port, accepting any of
    /// `credentials` (no authentication when empty) and enforcing `rate_limits` (none when
    /// empty). Must be called inside a tokio runtime.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the loopback port cannot be bound.
    pub async fn start(
        provider: Arc<dyn SimProvider>,
        credentials: Vec<Credential>,
        rate_limits: Vec<RateLimitRule>,
    ) -> Result<Self> {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .await
            .map_err(|error| {
                Error::config(format!("{} simulator: cannot bind 127.0.0.1: {error}", provider.name()))
            })?;
        let address = listener.local_addr().map_err(|error| {
            Error::config(format!("{} simulator: no local address: {error}", provider.name()))
        })?;
        let base_url = Url::parse(&format!("http://{address}")).map_err(|error| {
            Error::config(format!("{} simulator: bad base URL: {error}", provider.name()))
        })?;
        let core = Arc::new(Core {
            provider,
            base_url,
            log: Mutex::new(RequestLog::default()),
            credentials: Mutex::new(credentials),
            limits: Mutex::new(counters(rate_limits)),
            faults: Mutex::new(Vec::new()),
            round_trip: Mutex::new(Duration::ZERO),
        });
        let router = axum::Router::new().fallback(dispatch).with_state(Arc::clone(&core));
        let (shutdown_sender, shutdown_receiver) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serving = axum::serve(listener, router).with_graceful_shutdown(async move {
                let _ = shutdown_receiver.await;
            });
            if let Err(error) = serving.await {
                tracing::warn!(%error, "simulator server stopped with an error");
            }
        });
        Ok(Self { core, shutdown: Some(shutdown_sender), task: Some(task) })
    }

    /// The base URL the clients append the provider's documented paths to, e.g.
    /// `http://127.0.0.1:41234/` (Aircall: + `v1/users`; Zendesk: + `api/v2/users`).
    pub fn base_url(&self) -> Url {
        self.core.base_url.clone()
    }

    /// The provider this server simulates.
    pub fn provider_name(&self) -> &'static str {
        self.core.provider.name()
    }

    /// Stop accepting connections, let in-flight requests finish (up to 5 s), and wait
    /// for the server to stop.
    pub async fn shutdown(mut self) {
        if let Some(sender) = self.shutdown.take() {
            let _ = sender.send(());
        }
        if let Some(mut task) = self.task.take() {
            if tokio::time::timeout(SHUTDOWN_GRACE, &mut task).await.is_err() {
                task.abort();
            }
        }
    }

    /// Every request recorded since the start or the last [`SimServer::clear_log`], in
    /// arrival order.
    pub fn requests(&self) -> Vec<SimRequest> {
        lock(&self.core.log).entries.clone()
    }

    /// The recorded requests with this method whose path starts with `path_prefix`.
    pub fn requests_matching(&self, method: Method, path_prefix: &str) -> Vec<SimRequest> {
        lock(&self.core.log)
            .entries
            .iter()
            .filter(|entry| entry.method == method && entry.path.starts_with(path_prefix))
            .cloned()
            .collect()
    }

    /// The recorded writes: every request whose method is not GET, HEAD or OPTIONS.
    pub fn writes(&self) -> Vec<SimRequest> {
        lock(&self.core.log).entries.iter().filter(|entry| entry.is_write()).cloned().collect()
    }

    /// How many requests are recorded.
    pub fn count(&self) -> usize {
        lock(&self.core.log).entries.len()
    }

    /// Forget the recorded requests (sequence numbers keep counting).
    pub fn clear_log(&self) {
        lock(&self.core.log).entries.clear();
    }

    /// Replace the accepted credentials (empty: no authentication).
    pub fn set_credentials(&self, credentials: Vec<Credential>) {
        *lock(&self.core.credentials) = credentials;
    }

    /// Replace the rate limits (empty: no limit); every window starts afresh.
    pub fn set_rate_limits(&self, rules: Vec<RateLimitRule>) {
        *lock(&self.core.limits) = counters(rules);
    }

    /// Delay every answer by `round_trip` (default zero), as a distant service would:
    /// half before the request is counted against the rate limits, half after it is
    /// answered. Requests are delayed independently (concurrent requests overlap), so
    /// benchmarks on loopback see the latency of a real service (tens of milliseconds)
    /// instead of loopback's fraction of one.
    pub fn set_round_trip(&self, round_trip: Duration) {
        *lock(&self.core.round_trip) = round_trip;
    }

    /// The simulated round trip ([`set_round_trip`](Self::set_round_trip)).
    pub fn round_trip(&self) -> Duration {
        *lock(&self.core.round_trip)
    }

    /// Queue a fault. Faults are tried in the order they were added; the first match wins.
    pub fn add_fault(&self, fault: Fault) {
        lock(&self.core.faults).push(fault);
    }

    /// Remove every queued fault.
    pub fn clear_faults(&self) {
        lock(&self.core.faults).clear();
    }

    /// The faults still queued (spent ones are removed).
    pub fn pending_faults(&self) -> Vec<Fault> {
        lock(&self.core.faults).clone()
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        if let Some(sender) = self.shutdown.take() {
            let _ = sender.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_and_bearer_credentials_match_only_their_header() {
        let basic = Credential::basic("id", "tok:en");
        let header = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("id:tok:en"));
        assert!(basic.matches(&header));
        assert!(!basic.matches("Basic aWQ6d3Jvbmc="));
        assert!(!basic.matches("Bearer tok:en"));
        assert!(!basic.matches("Basic !!!"));
        let bearer = Credential::bearer("abc");
        assert!(bearer.matches("Bearer abc"));
        assert!(bearer.matches("bearer abc"));
        assert!(!bearer.matches("Bearer abcd"));
        assert!(!format!("{bearer:?}").contains("abc"));
    }

    #[test]
    fn fault_matching_and_rule_paths() {
        let fault = Fault::truncated_body().on_method(Method::PUT).on_path("/v1/users");
        assert!(fault.matches(&Method::PUT, "/v1/users/1"));
        assert!(!fault.matches(&Method::GET, "/v1/users/1"));
        assert!(!fault.matches(&Method::PUT, "/v1/teams"));
        let rule = RateLimitRule::per_minute(3).for_paths(["/api/v2/channels/voice/"]);
        assert!(rule.applies_to("/api/v2/channels/voice/availabilities/1"));
        assert!(!rule.applies_to("/api/v2/users"));
        assert!(RateLimitRule::per_minute(3).applies_to("/anything"));
    }
}
