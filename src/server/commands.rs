//! What each NNTP command does, in one place (RFC 3977 reader commands plus the RFC 2980
//! legacy forms). Every function here is synchronous and may block on sled; the session runs
//! it on tokio's blocking pool. Long listings return a [`Cursor`] and are sent in chunks.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;

use crate::config::{Config, GroupConfig};
use crate::protocol::command::{
    ArticleRange, ArticleRef, COMMANDS, Command, ListKind, ParseError, RangeSpec, Retrieve,
};
use crate::protocol::{Wildmat, response};
use crate::store::overview::{self, push_field};
use crate::store::{Article, GroupMeta, OverviewEntry, Store, StoreError};

/// Stop adding to a response buffer past this size; the rest follows in the next chunk.
pub const CHUNK: usize = 256 << 10;

/// What the sessions share: the store and the configured groups.
pub struct Context {
    pub store: Store,
    pub hostname: String,
    groups: HashMap<String, GroupConfig>,
    motd: Option<String>,
    /// User name -> password hash.
    users: HashMap<String, String>,
    allow_plaintext_auth: bool,
    /// A certificate is configured, so STARTTLS can be offered.
    tls_available: bool,
    /// Some group has `readers`: listings and Xref must be filtered per session.
    private: bool,
}

/// What a session may do with a group.
enum Access {
    Open(GroupMeta),
    NoSuch,
    /// A private group, and the session has not authenticated (RFC 4643: 480).
    AuthRequired,
}

impl Context {
    pub fn new(store: Store, config: &Config) -> Arc<Context> {
        let groups = config.groups.iter().map(|g| (g.name.clone(), g.clone())).collect();
        let private = config.groups.iter().any(|g| !g.readers.is_empty());
        Arc::new(Context {
            store,
            hostname: config.server.hostname.clone(),
            groups,
            motd: config.server.motd.clone(),
            users: config.users.iter().map(|u| (u.name.clone(), u.password_hash.clone())).collect(),
            allow_plaintext_auth: config.server.allow_plaintext_auth,
            tls_available: config.server.tls_cert.is_some(),
            private,
        })
    }

    /// May this session see the group? Public groups: everyone; private ones: their readers.
    fn can_read(&self, state: &State, name: &str) -> bool {
        match self.groups.get(name) {
            Some(g) => g.readers.is_empty() || state.user.as_ref().is_some_and(|u| g.readers.contains(u)),
            None => false,
        }
    }

    fn access(&self, state: &State, name: &str) -> Result<Access> {
        if !self.groups.contains_key(name) {
            return Ok(Access::NoSuch);
        }
        if !self.can_read(state, name) {
            // Before authentication a private group asks for it; after, it stays invisible.
            return Ok(if state.user.is_none() { Access::AuthRequired } else { Access::NoSuch });
        }
        Ok(self.store.group(name)?.map_or(Access::NoSuch, Access::Open))
    }

    /// A group this session may read, with its counters.
    fn group(&self, state: &State, name: &str) -> Result<Option<GroupMeta>> {
        match self.access(state, name)? {
            Access::Open(meta) => Ok(Some(meta)),
            _ => Ok(None),
        }
    }

    /// The groups this session may read, with their counters, sorted by name.
    fn groups(&self, state: &State) -> Result<Vec<(String, GroupMeta)>> {
        Ok(self.store.groups()?.into_iter().filter(|(name, _)| self.can_read(state, name)).collect())
    }

    /// An article is visible if one of its groups is.
    fn visible(&self, state: &State, memberships: &[(u32, u64)]) -> Result<bool> {
        if !self.private {
            return Ok(true);
        }
        for (gid, _) in memberships {
            if let Some(name) = self.store.group_name(*gid)?
                && self.can_read(state, &name)
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// A stored `group:number …` list without the groups this session may not see.
    fn xref<'a>(&self, state: &State, xref: &'a [u8]) -> std::borrow::Cow<'a, [u8]> {
        if !self.private {
            return std::borrow::Cow::Borrowed(xref);
        }
        let kept: Vec<&[u8]> = xref
            .split(|&b| b == b' ')
            .filter(|part| {
                let name = part.rsplitn(2, |&b| b == b':').nth(1).unwrap_or(part);
                self.can_read(state, &String::from_utf8_lossy(name))
            })
            .collect();
        std::borrow::Cow::Owned(kept.join(&b' '))
    }
}

/// Per-session state (RFC 3977 §6.1: both start invalid).
#[derive(Debug, Default, Clone)]
pub struct State {
    pub group: Option<(String, u32)>,
    pub article: Option<u64>,
    /// slrn 1.0 turns XOVER off on `:bytes`; INN answers in the old form until CAPABILITIES.
    pub sent_capabilities: bool,
    /// The connection is encrypted (NNTPS or after STARTTLS).
    pub tls: bool,
    /// COMPRESS DEFLATE is active.
    pub compressed: bool,
    /// The user AUTHINFO accepted.
    pub user: Option<String>,
    /// AUTHINFO USER given, PASS awaited.
    pending_user: Option<String>,
}

impl State {
    /// A session's state right after the greeting (RFC 4642 §2.2.2 returns to it after TLS).
    pub fn fresh(tls: bool) -> State {
        State { tls, ..State::default() }
    }
}

/// How a command left the session.
pub enum Flow {
    Continue,
    Quit,
    /// `382` was sent: the session must start TLS before reading anything else.
    StartTls,
    /// `206` was sent: the session must wrap itself in DEFLATE.
    Compress,
    /// A long response continues: call [`resume`] until it returns `None`.
    More(Cursor),
}

