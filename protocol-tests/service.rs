//! Running as a service: the systemd units verified by systemd-analyze, socket activation
//! through systemd-socket-activate (with readiness sent on NOTIFY_SOCKET), the access log
//! and the Prometheus endpoint checked by promtool.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::kit::*;

/// A port free now on 127.0.0.1 (for tools that take a port, not a socket).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn units() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config/systemd")
}

#[test]
fn unit_files_pass_systemd_analyze_verify() {
    let dir = tempfile::tempdir().unwrap();
    for unit in ["listnews.service", "listnews.socket", "listnews-nntps.socket", "listnews-http.socket"] {
        let text = std::fs::read_to_string(units().join(unit)).unwrap();
        // The unit names /usr/local/bin/listnews; verify it against the binary under test.
        let text = text.replace("/usr/local/bin/listnews", env!("CARGO_BIN_EXE_listnews"));
        std::fs::write(dir.path().join(unit), text).unwrap();
    }
    let out = Command::new("systemd-analyze")
        .args([
            "verify",
            "--man=no",
            "./listnews.socket",
            "./listnews-nntps.socket",
            "./listnews-http.socket",
            "./listnews.service",
        ])
        .current_dir(dir.path())
        .output()
        .expect("systemd-analyze (Debian's systemd package)");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && said.trim().is_empty(), "{said}");
    let service = std::fs::read_to_string(units().join("listnews.service")).unwrap();
    for line in ["Type=notify", "ExecReload=/bin/kill -HUP $MAINPID", "ProtectSystem=strict", "NoNewPrivileges=yes"] {
        assert!(service.lines().any(|l| l == line), "{line} missing");
    }
}

#[test]
fn socket_activated_with_readiness_and_roles() {
    let archive = Archive::with_config(|t| t.replace("listen = [\"127.0.0.1:0\"]", "listen = []"));
    archive.import(None, &[&sample_mbox()]);
    let notify_path = archive.dir.path().join("notify.sock");
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    notify.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let (plain, proxied, web) = (free_port(), free_port(), free_port());
    let log = std::fs::File::create(archive.dir.path().join("server.log")).unwrap();
    let mut child = Command::new("systemd-socket-activate")
        .arg(format!("--listen=127.0.0.1:{plain}"))
        .arg(format!("--listen=127.0.0.1:{proxied}"))
        .arg(format!("--listen=127.0.0.1:{web}"))
        .arg("--fdname=listnews.socket:nntp-proxy:http")
        .arg(format!("--setenv=NOTIFY_SOCKET={}", notify_path.display()))
        .arg("--setenv=RUST_LOG=info")
        .arg(env!("CARGO_BIN_EXE_listnews"))
        .args(["serve", "--config"])
        .arg(archive.config_path())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .expect("systemd-socket-activate (Debian's systemd package)");
    // The sockets exist before listnews runs: the first connection starts it.
    let addr: SocketAddr = format!("127.0.0.1:{plain}").parse().unwrap();
    assert!(wait_until(20, || TcpStream::connect(addr).is_ok()));
    let mut c = Client::connect(addr);
    let mut ready = [0u8; 256];
    let n = notify.recv(&mut ready).expect("READY=1 on NOTIFY_SOCKET");
    let ready = String::from_utf8_lossy(&ready[..n]).to_string();
    assert!(ready.contains("READY=1") && ready.contains("STATUS=serving 4 groups"), "{ready}");
    c.expect("GROUP example.list-0", 211);
    c.expect_block("ARTICLE 1", 220);
    c.expect("QUIT", 205);

    // The socket named nntp-proxy reads a PROXY header: the access log names the real client.
    let mut p = TcpStream::connect(("127.0.0.1", proxied)).unwrap();
    p.write_all(b"PROXY TCP4 192.0.2.7 127.0.0.1 40000 119\r\nQUIT\r\n").unwrap();
    let mut answer = String::new();
    p.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("201 ") && answer.contains("\r\n205 "), "{answer:?}");

    // The socket named http is the HTTP face.
    let page = get(format!("127.0.0.1:{web}").parse().unwrap(), "/list-0/", 200);
    assert!(page.text().contains("example.list-0"));

    // SIGTERM: STOPPING=1, then the process ends.
    let status = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().unwrap();
    assert!(status.success());
    let mut stopping = [0u8; 256];
    let n = notify.recv(&mut stopping).expect("STOPPING=1");
    assert!(String::from_utf8_lossy(&stopping[..n]).contains("STOPPING=1"));
    assert!(wait_until(20, || child.try_wait().unwrap().is_some()));
    let log = std::fs::read_to_string(archive.dir.path().join("server.log")).unwrap();
    // One line per session (the probe that waited for the socket is one too).
    let access: Vec<&str> = log.lines().filter(|l| l.contains("access: peer=")).collect();
    assert_eq!(access.len(), 3, "{log}");
    // The HTTP face logs each request.
    let http = log.lines().find(|l| l.contains("access: http peer=127.0.0.1:")).expect("the HTTP request's line");
    assert!(http.contains(" GET /list-0/ status=200 seconds="), "{http}");
    let reader = access.iter().find(|l| l.contains(" groups=example.list-0 ")).expect("the reader's line");
    assert!(
        reader.contains("tls=no user=- groups=example.list-0 articles=1 ") && reader.ends_with(" end=quit"),
        "{reader}"
    );
    let proxied = access.iter().find(|l| l.contains("access: peer=192.0.2.7:40000 ")).expect("the proxied line");
    assert!(proxied.contains(" commands=1 ") && proxied.ends_with(" end=quit"), "{proxied}");
    // Plain text: no colour escapes in a log file.
    assert!(!log.contains('\u{1b}'), "{log}");
}

