//! The typed Zendesk API client, its configuration, and the account-mode logic.
//!
//! Every call goes through one [`ApiClient`] (pacing, retries on 429 with `Retry-After`,
//! error interpretation, secret redaction). See the [module docs](super) for the request
//! counts of the operations the adapter uses.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, RwLock};

use futures_util::stream::{self, Stream, StreamExt, TryStreamExt};
use secrecy::SecretString;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::sync::OnceCell;
use url::Url;

use super::model::{
    AccountSettings, AgentAvailability, AgentStatusesPage, AvailabilitiesPage, AvailabilityDocument,
    CursorLinks, CursorMeta, GroupMembership, GroupMembershipsPage, GroupsPage, IncrementalUsersPage,
    TalkAvailability, TalkState, UnifiedStatus, User, UsersPage, ZendeskErrorInterpreter, ZendeskGroup,
    talk_availability_from,
};
use crate::http::options::{config_prefixed, from_variable};
use crate::http::{
    ApiClient, ApiRequest, Auth, ClientOptions, ConfigureClient, Cursor, IntoBaseUrl, Method, Page,
    RateLimit, RateLimitHeaders, check_base_url, collect_all, configure_client, paginate,
};
use crate::{Error, Result};

/// The provider name used in errors and spans.
pub const PROVIDER: &str = "zendesk";
/// Page size of every cursor listing (the documented maximum for users, groups and
/// memberships).
pub const PAGE_SIZE: u32 = 100;
/// Default pace: 400 requests per minute (Zendesk Suite Growth and Professional).
pub const DEFAULT_REQUESTS_PER_MINUTE: u32 = 400;
/// Users per page of the incremental user export (its documented maximum, 1000).
pub const INCREMENTAL_PAGE_SIZE: u32 = 1000;

/// Where an incremental export starts ([`ZendeskClient::incremental_users`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IncrementalStart {
    /// At this UNIX time (seconds).
    Time(i64),
    /// Where a previous export ended (its `after_cursor`).
    Cursor(String),
}

/// How many groups' membership listings run at once (the client still paces every
/// request under its rate limit).
pub const MEMBERSHIP_READ_CONCURRENCY: usize = 4;
/// How many Talk availability reads run at once when routing is off (the client still
/// paces them).
pub const TALK_READ_CONCURRENCY: usize = 8;

/// How the client authenticates.
#[derive(Clone)]
#[non_exhaustive]
pub enum ZendeskAuth {
    /// API token: HTTP Basic with user name `{email}/token`.
    ApiToken {
        /// The e-mail of a Zendesk user (an admin for the agent-availability APIs).
        email: String,
        /// The API token.
        token: SecretString,
    },
    /// OAuth access token: `Authorization: Bearer …`.
    OAuth(SecretString),
}

impl ZendeskAuth {
    /// API-token authentication for `email`.
    pub fn api_token(email: impl Into<String>, token: impl Into<SecretString>) -> Self {
        Self::ApiToken { email: email.into(), token: token.into() }
    }

    /// OAuth bearer authentication.
    pub fn oauth(token: impl Into<SecretString>) -> Self {
        Self::OAuth(token.into())
    }

    fn to_http_auth(&self) -> Auth {
        match self {
            Self::ApiToken { email, token } => Auth::basic(format!("{email}/token"), token.clone()),
            Self::OAuth(token) => Auth::Bearer(token.clone()),
        }
    }
}

impl fmt::Debug for ZendeskAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ApiToken { email, .. } => {
                f.debug_struct("ApiToken").field("email", email).field("token", &"[redacted]").finish()
            }
            Self::OAuth(_) => f.debug_tuple("OAuth").field(&"[redacted]").finish(),
        }
    }
}

impl fmt::Display for ZendeskAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ApiToken { email, .. } => write!(f, "API token of {email}"),
            Self::OAuth(_) => f.write_str("OAuth access token"),
        }
    }
}

/// Which status API an account uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AccountMode {
    /// Omnichannel routing on: unified agent statuses (read from the agent-availability
    /// API, written with the unified status PUT).
    Unified,
    /// Omnichannel routing off: the legacy Talk availability (`agent_state`).
    Talk,
}

/// How the client decides the [`AccountMode`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ModeSetting {
    /// Read `GET /api/v2/account/settings` once; when it does not say (keys absent, or
    /// the call is refused with 403/404), learn from the answers: agent availabilities
    /// carrying `agent_status` mean unified; a 400 from the Talk PUT means unified; a
    /// 403/404 from the unified API means Talk. The learned mode is cached per client.
    #[default]
    Auto,
    /// Always this mode; no detection, no fallback.
    Forced(AccountMode),
}

/// The body of the unified status write (`PUT
/// /api/v2/agent_availabilities/agent_statuses/agents/{id}`).
///
/// **UNCONFIRMED which one Zendesk takes**: its reference documents the endpoint and the
/// answer (a `agent_availabilities` resource) but shows no request body we could verify;
/// two independent public callers send `{"id": N}`, a third-party API catalogue shows the
/// JSON:API form. See [`UnifiedBodySetting`] for how the client copes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UnifiedBody {
    /// `{"id": N}` (the unified status id as a number).
    IdObject,
    /// `{"data":{"type":"agent_status","attributes":{"agent_status_id":"N"}}}` (the id as
    /// a string, as the catalogue shows it).
    JsonApi,
}

impl UnifiedBody {
    /// The other form.
    pub fn other(self) -> Self {
        match self {
            Self::IdObject => Self::JsonApi,
            Self::JsonApi => Self::IdObject,
        }
    }

    /// The JSON body for `status_id` in this form.
    pub fn body(self, status_id: i64) -> Value {
        match self {
            Self::IdObject => json!({ "id": status_id }),
            Self::JsonApi => json!({ "data": {
                "type": "agent_status",
                "attributes": { "agent_status_id": status_id.to_string() },
            }}),
        }
    }

    fn to_u8(self) -> u8 {
        match self {
            Self::IdObject => 0,
            Self::JsonApi => 1,
        }
    }

    fn from_u8(value: u8) -> Self {
        if value == 1 { Self::JsonApi } else { Self::IdObject }
    }
}