/// Where a chunked listing stopped.
pub enum Cursor {
    Over { gid: u32, next: u64, end: u64 },
    Hdr { gid: u32, field: HdrField, filter: Option<Wildmat>, next: u64, end: u64 },
    ListGroup { gid: u32, next: u64, end: u64 },
    NewNews { wildmat: Wildmat, since: i64, from_aid: u64 },
}

/// A header asked for by HDR/XHDR, resolved once per command.
#[derive(Clone)]
pub enum HdrField {
    /// Stored in the overview: field index 0..=6.
    Overview(usize),
    Xref,
    Path,
    Newsgroups,
    /// Any other header, read from the stored article.
    Other(String),
}

impl HdrField {
    fn parse(name: &str) -> HdrField {
        let lower = name.to_ascii_lowercase();
        match lower.as_str() {
            "subject" => HdrField::Overview(0),
            "from" => HdrField::Overview(1),
            "date" => HdrField::Overview(2),
            "message-id" => HdrField::Overview(3),
            "references" => HdrField::Overview(4),
            ":bytes" | "bytes" => HdrField::Overview(5),
            ":lines" | "lines" => HdrField::Overview(6),
            "xref" => HdrField::Xref,
            "path" => HdrField::Path,
            "newsgroups" => HdrField::Newsgroups,
            _ => HdrField::Other(name.to_string()),
        }
    }
}

/// Runs one command line. Store failures become `403` (RFC 3977 §3.2.1) and the session goes on.
pub fn execute(ctx: &Context, state: &mut State, line: &[u8], out: &mut Vec<u8>) -> Flow {
    let command = match crate::protocol::command::parse(line) {
        Ok(c) => c,
        Err(ParseError::Unknown) => {
            response::status(out, 500, "Unknown command");
            return Flow::Continue;
        }
        Err(ParseError::Syntax(why)) => {
            response::status(out, 501, format_args!("Syntax error: {why}"));
            return Flow::Continue;
        }
    };
    let mark = out.len();
    match run(ctx, state, command, out) {
        Ok(flow) => flow,
        Err(e) => {
            tracing::error!(error = %e, "store failure");
            out.truncate(mark);
            response::status(out, 403, "Internal fault; try again later");
            Flow::Continue
        }
    }
}

type Result<T> = std::result::Result<T, StoreError>;

fn run(ctx: &Context, state: &mut State, command: Command, out: &mut Vec<u8>) -> Result<Flow> {
    match command {
        Command::Capabilities => capabilities(ctx, state, out),
        Command::ModeReader => response::status(out, 201, "Reader mode, posting prohibited"),
        Command::Quit => {
            response::status(out, 205, "Bye");
            return Ok(Flow::Quit);
        }
        Command::Help => help(out),
        Command::Date => response::status(out, 111, response::date_value(crate::import::now())),
        Command::Group(name) => group(ctx, state, &name, out)?,
        Command::ListGroup { group, range } => return listgroup(ctx, state, group.as_deref(), range, out),
        Command::Next => next_last(ctx, state, false, out)?,
        Command::Last => next_last(ctx, state, true, out)?,
        Command::Article(kind, spec) => article(ctx, state, kind, spec, out)?,
        Command::Over { spec, legacy } => return over(ctx, state, spec, legacy, out),
        Command::Hdr { field, spec, legacy } => {
            let kind = if legacy { HdrKind::Xhdr } else { HdrKind::Hdr };
            return hdr(ctx, state, &field, spec, kind, out);
        }
        Command::Xpat { field, spec, pattern } => {
            return hdr(ctx, state, &field, Some(spec), HdrKind::Xpat(Wildmat::simple(&pattern)), out);
        }
        Command::Xrover(spec) => return hdr(ctx, state, "References", spec, HdrKind::Xrover, out),
        Command::XgTitle(pattern) => {
            // RFC 2980 §2.4: without an argument, the current group.
            let pattern = match (pattern, &state.group) {
                (Some(p), _) => p,
                (None, Some((name, _))) => name.clone(),
                (None, None) => {
                    response::status(out, 412, "No newsgroup selected");
                    return Ok(Flow::Continue);
                }
            };
            response::status(out, 282, "Descriptions follow");
            newsgroups(ctx, state, Some(&pattern), out)?;
        }
        Command::Xpath(id) => xpath(ctx, state, &id, out)?,
        Command::Xthread(spec) => xthread(ctx, state, spec, out)?,
        Command::AuthUser(name) => authinfo(ctx, state, Some(name), None, out),
        Command::AuthPass(password) => authinfo(ctx, state, None, Some(password), out),
        Command::StartTls => {
            // RFC 4642 §2.2.1: 502 once TLS is active or the client authenticated.
            if state.tls || state.user.is_some() || state.compressed {
                response::status(out, 502, "STARTTLS not allowed now");
            } else if !ctx.tls_available {
                response::status(out, 580, "Can not initiate TLS negotiation: no certificate configured");
            } else {
                response::status(out, 382, "Continue with TLS negotiation");
                return Ok(Flow::StartTls);
            }
        }
        Command::Compress(algorithm) => {
            if state.compressed {
                response::status(out, 502, "Compression already active");
            } else if algorithm != "DEFLATE" {
                response::status(out, 503, "Compression algorithm not supported");
            } else {
                response::status(out, 206, "Compression active");
                return Ok(Flow::Compress);
            }
        }
        Command::List(kind) => list(ctx, state, kind, out)?,
        Command::NewGroups(date) => newgroups(ctx, state, date.timestamp(current_year()), out)?,
        Command::NewNews { wildmat, date } => {
            let since = date.timestamp(current_year()).unwrap_or(0);
            response::status(out, 230, "List of new articles follows");
            return Ok(Flow::More(Cursor::NewNews { wildmat: Wildmat::parse(&wildmat), since, from_aid: 0 }));
        }
        Command::Post => post(ctx, state, out),
        Command::Ihave => response::status(out, 435, "Article not wanted; this archive takes mail, not news"),
    }
    Ok(Flow::Continue)
}

