//! The pure NNTP layer: bytes -> [`command::Command`], responses -> bytes, wildmat.
//! No sockets, no store: everything here is unit-tested in place.

pub mod command;
pub mod proxy;
pub mod response;
pub mod wildmat;

pub use command::{Command, ParseError};
pub use wildmat::Wildmat;
