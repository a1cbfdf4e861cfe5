//! Loading shifts from CSV and JSON: formats, time zones, daylight-saving transitions and
//! errors that name the row and field.

use chrono::{DateTime, NaiveDate, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use deskbridge::Error;
use deskbridge::schedule::{
    Boundary, Schedule, Shift, parse_instant, parse_zone, resolve_local, shifts_from_csv,
    shifts_from_csv_reader, shifts_from_json,
};
use deskbridge::status::Presence;

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

fn zone(name: &str) -> Tz {
    name.parse().unwrap()
}

/// The `what` and `message` of an InvalidInput error.
fn invalid(err: Error) -> (String, String) {
    match err {
        Error::InvalidInput { what, message } => (what, message),
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

fn one_shift(csv: &str, default_zone: Option<Tz>) -> Shift {
    let mut shifts = shifts_from_csv(csv, default_zone).unwrap();
    assert_eq!(shifts.len(), 1);
    shifts.remove(0)
}

#[test]
fn mixed_rfc3339_and_local_rows_with_default_and_per_row_zones() {
    let csv = "\
email,start,end,timezone
ana@example.com,2026-11-23T08:00:00+01:00,2026-11-23T16:00:00+01:00,
ben@example.com,2026-11-23 08:00,2026-11-23 16:00:30,
\"carla@example.com\",\"2026-11-23T08:00\",\"2026-11-23T16:00:00\",\"America/New_York\"
dmitri@example.com,2026-11-23 07:00:00Z,2026-11-23T15:00:00.500Z,Asia/Tokyo

  eva@example.com , 2026-11-23 09:00 , 2026-11-23 17:00 , UTC
";
    let shifts = shifts_from_csv(csv, Some(zone("Europe/Berlin"))).unwrap();
    let got: Vec<(&str, DateTime<Utc>, DateTime<Utc>)> =
        shifts.iter().map(|s| (s.email.as_str(), s.start, s.end)).collect();
    assert_eq!(
        got,
        vec![
            ("ana@example.com", utc(2026, 11, 23, 7, 0), utc(2026, 11, 23, 15, 0)),
            // Default zone: Berlin is UTC+1 in November.
            ("ben@example.com", utc(2026, 11, 23, 7, 0), utc(2026, 11, 23, 15, 0) + TimeDelta::seconds(30)),
            // Per-row zone overrides the default: New York is UTC-5 in November.
            ("carla@example.com", utc(2026, 11, 23, 13, 0), utc(2026, 11, 23, 21, 0)),
            // An offset wins over the row's zone.
            (
                "dmitri@example.com",
                utc(2026, 11, 23, 7, 0),
                utc(2026, 11, 23, 15, 0) + TimeDelta::milliseconds(500)
            ),
            // Fields are trimmed; blank lines are skipped.
            ("eva@example.com", utc(2026, 11, 23, 9, 0), utc(2026, 11, 23, 17, 0)),
        ]
    );
}

#[test]
fn header_without_timezone_column_in_any_order_with_comments_and_bom() {
    let csv = "\u{feff}# exported 2026-11-20\nEnd , Email,START\n2026-11-23T16:00:00Z,ana@example.com,2026-11-23T08:00:00Z\n# trailing note\n";
    let shift = one_shift(csv, None);
    assert_eq!((shift.start, shift.end), (utc(2026, 11, 23, 8, 0), utc(2026, 11, 23, 16, 0)));
}

#[test]
fn rows_are_numbered_by_line_counting_comments_blank_lines_and_quoted_newlines() {
    let csv = "email,start,end\n# note\n\nok@example.com,2026-11-23T08:00:00Z,2026-11-23T09:00:00Z\nx@example.com,2026-11-23T08:00:00Z,nope\n";
    let (what, _) = invalid(shifts_from_csv(csv, None).unwrap_err());
    assert_eq!(what, "schedule row 5, field end");
    // A quoted field may hold a comma and a newline (though no e-mail address does); the
    // next row is numbered by the line it starts on.
    let csv = "email,start,end\n\"a,b\nc@example.com\",2026-11-23T08:00:00Z,2026-11-23T09:00:00Z\n";
    let (what, message) = invalid(shifts_from_csv(csv, None).unwrap_err());
    assert_eq!(what, "schedule row 2, field email");
    assert!(message.contains("is not an e-mail address"), "{message}");
    // The quoted zone spans lines 2 and 3 (the trailing newline is trimmed away).
    let csv = "email,start,end,timezone\n\"ok@example.com\",\"2026-11-23 08:00\",\"2026-11-23 09:00\",\"Europe/Berlin\n\"\nx@example.com,\"2026-11-23T08:00:00Z\",\"bad value\",\n";
    let (what, _) = invalid(shifts_from_csv(csv, None).unwrap_err());
    assert_eq!(what, "schedule row 4, field end");
    let valid_only = &csv[..csv.find("x@").unwrap()];
    assert_eq!(shifts_from_csv(valid_only, None).unwrap()[0].start, utc(2026, 11, 23, 7, 0));
}

#[test]
fn json_array_with_optional_timezone() {
    let json = r#"[
        {"email": "ana@example.com", "start": "2026-11-23 08:00", "end": "2026-11-23 16:00", "timezone": "Europe/Berlin"},
        {"email": "ben@example.com", "start": "2026-11-23T07:00:00Z", "end": "2026-11-23T15:00:00Z"},
        {"email": "carla@example.com", "start": "2026-11-23 08:00", "end": "2026-11-23 16:00", "timezone": null}
    ]"#;
    let shifts = shifts_from_json(json, Some(zone("UTC"))).unwrap();
    assert_eq!(shifts[0].start, utc(2026, 11, 23, 7, 0));
    assert_eq!(shifts[1].end, utc(2026, 11, 23, 15, 0));
    assert_eq!(shifts[2].start, utc(2026, 11, 23, 8, 0));
    assert!(shifts_from_json("[]", None).unwrap().is_empty());
}

#[test]
fn reader_variant_reads_the_same() {
    let csv = "email,start,end\nana@example.com,2026-11-23T08:00:00Z,2026-11-23T16:00:00Z\n";
    assert_eq!(
        shifts_from_csv_reader(std::io::Cursor::new(csv), None).unwrap(),
        shifts_from_csv(csv, None).unwrap()
    );
}

/// A local 22:00–06:00 night shift across a transition, and its UTC length.
fn night_shift(zone_name: &str, evening: (i32, u32, u32)) -> Shift {
    let (y, m, d) = evening;
    let next = NaiveDate::from_ymd_opt(y, m, d).unwrap().succ_opt().unwrap();
    let csv = format!(
        "email,start,end,timezone\nana@example.com,{y:04}-{m:02}-{d:02} 22:00,{next} 06:00,{zone_name}\n"
    );
    one_shift(&csv, None)
}

#[test]
fn night_shifts_across_daylight_saving_transitions_have_their_real_length() {
    let cases = [
        // Spring forward: one hour fewer.
        ("Europe/Berlin", (2026, 3, 28), utc(2026, 3, 28, 21, 0), utc(2026, 3, 29, 4, 0), 7),
        ("America/New_York", (2026, 3, 7), utc(2026, 3, 8, 3, 0), utc(2026, 3, 8, 10, 0), 7),
        // Fall back: one hour more.
        ("Europe/Berlin", (2026, 10, 24), utc(2026, 10, 24, 20, 0), utc(2026, 10, 25, 5, 0), 9),
        ("America/New_York", (2026, 10, 31), utc(2026, 11, 1, 2, 0), utc(2026, 11, 1, 11, 0), 9),
        // No transition: eight hours.
        ("Europe/Berlin", (2026, 11, 22), utc(2026, 11, 22, 21, 0), utc(2026, 11, 23, 5, 0), 8),
    ];
    for (zone_name, evening, start, end, hours) in cases {
        let shift = night_shift(zone_name, evening);
        assert_eq!((shift.start, shift.end), (start, end), "{zone_name} {evening:?}");
        assert_eq!(shift.duration(), TimeDelta::hours(hours), "{zone_name} {evening:?}");
    }
}

#[test]
fn a_local_time_in_a_spring_forward_gap_is_the_first_instant_after_the_gap() {
    // Berlin: 02:00 CET jumps to 03:00 CEST at 01:00 UTC. New York: 02:00 EST jumps to
    // 03:00 EDT at 07:00 UTC.
    let cases = [
        ("Europe/Berlin", "2026-03-29 02:30", utc(2026, 3, 29, 1, 0)),
        ("Europe/Berlin", "2026-03-29 02:00", utc(2026, 3, 29, 1, 0)),
        ("Europe/Berlin", "2026-03-29 02:59:59", utc(2026, 3, 29, 1, 0)),
        ("America/New_York", "2026-03-08 02:30", utc(2026, 3, 8, 7, 0)),
    ];
    for (zone_name, local, expected) in cases {
        for boundary in [Boundary::Start, Boundary::End] {
            assert_eq!(
                parse_instant(local, Some(zone(zone_name)), boundary).unwrap(),
                expected,
                "{zone_name} {local}"
            );
        }
    }
    // Just outside the gap, times are unaffected.
    let berlin = zone("Europe/Berlin");
    assert_eq!(
        parse_instant("2026-03-29 01:59:59", Some(berlin), Boundary::Start).unwrap(),
        utc(2026, 3, 29, 0, 59) + TimeDelta::seconds(59)
    );
    assert_eq!(
        parse_instant("2026-03-29 03:00", Some(berlin), Boundary::Start).unwrap(),
        utc(2026, 3, 29, 1, 0)
    );

    // A shift that starts in the gap starts when the clocks jump.
    let shift =
        one_shift("email,start,end\nana@example.com,2026-03-29 02:30,2026-03-29 10:00\n", Some(berlin));
    assert_eq!((shift.start, shift.duration()), (utc(2026, 3, 29, 1, 0), TimeDelta::hours(7)));
}

#[test]
fn an_ambiguous_fall_back_time_is_earlier_for_a_start_and_later_for_an_end() {
    // Berlin 2026-10-25: 02:30 happens at 00:30 UTC (CEST) and again at 01:30 UTC (CET).
    // New York 2026-11-01: 01:30 happens at 05:30 UTC (EDT) and again at 06:30 UTC (EST).
    let cases = [
        ("Europe/Berlin", "2026-10-25 02:30", utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1, 30)),
        ("America/New_York", "2026-11-01 01:30", utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 6, 30)),
    ];
    for (zone_name, local, earlier, later) in cases {
        let tz = zone(zone_name);
        assert_eq!(parse_instant(local, Some(tz), Boundary::Start).unwrap(), earlier);
        assert_eq!(parse_instant(local, Some(tz), Boundary::End).unwrap(), later);
        let naive = chrono::NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M").unwrap();
        assert_eq!(resolve_local(naive, tz, Boundary::Start).unwrap(), earlier);
        assert_eq!(resolve_local(naive, tz, Boundary::End).unwrap(), later);
    }
    // A shift written 02:00–03:00 on the fall-back night covers both readings: two hours.
    let shift = one_shift(
        "email,start,end,timezone\nana@example.com,2026-10-25 02:00,2026-10-25 03:00,Europe/Berlin\n",
        None,
    );
    assert_eq!((shift.start, shift.end), (utc(2026, 10, 25, 0, 0), utc(2026, 10, 25, 2, 0)));
}

