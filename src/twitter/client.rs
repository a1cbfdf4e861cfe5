//! [`XClient`]: the typed X API v2 calls deskbridge makes, over [`ApiClient`].
//!
//! | call | method and path |
//! |---|---|
//! | [`XClient::dm_events_page`], [`XClient::dm_event_pages`] | `GET /2/dm_events` |
//! | [`XClient::mentions_page`], [`XClient::mention_pages`] | `GET /2/users/{id}/mentions` |
//! | [`XClient::send_dm`] | `POST /2/dm_conversations/with/{participant_id}/messages` |
//! | [`XClient::reply`] | `POST /2/tweets` with `reply.in_reply_to_tweet_id` |
//!
//! Every query parameter and enum value used here is declared by X's OpenAPI document
//! v2.159 or, with [`XFieldSet::V2_167`], by the v2.167 production document (both checked
//! by `tests/providers/conformance_x.rs`). See [`XFields`] for how the set is chosen.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use futures_util::Stream;

use super::XConfig;
use super::model::{
    CreateDmRequest, CreatePostRequest, CreatedTweet, DataEnvelope, DmEvent, ReplyTo, SentDm, Tweet, XList,
};
use crate::Result;
use crate::http::{ApiClient, ApiRequest, Cursor, Page, RateLimitHeaders, paginate};

/// `dm_event.fields` requested on DM events ([`XFieldSet::V2_159`]).
pub const DM_EVENT_FIELDS: &str =
    "id,text,event_type,created_at,sender_id,dm_conversation_id,attachments,referenced_tweets";
/// `expansions` requested on DM events ([`XFieldSet::V2_159`]).
pub const DM_EXPANSIONS: &str = "sender_id,attachments.media_keys";
/// `tweet.fields` requested on mentions ([`XFieldSet::V2_159`]).
pub const TWEET_FIELDS: &str =
    "id,text,created_at,author_id,conversation_id,in_reply_to_user_id,referenced_tweets,attachments";
/// `expansions` requested on mentions ([`XFieldSet::V2_159`]).
pub const MENTION_EXPANSIONS: &str = "author_id,attachments.media_keys";
/// `dm_event.fields` requested on DM events ([`XFieldSet::V2_167`]: `sender_id` and
/// `referenced_tweets` are no longer fields; they come with their expansions).
pub const DM_EVENT_FIELDS_V2_167: &str = "id,text,event_type,created_at,dm_conversation_id,attachments";
/// `expansions` requested on DM events ([`XFieldSet::V2_167`]).
pub const DM_EXPANSIONS_V2_167: &str = "sender_id,attachments.media_keys,referenced_posts";
/// `post.fields` requested on mentions ([`XFieldSet::V2_167`]: `author_id`,
/// `in_reply_to_user_id` and `referenced_tweets` are no longer fields).
pub const POST_FIELDS_V2_167: &str = "id,text,created_at,conversation_id,attachments";
/// `expansions` requested on mentions ([`XFieldSet::V2_167`]): the author, the replied-to
/// user and the referenced posts, whose ids also fill the post's `author_id`,
/// `in_reply_to_user_id` and `referenced_posts`.
pub const MENTION_EXPANSIONS_V2_167: &str =
    "author_id,in_reply_to_user_id,referenced_posts,attachments.media_keys";
/// `media.fields` requested everywhere.
pub const MEDIA_FIELDS: &str = "media_key,url,preview_image_url,type";
/// `user.fields` requested everywhere.
pub const USER_FIELDS: &str = "id,username,name";

/// The field vocabulary of one X OpenAPI document version.
///
/// X's documents disagree: v2.159 (and docs.x.com's reference pages) take `tweet.fields`
/// with `author_id`, `in_reply_to_user_id`, `referenced_tweets`, and `dm_event.fields`
/// with `sender_id`, `referenced_tweets`; the production document v2.167 renames
/// `tweet.fields` to `post.fields`, drops those fields from both lists and offers them as
/// expansions (`author_id`, `in_reply_to_user_id`, `referenced_posts`, `sender_id`)
/// instead. Both sets give the author and the reply target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum XFieldSet {
    /// The v2.159 document's names (what docs.x.com documents).
    V2_159,
    /// The v2.167 production document's names.
    V2_167,
}

impl XFieldSet {
    /// The other set.
    pub fn other(self) -> Self {
        match self {
            Self::V2_159 => Self::V2_167,
            Self::V2_167 => Self::V2_159,
        }
    }

    fn to_u8(self) -> u8 {
        match self {
            Self::V2_159 => 0,
            Self::V2_167 => 1,
        }
    }

