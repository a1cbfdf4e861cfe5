//! Aircall Public API simulator (`/v1/...`).
//!
//! Serves, on the real paths and with the real payload shapes (see the Aircall provider
//! reference):
//!
//! | Method | Path | Notes |
//! |---|---|---|
//! | GET | `/v1/ping` | `{"ping":"pong"}` |
//! | GET | `/v1/users` | `page` (default 1), `per_page` (default 20, clamped to 1..=50), `order=asc\|desc` by id |
//! | GET | `/v1/users/{id}` | `{"user": …}` |
//! | GET | `/v2/users`, `/v2/users/{id}` | as v1, users without `numbers` ([`AircallSim::set_users_v2`] turns them off: 404) |
//! | GET | `/v1/users/availabilities` | paged like users: `users[]{id, availability}` |
//! | GET | `/v1/users/{id}/availability` | `{"availability": …}` (shape UNCONFIRMED upstream) |
//! | PUT | `/v1/users/{id}` | `availability_status` and `substatus` are validated and applied |
//! | GET | `/v1/teams`, `/v1/teams/{id}` | teams with their users |
//! | GET, POST | `/v1/webhooks` | pages of `webhooks[]`; POST `{custom_name, url, events?}` → `201 {"webhook": {webhook_id, url, active, events, token, …}}` (at most 100) |
//! | GET | `/v1/calls` (`from`, `to`, `order`, paged), `/v1/calls/{id}`, `/v1/calls/{id}/transcription` | calls played with [`AircallSim::play_call`] (the `calls` section) |
//!
//! Paged answers carry `meta{count, total, current_page, per_page, next_page_link,
//! previous_page_link}`; the links are absolute URLs to this server, `null` at either end.
//! The 10,000-record cap of the real API and the `from`/`to` filters are not simulated.
//!
//! **Derived values.** `available` is true for `available`, false for `unavailable`, and
//! for `custom` (most likely "Automatic Schedule", UNCONFIRMED) it follows the user's
//! seeded [`AircallUserSeed::schedule_open`] flag. The read-only `availability` of
//! `/v1/users/availabilities` is `available` for `available`, `do_not_disturb` for
//! `unavailable`, and `available` or `offline` for `custom` according to the same flag.
//!
//! **Writes.** `availability_status` must be `available`, `custom` or `unavailable`;
//! `substatus` must be one of `out_for_lunch`, `on_a_break`, `in_training` (or the SDK's
//! `in_traning`), `doing_back_office`, `other`, `always_opened`, `always_closed`. Anything
//! else answers 400 `{"error", "troubleshoot"}`. The substatus is kept only while the user
//! is `unavailable` (setting another status clears it). Other fields (`first_name`,
//! `wrap_up_time`, …) are accepted and ignored.
//!
//! **Auth:** Basic `api_id:api_token`, and Bearer when a token is configured; otherwise 401
//! `{"error":"Unauthorized","troubleshoot":…}`. **Rate limit** headers:
//! `X-AircallApi-Limit`, `X-AircallApi-Remaining`, `X-AircallApi-Reset` (UNIX seconds);
//! no `Retry-After`, as the real API is not known to send one.
//!
//! **Webhooks:** Aircall signs nothing; a delivery carries the webhook's `token` in the
//! body envelope `{resource, event, timestamp, token, data}`. See
//! [`AircallSim::user_event_delivery`] and [`user_event_delivery`].

use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::{Method, StatusCode};
use secrecy::SecretString;
use serde_json::{Value, json};
use url::Url;

use super::WebhookDelivery;
use super::server::lock;
use super::{Credential, RateLimitRule, RateLimitStatus, SimProvider, SimRequest, SimResponse, SimServer};
use crate::{Error, Result};

mod calls;

pub use calls::{CallEnding, CallScript, CallStep, ENDED_DELAY_SECONDS, PlayedCall, call_event_delivery};