#[test]
fn a_shift_entirely_inside_a_gap_is_an_error_on_its_end() {
    let err = shifts_from_csv(
        "email,start,end,timezone\nana@example.com,2026-03-29 02:10,2026-03-29 02:50,Europe/Berlin\n",
        None,
    )
    .unwrap_err();
    let (what, message) = invalid(err);
    assert_eq!(what, "schedule row 2, field end");
    assert!(message.contains("is not after start"), "{message}");
}

#[test]
fn each_kind_of_bad_row_names_its_row_and_field() {
    let header = "email,start,end,timezone\n";
    let good = "ok@example.com,2026-11-23T08:00:00Z,2026-11-23T16:00:00Z,\n";
    let cases: [(&str, &str, &str); 10] = [
        (",2026-11-23T08:00:00Z,2026-11-23T16:00:00Z,", "field email", "is empty"),
        (
            "Ana Example,2026-11-23T08:00:00Z,2026-11-23T16:00:00Z,",
            "field email",
            "\"Ana Example\" is not an e-mail address",
        ),
        (
            "ana@example.com,23.11.2026 08:00,2026-11-23T16:00:00Z,",
            "field start",
            "cannot read \"23.11.2026 08:00\"",
        ),
        ("ana@example.com,,2026-11-23T16:00:00Z,", "field start", "is empty"),
        ("ana@example.com,2026-11-23T08:00:00Z,2026-11-23T25:00:00Z,", "field end", "cannot read"),
        ("ana@example.com,2026-11-23T16:00:00Z,2026-11-23T08:00:00Z,", "field end", "is not after start"),
        ("ana@example.com,2026-11-23T08:00:00Z,2026-11-23T08:00:00Z,", "field end", "is not after start"),
        (
            "ana@example.com,2026-11-23 08:00,2026-11-23 16:00,Europe/Berln",
            "field timezone",
            "unknown time zone \"Europe/Berln\"",
        ),
        (
            "ana@example.com,2026-11-23 08:00,2026-11-23T16:00:00Z,",
            "field start",
            "no UTC offset and no time zone",
        ),
        (
            "ana@example.com,2026-11-23T08:00:00Z,2026-11-23T16:00:00Z",
            "",
            "has 3 fields where the header has 4",
        ),
    ];
    for (row, field, message_part) in cases {
        let csv = format!("{header}{good}{good}{row}\n{good}");
        let (what, message) = invalid(shifts_from_csv(&csv, None).unwrap_err());
        let expected_what =
            if field.is_empty() { "schedule row 4".to_owned() } else { format!("schedule row 4, {field}") };
        assert_eq!(what, expected_what, "row {row:?}: {message}");
        assert!(message.contains(message_part), "row {row:?}: {message}");
    }
}