fn current_year() -> i32 {
    use chrono::Datelike;
    chrono::Utc::now().year()
}

fn capabilities(ctx: &Context, state: &mut State, out: &mut Vec<u8>) {
    state.sent_capabilities = true;
    response::status(out, 101, "Capability list:");
    let mut list = String::from("LIST ACTIVE ACTIVE.TIMES COUNTS HEADERS");
    // Only what has data: tin reads LIST MOTD when it is advertised.
    if ctx.motd.is_some() {
        list.push_str(" MOTD");
    }
    list.push_str(" NEWSGROUPS OVERVIEW.FMT");
    if ctx.groups.values().any(|g| g.subscribe) {
        list.push_str(" SUBSCRIPTIONS");
    }
    let mut caps = vec![
        "VERSION 2",
        concat!("IMPLEMENTATION listnews ", env!("CARGO_PKG_VERSION")),
        "READER",
        "HDR",
        &list,
        "NEWNEWS",
        "OVER MSGID",
        // Private extensions (RFC 3977 §3.3.1): XPAT (RFC 2980; tin reads it) and XTHREAD.
        "XPAT",
        "XTHREAD",
    ];
    if ctx.tls_available && !state.tls && state.user.is_none() && !state.compressed {
        caps.push("STARTTLS");
    }
    if !ctx.users.is_empty() && state.user.is_none() {
        // RFC 4643 §2.1: without USER while it would be refused (no TLS yet).
        caps.push(if state.tls || ctx.allow_plaintext_auth { "AUTHINFO USER" } else { "AUTHINFO" });
    }
    if !state.compressed {
        caps.push("COMPRESS DEFLATE");
    }
    for cap in caps {
        response::line(out, cap.as_bytes());
    }
    response::end(out);
}

