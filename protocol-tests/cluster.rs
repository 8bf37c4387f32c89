//! The replica cluster of `docs/cluster.md`, for real: one upstream listnews, three replicas
//! (`replica = true`, behind the PROXY protocol) and Debian's HAProxy in front with
//! `send-proxy-v2` and health checks on the greeting. Clients through the balancer see the
//! same numbers whichever replica they reach; a delivery upstream reaches every replica; a
//! replica killed with SIGKILL costs only the connections it held, and catches up when it
//! comes back.

use std::io::Write;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::kit::*;

const GROUPS: [&str; 3] = ["example.list-0", "example.list-1", "example.list-2"];

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A replica of `upstream` listening on `port` behind the PROXY protocol.
fn replica(upstream: u16, port: u16) -> Archive {
    Archive::with_config(|mut t| {
        t = t
            .replace(
                "listen = [\"127.0.0.1:0\"]",
                &format!("listen = [\"127.0.0.1:{port}\"]\nproxy_protocol = [\"127.0.0.1:{port}\"]"),
            )
            .replace("data_dir =", "watch_interval_secs = 0.2\ndata_dir =");
        for (i, g) in GROUPS.iter().enumerate() {
            t = t.replace(
                &format!("list_id = \"list-{i}.lists.example.org\"\n"),
                &format!("list_id = \"list-{i}.lists.example.org\"\npull = \"nntp://127.0.0.1:{upstream}/{g}\"\nreplica = true\n"),
            );
        }
        t
    })
}

/// HAProxy in the foreground on `front`, balancing over `backends`.
struct Haproxy {
    child: Child,
}

impl Haproxy {
    fn start(dir: &std::path::Path, front: u16, backends: &[u16]) -> Haproxy {
        let servers: String = backends
            .iter()
            .enumerate()
            .map(|(i, p)| format!("    server r{i} 127.0.0.1:{p} send-proxy-v2 check inter 200ms fall 2 rise 1\n"))
            .collect();
        // The health check reads the greeting: 200 or 201 (docs/cluster.md has the same).
        let config = format!(
            "global\n    maxconn 4096\n\ndefaults\n    mode tcp\n    timeout connect 2s\n    timeout client 60s\n    timeout server 60s\n    retries 3\n    option redispatch\n\nfrontend nntp\n    bind 127.0.0.1:{front}\n    default_backend replicas\n\nbackend replicas\n    balance roundrobin\n    option tcp-check\n    tcp-check expect rstring ^20[01]\n{servers}"
        );
        let path = dir.join("haproxy.cfg");
        std::fs::write(&path, config).unwrap();
        let check = Command::new("haproxy")
            .arg("-c")
            .arg("-f")
            .arg(&path)
            .output()
            .expect("haproxy (Debian's haproxy package)");
        assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
        let child = Command::new("haproxy")
            .arg("-db")
            .arg("-f")
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Haproxy { child }
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// GROUP and XOVER of every group: what a reader's client caches.
fn numbers(c: &mut Client) -> Vec<String> {
    GROUPS.iter().flat_map(|g| c.listing(g)).collect()
}

fn deliver(config: &std::path::Path, raw: &[u8]) {
    let mut child =
        listnews(&["deliver", "--config"]).arg(config).stdin(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(raw).unwrap();
    assert!(child.wait().unwrap().success());
}

#[test]
fn three_replicas_behind_haproxy() {
    let upstream = Archive::new();
    upstream.import(None, &[&sample_mbox()]);
    let up = upstream.spawn();
    let up_port = up.addr().port();
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let replicas: Vec<Archive> = ports.iter().map(|&p| replica(up_port, p)).collect();
    let mut served: Vec<Served> = replicas.iter().map(|r| r.spawn()).collect();
    let expected = numbers(&mut up.client());
    let addr_of = |port: u16| SocketAddr::from(([127, 0, 0, 1], port));
    // The replicas expect a PROXY header: they are read through the balancer.
    let front = free_port();
    let tmp = tempfile::tempdir().unwrap();
    let _haproxy = Haproxy::start(tmp.path(), front, &ports);
    let front_addr = addr_of(front);
    assert!(wait_until(30, || std::net::TcpStream::connect(front_addr).is_ok()));
    // Round robin: six connections reach each replica twice; all agree with the upstream once
    // caught up.
    assert!(
        wait_until(60, || (0..6).all(|_| numbers(&mut Client::connect(front_addr)) == expected)),
        "the replicas never all matched the upstream"
    );

    // A delivery upstream shows up on every replica within the watch interval (0.2 s here).
    let sent = Instant::now();
    deliver(&upstream.config_path(), &message("<fresh@cluster>", 1, "fresh", "", "new\n"));
    let seen_everywhere = wait_until(30, || {
        (0..6)
            .all(|_| Client::connect(front_addr).expect_one_of("STAT <fresh@cluster>", &[223, 430]).starts_with("223"))
    });
    assert!(seen_everywhere, "the delivery did not reach every replica");
    eprintln!("cluster: delivery visible through every replica after {:.2} s", sent.elapsed().as_secs_f64());
    let expected = numbers(&mut up.client());

    // Readers through the balancer while replica 0 is killed: each reader loops connect,
    // GROUP, ARTICLE, QUIT. Only sessions on the killed replica may fail.
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let (stop, ok, failed) = (stop.clone(), ok.clone(), failed.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let session = std::panic::catch_unwind(|| {
                        let mut c = Client::connect(front_addr);
                        c.set_timeout(10);
                        c.expect("GROUP example.list-0", 211);
                        c.expect_block("ARTICLE 1", 220);
                        c.expect("QUIT", 205);
                    });
                    if session.is_ok() {
                        ok.fetch_add(1, Ordering::SeqCst)
                    } else {
                        failed.fetch_add(1, Ordering::SeqCst)
                    };
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    served[0].kill();
    std::thread::sleep(Duration::from_millis(1500));
    stop.store(true, Ordering::SeqCst);
    for r in readers {
        let _ = r.join();
    }
    let (ok, failed) = (ok.load(Ordering::SeqCst), failed.load(Ordering::SeqCst));
    eprintln!("cluster: replica killed under 4 readers: {ok} sessions completed, {failed} failed");
    assert!(ok > 50, "{ok} sessions completed");
    // At most the sessions the killed replica held at that moment: one per reader.
    assert!(failed <= 4, "{failed} sessions failed");

    // While it is down, more mail arrives upstream; it restarts on its store and catches up.
    deliver(&upstream.config_path(), &message("<while-down@cluster>", 2, "while down", "", "x\n"));
    let expected_after = {
        let mut u = up.client();
        assert!(wait_until(10, || u.expect_one_of("STAT <while-down@cluster>", &[223, 430]).starts_with("223")));
        numbers(&mut u)
    };
    assert_ne!(expected_after, expected);
    let restarted = Instant::now();
    served[0] = replicas[0].spawn();
    assert!(
        wait_until(60, || (0..6).all(|_| numbers(&mut Client::connect(front_addr)) == expected_after)),
        "the restarted replica did not catch up"
    );
    eprintln!("cluster: restarted replica caught up within {:.2} s", restarted.elapsed().as_secs_f64());
}
