//! Contract tests (wiremock, strict catch-all) of the call endpoints: Zendesk Talk Partner
//! Edition (screen pop, voice tickets, tickets, comments, call records, caller lookup and
//! creation) and Aircall calls (one call, paged listing, transcription, call webhooks).
//!
//! Call records are not in Zendesk's OpenAPI document; their bodies are checked against
//! the shapes of Zendesk's TPE guides ("Creating a call record in Zendesk", "Creating a
//! voice comment in ticket"): `{"call": {app_id, from_line, to_line, call_started_at,
//! direction, ...}}`.
#![cfg(all(feature = "zendesk", feature = "aircall"))]

use crate::common;

use std::time::Duration;

use chrono::{TimeZone, Utc};
use common::mock::strict_server;
use deskbridge::Error;
use deskbridge::aircall::{AircallClient, AircallConfig, WebhookVerifier};
use deskbridge::aircall::{CallEventKind, CallQuery};
use deskbridge::http::{RateLimit, RetryPolicy, collect_all};
use deskbridge::zendesk::{
    CallComment, CallDirection, CallFields, NewCall, NewTicket, NewVoiceTicket, VoiceComment, VoiceVia,
    is_not_found,
};
use deskbridge::zendesk::{ZendeskAuth, ZendeskClient, ZendeskConfig};
use serde_json::{Value, json};
use url::Url;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// base64("admin@example.com/token:tok-SECRET-123").
const ZENDESK_BASIC: &str = "Basic YWRtaW5AZXhhbXBsZS5jb20vdG9rZW46dG9rLVNFQ1JFVC0xMjM=";
/// base64("api-id:api-SECRET").
const AIRCALL_BASIC: &str = "Basic YXBpLWlkOmFwaS1TRUNSRVQ=";
const AGENT: i64 = 16_765_840_571_292;

fn no_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 1,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(1),
        max_total_wait: Duration::from_millis(1),
    }
}

fn zendesk(server: &MockServer) -> ZendeskClient {
    ZendeskClient::new(
        ZendeskConfig::for_base_url(
            Url::parse(&server.uri()).unwrap(),
            ZendeskAuth::api_token("admin@example.com", "tok-SECRET-123"),
        )
        .with_rate_limit(RateLimit::unlimited())
        .with_retry(no_retries()),
    )
    .unwrap()
}

fn aircall(server: &MockServer) -> AircallClient {
    AircallClient::new(
        AircallConfig::basic("api-id", "api-SECRET")
            .with_base_url(server.uri())
            .unwrap()
            .with_rate_limit(RateLimit::unlimited())
            .with_retry(no_retries()),
    )
    .unwrap()
}

fn voice_comment() -> VoiceComment {
    VoiceComment {
        from: "+16617480240".into(),
        to: "+16617480123".into(),
        recording_url: Some("https://assets.aircall.io/calls/1/recording".into()),
        started_at: Utc.with_ymd_and_hms(2019, 4, 16, 9, 14, 57).unwrap(),
        call_duration: 40,
        answered_by_id: Some(28),
        transcription_text: Some("The transcription of the call".into()),
        location: Some("Dublin, Ireland".into()),
    }
}

