//! The Aircall simulator's calls: `GET /v1/calls` (paged, `from` / `to` / `order`),
//! `GET /v1/calls/{id}`, `GET /v1/calls/{id}/transcription`, and calls played step by step
//! with their `call.*` webhook deliveries.
//!
//! [`AircallSim::play_call`] plans a call from a [`CallScript`] and returns its
//! [`PlayedCall`]: the ordered [`CallStep`]s, each holding the call as Aircall would
//! describe it at that moment and the webhook delivery of that moment. The call exists in
//! the simulator from the first step; [`AircallSim::apply_step`] makes the API answer the
//! step's state (what a real call does as it progresses), and
//! [`AircallSim::deliver_step`] applies it and POSTs the delivery to a receiver. Recording
//! and voicemail links follow Aircall's three forms: a direct link and a short link (both
//! marked as expiring) and the durable `asset` page.

use std::collections::BTreeMap;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use url::Url;

use super::{AircallProvider, AircallSim, AircallUser, error, not_found, page_request};
use crate::sim::WebhookDelivery;
use crate::sim::server::lock;
use crate::sim::{SimRequest, SimResponse};
use crate::{Error, Result};

/// Ids of simulated calls start here.
const FIRST_CALL_ID: u64 = 900_000_001;
/// Seconds between `call.hungup` and `call.ended` (Aircall: about 30 s).
pub const ENDED_DELAY_SECONDS: i64 = 30;

/// How a scripted call ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallEnding {
    /// An agent answers after `ring_seconds` and talks `talk_seconds`; recorded or not.
    Answered {
        /// The Aircall user who answers.
        by: u64,
        /// Talk time.
        talk_seconds: i64,
        /// Whether the call is recorded.
        recorded: bool,
    },
    /// Nobody answers; no voicemail.
    Missed {
        /// `missed_call_reason`.
        reason: String,
    },
    /// Nobody answers; the caller leaves a voicemail of this length.
    Voicemail {
        /// Voicemail length.
        seconds: i64,
    },
}

/// A call to play.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallScript {
    /// `inbound` (default) or `outbound`.
    pub inbound: bool,
    /// The other party's number (`raw_digits`), e.g. `+33 6 12 34 56 78`.
    pub external_number: String,
    /// The Aircall users rung (inbound), in order; for outbound, the first places the call.
    pub rung_users: Vec<u64>,
    /// Seconds of ringing before the answer / the end.
    pub ring_seconds: i64,
    /// How it ends.
    pub ending: CallEnding,
    /// When it starts (UNIX seconds).
    pub started_at: i64,
    /// A transcription (participant, text) served by `/v1/calls/{id}/transcription`.
    pub transcription: Option<Vec<(String, String)>>,
}

impl CallScript {
    /// An inbound call from `number`, ringing `rung_users` for 8 s, then `ending`, starting
    /// at `started_at`.
    pub fn inbound(
        number: impl Into<String>,
        rung_users: Vec<u64>,
        ending: CallEnding,
        started_at: i64,
    ) -> Self {
        Self {
            inbound: true,
            external_number: number.into(),
            rung_users,
            ring_seconds: 8,
            ending,
            started_at,
            transcription: None,
        }
    }

    /// The same call with a transcription.
    pub fn with_transcription(mut self, lines: Vec<(&str, &str)>) -> Self {
        self.transcription = Some(lines.into_iter().map(|(a, b)| (a.to_owned(), b.to_owned())).collect());
        self
    }
}

/// One moment of a played call.
#[derive(Debug, Clone, PartialEq)]
pub struct CallStep {
    /// The event (`call.ringing_on_agent`).
    pub event: String,
    /// The call as Aircall describes it at this moment (the delivery's `data`).
    pub call: Value,
    /// The webhook delivery (envelope with the webhook token).
    pub delivery: WebhookDelivery,
}

/// A planned call and its steps in order.
#[derive(Debug, Clone, PartialEq)]
pub struct PlayedCall {
    /// The call id.
    pub call_id: u64,
    /// The steps, in the order Aircall sends them.
    pub steps: Vec<CallStep>,
}

impl PlayedCall {
    /// The first step with this event.
    pub fn step(&self, event: &str) -> Option<&CallStep> {
        self.steps.iter().find(|step| step.event == event)
    }
}

/// The calls part of the simulator state.
#[derive(Debug, Default)]
pub(super) struct CallsState {
    /// Call id → current JSON.
    pub(super) calls: BTreeMap<u64, Value>,
    pub(super) transcriptions: BTreeMap<u64, Vec<(String, String)>>,
    next_id: u64,
}

fn user_json(user: &AircallUser, base_url: &Url) -> Value {
    let mut value = user.to_json(base_url);
    if let Some(object) = value.as_object_mut() {
        object.remove("numbers");
    }
    value
}

