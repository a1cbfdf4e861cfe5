//! Zendesk API simulator (`/api/v2/...`).
//!
//! Serves, on the real paths and with the real payload shapes (see the Zendesk provider
//! reference); every path also answers with the optional `.json` suffix:
//!
//! | Method | Path | Notes |
//! |---|---|---|
//! | GET | `/api/v2/users` | `role=agent` or `role[]=agent&role[]=admin`; cursor pages |
//! | GET | `/api/v2/users/{id}` | `{"user": …}` |
//! | GET | `/api/v2/groups`, `/api/v2/groups/{id}` | cursor pages |
//! | GET | `/api/v2/group_memberships`, `/api/v2/groups/{id}/memberships`, `/api/v2/users/{id}/group_memberships` | cursor pages |
//! | GET | `/api/v2/account/settings` | `settings.agents.unified_agent_statuses`, `settings.routing.enabled` (mode detection) |
//! | GET | `/api/v2/agent_availabilities/agent_statuses` | `default[]`, `custom[]`, ordered by name |
//! | GET | `/api/v2/agent_availabilities` | JSON:API list, cursor pages, `filter[agent_id]=1,2` |
//! | GET | `/api/v2/agent_availabilities/{agent_id}` | JSON:API document with `included` channels |
//! | PUT | `/api/v2/agent_availabilities/agent_statuses/agents/{agent_id}` | body `{"id": N}` or JSON:API `{"data":{"attributes":{"agent_status_id":"N"}}}` (both by default; [`ZendeskSim::accept_unified_body`] restricts it to one, answering 400 to the other) |
//! | GET, POST | `/api/v2/webhooks` | cursor pages of `webhooks[]`; POST `{"webhook": {…}}` → 201 (event subscriptions need `POST` + `json`) |
//! | GET | `/api/v2/webhooks/{id}/signing_secret` | `{"signing_secret": {"algorithm": "SHA256", "secret"}}` |
//! | GET, PUT | `/api/v2/channels/voice/availabilities/{agent_id}` | Talk availability, `{"availability":{…}}` (bare after [`ZendeskSim::set_talk_availability_bare`]) |
//! | POST | `/api/v2/channels/voice/agents/{agent_id}/users/{user_id}/display`, `.../tickets/{ticket_id}/display` | TPE screen pop; 404 for an unknown id or an agent without a Talk seat ([`ZendeskSim::set_talk_seat`]) |
//! | POST | `/api/v2/channels/voice/tickets` | TPE voice ticket: `via_id` 44/45/46, `voice_comment`, `display_to_agent` (422 when invalid) |
//! | POST, GET | `/api/v2/tickets` (`?external_id=`), GET `/api/v2/tickets/{id}`, `/api/v2/tickets/{id}/comments` | tickets created through the API, with `Comment` / `VoiceComment` comments |
//! | POST, PATCH, GET | `/api/v2/calls`, `/api/v2/calls/{id}` | TPE call records (mandatory fields, documented fields only, `comment` adds a voice comment) |
//! | GET, POST | `/api/v2/users/search?query=phone:…`, `/api/v2/users` | end users with phone numbers (fuzzy digit match, like Zendesk search) |
//!
//! The TPE part (the `talk` section, [`ZendeskSim::talk_records`]) refuses any field an
//! endpoint does not document with `422 RecordInvalid` naming it.
//!
//! **Cursor pagination** (`page[size]`, default and maximum 100, larger sizes are clamped;
//! `page[after]` / `page[before]`): answers carry `meta{has_more, after_cursor,
//! before_cursor}` and `links{next, prev}` as absolute URLs to this server (`null` when
//! there is nothing on that side). Cursors are opaque; an unreadable one answers 400.
//!
//! **Omnichannel routing on** (the default): `agent_availabilities` documents carry
//! `attributes.agent_status {id, name, reason, updated_at}`; the unified PUT sets the status
//! with reason `PUBLIC_API` and bumps the agent's `version`; the Talk GET returns the talk
//! channel value of the unified status (custom "In a meeting" with `talk: "away"` reads
//! `agent_state: "away"`); a Talk PUT whose body contains `agent_state` answers
//! `400 {"error":"bad_request", …}` (only `via` may change).
//!
//! **Omnichannel routing off**: the status list and the unified PUT answer
//! `403 {"error":"Forbidden","description":…}` (a choice: Zendesk's exact answer is not
//! documented); `agent_availabilities` documents are served without `agent_status`, as the
//! reference says; the Talk GET and PUT read and write the legacy per-agent Talk state.
//!
//! **Status names:** the defaults are `offline` (id 2), `online` (3), `away` (4) and
//! `transfers_only` (5), spelled lower case as in the API's `agent_status` example; custom
//! statuses keep their seeded names. Ids are data: resolve by name.
//!
//! **Errors** use Zendesk's classic shape `{"error":"RecordNotFound","description":"Not
//! found"}` everywhere (422: `RecordInvalid` with `details`), also on the agent-availability
//! endpoints, whose real error shape is UNCONFIRMED (possibly JSON:API `errors[]`).
//!
//! **Auth:** Basic `{email}/token:{api_token}` for the configured e-mail (the real API
//! accepts any user's e-mail with the token; the simulator only the configured one), and
//! Bearer when a token is configured; otherwise 401 `{"error":"Couldn't authenticate you"}`.
//! **Rate limit** headers: `X-Rate-Limit`, `X-Rate-Limit-Remaining` on every counted
//! answer, plus `Retry-After` (seconds) on 429.
//!
//! **Webhooks:** [`unified_state_changed_payload`], [`state_changed_payload`] and
//! [`webhook_delivery`] build the agent events and sign them as Zendesk does
//! (`base64(HMAC-SHA256(secret, timestamp + body))`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::http::{Method, StatusCode};
use base64::Engine as _;
use chrono::{DateTime, SecondsFormat, Utc};
use hmac::{Hmac, Mac};
use secrecy::SecretString;
use serde_json::{Value, json};
use url::Url;

use super::WebhookDelivery;
use super::server::lock;
use super::{Credential, RateLimitRule, RateLimitStatus, SimProvider, SimRequest, SimResponse, SimServer};
use crate::zendesk::UnifiedBody;
use crate::{Error, Result};

mod talk;

pub use talk::{
    ZendeskDisplay, ZendeskEndUser, ZendeskSimCall, ZendeskSimComment, ZendeskSimTicket, ZendeskTalkRecords,
};

/// Default and largest `per_page` of the incremental user export.
const INCREMENTAL_PAGE_SIZE: usize = 1000;
/// Default and largest `page[size]`.
const MAX_PAGE_SIZE: usize = 100;
/// Seeded records' creation time.
const SEED_TIME: &str = "2024-01-15T09:00:00Z";
/// The reason stamped on seeded statuses and on [`ZendeskSim::set_agent_status`] calls
/// that do not give one: the agent chose it in the status switcher.
pub const REASON_SWITCHER: &str = "AGENT_STATUS_SWITCHER";
/// The reason Zendesk stamps on changes made through the public API.
pub const REASON_PUBLIC_API: &str = "PUBLIC_API";
/// The `zendesk_event_version` of agent events.
pub const EVENT_VERSION: &str = "2022-11-06";
/// Talk / channel states.
const CHANNEL_STATES: [&str; 4] = ["online", "offline", "away", "transfers_only"];

/// A Zendesk Suite plan, for its documented account-wide API limit (requests per minute:
/// Team 200, Growth 400, Professional 400, Enterprise 700, Enterprise Plus 2,500; the High
/// Volume API add-on also gives 2,500). Source: Zendesk's "Rate limits" and "Usage limits"
/// pages (see `docs/PROVIDER_FACTS.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZendeskPlan {
    /// Suite Team: 200 a minute.
    Team,
    /// Suite Growth: 400 a minute.
    Growth,
    /// Suite Professional: 400 a minute.
    Professional,
    /// Suite Enterprise: 700 a minute.
    Enterprise,
    /// Suite Enterprise Plus (or the High Volume API add-on): 2,500 a minute.
    EnterprisePlus,
}

impl ZendeskPlan {
    /// The plan's documented requests per minute.
    pub fn requests_per_minute(self) -> u32 {
        match self {
            Self::Team => 200,
            Self::Growth | Self::Professional => 400,
            Self::Enterprise => 700,
            Self::EnterprisePlus => 2_500,
        }
    }

