//! Conformance with X's own OpenAPI document (v2.159): every request deskbridge's X
//! client sends, recorded by the X simulator, validates against the spec; and the
//! validator itself rejects requests that break it.
#![cfg(feature = "sim")]

mod common;

use std::path::PathBuf;

use chrono::{TimeZone, Utc};
use common::openapi::{OpenApi, RecordedRequest};
use deskbridge::ports::MessageSource;
use deskbridge::sim::twitter::{XSim, sample};
use deskbridge::twitter::{XConfig, XSource, XSourceOptions};
use serde_json::{Value, json};

const SPEC_FILE: &str = "x-api-v2.v2_159.openapi.json";

/// The vendored spec: `../shared/specs/` relative to the crate root (also tried one level
/// higher, for git worktrees one directory deeper, and `DESKBRIDGE_SPECS_DIR` first when
/// set). A missing file fails the test: conformance must not silently pass.
fn spec() -> OpenApi {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut candidates = Vec::new();
    if let Ok(dir) = std::env::var("DESKBRIDGE_SPECS_DIR") {
        candidates.push(PathBuf::from(dir).join(SPEC_FILE));
    }
    candidates.push(root.join("../shared/specs").join(SPEC_FILE));
    candidates.push(root.join("../../shared/specs").join(SPEC_FILE));
    let Some(path) = candidates.iter().find(|p| p.is_file()) else {
        panic!(
            "X OpenAPI document {SPEC_FILE} not found; looked at {candidates:?}. \
             Vendor it in ../shared/specs/ (see the specs README) or set DESKBRIDGE_SPECS_DIR."
        );
    };
    let api = OpenApi::load_json(path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(api.version(), Some("2.159"), "{} is not the v2.159 document", path.display());
    api
}

fn recorded(request: &deskbridge::sim::SimRequest) -> RecordedRequest {
    RecordedRequest {
        method: request.method.to_string(),
        path: request.path.clone(),
        query: request.query_pairs(),
        body: request.body_json(),
    }
}

#[tokio::test]
async fn every_request_the_client_sends_conforms_to_the_v2_159_spec() {
    let api = spec();
    let sim = XSim::start_with_sample().await.unwrap();
    // Enough mentions for two pages of 5.
    for minute in 0..4 {
        let at = Utc.with_ymd_and_hms(2024, 5, 6, 10, minute, 0).unwrap();
        sim.add_post(sample::ALICE_ID, &format!("@acme_support question {minute}"), None, at, vec![])
            .unwrap();
    }
    let config = XConfig::with_user_token(sample::OWN_ID, sim.token()).with_base_url(sim.base_url());
    let source = XSource::new(config).unwrap().with_options(XSourceOptions { page_size: 2, max_pages: 10 });
    let first = source.fetch(&Value::Null).await.unwrap();
    let customer_mention = sim.add_post(
        sample::BOB_ID,
        "@acme_support still waiting",
        None,
        Utc.with_ymd_and_hms(2024, 5, 6, 11, 0, 0).unwrap(),
        vec![],
    );
    customer_mention.unwrap();
    let second = source.fetch(&first.cursor).await.unwrap();
    assert_eq!(second.messages.len(), 1);
    source.send_direct_message(sample::ALICE_ID, "We have shipped a replacement.").await.unwrap();
    source.reply_publicly(&second.messages[0].id, "@bob_builds yes we do!").await.unwrap();

    let log = sim.server().requests();
    let mut operations = std::collections::BTreeSet::new();
    let mut failures = Vec::new();
    for request in &log {
        assert_eq!(request.status.map(|s| s < 300), Some(true), "{request:?}");
        match api.validate(&recorded(request)) {
            Ok(name) => {
                operations.insert(name);
            }
            Err(errors) => failures.push(format!("{} {}: {errors:#?}", request.method, request.path)),
        }
    }
    assert!(failures.is_empty(), "requests that break the spec:\n{}", failures.join("\n"));
    let expected: std::collections::BTreeSet<String> = [
        "GET /2/dm_events",
        "GET /2/users/{id}/mentions",
        "POST /2/dm_conversations/with/{participant_id}/messages",
        "POST /2/tweets",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(operations, expected);
    // Pagination and since_id were exercised, so their values were validated too.
    assert!(log.iter().any(|r| r.path == "/2/dm_events" && r.query_value("pagination_token").is_some()));
    assert!(log.iter().any(|r| r.path.ends_with("/mentions") && r.query_value("pagination_token").is_some()));
    assert!(log.iter().any(|r| r.path.ends_with("/mentions") && r.query_value("since_id").is_some()));
}

#[test]
fn the_validator_accepts_a_correct_request_and_rejects_broken_ones() {
    let api = spec();
    let good = RecordedRequest::new("GET", "/2/dm_events")
        .query("dm_event.fields", "id,text,sender_id")
        .query("expansions", "sender_id")
        .query("max_results", "100");
    assert_eq!(api.validate(&good), Ok("GET /2/dm_events".to_owned()));

    let bogus_field = RecordedRequest::new("GET", "/2/dm_events").query("dm_event.fields", "id,bogus_field");
    let errors = api.validate(&bogus_field).unwrap_err();
    assert!(errors.iter().any(|e| e.contains("bogus_field")), "{errors:?}");

    // 2.167 renamed referenced_tweets; in 2.159 the DM expansion `referenced_posts.id` does not exist.
    let renamed = RecordedRequest::new("GET", "/2/dm_events").query("expansions", "referenced_posts.id");
    assert!(api.validate(&renamed).is_err());

    let undeclared = RecordedRequest::new("GET", "/2/dm_events").query("since_id", "1");
    assert!(api.validate(&undeclared).unwrap_err()[0].contains("not declared"));

    let too_many = RecordedRequest::new("GET", "/2/users/123/mentions").query("max_results", "500");
    assert!(api.validate(&too_many).unwrap_err()[0].contains("maximum"));

    let short_token = RecordedRequest::new("GET", "/2/dm_events").query("pagination_token", "abc");
    assert!(api.validate(&short_token).is_err(), "DM tokens are at least 16 characters");

    let bad_user = RecordedRequest::new("GET", "/2/users/not-a-number/mentions");
    assert!(api.validate(&bad_user).unwrap_err()[0].contains("does not match"));

    let extra_body = RecordedRequest::new("POST", "/2/tweets")
        .body(json!({"text": "hi", "reply": {"in_reply_to_tweet_id": "1", "bogus": true}}));
    let errors = api.validate(&extra_body).unwrap_err();
    assert!(errors.iter().any(|e| e.contains("bogus")), "{errors:?}");

    let no_reply_target = RecordedRequest::new("POST", "/2/tweets").body(json!({"text": "hi", "reply": {}}));
    assert!(api.validate(&no_reply_target).unwrap_err()[0].contains("in_reply_to_tweet_id"));

    let empty_dm = RecordedRequest::new("POST", "/2/dm_conversations/with/123/messages").body(json!({}));
    assert!(api.validate(&empty_dm).is_err(), "a DM needs text or attachments");

    let missing_body = RecordedRequest::new("POST", "/2/tweets");
    assert!(api.validate(&missing_body).unwrap_err()[0].contains("required"));

    let unknown = RecordedRequest::new("GET", "/2/nothing_here");
    assert!(api.validate(&unknown).is_err());
}

#[test]
fn the_validator_takes_any_parsed_document() {
    // A hand-written document (as a YAML file would give once parsed into a Value).
    let api = OpenApi::from_value(json!({
        "openapi": "3.0.0",
        "info": {"version": "1"},
        "paths": {"/things/{id}": {"put": {
            "parameters": [{"name": "id", "in": "path", "required": true,
                            "schema": {"type": "string", "pattern": "^[0-9]+$"}}],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {
                "$ref": "#/components/schemas/Thing"}}}}
        }}},
        "components": {"schemas": {"Thing": {"allOf": [
            {"type": "object", "required": ["name"], "properties": {
                "name": {"type": "string", "minLength": 2},
                "kind": {"type": "string", "enum": ["a", "b"]}}}
        ]}}}
    }));
    assert!(
        api.validate(&RecordedRequest::new("PUT", "/things/12").body(json!({"name": "ok", "kind": "a"})))
            .is_ok()
    );
    let errors = api
        .validate(&RecordedRequest::new("PUT", "/things/12").body(json!({"name": "x", "kind": "c"})))
        .unwrap_err();
    assert_eq!(errors.len(), 2, "{errors:?}");
}
