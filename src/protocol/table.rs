//! The command table: one row per command the server answers (LIST, AUTHINFO and MODE: one
//! per keyword). Parsing ([`super::command::parse`]), HELP, CAPABILITIES and which commands
//! a session runs on its own thread all come from here.
//!
//! Adding a command: a row here (its grammar is a parse function in `command.rs`, giving its
//! [`Command`] variant) and a handler in `server::commands` (its arm in `dispatch`; the
//! compiler refuses a variant without one).

use super::command::{self as grammar, Command, ListKind, ParseError};

/// The capability (RFC 3977 §5.2) a command belongs to, in the order CAPABILITIES lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cap {
    Reader,
    Hdr,
    List,
    NewNews,
    Over,
    Post,
    Xpat,
    Xthread,
    StartTls,
    Authinfo,
    Compress,
    Ihave,
    /// Answered, but no capability names it (mandatory commands, legacy X-commands, LIST
    /// keywords without data here).
    None,
}

/// Where a session runs the command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Answers from a handful of keys (one article, one group): run on the session's own
    /// thread, which saves two thread wake-ups per request.
    Quick,
    /// Walks many keys (listings, searches, threads): run on the blocking pool; a long answer
    /// is sent in chunks.
    Listing,
    /// A password check (argon2): CPU and memory heavy, off the async workers.
    Auth,
    /// Answers `3xx`, then reads a block from the client (an article) before the final answer.
    ReadsBlock,
}

/// What the session's state must hold before the handler runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    Nothing,
    /// A selected group, whenever the command works on the current group (a number, a range,
    /// the current article or no group named): otherwise `412`.
    Group,
}

/// When a row is offered (shown by HELP, and its capability by CAPABILITIES).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Always,
    /// A message of the day is configured.
    Motd,
    /// Some group is a default subscription.
    Subscriptions,
    /// A certificate is configured and the session is plain, unauthenticated, uncompressed.
    TlsPossible,
    /// Users are configured and the session has not authenticated.
    AuthPossible,
    /// The session is not compressed yet.
    NotCompressed,
    /// This session may post.
    Posting,
    /// Answered (a refusal) but never offered.
    Never,
}

/// What the server, as configured, and the session, as it stands, offer.
#[derive(Debug, Clone, Copy, Default)]
pub struct Offer {
    pub motd: bool,
    pub subscriptions: bool,
    pub tls_configured: bool,
    pub users: bool,
    pub allow_plaintext_auth: bool,
    pub posting: bool,
    pub session_tls: bool,
    pub authenticated: bool,
    pub compressed: bool,
}

impl Offer {
    pub fn holds(&self, when: When) -> bool {
        match when {
            When::Always => true,
            When::Motd => self.motd,
            When::Subscriptions => self.subscriptions,
            When::TlsPossible => self.tls_configured && !self.session_tls && !self.authenticated && !self.compressed,
            When::AuthPossible => self.users && !self.authenticated,
            When::NotCompressed => !self.compressed,
            When::Posting => self.posting,
            When::Never => false,
        }
    }
}

/// One command.
pub struct Row {
    pub name: &'static str,
    /// The keyword after the verb (LIST ACTIVE, AUTHINFO USER, MODE READER).
    pub keyword: Option<&'static str>,
    /// The arguments, for HELP.
    pub usage: &'static str,
    pub cap: Cap,
    pub when: When,
    pub kind: Kind,
    pub needs: Needs,
    /// How the arguments (the words after the verb and keyword) make the command.
    pub grammar: Grammar,
}

/// A row's argument grammar.
pub enum Grammar {
    /// No arguments.
    Bare(Command),
    /// At most one word, ignored (CAPABILITIES' keyword: there is one list, §5.2.2).
    IgnoredWord(Command),
    /// A LIST keyword with an optional wildmat.
    ListWildmat(fn(Option<String>) -> ListKind),
    /// A LIST keyword without arguments.
    ListBare(ListKind),
    /// Its own parse function in `command.rs`.
    Parse(fn(&Args<'_>) -> Result<Command, ParseError>),
}

impl Grammar {
    pub fn parse(&self, args: &Args<'_>) -> Result<Command, ParseError> {
        match self {
            Grammar::Bare(command) => grammar::exactly(args.words, 0, command.clone()),
            Grammar::IgnoredWord(command) => grammar::at_most(args.words, 1, command.clone()),
            Grammar::ListWildmat(kind) => grammar::list_wildmat(args, *kind),
            Grammar::ListBare(kind) => grammar::list_bare(args, kind),
            Grammar::Parse(parse) => parse(args),
        }
    }
}

/// A command line split up for a row's parse function.
pub struct Args<'a> {
    /// The line as sent.
    pub line: &'a str,
    /// The words after the verb (and the keyword, for keyword rows).
    pub words: &'a [&'a str],
}

