//! Secure transport and access: implicit TLS and STARTTLS (RFC 4642) with the CVE-2011-0411
//! injection guard, COMPRESS DEFLATE (RFC 8054), AUTHINFO USER/PASS (RFC 4643), private
//! groups, connection caps, the PROXY protocol, clients that never read, and the signals of
//! `listnews serve` (SIGTERM drains, SIGHUP reloads config and certificate).
//!
//! - `tls`: NNTPS, STARTTLS, the injection guard, nntplib over both.
//! - `compress`: COMPRESS DEFLATE over plain and TLS.
//! - `auth`: AUTHINFO, `listnews passwd`, private groups.
//! - `attack`: AUTHINFO under attack: memory, delays, disconnects, logs.
//! - `limits`: connection caps, the PROXY protocol, stalled handshakes.
//! - `signals`: stuck readers, SIGTERM, SIGHUP.

mod attack;
mod auth;
mod compress;
mod limits;
mod signals;
mod tls;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::kit::*;

const ALICE: (&str, &str) = ("alice", "wonderland");

const BOB: (&str, &str) = ("bob", "builder");

fn has(caps: &[String], cap: &str) -> bool {
    caps.iter().any(|c| c == cap)
}

/// Five messages: two public (list 0), two private (list 1), one cross-posted to both; and
/// one in list 2. Numbers: list-0 1,2,3 = pub-1, pub-2, cross-1; list-1 1,2,3 = priv-1,
/// priv-2, cross-1.
fn small_mbox(dir: &Path) -> PathBuf {
    let path = dir.join("small.mbox");
    write_mbox(
        &path,
        &[
            message("<pub-1@sec.example>", 0, "public one", "", "public body one\n"),
            message("<priv-1@sec.example>", 1, "private one", "", "private body one\n"),
            message("<pub-2@sec.example>", 0, "public two", "", "public body two\n"),
            message("<priv-2@sec.example>", 1, "private two", "", "private body two\n"),
            message("<cross-1@sec.example>", 0, "cross-posted", "Cc: list-1@lists.example.org\n", "to both lists\n"),
            message("<other-1@sec.example>", 2, "list two", "", "elsewhere\n"),
        ],
    );
    path
}

/// The harness config plus `server` lines, users alice and bob, example.list-1 readable by
/// alice only, and (with a certificate) an implicit-TLS listener; the small mbox imported.
fn secure_archive(server: &str, cert: Option<&TestCert>) -> Archive {
    let archive = Archive::with_config(|text| {
        let mut lines = server.to_string();
        if cert.is_some() {
            lines.push_str("listen_tls = [\"127.0.0.1:0\"]\ntls_cert = \"cert.pem\"\ntls_key = \"key.pem\"\n");
        }
        let text = text.replacen("[server]\n", &format!("[server]\n{lines}"), 1).replacen(
            "name = \"example.list-1\"\n",
            "name = \"example.list-1\"\nreaders = [\"alice\"]\n",
            1,
        );
        format!(
            "{text}\n[[user]]\nname = \"{}\"\npassword_hash = \"{}\"\n\n[[user]]\nname = \"{}\"\npassword_hash = \"{}\"\n",
            ALICE.0,
            hash(ALICE.1),
            BOB.0,
            hash(BOB.1)
        )
    });
    if let Some(c) = cert {
        c.install(archive.dir.path());
    }
    let stats = archive.import(None, &[&small_mbox(archive.dir.path())]);
    assert_eq!(stats.stored, 6, "{stats:?}");
    archive
}

/// A [`secure_archive`] with a certificate, served, and a client config that trusts it.
struct Secure {
    cert: TestCert,
    archive: Archive,
    server: TestServer,
    config: Arc<rustls::ClientConfig>,
}

fn secure_server(server: &str) -> Secure {
    let cert = TestCert::new("a");
    let archive = secure_archive(server, Some(&cert));
    let server = archive.serve();
    let config = client_config(&[&cert]);
    Secure { cert, archive, server, config }
}

/// `N` distinct ports that were free a moment ago (for configs that must name a listener
/// exactly).
fn free_ports<const N: usize>() -> [u16; N] {
    let listeners: Vec<TcpListener> = (0..N).map(|_| TcpListener::bind("127.0.0.1:0").expect("bind")).collect();
    std::array::from_fn(|i| listeners[i].local_addr().expect("addr").port())
}

/// An archive whose example.list-0 holds `n` generated messages with long subjects (about
/// 290 octets of overview each); with a certificate, an implicit-TLS listener too.
fn big_archive(n: usize, cert: Option<&TestCert>) -> Archive {
    let archive = Archive::with_config(|text| match cert {
        Some(_) => text.replacen(
            "[server]\n",
            "[server]\nlisten_tls = [\"127.0.0.1:0\"]\ntls_cert = \"cert.pem\"\ntls_key = \"key.pem\"\n",
            1,
        ),
        None => text,
    });
    if let Some(c) = cert {
        c.install(archive.dir.path());
    }
    let messages: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            let subject = format!("load message {i:05} {}", "with a subject long enough to weigh on XOVER ".repeat(3));
            message(&format!("<load-{i}@big.example>"), 0, subject.trim_end(), "", "short body\n")
        })
        .collect();
    let path = archive.dir.path().join("big.mbox");
    write_mbox(&path, &messages);
    let stats = archive.import(None, &[&path]);
    assert_eq!(stats.stored, n as u64, "{stats:?}");
    archive
}

/// Reads one XOVER answer: its status, then lines up to `.`; returns the number of lines,
/// or `None` if the answer was not a 224.
fn read_over(c: &mut Client) -> (String, Option<usize>) {
    let status = match c.next_line() {
        Some(l) => String::from_utf8_lossy(&l).into_owned(),
        None => return ("EOF".into(), None),
    };
    if !status.starts_with("224") {
        return (status, None);
    }
    let mut n = 0;
    loop {
        let l = c.next_line().unwrap_or_else(|| panic!("connection closed after {n} lines of an XOVER answer"));
        if l == b"." {
            return (status, Some(n));
        }
        n += 1;
    }
}
