//! `Schedule`: merging, half-open boundaries, next changes, and the `ScheduleSource` port.

use chrono::{DateTime, TimeZone, Utc};
use deskbridge::ports::ScheduleSource;
use deskbridge::schedule::{Schedule, Shift, normalize_email};
use deskbridge::status::Presence;

fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, h, m, 0).unwrap()
}

fn shift(email: &str, from: (u32, u32), to: (u32, u32)) -> Shift {
    Shift { email: email.into(), start: at(from.0, from.1), end: at(to.0, to.1) }
}

fn spans(schedule: &Schedule, email: &str) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    schedule.shifts_for(email).iter().map(|s| (s.start, s.end)).collect()
}

#[test]
fn overlapping_adjacent_and_contained_shifts_merge_per_agent() {
    let schedule = Schedule::new([
        shift("ana@example.com", (12, 0), (16, 0)),
        shift("ana@example.com", (8, 0), (12, 0)), // adjacent to the first
        shift("ana@example.com", (9, 0), (10, 0)), // contained
        shift("ana@example.com", (15, 0), (17, 30)), // overlapping
        shift("ana@example.com", (18, 0), (20, 0)), // separate, after a gap
        shift("ben@example.com", (8, 0), (12, 0)), // another agent: not merged with Ana's
    ]);
    assert_eq!(spans(&schedule, "ana@example.com"), vec![(at(8, 0), at(17, 30)), (at(18, 0), at(20, 0))]);
    assert_eq!(spans(&schedule, "ben@example.com"), vec![(at(8, 0), at(12, 0))]);
    // No change at the seam of adjacent shifts.
    assert_eq!(schedule.next_change_for("ana@example.com", at(8, 0)), Some(at(17, 30)));
}

#[test]
fn emails_are_normalised_and_merged_across_spellings() {
    let schedule = Schedule::new([
        shift("  Ana@Example.COM ", (8, 0), (12, 0)),
        shift("ana@example.com", (12, 0), (14, 0)),
    ]);
    assert_eq!(schedule.agents().collect::<Vec<_>>(), ["ana@example.com"]);
    assert_eq!(spans(&schedule, "ANA@example.com"), vec![(at(8, 0), at(14, 0))]);
    assert!(schedule.is_on_shift(" ana@EXAMPLE.com", at(13, 0)));
    assert_eq!(schedule.shifts_for("ana@example.com")[0].email, "ana@example.com");
    assert_eq!(normalize_email(" Ana@Example.COM\t"), "ana@example.com");
}

#[test]
fn shifts_are_half_open_on_at_start_off_at_end() {
    let schedule = Schedule::new([shift("ana@example.com", (8, 0), (16, 0))]);
    let just_before = at(8, 0) - chrono::TimeDelta::nanoseconds(1);
    assert!(!schedule.is_on_shift("ana@example.com", just_before));
    assert!(schedule.is_on_shift("ana@example.com", at(8, 0)));
    assert!(schedule.is_on_shift("ana@example.com", at(16, 0) - chrono::TimeDelta::nanoseconds(1)));
    assert!(!schedule.is_on_shift("ana@example.com", at(16, 0)));
    assert_eq!(schedule.presence_at("ana@example.com", at(8, 0)), Presence::Online);
    assert_eq!(schedule.presence_at("ana@example.com", at(16, 0)), Presence::Offline);
    assert_eq!(schedule.presence_at("nobody@example.com", at(9, 0)), Presence::Offline);
}

#[test]
fn next_changes_are_strictly_after_the_instant_asked_about() {
    let schedule = Schedule::new([
        shift("ana@example.com", (8, 0), (12, 0)),
        shift("ben@example.com", (10, 0), (18, 0)),
        shift("ana@example.com", (14, 0), (16, 0)),
    ]);
    let expected_sequence = [at(8, 0), at(10, 0), at(12, 0), at(14, 0), at(16, 0), at(18, 0)];
    let mut now = at(0, 0);
    let mut seen = Vec::new();
    while let Some(next) = schedule.next_change_after(now) {
        seen.push(next);
        now = next;
    }
    assert_eq!(seen, expected_sequence);
    assert_eq!(schedule.next_change_for("ana@example.com", at(7, 0)), Some(at(8, 0)));
    assert_eq!(schedule.next_change_for("ana@example.com", at(8, 0)), Some(at(12, 0)));
    assert_eq!(schedule.next_change_for("ana@example.com", at(12, 0)), Some(at(14, 0)));
    assert_eq!(schedule.next_change_for("ana@example.com", at(16, 0)), None);
    assert_eq!(schedule.next_change_for("nobody@example.com", at(0, 0)), None);
    assert_eq!(schedule.on_shift_at(at(11, 0)).collect::<Vec<_>>(), ["ana@example.com", "ben@example.com"]);
}

#[test]
fn shifts_that_cover_no_instant_are_dropped() {
    let schedule =
        Schedule::new([shift("ana@example.com", (9, 0), (9, 0)), shift("ben@example.com", (10, 0), (9, 0))]);
    assert!(schedule.is_empty());
    assert_eq!(schedule.agents().count(), 0);
    assert_eq!(schedule.next_change_after(at(0, 0)), None);
    assert_eq!(Schedule::new(Vec::new()), Schedule::default());
}

#[tokio::test]
async fn as_a_schedule_source_it_returns_merged_shifts_overlapping_the_window() {
    let schedule: Schedule = [
        shift("Ana@example.com", (8, 0), (12, 0)),
        shift("ana@example.com", (12, 0), (14, 0)),
        shift("ben@example.com", (14, 0), (18, 0)),
        shift("carla@example.com", (6, 0), (7, 0)),
    ]
    .into_iter()
    .collect();
    let source: &dyn ScheduleSource = &schedule;
    let window = source.shifts(at(7, 0), at(14, 0)).await.unwrap();
    // Carla's ends at 7:00 (no overlap with [7:00, …)); Ben's starts at 14:00 (none either).
    assert_eq!(window, vec![shift("ana@example.com", (8, 0), (14, 0))]);
    let window = source.shifts(at(13, 59), at(14, 1)).await.unwrap();
    assert_eq!(window.len(), 2);
    assert!(source.shifts(at(14, 0), at(8, 0)).await.unwrap().is_empty());
}