#[tokio::test]
async fn screen_pop_posts_to_the_display_paths_and_a_404_is_typed() {
    let server = strict_server().await;
    Mock::given(method("POST"))
        .and(path(format!("/api/v2/channels/voice/agents/{AGENT}/users/35436/display")))
        .and(header("authorization", ZENDESK_BASIC))
        .respond_with(ResponseTemplate::new(200).set_body_string(""))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/api/v2/channels/voice/agents/{AGENT}/tickets/123456/display")))
        .and(header("authorization", ZENDESK_BASIC))
        .respond_with(ResponseTemplate::new(200).set_body_string(""))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/api/v2/channels/voice/agents/{AGENT}/tickets/9/display")))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"error": "RecordNotFound", "description": "Not found"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = zendesk(&server);
    client.display_user(AGENT, 35436).await.unwrap();
    client.display_ticket(AGENT, 123456).await.unwrap();
    let error = client.display_ticket(AGENT, 9).await.unwrap_err();
    assert!(is_not_found(&error), "{error}");
    match &error {
        Error::Api { status, code, context, .. } => {
            assert_eq!((*status, code.as_deref()), (404, Some("RecordNotFound")));
            assert!(
                context.contains("/api/v2/channels/voice/agents/{agent_id}/tickets/{ticket_id}/display"),
                "{context}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn voice_tickets_send_the_documented_body() {
    let server = strict_server().await;
    let expected = json!({
        "display_to_agent": 1234,
        "ticket": {
            "via_id": 46,
            "subject": "Call to +16617480123",
            "requester_id": 7,
            "external_id": "aircall-call-1",
            "tags": ["aircall"],
            "voice_comment": {
                "from": "+16617480240", "to": "+16617480123",
                "recording_url": "https://assets.aircall.io/calls/1/recording",
                "started_at": "2019-04-16T09:14:57Z", "call_duration": 40, "answered_by_id": 28,
                "transcription_text": "The transcription of the call", "location": "Dublin, Ireland"
            }
        }
    });
    Mock::given(method("POST"))
        .and(path("/api/v2/channels/voice/tickets"))
        .and(header("authorization", ZENDESK_BASIC))
        .and(body_json(&expected))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"ticket": {"id": 35436, "subject": "Call to +16617480123", "status": "new", "via": {"channel": "voice"}}})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v2/channels/voice/tickets"))
        .and(body_json(json!({"display_to_agent": 1, "ticket": {"via_id": 44, "voice_comment": voice_comment()}})))
        .respond_with(ResponseTemplate::new(422).set_body_json(json!({"error": "RecordInvalid", "description": "Record validation errors", "details": {"display_to_agent": [{"description": "invalid"}]}})))
        .expect(1)
        .mount(&server)
        .await;
    let client = zendesk(&server);
    let mut ticket = NewVoiceTicket::new(VoiceVia::Outbound, voice_comment());
    ticket.display_to_agent = Some(1234);
    ticket.subject = Some("Call to +16617480123".into());
    ticket.requester_id = Some(7);
    ticket.external_id = Some("aircall-call-1".into());
    ticket.tags = vec!["aircall".into()];
    assert_eq!(client.create_voice_ticket(&ticket).await.unwrap().id, 35436);
    let mut bad = NewVoiceTicket::new(VoiceVia::Voicemail, voice_comment());
    bad.display_to_agent = Some(1);
    match client.create_voice_ticket(&bad).await.unwrap_err() {
        Error::Api { status: 422, code, .. } => assert_eq!(code.as_deref(), Some("RecordInvalid")),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn tickets_external_id_lookup_and_comments() {
    let server = strict_server().await;
    Mock::given(method("POST"))
        .and(path("/api/v2/tickets"))
        .and(body_json(json!({"ticket": {"subject": "Call from +33", "comment": {"body": "Summary", "public": false},
            "requester_id": 5, "assignee_id": AGENT, "tags": ["aircall", "phone_call"], "external_id": "aircall-call-9"}})))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"ticket": {"id": 77, "external_id": "aircall-call-9"}})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/tickets"))
        .and(query_param("external_id", "aircall-call-9"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"tickets": [{"id": "77", "external_id": "aircall-call-9"}], "count": 1}),
            ),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/tickets/77/comments"))
        .and(query_param("page[size]", "100"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"comments": [
            {"id": 1, "type": "Comment", "body": "Summary", "public": false, "author_id": 3},
            {"id": 2, "type": "VoiceComment", "public": false, "data": {"call_id": 5}}
        ]})))
        .expect(1)
        .mount(&server)
        .await;
    let client = zendesk(&server);
    let ticket = NewTicket {
        subject: "Call from +33".into(),
        comment_body: "Summary".into(),
        public: false,
        requester_id: Some(5),
        assignee_id: Some(AGENT),
        tags: vec!["aircall".into(), "phone_call".into()],
        external_id: Some("aircall-call-9".into()),
    };
    assert_eq!(client.create_ticket(&ticket).await.unwrap().id, 77);
    let found = client.tickets_by_external_id("aircall-call-9").await.unwrap();
    assert_eq!(found.iter().map(|t| t.id).collect::<Vec<_>>(), vec![77]);
    let comments = client.ticket_comments(77).await.unwrap();
    assert_eq!(comments.iter().map(|c| c.is_voice()).collect::<Vec<_>>(), vec![false, true]);
}