/// AUTHINFO USER / PASS (RFC 4643 §2.3).
fn authinfo(ctx: &Context, state: &mut State, user: Option<String>, password: Option<String>, out: &mut Vec<u8>) {
    if state.user.is_some() {
        response::status(out, 502, "Already authenticated");
        return;
    }
    if !state.tls && !ctx.allow_plaintext_auth {
        response::status(out, 483, "Encryption required: use STARTTLS or NNTPS first");
        return;
    }
    if let Some(name) = user {
        state.pending_user = Some(name);
        response::status(out, 381, "Password required");
        return;
    }
    let Some(name) = state.pending_user.take() else {
        response::status(out, 482, "Authentication commands issued out of sequence");
        return;
    };
    let password = password.unwrap_or_default();
    let ok = ctx.users.get(&name).is_some_and(|hash| {
        use argon2::PasswordVerifier;
        argon2::PasswordHash::new(hash)
            .is_ok_and(|h| argon2::Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
    });
    if ok {
        tracing::info!(user = name, "authenticated");
        state.user = Some(name);
        response::status(out, 281, "Authentication accepted");
    } else {
        tracing::info!(user = name, "authentication failed");
        response::status(out, 481, "Authentication failed");
    }
}

fn help(out: &mut Vec<u8>) {
    response::status(out, 100, "Help text follows");
    for c in COMMANDS {
        let text = format!("  {} {}", c.name, c.usage);
        response::line(out, text.trim_end().as_bytes());
    }
    response::end(out);
}

fn post(ctx: &Context, state: &State, out: &mut Vec<u8>) {
    let address = state.group.as_ref().and_then(|(name, _)| ctx.groups.get(name)).and_then(|g| g.address.as_deref());
    match (address, &state.group) {
        (Some(addr), Some((name, _))) => {
            response::status(out, 440, format_args!("Posting not permitted; mail {addr} to post to {name}"))
        }
        _ => response::status(out, 440, "Posting not permitted; this archive is read-only, post to the lists by mail"),
    }
}

/// Makes `name` the current group; writes the error response when it cannot be.
fn select_group(ctx: &Context, state: &mut State, name: &str, out: &mut Vec<u8>) -> Result<Option<GroupMeta>> {
    match ctx.access(state, name)? {
        Access::Open(meta) => {
            state.group = Some((name.to_string(), meta.id));
            state.article = (meta.count > 0).then_some(meta.low);
            Ok(Some(meta))
        }
        Access::AuthRequired => {
            response::status(out, 480, "Authentication required");
            Ok(None)
        }
        Access::NoSuch => {
            response::status(out, 411, format_args!("No such newsgroup: {name}"));
            Ok(None)
        }
    }
}

fn group(ctx: &Context, state: &mut State, name: &str, out: &mut Vec<u8>) -> Result<()> {
    if let Some(m) = select_group(ctx, state, name, out)? {
        response::status(out, 211, format_args!("{} {} {} {}", m.count, m.low, m.high, name));
    }
    Ok(())
}

/// Clamps a client range to what the group holds; `None` when nothing can match.
fn clamp(range: Option<ArticleRange>, meta: &GroupMeta) -> Option<(u64, u64)> {
    let (low, high) = match range {
        None => (meta.low, meta.high),
        Some(r) => (r.low.max(meta.low), r.high.unwrap_or(meta.high).min(meta.high)),
    };
    (low <= high && meta.count > 0).then_some((low, high))
}

fn listgroup(
    ctx: &Context,
    state: &mut State,
    name: Option<&str>,
    range: Option<ArticleRange>,
    out: &mut Vec<u8>,
) -> Result<Flow> {
    let meta = match name {
        Some(name) => match select_group(ctx, state, name, out)? {
            Some(m) => m,
            None => return Ok(Flow::Continue),
        },
        None => match &state.group {
            Some((name, _)) => match ctx.group(state, name)? {
                Some(m) => m,
                None => {
                    response::status(out, 412, "No newsgroup selected");
                    return Ok(Flow::Continue);
                }
            },
            None => {
                response::status(out, 412, "No newsgroup selected");
                return Ok(Flow::Continue);
            }
        },
    };
    let group_name = state.group.as_ref().map(|(n, _)| n.clone()).unwrap_or_default();
    response::status(out, 211, format_args!("{} {} {} {} list follows", meta.count, meta.low, meta.high, group_name));
    match clamp(range, &meta) {
        Some((next, end)) => Ok(Flow::More(Cursor::ListGroup { gid: meta.id, next, end })),
        None => {
            response::end(out);
            Ok(Flow::Continue)
        }
    }
}

fn next_last(ctx: &Context, state: &mut State, backwards: bool, out: &mut Vec<u8>) -> Result<()> {
    let Some((_, gid)) = state.group.clone() else {
        response::status(out, 412, "No newsgroup selected");
        return Ok(());
    };
    let Some(current) = state.article else {
        response::status(out, 420, "Current article number is invalid");
        return Ok(());
    };
    let Some(num) = ctx.store.neighbour(gid, current, backwards)? else {
        if backwards {
            response::status(out, 422, "No previous article in this group");
        } else {
            response::status(out, 421, "No next article in this group");
        }
        return Ok(());
    };
    let id =
        ctx.store.overview(gid, num)?.map(|e| String::from_utf8_lossy(e.field(3)).into_owned()).unwrap_or_default();
    state.article = Some(num);
    response::status(out, 223, format_args!("{num} {id} retrieved"));
    Ok(())
}

/// Resolves an ARTICLE/HEAD/BODY/STAT argument to (number to report, article), writing the
/// error response itself when there is none.
fn find_article(
    ctx: &Context,
    state: &mut State,
    spec: Option<ArticleRef>,
    out: &mut Vec<u8>,
) -> Result<Option<(u64, Article)>> {
    match spec {
        Some(ArticleRef::MessageId(id)) => match ctx.store.article_by_message_id(&id)? {
            // By message-id the state does not change; the number is reported if the
            // article is in the current group, else 0 (RFC 3977 §6.2.1.2).
            Some(a) if ctx.visible(state, &a.memberships)? => {
                let num = state.group.as_ref().and_then(|(_, gid)| a.number_in(*gid)).unwrap_or(0);
                Ok(Some((num, a)))
            }
            _ => {
                response::status(out, 430, "No article with that message-id");
                Ok(None)
            }
        },
        Some(ArticleRef::Number(num)) => {
            let Some((_, gid)) = state.group.clone() else {
                response::status(out, 412, "No newsgroup selected");
                return Ok(None);
            };
            match ctx.store.overview(gid, num)? {
                Some(entry) => match ctx.store.article(entry.article_id())? {
                    Some(a) => {
                        state.article = Some(num);
                        Ok(Some((num, a)))
                    }
                    None => {
                        response::status(out, 423, "No article with that number");
                        Ok(None)
                    }
                },
                None => {
                    response::status(out, 423, "No article with that number");
                    Ok(None)
                }
            }
        }
        None => {
            let Some((_, gid)) = state.group.clone() else {
                response::status(out, 412, "No newsgroup selected");
                return Ok(None);
            };
            let Some(num) = state.article else {
                response::status(out, 420, "Current article number is invalid");
                return Ok(None);
            };
            match ctx.store.overview(gid, num)?.map(|e| e.article_id()) {
                Some(aid) => Ok(ctx.store.article(aid)?.map(|a| (num, a))),
                None => {
                    response::status(out, 420, "Current article number is invalid");
                    Ok(None)
                }
            }
        }
    }
}

/// Names and numbers of the groups in `memberships` (those still configured).
fn group_names(ctx: &Context, state: &State, memberships: &[(u32, u64)]) -> Result<Vec<(String, u64)>> {
    let mut names = Vec::with_capacity(memberships.len());
    for (gid, num) in memberships {
        if let Some(name) = ctx.store.group_name(*gid)?.filter(|n| ctx.can_read(state, n)) {
            names.push((name, *num));
        }
    }
    Ok(names)
}

/// The headers a news server adds on output: Path, Newsgroups and Xref (RFC 5536 §3.1.4-5,
/// §3.2.14), from the article's memberships.
fn served_headers(ctx: &Context, state: &State, memberships: &[(u32, u64)], out: &mut Vec<u8>) -> Result<()> {
    let names = group_names(ctx, state, memberships)?;
    let _ = write!(out, "Path: {}!not-for-mail\r\nNewsgroups: ", ctx.hostname);
    for (i, (name, _)) in names.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(name.as_bytes());
    }
    let _ = write!(out, "\r\nXref: {}", ctx.hostname);
    for (name, num) in &names {
        let _ = write!(out, " {name}:{num}");
    }
    out.extend_from_slice(b"\r\n");
    Ok(())
}

