//! Usedesk's JSON shapes, read tolerantly.
//!
//! Usedesk's documentation shows numbers as strings in some answers (`"chat_online_status":
//! "1"`, ids as `"2154861"`) and as numbers in others (`"user_id": 2154861`), and public
//! clients disagree on which fields are present. Every type here therefore:
//!
//! - reads ids as a string or a number (kept as a `String`);
//! - reads flags as `"0"`/`"1"`, `0`/`1`, `true`/`false` (or `null`, read as absent);
//! - reads ticket statuses as an open enum ([`TicketStatus::Other`] for unknown ids);
//! - ignores unknown fields and treats `null` lists and strings as empty.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

// ---------------------------------------------------------------------------------------
// Tolerant primitive readers
// ---------------------------------------------------------------------------------------

struct IdVisitor;

impl<'de> Visitor<'de> for IdVisitor {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an id as a string or an integer")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        if v.fract() == 0.0 && v.is_finite() && v.abs() < 9.0e15 {
            Ok(Some(format!("{v:.0}")))
        } else {
            Err(E::invalid_value(de::Unexpected::Float(v), &self))
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        let v = v.trim();
        Ok(if v.is_empty() { None } else { Some(v.to_owned()) })
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(IdVisitor)
    }
}

/// An id sent as a string or an integer; required.
pub(crate) fn id<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    d.deserialize_any(IdVisitor)?.ok_or_else(|| de::Error::custom("id is null or empty"))
}

/// An id sent as a string or an integer, `null` or empty read as absent.
pub(crate) fn opt_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    d.deserialize_option(IdVisitor)
}

struct FlagVisitor;

impl<'de> Visitor<'de> for FlagVisitor {
    type Value = Option<bool>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a flag: \"0\", \"1\", 0, 1, true or false")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        match v {
            0 => Ok(Some(false)),
            1 => Ok(Some(true)),
            _ => Err(E::invalid_value(de::Unexpected::Unsigned(v), &self)),
        }
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        match v {
            0 => Ok(Some(false)),
            1 => Ok(Some(true)),
            _ => Err(E::invalid_value(de::Unexpected::Signed(v), &self)),
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        match v.trim() {
            "1" | "true" => Ok(Some(true)),
            "0" | "false" => Ok(Some(false)),
            "" => Ok(None),
            _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
        }
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(FlagVisitor)
    }
}

/// A `"0"`/`"1"` (or boolean, or integer) flag; `null` read as absent.
pub(crate) fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    d.deserialize_option(FlagVisitor)
}

/// A `"0"`/`"1"` flag where absent or `null` means false.
pub(crate) fn flag_or_false<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(flag(d)?.unwrap_or(false))
}

/// A value whose `null` reads as its default (`null` lists, `null` names).
pub(crate) fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Text that may arrive as a string, a number or `null`.
pub(crate) fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    // Same rules as ids: strings kept (trimmed; empty = absent), numbers as text.
    d.deserialize_option(IdVisitor)
}

// ---------------------------------------------------------------------------------------
// Agents and groups
// ---------------------------------------------------------------------------------------

/// The `user_type` filter of `POST /users` (default on Usedesk's side: `employee`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum UserType {
    /// Administrators.
    Admin,
    /// Agents (Usedesk's default when `user_type` is not sent).
    Employee,
    /// Support-role users.
    Support,
}

impl UserType {
    /// Every user type, in the order [`UsedeskClient::all_users`](super::UsedeskClient::all_users)
    /// queries them.
    pub const ALL: [UserType; 3] = [Self::Admin, Self::Employee, Self::Support];

    /// The API's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Employee => "employee",
            Self::Support => "support",
        }
    }
}

/// A group as embedded in a user of `POST /users`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct UserGroup {
    /// Group id.
    #[serde(deserialize_with = "id")]
    pub id: String,
    /// Group name, exactly as spelled in Usedesk.
    #[serde(default, deserialize_with = "null_default")]
    pub name: String,
    /// Whether the group is deleted (`"0"`/`"1"`).
    #[serde(default, deserialize_with = "flag_or_false")]
    pub deleted: bool,
}

