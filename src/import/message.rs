//! One raw mail message -> what the store keeps: wire bytes (CRLF, dot-stuffed), the values
//! for its overview line, its message-id, thread ancestors, routing keys and a content hash.
//!
//! Headers are parsed once: mail-parser for the structured ones (addresses, ids, dates), and
//! one scan of our own for raw values (OVER serves them as sent, encoded words intact).

use mail_parser::{HeaderName, HeaderValue, MessageParser};
use sha2::{Digest, Sha256};

use crate::protocol::article::{self, OverviewSource, SERVER_HEADERS, to_crlf};
use crate::protocol::command::is_message_id;

/// Why a message could not be stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unreadable {
    #[error("empty message")]
    Empty,
    #[error("no header block: the first line is not a header field")]
    NoHeaders,
    #[error("message larger than {0} bytes")]
    TooLarge(usize),
}

/// Messages above this size are set aside rather than stored.
pub const MAX_MESSAGE: usize = 64 << 20;

/// A message normalised for the store.
#[derive(Debug, Clone)]
pub struct Message {
    /// `<...>`: the header's own id, or one generated from the content when it has none usable.
    pub message_id: String,
    /// Present when `message_id` had to be generated or changed; the id the message carried.
    pub original_id: Option<String>,
    pub content_hash: [u8; 16],
    /// Unstuffed CRLF form: header lines, blank line, body ending in CRLF.
    norm: Vec<u8>,
    head_len: usize,
    pub subject: Vec<u8>,
    pub from: Vec<u8>,
    pub date: Vec<u8>,
    /// The References value for the overview (built from In-Reply-To when absent).
    pub references: Vec<u8>,
    /// Referenced ids, oldest first (the last is the parent).
    pub ancestors: Vec<String>,
    /// `List-Id` values (the part inside `<>`), lowercased.
    pub list_ids: Vec<String>,
    /// To and Cc addresses, lowercased.
    pub recipients: Vec<String>,
}

struct RawHeader {
    name: (usize, usize),
    value: (usize, usize),
}

/// mail-parser set to parse only the headers read here (ids and recipients) and skip the
/// rest: parsing every Received: line was a tenth of the import's parsing time (profiled).
static HEADER_PARSER: std::sync::LazyLock<MessageParser> = std::sync::LazyLock::new(|| {
    MessageParser::new()
        .header_id(HeaderName::MessageId)
        .header_id(HeaderName::References)
        .header_id(HeaderName::InReplyTo)
        .header_address(HeaderName::To)
        .header_address(HeaderName::Cc)
        .default_header_ignore()
});

