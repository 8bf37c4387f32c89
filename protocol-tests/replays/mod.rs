//! Every newsreader and puller of docs/nntp-notes.md §3, one test each: the client's own
//! command sequence (casing, spacing and pipelining included) replayed over a socket against
//! the sample archive, asserting what that client parses. Expected values come from the
//! server's other answers or from the sample mbox, never from hard-coded counts.
//!
//! - `readers`: Thunderbird, slrn, tin, Gnus.
//! - `libraries`: Python's nntplib and Perl's Net::NNTP, as their code sends.
//! - `pullers`: leafnode's fetchnews, suck, INN's pullnews, and deep pipelining.
//! - `xthread`: the XTHREAD extension over the whole sample.

mod libraries;
mod pullers;
mod readers;
mod xthread;

use crate::kit::*;

/// The TAB fields of an overview line, checked the way clients parse them: Thunderbird and
/// leafnode drop lines with fewer than 8 fields, Gnus wants `^[0-9]+\t`.
pub(crate) fn overview_fields(line: &[u8], who: &str) -> Vec<String> {
    let f: Vec<String> = text(line).split('\t').map(str::to_string).collect();
    assert!(f.len() >= 8, "{who}: overview line with fewer than 8 fields: {:?}", text(line));
    assert!(
        !f[0].is_empty() && f[0].bytes().all(|b| b.is_ascii_digit()),
        "{who}: overview line not matching ^[0-9]+\\t: {:?}",
        text(line)
    );
    f
}

/// `XOVER range` (or another verb) answered 224, as fields.
pub(crate) fn overview(c: &mut Client, command: &str, who: &str) -> Vec<Vec<String>> {
    let (_, lines) = c.expect_block(command, 224);
    lines.iter().map(|l| overview_fields(l, who)).collect()
}

pub(crate) fn num(f: &[String]) -> u64 {
    f[0].parse().unwrap()
}

/// The `Xref:` extra field of an overview line, without its name.
pub(crate) fn over_xref(f: &[String]) -> String {
    let x = f[8..].iter().find(|x| x.starts_with("Xref: ")).unwrap_or_else(|| panic!("no Xref field in {f:?}"));
    x["Xref: ".len()..].to_string()
}

/// `HOST g:n g:n` -> the (group, number) pairs; the host must be ours.
pub(crate) fn xref_pairs(value: &str) -> Vec<(String, u64)> {
    let mut words = value.split_whitespace();
    assert_eq!(words.next(), Some(HOST), "Xref host: {value:?}");
    words
        .map(|w| {
            let (g, n) = w.rsplit_once(':').unwrap_or_else(|| panic!("Xref entry {w:?}"));
            (g.to_string(), n.parse().unwrap_or_else(|_| panic!("Xref entry {w:?}")))
        })
        .collect()
}

/// Header lines of an article (up to the blank line).
pub(crate) fn head_of(article: &[Vec<u8>]) -> Vec<String> {
    let blank = article.iter().position(|l| l.is_empty()).expect("blank line after the headers");
    article[..blank].iter().map(|l| text(l)).collect()
}

/// Every occurrence of header `name` as (value unfolded, number of lines it took).
fn header_fields(head: &[String], name: &str) -> Vec<(String, usize)> {
    let mut out: Vec<(String, usize)> = Vec::new();
    let mut current: Option<usize> = None;
    for line in head {
        if line.starts_with([' ', '\t']) {
            if let Some(i) = current {
                out[i].0.push_str(line);
                out[i].1 += 1;
            }
            continue;
        }
        current = None;
        if let Some((n, v)) = line.split_once(':')
            && n.eq_ignore_ascii_case(name)
        {
            out.push((v.trim_start().to_string(), 1));
            current = Some(out.len() - 1);
        }
    }
    out
}

fn one_header(head: &[String], name: &str) -> String {
    let all = header_fields(head, name);
    assert_eq!(all.len(), 1, "exactly one {name} header in {head:#?}");
    all[0].0.trim().to_string()
}

/// `n value` lines (XHDR/XPAT/HDR) -> (n, value).
pub(crate) fn numbered(lines: &[String]) -> Vec<(u64, String)> {
    lines
        .iter()
        .map(|l| {
            let (n, v) = l.split_once(' ').unwrap_or((l.as_str(), ""));
            (n.parse().unwrap_or_else(|_| panic!("not `n value`: {l:?}")), v.to_string())
        })
        .collect()
}

pub(crate) fn server_date(c: &mut Client) -> chrono::NaiveDateTime {
    let s = c.expect("DATE", 111);
    assert!(code(&s) == 111 && s.len() == 18, "DATE: {s}");
    chrono::NaiveDateTime::parse_from_str(&s[4..], "%Y%m%d%H%M%S").unwrap_or_else(|e| panic!("DATE {s}: {e}"))
}

/// Thunderbird's case-insensitive search pattern for a term: `foo` -> `*[Ff][Oo][Oo]*`.
fn case_classes(term: &str) -> String {
    let mut p = String::from("*");
    for ch in term.chars() {
        if ch.is_ascii_alphabetic() {
            p.push('[');
            p.push(ch.to_ascii_uppercase());
            p.push(ch.to_ascii_lowercase());
            p.push(']');
        } else {
            p.push(ch);
        }
    }
    p.push('*');
    p
}

/// A word of at least 5 letters found in some but at most half of `values`.
fn discriminating_word(values: &[String]) -> String {
    let lower: Vec<String> = values.iter().map(|v| v.to_ascii_lowercase()).collect();
    for v in &lower {
        for w in v.split(|c: char| !c.is_ascii_alphabetic()) {
            let hits = lower.iter().filter(|x| x.contains(w)).count();
            if w.len() >= 5 && hits >= 2 && hits <= values.len() / 2 {
                return w.to_string();
            }
        }
    }
    panic!("no discriminating word in {values:?}")
}

fn has_wildmat_special(s: &str) -> bool {
    s.contains(['*', '?', '[', ']', '\\'])
}

/// The ids a message's own headers place above it: References, else In-Reply-To's first id.
fn ancestors(raw: &[u8], own: &str) -> Vec<String> {
    let refs = header(raw, "References").map(|v| msg_ids(&v)).unwrap_or_default();
    let anc = if refs.is_empty() {
        header(raw, "In-Reply-To").map(|v| msg_ids(&v)).unwrap_or_default().into_iter().take(1).collect()
    } else {
        refs
    };
    anc.into_iter().filter(|a| a != own).collect()
}
