//! wiremock helpers shared by the contract tests.

use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// A mock server whose catch-all answers 500 naming any request no test expected (method,
/// URL and body), and fails verification (`expect(0)`) when the server is dropped.
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
