//! Aircall calls → Zendesk Talk Partner Edition, end to end on the simulators: ringing →
//! screen pop, answered → ended → ticket and call record with the durable recording link,
//! missed (logged or ignored), voicemail, voice-ticket mode, unknown callers, duplicates,
//! reordering, a crash at each step between "created in Zendesk" and "state saved", two
//! instances on one store, an agent without a Talk seat, and the webhook router over HTTP.
#![cfg(all(feature = "sim", feature = "aircall", feature = "zendesk", feature = "server"))]

use crate::common::calls as rig;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use deskbridge::aircall::WebhookVerifier;
use deskbridge::bridges::{CallKind, CallOutcome, LogMode, MissedCalls, external_id};
use deskbridge::ports::StateStore;
use deskbridge::server::calls::{CallsRouterOptions, router};
use deskbridge::sim::aircall::{CallEnding, CallScript};
use deskbridge::sim::zendesk::ZendeskDisplay;
use deskbridge::store::MemoryStore;
use deskbridge::{Error, Result};
use rig::*;
use serde_json::Value;

fn memory() -> Arc<dyn StateStore> {
    Arc::new(MemoryStore::new())
}

fn answered(rung: Vec<u64>, by: u64) -> CallScript {
    CallScript::inbound(CLAIRE_PHONE, rung, CallEnding::Answered { by, talk_seconds: 95, recorded: true }, T0)
        .with_transcription(vec![("external", "My order is late"), ("internal", "Let me check")])
}

/// Every request body Zendesk received, and every stored value, as text.
fn zendesk_bodies(rig: &Rig) -> String {
    rig.zendesk.server().requests().iter().map(|r| r.body_text()).collect::<Vec<_>>().join("\n")
}

#[tokio::test]
async fn ringing_pops_the_caller_to_each_rung_agent_once() {
    let rig = Rig::start().await;
    // Call records need the app id: refused at construction, before anything is sent.
    let no_app = deskbridge::bridges::CallsBridge::new(
        rig.aircall_client(),
        rig.zendesk_client(),
        memory(),
        deskbridge::bridges::CallsConfig::default(),
    );
    assert!(matches!(no_app, Err(Error::Config(message)) if message.contains("app id")));
    let bridge = rig.bridge(memory(), Rig::config(), "a");
    let played = rig.aircall.play_call(&answered(vec![AC_ADA, AC_BOB, AC_ZED], AC_ADA), TOKEN).unwrap();
    let rings: Vec<_> = played.steps.iter().filter(|s| s.event == "call.ringing_on_agent").collect();
    assert_eq!(rings.len(), 3);
    let mut outcomes = Vec::new();
    for step in &rings {
        outcomes.push(bridge.handle(&event_of(step)).await.unwrap());
    }
    assert_eq!(
        outcomes[..2],
        [
            CallOutcome::Popped {
                call_id: played.call_id,
                agent_id: ZD_ADA,
                user_id: rig.claire,
                created_user: false
            },
            CallOutcome::Popped {
                call_id: played.call_id,
                agent_id: ZD_BOB,
                user_id: rig.claire,
                created_user: false
            },
        ]
    );
    assert!(
        matches!(&outcomes[2], CallOutcome::NotPopped { reason, .. } if reason.contains("1003")),
        "{outcomes:?}"
    );
    // A redelivery pops nothing more.
    assert!(matches!(bridge.handle(&event_of(rings[0])).await.unwrap(), CallOutcome::Duplicate { .. }));
    assert_eq!(
        rig.zendesk.talk_records().displays,
        vec![
            ZendeskDisplay::User { agent_id: ZD_ADA, user_id: rig.claire },
            ZendeskDisplay::User { agent_id: ZD_BOB, user_id: rig.claire },
        ]
    );
}

