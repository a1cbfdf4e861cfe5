//! The typed Shifton API: configuration and [`ShiftonClient`].

use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{NaiveDateTime, TimeDelta};
use chrono_tz::Tz;
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use url::Url;

use super::model::{Employee, ListBody, ShiftonShift, TokenResponse};
use crate::http::auth::REDACTED;
use crate::http::options::{config_prefixed, from_variable};
use crate::http::{
    ApiClient, ApiRequest, Auth, ClientOptions, ConfigureClient, IntoBaseUrl, RateLimit, RateLimitHeaders,
    RequestSigner, check_base_url, configure_client,
};
use crate::schedule::parse_zone;
use crate::{Error, Result};

pub(crate) use super::PROVIDER;

/// The legacy API's base path, between the host and every legacy path.
pub const LEGACY_BASE_PATH: &str = "/work/1.0.0";

/// The format of `planned_from` / `planned_to` and of the shifts request's `start` / `end`.
pub const LOCAL_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// How the client authenticates.
#[derive(Clone)]
#[non_exhaustive]
pub enum ShiftonAuth {
    /// The current API's key (company settings): `Authorization: Bearer {api_key}`.
    ApiKey(SecretString),
    /// The legacy OAuth password grant: `POST /oauth/token`, then `Authorization: Bearer
    /// {access_token}` plus a `refresh_token` header on every call.
    Password {
        /// The Shifton user's login.
        username: String,
        /// The user's password.
        password: SecretString,
        /// The OAuth client id.
        client_id: String,
        /// The OAuth client secret.
        client_secret: SecretString,
    },
}

impl ShiftonAuth {
    /// The current API's key.
    pub fn api_key(key: impl Into<SecretString>) -> Self {
        Self::ApiKey(key.into())
    }

    /// The legacy OAuth password grant.
    pub fn password(
        username: impl Into<String>,
        password: impl Into<SecretString>,
        client_id: impl Into<String>,
        client_secret: impl Into<SecretString>,
    ) -> Self {
        Self::Password {
            username: username.into(),
            password: password.into(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
        }
    }
}

impl fmt::Debug for ShiftonAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ApiKey(_) => f.debug_tuple("ApiKey").field(&REDACTED).finish(),
            Self::Password { username, client_id, .. } => f
                .debug_struct("Password")
                .field("username", username)
                .field("password", &REDACTED)
                .field("client_id", client_id)
                .field("client_secret", &REDACTED)
                .finish(),
        }
    }
}

/// How to reach one Shifton company.
///
/// The shared options (base URL of the token and employees host, pace, timeout, retry,
/// transport) are set with the methods every provider configuration has (see
/// [`ConfigureClient`]); the shifts host has its own
/// [`ShiftonConfig::with_shifts_base_url`]. Shifton publishes no limits (UNCONFIRMED); the
/// default pace is 1 request per second, and 429 answers are retried after `Retry-After`
/// when given.
#[derive(Clone)]
#[non_exhaustive]
pub struct ShiftonConfig {
    /// Credentials.
    pub auth: ShiftonAuth,
    /// The company id (legacy employees path).
    pub company_id: Option<String>,
    /// The project whose shifts are read.
    pub project_id: String,
    /// The company's IANA time zone: `planned_from` / `planned_to` are read in it.
    pub time_zone: Tz,
    /// Days per shifts request (default 31, as public client code does; the server's
    /// limit is UNCONFIRMED). Longer ranges are paged into windows of this length.
    pub window_days: u32,
    /// The employee id → agent e-mail mapping file, for employees Shifton gives no e-mail
    /// for (read by [`ShiftonSchedule::connect`](super::ShiftonSchedule::connect)).
    pub employee_map: Option<PathBuf>,
    /// The shifts host (default `https://api.shifton.com`, as public client code uses it;
    /// UNCONFIRMED whether the current API serves shifts on `api2`).
    shifts_base_url: Url,
    /// The token and employees host (default `https://api2.shifton.com`; paths start at
    /// `/oauth/token`, `/work/1.0.0/…` and `/api/v1/…`), pace, timeout, retry, transport.
    options: ClientOptions,
}

