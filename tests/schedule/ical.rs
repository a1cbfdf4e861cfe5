//! iCalendar schedules: Google- and Outlook-shaped feeds (fixtures written for these tests),
//! DST transitions in Europe/Berlin and America/New_York, recurrence with exceptions, the
//! file and URL sources.
#![cfg(feature = "ical")]

use chrono::{DateTime, TimeZone, Utc};
use deskbridge::Error;
use deskbridge::schedule::ical::{AllDay, Assignee, IcalOptions, IcalSchedule};
use deskbridge::schedule::normalize_email;

const GOOGLE: &str = include_str!("../fixtures/ical/google_shared.ics");
const OUTLOOK: &str = include_str!("../fixtures/ical/outlook_hal.ics");

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).single().unwrap()
}

fn year() -> (DateTime<Utc>, DateTime<Utc>) {
    (utc(2026, 1, 1, 0, 0), utc(2027, 1, 1, 0, 0))
}

/// (email, start, end) triples of one agent, sorted.
fn shifts_of(
    expansion: &deskbridge::schedule::ical::Expansion,
    email: &str,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    expansion.shifts.iter().filter(|s| normalize_email(&s.email) == email).map(|s| (s.start, s.end)).collect()
}

#[test]
fn a_google_shared_calendar_expands_with_exceptions_dst_and_cancellations() {
    let calendar = IcalSchedule::parse(GOOGLE, "google_shared.ics", &IcalOptions::default()).unwrap();
    let (from, to) = year();
    let expansion = calendar.shifts(from, to, &Assignee::Attendees).unwrap();

    // Weekly on Mondays 09:00–17:00 Berlin: one EXDATE (Easter Monday), one moved instance
    // (RECURRENCE-ID, SEQUENCE 1 while the master has 0), one RDATE, and the clocks going
    // forward on 2026-03-29 (08:00Z before, 07:00Z after).
    assert_eq!(
        shifts_of(&expansion, "ana@example.com"),
        vec![
            (utc(2026, 3, 16, 8, 0), utc(2026, 3, 16, 16, 0)),
            (utc(2026, 3, 23, 8, 0), utc(2026, 3, 23, 16, 0)),
            (utc(2026, 3, 30, 7, 0), utc(2026, 3, 30, 15, 0)),
            (utc(2026, 4, 2, 7, 0), utc(2026, 4, 2, 15, 0)),
            (utc(2026, 4, 13, 10, 0), utc(2026, 4, 13, 18, 0)),
            (utc(2026, 4, 20, 7, 0), utc(2026, 4, 20, 15, 0)),
        ]
    );
    // One cancelled instance; the attendee who declined gets nothing; the room is no agent.
    assert_eq!(
        shifts_of(&expansion, "ben@example.com"),
        vec![
            (utc(2026, 3, 17, 8, 0), utc(2026, 3, 17, 16, 0)),
            (utc(2026, 3, 31, 7, 0), utc(2026, 3, 31, 15, 0))
        ]
    );
    assert!(shifts_of(&expansion, "gus@example.com").is_empty());
    assert!(expansion.shifts.iter().all(|s| !s.email.contains("resource.calendar")));
    // Night shifts across both Berlin transitions: 7 hours in March, 9 in October.
    assert_eq!(
        shifts_of(&expansion, "cy@example.com"),
        vec![
            (utc(2026, 3, 28, 21, 0), utc(2026, 3, 29, 4, 0)),
            (utc(2026, 10, 24, 20, 0), utc(2026, 10, 25, 5, 0))
        ]
    );
    // All-day event, read in the calendar's X-WR-TIMEZONE; agent named in the summary.
    assert_eq!(
        shifts_of(&expansion, "dee@example.com"),
        vec![(utc(2026, 3, 31, 22, 0), utc(2026, 4, 1, 22, 0))]
    );
    // A cancelled series gives nothing.
    assert!(shifts_of(&expansion, "eve@example.com").is_empty());
    // UTC times; the agent named in the summary with a display name.
    assert_eq!(
        shifts_of(&expansion, "fay@example.com"),
        vec![(utc(2026, 3, 18, 13, 0), utc(2026, 3, 18, 17, 0))]
    );
    assert_eq!(expansion.unassigned, vec!["4b6d8f0h2j@google.com".to_owned()]);
    assert_eq!(expansion.shifts.len(), 12);
}

