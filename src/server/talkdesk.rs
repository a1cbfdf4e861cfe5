//! The endpoints Talkdesk calls on a custom integration's bridge, served from any
//! [`TalkdeskBackend`] (features `server` and `talkdesk`).
//!
//! [`router`] serves every endpoint the [`Manifest`] declares **at the path of its URL**
//! (`https://bridge.example.com/talkdesk/contact_sync` is served at
//! `/talkdesk/contact_sync`; host, scheme and query are ignored). A [`Manifest`] guarantees
//! that no two endpoints share a path. Mount the router at the root (`Router::merge`), not
//! with `Router::nest`, which would strip the prefix the paths include; put TLS in front
//! (Talkdesk calls https URLs).
//!
//! Behaviour, per Talkdesk's contract (see the provider reference):
//!
//! - Every endpoint accepts `POST` with a JSON body and answers JSON. Other methods get 405,
//!   unknown paths (including an unknown action) 404, both with a JSON body that lists
//!   nothing (no served path, no action name).
//! - Talkdesk authenticates only through the `auth` object of the body (no signature or IP
//!   allow-list is documented; UNCONFIRMED). **The caller is authenticated before anything
//!   else of the request is looked at**: the `auth` object is read on its own first; a
//!   request that lacks a mandatory, stored credential field of the manifest gets **401**
//!   without reaching the backend, and then [`TalkdeskBackend::authenticate`] decides (401
//!   on [`BackendError::Unauthorized`], which makes Talkdesk refresh an OAuth token and call
//!   again). Only an authenticated caller learns how the rest of its body is wrong (JSON
//!   paths, the action's input problems and allowed values).
//! - A body that is empty or not JSON gets a 400 saying only that; a body that is too large
//!   gets 413; an authenticated body of the wrong shape gets a 400 naming the offending
//!   JSON path. Bad input never yields a 500.
//! - Action inputs are validated against the manifest after authentication and before the
//!   backend runs: problems give **400** naming each input key. A successful action answers **201** with `external_id`;
//!   [`BackendError::Rejected`] answers **400** with its `message` (Talkdesk's legacy
//!   contract; the current codes are UNCONFIRMED).
//! - Other backend errors answer 502 (upstream failed), 503 (unavailable, with
//!   `Retry-After` when known) or 501 (not supported), with a bounded message from which
//!   every credential value of the request has been redacted.
//!
//! Every error body has the shape `{"error": "<code>", "message": "<text>"}`, plus `field`
//! (the JSON path of a malformed body) or `problems` (`[{"key", "message"}]` for invalid
//! action inputs) when they apply.
//!
//! Serve it with [`limits::serve`](super::limits::serve), which cuts slow and stalled
//! clients and bounds connections, concurrent requests and bodies:
//!
//! ```no_run
//! # async fn demo(backend: std::sync::Arc<dyn deskbridge::talkdesk::TalkdeskBackend>) -> Result<(), Box<dyn std::error::Error>> {
//! use deskbridge::server::limits::{ServerLimits, serve};
//! use deskbridge::talkdesk::Manifest;
//!
//! let public = url::Url::parse("https://bridge.example.com/talkdesk")?;
//! let app = deskbridge::server::talkdesk::router(backend, Manifest::example_mycrm(&public)?);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8087").await?;
//! serve(listener, app, ServerLimits::default()).await?;
//! # Ok(())
//! # }
//! ```

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::excerpt;
use crate::talkdesk::{
    ActionCall, AgentsPageRequest, AuthFields, BackendError, ContactsPageRequest, InputProblem,
    InteractionQuery, InvalidActionData, Manifest, TalkdeskBackend,
};
use crate::talkdesk::{
    ActionRequest, AgentSyncRequest, AuthValidationRequest, ContactSyncRequest, InteractionRetrievalRequest,
};

/// Longest message (in characters) an error body quotes.
const MAX_MESSAGE_CHARS: usize = 500;

