//! The port methods the continuous bridge relies on, on the real adapters against the
//! simulators: one-agent reads (one request each), canonical spellings and vocabularies.

#![cfg(feature = "sim")]

use axum::http::Method;
use deskbridge::aircall::{AircallConfig, AircallProvider};
use deskbridge::http::RateLimit;
use deskbridge::ports::StatusProvider;
use deskbridge::sim::aircall::{AircallAvailabilityStatus, AircallSim, AircallSimConfig, AircallUserSeed};
use deskbridge::sim::zendesk::{
    ZendeskAgentSeed, ZendeskChannels, ZendeskGroupSeed, ZendeskSeedStatus, ZendeskSim, ZendeskSimConfig,
    ZendeskUnifiedStatus,
};
use deskbridge::status::{Channel, NativeStatus};
use deskbridge::zendesk::{ZendeskAuth, ZendeskConfig, ZendeskProvider};

fn names(values: Option<Vec<NativeStatus>>) -> Vec<String> {
    values.unwrap_or_default().into_iter().map(|v| v.as_str().to_owned()).collect()
}

#[tokio::test]
async fn aircall_reads_one_user_with_one_request() {
    let sim = AircallSim::start(AircallSimConfig::new(vec![
        AircallUserSeed::new(1, "Ana", "ana@example.com").with_status(AircallAvailabilityStatus::Available),
        AircallUserSeed::new(2, "Ben", "ben@example.com"),
    ]))
    .await
    .unwrap();
    let provider = AircallProvider::from_config(
        AircallConfig::basic(AircallSimConfig::DEFAULT_API_ID, AircallSimConfig::DEFAULT_API_TOKEN)
            .with_base_url(sim.base_url().as_str())
            .unwrap()
            .with_rate_limit(RateLimit::unlimited()),
    )
    .unwrap();
    sim.server().clear_log();
    assert_eq!(provider.agent_status("1", Channel::Voice).await.unwrap(), Some("available".into()));
    let requests = sim.server().requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!((requests[0].method.clone(), requests[0].path.as_str()), (Method::GET, "/v2/users/1"));
    // A user Aircall no longer has has no status; other channels are not Aircall's.
    assert_eq!(provider.agent_status("999", Channel::Voice).await.unwrap(), None);
    assert_eq!(provider.agent_status("1", Channel::Chat).await.unwrap(), None);
    assert!(provider.agent_status("not-a-number", Channel::Voice).await.is_err());
    assert_eq!(
        names(provider.writable_statuses(Channel::Voice).await.unwrap()),
        ["available", "unavailable"]
    );
    assert_eq!(provider.writable_statuses(Channel::Chat).await.unwrap(), Some(Vec::new()));
    assert_eq!(
        provider.canonical_status(Channel::Voice, &"available".into()),
        NativeStatus::from("available")
    );
}

async fn zendesk(omnichannel: bool) -> (ZendeskSim, ZendeskProvider) {
    let meeting = ZendeskUnifiedStatus::custom(9001, "In a meeting", ZendeskChannels::all("away"));
    let sim = ZendeskSim::start(
        ZendeskSimConfig::new(
            vec![
                ZendeskAgentSeed::new(101, "Ana", "ana@example.com").with_status(ZendeskSeedStatus::Online),
                ZendeskAgentSeed::new(102, "Ben", "ben@example.com").with_status(ZendeskSeedStatus::Offline),
            ],
            vec![ZendeskGroupSeed::new(1, "Support")],
        )
        .custom_statuses(vec![meeting])
        .omnichannel_routing(omnichannel),
    )
    .await
    .unwrap();
    let provider = ZendeskProvider::from_config(
        ZendeskConfig::for_base_url(
            sim.base_url(),
            ZendeskAuth::api_token(ZendeskSimConfig::DEFAULT_EMAIL, ZendeskSimConfig::DEFAULT_API_TOKEN),
        )
        .with_rate_limit(RateLimit::unlimited()),
    )
    .unwrap();
    (sim, provider)
}

#[tokio::test]
async fn zendesk_reads_one_agent_and_knows_its_catalog() {
    let (sim, provider) = zendesk(true).await;
    // The account mode is learnt once (a listing); afterwards one agent costs one request.
    provider.list_agents().await.unwrap();
    sim.server().clear_log();
    assert_eq!(provider.agent_status("101", Channel::Voice).await.unwrap(), Some("online".into()));
    let requests = sim.server().requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0].path, "/api/v2/agent_availabilities/101");
    assert_eq!(provider.agent_status("102", Channel::Voice).await.unwrap(), Some("offline".into()));
    // The catalog: the four defaults in the API's snake case, and the custom status.
    let vocabulary = names(provider.writable_statuses(Channel::Voice).await.unwrap());
    for name in ["online", "away", "transfers_only", "offline", "In a meeting"] {
        assert!(vocabulary.iter().any(|v| v == name), "{name} in {vocabulary:?}");
    }
    assert_eq!(provider.writable_statuses(Channel::Chat).await.unwrap(), Some(Vec::new()));
    // One spelling: what the client resolves loosely is compared and written canonically.
    for (given, canonical) in
        [("Online", "online"), ("Transfers only", "transfers_only"), ("In a meeting", "In a meeting")]
    {
        assert_eq!(provider.canonical_status(Channel::Voice, &given.into()), NativeStatus::from(canonical));
    }
}

#[tokio::test]
async fn zendesk_talk_mode_reads_one_agent_and_has_four_states() {
    let (sim, provider) = zendesk(false).await;
    let listed = provider.list_agents().await.unwrap();
    let ana = listed.iter().find(|a| a.id == "101").and_then(|a| a.status(Channel::Voice)).cloned();
    assert!(ana.is_some());
    sim.server().clear_log();
    assert_eq!(
        provider.agent_status("101", Channel::Voice).await.unwrap(),
        ana,
        "the same as a listing reads"
    );
    let requests = sim.server().requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert!(
        requests[0].path.ends_with("/availabilities/101.json") || requests[0].path.contains("101"),
        "{requests:?}"
    );
    assert_eq!(
        names(provider.writable_statuses(Channel::Voice).await.unwrap()),
        ["online", "away", "transfers_only", "offline"]
    );
}