    fn from_u8(value: u8) -> Self {
        if value == 1 { Self::V2_167 } else { Self::V2_159 }
    }
}

/// Which field vocabulary [`XClient`] requests.
///
/// UNCONFIRMED which one api.x.com enforces on a given day: the default
/// [`XFields::Auto`] starts with [`XFieldSet::V2_159`] and, when X answers 400 naming a
/// query parameter, field or expansion, retries that request once with the other set and
/// keeps the one that worked for the life of the client (a warning is logged on each
/// switch). A fixed choice never switches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum XFields {
    /// Start with v2.159, switch on a 400 about the query (default).
    #[default]
    Auto,
    /// Always this set.
    Fixed(XFieldSet),
}

/// Largest `max_results` of both list endpoints.
pub const MAX_RESULTS: u32 = 100;

/// A typed X API v2 client. Cheap to clone (clones share the HTTP client and its rate
/// limiter).
#[derive(Debug, Clone)]
pub struct XClient {
    api: ApiClient,
    fields: XFields,
    /// The set in use under [`XFields::Auto`], shared by clones.
    learned: Arc<AtomicU8>,
}

impl XClient {
    /// A client for `config` (base URL, authentication, pacing on `x-rate-limit-*`,
    /// timeout, retry policy).
    ///
    /// # Errors
    /// [`crate::Error::Config`] when the HTTP client cannot be built.
    pub fn new(config: XConfig) -> Result<Self> {
        Ok(Self::from_api_client(config.api_client_builder().build()?).with_fields(config.fields))
    }

    /// Use this field vocabulary (default [`XFields::Auto`]).
    pub fn with_fields(mut self, fields: XFields) -> Self {
        self.fields = fields;
        if let XFields::Fixed(set) = fields {
            self.learned.store(set.to_u8(), Ordering::Relaxed);
        }
        self
    }

    /// The field set the next request uses.
    pub fn field_set(&self) -> XFieldSet {
        match self.fields {
            XFields::Fixed(set) => set,
            XFields::Auto => XFieldSet::from_u8(self.learned.load(Ordering::Relaxed)),
        }
    }

    /// Send a list request built for a field set; under [`XFields::Auto`], a 400 about the
    /// query is retried once with the other set, which is kept when it works.
    async fn send_list<T, F>(&self, what: &'static str, build: F) -> Result<T>
    where
        T: serde::de::DeserializeOwned,
        F: Fn(XFieldSet) -> Result<ApiRequest>,
    {
        let set = self.field_set();
        match self.api.send_json(build(set)?).await {
            Err(error) if self.fields == XFields::Auto && is_query_refusal(&error) => {
                let other = set.other();
                tracing::warn!(
                    provider = "x",
                    request = what,
                    from = ?set,
                    to = ?other,
                    %error,
                    "x: refused the requested fields; retrying with the other OpenAPI document's names"
                );
                let answer = self.api.send_json(build(other)?).await?;
                self.learned.store(other.to_u8(), Ordering::Relaxed);
                Ok(answer)
            }
            other => other,
        }
    }

    /// A client over an already built [`ApiClient`] (a custom transport or shared limiter).
    /// Build it with provider name `"x"` and [`RateLimitHeaders::x`].
    pub fn from_api_client(api: ApiClient) -> Self {
        Self { api, fields: XFields::Auto, learned: Arc::new(AtomicU8::new(XFieldSet::V2_159.to_u8())) }
    }

    /// The underlying HTTP client.
    pub fn api(&self) -> &ApiClient {
        &self.api
    }

    /// The rate-limit headers X uses (re-exported for custom builders).
    pub fn rate_limit_headers() -> RateLimitHeaders {
        RateLimitHeaders::x()
    }

    /// One page of `GET /2/dm_events` (MessageCreate events only, newest first, at most
    /// `max_results` clamped to 1..=100), with senders and media expanded.
    ///
    /// # Errors
    /// As [`ApiClient::send_json`].
    pub async fn dm_events_page(
        &self,
        pagination_token: Option<&str>,
        max_results: u32,
    ) -> Result<XList<DmEvent>> {
        self.send_list("GET /2/dm_events", |set| {
            let (fields, expansions) = match set {
                XFieldSet::V2_159 => (DM_EVENT_FIELDS, DM_EXPANSIONS),
                XFieldSet::V2_167 => (DM_EVENT_FIELDS_V2_167, DM_EXPANSIONS_V2_167),
            };
            Ok(ApiRequest::get("/2/dm_events")
                .query("event_types", "MessageCreate")
                .query("dm_event.fields", fields)
                .query("expansions", expansions)
                .query("media.fields", MEDIA_FIELDS)
                .query("user.fields", USER_FIELDS)
                .query("max_results", max_results.clamp(1, MAX_RESULTS))
                .query_opt("pagination_token", pagination_token))
        })
        .await
    }

    /// Every page of DM events, newest first, following `meta.next_token` lazily.
    pub fn dm_event_pages(&self, max_results: u32) -> impl Stream<Item = Result<XList<DmEvent>>> + '_ {
        paginate("x", "GET /2/dm_events", move |cursor| async move {
            let token = token_of(cursor);
            let page = self.dm_events_page(token.as_deref(), max_results).await?;
            let next = page.meta.next_token.clone();
            Ok(Page::with_token(vec![page], next))
        })
    }

