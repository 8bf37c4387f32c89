//! What the HTTP face sends, made from stored articles: HTML pages (plain semantic HTML, one
//! small stylesheet, no JavaScript), Atom feeds (RFC 4287) and the thread mbox.

use std::fmt::Write as _;

use mail_parser::{Address, MessageParser, MimeHeaders};

/// A message as the pages show it.
pub struct Shown {
    pub id: String,
    pub subject: String,
    pub from_name: String,
    pub from_address: String,
    pub to: String,
    pub cc: String,
    /// RFC 3339, from the Date header (or the arrival time).
    pub date: String,
    /// The text of its first text part, decoded.
    pub text: String,
    /// Names of its other parts.
    pub attachments: Vec<String>,
}

fn addresses(a: Option<&Address<'_>>) -> String {
    let Some(a) = a else { return String::new() };
    a.iter()
        .map(|m| match (m.name(), m.address()) {
            (Some(n), Some(e)) => format!("{n} <{e}>"),
            (None, Some(e)) => e.to_string(),
            (Some(n), None) => n.to_string(),
            (None, None) => String::new(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl Shown {
    /// Reads a message (LF line ends) for display; `arrival` stands in for a missing Date.
    pub fn of(raw: &[u8], id: &str, arrival: i64) -> Shown {
        let parsed = MessageParser::default().parse(raw);
        let Some(m) = parsed else {
            return Shown {
                id: id.to_string(),
                subject: "(unreadable message)".into(),
                from_name: String::new(),
                from_address: String::new(),
                to: String::new(),
                cc: String::new(),
                date: rfc3339(arrival),
                text: String::from_utf8_lossy(raw).into_owned(),
                attachments: Vec::new(),
            };
        };
        let from = m.from().and_then(|a| a.first());
        let date = m.date().and_then(|d| rfc3339_of(d.to_timestamp())).unwrap_or_else(|| rfc3339(arrival));
        let attachments =
            m.attachments().map(|a| a.attachment_name().unwrap_or("(unnamed part)").to_string()).collect();
        Shown {
            id: id.to_string(),
            subject: m.subject().unwrap_or("(no subject)").to_string(),
            from_name: from.and_then(|f| f.name()).unwrap_or_default().to_string(),
            from_address: from.and_then(|f| f.address()).unwrap_or_default().to_string(),
            to: addresses(m.to()),
            cc: addresses(m.cc()),
            date,
            text: m.body_text(0).map(|t| t.into_owned()).unwrap_or_default(),
            attachments,
        }
    }

    /// The name to show for the author.
    pub fn author(&self) -> &str {
        if self.from_name.is_empty() { &self.from_address } else { &self.from_name }
    }
}

/// A Date header's value (RFC 5322) as RFC 3339 UTC; `None` when it does not parse.
pub fn date_rfc3339(value: &str) -> Option<String> {
    mail_parser::DateTime::parse_rfc822(value).and_then(|d| rfc3339_of(d.to_timestamp()))
}

/// Seconds since the epoch as RFC 3339 UTC; `None` out of chrono's range.
fn rfc3339_of(unix: i64) -> Option<String> {
    chrono::DateTime::from_timestamp(unix, 0).map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

pub fn rfc3339(unix: i64) -> String {
    rfc3339_of(unix).unwrap_or_else(|| rfc3339_of(0).unwrap_or_default())
}

/// Escapes text for HTML and XML.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // XML 1.0 has no place for other control characters.
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// A message-id (without its brackets) as one path segment.
pub fn mid_path(id: &str) -> String {
    let bare = id.trim_start_matches('<').trim_end_matches('>');
    let mut out = String::with_capacity(bare.len());
    for b in bare.bytes() {
        if b.is_ascii_alphanumeric() || b"@.-_~!$&'()*+,;=:".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

const STYLE: &str = "body{max-width:60em;margin:1em auto;padding:0 1em;font-family:sans-serif;line-height:1.4}\
pre{white-space:pre-wrap;font-family:monospace;font-size:0.95em}\
.q{color:#555}.add{color:#065f00}.del{color:#9f1c1c}.hunk{color:#5b2a86}.diffhead{font-weight:bold}\
ul.thread{list-style:none;padding-left:0;font-family:monospace}ul.thread li{white-space:nowrap;overflow:hidden;text-overflow:ellipsis}\
.meta{color:#444}hr{border:0;border-top:1px solid #ccc}nav a{margin-right:1em}\
table.index td{padding:0.1em 0.6em 0.1em 0;vertical-align:top}";

/// The page around `body`.
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{}</title><style>{STYLE}</style></head>\n<body>\n{body}\n<hr><footer><small>served by listnews {}</small></footer>\n</body></html>\n",
        esc(title),
        env!("CARGO_PKG_VERSION")
    )
}

/// A message body as HTML: quoted lines and diffs marked, the rest as written.
pub fn body_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    out.push_str("<pre>");
    let mut in_diff = false;
    for line in text.lines() {
        let class = if line.starts_with("diff --git ") || line.starts_with("Index: ") {
            in_diff = true;
            Some("diffhead")
        } else if in_diff && (line.starts_with("--- ") || line.starts_with("+++ ")) {
            Some("diffhead")
        } else if in_diff && line.starts_with("@@") {
            Some("hunk")
        } else if in_diff && line.starts_with('+') {
            Some("add")
        } else if in_diff && line.starts_with('-') && line != "-- " {
            Some("del")
        } else if line.starts_with('>') {
            Some("q")
        } else {
            if line == "-- " || (in_diff && !line.starts_with(' ') && !line.is_empty()) {
                in_diff = false;
            }
            None
        };
        match class {
            Some(c) => {
                let _ = writeln!(out, "<span class=\"{c}\">{}</span>", esc(line));
            }
            None => {
                out.push_str(&esc(line));
                out.push('\n');
            }
        }
    }
    out.push_str("</pre>");
    out
}

/// One entry of a thread as the pages list it.
pub struct ThreadItem {
    pub id: String,
    pub depth: usize,
    /// (subject, author, date) when the message is here; `None` for one only referenced.
    pub about: Option<(String, String, String)>,
}

/// The thread as a nested list, the current message marked.
pub fn thread_html(list: &str, items: &[ThreadItem], current: &str) -> String {
    let mut out = String::from("<ul class=\"thread\">\n");
    for item in items {
        let indent = "&#160;&#160;".repeat(item.depth.min(30));
        match &item.about {
            Some((subject, author, date)) => {
                let mark = if item.id == current { "<b>*</b> " } else { "" };
                let _ = writeln!(
                    out,
                    "<li>{indent}{mark}<a href=\"/{list}/{}/\">{}</a> {} <span class=\"meta\">{}</span></li>",
                    mid_path(&item.id),
                    esc(subject),
                    esc(author),
                    esc(date.get(..10).unwrap_or(date))
                );
            }
            None => {
                let _ = writeln!(out, "<li>{indent}<i>[not in the archive: {}]</i></li>", esc(&item.id));
            }
        }
    }
    out.push_str("</ul>\n");
    out
}

/// Where a page's links and instructions point.
pub struct Place<'a> {
    /// The list's path segment.
    pub list: &'a str,
    pub group: &'a str,
    /// The list's posting address.
    pub address: Option<&'a str>,
    /// This server's NNTP host name.
    pub host: &'a str,
}

/// A message with its headers, body, links, the reply instructions lore gives, and its thread.
pub fn message_page(place: &Place<'_>, m: &Shown, thread: &[ThreadItem]) -> String {
    let mid = mid_path(&m.id);
    let list = place.list;
    let mut body = String::new();
    let _ = writeln!(
        body,
        "<nav><a href=\"/{list}/\">{}</a><a href=\"/{list}/{mid}/T/\">thread</a><a href=\"/{list}/{mid}/raw\">raw</a>\
<a href=\"/{list}/{mid}/t.mbox.gz\">thread mbox.gz</a><a href=\"/{list}/{mid}/t.atom\">Atom</a></nav>",
        esc(list)
    );
    body.push_str(&message_html(m));
    if !m.attachments.is_empty() {
        let _ = writeln!(body, "<p class=\"meta\">Other parts: {}</p>", esc(&m.attachments.join(", ")));
    }
    let _ = writeln!(body, "<hr><h2>Thread</h2>\n{}", thread_html(list, thread, &m.id));
    body.push_str(&reply_instructions(place, m));
    page(&m.subject, &body)
}

/// A message's headers and body.
pub fn message_html(m: &Shown) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "<article id=\"{}\">", esc(&mid_path(&m.id)));
    let _ = writeln!(out, "<h1>{}</h1>", esc(&m.subject));
    out.push_str("<pre class=\"meta\">");
    let _ = writeln!(out, "From: {} &lt;{}&gt;", esc(&m.from_name), esc(&m.from_address));
    if !m.to.is_empty() {
        let _ = writeln!(out, "To: {}", esc(&m.to));
    }
    if !m.cc.is_empty() {
        let _ = writeln!(out, "Cc: {}", esc(&m.cc));
    }
    let _ = writeln!(out, "Date: {}", esc(&m.date));
    let _ = writeln!(out, "Message-ID: {}", esc(&m.id));
    out.push_str("</pre>\n");
    out.push_str(&body_html(&m.text));
    out.push_str("\n</article>\n");
    out
}

fn reply_instructions(place: &Place<'_>, m: &Shown) -> String {
    let mid = mid_path(&m.id);
    let mut out = String::from(
        "<hr><h2>Reply instructions</h2>\n<p>You may reply publicly to this message via plain-text email using any one of the following methods:</p>\n<ul>\n",
    );
    let _ = writeln!(
        out,
        "<li>Save the following mbox file, import it into your mail client, and reply-to-all from there: \
<a href=\"/{}/{mid}/raw\">mbox</a><br>Avoid top-posting and favor interleaved quoting.</li>",
        place.list
    );
    let mut cmd = format!("git send-email --in-reply-to='{}'", m.id.trim_start_matches('<').trim_end_matches('>'));
    if let Some(a) = place.address {
        let _ = write!(cmd, " \\\n  --to={a}");
    }
    if !m.from_address.is_empty() {
        let _ = write!(cmd, " \\\n  --cc={}", m.from_address);
    }
    cmd.push_str(" \\\n  /path/to/YOUR_REPLY");
    let _ = writeln!(
        out,
        "<li>Reply using the --to, --cc, and --in-reply-to switches of git-send-email(1):<pre>{}</pre></li>",
        esc(&cmd)
    );
    if let Some(a) = place.address {
        let subject = if m.subject.to_ascii_lowercase().starts_with("re:") {
            m.subject.clone()
        } else {
            format!("Re: {}", m.subject)
        };
        let _ = writeln!(
            out,
            "<li>If your mail client supports setting the In-Reply-To header via mailto: links, try the \
<a href=\"mailto:{}?In-Reply-To={}&amp;Cc={}&amp;Subject={}\">mailto: link</a></li>",
            esc(a),
            esc(&query_escape(&m.id)),
            esc(&query_escape(&m.from_address)),
            esc(&query_escape(&subject))
        );
    }
    let _ = writeln!(
        out,
        "</ul>\n<p>This list is readable over NNTP: <a href=\"nntp://{host}/{group}\">nntp://{host}/{group}</a></p>",
        host = esc(place.host),
        group = esc(place.group)
    );
    out
}

fn query_escape(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~@".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// A thread with every message shown in full (`/T/`).
pub fn thread_page(place: &Place<'_>, messages: &[Shown], thread: &[ThreadItem]) -> String {
    let list = place.list;
    let mut body = String::new();
    let first = messages.first();
    let _ = writeln!(body, "<nav><a href=\"/{list}/\">{}</a></nav>", esc(list));
    if let Some(first) = first {
        let _ = writeln!(body, "<h2>Thread</h2>\n{}", thread_html(list, thread, &first.id));
    }
    for m in messages {
        body.push_str("<hr>\n");
        body.push_str(&message_html(m));
        let _ = writeln!(
            body,
            "<p><a href=\"/{list}/{mid}/\">permalink</a> <a href=\"/{list}/{mid}/raw\">raw</a></p>",
            mid = mid_path(&m.id)
        );
    }
    page(first.map_or("thread", |m| m.subject.as_str()), &body)
}

/// One line of a list's index: a thread with its latest activity.
pub struct Topic {
    pub id: String,
    pub subject: String,
    pub author: String,
    pub date: String,
    pub messages: usize,
}

/// A list's index page: recent threads, newest activity first, and a link to older ones.
pub fn index_page(place: &Place<'_>, description: &str, topics: &[Topic], older: Option<u64>) -> String {
    let list = place.list;
    let mut body = String::new();
    let _ = writeln!(body, "<h1>{}</h1>", esc(place.group));
    if !description.is_empty() {
        let _ = writeln!(body, "<p>{}</p>", esc(description));
    }
    let _ = writeln!(
        body,
        "<nav><a href=\"/{list}/new.atom\">Atom feed</a><a href=\"nntp://{host}/{group}\">NNTP</a></nav>",
        host = esc(place.host),
        group = esc(place.group)
    );
    body.push_str("<table class=\"index\">\n");
    for t in topics {
        let _ = writeln!(
            body,
            "<tr><td>{}</td><td><a href=\"/{list}/{}/T/\">{}</a></td><td>{}</td><td>{}</td></tr>",
            esc(t.date.get(..10).unwrap_or(&t.date)),
            mid_path(&t.id),
            esc(&t.subject),
            esc(&t.author),
            if t.messages > 1 { format!("{} messages", t.messages) } else { String::new() }
        );
    }
    body.push_str("</table>\n");
    if let Some(before) = older {
        let _ = writeln!(body, "<p><a href=\"/{list}/?b={before}\">older</a></p>");
    }
    page(place.group, &body)
}

/// The front page: every public list.
pub fn lists_page(lists: &[(String, String, String)]) -> String {
    let mut body = String::from("<h1>Lists</h1>\n<table class=\"index\">\n");
    for (segment, group, description) in lists {
        let _ = writeln!(
            body,
            "<tr><td><a href=\"/{}/\">{}</a></td><td>{}</td><td>{}</td></tr>",
            esc(segment),
            esc(segment),
            esc(group),
            esc(description)
        );
    }
    body.push_str("</table>\n");
    page("Lists", &body)
}

/// An Atom feed (RFC 4287) of `entries`, `base` the origin (`http://host`).
pub fn atom(base: &str, title: &str, self_path: &str, list: &str, entries: &[Shown]) -> String {
    let updated = entries.iter().map(|e| e.date.as_str()).max().unwrap_or("1970-01-01T00:00:00Z");
    let mut out =
        String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
    let _ = writeln!(out, "<title>{}</title>", esc(title));
    let _ = writeln!(out, "<link rel=\"alternate\" type=\"text/html\" href=\"{base}/{list}/\"/>");
    let _ = writeln!(out, "<link rel=\"self\" href=\"{base}{self_path}\"/>");
    let _ = writeln!(out, "<id>{base}{self_path}</id>\n<updated>{updated}</updated>");
    for e in entries {
        let mid = mid_path(&e.id);
        out.push_str("<entry>\n<author>");
        let _ = write!(out, "<name>{}</name>", esc(e.author()));
        if !e.from_address.is_empty() {
            let _ = write!(out, "<email>{}</email>", esc(&e.from_address));
        }
        out.push_str("</author>\n");
        let _ = writeln!(out, "<title>{}</title>\n<updated>{}</updated>", esc(&e.subject), e.date);
        let _ = writeln!(out, "<link href=\"{base}/{list}/{mid}/\"/>\n<id>{}</id>", urn(&e.id));
        let _ = writeln!(
            out,
            "<content type=\"xhtml\"><div xmlns=\"http://www.w3.org/1999/xhtml\"><pre>{}</pre></div></content>\n</entry>",
            esc(&e.text)
        );
    }
    out.push_str("</feed>\n");
    out
}

/// A stable `urn:uuid:` for a message-id.
fn urn(id: &str) -> String {
    use sha2::Digest;
    let h = sha2::Sha256::digest(id.as_bytes());
    let hex: String = h.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("urn:uuid:{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_become_path_segments() {
        assert_eq!(mid_path("<a/b+c%d@x.org>"), "a%2Fb+c%25d@x.org");
        assert_eq!(mid_path("plain@x"), "plain@x");
    }

    #[test]
    fn bodies_mark_quotes_and_diffs() {
        let html = body_html(
            "> quoted <b>\ntext\ndiff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-old\n+new\n ctx\n-- \nsig",
        );
        assert!(html.contains("<span class=\"q\">&gt; quoted &lt;b&gt;</span>"), "{html}");
        assert!(html.contains("<span class=\"add\">+new</span>") && html.contains("<span class=\"del\">-old</span>"));
        assert!(html.contains("<span class=\"hunk\">@@ -1 +1 @@</span>"));
        assert!(html.contains("\n-- \nsig\n"), "{html}");
    }

    #[test]
    fn messages_are_decoded_for_display() {
        let raw = b"From: =?UTF-8?Q?J=C3=BCrgen?= <j@example.org>\nSubject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\nDate: Tue, 14 Nov 2023 22:13:20 +0000\nMessage-ID: <a@b>\n\nHallo\n";
        let m = Shown::of(raw, "<a@b>", 0);
        assert_eq!((m.subject.as_str(), m.from_name.as_str(), m.author()), ("Grüße", "Jürgen", "Jürgen"));
        assert_eq!(m.date, "2023-11-14T22:13:20Z");
        assert_eq!(m.text, "Hallo\n");
    }
}