    /// The plan's limit as a simulator rule over every path, per minute.
    pub fn rate_limit(self) -> RateLimitRule {
        RateLimitRule::per_minute(self.requests_per_minute())
    }
}

/// A Zendesk user role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ZendeskRole {
    /// `end-user` (not an agent: no availability).
    EndUser,
    /// `agent`.
    Agent,
    /// `admin`.
    Admin,
}

impl ZendeskRole {
    /// The API's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EndUser => "end-user",
            Self::Agent => "agent",
            Self::Admin => "admin",
        }
    }

    fn is_agent(self) -> bool {
        matches!(self, Self::Agent | Self::Admin)
    }
}

/// Per-channel states of a unified status (`online`, `away`, `transfers_only`, `offline`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZendeskChannels {
    /// Messaging channel state.
    pub messaging: String,
    /// Support (e-mail tickets) channel state.
    pub support: String,
    /// Talk channel state: what the Talk availability API reads under omnichannel routing.
    pub talk: String,
}

impl ZendeskChannels {
    /// Every channel in `state`.
    pub fn all(state: &str) -> Self {
        Self { messaging: state.to_owned(), support: state.to_owned(), talk: state.to_owned() }
    }

    fn get(&self, channel: &str) -> Option<&str> {
        match channel {
            "messaging" => Some(&self.messaging),
            "support" => Some(&self.support),
            "talk" => Some(&self.talk),
            _ => None,
        }
    }

    fn to_json(&self) -> Value {
        json!({ "messaging": self.messaging, "support": self.support, "talk": self.talk })
    }
}

/// A unified agent status (default or custom).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZendeskUnifiedStatus {
    /// Status id.
    pub id: i64,
    /// Name (`online`, `In a meeting`).
    pub name: String,
    /// Description.
    pub description: String,
    /// Per-channel states.
    pub channels: ZendeskChannels,
    /// True for a custom status, false for the four defaults.
    pub custom: bool,
}

impl ZendeskUnifiedStatus {
    /// A custom status.
    pub fn custom(id: i64, name: impl Into<String>, channels: ZendeskChannels) -> Self {
        let name = name.into();
        Self { id, description: format!("Custom status {name}"), name, channels, custom: true }
    }

    /// The four default statuses: offline 2, online 3, away 4, transfers_only 5.
    pub fn defaults() -> Vec<Self> {
        let default = |id: i64, name: &str, description: &str, talk: &str| Self {
            id,
            name: name.to_owned(),
            description: description.to_owned(),
            channels: ZendeskChannels {
                messaging: if talk == "online" { "online" } else { "offline" }.to_owned(),
                support: if talk == "online" { "online" } else { "offline" }.to_owned(),
                talk: talk.to_owned(),
            },
            custom: false,
        };
        vec![
            default(2, "offline", "Offline on all channels", "offline"),
            default(3, "online", "Online on all channels", "online"),
            default(4, "away", "Away on all channels", "away"),
            default(5, "transfers_only", "Transfers only on all channels", "transfers_only"),
        ]
    }

    fn to_json(&self) -> Value {
        let mut attributes = json!({ "name": self.name, "description": self.description });
        if self.custom {
            attributes["channels"] = self.channels.to_json();
        }
        json!({ "id": self.id, "type": "agent_status", "attributes": attributes, "updated_at": SEED_TIME })
    }
}

/// An agent's current unified status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZendeskAgentStatus {
    /// Status id.
    pub id: i64,
    /// Status name.
    pub name: String,
    /// Why it changed (`PUBLIC_API` after an API write).
    pub reason: String,
    /// When it changed (RFC 3339).
    pub updated_at: String,
}

impl ZendeskAgentStatus {
    fn to_json(&self) -> Value {
        json!({ "id": self.id, "name": self.name, "reason": self.reason, "updated_at": self.updated_at })
    }
}

/// An agent's Talk availability, as `/api/v2/channels/voice/availabilities/{id}` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZendeskTalkAvailability {
    /// `online`, `offline`, `away` or `transfers_only`.
    pub agent_state: String,
    /// `client` or `phone`.
    pub via: String,
    /// `on_call`, `wrap_up` or none.
    pub call_status: Option<String>,
}

impl ZendeskTalkAvailability {
    fn to_json(&self) -> Value {
        json!({ "availability": {
            "agent_state": self.agent_state,
            "via": self.via,
            "call_status": self.call_status,
        }})
    }
}

/// The unified status a seeded agent starts in: one of the four defaults, or a custom
/// status seeded with [`ZendeskSimConfig::custom_statuses`], by its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ZendeskSeedStatus {
    /// The default `offline` status (id 2).
    Offline,
    /// The default `online` status (id 3).
    Online,
    /// The default `away` status (id 4).
    Away,
    /// The default `transfers_only` status (id 5).
    TransfersOnly,
    /// A custom status, by the id it was seeded with.
    Custom(i64),
}

impl ZendeskSeedStatus {
    /// The status id the simulator serves for it.
    pub fn id(self) -> i64 {
        match self {
            Self::Offline => 2,
            Self::Online => 3,
            Self::Away => 4,
            Self::TransfersOnly => 5,
            Self::Custom(id) => id,
        }
    }

    /// The seed for a status of the simulator's catalog (a default by its name, a custom
    /// status by its id).
    pub fn of(status: &ZendeskUnifiedStatus) -> Self {
        match (status.custom, status.name.as_str()) {
            (false, "offline") => Self::Offline,
            (false, "online") => Self::Online,
            (false, "away") => Self::Away,
            (false, "transfers_only") => Self::TransfersOnly,
            _ => Self::Custom(status.id),
        }
    }
}

/// A user to seed the simulator with (usually an agent or admin).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZendeskAgentSeed {
    /// User id (Zendesk ids exceed 32 bits).
    pub id: i64,
    /// Name.
    pub name: String,
    /// E-mail.
    pub email: String,
    /// Role.
    pub role: ZendeskRole,
    /// Groups the agent belongs to; the first is the default group.
    pub group_ids: Vec<i64>,
    /// Current unified status id (must be a seeded status).
    pub status_id: i64,
    /// Legacy Talk state (used while omnichannel routing is off).
    pub talk_state: String,
    /// Talk device: `client` or `phone`.
    pub via: String,
}

impl ZendeskAgentSeed {
    /// An agent, in no group, unified status offline (2), Talk offline via `client`.
    pub fn new(id: i64, name: impl Into<String>, email: impl Into<String>) -> Self {
        Self {
            id,
            name: name.into(),
            email: email.into(),
            role: ZendeskRole::Agent,
            group_ids: Vec::new(),
            status_id: 2,
            talk_state: "offline".to_owned(),
            via: "client".to_owned(),
        }
    }

    /// The same user with another role.
    pub fn with_role(mut self, role: ZendeskRole) -> Self {
        self.role = role;
        self
    }

    /// The same agent in these groups.
    pub fn with_groups(mut self, group_ids: Vec<i64>) -> Self {
        self.group_ids = group_ids;
        self
    }

    /// The same agent in this unified status (`ZendeskSeedStatus::Online`, or a custom
    /// status by id).
    pub fn with_status(mut self, status: ZendeskSeedStatus) -> Self {
        self.status_id = status.id();
        self
    }

    /// The same agent with this legacy Talk state.
    pub fn with_talk_state(mut self, state: impl Into<String>) -> Self {
        self.talk_state = state.into();
        self
    }

    /// `count` synthetic agents with ids 16765840570001.., e-mails `agent{n}@example.com`
    /// (n from 1), unified statuses cycling online, offline, away, Talk states to match,
    /// each in one of `group_ids` (round robin; none when empty).
    pub fn synthetic(count: usize, group_ids: &[i64]) -> Vec<Self> {
        (1..=count)
            .map(|n| {
                let (status, talk) = match n % 3 {
                    1 => (ZendeskSeedStatus::Online, "online"),
                    2 => (ZendeskSeedStatus::Offline, "offline"),
                    _ => (ZendeskSeedStatus::Away, "away"),
                };
                let groups =
                    if group_ids.is_empty() { Vec::new() } else { vec![group_ids[n % group_ids.len()]] };
                Self::new(
                    16_765_840_570_000 + n as i64,
                    format!("Agent {n}"),
                    format!("agent{n}@example.com"),
                )
                .with_groups(groups)
                .with_status(status)
                .with_talk_state(talk)
            })
            .collect()
    }
}