#[tokio::test]
async fn an_answered_call_becomes_one_ticket_with_a_call_record_and_the_durable_recording() {
    let rig = Rig::start().await;
    let store = memory();
    let bridge = rig.bridge(Arc::clone(&store), Rig::config(), "a");
    let played = rig.aircall.play_call(&answered(vec![AC_ADA], AC_ADA), TOKEN).unwrap();
    let outcomes = play_all(&rig, &played, &bridge).await;
    let events: Vec<&str> = outcomes.iter().map(|(e, _)| e.as_str()).collect();
    assert_eq!(
        events,
        ["call.created", "call.ringing_on_agent", "call.answered", "call.hungup", "call.ended"]
    );
    assert!(matches!(outcomes[1].1, CallOutcome::Popped { agent_id: ZD_ADA, .. }));
    let CallOutcome::Logged { kind, ticket_id, call_record_id: Some(record_id), recovered: false, .. } =
        outcomes[4].1
    else {
        panic!("{outcomes:?}")
    };
    assert_eq!(kind, CallKind::Answered);

    let records = rig.zendesk.talk_records();
    assert_eq!(records.tickets.len(), 1);
    let ticket = &records.tickets[0];
    assert_eq!(ticket.id, ticket_id);
    assert_eq!(ticket.external_id.as_deref(), Some(external_id(played.call_id).as_str()));
    assert_eq!((ticket.requester_id, ticket.assignee_id), (Some(rig.claire), Some(ZD_ADA)));
    assert_eq!(
        ticket.comments.iter().map(|c| c.kind.as_str()).collect::<Vec<_>>(),
        ["Comment", "VoiceComment"]
    );
    assert_eq!(records.calls.len(), 1);
    let call = &records.calls[0];
    assert_eq!(call.id, record_id);
    let field = |name: &str| call.fields.get(name).cloned().unwrap_or(Value::Null);
    assert_eq!(field("app_id"), APP_ID);
    assert_eq!(field("direction"), "inbound");
    assert_eq!(field("agent_id"), ZD_ADA);
    assert_eq!(field("end_user_id"), rig.claire);
    assert_eq!(field("ticket_id"), ticket_id);
    assert_eq!(field("talk_time"), 95);
    assert_eq!(field("voicemail"), false);
    assert_eq!(field("from_line"), CLAIRE_PHONE);
    assert_eq!(field("transcript"), "external: My order is late\ninternal: Let me check");
    let recording = field("recording_url");
    assert!(recording.as_str().is_some_and(|url| url.contains("/assets/calls/")), "{recording}");
    // The ticket opens in the answering agent's browser.
    assert!(records.displays.contains(&ZendeskDisplay::Ticket { agent_id: ZD_ADA, ticket_id }));
    // Short-lived links never reach Zendesk nor the store.
    let bodies = zendesk_bodies(&rig);
    assert!(!bodies.contains("X-Amz") && !bodies.contains("sim-media"), "{bodies}");
    let stored = format!("{:?}", store.scan_prefix("").await.unwrap());
    assert!(!stored.contains("sim-media"), "{stored}");
    // A redelivered call.ended creates nothing.
    let ended = played.step("call.ended").unwrap();
    assert!(matches!(bridge.handle(&event_of(ended)).await.unwrap(), CallOutcome::Duplicate { .. }));
    assert_eq!((rig.zendesk.talk_records().tickets.len(), rig.zendesk.talk_records().calls.len()), (1, 1));
}