#[test]
fn bad_headers_are_errors() {
    let cases = [
        ("email,start,end,timezon\n", "unknown column \"timezon\""),
        ("email,start\n", "missing column(s): end"),
        ("email,start,end,Email\n", "column \"email\" appears twice"),
        ("", "missing column(s): email, start, end"),
    ];
    for (csv, message_part) in cases {
        let (what, message) = invalid(shifts_from_csv(csv, None).unwrap_err());
        assert_eq!(what, "schedule header");
        assert!(message.contains(message_part), "{csv:?}: {message}");
    }
    assert!(shifts_from_csv("email,start,end\n", None).unwrap().is_empty());
}

#[test]
fn json_errors_name_the_entry_and_field() {
    let cases = [
        (r#"{"email": "a@example.com"}"#, "schedule", "expected a JSON array"),
        (
            r#"[{"email": "a@example.com", "start": "2026-11-23T08:00:00Z"}]"#,
            "schedule entry 1",
            "missing field `end`",
        ),
        (
            r#"[{"email": "a@example.com", "start": "2026-11-23T08:00:00Z", "end": "2026-11-23T09:00:00Z"},
                {"email": "b@example.com", "start": 1700000000, "end": "2026-11-23T09:00:00Z"}]"#,
            "schedule entry 2, field start",
            "invalid type",
        ),
        (
            r#"[{"email": "a@example.com", "start": "x", "end": "y", "zone": "UTC"}]"#,
            "schedule entry 1, field zone",
            "unknown field `zone`",
        ),
        (
            r#"[{"email": "a@example.com", "start": "2026-11-23 08:00", "end": "2026-11-23 09:00", "timezone": "Mars/Olympus"}]"#,
            "schedule entry 1, field timezone",
            "Mars/Olympus",
        ),
        (
            r#"[{"email": "a@example.com", "start": "2026-11-23T09:00:00Z", "end": "2026-11-23T08:00:00Z"}]"#,
            "schedule entry 1, field end",
            "is not after start",
        ),
    ];
    for (json, expected_what, message_part) in cases {
        let (what, message) = invalid(shifts_from_json(json, None).unwrap_err());
        assert_eq!(what, expected_what, "{json}: {message}");
        assert!(message.contains(message_part), "{json}: {message}");
    }
}

