//! The names almost every embedding needs, in one import:
//!
//! ```
//! use deskbridge::prelude::*;
//!
//! struct InHouse;
//!
//! #[async_trait]
//! impl StatusProvider for InHouse {
//!     fn name(&self) -> &'static str {
//!         "presence"
//!     }
//!     async fn list_agents(&self) -> Result<Vec<Agent>> {
//!         Ok(Vec::new())
//!     }
//!     async fn list_groups(&self) -> Result<Vec<Group>> {
//!         Ok(Vec::new())
//!     }
//!     async fn set_status(&self, _agent: &str, _channel: Channel, _status: &NativeStatus) -> Result<()> {
//!         Ok(())
//!     }
//! }
//! # let _: DateTime<Utc> = Utc::now();
//! # let _: Value = json!(null);
//! # let _ = Url::parse("https://example.com");
//! ```
//!
//! It holds the error type, the ports (and the typed store helpers), the status vocabulary
//! the ports speak, the `async_trait` attribute the ports are written with, and the
//! `chrono`, `serde_json` and `url` items that appear in their signatures. Everything else
//! is imported from its module (`deskbridge::sync::Bridge`, `deskbridge::zendesk::…`).

pub use crate::error::{Error, Result};
pub use crate::ports::{
    Claim, InboundMessage, ListingNeeds, MessageBatch, MessageKind, MessageSource, NewTicket, ScheduleSource,
    StateStore, StatusProvider, TicketDesk, TicketRef, TicketState,
};
pub use crate::schedule::Shift;
pub use crate::status::{Agent, Channel, Group, NativeStatus, Presence};
pub use crate::store::StateStoreExt;

pub use async_trait::async_trait;
pub use chrono::{DateTime, Utc};
pub use serde_json::{Value, json};
pub use url::Url;
