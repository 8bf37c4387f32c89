//! Status lines (RFC 3977 §3.2): every one the server sends is a [`Status`] value, which
//! writes itself as `code text\r\n`. Handlers return statuses; they never spell a code.

use std::fmt;

use super::command::Retrieve;

/// The LIST keyword whose listing follows a `215` (the text differs per keyword).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    Active,
    ActiveTimes,
    Counts,
    Newsgroups,
    Motd,
    Subscriptions,
    OverviewFmt,
    Headers,
}

/// Which command of the HDR family answers (each has its own code, RFC 3977 §8.5, RFC 2980).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderVerb {
    /// HDR: 225.
    Hdr,
    /// XHDR: 221.
    Xhdr,
    /// XPAT: 221.
    Xpat,
    /// XROVER: 224.
    Xrover,
}

impl HeaderVerb {
    pub fn code(self) -> u16 {
        match self {
            HeaderVerb::Hdr => 225,
            HeaderVerb::Xhdr | HeaderVerb::Xpat => 221,
            HeaderVerb::Xrover => 224,
        }
    }
}

/// Every status line the server sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// 100
    HelpFollows,
    /// 101
    CapabilitiesFollow,
    /// 111: the server's time (seconds since the epoch), as `yyyymmddhhmmss` UTC.
    Date(i64),
    /// 200/201: the greeting.
    Greeting { host: String, posting: bool },
    /// 200/201: the answer to MODE READER.
    ReaderMode { posting: bool },
    /// 205
    Bye,
    /// 206
    CompressionActive,
    /// 211 for GROUP.
    GroupSelected { count: u64, low: u64, high: u64, name: String },
    /// 211 for LISTGROUP: the numbers follow.
    GroupListFollows { count: u64, low: u64, high: u64, name: String },
    /// 215
    ListFollows(Listing),
    /// 220-223: ARTICLE, HEAD, BODY, STAT.
    Article { part: Retrieve, number: u64, id: String },
    /// 223: NEXT and LAST.
    Selected { number: u64, id: String },
    /// 223: XPATH's `group/number` list.
    Paths(String),
    /// 224
    OverviewFollows,
    /// 224: XTHREAD.
    ThreadFollows { id: String, count: usize },
    /// 221, 224 or 225 (see [`HeaderVerb`]).
    HeadersFollow(HeaderVerb),
    /// 230
    NewArticlesFollow,
    /// 231
    NewGroupsFollow,
    /// 281
    AuthAccepted,
    /// 240: the relay accepted the post's mail.
    Posted { id: String },
    /// 282: XGTITLE.
    DescriptionsFollow,
    /// 340: POST may send its article.
    SendArticle,
    /// 381
    PasswordRequired,
    /// 382
    ContinueWithTls,
    /// 400
    ShuttingDown,
    /// 400
    IdleTimeout,
    /// 400
    TooManyConnections,
    /// 400
    TooManyFromAddress,
    /// 403: a store failure (logged); the session goes on.
    Fault,
    /// 403: the password-check queue is full.
    AuthBusy,
    /// 403: COMPRESS while the server has as many compressed connections as it allows.
    CompressionUnavailable,
    /// 403: POST while the server is reading or relaying as many posts as it allows.
    PostingBusy,
    /// 400: too many failed AUTHINFO attempts on this connection; it is closed.
    TooManyAuthFailures,
    /// 411
    NoSuchGroup(String),
    /// 412
    NoGroupSelected,
    /// 420
    NoCurrentArticle,
    /// 421
    NoNextArticle,
    /// 422
    NoPreviousArticle,
    /// 423
    NoArticleWithNumber,
    /// 423: OVER/HDR over a range that holds nothing.
    NoArticlesInRange,
    /// 430
    NoArticleWithId,
    /// 435: IHAVE.
    NotWanted,
    /// 440: POST where posting is off; with the current group's list address when it has one.
    PostingNotPermitted { list: Option<(String, String)> },
    /// 440: this session or user may not post now (the reason given).
    PostingRefused(String),
    /// 441: the post was not relayed (the reason given: the article's fault or the relay's).
    PostFailed(String),
    /// 480
    AuthRequired,
    /// 481
    AuthFailed,
    /// 482
    AuthOutOfSequence,
    /// 483
    EncryptionRequired,
    /// 500
    UnknownCommand,
    /// 501
    Syntax(&'static str),
    /// 501
    LineTooLong,
    /// 502
    AlreadyAuthenticated,
    /// 502
    StartTlsNotAllowed,
    /// 502
    CompressionAlreadyActive,
    /// 503: LIST MOTD without one configured.
    NoMotd,
    /// 503
    NoSubscriptions,
    /// 503: LIST DISTRIB.PATS and DISTRIBUTIONS.
    NoDistributions,
    /// 503: COMPRESS with another algorithm than DEFLATE.
    CompressionUnsupported,
    /// 580
    TlsUnavailable,
}

