//! [`FileStore`]: the whole state in one JSON file, rewritten atomically.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::Mutex;

use super::scan_map;
use crate::ports::{StateStore, via_cas};
use crate::{Error, Result};

/// The `version` written into every state file; [`FileStore::open`] refuses any other.
pub const FILE_FORMAT_VERSION: u32 = 1;

/// A [`StateStore`] kept in one JSON file, for a single bridge process.
///
/// # File format
///
/// ```json
/// { "version": 1, "entries": { "inbox/cursor": "1234", "sync/last/ana": {"chat": "online"} } }
/// ```
///
/// Keys are written in sorted order, pretty-printed, so the file is readable and diffs
/// well. On Unix the file is created with mode `0600` (it may hold customer-related ids).
///
/// # Durability
///
/// Every mutation that changes something writes the complete new map to a temporary file
/// in the same directory ([`temp_path`](Self::temp_path)), `fsync`s it, renames it over the
/// state file and `fsync`s the directory (on Unix). A crash at any point leaves either the
/// old or the new file in place, never a mix; a leftover temporary file is ignored and
/// removed by the next [`open`](Self::open). A call returns only after its change is on
/// disk; if writing fails, the call returns [`Error::Store`] and the in-memory state keeps
/// the previous value, so memory and file agree.
///
/// Calls that change nothing (a `put` of the value already stored, a `delete` of an
/// absent key, a `compare_and_set` that does not apply) do not write.
///
/// # Concurrency
///
/// Mutations are serialised by an async mutex held until the file is renamed, so each
/// call, including [`compare_and_set`](StateStore::compare_and_set), is atomic with
/// respect to every other task of the process. A mutation whose caller is cancelled
/// mid-write still runs to completion (it may or may not be applied from the caller's
/// point of view, exactly as with a dropped network request). Cloning gives another handle
/// to the same store.
///
/// There is no inter-process lock: **two processes must not open the same file**; the
/// later writer would silently overwrite the other's changes. Share state between
/// processes with a database-backed store instead.
///
/// # Cost model
///
/// Each changing call re-serialises and rewrites the *whole* map and pays two `fsync`s,
/// so its cost grows linearly with the total state size, plus the disk's sync latency
/// (typically 1–20 ms). That is fine for what a bridge keeps (cursors, last written
/// values, a DM-to-ticket map, recent event ids: thousands of keys, a few hundred
/// kilobytes) at the rates providers allow, and wrong for hundreds of thousands of keys or
/// hundreds of writes per second: prune old keys (e.g. processed event ids) or use a
/// database-backed store. Reads are served from memory.
#[derive(Debug, Clone)]
pub struct FileStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    temp_path: PathBuf,
    entries: Arc<Mutex<BTreeMap<String, Value>>>,
    #[cfg(test)]
    fail_before_rename: std::sync::atomic::AtomicBool,
}

#[derive(Serialize)]
struct StateFileOut<'a> {
    version: u32,
    entries: &'a BTreeMap<String, Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StateFileIn {
    version: u32,
    entries: BTreeMap<String, Value>,
}

