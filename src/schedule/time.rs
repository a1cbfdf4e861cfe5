//! Turning the date-times of a schedule into instants: RFC 3339 values, and local
//! date-times in an IANA time zone, including the daylight-saving edge cases.

use chrono::offset::LocalResult;
use chrono::{DateTime, NaiveDateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

use crate::error::excerpt;
use crate::{Error, Result};

/// Which end of a shift a date-time is. It decides how an ambiguous local time (one that
/// occurs twice when clocks go back) is read; see [`resolve_local`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Boundary {
    /// The first instant of a shift.
    Start,
    /// The first instant after a shift.
    End,
}

/// The local date-time formats accepted besides RFC 3339 (tried in this order).
const LOCAL_FORMATS: [&str; 4] =
    ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"];

/// Look up an IANA time zone by its exact name (`Europe/Berlin`, `America/New_York`,
/// `UTC`). An unknown name is an [`Error::InvalidInput`] quoting it.
pub fn parse_zone(name: &str) -> Result<Tz> {
    parse_zone_message(name).map_err(|message| Error::invalid("time zone", message))
}

pub(crate) fn parse_zone_message(name: &str) -> std::result::Result<Tz, String> {
    name.trim().parse::<Tz>().map_err(|_| {
        format!(
            "unknown time zone \"{}\": expected an IANA name such as Europe/Berlin or UTC",
            excerpt(name.trim(), 60)
        )
    })
}

/// Read a local (wall-clock) date-time in `zone` as an instant.
///
/// Daylight-saving transitions are handled deliberately:
///
/// - **Nonexistent local time** (in the gap when clocks go forward, e.g. 02:30 on
///   2026-03-29 in Europe/Berlin): the first instant after the gap, i.e. the moment of
///   the transition (03:00 CEST = 01:00 UTC). This holds for starts and ends alike, so a
///   shift written to start at 02:30 starts as soon as the clocks have jumped, and a shift
///   ending at 02:30 ends then too.
/// - **Ambiguous local time** (it occurs twice when clocks go back, e.g. 02:30 on
///   2026-10-25 in Europe/Berlin): a [`Boundary::Start`] takes the *earlier* instant
///   (02:30 CEST = 00:30 UTC) and a [`Boundary::End`] the *later* one (02:30 CET =
///   01:30 UTC). The shift thus covers every instant its written times could mean: an
///   agent is never taken offline while a reading of their shift still has them working.
///
/// The result is the same whatever the zone's history, as long as two transitions are
/// not within 15 hours of each other (true of every zone in use).
pub fn resolve_local(local: NaiveDateTime, zone: Tz, boundary: Boundary) -> Result<DateTime<Utc>> {
    resolve_local_message(local, zone, boundary).map_err(|message| Error::invalid("local date-time", message))
}

pub(crate) fn resolve_local_message(
    local: NaiveDateTime,
    zone: Tz,
    boundary: Boundary,
) -> std::result::Result<DateTime<Utc>, String> {
    match zone.from_local_datetime(&local) {
        LocalResult::Single(instant) => Ok(instant.with_timezone(&Utc)),
        LocalResult::Ambiguous(first, second) => {
            let (earlier, later) = if first <= second { (first, second) } else { (second, first) };
            Ok(match boundary {
                Boundary::Start => earlier,
                Boundary::End => later,
            }
            .with_timezone(&Utc))
        }
        LocalResult::None => first_instant_after_gap(local, zone).ok_or_else(|| {
            format!(
                "local time {local} does not exist in {} and the gap around it could not be resolved",
                zone.name()
            )
        }),
    }
}

/// The earliest instant whose wall-clock time in `zone` is at or after `local`: for a
/// `local` inside a gap, the instant the clocks jumped.
fn first_instant_after_gap(local: NaiveDateTime, zone: Tz) -> Option<DateTime<Utc>> {
    // UTC offsets lie within ±15 h, so the answer lies within this window, in which the
    // wall clock only moves forward (no two transitions are that close).
    let window = TimeDelta::hours(15);
    let wall_clock = |seconds: i64| {
        DateTime::from_timestamp(seconds, 0)
            .map(|instant| zone.from_utc_datetime(&instant.naive_utc()).naive_local())
    };
    let mut before = local.checked_sub_signed(window)?.and_utc().timestamp();
    let mut at_or_after = local.checked_add_signed(window)?.and_utc().timestamp();
    if wall_clock(before)? >= local || wall_clock(at_or_after)? < local {
        return None;
    }
    while at_or_after - before > 1 {
        let middle = before + (at_or_after - before) / 2;
        if wall_clock(middle)? >= local {
            at_or_after = middle;
        } else {
            before = middle;
        }
    }
    DateTime::from_timestamp(at_or_after, 0)
}

/// Read a schedule date-time: RFC 3339 with an offset (`2026-11-23T08:00:00+01:00`,
/// `2026-11-23 07:00:00Z`), or a local date-time (`2026-11-23 08:00`,
/// `2026-11-23T08:00:00`, seconds optional) read in `zone` by [`resolve_local`].
///
/// A value with an offset ignores `zone`. A local value without a zone is an error.
pub fn parse_instant(text: &str, zone: Option<Tz>, boundary: Boundary) -> Result<DateTime<Utc>> {
    parse_instant_message(text, zone, boundary).map_err(|message| Error::invalid("date-time", message))
}

pub(crate) fn parse_instant_message(
    text: &str,
    zone: Option<Tz>,
    boundary: Boundary,
) -> std::result::Result<DateTime<Utc>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("is empty".to_owned());
    }
    if let Ok(instant) = DateTime::parse_from_rfc3339(text) {
        return Ok(instant.with_timezone(&Utc));
    }
    let local = LOCAL_FORMATS
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .ok_or_else(|| {
            format!(
                "cannot read \"{}\" as a date-time: expected RFC 3339 with an offset \
                 (2026-11-23T08:00:00+01:00) or a local date-time (2026-11-23 08:00)",
                excerpt(text, 60)
            )
        })?;
    let zone = zone.ok_or_else(|| {
        format!(
            "\"{text}\" has no UTC offset and no time zone applies: add a timezone column \
             or pass a default zone"
        )
    })?;
    resolve_local_message(local, zone, boundary)
}
