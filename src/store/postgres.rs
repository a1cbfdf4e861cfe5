//! [`PostgresStore`]: a [`StateStore`] in a PostgreSQL database that several bridge
//! instances share (feature `postgres`).
//!
//! # Layout and migrations
//!
//! State lives in one table, `<schema>.deskbridge_state (key text COLLATE "C" PRIMARY KEY,
//! value jsonb NOT NULL, updated_at timestamptz NOT NULL)`. [`PostgresStore::connect`]
//! creates it itself: migrations are versioned in `<schema>.deskbridge_migrations` and run in
//! one transaction under `pg_advisory_xact_lock`, so instances starting at the same moment
//! do not race, and connecting again is a no-op. A database migrated by a newer deskbridge
//! than this one is refused rather than misread.
//!
//! # Semantics next to the other stores
//!
//! - Keys sort bytewise (`COLLATE "C"`), which is the order of Rust strings, so
//!   [`scan_prefix`](StateStore::scan_prefix) returns the same order as the memory and file
//!   stores. The prefix is matched as a plain string (no `LIKE`; `%`, `_` and `\` are
//!   ordinary characters).
//! - Values are stored as `jsonb`. PostgreSQL cannot store a NUL character, neither in a
//!   key nor in a JSON string (`"\u0000"`): such a call fails with [`Error::Store`] instead of
//!   being stored. Object key order is not kept (irrelevant to `serde_json::Value`, whose
//!   maps compare regardless of order); numbers come back as written by serde_json.
//! - [`compare_and_set`](StateStore::compare_and_set) is one statement (an `INSERT … ON
//!   CONFLICT DO NOTHING`, an `UPDATE … WHERE` or a `DELETE … WHERE`), so it cannot
//!   interleave with another writer. "Equal" compares the canonical `jsonb` text of both
//!   values rather than `jsonb =`, because `jsonb =` treats `1` and `1.0` as equal while
//!   `serde_json::Value` does not; the two agree except for numbers PostgreSQL normalises
//!   (`-0.0` reads back as `0.0`, and an exponent form such as `1e300` is kept as its
//!   decimal expansion, which reads back as the same `f64`).
//! - [`try_claim`](StateStore::try_claim) and [`release_claim`](StateStore::release_claim)
//!   are single statements too, and judge expiry by the **database server's clock**
//!   (`now()`): the `now` argument is ignored, so clock skew between instances does not
//!   matter. Claims are stored in the same table with the same JSON shape as the provided
//!   implementations ([`Claim`](crate::ports::Claim), microsecond precision).
//!
//! # Connections, reconnecting, TLS
//!
//! The store keeps a small fixed set of connections (default
//! [`PostgresOptions::DEFAULT_CONNECTIONS`]); calls are spread over them and pipelined on each. A connection
//! found closed (server restart, network cut, idle timeout) is reopened on the next call that
//! uses it. When a connection breaks *during* a call, the idempotent calls (`get`, `put`,
//! `delete`, `scan_prefix`, `try_claim`) are retried once on a fresh connection, so a server
//! restart is transparent to them; `compare_and_set`, `insert_if_absent` and
//! `release_claim` are not retried (the change may or may not have been applied) and fail
//! with an [`Error::Store`] saying so — the caller re-reads and decides, and the next call
//! reconnects.
//!
//! Connections are made **without TLS** (`NoTls`): use this store on loopback or a private,
//! trusted network only. A connection string asking for `sslmode=require` is refused at
//! [`connect`](PostgresStore::connect) rather than silently downgraded. (Adding TLS means
//! passing a TLS connector such as `tokio-postgres-rustls` where this module passes `NoTls`;
//! it is not included to keep the build light.)
//!
//! # Secrets
//!
//! The connection string is held as a [`SecretString`]; neither the store's `Debug` nor any
//! error message contains the password (errors name `user@host:port/database`).

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use tokio::sync::Mutex;
use tokio_postgres::config::SslMode;
use tokio_postgres::{Client, NoTls, Statement};

