//! The control socket (`data_dir/control.sock`): how `listnews deliver`, `import` and
//! `remove` reach a running server. One request per connection, answered with one line:
//!
//! ```text
//! DELIVER <length> [group]\n<length bytes>   -> OK <message-id> new|known | SETASIDE <reason>
//!                                               | DATAERR <reason> | CONFIG <reason>
//!                                               | TEMPFAIL <reason>
//! IMPORT <path>\n                             -> OK <summary> | ERR <reason>
//! REMOVE <message-id>\n                       -> OK removed | NOTFOUND | ERR <reason>
//! REJECTS [full]\n                            -> TEXT <length>\n<report> | ERR <reason>
//! VERIFY\n                                    -> TEXT <length>\n<JSON Verification> | ERR …
//! BACKUP <folder>\n                           -> TEXT <length>\n<JSON BackupSummary> | ERR …
//! ```
//!
//! REJECTS, VERIFY and BACKUP run on the store writer between commits, so a backup is a
//! consistent copy.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixListener;
use tokio::sync::oneshot;

use super::{DeliverError, Request, Writer};
use crate::import::Outcome;
use crate::import::message::MAX_MESSAGE;

pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join("control.sock")
}

/// Serves the control socket until the task is dropped.
/// Binds the socket. Done before `serve` returns to its caller, so a delivery made once the
/// server is up always finds the socket (and never falls back to a store that is in use).
pub fn bind(path: &Path) -> std::io::Result<UnixListener> {
    // A socket file left by a killed server: nothing listens on it any more.
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path)?;
    tracing::info!(path = %path.display(), "control socket ready");
    Ok(listener)
}

pub async fn serve(listener: UnixListener, writer: Writer) -> std::io::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        let writer = writer.clone();
        tokio::spawn(async move {
            if let Err(e) = handle(stream, writer).await {
                tracing::debug!(error = %e, "control connection failed");
            }
        });
    }
}

async fn handle(stream: tokio::net::UnixStream, writer: Writer) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut read = tokio::io::BufReader::new(read);
    let mut line = String::new();
    read.read_line(&mut line).await?;
    let words: Vec<&str> = line.split_whitespace().collect();
    let answer = match words.as_slice() {
        ["DELIVER", len, rest @ ..] => {
            let len: usize = len.parse().unwrap_or(usize::MAX);
            if len > MAX_MESSAGE {
                format!("DATAERR message larger than {MAX_MESSAGE} bytes")
            } else {
                let mut raw = vec![0; len];
                read.read_exact(&mut raw).await?;
                let (reply, answer) = oneshot::channel();
                let group = rest.first().map(|g| g.to_string());
                if writer.send(Request::Deliver { raw, group, reply }) {
                    match answer.await {
                        Ok(Ok(Outcome::Stored { message_id, new })) => {
                            format!("OK {message_id} {}", if new { "new" } else { "known" })
                        }
                        Ok(Ok(Outcome::SetAside { reason, unreadable: true })) => format!("DATAERR {reason}"),
                        Ok(Ok(Outcome::SetAside { reason, .. })) => format!("SETASIDE {reason}"),
                        Ok(Ok(Outcome::Other)) => "OK".to_string(),
                        Ok(Err(DeliverError::Config(why))) => format!("CONFIG {why}"),
                        Ok(Err(DeliverError::Temporary(why))) => format!("TEMPFAIL {why}"),
                        Err(_) => "TEMPFAIL the store writer stopped".to_string(),
                    }
                } else {
                    "TEMPFAIL the store writer stopped".to_string()
                }
            }
        }
        ["IMPORT", ..] => {
            let path = PathBuf::from(line.trim_end_matches(['\r', '\n']).trim_start_matches("IMPORT").trim());
            let (reply, answer) = oneshot::channel();
            if writer.send(Request::Import { path, reply }) {
                match answer.await {
                    Ok(Ok(summary)) => format!("OK {summary}"),
                    Ok(Err(e)) => format!("ERR {e}"),
                    Err(_) => "ERR the store writer stopped".to_string(),
                }
            } else {
                "ERR the store writer stopped".to_string()
            }
        }
        ["REMOVE", id] => {
            let (reply, answer) = oneshot::channel();
            if writer.send(Request::Remove { id: id.to_string(), reply }) {
                match answer.await {
                    Ok(Ok(true)) => "OK removed".to_string(),
                    Ok(Ok(false)) => "NOTFOUND".to_string(),
                    Ok(Err(e)) => format!("ERR {e}"),
                    Err(_) => "ERR the store writer stopped".to_string(),
                }
            } else {
                "ERR the store writer stopped".to_string()
            }
        }
        ["REJECTS", rest @ ..] => {
            let full = rest.first() == Some(&"full");
            job(&writer, Box::new(move |store| crate::import::rejects_report(store, full).map_err(|e| e.to_string())))
                .await
        }
        ["VERIFY"] => job(&writer, Box::new(|store| json(store.verify().map_err(|e| e.to_string())?))).await,
        ["BACKUP", ..] => {
            let dest = PathBuf::from(line.trim_end_matches(['\r', '\n']).trim_start_matches("BACKUP").trim());
            job(&writer, Box::new(move |store| json(store.backup(&dest).map_err(|e| e.to_string())?))).await
        }
        _ => "ERR unknown request".to_string(),
    };
    if let Some(text) = answer.strip_prefix("TEXT ") {
        let reply = format!("TEXT {}\n{text}", text.len());
        write.write_all(reply.as_bytes()).await?;
        return write.shutdown().await;
    }
    let answer = answer.replace(['\r', '\n'], " ");
    write.write_all(format!("{answer}\n").as_bytes()).await?;
    write.shutdown().await
}

