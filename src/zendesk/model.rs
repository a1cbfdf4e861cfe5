//! Serde types for the Zendesk endpoints deskbridge uses, written to be tolerant.
//!
//! Zendesk ids are `i64` (they exceed 32 bits, e.g. `16765840571292`). Where the reference
//! says ids may arrive as strings (JSON:API documents, webhook `detail`, status ids in event
//! fixtures) the fields accept a string or a number. Unknown fields are ignored everywhere;
//! optional fields default when absent.

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::excerpt;
use crate::http::{DefaultErrorInterpreter, ErrorInterpreter, ProviderError};

/// An `i64` given as a JSON number or as a numeric string (`16765840571292` or
/// `"16765840571292"`).
pub fn string_or_i64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Number(i64),
        Text(String),
    }
    match Raw::deserialize(deserializer)? {
        Raw::Number(number) => Ok(number),
        Raw::Text(text) => text.trim().parse().map_err(|_| {
            de::Error::custom(format!("expected an integer id, got \"{}\"", excerpt(&text, 40)))
        }),
    }
}

/// Like [`string_or_i64`], for an optional value (`null` or absent gives `None`).
pub fn option_string_or_i64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Number(i64),
        Text(String),
    }
    match Option::<Raw>::deserialize(deserializer)? {
        None => Ok(None),
        Some(Raw::Number(number)) => Ok(Some(number)),
        Some(Raw::Text(text)) if text.trim().is_empty() => Ok(None),
        Some(Raw::Text(text)) => text.trim().parse().map(Some).map_err(|_| {
            de::Error::custom(format!("expected an integer id, got \"{}\"", excerpt(&text, 40)))
        }),
    }
}

/// A list of `i64` ids, each a number or a numeric string.
fn vec_string_or_i64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<i64>, D::Error> {
    #[derive(Deserialize)]
    struct Id(#[serde(deserialize_with = "string_or_i64")] i64);
    let ids: Option<Vec<Id>> = Option::deserialize(deserializer)?;
    Ok(ids.unwrap_or_default().into_iter().map(|Id(id)| id).collect())
}

/// `meta` of a cursor-paginated answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct CursorMeta {
    /// Whether another page follows.
    #[serde(default)]
    pub has_more: bool,
    /// The cursor to send as `page[after]` for the next page.
    #[serde(default)]
    pub after_cursor: Option<String>,
    /// The cursor to send as `page[before]` for the previous page.
    #[serde(default)]
    pub before_cursor: Option<String>,
}

/// `links` of a cursor-paginated answer (absolute URLs, `null` when there is none).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct CursorLinks {
    /// The next page.
    #[serde(default)]
    pub next: Option<String>,
    /// The previous page.
    #[serde(default)]
    pub prev: Option<String>,
}

/// A Zendesk user (`/api/v2/users`), the fields deskbridge reads.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct User {
    /// User id.
    #[serde(deserialize_with = "string_or_i64")]
    pub id: i64,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// E-mail address (absent for some end users).
    #[serde(default)]
    pub email: Option<String>,
    /// `end-user`, `agent` or `admin`.
    #[serde(default)]
    pub role: Option<String>,
    /// Whether the user is active (not deleted).
    #[serde(default)]
    pub active: Option<bool>,
    /// Whether the user is suspended.
    #[serde(default)]
    pub suspended: Option<bool>,
    /// The user's default group.
    #[serde(default, deserialize_with = "option_string_or_i64")]
    pub default_group_id: Option<i64>,
}

/// One page of `GET /api/v2/users`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct UsersPage {
    /// The users.
    #[serde(default)]
    pub users: Vec<User>,
    /// Cursor meta.
    #[serde(default)]
    pub meta: Option<CursorMeta>,
    /// Cursor links.
    #[serde(default)]
    pub links: Option<CursorLinks>,
}

