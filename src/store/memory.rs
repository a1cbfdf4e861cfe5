//! [`MemoryStore`]: state in process memory.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{compare_and_set_map, scan_map};
use crate::Result;
use crate::ports::{StateStore, via_cas};

/// A [`StateStore`] that keeps everything in memory; nothing survives the process.
///
/// Cloning gives another handle to the *same* state, so a test can hand one clone to an
/// engine and inspect the other. Every call holds one lock for its whole duration, so each
/// call (including [`compare_and_set`](StateStore::compare_and_set)) is atomic.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    entries: Arc<Mutex<BTreeMap<String, Value>>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// A store that starts with `entries`.
    pub fn with_entries(entries: impl IntoIterator<Item = (String, Value)>) -> Self {
        Self { entries: Arc::new(Mutex::new(entries.into_iter().collect())) }
    }

    /// A copy of every entry, in key order.
    pub fn snapshot(&self) -> BTreeMap<String, Value> {
        self.lock().clone()
    }

    /// The number of keys held.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether the store holds no key.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Value>> {
        // No code panics while holding this lock, and every mutation is a single map
        // operation, so a poisoned lock still guards a consistent map.
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl StateStore for MemoryStore {
    async fn get(&self, key: &str) -> Result<Option<Value>> {
        Ok(self.lock().get(key).cloned())
    }

    async fn put(&self, key: &str, value: Value) -> Result<()> {
        self.lock().insert(key.to_owned(), value);
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.lock().remove(key);
        Ok(())
    }

    async fn compare_and_set(&self, key: &str, expected: Option<&Value>, new: Option<Value>) -> Result<bool> {
        Ok(compare_and_set_map(&mut self.lock(), key, expected, new))
    }

    async fn scan_prefix(&self, prefix: &str) -> Result<Vec<(String, Value)>> {
        Ok(scan_map(&self.lock(), prefix))
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
