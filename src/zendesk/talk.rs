//! Zendesk Talk Partner Edition (TPE): screen pop, voice and voicemail tickets, the
//! standard call object (call records with their voice comment), and caller lookup by
//! phone number.
//!
//! Every method is on [`ZendeskClient`], so it shares the client's pace, retries, error
//! interpretation and secret redaction. The sources, cited in `docs/PROVIDER_FACTS.md`:
//!
//! - **Screen pop** and **voice tickets** are in Zendesk's Support OpenAPI document
//!   (operations `OpenUsersProfileInAgentBrowser`, `OpenTicketInAgentBrowser`,
//!   `CreateTicketOrVoicemailTicket`); deskbridge's requests are checked against it in
//!   `tests/providers/conformance_zendesk_talk.rs`.
//! - **Call records** (`/api/v2/calls`) appear only in the TPE guides
//!   (<https://developer.zendesk.com/documentation/voice/talk-partner-edition/creating-a-call-record-in-zendesk/>,
//!   <https://developer.zendesk.com/documentation/voice/talk-partner-edition/creating-a-voice-comment-in-ticket/>)
//!   and the Calls API reference
//!   (<https://developer.zendesk.com/api-reference/voice/talk-partner-edition-api/calls/>).
//!   The create path and its mandatory fields (`app_id`, `from_line`, `to_line`,
//!   `call_started_at`, `direction`) are confirmed. **UNCONFIRMED**: the update method
//!   (deskbridge sends `PATCH /api/v2/calls/{id}`), the read path
//!   (`GET /api/v2/calls/{id}`), and the exact placement of the `comment` section (sent
//!   inside `call`, as the guide's example request body suggests). Every call field is an
//!   `Option` and [`CallFields::extra`] carries any other field Zendesk documents, so a
//!   caller can send what this crate does not model.
//! - **Caller lookup** uses the documented `GET /api/v2/users/search` with the search
//!   syntax `phone:<number>`, then keeps only users whose `phone` has the same digits
//!   (Zendesk search is fuzzy); **creating** a caller uses `POST /api/v2/users`.
//!
//! A bad id is a typed answer: Zendesk answers 404 for an unknown agent, user or ticket
//! on the display endpoints, and 422 for an invalid `display_to_agent`; both come back as
//! [`Error::Api`] with that `status` ([`is_not_found`] tells the first apart).
//!
//! ```no_run
//! # async fn demo(zendesk: deskbridge::zendesk::ZendeskClient) -> deskbridge::Result<()> {
//! use deskbridge::zendesk::{is_not_found, VoiceComment, NewVoiceTicket, VoiceVia};
//! let agent = 16765840571292;
//! match zendesk.find_users_by_phone("+33612345678").await?.first() {
//!     Some(caller) => zendesk.display_user(agent, caller.id).await?,
//!     None => println!("unknown caller"),
//! }
//! if let Err(error) = zendesk.display_ticket(agent, 42).await {
//!     assert!(is_not_found(&error));
//! }
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value, json};

use super::client::ZendeskClient;
use super::model::{option_string_or_i64, string_or_i64};
use crate::http::ApiRequest;
use crate::{Error, Result};

/// Whether `error` is Zendesk's 404 for an unknown id (agent, user, ticket, call).
pub fn is_not_found(error: &Error) -> bool {
    matches!(error, Error::Api { status: 404, .. })
}

/// Serialize a time as ISO 8601 in UTC with whole seconds (`2022-01-27T15:31:40Z`).
fn iso8601<S: Serializer>(time: &DateTime<Utc>, serializer: S) -> std::result::Result<S::Ok, S::Error> {
    serializer.serialize_str(&time.to_rfc3339_opts(SecondsFormat::Secs, true))
}

fn option_iso8601<S: Serializer>(
    time: &Option<DateTime<Utc>>,
    serializer: S,
) -> std::result::Result<S::Ok, S::Error> {
    match time {
        Some(time) => iso8601(time, serializer),
        None => serializer.serialize_none(),
    }
}

/// The `via_id` of a ticket created through `POST /api/v2/channels/voice/tickets`; the
/// only three values that endpoint accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum VoiceVia {
    /// 44: a voicemail.
    Voicemail,
    /// 45: an inbound phone call.
    Inbound,
    /// 46: an outbound phone call.
    Outbound,
}