/// One page of the cursor-based incremental user export
/// (`GET /api/v2/incremental/users/cursor.json`): the users whose record changed, oldest
/// first, every role included.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct IncrementalUsersPage {
    /// The changed users.
    #[serde(default)]
    pub users: Vec<User>,
    /// Where to continue (also on the last page: the next export starts there).
    #[serde(default)]
    pub after_cursor: Option<String>,
    /// True on the last page of what has changed so far.
    #[serde(default)]
    pub end_of_stream: bool,
}

/// A group (`/api/v2/groups`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct ZendeskGroup {
    /// Group id.
    #[serde(deserialize_with = "string_or_i64")]
    pub id: i64,
    /// Name, exactly as Zendesk spells it.
    #[serde(default)]
    pub name: String,
    /// Whether the group is deleted.
    #[serde(default)]
    pub deleted: bool,
}

/// One page of `GET /api/v2/groups`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct GroupsPage {
    /// The groups.
    #[serde(default)]
    pub groups: Vec<ZendeskGroup>,
    /// Cursor meta.
    #[serde(default)]
    pub meta: Option<CursorMeta>,
    /// Cursor links.
    #[serde(default)]
    pub links: Option<CursorLinks>,
}

/// A group membership (`/api/v2/group_memberships`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct GroupMembership {
    /// Membership id.
    #[serde(deserialize_with = "string_or_i64")]
    pub id: i64,
    /// The member.
    #[serde(deserialize_with = "string_or_i64")]
    pub user_id: i64,
    /// The group.
    #[serde(deserialize_with = "string_or_i64")]
    pub group_id: i64,
    /// Whether it is the user's default group.
    #[serde(default)]
    pub default: bool,
}

/// One page of `GET /api/v2/group_memberships`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct GroupMembershipsPage {
    /// The memberships.
    #[serde(default)]
    pub group_memberships: Vec<GroupMembership>,
    /// Cursor meta.
    #[serde(default)]
    pub meta: Option<CursorMeta>,
    /// Cursor links.
    #[serde(default)]
    pub links: Option<CursorLinks>,
}

/// Per-channel states of a custom unified status (`online`, `away`, `transfers_only`,
/// `offline`), as Zendesk spells them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct StatusChannels {
    /// Talk channel state: what the Talk availability reads while the status is set.
    #[serde(default)]
    pub talk: Option<String>,
    /// Messaging channel state.
    #[serde(default)]
    pub messaging: Option<String>,
    /// Support (e-mail tickets) channel state.
    #[serde(default)]
    pub support: Option<String>,
}

/// A unified agent status: one of the defaults or a custom one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnifiedStatus {
    /// The account's id for this status. **Never hard-code it**: the documentation
    /// contradicts itself (online = 1 in one example, 3 in the table); resolve by name.
    pub id: i64,
    /// Name as Zendesk spells it (`online`, `In a meeting`).
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Per-channel states (custom statuses; absent on the defaults).
    pub channels: Option<StatusChannels>,
    /// True for a custom status (from the `custom` array).
    pub custom: bool,
}

/// One entry of `default[]` / `custom[]` as sent.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct RawUnifiedStatus {
    #[serde(deserialize_with = "string_or_i64")]
    pub id: i64,
    #[serde(default)]
    pub attributes: Option<RawStatusAttributes>,
    /// Some clients see `name` at the top level.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct RawStatusAttributes {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub channels: Option<StatusChannels>,
}

impl RawUnifiedStatus {
    pub(crate) fn into_status(self, custom: bool) -> UnifiedStatus {
        let attributes = self.attributes.unwrap_or_default();
        UnifiedStatus {
            id: self.id,
            name: attributes.name.or(self.name).unwrap_or_default(),
            description: attributes.description.or(self.description),
            channels: attributes.channels,
            custom,
        }
    }
}

/// `GET /api/v2/agent_availabilities/agent_statuses`: `default[]` and `custom[]` (also
/// accepted as `default_statuses` / `custom_statuses`, as one public client reads them).
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct AgentStatusesPage {
    #[serde(default, alias = "default_statuses")]
    pub default: Vec<RawUnifiedStatus>,
    #[serde(default, alias = "custom_statuses")]
    pub custom: Vec<RawUnifiedStatus>,
    #[serde(default)]
    pub meta: Option<CursorMeta>,
    #[serde(default)]
    pub links: Option<CursorLinks>,
}

