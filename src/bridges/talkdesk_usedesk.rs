//! A Talkdesk custom-integration backend over Usedesk: [`UsedeskTalkdeskBackend`].
//!
//! The full description is on [`UsedeskTalkdeskBackend`].

use std::collections::HashSet;
use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

use crate::error::excerpt;
use crate::talkdesk::{
    ActionCall, ActionCreated, AgentsPage, AgentsPageRequest, AuthFields, AuthValidated, BackendError,
    Contact, ContactsPage, ContactsPageRequest, Interaction, InteractionPriority, InteractionQuery,
    InteractionStatus, TalkdeskAgent, TalkdeskBackend,
};
use crate::usedesk::CLIENTS_PAGE_SIZE;
use crate::usedesk::{
    ClientQuery, ClientSummary, CreateTicketRequest, TicketClient, TicketQuery, TicketStatus, UsedeskClient,
};
use crate::usedesk::{TicketSummary, UsedeskUser};
use crate::{Error, Result};

/// The credential field holding the account name.
pub const ACCOUNT_FIELD: &str = "account";
/// The credential field holding the token.
pub const TOKEN_FIELD: &str = "token";
/// The action this backend executes.
pub const CREATE_TICKET_ACTION: &str = "create_ticket";
/// The interaction type of Usedesk tickets.
pub const INTERACTION_TYPE: &str = "ticket";
/// Every interaction type served from Usedesk tickets: Talkdesk's seed manifest declares
/// `ticket,case`, and an account may enable either, so a ticket is reported under the
/// type Talkdesk asked for (`ticket` when it asks for both or names none).
pub const INTERACTION_TYPES: [&str; 2] = [INTERACTION_TYPE, "case"];
/// How far before a run's start its checkpoint lies (clock skew, minute precision).
pub const CHECKPOINT_OVERLAP: Duration = Duration::from_secs(5 * 60);
/// Most Usedesk clients whose tickets are listed for one contact found by e-mail or phone.
pub const MAX_MATCHED_CLIENTS: usize = 5;
/// Longest interaction description, in characters.
const MAX_DESCRIPTION_CHARS: usize = 500;
/// Longest Usedesk ticket subject, in characters.
const MAX_SUBJECT_CHARS: usize = 255;

/// The `account` and `token` values the bridge accepts from Talkdesk (chosen by the bridge
/// operator). `Debug` shows neither.
#[derive(Clone)]
pub struct AcceptedCredentials {
    account: SecretString,
    token: SecretString,
}

impl fmt::Debug for AcceptedCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AcceptedCredentials")
            .field("account", &"[redacted]")
            .field("token", &"[redacted]")
            .finish()
    }
}

impl AcceptedCredentials {
    /// Environment variable holding the accepted `account` value.
    pub const ENV_ACCOUNT: &'static str = "TALKDESK_BRIDGE_ACCOUNT";
    /// Environment variable holding the accepted `token` value.
    pub const ENV_TOKEN: &'static str = "TALKDESK_BRIDGE_TOKEN";

    /// Accept these values.
    ///
    /// # Errors
    /// [`Error::Config`] when either is blank.
    pub fn new(account: impl Into<SecretString>, token: impl Into<SecretString>) -> Result<Self> {
        let (account, token): (SecretString, SecretString) = (account.into(), token.into());
        if account.expose_secret().trim().is_empty() {
            return Err(Error::config("talkdesk bridge: the accepted `account` value is empty"));
        }
        if token.expose_secret().trim().is_empty() {
            return Err(Error::config("talkdesk bridge: the accepted `token` value is empty"));
        }
        Ok(Self { account, token })
    }

    /// Read `TALKDESK_BRIDGE_ACCOUNT` and `TALKDESK_BRIDGE_TOKEN` through `lookup`.
    /// `Ok(None)` when neither is set.
    ///
    /// # Errors
    /// [`Error::Config`] when only one is set, or one is blank.
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Result<Option<Self>> {
        match (lookup(Self::ENV_ACCOUNT), lookup(Self::ENV_TOKEN)) {
            (None, None) => Ok(None),
            (Some(account), Some(token)) => Self::new(account, token).map(Some),
            (None, Some(_)) => {
                Err(Error::config(format!("{} is set but {} is not", Self::ENV_TOKEN, Self::ENV_ACCOUNT)))
            }
            (Some(_), None) => {
                Err(Error::config(format!("{} is set but {} is not", Self::ENV_ACCOUNT, Self::ENV_TOKEN)))
            }
        }
    }

