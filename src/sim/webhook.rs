//! Webhook deliveries: a body and its headers, built (and signed) by a provider simulator,
//! that tests inspect directly or POST to a receiver.

use std::time::Duration;

use url::Url;

use crate::error::{TransportFailure, excerpt};
use crate::{Error, Result};

/// How long [`WebhookDelivery::send`] waits for the receiver.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// One webhook delivery exactly as the provider would send it: the raw body bytes (what a
/// signature covers) and the headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookDelivery {
    /// The provider sending it (`"zendesk"`).
    pub provider: &'static str,
    /// The raw body.
    pub body: Vec<u8>,
    /// The headers, names in lower case.
    pub headers: Vec<(String, String)>,
}

impl WebhookDelivery {
    /// A delivery of `body` with `headers` (names are lower-cased).
    pub fn new(provider: &'static str, body: Vec<u8>, headers: Vec<(String, String)>) -> Self {
        let headers = headers.into_iter().map(|(name, value)| (name.to_ascii_lowercase(), value)).collect();
        Self { provider, body, headers }
    }

    /// The value of a header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }

    /// The body parsed as JSON, when it is JSON.
    pub fn body_json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// POST the delivery to `url` and return the receiver's HTTP status.
    ///
    /// # Errors
    ///
    /// [`Error::Transport`] when the receiver cannot be reached or does not answer within
    /// 10 s; [`Error::Config`] when a header cannot be sent.
    pub async fn send(&self, url: &Url) -> Result<u16> {
        let mut headers = reqwest::header::HeaderMap::new();
        for (name, value) in &self.headers {
            let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|error| Error::config(format!("webhook header name `{name}`: {error}")))?;
            let value = reqwest::header::HeaderValue::from_str(value)
                .map_err(|error| Error::config(format!("webhook header `{name}` value: {error}")))?;
            headers.insert(name, value);
        }
        let transport_error = |failure: TransportFailure, error: reqwest::Error| Error::Transport {
            provider: self.provider,
            method: "POST".to_owned(),
            path: url.path().to_owned(),
            call: Some(Box::new(crate::error::CallInfo::new(
                format!("{}{}", url.origin().ascii_serialization(), url.path()),
                None,
            ))),
            failure,
            message: excerpt(&error.to_string(), 300),
            source: Some(error.without_url().into()),
        };
        let client = reqwest::Client::builder()
            .timeout(SEND_TIMEOUT)
            .build()
            .map_err(|error| transport_error(TransportFailure::Request, error))?;
        let response =
            client.post(url.clone()).headers(headers).body(self.body.clone()).send().await.map_err(
                |error| {
                    let failure = if error.is_timeout() {
                        TransportFailure::Timeout
                    } else if error.is_connect() {
                        TransportFailure::Connect
                    } else {
                        TransportFailure::Interrupted
                    };
                    transport_error(failure, error)
                },
            )?;
        Ok(response.status().as_u16())
    }
}