impl VoiceVia {
    /// The numeric `via_id`.
    pub fn id(self) -> i64 {
        match self {
            Self::Voicemail => 44,
            Self::Inbound => 45,
            Self::Outbound => 46,
        }
    }

    /// The variant for a numeric `via_id`, when it is one of the three.
    pub fn from_id(id: i64) -> Option<Self> {
        match id {
            44 => Some(Self::Voicemail),
            45 => Some(Self::Inbound),
            46 => Some(Self::Outbound),
            _ => None,
        }
    }
}

/// The `voice_comment` of a voice or voicemail ticket (the Tickets API voice comment).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VoiceComment {
    /// The caller's number (for an outbound call, the agent's line).
    pub from: String,
    /// The dialed number.
    pub to: String,
    /// A link to the recording or voicemail. Zendesk keeps it forever, so it must be a
    /// link that stays valid (for Aircall, the `asset` page; never a short-lived direct
    /// link).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recording_url: Option<String>,
    /// When the call started.
    #[serde(serialize_with = "iso8601")]
    pub started_at: DateTime<Utc>,
    /// Duration in seconds.
    pub call_duration: u64,
    /// The Zendesk agent who answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answered_by_id: Option<i64>,
    /// The transcription, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transcription_text: Option<String>,
    /// The caller's location, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

/// A ticket to create through `POST /api/v2/channels/voice/tickets`.
///
/// The endpoint follows Create Ticket's conventions, so `subject`, `requester_id`, `tags`
/// and `external_id` are sent as ticket fields beside the three the document lists
/// (`via_id`, `voice_comment`, `comment`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewVoiceTicket {
    /// Voicemail, inbound or outbound call.
    pub via: VoiceVia,
    /// The voice comment (recording, duration, who answered...).
    pub voice_comment: VoiceComment,
    /// The ticket subject.
    pub subject: Option<String>,
    /// A first, private comment body (Zendesk requires a comment on new tickets; the voice
    /// comment counts on this endpoint, so this is optional).
    pub comment_body: Option<String>,
    /// The requester (the caller's end-user id).
    pub requester_id: Option<i64>,
    /// The agent the ticket is assigned to.
    pub assignee_id: Option<i64>,
    /// Tags.
    pub tags: Vec<String>,
    /// An external id (deskbridge uses it as the dedupe key: `aircall-call-{id}`).
    pub external_id: Option<String>,
    /// `urgent`, `high`, `normal` or `low`.
    pub priority: Option<String>,
    /// The agent whose browser opens the new ticket (validated by Zendesk: 422 when
    /// invalid).
    pub display_to_agent: Option<i64>,
}

impl NewVoiceTicket {
    /// A ticket of this kind with this voice comment and nothing else.
    pub fn new(via: VoiceVia, voice_comment: VoiceComment) -> Self {
        Self {
            via,
            voice_comment,
            subject: None,
            comment_body: None,
            requester_id: None,
            assignee_id: None,
            tags: Vec::new(),
            external_id: None,
            priority: None,
            display_to_agent: None,
        }
    }

    /// The request body.
    pub fn to_body(&self) -> Value {
        let mut ticket = Map::new();
        ticket.insert("via_id".into(), json!(self.via.id()));
        ticket.insert("voice_comment".into(), json!(self.voice_comment));
        if let Some(body) = &self.comment_body {
            ticket.insert("comment".into(), json!({ "body": body, "public": false }));
        }
        if let Some(subject) = &self.subject {
            ticket.insert("subject".into(), json!(subject));
        }
        if let Some(requester_id) = self.requester_id {
            ticket.insert("requester_id".into(), json!(requester_id));
        }
        if let Some(assignee_id) = self.assignee_id {
            ticket.insert("assignee_id".into(), json!(assignee_id));
        }
        if !self.tags.is_empty() {
            ticket.insert("tags".into(), json!(self.tags));
        }
        if let Some(external_id) = &self.external_id {
            ticket.insert("external_id".into(), json!(external_id));
        }
        if let Some(priority) = &self.priority {
            ticket.insert("priority".into(), json!(priority));
        }
        let mut body = Map::new();
        if let Some(agent) = self.display_to_agent {
            body.insert("display_to_agent".into(), json!(agent));
        }
        body.insert("ticket".into(), Value::Object(ticket));
        Value::Object(body)
    }
}

