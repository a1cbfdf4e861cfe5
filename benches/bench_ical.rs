//! Benchmark: a year of weekly shifts for 1,000 agents from one iCalendar feed.
//!
//! ```text
//! cargo bench --bench bench_ical                       # 1,000 agents, Mon–Fri
//! cargo bench --bench bench_ical -- --agents 1000 --days 1 --runs 5
//! ```
//!
//! The feed is generated first (not timed): one shared calendar, Google-shaped, with a
//! `VTIMEZONE`, and per agent one recurring `VEVENT` (`RRULE:FREQ=WEEKLY;BYDAY=…`, 08:00–16:00
//! Europe/Berlin, attendee = the agent) plus, for every tenth agent, an `EXDATE` and an
//! overridden instance. Timed, per run: parsing and checking the feed
//! ([`IcalSchedule::parse`]) and expanding the whole of 2026 into shifts
//! ([`IcalSchedule::shifts`]), and the four-day window a sync run asks for at the end of the
//! year (every rule still walks from its `DTSTART`). Memory is measured with a counting global allocator:
//! bytes allocated during each step, the peak held at once, and what the parsed calendar
//! keeps, and the process's peak resident memory (`VmHWM`). Prints one JSON document.

use std::alloc::System;
use std::fmt::Write as _;
use std::time::Instant;

use chrono::{TimeZone, Utc};
use deskbridge::schedule::ical::{Assignee, IcalOptions, IcalSchedule};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const DAYS: [&str; 7] = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];

fn feed(agents: usize, days: usize) -> String {
    let mut text = String::with_capacity(agents * 600);
    text.push_str(
        "BEGIN:VCALENDAR\r\nPRODID:-//Google Inc//Google Calendar 70.9054//EN\r\nVERSION:2.0\r\n\
         CALSCALE:GREGORIAN\r\nMETHOD:PUBLISH\r\nX-WR-CALNAME:Rota\r\nX-WR-TIMEZONE:Europe/Berlin\r\n\
         BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nX-LIC-LOCATION:Europe/Berlin\r\nBEGIN:DAYLIGHT\r\n\
         TZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nTZNAME:CEST\r\nDTSTART:19700329T020000\r\n\
         RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\nBEGIN:STANDARD\r\nTZOFFSETFROM:+0200\r\n\
         TZOFFSETTO:+0100\r\nTZNAME:CET\r\nDTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\n\
         END:STANDARD\r\nEND:VTIMEZONE\r\n",
    );
    let byday = DAYS[..days.clamp(1, 7)].join(",");
    for agent in 0..agents {
        let email = format!("agent{agent}@example.com");
        let _ = write!(
            text,
            "BEGIN:VEVENT\r\nDTSTART;TZID=Europe/Berlin:20260105T080000\r\nDTEND;TZID=Europe/Berlin:20260105T160000\r\n\
             RRULE:FREQ=WEEKLY;WKST=MO;BYDAY={byday}\r\n"
        );
        if agent % 10 == 0 {
            text.push_str("EXDATE;TZID=Europe/Berlin:20260406T080000\r\n");
        }
        let _ = write!(
            text,
            "DTSTAMP:20260101T000000Z\r\nUID:shift-{agent}@example.com\r\n\
             ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;CN={email};X-NUM-GUESTS=0:mailto:{email}\r\n\
             SEQUENCE:0\r\nSTATUS:CONFIRMED\r\nSUMMARY:Shift\r\nTRANSP:OPAQUE\r\nEND:VEVENT\r\n"
        );
        if agent % 10 == 0 {
            let _ = write!(
                text,
                "BEGIN:VEVENT\r\nDTSTART;TZID=Europe/Berlin:20260713T120000\r\nDTEND;TZID=Europe/Berlin:20260713T200000\r\n\
                 RECURRENCE-ID;TZID=Europe/Berlin:20260713T080000\r\nDTSTAMP:20260101T000000Z\r\nUID:shift-{agent}@example.com\r\n\
                 ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;CN={email}:mailto:{email}\r\n\
                 SEQUENCE:1\r\nSTATUS:CONFIRMED\r\nSUMMARY:Shift (late)\r\nEND:VEVENT\r\n"
            );
        }
    }
    text.push_str("END:VCALENDAR\r\n");
    text
}