#[tokio::test]
async fn missed_calls_are_logged_or_ignored_by_configuration() {
    let rig = Rig::start().await;
    let missed = CallScript::inbound(
        CLAIRE_PHONE,
        vec![AC_ADA],
        CallEnding::Missed { reason: "agents_did_not_answer".into() },
        T0,
    );
    let played = rig.aircall.play_call(&missed, TOKEN).unwrap();
    let bridge = rig.bridge(memory(), Rig::config(), "a");
    let outcomes = play_all(&rig, &played, &bridge).await;
    assert!(
        matches!(outcomes.last().unwrap().1, CallOutcome::Logged { kind: CallKind::Missed, .. }),
        "{outcomes:?}"
    );
    let records = rig.zendesk.talk_records();
    assert_eq!(records.tickets.len(), 1);
    assert!(records.tickets[0].tags.contains(&"missed_call".to_owned()));
    assert_eq!(
        records.tickets[0].subject.as_deref(),
        Some(format!("Missed call from {CLAIRE_PHONE}").as_str())
    );
    assert_eq!(records.calls[0].fields["completion_status"], "abandoned_in_queue");

    let ignoring = rig.bridge(memory(), Rig::config().with_missed_calls(MissedCalls::Ignore), "b");
    let played = rig.aircall.play_call(&missed, TOKEN).unwrap();
    let outcomes = play_all(&rig, &played, &ignoring).await;
    assert!(matches!(outcomes.last().unwrap().1, CallOutcome::Ignored { .. }), "{outcomes:?}");
    let again = ignoring.handle(&event_of(played.step("call.ended").unwrap())).await.unwrap();
    assert!(matches!(again, CallOutcome::Duplicate { .. }), "{again:?}");
    assert_eq!(rig.zendesk.talk_records().tickets.len(), 1, "no ticket for the ignored missed call");
}

#[tokio::test]
async fn a_voicemail_is_logged_once_in_both_modes() {
    let rig = Rig::start().await;
    let voicemail =
        CallScript::inbound(CLAIRE_PHONE, vec![AC_BOB], CallEnding::Voicemail { seconds: 21 }, T0);
    // Call-record mode: voicemail_left logs it, call.ended is a duplicate.
    let bridge = rig.bridge(memory(), Rig::config(), "a");
    let played = rig.aircall.play_call(&voicemail, TOKEN).unwrap();
    let outcomes = play_all(&rig, &played, &bridge).await;
    let logged: Vec<_> = outcomes.iter().filter(|(_, o)| matches!(o, CallOutcome::Logged { .. })).collect();
    assert_eq!(logged.len(), 1, "{outcomes:?}");
    assert_eq!(logged[0].0, "call.voicemail_left");
    assert!(matches!(outcomes.last().unwrap().1, CallOutcome::Duplicate { .. }));
    let records = rig.zendesk.talk_records();
    assert_eq!(records.calls[0].fields["voicemail"], true);
    assert!(records.calls[0].fields["recording_url"].as_str().unwrap().ends_with("/voicemail"));

    // Voice-ticket mode: one ticket with via_id 44 and the Tickets-API voice comment.
    let config = Rig::config().with_log_mode(LogMode::VoiceTicket).with_app_id(None);
    let bridge = rig.bridge(memory(), config, "b");
    let played = rig.aircall.play_call(&voicemail, TOKEN).unwrap();
    play_all(&rig, &played, &bridge).await;
    let records = rig.zendesk.talk_records();
    let ticket = records.tickets.iter().find(|t| t.external_id == Some(external_id(played.call_id))).unwrap();
    assert_eq!(ticket.via_id, Some(44));
    let voice = &ticket.comments.iter().find(|c| c.kind == "VoiceComment").unwrap().data;
    assert_eq!(voice["from"], CLAIRE_PHONE);
    assert_eq!(voice["call_duration"], 29);
    assert!(voice["recording_url"].as_str().unwrap().contains("/assets/calls/"));
    assert!(voice.get("answered_by_id").is_none());
}

#[tokio::test]
async fn voice_ticket_mode_logs_answered_calls_with_via_45_and_the_answering_agent() {
    let rig = Rig::start().await;
    let config = Rig::config().with_log_mode(LogMode::VoiceTicket);
    let bridge = rig.bridge(memory(), config, "a");
    let played = rig.aircall.play_call(&answered(vec![AC_BOB], AC_BOB), TOKEN).unwrap();
    play_all(&rig, &played, &bridge).await;
    let records = rig.zendesk.talk_records();
    assert_eq!((records.tickets.len(), records.calls.len()), (1, 0));
    let ticket = &records.tickets[0];
    assert_eq!(ticket.via_id, Some(45));
    let voice = &ticket.comments.iter().find(|c| c.kind == "VoiceComment").unwrap().data;
    assert_eq!(voice["answered_by_id"], ZD_BOB);
    assert_eq!(voice["transcription_text"], "external: My order is late\ninternal: Let me check");
    assert!(records.displays.contains(&ZendeskDisplay::Ticket { agent_id: ZD_BOB, ticket_id: ticket.id }));
}

