//! The Zendesk simulator's Talk Partner Edition part: screen pop, voice tickets, ordinary
//! tickets and their comments, call records, end users with phone numbers and user search.
//!
//! Strict like the rest of the simulator: a field the endpoint does not document, a
//! `via_id` other than 44/45/46, a missing mandatory call field, an unknown user, ticket
//! or agent, or an agent without a Talk seat get Zendesk's error answers (404
//! `RecordNotFound` on the display endpoints, 422 `RecordInvalid` naming the field
//! elsewhere).

use std::collections::{BTreeMap, HashSet};

use axum::http::{Method, StatusCode};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};
use url::Url;

use super::{ZendeskProvider, ZendeskState, classic_error, invalid_record, link, not_found};
use crate::sim::server::lock;
use crate::sim::{SimRequest, SimResponse};

/// A refusal: Zendesk's error answer, boxed (it is large).
type Refusal = Box<SimResponse>;

/// Ids of records the simulator creates start here.
const FIRST_ID: i64 = 70_000_000_001;

/// The fields of Zendesk's standard call object (per the Calls API reference) the
/// simulator accepts; anything else in `call` is refused.
const CALL_FIELDS: &[&str] = &[
    "agent_id",
    "app_id",
    "brand_id",
    "call_disposition",
    "call_ended_at",
    "call_recording_consent",
    "call_recording_consent_action",
    "call_recording_consent_keypress",
    "call_started_at",
    "call_type",
    "callback_number",
    "callback_source",
    "completion_status",
    "consultation_time",
    "customer_requested_voicemail",
    "default_group",
    "direction",
    "end_user_id",
    "exceeded_queue_time",
    "from_line",
    "from_line_nickname",
    "hold_time",
    "ivr_action",
    "ivr_destination_group_name",
    "ivr_hops",
    "ivr_routed_to",
    "ivr_time_spent",
    "line_type",
    "not_recording_time",
    "outside_business_hours",
    "overflowed",
    "overflowed_to",
    "queue_time",
    "recording_time",
    "recording_url",
    "talk_time",
    "ticket_id",
    "to_line",
    "to_line_nickname",
    "transcript",
    "voicemail",
    "wait_time",
    "wrap_up_time",
];
const CALL_MANDATORY: &[&str] = &["app_id", "from_line", "to_line", "call_started_at", "direction"];
const CALL_COMMENT_FIELDS: &[&str] = &["author_id", "display_to_agent", "title"];
const VOICE_COMMENT_FIELDS: &[&str] = &[
    "from",
    "to",
    "recording_url",
    "started_at",
    "call_duration",
    "answered_by_id",
    "transcription_text",
    "location",
];
const TICKET_FIELDS: &[&str] = &[
    "subject",
    "comment",
    "requester_id",
    "assignee_id",
    "tags",
    "external_id",
    "priority",
    "type",
    "status",
];
const VOICE_TICKET_FIELDS: &[&str] = &[
    "via_id",
    "voice_comment",
    "comment",
    "subject",
    "requester_id",
    "assignee_id",
    "tags",
    "external_id",
    "priority",
];
const USER_FIELDS: &[&str] = &["name", "email", "phone", "role", "external_id", "verified"];

/// An end user of the simulated account (a caller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZendeskEndUser {
    /// User id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Phone, as stored.
    pub phone: Option<String>,
    /// E-mail.
    pub email: Option<String>,
}

/// A comment on a simulated ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct ZendeskSimComment {
    /// Comment id.
    pub id: i64,
    /// `Comment` or `VoiceComment`.
    pub kind: String,
    /// Author.
    pub author_id: Option<i64>,
    /// Body (for voice comments, a summary line).
    pub body: String,
    /// Public or internal.
    pub public: bool,
    /// The voice data: the Tickets-API `voice_comment`, or the call record id.
    pub data: Value,
}

