//! The wire contract between Talkdesk and the bridge: request and response bodies of the four
//! bridge endpoints and of the action executors, with Talkdesk's field names.
//!
//! Every request is a POST with a JSON body carrying `auth` (the stored credential fields)
//! and, depending on the endpoint, `meta` and `data`. Requests are read tolerantly: missing
//! `meta` or `data` read as empty, opaque values (checkpoints, offsets, ids) may arrive as
//! strings or numbers, and unknown fields are ignored.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// The credential fields Talkdesk sends in `auth`, keyed by `field_name` (plus any extra
/// fields the auth validation answer asked Talkdesk to store).
///
/// Values are held as secrets: `Debug` shows only the field names. Strings, numbers and
/// booleans are accepted and kept as text; `null` means "absent"; arrays and objects are
/// refused. Talkdesk authenticates to the bridge only through these values (no request
/// signature or IP allow-list is documented; UNCONFIRMED).
#[derive(Clone, Default)]
pub struct AuthFields {
    values: BTreeMap<String, SecretString>,
}

impl AuthFields {
    /// No fields.
    pub fn new() -> Self {
        Self::default()
    }

    /// These fields plus `name` = `value`.
    pub fn with(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.insert(name, value);
        self
    }

    /// Set a field.
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.values.insert(name.into(), SecretString::from(value.into()));
    }

    /// A field as a secret.
    pub fn get(&self, name: &str) -> Option<&SecretString> {
        self.values.get(name)
    }

    /// A field's value in clear text; use it only to authenticate upstream.
    pub fn expose(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(ExposeSecret::expose_secret)
    }

    /// True when the field is present and not blank.
    pub fn has(&self, name: &str) -> bool {
        self.expose(name).is_some_and(|value| !value.trim().is_empty())
    }

    /// The field names present.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// True when no field is present.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Replace every credential value (of four characters or more) that occurs in `text`
    /// with `[redacted]`, so that a message built from an upstream answer never echoes a
    /// credential back.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for value in self.values.values() {
            let value = value.expose_secret();
            if value.chars().count() >= 4 {
                out = out.replace(value, "[redacted]");
            }
        }
        out
    }
}

impl std::fmt::Debug for AuthFields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthFields").field("names", &self.values.keys().collect::<Vec<_>>()).finish()
    }
}

impl<'de> Deserialize<'de> for AuthFields {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Read as a generic value first so that no error message can quote a credential.
        let raw = match Option::<Value>::deserialize(deserializer)? {
            None | Some(Value::Null) => serde_json::Map::new(),
            Some(Value::Object(map)) => map,
            Some(_) => return Err(D::Error::custom("`auth` must be a JSON object of credential fields")),
        };
        let mut fields = AuthFields::new();
        for (name, value) in raw {
            match value {
                Value::Null => {}
                Value::String(text) => fields.insert(name, text),
                Value::Number(number) => fields.insert(name, number.to_string()),
                Value::Bool(flag) => fields.insert(name, flag.to_string()),
                Value::Array(_) | Value::Object(_) => {
                    // The message names the field, never its value.
                    return Err(D::Error::custom(format!(
                        "credential field `{name}` must be a string, number or boolean"
                    )));
                }
            }
        }
        Ok(fields)
    }
}

/// Reads an opaque value (string, number or boolean) as text; `null` or absent is `None`.
pub(crate) fn opaque_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    match Option::<Value>::deserialize(deserializer)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(Value::Number(number)) => Ok(Some(number.to_string())),
        Some(Value::Bool(flag)) => Ok(Some(flag.to_string())),
        Some(_) => Err(D::Error::custom("expected a string or a number")),
    }
}

/// Reads a non-negative integer sent as a number or a numeric string; `null`, absent or an
/// empty string is `None`.
fn tolerant_offset<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    match Option::<Value>::deserialize(deserializer)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(number)) => {
            number.as_u64().map(Some).ok_or_else(|| D::Error::custom("expected a non-negative integer"))
        }
        Some(Value::String(text)) if text.trim().is_empty() => Ok(None),
        Some(Value::String(text)) => {
            text.trim().parse().map(Some).map_err(|_| D::Error::custom("expected a non-negative integer"))
        }
        Some(_) => Err(D::Error::custom("expected a non-negative integer")),
    }
}

fn null_as_empty<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

/// Body of an auth validation call: `{"auth": {…}}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AuthValidationRequest {
    /// The credential fields to validate.
    #[serde(default)]
    pub auth: AuthFields,
}

/// `meta` of a contact synchronization call.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ContactSyncMeta {
    /// The checkpoint returned by the previous run; absent on the initial full sync.
    #[serde(default, deserialize_with = "opaque_text")]
    pub synchronization_checkpoint: Option<String>,
    /// The `next_offset` of the previous page; absent on the first page.
    #[serde(default, deserialize_with = "opaque_text")]
    pub offset: Option<String>,
    /// The `context` returned with the previous page, if any.
    #[serde(default)]
    pub context: Option<Value>,
}

