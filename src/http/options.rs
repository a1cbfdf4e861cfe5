//! The client options every provider configuration shares.
//!
//! Documented in the [`http`](crate::http) module docs, where every public item of this file
//! is re-exported (its one path).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use super::client::{ApiClient, ApiClientBuilder, DEFAULT_TIMEOUT};
use super::ratelimit::RateLimit;
use super::retry::RetryPolicy;
use super::transport::Transport;
use crate::{Error, Result};

/// Anything a base URL can be given as: `&str`, `String`, `&String`, [`Url`] or `&Url`.
///
/// Text is parsed (surrounding blanks trimmed); every form is then checked by
/// [`check_base_url`].
pub trait IntoBaseUrl {
    /// The URL, parsed.
    ///
    /// # Errors
    /// [`Error::Config`] naming the text when it is not an absolute URL.
    fn into_base_url(self) -> Result<Url>;
}

impl IntoBaseUrl for Url {
    fn into_base_url(self) -> Result<Url> {
        Ok(self)
    }
}

impl IntoBaseUrl for &Url {
    fn into_base_url(self) -> Result<Url> {
        Ok(self.clone())
    }
}

impl IntoBaseUrl for &str {
    fn into_base_url(self) -> Result<Url> {
        let text = self.trim();
        Url::parse(text).map_err(|e| {
            // Text that does not parse may still hold `user:password@`: never echo it then.
            let shown = if text.contains('@') { "(withheld: it contains '@')" } else { text };
            Error::config(format!("base URL \"{shown}\" is not an absolute URL: {e}"))
        })
    }
}

impl IntoBaseUrl for String {
    fn into_base_url(self) -> Result<Url> {
        self.as_str().into_base_url()
    }
}

impl IntoBaseUrl for &String {
    fn into_base_url(self) -> Result<Url> {
        self.as_str().into_base_url()
    }
}

/// Check a provider's base URL: an `http(s)` URL with a host, no credentials, no query or
/// fragment, and not already ending in one of the provider's own API path prefixes
/// (`api_prefixes`, e.g. `/api/v2` for Zendesk), which the client appends itself and which
/// would otherwise be doubled (`…/api/v2/api/v2/users`, a 404).
///
/// # Errors
/// [`Error::Config`] naming `provider`, the URL (without credentials) and what to change.
pub fn check_base_url(provider: &str, url: &Url, api_prefixes: &[&str]) -> Result<()> {
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(Error::config(format!(
            "{provider}: base URL {} must be an http(s) URL with a host",
            shown(url)
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::config(format!(
            "{provider}: base URL {} must not carry credentials; configure authentication instead",
            shown(url)
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::config(format!(
            "{provider}: base URL {} must not have a query or fragment",
            shown(url)
        )));
    }
    let path = url.path().trim_end_matches('/');
    for prefix in api_prefixes {
        let prefix = prefix.trim_end_matches('/');
        if !prefix.is_empty() && path.ends_with(prefix) {
            let mut without = url.clone();
            without.set_path(&path[..path.len() - prefix.len()]);
            return Err(Error::config(format!(
                "{provider}: base URL {} already ends with the API path {prefix}, which the client \
                 adds to every request; drop it and use {}",
                shown(url),
                shown(&without)
            )));
        }
    }
    Ok(())
}

/// Append ` (from VARIABLE)` to a configuration error's message (other errors pass
/// unchanged), so a bad value read from the environment names its variable once.
#[cfg_attr(
    not(any(
        feature = "aircall",
        feature = "zendesk",
        feature = "usedesk",
        feature = "twitter",
        feature = "shifton"
    )),
    allow(dead_code)
)]
pub(crate) fn from_variable(variable: &str) -> impl Fn(Error) -> Error + '_ {
    move |error| match error {
        Error::Config(message) => Error::Config(format!("{message} (from {variable})")),
        other => other,
    }
}

/// Prefix a configuration error's message with `prefix` (other errors pass unchanged).
#[cfg_attr(not(any(feature = "zendesk", feature = "shifton")), allow(dead_code))]
pub(crate) fn config_prefixed(prefix: &str) -> impl Fn(Error) -> Error + '_ {
    move |error| match error {
        Error::Config(message) => Error::Config(format!("{prefix}: {message}")),
        other => other,
    }
}

/// `url` as shown in messages: never credentials, a query or a fragment.
fn shown(url: &Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}

