//! wiremock helpers for the Usedesk contract tests.

use serde_json::Value;
use wiremock::matchers::{body_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Mount a mock for `POST /uapi{method_path}` with exactly `body`, answering `answer` once
/// and expected exactly once.
pub async fn expect_post(server: &MockServer, method_path: &str, body: Value, answer: Value) {
    Mock::given(method("POST"))
        .and(path(format!("/uapi{method_path}")))
        .and(body_json(body))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer))
        .up_to_n_times(1)
        .expect(1)
        .named(method_path.to_owned())
        .mount(server)
        .await;
}