impl fmt::Debug for ShiftonConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShiftonConfig")
            .field("auth", &self.auth)
            .field("base_url", &self.base_url().as_str())
            .field("shifts_base_url", &self.shifts_base_url.as_str())
            .field("company_id", &self.company_id)
            .field("project_id", &self.project_id)
            .field("time_zone", &self.time_zone.name())
            .field("window_days", &self.window_days)
            .field("options", &self.options)
            .field("employee_map", &self.employee_map)
            .finish_non_exhaustive()
    }
}

configure_client!(
    ShiftonConfig,
    provider: PROVIDER,
    api_prefixes: &[LEGACY_BASE_PATH, "/api/v1"],
    default_base_url: |_: &ShiftonConfig| constant_url(ShiftonConfig::DEFAULT_BASE_URL)
);

fn constant_url(text: &str) -> Url {
    // Only called with this module's URL constants (checked by tests/schedule/shifton.rs), not
    // outside data.
    #[allow(clippy::expect_used)]
    Url::parse(text).expect("a valid URL constant")
}

impl ShiftonConfig {
    /// The documented token and employees host.
    pub const DEFAULT_BASE_URL: &'static str = "https://api2.shifton.com";
    /// The shifts host public client code uses.
    pub const DEFAULT_SHIFTS_BASE_URL: &'static str = "https://api.shifton.com";
    /// Days per shifts request.
    pub const DEFAULT_WINDOW_DAYS: u32 = 31;
    /// Environment: the current API's key.
    pub const ENV_API_KEY: &'static str = "SHIFTON_API_KEY";
    /// Environment: legacy login.
    pub const ENV_USERNAME: &'static str = "SHIFTON_USERNAME";
    /// Environment: legacy password.
    pub const ENV_PASSWORD: &'static str = "SHIFTON_PASSWORD";
    /// Environment: legacy OAuth client id.
    pub const ENV_CLIENT_ID: &'static str = "SHIFTON_CLIENT_ID";
    /// Environment: legacy OAuth client secret.
    pub const ENV_CLIENT_SECRET: &'static str = "SHIFTON_CLIENT_SECRET";
    /// Environment: company id.
    pub const ENV_COMPANY_ID: &'static str = "SHIFTON_COMPANY_ID";
    /// Environment: project id.
    pub const ENV_PROJECT_ID: &'static str = "SHIFTON_PROJECT_ID";
    /// Environment: token and employees host.
    pub const ENV_BASE_URL: &'static str = "SHIFTON_BASE_URL";
    /// Environment: shifts host.
    pub const ENV_SHIFTS_BASE_URL: &'static str = "SHIFTON_SHIFTS_BASE_URL";
    /// Environment: the company's IANA time zone.
    pub const ENV_TIME_ZONE: &'static str = "SHIFTON_TIME_ZONE";
    /// Environment: the employee mapping file.
    pub const ENV_EMPLOYEE_MAP: &'static str = "SHIFTON_EMPLOYEE_MAP";

    /// Every variable [`ShiftonConfig::from_env`] reads.
    pub const ENV_VARIABLES: [&'static str; 11] = [
        Self::ENV_API_KEY,
        Self::ENV_USERNAME,
        Self::ENV_PASSWORD,
        Self::ENV_CLIENT_ID,
        Self::ENV_CLIENT_SECRET,
        Self::ENV_COMPANY_ID,
        Self::ENV_PROJECT_ID,
        Self::ENV_BASE_URL,
        Self::ENV_SHIFTS_BASE_URL,
        Self::ENV_TIME_ZONE,
        Self::ENV_EMPLOYEE_MAP,
    ];