/// A simulated ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct ZendeskSimTicket {
    /// Ticket id.
    pub id: i64,
    /// Subject.
    pub subject: Option<String>,
    /// Requester.
    pub requester_id: Option<i64>,
    /// Assignee.
    pub assignee_id: Option<i64>,
    /// External id.
    pub external_id: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// `via_id` for voice tickets (44, 45, 46), `None` for API tickets.
    pub via_id: Option<i64>,
    /// Comments, oldest first.
    pub comments: Vec<ZendeskSimComment>,
}

/// A simulated call record: its id and fields as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ZendeskSimCall {
    /// Call record id.
    pub id: i64,
    /// The fields, as last written.
    pub fields: Map<String, Value>,
}

/// What a display request opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZendeskDisplay {
    /// A user profile.
    User {
        /// The agent.
        agent_id: i64,
        /// The user.
        user_id: i64,
    },
    /// A ticket.
    Ticket {
        /// The agent.
        agent_id: i64,
        /// The ticket.
        ticket_id: i64,
    },
}

/// The TPE part of the simulator state.
#[derive(Debug, Default)]
pub(super) struct TalkState {
    pub(super) without_seat: HashSet<i64>,
    pub(super) app_id: Option<i64>,
    pub(super) end_users: Vec<ZendeskEndUser>,
    pub(super) tickets: Vec<ZendeskSimTicket>,
    pub(super) calls: Vec<ZendeskSimCall>,
    pub(super) displays: Vec<ZendeskDisplay>,
    next_id: i64,
}

impl TalkState {
    pub(super) fn next_id(&mut self) -> i64 {
        if self.next_id == 0 {
            self.next_id = FIRST_ID;
        }
        let id = self.next_id;
        self.next_id += 1;
        id
    }
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `invalid_record`, boxed.
fn bad(field: &str, description: &str) -> Refusal {
    Box::new(invalid_record(field, description))
}

fn unknown_fields(object: &Map<String, Value>, allowed: &[&str], at: &str) -> Option<SimResponse> {
    let unknown: Vec<&String> = object.keys().filter(|key| !allowed.contains(&key.as_str())).collect();
    unknown.first().map(|key| {
        let field = if at.is_empty() { (*key).clone() } else { format!("{at}.{key}") };
        invalid_record(&field, &format!("{field} is not a recognised parameter"))
    })
}

fn object_at<'a>(body: &'a Value, key: &str) -> Result<&'a Map<String, Value>, Refusal> {
    body.get(key).and_then(Value::as_object).ok_or_else(|| {
        Box::new(classic_error(
            StatusCode::BAD_REQUEST,
            "InvalidParameter",
            &format!("`{key}` must be an object"),
        ))
    })
}

fn json_body(request: &SimRequest) -> Result<Value, Refusal> {
    request.body_json().filter(Value::is_object).ok_or_else(|| {
        Box::new(classic_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "The request body must be a JSON object",
        ))
    })
}

fn int_field(object: &Map<String, Value>, key: &str, at: &str) -> Result<Option<i64>, Refusal> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_i64()
            .map(Some)
            .ok_or_else(|| bad(&format!("{at}{key}"), &format!("{at}{key} must be an integer"))),
    }
}

fn time_field(object: &Map<String, Value>, key: &str, at: &str) -> Result<(), Refusal> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(text)) if DateTime::parse_from_rfc3339(text).is_ok() => Ok(()),
        Some(_) => Err(bad(&format!("{at}{key}"), &format!("{at}{key} must be an ISO 8601 time"))),
    }
}

impl ZendeskState {
    fn is_user(&self, id: i64) -> bool {
        self.agent_index(id).is_some() || self.talk.end_users.iter().any(|u| u.id == id)
    }

    /// An agent who can take calls: staff, with a Talk seat.
    fn is_talk_agent(&self, id: i64) -> bool {
        self.staff_index(id).is_some() && !self.talk.without_seat.contains(&id)
    }