/// `GET /metrics` over HTTP/1.0.
fn scrape(addr: SocketAddr) -> String {
    let mut s = TcpStream::connect(addr).expect("metrics endpoint");
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").expect("HTTP answer");
    assert!(head.starts_with("HTTP/1.") && head.contains(" 200 "), "{head}");
    body.to_string()
}

#[test]
fn metrics_are_served_and_pass_promtool() {
    let port = free_port();
    let metrics: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let archive =
        Archive::with_config(|t| t.replace("data_dir =", &format!("metrics_listen = \"{metrics}\"\ndata_dir =")));
    archive.import(None, &[&sample_mbox()]);
    let server = archive.spawn();
    let mut c = server.client();
    c.expect("GROUP example.list-1", 211);
    for n in 1..=3 {
        c.expect_block(&format!("ARTICLE {n}"), 220);
    }
    c.expect_text("XOVER 1-", 224);
    c.expect("ARTICLE 99999", 423);
    c.expect("QUIT", 205);
    // A delivery through the server.
    let mut deliver = listnews(&["deliver", "--config"])
        .arg(archive.config_path())
        .stdin(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    deliver.stdin.take().unwrap().write_all(&message("<metric@test>", 0, "counted", "", "hi\n")).unwrap();
    assert!(deliver.wait().unwrap().success());

    let mut body = String::new();
    assert!(
        wait_until(20, || {
            body = scrape(metrics);
            body.contains("listnews_connections_open 0") && body.contains("source=\"deliver\"")
        }),
        "{body}"
    );
    for expected in [
        "listnews_commands_total{command=\"ARTICLE\"} 4",
        "listnews_responses_total{code=\"220\"} 3",
        "listnews_responses_total{code=\"423\"} 1",
        "listnews_articles_served_total 3",
        "listnews_connections_total 1",
        "listnews_article_fetch_seconds_count 4",
        "listnews_listing_seconds_count 1",
        "listnews_stored_total{source=\"deliver\",outcome=\"stored\"} 1",
    ] {
        assert!(body.lines().any(|l| l == expected), "{expected:?} not in:\n{body}");
    }
    let sent: f64 = body
        .lines()
        .find_map(|l| l.strip_prefix("listnews_sent_bytes_total "))
        .and_then(|v| v.parse().ok())
        .expect("bytes sent");
    assert!(sent > 3000.0, "{sent}");
    // Prometheus's own checker accepts the scrape.
    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian's prometheus package)");
    promtool.stdin.take().unwrap().write_all(body.as_bytes()).unwrap();
    let out = promtool.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
