//! Shifton (feature `shifton`): shifts from the workforce scheduler as a
//! [`ScheduleSource`](crate::ports::ScheduleSource).
//!
//! - [`ShiftonConfig`]: credentials ([`ShiftonAuth`]: the current API's key, or the
//!   legacy OAuth password grant), the two hosts (token and employees:
//!   `https://api2.shifton.com`; shifts: `https://api.shifton.com`), company and project
//!   ids, the company's IANA zone, the window per shifts request (31 days), pacing;
//!   [`ShiftonConfig::from_env`] reads the `SHIFTON_*` variables and names every missing
//!   one of a partial configuration.
//! - [`ShiftonClient`]: `POST /oauth/token` (legacy login, again after a 401), employees
//!   (`GET /api/v1/employees` with a key, `GET /work/1.0.0/companies/{id}/employees` with
//!   the legacy login), shifts (`GET /work/1.0.0/projects/{id}/shifts` on the shifts host,
//!   with its JSON body on the GET, paged into windows).
//! - [`ShiftonSchedule`]: the port. Employees are joined to agents by the e-mail Shifton
//!   gives, or by an [`EmployeeMap`] file validated at start (an unknown or duplicate id is
//!   an error before anything is read or written). `planned_from` / `planned_to` are read
//!   as company-local times through the IANA zone, so daylight-saving changes are right.
//!
//! Unconfirmed vendor facts (each coded defensively) are listed in
//! `docs/PROVIDER_FACTS.md` ("Shifton"): the current API's shift endpoint (the legacy one
//! is used with either credential), whether times are local or UTC, the employee e-mail
//! field, list shapes, rate limits and the largest range per request.
//!
//! ```no_run
//! # async fn demo() -> deskbridge::Result<()> {
//! use deskbridge::ports::ScheduleSource;
//! use deskbridge::shifton::{ShiftonClient, ShiftonConfig, ShiftonSchedule};
//!
//! let Some(config) = ShiftonConfig::from_env()? else { return Ok(()) };
//! let schedule = ShiftonSchedule::connect(ShiftonClient::new(config)?).await?;
//! let now = chrono::Utc::now();
//! for shift in schedule.shifts(now, now + chrono::Duration::days(1)).await? {
//!     println!("{} {} → {}", shift.email, shift.start, shift.end);
//! }
//! # Ok(()) }
//! ```

mod adapter;
mod client;
mod model;

/// The provider's id, its one path: the name in errors, spans and reports, what its
/// `StatusProvider::name()` returns, and the routing key of the events its webhook receiver
/// queues.
pub const PROVIDER: &str = "shifton";

pub use adapter::{EmployeeMap, Roster, ShiftonSchedule, convert_shifts};
pub use client::{LEGACY_BASE_PATH, LOCAL_FORMAT, ShiftonAuth, ShiftonClient, ShiftonConfig};
pub use model::{Employee, Location, ShiftonId, ShiftonShift};
