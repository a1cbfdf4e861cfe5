//! The axum routers: Talkdesk, webhook receivers, hostile input.
//!
//! One test binary for the `server` area (every file here is a module of it); run one
//! file's tests with `cargo test --all-features --test server <module>::`.

#[macro_use]
#[path = "../common/mod.rs"]
mod common;

mod hostile_input;
mod talkdesk_manifest;
mod talkdesk_server;
mod webhook_receivers;