/// How the client chooses the [`UnifiedBody`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnifiedBodySetting {
    /// Send `{"id": N}` first; when Zendesk answers 400 (it names a body it cannot read),
    /// send the same change once in the other form, and keep the form that worked for
    /// this client and its clones (a warning is logged on the switch). Default.
    #[default]
    Auto,
    /// Always this form; a 400 is returned as is.
    Fixed(UnifiedBody),
}

/// How a custom unified status is reported as an agent's voice status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum CustomStatusReading {
    /// By its name (`In a meeting`).
    #[default]
    ByName,
    /// By its talk-channel value (`away` for an "In a meeting" whose talk channel is away),
    /// so custom statuses map through the four Talk values. Costs one cached request for
    /// the status list.
    ByTalkChannel,
}

/// Configuration of a [`ZendeskClient`].
///
/// Built with [`ZendeskConfig::for_subdomain`] (`https://{subdomain}.zendesk.com`) or
/// [`ZendeskConfig::for_base_url`] (a sandbox, a proxy, a simulator); the shared options
/// (base URL, pace, timeout, retry, transport) are set with the methods every provider
/// configuration has (see [`ConfigureClient`]).
///
/// ```
/// use deskbridge::zendesk::{ZendeskAuth, ZendeskConfig};
/// let auth = ZendeskAuth::api_token("admin@acme.example", "token-secret");
/// let config = ZendeskConfig::for_subdomain("acme", auth.clone())?;
/// assert_eq!(config.base_url().as_str(), "https://acme.zendesk.com/");
/// assert!(!format!("{config:?} {config}").contains("token-secret"));
/// // The client adds `/api/v2/...` itself: a base URL carrying it is refused.
/// let error = config.with_base_url("https://acme.zendesk.com/api/v2/").unwrap_err();
/// assert!(error.to_string().contains("drop it"));
/// # Ok::<(), deskbridge::Error>(())
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct ZendeskConfig {
    /// Credentials.
    pub auth: ZendeskAuth,
    /// How the account mode is decided.
    pub mode: ModeSetting,
    /// How custom unified statuses read as voice statuses.
    pub custom_status_reading: CustomStatusReading,
    /// Which body the unified status write sends (default: learn it).
    pub unified_body: UnifiedBodySetting,
    /// The account's URL, from the constructor (the base URL unless overridden).
    account_url: Url,
    /// Base URL override, pace (default [`DEFAULT_REQUESTS_PER_MINUTE`]; the limit headers
    /// are read too), timeout, retry policy (429s honour `Retry-After`), transport.
    options: ClientOptions,
}

impl fmt::Debug for ZendeskConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZendeskConfig")
            .field("base_url", &self.base_url().as_str())
            .field("auth", &self.auth)
            .field("options", &self.options)
            .field("mode", &self.mode)
            .field("custom_status_reading", &self.custom_status_reading)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for ZendeskConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Zendesk at {} ({})", self.base_url(), self.auth)
    }
}

configure_client!(
    ZendeskConfig,
    provider: PROVIDER,
    api_prefixes: &["/api/v2"],
    default_base_url: |config: &ZendeskConfig| config.account_url.clone()
);

impl ZendeskConfig {
    /// The account `https://{subdomain}.zendesk.com`.
    ///
    /// # Errors
    /// [`Error::Config`] when the subdomain is not letters, digits and inner hyphens.
    pub fn for_subdomain(subdomain: &str, auth: ZendeskAuth) -> Result<Self> {
        let subdomain = subdomain.trim();
        let valid = !subdomain.is_empty()
            && subdomain.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !subdomain.starts_with('-')
            && !subdomain.ends_with('-');
        if !valid {
            return Err(Error::config(format!(
                "zendesk: subdomain \"{subdomain}\" is not valid (expected e.g. `acme` for \
                 acme.zendesk.com; set a base URL for anything else)"
            )));
        }
        let url = Url::parse(&format!("https://{}.zendesk.com", subdomain.to_ascii_lowercase()))
            .map_err(|e| Error::config(format!("zendesk: subdomain \"{subdomain}\": {e}")))?;
        Ok(Self::for_base_url(url, auth))
    }

    /// An account at any base URL (a sandbox, a proxy, a simulator): everything before
    /// `/api/v2/...`. To give it as text, use [`ZendeskConfig::with_base_url`] on any
    /// configuration. A URL that already ends with `/api/v2` is refused when the client is
    /// built ([`ZendeskClient::new`]), naming the URL and the path to drop.
    pub fn for_base_url(base_url: Url, auth: ZendeskAuth) -> Self {
        Self {
            account_url: base_url,
            auth,
            options: ClientOptions::default(),
            mode: ModeSetting::Auto,
            custom_status_reading: CustomStatusReading::ByName,
            unified_body: UnifiedBodySetting::Auto,
        }
    }

    /// Set how the account mode is decided.
    pub fn with_mode(mut self, mode: ModeSetting) -> Self {
        self.mode = mode;
        self
    }

    /// Set how custom statuses read.
    pub fn with_custom_status_reading(mut self, reading: CustomStatusReading) -> Self {
        self.custom_status_reading = reading;
        self
    }

    /// Set the unified status write body (default [`UnifiedBodySetting::Auto`]).
    pub fn with_unified_body(mut self, setting: UnifiedBodySetting) -> Self {
        self.unified_body = setting;
        self
    }

    /// From the process environment; see [`ZendeskConfig::from_env_with`].
    ///
    /// # Errors
    /// As [`ZendeskConfig::from_env_with`].
    pub fn from_env() -> Result<Option<Self>> {
        Self::from_env_with(|name| std::env::var(name).ok())
    }

