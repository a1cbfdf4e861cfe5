//! Helpers shared by integration tests.
#![allow(dead_code, unused_macros)]

#[macro_use]
pub mod store_conformance;
pub mod openapi;