/// How a provider client reaches its API, the same for every provider: base URL, pace,
/// per-request timeout, retry policy and transport.
///
/// Unset values mean the provider's defaults (its production base URL, its documented
/// pace). Every provider configuration carries one and exposes the same builder methods
/// through [`ConfigureClient`] (also available as inherent methods, so no import is
/// needed):
///
/// ```
/// use std::time::Duration;
/// use deskbridge::http::{ClientOptions, RateLimit, RetryPolicy};
///
/// let options = ClientOptions::default()
///     .with_base_url("http://127.0.0.1:8080")?
///     .with_timeout(Duration::from_secs(5))
///     .with_rate_limit(RateLimit::unlimited())
///     .with_retry(RetryPolicy::default());
/// assert_eq!(options.base_url().map(|url| url.as_str()), Some("http://127.0.0.1:8080/"));
/// assert_eq!(options.timeout(), Duration::from_secs(5));
/// # Ok::<(), deskbridge::Error>(())
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct ClientOptions {
    base_url: Option<Url>,
    rate_limit: Option<RateLimit>,
    timeout: Duration,
    retry: RetryPolicy,
    transport: Option<Arc<dyn Transport>>,
}

impl Default for ClientOptions {
    /// The provider's base URL and pace, a 30 s timeout ([`DEFAULT_TIMEOUT`]), the default
    /// retry policy and a new [`ReqwestTransport`](super::ReqwestTransport).
    fn default() -> Self {
        Self {
            base_url: None,
            rate_limit: None,
            timeout: DEFAULT_TIMEOUT,
            retry: RetryPolicy::default(),
            transport: None,
        }
    }
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientOptions")
            .field("base_url", &self.base_url.as_ref().map(Url::as_str))
            .field("rate_limit", &self.rate_limit)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .field("transport", &self.transport.as_ref().map(|_| "custom"))
            .finish()
    }
}

impl ClientOptions {
    /// Use this base URL: everything before the provider's documented API paths (a path
    /// prefix such as a proxy's `/proxy/aircall` is kept). Which API path prefixes are
    /// refused is checked by the provider configuration's `with_base_url`.
    ///
    /// # Errors
    /// [`Error::Config`] when it is not an absolute `http(s)` URL with a host, or carries
    /// credentials, a query or a fragment.
    pub fn with_base_url(mut self, base_url: impl IntoBaseUrl) -> Result<Self> {
        let url = base_url.into_base_url()?;
        check_base_url("client options", &url, &[])?;
        self.base_url = Some(url);
        Ok(self)
    }

    /// Pace requests at `rate_limit` (replaces the provider's default pace; the provider's
    /// rate-limit headers can still slow it down).
    pub fn with_rate_limit(mut self, rate_limit: RateLimit) -> Self {
        self.rate_limit = Some(rate_limit);
        self
    }

    /// Give up on an attempt after `timeout` (default 30 s; zero is refused when the client
    /// is built).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Retry per `retry` (default [`RetryPolicy::default`]).
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Send requests through `transport` (a shared connection pool, a recording proxy, a
    /// fake in tests) instead of a new [`ReqwestTransport`](super::ReqwestTransport).
    pub fn with_transport(mut self, transport: Arc<dyn Transport>) -> Self {
        self.transport = Some(transport);
        self
    }

    /// Forget the configured pace (back to the provider's default).
    #[cfg(feature = "aircall")]
    pub(crate) fn clear_rate_limit(&mut self) {
        self.rate_limit = None;
    }

    /// The configured base URL; `None` means the provider's default.
    pub fn base_url(&self) -> Option<&Url> {
        self.base_url.as_ref()
    }

    /// The configured pace; `None` means the provider's default.
    pub fn rate_limit(&self) -> Option<RateLimit> {
        self.rate_limit
    }

    /// The per-attempt timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The retry policy.
    pub fn retry(&self) -> RetryPolicy {
        self.retry
    }

    /// The configured transport; `None` means a new [`ReqwestTransport`](super::ReqwestTransport).
    pub fn transport(&self) -> Option<&Arc<dyn Transport>> {
        self.transport.as_ref()
    }

    /// An [`ApiClient`] builder for `provider` at `base_url` carrying these options'
    /// timeout, retry policy, transport and (when set) pace. Callers add authentication,
    /// rate-limit headers and an error interpreter.
    pub fn api_client_builder(&self, provider: &'static str, base_url: Url) -> ApiClientBuilder {
        let mut builder =
            ApiClient::builder(provider, base_url).timeout(self.timeout).retry_policy(self.retry);
        if let Some(rate_limit) = self.rate_limit {
            builder = builder.rate_limit(rate_limit);
        }
        if let Some(transport) = &self.transport {
            builder = builder.transport(Arc::clone(transport));
        }
        builder
    }
}

/// The builder methods every provider configuration shares ([`AircallConfig`],
/// [`ZendeskConfig`], [`UsedeskConfig`], [`XConfig`], [`ShiftonConfig`]): one signature
/// each, whatever the provider.
///
/// Each configuration also has these methods as inherent methods (generated from this
/// trait), so calling them needs no import; the trait is for code generic over providers.
///
/// ```
/// use std::time::Duration;
/// use deskbridge::http::{ConfigureClient, RateLimit};
///
/// fn for_tests<C: ConfigureClient>(config: C, base: &str) -> deskbridge::Result<C> {
///     Ok(config.with_base_url(base)?.with_timeout(Duration::from_secs(2)).with_rate_limit(RateLimit::unlimited()))
/// }
/// let config = for_tests(deskbridge::usedesk::UsedeskConfig::new("token")?, "http://127.0.0.1:9/uapi")?;
/// assert_eq!(config.base_url().as_str(), "http://127.0.0.1:9/uapi");
/// # Ok::<(), deskbridge::Error>(())
/// ```
///
/// [`AircallConfig`]: crate::aircall::AircallConfig
/// [`ZendeskConfig`]: crate::zendesk::ZendeskConfig
/// [`UsedeskConfig`]: crate::usedesk::UsedeskConfig
/// [`XConfig`]: crate::twitter::XConfig
/// [`ShiftonConfig`]: crate::shifton::ShiftonConfig
pub trait ConfigureClient: Sized {
    /// The provider name used in errors.
    const PROVIDER: &'static str;
    /// The API path prefixes the client adds to every request itself (Zendesk's `/api/v2`,
    /// Aircall's `/v1`); a base URL ending in one is refused.
    const API_PATH_PREFIXES: &'static [&'static str];

