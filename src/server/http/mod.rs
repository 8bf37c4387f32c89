//! The HTTP face: the archive as public-inbox serves it over HTTP (lore.kernel.org's URL
//! layout), read-only, from the same store through the same [`Context`] the NNTP commands use.
//!
//! - `/<list>/<message-id>/raw`: the message as a mail (LF line ends, not dot-stuffed);
//!   `t.mbox.gz`: its thread as gzipped mboxrd (`application/gzip`, what `b4 am` fetches);
//!   `t.atom`: the thread as Atom; `/<list>/<message-id>/` and `/T/`: pages.
//! - `/<list>/`: recent threads (`?b=N` pages back); `/<list>/new.atom`: the newest messages.
//! - `/all/<message-id>/…` finds the message in any list; `/<message-id>` and
//!   `/all/<message-id>` redirect to `/<list>/<message-id>/` (b4 follows that redirect).
//!
//! Only public groups are served (a private group's messages are 404, as unknown ones). Every
//! answer carries an ETag and `Cache-Control: no-cache`, so a removed message stops being
//! served at once. Connections count against the same caps as NNTP, may come through a PROXY
//! header, and each address gets `http_requests_per_second` (burst: five seconds' worth).

pub mod render;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpStream;
use tower::Service;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};

use super::Shared;
use super::commands::Context;
use crate::protocol::article;
use crate::store::{ArticleMeta, StoreError};
use render::{Place, Shown, ThreadItem, Topic};