const fn row(name: &'static str, usage: &'static str, cap: Cap, kind: Kind, grammar: Grammar) -> Row {
    Row { name, keyword: None, usage, cap, when: When::Always, kind, needs: Needs::Nothing, grammar }
}

impl Row {
    const fn keyword(mut self, keyword: &'static str) -> Row {
        self.keyword = Some(keyword);
        self
    }
    const fn when(mut self, when: When) -> Row {
        self.when = when;
        self
    }
    const fn needs_group(mut self) -> Row {
        self.needs = Needs::Group;
        self
    }
}

use Cap as C;
use Grammar::{Bare, IgnoredWord, ListBare, ListWildmat, Parse};
use Kind::{Auth, Listing, Quick, ReadsBlock};

/// Every command the server answers, in HELP order.
pub static COMMANDS: &[Row] = &[
    row("ARTICLE", "[message-id|number]", C::Reader, Quick, Parse(grammar::article)).needs_group(),
    row("AUTHINFO", "password", C::Authinfo, Auth, Parse(grammar::auth_pass)).keyword("PASS").when(When::AuthPossible),
    row("AUTHINFO", "name", C::Authinfo, Quick, Parse(grammar::auth_user)).keyword("USER").when(When::AuthPossible),
    row("BODY", "[message-id|number]", C::Reader, Quick, Parse(grammar::body)).needs_group(),
    // A keyword argument is allowed and ignored: there is one capability list (§5.2.2).
    row("CAPABILITIES", "[keyword]", C::None, Quick, IgnoredWord(Command::Capabilities)),
    row("COMPRESS", "DEFLATE", C::Compress, Quick, Parse(grammar::compress)).when(When::NotCompressed),
    row("DATE", "", C::Reader, Quick, Bare(Command::Date)),
    row("GROUP", "newsgroup", C::Reader, Quick, Parse(grammar::group)),
    row("HDR", "header [message-id|range]", C::Hdr, Listing, Parse(grammar::hdr)).needs_group(),
    row("HEAD", "[message-id|number]", C::Reader, Quick, Parse(grammar::head)).needs_group(),
    row("HELP", "", C::None, Quick, Bare(Command::Help)),
    row("IHAVE", "message-id", C::Ihave, Quick, Parse(grammar::ihave)).when(When::Never),
    row("LAST", "", C::Reader, Quick, Bare(Command::Last)).needs_group(),
    row("LIST", "[wildmat]", C::List, Listing, ListWildmat(ListKind::Active)).keyword("ACTIVE"),
    row("LIST", "[wildmat]", C::List, Listing, ListWildmat(ListKind::ActiveTimes)).keyword("ACTIVE.TIMES"),
    row("LIST", "[wildmat]", C::List, Listing, ListWildmat(ListKind::Counts)).keyword("COUNTS"),
    row("LIST", "", C::None, Listing, ListBare(ListKind::DistribPats)).keyword("DISTRIB.PATS"),
    row("LIST", "", C::None, Listing, ListBare(ListKind::Distributions)).keyword("DISTRIBUTIONS"),
    row("LIST", "[MSGID|RANGE]", C::List, Listing, Parse(grammar::list_headers)).keyword("HEADERS"),
    row("LIST", "", C::List, Listing, ListBare(ListKind::Motd)).keyword("MOTD").when(When::Motd),
    row("LIST", "[wildmat]", C::List, Listing, ListWildmat(ListKind::Newsgroups)).keyword("NEWSGROUPS"),
    row("LIST", "", C::List, Listing, ListBare(ListKind::OverviewFmt)).keyword("OVERVIEW.FMT"),
    row("LIST", "", C::List, Listing, ListBare(ListKind::Subscriptions))
        .keyword("SUBSCRIPTIONS")
        .when(When::Subscriptions),
    row("LISTGROUP", "[newsgroup [range]]", C::Reader, Listing, Parse(grammar::listgroup)).needs_group(),
    row("MODE", "", C::None, Quick, Parse(grammar::mode_reader)).keyword("READER"),
    row("NEWGROUPS", "[yy]yymmdd hhmmss [GMT]", C::Reader, Listing, Parse(grammar::newgroups)),
    row("NEWNEWS", "wildmat [yy]yymmdd hhmmss [GMT]", C::NewNews, Listing, Parse(grammar::newnews)),
    row("NEXT", "", C::Reader, Quick, Bare(Command::Next)).needs_group(),
    row("OVER", "[message-id|range]", C::Over, Listing, Parse(grammar::over)).needs_group(),
    row("POST", "", C::Post, ReadsBlock, Bare(Command::Post)).when(When::Posting),
    row("QUIT", "", C::None, Quick, Bare(Command::Quit)),
    row("STARTTLS", "", C::StartTls, Quick, Bare(Command::StartTls)).when(When::TlsPossible),
    row("STAT", "[message-id|number]", C::Reader, Quick, Parse(grammar::stat)).needs_group(),
    row("XGTITLE", "[wildmat]", C::None, Listing, Parse(grammar::xgtitle)).needs_group(),
    row("XHDR", "header [message-id|range]", C::None, Listing, Parse(grammar::xhdr)).needs_group(),
    row("XOVER", "[message-id|range]", C::None, Listing, Parse(grammar::xover)).needs_group(),
    row("XPAT", "header message-id|range pattern", C::Xpat, Listing, Parse(grammar::xpat)).needs_group(),
    row("XPATH", "message-id", C::None, Listing, Parse(grammar::xpath)),
    row("XROVER", "[message-id|range]", C::None, Listing, Parse(grammar::xrover)).needs_group(),
    row("XTHREAD", "[message-id|number]", C::Xthread, Listing, Parse(grammar::xthread)).needs_group(),
];