/// A group to seed the simulator with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZendeskGroupSeed {
    /// Group id.
    pub id: i64,
    /// Group name.
    pub name: String,
}

impl ZendeskGroupSeed {
    /// A group.
    pub fn new(id: i64, name: impl Into<String>) -> Self {
        Self { id, name: name.into() }
    }

    /// `count` groups with ids 360000000001.. and names `Group {n}`.
    pub fn synthetic(count: usize) -> Vec<Self> {
        (1..=count).map(|n| Self::new(360_000_000_000 + n as i64, format!("Group {n}"))).collect()
    }
}

/// A user as the simulator holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZendeskAgent {
    /// User id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// E-mail.
    pub email: String,
    /// Role.
    pub role: ZendeskRole,
    /// Group ids.
    pub group_ids: Vec<i64>,
    /// Current unified status.
    pub status: ZendeskAgentStatus,
    /// The unified status before the last change, when there was a change.
    pub previous_status: Option<ZendeskAgentStatus>,
    /// Availability version, bumped on every unified status change.
    pub version: u64,
    /// Legacy Talk availability (routing off).
    pub talk: ZendeskTalkAvailability,
    /// When the user record last changed (UNIX seconds): the seed time, then the time of
    /// [`ZendeskSim::set_agent_email`]. Orders the incremental user export.
    pub updated_at: i64,
}

impl ZendeskAgent {
    fn to_user_json(&self, base_url: &Url) -> Value {
        json!({
            "id": self.id,
            "url": link(base_url, &format!("api/v2/users/{}.json", self.id)),
            "name": self.name,
            "email": self.email,
            "role": self.role.as_str(),
            "role_type": null,
            "custom_role_id": null,
            "active": true,
            "suspended": false,
            "default_group_id": self.group_ids.first(),
            "time_zone": "UTC",
            "created_at": SEED_TIME,
            "updated_at": rfc3339_of(self.updated_at),
        })
    }
}

/// The seed time as UNIX seconds.
fn seed_epoch() -> i64 {
    DateTime::parse_from_rfc3339(SEED_TIME).map(|time| time.timestamp()).unwrap_or_default()
}

fn rfc3339_of(epoch: i64) -> String {
    DateTime::<Utc>::from_timestamp(epoch, 0)
        .map(|time| time.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap_or_else(|| SEED_TIME.to_owned())
}

/// How to start a [`ZendeskSim`].
#[derive(Debug, Clone)]
pub struct ZendeskSimConfig {
    /// Seeded users.
    pub agents: Vec<ZendeskAgentSeed>,
    /// Seeded groups.
    pub groups: Vec<ZendeskGroupSeed>,
    /// Custom unified statuses, added to the four defaults.
    pub custom_statuses: Vec<ZendeskUnifiedStatus>,
    /// Whether omnichannel routing (unified agent statuses) is on.
    pub omnichannel_routing: bool,
    /// The account id (webhook envelopes).
    pub account_id: i64,
    /// The e-mail of Basic `{email}/token` auth.
    pub email: String,
    /// The API token.
    pub api_token: SecretString,
    /// An OAuth bearer token also accepted, when set.
    pub bearer_token: Option<SecretString>,
    /// Rate limits (none by default).
    pub rate_limits: Vec<RateLimitRule>,
}

impl ZendeskSimConfig {
    /// The e-mail accepted by default.
    pub const DEFAULT_EMAIL: &'static str = "admin@example.com";
    /// The API token accepted by default.
    pub const DEFAULT_API_TOKEN: &'static str = "sim-zendesk-token";
    /// The account id used by default.
    pub const DEFAULT_ACCOUNT_ID: i64 = 10_000_001;

    /// These agents and groups, no custom status, omnichannel routing on, the default
    /// credentials, no bearer token, no rate limit.
    pub fn new(agents: Vec<ZendeskAgentSeed>, groups: Vec<ZendeskGroupSeed>) -> Self {
        Self {
            agents,
            groups,
            custom_statuses: Vec::new(),
            omnichannel_routing: true,
            account_id: Self::DEFAULT_ACCOUNT_ID,
            email: Self::DEFAULT_EMAIL.to_owned(),
            api_token: SecretString::from(Self::DEFAULT_API_TOKEN),
            bearer_token: None,
            rate_limits: Vec::new(),
        }
    }

    /// Add custom unified statuses.
    pub fn custom_statuses(mut self, statuses: Vec<ZendeskUnifiedStatus>) -> Self {
        self.custom_statuses = statuses;
        self
    }

    /// Turn omnichannel routing on or off.
    pub fn omnichannel_routing(mut self, on: bool) -> Self {
        self.omnichannel_routing = on;
        self
    }

    /// Accept Basic `{email}/token:{api_token}` with these values instead of the defaults.
    pub fn credentials(mut self, email: impl Into<String>, api_token: impl Into<String>) -> Self {
        self.email = email.into();
        self.api_token = SecretString::from(api_token.into());
        self
    }

    /// Also accept this bearer token.
    pub fn bearer_token(mut self, token: impl Into<String>) -> Self {
        self.bearer_token = Some(SecretString::from(token.into()));
        self
    }

    /// Enforce this rate limit (the real API: 200 to 2,500 per minute by plan; the Talk API
    /// 15,000 per 5 minutes over `/api/v2/channels/voice/`).
    pub fn rate_limit(mut self, rule: RateLimitRule) -> Self {
        self.rate_limits.push(rule);
        self
    }
}

#[derive(Debug, Clone)]
struct Membership {
    id: i64,
    user_id: i64,
    group_id: i64,
    default: bool,
}

impl Membership {
    fn to_json(&self, base_url: &Url) -> Value {
        json!({
            "id": self.id,
            "url": link(base_url, &format!("api/v2/group_memberships/{}.json", self.id)),
            "user_id": self.user_id,
            "group_id": self.group_id,
            "default": self.default,
            "created_at": SEED_TIME,
            "updated_at": SEED_TIME,
        })
    }
}

struct ZendeskState {
    /// Sorted by id.
    agents: Vec<ZendeskAgent>,
    /// Sorted by id.
    groups: Vec<ZendeskGroupSeed>,
    /// Sorted by id.
    memberships: Vec<Membership>,
    statuses: Vec<ZendeskUnifiedStatus>,
    routing: bool,
    /// Which unified write bodies are accepted (`None`: both).
    unified_body: Option<UnifiedBody>,
    /// Whether the Talk availability GET answers the bare object instead of the wrapped one.
    talk_bare: bool,
    /// Webhooks created through `POST /api/v2/webhooks`: (sequence, webhook JSON, secret).
    webhooks: Vec<(i64, Value, String)>,
    /// Talk Partner Edition records (see the `talk` section).
    talk: talk::TalkState,
}

impl std::fmt::Debug for ZendeskState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZendeskState")
            .field("agents", &self.agents.len())
            .field("groups", &self.groups.len())
            .field("routing", &self.routing)
            .finish_non_exhaustive()
    }
}

impl ZendeskState {
    fn agent_index(&self, id: i64) -> Option<usize> {
        self.agents.binary_search_by_key(&id, |agent| agent.id).ok()
    }

    /// Index of an agent or admin (end users have no availability).
    fn staff_index(&self, id: i64) -> Option<usize> {
        self.agent_index(id).filter(|index| self.agents[*index].role.is_agent())
    }

    fn status(&self, id: i64) -> Option<&ZendeskUnifiedStatus> {
        self.statuses.iter().find(|status| status.id == id)
    }

    fn set_status(&mut self, index: usize, status_id: i64, reason: &str) -> Option<ZendeskAgentStatus> {
        let status = self.status(status_id)?;
        let new_status = ZendeskAgentStatus {
            id: status.id,
            name: status.name.clone(),
            reason: reason.to_owned(),
            updated_at: now_rfc3339(SecondsFormat::Secs),
        };
        let agent = &mut self.agents[index];
        agent.previous_status = Some(std::mem::replace(&mut agent.status, new_status.clone()));
        agent.version += 1;
        Some(new_status)
    }

