//! [`SqliteStore`]: a [`StateStore`] in an embedded SQLite database (feature `sqlite`,
//! on by default), the store for a single bridge process.
//!
//! # Layout
//!
//! One file (plus SQLite's `-wal` and `-shm` companions while it is open) holding
//!
//! - `deskbridge_state (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID`: one row
//!   per key, the value as serde_json text. The table *is* its primary-key B-tree, so
//!   [`get`](StateStore::get) is one index lookup and
//!   [`scan_prefix`](StateStore::scan_prefix) one index range scan (keys compare bytewise,
//!   the order of Rust strings, so results come in the same order as in the other stores;
//!   the prefix is a plain string, `%` and `_` are ordinary characters);
//! - `deskbridge_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)`: what this store
//!   records about itself (the one-time import of a [`FileStore`](super::FileStore) file).
//!
//! The schema version is SQLite's `user_version` ([`SqliteStore::SCHEMA_VERSION`]) and the file is
//! marked with an `application_id` ([`SqliteStore::APPLICATION_ID`]): [`SqliteStore::open`] refuses a
//! file that is not a SQLite database, a database of another application, or one whose
//! schema a newer deskbridge wrote, and leaves such a file untouched.
//!
//! # Durability
//!
//! The database runs in write-ahead-log mode (`journal_mode=WAL`). Every call is one
//! transaction and returns only after it has committed.
//!
//! - **A killed process** (crash, `kill -9`, OOM killer) loses nothing that was committed:
//!   a commit is in the operating system's file cache before the call returns, with either
//!   [`SqliteDurability`].
//! - **A power loss or kernel crash** is where the two settings differ.
//!   [`SqliteDurability::Normal`] (the default, `synchronous=NORMAL`) does not `fsync` on
//!   each commit, only when the log is checkpointed into the database (by default every
//!   1,000 pages, about 4 MB), so the last commits before the power cut may be lost; the
//!   database stays consistent (SQLite replays the log up to the last complete commit and
//!   never exposes half a transaction). [`SqliteDurability::Full`] (`synchronous=FULL`)
//!   `fsync`s the log on every commit: nothing committed is lost, at the cost of one disk
//!   sync per change (0.2–5 ms on the benchmark machine, depending on the disk, against
//!   0.05–0.1 ms).
//!
//! Losing the last commits is safe for the engines by design: the inbox records its intent
//! before creating a ticket and finds the ticket again by its dedupe key, so a lost
//! "processed" mark re-finds the ticket instead of creating a second one; a lost link state
//! is a write the bridge re-plans, and the reconcile pass compares with the providers, so
//! nothing is lost (see `docs/SHARED_STATE.md`, which also reports the measurements).
//!
//! # Concurrency
//!
//! A store holds one connection; calls run on Tokio's blocking pool, one at a time per
//! store, each in its own transaction (`BEGIN IMMEDIATE` for writes), so
//! [`compare_and_set`](StateStore::compare_and_set) cannot interleave with another write. A
//! call whose caller is cancelled still runs to completion (it may or may not be applied
//! from the caller's point of view). Cloning gives another handle to the same connection.
//!
//! Unlike the file store, SQLite locks the file, so two processes on the same host that
//! open the same database do not overwrite each other's changes (a writer waits up to
//! [`SqliteOptions::busy_timeout`] for the other). Do not put the file on a network file
//! system; share state between machines with the PostgreSQL store instead.
//!
//! # Batches
//!
//! [`write_batch`](StateStore::write_batch) commits all its ops in one transaction: a
//! reconcile pass that stores thousands of states pays one commit.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use serde_json::Value;

use chrono::{DateTime, Utc};

use crate::ports::{StateStore, WriteOp, via_cas};
use crate::{Error, Result};

const SCHEMA_VERSION: i32 = SqliteStore::SCHEMA_VERSION;

const APPLICATION_ID: i32 = SqliteStore::APPLICATION_ID;

const DEFAULT_BUSY_TIMEOUT: Duration = SqliteOptions::DEFAULT_BUSY_TIMEOUT;

/// The `deskbridge_meta` row that records a one-time import of a `FileStore` file.
const IMPORT_RECORD: &str = "file_store_import";

