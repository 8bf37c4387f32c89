//! Live archives: deliveries through `listnews deliver` while clients read, a server killed
//! mid-burst, watched sources followed while serving, and a replica pulling from an upstream.

use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use listnews::import::Importer;
use listnews::store::Store;

use crate::kit::*;

/// Runs `listnews deliver` with one message; returns its exit code.
fn deliver(config: &Path, raw: &[u8], group: Option<&str>) -> i32 {
    let mut cmd = listnews(&["deliver", "--config"]);
    cmd.arg(config);
    if let Some(g) = group {
        cmd.args(["--group", g]);
    }
    let mut child =
        cmd.env("RUST_LOG", "error").stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(raw).unwrap();
    child.wait().unwrap().code().unwrap_or(-1)
}

fn delivery(i: usize) -> (String, Vec<u8>) {
    let id = format!("<d{i}@deliver.example>");
    let body = format!("delivery {i}\n{}", "some text to make it a normal size\n".repeat(i % 50 + 1));
    (id.clone(), message(&id, 0, &format!("delivery {i}"), "", &body))
}

/// Delivers `range` from `threads` threads, counting each finished delivery in `done`;
/// returns (id, exit code) for each.
fn burst(config: &Path, range: std::ops::Range<usize>, threads: usize, done: &AtomicUsize) -> Vec<(String, i32)> {
    let results = Mutex::new(Vec::new());
    let next = AtomicUsize::new(range.start);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= range.end {
                        break;
                    }
                    let (id, raw) = delivery(i);
                    let code = deliver(config, &raw, Some("example.list-0"));
                    done.fetch_add(1, Ordering::SeqCst);
                    results.lock().unwrap().push((id, code));
                }
            });
        }
    });
    results.into_inner().unwrap()
}

#[test]
fn deliveries_while_reading_and_a_killed_server() {
    let archive = Archive::new();
    let config = archive.config_path();
    let mut server = archive.spawn();
    let addr = server.addr();

    // Burst 1: 1,000 deliveries while two clients read the group over and over.
    let stop = AtomicBool::new(false);
    let done = AtomicUsize::new(0);
    let first = std::thread::scope(|s| {
        let readers: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    let mut c = Client::connect(addr);
                    let mut last_high = 0u64;
                    let mut rounds = 0;
                    while !stop.load(Ordering::SeqCst) {
                        let g = c.expect("GROUP example.list-0", 211);
                        let high: u64 = g.split(' ').nth(3).unwrap().parse().unwrap();
                        assert!(high >= last_high, "the high water mark never goes back");
                        last_high = high;
                        if high > 0 {
                            let (_, over) = c.expect_block("XOVER 1-", 224);
                            assert!(over.len() as u64 >= high.min(1), "a write does not disturb a listing");
                            assert!(over.iter().all(|l| l.split(|&b| b == b'\t').count() == 9));
                        }
                        rounds += 1;
                    }
                    rounds
                })
            })
            .collect();
        let results = burst(&config, 0..1000, 8, &done);
        stop.store(true, Ordering::SeqCst);
        for r in readers {
            assert!(r.join().unwrap() > 0);
        }
        results
    });
    assert!(
        first.iter().all(|(_, c)| *c == 0),
        "with the server up every delivery succeeds: {:?}",
        first.iter().find(|(_, c)| *c != 0)
    );
    {
        let mut c = Client::connect(addr);
        assert_eq!(c.expect("GROUP example.list-0", 211), "211 1000 1 1000 example.list-0");
    }

    // Burst 2: SIGKILL the server while deliveries are under way.
    let done = AtomicUsize::new(0);
    let second = std::thread::scope(|s| {
        let deliveries = s.spawn(|| burst(&config, 1000..1400, 8, &done));
        assert!(wait_until(60, || done.load(Ordering::SeqCst) >= 60));
        server.kill(); // SIGKILL
        deliveries.join().unwrap()
    });
    let exit_codes: HashMap<i32, usize> = second.iter().fold(HashMap::new(), |mut m, (_, c)| {
        *m.entry(*c).or_default() += 1;
        m
    });
    assert!(exit_codes.keys().all(|c| *c == 0 || *c == 75), "only success or tempfail: {exit_codes:?}");

    // After a restart every delivery that exited 0 is there, exactly once.
    let mut server = archive.spawn();
    let addr = server.addr();
    let mut c = Client::connect(addr);
    let stored: Vec<&String> = first.iter().chain(&second).filter(|(_, code)| *code == 0).map(|(id, _)| id).collect();
    for id in &stored {
        c.expect(&format!("STAT {id}"), 223); // "{id} exited 0 but is missing"
    }
    let count: usize = c.expect("GROUP example.list-0", 211).split(' ').nth(1).unwrap().parse().unwrap();
    let (_, over) = c.expect_text("XOVER 1-", 224);
    let ids: BTreeSet<String> = over.iter().map(|l| l.split('\t').nth(4).unwrap().to_string()).collect();
    assert_eq!(ids.len(), over.len(), "no message twice");
    assert_eq!(over.len(), count);
    assert!(count >= stored.len() && count <= 1400, "{count} articles for {} confirmed deliveries", stored.len());

    // The MTA retries what got 75: then everything is there exactly once.
    for (id, _) in second.iter().filter(|(_, code)| *code == 75) {
        let i: usize = id[2..id.find('@').unwrap()].parse().unwrap();
        assert_eq!(deliver(&config, &delivery(i).1, Some("example.list-0")), 0);
    }
    let count: usize = c.expect("GROUP example.list-0", 211).split(' ').nth(1).unwrap().parse().unwrap();
    assert_eq!(count, 1400);
    drop(c);
    server.kill();
}

