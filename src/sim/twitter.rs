//! X (Twitter) API v2 simulator (`/2/...`).
//!
//! Serves, on the real paths and with the real payload shapes (see the X provider
//! reference and the v2.159 OpenAPI document):
//!
//! | Method | Path | Notes |
//! |---|---|---|
//! | GET | `/2/dm_events` | every DM event of our account, newest first; `max_results` 1–100 (default 100), `pagination_token`, `event_types`, `dm_event.fields`, `expansions` (`sender_id`, `attachments.media_keys`, …), `media.fields`, `user.fields`, `tweet.fields` |
//! | GET | `/2/users/{id}/mentions` | posts by others that mention `@username` or reply to the user, newest first; `since_id`, `until_id`, `max_results` 5–100 (default 10), `pagination_token`, `tweet.fields`, `expansions`, `media.fields`, `user.fields` |
//! | POST | `/2/dm_conversations/with/{participant_id}/messages` | `{"text"}` → `201 {"data":{"dm_conversation_id","dm_event_id"}}`; the DM then appears in `/2/dm_events` as an event sent by our account, as on X |
//! | POST | `/2/tweets` | `{"text","reply":{"in_reply_to_tweet_id"}}` → `201 {"data":{"id","text","edit_history_tweet_ids"}}` |
//! | GET | `/2/dm_conversations/media/{dm_id}/{media_id}/{resource_id}` | a DM attachment's bytes (`media_id` = the numeric part of its media key), user context only |
//! | GET | `/2/webhooks` | registered webhooks; app-only bearer token ([`XSimConfig::app_token`]) only, else 403 |
//! | POST | `/2/webhooks` | `{"url"}` → `{"data":{"id","url","valid","created_at"}}`; a URL already registered answers 400 |
//! | GET, POST | `/2/account_activity/webhooks/{id}/subscriptions/all` | user context only; `{"data":{"subscribed"}}` |
//!
//! **As strict as X:** an undeclared query parameter, an unknown value in a `*.fields` or
//! `expansions` list, an out-of-range `max_results`, an unreadable token, an undeclared body
//! property or an unknown reply target answer `400` with X's problem shape
//! (`{"errors":[{"message"}],"title":"Invalid Request","detail","type":
//! "https://api.twitter.com/2/problems/invalid-request"}`). Object fields beyond `id`,
//! `text` (and `event_type`) are returned only when requested, and `includes` only for
//! requested expansions, as X does; an expanded id (`sender_id`, `author_id`,
//! `in_reply_to_user_id`, the referenced posts) fills its field on the object too.
//!
//! **Two vocabularies:** by default the list endpoints enforce the v2.159 document's
//! parameter and field names; [`XSim::set_field_set`] switches them to the v2.167
//! production document's (`post.fields` instead of `tweet.fields`, no `sender_id` /
//! `referenced_tweets` in `dm_event.fields`, `referenced_posts`), so a test can play the
//! day X changes its API under a running client.
//!
//! **Ids** are snowflakes derived from the creation time (`(ms - 1288834974657) << 22`,
//! plus a sequence), so they grow with time as X's do. **Pagination tokens** are opaque
//! (hex, at least 16 characters as the spec requires for DM tokens) and stable while new
//! items arrive.
//!
//! **Auth:** `Authorization: Bearer <user token>` ([`XSimConfig::DEFAULT_TOKEN`] by
//! default), else `401 {"title":"Unauthorized","type":"about:blank","status":401,…}`.
//! **Rate limits** ([`RateLimitRule`]): `x-rate-limit-limit`, `x-rate-limit-remaining`,
//! `x-rate-limit-reset` (UNIX seconds) on every counted answer; a spent limit answers
//! `429 {"title":"Too Many Requests",…}` with the same headers and **no** `Retry-After`.
//!
//! **Webhooks** (Account Activity API): the CRC check is answered by the receiver, so the
//! simulator only builds deliveries: [`XSim::dm_delivery`] and [`XSim::mention_delivery`]
//! produce v1.1-shaped `direct_message_events` / `tweet_create_events` bodies signed with
//! `x-twitter-webhooks-signature: sha256=base64(HMAC-SHA256(consumer secret, body))`.
//!
//! [`XSim::start_with_sample`] seeds a realistic account; see its documentation.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::http::{Method, StatusCode};
use base64::Engine as _;
use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use hmac::{Hmac, Mac};
use serde_json::{Map, Value, json};
use sha2::Sha256;
use url::Url;

use super::WebhookDelivery;
use super::server::lock;
use super::{Credential, RateLimitRule, RateLimitStatus, SimProvider, SimRequest, SimResponse, SimServer};
use crate::twitter::XFieldSet;
use crate::{Error, Result};

/// X's snowflake epoch (2010-11-04T01:42:54.657Z), in UNIX milliseconds.
const SNOWFLAKE_EPOCH_MS: i64 = 1_288_834_974_657;

const DM_EVENT_FIELDS: &[&str] = &[
    "attachments",
    "created_at",
    "dm_conversation_id",
    "entities",
    "event_type",
    "id",
    "participant_ids",
    "referenced_tweets",
    "sender_id",
    "text",
];
const DM_EXPANSIONS: &[&str] =
    &["attachments.media_keys", "participant_ids", "referenced_tweets.id", "sender_id"];
const MEDIA_FIELDS: &[&str] = &[
    "alt_text",
    "duration_ms",
    "height",
    "media_key",
    "non_public_metrics",
    "organic_metrics",
    "preview_image_url",
    "promoted_metrics",
    "public_metrics",
    "type",
    "url",
    "variants",
    "width",
];
const USER_FIELDS: &[&str] = &[
    "affiliation",
    "confirmed_email",
    "connection_status",
    "created_at",
    "description",
    "entities",
    "id",
    "is_identity_verified",
    "location",
    "most_recent_tweet_id",
    "name",
    "parody",
    "pinned_tweet_id",
    "profile_banner_url",
    "profile_image_url",
    "protected",
    "public_metrics",
    "receives_your_dm",
    "subscription",
    "subscription_type",
    "url",
    "username",
    "verified",
    "verified_followers_count",
    "verified_type",
    "withheld",
];
const TWEET_FIELDS: &[&str] = &[
    "article",
    "attachments",
    "author_id",
    "card_uri",
    "community_id",
    "context_annotations",
    "conversation_id",
    "created_at",
    "display_text_range",
    "edit_controls",
    "edit_history_tweet_ids",
    "entities",
    "geo",
    "id",
    "in_reply_to_user_id",
    "lang",
    "media_metadata",
    "non_public_metrics",
    "note_tweet",
    "organic_metrics",
    "possibly_sensitive",
    "promoted_metrics",
    "public_metrics",
    "referenced_tweets",
    "reply_settings",
    "scopes",
    "source",
    "suggested_source_links",
    "suggested_source_links_with_counts",
    "text",
    "withheld",
];
const TWEET_EXPANSIONS: &[&str] = &[
    "article.cover_media",
    "article.media_entities",
    "attachments.media_keys",
    "attachments.media_source_tweet",
    "attachments.poll_ids",
    "author_id",
    "edit_history_tweet_ids",
    "entities.mentions.username",
    "geo.place_id",
    "in_reply_to_user_id",
    "entities.note.mentions.username",
    "referenced_tweets.id",
    "referenced_tweets.id.attachments.media_keys",
    "referenced_tweets.id.author_id",
];

// The v2.167 production document's vocabulary (`post.fields` replaces `tweet.fields`;
// `sender_id`, `author_id`, `in_reply_to_user_id` and the referenced posts come only
// with their expansions).
const DM_EVENT_FIELDS_V2_167: &[&str] =
    &["attachments", "created_at", "dm_conversation_id", "entities", "event_type", "id", "text"];
const DM_EXPANSIONS_V2_167: &[&str] =
    &["attachments.media_keys", "participant_ids", "referenced_posts", "sender_id"];
