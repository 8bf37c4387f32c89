//! XTHREAD over the whole sample.

use std::collections::{HashMap, HashSet};

use super::*;
use crate::kit::*;

/// One XTHREAD line: the 8 overview fields, then Xref, Parent and Depth.
struct ThreadLine {
    f: Vec<String>,
    parent: String,
    depth: usize,
}

impl ThreadLine {
    fn id(&self) -> &str {
        &self.f[4]
    }
}

fn thread_lines(c: &mut Client, arg: &str) -> Vec<ThreadLine> {
    let command = if arg.is_empty() { "XTHREAD".to_string() } else { format!("XTHREAD {arg}") };
    let (_, lines) = c.expect_block(&command, 224);
    let lines: Vec<ThreadLine> = lines
        .iter()
        .map(|l| {
            let f: Vec<String> = text(l).split('\t').map(str::to_string).collect();
            assert_eq!(f.len(), 11, "{command}: 8 fields, Xref, Parent, Depth: {:?}", text(l));
            assert!(f[0].bytes().all(|b| b.is_ascii_digit()) && !f[0].is_empty(), "{command}: {:?}", text(l));
            assert!(f[8].starts_with("Xref:"), "{command}: {:?}", text(l));
            let parent =
                f[9].strip_prefix("Parent:").unwrap_or_else(|| panic!("{command}: {:?}", text(l))).trim().to_string();
            let depth = f[10].strip_prefix("Depth:").unwrap_or_else(|| panic!("{command}: {:?}", text(l))).trim();
            let depth = depth.parse().unwrap_or_else(|_| panic!("{command}: {:?}", text(l)));
            ThreadLine { f, parent, depth }
        })
        .collect();
    // Depth-first from the root: each line's parent is the nearest line above one level up.
    assert!(!lines.is_empty(), "{command}: an empty thread");
    assert_eq!((lines[0].depth, lines[0].parent.as_str()), (0, ""), "{command}: the root comes first");
    let mut path: Vec<&str> = vec![lines[0].id()];
    let mut seen = HashSet::new();
    for l in &lines {
        assert!(seen.insert(l.id().to_string()), "{command}: {} twice", l.id());
    }
    for l in &lines[1..] {
        assert!(l.depth >= 1 && l.depth <= path.len(), "{command}: {} at depth {} after {path:?}", l.id(), l.depth);
        path.truncate(l.depth);
        assert_eq!(l.parent, path[l.depth - 1], "{command}: parent of {}", l.id());
        path.push(l.id());
    }
    lines
}

