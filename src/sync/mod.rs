//! The sync engine: the per-agent link state machine, planning and applying.
//!
//! - [`link`]: the pure state machine `step(state, event, now) -> actions` and the pure
//!   [`decide`](link::decide) used by both the continuous and the one-shot paths.

pub mod link;

pub use link::{Decision, LinkAction, LinkConfig, LinkEvent, LinkMode, LinkState, Origin, SkipReason, TargetPolicy};