struct Step {
    seconds: f64,
    allocated: usize,
    peak: usize,
}

fn measure<T>(f: impl FnOnce() -> T) -> (T, Step) {
    let region = Region::new(GLOBAL);
    let started = Instant::now();
    let value = f();
    let seconds = started.elapsed().as_secs_f64();
    let stats = region.change();
    let peak = stats.bytes_allocated.saturating_sub(stats.bytes_deallocated);
    (value, Step { seconds, allocated: stats.bytes_allocated, peak })
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut agents = 1000usize;
    let mut days = 5usize;
    let mut runs = 5usize;
    let mut args = std::env::args().skip(1).filter(|arg| arg != "--bench");
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--agents" => agents = value()?.parse()?,
            "--days" => days = value()?.parse()?,
            "--runs" => runs = value()?.parse::<usize>()?.max(1),
            "-h" | "--help" => {
                println!("bench_ical [--agents N] [--days 1..7 per week] [--runs N]");
                return Ok(());
            }
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let text = feed(agents, days);
    let from = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single().ok_or("date")?;
    let to = Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).single().ok_or("date")?;
    let (mut parse_s, mut expand_s, mut window_s) = (Vec::new(), Vec::new(), Vec::new());
    // What a sync run asks for at the end of the year: two days either side of now.
    let now = Utc.with_ymd_and_hms(2026, 12, 28, 10, 0, 0).single().ok_or("date")?;
    let (window_from, window_to) = (now - chrono::Duration::days(2), now + chrono::Duration::days(2));
    let mut report = serde_json::Map::new();
    for run in 0..runs {
        let (calendar, parse) = measure(|| IcalSchedule::parse(&text, "bench.ics", &IcalOptions::default()));
        let calendar = calendar?;
        let (expansion, expand) = measure(|| calendar.shifts(from, to, &Assignee::Attendees));
        let expansion = expansion?;
        let (window, window_step) = measure(|| calendar.shifts(window_from, window_to, &Assignee::Attendees));
        let window = window?;
        parse_s.push(parse.seconds);
        expand_s.push(expand.seconds);
        window_s.push(window_step.seconds);
        if run == 0 {
            report.insert("window_shifts".into(), window.shifts.len().into());
        }
        if run == 0 {
            report.insert("feed_bytes".into(), text.len().into());
            report.insert("events".into(), calendar.event_count().into());
            report.insert("shifts".into(), expansion.shifts.len().into());
            report.insert("parse_allocated_bytes".into(), parse.allocated.into());
            report.insert("parsed_calendar_retained_bytes".into(), parse.peak.into());
            report.insert("expand_allocated_bytes".into(), expand.allocated.into());
            report.insert("expand_result_bytes".into(), expand.peak.into());
        }
        drop(expansion);
        drop(calendar);
    }
    // Peak held at once over one whole load (parse + expand + both results alive).
    let (_, whole) = measure(|| {
        let calendar = IcalSchedule::parse(&text, "bench.ics", &IcalOptions::default()).ok()?;
        let expansion = calendar.shifts(from, to, &Assignee::Attendees).ok()?;
        Some(expansion.shifts.len() + calendar.event_count())
    });
    report.insert("agents".into(), agents.into());
    report.insert("shift_days_per_week".into(), days.into());
    report.insert("runs".into(), runs.into());
    report.insert("parse_seconds_median".into(), median(&mut parse_s).into());
    report.insert("parse_seconds_best".into(), parse_s[0].into());
    report.insert("expand_seconds_median".into(), median(&mut expand_s).into());
    report.insert("expand_seconds_best".into(), expand_s[0].into());
    report.insert("window_4_days_seconds_median".into(), median(&mut window_s).into());
    report.insert("window_4_days_seconds_best".into(), window_s[0].into());
    report.insert("load_and_expand_allocated_bytes".into(), whole.allocated.into());
    // The process's peak resident memory (Linux), feed text and every run included.
    if let Some(kib) = std::fs::read_to_string("/proc/self/status").ok().and_then(|status| {
        status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
    }) {
        report.insert("process_peak_rss_bytes".into(), (kib * 1024).into());
    }
    println!("{}", serde_json::to_string_pretty(&serde_json::Value::Object(report))?);
    Ok(())
}