/// A call-event delivery: envelope `{resource: "call", event, timestamp, token, data}`
/// and Aircall's observed headers.
pub fn call_event_delivery(event: &str, call: &Value, token: &str, timestamp: i64) -> WebhookDelivery {
    let envelope = json!({
        "resource": "call",
        "event": event,
        "timestamp": timestamp,
        "token": token,
        "data": call,
    });
    WebhookDelivery::new(
        "aircall",
        envelope.to_string().into_bytes(),
        vec![
            ("content-type".to_owned(), "application/json".to_owned()),
            ("user-agent".to_owned(), "axios/1.7.7".to_owned()),
            ("aircall-origin".to_owned(), "webhooks".to_owned()),
        ],
    )
}

impl AircallSim {
    /// Plan `script` as a call (it exists from now on, in its first step's state) and
    /// return its steps with deliveries signed with the webhook `token`.
    ///
    /// Inbound: `call.created`, one `call.ringing_on_agent` per rung user, then
    /// `call.answered` + `call.hungup` + `call.ended` (answered), `call.hungup` +
    /// `call.ended` (missed), or `call.voicemail_left` + `call.hungup` + `call.ended`
    /// (voicemail). Outbound: `call.created`, `call.answered` when answered,
    /// `call.hungup`, `call.ended`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an unknown user id.
    pub fn play_call(&self, script: &CallScript, token: &str) -> Result<PlayedCall> {
        let base_url = self.base_url();
        let users: Vec<AircallUser> = script
            .rung_users
            .iter()
            .chain(match &script.ending {
                CallEnding::Answered { by, .. } => Some(by),
                _ => None,
            })
            .map(|id| {
                self.user(*id).ok_or_else(|| Error::invalid("aircall user id", format!("no user {id}")))
            })
            .collect::<Result<_>>()?;
        let user_of = |id: u64| users.iter().find(|u| u.id == id).map(|u| user_json(u, &base_url));
        let mut calls = lock(&self.calls);
        if calls.next_id == 0 {
            calls.next_id = FIRST_CALL_ID;
        }
        let call_id = calls.next_id;
        calls.next_id += 1;
        let t0 = script.started_at;
        let mut call = json!({
            "id": call_id,
            "direct_link": format!("{}v1/calls/{call_id}", base_url),
            "direction": if script.inbound { "inbound" } else { "outbound" },
            "status": "initial",
            "missed_call_reason": null,
            "started_at": t0,
            "answered_at": null,
            "ended_at": null,
            "duration": 0,
            "raw_digits": script.external_number,
            "user": null,
            "number": { "id": 5001, "digits": "+33 1 76 00 00 00", "name": "Support FR" },
            "recording": null,
            "recording_short_url": null,
            "voicemail": null,
            "voicemail_short_url": null,
            "asset": null,
            "archived": false,
            "country_code_a2": "FR",
            "tags": [],
            "comments": [],
        });
        let mut steps = Vec::new();
        let mut push = |event: &str, call: &Value, at: i64| {
            steps.push(CallStep {
                event: event.to_owned(),
                call: call.clone(),
                delivery: call_event_delivery(event, call, token, at),
            });
        };
        let first_user = script.rung_users.first().copied();
        if !script.inbound {
            call["user"] = first_user.and_then(user_of).unwrap_or(Value::Null);
        }
        push("call.created", &call, t0);
        if script.inbound {
            for (n, id) in script.rung_users.iter().enumerate() {
                call["user"] = user_of(*id).unwrap_or(Value::Null);
                push("call.ringing_on_agent", &call, t0 + 1 + n as i64);
            }
            call["user"] = Value::Null;
        }
        let ring_end = t0 + script.ring_seconds;
        let media = |kind: &str| {
            (
                format!("{base_url}sim-media/{call_id}/{kind}.mp3?X-Amz-Expires=600&X-Amz-Signature=sim"),
                format!("{base_url}sim-media/s/{call_id}{kind}?expires=10800"),
                format!("{base_url}assets/calls/{call_id}/{kind}"),
            )
        };
        let ended_at = match &script.ending {
            CallEnding::Answered { by, talk_seconds, recorded } => {
                call["status"] = json!("answered");
                call["answered_at"] = json!(ring_end);
                call["user"] = user_of(*by).unwrap_or(Value::Null);
                push("call.answered", &call, ring_end);
                let end = ring_end + talk_seconds;
                call["status"] = json!("done");
                call["ended_at"] = json!(end);
                call["duration"] = json!(end - t0);
                push("call.hungup", &call, end);
                if *recorded {
                    let (direct, short, asset) = media("recording");
                    call["recording"] = json!(direct);
                    call["recording_short_url"] = json!(short);
                    call["asset"] = json!(asset);
                }
                end
            }
            CallEnding::Missed { reason } => {
                call["status"] = json!("done");
                call["ended_at"] = json!(ring_end);
                call["duration"] = json!(script.ring_seconds);
                call["missed_call_reason"] = json!(reason);
                push("call.hungup", &call, ring_end);
                ring_end
            }
            CallEnding::Voicemail { seconds } => {
                let end = ring_end + seconds;
                let (direct, short, asset) = media("voicemail");
                call["status"] = json!("done");
                call["ended_at"] = json!(end);
                call["duration"] = json!(end - t0);
                call["missed_call_reason"] = json!("agents_did_not_answer");
                call["voicemail"] = json!(direct);
                call["voicemail_short_url"] = json!(short);
                call["asset"] = json!(asset);
                push("call.voicemail_left", &call, end);
                push("call.hungup", &call, end);
                end
            }
        };
        push("call.ended", &call, ended_at + ENDED_DELAY_SECONDS);
        if let Some(first) = steps.first() {
            calls.calls.insert(call_id, first.call.clone());
        }
        if let Some(lines) = &script.transcription {
            calls.transcriptions.insert(call_id, lines.clone());
        }
        Ok(PlayedCall { call_id, steps })
    }

