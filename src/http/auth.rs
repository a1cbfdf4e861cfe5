//! Authentication: how each request proves who sends it.
//!
//! Documented in the [`http`](crate::http) module docs, where every public item of this file
//! is re-exported (its one path).

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::{Error, Result};

/// What replaces a secret in any text that leaves the HTTP layer.
pub const REDACTED: &str = "[redacted]";

/// Signs a request that a provider authenticates by signature rather than a static
/// credential (X's OAuth 1.0a HMAC-SHA1 over method, URL and query).
///
/// The hook runs once per attempt, after the URL (with its query) is final and before the
/// request is sent, so nonces and timestamps are fresh on every retry.
pub trait RequestSigner: Send + Sync {
    /// Add the authentication headers for this request.
    ///
    /// # Errors
    /// Any error aborts the request before it is sent (typically [`Error::Config`]).
    fn sign(&self, method: &Method, url: &Url, headers: &mut HeaderMap) -> Result<()>;

    /// Replace every secret of this signer that occurs in `text` with [`REDACTED`].
    ///
    /// The default does nothing, which is right for signers whose secrets never travel
    /// (OAuth 1.0a sends only a signature); override it when a secret is sent verbatim.
    fn redact(&self, text: &str) -> String {
        text.to_owned()
    }
}

/// How an [`ApiClient`](super::ApiClient) authenticates its requests.
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum Auth {
    /// No authentication (or the provider module puts the credential in the body, as
    /// Usedesk does with `api_token`; nothing in this layer logs bodies).
    #[default]
    None,
    /// HTTP Basic: `Authorization: Basic base64(username:password)`. Zendesk API tokens use
    /// username `{email}/token`; Aircall uses `api_id` / `api_token`.
    Basic {
        /// The user name (not secret: shown in `Debug`).
        username: String,
        /// The password or API token.
        password: SecretString,
    },
    /// `Authorization: Bearer {token}` (OAuth 2 access tokens, X app bearer tokens).
    Bearer(SecretString),
    /// A provider-supplied signer (X OAuth 1.0a).
    Signer(Arc<dyn RequestSigner>),
}

impl Auth {
    /// HTTP Basic authentication.
    pub fn basic(username: impl Into<String>, password: impl Into<SecretString>) -> Self {
        Self::Basic { username: username.into(), password: password.into() }
    }

    /// Bearer-token authentication.
    pub fn bearer(token: impl Into<SecretString>) -> Self {
        Self::Bearer(token.into())
    }

    /// Authentication by a provider's request signer.
    pub fn signer(signer: impl RequestSigner + 'static) -> Self {
        Self::Signer(Arc::new(signer))
    }

    /// Add this authentication to a request's headers. The added values are marked
    /// sensitive (HTTP/2 never indexes them; `Debug` of the header map hides them).
    ///
    /// # Errors
    /// [`Error::Config`] when the credential cannot form a header value (control
    /// characters), or whatever a [`RequestSigner`] reports.
    pub fn apply(&self, method: &Method, url: &Url, headers: &mut HeaderMap) -> Result<()> {
        match self {
            Self::None => Ok(()),
            Self::Basic { username, password } => {
                let encoded = BASE64.encode(format!("{username}:{}", password.expose_secret()));
                headers.insert(AUTHORIZATION, sensitive_value(&format!("Basic {encoded}"))?);
                Ok(())
            }
            Self::Bearer(token) => {
                headers.insert(AUTHORIZATION, sensitive_value(&format!("Bearer {}", token.expose_secret()))?);
                Ok(())
            }
            Self::Signer(signer) => signer.sign(method, url, headers),
        }
    }

    /// Replace every secret of this authentication that occurs in `text` (verbatim, or as
    /// the Base64 credential of Basic authentication) with [`REDACTED`].
    pub fn redact(&self, text: &str) -> String {
        match self {
            Self::None => text.to_owned(),
            Self::Basic { username, password } => {
                let secret = password.expose_secret();
                let credential = BASE64.encode(format!("{username}:{secret}"));
                scrub(&scrub(text, &credential), secret)
            }
            Self::Bearer(token) => scrub(text, token.expose_secret()),
            Self::Signer(signer) => signer.redact(text),
        }
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None => f.write_str("None"),
            Self::Basic { username, .. } => {
                f.debug_struct("Basic").field("username", username).field("password", &REDACTED).finish()
            }
            Self::Bearer(_) => f.debug_tuple("Bearer").field(&REDACTED).finish(),
            Self::Signer(_) => f.debug_tuple("Signer").field(&REDACTED).finish(),
        }
    }
}

fn sensitive_value(text: &str) -> Result<HeaderValue> {
    let mut value = HeaderValue::from_str(text)
        .map_err(|_| Error::config("credential contains characters not allowed in an HTTP header"))?;
    value.set_sensitive(true);
    Ok(value)
}

fn scrub(text: &str, secret: &str) -> String {
    if secret.is_empty() { text.to_owned() } else { text.replace(secret, REDACTED) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_header_is_base64_of_user_colon_password() {
        let auth = Auth::basic("agent@example.com/token", "s3cr3t");
        let mut headers = HeaderMap::new();
        let url = Url::parse("https://acme.zendesk.com/api/v2/users").unwrap();
        auth.apply(&Method::GET, &url, &mut headers).unwrap();
        let value = headers.get(AUTHORIZATION).unwrap();
        assert!(value.is_sensitive());
        assert_eq!(
            value.to_str().unwrap(),
            format!("Basic {}", BASE64.encode("agent@example.com/token:s3cr3t"))
        );
    }

    #[test]
    fn redaction_covers_raw_and_base64_forms() {
        let auth = Auth::basic("id", "TOPSECRET");
        let encoded = BASE64.encode("id:TOPSECRET");
        let text = format!("bad token TOPSECRET in Basic {encoded}");
        let out = auth.redact(&text);
        assert!(!out.contains("TOPSECRET") && !out.contains(&encoded), "{out}");
        assert_eq!(Auth::bearer("tok-123").redact("x tok-123 y"), "x [redacted] y");
        assert!(!format!("{:?}", Auth::bearer("tok-123")).contains("tok-123"));
    }
}
