//! `MemoryStore` against the shared state store conformance suite, plus its own behaviour.

use std::sync::Arc;

use deskbridge::ports::StateStore;
use deskbridge::store::MemoryStore;
use serde_json::json;

store_conformance_tests!(async { (Arc::new(MemoryStore::new()) as Arc<dyn StateStore>, ()) });

#[tokio::test]
async fn clones_share_one_state() {
    let store = MemoryStore::new();
    let other = store.clone();
    store.put("a", json!(1)).await.unwrap();
    assert_eq!(other.get("a").await.unwrap(), Some(json!(1)));
    assert_eq!(other.len(), 1);
    other.delete("a").await.unwrap();
    assert!(store.is_empty());
}

#[tokio::test]
async fn starts_with_given_entries() {
    let store = MemoryStore::with_entries([("b".to_owned(), json!(2)), ("a".to_owned(), json!(1))]);
    assert_eq!(
        store.snapshot().into_iter().collect::<Vec<_>>(),
        vec![("a".into(), json!(1)), ("b".into(), json!(2))]
    );
}