/// A client address may spend this many seconds' worth of requests at once.
const BURST_SECONDS: f64 = 5.0;
/// Threads longer than this are cut (pages, mbox and Atom).
pub const MAX_THREAD: usize = 2_000;
/// Thread pages, mboxes and feeds made at once (each reads and decodes many articles).
const HEAVY_AT_ONCE: usize = 8;
/// Threads on one index page, and the newest messages in new.atom.
const TOPICS: usize = 25;
const FEED_ENTRIES: usize = 25;
/// A client must send its request head within this.
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// What the HTTP handlers share.
pub struct Web {
    shared: Arc<Shared>,
    heavy: tokio::sync::Semaphore,
    /// Tokens and last refill, per client address.
    rate: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl Web {
    pub fn new(shared: Arc<Shared>) -> Arc<Web> {
        Arc::new(Web { shared, heavy: tokio::sync::Semaphore::new(HEAVY_AT_ONCE), rate: Mutex::new(HashMap::new()) })
    }

    /// Takes a request token for `ip`; false when it has none left.
    fn allow(&self, ip: IpAddr) -> bool {
        let per_second = self.shared.context().http_rate;
        let burst = per_second * BURST_SECONDS;
        let mut rate = self.rate.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if rate.len() > 100_000 {
            rate.retain(|_, (_, last)| now.duration_since(*last) < Duration::from_secs(10));
        }
        let (tokens, last) = rate.entry(ip).or_insert((burst, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * per_second).min(burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The HTTP face of a server: what the handlers share and the routes, made once and cloned
/// for each connection.
#[derive(Clone)]
pub struct Site {
    web: Arc<Web>,
    app: Router,
}

impl Site {
    pub fn new(shared: Arc<Shared>) -> Site {
        let web = Web::new(shared);
        Site { app: router(web.clone()), web }
    }
}

/// The routes, public-inbox's layout.
pub fn router(web: Arc<Web>) -> Router {
    let compress = SizeAbove::new(256)
        .and(NotForContentType::const_new("application/gzip"))
        .and(NotForContentType::const_new("text/plain"));
    Router::new()
        .route("/", get(front))
        .route("/{seg}", get(bare))
        .route("/{seg}/", get(list_index))
        .route("/{list}/new.atom", get(new_atom))
        .route("/{list}/{mid}", get(bare_message))
        .route("/{list}/{mid}/", get(message))
        .route("/{list}/{mid}/raw", get(raw))
        .route("/{list}/{mid}/t.mbox.gz", get(thread_mbox))
        .route("/{list}/{mid}/t.atom", get(thread_atom))
        .route("/{list}/{mid}/T/", get(thread_page))
        .route("/{list}/{mid}/t/", get(thread_page))
        .fallback(|| async { not_found() })
        .layer(CompressionLayer::new().compress_when(compress))
        .with_state(web)
}

/// Serves one HTTP connection (HTTP/1.1 with keep-alive) until it closes or the server stops.
pub(super) async fn serve_connection(mut tcp: TcpStream, peer: SocketAddr, site: Site, proxied: bool) {
    let Site { web, app } = site;
    let _ = tcp.set_nodelay(true);
    let client = if proxied {
        match tokio::time::timeout(super::HANDSHAKE_TIMEOUT, super::read_proxy_header(&mut tcp)).await {
            Ok(Ok(source)) => source.unwrap_or(peer),
            _ => return,
        }
    } else {
        peer
    };
    let Ok(_slot) = web.shared.admit(client) else {
        // Over the connection caps: a short answer, then close.
        use tokio::io::AsyncWriteExt;
        let _ = tcp
            .write_all(
                b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\nRetry-After: 5\r\n\r\n",
            )
            .await;
        return;
    };
    let limiter = web.clone();
    let service = hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
        let mut app = app.clone();
        let allowed = limiter.allow(client.ip());
        async move {
            let started = Instant::now();
            let (method, path) = (request.method().clone(), request.uri().path().to_string());
            let response = if allowed {
                app.call(request.map(Body::new)).await?
            } else {
                let mut r = (StatusCode::TOO_MANY_REQUESTS, "Too many requests; slow down.\n").into_response();
                r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                r
            };
            super::observe::http_request(client, method.as_str(), &path, response.status().as_u16(), started.elapsed());
            Ok::<_, std::convert::Infallible>(response)
        }
    });
    let mut shutdown = web.shared.shutdown.clone();
    let io = hyper_util::rt::TokioIo::new(tcp);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(hyper_util::rt::TokioTimer::new()).header_read_timeout(HEADER_TIMEOUT).keep_alive(true);
    let connection = builder.serve_connection(io, service);
    tokio::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(%client, error = %e, "HTTP connection ended");
            }
        }
        _ = shutdown.changed() => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}

/// A message-id as a path gives it (percent-decoded by the router): bare or in brackets.
fn message_id(segment: &str) -> String {
    format!("<{}>", segment.trim().trim_start_matches('<').trim_end_matches('>'))
}

fn not_found() -> Response {
    page_response(
        StatusCode::NOT_FOUND,
        render::page("Not found", "<h1>Not found</h1>\n<p>No such list or message here.</p>"),
    )
}

fn page_response(status: StatusCode, html: String) -> Response {
    let mut r = (status, html).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    r
}

fn redirect(to: &str) -> Response {
    let mut r = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

fn fault(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "HTTP: store failure");
    (StatusCode::INTERNAL_SERVER_ERROR, "Internal fault; try again later.\n").into_response()
}

/// A 200 with an ETag (and `304` when the client has it), revalidated on every use.
fn cached(request: &HeaderMap, etag: String, content_type: &'static str, body: Vec<u8>) -> Response {
    let etag = format!("\"{etag}\"");
    let matches = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut r = if matches { StatusCode::NOT_MODIFIED.into_response() } else { (StatusCode::OK, body).into_response() };
    let headers = r.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, v);
    }
    r
}

/// Runs store work on the blocking pool.
async fn blocking<T: Send + 'static>(
    web: &Web,
    work: impl FnOnce(&Context) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, Response> {
    let ctx = web.shared.context();
    match tokio::task::spawn_blocking(move || work(&ctx)).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(fault(e)),
        Err(e) => Err(fault(e)),
    }
}

/// A public message and the list it is shown under.
struct Located {
    meta: ArticleMeta,
    /// The list's path segment and group.
    segment: String,
    group: String,
}