    /// A configuration for `project_id` in a company whose zone is `time_zone`, on the
    /// default hosts, window, pace and timeout.
    ///
    /// # Errors
    /// [`Error::Config`] for an empty credential or project id.
    pub fn new(auth: ShiftonAuth, project_id: impl Into<String>, time_zone: Tz) -> Result<Self> {
        match &auth {
            ShiftonAuth::ApiKey(key) if key.expose_secret().trim().is_empty() => {
                return Err(Error::config("shifton: the API key is empty"));
            }
            ShiftonAuth::Password { username, password, client_id, client_secret }
                if username.trim().is_empty()
                    || password.expose_secret().is_empty()
                    || client_id.trim().is_empty()
                    || client_secret.expose_secret().is_empty() =>
            {
                return Err(Error::config(
                    "shifton: the legacy login needs a username, password, client id and client secret",
                ));
            }
            _ => {}
        }
        let project_id = project_id.into().trim().to_owned();
        if project_id.is_empty() {
            return Err(Error::config("shifton: the project id is empty"));
        }
        Ok(Self {
            auth,
            shifts_base_url: constant_url(Self::DEFAULT_SHIFTS_BASE_URL),
            company_id: None,
            project_id,
            time_zone,
            window_days: Self::DEFAULT_WINDOW_DAYS,
            options: ClientOptions::default(),
            employee_map: None,
        })
    }

    /// The shifts host requests for shifts go to.
    pub fn shifts_base_url(&self) -> &Url {
        &self.shifts_base_url
    }

    /// The pace requests start at: the configured one, else 1 per second.
    pub fn rate_limit(&self) -> RateLimit {
        self.options.rate_limit().unwrap_or(RateLimit::per_second(1.0))
    }

    /// Use another shifts host. Takes `&str`, `String`, [`Url`] or `&Url`.
    ///
    /// # Errors
    /// [`Error::Config`] naming the URL when it is not an absolute http(s) URL with a host,
    /// or carries credentials, a query or a fragment.
    pub fn with_shifts_base_url(mut self, base_url: impl IntoBaseUrl) -> Result<Self> {
        let url = base_url.into_base_url().map_err(config_prefixed("shifton: shifts"))?;
        check_base_url(PROVIDER, &url, <Self as ConfigureClient>::API_PATH_PREFIXES)?;
        self.shifts_base_url = url;
        Ok(self)
    }

    /// Set the company id (needed by the legacy employees path).
    pub fn with_company_id(mut self, company_id: impl Into<String>) -> Self {
        self.company_id = Some(company_id.into().trim().to_owned()).filter(|id| !id.is_empty());
        self
    }

    /// Request shifts `days` at a time (at least 1).
    pub fn with_window_days(mut self, days: u32) -> Self {
        self.window_days = days.max(1);
        self
    }

    /// Read unmapped employees' e-mails from this file.
    pub fn with_employee_map(mut self, path: impl Into<PathBuf>) -> Self {
        self.employee_map = Some(path.into());
        self
    }

    /// Read the `SHIFTON_*` variables (see [`ENV_VARIABLES`](Self::ENV_VARIABLES)).
    /// `Ok(None)` when none of them is set.
    ///
    /// # Errors
    /// [`Error::Config`] naming every missing variable when some are set but the set is
    /// incomplete (an API key or all four legacy variables; `SHIFTON_PROJECT_ID`;
    /// `SHIFTON_TIME_ZONE`; `SHIFTON_COMPANY_ID` with the legacy login), when both an API
    /// key and legacy variables are set, or for a bad URL or zone.
    pub fn from_env() -> Result<Option<Self>> {
        Self::from_env_with(|name| std::env::var(name).ok())
    }