#[test]
fn a_window_returns_only_overlapping_instances() {
    let calendar = IcalSchedule::parse(GOOGLE, "google_shared.ics", &IcalOptions::default()).unwrap();
    // 2026-03-29T03:00Z: cy's night shift ends at 04:00Z; ana's next Monday shift is outside.
    let expansion =
        calendar.shifts(utc(2026, 3, 29, 3, 0), utc(2026, 3, 29, 12, 0), &Assignee::Attendees).unwrap();
    assert_eq!(expansion.shifts.len(), 1);
    assert_eq!(expansion.shifts[0].email, "cy@example.com");
    assert!(
        calendar
            .shifts(utc(2026, 3, 29, 12, 0), utc(2026, 3, 29, 3, 0), &Assignee::Attendees)
            .unwrap()
            .shifts
            .is_empty()
    );
}

#[test]
fn all_day_events_can_be_ignored_and_summaries_can_be_the_only_rule() {
    let options = IcalOptions { all_day: AllDay::Ignore, ..IcalOptions::default() };
    let calendar = IcalSchedule::parse(GOOGLE, "google_shared.ics", &options).unwrap();
    let (from, to) = year();
    let expansion = calendar.shifts(from, to, &Assignee::Attendees).unwrap();
    assert!(shifts_of(&expansion, "dee@example.com").is_empty());
    let by_summary = calendar.shifts(from, to, &Assignee::Summary).unwrap();
    assert_eq!(
        by_summary.shifts.iter().map(|s| s.email.as_str()).collect::<Vec<_>>(),
        vec!["fay@example.com"]
    );
}

#[test]
fn an_outlook_calendar_with_windows_zone_names_and_vtimezone_blocks() {
    let calendar = IcalSchedule::parse(OUTLOOK, "outlook_hal.ics", &IcalOptions::default()).unwrap();
    let (from, to) = year();
    let expansion = calendar.shifts(from, to, &Assignee::Calendar("hal@example.com".into())).unwrap();
    assert_eq!(
        shifts_of(&expansion, "hal@example.com"),
        vec![
            // Weekly 08:00–16:00 Eastern; New York springs forward on 2026-03-08.
            (utc(2026, 3, 2, 13, 0), utc(2026, 3, 2, 21, 0)),
            (utc(2026, 3, 9, 12, 0), utc(2026, 3, 9, 20, 0)),
            // The one exception: 10:00–18:00.
            (utc(2026, 3, 16, 14, 0), utc(2026, 3, 16, 22, 0)),
            (utc(2026, 3, 23, 12, 0), utc(2026, 3, 23, 20, 0)),
            // "W. Europe Standard Time" is Berlin (already on summer time on 2026-03-30).
            (utc(2026, 3, 30, 7, 0), utc(2026, 3, 30, 15, 0)),
            // Night across New York's fall back on 2026-11-01: 9 hours.
            (utc(2026, 11, 1, 2, 0), utc(2026, 11, 1, 11, 0)),
        ]
    );
    assert!(expansion.unassigned.is_empty());
}