/// Where a message is: in `list` when it is there; with `list` "all" (or a list it is not
/// in), in its first public list. `Err` carries the list it should be looked for under.
fn locate(ctx: &Context, list: &str, id: &str) -> Result<Option<Result<Located, String>>, StoreError> {
    let Some(meta) = ctx.public_article(id)? else { return Ok(None) };
    let mut first = None;
    for (gid, _) in &meta.memberships {
        let Some(group) = ctx.group_name(*gid)? else { continue };
        let Some(segment) = ctx.web_segment(&group) else { continue };
        if segment == list {
            let segment = segment.to_string();
            return Ok(Some(Ok(Located { meta, segment, group })));
        }
        if first.is_none() {
            first = Some((segment.to_string(), group));
        }
    }
    Ok(match (first, list) {
        (Some((segment, group)), "all") => Some(Ok(Located { meta, segment, group })),
        (Some((segment, _)), _) => Some(Err(segment)),
        (None, _) => None,
    })
}

/// Finds the message for a handler: the located message, or the response to give instead
/// (404, or a redirect to the list it is in, keeping `rest` of the path).
async fn find(web: &Web, list: &str, mid: &str, rest: &str) -> Result<Located, Response> {
    let (list, id) = (list.to_string(), message_id(mid));
    let found = blocking(web, move |ctx| {
        if list != "all" && !ctx.web_lists().contains_key(&list) {
            return Ok(None);
        }
        locate(ctx, &list, &id)
    })
    .await?;
    match found {
        Some(Ok(located)) => Ok(located),
        Some(Err(segment)) => Err(redirect(&format!("/{segment}/{}/{rest}", render::mid_path(&message_id(mid))))),
        None => Err(not_found()),
    }
}

/// The stored article as mail (LF line ends).
fn raw_of(ctx: &Context, meta: &ArticleMeta) -> Result<Vec<u8>, StoreError> {
    Ok(article::raw_from_wire(ctx.store.text(meta.clone())?.wire()))
}

/// A thread as the HTTP face reads it: each message's id and depth, with its article when
/// anyone may read it.
type Thread = Vec<(String, usize, Option<ArticleMeta>)>;

/// The thread of `id` as anyone may see it.
fn thread_of(ctx: &Context, id: &str) -> Result<Thread, StoreError> {
    let entries = ctx.store.thread(id)?.unwrap_or_default();
    let mut out = Vec::with_capacity(entries.len().min(MAX_THREAD));
    for entry in entries.into_iter().take(MAX_THREAD) {
        let meta = match entry.aid {
            0 => None,
            aid => ctx.store.article_meta(aid)?.filter(|m| ctx.is_public(m).unwrap_or(false)),
        };
        out.push((entry.message_id, entry.depth, meta));
    }
    Ok(out)
}

/// A header field for display: encoded words decoded.
fn shown_field(raw: &[u8]) -> String {
    article::decoded(raw).unwrap_or_else(|| String::from_utf8_lossy(raw).into_owned())
}

/// The display name of a From value (`Name <addr>` or `addr`).
fn author_of(from: &str) -> String {
    match from.rfind('<') {
        Some(i) if !from[..i].trim().is_empty() => from[..i].trim().trim_matches('"').to_string(),
        Some(i) => from[i + 1..].trim_end_matches('>').to_string(),
        None => from.trim().to_string(),
    }
}

/// Subject, author and date of an article, from its overview entry.
fn about(ctx: &Context, meta: &ArticleMeta) -> Result<Option<(String, String, String)>, StoreError> {
    let Some((gid, num)) = meta.memberships.first() else { return Ok(None) };
    let Some(entry) = ctx.store.overview(*gid, *num)? else { return Ok(None) };
    let date =
        render::date_rfc3339(&String::from_utf8_lossy(entry.field(2))).unwrap_or_else(|| render::rfc3339(meta.arrival));
    Ok(Some((shown_field(entry.field(0)), author_of(&shown_field(entry.field(1))), date)))
}

fn items_of(ctx: &Context, thread: &Thread) -> Result<Vec<ThreadItem>, StoreError> {
    let mut items = Vec::with_capacity(thread.len());
    for (id, depth, meta) in thread {
        let about = match meta {
            Some(m) => about(ctx, m)?,
            None => None,
        };
        items.push(ThreadItem { id: id.clone(), depth: *depth, about });
    }
    Ok(items)
}