impl Status {
    pub fn code(&self) -> u16 {
        use Status::*;
        match self {
            HelpFollows => 100,
            CapabilitiesFollow => 101,
            Date(_) => 111,
            Greeting { posting, .. } | ReaderMode { posting } => {
                if *posting {
                    200
                } else {
                    201
                }
            }
            Bye => 205,
            CompressionActive => 206,
            GroupSelected { .. } | GroupListFollows { .. } => 211,
            ListFollows(_) => 215,
            Article { part, .. } => part.code(),
            Selected { .. } | Paths(_) => 223,
            OverviewFollows | ThreadFollows { .. } => 224,
            HeadersFollow(verb) => verb.code(),
            NewArticlesFollow => 230,
            NewGroupsFollow => 231,
            Posted { .. } => 240,
            AuthAccepted => 281,
            DescriptionsFollow => 282,
            SendArticle => 340,
            PasswordRequired => 381,
            ContinueWithTls => 382,
            ShuttingDown | IdleTimeout | TooManyConnections | TooManyFromAddress | TooManyAuthFailures => 400,
            Fault | AuthBusy | CompressionUnavailable | PostingBusy => 403,
            NoSuchGroup(_) => 411,
            NoGroupSelected => 412,
            NoCurrentArticle => 420,
            NoNextArticle => 421,
            NoPreviousArticle => 422,
            NoArticleWithNumber | NoArticlesInRange => 423,
            NoArticleWithId => 430,
            NotWanted => 435,
            PostingNotPermitted { .. } | PostingRefused(_) => 440,
            PostFailed(_) => 441,
            AuthRequired => 480,
            AuthFailed => 481,
            AuthOutOfSequence => 482,
            EncryptionRequired => 483,
            UnknownCommand => 500,
            Syntax(_) | LineTooLong => 501,
            AlreadyAuthenticated | StartTlsNotAllowed | CompressionAlreadyActive => 502,
            NoMotd | NoSubscriptions | NoDistributions | CompressionUnsupported => 503,
            TlsUnavailable => 580,
        }
    }

    /// Appends `code text\r\n`.
    pub fn write(&self, out: &mut Vec<u8>) {
        use std::io::Write;
        // Writing into a Vec cannot fail.
        let _ = write!(out, "{self}\r\n");
    }