#[tokio::test]
async fn an_unknown_caller_is_created_once_when_configured() {
    let rig = Rig::start().await;
    let config = Rig::config().with_create_unknown_callers(true);
    let bridge = rig.bridge(memory(), config, "a");
    let script = CallScript::inbound(
        UNKNOWN_PHONE,
        vec![AC_ADA, AC_BOB],
        CallEnding::Answered { by: AC_BOB, talk_seconds: 10, recorded: false },
        T0,
    );
    let played = rig.aircall.play_call(&script, TOKEN).unwrap();
    let outcomes = play_all(&rig, &played, &bridge).await;
    let created: Vec<bool> = outcomes
        .iter()
        .filter_map(|(_, o)| match o {
            CallOutcome::Popped { created_user, .. } => Some(*created_user),
            _ => None,
        })
        .collect();
    assert_eq!(created, [true, false]);
    let records = rig.zendesk.talk_records();
    let callers: Vec<_> =
        records.end_users.iter().filter(|u| u.phone.as_deref() == Some("+442079460000")).collect();
    assert_eq!(callers.len(), 1);
    assert_eq!(records.tickets[0].requester_id, Some(callers[0].id));
    // Not recorded: no recording link at all.
    assert!(records.calls[0].fields.get("recording_url").is_none());

    // Without the option, an unknown caller is not popped and nothing is created.
    let bridge = rig.bridge(memory(), Rig::config(), "b");
    let script = CallScript::inbound(
        "+1 555 0100",
        vec![AC_ADA],
        CallEnding::Missed { reason: "short_abandoned".into() },
        T0,
    );
    let played = rig.aircall.play_call(&script, TOKEN).unwrap();
    let outcomes = play_all(&rig, &played, &bridge).await;
    assert!(matches!(&outcomes[1].1, CallOutcome::NotPopped { .. }), "{outcomes:?}");
    assert_eq!(rig.zendesk.talk_records().end_users.len(), 2);
}

#[tokio::test]
async fn reordered_and_early_events_log_once_from_the_calls_api() {
    let rig = Rig::start().await;
    let bridge = rig.bridge(memory(), Rig::config(), "a");
    let played = rig.aircall.play_call(&answered(vec![AC_ADA], AC_ADA), TOKEN).unwrap();
    // call.ended delivered while Aircall still describes the call as answered: pending.
    rig.aircall.apply_step(&played, played.step("call.answered").unwrap());
    let ended = event_of(played.step("call.ended").unwrap());
    assert_eq!(bridge.handle(&ended).await.unwrap(), CallOutcome::Pending { call_id: played.call_id });
    assert!(rig.zendesk.talk_records().tickets.is_empty());
    // The call is over; the events then arrive in reverse order.
    rig.aircall.apply_step(&played, played.steps.last().unwrap());
    let mut outcomes = Vec::new();
    for step in played.steps.iter().rev() {
        outcomes.push((step.event.clone(), bridge.handle(&event_of(step)).await.unwrap()));
    }
    assert!(matches!(outcomes[0].1, CallOutcome::Logged { kind: CallKind::Answered, .. }), "{outcomes:?}");
    let ringing = outcomes.iter().find(|(e, _)| e == "call.ringing_on_agent").unwrap();
    assert!(
        matches!(ringing.1, CallOutcome::Duplicate { .. }),
        "no pop after the call is over: {outcomes:?}"
    );
    let records = rig.zendesk.talk_records();
    assert_eq!((records.tickets.len(), records.calls.len(), records.displays.len()), (1, 1, 1));
}

/// A memory store that fails the first `put` of a value at the given stage: a crash after
/// the Zendesk write it records and before the state is saved.
struct CrashingStore {
    inner: MemoryStore,
    crash_at: Mutex<Option<&'static str>>,
    crashes: AtomicUsize,
}

