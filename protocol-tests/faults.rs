//! Faults: an import into a filesystem that fills up stops with a clear error, leaves the
//! store readable and serving, and completes after space is freed, ending identical to an
//! import that never ran out of space.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::kit::*;

/// A size-limited tmpfs, unmounted on drop. Mounting needs root (CI runs as root).
struct SmallFs {
    path: PathBuf,
}

impl SmallFs {
    fn mount(path: &Path, size: &str) -> SmallFs {
        std::fs::create_dir_all(path).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "mounting a tmpfs needs root (CI runs as root): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        SmallFs { path: path.to_path_buf() }
    }

    fn resize(&self, size: &str) {
        let out = Command::new("mount").args(["-o", &format!("remount,size={size}")]).arg(&self.path).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.path).output();
    }
}

/// Messages with bodies that do not compress, so they fill a disk.
fn incompressible_mbox(path: &Path, n: usize) {
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let messages: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            let mut body = String::with_capacity(9000);
            for _ in 0..110 {
                for _ in 0..5 {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    body.push_str(&format!("{seed:016x}"));
                }
                body.push('\n');
            }
            message(&format!("<fill{i}@disk.example>"), i % 3, &format!("filler {i}"), "", &body)
        })
        .collect();
    write_mbox(path, &messages);
}

fn import(config: &Path, mbox: &Path) -> std::process::Output {
    listnews(&["import", "--config"]).arg(config).arg(mbox).env("RUST_LOG", "error").output().unwrap()
}

#[test]
fn a_full_disk_stops_the_import_cleanly_and_it_resumes() {
    let work = tempfile::tempdir().unwrap();
    let mbox = work.path().join("big.mbox");
    incompressible_mbox(&mbox, 5000);

    let reference = Archive::new();
    assert!(import(&reference.config_path(), &mbox).status.success());
    let expected = reference.snapshot();

    let fs = SmallFs::mount(&work.path().join("small"), "24m");
    let data = fs.path.join("data");
    let archive = Archive::with_config(|t| {
        let mut lines: Vec<String> = t.lines().map(str::to_string).collect();
        for l in lines.iter_mut() {
            if l.starts_with("data_dir") {
                *l = format!("data_dir = \"{}\"\nreserve_free_mb = 2", data.display());
            }
        }
        lines.join("\n")
    });
    let out = import(&archive.config_path(), &mbox);
    assert!(!out.status.success(), "the import cannot fit in 24 MiB");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("free some space") && err.contains("resume"), "a clear error: {err}");

    // The store is readable and serving: part of the import is there, consistent.
    let partial = archive.snapshot();
    let count: usize = partial
        .iter()
        .filter(|l| l.starts_with("211 "))
        .map(|l| l.split(' ').nth(1).unwrap().parse::<usize>().unwrap())
        .sum();
    assert!(count > 0 && count < 5000, "{count} articles before the disk filled");
    // Group by group (a snapshot is each group's 211 line, then its listing), each overview
    // line against the full import's line of the same number.
    let per_group = |snap: &[String]| -> Vec<std::collections::HashMap<String, String>> {
        let mut groups: Vec<std::collections::HashMap<String, String>> = Vec::new();
        for line in snap {
            if line.starts_with("211 ") {
                groups.push(Default::default());
            } else if line.contains('\t')
                && let Some(g) = groups.last_mut()
            {
                g.insert(line.split('\t').next().unwrap().to_string(), line.clone());
            }
        }
        groups
    };
    let (got, want) = (per_group(&partial), per_group(&expected));
    assert_eq!(got.len(), want.len(), "the same groups");
    for (got, want) in got.iter().zip(&want) {
        for (num, line) in got {
            assert_eq!(Some(line), want.get(num), "what was stored is what the full import stores");
        }
    }

    // Space freed: the import resumes and ends identical to one that never stopped.
    fs.resize("256m");
    let out = import(&archive.config_path(), &mbox);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(archive.snapshot(), expected);
}