/// What a commit promises when the power fails (see the [module documentation](self)).
/// Both settings keep every commit when only the process dies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SqliteDurability {
    /// `synchronous=NORMAL`: no disk sync per commit; a power loss may roll back the last
    /// commits (never half of one). About 0.1 ms per change. The default.
    #[default]
    Normal,
    /// `synchronous=FULL`: the log is synced on every commit; a power loss loses nothing
    /// committed. About one disk sync (milliseconds) per change.
    Full,
}

impl SqliteDurability {
    fn pragma(self) -> &'static str {
        match self {
            Self::Normal => "NORMAL",
            Self::Full => "FULL",
        }
    }
}

/// How to open a [`SqliteStore`]: the database file plus options.
///
/// ```
/// # #[cfg(feature = "sqlite")] {
/// use deskbridge::store::{SqliteDurability, SqliteOptions};
/// let options = SqliteOptions::new("/var/lib/deskbridge/state.sqlite3")
///     .durability(SqliteDurability::Full)
///     .import_file_store("/var/lib/deskbridge/state.json");
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    path: PathBuf,
    durability: SqliteDurability,
    busy_timeout: Duration,
    import: Option<PathBuf>,
}

impl SqliteOptions {
    /// How long a write waits for another process holding the database's write lock unless
    /// told otherwise.
    pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

    /// Options for the database at `path` (created, with its parent directories, when
    /// missing).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            durability: SqliteDurability::default(),
            busy_timeout: DEFAULT_BUSY_TIMEOUT,
            import: None,
        }
    }

    /// What a commit promises on power loss (default [`SqliteDurability::Normal`]).
    pub fn durability(mut self, durability: SqliteDurability) -> Self {
        self.durability = durability;
        self
    }

    /// How long a write waits while another process holds the write lock before failing
    /// (default [`Self::DEFAULT_BUSY_TIMEOUT`]).
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// Import the [`FileStore`](super::FileStore) file at `path` once.
    ///
    /// On the first open of a database that has not imported a file yet, every entry of
    /// the file is copied in one transaction (a key the database already holds keeps its
    /// value) and the import is recorded in the database, so later opens do not import
    /// again. The file itself is only read: never changed, moved or removed, so an older
    /// deskbridge can still use it (it will not see later changes). A missing file imports
    /// nothing; an invalid one is an [`Error::Store`] and the database is left as it was.
    pub fn import_file_store(mut self, path: impl Into<PathBuf>) -> Self {
        self.import = Some(path.into());
        self
    }
}

/// A [`StateStore`] in an embedded SQLite database: the default store for one bridge
/// process. See the [module documentation](self) for layout, durability and concurrency.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    durability: SqliteDurability,
    imported: Option<usize>,
    connection: Mutex<Connection>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.inner.path)
            .field("durability", &self.inner.durability)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// The schema version this deskbridge writes and reads (`PRAGMA user_version`).
    pub const SCHEMA_VERSION: i32 = 1;

    /// The `PRAGMA application_id` that marks a deskbridge state database: ASCII "dskb".
    pub const APPLICATION_ID: i32 = 0x6473_6b62;

    /// Open (or create) the database at `path` with the default options.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(SqliteOptions::new(path.as_ref())).await
    }

    /// Open (or create) the database `options` names.
    ///
    /// A file that is not a deskbridge state database (not SQLite, another application's
    /// database, a schema from a newer deskbridge) is an [`Error::Store`] naming the path,
    /// and is left untouched. On Unix a new database is created with mode `0600` (it may
    /// hold customer-related ids); SQLite gives its `-wal` and `-shm` files the same mode.
    pub async fn open_with(options: SqliteOptions) -> Result<Self> {
        tokio::task::spawn_blocking(move || open_blocking(options))
            .await
            .map_err(|err| Error::store(format!("the task opening the state database failed: {err}")))?
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The durability this store was opened with.
    pub fn durability(&self) -> SqliteDurability {
        self.inner.durability
    }

    /// How many entries this open imported from a `FileStore` file
    /// ([`SqliteOptions::import_file_store`]); `None` when it imported nothing (no file to
    /// import, or imported by an earlier open).
    pub fn imported_entries(&self) -> Option<usize> {
        self.inner.imported
    }

    /// Write a consistent copy of the whole database to `target` (SQLite's `VACUUM INTO`)
    /// while the store stays in use: an online backup. `target` must not exist yet. The
    /// copy is an ordinary deskbridge state database that [`open`](Self::open) reads.
    pub async fn backup_to(&self, target: impl AsRef<Path>) -> Result<()> {
        let target = target.as_ref().to_path_buf();
        let what = format!("backing up to {}", target.display());
        self.with_connection(what, move |connection| {
            connection.execute("VACUUM INTO ?1", [target.to_string_lossy().as_ref()]).map(|_| ())
        })
        .await
    }

    /// Run `call` on the connection on the blocking pool. The call runs to completion even
    /// when the caller is cancelled.
    async fn with_connection<T, F>(&self, what: String, call: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let mut connection = lock(&inner.connection);
            call(&mut connection).map_err(|err| database_error(&inner.path, &what, err))
        })
        .await
        .map_err(|err| Error::store(format!("the state database task failed: {err}")))?
    }
}

