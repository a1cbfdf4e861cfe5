//! Account Activity API webhooks: the CRC answer, the delivery signature, and parsing.
//!
//! The full description is on [`XWebhook`].

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::PROVIDER;
use super::model::{id, opt_id, snowflake_time};
use crate::error::WebhookFailure;
use crate::ports::{InboundMessage, Media, MessageKind};
use crate::{Error, Result};

/// The header carrying a delivery's signature.
pub const SIGNATURE_HEADER: &str = "x-twitter-webhooks-signature";

/// Longest `crc_token` [`XWebhook::crc_response`] answers, in bytes (UNCONFIRMED: X does
/// not document the length; its tokens are seen to be short base64 strings).
pub const MAX_CRC_TOKEN_LEN: usize = 256;

/// True when `token` is shaped like an X CRC token: 1 to [`MAX_CRC_TOKEN_LEN`] characters of
/// the standard or URL-safe base64 alphabets (`A-Z a-z 0-9 - _ + / =`). No such string is a
/// JSON object, so no answered token is ever a valid delivery body.
pub fn is_crc_token_shaped(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= MAX_CRC_TOKEN_LEN
        && token.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'+' | b'/' | b'='))
}

/// The JSON answer to a CRC request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrcResponse {
    /// `sha256=` + base64(HMAC-SHA256(consumer secret, crc_token)).
    pub response_token: String,
}

/// Verifies and parses Account Activity deliveries with the app's consumer secret
/// (redacted from `Debug`).
///
/// Account Activity API webhooks: the CRC answer, the delivery signature, and parsing.
///
/// - **CRC.** X sends `GET <webhook>?crc_token=…` at registration and periodically; answer
///   HTTP 200 with [`XWebhook::crc_response`] (`{"response_token": "sha256=" +
///   base64(HMAC-SHA256(consumer secret, crc_token))}`) within 3 seconds, or X marks the
///   webhook invalid and stops delivering. The CRC answer is the same HMAC as a delivery
///   signature, so answering it for *any* token would make the endpoint a signing oracle
///   (send a forged delivery body as the token, then POST it with the answer).
///   [`XWebhook::crc_response`] therefore answers only tokens shaped like X's
///   ([`is_crc_token_shaped`]: 1 to [`MAX_CRC_TOKEN_LEN`] base64 characters,
///   `A-Z a-z 0-9 - _ + / =`), none of which can be a delivery body (a delivery is a JSON
///   object, and `{` is not a base64 character). X documents the token only as a string; the shape is
///   what X is seen to send (UNCONFIRMED), chosen generously.
/// - **Signature.** Every POST carries `x-twitter-webhooks-signature: sha256=` + base64
///   HMAC-SHA256 of the **raw body** with the **consumer secret**; [`XWebhook::verify`]
///   checks it in constant time. X signs no timestamp, so there is no replay window to
///   check (and no clock to pass): deliveries can repeat, and the inbox dedupes on the
///   event id.
/// - **Parsing.** [`parse_account_activity`] reads the v1.1-shaped
///   `direct_message_events` (with the `users` map) and `tweet_create_events` into
///   [`InboundMessage`]s, keeping inbound messages only: DMs whose sender is not
///   `for_user_id`, and posts by someone else that mention `for_user_id` or reply to one
///   of its posts (retweets are dropped). Unknown fields and event kinds are ignored.
///
/// ```
/// use deskbridge::twitter::{XWebhook, signature};
/// let webhook = XWebhook::new("consumer-secret").unwrap();
/// let body = br#"{"for_user_id":"1","tweet_create_events":[]}"#;
/// let header = signature("consumer-secret", body);
/// let activity = webhook.verify_and_parse(Some(&header), body).unwrap();
/// assert!(activity.messages.is_empty());
/// assert!(webhook.crc_response("abc").unwrap().response_token.starts_with("sha256="));
/// ```
#[derive(Clone)]
pub struct XWebhook {
    consumer_secret: SecretString,
}

impl std::fmt::Debug for XWebhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XWebhook").field("consumer_secret", &crate::http::auth::REDACTED).finish()
    }
}

impl XWebhook {
    /// A verifier keyed with the app's consumer secret (API key secret), given as a
    /// `&str`, a `String` or a [`SecretString`].
    ///
    /// # Errors
    /// [`Error::Config`] when the secret is empty or blank (anyone
    /// could sign with it).
    pub fn new(consumer_secret: impl Into<SecretString>) -> crate::Result<Self> {
        let consumer_secret: SecretString = consumer_secret.into();
        if consumer_secret.expose_secret().trim().is_empty() {
            return Err(crate::Error::config("x: the webhook consumer secret is empty"));
        }
        Ok(Self { consumer_secret })
    }