impl Message {
    /// Parses and normalises `raw` (LF or CRLF line ends, an mbox `From ` line allowed).
    pub fn parse(raw: &[u8]) -> Result<Message, Unreadable> {
        if raw.len() > MAX_MESSAGE {
            return Err(Unreadable::TooLarge(MAX_MESSAGE));
        }
        let raw = strip_from_line(raw);
        if raw.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(Unreadable::Empty);
        }
        let mut norm = to_crlf(raw);
        let (head_len, body_start) = split_head(&norm);
        if head_len == 0 || !is_header_line(&norm[..head_len]) {
            return Err(Unreadable::NoHeaders);
        }
        if body_start > norm.len() {
            // No blank line: the whole message is headers; add the separator.
            norm.extend_from_slice(b"\r\n");
        }
        let mut msg = Message {
            message_id: String::new(),
            original_id: None,
            content_hash: [0; 16],
            norm,
            head_len,
            subject: Vec::new(),
            from: Vec::new(),
            date: Vec::new(),
            references: Vec::new(),
            ancestors: Vec::new(),
            list_ids: Vec::new(),
            recipients: Vec::new(),
        };
        msg.read_headers();
        Ok(msg)
    }

    fn head(&self) -> &[u8] {
        &self.norm[..self.head_len]
    }

    pub fn body(&self) -> &[u8] {
        &self.norm[self.head_len + 2..]
    }

    fn read_headers(&mut self) {
        let headers = scan_headers(self.head());
        let value = |name: &str| -> Option<&[u8]> {
            headers
                .iter()
                .find(|h| self.norm[h.name.0..h.name.1].eq_ignore_ascii_case(name.as_bytes()))
                .map(|h| &self.norm[h.value.0..h.value.1])
        };
        self.subject = value("Subject").map(|v| article::trim(v).to_vec()).unwrap_or_default();
        self.from = value("From").map(|v| article::trim(v).to_vec()).unwrap_or_default();
        self.date = value("Date").map(|v| article::trim(v).to_vec()).unwrap_or_default();
        self.list_ids = headers
            .iter()
            .filter(|h| self.norm[h.name.0..h.name.1].eq_ignore_ascii_case(b"List-Id"))
            .filter_map(|h| list_id(&self.norm[h.value.0..h.value.1]))
            .collect();

        let mut hash = Sha256::new();
        for name in ["From", "Subject", "Date", "To", "Cc", "References", "In-Reply-To"] {
            hash.update(value(name).map(article::trim).unwrap_or_default());
            hash.update([0]);
        }
        hash.update(self.body());
        self.content_hash = hash.finalize()[..16].try_into().unwrap_or_default();

        let parsed = HEADER_PARSER.parse_headers(&self.norm[..self.head_len]);
        let mut recipients = Vec::new();
        let mut header_id = None;
        let mut references = Vec::new();
        let mut in_reply_to = Vec::new();
        if let Some(parsed) = &parsed {
            for h in parsed.headers() {
                match h.name {
                    // The first Message-ID wins (mail-parser's getter would give the last).
                    HeaderName::MessageId if header_id.is_none() => header_id = message_id(&h.value),
                    // Several References (or In-Reply-To) headers happen: their ids are merged,
                    // in order, each once.
                    HeaderName::References => merge_ids(&mut references, ids(&h.value)),
                    HeaderName::InReplyTo => merge_ids(&mut in_reply_to, ids(&h.value)),
                    HeaderName::To | HeaderName::Cc => {
                        if let HeaderValue::Address(addr) = &h.value {
                            recipients
                                .extend(addr.iter().filter_map(|a| a.address()).map(|a| a.trim().to_ascii_lowercase()));
                        }
                    }
                    _ => {}
                }
            }
        }
        drop(parsed);
        self.recipients = recipients;
        let references_headers =
            headers.iter().filter(|h| self.norm[h.name.0..h.name.1].eq_ignore_ascii_case(b"References")).count();
        self.references = match value("References") {
            // One header: its value as sent (the overview unfolds it).
            Some(v) if references_headers == 1 => article::trim(v).to_vec(),
            // Several: their ids merged.
            Some(_) => references.join(" ").into_bytes(),
            // Newsreaders thread on References only; In-Reply-To carries the parent for mail.
            None => in_reply_to.join(" ").into_bytes(),
        };
        self.ancestors = if references.is_empty() { in_reply_to.into_iter().take(1).collect() } else { references };

        match header_id {
            Some(id) if is_message_id(&id) => self.message_id = id,
            other => {
                // No usable id: derive one from the content, so a re-import finds it again.
                self.original_id = other;
                let id = format!("<{}@listnews.invalid>", hex(&self.content_hash));
                self.set_message_id(&id);
            }
        }
    }

    /// Gives the message a new id (a missing one, or a reused id with other content): the
    /// header is replaced and the old value kept as `X-Listnews-Original-Message-ID`.
    pub fn set_message_id(&mut self, id: &str) {
        let headers = scan_headers(self.head());
        let mut head = Vec::with_capacity(self.head_len + 100);
        head.extend_from_slice(format!("Message-ID: {id}\r\n").as_bytes());
        let mut pos = 0;
        for h in &headers {
            let name = &self.norm[h.name.0..h.name.1];
            if name.eq_ignore_ascii_case(b"Message-ID") {
                head.extend_from_slice(&self.norm[pos..h.name.0]);
                head.extend_from_slice(b"X-Listnews-Original-Message-ID");
                pos = h.name.1;
            }
        }
        head.extend_from_slice(&self.norm[pos..self.head_len]);
        self.replace_head(head);
        if self.original_id.is_none() && !self.message_id.is_empty() {
            self.original_id = Some(std::mem::take(&mut self.message_id));
        }
        self.message_id = id.to_string();
    }

    fn replace_head(&mut self, head: Vec<u8>) {
        let mut norm = head;
        let new_len = norm.len();
        norm.extend_from_slice(&self.norm[self.head_len..]);
        self.norm = norm;
        self.head_len = new_len;
    }

    /// Renames incoming Path/Newsgroups/Xref to `X-Original-*`: the server writes its own.
    fn rename_server_headers(&mut self) {
        let headers = scan_headers(self.head());
        let hits: Vec<&RawHeader> = headers
            .iter()
            .filter(|h| SERVER_HEADERS.iter().any(|s| self.norm[h.name.0..h.name.1].eq_ignore_ascii_case(s.as_bytes())))
            .collect();
        if hits.is_empty() {
            return;
        }
        let mut head = Vec::with_capacity(self.head_len + 40);
        let mut pos = 0;
        for h in hits {
            head.extend_from_slice(&self.norm[pos..h.name.0]);
            head.extend_from_slice(b"X-Original-");
            pos = h.name.0;
        }
        head.extend_from_slice(&self.norm[pos..self.head_len]);
        self.replace_head(head);
    }

    /// A folded Message-ID header (`Message-Id:` with the id on a continuation line, as
    /// patchwork and Outlook write it) made one line: netnews wants it so (RFC 5536 §3.1.3)
    /// and pullers read the id from that line. Only whitespace goes: DKIM's relaxed
    /// canonicalisation of the header is unchanged.
    fn unfold_message_id(&mut self) {
        let headers = scan_headers(self.head());
        let Some(h) = headers.iter().find(|h| self.norm[h.name.0..h.name.1].eq_ignore_ascii_case(b"Message-ID")) else {
            return;
        };
        let value = &self.norm[h.value.0..h.value.1];
        if !value.contains(&b'\n') {
            return;
        }
        let words: Vec<&[u8]> = value.split(|b| b" \t\r\n".contains(b)).filter(|w| !w.is_empty()).collect();
        let mut head = Vec::with_capacity(self.head_len);
        head.extend_from_slice(&self.norm[..h.value.0]);
        head.push(b' ');
        head.extend_from_slice(&words.join(&b' '));
        head.extend_from_slice(&self.norm[h.value.1..self.head_len]);
        self.replace_head(head);
    }

    /// The wire form the store keeps, its header length, and `:bytes` / `:lines`.
    pub fn wire(mut self) -> Wire {
        self.unfold_message_id();
        self.rename_server_headers();
        // What the server shows of the head (`article::display_head`): `:bytes` counts it, and
        // the overview carries its Subject and From.
        let display = article::display_head(&self.norm[..self.head_len]);
        let shown = |name: &str, stored: &[u8]| -> Vec<u8> {
            match display.as_deref().and_then(|h| article::header_value(h, name)) {
                Some(v) => article::trim(v).to_vec(),
                None => stored.to_vec(),
            }
        };
        let (subject, from) = (shown("Subject", &self.subject), shown("From", &self.from));
        let bytes = (self.norm.len() - self.head_len + display.as_ref().map_or(self.head_len, Vec::len)) as u64;
        let lines = memchr::memchr_iter(b'\n', self.body()).count() as u64;
        let (wire, header_len) = article::wire_form(&self.norm, self.head_len);
        let overview = article::overview_fields(&OverviewSource {
            subject: &subject,
            from: &from,
            date: &self.date,
            message_id: &self.message_id,
            references: &self.references,
            bytes,
            lines,
        });
        Wire {
            message_id: self.message_id,
            content_hash: self.content_hash,
            wire,
            header_len,
            overview,
            ancestors: self.ancestors,
        }
    }
}