use crate::ports::{StateStore, WriteOp, claim_from_value};
use crate::{Error, Result};

const DEFAULT_CONNECTIONS: usize = PostgresOptions::DEFAULT_CONNECTIONS;

const DEFAULT_SCHEMA: &str = PostgresOptions::DEFAULT_SCHEMA;

/// How long opening a connection may take when the connection string does not say
/// (`connect_timeout`).
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// First key of the two-key advisory lock taken while migrating (the second is the hash of
/// the schema name): ASCII "desk".
const MIGRATION_LOCK_CLASS: i32 = 0x6465_736b;

/// The schema migrations, in order. `{schema}` is replaced by the quoted schema name.
/// Never edit a released migration: append a new one.
const MIGRATIONS: &[(i32, &str, &str)] = &[(
    1,
    "state table",
    r#"CREATE TABLE {schema}.deskbridge_state (
        key text COLLATE "C" PRIMARY KEY,
        value jsonb NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
    )"#,
)];

/// How to connect a [`PostgresStore`]: the connection string plus options.
///
/// ```
/// # #[cfg(feature = "postgres")] {
/// use deskbridge::store::PostgresOptions;
/// let options = PostgresOptions::new("postgres://bridge:secret@127.0.0.1:5432/deskbridge")
///     .schema("bridge_eu")
///     .connections(4);
/// assert!(!format!("{options:?}").contains("secret"));
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct PostgresOptions {
    url: SecretString,
    schema: String,
    connections: usize,
}

impl PostgresOptions {
    /// How many connections a store opens unless told otherwise.
    pub const DEFAULT_CONNECTIONS: usize = 2;

    /// The schema used unless told otherwise.
    pub const DEFAULT_SCHEMA: &'static str = "public";

    /// Options for the connection string `url`, in URL form
    /// (`postgres://user:password@host:port/database?options`) or key-value form
    /// (`host=… user=… dbname=…`), as understood by `tokio-postgres`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: SecretString::from(url.into()),
            schema: DEFAULT_SCHEMA.to_owned(),
            connections: DEFAULT_CONNECTIONS,
        }
    }

    /// Keep the tables in `schema` (created if missing) instead of [`Self::DEFAULT_SCHEMA`]: one
    /// database can then hold several independent bridges, or tests side by side. The name
    /// must be 1 to 63 ASCII letters, digits or `_`, not starting with a digit; it is used
    /// quoted, so case matters.
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = schema.into();
        self
    }

    /// Open `connections` connections (at least 1; default [`Self::DEFAULT_CONNECTIONS`]).
    pub fn connections(mut self, connections: usize) -> Self {
        self.connections = connections;
        self
    }
}

/// A [`StateStore`] in PostgreSQL, shared by every bridge instance that connects to the same
/// database and schema. See the [module documentation](self) for the semantics.
///
/// Cheap to clone: clones share the connections.
#[derive(Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
}

struct Inner {
    config: tokio_postgres::Config,
    /// `user@host:port/database`, for messages: never the password.
    endpoint: String,
    /// The password, to scrub from any message that might echo it.
    password: Option<String>,
    schema: String,
    sql: Sql,
    slots: Vec<Mutex<Option<Arc<Connection>>>>,
    next_slot: AtomicUsize,
}

struct Connection {
    client: Client,
    statements: Statements,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("endpoint", &self.inner.endpoint)
            .field("schema", &self.inner.schema)
            .field("connections", &self.inner.slots.len())
            .finish()
    }
}

