//! The typed Aircall API client: configuration, users, availabilities, teams.
//!
//! Built on [`ApiClient`]: requests are paced (60 per minute by default, tightened further
//! by Aircall's `X-AircallApi-Limit` / `-Remaining` / `-Reset` headers), retried on 429
//! until `X-AircallApi-Reset`, and Aircall's `{"error", "troubleshoot"}` bodies become
//! [`Error::Api`] messages such as `Not found (User not found)`.
//!
//! # Pagination and proxies
//!
//! Listings ask for `per_page=50` (Aircall's maximum) and follow `meta.next_page_link`
//! lazily, one page at a time. Aircall's links are absolute URLs. A link on the configured
//! base URL's origin is followed as it is (the real API, and the simulators, which build
//! links on their own origin). A link on *another* origin (typical behind a proxy or a
//! recording gateway that forwards to `api.aircall.io` without rewriting bodies) is never
//! sent there, since that would hand the credentials to a host nobody configured: its
//! query (`page`, `per_page`, …) is re-applied to the same listing path on the configured
//! base URL instead. Aircall caps any one query at 10,000 records.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use futures_util::Stream;
use secrecy::SecretString;
use serde::de::DeserializeOwned;
use url::Url;

use super::model::{
    AvailabilitiesPage, AvailabilityUpdate, PagedEnvelope, Substatus, Team, TeamsPage, User,
    UserAvailability, UserEnvelope, UsersPage, WritableStatus,
};
use crate::http::options::from_variable;
use crate::http::{
    ApiClient, ApiRequest, Auth, ClientOptions, Cursor, Method, Page, RateLimit, RateLimitHeaders,
    RateLimiter, collect_all, configure_client, paginate,
};
use crate::{Error, Result};

pub(crate) use super::PROVIDER;

/// Aircall's production base URL (the client appends `/v1/...`).
pub const DEFAULT_BASE_URL: &str = "https://api.aircall.io";

const USERS_UNKNOWN: u8 = 0;
const USERS_V2: u8 = 2;
const USERS_V1: u8 = 1;

fn is_status(error: &Error, statuses: &[u16]) -> bool {
    matches!(error, Error::Api { status, .. } if statuses.contains(status))
}

/// Page size of every listing: Aircall's maximum.
pub const PER_PAGE: u32 = 50;

/// Requests per minute assumed until Aircall's headers say more (the published figure is
/// 60 or 120 per company; UNCONFIRMED which).
pub const DEFAULT_REQUESTS_PER_MINUTE: u32 = 60;

/// Environment variable: Basic-auth API id.
pub const ENV_API_ID: &str = "AIRCALL_API_ID";
/// Environment variable: Basic-auth API token.
pub const ENV_API_TOKEN: &str = "AIRCALL_API_TOKEN";
/// Environment variable: OAuth access token (Bearer), instead of the id/token pair.
pub const ENV_ACCESS_TOKEN: &str = "AIRCALL_ACCESS_TOKEN";
/// Environment variable: base URL override (simulator, proxy, sandbox).
pub const ENV_BASE_URL: &str = "AIRCALL_BASE_URL";

/// How requests to Aircall authenticate.
#[derive(Clone)]
#[non_exhaustive]
pub enum AircallAuth {
    /// Company API key: `Authorization: Basic base64(api_id:api_token)`.
    Basic {
        /// The API id (an identifier, shown in `Debug`).
        api_id: String,
        /// The API token (secret).
        api_token: SecretString,
    },
    /// An OAuth 2.0 access token of a technology partner: `Authorization: Bearer …`.
    Bearer(SecretString),
}

impl AircallAuth {
    fn to_http(&self) -> Auth {
        match self {
            Self::Basic { api_id, api_token } => {
                Auth::Basic { username: api_id.clone(), password: api_token.clone() }
            }
            Self::Bearer(token) => Auth::Bearer(token.clone()),
        }
    }
}

impl fmt::Debug for AircallAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Basic { api_id, .. } => f
                .debug_struct("Basic")
                .field("api_id", api_id)
                .field("api_token", &crate::http::auth::REDACTED)
                .finish(),
            Self::Bearer(_) => f.debug_tuple("Bearer").field(&crate::http::auth::REDACTED).finish(),
        }
    }
}

