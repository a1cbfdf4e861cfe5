//! X (Twitter) API v2: direct messages and mentions in, DMs and public replies out
//! (feature `twitter`).
//!
//! - [`XConfig`]: base URL (default `https://api.x.com`, paths `/2/...`, a path prefix is
//!   kept), user-context authentication ([`XAuth`]: an OAuth 2.0 user access token, or
//!   OAuth 1.0a user credentials signed by [`oauth1::OAuth1Signer`]), our own user id,
//!   pacing on X's `x-rate-limit-*` headers (X sends no `Retry-After`; a 429 waits until
//!   `x-rate-limit-reset`, or fails with that hint when it is further away than the retry
//!   policy's longest wait), timeout.
//! - [`client::XClient`]: `GET /2/dm_events`, `GET /2/users/{id}/mentions`, DM send,
//!   public reply.
//! - [`adapter::XSource`]: the [`MessageSource`](crate::ports::MessageSource) the inbox
//!   polls (cursor design documented there).
//! - `webhook`: Account Activity API: CRC answer, signature check, parsing of
//!   `direct_message_events` and `tweet_create_events` into
//!   [`InboundMessage`](crate::ports::InboundMessage)s.
//! - `model`: tolerant serde types.
//!
//! App-only bearer tokens do not work for DMs: use a user-context token.
//!
//! ```no_run
//! # async fn demo() -> deskbridge::Result<()> {
//! use deskbridge::ports::MessageSource;
//! use deskbridge::twitter::{XConfig, XSource};
//!
//! let Some(config) = XConfig::from_env()? else {
//!     println!("no X credentials: run against deskbridge::sim::twitter::XSim instead");
//!     return Ok(());
//! };
//! let source = XSource::from_config(config)?;
//! let batch = source.fetch(&serde_json::Value::Null).await?;
//! for message in &batch.messages {
//!     println!("{:?} from {}: {}", message.kind, message.author_id, message.text);
//! }
//! // store batch.cursor and pass it to the next fetch
//! # Ok(()) }
//! ```

mod activity;
mod adapter;
mod client;
mod model;
mod oauth1;
#[cfg(feature = "server")]
mod receiver;
mod setup;
mod webhook;

use std::fmt;

use secrecy::SecretString;
use url::Url;

use crate::http::auth::REDACTED;
use crate::http::options::from_variable;
use crate::http::{ApiClientBuilder, Auth, ClientOptions, RateLimitHeaders, configure_client};
use crate::{Error, Result};

pub use activity::{
    DM_RECEIVED_EVENT, MENTION_EVENT, XActivity, XActivityWebhook, XDelivery, parse_activity, parse_delivery,
};
pub use adapter::{XCursor, XSource, XSourceOptions};
pub use client::{
    DM_EVENT_FIELDS, DM_EVENT_FIELDS_V2_167, DM_EXPANSIONS, DM_EXPANSIONS_V2_167, DownloadedMedia,
    MAX_DM_MEDIA_BYTES, MAX_RESULTS, MEDIA_FIELDS, MENTION_EXPANSIONS, MENTION_EXPANSIONS_V2_167,
    POST_FIELDS_V2_167, TWEET_FIELDS, USER_FIELDS, XClient, XFieldSet, XFields, dm_media_parts,
};
pub use model::{
    Attachments, CreateDmRequest, CreatePostRequest, CreatedTweet, DataEnvelope, DmEvent, Includes,
    MediaObject, Meta, Problem, ReferencedTweet, ReplyTo, SentDm, Tweet, User, XList, compare_ids,
    snowflake_time, users_by_id,
};
pub use oauth1::{NonceSource, OAuth1Credentials, OAuth1Signer, percent_encode, signature_base_string};
#[cfg(feature = "server")]
pub use receiver::XReceiver;
pub use setup::{EnsuredXWebhook, XWebhookConfig, XWebhookSetup};
pub use webhook::{
    AccountActivity, CrcResponse, MAX_CRC_TOKEN_LEN, SIGNATURE_HEADER, XWebhook, crc_response_token,
    is_crc_token_shaped, parse_account_activity, signature,
};

/// The provider name used in errors, spans and reports.
pub const PROVIDER: &str = "x";

/// The default base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.x.com";

/// How deskbridge authenticates to X, always in a user's context (DMs need one).
#[derive(Clone)]
#[non_exhaustive]
pub enum XAuth {
    /// An OAuth 2.0 user access token (Authorization Code with PKCE; scopes `dm.read`,
    /// `dm.write`, `tweet.read`, `tweet.write`, `users.read`), sent as a bearer token.
    UserToken(SecretString),
    /// OAuth 1.0a user context: consumer key and secret, access token and secret.
    OAuth1(OAuth1Credentials),
}

