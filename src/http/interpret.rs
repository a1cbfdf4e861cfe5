//! Reading a provider's error out of a response body.
//!
//! Documented in the [`http`](crate::http) module docs, where every public item of this file
//! is re-exported (its one path).

use serde_json::Value;

use crate::error::excerpt;

/// Longest message quoted from a provider body, in characters.
pub const MAX_MESSAGE_CHARS: usize = 300;

/// The provider's own words about a failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderError {
    /// The provider's error code (`RecordNotFound`, `invalid-request`, `12`), when given.
    pub code: Option<String>,
    /// The provider's message, a bounded excerpt.
    pub message: String,
}

/// Reads a provider's error shape.
pub trait ErrorInterpreter: Send + Sync {
    /// The error carried by a non-success answer.
    fn interpret(&self, status: u16, body: &[u8]) -> ProviderError;

    /// Whether a success answer (2xx) is really an error; `None` means it is a success.
    /// The default trusts the status.
    fn error_in_success(&self, status: u16, body: &[u8]) -> Option<ProviderError> {
        let _ = (status, body);
        None
    }
}

/// Understands the common error shapes:
///
/// - `{"errors": [{"code"|"type", "title", "detail"|"message"}]}` (JSON:API, X problems);
/// - `{"error": "RecordNotFound", "description": "Not found"}` (Zendesk classic: the
///   identifier-like `error` becomes the code);
/// - `{"error": "message", "troubleshoot": "hint", "code": 12}` (Aircall, Usedesk);
/// - `{"error": {"title", "message"}}`; `{"message", "code"}`; `{"description"}`;
/// - any other body: a bounded excerpt of its text (`text/plain` answers).
///
/// With [`DefaultErrorInterpreter::error_key_in_success`], a 2xx JSON object with a
/// non-null `error` key is an error too (Usedesk).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DefaultErrorInterpreter {
    error_key_in_success: bool,
}

impl DefaultErrorInterpreter {
    /// Trust success statuses.
    pub fn new() -> Self {
        Self::default()
    }

    /// Treat a 2xx JSON object carrying a non-null, non-empty `error` key as an error.
    pub fn error_key_in_success(mut self) -> Self {
        self.error_key_in_success = true;
        self
    }
}

impl ErrorInterpreter for DefaultErrorInterpreter {
    fn interpret(&self, status: u16, body: &[u8]) -> ProviderError {
        match serde_json::from_slice::<Value>(body) {
            Ok(value) => from_json(&value).unwrap_or_else(|| from_text(status, body)),
            Err(_) => from_text(status, body),
        }
    }

    fn error_in_success(&self, status: u16, body: &[u8]) -> Option<ProviderError> {
        if !self.error_key_in_success {
            return None;
        }
        let value: Value = serde_json::from_slice(body).ok()?;
        let error = value.as_object()?.get("error")?;
        let present = match error {
            Value::Null | Value::Bool(false) => false,
            Value::String(text) => !text.trim().is_empty(),
            Value::Array(items) => !items.is_empty(),
            Value::Object(map) => !map.is_empty(),
            _ => true,
        };
        present.then(|| self.interpret(status, body))
    }
}