    /// Make the API describe the call as in `step`.
    pub fn apply_step(&self, played: &PlayedCall, step: &CallStep) {
        lock(&self.calls).calls.insert(played.call_id, step.call.clone());
    }

    /// [`apply_step`](Self::apply_step), then POST the step's delivery to `url`; returns
    /// the receiver's status.
    ///
    /// # Errors
    /// As [`WebhookDelivery::send`].
    pub async fn deliver_step(&self, played: &PlayedCall, step: &CallStep, url: &Url) -> Result<u16> {
        self.apply_step(played, step);
        step.delivery.send(url).await
    }

    /// The call as the API currently describes it.
    pub fn call_json(&self, call_id: u64) -> Option<Value> {
        lock(&self.calls).calls.get(&call_id).cloned()
    }
}

impl AircallProvider {
    /// The calls routes; `None` for other paths.
    pub(super) fn handle_calls(
        &self,
        request: &SimRequest,
        segments: &[&str],
        base_url: &Url,
    ) -> Option<SimResponse> {
        let id = |text: &str| text.parse::<u64>().ok();
        Some(match (&request.method, segments) {
            (&Method::GET, ["v1", "calls"]) => self.list_calls(request, base_url),
            (&Method::GET, ["v1", "calls", call_id]) => {
                let calls = lock(&self.calls);
                match id(call_id).and_then(|call_id| calls.calls.get(&call_id)) {
                    Some(call) => SimResponse::json(StatusCode::OK, &json!({ "call": call })),
                    None => not_found("Call"),
                }
            }
            (&Method::GET, ["v1", "calls", call_id, "transcription"]) => {
                let calls = lock(&self.calls);
                let Some(call_id) = id(call_id).filter(|call_id| calls.calls.contains_key(call_id)) else {
                    return Some(not_found("Call"));
                };
                match calls.transcriptions.get(&call_id) {
                    Some(lines) => {
                        let utterances: Vec<Value> = lines
                            .iter()
                            .enumerate()
                            .map(|(n, (who, text))| {
                                json!({ "start_time": n * 5, "end_time": n * 5 + 4, "text": text, "participant_type": who })
                            })
                            .collect();
                        SimResponse::json(
                            StatusCode::OK,
                            &json!({ "transcription": { "id": call_id, "call_id": call_id, "type": "call",
                                "content": { "language": "en", "utterances": utterances } } }),
                        )
                    }
                    None => not_found("Transcription"),
                }
            }
            _ => return None,
        })
    }

    fn list_calls(&self, request: &SimRequest, base_url: &Url) -> SimResponse {
        let paging = match page_request(request) {
            Ok(paging) => paging,
            Err(response) => return *response,
        };
        let bound = |name: &str| -> std::result::Result<Option<i64>, Box<SimResponse>> {
            match request.query_value(name) {
                None => Ok(None),
                Some(text) => text.trim().parse::<i64>().map(Some).map_err(|_| {
                    Box::new(error(
                        StatusCode::BAD_REQUEST,
                        "Bad request",
                        &format!("`{name}` must be a UNIX timestamp"),
                    ))
                }),
            }
        };
        let (from, to) = match (bound("from"), bound("to")) {
            (Ok(from), Ok(to)) => (from, to),
            (Err(response), _) | (_, Err(response)) => return *response,
        };
        let calls = lock(&self.calls);
        let selected: Vec<&Value> = calls
            .calls
            .values()
            .filter(|call| {
                let started = call["started_at"].as_i64().unwrap_or(0);
                from.is_none_or(|from| started >= from) && to.is_none_or(|to| started < to)
            })
            .collect();
        let (page, mut meta) = super::paginate(&selected, &paging, base_url, &request.path);
        // Keep the window in the page links, as Aircall does.
        for key in ["next_page_link", "previous_page_link"] {
            if let Some(text) = meta[key].as_str() {
                if let Ok(mut url) = Url::parse(text) {
                    {
                        let mut query = url.query_pairs_mut();
                        if let Some(from) = from {
                            query.append_pair("from", &from.to_string());
                        }
                        if let Some(to) = to {
                            query.append_pair("to", &to.to_string());
                        }
                    }
                    meta[key] = json!(String::from(url));
                }
            }
        }
        let page: Vec<&Value> = page.into_iter().copied().collect();
        SimResponse::json(StatusCode::OK, &json!({ "calls": page, "meta": meta }))
    }
}
