//! The transport: executes one fully built HTTP request.
//!
//! Documented in the [`http`](crate::http) module docs, where every public item of this file
//! is re-exported (its one path).

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::Method;
use reqwest::header::HeaderMap;
use url::Url;

use crate::error::{BoxError, TransportFailure};
use crate::{Error, Result};

/// One fully built request: everything a transport needs, nothing it must decide.
///
/// The URL is absolute and already carries the query; the headers already carry
/// authentication. `Debug` shows neither the query nor any header value.
#[derive(Clone)]
pub struct HttpRequest {
    /// HTTP method.
    pub method: Method,
    /// Absolute URL, query included.
    pub url: Url,
    /// Every header to send (authentication included).
    pub headers: HeaderMap,
    /// Body bytes, when there is a body.
    pub body: Option<Vec<u8>>,
    /// How long the whole exchange (connect, send, read the full answer) may take.
    pub timeout: Duration,
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("origin", &self.url.origin().ascii_serialization())
            .field("path", &self.url.path())
            .field("header_names", &self.headers.keys().collect::<Vec<_>>())
            .field("body_len", &self.body.as_ref().map(Vec::len))
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// A complete answer from the server, whatever its status.
#[derive(Clone)]
pub struct HttpResponse {
    /// HTTP status code.
    pub status: u16,
    /// Response headers (case-insensitive lookup).
    pub headers: HeaderMap,
    /// The full body.
    pub body: Vec<u8>,
}

impl fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field("header_names", &self.headers.keys().collect::<Vec<_>>())
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// Why a transport produced no complete answer. The API client turns it into
/// [`Error::Transport`] with the provider name, the request's path template and the URL
/// called (without its query), keeping [`TransportError::source`] as the error's source.
#[derive(Debug)]
#[non_exhaustive]
pub struct TransportError {
    /// The kind of failure; decides whether a retry is safe.
    pub failure: TransportFailure,
    /// Detail from the HTTP stack. Never contains the URL.
    pub message: String,
    /// The HTTP stack's own error, when there is one. It must not mention the URL (whose
    /// query may carry secrets): [`ReqwestTransport`] strips it with
    /// `reqwest::Error::without_url`.
    pub source: Option<BoxError>,
}

impl TransportError {
    /// A failure of the given kind with a message.
    pub fn new(failure: TransportFailure, message: impl Into<String>) -> Self {
        Self { failure, message: message.into(), source: None }
    }

    /// Keep `source` as the cause (it must not mention the URL).
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.source = Some(source.into());
        self
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.failure, self.message)
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|source| source as &(dyn std::error::Error + 'static))
    }
}

/// Executes one request. Implementations must be cheap to share (`Send + Sync`); the API
/// client calls [`Transport::execute`] once per attempt.
#[async_trait]
pub trait Transport: Send + Sync {
    /// Send the request and read the complete answer, or say why that was impossible.
    /// A non-success HTTP status is an answer, not a failure.
    async fn execute(&self, request: HttpRequest) -> std::result::Result<HttpResponse, TransportError>;
}

/// The production transport: reqwest with rustls, one pooled client for every request.
#[derive(Clone, Debug)]
pub struct ReqwestTransport {
    client: reqwest::Client,
}

impl ReqwestTransport {
    /// A transport with its own `reqwest::Client` (rustls, connection pooling, no
    /// redirects: a redirect could carry credentials to another host).
    ///
    /// # Errors
    /// [`Error::Config`] when the TLS backend cannot be initialised.
    pub fn new() -> Result<Self> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::config(format!("cannot build the HTTP client: {}", describe(&e))))?;
        Ok(Self { client })
    }

    /// A transport over an existing client (to share one pool across API clients, or to
    /// configure proxies). The client's redirect policy is the caller's responsibility.
    pub fn with_client(client: reqwest::Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl Transport for ReqwestTransport {
    async fn execute(&self, request: HttpRequest) -> std::result::Result<HttpResponse, TransportError> {
        let mut builder = self
            .client
            .request(request.method, request.url)
            .headers(request.headers)
            .timeout(request.timeout);
        if let Some(body) = request.body {
            builder = builder.body(body);
        }
        let response = builder.send().await.map_err(|e| classify_owned(e, false))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(|e| classify_owned(e, true))?.to_vec();
        Ok(HttpResponse { status, headers, body })
    }
}

/// Map a reqwest error to a failure kind and a message without the URL (which may carry
/// tokens in its query).
fn classify(error: &reqwest::Error, reading_body: bool) -> TransportError {
    let failure = if error.is_timeout() {
        TransportFailure::Timeout
    } else if error.is_builder() {
        TransportFailure::Request
    } else if error.is_connect() {
        TransportFailure::Connect
    } else if reading_body || error.is_body() || error.is_decode() || error.is_request() {
        TransportFailure::Interrupted
    } else {
        TransportFailure::Request
    };
    TransportError::new(failure, describe(error))
}

/// [`classify`], keeping the error (without its URL) as the source.
fn classify_owned(error: reqwest::Error, reading_body: bool) -> TransportError {
    classify(&error, reading_body).with_source(error.without_url())
}

/// The error and its causes, joined, with the URL removed.
fn describe(error: &reqwest::Error) -> String {
    let mut parts = Vec::new();
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(error);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.contains(&text) {
            parts.push(text);
        }
        source = cause.source();
    }
    if parts.is_empty() {
        // reqwest's own Display names the URL; describe the kind instead.
        let kind = if error.is_timeout() {
            "operation timed out"
        } else if error.is_connect() {
            "connection failed"
        } else if error.is_body() {
            "body error"
        } else if error.is_decode() {
            "decode error"
        } else if error.is_builder() {
            "request could not be built"
        } else {
            "request failed"
        };
        kind.to_string()
    } else {
        parts.join(": ")
    }
}
