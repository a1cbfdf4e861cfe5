//! The typed Usedesk API: configuration and [`UsedeskClient`].
//!
//! Every call is a `POST` with a JSON body that carries `api_token` (Usedesk has no
//! header authentication). The token therefore never appears in a URL or a header; the
//! HTTP layer logs no bodies, and any text Usedesk echoes back into an error is scrubbed of
//! it.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use reqwest::Method;
use reqwest::header::HeaderMap;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use url::Url;

use super::model::{
    ClientSummary, CreatedComment, CreatedTicket, TicketDetails, TicketSummary, UpdateUserResponse,
    UsedeskChannel, UsedeskGroup, UsedeskUser, UserType,
};
use crate::http::auth::REDACTED;
use crate::http::options::from_variable;
use crate::http::{
    ApiClient, ApiRequest, Auth, ClientOptions, DefaultErrorInterpreter, RateLimit, RateLimitHeaders,
    RequestSigner, configure_client,
};
use crate::{Error, Result};

pub(crate) use super::PROVIDER;

/// Most rows `POST /tickets` returns per call.
pub const TICKETS_PAGE_SIZE: usize = 100;

/// Rows per page of `POST /clients` ("offset by 1 shows the next 100").
pub const CLIENTS_PAGE_SIZE: usize = 100;

/// How to reach one Usedesk account.
///
/// The shared options (base URL, pace, timeout, retry, transport) are set with the methods
/// every provider configuration has (see [`ConfigureClient`](crate::http::ConfigureClient)).
/// The base URL is everything before the method name: `https://api.usedesk.ru` (default),
/// `https://secure.usedesk.com/uapi`, an on-premise URL; a path prefix is kept. Usedesk
/// states "0.4 requests per second from one IP" for `/tickets` only and documents no 429
/// behaviour (UNCONFIRMED), so the default pace is 0.4 requests per second for every call.
/// Reads and status writes are retried on 5xx and timeouts; ticket and comment creation
/// are not.
///
/// ```
/// use deskbridge::usedesk::UsedeskConfig;
/// let config = UsedeskConfig::new("token-secret")?.with_base_url("https://secure.usedesk.com/uapi")?;
/// assert_eq!(config.base_url().as_str(), "https://secure.usedesk.com/uapi");
/// assert!(!format!("{config:?}").contains("token-secret"));
/// # Ok::<(), deskbridge::Error>(())
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct UsedeskConfig {
    /// The secret key of an API channel (sent as `api_token` in every body).
    pub api_token: SecretString,
    /// Base URL, pace, timeout, retry policy, transport.
    options: ClientOptions,
}

impl fmt::Debug for UsedeskConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UsedeskConfig")
            .field("base_url", &self.base_url().as_str())
            .field("api_token", &REDACTED)
            .field("options", &self.options)
            .finish()
    }
}

configure_client!(
    UsedeskConfig,
    provider: PROVIDER,
    api_prefixes: &[],
    default_base_url: |_: &UsedeskConfig| default_base_url()
);

fn default_base_url() -> Url {
    // A valid URL constant (checked by the doc test above), not outside data.
    #[allow(clippy::expect_used)]
    Url::parse(UsedeskConfig::DEFAULT_BASE_URL).expect("DEFAULT_BASE_URL is a valid URL")
}

impl UsedeskConfig {
    /// The documented base URL.
    pub const DEFAULT_BASE_URL: &'static str = "https://api.usedesk.ru";
    /// The default pace: 0.4 requests per second.
    pub const DEFAULT_REQUESTS_PER_SECOND: f64 = 0.4;
    /// Environment variable holding the API token.
    pub const ENV_API_TOKEN: &'static str = "USEDESK_API_TOKEN";
    /// Environment variable overriding the base URL.
    pub const ENV_BASE_URL: &'static str = "USEDESK_BASE_URL";

    /// A configuration for `api_token` on the default base URL, pace and timeout.
    ///
    /// # Errors
    /// [`Error::Config`] when the token is empty.
    pub fn new(api_token: impl Into<SecretString>) -> Result<Self> {
        let api_token: SecretString = api_token.into();
        if api_token.expose_secret().trim().is_empty() {
            return Err(Error::config("usedesk: api_token is empty"));
        }
        Ok(Self { api_token, options: ClientOptions::default() })
    }

