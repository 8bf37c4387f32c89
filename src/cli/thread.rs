//! `listnews thread`: a thread drawn as a tree on a terminal, from the XTHREAD answer.
//!
//! With the store free, XTHREAD runs in this process through the same command code the
//! server uses; while a server holds the store, it is asked over NNTP instead. Either way the
//! answer is read by the one NNTP client reader (`protocol::client`).

use std::net::TcpStream;
use std::time::Duration;

use crate::config::Config;
use crate::protocol::client::{self, Client};
use crate::server::commands::{Context, Flow, State, execute_line};
use crate::store::{Store, StoreError};

/// The XTHREAD lines for `id` (without the status line and terminator).
pub fn fetch(config: &Config, id: &str) -> anyhow::Result<Vec<Vec<u8>>> {
    let command = format!("XTHREAD {id}");
    match Store::open(&config.server.data_dir) {
        Ok(store) => {
            let ctx = Context::new(store, config);
            let mut answer = Vec::new();
            if let Flow::More(_) = execute_line(&ctx, &mut State::default(), command.as_bytes(), &mut answer) {
                anyhow::bail!("unexpected chunked XTHREAD answer");
            }
            // The answer, read back as a client reads it.
            let mut reader = &answer[..];
            let status = client::read_status(&mut reader)?;
            if status.code != 224 {
                anyhow::bail!("{status}");
            }
            Ok(client::lines(&client::read_block(&mut reader, client::MAX_ANSWER)?).map(<[u8]>::to_vec).collect())
        }
        Err(StoreError::InUse { .. }) => {
            // A server holds the store: ask it over NNTP.
            let addr = config.server.listen.first().ok_or_else(|| anyhow::anyhow!("no listen address to ask"))?;
            let stream = TcpStream::connect_timeout(addr, Duration::from_secs(5))?;
            stream.set_read_timeout(Some(Duration::from_secs(60)))?;
            let mut server = Client::new(stream)?;
            let (_, block) = server.expect_block(&command, 224).map_err(|e| match e {
                client::ClientError::Unexpected { status, .. } => anyhow::anyhow!("{status}"),
                other => other.into(),
            })?;
            let _ = server.send(b"QUIT\r\n");
            Ok(client::lines(&block).map(<[u8]>::to_vec).collect())
        }
        Err(e) => Err(e.into()),
    }
}

/// Decodes RFC 2047 encoded words for display.
fn decode(value: &str) -> String {
    crate::protocol::article::decoded(value.as_bytes()).unwrap_or_else(|| value.to_string())
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
