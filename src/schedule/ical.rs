//! Shifts from iCalendar (RFC 5545) text: Google Calendar and Outlook exports, workforce
//! tools' feeds (feature `ical`).
//!
//! This is pure domain code: [`IcalSchedule::parse`] reads text you hand it and
//! [`IcalSchedule::shifts`] takes the window it is asked about; nothing here reads a file, the
//! network or the clock. [`crate::ical::IcalSource`] adds the file and URL polling.
//!
//! # What is understood
//!
//! - `VEVENT`s with `DTSTART` and `DTEND` or `DURATION`, as UTC (`…Z`), local time with a
//!   `TZID`, floating local time (read in the calendar's `X-WR-TIMEZONE` as Google writes
//!   it, else in [`IcalOptions::default_zone`]) or a date (all-day events).
//! - `TZID`s that are IANA names (`Europe/Berlin`), Windows names as Outlook writes them
//!   (`W. Europe Standard Time`, `(UTC+01:00) Amsterdam, Berlin, …`), or a `VTIMEZONE` whose
//!   `X-LIC-LOCATION` or `X-MICROSOFT-CDO-TZID` names the zone. The zone's rules then come
//!   from the IANA database (as CalConnect recommends), never from a fixed offset, so every
//!   daylight-saving change is right. A `TZID` that names no known zone is an error.
//! - `RRULE` (expanded by the `rrule` crate in the event's wall-clock time, so a 09:00
//!   weekly shift stays at 09:00 local across daylight-saving changes), `RDATE` (date-times
//!   and periods), `EXDATE`, and overridden instances (`RECURRENCE-ID`, matched by `UID`
//!   and instant in any zone; `RANGE=THISANDFUTURE` is read as this instance only).
//! - `STATUS:CANCELLED` on a series (no instance is a shift, overrides included) or on one
//!   overridden instance (that instance is not a shift).
//! - Local times in a daylight-saving gap or overlap follow
//!   [`resolve_local`](super::resolve_local): a shift covers every instant its written
//!   times could mean.
//!
//! # Who works
//!
//! [`Assignee`] decides whose shift an event is: one calendar per agent
//! ([`Assignee::Calendar`]), or a shared calendar whose events name the agent
//! ([`Assignee::Attendees`], the default: the attendees' e-mail addresses, except attendees
//! who declined and rooms or resources; failing that an e-mail address in the summary;
//! or [`Assignee::Summary`]). An event that names nobody is not a shift and is counted in
//! [`Expansion::unassigned`].
//!
//! # Errors
//!
//! Text that is not iCalendar, a malformed line, an event without a readable `DTSTART`,
//! an unknown `TZID`, an `RRULE` the recurrence engine rejects: every one is an
//! [`Error::InvalidInput`] whose `what` names the source and the line of the event
//! (`ical feed rota.ics, line 42 (VEVENT uid abc@google.com)`), read before any shift is
//! produced. A schedule that failed to load produces no shift at all.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use deskbridge::schedule::ical::{Assignee, IcalOptions, IcalSchedule};
//!
//! let text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Example//EN\r\n\
//!     BEGIN:VEVENT\r\nUID:shift-1\r\nDTSTART;TZID=Europe/Berlin:20261123T090000\r\n\
//!     DTEND;TZID=Europe/Berlin:20261123T170000\r\nRRULE:FREQ=WEEKLY;COUNT=4\r\n\
//!     SUMMARY:Support ana@example.com\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
//! let calendar = IcalSchedule::parse(text, "rota.ics", &IcalOptions::default())?;
//! let from = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
//! let to = Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap();
//! let expansion = calendar.shifts(from, to, &Assignee::Attendees)?;
//! assert_eq!(expansion.shifts.len(), 4);
//! assert_eq!(expansion.shifts[0].email, "ana@example.com");
//! assert_eq!(expansion.shifts[0].start, Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 0).unwrap());
//! # Ok::<(), deskbridge::Error>(())
//! ```

use std::collections::{HashMap, HashSet};
use std::fmt;

use calcard::common::timezone::Tz as CalTz;
use calcard::common::{DateTimeResult, PartialDateTime};
use calcard::icalendar::{
    ICalendar, ICalendarComponent, ICalendarComponentType, ICalendarEntry, ICalendarParameterName,
    ICalendarParameterValue, ICalendarParticipationStatus, ICalendarPeriod, ICalendarProperty,
    ICalendarUserTypes, ICalendarValue,
};
use calcard::{Entry, Parser};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

use super::Shift;
use super::time::{Boundary, resolve_local_message};
use crate::error::excerpt;
use crate::{Error, Result};

