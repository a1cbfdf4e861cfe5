//! The trait a data source implements to be served to Talkdesk, and what it receives and
//! returns.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::contract::{ActionMeta, AgentsPage, AuthFields, ContactsPage, Interaction};
use super::manifest::ActionData;

/// A successful credential check. Talkdesk stores `extra_fields` and sends them back inside
/// `auth` on every later call (values should be strings, integers or booleans).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthValidated {
    /// Extra credential fields for Talkdesk to store; usually empty.
    pub extra_fields: serde_json::Map<String, Value>,
}

/// Which page of contacts Talkdesk asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactsPageRequest {
    /// The checkpoint of the previous run: return only contacts changed after it. `None` on
    /// the initial full sync.
    pub checkpoint: Option<String>,
    /// The `next_offset` of the previous page; `None` for the first page.
    pub offset: Option<String>,
    /// The `context` returned with the previous page.
    pub context: Option<Value>,
    /// How many contacts to return at most (the router's configured page size; Talkdesk
    /// sends no limit).
    pub page_size: usize,
}

/// Which page of agents Talkdesk asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentsPageRequest {
    /// The `next_offset` of the previous page; `None` for the first page.
    pub offset: Option<u64>,
    /// How many agents to return at most (the router's configured page size).
    pub page_size: usize,
}

/// The contact whose interactions a Talkdesk user opened.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InteractionQuery {
    /// The interaction types wanted (return only these).
    pub interaction_types: Vec<String>,
    /// The contact's id as the bridge returned it during contact sync, when known.
    pub contact_external_id: Option<String>,
    /// The contact's name.
    pub contact_name: Option<String>,
    /// The contact's e-mail addresses.
    pub contact_emails: Vec<String>,
    /// The contact's phone numbers.
    pub contact_phones: Vec<String>,
}

/// An action execution whose inputs have been validated against the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionCall {
    /// The action `name`.
    pub action: String,
    /// The contact and agent scope.
    pub meta: ActionMeta,
    /// Accepted input values by input key (see
    /// [`ActionDefinition::validate_data`](super::ActionDefinition::validate_data)).
    pub data: ActionData,
}

/// A successfully executed action: the router answers 201 with this body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionCreated {
    /// The id of the created resource.
    pub external_id: String,
    /// A message for the agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The contact the action concerns (needed for contact pop).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_external_id: Option<String>,
    /// The type of that contact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_external_type: Option<String>,
    /// A link to that contact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_external_url: Option<String>,
}

impl ActionCreated {
    /// A result carrying only the created resource's id.
    pub fn new(external_id: impl Into<String>) -> Self {
        Self {
            external_id: external_id.into(),
            message: None,
            contact_external_id: None,
            contact_external_type: None,
            contact_external_url: None,
        }
    }
}

/// Why a backend could not answer. The router turns it into an HTTP status and a JSON body;
/// messages are passed through [`AuthFields::redact`] first, but a backend should still build
/// them from facts, never from credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// The credentials are wrong or expired: HTTP 401, which makes Talkdesk refresh an
    /// OAuth token and call again.
    #[error("the credentials were rejected")]
    Unauthorized,
    /// The request is understood but refused (an action that cannot run with these inputs, an
    /// offset the backend does not know): HTTP 400 with the message. For actions this is
    /// Talkdesk's documented failure answer.
    #[error("{message}")]
    Rejected {
        /// What the Talkdesk user should read.
        message: String,
    },
    /// The bridged system is temporarily unavailable or rate limiting: HTTP 503, with
    /// `Retry-After` when known.
    #[error("the bridged system is unavailable: {message}")]
    Unavailable {
        /// What happened.
        message: String,
        /// When to try again, if the bridged system said.
        retry_after: Option<Duration>,
    },
    /// The bridged system answered with an error or something unreadable: HTTP 502.
    #[error("the bridged system failed: {message}")]
    Upstream {
        /// What happened.
        message: String,
    },
    /// The backend does not implement this feature: HTTP 501. Leave the endpoint out of the
    /// manifest instead, so Talkdesk never calls it.
    #[error("{feature} is not supported by this bridge")]
    NotSupported {
        /// The feature, e.g. `agent synchronization`.
        feature: &'static str,
    },
}

impl BackendError {
    /// Shorthand for [`BackendError::Rejected`].
    pub fn rejected(message: impl Into<String>) -> Self {
        Self::Rejected { message: message.into() }
    }

    /// The HTTP status the router answers with.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::Unauthorized => 401,
            Self::Rejected { .. } => 400,
            Self::Unavailable { .. } => 503,
            Self::Upstream { .. } => 502,
            Self::NotSupported { .. } => 501,
        }
    }
}

