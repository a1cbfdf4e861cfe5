//! One `#[tokio::test]` per check of `deskbridge::test_util::store_conformance` (feature
//! `test-util`), so a failing check is named in the test output.
//!
//! ```ignore
//! #[macro_use]
//! mod common;
//! store_conformance_tests!(async { (Arc::new(MemoryStore::new()) as Arc<dyn StateStore>, ()) });
//! ```

/// Generate one multi-threaded `#[tokio::test]` per conformance check.
macro_rules! store_conformance_tests {
    ($setup:expr) => {
        store_conformance_tests!(@each $setup;
            absent_key_reads_as_none,
            put_then_get_returns_the_value,
            null_is_a_value_not_an_absence,
            put_overwrites,
            delete_removes_and_is_idempotent,
            compare_and_set_applies_only_on_a_match,
            compare_and_set_with_none_removes,
            insert_if_absent_claims_once,
            scan_prefix_returns_matching_keys_in_order,
            keys_are_opaque_strings,
            concurrent_insert_if_absent_has_one_winner,
            concurrent_compare_and_set_increments_lose_nothing,
            write_batch_applies_each_op_in_order,
            concurrent_write_batches_lose_no_increment,
        );
    };
    (@each $setup:expr; $($check:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $check() {
                let (store, _guard) = $setup.await;
                deskbridge::test_util::store_conformance::$check(store, "conformance").await;
            }
        )+
    };
}