/// Most instances one recurrence rule may produce before the end of a requested window
/// (skipped ones included): a guard against rules such as `FREQ=SECONDLY` from 1970.
/// A daily rule running since 1990 needs about 13,000.
pub const MAX_INSTANCES_PER_RULE: usize = 200_000;

/// How to read a feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IcalOptions {
    /// The zone for floating times and all-day events when the calendar names none
    /// (`X-WR-TIMEZONE`). Default UTC.
    pub default_zone: Tz,
    /// What an all-day event means.
    pub all_day: AllDay,
}

impl Default for IcalOptions {
    fn default() -> Self {
        Self { default_zone: Tz::UTC, all_day: AllDay::Shift }
    }
}

/// What an all-day event (`DTSTART;VALUE=DATE`) means.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AllDay {
    /// A shift from local midnight to local midnight of the day after its last day
    /// (default): an agent on call all day is online all day.
    #[default]
    Shift,
    /// Not a shift (a calendar that also holds holidays, birthdays, "office closed" notes).
    Ignore,
}

/// Whose shift an event is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Assignee {
    /// One calendar per agent: every event of the calendar is this agent's shift.
    Calendar(String),
    /// A shared calendar (default): the event's attendees' e-mail addresses (attendees who
    /// declined, rooms and resources excluded); failing that, the first e-mail address in
    /// the summary.
    #[default]
    Attendees,
    /// A shared calendar whose event summaries name the agent by e-mail
    /// (`Support: ana@example.com`); attendees are ignored.
    Summary,
}

/// The shifts of one window, and the events in it that named nobody.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expansion {
    /// The shifts, sorted by start, then e-mail.
    pub shifts: Vec<Shift>,
    /// `UID`s of events with an instance in the window that named no agent (sorted, each
    /// once).
    pub unassigned: Vec<String>,
}

/// A time as the feed wrote it, resolved to a zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum When {
    /// A date-time in a zone (UTC for `…Z`), as wall-clock time there.
    Local { at: NaiveDateTime, zone: Tz },
    /// A date (all-day).
    Date(NaiveDate),
}

/// How long each instance lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Length {
    /// Wall-clock time from the start (from `DTEND`, or a `DURATION` in days or weeks).
    Nominal(TimeDelta),
    /// Elapsed time (a `DURATION` in hours, minutes or seconds).
    Exact(TimeDelta),
}

/// A rule that may be restarted at a later start without changing any instance after
/// it: `FREQ=DAILY` or `WEEKLY` with no `COUNT` (counting needs the walk from the start),
/// no `BYSETPOS`, `BYWEEKNO` or `BYYEARDAY`. Moving its start by whole periods
/// (`INTERVAL` days or weeks, in wall-clock time) keeps the period grid, the default
/// weekday and time, and `UNTIL`; so the instances from one period after the new start on
/// are exactly the original ones.
#[derive(Debug, Clone)]
struct Jump {
    rule: rrule::RRule<rrule::Unvalidated>,
    period: TimeDelta,
}

/// One `VEVENT`, read and checked.
#[derive(Debug, Clone)]
struct Event {
    uid: String,
    line: usize,
    start: When,
    length: Length,
    rule: Option<rrule::RRuleSet>,
    /// For a rule whose instances repeat with a fixed wall-clock period (see
    /// [`Jump`]): the rule again, to be restarted near a window instead of walked from
    /// `DTSTART`.
    jump: Option<Jump>,
    rdates: Vec<(When, Option<Length>)>,
    exdates: HashSet<NaiveDateTime>,
    recurrence_id: Option<NaiveDateTime>,
    cancelled: bool,
    attendees: Vec<String>,
    summary_email: Option<String>,
    /// The zone dates (all-day events) are read in: the calendar's, else the default.
    date_zone: Tz,
}

/// A parsed iCalendar feed: every event checked, ready to be expanded into shifts for any
/// window. See the [module documentation](self) for what is understood.
#[derive(Clone)]
pub struct IcalSchedule {
    source: String,
    options: IcalOptions,
    events: Vec<Event>,
    /// Per `UID`, the `RECURRENCE-ID`s (master's wall-clock time) that override an instance.
    overridden: HashMap<String, HashSet<NaiveDateTime>>,
    /// `UID`s whose master event is cancelled.
    cancelled_series: HashSet<String>,
}

impl fmt::Debug for IcalSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IcalSchedule")
            .field("source", &self.source)
            .field("events", &self.events.len())
            .field("options", &self.options)
            .finish()
    }
}

/// Where a problem is: the source, and the event's first line and `UID`.
fn at_event(source: &str, line: usize, uid: &str) -> String {
    if uid.is_empty() {
        format!("ical feed {source}, line {line} (VEVENT)")
    } else {
        format!("ical feed {source}, line {line} (VEVENT uid {})", excerpt(uid, 80))
    }
}