fn lock(connection: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A panic while the lock was held cannot leave a transaction open (rusqlite rolls
    // back on drop), so the connection is still usable.
    connection.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn database_error(path: &Path, what: &str, err: rusqlite::Error) -> Error {
    Error::Store {
        message: format!("state database {}: {what} failed: {err}", path.display()),
        source: Some(Box::new(err)),
    }
}

fn open_blocking(options: SqliteOptions) -> Result<SqliteStore> {
    let SqliteOptions { path, durability, busy_timeout, import } = options;
    let failed = |what: &str| {
        let path = path.clone();
        let what = what.to_owned();
        move |err: rusqlite::Error| database_error(&path, &what, err)
    };
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|err| Error::Store {
            message: format!("cannot create directory {} for the state database", dir.display()),
            source: Some(Box::new(err)),
        })?;
    }
    create_private(&path)?;
    let flags =
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut connection = Connection::open_with_flags(&path, flags).map_err(failed("opening"))?;
    connection.busy_timeout(busy_timeout).map_err(failed("setting the busy timeout"))?;
    check_identity(&connection, &path)?;
    let mode: String = connection
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(failed("switching to write-ahead logging"))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Error::store(format!(
            "state database {}: write-ahead logging is not available here (journal mode {mode})",
            path.display()
        )));
    }
    connection
        .pragma_update(None, "synchronous", durability.pragma())
        .map_err(failed("setting durability"))?;
    migrate(&mut connection).map_err(failed("creating the schema"))?;
    let imported = match import {
        Some(file) => import_file_store(&mut connection, &path, &file)?,
        None => None,
    };
    Ok(SqliteStore {
        inner: Arc::new(Inner { path, durability, imported, connection: Mutex::new(connection) }),
    })
}

/// Create `path` empty with mode 0600 when it does not exist, so SQLite never creates it
/// world-readable.
fn create_private(path: &Path) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(err) => Err(Error::Store {
            message: format!("cannot create state database {}", path.display()),
            source: Some(Box::new(err)),
        }),
    }
}

/// Refuse a file that is not a SQLite database, belongs to another application, or has a
/// schema from a newer deskbridge. Reads only.
fn check_identity(connection: &Connection, path: &Path) -> Result<()> {
    let read = |pragma: &str| {
        connection.pragma_query_value(None, pragma, |row| row.get::<_, i32>(0)).map_err(|err| Error::Store {
            message: format!(
                "{} is not a readable SQLite database ({err}); it was left untouched",
                path.display()
            ),
            source: Some(Box::new(err)),
        })
    };
    let application_id = read("application_id")?;
    let version = read("user_version")?;
    let has_tables: bool = connection
        .query_row("SELECT count(*) > 0 FROM sqlite_schema", [], |row| row.get(0))
        .map_err(|err| database_error(path, "reading the schema", err))?;
    if application_id != APPLICATION_ID && (application_id != 0 || has_tables) {
        return Err(Error::store(format!(
            "{} is a SQLite database but not a deskbridge state database (application_id \
             {application_id:#x}); it was left untouched",
            path.display()
        )));
    }
    if version > SCHEMA_VERSION {
        return Err(Error::store(format!(
            "state database {} has schema version {version}, newer than this deskbridge reads \
             ({SCHEMA_VERSION}); it was left untouched",
            path.display()
        )));
    }
    Ok(())
}

