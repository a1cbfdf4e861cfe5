//! `SqliteStore` against the shared store and claim conformance suites (the claim suite
//! with two separate connections to one database file, as two processes would have),
//! plus what is its own: reopening, a killed process, batches, the one-time import of a
//! `FileStore` file, refusing files it must not touch, and `--state` specs.
#![cfg(feature = "sqlite")]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;

use deskbridge::Error;
use deskbridge::ports::{StateStore, WriteOp};
use deskbridge::store::{FileStore, SqliteDurability, SqliteOptions, SqliteStore, StateSpec, open_state};
use serde_json::{Value, json};

store_conformance_tests!(async {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("state.sqlite3")).await.unwrap();
    (Arc::new(store) as Arc<dyn StateStore>, dir)
});

mod claims {
    use super::*;

    claim_conformance_tests!(async {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.sqlite3");
        let a = SqliteStore::open(&path).await.unwrap();
        let b = SqliteStore::open(&path).await.unwrap();
        (Arc::new(a) as Arc<dyn StateStore>, Arc::new(b) as Arc<dyn StateStore>, dir)
    });
}

/// Two connections to one file (two processes, or two stores in one) lose no update.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_connections_to_one_file_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.sqlite3");
    let a: Arc<dyn StateStore> = Arc::new(SqliteStore::open(&path).await.unwrap());
    let b: Arc<dyn StateStore> = Arc::new(SqliteStore::open(&path).await.unwrap());
    let tasks: Vec<_> = [a, b]
        .into_iter()
        .flat_map(|store| (0..4).map(move |_| Arc::clone(&store)))
        .map(|store| {
            tokio::spawn(async move {
                for _ in 0..25 {
                    loop {
                        let current = store.get("counter").await.unwrap();
                        let next = json!(current.as_ref().and_then(Value::as_u64).unwrap_or(0) + 1);
                        if store.compare_and_set("counter", current.as_ref(), Some(next)).await.unwrap() {
                            break;
                        }
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let reopened = SqliteStore::open(&path).await.unwrap();
    assert_eq!(reopened.get("counter").await.unwrap(), Some(json!(200)));
}

#[tokio::test]
async fn state_survives_reopening_and_parent_dirs_are_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deep/er/state.sqlite3");
    let store =
        SqliteStore::open_with(SqliteOptions::new(&path).durability(SqliteDurability::Full)).await.unwrap();
    assert_eq!(store.durability(), SqliteDurability::Full);
    store.put("a/1", json!({"x": [1, 2]})).await.unwrap();
    store.put("a/2", json!(null)).await.unwrap();
    store.put("b", json!("gone")).await.unwrap();
    store.delete("b").await.unwrap();
    drop(store);
    let reopened = SqliteStore::open(&path).await.unwrap();
    assert_eq!(
        reopened.scan_prefix("").await.unwrap(),
        [("a/1".to_owned(), json!({"x": [1, 2]})), ("a/2".to_owned(), json!(null))]
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }
}

const CHILD_ENV: &str = "DESKBRIDGE_SQLITE_KILLED_CHILD";
const COMMITS_BEFORE_ABORT: usize = 300;

/// A process that aborts (no destructor, no checkpoint, no clean close) right after its
/// last call returned loses none of its commits: they are in the write-ahead log.
#[tokio::test(flavor = "multi_thread")]
async fn a_killed_process_loses_nothing_it_committed() {
    if let Ok(path) = std::env::var(CHILD_ENV) {
        let store = SqliteStore::open(&path).await.unwrap();
        for i in 0..COMMITS_BEFORE_ABORT {
            store.put(&format!("k/{i:04}"), json!({"n": i})).await.unwrap();
        }
        assert!(store.compare_and_set("k/0000", Some(&json!({"n": 0})), None).await.unwrap());
        std::process::abort();
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.sqlite3");
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            // The test's name in this binary: its module path without the crate.
            &format!(
                "{}::a_killed_process_loses_nothing_it_committed",
                module_path!().split_once("::").map_or("", |(_, module)| module)
            ),
            "--exact",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(!status.success(), "the child aborts: {status}");
    assert!(Path::new(&format!("{}-wal", path.display())).exists(), "the child left its log behind");
    let store = SqliteStore::open(&path).await.unwrap();
    let entries = store.scan_prefix("k/").await.unwrap();
    assert_eq!(entries.len(), COMMITS_BEFORE_ABORT - 1);
    assert_eq!(entries[0], ("k/0001".to_owned(), json!({"n": 1})));
    assert_eq!(entries.last().unwrap(), &(format!("k/{:04}", COMMITS_BEFORE_ABORT - 1), json!({"n": 299})));
}

#[tokio::test]
async fn a_batch_is_one_transaction_whose_ops_see_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("state.sqlite3")).await.unwrap();
    store.put("gone", json!(0)).await.unwrap();
    let applied = store
        .write_batch(vec![
            WriteOp::Put { key: "a".into(), value: json!(1) },
            WriteOp::CompareAndSet { key: "a".into(), expected: Some(json!(1)), new: Some(json!(2)) },
            WriteOp::CompareAndSet { key: "a".into(), expected: Some(json!(1)), new: Some(json!(3)) },
            WriteOp::CompareAndSet { key: "b".into(), expected: None, new: Some(json!("new")) },
            WriteOp::Delete { key: "gone".into() },
            WriteOp::CompareAndSet { key: "gone".into(), expected: None, new: None },
        ])
        .await
        .unwrap();
    assert_eq!(applied, [true, true, false, true, true, true]);
    assert_eq!(
        store.scan_prefix("").await.unwrap(),
        [("a".to_owned(), json!(2)), ("b".to_owned(), json!("new"))]
    );
    assert!(store.write_batch(Vec::new()).await.unwrap().is_empty());
}

#[tokio::test]
async fn the_provided_batch_applies_op_by_op_on_other_stores() {
    let store = deskbridge::store::MemoryStore::new();
    let applied = store
        .write_batch(vec![
            WriteOp::Put { key: "a".into(), value: json!(1) },
            WriteOp::CompareAndSet { key: "a".into(), expected: Some(json!(0)), new: Some(json!(2)) },
            WriteOp::CompareAndSet { key: "a".into(), expected: Some(json!(1)), new: None },
        ])
        .await
        .unwrap();
    assert_eq!(applied, [true, false, true]);
    assert!(store.scan_prefix("").await.unwrap().is_empty());
}

async fn write_file_store(path: &Path, entries: &[(&str, Value)]) {
    let store = FileStore::open(path).await.unwrap();
    for (key, value) in entries {
        store.put(key, value.clone()).await.unwrap();
    }
}

#[tokio::test]
async fn a_file_store_file_is_imported_once_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let json_path = dir.path().join("state.json");
    write_file_store(
        &json_path,
        &[("inbox/x/cursor", json!("42")), ("bridge/voice/agent/ana", json!({"a": 1}))],
    )
    .await;
    let before = std::fs::read(&json_path).unwrap();

    let db = dir.path().join("state.sqlite3");
    let options = || SqliteOptions::new(&db).import_file_store(&json_path);
    let store = SqliteStore::open_with(options()).await.unwrap();
    assert_eq!(store.imported_entries(), Some(2));
    assert_eq!(store.get("inbox/x/cursor").await.unwrap(), Some(json!("42")));
    assert_eq!(store.get("bridge/voice/agent/ana").await.unwrap(), Some(json!({"a": 1})));
    store.put("inbox/x/cursor", json!("43")).await.unwrap();
    store.delete("bridge/voice/agent/ana").await.unwrap();
    drop(store);

    // The old file changes afterwards (an older deskbridge still running on it): the
    // next open imports nothing, and the database keeps its own newer state.
    write_file_store(&json_path, &[("late", json!(true))]).await;
    let store = SqliteStore::open_with(options()).await.unwrap();
    assert_eq!(store.imported_entries(), None);
    assert_eq!(
        store.scan_prefix("").await.unwrap(),
        [("inbox/x/cursor".to_owned(), json!("43"))],
        "imported once, never again"
    );
    drop(store);

    // The import only read the file.
    let dir2 = tempfile::tempdir().unwrap();
    let json2 = dir2.path().join("state.json");
    std::fs::write(&json2, &before).unwrap();
    let store =
        SqliteStore::open_with(SqliteOptions::new(dir2.path().join("s.sqlite3")).import_file_store(&json2))
            .await
            .unwrap();
    assert_eq!(store.imported_entries(), Some(2));
    assert_eq!(std::fs::read(&json2).unwrap(), before);
}

#[tokio::test]
async fn the_import_keeps_what_the_database_already_holds_and_reads_without_touching() {
    let dir = tempfile::tempdir().unwrap();
    let json_path = dir.path().join("state.json");
    write_file_store(&json_path, &[("a", json!("from file")), ("b", json!("from file"))]).await;
    // A leftover temporary file of the FileStore is not the import's business.
    let temp = dir.path().join(".state.json.tmp");
    std::fs::write(&temp, b"partial").unwrap();
    let bytes = std::fs::read(&json_path).unwrap();
    let modified = std::fs::metadata(&json_path).unwrap().modified().unwrap();

    let db = dir.path().join("state.sqlite3");
    SqliteStore::open(&db).await.unwrap().put("a", json!("from database")).await.unwrap();
    let store = SqliteStore::open_with(SqliteOptions::new(&db).import_file_store(&json_path)).await.unwrap();
    assert_eq!(store.imported_entries(), Some(1));
    assert_eq!(store.get("a").await.unwrap(), Some(json!("from database")));
    assert_eq!(store.get("b").await.unwrap(), Some(json!("from file")));
    assert_eq!(std::fs::read(&json_path).unwrap(), bytes);
    assert_eq!(std::fs::metadata(&json_path).unwrap().modified().unwrap(), modified);
    assert_eq!(std::fs::read(&temp).unwrap(), b"partial");
}

#[tokio::test]
async fn an_invalid_file_store_file_fails_the_open_and_imports_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let json_path = dir.path().join("state.json");
    std::fs::write(&json_path, b"{\"version\": 1, \"entries\": {\"a\": 1}").unwrap();
    let db = dir.path().join("state.sqlite3");
    let err =
        SqliteStore::open_with(SqliteOptions::new(&db).import_file_store(&json_path)).await.unwrap_err();
    assert!(matches!(err, Error::Store { .. }), "{err:?}");
    assert!(err.to_string().contains("state.json"), "{err}");
    // Repaired, the file is imported on the next open.
    std::fs::write(&json_path, b"{\"version\": 1, \"entries\": {\"a\": 1}}").unwrap();
    let store = SqliteStore::open_with(SqliteOptions::new(&db).import_file_store(&json_path)).await.unwrap();
    assert_eq!(store.imported_entries(), Some(1));
    // A missing file imports nothing and is not created.
    let missing = dir.path().join("none.json");
    let store = SqliteStore::open_with(
        SqliteOptions::new(dir.path().join("other.sqlite3")).import_file_store(&missing),
    )
    .await
    .unwrap();
    assert_eq!(store.imported_entries(), None);
    assert!(!missing.exists());
}

#[tokio::test]
async fn files_that_are_not_its_database_are_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let not_sqlite = dir.path().join("notes.txt");
    let text = b"this is not a database, but it is long enough to have a header".repeat(20);
    std::fs::write(&not_sqlite, &text).unwrap();
    let err = SqliteStore::open(&not_sqlite).await.unwrap_err();
    assert!(matches!(err, Error::Store { .. }), "{err:?}");
    assert!(err.to_string().contains("left untouched"), "{err}");
    assert_eq!(std::fs::read(&not_sqlite).unwrap(), text);

    // A backup is an ordinary state database; the same file with another application id
    // or a newer schema version is refused.
    let db = dir.path().join("state.sqlite3");
    let store = SqliteStore::open(&db).await.unwrap();
    store.put("k", json!(1)).await.unwrap();
    let backup = dir.path().join("backup.sqlite3");
    store.backup_to(&backup).await.unwrap();
    drop(store);
    assert_eq!(SqliteStore::open(&backup).await.unwrap().get("k").await.unwrap(), Some(json!(1)));

    // The header holds user_version at byte 60 and application_id at byte 68 (big-endian).
    let patched = |offset: usize, value: u32| {
        let mut bytes = std::fs::read(&backup).unwrap();
        bytes[offset..offset + 4].copy_from_slice(&value.to_be_bytes());
        let path = dir.path().join(format!("patched-{offset}.sqlite3"));
        std::fs::write(&path, &bytes).unwrap();
        (path, bytes)
    };
    let (newer, bytes) = patched(60, 99);
    let err = SqliteStore::open(&newer).await.unwrap_err();
    assert!(err.to_string().contains("schema version 99"), "{err}");
    assert_eq!(std::fs::read(&newer).unwrap(), bytes);
    let (foreign, bytes) = patched(68, 0x1234_5678);
    let err = SqliteStore::open(&foreign).await.unwrap_err();
    assert!(err.to_string().contains("not a deskbridge state database"), "{err}");
    assert_eq!(std::fs::read(&foreign).unwrap(), bytes);
}