    /// From variables looked up with `lookup` (empty values count as absent):
    ///
    /// - `ZENDESK_OAUTH_TOKEN`, or `ZENDESK_EMAIL` + `ZENDESK_API_TOKEN`: the credentials
    ///   (OAuth wins when both are set).
    /// - `ZENDESK_BASE_URL` (wins) or `ZENDESK_SUBDOMAIN`: where the account is.
    ///
    /// `Ok(None)` only when none of these five is set; a partial configuration is an
    /// error, never a silent fallback.
    ///
    /// # Errors
    /// [`Error::Config`] naming the variable: `ZENDESK_EMAIL` missing beside an API token
    /// (or the reverse), neither `ZENDESK_SUBDOMAIN` nor `ZENDESK_BASE_URL` set beside
    /// credentials, either of them set without credentials, or an unparsable value.
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Result<Option<Self>> {
        let get = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let oauth = get("ZENDESK_OAUTH_TOKEN");
        let email = get("ZENDESK_EMAIL");
        let token = get("ZENDESK_API_TOKEN");
        let auth = match (oauth, email, token) {
            (Some(oauth), _, _) => ZendeskAuth::oauth(oauth),
            (None, Some(email), Some(token)) => ZendeskAuth::api_token(email, token),
            (None, None, Some(_)) => {
                return Err(Error::config(
                    "zendesk: ZENDESK_API_TOKEN is set but ZENDESK_EMAIL is not (API tokens \
                     authenticate as `{email}/token`)",
                ));
            }
            (None, Some(_), None) => {
                return Err(Error::config(
                    "zendesk: ZENDESK_EMAIL is set but neither ZENDESK_API_TOKEN nor ZENDESK_OAUTH_TOKEN is",
                ));
            }
            (None, None, None) => {
                return match ["ZENDESK_BASE_URL", "ZENDESK_SUBDOMAIN"]
                    .into_iter()
                    .find(|name| get(name).is_some())
                {
                    None => Ok(None),
                    Some(set) => Err(Error::config(format!(
                        "zendesk: {set} is set but no credentials are: set ZENDESK_EMAIL and \
                         ZENDESK_API_TOKEN, or ZENDESK_OAUTH_TOKEN"
                    ))),
                };
            }
        };
        let config = match (get("ZENDESK_BASE_URL"), get("ZENDESK_SUBDOMAIN")) {
            (Some(base), _) => {
                let url = base
                    .into_base_url()
                    .map_err(config_prefixed(PROVIDER))
                    .and_then(|url| {
                        check_base_url(PROVIDER, &url, <Self as ConfigureClient>::API_PATH_PREFIXES)
                            .map(|()| url)
                    })
                    .map_err(from_variable("ZENDESK_BASE_URL"))?;
                Self::for_base_url(url, auth)
            }
            (None, Some(subdomain)) => {
                Self::for_subdomain(&subdomain, auth).map_err(from_variable("ZENDESK_SUBDOMAIN"))?
            }
            (None, None) => {
                return Err(Error::config(
                    "zendesk: credentials are set but neither ZENDESK_SUBDOMAIN nor ZENDESK_BASE_URL is",
                ));
            }
        };
        Ok(Some(config))
    }
}

/// The unified statuses of one account, resolvable by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusCatalog {
    statuses: Vec<UnifiedStatus>,
}

impl StatusCatalog {
    /// A catalog of these statuses.
    pub fn new(statuses: Vec<UnifiedStatus>) -> Self {
        Self { statuses }
    }

    /// Every status, defaults first, in the server's order.
    pub fn statuses(&self) -> &[UnifiedStatus] {
        &self.statuses
    }

    /// The status named `name`: exactly, else the only one whose canonical form (see
    /// [`canonical_status_name`]) matches.
    pub fn by_name(&self, name: &str) -> Option<&UnifiedStatus> {
        if let Some(status) = self.statuses.iter().find(|status| status.name == name) {
            return Some(status);
        }
        let wanted = canonical_status_name(name);
        let mut matches = self.statuses.iter().filter(|status| canonical_status_name(&status.name) == wanted);
        match (matches.next(), matches.next()) {
            (Some(status), None) => Some(status),
            _ => None,
        }
    }

    /// The status with this id.
    pub fn by_id(&self, id: i64) -> Option<&UnifiedStatus> {
        self.statuses.iter().find(|status| status.id == id)
    }

    /// Every name, quoted, comma-separated (for error messages).
    pub fn names(&self) -> String {
        self.statuses.iter().map(|status| format!("\"{}\"", status.name)).collect::<Vec<_>>().join(", ")
    }
}

/// The spelling deskbridge reports for a unified status name: the four defaults in the
/// API's snake_case (`Online` and `Transfers only` become `online` and `transfers_only`,
/// because the documentation shows both spellings: UNCONFIRMED which the API sends), any
/// other name unchanged.
pub fn canonical_status_name(name: &str) -> String {
    let folded = name.trim().to_ascii_lowercase().replace([' ', '-'], "_");
    match TalkState::from_name(&folded) {
        Some(state) => state.as_str().to_owned(),
        None => name.to_owned(),
    }
}

/// Which write path a status change took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WritePath {
    /// The unified status PUT, with the status id resolved by name.
    Unified {
        /// The status id sent.
        status_id: i64,
    },
    /// The Talk availability PUT.
    Talk(TalkState),
}

/// A typed Zendesk API client. Cheap to clone; clones share the connection pool, the rate
/// limiter and the caches (account mode, status catalog).
#[derive(Clone)]
pub struct ZendeskClient {
    api: ApiClient,
    mode_setting: ModeSetting,
    custom_status_reading: CustomStatusReading,
    settings_mode: Arc<OnceCell<Option<AccountMode>>>,
    learned_mode: Arc<RwLock<Option<AccountMode>>>,
    catalog: Arc<RwLock<Option<Arc<StatusCatalog>>>>,
    /// Held while the catalog is first fetched, so concurrent writes wait for that one
    /// request instead of each fetching the catalog.
    catalog_fetch: Arc<tokio::sync::Mutex<()>>,
    unified_body_setting: UnifiedBodySetting,
    /// The unified write body in use ([`UnifiedBody`] as a number), shared by clones.
    unified_body: Arc<AtomicU8>,
}

impl fmt::Debug for ZendeskClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZendeskClient")
            .field("base_url", &self.api.base_url().as_str())
            .field("mode_setting", &self.mode_setting)
            .field("learned_mode", &self.cached_mode())
            .finish_non_exhaustive()
    }
}

/// A page's items, `meta` and `links`.
pub(crate) type PageParts<T> = (Vec<T>, Option<CursorMeta>, Option<CursorLinks>);

fn is_status(error: &Error, statuses: &[u16]) -> bool {
    matches!(error, Error::Api { status, .. } if statuses.contains(status))
}