impl fmt::Debug for XAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UserToken(_) => f.debug_tuple("UserToken").field(&REDACTED).finish(),
            Self::OAuth1(credentials) => f.debug_tuple("OAuth1").field(credentials).finish(),
        }
    }
}

impl XAuth {
    /// The HTTP-layer authentication for this choice.
    pub fn to_http_auth(&self) -> Auth {
        match self {
            Self::UserToken(token) => Auth::Bearer(token.clone()),
            Self::OAuth1(credentials) => Auth::signer(OAuth1Signer::new(credentials.clone())),
        }
    }
}

/// Configuration of the X connection. Secrets are redacted from `Debug`.
///
/// The shared options (base URL, pace, timeout, retry, transport) are set with the methods
/// every provider configuration has (see [`ConfigureClient`](crate::http::ConfigureClient)).
/// The base URL is everything before `/2/...` (default `https://api.x.com`); a path prefix
/// is kept. The default pace is X's `x-rate-limit-*` headers only; the default retry
/// policy fails a 429 whose reset is more than 60 s away at once with
/// [`Error::RateLimited`] carrying the wait.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct XConfig {
    /// User-context authentication.
    pub auth: XAuth,
    /// Our own account's user id (its DMs and posts are not customer messages).
    pub own_user_id: String,
    /// Which OpenAPI document's field names to request (default [`XFields::Auto`]: start
    /// with v2.159's, switch to v2.167's when X refuses them).
    pub fields: XFields,
    /// Base URL, pace, timeout, retry policy, transport.
    options: ClientOptions,
}

configure_client!(
    XConfig,
    provider: PROVIDER,
    api_prefixes: &["/2"],
    default_base_url: |_: &XConfig| default_base_url()
);

impl XConfig {
    /// A configuration for our account `own_user_id` with authentication `auth`, on the
    /// default base URL.
    pub fn new(own_user_id: impl Into<String>, auth: XAuth) -> Self {
        Self {
            auth,
            own_user_id: own_user_id.into(),
            fields: XFields::Auto,
            options: ClientOptions::default(),
        }
    }

    /// A configuration authenticating with an OAuth 2.0 user access token.
    pub fn with_user_token(own_user_id: impl Into<String>, token: impl Into<SecretString>) -> Self {
        Self::new(own_user_id, XAuth::UserToken(token.into()))
    }

    /// A configuration authenticating with OAuth 1.0a user credentials.
    pub fn with_oauth1(own_user_id: impl Into<String>, credentials: OAuth1Credentials) -> Self {
        Self::new(own_user_id, XAuth::OAuth1(credentials))
    }

    /// Request this field vocabulary (see [`XFields`]).
    pub fn with_fields(mut self, fields: XFields) -> Self {
        self.fields = fields;
        self
    }

    /// The [`ApiClient`](crate::http::ApiClient) builder for this configuration (provider `"x"`, X's rate-limit
    /// headers), for callers that add a transport or a shared limiter.
    pub fn api_client_builder(&self) -> ApiClientBuilder {
        self.options
            .api_client_builder(PROVIDER, self.base_url())
            .auth(self.auth.to_http_auth())
            .rate_limit_headers(RateLimitHeaders::x())
    }

    /// Read the configuration from the environment; see [`XConfig::from_env_with`].
    ///
    /// # Errors
    /// As [`XConfig::from_env_with`].
    pub fn from_env() -> Result<Option<Self>> {
        Self::from_env_with(|name| std::env::var(name).ok())
    }