/// Everything needed to talk to one Aircall company.
///
/// ```
/// use deskbridge::aircall::AircallConfig;
/// let config = AircallConfig::basic("api-id", "api-token")
///     .with_base_url("http://127.0.0.1:8080")?;
/// assert_eq!(config.base_url().as_str(), "http://127.0.0.1:8080/");
/// assert!(!format!("{config:?}").contains("api-token"));
/// // The client adds `/v1/...` itself: a base URL ending in it is refused.
/// assert!(AircallConfig::bearer("token").with_base_url("https://api.aircall.io/v1").is_err());
/// # Ok::<(), deskbridge::Error>(())
/// ```
///
/// The shared options (base URL, pace, timeout, retry, transport) are set with the
/// methods every provider configuration has (see [`ConfigureClient`](crate::http::ConfigureClient)).
/// [`AircallConfig::with_rate_limit`] is an override: without it the client starts at 60
/// requests per minute and follows the limit Aircall states in `X-AircallApi-Limit`
/// (published figures disagree, 60 or 120 per minute per company, UNCONFIRMED which
/// applies); [`AircallConfig::with_learned_rate_limit`] changes the starting pace.
#[derive(Clone)]
#[non_exhaustive]
pub struct AircallConfig {
    /// Credentials.
    pub auth: AircallAuth,
    /// Base URL, pace, timeout, retry policy, transport.
    options: ClientOptions,
    /// The starting pace while the limit is learned from the headers (used when no
    /// override pace is set).
    learned_start: RateLimit,
}

impl fmt::Debug for AircallConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AircallConfig")
            .field("base_url", &self.base_url().as_str())
            .field("auth", &self.auth)
            .field("options", &self.options)
            .field("learn_rate_limit", &self.learns_rate_limit())
            .finish()
    }
}

fn default_base_url() -> Url {
    // A compile-time constant that is a valid URL (checked by tests/providers/aircall_contract.rs), not
    // outside data.
    #[allow(clippy::expect_used)]
    Url::parse(DEFAULT_BASE_URL).expect("DEFAULT_BASE_URL is a valid URL")
}

configure_client!(
    AircallConfig,
    provider: PROVIDER,
    api_prefixes: &["/v1", "/v2"],
    default_base_url: |_: &AircallConfig| default_base_url()
);

impl AircallConfig {
    /// Basic authentication with a company API key, production base URL, defaults.
    pub fn basic(api_id: impl Into<String>, api_token: impl Into<SecretString>) -> Self {
        Self::with_auth(AircallAuth::Basic { api_id: api_id.into(), api_token: api_token.into() })
    }

    /// OAuth bearer authentication, production base URL, defaults.
    pub fn bearer(access_token: impl Into<SecretString>) -> Self {
        Self::with_auth(AircallAuth::Bearer(access_token.into()))
    }

    /// These credentials, production base URL, 60 requests per minute (learned from the
    /// headers afterwards), 30 s timeout.
    pub fn with_auth(auth: AircallAuth) -> Self {
        Self {
            auth,
            options: ClientOptions::default(),
            learned_start: RateLimit::per_minute(DEFAULT_REQUESTS_PER_MINUTE),
        }
    }

    /// Start at `initial` and pace by the limit Aircall states once it has answered
    /// (the default, with 60 per minute). Clears an override set with
    /// [`AircallConfig::with_rate_limit`].
    pub fn with_learned_rate_limit(mut self, initial: RateLimit) -> Self {
        self.learned_start = initial;
        self.options.clear_rate_limit();
        self
    }

    /// True when the client will learn its pace from `X-AircallApi-Limit` (no override
    /// pace set).
    pub fn learns_rate_limit(&self) -> bool {
        self.options.rate_limit().is_none()
    }

    /// The pace the client starts at: the override, else the learned pace's start.
    pub fn rate_limit(&self) -> RateLimit {
        self.options.rate_limit().unwrap_or(self.learned_start)
    }

