//! Test utilities for embedders (feature `test-util`): test your own ports the way
//! deskbridge tests its own.
//!
//! - [`store_conformance`]: the checks every [`StateStore`](crate::ports::StateStore) must
//!   pass (values round-trip exactly, compare-and-set semantics, prefix scans, races with
//!   one winner).
//! - [`claim_conformance`]: the claim (lease) checks, with two handles playing two
//!   instances.
//! - [`strict_server`]: a wiremock server whose catch-all names any request no test
//!   expected, for contract tests of your own provider's HTTP calls.
//!
//! Every function here panics on a failed check, like an assertion in a test; none of it is
//! meant for production code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod claim_conformance;
pub mod store_conformance;

/// The mock-server crate [`strict_server`] returns, re-exported so its `Mock` and matchers
/// need no dependency of their own.
pub use wiremock;

use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// A mock server whose catch-all answers 500 naming any request no test expected (method,
/// URL and body), and fails verification (`expect(0)`) when the server is dropped.
///
/// Mount the expected calls on it with `Mock::given(...)`; they take precedence over the
/// catch-all. Point your provider's base URL at [`MockServer::uri`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use deskbridge::test_util::strict_server;
/// use deskbridge::test_util::wiremock::matchers::{method, path};
/// use deskbridge::test_util::wiremock::{Mock, ResponseTemplate};
///
/// let server = strict_server().await;
/// Mock::given(method("GET"))
///     .and(path("/presence"))
///     .respond_with(ResponseTemplate::new(200).set_body_string("[]"))
///     .expect(1)
///     .mount(&server)
///     .await;
/// // ... exercise your provider against server.uri() ...
/// # let _ = reqwest_free_get(&server.uri()).await;
/// # }
/// # async fn reqwest_free_get(uri: &str) {
/// #     use deskbridge::http::{ApiClient, ApiRequest};
/// #     let client = ApiClient::builder("example", deskbridge::url::Url::parse(uri).unwrap()).build().unwrap();
/// #     client.send(ApiRequest::get("/presence")).await.unwrap();
/// # }
/// ```
pub async fn strict_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(|request: &Request| {
            ResponseTemplate::new(500).set_body_string(format!(
                "unexpected request: {} {} {}",
                request.method,
                request.url,
                String::from_utf8_lossy(&request.body)
            ))
        })
        .with_priority(u8::MAX)
        .expect(0)
        .named("catch-all for unexpected requests")
        .mount(&server)
        .await;
    server
}