    /// The pace requests start at: the configured one, else 0.4 per second.
    pub fn rate_limit(&self) -> RateLimit {
        self.options.rate_limit().unwrap_or(RateLimit::per_second(Self::DEFAULT_REQUESTS_PER_SECOND))
    }

    /// Read `USEDESK_API_TOKEN` and (optionally) `USEDESK_BASE_URL` from the process
    /// environment. `Ok(None)` only when neither is set.
    ///
    /// # Errors
    /// [`Error::Config`] for a base URL that is not a URL, or a base URL without a token.
    pub fn from_env() -> Result<Option<Self>> {
        Self::from_env_with(|name| std::env::var(name).ok())
    }

    /// As [`UsedeskConfig::from_env`], reading variables through `lookup`.
    ///
    /// ```
    /// use deskbridge::usedesk::UsedeskConfig;
    /// let config = UsedeskConfig::from_env_with(|name| match name {
    ///     "USEDESK_API_TOKEN" => Some("secret".to_owned()),
    ///     "USEDESK_BASE_URL" => Some("https://secure.usedesk.com/uapi".to_owned()),
    ///     _ => None,
    /// })
    /// .unwrap()
    /// .unwrap();
    /// assert_eq!(config.base_url().as_str(), "https://secure.usedesk.com/uapi");
    /// assert!(UsedeskConfig::from_env_with(|_| None).unwrap().is_none());
    /// // A base URL without a token is a partial configuration, not "unconfigured".
    /// let partial = UsedeskConfig::from_env_with(|name| {
    ///     (name == "USEDESK_BASE_URL").then(|| "https://secure.usedesk.com/uapi".to_owned())
    /// });
    /// assert!(partial.unwrap_err().to_string().contains("USEDESK_API_TOKEN"));
    /// ```
    ///
    /// # Errors
    /// [`Error::Config`] for a base URL that is not a URL, or a base URL without a token.
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Result<Option<Self>> {
        let Some(token) = lookup(Self::ENV_API_TOKEN).filter(|t| !t.trim().is_empty()) else {
            if lookup(Self::ENV_BASE_URL).is_some_and(|b| !b.trim().is_empty()) {
                return Err(Error::config(format!(
                    "usedesk: {} is set but {} is not",
                    Self::ENV_BASE_URL,
                    Self::ENV_API_TOKEN
                )));
            }
            return Ok(None);
        };
        let mut config = Self::new(token)?;
        if let Some(base) = lookup(Self::ENV_BASE_URL).filter(|b| !b.trim().is_empty()) {
            config = config.with_base_url(base).map_err(from_variable(Self::ENV_BASE_URL))?;
        }
        Ok(Some(config))
    }
}

/// Scrubs the body-borne token from any text the HTTP layer quotes in an error. Adds no
/// header: Usedesk authenticates by the `api_token` body field.
struct BodyTokenRedactor {
    token: SecretString,
}

impl RequestSigner for BodyTokenRedactor {
    fn sign(&self, _method: &Method, _url: &Url, _headers: &mut HeaderMap) -> Result<()> {
        Ok(())
    }

    fn redact(&self, text: &str) -> String {
        let token = self.token.expose_secret();
        if token.is_empty() { text.to_owned() } else { text.replace(token, REDACTED) }
    }
}

/// Which fields of `POST /update/user` to send. Only the fields that are `Some` are sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusUpdate {
    /// `chat_online_status`: the chat section.
    pub chat_online: Option<bool>,
    /// `ticket_online_status`: the ticket ("requests") section.
    pub ticket_online: Option<bool>,
}

/// Who a new ticket's first message is from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TicketClient {
    /// An existing client id.
    Existing(String),
    /// `client_id: "new_client"` with this `client_name`.
    New {
        /// The new client's name.
        name: String,
    },
}