/// Default page size of the Aircall API.
const DEFAULT_PER_PAGE: u64 = 20;
/// Largest page size of the Aircall API.
const MAX_PER_PAGE: u64 = 50;
/// Seeded users' creation time.
const SEED_CREATED_AT: &str = "2024-01-15T09:00:00.000Z";
/// Substatus values accepted by `PUT /v1/users/{id}` (both spellings of "in training").
const SUBSTATUSES: [&str; 8] = [
    "out_for_lunch",
    "on_a_break",
    "in_training",
    "in_traning",
    "doing_back_office",
    "other",
    "always_opened",
    "always_closed",
];

/// The writable Aircall `availability_status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AircallAvailabilityStatus {
    /// `available`.
    Available,
    /// `unavailable`.
    Unavailable,
    /// `custom` (the Dashboard's "Automatic Schedule", UNCONFIRMED).
    Custom,
}

impl AircallAvailabilityStatus {
    /// The API's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Available => "available",
            Self::Unavailable => "unavailable",
            Self::Custom => "custom",
        }
    }

    /// Read the API's spelling; `None` for anything else.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "available" => Some(Self::Available),
            "unavailable" => Some(Self::Unavailable),
            "custom" => Some(Self::Custom),
            _ => None,
        }
    }
}

/// A user to seed the simulator with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AircallUserSeed {
    /// Aircall user id.
    pub id: u64,
    /// Display name.
    pub name: String,
    /// E-mail (the identity join key).
    pub email: String,
    /// Current `availability_status`.
    pub availability_status: AircallAvailabilityStatus,
    /// Current substatus (kept only while `unavailable`).
    pub substatus: Option<String>,
    /// For `custom` (Automatic Schedule): whether the user's working hours are open now,
    /// which decides `available` and the read-only `availability`.
    pub schedule_open: bool,
}

impl AircallUserSeed {
    /// An `available` user with no substatus and an open schedule.
    pub fn new(id: u64, name: impl Into<String>, email: impl Into<String>) -> Self {
        Self {
            id,
            name: name.into(),
            email: email.into(),
            availability_status: AircallAvailabilityStatus::Available,
            substatus: None,
            schedule_open: true,
        }
    }

    /// The same user with another status.
    pub fn with_status(mut self, status: AircallAvailabilityStatus) -> Self {
        self.availability_status = status;
        self
    }

    /// `count` synthetic users with ids 1001.., e-mails `agent{n}@example.com` (n from 1,
    /// the same numbering as the Zendesk simulator's synthetic agents, so the two join),
    /// statuses cycling available, unavailable, custom.
    pub fn synthetic(count: usize) -> Vec<Self> {
        (1..=count)
            .map(|n| {
                let status = match n % 3 {
                    1 => AircallAvailabilityStatus::Available,
                    2 => AircallAvailabilityStatus::Unavailable,
                    _ => AircallAvailabilityStatus::Custom,
                };
                Self::new(1000 + n as u64, format!("Agent {n}"), format!("agent{n}@example.com"))
                    .with_status(status)
            })
            .collect()
    }
}

/// Aircall's API limit: 60 requests a minute per company. UNCONFIRMED: summaries give 60
/// or 120 (see `docs/PROVIDER_FACTS.md`); 60 is the lower, safer figure.
pub const DOCUMENTED_REQUESTS_PER_MINUTE: u32 = 60;

/// Aircall's documented limit as a simulator rule over every path
/// ([`DOCUMENTED_REQUESTS_PER_MINUTE`] per minute).
pub fn documented_rate_limit() -> RateLimitRule {
    RateLimitRule::per_minute(DOCUMENTED_REQUESTS_PER_MINUTE)
}

/// A team to seed the simulator with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AircallTeamSeed {
    /// Team id.
    pub id: u64,
    /// Team name.
    pub name: String,
    /// Members' user ids (unknown ids are left out of answers).
    pub user_ids: Vec<u64>,
}

/// A user as the simulator holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AircallUser {
    /// Aircall user id.
    pub id: u64,
    /// Display name.
    pub name: String,
    /// E-mail.
    pub email: String,
    /// Current `availability_status`.
    pub availability_status: AircallAvailabilityStatus,
    /// Current substatus.
    pub substatus: Option<String>,
    /// For `custom`: whether the working hours are open now.
    pub schedule_open: bool,
}