    /// The status line with its CRLF.
    pub fn to_line(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        self.write(&mut out);
        out
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Status::*;
        write!(f, "{} ", self.code())?;
        match self {
            HelpFollows => f.write_str("Help text follows"),
            CapabilitiesFollow => f.write_str("Capability list:"),
            Date(unix) => f.write_str(&date_value(*unix)),
            Greeting { host, posting } => write!(
                f,
                "{host} listnews {} ready (posting {})",
                env!("CARGO_PKG_VERSION"),
                if *posting { "allowed" } else { "prohibited" }
            ),
            ReaderMode { posting } => {
                write!(f, "Reader mode, posting {}", if *posting { "allowed" } else { "prohibited" })
            }
            Bye => f.write_str("Bye"),
            CompressionActive => f.write_str("Compression active"),
            GroupSelected { count, low, high, name } => write!(f, "{count} {low} {high} {name}"),
            GroupListFollows { count, low, high, name } => write!(f, "{count} {low} {high} {name} list follows"),
            ListFollows(listing) => f.write_str(match listing {
                Listing::Active => "List of newsgroups follows",
                Listing::ActiveTimes => "Group creation times follow",
                Listing::Counts => "Groups and counts follow",
                Listing::Newsgroups => "Descriptions follow",
                Listing::Motd => "Message of the day follows",
                Listing::Subscriptions => "Default subscriptions follow",
                Listing::OverviewFmt => "Order of fields in overview database",
                Listing::Headers => "Headers and metadata items supported",
            }),
            Article { part, number, id } => {
                let what = match part {
                    Retrieve::Article => "article",
                    Retrieve::Head => "head",
                    Retrieve::Body => "body",
                    Retrieve::Stat => "status",
                };
                write!(f, "{number} {id} {what}")
            }
            Selected { number, id } => write!(f, "{number} {id} retrieved"),
            Paths(paths) => f.write_str(paths),
            OverviewFollows => f.write_str("Overview information follows"),
            ThreadFollows { id, count } => write!(f, "Thread of {id} follows ({count} messages)"),
            HeadersFollow(_) => f.write_str("Headers follow"),
            NewArticlesFollow => f.write_str("List of new articles follows"),
            NewGroupsFollow => f.write_str("List of new newsgroups follows"),
            Posted { id } => {
                write!(f, "Article received {id} (relayed to the list: it appears here when the list delivers it)")
            }
            AuthAccepted => f.write_str("Authentication accepted"),
            DescriptionsFollow => f.write_str("Descriptions follow"),
            SendArticle => f.write_str("Input article; end with <CR-LF>.<CR-LF>"),
            PasswordRequired => f.write_str("Password required"),
            ContinueWithTls => f.write_str("Continue with TLS negotiation"),
            ShuttingDown => f.write_str("Server shutting down"),
            IdleTimeout => f.write_str("Idle timeout, closing connection"),
            TooManyConnections => f.write_str("Too many connections, try again later"),
            TooManyFromAddress => f.write_str("Too many connections from your address"),
            Fault => f.write_str("Internal fault; try again later"),
            AuthBusy => f.write_str("Too many authentication requests; try again later"),
            CompressionUnavailable => f.write_str("Unable to activate compression: too many compressed connections"),
            PostingBusy => f.write_str("Too many posts under way; try again in a minute"),
            TooManyAuthFailures => f.write_str("Too many authentication failures; closing connection"),
            NoSuchGroup(name) => write!(f, "No such newsgroup: {name}"),
            NoGroupSelected => f.write_str("No newsgroup selected"),
            NoCurrentArticle => f.write_str("Current article number is invalid"),
            NoNextArticle => f.write_str("No next article in this group"),
            NoPreviousArticle => f.write_str("No previous article in this group"),
            NoArticleWithNumber => f.write_str("No article with that number"),
            NoArticlesInRange => f.write_str("No articles in that range"),
            NoArticleWithId => f.write_str("No article with that message-id"),
            NotWanted => f.write_str("Article not wanted; this archive takes mail, not news"),
            PostingNotPermitted { list: Some((address, group)) } => {
                write!(f, "Posting not permitted; mail {address} to post to {group}")
            }
            PostingNotPermitted { list: None } => {
                f.write_str("Posting not permitted; this archive is read-only, post to the lists by mail")
            }
            PostingRefused(why) => write!(f, "Posting not permitted: {why}"),
            PostFailed(why) => write!(f, "Posting failed: {}", one_line(why)),
            AuthRequired => f.write_str("Authentication required"),
            AuthFailed => f.write_str("Authentication failed"),
            AuthOutOfSequence => f.write_str("Authentication commands issued out of sequence"),
            EncryptionRequired => f.write_str("Encryption required: use STARTTLS or NNTPS first"),
            UnknownCommand => f.write_str("Unknown command"),
            Syntax(why) => write!(f, "Syntax error: {why}"),
            LineTooLong => f.write_str("Command line too long (over 512 octets)"),
            AlreadyAuthenticated => f.write_str("Already authenticated"),
            StartTlsNotAllowed => f.write_str("STARTTLS not allowed now"),
            CompressionAlreadyActive => f.write_str("Compression already active"),
            NoMotd => f.write_str("No message of the day"),
            NoSubscriptions => f.write_str("No default subscriptions"),
            NoDistributions => f.write_str("No distributions on this server"),
            CompressionUnsupported => f.write_str("Compression algorithm not supported"),
            TlsUnavailable => f.write_str("Can not initiate TLS negotiation: no certificate configured"),
        }
    }
}

/// A reason fit for a status line: line breaks (an MTA's multi-line reply) become spaces,
/// other control characters go, and it is cut at 400 octets.
fn one_line(text: &str) -> String {
    let mut out: String =
        text.split_whitespace().collect::<Vec<_>>().join(" ").chars().filter(|c| !c.is_control()).collect();
    if out.len() > 400 {
        let mut cut = 400;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push_str(" …");
    }
    out
}

/// The DATE response value: `yyyymmddhhmmss`, UTC (RFC 3977 §7.1).
pub fn date_value(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0).unwrap_or_default().format("%Y%m%d%H%M%S").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_write_code_and_text() {
        assert_eq!(Status::NoGroupSelected.to_line(), b"412 No newsgroup selected\r\n");
        assert_eq!(Status::Date(1704164645).to_line(), b"111 20240102030405\r\n");
        let s = Status::Article { part: Retrieve::Head, number: 3, id: "<a@b>".into() };
        assert_eq!(s.to_string(), "221 3 <a@b> head");
        assert_eq!(Status::HeadersFollow(HeaderVerb::Xrover).code(), 224);
        assert_eq!(Status::Syntax("bad range").to_string(), "501 Syntax error: bad range");
    }

    #[test]
    fn every_status_is_a_three_digit_line() {
        let all = [
            Status::HelpFollows,
            Status::Greeting { host: "h".into(), posting: false },
            Status::PostingNotPermitted { list: None },
            Status::PostFailed("relay said:\r\n550 5.7.1\nno".into()),
            Status::TlsUnavailable,
            Status::ThreadFollows { id: "<a@b>".into(), count: 2 },
        ];
        for s in all {
            let line = s.to_line();
            assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1, "{s}");
            assert!(line.ends_with(b"\r\n") && line[..3].iter().all(u8::is_ascii_digit) && line[3] == b' ');
            assert!((100..600).contains(&s.code()));
        }
    }
}
