//! # deskbridge
//!
//! Keeps customer-support agents' availability consistent across the tools a support team
//! runs at once (a workforce schedule, Aircall, Zendesk, Usedesk, Talkdesk) and brings
//! social messages (X DMs and mentions) into the helpdesk, as a library that Rust services
//! depend on and embed in their own bridges.
//!
//! Unlike the vendors' built-in integrations, deskbridge validates its configuration
//! before it writes (an unknown group name is an error, not a silent stop), never guesses
//! a status it cannot map (a custom status is reported as skipped, with the reason), can
//! run Aircall ⇄ Zendesk in a loop-safe **two-way** mode, and is lossless and
//! duplicate-free across crashes.
//!
//! ## The tour: the flows
//!
//! Every example below runs against the built-in loopback simulators (feature `sim`, off in
//! a library user's default build, on for the crate's own examples and tests): real HTTP
//! servers on 127.0.0.1 with the providers' real paths and payloads.
//! Against the real services only the base URL and credentials differ (each provider's
//! config has `from_env()`).
//!
//! ### 1. Schedule → Usedesk (shifts decide chat and ticket status)
//!
//! ```
//! # #[cfg(feature = "sim")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use deskbridge::filter::GroupFilter;
//! use deskbridge::http::RateLimit;
//! use deskbridge::schedule::{Schedule, shifts_from_csv};
//! use deskbridge::sim::usedesk::{UsedeskSim, UsedeskSimConfig};
//! use deskbridge::status::Channel;
//! use deskbridge::sync::{ShiftSpec, ShiftSync};
//! use deskbridge::usedesk::{UsedeskClient, UsedeskConfig, UsedeskProvider};
//!
//! let sim = UsedeskSim::start_with_sample().await?;
//! let config = UsedeskConfig::new(UsedeskSimConfig::DEFAULT_API_TOKEN)?
//!     .with_base_url(sim.base_url().as_str())?
//!     .with_rate_limit(RateLimit::unlimited()); // the real API is paced at 0.4 req/s
//! let usedesk = Arc::new(UsedeskProvider::new(UsedeskClient::new(config)?));
//!
//! let csv = "email,start,end,timezone\nana@example.com,2026-11-23 09:00,2026-11-23 17:00,Europe/Berlin\n";
//! let schedule = Schedule::new(shifts_from_csv(csv, None)?);
//! let mut spec = ShiftSpec::usedesk();
//! spec.filter = GroupFilter::default()
//!     .include(Channel::Chat, ["Chat team"]) // "Group chats", exact and case-sensitive
//!     .do_not_change(["Managers"]); // "Do not change"
//!
//! let sync = ShiftSync::new(Arc::new(schedule), usedesk, spec);
//! let report = sync.run_once("2026-11-23T10:00:00Z".parse()?).await?;
//! println!("{report}"); // per agent: written, skipped (why), failed (the error)
//! # Ok(()) }
//! # #[cfg(not(feature = "sim"))] fn main() {}
//! ```
//!
//! ### 2. Aircall ⇄ Zendesk agent status
//!
//! ```
//! # #[cfg(feature = "sim")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use deskbridge::aircall::{AircallConfig, AircallProvider};
//! use deskbridge::http::RateLimit;
//! use deskbridge::mapping::{Side, StatusMap};
//! use deskbridge::sim::aircall::{AircallAvailabilityStatus, AircallSim, AircallSimConfig, AircallUserSeed};
//! use deskbridge::sim::zendesk::{ZendeskAgentSeed, ZendeskSeedStatus, ZendeskSim, ZendeskSimConfig};
//! use deskbridge::sync::{OneShot, OneWaySpec};
//! use deskbridge::zendesk::{ZendeskAuth, ZendeskConfig, ZendeskProvider};
//!
//! let aircall_sim = AircallSim::start(AircallSimConfig::new(vec![
//!     AircallUserSeed::new(1, "Ana", "Ana@Example.com").with_status(AircallAvailabilityStatus::Available),
//! ]))
//! .await?;
//! let zendesk_sim = ZendeskSim::start(ZendeskSimConfig::new(
//!     vec![ZendeskAgentSeed::new(16765840571292, "Ana", "ana@example.com").with_status(ZendeskSeedStatus::Offline)],
//!     vec![],
//! ))
//! .await?;
//!
//! let aircall = AircallProvider::from_config(
//!     AircallConfig::basic(AircallSimConfig::DEFAULT_API_ID, AircallSimConfig::DEFAULT_API_TOKEN)
//!         .with_base_url(aircall_sim.base_url().as_str())?
//!         .with_rate_limit(RateLimit::unlimited()),
//! )?;
//! let zendesk = ZendeskProvider::from_config(
//!     ZendeskConfig::for_base_url(
//!         zendesk_sim.base_url(),
//!         ZendeskAuth::api_token(ZendeskSimConfig::DEFAULT_EMAIL, ZendeskSimConfig::DEFAULT_API_TOKEN),
//!     )
//!     .with_rate_limit(RateLimit::unlimited()),
//! )?;
//!
//! // The seed mapping of Aircall's Agent Status Sync; side A = Aircall.
//! let spec = OneWaySpec::new(StatusMap::aircall_zendesk(), Side::A);
//! let one_shot = OneShot::new(&aircall, &zendesk, spec);
//! let plan = one_shot.plan().await?; // the preview: read and decided, nothing written
//! assert_eq!(plan.changes.len(), 1);
//! let report = one_shot.apply(plan).await; // `one_shot.run()` is plan, then apply
//! assert_eq!(report.written.len(), 1); // Aircall Available → Zendesk Online
//! assert!(one_shot.run().await?.written.is_empty()); // a second run writes nothing
//! # Ok(()) }
//! # #[cfg(not(feature = "sim"))] fn main() {}
//! ```
//!
//! For a bridge that runs all day (webhooks, reconcile passes, the loop-safe two-way
//! mode, restarts), see [`sync::Bridge`] and the `bridge` example.
//!
//! ### 3. X DMs and mentions → Usedesk tickets
//!
//! ```
//! # #[cfg(feature = "sim")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use deskbridge::http::RateLimit;
//! use deskbridge::inbox::{Inbox, InboxConfig};
//! use deskbridge::sim::twitter::{XSim, XSimConfig, sample};
//! use deskbridge::sim::usedesk::{UsedeskSim, UsedeskSimConfig};
//! use deskbridge::store::MemoryStore;
//! use deskbridge::twitter::{XConfig, XSource};
//! use deskbridge::usedesk::{UsedeskClient, UsedeskConfig, UsedeskDesk};
//!
//! let (x_sim, usedesk_sim) = (XSim::start_with_sample().await?, UsedeskSim::start_with_sample().await?);
//! let x = XSource::from_config(
//!     XConfig::with_user_token(sample::OWN_ID, XSimConfig::DEFAULT_TOKEN)
//!         .with_base_url(x_sim.base_url())?
//!         .with_rate_limit(RateLimit::unlimited()),
//! )?;
//! let usedesk = UsedeskConfig::new(UsedeskSimConfig::DEFAULT_API_TOKEN)?
//!     .with_base_url(usedesk_sim.base_url().as_str())?
//!     .with_rate_limit(RateLimit::unlimited());
//! let desk = UsedeskDesk::new(UsedeskClient::new(usedesk)?).with_channel("12");
//!
//! // DMs tagged `Twitter:Direct`, mentions `Twitter: Mention`; one ticket per person
//! // until it is Closed; state (cursor, threads, processed ids) in any StateStore.
//! let config = InboxConfig::default().with_channel_id(Some("12".into()));
//! let inbox = Inbox::new(Arc::new(x), Arc::new(desk), Arc::new(MemoryStore::new()), config);
//! let now = chrono::Utc::now();
//! let report = inbox.poll_once(now).await?;
//! assert!(report.is_success());
//! let again = inbox.poll_once(now).await?;
//! assert!(again.messages.is_empty()); // nothing is created twice
//! # Ok(()) }
//! # #[cfg(not(feature = "sim"))] fn main() {}
//! ```
//!
//! ### 4. Talkdesk custom integration (the bridge side)
//!
//! ```
//! # #[cfg(feature = "talkdesk")]
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use deskbridge::talkdesk::Manifest;
//!
//! let base = url::Url::parse("https://bridge.example.com/talkdesk/")?;
//! let manifest = Manifest::example_mycrm(&base)?; // validated: names, providers, https endpoints
//! let attachment = manifest.to_markdown(); // the document Talkdesk asks for
//! assert!(attachment.contains("Integration Details") && attachment.contains("Action Details"));
//! # Ok(()) }
//! # #[cfg(not(feature = "talkdesk"))] fn main() {}
//! ```
//!
//! With the `server` feature, [`server::talkdesk::router`] serves every endpoint Talkdesk
//! calls (auth validation, contact sync, interaction retrieval, agent sync, actions) over
//! any [`talkdesk::TalkdeskBackend`]; a ready backend over Usedesk lives in `bridges`.
//!
//! ### 5. Aircall calls → Zendesk Talk Partner Edition
//!
//! A ringing call pops the caller's profile to the agent in Zendesk; a finished call or
//! voicemail is logged once (a ticket with a call record, or a voice ticket) with the
//! durable recording link. The bridge handles each verified Aircall call webhook exactly
//! once over any state store (`docs/CALLS.md`; `cargo run --features server --example
//! calls_to_zendesk` plays a day of calls on the simulators):
//!
//! ```no_run
//! # #[cfg(all(feature = "server", feature = "aircall", feature = "zendesk"))]
//! # async fn demo(
//! #     aircall: deskbridge::aircall::AircallClient,
//! #     zendesk: deskbridge::zendesk::ZendeskClient,
//! # ) -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use deskbridge::aircall::WebhookVerifier;
//! use deskbridge::bridges::{CallsBridge, CallsConfig};
//! use deskbridge::server::calls::{CallsRouterOptions, router};
//! use deskbridge::server::limits::{ServerLimits, serve};
//! use deskbridge::store::MemoryStore;
//!
//! let config = CallsConfig::default().with_app_id(Some(360_000_000_001)); // your TPE app
//! let bridge = CallsBridge::new(aircall, zendesk, Arc::new(MemoryStore::new()), config)?;
//! let verifier = WebhookVerifier::new("the token Aircall gave the webhook")?;
//! let routes = router(Arc::new(bridge), verifier, CallsRouterOptions::default());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! serve(listener, routes, ServerLimits::default()).await?;
//! # Ok(()) }
//! # fn main() {}
//! ```
//!
//! ### 6. Schedules from a calendar or from Shifton
//!
//! Shifts can come from files, from an iCalendar feed (`ical`: `ical::IcalSource` polls a
//! file or URL) or from Shifton's API (`shifton`: `shifton::ShiftonSchedule`), each a
//! [`ports::ScheduleSource`] that drives flow 1 (`docs/SCHEDULES.md`):
//!
//! ```
//! # #[cfg(feature = "ical")]
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use deskbridge::schedule::ical::{Assignee, IcalOptions, IcalSchedule};
//!
//! let rota = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//example//rota//EN\r\n\
//!     BEGIN:VEVENT\r\nUID:ana-weekly\r\nDTSTAMP:20261101T000000Z\r\n\
//!     DTSTART;TZID=Europe/Berlin:20261123T090000\r\nDTEND;TZID=Europe/Berlin:20261123T170000\r\n\
//!     RRULE:FREQ=WEEKLY\r\nSUMMARY:Support: ana@example.com\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
//! let calendar = IcalSchedule::parse(rota, "rota.ics", &IcalOptions::default())?;
//! let two_weeks = calendar.shifts(
//!     "2026-11-23T00:00:00Z".parse()?,
//!     "2026-12-07T00:00:00Z".parse()?,
//!     &Assignee::Summary,
//! )?;
//! assert_eq!(two_weeks.shifts.len(), 2); // 09:00–17:00 Berlin time, two Mondays
//! # Ok(()) }
//! # #[cfg(not(feature = "ical"))] fn main() {}
//! ```
//!
//! ## Layout
//!
//! - Domain (pure, no I/O, no clock reads): [`status`], [`mapping`], [`filter`],
//!   [`identity`], [`schedule`].
//! - Ports (async traits): [`ports`] — `StatusProvider`, `ScheduleSource`,
//!   `MessageSource`, `TicketDesk`, `StateStore`.
//! - Engines: [`sync`] (plan → apply → report, the link state machine, the continuous
//!   bridge) and [`inbox`].
//! - Providers (one feature each): `aircall`, `zendesk`, `usedesk`, `twitter`, `talkdesk`,
//!   over the [`http`] layer (retries, rate limits, pagination, secrets).
//! - `server` (axum routers), `sim` (simulators), [`store`] (memory, file, PostgreSQL),
//!   `test_util` (feature `test-util`: store and claim conformance suites, a strict mock
//!   server, to test your own ports).
//!
//! ## Embedding
//!
//! [`prelude`] brings the ports, the status vocabulary and the error type in one import.
//! The crates whose types appear in the API are re-exported (`deskbridge::async_trait`,
//! [`chrono`], [`serde_json`], [`url`], [`secrecy`], and `axum` with `server`), so an
//! embedder's own provider, store decorator or axum app needs no other dependency. How to
//! implement each port: `docs/EXTENDING.md` and the `custom_provider` example.
//!
//! Errors are one [`Error`] type that tells apart configuration, transport, unreadable
//! answers (with the JSON path), provider refusals, rate limits, unsupported account
//! modes, webhook verification and state-store failures. Secrets never appear in
//! `Debug`, `Display`, logs or errors.
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod error;
pub mod filter;
pub mod http;
#[cfg(feature = "ical")]
pub mod ical;
pub mod identity;
pub mod inbox;
pub mod mapping;
pub mod ports;
mod prefetch;
pub mod prelude;
pub mod schedule;
#[cfg(feature = "sim")]
pub mod sim;
pub mod status;
pub mod store;
pub mod sync;
#[cfg(feature = "test-util")]
pub mod test_util;

