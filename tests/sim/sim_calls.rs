//! The simulators' call parts, spoken to with a plain HTTP client: Zendesk's Talk Partner
//! Edition endpoints refuse what Zendesk refuses (unknown fields, a wrong `via_id`, a
//! missing mandatory call field, unknown ids, an agent without a Talk seat) with Zendesk's
//! error shapes; Aircall's calls are paged with their window kept in the page links, and a
//! played call's steps move the API's view of the call forward.
#![cfg(all(feature = "sim", feature = "aircall", feature = "zendesk"))]

use crate::common::calls as rig;

use reqwest::StatusCode;
use rig::*;
use serde_json::{Value, json};

use deskbridge::sim::aircall::{AircallSimConfig, CallEnding, CallScript, ENDED_DELAY_SECONDS};
use deskbridge::sim::zendesk::ZendeskSimConfig;

async fn zendesk(rig: &Rig, method: reqwest::Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    let url = rig.zendesk.base_url().join(path.trim_start_matches('/')).unwrap();
    let mut request = reqwest::Client::new().request(method, url).basic_auth(
        format!("{}/token", ZendeskSimConfig::DEFAULT_EMAIL),
        Some(ZendeskSimConfig::DEFAULT_API_TOKEN),
    );
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn aircall(rig: &Rig, url: &str) -> (StatusCode, Value) {
    let url = if url.starts_with("http") {
        url.parse().unwrap()
    } else {
        rig.aircall.base_url().join(url).unwrap()
    };
    let response = reqwest::Client::new()
        .get(url)
        .basic_auth(AircallSimConfig::DEFAULT_API_ID, Some(AircallSimConfig::DEFAULT_API_TOKEN))
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn voice_ticket(via: i64) -> Value {
    json!({ "ticket": { "via_id": via, "voice_comment": {
        "from": "+33612345678", "to": "+33176000000", "started_at": "2026-12-01T09:00:00Z", "call_duration": 30 } } })
}

#[tokio::test]
async fn zendesk_talk_refuses_what_zendesk_refuses() {
    let rig = Rig::start().await;
    let (status, body) =
        zendesk(&rig, reqwest::Method::POST, "/api/v2/channels/voice/tickets", Some(voice_ticket(47))).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("RecordInvalid")));
    assert!(body["details"]["via_id"].is_array(), "{body}");
    let mut unknown = voice_ticket(45);
    unknown["ticket"]["voice_comment"]["duration"] = json!(30);
    let (status, body) =
        zendesk(&rig, reqwest::Method::POST, "/api/v2/channels/voice/tickets", Some(unknown)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["details"]["voice_comment.duration"].is_array(), "{body}");
    let mut display = voice_ticket(44);
    display["display_to_agent"] = json!(12345);
    let (status, body) =
        zendesk(&rig, reqwest::Method::POST, "/api/v2/channels/voice/tickets", Some(display)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) =
        zendesk(&rig, reqwest::Method::POST, "/api/v2/channels/voice/tickets", Some(voice_ticket(44))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let ticket = body["ticket"]["id"].as_i64().unwrap();

    // Display: unknown ids and seatless agents are 404.
    let pop = |agent: i64, kind: &str, id: i64| {
        format!("/api/v2/channels/voice/agents/{agent}/{kind}/{id}/display")
    };
    assert_eq!(
        zendesk(&rig, reqwest::Method::POST, &pop(ZD_ADA, "tickets", ticket), None).await.0,
        StatusCode::OK
    );
    assert_eq!(
        zendesk(&rig, reqwest::Method::POST, &pop(ZD_ADA, "users", rig.claire), None).await.0,
        StatusCode::OK
    );
    assert_eq!(
        zendesk(&rig, reqwest::Method::POST, &pop(ZD_ADA, "tickets", 1), None).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        zendesk(&rig, reqwest::Method::POST, &pop(1, "users", rig.claire), None).await.0,
        StatusCode::NOT_FOUND
    );
    rig.zendesk.set_talk_seat(ZD_BOB, false);
    let (status, body) = zendesk(&rig, reqwest::Method::POST, &pop(ZD_BOB, "users", rig.claire), None).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::NOT_FOUND, Some("RecordNotFound")));

    // Call records: mandatory fields, documented fields only, known app id, update, read.
    let call = json!({ "call": { "app_id": APP_ID, "from_line": "+33612345678", "to_line": "+33176000000",
        "call_started_at": "2026-12-01T09:00:00Z", "direction": "inbound", "ticket_id": ticket } });
    let mut missing = call.clone();
    missing["call"].as_object_mut().unwrap().remove("direction");
    let (status, body) = zendesk(&rig, reqwest::Method::POST, "/api/v2/calls", Some(missing)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["details"]["call.direction"].is_array(), "{body}");
    let mut undocumented = call.clone();
    undocumented["call"]["mood"] = json!("happy");
    assert_eq!(
        zendesk(&rig, reqwest::Method::POST, "/api/v2/calls", Some(undocumented)).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let mut other_app = call.clone();
    other_app["call"]["app_id"] = json!(1);
    assert_eq!(
        zendesk(&rig, reqwest::Method::POST, "/api/v2/calls", Some(other_app)).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let mut seatless = call.clone();
    seatless["call"]["agent_id"] = json!(ZD_BOB);
    assert_eq!(
        zendesk(&rig, reqwest::Method::POST, "/api/v2/calls", Some(seatless)).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let (status, body) = zendesk(&rig, reqwest::Method::POST, "/api/v2/calls", Some(call)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["call"]["id"].as_i64().unwrap();
    let (status, body) = zendesk(
        &rig,
        reqwest::Method::PATCH,
        &format!("/api/v2/calls/{id}"),
        Some(json!({"call": {"call_disposition": "escalated"}})),
    )
    .await;
    assert_eq!((status, body["call"]["call_disposition"].as_str()), (StatusCode::OK, Some("escalated")));
    let (status, body) = zendesk(&rig, reqwest::Method::GET, &format!("/api/v2/calls/{id}"), None).await;
    assert_eq!((status, body["call"]["direction"].as_str()), (StatusCode::OK, Some("inbound")));
    assert_eq!(zendesk(&rig, reqwest::Method::GET, "/api/v2/calls/1", None).await.0, StatusCode::NOT_FOUND);

    // Users: search by phone digits, create with a name only.
    let (_, body) =
        zendesk(&rig, reqwest::Method::GET, "/api/v2/users/search?query=phone:%2B33612345678", None).await;
    assert_eq!(body["users"][0]["id"], rig.claire);
    let (status, _) =
        zendesk(&rig, reqwest::Method::POST, "/api/v2/users", Some(json!({"user": {"phone": "+1"}}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn aircall_calls_are_paged_windowed_and_move_forward() {
    let rig = Rig::start().await;
    let mut played = Vec::new();
    for n in 0..5 {
        let script = CallScript::inbound(
            CLAIRE_PHONE,
            vec![AC_ADA],
            CallEnding::Voicemail { seconds: 10 },
            T0 + n * 100,
        );
        played.push(rig.aircall.play_call(&script, TOKEN).unwrap());
    }
    let (status, page) = aircall(&rig, &format!("v1/calls?per_page=2&from={}", T0 + 100)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["meta"]["total"], 4);
    let next = page["meta"]["next_page_link"].as_str().unwrap().to_owned();
    assert!(next.contains(&format!("from={}", T0 + 100)), "{next}");
    let (_, second) = aircall(&rig, &next).await;
    assert_eq!(second["calls"].as_array().unwrap().len(), 2);
    assert_eq!(aircall(&rig, "v1/calls?from=soon").await.0, StatusCode::BAD_REQUEST);

    let first = &played[0];
    let (_, call) = aircall(&rig, &format!("v1/calls/{}", first.call_id)).await;
    assert_eq!(call["call"]["status"], "initial");
    let voicemail = first.step("call.voicemail_left").unwrap();
    rig.aircall.apply_step(first, voicemail);
    let (_, call) = aircall(&rig, &format!("v1/calls/{}", first.call_id)).await;
    assert_eq!(call["call"]["status"], "done");
    assert!(call["call"]["asset"].as_str().unwrap().contains("/assets/calls/"));
    let ended = first.steps.last().unwrap();
    assert_eq!(ended.event, "call.ended");
    let ended_at = ended.call["ended_at"].as_i64().unwrap();
    assert_eq!(
        ended.delivery.body_json().unwrap()["timestamp"].as_i64().unwrap(),
        ended_at + ENDED_DELAY_SECONDS
    );
    assert_eq!(
        aircall(&rig, &format!("v1/calls/{}/transcription", first.call_id)).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(aircall(&rig, "v1/calls/1").await.0, StatusCode::NOT_FOUND);
}