fn cursor_page<T>(
    items: Vec<T>,
    meta: Option<CursorMeta>,
    links: Option<CursorLinks>,
    context: &str,
) -> Result<Page<T>> {
    let meta = meta.unwrap_or_default();
    let links = links.unwrap_or_default();
    let has_more = meta.has_more;
    if !has_more {
        return Ok(Page::last(items));
    }
    if let Some(after) = meta.after_cursor.filter(|cursor| !cursor.is_empty()) {
        return Ok(Page::new(items, Some(Cursor::Token(after))));
    }
    let page = Page::with_link(PROVIDER, context, items, links.next.as_deref())?;
    if page.next.is_none() {
        return Err(Error::Decode {
            provider: PROVIDER,
            context: context.to_owned(),
            json_path: "meta.after_cursor".into(),
            message: "meta.has_more is true but neither meta.after_cursor nor links.next is given".into(),
        });
    }
    Ok(page)
}

impl ZendeskClient {
    /// Build a client.
    ///
    /// # Errors
    /// [`Error::Config`] for an unusable base URL or timeout.
    pub fn new(config: ZendeskConfig) -> Result<Self> {
        let rate_limit =
            config.options.rate_limit().unwrap_or(RateLimit::per_minute(DEFAULT_REQUESTS_PER_MINUTE));
        let api = config
            .options
            .api_client_builder(PROVIDER, config.checked_base_url()?)
            .auth(config.auth.to_http_auth())
            .rate_limit(rate_limit)
            .rate_limit_headers(RateLimitHeaders::zendesk())
            .error_interpreter(ZendeskErrorInterpreter)
            .build()?;
        Ok(Self::from_api_client(api, config.mode, config.custom_status_reading)
            .with_unified_body(config.unified_body))
    }

    /// Wrap an already built [`ApiClient`] (custom transport, shared limiter).
    pub fn from_api_client(
        api: ApiClient,
        mode: ModeSetting,
        custom_status_reading: CustomStatusReading,
    ) -> Self {
        Self {
            api,
            mode_setting: mode,
            custom_status_reading,
            settings_mode: Arc::new(OnceCell::new()),
            learned_mode: Arc::new(RwLock::new(None)),
            catalog: Arc::new(RwLock::new(None)),
            catalog_fetch: Arc::new(tokio::sync::Mutex::new(())),
            unified_body_setting: UnifiedBodySetting::Auto,
            unified_body: Arc::new(AtomicU8::new(UnifiedBody::IdObject.to_u8())),
        }
    }

    /// Choose the unified status write body (default [`UnifiedBodySetting::Auto`]).
    pub fn with_unified_body(mut self, setting: UnifiedBodySetting) -> Self {
        self.unified_body_setting = setting;
        if let UnifiedBodySetting::Fixed(form) = setting {
            self.unified_body.store(form.to_u8(), Ordering::Relaxed);
        }
        self
    }

    /// The body form the next unified status write sends.
    pub fn unified_body(&self) -> UnifiedBody {
        match self.unified_body_setting {
            UnifiedBodySetting::Fixed(form) => form,
            UnifiedBodySetting::Auto => UnifiedBody::from_u8(self.unified_body.load(Ordering::Relaxed)),
        }
    }

    /// The underlying HTTP client.
    pub fn api(&self) -> &ApiClient {
        &self.api
    }

    /// How custom statuses read as voice statuses.
    pub fn custom_status_reading(&self) -> CustomStatusReading {
        self.custom_status_reading
    }

    /// Stream every item of a cursor listing at `path` (`page[size]=100`, then
    /// `page[after]` from `meta.after_cursor`, or `links.next` when only that is given).
    pub(crate) fn cursor_list<P, T>(
        &self,
        path: &'static str,
        query: Vec<(&'static str, String)>,
        split: fn(P) -> PageParts<T>,
    ) -> impl Stream<Item = Result<T>> + Send + 'static
    where
        P: DeserializeOwned + Send + 'static,
        T: Send + 'static,
    {
        self.cursor_list_with(path, Vec::new(), query, split)
    }

    /// [`cursor_list`](Self::cursor_list) of a path template with `{placeholders}` filled
    /// from `params` (`/api/v2/groups/{group_id}/memberships`).
    pub(crate) fn cursor_list_with<P, T>(
        &self,
        path: &'static str,
        params: Vec<(&'static str, i64)>,
        query: Vec<(&'static str, String)>,
        split: fn(P) -> PageParts<T>,
    ) -> impl Stream<Item = Result<T>> + Send + 'static
    where
        P: DeserializeOwned + Send + 'static,
        T: Send + 'static,
    {
        let api = self.api.clone();
        let context = format!("GET {path}");
        paginate(PROVIDER, context.clone(), move |cursor| {
            let api = api.clone();
            let query = query.clone();
            let params = params.clone();
            let context = context.clone();
            async move {
                let request = match cursor {
                    Some(Cursor::Link(url)) => {
                        ApiRequest::absolute(Method::GET, format!("{context} (next page)"), url)
                    }
                    other => {
                        let mut request = ApiRequest::get(path);
                        for (name, value) in params {
                            request = request.param(name, value)?;
                        }
                        for (key, value) in query {
                            request = request.query(key, value);
                        }
                        request = request.query("page[size]", PAGE_SIZE);
                        if let Some(Cursor::Token(after)) = other {
                            request = request.query("page[after]", after);
                        }
                        request
                    }
                };
                let page: P = api.send_json(request).await?;
                let (items, meta, links) = split(page);
                cursor_page(items, meta, links, &context)
            }
        })
    }

    /// Every agent and admin (`GET /api/v2/users?role[]=agent&role[]=admin`), lazily, 100
    /// per request.
    pub fn agents(&self) -> impl Stream<Item = Result<User>> + Send + 'static {
        self.cursor_list(
            "/api/v2/users",
            vec![("role[]", "agent".to_owned()), ("role[]", "admin".to_owned())],
            |page: UsersPage| (page.users, page.meta, page.links),
        )
    }

    /// Every agent and admin, collected.
    ///
    /// # Errors
    /// The first failing page's error.
    pub async fn list_agents(&self) -> Result<Vec<User>> {
        collect_all(self.agents()).await
    }

    /// Every group (`GET /api/v2/groups`), lazily.
    pub fn groups(&self) -> impl Stream<Item = Result<ZendeskGroup>> + Send + 'static {
        self.cursor_list("/api/v2/groups", Vec::new(), |page: GroupsPage| {
            (page.groups, page.meta, page.links)
        })
    }

    /// Every group, collected.
    ///
    /// # Errors
    /// The first failing page's error.
    pub async fn list_groups(&self) -> Result<Vec<ZendeskGroup>> {
        collect_all(self.groups()).await
    }

    /// Every group membership of the account (`GET /api/v2/group_memberships`), lazily.
    pub fn group_memberships(&self) -> impl Stream<Item = Result<GroupMembership>> + Send + 'static {
        self.cursor_list("/api/v2/group_memberships", Vec::new(), |page: GroupMembershipsPage| {
            (page.group_memberships, page.meta, page.links)
        })
    }

