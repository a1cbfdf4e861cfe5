//! Inbox rules as a table of cases, over in-memory fakes of the ports.

use super::*;
use crate::ports::{
    InboundMessage, Media, MessageBatch, MessageKind, MessageSource, NewTicket, StateStore, TicketDesk,
    TicketRef, TicketState,
};
use crate::store::MemoryStore;
use crate::{Error, Result};
use async_trait::async_trait;
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

const OWN: &str = "999";

fn t(min: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).single().unwrap() + Duration::minutes(min)
}

fn dm(id: &str, author: &str, text: &str, min: i64) -> InboundMessage {
    InboundMessage {
        id: id.into(),
        kind: MessageKind::DirectMessage,
        author_id: author.into(),
        author_handle: Some(format!("user{author}")),
        author_name: None,
        text: text.into(),
        created_at: t(min),
        in_reply_to: None,
        media: vec![],
    }
}

fn mention(id: &str, author: &str, reply_to: Option<&str>, min: i64) -> InboundMessage {
    InboundMessage {
        kind: MessageKind::Mention,
        in_reply_to: reply_to.map(str::to_owned),
        ..dm(id, author, "hello @us", min)
    }
}

#[derive(Default)]
struct FakeSource {
    messages: Mutex<Vec<InboundMessage>>,
    sent: Mutex<Vec<(String, String, String)>>,
}

#[async_trait]
impl MessageSource for FakeSource {
    fn name(&self) -> &'static str {
        "x"
    }
    fn own_user_id(&self) -> &str {
        OWN
    }
    async fn fetch(&self, cursor: &Value) -> Result<MessageBatch> {
        let from = cursor.as_u64().unwrap_or(0) as usize;
        let all = self.messages.lock().unwrap();
        Ok(MessageBatch { messages: all[from.min(all.len())..].to_vec(), cursor: json!(all.len()) })
    }
    async fn send_direct_message(&self, user_id: &str, text: &str) -> Result<String> {
        self.sent.lock().unwrap().push(("dm".into(), user_id.into(), text.into()));
        Ok("sent-1".into())
    }
    async fn reply_publicly(&self, in_reply_to: &str, text: &str) -> Result<String> {
        self.sent.lock().unwrap().push(("reply".into(), in_reply_to.into(), text.into()));
        Ok("sent-2".into())
    }
}

#[derive(Debug, Clone)]
struct FakeTicket {
    id: String,
    ticket: NewTicket,
    state: TicketState,
    comments: Vec<(String, String)>,
}

#[derive(Default)]
struct FakeDesk {
    tickets: Mutex<Vec<FakeTicket>>,
    /// Fail the next create *after* it took effect (a crash between create and save).
    lose_next_create_answer: Mutex<bool>,
}

#[async_trait]
impl TicketDesk for FakeDesk {
    fn name(&self) -> &'static str {
        "desk"
    }
    async fn create_ticket(&self, ticket: &NewTicket) -> Result<TicketRef> {
        let mut all = self.tickets.lock().unwrap();
        let id = format!("T{}", all.len() + 1);
        all.push(FakeTicket {
            id: id.clone(),
            ticket: ticket.clone(),
            state: TicketState::Open,
            comments: vec![],
        });
        let mut lose = self.lose_next_create_answer.lock().unwrap();
        if *lose {
            *lose = false;
            return Err(Error::store("simulated crash after create"));
        }
        Ok(TicketRef { id, client_id: Some(format!("C-{}", ticket.client_name)) })
    }
    async fn find_by_dedupe_key(&self, key: &str, _since: DateTime<Utc>) -> Result<Option<TicketRef>> {
        Ok(self
            .tickets
            .lock()
            .unwrap()
            .iter()
            .find(|t| t.ticket.dedupe_key == key)
            .map(|t| TicketRef { id: t.id.clone(), client_id: None }))
    }
    async fn add_client_comment(&self, ticket_id: &str, message: &str, key: &str) -> Result<()> {
        let mut all = self.tickets.lock().unwrap();
        let t = all
            .iter_mut()
            .find(|t| t.id == ticket_id)
            .ok_or_else(|| Error::invalid("ticket", "no such ticket"))?;
        t.comments.push((message.into(), key.into()));
        Ok(())
    }
    async fn has_comment(&self, ticket_id: &str, key: &str) -> Result<bool> {
        Ok(self
            .tickets
            .lock()
            .unwrap()
            .iter()
            .any(|t| t.id == ticket_id && t.comments.iter().any(|c| c.1 == key)))
    }
    async fn ticket_state(&self, ticket_id: &str) -> Result<TicketState> {
        self.tickets
            .lock()
            .unwrap()
            .iter()
            .find(|t| t.id == ticket_id)
            .map(|t| t.state)
            .ok_or_else(|| Error::invalid("ticket", "no such ticket"))
    }
}