/// Tunables of the router.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RouterOptions {
    /// Contacts per page handed to [`TalkdeskBackend::contacts_page`] (Talkdesk sends no
    /// limit). Default 100.
    pub contacts_page_size: usize,
    /// Agents per page handed to [`TalkdeskBackend::agents_page`]. Default 100.
    pub agents_page_size: usize,
    /// Largest request body accepted, in bytes; larger bodies get 413. Default 1 MiB.
    pub max_body_bytes: usize,
    /// Answer a successful auth validation with `204 No Content` (what Talkdesk's legacy
    /// documentation expected) instead of `200 OK` with the extra auth fields (what it
    /// documents today, the default). With 204 the extra fields cannot be sent.
    pub legacy_auth_validation_204: bool,
}

/// Builder methods: start from the constructor and set what differs.
impl RouterOptions {
    /// Set [`contacts_page_size`](Self::contacts_page_size).
    pub fn with_contacts_page_size(mut self, contacts_page_size: usize) -> Self {
        self.contacts_page_size = contacts_page_size;
        self
    }

    /// Set [`agents_page_size`](Self::agents_page_size).
    pub fn with_agents_page_size(mut self, agents_page_size: usize) -> Self {
        self.agents_page_size = agents_page_size;
        self
    }

    /// Set [`max_body_bytes`](Self::max_body_bytes).
    pub fn with_max_body_bytes(mut self, max_body_bytes: usize) -> Self {
        self.max_body_bytes = max_body_bytes;
        self
    }

    /// Set [`legacy_auth_validation_204`](Self::legacy_auth_validation_204).
    pub fn with_legacy_auth_validation_204(mut self, legacy_auth_validation_204: bool) -> Self {
        self.legacy_auth_validation_204 = legacy_auth_validation_204;
        self
    }
}

impl Default for RouterOptions {
    fn default() -> Self {
        Self {
            contacts_page_size: 100,
            agents_page_size: 100,
            max_body_bytes: 1024 * 1024,
            legacy_auth_validation_204: false,
        }
    }
}

impl RouterOptions {
    /// Set the contact page size (at least 1).
    pub fn contacts_page_size(mut self, size: usize) -> Self {
        self.contacts_page_size = size.max(1);
        self
    }

    /// Set the agent page size (at least 1).
    pub fn agents_page_size(mut self, size: usize) -> Self {
        self.agents_page_size = size.max(1);
        self
    }

    /// Set the largest accepted body, in bytes.
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// Answer auth validation the legacy way (`204 No Content`); see
    /// [`RouterOptions::legacy_auth_validation_204`].
    pub fn legacy_auth_validation_204(mut self, legacy: bool) -> Self {
        self.legacy_auth_validation_204 = legacy;
        self
    }
}

/// One endpoint the router serves.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Endpoint {
    /// `auth_validation_endpoint`.
    AuthValidation,
    /// `contact_synchronization_endpoint`.
    ContactSynchronization,
    /// `interaction_retrieval_endpoint`.
    InteractionRetrieval,
    /// `agent_synchronization_endpoint`.
    AgentSynchronization,
    /// The `endpoint` of the action with this name.
    Action(String),
}

/// The paths the router serves for this manifest and what each one is, in manifest order.
pub fn endpoints(manifest: &Manifest) -> Vec<(String, Endpoint)> {
    let details = manifest.integration();
    let declared = [
        (&details.auth_validation_endpoint, Endpoint::AuthValidation),
        (&details.contact_synchronization_endpoint, Endpoint::ContactSynchronization),
        (&details.interaction_retrieval_endpoint, Endpoint::InteractionRetrieval),
        (&details.agent_synchronization_endpoint, Endpoint::AgentSynchronization),
    ];
    let mut out: Vec<(String, Endpoint)> = declared
        .into_iter()
        .filter_map(|(url, endpoint)| url.as_deref().and_then(path_of).map(|path| (path, endpoint)))
        .collect();
    for action in manifest.actions() {
        if let Some(path) = path_of(&action.endpoint) {
            out.push((path, Endpoint::Action(action.name.clone())));
        }
    }
    out
}