    /// Every group membership, collected.
    ///
    /// # Errors
    /// The first failing page's error.
    pub async fn list_group_memberships(&self) -> Result<Vec<GroupMembership>> {
        collect_all(self.group_memberships()).await
    }

    /// The users changed since `from` (`GET /api/v2/incremental/users/cursor.json`, the
    /// cursor-based incremental user export, 1000 users a page, every role), read to the
    /// end of the stream; returns them with the cursor to continue from next time.
    ///
    /// [`IncrementalStart::Time`] starts at a UNIX time in seconds (Zendesk requires it to
    /// be at least a minute in the past and leaves out the last minute; the time is
    /// clamped to a minute ago); [`IncrementalStart::Cursor`] continues a previous export.
    /// Zendesk limits incremental exports to 10 requests a minute (UNCONFIRMED for this
    /// endpoint: documented for incremental exports in general); the client's pace is not
    /// tightened for it, so call it at most a few times a minute.
    ///
    /// # Errors
    /// [`Error::Decode`] when a page that is not the last gives no `after_cursor`; the
    /// failing page's error otherwise.
    pub async fn incremental_users(&self, from: IncrementalStart) -> Result<(Vec<User>, String)> {
        let mut users = Vec::new();
        let mut position = from;
        loop {
            let mut request = ApiRequest::get("/api/v2/incremental/users/cursor.json")
                .query("per_page", INCREMENTAL_PAGE_SIZE);
            request = match &position {
                IncrementalStart::Time(start) => {
                    let latest = chrono::Utc::now().timestamp() - 60;
                    request.query("start_time", (*start).min(latest).max(0))
                }
                IncrementalStart::Cursor(cursor) => request.query("cursor", cursor),
            };
            let page: IncrementalUsersPage = self.api.send_json(request).await?;
            users.extend(page.users);
            let Some(after) = page.after_cursor.filter(|cursor| !cursor.is_empty()) else {
                return Err(Error::Decode {
                    provider: PROVIDER,
                    context: "GET /api/v2/incremental/users/cursor.json".into(),
                    json_path: "after_cursor".into(),
                    message: "the export gave no after_cursor to continue from".into(),
                });
            };
            if page.end_of_stream {
                return Ok((users, after));
            }
            position = IncrementalStart::Cursor(after);
        }
    }