const USER_FIELDS_V2_167: &[&str] = &[
    "confirmed_email",
    "connection_status",
    "created_at",
    "description",
    "entities",
    "id",
    "is_identity_verified",
    "location",
    "name",
    "parody",
    "profile_banner_url",
    "profile_image_url",
    "protected",
    "public_metrics",
    "receives_your_dm",
    "subscribes_to_you",
    "subscription",
    "subscription_type",
    "url",
    "username",
    "verified",
    "verified_followers_count",
    "verified_type",
    "withheld",
];
const POST_FIELDS_V2_167: &[&str] = &[
    "article",
    "article_title",
    "attachments",
    "card_uri",
    "community_id",
    "context_annotations",
    "conversation_id",
    "created_at",
    "display_text_range",
    "edit_controls",
    "entities",
    "geo",
    "id",
    "lang",
    "matched_media_notes",
    "media_metadata",
    "non_public_metrics",
    "note_post",
    "note_request_suggestions",
    "organic_metrics",
    "paid_partnership",
    "possibly_sensitive",
    "promoted_metrics",
    "public_metrics",
    "reply_settings",
    "scopes",
    "source",
    "suggested_source_links",
    "suggested_source_links_with_counts",
    "text",
    "withheld",
];
const POST_EXPANSIONS_V2_167: &[&str] = &[
    "article.cover_media",
    "article.media_entities",
    "attachments.media_keys",
    "attachments.media_source_tweet",
    "attachments.poll_ids",
    "author_id",
    "edit_history_post_ids",
    "entities.mentions.username",
    "geo.place_id",
    "in_reply_to_user_id",
    "referenced_posts",
    "username",
];

/// Marks a DM photo whose URL is filled in when the DM gets its id.
const DM_MEDIA_PLACEHOLDER: &str = "dm-media:";

/// A user account in the simulator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XSimUser {
    /// Numeric user id, as a string.
    pub id: String,
    /// Handle without `@`.
    pub username: String,
    /// Display name.
    pub name: String,
}

impl XSimUser {
    /// A user.
    pub fn new(id: impl Into<String>, username: impl Into<String>, name: impl Into<String>) -> Self {
        Self { id: id.into(), username: username.into(), name: name.into() }
    }
}

/// A media attachment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XSimMedia {
    /// Media key (assigned by the simulator: `3_…` photos, `16_…` GIFs, `7_…` videos).
    pub media_key: String,
    /// `photo`, `animated_gif`, `video`.
    pub kind: String,
    /// Direct URL (photos).
    pub url: Option<String>,
    /// Preview image (GIFs, videos).
    pub preview_image_url: Option<String>,
}

impl XSimMedia {
    /// A photo at `url`.
    pub fn photo(url: impl Into<String>) -> Self {
        Self {
            media_key: String::new(),
            kind: "photo".into(),
            url: Some(url.into()),
            preview_image_url: None,
        }
    }

    /// A photo sent in a DM, served as X serves DM media: its URL is filled in when the DM
    /// is added (`https://ton.twitter.com/1.1/ton/data/dm/{dm_id}/{media_id}/{file_name}`),
    /// and the bytes come only from `GET /2/dm_conversations/media/…` with the user's
    /// credentials.
    pub fn dm_photo(file_name: impl Into<String>) -> Self {
        Self {
            media_key: String::new(),
            kind: "photo".into(),
            url: Some(format!("{DM_MEDIA_PLACEHOLDER}{}", file_name.into())),
            preview_image_url: None,
        }
    }

    /// An animated GIF with its preview image.
    pub fn animated_gif(preview_image_url: impl Into<String>) -> Self {
        Self {
            media_key: String::new(),
            kind: "animated_gif".into(),
            url: None,
            preview_image_url: Some(preview_image_url.into()),
        }
    }

    /// A video with its preview image.
    pub fn video(preview_image_url: impl Into<String>) -> Self {
        Self {
            media_key: String::new(),
            kind: "video".into(),
            url: None,
            preview_image_url: Some(preview_image_url.into()),
        }
    }

    fn key_prefix(&self) -> &'static str {
        match self.kind.as_str() {
            "photo" => "3",
            "animated_gif" => "16",
            _ => "7",
        }
    }

    fn to_v2_json(&self, fields: &HashSet<String>) -> Value {
        let mut object = Map::new();
        object.insert("media_key".into(), json!(self.media_key));
        object.insert("type".into(), json!(self.kind));
        if fields.contains("url") {
            if let Some(url) = &self.url {
                object.insert("url".into(), json!(url));
            }
        }
        if fields.contains("preview_image_url") {
            if let Some(url) = &self.preview_image_url {
                object.insert("preview_image_url".into(), json!(url));
            }
        }
        Value::Object(object)
    }

    fn to_v1_json(&self) -> Value {
        let id = self.media_key.split('_').nth(1).unwrap_or_default();
        let url = self.url.clone().or_else(|| self.preview_image_url.clone()).unwrap_or_default();
        json!({
            "id": id.parse::<u64>().unwrap_or_default(),
            "id_str": id,
            "media_url": url.replacen("https://", "http://", 1),
            "media_url_https": url,
            "type": self.kind,
        })
    }
}

/// A DM event (always `MessageCreate`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XSimDm {
    /// Event id.
    pub id: String,
    /// Sender.
    pub sender_id: String,
    /// Recipient.
    pub recipient_id: String,
    /// Text.
    pub text: String,
    /// When it was sent.
    pub created_at: DateTime<Utc>,
    /// Attached media.
    pub media: Vec<XSimMedia>,
    /// Sent through the API (by our client), not seeded.
    pub via_api: bool,
}

impl XSimDm {
    /// `{smaller id}-{larger id}`, as X names one-to-one conversations.
    pub fn conversation_id(&self) -> String {
        conversation_id(&self.sender_id, &self.recipient_id)
    }
}

/// A post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XSimPost {
    /// Post id.
    pub id: String,
    /// Author.
    pub author_id: String,
    /// Text.
    pub text: String,
    /// When it was posted.
    pub created_at: DateTime<Utc>,
    /// The post it replies to.
    pub in_reply_to: Option<String>,
    /// The author of the post it replies to.
    pub in_reply_to_user_id: Option<String>,
    /// The thread's first post.
    pub conversation_id: String,
    /// Attached media.
    pub media: Vec<XSimMedia>,
    /// Posted through the API (by our client), not seeded.
    pub via_api: bool,
}

/// How to start an [`XSim`].
#[derive(Debug, Clone)]
pub struct XSimConfig {
    /// Our account (the authenticated user).
    pub own: XSimUser,
    /// Other users.
    pub users: Vec<XSimUser>,
    /// The accepted bearer token (OAuth 2.0 user token).
    pub token: String,
    /// Rate limits (none by default).
    pub rate_limits: Vec<RateLimitRule>,
    /// The app's bearer token (app-only authentication), accepted by `GET /2/webhooks`.
    pub app_token: String,
}

impl XSimConfig {
    /// The user token accepted by default.
    pub const DEFAULT_TOKEN: &'static str = "sim-x-user-token";
    /// The app bearer token accepted by default (webhook listing).
    pub const DEFAULT_APP_TOKEN: &'static str = "sim-x-app-bearer-token";

    /// Our account `own`, no other users, the default token, no rate limit.
    pub fn new(own: XSimUser) -> Self {
        Self {
            own,
            users: Vec::new(),
            token: Self::DEFAULT_TOKEN.to_owned(),
            rate_limits: Vec::new(),
            app_token: Self::DEFAULT_APP_TOKEN.to_owned(),
        }
    }

    /// Add a user.
    pub fn user(mut self, user: XSimUser) -> Self {
        self.users.push(user);
        self
    }