impl PostgresStore {
    /// Connect to the database at `url` with default options, and bring its tables up to
    /// date. Same as [`connect_with`](Self::connect_with)`(PostgresOptions::new(url))`.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(PostgresOptions::new(url)).await
    }

    /// Connect as `options` say and bring the tables up to date (see the [module
    /// documentation](self#layout-and-migrations)). One connection is opened now, so a wrong
    /// address, database or password fails here; the others are opened on first use.
    ///
    /// Errors: [`Error::Config`] for an unreadable connection string, an invalid schema name,
    /// zero connections or `sslmode=require`; [`Error::Store`] when the server cannot be
    /// reached, refuses the login, or a migration fails.
    pub async fn connect_with(options: PostgresOptions) -> Result<Self> {
        let url = options.url.expose_secret();
        let password = password_in(url);
        let mut config: tokio_postgres::Config = url.parse().map_err(|err| {
            Error::config(scrub(&format!("invalid PostgreSQL connection string: {err}"), password.as_deref()))
        })?;
        let password =
            config.get_password().map(|bytes| String::from_utf8_lossy(bytes).into_owned()).or(password);
        if config.get_ssl_mode() == SslMode::Require {
            return Err(Error::config(
                "the connection string asks for sslmode=require, but this PostgreSQL store connects \
                 without TLS (loopback or trusted networks only); use sslmode=disable or prefer",
            ));
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(DEFAULT_CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("deskbridge");
        }
        validate_schema(&options.schema)?;
        if options.connections == 0 {
            return Err(Error::config("a PostgreSQL store needs at least one connection"));
        }
        let inner = Inner {
            endpoint: describe_endpoint(&config),
            password,
            sql: Sql::new(&quote_identifier(&options.schema)),
            schema: options.schema,
            slots: (0..options.connections).map(|_| Mutex::new(None)).collect(),
            next_slot: AtomicUsize::new(0),
            config,
        };
        let mut client = inner.open_client().await?;
        inner.migrate(&mut client).await?;
        let first = inner.prepare(client).await?;
        *inner.slots[0].lock().await = Some(Arc::new(first));
        Ok(Self { inner: Arc::new(inner) })
    }

    /// The schema holding the tables.
    pub fn schema(&self) -> &str {
        &self.inner.schema
    }

    /// Where the store connects, as `user@host:port/database` (no password).
    pub fn endpoint(&self) -> &str {
        &self.inner.endpoint
    }
}

/// Whether a failed call may be repeated without changing its meaning.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Retry {
    /// Repeating it is harmless: retry once on a fresh connection if the connection broke.
    Idempotent,
    /// It may have been applied before the connection broke: report, do not repeat.
    Never,
}

