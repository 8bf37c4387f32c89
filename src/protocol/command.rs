//! NNTP command lines -> [`Command`] (RFC 3977 §3.1, with RFC 2980 legacy commands).
//!
//! The caller frames lines (CRLF stripped, at most [`MAX_LINE`] octets); [`parse`] finds the
//! line's row in the command table ([`super::table`]) and runs its grammar, one function per
//! row below. Unknown verbs are [`ParseError::Unknown`] (500); a known verb with bad
//! arguments, or an unknown variant of a known command (`LIST FOO`), is
//! [`ParseError::Syntax`] (501).

use nom::IResult;
use nom::Parser;
use nom::branch::alt;
use nom::bytes::complete::{take_till1, take_while_m_n};
use nom::character::complete::{char, space0};
use nom::combinator::{all_consuming, map, map_res, opt};
use nom::multi::many0;
use nom::sequence::{delimited, preceded};

use super::table;
pub use super::table::{Args, Row};

/// A command line may be 512 octets including its CRLF (RFC 3977 §3.1).
pub const MAX_LINE: usize = 512;
/// Article numbers are at most 16 digits (RFC 3977 §6).
const MAX_NUMBER_DIGITS: usize = 16;

/// One parsed command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Article(Retrieve, Option<ArticleRef>),
    /// AUTHINFO USER name (RFC 4643 §2.3).
    AuthUser(String),
    /// AUTHINFO PASS password: the rest of the line, as sent.
    AuthPass(String),
    /// COMPRESS algorithm (RFC 8054).
    Compress(String),
    /// STARTTLS (RFC 4642).
    StartTls,
    Capabilities,
    Date,
    Group(String),
    Help,
    /// HDR (225) or, with `legacy`, XHDR (221).
    Hdr {
        field: String,
        spec: Option<RangeSpec>,
        legacy: bool,
    },
    Ihave,
    Last,
    List(ListKind),
    ListGroup {
        group: Option<String>,
        range: Option<ArticleRange>,
    },
    ModeReader,
    NewGroups(ClientDate),
    NewNews {
        wildmat: String,
        date: ClientDate,
    },
    Next,
    /// OVER or, with `legacy`, XOVER.
    Over {
        spec: Option<RangeSpec>,
        legacy: bool,
    },
    Post,
    Quit,
    /// XGTITLE [wildmat] (RFC 2980 §2.4).
    XgTitle(Option<String>),
    /// XPAT header range|<id> pattern (RFC 2980 §2.9); words after the range are one pattern.
    Xpat {
        field: String,
        spec: RangeSpec,
        pattern: String,
    },
    /// XPATH <id> (RFC 2980 §2.10).
    Xpath(String),
    /// XROVER [range] (RFC 2980 §2.11): References of each article.
    Xrover(Option<RangeSpec>),
    /// XTHREAD [<id>|number]: the whole thread, as overview lines (listnews extension).
    Xthread(Option<ArticleRef>),
}

/// Which part of an article ARTICLE/HEAD/BODY/STAT returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retrieve {
    Article,
    Head,
    Body,
    Stat,
}