/// A ticket to create through the ordinary `POST /api/v2/tickets` (used to hold a call
/// record's voice comment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTicket {
    /// Subject.
    pub subject: String,
    /// The first comment's body.
    pub comment_body: String,
    /// Whether the first comment is public (default: private).
    pub public: bool,
    /// Requester (end-user id).
    pub requester_id: Option<i64>,
    /// Assignee (agent id).
    pub assignee_id: Option<i64>,
    /// Tags.
    pub tags: Vec<String>,
    /// External id (dedupe key).
    pub external_id: Option<String>,
}

impl NewTicket {
    /// The request body.
    pub fn to_body(&self) -> Value {
        let mut ticket = Map::new();
        ticket.insert("subject".into(), json!(self.subject));
        ticket.insert("comment".into(), json!({ "body": self.comment_body, "public": self.public }));
        if let Some(requester_id) = self.requester_id {
            ticket.insert("requester_id".into(), json!(requester_id));
        }
        if let Some(assignee_id) = self.assignee_id {
            ticket.insert("assignee_id".into(), json!(assignee_id));
        }
        if !self.tags.is_empty() {
            ticket.insert("tags".into(), json!(self.tags));
        }
        if let Some(external_id) = &self.external_id {
            ticket.insert("external_id".into(), json!(external_id));
        }
        json!({ "ticket": Value::Object(ticket) })
    }
}

/// A ticket as Zendesk answers it (the fields deskbridge reads).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Ticket {
    /// Ticket id.
    #[serde(deserialize_with = "string_or_i64")]
    pub id: i64,
    /// Subject.
    #[serde(default)]
    pub subject: Option<String>,
    /// `new`, `open`, `pending`, `hold`, `solved`, `closed`.
    #[serde(default)]
    pub status: Option<String>,
    /// Requester id.
    #[serde(default, deserialize_with = "option_string_or_i64")]
    pub requester_id: Option<i64>,
    /// Assignee id.
    #[serde(default, deserialize_with = "option_string_or_i64")]
    pub assignee_id: Option<i64>,
    /// External id.
    #[serde(default)]
    pub external_id: Option<String>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
}

#[derive(Deserialize)]
struct TicketEnvelope {
    ticket: Ticket,
}

#[derive(Deserialize)]
struct TicketsEnvelope {
    #[serde(default)]
    tickets: Vec<Ticket>,
}

/// A ticket comment (the fields deskbridge reads).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TicketComment {
    /// Comment id.
    #[serde(deserialize_with = "string_or_i64")]
    pub id: i64,
    /// `Comment` or `VoiceComment`.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// Author.
    #[serde(default, deserialize_with = "option_string_or_i64")]
    pub author_id: Option<i64>,
    /// Body.
    #[serde(default)]
    pub body: Option<String>,
    /// Whether public.
    #[serde(default)]
    pub public: Option<bool>,
}

impl TicketComment {
    /// Whether this is a voice comment (`type: "VoiceComment"`).
    pub fn is_voice(&self) -> bool {
        self.kind.as_deref() == Some("VoiceComment")
    }
}

#[derive(Deserialize)]
struct CommentsEnvelope {
    #[serde(default)]
    comments: Vec<TicketComment>,
}

/// An end user (or any user) with the phone fields.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PhoneUser {
    /// User id.
    #[serde(deserialize_with = "string_or_i64")]
    pub id: i64,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Primary phone number, as stored.
    #[serde(default)]
    pub phone: Option<String>,
    /// E-mail.
    #[serde(default)]
    pub email: Option<String>,
    /// `end-user`, `agent`, `admin`.
    #[serde(default)]
    pub role: Option<String>,
}

#[derive(Deserialize)]
struct PhoneUsersEnvelope {
    #[serde(default)]
    users: Vec<PhoneUser>,
}

#[derive(Deserialize)]
struct PhoneUserEnvelope {
    user: PhoneUser,
}

/// The digits of a phone number with a leading `+` when it had one (`+33 6 12-34` →
/// `+33612 34` without spaces: `+3361234`). Used to compare numbers as Zendesk and Aircall
/// format them differently.
pub fn normalize_phone(number: &str) -> String {
    let trimmed = number.trim();
    let mut out = String::with_capacity(trimmed.len());
    if trimmed.starts_with('+') {
        out.push('+');
    }
    out.extend(trimmed.chars().filter(char::is_ascii_digit));
    out
}