    /// The Talk availability as the Talk GET answers it in the current mode.
    fn talk_view(&self, agent: &ZendeskAgent) -> ZendeskTalkAvailability {
        let mut talk = agent.talk.clone();
        if self.routing {
            if let Some(status) = self.status(agent.status.id) {
                talk.agent_state = status.channels.talk.clone();
            }
        }
        talk
    }

    fn channel_state(&self, agent: &ZendeskAgent, channel: &str) -> String {
        if self.routing {
            self.status(agent.status.id)
                .and_then(|status| status.channels.get(channel))
                .unwrap_or("offline")
                .to_owned()
        } else if channel == "talk" {
            agent.talk.agent_state.clone()
        } else {
            "offline".to_owned()
        }
    }

    fn availability_json(&self, agent: &ZendeskAgent, base_url: &Url) -> (Value, Vec<Value>) {
        let resource_id = format!("agent_availabilities|{}", agent.id);
        let channels = ["messaging", "support", "talk"];
        let mut attributes = json!({
            "agent_id": agent.id,
            "group_ids": agent.group_ids,
            "skills": [],
            "version": agent.version,
        });
        if self.routing {
            attributes["agent_status"] = agent.status.to_json();
        }
        let relationships: Vec<Value> = channels
            .iter()
            .map(|channel| json!({ "id": format!("{resource_id}|channels|{channel}"), "type": "channels" }))
            .collect();
        let included: Vec<Value> = channels
            .iter()
            .map(|channel| {
                json!({
                    "id": format!("{resource_id}|channels|{channel}"),
                    "type": "channels",
                    "attributes": {
                        "name": channel,
                        "status": self.channel_state(agent, channel),
                        "updated_at": agent.status.updated_at,
                    },
                    "relationships": { "work_items": { "data": [] } },
                })
            })
            .collect();
        let data = json!({
            "id": resource_id,
            "type": "agent_availabilities",
            "attributes": attributes,
            "relationships": { "channels": { "data": relationships } },
            "links": { "self": link(base_url, &format!("api/v2/agent_availabilities/{}", agent.id)) },
        });
        (data, included)
    }
}

struct ZendeskProvider {
    state: Arc<Mutex<ZendeskState>>,
}

/// A running Zendesk simulator. See the [module docs](self) for what it serves.
#[derive(Debug)]
pub struct ZendeskSim {
    server: SimServer,
    state: Arc<Mutex<ZendeskState>>,
    account_id: i64,
    event_counter: AtomicU64,
}

impl ZendeskSim {
    /// Start a simulator with `config` on `127.0.0.1`.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for duplicate ids, an agent whose status id is not seeded, or when
    /// the port cannot be bound.
    pub async fn start(config: ZendeskSimConfig) -> Result<Self> {
        let mut statuses = ZendeskUnifiedStatus::defaults();
        statuses.extend(config.custom_statuses);
        let mut status_ids: Vec<i64> = statuses.iter().map(|status| status.id).collect();
        status_ids.sort_unstable();
        if status_ids.windows(2).any(|pair| pair[0] == pair[1]) {
            return Err(Error::config("zendesk simulator: duplicate unified status id"));
        }
        let mut agents = Vec::with_capacity(config.agents.len());
        let mut memberships = Vec::new();
        for seed in config.agents {
            let Some(status) = statuses.iter().find(|status| status.id == seed.status_id) else {
                return Err(Error::config(format!(
                    "zendesk simulator: agent {} has unknown status id {}",
                    seed.id, seed.status_id
                )));
            };
            for (position, group_id) in seed.group_ids.iter().enumerate() {
                memberships.push(Membership {
                    id: 0,
                    user_id: seed.id,
                    group_id: *group_id,
                    default: position == 0,
                });
            }
            agents.push(ZendeskAgent {
                id: seed.id,
                name: seed.name,
                email: seed.email,
                role: seed.role,
                group_ids: seed.group_ids,
                status: ZendeskAgentStatus {
                    id: status.id,
                    name: status.name.clone(),
                    reason: REASON_SWITCHER.to_owned(),
                    updated_at: SEED_TIME.to_owned(),
                },
                previous_status: None,
                version: 1,
                talk: ZendeskTalkAvailability {
                    agent_state: seed.talk_state,
                    via: seed.via,
                    call_status: None,
                },
                updated_at: seed_epoch(),
            });
        }
        agents.sort_by_key(|agent| agent.id);
        if let Some(pair) = agents.windows(2).find(|pair| pair[0].id == pair[1].id) {
            return Err(Error::config(format!("zendesk simulator: duplicate user id {}", pair[0].id)));
        }
        memberships.sort_by_key(|membership| (membership.user_id, membership.group_id));
        for (position, membership) in memberships.iter_mut().enumerate() {
            membership.id = 9_000_000_000_001 + position as i64;
        }
        let mut groups = config.groups;
        groups.sort_by_key(|group| group.id);
        let state = Arc::new(Mutex::new(ZendeskState {
            agents,
            groups,
            memberships,
            statuses,
            routing: config.omnichannel_routing,
            unified_body: None,
            talk_bare: false,
            webhooks: Vec::new(),
            talk: talk::TalkState::default(),
        }));
        let mut credentials = vec![Credential::Basic {
            username: format!("{}/token", config.email),
            password: config.api_token,
        }];
        credentials.extend(config.bearer_token.map(Credential::Bearer));
        let provider = Arc::new(ZendeskProvider { state: Arc::clone(&state) });
        let server = SimServer::start(provider, credentials, config.rate_limits).await?;
        Ok(Self { server, state, account_id: config.account_id, event_counter: AtomicU64::new(0) })
    }

    /// The shared server: request log, credentials, rate limits, faults.
    pub fn server(&self) -> &SimServer {
        &self.server
    }

    /// The base URL (`http://127.0.0.1:PORT/`); the client appends `api/v2/...`.
    pub fn base_url(&self) -> Url {
        self.server.base_url()
    }

    /// The account id used in webhook envelopes.
    pub fn account_id(&self) -> i64 {
        self.account_id
    }

    /// Stop the server gracefully.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }

    /// Whether omnichannel routing is on.
    pub fn omnichannel_routing(&self) -> bool {
        lock(&self.state).routing
    }

    /// Switch omnichannel routing on or off (as an admin would in Admin Center).
    pub fn set_omnichannel_routing(&self, on: bool) {
        lock(&self.state).routing = on;
    }

    /// Accept only this unified status write body from now on (`None`, the default:
    /// both `{"id": N}` and the JSON:API form, since which one Zendesk takes is
    /// unconfirmed). The other form answers `400 {"error":"BadRequest",…}` naming the
    /// expected body, so clients can be tested against either account.
    pub fn accept_unified_body(&self, form: Option<UnifiedBody>) {
        lock(&self.state).unified_body = form;
    }

    /// Answer the Talk availability GET with the bare object (`{"agent_state",…}`)
    /// instead of the documented `{"availability":{…}}` wrapper.
    pub fn set_talk_availability_bare(&self, bare: bool) {
        lock(&self.state).talk_bare = bare;
    }

    /// Every unified status, defaults first.
    pub fn statuses(&self) -> Vec<ZendeskUnifiedStatus> {
        lock(&self.state).statuses.clone()
    }

    /// A user's full state.
    pub fn agent(&self, id: i64) -> Option<ZendeskAgent> {
        let state = lock(&self.state);
        state.agent_index(id).map(|index| state.agents[index].clone())
    }

    /// An agent's current unified status (kept whether or not routing is on).
    pub fn agent_status(&self, id: i64) -> Option<ZendeskAgentStatus> {
        let state = lock(&self.state);
        state.staff_index(id).map(|index| state.agents[index].status.clone())
    }

    /// Set an agent's unified status by name (case-insensitive) with this `reason` (e.g.
    /// [`REASON_SWITCHER`] for a change the agent made), bumping the version. The request
    /// log is not touched.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for an unknown agent or status name.
    pub fn set_agent_status(&self, id: i64, status_name: &str, reason: &str) -> Result<ZendeskAgentStatus> {
        let mut state = lock(&self.state);
        let index = state
            .staff_index(id)
            .ok_or_else(|| Error::invalid("zendesk agent id", format!("no agent {id}")))?;
        let status_id = state
            .statuses
            .iter()
            .find(|status| status.name.eq_ignore_ascii_case(status_name))
            .map(|status| status.id)
            .ok_or_else(|| {
                Error::invalid("zendesk status", format!("no unified status named `{status_name}`"))
            })?;
        state
            .set_status(index, status_id, reason)
            .ok_or_else(|| Error::invalid("zendesk status", format!("no unified status {status_id}")))
    }

