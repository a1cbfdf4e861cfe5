//! Compositions of two providers (features of both): the only place where one provider's
//! types meet another's. A provider module never imports another provider module; a bridge
//! here adapts one to the other.
//!
//! - `talkdesk_usedesk` (features `talkdesk` and `usedesk`): a ready
//!   [`TalkdeskBackend`](crate::talkdesk::TalkdeskBackend) over Usedesk —
//!   [`UsedeskTalkdeskBackend`]: Talkdesk agents from Usedesk users, contacts from clients,
//!   interactions from a contact's tickets, and the `create_ticket` action. Serve it with
//!   `deskbridge::server::talkdesk::router` (feature `server`).
//! - `x_usedesk` (features `twitter` and `usedesk`): X DM attachments downloaded with
//!   the user's credentials and uploaded to the Usedesk ticket ([`x_usedesk::attach_dm_media`]).
//! - `calls` (features `aircall` and `zendesk`): Aircall calls → Zendesk Talk Partner
//!   Edition — [`CallsBridge`]: screen pop while the phone rings, one ticket / call record
//!   per finished call, exactly once over any state store. Serve it with
//!   `deskbridge::server::calls::router` (feature `server`).

#[cfg(all(feature = "aircall", feature = "zendesk"))]
mod calls;
#[cfg(all(feature = "talkdesk", feature = "usedesk"))]
mod talkdesk_usedesk;
#[cfg(all(feature = "twitter", feature = "usedesk"))]
mod x_usedesk;

#[cfg(all(feature = "aircall", feature = "zendesk"))]
pub use calls::{CallKind, CallOutcome, CallsBridge, CallsConfig, LogMode, MissedCalls, external_id};
#[cfg(all(feature = "talkdesk", feature = "usedesk"))]
pub use talkdesk_usedesk::{
    ACCOUNT_FIELD, AcceptedCredentials, CHECKPOINT_OVERLAP, CREATE_TICKET_ACTION, INTERACTION_TYPE,
    INTERACTION_TYPES, MAX_MATCHED_CLIENTS, TOKEN_FIELD, UsedeskTalkdeskBackend, from_usedesk,
    talkdesk_priority, talkdesk_status,
};
#[cfg(all(feature = "twitter", feature = "usedesk"))]
pub use x_usedesk::{AttachedMedia, XDmMediaToUsedesk, attach_dm_media};