fn error_of(text: &str) -> (String, String) {
    match IcalSchedule::parse(text, "bad.ics", &IcalOptions::default()) {
        Err(Error::InvalidInput { what, message }) => (what, message),
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

fn wrap(event: &str) -> String {
    format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:test\r\n{event}END:VCALENDAR\r\n")
}

#[test]
fn malformed_feeds_are_errors_that_name_the_source_and_line() {
    let (what, message) = error_of("<html><body>Sign in</body></html>\n");
    assert!(what.contains("bad.ics"), "{what}");
    assert!(message.contains("iCalendar") || message.contains("calendar"), "{message}");

    let (what, message) = error_of(&wrap(
        "BEGIN:VEVENT\r\nUID:x1\r\nDTSTART;TZID=Mars/Olympus:20260316T090000\r\nDTEND;TZID=Mars/Olympus:20260316T170000\r\nEND:VEVENT\r\n",
    ));
    assert!(what.contains("bad.ics, line 4") && what.contains("x1"), "{what}");
    assert!(message.contains("Mars/Olympus"), "{message}");

    let (what, message) = error_of(&wrap(
        "BEGIN:VEVENT\r\nUID:x2\r\nDTEND:20260316T170000Z\r\nSUMMARY:a@b.com\r\nEND:VEVENT\r\n",
    ));
    assert!(what.contains("line 4") && what.contains("x2"), "{what}");
    assert!(message.contains("DTSTART"), "{message}");

    let (_, message) = error_of(&wrap(
        "BEGIN:VEVENT\r\nUID:x3\r\nDTSTART:20260316T090000Z\r\nDTEND:20260316T170000Z\r\nRRULE:FREQ=MONTHLY;BYMONTHDAY=40\r\nEND:VEVENT\r\n",
    ));
    assert!(message.contains("RRULE"), "{message}");

    let (what, message) =
        error_of("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x4\r\nDTSTART:20260316T090000Z\r\n");
    assert!(what.contains("bad.ics"), "{what}");
    assert!(message.contains("never closed"), "{message}");

    let (_, message) = error_of("");
    assert!(message.contains("no calendar"), "{message}");
}

#[test]
fn a_runaway_rule_is_refused_not_expanded_forever() {
    let text = wrap(
        "BEGIN:VEVENT\r\nUID:spin\r\nDTSTART:19700101T000000Z\r\nDURATION:PT1S\r\nRRULE:FREQ=SECONDLY\r\nSUMMARY:a@example.com\r\nEND:VEVENT\r\n",
    );
    let calendar = IcalSchedule::parse(&text, "spin.ics", &IcalOptions::default()).unwrap();
    let (from, to) = year();
    match calendar.shifts(from, to, &Assignee::Summary) {
        Err(Error::InvalidInput { what, message }) => {
            assert!(what.contains("spin.ics") && what.contains("spin"), "{what}");
            assert!(message.contains("RRULE"), "{message}");
        }
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

mod sources {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    use deskbridge::ical::{FeedCheck, FeedLocation, IcalFeed, IcalSource};
    use deskbridge::ports::ScheduleSource;
    use wiremock::matchers::{header, header_exists, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    const SECRET_PATH: &str =
        "/calendar/ical/c_8f3a1e%40group.calendar.google.com/private-5e1f0c9a/basic.ics";

    fn march() -> (DateTime<Utc>, DateTime<Utc>) {
        (utc(2026, 3, 16, 0, 0), utc(2026, 3, 19, 0, 0))
    }

    #[test]
    fn locations_are_files_or_urls_and_urls_are_never_shown_whole() {
        assert_eq!(FeedLocation::parse("rota.ics").unwrap(), FeedLocation::File("rota.ics".into()));
        let url = FeedLocation::parse("webcal://calendar.example.com/private-abc/basic.ics").unwrap();
        assert!(matches!(&url, FeedLocation::Url(u) if u.scheme() == "https"));
        assert_eq!(url.label(), "https://calendar.example.com/…");
        assert!(!format!("{url:?}").contains("private-abc"));
        assert!(FeedLocation::parse("  ").is_err());
    }

    #[tokio::test]
    async fn a_url_feed_is_polled_with_etag_and_last_modified_and_a_304_costs_no_parse() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(SECRET_PATH))
            .and(header("if-none-match", "\"v1\""))
            .and(header_exists("if-modified-since"))
            .respond_with(ResponseTemplate::new(304))
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(SECRET_PATH))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("etag", "\"v1\"")
                    .insert_header("last-modified", "Mon, 02 Mar 2026 10:00:00 GMT")
                    .insert_header("content-type", "text/calendar; charset=UTF-8")
                    .set_body_string(GOOGLE),
            )
            .with_priority(2)
            .mount(&server)
            .await;
        let url = format!("{}{SECRET_PATH}", server.uri());
        let source = IcalSource::new(vec![IcalFeed::parse_location(&url).unwrap()])
            .unwrap()
            .with_poll_interval(Duration::from_secs(3600));
        let (from, to) = march();
        let first = source.shifts(from, to).await.unwrap();
        // Ana on the 16th, Ben on the 17th, Fay on the 18th (Eve's series is cancelled).
        assert_eq!(first.len(), 3, "{first:?}");
        // Within the poll interval: no request at all.
        let again = source.shifts(from, to).await.unwrap();
        assert_eq!(again, first);
        assert_eq!(server.received_requests().await.unwrap().len(), 1);
        // A forced check sends both validators and gets 304: nothing parsed again.
        assert_eq!(source.refresh().await.unwrap(), vec![FeedCheck::Unchanged]);
        let requests = server.received_requests().await.unwrap();
        assert_eq!(requests.len(), 2);
        let since = requests[1].headers.get("if-modified-since").and_then(|v| v.to_str().ok());
        assert_eq!(since, Some("Mon, 02 Mar 2026 10:00:00 GMT"));
        assert!(requests[0].headers.get("if-none-match").is_none());
        assert_eq!(source.stats().reloads, 1);
        assert_eq!(source.stats().unchanged, 1);
        assert_eq!(source.shifts(from, to).await.unwrap(), first);
        // Agents named anywhere in the feed count as scheduled.
        let agents: Vec<String> =
            source.agents().await.unwrap().unwrap().iter().map(|a| normalize_email(a)).collect();
        assert_eq!(
            agents,
            ["ana@example.com", "ben@example.com", "cy@example.com", "dee@example.com", "fay@example.com"]
        );
    }

    #[tokio::test]
    async fn a_changed_feed_is_reloaded_and_a_broken_one_loads_nothing() {
        let server = MockServer::start().await;
        let url = format!("{}{SECRET_PATH}", server.uri());
        let source = IcalSource::new(vec![IcalFeed::parse_location(&url).unwrap()])
            .unwrap()
            .with_poll_interval(Duration::ZERO);
        let (from, to) = march();
        let ok = Mock::given(method("GET"))
            .and(path(SECRET_PATH))
            .respond_with(ResponseTemplate::new(200).insert_header("etag", "\"v1\"").set_body_string(GOOGLE))
            .mount_as_scoped(&server)
            .await;
        assert!(!source.shifts(from, to).await.unwrap().is_empty());
        drop(ok);
        // The feed is cut short in transit: an error naming the feed and line, no shifts.
        let cut = &GOOGLE[..GOOGLE.len() / 2];
        let broken = Mock::given(method("GET"))
            .and(path(SECRET_PATH))
            .respond_with(ResponseTemplate::new(200).insert_header("etag", "\"v2\"").set_body_string(cut))
            .mount_as_scoped(&server)
            .await;
        match source.shifts(from, to).await {
            Err(Error::InvalidInput { what, message }) => {
                assert!(what.contains("ical feed http://127.0.0.1") && what.contains("line"), "{what}");
                assert!(!what.contains("private-5e1f0c9a"), "{what}");
                assert!(message.contains("never closed"), "{message}");
            }
            other => panic!("expected InvalidInput, got {other:?}"),
        }
        drop(broken);
        // A server error: the status, the feed's host only, nothing stale used.
        let failing = Mock::given(method("GET"))
            .and(path(SECRET_PATH))
            .respond_with(ResponseTemplate::new(503).set_body_string("maintenance"))
            .mount_as_scoped(&server)
            .await;
        match source.shifts(from, to).await {
            Err(error @ Error::Api { status: 503, .. }) => {
                assert!(!error.to_string().contains("private-5e1f0c9a"), "{error}");
            }
            other => panic!("expected Api 503, got {other:?}"),
        }
        drop(failing);
        Mock::given(method("GET"))
            .and(path("/moved.ics"))
            .respond_with(ResponseTemplate::new(301).insert_header("location", SECRET_PATH))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(SECRET_PATH))
            .respond_with(ResponseTemplate::new(200).set_body_string(OUTLOOK))
            .mount(&server)
            .await;
        let moved = IcalSource::new(vec![
            IcalFeed::parse_location(&format!("{}/moved.ics", server.uri()))
                .unwrap()
                .assignee(deskbridge::schedule::ical::Assignee::Calendar("hal@example.com".into())),
        ])
        .unwrap();
        let shifts = moved.shifts(utc(2026, 3, 1, 0, 0), utc(2026, 3, 3, 0, 0)).await.unwrap();
        assert_eq!(shifts.len(), 1);
        assert_eq!(shifts[0].start, utc(2026, 3, 2, 13, 0));
    }

    #[tokio::test]
    async fn a_file_feed_is_read_again_only_when_it_changes() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hal.ics");
        std::fs::write(&file, OUTLOOK).unwrap();
        let source: Arc<IcalSource> = Arc::new(
            IcalSource::new(vec![
                IcalFeed::new(FeedLocation::File(file.clone()))
                    .assignee(deskbridge::schedule::ical::Assignee::Calendar("hal@example.com".into())),
            ])
            .unwrap()
            .with_poll_interval(Duration::ZERO),
        );
        let window = (utc(2026, 3, 1, 0, 0), utc(2026, 4, 1, 0, 0));
        assert_eq!(source.shifts(window.0, window.1).await.unwrap().len(), 5);
        assert_eq!(source.refresh().await.unwrap(), vec![FeedCheck::Unchanged]);
        // Cancel the moved instance: the file changes (size), and is read again.
        std::fs::write(&file, OUTLOOK.replace("SEQUENCE:1\r\n", "SEQUENCE:1\r\nSTATUS:CANCELLED\r\n"))
            .unwrap();
        assert_eq!(source.shifts(window.0, window.1).await.unwrap().len(), 4);
        assert_eq!(source.stats().reloads, 2);
        std::fs::remove_file(&file).unwrap();
        match source.shifts(window.0, window.1).await {
            Err(Error::InvalidInput { what, .. }) => assert!(what.contains("hal.ics"), "{what}"),
            other => panic!("expected InvalidInput, got {other:?}"),
        }
    }
}

