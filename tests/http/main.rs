//! The HTTP layer and the shared client options.
//!
//! One test binary for the `http` area (every file here is a module of it); run one
//! file's tests with `cargo test --all-features --test http <module>::`.

#[macro_use]
#[path = "../common/mod.rs"]
mod common;

mod client_options;
mod http_client;
mod http_pagination;