/// Body of a contact synchronization call.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ContactSyncRequest {
    /// The credential fields.
    #[serde(default)]
    pub auth: AuthFields,
    /// Checkpoint, offset and context.
    #[serde(default)]
    pub meta: ContactSyncMeta,
}

/// One contact as Talkdesk stores it. `id` and `name` are mandatory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// The contact's id in the bridged system; Talkdesk sends it back as
    /// `contact_external_id`.
    #[serde(deserialize_with = "required_opaque")]
    pub id: String,
    /// Display name.
    pub name: String,
    /// Company.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    /// Job title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// E-mail addresses.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub emails: Vec<String>,
    /// Phone numbers.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub phones: Vec<String>,
    /// Photo URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo_url: Option<String>,
    /// Postal address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Web sites.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub websites: Vec<String>,
    /// Twitter handle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub twitter: Option<String>,
    /// Link to the contact in the bridged system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl Contact {
    /// A contact with only its id and name.
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            company: None,
            title: None,
            emails: Vec::new(),
            phones: Vec::new(),
            photo_url: None,
            address: None,
            websites: Vec::new(),
            twitter: None,
            url: None,
        }
    }
}

fn required_opaque<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    opaque_text(deserializer)?.ok_or_else(|| D::Error::custom("must not be null"))
}

/// One page of contacts: the answer to a contact synchronization call.
///
/// While `next_offset` is present Talkdesk immediately asks for the next page with
/// `meta.offset = next_offset` (and `context`); on the last page `next_offset` is omitted and
/// `synchronization_checkpoint` is kept for the next, incremental run. Both are opaque to
/// Talkdesk. Sort contacts ascending by whatever backs the checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ContactsPage {
    /// The contacts of this page.
    pub contacts: Vec<Contact>,
    /// The checkpoint to send on the next run. When a backend leaves it `None`, the router
    /// answers with the checkpoint it was sent, so an empty run never loses the checkpoint.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "opaque_text")]
    pub synchronization_checkpoint: Option<String>,
    /// The offset of the next page; `None` (omitted) on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "opaque_text")]
    pub next_offset: Option<String>,
    /// Any JSON the backend wants back with the next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<Value>,
}

/// `meta` of an interaction retrieval call.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct InteractionMeta {
    /// The interaction types the account wants, e.g. `["ticket"]`.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub interaction_types: Vec<String>,
}

/// `data` of an interaction retrieval call: the contact a Talkdesk user opened.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct InteractionContact {
    /// The contact id the bridge returned during contact synchronization, if the contact
    /// came from the bridge.
    #[serde(default, deserialize_with = "opaque_text")]
    pub contact_external_id: Option<String>,
    /// The contact's name.
    #[serde(default, deserialize_with = "opaque_text")]
    pub contact_name: Option<String>,
    /// The contact's e-mail addresses.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub contact_emails: Vec<String>,
    /// The contact's phone numbers.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub contact_phones: Vec<String>,
}

/// Body of an interaction retrieval call.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct InteractionRetrievalRequest {
    /// The credential fields.
    #[serde(default)]
    pub auth: AuthFields,
    /// The wanted interaction types.
    #[serde(default)]
    pub meta: InteractionMeta,
    /// The contact.
    #[serde(default)]
    pub data: InteractionContact,
}

open_enum! {
    /// An interaction's priority as Talkdesk shows it.
    pub enum InteractionPriority {
        /// No priority.
        None => "none",
        /// Low.
        Low => "low",
        /// Normal.
        Normal => "normal",
        /// High.
        High => "high",
        /// Urgent.
        Urgent => "urgent",
    }
}

open_enum! {
    /// An interaction's status as Talkdesk shows it.
    pub enum InteractionStatus {
        /// New.
        New => "new",
        /// Open.
        Open => "open",
        /// Pending.
        Pending => "pending",
        /// Solved.
        Solved => "solved",
        /// Closed.
        Closed => "closed",
    }
}

/// One interaction (e.g. a ticket) of a contact. `id`, `subject`, `date` and `type` are
/// mandatory; `type` must be one of the requested interaction types (the router drops the
/// others).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interaction {
    /// The interaction's id in the bridged system.
    #[serde(deserialize_with = "required_opaque")]
    pub id: String,
    /// Subject line.
    pub subject: String,
    /// Longer description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// When it happened; written as `2012-11-21 17:53:51 UTC` like Talkdesk's example, read
    /// in that form or as RFC 3339.
    #[serde(serialize_with = "write_talkdesk_date", deserialize_with = "read_talkdesk_date")]
    pub date: DateTime<Utc>,
    /// Link to the interaction in the bridged system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The interaction type, e.g. `ticket`.
    #[serde(rename = "type")]
    pub interaction_type: String,
    /// Priority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<InteractionPriority>,
    /// Status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<InteractionStatus>,
}

const TALKDESK_DATE: &str = "%Y-%m-%d %H:%M:%S UTC";

