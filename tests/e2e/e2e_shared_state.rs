//! Several instances on one PostgreSQL store (a real server, see `tests/common/shared.rs`),
//! on the simulators: two bridges share a stream of status changes and write each change
//! exactly once; two inboxes poll the same X account into the same Usedesk and open no
//! ticket or comment twice and lose nothing; an instance killed mid-write or mid-create
//! has its work finished by the other once its lease expires; and the state survives a
//! server restart between runs.

#![cfg(all(
    feature = "postgres",
    feature = "sim",
    feature = "server",
    feature = "aircall",
    feature = "zendesk",
    feature = "twitter",
    feature = "usedesk"
))]

use crate::common::bridge as bridge_rig;
use crate::common::shared as pg;
use crate::common::x as x_rig;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bridge_rig::{Sims, VirtualClock, ZENDESK_IDS};
use chrono::Utc;
use deskbridge::http::Method;
use deskbridge::inbox::{Inbox, InboxConfig, InboxReport, MessageOutcome};
use deskbridge::mapping::Side;
use deskbridge::ports::{Claim, InboundMessage, MessageKind, StateStore};
use deskbridge::sim::Fault;
use deskbridge::sim::aircall::AircallAvailabilityStatus::{Available, Unavailable};
use deskbridge::sim::twitter::{XSim, XSimConfig, XSimDm, XSimUser, sample};
use deskbridge::sim::usedesk::{UsedeskSim, UsedeskSimTicket};
use deskbridge::store::{PostgresOptions, PostgresStore, StateStoreExt};
use deskbridge::sync::{Bridge, BridgeEvent, BridgeNotice, LinkMode};
use pg::{OwnCluster, TestSchema};

const ONE_WAY: LinkMode = LinkMode::OneWay { from: Side::A };
/// Generous: the machine may be loaded; no assertion is about speed.
const PATIENCE: Duration = Duration::from_secs(60);
/// Ticket ids above this were created by the inboxes (the sample seed holds 9001 and 9002).
const LAST_SEEDED_TICKET: u64 = 9002;

async fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out after {PATIENCE:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn shared(store: PostgresStore) -> Arc<dyn StateStore> {
    Arc::new(store)
}

// ---- Bridges -------------------------------------------------------------------------

/// The Zendesk status the one-way link must produce for an Aircall user's status.
fn follows(sims: &Sims, aircall_id: u64) -> &'static str {
    if sims.aircall.user(aircall_id).unwrap().available() { "online" } else { "offline" }
}

/// Flip Aircall user `id` one virtual minute later; the delivery of the change.
fn flip(sims: &Sims, clock: &VirtualClock, id: u64) -> deskbridge::sim::WebhookDelivery {
    clock.advance(60);
    let next = if sims.aircall.user(id).unwrap().available() { Unavailable } else { Available };
    sims.aircall.set_availability(id, next, None).unwrap();
    sims.aircall_delivery(id, clock.now())
}

fn zendesk_writes_per_agent(sims: &Sims) -> HashMap<String, usize> {
    let mut per_agent = HashMap::new();
    for request in sims.zendesk.server().writes() {
        *per_agent.entry(request.path.rsplit('/').next().unwrap_or_default().to_owned()).or_insert(0) += 1;
    }
    per_agent
}