/// The 1-based line numbers of every `BEGIN:VEVENT` line, in order.
fn vevent_lines(text: &str) -> Vec<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| {
            line.trim_start_matches('\u{feff}').trim_end().eq_ignore_ascii_case("BEGIN:VEVENT")
        })
        .map(|(index, _)| index + 1)
        .collect()
}

/// Check that every `BEGIN:` has its `END:` (a feed cut short in transit must not load as
/// a calendar with its last events missing), naming the line of the first mismatch.
fn check_nesting(text: &str, what: &str) -> Result<()> {
    let mut open: Vec<(String, usize)> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim_start_matches('\u{feff}').trim_end();
        let (keyword, name) = match line.split_once(':') {
            Some((keyword, name)) => (keyword, name.trim()),
            None => continue,
        };
        if keyword.eq_ignore_ascii_case("BEGIN") {
            open.push((name.to_ascii_uppercase(), index + 1));
        } else if keyword.eq_ignore_ascii_case("END") {
            let name = name.to_ascii_uppercase();
            match open.pop() {
                Some((begun, _)) if begun == name => {}
                Some((begun, at)) => {
                    return Err(Error::invalid(
                        format!("{what}, line {}", index + 1),
                        format!("END:{} closes BEGIN:{begun} of line {at}", excerpt(&name, 40)),
                    ));
                }
                None => {
                    return Err(Error::invalid(
                        format!("{what}, line {}", index + 1),
                        format!("END:{} closes nothing", excerpt(&name, 40)),
                    ));
                }
            }
        }
    }
    match open.first() {
        Some((begun, at)) => Err(Error::invalid(
            format!("{what}, line {at}"),
            format!("BEGIN:{} is never closed (the feed is cut short or malformed)", excerpt(begun, 40)),
        )),
        None => Ok(()),
    }
}

/// The 1-based number of the first line of `text` equal to `wanted` (trimmed).
fn line_of(text: &str, wanted: &str) -> Option<usize> {
    let wanted = wanted.trim();
    text.lines().position(|line| line.trim() == wanted).map(|index| index + 1)
}

impl IcalSchedule {
    /// Parse and check a feed. `source` names it in errors (a file name, a URL without its
    /// secret path).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the source and line for text that is not iCalendar,
    /// a malformed or unterminated component, or an event that cannot be read (see the
    /// [module documentation](self)).
    pub fn parse(text: &str, source: &str, options: &IcalOptions) -> Result<Self> {
        let what = format!("ical feed {source}");
        check_nesting(text, &what)?;
        let mut calendars = Vec::new();
        let mut parser = Parser::new(text);
        loop {
            match parser.entry() {
                Entry::ICalendar(calendar) => calendars.push(calendar),
                Entry::Eof => break,
                Entry::InvalidLine(line) => {
                    let at = line_of(text, &line).map(|n| format!(", line {n}")).unwrap_or_default();
                    return Err(Error::invalid(
                        format!("{what}{at}"),
                        format!("cannot read \"{}\" as an iCalendar line", excerpt(line.trim(), 80)),
                    ));
                }
                Entry::UnexpectedComponentEnd { expected, found } => {
                    let end = format!("END:{}", found.as_str());
                    let at = line_of(text, &end).map(|n| format!(", line {n}")).unwrap_or_default();
                    return Err(Error::invalid(
                        format!("{what}{at}"),
                        format!("{end} where END:{} was expected", expected.as_str()),
                    ));
                }
                Entry::UnterminatedComponent(name) => {
                    return Err(Error::invalid(
                        what,
                        format!("BEGIN:{name} is never closed (the feed is cut short or malformed)"),
                    ));
                }
                Entry::VCard(_) => {
                    return Err(Error::invalid(what, "holds a vCard (contacts), not a calendar"));
                }
                Entry::TooManyComponents => {
                    return Err(Error::invalid(what, "holds more components than the parser accepts"));
                }
                _ => return Err(Error::invalid(what, "cannot be read as iCalendar")),
            }
        }
        if calendars.is_empty() {
            return Err(Error::invalid(
                what,
                "holds no calendar: expected BEGIN:VCALENDAR (is this an iCalendar feed?)",
            ));
        }
        let lines = vevent_lines(text);
        let mut schedule = Self {
            source: source.to_owned(),
            options: options.clone(),
            events: Vec::new(),
            overridden: HashMap::new(),
            cancelled_series: HashSet::new(),
        };
        let mut event_index = 0;
        for calendar in &calendars {
            let resolver = calendar.build_tz_resolver();
            let calendar_zone = calendar_zone(calendar).unwrap_or(options.default_zone);
            for component in
                calendar.components.iter().filter(|c| c.component_type == ICalendarComponentType::VEvent)
            {
                let line = lines.get(event_index).copied().unwrap_or(0);
                event_index += 1;
                let reader = EventReader { source, line, zone: calendar_zone, resolver: &resolver };
                if let Some(event) = reader.read(component)? {
                    schedule.add(event);
                }
            }
        }
        Ok(schedule)
    }

