//! Aircall calls: the Call object, the calls API and the `call.*` webhook events.
//!
//! The full description is on [`Call`].

use std::fmt;

use chrono::{DateTime, Utc};
use futures_util::Stream;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::client::{AircallClient, PROVIDER};
use super::model::{PageMeta, de_id};
use super::webhook::WebhookEvent;
use crate::error::WebhookFailure;
use crate::http::{ApiRequest, Cursor, Method, Page, paginate};
use crate::{Error, Result};

/// Defines an open string enum (known values get a variant, others are kept verbatim).
macro_rules! open_text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A value this crate does not know, as Aircall spelled it.
            Other(String),
        }

        impl $name {
            /// The value as Aircall spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $text,)+
                    Self::Other(text) => text,
                }
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                match text {
                    $($text => Self::$variant,)+
                    other => Self::Other(other.to_owned()),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
                let text = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
                Ok(Self::from(text.as_ref()))
            }
        }
    };
}

open_text_enum! {
    /// A call's direction.
    CallDirection {
        /// The customer called.
        Inbound => "inbound",
        /// The agent called.
        Outbound => "outbound",
    }
}

open_text_enum! {
    /// A call's `status`.
    CallStatus {
        /// Ringing or in the IVR.
        Initial => "initial",
        /// Answered, in progress.
        Answered => "answered",
        /// Over.
        Done => "done",
    }
}

open_text_enum! {
    /// Why an inbound call was missed (`missed_call_reason`).
    MissedCallReason {
        /// Outside the number's opening hours.
        OutOfOpeningHours => "out_of_opening_hours",
        /// The caller hung up quickly.
        ShortAbandoned => "short_abandoned",
        /// The caller hung up in the IVR.
        AbandonedInIvr => "abandoned_in_ivr",
        /// The caller hung up while waiting.
        AbandonedInClassic => "abandoned_in_classic",
        /// No agent was available.
        NoAvailableAgent => "no_available_agent",
        /// Agents were rung and none answered.
        AgentsDidNotAnswer => "agents_did_not_answer",
    }
}

open_text_enum! {
    /// A `call.*` webhook event.
    CallEventKind {
        /// The call was created (inbound: ringing the number; outbound: dialing).
        Created => "call.created",
        /// The call rings on one agent (`data.user`).
        RingingOnAgent => "call.ringing_on_agent",
        /// An agent declined the call.
        AgentDeclined => "call.agent_declined",
        /// An agent answered.
        Answered => "call.answered",
        /// The call was transferred.
        Transferred => "call.transferred",
        /// A transfer failed.
        UnsuccessfulTransfer => "call.unsuccessful_transfer",
        /// The call was transferred to an external number.
        ExternalTransferred => "call.external_transferred",
        /// The line hung up (call data not final yet).
        Hungup => "call.hungup",
        /// The call is over and its data final (about 30 s after `call.hungup`).
        Ended => "call.ended",
        /// The caller left a voicemail.
        VoicemailLeft => "call.voicemail_left",
        /// The call was assigned to a user or team.
        Assigned => "call.assigned",
        /// The call was archived.
        Archived => "call.archived",
        /// A tag was added.
        Tagged => "call.tagged",
        /// A tag was removed.
        Untagged => "call.untagged",
        /// A note was added.
        Commented => "call.commented",
        /// Conversation intelligence assets (transcription, summary) are ready.
        CommAssetsGenerated => "call.comm_assets_generated",
    }
}

/// Deserialize an optional UNIX-seconds timestamp (integer, digit string or `null`).
fn de_unix<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Option<DateTime<Utc>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Int(i64),
        Float(f64),
        Text(String),
    }
    let seconds = match Option::<Raw>::deserialize(deserializer)? {
        None => return Ok(None),
        Some(Raw::Int(seconds)) => seconds,
        // Whole seconds are documented; a float is truncated, defensively.
        Some(Raw::Float(seconds)) if seconds.is_finite() => seconds as i64,
        Some(Raw::Float(_)) => return Err(serde::de::Error::custom("timestamp is not finite")),
        Some(Raw::Text(text)) if text.trim().is_empty() => return Ok(None),
        Some(Raw::Text(text)) => text
            .trim()
            .parse()
            .map_err(|_| serde::de::Error::custom(format!("expected UNIX seconds, got \"{text}\"")))?,
    };
    DateTime::from_timestamp(seconds, 0)
        .map(Some)
        .ok_or_else(|| serde::de::Error::custom(format!("timestamp {seconds} is out of range")))
}

