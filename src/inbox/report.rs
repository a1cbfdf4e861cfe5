//! What a pass of the inbox did.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::ports::MessageKind;
use crate::sync::RunMode;

/// What happened to one message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
#[non_exhaustive]
pub enum MessageOutcome {
    /// A new ticket was opened (or, in a preview, would be).
    CreatedTicket {
        /// The ticket id (`None` in a preview).
        ticket_id: Option<String>,
        /// Why a new ticket rather than a comment.
        why: String,
    },
    /// The message was added to an existing ticket.
    Commented {
        /// The ticket id.
        ticket_id: String,
    },
    /// A write interrupted in an earlier run was found to have happened; nothing written.
    Recovered {
        /// The ticket id.
        ticket_id: String,
    },
    /// Our own account's message.
    SkippedOwn,
    /// Already processed (a duplicate delivery or a re-fetch).
    SkippedDuplicate,
    /// Another instance sharing the store is routing this person's messages now (or died
    /// doing so and its claim has not expired yet); the message stays unprocessed and the
    /// next pass fetches it again.
    SkippedClaimed,
    /// Older than the horizon up to which processed marks were pruned
    /// ([`InboxConfig::processed_retention`](super::InboxConfig::processed_retention)):
    /// it may have been routed before and its mark pruned, so it is not routed again.
    SkippedStale,
    /// Routing failed; the message stays unprocessed and is retried on the next pass.
    Failed {
        /// The error.
        error: String,
    },
}

/// One message and its outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutedMessage {
    /// The provider's message id.
    pub message_id: String,
    /// DM or mention.
    pub kind: MessageKind,
    /// The author's handle or id.
    pub author: String,
    /// What happened.
    pub outcome: MessageOutcome,
}

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxReport {
    /// [`RunMode::Preview`] when nothing was written on purpose
    /// ([`Inbox::preview_poll`](super::Inbox::preview_poll)); serialized as the boolean
    /// `dry_run`.
    #[serde(rename = "dry_run", with = "crate::sync::run_mode_as_dry_run_flag", default)]
    pub mode: RunMode,
    /// Every message fetched, in order.
    pub messages: Vec<RoutedMessage>,
    /// Whether the stored cursor advanced (false when a message failed or was left to
    /// another instance, in a preview, or when another instance moved the cursor during
    /// the pass).
    pub cursor_advanced: bool,
    /// A silence alert raised during this pass, if any.
    pub silence_alert: Option<super::SilenceAlert>,
}

impl InboxReport {
    /// True when no message failed.
    pub fn is_success(&self) -> bool {
        !self.messages.iter().any(|m| matches!(m.outcome, MessageOutcome::Failed { .. }))
    }

    /// Count of messages with an outcome matching `f`.
    pub fn count(&self, f: impl Fn(&MessageOutcome) -> bool) -> usize {
        self.messages.iter().filter(|m| f(&m.outcome)).count()
    }
}

impl fmt::Display for InboxReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let created = self.count(|o| matches!(o, MessageOutcome::CreatedTicket { .. }));
        let commented =
            self.count(|o| matches!(o, MessageOutcome::Commented { .. } | MessageOutcome::Recovered { .. }));
        let skipped = self.count(|o| {
            matches!(
                o,
                MessageOutcome::SkippedOwn
                    | MessageOutcome::SkippedDuplicate
                    | MessageOutcome::SkippedClaimed
                    | MessageOutcome::SkippedStale
            )
        });
        let failed = self.count(|o| matches!(o, MessageOutcome::Failed { .. }));
        writeln!(
            f,
            "inbox{}: {} messages: {created} new tickets, {commented} added to tickets, {skipped} skipped, {failed} failed",
            if self.mode.is_preview() { " (dry run)" } else { "" },
            self.messages.len()
        )?;
        for m in &self.messages {
            let kind = match m.kind {
                MessageKind::DirectMessage => "DM",
                MessageKind::Mention => "mention",
            };
            let what = match &m.outcome {
                MessageOutcome::CreatedTicket { ticket_id: Some(id), why } => {
                    format!("new ticket {id} ({why})")
                }
                MessageOutcome::CreatedTicket { ticket_id: None, why } => {
                    format!("would open a new ticket ({why})")
                }
                MessageOutcome::Commented { ticket_id } => format!("added to ticket {ticket_id}"),
                MessageOutcome::Recovered { ticket_id } => {
                    format!("already in ticket {ticket_id} (interrupted run recovered)")
                }
                MessageOutcome::SkippedOwn => "skipped: our own message".to_owned(),
                MessageOutcome::SkippedDuplicate => "skipped: already processed".to_owned(),
                MessageOutcome::SkippedClaimed => {
                    "left for later: another instance is routing this person's messages".to_owned()
                }
                MessageOutcome::SkippedStale => {
                    "skipped: older than the processed-mark retention (may have been routed before)"
                        .to_owned()
                }
                MessageOutcome::Failed { error } => format!("FAILED: {error}"),
            };
            writeln!(f, "  {:<8} {:<20} {:<16} {what}", kind, m.message_id, m.author)?;
        }
        if let Some(alert) = &self.silence_alert {
            writeln!(f, "alert: no customer message for {} hours", alert.silent_for_hours)?;
        }
        Ok(())
    }
}