    fn add(&mut self, event: Event) {
        match (event.recurrence_id, event.cancelled) {
            (Some(instance), _) => {
                self.overridden.entry(event.uid.clone()).or_default().insert(instance);
            }
            (None, true) => {
                self.cancelled_series.insert(event.uid.clone());
            }
            (None, false) => {}
        }
        self.events.push(event);
    }

    /// The name this schedule was parsed under (used in errors).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// How many `VEVENT`s the feed holds (masters and overridden instances).
    pub fn event_count(&self) -> usize {
        self.events.len()
    }

    /// Every agent the feed names per `assignee` (in events that are not cancelled), as
    /// written, sorted by [`normalize_email`](super::normalize_email), each once.
    pub fn agents(&self, assignee: &Assignee) -> Vec<String> {
        let mut agents: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();
        for event in self.events.iter().filter(|event| !event.cancelled) {
            for email in self.emails_for(event, assignee) {
                agents.entry(super::normalize_email(&email)).or_insert(email);
            }
        }
        agents.into_values().collect()
    }

    /// The shifts that overlap `[from, to)` and whose event names an agent per `assignee`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the event when a recurrence rule would produce more
    /// than [`MAX_INSTANCES_PER_RULE`] instances before `to`.
    pub fn shifts(&self, from: DateTime<Utc>, to: DateTime<Utc>, assignee: &Assignee) -> Result<Expansion> {
        let mut expansion = Expansion::default();
        if to <= from {
            return Ok(expansion);
        }
        let mut unassigned = std::collections::BTreeSet::new();
        for event in &self.events {
            if event.cancelled {
                continue;
            }
            if event.recurrence_id.is_some() && self.cancelled_series.contains(&event.uid) {
                continue;
            }
            if self.options.all_day == AllDay::Ignore && matches!(event.start, When::Date(_)) {
                continue;
            }
            let emails = self.emails_for(event, assignee);
            let mut push = |start: DateTime<Utc>, end: DateTime<Utc>| {
                if start < to && end > from && end > start {
                    if emails.is_empty() {
                        unassigned.insert(event.uid.clone());
                    }
                    for email in &emails {
                        expansion.shifts.push(Shift { email: email.clone(), start, end });
                    }
                }
            };
            let overridden = self.overridden.get(&event.uid);
            for (start, length) in self.instances(event, from, to)? {
                let local = match start {
                    When::Local { at, .. } => at,
                    When::Date(date) => date.and_time(NaiveTime::MIN),
                };
                if event.recurrence_id.is_none() && overridden.is_some_and(|set| set.contains(&local)) {
                    continue;
                }
                if let Some((start, end)) = bounds(start, length.unwrap_or(event.length), event.date_zone) {
                    push(start, end);
                }
            }
        }
        expansion.shifts.sort_by(|a, b| (a.start, &a.email, a.end).cmp(&(b.start, &b.email, b.end)));
        expansion.shifts.dedup();
        expansion.unassigned = unassigned.into_iter().collect();
        Ok(expansion)
    }

    /// The e-mails whose shift `event` is.
    fn emails_for(&self, event: &Event, assignee: &Assignee) -> Vec<String> {
        match assignee {
            Assignee::Calendar(email) => vec![email.trim().to_owned()],
            Assignee::Attendees if !event.attendees.is_empty() => event.attendees.clone(),
            Assignee::Attendees | Assignee::Summary => event.summary_email.iter().cloned().collect(),
        }
    }

