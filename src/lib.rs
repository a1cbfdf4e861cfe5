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

#[cfg(feature = "server")]
pub mod server;
#[cfg(feature = "talkdesk")]
pub mod talkdesk;

pub use error::{Error, Result};