    fn ticket_mut(&mut self, id: i64) -> Option<&mut ZendeskSimTicket> {
        self.talk.tickets.iter_mut().find(|t| t.id == id)
    }

    fn check_people(
        &self,
        object: &Map<String, Value>,
        at: &str,
    ) -> Result<(Option<i64>, Option<i64>), Refusal> {
        let requester = int_field(object, "requester_id", at)?;
        if requester.is_some_and(|id| !self.is_user(id)) {
            return Err(bad("requester_id", "Requester is not a user of this account"));
        }
        let assignee = int_field(object, "assignee_id", at)?;
        if assignee.is_some_and(|id| self.staff_index(id).is_none()) {
            return Err(bad("assignee_id", "Assignee is not an agent"));
        }
        Ok((requester, assignee))
    }
}

fn ticket_json(ticket: &ZendeskSimTicket, base_url: &Url) -> Value {
    json!({
        "id": ticket.id,
        "url": link(base_url, &format!("api/v2/tickets/{}.json", ticket.id)),
        "subject": ticket.subject,
        "status": "new",
        "requester_id": ticket.requester_id,
        "assignee_id": ticket.assignee_id,
        "external_id": ticket.external_id,
        "tags": ticket.tags,
        "via": { "channel": if ticket.via_id.is_some() { "voice" } else { "api" } },
        "created_at": now(),
    })
}

fn comment_json(comment: &ZendeskSimComment) -> Value {
    json!({
        "id": comment.id,
        "type": comment.kind,
        "author_id": comment.author_id,
        "body": comment.body,
        "public": comment.public,
        "data": comment.data,
    })
}

fn user_json(user: &ZendeskEndUser, base_url: &Url) -> Value {
    json!({
        "id": user.id,
        "url": link(base_url, &format!("api/v2/users/{}.json", user.id)),
        "name": user.name,
        "email": user.email,
        "phone": user.phone,
        "role": "end-user",
        "active": true,
        "created_at": now(),
    })
}