    /// Every instance start of `event` that may overlap `[from, to)`, with its own length
    /// when an `RDATE` period gives one. EXDATEs are removed here; overrides by the caller.
    fn instances(
        &self,
        event: &Event,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(When, Option<Length>)>> {
        let mut out = Vec::new();
        let Some(rule) = &event.rule else {
            // No rule: the start and any RDATEs form the set; EXDATE still applies to them.
            out.push((event.start, None));
            out.extend(event.rdates.iter().copied());
            out.retain(|(when, _)| {
                let local = match *when {
                    When::Local { at, .. } => at,
                    When::Date(date) => date.and_time(NaiveTime::MIN),
                };
                !event.exdates.contains(&local)
            });
            return Ok(out);
        };
        // Wall-clock bounds, padded by a day more than any offset and the event's length.
        let pad = TimeDelta::days(2)
            + match event.length {
                Length::Nominal(d) | Length::Exact(d) => d.max(TimeDelta::zero()),
            };
        let (low, high) = (from.naive_utc() - pad, to.naive_utc() + TimeDelta::days(2));
        let restarted = event.jump.as_ref().and_then(|jump| restart(jump, event.start, low));
        let rule = restarted.as_ref().unwrap_or(rule);
        let mut seen = 0usize;
        for instance in rule {
            let local = instance.naive_utc();
            seen += 1;
            if seen > MAX_INSTANCES_PER_RULE {
                return Err(Error::invalid(
                    at_event(&self.source, event.line, &event.uid),
                    format!(
                        "RRULE produces more than {MAX_INSTANCES_PER_RULE} instances before {}: refusing to expand it",
                        to.to_rfc3339()
                    ),
                ));
            }
            if local > high {
                break;
            }
            if local < low || event.exdates.contains(&local) {
                continue;
            }
            let start = match event.start {
                When::Local { zone, .. } => When::Local { at: local, zone },
                When::Date(_) => When::Date(local.date()),
            };
            out.push((start, None));
        }
        for &(rdate, length) in &event.rdates {
            let local = match rdate {
                When::Local { at, .. } => at,
                When::Date(date) => date.and_time(NaiveTime::MIN),
            };
            if !event.exdates.contains(&local) {
                out.push((rdate, length));
            }
        }
        Ok(out)
    }
}

/// `jump`'s rule restarted at the last whole period that leaves a full period before
/// `low` (wall-clock), when that is later than the event's start; `None` to walk from the
/// start.
fn restart(jump: &Jump, start: When, low: NaiveDateTime) -> Option<rrule::RRuleSet> {
    let local_start = match start {
        When::Local { at, .. } => at,
        When::Date(date) => date.and_time(NaiveTime::MIN),
    };
    let target = low.checked_sub_signed(jump.period)?;
    if target <= local_start.checked_add_signed(jump.period)? {
        return None;
    }
    let periods = (target - local_start).num_seconds() / jump.period.num_seconds().max(1);
    let new_start = local_start.checked_add_signed(jump.period.checked_mul(i32::try_from(periods).ok()?)?)?;
    jump.rule.clone().build(rrule::Tz::UTC.from_utc_datetime(&new_start)).ok()
}

/// One instance's UTC range (dates read in `date_zone`).
fn bounds(start: When, length: Length, date_zone: Tz) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let (local, zone) = match start {
        When::Local { at, zone } => (at, zone),
        When::Date(date) => (date.and_time(NaiveTime::MIN), date_zone),
    };
    let begin = resolve_local_message(local, zone, Boundary::Start).ok()?;
    let end = match length {
        Length::Exact(delta) => begin.checked_add_signed(delta)?,
        Length::Nominal(delta) => {
            resolve_local_message(local.checked_add_signed(delta)?, zone, Boundary::End).ok()?
        }
    };
    Some((begin, end))
}

/// The calendar-wide zone Google writes (`X-WR-TIMEZONE`), when it names a known zone.
fn calendar_zone(calendar: &ICalendar) -> Option<Tz> {
    let root = calendar.components.first()?;
    root.entries.iter().find_map(|entry| match &entry.name {
        ICalendarProperty::Other(name) if name.eq_ignore_ascii_case("X-WR-TIMEZONE") => {
            entry.values.first().and_then(ICalendarValue::as_text).and_then(|z| z.trim().parse::<Tz>().ok())
        }
        _ => None,
    })
}

/// Reads one `VEVENT` of one calendar.
struct EventReader<'a> {
    source: &'a str,
    line: usize,
    /// The zone for floating times and dates.
    zone: Tz,
    resolver: &'a calcard::icalendar::timezone::TzResolver<&'a str>,
}

