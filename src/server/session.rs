//! One client connection: frames command lines and parses each once, runs them in order (a
//! few quick ones on the session's own thread, anything else on the blocking pool, as each
//! command's table row says), and writes each batch of responses with one write.
//!
//! Memory stays bounded whatever the client does: new input is read only once every queued
//! command has been answered, a response is produced in chunks of at most [`CHUNK`] bytes
//! and each chunk is written (waiting on the socket) before the next is made. Whatever the
//! number of clients: chunks shrink as more responses are under way (`RESPONSE_MEMORY`), and
//! a client that takes nothing of a pending response for [`WRITE_STALL`] is disconnected.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::auth::{self, Admission, Verdict};
use super::commands::{self, CHUNK, Cursor, Flow, PendingAuth, State};
use super::observe::Tally;
use super::stream::{Deflated, Stream, Transport};
use super::{CompressedSlot, SLICE, Slot};
use crate::protocol::command::{MAX_LINE, Parsed, parse};
use crate::protocol::table::Kind;
use crate::protocol::{ParseError, Status, block};

/// Stop gathering pipelined responses into one buffer past this size and write them.
const BATCH_OUTPUT: usize = 64 << 10;
/// Input is read in small steps (most command lines are a few dozen octets; `ARTICLE
/// <message-id>` under 128), and a pipelining client still gets 4 KiB per read. An idle
/// connection holds no input buffer at all (see `Session::read_input`).
const READ_SMALL: usize = 128;
/// At most this many quick commands ([`Kind::Quick`]) run on the session's own thread at
/// once; a longer pipeline goes to the blocking pool.
const QUICK_BATCH: usize = 4;
const READ_CHUNK: usize = 4 << 10;
/// A client that takes no byte of a response for this long is disconnected (it holds response
/// memory meanwhile).
pub const WRITE_STALL: Duration = Duration::from_secs(120);
/// How long a closing session keeps reading (and dropping) what the client still sends; see
/// [`Session::finish`].
const LINGER: Duration = Duration::from_secs(2);

/// A framed input line, parsed, or the mark of one that was too long.
enum Input {
    Command(Result<Parsed, ParseError>),
    TooLong,
}

impl Input {
    /// May it run on the session's own thread? Unparsable lines only produce an error status.
    fn is_quick(&self) -> bool {
        match self {
            // A password check only starts here: the hashing runs in the password pool; POST
            // only checks who may post before the article is read.
            Input::Command(Ok(parsed)) => matches!(parsed.row.kind, Kind::Quick | Kind::Auth | Kind::ReadsBlock),
            Input::Command(Err(_)) | Input::TooLong => true,
        }
    }
}

pub struct Session {
    stream: Transport,
    /// The connection's place in the server's count; the server's shared state.
    slot: Slot,
    /// Held while the session is compressed (the server counts compressed connections).
    compressed: Option<CompressedSlot>,
    state: State,
    inbuf: Vec<u8>,
    queue: VecDeque<Input>,
    /// Inside an over-long line: drop input up to the next LF.
    discarding: bool,
    /// The last read filled the buffer: more is probably waiting.
    read_full: bool,
    tally: Tally,
}

/// One command as answered, for the [`Tally`].
struct Answered {
    verb: Option<&'static str>,
    code: u16,
    /// The group selected after it (GROUP and LISTGROUP).
    group: Option<String>,
    took: Duration,
}

impl Session {
    pub fn new(stream: Transport, slot: Slot, tls: bool) -> Self {
        Session {
            stream,
            slot,
            compressed: None,
            state: State::fresh(tls),
            inbuf: Vec::new(),
            queue: VecDeque::new(),
            discarding: false,
            read_full: false,
            tally: Tally::start(),
        }
    }