impl CrashingStore {
    fn new(stage: &'static str) -> Arc<Self> {
        Arc::new(Self {
            inner: MemoryStore::new(),
            crash_at: Mutex::new(Some(stage)),
            crashes: AtomicUsize::new(0),
        })
    }
}

#[async_trait]
impl StateStore for CrashingStore {
    async fn get(&self, key: &str) -> Result<Option<Value>> {
        self.inner.get(key).await
    }
    async fn put(&self, key: &str, value: Value) -> Result<()> {
        let stage = value.get("stage").and_then(Value::as_str).map(str::to_owned);
        {
            let mut crash_at = self.crash_at.lock().unwrap();
            if stage.is_some() && stage.as_deref() == *crash_at {
                *crash_at = None;
                self.crashes.fetch_add(1, Ordering::SeqCst);
                return Err(Error::store("simulated crash before the state was saved"));
            }
        }
        self.inner.put(key, value).await
    }
    async fn delete(&self, key: &str) -> Result<()> {
        self.inner.delete(key).await
    }
    async fn compare_and_set(&self, key: &str, expected: Option<&Value>, new: Option<Value>) -> Result<bool> {
        self.inner.compare_and_set(key, expected, new).await
    }
    async fn scan_prefix(&self, prefix: &str) -> Result<Vec<(String, Value)>> {
        self.inner.scan_prefix(prefix).await
    }