/// A store that fails one `put` whose key contains `fail_on` (a crash before state is saved).
struct FlakyStore {
    inner: MemoryStore,
    fail_on: Mutex<Option<String>>,
}

#[async_trait]
impl StateStore for FlakyStore {
    async fn get(&self, key: &str) -> Result<Option<Value>> {
        self.inner.get(key).await
    }
    async fn put(&self, key: &str, value: Value) -> Result<()> {
        let fail = {
            let mut f = self.fail_on.lock().unwrap();
            let hit = f.as_deref().is_some_and(|p| key.contains(p));
            if hit {
                *f = None;
            }
            hit
        };
        if fail {
            return Err(Error::store("simulated crash before saving state"));
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
    async fn insert_if_absent(&self, key: &str, value: Value) -> Result<bool> {
        self.inner.insert_if_absent(key, value).await
    }
    async fn try_claim(
        &self,
        key: &str,
        owner: &str,
        ttl: std::time::Duration,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool> {
        self.inner.try_claim(key, owner, ttl, now).await
    }
    async fn release_claim(&self, key: &str, owner: &str) -> Result<bool> {
        self.inner.release_claim(key, owner).await
    }

    async fn flush(&self) -> Result<()> {
        self.inner.flush().await
    }
}

struct Rig {
    source: Arc<FakeSource>,
    desk: Arc<FakeDesk>,
    store: Arc<FlakyStore>,
    inbox: Inbox,
}

fn rig() -> Rig {
    let source = Arc::new(FakeSource::default());
    let desk = Arc::new(FakeDesk::default());
    let store = Arc::new(FlakyStore { inner: MemoryStore::new(), fail_on: Mutex::new(None) });
    let config = InboxConfig { channel_id: Some("77".into()), ..InboxConfig::default() };
    let inbox = Inbox::new(source.clone(), desk.clone(), store.clone(), config);
    Rig { source, desk, store, inbox }
}

impl Rig {
    fn push(&self, m: InboundMessage) {
        self.source.messages.lock().unwrap().push(m);
    }
    async fn pass(&self) -> InboxReport {
        self.inbox.poll_once(t(1000)).await.unwrap()
    }
    fn tickets(&self) -> Vec<FakeTicket> {
        self.desk.tickets.lock().unwrap().clone()
    }
}

fn outcome_names(r: &InboxReport) -> Vec<String> {
    r.messages
        .iter()
        .map(|m| match &m.outcome {
            MessageOutcome::CreatedTicket { ticket_id, .. } => {
                format!("new {}", ticket_id.clone().unwrap_or_default())
            }
            MessageOutcome::Commented { ticket_id } => format!("comment {ticket_id}"),
            MessageOutcome::Recovered { ticket_id } => format!("recovered {ticket_id}"),
            MessageOutcome::SkippedOwn => "own".into(),
            MessageOutcome::SkippedDuplicate => "dup".into(),
            MessageOutcome::SkippedClaimed => "claimed".into(),
            MessageOutcome::SkippedStale => "stale".into(),
            MessageOutcome::Failed { .. } => "failed".into(),
        })
        .collect()
}

/// The threading rules as a table: each row is a message and where it must land.
#[tokio::test]
async fn threading_rules_table() {
    let r = rig();
    let rows: Vec<(InboundMessage, &str)> = vec![
        (dm("d1", "1", "hi", 0), "new T1"),                // first DM from a person
        (dm("d2", "1", "still there?", 1), "comment T1"),  // next DM joins while open
        (dm("d3", "2", "other person", 2), "new T2"),      // another person, own ticket
        (dm("d4", OWN, "our answer", 3), "own"),           // our own DM is ignored
        (mention("m1", "3", None, 4), "new T3"),           // first public post
        (mention("m2", "3", Some("m1"), 5), "comment T3"), // reply under their first post
        (mention("m3", "3", Some("r-ours"), 6), "new T4"), // reply to a reply (ours)
        (mention("m4", "3", Some("m2"), 7), "new T5"),     // reply to their own reply
        (mention("m5", "4", Some("m1"), 8), "new T6"),     // someone else under m1
        (mention("m6", OWN, None, 9), "own"),              // our own post
    ];
    for (m, _) in &rows {
        r.push(m.clone());
    }
    let report = r.pass().await;
    let want: Vec<String> = rows.iter().map(|(_, w)| w.to_string()).collect();
    assert_eq!(outcome_names(&report), want, "{report}");
    assert!(report.cursor_advanced);
    let tickets = r.tickets();
    assert_eq!(tickets[0].ticket.tags, vec!["Twitter:Direct"]);
    assert_eq!(tickets[2].ticket.tags, vec!["Twitter: Mention"]);
    assert_eq!(tickets[0].ticket.channel_id.as_deref(), Some("77"));
    assert_eq!(tickets[0].ticket.subject, "Twitter DM from @user1");
    // A second pass creates nothing.
    let again = r.pass().await;
    assert!(again.messages.is_empty(), "{again}");
    assert_eq!(r.tickets().len(), 6);
}

#[tokio::test]
async fn closed_ticket_makes_the_next_dm_open_a_new_one() {
    let r = rig();
    r.push(dm("d1", "1", "hi", 0));
    r.pass().await;
    r.desk.tickets.lock().unwrap()[0].state = TicketState::Closed;
    r.push(dm("d2", "1", "me again", 10));
    let report = r.pass().await;
    assert_eq!(outcome_names(&report), vec!["new T2"]);
    // The known client is reused for the new ticket.
    assert_eq!(r.tickets()[1].ticket.client_id.as_deref(), Some("C-@user1"));
    r.push(dm("d3", "1", "and again", 11));
    assert_eq!(outcome_names(&r.pass().await), vec!["comment T2"]);
}

#[tokio::test]
async fn duplicate_deliveries_are_ignored() {
    let r = rig();
    let m = dm("d1", "1", "hi", 0);
    let first = r.inbox.route(m.clone(), t(1)).await;
    let second = r.inbox.route(m, t(2)).await;
    assert!(matches!(first.outcome, MessageOutcome::CreatedTicket { .. }));
    assert_eq!(second.outcome, MessageOutcome::SkippedDuplicate);
    assert_eq!(r.tickets().len(), 1);
}

#[tokio::test]
async fn media_appear_in_the_ticket() {
    let r = rig();
    let mut m = dm("d1", "1", "look", 0);
    m.media = vec![
        Media { kind: "photo".into(), url: "https://pbs.example/p.jpg".into() },
        Media { kind: "animated_gif".into(), url: "https://pbs.example/g.mp4".into() },
    ];
    r.push(m);
    r.pass().await;
    assert_eq!(
        r.tickets()[0].ticket.message,
        "look\n[photo] https://pbs.example/p.jpg\n[animated_gif] https://pbs.example/g.mp4"
    );
}

#[tokio::test]
async fn crash_between_create_and_save_creates_no_duplicate() {
    for lose_answer in [true, false] {
        let r = rig();
        r.push(dm("d1", "1", "hi", 0));
        if lose_answer {
            *r.desk.lose_next_create_answer.lock().unwrap() = true; // created, answer lost
        } else {
            *r.store.fail_on.lock().unwrap() = Some("dm-thread/".into()); // created, state not saved
        }
        let first = r.pass().await;
        assert_eq!(outcome_names(&first), vec!["failed"]);
        assert!(!first.cursor_advanced, "cursor must not pass an unprocessed message");
        assert_eq!(r.tickets().len(), 1);
        let second = r.pass().await;
        assert_eq!(outcome_names(&second), vec!["recovered T1"], "{second}");
        assert_eq!(r.tickets().len(), 1, "no duplicate ticket");
        // And the thread continues in the recovered ticket.
        r.push(dm("d2", "1", "more", 1));
        assert_eq!(outcome_names(&r.pass().await), vec!["comment T1"]);
    }
}

#[tokio::test]
async fn crash_between_comment_and_save_adds_no_duplicate_comment() {
    let r = rig();
    r.push(dm("d1", "1", "hi", 0));
    r.pass().await;
    r.push(dm("d2", "1", "second", 1));
    *r.store.fail_on.lock().unwrap() = Some("processed/dm/d2".into());
    assert_eq!(outcome_names(&r.pass().await), vec!["failed"]);
    assert_eq!(r.tickets()[0].comments.len(), 1);
    assert_eq!(outcome_names(&r.pass().await), vec!["recovered T1"]);
    assert_eq!(r.tickets()[0].comments.len(), 1, "no duplicate comment");
}

#[tokio::test]
async fn a_preview_predicts_the_pass_as_a_real_pass_would_route_it() {
    let r = rig();
    r.push(dm("d1", "1", "hi", 0));
    r.push(dm("d2", "1", "again", 1));
    r.push(mention("m1", "3", None, 2));
    r.push(mention("m2", "3", Some("m1"), 3));
    r.push(mention("m3", "4", Some("m1"), 4));
    let dry = r.inbox.preview_poll(t(5)).await.unwrap();
    assert!(dry.mode.is_preview());
    assert_eq!(
        outcome_names(&dry),
        vec!["new ", "comment (new ticket 1)", "new ", "comment (new ticket 2)", "new "]
    );
    assert!(r.tickets().is_empty());
    let real = r.pass().await;
    assert_eq!(outcome_names(&real), vec!["new T1", "comment T1", "new T2", "comment T2", "new T3"]);
}

#[tokio::test]
async fn a_preview_writes_nothing() {
    let r = rig();
    r.push(dm("d1", "1", "hi", 0));
    let report = r.inbox.preview_poll(t(5)).await.unwrap();
    assert_eq!(outcome_names(&report), vec!["new "]);
    assert!(!report.cursor_advanced);
    assert!(r.tickets().is_empty());
    assert!(r.store.inner.is_empty());
}

#[tokio::test]
async fn a_previewed_route_decides_and_writes_nothing() {
    let r = rig();
    let m = dm("d1", "1", "hi", 0);
    let preview = r.inbox.preview_route(m.clone(), t(1)).await;
    assert_eq!(
        preview.outcome,
        MessageOutcome::CreatedTicket { ticket_id: None, why: preview_why(&preview) }
    );
    assert!(r.tickets().is_empty());
    assert!(r.store.inner.is_empty(), "no claim, mark or intent: {:?}", r.store.inner.snapshot());
    // The real route then does what the preview said, once.
    let routed = r.inbox.route(m.clone(), t(2)).await;
    assert!(matches!(routed.outcome, MessageOutcome::CreatedTicket { ticket_id: Some(_), .. }));
    assert_eq!(r.tickets().len(), 1);
    let stored = r.store.inner.snapshot();
    // A preview after it sees the message as handled, and still writes nothing.
    assert_eq!(r.inbox.preview_route(m, t(3)).await.outcome, MessageOutcome::SkippedDuplicate);
    assert_eq!(r.store.inner.snapshot(), stored);
    assert_eq!(r.tickets().len(), 1);
}

fn preview_why(routed: &crate::inbox::RoutedMessage) -> String {
    match &routed.outcome {
        MessageOutcome::CreatedTicket { why, .. } => why.clone(),
        other => panic!("expected a new ticket, got {other:?}"),
    }
}

#[tokio::test]
async fn answers_go_back_by_dm_or_public_reply() {
    let r = rig();
    r.push(dm("d1", "1", "hi", 0));
    r.push(mention("m1", "3", None, 1));
    r.push(mention("m2", "3", Some("m1"), 2));
    r.pass().await;
    r.inbox.answer("T1", "Hello by DM").await.unwrap();
    r.inbox.answer("T2", "Hello in public").await.unwrap();
    let sent = r.source.sent.lock().unwrap().clone();
    assert_eq!(
        sent,
        vec![
            ("dm".into(), "1".into(), "Hello by DM".into()),
            ("reply".into(), "m2".into(), "Hello in public".into())
        ]
    );
    let err = r.inbox.answer("T404", "x").await.unwrap_err().to_string();
    assert!(err.contains("T404"), "{err}");
}

#[tokio::test]
async fn silence_alert_fires_once_per_silence() {
    let source = Arc::new(FakeSource::default());
    let desk = Arc::new(FakeDesk::default());
    let store = Arc::new(MemoryStore::new());
    let fired = Arc::new(Mutex::new(0));
    let counter = fired.clone();
    let config = InboxConfig {
        silence_alert_after: Some(std::time::Duration::from_secs(4 * 3600)),
        ..InboxConfig::default()
    };
    let inbox =
        Inbox::new(source.clone(), desk, store, config).on_silence(move |_| *counter.lock().unwrap() += 1);
    assert!(inbox.poll_once(t(0)).await.unwrap().silence_alert.is_none()); // starts the clock
    assert!(inbox.poll_once(t(3 * 60)).await.unwrap().silence_alert.is_none());
    let alert = inbox.poll_once(t(4 * 60)).await.unwrap().silence_alert.unwrap();
    assert_eq!(alert.silent_for_hours, 4);
    assert!(inbox.poll_once(t(5 * 60)).await.unwrap().silence_alert.is_none(), "once per silence");
    assert_eq!(*fired.lock().unwrap(), 1);
    // A message ends the silence; a new one can alert again later.
    source.messages.lock().unwrap().push(dm("d1", "1", "hi", 6 * 60));
    inbox.poll_once(t(6 * 60)).await.unwrap();
    assert!(inbox.poll_once(t(10 * 60)).await.unwrap().silence_alert.is_some());
    assert_eq!(*fired.lock().unwrap(), 2);
}

#[tokio::test]
async fn silence_due_tells_the_alert_without_raising_it() {
    let source = Arc::new(FakeSource::default());
    let desk = Arc::new(FakeDesk::default());
    let store = Arc::new(MemoryStore::new());
    let fired = Arc::new(Mutex::new(0));
    let counter = fired.clone();
    let config = InboxConfig {
        silence_alert_after: Some(std::time::Duration::from_secs(4 * 3600)),
        ..InboxConfig::default()
    };
    let inbox =
        Inbox::new(source, desk, store.clone(), config).on_silence(move |_| *counter.lock().unwrap() += 1);
    // Before any check started the clock, a preview counts from now and starts nothing.
    assert!(inbox.silence_due(t(0)).await.unwrap().is_none());
    assert!(store.is_empty(), "{:?}", store.snapshot());
    assert!(inbox.check_silence(t(0)).await.unwrap().is_none()); // starts the clock
    let started = store.snapshot();
    let due = inbox.silence_due(t(4 * 60)).await.unwrap().expect("due after 4 hours");
    assert_eq!(due.silent_for_hours, 4);
    assert_eq!(store.snapshot(), started, "a preview records nothing");
    assert_eq!(*fired.lock().unwrap(), 0, "a preview calls no callback");
    // The preview_poll's report carries it the same way.
    let previewed = inbox.preview_poll(t(4 * 60)).await.unwrap();
    assert_eq!(previewed.silence_alert, Some(due.clone()));
    assert_eq!(store.snapshot(), started);
    assert_eq!(*fired.lock().unwrap(), 0);
    // The real check raises what the preview said, once.
    assert_eq!(inbox.check_silence(t(4 * 60)).await.unwrap(), Some(due));
    assert_eq!(*fired.lock().unwrap(), 1);
    assert!(inbox.silence_due(t(5 * 60)).await.unwrap().is_none(), "already raised for this silence");
}

#[test]
fn an_inbox_report_keeps_its_dry_run_json_field() {
    let preview = InboxReport { mode: crate::sync::RunMode::Preview, ..InboxReport::default() };
    let json = serde_json::to_value(&preview).unwrap();
    assert_eq!(json["dry_run"], true);
    assert!(json.get("mode").is_none());
    let back: InboxReport = serde_json::from_value(json).unwrap();
    assert_eq!(back, preview);
    let applied: InboxReport = serde_json::from_value(
        serde_json::json!({"dry_run": false, "messages": [], "cursor_advanced": true, "silence_alert": null}),
    )
    .unwrap();
    assert_eq!(applied.mode, crate::sync::RunMode::Apply);
}

/// Processed marks are pruned past the retention, so the store stays bounded however
/// long the inbox runs; a message older than the pruned horizon is never routed twice.
#[tokio::test]
async fn processed_marks_are_pruned_and_the_store_stays_bounded() {
    let source = Arc::new(FakeSource::default());
    let desk = Arc::new(FakeDesk::default());
    let store = Arc::new(MemoryStore::new());
    let config = InboxConfig {
        processed_retention: std::time::Duration::from_secs(2 * 24 * 3600),
        ..InboxConfig::default()
    };
    let inbox = Inbox::new(source.clone(), desk.clone(), store.clone(), config);
    let day = |d: i64| t(0) + Duration::days(d);
    const PER_DAY: usize = 20;
    let mut most_marks = 0;
    for d in 0..60 {
        for n in 0..PER_DAY {
            let mut m = dm(&format!("{d}-{n}"), &format!("a{}", n % 5), "hi", 0);
            m.created_at = day(d) + Duration::minutes(n as i64);
            source.messages.lock().unwrap().push(m);
        }
        // Two passes a day, twelve hours apart (pruning runs at most hourly).
        for hours in [1, 13] {
            let report = inbox.poll_once(day(d) + Duration::hours(hours)).await.unwrap();
            assert!(report.is_success(), "{report}");
        }
        let marks = store.scan_prefix("inbox/x/processed/").await.unwrap().len();
        most_marks = most_marks.max(marks);
    }
    // At most the retention (2 days) plus the day in progress and one pruning interval.
    assert!(most_marks <= 4 * PER_DAY, "{most_marks} processed marks kept");
    assert!(most_marks >= 2 * PER_DAY, "marks inside the window are kept: {most_marks}");
    let all_keys = store.scan_prefix("inbox/").await.unwrap().len();
    assert!(all_keys < 5 * PER_DAY, "{all_keys} keys in the store");

    // A message inside the window is still a duplicate; one past the horizon is stale.
    let comments_before: usize = desk.tickets.lock().unwrap().iter().map(|t| t.comments.len()).sum();
    let tickets_before = desk.tickets.lock().unwrap().len();
    let mut recent = dm("59-3", "a3", "hi", 0);
    recent.created_at = day(59) + Duration::minutes(3);
    let routed = inbox.route(recent, day(59) + Duration::hours(14)).await;
    assert_eq!(routed.outcome, MessageOutcome::SkippedDuplicate);
    let mut old = dm("3-7", "a2", "hi", 0);
    old.created_at = day(3) + Duration::minutes(7);
    let routed = inbox.route(old, day(59) + Duration::hours(14)).await;
    assert_eq!(routed.outcome, MessageOutcome::SkippedStale);
    let comments_after: usize = desk.tickets.lock().unwrap().iter().map(|t| t.comments.len()).sum();
    assert_eq!((desk.tickets.lock().unwrap().len(), comments_after), (tickets_before, comments_before));
}

/// Nothing inside the retention window is ever pruned, and a fresh inbox skips nothing.
#[tokio::test]
async fn pruning_keeps_every_mark_inside_the_window() {
    let r = rig();
    for i in 0..10 {
        r.push(dm(&format!("d{i}"), "1", "hi", i));
    }
    assert!(r.pass().await.is_success());
    let marks = || async { r.store.scan_prefix("inbox/x/processed/").await.unwrap().len() };
    assert_eq!(marks().await, 10);
    // 29 days later: still inside the default 30 days.
    assert_eq!(r.inbox.prune_processed(t(1000) + Duration::days(29)).await.unwrap(), 0);
    assert_eq!(marks().await, 10);
    assert_eq!(r.inbox.prune_processed(t(1000) + Duration::days(31)).await.unwrap(), 10);
    assert_eq!(marks().await, 0);
}

#[test]
fn a_config_stored_with_the_former_chrono_durations_still_reads() {
    // Before 0.1 the durations were chrono's, serialised as `[secs, nanos]`; std's
    // `Duration` reads that form as well as its own `{"secs", "nanos"}`.
    let stored = serde_json::json!({
        "dm_tag": "Twitter:Direct", "mention_tag": "Twitter: Mention", "channel_id": null,
        "silence_alert_after": [14400, 0], "recovery_margin": [600, 0], "state_prefix": "inbox/",
        "claim_ttl": [120, 0], "claim_wait": [2, 500000000], "processed_retention": [2592000, 0],
    });
    let config: InboxConfig = serde_json::from_value(stored).unwrap();
    assert_eq!(config.silence_alert_after, Some(std::time::Duration::from_secs(4 * 3600)));
    assert_eq!(config.claim_wait, std::time::Duration::from_millis(2500));
    assert_eq!(config.processed_retention, InboxConfig::default().processed_retention);
    let round_trip: InboxConfig = serde_json::from_value(serde_json::to_value(&config).unwrap()).unwrap();
    assert_eq!(round_trip, config);
}