impl AircallUser {
    /// The derived, read-only `available` flag.
    pub fn available(&self) -> bool {
        match self.availability_status {
            AircallAvailabilityStatus::Available => true,
            AircallAvailabilityStatus::Unavailable => false,
            AircallAvailabilityStatus::Custom => self.schedule_open,
        }
    }

    /// The read-only `availability` of `/v1/users/availabilities`.
    pub fn availability(&self) -> &'static str {
        match self.availability_status {
            AircallAvailabilityStatus::Available => "available",
            AircallAvailabilityStatus::Unavailable => "do_not_disturb",
            AircallAvailabilityStatus::Custom if self.schedule_open => "available",
            AircallAvailabilityStatus::Custom => "offline",
        }
    }

    /// The v1 `User` JSON object.
    pub fn to_json(&self, base_url: &Url) -> Value {
        json!({
            "id": self.id,
            "direct_link": link(base_url, &format!("v1/users/{}", self.id)),
            "name": self.name,
            "email": self.email,
            "created_at": SEED_CREATED_AT,
            "available": self.available(),
            "availability_status": self.availability_status.as_str(),
            "substatus": self.substatus,
            "time_zone": "Etc/UTC",
            "language": "en-US",
            "wrap_up_time": 0,
            "numbers": [],
        })
    }

    /// The v2 `User` JSON object: as v1 without `numbers` (the one documented difference;
    /// the rest of the v2 payload is UNCONFIRMED), its `direct_link` on `/v2/users`.
    pub fn to_json_v2(&self, base_url: &Url) -> Value {
        let mut user = self.to_json(base_url);
        if let Some(object) = user.as_object_mut() {
            object.remove("numbers");
            object.insert("direct_link".into(), json!(link(base_url, &format!("v2/users/{}", self.id))));
        }
        user
    }

    fn from_seed(seed: AircallUserSeed) -> Self {
        let substatus = match seed.availability_status {
            AircallAvailabilityStatus::Unavailable => seed.substatus,
            _ => None,
        };
        Self {
            id: seed.id,
            name: seed.name,
            email: seed.email,
            availability_status: seed.availability_status,
            substatus,
            schedule_open: seed.schedule_open,
        }
    }
}

/// How to start an [`AircallSim`].
#[derive(Debug, Clone)]
pub struct AircallSimConfig {
    /// Seeded users (any order; served by ascending id).
    pub users: Vec<AircallUserSeed>,
    /// Seeded teams.
    pub teams: Vec<AircallTeamSeed>,
    /// Basic-auth user part.
    pub api_id: String,
    /// Basic-auth password part.
    pub api_token: SecretString,
    /// An OAuth bearer token also accepted, when set.
    pub bearer_token: Option<SecretString>,
    /// Rate limits (none by default).
    pub rate_limits: Vec<RateLimitRule>,
}

impl AircallSimConfig {
    /// The API id accepted by default.
    pub const DEFAULT_API_ID: &'static str = "sim-api-id";
    /// The API token accepted by default.
    pub const DEFAULT_API_TOKEN: &'static str = "sim-api-token";

    /// These users, no teams, the default credentials, no bearer token, no rate limit.
    pub fn new(users: Vec<AircallUserSeed>) -> Self {
        Self {
            users,
            teams: Vec::new(),
            api_id: Self::DEFAULT_API_ID.to_owned(),
            api_token: SecretString::from(Self::DEFAULT_API_TOKEN),
            bearer_token: None,
            rate_limits: Vec::new(),
        }
    }

    /// Accept these Basic credentials instead of the defaults.
    pub fn credentials(mut self, api_id: impl Into<String>, api_token: impl Into<String>) -> Self {
        self.api_id = api_id.into();
        self.api_token = SecretString::from(api_token.into());
        self
    }

    /// Also accept this bearer token.
    pub fn bearer_token(mut self, token: impl Into<String>) -> Self {
        self.bearer_token = Some(SecretString::from(token.into()));
        self
    }

    /// Seed these teams.
    pub fn teams(mut self, teams: Vec<AircallTeamSeed>) -> Self {
        self.teams = teams;
        self
    }