#[test]
fn zone_lookup_and_shift_constructor_validate() {
    assert_eq!(parse_zone(" Europe/Berlin ").unwrap(), chrono_tz::Europe::Berlin);
    let (what, message) = invalid(parse_zone("Berlin").unwrap_err());
    assert_eq!(what, "time zone");
    assert!(message.contains("\"Berlin\""), "{message}");
    assert!(Shift::new("a@example.com", utc(2026, 1, 1, 9, 0), utc(2026, 1, 1, 9, 0)).is_err());
    let shift = Shift::new("a@example.com", utc(2026, 1, 1, 9, 0), utc(2026, 1, 1, 10, 0)).unwrap();
    assert!(shift.contains(utc(2026, 1, 1, 9, 0)) && !shift.contains(utc(2026, 1, 1, 10, 0)));
}

#[test]
fn the_bundled_sample_schedule_loads() {
    let text = include_str!("../../examples/data/sample_schedule.csv");
    let shifts = shifts_from_csv(text, None).unwrap();
    assert_eq!(shifts.len(), 16);
    let schedule = Schedule::new(shifts);
    let agents: Vec<&str> = schedule.agents().collect();
    assert_eq!(agents.len(), 8);
    assert!(agents.iter().all(|a| a.ends_with("@example.com")), "{agents:?}");
    // Dmitri's two back-to-back blocks are one shift, 08:00–16:00 UTC.
    assert_eq!(schedule.shifts_for("dmitri@example.com").len(), 1);
    let noon = utc(2026, 11, 23, 12, 0);
    let on: Vec<&str> = schedule.on_shift_at(noon).collect();
    assert_eq!(
        on,
        ["ana@example.com", "ben@example.com", "dmitri@example.com", "eva@example.com", "farid@example.com"]
    );
    // Eva's break: 13:00–14:00 UTC.
    assert_eq!(schedule.presence_at("eva@example.com", utc(2026, 11, 23, 13, 30)), Presence::Offline);
    // Carla's night shift ends at 06:00 Berlin, 05:00 UTC.
    assert_eq!(
        schedule.next_change_for("carla@example.com", utc(2026, 11, 23, 0, 0)),
        Some(utc(2026, 11, 23, 5, 0))
    );
}
