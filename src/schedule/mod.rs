//! Shifts: who works when.
//!
//! This is pure domain code: no clock reads (every question takes the instant it is about)
//! and no I/O beyond the loaders, which read text you hand them.
//!
//! - [`Shift`]: one agent's shift, as a half-open UTC range `[start, end)`.
//! - [`shifts_from_csv`] / [`shifts_from_json`]: load shifts written in RFC 3339 or in
//!   local time in an IANA zone, with daylight-saving gaps and overlaps resolved by a
//!   documented rule ([`resolve_local`]).
//! - [`Schedule`]: shifts merged per agent, answering [`is_on_shift`](Schedule::is_on_shift),
//!   [`presence_at`](Schedule::presence_at) and
//!   [`next_change_after`](Schedule::next_change_after); it is also a
//!   [`ScheduleSource`](crate::ports::ScheduleSource).
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use deskbridge::schedule::{Schedule, shifts_from_csv};
//! use deskbridge::status::Presence;
//!
//! let csv = "email,start,end,timezone\n\
//!            Ana@Example.com,2026-11-23 08:00,2026-11-23 16:00,Europe/Berlin\n";
//! let schedule = Schedule::new(shifts_from_csv(csv, None)?);
//! let at = Utc.with_ymd_and_hms(2026, 11, 23, 7, 0, 0).unwrap(); // 08:00 in Berlin
//! assert_eq!(schedule.presence_at("ana@example.com", at), Presence::Online);
//! assert_eq!(schedule.next_change_after(at), Some(Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap()));
//! # Ok::<(), deskbridge::Error>(())
//! ```

#[cfg(feature = "ical")]
pub mod ical;
mod load;
mod time;
mod timeline;

pub use load::{shifts_from_csv, shifts_from_csv_reader, shifts_from_json};
pub use time::{Boundary, parse_instant, parse_zone, resolve_local};
pub use timeline::{Schedule, normalize_email};

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// One agent's shift, as an instant range `[start, end)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shift {
    /// The agent's e-mail (the identity join key).
    pub email: String,
    /// First instant of the shift.
    pub start: DateTime<Utc>,
    /// First instant after the shift.
    pub end: DateTime<Utc>,
}

impl Shift {
    /// A shift, checked: `end` must be after `start`.
    pub fn new(email: impl Into<String>, start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Self> {
        if end <= start {
            return Err(Error::invalid(
                "shift",
                format!("end {} is not after start {}", end.to_rfc3339(), start.to_rfc3339()),
            ));
        }
        Ok(Self { email: email.into(), start, end })
    }

    /// Whether `at` lies in the shift: `start <= at < end`.
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.start <= at && at < self.end
    }

    /// How long the shift lasts (negative or zero for a shift whose end is not after its
    /// start, which covers no instant).
    pub fn duration(&self) -> TimeDelta {
        self.end - self.start
    }
}
