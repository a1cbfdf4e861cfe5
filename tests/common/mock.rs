//! wiremock helpers shared by the contract tests.

/// The strict server of the `test-util` feature (the same one embedders use).
#[allow(unused_imports)]
pub use deskbridge::test_util::strict_server;