#[tokio::test]
async fn a_state_spec_naming_the_old_json_file_opens_the_database_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    let json_path = dir.path().join("bridge-state.json");
    write_file_store(&json_path, &[("inbox/x/cursor", json!("7"))]).await;
    let spec = json_path.to_str().unwrap();
    let store = open_state(spec).await.unwrap();
    assert_eq!(store.get("inbox/x/cursor").await.unwrap(), Some(json!("7")));
    store.put("inbox/x/cursor", json!("8")).await.unwrap();
    drop(store);
    assert!(dir.path().join("bridge-state.sqlite3").exists());
    let parsed = StateSpec::parse(spec).unwrap();
    assert_eq!(parsed.database_path(), Some(dir.path().join("bridge-state.sqlite3").as_path()));
    // Naming the database instead opens the same state.
    let again = open_state(dir.path().join("bridge-state.sqlite3").to_str().unwrap()).await.unwrap();
    assert_eq!(again.get("inbox/x/cursor").await.unwrap(), Some(json!("8")));
    // The JSON file still holds what it held.
    assert_eq!(
        FileStore::open(&json_path).await.unwrap().snapshot().await,
        BTreeMap::from([("inbox/x/cursor".to_owned(), json!("7"))])
    );
}

/// A `postgres://` spec opens a `PostgresStore`: here on a closed port, so the error shows
/// the path was taken, and it names no password.
#[cfg(feature = "postgres")]
#[tokio::test]
async fn a_postgres_spec_connects_to_postgres_and_hides_the_password() {
    let Err(err) =
        open_state("postgres://bridge:Sup3r-Secret@127.0.0.1:1/deskbridge?connect_timeout=5").await
    else {
        panic!("nothing listens on port 1");
    };
    assert!(matches!(err, Error::Store { .. }), "{err:?}");
    let shown = format!("{err} {err:?}");
    assert!(shown.contains("bridge@127.0.0.1:1/deskbridge"), "{shown}");
    assert!(!shown.contains("Sup3r-Secret"), "{shown}");
}
