//! Shifton API simulator: the current API's employees, and the legacy OAuth API's token,
//! employees and shifts, on their real paths and shapes (see the Shifton provider
//! reference).
//!
//! | Method | Path | Notes |
//! |---|---|---|
//! | POST | `/oauth/token` | password grant, JSON `{username, password, client_id, client_secret, grant_type, scope}` → `{token_type, expires_in, access_token, refresh_token}`; wrong credentials 401 |
//! | GET | `/api/v1/employees` | `{"data":[{id, name, position, email?}]}` |
//! | GET | `/work/1.0.0/companies/{company_id}/employees` | `[{id, full_name, email?}]` |
//! | GET | `/work/1.0.0/projects/{project_id}/shifts` | **JSON body on the GET** `{"start","end"}` (`YYYY-MM-DD HH:MM:SS`, company-local); 400 when the body is missing or malformed, or the range is longer than 31 days; `[{id, employee_id, planned_from, planned_to, location:{title}}]` overlapping the range |
//!
//! One server can stand for both hosts (point `base_url` and `shifts_base_url` at it), or
//! start two simulators over one shared state with [`ShiftonSim::start_pair`] to check that
//! each call goes to its own host.
//!
//! **Auth:** every data path takes `Authorization: Bearer` with the configured API key or
//! an access token the token endpoint issued (and not expired by
//! [`ShiftonSim::expire_tokens`]); otherwise 401 `{"message":"Unauthenticated."}` (the
//! body shape is the simulator's choice: Shifton documents none). **Rate limits:**
//! configured [`RateLimitRule`]s answer 429 with `Retry-After` (Shifton publishes no
//! limits or headers; UNCONFIRMED). **E-mails:** an employee's `email` is sent only when
//! seeded: whether Shifton sends one is UNCONFIRMED.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use axum::http::{Method, StatusCode};
use chrono::NaiveDateTime;
use serde_json::{Value, json};
use url::Url;

use super::server::lock;
use super::{RateLimitRule, RateLimitStatus, SimProvider, SimRequest, SimResponse, SimServer};
use crate::Result;

/// The format of shift times and of the shifts request's range.
const LOCAL_FORMAT: &str = "%Y-%m-%d %H:%M:%S";
/// The longest range one shifts request may ask for, in days.
const MAX_RANGE_DAYS: i64 = 31;

/// An employee to seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShiftonEmployeeSeed {
    /// Employee id.
    pub id: u64,
    /// Full name.
    pub name: String,
    /// E-mail, sent only when present.
    pub email: Option<String>,
}

impl ShiftonEmployeeSeed {
    /// An employee without an e-mail.
    pub fn new(id: u64, name: impl Into<String>) -> Self {
        Self { id, name: name.into(), email: None }
    }

    /// The same employee with an e-mail.
    pub fn with_email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }
}

/// A shift to seed (company-local times, `YYYY-MM-DD HH:MM:SS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShiftonShiftSeed {
    /// Shift id.
    pub id: u64,
    /// Project id.
    pub project_id: u64,
    /// Employee id; `None` for an open shift.
    pub employee_id: Option<u64>,
    /// Start, company-local.
    pub planned_from: String,
    /// End, company-local.
    pub planned_to: String,
    /// Location title.
    pub location: String,
}

impl ShiftonShiftSeed {
    /// A shift of `employee_id` in `project_id` at the "Support desk" location.
    pub fn new(
        id: u64,
        project_id: u64,
        employee_id: Option<u64>,
        planned_from: impl Into<String>,
        planned_to: impl Into<String>,
    ) -> Self {
        Self {
            id,
            project_id,
            employee_id,
            planned_from: planned_from.into(),
            planned_to: planned_to.into(),
            location: "Support desk".into(),
        }
    }
}

/// How to start a simulator.
#[derive(Debug, Clone)]
pub struct ShiftonSimConfig {
    /// The company id the legacy employees path answers for.
    pub company_id: u64,
    /// Employees.
    pub employees: Vec<ShiftonEmployeeSeed>,
    /// Shifts, in any project.
    pub shifts: Vec<ShiftonShiftSeed>,
    /// The current API's key.
    pub api_key: String,
    /// Legacy login: username, password, client id, client secret.
    pub legacy: (String, String, String, String),
    /// Rate limits (429 with `Retry-After` when spent).
    pub rate_limits: Vec<RateLimitRule>,
}

