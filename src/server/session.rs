//! One client connection: frames command lines, runs them in order on the blocking pool,
//! and writes each batch of responses with one write.
//!
//! Memory stays bounded whatever the client does: new input is read only once every queued
//! command has been answered, a response is produced in chunks of about [`CHUNK`] bytes
//! and each chunk is written (waiting on the socket) before the next is made.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::commands::{self, CHUNK, Context, Cursor, Flow, State};
use crate::protocol::command::MAX_LINE;
use crate::protocol::response;

/// Stop gathering pipelined responses into one buffer past this size and write them.
const BATCH_OUTPUT: usize = 64 << 10;
const READ_CHUNK: usize = 16 << 10;

/// A framed input line, or the mark of one that was too long.
enum Input {
    Line(Vec<u8>),
    TooLong,
}

pub struct Session<S> {
    stream: S,
    ctx: Arc<Context>,
    state: State,
    inbuf: Vec<u8>,
    queue: VecDeque<Input>,
    /// Inside an over-long line: drop input up to the next LF.
    discarding: bool,
    idle_timeout: Duration,
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    pub fn new(stream: S, ctx: Arc<Context>, idle_timeout: Duration) -> Self {
        Session {
            stream,
            ctx,
            state: State::default(),
            inbuf: Vec::with_capacity(1024),
            queue: VecDeque::new(),
            discarding: false,
            idle_timeout,
        }
    }

    pub async fn run(mut self) -> std::io::Result<()> {
        let mut greeting = Vec::new();
        response::status(
            &mut greeting,
            201,
            format_args!("{} listnews {} ready (posting prohibited)", self.ctx.hostname, env!("CARGO_PKG_VERSION")),
        );
        self.stream.write_all(&greeting).await?;
        loop {
            self.frame();
            if !self.queue.is_empty() {
                if self.answer_queue().await? {
                    break;
                }
                continue;
            }
            self.inbuf.reserve(READ_CHUNK);
            let read = tokio::time::timeout(self.idle_timeout, self.stream.read_buf(&mut self.inbuf)).await;
            match read {
                Ok(Ok(0)) => break,
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(e),
                Err(_) => {
                    let mut out = Vec::new();
                    response::status(&mut out, 400, "Idle timeout, closing connection");
                    let _ = self.stream.write_all(&out).await;
                    break;
                }
            }
        }
        let _ = self.stream.shutdown().await;
        Ok(())
    }

    /// Moves complete lines from the input buffer to the queue.
    fn frame(&mut self) {
        let mut start = 0;
        while let Some(nl) = memchr::memchr(b'\n', &self.inbuf[start..]) {
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
                self.queue.push_back(Input::Line(line.to_vec()));
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

    /// Answers queued commands in order; returns true once the client has quit.
    async fn answer_queue(&mut self) -> std::io::Result<bool> {
        let ctx = self.ctx.clone();
        let mut state = std::mem::take(&mut self.state);
        let mut queue = std::mem::take(&mut self.queue);
        let (state, queue, out, flow) = tokio::task::spawn_blocking(move || {
            let mut out = Vec::with_capacity(4096);
            let mut flow = Flow::Continue;
            while let Some(input) = queue.pop_front() {
                flow = match input {
                    Input::Line(line) => commands::execute(&ctx, &mut state, &line, &mut out),
                    Input::TooLong => {
                        response::status(&mut out, 501, "Command line too long (over 512 octets)");
                        Flow::Continue
                    }
                };
                if !matches!(flow, Flow::Continue) || out.len() >= BATCH_OUTPUT {
                    break;
                }
            }
            (state, queue, out, flow)
        })
        .await
        .map_err(std::io::Error::other)?;
        self.state = state;
        self.queue = queue;
        match flow {
            Flow::Continue => self.stream.write_all(&out).await?,
            Flow::Quit => {
                self.stream.write_all(&out).await?;
                return Ok(true);
            }
            Flow::More(cursor) => self.send_chunks(out, cursor).await?,
        }
        Ok(false)
    }

    /// Sends a long response chunk by chunk, the first chunk together with what came before.
    async fn send_chunks(&mut self, mut out: Vec<u8>, cursor: Cursor) -> std::io::Result<()> {
        let mut cursor = Some(cursor);
        while let Some(c) = cursor.take() {
            let ctx = self.ctx.clone();
            let (chunk, next) = tokio::task::spawn_blocking(move || {
                let mark = out.len();
                match commands::resume(&ctx, c, &mut out) {
                    Ok(next) => (out, next),
                    Err(e) => {
                        // The status line is out already; end the block so the client stays in step.
                        tracing::error!(error = %e, "store failure in a listing");
                        out.truncate(mark);
                        response::end(&mut out);
                        (out, None)
                    }
                }
            })
            .await
            .map_err(std::io::Error::other)?;
            self.stream.write_all(&chunk).await?;
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
