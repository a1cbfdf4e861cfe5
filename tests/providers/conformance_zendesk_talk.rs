//! Conformance of the Talk Partner Edition requests with Zendesk's own OpenAPI document:
//! the calls flow runs on the simulators (both logging modes, a caller created, screen
//! pops of users and tickets), and every request it sent to an endpoint the document
//! describes validates against it: the two display endpoints, voice tickets, tickets
//! (create, list by external id, comments) and users (search, create).
//!
//! Call records (`/api/v2/calls`) are not in the document (checked below): their bodies are
//! covered by `tests/providers/calls_contract.rs` against the shapes of Zendesk's TPE guides.
#![cfg(all(feature = "sim", feature = "zendesk", feature = "aircall"))]

use crate::common;
use crate::common::calls as rig;

use std::collections::BTreeSet;
use std::sync::Arc;

use common::openapi::RecordedRequest;
use deskbridge::bridges::LogMode;
use deskbridge::sim::aircall::{CallEnding, CallScript};
use deskbridge::store::MemoryStore;
use rig::*;

#[tokio::test]
async fn talk_partner_edition_requests_validate_against_the_zendesk_spec() {
    let api = common::openapi::zendesk_support();
    let rig = Rig::start().await;
    let create = Rig::config().with_create_unknown_callers(true);
    let record_mode = rig.bridge(Arc::new(MemoryStore::new()), create.clone(), "a");
    let ticket_mode =
        rig.bridge(Arc::new(MemoryStore::new()), create.with_log_mode(LogMode::VoiceTicket), "b");
    let answered = |number: &str| {
        CallScript::inbound(
            number,
            vec![AC_ADA],
            CallEnding::Answered { by: AC_ADA, talk_seconds: 30, recorded: true },
            T0,
        )
    };
    let voicemail =
        CallScript::inbound(CLAIRE_PHONE, vec![AC_BOB], CallEnding::Voicemail { seconds: 12 }, T0);
    for (script, bridge) in [
        (answered(CLAIRE_PHONE), &record_mode),
        (answered(UNKNOWN_PHONE), &ticket_mode),
        (voicemail.clone(), &ticket_mode),
        (voicemail, &record_mode),
    ] {
        let played = rig.aircall.play_call(&script, TOKEN).unwrap();
        play_all(&rig, &played, bridge).await;
    }
    // A ticket pop, and the two look-ups of crash recovery (exercised end to end in
    // tests/e2e/e2e_calls.rs), through the client directly.
    let ticket = rig.zendesk.talk_records().tickets[0].clone();
    let client = rig.zendesk_client();
    client.display_ticket(ZD_ADA, ticket.id).await.unwrap();
    let external = ticket.external_id.clone().unwrap();
    assert_eq!(client.tickets_by_external_id(&external).await.unwrap().len(), 1);
    assert!(client.ticket_comments(ticket.id).await.unwrap().iter().any(|c| c.is_voice()));

    let mut validated = BTreeSet::new();
    let mut skipped_calls = 0;
    for request in rig.zendesk.server().requests() {
        if request.path.starts_with("/api/v2/calls") {
            skipped_calls += 1;
            continue;
        }
        if request.path == "/api/v2/users" && request.method == deskbridge::http::Method::GET {
            continue; // the agent directory, covered by tests/providers/conformance_zendesk.rs
        }
        match api.validate(&RecordedRequest::from(&request)) {
            Ok(operation) => {
                validated.insert(operation);
            }
            Err(problems) => panic!(
                "{} {}?{} does not validate:\n  {}",
                request.method,
                request.path,
                request.query.clone().unwrap_or_default(),
                problems.join("\n  ")
            ),
        }
    }
    let expected = [
        "GET /api/v2/tickets",
        "GET /api/v2/tickets/{ticket_id}/comments",
        "GET /api/v2/users/search",
        "POST /api/v2/channels/voice/agents/{agent_id}/tickets/{ticket_id}/display",
        "POST /api/v2/channels/voice/agents/{agent_id}/users/{user_id}/display",
        "POST /api/v2/channels/voice/tickets",
        "POST /api/v2/tickets",
        "POST /api/v2/users",
    ];
    for operation in expected {
        assert!(validated.contains(operation), "{operation} was not exercised; validated {validated:?}");
    }
    assert!(skipped_calls >= 2, "the call records were created");
}

#[test]
fn call_records_are_not_in_the_document_and_the_validator_refuses_bad_voice_tickets() {
    let api = common::openapi::zendesk_support();
    let call = RecordedRequest::new("POST", "/api/v2/calls").body(serde_json::json!({"call": {}}));
    assert!(api.validate(&call).is_err(), "POST /api/v2/calls is only in the TPE guides");
    let bad_via = RecordedRequest::new("POST", "/api/v2/channels/voice/tickets")
        .body(serde_json::json!({"ticket": {"via_id": 47, "voice_comment": {"from": "+1", "to": "+2"}}}));
    assert!(api.validate(&bad_via).is_err(), "via_id is an enum: 44, 45, 46");
    let bad_agent = RecordedRequest::new("POST", "/api/v2/channels/voice/agents/ada/users/1/display");
    assert!(api.validate(&bad_agent).is_err(), "agent_id is an integer");
}