/// The body of `POST /create/ticket` (the fields deskbridge uses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateTicketRequest {
    /// `subject` (at most 255 characters).
    pub subject: String,
    /// `message` (HTML allowed).
    pub message: String,
    /// `client_id` (or `"new_client"` + `client_name`).
    pub client: TicketClient,
    /// `channel_id`.
    pub channel_id: Option<String>,
    /// Tags, sent as `tag`, joined with `,` exactly as given (never trimmed).
    pub tags: Vec<String>,
    /// `additional_id`.
    pub additional_id: Option<String>,
    /// `from` (`client` for messages written by the customer).
    pub from: String,
}

/// The body of `POST /create/comment` (the fields deskbridge uses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateCommentRequest {
    /// `ticket_id`.
    pub ticket_id: String,
    /// `message` (HTML).
    pub message: String,
    /// `type`: `public` or `private` (Usedesk's default is private).
    pub kind: String,
    /// `from`: `user`, `client` or `trigger`.
    pub from: String,
}

/// A file to attach (`files[]` of a multipart request).
#[derive(Clone, PartialEq, Eq)]
pub struct UploadFile {
    /// The file name shown in Usedesk.
    pub file_name: String,
    /// Its MIME type.
    pub content_type: String,
    /// The bytes.
    pub bytes: Vec<u8>,
}

impl fmt::Debug for UploadFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UploadFile")
            .field("file_name", &self.file_name)
            .field("content_type", &self.content_type)
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// A `multipart/form-data` body: text fields, then `files[]` parts.
fn multipart(fields: &Map<String, Value>, files: &[UploadFile]) -> (String, Vec<u8>) {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
    let total: usize = files.iter().map(|f| f.bytes.len()).sum();
    let boundary = format!("deskbridge-{nanos:x}-{total:x}");
    // Quote-safe names: a `"` or line break in a file name would end the header early.
    let clean = |text: &str| text.replace(['"', '\r', '\n'], "_");
    let mut body = Vec::new();
    for (name, value) in fields {
        let text = match value {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"\r\n\r\n", clean(name))
                .as_bytes(),
        );
        body.extend_from_slice(text.as_bytes());
        body.extend_from_slice(b"\r\n");
    }
    for file in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"files[]\"; filename=\"{}\"\r\nContent-Type: {}\r\n\r\n",
                clean(&file.file_name),
                clean(&file.content_type)
            )
            .as_bytes(),
        );
        body.extend_from_slice(&file.bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Filters of `POST /tickets`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketQuery {
    /// `fchannel`: channel ids (comma-separated on the wire).
    pub channels: Vec<String>,
    /// `fstatus`: status ids.
    pub statuses: Vec<u64>,
    /// `created_after`, sent as `YYYY-MM-DD HH:MM` in UTC (seconds are cut, which widens
    /// the window by under a minute).
    pub created_after: Option<DateTime<Utc>>,
    /// `tag`.
    pub tag: Option<String>,
    /// `client_id` (UNCONFIRMED in the official docs; used by public clients).
    pub client_id: Option<String>,
}

/// Filters of `POST /clients`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientQuery {
    /// `query`: text to search in names, e-mails and phones.
    pub query: Option<String>,
    /// `search_type`: `full_match` when true, `partial_match` (Usedesk's default) when false.
    /// Sent only with `query`.
    pub full_match: bool,
    /// `created_after`, sent as `YYYY-MM-DD HH:MM` in UTC (seconds are cut, which widens the
    /// window by under a minute).
    pub created_after: Option<DateTime<Utc>>,
    /// `created_before`, same format (seconds cut).
    pub created_before: Option<DateTime<Utc>>,
}

/// How Usedesk's `/tickets` `offset` turned out to behave (UNCONFIRMED: page number as on
/// `/clients`, or row offset).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OffsetMode {
    /// `offset=1` is the second page of 100.
    PageNumber,
    /// `offset=100` is the second page of 100.
    RowOffset,
}