/// An agent from `POST /users`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct UsedeskUser {
    /// User id.
    #[serde(deserialize_with = "id")]
    pub id: String,
    /// Display name.
    #[serde(default, deserialize_with = "null_default")]
    pub name: String,
    /// E-mail address.
    #[serde(default, deserialize_with = "opt_text")]
    pub email: Option<String>,
    /// Position (job title).
    #[serde(default, deserialize_with = "opt_text")]
    pub position: Option<String>,
    /// Role (`admin`, `employee`, `support`).
    #[serde(default, deserialize_with = "opt_text")]
    pub role: Option<String>,
    /// Phone.
    #[serde(default, deserialize_with = "opt_text")]
    pub phone: Option<String>,
    /// Chat-section status: `"1"` online, `"0"` offline.
    #[serde(default, deserialize_with = "flag")]
    pub chat_online_status: Option<bool>,
    /// Ticket-section status (written as `ticket_online_status`, read as `online_status`).
    #[serde(default, deserialize_with = "flag")]
    pub online_status: Option<bool>,
    /// Groups the user belongs to (deleted ones included; see [`UserGroup::deleted`]).
    #[serde(default, deserialize_with = "null_default")]
    pub groups: Vec<UserGroup>,
}

/// A member as embedded in a group of `POST /groups`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct GroupMember {
    /// User id.
    #[serde(deserialize_with = "id")]
    pub id: String,
    /// Display name.
    #[serde(default, deserialize_with = "null_default")]
    pub name: String,
    /// E-mail.
    #[serde(default, deserialize_with = "opt_text")]
    pub email: Option<String>,
}

/// A group from `POST /groups`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct UsedeskGroup {
    /// Group id.
    #[serde(deserialize_with = "id")]
    pub id: String,
    /// Group name, exactly as spelled in Usedesk.
    #[serde(default, deserialize_with = "null_default")]
    pub name: String,
    /// Whether the group is deleted.
    #[serde(default, deserialize_with = "flag_or_false")]
    pub deleted: bool,
    /// Members.
    #[serde(default, deserialize_with = "null_default")]
    pub users: Vec<GroupMember>,
}

/// The answer to `POST /update/user`: `{"status":"success","user_id":2154861}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct UpdateUserResponse {
    /// `success` (the docs; one public client calls it `status_id`).
    #[serde(default, deserialize_with = "opt_text")]
    pub status: Option<String>,
    /// The updated user's id.
    #[serde(default, deserialize_with = "opt_id")]
    pub user_id: Option<String>,
}

// ---------------------------------------------------------------------------------------
// Tickets
// ---------------------------------------------------------------------------------------

/// A ticket status id, as an open enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(into = "u64")]
#[non_exhaustive]
pub enum TicketStatus {
    /// 1: Open.
    Open,
    /// 2: Solved ("executed").
    Solved,
    /// 3: Closed.
    Closed,
    /// 4: Deleted.
    Deleted,
    /// 5: On hold.
    OnHold,
    /// 6: Pending.
    Pending,
    /// 7: Spam.
    Spam,
    /// 8: New (the default on create).
    New,
    /// 9: Newsletter / mailing.
    Mailing,
    /// 10: Merged into another ticket.
    Merged,
    /// Any other id.
    Other(u64),
}

impl TicketStatus {
    /// The status for a numeric id.
    pub fn from_id(id: u64) -> Self {
        match id {
            1 => Self::Open,
            2 => Self::Solved,
            3 => Self::Closed,
            4 => Self::Deleted,
            5 => Self::OnHold,
            6 => Self::Pending,
            7 => Self::Spam,
            8 => Self::New,
            9 => Self::Mailing,
            10 => Self::Merged,
            other => Self::Other(other),
        }
    }