    /// Ends the session after [`Session::serve`]: writes its access-log line, closes the
    /// connection, and logs an error that ended it.
    pub async fn finish(mut self, result: std::io::Result<&'static str>) {
        let end = match &result {
            Ok(end) => *end,
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => "stalled",
            Err(_) => "error",
        };
        let client = self.slot.client;
        self.tally.finish(client, self.state.tls, self.state.user.as_deref(), end);
        let _ = self.stream.shutdown().await;
        if matches!(end, "shutdown" | "quit" | "idle") {
            // A lingering close: a socket closed with input unread (commands pipelined
            // behind the last answer, say) makes the kernel reset the connection and drop
            // what it has not yet delivered of that answer. The end of our output is marked
            // (FIN) above; what the client still sends is read and dropped until it closes,
            // for LINGER at most.
            let mut sink = [0u8; 1024];
            let _ =
                tokio::time::timeout(LINGER, async { while let Ok(1..) = self.stream.read(&mut sink).await {} }).await;
        }
        if let Err(e) = result {
            tracing::debug!(%client, error = %e, "session ended with an error");
        }
        tracing::debug!(%client, "disconnected");
    }

    /// Serves the client until it quits, goes, idles out or the server stops; returns how it
    /// ended (for [`Session::finish`]).
    pub async fn serve(&mut self) -> std::io::Result<&'static str> {
        self.greet().await?;
        loop {
            self.frame();
            if !self.queue.is_empty() {
                // Boxed: the answering future is large and an idle session should not carry it.
                if let Some(end) = Box::pin(self.answer_queue()).await? {
                    return Ok(end);
                }
                continue;
            }
            // Waiting for a command is where a shutdown may interrupt; a response under way
            // always finishes first.
            // (The last words are sent boxed: an idle session should not carry their futures.)
            if self.slot.shared.clock.stopping() {
                let _ = Box::pin(self.send(&Status::ShuttingDown.to_line())).await;
                return Ok("shutdown");
            }
            let bucket = self.slot.shared.clock.bucket(self.slot.shared.limits().idle);
            tokio::select! {
                read = self.read_input() => match read {
                    Ok(0) => return Ok("closed"),
                    Ok(_) => {}
                    Err(e) => return Err(e),
                },
                // The bucket fires once the idle timeout has passed for all its sessions, or
                // at shutdown.
                _ = bucket.fired() => {
                    if !self.slot.shared.clock.stopping() {
                        let _ = Box::pin(self.send(&Status::IdleTimeout.to_line())).await;
                        return Ok("idle");
                    }
                }
            }
        }
    }

    /// Sends the greeting (its own function: its locals are not kept in an idle session).
    async fn greet(&mut self) -> std::io::Result<()> {
        let ctx = self.slot.shared.context();
        let greeting = Status::Greeting { host: ctx.hostname.clone(), posting: ctx.may_post(&self.state).is_ok() };
        drop(ctx);
        Box::pin(self.send(&greeting.to_line())).await
    }

    /// Reads what the client sent next into the input buffer; returns how many octets (0: the
    /// client closed). With nothing buffered, the session first waits for input holding no
    /// buffer at all (an idle connection's memory), then reads small, or big after a read
    /// that filled the buffer (a pipelining client).
    async fn read_input(&mut self) -> std::io::Result<usize> {
        if self.inbuf.is_empty() && !self.read_full {
            self.inbuf = Vec::new();
            std::future::poll_fn(|cx| self.stream.poll_input(cx)).await?;
        }
        self.inbuf.reserve(if self.read_full { READ_CHUNK } else { READ_SMALL });
        let spare = self.inbuf.capacity() - self.inbuf.len();
        let n = self.stream.read_buf(&mut self.inbuf).await?;
        self.read_full = n == spare;
        Ok(n)
    }

    /// Writes one buffer and flushes it (for DEFLATE: the per-response sync flush); a client
    /// that takes nothing for [`WRITE_STALL`] fails the write.
    async fn send(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.tally.sent(buf.len());
        let mut written = 0;
        while written < buf.len() {
            let end = (written + SLICE).min(buf.len());
            match tokio::time::timeout(WRITE_STALL, self.stream.write_all(&buf[written..end])).await {
                Ok(result) => result?,
                Err(_) => return Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "client stopped reading")),
            }
            written = end;
        }
        match tokio::time::timeout(WRITE_STALL, self.stream.flush()).await {
            Ok(result) => result,
            Err(_) => Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "client stopped reading")),
        }
    }

    /// After `382` or `206`: nothing may follow in the old form. Pipelined plaintext behind
    /// STARTTLS is the CVE-2011-0411 injection; the connection is closed instead.
    fn input_pending(&self) -> bool {
        !self.inbuf.is_empty() || !self.queue.is_empty()
    }

    async fn start_tls(&mut self) -> std::io::Result<bool> {
        if self.input_pending() {
            tracing::warn!("input pipelined behind STARTTLS; closing");
            return Ok(false);
        }
        let Some(acceptor) = self.slot.shared.tls_acceptor() else { return Ok(false) };
        let plain = self.stream.detach();
        // A client silent after 382 must not hold its slot (and a shutdown) forever.
        match tokio::time::timeout(super::HANDSHAKE_TIMEOUT, acceptor.accept(plain)).await {
            Err(_) => {
                tracing::debug!("TLS handshake after STARTTLS timed out");
                Ok(false)
            }
            Ok(Ok(tls)) => {
                self.stream = Transport::Wrapped(Box::new(tls));
                // RFC 4642 §2.2.2: back to the state just after the greeting.
                self.state = State::fresh(true);
                Ok(true)
            }
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "TLS handshake failed");
                Ok(false)
            }
        }
    }

    fn start_compression(&mut self, slot: CompressedSlot) -> bool {
        if self.input_pending() {
            return false;
        }
        let inner = self.stream.detach();
        self.stream = Transport::Wrapped(Box::new(Deflated::new(inner)));
        self.state.compressed = true;
        self.compressed = Some(slot);
        true
    }

    /// Moves complete lines from the input buffer to the queue. What follows a command that
    /// reads a block (POST) stays in the buffer: it may be the block.
    fn frame(&mut self) {
        let mut start = 0;
        let awaiting_block = |queue: &VecDeque<Input>| matches!(queue.back(), Some(Input::Command(Ok(parsed))) if parsed.row.kind == Kind::ReadsBlock);
        while !awaiting_block(&self.queue)
            && let Some(nl) = memchr::memchr(b'\n', &self.inbuf[start..])
        {
            let end = start + nl;
            if self.discarding {
                self.discarding = false;
            } else if end + 1 - start > MAX_LINE {
                // RFC 3977 §3.1: at most 512 octets including CRLF; never truncate and run it.
                self.queue.push_back(Input::TooLong);
            } else {
                let mut line = &self.inbuf[start..end];
                if line.last() == Some(&b'\r') {
                    line = &line[..line.len() - 1];
                }
                self.queue.push_back(Input::Command(parse(line)));
            }
            start = end + 1;
        }
        self.inbuf.drain(..start);
        if self.inbuf.len() > MAX_LINE {
            // No LF in sight and already too long: answer now and drop the rest of the line.
            if !self.discarding {
                self.queue.push_back(Input::TooLong);
                self.discarding = true;
            }
            self.inbuf.clear();
        }
    }

    /// Answers queued commands in order; returns how the session ended once it has.
    async fn answer_queue(&mut self) -> std::io::Result<Option<&'static str>> {
        let started = std::time::Instant::now();
        let ctx = self.slot.shared.context();
        let state = std::mem::take(&mut self.state);
        let queue = std::mem::take(&mut self.queue);
        let quick = queue.len() <= QUICK_BATCH && queue.iter().all(Input::is_quick);
        let (state, queue, out, flow, answered) = if quick {
            run_queue(&ctx, state, queue)
        } else {
            tokio::task::spawn_blocking(move || run_queue(&ctx, state, queue)).await.map_err(std::io::Error::other)?
        };
        self.state = state;
        self.queue = queue;
        for a in answered {
            self.tally.command(a.verb, a.code, a.group.as_deref(), a.took);
        }
        match flow {
            Flow::Continue => self.send(&out).await?,
            Flow::Quit => {
                self.send(&out).await?;
                return Ok(Some("quit"));
            }
            Flow::More(cursor) => {
                Box::pin(self.send_chunks(out, cursor)).await?;
                self.tally.listing(started.elapsed());
            }
            Flow::StartTls => {
                self.send(&out).await?;
                return Ok((!Box::pin(self.start_tls()).await?).then_some("tls-failed"));
            }
            Flow::Compress => {
                let Some(slot) = self.slot.shared.compressed_slot() else {
                    let mut out = out;
                    Status::CompressionUnavailable.write(&mut out);
                    self.send(&out).await?;
                    return Ok(None);
                };
                let mut out = out;
                Status::CompressionActive.write(&mut out);
                self.send(&out).await?;
                return Ok((!self.start_compression(slot)).then_some("error"));
            }
            Flow::Authenticate(pending) => {
                self.send(&out).await?;
                let answer = Box::pin(self.authenticate(pending)).await;
                let code = answer.get(..3).and_then(|c| std::str::from_utf8(c).ok()?.parse().ok()).unwrap_or(0);
                self.tally.command(Some("AUTHINFO"), code, None, started.elapsed());
                self.send(&answer).await?;
            }
            Flow::ReadArticle => {
                let status = Box::pin(self.post(out)).await?;
                self.tally.command(Some("POST"), status.code(), None, started.elapsed());
                self.send(&status.to_line()).await?;
            }
        }
        Ok(None)
    }

    /// POST, once the handler said this session may post: answers `340` (with what came
    /// before it in `out`) unless the server is busy or a limit is reached, reads the article,
    /// checks it and relays it. Returns the final status.
    async fn post(&mut self, mut out: Vec<u8>) -> std::io::Result<Status> {
        let ctx = self.slot.shared.context();
        let Some(relay) = self.slot.shared.relay() else {
            self.send(&out).await?;
            return Ok(Status::PostingRefused("no mail relay is configured".into()));
        };
        let keys = self.post_keys(None);
        let ready = match (
            self.over_post_limit(&keys, ctx.post_per_hour),
            self.slot.shared.posting_slot(self.slot.client.ip()),
        ) {
            (Some(refused), _) => Err(refused),
            (None, None) => Err(Status::PostingBusy),
            (None, Some(slot)) => Ok(slot),
        };
        let _slot = match ready {
            Ok(slot) => slot,
            Err(status) => {
                self.send(&out).await?;
                return Ok(status);
            }
        };
        Status::SendArticle.write(&mut out);
        self.send(&out).await?;
        let Some(text) = self.read_block(ctx.post_max_bytes).await? else {
            return Ok(Status::PostFailed(format!("the article is larger than {} octets", ctx.post_max_bytes)));
        };
        let state = self.state.clone();
        let checked = {
            let ctx = ctx.clone();
            tokio::task::spawn_blocking(move || commands::prepare_post(&ctx, &state, &text))
                .await
                .map_err(std::io::Error::other)?
        };
        let outgoing = match checked {
            Ok(outgoing) => outgoing,
            Err(status) => {
                tracing::info!(
                    "post: refused address={} user={} reason=\"{status}\"",
                    self.slot.client.ip(),
                    self.who()
                );
                return Ok(status);
            }
        };
        let keys = self.post_keys(Some(&outgoing.poster.address_lower()));
        if let Some(refused) = self.over_post_limit(&keys, ctx.post_per_hour) {
            return Ok(refused);
        }
        let id = outgoing.message_id.clone();
        if !self.slot.shared.ledger.claim(&id) {
            return Ok(Status::PostFailed(format!("{id} was posted here recently")));
        }
        match relay.deliver(&outgoing, crate::clock::now()).await {
            Ok(done) => {
                self.slot.shared.ledger.record(&keys);
                tracing::info!(
                    "post: relayed id={id} address={} user={} from={} groups={} to={} via={} rewritten={} bytes={} reply=\"{}\"",
                    self.slot.client.ip(),
                    self.who(),
                    outgoing.poster.address,
                    outgoing.groups.join(","),
                    outgoing.lists.join(","),
                    relay.describe,
                    done.rewritten,
                    done.mail.len(),
                    done.reply.escape_debug()
                );
                Ok(Status::Posted { id })
            }
            Err(why) => {
                self.slot.shared.ledger.release(&id);
                tracing::warn!(
                    "post: relay failed id={id} address={} user={} via={} error=\"{}\"",
                    self.slot.client.ip(),
                    self.who(),
                    relay.describe,
                    why.escape_debug()
                );
                Ok(Status::PostFailed(format!("the mail relay did not take it: {why}")))
            }
        }
    }

    /// `440` when one of `keys` has reached its posts for the hour.
    fn over_post_limit(&self, keys: &[String], per_hour: u32) -> Option<Status> {
        let (key, wait) = self.slot.shared.ledger.over_limit(keys, per_hour)?;
        Some(Status::PostingRefused(format!(
            "{per_hour} posts an hour from {key} at most; try again in {} minutes",
            wait.as_secs().div_ceil(60)
        )))
    }

    /// The user name for log lines (`-` before AUTHINFO).
    fn who(&self) -> String {
        self.state.user.as_deref().map_or_else(|| "-".into(), |u| format!("{u:?}"))
    }

    /// What posts are counted against: the user, the client's address and the From address.
    fn post_keys(&self, from: Option<&str>) -> Vec<String> {
        let mut keys = vec![format!("address {}", self.slot.client.ip())];
        if let Some(user) = &self.state.user {
            keys.push(format!("user {user}"));
        }
        if let Some(from) = from {
            keys.push(from.to_string());
        }
        keys
    }

    /// Reads a block the client sends (POST's article), keeping what follows it for the
    /// next commands. `None` when it was larger than `max` (read to its end and dropped).
    async fn read_block(&mut self, max: usize) -> std::io::Result<Option<Vec<u8>>> {
        let mut reader = block::BlockReader::new(max);
        let mut fed = reader.feed(&self.inbuf);
        let mut buf = Vec::new();
        loop {
            if let block::Fed::Done { used } = fed {
                let rest = if buf.is_empty() { self.inbuf[used..].to_vec() } else { buf[used..].to_vec() };
                self.inbuf = rest;
                return Ok(reader.into_text());
            }
            self.inbuf.clear();
            buf.clear();
            buf.reserve(READ_CHUNK);
            match tokio::time::timeout(
                self.slot.shared.limits().idle.min(super::POST_STALL),
                self.stream.read_buf(&mut buf),
            )
            .await
            {
                Ok(Ok(0)) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
                Ok(Ok(_)) => fed = reader.feed(&buf),
                Ok(Err(e)) => return Err(e),
                Err(_) => return Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "no article")),
            }
        }
    }

    /// Checks a password in the password pool and answers AUTHINFO PASS. A failure is counted
    /// against the connection, the address and the user name, and answered after a delay that
    /// grows with them; an address past its budget is not checked at all. Every outcome is
    /// logged on one line (the format `docs/fail2ban.md` matches).
    async fn authenticate(&mut self, pending: PendingAuth) -> Vec<u8> {
        let ctx = self.slot.shared.context();
        let address = self.slot.client.ip();
        let limiter = &self.slot.shared.limiter;
        let (by_address, by_user) = limiter.failures(address, &pending.user);
        let admission = if by_address >= ctx.auth_failures_per_address {
            Admission::Refused
        } else {
            limiter.admit(address, &pending.user)
        };
        if let Admission::At(slot) = admission {
            tokio::time::sleep_until(slot.into()).await;
        }
        let verdict = match admission {
            Admission::Refused => None,
            Admission::Now | Admission::At(_) => {
                let suspicion = by_address.saturating_add(by_user).saturating_add(self.state.auth_failures);
                Some(ctx.auth_pool().check(pending.credential.clone(), &pending.password, suspicion).await)
            }
        };
        let user = pending.user.clone();
        let shown = user.escape_debug().to_string();
        let mut out = Vec::new();
        match verdict {
            Some(Verdict::Accepted) => {
                tracing::info!("auth: accepted address={address} user=\"{shown}\"");
                commands::finish_auth(&mut self.state, user, Verdict::Accepted, &mut out);
            }
            Some(Verdict::Busy) => {
                tracing::warn!("auth: refused address={address} user=\"{shown}\" reason=busy");
                // Not a failure of the password, but no instant retry either.
                tokio::time::sleep(auth::BASE_DELAY).await;
                commands::finish_auth(&mut self.state, user, Verdict::Busy, &mut out);
            }
            Some(Verdict::Rejected) | None => {
                let reason = match verdict {
                    None if by_address >= ctx.auth_failures_per_address => "address-blocked",
                    None => "user-throttled",
                    _ if ctx.knows_user(&user) => "bad-password",
                    _ => "unknown-user",
                };
                let (by_address, by_user) = limiter.failed(address, &user);
                let worst = by_address.max(by_user).max(self.state.auth_failures + 1);
                let delay = if verdict.is_none() { auth::MAX_DELAY } else { auth::delay(worst) };
                tracing::warn!(
                    "auth: failed address={address} user=\"{shown}\" reason={reason} failures={worst} delay_ms={}",
                    delay.as_millis()
                );
                tokio::time::sleep(delay).await;
                commands::finish_auth(&mut self.state, user, Verdict::Rejected, &mut out);
            }
        }
        out
    }

    /// Sends a long response chunk by chunk, the first chunk together with what came before.
    async fn send_chunks(&mut self, mut out: Vec<u8>, cursor: Cursor) -> std::io::Result<()> {
        let mut cursor = Some(cursor);
        while let Some(c) = cursor.take() {
            let ctx = self.slot.shared.context();
            let state = self.state.clone();
            // This chunk's size: its share of the response memory (see RESPONSE_MEMORY).
            let shared = self.slot.shared.clone();
            let (writer, limit) = shared.writer();
            let (chunk, next) = tokio::task::spawn_blocking(move || {
                let mark = out.len();
                match commands::resume(&ctx, &state, c, &mut out, limit) {
                    Ok(next) => (out, next),
                    Err(e) => {
                        // The status line is out already; end the block so the client stays in step.
                        tracing::error!(error = %e, "store failure in a listing");
                        out.truncate(mark);
                        block::end(&mut out);
                        (out, None)
                    }
                }
            })
            .await
            .map_err(std::io::Error::other)?;
            self.send(&chunk).await?;
            drop(writer);
            out = chunk;
            out.clear();
            if out.capacity() > 2 * CHUNK {
                out.shrink_to(CHUNK);
            }
            cursor = next;
        }
        Ok(())
    }
}

