//! deskbridge (crate tour being written).
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod error;
pub mod filter;
pub mod http;
pub mod identity;
pub mod inbox;
pub mod mapping;
pub mod ports;
pub mod schedule;
#[cfg(feature = "sim")]
pub mod sim;
pub mod status;
pub mod store;
pub mod sync;

#[cfg(feature = "aircall")]
pub mod aircall;
#[cfg(all(feature = "talkdesk", feature = "usedesk"))]
pub mod bridges;
#[cfg(feature = "server")]
pub mod server;
#[cfg(feature = "talkdesk")]
pub mod talkdesk;
#[cfg(feature = "twitter")]
pub mod twitter;
#[cfg(feature = "usedesk")]
pub mod usedesk;
#[cfg(feature = "zendesk")]
pub mod zendesk;

pub use error::{Error, Result};