    /// The accepted account value in clear text (to show it in simulator mode).
    pub fn expose_account(&self) -> &str {
        self.account.expose_secret()
    }

    /// The accepted token value in clear text (to show it in simulator mode).
    pub fn expose_token(&self) -> &str {
        self.token.expose_secret()
    }

    /// True when `auth` carries exactly these values. Both fields are always compared, each
    /// in constant time (only the lengths can leak).
    pub fn matches(&self, auth: &AuthFields) -> bool {
        let account = auth.expose(ACCOUNT_FIELD).unwrap_or_default().as_bytes();
        let token = auth.expose(TOKEN_FIELD).unwrap_or_default().as_bytes();
        let same = account.ct_eq(self.account.expose_secret().as_bytes())
            & token.ct_eq(self.token.expose_secret().as_bytes());
        bool::from(same)
    }
}

/// A [`TalkdeskBackend`] over one Usedesk account. See the [module docs](UsedeskTalkdeskBackend) for every
/// mapping decision.
///
/// A Talkdesk custom-integration backend over Usedesk: [`UsedeskTalkdeskBackend`].
///
/// Talkdesk calls the bridge; the bridge answers from one Usedesk account (the operator's
/// [`UsedeskClient`]). Serve it with `deskbridge::server::talkdesk::router` and the
/// manifest of [`Manifest::example_mycrm`](crate::talkdesk::Manifest::example_mycrm) (or any
/// manifest with `account` and `token` credential fields and a `create_ticket` action).
///
/// # Credentials
///
/// Talkdesk sends the `account` and `token` fields the Talkdesk administrator typed. They
/// are **not** Usedesk credentials: the bridge operator chooses the values the bridge accepts
/// ([`AcceptedCredentials`]) and gives them to the Talkdesk administrator; the Usedesk API
/// token stays with the bridge. Every call compares both fields in constant time and answers
/// [`BackendError::Unauthorized`] (HTTP 401) on a mismatch. The values are held as secrets
/// and never logged.
///
/// # Mapping decisions
///
/// - **Agents** ← Usedesk users of every `user_type` (`admin`, `employee`, `support`;
///   [`UsedeskClient::all_users`], three calls per page request), in ascending id order.
///   `id` = the Usedesk user id, `name` = the user's name (the e-mail when the name is blank),
///   `email` = the user's e-mail. Talkdesk matches agents by e-mail, which its contract makes
///   mandatory, so **users without an e-mail are left out**. The contract has no status
///   field, so Usedesk's online flags are not sent. `next_offset` is the index of the next
///   user in that order.
/// - **Contacts** ← Usedesk clients (`POST /clients`, pages of 100, `offset` = page number).
///   `id` = the client id (Talkdesk sends it back as `contact_external_id`), `name` = the
///   client's name (else its first e-mail, first phone, or `Usedesk client <id>`),
///   `emails`, `phones`, `title` ← `position`, `photo_url` ← `avatar`, `url` from the
///   optional client URL template. The router's page size is honoured inside Usedesk's pages:
///   `next_offset` is an opaque `page:skip:run` triple (Usedesk page, rows already returned
///   from it, start of the run in Unix seconds).
/// - **Incremental sync (an approximation, stated honestly):** Usedesk's `/clients` can
///   filter by `created_after` but documents **no filter by update time**. The checkpoint is
///   therefore the start of the previous run minus [`CHECKPOINT_OVERLAP`] (RFC 3339), and an
///   incremental run asks only for clients **created** after it. Clients created since the
///   last run are picked up; **changes to existing clients (a new name, e-mail or phone)
///   are not**, until a full sync runs (a Talkdesk-side reset of the checkpoint). The overlap
///   absorbs clock skew and the minute precision of `created_after` (UNCONFIRMED whether it
///   is inclusive); the clients it repeats are harmless, since Talkdesk keys contacts by id.
///   The contract asks for contacts sorted by what backs the checkpoint; the checkpoint
///   here is the run's start, not a row value, so the order of Usedesk's listing (UNCONFIRMED)
///   does not matter.
/// - **Interactions** ← the contact's Usedesk tickets (`POST /tickets` with `client_id`,
///   every page up to [`UsedeskTalkdeskBackend::with_max_ticket_pages`]). The client is
///   `contact_external_id`; without it, clients are looked up by each e-mail and then each
///   phone (`/clients`, `full_match`, at most [`MAX_MATCHED_CLIENTS`]). `client_id` on
///   `/tickets` is UNCONFIRMED in Usedesk's docs, so rows of other clients are dropped
///   defensively. Every interaction has `type` `ticket`; nothing is fetched when Talkdesk
///   asks only for other types. `date` ← `published_at` (else `last_updated_at`; a ticket
///   with neither is left out with a warning), `description` ← the last comment as plain
///   text (bounded to 500 characters), `url` from the optional ticket URL template. Newest
///   first.
/// - **Status** (Usedesk status id → Talkdesk): 8 New → `new`; 1 Open → `open`; 5 On hold
///   and 6 Pending → `pending`; 2 Solved → `solved`; 3 Closed and 10 Merged → `closed`;
///   9 Mailing and unknown ids → no status (the field is optional and Talkdesk knows only
///   its five values). Tickets with 4 Deleted or 7 Spam are not interactions and are left
///   out.
/// - **Priority** (Usedesk → Talkdesk): `low` → `low`, `medium` → `normal`, `urgent` →
///   `high`, `extreme` → `urgent`; absent or unknown → no priority.
/// - **`create_ticket`** → `POST /create/ticket`: `subject` = `Talkdesk: <firstName>
///   (<state>)`, plus `, meeting <meetingDate>` when given (cut to 255 characters);
///   `message` (HTML, every value escaped) = the description, then the first name, state and
///   meeting date, then the executing agent when Talkdesk sent `agent_external_id`;
///   `client_id` = `meta.contact_external_id`, or a new client named after `firstName`
///   when the action runs outside a synced contact; `from` = `client` (the request is the
///   customer's); tags and channel as configured (default tag `talkdesk`). The answer's
///   `external_id` is the new ticket id. Other action names are refused (400). Ticket
///   creation is never retried (Usedesk does not dedupe).
/// - **Errors:** a Usedesk answer that carries `error` (Usedesk reports refusals with HTTP
///   200) → [`BackendError::Rejected`] with Usedesk's message (HTTP 400); rate limits,
///   timeouts, connection failures and 5xx → [`BackendError::Unavailable`] (503, with
///   `Retry-After` when known); Usedesk's own 401/403 and unreadable answers →
///   [`BackendError::Upstream`] (502): the Usedesk token is the operator's, so Talkdesk
///   refreshing its credentials would not help, and a 401 would wrongly blame them. During
///   auth validation, a Usedesk refusal is also reported as `Upstream`: the Talkdesk
///   credentials were right, the bridge's own Usedesk access is not.
#[derive(Debug, Clone)]
pub struct UsedeskTalkdeskBackend {
    client: UsedeskClient,
    credentials: AcceptedCredentials,
    ticket_channel_id: Option<String>,
    ticket_tags: Vec<String>,
    ticket_url_template: Option<String>,
    client_url_template: Option<String>,
    max_ticket_pages: usize,
}