    /// Enforce this rate limit (the real API: 60 or 120 per minute per company).
    pub fn rate_limit(mut self, rule: RateLimitRule) -> Self {
        self.rate_limits.push(rule);
        self
    }
}

struct AircallState {
    /// Sorted by id.
    users: Vec<AircallUser>,
    teams: Vec<AircallTeamSeed>,
    /// Whether `/v2/users` is served (as on the real API since January 2026).
    users_v2: bool,
    /// Webhooks created through `POST /v1/webhooks`, in creation order.
    webhooks: Vec<Value>,
}

impl AircallState {
    fn index_of(&self, id: u64) -> Option<usize> {
        self.users.binary_search_by_key(&id, |user| user.id).ok()
    }
}

struct AircallProvider {
    state: Arc<Mutex<AircallState>>,
    calls: Arc<Mutex<calls::CallsState>>,
}

/// A running Aircall simulator. See the [module docs](self) for what it serves.
#[derive(Debug)]
pub struct AircallSim {
    server: SimServer,
    state: Arc<Mutex<AircallState>>,
    calls: Arc<Mutex<calls::CallsState>>,
}

impl std::fmt::Debug for AircallState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AircallState")
            .field("users", &self.users.len())
            .field("teams", &self.teams.len())
            .finish()
    }
}

impl AircallSim {
    /// Start a simulator with `config` on `127.0.0.1`.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for duplicate user ids or when the port cannot be bound.
    pub async fn start(config: AircallSimConfig) -> Result<Self> {
        let mut users: Vec<AircallUser> = config.users.into_iter().map(AircallUser::from_seed).collect();
        users.sort_by_key(|user| user.id);
        if let Some(pair) = users.windows(2).find(|pair| pair[0].id == pair[1].id) {
            return Err(Error::config(format!("aircall simulator: duplicate user id {}", pair[0].id)));
        }
        let mut teams = config.teams;
        teams.sort_by_key(|team| team.id);
        let state = Arc::new(Mutex::new(AircallState { users, teams, users_v2: true, webhooks: Vec::new() }));
        let mut credentials = vec![Credential::Basic { username: config.api_id, password: config.api_token }];
        credentials.extend(config.bearer_token.map(Credential::Bearer));
        let calls = Arc::new(Mutex::new(calls::CallsState::default()));
        let provider = Arc::new(AircallProvider { state: Arc::clone(&state), calls: Arc::clone(&calls) });
        let server = SimServer::start(provider, credentials, config.rate_limits).await?;
        Ok(Self { server, state, calls })
    }

    /// The shared server: request log, credentials, rate limits, faults.
    pub fn server(&self) -> &SimServer {
        &self.server
    }

    /// Serve `/v2/users` or not (default: served). Off, it answers 404 as an account
    /// or region without the v2 line would, so the client's fallback to v1 can be tested.
    pub fn set_users_v2(&self, served: bool) {
        lock(&self.state).users_v2 = served;
    }

    /// The base URL (`http://127.0.0.1:PORT/`); the client appends `v1/...`.
    pub fn base_url(&self) -> Url {
        self.server.base_url()
    }

    /// Stop the server gracefully.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }

    /// A user's current state.
    pub fn user(&self, id: u64) -> Option<AircallUser> {
        let state = lock(&self.state);
        state.index_of(id).map(|index| state.users[index].clone())
    }

    /// Every user, by ascending id.
    pub fn users(&self) -> Vec<AircallUser> {
        lock(&self.state).users.clone()
    }

    /// Set a user's status directly, as the agent would in the Aircall app (the request
    /// log is not touched). The substatus is kept only for `unavailable`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for an unknown user id.
    pub fn set_availability(
        &self,
        id: u64,
        status: AircallAvailabilityStatus,
        substatus: Option<&str>,
    ) -> Result<()> {
        let mut state = lock(&self.state);
        let index =
            state.index_of(id).ok_or_else(|| Error::invalid("aircall user id", format!("no user {id}")))?;
        let user = &mut state.users[index];
        user.availability_status = status;
        user.substatus = match status {
            AircallAvailabilityStatus::Unavailable => substatus.map(str::to_owned),
            _ => None,
        };
        Ok(())
    }