fn migrate(connection: &mut Connection) -> rusqlite::Result<()> {
    let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: i32 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if version < 1 {
        tx.execute_batch(&format!(
            "CREATE TABLE IF NOT EXISTS deskbridge_state (
                 key TEXT PRIMARY KEY NOT NULL,
                 value TEXT NOT NULL
             ) WITHOUT ROWID;
             CREATE TABLE IF NOT EXISTS deskbridge_meta (
                 name TEXT PRIMARY KEY NOT NULL,
                 value TEXT NOT NULL
             ) WITHOUT ROWID;
             PRAGMA application_id = {APPLICATION_ID};
             PRAGMA user_version = 1;"
        ))?;
    }
    tx.commit()
}

fn import_file_store(connection: &mut Connection, path: &Path, file: &Path) -> Result<Option<usize>> {
    let failed = |what: &'static str| move |err: rusqlite::Error| database_error(path, what, err);
    let done: bool = connection
        .query_row("SELECT count(*) > 0 FROM deskbridge_meta WHERE name = ?1", [IMPORT_RECORD], |row| {
            row.get(0)
        })
        .map_err(failed("reading the import record"))?;
    if done {
        return Ok(None);
    }
    let Some(entries) = super::file::read_state_file(file)? else {
        return Ok(None);
    };
    let tx = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(failed("starting the import"))?;
    // Another process may have imported between the check and the lock.
    let done: bool = tx
        .query_row("SELECT count(*) > 0 FROM deskbridge_meta WHERE name = ?1", [IMPORT_RECORD], |row| {
            row.get(0)
        })
        .map_err(failed("reading the import record"))?;
    if done {
        return Ok(None);
    }
    let mut imported = 0;
    {
        let mut insert = tx
            .prepare("INSERT INTO deskbridge_state (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING")
            .map_err(failed("preparing the import"))?;
        for (key, value) in &entries {
            imported += insert.execute(params![key, encode(key, value)?]).map_err(failed("importing"))?;
        }
    }
    let record =
        serde_json::json!({ "file": file.display().to_string(), "entries": entries.len() }).to_string();
    tx.execute("INSERT INTO deskbridge_meta (name, value) VALUES (?1, ?2)", params![IMPORT_RECORD, record])
        .map_err(failed("recording the import"))?;
    tx.commit().map_err(failed("committing the import"))?;
    tracing::info!(
        database = %path.display(),
        file = %file.display(),
        entries = entries.len(),
        imported,
        "imported a FileStore state file once; the file was left untouched"
    );
    Ok(Some(imported))
}

fn encode(key: &str, value: &Value) -> Result<String> {
    serde_json::to_string(value)
        .map_err(|err| Error::store(format!("cannot encode the value for key \"{key}\" as JSON: {err}")))
}

/// Wraps a stored value that is not JSON (a damaged or hand-edited row) so it travels
/// through `rusqlite::Result` and comes out as an error naming the key.
fn decode(key: &str, text: &str) -> rusqlite::Result<Value> {
    serde_json::from_str(text).map_err(|err| {
        rusqlite::Error::FromSqlConversionFailure(
            1,
            rusqlite::types::Type::Text,
            format!("the value of key \"{key}\" is not JSON: {err}").into(),
        )
    })
}

fn read(connection: &Connection, key: &str) -> rusqlite::Result<Option<Value>> {
    let text: Option<String> = connection
        .prepare_cached("SELECT value FROM deskbridge_state WHERE key = ?1")?
        .query_row([key], |row| row.get(0))
        .optional()?;
    text.map(|text| decode(key, &text)).transpose()
}