    /// Read the configuration from the process environment: see
    /// [`AircallConfig::from_env_with`].
    ///
    /// # Errors
    /// As [`AircallConfig::from_env_with`].
    pub fn from_env() -> Result<Option<Self>> {
        Self::from_env_with(|name| std::env::var(name).ok())
    }

    /// Read the configuration through `lookup` (a variable name in, its value out):
    ///
    /// - `AIRCALL_API_ID` + `AIRCALL_API_TOKEN`: Basic authentication; or
    ///   `AIRCALL_ACCESS_TOKEN`: Bearer authentication;
    /// - `AIRCALL_BASE_URL`: optional base URL override.
    ///
    /// Empty or blank values count as unset. Returns `Ok(None)` only when none of these
    /// variables is set (callers may then fall back to a simulator); a partial
    /// configuration is an error, never a silent fallback.
    ///
    /// # Errors
    /// [`Error::Config`] naming the variable when `AIRCALL_BASE_URL` is malformed or set
    /// without credentials, when only one of `AIRCALL_API_ID` / `AIRCALL_API_TOKEN` is set,
    /// or when both an access token and an id/token pair are set (which one to use would be
    /// a guess).
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Result<Option<Self>> {
        let read = |name: &str| lookup(name).map(|value| value.trim().to_owned()).filter(|v| !v.is_empty());
        let base_url = read(ENV_BASE_URL);
        let auth = match (read(ENV_API_ID), read(ENV_API_TOKEN), read(ENV_ACCESS_TOKEN)) {
            (None, None, None) if base_url.is_none() => return Ok(None),
            (None, None, None) => {
                return Err(Error::config(format!(
                    "aircall: {ENV_BASE_URL} is set but no credentials are: set {ENV_API_ID} and \
                     {ENV_API_TOKEN}, or {ENV_ACCESS_TOKEN}"
                )));
            }
            (Some(_), _, Some(_)) | (_, Some(_), Some(_)) => {
                return Err(Error::config(format!(
                    "aircall: both {ENV_ACCESS_TOKEN} and {ENV_API_ID}/{ENV_API_TOKEN} are set; set only one"
                )));
            }
            (None, None, Some(token)) => AircallAuth::Bearer(SecretString::from(token)),
            (Some(api_id), Some(api_token), None) => {
                AircallAuth::Basic { api_id, api_token: SecretString::from(api_token) }
            }
            (Some(_), None, None) => {
                return Err(Error::config(format!(
                    "aircall: {ENV_API_ID} is set but {ENV_API_TOKEN} is not"
                )));
            }
            (None, Some(_), None) => {
                return Err(Error::config(format!(
                    "aircall: {ENV_API_TOKEN} is set but {ENV_API_ID} is not"
                )));
            }
        };
        let config = Self::with_auth(auth);
        match base_url {
            Some(base_url) => config.with_base_url(base_url).map(Some).map_err(from_variable(ENV_BASE_URL)),
            None => Ok(Some(config)),
        }
    }
}

/// The typed Aircall API. Cheap to clone (clones share connections and the rate limiter).
#[derive(Clone, Debug)]
pub struct AircallClient {
    api: ApiClient,
    /// Which users API generation answered (`USERS_*`), shared by clones.
    users_api: Arc<AtomicU8>,
}

impl AircallClient {
    /// Build a client for `config`.
    ///
    /// # Errors
    /// [`Error::Config`] for an unusable base URL or timeout.
    pub fn new(config: AircallConfig) -> Result<Self> {
        let limiter = if config.learns_rate_limit() {
            RateLimiter::learning(config.rate_limit(), RateLimitHeaders::aircall())
        } else {
            RateLimiter::new(config.rate_limit(), RateLimitHeaders::aircall())
        };
        let api = config
            .options
            .api_client_builder(PROVIDER, config.base_url())
            .auth(config.auth.to_http())
            .rate_limiter(limiter)
            .build()?;
        Ok(Self::from_api_client(api))
    }

    /// Wrap an [`ApiClient`] built elsewhere (a shared limiter or a custom transport). It
    /// should use [`RateLimitHeaders::aircall`] and the default error interpreter.
    pub fn from_api_client(api: ApiClient) -> Self {
        Self { api, users_api: Arc::new(AtomicU8::new(USERS_UNKNOWN)) }
    }