/// `inbound` or `outbound` (a call record's `direction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CallDirection {
    /// The customer called.
    Inbound,
    /// The agent called.
    Outbound,
}

/// The fields of Zendesk's standard call object that deskbridge sets, all optional so the
/// same type serves create (mandatory: `app_id`, `from_line`, `to_line`,
/// `call_started_at`, `direction`) and update. Absent fields are not sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CallFields {
    /// The Zendesk app id of the integration (mandatory on create).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "option_string_or_i64")]
    pub app_id: Option<i64>,
    /// The caller's line (E.164).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_line: Option<String>,
    /// The called line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_line: Option<String>,
    /// When the call connected.
    #[serde(default, skip_serializing_if = "Option::is_none", serialize_with = "option_iso8601")]
    pub call_started_at: Option<DateTime<Utc>>,
    /// When the call ended.
    #[serde(default, skip_serializing_if = "Option::is_none", serialize_with = "option_iso8601")]
    pub call_ended_at: Option<DateTime<Utc>>,
    /// Inbound or outbound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<CallDirection>,
    /// The Zendesk agent who answered.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "option_string_or_i64")]
    pub agent_id: Option<i64>,
    /// The caller's Zendesk user.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "option_string_or_i64")]
    pub end_user_id: Option<i64>,
    /// The ticket the call belongs to (omit it and send a comment to have Zendesk create
    /// one, per the guide).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "option_string_or_i64")]
    pub ticket_id: Option<i64>,
    /// Brand.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "option_string_or_i64")]
    pub brand_id: Option<i64>,
    /// Whether the caller left a voicemail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voicemail: Option<bool>,
    /// The outcome, free text (`problem solved`, `escalated`...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_disposition: Option<String>,
    /// `completed`, `abandoned_in_queue`, `abandoned_in_ivr`, `abandoned_in_voicemail`,
    /// `abandoned_on_hold`... (empty for calls in progress).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_status: Option<String>,
    /// Seconds the agent talked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub talk_time: Option<u64>,
    /// Seconds the caller waited in the queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_time: Option<u64>,
    /// Link to the recording. **UNCONFIRMED** field name in the call object (the voice
    /// comment shows a player for the call record's recording); deskbridge only sets a
    /// link that stays valid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recording_url: Option<String>,
    /// The transcript text. **UNCONFIRMED** field name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcript: Option<String>,
    /// Any other documented field (`hold_time`, `wrap_up_time`, `ivr_destination_group_name`,
    /// `call_recording_consent`, `callback_number`...), sent as given.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// The voice comment section of a call record: Zendesk writes it on the ticket from the
/// call record's data.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CallComment {
    /// The comment's author (the answering agent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author_id: Option<i64>,
    /// The agent whose browser opens the ticket.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_to_agent: Option<i64>,
    /// A title shown on the comment (`Inbound call from +33...`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

/// A call record to create: its fields and optionally its voice comment.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCall {
    /// The call fields.
    pub fields: CallFields,
    /// The voice comment, when the call should show on a ticket.
    pub comment: Option<CallComment>,
}

impl NewCall {
    /// The request body `{"call": {..fields, "comment": {..}}}`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when a mandatory field (`app_id`, `from_line`, `to_line`,
    /// `call_started_at`, `direction`) is missing.
    pub fn to_body(&self) -> Result<Value> {
        let f = &self.fields;
        let missing: Vec<&str> = [
            ("app_id", f.app_id.is_none()),
            ("from_line", f.from_line.is_none()),
            ("to_line", f.to_line.is_none()),
            ("call_started_at", f.call_started_at.is_none()),
            ("direction", f.direction.is_none()),
        ]
        .into_iter()
        .filter(|(_, absent)| *absent)
        .map(|(name, _)| name)
        .collect();
        if !missing.is_empty() {
            return Err(Error::invalid("zendesk call record", format!("missing {}", missing.join(", "))));
        }
        let mut call =
            serde_json::to_value(f).map_err(|e| Error::invalid("zendesk call record", e.to_string()))?;
        if let (Some(comment), Some(object)) = (&self.comment, call.as_object_mut()) {
            object.insert("comment".into(), json!(comment));
        }
        Ok(json!({ "call": call }))
    }
}

/// A call record as Zendesk answers it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CallRecord {
    /// The call record id.
    #[serde(deserialize_with = "string_or_i64")]
    pub id: i64,
    /// Every other field.
    #[serde(flatten)]
    pub fields: CallFields,
}

