//! End-to-end tests: the real importer fills a real sled store, the real server listens on
//! 127.0.0.1:0, and the tests speak NNTP to it over a socket (`kit` holds the fixtures,
//! servers and the one client). `handlers` runs commands through the command table in this
//! process, without sockets.

mod cluster;
mod commands;
mod faults;
mod fidelity;
mod handlers;
mod import;
mod kit;
mod live;
mod malformed;
mod mirror;
mod operator;
mod posting;
mod real_clients;
mod replays;
mod security;
mod service;
mod threads;
mod web;
