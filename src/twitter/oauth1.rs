//! OAuth 1.0a user-context signing (HMAC-SHA1), as X documents it in "Creating a
//!
//! The full description is on [`OAuth1Signer`].

use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha1::Sha1;
use url::Url;

use crate::http::auth::REDACTED;
use crate::http::{HeaderMap, HeaderValue, Method, RequestSigner};
use crate::{Error, Result};

/// The four OAuth 1.0a user-context credentials. Every value is a [`SecretString`] and is
/// redacted from `Debug`.
#[derive(Clone)]
pub struct OAuth1Credentials {
    /// The app's consumer key (API key).
    pub consumer_key: SecretString,
    /// The app's consumer secret (API key secret). Also the key of webhook signatures.
    pub consumer_secret: SecretString,
    /// The user's access token.
    pub access_token: SecretString,
    /// The user's access token secret.
    pub access_token_secret: SecretString,
}

impl OAuth1Credentials {
    /// Credentials from the four values.
    pub fn new(
        consumer_key: impl Into<SecretString>,
        consumer_secret: impl Into<SecretString>,
        access_token: impl Into<SecretString>,
        access_token_secret: impl Into<SecretString>,
    ) -> Self {
        Self {
            consumer_key: consumer_key.into(),
            consumer_secret: consumer_secret.into(),
            access_token: access_token.into(),
            access_token_secret: access_token_secret.into(),
        }
    }
}

impl fmt::Debug for OAuth1Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuth1Credentials")
            .field("consumer_key", &REDACTED)
            .field("consumer_secret", &REDACTED)
            .field("access_token", &REDACTED)
            .field("access_token_secret", &REDACTED)
            .finish()
    }
}

/// Produces the `oauth_nonce` and `oauth_timestamp` (UNIX seconds) of one signature.
pub type NonceSource = Arc<dyn Fn() -> (String, u64) + Send + Sync>;

/// Signs requests with OAuth 1.0a HMAC-SHA1. See the [module docs](OAuth1Signer).
///
/// OAuth 1.0a user-context signing (HMAC-SHA1), as X documents it in "Creating a
/// signature" and as RFC 5849 specifies it.
///
/// [`OAuth1Signer`] implements [`RequestSigner`]: for every attempt it builds the
/// signature base string from the method, the base URL (scheme and host lower-cased,
/// default port dropped, no query) and every query parameter plus the `oauth_*`
/// parameters, each percent-encoded per RFC 3986 and sorted by name then value; signs it
/// with `HMAC-SHA1(key = encode(consumer_secret) & encode(token_secret))`; and sets
/// `Authorization: OAuth …`. JSON bodies are not part of an OAuth 1.0a signature (only
/// form-encoded ones are; deskbridge sends none), which is what X expects.
///
/// Nonces and timestamps come from a [`NonceSource`]; tests inject a fixed one.
///
/// ```
/// use deskbridge::twitter::{OAuth1Credentials, OAuth1Signer};
/// let signer = OAuth1Signer::new(OAuth1Credentials::new("key", "secret", "token", "token-secret"))
///     .with_fixed_nonce("nonce", 1_318_622_958);
/// let url = url::Url::parse("https://api.x.com/2/dm_events?max_results=5").unwrap();
/// let header = signer.authorization_header(&deskbridge::http::Method::GET, &url, &[]).unwrap();
/// assert!(header.starts_with("OAuth oauth_consumer_key=\"key\""));
/// ```
#[derive(Clone)]
pub struct OAuth1Signer {
    credentials: OAuth1Credentials,
    nonce: NonceSource,
}

impl fmt::Debug for OAuth1Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuth1Signer").field("credentials", &self.credentials).finish_non_exhaustive()
    }
}

impl OAuth1Signer {
    /// A signer with a fresh random nonce and the system clock for every signature.
    pub fn new(credentials: OAuth1Credentials) -> Self {
        Self { credentials, nonce: Arc::new(random_nonce_and_now) }
    }

    /// Use `source` for nonces and timestamps (tests, or a custom clock).
    pub fn with_nonce_source(mut self, source: NonceSource) -> Self {
        self.nonce = source;
        self
    }

    /// Always use this nonce and timestamp (for reproducible signatures in tests; never
    /// in production, where X rejects a repeated nonce).
    pub fn with_fixed_nonce(self, nonce: impl Into<String>, timestamp: u64) -> Self {
        let nonce = nonce.into();
        self.with_nonce_source(Arc::new(move || (nonce.clone(), timestamp)))
    }

    /// The credentials.
    pub fn credentials(&self) -> &OAuth1Credentials {
        &self.credentials
    }

    /// The `Authorization` header value for a request, with a nonce and timestamp from
    /// the [`NonceSource`]. `form_params` are the decoded parameters of a form-encoded body
    /// (empty for JSON bodies, which are not signed).
    ///
    /// # Errors
    /// [`Error::Config`] when the URL has no host.
    pub fn authorization_header(
        &self,
        method: &Method,
        url: &Url,
        form_params: &[(String, String)],
    ) -> Result<String> {
        let (nonce, timestamp) = (self.nonce)();
        let oauth = self.oauth_params(&nonce, timestamp);
        let signature = self.signature(method, url, form_params, &oauth)?;
        let mut header = String::from("OAuth ");
        let mut params: Vec<(String, String)> = oauth;
        params.push(("oauth_signature".into(), signature));
        params.sort();
        let rendered: Vec<String> =
            params.iter().map(|(k, v)| format!("{}=\"{}\"", percent_encode(k), percent_encode(v))).collect();
        header.push_str(&rendered.join(", "));
        Ok(header)
    }

