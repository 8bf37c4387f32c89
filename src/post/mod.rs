//! Posting: an article a newsreader sends with POST, checked as netnews (RFC 5536/5537) and
//! made into an ordinary mail to the lists its Newsgroups name.
//!
//! - [`Article::parse`]: the checks that need nothing but the text (header syntax, required
//!   and single-instance headers, no NUL or bare CR, line lengths, a body).
//! - [`Outgoing::mail`]: the mail: netnews-only headers removed, To the lists, In-Reply-To
//!   from References, Message-ID and Date added when missing, a trace header naming this
//!   server and the user, From rewritten for DMARC when asked.
//! - [`relay`]: delivery by SMTP or a sendmail program, and the DMARC lookup.
//! - [`ledger`]: rate limits and recently posted Message-IDs.
//!
//! The server decides who may post and where (groups, users, private groups); the article
//! enters the archive only when the list delivers it back.

pub mod ledger;
pub mod relay;

use std::fmt::Write as _;

/// Why a post is refused (the text after `441`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

fn refuse<T>(why: impl Into<String>) -> Result<T, Refused> {
    Err(Refused(why.into()))
}

/// Header fields of which an article (RFC 5536 §3) or a mail (RFC 5322 §3.6) has at most one.
const SINGLE: &[&str] = &[
    "approved",
    "bcc",
    "cc",
    "control",
    "date",
    "distribution",
    "expires",
    "followup-to",
    "from",
    "in-reply-to",
    "lines",
    "message-id",
    "newsgroups",
    "organization",
    "path",
    "references",
    "reply-to",
    "sender",
    "subject",
    "supersedes",
    "to",
    "xref",
];

/// Headers that belong to netnews (or that this gateway sets itself), left out of the mail.
/// To, Cc and Bcc go too: the mail goes to the lists and nowhere else.
const DROPPED: &[&str] = &[
    "approved",
    "bcc",
    "cc",
    "distribution",
    "expires",
    "followup-to",
    "injection-date",
    "injection-info",
    "lines",
    "newsgroups",
    "path",
    "sender",
    "to",
    "x-complaints-to",
    "x-trace",
    "xref",
];

/// RFC 5322 §2.1.1: lines of at most 998 octets.
const MAX_LINE: usize = 998;

/// One header field as the client sent it.
#[derive(Debug, Clone)]
pub struct Field {
    /// Lower case.
    pub name: String,
    /// The value, unfolded and trimmed (raw 8-bit read as UTF-8, lossily).
    pub value: String,
    /// The field's lines as sent, each with CRLF.
    raw: Vec<u8>,
}

/// A mailbox: display name and address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    pub name: Option<String>,
    /// As written; compare with [`Mailbox::address_lower`].
    pub address: String,
}

impl Mailbox {
    pub fn address_lower(&self) -> String {
        self.address.to_ascii_lowercase()
    }

    /// The domain of the address, lower case.
    pub fn domain(&self) -> String {
        self.address.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase()).unwrap_or_default()
    }
}

/// An article as POST received it, checked for form.
#[derive(Debug, Clone)]
pub struct Article {
    pub fields: Vec<Field>,
    /// The body, CRLF line ends.
    pub body: Vec<u8>,
}

