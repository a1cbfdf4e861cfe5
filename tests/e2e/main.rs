//! End-to-end flows on the simulators: examples, crash and shared-state runs.
//!
//! One test binary for the `e2e` area (every file here is a module of it); run one
//! file's tests with `cargo test --all-features --test e2e <module>::`.

#[macro_use]
#[path = "../common/mod.rs"]
mod common;

mod e2e_bridge;
mod e2e_calls;
mod e2e_calls_postgres;
mod e2e_custom_provider;
mod e2e_one_shot;
mod e2e_power_loss;
mod e2e_schedule_sources;
mod e2e_shared_state;
mod e2e_shift_usedesk;
mod e2e_talkdesk_usedesk;
mod e2e_twitter_usedesk;
mod example_state_claim;
