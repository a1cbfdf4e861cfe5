//! The Zendesk adapter against the Zendesk simulator, with omnichannel routing on and off.
#![cfg(all(feature = "zendesk", feature = "sim"))]

use deskbridge::Error;
use deskbridge::http::Method;
use deskbridge::ports::StatusProvider;
use deskbridge::sim::zendesk::{
    REASON_PUBLIC_API, ZendeskAgentSeed, ZendeskChannels, ZendeskGroupSeed, ZendeskRole, ZendeskSeedStatus,
    ZendeskSim, ZendeskSimConfig, ZendeskUnifiedStatus, webhook_delivery,
};
use deskbridge::status::{Channel, NativeStatus};
use deskbridge::zendesk::WebhookVerifier;
use deskbridge::zendesk::{
    AccountMode, CustomStatusReading, ZendeskAuth, ZendeskClient, ZendeskConfig, ZendeskProvider,
};

const ADA: i64 = 16_765_840_571_292;
const BOB: i64 = 16_765_840_571_293;
const EVE: i64 = 16_765_840_571_999;
const SUPPORT: i64 = 360_000_000_001;
const SALES: i64 = 360_000_000_002;
const IN_A_MEETING: i64 = 1_260_812_345_678;

async fn sim(routing: bool) -> ZendeskSim {
    let agents = vec![
        ZendeskAgentSeed::new(ADA, "Ada", "ada@example.com")
            .with_groups(vec![SUPPORT, SALES])
            .with_status(ZendeskSeedStatus::Online),
        ZendeskAgentSeed::new(BOB, "Bob", "bob@example.com")
            .with_role(ZendeskRole::Admin)
            .with_groups(vec![SALES])
            .with_status(ZendeskSeedStatus::Custom(IN_A_MEETING))
            .with_talk_state("transfers_only"),
        ZendeskAgentSeed::new(EVE, "Eve", "eve@example.com").with_role(ZendeskRole::EndUser),
    ];
    let groups = vec![ZendeskGroupSeed::new(SUPPORT, "Support"), ZendeskGroupSeed::new(SALES, "Sales")];
    let meeting = ZendeskUnifiedStatus::custom(
        IN_A_MEETING,
        "In a meeting",
        ZendeskChannels { messaging: "offline".into(), support: "online".into(), talk: "away".into() },
    );
    let config =
        ZendeskSimConfig::new(agents, groups).custom_statuses(vec![meeting]).omnichannel_routing(routing);
    ZendeskSim::start(config).await.unwrap()
}

fn config(sim: &ZendeskSim) -> ZendeskConfig {
    ZendeskConfig::for_base_url(
        sim.base_url(),
        ZendeskAuth::api_token(ZendeskSimConfig::DEFAULT_EMAIL, ZendeskSimConfig::DEFAULT_API_TOKEN),
    )
}

fn provider(sim: &ZendeskSim) -> ZendeskProvider {
    ZendeskProvider::from_config(config(sim)).unwrap()
}

fn voice(agent: &deskbridge::status::Agent) -> Option<&str> {
    agent.status(Channel::Voice).map(NativeStatus::as_str)
}

#[tokio::test]
async fn routing_on_lists_agents_with_groups_and_unified_names_in_few_requests() {
    let sim = sim(true).await;
    let zendesk = provider(&sim);
    assert_eq!(zendesk.name(), "zendesk");
    let agents = zendesk.list_agents().await.unwrap();
    assert_eq!(agents.len(), 2, "end users are not agents");
    let ada = agents.iter().find(|a| a.id == ADA.to_string()).unwrap();
    assert_eq!(ada.email.as_deref(), Some("ada@example.com"));
    assert_eq!(ada.groups, vec!["Sales".to_owned(), "Support".to_owned()]);
    assert_eq!(voice(ada), Some("online"));
    let bob = agents.iter().find(|a| a.id == BOB.to_string()).unwrap();
    assert_eq!(voice(bob), Some("In a meeting"));
    // users + groups + memberships + settings + one availability page; no per-agent reads.
    assert_eq!(
        sim.server().count(),
        5,
        "{:?}",
        sim.server().requests().iter().map(|r| r.path.clone()).collect::<Vec<_>>()
    );
    assert!(sim.server().requests_matching(Method::GET, "/api/v2/channels/voice").is_empty());

    let groups = zendesk.list_groups().await.unwrap();
    assert_eq!(groups.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(), vec!["Support", "Sales"]);
}

