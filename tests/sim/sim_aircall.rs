//! The Aircall simulator and the shared simulator framework, driven over real HTTP.
#![cfg(feature = "sim")]

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use deskbridge::sim::aircall::{
    AircallAvailabilityStatus, AircallSim, AircallSimConfig, AircallTeamSeed, AircallUserSeed,
};
use deskbridge::sim::{Fault, RateLimitRule};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const ID: &str = AircallSimConfig::DEFAULT_API_ID;
const TOKEN: &str = AircallSimConfig::DEFAULT_API_TOKEN;

fn seeds() -> Vec<AircallUserSeed> {
    vec![
        AircallUserSeed::new(12, "Ada", "ada@example.com"),
        AircallUserSeed::new(7, "Bob", "bob@example.com").with_status(AircallAvailabilityStatus::Unavailable),
        AircallUserSeed { schedule_open: false, ..AircallUserSeed::new(30, "Cy", "cy@example.com") }
            .with_status(AircallAvailabilityStatus::Custom),
    ]
}

async fn start(users: Vec<AircallUserSeed>) -> AircallSim {
    AircallSim::start(AircallSimConfig::new(users)).await.unwrap()
}

async fn get(sim: &AircallSim, path: &str) -> reqwest::Response {
    let url = sim.base_url().join(path).unwrap();
    reqwest::Client::new().get(url).basic_auth(ID, Some(TOKEN)).send().await.unwrap()
}

async fn put(sim: &AircallSim, path: &str, body: Value) -> reqwest::Response {
    let url = sim.base_url().join(path).unwrap();
    reqwest::Client::new().put(url).basic_auth(ID, Some(TOKEN)).json(&body).send().await.unwrap()
}

#[tokio::test]
async fn pagination_walks_every_page_in_id_order_and_stops_on_a_null_next_link() {
    let sim = start(AircallUserSeed::synthetic(45)).await;
    let client = reqwest::Client::new();
    let mut next = Some(format!("{}v1/users", sim.base_url()));
    let mut ids = Vec::new();
    let mut counts = Vec::new();
    while let Some(url) = next {
        let page: Value =
            client.get(&url).basic_auth(ID, Some(TOKEN)).send().await.unwrap().json().await.unwrap();
        let meta = &page["meta"];
        assert_eq!(meta["total"], 45);
        assert_eq!(meta["per_page"], 20);
        counts.push(meta["count"].as_u64().unwrap());
        if meta["current_page"] == 1 {
            assert!(meta["previous_page_link"].is_null());
        } else {
            assert!(meta["previous_page_link"].as_str().unwrap().starts_with(sim.base_url().as_str()));
        }
        ids.extend(page["users"].as_array().unwrap().iter().map(|user| user["id"].as_u64().unwrap()));
        next = meta["next_page_link"].as_str().map(str::to_owned);
        assert!(counts.len() <= 3, "pagination did not stop");
    }
    assert_eq!(counts, vec![20, 20, 5]);
    let expected: Vec<u64> = (1001..=1045).collect();
    assert_eq!(ids, expected);
    let pages = sim.server().requests_matching(Method::GET, "/v1/users");
    assert_eq!(pages.len(), 3);
    assert_eq!(pages[1].query_value("page").as_deref(), Some("2"));
    assert_eq!(pages[1].query_value("per_page").as_deref(), Some("20"));
}

