//! [`StateSpec`] and [`open_state`]: the store a `--state` argument names.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use secrecy::SecretString;

use crate::ports::StateStore;
use crate::{Error, Result};

/// Where a bridge keeps its state, as an operator writes it on a command line
/// (`--state SPEC`).
///
/// - `postgres://…` or `postgresql://…`: the shared [`PostgresStore`](super::PostgresStore)
///   (feature `postgres`). Every instance that should share state gets the same string.
/// - Anything else is a path to the embedded database, a
///   [`SqliteStore`](super::SqliteStore) (feature `sqlite`, on by default):
///   - `state.sqlite3` (or any name not ending in `.json`) is the database itself;
///   - `state.json` (a [`FileStore`](super::FileStore) file, what earlier versions took)
///     opens the database `state.sqlite3` next to it instead.
///
///   Either way, an existing `FileStore` file next to the database — the `.json` given, or
///   the database's name with `.json` in place of its extension — is imported once into a
///   database that has not imported one yet, and left untouched
///   ([`SqliteOptions::import_file_store`](super::SqliteOptions::import_file_store)).
///
/// The connection string is kept as a secret: neither `Debug` nor `Display` shows the
/// password.
///
/// ```
/// use deskbridge::store::StateSpec;
/// # #[cfg(feature = "sqlite")] {
/// let spec = StateSpec::parse("/var/lib/deskbridge/state.json").unwrap();
/// assert_eq!(spec.to_string(), "SQLite database /var/lib/deskbridge/state.sqlite3 \
///     (importing /var/lib/deskbridge/state.json once if present)");
/// # }
/// # #[cfg(feature = "postgres")] {
/// let spec = StateSpec::parse("postgres://bridge:secret@db.internal/deskbridge").unwrap();
/// assert!(spec.is_shared());
/// assert!(!format!("{spec} {spec:?}").contains("secret"));
/// # }
/// ```
#[derive(Clone)]
pub struct StateSpec {
    kind: Kind,
}

#[derive(Clone)]
enum Kind {
    Embedded { database: PathBuf, import: PathBuf },
    Postgres { url: SecretString, shown: String },
}

impl StateSpec {
    /// Read a `--state` argument. An empty argument, a `postgres://` string when the
    /// `postgres` feature is off, or a path when the `sqlite` feature is off is an
    /// [`Error::Config`] saying so.
    pub fn parse(spec: &str) -> Result<Self> {
        let spec = spec.trim();
        if spec.is_empty() {
            return Err(Error::config("the state spec is empty: give a database path or a postgres:// URL"));
        }
        if spec.starts_with("postgres://") || spec.starts_with("postgresql://") {
            if !cfg!(feature = "postgres") {
                return Err(Error::config(
                    "a postgres:// state needs deskbridge built with the `postgres` feature",
                ));
            }
            return Ok(Self {
                kind: Kind::Postgres { url: SecretString::from(spec), shown: redacted(spec) },
            });
        }
        if !cfg!(feature = "sqlite") {
            return Err(Error::config(format!(
                "state path {spec}: the embedded database needs deskbridge built with the `sqlite` feature \
                 (or open a FileStore yourself)"
            )));
        }
        let path = Path::new(spec);
        let (database, import) = if has_extension(path, "json") {
            (path.with_extension("sqlite3"), path.to_path_buf())
        } else {
            (path.to_path_buf(), path.with_extension("json"))
        };
        Ok(Self { kind: Kind::Embedded { database, import } })
    }

    /// Whether several instances may share this store (PostgreSQL).
    pub fn is_shared(&self) -> bool {
        matches!(self.kind, Kind::Postgres { .. })
    }

    /// The embedded database file, when this spec names one.
    pub fn database_path(&self) -> Option<&Path> {
        match &self.kind {
            Kind::Embedded { database, .. } => Some(database),
            Kind::Postgres { .. } => None,
        }
    }

    /// Open the store: the embedded database (created when missing, importing the
    /// `FileStore` file next to it once) or a connection to PostgreSQL (whose schema is
    /// created or migrated).
    pub async fn open(&self) -> Result<Arc<dyn StateStore>> {
        match &self.kind {
            Kind::Embedded { database, import } => open_embedded(database, import).await,
            Kind::Postgres { url, .. } => open_postgres(url).await,
        }
    }
}