impl Retrieve {
    pub fn code(self) -> u16 {
        match self {
            Retrieve::Article => 220,
            Retrieve::Head => 221,
            Retrieve::Body => 222,
            Retrieve::Stat => 223,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArticleRef {
    Number(u64),
    /// With its angle brackets, as sent.
    MessageId(String),
}

/// `n`, `n-` or `n-m` (RFC 3977 §3.2.1). `high == None` means open-ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArticleRange {
    pub low: u64,
    pub high: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeSpec {
    Range(ArticleRange),
    MessageId(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListKind {
    Active(Option<String>),
    Newsgroups(Option<String>),
    OverviewFmt,
    Headers(HeadersVariant),
    ActiveTimes(Option<String>),
    Counts(Option<String>),
    Motd,
    Subscriptions,
    DistribPats,
    Distributions,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadersVariant {
    Any,
    MsgId,
    Range,
}

/// A NEWNEWS/NEWGROUPS date as sent: `[yy]yymmdd hhmmss [GMT]` (RFC 3977 §7.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientDate {
    /// Two-digit years are kept as sent (< 100); see [`ClientDate::timestamp`].
    pub year: u32,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub gmt: bool,
}

impl ClientDate {
    /// Seconds since the epoch, UTC. A two-digit year is in the current century if it is not
    /// after the current year, else in the previous one (RFC 3977 §7.3.2). The server runs
    /// in UTC, so a date without GMT is read as UTC too.
    pub fn timestamp(&self, current_year: i32) -> Option<i64> {
        let year = if self.year < 100 {
            let century = current_year - current_year.rem_euclid(100);
            let candidate = century + self.year as i32;
            if candidate > current_year { candidate - 100 } else { candidate }
        } else {
            self.year as i32
        };
        let date = chrono::NaiveDate::from_ymd_opt(year, self.month, self.day)?;
        let time = date.and_hms_opt(self.hour, self.minute, self.second)?;
        Some(time.and_utc().timestamp())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// 500: not a command this server knows.
    Unknown,
    /// 501: a known command with arguments it cannot accept.
    Syntax(&'static str),
}

/// A parsed command line and the table row it matched.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub row: &'static Row,
    pub command: Command,
}

impl std::fmt::Debug for Row {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", self.name, self.keyword.map(|k| format!(" {k}")).unwrap_or_default())
    }
}

/// Parses one command line (without its CRLF) through the command table.
pub fn parse(line: &[u8]) -> Result<Parsed, ParseError> {
    let Ok(line) = std::str::from_utf8(line) else {
        return Err(ParseError::Syntax("command is not UTF-8"));
    };
    let words = match words(line) {
        Ok((_, words)) => words,
        Err(_) => return Err(ParseError::Syntax("unparsable command")),
    };
    let Some((verb, args)) = words.split_first() else {
        return Err(ParseError::Unknown);
    };
    let verb = verb.to_ascii_uppercase();
    let (row, consumed) = table::lookup(&verb, args)?;
    let command = row.grammar.parse(&Args { line, words: &args[consumed..] })?;
    Ok(Parsed { row, command })
}

impl Command {
    /// Does the command work on the current group (a number, a range, the current article, or
    /// no group named)? Rows that need a group answer `412` without one in that case.
    pub fn uses_current_group(&self) -> bool {
        let by_id = |spec: &Option<RangeSpec>| matches!(spec, Some(RangeSpec::MessageId(_)));
        match self {
            Command::Article(_, spec) | Command::Xthread(spec) => !matches!(spec, Some(ArticleRef::MessageId(_))),
            Command::Next | Command::Last => true,
            Command::Over { spec, .. } | Command::Hdr { spec, .. } | Command::Xrover(spec) => !by_id(spec),
            Command::Xpat { spec, .. } => !matches!(spec, RangeSpec::MessageId(_)),
            Command::ListGroup { group, .. } => group.is_none(),
            Command::XgTitle(pattern) => pattern.is_none(),
            _ => false,
        }
    }
}

// The grammars: one parse function per table row, from the words after the verb (and keyword).

pub(super) fn article(a: &Args<'_>) -> Result<Command, ParseError> {
    retrieve(Retrieve::Article, a.words)
}
pub(super) fn head(a: &Args<'_>) -> Result<Command, ParseError> {
    retrieve(Retrieve::Head, a.words)
}
pub(super) fn body(a: &Args<'_>) -> Result<Command, ParseError> {
    retrieve(Retrieve::Body, a.words)
}
pub(super) fn stat(a: &Args<'_>) -> Result<Command, ParseError> {
    retrieve(Retrieve::Stat, a.words)
}
pub(super) fn ihave(a: &Args<'_>) -> Result<Command, ParseError> {
    match a.words {
        [id] if is_message_id(id) => Ok(Command::Ihave),
        _ => Err(ParseError::Syntax("IHAVE needs a message-id")),
    }
}
/// Exactly one word, made into the command by `make`; otherwise `why`.
fn one_word(a: &Args<'_>, why: &'static str, make: impl FnOnce(&str) -> Command) -> Result<Command, ParseError> {
    match a.words {
        [word] => Ok(make(word)),
        _ => Err(ParseError::Syntax(why)),
    }
}
pub(super) fn group(a: &Args<'_>) -> Result<Command, ParseError> {
    one_word(a, "GROUP needs one newsgroup name", |g| Command::Group(g.to_string()))
}
pub(super) fn listgroup(a: &Args<'_>) -> Result<Command, ParseError> {
    match a.words {
        [] => Ok(Command::ListGroup { group: None, range: None }),
        [group] => Ok(Command::ListGroup { group: Some(group.to_string()), range: None }),
        [group, range] => Ok(Command::ListGroup {
            group: Some(group.to_string()),
            range: Some(article_range(range).ok_or(ParseError::Syntax("bad range"))?),
        }),
        _ => Err(ParseError::Syntax("LISTGROUP [newsgroup [range]]")),
    }
}
pub(super) fn mode_reader(a: &Args<'_>) -> Result<Command, ParseError> {
    match a.words {
        [] => Ok(Command::ModeReader),
        _ => Err(ParseError::Syntax("only MODE READER is supported")),
    }
}
fn over_spec(a: &Args<'_>, legacy: bool) -> Result<Command, ParseError> {
    match a.words {
        [] => Ok(Command::Over { spec: None, legacy }),
        [spec] => Ok(Command::Over { spec: Some(range_spec(spec)?), legacy }),
        _ => Err(ParseError::Syntax("OVER [range|message-id]")),
    }
}
pub(super) fn over(a: &Args<'_>) -> Result<Command, ParseError> {
    over_spec(a, false)
}
pub(super) fn xover(a: &Args<'_>) -> Result<Command, ParseError> {
    over_spec(a, true)
}
fn hdr_spec(a: &Args<'_>, legacy: bool) -> Result<Command, ParseError> {
    match a.words {
        [field] => Ok(Command::Hdr { field: field.to_string(), spec: None, legacy }),
        [field, spec] => Ok(Command::Hdr { field: field.to_string(), spec: Some(range_spec(spec)?), legacy }),
        _ => Err(ParseError::Syntax("HDR header [range|message-id]")),
    }
}
pub(super) fn hdr(a: &Args<'_>) -> Result<Command, ParseError> {
    hdr_spec(a, false)
}
pub(super) fn xhdr(a: &Args<'_>) -> Result<Command, ParseError> {
    hdr_spec(a, true)
}
pub(super) fn list_wildmat(a: &Args<'_>, kind: fn(Option<String>) -> ListKind) -> Result<Command, ParseError> {
    match a.words {
        [] => Ok(Command::List(kind(None))),
        [w] => Ok(Command::List(kind(Some(w.to_string())))),
        _ => Err(ParseError::Syntax("one wildmat at most")),
    }
}
pub(super) fn list_bare(a: &Args<'_>, kind: &ListKind) -> Result<Command, ParseError> {
    match a.words {
        [] => Ok(Command::List(kind.clone())),
        _ => Err(ParseError::Syntax("unknown LIST keyword")),
    }
}
pub(super) fn list_headers(a: &Args<'_>) -> Result<Command, ParseError> {
    match a.words {
        [] => Ok(Command::List(ListKind::Headers(HeadersVariant::Any))),
        [v] if v.eq_ignore_ascii_case("MSGID") => Ok(Command::List(ListKind::Headers(HeadersVariant::MsgId))),
        [v] if v.eq_ignore_ascii_case("RANGE") => Ok(Command::List(ListKind::Headers(HeadersVariant::Range))),
        _ => Err(ParseError::Syntax("LIST HEADERS [MSGID|RANGE]")),
    }
}
pub(super) fn auth_user(a: &Args<'_>) -> Result<Command, ParseError> {
    one_word(a, "AUTHINFO USER name|PASS password", |name| Command::AuthUser(name.to_string()))
}
pub(super) fn auth_pass(a: &Args<'_>) -> Result<Command, ParseError> {
    match a.words {
        // The password is the rest of the line, as sent (it may hold any spaces).
        [_, ..] => Ok(Command::AuthPass(rest_after(a.line, 2))),
        _ => Err(ParseError::Syntax("AUTHINFO USER name|PASS password")),
    }
}
pub(super) fn compress(a: &Args<'_>) -> Result<Command, ParseError> {
    one_word(a, "COMPRESS DEFLATE", |alg| Command::Compress(alg.to_ascii_uppercase()))
}
pub(super) fn xgtitle(a: &Args<'_>) -> Result<Command, ParseError> {
    match a.words {
        [] => Ok(Command::XgTitle(None)),
        [w] => Ok(Command::XgTitle(Some(w.to_string()))),
        _ => Err(ParseError::Syntax("XGTITLE [wildmat]")),
    }
}
pub(super) fn xpat(a: &Args<'_>) -> Result<Command, ParseError> {
    match a.words {
        // Thunderbird sends `XPAT SUBJECT  1- *[Ff][Oo][Oo]*`; INN joins the words of a
        // pattern containing spaces with single spaces (nnrpd's Glom).
        [field, spec, pattern @ ..] if !pattern.is_empty() => {
            Ok(Command::Xpat { field: field.to_string(), spec: range_spec(spec)?, pattern: pattern.join(" ") })
        }
        _ => Err(ParseError::Syntax("XPAT header range|message-id pattern")),
    }
}
pub(super) fn xpath(a: &Args<'_>) -> Result<Command, ParseError> {
    match a.words {
        [id] if is_message_id(id) => Ok(Command::Xpath(id.to_string())),
        _ => Err(ParseError::Syntax("XPATH message-id")),
    }
}
pub(super) fn xrover(a: &Args<'_>) -> Result<Command, ParseError> {
    match a.words {
        [] => Ok(Command::Xrover(None)),
        [spec] => Ok(Command::Xrover(Some(range_spec(spec)?))),
        _ => Err(ParseError::Syntax("XROVER [range]")),
    }
}
pub(super) fn xthread(a: &Args<'_>) -> Result<Command, ParseError> {
    match retrieve(Retrieve::Stat, a.words)? {
        Command::Article(_, spec) => Ok(Command::Xthread(spec)),
        _ => Err(ParseError::Syntax("XTHREAD [message-id|number]")),
    }
}
pub(super) fn newgroups(a: &Args<'_>) -> Result<Command, ParseError> {
    match a.words {
        // Distributions after the date (RFC 977) are accepted and ignored.
        [date, time, rest @ ..] => Ok(Command::NewGroups(client_date(date, time, rest)?)),
        _ => Err(ParseError::Syntax("NEWGROUPS [yy]yymmdd hhmmss [GMT]")),
    }
}
pub(super) fn newnews(a: &Args<'_>) -> Result<Command, ParseError> {
    match a.words {
        [wildmat, date, time, rest @ ..] => {
            Ok(Command::NewNews { wildmat: wildmat.to_string(), date: client_date(date, time, rest)? })
        }
        _ => Err(ParseError::Syntax("NEWNEWS wildmat [yy]yymmdd hhmmss [GMT]")),
    }
}

/// Splits a line into words separated by runs of SP/TAB (RFC 3977 §3.1).
fn words(line: &str) -> IResult<&str, Vec<&str>> {
    all_consuming(many0(delimited(space0, take_till1(|c| c == ' ' || c == '\t'), space0))).parse(line)
}

/// The line after its first `n` words, as sent (a password may hold any spaces).
fn rest_after(line: &str, n: usize) -> String {
    let mut rest = line;
    for _ in 0..n {
        rest = rest.trim_start_matches([' ', '\t']);
        rest = rest.find([' ', '\t']).map_or("", |i| &rest[i..]);
    }
    rest.strip_prefix([' ', '\t']).unwrap_or(rest).to_string()
}

pub(super) fn exactly(args: &[&str], n: usize, cmd: Command) -> Result<Command, ParseError> {
    if args.len() == n { Ok(cmd) } else { Err(ParseError::Syntax("wrong number of arguments")) }
}

pub(super) fn at_most(args: &[&str], n: usize, cmd: Command) -> Result<Command, ParseError> {
    if args.len() <= n { Ok(cmd) } else { Err(ParseError::Syntax("too many arguments")) }
}

fn retrieve(kind: Retrieve, args: &[&str]) -> Result<Command, ParseError> {
    match args {
        [] => Ok(Command::Article(kind, None)),
        [arg] if is_message_id(arg) => Ok(Command::Article(kind, Some(ArticleRef::MessageId(arg.to_string())))),
        [arg] => match number(arg) {
            Some(n) => Ok(Command::Article(kind, Some(ArticleRef::Number(n)))),
            None => Err(ParseError::Syntax("expected a message-id or article number")),
        },
        _ => Err(ParseError::Syntax("too many arguments")),
    }
}

/// A message-id: `<...>`, 3 to 250 printable ASCII octets (RFC 3977 §3.6).
pub fn is_message_id(s: &str) -> bool {
    s.len() >= 3
        && s.len() <= 250
        && s.starts_with('<')
        && s.ends_with('>')
        && s.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

fn number(s: &str) -> Option<u64> {
    let parsed: IResult<&str, u64> =
        all_consuming(map_res(take_while_m_n(1, MAX_NUMBER_DIGITS, |c: char| c.is_ascii_digit()), str::parse)).parse(s);
    parsed.ok().map(|(_, n)| n)
}

/// Parses `n`, `n-` or `n-m`.
pub fn article_range(s: &str) -> Option<ArticleRange> {
    let num = || map_res(take_while_m_n(1, MAX_NUMBER_DIGITS, |c: char| c.is_ascii_digit()), str::parse::<u64>);
    let parsed: IResult<&str, ArticleRange> =
        all_consuming(map((num(), opt(preceded(char('-'), opt(num())))), |(low, tail)| match tail {
            None => ArticleRange { low, high: Some(low) },
            Some(high) => ArticleRange { low, high },
        }))
        .parse(s);
    parsed.ok().map(|(_, r)| r)
}

fn range_spec(s: &str) -> Result<RangeSpec, ParseError> {
    if is_message_id(s) {
        return Ok(RangeSpec::MessageId(s.to_string()));
    }
    article_range(s).map(RangeSpec::Range).ok_or(ParseError::Syntax("expected a range or message-id"))
}

fn client_date(date: &str, time: &str, rest: &[&str]) -> Result<ClientDate, ParseError> {
    let bad = ParseError::Syntax("date must be [yy]yymmdd hhmmss [GMT]");
    let two = || map_res(take_while_m_n(2, 2, |c: char| c.is_ascii_digit()), str::parse::<u32>);
    let parsed_date: IResult<&str, (u32, u32, u32)> = all_consuming(alt((
        (map_res(take_while_m_n(4, 4, |c: char| c.is_ascii_digit()), str::parse::<u32>), two(), two())
            // A four-digit year is never read as a two-digit one, even `0024`.
            .map(|(y, m, d)| (y.max(100), m, d)),
        (two(), two(), two()),
    )))
    .parse(date);
    let (_, (year, month, day)) = parsed_date.map_err(|_| bad.clone())?;
    let parsed_time: IResult<&str, (u32, u32, u32)> = all_consuming((two(), two(), two())).parse(time);
    let (_, (hour, minute, second)) = parsed_time.map_err(|_| bad.clone())?;
    let gmt = match rest.first() {
        Some(w) if w.eq_ignore_ascii_case("GMT") => true,
        // RFC 977 distributions (`<dist,...>`) may follow; anything else is an error.
        Some(w) if w.starts_with('<') => false,
        Some(_) => return Err(bad),
        None => false,
    };
    if month == 0 || month > 12 || day == 0 || day > 31 || hour > 23 || minute > 59 || second > 60 {
        return Err(bad);
    }
    Ok(ClientDate { year, month, day, hour, minute, second, gmt })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(line: &[u8]) -> Result<Command, ParseError> {
        parse(line).map(|p| p.command)
    }

    fn ok(line: &str) -> Command {
        cmd(line.as_bytes()).unwrap_or_else(|e| panic!("{line:?}: {e:?}"))
    }

    #[test]
    fn verbs_are_case_insensitive_and_spacing_is_free() {
        assert_eq!(ok("group org.kernel"), Command::Group("org.kernel".into()));
        assert_eq!(ok("GrOuP\t org.kernel  "), Command::Group("org.kernel".into()));
        assert_eq!(ok("mode reader"), Command::ModeReader);
        assert_eq!(ok("CAPABILITIES AUTHINFO"), Command::Capabilities);
    }

    #[test]
    fn unknown_and_syntax_errors_are_distinguished() {
        assert_eq!(cmd(b"FROB"), Err(ParseError::Unknown));
        assert_eq!(cmd(b""), Err(ParseError::Unknown));
        assert!(matches!(cmd(b"LIST FOO"), Err(ParseError::Syntax(_))));
        assert!(matches!(cmd(b"GROUP"), Err(ParseError::Syntax(_))));
        assert!(matches!(cmd(b"MODE STREAM"), Err(ParseError::Syntax(_))));
        assert!(matches!(cmd(b"ARTICLE abc"), Err(ParseError::Syntax(_))));
        assert!(matches!(cmd(b"ARTICLE 12345678901234567"), Err(ParseError::Syntax(_))));
        assert!(matches!(cmd(b"DATE now"), Err(ParseError::Syntax(_))));
        assert!(matches!(cmd(b"HEAD \xff"), Err(ParseError::Syntax(_))));
    }

    #[test]
    fn article_forms() {
        assert_eq!(ok("ARTICLE"), Command::Article(Retrieve::Article, None));
        assert_eq!(ok("head 42"), Command::Article(Retrieve::Head, Some(ArticleRef::Number(42))));
        assert_eq!(ok("BODY <a@b>"), Command::Article(Retrieve::Body, Some(ArticleRef::MessageId("<a@b>".into()))));
        assert!(cmd(b"STAT <a b>").is_err());
    }

    #[test]
    fn ranges() {
        assert_eq!(article_range("5"), Some(ArticleRange { low: 5, high: Some(5) }));
        assert_eq!(article_range("5-"), Some(ArticleRange { low: 5, high: None }));
        assert_eq!(article_range("5-9"), Some(ArticleRange { low: 5, high: Some(9) }));
        assert_eq!(article_range("9-5"), Some(ArticleRange { low: 9, high: Some(5) }));
        assert_eq!(article_range("-5"), None);
        assert_eq!(article_range("5-x"), None);
        assert_eq!(
            ok("XOVER 1-"),
            Command::Over { spec: Some(RangeSpec::Range(ArticleRange { low: 1, high: None })), legacy: true }
        );
        assert_eq!(ok("OVER <x@y>"), Command::Over { spec: Some(RangeSpec::MessageId("<x@y>".into())), legacy: false });
        assert_eq!(
            ok("XHDR subject 3-4"),
            Command::Hdr {
                field: "subject".into(),
                spec: Some(RangeSpec::Range(ArticleRange { low: 3, high: Some(4) })),
                legacy: true
            }
        );
    }

    #[test]
    fn list_variants() {
        assert_eq!(ok("LIST"), Command::List(ListKind::Active(None)));
        assert_eq!(ok("list active org.*"), Command::List(ListKind::Active(Some("org.*".into()))));
        assert_eq!(ok("LIST NEWSGROUPS"), Command::List(ListKind::Newsgroups(None)));
        assert_eq!(ok("LIST overview.fmt"), Command::List(ListKind::OverviewFmt));
        assert_eq!(ok("LIST HEADERS range"), Command::List(ListKind::Headers(HeadersVariant::Range)));
        assert_eq!(
            ok("LISTGROUP g 10-"),
            Command::ListGroup { group: Some("g".into()), range: Some(ArticleRange { low: 10, high: None }) }
        );
    }

    #[test]
    fn security_commands() {
        assert_eq!(ok("AUTHINFO USER alice"), Command::AuthUser("alice".into()));
        assert_eq!(ok("authinfo pass  two  spaces "), Command::AuthPass(" two  spaces ".into()));
        assert_eq!(ok("AUTHINFO PASS secret"), Command::AuthPass("secret".into()));
        assert!(matches!(cmd(b"AUTHINFO SASL PLAIN"), Err(ParseError::Syntax(_))));
        assert!(matches!(cmd(b"AUTHINFO USER"), Err(ParseError::Syntax(_))));
        assert_eq!(ok("STARTTLS"), Command::StartTls);
        assert_eq!(ok("compress deflate"), Command::Compress("DEFLATE".into()));
        assert!(matches!(cmd(b"STARTTLS now"), Err(ParseError::Syntax(_))));
    }

    #[test]
    fn legacy_commands() {
        assert_eq!(
            ok("XPAT SUBJECT  1- *[Ff][Oo][Oo]*"),
            Command::Xpat {
                field: "SUBJECT".into(),
                spec: RangeSpec::Range(ArticleRange { low: 1, high: None }),
                pattern: "*[Ff][Oo][Oo]*".into()
            }
        );
        let Command::Xpat { pattern, .. } = ok("XPAT Subject 1-5 *foo bar*") else { panic!() };
        assert_eq!(pattern, "*foo bar*");
        assert!(matches!(cmd(b"XPAT Subject 1-5"), Err(ParseError::Syntax(_))));
        assert_eq!(ok("XPATH <a@b>"), Command::Xpath("<a@b>".into()));
        assert!(matches!(cmd(b"XPATH 12"), Err(ParseError::Syntax(_))));
        assert_eq!(ok("XGTITLE org.*"), Command::XgTitle(Some("org.*".into())));
        assert_eq!(ok("XROVER"), Command::Xrover(None));
        assert_eq!(ok("XTHREAD <a@b>"), Command::Xthread(Some(ArticleRef::MessageId("<a@b>".into()))));
        assert_eq!(ok("XTHREAD 7"), Command::Xthread(Some(ArticleRef::Number(7))));
        assert_eq!(ok("LIST COUNTS"), Command::List(ListKind::Counts(None)));
        assert_eq!(ok("list active.times a.*"), Command::List(ListKind::ActiveTimes(Some("a.*".into()))));
        assert_eq!(ok("LIST DISTRIB.PATS"), Command::List(ListKind::DistribPats));
    }

    #[test]
    fn dates_in_every_client_form() {
        let Command::NewGroups(d) = ok("NEWGROUPS 20240102 030405 GMT") else { panic!() };
        assert_eq!(d.timestamp(2026), Some(1704164645));
        assert!(d.gmt);
        let Command::NewGroups(d) = ok("NEWGROUPS 240102 030405") else { panic!() };
        assert_eq!(d.timestamp(2026), Some(1704164645));
        // A two-digit year after the current year belongs to the previous century.
        let Command::NewGroups(d) = ok("NEWGROUPS 990102 030405 GMT") else { panic!() };
        assert_eq!(d.timestamp(2026).map(|t| t < 946684800), Some(true));
        let Command::NewNews { wildmat, date } = ok("NEWNEWS org.*,!org.x 20240102 030405 GMT") else { panic!() };
        assert_eq!(wildmat, "org.*,!org.x");
        assert_eq!(date.timestamp(2026), Some(1704164645));
        assert!(matches!(cmd(b"NEWGROUPS 2024010 030405"), Err(ParseError::Syntax(_))));
        assert!(matches!(cmd(b"NEWGROUPS 20241302 030405"), Err(ParseError::Syntax(_))));
        assert!(matches!(cmd(b"NEWGROUPS 20240102 030405 UTC"), Err(ParseError::Syntax(_))));
    }

    #[test]
    fn message_ids() {
        assert!(is_message_id("<a@b>"));
        assert!(!is_message_id("<>"));
        assert!(!is_message_id("a@b"));
        assert!(!is_message_id(&format!("<{}>", "a".repeat(250))));
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn any_line_parses_or_is_refused(line in proptest::collection::vec(any::<u8>(), 0..600)) {
                let _ = parse(&line);
            }

            #[test]
            fn article_numbers_round_trip(n in 0u64..10_000_000_000_000_000) {
                prop_assert_eq!(parse(format!("ARTICLE {n}").as_bytes()).map(|p| p.command), Ok(Command::Article(Retrieve::Article, Some(ArticleRef::Number(n)))));
            }

            #[test]
            fn ranges_round_trip(low in 0u64..1_000_000_000, high in proptest::option::of(0u64..1_000_000_000)) {
                let text = match high { Some(h) => format!("{low}-{h}"), None => format!("{low}-") };
                prop_assert_eq!(article_range(&text), Some(ArticleRange { low, high }));
            }

            #[test]
            fn keywords_ignore_case_and_spacing(verb in "[gG][rR][oO][uU][pP]", sp in "[ \t]{1,5}", name in "[a-z][a-z0-9.]{0,40}") {
                prop_assert_eq!(parse(format!("{verb}{sp}{name}{sp}").as_bytes()).map(|p| p.command), Ok(Command::Group(name)));
            }
        }
    }
}