    /// The Talk availability as `GET /api/v2/channels/voice/availabilities/{id}` answers it
    /// now (derived from the unified status while routing is on).
    pub fn talk_availability(&self, id: i64) -> Option<ZendeskTalkAvailability> {
        let state = lock(&self.state);
        state.staff_index(id).map(|index| state.talk_view(&state.agents[index]))
    }

    /// Change a user's e-mail, as an admin would: the user's `updated_at`
    /// becomes now, so the incremental user export lists it again.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an unknown user.
    pub fn set_agent_email(&self, id: i64, email: &str) -> Result<()> {
        let mut state = lock(&self.state);
        let index = state
            .staff_index(id)
            .ok_or_else(|| Error::invalid("zendesk agent id", format!("no agent {id}")))?;
        let agent = &mut state.agents[index];
        agent.email = email.to_owned();
        agent.updated_at = Utc::now().timestamp();
        Ok(())
    }

    /// Set an agent's legacy Talk state and call status directly.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for an unknown agent or a state other than `online`,
    /// `offline`, `away`, `transfers_only`.
    pub fn set_talk_state(&self, id: i64, agent_state: &str, call_status: Option<&str>) -> Result<()> {
        if !CHANNEL_STATES.contains(&agent_state) {
            return Err(Error::invalid("zendesk talk state", format!("unknown agent_state `{agent_state}`")));
        }
        let mut state = lock(&self.state);
        let index = state
            .staff_index(id)
            .ok_or_else(|| Error::invalid("zendesk agent id", format!("no agent {id}")))?;
        let talk = &mut state.agents[index].talk;
        talk.agent_state = agent_state.to_owned();
        talk.call_status = call_status.map(str::to_owned);
        Ok(())
    }

    /// The `agent.unified_state_changed` event describing the agent's last unified status
    /// change (previous and current status, current version), timestamped now. `None` for
    /// an unknown agent.
    pub fn unified_state_changed_event(&self, agent_id: i64) -> Option<Value> {
        let agent = self.agent(agent_id)?;
        let event_id = self.next_event_id();
        Some(unified_state_changed_payload(
            self.account_id,
            agent.id,
            agent.previous_status.as_ref(),
            &agent.status,
            agent.version,
            &event_id,
            &now_rfc3339(SecondsFormat::Nanos),
        ))
    }

    /// A webhook delivery of `payload` signed with `secret`, timestamped now, from this
    /// account.
    pub fn webhook_delivery(&self, payload: &Value, secret: &str) -> WebhookDelivery {
        let invocation = self.event_counter.fetch_add(1, Ordering::Relaxed);
        webhook_delivery(
            payload,
            secret,
            &now_rfc3339(SecondsFormat::Secs),
            self.account_id,
            "01SIMWEBHOOK0000000000000",
            &format!("{invocation}"),
        )
    }

    fn next_event_id(&self) -> String {
        format!("01SIM{:021}", self.event_counter.fetch_add(1, Ordering::Relaxed))
    }
}

fn state_json(status: &ZendeskAgentStatus) -> Value {
    json!({ "id": status.id.to_string(), "name": status.name, "reason": status.reason })
}

fn envelope(
    account_id: i64,
    agent_id: i64,
    version: u64,
    event_id: &str,
    time: &str,
    kind: &str,
    event: Value,
) -> Value {
    json!({
        "account_id": account_id,
        "detail": {
            "account_id": account_id.to_string(),
            "agent_id": agent_id.to_string(),
            "version": version.to_string(),
        },
        "event": event,
        "id": event_id,
        "subject": format!("zen:agent:{agent_id}"),
        "time": time,
        "type": kind,
        "zendesk_event_version": EVENT_VERSION,
    })
}

/// The payload of a `zen:event-type:agent.unified_state_changed` event: the reference
/// envelope (`detail.*` values are strings) with `event{previous_unified_state,
/// new_unified_state, updated_at}`, each state `{id, name, reason}` with the id as a
/// string, as public fixtures carry it (UNCONFIRMED).
pub fn unified_state_changed_payload(
    account_id: i64,
    agent_id: i64,
    previous: Option<&ZendeskAgentStatus>,
    current: &ZendeskAgentStatus,
    version: u64,
    event_id: &str,
    time: &str,
) -> Value {
    let event = json!({
        "previous_unified_state": previous.map(state_json),
        "new_unified_state": state_json(current),
        "updated_at": current.updated_at,
    });
    envelope(
        account_id,
        agent_id,
        version,
        event_id,
        time,
        "zen:event-type:agent.unified_state_changed",
        event,
    )
}

/// The payload of a `zen:event-type:agent.state_changed` event (one channel):
/// `event{channel, previous_state, new_state, updated_at}`.
#[allow(clippy::too_many_arguments)]
pub fn state_changed_payload(
    account_id: i64,
    agent_id: i64,
    channel: &str,
    previous_state: &str,
    new_state: &str,
    version: u64,
    event_id: &str,
    time: &str,
) -> Value {
    let event = json!({
        "channel": channel,
        "previous_state": previous_state,
        "new_state": new_state,
        "updated_at": time,
    });
    envelope(account_id, agent_id, version, event_id, time, "zen:event-type:agent.state_changed", event)
}

/// `base64(HMAC-SHA256(key = secret, message = timestamp + body))`, Zendesk's webhook
/// signature.
pub fn webhook_signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here; an empty
    // signature would simply never verify.
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(timestamp.as_bytes());
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// A webhook delivery of `payload` as Zendesk sends it: the JSON body and the headers
/// `content-type`, `x-zendesk-account-id`, `x-zendesk-webhook-id`,
/// `x-zendesk-webhook-invocation-id`, `x-zendesk-webhook-signature` and
/// `x-zendesk-webhook-signature-timestamp` (the `timestamp` given, e.g.
/// `2021-03-25T05:09:27Z`).
pub fn webhook_delivery(
    payload: &Value,
    secret: &str,
    timestamp: &str,
    account_id: i64,
    webhook_id: &str,
    invocation_id: &str,
) -> WebhookDelivery {
    let body = payload.to_string().into_bytes();
    let signature = webhook_signature(secret, timestamp, &body);
    WebhookDelivery::new(
        "zendesk",
        body,
        vec![
            ("content-type".to_owned(), "application/json; charset=utf-8".to_owned()),
            ("x-zendesk-account-id".to_owned(), account_id.to_string()),
            ("x-zendesk-webhook-id".to_owned(), webhook_id.to_owned()),
            ("x-zendesk-webhook-invocation-id".to_owned(), invocation_id.to_owned()),
            ("x-zendesk-webhook-signature".to_owned(), signature),
            ("x-zendesk-webhook-signature-timestamp".to_owned(), timestamp.to_owned()),
        ],
    )
}

fn now_rfc3339(format: SecondsFormat) -> String {
    Utc::now().to_rfc3339_opts(format, true)
}

fn link(base_url: &Url, path: &str) -> String {
    base_url.join(path).map(String::from).unwrap_or_else(|_| format!("{base_url}{path}"))
}

fn classic_error(status: StatusCode, error: &str, description: &str) -> SimResponse {
    SimResponse::json(status, &json!({ "error": error, "description": description }))
}

fn not_found() -> SimResponse {
    classic_error(StatusCode::NOT_FOUND, "RecordNotFound", "Not found")
}

fn invalid_record(field: &str, description: &str) -> SimResponse {
    SimResponse::json(
        StatusCode::UNPROCESSABLE_ENTITY,
        &json!({
            "error": "RecordInvalid",
            "description": "Record validation errors",
            "details": { field: [{ "description": description, "error": "InvalidValue" }] },
        }),
    )
}

fn routing_off() -> SimResponse {
    classic_error(
        StatusCode::FORBIDDEN,
        "Forbidden",
        "Unified agent statuses are not available: omnichannel routing is off for this account",
    )
}

fn encode_cursor(key: i64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("id:{key}"))
}

fn decode_cursor(cursor: &str) -> Option<i64> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor.trim()).ok()?;
    String::from_utf8(bytes).ok()?.strip_prefix("id:")?.parse().ok()
}

