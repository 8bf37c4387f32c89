//! Article formatting, shared by the importer (which stores articles ready for the wire) and
//! the server (which adds what depends on the reader): CRLF and dot-stuffing, overview lines
//! (RFC 3977 §8.3), the headers a news server writes itself (Path, Newsgroups, Xref), header
//! lookup in a stored head, and XTHREAD's lines.

use std::io::Write;

use super::command::Retrieve;

/// Header names whose values are stored in the overview, in field order.
pub const OVERVIEW_FIELDS: [&str; 7] = ["Subject", "From", "Date", "Message-ID", "References", ":bytes", ":lines"];

/// Header fields a news server writes itself on output (RFC 5536 §3.1.4-5, §3.2.14).
pub const SERVER_HEADERS: [&str; 3] = ["Path", "Newsgroups", "Xref"];

/// LF and lone CR become CRLF; NUL becomes a space (RFC 3977 §3.1.1 forbids both in
/// multi-line blocks). Guarantees a final CRLF.
pub fn to_crlf(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 30 + 2);
    let mut i = 0;
    // Runs without CR, LF or NUL are copied whole (most of a message).
    while let Some(k) = memchr::memchr3(b'\r', b'\n', 0, &raw[i..]) {
        let at = i + k;
        out.extend_from_slice(&raw[i..at]);
        match raw[at] {
            b'\r' if raw.get(at + 1) == Some(&b'\n') => {
                out.extend_from_slice(b"\r\n");
                i = at + 2;
                continue;
            }
            0 => out.push(b' '),
            _ => out.extend_from_slice(b"\r\n"),
        }
        i = at + 1;
    }
    out.extend_from_slice(&raw[i..]);
    if !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// The stored form of a normalised (CRLF) article whose header lines are its first
/// `head_len` bytes: dot-stuffed, and the header length in the stuffed text.
pub fn wire_form(norm: &[u8], head_len: usize) -> (Vec<u8>, usize) {
    let (wire, dots) = super::block::stuff(norm, head_len);
    (wire, head_len + dots)
}

/// Appends a header value as one overview/HDR field (RFC 3977 §8.3.2): CRLF pairs removed
/// (unfolding), then TAB, CR, LF and NUL each made a space.
pub fn push_field(out: &mut Vec<u8>, value: &[u8]) {
    let mut i = 0;
    while i < value.len() {
        match value[i] {
            b'\r' if value.get(i + 1) == Some(&b'\n') => i += 2,
            // An LF-only fold unfolds the same way.
            b'\n' => i += 1,
            b'\t' | b'\r' | 0 => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
}

/// Strips surrounding white space (including folding) from a header value.
pub fn trim(v: &[u8]) -> &[u8] {
    let ws = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let start = v.iter().position(|b| !ws(b)).unwrap_or(v.len());
    let end = v.iter().rposition(|b| !ws(b)).map_or(start, |e| e + 1);
    &v[start..end]
}

/// The values an overview line is built from (raw header values, not decoded: RFC 2047
/// encoded words stay as sent, as INN serves them).
pub struct OverviewSource<'a> {
    pub subject: &'a [u8],
    pub from: &'a [u8],
    pub date: &'a [u8],
    pub message_id: &'a str,
    pub references: &'a [u8],
    /// Article size with CRLF line ends, before dot-stuffing (§8.1: `:bytes`).
    pub bytes: u64,
    /// Body lines (§8.1: `:lines`).
    pub lines: u64,
}

/// Builds the stored part of an overview line: the seven fields after the number.
pub fn overview_fields(src: &OverviewSource<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(src.subject.len() + src.from.len() + src.references.len() + 80);
    for value in [src.subject, src.from, src.date, src.message_id.as_bytes(), src.references] {
        push_field(&mut out, trim(value));
        out.push(b'\t');
    }
    let _ = write!(out, "{}\t{}", src.bytes, src.lines);
    out
}

/// Field `i` (0 = Subject … 6 = :lines) of stored overview fields.
pub fn overview_field(fields: &[u8], i: usize) -> &[u8] {
    fields.split(|&b| b == b'\t').nth(i).unwrap_or(&[])
}

/// Writes one served overview line: number, stored fields, `Xref:` extra field, CRLF.
/// Overview lines never begin with `.` (they start with a digit), so no dot-stuffing.
pub fn write_overview_line(out: &mut Vec<u8>, num: u64, fields: &[u8], host: &str, xref: &[u8]) {
    let _ = write!(out, "{num}\t");
    out.extend_from_slice(fields);
    out.extend_from_slice(b"\tXref: ");
    write_xref_value(out, host, xref);
    out.extend_from_slice(b"\r\n");
}

/// An Xref value: the host, then the stored `group:number` pairs.
pub fn write_xref_value(out: &mut Vec<u8>, host: &str, xref: &[u8]) {
    out.extend_from_slice(host.as_bytes());
    out.push(b' ');
    out.extend_from_slice(xref);
}

/// A Newsgroups value: the group names, comma-separated.
pub fn write_newsgroups_value<'a>(out: &mut Vec<u8>, names: impl IntoIterator<Item = &'a str>) {
    for (i, name) in names.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(name.as_bytes());
    }
}