impl EventReader<'_> {
    fn error(&self, uid: &str, message: impl Into<String>) -> Error {
        Error::invalid(at_event(self.source, self.line, uid), message)
    }

    /// The zone a `TZID` names.
    fn zone_of(&self, uid: &str, property: &str, tzid: &str) -> Result<Tz> {
        match self.resolver.resolve(tzid) {
            Some(CalTz::Tz(zone)) => Ok(zone),
            Some(CalTz::Fixed(_)) | Some(CalTz::Floating) | None => Err(self.error(
                uid,
                format!(
                    "{property}: TZID \"{}\" names no known time zone (expected an IANA name such as \
                     Europe/Berlin, a Windows name such as W. Europe Standard Time, or a VTIMEZONE \
                     with X-LIC-LOCATION)",
                    excerpt(tzid, 80)
                ),
            )),
        }
    }

    /// A date or date-time value, resolved to a zone.
    fn when(&self, uid: &str, property: &str, tzid: Option<&str>, value: &PartialDateTime) -> Result<When> {
        let bad = || self.error(uid, format!("{property}: not a valid date or date-time"));
        let result: DateTimeResult = value.to_date_time().ok_or_else(bad)?;
        if !value.has_time() {
            return Ok(When::Date(result.date_time.date()));
        }
        if let Some(offset) = result.offset {
            // `…Z` (or an explicit offset): an instant, read as wall-clock time in UTC.
            let instant = offset.from_local_datetime(&result.date_time).single().ok_or_else(bad)?;
            return Ok(When::Local { at: instant.naive_utc(), zone: Tz::UTC });
        }
        let zone = match tzid {
            Some(tzid) => self.zone_of(uid, property, tzid)?,
            None => self.zone,
        };
        Ok(When::Local { at: result.date_time, zone })
    }

    /// `when` as wall-clock time in `zone` (for matching EXDATE and RECURRENCE-ID against
    /// the master's instances).
    fn in_zone(when: When, zone: Option<Tz>) -> NaiveDateTime {
        match (when, zone) {
            (When::Date(date), _) => date.and_time(NaiveTime::MIN),
            (When::Local { at, zone: from }, Some(to)) if from != to => {
                match resolve_local_message(at, from, Boundary::Start) {
                    Ok(instant) => instant.with_timezone(&to).naive_local(),
                    Err(_) => at,
                }
            }
            (When::Local { at, .. }, _) => at,
        }
    }

    fn read(&self, component: &ICalendarComponent) -> Result<Option<Event>> {
        let uid = component
            .entries
            .iter()
            .find(|e| e.name == ICalendarProperty::Uid)
            .and_then(|e| e.values.first())
            .and_then(ICalendarValue::as_text)
            .map(|uid| uid.trim().to_owned())
            .unwrap_or_default();
        let uid = if uid.is_empty() { format!("line-{}", self.line) } else { uid };
        let mut start = None;
        let mut end = None;
        let mut duration = None;
        let mut rule_text = None;
        let mut rdates = Vec::new();
        let mut exdates = Vec::new();
        let mut recurrence_id = None;
        let mut cancelled = false;
        let mut attendees = Vec::new();
        let mut summary_email = None;
        for entry in &component.entries {
            let tzid = entry.tz_id();
            let first = entry.values.first();
            match (&entry.name, first) {
                (ICalendarProperty::Dtstart, Some(ICalendarValue::PartialDateTime(dt))) => {
                    start = Some(self.when(&uid, "DTSTART", tzid, dt)?);
                }
                (ICalendarProperty::Dtstart, _) => {
                    return Err(self.error(&uid, "DTSTART: not a valid date or date-time"));
                }
                (ICalendarProperty::Dtend, Some(ICalendarValue::PartialDateTime(dt))) => {
                    end = Some(self.when(&uid, "DTEND", tzid, dt)?);
                }
                (ICalendarProperty::Dtend, _) => {
                    return Err(self.error(&uid, "DTEND: not a valid date or date-time"));
                }
                (ICalendarProperty::Duration, Some(ICalendarValue::Duration(d))) => {
                    let delta = d
                        .to_time_delta()
                        .ok_or_else(|| self.error(&uid, "DURATION: not a valid duration"))?;
                    let whole_days = delta.num_seconds() % 86_400 == 0;
                    duration = Some(if whole_days { Length::Nominal(delta) } else { Length::Exact(delta) });
                }
                (ICalendarProperty::Duration, _) => {
                    return Err(self.error(&uid, "DURATION: not a valid duration"));
                }
                (ICalendarProperty::Rrule, Some(ICalendarValue::RecurrenceRule(rule))) => {
                    rule_text = Some(rule.as_ref().clone());
                }
                (ICalendarProperty::Rrule, _) => {
                    return Err(self.error(&uid, "RRULE: not a valid recurrence rule"));
                }
                (ICalendarProperty::Rdate, _) => {
                    for value in &entry.values {
                        match value {
                            ICalendarValue::PartialDateTime(dt) => {
                                rdates.push((self.when(&uid, "RDATE", tzid, dt)?, None));
                            }
                            ICalendarValue::Period(ICalendarPeriod::Range { start, end }) => {
                                let s = self.when(&uid, "RDATE", tzid, start)?;
                                let e = self.when(&uid, "RDATE", tzid, end)?;
                                rdates.push((s, Some(length_between(s, e))));
                            }
                            ICalendarValue::Period(ICalendarPeriod::Duration { start, duration }) => {
                                let s = self.when(&uid, "RDATE", tzid, start)?;
                                let d = duration
                                    .to_time_delta()
                                    .ok_or_else(|| self.error(&uid, "RDATE: not a valid period"))?;
                                rdates.push((s, Some(Length::Exact(d))));
                            }
                            _ => return Err(self.error(&uid, "RDATE: not a valid date, date-time or period")),
                        }
                    }
                }
                (ICalendarProperty::Exdate, _) => {
                    for value in &entry.values {
                        let ICalendarValue::PartialDateTime(dt) = value else {
                            return Err(self.error(&uid, "EXDATE: not a valid date or date-time"));
                        };
                        exdates.push(self.when(&uid, "EXDATE", tzid, dt)?);
                    }
                }
                (ICalendarProperty::RecurrenceId, Some(ICalendarValue::PartialDateTime(dt))) => {
                    recurrence_id = Some(self.when(&uid, "RECURRENCE-ID", tzid, dt)?);
                }
                (ICalendarProperty::RecurrenceId, _) => {
                    return Err(self.error(&uid, "RECURRENCE-ID: not a valid date or date-time"));
                }
                (ICalendarProperty::Status, Some(value)) => {
                    cancelled = value.as_text().is_some_and(|s| s.trim().eq_ignore_ascii_case("CANCELLED"));
                }
                (ICalendarProperty::Attendee, Some(value)) => {
                    if let Some(email) = attendee_email(entry, value) {
                        attendees.push(email);
                    }
                }
                (ICalendarProperty::Summary, Some(value)) => {
                    summary_email = value.as_text().and_then(email_in_text);
                }
                _ => {}
            }
        }
        let Some(start) = start else {
            return Err(self.error(&uid, "has no DTSTART"));
        };
        let length = match (end, duration) {
            (Some(end), _) => {
                if matches!(start, When::Date(_)) != matches!(end, When::Date(_)) {
                    return Err(self.error(&uid, "DTSTART and DTEND mix a date and a date-time"));
                }
                length_between(start, end)
            }
            (None, Some(length)) => length,
            // RFC 5545 3.6.1: a date lasts one day; a date-time ends where it starts.
            (None, None) if matches!(start, When::Date(_)) => Length::Nominal(TimeDelta::days(1)),
            (None, None) => Length::Exact(TimeDelta::zero()),
        };
        let master_zone = match start {
            When::Local { zone, .. } => Some(zone),
            When::Date(_) => None,
        };
        let (rule, jump) = match rule_text {
            Some(rule) => {
                let (set, jump) = self.rule(&uid, rule, start)?;
                (Some(set), jump)
            }
            None => (None, None),
        };
        let exdates = exdates.into_iter().map(|when| Self::in_zone(when, master_zone)).collect();
        let recurrence_id = recurrence_id.map(|when| Self::in_zone(when, master_zone));
        attendees.sort();
        attendees.dedup();
        Ok(Some(Event {
            uid,
            line: self.line,
            start,
            length,
            rule,
            jump,
            rdates,
            exdates,
            recurrence_id,
            cancelled,
            attendees,
            summary_email,
            date_zone: self.zone,
        }))
    }

    /// The recurrence set of a master event, expanded in wall-clock time: the rule runs on
    /// the start's local date-time labelled UTC (so no daylight-saving change moves it), and
    /// `UNTIL` is converted to the same wall clock.
    fn rule(
        &self,
        uid: &str,
        mut rule: calcard::icalendar::ICalendarRecurrenceRule,
        start: When,
    ) -> Result<(rrule::RRuleSet, Option<Jump>)> {
        use calcard::icalendar::ICalendarFrequency;
        let interval = i64::from(rule.interval.unwrap_or(1).max(1));
        let period = match rule.freq {
            ICalendarFrequency::Daily => Some(TimeDelta::days(interval)),
            ICalendarFrequency::Weekly => Some(TimeDelta::weeks(interval)),
            _ => None,
        }
        .filter(|_| {
            rule.count.is_none()
                && rule.bysetpos.is_empty()
                && rule.byweekno.is_empty()
                && rule.byyearday.is_empty()
                && rule.rscale.is_none()
                && rule.skip.is_none()
        });
        let until = rule.until.take();
        let text = rule.to_string();
        let bad = |message: String| self.error(uid, format!("RRULE \"{}\": {message}", excerpt(&text, 120)));
        let mut parsed: rrule::RRule<rrule::Unvalidated> =
            text.parse().map_err(|e: rrule::RRuleError| bad(e.to_string()))?;
        let wall = |at: NaiveDateTime| rrule::Tz::UTC.from_utc_datetime(&at);
        if let Some(until) = until {
            let value = until.to_date_time().ok_or_else(|| bad("UNTIL is not a valid date".into()))?;
            let local = if !until.has_time() {
                // An UNTIL date includes that whole day.
                value.date_time.date().and_time(NaiveTime::MIN) + TimeDelta::days(1) - TimeDelta::seconds(1)
            } else {
                match (value.offset, start) {
                    (Some(offset), When::Local { zone, .. }) => offset
                        .from_local_datetime(&value.date_time)
                        .single()
                        .map(|instant| instant.with_timezone(&zone).naive_local())
                        .ok_or_else(|| bad("UNTIL is not a valid date-time".into()))?,
                    (Some(offset), When::Date(_)) => offset
                        .from_local_datetime(&value.date_time)
                        .single()
                        .map(|instant| instant.with_timezone(&self.zone).naive_local())
                        .ok_or_else(|| bad("UNTIL is not a valid date-time".into()))?,
                    (None, _) => value.date_time,
                }
            };
            parsed = parsed.until(wall(local));
        }
        let local_start = match start {
            When::Local { at, .. } => at,
            When::Date(date) => date.and_time(NaiveTime::MIN),
        };
        let jump = period.map(|period| Jump { rule: parsed.clone(), period });
        let set = parsed.build(wall(local_start)).map_err(|e| bad(e.to_string()))?;
        Ok((set, jump))
    }
}

