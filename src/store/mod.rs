//! State stores: where the engines keep what must survive a restart.
//!
//! Every store implements the [`StateStore`] port: keys are `/`-separated strings
//! (`inbox/processed/123`), values are JSON, and each call is atomic.
//!
//! - [`MemoryStore`]: a process-local map behind a cloneable handle. For tests, dry runs
//!   and embedders that keep state elsewhere.
//! - `SqliteStore` (feature `sqlite`, on by default): an embedded SQLite database, one row
//!   per key, in write-ahead-log mode. **The default for a single bridge process**: storing
//!   10,000 agents' states takes 0.2 s batched (1.3 s one call at a time) and a change
//!   about 0.2 ms (see `docs/PERFORMANCE.md`); it imports an existing [`FileStore`] file
//!   once.
//! - [`FileStore`]: one JSON file holding the whole map, rewritten atomically (temp file,
//!   fsync, rename, directory fsync) on every mutation. Every change costs a rewrite of the
//!   whole file and two `fsync`s (23–50 ms per change at 10,000 agents), so it suits tiny
//!   set-ups, tests and state you want to read by eye.
//! - [`open_state`] / [`StateSpec`]: open the store a `--state` argument names (a path: the
//!   embedded database; `postgres://…`: the shared PostgreSQL store).
//! - [`StateStoreExt`]: typed helpers ([`get_as`](StateStoreExt::get_as),
//!   [`put_as`](StateStoreExt::put_as), …) available on every store, whose errors name
//!   the key.
//!
//! - `PostgresStore` (feature `postgres`): state in a PostgreSQL database that several
//!   bridge instances share, with claims judged by the server's clock. It passes the same
//!   conformance suite (`tests/common/store_conformance.rs`) as the others.
//!
//! Every store also offers claims (leases) through [`StateStore::try_claim`] and
//! [`StateStore::release_claim`], so several instances can split work without doing it twice.

mod file;
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
mod spec;
#[cfg(feature = "sqlite")]
mod sqlite;

pub use file::{FILE_FORMAT_VERSION, FileStore};
pub use memory::MemoryStore;
#[cfg(feature = "postgres")]
pub use postgres::{PostgresOptions, PostgresStore};
pub use spec::{StateSpec, open_state};
#[cfg(feature = "sqlite")]
pub use sqlite::{SqliteDurability, SqliteOptions, SqliteStore};

pub use crate::ports::{Claim, StateStore, WriteOp};

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{Error, Result};

/// The provider name used in [`Error::Decode`] when a stored value cannot be read as the
/// requested type.
pub const STORE_ERROR_SOURCE: &str = "state store";

/// Typed access on top of any [`StateStore`]: values go through serde, and every error
/// names the key it concerns.
///
/// Implemented for every `StateStore` (including `dyn StateStore`); bring it into scope
/// with `use deskbridge::store::StateStoreExt;`.
#[async_trait]
pub trait StateStoreExt: StateStore {
    /// The value at `key`, decoded as `T`; `None` when the key is absent.
    ///
    /// A value that does not decode as `T` is an [`Error::Decode`] whose provider is
    /// [`STORE_ERROR_SOURCE`], whose context names the key and whose `json_path` points at
    /// the offending part of the value.
    async fn get_as<T>(&self, key: &str) -> Result<Option<T>>
    where
        T: DeserializeOwned + Send,
    {
        match self.get(key).await? {
            None => Ok(None),
            Some(value) => decode_value(key, value).map(Some),
        }
    }

    /// Encode `value` as JSON and store it at `key`.
    ///
    /// A value serde cannot encode as JSON (for example a map with non-string keys) is an
    /// [`Error::Store`] naming the key; nothing is written.
    async fn put_as<T>(&self, key: &str, value: &T) -> Result<()>
    where
        T: Serialize + Sync + ?Sized,
    {
        let encoded = encode_value(key, value)?;
        self.put(key, encoded).await
    }

    /// Encode `value` and store it at `key` only if the key is absent. Returns whether it
    /// was stored (the caller is the first to claim the key).
    async fn insert_if_absent_as<T>(&self, key: &str, value: &T) -> Result<bool>
    where
        T: Serialize + Sync + ?Sized,
    {
        let encoded = encode_value(key, value)?;
        self.insert_if_absent(key, encoded).await
    }