    /// Open or close a user's automatic schedule (what `custom` reads as).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for an unknown user id.
    pub fn set_schedule_open(&self, id: u64, open: bool) -> Result<()> {
        let mut state = lock(&self.state);
        let index =
            state.index_of(id).ok_or_else(|| Error::invalid("aircall user id", format!("no user {id}")))?;
        state.users[index].schedule_open = open;
        Ok(())
    }

    /// A webhook delivery of a user event (e.g. `user.closed.v2`) carrying the user's
    /// current state, signed with the webhook `token`, timestamped now. `None` for an
    /// unknown user.
    pub fn user_event_delivery(&self, event: &str, user_id: u64, token: &str) -> Option<WebhookDelivery> {
        let user = self.user(user_id)?;
        let timestamp =
            SystemTime::now().duration_since(UNIX_EPOCH).map(|since| since.as_secs()).unwrap_or(0);
        Some(user_event_delivery(event, &user, token, timestamp, &self.base_url()))
    }
}

/// A user-event webhook delivery as Aircall sends it: the envelope `{resource: "user",
/// event, timestamp, token, data}` and the observed headers (`content-type`,
/// `user-agent: axios/…`, `aircall-origin: webhooks`). For `.v2` events `data` leaves out
/// `numbers`, as Aircall does.
pub fn user_event_delivery(
    event: &str,
    user: &AircallUser,
    token: &str,
    timestamp: u64,
    base_url: &Url,
) -> WebhookDelivery {
    let mut data = user.to_json(base_url);
    if event.ends_with(".v2") {
        if let Some(object) = data.as_object_mut() {
            object.remove("numbers");
        }
    }
    let envelope = json!({
        "resource": "user",
        "event": event,
        "timestamp": timestamp,
        "token": token,
        "data": data,
    });
    WebhookDelivery::new(
        "aircall",
        envelope.to_string().into_bytes(),
        vec![
            ("content-type".to_owned(), "application/json".to_owned()),
            ("user-agent".to_owned(), "axios/1.7.7".to_owned()),
            ("aircall-origin".to_owned(), "webhooks".to_owned()),
        ],
    )
}

fn link(base_url: &Url, path: &str) -> String {
    base_url.join(path).map(String::from).unwrap_or_else(|_| format!("{base_url}{path}"))
}

fn error(status: StatusCode, error: &str, troubleshoot: &str) -> SimResponse {
    SimResponse::json(status, &json!({ "error": error, "troubleshoot": troubleshoot }))
}

fn not_found(what: &str) -> SimResponse {
    error(StatusCode::NOT_FOUND, "Not found", &format!("{what} not found"))
}

struct PageRequest {
    page: u64,
    per_page: u64,
    descending: bool,
}

fn page_request(request: &SimRequest) -> std::result::Result<PageRequest, Box<SimResponse>> {
    let number = |name: &str, default: u64| -> std::result::Result<u64, Box<SimResponse>> {
        match request.query_value(name) {
            None => Ok(default),
            Some(text) => text.trim().parse::<u64>().map_err(|_| {
                Box::new(error(
                    StatusCode::BAD_REQUEST,
                    "Bad request",
                    &format!("`{name}` must be a positive integer"),
                ))
            }),
        }
    };
    let page = number("page", 1)?.max(1);
    let per_page = number("per_page", DEFAULT_PER_PAGE)?.clamp(1, MAX_PER_PAGE);
    let descending = match request.query_value("order").as_deref() {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(_) => {
            return Err(Box::new(error(
                StatusCode::BAD_REQUEST,
                "Bad request",
                "`order` must be `asc` or `desc`",
            )));
        }
    };
    Ok(PageRequest { page, per_page, descending })
}