fn de_opt_id<'de, D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    struct Id(#[serde(deserialize_with = "de_id")] u64);
    Ok(Option::<Id>::deserialize(deserializer)?.map(|Id(id)| id))
}

/// The user (agent) a call belongs to, or rings on.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct CallUser {
    /// User id.
    #[serde(deserialize_with = "de_id")]
    pub id: u64,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// E-mail (the join key with the helpdesk).
    #[serde(default)]
    pub email: Option<String>,
}

/// The Aircall number a call went through.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct CallNumber {
    /// Number id.
    #[serde(deserialize_with = "de_id")]
    pub id: u64,
    /// The number in international format.
    #[serde(default)]
    pub digits: Option<String>,
    /// Its name in Aircall.
    #[serde(default)]
    pub name: Option<String>,
}

/// An Aircall call, read tolerantly: every field but `id` may be absent or `null`.
///
/// Aircall calls: the Call object, the calls API and the `call.*` webhook events.
///
/// Sources (cited in `docs/PROVIDER_FACTS.md`): the Call object and calls endpoints of
/// Aircall's API reference (<https://developer.aircall.io/api-references/#call>), its
/// webhook event list (<https://developer.aircall.io/api-references/#call-events>) and
/// "plan your integration" (<https://developer.aircall.io/docs/plan-your-integration>:
/// `call.hungup` fires at once, `call.ended` about 30 s later, once the call data is
/// complete).
///
/// # Recording links
///
/// A Call carries three kinds of link to its recording (and the same three to its
/// voicemail): `recording` / `voicemail`, a direct signed file link that expires (how soon
/// is UNCONFIRMED: 10 minutes as read from the API reference, 30 minutes or one hour per
/// public client code); `recording_short_url` / `voicemail_short_url`, a short link valid
/// for 3 hours; and `asset`, a secured Aircall page
/// (`https://assets.aircall.io/calls/{id}/recording`) that redirects, after an Aircall
/// sign-in, to a fresh signed link on each visit. Only `asset` stays valid, so
/// [`Call::durable_media_link`] returns only it, and deskbridge never stores or forwards the
/// short-lived ones (a helpdesk keeps the link forever). deskbridge depends on no expiry
/// figure, only on "the direct and short links expire, `asset` does not".
///
/// # Events
///
/// Call events use the same envelope and the same webhook `token` as user events, so
/// [`WebhookVerifier::verify`](super::WebhookVerifier::verify) checks them unchanged;
/// [`WebhookEvent::call_event`] then reads `data` as a [`Call`]. Known events get a
/// [`CallEventKind`] variant; any other `call.*` event is kept by name
/// ([`CallEventKind::Other`]), never an error. Deliveries are at-least-once and unordered:
/// a consumer must tolerate `call.ended` before `call.ringing_on_agent`, and duplicates.
///
/// # Transcriptions
///
/// With Aircall AI, `GET /v1/calls/{id}/transcription` returns the call's utterances. The
/// response shape is **UNCONFIRMED** (`{"transcription": {"content": {"utterances":
/// [{"text", "participant_type", ...}]}}}` per the reference as read), so
/// [`AircallClient::call_transcription`] reads it tolerantly and answers `None` on 403/404
/// (no Aircall AI, no transcription yet).
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct Call {
    /// Call id.
    #[serde(deserialize_with = "de_id")]
    pub id: u64,
    /// Inbound or outbound.
    #[serde(default)]
    pub direction: Option<CallDirection>,
    /// `initial`, `answered` or `done`.
    #[serde(default)]
    pub status: Option<CallStatus>,
    /// Why it was missed.
    #[serde(default)]
    pub missed_call_reason: Option<MissedCallReason>,
    /// When it started.
    #[serde(default, deserialize_with = "de_unix")]
    pub started_at: Option<DateTime<Utc>>,
    /// When an agent answered (`None`: never answered).
    #[serde(default, deserialize_with = "de_unix")]
    pub answered_at: Option<DateTime<Utc>>,
    /// When it ended.
    #[serde(default, deserialize_with = "de_unix")]
    pub ended_at: Option<DateTime<Utc>>,
    /// Duration in seconds (from start to end, including waiting).
    #[serde(default)]
    pub duration: Option<u64>,
    /// The other party's number (`anonymous` when hidden).
    #[serde(default)]
    pub raw_digits: Option<String>,
    /// The agent who took (or placed) the call, or the one being rung in
    /// `call.ringing_on_agent`.
    #[serde(default)]
    pub user: Option<CallUser>,
    /// The Aircall number.
    #[serde(default)]
    pub number: Option<CallNumber>,
    /// Direct recording link, valid for minutes: never stored or forwarded.
    #[serde(default)]
    recording: Option<String>,
    /// Short recording link, valid for hours: never stored or forwarded.
    #[serde(default)]
    recording_short_url: Option<String>,
    /// Direct voicemail link, valid for minutes: never stored or forwarded.
    #[serde(default)]
    voicemail: Option<String>,
    /// Short voicemail link, valid for hours: never stored or forwarded.
    #[serde(default)]
    voicemail_short_url: Option<String>,
    /// The durable page of the recording or voicemail.
    #[serde(default)]
    pub asset: Option<String>,
    /// Link to the call in the Aircall Dashboard / API.
    #[serde(default)]
    pub direct_link: Option<String>,
    /// Whether archived.
    #[serde(default)]
    pub archived: Option<bool>,
    /// Country code of the other party (ISO 3166-1 alpha-2), when known.
    #[serde(default)]
    pub country_code_a2: Option<String>,
    /// The user the call was transferred to, when it was.
    #[serde(default)]
    pub transferred_to: Option<CallUser>,
    /// The team or user id the call was assigned to.
    #[serde(default, deserialize_with = "de_opt_id")]
    pub assigned_to: Option<u64>,
}