    /// The shared options.
    fn client_options(&self) -> &ClientOptions;

    /// The shared options, to change.
    fn client_options_mut(&mut self) -> &mut ClientOptions;

    /// The provider's production base URL, used when none is configured.
    fn default_base_url(&self) -> Url;

    /// The base URL requests go to: the configured one, else the provider's default.
    fn base_url(&self) -> Url {
        self.client_options().base_url().cloned().unwrap_or_else(|| self.default_base_url())
    }

    /// The base URL, checked as [`ConfigureClient::with_base_url`] checks it; provider
    /// clients call this when they are built, so a URL given to a constructor as a [`Url`]
    /// (such as `ZendeskConfig::for_base_url`) is refused there.
    ///
    /// # Errors
    /// As [`ConfigureClient::with_base_url`].
    fn checked_base_url(&self) -> Result<Url> {
        let url = self.base_url();
        check_base_url(Self::PROVIDER, &url, Self::API_PATH_PREFIXES)?;
        Ok(url)
    }

    /// Use another base URL (a simulator, a proxy, a sandbox): everything before the
    /// provider's API paths. Takes `&str`, `String`, `&String`, [`Url`] or `&Url`.
    ///
    /// # Errors
    /// [`Error::Config`] naming the URL when it is not an absolute `http(s)` URL with a
    /// host, carries credentials, a query or a fragment, or already ends with the API path
    /// the client adds (e.g. `https://acme.zendesk.com/api/v2/`: drop `/api/v2`).
    fn with_base_url(mut self, base_url: impl IntoBaseUrl) -> Result<Self> {
        let url = base_url.into_base_url().map_err(config_prefixed(Self::PROVIDER))?;
        check_base_url(Self::PROVIDER, &url, Self::API_PATH_PREFIXES)?;
        self.client_options_mut().base_url = Some(url);
        Ok(self)
    }

    /// Pace requests at `rate_limit` instead of the provider's default.
    fn with_rate_limit(mut self, rate_limit: RateLimit) -> Self {
        self.client_options_mut().rate_limit = Some(rate_limit);
        self
    }

    /// Use another per-attempt timeout (default 30 s).
    fn with_timeout(mut self, timeout: Duration) -> Self {
        self.client_options_mut().timeout = timeout;
        self
    }

    /// Use another retry policy.
    fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.client_options_mut().retry = retry;
        self
    }

    /// Send requests through `transport` (shared pool, fake in tests).
    fn with_transport(mut self, transport: Arc<dyn Transport>) -> Self {
        self.client_options_mut().transport = Some(transport);
        self
    }

    /// Replace all the shared options at once. A base URL in `options` is checked as
    /// [`ConfigureClient::with_base_url`] checks it.
    ///
    /// # Errors
    /// As [`ConfigureClient::with_base_url`].
    fn with_client_options(mut self, options: ClientOptions) -> Result<Self> {
        if let Some(url) = options.base_url() {
            check_base_url(Self::PROVIDER, url, Self::API_PATH_PREFIXES)?;
        }
        *self.client_options_mut() = options;
        Ok(self)
    }
}