fn path_of(url: &str) -> Option<String> {
    url::Url::parse(url).ok().map(|url| url.path().to_owned())
}

/// The router with default [`RouterOptions`].
pub fn router(backend: Arc<dyn TalkdeskBackend>, manifest: Manifest) -> Router {
    router_with_options(backend, manifest, RouterOptions::default())
}

/// The router with explicit options.
pub fn router_with_options(
    backend: Arc<dyn TalkdeskBackend>,
    manifest: Manifest,
    options: RouterOptions,
) -> Router {
    let bridge = Bridge {
        endpoints: endpoints(&manifest).into_iter().collect(),
        backend,
        manifest,
        options: options.clone(),
    };
    Router::new()
        .fallback(dispatch)
        .layer(DefaultBodyLimit::max(options.max_body_bytes))
        .with_state(Arc::new(bridge))
}

struct Bridge {
    backend: Arc<dyn TalkdeskBackend>,
    manifest: Manifest,
    options: RouterOptions,
    endpoints: HashMap<String, Endpoint>,
}

/// The JSON body of every error answer.
#[derive(Debug, Serialize)]
struct ErrorBody {
    error: &'static str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    problems: Vec<InputProblem>,
}

/// An error answer: status, JSON body, and `Retry-After` when known.
struct Refusal {
    status: StatusCode,
    body: Box<ErrorBody>,
    retry_after: Option<HeaderValue>,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body)).into_response();
        if let Some(value) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

fn refusal(status: StatusCode, code: &'static str, message: impl Into<String>) -> Refusal {
    let body = ErrorBody { error: code, message: message.into(), field: None, problems: Vec::new() };
    Refusal { status, body: Box::new(body), retry_after: None }
}

fn json_response<T: Serialize>(status: StatusCode, body: &T) -> Response {
    (status, axum::Json(body)).into_response()
}

async fn dispatch(
    State(bridge): State<Arc<Bridge>>,
    method: Method,
    uri: Uri,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let path = uri.path();
    let Some(endpoint) = bridge.endpoints.get(path) else {
        // Name nothing: neither the served paths nor the one asked for.
        return refusal(StatusCode::NOT_FOUND, "not_found", "nothing is served at this path").into_response();
    };
    if method != Method::POST {
        let mut response = refusal(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("Talkdesk endpoints accept POST only, not {method}"),
        )
        .into_response();
        response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            let status = rejection.status();
            let status = if status.is_client_error() { status } else { StatusCode::BAD_REQUEST };
            return refusal(status, "unreadable_body", rejection.body_text()).into_response();
        }
    };
    let outcome = match endpoint {
        Endpoint::AuthValidation => bridge.auth_validation(&body).await,
        other => match bridge.authenticate(&body).await {
            Err(refused) => Err(refused),
            Ok(()) => match other {
                Endpoint::ContactSynchronization => bridge.contact_synchronization(&body).await,
                Endpoint::InteractionRetrieval => bridge.interaction_retrieval(&body).await,
                Endpoint::AgentSynchronization => bridge.agent_synchronization(&body).await,
                Endpoint::Action(name) => bridge.action(name, &body).await,
                Endpoint::AuthValidation => bridge.auth_validation(&body).await,
            },
        },
    };
    outcome.unwrap_or_else(IntoResponse::into_response)
}

/// The `auth` object of a request body, read alone (everything else is ignored), so that
/// the caller is authenticated before the rest of the body is examined. An empty or
/// non-JSON body gets a 400 that says nothing about the expected shape.
fn auth_of(body: &[u8]) -> Result<AuthFields, Refusal> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(refusal(
            StatusCode::BAD_REQUEST,
            "malformed_body",
            "the request body is empty; expected a JSON object",
        ));
    }
    serde_json::from_slice::<AuthValidationRequest>(body).map(|request| request.auth).map_err(|_| {
        refusal(
            StatusCode::BAD_REQUEST,
            "malformed_body",
            "the request body is not a JSON object with `auth`",
        )
    })
}

