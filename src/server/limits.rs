//! Serving routers on the open internet: [`serve`] and [`serve_with_shutdown`] apply
//! [`ServerLimits`] (timeouts, connection and request limits, a body cap) that
//! `axum::serve` does not.
//!
//! A webhook or Talkdesk endpoint is called by anyone who finds its URL. Without limits, a
//! client can hold a connection open for as long as it likes (an idle socket, headers sent
//! one byte at a time, a `Content-Length` whose body never comes) and many such clients
//! exhaust sockets and memory. [`serve`] cuts each of those patterns at a configured time
//! and bounds what the server holds at once:
//!
//! | Limit | Default | What it cuts |
//! |---|---|---|
//! | [`header_read_timeout`](ServerLimits::header_read_timeout) | 10 s | a request whose line and headers are not complete this long after their first byte (partial headers, a header every few seconds) |
//! | [`idle_timeout`](ServerLimits::idle_timeout) | 30 s | a connection with no request in progress: after it is accepted, between keep-alive requests, or while the client does not read its answer |
//! | [`request_body_timeout`](ServerLimits::request_body_timeout) | 15 s | a body not fully received this long after its headers (a `Content-Length` with no body, one byte every few seconds): the handler sees a read error and answers 4xx, and the connection is closed |
//! | [`request_timeout`](ServerLimits::request_timeout) | 30 s | a request whose answer is not ready this long after its headers: **503** `{"error": "timeout"}` |
//! | [`max_connections`](ServerLimits::max_connections) | 512 | further connections wait in the listen backlog until one closes |
//! | [`max_concurrent_requests`](ServerLimits::max_concurrent_requests) | 64 | a request arriving while this many run: **503** `{"error": "overloaded"}` with `Retry-After: 1`, body unread |
//! | [`max_body_bytes`](ServerLimits::max_body_bytes) | 1 MiB | a larger `Content-Length`: **413** `{"error": "too_large"}` before any body byte is read; a longer chunked body fails the handler's read at the limit |
//!
//! Memory is therefore bounded by about `max_concurrent_requests × max_body_bytes` of
//! request bodies (64 MiB by default; the routers' own body limits, 256 KiB for webhooks,
//! lower it further) plus a few kilobytes of buffers per open connection: a connection
//! whose request is refused for overload or size is closed without its body being read.
//! The routers keep their own, usually smaller, body limits
//! ([`WebhookOptions::max_body_bytes`](super::webhooks::WebhookOptions::max_body_bytes),
//! `RouterOptions::max_body_bytes` of the Talkdesk router); the smaller limit wins.
//!
//! HTTP/1.1 only (what Aircall, Zendesk, Usedesk, X and Talkdesk send); put TLS in front
//! (a reverse proxy), and configure the proxy's own timeouts no looser than these.
//!
//! ```no_run
//! # async fn demo(routes: axum::Router) -> std::io::Result<()> {
//! use std::time::Duration;
//! use deskbridge::server::limits::{ServerLimits, serve};
//!
//! let limits = ServerLimits::default()
//!     .with_header_read_timeout(Duration::from_secs(5))
//!     .with_max_connections(256);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! serve(listener, routes, limits).await
//! # }
//! ```

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::body::Bytes;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::json;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tower_service::Service;

/// Default [`ServerLimits::header_read_timeout`].
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Default [`ServerLimits::idle_timeout`].
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Default [`ServerLimits::request_body_timeout`].
pub const DEFAULT_REQUEST_BODY_TIMEOUT: Duration = Duration::from_secs(15);
/// Default [`ServerLimits::request_timeout`].
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Default [`ServerLimits::max_connections`].
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;
/// Default [`ServerLimits::max_concurrent_requests`].
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 64;
/// Default [`ServerLimits::max_body_bytes`].
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// The limits [`serve`] applies. See the [module docs](self) for what each one cuts.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerLimits {
    /// Longest time from a request's first byte to the end of its headers.
    pub header_read_timeout: Duration,
    /// Longest time a connection stays open with no request in progress.
    pub idle_timeout: Duration,
    /// Longest time from the end of a request's headers to the end of its body.
    pub request_body_timeout: Duration,
    /// Longest time from the end of a request's headers to its answer (503 after).
    pub request_timeout: Duration,
    /// Most connections open at once (at least 1).
    pub max_connections: usize,
    /// Most requests in progress at once (at least 1); more get 503.
    pub max_concurrent_requests: usize,
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            request_body_timeout: DEFAULT_REQUEST_BODY_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_concurrent_requests: DEFAULT_MAX_CONCURRENT_REQUESTS,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }
}

