//! End-to-end tests: the real importer fills a real sled store, the real server listens on
//! 127.0.0.1:0, and the tests speak NNTP to it over a socket.

mod clients;
mod commands;
mod common;
mod faults;
mod import;
mod live;
mod malformed;
mod real_clients;
mod security;
mod threads;
