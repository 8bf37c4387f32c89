//! `listnews thread`: a thread drawn as a tree on a terminal, from the XTHREAD answer.
//!
//! With the store free, XTHREAD runs in this process through the same command code the
//! server uses; while a server holds the store, it is asked over NNTP instead.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

use mail_parser::MessageParser;

use super::commands::{self, Context, Flow, State};
use crate::config::Config;
use crate::store::{Store, StoreError};

/// The XTHREAD lines for `id` (without the status line and terminator).
pub fn fetch(config: &Config, id: &str) -> anyhow::Result<Vec<Vec<u8>>> {
    match Store::open(&config.server.data_dir) {
        Ok(store) => {
            let ctx = Context::new(store, config);
            let mut out = Vec::new();
            let mut state = State::default();
            if let Flow::More(_) = commands::execute(&ctx, &mut state, format!("XTHREAD {id}").as_bytes(), &mut out) {
                anyhow::bail!("unexpected chunked XTHREAD answer");
            }
            parse_answer(&out)
        }
        Err(StoreError::InUse { .. }) => ask_server(config, id),
        Err(e) => Err(e.into()),
    }
}

fn ask_server(config: &Config, id: &str) -> anyhow::Result<Vec<Vec<u8>>> {
    let addr = config.server.listen.first().ok_or_else(|| anyhow::anyhow!("no listen address to ask"))?;
    let stream = TcpStream::connect_timeout(addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    reader.read_until(b'\n', &mut line)?;
    writer.write_all(format!("XTHREAD {id}\r\n").as_bytes())?;
    let mut answer = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            anyhow::bail!("the server closed the connection");
        }
        answer.extend_from_slice(&line);
        if line == b".\r\n" || (answer.len() == line.len() && !line.starts_with(b"224")) {
            break;
        }
    }
    let _ = writer.write_all(b"QUIT\r\n");
    parse_answer(&answer)
}

fn parse_answer(answer: &[u8]) -> anyhow::Result<Vec<Vec<u8>>> {
    let mut lines = answer.split(|&b| b == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let status = lines.next().unwrap_or_default();
    if !status.starts_with(b"224") {
        anyhow::bail!("{}", String::from_utf8_lossy(status));
    }
    Ok(lines
        .take_while(|l| *l != b".")
        .map(|l| l.strip_prefix(b".").filter(|_| l.starts_with(b"..")).unwrap_or(l).to_vec())
        .collect())
}

/// Decodes RFC 2047 encoded words for display.
fn decode(value: &str) -> String {
    let header = format!("Subject: {value}\r\n\r\n");
    MessageParser::new()
        .parse_headers(header.as_bytes())
        .and_then(|m| m.subject().map(str::to_string))
        .unwrap_or_else(|| value.to_string())
}

/// Draws XTHREAD lines as a tree.
pub fn render(lines: &[Vec<u8>]) -> String {
    struct Row {
        depth: usize,
        text: String,
    }
    let mut rows = Vec::new();
    for line in lines {
        let line = String::from_utf8_lossy(line);
        let f: Vec<&str> = line.split('\t').collect();
        let field = |prefix: &str| f.iter().find_map(|x| x.strip_prefix(prefix)).unwrap_or("").trim().to_string();
        let depth = field("Depth:").parse().unwrap_or(0);
        let xref = field("Xref:");
        let text = if xref.is_empty() {
            format!("{} (not in the archive)", f.get(4).unwrap_or(&""))
        } else {
            let place = xref.split(' ').skip(1).collect::<Vec<_>>().join(" ");
            format!(
                "{}  — {}, {}  [{}]",
                decode(f.get(1).unwrap_or(&"")),
                decode(f.get(2).unwrap_or(&"")),
                f.get(3).unwrap_or(&""),
                place
            )
        };
        rows.push(Row { depth, text });
    }
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        if row.depth == 0 {
            out.push_str(&row.text);
            out.push('\n');
            continue;
        }
        // For each ancestor level, a bar if a later sibling at that level is still to come.
        let mut prefix = String::new();
        for level in 1..row.depth {
            let more = rows[i + 1..].iter().take_while(|r| r.depth >= level).any(|r| r.depth == level);
            prefix.push_str(if more { "│  " } else { "   " });
        }
        let last = !rows[i + 1..].iter().take_while(|r| r.depth >= row.depth).any(|r| r.depth == row.depth);
        prefix.push_str(if last { "└─ " } else { "├─ " });
        out.push_str(&prefix);
        out.push_str(&row.text);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_a_tree() {
        let lines: Vec<Vec<u8>> = [
            "0\t\t\t\t<root@x>\t\t0\t0\tXref:\tParent: \tDepth: 0",
            "1\tRe: a\tA <a@x>\tMon\t<a@x>\t<root@x>\t10\t1\tXref: h g:1\tParent: <root@x>\tDepth: 1",
            "2\tRe: b\tB <b@x>\tTue\t<b@x>\t<a@x>\t10\t1\tXref: h g:2\tParent: <a@x>\tDepth: 2",
            "3\t=?UTF-8?Q?caf=C3=A9?=\tC <c@x>\tWed\t<c@x>\t<root@x>\t10\t1\tXref: h g:3 h2:7\tParent: <root@x>\tDepth: 1",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
        let tree = render(&lines);
        assert_eq!(
            tree,
            "<root@x> (not in the archive)\n├─ Re: a  — A <a@x>, Mon  [g:1]\n│  └─ Re: b  — B <b@x>, Tue  [g:2]\n└─ café  — C <c@x>, Wed  [g:3 h2:7]\n"
        );
    }
}
