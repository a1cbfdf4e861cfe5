//! The Zendesk simulator, driven over real HTTP.
#![cfg(feature = "sim")]

use deskbridge::sim::zendesk::{
    REASON_PUBLIC_API, REASON_SWITCHER, ZendeskAgentSeed, ZendeskChannels, ZendeskGroupSeed, ZendeskRole,
    ZendeskSeedStatus, ZendeskSim, ZendeskSimConfig, ZendeskUnifiedStatus, state_changed_payload,
    webhook_delivery, webhook_signature,
};
use deskbridge::sim::{Fault, RateLimitRule};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const EMAIL: &str = ZendeskSimConfig::DEFAULT_EMAIL;
const TOKEN: &str = ZendeskSimConfig::DEFAULT_API_TOKEN;
const ADA: i64 = 16_765_840_571_292;
const BOB: i64 = 16_765_840_571_293;
const END_USER: i64 = 16_765_840_571_999;
const SUPPORT: i64 = 360_000_000_001;
const SALES: i64 = 360_000_000_002;
const IN_A_MEETING: i64 = 1_260_812_345_678;

fn config() -> ZendeskSimConfig {
    let agents = vec![
        ZendeskAgentSeed::new(ADA, "Ada", "ada@example.com")
            .with_groups(vec![SUPPORT, SALES])
            .with_status(ZendeskSeedStatus::Online),
        ZendeskAgentSeed::new(BOB, "Bob", "bob@example.com")
            .with_role(ZendeskRole::Admin)
            .with_groups(vec![SALES])
            .with_talk_state("online"),
        ZendeskAgentSeed::new(END_USER, "Eve", "eve@example.com").with_role(ZendeskRole::EndUser),
    ];
    let groups = vec![ZendeskGroupSeed::new(SUPPORT, "Support"), ZendeskGroupSeed::new(SALES, "Sales")];
    let meeting = ZendeskUnifiedStatus::custom(
        IN_A_MEETING,
        "In a meeting",
        ZendeskChannels { messaging: "offline".into(), support: "online".into(), talk: "away".into() },
    );
    ZendeskSimConfig::new(agents, groups).custom_statuses(vec![meeting])
}

async fn start(config: ZendeskSimConfig) -> ZendeskSim {
    ZendeskSim::start(config).await.unwrap()
}

fn auth(builder: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    builder.basic_auth(format!("{EMAIL}/token"), Some(TOKEN))
}

async fn get(sim: &ZendeskSim, path: &str) -> reqwest::Response {
    let url = sim.base_url().join(path).unwrap();
    auth(reqwest::Client::new().get(url)).send().await.unwrap()
}

async fn get_json(sim: &ZendeskSim, path: &str) -> Value {
    let response = get(sim, path).await;
    assert_eq!(response.status(), StatusCode::OK, "GET {path}");
    response.json().await.unwrap()
}

async fn put(sim: &ZendeskSim, path: &str, body: Value) -> reqwest::Response {
    let url = sim.base_url().join(path).unwrap();
    auth(reqwest::Client::new().put(url)).json(&body).send().await.unwrap()
}

/// Follow `links.next` from `first` until `meta.has_more` is false; return every page.
async fn walk(sim: &ZendeskSim, first: &str) -> Vec<Value> {
    let client = reqwest::Client::new();
    let mut pages = Vec::new();
    let mut url = sim.base_url().join(first).unwrap().to_string();
    loop {
        let page: Value = auth(client.get(&url)).send().await.unwrap().json().await.unwrap();
        let has_more = page["meta"]["has_more"].as_bool().unwrap();
        let next = page["links"]["next"].as_str().map(str::to_owned);
        pages.push(page);
        assert!(pages.len() <= 1_000, "pagination did not stop");
        match (has_more, next) {
            (true, Some(next)) => url = next,
            (false, next) => {
                assert!(next.is_none(), "no next link on the last page");
                return pages;
            }
            (true, None) => panic!("has_more without a next link"),
        }
    }
}

