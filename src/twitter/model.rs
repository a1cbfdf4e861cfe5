//! Serde types of the X API v2 answers deskbridge reads, written against the docs and the
//! v2.159 OpenAPI document.
//!
//! Every type is tolerant: unknown fields are ignored, optional fields default, `includes`
//! and `meta` may be absent (X omits `data` entirely on an empty page), and ids are
//! strings (64-bit snowflakes; DM conversation ids contain a hyphen). Ids that arrive as
//! numbers are accepted too.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

/// One page of a list endpoint (`GET /2/dm_events`, `GET /2/users/{id}/mentions`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct XList<T> {
    /// The items, newest first. Absent (empty here) when the page is empty.
    pub data: Vec<T>,
    /// Expanded objects referenced by the items.
    pub includes: Includes,
    /// Pagination and counts.
    pub meta: Meta,
    /// Partial errors X reports next to `data` (e.g. a referenced object that is gone).
    pub errors: Vec<Problem>,
}

/// Expanded objects (`includes`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Includes {
    /// Users (from `sender_id` / `author_id` expansions).
    pub users: Vec<User>,
    /// Media (from `attachments.media_keys`).
    pub media: Vec<MediaObject>,
    /// Posts (from `referenced_tweets.id`; `includes.posts` under v2.167's
    /// `referenced_posts` is read too).
    #[serde(alias = "posts")]
    pub tweets: Vec<Tweet>,
}

impl Includes {
    /// The included user with this id.
    pub fn user(&self, id: &str) -> Option<&User> {
        self.users.iter().find(|user| user.id == id)
    }

    /// The included media with this key.
    pub fn media(&self, key: &str) -> Option<&MediaObject> {
        self.media.iter().find(|media| media.media_key.as_deref() == Some(key))
    }
}

/// `meta` of a list answer.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Meta {
    /// Items on this page.
    pub result_count: Option<u64>,
    /// Token of the next (older) page; absent on the last page.
    pub next_token: Option<String>,
    /// Token of the previous page.
    pub previous_token: Option<String>,
    /// Newest post id on the page (mentions).
    #[serde(deserialize_with = "opt_id")]
    pub newest_id: Option<String>,
    /// Oldest post id on the page (mentions).
    #[serde(deserialize_with = "opt_id")]
    pub oldest_id: Option<String>,
}

/// An X problem object (RFC 7807), in `errors[]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Problem {
    /// Problem type URI (`https://api.x.com/2/problems/invalid-request`).
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Short title.
    pub title: Option<String>,
    /// Detail.
    pub detail: Option<String>,
    /// Older error shape: message.
    pub message: Option<String>,
}

/// A user object (as expanded in `includes.users`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct User {
    /// User id.
    #[serde(deserialize_with = "id")]
    pub id: String,
    /// Handle without `@`.
    pub username: Option<String>,
    /// Display name.
    pub name: Option<String>,
}

/// A media object (`includes.media`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct MediaObject {
    /// Media key (`3_1146654567674912769`).
    pub media_key: Option<String>,
    /// `photo`, `animated_gif`, `video`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Direct URL (photos).
    pub url: Option<String>,
    /// Preview image (GIFs and videos).
    pub preview_image_url: Option<String>,
}

impl MediaObject {
    /// Where to see it: `url`, else `preview_image_url`.
    pub fn best_url(&self) -> Option<&str> {
        self.url.as_deref().or(self.preview_image_url.as_deref()).filter(|url| !url.is_empty())
    }
}

/// Media attached to a DM event or a post.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Attachments {
    /// Keys into `includes.media`.
    pub media_keys: Vec<String>,
}

/// A post a DM or a post refers to.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ReferencedTweet {
    /// `replied_to`, `quoted`, `retweeted` (absent on DM references).
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The post id.
    #[serde(deserialize_with = "id")]
    pub id: String,
}

/// A DM event (`GET /2/dm_events`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct DmEvent {
    /// Event id (a snowflake).
    #[serde(deserialize_with = "id")]
    pub id: String,
    /// `MessageCreate`, `ParticipantsJoin`, `ParticipantsLeave`.
    pub event_type: String,
    /// Message text.
    pub text: Option<String>,
    /// Sender's user id.
    #[serde(deserialize_with = "opt_id")]
    pub sender_id: Option<String>,
    /// Conversation id (`{smaller}-{larger}` for one-to-one).
    pub dm_conversation_id: Option<String>,
    /// When it was sent.
    pub created_at: Option<DateTime<Utc>>,
    /// Attached media.
    pub attachments: Option<Attachments>,
    /// Posts the DM refers to (`referenced_tweets` in X's v2.159 document,
    /// `referenced_posts` in v2.167; both spellings are read).
    #[serde(alias = "referenced_posts")]
    pub referenced_tweets: Vec<ReferencedTweet>,
}

/// A post (mentions timeline).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Tweet {
    /// Post id.
    #[serde(deserialize_with = "id")]
    pub id: String,
    /// Text.
    pub text: String,
    /// Author's user id.
    #[serde(deserialize_with = "opt_id")]
    pub author_id: Option<String>,
    /// When it was posted.
    pub created_at: Option<DateTime<Utc>>,
    /// Id of the thread's first post.
    #[serde(deserialize_with = "opt_id")]
    pub conversation_id: Option<String>,
    /// The user this post replies to.
    #[serde(deserialize_with = "opt_id")]
    pub in_reply_to_user_id: Option<String>,
    /// Replied-to, quoted or retweeted posts (`referenced_tweets` in X's v2.159 document,
    /// `referenced_posts` in v2.167; both spellings are read).
    #[serde(alias = "referenced_posts")]
    pub referenced_tweets: Vec<ReferencedTweet>,
    /// Attached media.
    pub attachments: Option<Attachments>,
}