#[tokio::test]
async fn call_records_follow_the_tpe_guide_shapes() {
    let server = strict_server().await;
    // The guide's mandatory fields, plus the voice comment section.
    let create = json!({"call": {
        "app_id": 735264019863524_i64, "from_line": "+183808333456", "to_line": "+149488484873",
        "call_started_at": "2022-01-27T14:31:40Z", "call_ended_at": "2022-01-27T14:35:00Z",
        "direction": "inbound", "agent_id": AGENT, "end_user_id": 7236, "ticket_id": 512, "voicemail": false,
        "call_disposition": "problem solved", "queue_time": 36, "ivr_destination_group_name": "Billing",
        "recording_url": "https://assets.aircall.io/calls/1/recording",
        "comment": {"author_id": AGENT, "display_to_agent": AGENT, "title": "Call from +183808333456"}
    }});
    Mock::given(method("POST"))
        .and(path("/api/v2/calls"))
        .and(header("authorization", ZENDESK_BASIC))
        .and(body_json(&create))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"call": {"id": 91, "app_id": 735264019863524_i64,
            "from_line": "+183808333456", "to_line": "+149488484873", "direction": "inbound", "ticket_id": 512,
            "call_started_at": "2022-01-27T15:31:40+01:00", "created_at": "2022-01-27T15:40:00Z"}})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/api/v2/calls/91"))
        .and(body_json(json!({"call": {"call_disposition": "escalated", "wrap_up_time": 20}})))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"call": {"id": 91, "call_disposition": "escalated"}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/calls/91"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"call": {"id": "91", "voicemail": true, "direction": "outbound"}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = zendesk(&server);
    let mut extra = std::collections::BTreeMap::new();
    extra.insert("ivr_destination_group_name".to_owned(), json!("Billing"));
    let call = NewCall {
        fields: CallFields {
            app_id: Some(735264019863524),
            from_line: Some("+183808333456".into()),
            to_line: Some("+149488484873".into()),
            call_started_at: Some(Utc.with_ymd_and_hms(2022, 1, 27, 14, 31, 40).unwrap()),
            call_ended_at: Some(Utc.with_ymd_and_hms(2022, 1, 27, 14, 35, 0).unwrap()),
            direction: Some(CallDirection::Inbound),
            agent_id: Some(AGENT),
            end_user_id: Some(7236),
            ticket_id: Some(512),
            voicemail: Some(false),
            call_disposition: Some("problem solved".into()),
            queue_time: Some(36),
            recording_url: Some("https://assets.aircall.io/calls/1/recording".into()),
            extra,
            ..CallFields::default()
        },
        comment: Some(CallComment {
            author_id: Some(AGENT),
            display_to_agent: Some(AGENT),
            title: Some("Call from +183808333456".into()),
        }),
    };
    let record = client.create_call(&call).await.unwrap();
    assert_eq!((record.id, record.fields.ticket_id), (91, Some(512)));
    assert_eq!(record.fields.call_started_at, Some(Utc.with_ymd_and_hms(2022, 1, 27, 14, 31, 40).unwrap()));
    let mut update = CallFields { call_disposition: Some("escalated".into()), ..CallFields::default() };
    update.extra.insert("wrap_up_time".into(), json!(20));
    assert_eq!(
        client.update_call(91, &update).await.unwrap().fields.call_disposition.as_deref(),
        Some("escalated")
    );
    let read = client.call_record(91).await.unwrap();
    assert_eq!((read.fields.voicemail, read.fields.direction), (Some(true), Some(CallDirection::Outbound)));
    // A missing mandatory field is refused before anything is sent.
    let incomplete =
        NewCall { fields: CallFields { app_id: Some(1), ..CallFields::default() }, comment: None };
    assert!(matches!(client.create_call(&incomplete).await, Err(Error::InvalidInput { .. })));
}

