//! Compositions of two providers (features of both): the only place where one provider's
//! types meet another's. A provider module never imports another provider module; a bridge
//! here adapts one to the other.
//!
//! - [`talkdesk_usedesk`] (features `talkdesk` and `usedesk`): a ready
//!   [`TalkdeskBackend`](crate::talkdesk::TalkdeskBackend) over Usedesk —
//!   [`UsedeskTalkdeskBackend`]: Talkdesk agents from Usedesk users, contacts from clients,
//!   interactions from a contact's tickets, and the `create_ticket` action. Serve it with
//!   `deskbridge::server::talkdesk::router` (feature `server`).
//! - [`x_usedesk`] (features `twitter` and `usedesk`): X DM attachments downloaded with
//!   the user's credentials and uploaded to the Usedesk ticket ([`x_usedesk::attach_dm_media`]).

#[cfg(feature = "talkdesk")]
pub mod talkdesk_usedesk;
#[cfg(all(feature = "twitter", feature = "usedesk"))]
pub mod x_usedesk;

#[cfg(feature = "talkdesk")]
pub use talkdesk_usedesk::{AcceptedCredentials, UsedeskTalkdeskBackend};