/// Hostile or damaged feeds: every prefix, and copies with lines dropped or values
/// garbled, parse to a calendar or to an `InvalidInput` error, never a panic; whatever
/// parses also expands without panicking.
#[test]
fn damaged_feeds_never_panic() {
    let (from, to) = year();
    let check = |text: &str| match IcalSchedule::parse(text, "damaged.ics", &IcalOptions::default()) {
        Ok(calendar) => {
            let _ = calendar.shifts(from, to, &Assignee::Attendees);
        }
        Err(Error::InvalidInput { .. }) => {}
        Err(other) => panic!("unexpected error kind: {other:?}"),
    };
    for source in [GOOGLE, OUTLOOK] {
        for cut in (0..source.len()).step_by(37).filter(|&i| source.is_char_boundary(i)) {
            check(&source[..cut]);
        }
        let lines: Vec<&str> = source.split("\r\n").collect();
        for skip in 0..lines.len() {
            let dropped: Vec<&str> =
                lines.iter().enumerate().filter(|(i, _)| *i != skip).map(|(_, l)| *l).collect();
            check(&dropped.join("\r\n"));
            let garbled: Vec<String> =
                lines
                    .iter()
                    .enumerate()
                    .map(|(i, l)| {
                        if i == skip { l.replace(|c: char| c.is_ascii_digit(), "9") } else { (*l).to_owned() }
                    })
                    .collect();
            check(&garbled.join("\r\n"));
        }
    }
    check(
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:99999999T999999Z\r\nRRULE:FREQ=YEARLY;INTERVAL=99999999\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    );
    check(
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:20260101T000000Z\r\nDURATION:P99999999W\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    );
    check(
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:20260101T000000Z\r\nRRULE:FREQ=DAILY;UNTIL=19000101T000000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    );
}

