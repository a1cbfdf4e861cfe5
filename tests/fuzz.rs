//! The fuzz suite's short pass (CI): every webhook verifier and parser (Aircall, Zendesk,
//! Usedesk, X and its CRC), the schedule loaders (CSV, JSON), the Talkdesk contract types,
//! manifest and datetime formats, the provider models, and the routers driven in process
//! (`tower::ServiceExt::oneshot`), each from the simulators' real payloads through
//! structure-aware mutators (see `tests/fuzz/harness.rs`). The property: no input reaches
//! a panic, and the routers answer bad input with 4xx.
//!
//! Deterministic: the same seed runs the same inputs. Environment:
//!
//! - `DESKBRIDGE_FUZZ_BUDGET`: inputs per cheap target (default 800; the routers run a
//!   fraction of it, by cost);
//! - `DESKBRIDGE_FUZZ_SEED`: the seed (default 14).
//!
//! The long pass, with `panic = "abort"` so that not even a caught panic goes unseen:
//! `CARGO_PROFILE_RELEASE_PANIC=abort cargo run --release --all-features --example fuzz --
//! --budget 2000000` (docs/SECURITY.md has the figures).
#![cfg(all(feature = "server", feature = "sim"))]

#[path = "fuzz/harness.rs"]
mod harness;

use std::sync::Arc;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok()).unwrap_or(default)
}

#[test]
fn no_input_reaches_a_panic() {
    let budget = env_u64("DESKBRIDGE_FUZZ_BUDGET", 800);
    let seed = env_u64("DESKBRIDGE_FUZZ_SEED", 14);
    let rt =
        Arc::new(tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap());
    let seeds = Arc::new(rt.block_on(harness::seeds()));
    for (name, count) in [
        ("aircall webhooks", seeds.aircall_webhooks.len()),
        ("zendesk webhooks", seeds.zendesk_webhooks.len()),
        ("usedesk webhooks", seeds.usedesk_webhooks.len()),
        ("x webhooks", seeds.x_webhooks.len()),
        ("aircall api", seeds.aircall_api.len()),
        ("zendesk api", seeds.zendesk_api.len()),
        ("usedesk api", seeds.usedesk_api.len()),
        ("x api", seeds.x_api.len()),
    ] {
        assert!(count > 0, "no {name} seeds: the simulators' payloads could not be collected");
    }
    harness::install_panic_hook();
    let targets = harness::targets(seeds.clone(), rt.clone());
    let outcomes = harness::run(&targets, budget, seed);
    println!("{}", harness::table(&outcomes));
    let panics: Vec<_> = outcomes.iter().filter(|o| !o.panics.is_empty()).collect();
    assert!(panics.is_empty(), "inputs that panicked: {panics:#?}");
}