impl Article {
    /// Reads and checks an article (CRLF line ends, unstuffed, as [`crate::protocol::block::BlockReader`]
    /// gives it).
    pub fn parse(text: &[u8]) -> Result<Article, Refused> {
        if text.contains(&0) {
            return refuse("the article holds a NUL octet");
        }
        if let Some(i) = memchr::memchr_iter(b'\r', text).find(|&i| text.get(i + 1) != Some(&b'\n')) {
            let line = text[..i].iter().filter(|&&b| b == b'\n').count() + 1;
            return refuse(format!("line {line} holds a bare CR"));
        }
        let (head, body) = if text.starts_with(b"\r\n") {
            (&text[..0], &text[2..])
        } else {
            match memchr::memmem::find(text, b"\r\n\r\n") {
                Some(i) => (&text[..i + 2], &text[i + 4..]),
                None => return refuse("no empty line between the headers and the body"),
            }
        };
        let mut fields: Vec<Field> = Vec::new();
        for (n, line) in head.split_inclusive(|&b| b == b'\n').enumerate() {
            let content = &line[..line.len() - 2];
            if content.len() > MAX_LINE {
                return refuse(format!("header line {} is longer than {MAX_LINE} octets", n + 1));
            }
            if content.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
                let Some(field) = fields.last_mut() else {
                    return refuse("the first header line is a continuation line");
                };
                field.raw.extend_from_slice(line);
                field.value.push(' ');
                field.value.push_str(String::from_utf8_lossy(content).trim());
                continue;
            }
            let colon = memchr::memchr(b':', content);
            let name = colon.map(|c| &content[..c]).unwrap_or_default();
            if name.is_empty() || !name.iter().all(|b| (33..=126).contains(b)) {
                let shown: String = String::from_utf8_lossy(content).chars().take(40).collect();
                return refuse(format!("header line {} is not `Name: value`: {shown:?}", n + 1));
            }
            let value = String::from_utf8_lossy(&content[colon.unwrap_or_default() + 1..]).trim().to_string();
            fields.push(Field { name: String::from_utf8_lossy(name).to_ascii_lowercase(), value, raw: line.to_vec() });
        }
        for (n, line) in body.split(|&b| b == b'\n').enumerate() {
            if line.len() > MAX_LINE + 1 {
                return refuse(format!("body line {} is longer than {MAX_LINE} octets", n + 1));
            }
        }
        let article = Article { fields, body: body.to_vec() };
        for name in SINGLE {
            if article.fields.iter().filter(|f| f.name == *name).count() > 1 {
                return refuse(format!("more than one {} header", display_name(name)));
            }
        }
        for name in ["from", "subject", "newsgroups"] {
            match article.get(name) {
                None => return refuse(format!("no {} header", display_name(name))),
                Some("") => return refuse(format!("the {} header is empty", display_name(name))),
                Some(_) => {}
            }
        }
        for name in ["control", "supersedes"] {
            if article.get(name).is_some() {
                return refuse(format!(
                    "{} articles are not relayed to mailing lists (control messages, cancels and supersedes stay in netnews)",
                    display_name(name)
                ));
            }
        }
        if article.body.iter().all(u8::is_ascii_whitespace) {
            return refuse("the article has no body");
        }
        if let Some(id) = article.get("message-id")
            && !crate::protocol::command::is_message_id(id)
        {
            return refuse(format!("{id:?} is not a Message-ID (<unique@domain>)"));
        }
        Ok(article)
    }

    /// The value of the header `name` (lower case).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|f| f.name == name).map(|f| f.value.as_str())
    }

    /// The groups Newsgroups names, in order, without repeats.
    pub fn newsgroups(&self) -> Vec<String> {
        let mut groups: Vec<String> = Vec::new();
        for g in self.get("newsgroups").unwrap_or_default().split([',', ' ', '\t']).filter(|g| !g.is_empty()) {
            if !groups.iter().any(|seen| seen == g) {
                groups.push(g.to_string());
            }
        }
        groups
    }

    /// The one mailbox of From.
    pub fn from(&self) -> Result<Mailbox, Refused> {
        let field = self.fields.iter().find(|f| f.name == "from").ok_or_else(|| Refused("no From header".into()))?;
        let message = mail_parser::MessageParser::default().parse_headers(&field.raw[..]);
        let addresses = message.as_ref().and_then(|m| m.from());
        let mut list = addresses.into_iter().flat_map(|a| a.iter());
        let Some(first) = list.next() else {
            return refuse(format!("From {:?} holds no mail address", field.value));
        };
        if list.next().is_some() {
            return refuse("From names several mailboxes; post with one");
        }
        let address = first.address().unwrap_or_default().trim().to_string();
        if !crate::config::looks_like_address(&address) {
            return refuse(format!("From {:?} holds no mail address", field.value));
        }
        let name = first.name().map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
        Ok(Mailbox { name, address })
    }

    /// The References ids, in order.
    pub fn references(&self) -> Vec<String> {
        let Some(refs) = self.get("references") else { return Vec::new() };
        refs.split_whitespace().filter(|id| crate::protocol::command::is_message_id(id)).map(String::from).collect()
    }
}

/// `message-id` → `Message-ID`, as refusals name headers.
fn display_name(name: &str) -> String {
    match name {
        "message-id" => "Message-ID".into(),
        _ => name
            .split('-')
            .map(|part| {
                let mut c = part.chars();
                c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join("-"),
    }
}

/// A post ready to leave: the article and where it goes.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub article: Article,
    /// The lists' addresses (one mail to all of them).
    pub lists: Vec<String>,
    /// The groups they belong to, for the log.
    pub groups: Vec<String>,
    pub poster: Mailbox,
    /// The user who posted (AUTHINFO), if any.
    pub user: Option<String>,
    /// The article's Message-ID, or the one the mail gets.
    pub message_id: String,
    /// The Message-ID was made here (the client sent none).
    pub id_added: bool,
}

/// How [`Outgoing::mail`] writes the mail.
pub struct MailOptions<'a> {
    /// This server's name (trace header, rewritten From).
    pub hostname: &'a str,
    /// Rewrite From to this address (DMARC), with Reply-To the poster.
    pub rewrite_from: Option<&'a str>,
    /// Seconds since the epoch (Date when missing, trace header).
    pub now: i64,
}

