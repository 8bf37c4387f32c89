//! A whole lore mirror from one `[[mirror]]` entry: a generated grokmirror tree (several
//! lists, several epochs, `manifest.js.gz`, an inbox config) imported, served, and followed
//! while lists and epochs come and go.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::kit::*;

/// A lore-style list message: vger's List-Id and To.
fn lore_message(id: &str, list: &str, subject: &str, extra: &str) -> Vec<u8> {
    format!(
        "From: Dev <dev@example.org>\nTo: {list}@vger.kernel.org\nSubject: {subject}\nDate: Tue, 2 Jan 2024 10:00:00 +0000\nMessage-ID: {id}\nList-Id: <{list}.vger.kernel.org>\n{extra}\nbody of {id}\n"
    )
    .into_bytes()
}

/// A grokmirror tree under a temp folder.
struct Mirror {
    root: PathBuf,
}

impl Mirror {
    fn new(root: PathBuf) -> Mirror {
        std::fs::create_dir_all(&root).unwrap();
        Mirror { root }
    }

    /// Epoch `n` of `list`, created if needed, with `messages` appended.
    fn add(&self, list: &str, n: u32, messages: &[Vec<u8>]) -> PathBuf {
        let epoch = self.root.join(list).join(format!("git/{n}.git"));
        if !epoch.exists() {
            init_epoch(&epoch);
        }
        for m in messages {
            pi_add(&epoch, "m", m);
        }
        epoch
    }

    /// grokmirror's manifest: repository -> description.
    fn manifest(&self, repos: &[(&str, &str)]) {
        let body: Vec<String> = repos
            .iter()
            .map(|(repo, description)| format!("{repo:?}: {{\"description\": {description:?}, \"reference\": null}}"))
            .collect();
        let file = std::fs::File::create(self.root.join("manifest.js.gz")).unwrap();
        let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
        write!(gz, "{{{}}}", body.join(", ")).unwrap();
        gz.finish().unwrap();
    }
}

/// The harness archive plus a `[[mirror]]` of `root`, followed every 0.2 s.
fn mirror_archive(root: &Path, extra: &str) -> Archive {
    let root = root.display().to_string();
    Archive::with_config(|t| {
        format!(
            "{}\n[[mirror]]\npath = \"{root}\"\n{extra}",
            t.replace("data_dir =", "watch_interval_secs = 0.2\ndata_dir =")
        )
    })
}

/// GROUP's answer, 211 or 411 (a list not served yet, or no more).
fn group_line(c: &mut Client, group: &str) -> String {
    c.expect_one_of(&format!("GROUP {group}"), &[211, 411])
}