#[derive(Deserialize)]
struct CallEnvelope {
    call: CallRecord,
}

impl ZendeskClient {
    /// Open a user's profile in an agent's browser
    /// (`POST /api/v2/channels/voice/agents/{agent_id}/users/{user_id}/display`).
    ///
    /// # Errors
    /// [`Error::Api`] 404 when the agent or user id is invalid (see [`is_not_found`]).
    pub async fn display_user(&self, agent_id: i64, user_id: i64) -> Result<()> {
        let request = ApiRequest::post("/api/v2/channels/voice/agents/{agent_id}/users/{user_id}/display")
            .param("agent_id", agent_id)?
            .param("user_id", user_id)?
            .retry_safe();
        self.api().send(request).await?;
        Ok(())
    }

    /// Open a ticket in an agent's browser
    /// (`POST /api/v2/channels/voice/agents/{agent_id}/tickets/{ticket_id}/display`).
    ///
    /// # Errors
    /// [`Error::Api`] 404 when the agent or ticket id is invalid.
    pub async fn display_ticket(&self, agent_id: i64, ticket_id: i64) -> Result<()> {
        let request =
            ApiRequest::post("/api/v2/channels/voice/agents/{agent_id}/tickets/{ticket_id}/display")
                .param("agent_id", agent_id)?
                .param("ticket_id", ticket_id)?
                .retry_safe();
        self.api().send(request).await?;
        Ok(())
    }

    /// Create a voice or voicemail ticket (`POST /api/v2/channels/voice/tickets`).
    ///
    /// Not retried on an ambiguous failure (it is not idempotent); give it an
    /// `external_id` and look it up with [`tickets_by_external_id`](Self::tickets_by_external_id)
    /// to recover.
    ///
    /// # Errors
    /// [`Error::Api`]: 422 for an invalid `display_to_agent` or `via_id`.
    pub async fn create_voice_ticket(&self, ticket: &NewVoiceTicket) -> Result<Ticket> {
        let request = ApiRequest::post("/api/v2/channels/voice/tickets").json(&ticket.to_body())?;
        Ok(self.api().send_json::<TicketEnvelope>(request).await?.ticket)
    }

    /// Create an ordinary ticket (`POST /api/v2/tickets`).
    ///
    /// # Errors
    /// [`Error::Api`], [`Error::Decode`].
    pub async fn create_ticket(&self, ticket: &NewTicket) -> Result<Ticket> {
        let request = ApiRequest::post("/api/v2/tickets").json(&ticket.to_body())?;
        Ok(self.api().send_json::<TicketEnvelope>(request).await?.ticket)
    }

    /// Tickets with this external id (`GET /api/v2/tickets?external_id=`).
    ///
    /// # Errors
    /// [`Error::Api`], [`Error::Decode`].
    pub async fn tickets_by_external_id(&self, external_id: &str) -> Result<Vec<Ticket>> {
        let request = ApiRequest::get("/api/v2/tickets").query("external_id", external_id);
        Ok(self.api().send_json::<TicketsEnvelope>(request).await?.tickets)
    }

    /// A ticket's comments (`GET /api/v2/tickets/{ticket_id}/comments`, first page of 100:
    /// enough for the tickets deskbridge creates).
    ///
    /// # Errors
    /// [`Error::Api`] (404 for an unknown ticket), [`Error::Decode`].
    pub async fn ticket_comments(&self, ticket_id: i64) -> Result<Vec<TicketComment>> {
        let request = ApiRequest::get("/api/v2/tickets/{ticket_id}/comments")
            .param("ticket_id", ticket_id)?
            .query("page[size]", 100);
        Ok(self.api().send_json::<CommentsEnvelope>(request).await?.comments)
    }

    /// Create a call record, with its voice comment when `call.comment` is set
    /// (`POST /api/v2/calls`).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a missing mandatory field (nothing is sent);
    /// [`Error::Api`] when Zendesk refuses it.
    pub async fn create_call(&self, call: &NewCall) -> Result<CallRecord> {
        let request = ApiRequest::post("/api/v2/calls").json(&call.to_body()?)?;
        Ok(self.api().send_json::<CallEnvelope>(request).await?.call)
    }