#[test]
fn deliver_exit_codes() {
    let archive = Archive::new();
    let config = archive.config_path();
    // No server: stored directly.
    assert_eq!(deliver(&config, &message("<x1@e>", 1, "direct", "", "b\n"), None), 0);
    assert_eq!(deliver(&config, b"no header here\n", None), 65, "not a message");
    assert_eq!(deliver(&config, b"", None), 65);
    // Unroutable mail is set aside, which is a safe delivery.
    assert_eq!(deliver(&config, b"From: a@b\nTo: x@elsewhere\nMessage-ID: <x2@e>\n\nb\n", None), 0);
    // The store held by something that does not answer on the control socket: try later.
    let store = Store::open(&archive.config.server.data_dir).unwrap();
    assert_eq!(deliver(&config, &message("<x3@e>", 1, "held", "", "b\n"), None), 75);
    drop(store);
    let server = archive.serve_live();
    assert_eq!(deliver(&config, &message("<x3@e>", 1, "held", "", "b\n"), None), 0);
    assert_eq!(deliver(&config, b"still no header\n", None), 65);
    // A group that is not configured: a configuration error (78), as without a server.
    assert_eq!(deliver(&config, &message("<x4@e>", 1, "nowhere", "", "b\n"), Some("no.such.group")), 78);
    let mut c = server.client();
    assert_eq!(c.expect("GROUP example.list-1", 211), "211 2 1 2 example.list-1");
    // `remove` through the running server: gone everywhere, the number stays a gap.
    let out = listnews(&["remove", "--config"]).arg(&config).arg("<x1@e>").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(c.expect("GROUP example.list-1", 211), "211 1 2 2 example.list-1");
    c.expect("STAT <x1@e>", 430);
    assert_eq!(
        deliver(&config, &message("<x1@e>", 1, "direct", "", "b\n"), None),
        0,
        "a removed message is not stored again"
    );
    assert_eq!(c.expect("GROUP example.list-1", 211), "211 1 2 2 example.list-1");
    // `import` through the running server.
    let out = listnews(&["import", "--config"]).arg(&config).arg(sample_mbox()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("298 stored"));
    let g = c.expect("GROUP example.list-1", 211);
    assert!(g.starts_with("211 115 2 116 "), "{g}");
}

