//! Schedules: loading, timelines, iCalendar and Shifton.
//!
//! One test binary for the `schedule` area (every file here is a module of it); run one
//! file's tests with `cargo test --all-features --test schedule <module>::`.

#[macro_use]
#[path = "../common/mod.rs"]
mod common;

mod ical;
mod schedule_load;
mod schedule_props;
mod schedule_timeline;
mod shifton;