/// The message for a keyword command whose keyword is not in the table.
fn unknown_keyword(verb: &str) -> &'static str {
    match verb {
        "LIST" => "unknown LIST keyword",
        "AUTHINFO" => "AUTHINFO USER name|PASS password",
        _ => "only MODE READER is supported",
    }
}

/// Finds the row of a command line's verb (upper case) and keyword; `words` are the words
/// after the verb. Returns the row and how many words it consumed (the keyword).
pub fn lookup(verb: &str, words: &[&str]) -> Result<(&'static Row, usize), ParseError> {
    let mut rows = COMMANDS.iter().filter(|r| r.name == verb).peekable();
    let first = rows.peek().copied().ok_or(ParseError::Unknown)?;
    if first.keyword.is_none() {
        return Ok((first, 0));
    }
    match words.first() {
        // LIST alone is LIST ACTIVE (RFC 3977 §7.6.1).
        None if verb == "LIST" => Ok((first, 0)),
        None => Err(ParseError::Syntax(unknown_keyword(verb))),
        Some(word) => rows
            .find(|r| r.keyword.is_some_and(|k| k.eq_ignore_ascii_case(word)))
            .map(|r| (r, 1))
            .ok_or(ParseError::Syntax(unknown_keyword(verb))),
    }
}

/// The CAPABILITIES list (RFC 3977 §5.2): one line per capability offered.
pub fn capabilities(offer: &Offer) -> Vec<String> {
    let mut lines =
        vec!["VERSION 2".to_string(), concat!("IMPLEMENTATION listnews ", env!("CARGO_PKG_VERSION")).into()];
    let mut caps: Vec<Cap> =
        COMMANDS.iter().filter(|r| r.cap != Cap::None && offer.holds(r.when)).map(|r| r.cap).collect();
    caps.sort();
    caps.dedup();
    for cap in caps {
        lines.push(match cap {
            Cap::Reader => "READER".into(),
            Cap::Hdr => "HDR".into(),
            Cap::List => {
                let keywords: Vec<&str> = COMMANDS
                    .iter()
                    .filter(|r| r.cap == Cap::List && offer.holds(r.when))
                    .filter_map(|r| r.keyword)
                    .collect();
                format!("LIST {}", keywords.join(" "))
            }
            Cap::NewNews => "NEWNEWS".into(),
            Cap::Over => "OVER MSGID".into(),
            Cap::Post => "POST".into(),
            // Private extensions (RFC 3977 §3.3.1): XPAT (RFC 2980; tin reads it) and XTHREAD.
            Cap::Xpat => "XPAT".into(),
            Cap::Xthread => "XTHREAD".into(),
            Cap::StartTls => "STARTTLS".into(),
            // RFC 4643 §2.1: without USER while it would be refused (no TLS yet).
            Cap::Authinfo if offer.session_tls || offer.allow_plaintext_auth => "AUTHINFO USER".into(),
            Cap::Authinfo => "AUTHINFO".into(),
            Cap::Compress => "COMPRESS DEFLATE".into(),
            Cap::Ihave => "IHAVE".into(),
            Cap::None => continue,
        });
    }
    lines
}