    /// Accept this token instead of the default.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = token.into();
        self
    }

    /// Enforce this rate limit (X: 300 DM reads per 15 minutes per user, shared by the
    /// DM lookup endpoints; mentions 300 per 15 minutes per user).
    pub fn rate_limit(mut self, rule: RateLimitRule) -> Self {
        self.rate_limits.push(rule);
        self
    }
}

#[derive(Debug)]
struct XState {
    own_id: String,
    users: Vec<XSimUser>,
    dms: BTreeMap<u64, XSimDm>,
    posts: BTreeMap<u64, XSimPost>,
    media_counter: u64,
    /// Which OpenAPI document's query vocabulary the list endpoints enforce.
    field_set: XFieldSet,
    /// The app's bearer token (app-only endpoints).
    app_token: String,
    /// Registered webhooks: (id, url).
    webhooks: Vec<(String, String)>,
    /// Webhook ids our account's activity is subscribed to.
    subscriptions: HashSet<String>,
}

impl XState {
    fn user(&self, id: &str) -> Option<&XSimUser> {
        self.users.iter().find(|user| user.id == id)
    }

    /// A fresh snowflake for `at`, unique among DMs and posts.
    fn next_id(&self, at: DateTime<Utc>) -> u64 {
        let millis = u64::try_from(at.timestamp_millis().saturating_sub(SNOWFLAKE_EPOCH_MS)).unwrap_or(0);
        let mut id = millis << 22;
        while self.dms.contains_key(&id) || self.posts.contains_key(&id) {
            id += 1;
        }
        id
    }

    fn assign_media(&mut self, media: Vec<XSimMedia>) -> Vec<XSimMedia> {
        media
            .into_iter()
            .map(|mut m| {
                self.media_counter += 1;
                m.media_key =
                    format!("{}_{}", m.key_prefix(), 1_700_000_000_000_000_000 + self.media_counter);
                m
            })
            .collect()
    }

    fn add_dm(
        &mut self,
        sender_id: &str,
        recipient_id: &str,
        text: &str,
        at: DateTime<Utc>,
        media: Vec<XSimMedia>,
        via_api: bool,
    ) -> Result<XSimDm> {
        for id in [sender_id, recipient_id] {
            if self.user(id).is_none() {
                return Err(Error::invalid("x simulator DM", format!("unknown user {id}")));
            }
        }
        if sender_id != self.own_id && recipient_id != self.own_id {
            return Err(Error::invalid("x simulator DM", "one side must be our own account"));
        }
        let id = self.next_id(at);
        let mut media = self.assign_media(media);
        for item in &mut media {
            if let Some(file) = item.url.as_deref().and_then(|u| u.strip_prefix(DM_MEDIA_PLACEHOLDER)) {
                let media_id = item.media_key.rsplit('_').next().unwrap_or_default();
                item.url = Some(format!("https://ton.twitter.com/1.1/ton/data/dm/{id}/{media_id}/{file}"));
            }
        }
        let dm = XSimDm {
            id: id.to_string(),
            sender_id: sender_id.to_owned(),
            recipient_id: recipient_id.to_owned(),
            text: text.to_owned(),
            created_at: at,
            media,
            via_api,
        };
        self.dms.insert(id, dm.clone());
        Ok(dm)
    }

    fn add_post(
        &mut self,
        author_id: &str,
        text: &str,
        in_reply_to: Option<&str>,
        at: DateTime<Utc>,
        media: Vec<XSimMedia>,
        via_api: bool,
    ) -> Result<XSimPost> {
        if self.user(author_id).is_none() {
            return Err(Error::invalid("x simulator post", format!("unknown user {author_id}")));
        }
        let parent =
            match in_reply_to {
                Some(parent_id) => Some(
                    parent_id.parse::<u64>().ok().and_then(|key| self.posts.get(&key)).cloned().ok_or_else(
                        || Error::invalid("x simulator post", format!("unknown post {parent_id}")),
                    )?,
                ),
                None => None,
            };
        let id = self.next_id(at);
        let media = self.assign_media(media);
        let post = XSimPost {
            id: id.to_string(),
            author_id: author_id.to_owned(),
            text: text.to_owned(),
            created_at: at,
            in_reply_to: parent.as_ref().map(|p| p.id.clone()),
            in_reply_to_user_id: parent.as_ref().map(|p| p.author_id.clone()),
            conversation_id: parent
                .as_ref()
                .map(|p| p.conversation_id.clone())
                .unwrap_or_else(|| id.to_string()),
            media,
            via_api,
        };
        self.posts.insert(id, post.clone());
        Ok(post)
    }

    fn mentions(&self, post: &XSimPost, user: &XSimUser) -> bool {
        post.author_id != user.id
            && (post.in_reply_to_user_id.as_deref() == Some(user.id.as_str())
                || mentions_handle(&post.text, &user.username))
    }
}

fn mentions_handle(text: &str, username: &str) -> bool {
    let needle = format!("@{}", username.to_ascii_lowercase());
    let lower = text.to_ascii_lowercase();
    lower.match_indices(&needle).any(|(start, _)| {
        let end = start + needle.len();
        lower[end..].chars().next().is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'))
    })
}

fn conversation_id(a: &str, b: &str) -> String {
    let (a_num, b_num) = (a.parse::<u64>().unwrap_or(0), b.parse::<u64>().unwrap_or(0));
    if a_num <= b_num { format!("{a}-{b}") } else { format!("{b}-{a}") }
}