#[tokio::test]
async fn routing_on_custom_statuses_can_read_by_their_talk_value() {
    let sim = sim(true).await;
    let zendesk = ZendeskProvider::from_config(
        config(&sim).with_custom_status_reading(CustomStatusReading::ByTalkChannel),
    )
    .unwrap();
    let agents = zendesk.list_agents().await.unwrap();
    let bob = agents.iter().find(|a| a.id == BOB.to_string()).unwrap();
    assert_eq!(voice(bob), Some("away"));
    let ada = agents.iter().find(|a| a.id == ADA.to_string()).unwrap();
    assert_eq!(voice(ada), Some("online"), "defaults keep their name");
}

#[tokio::test]
async fn routing_on_writes_go_to_the_unified_api_by_name() {
    let sim = sim(true).await;
    let zendesk = provider(&sim);
    zendesk.set_status(&ADA.to_string(), Channel::Voice, &NativeStatus::new("In a meeting")).await.unwrap();
    let status = sim.agent_status(ADA).unwrap();
    assert_eq!(
        (status.id, status.name.as_str(), status.reason.as_str()),
        (IN_A_MEETING, "In a meeting", REASON_PUBLIC_API)
    );
    zendesk.set_status(&ADA.to_string(), Channel::Voice, &NativeStatus::new("away")).await.unwrap();
    assert_eq!(sim.agent_status(ADA).unwrap().name, "away");
    // Settings said routing is on: no Talk PUT was ever tried.
    assert!(sim.server().requests_matching(Method::PUT, "/api/v2/channels/voice").is_empty());
    assert_eq!(zendesk.client().cached_mode(), Some(AccountMode::Unified));

    let err =
        zendesk.set_status(&ADA.to_string(), Channel::Voice, &NativeStatus::new("Lunch")).await.unwrap_err();
    assert!(
        matches!(err, Error::InvalidInput { .. }) && err.to_string().contains("\"In a meeting\""),
        "{err}"
    );
    let err =
        zendesk.set_status(&ADA.to_string(), Channel::Chat, &NativeStatus::new("online")).await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }));
    let err =
        zendesk.set_status("not-a-number", Channel::Voice, &NativeStatus::new("online")).await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }));
}

#[tokio::test]
async fn routing_off_reads_talk_states_per_agent_and_writes_the_talk_api() {
    let sim = sim(false).await;
    let zendesk = provider(&sim);
    let agents = zendesk.list_agents().await.unwrap();
    let bob = agents.iter().find(|a| a.id == BOB.to_string()).unwrap();
    assert_eq!(voice(bob), Some("transfers_only"));
    let ada = agents.iter().find(|a| a.id == ADA.to_string()).unwrap();
    assert_eq!(voice(ada), Some("offline"));
    assert_eq!(sim.server().requests_matching(Method::GET, "/api/v2/channels/voice/availabilities").len(), 2);

    zendesk.set_status(&ADA.to_string(), Channel::Voice, &NativeStatus::new("online")).await.unwrap();
    assert_eq!(sim.talk_availability(ADA).unwrap().agent_state, "online");
    assert!(sim.server().requests_matching(Method::PUT, "/api/v2/agent_availabilities").is_empty());
    let err = zendesk
        .set_status(&ADA.to_string(), Channel::Voice, &NativeStatus::new("In a meeting"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err}");
}

#[tokio::test]
async fn a_mode_switch_at_runtime_is_followed() {
    let sim = sim(false).await;
    let client = ZendeskClient::new(config(&sim)).unwrap();
    client.set_voice_status(ADA, "away").await.unwrap();
    assert_eq!(client.cached_mode(), Some(AccountMode::Talk));
    // An admin turns omnichannel routing on: the Talk PUT now answers 400.
    sim.set_omnichannel_routing(true);
    client.set_voice_status(ADA, "online").await.unwrap();
    assert_eq!(client.cached_mode(), Some(AccountMode::Unified));
    assert_eq!(sim.agent_status(ADA).unwrap().name, "online");
}

#[tokio::test]
async fn simulator_webhooks_verify_and_parse() {
    let sim = sim(true).await;
    provider(&sim).set_status(&ADA.to_string(), Channel::Voice, &NativeStatus::new("away")).await.unwrap();
    let payload = sim.unified_state_changed_event(ADA).unwrap();
    let timestamp = "2024-01-15T09:00:00Z";
    let delivery = webhook_delivery(&payload, "whsec", timestamp, sim.account_id(), "01WH", "1");
    let verifier = WebhookVerifier::new("whsec").unwrap();
    let now =
        chrono::DateTime::parse_from_rfc3339("2024-01-15T09:01:00Z").unwrap().with_timezone(&chrono::Utc);
    let event = verifier
        .verify_and_parse(
            delivery.header("x-zendesk-webhook-signature"),
            delivery.header("x-zendesk-webhook-signature-timestamp"),
            &delivery.body,
            now,
        )
        .unwrap();
    assert_eq!(event.agent_id, Some(ADA));
    assert!(event.is_own_change());
}