/// The ETag of a thread: its articles' ids.
fn thread_tag(thread: &Thread) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for (_, _, meta) in thread {
        h.update(meta.as_ref().map_or(0, article_tag).to_be_bytes());
    }
    h.finalize().iter().take(12).map(|b| format!("{b:02x}")).collect()
}

/// A number that changes when the stored article does (its place in the article log).
fn article_tag(meta: &ArticleMeta) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    meta.message_id.hash(&mut h);
    meta.arrival.hash(&mut h);
    meta.memberships.hash(&mut h);
    h.finish()
}

fn place<'a>(ctx: &'a Context, segment: &'a str, group: &'a str) -> Place<'a> {
    Place {
        list: segment,
        group,
        address: ctx.group_config(group).and_then(|g| g.address.as_deref()),
        host: &ctx.hostname,
    }
}

/// The origin the client asked for (`http://host`).
fn origin(headers: &HeaderMap) -> String {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    format!("http://{host}")
}

async fn front(State(web): State<Arc<Web>>) -> Response {
    match blocking(&web, |ctx| {
        Ok(ctx
            .web_lists()
            .iter()
            .map(|(segment, group)| {
                let description = ctx.group_config(group).map(|g| g.description.clone()).unwrap_or_default();
                (segment.clone(), group.clone(), description)
            })
            .collect::<Vec<_>>())
    })
    .await
    {
        Ok(lists) => page_response(StatusCode::OK, render::lists_page(&lists)),
        Err(r) => r,
    }
}

/// `/<segment>`: a list (add the slash), or a message-id (to its list, as lore redirects).
async fn bare(State(web): State<Arc<Web>>, Path(seg): Path<String>) -> Response {
    let is_list = seg == "all" || web.shared.context().web_lists().contains_key(&seg);
    if is_list {
        return redirect(&format!("/{seg}/"));
    }
    to_message_page(&web, "all", &seg).await
}

/// A redirect to the page of message `mid` under its list (found in `list`, or anywhere for
/// "all"); 404 when there is none.
async fn to_message_page(web: &Web, list: &str, mid: &str) -> Response {
    match find(web, list, mid, "").await {
        Ok(found) => redirect(&format!("/{}/{}/", found.segment, render::mid_path(&message_id(mid)))),
        Err(r) => r,
    }
}

async fn bare_message(State(web): State<Arc<Web>>, Path((list, mid)): Path<(String, String)>) -> Response {
    to_message_page(&web, &list, &mid).await
}

#[derive(serde::Deserialize)]
struct IndexQuery {
    /// Show threads active before this article number.
    b: Option<u64>,
    /// A search (public-inbox's `?q=`): not offered.
    q: Option<String>,
}

