//! The `custom_provider` example runs: the in-house presence system ends up holding what
//! the Zendesk simulator's agents hold, mapped through its own status table.

#[allow(dead_code)]
#[path = "../../examples/custom_provider.rs"]
mod custom_provider;

#[tokio::test]
async fn an_in_house_provider_is_synced_from_zendesk_through_a_decorated_store() {
    let run = tokio::time::timeout(std::time::Duration::from_secs(60), custom_provider::run());
    let table = run.await.expect("the bridge brought both agents in step within a minute").unwrap();
    let expected = vec![("agent1@example.com", "available"), ("agent2@example.com", "off")];
    assert_eq!(table.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect::<Vec<_>>(), expected);
}