fn iso(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn encode_token(last_id: u64) -> String {
    format!("{:x}", u128::from(last_id) | (1u128 << 80))
}

fn decode_token(token: &str) -> Option<u64> {
    let value = u128::from_str_radix(token, 16).ok()?;
    if value >> 80 != 1 {
        return None;
    }
    u64::try_from(value & ((1u128 << 80) - 1)).ok()
}

fn problem(status: StatusCode, detail: &str) -> SimResponse {
    let title = if status == StatusCode::BAD_REQUEST { "Invalid Request" } else { "Error" };
    let kind = if status == StatusCode::BAD_REQUEST {
        "https://api.twitter.com/2/problems/invalid-request"
    } else {
        "about:blank"
    };
    SimResponse::json(
        status,
        &json!({
            "errors": [{ "message": detail, "parameters": {} }],
            "title": title,
            "detail": detail,
            "type": kind,
            "status": status.as_u16(),
        }),
    )
}

fn bad_request(detail: impl AsRef<str>) -> SimResponse {
    problem(StatusCode::BAD_REQUEST, detail.as_ref())
}

/// The parsed, checked query of a list request.
struct ListQuery {
    pairs: Vec<(String, String)>,
}

// Handlers return their error answer as `Err`; it is moved once per request, so its size
// does not matter.
#[allow(clippy::result_large_err)]
impl ListQuery {
    fn parse(request: &SimRequest, allowed: &[&str]) -> std::result::Result<Self, SimResponse> {
        let pairs = request.query_pairs();
        let mut seen = HashSet::new();
        for (key, _) in &pairs {
            if !allowed.contains(&key.as_str()) {
                return Err(bad_request(format!(
                    "The query parameter [{key}] is not one of [{}]",
                    allowed.join(",")
                )));
            }
            if !seen.insert(key.clone()) {
                return Err(bad_request(format!("The query parameter [{key}] may only be given once")));
            }
        }
        Ok(Self { pairs })
    }

    fn value(&self, key: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    fn list(&self, key: &str, allowed: &[&str]) -> std::result::Result<HashSet<String>, SimResponse> {
        let mut set = HashSet::new();
        if let Some(value) = self.value(key) {
            for item in value.split(',') {
                if !allowed.contains(&item) {
                    return Err(bad_request(format!(
                        "The `{key}` query parameter value [{item}] is not one of [{}]",
                        allowed.join(",")
                    )));
                }
                set.insert(item.to_owned());
            }
        }
        Ok(set)
    }

    fn max_results(&self, min: u32, max: u32, default: u32) -> std::result::Result<usize, SimResponse> {
        match self.value("max_results") {
            None => Ok(default as usize),
            Some(text) => match text.parse::<u32>() {
                Ok(n) if (min..=max).contains(&n) => Ok(n as usize),
                _ => Err(bad_request(format!(
                    "The `max_results` query parameter value [{text}] is not between {min} and {max}"
                ))),
            },
        }
    }

    fn token(&self) -> std::result::Result<Option<u64>, SimResponse> {
        match self.value("pagination_token") {
            None => Ok(None),
            Some(token) => decode_token(token).map(Some).ok_or_else(|| {
                bad_request(format!("The `pagination_token` query parameter value [{token}] is invalid"))
            }),
        }
    }

    fn id(&self, key: &str) -> std::result::Result<Option<u64>, SimResponse> {
        match self.value(key) {
            None => Ok(None),
            Some(text) => text
                .parse::<u64>()
                .map(Some)
                .map_err(|_| bad_request(format!("The `{key}` query parameter value [{text}] is not valid"))),
        }
    }
}

fn user_json(user: &XSimUser, fields: &HashSet<String>) -> Value {
    let mut object = Map::new();
    object.insert("id".into(), json!(user.id));
    object.insert("name".into(), json!(user.name));
    object.insert("username".into(), json!(user.username));
    if fields.contains("created_at") {
        object.insert("created_at".into(), json!("2015-03-01T10:00:00.000Z"));
    }
    Value::Object(object)
}

/// Collected expansions of one page.
#[derive(Default)]
struct Expanded {
    user_ids: Vec<String>,
    media: Vec<XSimMedia>,
}

impl Expanded {
    fn user(&mut self, id: &str) {
        if !self.user_ids.iter().any(|u| u == id) {
            self.user_ids.push(id.to_owned());
        }
    }

    fn into_json(
        self,
        state: &XState,
        user_fields: &HashSet<String>,
        media_fields: &HashSet<String>,
    ) -> Value {
        let mut includes = Map::new();
        let users: Vec<Value> =
            self.user_ids.iter().filter_map(|id| state.user(id)).map(|u| user_json(u, user_fields)).collect();
        if !users.is_empty() {
            includes.insert("users".into(), Value::Array(users));
        }
        let media: Vec<Value> = self.media.iter().map(|m| m.to_v2_json(media_fields)).collect();
        if !media.is_empty() {
            includes.insert("media".into(), Value::Array(media));
        }
        Value::Object(includes)
    }
}

struct XProvider {
    state: Arc<Mutex<XState>>,
}

#[allow(clippy::result_large_err)]
impl XProvider {
    fn list_dm_events(&self, request: &SimRequest) -> std::result::Result<SimResponse, SimResponse> {
        let v2_167 = lock(&self.state).field_set == XFieldSet::V2_167;
        let (query, fields, expansions, media_fields, user_fields) = if v2_167 {
            let query = ListQuery::parse(
                request,
                &[
                    "max_results",
                    "pagination_token",
                    "event_types",
                    "dm_event.fields",
                    "expansions",
                    "user.fields",
                    "post.fields",
                    "media.fields",
                ],
            )?;
            query.list("post.fields", POST_FIELDS_V2_167)?;
            let fields = query.list("dm_event.fields", DM_EVENT_FIELDS_V2_167)?;
            let expansions = query.list("expansions", DM_EXPANSIONS_V2_167)?;
            let media_fields = query.list("media.fields", MEDIA_FIELDS)?;
            let user_fields = query.list("user.fields", USER_FIELDS_V2_167)?;
            (query, fields, expansions, media_fields, user_fields)
        } else {
            let query = ListQuery::parse(
                request,
                &[
                    "max_results",
                    "pagination_token",
                    "event_types",
                    "dm_event.fields",
                    "expansions",
                    "media.fields",
                    "user.fields",
                    "tweet.fields",
                ],
            )?;
            query.list("tweet.fields", TWEET_FIELDS)?;
            let fields = query.list("dm_event.fields", DM_EVENT_FIELDS)?;
            let expansions = query.list("expansions", DM_EXPANSIONS)?;
            let media_fields = query.list("media.fields", MEDIA_FIELDS)?;
            let user_fields = query.list("user.fields", USER_FIELDS)?;
            (query, fields, expansions, media_fields, user_fields)
        };
        let event_types =
            query.list("event_types", &["MessageCreate", "ParticipantsJoin", "ParticipantsLeave"])?;
        let max_results = query.max_results(1, 100, 100)?;
        let before = query.token()?;

        let state = lock(&self.state);
        let include_messages = event_types.is_empty() || event_types.contains("MessageCreate");
        let mut events: Vec<&XSimDm> = if include_messages {
            state.dms.range(..before.unwrap_or(u64::MAX)).rev().map(|(_, dm)| dm).collect()
        } else {
            Vec::new()
        };
        let more = events.len() > max_results;
        events.truncate(max_results);
        let mut expanded = Expanded::default();
        let data: Vec<Value> = events
            .iter()
            .map(|dm| {
                let mut object = Map::new();
                object.insert("id".into(), json!(dm.id));
                object.insert("event_type".into(), json!("MessageCreate"));
                object.insert("text".into(), json!(dm.text));
                // X fills an expanded id field even when it is not a requested field
                // (v2.167 only offers `sender_id` as an expansion).
                if fields.contains("sender_id") || expansions.contains("sender_id") {
                    object.insert("sender_id".into(), json!(dm.sender_id));
                }
                if fields.contains("created_at") {
                    object.insert("created_at".into(), json!(iso(&dm.created_at)));
                }
                if fields.contains("dm_conversation_id") {
                    object.insert("dm_conversation_id".into(), json!(dm.conversation_id()));
                }
                if fields.contains("attachments") && !dm.media.is_empty() {
                    let keys: Vec<&str> = dm.media.iter().map(|m| m.media_key.as_str()).collect();
                    object.insert("attachments".into(), json!({ "media_keys": keys }));
                }
                if expansions.contains("sender_id") {
                    expanded.user(&dm.sender_id);
                }
                if expansions.contains("attachments.media_keys") {
                    expanded.media.extend(dm.media.iter().cloned());
                }
                Value::Object(object)
            })
            .collect();
        let mut meta = Map::new();
        meta.insert("result_count".into(), json!(data.len()));
        if more {
            if let Some(last) = events.last().and_then(|dm| dm.id.parse::<u64>().ok()) {
                meta.insert("next_token".into(), json!(encode_token(last)));
            }
        }
        if before.is_some() {
            if let Some(first) = events.first().and_then(|dm| dm.id.parse::<u64>().ok()) {
                meta.insert("previous_token".into(), json!(encode_token(first)));
            }
        }
        let mut body = Map::new();
        if !data.is_empty() {
            body.insert("data".into(), Value::Array(data));
            let includes = expanded.into_json(&state, &user_fields, &media_fields);
            if includes.as_object().is_some_and(|o| !o.is_empty()) {
                body.insert("includes".into(), includes);
            }
        }
        body.insert("meta".into(), Value::Object(meta));
        Ok(SimResponse::json(StatusCode::OK, &Value::Object(body)))
    }

    fn list_mentions(
        &self,
        request: &SimRequest,
        user_id: &str,
    ) -> std::result::Result<SimResponse, SimResponse> {
        let v2_167 = lock(&self.state).field_set == XFieldSet::V2_167;
        let fields_key = if v2_167 { "post.fields" } else { "tweet.fields" };
        let query = ListQuery::parse(
            request,
            &[
                "since_id",
                "until_id",
                "max_results",
                "pagination_token",
                "start_time",
                "end_time",
                fields_key,
                "expansions",
                "media.fields",
                "poll.fields",
                "user.fields",
                "place.fields",
            ],
        )?;
        let (fields, expansions, user_fields) = if v2_167 {
            (
                query.list("post.fields", POST_FIELDS_V2_167)?,
                query.list("expansions", POST_EXPANSIONS_V2_167)?,
                query.list("user.fields", USER_FIELDS_V2_167)?,
            )
        } else {
            (
                query.list("tweet.fields", TWEET_FIELDS)?,
                query.list("expansions", TWEET_EXPANSIONS)?,
                query.list("user.fields", USER_FIELDS)?,
            )
        };
        let media_fields = query.list("media.fields", MEDIA_FIELDS)?;
        let max_results = query.max_results(5, 100, 10)?;
        let before = query.token()?;
        let since = query.id("since_id")?;
        let until = query.id("until_id")?;

        let state = lock(&self.state);
        let Some(user) = state.user(user_id).cloned() else {
            return Err(problem(
                StatusCode::NOT_FOUND,
                &format!("Could not find user with id: [{user_id}]."),
            ));
        };
        let upper = match (before, until) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => u64::MAX,
        };
        let lower = since.map_or(std::ops::Bound::Unbounded, std::ops::Bound::Excluded);
        let mut posts: Vec<&XSimPost> = state
            .posts
            .range((lower, std::ops::Bound::Excluded(upper)))
            .rev()
            .map(|(_, post)| post)
            .filter(|post| state.mentions(post, &user))
            .collect();
        let more = posts.len() > max_results;
        posts.truncate(max_results);
        let mut expanded = Expanded::default();
        let data: Vec<Value> = posts
            .iter()
            .map(|post| {
                let mut object = Map::new();
                object.insert("id".into(), json!(post.id));
                object.insert("text".into(), json!(post.text));
                object.insert("edit_history_tweet_ids".into(), json!([post.id]));
                // An expanded id field is filled even when not requested as a field (v2.167
                // offers `author_id`, `in_reply_to_user_id` and `referenced_posts` only
                // as expansions).
                if fields.contains("author_id") || expansions.contains("author_id") {
                    object.insert("author_id".into(), json!(post.author_id));
                }
                if fields.contains("created_at") {
                    object.insert("created_at".into(), json!(iso(&post.created_at)));
                }
                if fields.contains("conversation_id") {
                    object.insert("conversation_id".into(), json!(post.conversation_id));
                }
                if fields.contains("in_reply_to_user_id") || expansions.contains("in_reply_to_user_id") {
                    if let Some(id) = &post.in_reply_to_user_id {
                        object.insert("in_reply_to_user_id".into(), json!(id));
                    }
                }
                let referenced_key = if v2_167 { "referenced_posts" } else { "referenced_tweets" };
                if fields.contains("referenced_tweets")
                    || expansions.contains("referenced_tweets.id")
                    || expansions.contains("referenced_posts")
                {
                    if let Some(id) = &post.in_reply_to {
                        object.insert(referenced_key.into(), json!([{ "type": "replied_to", "id": id }]));
                    }
                }
                if fields.contains("attachments") && !post.media.is_empty() {
                    let keys: Vec<&str> = post.media.iter().map(|m| m.media_key.as_str()).collect();
                    object.insert("attachments".into(), json!({ "media_keys": keys }));
                }
                if expansions.contains("author_id") {
                    expanded.user(&post.author_id);
                }
                if expansions.contains("in_reply_to_user_id") {
                    if let Some(id) = &post.in_reply_to_user_id {
                        expanded.user(id);
                    }
                }
                if expansions.contains("attachments.media_keys") {
                    expanded.media.extend(post.media.iter().cloned());
                }
                Value::Object(object)
            })
            .collect();
        let mut meta = Map::new();
        meta.insert("result_count".into(), json!(data.len()));
        if let (Some(first), Some(last)) = (posts.first(), posts.last()) {
            meta.insert("newest_id".into(), json!(first.id));
            meta.insert("oldest_id".into(), json!(last.id));
            if more {
                if let Ok(last) = last.id.parse::<u64>() {
                    meta.insert("next_token".into(), json!(encode_token(last)));
                }
            }
        }
        let mut body = Map::new();
        if !data.is_empty() {
            body.insert("data".into(), Value::Array(data));
            let includes = expanded.into_json(&state, &user_fields, &media_fields);
            if includes.as_object().is_some_and(|o| !o.is_empty()) {
                body.insert("includes".into(), includes);
            }
        }
        body.insert("meta".into(), Value::Object(meta));
        Ok(SimResponse::json(StatusCode::OK, &Value::Object(body)))
    }

    fn send_dm(
        &self,
        request: &SimRequest,
        participant_id: &str,
    ) -> std::result::Result<SimResponse, SimResponse> {
        let body = request.body_json().ok_or_else(|| bad_request("The request body is not valid JSON"))?;
        let object = body.as_object().ok_or_else(|| bad_request("The request body must be a JSON object"))?;
        if let Some(key) = object.keys().find(|k| !matches!(k.as_str(), "text" | "attachments")) {
            return Err(bad_request(format!("[{key}] is not a valid property of the request body")));
        }
        let text = object.get("text").and_then(Value::as_str).unwrap_or_default();
        if text.is_empty() && object.get("attachments").is_none() {
            return Err(bad_request("One of [text, attachments] is required"));
        }
        if object.get("attachments").is_some() {
            return Err(bad_request(
                "The simulator does not serve media uploads, so attachments are refused",
            ));
        }
        let mut state = lock(&self.state);
        let own = state.own_id.clone();
        if participant_id == own || state.user(participant_id).is_none() {
            return Err(bad_request(format!(
                "participant_id [{participant_id}] is not a user you can message"
            )));
        }
        let dm = state
            .add_dm(&own, participant_id, text, Utc::now(), Vec::new(), true)
            .map_err(|e| bad_request(e.to_string()))?;
        Ok(SimResponse::json(
            StatusCode::CREATED,
            &json!({ "data": { "dm_conversation_id": dm.conversation_id(), "dm_event_id": dm.id } }),
        ))
    }

    /// `GET /2/dm_conversations/media/{dm_id}/{media_id}/{resource_id}`: the bytes of a
    /// DM attachment (`media_id` is the numeric part of its media key), user context only.
    fn dm_media(
        &self,
        request: &SimRequest,
        dm_id: &str,
        media_id: &str,
        resource_id: &str,
    ) -> std::result::Result<SimResponse, SimResponse> {
        if self.is_app(request) {
            return Err(problem(StatusCode::FORBIDDEN, "DM media needs user-context authentication."));
        }
        let state = lock(&self.state);
        let dm = state.dms.values().find(|dm| dm.id == dm_id);
        let media =
            dm.and_then(|dm| dm.media.iter().find(|m| m.media_key.rsplit('_').next() == Some(media_id)));
        let Some(media) = media else {
            return Err(problem(StatusCode::NOT_FOUND, "Could not find the requested media."));
        };
        let content_type = match media.kind.as_str() {
            "photo" => "image/jpeg",
            "animated_gif" => "video/mp4",
            _ => "video/mp4",
        };
        let mut response =
            SimResponse::text(StatusCode::OK, format!("SIMMEDIA {} {resource_id}", media.media_key));
        response = response.with_header("content-type", content_type);
        Ok(response)
    }

    fn is_app(&self, request: &SimRequest) -> bool {
        let app = lock(&self.state).app_token.clone();
        request.header("authorization") == Some(format!("Bearer {app}").as_str())
    }

    fn list_webhooks(&self, request: &SimRequest) -> std::result::Result<SimResponse, SimResponse> {
        if !self.is_app(request) {
            return Err(problem(
                StatusCode::FORBIDDEN,
                "Authenticating with OAuth 2.0 User Context is forbidden for this endpoint. \
                 Supported authentication types are [OAuth 2.0 Application-Only].",
            ));
        }
        let state = lock(&self.state);
        let data: Vec<Value> = state
            .webhooks
            .iter()
            .map(|(id, url)| json!({ "id": id, "url": url, "valid": true, "created_at": "2024-05-06T08:00:00.000Z" }))
            .collect();
        Ok(SimResponse::json(
            StatusCode::OK,
            &json!({ "data": data, "meta": { "result_count": data.len() } }),
        ))
    }

    fn register_webhook(&self, request: &SimRequest) -> std::result::Result<SimResponse, SimResponse> {
        let body = request.body_json().ok_or_else(|| bad_request("The request body is not valid JSON"))?;
        let url = body.get("url").and_then(Value::as_str).unwrap_or_default().to_owned();
        if url.is_empty() || url.chars().count() > 200 || body.as_object().is_some_and(|o| o.len() != 1) {
            return Err(bad_request("The request body must be {\"url\": <1 to 200 characters>}"));
        }
        let mut state = lock(&self.state);
        if state.webhooks.iter().any(|(_, existing)| *existing == url) {
            return Err(bad_request("DuplicateUrlFailed: a webhook with this URL is already registered"));
        }
        let id = format!("17{:017}", state.webhooks.len() + 1);
        state.webhooks.push((id.clone(), url.clone()));
        Ok(SimResponse::json(
            StatusCode::OK,
            &json!({ "data": { "id": id, "url": url, "valid": true, "created_at": "2024-05-06T08:00:00.000Z" } }),
        ))
    }

    fn subscription(
        &self,
        request: &SimRequest,
        webhook_id: &str,
    ) -> std::result::Result<SimResponse, SimResponse> {
        if self.is_app(request) {
            return Err(problem(StatusCode::FORBIDDEN, "This endpoint needs user-context authentication."));
        }
        let mut state = lock(&self.state);
        if !state.webhooks.iter().any(|(id, _)| id == webhook_id) {
            return Err(problem(StatusCode::NOT_FOUND, "Webhook not found"));
        }
        let subscribed = if request.method == Method::POST {
            state.subscriptions.insert(webhook_id.to_owned());
            true
        } else {
            state.subscriptions.contains(webhook_id)
        };
        Ok(SimResponse::json(StatusCode::OK, &json!({ "data": { "subscribed": subscribed } })))
    }

    fn create_post(&self, request: &SimRequest) -> std::result::Result<SimResponse, SimResponse> {
        let body = request.body_json().ok_or_else(|| bad_request("The request body is not valid JSON"))?;
        let object = body.as_object().ok_or_else(|| bad_request("The request body must be a JSON object"))?;
        const ALLOWED: &[&str] = &[
            "card_uri",
            "community_id",
            "direct_message_deep_link",
            "edit_options",
            "for_super_followers_only",
            "geo",
            "media",
            "nullcast",
            "poll",
            "quote_tweet_id",
            "reply",
            "reply_settings",
            "share_with_followers",
            "text",
        ];
        if let Some(key) = object.keys().find(|k| !ALLOWED.contains(&k.as_str())) {
            return Err(bad_request(format!("[{key}] is not a valid property of the request body")));
        }
        let text = object.get("text").and_then(Value::as_str).unwrap_or_default();
        if text.is_empty() {
            return Err(bad_request("The simulator requires a non-empty `text`"));
        }
        let reply_to = match object.get("reply") {
            None => None,
            Some(reply) => {
                let reply = reply.as_object().ok_or_else(|| bad_request("`reply` must be an object"))?;
                if let Some(key) = reply.keys().find(|k| {
                    !matches!(
                        k.as_str(),
                        "in_reply_to_tweet_id" | "exclude_reply_user_ids" | "auto_populate_reply_metadata"
                    )
                }) {
                    return Err(bad_request(format!(
                        "[reply.{key}] is not a valid property of the request body"
                    )));
                }
                Some(
                    reply
                        .get("in_reply_to_tweet_id")
                        .and_then(Value::as_str)
                        .ok_or_else(|| bad_request("`reply.in_reply_to_tweet_id` is required"))?
                        .to_owned(),
                )
            }
        };
        let mut state = lock(&self.state);
        let own = state.own_id.clone();
        let post = state.add_post(&own, text, reply_to.as_deref(), Utc::now(), Vec::new(), true).map_err(|_| {
            bad_request(
                "Your Tweet cannot be sent because the Tweet you are replying to has been deleted or is not visible to you.",
            )
        })?;
        Ok(SimResponse::json(
            StatusCode::CREATED,
            &json!({ "data": { "id": post.id, "text": post.text, "edit_history_tweet_ids": [post.id] } }),
        ))
    }
}

impl SimProvider for XProvider {
    fn name(&self) -> &'static str {
        "x"
    }

    fn handle(&self, request: &SimRequest, _base_url: &Url) -> SimResponse {
        let segments = request.path_segments();
        let result = match (&request.method, segments.as_slice()) {
            (&Method::GET, ["2", "dm_events"]) => self.list_dm_events(request),
            (&Method::GET, ["2", "users", user_id, "mentions"]) => self.list_mentions(request, user_id),
            (&Method::POST, ["2", "dm_conversations", "with", participant_id, "messages"]) => {
                self.send_dm(request, participant_id)
            }
            (&Method::POST, ["2", "tweets"]) => self.create_post(request),
            (&Method::GET, ["2", "dm_conversations", "media", dm_id, media_id, resource_id]) => {
                self.dm_media(request, dm_id, media_id, resource_id)
            }
            (&Method::GET, ["2", "webhooks"]) => self.list_webhooks(request),
            (&Method::POST, ["2", "webhooks"]) => self.register_webhook(request),
            (method, ["2", "account_activity", "webhooks", webhook_id, "subscriptions", "all"])
                if *method == Method::GET || *method == Method::POST =>
            {
                self.subscription(request, webhook_id)
            }
            _ => Err(problem(StatusCode::NOT_FOUND, "Sorry, that page does not exist")),
        };
        result.unwrap_or_else(|error| error)
    }

    fn unauthorized(&self, _request: &SimRequest) -> SimResponse {
        SimResponse::json(
            StatusCode::UNAUTHORIZED,
            &json!({ "title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized" }),
        )
    }

    fn too_many_requests(&self, _status: &RateLimitStatus) -> SimResponse {
        SimResponse::json(
            StatusCode::TOO_MANY_REQUESTS,
            &json!({ "title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429 }),
        )
    }

    fn rate_limit_headers(&self, status: &RateLimitStatus, _exceeded: bool) -> Vec<(&'static str, String)> {
        vec![
            ("x-rate-limit-limit", status.limit.to_string()),
            ("x-rate-limit-remaining", status.remaining.to_string()),
            ("x-rate-limit-reset", status.resets_at_epoch_seconds().to_string()),
        ]
    }
}

/// A running X simulator. See the [module docs](self) for what it serves.
#[derive(Debug)]
pub struct XSim {
    server: SimServer,
    state: Arc<Mutex<XState>>,
    own: XSimUser,
    token: String,
}

/// Ids of the sample seed ([`XSim::start_with_sample`]).
pub mod sample {
    /// Our account, `@acme_support`.
    pub const OWN_ID: &str = "1456789012345678901";
    /// `@alice_w`, who writes DMs (one with a photo).
    pub const ALICE_ID: &str = "2244994945";
    /// `@bob_builds`, who sends a GIF by DM and asks a question in a mention.
    pub const BOB_ID: &str = "783214";
    /// `@carol_c`, who replies under our post and then to our reply.
    pub const CAROL_ID: &str = "1470000000000000042";
}

impl XSim {
    /// Start a simulator with `config` on `127.0.0.1`, with no DMs and no posts yet.
    ///
    /// # Errors
    /// [`Error::Config`] for duplicate or non-numeric user ids, or when the port cannot be
    /// bound.
    pub async fn start(config: XSimConfig) -> Result<Self> {
        let mut users = vec![config.own.clone()];
        users.extend(config.users);
        let mut ids = HashSet::new();
        for user in &users {
            if user.id.parse::<u64>().is_err() {
                return Err(Error::config(format!("x simulator: user id {:?} is not numeric", user.id)));
            }
            if !ids.insert(user.id.clone()) {
                return Err(Error::config(format!("x simulator: duplicate user id {}", user.id)));
            }
        }
        let state = Arc::new(Mutex::new(XState {
            own_id: config.own.id.clone(),
            users,
            dms: BTreeMap::new(),
            posts: BTreeMap::new(),
            media_counter: 0,
            field_set: XFieldSet::V2_159,
            app_token: config.app_token.clone(),
            webhooks: Vec::new(),
            subscriptions: HashSet::new(),
        }));
        let provider = Arc::new(XProvider { state: Arc::clone(&state) });
        let server = SimServer::start(
            provider,
            vec![Credential::bearer(config.token.clone()), Credential::bearer(config.app_token.clone())],
            config.rate_limits,
        )
        .await?;
        Ok(Self { server, state, own: config.own, token: config.token })
    }

    /// Start with the sample account (ids in [`sample`]), all on 2024-05-06 (UTC):
    ///
    /// - our account `@acme_support` and customers `@alice_w`, `@bob_builds`, `@carol_c`;
    /// - DMs: Alice asks about order #1042 (09:00), Alice sends a photo of the damaged box
    ///   (09:01), Bob sends a GIF (09:05), we answer Alice by DM (09:10, from our own
    ///   account: the inbox must skip it);
    /// - a thread: our announcement (08:00); Carol replies under it (09:20); we reply to
    ///   her (09:30); Carol replies to our reply (09:40); and Bob mentions us on his own
    ///   (09:50).
    ///
    /// # Errors
    /// As [`XSim::start`].
    pub async fn start_with_sample() -> Result<Self> {
        use sample::*;
        let config = XSimConfig::new(XSimUser::new(OWN_ID, "acme_support", "Acme Support"))
            .user(XSimUser::new(ALICE_ID, "alice_w", "Alice Walker"))
            .user(XSimUser::new(BOB_ID, "bob_builds", "Bob Builder"))
            .user(XSimUser::new(CAROL_ID, "carol_c", "Carol Chen"));
        let sim = Self::start(config).await?;
        let at = |h: u32, m: u32| Utc.with_ymd_and_hms(2024, 5, 6, h, m, 0).single().unwrap_or_default();
        sim.add_dm(
            ALICE_ID,
            OWN_ID,
            "Hi, my order #1042 hasn't arrived yet. Can you check?",
            at(9, 0),
            vec![],
        )?;
        sim.add_dm(
            ALICE_ID,
            OWN_ID,
            "And the first box came damaged, see photo",
            at(9, 1),
            vec![XSimMedia::photo("https://pbs.twimg.com/media/sim-damaged-box.jpg")],
        )?;
        sim.add_dm(
            BOB_ID,
            OWN_ID,
            "Me waiting for support like",
            at(9, 5),
            vec![XSimMedia::animated_gif("https://pbs.twimg.com/tweet_video_thumb/sim-waiting.jpg")],
        )?;
        sim.add_dm(OWN_ID, ALICE_ID, "Thanks Alice, we're checking order #1042 now.", at(9, 10), vec![])?;
        let announcement =
            sim.add_post(OWN_ID, "Our new app is live! Tell us what you think.", None, at(8, 0), vec![])?;
        let first = sim.add_post(
            CAROL_ID,
            "@acme_support the new app crashes when I log in",
            Some(&announcement.id),
            at(9, 20),
            vec![],
        )?;
        let ours = sim.add_post(
            OWN_ID,
            "@carol_c sorry about that! Which phone are you using?",
            Some(&first.id),
            at(9, 30),
            vec![],
        )?;
        sim.add_post(CAROL_ID, "@acme_support a Pixel 7, Android 14", Some(&ours.id), at(9, 40), vec![])?;
        sim.add_post(BOB_ID, "@acme_support do you ship to Canada?", None, at(9, 50), vec![])?;
        Ok(sim)
    }

    /// The shared server: request log, credentials, rate limits, faults.
    pub fn server(&self) -> &SimServer {
        &self.server
    }

    /// The base URL (`http://127.0.0.1:PORT/`); the client appends `2/...`.
    pub fn base_url(&self) -> Url {
        self.server.base_url()
    }

    /// Our account.
    pub fn own_user(&self) -> &XSimUser {
        &self.own
    }

    /// Enforce this OpenAPI document's query vocabulary from now on (default
    /// [`XFieldSet::V2_159`]); a request in the other one answers 400 as X does.
    pub fn set_field_set(&self, set: XFieldSet) {
        lock(&self.state).field_set = set;
    }

    /// The accepted user token.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Stop the server gracefully.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }

    /// Add a DM event from `sender_id` to `recipient_id` (one of them our account) sent at
    /// `at`; returns it with its id and media keys.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an unknown user or a DM between two other users.
    pub fn add_dm(
        &self,
        sender_id: &str,
        recipient_id: &str,
        text: &str,
        at: DateTime<Utc>,
        media: Vec<XSimMedia>,
    ) -> Result<XSimDm> {
        lock(&self.state).add_dm(sender_id, recipient_id, text, at, media, false)
    }

    /// Add a post by `author_id` posted at `at`, replying to `in_reply_to` when given.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an unknown author or reply target.
    pub fn add_post(
        &self,
        author_id: &str,
        text: &str,
        in_reply_to: Option<&str>,
        at: DateTime<Utc>,
        media: Vec<XSimMedia>,
    ) -> Result<XSimPost> {
        lock(&self.state).add_post(author_id, text, in_reply_to, at, media, false)
    }

    /// Every DM event, oldest first.
    pub fn dm_events(&self) -> Vec<XSimDm> {
        lock(&self.state).dms.values().cloned().collect()
    }

    /// Every post, oldest first.
    pub fn posts(&self) -> Vec<XSimPost> {
        lock(&self.state).posts.values().cloned().collect()
    }

    /// The DMs sent through the API, oldest first.
    pub fn sent_dms(&self) -> Vec<XSimDm> {
        lock(&self.state).dms.values().filter(|dm| dm.via_api).cloned().collect()
    }

    /// The posts (replies) published through the API, oldest first.
    pub fn published_posts(&self) -> Vec<XSimPost> {
        lock(&self.state).posts.values().filter(|post| post.via_api).cloned().collect()
    }

    /// The Account Activity payload of one DM event (v1.1 `direct_message_events` with the
    /// `users` map), for our account.
    pub fn dm_payload(&self, event_id: &str) -> Option<Value> {
        let state = lock(&self.state);
        let dm = state.dms.get(&event_id.parse::<u64>().ok()?)?;
        let mut message_data = json!({
            "text": dm.text,
            "entities": { "hashtags": [], "symbols": [], "user_mentions": [], "urls": [] },
        });
        if let Some(media) = dm.media.first() {
            message_data["attachment"] = json!({ "type": "media", "media": media.to_v1_json() });
        }
        let mut users = Map::new();
        for id in [&dm.sender_id, &dm.recipient_id] {
            if let Some(user) = state.user(id) {
                users.insert(user.id.clone(), v1_user(user));
            }
        }
        Some(json!({
            "for_user_id": state.own_id,
            "direct_message_events": [{
                "type": "message_create",
                "id": dm.id,
                "created_timestamp": dm.created_at.timestamp_millis().to_string(),
                "message_create": {
                    "target": { "recipient_id": dm.recipient_id },
                    "sender_id": dm.sender_id,
                    "source_app_id": "268278",
                    "message_data": message_data,
                },
            }],
            "users": users,
        }))
    }

    /// The Account Activity payload of one post (v1.1 `tweet_create_events`), for our
    /// account.
    pub fn post_payload(&self, post_id: &str) -> Option<Value> {
        let state = lock(&self.state);
        let post = state.posts.get(&post_id.parse::<u64>().ok()?)?;
        let author = state.user(&post.author_id)?;
        let mentions: Vec<Value> = state
            .users
            .iter()
            .filter(|user| {
                mentions_handle(&post.text, &user.username)
                    || post.in_reply_to_user_id.as_deref() == Some(user.id.as_str())
            })
            .map(|user| {
                json!({ "id": user.id.parse::<u64>().unwrap_or_default(), "id_str": user.id,
                        "screen_name": user.username, "name": user.name })
            })
            .collect();
        let mut tweet = json!({
            "created_at": post.created_at.format("%a %b %d %H:%M:%S +0000 %Y").to_string(),
            "id": post.id.parse::<u64>().unwrap_or_default(),
            "id_str": post.id,
            "text": post.text,
            "truncated": false,
            "in_reply_to_status_id": post.in_reply_to.as_ref().and_then(|id| id.parse::<u64>().ok()),
            "in_reply_to_status_id_str": post.in_reply_to,
            "in_reply_to_user_id_str": post.in_reply_to_user_id,
            "in_reply_to_screen_name": post.in_reply_to_user_id.as_deref().and_then(|id| state.user(id)).map(|u| u.username.clone()),
            "user": v1_user(author),
            "entities": { "hashtags": [], "urls": [], "user_mentions": mentions, "symbols": [] },
            "is_quote_status": false,
            "lang": "en",
        });
        if !post.media.is_empty() {
            let media: Vec<Value> = post.media.iter().map(XSimMedia::to_v1_json).collect();
            tweet["extended_entities"] = json!({ "media": media });
        }
        Some(json!({
            "for_user_id": state.own_id,
            "user_has_blocked": false,
            "tweet_create_events": [tweet],
        }))
    }

    /// A signed Account Activity delivery of one DM event; `None` for an unknown id.
    pub fn dm_delivery(&self, event_id: &str, consumer_secret: &str) -> Option<WebhookDelivery> {
        self.dm_payload(event_id).map(|payload| signed_delivery(&payload, consumer_secret))
    }

    /// A signed Account Activity delivery of one post; `None` for an unknown id.
    pub fn mention_delivery(&self, post_id: &str, consumer_secret: &str) -> Option<WebhookDelivery> {
        self.post_payload(post_id).map(|payload| signed_delivery(&payload, consumer_secret))
    }

    /// A signed X Activity API delivery (`post.mention.create`) of one post, v2-shaped:
    /// `{"data": {event_type, event_uuid, filter: {user_id}, tag, payload: <post>,
    /// includes: {users, media}}}`; `None` for an unknown id.
    pub fn activity_mention_delivery(&self, post_id: &str, consumer_secret: &str) -> Option<WebhookDelivery> {
        let state = lock(&self.state);
        let post = state.posts.values().find(|post| post.id == post_id)?;
        let mut payload = json!({
            "id": post.id, "text": post.text, "author_id": post.author_id,
            "created_at": iso(&post.created_at), "conversation_id": post.conversation_id,
            "edit_history_post_ids": [post.id],
        });
        if let Some(target) = &post.in_reply_to {
            payload["referenced_posts"] = json!([{ "type": "replied_to", "id": target }]);
        }
        if let Some(user) = &post.in_reply_to_user_id {
            payload["in_reply_to_user_id"] = json!(user);
        }
        if !post.media.is_empty() {
            payload["attachments"] =
                json!({ "media_keys": post.media.iter().map(|m| &m.media_key).collect::<Vec<_>>() });
        }
        let body =
            activity_body(&state, "post.mention.create", &post.id, payload, &post.author_id, &post.media);
        Some(signed_delivery(&body, consumer_secret))
    }

    /// A signed X Activity API delivery (`dm.received`) of one DM, with a v2 DM event
    /// as payload (the documents give no `dm.*` payload schema: UNCONFIRMED); `None` for
    /// an unknown id.
    pub fn activity_dm_delivery(&self, event_id: &str, consumer_secret: &str) -> Option<WebhookDelivery> {
        let state = lock(&self.state);
        let dm = state.dms.values().find(|dm| dm.id == event_id)?;
        let mut payload = json!({
            "id": dm.id, "event_type": "MessageCreate", "text": dm.text, "sender_id": dm.sender_id,
            "created_at": iso(&dm.created_at), "dm_conversation_id": dm.conversation_id(),
        });
        if !dm.media.is_empty() {
            payload["attachments"] =
                json!({ "media_keys": dm.media.iter().map(|m| &m.media_key).collect::<Vec<_>>() });
        }
        let body = activity_body(&state, "dm.received", &dm.id, payload, &dm.sender_id, &dm.media);
        Some(signed_delivery(&body, consumer_secret))
    }
}

/// The X Activity API envelope of one event.
fn activity_body(
    state: &XState,
    event_type: &str,
    item_id: &str,
    payload: Value,
    author_id: &str,
    media: &[XSimMedia],
) -> Value {
    let all: HashSet<String> =
        ["url", "preview_image_url", "type", "media_key"].iter().map(|f| (*f).to_owned()).collect();
    let users: Vec<Value> = state
        .user(author_id)
        .map(|u| json!({ "id": u.id, "username": u.username, "name": u.name }))
        .into_iter()
        .collect();
    let media: Vec<Value> = media.iter().map(|m| m.to_v2_json(&all)).collect();
    json!({ "data": {
        "event_type": event_type,
        "event_uuid": item_id,
        "filter": { "user_id": state.own_id },
        "tag": "deskbridge",
        "payload": payload,
        "includes": { "users": users, "media": media },
    }})
}

fn v1_user(user: &XSimUser) -> Value {
    json!({
        "id": user.id.parse::<u64>().unwrap_or_default(),
        "id_str": user.id,
        "name": user.name,
        "screen_name": user.username,
        "protected": false,
        "verified": false,
        "created_timestamp": "1425204000000",
    })
}

/// `sha256=` + base64(HMAC-SHA256(consumer secret, body)): X's
/// `x-twitter-webhooks-signature` (and, over a `crc_token`, the CRC `response_token`).
pub fn webhook_signature(consumer_secret: &str, body: &[u8]) -> String {
    #[allow(clippy::expect_used)]
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(consumer_secret.as_bytes())
        .expect("HMAC accepts any key length");
    mac.update(body);
    format!("sha256={}", base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()))
}

/// An Account Activity delivery of `payload`, signed with `consumer_secret`.
pub fn signed_delivery(payload: &Value, consumer_secret: &str) -> WebhookDelivery {
    let body = payload.to_string().into_bytes();
    let signature = webhook_signature(consumer_secret, &body);
    WebhookDelivery::new(
        "x",
        body,
        vec![
            ("content-type".to_owned(), "application/json; charset=utf-8".to_owned()),
            ("x-twitter-webhooks-signature".to_owned(), signature),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_are_long_enough() {
        let token = encode_token(1_788_000_000_000_000_000);
        assert!(token.len() >= 16, "{token}");
        assert_eq!(decode_token(&token), Some(1_788_000_000_000_000_000));
        assert_eq!(decode_token("zz"), None);
        assert_eq!(decode_token("1234"), None);
    }

    #[test]
    fn handles_match_whole_words() {
        assert!(mentions_handle("hey @Acme_Support!", "acme_support"));
        assert!(!mentions_handle("hey @acme_supporters", "acme_support"));
    }

    #[test]
    fn signature_matches_python() {
        // python3 -c "import hmac,hashlib,base64;print(base64.b64encode(hmac.new(b'consumer-secret',b'crc-token-123',hashlib.sha256).digest()).decode())"
        assert_eq!(
            webhook_signature("consumer-secret", b"crc-token-123"),
            "sha256=pqNVCku98klY+uShlb3Xa/LIgd2B2xq7EveP37yRYOI="
        );
    }
}
