//! The simulators themselves and the peers benchmark harness.
//!
//! One test binary for the `sim` area (every file here is a module of it); run one
//! file's tests with `cargo test --all-features --test sim <module>::`.

#[macro_use]
#[path = "../common/mod.rs"]
mod common;

mod peers_bench;
mod sim_aircall;
mod sim_calls;
mod sim_twitter;
mod sim_usedesk;
mod sim_zendesk;