    /// Read the configuration through `lookup`:
    ///
    /// - `X_USER_TOKEN`: an OAuth 2.0 user access token; or all four of
    ///   `X_CONSUMER_KEY`, `X_CONSUMER_SECRET`, `X_ACCESS_TOKEN`, `X_ACCESS_TOKEN_SECRET`
    ///   for OAuth 1.0a (when both are set, the OAuth 2.0 token is used);
    /// - `X_USER_ID`: our account's user id (required with credentials);
    /// - `X_BASE_URL`: optional base URL.
    ///
    /// Empty values count as absent. `Ok(None)` only when none of these variables is set;
    /// a partial configuration is an error, never a silent fallback.
    ///
    /// # Errors
    /// [`Error::Config`] when only some OAuth 1.0a variables are set, `X_USER_ID` is
    /// missing, `X_USER_ID` or `X_BASE_URL` is set without credentials, or `X_BASE_URL` is
    /// not a URL. Messages name variables, never values.
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Result<Option<Self>> {
        let get = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        const OAUTH1: [&str; 4] =
            ["X_CONSUMER_KEY", "X_CONSUMER_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET"];
        let oauth1: Vec<Option<String>> = OAUTH1.iter().map(|name| get(name)).collect();
        let auth = if let Some(token) = get("X_USER_TOKEN") {
            XAuth::UserToken(SecretString::from(token))
        } else if oauth1.iter().all(Option::is_some) {
            let mut values = oauth1.into_iter().flatten();
            let mut next = || values.next().unwrap_or_default();
            XAuth::OAuth1(OAuth1Credentials::new(next(), next(), next(), next()))
        } else if oauth1.iter().any(Option::is_some) {
            let missing: Vec<&str> =
                OAUTH1.iter().zip(&oauth1).filter(|(_, v)| v.is_none()).map(|(name, _)| *name).collect();
            return Err(Error::config(format!(
                "x: incomplete OAuth 1.0a credentials: {} not set",
                missing.join(", ")
            )));
        } else {
            return match ["X_USER_ID", "X_BASE_URL"].into_iter().find(|name| get(name).is_some()) {
                None => Ok(None),
                Some(set) => Err(Error::config(format!(
                    "x: {set} is set but no credentials are: set X_USER_TOKEN, or all of {}",
                    OAUTH1.join(", ")
                ))),
            };
        };
        let own_user_id = get("X_USER_ID")
            .ok_or_else(|| Error::config("x: X_USER_ID (our account's numeric user id) is not set"))?;
        let mut config = Self::new(own_user_id, auth);
        if let Some(base) = get("X_BASE_URL") {
            config = config.with_base_url(base).map_err(from_variable("X_BASE_URL"))?;
        }
        Ok(Some(config))
    }
}

fn default_base_url() -> Url {
    #[allow(clippy::expect_used)]
    Url::parse(DEFAULT_BASE_URL).expect("DEFAULT_BASE_URL is a valid URL constant")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn env_with_nothing_set_is_none_and_without_credentials_is_an_error() {
        assert!(XConfig::from_env_with(env(&[])).unwrap().is_none());
        for set in ["X_USER_ID", "X_BASE_URL"] {
            let error = XConfig::from_env_with(env(&[(set, "https://api.x.com")])).unwrap_err();
            let message = error.to_string();
            assert!(matches!(error, Error::Config(_)), "{message}");
            assert!(message.contains(set) && message.contains("X_USER_TOKEN"), "{message}");
        }
    }

    #[test]
    fn env_with_token_and_base_url() {
        let config = XConfig::from_env_with(env(&[
            ("X_USER_TOKEN", "tok-secret"),
            ("X_USER_ID", "42"),
            ("X_BASE_URL", "http://127.0.0.1:9/prefix"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(config.own_user_id, "42");
        assert_eq!(config.base_url().as_str(), "http://127.0.0.1:9/prefix");
        assert!(matches!(config.auth, XAuth::UserToken(_)));
        assert!(!format!("{config:?}").contains("tok-secret"));
    }

    #[test]
    fn env_oauth1_needs_all_four_and_a_user_id() {
        let partial = XConfig::from_env_with(env(&[("X_CONSUMER_KEY", "k"), ("X_USER_ID", "1")]));
        let message = partial.unwrap_err().to_string();
        assert!(
            message.contains("X_CONSUMER_SECRET") && message.contains("X_ACCESS_TOKEN_SECRET"),
            "{message}"
        );
        let full = [
            ("X_CONSUMER_KEY", "ck"),
            ("X_CONSUMER_SECRET", "cs-secret"),
            ("X_ACCESS_TOKEN", "at"),
            ("X_ACCESS_TOKEN_SECRET", "ats-secret"),
        ];
        assert!(XConfig::from_env_with(env(&full)).is_err(), "X_USER_ID missing");
        let mut with_id = full.to_vec();
        with_id.push(("X_USER_ID", "7"));
        let config = XConfig::from_env_with(env(&with_id)).unwrap().unwrap();
        assert!(matches!(config.auth, XAuth::OAuth1(_)));
        let debug = format!("{config:?}");
        assert!(!debug.contains("cs-secret") && !debug.contains("ats-secret"), "{debug}");
        assert_eq!(config.base_url().as_str(), "https://api.x.com/");
    }
}
