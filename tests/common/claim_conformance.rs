//! One `#[tokio::test]` per check of `deskbridge::test_util::claim_conformance` (feature
//! `test-util`), so a failing check is named in the test output.
//!
//! ```ignore
//! claim_conformance_tests!(async { let s = Arc::new(MemoryStore::new()) as Arc<dyn StateStore>; (s.clone(), s, ()) });
//! ```

/// Generate one multi-threaded `#[tokio::test]` per claim check. The setup yields
/// `(instance_a, instance_b, guard)`.
macro_rules! claim_conformance_tests {
    ($setup:expr) => {
        claim_conformance_tests!(@each $setup;
            a_claim_is_exclusive_until_released_or_expired,
            the_owner_renews_its_claim,
            an_expired_claim_passes_to_another_instance,
            only_the_owner_releases,
            a_key_holding_something_else_is_an_error,
            racing_instances_have_one_winner_per_key,
        );
    };
    (@each $setup:expr; $($check:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $check() {
                let (a, b, _guard) = $setup.await;
                deskbridge::test_util::claim_conformance::$check(a, b, "claims").await;
            }
        )+
    };
}