#[tokio::test]
async fn callers_are_searched_by_phone_and_created() {
    let server = strict_server().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/users/search"))
        .and(query_param("query", "phone:+33612345678"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"users": [
            {"id": 1, "name": "Fuzzy", "phone": "+33 6 12 34 56 7"},
            {"id": 2, "name": "Claire", "phone": "+33 6 12 34 56 78", "role": "end-user"}
        ], "count": 2})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v2/users"))
        .and(body_json(
            json!({"user": {"name": "Caller +33612345678", "phone": "+33612345678", "role": "end-user"}}),
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(
            json!({"user": {"id": 3, "name": "Caller +33612345678", "phone": "+33612345678"}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let client = zendesk(&server);
    let found = client.find_users_by_phone("+33 6 12 34 56 78").await.unwrap();
    assert_eq!(found.iter().map(|u| u.id).collect::<Vec<_>>(), vec![2], "fuzzy matches are dropped");
    assert_eq!(client.create_end_user("Caller +33612345678", "+33612345678").await.unwrap().id, 3);
    assert!(matches!(client.find_users_by_phone("anonymous").await, Err(Error::InvalidInput { .. })));
}

fn call_json(id: u64) -> Value {
    json!({"id": id, "direction": "inbound", "status": "done", "started_at": 1700000000, "answered_at": 1700000008,
        "ended_at": 1700000068, "duration": 68, "raw_digits": "+33 6 12 34 56 78",
        "recording": "https://s3.example/rec.mp3?X-Amz-Expires=600", "recording_short_url": "https://short/abc",
        "asset": format!("https://assets.aircall.io/calls/{id}/recording"),
        "user": {"id": 5, "name": "Ada", "email": "ada@example.com"}, "number": {"id": 1, "digits": "+33 1 76"}})
}

#[tokio::test]
async fn aircall_calls_one_paged_and_transcription() {
    let server = strict_server().await;
    Mock::given(method("GET"))
        .and(path("/v1/calls/42"))
        .and(header("authorization", AIRCALL_BASIC))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"call": call_json(42)})))
        .expect(1)
        .mount(&server)
        .await;
    let next = format!("{}/v1/calls?page=2&per_page=50&from=1700000000", server.uri());
    Mock::given(method("GET"))
        .and(path("/v1/calls"))
        .and(query_param("per_page", "50"))
        .and(query_param("order", "asc"))
        .and(query_param("from", "1700000000"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"calls": [call_json(1)], "meta": {"next_page_link": next}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/calls"))
        .and(query_param("page", "2"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"calls": [call_json(2)], "meta": {"next_page_link": null}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/calls/42/transcription"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"transcription": {"content": {"language": "en",
            "utterances": [{"text": "Hello", "participant_type": "external"}]}}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/calls/43/transcription"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"error": "Not found"})))
        .expect(1)
        .mount(&server)
        .await;
    let client = aircall(&server);
    let call = client.call(42).await.unwrap();
    assert_eq!(call.durable_media_link(), Some("https://assets.aircall.io/calls/42/recording"));
    let query =
        CallQuery { from: Some(Utc.timestamp_opt(1_700_000_000, 0).unwrap()), ..CallQuery::default() };
    let ids: Vec<u64> = collect_all(client.calls(query)).await.unwrap().iter().map(|c| c.id).collect();
    assert_eq!(ids, vec![1, 2]);
    assert_eq!(client.call_transcription(42).await.unwrap().unwrap().text, "external: Hello");
    assert_eq!(client.call_transcription(43).await.unwrap(), None);
}

#[test]
fn call_webhooks_verify_with_the_user_token_and_parse() {
    let verifier = WebhookVerifier::new("hook-token").unwrap();
    let body = json!({"resource": "call", "event": "call.ringing_on_agent", "timestamp": 1700000001,
        "token": "hook-token", "data": call_json(7)});
    let event = verifier.verify(body.to_string().as_bytes(), Utc::now()).unwrap();
    let call_event = event.call_event().unwrap().unwrap();
    assert_eq!(call_event.kind, CallEventKind::RingingOnAgent);
    assert_eq!(call_event.call.user.as_ref().and_then(|u| u.email.as_deref()), Some("ada@example.com"));
    assert_eq!(event.idempotency_key(), "call.ringing_on_agent/7/1700000001");
    // Every documented call event parses to its own kind.
    for name in [
        "call.created",
        "call.answered",
        "call.ended",
        "call.voicemail_left",
        "call.hungup",
        "call.transferred",
        "call.agent_declined",
        "call.tagged",
        "call.comm_assets_generated",
    ] {
        let body = json!({"resource": "call", "event": name, "timestamp": 1, "token": "hook-token", "data": {"id": 1}});
        let kind = verifier
            .verify(body.to_string().as_bytes(), Utc::now())
            .unwrap()
            .call_event()
            .unwrap()
            .unwrap()
            .kind;
        assert_eq!(kind.as_str(), name);
        assert!(!matches!(kind, CallEventKind::Other(_)), "{name}");
    }
    // A wrong token is refused before anything is parsed; a malformed call names its path.
    let forged = json!({"resource": "call", "event": "call.ended", "timestamp": 1, "token": "nope", "data": {"id": 1}});
    assert!(matches!(
        verifier.verify(forged.to_string().as_bytes(), Utc::now()),
        Err(Error::WebhookVerification { .. })
    ));
    let malformed = json!({"resource": "call", "event": "call.ended", "timestamp": 1, "token": "hook-token",
        "data": {"id": 1, "started_at": "yesterday"}});
    let error = verifier
        .verify(malformed.to_string().as_bytes(), Utc::now())
        .unwrap()
        .call_event()
        .unwrap()
        .unwrap_err();
    assert!(error.to_string().contains("data.started_at"), "{error}");
    // User events are not call events.
    let user = json!({"resource": "user", "event": "user.opened", "timestamp": 1, "token": "hook-token", "data": {"id": 1}});
    assert!(verifier.verify(user.to_string().as_bytes(), Utc::now()).unwrap().call_event().is_none());
}
