//! Provider clients against strict mocks and the vendors' OpenAPI documents, and request economy.
//!
//! One test binary for the `providers` area (every file here is a module of it); run one
//! file's tests with `cargo test --all-features --test providers <module>::`.

#[macro_use]
#[path = "../common/mod.rs"]
mod common;

mod aircall_contract;
mod calls_contract;
mod conformance_x;
mod conformance_zendesk;
mod conformance_zendesk_talk;
mod economy;
mod twitter_contract;
mod usedesk_clients_contract;
mod usedesk_contract;
mod webhook_setup_contract;
mod x_activity;
mod x_usedesk_media;
mod zendesk_adapter;
mod zendesk_contract;