/// The reason Zendesk stamps on a unified status change made through the public API.
pub const REASON_PUBLIC_API: &str = "PUBLIC_API";

/// An agent's current unified status (`attributes.agent_status`, present only with
/// omnichannel routing).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct AgentStatus {
    /// Status id (a number or a numeric string).
    #[serde(deserialize_with = "string_or_i64")]
    pub id: i64,
    /// Status name.
    #[serde(default)]
    pub name: String,
    /// Why it changed: `PUBLIC_API`, `AGENT_STATUS_SWITCHER`, … (an open set: kept as text).
    #[serde(default)]
    pub reason: Option<String>,
    /// When it changed (RFC 3339, as sent).
    #[serde(default)]
    pub updated_at: Option<String>,
}

impl AgentStatus {
    /// Whether the change was made through the public API (by deskbridge or another
    /// integration): `reason == "PUBLIC_API"`.
    pub fn is_public_api(&self) -> bool {
        self.reason.as_deref() == Some(REASON_PUBLIC_API)
    }
}

/// One agent's availability (`/api/v2/agent_availabilities[/{id}]`, JSON:API resource
/// attributes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentAvailability {
    /// The agent.
    pub agent_id: i64,
    /// The unified status; `None` when omnichannel routing is off.
    pub agent_status: Option<AgentStatus>,
    /// Groups of the agent.
    pub group_ids: Vec<i64>,
    /// Monotonic version (reveals missed webhook events).
    pub version: Option<i64>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct RawAvailabilityResource {
    /// `agent_availabilities|{agent_id}`.
    #[serde(default)]
    pub id: Option<Value>,
    #[serde(default)]
    pub attributes: RawAvailabilityAttributes,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct RawAvailabilityAttributes {
    #[serde(default, deserialize_with = "option_string_or_i64")]
    pub agent_id: Option<i64>,
    #[serde(default)]
    pub agent_status: Option<AgentStatus>,
    #[serde(default, deserialize_with = "vec_string_or_i64")]
    pub group_ids: Vec<i64>,
    #[serde(default, deserialize_with = "option_string_or_i64")]
    pub version: Option<i64>,
}

impl RawAvailabilityResource {
    /// The agent id from `attributes.agent_id`, else from the resource id's last
    /// `|`-separated part.
    pub(crate) fn into_availability(self) -> Option<AgentAvailability> {
        let from_resource_id = || match &self.id {
            Some(Value::String(text)) => text.rsplit('|').next().and_then(|id| id.trim().parse().ok()),
            Some(Value::Number(number)) => number.as_i64(),
            _ => None,
        };
        let agent_id = self.attributes.agent_id.or_else(from_resource_id)?;
        Some(AgentAvailability {
            agent_id,
            agent_status: self.attributes.agent_status,
            group_ids: self.attributes.group_ids,
            version: self.attributes.version,
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct AvailabilityDocument {
    pub data: RawAvailabilityResource,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct AvailabilitiesPage {
    #[serde(default)]
    pub data: Vec<RawAvailabilityResource>,
    #[serde(default)]
    pub meta: Option<CursorMeta>,
    #[serde(default)]
    pub links: Option<CursorLinks>,
}

/// A Talk state (`agent_state` of the Talk availability API).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TalkState {
    /// Routable.
    Online,
    /// Not routable.
    Offline,
    /// Short break: calls stay queued.
    Away,
    /// Only agent-to-agent transfers.
    TransfersOnly,
}

impl TalkState {
    /// All four, in the API's order.
    pub const ALL: [TalkState; 4] = [Self::Online, Self::Offline, Self::Away, Self::TransfersOnly];

    /// The API's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Online => "online",
            Self::Offline => "offline",
            Self::Away => "away",
            Self::TransfersOnly => "transfers_only",
        }
    }

    /// The state named exactly `name` (`online`, `offline`, `away`, `transfers_only`).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == name)
    }
}

/// An agent's Talk availability (`/api/v2/channels/voice/availabilities/{id}`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct TalkAvailability {
    /// `online`, `offline`, `away` or `transfers_only`, kept as sent. With omnichannel
    /// routing on it is derived from the unified status's talk channel.
    #[serde(default)]
    pub agent_state: Option<String>,
    /// `client` (browser) or `phone` (forwarding).
    #[serde(default)]
    pub via: Option<String>,
    /// `on_call`, `wrap_up` or none.
    #[serde(default)]
    pub call_status: Option<String>,
}

/// Read a Talk availability answer: the documented `{"availability": {…}}` or the bare
/// object (the reference's JSON-format example shows `{"agent_state": …, "via": …}`
/// unwrapped; both are accepted). A body with neither an `availability` object nor any of
/// `agent_state`, `via`, `call_status` is an error, never an empty availability.
pub(crate) fn talk_availability_from(
    value: &serde_json::Value,
) -> Result<TalkAvailability, (String, String)> {
    let object = value.as_object().ok_or_else(|| (".".to_owned(), "expected a JSON object".to_owned()))?;
    let (inner, path) = match object.get("availability") {
        Some(inner @ serde_json::Value::Object(_)) => (inner, "availability"),
        Some(_) => return Err(("availability".into(), "expected an object".into())),
        None if ["agent_state", "via", "call_status"].iter().any(|key| object.contains_key(*key)) => {
            (value, ".")
        }
        None => {
            return Err((
                ".".into(),
                "neither an `availability` object nor a bare availability (agent_state, via, call_status)"
                    .into(),
            ));
        }
    };
    serde_path_to_error::deserialize(inner).map_err(|e| {
        let at = e.path().to_string();
        let message = e.inner().to_string();
        (if path == "." { at } else { format!("{path}.{at}") }, message)
    })
}

/// The parts of `GET /api/v2/account/settings` that reveal the status API in use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct AccountSettings {
    /// `settings.routing.enabled` (omnichannel routing), when present.
    pub routing_enabled: Option<bool>,
    /// `settings.agents.unified_agent_statuses`, when present.
    pub unified_agent_statuses: Option<bool>,
}

