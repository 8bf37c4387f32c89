//! What each NNTP command does: one handler per row of the command table
//! ([`crate::protocol::table`]), found through [`dispatch`]. The handlers live by family:
//! `info` (CAPABILITIES, HELP, DATE, MODE READER, QUIT, IHAVE, AUTHINFO, STARTTLS,
//! COMPRESS), `post` (POST: who may, and the article's checks against the groups and users),
//! `articles` (GROUP, LISTGROUP, NEXT, LAST, ARTICLE/HEAD/BODY/STAT), `over` (OVER,
//! the HDR family, XTHREAD and the chunked listings) and `lists` (LIST, XGTITLE, XPATH,
//! NEWGROUPS, NEWNEWS).
//!
//! A handler writes its answer into the session's buffer (status line from a typed
//! [`Status`], then any block), or returns a [`Refusal`]: a status, or a store failure that
//! becomes `403` (RFC 3977 §3.2.1) while the session goes on. Everything here is synchronous
//! and may block on sled; the session runs it on its own thread or on tokio's blocking pool,
//! as the row's [`Kind`](crate::protocol::table::Kind) says. Long listings return a [`Cursor`]
//! and are sent in chunks.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use crate::config::{Config, GroupConfig, PostPolicy};
use crate::protocol::command::{ArticleRef, Command, ListKind, ParseError, Parsed};
use crate::protocol::response::HeaderVerb;
use crate::protocol::table::{Needs, Offer};
use crate::protocol::{Status, Wildmat};
use crate::store::{ArticleMeta, GroupMeta, Store, StoreError};

use super::auth::{Credential, Credentials, Pool};

mod articles;
mod info;
mod lists;
mod over;
mod post;

pub use info::finish_auth;
pub use over::resume;
pub use post::prepare as prepare_post;

/// Stop adding to a response buffer past this size; the rest follows in the next chunk.
pub const CHUNK: usize = 256 << 10;

/// What the sessions share: the store and the configured groups.
pub struct Context {
    pub store: Store,
    pub hostname: String,
    groups: HashMap<String, GroupConfig>,
    motd: Option<String>,
    /// The users' password hashes, parsed.
    credentials: Credentials,
    /// The password-check threads, started on the first AUTHINFO PASS.
    auth_pool: OnceLock<Pool>,
    /// The password-check memory budget (bytes) and queue length.
    auth_memory: usize,
    auth_queue: usize,
    /// Failures after which a connection is closed, and after which an address's attempts
    /// are no longer checked.
    pub auth_failures_per_connection: u32,
    pub auth_failures_per_address: u32,
    allow_plaintext_auth: bool,
    /// A certificate is configured, so STARTTLS can be offered.
    tls_available: bool,
    /// Some group has `readers`: listings and Xref must be filtered per session.
    private: bool,
    /// Group names by id, read when the context is made (ids never change their name):
    /// every article served names its groups in Newsgroups and Xref.
    names: HashMap<u32, String>,
    /// Who may post, the largest article and the hourly limit.
    pub post_policy: PostPolicy,
    pub post_max_bytes: usize,
    pub post_per_hour: u32,
    /// The From addresses each user may post as (lower case).
    addresses: HashMap<String, Vec<String>>,
    /// The HTTP face's lists: path segment -> group name (public groups only).
    web: std::collections::BTreeMap<String, String>,
    /// HTTP requests a second per client address.
    pub http_rate: f64,
}

/// What a session may do with a group.
enum Access {
    Open(GroupMeta),
    NoSuch,
    /// A private group, and the session has not authenticated (RFC 4643: 480).
    AuthRequired,
}

/// An article named by a command: by message-id, by number in the current group, or the
/// current article.
#[derive(Debug, Clone, Copy)]
pub(super) enum Target<'a> {
    Id(&'a str),
    Number(u64),
    Current,
}