/// What reading a created ticket's tags back found (see [`UsedeskClient::tag_check`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TagReadBack {
    /// Usedesk kept every tag exactly as sent.
    Exact,
    /// Usedesk stored other tags than those sent (for example `Twitter: Mention` split
    /// into `Twitter:` and `Mention`): tickets are tagged wrongly on this account.
    Mismatch {
        /// The ticket that was read back.
        ticket_id: String,
        /// The tags sent, in order.
        sent: Vec<String>,
        /// The tags Usedesk reports, in its order.
        stored: Vec<String>,
    },
}

/// The typed Usedesk API over [`ApiClient`]. Cheap to clone.
#[derive(Clone)]
pub struct UsedeskClient {
    http: ApiClient,
    token: SecretString,
    /// The result of the one tag read-back of this client and its clones.
    tag_check: Arc<tokio::sync::OnceCell<TagReadBack>>,
}

impl fmt::Debug for UsedeskClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UsedeskClient")
            .field("base_url", &self.http.base_url().as_str())
            .field("api_token", &REDACTED)
            .finish_non_exhaustive()
    }
}

/// Send an id as a JSON number when it is one (as the docs' examples do), else a string.
fn id_value(id: &str) -> Value {
    match id.trim().parse::<u64>() {
        Ok(number) => Value::from(number),
        Err(_) => Value::from(id),
    }
}

impl UsedeskClient {
    /// A client for `config` (the default reqwest transport).
    ///
    /// # Errors
    /// [`Error::Config`] for a bad base URL or timeout.
    pub fn new(config: UsedeskConfig) -> Result<Self> {
        let http = config
            .options
            .api_client_builder(PROVIDER, config.base_url())
            .auth(Auth::signer(BodyTokenRedactor { token: config.api_token.clone() }))
            .rate_limit(config.rate_limit())
            .rate_limit_headers(RateLimitHeaders::none())
            .error_interpreter(DefaultErrorInterpreter::new().error_key_in_success())
            .build()?;
        Ok(Self { http, token: config.api_token, tag_check: Arc::new(tokio::sync::OnceCell::new()) })
    }

    /// The underlying HTTP client (its rate limiter, base URL).
    pub fn http(&self) -> &ApiClient {
        &self.http
    }

    /// `fields` plus `api_token`.
    fn body(&self, fields: Map<String, Value>) -> Value {
        let mut body = fields;
        body.insert("api_token".to_owned(), Value::from(self.token.expose_secret()));
        Value::Object(body)
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        fields: Map<String, Value>,
        retry_safe: bool,
    ) -> Result<T> {
        let request = ApiRequest::post(method).idempotent(retry_safe).json(&self.body(fields))?;
        self.http.send_json(request).await
    }

    /// `POST /users` for one `user_type` (Usedesk's default when omitted is `employee`).
    ///
    /// # Errors
    /// [`Error::Api`] (HTTP 200 with `error` included), [`Error::Decode`],
    /// [`Error::Transport`].
    pub async fn users(&self, user_type: UserType) -> Result<Vec<UsedeskUser>> {
        let mut fields = Map::new();
        fields.insert("user_type".into(), Value::from(user_type.as_str()));
        self.call("/users", fields, true).await
    }

    /// Every agent: `POST /users` once per `user_type` (`admin`, `employee`, `support`),
    /// merged by id, in ascending id order where ids are numeric. No documented call
    /// returns every type at once, so this costs three requests.
    ///
    /// # Errors
    /// As [`UsedeskClient::users`].
    pub async fn all_users(&self) -> Result<Vec<UsedeskUser>> {
        let mut merged: BTreeMap<(u64, String), UsedeskUser> = BTreeMap::new();
        for user_type in UserType::ALL {
            for user in self.users(user_type).await? {
                let key = (user.id.parse::<u64>().unwrap_or(u64::MAX), user.id.clone());
                merged.entry(key).or_insert(user);
            }
        }
        Ok(merged.into_values().collect())
    }

    /// `POST /groups`: every group with its members.
    ///
    /// # Errors
    /// As [`UsedeskClient::users`].
    pub async fn groups(&self) -> Result<Vec<UsedeskGroup>> {
        self.call("/groups", Map::new(), true).await
    }

    /// `POST /channels`.
    ///
    /// # Errors
    /// As [`UsedeskClient::users`].
    pub async fn channels(&self) -> Result<Vec<UsedeskChannel>> {
        self.call("/channels", Map::new(), true).await
    }