impl ServerLimits {
    /// Set [`header_read_timeout`](Self::header_read_timeout) (at least 1 ms).
    pub fn with_header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// Set [`idle_timeout`](Self::idle_timeout) (at least 1 ms).
    pub fn with_idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// Set [`request_body_timeout`](Self::request_body_timeout) (at least 1 ms).
    pub fn with_request_body_timeout(mut self, timeout: Duration) -> Self {
        self.request_body_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// Set [`request_timeout`](Self::request_timeout) (at least 1 ms).
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// Set [`max_connections`](Self::max_connections) (at least 1).
    pub fn with_max_connections(mut self, connections: usize) -> Self {
        self.max_connections = connections.max(1);
        self
    }

    /// Set [`max_concurrent_requests`](Self::max_concurrent_requests) (at least 1).
    pub fn with_max_concurrent_requests(mut self, requests: usize) -> Self {
        self.max_concurrent_requests = requests.max(1);
        self
    }

    /// Set [`max_body_bytes`](Self::max_body_bytes).
    pub fn with_max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// Every duration at once (tests and demos: e.g. 300 ms to watch stalled clients
    /// being cut).
    pub fn with_all_timeouts(self, timeout: Duration) -> Self {
        self.with_header_read_timeout(timeout)
            .with_idle_timeout(timeout)
            .with_request_body_timeout(timeout)
            .with_request_timeout(timeout)
    }

    /// How often a connection's watchdog looks at it: a quarter of the shortest
    /// connection timeout, between 5 ms and 1 s.
    fn check_every(&self) -> Duration {
        (self.header_read_timeout.min(self.idle_timeout) / 4)
            .clamp(Duration::from_millis(5), Duration::from_secs(1))
    }
}

/// Serve `app` on `listener` with `limits` until the process ends. Accept errors (too
/// many open files, a connection reset before it was accepted) are logged and retried
/// after a short pause, never returned.
///
/// # Errors
/// None in practice; the `io::Result` mirrors `axum::serve`.
pub async fn serve(listener: TcpListener, app: Router, limits: ServerLimits) -> io::Result<()> {
    serve_with_shutdown(listener, app, limits, std::future::pending()).await
}

/// [`serve`] until `shutdown` completes; then stop accepting, let requests in progress
/// finish (each within [`ServerLimits::request_timeout`]), close idle connections, and
/// return once every connection is closed.
///
/// # Errors
/// None in practice; the `io::Result` mirrors `axum::serve`.
pub async fn serve_with_shutdown<F>(
    listener: TcpListener,
    app: Router,
    limits: ServerLimits,
    shutdown: F,
) -> io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let limits = Arc::new(limits);
    let connections = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let requests = Arc::new(Semaphore::new(limits.max_concurrent_requests.max(1)));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        while tasks.try_join_next().is_some() {}
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = connections.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "server: accept failed; retrying");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, %peer, "server: cannot set TCP_NODELAY");
        }
        let connection = Connection {
            app: app.clone(),
            limits: limits.clone(),
            requests: requests.clone(),
            activity: Arc::new(Activity::new()),
        };
        let stop = stop_rx.clone();
        tasks.spawn(async move {
            connection.run(stream, stop).await;
            drop(permit);
        });
    }
    // Ask every connection to finish, then wait for them.
    let _ = stop_tx.send(true);
    while tasks.join_next().await.is_some() {}
    Ok(())
}

/// What a connection's watchdog reads: requests in progress, when the last one ended, and
/// when the bytes of the next one began to arrive.
struct Activity {
    epoch: Instant,
    in_flight: AtomicUsize,
    /// Milliseconds since `epoch` when the connection last became idle.
    idle_since: AtomicU64,
    /// Milliseconds since `epoch` of the first byte read while idle; `u64::MAX` for none.
    head_started: AtomicU64,
}

const NONE: u64 = u64::MAX;

impl Activity {
    fn new() -> Self {
        Self {
            epoch: Instant::now(),
            in_flight: AtomicUsize::new(0),
            idle_since: AtomicU64::new(0),
            head_started: AtomicU64::new(NONE),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(NONE - 1)
    }

    fn bytes_read(&self) {
        if self.in_flight.load(Ordering::Acquire) == 0 && self.head_started.load(Ordering::Acquire) == NONE {
            self.head_started.store(self.now(), Ordering::Release);
        }
    }

    fn request_started(&self) {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.head_started.store(NONE, Ordering::Release);
    }

    fn request_ended(&self) {
        self.idle_since.store(self.now(), Ordering::Release);
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
    }

    /// Why the connection must close now, if it must.
    fn expired(&self, limits: &ServerLimits) -> Option<&'static str> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let now = self.now();
        let since = |at: u64| Duration::from_millis(now.saturating_sub(at));
        match self.head_started.load(Ordering::Acquire) {
            NONE => (since(self.idle_since.load(Ordering::Acquire)) >= limits.idle_timeout)
                .then_some("idle timeout"),
            started => (since(started) >= limits.header_read_timeout).then_some("header read timeout"),
        }
    }
}

/// Marks the request ended when the answer is ready or the request is dropped.
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.request_ended();
    }
}

struct Connection {
    app: Router,
    limits: Arc<ServerLimits>,
    requests: Arc<Semaphore>,
    activity: Arc<Activity>,
}