impl UsedeskTalkdeskBackend {
    /// A backend answering from `client`, accepting `credentials` from Talkdesk; tickets
    /// created with the tag `talkdesk` on Usedesk's default channel, at most 5 pages of
    /// tickets per contact, no links.
    pub fn new(client: UsedeskClient, credentials: AcceptedCredentials) -> Self {
        Self {
            client,
            credentials,
            ticket_channel_id: None,
            ticket_tags: vec!["talkdesk".to_owned()],
            ticket_url_template: None,
            client_url_template: None,
            max_ticket_pages: 5,
        }
    }

    /// Create tickets in this Usedesk channel.
    pub fn with_ticket_channel(mut self, channel_id: impl Into<String>) -> Self {
        self.ticket_channel_id = Some(channel_id.into());
        self
    }

    /// Tag created tickets with these tags (none for an empty list). A tag must be non-empty
    /// and hold no comma, or ticket creation is refused.
    pub fn with_ticket_tags<I, S>(mut self, tags: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.ticket_tags = tags.into_iter().map(Into::into).collect();
        self
    }

    /// Link interactions to the Usedesk UI: `{id}` is replaced by the ticket id (e.g.
    /// `https://secure.usedesk.ru/tickets/{id}`; the UI's URL scheme is UNCONFIRMED, hence a
    /// template).
    pub fn with_ticket_url_template(mut self, template: impl Into<String>) -> Self {
        self.ticket_url_template = Some(template.into());
        self
    }