impl Inner {
    async fn open_client(&self) -> Result<Client> {
        let (client, connection) =
            self.config.connect(NoTls).await.map_err(|err| self.error("cannot connect", &err, None))?;
        let endpoint = self.endpoint.clone();
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(%endpoint, error = %err, "PostgreSQL connection closed");
            }
        });
        Ok(client)
    }

    async fn prepare(&self, client: Client) -> Result<Connection> {
        let statements = Statements::prepare(&client, &self.sql)
            .await
            .map_err(|err| self.error("preparing statements", &err, None))?;
        Ok(Connection { client, statements })
    }

    /// Bring the schema up to date, in one transaction under an advisory lock.
    async fn migrate(&self, client: &mut Client) -> Result<()> {
        let tx = client.transaction().await.map_err(|err| self.error("migrating the schema", &err, None))?;
        match self.migrate_in(&tx).await {
            Ok(()) => tx.commit().await.map_err(|err| self.error("migrating the schema", &err, None)),
            Err(err) => {
                // Roll back now rather than on drop, so the advisory lock and any table
                // locks are released before the error reaches the caller. A failed rollback
                // means the connection is gone, which releases them too.
                let _ = tx.rollback().await;
                Err(err)
            }
        }
    }

    async fn migrate_in(&self, tx: &tokio_postgres::Transaction<'_>) -> Result<()> {
        let fail = |err: tokio_postgres::Error| self.error("migrating the schema", &err, None);
        let schema = quote_identifier(&self.schema);
        tx.execute("SELECT pg_advisory_xact_lock($1, hashtext($2))", &[&MIGRATION_LOCK_CLASS, &self.schema])
            .await
            .map_err(fail)?;
        let schema_exists: bool = tx
            .query_one("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", &[&self.schema])
            .await
            .and_then(|row| row.try_get(0))
            .map_err(fail)?;
        if !schema_exists {
            tx.batch_execute(&format!("CREATE SCHEMA {schema}")).await.map_err(fail)?;
        }
        tx.batch_execute(&format!(
            "CREATE TABLE IF NOT EXISTS {schema}.deskbridge_migrations (
                version integer PRIMARY KEY,
                description text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )"
        ))
        .await
        .map_err(fail)?;
        let applied: Option<i32> = tx
            .query_one(&format!("SELECT max(version) FROM {schema}.deskbridge_migrations"), &[])
            .await
            .and_then(|row| row.try_get(0))
            .map_err(fail)?;
        let applied = applied.unwrap_or(0);
        let known = MIGRATIONS.last().map_or(0, |(version, _, _)| *version);
        if applied > known {
            return Err(Error::store(format!(
                "PostgreSQL {}: schema \"{}\" is at migration {applied}, newer than this deskbridge knows \
                 ({known}); upgrade deskbridge",
                self.endpoint, self.schema
            )));
        }
        for (version, description, sql) in MIGRATIONS.iter().filter(|(version, _, _)| *version > applied) {
            tx.batch_execute(&sql.replace("{schema}", &schema)).await.map_err(fail)?;
            tx.execute(
                &format!("INSERT INTO {schema}.deskbridge_migrations (version, description) VALUES ($1, $2)"),
                &[version, description],
            )
            .await
            .map_err(fail)?;
        }
        Ok(())
    }

    /// The live connection of `slot`, reopened if it is missing or closed.
    async fn connection(&self, slot: usize) -> Result<Arc<Connection>> {
        let mut held = self.slots[slot].lock().await;
        if let Some(connection) = held.as_ref().filter(|c| !c.client.is_closed()) {
            return Ok(Arc::clone(connection));
        }
        *held = None;
        let client = self.open_client().await?;
        let connection = Arc::new(self.prepare(client).await?);
        *held = Some(Arc::clone(&connection));
        Ok(connection)
    }

    /// Drop `connection` from `slot` (if it is still the one there) so the next call reopens.
    async fn forget(&self, slot: usize, connection: &Arc<Connection>) {
        let mut held = self.slots[slot].lock().await;
        if held.as_ref().is_some_and(|c| Arc::ptr_eq(c, connection)) {
            *held = None;
        }
    }

    /// Run `call` on a connection; reconnect and retry once when the connection broke and
    /// `retry` allows it.
    async fn run<T, F, Fut>(&self, what: &str, retry: Retry, call: F) -> Result<T>
    where
        F: Fn(Arc<Connection>) -> Fut,
        Fut: Future<Output = Result<T, tokio_postgres::Error>>,
    {
        let slot = self.next_slot.fetch_add(1, Ordering::Relaxed) % self.slots.len();
        let mut retried = false;
        loop {
            let connection = self.connection(slot).await?;
            let err = match call(Arc::clone(&connection)).await {
                Ok(value) => return Ok(value),
                Err(err) => err,
            };
            let lost = connection_lost(&err, &connection.client);
            if lost {
                self.forget(slot, &connection).await;
                if retry == Retry::Idempotent && !retried {
                    retried = true;
                    continue;
                }
            }
            let note = (lost && retry == Retry::Never).then_some(
                "the connection was lost, so whether the change was applied is unknown; the next call reconnects",
            );
            return Err(self.error(what, &err, note));
        }
    }

    fn error(&self, what: &str, err: &tokio_postgres::Error, note: Option<&str>) -> Error {
        let detail = match err.as_db_error() {
            Some(db) => format!("{} {}: {}", db.severity(), db.code().code(), db.message()),
            None => err.to_string(),
        };
        let mut message = format!("PostgreSQL {}: {what} failed: {detail}", self.endpoint);
        if let Some(note) = note {
            message.push_str("; ");
            message.push_str(note);
        }
        let password = self.password.as_deref();
        Error::store_with_source(
            scrub(&message, password),
            crate::error::scrubbed_chain(err, &|text| scrub(text, password)),
        )
    }

    /// Explain why a claim call changed nothing: another owner holds it (`Ok`), or the key
    /// holds something that is not a claim (an error, as in the provided implementations).
    async fn explain_untouched_claim(&self, key: &str) -> Result<()> {
        match self.get(key).await? {
            None => Ok(()),
            Some(value) => claim_from_value(key, &value).map(|_| ()),
        }
    }

    async fn get(&self, key: &str) -> Result<Option<Value>> {
        let row = self
            .run(&format!("reading key \"{key}\""), Retry::Idempotent, |c| async move {
                c.client.query_opt(&c.statements.get, &[&key]).await
            })
            .await?;
        row.map(|row| {
            row.try_get::<_, Value>(0)
                .map_err(|err| self.error(&format!("reading the value of key \"{key}\""), &err, None))
        })
        .transpose()
    }
}

