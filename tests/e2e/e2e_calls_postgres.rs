//! The calls flow with several instances on one PostgreSQL store (a real server, see
//! `tests/common/shared.rs`): every delivery of a call reaches three instances at once
//! (Aircall redelivering while the first attempt is still running, or a load balancer
//! fanning out), and Zendesk still gets one screen pop per agent, one ticket and one call
//! record per call; an instance that crashed mid-call has its work finished by another.
#![cfg(all(
    feature = "postgres",
    feature = "sim",
    feature = "aircall",
    feature = "zendesk",
    feature = "server"
))]

use crate::common::calls as rig;
use crate::common::shared as pg;

use std::sync::Arc;
use std::time::Duration;

use deskbridge::bridges::CallOutcome;
use deskbridge::ports::StateStore;
use deskbridge::sim::aircall::{CallEnding, CallScript};
use deskbridge::store::StateStoreExt;
use pg::TestSchema;
use rig::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_instances_on_postgres_pop_and_log_each_call_once() {
    let rig = Rig::start().await;
    let schema = TestSchema::new();
    // Long enough for the loaded CI machine: a waiting instance must outlast the holder.
    let config = Rig::config().with_claim_wait(Duration::from_secs(20)).with_create_unknown_callers(true);
    let mut instances = Vec::new();
    for name in ["pg-a", "pg-b", "pg-c"] {
        let store: Arc<dyn StateStore> = Arc::new(schema.connect().await);
        instances.push(Arc::new(rig.bridge(store, config.clone(), name)));
    }
    let scripts = [
        CallScript::inbound(
            CLAIRE_PHONE,
            vec![AC_ADA, AC_BOB],
            CallEnding::Answered { by: AC_BOB, talk_seconds: 40, recorded: true },
            T0,
        ),
        CallScript::inbound(UNKNOWN_PHONE, vec![AC_ADA], CallEnding::Voicemail { seconds: 9 }, T0 + 600),
        CallScript::inbound(
            CLAIRE_PHONE,
            vec![AC_BOB],
            CallEnding::Missed { reason: "no_available_agent".into() },
            T0 + 900,
        ),
    ];
    for script in &scripts {
        let played = rig.aircall.play_call(script, TOKEN).unwrap();
        for step in &played.steps {
            rig.aircall.apply_step(&played, step);
            let event = event_of(step);
            let handles: Vec<_> = instances
                .iter()
                .map(|bridge| {
                    let bridge = Arc::clone(bridge);
                    let event = event.clone();
                    tokio::spawn(async move { bridge.handle(&event).await })
                })
                .collect();
            for handle in handles {
                let outcome = handle.await.unwrap().unwrap();
                assert!(!matches!(outcome, CallOutcome::Busy { .. }), "{outcome:?}");
            }
        }
    }
    let records = rig.zendesk.talk_records();
    assert_eq!(records.tickets.len(), 3, "{:#?}", records.tickets);
    assert_eq!(records.calls.len(), 3);
    for (external, tickets) in records.tickets_by_external_id() {
        assert_eq!(tickets.len(), 1, "{external}");
    }
    let user_pops = records
        .displays
        .iter()
        .filter(|d| matches!(d, deskbridge::sim::zendesk::ZendeskDisplay::User { .. }));
    assert_eq!(user_pops.count(), 4, "one per rung agent and call: {:?}", records.displays);
    assert_eq!(records.end_users.len(), 2, "the unknown caller was created once");
}

#[tokio::test]
async fn an_instance_that_died_mid_call_is_finished_by_another() {
    let rig = Rig::start().await;
    let schema = TestSchema::new();
    let store: Arc<dyn StateStore> = Arc::new(schema.connect().await);
    let played = rig
        .aircall
        .play_call(
            &CallScript::inbound(
                CLAIRE_PHONE,
                vec![AC_ADA],
                CallEnding::Answered { by: AC_ADA, talk_seconds: 5, recorded: false },
                T0,
            ),
            TOKEN,
        )
        .unwrap();
    rig.aircall.apply_step(&played, played.steps.last().unwrap());
    // Instance A created the ticket, recorded it, and died holding the call's claim.
    let ticket = rig
        .zendesk_client()
        .create_ticket(&deskbridge::zendesk::NewTicket {
            subject: "Call".into(),
            comment_body: "Call".into(),
            public: false,
            requester_id: None,
            assignee_id: None,
            tags: Vec::new(),
            external_id: Some(deskbridge::bridges::external_id(played.call_id)),
        })
        .await
        .unwrap();
    store
        .put_as(
            &format!("calls/{}", played.call_id),
            &serde_json::json!({"stage": "ticket_created", "ticket_id": ticket.id}),
        )
        .await
        .unwrap();
    let ttl = Duration::from_secs(1);
    assert!(
        store
            .try_claim(&format!("calls/claim/call/{}", played.call_id), "pg-dead", ttl, chrono::Utc::now())
            .await
            .unwrap()
    );
    // Instance B gets the redelivery: busy while the claim holds, done once it lapses.
    let config = Rig::config().with_claim_wait(Duration::from_millis(100)).with_claim_ttl(ttl);
    let b = rig.bridge(Arc::clone(&store), config, "pg-b");
    let ended = event_of(played.step("call.ended").unwrap());
    assert_eq!(b.handle(&ended).await.unwrap(), CallOutcome::Busy { call_id: played.call_id });
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let outcome = b.handle(&ended).await.unwrap();
    assert!(
        matches!(outcome, CallOutcome::Logged { ticket_id, .. } if ticket_id == ticket.id),
        "{outcome:?}"
    );
    let records = rig.zendesk.talk_records();
    assert_eq!((records.tickets.len(), records.calls.len()), (1, 1));
}