#[test]
fn watched_sources_are_followed_while_serving() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("lore");
    let maildir = dir.path().join("Maildir");
    let mbox = dir.path().join("list-2.mbox");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).unwrap();
    }
    write_mbox(&mbox, &[message("<m1@w>", 2, "mbox one", "", "1\n")]);
    let e0 = inbox.join("git/0.git");
    init_epoch(&e0);
    pi_add(&e0, "m", &message("<e1@w>", 0, "epoch one", "", "1\n"));
    pi_add(&e0, "m", &message("<e2@w>", 0, "epoch two", "", "2\n"));
    let (inbox_s, maildir_s, mbox_s) =
        (inbox.display().to_string(), maildir.display().to_string(), mbox.display().to_string());
    let archive = Archive::with_config(|t| {
        t.replace("data_dir =", "watch_interval_secs = 0.2\ndata_dir =")
            .replace(
                "list_id = \"list-0.lists.example.org\"\n",
                &format!("list_id = \"list-0.lists.example.org\"\nwatch = [\"{inbox_s}\"]\n"),
            )
            .replace(
                "list_id = \"list-1.lists.example.org\"\n",
                &format!("list_id = \"list-1.lists.example.org\"\nwatch = [\"{maildir_s}\"]\n"),
            )
            .replace(
                "list_id = \"list-2.lists.example.org\"\n",
                &format!("list_id = \"list-2.lists.example.org\"\nwatch = [\"{mbox_s}\"]\n"),
            )
    });
    let server = archive.serve_live();
    let mut c = server.client();
    let group = |c: &mut Client, g: &str| c.expect(&format!("GROUP {g}"), 211);
    assert!(wait_until(20, || group(&mut c, "example.list-0") == "211 2 1 2 example.list-0"));
    assert!(wait_until(20, || group(&mut c, "example.list-2") == "211 1 1 1 example.list-2"));

    // New commits, then a removal, then a new epoch.
    pi_add(&e0, "m", &message("<e3@w>", 0, "epoch three", "", "3\n"));
    assert!(wait_until(20, || group(&mut c, "example.list-0") == "211 3 1 3 example.list-0"));
    pi_add(&e0, "d", &message("<e2@w>", 0, "epoch two", "", "2\n"));
    assert!(wait_until(20, || group(&mut c, "example.list-0") == "211 2 1 3 example.list-0"));
    c.expect("STAT <e2@w>", 430);
    let e1 = inbox.join("git/1.git");
    init_epoch(&e1);
    pi_add(&e1, "m", &message("<e4@w>", 0, "epoch four", "", "4\n"));
    assert!(wait_until(20, || group(&mut c, "example.list-0") == "211 3 1 4 example.list-0"));
    assert_eq!(c.expect_text("LISTGROUP example.list-0", 211).1, vec!["1", "3", "4"]);

    // A Maildir: new/ and cur/ (with flags); a file moved from new/ to cur/ is not taken twice.
    std::fs::write(maildir.join("new/1700000000.1.host"), message("<md1@w>", 1, "maildir one", "", "1\n")).unwrap();
    std::fs::write(maildir.join("cur/1700000001.2.host:2,S"), message("<md2@w>", 1, "maildir two", "", "2\n")).unwrap();
    assert!(wait_until(20, || group(&mut c, "example.list-1") == "211 2 1 2 example.list-1"));
    std::fs::rename(maildir.join("new/1700000000.1.host"), maildir.join("cur/1700000000.1.host:2,S")).unwrap();
    std::fs::write(maildir.join("new/1700000002.3.host"), message("<md3@w>", 1, "maildir three", "", "3\n")).unwrap();
    assert!(wait_until(20, || group(&mut c, "example.list-1") == "211 3 1 3 example.list-1"));

    // An mbox that grows.
    let mut more = std::fs::read(&mbox).unwrap();
    let extra = archive.dir.path().join("extra.mbox");
    write_mbox(&extra, &[message("<m2@w>", 2, "mbox two", "", "2\n")]);
    more.extend_from_slice(&std::fs::read(&extra).unwrap());
    std::fs::write(&mbox, more).unwrap();
    assert!(wait_until(20, || group(&mut c, "example.list-2") == "211 2 1 2 example.list-2"));
    // NEWNEWS sees what arrived.
    let (_, new) = c.expect_text("NEWNEWS example.* 19700101 000000 GMT", 230);
    assert!(new.contains(&"<m2@w>".to_string()) && new.contains(&"<e4@w>".to_string()));
    // Nothing more appears when nothing changes.
    std::thread::sleep(std::time::Duration::from_millis(600));
    assert_eq!(group(&mut c, "example.list-1"), "211 3 1 3 example.list-1");
}

