//! [`XSource`]: X as a [`MessageSource`] for the inbox: DMs and mentions in, DMs and
//!
//! The full description is on [`XSource`].

use std::cmp::Ordering;
use std::pin::pin;

use async_trait::async_trait;
use futures_util::StreamExt as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::client::{MAX_RESULTS, XClient};
use super::model::{DmEvent, Includes, Tweet, compare_ids, snowflake_time};
use super::{PROVIDER, XConfig};
use crate::ports::{InboundMessage, Media, MessageBatch, MessageKind, MessageSource};
use crate::{Error, Result};

/// How much one fetch reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XSourceOptions {
    /// `max_results` per page (DMs 1..=100, mentions 5..=100; clamped). Default 100.
    pub page_size: u32,
    /// Most pages read per stream (DMs, mentions) per fetch. Default 10.
    pub max_pages: u32,
}

impl Default for XSourceOptions {
    fn default() -> Self {
        Self { page_size: MAX_RESULTS, max_pages: 10 }
    }
}

/// The stored position of an [`XSource`]. See the [module docs](XSource).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct XCursor {
    /// Newest DM event id already returned.
    #[serde(default)]
    pub dm_newest: Option<String>,
    /// Newest mention id already returned (the next `since_id`).
    #[serde(default)]
    pub mention_since_id: Option<String>,
}

impl XCursor {
    /// Read a stored cursor (`null` is the first run).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when it is neither `null` nor an object of this shape.
    pub fn from_value(value: &Value) -> Result<Self> {
        if value.is_null() {
            return Ok(Self::default());
        }
        serde_json::from_value(value.clone())
            .map_err(|e| Error::invalid("x cursor", format!("expected {{dm_newest, mention_since_id}}: {e}")))
    }

    /// The cursor as JSON.
    pub fn to_value(&self) -> Value {
        serde_json::json!({ "dm_newest": self.dm_newest, "mention_since_id": self.mention_since_id })
    }
}

/// X as a [`MessageSource`] (name `"x"`).
///
/// [`XSource`]: X as a [`MessageSource`] for the inbox: DMs and mentions in, DMs and
/// public replies out.
///
/// # Cursor design
///
/// The cursor is a JSON object `{"dm_newest": "<id>"|null, "mention_since_id": "<id>"|null}`
/// (`null` as a whole on the first run). Ids are snowflakes, compared numerically.
///
/// - **Mentions** are read with `since_id` = `mention_since_id`: X returns only newer
///   posts, newest first; every page is followed (`meta.next_token`). The new value is the
///   newest id seen (or the old one when nothing arrived).
/// - **DM events** have no `since` parameter: pages are read newest first until an event
///   at or below `dm_newest` appears (the rest is already processed), or the pages end
///   (X keeps 30 days). The new value is the newest event id seen.
/// - **Bounded.** At most [`XSourceOptions::max_pages`] pages per stream per fetch. On the
///   first run (no stored id) the bound is where history starts: older messages are not
///   imported. On later runs, reaching the bound before the stored id means messages
///   would be skipped, so `fetch` fails with [`Error::InvalidInput`] naming the option
///   instead (raise it, or poll more often).
/// - **All or nothing.** Any failed page fails the whole fetch; no partial cursor is ever
///   returned, so nothing unprocessed is skipped. A repeated fetch after a failure reads
///   the same messages again (the inbox dedupes by id).
///
/// Messages come back oldest first. DM events other than `MessageCreate` and retweets
/// are left out (they still advance the cursor). Our own DMs (X lists sent DMs too) are
/// returned as they are; the inbox skips them by [`MessageSource::own_user_id`].
#[derive(Debug, Clone)]
pub struct XSource {
    client: XClient,
    own_user_id: String,
    options: XSourceOptions,
}

impl XSource {
    /// A source for `config`.
    ///
    /// # Errors
    /// [`Error::Config`] when the HTTP client cannot be built.
    pub fn from_config(config: XConfig) -> Result<Self> {
        let own_user_id = config.own_user_id.clone();
        Ok(Self::from_client(XClient::new(config)?, own_user_id))
    }

    /// A source over an existing client, for the account `own_user_id`.
    pub fn from_client(client: XClient, own_user_id: impl Into<String>) -> Self {
        Self { client, own_user_id: own_user_id.into(), options: XSourceOptions::default() }
    }

    /// Use other page size and page bound.
    pub fn with_options(mut self, options: XSourceOptions) -> Self {
        self.options = options;
        self
    }

    /// The typed client.
    pub fn client(&self) -> &XClient {
        &self.client
    }

    async fn fetch_dms(&self, newest_seen: Option<&str>) -> Result<(Vec<InboundMessage>, Option<String>)> {
        let mut pages = pin!(self.client.dm_event_pages(self.options.page_size));
        let mut messages = Vec::new();
        let mut newest = newest_seen.map(str::to_owned);
        let mut read = 0u32;
        'pages: while let Some(page) = pages.next().await {
            let page = page?;
            read += 1;
            for event in &page.data {
                if newest_seen.is_some_and(|seen| compare_ids(&event.id, seen) != Ordering::Greater) {
                    break 'pages;
                }
                bump(&mut newest, &event.id);
                if let Some(message) = dm_message(event, &page.includes)? {
                    messages.push(message);
                }
            }
            if read >= self.options.max_pages.max(1) {
                if page.meta.next_token.is_some() && newest_seen.is_some() {
                    return Err(bound_reached("DM events", self.options.max_pages));
                }
                break;
            }
        }
        Ok((messages, newest))
    }

    async fn fetch_mentions(&self, since_id: Option<&str>) -> Result<(Vec<InboundMessage>, Option<String>)> {
        let mut pages = pin!(self.client.mention_pages(&self.own_user_id, since_id, self.options.page_size));
        let mut messages = Vec::new();
        let mut newest = since_id.map(str::to_owned);
        let mut read = 0u32;
        while let Some(page) = pages.next().await {
            let page = page?;
            read += 1;
            if let Some(id) = &page.meta.newest_id {
                bump(&mut newest, id);
            }
            for tweet in &page.data {
                if since_id.is_some_and(|since| compare_ids(&tweet.id, since) != Ordering::Greater) {
                    continue;
                }
                bump(&mut newest, &tweet.id);
                if let Some(message) = mention_message(tweet, &page.includes)? {
                    messages.push(message);
                }
            }
            if read >= self.options.max_pages.max(1) {
                if page.meta.next_token.is_some() && since_id.is_some() {
                    return Err(bound_reached("mentions", self.options.max_pages));
                }
                break;
            }
        }
        Ok((messages, newest))
    }
}