/// What the store receives for one message.
pub struct Wire {
    pub message_id: String,
    pub content_hash: [u8; 16],
    pub wire: Vec<u8>,
    pub header_len: usize,
    pub overview: Vec<u8>,
    pub ancestors: Vec<String>,
}

/// Drops the Path, Newsgroups and Xref header fields a news server adds on output, so an
/// article pulled from another server is stored as the mail it was.
pub fn strip_news_headers(raw: &[u8]) -> Vec<u8> {
    let (head_len, _) = split_head(raw);
    let head_len =
        if head_len == 0 { memchr::memmem::find(raw, b"\n\n").map_or(raw.len(), |i| i + 1) } else { head_len };
    let mut out = Vec::with_capacity(raw.len());
    let mut skipping = false;
    for line in split_lines(&raw[..head_len.min(raw.len())]) {
        if matches!(line.first(), Some(b' ' | b'\t')) {
            if !skipping {
                out.extend_from_slice(line);
            }
            continue;
        }
        let name = line.split(|&b| b == b':').next().unwrap_or(&[]);
        skipping = SERVER_HEADERS.iter().any(|h| name.eq_ignore_ascii_case(h.as_bytes()));
        if !skipping {
            out.extend_from_slice(line);
        }
    }
    out.extend_from_slice(&raw[head_len.min(raw.len())..]);
    out
}