#[cfg(feature = "aircall")]
pub mod aircall;
#[cfg(any(
    all(feature = "usedesk", any(feature = "talkdesk", feature = "twitter")),
    all(feature = "aircall", feature = "zendesk")
))]
pub mod bridges;
#[cfg(feature = "server")]
pub mod server;
#[cfg(feature = "shifton")]
pub mod shifton;
#[cfg(feature = "talkdesk")]
pub mod talkdesk;
#[cfg(feature = "twitter")]
pub mod twitter;
#[cfg(feature = "usedesk")]
pub mod usedesk;
#[cfg(feature = "zendesk")]
pub mod zendesk;

pub use error::{BoxError, CallInfo, Error, Result, TransportFailure, WebhookFailure};

/// The code blocks of `docs/EXTENDING.md`, compiled and run as doctests so the guide stays
/// true.
#[cfg(doctest)]
#[doc = include_str!("../docs/EXTENDING.md")]
pub struct ExtendingGuide;

// The crates whose types appear in deskbridge's public API, re-exported so that an embedder
// needs no dependency of its own (and always gets the versions deskbridge was built with).

/// The `async-trait` crate (for `#[async_trait(?Send)]` and friends).
pub use ::async_trait;
/// The `async-trait` attribute the ports are written with: implement a port as
/// `#[deskbridge::async_trait] impl StatusProvider for MyProvider { ... }`.
pub use ::async_trait::async_trait;
/// The `axum` crate (feature `server`): the webhook and Talkdesk routers are
/// `axum::Router`s, to merge into an embedder's own app.
#[cfg(feature = "server")]
pub use axum;
/// The `chrono` crate: every instant in the API is a `chrono::DateTime<chrono::Utc>`.
pub use chrono;
/// The `secrecy` crate: credentials are `secrecy::SecretString`s.
pub use secrecy;
/// The `serde_json` crate: state-store values, cursors and raw payloads are
/// `serde_json::Value`s.
pub use serde_json;
/// The `url` crate: base URLs and webhook URLs are `url::Url`s.
pub use url;
