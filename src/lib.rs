//! listnews: an NNTP server for mailing-list archives.
//!
//! Layers, calls going one way (README "Design"):
//! - [`protocol`]: pure NNTP: the command table, command lines -> commands, typed responses ->
//!   bytes, dot-blocks, the client-side reader, article formatting, wildmat, PROXY headers.
//! - [`store`]: the sled schema and the article log; no sockets.
//! - [`import`]: sources (mbox, Maildir, public-inbox epochs, an upstream NNTP group) ->
//!   parsed, routed, deduplicated messages -> the store.
//! - [`server`]: tokio sessions, TLS, limits, the command handlers; calls protocol and store.
//! - [`live`]: the running service: the store writer, the control socket, followed sources;
//!   ties import to a running server.
//! - [`cli`]: what only the terminal uses. [`config`] and [`clock`] are shared by all.

pub mod cli;
pub mod clock;
pub mod config;
pub mod import;
pub mod live;
pub mod post;
pub mod protocol;
pub mod server;
pub mod store;