impl ShiftonSimConfig {
    /// The sample's company.
    pub const SAMPLE_COMPANY_ID: u64 = 100;
    /// The sample's project.
    pub const SAMPLE_PROJECT_ID: u64 = 200;
    /// The sample company's zone.
    pub const SAMPLE_TIME_ZONE: &'static str = "Europe/Berlin";
    /// The default API key.
    pub const DEFAULT_API_KEY: &'static str = "sim-shifton-api-key";
    /// The default legacy username.
    pub const DEFAULT_USERNAME: &'static str = "owner@example.com";
    /// The default legacy password.
    pub const DEFAULT_PASSWORD: &'static str = "sim-shifton-password";
    /// The default legacy OAuth client id.
    pub const DEFAULT_CLIENT_ID: &'static str = "2";
    /// The default legacy OAuth client secret.
    pub const DEFAULT_CLIENT_SECRET: &'static str = "sim-shifton-client-secret";

    /// A company with these employees and shifts and the default credentials.
    pub fn new(company_id: u64, employees: Vec<ShiftonEmployeeSeed>, shifts: Vec<ShiftonShiftSeed>) -> Self {
        Self {
            company_id,
            employees,
            shifts,
            api_key: Self::DEFAULT_API_KEY.into(),
            legacy: (
                Self::DEFAULT_USERNAME.into(),
                Self::DEFAULT_PASSWORD.into(),
                Self::DEFAULT_CLIENT_ID.into(),
                Self::DEFAULT_CLIENT_SECRET.into(),
            ),
            rate_limits: Vec::new(),
        }
    }

    /// The sample company (zone Europe/Berlin, project 200), matching the Usedesk
    /// simulator's sample agents: Ana, Ben, Dmitri and Farid have e-mails in Shifton;
    /// Carla and Eva have none (`examples/data/shifton_employee_map.csv` maps them); Will
    /// (warehouse) has none and no mapping. Shifts: the sample week of 2026-11-23 (as
    /// `examples/data/sample_schedule.csv`, Berlin time), night shifts across both 2026
    /// Berlin daylight-saving changes, and an open shift.
    pub fn sample() -> Self {
        let p = Self::SAMPLE_PROJECT_ID;
        let employees = vec![
            ShiftonEmployeeSeed::new(1001, "Ana Alves").with_email("ana@example.com"),
            ShiftonEmployeeSeed::new(1002, "Ben Becker").with_email("ben@example.com"),
            ShiftonEmployeeSeed::new(1003, "Carla Conti"),
            ShiftonEmployeeSeed::new(1004, "Dmitri Dorn").with_email("dmitri@example.com"),
            ShiftonEmployeeSeed::new(1005, "Eva Engel"),
            ShiftonEmployeeSeed::new(1006, "Farid Fahmy").with_email("farid@example.com"),
            ShiftonEmployeeSeed::new(1009, "Will Warehouse"),
        ];
        let shift = |id, employee, from: &str, to: &str| ShiftonShiftSeed::new(id, p, employee, from, to);
        let shifts = vec![
            // Across the spring-forward night (2026-03-29): 7 hours.
            shift(5001, Some(1003), "2026-03-28 22:00:00", "2026-03-29 06:00:00"),
            // Across the fall-back night (2026-10-25): 9 hours.
            shift(5002, Some(1003), "2026-10-24 22:00:00", "2026-10-25 06:00:00"),
            shift(5101, Some(1001), "2026-11-23 08:00:00", "2026-11-23 16:00:00"),
            shift(5102, Some(1001), "2026-11-24 08:00:00", "2026-11-24 16:00:00"),
            shift(5103, Some(1002), "2026-11-23 12:00:00", "2026-11-23 20:00:00"),
            shift(5104, Some(1003), "2026-11-22 22:00:00", "2026-11-23 06:00:00"),
            shift(5105, Some(1004), "2026-11-23 09:00:00", "2026-11-23 13:00:00"),
            shift(5106, Some(1004), "2026-11-23 13:00:00", "2026-11-23 17:00:00"),
            shift(5107, Some(1005), "2026-11-23 10:00:00", "2026-11-23 14:00:00"),
            shift(5108, Some(1005), "2026-11-23 15:00:00", "2026-11-23 19:00:00"),
            shift(5109, Some(1006), "2026-11-23 07:00:00", "2026-11-23 15:00:00"),
            shift(5110, Some(1009), "2026-11-23 06:00:00", "2026-11-23 14:00:00"),
            shift(5111, None, "2026-11-23 08:00:00", "2026-11-23 12:00:00"),
        ];
        Self::new(Self::SAMPLE_COMPANY_ID, employees, shifts)
    }

    /// The same configuration with rate limits.
    pub fn with_rate_limits(mut self, rules: Vec<RateLimitRule>) -> Self {
        self.rate_limits = rules;
        self
    }
}