/// A Path value: this server, then `not-for-mail` (RFC 5537 §3.2.1: the article entered news here).
pub fn write_path_value(out: &mut Vec<u8>, host: &str) {
    let _ = write!(out, "{host}!not-for-mail");
}

/// The header lines a news server adds on output, from the article's groups as this reader
/// may see them: `Path`, `Newsgroups` and `Xref`.
pub fn write_served_headers(out: &mut Vec<u8>, host: &str, groups: &[(String, u64)]) {
    out.extend_from_slice(b"Path: ");
    write_path_value(out, host);
    out.extend_from_slice(b"\r\nNewsgroups: ");
    write_newsgroups_value(out, groups.iter().map(|(name, _)| name.as_str()));
    let _ = write!(out, "\r\nXref: {host}");
    for (name, num) in groups {
        let _ = write!(out, " {name}:{num}");
    }
    out.extend_from_slice(b"\r\n");
}

/// The body of an ARTICLE, HEAD or BODY answer from a stored article (`head`: its header lines,
/// `body`: what follows the blank line, both stuffed), with the served headers for `groups`
/// (as this reader may see them) and the terminator. STAT has no body.
pub fn write_article_body(
    out: &mut Vec<u8>,
    part: Retrieve,
    host: &str,
    groups: &[(String, u64)],
    head: &[u8],
    body: &[u8],
) {
    if part == Retrieve::Stat {
        return;
    }
    out.reserve(head.len() + body.len() + 200);
    if matches!(part, Retrieve::Article | Retrieve::Head) {
        write_served_headers(out, host, groups);
        out.extend_from_slice(head);
    }
    if part == Retrieve::Article {
        out.extend_from_slice(b"\r\n");
    }
    if matches!(part, Retrieve::Article | Retrieve::Body) {
        out.extend_from_slice(body);
    }
    super::block::end(out);
}

/// The raw (folded) value of the first `name:` header in a stored (stuffed) head.
pub fn header_value<'a>(head: &'a [u8], name: &str) -> Option<&'a [u8]> {
    let mut lines = head.split_inclusive(|&b| b == b'\n').peekable();
    let mut start = 0;
    while let Some(line) = lines.next() {
        let here = start;
        start += line.len();
        let body = line.strip_prefix(b".").filter(|_| line.starts_with(b"..")).unwrap_or(line);
        if body.len() > name.len()
            && body[..name.len()].eq_ignore_ascii_case(name.as_bytes())
            && body[name.len()] == b':'
        {
            let value_start = here + (line.len() - body.len()) + name.len() + 1;
            let mut end = start;
            while let Some(next) = lines.peek() {
                if matches!(next.first(), Some(b' ' | b'\t')) {
                    end += next.len();
                    lines.next();
                } else {
                    break;
                }
            }
            return Some(&head[value_start..end]);
        }
    }
    None
}

/// Headers a reader displays, whose raw 8-bit UTF-8 is served as encoded words (see
/// [`display_head`]).
const DISPLAY_HEADERS: [&str; 6] = ["Subject", "From", "To", "Cc", "Reply-To", "Sender"];

/// Does the message declare a charset other than UTF-8 (or none, which is US-ASCII) in the
/// Content-Type of its head?
fn declares_other_charset(head: &[u8]) -> bool {
    let Some(ct) = header_value(head, "Content-Type") else { return true };
    let ct = String::from_utf8_lossy(ct).to_ascii_lowercase();
    let Some(at) = ct.find("charset=") else { return true };
    let charset = ct[at + 8..].trim_start_matches('"');
    !(charset.starts_with("utf-8") || charset.starts_with("utf8"))
}