impl From<crate::Error> for BackendError {
    /// A provider's 401 or 403 becomes [`BackendError::Unauthorized`] (so Talkdesk's refresh
    /// path runs); rate limits and other transient failures become
    /// [`BackendError::Unavailable`]; invalid input becomes [`BackendError::Rejected`];
    /// anything else [`BackendError::Upstream`]. Messages are the error's `Display`, which
    /// carries no secret by the crate's rules.
    fn from(error: crate::Error) -> Self {
        match &error {
            crate::Error::Api { status: 401 | 403, .. } => Self::Unauthorized,
            crate::Error::InvalidInput { .. } => Self::Rejected { message: error.to_string() },
            _ if error.is_transient() => {
                Self::Unavailable { message: error.to_string(), retry_after: error.retry_after() }
            }
            _ => Self::Upstream { message: error.to_string() },
        }
    }
}

/// A data source served to Talkdesk by `deskbridge::server::talkdesk::router`.
///
/// Every method receives the credential fields Talkdesk sent in `auth` (per tenant: for a
/// Usedesk backend, its `api_token`) and must answer [`BackendError::Unauthorized`] when the
/// bridged system rejects them. The router has already checked that the manifest's mandatory
/// credential fields are present, parsed the body, and (for actions) validated the inputs.
/// Calls must be idempotent and quick: Talkdesk calls contact sync again immediately while
/// `next_offset` is present.
///
/// Only [`validate_auth`](Self::validate_auth) is required; the other methods answer
/// [`BackendError::NotSupported`] unless implemented (and their endpoints should then be left
/// out of the manifest).
#[async_trait]
pub trait TalkdeskBackend: Send + Sync {
    /// Check the credentials with one cheap call to the bridged system.
    async fn validate_auth(&self, auth: &AuthFields) -> Result<AuthValidated, BackendError>;

    /// Decide whether `auth` may call this bridge at all. The router calls it on every
    /// request except auth validation, **before** it reads the rest of the body or
    /// validates action inputs, so that a caller with wrong credentials learns nothing
    /// about the manifest's inputs or the backend's data. Answer
    /// [`BackendError::Unauthorized`] to refuse.
    ///
    /// The default calls [`validate_auth`](Self::validate_auth) (one call to the bridged
    /// system per request); a backend that can check credentials locally (as the Usedesk
    /// backend compares them with its accepted values) should override it.
    async fn authenticate(&self, auth: &AuthFields) -> Result<(), BackendError> {
        self.validate_auth(auth).await.map(|_| ())
    }

    /// One page of contacts, ascending by whatever backs the checkpoint. Set `next_offset`
    /// while more pages remain and leave it `None` on the last page; return the checkpoint
    /// for the next incremental run.
    async fn contacts_page(
        &self,
        auth: &AuthFields,
        request: &ContactsPageRequest,
    ) -> Result<ContactsPage, BackendError> {
        let _ = (auth, request);
        Err(BackendError::NotSupported { feature: "contact synchronization" })
    }

    /// The interactions of one contact, of the requested types (no paging).
    async fn interactions(
        &self,
        auth: &AuthFields,
        query: &InteractionQuery,
    ) -> Result<Vec<Interaction>, BackendError> {
        let _ = (auth, query);
        Err(BackendError::NotSupported { feature: "interaction retrieval" })
    }

    /// One page of agents; `next_offset` while more pages remain, `None` on the last.
    async fn agents_page(
        &self,
        auth: &AuthFields,
        request: &AgentsPageRequest,
    ) -> Result<AgentsPage, BackendError> {
        let _ = (auth, request);
        Err(BackendError::NotSupported { feature: "agent synchronization" })
    }

    /// Execute an action whose inputs are valid. Return the created resource's id, or
    /// [`BackendError::Rejected`] with a message for the agent when the action failed.
    async fn execute_action(
        &self,
        auth: &AuthFields,
        call: &ActionCall,
    ) -> Result<ActionCreated, BackendError> {
        let _ = (auth, call);
        Err(BackendError::NotSupported { feature: "action execution" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_errors_map_to_statuses() {
        let unauthorized = crate::Error::Api {
            provider: "usedesk",
            context: "POST /tickets".into(),
            status: 401,
            code: None,
            message: "bad token".into(),
            call: None,
        };
        assert_eq!(BackendError::from(unauthorized), BackendError::Unauthorized);
        let limited = crate::Error::RateLimited {
            provider: "usedesk",
            context: "POST /clients".into(),
            retry_after: Some(Duration::from_secs(2)),
            call: None,
        };
        let mapped = BackendError::from(limited);
        assert_eq!(mapped.http_status(), 503);
        assert!(matches!(mapped, BackendError::Unavailable { retry_after: Some(_), .. }));
        let refused = crate::Error::Api {
            provider: "usedesk",
            context: "POST /create/ticket".into(),
            status: 422,
            code: None,
            message: "nope".into(),
            call: None,
        };
        assert_eq!(BackendError::from(refused).http_status(), 502);
    }
}
