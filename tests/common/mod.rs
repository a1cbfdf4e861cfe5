//! Helpers shared by integration tests.
#![allow(dead_code, unused_macros)]

#[macro_use]
pub mod store_conformance;

#[macro_use]
pub mod claim_conformance;

pub mod openapi;

pub mod specs;

pub mod mock;

pub mod usedesk_mock;

pub mod bridge;

pub mod calls;

pub mod shared;

pub mod shift;

pub mod x;