#[tokio::test]
async fn per_page_is_clamped_to_fifty_and_order_desc_reverses() {
    let sim = start(AircallUserSeed::synthetic(60)).await;
    let page: Value = get(&sim, "v1/users?per_page=500").await.json().await.unwrap();
    assert_eq!(page["meta"]["per_page"], 50);
    assert_eq!(page["users"].as_array().unwrap().len(), 50);
    assert!(page["meta"]["next_page_link"].as_str().unwrap().contains("per_page=50"));
    let page: Value = get(&sim, "v1/users?per_page=2&order=desc").await.json().await.unwrap();
    assert_eq!(page["users"][0]["id"], 1060);
    assert_eq!(page["users"][1]["id"], 1059);
    let past_end: Value = get(&sim, "v1/users?page=9&per_page=50").await.json().await.unwrap();
    assert_eq!(past_end["meta"]["count"], 0);
    assert!(past_end["meta"]["next_page_link"].is_null());
    assert_eq!(get(&sim, "v1/users?page=abc").await.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn users_and_availabilities_show_derived_values() {
    let sim = start(seeds()).await;
    let user: Value = get(&sim, "v1/users/30").await.json().await.unwrap();
    assert_eq!(user["user"]["availability_status"], "custom");
    assert_eq!(user["user"]["available"], false);
    assert_eq!(user["user"]["email"], "cy@example.com");
    let list: Value = get(&sim, "v1/users/availabilities").await.json().await.unwrap();
    assert_eq!(
        list["users"],
        json!([
            {"id": 7, "availability": "do_not_disturb"},
            {"id": 12, "availability": "available"},
            {"id": 30, "availability": "offline"},
        ])
    );
    sim.set_schedule_open(30, true).unwrap();
    let single: Value = get(&sim, "v1/users/30/availability").await.json().await.unwrap();
    assert_eq!(single, json!({"availability": "available"}));
    let missing = get(&sim, "v1/users/999").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let body: Value = missing.json().await.unwrap();
    assert!(body["error"].is_string() && body["troubleshoot"].is_string());
}

#[tokio::test]
async fn auth_is_enforced_for_basic_and_bearer() {
    let sim = AircallSim::start(
        AircallSimConfig::new(seeds()).credentials("id-1", "tok-1").bearer_token("oauth-1"),
    )
    .await
    .unwrap();
    let url = sim.base_url().join("v1/users").unwrap();
    let client = reqwest::Client::new();
    let none = client.get(url.clone()).send().await.unwrap();
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    let body: Value = none.json().await.unwrap();
    assert_eq!(body["error"], "Unauthorized");
    let wrong = client.get(url.clone()).basic_auth("id-1", Some("nope")).send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let wrong_bearer = client.get(url.clone()).bearer_auth("oauth-2").send().await.unwrap();
    assert_eq!(wrong_bearer.status(), StatusCode::UNAUTHORIZED);
    let basic = client.get(url.clone()).basic_auth("id-1", Some("tok-1")).send().await.unwrap();
    assert_eq!(basic.status(), StatusCode::OK);
    let bearer = client.get(url).bearer_auth("oauth-1").send().await.unwrap();
    assert_eq!(bearer.status(), StatusCode::OK);
    let log = sim.server().requests();
    assert_eq!(log.len(), 5);
    assert_eq!(log[0].status, Some(401));
    assert!(log[4].header("authorization").unwrap().starts_with("Bearer "));
}

#[tokio::test]
async fn rate_limit_answers_429_with_aircall_headers_beyond_the_limit() {
    let sim = AircallSim::start(AircallSimConfig::new(seeds()).rate_limit(RateLimitRule::per_minute(3)))
        .await
        .unwrap();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    for remaining in ["2", "1", "0"] {
        let response = get(&sim, "v1/users").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["x-aircallapi-limit"], "3");
        assert_eq!(response.headers()["x-aircallapi-remaining"], remaining);
    }
    let refused = get(&sim, "v1/users/12").await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.headers()["x-aircallapi-remaining"], "0");
    assert!(refused.headers().get("retry-after").is_none());
    let reset: u64 = refused.headers()["x-aircallapi-reset"].to_str().unwrap().parse().unwrap();
    assert!(reset >= now && reset <= now + 62, "reset {reset} not within the minute after {now}");
    let body: Value = refused.json().await.unwrap();
    assert!(body["troubleshoot"].is_string());
    sim.server().set_rate_limits(Vec::new());
    assert_eq!(get(&sim, "v1/users/12").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn rate_limit_window_refills_after_it_elapses() {
    let sim = AircallSim::start(
        AircallSimConfig::new(seeds()).rate_limit(RateLimitRule::new(1, Duration::from_millis(300))),
    )
    .await
    .unwrap();
    assert_eq!(get(&sim, "v1/users").await.status(), StatusCode::OK);
    assert_eq!(get(&sim, "v1/users").await.status(), StatusCode::TOO_MANY_REQUESTS);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(get(&sim, "v1/users").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn put_validates_status_and_substatus_and_applies_them() {
    let sim = start(seeds()).await;
    let bad = put(&sim, "v1/users/12", json!({"availability_status": "busy"})).await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let body: Value = bad.json().await.unwrap();
    assert!(body["troubleshoot"].as_str().unwrap().contains("available"));
    let bad_sub =
        put(&sim, "v1/users/12", json!({"availability_status": "unavailable", "substatus": "napping"})).await;
    assert_eq!(bad_sub.status(), StatusCode::BAD_REQUEST);
    assert_eq!(put(&sim, "v1/users/12", json!("unavailable")).await.status(), StatusCode::BAD_REQUEST);
    assert_eq!(sim.user(12).unwrap().availability_status, AircallAvailabilityStatus::Available);
    let missing = put(&sim, "v1/users/404", json!({"availability_status": "available"})).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    let ok =
        put(&sim, "v1/users/12", json!({"availability_status": "unavailable", "substatus": "on_a_break"}))
            .await;
    assert_eq!(ok.status(), StatusCode::OK);
    let body: Value = ok.json().await.unwrap();
    assert_eq!(body["user"]["availability_status"], "unavailable");
    assert_eq!(body["user"]["substatus"], "on_a_break");
    assert_eq!(body["user"]["available"], false);
    let user = sim.user(12).unwrap();
    assert_eq!(user.availability_status, AircallAvailabilityStatus::Unavailable);
    assert_eq!(user.substatus.as_deref(), Some("on_a_break"));

    put(&sim, "v1/users/12", json!({"availability_status": "available"})).await;
    assert_eq!(sim.user(12).unwrap().substatus, None, "substatus is cleared when leaving unavailable");

    let writes = sim.server().writes();
    assert_eq!(writes.len(), 6);
    let last = writes.last().unwrap();
    assert_eq!(last.method, Method::PUT);
    assert_eq!(last.path, "/v1/users/12");
    assert_eq!(last.body_json(), Some(json!({"availability_status": "available"})));
    assert!(last.header("authorization").unwrap().starts_with("Basic "));
    assert_eq!(last.status, Some(200));
    assert_eq!(writes[0].status, Some(400));
}

#[tokio::test]
async fn accessors_change_what_the_api_shows() {
    let sim = start(seeds()).await;
    sim.set_availability(12, AircallAvailabilityStatus::Unavailable, Some("out_for_lunch")).unwrap();
    let user: Value = get(&sim, "v1/users/12").await.json().await.unwrap();
    assert_eq!(user["user"]["availability_status"], "unavailable");
    assert_eq!(user["user"]["substatus"], "out_for_lunch");
    assert!(sim.set_availability(99, AircallAvailabilityStatus::Available, None).is_err());
    assert_eq!(sim.server().writes().len(), 0, "direct changes are not requests");
}

#[tokio::test]
async fn status_fault_answers_once_then_the_handler_runs() {
    let sim = start(seeds()).await;
    sim.server()
        .add_fault(Fault::status(503, r#"{"error":"Service Unavailable"}"#).on_path("/v1/users").times(2));
    for _ in 0..2 {
        let response = get(&sim, "v1/users").await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "Service Unavailable");
    }
    assert_eq!(get(&sim, "v1/users").await.status(), StatusCode::OK);
    assert!(sim.server().pending_faults().is_empty());
}

#[tokio::test]
async fn fault_filters_on_method_and_path() {
    let sim = start(seeds()).await;
    sim.server().add_fault(Fault::status(500, "boom").on_method(Method::PUT).on_path("/v1/users/").always());
    assert_eq!(get(&sim, "v1/users/12").await.status(), StatusCode::OK);
    assert_eq!(get(&sim, "v1/teams").await.status(), StatusCode::OK);
    for _ in 0..3 {
        let response = put(&sim, "v1/users/12", json!({"availability_status": "unavailable"})).await;
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(response.text().await.unwrap(), "boom");
    }
    assert_eq!(sim.user(12).unwrap().availability_status, AircallAvailabilityStatus::Available);
    sim.server().clear_faults();
    assert_eq!(
        put(&sim, "v1/users/12", json!({"availability_status": "unavailable"})).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn delay_fault_holds_the_answer() {
    let sim = start(seeds()).await;
    sim.server().add_fault(Fault::delay(Duration::from_millis(400)));
    let started = Instant::now();
    let response = get(&sim, "v1/users/12").await;
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["user"]["id"], 12);
}

#[tokio::test]
async fn truncated_fault_cuts_the_json_but_keeps_the_write() {
    let sim = start(seeds()).await;
    sim.server().add_fault(Fault::truncated_body().on_method(Method::PUT));
    let response = put(&sim, "v1/users/12", json!({"availability_status": "unavailable"})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    assert!(serde_json::from_str::<Value>(&text).is_err(), "body should be malformed: {text}");
    assert!(text.starts_with("{\"user\""));
    assert_eq!(sim.user(12).unwrap().availability_status, AircallAvailabilityStatus::Unavailable);
}

#[tokio::test]
async fn ok_with_error_body_fault_answers_200() {
    let sim = start(seeds()).await;
    sim.server().add_fault(Fault::ok_with_error_body(json!({"status": "error", "error": "Agent not found"})));
    let response = get(&sim, "v1/users/12").await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "Agent not found");
}

#[tokio::test]
async fn teams_list_their_members() {
    let config = AircallSimConfig::new(seeds()).teams(vec![AircallTeamSeed {
        id: 5,
        name: "Support".into(),
        user_ids: vec![7, 12, 1234],
    }]);
    let sim = AircallSim::start(config).await.unwrap();
    let teams: Value = get(&sim, "v1/teams").await.json().await.unwrap();
    assert_eq!(teams["meta"]["total"], 1);
    let members: Vec<u64> = teams["teams"][0]["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|user| user["id"].as_u64().unwrap())
        .collect();
    assert_eq!(members, vec![7, 12]);
    let team: Value = get(&sim, "v1/teams/5").await.json().await.unwrap();
    assert_eq!(team["team"]["name"], "Support");
    assert_eq!(get(&sim, "v1/teams/6").await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn webhook_delivery_carries_the_token_and_can_be_posted() {
    let sim = start(seeds()).await;
    let delivery = sim.user_event_delivery("user.closed.v2", 7, "hook-token").unwrap();
    let body = delivery.body_json().unwrap();
    assert_eq!(body["resource"], "user");
    assert_eq!(body["event"], "user.closed.v2");
    assert_eq!(body["token"], "hook-token");
    assert_eq!(body["data"]["id"], 7);
    assert_eq!(body["data"]["availability_status"], "unavailable");
    assert!(body["data"].get("numbers").is_none(), "v2 user events leave out numbers");
    assert!(body["timestamp"].as_u64().unwrap() > 1_700_000_000);
    assert_eq!(delivery.header("aircall-origin"), Some("webhooks"));
    assert!(sim.user_event_delivery("user.closed.v2", 999, "t").is_none());

    // Use a second simulator (without auth) as the receiver: its log shows what arrived.
    let receiver = start(Vec::new()).await;
    receiver.server().set_credentials(Vec::new());
    let url = receiver.base_url().join("hooks/aircall").unwrap();
    let status = delivery.send(&url).await.unwrap();
    assert_eq!(status, 404);
    let received = receiver.server().requests_matching(Method::POST, "/hooks/aircall");
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].body.as_ref(), delivery.body.as_slice());
    assert_eq!(received[0].header("aircall-origin"), Some("webhooks"));
    receiver.shutdown().await;
}

#[tokio::test]
async fn log_can_be_cleared_and_the_server_shuts_down() {
    let sim = start(seeds()).await;
    get(&sim, "v1/ping").await;
    assert_eq!(sim.server().count(), 1);
    sim.server().clear_log();
    assert_eq!(sim.server().count(), 0);
    get(&sim, "v1/ping").await;
    assert_eq!(sim.server().requests()[0].sequence, 1, "sequence numbers keep counting");
    let url = sim.base_url().join("v1/ping").unwrap();
    sim.shutdown().await;
    let client = reqwest::Client::builder().timeout(Duration::from_secs(2)).build().unwrap();
    assert!(client.get(url).send().await.is_err(), "the port should be closed after shutdown");
}

#[tokio::test]
async fn duplicate_user_ids_are_refused() {
    let users =
        vec![AircallUserSeed::new(1, "A", "a@example.com"), AircallUserSeed::new(1, "B", "b@example.com")];
    assert!(AircallSim::start(AircallSimConfig::new(users)).await.is_err());
}
