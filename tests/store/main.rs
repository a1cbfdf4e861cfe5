//! The state stores against the shared conformance suites.
//!
//! One test binary for the `store` area (every file here is a module of it); run one
//! file's tests with `cargo test --all-features --test store <module>::`.

#[macro_use]
#[path = "../common/mod.rs"]
mod common;

mod store_claims;
mod store_file;
mod store_memory;
mod store_postgres;
mod store_sqlite;