    /// One page of `GET /2/users/{id}/mentions` newer than `since_id` (when given), newest
    /// first, `max_results` clamped to 5..=100, with authors and media expanded.
    ///
    /// # Errors
    /// As [`ApiClient::send_json`]; [`crate::Error::InvalidInput`] for an empty user id.
    pub async fn mentions_page(
        &self,
        user_id: &str,
        since_id: Option<&str>,
        pagination_token: Option<&str>,
        max_results: u32,
    ) -> Result<XList<Tweet>> {
        self.send_list("GET /2/users/{id}/mentions", |set| {
            let request = ApiRequest::get("/2/users/{id}/mentions")
                .param("id", user_id)?
                .query_opt("since_id", since_id);
            let request = match set {
                XFieldSet::V2_159 => {
                    request.query("tweet.fields", TWEET_FIELDS).query("expansions", MENTION_EXPANSIONS)
                }
                XFieldSet::V2_167 => request
                    .query("post.fields", POST_FIELDS_V2_167)
                    .query("expansions", MENTION_EXPANSIONS_V2_167),
            };
            Ok(request
                .query("media.fields", MEDIA_FIELDS)
                .query("user.fields", USER_FIELDS)
                .query("max_results", max_results.clamp(5, MAX_RESULTS))
                .query_opt("pagination_token", pagination_token))
        })
        .await
    }