impl Connection {
    async fn run(self, stream: TcpStream, mut stop: watch::Receiver<bool>) {
        let Connection { app, limits, requests, activity } = self;
        let io = TokioIo::new(Watched { inner: stream, activity: activity.clone() });
        let service = {
            let (limits, activity) = (limits.clone(), activity.clone());
            hyper::service::service_fn(move |request: Request<Incoming>| {
                let (app, limits, requests, activity) =
                    (app.clone(), limits.clone(), requests.clone(), activity.clone());
                async move { Ok::<_, Infallible>(handle(app, &limits, &requests, activity, request).await) }
            })
        };
        let mut builder = hyper::server::conn::http1::Builder::new();
        // The watchdog below applies the header-read timeout (from the first byte, not
        // from when the connection became idle, which hyper's own timer would measure).
        builder.timer(TokioTimer::new()).header_read_timeout(None).keep_alive(true);
        let connection = builder.serve_connection(io, service);
        tokio::pin!(connection);
        let mut check = tokio::time::interval(limits.check_every());
        check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut stopping = false;
        loop {
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(error) = result {
                        tracing::debug!(%error, "server: connection ended with an error");
                    }
                    return;
                }
                _ = check.tick() => {
                    if let Some(why) = activity.expired(&limits) {
                        tracing::debug!(why, "server: closing a stalled connection");
                        return;
                    }
                }
                changed = stop.changed(), if !stopping => {
                    stopping = true;
                    if changed.is_ok() {
                        connection.as_mut().graceful_shutdown();
                    }
                }
            }
        }
    }
}

async fn handle(
    mut app: Router,
    limits: &ServerLimits,
    requests: &Arc<Semaphore>,
    activity: Arc<Activity>,
    request: Request<Incoming>,
) -> Response<Body> {
    activity.request_started();
    let _in_flight = InFlight(activity);
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > limits.max_body_bytes as u64) {
        return refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the body is larger than {} bytes", limits.max_body_bytes),
        );
    }
    let Ok(_permit) = requests.clone().try_acquire_owned() else {
        let mut answer = refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            "too many requests in progress; retry later",
        );
        answer.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return answer;
    };
    let request = request.map(|body| {
        let timed = Deadline {
            inner: body,
            sleep: Box::pin(tokio::time::sleep(limits.request_body_timeout)),
            timeout: limits.request_body_timeout,
        };
        Body::new(http_body_util::Limited::new(timed, limits.max_body_bytes))
    });
    match tokio::time::timeout(limits.request_timeout, app.call(request)).await {
        Ok(Ok(response)) => response,
        Ok(Err(never)) => match never {},
        Err(_) => refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            format!("no answer within {} ms", limits.request_timeout.as_millis()),
        ),
    }
}

fn refuse(status: StatusCode, error: &str, message: impl Into<String>) -> Response<Body> {
    let body = json!({ "error": error, "message": message.into() }).to_string();
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// The request body did not arrive within [`ServerLimits::request_body_timeout`].
#[derive(Debug)]
struct BodyTimeout(Duration);

impl std::fmt::Display for BodyTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the request body did not arrive within {} ms", self.0.as_millis())
    }
}

impl std::error::Error for BodyTimeout {}

/// A request body that fails once its deadline passes.
struct Deadline<B> {
    inner: B,
    sleep: Pin<Box<tokio::time::Sleep>>,
    timeout: Duration,
}

impl<B> HttpBody for Deadline<B>
where
    B: HttpBody<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|frame| frame.map_err(Into::into)));
        }
        if this.sleep.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(Box::new(BodyTimeout(this.timeout)))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The connection's socket, noting when bytes arrive.
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.bytes_read();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builders_clamp_and_defaults_hold() {
        let limits = ServerLimits::default();
        assert_eq!(limits.max_body_bytes, DEFAULT_MAX_BODY_BYTES);
        assert_eq!(limits.header_read_timeout, DEFAULT_HEADER_READ_TIMEOUT);
        let limits = ServerLimits::default()
            .with_max_connections(0)
            .with_max_concurrent_requests(0)
            .with_all_timeouts(Duration::ZERO);
        assert_eq!((limits.max_connections, limits.max_concurrent_requests), (1, 1));
        assert_eq!(limits.idle_timeout, Duration::from_millis(1));
        assert_eq!(limits.check_every(), Duration::from_millis(5));
    }

    #[test]
    fn activity_expires_idle_and_slow_heads_only_without_requests() {
        let limits = ServerLimits::default().with_all_timeouts(Duration::from_millis(1));
        let activity = Activity::new();
        std::thread::sleep(Duration::from_millis(3));
        assert_eq!(activity.expired(&limits), Some("idle timeout"));
        activity.bytes_read();
        std::thread::sleep(Duration::from_millis(3));
        assert_eq!(activity.expired(&limits), Some("header read timeout"));
        activity.request_started();
        std::thread::sleep(Duration::from_millis(3));
        assert_eq!(activity.expired(&limits), None, "a request in progress is never cut here");
        activity.request_ended();
        assert_eq!(activity.expired(&ServerLimits::default()), None);
    }
}