/// Cut one page out of `items` and build the `meta` object with absolute links.
fn paginate<'a, T>(items: &'a [T], paging: &PageRequest, base_url: &Url, path: &str) -> (Vec<&'a T>, Value) {
    let total = items.len() as u64;
    let start = (paging.page - 1).saturating_mul(paging.per_page);
    let page: Vec<&T> = if paging.descending {
        items.iter().rev().skip(start as usize).take(paging.per_page as usize).collect()
    } else {
        items.iter().skip(start as usize).take(paging.per_page as usize).collect()
    };
    let page_link = |page: u64| {
        let mut url = base_url.join(path.trim_start_matches('/')).unwrap_or_else(|_| base_url.clone());
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("page", &page.to_string());
            query.append_pair("per_page", &paging.per_page.to_string());
            if paging.descending {
                query.append_pair("order", "desc");
            }
        }
        String::from(url)
    };
    let next = (start.saturating_add(paging.per_page) < total).then(|| page_link(paging.page + 1));
    let previous = (paging.page > 1).then(|| page_link(paging.page - 1));
    let meta = json!({
        "count": page.len(),
        "total": total,
        "current_page": paging.page,
        "per_page": paging.per_page,
        "next_page_link": next,
        "previous_page_link": previous,
    });
    (page, meta)
}

impl AircallProvider {
    fn list_users(&self, request: &SimRequest, base_url: &Url, availabilities: bool) -> SimResponse {
        self.list_users_as(request, base_url, availabilities, false)
    }

    fn list_users_as(
        &self,
        request: &SimRequest,
        base_url: &Url,
        availabilities: bool,
        v2: bool,
    ) -> SimResponse {
        let paging = match page_request(request) {
            Ok(paging) => paging,
            Err(response) => return *response,
        };
        let state = lock(&self.state);
        let (page, meta) = paginate(&state.users, &paging, base_url, &request.path);
        let users: Vec<Value> = page
            .into_iter()
            .map(|user| {
                if availabilities {
                    json!({ "id": user.id, "availability": user.availability() })
                } else if v2 {
                    user.to_json_v2(base_url)
                } else {
                    user.to_json(base_url)
                }
            })
            .collect();
        SimResponse::json(StatusCode::OK, &json!({ "users": users, "meta": meta }))
    }

    fn team_json(state: &AircallState, team: &AircallTeamSeed, base_url: &Url) -> Value {
        let users: Vec<Value> = team
            .user_ids
            .iter()
            .filter_map(|id| state.index_of(*id).map(|index| state.users[index].to_json(base_url)))
            .collect();
        json!({
            "id": team.id,
            "name": team.name,
            "direct_link": link(base_url, &format!("v1/teams/{}", team.id)),
            "created_at": SEED_CREATED_AT,
            "users": users,
        })
    }

