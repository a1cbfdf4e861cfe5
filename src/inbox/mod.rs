//! The inbox engine: social messages (X DMs and mentions) into helpdesk tickets, with
//! Usedesk's own Twitter-channel rules, losslessly and without duplicates.
//!
//! Rules (reproducing Usedesk's Twitter channel):
//! - DMs are tagged `Twitter:Direct`, mentions `Twitter: Mention` (spelled exactly so;
//!   configurable in [`InboxConfig`]).
//! - A DM joins its sender's ticket unless that ticket is Closed; then a new ticket opens.
//! - A mention that replies under the person's own first post (the post that opened a
//!   ticket) joins that ticket; a reply to a reply (for instance to our public answer)
//!   opens a new ticket, as does any other mention.
//! - Our own account's messages and duplicate deliveries are ignored (dedupe by message
//!   id, kept in the [`StateStore`](crate::ports::StateStore)).
//! - Images and GIFs appear in the ticket message as lines `[photo] URL`.
//! - Agents answer a DM ticket by DM and a mention ticket by a public reply under the
//!   customer's latest post in it ([`Inbox::answer`]).
//! - A silence alert fires when the channel has had no customer message for N hours.
//!
//! Crash safety: before any write to the helpdesk an *intent* is stored; after it, the
//! result and the message's *processed* mark. A run that finds an intent without a
//! processed mark asks the helpdesk whether the write happened
//! ([`TicketDesk::find_by_dedupe_key`](crate::ports::TicketDesk::find_by_dedupe_key), [`TicketDesk::has_comment`](crate::ports::TicketDesk::has_comment)) before writing again.
//! The cursor only advances once every message of a batch is processed, so a crash at any
//! point neither loses a message nor creates a ticket or comment twice.

mod engine;
mod report;

pub use engine::{
    Inbox, InboxConfig, MediaAttacher, PRUNE_BATCH, PRUNE_EVERY, SilenceAlert, SilenceCallback,
};
pub use report::{InboxReport, MessageOutcome, RoutedMessage};

#[cfg(test)]
mod tests;