    /// The numeric id.
    pub fn id(self) -> u64 {
        match self {
            Self::Open => 1,
            Self::Solved => 2,
            Self::Closed => 3,
            Self::Deleted => 4,
            Self::OnHold => 5,
            Self::Pending => 6,
            Self::Spam => 7,
            Self::New => 8,
            Self::Mailing => 9,
            Self::Merged => 10,
            Self::Other(id) => id,
        }
    }

    /// Whether a new message from the client must open a new ticket rather than join this
    /// one: Closed, and also Deleted, Spam and Merged (none of them is a live
    /// conversation). Open, Solved, On hold, Pending, New, Mailing and unknown ids count
    /// as still open.
    pub fn is_closed(self) -> bool {
        matches!(self, Self::Closed | Self::Deleted | Self::Spam | Self::Merged)
    }
}

impl From<TicketStatus> for u64 {
    fn from(status: TicketStatus) -> u64 {
        status.id()
    }
}

impl<'de> Deserialize<'de> for TicketStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = id(d)?;
        text.parse::<u64>()
            .map(Self::from_id)
            .map_err(|_| de::Error::custom(format!("ticket status id must be an integer, got \"{text}\"")))
    }
}

/// `Option<TicketStatus>` reader (`null` as absent).
pub(crate) fn opt_status<'de, D: Deserializer<'de>>(d: D) -> Result<Option<TicketStatus>, D::Error> {
    match d.deserialize_option(IdVisitor)? {
        None => Ok(None),
        Some(text) => text
            .parse::<u64>()
            .map(|id| Some(TicketStatus::from_id(id)))
            .map_err(|_| de::Error::custom(format!("ticket status id must be an integer, got \"{text}\""))),
    }
}

/// A tag as Usedesk lists it: `{"name": "Twitter:Direct"}` or a bare string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagName(pub String);

impl<'de> Deserialize<'de> for TagName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::String(name) => Ok(Self(name)),
            Value::Object(map) => match map.get("name") {
                Some(Value::String(name)) => Ok(Self(name.clone())),
                _ => Err(de::Error::custom("tag object has no string `name`")),
            },
            _ => Err(de::Error::custom("tag must be a string or an object with `name`")),
        }
    }
}

/// One row of `POST /tickets`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TicketSummary {
    /// Ticket id.
    #[serde(deserialize_with = "id")]
    pub id: String,
    /// Subject.
    #[serde(default, deserialize_with = "null_default")]
    pub subject: String,
    /// Status id (some clients show it as `status`; see [`TicketSummary::status`]).
    #[serde(default, deserialize_with = "opt_status")]
    pub status_id: Option<TicketStatus>,
    /// The status under the name `status`, as one public client types the list row.
    #[serde(default, rename = "status")]
    pub status_alt: Option<Value>,
    /// Client id.
    #[serde(default, deserialize_with = "opt_id")]
    pub client_id: Option<String>,
    /// Client name.
    #[serde(default, deserialize_with = "opt_text")]
    pub client_name: Option<String>,
    /// Assigned agent.
    #[serde(default, deserialize_with = "opt_id")]
    pub assignee_id: Option<String>,
    /// Channel id.
    #[serde(default, deserialize_with = "opt_id")]
    pub channel_id: Option<String>,
    /// Creation time as Usedesk prints it (`YYYY-MM-DD HH:MM:SS`, UTC).
    #[serde(default, deserialize_with = "opt_text")]
    pub published_at: Option<String>,
    /// Tags.
    #[serde(default, deserialize_with = "null_default")]
    pub tags: Vec<TagName>,
    /// Our dedupe key, when the list happens to carry it (the documented list fields do
    /// not include it; [`TicketDetails`] does).
    #[serde(default, deserialize_with = "opt_text")]
    pub additional_id: Option<String>,
    /// Priority as Usedesk spells it (`low`, `medium`, `urgent`, `extreme`; other values
    /// kept verbatim).
    #[serde(default, deserialize_with = "opt_text")]
    pub priority: Option<String>,
    /// Last change as Usedesk prints it (`YYYY-MM-DD HH:MM:SS`, UTC).
    #[serde(default, deserialize_with = "opt_text")]
    pub last_updated_at: Option<String>,
    /// The text (HTML) of the last comment, when the list carries it.
    #[serde(default, deserialize_with = "opt_text")]
    pub last_comment: Option<String>,
}