impl AccountSettings {
    pub(crate) fn from_json(value: &Value) -> Self {
        let flag = |pointer: &str| value.pointer(pointer).and_then(Value::as_bool);
        Self {
            routing_enabled: flag("/settings/routing/enabled"),
            unified_agent_statuses: flag("/settings/agents/unified_agent_statuses"),
        }
    }

    /// Whether omnichannel routing (unified statuses) is on: `routing.enabled` when
    /// present, else `agents.unified_agent_statuses`; `None` when neither is sent.
    pub fn omnichannel_routing(&self) -> Option<bool> {
        self.routing_enabled.or(self.unified_agent_statuses)
    }
}

/// A Zendesk error body, in any of its shapes.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum ZendeskErrorBody {
    /// `{"error": "RecordInvalid", "description": "…", "details": {"field": [{…}]}}`.
    Classic {
        /// Error identifier (or a message on some endpoints).
        error: String,
        /// Human description.
        #[serde(default)]
        description: Option<String>,
        /// Per-field validation errors.
        #[serde(default)]
        details: Option<Value>,
    },
    /// JSON:API `{"errors": [{"code", "title", "detail", "status"}]}`.
    JsonApi {
        /// The errors.
        errors: Vec<Value>,
    },
}

/// Reads Zendesk's error shapes into a code and a readable message: the classic shape with
/// its per-field `details` spelled out, JSON:API `errors[]` (all of them, not just the
/// first), and `text/plain` bodies; anything else goes to [`DefaultErrorInterpreter`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ZendeskErrorInterpreter;