async fn busy_markers(store: &dyn StateStore) -> Vec<String> {
    store.scan_prefix("bridge/voice/busy/").await.unwrap().into_iter().map(|(k, _)| k).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_bridges_on_one_store_write_every_change_exactly_once() {
    let schema = TestSchema::new();
    let sims = bridge_rig::sims().await;
    let clock = VirtualClock::new();
    let a = bridge_rig::start(&sims, shared(schema.connect().await), ONE_WAY, &clock).await;
    let b = bridge_rig::start(&sims, shared(schema.connect().await), ONE_WAY, &clock).await;
    a.started().await;
    b.started().await;
    assert_eq!(sims.writes(), (0, 0), "the sims start in sync");

    // Twelve real changes, round robin over the three agents: delivered to A only, to B
    // only, or to both at the same moment.
    let mut deliveries = Vec::new();
    for (k, id) in (1..=3u64).cycle().take(12).enumerate() {
        let delivery = flip(&sims, &clock, id);
        match k % 3 {
            0 => assert_eq!(a.deliver_aircall(&delivery).await, 200),
            1 => assert_eq!(b.deliver_aircall(&delivery).await, 200),
            _ => {
                let (to_a, to_b) = tokio::join!(a.deliver_aircall(&delivery), b.deliver_aircall(&delivery));
                assert_eq!((to_a, to_b), (200, 200));
            }
        }
        let zendesk_id = ZENDESK_IDS[id as usize - 1];
        let expected = follows(&sims, id);
        wait_for(&format!("change {k} to reach Zendesk agent {zendesk_id}"), || {
            sims.zendesk_status(zendesk_id) == expected
        })
        .await;
        deliveries.push(delivery);
    }
    a.settle().await;
    b.settle().await;
    assert_eq!(sims.writes(), (0, 12), "one Zendesk write per change: {:?}", zendesk_writes_per_agent(&sims));

    // Changes whose webhooks are lost, healed by reconcile passes that both instances run
    // at the same moment: each change is still written once.
    for round in 0..3 {
        for id in 1..=3 {
            flip(&sims, &clock, id);
        }
        let (to_a, to_b) =
            tokio::join!(a.handle.send(BridgeEvent::ReconcileNow), b.handle.send(BridgeEvent::ReconcileNow));
        to_a.unwrap();
        to_b.unwrap();
        for id in 1..=3u64 {
            let zendesk_id = ZENDESK_IDS[id as usize - 1];
            let expected = follows(&sims, id);
            wait_for(&format!("round {round} to reach Zendesk agent {zendesk_id}"), || {
                sims.zendesk_status(zendesk_id) == expected
            })
            .await;
        }
        a.settle().await;
        b.settle().await;
        assert_eq!(sims.writes(), (0, 15 + 3 * round), "{:?}", zendesk_writes_per_agent(&sims));
    }

    // Every delivery again, to both instances at once (webhooks are at least once), then
    // a reconcile pass on both: nothing more is written.
    for delivery in &deliveries {
        let (to_a, to_b) = tokio::join!(a.deliver_aircall(delivery), b.deliver_aircall(delivery));
        assert_eq!((to_a, to_b), (200, 200));
    }
    a.handle.send(BridgeEvent::ReconcileNow).await.unwrap();
    b.handle.send(BridgeEvent::ReconcileNow).await.unwrap();
    a.settle().await;
    b.settle().await;
    assert_eq!(sims.writes(), (0, 21), "{:?}", zendesk_writes_per_agent(&sims));
    let per_agent = zendesk_writes_per_agent(&sims);
    assert_eq!(per_agent.values().copied().collect::<Vec<_>>(), vec![7, 7, 7], "{per_agent:?}");
    let (aircall, zendesk) = sims.state();
    for (status, follower) in aircall.iter().zip(&zendesk) {
        assert_eq!(
            follower,
            if status == "available" { "online" } else { "offline" },
            "{aircall:?} {zendesk:?}"
        );
    }
    // Both instances did part of the work.
    for (name, bridge) in [("A", &a), ("B", &b)] {
        assert!(
            bridge.notices().iter().any(|n| matches!(n, BridgeNotice::Wrote { .. })),
            "instance {name} wrote nothing"
        );
    }
    let store = schema.connect().await;
    assert!(busy_markers(&store).await.is_empty());
    for email in ["ana@example.com", "ben@example.com", "cy@example.com"] {
        let state = Bridge::stored_state(&store, "voice", email).await.unwrap().unwrap();
        assert!(state.is_idle(), "{email}: {state:?}");
    }
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_bridge_killed_mid_write_has_its_write_finished_by_the_other_after_the_timeout() {
    let schema = TestSchema::new();
    let sims = bridge_rig::sims().await;
    let clock = VirtualClock::new();
    let a = bridge_rig::start(&sims, shared(schema.connect().await), ONE_WAY, &clock).await;
    let b = bridge_rig::start(&sims, shared(schema.connect().await), ONE_WAY, &clock).await;
    a.started().await;
    b.started().await;

    // A's write to Zendesk hangs; A dies while it is in flight.
    sims.zendesk.server().add_fault(
        Fault::delay(Duration::from_secs(2)).on_method(Method::PUT).on_path("/api/v2/agent_availabilities"),
    );
    let delivery = flip(&sims, &clock, 1);
    assert_eq!(a.deliver_aircall(&delivery).await, 200);
    wait_for("A's write to be in flight", || sims.writes() == (0, 1)).await;
    a.task.abort();
    a.server.abort();
    let store = schema.connect().await;
    let stored = Bridge::stored_state(&store, "voice", "ana@example.com").await.unwrap().unwrap();
    assert!(stored.side(Side::B).pending.is_some(), "A's write is on record: {stored:?}");
    assert_eq!(busy_markers(&store).await, ["bridge/voice/busy/ana@example.com"]);

    // The same change reaches B (Aircall retries): the write is A's, pending, so B waits.
    assert_eq!(b.deliver_aircall(&delivery).await, 200);
    clock.advance(30);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(sims.writes(), (0, 1), "no second write before A's write times out");

    // Past the link's write timeout (1 minute) B counts A's write as failed and makes it.
    clock.advance(31);
    wait_for("B to finish A's write", || b.notices().iter().any(|n| matches!(n, BridgeNotice::Wrote { .. })))
        .await;
    b.settle().await;
    assert_eq!(sims.zendesk_status(101), "offline");
    assert_eq!(sims.writes(), (0, 2), "A's lost write and B's, nothing else");
    let stored = Bridge::stored_state(&store, "voice", "ana@example.com").await.unwrap().unwrap();
    assert!(stored.is_idle(), "{stored:?}");
    assert!(busy_markers(&store).await.is_empty());
    b.stop().await;
}

// ---- Inboxes -------------------------------------------------------------------------

/// Customers of the stream (numeric X user ids, handles, names).
const CUSTOMERS: [(&str, &str, &str); 6] = [
    ("3000000001", "dora_d", "Dora Diaz"),
    ("3000000002", "eli_e", "Eli Evans"),
    ("3000000003", "fay_f", "Fay Fox"),
    ("3000000004", "gus_g", "Gus Gray"),
    ("3000000005", "hal_h", "Hal Hart"),
    ("3000000006", "ivy_i", "Ivy Ito"),
];

async fn x_with_customers() -> XSim {
    let mut config = XSimConfig::new(XSimUser::new(sample::OWN_ID, "acme_support", "Acme Support"));
    for (id, handle, name) in CUSTOMERS {
        config = config.user(XSimUser::new(id, handle, name));
    }
    XSim::start(config).await.unwrap()
}

fn instance(
    x: &XSim,
    usedesk: &UsedeskSim,
    store: PostgresStore,
    id: &str,
    claim_ttl: std::time::Duration,
) -> Inbox {
    let config = InboxConfig::default()
        .with_channel_id(Some(x_rig::CHANNEL.into()))
        .with_claim_ttl(claim_ttl)
        .with_claim_wait(std::time::Duration::from_millis(300));
    Inbox::new(
        Arc::new(x_rig::x_source(&x.base_url())),
        Arc::new(x_rig::usedesk_desk(&usedesk.base_url())),
        shared(store),
        config,
    )
    .instance_id(id)
}

fn inbound(dm: &XSimDm, handle: &str) -> InboundMessage {
    InboundMessage {
        id: dm.id.clone(),
        kind: MessageKind::DirectMessage,
        author_id: dm.sender_id.clone(),
        author_handle: Some(handle.to_owned()),
        author_name: None,
        text: dm.text.clone(),
        created_at: dm.created_at,
        in_reply_to: None,
        media: vec![],
    }
}

fn assert_no_failure(report: &InboxReport) {
    assert_eq!(report.count(|o| matches!(o, MessageOutcome::Failed { .. })), 0, "{report}");
}

fn new_tickets(usedesk: &UsedeskSim) -> Vec<UsedeskSimTicket> {
    usedesk.tickets().into_iter().filter(|t| t.id > LAST_SEEDED_TICKET).collect()
}

/// The texts of a ticket's comments, in order, without the hidden dedupe markers.
fn comment_texts(usedesk: &UsedeskSim, ticket: u64) -> Vec<String> {
    usedesk
        .comments(ticket)
        .into_iter()
        .map(|c| c.message.split('\n').next().unwrap_or_default().to_owned())
        .collect()
}

/// The only new ticket whose subject is `subject`.
fn ticket_titled(usedesk: &UsedeskSim, subject: &str) -> UsedeskSimTicket {
    let matching: Vec<_> = new_tickets(usedesk).into_iter().filter(|t| t.subject == subject).collect();
    assert_eq!(matching.len(), 1, "tickets titled {subject:?}: {matching:#?}");
    matching.into_iter().next().unwrap()
}

/// Poll each instance in turn until a pass of each fetches nothing left to do.
async fn drain(inboxes: &[&Inbox]) {
    for _ in 0..30 {
        let mut quiet = true;
        for inbox in inboxes {
            let report = inbox.poll_once(Utc::now()).await.unwrap();
            assert_no_failure(&report);
            quiet &= report.cursor_advanced
                && report.messages.iter().all(|m| {
                    matches!(m.outcome, MessageOutcome::SkippedDuplicate | MessageOutcome::SkippedOwn)
                });
        }
        if quiet {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("the inboxes did not settle");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_inboxes_polling_together_open_each_ticket_and_comment_once() {
    let schema = TestSchema::new();
    let x = x_with_customers().await;
    let usedesk = UsedeskSim::start_with_sample().await.unwrap();
    let ttl = std::time::Duration::from_secs(60);
    let a = instance(&x, &usedesk, schema.connect().await, "inbox-a", ttl);
    let b = instance(&x, &usedesk, schema.connect().await, "inbox-b", ttl);

    // Four rounds: every streaming customer sends a DM; the first two also mention us
    // (round 0) and reply under their own mention (later rounds). After each round both
    // instances poll at the same moment.
    let streaming = &CUSTOMERS[..4];
    let mut roots = HashMap::new();
    for round in 0..4 {
        for (i, (id, _, _)) in streaming.iter().enumerate() {
            x.add_dm(id, sample::OWN_ID, &format!("round {round}: DM {i}"), Utc::now(), vec![]).unwrap();
            if i < 2 {
                match roots.get(id) {
                    None => {
                        let text = format!("@acme_support round {round}: mention {i}");
                        let post = x.add_post(id, &text, None, Utc::now(), vec![]).unwrap();
                        roots.insert(*id, post.id);
                    }
                    Some(root) => {
                        let text = format!("@acme_support round {round}: reply {i}");
                        x.add_post(id, &text, Some(root), Utc::now(), vec![]).unwrap();
                    }
                }
            }
        }
        let (from_a, from_b) = tokio::join!(a.poll_once(Utc::now()), b.poll_once(Utc::now()));
        assert_no_failure(&from_a.unwrap());
        assert_no_failure(&from_b.unwrap());
    }

    // Two first DMs from the same new person reach the two instances at the same moment
    // (webhooks): one ticket, not two.
    for (id, handle, _) in &CUSTOMERS[4..] {
        let first = x
            .add_dm(id, sample::OWN_ID, &format!("race: first DM from {handle}"), Utc::now(), vec![])
            .unwrap();
        let second = x
            .add_dm(id, sample::OWN_ID, &format!("race: second DM from {handle}"), Utc::now(), vec![])
            .unwrap();
        let (one, two) = tokio::join!(
            a.route(inbound(&first, handle), Utc::now()),
            b.route(inbound(&second, handle), Utc::now())
        );
        for routed in [&one, &two] {
            assert!(
                matches!(
                    routed.outcome,
                    MessageOutcome::CreatedTicket { .. }
                        | MessageOutcome::Commented { .. }
                        | MessageOutcome::SkippedClaimed
                ),
                "{routed:?}"
            );
        }
    }
    drain(&[&a, &b]).await;

    // Exactly the tickets and comments one instance would have made, each once.
    for (i, (_, handle, _)) in streaming.iter().enumerate() {
        let ticket = ticket_titled(&usedesk, &format!("Twitter DM from @{handle}"));
        let expected: Vec<String> = (0..4).map(|round| format!("round {round}: DM {i}")).collect();
        assert_eq!(comment_texts(&usedesk, ticket.id), expected, "{handle}'s DMs, in order, once each");
        if i < 2 {
            let subject = format!("Twitter mention from @{handle}: @acme_support round 0: mention {i}");
            let ticket = ticket_titled(&usedesk, &subject);
            let mut expected = vec![format!("@acme_support round 0: mention {i}")];
            expected.extend((1..4).map(|round| format!("@acme_support round {round}: reply {i}")));
            assert_eq!(comment_texts(&usedesk, ticket.id), expected);
        }
    }
    for (_, handle, _) in &CUSTOMERS[4..] {
        let ticket = ticket_titled(&usedesk, &format!("Twitter DM from @{handle}"));
        let mut texts = comment_texts(&usedesk, ticket.id);
        texts.sort();
        assert_eq!(
            texts,
            [format!("race: first DM from {handle}"), format!("race: second DM from {handle}")]
        );
    }
    assert_eq!(new_tickets(&usedesk).len(), 4 + 2 + 2, "{:#?}", new_tickets(&usedesk));
    assert_eq!(
        usedesk.server().requests_matching(Method::POST, "/create/ticket").len(),
        8,
        "no create was repeated"
    );
    assert_eq!(
        usedesk.server().requests_matching(Method::POST, "/create/comment").len(),
        4 * 3 + 2 * 3 + 2,
        "no comment was repeated"
    );
    let store = schema.connect().await;
    assert!(store.scan_prefix("inbox/x/intent/").await.unwrap().is_empty());
    assert!(store.scan_prefix("inbox/x/claim/").await.unwrap().is_empty(), "every claim was released");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_inbox_killed_mid_create_has_its_message_finished_by_the_other_after_the_claim_expires() {
    let schema = TestSchema::new();
    let x = x_with_customers().await;
    let usedesk = UsedeskSim::start_with_sample().await.unwrap();
    let ttl = std::time::Duration::from_secs(4);
    let a = Arc::new(instance(&x, &usedesk, schema.connect().await, "inbox-a", ttl));
    let b = instance(&x, &usedesk, schema.connect().await, "inbox-b", ttl);
    let (dora, dora_handle, _) = CUSTOMERS[0];
    let (eli, eli_handle, _) = CUSTOMERS[1];
    let stuck = x.add_dm(dora, sample::OWN_ID, "help, my parcel is lost", Utc::now(), vec![]).unwrap();
    x.add_dm(dora, sample::OWN_ID, "it was order #77", Utc::now(), vec![]).unwrap();
    x.add_dm(eli, sample::OWN_ID, "hello from Eli", Utc::now(), vec![]).unwrap();

    // A's first create hangs in the helpdesk; A dies during it, holding Dora's claim with
    // the create's intent on record.
    usedesk.server().add_fault(
        Fault::delay(Duration::from_millis(800)).on_method(Method::POST).on_path("/create/ticket"),
    );
    let pass = tokio::spawn({
        let a = a.clone();
        async move { a.poll_once(Utc::now()).await }
    });
    wait_for("A's create to be in flight", || {
        usedesk.server().requests_matching(Method::POST, "/create/ticket").len() == 1
    })
    .await;
    pass.abort();
    let _ = pass.await;
    let store = schema.connect().await;
    let claim: Claim = store.get_as(&format!("inbox/x/claim/author/{dora}")).await.unwrap().unwrap();
    assert_eq!(claim.owner, "inbox-a");
    assert!(store.get(&format!("inbox/x/intent/dm/{}", stuck.id)).await.unwrap().is_some());

    // B at once: Dora is A's until the claim expires; Eli is routed; the cursor stays.
    let report = b.poll_once(Utc::now()).await.unwrap();
    assert_no_failure(&report);
    assert_eq!(report.count(|o| *o == MessageOutcome::SkippedClaimed), 2, "{report}");
    assert!(!report.cursor_advanced, "{report}");
    let eli_ticket = ticket_titled(&usedesk, &format!("Twitter DM from @{eli_handle}"));
    assert_eq!(comment_texts(&usedesk, eli_ticket.id), ["hello from Eli"]);

    // Once the claim has expired, B finishes A's create (finding it done, or making it).
    let deadline = Instant::now() + PATIENCE;
    let finished = loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let report = b.poll_once(Utc::now()).await.unwrap();
        assert_no_failure(&report);
        if report.cursor_advanced {
            break report;
        }
        assert!(Instant::now() < deadline, "B never took over: {report}");
    };
    let outcome = &finished.messages.iter().find(|m| m.message_id == stuck.id).unwrap().outcome;
    assert!(
        matches!(outcome, MessageOutcome::Recovered { .. } | MessageOutcome::CreatedTicket { .. }),
        "{finished}"
    );
    let dora_ticket = ticket_titled(&usedesk, &format!("Twitter DM from @{dora_handle}"));
    assert_eq!(comment_texts(&usedesk, dora_ticket.id), ["help, my parcel is lost", "it was order #77"]);
    assert_eq!(new_tickets(&usedesk).len(), 2, "{:#?}", new_tickets(&usedesk));
    assert!(store.scan_prefix("inbox/x/intent/").await.unwrap().is_empty());
    drain(&[a.as_ref(), &b]).await;
    assert_eq!(new_tickets(&usedesk).len(), 2);
}

// ---- A server restart between runs ----------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_shared_state_survives_a_server_restart_between_runs() {
    let (cluster, url) = tokio::task::spawn_blocking(|| OwnCluster::start(57432)).await.unwrap();
    let schema = TestSchema::on(url.clone());
    let connect =
        || PostgresStore::connect_with(PostgresOptions::new(url.clone()).schema(schema.name.clone()));

    // Run 1: a bridge and an inbox do some work and stop.
    let sims = bridge_rig::sims().await;
    let clock = VirtualClock::new();
    let x = x_with_customers().await;
    let usedesk = UsedeskSim::start_with_sample().await.unwrap();
    let (dora, dora_handle, _) = CUSTOMERS[0];
    let bridge = bridge_rig::start(&sims, shared(connect().await.unwrap()), ONE_WAY, &clock).await;
    bridge.started().await;
    assert_eq!(bridge.deliver_aircall(&flip(&sims, &clock, 2)).await, 200);
    wait_for("the first change to reach Zendesk", || sims.zendesk_status(102) == "online").await;
    bridge.stop().await;
    x.add_dm(dora, sample::OWN_ID, "before the restart", Utc::now(), vec![]).unwrap();
    let inbox = instance(&x, &usedesk, connect().await.unwrap(), "run-1", std::time::Duration::from_secs(60));
    assert_no_failure(&inbox.poll_once(Utc::now()).await.unwrap());
    drop(inbox);
    assert_eq!(sims.writes(), (0, 1));

    let (cluster, restarted) = tokio::task::spawn_blocking(move || {
        let url = cluster.restart();
        (cluster, url)
    })
    .await
    .unwrap();
    assert_eq!(restarted, url);

    // Run 2, new instances on the restarted server: everything done before stays done.
    let bridge = bridge_rig::start(&sims, shared(connect().await.unwrap()), ONE_WAY, &clock).await;
    bridge.started().await;
    assert_eq!(sims.writes(), (0, 1), "the start pass found everything in sync");
    assert_eq!(bridge.deliver_aircall(&flip(&sims, &clock, 3)).await, 200);
    wait_for("the second change to reach Zendesk", || sims.zendesk_status(103) == "online").await;
    bridge.settle().await;
    assert_eq!(sims.writes(), (0, 2));
    bridge.stop().await;
    x.add_dm(dora, sample::OWN_ID, "after the restart", Utc::now(), vec![]).unwrap();
    let inbox = instance(&x, &usedesk, connect().await.unwrap(), "run-2", std::time::Duration::from_secs(60));
    drain(&[&inbox]).await;
    let ticket = ticket_titled(&usedesk, &format!("Twitter DM from @{dora_handle}"));
    assert_eq!(comment_texts(&usedesk, ticket.id), ["before the restart", "after the restart"]);
    assert_eq!(new_tickets(&usedesk).len(), 1);
    drop(inbox);

    drop(schema);
    tokio::task::spawn_blocking(move || drop(cluster)).await.unwrap();
}