/// One cursor page of `items` (sorted by `key`), with `meta` and `links`.
fn cursor_page<'a, T>(
    items: &[&'a T],
    key: impl Fn(&T) -> i64,
    request: &SimRequest,
    base_url: &Url,
) -> std::result::Result<(Vec<&'a T>, Value, Value), Box<SimResponse>> {
    let bad =
        |description: &str| classic_error(StatusCode::BAD_REQUEST, "InvalidPaginationParameter", description);
    let size = match request.query_value("page[size]") {
        None => MAX_PAGE_SIZE,
        Some(text) => match text.trim().parse::<usize>() {
            Ok(size) => size.clamp(1, MAX_PAGE_SIZE),
            Err(_) => return Err(Box::new(bad("page[size] must be a positive integer"))),
        },
    };
    let after = request.query_value("page[after]");
    let before = request.query_value("page[before]");
    let (start, end, has_more) = match (after, before) {
        (Some(_), Some(_)) => {
            return Err(Box::new(bad("page[after] and page[before] are mutually exclusive")));
        }
        (Some(cursor), None) => {
            let Some(after_key) = decode_cursor(&cursor) else {
                return Err(Box::new(bad("page[after] is not a valid cursor")));
            };
            let start = items.partition_point(|item| key(item) <= after_key);
            let end = (start + size).min(items.len());
            (start, end, end < items.len())
        }
        (None, Some(cursor)) => {
            let Some(before_key) = decode_cursor(&cursor) else {
                return Err(Box::new(bad("page[before] is not a valid cursor")));
            };
            let end = items.partition_point(|item| key(item) < before_key);
            let start = end.saturating_sub(size);
            (start, end, start > 0)
        }
        (None, None) => {
            let end = size.min(items.len());
            (0, end, end < items.len())
        }
    };
    let page: Vec<&T> = items[start..end].to_vec();
    let after_cursor = page.last().map(|item| encode_cursor(key(item)));
    let before_cursor = page.first().map(|item| encode_cursor(key(item)));
    let kept: Vec<(String, String)> = request
        .query_pairs()
        .into_iter()
        .filter(|(name, _)| !matches!(name.as_str(), "page[after]" | "page[before]" | "page[size]"))
        .collect();
    let page_link = |direction: &str, cursor: &str| {
        let mut url =
            base_url.join(request.path.trim_start_matches('/')).unwrap_or_else(|_| base_url.clone());
        {
            let mut query = url.query_pairs_mut();
            for (name, value) in &kept {
                query.append_pair(name, value);
            }
            query.append_pair("page[size]", &size.to_string());
            query.append_pair(direction, cursor);
        }
        String::from(url)
    };
    let next =
        after_cursor.as_deref().filter(|_| end < items.len()).map(|cursor| page_link("page[after]", cursor));
    let prev = before_cursor.as_deref().filter(|_| start > 0).map(|cursor| page_link("page[before]", cursor));
    let meta = json!({ "has_more": has_more, "after_cursor": after_cursor, "before_cursor": before_cursor });
    let links = json!({ "next": next, "prev": prev });
    Ok((page, meta, links))
}

/// Read the unified status id of a PUT body: `{"id": N}` or the JSON:API shape, numbers or
/// numeric strings; with `only`, just that form.
fn requested_status_id(body: &Value, only: Option<UnifiedBody>) -> Option<i64> {
    let number = |value: &Value| match value {
        Value::Number(number) => number.as_i64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    };
    let id_object = || body.get("id").and_then(number);
    let json_api = || {
        body.pointer("/data/attributes/agent_status_id")
            .and_then(number)
            .or_else(|| body.pointer("/data/id").and_then(number))
    };
    match only {
        Some(UnifiedBody::IdObject) => id_object(),
        Some(UnifiedBody::JsonApi) => json_api(),
        _ => id_object().or_else(json_api),
    }
}

impl ZendeskProvider {
    fn list_users(&self, request: &SimRequest, base_url: &Url) -> SimResponse {
        let mut roles = request.query_values("role[]");
        roles.extend(request.query_values("role"));
        let state = lock(&self.state);
        let matching: Vec<&ZendeskAgent> = state
            .agents
            .iter()
            .filter(|agent| roles.is_empty() || roles.iter().any(|role| role == agent.role.as_str()))
            .collect();
        match cursor_page(&matching, |agent| agent.id, request, base_url) {
            Ok((page, meta, links)) => {
                let users: Vec<Value> = page.iter().map(|agent| agent.to_user_json(base_url)).collect();
                SimResponse::json(StatusCode::OK, &json!({ "users": users, "meta": meta, "links": links }))
            }
            Err(response) => *response,
        }
    }

    /// `GET /api/v2/incremental/users/cursor.json`: every user (all roles) whose record
    /// changed at or after `start_time` (UNIX seconds; the first request) or after the
    /// position in `cursor` (later requests), oldest first, `per_page` (default and most
    /// 1000) at a time; `after_cursor` always given, `end_of_stream` on the last page.
    /// Unlike Zendesk (which omits the most recent minute), changes are listed at once.
    fn incremental_users(&self, request: &SimRequest, base_url: &Url) -> SimResponse {
        let bad = |description: &str| classic_error(StatusCode::BAD_REQUEST, "InvalidValue", description);
        let per_page = match request.query_value("per_page").map(|text| text.trim().parse::<usize>()) {
            None => INCREMENTAL_PAGE_SIZE,
            Some(Ok(size)) => size.clamp(1, INCREMENTAL_PAGE_SIZE),
            Some(Err(_)) => return bad("per_page must be a positive integer"),
        };
        // Position: (updated_at, id) strictly after this.
        let after: (i64, i64) = match (request.query_value("cursor"), request.query_value("start_time")) {
            (Some(cursor), _) => {
                let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(cursor.trim())
                    .ok()
                    .and_then(|bytes| String::from_utf8(bytes).ok())
                    .and_then(|text| {
                        let (time, id) = text.strip_prefix("inc:")?.split_once(':')?;
                        Some((time.parse().ok()?, id.parse().ok()?))
                    });
                match decoded {
                    Some(position) => position,
                    None => return bad("cursor is not a valid cursor"),
                }
            }
            (None, Some(start)) => match start.trim().parse::<i64>() {
                Ok(start) => (start, i64::MIN),
                Err(_) => return bad("start_time must be a UNIX time in seconds"),
            },
            (None, None) => return bad("start_time or cursor is required"),
        };
        let state = lock(&self.state);
        let mut changed: Vec<&ZendeskAgent> =
            state.agents.iter().filter(|agent| (agent.updated_at, agent.id) > after).collect();
        changed.sort_by_key(|agent| (agent.updated_at, agent.id));
        let end_of_stream = changed.len() <= per_page;
        changed.truncate(per_page);
        let position = changed.last().map_or(after, |agent| (agent.updated_at, agent.id));
        let position = if position.1 == i64::MIN { (position.0, 0) } else { position };
        let after_cursor = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(format!("inc:{}:{}", position.0, position.1));
        let after_url =
            link(base_url, &format!("api/v2/incremental/users/cursor.json?cursor={after_cursor}"));
        let users: Vec<Value> = changed.iter().map(|agent| agent.to_user_json(base_url)).collect();
        SimResponse::json(
            StatusCode::OK,
            &json!({
                "users": users,
                "after_cursor": after_cursor,
                "after_url": after_url,
                "before_cursor": null,
                "before_url": null,
                "end_of_stream": end_of_stream,
            }),
        )
    }

    fn list_webhooks(&self, request: &SimRequest, base_url: &Url) -> SimResponse {
        let state = lock(&self.state);
        let all: Vec<&(i64, Value, String)> = state.webhooks.iter().collect();
        match cursor_page(&all, |webhook| webhook.0, request, base_url) {
            Ok((page, meta, links)) => {
                let webhooks: Vec<&Value> = page.iter().map(|webhook| &webhook.1).collect();
                SimResponse::json(
                    StatusCode::OK,
                    &json!({ "webhooks": webhooks, "meta": meta, "links": links }),
                )
            }
            Err(response) => *response,
        }
    }

