//! listnews: an NNTP server for mailing-list archives.
//!
//! Layers, calls going one way: [`protocol`] (pure: bytes -> commands, responses -> bytes,
//! wildmat), [`store`] (the sled schema), [`server`] (tokio sessions; calls protocol and
//! store) and [`import`] (mail sources -> store). [`live`] feeds the store while the server
//! runs (MTA deliveries, watched sources, pulled groups) through the importer.

pub mod config;
pub mod import;
pub mod live;
pub mod protocol;
pub mod server;
pub mod store;