/// `/<list>/`: recent threads, newest activity first. `/<message-id>/` on the bare origin
/// redirects to the message's list.
async fn list_index(State(web): State<Arc<Web>>, Path(seg): Path<String>, Query(query): Query<IndexQuery>) -> Response {
    if query.q.is_some() {
        return page_response(
            StatusCode::NOT_IMPLEMENTED,
            render::page(
                "Search not offered",
                "<h1>Search is not offered here</h1>\n<p>This archive serves messages, threads and feeds; search it with \
                 NNTP's XPAT, or a public-inbox instance.</p>",
            ),
        );
    }
    if seg == "all" {
        return front(State(web)).await;
    }
    let Some(group) = web.shared.context().web_lists().get(&seg).cloned() else {
        // Not a list: a message-id on the bare origin (`/<message-id>/`).
        return to_message_page(&web, "all", &seg).await;
    };
    let before = query.b;
    let made = blocking(&web, move |ctx| {
        let Some(meta) = ctx.store.group(&group)? else { return Ok(None) };
        let mut topics: Vec<Topic> = Vec::new();
        let mut roots: HashMap<String, usize> = HashMap::new();
        let mut next = before.unwrap_or(u64::MAX).min(meta.high.saturating_add(1));
        let mut older = None;
        let mut scanned = 0;
        'pages: while topics.len() < TOPICS && scanned < 2_000 {
            let batch = ctx.store.overview_newest(meta.id, next, 200)?;
            if batch.is_empty() {
                break;
            }
            for (num, entry) in batch {
                scanned += 1;
                next = num;
                let id = String::from_utf8_lossy(entry.field(3)).into_owned();
                let root = ctx.store.thread_root(&id)?.unwrap_or_else(|| id.clone());
                if let Some(&i) = roots.get(&root) {
                    topics[i].messages += 1;
                    continue;
                }
                if topics.len() == TOPICS {
                    older = Some(num + 1);
                    break 'pages;
                }
                roots.insert(root.clone(), topics.len());
                let date = render::date_rfc3339(&String::from_utf8_lossy(entry.field(2))).unwrap_or_default();
                // The thread's subject is its root's, when the root is here.
                let root_about = match ctx.public_article(&root)? {
                    Some(m) => about(ctx, &m)?,
                    None => None,
                };
                let (subject, shown_id) = match root_about {
                    Some((subject, _, _)) => (subject, root.clone()),
                    None => (shown_field(entry.field(0)), id.clone()),
                };
                topics.push(Topic {
                    id: shown_id,
                    subject,
                    author: author_of(&shown_field(entry.field(1))),
                    date,
                    messages: 1,
                });
            }
        }
        if older.is_none() && next > meta.low && scanned > 0 {
            older = Some(next);
        }
        let description = ctx.group_config(&group).map(|g| g.description.clone()).unwrap_or_default();
        let html = render::index_page(&place(ctx, &seg, &group), &description, &topics, older);
        Ok(Some(html))
    })
    .await;
    match made {
        Ok(Some(html)) => page_response(StatusCode::OK, html),
        Ok(None) => not_found(),
        Err(r) => r,
    }
}

/// `/<list>/new.atom`: the list's newest messages; `/all/new.atom`: the newest of every
/// public list together.
async fn new_atom(State(web): State<Arc<Web>>, Path(list): Path<String>, headers: HeaderMap) -> Response {
    let groups: Vec<String> = if list == "all" {
        web.shared.context().web_lists().values().cloned().collect()
    } else {
        match web.shared.context().web_lists().get(&list) {
            Some(group) => vec![group.clone()],
            None => return not_found(),
        }
    };
    let base = origin(&headers);
    let Ok(_permit) = web.heavy.acquire().await else { return not_found() };
    let made = blocking(&web, move |ctx| {
        // The newest of each list, then the newest of those by arrival, each article once.
        let mut newest: Vec<ArticleMeta> = Vec::new();
        for group in &groups {
            let Some(meta) = ctx.store.group(group)? else { continue };
            for (_, entry) in ctx.store.overview_newest(meta.id, u64::MAX, FEED_ENTRIES)? {
                if let Some(m) = ctx.store.article_meta(entry.article_id())?
                    && !newest.iter().any(|n| n.message_id == m.message_id)
                {
                    newest.push(m);
                }
            }
        }
        newest.sort_by_key(|m| std::cmp::Reverse(m.arrival));
        newest.truncate(FEED_ENTRIES);
        let mut entries = Vec::new();
        let mut tag = 0u64;
        for m in &newest {
            tag = tag.wrapping_mul(31).wrapping_add(article_tag(m));
            entries.push(Shown::of(&raw_of(ctx, m)?, &m.message_id, m.arrival));
        }
        let title = if list == "all" { "all lists".to_string() } else { groups[0].clone() };
        let feed = render::atom(&base, &title, &format!("/{list}/new.atom"), &list, &entries);
        Ok((format!("{tag:016x}"), feed))
    })
    .await;
    match made {
        Ok((tag, feed)) => cached(&headers, tag, "application/atom+xml", feed.into_bytes()),
        Err(r) => r,
    }
}