#[async_trait]
impl StateStore for PostgresStore {
    async fn get(&self, key: &str) -> Result<Option<Value>> {
        self.inner.get(key).await
    }

    async fn put(&self, key: &str, value: Value) -> Result<()> {
        let value = &value;
        self.inner
            .run(&format!("writing key \"{key}\""), Retry::Idempotent, |c| async move {
                c.client.execute(&c.statements.put, &[&key, value]).await
            })
            .await
            .map(|_| ())
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.inner
            .run(&format!("deleting key \"{key}\""), Retry::Idempotent, |c| async move {
                c.client.execute(&c.statements.delete, &[&key]).await
            })
            .await
            .map(|_| ())
    }

    async fn compare_and_set(&self, key: &str, expected: Option<&Value>, new: Option<Value>) -> Result<bool> {
        let new = new.as_ref();
        let what = &format!("compare-and-set on key \"{key}\"");
        match (expected, new) {
            (None, Some(new)) => self
                .inner
                .run(what, Retry::Never, |c| async move {
                    c.client.execute(&c.statements.insert_if_absent, &[&key, new]).await
                })
                .await
                .map(|rows| rows == 1),
            (Some(expected), Some(new)) => self
                .inner
                .run(what, Retry::Never, |c| async move {
                    c.client.execute(&c.statements.replace_if_equal, &[&key, expected, new]).await
                })
                .await
                .map(|rows| rows == 1),
            (Some(expected), None) => self
                .inner
                .run(what, Retry::Never, |c| async move {
                    c.client.execute(&c.statements.delete_if_equal, &[&key, expected]).await
                })
                .await
                .map(|rows| rows == 1),
            (None, None) => {
                let row = self
                    .inner
                    .run(what, Retry::Idempotent, |c| async move {
                        c.client.query_one(&c.statements.is_absent, &[&key]).await
                    })
                    .await?;
                row.try_get(0).map_err(|err| self.inner.error(what, &err, None))
            }
        }
    }

    async fn scan_prefix(&self, prefix: &str) -> Result<Vec<(String, Value)>> {
        let upper = prefix_upper_bound(prefix);
        let upper = upper.as_deref();
        let rows = self
            .inner
            .run(&format!("scanning keys starting with \"{prefix}\""), Retry::Idempotent, |c| async move {
                match upper {
                    Some(upper) => c.client.query(&c.statements.scan_range, &[&prefix, &upper]).await,
                    None => c.client.query(&c.statements.scan_from, &[&prefix]).await,
                }
            })
            .await?;
        rows.iter()
            .map(|row| {
                let key: String = row.try_get(0)?;
                let value: Value = row.try_get(1)?;
                Ok((key, value))
            })
            .collect::<Result<_, tokio_postgres::Error>>()
            .map_err(|err| self.inner.error("reading scanned keys", &err, None))
    }

    async fn insert_if_absent(&self, key: &str, value: Value) -> Result<bool> {
        self.compare_and_set(key, None, Some(value)).await
    }

