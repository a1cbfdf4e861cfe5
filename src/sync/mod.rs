//! The sync engine: plan → apply → report, and the per-agent link state machine.
//!
//! - [`link`]: the pure state machine `step(state, event, now) -> actions` and the pure
//!   [`decide`] used by both the continuous and the one-shot paths.
//! - [`plan`]: [`Plan`] (what a sync would do), [`SyncReport`], and the pure one-way planner.
//! - [`shifts`]: the schedule-driven planner (shifts decide status per channel).
//! - [`bridge`]: the continuous [`Bridge`]: events, reconcile passes, schedule
//!   boundaries, inboxes, graceful shutdown, state that survives restarts.
//! - [`apply`] / [`OneShot`]: execute a plan through the
//!   [`StatusProvider`](crate::ports::StatusProvider) port, concurrently (each provider's
//!   client paces itself under its rate limit).

pub mod bridge;
pub mod link;
pub mod plan;
pub mod shifts;

mod engine;

pub use bridge::{
    Bridge, BridgeEvent, BridgeHandle, BridgeNotice, BridgeOptions, DeliveryOutcome, RECONCILE_BATCH,
    StatusLink,
};
pub use engine::{ApplyOptions, OneShot, apply, reconcile_needs};
pub use link::{
    Decision, LinkAction, LinkConfig, LinkEvent, LinkMode, LinkState, Origin, SkipReason, StepContext,
    StepOutcome, TargetPolicy, Verdict, decide, step, step_with,
};
pub use plan::{
    AgentRef, Change, Failed, OneWaySpec, Plan, RunMode, Skipped, SyncReport, Unmatched, UnmatchedWhy,
    plan_one_way,
};
pub use shifts::{ShiftSpec, ShiftSync, Unscheduled, plan_shifts};