/// RFC 2047 encoded words (UTF-8, base64) for `text`, each at most 75 octets, whole
/// characters in each, separated by spaces (which a reader drops between encoded words).
fn encoded_words(text: &str) -> String {
    use base64::Engine;
    let mut out = String::new();
    let mut piece = String::new();
    let flush = |piece: &mut String, out: &mut String| {
        if !piece.is_empty() {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str("=?UTF-8?B?");
            out.push_str(&base64::engine::general_purpose::STANDARD.encode(piece.as_bytes()));
            out.push_str("?=");
            piece.clear();
        }
    };
    for c in text.chars() {
        // 45 octets of text make 60 of base64: with `=?UTF-8?B?` and `?=`, 72.
        if piece.len() + c.len_utf8() > 45 {
            flush(&mut piece, &mut out);
        }
        piece.push(c);
    }
    flush(&mut piece, &mut out);
    out
}

/// A display header's value (unfolded, trimmed) with raw UTF-8 made encoded words: the whole
/// value of an unstructured one; for an address (`Name <a@b>`, the name perhaps quoted), the
/// name. `None` when there is nothing to do or the shape is not one of those.
pub fn display_value(name: &str, value: &[u8]) -> Option<String> {
    if value.is_ascii() {
        return None;
    }
    let mut unfolded = Vec::with_capacity(value.len());
    push_field(&mut unfolded, trim(value));
    let text = String::from_utf8(unfolded).ok()?;
    if name.eq_ignore_ascii_case("Subject") {
        return Some(encoded_words(&text));
    }
    // One address with a display name; lists of addresses are left as they are.
    let open = text.rfind('<')?;
    let (phrase, address) = (text[..open].trim(), &text[open..]);
    if phrase.is_empty() || !address.is_ascii() || address.contains(',') || phrase.contains(['<', '>', ',']) {
        return None;
    }
    let phrase = phrase.strip_prefix('"').and_then(|p| p.strip_suffix('"')).unwrap_or(phrase).replace("\\\"", "\"");
    Some(format!("{} {address}", encoded_words(&phrase)))
}

/// The head as it is served: when a message declares a charset other than UTF-8 (or none)
/// but its display headers (Subject, From, To, Cc, Reply-To, Sender) carry raw UTF-8, those
/// values are served as RFC 2047 encoded words, so that tin (which reads 8-bit headers in the
/// article's charset) shows the text slrn and Thunderbird guess. Raw 8-bit that is not UTF-8
/// (Latin-1 in a Latin-1 message) is left for the reader's charset. `None` when the head is
/// served as stored (any ASCII-only head: the common case costs one scan).
pub fn display_head(head: &[u8]) -> Option<Vec<u8>> {
    if head.is_ascii() || !declares_other_charset(head) {
        return None;
    }
    let mut out = Vec::with_capacity(head.len() + 64);
    let mut changed = false;
    let mut lines = head.split_inclusive(|&b| b == b'\n').peekable();
    while let Some(line) = lines.next() {
        let mut field = line.to_vec();
        while let Some(next) = lines.peek().filter(|l| matches!(l.first(), Some(b' ' | b'\t'))) {
            field.extend_from_slice(next);
            lines.next();
        }
        let name_end = memchr::memchr(b':', &field);
        let rewritten = name_end.and_then(|colon| {
            let name = std::str::from_utf8(&field[..colon]).ok()?;
            let header = DISPLAY_HEADERS.iter().find(|h| h.eq_ignore_ascii_case(name))?;
            display_value(header, &field[colon + 1..]).map(|v| format!("{name}: {v}\r\n"))
        });
        match rewritten {
            Some(r) => {
                out.extend_from_slice(r.as_bytes());
                changed = true;
            }
            None => out.extend_from_slice(&field),
        }
    }
    changed.then_some(out)
}

/// A header value with its RFC 2047 encoded words decoded (adjacent ones joined, §6.2), for
/// searching and display; `None` when it has none.
pub fn decoded(value: &[u8]) -> Option<String> {
    memchr::memmem::find(value, b"=?")?;
    let mut header = b"Subject: ".to_vec();
    header.extend_from_slice(value);
    header.extend_from_slice(b"\r\n\r\n");
    let parsed = mail_parser::MessageParser::new().parse_headers(&header)?;
    parsed.subject().map(str::to_string)
}