    /// `POST /api/v2/webhooks` with `{"webhook": {name, status, endpoint, http_method,
    /// request_format, subscriptions}}`; event-subscribed webhooks must be POST + JSON.
    fn create_webhook(&self, request: &SimRequest) -> SimResponse {
        let Some(webhook) = request.body_json().and_then(|body| body.get("webhook").cloned()) else {
            return classic_error(StatusCode::BAD_REQUEST, "BadRequest", "Expected {\"webhook\": {…}}");
        };
        let text = |key: &str| webhook.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
        let subscriptions: Vec<String> = webhook
            .get("subscriptions")
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default();
        let events = subscriptions.iter().any(|s| s.starts_with("zen:event-type:"));
        if text("name").is_empty() || !text("endpoint").starts_with("http") {
            return invalid_record("endpoint", "Name and an http(s) endpoint are required");
        }
        if events && (text("http_method") != "POST" || text("request_format") != "json") {
            return invalid_record("subscriptions", "Event-subscribed webhooks must use POST and json");
        }
        let mut state = lock(&self.state);
        let sequence = state.webhooks.len() as i64 + 1;
        let id = format!("01GXSIMWEBHOOK{sequence:012}");
        let json = json!({
            "id": id,
            "name": text("name"),
            "status": if text("status").is_empty() { "active".to_owned() } else { text("status") },
            "endpoint": text("endpoint"),
            "http_method": text("http_method"),
            "request_format": text("request_format"),
            "subscriptions": subscriptions,
            "created_at": SEED_TIME,
        });
        state.webhooks.push((sequence, json.clone(), format!("sim-zendesk-signing-secret-{sequence}")));
        SimResponse::json(StatusCode::CREATED, &json!({ "webhook": json }))
    }

    fn webhook_signing_secret(&self, webhook_id: &str) -> SimResponse {
        let state = lock(&self.state);
        match state.webhooks.iter().find(|w| w.1.get("id").and_then(Value::as_str) == Some(webhook_id)) {
            Some((_, _, secret)) => SimResponse::json(
                StatusCode::OK,
                &json!({ "signing_secret": { "algorithm": "SHA256", "secret": secret } }),
            ),
            None => not_found(),
        }
    }

    fn list_groups(&self, request: &SimRequest, base_url: &Url) -> SimResponse {
        let state = lock(&self.state);
        let all: Vec<&ZendeskGroupSeed> = state.groups.iter().collect();
        match cursor_page(&all, |group| group.id, request, base_url) {
            Ok((page, meta, links)) => {
                let groups: Vec<Value> = page.iter().map(|group| group_json(group, base_url)).collect();
                SimResponse::json(StatusCode::OK, &json!({ "groups": groups, "meta": meta, "links": links }))
            }
            Err(response) => *response,
        }
    }

    fn list_memberships(
        &self,
        request: &SimRequest,
        base_url: &Url,
        user_id: Option<i64>,
        group_id: Option<i64>,
    ) -> SimResponse {
        let state = lock(&self.state);
        if let Some(user_id) = user_id {
            if state.agent_index(user_id).is_none() {
                return not_found();
            }
        }
        if let Some(group_id) = group_id {
            if state.groups.binary_search_by_key(&group_id, |group| group.id).is_err() {
                return not_found();
            }
        }
        let mut matching: Vec<&Membership> = state
            .memberships
            .iter()
            .filter(|membership| user_id.is_none_or(|id| membership.user_id == id))
            .filter(|membership| group_id.is_none_or(|id| membership.group_id == id))
            .collect();
        matching.sort_by_key(|membership| membership.id);
        match cursor_page(&matching, |membership| membership.id, request, base_url) {
            Ok((page, meta, links)) => {
                let memberships: Vec<Value> =
                    page.iter().map(|membership| membership.to_json(base_url)).collect();
                SimResponse::json(
                    StatusCode::OK,
                    &json!({ "group_memberships": memberships, "meta": meta, "links": links }),
                )
            }
            Err(response) => *response,
        }
    }

    fn list_statuses(&self) -> SimResponse {
        let state = lock(&self.state);
        if !state.routing {
            return routing_off();
        }
        let mut defaults: Vec<&ZendeskUnifiedStatus> =
            state.statuses.iter().filter(|status| !status.custom).collect();
        let mut customs: Vec<&ZendeskUnifiedStatus> =
            state.statuses.iter().filter(|status| status.custom).collect();
        defaults.sort_by(|a, b| a.name.cmp(&b.name));
        customs.sort_by(|a, b| a.name.cmp(&b.name));
        let default: Vec<Value> = defaults.iter().map(|status| status.to_json()).collect();
        let custom: Vec<Value> = customs.iter().map(|status| status.to_json()).collect();
        SimResponse::json(
            StatusCode::OK,
            &json!({
                "default": default,
                "custom": custom,
                "links": { "next": null, "prev": null },
                "meta": { "has_more": false, "after_cursor": null, "before_cursor": null },
            }),
        )
    }

    fn list_availabilities(&self, request: &SimRequest, base_url: &Url) -> SimResponse {
        let wanted: Option<Vec<i64>> = match request.query_value("filter[agent_id]") {
            None => None,
            Some(list) => {
                let parsed: std::result::Result<Vec<i64>, _> = list
                    .split(',')
                    .filter(|id| !id.trim().is_empty())
                    .map(|id| id.trim().parse::<i64>())
                    .collect();
                match parsed {
                    Ok(ids) => Some(ids),
                    Err(_) => {
                        return classic_error(
                            StatusCode::BAD_REQUEST,
                            "InvalidFilter",
                            "filter[agent_id] must be a comma-separated list of ids",
                        );
                    }
                }
            }
        };
        let state = lock(&self.state);
        let matching: Vec<&ZendeskAgent> = state
            .agents
            .iter()
            .filter(|agent| agent.role.is_agent())
            .filter(|agent| wanted.as_ref().is_none_or(|ids| ids.contains(&agent.id)))
            .collect();
        match cursor_page(&matching, |agent| agent.id, request, base_url) {
            Ok((page, meta, links)) => {
                let mut data = Vec::with_capacity(page.len());
                let mut included = Vec::new();
                for agent in page {
                    let (resource, channels) = state.availability_json(agent, base_url);
                    data.push(resource);
                    included.extend(channels);
                }
                SimResponse::json(
                    StatusCode::OK,
                    &json!({ "data": data, "included": included, "links": links, "meta": meta }),
                )
            }
            Err(response) => *response,
        }
    }

    fn set_unified_status(&self, request: &SimRequest, agent_id: i64) -> SimResponse {
        let mut state = lock(&self.state);
        if !state.routing {
            return routing_off();
        }
        let Some(index) = state.staff_index(agent_id) else {
            return not_found();
        };
        let Some(body) = request.body_json() else {
            return classic_error(StatusCode::BAD_REQUEST, "BadRequest", "The request body must be JSON");
        };
        let Some(status_id) = requested_status_id(&body, state.unified_body) else {
            let expected = match state.unified_body {
                Some(UnifiedBody::IdObject) => "Invalid request body: expected {\"id\": <agent status id>}",
                Some(UnifiedBody::JsonApi) => {
                    "Invalid request body: expected {\"data\":{\"attributes\":{\"agent_status_id\": …}}}"
                }
                _ => {
                    "Invalid request body: expected {\"id\": <agent status id>} or {\"data\":{\"attributes\":{\"agent_status_id\": …}}}"
                }
            };
            return classic_error(StatusCode::BAD_REQUEST, "BadRequest", expected);
        };
        match state.set_status(index, status_id, REASON_PUBLIC_API) {
            Some(status) => SimResponse::json(
                StatusCode::OK,
                &json!({ "data": {
                    "attributes": {
                        "agent_id": agent_id,
                        "agent_status": { "id": status.id, "name": status.name },
                    },
                    "id": format!("agent_availabilities|{agent_id}"),
                    "type": "agent_availabilities",
                }}),
            ),
            None => invalid_record("id", &format!("Agent status {status_id} does not exist")),
        }
    }