    /// Every op is its own statement, committed on its own exactly as the single call it
    /// stands for (so each agent's compare-and-set is judged against what the other
    /// instances see at that moment, and no row lock is held across the batch), but the
    /// statements are pipelined on one connection: a batch costs about one round trip
    /// instead of one per op.
    ///
    /// On an error, ops after the failed one may have been applied too (the pipeline was
    /// already sent), and a lost connection leaves unknown which were: re-read what the
    /// batch was about, as the [trait](StateStore::write_batch) asks.
    async fn write_batch(&self, ops: Vec<WriteOp>) -> Result<Vec<bool>> {
        if ops.is_empty() {
            return Ok(Vec::new());
        }
        let ops = &ops;
        let what = format!("a batch of {} writes (first key \"{}\")", ops.len(), ops[0].key());
        self.inner
            .run(&what, Retry::Never, |c| async move {
                let c = &c;
                let calls = ops.iter().map(|op| async move {
                    match op {
                        WriteOp::Put { key, value } => {
                            c.client.execute(&c.statements.put, &[key, value]).await.map(|_| true)
                        }
                        WriteOp::Delete { key } => {
                            c.client.execute(&c.statements.delete, &[key]).await.map(|_| true)
                        }
                        WriteOp::CompareAndSet { key, expected, new } => match (expected, new) {
                            (None, Some(new)) => c
                                .client
                                .execute(&c.statements.insert_if_absent, &[key, new])
                                .await
                                .map(|rows| rows == 1),
                            (Some(expected), Some(new)) => c
                                .client
                                .execute(&c.statements.replace_if_equal, &[key, expected, new])
                                .await
                                .map(|rows| rows == 1),
                            (Some(expected), None) => c
                                .client
                                .execute(&c.statements.delete_if_equal, &[key, expected])
                                .await
                                .map(|rows| rows == 1),
                            (None, None) => {
                                c.client.query_one(&c.statements.is_absent, &[key]).await?.try_get(0)
                            }
                        },
                    }
                });
                // `join_all` polls the calls in order, so they are sent in order.
                futures_util::future::join_all(calls).await.into_iter().collect::<Result<Vec<bool>, _>>()
            })
            .await
    }

    /// One statement, judged by the database server's clock: `now` is ignored (see the
    /// [module documentation](self)). Retried once if the connection breaks mid-call, which
    /// is safe: a repeated claim by the same owner renews it.
    async fn try_claim(&self, key: &str, owner: &str, ttl: Duration, _now: DateTime<Utc>) -> Result<bool> {
        let ttl_micros = i64::try_from(ttl.as_micros())
            .map_err(|_| Error::store(format!("claim \"{key}\": ttl {ttl:?} is out of range")))?;
        let rows = self
            .inner
            .run(&format!("claiming key \"{key}\""), Retry::Idempotent, |c| async move {
                c.client.execute(&c.statements.claim, &[&key, &owner, &ttl_micros]).await
            })
            .await?;
        if rows == 1 {
            return Ok(true);
        }
        self.inner.explain_untouched_claim(key).await?;
        Ok(false)
    }

    async fn release_claim(&self, key: &str, owner: &str) -> Result<bool> {
        let rows = self
            .inner
            .run(&format!("releasing the claim on key \"{key}\""), Retry::Never, |c| async move {
                c.client.execute(&c.statements.release, &[&key, &owner]).await
            })
            .await?;
        if rows == 1 {
            return Ok(true);
        }
        self.inner.explain_untouched_claim(key).await?;
        Ok(false)
    }

    async fn flush(&self) -> Result<()> {
        // Every call is durable when it returns.
        Ok(())
    }
}

/// The SQL of every statement, with the schema filled in.
struct Sql {
    get: String,
    put: String,
    delete: String,
    insert_if_absent: String,
    replace_if_equal: String,
    delete_if_equal: String,
    is_absent: String,
    scan_from: String,
    scan_range: String,
    claim: String,
    release: String,
}