    /// The answer to `GET <webhook>?crc_token=…`, for tokens shaped like X's only (see
    /// [`is_crc_token_shaped`] and the [module docs](XWebhook): any other token would turn the
    /// answer into a signature for an arbitrary body).
    ///
    /// # Errors
    /// [`Error::WebhookVerification`]: `Missing` when the token is empty, `Malformed` when
    /// it is longer than [`MAX_CRC_TOKEN_LEN`] or holds a character outside the base64
    /// alphabets.
    pub fn crc_response(&self, crc_token: &str) -> Result<CrcResponse> {
        if crc_token.is_empty() {
            return Err(failure(WebhookFailure::Missing("crc_token query parameter".into())));
        }
        if !is_crc_token_shaped(crc_token) {
            return Err(malformed(format!(
                "crc_token is not an X challenge token (1 to {MAX_CRC_TOKEN_LEN} base64 characters); \
                 not answered"
            )));
        }
        Ok(CrcResponse {
            response_token: crc_response_token(self.consumer_secret.expose_secret(), crc_token),
        })
    }

    /// Check the `x-twitter-webhooks-signature` header value against the raw body, in
    /// constant time.
    ///
    /// # Errors
    /// [`Error::WebhookVerification`] with provider `"x"`: `Missing` without a header,
    /// `BadSignature` when it is not `sha256=<base64>` or does not match.
    pub fn verify(&self, signature_header: Option<&str>, body: &[u8]) -> Result<()> {
        let header = signature_header
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .ok_or_else(|| failure(WebhookFailure::Missing(format!("{SIGNATURE_HEADER} header"))))?;
        let encoded = header.strip_prefix("sha256=").ok_or_else(|| failure(WebhookFailure::BadSignature))?;
        let expected = BASE64.decode(encoded).map_err(|_| failure(WebhookFailure::BadSignature))?;
        let mut mac = hmac_sha256(self.consumer_secret.expose_secret());
        mac.update(body);
        mac.verify_slice(&expected).map_err(|_| failure(WebhookFailure::BadSignature))
    }

    /// [`verify`](Self::verify), then [`parse_account_activity`].
    ///
    /// # Errors
    /// As both.
    pub fn verify_and_parse(&self, signature_header: Option<&str>, body: &[u8]) -> Result<AccountActivity> {
        self.verify(signature_header, body)?;
        parse_account_activity(body)
    }
}

/// `sha256=` + base64(HMAC-SHA256(key = `consumer_secret`, message = `crc_token`)), for
/// any token: the raw computation. A server must answer X through
/// [`XWebhook::crc_response`], which refuses tokens not shaped like X's.
pub fn crc_response_token(consumer_secret: &str, crc_token: &str) -> String {
    signature(consumer_secret, crc_token.as_bytes())
}

/// `sha256=` + base64(HMAC-SHA256(key = `consumer_secret`, message = `body`)): the
/// `x-twitter-webhooks-signature` of a delivery (and the CRC answer for a token).
pub fn signature(consumer_secret: &str, body: &[u8]) -> String {
    let mut mac = hmac_sha256(consumer_secret);
    mac.update(body);
    format!("sha256={}", BASE64.encode(mac.finalize().into_bytes()))
}

fn hmac_sha256(key: &str) -> Hmac<Sha256> {
    #[allow(clippy::expect_used)]
    <Hmac<Sha256> as Mac>::new_from_slice(key.as_bytes()).expect("HMAC accepts keys of any length")
}

fn failure(failure: WebhookFailure) -> Error {
    Error::WebhookVerification { provider: PROVIDER, failure }
}