    /// `POST /v1/webhooks`: `{custom_name, url, events?}` → `201 {"webhook": {…, token}}`.
    fn create_webhook(&self, request: &SimRequest) -> SimResponse {
        let Some(Value::Object(body)) = request.body_json() else {
            return error(StatusCode::BAD_REQUEST, "Bad request", "The request body must be a JSON object");
        };
        let url = body.get("url").and_then(Value::as_str).unwrap_or_default();
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return error(StatusCode::BAD_REQUEST, "Invalid url", "url must be an https URL");
        }
        let events: Vec<String> = match body.get("events") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => {
                let mut events = Vec::new();
                for item in items {
                    match item.as_str() {
                        Some(event) if event.contains('.') => events.push(event.to_owned()),
                        _ => {
                            return error(
                                StatusCode::BAD_REQUEST,
                                "Invalid events",
                                "events must be event names",
                            );
                        }
                    }
                }
                events
            }
            Some(_) => return error(StatusCode::BAD_REQUEST, "Invalid events", "events must be an array"),
        };
        let mut state = lock(&self.state);
        if state.webhooks.len() >= 100 {
            return error(
                StatusCode::BAD_REQUEST,
                "Too many webhooks",
                "A company may have at most 100 webhooks",
            );
        }
        let n = state.webhooks.len() + 1;
        let webhook = json!({
            "webhook_id": format!("00000000-0000-4000-8000-{n:012}"),
            "direct_link": format!("https://api.aircall.io/v1/webhooks/00000000-0000-4000-8000-{n:012}"),
            "created_at": SEED_CREATED_AT,
            "url": url,
            "active": true,
            "custom_name": body.get("custom_name").cloned().unwrap_or(Value::Null),
            "events": events,
            "token": format!("sim-aircall-webhook-token-{n}"),
        });
        state.webhooks.push(webhook.clone());
        SimResponse::json(StatusCode::CREATED, &json!({ "webhook": webhook }))
    }

    fn update_user(&self, request: &SimRequest, id: u64, base_url: &Url) -> SimResponse {
        let Some(Value::Object(body)) = request.body_json() else {
            return error(StatusCode::BAD_REQUEST, "Bad request", "The request body must be a JSON object");
        };
        let status = match body.get("availability_status") {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) => match AircallAvailabilityStatus::parse(text) {
                Some(status) => Some(status),
                None => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "Invalid availability_status",
                        "availability_status must be one of: available, custom, unavailable",
                    );
                }
            },
            Some(_) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "Invalid availability_status",
                    "availability_status must be a string: available, custom or unavailable",
                );
            }
        };
        let substatus = match body.get("substatus") {
            None => None,
            Some(Value::Null) => Some(None),
            Some(Value::String(text)) if SUBSTATUSES.contains(&text.as_str()) => Some(Some(text.clone())),
            Some(_) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "Invalid substatus",
                    "substatus must be one of: out_for_lunch, on_a_break, in_training, doing_back_office, other",
                );
            }
        };
        let mut state = lock(&self.state);
        let Some(index) = state.index_of(id) else {
            return not_found("User");
        };
        let user = &mut state.users[index];
        if let Some(status) = status {
            if status != user.availability_status {
                user.substatus = None;
            }
            user.availability_status = status;
        }
        if let Some(substatus) = substatus {
            user.substatus = substatus;
        }
        if user.availability_status != AircallAvailabilityStatus::Unavailable {
            user.substatus = None;
        }
        SimResponse::json(StatusCode::OK, &json!({ "user": user.to_json(base_url) }))
    }
}

