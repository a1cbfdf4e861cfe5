//! Property tests of `Schedule` against the raw shift list it was built from.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use deskbridge::schedule::{Schedule, Shift};
use deskbridge::status::Presence;
use proptest::prelude::*;

const EMAILS: [&str; 4] = ["ana@example.com", "ANA@example.com ", "ben@example.com", "carla@example.com"];
/// Shifts live on a minute grid over this many minutes.
const SPAN: i64 = 600;

fn minute(m: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0).unwrap() + TimeDelta::minutes(m)
}

fn arb_shift() -> impl Strategy<Value = Shift> {
    // Lengths may be zero or negative: such shifts cover nothing and must be ignored.
    (0..EMAILS.len(), 0..SPAN, -30i64..240).prop_map(|(who, start, length)| Shift {
        email: EMAILS[who].to_owned(),
        start: minute(start),
        end: minute(start + length),
    })
}

fn arb_shifts() -> impl Strategy<Value = Vec<Shift>> {
    prop::collection::vec(arb_shift(), 0..24)
}

/// The truth, straight from the raw list.
fn raw_on_shift(shifts: &[Shift], email: &str, at: DateTime<Utc>) -> bool {
    shifts.iter().any(|s| s.email.trim().eq_ignore_ascii_case(email.trim()) && s.start <= at && at < s.end)
}

proptest! {
    #[test]
    fn presence_agrees_with_the_raw_shift_list(shifts in arb_shifts()) {
        let schedule = Schedule::new(shifts.clone());
        for email in EMAILS {
            for m in -1..SPAN + 250 {
                let on = raw_on_shift(&shifts, email, minute(m));
                prop_assert_eq!(schedule.is_on_shift(email, minute(m)), on, "{} at minute {}", email, m);
                let expected = if on { Presence::Online } else { Presence::Offline };
                prop_assert_eq!(schedule.presence_at(email, minute(m)), expected);
            }
        }
    }

    #[test]
    fn merging_is_order_independent_and_idempotent(shifts in arb_shifts(), seed in any::<u64>()) {
        let schedule = Schedule::new(shifts.clone());
        let mut shuffled = shifts.clone();
        // A deterministic shuffle driven by the seed.
        let mut state = seed | 1;
        for i in (1..shuffled.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            shuffled.swap(i, (state % (i as u64 + 1)) as usize);
        }
        prop_assert_eq!(&Schedule::new(shuffled), &schedule);
        let remerged = Schedule::new(schedule.shifts().cloned().collect::<Vec<_>>());
        prop_assert_eq!(&remerged, &schedule);
    }

    #[test]
    fn merged_shifts_are_sorted_non_empty_and_separated_by_gaps(shifts in arb_shifts()) {
        let schedule = Schedule::new(shifts);
        for email in schedule.agents() {
            let merged = schedule.shifts_for(email);
            prop_assert!(!merged.is_empty());
            for s in merged {
                prop_assert!(s.start < s.end);
                prop_assert_eq!(&s.email, email);
            }
            for pair in merged.windows(2) {
                prop_assert!(pair[0].end < pair[1].start, "{:?}", pair);
            }
        }
    }

    #[test]
    fn next_change_is_the_first_instant_anyone_flips(shifts in arb_shifts(), from in -10i64..SPAN + 250) {
        let schedule = Schedule::new(shifts);
        let agents: Vec<String> = schedule.agents().map(str::to_owned).collect();
        let state = |m: i64| agents.iter().map(|a| schedule.is_on_shift(a, minute(m))).collect::<Vec<_>>();
        match schedule.next_change_after(minute(from)) {
            Some(next) => {
                prop_assert!(next > minute(from));
                let next_minute = (next - minute(0)).num_minutes();
                // Someone flips exactly there, and nobody flips in between.
                prop_assert_ne!(state(next_minute - 1), state(next_minute));
                for m in from + 1..next_minute {
                    prop_assert_eq!(state(m), state(from + 1));
                }
            }
            None => {
                for m in from + 1..SPAN + 250 {
                    prop_assert_eq!(state(m), state(from + 1));
                }
            }
        }
        for agent in &agents {
            let mine = schedule.next_change_for(agent, minute(from));
            let mut flips = (from + 1..SPAN + 250)
                .filter(|m| schedule.is_on_shift(agent, minute(*m)) != schedule.is_on_shift(agent, minute(m - 1)));
            prop_assert_eq!(mine, flips.next().map(minute));
        }
    }
}

/// Local minutes over three days around each 2026 transition in Berlin and New York.
fn arb_local_around_transition()
-> impl Strategy<Value = (chrono_tz::Tz, chrono::NaiveDateTime, chrono::NaiveDateTime)> {
    let days = [
        (chrono_tz::Europe::Berlin, (2026, 3, 28)),
        (chrono_tz::Europe::Berlin, (2026, 10, 24)),
        (chrono_tz::America::New_York, (2026, 3, 7)),
        (chrono_tz::America::New_York, (2026, 10, 31)),
    ];
    (0..days.len(), 0i64..3 * 24 * 60, 0i64..3 * 24 * 60).prop_map(move |(which, a, b)| {
        let (zone, (y, m, d)) = days[which];
        let base = chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(0, 0, 0).unwrap();
        let (a, b) = (a.min(b), a.max(b));
        (zone, base + TimeDelta::minutes(a), base + TimeDelta::minutes(b))
    })
}

proptest! {
    #[test]
    fn local_time_resolution_is_monotonic_and_keeps_existing_wall_clock_times(
        (zone, earlier, later) in arb_local_around_transition()
    ) {
        use chrono::TimeZone as _;
        use deskbridge::schedule::{Boundary, resolve_local};
        for boundary in [Boundary::Start, Boundary::End] {
            let a = resolve_local(earlier, zone, boundary).unwrap();
            let b = resolve_local(later, zone, boundary).unwrap();
            prop_assert!(a <= b, "{} -> {}, {} -> {}", earlier, a, later, b);
            // The resolved instant shows the written wall-clock time, unless that time
            // does not exist, in which case it is the first instant after it.
            let shown = zone.from_utc_datetime(&a.naive_utc()).naive_local();
            if zone.from_local_datetime(&earlier).earliest().is_some() {
                prop_assert_eq!(shown, earlier);
            } else {
                let just_before = zone.from_utc_datetime(&(a - TimeDelta::seconds(1)).naive_utc()).naive_local();
                prop_assert!(just_before < earlier);
            }
        }
        // A start never resolves after the end written at the same local time.
        prop_assert!(resolve_local(earlier, zone, Boundary::Start).unwrap() <= resolve_local(earlier, zone, Boundary::End).unwrap());
    }
}