#[test]
fn a_replica_follows_its_upstream_with_the_same_numbers() {
    // Upstream: the sample, with an article removed (a gap the replica must keep).
    let mut upstream = Archive::new();
    upstream.import(None, &[&sample_mbox()]);
    {
        let store = Store::open(&upstream.config.server.data_dir).unwrap();
        let mut importer = Importer::new(&store, &upstream.config, None).unwrap();
        let id = {
            let entry = store.overview(store.group("example.list-0").unwrap().unwrap().id, 5).unwrap().unwrap();
            String::from_utf8_lossy(entry.field(3)).into_owned()
        };
        assert!(importer.remove(&id).unwrap());
        importer.finish().unwrap();
    }
    let up = upstream.serve();
    let port = up.addr.port();
    let groups = ["example.list-0", "example.list-1", "example.list-2"];
    // A replica mirrors every group with its upstream numbers.
    let replica = Archive::with_config(|mut t| {
        t = t.replace("data_dir =", "watch_interval_secs = 0.2\ndata_dir =");
        for (i, g) in groups.iter().enumerate() {
            t = t.replace(
                &format!("list_id = \"list-{i}.lists.example.org\"\n"),
                &format!(
                    "list_id = \"list-{i}.lists.example.org\"\npull = \"nntp://127.0.0.1:{port}/{g}\"\nreplica = true\n"
                ),
            );
        }
        t
    });
    // A plain follower numbers what it pulls itself.
    let follower = Archive::with_config(|t| {
        t.replace("data_dir =", "watch_interval_secs = 0.2\ndata_dir =").replace(
            "address = \"empty@lists.example.org\"\n",
            &format!("address = \"empty@lists.example.org\"\npull = \"nntp://127.0.0.1:{port}/example.list-0\"\n"),
        )
    });
    let rep = replica.serve_live();
    let fol = follower.serve_live();
    let mut uc = up.client();
    let mut rc = rep.client();
    let mut fc = fol.client();
    let expected: Vec<String> = groups.iter().flat_map(|g| uc.listing(g)).collect();
    let matched = wait_until(30, || groups.iter().flat_map(|g| rc.listing(g)).collect::<Vec<_>>() == expected);
    if !matched {
        let got: Vec<String> = groups.iter().flat_map(|g| rc.listing(g)).collect();
        let diff: Vec<(&String, &String)> = expected.iter().zip(&got).filter(|(a, b)| a != b).take(3).collect();
        panic!(
            "replica never matched the upstream: {} vs {} lines; first differences: {diff:#?}",
            expected.len(),
            got.len()
        );
    }
    let l0 = uc.listing("example.list-0");
    assert!(!l0.contains(&"5".to_string()) && l0.contains(&"6".to_string()), "the gap is kept");
    // Without replica, pulled articles are numbered locally, 1..n.
    let count: u64 = uc.expect("GROUP example.list-0", 211).split(' ').nth(1).unwrap().parse().unwrap();
    assert!(wait_until(30, || fc.expect("GROUP example.empty", 211) == format!("211 {count} 1 {count} example.empty")));
    // Pulled articles are stored as the mail they were: the upstream's Path/Newsgroups/Xref
    // are not kept, and the replica's own are served.
    rc.expect("GROUP example.list-0", 211);
    let (_, replica_head) = rc.expect_text("HEAD 1", 221);
    uc.expect("GROUP example.list-0", 211);
    let (_, upstream_head) = uc.expect_text("HEAD 1", 221);
    assert_eq!(replica_head, upstream_head, "served byte for byte as the upstream serves it");
    fc.expect("GROUP example.empty", 211);
    let (_, head) = fc.expect_text("HEAD 1", 221);
    assert_eq!(head.iter().filter(|h| h.starts_with("Xref: ")).count(), 1);
    assert!(head.contains(&format!("Xref: {HOST} example.empty:1")), "{head:?}");
    assert!(!head.iter().any(|h| h.starts_with("X-Original-")), "{head:?}");
    // Articles arriving upstream later are followed.
    drop(up);
    upstream.config.server.listen = vec![SocketAddr::from(([127, 0, 0, 1], port))];
    let more = upstream.dir.path().join("more.mbox");
    write_mbox(&more, &[message("<late@up>", 0, "late", "", "late\n")]);
    upstream.import(None, &[&more]);
    let up = upstream.serve();
    assert_eq!(up.addr.port(), port, "the upstream came back on its port");
    let mut uc = up.client();
    let expected = uc.listing("example.list-0");
    assert!(expected.iter().any(|l| l.contains("<late@up>")));
    assert!(wait_until(30, || rc.listing("example.list-0") == expected));
    drop(fol);
}