/// Lines including their CRLF.
fn split_lines(buf: &[u8]) -> impl Iterator<Item = &[u8]> {
    buf.split_inclusive(|&b| b == b'\n')
}

fn strip_from_line(raw: &[u8]) -> &[u8] {
    if raw.starts_with(b"From ") {
        match memchr::memchr(b'\n', raw) {
            Some(i) => &raw[i + 1..],
            None => &[],
        }
    } else {
        raw
    }
}

/// Returns (length of the header lines, start of the body). Without a blank line the body
/// starts past the end (the caller adds the separator).
fn split_head(norm: &[u8]) -> (usize, usize) {
    if norm.starts_with(b"\r\n") {
        return (0, 2);
    }
    match memchr::memmem::find(norm, b"\r\n\r\n") {
        Some(i) => (i + 2, i + 4),
        None => (norm.len(), norm.len() + 2),
    }
}

/// Does the head start with `name:` (RFC 5322 §2.2: printable ASCII name, no space)?
fn is_header_line(head: &[u8]) -> bool {
    match memchr::memchr(b':', head) {
        Some(0) | None => false,
        Some(i) => head[..i].iter().all(|&b| (0x21..=0x7e).contains(&b)),
    }
}

/// One pass over the header lines: name and (folded, untrimmed) value ranges.
fn scan_headers(head: &[u8]) -> Vec<RawHeader> {
    let mut out: Vec<RawHeader> = Vec::with_capacity(32);
    let mut pos = 0;
    for line in split_lines(head) {
        let start = pos;
        pos += line.len();
        let content_end = pos - if line.ends_with(b"\r\n") { 2 } else { 0 };
        if matches!(line.first(), Some(b' ' | b'\t')) {
            if let Some(last) = out.last_mut() {
                last.value.1 = content_end;
            }
            continue;
        }
        if let Some(colon) = memchr::memchr(b':', line) {
            out.push(RawHeader { name: (start, start + colon), value: (start + colon + 1, content_end) });
        }
    }
    out
}

fn list_id(value: &[u8]) -> Option<String> {
    let value = std::str::from_utf8(value).ok()?;
    let inner = match (value.rfind('<'), value.rfind('>')) {
        (Some(a), Some(b)) if a < b => &value[a + 1..b],
        _ => value.trim(),
    };
    let inner = inner.trim();
    (!inner.is_empty()).then(|| inner.to_ascii_lowercase())
}

/// The id of a parsed Message-ID value, bracketed, as sent (checked by the caller).
fn message_id(value: &HeaderValue<'_>) -> Option<String> {
    match value {
        HeaderValue::Text(t) => Some(t.trim()),
        HeaderValue::TextList(list) => list.first().map(|t| t.trim()),
        _ => None,
    }
    .filter(|t| !t.is_empty())
    .map(|t| format!("<{t}>"))
}