impl TicketSummary {
    /// The status, from `status_id` or else a numeric `status`.
    pub fn status(&self) -> Option<TicketStatus> {
        self.status_id.or_else(|| match &self.status_alt {
            Some(Value::Number(n)) => n.as_u64().map(TicketStatus::from_id),
            Some(Value::String(s)) => s.trim().parse::<u64>().ok().map(TicketStatus::from_id),
            _ => None,
        })
    }
}

/// The `ticket` object of `POST /ticket`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TicketRecord {
    /// Ticket id.
    #[serde(deserialize_with = "id")]
    pub id: String,
    /// Status id.
    #[serde(default, deserialize_with = "opt_status")]
    pub status_id: Option<TicketStatus>,
    /// Subject.
    #[serde(default, deserialize_with = "null_default")]
    pub subject: String,
    /// Client id.
    #[serde(default, deserialize_with = "opt_id")]
    pub client_id: Option<String>,
    /// Assigned agent.
    #[serde(default, deserialize_with = "opt_id")]
    pub assignee_id: Option<String>,
    /// Channel id.
    #[serde(default, deserialize_with = "opt_id")]
    pub channel_id: Option<String>,
    /// The `additional_id` given on create (our dedupe key).
    #[serde(default, deserialize_with = "opt_text")]
    pub additional_id: Option<String>,
    /// Creation time as Usedesk prints it.
    #[serde(default, deserialize_with = "opt_text")]
    pub published_at: Option<String>,
}

/// A comment of `POST /ticket`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TicketComment {
    /// Comment id.
    #[serde(deserialize_with = "id")]
    pub id: String,
    /// The message (HTML).
    #[serde(default, deserialize_with = "null_default")]
    pub message: String,
    /// `user`, `client` or `trigger`.
    #[serde(default, deserialize_with = "opt_text")]
    pub from: Option<String>,
    /// `public` or `private`.
    #[serde(default, rename = "type", deserialize_with = "opt_text")]
    pub kind: Option<String>,
    /// Writing agent.
    #[serde(default, deserialize_with = "opt_id")]
    pub user_id: Option<String>,
    /// Writing client.
    #[serde(default, deserialize_with = "opt_id")]
    pub client_id: Option<String>,
    /// When it was published.
    #[serde(default, deserialize_with = "opt_text")]
    pub published_at: Option<String>,
}

/// The answer to `POST /ticket`: the ticket, its comments and tags.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TicketDetails {
    /// The ticket.
    pub ticket: TicketRecord,
    /// Its comments (the first message included).
    #[serde(default, deserialize_with = "null_default")]
    pub comments: Vec<TicketComment>,
    /// Its tags.
    #[serde(default, deserialize_with = "null_default")]
    pub tags: Vec<TagName>,
}

/// The answer to `POST /create/ticket`: `{status, ticket_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CreatedTicket {
    /// `success`.
    #[serde(default, deserialize_with = "opt_text")]
    pub status: Option<String>,
    /// The new ticket's id.
    #[serde(deserialize_with = "id")]
    pub ticket_id: String,
    /// The client id, when the answer carries one (not documented; read if present).
    #[serde(default, deserialize_with = "opt_id")]
    pub client_id: Option<String>,
}

/// The answer to `POST /create/comment`: `{status, comment_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CreatedComment {
    /// `success`.
    #[serde(default, deserialize_with = "opt_text")]
    pub status: Option<String>,
    /// The new comment's id.
    #[serde(default, deserialize_with = "opt_id")]
    pub comment_id: Option<String>,
}

// ---------------------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------------------