/// One XTHREAD line for an article: the overview line (number as this reader sees it) with
/// `Xref:`, `Parent:` and `Depth:` fields.
pub fn write_thread_line(
    out: &mut Vec<u8>,
    num: u64,
    fields: &[u8],
    host: &str,
    xref: &[u8],
    parent: Option<&str>,
    depth: usize,
) {
    let _ = write!(out, "{num}\t");
    out.extend_from_slice(fields);
    let _ = write!(out, "\tXref: {host} ");
    out.extend_from_slice(xref);
    let _ = write!(out, "\tParent: {}\tDepth: {depth}\r\n", parent.unwrap_or(""));
}

/// One XTHREAD line for a message the thread references but this reader cannot read here.
pub fn write_thread_placeholder(out: &mut Vec<u8>, id: &str, parent: Option<&str>, depth: usize) {
    let _ = write!(out, "0\t\t\t\t{id}\t\t0\t0\tXref:\tParent: {}\tDepth: {depth}\r\n", parent.unwrap_or(""));
}

/// A stored article (CRLF, dot-stuffed wire form) as a mail message: dots unstuffed, LF
/// line ends.
pub fn raw_from_wire(wire: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(wire.len());
    for line in wire.split_inclusive(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        out.extend_from_slice(line.strip_prefix(b".").unwrap_or(line));
        out.push(b'\n');
    }
    out
}