/// Runs queued commands in order until one changes the flow or the output is large.
fn run_queue(
    ctx: &commands::Context,
    mut state: State,
    mut queue: VecDeque<Input>,
) -> (State, VecDeque<Input>, Vec<u8>, Flow, Vec<Answered>) {
    let mut out = Vec::with_capacity(4096);
    let mut flow = Flow::Continue;
    let mut answered = Vec::with_capacity(queue.len().min(QUICK_BATCH));
    while let Some(input) = queue.pop_front() {
        let started = std::time::Instant::now();
        let mark = out.len();
        let verb = match &input {
            Input::Command(Ok(parsed)) => Some(parsed.row.name),
            _ => None,
        };
        flow = match input {
            Input::Command(parsed) => commands::execute(ctx, &mut state, parsed, &mut out),
            Input::TooLong => {
                Status::LineTooLong.write(&mut out);
                Flow::Continue
            }
        };
        let code = out.get(mark..mark + 3).and_then(|c| std::str::from_utf8(c).ok()?.parse().ok()).unwrap_or(0);
        let group =
            matches!(verb, Some("GROUP" | "LISTGROUP")).then(|| state.group.as_ref().map(|(g, _)| g.clone())).flatten();
        // A password check and a post are tallied when they are answered.
        if !matches!(flow, Flow::Authenticate(_) | Flow::ReadArticle) {
            answered.push(Answered { verb, code, group, took: started.elapsed() });
        }
        if !matches!(flow, Flow::Continue) || out.len() >= BATCH_OUTPUT {
            break;
        }
    }
    (state, queue, out, flow, answered)
}