/// XTHREAD (our extension): every message of the sample, by id, gets its whole thread; the
/// threads partition the archive; parents are what the message's own References say;
/// missing messages are placeholders; the number forms follow the current group.
#[test]
fn xthread() {
    let (_a, server) = sample_server();
    let mut c = server.client();
    let (_, caps) = c.expect_text("CAPABILITIES", 101);
    assert!(caps.iter().any(|l| l == "XTHREAD"), "{caps:?}");
    c.expect("XTHREAD <no-such-thread@example.org>", 430);
    c.expect("XTHREAD 1", 412); // "a number needs a group"

    // The sample: ids used once, in arrival order, with the parent their headers name.
    let messages = sample_messages();
    let mut uses: HashMap<String, usize> = HashMap::new();
    let mut referenced: HashSet<String> = HashSet::new();
    let mut facts: Vec<(String, Vec<String>)> = Vec::new();
    for raw in &messages {
        let Some(id) = header(raw, "Message-ID") else { continue };
        *uses.entry(id.clone()).or_default() += 1;
        let anc = ancestors(raw, &id);
        referenced.extend(anc.iter().cloned());
        facts.push((id, anc));
    }
    let mut position: HashMap<String, usize> = HashMap::new();
    let mut own_parent: HashMap<String, Option<String>> = HashMap::new();
    for (i, (id, anc)) in facts.iter().enumerate() {
        if uses[id] == 1 {
            position.insert(id.clone(), i);
            own_parent.insert(id.clone(), anc.last().cloned());
        }
    }

    // Everything the server holds, and its overview by id (no group: number 0).
    let mut held: HashMap<String, Vec<String>> = HashMap::new();
    {
        let mut o = server.client();
        for g in ["example.list-0", "example.list-1", "example.list-2"] {
            let (_, low, high) = o.group(g);
            for f in overview(&mut o, &format!("XOVER {low}-{high}"), "XTHREAD") {
                held.entry(f[4].clone()).or_default();
            }
        }
        let ids: Vec<String> = held.keys().cloned().collect();
        let mut fresh = server.client();
        for id in ids {
            let f = overview(&mut fresh, &format!("OVER {id}"), "XTHREAD").remove(0);
            held.insert(id, f);
        }
    }

    let mut thread_of: HashMap<String, Vec<String>> = HashMap::new();
    let mut placeholders = 0;
    for id in position.keys() {
        let lines = thread_lines(&mut c, id);
        let ids: Vec<String> = lines.iter().map(|l| l.id().to_string()).collect();
        assert!(ids.contains(id), "XTHREAD {id} contains it: {ids:?}");
        let index: HashMap<&str, &ThreadLine> = lines.iter().map(|l| (l.id(), l)).collect();
        for l in &lines {
            match held.get(l.id()) {
                Some(over) => {
                    assert_eq!(l.f[..9], over[..9], "XTHREAD {id}: {} as OVER shows it", l.id());
                    if let Some(Some(p)) = own_parent.get(l.id()) {
                        assert_eq!(&l.parent, p, "XTHREAD {id}: {}'s own References name its parent", l.id());
                    }
                }
                None => {
                    placeholders += 1;
                    assert!(referenced.contains(l.id()), "XTHREAD {id}: placeholder {} is referenced", l.id());
                    assert_eq!(l.f[..4], ["0", "", "", ""], "XTHREAD {id}: placeholder {}", l.id());
                    assert_eq!(l.f[5..8], ["", "0", "0"], "XTHREAD {id}: placeholder {}", l.id());
                    assert_eq!(l.f[8].trim_end(), "Xref:", "XTHREAD {id}: placeholder {}", l.id());
                }
            }
        }
        // Complete: every message whose own parent is in the thread is in it too.
        for (child, parent) in &own_parent {
            if let Some(p) = parent
                && index.contains_key(p.as_str())
            {
                assert!(index.contains_key(child.as_str()), "XTHREAD {id}: {child} (a reply to {p}) missing");
            }
        }
        // Siblings: articles by arrival, placeholders after them.
        let mut children: HashMap<&str, Vec<&ThreadLine>> = HashMap::new();
        for l in &lines[1..] {
            children.entry(l.parent.as_str()).or_default().push(l);
        }
        for (parent, kids) in children {
            let order: Vec<Option<usize>> = kids
                .iter()
                .map(|k| {
                    if held.contains_key(k.id()) {
                        Some(position.get(k.id()).copied().unwrap_or(usize::MAX))
                    } else {
                        None
                    }
                })
                .collect();
            let real: Vec<usize> = order.iter().map_while(|o| *o).collect();
            assert!(
                order[real.len()..].iter().all(Option::is_none),
                "XTHREAD {id}: placeholders after articles under {parent}"
            );
            let known: Vec<usize> = real.into_iter().filter(|&p| p != usize::MAX).collect();
            assert!(known.windows(2).all(|w| w[0] < w[1]), "XTHREAD {id}: children of {parent} by arrival");
        }
        thread_of.insert(id.clone(), ids);
    }
    assert!(placeholders > 0, "the sample references messages it lacks");
    for (id, ids) in &thread_of {
        for other in ids {
            if let Some(t) = thread_of.get(other) {
                assert_eq!(t, ids, "{id} and {other} share one thread");
            }
        }
    }

    // The number forms: GROUP then XTHREAD n, and XTHREAD for the current article.
    let (deepest, _) = thread_of
        .iter()
        .max_by_key(|(id, ids)| (ids.len(), std::cmp::Reverse(id.to_string())))
        .map(|(id, ids)| (id.clone(), ids.clone()))
        .unwrap();
    let by_id = thread_lines(&mut c, &deepest);
    let (g, n) = xref_pairs(&over_xref(&held[&deepest]))[0].clone();
    c.group(&g);
    let by_num = thread_lines(&mut c, &n.to_string());
    assert_eq!(by_num.iter().map(|l| l.id()).collect::<Vec<_>>(), by_id.iter().map(|l| l.id()).collect::<Vec<_>>());
    for l in &by_num {
        if held.contains_key(l.id()) {
            let over = overview(&mut c, &format!("OVER {}", l.id()), "XTHREAD");
            assert_eq!(l.f[0], over[0][0], "number of {} in {g}", l.id());
        }
    }
    assert!(c.expect(&format!("STAT {n}"), 223).starts_with("223 "));
    let current = thread_lines(&mut c, "");
    assert_eq!(current.iter().map(|l| l.id()).collect::<Vec<_>>(), by_num.iter().map(|l| l.id()).collect::<Vec<_>>());
    c.expect("XTHREAD 999999", 423);
}