    /// `POST /update/user` with `user_id` and only the status fields set in `update`
    /// (booleans, as documented).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `update` sets nothing; otherwise as
    /// [`UsedeskClient::users`] (an unknown user is Usedesk's HTTP 200 error).
    pub async fn update_user_status(
        &self,
        user_id: &str,
        update: StatusUpdate,
    ) -> Result<UpdateUserResponse> {
        if update.chat_online.is_none() && update.ticket_online.is_none() {
            return Err(Error::invalid("usedesk status update", "neither chat nor ticket status is set"));
        }
        let mut fields = Map::new();
        fields.insert("user_id".into(), id_value(user_id));
        // Usedesk documents these two as the strings "true" / "false" (its PHP samples
        // post form fields); send exactly that.
        let flag = |online: bool| Value::from(if online { "true" } else { "false" });
        if let Some(online) = update.chat_online {
            fields.insert("chat_online_status".into(), flag(online));
        }
        if let Some(online) = update.ticket_online {
            fields.insert("ticket_online_status".into(), flag(online));
        }
        self.call("/update/user", fields, true).await
    }

    /// `POST /create/ticket`. Not retried after a possible write (Usedesk does not dedupe
    /// by `additional_id`); recover an interrupted create by searching for its
    /// `additional_id`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when a tag contains a comma (it would split into two) or is
    /// empty; otherwise as [`UsedeskClient::users`].
    pub async fn create_ticket(&self, request: &CreateTicketRequest) -> Result<CreatedTicket> {
        if let Some(bad) = request.tags.iter().find(|tag| tag.contains(',') || tag.is_empty()) {
            return Err(Error::invalid(
                "usedesk ticket tag",
                format!(
                    "\"{bad}\": tags are sent comma-separated, so a tag must be non-empty and hold no comma"
                ),
            ));
        }
        let mut fields = Map::new();
        fields.insert("subject".into(), Value::from(request.subject.as_str()));
        fields.insert("message".into(), Value::from(request.message.as_str()));
        match &request.client {
            TicketClient::Existing(id) => {
                fields.insert("client_id".into(), id_value(id));
            }
            TicketClient::New { name } => {
                fields.insert("client_id".into(), Value::from("new_client"));
                fields.insert("client_name".into(), Value::from(name.as_str()));
            }
        }
        if let Some(channel) = &request.channel_id {
            fields.insert("channel_id".into(), id_value(channel));
        }
        if !request.tags.is_empty() {
            fields.insert("tag".into(), Value::from(request.tags.join(",")));
        }
        if let Some(additional_id) = &request.additional_id {
            fields.insert("additional_id".into(), Value::from(additional_id.as_str()));
        }
        fields.insert("from".into(), Value::from(request.from.as_str()));
        let created: CreatedTicket = self.call("/create/ticket", fields, false).await?;
        if !request.tags.is_empty() && self.tag_check.get().is_none() {
            self.check_tags(&created.ticket_id, &request.tags).await;
        }
        Ok(created)
    }

    /// The outcome of the tag read-back: `None` until a ticket with tags was created and
    /// read back successfully.
    ///
    /// Usedesk documents `tag` on `/create/ticket` as "tags separated by commas and
    /// spaces" and no other form (UNCONFIRMED whether spaces really split), so a tag with
    /// a space such as `Twitter: Mention` might be stored as two. The first ticket created
    /// with tags by this client (and its clones: once per process in practice) is read
    /// back with `POST /ticket`; a difference is logged at error level with both lists
    /// and kept here as [`TagReadBack::Mismatch`] for health checks. A failed read is
    /// logged and retried on the next creation. The ticket itself is never re-tagged.
    pub fn tag_check(&self) -> Option<TagReadBack> {
        self.tag_check.get().cloned()
    }