impl<'a> Target<'a> {
    fn of(spec: &'a Option<ArticleRef>) -> Target<'a> {
        match spec {
            Some(ArticleRef::MessageId(id)) => Target::Id(id),
            Some(ArticleRef::Number(n)) => Target::Number(*n),
            None => Target::Current,
        }
    }
}

/// A message-id looked up for a session.
enum Lookup {
    Missing,
    /// In groups this session may not read.
    Hidden,
    Visible(u64, ArticleMeta),
}

/// An article a [`Target`] resolved to, visible to this session.
pub(super) struct Found {
    /// The number to report: its number in the current group (0 when fetched by message-id
    /// from outside it, RFC 3977 §6.2.1.2).
    number: u64,
    meta: ArticleMeta,
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
            credentials: Credentials::new(config.users.iter().map(|u| (u.name.as_str(), u.password_hash.as_str()))),
            auth_pool: OnceLock::new(),
            auth_memory: usize::try_from(config.server.auth_memory_mb << 20).unwrap_or(usize::MAX),
            auth_queue: config.server.auth_queue,
            auth_failures_per_connection: config.server.auth_failures_per_connection,
            auth_failures_per_address: config.server.auth_failures_per_address,
            allow_plaintext_auth: config.server.allow_plaintext_auth,
            tls_available: config.server.tls_cert.is_some(),
            private,
            names,
            post_policy: config.server.post_policy,
            post_max_bytes: config.server.post_max_bytes,
            post_per_hour: config.server.post_per_hour,
            addresses: config.users.iter().map(|u| (u.name.clone(), u.addresses.clone())).collect(),
            web: web_names(config),
            http_rate: config.server.http_requests_per_second,
        })
    }

    /// The HTTP face's lists: path segment -> group name.
    pub fn web_lists(&self) -> &std::collections::BTreeMap<String, String> {
        &self.web
    }

    /// The path segment of a group on the HTTP face (public groups only).
    pub fn web_segment(&self, group: &str) -> Option<&str> {
        self.web.iter().find(|(_, g)| g.as_str() == group).map(|(s, _)| s.as_str())
    }

    /// A group's configuration.
    pub fn group_config(&self, name: &str) -> Option<&GroupConfig> {
        self.groups.get(name)
    }

    /// A live article anyone may read (it is in a public group), by message-id.
    pub fn public_article(&self, id: &str) -> Result<Option<ArticleMeta>, StoreError> {
        Ok(match self.by_id(&State::default(), id)? {
            Lookup::Visible(_, meta) => Some(meta),
            _ => None,
        })
    }

    /// Is this article in a group anyone may read?
    pub fn is_public(&self, meta: &ArticleMeta) -> Result<bool, StoreError> {
        self.visible(&State::default(), &meta.memberships)
    }

    /// May this session post at all (to some group)? The refusal says why not.
    pub fn may_post(&self, state: &State) -> Result<(), Status> {
        match self.post_policy {
            PostPolicy::Off => Err(Status::PostingNotPermitted { list: None }),
            PostPolicy::Open => Ok(()),
            PostPolicy::Users => match &state.user {
                None => Err(Status::AuthRequired),
                Some(user) if self.addresses.get(user).is_none_or(Vec::is_empty) => Err(Status::PostingRefused(
                    format!("no From address is configured for user {user:?} (addresses in its [[user]])"),
                )),
                Some(_) => Ok(()),
            },
        }
    }

    /// May this session post to group `name` (LIST ACTIVE's `y`)?
    fn postable(&self, state: &State, name: &str) -> bool {
        self.may_post(state).is_ok()
            && self.groups.get(name).is_some_and(|g| g.post && g.address.is_some())
            && self.can_read(state, name)
    }

    /// What this server, as configured, and `state`'s session offer (HELP, CAPABILITIES).
    fn offer(&self, state: &State) -> Offer {
        Offer {
            motd: self.motd.is_some(),
            subscriptions: self.groups.values().any(|g| g.subscribe),
            tls_configured: self.tls_available,
            users: !self.credentials.is_empty(),
            allow_plaintext_auth: self.allow_plaintext_auth,
            posting: self.may_post(state).is_ok(),
            session_tls: state.tls,
            authenticated: state.user.is_some(),
            compressed: state.compressed,
        }
    }

    /// Is `user` a configured user (for the log's reason; clients cannot tell).
    pub fn knows_user(&self, user: &str) -> bool {
        self.credentials.knows(user)
    }

    /// The password-check pool (started on first use).
    pub fn auth_pool(&self) -> &Pool {
        self.auth_pool.get_or_init(|| {
            let pool = Pool::new(self.auth_memory, self.credentials.max_memory(), self.auth_queue);
            tracing::info!(threads = pool.workers, queue = self.auth_queue, "password checks ready");
            pool
        })
    }

    /// The name of group `gid`.
    pub fn group_name(&self, gid: u32) -> Result<Option<String>, StoreError> {
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

    fn access(&self, state: &State, name: &str) -> Result<Access, StoreError> {
        if !self.groups.contains_key(name) {
            return Ok(Access::NoSuch);
        }
        if !self.can_read(state, name) {
            // Before authentication a private group asks for it; after, it stays invisible.
            return Ok(if state.user.is_none() { Access::AuthRequired } else { Access::NoSuch });
        }
        Ok(self.store.group(name)?.map_or(Access::NoSuch, Access::Open))
    }

    /// Makes `name` the current group, pointing at its first article.
    fn select(&self, state: &mut State, name: &str) -> Result<GroupMeta, Refusal> {
        match self.access(state, name)? {
            Access::Open(meta) => {
                state.group = Some((name.to_string(), meta.id));
                state.article = (meta.count > 0).then_some(meta.low);
                Ok(meta)
            }
            Access::AuthRequired => Err(Status::AuthRequired.into()),
            Access::NoSuch => Err(Status::NoSuchGroup(name.to_string()).into()),
        }
    }

    /// A group this session may read, with its counters.
    fn group(&self, state: &State, name: &str) -> Result<Option<GroupMeta>, StoreError> {
        match self.access(state, name)? {
            Access::Open(meta) => Ok(Some(meta)),
            _ => Ok(None),
        }
    }

    /// The current group's counters; `412` when none is selected or it can no longer be read.
    fn current_group(&self, state: &State) -> Result<(u32, GroupMeta), Refusal> {
        let (name, gid) = state.group.as_ref().ok_or(Status::NoGroupSelected)?;
        let meta = self.group(state, name)?.ok_or(Status::NoGroupSelected)?;
        Ok((*gid, meta))
    }

    /// The groups this session may read, with their counters, sorted by name.
    fn groups(&self, state: &State) -> Result<Vec<(String, GroupMeta)>, StoreError> {
        Ok(self.store.groups()?.into_iter().filter(|(name, _)| self.can_read(state, name)).collect())
    }

    /// An article is visible if one of its groups is.
    fn visible(&self, state: &State, memberships: &[(u32, u64)]) -> Result<bool, StoreError> {
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

    /// The live article holding `id`, as this session may see it.
    fn by_id(&self, state: &State, id: &str) -> Result<Lookup, StoreError> {
        let Some(entry) = self.store.message_id(id)?.filter(|e| e.aid != 0) else { return Ok(Lookup::Missing) };
        let Some(meta) = self.store.article_meta(entry.aid)? else { return Ok(Lookup::Missing) };
        Ok(if self.visible(state, &meta.memberships)? { Lookup::Visible(entry.aid, meta) } else { Lookup::Hidden })
    }

    /// Finds the article a command names, as this session may see it. By message-id: `430`
    /// when there is none (or it is in groups this session cannot read); by number: `423`;
    /// the current article: `420`. Store failures propagate.
    fn resolve(&self, state: &State, target: Target<'_>) -> Result<Found, Refusal> {
        match target {
            Target::Id(id) => {
                let Lookup::Visible(_, meta) = self.by_id(state, id)? else {
                    return Err(Status::NoArticleWithId.into());
                };
                let number = state.group.as_ref().and_then(|(_, gid)| meta.number_in(*gid)).unwrap_or(0);
                Ok(Found { number, meta })
            }
            Target::Number(number) => {
                let gid = state.group_id()?;
                let aid = self.store.article_at(gid, number)?.ok_or(Status::NoArticleWithNumber)?;
                let meta = self.store.article_meta(aid)?.ok_or(Status::NoArticleWithNumber)?;
                Ok(Found { number, meta })
            }
            Target::Current => {
                let gid = state.group_id()?;
                let number = state.current_article()?;
                let aid = self.store.article_at(gid, number)?.ok_or(Status::NoCurrentArticle)?;
                let meta = self.store.article_meta(aid)?.ok_or(Status::NoCurrentArticle)?;
                Ok(Found { number, meta })
            }
        }
    }

    /// Names and numbers of the groups in `memberships` this session may see.
    fn group_names(&self, state: &State, memberships: &[(u32, u64)]) -> Result<Vec<(String, u64)>, StoreError> {
        let mut names = Vec::with_capacity(memberships.len());
        for (gid, num) in memberships {
            if let Some(name) = self.group_name(*gid)?.filter(|n| self.can_read(state, n)) {
                names.push((name, *num));
            }
        }
        Ok(names)
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

/// The HTTP face's path segments of the public groups: `http_name`, a mirror list's folder,
/// or the last part of the name; a segment taken twice falls back to the whole group name.
fn web_names(config: &Config) -> std::collections::BTreeMap<String, String> {
    let mut web = std::collections::BTreeMap::new();
    for g in config.groups.iter().filter(|g| g.readers.is_empty()) {
        let mut segment = g.web_name();
        if web.contains_key(&segment) || segment == "all" {
            tracing::warn!(group = g.name, segment, "HTTP path segment taken; serving the group under its full name");
            segment = g.name.clone();
        }
        web.insert(segment, g.name.clone());
    }
    web
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
    /// Failed AUTHINFO attempts on this connection.
    pub auth_failures: u32,
}

impl State {
    /// A session's state right after the greeting (RFC 4642 §2.2.2 returns to it after TLS).
    pub fn fresh(tls: bool) -> State {
        State { tls, ..State::default() }
    }

    /// The current group's id; `412` without one.
    fn group_id(&self) -> Result<u32, Status> {
        self.group.as_ref().map(|(_, gid)| *gid).ok_or(Status::NoGroupSelected)
    }

    /// The current article number; `420` without one.
    fn current_article(&self) -> Result<u64, Status> {
        self.article.ok_or(Status::NoCurrentArticle)
    }
}

/// How a command left the session.
pub enum Flow {
    Continue,
    Quit,
    /// `382` was sent: the session must start TLS before reading anything else.
    StartTls,
    /// COMPRESS DEFLATE was accepted: the session answers `206` (or `403` at the server's
    /// limit of compressed connections) and wraps itself in DEFLATE.
    Compress,
    /// A long response continues: call [`resume`] until it returns `None`.
    More(Cursor),
    /// AUTHINFO PASS: the session checks the password (off its thread, in the password
    /// pool), then answers with [`finish_auth`].
    Authenticate(PendingAuth),
    /// POST may go ahead: the session answers `340`, reads the article, checks it with
    /// [`prepare_post`] and relays it.
    ReadArticle,
}

/// A password to check for a user.
pub struct PendingAuth {
    pub user: String,
    pub credential: Arc<Credential>,
    pub password: Vec<u8>,
}

impl Drop for PendingAuth {
    fn drop(&mut self) {
        self.password.iter_mut().for_each(|b| *b = 0);
    }
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

/// Why a handler did not answer normally.
#[derive(Debug)]
pub enum Refusal {
    /// Answer with this status instead (anything written so far is dropped).
    Status(Status),
    /// The store failed: logged, answered `403`.
    Store(StoreError),
}

impl From<Status> for Refusal {
    fn from(status: Status) -> Refusal {
        Refusal::Status(status)
    }
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Refusal {
        Refusal::Store(e)
    }
}

/// What a handler returns.
type Answer = Result<Flow, Refusal>;

/// Runs one command line: parses it through the table and runs it ([`execute`]).
pub fn execute_line(ctx: &Context, state: &mut State, line: &[u8], out: &mut Vec<u8>) -> Flow {
    execute(ctx, state, crate::protocol::command::parse(line), out)
}

/// Runs one parsed command line, writing its whole answer (or the first chunk of a long one)
/// into `out`.
pub fn execute(ctx: &Context, state: &mut State, parsed: Result<Parsed, ParseError>, out: &mut Vec<u8>) -> Flow {
    let parsed = match parsed {
        Ok(p) => p,
        Err(ParseError::Unknown) => return refuse(out, Status::UnknownCommand),
        Err(ParseError::Syntax(why)) => return refuse(out, Status::Syntax(why)),
    };
    if state.auth_failures >= ctx.auth_failures_per_connection {
        // RFC 3977 §3.2.1: 400, and the connection closes.
        Status::TooManyAuthFailures.write(out);
        return Flow::Quit;
    }
    if parsed.row.needs == Needs::Group && state.group.is_none() && parsed.command.uses_current_group() {
        return refuse(out, Status::NoGroupSelected);
    }
    let mark = out.len();
    match dispatch(ctx, state, parsed.command, out) {
        Ok(flow) => flow,
        Err(refusal) => {
            out.truncate(mark);
            match refusal {
                Refusal::Status(status) => refuse(out, status),
                Refusal::Store(e) => {
                    tracing::error!(error = %e, "store failure");
                    refuse(out, Status::Fault)
                }
            }
        }
    }
}

fn refuse(out: &mut Vec<u8>, status: Status) -> Flow {
    status.write(out);
    Flow::Continue
}

/// Each command to its handler.
fn dispatch(ctx: &Context, state: &mut State, command: Command, out: &mut Vec<u8>) -> Answer {
    match command {
        Command::Article(part, spec) => articles::article(ctx, state, part, Target::of(&spec), out),
        Command::AuthUser(name) => info::auth_user(ctx, state, name, out),
        Command::AuthPass(password) => info::auth_pass(ctx, state, password),
        Command::Capabilities => info::capabilities(ctx, state, out),
        Command::Compress(algorithm) => info::compress(state, &algorithm),
        Command::Date => info::date(out),
        Command::Group(name) => articles::group(ctx, state, &name, out),
        Command::Hdr { field, spec, legacy } => {
            let verb = if legacy { HeaderVerb::Xhdr } else { HeaderVerb::Hdr };
            over::hdr(ctx, state, &field, spec, verb, None, out)
        }
        Command::Help => info::help(ctx, state, out),
        Command::Ihave => info::ihave(),
        Command::Last => articles::next_last(ctx, state, true, out),
        Command::List(kind) => match kind {
            ListKind::Active(pattern) => lists::active(ctx, state, pattern.as_deref(), out),
            ListKind::ActiveTimes(pattern) => lists::active_times(ctx, state, pattern.as_deref(), out),
            ListKind::Counts(pattern) => lists::counts(ctx, state, pattern.as_deref(), out),
            ListKind::DistribPats | ListKind::Distributions => lists::distributions(),
            ListKind::Headers(_) => lists::headers(out),
            ListKind::Motd => lists::motd(ctx, out),
            ListKind::Newsgroups(pattern) => lists::newsgroups(ctx, state, pattern.as_deref(), out),
            ListKind::OverviewFmt => lists::overview_fmt(state, out),
            ListKind::Subscriptions => lists::subscriptions(ctx, state, out),
        },
        Command::ListGroup { group, range } => articles::listgroup(ctx, state, group.as_deref(), range, out),
        Command::ModeReader => info::mode_reader(ctx, state, out),
        Command::NewGroups(date) => lists::newgroups(ctx, state, date, out),
        Command::NewNews { wildmat, date } => lists::newnews(&wildmat, date, out),
        Command::Next => articles::next_last(ctx, state, false, out),
        Command::Over { spec, legacy } => over::over(ctx, state, spec, legacy, out),
        Command::Post => post::post(ctx, state),
        Command::Quit => info::quit(out),
        Command::StartTls => info::starttls(ctx, state, out),
        Command::XgTitle(pattern) => lists::xgtitle(ctx, state, pattern, out),
        Command::Xpat { field, spec, pattern } => {
            over::hdr(ctx, state, &field, Some(spec), HeaderVerb::Xpat, Some(Wildmat::simple(&pattern)), out)
        }
        Command::Xpath(id) => lists::xpath(ctx, state, &id, out),
        Command::Xrover(spec) => over::hdr(ctx, state, "References", spec, HeaderVerb::Xrover, None, out),
        Command::Xthread(spec) => over::xthread(ctx, state, Target::of(&spec), out),
    }
}