    /// The users API generation in use: `Some(2)` once `/v2/users` answered, `Some(1)`
    /// after falling back to `/v1/users`, `None` before the first users call.
    pub fn users_api_version(&self) -> Option<u8> {
        match self.users_api.load(Ordering::Relaxed) {
            USERS_V2 => Some(2),
            USERS_V1 => Some(1),
            _ => None,
        }
    }

    fn fall_back_to_v1_users(&self, error: &Error) {
        if self.users_api.swap(USERS_V1, Ordering::Relaxed) != USERS_V1 {
            tracing::warn!(
                provider = PROVIDER,
                %error,
                "aircall: /v2/users is not available for this account; using the v1 user endpoints, \
                 which public clients report as deprecated"
            );
        }
    }

    /// The underlying HTTP client.
    pub fn api(&self) -> &ApiClient {
        &self.api
    }

    /// `GET /v1/ping`: check the credentials.
    ///
    /// # Errors
    /// [`Error::Api`] with status 401/403 for bad credentials; transport errors.
    pub async fn ping(&self) -> Result<()> {
        self.api.send(ApiRequest::get("/v1/ping")).await.map(|_| ())
    }

    /// Every user, lazily, one page at a time: `GET /v2/users` (the current line; public
    /// clients report the v1 user endpoints deprecated), falling back to `GET /v1/users`
    /// with a warning when the first v2 page answers 404 or 410. The generation that
    /// worked is kept for this client and its clones.
    pub fn users(&self) -> impl Stream<Item = Result<User>> + Send + 'static {
        let client = self.clone();
        paginate(PROVIDER, "GET /v2/users", move |cursor| {
            let client = client.clone();
            async move {
                let v1 = client.users_api.load(Ordering::Relaxed) == USERS_V1;
                let path = if v1 { "/v1/users" } else { "/v2/users" };
                let first_page = cursor.is_none();
                match client.users_page(path, cursor).await {
                    Err(error) if !v1 && first_page && is_status(&error, &[404, 410]) => {
                        client.fall_back_to_v1_users(&error);
                        client.users_page("/v1/users", None).await
                    }
                    Ok(page) => {
                        if !v1 {
                            client.users_api.store(USERS_V2, Ordering::Relaxed);
                        }
                        Ok(page)
                    }
                    Err(error) => Err(error),
                }
            }
        })
    }

    async fn users_page(&self, path: &'static str, cursor: Option<Cursor>) -> Result<Page<User>> {
        let request = page_request(&self.api, path, cursor)?;
        let (items, meta) = self.api.send_json::<UsersPage>(request).await?.into_parts();
        Page::with_link(PROVIDER, &format!("GET {path}"), items, meta.next_page_link.as_deref())
    }

    /// Every user (all pages of [`AircallClient::users`]).
    ///
    /// # Errors
    /// The first error of any page.
    pub async fn list_users(&self) -> Result<Vec<User>> {
        collect_all(self.users()).await
    }

    /// One user: `GET /v2/users/{id}`, or `GET /v1/users/{id}` once v2 proved missing.
    /// A v2 404 is ambiguous (unknown user, or no v2 line), so it is asked once more on
    /// v1: a v1 answer means v2 is missing (kept, with a warning); a v1 404 is the unknown
    /// user's error.
    ///
    /// # Errors
    /// [`Error::Api`] (404) for an unknown user; [`Error::Decode`] for an unreadable body.
    pub async fn user(&self, id: u64) -> Result<User> {
        let get = |path: &'static str| async move {
            let request = ApiRequest::get(path).param("id", id)?;
            Ok::<User, Error>(self.api.send_json::<UserEnvelope>(request).await?.user)
        };
        if self.users_api.load(Ordering::Relaxed) == USERS_V1 {
            return get("/v1/users/{id}").await;
        }
        match get("/v2/users/{id}").await {
            Ok(user) => {
                self.users_api.store(USERS_V2, Ordering::Relaxed);
                Ok(user)
            }
            Err(v2_error) if is_status(&v2_error, &[404, 410]) => {
                let user = get("/v1/users/{id}").await?;
                self.fall_back_to_v1_users(&v2_error);
                Ok(user)
            }
            Err(error) => Err(error),
        }
    }

    /// `GET /v1/users/availabilities`, every page, lazily: Aircall's read-only, computed
    /// availability (`in_call`, `after_call_work`, …) of every user.
    pub fn availabilities(&self) -> impl Stream<Item = Result<UserAvailability>> + Send + 'static {
        self.paged::<AvailabilitiesPage>("/v1/users/availabilities")
    }

    /// Every row of `GET /v1/users/availabilities`.
    ///
    /// # Errors
    /// The first error of any page.
    pub async fn list_availabilities(&self) -> Result<Vec<UserAvailability>> {
        collect_all(self.availabilities()).await
    }

    /// `GET /v1/teams`, every page, lazily. Teams are Aircall's groups: deskbridge reads
    /// an agent's groups from the teams that list them (there is no v2 teams line).
    pub fn teams(&self) -> impl Stream<Item = Result<Team>> + Send + 'static {
        self.paged::<TeamsPage>("/v1/teams")
    }

    /// Every team (`GET /v1/teams`, all pages).
    ///
    /// # Errors
    /// The first error of any page.
    pub async fn list_teams(&self) -> Result<Vec<Team>> {
        collect_all(self.teams()).await
    }

    /// `PUT /v1/users/{id}` with `{"availability_status": …}` and, when given,
    /// `"substatus"`. Returns the updated user.
    ///
    /// # Errors
    /// [`Error::Api`] when Aircall refuses (unknown user, a substatus reasons are not
    /// enabled for); [`Error::Decode`] for an unreadable answer.
    pub async fn set_availability(
        &self,
        id: u64,
        status: WritableStatus,
        substatus: Option<Substatus>,
    ) -> Result<User> {
        let body = AvailabilityUpdate { availability_status: status, substatus };
        let request = ApiRequest::put("/v1/users/{id}").param("id", id)?.json(&body)?;
        Ok(self.api.send_json::<UserEnvelope>(request).await?.user)
    }

    /// A lazy stream over a paged listing at `path` (see the module docs on links).
    pub(crate) fn paged<E>(&self, path: &'static str) -> impl Stream<Item = Result<E::Item>> + Send + 'static
    where
        E: PagedEnvelope + DeserializeOwned + Send + 'static,
        E::Item: Send + 'static,
    {
        let api = self.api.clone();
        let context = format!("GET {path}");
        paginate(PROVIDER, context.clone(), move |cursor| {
            let api = api.clone();
            let context = context.clone();
            async move {
                let request = page_request(&api, path, cursor)?;
                let (items, meta) = api.send_json::<E>(request).await?.into_parts();
                Page::with_link(PROVIDER, &context, items, meta.next_page_link.as_deref())
            }
        })
    }
}