fn bump(newest: &mut Option<String>, id: &str) {
    if newest.as_deref().is_none_or(|current| compare_ids(id, current) == Ordering::Greater) {
        *newest = Some(id.to_owned());
    }
}

fn bound_reached(what: &str, max_pages: u32) -> Error {
    Error::invalid(
        "x fetch",
        format!(
            "more than {max_pages} pages of {what} are newer than the cursor; nothing was \
             returned so nothing is skipped: raise XSourceOptions::max_pages or poll more often"
        ),
    )
}

fn media_of(keys: Option<&super::model::Attachments>, includes: &Includes) -> Vec<Media> {
    keys.map(|a| a.media_keys.as_slice())
        .unwrap_or_default()
        .iter()
        .filter_map(|key| includes.media(key))
        .filter_map(|media| {
            media.best_url().map(|url| Media { kind: media.kind.clone(), url: url.to_owned() })
        })
        .collect()
}

fn created_at_or_snowflake(
    created_at: Option<chrono::DateTime<chrono::Utc>>,
    id: &str,
    context: &str,
) -> Result<chrono::DateTime<chrono::Utc>> {
    created_at.or_else(|| snowflake_time(id)).ok_or_else(|| Error::Decode {
        provider: PROVIDER,
        context: context.to_owned(),
        json_path: "data[].created_at".into(),
        message: format!("item {id} has neither created_at nor a snowflake id"),
    })
}

/// A DM event as an inbound message; `None` for events that are not messages.
pub(crate) fn dm_message(event: &DmEvent, includes: &Includes) -> Result<Option<InboundMessage>> {
    if event.event_type != "MessageCreate" {
        return Ok(None);
    }
    let Some(sender) = event.sender_id.clone().filter(|s| !s.is_empty()) else {
        tracing::warn!(event_id = %event.id, "x: DM event without sender_id skipped");
        return Ok(None);
    };
    let user = includes.user(&sender);
    Ok(Some(InboundMessage {
        id: event.id.clone(),
        kind: MessageKind::DirectMessage,
        author_handle: user.and_then(|u| u.username.clone()),
        author_name: user.and_then(|u| u.name.clone()),
        author_id: sender,
        text: event.text.clone().unwrap_or_default(),
        created_at: created_at_or_snowflake(event.created_at, &event.id, "GET /2/dm_events")?,
        in_reply_to: None,
        media: media_of(event.attachments.as_ref(), includes),
    }))
}

/// A mention as an inbound message; `None` for retweets.
pub(crate) fn mention_message(tweet: &Tweet, includes: &Includes) -> Result<Option<InboundMessage>> {
    if tweet.is_retweet() {
        return Ok(None);
    }
    let Some(author) = tweet.author_id.clone().filter(|s| !s.is_empty()) else {
        tracing::warn!(post_id = %tweet.id, "x: mention without author_id skipped");
        return Ok(None);
    };
    let user = includes.user(&author);
    Ok(Some(InboundMessage {
        id: tweet.id.clone(),
        kind: MessageKind::Mention,
        author_handle: user.and_then(|u| u.username.clone()),
        author_name: user.and_then(|u| u.name.clone()),
        author_id: author,
        text: tweet.text.clone(),
        created_at: created_at_or_snowflake(tweet.created_at, &tweet.id, "GET /2/users/{id}/mentions")?,
        in_reply_to: tweet.replied_to().map(str::to_owned),
        media: media_of(tweet.attachments.as_ref(), includes),
    }))
}

#[async_trait]
impl MessageSource for XSource {
    fn name(&self) -> &'static str {
        PROVIDER
    }

    fn own_user_id(&self) -> &str {
        &self.own_user_id
    }

    async fn fetch(&self, cursor: &Value) -> Result<MessageBatch> {
        let cursor = XCursor::from_value(cursor)?;
        let (mut messages, dm_newest) = self.fetch_dms(cursor.dm_newest.as_deref()).await?;
        let (mentions, mention_since_id) = self.fetch_mentions(cursor.mention_since_id.as_deref()).await?;
        messages.extend(mentions);
        messages.sort_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| compare_ids(&a.id, &b.id)));
        Ok(MessageBatch { messages, cursor: XCursor { dm_newest, mention_since_id }.to_value() })
    }

    async fn send_direct_message(&self, user_id: &str, text: &str) -> Result<String> {
        Ok(self.client.send_dm(user_id, text).await?.dm_event_id)
    }

    async fn reply_publicly(&self, in_reply_to: &str, text: &str) -> Result<String> {
        Ok(self.client.reply(in_reply_to, text).await?.id)
    }
}