    /// Link contacts to the Usedesk UI: `{id}` is replaced by the client id.
    pub fn with_client_url_template(mut self, template: impl Into<String>) -> Self {
        self.client_url_template = Some(template.into());
        self
    }

    /// List at most this many pages of 100 tickets per contact (at least 1).
    pub fn with_max_ticket_pages(mut self, pages: usize) -> Self {
        self.max_ticket_pages = pages.max(1);
        self
    }

    /// The Usedesk client.
    pub fn client(&self) -> &UsedeskClient {
        &self.client
    }

    fn authorize(&self, auth: &AuthFields) -> Result<(), BackendError> {
        if self.credentials.matches(auth) { Ok(()) } else { Err(BackendError::Unauthorized) }
    }

    fn contact_of(&self, client: ClientSummary) -> Contact {
        let phones = client.phone_numbers();
        let name = [
            Some(client.name.trim()),
            client.emails.first().map(String::as_str),
            phones.first().map(String::as_str),
        ]
        .into_iter()
        .flatten()
        .find(|text| !text.trim().is_empty())
        .map_or_else(|| format!("Usedesk client {}", client.id), str::to_owned);
        let mut contact = Contact::new(client.id.clone(), name);
        contact.emails = client.emails;
        contact.phones = phones;
        contact.title = client.position.filter(|p| !p.trim().is_empty());
        contact.photo_url = client.avatar.filter(|a| !a.trim().is_empty());
        contact.url = fill(self.client_url_template.as_deref(), &client.id);
        contact
    }

    fn interaction_of(&self, ticket: &TicketSummary) -> Option<Interaction> {
        let status = ticket.status();
        if matches!(status, Some(TicketStatus::Deleted | TicketStatus::Spam)) {
            return None;
        }
        let date = [ticket.published_at.as_deref(), ticket.last_updated_at.as_deref()]
            .into_iter()
            .flatten()
            .find_map(parse_usedesk_date);
        let Some(date) = date else {
            tracing::warn!(ticket = %ticket.id, "usedesk ticket without a readable date left out of interactions");
            return None;
        };
        let subject = if ticket.subject.trim().is_empty() {
            format!("Usedesk ticket {}", ticket.id)
        } else {
            ticket.subject.clone()
        };
        Some(Interaction {
            id: ticket.id.clone(),
            subject,
            description: ticket
                .last_comment
                .as_deref()
                .map(html_to_text)
                .filter(|text| !text.is_empty())
                .map(|text| excerpt(&text, MAX_DESCRIPTION_CHARS)),
            date,
            url: fill(self.ticket_url_template.as_deref(), &ticket.id),
            interaction_type: INTERACTION_TYPE.to_owned(),
            priority: ticket.priority.as_deref().and_then(talkdesk_priority),
            status: status.and_then(talkdesk_status),
        })
    }

    /// The Usedesk client ids of the contact Talkdesk opened.
    async fn clients_of(&self, query: &InteractionQuery) -> Result<Vec<String>, BackendError> {
        if let Some(id) = query.contact_external_id.as_deref().map(str::trim).filter(|id| !id.is_empty()) {
            return Ok(vec![id.to_owned()]);
        }
        let mut ids: Vec<String> = Vec::new();
        for value in query.contact_emails.iter().chain(&query.contact_phones) {
            if value.trim().is_empty() || ids.len() >= MAX_MATCHED_CLIENTS {
                continue;
            }
            let search = ClientQuery {
                query: Some(value.trim().to_owned()),
                full_match: true,
                ..ClientQuery::default()
            };
            for client in self.client.clients_page(&search, 0).await.map_err(from_usedesk)? {
                if ids.len() < MAX_MATCHED_CLIENTS && !ids.contains(&client.id) {
                    ids.push(client.id);
                }
            }
        }
        Ok(ids)
    }
}

/// `template` with `{id}` replaced.
fn fill(template: Option<&str>, id: &str) -> Option<String> {
    template.map(|template| template.replace("{id}", id))
}