fn write_talkdesk_date<S: Serializer>(date: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&date.format(TALKDESK_DATE).to_string())
}

fn read_talkdesk_date<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
    let text = String::deserialize(deserializer)?;
    if let Ok(naive) = NaiveDateTime::parse_from_str(&text, TALKDESK_DATE) {
        return Ok(naive.and_utc());
    }
    DateTime::parse_from_rfc3339(&text)
        .map(|date| date.with_timezone(&Utc))
        .map_err(|_| D::Error::custom(format!("`{text}` is not a date like `2012-11-21 17:53:51 UTC`")))
}

/// `meta` of an agent synchronization call.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AgentSyncMeta {
    /// The `next_offset` of the previous page; `null` or absent on the first call. A numeric
    /// string is accepted too.
    #[serde(default, deserialize_with = "tolerant_offset")]
    pub offset: Option<u64>,
}

/// Body of an agent synchronization call.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AgentSyncRequest {
    /// The credential fields.
    #[serde(default)]
    pub auth: AuthFields,
    /// The offset.
    #[serde(default)]
    pub meta: AgentSyncMeta,
}

/// One agent of the bridged system. Talkdesk matches agents by e-mail and later sends `id`
/// back as `meta.agent_external_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TalkdeskAgent {
    /// The agent's id in the bridged system.
    #[serde(deserialize_with = "required_opaque")]
    pub id: String,
    /// Display name.
    pub name: String,
    /// E-mail address (the matching key).
    pub email: String,
}

/// One page of agents: the answer to an agent synchronization call. `next_offset` is present
/// while more pages remain and omitted on the last page.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AgentsPage {
    /// The agents of this page.
    pub agents: Vec<TalkdeskAgent>,
    /// The offset of the next page; `None` (omitted) on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_offset: Option<u64>,
}

/// `meta` of an action execution.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionMeta {
    /// Present when the action runs in the scope of a contact synced through the bridge.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "opaque_text")]
    pub contact_external_id: Option<String>,
    /// Present when the executing agent was synced through the bridge.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "opaque_text")]
    pub agent_external_id: Option<String>,
}

/// Body of an action execution.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ActionRequest {
    /// The credential fields.
    #[serde(default)]
    pub auth: AuthFields,
    /// The contact and agent scope.
    #[serde(default)]
    pub meta: ActionMeta,
    /// Input values keyed by input `key`; validate them with
    /// [`ActionDefinition::validate_data`](super::ActionDefinition::validate_data).
    #[serde(default, deserialize_with = "object_or_null")]
    pub data: serde_json::Map<String, Value>,
}

fn object_or_null<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<serde_json::Map<String, Value>, D::Error> {
    Ok(Option::<serde_json::Map<String, Value>>::deserialize(deserializer)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_fields_never_show_values() {
        let auth: AuthFields =
            serde_json::from_str(r#"{"account": "acme", "token": "s3cr3t-token", "n": 7}"#).unwrap();
        let debug = format!("{auth:?}");
        assert!(debug.contains("token") && !debug.contains("s3cr3t"));
        assert_eq!(auth.expose("n"), Some("7"));
        assert_eq!(auth.redact("bad token s3cr3t-token"), "bad token [redacted]");
        let error = serde_json::from_str::<AuthFields>(r#"{"token": {"x": "s3cr3t"}}"#).unwrap_err();
        assert!(error.to_string().contains("`token`") && !error.to_string().contains("s3cr3t"));
        let error = serde_json::from_str::<AuthFields>(r#""s3cr3t""#).unwrap_err();
        assert!(!error.to_string().contains("s3cr3t"));
    }

    #[test]
    fn interaction_dates_read_both_forms() {
        let json = r#"{"id": 5, "subject": "s", "date": "2012-11-21 17:53:51 UTC", "type": "ticket",
                       "priority": "critical", "status": "open"}"#;
        let interaction: Interaction = serde_json::from_str(json).unwrap();
        assert_eq!(interaction.id, "5");
        assert_eq!(interaction.priority, Some(InteractionPriority::Other("critical".into())));
        let written = serde_json::to_value(&interaction).unwrap();
        assert_eq!(written["date"], "2012-11-21 17:53:51 UTC");
        assert_eq!(written["priority"], "critical");
        let json = r#"{"id": "5", "subject": "s", "date": "2012-11-21T17:53:51Z", "type": "ticket"}"#;
        assert_eq!(serde_json::from_str::<Interaction>(json).unwrap().date, interaction.date);
    }

    #[test]
    fn agent_offsets_are_tolerant() {
        let request: AgentSyncRequest = serde_json::from_str(r#"{"meta": {"offset": "4"}}"#).unwrap();
        assert_eq!(request.meta.offset, Some(4));
        let request: AgentSyncRequest = serde_json::from_str(r#"{"meta": {"offset": null}}"#).unwrap();
        assert_eq!(request.meta.offset, None);
        assert!(serde_json::from_str::<AgentSyncRequest>(r#"{"meta": {"offset": -1}}"#).is_err());
    }
}