    fn set_talk(&self, request: &SimRequest, agent_id: i64) -> SimResponse {
        let mut state = lock(&self.state);
        let Some(index) = state.staff_index(agent_id) else {
            return not_found();
        };
        let Some(body) = request.body_json() else {
            return classic_error(StatusCode::BAD_REQUEST, "BadRequest", "The request body must be JSON");
        };
        let Some(availability) = body.get("availability").and_then(Value::as_object) else {
            return classic_error(StatusCode::BAD_REQUEST, "BadRequest", "Expected {\"availability\": {…}}");
        };
        let agent_state = match availability.get("agent_state") {
            None => None,
            Some(Value::String(text)) if CHANNEL_STATES.contains(&text.as_str()) => Some(text.clone()),
            Some(_) => {
                return invalid_record(
                    "agent_state",
                    "agent_state must be online, offline, away or transfers_only",
                );
            }
        };
        let via = match availability.get("via") {
            None => None,
            Some(Value::String(text)) if matches!(text.as_str(), "client" | "phone") => Some(text.clone()),
            Some(_) => return invalid_record("via", "via must be client or phone"),
        };
        if state.routing && agent_state.is_some() {
            return classic_error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "agent_state cannot be updated while omnichannel routing is enabled; \
                 use the unified agent status API",
            );
        }
        let talk = &mut state.agents[index].talk;
        if let Some(agent_state) = agent_state {
            talk.agent_state = agent_state;
        }
        if let Some(via) = via {
            talk.via = via;
        }
        let view = state.talk_view(&state.agents[index]);
        SimResponse::json(StatusCode::OK, &view.to_json())
    }
}

fn group_json(group: &ZendeskGroupSeed, base_url: &Url) -> Value {
    json!({
        "id": group.id,
        "url": link(base_url, &format!("api/v2/groups/{}.json", group.id)),
        "name": group.name,
        "description": "",
        "default": false,
        "deleted": false,
        "is_public": true,
        "created_at": SEED_TIME,
        "updated_at": SEED_TIME,
    })
}

impl SimProvider for ZendeskProvider {
    fn name(&self) -> &'static str {
        "zendesk"
    }

    fn handle(&self, request: &SimRequest, base_url: &Url) -> SimResponse {
        let mut segments = request.path_segments();
        if let Some(last) = segments.last_mut() {
            *last = last.strip_suffix(".json").unwrap_or(last);
        }
        if let Some(response) = self.handle_talk(request, &segments, base_url) {
            return response;
        }
        let id = |text: &str| text.parse::<i64>().ok();
        match (&request.method, segments.as_slice()) {
            (&Method::GET, ["api", "v2", "users"]) => self.list_users(request, base_url),
            (&Method::GET, ["api", "v2", "users", user_id]) => {
                let state = lock(&self.state);
                match id(user_id).and_then(|user_id| state.agent_index(user_id)) {
                    Some(index) => SimResponse::json(
                        StatusCode::OK,
                        &json!({ "user": state.agents[index].to_user_json(base_url) }),
                    ),
                    None => not_found(),
                }
            }
            (&Method::GET, ["api", "v2", "users", user_id, "group_memberships"]) => match id(user_id) {
                Some(user_id) => self.list_memberships(request, base_url, Some(user_id), None),
                None => not_found(),
            },
            (&Method::GET, ["api", "v2", "incremental", "users", "cursor"]) => {
                self.incremental_users(request, base_url)
            }
            (&Method::GET, ["api", "v2", "groups"]) => self.list_groups(request, base_url),
            (&Method::GET, ["api", "v2", "webhooks"]) => self.list_webhooks(request, base_url),
            (&Method::POST, ["api", "v2", "webhooks"]) => self.create_webhook(request),
            (&Method::GET, ["api", "v2", "webhooks", webhook_id, "signing_secret"]) => {
                self.webhook_signing_secret(webhook_id)
            }
            (&Method::GET, ["api", "v2", "groups", group_id]) => {
                let state = lock(&self.state);
                match id(group_id)
                    .and_then(|group_id| state.groups.binary_search_by_key(&group_id, |g| g.id).ok())
                {
                    Some(index) => SimResponse::json(
                        StatusCode::OK,
                        &json!({ "group": group_json(&state.groups[index], base_url) }),
                    ),
                    None => not_found(),
                }
            }
            (&Method::GET, ["api", "v2", "groups", group_id, "memberships"]) => match id(group_id) {
                Some(group_id) => self.list_memberships(request, base_url, None, Some(group_id)),
                None => not_found(),
            },
            (&Method::GET, ["api", "v2", "group_memberships"]) => {
                self.list_memberships(request, base_url, None, None)
            }
            (&Method::GET, ["api", "v2", "account", "settings"]) => {
                let routing = lock(&self.state).routing;
                SimResponse::json(
                    StatusCode::OK,
                    &json!({ "settings": {
                        "agents": { "unified_agent_statuses": routing },
                        "routing": { "enabled": routing },
                    }}),
                )
            }
            (&Method::GET, ["api", "v2", "agent_availabilities"]) => {
                self.list_availabilities(request, base_url)
            }
            (&Method::GET, ["api", "v2", "agent_availabilities", "agent_statuses"]) => self.list_statuses(),
            (&Method::GET, ["api", "v2", "agent_availabilities", agent_id]) => {
                let state = lock(&self.state);
                match id(agent_id).and_then(|agent_id| state.staff_index(agent_id)) {
                    Some(index) => {
                        let (data, included) = state.availability_json(&state.agents[index], base_url);
                        SimResponse::json(StatusCode::OK, &json!({ "data": data, "included": included }))
                    }
                    None => not_found(),
                }
            }
            (&Method::PUT, ["api", "v2", "agent_availabilities", "agent_statuses", "agents", agent_id]) => {
                match id(agent_id) {
                    Some(agent_id) => self.set_unified_status(request, agent_id),
                    None => not_found(),
                }
            }
            (&Method::GET, ["api", "v2", "channels", "voice", "availabilities", agent_id]) => {
                let state = lock(&self.state);
                match id(agent_id).and_then(|agent_id| state.staff_index(agent_id)) {
                    Some(index) => {
                        let mut body = state.talk_view(&state.agents[index]).to_json();
                        if state.talk_bare {
                            body = body.get("availability").cloned().unwrap_or(body);
                        }
                        SimResponse::json(StatusCode::OK, &body)
                    }
                    None => not_found(),
                }
            }
            (&Method::PUT, ["api", "v2", "channels", "voice", "availabilities", agent_id]) => {
                match id(agent_id) {
                    Some(agent_id) => self.set_talk(request, agent_id),
                    None => not_found(),
                }
            }
            _ => classic_error(StatusCode::NOT_FOUND, "InvalidEndpoint", "Not found"),
        }
    }

    fn unauthorized(&self, _request: &SimRequest) -> SimResponse {
        SimResponse::json(StatusCode::UNAUTHORIZED, &json!({ "error": "Couldn't authenticate you" }))
    }

    fn too_many_requests(&self, status: &RateLimitStatus) -> SimResponse {
        classic_error(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            &format!(
                "Rate limit of {} requests exceeded; retry after {} s",
                status.limit,
                status.retry_after.as_secs()
            ),
        )
    }

    fn rate_limit_headers(&self, status: &RateLimitStatus, exceeded: bool) -> Vec<(&'static str, String)> {
        let mut headers = vec![
            ("x-rate-limit", status.limit.to_string()),
            ("x-rate-limit-remaining", status.remaining.to_string()),
        ];
        if exceeded {
            headers.push(("retry-after", status.retry_after.as_secs().to_string()));
        }
        headers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        assert_eq!(decode_cursor(&encode_cursor(16_765_840_571_292)), Some(16_765_840_571_292));
        assert_eq!(decode_cursor("not a cursor"), None);
        assert_eq!(decode_cursor(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("x:1")), None);
    }

    #[test]
    fn status_id_is_read_from_both_body_shapes() {
        assert_eq!(requested_status_id(&json!({ "id": 4 }), None), Some(4));
        assert_eq!(requested_status_id(&json!({ "id": "4" }), None), Some(4));
        let jsonapi = json!({ "data": { "type": "agent_status", "attributes": { "agent_status_id": "1" } } });
        assert_eq!(requested_status_id(&jsonapi, None), Some(1));
        assert_eq!(requested_status_id(&json!({ "status": 4 }), None), None);
    }

    #[test]
    fn signature_matches_a_known_vector() {
        // base64(HMAC-SHA256(key="secret", msg="2021-03-25T05:09:27Z{}")), computed with Python's hmac.
        let signature = webhook_signature("secret", "2021-03-25T05:09:27Z", b"{}");
        assert_eq!(signature, "GhpvRAaZJm2qK40ZLj6n1F3eNwgxlwXQSHVuQ3hNtsA=");
        assert_ne!(signature, webhook_signature("secret", "2021-03-25T05:09:28Z", b"{}"));
    }
}