/// Implement [`ConfigureClient`] for a provider configuration with an `options:
/// ClientOptions` field, and give it the same methods as inherent methods (so callers
/// need no import).
#[cfg_attr(
    not(any(
        feature = "aircall",
        feature = "zendesk",
        feature = "usedesk",
        feature = "twitter",
        feature = "shifton"
    )),
    allow(unused_macros)
)]
macro_rules! configure_client {
    ($config:ty, provider: $provider:expr, api_prefixes: $prefixes:expr, default_base_url: $default:expr) => {
        impl $crate::http::ConfigureClient for $config {
            const PROVIDER: &'static str = $provider;
            const API_PATH_PREFIXES: &'static [&'static str] = $prefixes;

            fn client_options(&self) -> &$crate::http::ClientOptions {
                &self.options
            }

            fn client_options_mut(&mut self) -> &mut $crate::http::ClientOptions {
                &mut self.options
            }

            fn default_base_url(&self) -> ::url::Url {
                #[allow(clippy::redundant_closure_call)]
                ($default)(self)
            }
        }

        impl $config {
            /// The shared client options (base URL, pace, timeout, retry, transport).
            pub fn client_options(&self) -> &$crate::http::ClientOptions {
                &self.options
            }

            /// The base URL requests go to: the configured one, else the provider's default.
            pub fn base_url(&self) -> ::url::Url {
                $crate::http::ConfigureClient::base_url(self)
            }

            /// Use another base URL (a simulator, a proxy, a sandbox): see
            /// [`ConfigureClient::with_base_url`](crate::http::ConfigureClient::with_base_url).
            ///
            /// # Errors
            /// [`Error::Config`](crate::Error::Config) naming the URL when it is unusable or
            /// already ends with the API path the client adds.
            pub fn with_base_url(self, base_url: impl $crate::http::IntoBaseUrl) -> $crate::Result<Self> {
                $crate::http::ConfigureClient::with_base_url(self, base_url)
            }

            /// Pace requests at `rate_limit` instead of the provider's default.
            pub fn with_rate_limit(self, rate_limit: $crate::http::RateLimit) -> Self {
                $crate::http::ConfigureClient::with_rate_limit(self, rate_limit)
            }

            /// Use another per-attempt timeout (default 30 s).
            pub fn with_timeout(self, timeout: ::std::time::Duration) -> Self {
                $crate::http::ConfigureClient::with_timeout(self, timeout)
            }

            /// Use another retry policy.
            pub fn with_retry(self, retry: $crate::http::RetryPolicy) -> Self {
                $crate::http::ConfigureClient::with_retry(self, retry)
            }

            /// Send requests through `transport` (a shared pool, a fake in tests).
            pub fn with_transport(self, transport: ::std::sync::Arc<dyn $crate::http::Transport>) -> Self {
                $crate::http::ConfigureClient::with_transport(self, transport)
            }

            /// Replace all the shared options at once: see
            /// [`ConfigureClient::with_client_options`](crate::http::ConfigureClient::with_client_options).
            ///
            /// # Errors
            /// As [`Self::with_base_url`].
            pub fn with_client_options(self, options: $crate::http::ClientOptions) -> $crate::Result<Self> {
                $crate::http::ConfigureClient::with_client_options(self, options)
            }
        }
    };
}
pub(crate) use configure_client;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_prefix_is_refused_with_the_url_and_the_fix() {
        let url = Url::parse("https://acme.zendesk.com/api/v2/").unwrap();
        let message = check_base_url("zendesk", &url, &["/api/v2"]).unwrap_err().to_string();
        assert!(message.contains("https://acme.zendesk.com/api/v2/"), "{message}");
        assert!(message.contains("https://acme.zendesk.com/"), "{message}");
        assert_eq!(message.matches("configuration error").count(), 1, "{message}");
        let proxy = Url::parse("https://proxy.example/zendesk").unwrap();
        assert!(check_base_url("zendesk", &proxy, &["/api/v2"]).is_ok());
    }

    #[test]
    fn every_url_form_is_accepted() {
        let url = Url::parse("http://127.0.0.1:9/x").unwrap();
        for options in [
            ClientOptions::default().with_base_url("http://127.0.0.1:9/x").unwrap(),
            ClientOptions::default().with_base_url(String::from(" http://127.0.0.1:9/x ")).unwrap(),
            ClientOptions::default().with_base_url(&url).unwrap(),
            ClientOptions::default().with_base_url(url.clone()).unwrap(),
        ] {
            assert_eq!(options.base_url(), Some(&url));
        }
        assert!(ClientOptions::default().with_base_url("not a url").is_err());
        assert!(ClientOptions::default().with_base_url("https://u:p@example.com").is_err());
        let message =
            ClientOptions::default().with_base_url("https://u:hunter2@exa mple.com").unwrap_err().to_string();
        assert!(!message.contains("hunter2"), "{message}");
    }
}