    /// As [`ShiftonConfig::from_env`], reading variables through `lookup`.
    ///
    /// ```
    /// use deskbridge::shifton::ShiftonConfig;
    /// let env = |name: &str| match name {
    ///     "SHIFTON_API_KEY" => Some("key".to_owned()),
    ///     "SHIFTON_PROJECT_ID" => Some("42".to_owned()),
    ///     _ => None,
    /// };
    /// let error = ShiftonConfig::from_env_with(env).unwrap_err();
    /// assert!(error.to_string().contains("SHIFTON_TIME_ZONE"));
    /// assert!(ShiftonConfig::from_env_with(|_| None).unwrap().is_none());
    /// ```
    ///
    /// # Errors
    /// As [`ShiftonConfig::from_env`].
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Result<Option<Self>> {
        let get = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        if Self::ENV_VARIABLES.iter().all(|name| get(name).is_none()) {
            return Ok(None);
        }
        let legacy = [Self::ENV_USERNAME, Self::ENV_PASSWORD, Self::ENV_CLIENT_ID, Self::ENV_CLIENT_SECRET];
        let api_key = get(Self::ENV_API_KEY);
        let legacy_set = legacy.iter().any(|name| get(name).is_some());
        let mut missing: Vec<&str> = Vec::new();
        if api_key.is_some() && legacy_set {
            return Err(Error::config(format!(
                "shifton: set either {} or the legacy {}, not both",
                Self::ENV_API_KEY,
                legacy.join("/")
            )));
        }
        if api_key.is_none() {
            if legacy_set {
                missing.extend(legacy.iter().filter(|name| get(name).is_none()));
                if get(Self::ENV_COMPANY_ID).is_none() {
                    missing.push(Self::ENV_COMPANY_ID);
                }
            } else {
                missing.push("SHIFTON_API_KEY (or SHIFTON_USERNAME, SHIFTON_PASSWORD, SHIFTON_CLIENT_ID and SHIFTON_CLIENT_SECRET)");
            }
        }
        for name in [Self::ENV_PROJECT_ID, Self::ENV_TIME_ZONE] {
            if get(name).is_none() {
                missing.push(name);
            }
        }
        if !missing.is_empty() {
            return Err(Error::config(format!(
                "shifton: incomplete configuration: missing {}",
                missing.join(", ")
            )));
        }
        let value = |name: &str| get(name).unwrap_or_default();
        let auth = match api_key {
            Some(key) => ShiftonAuth::api_key(key),
            None => ShiftonAuth::password(
                value(Self::ENV_USERNAME),
                value(Self::ENV_PASSWORD),
                value(Self::ENV_CLIENT_ID),
                value(Self::ENV_CLIENT_SECRET),
            ),
        };
        let zone_name = get(Self::ENV_TIME_ZONE).unwrap_or_default();
        let zone = parse_zone(&zone_name)
            .map_err(|e| Error::config(format!("shifton: {}: {e}", Self::ENV_TIME_ZONE)))?;
        let mut config = Self::new(auth, get(Self::ENV_PROJECT_ID).unwrap_or_default(), zone)?;
        if let Some(company) = get(Self::ENV_COMPANY_ID) {
            config = config.with_company_id(company);
        }
        if let Some(base) = get(Self::ENV_BASE_URL) {
            config = config.with_base_url(base).map_err(from_variable(Self::ENV_BASE_URL))?;
        }
        if let Some(base) = get(Self::ENV_SHIFTS_BASE_URL) {
            config = config.with_shifts_base_url(base).map_err(from_variable(Self::ENV_SHIFTS_BASE_URL))?;
        }
        if let Some(path) = get(Self::ENV_EMPLOYEE_MAP) {
            config = config.with_employee_map(path);
        }
        Ok(Some(config))
    }
}

/// The legacy login's current tokens.
#[derive(Clone)]
struct Tokens {
    access: SecretString,
    refresh: Option<SecretString>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Adds the current credentials to each request and scrubs every secret from error text.
struct ShiftonSigner {
    auth: ShiftonAuth,
    tokens: Arc<Mutex<Option<Tokens>>>,
    /// The token endpoint: sends no header (its credentials travel in the body).
    token_endpoint: bool,
}

fn header_value(text: &str) -> Result<HeaderValue> {
    let mut value = HeaderValue::from_str(text)
        .map_err(|_| Error::config("shifton: a credential contains characters a header cannot carry"))?;
    value.set_sensitive(true);
    Ok(value)
}

impl RequestSigner for ShiftonSigner {
    fn sign(&self, _method: &Method, _url: &Url, headers: &mut HeaderMap) -> Result<()> {
        if self.token_endpoint {
            return Ok(());
        }
        match &self.auth {
            ShiftonAuth::ApiKey(key) => {
                headers.insert(AUTHORIZATION, header_value(&format!("Bearer {}", key.expose_secret()))?);
            }
            ShiftonAuth::Password { .. } => {
                let tokens = lock(&self.tokens).clone();
                let Some(tokens) = tokens else {
                    return Err(Error::config("shifton: no access token (the login did not run)"));
                };
                headers.insert(
                    AUTHORIZATION,
                    header_value(&format!("Bearer {}", tokens.access.expose_secret()))?,
                );
                if let Some(refresh) = &tokens.refresh {
                    headers.insert(
                        HeaderName::from_static("refresh_token"),
                        header_value(refresh.expose_secret())?,
                    );
                }
            }
        }
        Ok(())
    }