    /// Every page of mentions of `user_id` newer than `since_id`, following
    /// `meta.next_token` lazily.
    pub fn mention_pages<'a>(
        &'a self,
        user_id: &'a str,
        since_id: Option<&'a str>,
        max_results: u32,
    ) -> impl Stream<Item = Result<XList<Tweet>>> + 'a {
        paginate("x", "GET /2/users/{id}/mentions", move |cursor| async move {
            let token = token_of(cursor);
            let page = self.mentions_page(user_id, since_id, token.as_deref(), max_results).await?;
            let next = page.meta.next_token.clone();
            Ok(Page::with_token(vec![page], next))
        })
    }

    /// Send a text DM to `participant_id` (`POST /2/dm_conversations/with/{participant_id}/messages`).
    /// Not retried after a possible write (a retry could send it twice); 429s are retried.
    ///
    /// # Errors
    /// As [`ApiClient::send_json`]; [`crate::Error::InvalidInput`] for an empty id or text.
    pub async fn send_dm(&self, participant_id: &str, text: &str) -> Result<SentDm> {
        if text.is_empty() {
            return Err(crate::Error::invalid("x DM text", "must not be empty"));
        }
        let request = ApiRequest::post("/2/dm_conversations/with/{participant_id}/messages")
            .param("participant_id", participant_id)?
            .json(&CreateDmRequest { text })?;
        let envelope: DataEnvelope<SentDm> = self.api.send_json(request).await?;
        Ok(envelope.data)
    }

    /// Download a DM attachment with the user's credentials: X serves DM media only to a
    /// participant's signed request, so a media URL pasted into a ticket cannot be opened
    /// by agents. The URL X gives for DM media (`ton.twitter.com/1.1/ton/data/dm/{dm_id}/
    /// {media_id}/{file}`) is fetched through the documented v2 download path
    /// `GET /2/dm_conversations/media/{dm_id}/{media_id}/{resource_id}` (X OpenAPI
    /// v2.167) on the configured base URL, so the credentials never leave it.
    ///
    /// # Errors
    /// [`crate::Error::InvalidInput`] for a URL that is not a DM media URL, or one of
    /// another DM than `dm_event_id`; [`crate::Error::Api`] when X refuses;
    /// [`crate::Error::Decode`] for an empty body or one over [`MAX_DM_MEDIA_BYTES`].
    pub async fn download_dm_media(&self, dm_event_id: &str, media_url: &str) -> Result<DownloadedMedia> {
        let Some((dm_id, media_id, resource_id)) = dm_media_parts(media_url) else {
            return Err(crate::Error::invalid(
                "x DM media URL",
                "not a DM media URL (…/dm/{dm_id}/{media_id}/{file})",
            ));
        };
        if dm_id != dm_event_id {
            return Err(crate::Error::invalid(
                "x DM media URL",
                format!("belongs to DM {dm_id}, not {dm_event_id}"),
            ));
        }
        let request = ApiRequest::get("/2/dm_conversations/media/{dm_id}/{media_id}/{resource_id}")
            .param("dm_id", &dm_id)?
            .param("media_id", &media_id)?
            .param("resource_id", &resource_id)?
            .header(reqwest::header::ACCEPT, reqwest::header::HeaderValue::from_static("*/*"));
        let response = self.api.send(request).await?;
        let context = "GET /2/dm_conversations/media/{dm_id}/{media_id}/{resource_id}";
        let content_type =
            response.header("content-type").unwrap_or("application/octet-stream").trim().to_owned();
        let bytes = response.into_body();
        if bytes.is_empty() || bytes.len() > MAX_DM_MEDIA_BYTES {
            return Err(crate::Error::Decode {
                provider: super::PROVIDER,
                context: context.into(),
                json_path: ".".into(),
                message: format!("media body of {} bytes (expected 1 to {MAX_DM_MEDIA_BYTES})", bytes.len()),
            });
        }
        Ok(DownloadedMedia { file_name: resource_id, content_type, bytes })
    }

    /// Publish `text` as a public reply under `in_reply_to_tweet_id` (`POST /2/tweets`).
    /// Not retried after a possible write; 429s are retried.
    ///
    /// # Errors
    /// As [`ApiClient::send_json`].
    pub async fn reply(&self, in_reply_to_tweet_id: &str, text: &str) -> Result<CreatedTweet> {
        let request = ApiRequest::post("/2/tweets")
            .json(&CreatePostRequest { text, reply: Some(ReplyTo { in_reply_to_tweet_id }) })?;
        let envelope: DataEnvelope<CreatedTweet> = self.api.send_json(request).await?;
        Ok(envelope.data)
    }
}

/// A DM attachment downloaded with the user's credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct DownloadedMedia {
    /// A file name for it (the last segment of the media URL).
    pub file_name: String,
    /// The `Content-Type` X answered with (`application/octet-stream` when absent).
    pub content_type: String,
    /// The bytes.
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for DownloadedMedia {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DownloadedMedia")
            .field("file_name", &self.file_name)
            .field("content_type", &self.content_type)
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// Largest DM attachment downloaded (X's own DM limit for videos is 512 MB; tickets do
/// not need more than this).
pub const MAX_DM_MEDIA_BYTES: usize = 25 * 1024 * 1024;

/// The `(dm_id, media_id, resource_id)` of a DM media URL
/// (`https://ton.twitter.com/1.1/ton/data/dm/{dm_id}/{media_id}/{resource_id}`, or the
/// same path under `ton.x.com`, or the v2 path `/2/dm_conversations/media/…`).
pub fn dm_media_parts(media_url: &str) -> Option<(String, String, String)> {
    let url = url::Url::parse(media_url).ok()?;
    let segments: Vec<&str> = url.path_segments()?.filter(|s| !s.is_empty()).collect();
    let start = segments.iter().position(|s| *s == "dm" || *s == "media")?;
    match &segments[start + 1..] {
        [dm_id, media_id, resource_id]
            if [dm_id, media_id].iter().all(|s| s.chars().all(|c| c.is_ascii_digit())) =>
        {
            Some(((*dm_id).to_owned(), (*media_id).to_owned(), (*resource_id).to_owned()))
        }
        _ => None,
    }
}

/// Whether `error` is X refusing the query itself (HTTP 400 naming a parameter, a field or
/// an expansion), as opposed to a bad id or any other refusal.
fn is_query_refusal(error: &crate::Error) -> bool {
    match error {
        crate::Error::Api { status: 400, message, .. } => {
            let message = message.to_ascii_lowercase();
            ["fields", "expansions", "parameter"].iter().any(|word| message.contains(word))
        }
        _ => false,
    }
}

fn token_of(cursor: Option<Cursor>) -> Option<String> {
    match cursor {
        Some(Cursor::Token(token)) => Some(token),
        _ => None,
    }
}