#[test]
fn a_mirror_is_served_from_one_entry_and_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let mirror = Mirror::new(tmp.path().join("lore"));
    // selinux: named from its messages' List-Id. lkml: named by its inbox config, two epochs.
    // misc: no address anywhere, named by an override. A message sent to selinux and lkml.
    // Each list's copy is the sender's mail with that list's List-Id.
    let cross = |list| {
        let mail = lore_message("<both@w>", list, "[PATCH] to two lists", "Cc: linux-kernel@vger.kernel.org\n");
        String::from_utf8(mail).unwrap().replace(&format!("To: {list}@"), "To: selinux@").into_bytes()
    };
    mirror.add("selinux", 0, &[lore_message("<s1@w>", "selinux", "first", ""), cross("selinux")]);
    mirror.add("lkml", 0, &[lore_message("<k1@w>", "linux-kernel", "one", "")]);
    mirror.add("lkml", 1, &[lore_message("<k2@w>", "linux-kernel", "two", ""), cross("linux-kernel")]);
    std::fs::write(
        mirror.root.join("lkml/inbox.config.example"),
        "[publicinbox \"lkml\"]\n\taddress = linux-kernel@vger.kernel.org\n\tlistid = linux-kernel.vger.kernel.org\n\tnewsgroup = org.kernel.vger.linux-kernel\n",
    )
    .unwrap();
    mirror.add("misc", 0, &[b"From: a@example.org\nSubject: stray\nMessage-ID: <m1@w>\n\nno list\n".to_vec()]);
    mirror.manifest(&[
        ("/selinux/git/0.git", "SELinux discussion"),
        ("/lkml/git/0.git", "Linux kernel"),
        ("/lkml/git/1.git", "Linux kernel"),
        ("/misc/git/0.git", "Miscellany"),
    ]);
    let archive = mirror_archive(&mirror.root, "[mirror.lists.misc]\nname = \"example.misc\"\n");

    // `listnews import --config` alone imports every list into its group.
    let out = listnews(&["import", "--config"]).arg(archive.config_path()).output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}{}", String::from_utf8_lossy(&out.stderr));
    assert!(said.contains("read 6 messages") && said.contains("5 stored"), "{said}");
    assert!(said.contains("1 already stored and now in another group too"), "{said}");

    let server = archive.spawn_logging("info");
    let mut c = server.client();
    let (_, active) = c.expect_text("LIST ACTIVE org.*", 215);
    let names: Vec<&str> = active.iter().filter_map(|l| l.split(' ').next()).collect();
    assert_eq!(names, ["org.kernel.vger.linux-kernel", "org.kernel.vger.selinux"]);
    let (_, described) = c.expect_text("LIST NEWSGROUPS *", 215);
    for line in [
        "org.kernel.vger.selinux\tSELinux discussion",
        "org.kernel.vger.linux-kernel\tLinux kernel",
        "example.misc\tMiscellany",
    ] {
        assert!(described.contains(&line.to_string()), "{line:?} not in {described:?}");
    }
    assert_eq!(group_line(&mut c, "org.kernel.vger.linux-kernel"), "211 3 1 3 org.kernel.vger.linux-kernel");
    assert_eq!(group_line(&mut c, "org.kernel.vger.selinux"), "211 2 1 2 org.kernel.vger.selinux");
    assert_eq!(group_line(&mut c, "example.misc"), "211 1 1 1 example.misc");
    // The cross-post: one article, numbered in each list in that inbox's order.
    let (_, head) = c.expect_text("HEAD <both@w>", 221);
    let xref = head.iter().find(|l| l.starts_with("Xref: ")).expect("Xref");
    assert_eq!(xref, &format!("Xref: {HOST} org.kernel.vger.linux-kernel:3 org.kernel.vger.selinux:2"));

    // While serving: a new epoch of lkml, a new list. The new list's epoch is seen empty
    // first (a clone under way): with nothing to name it by, it is not served under its
    // folder's name but waits for its first message.
    mirror.add("netdev", 0, &[]);
    std::thread::sleep(std::time::Duration::from_secs(1)); // five rescans
    let (_, active) = c.expect_text("LIST ACTIVE", 215);
    assert!(!active.iter().any(|l| l.starts_with("netdev ")), "{active:?}");
    mirror.add("lkml", 2, &[lore_message("<k3@w>", "linux-kernel", "three", "")]);
    mirror.add(
        "netdev",
        0,
        &[lore_message("<n1@w>", "netdev", "net one", ""), lore_message("<n2@w>", "netdev", "net two", "")],
    );
    assert!(wait_until(30, || group_line(&mut c, "org.kernel.vger.netdev") == "211 2 1 2 org.kernel.vger.netdev"));
    assert!(wait_until(30, || group_line(&mut c, "org.kernel.vger.linux-kernel")
        == "211 4 1 4 org.kernel.vger.linux-kernel"));
    let (_, new) = c.expect_text("NEWGROUPS 19700101 000000 GMT", 231);
    assert!(new.iter().any(|l| l.starts_with("org.kernel.vger.netdev ")), "{new:?}");

    // A list leaves the mirror: no longer served. It comes back: same numbers, and new mail
    // after them.
    let away = tmp.path().join("selinux-away");
    std::fs::rename(mirror.root.join("selinux"), &away).unwrap();
    assert!(wait_until(30, || group_line(&mut c, "org.kernel.vger.selinux").starts_with("411 ")));
    assert!(!c.expect_text("LIST ACTIVE", 215).1.iter().any(|l| l.starts_with("org.kernel.vger.selinux ")));
    std::fs::rename(&away, mirror.root.join("selinux")).unwrap();
    mirror.add("selinux", 0, &[lore_message("<s3@w>", "selinux", "after the return", "")]);
    assert!(wait_until(30, || group_line(&mut c, "org.kernel.vger.selinux") == "211 3 1 3 org.kernel.vger.selinux"));
    assert_eq!(c.expect_text("XHDR Message-ID 1-3", 221).1, ["1 <s1@w>", "2 <both@w>", "3 <s3@w>"]);

    // A new list whose name clashes is refused (logged); what was served stays served.
    mirror.add("selinux2", 0, &[lore_message("<x1@w>", "selinux", "same list id", "")]);
    let log = archive.config_path().with_file_name("server.log");
    assert!(wait_until(30, || std::fs::read_to_string(&log).unwrap_or_default().contains("mirror rescan failed")));
    assert_eq!(group_line(&mut c, "org.kernel.vger.netdev"), "211 2 1 2 org.kernel.vger.netdev");
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("[mirror.lists.selinux2] name"), "{logged}");
}

#[test]
fn a_mirror_config_error_names_the_fix() {
    let tmp = tempfile::tempdir().unwrap();
    let mirror = Mirror::new(tmp.path().join("lore"));
    // An override giving a list the name of a [[group]].
    mirror.add("zero", 0, &[lore_message("<z@w>", "zero", "z", "")]);
    let archive_dir = tempfile::tempdir().unwrap();
    let config = archive_dir.path().join("listnews.toml");
    let base = config_text(&archive_dir.path().join("data"));
    let check = |text: String| {
        std::fs::write(&config, text).unwrap();
        let out = listnews(&["import", "--config"]).arg(&config).output().unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let root = mirror.root.display();
    let said =
        check(format!("{base}\n[[mirror]]\npath = \"{root}\"\n[mirror.lists.zero]\nname = \"example.list-0\"\n"));
    assert!(said.contains(&format!("{}:", config.display())), "{said}");
    assert!(said.contains("\"example.list-0\" is both a [[group]] and list \"zero\""), "{said}");
    assert!(said.contains("fix: set [mirror.lists.zero] name"), "{said}");
    let said = check(format!("{base}\n[[mirror]]\npath = \"{}\"\n", tmp.path().join("nowhere").display()));
    assert!(said.contains("is not a folder; fix:"), "{said}");
    let said = check(format!("{base}\n[[mirror]]\npath = \"{root}\"\n[mirror.lists.zero]\nnmae = \"x\"\n"));
    assert!(said.contains(":35:1: mirror[0].lists.zero.nmae: unknown key `nmae`; fix: did you mean `name`?"), "{said}");
}
