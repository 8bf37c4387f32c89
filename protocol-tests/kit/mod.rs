//! The test kit: fixtures, servers and one client. Tests speak the real protocol over real
//! sockets to a real server on a store the real importer filled; every helper that sends a
//! command asserts the status it expects.

mod certs;
mod client;
mod fixtures;
mod http;
mod peers;
mod servers;
mod terminal;

pub use certs::*;
pub use client::*;
pub use fixtures::*;
pub use http::*;
pub use peers::*;
pub use servers::*;
pub use terminal::*;