impl fmt::Debug for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The short-lived links grant access to the audio without a login: keep them out
        // of logs.
        f.debug_struct("Call")
            .field("id", &self.id)
            .field("direction", &self.direction)
            .field("status", &self.status)
            .field("missed_call_reason", &self.missed_call_reason)
            .field("started_at", &self.started_at)
            .field("answered_at", &self.answered_at)
            .field("ended_at", &self.ended_at)
            .field("duration", &self.duration)
            .field("raw_digits", &self.raw_digits)
            .field("user", &self.user)
            .field("has_recording", &self.has_recording())
            .field("has_voicemail", &self.has_voicemail())
            .field("asset", &self.asset)
            .finish_non_exhaustive()
    }
}

impl Call {
    /// Whether Aircall has a recording of the call.
    pub fn has_recording(&self) -> bool {
        self.recording.is_some() || self.recording_short_url.is_some()
    }

    /// Whether the caller left a voicemail.
    pub fn has_voicemail(&self) -> bool {
        self.voicemail.is_some() || self.voicemail_short_url.is_some()
    }

    /// The only link to the call's recording or voicemail that stays valid: the `asset`
    /// page, when the call has a recording or voicemail. `None` otherwise, even if a
    /// short-lived direct link exists (see the [module docs](Call#recording-links)).
    pub fn durable_media_link(&self) -> Option<&str> {
        self.asset.as_deref().filter(|_| self.has_recording() || self.has_voicemail())
    }

    /// The direct (short-lived) recording link, for an immediate download only.
    pub fn short_lived_recording_link(&self) -> Option<&str> {
        self.recording.as_deref().or(self.recording_short_url.as_deref())
    }

    /// Whether the call is over (`status: done` or an end time).
    pub fn is_over(&self) -> bool {
        self.status == Some(CallStatus::Done) || self.ended_at.is_some()
    }

    /// Whether the call was answered by an agent.
    pub fn was_answered(&self) -> bool {
        self.answered_at.is_some()
    }