/// Reads a list of contact values that Usedesk sends in one of several shapes: a string
/// (several values separated by commas), an array of strings, or an array of objects
/// carrying the value under `key` (`{"email": …}`, `{"phone": …}`). `null` is empty; blank
/// values are dropped.
fn contact_values<'de, D: Deserializer<'de>>(d: D, key: &str) -> Result<Vec<String>, D::Error> {
    fn push(out: &mut Vec<String>, text: &str) {
        for part in text.split(',') {
            let part = part.trim();
            if !part.is_empty() {
                out.push(part.to_owned());
            }
        }
    }
    let mut out = Vec::new();
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => {}
        Some(Value::String(text)) => push(&mut out, &text),
        Some(Value::Number(number)) => out.push(number.to_string()),
        Some(Value::Array(items)) => {
            for item in items {
                match item {
                    Value::String(text) => push(&mut out, &text),
                    Value::Number(number) => out.push(number.to_string()),
                    Value::Object(map) => match map.get(key) {
                        Some(Value::String(text)) => push(&mut out, text),
                        Some(Value::Number(number)) => out.push(number.to_string()),
                        _ => {}
                    },
                    _ => {}
                }
            }
        }
        Some(_) => return Err(de::Error::custom(format!("expected {key}s as a string or a list"))),
    }
    Ok(out)
}

fn email_values<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    contact_values(d, "email")
}

fn phone_values<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    contact_values(d, "phone")
}

fn id_values<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    contact_values(d, "id")
}

/// A client (customer) from `POST /clients`.
///
/// The listing's shape is not in Usedesk's docs; a public client types it as `{id, name,
/// tickets, phone, emails}` with `emails` and `phone` as strings (UNCONFIRMED), while the
/// full client object carries `emails: [{email}]` and `phones: [{phone}]`. Both shapes are
/// read: a string is split on commas, objects are read by their `email` / `phone` key.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ClientSummary {
    /// Client id.
    #[serde(deserialize_with = "id")]
    pub id: String,
    /// Name.
    #[serde(default, deserialize_with = "null_default")]
    pub name: String,
    /// E-mail addresses.
    #[serde(default, deserialize_with = "email_values")]
    pub emails: Vec<String>,
    /// Phone numbers from `phones` (the full object's list).
    #[serde(default, deserialize_with = "phone_values")]
    pub phones: Vec<String>,
    /// Phone numbers from `phone` (the listing's string).
    #[serde(default, deserialize_with = "phone_values")]
    pub phone: Vec<String>,
    /// Ids of the client's tickets.
    #[serde(default, deserialize_with = "id_values")]
    pub tickets: Vec<String>,
    /// Job title.
    #[serde(default, deserialize_with = "opt_text")]
    pub position: Option<String>,
    /// Avatar URL.
    #[serde(default, deserialize_with = "opt_text")]
    pub avatar: Option<String>,
    /// Creation time as Usedesk prints it, when present.
    #[serde(default, deserialize_with = "opt_text")]
    pub created_at: Option<String>,
    /// Last change as Usedesk prints it, when present.
    #[serde(default, deserialize_with = "opt_text")]
    pub updated_at: Option<String>,
}

impl ClientSummary {
    /// Every phone number of `phones` and `phone`, without repeats, in order.
    pub fn phone_numbers(&self) -> Vec<String> {
        // A set of the numbers seen keeps this linear: a client with 40,000 phones (a
        // hostile or broken answer) must not cost seconds.
        let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
        self.phones.iter().chain(&self.phone).filter(|number| seen.insert(number.as_str())).cloned().collect()
    }
}