#[derive(Debug)]
struct State {
    config: ShiftonSimConfig,
    access_tokens: HashSet<String>,
    issued: u64,
}

struct Provider {
    state: Arc<Mutex<State>>,
}

fn message(status: StatusCode, text: &str) -> SimResponse {
    SimResponse::json(status, &json!({ "message": text }))
}

impl Provider {
    fn authorized(&self, request: &SimRequest) -> bool {
        let Some(token) = request.header("authorization").and_then(|h| h.strip_prefix("Bearer ")) else {
            return false;
        };
        let state = lock(&self.state);
        token == state.config.api_key || state.access_tokens.contains(token)
    }

    fn token(&self, request: &SimRequest) -> SimResponse {
        let Some(body) = request.body_json() else {
            return message(StatusCode::BAD_REQUEST, "The request body must be JSON.");
        };
        let field = |name: &str| body.get(name).and_then(Value::as_str).unwrap_or_default().to_owned();
        if field("grant_type") != "password" {
            return SimResponse::json(
                StatusCode::BAD_REQUEST,
                &json!({"error": "unsupported_grant_type", "message": "The authorization grant type is not supported."}),
            );
        }
        let mut state = lock(&self.state);
        let (username, password, client_id, client_secret) = state.config.legacy.clone();
        if field("client_id") != client_id || field("client_secret") != client_secret {
            return SimResponse::json(
                StatusCode::UNAUTHORIZED,
                &json!({"error": "invalid_client", "message": "Client authentication failed"}),
            );
        }
        if field("username") != username || field("password") != password {
            return SimResponse::json(
                StatusCode::UNAUTHORIZED,
                &json!({"error": "invalid_grant", "message": "The user credentials were incorrect."}),
            );
        }
        state.issued += 1;
        let access = format!("sim-shifton-access-{}", state.issued);
        state.access_tokens.insert(access.clone());
        SimResponse::json(
            StatusCode::OK,
            &json!({
                "token_type": "Bearer",
                "expires_in": 31_536_000,
                "access_token": access,
                "refresh_token": format!("sim-shifton-refresh-{}", state.issued),
            }),
        )
    }

    fn shifts(&self, request: &SimRequest, project: &str) -> SimResponse {
        let Some(body) = request.body_json() else {
            return message(
                StatusCode::BAD_REQUEST,
                "The start and end fields are required (JSON body on the GET).",
            );
        };
        let read = |name: &str| {
            body.get(name)
                .and_then(Value::as_str)
                .and_then(|text| NaiveDateTime::parse_from_str(text, LOCAL_FORMAT).ok())
        };
        let (Some(start), Some(end)) = (read("start"), read("end")) else {
            return message(StatusCode::BAD_REQUEST, "start and end must be dates as Y-m-d H:i:s.");
        };
        if end <= start || (end - start).num_days() > MAX_RANGE_DAYS {
            return message(StatusCode::BAD_REQUEST, "The range must be positive and at most 31 days.");
        }
        let Ok(project) = project.parse::<u64>() else {
            return message(StatusCode::NOT_FOUND, "Project not found.");
        };
        let state = lock(&self.state);
        let shifts: Vec<Value> = state
            .config
            .shifts
            .iter()
            .filter(|s| s.project_id == project)
            .filter(|s| {
                let from = NaiveDateTime::parse_from_str(&s.planned_from, LOCAL_FORMAT).ok();
                let to = NaiveDateTime::parse_from_str(&s.planned_to, LOCAL_FORMAT).ok();
                matches!((from, to), (Some(from), Some(to)) if from < end && to > start)
            })
            .map(|s| {
                json!({
                    "id": s.id,
                    "employee_id": s.employee_id,
                    "planned_from": s.planned_from,
                    "planned_to": s.planned_to,
                    "location": {"title": s.location},
                })
            })
            .collect();
        SimResponse::json(StatusCode::OK, &Value::Array(shifts))
    }

    fn employees(&self, legacy: bool) -> SimResponse {
        let state = lock(&self.state);
        let list: Vec<Value> = state
            .config
            .employees
            .iter()
            .map(|e| {
                let mut value = if legacy {
                    json!({"id": e.id, "full_name": e.name})
                } else {
                    json!({"id": e.id, "name": e.name, "position": "Support agent"})
                };
                if let (Some(email), Some(object)) = (&e.email, value.as_object_mut()) {
                    object.insert("email".into(), json!(email));
                }
                value
            })
            .collect();
        if legacy {
            SimResponse::json(StatusCode::OK, &Value::Array(list))
        } else {
            SimResponse::json(StatusCode::OK, &json!({ "data": list }))
        }
    }
}