impl ErrorInterpreter for ZendeskErrorInterpreter {
    fn interpret(&self, status: u16, body: &[u8]) -> ProviderError {
        match serde_json::from_slice::<ZendeskErrorBody>(body) {
            Ok(ZendeskErrorBody::Classic { error, description, details }) => {
                let identifier =
                    !error.is_empty() && error.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                let (code, mut message) = match description {
                    Some(description) if identifier => (Some(error), description),
                    Some(description) => (None, format!("{error}: {description}")),
                    None => (None, error),
                };
                if let Some(details) = details.as_ref().and_then(describe_details) {
                    message = format!("{message} ({details})");
                }
                ProviderError { code, message: excerpt(&message, 300) }
            }
            Ok(ZendeskErrorBody::JsonApi { errors }) if !errors.is_empty() => {
                let text = |value: &Value, key: &str| match value.get(key) {
                    Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
                    Some(Value::Number(n)) => Some(n.to_string()),
                    _ => None,
                };
                let code = errors.first().and_then(|first| text(first, "code"));
                let parts: Vec<String> = errors
                    .iter()
                    .filter_map(|error| match (text(error, "title"), text(error, "detail")) {
                        (Some(title), Some(detail)) => Some(format!("{title}: {detail}")),
                        (Some(one), None) | (None, Some(one)) => Some(one),
                        (None, None) => text(error, "code"),
                    })
                    .collect();
                let message = if parts.is_empty() { format!("HTTP {status}") } else { parts.join("; ") };
                ProviderError { code, message: excerpt(&message, 300) }
            }
            _ => DefaultErrorInterpreter::new().interpret(status, body),
        }
    }
}

/// `{"email": [{"description": "is invalid"}]}` → `email: is invalid`.
fn describe_details(details: &Value) -> Option<String> {
    let object = details.as_object()?;
    let parts: Vec<String> = object
        .iter()
        .map(|(field, problems)| {
            let descriptions: Vec<String> = match problems {
                Value::Array(items) => items
                    .iter()
                    .filter_map(|item| match item {
                        Value::String(s) => Some(s.clone()),
                        other => other
                            .get("description")
                            .or_else(|| other.get("error"))
                            .and_then(Value::as_str)
                            .map(str::to_owned),
                    })
                    .collect(),
                Value::String(s) => vec![s.clone()],
                _ => Vec::new(),
            };
            if descriptions.is_empty() {
                field.clone()
            } else {
                format!("{field}: {}", descriptions.join(", "))
            }
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(body: &str) -> ProviderError {
        ZendeskErrorInterpreter.interpret(422, body.as_bytes())
    }

    #[test]
    fn error_shapes_read_well() {
        let e = read(
            r#"{"error":"RecordInvalid","description":"Record validation errors","details":{"email":[{"description":"Email is invalid","error":"InvalidValue"}]}}"#,
        );
        assert_eq!(e.code.as_deref(), Some("RecordInvalid"));
        assert_eq!(e.message, "Record validation errors (email: Email is invalid)");
        let e = read(
            r#"{"errors":[{"code":"Forbidden","title":"Forbidden","detail":"No access"},{"title":"Second"}]}"#,
        );
        assert_eq!(e.code.as_deref(), Some("Forbidden"));
        assert_eq!(e.message, "Forbidden: No access; Second");
        let e = read(r#"{"error":"Couldn't authenticate you"}"#);
        assert_eq!((e.code, e.message.as_str()), (None, "Couldn't authenticate you"));
        let e = read("Too many requests\n");
        assert_eq!(e.message, "Too many requests");
    }

    #[test]
    fn ids_accept_strings_and_numbers() {
        let status: AgentStatus = serde_json::from_str(r#"{"id":"16765840571292","name":"online"}"#).unwrap();
        assert_eq!(status.id, 16_765_840_571_292);
        let status: AgentStatus = serde_json::from_str(r#"{"id":3,"name":"online"}"#).unwrap();
        assert_eq!(status.id, 3);
        assert!(serde_json::from_str::<AgentStatus>(r#"{"id":"x","name":"online"}"#).is_err());
        let resource: RawAvailabilityResource =
            serde_json::from_str(r#"{"id":"agent_availabilities|16765840571292","attributes":{}}"#).unwrap();
        assert_eq!(resource.into_availability().unwrap().agent_id, 16_765_840_571_292);
    }
}