#[test]
fn a_replica_pulls_over_nntps() {
    let upstream = Archive::with_config(|t| {
        t.replace(
            "data_dir =",
            "listen_tls = [\"127.0.0.1:0\"]\ntls_cert = \"cert.pem\"\ntls_key = \"key.pem\"\ndata_dir =",
        )
    });
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let dir = upstream.dir.path();
    std::fs::write(dir.join("cert.pem"), cert.cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), cert.signing_key.serialize_pem()).unwrap();
    // The config was read before the files existed: read it again now they do.
    let config = listnews::config::Config::load(&upstream.config_path()).unwrap();
    upstream.import(None, &[&sample_mbox()]);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let store = Store::open(&config.server.data_dir).unwrap();
    let server = rt.block_on(listnews::server::Server::start(&config, store)).unwrap();
    let tls_port = server.tls_addrs[0].port();
    let ca = dir.join("cert.pem").display().to_string();
    let replica = Archive::with_config(|t| {
        t.replace("data_dir =", "watch_interval_secs = 0.2\ndata_dir =").replace(
            "list_id = \"list-0.lists.example.org\"\n",
            &format!(
                "list_id = \"list-0.lists.example.org\"\npull = \"nntps://127.0.0.1:{tls_port}/example.list-0\"\npull_ca = \"{ca}\"\nreplica = true\n"
            ),
        )
    });
    let rep = replica.serve_live();
    let mut rc = rep.client();
    let mut uc = Client::connect(server.addrs[0]);
    let expected = uc.expect("GROUP example.list-0", 211);
    assert!(
        wait_until(30, || rc.expect("GROUP example.list-0", 211) == expected),
        "the replica never caught up over TLS"
    );
    let (count, _, _) = group_status(&expected, "example.list-0");
    let (_, up_over) = uc.expect_text("XOVER 1-", 224);
    assert_eq!(up_over.len() as u64, count, "the upstream's whole group");
    rc.expect("GROUP example.list-0", 211);
    let (_, rep_over) = rc.expect_text("XOVER 1-", 224);
    let strip_xref = |lines: Vec<String>| -> Vec<String> {
        lines.iter().map(|l| l.rsplit_once('\t').map_or("", |(before, _)| before).to_string()).collect()
    };
    assert_eq!(
        strip_xref(rep_over),
        strip_xref(up_over),
        "same numbers and overview (Xref differs: one group replicated)"
    );
    drop(rep);
    rt.block_on(server.stop());
}