/// Read a request body; the error answer names the JSON path of the problem.
fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Refusal> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(refusal(
            StatusCode::BAD_REQUEST,
            "malformed_body",
            "the request body is empty; expected a JSON object",
        ));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let parsed = serde_path_to_error::deserialize(&mut deserializer)
        .map_err(|error| (error.path().to_string(), error.into_inner()))
        .and_then(|value| deserializer.end().map(|()| value).map_err(|error| (".".to_owned(), error)));
    parsed.map_err(|(field, error)| {
        let message = if field == "." { error.to_string() } else { format!("{field}: {error}") };
        let body = ErrorBody {
            error: "malformed_body",
            message: excerpt(&message, MAX_MESSAGE_CHARS),
            field: Some(field),
            problems: Vec::new(),
        };
        Refusal { status: StatusCode::BAD_REQUEST, body: Box::new(body), retry_after: None }
    })
}

impl Bridge {
    /// Authenticate the caller from the body's `auth` alone: the manifest's mandatory
    /// credential fields, then [`TalkdeskBackend::authenticate`].
    async fn authenticate(&self, body: &[u8]) -> Result<(), Refusal> {
        let auth = auth_of(body)?;
        self.check_credentials(&auth)?;
        self.backend
            .authenticate(&auth)
            .await
            .map_err(|error| backend_failure("authentication", error, &auth))
    }