impl SimProvider for Provider {
    fn name(&self) -> &'static str {
        "shifton"
    }

    fn handle(&self, request: &SimRequest, _base_url: &Url) -> SimResponse {
        let segments = request.path_segments();
        if let (&Method::POST, ["oauth", "token"]) = (&request.method, segments.as_slice()) {
            return self.token(request);
        }
        if !self.authorized(request) {
            return self.unauthorized(request);
        }
        match (&request.method, segments.as_slice()) {
            (&Method::GET, ["api", "v1", "employees"]) => self.employees(false),
            (&Method::GET, ["work", "1.0.0", "companies", company, "employees"]) => {
                let known = lock(&self.state).config.company_id.to_string();
                if *company == known {
                    self.employees(true)
                } else {
                    message(StatusCode::NOT_FOUND, "Company not found.")
                }
            }
            (&Method::GET, ["work", "1.0.0", "projects", project, "shifts"]) => self.shifts(request, project),
            _ => message(StatusCode::NOT_FOUND, "Not found."),
        }
    }

    fn unauthorized(&self, _request: &SimRequest) -> SimResponse {
        message(StatusCode::UNAUTHORIZED, "Unauthenticated.")
    }

    fn too_many_requests(&self, status: &RateLimitStatus) -> SimResponse {
        message(StatusCode::TOO_MANY_REQUESTS, "Too Many Attempts.")
            .with_header("retry-after", status.retry_after.as_secs().max(1).to_string())
    }

    fn rate_limit_headers(&self, _status: &RateLimitStatus, _exceeded: bool) -> Vec<(&'static str, String)> {
        Vec::new()
    }
}

/// A running Shifton simulator.
#[derive(Debug)]
pub struct ShiftonSim {
    server: SimServer,
    state: Arc<Mutex<State>>,
}

impl ShiftonSim {
    /// Start a simulator with `config` on `127.0.0.1`.
    ///
    /// # Errors
    /// [`Error::Config`](crate::Error::Config) when the port cannot be bound.
    pub async fn start(config: ShiftonSimConfig) -> Result<Self> {
        let rules = config.rate_limits.clone();
        let state = Arc::new(Mutex::new(State { config, access_tokens: HashSet::new(), issued: 0 }));
        let server =
            SimServer::start(Arc::new(Provider { state: Arc::clone(&state) }), Vec::new(), rules).await?;
        Ok(Self { server, state })
    }

    /// Start the sample company ([`ShiftonSimConfig::sample`]).
    ///
    /// # Errors
    /// As [`ShiftonSim::start`].
    pub async fn start_with_sample() -> Result<Self> {
        Self::start(ShiftonSimConfig::sample()).await
    }

    /// Two servers over one state: the first for the token and employees host, the
    /// second for the shifts host (tokens issued by one are accepted by both).
    ///
    /// # Errors
    /// As [`ShiftonSim::start`].
    pub async fn start_pair(config: ShiftonSimConfig) -> Result<(Self, Self)> {
        let first = Self::start(config).await?;
        let rules = lock(&first.state).config.rate_limits.clone();
        let server =
            SimServer::start(Arc::new(Provider { state: Arc::clone(&first.state) }), Vec::new(), rules)
                .await?;
        let second = Self { server, state: Arc::clone(&first.state) };
        Ok((first, second))
    }

    /// The shared server: request log, rate limits, faults.
    pub fn server(&self) -> &SimServer {
        &self.server
    }

    /// The base URL (`http://127.0.0.1:PORT/`): a host, as `SHIFTON_BASE_URL` expects.
    pub fn base_url(&self) -> Url {
        self.server.base_url()
    }

    /// Invalidate every issued access token: the next legacy call gets a 401 and must log
    /// in again.
    pub fn expire_tokens(&self) {
        lock(&self.state).access_tokens.clear();
    }

    /// How many tokens the token endpoint has issued.
    pub fn tokens_issued(&self) -> u64 {
        lock(&self.state).issued
    }

    /// Add or replace a shift (as a planner editing the rota).
    pub fn upsert_shift(&self, shift: ShiftonShiftSeed) {
        let mut state = lock(&self.state);
        state.config.shifts.retain(|s| s.id != shift.id);
        state.config.shifts.push(shift);
    }

    /// Add or replace an employee (as a manager hiring someone).
    pub fn add_employee(&self, employee: ShiftonEmployeeSeed) {
        let mut state = lock(&self.state);
        state.config.employees.retain(|e| e.id != employee.id);
        state.config.employees.push(employee);
    }

    /// Stop the server gracefully.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}