impl Sql {
    fn new(schema: &str) -> Self {
        let table = format!("{schema}.deskbridge_state");
        // A well-formed claim: {"owner": string, "expires_at": string}.
        let is_claim = "jsonb_typeof(s.value) = 'object' AND jsonb_typeof(s.value->'owner') = 'string' \
                        AND jsonb_typeof(s.value->'expires_at') = 'string'";
        Self {
            get: format!("SELECT value FROM {table} WHERE key = $1"),
            put: format!(
                "INSERT INTO {table} (key, value, updated_at) VALUES ($1, $2, now()) \
                 ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at"
            ),
            delete: format!("DELETE FROM {table} WHERE key = $1"),
            insert_if_absent: format!(
                "INSERT INTO {table} (key, value, updated_at) VALUES ($1, $2, now()) ON CONFLICT (key) DO NOTHING"
            ),
            replace_if_equal: format!(
                "UPDATE {table} SET value = $3, updated_at = now() WHERE key = $1 AND value::text = $2::jsonb::text"
            ),
            delete_if_equal: format!("DELETE FROM {table} WHERE key = $1 AND value::text = $2::jsonb::text"),
            is_absent: format!("SELECT NOT EXISTS (SELECT 1 FROM {table} WHERE key = $1)"),
            scan_from: format!(
                "SELECT key, value FROM {table} WHERE key >= $1 AND starts_with(key, $1) ORDER BY key"
            ),
            scan_range: format!(
                "SELECT key, value FROM {table} WHERE key >= $1 AND key < $2 AND starts_with(key, $1) ORDER BY key"
            ),
            // The outer CASE keeps the timestamp cast away from values that are not claims
            // (SQL does not promise left-to-right AND/OR); the inner one makes sure the cast
            // is always evaluated for claims, so a malformed timestamp fails the statement
            // (as it fails the provided implementation) instead of depending on evaluation
            // order.
            claim: format!(
                "INSERT INTO {table} AS s (key, value, updated_at) \
                 VALUES ($1, jsonb_build_object('owner', $2::text, 'expires_at', \
                     to_char((now() + $3::bigint * interval '1 microsecond') AT TIME ZONE 'UTC', \
                             'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')), now()) \
                 ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at \
                 WHERE CASE WHEN {is_claim} THEN \
                     CASE WHEN (s.value->>'expires_at')::timestamptz <= now() THEN true \
                     ELSE s.value->>'owner' = $2::text END \
                 ELSE false END"
            ),
            release: format!(
                "DELETE FROM {table} AS s WHERE s.key = $1 AND CASE WHEN {is_claim} THEN \
                     CASE WHEN (s.value->>'expires_at')::timestamptz IS NULL THEN false \
                     ELSE s.value->>'owner' = $2::text END \
                 ELSE false END"
            ),
        }
    }
}

/// The prepared statements of one connection.
struct Statements {
    get: Statement,
    put: Statement,
    delete: Statement,
    insert_if_absent: Statement,
    replace_if_equal: Statement,
    delete_if_equal: Statement,
    is_absent: Statement,
    scan_from: Statement,
    scan_range: Statement,
    claim: Statement,
    release: Statement,
}

impl Statements {
    async fn prepare(client: &Client, sql: &Sql) -> Result<Self, tokio_postgres::Error> {
        Ok(Self {
            get: client.prepare(&sql.get).await?,
            put: client.prepare(&sql.put).await?,
            delete: client.prepare(&sql.delete).await?,
            insert_if_absent: client.prepare(&sql.insert_if_absent).await?,
            replace_if_equal: client.prepare(&sql.replace_if_equal).await?,
            delete_if_equal: client.prepare(&sql.delete_if_equal).await?,
            is_absent: client.prepare(&sql.is_absent).await?,
            scan_from: client.prepare(&sql.scan_from).await?,
            scan_range: client.prepare(&sql.scan_range).await?,
            claim: client.prepare(&sql.claim).await?,
            release: client.prepare(&sql.release).await?,
        })
    }
}