/// The HELP text: one line per command offered, with its arguments.
pub fn help(offer: &Offer) -> Vec<String> {
    COMMANDS
        .iter()
        .filter(|r| offer.holds(r.when))
        .map(|r| {
            let words: Vec<&str> =
                [Some(r.name), r.keyword, Some(r.usage)].into_iter().flatten().filter(|w| !w.is_empty()).collect();
            format!("  {}", words.join(" "))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_unique_and_in_help_order() {
        for pair in COMMANDS.windows(2) {
            assert!(
                (pair[0].name, pair[0].keyword) < (pair[1].name, pair[1].keyword),
                "{} {:?}",
                pair[1].name,
                pair[1].keyword
            );
        }
    }

    #[test]
    fn help_and_capabilities_show_what_is_offered() {
        let plain = Offer::default();
        let lines = help(&plain);
        assert!(lines.contains(&"  LIST ACTIVE [wildmat]".to_string()));
        assert!(lines.contains(&"  XOVER [message-id|range]".to_string()));
        assert!(lines.contains(&"  LIST DISTRIB.PATS".to_string()));
        for absent in ["STARTTLS", "AUTHINFO", "IHAVE", "POST", "LIST MOTD", "LIST SUBSCRIPTIONS"] {
            assert!(!lines.iter().any(|l| l.trim_start().starts_with(absent)), "{absent} in {lines:?}");
        }
        let caps = capabilities(&plain);
        assert_eq!(caps[0], "VERSION 2");
        assert!(caps.contains(&"LIST ACTIVE ACTIVE.TIMES COUNTS HEADERS NEWSGROUPS OVERVIEW.FMT".to_string()));
        assert!(caps.contains(&"COMPRESS DEFLATE".to_string()));
        let secure = Offer { tls_configured: true, users: true, motd: true, ..Offer::default() };
        let caps = capabilities(&secure);
        assert!(caps.contains(&"STARTTLS".to_string()) && caps.contains(&"AUTHINFO".to_string()));
        assert!(caps.iter().any(|c| c.contains(" MOTD ")));
        let after_tls = Offer { session_tls: true, ..secure };
        let caps = capabilities(&after_tls);
        assert!(!caps.contains(&"STARTTLS".to_string()) && caps.contains(&"AUTHINFO USER".to_string()));
        assert!(help(&after_tls).contains(&"  AUTHINFO PASS password".to_string()));
    }

    #[test]
    fn keywords_select_rows() {
        assert_eq!(lookup("LIST", &[]).map(|(r, n)| (r.keyword, n)), Ok((Some("ACTIVE"), 0)));
        assert_eq!(lookup("LIST", &["counts"]).map(|(r, n)| (r.keyword, n)), Ok((Some("COUNTS"), 1)));
        assert!(matches!(lookup("LIST", &["FOO"]), Err(ParseError::Syntax("unknown LIST keyword"))));
        assert!(matches!(lookup("MODE", &[]), Err(ParseError::Syntax(_))));
        assert!(matches!(lookup("FROB", &[]), Err(ParseError::Unknown)));
    }
}
