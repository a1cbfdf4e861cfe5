//! Talkdesk custom integration: the bridge side of Talkdesk's generic contract.
//!
//! With a Talkdesk "Custom Integration", **Talkdesk calls the bridge** (deskbridge), never the
//! other way round. This module holds everything that does not need an HTTP server:
//!
//! - [`Manifest`]: the integration and action manifests, built with [`ManifestBuilder`] (or
//!   read from JSON) and validated as a whole, rendered as the Markdown document Talkdesk
//!   asks to be attached to the activation request ([`Manifest::to_markdown`]) and as JSON
//!   with Talkdesk's own field names ([`Manifest::to_json_pretty`]).
//! - The wire contract (`contract`): request and response bodies of the four bridge
//!   endpoints (auth validation, contact synchronization, interaction retrieval, agent
//!   synchronization) and of the action executors, read tolerantly.
//! - Action input validation against the manifest ([`ActionDefinition::validate_data`]),
//!   including a checker for moment.js-like datetime formats ([`DateTimeFormat`]).
//! - [`TalkdeskBackend`]: the async trait a data source implements to be served to Talkdesk
//!   (for example a backend over Usedesk, composed in `bridges/`).
//!
//! The axum router that serves a backend lives in `deskbridge::server::talkdesk` (features
//! `server` and `talkdesk`).
//!
//! Facts marked UNCONFIRMED in the provider reference (which input types Talkdesk accepts,
//! the current action-executor status codes, request signing) are handled defensively: the
//! enums are open (unknown values are kept verbatim, never rejected while reading), and the
//! rustdoc of each affected item says what was assumed.

/// Defines an open string enum: known values as variants, anything else kept verbatim in
/// `Other`, compared case-insensitively when read and written back exactly as Talkdesk spells
/// the known values.
macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $text:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
            /// A value this version does not know, kept exactly as it was read.
            Other(String),
        }

        impl $name {
            /// The value as Talkdesk spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $text, )*
                    Self::Other(text) => text,
                }
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                $( if text.eq_ignore_ascii_case($text) { return Self::$variant; } )*
                Self::Other(text.to_owned())
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                Ok(Self::from(text.as_str()))
            }
        }
    };
}

mod backend;
mod contract;
mod datetime;
mod manifest;
mod render;

pub use backend::{
    ActionCall, ActionCreated, AgentsPageRequest, AuthValidated, BackendError, ContactsPageRequest,
    InteractionQuery, TalkdeskBackend,
};
pub use contract::{
    ActionMeta, ActionRequest, AgentSyncMeta, AgentSyncRequest, AgentsPage, AuthFields,
    AuthValidationRequest, Contact, ContactSyncMeta, ContactSyncRequest, ContactsPage, Interaction,
    InteractionContact, InteractionMeta, InteractionPriority, InteractionRetrievalRequest, InteractionStatus,
    TalkdeskAgent,
};
pub use datetime::DateTimeFormat;
pub use manifest::{
    ActionData, ActionDefinition, ActionInput, AuthField, AuthFieldType, AuthenticationType, InputProblem,
    InputType, IntegrationDetails, InvalidActionData, Manifest, ManifestBuilder, ManifestDocument,
    ManifestError, ManifestProblem,
};
