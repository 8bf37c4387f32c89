//! listnews: an NNTP server for mailing-list archives.
//!
//! Layers, calls going one way: [`protocol`] (pure: bytes -> commands, responses -> bytes,
//! wildmat), [`store`] (the sled schema), [`server`] (tokio sessions; calls protocol and
//! store) and [`import`] (mail sources -> store).

pub mod config;
pub mod import;
pub mod protocol;
pub mod server;
pub mod store;