    /// The memberships of one group (`GET /api/v2/groups/{group_id}/memberships`),
    /// lazily, 100 per request.
    pub fn memberships_of_group(
        &self,
        group_id: i64,
    ) -> impl Stream<Item = Result<GroupMembership>> + Send + 'static {
        self.cursor_list_with(
            "/api/v2/groups/{group_id}/memberships",
            vec![("group_id", group_id)],
            Vec::new(),
            |page: GroupMembershipsPage| (page.group_memberships, page.meta, page.links),
        )
    }

    /// The memberships of each group in `group_ids`, [`MEMBERSHIP_READ_CONCURRENCY`]
    /// groups at a time. Every request still goes through the client's rate limiter (the
    /// concurrency only overlaps round trips), and each group's listing runs to its last
    /// page or fails: a page refused with 429 is retried by the client's retry policy, and
    /// when the retries run out the whole call fails rather than return a short list.
    ///
    /// # Errors
    /// The first failing page's error.
    pub async fn list_memberships_of_groups(&self, group_ids: &[i64]) -> Result<Vec<GroupMembership>> {
        let listings: Vec<Vec<GroupMembership>> = stream::iter(group_ids.iter().copied())
            .map(|group_id| collect_all(self.memberships_of_group(group_id)))
            .buffer_unordered(MEMBERSHIP_READ_CONCURRENCY)
            .try_collect()
            .await?;
        Ok(listings.into_iter().flatten().collect())
    }

    /// Agent availabilities (`GET /api/v2/agent_availabilities`, JSON:API, cursor pages),
    /// lazily; only the agents in `agent_ids` when given (`filter[agent_id]=1,2,3`).
    /// Resources without an agent id are skipped.
    pub fn agent_availabilities(
        &self,
        agent_ids: Option<&[i64]>,
    ) -> impl Stream<Item = Result<AgentAvailability>> + Send + 'static {
        let query = match agent_ids {
            Some(ids) => {
                vec![("filter[agent_id]", ids.iter().map(i64::to_string).collect::<Vec<_>>().join(","))]
            }
            None => Vec::new(),
        };
        self.cursor_list("/api/v2/agent_availabilities", query, |page: AvailabilitiesPage| {
            (page.data.into_iter().filter_map(|r| r.into_availability()).collect(), page.meta, page.links)
        })
    }

    /// Agent availabilities, collected.
    ///
    /// # Errors
    /// The first failing page's error.
    pub async fn list_agent_availabilities(
        &self,
        agent_ids: Option<&[i64]>,
    ) -> Result<Vec<AgentAvailability>> {
        collect_all(self.agent_availabilities(agent_ids)).await
    }

    /// One agent's availability (`GET /api/v2/agent_availabilities/{id}`).
    /// `agent_status` is `Some` only with omnichannel routing.
    ///
    /// # Errors
    /// [`Error::Api`] (404 for an unknown agent), [`Error::Decode`] when the document
    /// names no agent.
    pub async fn agent_availability(&self, agent_id: i64) -> Result<AgentAvailability> {
        let request =
            ApiRequest::get("/api/v2/agent_availabilities/{agent_id}").param("agent_id", agent_id)?;
        let document: AvailabilityDocument = self.api.send_json(request).await?;
        document.data.into_availability().ok_or_else(|| Error::Decode {
            provider: PROVIDER,
            context: "GET /api/v2/agent_availabilities/{agent_id}".into(),
            json_path: "data.attributes.agent_id".into(),
            message: "the availability names no agent".into(),
        })
    }

    /// Every unified status of the account (`GET
    /// /api/v2/agent_availabilities/agent_statuses`, all pages), defaults first.
    ///
    /// # Errors
    /// [`Error::Api`]: typically 403/404 when omnichannel routing is off.
    pub async fn agent_statuses(&self) -> Result<Vec<UnifiedStatus>> {
        let stream = self.cursor_list(
            "/api/v2/agent_availabilities/agent_statuses",
            Vec::new(),
            |page: AgentStatusesPage| {
                let statuses = page
                    .default
                    .into_iter()
                    .map(|raw| raw.into_status(false))
                    .chain(page.custom.into_iter().map(|raw| raw.into_status(true)))
                    .collect();
                (statuses, page.meta, page.links)
            },
        );
        let mut statuses: Vec<UnifiedStatus> = collect_all(stream).await?;
        statuses.sort_by_key(|status| status.custom);
        Ok(statuses)
    }

    /// The account's status catalog, fetched once and cached; concurrent callers share
    /// one fetch.
    ///
    /// # Errors
    /// As [`ZendeskClient::agent_statuses`].
    pub async fn status_catalog(&self) -> Result<Arc<StatusCatalog>> {
        if let Some(catalog) = self.cached_catalog() {
            return Ok(catalog);
        }
        let _fetching = self.catalog_fetch.lock().await;
        // Another caller may have fetched it while this one waited.
        if let Some(catalog) = self.cached_catalog() {
            return Ok(catalog);
        }
        self.refresh_status_catalog().await
    }

    fn cached_catalog(&self) -> Option<Arc<StatusCatalog>> {
        self.catalog.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Fetch the status catalog again (a status was added or renamed) and cache it.
    ///
    /// # Errors
    /// As [`ZendeskClient::agent_statuses`].
    pub async fn refresh_status_catalog(&self) -> Result<Arc<StatusCatalog>> {
        let catalog = Arc::new(StatusCatalog::new(self.agent_statuses().await?));
        *self.catalog.write().unwrap_or_else(|e| e.into_inner()) = Some(catalog.clone());
        Ok(catalog)
    }

    /// Resolve a unified status by name from the (cached) catalog, refreshing it once when
    /// the name is unknown.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the status and listing the known names; or the
    /// catalog's fetch error.
    pub async fn resolve_status(&self, name: &str) -> Result<UnifiedStatus> {
        let catalog = self.status_catalog().await?;
        if let Some(status) = catalog.by_name(name) {
            return Ok(status.clone());
        }
        let catalog = self.refresh_status_catalog().await?;
        catalog.by_name(name).cloned().ok_or_else(|| {
            Error::invalid(
                "zendesk status",
                format!("no unified agent status named \"{name}\"; this account has {}", catalog.names()),
            )
        })
    }

    /// Set an agent's unified status by id (`PUT
    /// /api/v2/agent_availabilities/agent_statuses/agents/{id}`).
    ///
    /// **The body shape is UNCONFIRMED** (see [`UnifiedBody`]): under the default
    /// [`UnifiedBodySetting::Auto`] the client sends `{"id": N}` and, on a 400, the JSON:API
    /// form once, then keeps whichever Zendesk took. The answer is not decoded (whether
    /// it is wrapped in `data` is also unconfirmed).
    ///
    /// # Errors
    /// [`Error::Api`]: 403/404 when omnichannel routing is off (or the agent is unknown),
    /// 422 for an unknown status id, 400 when neither body form is accepted (the error of
    /// the second form, which names both in the log).
    pub async fn set_unified_status(&self, agent_id: i64, status_id: i64) -> Result<()> {
        let form = self.unified_body();
        match self.put_unified_status(agent_id, status_id, form).await {
            Err(error)
                if self.unified_body_setting == UnifiedBodySetting::Auto && is_status(&error, &[400]) =>
            {
                let other = form.other();
                tracing::warn!(
                    provider = PROVIDER,
                    agent_id,
                    refused = ?form,
                    trying = ?other,
                    %error,
                    "zendesk: the unified status write body was refused; trying the other documented form once"
                );
                self.put_unified_status(agent_id, status_id, other).await?;
                self.unified_body.store(other.to_u8(), Ordering::Relaxed);
                Ok(())
            }
            other => other,
        }
    }

    async fn put_unified_status(&self, agent_id: i64, status_id: i64, form: UnifiedBody) -> Result<()> {
        let request = ApiRequest::put("/api/v2/agent_availabilities/agent_statuses/agents/{agent_id}")
            .param("agent_id", agent_id)?
            .json(&form.body(status_id))?;
        self.api.send(request).await?;
        Ok(())
    }

    /// An agent's Talk availability (`GET /api/v2/channels/voice/availabilities/{id}`).
    /// With omnichannel routing on, `agent_state` is derived from the unified status.
    /// The answer is read wrapped in `availability` (as documented) or bare.
    ///
    /// # Errors
    /// [`Error::Api`], [`Error::Decode`].
    pub async fn talk_availability(&self, agent_id: i64) -> Result<TalkAvailability> {
        let request = ApiRequest::get("/api/v2/channels/voice/availabilities/{agent_id}")
            .param("agent_id", agent_id)?;
        let value: Value = self.api.send_json(request).await?;
        talk_availability_from(&value).map_err(|(json_path, message)| Error::Decode {
            provider: PROVIDER,
            context: "GET /api/v2/channels/voice/availabilities/{agent_id}".into(),
            json_path,
            message,
        })
    }

    /// Set an agent's Talk state (`PUT /api/v2/channels/voice/availabilities/{id}` with
    /// `{"availability":{"agent_state": …}}`).
    ///
    /// # Errors
    /// [`Error::Api`]: 400 `bad_request` when omnichannel routing is on.
    pub async fn set_talk_state(&self, agent_id: i64, state: TalkState) -> Result<TalkAvailability> {
        let request = ApiRequest::put("/api/v2/channels/voice/availabilities/{agent_id}")
            .param("agent_id", agent_id)?
            .json(&json!({ "availability": { "agent_state": state.as_str() } }))?;
        let answer: Value = self.api.send_json(request).await?;
        let availability = talk_availability_from(&answer).ok().unwrap_or(TalkAvailability {
            agent_state: Some(state.as_str().to_owned()),
            via: None,
            call_status: None,
        });
        Ok(availability)
    }

    /// `GET /api/v2/account/settings`, the two flags that reveal the mode.
    ///
    /// # Errors
    /// [`Error::Api`], [`Error::Decode`].
    pub async fn account_settings(&self) -> Result<AccountSettings> {
        let value: Value = self.api.get_json("/api/v2/account/settings").await?;
        Ok(AccountSettings::from_json(&value))
    }

    /// The mode learned so far (forced, detected or learned), without any request.
    pub fn cached_mode(&self) -> Option<AccountMode> {
        match self.mode_setting {
            ModeSetting::Forced(mode) => Some(mode),
            ModeSetting::Auto => (*self.learned_mode.read().unwrap_or_else(|e| e.into_inner()))
                .or_else(|| self.settings_mode.get().copied().flatten()),
        }
    }

    /// Whether the next [`account_mode`](Self::account_mode) will read the account
    /// settings (nothing has revealed the mode and the settings were not read yet).
    pub(crate) fn settings_read_pending(&self) -> bool {
        self.cached_mode().is_none() && self.settings_mode.get().is_none()
    }

    /// Whether the status catalog is cached (so reading custom statuses costs no request).
    pub(crate) fn catalog_cached(&self) -> bool {
        self.cached_catalog().is_some()
    }

    fn learn(&self, mode: AccountMode) {
        if self.mode_setting == ModeSetting::Auto {
            *self.learned_mode.write().unwrap_or_else(|e| e.into_inner()) = Some(mode);
        }
    }

    fn forced(&self) -> bool {
        matches!(self.mode_setting, ModeSetting::Forced(_))
    }

    /// The account mode: forced, or learned, or from the account settings (read once per
    /// client). `None` when nothing has revealed it yet (settings silent or refused); the
    /// first status read or write then learns it.
    ///
    /// # Errors
    /// Errors of the settings call other than 403/404 (transport, 401, 5xx); they are not
    /// cached.
    pub async fn account_mode(&self) -> Result<Option<AccountMode>> {
        if let Some(mode) = self.cached_mode() {
            return Ok(Some(mode));
        }
        let from_settings = self
            .settings_mode
            .get_or_try_init(|| async {
                match self.account_settings().await {
                    Ok(settings) => Ok(settings
                        .omnichannel_routing()
                        .map(|on| if on { AccountMode::Unified } else { AccountMode::Talk })),
                    Err(error) if is_status(&error, &[403, 404]) => Ok(None),
                    Err(error) => Err(error),
                }
            })
            .await?;
        Ok((*self.learned_mode.read().unwrap_or_else(|e| e.into_inner())).or(*from_settings))
    }

    /// Set an agent's voice status to `name`, adapting to the account mode:
    ///
    /// - unified (routing on): resolve `name` in the status catalog (any default or custom
    ///   status), then the unified PUT;
    /// - Talk (routing off): `name` must be `online`, `offline`, `away` or
    ///   `transfers_only`; the Talk PUT.
    ///
    /// With [`ModeSetting::Auto`] and the mode unknown, a Talk name goes to the Talk PUT
    /// first and a custom name to the unified PUT first. A 400 from the Talk PUT means
    /// routing is on: the mode switches to unified and the write is retried once there. A
    /// 403/404 from the unified API means routing is off: the mode switches to Talk and the
    /// write is retried once there. The switch is cached, so the next write goes straight
    /// to the right path.
    ///
    /// # Errors
    /// - [`Error::InvalidInput`]: an unknown status name (listing the known ones), or a
    ///   non-Talk name when the account is known to use Talk.
    /// - [`Error::Unsupported`]: neither path accepted the write (the message gives both
    ///   answers).
    /// - Other errors of the request that failed.
    pub async fn set_voice_status(&self, agent_id: i64, name: &str) -> Result<WritePath> {
        let talk_state = TalkState::from_name(name);
        match self.account_mode().await? {
            Some(AccountMode::Unified) => self.write_unified_first(agent_id, name, talk_state).await,
            Some(AccountMode::Talk) => match talk_state {
                Some(state) => self.write_talk_first(agent_id, name, state).await,
                None => Err(Error::invalid(
                    "zendesk status",
                    format!(
                        "\"{name}\" is not a Talk state; this account uses the Talk availability \
                         (omnichannel routing off), which accepts only online, offline, away and transfers_only"
                    ),
                )),
            },
            None => match talk_state {
                Some(state) => self.write_talk_first(agent_id, name, state).await,
                None => self.write_unified_first(agent_id, name, None).await,
            },
        }
    }

    async fn write_unified(&self, agent_id: i64, name: &str) -> Result<i64> {
        let status = self.resolve_status(name).await?;
        self.set_unified_status(agent_id, status.id).await?;
        Ok(status.id)
    }

    async fn write_talk_first(&self, agent_id: i64, name: &str, state: TalkState) -> Result<WritePath> {
        match self.set_talk_state(agent_id, state).await {
            Ok(_) => {
                self.learn(AccountMode::Talk);
                Ok(WritePath::Talk(state))
            }
            Err(talk_error) if !self.forced() && is_status(&talk_error, &[400]) => {
                tracing::info!(
                    "zendesk: Talk PUT answered 400; omnichannel routing is on, switching to unified statuses"
                );
                self.learn(AccountMode::Unified);
                match self.write_unified(agent_id, name).await {
                    Ok(status_id) => Ok(WritePath::Unified { status_id }),
                    Err(unified_error) if is_status(&unified_error, &[400, 403, 404]) => {
                        Err(Error::Unsupported {
                            provider: PROVIDER,
                            message: format!(
                                "setting agent {agent_id} to \"{name}\": the Talk availability PUT was refused \
                             ({talk_error}), and the unified agent status PUT too ({unified_error})"
                            ),
                        })
                    }
                    Err(other) => Err(other),
                }
            }
            Err(other) => Err(other),
        }
    }

    async fn write_unified_first(
        &self,
        agent_id: i64,
        name: &str,
        talk_state: Option<TalkState>,
    ) -> Result<WritePath> {
        match self.write_unified(agent_id, name).await {
            Ok(status_id) => {
                self.learn(AccountMode::Unified);
                Ok(WritePath::Unified { status_id })
            }
            Err(unified_error) if !self.forced() && is_status(&unified_error, &[403, 404]) => {
                let Some(state) = talk_state else {
                    return Err(Error::Unsupported {
                        provider: PROVIDER,
                        message: format!(
                            "setting agent {agent_id} to \"{name}\": the unified agent status API was refused \
                             ({unified_error}), and the Talk availability accepts only online, offline, away \
                             and transfers_only"
                        ),
                    });
                };
                tracing::info!(
                    "zendesk: unified status API refused (403/404); omnichannel routing is off, switching to Talk"
                );
                self.learn(AccountMode::Talk);
                match self.set_talk_state(agent_id, state).await {
                    Ok(_) => Ok(WritePath::Talk(state)),
                    Err(talk_error) if is_status(&talk_error, &[400, 403, 404]) => Err(Error::Unsupported {
                        provider: PROVIDER,
                        message: format!(
                            "setting agent {agent_id} to \"{name}\": the unified agent status API was refused \
                             ({unified_error}), and the Talk availability PUT too ({talk_error})"
                        ),
                    }),
                    Err(other) => Err(other),
                }
            }
            Err(other) => Err(other),
        }
    }

    /// The voice status of each agent in `agent_ids`, as the adapter reports it (agents
    /// with no readable status are left out):
    ///
    /// - unified mode: the unified status name ([`canonical_status_name`]), or a custom
    ///   status's talk value with [`CustomStatusReading::ByTalkChannel`]. Read from the
    ///   availability list: `ceil(agents / 100)` requests (plus one cached catalog request
    ///   with `ByTalkChannel`), whatever the number of agents asked for.
    /// - Talk mode: `agent_state`, one `GET` per agent (there is no list endpoint), up to
    ///   [`TALK_READ_CONCURRENCY`] at once under the client's pace; an agent whose Talk
    ///   availability answers 404 is left out.
    ///
    /// With the mode unknown, the availability list decides: documents carrying
    /// `agent_status` mean unified; documents without it, or a 403/404, mean Talk.
    ///
    /// # Errors
    /// The first failing request's error.
    pub async fn voice_statuses(&self, agent_ids: &[i64]) -> Result<BTreeMap<i64, String>> {
        self.voice_statuses_with(agent_ids, None).await
    }

    /// Start listing every agent's availability when the account may be in unified mode,
    /// so the listing can run at the same time as the users listing (it does not depend on
    /// the users). `None` when the account is known to be in Talk mode.
    pub(crate) async fn prefetch_availabilities(&self) -> Result<Option<Result<Vec<AgentAvailability>>>> {
        let mode = self.account_mode().await?;
        if mode == Some(AccountMode::Talk) {
            return Ok(None);
        }
        Ok(Some(self.list_agent_availabilities(None).await))
    }

    /// [`voice_statuses`](Self::voice_statuses) with the availability listing already
    /// fetched (by [`prefetch_availabilities`](Self::prefetch_availabilities)).
    pub(crate) async fn voice_statuses_with(
        &self,
        agent_ids: &[i64],
        prefetched: Option<Result<Vec<AgentAvailability>>>,
    ) -> Result<BTreeMap<i64, String>> {
        if agent_ids.is_empty() {
            return Ok(BTreeMap::new());
        }
        let mode = self.account_mode().await?;
        if mode != Some(AccountMode::Talk) {
            let listed = match prefetched {
                Some(listed) => listed,
                None => self.list_agent_availabilities(None).await,
            };
            match listed {
                Ok(availabilities) => {
                    let unified = availabilities.iter().any(|a| a.agent_status.is_some());
                    if unified || mode == Some(AccountMode::Unified) {
                        if !availabilities.is_empty() {
                            self.learn(AccountMode::Unified);
                        }
                        return self.unified_voice_statuses(agent_ids, availabilities).await;
                    }
                    if !availabilities.is_empty() {
                        self.learn(AccountMode::Talk);
                    }
                }
                Err(error) if mode.is_none() && is_status(&error, &[403, 404]) => {
                    self.learn(AccountMode::Talk);
                }
                Err(error) => return Err(error),
            }
        }
        self.talk_voice_statuses(agent_ids).await
    }

    async fn unified_voice_statuses(
        &self,
        agent_ids: &[i64],
        availabilities: Vec<AgentAvailability>,
    ) -> Result<BTreeMap<i64, String>> {
        let catalog = match self.custom_status_reading {
            CustomStatusReading::ByName => None,
            CustomStatusReading::ByTalkChannel => Some(self.status_catalog().await?),
        };
        let wanted: std::collections::HashSet<i64> = agent_ids.iter().copied().collect();
        let mut statuses = BTreeMap::new();
        for availability in availabilities {
            if !wanted.contains(&availability.agent_id) {
                continue;
            }
            let Some(status) = availability.agent_status else { continue };
            let talk_value = catalog.as_ref().and_then(|catalog| {
                catalog
                    .by_id(status.id)
                    .filter(|known| known.custom)
                    .and_then(|known| known.channels.as_ref())
                    .and_then(|channels| channels.talk.clone())
            });
            statuses.insert(
                availability.agent_id,
                talk_value.unwrap_or_else(|| canonical_status_name(&status.name)),
            );
        }
        Ok(statuses)
    }

    async fn talk_voice_statuses(&self, agent_ids: &[i64]) -> Result<BTreeMap<i64, String>> {
        let reads = stream::iter(agent_ids.iter().copied())
            .map(|agent_id| async move {
                match self.talk_availability(agent_id).await {
                    Ok(availability) => Ok(availability.agent_state.map(|state| (agent_id, state))),
                    Err(error) if is_status(&error, &[404]) => Ok(None),
                    Err(error) => Err(error),
                }
            })
            .buffer_unordered(TALK_READ_CONCURRENCY);
        let found: Vec<Option<(i64, String)>> = reads.try_collect().await?;
        Ok(found.into_iter().flatten().collect())
    }
}