    /// The `oauth_*` protocol parameters (without the signature) for a nonce and timestamp.
    pub fn oauth_params(&self, nonce: &str, timestamp: u64) -> Vec<(String, String)> {
        vec![
            ("oauth_consumer_key".into(), self.credentials.consumer_key.expose_secret().to_owned()),
            ("oauth_nonce".into(), nonce.to_owned()),
            ("oauth_signature_method".into(), "HMAC-SHA1".into()),
            ("oauth_timestamp".into(), timestamp.to_string()),
            ("oauth_token".into(), self.credentials.access_token.expose_secret().to_owned()),
            ("oauth_version".into(), "1.0".into()),
        ]
    }

    /// The Base64 HMAC-SHA1 signature of the request's [signature base
    /// string](signature_base_string).
    ///
    /// # Errors
    /// [`Error::Config`] when the URL has no host.
    pub fn signature(
        &self,
        method: &Method,
        url: &Url,
        form_params: &[(String, String)],
        oauth_params: &[(String, String)],
    ) -> Result<String> {
        let base = signature_base_string(method, url, form_params, oauth_params)?;
        let key = format!(
            "{}&{}",
            percent_encode(self.credentials.consumer_secret.expose_secret()),
            percent_encode(self.credentials.access_token_secret.expose_secret())
        );
        let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(key.as_bytes())
            .map_err(|_| Error::config("x: OAuth 1.0a signing key rejected"))?;
        mac.update(base.as_bytes());
        Ok(BASE64.encode(mac.finalize().into_bytes()))
    }
}

impl RequestSigner for OAuth1Signer {
    fn sign(&self, method: &Method, url: &Url, headers: &mut HeaderMap) -> Result<()> {
        let header = self.authorization_header(method, url, &[])?;
        let mut value = HeaderValue::from_str(&header).map_err(|_| {
            Error::config("x: OAuth 1.0a credentials contain characters not allowed in a header")
        })?;
        value.set_sensitive(true);
        headers.insert(reqwest::header::AUTHORIZATION, value);
        Ok(())
    }

    fn redact(&self, text: &str) -> String {
        let c = &self.credentials;
        let mut out = text.to_owned();
        for secret in [&c.consumer_secret, &c.access_token_secret, &c.access_token, &c.consumer_key] {
            let secret = secret.expose_secret();
            if !secret.is_empty() {
                out = out.replace(secret, REDACTED);
                let encoded = percent_encode(secret);
                if encoded != secret {
                    out = out.replace(&encoded, REDACTED);
                }
            }
        }
        out
    }
}

/// The RFC 5849 signature base string: `METHOD&encode(base URL)&encode(parameters)`, where
/// the parameters are the URL's query pairs (decoded), `form_params`, and `oauth_params`,
/// each name and value percent-encoded, sorted by encoded name then value, and joined as
/// `name=value` with `&`.
///
/// # Errors
/// [`Error::Config`] when the URL has no host.
pub fn signature_base_string(
    method: &Method,
    url: &Url,
    form_params: &[(String, String)],
    oauth_params: &[(String, String)],
) -> Result<String> {
    let host = url.host_str().ok_or_else(|| Error::config("x: OAuth 1.0a needs a URL with a host"))?;
    let mut base_url = format!("{}://{}", url.scheme().to_ascii_lowercase(), host.to_ascii_lowercase());
    if let Some(port) = url.port() {
        base_url.push_str(&format!(":{port}"));
    }
    base_url.push_str(url.path());
    let mut params: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (percent_encode(&k), percent_encode(&v)))
        .chain(form_params.iter().map(|(k, v)| (percent_encode(k), percent_encode(v))))
        .chain(oauth_params.iter().map(|(k, v)| (percent_encode(k), percent_encode(v))))
        .collect();
    params.sort();
    let joined: Vec<String> = params.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    Ok(format!(
        "{}&{}&{}",
        method.as_str().to_ascii_uppercase(),
        percent_encode(&base_url),
        percent_encode(&joined.join("&"))
    ))
}

/// RFC 3986 percent-encoding as OAuth 1.0a requires: everything but `A-Z a-z 0-9 - . _ ~`
/// becomes `%XX` (upper-case hex) of its UTF-8 bytes.
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A 32-character alphanumeric nonce (process-random seed, clock and a counter, mixed with
/// SHA-256) and the current UNIX time.
fn random_nonce_and_now() -> (String, u64) {
    use sha2::{Digest, Sha256};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let mut seed = std::collections::hash_map::RandomState::new().build_hasher();
    seed.write_u128(now.as_nanos());
    seed.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    let mut hasher = Sha256::new();
    hasher.update(seed.finish().to_le_bytes());
    hasher.update(now.as_nanos().to_le_bytes());
    let digest = hasher.finalize();
    let nonce: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    (nonce, now.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_differ() {
        let (a, _) = random_nonce_and_now();
        let (b, _) = random_nonce_and_now();
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
    }

    #[test]
    fn encoding_follows_rfc3986() {
        assert_eq!(percent_encode("Ladies + Gentlemen"), "Ladies%20%2B%20Gentlemen");
        assert_eq!(percent_encode("An encoded string!"), "An%20encoded%20string%21");
        assert_eq!(percent_encode("Dogs, Cats & Mice"), "Dogs%2C%20Cats%20%26%20Mice");
        assert_eq!(percent_encode("☃"), "%E2%98%83");
        assert_eq!(percent_encode("a-b.c_d~e"), "a-b.c_d~e");
    }
}