    /// Whether this is an inbound call (the default when Aircall does not say).
    pub fn is_inbound(&self) -> bool {
        self.direction != Some(CallDirection::Outbound)
    }

    /// Talk time: from answer to end, in seconds, when both are known.
    pub fn talk_seconds(&self) -> Option<u64> {
        let (answered, ended) = (self.answered_at?, self.ended_at?);
        u64::try_from((ended - answered).num_seconds()).ok()
    }
}

/// A call event: what happened and the call as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallEvent {
    /// The event.
    pub kind: CallEventKind,
    /// The call object in `data`.
    pub call: Call,
    /// The envelope timestamp.
    pub occurred_at: DateTime<Utc>,
}

impl WebhookEvent {
    /// The call event, when this delivery is one (`resource: "call"` or an event named
    /// `call.*`): `None` for other events, `Some(Err)` when `data` is not a call.
    ///
    /// # Errors
    /// [`Error::WebhookVerification`] with [`WebhookFailure::Malformed`] naming the JSON
    /// path of the offending value.
    pub fn call_event(&self) -> Option<Result<CallEvent>> {
        let is_call = self.resource.as_deref() == Some("call") || self.event.starts_with("call.");
        if !is_call {
            return None;
        }
        let data = match &self.kind {
            super::webhook::WebhookEventKind::Other { data } => data,
            _ => return None,
        };
        Some(parse_call_data(data).map(|call| CallEvent {
            kind: CallEventKind::from(self.event.as_str()),
            call,
            occurred_at: self.occurred_at,
        }))
    }
}

fn parse_call_data(data: &Value) -> Result<Call> {
    serde_path_to_error::deserialize::<_, Call>(data).map_err(|e| Error::WebhookVerification {
        provider: PROVIDER,
        failure: WebhookFailure::Malformed(format!("at `data.{}`: {}", e.path(), e.inner())),
    })
}

#[derive(Deserialize)]
struct CallEnvelope {
    call: Call,
}

#[derive(Deserialize)]
struct CallsPage {
    #[serde(default)]
    calls: Vec<Call>,
    #[serde(default)]
    meta: PageMeta,
}

/// Filters of [`AircallClient::calls`]: creation-time window (UNIX seconds) and order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallQuery {
    /// Calls created at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Calls created before this time.
    pub to: Option<DateTime<Utc>>,
    /// `asc` (default) or `desc`.
    pub descending: bool,
}

/// A call's transcription, flattened to text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transcription {
    /// Each utterance as `participant: text`, one per line.
    pub text: String,
    /// The language, when given.
    pub language: Option<String>,
}

fn transcription_from(value: &Value) -> Option<Transcription> {
    let root = value.get("transcription").unwrap_or(value);
    let content = root.get("content").unwrap_or(root);
    let language = content.get("language").and_then(Value::as_str).map(str::to_owned);
    let utterances = content.get("utterances").and_then(Value::as_array)?;
    let lines: Vec<String> = utterances
        .iter()
        .filter_map(|u| {
            let text = u.get("text").and_then(Value::as_str)?.trim();
            if text.is_empty() {
                return None;
            }
            Some(match u.get("participant_type").and_then(Value::as_str) {
                Some(who) => format!("{who}: {text}"),
                None => text.to_owned(),
            })
        })
        .collect();
    (!lines.is_empty()).then(|| Transcription { text: lines.join("\n"), language })
}

impl AircallClient {
    /// One call (`GET /v1/calls/{id}`).
    ///
    /// # Errors
    /// [`Error::Api`] (404 for an unknown call), [`Error::Decode`].
    pub async fn call(&self, id: u64) -> Result<Call> {
        let request = ApiRequest::get("/v1/calls/{id}").param("id", id)?;
        Ok(self.api().send_json::<CallEnvelope>(request).await?.call)
    }