#[tokio::test]
async fn users_cursor_pagination_walks_all_agents_and_stops() {
    let groups = ZendeskGroupSeed::synthetic(3);
    let group_ids: Vec<i64> = groups.iter().map(|group| group.id).collect();
    let mut agents = ZendeskAgentSeed::synthetic(250, &group_ids);
    agents.push(ZendeskAgentSeed::new(1, "Customer", "c@example.com").with_role(ZendeskRole::EndUser));
    agents.push(ZendeskAgentSeed::new(2, "Boss", "boss@example.com").with_role(ZendeskRole::Admin));
    let sim = start(ZendeskSimConfig::new(agents, groups)).await;

    let pages = walk(&sim, "api/v2/users?role[]=agent&role[]=admin&page[size]=100").await;
    let sizes: Vec<usize> = pages.iter().map(|page| page["users"].as_array().unwrap().len()).collect();
    assert_eq!(sizes, vec![100, 100, 51]);
    let ids: Vec<i64> = pages
        .iter()
        .flat_map(|page| page["users"].as_array().unwrap().iter().map(|u| u["id"].as_i64().unwrap()))
        .collect();
    assert_eq!(ids.len(), 251);
    assert_eq!(ids[0], 2);
    assert!(ids.windows(2).all(|pair| pair[0] < pair[1]));
    assert!(!ids.contains(&1), "end users are filtered out");
    assert!(pages[1]["links"]["prev"].is_string());
    assert!(pages[0]["links"]["prev"].is_null());

    // The follow-up requests kept the role filter.
    let requests = sim.server().requests_matching(Method::GET, "/api/v2/users");
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[2].query_values("role[]"), vec!["agent", "admin"]);
    assert!(requests[2].query_value("page[after]").is_some());

    let agents_only = get_json(&sim, "api/v2/users.json?role=agent&page[size]=1000").await;
    assert_eq!(agents_only["users"].as_array().unwrap().len(), 100, "page[size] is clamped to 100");
    assert!(agents_only["users"].as_array().unwrap().iter().all(|user| user["role"] == "agent"));

    // page[before] walks back.
    let last = &pages[2];
    let before = last["meta"]["before_cursor"].as_str().unwrap();
    let back = get_json(
        &sim,
        &format!("api/v2/users?role[]=agent&role[]=admin&page[size]=100&page[before]={before}"),
    )
    .await;
    assert_eq!(back["users"], pages[1]["users"]);

    assert_eq!(get(&sim, "api/v2/users?page[after]=garbage!").await.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn groups_and_memberships_paginate() {
    let sim = start(config()).await;
    let pages = walk(&sim, "api/v2/groups?page[size]=1").await;
    let names: Vec<&str> = pages.iter().map(|page| page["groups"][0]["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["Support", "Sales"]);

    let pages = walk(&sim, "api/v2/group_memberships.json?page[size]=2").await;
    let memberships: Vec<&Value> =
        pages.iter().flat_map(|page| page["group_memberships"].as_array().unwrap()).collect();
    assert_eq!(memberships.len(), 3);
    let ada: Vec<(i64, bool)> = memberships
        .iter()
        .filter(|m| m["user_id"] == ADA)
        .map(|m| (m["group_id"].as_i64().unwrap(), m["default"].as_bool().unwrap()))
        .collect();
    assert_eq!(ada, vec![(SUPPORT, true), (SALES, false)]);

    let sales = get_json(&sim, &format!("api/v2/groups/{SALES}/memberships")).await;
    assert_eq!(sales["group_memberships"].as_array().unwrap().len(), 2);
    let bobs = get_json(&sim, &format!("api/v2/users/{BOB}/group_memberships.json")).await;
    assert_eq!(bobs["group_memberships"][0]["group_id"], SALES);
    assert_eq!(get(&sim, "api/v2/groups/1/memberships").await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn auth_requires_email_token_basic_or_bearer() {
    let sim = start(config().bearer_token("oauth-z")).await;
    let users = sim.base_url().join("api/v2/groups").unwrap();
    let client = reqwest::Client::new();
    let none = client.get(users.clone()).send().await.unwrap();
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    let body: Value = none.json().await.unwrap();
    assert_eq!(body, json!({"error": "Couldn't authenticate you"}));
    let without_token_suffix = client.get(users.clone()).basic_auth(EMAIL, Some(TOKEN)).send().await.unwrap();
    assert_eq!(without_token_suffix.status(), StatusCode::UNAUTHORIZED);
    let wrong =
        client.get(users.clone()).basic_auth(format!("{EMAIL}/token"), Some("x")).send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(auth(client.get(users.clone())).send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(client.get(users).bearer_auth("oauth-z").send().await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let sim = start(config().rate_limit(RateLimitRule::per_minute(2))).await;
    let first = get(&sim, "api/v2/groups").await;
    assert_eq!(first.headers()["x-rate-limit"], "2");
    assert_eq!(first.headers()["x-rate-limit-remaining"], "1");
    assert!(first.headers().get("retry-after").is_none());
    assert_eq!(get(&sim, "api/v2/groups").await.headers()["x-rate-limit-remaining"], "0");
    let refused = get(&sim, "api/v2/groups").await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after));
    assert_eq!(refused.headers()["x-rate-limit-remaining"], "0");
}

#[tokio::test]
async fn path_group_rate_limit_counts_only_its_paths() {
    let sim =
        start(config().rate_limit(RateLimitRule::per_minute(1).for_paths(["/api/v2/channels/voice/"]))).await;
    let talk = format!("api/v2/channels/voice/availabilities/{ADA}");
    assert_eq!(get(&sim, &talk).await.status(), StatusCode::OK);
    assert_eq!(get(&sim, &talk).await.status(), StatusCode::TOO_MANY_REQUESTS);
    let other = get(&sim, "api/v2/groups").await;
    assert_eq!(other.status(), StatusCode::OK);
    assert!(other.headers().get("x-rate-limit").is_none());
}

#[tokio::test]
async fn statuses_list_defaults_and_custom_by_name() {
    let sim = start(config()).await;
    let statuses = get_json(&sim, "api/v2/agent_availabilities/agent_statuses").await;
    let defaults: Vec<(i64, &str)> = statuses["default"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["id"].as_i64().unwrap(), s["attributes"]["name"].as_str().unwrap()))
        .collect();
    assert_eq!(defaults, vec![(4, "away"), (2, "offline"), (3, "online"), (5, "transfers_only")]);
    assert_eq!(statuses["custom"][0]["id"], IN_A_MEETING);
    assert_eq!(statuses["custom"][0]["type"], "agent_status");
    assert_eq!(statuses["custom"][0]["attributes"]["channels"]["talk"], "away");
    assert_eq!(statuses["meta"]["has_more"], false);
}

#[tokio::test]
async fn routing_on_unified_put_works_and_talk_put_of_agent_state_is_refused() {
    let sim = start(config()).await;
    let talk_path = format!("api/v2/channels/voice/availabilities/{ADA}");
    let refused =
        put(&sim, &talk_path, json!({"availability": {"agent_state": "away", "via": "client"}})).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "bad_request");
    assert_eq!(sim.agent_status(ADA).unwrap().name, "online");
    let via_only = put(&sim, &talk_path, json!({"availability": {"via": "phone"}})).await;
    assert_eq!(via_only.status(), StatusCode::OK);
    let via_body: Value = via_only.json().await.unwrap();
    assert_eq!(via_body["availability"]["via"], "phone");

    let path = format!("api/v2/agent_availabilities/agent_statuses/agents/{ADA}");
    let response = put(&sim, &path, json!({"id": IN_A_MEETING})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"data": {
            "attributes": {"agent_id": ADA, "agent_status": {"id": IN_A_MEETING, "name": "In a meeting"}},
            "id": format!("agent_availabilities|{ADA}"),
            "type": "agent_availabilities",
        }})
    );
    let status = sim.agent_status(ADA).unwrap();
    assert_eq!(status.id, IN_A_MEETING);
    assert_eq!(status.reason, REASON_PUBLIC_API);

    let document = get_json(&sim, &format!("api/v2/agent_availabilities/{ADA}")).await;
    let attributes = &document["data"]["attributes"];
    assert_eq!(document["data"]["id"], format!("agent_availabilities|{ADA}"));
    assert_eq!(attributes["agent_status"]["name"], "In a meeting");
    assert_eq!(attributes["agent_status"]["reason"], "PUBLIC_API");
    assert_eq!(attributes["version"], 2);
    assert_eq!(attributes["group_ids"], json!([SUPPORT, SALES]));
    let talk_channel =
        document["included"].as_array().unwrap().iter().find(|c| c["attributes"]["name"] == "talk").unwrap();
    assert_eq!(talk_channel["attributes"]["status"], "away");

    let talk = get_json(&sim, &talk_path).await;
    assert_eq!(talk["availability"]["agent_state"], "away", "derived from the custom status's talk channel");
    assert_eq!(talk["availability"]["via"], "phone");

    let writes = sim.server().writes();
    assert_eq!(writes.len(), 3);
    assert_eq!(writes[2].body_json(), Some(json!({"id": IN_A_MEETING})));
    assert_eq!(writes[0].status, Some(400));
}

#[tokio::test]
async fn unified_put_accepts_the_jsonapi_body_and_validates() {
    let sim = start(config()).await;
    let path = format!("api/v2/agent_availabilities/agent_statuses/agents/{BOB}.json");
    let jsonapi = json!({"data": {"type": "agent_status", "attributes": {"agent_status_id": "4"}}});
    assert_eq!(put(&sim, &path, jsonapi).await.status(), StatusCode::OK);
    assert_eq!(sim.agent_status(BOB).unwrap().name, "away");

    let unknown_status = put(&sim, &path, json!({"id": 999})).await;
    assert_eq!(unknown_status.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = unknown_status.json().await.unwrap();
    assert_eq!(body["error"], "RecordInvalid");
    assert!(body["details"]["id"].is_array());

    let unknown_agent =
        put(&sim, "api/v2/agent_availabilities/agent_statuses/agents/42", json!({"id": 3})).await;
    assert_eq!(unknown_agent.status(), StatusCode::NOT_FOUND);
    let body: Value = unknown_agent.json().await.unwrap();
    assert_eq!(body, json!({"error": "RecordNotFound", "description": "Not found"}));
    let end_user = format!("api/v2/agent_availabilities/agent_statuses/agents/{END_USER}");
    assert_eq!(put(&sim, &end_user, json!({"id": 3})).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(put(&sim, &path, json!({"status": "away"})).await.status(), StatusCode::BAD_REQUEST);
    assert_eq!(sim.agent_status(BOB).unwrap().name, "away");
}

#[tokio::test]
async fn routing_off_refuses_unified_writes_and_allows_talk_writes() {
    let sim = start(config().omnichannel_routing(false)).await;
    let unified =
        put(&sim, &format!("api/v2/agent_availabilities/agent_statuses/agents/{ADA}"), json!({"id": 2}))
            .await;
    assert_eq!(unified.status(), StatusCode::FORBIDDEN);
    let body: Value = unified.json().await.unwrap();
    assert!(body["error"].is_string() && body["description"].is_string());
    assert_eq!(get(&sim, "api/v2/agent_availabilities/agent_statuses").await.status(), StatusCode::FORBIDDEN);
    let settings = get_json(&sim, "api/v2/account/settings.json").await;
    assert_eq!(settings["settings"]["routing"]["enabled"], false);

    let document = get_json(&sim, &format!("api/v2/agent_availabilities/{ADA}")).await;
    assert!(document["data"]["attributes"].get("agent_status").is_none(), "no agent_status without routing");

    let talk_path = format!("api/v2/channels/voice/availabilities/{BOB}");
    assert_eq!(get_json(&sim, &talk_path).await["availability"]["agent_state"], "online");
    let response = put(&sim, &talk_path, json!({"availability": {"agent_state": "transfers_only"}})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"availability": {"agent_state": "transfers_only", "via": "client", "call_status": null}})
    );
    assert_eq!(sim.talk_availability(BOB).unwrap().agent_state, "transfers_only");
    let invalid = put(&sim, &talk_path, json!({"availability": {"agent_state": "busy"}})).await;
    assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Switching routing on changes the answers without a restart.
    sim.set_omnichannel_routing(true);
    let refused = put(&sim, &talk_path, json!({"availability": {"agent_state": "online"}})).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn availability_list_filters_by_agent_id_and_skips_end_users() {
    let sim = start(config()).await;
    let all = get_json(&sim, "api/v2/agent_availabilities").await;
    let ids: Vec<&str> = all["data"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![format!("agent_availabilities|{ADA}"), format!("agent_availabilities|{BOB}")]);
    assert_eq!(all["included"].as_array().unwrap().len(), 6);
    let one = get_json(&sim, &format!("api/v2/agent_availabilities?filter[agent_id]={BOB}")).await;
    assert_eq!(one["data"].as_array().unwrap().len(), 1);
    assert_eq!(one["data"][0]["attributes"]["agent_status"]["name"], "offline");
    assert_eq!(
        get(&sim, "api/v2/agent_availabilities?filter[agent_id]=x").await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        get(&sim, &format!("api/v2/agent_availabilities/{END_USER}")).await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn accessors_and_unified_webhook_payloads() {
    let sim = start(config()).await;
    let status = sim.set_agent_status(ADA, "Away", REASON_SWITCHER).unwrap();
    assert_eq!(status.id, 4);
    assert!(sim.set_agent_status(ADA, "Lunch", REASON_SWITCHER).is_err());
    assert!(sim.set_agent_status(END_USER, "online", REASON_SWITCHER).is_err());
    assert_eq!(
        get_json(&sim, &format!("api/v2/channels/voice/availabilities/{ADA}")).await["availability"]["agent_state"],
        "away"
    );

    let event = sim.unified_state_changed_event(ADA).unwrap();
    assert_eq!(event["type"], "zen:event-type:agent.unified_state_changed");
    assert_eq!(event["subject"], format!("zen:agent:{ADA}"));
    assert_eq!(event["account_id"], sim.account_id());
    assert_eq!(event["detail"]["agent_id"], ADA.to_string());
    assert_eq!(event["detail"]["account_id"], sim.account_id().to_string());
    assert_eq!(event["detail"]["version"], "2");
    assert_eq!(event["event"]["previous_unified_state"]["name"], "online");
    assert_eq!(
        event["event"]["new_unified_state"],
        json!({"id": "4", "name": "away", "reason": "AGENT_STATUS_SWITCHER"})
    );
    assert_eq!(event["zendesk_event_version"], "2022-11-06");

    let delivery = sim.webhook_delivery(&event, "s3cret");
    let timestamp = delivery.header("x-zendesk-webhook-signature-timestamp").unwrap().to_owned();
    assert_eq!(
        delivery.header("x-zendesk-webhook-signature").unwrap(),
        webhook_signature("s3cret", &timestamp, &delivery.body)
    );
    assert_eq!(delivery.header("x-zendesk-account-id").unwrap(), sim.account_id().to_string());
    assert_eq!(delivery.body_json().unwrap(), event);
}

#[tokio::test]
async fn channel_webhook_payload_and_signature_are_fixed_by_their_inputs() {
    let payload = state_changed_payload(
        2,
        10011,
        "talk",
        "online",
        "away",
        3,
        "01GXEVENT",
        "2024-05-01T10:00:00.000000001Z",
    );
    assert_eq!(payload["type"], "zen:event-type:agent.state_changed");
    assert_eq!(payload["detail"], json!({"account_id": "2", "agent_id": "10011", "version": "3"}));
    assert_eq!(payload["event"]["channel"], "talk");
    assert_eq!(payload["event"]["previous_state"], "online");
    assert_eq!(payload["event"]["new_state"], "away");
    let delivery = webhook_delivery(&payload, "secret", "2021-03-25T05:09:27Z", 2, "01HOOK", "1");
    let expected = webhook_signature("secret", "2021-03-25T05:09:27Z", &delivery.body);
    assert_eq!(delivery.header("x-zendesk-webhook-signature"), Some(expected.as_str()));
    assert_ne!(expected, webhook_signature("other", "2021-03-25T05:09:27Z", &delivery.body));
}

#[tokio::test]
async fn faults_apply_to_zendesk_too() {
    let sim = start(config()).await;
    sim.server()
        .add_fault(Fault::status(502, "<html>Bad gateway</html>").on_path("/api/v2/agent_availabilities"));
    let response = get(&sim, &format!("api/v2/agent_availabilities/{ADA}")).await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    assert_eq!(get(&sim, &format!("api/v2/agent_availabilities/{ADA}")).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn unknown_endpoints_and_ids_answer_classic_404s() {
    let sim = start(config()).await;
    let response = get(&sim, "api/v2/nothing_here").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body: Value = response.json().await.unwrap();
    assert!(body["error"].is_string() && body["description"].is_string());
    assert_eq!(get(&sim, "api/v2/users/123").await.status(), StatusCode::NOT_FOUND);
    let ada = get_json(&sim, &format!("api/v2/users/{ADA}.json")).await;
    assert_eq!(ada["user"]["email"], "ada@example.com");
    assert_eq!(ada["user"]["default_group_id"], SUPPORT);
}

#[tokio::test]
async fn seeds_with_unknown_statuses_or_duplicate_ids_are_refused() {
    let bad_status = ZendeskSimConfig::new(
        vec![ZendeskAgentSeed::new(1, "A", "a@example.com").with_status(ZendeskSeedStatus::Custom(77))],
        vec![],
    );
    assert!(ZendeskSim::start(bad_status).await.is_err());
    let duplicate = ZendeskSimConfig::new(
        vec![ZendeskAgentSeed::new(1, "A", "a@example.com"), ZendeskAgentSeed::new(1, "B", "b@example.com")],
        vec![],
    );
    assert!(ZendeskSim::start(duplicate).await.is_err());
}

#[tokio::test]
async fn ten_thousand_synthetic_agents_page_through_completely() {
    let groups = ZendeskGroupSeed::synthetic(20);
    let group_ids: Vec<i64> = groups.iter().map(|group| group.id).collect();
    let sim = start(ZendeskSimConfig::new(ZendeskAgentSeed::synthetic(10_000, &group_ids), groups)).await;
    let pages = walk(&sim, "api/v2/agent_availabilities?page[size]=100").await;
    assert_eq!(pages.len(), 100);
    let total: usize = pages.iter().map(|page| page["data"].as_array().unwrap().len()).sum();
    assert_eq!(total, 10_000);
}

/// The client against a simulator that takes only one unified write body, each way round:
/// the default client learns the JSON:API form from the 400; a client fixed on `{"id"}`
/// writes at once; and the agent's status really changes.
#[tokio::test]
async fn the_client_writes_unified_statuses_to_accounts_taking_either_body() {
    use deskbridge::http::RateLimit;
    use deskbridge::zendesk::{UnifiedBody, UnifiedBodySetting, ZendeskAuth, ZendeskClient, ZendeskConfig};
    let sim = start(config()).await;
    let config = ZendeskConfig::for_base_url(sim.base_url(), ZendeskAuth::api_token(EMAIL, TOKEN))
        .with_rate_limit(RateLimit::unlimited());

    sim.accept_unified_body(Some(UnifiedBody::JsonApi));
    let learning = ZendeskClient::new(config.clone()).unwrap();
    learning.set_unified_status(ADA, 4).await.unwrap();
    assert_eq!(sim.agent_status(ADA).unwrap().id, 4);
    assert_eq!(learning.unified_body(), UnifiedBody::JsonApi);
    learning.set_unified_status(ADA, IN_A_MEETING).await.unwrap();
    let puts: Vec<Option<u16>> =
        sim.server().requests().iter().filter(|r| r.method == Method::PUT).map(|r| r.status).collect();
    assert_eq!(puts, vec![Some(400), Some(200), Some(200)], "one refusal, then the learned form");

    sim.accept_unified_body(Some(UnifiedBody::IdObject));
    let fixed =
        ZendeskClient::new(config.with_unified_body(UnifiedBodySetting::Fixed(UnifiedBody::IdObject)))
            .unwrap();
    fixed.set_unified_status(BOB, 2).await.unwrap();
    assert_eq!(sim.agent_status(BOB).unwrap().id, 2);
    // The learned JSON:API client now meets an account that refuses it: it switches back.
    learning.set_unified_status(ADA, 3).await.unwrap();
    assert_eq!((learning.unified_body(), sim.agent_status(ADA).unwrap().id), (UnifiedBody::IdObject, 3));

    sim.set_talk_availability_bare(true);
    let bare = get_json(&sim, &format!("/api/v2/channels/voice/availabilities/{BOB}")).await;
    assert!(bare.get("availability").is_none() && bare.get("agent_state").is_some(), "{bare}");
    assert!(learning.talk_availability(BOB).await.unwrap().agent_state.is_some());
}
