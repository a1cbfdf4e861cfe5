//! Conformance with X's own OpenAPI documents, v2.159 and the current production v2.167:
//! every request deskbridge's X client sends, recorded by the X simulator, validates
//! against the document whose vocabulary the client uses; and the validator itself
//! rejects requests that break it.
#![cfg(feature = "sim")]

use crate::common;

use chrono::{TimeZone, Utc};
use common::openapi::{OpenApi, RecordedRequest};
use deskbridge::ports::MessageSource;
use deskbridge::sim::twitter::{XSim, sample};
use deskbridge::twitter::{XConfig, XFieldSet, XFields, XSource, XSourceOptions};
use serde_json::{Value, json};

/// X API v2.159: the document docs.x.com's reference pages still follow.
const SPEC_V2_159: &str = "x-api-v2.v2_159.openapi.json";
/// X API v2.167: the current production document (`post.fields`, `referenced_posts`).
const SPEC_V2_167: &str = "x-api-v2.openapi.json";

/// A vendored X document (`tests/specs/`, or `$DESKBRIDGE_SPECS_DIR`), checked to be the
/// expected version.
fn spec_file(file: &str, version: &str) -> OpenApi {
    let path = common::specs::spec_path(file);
    let api = OpenApi::load_json(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(api.version(), Some(version), "{} is not the v{version} document", path.display());
    api
}

fn spec() -> OpenApi {
    spec_file(SPEC_V2_159, "2.159")
}

#[tokio::test]
async fn every_request_the_client_sends_conforms_to_the_v2_159_spec() {
    every_request_conforms(spec(), XFieldSet::V2_159).await;
}

#[tokio::test]
async fn every_request_the_client_sends_conforms_to_the_v2_167_spec() {
    every_request_conforms(spec_file(SPEC_V2_167, "2.167"), XFieldSet::V2_167).await;
}

/// Drive every call against a simulator that enforces `set`'s vocabulary, with a client
/// fixed on it, and validate each recorded request against `api`.
async fn every_request_conforms(api: OpenApi, set: XFieldSet) {
    let sim = XSim::start_with_sample().await.unwrap();
    sim.set_field_set(set);
    // Enough mentions for two pages of 5.
    for minute in 0..4 {
        let at = Utc.with_ymd_and_hms(2024, 5, 6, 10, minute, 0).unwrap();
        sim.add_post(sample::ALICE_ID, &format!("@acme_support question {minute}"), None, at, vec![])
            .unwrap();
    }
    let config = XConfig::with_user_token(sample::OWN_ID, sim.token())
        .with_base_url(sim.base_url())
        .unwrap()
        .with_fields(XFields::Fixed(set));
    let source =
        XSource::from_config(config).unwrap().with_options(XSourceOptions { page_size: 2, max_pages: 10 });
    let first = source.fetch(&Value::Null).await.unwrap();
    // Authors and reply targets come through in both vocabularies.
    assert!(first.messages.iter().all(|m| !m.author_id.is_empty()));
    assert!(
        first.messages.iter().any(|m| m.in_reply_to.is_some()),
        "a reply's target is read under {set:?}: {:#?}",
        first.messages
    );
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
        match api.validate(&RecordedRequest::from(request)) {
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

#[test]
fn the_v2_167_document_refuses_the_v2_159_vocabulary() {
    let api = spec_file(SPEC_V2_167, "2.167");
    let old_dm = RecordedRequest::new("GET", "/2/dm_events").query("dm_event.fields", "id,text,sender_id");
    let errors = api.validate(&old_dm).unwrap_err();
    assert!(errors.iter().any(|e| e.contains("sender_id")), "{errors:?}");
    let old_mentions =
        RecordedRequest::new("GET", "/2/users/123/mentions").query("tweet.fields", "author_id");
    assert!(api.validate(&old_mentions).unwrap_err()[0].contains("not declared"));
    let new_mentions = RecordedRequest::new("GET", "/2/users/123/mentions")
        .query("post.fields", "id,text")
        .query("expansions", "author_id,referenced_posts");
    assert_eq!(api.validate(&new_mentions), Ok("GET /2/users/{id}/mentions".to_owned()));
    // And the other way round: v2.159 does not know post.fields.
    let v159 = spec();
    assert!(v159.validate(&new_mentions).is_err());
}

/// The day X switches vocabulary under a running client: the default `XFields::Auto`
/// client gets one 400, retries with the other document's names, keeps them, and still
/// reads authors and reply targets. Every request after the switch conforms to v2.167.
#[tokio::test]
async fn an_auto_client_follows_x_from_v2_159_to_v2_167() {
    let v2_167 = spec_file(SPEC_V2_167, "2.167");
    let sim = XSim::start_with_sample().await.unwrap();
    let config = XConfig::with_user_token(sample::OWN_ID, sim.token()).with_base_url(sim.base_url()).unwrap();
    let client = deskbridge::twitter::XClient::new(config).unwrap();
    assert_eq!(client.field_set(), XFieldSet::V2_159);
    client.mentions_page(sample::OWN_ID, None, None, 10).await.unwrap();
    assert_eq!(client.field_set(), XFieldSet::V2_159, "no switch while X accepts the names");

    sim.set_field_set(XFieldSet::V2_167);
    let before = sim.server().requests().len();
    let mentions = client.mentions_page(sample::OWN_ID, None, None, 10).await.unwrap();
    assert_eq!(client.field_set(), XFieldSet::V2_167);
    assert!(mentions.data.iter().all(|t| t.author_id.is_some()));
    assert!(mentions.data.iter().any(|t| t.replied_to().is_some()));
    let dms = client.dm_events_page(None, 50).await.unwrap();
    assert!(!dms.data.is_empty() && dms.data.iter().all(|d| d.sender_id.is_some()));

    let log = sim.server().requests();
    let after: Vec<_> = log[before..].iter().collect();
    assert_eq!(after.len(), 3, "one refused request, its retry, then the DM page: {after:#?}");
    assert_eq!(after[0].status, Some(400));
    for request in &after[1..] {
        assert_eq!(request.status, Some(200));
        if let Err(errors) = v2_167.validate(&RecordedRequest::from(*request)) {
            panic!("{} {} breaks v2.167: {errors:?}", request.method, request.path);
        }
    }
}

/// The webhook set-up requests (register, list, subscribe) conform to both documents.
#[tokio::test]
async fn the_webhook_set_up_requests_conform_to_both_documents() {
    use deskbridge::sim::twitter::XSimConfig;
    use deskbridge::twitter::XWebhookSetup;
    for api in [spec(), spec_file(SPEC_V2_167, "2.167")] {
        let sim = XSim::start_with_sample().await.unwrap();
        let config =
            XConfig::with_user_token(sample::OWN_ID, sim.token()).with_base_url(sim.base_url()).unwrap();
        let setup = XWebhookSetup::new(deskbridge::twitter::XClient::new(config.clone()).unwrap())
            .with_app_bearer(&config, XSimConfig::DEFAULT_APP_TOKEN)
            .unwrap();
        let first = setup.ensure("https://bridge.example.com/webhooks/x").await.unwrap();
        let again = setup.ensure("https://bridge.example.com/webhooks/x").await.unwrap();
        assert!(first.created && first.subscribed_now && !again.created && !again.subscribed_now);
        let log = sim.server().requests();
        let mut operations = std::collections::BTreeSet::new();
        for request in &log {
            assert_eq!(request.status, Some(200), "{request:?}");
            match api.validate(&RecordedRequest::from(request)) {
                Ok(name) => {
                    operations.insert(name);
                }
                Err(errors) => {
                    panic!("{} {} breaks v{:?}: {errors:?}", request.method, request.path, api.version())
                }
            }
        }
        assert_eq!(operations.len(), 4, "{operations:?}");
    }
}

/// The DM media download uses the v2.167 document's path (v2.159 has none; X's DM media
/// URLs predate both).
#[tokio::test]
async fn the_dm_media_download_conforms_to_the_v2_167_document() {
    let api = spec_file(SPEC_V2_167, "2.167");
    let sim = XSim::start_with_sample().await.unwrap();
    let dm = sim.dm_events().into_iter().find(|d| !d.media.is_empty()).unwrap();
    let media_id = dm.media[0].media_key.rsplit('_').next().unwrap().to_owned();
    let client = deskbridge::twitter::XClient::new(
        XConfig::with_user_token(sample::OWN_ID, sim.token()).with_base_url(sim.base_url()).unwrap(),
    )
    .unwrap();
    let url = format!("https://ton.twitter.com/1.1/ton/data/dm/{}/{media_id}/f.jpg", dm.id);
    client.download_dm_media(&dm.id, &url).await.unwrap();
    let log = sim.server().requests();
    assert_eq!(log.len(), 1);
    assert_eq!(
        api.validate(&RecordedRequest::from(&log[0])),
        Ok("GET /2/dm_conversations/media/{dm_id}/{media_id}/{resource_id}".to_owned())
    );
}
