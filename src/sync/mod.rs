//! The sync engine: plan → apply → report, and the per-agent link state machine.
//!
//! Every item has one path, `deskbridge::sync::X`:
//!
//! - the link state machine: the pure [`step`] (`step(state, event, now) -> actions`) and
//!   the pure [`decide`] used by both the continuous and the one-shot paths;
//! - planning: [`Plan`] (what a sync would do), [`SyncReport`], and the pure one-way planner
//!   [`plan_one_way`];
//! - schedules: the schedule-driven planner [`plan_shifts`] and [`ShiftSync`] (shifts decide
//!   status per channel);
//! - the continuous [`Bridge`]: events, reconcile passes, schedule boundaries, inboxes,
//!   graceful shutdown, state that survives restarts.
//! - [`apply`] / [`OneShot`]: execute a plan through the
//!   [`StatusProvider`](crate::ports::StatusProvider) port, concurrently (each provider's
//!   client paces itself under its rate limit).

mod bridge;
mod engine;
mod link;
mod plan;
mod shifts;

pub use bridge::{
    Bridge, BridgeEvent, BridgeHandle, BridgeNotice, BridgeOptions, Clock, DeliveryOutcome,
    INSTANCE_ID_VARIABLE, NoticeCallback, RECONCILE_BATCH, StatusLink, default_instance_id,
};
pub use engine::{ApplyOptions, OneShot, apply, reconcile_needs, steady_reconcile_needs};
pub use link::{
    Decision, LinkAction, LinkConfig, LinkEvent, LinkMode, LinkState, Origin, RECENT_WRITES, Seen, SideState,
    SkipReason, StepContext, StepOutcome, TargetPolicy, Verdict, decide, step, step_with,
};
pub(crate) use plan::run_mode_as_dry_run_flag;
pub use plan::{
    AgentRef, Change, Failed, OneWaySpec, Plan, RunMode, Skipped, SyncReport, Unmatched, UnmatchedWhy,
    plan_one_way,
};
pub use shifts::{ShiftSpec, ShiftSync, Unscheduled, plan_shifts};