/// Runs `work` on the writer; the answer is `TEXT …` or `ERR …`.
async fn job(writer: &Writer, work: super::Job) -> String {
    let (reply, answer) = oneshot::channel();
    if !writer.send(Request::Job { job: work, reply }) {
        return "ERR the store writer stopped".to_string();
    }
    match answer.await {
        Ok(Ok(text)) => format!("TEXT {text}"),
        Ok(Err(e)) => format!("ERR {e}"),
        Err(_) => "ERR the store writer stopped".to_string(),
    }
}

fn json(value: impl serde::Serialize) -> Result<String, String> {
    serde_json::to_string(&value).map_err(|e| e.to_string())
}

/// Sends a request answered with text (`TEXT <length>` and that many bytes).
pub fn request_text(path: &Path, header: &str, timeout: Duration) -> Result<Result<String, String>, ClientError> {
    let mut stream = UnixStream::connect(path).map_err(|_| ClientError::NoServer)?;
    let failed = |e: std::io::Error| ClientError::Failed(e.to_string());
    stream.set_read_timeout(Some(timeout)).map_err(failed)?;
    stream.write_all(header.as_bytes()).map_err(failed)?;
    let mut reader = BufReader::new(stream);
    let mut first = String::new();
    reader.read_line(&mut first).map_err(failed)?;
    let first = first.trim_end();
    if let Some(len) = first.strip_prefix("TEXT ") {
        let len: u64 = len.parse().map_err(|_| ClientError::Failed(format!("bad answer {first:?}")))?;
        let mut text = String::new();
        reader.take(len).read_to_string(&mut text).map_err(failed)?;
        return Ok(Ok(text));
    }
    match first.strip_prefix("ERR ") {
        Some(why) => Ok(Err(why.to_string())),
        None if first.is_empty() => {
            Err(ClientError::Failed("the server closed the connection without answering".into()))
        }
        None => Err(ClientError::Failed(format!("unexpected answer {first:?}"))),
    }
}

/// Why a request could not be made over the socket.
#[derive(Debug)]
pub enum ClientError {
    /// Nothing listens: no server runs on this store.
    NoServer,
    /// The server was reached but did not answer in full.
    Failed(String),
}

/// Sends one request and returns the answer line.
pub fn request(path: &Path, header: &str, body: &[u8], timeout: Duration) -> Result<String, ClientError> {
    let mut stream = UnixStream::connect(path).map_err(|_| ClientError::NoServer)?;
    stream.set_read_timeout(Some(timeout)).map_err(|e| ClientError::Failed(e.to_string()))?;
    stream.set_write_timeout(Some(timeout)).map_err(|e| ClientError::Failed(e.to_string()))?;
    stream.write_all(header.as_bytes()).map_err(|e| ClientError::Failed(e.to_string()))?;
    stream.write_all(body).map_err(|e| ClientError::Failed(e.to_string()))?;
    let mut answer = String::new();
    BufReader::new(&mut stream).read_line(&mut answer).map_err(|e| ClientError::Failed(e.to_string()))?;
    if answer.is_empty() {
        return Err(ClientError::Failed("the server closed the connection without answering".into()));
    }
    // Drain so the server's shutdown is seen cleanly.
    let _ = stream.read_to_end(&mut Vec::new());
    Ok(answer.trim_end().to_string())
}