    /// Calls, lazily, 50 per page (`GET /v1/calls` with `from`, `to`, `order`, following
    /// `meta.next_page_link`; Aircall caps one query at 10,000 records, so split long
    /// windows).
    pub fn calls(&self, query: CallQuery) -> impl Stream<Item = Result<Call>> + Send + 'static {
        let api = self.api().clone();
        let context = "GET /v1/calls".to_owned();
        paginate(PROVIDER, context.clone(), move |cursor| {
            let api = api.clone();
            let query = query.clone();
            let context = context.clone();
            async move {
                let request = match cursor {
                    None => ApiRequest::get("/v1/calls")
                        .query("per_page", 50)
                        .query("order", if query.descending { "desc" } else { "asc" })
                        .query_opt("from", query.from.map(|t| t.timestamp()))
                        .query_opt("to", query.to.map(|t| t.timestamp())),
                    Some(Cursor::Link(link)) if link.origin() == api.base_url().origin() => {
                        ApiRequest::absolute(Method::GET, "/v1/calls (next page)", link)
                    }
                    Some(Cursor::Link(link)) => {
                        let mut request = ApiRequest::get("/v1/calls");
                        for (key, value) in link.query_pairs() {
                            request = request.query(key.into_owned(), value);
                        }
                        request
                    }
                    Some(_) => {
                        return Err(Error::Decode {
                            provider: PROVIDER,
                            context,
                            json_path: "meta.next_page_link".into(),
                            message: "unexpected cursor kind".into(),
                        });
                    }
                };
                let page: CallsPage = api.send_json(request).await?;
                Page::with_link(PROVIDER, &context, page.calls, page.meta.next_page_link.as_deref())
            }
        })
    }

    /// A call's transcription (`GET /v1/calls/{id}/transcription`, Aircall AI), flattened
    /// to text. `None` when Aircall answers 403 or 404 (no Aircall AI, or none yet) or the
    /// answer holds no utterance.
    ///
    /// # Errors
    /// Other [`Error::Api`] answers, transport errors.
    pub async fn call_transcription(&self, id: u64) -> Result<Option<Transcription>> {
        let request = ApiRequest::get("/v1/calls/{id}/transcription").param("id", id)?;
        match self.api().send_json::<Value>(request).await {
            Ok(value) => Ok(transcription_from(&value)),
            Err(Error::Api { status: 403 | 404, .. }) => Ok(None),
            Err(error) => Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_the_asset_page_is_durable() {
        let call: Call = serde_json::from_value(json!({
            "id": "12", "direction": "inbound", "status": "done", "started_at": 1700000000,
            "answered_at": 1700000010, "ended_at": "1700000070", "duration": 70,
            "recording": "https://s3/rec.mp3?X-Amz-Expires=600", "asset": "https://assets.aircall.io/calls/12/recording",
            "user": {"id": 5, "email": "a@example.com"}, "unknown": {"x": 1}
        }))
        .unwrap();
        assert_eq!(call.durable_media_link(), Some("https://assets.aircall.io/calls/12/recording"));
        assert_eq!(call.talk_seconds(), Some(60));
        assert!(call.is_over() && call.was_answered() && call.is_inbound());
        assert!(!format!("{call:?}").contains("X-Amz"));
        let no_media: Call =
            serde_json::from_value(json!({"id": 1, "asset": "https://a", "recording": null})).unwrap();
        assert_eq!(no_media.durable_media_link(), None);
    }

    #[test]
    fn unknown_values_are_kept() {
        let call: Call = serde_json::from_value(
            json!({"id": 1, "direction": "sideways", "missed_call_reason": "new_reason"}),
        )
        .unwrap();
        assert_eq!(call.direction, Some(CallDirection::Other("sideways".into())));
        assert_eq!(CallEventKind::from("call.future"), CallEventKind::Other("call.future".into()));
        assert!(serde_json::from_value::<Call>(json!({"id": 1, "started_at": "soon"})).is_err());
    }

    #[test]
    fn transcriptions_flatten_tolerantly() {
        let value = json!({"transcription": {"content": {"language": "en", "utterances": [
            {"text": "Hello", "participant_type": "external"}, {"text": " "}, {"text": "Hi", "participant_type": "internal"}
        ]}}});
        let t = transcription_from(&value).unwrap();
        assert_eq!(t.text, "external: Hello\ninternal: Hi");
        assert_eq!(transcription_from(&json!({"transcription": {}})), None);
    }
}