impl Tweet {
    /// The id of the post this one replies to (`referenced_tweets[type=replied_to]`).
    pub fn replied_to(&self) -> Option<&str> {
        self.referenced_tweets
            .iter()
            .find(|reference| reference.kind.as_deref() == Some("replied_to"))
            .map(|reference| reference.id.as_str())
    }

    /// Whether this is a retweet (`referenced_tweets[type=retweeted]`).
    pub fn is_retweet(&self) -> bool {
        self.referenced_tweets.iter().any(|reference| reference.kind.as_deref() == Some("retweeted"))
    }
}

/// `data` of `POST /2/dm_conversations/with/{participant_id}/messages`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SentDm {
    /// Conversation id.
    pub dm_conversation_id: String,
    /// The new event's id.
    #[serde(deserialize_with = "id")]
    pub dm_event_id: String,
}

/// `data` of `POST /2/tweets`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CreatedTweet {
    /// The new post's id.
    #[serde(deserialize_with = "id")]
    pub id: String,
    /// Its text as X stored it.
    #[serde(default)]
    pub text: String,
}

/// `{"data": …}` envelope of a write answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DataEnvelope<T> {
    /// The payload.
    pub data: T,
}

/// Body of `POST /2/dm_conversations/with/{participant_id}/messages` (text only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreateDmRequest<'a> {
    /// Message text.
    pub text: &'a str,
}

/// `reply` of a [`CreatePostRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReplyTo<'a> {
    /// The post replied to.
    pub in_reply_to_tweet_id: &'a str,
}

/// Body of `POST /2/tweets`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreatePostRequest<'a> {
    /// Post text.
    pub text: &'a str,
    /// Reply target, for replies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply: Option<ReplyTo<'a>>,
}

/// Users by id, from a list of expanded users.
pub fn users_by_id(users: &[User]) -> HashMap<&str, &User> {
    users.iter().map(|user| (user.id.as_str(), user)).collect()
}

#[derive(Deserialize)]
#[serde(untagged)]
enum StringOrNumber {
    String(String),
    Unsigned(u64),
    Signed(i64),
}

impl StringOrNumber {
    fn into_string(self) -> String {
        match self {
            Self::String(s) => s,
            Self::Unsigned(n) => n.to_string(),
            Self::Signed(n) => n.to_string(),
        }
    }
}

/// An id as a string or a number.
pub(crate) fn id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    StringOrNumber::deserialize(deserializer).map(StringOrNumber::into_string)
}

/// An optional id as a string, a number or null.
pub(crate) fn opt_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Option::<StringOrNumber>::deserialize(deserializer).map(|v| v.map(StringOrNumber::into_string))
}

/// The creation time encoded in a snowflake id (`(id >> 22) + 1288834974657` ms), used
/// when an event lacks `created_at`. `None` for ids that are not snowflakes.
pub fn snowflake_time(id: &str) -> Option<DateTime<Utc>> {
    let value: u64 = id.parse().ok()?;
    let millis = (value >> 22).checked_add(1_288_834_974_657)?;
    DateTime::from_timestamp_millis(i64::try_from(millis).ok()?)
}

/// Compare two decimal ids numerically (snowflakes grow with time). Non-numeric ids
/// compare as text.
pub fn compare_ids(a: &str, b: &str) -> std::cmp::Ordering {
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if numeric(a) && numeric(b) {
        let a = a.trim_start_matches('0');
        let b = b.trim_start_matches('0');
        a.len().cmp(&b.len()).then_with(|| a.cmp(b))
    } else {
        a.cmp(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Ordering;

    #[test]
    fn ids_compare_numerically() {
        assert_eq!(compare_ids("9", "10"), Ordering::Less);
        assert_eq!(compare_ids("1581234567890123456", "1581234567890123455"), Ordering::Greater);
        assert_eq!(compare_ids("007", "7"), Ordering::Equal);
    }

    #[test]
    fn snowflake_time_decodes() {
        // python3: ((1212092628029698048 >> 22) + 1288834974657) ms = 2019-12-31T19:26:16.771Z
        let t = snowflake_time("1212092628029698048").unwrap();
        assert_eq!(t.to_rfc3339(), "2019-12-31T19:26:16.771+00:00");
        assert!(snowflake_time("abc").is_none());
    }

    #[test]
    fn empty_page_and_numeric_ids_are_tolerated() {
        let page: XList<DmEvent> = serde_json::from_str(r#"{"meta":{"result_count":0}}"#).unwrap();
        assert!(page.data.is_empty());
        let page: XList<Tweet> =
            serde_json::from_str(r#"{"data":[{"id":12,"text":"hi","author_id":3,"extra":{"x":1}}]}"#)
                .unwrap();
        assert_eq!(page.data[0].id, "12");
        assert_eq!(page.data[0].author_id.as_deref(), Some("3"));
    }
}