fn article(
    ctx: &Context,
    state: &mut State,
    kind: Retrieve,
    spec: Option<ArticleRef>,
    out: &mut Vec<u8>,
) -> Result<()> {
    let Some((num, article)) = find_article(ctx, state, spec, out)? else { return Ok(()) };
    let what = match kind {
        Retrieve::Article => "article",
        Retrieve::Head => "head",
        Retrieve::Body => "body",
        Retrieve::Stat => "status",
    };
    response::status(out, kind.code(), format_args!("{num} {} {what}", article.message_id()));
    if kind == Retrieve::Stat {
        return Ok(());
    }
    out.reserve(article.wire().len() + 200);
    if matches!(kind, Retrieve::Article | Retrieve::Head) {
        served_headers(ctx, state, &article.memberships, out)?;
        out.extend_from_slice(article.head());
    }
    if kind == Retrieve::Article {
        out.extend_from_slice(b"\r\n");
    }
    if matches!(kind, Retrieve::Article | Retrieve::Body) {
        out.extend_from_slice(article.body());
    }
    response::end(out);
    Ok(())
}

/// An inclusive range of article numbers that holds at least one article.
type Span = (u64, u64);

/// Resolves the range of OVER/HDR: a range in the current group, or the current article.
/// Writes the error response and returns `None` when there is nothing to answer.
fn resolve_range(
    ctx: &Context,
    state: &State,
    range: Option<ArticleRange>,
    out: &mut Vec<u8>,
) -> Result<Option<(u32, Option<Span>)>> {
    let Some((name, gid)) = state.group.clone() else {
        response::status(out, 412, "No newsgroup selected");
        return Ok(None);
    };
    match range {
        Some(r) => {
            let Some(meta) = ctx.group(state, &name)? else {
                response::status(out, 412, "No newsgroup selected");
                return Ok(None);
            };
            // Only ranges that hold at least one article count as non-empty.
            let clamped =
                clamp(Some(r), &meta).filter(|(low, high)| ctx.store.overview_range(gid, *low, *high).next().is_some());
            Ok(Some((gid, clamped)))
        }
        None => match state.article {
            Some(num) => Ok(Some((gid, Some((num, num))))),
            None => {
                response::status(out, 420, "Current article number is invalid");
                Ok(None)
            }
        },
    }
}

fn over(ctx: &Context, state: &mut State, spec: Option<RangeSpec>, legacy: bool, out: &mut Vec<u8>) -> Result<Flow> {
    let range = match spec {
        Some(RangeSpec::MessageId(id)) => {
            let Some(entry) = ctx.store.message_id(&id)?.filter(|e| e.aid != 0) else {
                response::status(out, 430, "No article with that message-id");
                return Ok(Flow::Continue);
            };
            let Some(article) = ctx.store.article_meta(entry.aid)?.filter(|a| ctx.visible(state, &a.memberships).unwrap_or(false)) else {
                response::status(out, 430, "No article with that message-id");
                return Ok(Flow::Continue);
            };
            let Some(&(gid, num)) = article.memberships.first() else {
                response::status(out, 430, "No article with that message-id");
                return Ok(Flow::Continue);
            };
            let Some(e) = ctx.store.overview(gid, num)? else {
                response::status(out, 430, "No article with that message-id");
                return Ok(Flow::Continue);
            };
            let shown = state.group.as_ref().and_then(|(_, g)| article.number_in(*g)).unwrap_or(0);
            response::status(out, 224, "Overview information follows");
            overview::write_line(out, shown, e.fields(), &ctx.hostname, &ctx.xref(state, e.xref()));
            response::end(out);
            return Ok(Flow::Continue);
        }
        Some(RangeSpec::Range(r)) => Some(r),
        None => None,
    };
    let Some((gid, span)) = resolve_range(ctx, state, range, out)? else { return Ok(Flow::Continue) };
    match span {
        Some((next, end)) => {
            response::status(out, 224, "Overview information follows");
            Ok(Flow::More(Cursor::Over { gid, next, end }))
        }
        // INN answers XOVER on an empty range with an empty 224 (Outlook Express needs it).
        None if legacy => {
            response::status(out, 224, "Overview information follows");
            response::end(out);
            Ok(Flow::Continue)
        }
        None if range.is_none() => {
            response::status(out, 420, "Current article number is invalid");
            Ok(Flow::Continue)
        }
        None => {
            response::status(out, 423, "No articles in that range");
            Ok(Flow::Continue)
        }
    }
}

/// The HDR family: one header of each article.
#[derive(Clone)]
pub enum HdrKind {
    /// HDR (RFC 3977 §8.5): 225; `0 value` for a message-id.
    Hdr,
    /// XHDR (RFC 2980 §2.6): 221; `<id> value` for a message-id.
    Xhdr,
    /// XPAT (RFC 2980 §2.9): XHDR limited to values matching the pattern.
    Xpat(Wildmat),
    /// XROVER (RFC 2980 §2.11): References, answered 224.
    Xrover,
}

impl HdrKind {
    fn code(&self) -> u16 {
        match self {
            HdrKind::Hdr => 225,
            HdrKind::Xhdr | HdrKind::Xpat(_) => 221,
            HdrKind::Xrover => 224,
        }
    }
    fn filter(&self) -> Option<Wildmat> {
        match self {
            HdrKind::Xpat(w) => Some(w.clone()),
            _ => None,
        }
    }
}