    fn redact(&self, text: &str) -> String {
        let mut secrets: Vec<String> = Vec::new();
        match &self.auth {
            ShiftonAuth::ApiKey(key) => secrets.push(key.expose_secret().to_owned()),
            ShiftonAuth::Password { password, client_secret, .. } => {
                secrets.push(password.expose_secret().to_owned());
                secrets.push(client_secret.expose_secret().to_owned());
            }
        }
        if let Some(tokens) = lock(&self.tokens).as_ref() {
            secrets.push(tokens.access.expose_secret().to_owned());
            secrets.extend(tokens.refresh.as_ref().map(|r| r.expose_secret().to_owned()));
        }
        secrets
            .iter()
            .filter(|secret| !secret.is_empty())
            .fold(text.to_owned(), |text, secret| text.replace(secret.as_str(), REDACTED))
    }
}

/// The Shifton API: employees and shifts.
#[derive(Clone)]
pub struct ShiftonClient {
    config: Arc<ShiftonConfig>,
    main: ApiClient,
    shifts: ApiClient,
    token: ApiClient,
    tokens: Arc<Mutex<Option<Tokens>>>,
    login: Arc<tokio::sync::Mutex<()>>,
}

impl fmt::Debug for ShiftonClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShiftonClient").field("config", &self.config).finish_non_exhaustive()
    }
}