    async fn check_tags(&self, ticket_id: &str, sent: &[String]) {
        let details = match self.ticket(ticket_id).await {
            Ok(details) => details,
            Err(error) => {
                tracing::warn!(
                    provider = PROVIDER,
                    ticket_id,
                    %error,
                    "usedesk: could not read the created ticket's tags back; will check on the next ticket"
                );
                return;
            }
        };
        let stored: Vec<String> = details.tags.into_iter().map(|tag| tag.0).collect();
        let mut sent_sorted: Vec<&str> = sent.iter().map(String::as_str).collect();
        let mut stored_sorted: Vec<&str> = stored.iter().map(String::as_str).collect();
        sent_sorted.sort_unstable();
        sent_sorted.dedup();
        stored_sorted.sort_unstable();
        stored_sorted.dedup();
        let outcome = if sent_sorted == stored_sorted {
            TagReadBack::Exact
        } else {
            tracing::error!(
                provider = PROVIDER,
                ticket_id,
                sent = ?sent,
                stored = ?stored,
                "usedesk: the created ticket's tags differ from the tags sent (Usedesk splits `tag` on \
                 commas and spaces): tickets on this account are tagged wrongly; use tags without spaces"
            );
            TagReadBack::Mismatch { ticket_id: ticket_id.to_owned(), sent: sent.to_vec(), stored }
        };
        let _ = self.tag_check.set(outcome);
    }

    /// `POST /create/comment`. Not retried after a possible write.
    ///
    /// # Errors
    /// As [`UsedeskClient::users`].
    pub async fn create_comment(&self, request: &CreateCommentRequest) -> Result<CreatedComment> {
        let mut fields = Map::new();
        fields.insert("ticket_id".into(), id_value(&request.ticket_id));
        fields.insert("message".into(), Value::from(request.message.as_str()));
        fields.insert("type".into(), Value::from(request.kind.as_str()));
        fields.insert("from".into(), Value::from(request.from.as_str()));
        self.call("/create/comment", fields, false).await
    }

    /// `POST /create/comment` with files: the documented `multipart/form-data` upload
    /// (`files[]` parts beside the usual fields, `api_token` as a field). Not retried
    /// after a possible write.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] without files (use [`UsedeskClient::create_comment`]);
    /// otherwise as [`UsedeskClient::users`].
    pub async fn create_comment_with_files(
        &self,
        request: &CreateCommentRequest,
        files: &[UploadFile],
    ) -> Result<CreatedComment> {
        if files.is_empty() {
            return Err(Error::invalid("usedesk comment files", "no file to upload"));
        }
        let mut fields = Map::new();
        fields.insert("api_token".into(), Value::from(self.token.expose_secret()));
        fields.insert("ticket_id".into(), id_value(&request.ticket_id));
        fields.insert("message".into(), Value::from(request.message.as_str()));
        fields.insert("type".into(), Value::from(request.kind.as_str()));
        fields.insert("from".into(), Value::from(request.from.as_str()));
        let (content_type, body) = multipart(&fields, files);
        let content_type = reqwest::header::HeaderValue::from_str(&content_type)
            .map_err(|e| Error::invalid("usedesk multipart body", e.to_string()))?;
        let http_request = ApiRequest::post("/create/comment").idempotent(false).raw_body(content_type, body);
        self.http.send_json(http_request).await
    }

    /// `POST /ticket`: one ticket with its comments.
    ///
    /// # Errors
    /// As [`UsedeskClient::users`] (an unknown ticket is Usedesk's HTTP 200 error).
    pub async fn ticket(&self, ticket_id: &str) -> Result<TicketDetails> {
        let mut fields = Map::new();
        fields.insert("ticket_id".into(), id_value(ticket_id));
        self.call("/ticket", fields, true).await
    }