/// Appends a message (LF line ends) to an mboxrd file: the `From ` line public-inbox writes,
/// every `>*From ` line quoted with one more `>`, a blank line after.
pub fn push_mboxrd(out: &mut Vec<u8>, raw: &[u8]) {
    out.extend_from_slice(b"From mboxrd@z Thu Jan  1 00:00:00 1970\n");
    for line in raw.split_inclusive(|&b| b == b'\n') {
        let quoted = line.iter().position(|&b| b != b'>').is_some_and(|i| line[i..].starts_with(b"From "));
        if quoted {
            out.push(b'>');
        }
        out.extend_from_slice(line);
    }
    if !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample<'a>(subject: &'a [u8], references: &'a [u8]) -> OverviewSource<'a> {
        OverviewSource {
            subject,
            from: b" A <a@b>",
            date: b" Mon, 1 Jan 2024 00:00:00 +0000\r\n",
            message_id: "<m@x>",
            references,
            bytes: 1234,
            lines: 7,
        }
    }

    #[test]
    fn folded_and_tabbed_values_become_one_line() {
        let f = overview_fields(&sample(b" [PATCH]\r\n\tfix\tit\0now", b" <a@x>\r\n <b@x>"));
        assert_eq!(f, b"[PATCH] fix it now\tA <a@b>\tMon, 1 Jan 2024 00:00:00 +0000\t<m@x>\t<a@x> <b@x>\t1234\t7");
        assert_eq!(f.split(|&b| b == b'\t').count(), 7);
        assert_eq!(overview_field(&f, 3), b"<m@x>");
    }

    #[test]
    fn empty_fields_keep_their_tabs() {
        // Thunderbird and fetchnews drop lines with fewer than 8 fields (nntp-notes §1.6).
        let f = overview_fields(&sample(b"", b""));
        let mut line = Vec::new();
        write_overview_line(&mut line, 42, &f, "news.example.org", b"g:42");
        assert!(line.ends_with(b"\r\n"));
        let line = &line[..line.len() - 2];
        let parts: Vec<&[u8]> = line.split(|&b| b == b'\t').collect();
        assert_eq!(parts.len(), 9);
        assert_eq!(parts[0], b"42");
        assert_eq!(parts[1], b"");
        assert_eq!(parts[5], b"");
        assert_eq!(parts[8], b"Xref: news.example.org g:42");
    }

    #[test]
    fn eight_bit_values_pass_through() {
        let f = overview_fields(&sample(b"caf\xe9 =?UTF-8?Q?caf=C3=A9?=", b""));
        assert!(f.starts_with(b"caf\xe9 =?UTF-8?Q?caf=C3=A9?=\t"));
    }

    #[test]
    fn header_values_are_found_folded_and_case_insensitively() {
        let head = b"Subject: a\r\n b\r\nX-Thing: one\r\nx-thing: two\r\nTo: z\r\n";
        assert_eq!(header_value(head, "subject"), Some(&b" a\r\n b\r\n"[..]));
        assert_eq!(header_value(head, "X-THING"), Some(&b" one\r\n"[..]));
        assert_eq!(header_value(head, "Cc"), None);
        assert_eq!(header_value(head, "X-Thin"), None);
    }

    #[test]
    fn served_headers_and_article_parts() {
        let mut served = Vec::new();
        write_served_headers(&mut served, "h", &[("a.b".into(), 3), ("c".into(), 9)]);
        assert_eq!(served, b"Path: h!not-for-mail\r\nNewsgroups: a.b,c\r\nXref: h a.b:3 c:9\r\n");
        let groups = [("g".to_string(), 1)];
        let mut out = Vec::new();
        write_article_body(&mut out, Retrieve::Article, "h", &groups, b"S: y\r\n", b"body\r\n");
        assert_eq!(out, b"Path: h!not-for-mail\r\nNewsgroups: g\r\nXref: h g:1\r\nS: y\r\n\r\nbody\r\n.\r\n");
        out.clear();
        write_article_body(&mut out, Retrieve::Body, "h", &groups, b"S: y\r\n", b"body\r\n");
        assert_eq!(out, b"body\r\n.\r\n");
        out.clear();
        write_article_body(&mut out, Retrieve::Stat, "h", &groups, b"S", b"B");
        assert!(out.is_empty());
    }

    #[test]
    fn raw_utf8_display_headers_become_encoded_words() {
        let head = "From: \"J\u{fc}rgen M\u{fc}ller\" <jm@example.org>\r\nSubject: Gr\u{fc}\u{df}e aus\r\n K\u{f6}ln\r\nTo: list@x\r\nContent-Type: text/plain; charset=iso-8859-1\r\n";
        let served = display_head(head.as_bytes()).expect("rewritten");
        let served = String::from_utf8(served).unwrap();
        assert!(served.is_ascii(), "{served}");
        let lines: Vec<&str> = served.split("\r\n").collect();
        assert_eq!(decoded(&lines[0].as_bytes()[6..]).as_deref(), Some("J\u{fc}rgen M\u{fc}ller <jm@example.org>"));
        assert!(lines[0].ends_with(" <jm@example.org>"), "{served}");
        assert_eq!(decoded(&lines[1].as_bytes()[9..]).as_deref(), Some("Gr\u{fc}\u{df}e aus K\u{f6}ln"));
        assert_eq!(lines[2], "To: list@x");
        // Declared UTF-8, all ASCII, or Latin-1 bytes: served as stored.
        assert!(display_head(b"Subject: caf\xc3\xa9\r\nContent-Type: text/plain; charset=\"UTF-8\"\r\n").is_none());
        assert!(display_head(b"Subject: cafe\r\n").is_none());
        assert!(display_head(b"Subject: caf\xe9\r\nContent-Type: text/plain; charset=iso-8859-1\r\n").is_none());
        // A long subject: several encoded words, none over 75 octets, joined back on reading.
        let long = "\u{e9}".repeat(60);
        let words = encoded_words(&long);
        assert!(words.split(' ').all(|w| w.len() <= 75), "{words}");
        assert_eq!(decoded(words.as_bytes()).as_deref(), Some(long.as_str()));
    }

    #[test]
    fn encoded_words_are_decoded_and_joined() {
        assert_eq!(
            decoded(b"=?UTF-8?Q?r=C3=A9sum=C3=A9?= of =?ISO-8859-1?Q?caf=E9?=").as_deref(),
            Some("résumé of café")
        );
        assert_eq!(decoded(b"=?UTF-8?B?w6k=?= =?UTF-8?B?w6k=?=").as_deref(), Some("éé"), "adjacent words joined");
        assert_eq!(decoded(b"plain text"), None);
    }

    #[test]
    fn wire_form_counts_the_dots_in_the_head() {
        let (wire, head_len) = wire_form(b".X: 1\r\n\r\n.body\r\n", 7);
        assert_eq!(wire, b"..X: 1\r\n\r\n..body\r\n");
        assert_eq!(head_len, 8);
        assert_eq!(to_crlf(b"a\nb\rc\0d"), b"a\r\nb\r\nc d\r\n");
    }

    #[test]
    fn stored_articles_come_back_as_mail_and_mboxrd() {
        let raw = raw_from_wire(b"Subject: x\r\n\r\n..dot\r\nFrom here\r\n>From there\r\n");
        assert_eq!(raw, b"Subject: x\n\n.dot\nFrom here\n>From there\n");
        let mut mbox = Vec::new();
        push_mboxrd(&mut mbox, &raw);
        assert_eq!(
            mbox,
            b"From mboxrd@z Thu Jan  1 00:00:00 1970\nSubject: x\n\n.dot\n>From here\n>>From there\n\n".to_vec()
        );
    }
}