    /// Every key starting with `prefix`, in key order, with its value decoded as `T`.
    /// The first value that does not decode fails the whole call, naming its key.
    async fn scan_prefix_as<T>(&self, prefix: &str) -> Result<Vec<(String, T)>>
    where
        T: DeserializeOwned + Send,
    {
        self.scan_prefix(prefix)
            .await?
            .into_iter()
            .map(|(key, value)| {
                let decoded = decode_value(&key, value)?;
                Ok((key, decoded))
            })
            .collect()
    }
}

impl<S: StateStore + ?Sized> StateStoreExt for S {}

fn decode_value<T: DeserializeOwned>(key: &str, value: Value) -> Result<T> {
    serde_path_to_error::deserialize(value).map_err(|err| Error::Decode {
        provider: STORE_ERROR_SOURCE,
        context: format!("value at key \"{key}\""),
        json_path: err.path().to_string(),
        message: err.into_inner().to_string(),
    })
}

fn encode_value<T: Serialize + ?Sized>(key: &str, value: &T) -> Result<Value> {
    serde_json::to_value(value)
        .map_err(|err| Error::store(format!("cannot encode the value for key \"{key}\" as JSON: {err}")))
}

/// The keys of `map` that start with `prefix`, in key order, with their values.
pub(crate) fn scan_map(
    map: &std::collections::BTreeMap<String, Value>,
    prefix: &str,
) -> Vec<(String, Value)> {
    map.range::<str, _>((std::ops::Bound::Included(prefix), std::ops::Bound::Unbounded))
        .take_while(|(key, _)| key.starts_with(prefix))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

/// Apply a compare-and-set to `map`. Returns whether it applied.
pub(crate) fn compare_and_set_map(
    map: &mut std::collections::BTreeMap<String, Value>,
    key: &str,
    expected: Option<&Value>,
    new: Option<Value>,
) -> bool {
    if map.get(key) != expected {
        return false;
    }
    match new {
        Some(value) => {
            map.insert(key.to_owned(), value);
        }
        None => {
            map.remove(key);
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use std::collections::BTreeMap;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Cursor {
        since_id: String,
        count: u32,
    }

    #[tokio::test]
    async fn typed_values_round_trip() {
        let store = MemoryStore::new();
        let cursor = Cursor { since_id: "42".into(), count: 3 };
        store.put_as("x/cursor", &cursor).await.unwrap();
        assert_eq!(store.get_as::<Cursor>("x/cursor").await.unwrap(), Some(cursor));
        assert_eq!(store.get_as::<Cursor>("x/other").await.unwrap(), None);
        assert!(store.insert_if_absent_as("x/claim", "first").await.unwrap());
        assert!(!store.insert_if_absent_as("x/claim", "second").await.unwrap());
        let claims: Vec<(String, String)> = store.scan_prefix_as("x/claim").await.unwrap();
        assert_eq!(claims, vec![("x/claim".to_owned(), "first".to_owned())]);
    }

    #[tokio::test]
    async fn a_value_of_the_wrong_shape_names_key_and_path() {
        let store = MemoryStore::new();
        store.put("x/cursor", serde_json::json!({"since_id": "1", "count": "many"})).await.unwrap();
        let err = store.get_as::<Cursor>("x/cursor").await.unwrap_err();
        match &err {
            Error::Decode { provider, context, json_path, .. } => {
                assert_eq!(*provider, STORE_ERROR_SOURCE);
                assert!(context.contains("\"x/cursor\""), "{context}");
                assert_eq!(json_path, "count");
            }
            other => panic!("unexpected error {other:?}"),
        }
        let err = store.scan_prefix_as::<Cursor>("x/").await.unwrap_err();
        assert!(err.to_string().contains("x/cursor"), "{err}");
    }

    #[tokio::test]
    async fn a_value_json_cannot_hold_is_a_store_error_naming_the_key() {
        let store = MemoryStore::new();
        let mut bad: BTreeMap<(u8, u8), u8> = BTreeMap::new();
        bad.insert((1, 2), 3);
        let err = store.put_as("x/bad", &bad).await.unwrap_err();
        assert!(matches!(err, Error::Store { .. }), "{err:?}");
        assert!(err.to_string().contains("\"x/bad\""), "{err}");
        assert_eq!(store.get("x/bad").await.unwrap(), None);
    }
}
