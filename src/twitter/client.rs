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
//! v2.159 (checked by `tests/conformance_x.rs`).

use futures_util::Stream;

use super::XConfig;
use super::model::{
    CreateDmRequest, CreatePostRequest, CreatedTweet, DataEnvelope, DmEvent, ReplyTo, SentDm, Tweet, XList,
};
use crate::Result;
use crate::http::{ApiClient, ApiRequest, Cursor, Page, RateLimitHeaders, paginate};

/// `dm_event.fields` requested on DM events.
pub const DM_EVENT_FIELDS: &str =
    "id,text,event_type,created_at,sender_id,dm_conversation_id,attachments,referenced_tweets";
/// `expansions` requested on DM events.
pub const DM_EXPANSIONS: &str = "sender_id,attachments.media_keys";
/// `tweet.fields` requested on mentions.
pub const TWEET_FIELDS: &str =
    "id,text,created_at,author_id,conversation_id,in_reply_to_user_id,referenced_tweets,attachments";
/// `expansions` requested on mentions.
pub const MENTION_EXPANSIONS: &str = "author_id,attachments.media_keys";
/// `media.fields` requested everywhere.
pub const MEDIA_FIELDS: &str = "media_key,url,preview_image_url,type";
/// `user.fields` requested everywhere.
pub const USER_FIELDS: &str = "id,username,name";

/// Largest `max_results` of both list endpoints.
pub const MAX_RESULTS: u32 = 100;

/// A typed X API v2 client. Cheap to clone (clones share the HTTP client and its rate
/// limiter).
#[derive(Debug, Clone)]
pub struct XClient {
    api: ApiClient,
}

impl XClient {
    /// A client for `config` (base URL, authentication, pacing on `x-rate-limit-*`,
    /// timeout, retry policy).
    ///
    /// # Errors
    /// [`crate::Error::Config`] when the HTTP client cannot be built.
    pub fn new(config: XConfig) -> Result<Self> {
        Ok(Self { api: config.api_client_builder().build()? })
    }

    /// A client over an already built [`ApiClient`] (a custom transport or shared limiter).
    /// Build it with provider name `"x"` and [`RateLimitHeaders::x`].
    pub fn from_api_client(api: ApiClient) -> Self {
        Self { api }
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
        let request = ApiRequest::get("/2/dm_events")
            .query("event_types", "MessageCreate")
            .query("dm_event.fields", DM_EVENT_FIELDS)
            .query("expansions", DM_EXPANSIONS)
            .query("media.fields", MEDIA_FIELDS)
            .query("user.fields", USER_FIELDS)
            .query("max_results", max_results.clamp(1, MAX_RESULTS))
            .query_opt("pagination_token", pagination_token);
        self.api.send_json(request).await
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
        let request = ApiRequest::get("/2/users/{id}/mentions")
            .param("id", user_id)?
            .query_opt("since_id", since_id)
            .query("tweet.fields", TWEET_FIELDS)
            .query("expansions", MENTION_EXPANSIONS)
            .query("media.fields", MEDIA_FIELDS)
            .query("user.fields", USER_FIELDS)
            .query("max_results", max_results.clamp(5, MAX_RESULTS))
            .query_opt("pagination_token", pagination_token);
        self.api.send_json(request).await
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

fn token_of(cursor: Option<Cursor>) -> Option<String> {
    match cursor {
        Some(Cursor::Token(token)) => Some(token),
        _ => None,
    }
}