fn hdr(
    ctx: &Context,
    state: &mut State,
    name: &str,
    spec: Option<RangeSpec>,
    kind: HdrKind,
    out: &mut Vec<u8>,
) -> Result<Flow> {
    let field = HdrField::parse(name);
    let code = kind.code();
    let range = match spec {
        Some(RangeSpec::MessageId(id)) => {
            let visible = match ctx.store.message_id(&id)?.filter(|e| e.aid != 0) {
                Some(e) => ctx.store.article_meta(e.aid)?.filter(|m| ctx.visible(state, &m.memberships).unwrap_or(false)).map(|_| e),
                None => None,
            };
            let Some(entry) = visible else {
                response::status(out, 430, "No article with that message-id");
                return Ok(Flow::Continue);
            };
            response::status(out, code, "Headers follow");
            let mut value = Vec::new();
            field_value(ctx, state, entry.aid, None, &field, &mut value)?;
            if kind.filter().is_none_or(|w| w.matches_bytes(&value)) {
                // HDR shows 0 for a message-id (RFC 3977 §8.5.2); the X commands the id.
                let mut line = if matches!(kind, HdrKind::Hdr) { b"0".to_vec() } else { id.into_bytes() };
                line.push(b' ');
                line.extend_from_slice(&value);
                response::line(out, &line);
            }
            response::end(out);
            return Ok(Flow::Continue);
        }
        Some(RangeSpec::Range(r)) => Some(r),
        None => None,
    };
    let Some((gid, span)) = resolve_range(ctx, state, range, out)? else { return Ok(Flow::Continue) };
    match span {
        Some((next, end)) => {
            response::status(out, code, "Headers follow");
            Ok(Flow::More(Cursor::Hdr { gid, field, filter: kind.filter(), next, end }))
        }
        // The legacy commands answer an empty range with an empty list, as INN does.
        None if !matches!(kind, HdrKind::Hdr) => {
            response::status(out, code, "Headers follow");
            response::end(out);
            Ok(Flow::Continue)
        }
        None if range.is_none() => {
            response::status(out, 420, "Current article number is invalid");
            Ok(Flow::Continue)
        }
        None => {
            response::status(out, 423, "No articles in that range");
            Ok(Flow::Continue)
        }
    }
}

/// One header value of an article as HDR shows it (first occurrence, unfolded). `entry` is
/// its overview entry when the caller has it at hand.
fn field_value(
    ctx: &Context,
    state: &State,
    aid: u64,
    entry: Option<&OverviewEntry>,
    field: &HdrField,
    out: &mut Vec<u8>,
) -> Result<()> {
    match field {
        HdrField::Overview(_) | HdrField::Xref => match entry {
            Some(e) => entry_field(ctx, state, e, field, out),
            None => {
                if let Some(meta) = ctx.store.article_meta(aid)?
                    && let Some(&(gid, num)) = meta.memberships.first()
                    && let Some(e) = ctx.store.overview(gid, num)?
                {
                    entry_field(ctx, state, &e, field, out);
                }
            }
        },
        HdrField::Path => {
            let _ = write!(out, "{}!not-for-mail", ctx.hostname);
        }
        HdrField::Newsgroups => {
            if let Some(meta) = ctx.store.article_meta(aid)? {
                for (i, (name, _)) in group_names(ctx, state, &meta.memberships)?.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(name.as_bytes());
                }
            }
        }
        HdrField::Other(name) => {
            if let Some(article) = ctx.store.article(aid)?
                && let Some(v) = header_value(article.head(), name)
            {
                push_field(out, overview::trim(v));
            }
        }
    }
    Ok(())
}

fn entry_field(ctx: &Context, state: &State, entry: &OverviewEntry, field: &HdrField, out: &mut Vec<u8>) {
    match field {
        HdrField::Overview(i) => out.extend_from_slice(entry.field(*i)),
        HdrField::Xref => {
            out.extend_from_slice(ctx.hostname.as_bytes());
            out.push(b' ');
            out.extend_from_slice(&ctx.xref(state, entry.xref()));
        }
        _ => {}
    }
}

/// The raw (folded) value of the first `name:` header in a stored head.
fn header_value<'a>(head: &'a [u8], name: &str) -> Option<&'a [u8]> {
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

