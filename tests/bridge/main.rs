//! The continuous bridge over in-memory providers and the simulators.
//!
//! One test binary for the `bridge` area (every file here is a module of it); run one
//! file's tests with `cargo test --all-features --test bridge <module>::`.

#[macro_use]
#[path = "../common/mod.rs"]
mod common;

mod bridge_core;
mod bridge_correctness;
mod bridge_example;
mod bridge_providers;
