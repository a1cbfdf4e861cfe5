//! Compositions of two providers (features of both): the only place where one provider's
//! types meet another's. A provider module never imports another provider module; a bridge
//! here adapts one to the other.
//!
//! - [`talkdesk_usedesk`] (features `talkdesk` and `usedesk`): a ready
//!   [`TalkdeskBackend`](crate::talkdesk::TalkdeskBackend) over Usedesk —
//!   [`UsedeskTalkdeskBackend`]: Talkdesk agents from Usedesk users, contacts from clients,
//!   interactions from a contact's tickets, and the `create_ticket` action. Serve it with
//!   `deskbridge::server::talkdesk::router` (feature `server`).

pub mod talkdesk_usedesk;

pub use talkdesk_usedesk::{AcceptedCredentials, UsedeskTalkdeskBackend};