    /// 401 when a mandatory, stored credential field of the manifest is missing or blank.
    fn check_credentials(&self, auth: &AuthFields) -> Result<(), Refusal> {
        let missing: Vec<String> = self
            .manifest
            .integration()
            .authentication_configuration
            .iter()
            .filter(|field| field.mandatory && field.store && !auth.has(&field.field_name))
            .map(|field| format!("`{}`", field.field_name))
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(refusal(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                format!("missing credential field(s) in `auth`: {}", missing.join(", ")),
            ))
        }
    }

    async fn auth_validation(&self, body: &[u8]) -> Result<Response, Refusal> {
        // The body is `auth` alone, so reading it is authenticating.
        let auth = auth_of(body)?;
        self.check_credentials(&auth)?;
        let request: AuthValidationRequest = parse(body)?;
        let validated = self
            .backend
            .validate_auth(&request.auth)
            .await
            .map_err(|error| backend_failure("auth validation", error, &request.auth))?;
        if self.options.legacy_auth_validation_204 {
            if !validated.extra_fields.is_empty() {
                tracing::warn!(
                    fields = validated.extra_fields.len(),
                    "talkdesk: legacy 204 auth validation answer drops the extra auth fields"
                );
            }
            return Ok(StatusCode::NO_CONTENT.into_response());
        }
        Ok(json_response(StatusCode::OK, &validated.extra_fields))
    }

    async fn contact_synchronization(&self, body: &[u8]) -> Result<Response, Refusal> {
        let request: ContactSyncRequest = parse(body)?;
        self.check_credentials(&request.auth)?;
        let page_request = ContactsPageRequest {
            checkpoint: request.meta.synchronization_checkpoint,
            offset: request.meta.offset,
            context: request.meta.context,
            page_size: self.options.contacts_page_size.max(1),
        };
        let mut page = self
            .backend
            .contacts_page(&request.auth, &page_request)
            .await
            .map_err(|error| backend_failure("contact synchronization", error, &request.auth))?;
        if page.synchronization_checkpoint.is_none() {
            page.synchronization_checkpoint = page_request.checkpoint;
        }
        Ok(json_response(StatusCode::OK, &page))
    }

    async fn interaction_retrieval(&self, body: &[u8]) -> Result<Response, Refusal> {
        let request: InteractionRetrievalRequest = parse(body)?;
        self.check_credentials(&request.auth)?;
        let query = InteractionQuery {
            interaction_types: request.meta.interaction_types,
            contact_external_id: request.data.contact_external_id,
            contact_name: request.data.contact_name,
            contact_emails: request.data.contact_emails,
            contact_phones: request.data.contact_phones,
        };
        let mut interactions = self
            .backend
            .interactions(&request.auth, &query)
            .await
            .map_err(|error| backend_failure("interaction retrieval", error, &request.auth))?;
        if !query.interaction_types.is_empty() {
            interactions.retain(|interaction| {
                query
                    .interaction_types
                    .iter()
                    .any(|wanted| wanted.eq_ignore_ascii_case(&interaction.interaction_type))
            });
        }
        Ok(json_response(StatusCode::OK, &interactions))
    }

    async fn agent_synchronization(&self, body: &[u8]) -> Result<Response, Refusal> {
        let request: AgentSyncRequest = parse(body)?;
        self.check_credentials(&request.auth)?;
        let page_request = AgentsPageRequest {
            offset: request.meta.offset,
            page_size: self.options.agents_page_size.max(1),
        };
        let page = self
            .backend
            .agents_page(&request.auth, &page_request)
            .await
            .map_err(|error| backend_failure("agent synchronization", error, &request.auth))?;
        Ok(json_response(StatusCode::OK, &page))
    }

    async fn action(&self, name: &str, body: &[u8]) -> Result<Response, Refusal> {
        let request: ActionRequest = parse(body)?;
        self.check_credentials(&request.auth)?;
        let Some(action) = self.manifest.action(name) else {
            return Err(refusal(StatusCode::NOT_FOUND, "unknown_action", format!("no action `{name}`")));
        };
        let data = action.validate_data(&request.data).map_err(invalid_input)?;
        let call = ActionCall { action: name.to_owned(), meta: request.meta, data };
        let created =
            self.backend.execute_action(&request.auth, &call).await.map_err(|error| match error {
                BackendError::Rejected { message } => refusal(
                    StatusCode::BAD_REQUEST,
                    "action_failed",
                    excerpt(&request.auth.redact(&message), MAX_MESSAGE_CHARS),
                ),
                other => backend_failure("action execution", other, &request.auth),
            })?;
        Ok(json_response(StatusCode::CREATED, &created))
    }
}

fn invalid_input(invalid: InvalidActionData) -> Refusal {
    let body = ErrorBody {
        error: "invalid_input",
        message: excerpt(&invalid.to_string(), MAX_MESSAGE_CHARS),
        field: None,
        problems: invalid.problems,
    };
    Refusal { status: StatusCode::BAD_REQUEST, body: Box::new(body), retry_after: None }
}

fn backend_failure(endpoint: &'static str, error: BackendError, auth: &AuthFields) -> Refusal {
    let status = StatusCode::from_u16(error.http_status()).unwrap_or(StatusCode::BAD_GATEWAY);
    let code = match &error {
        BackendError::Unauthorized => "unauthorized",
        BackendError::Rejected { .. } => "rejected",
        BackendError::Unavailable { .. } => "unavailable",
        BackendError::NotSupported { .. } => "not_supported",
        _ => "upstream_error",
    };
    let message = excerpt(&auth.redact(&error.to_string()), MAX_MESSAGE_CHARS);
    if status.is_server_error() {
        tracing::warn!(endpoint, status = status.as_u16(), %message, "talkdesk backend failed");
    } else {
        tracing::debug!(endpoint, status = status.as_u16(), %message, "talkdesk backend refused");
    }
    let mut answer = refusal(status, code, message);
    if let BackendError::Unavailable { retry_after: Some(wait), .. } = &error {
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        answer.retry_after = HeaderValue::from_str(&seconds.to_string()).ok();
    }
    answer
}