fn list(ctx: &Context, state: &State, kind: ListKind, out: &mut Vec<u8>) -> Result<()> {
    let matching = |pattern: Option<&str>| -> Result<Vec<(String, GroupMeta)>> {
        let wildmat = pattern.map_or_else(Wildmat::any, Wildmat::parse);
        Ok(ctx.groups(state)?.into_iter().filter(|(name, _)| wildmat.matches(name)).collect())
    };
    match kind {
        ListKind::Active(pattern) => {
            response::status(out, 215, "List of newsgroups follows");
            for (name, meta) in matching(pattern.as_deref())? {
                // An archive takes no posts: status `n`, as public-inbox sends.
                response::line_fmt(out, format_args!("{name} {} {} n", meta.high, meta.low));
            }
            response::end(out);
        }
        ListKind::ActiveTimes(pattern) => {
            response::status(out, 215, "Group creation times follow");
            for (name, meta) in matching(pattern.as_deref())? {
                let creator = ctx.groups.get(&name).and_then(|g| g.address.as_deref()).unwrap_or("listnews");
                response::line_fmt(out, format_args!("{name} {} {creator}", meta.created));
            }
            response::end(out);
        }
        ListKind::Counts(pattern) => {
            // RFC 6048 §2.2: like ACTIVE, with the count before the status.
            response::status(out, 215, "Groups and counts follow");
            for (name, meta) in matching(pattern.as_deref())? {
                response::line_fmt(out, format_args!("{name} {} {} {} n", meta.high, meta.low, meta.count));
            }
            response::end(out);
        }
        ListKind::Newsgroups(pattern) => {
            response::status(out, 215, "Descriptions follow");
            newsgroups(ctx, state, pattern.as_deref(), out)?;
        }
        ListKind::Motd => match &ctx.motd {
            Some(motd) => {
                response::status(out, 215, "Message of the day follows");
                for line in motd.lines() {
                    response::line(out, line.trim_end_matches('\r').as_bytes());
                }
                response::end(out);
            }
            None => response::status(out, 503, "No message of the day"),
        },
        ListKind::Subscriptions => {
            let groups: Vec<&String> = {
                let mut g: Vec<&String> =
                    ctx.groups.values().filter(|g| g.subscribe && ctx.can_read(state, &g.name)).map(|g| &g.name).collect();
                g.sort();
                g
            };
            if groups.is_empty() {
                response::status(out, 503, "No default subscriptions");
            } else {
                response::status(out, 215, "Default subscriptions follow");
                for name in groups {
                    response::line(out, name.as_bytes());
                }
                response::end(out);
            }
        }
        // RFC 6048: a known keyword without data is 503. Mail has no distributions.
        ListKind::DistribPats | ListKind::Distributions => {
            response::status(out, 503, "No distributions on this server")
        }
        ListKind::OverviewFmt => {
            response::status(out, 215, "Order of fields in overview database");
            let metadata: [&str; 2] = if state.sent_capabilities { [":bytes", ":lines"] } else { ["Bytes:", "Lines:"] };
            for field in
                ["Subject:", "From:", "Date:", "Message-ID:", "References:", metadata[0], metadata[1], "Xref:full"]
            {
                response::line(out, field.as_bytes());
            }
            response::end(out);
        }
        ListKind::Headers(_) => {
            response::status(out, 215, "Headers and metadata items supported");
            // `:` means any header (RFC 3977 §8.6); metadata items are listed by name. HDR
            // answers any header by range and by message-id alike, so MSGID and RANGE list
            // the same.
            response::line(out, b":");
            response::line(out, b":bytes");
            response::line(out, b":lines");
            response::end(out);
        }
    }
    Ok(())
}

/// The body of LIST NEWSGROUPS and XGTITLE: `group<TAB>description`, then the terminator.
fn newsgroups(ctx: &Context, state: &State, pattern: Option<&str>, out: &mut Vec<u8>) -> Result<()> {
    let wildmat = pattern.map_or_else(Wildmat::any, Wildmat::parse);
    for (name, _) in ctx.groups(state)? {
        if wildmat.matches(&name) {
            let description = ctx.groups.get(&name).map_or("", |g| g.description.as_str());
            let mut line = name.into_bytes();
            line.push(b'\t');
            push_field(&mut line, description.as_bytes());
            response::line(out, &line);
        }
    }
    response::end(out);
    Ok(())
}

/// XPATH (RFC 2980 §2.10): where an article is, as `group/number` pairs.
fn xpath(ctx: &Context, state: &State, id: &str, out: &mut Vec<u8>) -> Result<()> {
    let meta = match ctx.store.message_id(id)?.filter(|e| e.aid != 0) {
        Some(e) => ctx.store.article_meta(e.aid)?,
        None => None,
    };
    let Some(meta) = meta.filter(|m| ctx.visible(state, &m.memberships).unwrap_or(false)) else {
        response::status(out, 430, "No article with that message-id");
        return Ok(());
    };
    let mut paths: Vec<String> =
        group_names(ctx, state, &meta.memberships)?.into_iter().map(|(name, num)| format!("{name}/{num}")).collect();
    paths.sort();
    response::status(out, 223, paths.join(" "));
    Ok(())
}