/// A string or a number as text.
fn text_of(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn bounded(text: String) -> String {
    excerpt(&text, MAX_MESSAGE_CHARS)
}

fn looks_like_identifier(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

fn from_json(value: &Value) -> Option<ProviderError> {
    let object = value.as_object()?;

    if let Some(first) = object.get("errors").and_then(Value::as_array).and_then(|a| a.first()) {
        if let Some(text) = text_of(Some(first)) {
            return Some(ProviderError { code: None, message: bounded(text) });
        }
        let code = text_of(first.get("code"))
            .or_else(|| text_of(first.get("type")).map(|t| t.rsplit('/').next().unwrap_or(&t).to_owned()));
        let title = text_of(first.get("title"));
        let detail = text_of(first.get("detail")).or_else(|| text_of(first.get("message")));
        let message = match (title, detail) {
            (Some(title), Some(detail)) => format!("{title}: {detail}"),
            (Some(one), None) | (None, Some(one)) => one,
            (None, None) => {
                return code.map(|code| ProviderError { message: code.clone(), code: Some(code) });
            }
        };
        return Some(ProviderError { code, message: bounded(message) });
    }

    match object.get("error") {
        Some(Value::Object(inner)) => {
            let code = text_of(inner.get("code")).or_else(|| text_of(inner.get("title")));
            let message = text_of(inner.get("message"))
                .or_else(|| text_of(inner.get("description")))
                .or_else(|| text_of(inner.get("title")))?;
            return Some(ProviderError { code, message: bounded(message) });
        }
        Some(error) => {
            if let Some(error) = text_of(Some(error)) {
                let description =
                    text_of(object.get("description")).or_else(|| text_of(object.get("message")));
                let troubleshoot = text_of(object.get("troubleshoot"));
                let code = text_of(object.get("code"));
                let (code, message) = match description {
                    Some(description) if code.is_none() && looks_like_identifier(&error) => {
                        (Some(error), description)
                    }
                    Some(description) => (code, format!("{error}: {description}")),
                    None => (code, error),
                };
                let message = match troubleshoot {
                    Some(hint) => format!("{message} ({hint})"),
                    None => message,
                };
                return Some(ProviderError { code, message: bounded(message) });
            }
        }
        None => {}
    }

    let code = text_of(object.get("code"));
    let message = text_of(object.get("message")).or_else(|| text_of(object.get("description")))?;
    Some(ProviderError { code, message: bounded(message) })
}

fn from_text(status: u16, body: &[u8]) -> ProviderError {
    let text = String::from_utf8_lossy(body);
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let message = if text.is_empty() { format!("HTTP {status} with an empty body") } else { bounded(text) };
    ProviderError { code: None, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(body: &str) -> ProviderError {
        DefaultErrorInterpreter::new().interpret(400, body.as_bytes())
    }

    fn err(code: Option<&str>, message: &str) -> ProviderError {
        ProviderError { code: code.map(str::to_owned), message: message.to_owned() }
    }

    #[test]
    fn common_shapes() {
        assert_eq!(
            read(r#"{"error":"RecordNotFound","description":"Not found"}"#),
            err(Some("RecordNotFound"), "Not found")
        );
        assert_eq!(
            read(r#"{"error":"Invalid user","troubleshoot":"Check the id"}"#),
            err(None, "Invalid user (Check the id)")
        );
        assert_eq!(read(r#"{"error":"no such ticket","code":112}"#), err(Some("112"), "no such ticket"));
        assert_eq!(
            read(
                r#"{"errors":[{"title":"Invalid Request","detail":"bad id","type":"https://api.x.com/2/problems/invalid-request"}]}"#
            ),
            err(Some("invalid-request"), "Invalid Request: bad id")
        );
        assert_eq!(
            read(r#"{"errors":[{"code":"NotFound","title":"Not found"}]}"#),
            err(Some("NotFound"), "Not found")
        );
        assert_eq!(
            read(r#"{"error":{"title":"Forbidden","message":"You do not have access"}}"#),
            err(Some("Forbidden"), "You do not have access")
        );
        assert_eq!(read(r#"{"message":"Unauthorized","code":"auth"}"#), err(Some("auth"), "Unauthorized"));
        assert_eq!(read("Couldn't authenticate you\n"), err(None, "Couldn't authenticate you"));
        assert_eq!(read(""), err(None, "HTTP 400 with an empty body"));
        assert_eq!(read(r#"{"unexpected":true}"#), err(None, r#"{"unexpected":true}"#));
        assert!(read(&"x".repeat(1000)).message.chars().count() <= MAX_MESSAGE_CHARS + 1);
    }

    #[test]
    fn error_key_in_success_is_opt_in() {
        let body = br#"{"error":"Ticket not found","code":111}"#;
        assert_eq!(DefaultErrorInterpreter::new().error_in_success(200, body), None);
        let usedesk = DefaultErrorInterpreter::new().error_key_in_success();
        assert_eq!(usedesk.error_in_success(200, body), Some(err(Some("111"), "Ticket not found")));
        assert_eq!(usedesk.error_in_success(200, br#"{"status":"success","error":null}"#), None);
        assert_eq!(usedesk.error_in_success(200, br#"[{"id":1}]"#), None);
    }
}