async fn raw(State(web): State<Arc<Web>>, Path((list, mid)): Path<(String, String)>, headers: HeaderMap) -> Response {
    let found = match find(&web, &list, &mid, "raw").await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let tag = format!("{:016x}", article_tag(&found.meta));
    match blocking(&web, move |ctx| raw_of(ctx, &found.meta)).await {
        Ok(raw) => {
            let kind = if std::str::from_utf8(&raw).is_ok() { "text/plain; charset=utf-8" } else { "text/plain" };
            cached(&headers, tag, kind, raw)
        }
        Err(r) => r,
    }
}

/// The four answers made from a message's whole thread (`t.mbox.gz`, `t.atom`, the message
/// page, `/T/`): the message found (or the redirect or 404 instead), a heavy-work permit,
/// its thread read on the blocking pool and `make` run on it; the thread's articles give
/// the ETag.
async fn from_thread(
    web: &Web,
    (list, mid): (String, String),
    rest: &str,
    headers: &HeaderMap,
    content_type: &'static str,
    make: impl FnOnce(&Context, &Located, &Thread) -> Result<Vec<u8>, StoreError> + Send + 'static,
) -> Response {
    let found = match find(web, &list, &mid, rest).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let Ok(_permit) = web.heavy.acquire().await else { return not_found() };
    let made = blocking(web, move |ctx| {
        let thread = thread_of(ctx, &found.meta.message_id)?;
        Ok((thread_tag(&thread), make(ctx, &found, &thread)?))
    })
    .await;
    match made {
        Ok((tag, body)) => cached(headers, tag, content_type, body),
        Err(r) => r,
    }
}

/// The thread's messages this archive has, read for display, in thread order.
fn shown_thread(ctx: &Context, thread: &Thread) -> Result<Vec<Shown>, StoreError> {
    let mut shown = Vec::new();
    for (_, _, meta) in thread {
        if let Some(m) = meta {
            shown.push(Shown::of(&raw_of(ctx, m)?, &m.message_id, m.arrival));
        }
    }
    Ok(shown)
}

async fn thread_mbox(State(web): State<Arc<Web>>, Path(at): Path<(String, String)>, headers: HeaderMap) -> Response {
    from_thread(&web, at, "t.mbox.gz", &headers, "application/gzip", |ctx, _, thread| {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut chunk = Vec::new();
        for (_, _, meta) in thread {
            let Some(meta) = meta else { continue };
            chunk.clear();
            article::push_mboxrd(&mut chunk, &raw_of(ctx, meta)?);
            gz.write_all(&chunk).map_err(StoreError::Io)?;
        }
        gz.finish().map_err(StoreError::Io)
    })
    .await
}

async fn thread_atom(State(web): State<Arc<Web>>, Path(at): Path<(String, String)>, headers: HeaderMap) -> Response {
    let base = origin(&headers);
    from_thread(&web, at, "t.atom", &headers, "application/atom+xml", move |ctx, found, thread| {
        let entries = shown_thread(ctx, thread)?;
        let title = entries.first().map(|e| e.subject.clone()).unwrap_or_default();
        let self_path = format!("/{}/{}/t.atom", found.segment, render::mid_path(&found.meta.message_id));
        Ok(render::atom(&base, &title, &self_path, &found.segment, &entries).into_bytes())
    })
    .await
}

async fn message(State(web): State<Arc<Web>>, Path(at): Path<(String, String)>, headers: HeaderMap) -> Response {
    from_thread(&web, at, "", &headers, "text/html; charset=utf-8", |ctx, found, thread| {
        let shown = Shown::of(&raw_of(ctx, &found.meta)?, &found.meta.message_id, found.meta.arrival);
        let items = items_of(ctx, thread)?;
        Ok(render::message_page(&place(ctx, &found.segment, &found.group), &shown, &items).into_bytes())
    })
    .await
}

async fn thread_page(State(web): State<Arc<Web>>, Path(at): Path<(String, String)>, headers: HeaderMap) -> Response {
    from_thread(&web, at, "T/", &headers, "text/html; charset=utf-8", |ctx, found, thread| {
        let messages = shown_thread(ctx, thread)?;
        let items = items_of(ctx, thread)?;
        Ok(render::thread_page(&place(ctx, &found.segment, &found.group), &messages, &items).into_bytes())
    })
    .await
}