    /// `POST /clients`: one page of at most [`CLIENTS_PAGE_SIZE`] clients. `page` is sent as
    /// `offset`, which Usedesk documents as a page number ("offset by 1 shows the next
    /// 100"), not a row offset. Usedesk documents no filter by update time and no sort
    /// order for this listing (UNCONFIRMED).
    ///
    /// # Errors
    /// As [`UsedeskClient::users`].
    pub async fn clients_page(&self, query: &ClientQuery, page: u64) -> Result<Vec<ClientSummary>> {
        let mut fields = Map::new();
        if let Some(text) = &query.query {
            fields.insert("query".into(), Value::from(text.as_str()));
            let search_type = if query.full_match { "full_match" } else { "partial_match" };
            fields.insert("search_type".into(), Value::from(search_type));
        }
        if let Some(after) = query.created_after {
            fields.insert("created_after".into(), Value::from(after.format("%Y-%m-%d %H:%M").to_string()));
        }
        if let Some(before) = query.created_before {
            fields.insert("created_before".into(), Value::from(before.format("%Y-%m-%d %H:%M").to_string()));
        }
        fields.insert("offset".into(), json!(page));
        self.call("/clients", fields, true).await
    }

    /// `POST /tickets`: one call (at most 100 rows) with `offset`.
    ///
    /// # Errors
    /// As [`UsedeskClient::users`].
    pub async fn tickets_page(&self, query: &TicketQuery, offset: u64) -> Result<Vec<TicketSummary>> {
        let mut fields = Map::new();
        if !query.channels.is_empty() {
            fields.insert("fchannel".into(), Value::from(query.channels.join(",")));
        }
        if !query.statuses.is_empty() {
            let statuses: Vec<String> = query.statuses.iter().map(u64::to_string).collect();
            fields.insert("fstatus".into(), Value::from(statuses.join(",")));
        }
        if let Some(after) = query.created_after {
            fields.insert("created_after".into(), Value::from(after.format("%Y-%m-%d %H:%M").to_string()));
        }
        if let Some(tag) = &query.tag {
            fields.insert("tag".into(), Value::from(tag.as_str()));
        }
        if let Some(client) = &query.client_id {
            fields.insert("client_id".into(), id_value(client));
        }
        fields.insert("offset".into(), json!(offset));
        self.call("/tickets", fields, true).await
    }

    /// `POST /tickets`, every page up to `max_pages` calls, deduplicated by id.
    ///
    /// The meaning of `offset` on `/tickets` is UNCONFIRMED (a page number, as documented
    /// for `/clients`, or a row offset). This asks `offset=0`, then `offset=1`: if the
    /// second answer repeats rows of the first, Usedesk counts rows and the walk continues
    /// with `offset=100, 200, …`; otherwise with `offset=2, 3, …`. It stops at a short page,
    /// at a page that brings no new id, or after `max_pages` calls. Returns the rows and
    /// whether the walk ended before the listing did (`true` = truncated by `max_pages`).
    ///
    /// # Errors
    /// As [`UsedeskClient::users`].
    pub async fn tickets_all(
        &self,
        query: &TicketQuery,
        max_pages: usize,
    ) -> Result<(Vec<TicketSummary>, bool)> {
        let mut rows: Vec<TicketSummary> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut mode: Option<OffsetMode> = None;
        let mut page_index: u64 = 0;
        for call in 0..max_pages.max(1) {
            let offset = match mode {
                None | Some(OffsetMode::PageNumber) => page_index,
                Some(OffsetMode::RowOffset) => page_index * TICKETS_PAGE_SIZE as u64,
            };
            let page = self.tickets_page(query, offset).await?;
            let full = page.len() >= TICKETS_PAGE_SIZE;
            let mut repeated = 0usize;
            let mut fresh = 0usize;
            for row in page {
                if seen.insert(row.id.clone()) {
                    fresh += 1;
                    rows.push(row);
                } else {
                    repeated += 1;
                }
            }
            if call == 1 && mode.is_none() {
                if repeated > 0 {
                    // offset=1 skipped one row: Usedesk counts rows. Next: the row after
                    // the first page.
                    mode = Some(OffsetMode::RowOffset);
                    page_index = 0; // advanced to 1 (offset 100) below
                } else {
                    mode = Some(OffsetMode::PageNumber);
                }
                if !full {
                    return Ok((rows, false));
                }
                page_index += 1;
                if call + 1 >= max_pages {
                    return Ok((rows, true));
                }
                continue;
            }
            if !full || fresh == 0 {
                return Ok((rows, false));
            }
            page_index += 1;
            if call + 1 >= max_pages {
                return Ok((rows, true));
            }
        }
        Ok((rows, false))
    }
}