impl ShiftonClient {
    /// A client for `config` (its transport, or a new reqwest one).
    ///
    /// # Errors
    /// [`Error::Config`] when the HTTP client cannot be built.
    pub fn new(config: ShiftonConfig) -> Result<Self> {
        let tokens = Arc::new(Mutex::new(None));
        let client = |base: Url, token_endpoint: bool| {
            config
                .options
                .api_client_builder(PROVIDER, base)
                .auth(Auth::signer(ShiftonSigner {
                    auth: config.auth.clone(),
                    tokens: Arc::clone(&tokens),
                    token_endpoint,
                }))
                .rate_limit(config.rate_limit())
                .rate_limit_headers(RateLimitHeaders::none())
                .build()
        };
        let main = client(config.base_url(), false)?;
        let shifts = client(config.shifts_base_url.clone(), false)?;
        let token = client(config.base_url(), true)?;
        Ok(Self {
            config: Arc::new(config),
            main,
            shifts,
            token,
            tokens,
            login: Arc::new(tokio::sync::Mutex::new(())),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ShiftonConfig {
        &self.config
    }

    /// Legacy login: `POST /oauth/token` (password grant). Runs once before the first call
    /// and again after a 401; a no-op with an API key.
    ///
    /// # Errors
    /// The token endpoint's refusal ([`Error::Api`], 401 for wrong credentials) or an
    /// unreadable answer.
    pub async fn login(&self) -> Result<()> {
        let ShiftonAuth::Password { username, password, client_id, client_secret } = &self.config.auth else {
            return Ok(());
        };
        let body = json!({
            "username": username,
            "password": password.expose_secret(),
            "client_id": client_id,
            "client_secret": client_secret.expose_secret(),
            "grant_type": "password",
            "scope": "",
        });
        // Asking for a token again is harmless, so it may be retried like a read.
        let request = ApiRequest::post("/oauth/token").json(&body)?.retry_safe();
        let answer: TokenResponse = self.token.send_json(request).await?;
        if answer.access_token.trim().is_empty() {
            return Err(Error::Decode {
                provider: PROVIDER,
                context: "POST /oauth/token".into(),
                json_path: ".access_token".into(),
                message: "is empty".into(),
            });
        }
        *lock(&self.tokens) = Some(Tokens {
            access: SecretString::from(answer.access_token),
            refresh: answer.refresh_token.filter(|r| !r.is_empty()).map(SecretString::from),
        });
        Ok(())
    }

    /// Send `request` on `client`, logging in first (legacy) and once more after a 401.
    async fn send<T: serde::de::DeserializeOwned>(
        &self,
        client: &ApiClient,
        request: ApiRequest,
    ) -> Result<T> {
        let legacy = matches!(self.config.auth, ShiftonAuth::Password { .. });
        if legacy && lock(&self.tokens).is_none() {
            let _guard = self.login.lock().await;
            if lock(&self.tokens).is_none() {
                self.login().await?;
            }
        }
        match client.send_json(request.clone()).await {
            Err(Error::Api { status: 401, .. }) if legacy => {
                tracing::info!("shifton: access token refused; logging in again");
                {
                    let _guard = self.login.lock().await;
                    self.login().await?;
                }
                client.send_json(request).await
            }
            other => other,
        }
    }

    /// Every employee: `GET /api/v1/employees` with an API key, `GET
    /// /work/1.0.0/companies/{company_id}/employees` with the legacy login.
    ///
    /// # Errors
    /// [`Error::Config`] when the legacy login has no company id; the API's errors.
    pub async fn employees(&self) -> Result<Vec<Employee>> {
        let request = match &self.config.auth {
            ShiftonAuth::ApiKey(_) => ApiRequest::get("/api/v1/employees"),
            ShiftonAuth::Password { .. } => {
                let company = self.config.company_id.as_deref().ok_or_else(|| {
                    Error::config(
                        "shifton: the legacy employees path needs a company id (SHIFTON_COMPANY_ID)",
                    )
                })?;
                ApiRequest::get(format!("{LEGACY_BASE_PATH}/companies/{{company_id}}/employees"))
                    .param("company_id", company)?
            }
        };
        let list: ListBody<Employee> = self.send(&self.main, request).await?;
        Ok(list.into_vec())
    }

    /// The project's shifts between two company-local date-times, one request per window
    /// of [`window_days`](ShiftonConfig::window_days): `GET
    /// /work/1.0.0/projects/{project_id}/shifts` on the shifts host, with the JSON body
    /// `{"start": "YYYY-MM-DD HH:MM:SS", "end": "…"}` on the GET (as the legacy API
    /// expects; the body is sent explicitly). Shifts repeated across windows are returned
    /// once.
    ///
    /// # Errors
    /// The API's errors; [`Error::InvalidInput`] when `to` is not after `from`.
    pub async fn shifts(&self, from: NaiveDateTime, to: NaiveDateTime) -> Result<Vec<ShiftonShift>> {
        if to <= from {
            return Err(Error::invalid(
                "shifton shifts range",
                format!("end {to} is not after start {from}"),
            ));
        }
        let window = TimeDelta::days(i64::from(self.config.window_days.max(1)));
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        let mut start = from;
        while start < to {
            let end = start.checked_add_signed(window).map_or(to, |end| end.min(to));
            let body = json!({
                "start": start.format(LOCAL_FORMAT).to_string(),
                "end": end.format(LOCAL_FORMAT).to_string(),
            });
            let request = ApiRequest::get(format!("{LEGACY_BASE_PATH}/projects/{{project_id}}/shifts"))
                .param("project_id", &self.config.project_id)?
                .json(&body)?;
            let list: ListBody<ShiftonShift> = self.send(&self.shifts, request).await?;
            for shift in list.into_vec() {
                if seen.insert(shift.id.clone()) {
                    out.push(shift);
                }
            }
            start = end;
        }
        Ok(out)
    }
}