fn digits(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

fn tags_of(object: &Map<String, Value>) -> Vec<String> {
    object
        .get("tags")
        .and_then(Value::as_array)
        .map(|tags| tags.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

impl ZendeskProvider {
    /// The TPE routes; `None` when the request is for another part of the simulator.
    pub(super) fn handle_talk(
        &self,
        request: &SimRequest,
        segments: &[&str],
        base_url: &Url,
    ) -> Option<SimResponse> {
        let id = |text: &str| text.parse::<i64>().ok();
        Some(match (&request.method, segments) {
            (
                &Method::POST,
                ["api", "v2", "channels", "voice", "agents", agent, "users", user, "display"],
            ) => self.display(id(agent), id(user), false),
            (
                &Method::POST,
                ["api", "v2", "channels", "voice", "agents", agent, "tickets", ticket, "display"],
            ) => self.display(id(agent), id(ticket), true),
            (&Method::POST, ["api", "v2", "channels", "voice", "tickets"]) => {
                self.voice_ticket(request, base_url)
            }
            (&Method::POST, ["api", "v2", "tickets"]) => self.create_ticket(request, base_url),
            (&Method::GET, ["api", "v2", "tickets"]) => {
                let state = lock(&self.state);
                let wanted = request.query_value("external_id");
                let tickets: Vec<Value> = state
                    .talk
                    .tickets
                    .iter()
                    .filter(|t| wanted.is_none() || t.external_id == wanted)
                    .map(|t| ticket_json(t, base_url))
                    .collect();
                SimResponse::json(
                    StatusCode::OK,
                    &json!({ "tickets": tickets, "count": tickets.len(), "next_page": null }),
                )
            }
            (&Method::GET, ["api", "v2", "tickets", ticket]) => {
                let state = lock(&self.state);
                match id(ticket).and_then(|tid| state.talk.tickets.iter().find(|t| t.id == tid)) {
                    Some(ticket) => {
                        SimResponse::json(StatusCode::OK, &json!({ "ticket": ticket_json(ticket, base_url) }))
                    }
                    None => not_found(),
                }
            }
            (&Method::GET, ["api", "v2", "tickets", ticket, "comments"]) => {
                let state = lock(&self.state);
                match id(ticket).and_then(|tid| state.talk.tickets.iter().find(|t| t.id == tid)) {
                    Some(ticket) => {
                        let comments: Vec<Value> = ticket.comments.iter().map(comment_json).collect();
                        SimResponse::json(
                            StatusCode::OK,
                            &json!({ "comments": comments, "meta": { "has_more": false }, "links": {} }),
                        )
                    }
                    None => not_found(),
                }
            }
            (&Method::POST, ["api", "v2", "calls"]) => self.create_call(request),
            (&Method::PATCH, ["api", "v2", "calls", call]) => match id(call) {
                Some(call_id) => self.update_call(request, call_id),
                None => not_found(),
            },
            (&Method::GET, ["api", "v2", "calls", call]) => {
                let state = lock(&self.state);
                match id(call).and_then(|cid| state.talk.calls.iter().find(|c| c.id == cid)) {
                    Some(call) => {
                        SimResponse::json(StatusCode::OK, &json!({ "call": call_record_json(call) }))
                    }
                    None => not_found(),
                }
            }
            (&Method::GET, ["api", "v2", "users", "search"]) => self.search_users(request, base_url),
            (&Method::POST, ["api", "v2", "users"]) => self.create_user(request, base_url),
            _ => return None,
        })
    }

    fn display(&self, agent: Option<i64>, target: Option<i64>, ticket: bool) -> SimResponse {
        let mut state = lock(&self.state);
        let (Some(agent_id), Some(target_id)) = (agent, target) else { return not_found() };
        if !state.is_talk_agent(agent_id) {
            return not_found();
        }
        let exists = if ticket {
            state.talk.tickets.iter().any(|t| t.id == target_id)
        } else {
            state.is_user(target_id)
        };
        if !exists {
            return not_found();
        }
        state.talk.displays.push(if ticket {
            ZendeskDisplay::Ticket { agent_id, ticket_id: target_id }
        } else {
            ZendeskDisplay::User { agent_id, user_id: target_id }
        });
        SimResponse::json(StatusCode::OK, &json!(""))
    }

    fn voice_ticket(&self, request: &SimRequest, base_url: &Url) -> SimResponse {
        let body = match json_body(request) {
            Ok(body) => body,
            Err(response) => return *response,
        };
        let mut state = lock(&self.state);
        let result = (|| {
            let top = body.as_object().ok_or_else(|| Box::new(not_found()))?;
            if let Some(response) = unknown_fields(top, &["display_to_agent", "ticket"], "") {
                return Err(Box::new(response));
            }
            let display = int_field(top, "display_to_agent", "")?;
            if display.is_some_and(|agent| !state.is_talk_agent(agent)) {
                return Err(bad("display_to_agent", "display_to_agent is not a valid agent"));
            }
            let ticket = object_at(&body, "ticket")?;
            if let Some(response) = unknown_fields(ticket, VOICE_TICKET_FIELDS, "ticket") {
                return Err(Box::new(response));
            }
            let via_id = int_field(ticket, "via_id", "ticket.")?;
            if !matches!(via_id, Some(44..=46)) {
                return Err(bad("via_id", "via_id must be 44 (voicemail), 45 (inbound) or 46 (outbound)"));
            }
            let voice = ticket
                .get("voice_comment")
                .and_then(Value::as_object)
                .ok_or_else(|| bad("voice_comment", "voice_comment is required"))?;
            if let Some(response) = unknown_fields(voice, VOICE_COMMENT_FIELDS, "voice_comment") {
                return Err(Box::new(response));
            }
            for key in ["from", "to", "started_at"] {
                if !voice.get(key).is_some_and(Value::is_string) {
                    return Err(bad(&format!("voice_comment.{key}"), "is required"));
                }
            }
            time_field(voice, "started_at", "voice_comment.")?;
            if voice.get("call_duration").is_none_or(|d| d.as_u64().is_none()) {
                return Err(bad("voice_comment.call_duration", "must be a non-negative integer"));
            }
            let answered_by = int_field(voice, "answered_by_id", "voice_comment.")?;
            if answered_by.is_some_and(|agent| state.staff_index(agent).is_none()) {
                return Err(bad("voice_comment.answered_by_id", "is not an agent"));
            }
            let (requester_id, assignee_id) = state.check_people(ticket, "ticket.")?;
            let mut comments = Vec::new();
            if let Some(comment) = ticket.get("comment").and_then(Value::as_object) {
                comments.push(ZendeskSimComment {
                    id: state.talk.next_id(),
                    kind: "Comment".into(),
                    author_id: None,
                    body: comment.get("body").and_then(Value::as_str).unwrap_or_default().to_owned(),
                    public: comment.get("public").and_then(Value::as_bool).unwrap_or(true),
                    data: Value::Null,
                });
            }
            comments.push(ZendeskSimComment {
                id: state.talk.next_id(),
                kind: "VoiceComment".into(),
                author_id: answered_by,
                body: format!("Call from {}", voice.get("from").and_then(Value::as_str).unwrap_or_default()),
                public: false,
                data: Value::Object(voice.clone()),
            });
            let ticket = ZendeskSimTicket {
                id: state.talk.next_id(),
                subject: ticket.get("subject").and_then(Value::as_str).map(str::to_owned),
                requester_id,
                assignee_id,
                external_id: ticket.get("external_id").and_then(Value::as_str).map(str::to_owned),
                tags: tags_of(ticket),
                via_id,
                comments,
            };
            if let Some(agent_id) = display {
                state.talk.displays.push(ZendeskDisplay::Ticket { agent_id, ticket_id: ticket.id });
            }
            let answer = ticket_json(&ticket, base_url);
            state.talk.tickets.push(ticket);
            Ok(answer)
        })();
        match result {
            Ok(ticket) => SimResponse::json(StatusCode::CREATED, &json!({ "ticket": ticket })),
            Err(response) => *response,
        }
    }

    fn create_ticket(&self, request: &SimRequest, base_url: &Url) -> SimResponse {
        let body = match json_body(request) {
            Ok(body) => body,
            Err(response) => return *response,
        };
        let mut state = lock(&self.state);
        let result = (|| {
            let top = body.as_object().ok_or_else(|| Box::new(not_found()))?;
            if let Some(response) = unknown_fields(top, &["ticket"], "") {
                return Err(Box::new(response));
            }
            let ticket = object_at(&body, "ticket")?;
            if let Some(response) = unknown_fields(ticket, TICKET_FIELDS, "ticket") {
                return Err(Box::new(response));
            }
            let comment = ticket
                .get("comment")
                .and_then(Value::as_object)
                .ok_or_else(|| bad("comment", "A ticket needs a first comment"))?;
            if let Some(response) =
                unknown_fields(comment, &["body", "html_body", "public", "author_id"], "comment")
            {
                return Err(Box::new(response));
            }
            let (requester_id, assignee_id) = state.check_people(ticket, "ticket.")?;
            let first = ZendeskSimComment {
                id: state.talk.next_id(),
                kind: "Comment".into(),
                author_id: int_field(comment, "author_id", "comment.")?,
                body: comment.get("body").and_then(Value::as_str).unwrap_or_default().to_owned(),
                public: comment.get("public").and_then(Value::as_bool).unwrap_or(true),
                data: Value::Null,
            };
            let ticket = ZendeskSimTicket {
                id: state.talk.next_id(),
                subject: ticket.get("subject").and_then(Value::as_str).map(str::to_owned),
                requester_id,
                assignee_id,
                external_id: ticket.get("external_id").and_then(Value::as_str).map(str::to_owned),
                tags: tags_of(ticket),
                via_id: None,
                comments: vec![first],
            };
            let answer = ticket_json(&ticket, base_url);
            state.talk.tickets.push(ticket);
            Ok(answer)
        })();
        match result {
            Ok(ticket) => SimResponse::json(StatusCode::CREATED, &json!({ "ticket": ticket })),
            Err(response) => *response,
        }
    }

    /// Check a `call` object's fields (mandatory ones only on create).
    fn check_call(state: &ZendeskState, call: &Map<String, Value>, create: bool) -> Result<(), Refusal> {
        if let Some(response) = unknown_fields(
            &call
                .iter()
                .filter(|(k, _)| k.as_str() != "comment")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            CALL_FIELDS,
            "call",
        ) {
            return Err(Box::new(response));
        }
        if create {
            if let Some(missing) =
                CALL_MANDATORY.iter().find(|key| call.get(**key).is_none_or(Value::is_null))
            {
                return Err(bad(&format!("call.{missing}"), "is required"));
            }
            if let (Some(expected), Some(given)) =
                (state.talk.app_id, call.get("app_id").and_then(Value::as_i64))
            {
                if expected != given {
                    return Err(bad("call.app_id", "app_id does not match an installed app"));
                }
            }
        }
        if let Some(direction) = call.get("direction") {
            if !matches!(direction.as_str(), Some("inbound" | "outbound")) {
                return Err(bad("call.direction", "must be inbound or outbound"));
            }
        }
        for key in ["call_started_at", "call_ended_at"] {
            time_field(call, key, "call.")?;
        }
        if int_field(call, "agent_id", "call.")?.is_some_and(|agent| !state.is_talk_agent(agent)) {
            return Err(bad("call.agent_id", "is not an agent with a Talk seat"));
        }
        if int_field(call, "end_user_id", "call.")?.is_some_and(|user| !state.is_user(user)) {
            return Err(bad("call.end_user_id", "is not a user"));
        }
        if int_field(call, "ticket_id", "call.")?
            .is_some_and(|ticket| !state.talk.tickets.iter().any(|t| t.id == ticket))
        {
            return Err(bad("call.ticket_id", "is not a ticket"));
        }
        Ok(())
    }

    fn create_call(&self, request: &SimRequest) -> SimResponse {
        let body = match json_body(request) {
            Ok(body) => body,
            Err(response) => return *response,
        };
        let mut state = lock(&self.state);
        let result = (|| {
            let top = body.as_object().ok_or_else(|| Box::new(not_found()))?;
            if let Some(response) = unknown_fields(top, &["call"], "") {
                return Err(Box::new(response));
            }
            let call = object_at(&body, "call")?;
            Self::check_call(&state, call, true)?;
            let comment = match call.get("comment") {
                None | Some(Value::Null) => None,
                Some(Value::Object(comment)) => {
                    if let Some(response) = unknown_fields(comment, CALL_COMMENT_FIELDS, "call.comment") {
                        return Err(Box::new(response));
                    }
                    let display = int_field(comment, "display_to_agent", "call.comment.")?;
                    if display.is_some_and(|agent| !state.is_talk_agent(agent)) {
                        return Err(bad("call.comment.display_to_agent", "is not a valid agent"));
                    }
                    Some((comment.clone(), display))
                }
                Some(_) => return Err(bad("call.comment", "must be an object")),
            };
            let id = state.talk.next_id();
            let mut fields: Map<String, Value> = call
                .iter()
                .filter(|(k, _)| k.as_str() != "comment")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            if let Some((comment, display)) = comment {
                let voice = ZendeskSimComment {
                    id: state.talk.next_id(),
                    kind: "VoiceComment".into(),
                    author_id: comment.get("author_id").and_then(Value::as_i64),
                    body: comment.get("title").and_then(Value::as_str).unwrap_or("Call").to_owned(),
                    public: false,
                    data: json!({ "call_id": id }),
                };
                let ticket_id = match fields.get("ticket_id").and_then(Value::as_i64) {
                    Some(ticket_id) => ticket_id,
                    None => {
                        // No ticket: Zendesk creates one for the voice comment (per the guide).
                        let ticket_id = state.talk.next_id();
                        state.talk.tickets.push(ZendeskSimTicket {
                            id: ticket_id,
                            subject: comment.get("title").and_then(Value::as_str).map(str::to_owned),
                            requester_id: fields.get("end_user_id").and_then(Value::as_i64),
                            assignee_id: fields.get("agent_id").and_then(Value::as_i64),
                            external_id: None,
                            tags: Vec::new(),
                            via_id: None,
                            comments: Vec::new(),
                        });
                        fields.insert("ticket_id".into(), json!(ticket_id));
                        ticket_id
                    }
                };
                if let Some(ticket) = state.ticket_mut(ticket_id) {
                    ticket.comments.push(voice);
                }
                if let Some(agent_id) = display {
                    state.talk.displays.push(ZendeskDisplay::Ticket { agent_id, ticket_id });
                }
            }
            fields.insert("created_at".into(), json!(now()));
            fields.insert("updated_at".into(), json!(now()));
            let record = ZendeskSimCall { id, fields };
            let answer = call_record_json(&record);
            state.talk.calls.push(record);
            Ok(answer)
        })();
        match result {
            Ok(call) => SimResponse::json(StatusCode::CREATED, &json!({ "call": call })),
            Err(response) => *response,
        }
    }

    fn update_call(&self, request: &SimRequest, call_id: i64) -> SimResponse {
        let body = match json_body(request) {
            Ok(body) => body,
            Err(response) => return *response,
        };
        let mut state = lock(&self.state);
        if !state.talk.calls.iter().any(|c| c.id == call_id) {
            return not_found();
        }
        let call = match object_at(&body, "call") {
            Ok(call) => call.clone(),
            Err(response) => return *response,
        };
        if call.contains_key("comment") {
            return invalid_record("call.comment", "comments are added on create");
        }
        if let Err(response) = Self::check_call(&state, &call, false) {
            return *response;
        }
        let Some(record) = state.talk.calls.iter_mut().find(|c| c.id == call_id) else { return not_found() };
        for (key, value) in call {
            record.fields.insert(key, value);
        }
        record.fields.insert("updated_at".into(), json!(now()));
        SimResponse::json(StatusCode::OK, &json!({ "call": call_record_json(record) }))
    }

    fn search_users(&self, request: &SimRequest, base_url: &Url) -> SimResponse {
        let Some(query) = request.query_value("query") else {
            return classic_error(StatusCode::BAD_REQUEST, "InvalidParameter", "query is required");
        };
        let state = lock(&self.state);
        let users: Vec<Value> = match query.strip_prefix("phone:") {
            Some(number) => {
                let wanted = digits(number.trim_matches('"'));
                state
                    .talk
                    .end_users
                    .iter()
                    // Zendesk search is fuzzy: a partial match on the digits also comes back.
                    .filter(|u| {
                        !wanted.is_empty()
                            && u.phone
                                .as_deref()
                                .is_some_and(|p| digits(p).contains(&wanted) || wanted.contains(&digits(p)))
                    })
                    .map(|u| user_json(u, base_url))
                    .collect()
            }
            None => {
                let needle = query.to_lowercase();
                state
                    .talk
                    .end_users
                    .iter()
                    .filter(|u| u.name.to_lowercase().contains(&needle))
                    .map(|u| user_json(u, base_url))
                    .collect()
            }
        };
        SimResponse::json(StatusCode::OK, &json!({ "users": users, "count": users.len(), "next_page": null }))
    }

    fn create_user(&self, request: &SimRequest, base_url: &Url) -> SimResponse {
        let body = match json_body(request) {
            Ok(body) => body,
            Err(response) => return *response,
        };
        let user = match object_at(&body, "user") {
            Ok(user) => user.clone(),
            Err(response) => return *response,
        };
        if let Some(response) = unknown_fields(&user, USER_FIELDS, "user") {
            return response;
        }
        let Some(name) = user.get("name").and_then(Value::as_str).filter(|n| !n.trim().is_empty()) else {
            return invalid_record("name", "Name: is too short (minimum one character)");
        };
        if user.get("role").and_then(Value::as_str).is_some_and(|role| role != "end-user") {
            return invalid_record("role", "only end users are created by the simulator");
        }
        let mut state = lock(&self.state);
        let created = ZendeskEndUser {
            id: state.talk.next_id(),
            name: name.to_owned(),
            phone: user.get("phone").and_then(Value::as_str).map(str::to_owned),
            email: user.get("email").and_then(Value::as_str).map(str::to_owned),
        };
        let answer = user_json(&created, base_url);
        state.talk.end_users.push(created);
        SimResponse::json(StatusCode::CREATED, &json!({ "user": answer }))
    }
}

fn call_record_json(call: &ZendeskSimCall) -> Value {
    let mut object = call.fields.clone();
    object.insert("id".into(), json!(call.id));
    Value::Object(object)
}

/// A snapshot of the TPE records of a [`ZendeskSim`](super::ZendeskSim).
#[derive(Debug, Clone, Default)]
pub struct ZendeskTalkRecords {
    /// End users (callers), in creation order.
    pub end_users: Vec<ZendeskEndUser>,
    /// Tickets created through the API, in creation order.
    pub tickets: Vec<ZendeskSimTicket>,
    /// Call records, in creation order.
    pub calls: Vec<ZendeskSimCall>,
    /// Every successful display (screen pop), in order.
    pub displays: Vec<ZendeskDisplay>,
}

impl ZendeskTalkRecords {
    /// Tickets by external id.
    pub fn tickets_by_external_id(&self) -> BTreeMap<String, Vec<&ZendeskSimTicket>> {
        let mut map: BTreeMap<String, Vec<&ZendeskSimTicket>> = BTreeMap::new();
        for ticket in &self.tickets {
            if let Some(external) = &ticket.external_id {
                map.entry(external.clone()).or_default().push(ticket);
            }
        }
        map
    }
}

impl super::ZendeskSim {
    /// The TPE records so far.
    pub fn talk_records(&self) -> ZendeskTalkRecords {
        let state = lock(&self.state);
        ZendeskTalkRecords {
            end_users: state.talk.end_users.clone(),
            tickets: state.talk.tickets.clone(),
            calls: state.talk.calls.clone(),
            displays: state.talk.displays.clone(),
        }
    }

    /// Add an end user (a known caller); returns its id.
    pub fn add_end_user(&self, name: &str, phone: Option<&str>, email: Option<&str>) -> i64 {
        let mut state = lock(&self.state);
        let id = state.talk.next_id();
        state.talk.end_users.push(ZendeskEndUser {
            id,
            name: name.to_owned(),
            phone: phone.map(str::to_owned),
            email: email.map(str::to_owned),
        });
        id
    }

    /// Take away (or give back) an agent's Talk seat: without one, the agent cannot be
    /// shown anything (404) nor be `display_to_agent` / a call's agent (422).
    pub fn set_talk_seat(&self, agent_id: i64, seat: bool) {
        let mut state = lock(&self.state);
        if seat {
            state.talk.without_seat.remove(&agent_id);
        } else {
            state.talk.without_seat.insert(agent_id);
        }
    }

    /// Only accept call records of this app id (any by default).
    pub fn set_talk_app_id(&self, app_id: Option<i64>) {
        lock(&self.state).talk.app_id = app_id;
    }
}