#[test]
fn rdates_without_a_rule_honour_exdate() {
    let text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:test\r\nBEGIN:VEVENT\r\nUID:r1\r\n\
        DTSTART;TZID=America/New_York:20260307T090000\r\nDTEND;TZID=America/New_York:20260307T170000\r\n\
        RDATE;TZID=America/New_York:20260308T090000,20260309T090000\r\n\
        EXDATE;TZID=America/New_York:20260309T090000\r\nSUMMARY:ivy@example.com\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let calendar = IcalSchedule::parse(text, "rdate.ics", &IcalOptions::default()).unwrap();
    let (from, to) = year();
    let starts: Vec<_> =
        calendar.shifts(from, to, &Assignee::Summary).unwrap().shifts.iter().map(|s| s.start).collect();
    // Saturday before New York springs forward (EST), Sunday after (EDT); Monday excluded.
    assert_eq!(starts, vec![utc(2026, 3, 7, 14, 0), utc(2026, 3, 8, 13, 0)]);
}

/// A window far from the rules' start (where the expansion restarts the rule near the
/// window instead of walking from `DTSTART`) gives exactly the instances a full
/// expansion from the start gives, across DST changes, intervals, EXDATEs, overrides,
/// UNTIL and rules that cannot be restarted (COUNT, MONTHLY, BYSETPOS).
#[test]
fn windows_far_from_the_start_match_a_full_expansion() {
    let text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:test\r\n\
        BEGIN:VEVENT\r\nUID:w2\r\nDTSTART;TZID=Europe/Berlin:20200108T220000\r\nDTEND;TZID=Europe/Berlin:20200109T060000\r\n\
        RRULE:FREQ=WEEKLY;INTERVAL=2;WKST=SU;BYDAY=MO,WE,SA\r\nEXDATE;TZID=Europe/Berlin:20261021T220000\r\nSUMMARY:a@example.com\r\nEND:VEVENT\r\n\
        BEGIN:VEVENT\r\nUID:w2\r\nRECURRENCE-ID;TZID=Europe/Berlin:20261104T220000\r\nDTSTART;TZID=Europe/Berlin:20261104T230000\r\n\
        DTEND;TZID=Europe/Berlin:20261105T070000\r\nSUMMARY:a@example.com\r\nEND:VEVENT\r\n\
        BEGIN:VEVENT\r\nUID:d3\r\nDTSTART;TZID=America/New_York:20190301T073000\r\nDURATION:PT9H\r\n\
        RRULE:FREQ=DAILY;INTERVAL=3;BYDAY=MO,TU,WE,TH,FR;UNTIL=20261120T000000Z\r\nSUMMARY:b@example.com\r\nEND:VEVENT\r\n\
        BEGIN:VEVENT\r\nUID:c1\r\nDTSTART:20210104T090000Z\r\nDTEND:20210104T170000Z\r\nRRULE:FREQ=WEEKLY;COUNT=400\r\n\
        SUMMARY:c@example.com\r\nEND:VEVENT\r\n\
        BEGIN:VEVENT\r\nUID:m1\r\nDTSTART;TZID=Europe/Berlin:20200131T090000\r\nDTEND;TZID=Europe/Berlin:20200131T170000\r\n\
        RRULE:FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1\r\nSUMMARY:d@example.com\r\nEND:VEVENT\r\n\
        BEGIN:VEVENT\r\nUID:a1\r\nDTSTART;VALUE=DATE:20200104\r\nDTEND;VALUE=DATE:20200105\r\nRRULE:FREQ=WEEKLY;BYDAY=SA\r\n\
        SUMMARY:e@example.com\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let calendar = IcalSchedule::parse(text, "far.ics", &IcalOptions::default()).unwrap();
    let beginning = utc(2019, 1, 1, 0, 0);
    let mut checked = 0;
    for (month, day) in [(3, 27), (3, 29), (10, 20), (10, 24), (11, 1), (11, 4), (11, 18), (11, 30)] {
        let from = utc(2026, month, day, 0, 0);
        let to = from + chrono::Duration::days(4);
        let window = calendar.shifts(from, to, &Assignee::Summary).unwrap().shifts;
        let mut reference = calendar.shifts(beginning, to, &Assignee::Summary).unwrap().shifts;
        reference.retain(|s| s.start < to && s.end > from);
        assert_eq!(window, reference, "window from {from}");
        checked += window.len();
    }
    assert!(checked >= 30, "{checked}");
}