impl Outgoing {
    /// The mail as it goes to the relay (CRLF line ends, not dot-stuffed).
    pub fn mail(&self, options: &MailOptions<'_>) -> Vec<u8> {
        let date = chrono::DateTime::from_timestamp(options.now, 0).unwrap_or_default().to_rfc2822();
        let mut out = Vec::with_capacity(self.article.body.len() + 2048);
        let line = |out: &mut Vec<u8>, text: &str| {
            out.extend_from_slice(text.as_bytes());
            out.extend_from_slice(b"\r\n");
        };
        let user = self.user.as_deref().map_or_else(|| "-".to_string(), |u| format!("{u:?}"));
        line(
            &mut out,
            &format!(
                "X-Posted-Via: {} (listnews {} NNTP gateway); user={user}; {date}",
                options.hostname,
                env!("CARGO_PKG_VERSION")
            ),
        );
        for field in &self.article.fields {
            if DROPPED.contains(&field.name.as_str()) || field.name.starts_with("nntp-posting-") {
                continue;
            }
            if field.name == "from"
                && let Some(address) = options.rewrite_from
            {
                line(&mut out, &format!("From: {}", rewritten_from(&self.poster, options.hostname, address)));
                if self.article.get("reply-to").is_none() {
                    out.extend_from_slice(b"Reply-To:");
                    out.extend_from_slice(&field.raw[5..]);
                }
                continue;
            }
            out.extend_from_slice(&field.raw);
        }
        line(&mut out, &format!("To: {}", self.lists.join(", ")));
        if self.id_added {
            line(&mut out, &format!("Message-ID: {}", self.message_id));
        }
        if self.article.get("date").is_none() {
            line(&mut out, &format!("Date: {date}"));
        }
        if self.article.get("in-reply-to").is_none()
            && let Some(last) = self.article.references().last()
        {
            line(&mut out, &format!("In-Reply-To: {last}"));
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.article.body);
        out
    }
}

/// `"Name via HOST" <address>`: the display name quoted, or as RFC 2047 encoded words when it
/// is not ASCII.
pub fn rewritten_from(poster: &Mailbox, hostname: &str, address: &str) -> String {
    let who = poster.name.clone().unwrap_or_else(|| poster.address.split('@').next().unwrap_or_default().to_string());
    let name = format!("{who} via {hostname}");
    if name.bytes().all(|b| (32..127).contains(&b)) {
        format!("\"{}\" <{address}>", name.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        format!("{} <{address}>", encoded_words(&name))
    }
}

/// RFC 2047 B-encoded words, each at most 75 characters, cut between characters.
fn encoded_words(text: &str) -> String {
    use base64::Engine;
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in text.chars() {
        if chunk.len() + c.len_utf8() > 45 {
            words.push(std::mem::take(&mut chunk));
        }
        chunk.push(c);
    }
    words.push(chunk);
    let mut out = String::new();
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            out.push_str("\r\n ");
        }
        let _ = write!(out, "=?UTF-8?B?{}?=", base64::engine::general_purpose::STANDARD.encode(w));
    }
    out
}