/// Adds the ids of `more` not in `ids` yet, in order.
fn merge_ids(ids: &mut Vec<String>, more: Vec<String>) {
    for id in more {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
}

/// Ids from a parsed References/In-Reply-To value, with angle brackets.
fn ids(value: &HeaderValue<'_>) -> Vec<String> {
    // A bare id is taken as if bracketed; words run together (`a@b c@d`) are separate ids;
    // anything that is still not a message-id is left out.
    let wrap = |s: &str| -> Vec<String> {
        s.split_whitespace().map(|w| format!("<{w}>")).filter(|id| is_message_id(id)).collect()
    };
    match value {
        HeaderValue::Text(t) => wrap(t),
        HeaderValue::TextList(list) => list.iter().flat_map(|t| wrap(t)).collect(),
        _ => Vec::new(),
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAIL: &[u8] = b"From someone Mon Jan  1 00:00:00 2024\nFrom: A <a@example.org>\nTo: list@vger.kernel.org\nCc: Other <B@Example.org>\nSubject: [PATCH] fix\n  the thing\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <m1@example.org>\nIn-Reply-To: <p@example.org> (A's message)\nList-Id: <selinux.vger.kernel.org>\n\nbody\n.dot line\n";

    #[test]
    fn normalises_to_wire_form() {
        let m = Message::parse(MAIL).unwrap();
        assert_eq!(m.message_id, "<m1@example.org>");
        assert_eq!(m.subject, b"[PATCH] fix\r\n  the thing");
        assert_eq!(m.references, b"<p@example.org>", "References built from In-Reply-To");
        assert_eq!(m.ancestors, vec!["<p@example.org>".to_string()]);
        assert_eq!(m.list_ids, vec!["selinux.vger.kernel.org".to_string()]);
        assert_eq!(m.recipients, vec!["list@vger.kernel.org".to_string(), "b@example.org".to_string()]);
        let w = m.wire();
        assert!(w.wire.starts_with(b"From: A <a@example.org>\r\n"));
        assert!(w.wire.ends_with(b"\r\n\r\nbody\r\n..dot line\r\n"));
        assert_eq!(&w.wire[w.header_len..w.header_len + 2], b"\r\n");
        let fields: Vec<&[u8]> = w.overview.split(|&b| b == b'\t').collect();
        assert_eq!(fields[0], b"[PATCH] fix  the thing");
        assert_eq!(fields[3], b"<m1@example.org>");
        // :bytes counts CRLF ends and no dot-stuffing; :lines counts body lines.
        let unstuffed = w.wire.len() - 1;
        assert_eq!(fields[5], unstuffed.to_string().as_bytes());
        assert_eq!(fields[6], b"2");
    }

    #[test]
    fn a_folded_message_id_is_served_on_one_line() {
        let w = Message::parse(b"From: a@b\nMessage-Id: \n <folded@x>\nSubject: s\n\nbody\n").unwrap().wire();
        assert_eq!(w.message_id, "<folded@x>");
        assert_eq!(w.wire, b"From: a@b\r\nMessage-Id: <folded@x>\r\nSubject: s\r\n\r\nbody\r\n");
        assert_eq!(w.header_len, w.wire.len() - 8);
    }

    #[test]
    fn bare_and_run_together_ids_are_read() {
        let m = Message::parse(b"Message-ID: <c@x>\nIn-Reply-To: 2019.abc@host\n\nx\n").unwrap();
        assert_eq!(m.ancestors, ["<2019.abc@host>"]);
        let m = Message::parse(b"Message-ID: <c@x>\nReferences: <a@x> (comment) <b@x>\n\nx\n").unwrap();
        assert_eq!(m.ancestors, ["<a@x>", "<b@x>"]);
    }

    #[test]
    fn several_references_headers_are_merged() {
        let m = Message::parse(
            b"Message-ID: <c@x>\nReferences: <a@x>\n <b@x>\nIn-Reply-To: <b@x>\nReferences: <b@x> <p@x>\n\nx\n",
        )
        .unwrap();
        assert_eq!(m.ancestors, ["<a@x>", "<b@x>", "<p@x>"]);
        assert_eq!(m.references, b"<a@x> <b@x> <p@x>");
        let w = m.wire();
        let text = String::from_utf8_lossy(&w.wire);
        assert_eq!(text.matches("References:").count(), 2, "the article keeps its headers");
    }

    #[test]
    fn missing_message_id_is_generated_from_content() {
        let raw = b"From: a@b\nSubject: x\n\nhello\n";
        let a = Message::parse(raw).unwrap();
        let b = Message::parse(raw).unwrap();
        assert_eq!(a.message_id, b.message_id);
        assert!(a.message_id.ends_with("@listnews.invalid>"));
        let w = a.wire();
        assert!(w.wire.starts_with(format!("Message-ID: {}\r\n", w.message_id).as_bytes()));
    }

    #[test]
    fn invalid_message_id_is_replaced_and_kept() {
        let m = Message::parse(b"Message-ID: <has space@x>\nFrom: a@b\n\nx\n").unwrap();
        assert!(m.message_id.ends_with("@listnews.invalid>"));
        let w = m.wire();
        let text = String::from_utf8_lossy(&w.wire);
        assert!(text.contains("X-Listnews-Original-Message-ID: <has space@x>\r\n"), "{text}");
    }

    #[test]
    fn unreadable_messages_are_refused_with_a_reason() {
        assert_eq!(Message::parse(b"").unwrap_err(), Unreadable::Empty);
        assert_eq!(Message::parse(b"\n\n").unwrap_err(), Unreadable::Empty);
        assert_eq!(Message::parse(b"just some text\nmore\n").unwrap_err(), Unreadable::NoHeaders);
        assert_eq!(Message::parse(b"\nbody only\n").unwrap_err(), Unreadable::NoHeaders);
    }

    #[test]
    fn headers_only_message_gets_a_separator() {
        let w = Message::parse(b"From: a@b\nMessage-ID: <h@x>").unwrap().wire();
        assert_eq!(w.wire, b"From: a@b\r\nMessage-ID: <h@x>\r\n\r\n");
        assert_eq!(w.header_len, w.wire.len() - 2);
    }

    #[test]
    fn server_headers_are_renamed_and_bare_cr_nul_fixed() {
        let w = Message::parse(b"Xref: other g:1\nPath: a!b\nMessage-ID: <x@y>\n\na\rb\0c\n").unwrap().wire();
        let text = String::from_utf8_lossy(&w.wire);
        assert!(text.starts_with("X-Original-Xref: other g:1\r\nX-Original-Path: a!b\r\n"), "{text}");
        assert!(text.ends_with("\r\n\r\na\r\nb c\r\n"), "{text}");
    }

    #[test]
    fn news_headers_are_stripped_from_pulled_articles() {
        let raw = b"Path: a!not-for-mail\r\nNewsgroups: g\r\nXref: h g:1\r\n  g2:4\r\nFrom: x\r\nSubject: Xref: kept\r\n\r\nXref: body\r\n";
        assert_eq!(strip_news_headers(raw), b"From: x\r\nSubject: Xref: kept\r\n\r\nXref: body\r\n");
    }

    #[test]
    fn content_hash_ignores_trace_headers() {
        let a = Message::parse(b"Received: one\nMessage-ID: <x@y>\nSubject: s\n\nbody\n").unwrap();
        let b = Message::parse(b"Received: two\nMessage-ID: <x@y>\nSubject: s\n\nbody\n").unwrap();
        let c = Message::parse(b"Received: two\nMessage-ID: <x@y>\nSubject: s\n\nother body\n").unwrap();
        assert_eq!(a.content_hash, b.content_hash);
        assert_ne!(a.content_hash, c.content_hash);
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn stored_messages_obey_the_wire_rules(raw in proptest::collection::vec(any::<u8>(), 0..2000)) {
                if let Ok(msg) = Message::parse(&raw) {
                    let w = msg.wire();
                    prop_assert!(w.wire.ends_with(b"\r\n"));
                    prop_assert_eq!(&w.wire[w.header_len..w.header_len + 2], b"\r\n");
                    for (i, &b) in w.wire.iter().enumerate() {
                        prop_assert!(b != 0);
                        if b == b'\n' { prop_assert!(i > 0 && w.wire[i - 1] == b'\r'); }
                        if b == b'\r' { prop_assert_eq!(w.wire.get(i + 1), Some(&b'\n')); }
                    }
                    prop_assert!(!w.wire.windows(5).any(|x| x == b"\r\n.\r\n"), "a lone dot line is stuffed");
                    prop_assert_eq!(w.overview.split(|&b| b == b'\t').count(), 7);
                    prop_assert!(crate::protocol::command::is_message_id(&w.message_id));
                }
            }

            #[test]
            fn header_shaped_input_is_always_stored(
                name in "[A-Za-z][A-Za-z-]{0,15}", value in "[ -~]{0,60}", body in "\\PC{0,300}"
            ) {
                let raw = format!("{name}: {value}\nSubject: x\n\n{body}");
                prop_assert!(Message::parse(raw.as_bytes()).is_ok());
            }
        }
    }
}