/// Usedesk status → Talkdesk status; `None` for statuses Talkdesk has no word for.
pub fn talkdesk_status(status: TicketStatus) -> Option<InteractionStatus> {
    match status {
        TicketStatus::New => Some(InteractionStatus::New),
        TicketStatus::Open => Some(InteractionStatus::Open),
        TicketStatus::OnHold | TicketStatus::Pending => Some(InteractionStatus::Pending),
        TicketStatus::Solved => Some(InteractionStatus::Solved),
        TicketStatus::Closed | TicketStatus::Merged => Some(InteractionStatus::Closed),
        TicketStatus::Deleted | TicketStatus::Spam | TicketStatus::Mailing | TicketStatus::Other(_) => None,
    }
}

/// Usedesk priority → Talkdesk priority; `None` for unknown values.
pub fn talkdesk_priority(priority: &str) -> Option<InteractionPriority> {
    match priority.trim().to_ascii_lowercase().as_str() {
        "low" => Some(InteractionPriority::Low),
        "medium" => Some(InteractionPriority::Normal),
        "urgent" => Some(InteractionPriority::High),
        "extreme" => Some(InteractionPriority::Urgent),
        _ => None,
    }
}

/// Maps a Usedesk failure as the [module docs](UsedeskTalkdeskBackend) describe.
pub fn from_usedesk(error: Error) -> BackendError {
    match &error {
        Error::Api { status: 200..=299, message, .. } => {
            BackendError::Rejected { message: format!("Usedesk refused: {message}") }
        }
        Error::InvalidInput { .. } => BackendError::Rejected { message: error.to_string() },
        _ if error.is_transient() => {
            BackendError::Unavailable { message: error.to_string(), retry_after: error.retry_after() }
        }
        _ => BackendError::Upstream { message: error.to_string() },
    }
}

/// `YYYY-MM-DD HH:MM:SS` (UTC, as Usedesk prints dates) or RFC 3339.
fn parse_usedesk_date(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
        .map(|naive| naive.and_utc())
        .ok()
        .or_else(|| DateTime::parse_from_rfc3339(text).ok().map(|d| d.with_timezone(&Utc)))
}

/// HTML to plain text: tags dropped (`<br>` and block ends become spaces), the common
/// entities decoded, whitespace collapsed.
fn html_to_text(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                text.push(' ');
            }
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    let text = text
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Escape text for Usedesk's HTML `message`.
fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Where a contact synchronization run stands: the Usedesk page, the rows of it already
/// returned, and the run's start (Unix seconds). Written as `page:skip:run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ContactsCursor {
    page: u64,
    skip: usize,
    run_started: i64,
}

impl ContactsCursor {
    fn parse(text: &str) -> Option<Self> {
        let mut parts = text.trim().split(':');
        let page = parts.next()?.parse().ok()?;
        let skip = parts.next()?.parse().ok()?;
        let run_started = parts.next()?.parse().ok()?;
        parts.next().is_none().then_some(Self { page, skip, run_started })
    }

    fn write(self) -> String {
        format!("{}:{}:{}", self.page, self.skip, self.run_started)
    }
}

