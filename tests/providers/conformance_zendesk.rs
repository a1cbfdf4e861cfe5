//! Conformance with Zendesk's own OpenAPI document (the Support API `oas.yaml` vendored in
//! `tests/specs/`): the requests deskbridge's Zendesk client sends for users, groups and
//! group memberships, recorded by the Zendesk simulator, validate against it.
//!
//! The document does not cover the agent-availability, unified-status or Talk endpoints
//! (see the Zendesk reference, section 12), so those are covered by the wiremock contract
//! tests only. Zendesk documents cursor pagination (`page[size]`, `page[after]`,
//! `page[before]`) for every list endpoint in its pagination guide rather than per
//! operation, so those three are accepted everywhere.
#![cfg(all(feature = "sim", feature = "zendesk"))]

use crate::common;

use common::openapi::RecordedRequest;
use deskbridge::http::RateLimit;
use deskbridge::ports::StatusProvider;
use deskbridge::sim::zendesk::{ZendeskAgentSeed, ZendeskGroupSeed, ZendeskSim, ZendeskSimConfig};
use deskbridge::zendesk::{ZendeskAuth, ZendeskConfig, ZendeskProvider};
use reqwest::Method;

#[tokio::test]
async fn users_groups_and_memberships_requests_validate_against_the_zendesk_spec() {
    let api = common::openapi::zendesk_support();
    // 230 agents in 3 groups: three pages of users, so the cursor parameters are exercised.
    let groups = ZendeskGroupSeed::synthetic(3);
    let group_ids: Vec<i64> = groups.iter().map(|g| g.id).collect();
    let sim = ZendeskSim::start(ZendeskSimConfig::new(ZendeskAgentSeed::synthetic(230, &group_ids), groups))
        .await
        .unwrap();
    let config = ZendeskConfig::for_base_url(
        sim.base_url(),
        ZendeskAuth::api_token(ZendeskSimConfig::DEFAULT_EMAIL, ZendeskSimConfig::DEFAULT_API_TOKEN),
    )
    .with_rate_limit(RateLimit::unlimited());
    let zendesk = ZendeskProvider::from_config(config).unwrap();
    let agents = zendesk.list_agents().await.unwrap();
    assert_eq!(agents.len(), 230);
    assert!(agents.iter().all(|a| !a.groups.is_empty()));

    let log = sim.server().requests();
    let mut checked = 0;
    for prefix in ["/api/v2/users", "/api/v2/groups", "/api/v2/group_memberships"] {
        for request in log.iter().filter(|r| r.method == Method::GET && r.path == prefix) {
            if let Err(problems) = api.validate(&RecordedRequest::from(request)) {
                panic!(
                    "{} {}?{} does not validate:\n  {}",
                    request.method,
                    request.path,
                    request.query.clone().unwrap_or_default(),
                    problems.join("\n  ")
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 5, "expected several recorded list requests, validated {checked}");
}

#[test]
fn the_validator_rejects_what_the_zendesk_spec_forbids() {
    let api = common::openapi::zendesk_support();
    let bad_role = RecordedRequest::new("GET", "/api/v2/users").query("role", "supervisor");
    assert!(api.validate(&bad_role).is_err(), "role is an enum: end-user, agent, admin");
    let undeclared = RecordedRequest::new("GET", "/api/v2/users").query("sort_by", "name");
    assert!(api.validate(&undeclared).is_err());
    let ok = RecordedRequest::new("GET", "/api/v2/users")
        .query("role[]", "agent")
        .query("role[]", "admin")
        .query("page[size]", "100");
    assert!(api.validate(&ok).is_ok(), "{:?}", api.validate(&ok));
}
