//! The pure NNTP layer: no sockets, no store, no async runtime; everything here is unit-tested
//! in place.
//!
//! - [`table`]: the command table, one row per command; HELP and CAPABILITIES come from it.
//! - [`command`]: command lines -> [`Command`] values, through the table's grammars.
//! - [`response`]: every status line the server sends, as a typed [`response::Status`].
//! - [`block`]: dot-terminated blocks, written and read.
//! - [`client`]: the client side (status lines, answers), for everything that talks to a server.
//! - [`article`]: article formatting shared by the importer and the server.
//! - [`wildmat`], [`proxy`]: RFC 3977 wildmats, the PROXY protocol header.

pub mod article;
pub mod block;
pub mod client;
pub mod command;
pub mod proxy;
pub mod response;
pub mod table;
pub mod wildmat;

pub use command::{Command, ParseError, Parsed};
pub use response::Status;
pub use wildmat::Wildmat;