impl FileStore {
    /// Open the store kept in the file at `path`, creating its parent directories.
    ///
    /// A missing file is empty state (the file is created on the first change). A file
    /// that exists but is not a valid state file (not JSON, wrong shape, another
    /// `version`, empty) is an [`Error::Store`] naming the path; the file is left
    /// untouched, never replaced by empty state. A leftover temporary file from an
    /// interrupted write is removed.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let temp_path = temp_path_for(&path)?;
        let (path, temp_path, entries) = tokio::task::spawn_blocking(move || {
            let entries = load(&path, &temp_path)?;
            Ok::<_, Error>((path, temp_path, entries))
        })
        .await
        .map_err(|err| Error::store(format!("the task opening the state file failed: {err}")))??;
        Ok(Self {
            inner: Arc::new(Inner {
                path,
                temp_path,
                entries: Arc::new(Mutex::new(entries)),
                #[cfg(test)]
                fail_before_rename: std::sync::atomic::AtomicBool::new(false),
            }),
        })
    }

    /// The state file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The temporary file each write goes through before it is renamed over
    /// [`path`](Self::path): `.{file name}.tmp` in the same directory.
    pub fn temp_path(&self) -> &Path {
        &self.inner.temp_path
    }

    /// A copy of every entry, in key order.
    pub async fn snapshot(&self) -> BTreeMap<String, Value> {
        self.inner.entries.lock().await.clone()
    }

    /// Change at most `key`. `decide` sees the current value and returns `Some(new)` to
    /// set the key to `new` (`None`: remove it), or `None` to leave everything as is.
    /// Returns whether `decide` asked for a change (a change to the value already held
    /// counts as applied, without a write).
    async fn mutate<F>(&self, key: &str, decide: F) -> Result<bool>
    where
        F: FnOnce(Option<&Value>) -> Option<Option<Value>> + Send + 'static,
    {
        let guard = Arc::clone(&self.inner.entries).lock_owned().await;
        let inner = Arc::clone(&self.inner);
        let key = key.to_owned();
        // The guard moves into the blocking task, so a cancelled caller cannot release the
        // lock while the file is half-way through being replaced.
        tokio::task::spawn_blocking(move || {
            let mut entries = guard;
            let Some(new) = decide(entries.get(&key)) else {
                return Ok(false);
            };
            if entries.get(&key) == new.as_ref() {
                return Ok(true);
            }
            let previous = set_entry(&mut entries, &key, new);
            match inner.persist(&entries) {
                Ok(()) => Ok(true),
                Err(PersistError::BeforeRename(err)) => {
                    set_entry(&mut entries, &key, previous);
                    Err(Error::Store {
                        message: format!(
                            "cannot write state file {} (key \"{key}\" left unchanged)",
                            inner.path.display()
                        ),
                        source: Some(err.into()),
                    })
                }
                Err(PersistError::AfterRename(err)) => Err(Error::Store {
                    message: format!(
                        "state file {} was replaced (key \"{key}\" changed) but its directory could not \
                         be synced; the change may not survive a power loss",
                        inner.path.display()
                    ),
                    source: Some(err.into()),
                }),
                Err(PersistError::Encode(err)) => {
                    set_entry(&mut entries, &key, previous);
                    Err(Error::store(format!(
                        "cannot encode state for {} (key \"{key}\" left unchanged): {err}",
                        inner.path.display()
                    )))
                }
            }
        })
        .await
        .map_err(|err| Error::store(format!("the task writing the state file failed: {err}")))?
    }

    /// Make the next write fail after the temporary file is written and synced, but before
    /// it is renamed: what a crash at that moment leaves behind.
    #[cfg(test)]
    fn fail_next_writes_before_rename(&self, fail: bool) {
        self.inner.fail_before_rename.store(fail, std::sync::atomic::Ordering::SeqCst);
    }
}

enum PersistError {
    Encode(serde_json::Error),
    BeforeRename(io::Error),
    AfterRename(io::Error),
}

impl Inner {
    fn persist(&self, entries: &BTreeMap<String, Value>) -> std::result::Result<(), PersistError> {
        let mut bytes = serde_json::to_vec_pretty(&StateFileOut { version: FILE_FORMAT_VERSION, entries })
            .map_err(PersistError::Encode)?;
        bytes.push(b'\n');
        if let Err(err) = write_synced(&self.temp_path, &bytes) {
            // Best effort: a partial temporary file is harmless, but tidy.
            let _ = fs::remove_file(&self.temp_path);
            return Err(PersistError::BeforeRename(err));
        }
        #[cfg(test)]
        if self.fail_before_rename.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(PersistError::BeforeRename(io::Error::other("simulated crash before rename")));
        }
        fs::rename(&self.temp_path, &self.path).map_err(PersistError::BeforeRename)?;
        sync_parent_dir(&self.path).map_err(PersistError::AfterRename)
    }
}

/// Set or remove `key`; returns the previous value.
fn set_entry(entries: &mut BTreeMap<String, Value>, key: &str, value: Option<Value>) -> Option<Value> {
    match value {
        Some(value) => entries.insert(key.to_owned(), value),
        None => entries.remove(key),
    }
}

fn temp_path_for(path: &Path) -> Result<PathBuf> {
    let file_name = path
        .file_name()
        .ok_or_else(|| Error::store(format!("state file path {} does not name a file", path.display())))?;
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(file_name);
    temp_name.push(".tmp");
    Ok(path.with_file_name(temp_name))
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

fn load(path: &Path, temp_path: &Path) -> Result<BTreeMap<String, Value>> {
    let dir = parent_dir(path);
    fs::create_dir_all(dir).map_err(|err| Error::Store {
        message: format!("cannot create directory {} for the state file", dir.display()),
        source: Some(err.into()),
    })?;
    match fs::remove_file(temp_path) {
        Ok(()) => {
            tracing::info!(path = %temp_path.display(), "removed a temporary state file left by an interrupted write")
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => {}
        Err(err) => {
            tracing::warn!(path = %temp_path.display(), error = %err, "cannot remove a leftover temporary state file")
        }
    }
    Ok(read_state_file(path)?.unwrap_or_default())
}

/// The entries of the state file at `path`, read without touching anything (no directory
/// created, no temporary file removed); `None` when the file does not exist. An invalid
/// file is an [`Error::Store`] naming the path.
pub(crate) fn read_state_file(path: &Path) -> Result<Option<BTreeMap<String, Value>>> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => {
            return Err(Error::Store {
                message: format!("cannot read state file {}", path.display()),
                source: Some(err.into()),
            });
        }
    };
    let file: StateFileIn = serde_json::from_slice(&bytes).map_err(|err| {
        Error::store(format!(
            "state file {} is not a valid deskbridge state file ({err}); it was left untouched: \
             restore it from a backup or remove it to start with empty state",
            path.display()
        ))
    })?;
    if file.version != FILE_FORMAT_VERSION {
        return Err(Error::store(format!(
            "state file {} has format version {}, this deskbridge reads version {FILE_FORMAT_VERSION}; \
             it was left untouched",
            path.display(),
            file.version
        )));
    }
    Ok(Some(file.entries))
}