/// The checkpoint of a run that started at `run_started`; `None` when that time minus
/// [`CHECKPOINT_OVERLAP`] is out of range (only a crafted offset gets there).
fn checkpoint_for(run_started: DateTime<Utc>) -> Option<String> {
    let overlap = chrono::Duration::from_std(CHECKPOINT_OVERLAP).unwrap_or_else(|_| chrono::Duration::zero());
    let at = run_started.checked_sub_signed(overlap)?;
    Some(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

/// The contacts' part of a `create_ticket` call, composed into a Usedesk ticket.
fn compose_ticket(call: &ActionCall) -> (String, String) {
    let value = |key: &str| call.data.get(key).map(|v| v.trim()).filter(|v| !v.is_empty());
    let first_name = value("firstName").unwrap_or("Talkdesk contact");
    let mut subject = format!("Talkdesk: {first_name}");
    if let Some(state) = value("state") {
        subject.push_str(&format!(" ({state})"));
    }
    if let Some(meeting) = value("meetingDate") {
        subject.push_str(&format!(", meeting {meeting}"));
    }
    let subject: String = subject.chars().take(MAX_SUBJECT_CHARS).collect();
    let mut message = String::new();
    if let Some(description) = value("description") {
        let lines: Vec<String> = description.lines().map(escape_html).collect();
        message.push_str(&format!("<p>{}</p>", lines.join("<br>")));
    }
    let mut facts = vec![format!("First name: {}", escape_html(first_name))];
    if let Some(state) = value("state") {
        facts.push(format!("State: {}", escape_html(state)));
    }
    if let Some(meeting) = value("meetingDate") {
        facts.push(format!("Meeting date: {}", escape_html(meeting)));
    }
    message.push_str(&format!("<p>{}</p>", facts.join("<br>")));
    match call.meta.agent_external_id.as_deref().filter(|id| !id.trim().is_empty()) {
        Some(agent) => message.push_str(&format!(
            "<p>Created in Talkdesk by agent {} (Usedesk user id).</p>",
            escape_html(agent)
        )),
        None => message.push_str("<p>Created in Talkdesk.</p>"),
    }
    (subject, message)
}

#[async_trait]
impl TalkdeskBackend for UsedeskTalkdeskBackend {
    /// Compares the two fields with the accepted values (no Usedesk call).
    async fn authenticate(&self, auth: &AuthFields) -> Result<(), BackendError> {
        self.authorize(auth)
    }

    /// Checks the two fields, then makes one cheap Usedesk call (`POST /channels`) so that a
    /// bridge whose own Usedesk access is broken does not pass validation.
    async fn validate_auth(&self, auth: &AuthFields) -> Result<AuthValidated, BackendError> {
        self.authorize(auth)?;
        self.client.channels().await.map_err(|error| match from_usedesk(error) {
            BackendError::Rejected { message } => {
                BackendError::Upstream { message: format!("the bridge's Usedesk access failed: {message}") }
            }
            other => other,
        })?;
        Ok(AuthValidated::default())
    }

    async fn contacts_page(
        &self,
        auth: &AuthFields,
        request: &ContactsPageRequest,
    ) -> Result<ContactsPage, BackendError> {
        self.authorize(auth)?;
        let created_after = match request.checkpoint.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
            None => None,
            Some(text) => Some(DateTime::parse_from_rfc3339(text).map(|d| d.with_timezone(&Utc)).map_err(|_| {
                BackendError::rejected(format!(
                    "synchronization_checkpoint `{}` was not written by this bridge (expected an RFC 3339 time)",
                    excerpt(text, 60)
                ))
            })?),
        };
        let cursor = match request.offset.as_deref().map(str::trim).filter(|o| !o.is_empty()) {
            None => ContactsCursor { page: 0, skip: 0, run_started: Utc::now().timestamp() },
            Some(text) => ContactsCursor::parse(text).ok_or_else(|| {
                BackendError::rejected(format!(
                    "offset `{}` was not written by this bridge",
                    excerpt(text, 60)
                ))
            })?,
        };
        // Every time value of the request is range-checked before any arithmetic: a
        // crafted offset must get a 400, never an overflow.
        let checkpoint = Utc
            .timestamp_opt(cursor.run_started, 0)
            .single()
            .filter(|_| cursor.run_started >= 0)
            .and_then(checkpoint_for)
            .ok_or_else(|| BackendError::rejected("offset carries an impossible run start"))?;
        let query = ClientQuery { created_after, ..ClientQuery::default() };
        let rows = self.client.clients_page(&query, cursor.page).await.map_err(from_usedesk)?;
        let total = rows.len();
        let full = total >= CLIENTS_PAGE_SIZE;
        let page_size = request.page_size.max(1);
        let contacts: Vec<Contact> = rows
            .into_iter()
            .skip(cursor.skip)
            .take(page_size)
            .map(|client| self.contact_of(client))
            .collect();
        let consumed = cursor.skip.saturating_add(contacts.len());
        let next = if consumed < total {
            Some(ContactsCursor { skip: consumed, ..cursor })
        } else if full {
            let page = cursor
                .page
                .checked_add(1)
                .ok_or_else(|| BackendError::rejected("offset page is out of range"))?;
            Some(ContactsCursor { page, skip: 0, ..cursor })
        } else {
            None
        };
        Ok(ContactsPage {
            contacts,
            synchronization_checkpoint: Some(checkpoint),
            next_offset: next.map(ContactsCursor::write),
            context: None,
        })
    }

    async fn interactions(
        &self,
        auth: &AuthFields,
        query: &InteractionQuery,
    ) -> Result<Vec<Interaction>, BackendError> {
        self.authorize(auth)?;
        let asked = |kind: &str| query.interaction_types.iter().any(|t| t.trim().eq_ignore_ascii_case(kind));
        let Some(kind) = (if query.interaction_types.is_empty() {
            Some(INTERACTION_TYPE)
        } else {
            INTERACTION_TYPES.into_iter().find(|kind| asked(kind))
        }) else {
            return Ok(Vec::new());
        };
        let mut seen = HashSet::new();
        let mut interactions = Vec::new();
        for client_id in self.clients_of(query).await? {
            let filter = TicketQuery { client_id: Some(client_id.clone()), ..TicketQuery::default() };
            let (rows, truncated) =
                self.client.tickets_all(&filter, self.max_ticket_pages).await.map_err(from_usedesk)?;
            if truncated {
                tracing::warn!(
                    client = %client_id,
                    pages = self.max_ticket_pages,
                    "usedesk client has more tickets than listed for Talkdesk"
                );
            }
            for ticket in rows.iter().filter(|t| t.client_id.as_deref() == Some(client_id.as_str())) {
                if let Some(mut interaction) = self.interaction_of(ticket) {
                    interaction.interaction_type = kind.to_owned();
                    if seen.insert(interaction.id.clone()) {
                        interactions.push(interaction);
                    }
                }
            }
        }
        interactions.sort_by(|a, b| b.date.cmp(&a.date).then_with(|| b.id.cmp(&a.id)));
        Ok(interactions)
    }

    async fn agents_page(
        &self,
        auth: &AuthFields,
        request: &AgentsPageRequest,
    ) -> Result<AgentsPage, BackendError> {
        self.authorize(auth)?;
        let users = self.client.all_users().await.map_err(from_usedesk)?;
        let agents: Vec<TalkdeskAgent> = users.into_iter().filter_map(agent_of).collect();
        let start = usize::try_from(request.offset.unwrap_or(0)).unwrap_or(usize::MAX);
        let page_size = request.page_size.max(1);
        let page: Vec<TalkdeskAgent> = agents.iter().skip(start).take(page_size).cloned().collect();
        let end = start.saturating_add(page.len());
        let next_offset = (!page.is_empty() && end < agents.len()).then_some(end as u64);
        Ok(AgentsPage { agents: page, next_offset })
    }

    async fn execute_action(
        &self,
        auth: &AuthFields,
        call: &ActionCall,
    ) -> Result<ActionCreated, BackendError> {
        self.authorize(auth)?;
        if call.action != CREATE_TICKET_ACTION {
            return Err(BackendError::rejected(format!(
                "action `{}` is not implemented by the Usedesk bridge (only `{CREATE_TICKET_ACTION}`)",
                call.action
            )));
        }
        let (subject, message) = compose_ticket(call);
        let contact = call.meta.contact_external_id.as_deref().map(str::trim).filter(|id| !id.is_empty());
        let client = match contact {
            Some(id) => TicketClient::Existing(id.to_owned()),
            None => TicketClient::New {
                name: call
                    .data
                    .get("firstName")
                    .map(|n| n.trim().to_owned())
                    .filter(|n| !n.is_empty())
                    .unwrap_or_else(|| "Talkdesk contact".to_owned()),
            },
        };
        let request = CreateTicketRequest {
            subject,
            message,
            client,
            channel_id: self.ticket_channel_id.clone(),
            tags: self.ticket_tags.clone(),
            additional_id: None,
            from: "client".to_owned(),
        };
        let created = self.client.create_ticket(&request).await.map_err(from_usedesk)?;
        let contact_id = contact.map(str::to_owned).or(created.client_id);
        Ok(ActionCreated {
            message: Some(format!("Usedesk ticket {} created", created.ticket_id)),
            contact_external_url: contact_id
                .as_deref()
                .and_then(|id| fill(self.client_url_template.as_deref(), id)),
            contact_external_id: contact_id,
            contact_external_type: None,
            external_id: created.ticket_id,
        })
    }
}

/// A Usedesk user as a Talkdesk agent; `None` without an e-mail (Talkdesk's matching key).
fn agent_of(user: UsedeskUser) -> Option<TalkdeskAgent> {
    let email = user.email.map(|e| e.trim().to_owned()).filter(|e| !e.is_empty())?;
    let name = if user.name.trim().is_empty() { email.clone() } else { user.name.trim().to_owned() };
    Some(TalkdeskAgent { id: user.id, name, email })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::talkdesk::ActionMeta;

    #[test]
    fn credentials_match_exactly_and_hide_in_debug() {
        let accepted = AcceptedCredentials::new("acme", "s3cret-token").unwrap();
        assert!(accepted.matches(&AuthFields::new().with("account", "acme").with("token", "s3cret-token")));
        assert!(!accepted.matches(&AuthFields::new().with("account", "acme").with("token", "s3cret-tokeN")));
        assert!(!accepted.matches(&AuthFields::new().with("account", "acm").with("token", "s3cret-token")));
        assert!(!accepted.matches(&AuthFields::new().with("token", "s3cret-token")));
        assert!(!format!("{accepted:?}").contains("s3cret"));
        assert!(AcceptedCredentials::new(" ", "x").is_err());
        let env = |name: &str| (name == AcceptedCredentials::ENV_TOKEN).then(|| "t".to_owned());
        assert!(AcceptedCredentials::from_env_with(env).is_err());
        assert!(AcceptedCredentials::from_env_with(|_| None).unwrap().is_none());
    }

    #[test]
    fn statuses_and_priorities_map() {
        let expected = [
            (8, Some("new")),
            (1, Some("open")),
            (5, Some("pending")),
            (6, Some("pending")),
            (2, Some("solved")),
            (3, Some("closed")),
            (10, Some("closed")),
            (9, None),
            (4, None),
            (7, None),
            (42, None),
        ];
        for (id, want) in expected {
            let got = talkdesk_status(TicketStatus::from_id(id));
            assert_eq!(got.as_ref().map(InteractionStatus::as_str), want, "status {id}");
        }
        assert_eq!(talkdesk_priority("medium"), Some(InteractionPriority::Normal));
        assert_eq!(talkdesk_priority("Extreme"), Some(InteractionPriority::Urgent));
        assert_eq!(talkdesk_priority("urgent"), Some(InteractionPriority::High));
        assert_eq!(talkdesk_priority("low"), Some(InteractionPriority::Low));
        assert_eq!(talkdesk_priority("critical"), None);
    }

    #[test]
    fn errors_map_by_kind() {
        let refused = Error::Api {
            provider: "usedesk",
            context: "POST /create/ticket".into(),
            status: 200,
            code: None,
            message: "Client not found".into(),
            call: None,
        };
        assert_eq!(from_usedesk(refused), BackendError::rejected("Usedesk refused: Client not found"));
        let limited = Error::RateLimited {
            provider: "usedesk",
            context: "POST /clients".into(),
            retry_after: None,
            call: None,
        };
        assert_eq!(from_usedesk(limited).http_status(), 503);
        let token = Error::Api {
            provider: "usedesk",
            context: "POST /users".into(),
            status: 401,
            code: None,
            message: "bad".into(),
            call: None,
        };
        assert_eq!(from_usedesk(token).http_status(), 502);
    }

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let cursor = ContactsCursor { page: 2, skip: 40, run_started: 1_700_000_000 };
        assert_eq!(ContactsCursor::parse(&cursor.write()), Some(cursor));
        for bad in ["", "1", "1:2", "a:b:c", "1:2:3:4", "-1:0:0"] {
            assert_eq!(ContactsCursor::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn checkpoints_of_extreme_run_starts_are_none_not_a_panic() {
        let earliest = DateTime::<Utc>::MIN_UTC;
        assert_eq!(checkpoint_for(earliest), None);
        let start = Utc.timestamp_opt(1_700_000_300, 0).unwrap();
        assert_eq!(checkpoint_for(start).as_deref(), Some("2023-11-14T22:13:20Z"));
    }

    #[test]
    fn tickets_are_composed_with_escaping() {
        let data = [
            ("description", "Line <1>\nLine & 2"),
            ("firstName", "Ana"),
            ("state", "CA"),
            ("meetingDate", "2024-05-01T10:00:00Z"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let call = ActionCall {
            action: CREATE_TICKET_ACTION.into(),
            meta: ActionMeta { contact_external_id: None, agent_external_id: Some("101".into()) },
            data,
        };
        let (subject, message) = compose_ticket(&call);
        assert_eq!(subject, "Talkdesk: Ana (CA), meeting 2024-05-01T10:00:00Z");
        assert_eq!(
            message,
            "<p>Line &lt;1&gt;<br>Line &amp; 2</p><p>First name: Ana<br>State: CA<br>Meeting date: \
             2024-05-01T10:00:00Z</p><p>Created in Talkdesk by agent 101 (Usedesk user id).</p>"
        );
        assert_eq!(html_to_text("<p>Hi&nbsp;&amp; bye</p><p>x</p>"), "Hi & bye x");
    }
}