fn write(connection: &Connection, key: &str, value: Option<&str>) -> rusqlite::Result<()> {
    match value {
        Some(value) => connection
            .prepare_cached(
                "INSERT INTO deskbridge_state (key, value) VALUES (?1, ?2) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )?
            .execute(params![key, value]),
        None => connection.prepare_cached("DELETE FROM deskbridge_state WHERE key = ?1")?.execute([key]),
    }
    .map(|_| ())
}

/// Apply one op inside an open transaction; whether it applied.
fn apply(connection: &Connection, op: &EncodedOp) -> rusqlite::Result<bool> {
    match op {
        EncodedOp::Put { key, value } => write(connection, key, Some(value)).map(|()| true),
        EncodedOp::Delete { key } => write(connection, key, None).map(|()| true),
        EncodedOp::CompareAndSet { key, expected, new } => {
            if read(connection, key)?.as_ref() != expected.as_ref() {
                return Ok(false);
            }
            write(connection, key, new.as_deref()).map(|()| true)
        }
    }
}

/// A [`WriteOp`] whose new value is already JSON text (encoded on the caller's task, so
/// an encoding error names the key before anything is written).
enum EncodedOp {
    Put { key: String, value: String },
    Delete { key: String },
    CompareAndSet { key: String, expected: Option<Value>, new: Option<String> },
}

impl EncodedOp {
    fn key(&self) -> &str {
        match self {
            Self::Put { key, .. } | Self::Delete { key } | Self::CompareAndSet { key, .. } => key,
        }
    }

    fn from_op(op: WriteOp) -> Result<Self> {
        Ok(match op {
            WriteOp::Put { key, value } => {
                let value = encode(&key, &value)?;
                Self::Put { key, value }
            }
            WriteOp::Delete { key } => Self::Delete { key },
            WriteOp::CompareAndSet { key, expected, new } => {
                let new = new.map(|new| encode(&key, &new)).transpose()?;
                Self::CompareAndSet { key, expected, new }
            }
        })
    }
}

/// Run `ops` in one write transaction; rolled back (nothing applied) on any error.
fn transact(connection: &mut Connection, ops: &[EncodedOp]) -> rusqlite::Result<Vec<bool>> {
    let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let applied = ops.iter().map(|op| apply(&tx, op)).collect::<rusqlite::Result<Vec<bool>>>()?;
    tx.commit()?;
    Ok(applied)
}

#[async_trait]
impl StateStore for SqliteStore {
    async fn get(&self, key: &str) -> Result<Option<Value>> {
        let owned = key.to_owned();
        self.with_connection(format!("reading key \"{key}\""), move |connection| read(connection, &owned))
            .await
    }

    async fn put(&self, key: &str, value: Value) -> Result<()> {
        let op = EncodedOp::Put { key: key.to_owned(), value: encode(key, &value)? };
        self.with_connection(format!("writing key \"{key}\""), move |connection| {
            transact(connection, std::slice::from_ref(&op)).map(|_| ())
        })
        .await
    }

    async fn delete(&self, key: &str) -> Result<()> {
        let op = EncodedOp::Delete { key: key.to_owned() };
        self.with_connection(format!("deleting key \"{key}\""), move |connection| {
            transact(connection, std::slice::from_ref(&op)).map(|_| ())
        })
        .await
    }

    async fn compare_and_set(&self, key: &str, expected: Option<&Value>, new: Option<Value>) -> Result<bool> {
        let op = EncodedOp::CompareAndSet {
            key: key.to_owned(),
            expected: expected.cloned(),
            new: new.map(|new| encode(key, &new)).transpose()?,
        };
        self.with_connection(format!("compare-and-set on key \"{key}\""), move |connection| {
            Ok(transact(connection, std::slice::from_ref(&op))?.first().copied().unwrap_or(false))
        })
        .await
    }

    async fn scan_prefix(&self, prefix: &str) -> Result<Vec<(String, Value)>> {
        let owned = prefix.to_owned();
        self.with_connection(format!("scanning keys starting with \"{prefix}\""), move |connection| {
            // An index range scan from the prefix on, stopped at the first key past it.
            let mut statement = connection
                .prepare_cached("SELECT key, value FROM deskbridge_state WHERE key >= ?1 ORDER BY key")?;
            let mut rows = statement.query([&owned])?;
            let mut found = Vec::new();
            while let Some(row) = rows.next()? {
                let key: String = row.get(0)?;
                if !key.starts_with(&owned) {
                    break;
                }
                let text: String = row.get(1)?;
                let value = decode(&key, &text)?;
                found.push((key, value));
            }
            Ok(found)
        })
        .await
    }

    /// With [`SqliteDurability::Normal`], one commit with `synchronous=FULL`, which syncs
    /// the write-ahead log and with it every earlier commit; nothing to do with
    /// [`SqliteDurability::Full`].
    async fn insert_if_absent(&self, key: &str, value: Value) -> Result<bool> {
        via_cas::insert_if_absent(self, key, value).await
    }

    async fn try_claim(
        &self,
        key: &str,
        owner: &str,
        ttl: std::time::Duration,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        via_cas::try_claim(self, key, owner, ttl, now).await
    }

    async fn release_claim(&self, key: &str, owner: &str) -> Result<bool> {
        via_cas::release_claim(self, key, owner).await
    }

    async fn flush(&self) -> Result<()> {
        if self.inner.durability == SqliteDurability::Full {
            return Ok(());
        }
        self.with_connection("syncing the log to disk".to_owned(), |connection| {
            connection.pragma_update(None, "synchronous", SqliteDurability::Full.pragma())?;
            let synced = connection
                .prepare_cached(
                    "INSERT INTO deskbridge_meta (name, value) VALUES ('flushed', '1') \
                     ON CONFLICT (name) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
                )
                .and_then(|mut statement| statement.execute([]));
            let restored = connection.pragma_update(None, "synchronous", SqliteDurability::Normal.pragma());
            synced?;
            restored
        })
        .await
    }

    /// All ops in one transaction (one commit); on an error none of them is applied.
    async fn write_batch(&self, ops: Vec<WriteOp>) -> Result<Vec<bool>> {
        if ops.is_empty() {
            return Ok(Vec::new());
        }
        let ops = ops.into_iter().map(EncodedOp::from_op).collect::<Result<Vec<_>>>()?;
        let what = match ops.as_slice() {
            [op] => format!("writing key \"{}\"", op.key()),
            [first, .., last] => {
                format!("a batch of {} writes (keys \"{}\" … \"{}\")", ops.len(), first.key(), last.key())
            }
            [] => String::new(),
        };
        self.with_connection(what, move |connection| transact(connection, &ops)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn a_damaged_row_is_an_error_naming_its_key_and_the_rest_still_reads() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("state.sqlite3")).await.unwrap();
        store.put("good", json!(1)).await.unwrap();
        {
            let connection = lock(&store.inner.connection);
            connection
                .execute("INSERT INTO deskbridge_state (key, value) VALUES ('bad', '{not json')", [])
                .unwrap();
        }
        let err = store.get("bad").await.unwrap_err();
        assert!(matches!(err, Error::Store { .. }), "{err:?}");
        assert!(err.to_string().contains("\"bad\""), "{err}");
        let err = store.scan_prefix("").await.unwrap_err();
        assert!(err.to_string().contains("\"bad\""), "{err}");
        assert_eq!(store.get("good").await.unwrap(), Some(json!(1)));
        // A compare-and-set cannot judge a damaged value: an error, nothing written.
        assert!(store.compare_and_set("bad", None, Some(json!(2))).await.is_err());
        // A batch that fails part-way (at the damaged row) applies none of its ops.
        let err = store
            .write_batch(vec![
                WriteOp::Put { key: "good".into(), value: json!(2) },
                WriteOp::CompareAndSet { key: "bad".into(), expected: None, new: None },
            ])
            .await
            .unwrap_err();
        assert!(err.to_string().contains("batch of 2 writes"), "{err}");
        assert_eq!(store.get("good").await.unwrap(), Some(json!(1)));
        store.delete("bad").await.unwrap();
        assert_eq!(store.scan_prefix("").await.unwrap(), [("good".to_owned(), json!(1))]);
    }

    #[tokio::test]
    async fn keys_and_values_with_nul_characters_are_kept_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("state.sqlite3")).await.unwrap();
        // Keys and values are exact strings, NUL included (unlike PostgreSQL).
        store.put("nul\0key", json!("a\u{0}b")).await.unwrap();
        assert_eq!(store.get("nul\0key").await.unwrap(), Some(json!("a\u{0}b")));
        assert_eq!(store.get("nul").await.unwrap(), None);
        assert_eq!(store.scan_prefix("nul\0").await.unwrap().len(), 1);
    }
}