/// The request for one page: the first page with `per_page=50`, then the page link.
fn page_request(api: &ApiClient, path: &'static str, cursor: Option<Cursor>) -> Result<ApiRequest> {
    match cursor {
        None => Ok(ApiRequest::get(path).query("per_page", PER_PAGE)),
        Some(Cursor::Link(link)) if link.origin() == api.base_url().origin() => {
            Ok(ApiRequest::absolute(Method::GET, format!("{path} (next page)"), link))
        }
        Some(Cursor::Link(link)) => {
            // Another origin (a proxy that does not rewrite links): keep the credentials on
            // the configured origin and re-apply the link's query to the same listing.
            let mut request = ApiRequest::get(path);
            for (key, value) in link.query_pairs() {
                request = request.query(key.into_owned(), value);
            }
            Ok(request)
        }
        Some(other) => Err(Error::Decode {
            provider: PROVIDER,
            context: format!("GET {path}"),
            json_path: "meta.next_page_link".into(),
            message: format!("unexpected cursor kind {}", cursor_kind(&other)),
        }),
    }
}

fn cursor_kind(cursor: &Cursor) -> &'static str {
    match cursor {
        Cursor::Link(_) => "link",
        Cursor::Token(_) => "token",
        Cursor::Offset(_) => "offset",
    }
}