fn write_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(unix)]
fn sync_parent_dir(path: &Path) -> io::Result<()> {
    fs::File::open(parent_dir(path))?.sync_all()
}

#[cfg(not(unix))]
fn sync_parent_dir(_path: &Path) -> io::Result<()> {
    // Directories cannot be opened for syncing on this platform; the rename itself is
    // atomic, and the OS flushes directory metadata on its own schedule.
    Ok(())
}

#[async_trait]
impl StateStore for FileStore {
    async fn get(&self, key: &str) -> Result<Option<Value>> {
        Ok(self.inner.entries.lock().await.get(key).cloned())
    }

    async fn put(&self, key: &str, value: Value) -> Result<()> {
        self.mutate(key, move |_| Some(Some(value))).await.map(|_| ())
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.mutate(key, |current| current.map(|_| None)).await.map(|_| ())
    }

    async fn compare_and_set(&self, key: &str, expected: Option<&Value>, new: Option<Value>) -> Result<bool> {
        let expected = expected.cloned();
        self.mutate(key, move |current| (current == expected.as_ref()).then_some(new)).await
    }

    async fn scan_prefix(&self, prefix: &str) -> Result<Vec<(String, Value)>> {
        Ok(scan_map(&*self.inner.entries.lock().await, prefix))
    }

    async fn insert_if_absent(&self, key: &str, value: Value) -> Result<bool> {
        via_cas::insert_if_absent(self, key, value).await
    }

    async fn try_claim(&self, key: &str, owner: &str, ttl: Duration, now: DateTime<Utc>) -> Result<bool> {
        via_cas::try_claim(self, key, owner, ttl, now).await
    }

    async fn release_claim(&self, key: &str, owner: &str) -> Result<bool> {
        via_cas::release_claim(self, key, owner).await
    }

    async fn flush(&self) -> Result<()> {
        // Every call is durable when it returns.
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn a_crash_between_temp_write_and_rename_keeps_the_previous_state() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let store = FileStore::open(&path).await.unwrap();
        store.put("cursor", json!(1)).await.unwrap();

        store.fail_next_writes_before_rename(true);
        let err = store.put("cursor", json!(2)).await.unwrap_err();
        assert!(matches!(err, Error::Store { .. }), "{err:?}");
        assert!(err.to_string().contains("left unchanged"), "{err}");
        // The temporary file holds the new state, the state file the old one.
        let temp = fs::read_to_string(store.temp_path()).unwrap();
        assert!(temp.contains("\"cursor\": 2"), "{temp}");
        // Memory agrees with the file.
        assert_eq!(store.get("cursor").await.unwrap(), Some(json!(1)));
        let err = store.compare_and_set("cursor", Some(&json!(1)), None).await.unwrap_err();
        assert!(matches!(err, Error::Store { .. }));
        assert_eq!(store.get("cursor").await.unwrap(), Some(json!(1)));

        // A fresh open (the restarted process) reads the previous state and removes the
        // leftover temporary file.
        let reopened = FileStore::open(&path).await.unwrap();
        assert_eq!(reopened.get("cursor").await.unwrap(), Some(json!(1)));
        assert!(!store.temp_path().exists());

        // The first store works again once writes succeed.
        store.fail_next_writes_before_rename(false);
        store.put("cursor", json!(3)).await.unwrap();
        let reopened = FileStore::open(&path).await.unwrap();
        assert_eq!(reopened.get("cursor").await.unwrap(), Some(json!(3)));
    }

    #[tokio::test]
    async fn changes_that_change_nothing_do_not_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let store = FileStore::open(&path).await.unwrap();
        store.put("a", json!("x")).await.unwrap();
        store.fail_next_writes_before_rename(true);
        // None of these needs a write, so the failing write path is never reached.
        store.put("a", json!("x")).await.unwrap();
        store.delete("absent").await.unwrap();
        assert!(!store.compare_and_set("a", Some(&json!("y")), None).await.unwrap());
        assert!(!store.insert_if_absent("a", json!("z")).await.unwrap());
        assert!(store.put("b", json!(1)).await.is_err());
    }

    #[test]
    fn the_temp_file_sits_next_to_the_state_file() {
        assert_eq!(
            temp_path_for(Path::new("/var/lib/db/state.json")).unwrap(),
            Path::new("/var/lib/db/.state.json.tmp")
        );
        assert_eq!(temp_path_for(Path::new("state.json")).unwrap(), Path::new(".state.json.tmp"));
        assert!(temp_path_for(Path::new("/")).is_err());
    }
}