    /// Update a call record (`PATCH /api/v2/calls/{call_id}`, method UNCONFIRMED); only
    /// the fields set in `fields` are sent.
    ///
    /// # Errors
    /// [`Error::Api`] (404 for an unknown call).
    pub async fn update_call(&self, call_id: i64, fields: &CallFields) -> Result<CallRecord> {
        let request = ApiRequest::patch("/api/v2/calls/{call_id}")
            .param("call_id", call_id)?
            .json(&json!({ "call": fields }))?;
        Ok(self.api().send_json::<CallEnvelope>(request).await?.call)
    }

    /// Read a call record (`GET /api/v2/calls/{call_id}`, UNCONFIRMED path).
    ///
    /// # Errors
    /// [`Error::Api`] (404 for an unknown call).
    pub async fn call_record(&self, call_id: i64) -> Result<CallRecord> {
        let request = ApiRequest::get("/api/v2/calls/{call_id}").param("call_id", call_id)?;
        Ok(self.api().send_json::<CallEnvelope>(request).await?.call)
    }

    /// Users whose phone number has the same digits as `phone`
    /// (`GET /api/v2/users/search?query=phone:<digits>`), Zendesk's fuzzy matches
    /// filtered out.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a number without digits; [`Error::Api`].
    pub async fn find_users_by_phone(&self, phone: &str) -> Result<Vec<PhoneUser>> {
        let wanted = normalize_phone(phone);
        let digits: String = wanted.chars().filter(char::is_ascii_digit).collect();
        if digits.is_empty() {
            return Err(Error::invalid("phone number", format!("\"{phone}\" has no digits")));
        }
        let request = ApiRequest::get("/api/v2/users/search").query("query", format!("phone:{wanted}"));
        let users = self.api().send_json::<PhoneUsersEnvelope>(request).await?.users;
        Ok(users
            .into_iter()
            .filter(|user| {
                user.phone.as_deref().is_some_and(|p| {
                    let theirs: String = p.chars().filter(char::is_ascii_digit).collect();
                    theirs == digits
                })
            })
            .collect())
    }

    /// Create an end user with this name and phone number (`POST /api/v2/users`).
    ///
    /// # Errors
    /// [`Error::Api`] (422 when Zendesk refuses the record).
    pub async fn create_end_user(&self, name: &str, phone: &str) -> Result<PhoneUser> {
        let body = json!({ "user": { "name": name, "phone": phone, "role": "end-user" } });
        let request = ApiRequest::post("/api/v2/users").json(&body)?;
        Ok(self.api().send_json::<PhoneUserEnvelope>(request).await?.user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn comment() -> VoiceComment {
        VoiceComment {
            from: "+16617480240".into(),
            to: "+16617480123".into(),
            recording_url: Some("https://assets.aircall.io/calls/1/recording".into()),
            started_at: Utc.with_ymd_and_hms(2019, 4, 16, 9, 14, 57).unwrap(),
            call_duration: 40,
            answered_by_id: Some(28),
            transcription_text: None,
            location: None,
        }
    }

    #[test]
    fn voice_ticket_body_has_the_documented_shape() {
        let mut ticket = NewVoiceTicket::new(VoiceVia::Inbound, comment());
        ticket.display_to_agent = Some(1234);
        ticket.external_id = Some("aircall-call-1".into());
        let body = ticket.to_body();
        assert_eq!(body["display_to_agent"], json!(1234));
        assert_eq!(body["ticket"]["via_id"], json!(45));
        assert_eq!(body["ticket"]["voice_comment"]["started_at"], json!("2019-04-16T09:14:57Z"));
        assert!(body["ticket"]["voice_comment"].get("transcription_text").is_none());
        assert_eq!(VoiceVia::from_id(44), Some(VoiceVia::Voicemail));
        assert_eq!(VoiceVia::from_id(47), None);
    }

    #[test]
    fn call_body_requires_the_mandatory_fields() {
        let call = NewCall { fields: CallFields { app_id: Some(1), ..CallFields::default() }, comment: None };
        let message = call.to_body().unwrap_err().to_string();
        assert!(message.contains("from_line, to_line, call_started_at, direction"), "{message}");
    }

    #[test]
    fn phone_numbers_normalize_to_digits() {
        assert_eq!(normalize_phone(" +33 6 12-34.56 78 "), "+33612345678");
        assert_eq!(normalize_phone("(555) 010"), "555010");
    }
}
