//! `FileStore` against the shared conformance suite, plus durability: reopening, corrupt
//! files, and a crash that leaves a temporary file behind.

use std::sync::Arc;

use deskbridge::Error;
use deskbridge::ports::StateStore;
use deskbridge::store::{FileStore, StateStoreExt};
use serde_json::json;

store_conformance_tests!(async {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(dir.path().join("state.json")).await.unwrap();
    (Arc::new(store) as Arc<dyn StateStore>, dir)
});

/// After concurrent use through several checks, a fresh `open` reads exactly the state
/// held in memory.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_file_holds_exactly_what_memory_holds_after_concurrent_use() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let store = FileStore::open(&path).await.unwrap();
    let shared: Arc<dyn StateStore> = Arc::new(store.clone());
    deskbridge::test_util::store_conformance::concurrent_compare_and_set_increments_lose_nothing(
        Arc::clone(&shared),
        "a",
    )
    .await;
    deskbridge::test_util::store_conformance::concurrent_insert_if_absent_has_one_winner(
        Arc::clone(&shared),
        "b",
    )
    .await;
    deskbridge::test_util::store_conformance::scan_prefix_returns_matching_keys_in_order(shared, "c").await;
    let reopened = FileStore::open(&path).await.unwrap();
    assert_eq!(reopened.snapshot().await, store.snapshot().await);
    assert_eq!(reopened.get("a/counter").await.unwrap(), Some(json!(80)));
}

#[tokio::test]
async fn state_survives_reopening_and_parent_dirs_are_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deep/er/state.json");
    let store = FileStore::open(&path).await.unwrap();
    assert!(store.scan_prefix("").await.unwrap().is_empty());
    assert!(!path.exists(), "nothing is written before the first change");
    store.put_as("x/cursor", &"1849").await.unwrap();
    store.put("sync/ana", json!({"chat": "online"})).await.unwrap();
    store.put("gone", json!(1)).await.unwrap();
    store.delete("gone").await.unwrap();
    drop(store);

    let reopened = FileStore::open(&path).await.unwrap();
    assert_eq!(reopened.get_as::<String>("x/cursor").await.unwrap().as_deref(), Some("1849"));
    assert_eq!(reopened.get("sync/ana").await.unwrap(), Some(json!({"chat": "online"})));
    assert_eq!(reopened.get("gone").await.unwrap(), None);
    let text = std::fs::read_to_string(&path).unwrap();
    let file: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(file["version"], json!(1));
    assert_eq!(file["entries"]["x/cursor"], json!("1849"));
}

#[cfg(unix)]
#[tokio::test]
async fn the_file_is_private_to_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(dir.path().join("state.json")).await.unwrap();
    store.put("k", json!(1)).await.unwrap();
    let mode = std::fs::metadata(store.path()).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

async fn open_error(contents: &[u8]) -> (Error, std::path::PathBuf, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    std::fs::write(&path, contents).unwrap();
    let err = FileStore::open(&path).await.unwrap_err();
    (err, path, dir)
}

#[tokio::test]
async fn a_corrupt_file_is_an_error_naming_it_and_is_left_untouched() {
    let cases: [&[u8]; 6] = [
        b"{\"version\": 1, \"entries\": {\"a\": 1",
        b"",
        b"not json at all",
        b"[1, 2, 3]",
        b"{\"entries\": {}}",
        b"{\"version\": 1, \"entries\": {\"a\": 1}, \"extra\": true}",
    ];
    for contents in cases {
        let (err, path, _dir) = open_error(contents).await;
        assert!(matches!(err, Error::Store { .. }), "{err:?}");
        let message = err.to_string();
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains("left untouched"), "{message}");
        assert_eq!(std::fs::read(&path).unwrap(), contents, "the file must not be rewritten");
    }
}

#[tokio::test]
async fn a_file_of_another_format_version_is_refused() {
    let (err, path, _dir) = open_error(br#"{"version": 2, "entries": {}}"#).await;
    let message = err.to_string();
    assert!(
        message.contains("format version 2") && message.contains(&path.display().to_string()),
        "{message}"
    );
}

#[tokio::test]
async fn a_path_that_is_a_directory_is_a_store_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("state.json")).unwrap();
    let err = FileStore::open(dir.path().join("state.json")).await.unwrap_err();
    assert!(matches!(err, Error::Store { source: Some(_), .. }), "{err:?}");
}

/// What a crash in the middle of a write leaves behind: the state file from the last
/// completed write, and a temporary file that was being written (here truncated JSON,
/// then arbitrary bytes). The previous state must be intact and readable.
#[tokio::test]
async fn a_leftover_temp_file_from_a_crash_leaves_the_previous_state_readable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let store = FileStore::open(&path).await.unwrap();
    store.put("inbox/cursor", json!("100")).await.unwrap();
    store.put("inbox/processed/1", json!(true)).await.unwrap();
    let before = std::fs::read(&path).unwrap();
    let temp_path = store.temp_path().to_path_buf();
    assert_eq!(temp_path.parent(), path.parent(), "the temp file must be on the same file system");
    drop(store);

    for garbage in [&before[..before.len() / 2], &[0xff, 0x00, 0x13, 0x37][..]] {
        std::fs::write(&temp_path, garbage).unwrap();
        let reopened = FileStore::open(&path).await.unwrap();
        assert_eq!(reopened.get("inbox/cursor").await.unwrap(), Some(json!("100")));
        assert_eq!(reopened.scan_prefix("inbox/processed/").await.unwrap().len(), 1);
        assert!(!temp_path.exists(), "open removes the leftover temp file");
        // And writing again works and replaces the state file as a whole.
        std::fs::write(&temp_path, garbage).unwrap();
        reopened.put("inbox/cursor", json!("101")).await.unwrap();
        assert!(!temp_path.exists(), "the temp file is renamed away");
        let again = FileStore::open(&path).await.unwrap();
        assert_eq!(again.get("inbox/cursor").await.unwrap(), Some(json!("101")));
        reopened.put("inbox/cursor", json!("100")).await.unwrap();
    }
}

#[tokio::test]
async fn a_failed_write_is_a_store_error_and_changes_nothing() {
    // Make the temp file path unwritable by putting a directory there.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let store = FileStore::open(&path).await.unwrap();
    store.put("k", json!(1)).await.unwrap();
    std::fs::create_dir(store.temp_path()).unwrap();
    let err = store.put("k", json!(2)).await.unwrap_err();
    assert!(matches!(err, Error::Store { source: Some(_), .. }), "{err:?}");
    assert!(err.to_string().contains("\"k\""), "{err}");
    assert_eq!(store.get("k").await.unwrap(), Some(json!(1)));
    assert!(!store.insert_if_absent("k", json!(3)).await.unwrap());
    std::fs::remove_dir(store.temp_path()).unwrap();
    store.put("k", json!(2)).await.unwrap();
    assert_eq!(FileStore::open(&path).await.unwrap().get("k").await.unwrap(), Some(json!(2)));
}