/// What one delivery carried, for the subscribed user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountActivity {
    /// The subscribed user (our account).
    pub for_user_id: String,
    /// Inbound DMs and mentions, oldest first.
    pub messages: Vec<InboundMessage>,
    /// Events left out: our own DMs and posts, retweets, posts that do not concern us.
    pub ignored: usize,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Envelope {
    #[serde(deserialize_with = "opt_id")]
    for_user_id: Option<String>,
    direct_message_events: Vec<DmEventV1>,
    users: HashMap<String, UserV1>,
    tweet_create_events: Vec<TweetV1>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct UserV1 {
    #[serde(deserialize_with = "opt_id")]
    id_str: Option<String>,
    #[serde(deserialize_with = "opt_id")]
    id: Option<String>,
    screen_name: Option<String>,
    name: Option<String>,
}

impl UserV1 {
    fn id(&self) -> Option<&str> {
        self.id_str.as_deref().or(self.id.as_deref())
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DmEventV1 {
    #[serde(rename = "type")]
    kind: String,
    #[serde(deserialize_with = "id")]
    id: String,
    #[serde(deserialize_with = "opt_id")]
    created_timestamp: Option<String>,
    message_create: Option<MessageCreateV1>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct MessageCreateV1 {
    #[serde(deserialize_with = "opt_id")]
    sender_id: Option<String>,
    message_data: MessageDataV1,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct MessageDataV1 {
    text: String,
    attachment: Option<AttachmentV1>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AttachmentV1 {
    media: Option<MediaV1>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct MediaV1 {
    #[serde(rename = "type")]
    kind: String,
    media_url_https: Option<String>,
    media_url: Option<String>,
}

impl MediaV1 {
    fn to_media(&self) -> Option<Media> {
        let url = self.media_url_https.as_deref().or(self.media_url.as_deref()).filter(|u| !u.is_empty())?;
        Some(Media { kind: self.kind.clone(), url: url.to_owned() })
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TweetV1 {
    #[serde(deserialize_with = "opt_id")]
    id_str: Option<String>,
    #[serde(deserialize_with = "opt_id")]
    id: Option<String>,
    created_at: Option<String>,
    text: Option<String>,
    full_text: Option<String>,
    extended_tweet: Option<ExtendedTweetV1>,
    user: UserV1,
    #[serde(deserialize_with = "opt_id")]
    in_reply_to_status_id_str: Option<String>,
    #[serde(deserialize_with = "opt_id")]
    in_reply_to_user_id_str: Option<String>,
    entities: EntitiesV1,
    extended_entities: Option<EntitiesV1>,
    retweeted_status: Option<serde_json::Value>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ExtendedTweetV1 {
    full_text: Option<String>,
    extended_entities: Option<EntitiesV1>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct EntitiesV1 {
    user_mentions: Vec<UserV1>,
    media: Vec<MediaV1>,
}

/// Parse an Account Activity delivery body (already verified) into the inbound messages
/// it carries. See the [module docs](XWebhook) for what is kept.
///
/// # Errors
/// [`Error::WebhookVerification`] (`Malformed`) when the body is not a JSON object of the
/// expected shape (the message carries the JSON path), carries anything but whitespace
/// after the object, or lacks `for_user_id`.
pub fn parse_account_activity(body: &[u8]) -> Result<AccountActivity> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let envelope: Envelope = serde_path_to_error::deserialize(&mut deserializer)
        .map_err(|e| failure(WebhookFailure::Malformed(format!("at `{}`: {}", e.path(), e.inner()))))?;
    deserializer
        .end()
        .map_err(|e| malformed(format!("bytes after the JSON object are not accepted: {e}")))?;
    let for_user_id = envelope
        .for_user_id
        .filter(|id| !id.is_empty())
        .ok_or_else(|| failure(WebhookFailure::Missing("for_user_id".into())))?;
    let mut activity = AccountActivity { for_user_id: for_user_id.clone(), ..AccountActivity::default() };

    for event in &envelope.direct_message_events {
        let Some(create) = event.message_create.as_ref().filter(|_| event.kind == "message_create") else {
            activity.ignored += 1;
            continue;
        };
        let Some(sender) = create.sender_id.clone().filter(|s| !s.is_empty()) else {
            activity.ignored += 1;
            continue;
        };
        if sender == for_user_id {
            activity.ignored += 1;
            continue;
        }
        let user = envelope.users.get(&sender);
        let created_at = event
            .created_timestamp
            .as_deref()
            .and_then(|ms| ms.parse::<i64>().ok())
            .and_then(DateTime::from_timestamp_millis)
            .or_else(|| snowflake_time(&event.id))
            .ok_or_else(|| malformed(format!("DM event {} has no readable created_timestamp", event.id)))?;
        activity.messages.push(InboundMessage {
            id: event.id.clone(),
            kind: MessageKind::DirectMessage,
            author_id: sender,
            author_handle: user.and_then(|u| u.screen_name.clone()),
            author_name: user.and_then(|u| u.name.clone()),
            text: create.message_data.text.clone(),
            created_at,
            in_reply_to: None,
            media: create
                .message_data
                .attachment
                .as_ref()
                .and_then(|a| a.media.as_ref())
                .and_then(MediaV1::to_media)
                .into_iter()
                .collect(),
        });
    }

    for tweet in &envelope.tweet_create_events {
        let Some(tweet_id) = tweet.id_str.clone().or_else(|| tweet.id.clone()) else {
            activity.ignored += 1;
            continue;
        };
        let author = tweet.user.id().unwrap_or_default().to_owned();
        let mentions_us = tweet.entities.user_mentions.iter().any(|m| m.id() == Some(for_user_id.as_str()));
        let replies_to_us = tweet.in_reply_to_user_id_str.as_deref() == Some(for_user_id.as_str());
        if author.is_empty()
            || author == for_user_id
            || tweet.retweeted_status.is_some()
            || !(mentions_us || replies_to_us)
        {
            activity.ignored += 1;
            continue;
        }
        let text = tweet
            .extended_tweet
            .as_ref()
            .and_then(|e| e.full_text.clone())
            .or_else(|| tweet.full_text.clone())
            .or_else(|| tweet.text.clone())
            .unwrap_or_default();
        let media_entities = tweet
            .extended_tweet
            .as_ref()
            .and_then(|e| e.extended_entities.as_ref())
            .or(tweet.extended_entities.as_ref())
            .map(|e| e.media.as_slice())
            .filter(|m| !m.is_empty())
            .unwrap_or(tweet.entities.media.as_slice());
        let created_at = tweet
            .created_at
            .as_deref()
            .and_then(parse_v1_time)
            .or_else(|| snowflake_time(&tweet_id))
            .ok_or_else(|| malformed(format!("post {tweet_id} has no readable created_at")))?;
        activity.messages.push(InboundMessage {
            id: tweet_id,
            kind: MessageKind::Mention,
            author_id: author,
            author_handle: tweet.user.screen_name.clone(),
            author_name: tweet.user.name.clone(),
            text,
            created_at,
            in_reply_to: tweet.in_reply_to_status_id_str.clone().filter(|id| !id.is_empty()),
            media: media_entities.iter().filter_map(MediaV1::to_media).collect(),
        });
    }
    activity.messages.sort_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.id.cmp(&b.id)));
    Ok(activity)
}

fn malformed(why: String) -> Error {
    failure(WebhookFailure::Malformed(why))
}

/// v1.1 time format: `Wed Oct 10 20:19:24 +0000 2018`.
fn parse_v1_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_str(text, "%a %b %d %H:%M:%S %z %Y").ok().map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_time_parses() {
        let t = parse_v1_time("Wed Oct 10 20:19:24 +0000 2018").unwrap();
        assert_eq!(t.to_rfc3339(), "2018-10-10T20:19:24+00:00");
        assert!(parse_v1_time("2018-10-10").is_none());
    }

    #[test]
    fn crc_tokens_are_shape_checked() {
        assert!(is_crc_token_shaped("challenge_string"));
        assert!(is_crc_token_shaped("crc-token-123"));
        assert!(is_crc_token_shaped("Zm9vYmFy+/=="));
        assert!(is_crc_token_shaped(&"a".repeat(MAX_CRC_TOKEN_LEN)));
        for bad in ["", "{}", r#"{"for_user_id":"1"}"#, "a b", "a.b", "é", "a\n"] {
            assert!(!is_crc_token_shaped(bad), "{bad:?}");
        }
        assert!(!is_crc_token_shaped(&"a".repeat(MAX_CRC_TOKEN_LEN + 1)));
    }

    #[test]
    fn trailing_bytes_after_the_object_are_refused() {
        let body = br#"{"for_user_id":"1","tweet_create_events":[]}"#;
        assert!(parse_account_activity(body).is_ok());
        let mut padded = body.to_vec();
        padded.extend_from_slice(b" \n\t");
        assert!(parse_account_activity(&padded).is_ok());
        for tail in [&b"x"[..], b"{}", b"[1]", b"\0"] {
            let mut bad = body.to_vec();
            bad.extend_from_slice(tail);
            let error = parse_account_activity(&bad).unwrap_err();
            assert!(error.to_string().contains("after the JSON object"), "{error}");
        }
    }
}
