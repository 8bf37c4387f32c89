//! What an operator runs: `listnews check`, `backup`, `rejects` and `remove` while the server
//! runs, `import` of things that are not mail and of a Maildir, `man`.

use std::process::Output;

use crate::kit::*;

fn run(args: &[&str]) -> Output {
    listnews(args).output().expect("run listnews")
}

fn said(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn check_reports_every_problem_with_its_place_and_fix() {
    let archive = Archive::new();
    let path = archive.config_path();
    let good = std::fs::read_to_string(&path).unwrap();
    let p = path.to_str().unwrap();
    let out = run(&["check", "--config", p]);
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    assert!(said(&out).contains(": ok: 4 groups (4 from [[group]], 0 from 0 mirrors), 0 users"), "{}", said(&out));
    assert!(said(&out).contains("warning: group example.empty is configured but holds no articles yet"));

    // Five broken files: each problem at its own line and column, with the key and a fix.
    let line_of = |text: &str, needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let cases: Vec<(String, Vec<String>)> = vec![
        {
            let t = good.replace("hostname =", "idle_timeout_secs = \"1800\"\nhostname =");
            let n = line_of(&t, "idle_timeout_secs");
            (
                t,
                vec![format!(
                    ":{n}:21: server.idle_timeout_secs: invalid type: string \"1800\", expected u64; fix: write the number without quotes"
                )],
            )
        },
        {
            let t = good.replace(
                "hostname =",
                "# max_connections_per_ip = 5\nmax_connections = 10\nmax_connections_per_ip = 0\nhostname =",
            );
            let n = line_of(&t, "max_connections_per_ip = 0");
            (t, vec![format!(":{n}:1: server.max_connections_per_ip: must be at least 1")])
        },
        {
            let t = good.replacen("[[group]]", "[group]", 1);
            let n = line_of(&t, "[group]");
            (t, vec![format!(":{n}:1: group: [group] opens a single table; fix: write [[group]], once per group")])
        },
        {
            let t = good.replace("listen = [\"127.0.0.1:0\"]", "listen = [\"localhost:1119\"]");
            let n = line_of(&t, "localhost");
            (
                t,
                vec![format!(
                    ":{n}:11: server.listen: invalid socket address syntax; fix: write an IP address and port"
                )],
            )
        },
        {
            // Three at once: a misspelt key, a bad group name, a reader who is not a user.
            let t = good
                .replace("motd =", "watch_intervall_secs = 5\nmotd =")
                .replace("name = \"example.list-2\"", "name = \"example list 2\"\nreaders = [\"nobody\"]");
            let (a, b, c) = (line_of(&t, "watch_intervall"), line_of(&t, "example list 2"), line_of(&t, "readers"));
            (
                t,
                vec![
                    format!(
                        ":{a}:1: server.watch_intervall_secs: unknown key `watch_intervall_secs`; fix: did you mean `watch_interval_secs`?"
                    ),
                    format!(":{b}:1: group[2].name: \"example list 2\" is not a valid newsgroup name"),
                    format!(":{c}:12: group[2].readers[0]: \"nobody\" is not a [[user]]"),
                ],
            )
        },
    ];
    for (text, expected) in cases {
        std::fs::write(&path, &text).unwrap();
        let out = run(&["check", "--config", p]);
        let said = said(&out);
        assert_eq!(out.status.code(), Some(78), "{said}");
        for e in &expected {
            assert!(said.contains(&format!("{p}{e}")), "{e:?} not in:\n{said}");
        }
        assert!(said.contains(&format!("listnews: {} problem", expected.len())), "{said}");
    }
    std::fs::write(&path, &good).unwrap();
    // A missing file: its cause said once.
    let out = run(&["check", "--config", "/nonexistent/listnews.toml"]);
    assert_eq!(out.status.code(), Some(78));
    assert_eq!(said(&out).matches("No such file").count(), 1, "{}", said(&out));
}

#[test]
fn backup_check_and_rejects_through_the_running_server() {
    let archive = Archive::new();
    archive.import(None, &[&sample_mbox()]);
    let config = archive.config_path();
    let c = config.to_str().unwrap();
    let server = archive.spawn();
    let mut client = server.client();
    let before = client.listing("example.list-0");

    // While serving: rejects, check and a backup all go through the server.
    let out = run(&["rejects", "--config", c]);
    assert!(out.status.success(), "{}", said(&out));
    assert!(said(&out).ends_with(" set aside\n"), "{}", said(&out));
    let out = run(&["check", "--config", c]);
    assert!(out.status.success(), "{}", said(&out));
    assert!(said(&out).contains("every record read back"), "{}", said(&out));
    let dest = archive.dir.path().join("backup");
    let out = run(&["backup", "--config", c, dest.to_str().unwrap()]);
    assert!(out.status.success(), "{}", said(&out));
    assert!(said(&out).contains("backed up"), "{}", said(&out));
    // A second backup into the same folder is refused.
    let out = run(&["backup", "--config", c, dest.to_str().unwrap()]);
    assert!(!out.status.success() && said(&out).contains("is not empty"), "{}", said(&out));

    // The copy checks clean and serves the same articles under the same numbers.
    let out = run(&["check", "--config", c, "--data-dir", dest.to_str().unwrap()]);
    assert!(out.status.success(), "{}", said(&out));
    let articles = |s: &str| s.split(" articles in ").next().and_then(|l| l.rsplit(' ').next()).map(String::from);
    let live = run(&["check", "--config", c]);
    assert_eq!(articles(&said(&out)), articles(&said(&live)));
    drop(client);
    drop(server);
    let copy = Archive::with_config(|t| {
        let lines =
            t.lines().map(|l| if l.starts_with("data_dir = ") { format!("data_dir = {dest:?}") } else { l.into() });
        lines.collect::<Vec<_>>().join("\n")
    });
    let served = copy.serve();
    assert_eq!(served.client().listing("example.list-0"), before);
}

#[test]
fn import_says_what_is_not_mail_and_reads_a_maildir() {
    let archive = Archive::new();
    let config = archive.config_path();
    let c = config.to_str().unwrap();
    let binary = archive.dir.path().join("random.bin");
    std::fs::write(&binary, [0u8, 159, 146, 150, 7, 1, 2, 3]).unwrap();
    let text = archive.dir.path().join("notes.txt");
    std::fs::write(&text, "just some notes\nnot mail\n").unwrap();
    for (path, why) in [(&binary, "holds binary data"), (&text, "does not start with a \"From \" line")] {
        let out = run(&["import", "--config", c, path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(65), "{}", said(&out));
        assert!(said(&out).contains(&format!("{}: not an mbox file: it {why}", path.display())), "{}", said(&out));
    }

    let maildir = archive.dir.path().join("Maildir");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).unwrap();
    }
    std::fs::write(maildir.join("new/1.a.host"), message("<md1@op>", 1, "from a maildir", "", "1\n")).unwrap();
    std::fs::write(maildir.join("cur/2.b.host:2,S"), message("<md2@op>", 1, "seen", "", "2\n")).unwrap();
    let out = run(&["import", "--config", c, maildir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", said(&out));
    assert!(said(&out).contains("read 2 messages"), "{}", said(&out));

    // remove takes an id with or without brackets.
    let out = run(&["remove", "--config", c, "md1@op"]);
    assert!(out.status.success(), "{}", said(&out));
    assert!(said(&out).contains("removed <md1@op>"), "{}", said(&out));

    // Through a running server: a missing path is named.
    let server = archive.spawn();
    let out = run(&["import", "--config", c, "/nonexistent/list.mbox"]);
    assert!(!out.status.success());
    assert!(said(&out).contains("/nonexistent/list.mbox"), "{}", said(&out));
    let out = run(&["import", "--config", c, text.to_str().unwrap()]);
    assert!(!out.status.success() && said(&out).contains("not an mbox file"), "{}", said(&out));
    drop(server);
}

#[test]
fn man_pages_cover_every_command_and_config_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&["man", dir.path().to_str().unwrap()]);
    assert!(out.status.success(), "{}", said(&out));
    let help = String::from_utf8(run(&["--help"]).stdout).unwrap();
    let commands: Vec<&str> = help
        .split("Commands:")
        .nth(1)
        .unwrap()
        .split("Options:")
        .next()
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    assert!(commands.len() >= 10, "{commands:?}");
    for c in &commands {
        let page = std::fs::read_to_string(dir.path().join(format!("man1/listnews-{c}.1"))).unwrap();
        assert!(page.contains(&format!("listnews\\-{c}")), "{c}");
    }
    // Every key the configuration accepts is in listnews.toml(5): ask the parser for them.
    let page = std::fs::read_to_string(dir.path().join("man5/listnews.toml.5")).unwrap();
    for (table, probe) in [
        ("server", "[server]\nzz = 1\n"),
        ("group", "[server]\nhostname = \"h\"\n[[group]]\nname = \"a\"\nzz = 1\n"),
        ("mirror", "[server]\nhostname = \"h\"\n[[mirror]]\npath = \"/\"\nzz = 1\n"),
        ("user", "[server]\nhostname = \"h\"\n[[user]]\nname = \"a\"\npassword_hash = \"x\"\nzz = 1\n"),
    ] {
        let e = listnews::config::Config::parse(std::path::Path::new("probe.toml"), probe).unwrap_err().to_string();
        let keys: Vec<&str> =
            e.split("use one of ").nth(1).unwrap_or("").split(';').next().unwrap().split(", ").collect();
        assert!(keys.len() > 1, "{table}: {e}");
        for key in keys {
            let key = key.trim_matches('`');
            assert!(
                page.contains(&format!(".B {key}")) || page.contains(key),
                "{table}.{key} missing from listnews.toml.5"
            );
        }
    }
}