/// Open the store `spec` names (see [`StateSpec`]): `StateSpec::parse(spec)?.open()`.
pub async fn open_state(spec: &str) -> Result<Arc<dyn StateStore>> {
    StateSpec::parse(spec)?.open().await
}

impl fmt::Display for StateSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Embedded { database, import } => write!(
                f,
                "SQLite database {} (importing {} once if present)",
                database.display(),
                import.display()
            ),
            Kind::Postgres { shown, .. } => write!(f, "PostgreSQL {shown}"),
        }
    }
}

impl fmt::Debug for StateSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StateSpec({self})")
    }
}

fn has_extension(path: &Path, extension: &str) -> bool {
    path.extension().is_some_and(|ext| ext.eq_ignore_ascii_case(extension))
}

/// The connection string without its password (and without its query, which may hold
/// one), for messages.
fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                // Cannot fail for a URL with a host, which any URL with a password has.
                let _ = parsed.set_password(Some("***"));
            }
            parsed.set_query(None);
            parsed.to_string()
        }
        Err(_) => "(unreadable connection string)".to_owned(),
    }
}

#[cfg(feature = "sqlite")]
async fn open_embedded(database: &Path, import: &Path) -> Result<Arc<dyn StateStore>> {
    let options = super::SqliteOptions::new(database).import_file_store(import);
    Ok(Arc::new(super::SqliteStore::open_with(options).await?))
}

#[cfg(not(feature = "sqlite"))]
async fn open_embedded(_database: &Path, _import: &Path) -> Result<Arc<dyn StateStore>> {
    Err(Error::config("the embedded database needs deskbridge built with the `sqlite` feature"))
}

#[cfg(feature = "postgres")]
async fn open_postgres(url: &SecretString) -> Result<Arc<dyn StateStore>> {
    use secrecy::ExposeSecret;
    Ok(Arc::new(super::PostgresStore::connect(url.expose_secret()).await?))
}

#[cfg(not(feature = "postgres"))]
async fn open_postgres(_url: &SecretString) -> Result<Arc<dyn StateStore>> {
    Err(Error::config("a postgres:// state needs deskbridge built with the `postgres` feature"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_specs_are_refused() {
        for spec in ["", "   "] {
            assert!(matches!(StateSpec::parse(spec), Err(Error::Config(_))), "{spec:?}");
        }
    }

    #[cfg(feature = "sqlite")]
    #[test]
    fn paths_name_the_database_and_the_file_store_file_beside_it() {
        let spec = StateSpec::parse("dir/state.json").unwrap();
        assert_eq!(spec.database_path(), Some(Path::new("dir/state.sqlite3")));
        assert!(!spec.is_shared());
        let spec = StateSpec::parse("dir/state.db").unwrap();
        assert_eq!(spec.database_path(), Some(Path::new("dir/state.db")));
        assert_eq!(
            spec.to_string(),
            "SQLite database dir/state.db (importing dir/state.json once if present)"
        );
        let spec = StateSpec::parse("state").unwrap();
        assert_eq!(spec.database_path(), Some(Path::new("state")));
        assert!(spec.to_string().contains("state.json"), "{spec}");
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn postgres_urls_are_shared_and_never_show_the_password() {
        let spec =
            StateSpec::parse("postgresql://bridge:Pa55word@db.internal:5433/desk?password=Pa55word").unwrap();
        assert!(spec.is_shared());
        assert_eq!(spec.database_path(), None);
        let shown = format!("{spec} {spec:?}");
        assert!(!shown.contains("Pa55word"), "{shown}");
        assert!(shown.contains("db.internal:5433/desk"), "{shown}");
    }

    #[cfg(not(feature = "postgres"))]
    #[test]
    fn postgres_urls_need_the_feature() {
        let err = StateSpec::parse("postgres://u:p@h/d").unwrap_err();
        assert!(err.to_string().contains("`postgres` feature"), "{err}");
        assert!(!err.to_string().contains("u:p"), "{err}");
    }
}