    // As the trait's former provided methods: through this store's own get and
    // compare_and_set, so the test sees (and can cut) every change a claim makes.
    async fn insert_if_absent(&self, key: &str, value: Value) -> Result<bool> {
        deskbridge::ports::via_cas::insert_if_absent(self, key, value).await
    }
    async fn try_claim(
        &self,
        key: &str,
        owner: &str,
        ttl: std::time::Duration,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool> {
        deskbridge::ports::via_cas::try_claim(self, key, owner, ttl, now).await
    }
    async fn release_claim(&self, key: &str, owner: &str) -> Result<bool> {
        deskbridge::ports::via_cas::release_claim(self, key, owner).await
    }
    async fn flush(&self) -> Result<()> {
        self.inner.flush().await
    }
}

async fn crash_then_recover(mode: LogMode, stage: &'static str) -> (Vec<CallOutcome>, Rig) {
    let rig = Rig::start().await;
    let store = CrashingStore::new(stage);
    let config = Rig::config().with_log_mode(mode);
    let played = rig.aircall.play_call(&answered(vec![AC_ADA], AC_ADA), TOKEN).unwrap();
    rig.aircall.apply_step(&played, played.steps.last().unwrap());
    let ended = event_of(played.step("call.ended").unwrap());
    let first = rig.bridge(store.clone(), config.clone(), "instance-1");
    assert!(first.handle(&ended).await.is_err(), "the crash surfaces as an error");
    assert_eq!(store.crashes.load(Ordering::SeqCst), 1);
    // The process restarts (same instance id) and Aircall redelivers the event; then a
    // duplicate arrives too.
    let restarted = rig.bridge(store.clone(), config, "instance-1");
    let outcomes = vec![restarted.handle(&ended).await.unwrap(), restarted.handle(&ended).await.unwrap()];
    (outcomes, rig)
}

#[tokio::test]
async fn a_crash_after_the_ticket_is_created_does_not_create_a_second_one() {
    let (outcomes, rig) = crash_then_recover(LogMode::CallRecord, "ticket_created").await;
    assert!(
        matches!(outcomes[0], CallOutcome::Logged { recovered: true, call_record_id: Some(_), .. }),
        "{outcomes:?}"
    );
    assert!(matches!(outcomes[1], CallOutcome::Duplicate { .. }));
    let records = rig.zendesk.talk_records();
    assert_eq!((records.tickets.len(), records.calls.len()), (1, 1));
}

#[tokio::test]
async fn a_crash_after_the_call_record_is_created_does_not_create_a_second_one() {
    let (outcomes, rig) = crash_then_recover(LogMode::CallRecord, "done").await;
    assert!(
        matches!(outcomes[0], CallOutcome::Logged { recovered: true, call_record_id: None, .. }),
        "{outcomes:?}"
    );
    let records = rig.zendesk.talk_records();
    assert_eq!((records.tickets.len(), records.calls.len()), (1, 1));
    assert_eq!(records.tickets[0].comments.iter().filter(|c| c.kind == "VoiceComment").count(), 1);
}

#[tokio::test]
async fn a_crash_after_the_voice_ticket_is_created_does_not_create_a_second_one() {
    let (outcomes, rig) = crash_then_recover(LogMode::VoiceTicket, "done").await;
    assert!(matches!(outcomes[0], CallOutcome::Logged { recovered: true, .. }), "{outcomes:?}");
    assert!(matches!(outcomes[1], CallOutcome::Duplicate { .. }));
    assert_eq!(rig.zendesk.talk_records().tickets.len(), 1);
}

#[tokio::test]
async fn two_instances_on_one_store_log_a_call_once() {
    let rig = Rig::start().await;
    let store = memory();
    let a = rig.bridge(Arc::clone(&store), Rig::config(), "instance-a");
    let b = rig.bridge(Arc::clone(&store), Rig::config(), "instance-b");
    let played = rig.aircall.play_call(&answered(vec![AC_ADA], AC_ADA), TOKEN).unwrap();
    rig.aircall.apply_step(&played, played.steps.last().unwrap());
    let ended = event_of(played.step("call.ended").unwrap());
    let (x, y) = tokio::join!(a.handle(&ended), b.handle(&ended));
    let outcomes = [x.unwrap(), y.unwrap()];
    assert_eq!(
        outcomes.iter().filter(|o| matches!(o, CallOutcome::Logged { .. })).count(),
        1,
        "{outcomes:?}"
    );
    let records = rig.zendesk.talk_records();
    assert_eq!((records.tickets.len(), records.calls.len()), (1, 1));
}

#[tokio::test]
async fn an_agent_without_a_talk_seat_is_not_popped_and_zendesk_says_why() {
    let rig = Rig::start().await;
    rig.zendesk.set_talk_seat(ZD_ADA, false);
    let bridge = rig.bridge(memory(), Rig::config(), "a");
    let played = rig.aircall.play_call(&answered(vec![AC_ADA], AC_ADA), TOKEN).unwrap();
    let outcome = bridge.handle(&event_of(played.step("call.ringing_on_agent").unwrap())).await.unwrap();
    assert!(
        matches!(&outcome, CallOutcome::NotPopped { reason, .. } if reason.contains("404")),
        "{outcome:?}"
    );
    // Logging the call with that agent is refused with Zendesk's 422, naming the field.
    rig.aircall.apply_step(&played, played.steps.last().unwrap());
    let error = bridge.handle(&event_of(played.step("call.ended").unwrap())).await.unwrap_err();
    assert!(
        matches!(&error, Error::Api { status: 422, .. }) && error.to_string().contains("agent_id"),
        "{error}"
    );
    // Once the seat is back, the same delivery completes it without a second ticket.
    rig.zendesk.set_talk_seat(ZD_ADA, true);
    let outcome = bridge.handle(&event_of(played.step("call.ended").unwrap())).await.unwrap();
    assert!(matches!(outcome, CallOutcome::Logged { .. }), "{outcome:?}");
    assert_eq!(rig.zendesk.talk_records().tickets.len(), 1);
}

#[tokio::test]
async fn the_router_verifies_and_answers_over_http() {
    let rig = Rig::start().await;
    let bridge = Arc::new(rig.bridge(memory(), Rig::config(), "a"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let app = router(
        bridge,
        WebhookVerifier::new(TOKEN).unwrap(),
        CallsRouterOptions::default()
            .observer(move |_event: &str, o: &CallOutcome| sink.lock().unwrap().push(o.describe())),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = url::Url::parse(&format!("http://{}/webhooks/aircall/calls", listener.local_addr().unwrap()))
        .unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let played = rig.aircall.play_call(&answered(vec![AC_ADA], AC_ADA), TOKEN).unwrap();
    // call.ended before Aircall's API reports the call over: 503, so Aircall redelivers.
    rig.aircall.apply_step(&played, played.step("call.answered").unwrap());
    assert_eq!(played.step("call.ended").unwrap().delivery.send(&url).await.unwrap(), 503);
    for step in &played.steps {
        assert_eq!(rig.aircall.deliver_step(&played, step, &url).await.unwrap(), 200, "{}", step.event);
    }
    let seen = seen.lock().unwrap().clone();
    assert!(
        seen.iter().any(|line| line.contains("popped")) && seen.iter().any(|line| line.contains("logged")),
        "{seen:?}"
    );
    // A forged token and a malformed call are refused before the bridge.
    let forged =
        deskbridge::sim::aircall::call_event_delivery("call.ended", &played.steps[0].call, "wrong", T0);
    assert_eq!(forged.send(&url).await.unwrap(), 401);
    let malformed = deskbridge::sim::aircall::call_event_delivery(
        "call.ended",
        &serde_json::json!({"id": "x"}),
        TOKEN,
        T0,
    );
    assert_eq!(malformed.send(&url).await.unwrap(), 400);
    let user_event = deskbridge::sim::aircall::call_event_delivery(
        "user.opened",
        &serde_json::json!({"id": 1}),
        TOKEN,
        T0,
    );
    assert_eq!(user_event.send(&url).await.unwrap(), 200);
    assert_eq!(rig.zendesk.talk_records().tickets.len(), 1);
    server.abort();
}

#[tokio::test]
async fn a_preview_decides_everything_and_writes_nothing() {
    let rig = Rig::start().await;
    let store = memory();
    let config =
        Rig::config().with_mode(deskbridge::sync::RunMode::Preview).with_create_unknown_callers(true);
    let bridge = rig.bridge(Arc::clone(&store), config, "a");
    let played = rig.aircall.play_call(&answered(vec![AC_ADA], AC_ADA), TOKEN).unwrap();
    let outcomes = play_all(&rig, &played, &bridge).await;
    let actions: Vec<String> = outcomes
        .iter()
        .filter_map(|(_, o)| match o {
            CallOutcome::DryRun { action, .. } => Some(action.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(actions.len(), 2, "{outcomes:?}");
    assert_eq!(actions[0], format!("pop user {} to agent {ZD_ADA}", rig.claire));
    assert!(actions[1].starts_with("create a ticket and a call record"), "{}", actions[1]);
    assert!(
        actions[1].contains("/assets/calls/") && actions[1].contains("with transcription"),
        "{}",
        actions[1]
    );
    let unknown = CallScript::inbound(
        UNKNOWN_PHONE,
        vec![AC_BOB],
        CallEnding::Missed { reason: "short_abandoned".into() },
        T0,
    );
    let played = rig.aircall.play_call(&unknown, TOKEN).unwrap();
    let outcomes = play_all(&rig, &played, &bridge).await;
    assert!(
        matches!(&outcomes[1].1, CallOutcome::DryRun { action, .. } if action.starts_with("create an end user for")),
        "{outcomes:?}"
    );
    assert!(rig.zendesk.server().writes().is_empty(), "{:?}", rig.zendesk.server().writes());
    assert!(store.scan_prefix("").await.unwrap().is_empty());
}

#[test]
fn the_calls_mode_is_stored_as_the_dry_run_flag_of_configuration_files() {
    use deskbridge::bridges::CallsConfig;
    use deskbridge::sync::RunMode;
    let preview: CallsConfig = serde_json::from_value(serde_json::json!({ "dry_run": true })).unwrap();
    assert_eq!(preview.mode, RunMode::Preview);
    let default: CallsConfig = serde_json::from_value(serde_json::json!({})).unwrap();
    assert_eq!(default.mode, RunMode::Apply);
    let json = serde_json::to_value(&preview).unwrap();
    assert_eq!(json["dry_run"], true);
    assert!(json.get("mode").is_none());
}