/// A channel from `POST /channels`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct UsedeskChannel {
    /// Channel id.
    #[serde(deserialize_with = "id")]
    pub channel_id: String,
    /// Channel name.
    #[serde(default, deserialize_with = "null_default")]
    pub channel_name: String,
    /// `email`, `chat`, `twitter`, `api`, …
    #[serde(default, deserialize_with = "opt_text")]
    pub channel_type: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_are_linear_and_keep_order() {
        // 40,000 phones (half of them repeats), the issue's case: the former quadratic
        // dedupe needed ~10^9 comparisons (5.2 s); a set makes it one pass.
        let phones: Vec<serde_json::Value> =
            (0..40_000u32).map(|i| serde_json::json!({"phone": format!("+1555{:07}", i % 20_000)})).collect();
        let client: ClientSummary = serde_json::from_value(
            serde_json::json!({"id": 7, "phones": phones, "phone": "+15550000001, +1999"}),
        )
        .unwrap();
        let numbers = client.phone_numbers();
        assert_eq!(numbers.len(), 20_001);
        assert_eq!(numbers[0], "+15550000000");
        assert_eq!(numbers[19_999], "+15550019999");
        assert_eq!(numbers[20_000], "+1999", "repeats dropped, first occurrence kept, in order");
    }

    #[test]
    fn users_read_strings_numbers_and_nulls() {
        let users: Vec<UsedeskUser> = serde_json::from_str(
            r#"[{"id":"2154861","name":"Ana","email":"ana@example.com","chat_online_status":"1",
                 "online_status":0,"groups":[{"id":3,"name":"Chat team","deleted":"0","pivot":{}}],
                 "unknown":{"x":1}},
                {"id":7,"name":null,"email":null,"chat_online_status":null,"groups":null}]"#,
        )
        .unwrap();
        assert_eq!(users[0].id, "2154861");
        assert_eq!(users[0].chat_online_status, Some(true));
        assert_eq!(users[0].online_status, Some(false));
        assert_eq!(users[0].groups[0].id, "3");
        assert!(!users[0].groups[0].deleted);
        assert_eq!(users[1].id, "7");
        assert_eq!(users[1].name, "");
        assert_eq!(users[1].chat_online_status, None);
        assert!(users[1].groups.is_empty());
    }

    #[test]
    fn statuses_are_an_open_enum() {
        let s: TicketStatus = serde_json::from_str("\"3\"").unwrap();
        assert_eq!(s, TicketStatus::Closed);
        let s: TicketStatus = serde_json::from_str("42").unwrap();
        assert_eq!(s, TicketStatus::Other(42));
        for closed in [3, 4, 7, 10] {
            assert!(TicketStatus::from_id(closed).is_closed(), "{closed}");
        }
        for open in [1, 2, 5, 6, 8, 9, 11] {
            assert!(!TicketStatus::from_id(open).is_closed(), "{open}");
        }
        assert!(serde_json::from_str::<TicketStatus>("\"open\"").is_err());
    }

    #[test]
    fn tags_read_as_objects_or_strings() {
        let tags: Vec<TagName> =
            serde_json::from_str(r#"[{"name":"Twitter: Mention"},"Twitter:Direct"]"#).unwrap();
        assert_eq!(tags, vec![TagName("Twitter: Mention".into()), TagName("Twitter:Direct".into())]);
    }

    #[test]
    fn clients_read_listing_and_object_shapes() {
        let clients: Vec<ClientSummary> = serde_json::from_str(
            r#"[{"id":"5","name":"Maria","emails":"m@example.com, m2@example.com","phone":"+100",
                 "tickets":[1,"2"]},
                {"id":6,"name":null,"emails":[{"email":"x@example.com"}],"phones":[{"phone":"+200"},"+200"],
                 "phone":null,"tickets":null}]"#,
        )
        .unwrap();
        assert_eq!(clients[0].emails, vec!["m@example.com", "m2@example.com"]);
        assert_eq!(clients[0].phone_numbers(), vec!["+100"]);
        assert_eq!(clients[0].tickets, vec!["1", "2"]);
        assert_eq!(clients[1].name, "");
        assert_eq!(clients[1].emails, vec!["x@example.com"]);
        assert_eq!(clients[1].phone_numbers(), vec!["+200"]);
        assert!(serde_json::from_str::<ClientSummary>(r#"{"id":1,"emails":{"a":1}}"#).is_err());
    }

    #[test]
    fn bad_flags_are_refused() {
        assert!(serde_json::from_str::<UsedeskUser>(r#"{"id":1,"chat_online_status":"maybe"}"#).is_err());
    }
}