impl SimProvider for AircallProvider {
    fn name(&self) -> &'static str {
        "aircall"
    }

    fn handle(&self, request: &SimRequest, base_url: &Url) -> SimResponse {
        let segments = request.path_segments();
        if let Some(response) = self.handle_calls(request, &segments, base_url) {
            return response;
        }
        let id = |text: &str| text.parse::<u64>().ok();
        match (&request.method, segments.as_slice()) {
            (&Method::GET, ["v1", "ping"]) => SimResponse::json(StatusCode::OK, &json!({ "ping": "pong" })),
            (&Method::GET, ["v1", "users"]) => self.list_users(request, base_url, false),
            (&Method::GET, ["v1", "users", "availabilities"]) => self.list_users(request, base_url, true),
            (&Method::GET, ["v2", "users"]) if lock(&self.state).users_v2 => {
                self.list_users_as(request, base_url, false, true)
            }
            (&Method::GET, ["v2", "users", user_id]) if lock(&self.state).users_v2 => {
                let state = lock(&self.state);
                match id(user_id).and_then(|user_id| state.index_of(user_id)) {
                    Some(index) => SimResponse::json(
                        StatusCode::OK,
                        &json!({ "user": state.users[index].to_json_v2(base_url) }),
                    ),
                    None => not_found("User"),
                }
            }
            (&Method::GET, ["v1", "users", user_id]) => {
                let state = lock(&self.state);
                match id(user_id).and_then(|user_id| state.index_of(user_id)) {
                    Some(index) => SimResponse::json(
                        StatusCode::OK,
                        &json!({ "user": state.users[index].to_json(base_url) }),
                    ),
                    None => not_found("User"),
                }
            }
            (&Method::GET, ["v1", "users", user_id, "availability"]) => {
                let state = lock(&self.state);
                match id(user_id).and_then(|user_id| state.index_of(user_id)) {
                    Some(index) => SimResponse::json(
                        StatusCode::OK,
                        &json!({ "availability": state.users[index].availability() }),
                    ),
                    None => not_found("User"),
                }
            }
            (&Method::PUT, ["v1", "users", user_id]) => match id(user_id) {
                Some(user_id) => self.update_user(request, user_id, base_url),
                None => not_found("User"),
            },
            (&Method::GET, ["v1", "webhooks"]) => {
                let paging = match page_request(request) {
                    Ok(paging) => paging,
                    Err(response) => return *response,
                };
                let state = lock(&self.state);
                let (page, meta) = paginate(&state.webhooks, &paging, base_url, &request.path);
                SimResponse::json(StatusCode::OK, &json!({ "webhooks": page, "meta": meta }))
            }
            (&Method::POST, ["v1", "webhooks"]) => self.create_webhook(request),
            (&Method::GET, ["v1", "teams"]) => {
                let paging = match page_request(request) {
                    Ok(paging) => paging,
                    Err(response) => return *response,
                };
                let state = lock(&self.state);
                let (page, meta) = paginate(&state.teams, &paging, base_url, &request.path);
                let teams: Vec<Value> =
                    page.into_iter().map(|team| Self::team_json(&state, team, base_url)).collect();
                SimResponse::json(StatusCode::OK, &json!({ "teams": teams, "meta": meta }))
            }
            (&Method::GET, ["v1", "teams", team_id]) => {
                let state = lock(&self.state);
                let team = id(team_id).and_then(|team_id| {
                    state
                        .teams
                        .binary_search_by_key(&team_id, |team| team.id)
                        .ok()
                        .map(|index| &state.teams[index])
                });
                match team {
                    Some(team) => SimResponse::json(
                        StatusCode::OK,
                        &json!({ "team": Self::team_json(&state, team, base_url) }),
                    ),
                    None => not_found("Team"),
                }
            }
            _ => not_found("Resource"),
        }
    }

    fn unauthorized(&self, _request: &SimRequest) -> SimResponse {
        error(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "Check your api_id and api_token (Basic auth) or your OAuth token",
        )
    }

    fn too_many_requests(&self, status: &RateLimitStatus) -> SimResponse {
        error(
            StatusCode::TOO_MANY_REQUESTS,
            "Too Many Requests",
            &format!("Rate limit of {} requests reached; wait until X-AircallApi-Reset", status.limit),
        )
    }

    fn rate_limit_headers(&self, status: &RateLimitStatus, _exceeded: bool) -> Vec<(&'static str, String)> {
        vec![
            ("x-aircallapi-limit", status.limit.to_string()),
            ("x-aircallapi-remaining", status.remaining.to_string()),
            ("x-aircallapi-reset", status.resets_at_epoch_seconds().to_string()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_values_follow_the_documented_table() {
        let mut user = AircallUser::from_seed(AircallUserSeed::new(1, "A", "a@example.com"));
        assert!(user.available());
        assert_eq!(user.availability(), "available");
        user.availability_status = AircallAvailabilityStatus::Unavailable;
        assert!(!user.available());
        assert_eq!(user.availability(), "do_not_disturb");
        user.availability_status = AircallAvailabilityStatus::Custom;
        assert_eq!(user.availability(), "available");
        user.schedule_open = false;
        assert!(!user.available());
        assert_eq!(user.availability(), "offline");
    }

    #[test]
    fn seed_substatus_is_dropped_unless_unavailable() {
        let mut seed = AircallUserSeed::new(1, "A", "a@example.com");
        seed.substatus = Some("on_a_break".into());
        assert_eq!(AircallUser::from_seed(seed.clone()).substatus, None);
        seed.availability_status = AircallAvailabilityStatus::Unavailable;
        assert_eq!(AircallUser::from_seed(seed).substatus.as_deref(), Some("on_a_break"));
    }

    #[test]
    fn synthetic_users_are_distinct() {
        let users = AircallUserSeed::synthetic(10);
        assert_eq!(users.len(), 10);
        assert_eq!(users[0].email, "agent1@example.com");
        let mut ids: Vec<u64> = users.iter().map(|user| user.id).collect();
        ids.dedup();
        assert_eq!(ids.len(), 10);
    }
}
