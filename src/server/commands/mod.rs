//! What each NNTP command does (RFC 3977 reader commands, the RFC 2980 legacy forms,
//! RFC 4642/4643/8054 and XTHREAD). This file parses and dispatches ([`execute`]); each
//! command's behaviour lives in one submodule: `info` (CAPABILITIES, HELP, POST, AUTHINFO),
//! `articles` (GROUP, LISTGROUP, NEXT, LAST, ARTICLE/HEAD/BODY/STAT), `over` (OVER, the HDR
//! family, XTHREAD) and `lists` (LIST, XGTITLE, XPATH, NEWGROUPS).
//!
//! Everything here is synchronous and may block on sled; the session runs it on tokio's
//! blocking pool. Long listings return a [`Cursor`] and are sent in chunks.

use std::collections::HashMap;
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
    /// Group names by id, read when the context is made (ids never change their name):
    /// every article served names its groups in Newsgroups and Xref.
    names: HashMap<u32, String>,
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
        // Groups the store does not hold yet (or a failed read) are looked up when needed.
        let names = store.groups().unwrap_or_default().into_iter().map(|(name, meta)| (meta.id, name)).collect();
        Arc::new(Context {
            store,
            hostname: config.server.hostname.clone(),
            groups,
            motd: config.server.motd.clone(),
            users: config.users.iter().map(|u| (u.name.clone(), u.password_hash.clone())).collect(),
            allow_plaintext_auth: config.server.allow_plaintext_auth,
            tls_available: config.server.tls_cert.is_some(),
            private,
            names,
        })
    }

    /// The name of group `gid`.
    pub fn group_name(&self, gid: u32) -> Result<Option<String>> {
        match self.names.get(&gid) {
            Some(name) => Ok(Some(name.clone())),
            None => self.store.group_name(gid),
        }
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
            if let Some(name) = self.group_name(*gid)?
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
/// Whether a command line answers from a handful of keys (one article, one group record), so
/// the session may run it on its own async thread: handing it to the blocking pool costs two
/// thread wake-ups, which on a virtual machine are most of a small request's latency. Listings,
/// searches and password checks (argon2) go to the blocking pool. Unparsable lines are quick
/// too: they only produce an error status.
pub fn is_quick(line: &[u8]) -> bool {
    match crate::protocol::command::parse(line) {
        Ok(command) => matches!(
            command,
            Command::Article(..)
                | Command::Group(_)
                | Command::Next
                | Command::Last
                | Command::Date
                | Command::ModeReader
                | Command::Capabilities
                | Command::Help
                | Command::Quit
                | Command::Post
                | Command::Ihave
                | Command::AuthUser(_)
                | Command::StartTls
                | Command::Compress(_)
        ),
        Err(_) => true,
    }
}

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

mod articles;
mod info;
mod lists;
mod over;

use articles::*;
use info::*;
use lists::*;
use over::*;
pub use over::{HdrKind, resume};