/// XTHREAD (listnews extension): every article of a thread in thread order, as overview
/// lines with `Xref:`, `Parent:` and `Depth:` fields; unseen parents as placeholder lines.
fn xthread(ctx: &Context, state: &mut State, spec: Option<ArticleRef>, out: &mut Vec<u8>) -> Result<()> {
    let id = match spec {
        Some(ArticleRef::MessageId(id)) => id,
        spec => {
            // A number (or none: the current article) names an article of the current group.
            let Some((_, gid)) = state.group.clone() else {
                response::status(out, 412, "No newsgroup selected");
                return Ok(());
            };
            let num = match spec {
                Some(ArticleRef::Number(n)) => n,
                _ => match state.article {
                    Some(n) => n,
                    None => {
                        response::status(out, 420, "Current article number is invalid");
                        return Ok(());
                    }
                },
            };
            match ctx.store.overview(gid, num)? {
                Some(e) => String::from_utf8_lossy(e.field(3)).into_owned(),
                None => {
                    response::status(out, 423, "No article with that number");
                    return Ok(());
                }
            }
        }
    };
    // Any id the thread graph knows works, a placeholder's too (a reader following a
    // References link to a missing parent); an article in a group this session cannot see
    // does not.
    let hidden = match ctx.store.message_id(&id)?.filter(|e| e.aid != 0) {
        Some(e) => !ctx.store.article_meta(e.aid)?.is_some_and(|m| ctx.visible(state, &m.memberships).unwrap_or(false)),
        None => false,
    };
    let thread = if hidden { None } else { ctx.store.thread(&id)? };
    let Some(thread) = thread else {
        response::status(out, 430, "No article with that message-id");
        return Ok(());
    };
    response::status(out, 224, format_args!("Thread of {id} follows ({} messages)", thread.len()));
    let current = state.group.as_ref().map(|(_, gid)| *gid);
    for entry in thread {
        let meta = if entry.aid != 0 { ctx.store.article_meta(entry.aid)? } else { None };
        // Articles this session may not see show as placeholders.
        let meta = meta.filter(|m| ctx.visible(state, &m.memberships).unwrap_or(false));
        let overview = match &meta {
            Some(m) => match m.memberships.first() {
                Some(&(gid, num)) => ctx.store.overview(gid, num)?,
                None => None,
            },
            None => None,
        };
        match (&meta, &overview) {
            (Some(m), Some(e)) => {
                let num = current.and_then(|g| m.number_in(g)).unwrap_or(0);
                let _ = write!(out, "{num}\t");
                out.extend_from_slice(e.fields());
                let _ = write!(out, "\tXref: {} ", ctx.hostname);
                out.extend_from_slice(&ctx.xref(state, e.xref()));
            }
            // A placeholder: referenced by the thread, never seen here.
            _ => {
                let _ = write!(out, "0\t\t\t\t{}\t\t0\t0\tXref:", entry.message_id);
            }
        }
        let _ = write!(out, "\tParent: {}\tDepth: {}\r\n", entry.parent.as_deref().unwrap_or(""), entry.depth);
    }
    response::end(out);
    Ok(())
}

fn newgroups(ctx: &Context, state: &State, since: Option<i64>, out: &mut Vec<u8>) -> Result<()> {
    response::status(out, 231, "List of new newsgroups follows");
    if let Some(since) = since {
        for (name, meta) in ctx.groups(state)? {
            if meta.created >= since {
                response::line_fmt(out, format_args!("{name} {} {} n", meta.high, meta.low));
            }
        }
    }
    response::end(out);
    Ok(())
}

/// Continues a chunked listing; returns the cursor for the next chunk, or `None` once the
/// terminating `.` line has been written.
pub fn resume(ctx: &Context, state: &State, cursor: Cursor, out: &mut Vec<u8>) -> std::result::Result<Option<Cursor>, StoreError> {
    match cursor {
        Cursor::Over { gid, next, end } => {
            for item in ctx.store.overview_range(gid, next, end) {
                let (num, entry) = item?;
                overview::write_line(out, num, entry.fields(), &ctx.hostname, &ctx.xref(state, entry.xref()));
                if out.len() >= CHUNK && num < end {
                    return Ok(Some(Cursor::Over { gid, next: num + 1, end }));
                }
            }
        }
        Cursor::Hdr { gid, field, filter, next, end } => {
            let mut value = Vec::new();
            for item in ctx.store.overview_range(gid, next, end) {
                let (num, entry) = item?;
                value.clear();
                field_value(ctx, state, entry.article_id(), Some(&entry), &field, &mut value)?;
                if filter.as_ref().is_none_or(|w| w.matches_bytes(&value)) {
                    let _ = write!(out, "{num} ");
                    out.extend_from_slice(&value);
                    out.extend_from_slice(b"\r\n");
                }
                if out.len() >= CHUNK && num < end {
                    return Ok(Some(Cursor::Hdr { gid, field, filter, next: num + 1, end }));
                }
            }
        }
        Cursor::ListGroup { gid, next, end } => {
            for item in ctx.store.overview_range(gid, next, end) {
                let (num, _) = item?;
                let _ = write!(out, "{num}\r\n");
                if out.len() >= CHUNK && num < end {
                    return Ok(Some(Cursor::ListGroup { gid, next: num + 1, end }));
                }
            }
        }
        Cursor::NewNews { wildmat, since, from_aid } => {
            let mut names: HashMap<u32, Option<String>> = HashMap::new();
            for item in ctx.store.arrivals_since(since, from_aid) {
                let (time, aid) = item?;
                let Some(article) = ctx.store.article_meta(aid)? else { continue };
                let mut wanted = false;
                for (gid, _) in &article.memberships {
                    let name = match names.get(gid) {
                        Some(n) => n.clone(),
                        None => {
                            let n = ctx.store.group_name(*gid)?.filter(|n| ctx.can_read(state, n));
                            names.insert(*gid, n.clone());
                            n
                        }
                    };
                    wanted |= name.is_some_and(|n| wildmat.matches(&n));
                }
                if wanted {
                    response::line(out, article.message_id.as_bytes());
                }
                if out.len() >= CHUNK {
                    return Ok(Some(Cursor::NewNews { wildmat, since: time, from_aid: aid + 1 }));
                }
            }
        }
    }
    response::end(out);
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_are_found_folded_and_case_insensitively() {
        let head = b"Subject: a\r\n b\r\nX-Thing: one\r\nx-thing: two\r\nTo: z\r\n";
        assert_eq!(header_value(head, "subject"), Some(&b" a\r\n b\r\n"[..]));
        assert_eq!(header_value(head, "X-THING"), Some(&b" one\r\n"[..]));
        assert_eq!(header_value(head, "Cc"), None);
        assert_eq!(header_value(head, "X-Thin"), None);
    }
}