/// The length from `start` to `end` as the feed wrote them.
fn length_between(start: When, end: When) -> Length {
    match (start, end) {
        (When::Local { at: s, zone: a }, When::Local { at: e, zone: b }) if a == b => Length::Nominal(e - s),
        (When::Local { at: s, zone: a }, When::Local { at: e, zone: b }) => {
            match (resolve_local_message(s, a, Boundary::Start), resolve_local_message(e, b, Boundary::End)) {
                (Ok(s), Ok(e)) => Length::Exact(e - s),
                _ => Length::Nominal(e - s),
            }
        }
        (When::Date(s), When::Date(e)) => Length::Nominal(e - s),
        (When::Date(s), When::Local { at, .. }) => Length::Nominal(at - s.and_time(NaiveTime::MIN)),
        (When::Local { at, .. }, When::Date(e)) => Length::Nominal(e.and_time(NaiveTime::MIN) - at),
    }
}

/// An attendee's e-mail, unless they declined or are a room or resource.
fn attendee_email(entry: &ICalendarEntry, value: &ICalendarValue) -> Option<String> {
    for param in &entry.params {
        match (&param.name, &param.value) {
            (ICalendarParameterName::Partstat, ICalendarParameterValue::Partstat(status))
                if *status == ICalendarParticipationStatus::Declined =>
            {
                return None;
            }
            (
                ICalendarParameterName::Cutype,
                ICalendarParameterValue::Cutype(ICalendarUserTypes::Room | ICalendarUserTypes::Resource),
            ) => return None,
            _ => {}
        }
    }
    let text = value.as_text()?;
    let address = text.trim();
    let address = address
        .get(..7)
        .filter(|scheme| scheme.eq_ignore_ascii_case("mailto:"))
        .map_or(address, |_| &address[7..]);
    let address = address.trim();
    looks_like_email(address).then(|| address.to_owned()).or_else(|| {
        // Some exporters put the address only in an EMAIL parameter.
        entry.params.iter().find_map(|p| match (&p.name, p.value.as_text()) {
            (ICalendarParameterName::Email, Some(email)) if looks_like_email(email.trim()) => {
                Some(email.trim().to_owned())
            }
            _ => None,
        })
    })
}

/// Whether `text` is shaped like one e-mail address (`local@domain.tld`).
fn looks_like_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && text.chars().all(|c| !c.is_whitespace() && !c.is_control() && !"<>()[],;:\"'".contains(c))
}

/// The first e-mail address in free text (`Support – Ana <ana@example.com>`).
pub fn email_in_text(text: &str) -> Option<String> {
    text.split(|c: char| c.is_whitespace() || "<>()[],;\"'".contains(c))
        .map(|word| word.trim_matches(|c: char| ".:!?".contains(c)))
        .map(|word| word.get(..7).filter(|s| s.eq_ignore_ascii_case("mailto:")).map_or(word, |_| &word[7..]))
        .find(|word| looks_like_email(word))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_found_in_summaries() {
        assert_eq!(email_in_text("Support: Ana <ana@example.com>").as_deref(), Some("ana@example.com"));
        assert_eq!(email_in_text("mailto:ben@example.org.").as_deref(), Some("ben@example.org"));
        assert_eq!(email_in_text("Team meeting @ 10"), None);
        assert_eq!(email_in_text("a@b"), None);
    }
}