/// Whether `err` means the connection is gone (rather than the statement being refused).
fn connection_lost(err: &tokio_postgres::Error, client: &Client) -> bool {
    if client.is_closed() || err.is_closed() {
        return true;
    }
    if let Some(code) = err.code() {
        // Class 08: connection exception; 57P: operator intervention (shutdown, restart).
        return code.code().starts_with("08") || code.code().starts_with("57P");
    }
    std::error::Error::source(err).is_some_and(|source| source.is::<std::io::Error>())
}

/// The smallest string greater than every string that starts with `prefix` (bytewise, which
/// is code point order), or `None` when there is none (empty prefix, or only `char::MAX`).
fn prefix_upper_bound(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match last as u32 + 1 {
            0xD800 => Some('\u{E000}'),
            code => char::from_u32(code),
        };
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

fn validate_schema(schema: &str) -> Result<()> {
    let valid = !schema.is_empty()
        && schema.len() <= 63
        && schema.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !schema.starts_with(|c: char| c.is_ascii_digit());
    if valid {
        Ok(())
    } else {
        Err(Error::config(format!(
            "invalid PostgreSQL schema name \"{schema}\": use 1 to 63 ASCII letters, digits or '_', \
             not starting with a digit"
        )))
    }
}

/// `schema` as a quoted SQL identifier (it holds only letters, digits and `_`).
fn quote_identifier(schema: &str) -> String {
    format!("\"{schema}\"")
}

fn describe_endpoint(config: &tokio_postgres::Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|host| match host {
            tokio_postgres::config::Host::Tcp(name) => name.clone(),
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    let host = if hosts.is_empty() { "localhost".to_owned() } else { hosts.join(",") };
    let port = match config.get_ports() {
        [] => "5432".to_owned(),
        ports => ports.iter().map(u16::to_string).collect::<Vec<_>>().join(","),
    };
    let user = config.get_user().unwrap_or("");
    let database = config.get_dbname().unwrap_or(user);
    format!("{user}@{host}:{port}/{database}")
}

/// The password of a URL-form connection string, raw and percent-decoded (for scrubbing
/// messages even when the string does not parse).
fn password_in(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let raw = parsed.password()?;
    let decoded = percent_decode(raw);
    Some(if decoded.is_empty() { raw.to_owned() } else { decoded })
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `message` with every occurrence of `password` replaced, so no message echoes it.
fn scrub(message: &str, password: Option<&str>) -> String {
    match password {
        Some(password) if !password.is_empty() => message.replace(password, "***"),
        _ => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upper_bound_is_the_next_string_after_the_prefix() {
        assert_eq!(prefix_upper_bound("dm/"), Some("dm0".to_owned()));
        assert_eq!(prefix_upper_bound(""), None);
        assert_eq!(prefix_upper_bound("a\u{10FFFF}"), Some("b".to_owned()));
        assert_eq!(prefix_upper_bound("\u{10FFFF}"), None);
        assert_eq!(prefix_upper_bound("x\u{D7FF}"), Some("x\u{E000}".to_owned()));
    }

    #[test]
    fn schema_names_are_checked() {
        for good in ["public", "t_1", "Bridge_EU", "_x"] {
            assert!(validate_schema(good).is_ok(), "{good}");
        }
        for bad in ["", "1abc", "a-b", "a\"b", "a b", &"x".repeat(64)] {
            assert!(validate_schema(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn passwords_are_scrubbed_raw_and_decoded() {
        assert_eq!(password_in("postgres://u:p%40ss@h/db").as_deref(), Some("p@ss"));
        assert_eq!(password_in("postgres://u@h/db"), None);
        assert_eq!(scrub("no p@ss here", Some("p@ss")), "no *** here");
        assert_eq!(percent_decode("a%2"), "a%2");
    }

    #[test]
    fn endpoint_names_no_password() {
        let config: tokio_postgres::Config = "postgres://ana:hunter2@db.example:6543/state".parse().unwrap();
        assert_eq!(describe_endpoint(&config), "ana@db.example:6543/state");
    }
}