/// A Message-ID for a post that came without one.
pub fn new_message_id(hostname: &str, now: i64) -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_i64(now);
    h.write_u32(std::process::id());
    format!("<listnews.{now:x}.{:016x}@{hostname}>", h.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPLY: &[u8] = b"From: Alice Example <alice@example.org>\r\n\
Newsgroups: example.list-0\r\n\
Subject: Re: a question\r\n\
References: <a@x> \r\n <b@x>\r\n\
Path: not-for-mail\r\n\
NNTP-Posting-Host: 10.0.0.1\r\n\
User-Agent: test\r\n\
\r\n\
An answer.\r\n";

    fn outgoing(text: &[u8]) -> Outgoing {
        let article = Article::parse(text).unwrap();
        let poster = article.from().unwrap();
        Outgoing {
            article,
            lists: vec!["list-0@example.org".into()],
            groups: vec!["example.list-0".into()],
            poster,
            user: Some("alice".into()),
            message_id: "<new@news.example.org>".into(),
            id_added: true,
        }
    }

    fn headers(mail: &[u8]) -> String {
        let text = String::from_utf8_lossy(mail).to_string();
        text.split("\r\n\r\n").next().unwrap().to_string()
    }

    #[test]
    fn a_reply_becomes_a_mail_to_the_list() {
        let o = outgoing(REPLY);
        assert_eq!(o.poster, Mailbox { name: Some("Alice Example".into()), address: "alice@example.org".into() });
        assert_eq!(o.article.newsgroups(), ["example.list-0"]);
        let mail = o.mail(&MailOptions { hostname: "news.example.org", rewrite_from: None, now: 1_700_000_000 });
        let h = headers(&mail);
        assert!(h.starts_with("X-Posted-Via: news.example.org (listnews "), "{h}");
        assert!(h.contains("user=\"alice\""), "{h}");
        for gone in ["Newsgroups:", "Path:", "NNTP-Posting-Host:"] {
            assert!(!h.contains(gone), "{gone} in {h}");
        }
        assert!(h.contains("\r\nFrom: Alice Example <alice@example.org>\r\n"), "{h}");
        assert!(h.contains("\r\nReferences: <a@x> \r\n <b@x>\r\n"), "{h}");
        assert!(h.contains("\r\nTo: list-0@example.org\r\n"), "{h}");
        assert!(h.contains("\r\nMessage-ID: <new@news.example.org>\r\n"), "{h}");
        assert!(h.contains("\r\nDate: Tue, 14 Nov 2023 22:13:20 +0000\r\n"), "{h}");
        assert!(h.ends_with("\r\nIn-Reply-To: <b@x>"), "{h}");
        assert!(mail.ends_with(b"\r\n\r\nAn answer.\r\n"));
    }

    #[test]
    fn from_is_rewritten_with_reply_to_the_poster() {
        let o = outgoing(REPLY);
        let mail = o.mail(&MailOptions {
            hostname: "news.example.org",
            rewrite_from: Some("noreply@news.example.org"),
            now: 0,
        });
        let h = headers(&mail);
        assert!(h.contains("\r\nFrom: \"Alice Example via news.example.org\" <noreply@news.example.org>\r\n"), "{h}");
        assert!(h.contains("\r\nReply-To: Alice Example <alice@example.org>\r\n"), "{h}");
        let jurgen = Mailbox { name: Some("Jürgen Müller".into()), address: "j@example.de".into() };
        let from = rewritten_from(&jurgen, "news.example.org", "noreply@news.example.org");
        assert!(from.starts_with("=?UTF-8?B?"), "{from}");
        let parsed = mail_parser::MessageParser::default()
            .parse_headers(format!("From: {from}\r\n\r\n").as_bytes())
            .unwrap()
            .from()
            .unwrap()
            .first()
            .unwrap()
            .name()
            .unwrap()
            .to_string();
        assert_eq!(parsed, "Jürgen Müller via news.example.org");
    }

    #[test]
    fn malformed_articles_are_refused_with_the_reason() {
        let refused = |text: &[u8]| Article::parse(text).unwrap_err().0;
        let with = |from: &str, to: &str| String::from_utf8_lossy(REPLY).replace(from, to).into_bytes();
        assert_eq!(refused(&with("Subject: Re: a question\r\n", "")), "no Subject header");
        assert_eq!(refused(&with("User-Agent: test\r\n", "Subject: again\r\n")), "more than one Subject header");
        assert_eq!(refused(&with("An answer.", "An\0answer.")), "the article holds a NUL octet");
        assert_eq!(refused(&with("An answer.", "An\ranswer.")), "line 10 holds a bare CR");
        assert_eq!(refused(&with("An answer.\r\n", "")), "the article has no body");
        assert!(
            refused(&with("User-Agent: test", "User Agent test")).starts_with("header line 8 is not `Name: value`")
        );
        assert!(refused(&with("User-Agent: test", "Control: cancel <a@x>")).starts_with("Control articles"));
        assert_eq!(refused(&with("\r\n\r\n", "\r\n")), "no empty line between the headers and the body");
        let long = format!("An {}", "x".repeat(1000));
        assert_eq!(refused(&with("An answer.", &long)), "body line 1 is longer than 998 octets");
        let two = with("Alice Example <alice@example.org>", "a@example.org, b@example.org");
        assert_eq!(Article::parse(&two).unwrap().from().unwrap_err().0, "From names several mailboxes; post with one");
        let bad_id = with("User-Agent: test", "Message-ID: not-an-id");
        assert_eq!(refused(&bad_id), "\"not-an-id\" is not a Message-ID (<unique@domain>)");
    }

    #[test]
    fn crossposts_name_each_group_once() {
        let a = Article::parse(
            &String::from_utf8_lossy(REPLY)
                .replace("Newsgroups: example.list-0", "Newsgroups: example.list-0, example.list-1,example.list-0")
                .into_bytes(),
        )
        .unwrap();
        assert_eq!(a.newsgroups(), ["example.list-0", "example.list-1"]);
    }
}
