//! nntp-bench: a load generator for NNTP servers (listnews, public-inbox-nntpd, INN's nnrpd),
//! so the client is never the bottleneck. Prints one JSON line per measurement.
//!
//!   nntp-bench --addr 127.0.0.1:1119 --group G xover   [--rounds 5]
//!   nntp-bench --addr … --group G hdr                  [--rounds 5]
//!   nntp-bench --addr … --group G article-number       [--clients 1|64] [--seconds 10]
//!   nntp-bench --addr … --group G article-id           [--clients 1|64] [--seconds 10]
//!   nntp-bench --addr … --group G group                [--count 2000]
//!   nntp-bench --addr … idle --connections 10000 --pid <server pid>
//!   nntp-bench echo --size 10000 [--seconds 10]        (the loopback floor; no server)
//!   nntp-bench --addr 127.0.0.1:119 takethis --batch FILE
//!                                                      (feeds an rnews batch over MODE STREAM)
//!   nntp-bench --addr 127.0.0.1:8080 http --paths FILE [--clients 1|64] [--seconds 10]
//!                                                      (GETs of the paths in FILE, keep-alive)

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use listnews::protocol::block::{BlockLine, unstuff_line};
use listnews::protocol::client::StatusLine;

#[derive(Parser)]
#[command(about = "NNTP load generator: one JSON line per measurement")]
struct Cli {
    /// The server (every scenario but `echo`, which needs none).
    #[arg(long)]
    addr: Option<SocketAddr>,
    /// The group to read.
    #[arg(long, default_value = "")]
    group: String,
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand)]
enum Scenario {
    /// XOVER of the whole group; lines per second.
    Xover {
        #[arg(long, default_value_t = 5)]
        rounds: usize,
    },
    /// HDR Subject of the whole group (XHDR if HDR is refused); lines per second.
    Hdr {
        #[arg(long, default_value_t = 5)]
        rounds: usize,
    },
    /// ARTICLE by random number; articles per second, p50 and p99 latency.
    ArticleNumber {
        #[arg(long, default_value_t = 1)]
        clients: usize,
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
    },
    /// ARTICLE by random message-id (ids from XOVER first).
    ArticleId {
        #[arg(long, default_value_t = 1)]
        clients: usize,
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
    },
    /// GROUP latency.
    Group {
        #[arg(long, default_value_t = 2000)]
        count: usize,
    },
    /// Opens idle connections (each greeted) and reports the server's RSS per connection.
    Idle {
        #[arg(long, default_value_t = 10_000)]
        connections: usize,
        /// The server's PID, to read its RSS from /proc.
        #[arg(long)]
        pid: u32,
    },
    /// HTTP GETs of random paths from a file (one per line) over keep-alive connections;
    /// requests per second, bytes per second, p50 latency.
    Http {
        #[arg(long)]
        paths: std::path::PathBuf,
        #[arg(long, default_value_t = 1)]
        clients: usize,
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
    },
    /// Feeds every article of an rnews batch (`#! rnews <bytes>` + article, LF line ends) to a
    /// transit server with streaming TAKETHIS (RFC 4644), pipelined: one connection, a writer
    /// sending as fast as the server takes it and a reader counting the answers. Reading and
    /// converting the batch is not timed; the time runs from MODE STREAM to the last answer.
    Takethis {
        #[arg(long)]
        batch: std::path::PathBuf,
    },
    /// The machine's floor for one client: a loopback echo of `size` bytes per request line
    /// (no server given; both ends in this process, blocking sockets, TCP_NODELAY), measured
    /// like ARTICLE at depth 1 (round trips per second, p50).
    Echo {
        #[arg(long, default_value_t = 10_000)]
        size: usize,
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
    },
}

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// One client connection. Answers are read line by line with the project's one NNTP reader
/// (`protocol::client::StatusLine`, `protocol::block::unstuff_line`) over tokio.
struct Conn {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    line: Vec<u8>,
}

impl Conn {
    async fn open(addr: SocketAddr) -> Result<Conn> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (r, w) = stream.into_split();
        let mut c = Conn { reader: BufReader::with_capacity(256 << 10, r), writer: w, line: Vec::with_capacity(1024) };
        let greeting = c.status().await?;
        if greeting.code != 200 && greeting.code != 201 {
            return Err(format!("greeting {greeting}").into());
        }
        Ok(c)
    }

    async fn read_line(&mut self) -> Result<usize> {
        self.line.clear();
        match self.reader.read_until(b'\n', &mut self.line).await? {
            0 => Err("connection closed".into()),
            n => Ok(n),
        }
    }

    async fn status(&mut self) -> Result<StatusLine> {
        self.read_line().await?;
        StatusLine::parse(&self.line)
            .ok_or_else(|| format!("not a status line: {:?}", String::from_utf8_lossy(&self.line)).into())
    }

    async fn cmd(&mut self, command: &str) -> Result<StatusLine> {
        self.writer.write_all(format!("{command}\r\n").as_bytes()).await?;
        self.status().await
    }

    /// Reads a multi-line block, passing each unstuffed line to `each`; returns (lines, bytes
    /// on the wire).
    async fn block_with(&mut self, mut each: impl FnMut(&[u8])) -> Result<(usize, usize)> {
        let (mut lines, mut bytes) = (0, 0);
        loop {
            let n = self.read_line().await?;
            match unstuff_line(&self.line) {
                BlockLine::End => return Ok((lines, bytes)),
                BlockLine::Data(data) => each(data),
            }
            lines += 1;
            bytes += n;
        }
    }

    async fn block(&mut self) -> Result<(usize, usize)> {
        self.block_with(|_| {}).await
    }

    /// GROUP: (count, low, high).
    async fn group(&mut self, group: &str) -> Result<(u64, u64, u64)> {
        let s = self.cmd(&format!("GROUP {group}")).await?;
        let f = s.words();
        if s.code != 211 || f.len() < 3 {
            return Err(format!("GROUP answered {s}").into());
        }
        Ok((f[0].parse()?, f[1].parse()?, f[2].parse()?))
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    v[v.len() / 2]
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// A small xorshift generator: deterministic, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

async fn listing(addr: SocketAddr, group: &str, rounds: usize, hdr: bool) -> Result<String> {
    let mut c = Conn::open(addr).await?;
    let (_, low, high) = c.group(group).await?;
    let mut rates = Vec::new();
    let mut lines_seen = 0;
    let mut command = if hdr { format!("HDR Subject {low}-{high}") } else { format!("XOVER {low}-{high}") };
    for _ in 0..rounds {
        let t = Instant::now();
        let mut status = c.cmd(&command).await?;
        if hdr && status.code != 225 {
            // public-inbox and older servers: XHDR.
            command = format!("XHDR Subject {low}-{high}");
            status = c.cmd(&command).await?;
        }
        if !(220..230).contains(&status.code) {
            return Err(format!("{command}: {status}").into());
        }
        let (lines, _) = c.block().await?;
        lines_seen = lines;
        rates.push(lines as f64 / t.elapsed().as_secs_f64());
    }
    let what = if hdr { "hdr_subject" } else { "xover" };
    Ok(format!(
        r#"{{"scenario":"{what}","lines":{lines_seen},"rounds":{rounds},"median_lines_per_s":{:.0}}}"#,
        median(&mut rates)
    ))
}

async fn articles(addr: SocketAddr, group: &str, clients: usize, seconds: f64, by_id: bool) -> Result<String> {
    let mut first = Conn::open(addr).await?;
    let (_, low, high) = first.group(group).await?;
    let ids: std::sync::Arc<Vec<String>> = std::sync::Arc::new(if by_id {
        let status = first.cmd(&format!("XOVER {low}-{high}")).await?;
        if status.code != 224 {
            return Err("XOVER refused".into());
        }
        let mut ids = Vec::new();
        first
            .block_with(|l| {
                if let Some(id) = l.split(|&b| b == b'\t').nth(4) {
                    ids.push(String::from_utf8_lossy(id).into_owned());
                }
            })
            .await?;
        ids
    } else {
        Vec::new()
    });
    // The probe connection is done: it must not count against the server's limits.
    drop(first);
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::new();
    for k in 0..clients {
        let group = group.to_string();
        let ids = ids.clone();
        tasks.push(tokio::spawn(async move {
            let mut c = Conn::open(addr).await?;
            c.group(&group).await?;
            let mut rng = Rng(0x2545_f491_4f6c_dd1d ^ ((k as u64 + 1) * 0x9e37_79b9));
            let mut latencies = Vec::new();
            let mut bytes = 0usize;
            while Instant::now() < deadline {
                let command = if by_id {
                    format!("ARTICLE {}", ids[(rng.next() % ids.len() as u64) as usize])
                } else {
                    format!("ARTICLE {}", low + rng.next() % (high - low + 1))
                };
                let t = Instant::now();
                let status = c.cmd(&command).await?;
                match status.code {
                    220 => bytes += c.block().await?.1,
                    423 | 430 => {}
                    _ => return Err(format!("{command}: {status}").into()),
                }
                latencies.push(t.elapsed().as_secs_f64());
            }
            Result::Ok((latencies, bytes))
        }));
    }
    let (all, bytes, elapsed) = gather(tasks, seconds).await?;
    let what = if by_id { "article_id" } else { "article_number" };
    Ok(format!(
        r#"{{"scenario":"{what}","clients":{clients},"articles":{},"articles_per_s":{:.0},"mb_per_s":{:.1},"p50_ms":{:.3},"p99_ms":{:.3}}}"#,
        all.len(),
        all.len() as f64 / elapsed,
        bytes as f64 / elapsed / 1e6,
        percentile(&all, 0.5) * 1000.0,
        percentile(&all, 0.99) * 1000.0
    ))
}

/// One client of a timed scenario: its latencies (seconds) and the bytes it read.
type ClientRun = tokio::task::JoinHandle<Result<(Vec<f64>, usize)>>;

/// Waits for the clients of a timed scenario: their latencies (seconds, sorted), the bytes
/// they read, and the seconds the run took (at least `seconds`).
async fn gather(tasks: Vec<ClientRun>, seconds: f64) -> Result<(Vec<f64>, usize, f64)> {
    let start = Instant::now();
    let mut latencies = Vec::new();
    let mut bytes = 0;
    for t in tasks {
        let (l, b) = t.await??;
        latencies.extend(l);
        bytes += b;
    }
    let elapsed = start.elapsed().as_secs_f64().max(seconds);
    latencies.sort_by(|a, b| a.total_cmp(b));
    Ok((latencies, bytes, elapsed))
}

async fn group_latency(addr: SocketAddr, group: &str, count: usize) -> Result<String> {
    let mut c = Conn::open(addr).await?;
    let mut lat = Vec::with_capacity(count);
    for _ in 0..count {
        let t = Instant::now();
        c.group(group).await?;
        lat.push(t.elapsed().as_secs_f64());
    }
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    Ok(format!(
        r#"{{"scenario":"group","count":{count},"p50_ms":{:.3},"p99_ms":{:.3}}}"#,
        percentile(&lat, 0.5) * 1000.0,
        percentile(&lat, 0.99) * 1000.0
    ))
}

/// RSS of a process and all its descendants (public-inbox serves from a worker child; INN's
/// nnrpd forks one process per connection).
fn rss_kib(pid: u32) -> u64 {
    let own: u64 = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0);
    let children: u64 = std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("children")).ok())
        .flat_map(|list| list.split_whitespace().filter_map(|c| c.parse::<u32>().ok()).collect::<Vec<_>>())
        .map(rss_kib)
        .sum();
    own + children
}

async fn idle(addr: SocketAddr, connections: usize, pid: u32) -> Result<String> {
    let before = rss_kib(pid);
    let mut open = Vec::with_capacity(connections);
    let t = Instant::now();
    // Opened a few hundred at a time so the accept queue never overflows.
    for chunk in (0..connections).collect::<Vec<_>>().chunks(256) {
        let batch: Vec<_> = chunk.iter().map(|_| tokio::spawn(Conn::open(addr))).collect();
        for b in batch {
            open.push(b.await??);
        }
    }
    let opened = t.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = rss_kib(pid);
    let per = (after.saturating_sub(before) * 1024) as f64 / connections as f64;
    drop(open);
    Ok(format!(
        r#"{{"scenario":"idle","connections":{connections},"open_seconds":{opened:.2},"rss_before_kib":{before},"rss_after_kib":{after},"bytes_per_connection":{per:.0}}}"#
    ))
}

fn echo(size: usize, seconds: f64) -> Result<String> {
    use std::io::{BufRead, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    std::thread::spawn(move || -> std::io::Result<()> {
        let (stream, _) = listener.accept()?;
        stream.set_nodelay(true)?;
        let mut reader = std::io::BufReader::new(stream.try_clone()?);
        let mut writer = stream;
        let mut response = vec![b'x'; size.max(3)];
        let n = response.len();
        response[n - 3..].copy_from_slice(b".\r\n");
        let mut line = Vec::new();
        loop {
            line.clear();
            if reader.read_until(b'\n', &mut line)? == 0 {
                return Ok(());
            }
            writer.write_all(&response)?;
        }
    });
    let mut stream = std::net::TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut latencies = Vec::new();
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let start = Instant::now();
    while Instant::now() < deadline {
        let t = Instant::now();
        stream.write_all(b"ARTICLE 1\r\n")?;
        let mut got = 0;
        while got < size.max(3) {
            let n = stream.read(&mut buf)?;
            if n == 0 {
                return Err("echo server closed".into());
            }
            got += n;
        }
        latencies.push(t.elapsed().as_secs_f64());
    }
    let elapsed = start.elapsed().as_secs_f64();
    latencies.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    Ok(format!(
        r#"{{"scenario":"echo","size":{size},"round_trips":{},"round_trips_per_s":{:.0},"p50_ms":{:.3}}}"#,
        latencies.len(),
        latencies.len() as f64 / elapsed,
        percentile(&latencies, 0.5) * 1000.0
    ))
}

/// One HTTP/1.1 keep-alive connection.
struct HttpConn {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    host: String,
}

impl HttpConn {
    async fn open(addr: SocketAddr) -> Result<HttpConn> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (r, w) = stream.into_split();
        Ok(HttpConn { reader: BufReader::with_capacity(256 << 10, r), writer: w, host: addr.to_string() })
    }

    /// GET `path`; returns the status and the body's length (Content-Length or chunked).
    async fn get(&mut self, path: &str) -> Result<(u16, usize)> {
        use tokio::io::AsyncReadExt;
        let request = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n\r\n", self.host);
        self.writer.write_all(request.as_bytes()).await?;
        let mut line = String::new();
        self.reader.read_line(&mut line).await?;
        let status: u16 = line.split(' ').nth(1).and_then(|c| c.parse().ok()).ok_or("no HTTP status line")?;
        let (mut length, mut chunked) = (0usize, false);
        loop {
            line.clear();
            if self.reader.read_line(&mut line).await? == 0 {
                return Err("connection closed".into());
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((name, value)) = l.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse()?;
                } else if name.eq_ignore_ascii_case("transfer-encoding") && value.trim().eq_ignore_ascii_case("chunked")
                {
                    chunked = true;
                }
            }
        }
        let mut sink = vec![0u8; 64 << 10];
        let mut total = 0;
        if chunked {
            loop {
                line.clear();
                self.reader.read_line(&mut line).await?;
                let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or("0"), 16)?;
                let mut left = size + 2;
                while left > 0 {
                    let n = self.reader.read(&mut sink[..left.min(64 << 10)]).await?;
                    if n == 0 {
                        return Err("connection closed".into());
                    }
                    left -= n;
                }
                total += size;
                if size == 0 {
                    break;
                }
            }
        } else {
            let mut left = length;
            while left > 0 {
                let n = self.reader.read(&mut sink[..left.min(64 << 10)]).await?;
                if n == 0 {
                    return Err("connection closed".into());
                }
                left -= n;
            }
            total = length;
        }
        Ok((status, total))
    }
}

async fn http(addr: SocketAddr, paths: &std::path::Path, clients: usize, seconds: f64) -> Result<String> {
    let paths: std::sync::Arc<Vec<String>> = std::sync::Arc::new(
        std::fs::read_to_string(paths)?.lines().filter(|l| !l.is_empty()).map(String::from).collect(),
    );
    if paths.is_empty() {
        return Err("no paths".into());
    }
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::new();
    for k in 0..clients {
        let paths = paths.clone();
        tasks.push(tokio::spawn(async move {
            let mut c = HttpConn::open(addr).await?;
            let mut rng = Rng(0x2545_f491_4f6c_dd1d ^ ((k as u64 + 1) * 0x9e37_79b9));
            let mut latencies = Vec::new();
            let mut bytes = 0usize;
            while Instant::now() < deadline {
                let path = &paths[(rng.next() % paths.len() as u64) as usize];
                let t = Instant::now();
                let (status, n) = c.get(path).await?;
                if status != 200 {
                    return Err(format!("GET {path}: {status}").into());
                }
                bytes += n;
                latencies.push(t.elapsed().as_secs_f64());
            }
            Result::Ok((latencies, bytes))
        }));
    }
    let (latencies, bytes, elapsed) = gather(tasks, seconds).await?;
    Ok(format!(
        r#"{{"scenario":"http","clients":{clients},"requests":{},"requests_per_s":{:.0},"mb_per_s":{:.1},"p50_ms":{:.3}}}"#,
        latencies.len(),
        latencies.len() as f64 / elapsed,
        bytes as f64 / elapsed / 1e6,
        percentile(&latencies, 0.5) * 1000.0
    ))
}

/// The articles of an rnews batch, each as (message-id, article on the wire: CRLF, dot-stuffed,
/// with its terminating line).
fn read_batch(path: &std::path::Path) -> Result<Vec<(String, Vec<u8>)>> {
    let data = std::fs::read(path)?;
    let mut out = Vec::new();
    let mut at = 0;
    while at < data.len() {
        let nl = memchr::memchr(b'\n', &data[at..]).ok_or("batch: header line without LF")? + at;
        let size: usize = std::str::from_utf8(&data[at..nl])?
            .strip_prefix("#! rnews ")
            .ok_or_else(|| format!("batch: not an rnews header at byte {at}"))?
            .trim()
            .parse()?;
        let raw = data.get(nl + 1..nl + 1 + size).ok_or("batch: truncated article")?;
        at = nl + 1 + size;
        let norm = listnews::protocol::article::to_crlf(raw);
        let head_end = memchr::memmem::find(&norm, b"\r\n\r\n").map_or(norm.len(), |i| i + 2);
        let id = listnews::protocol::article::header_value(&norm[..head_end], "Message-ID")
            .map(|v| String::from_utf8_lossy(listnews::protocol::article::trim(v)).into_owned())
            .ok_or_else(|| format!("batch: article at byte {at} has no Message-ID"))?;
        let (mut wire, _) = listnews::protocol::block::stuff(&norm, 0);
        listnews::protocol::block::end(&mut wire);
        out.push((id, wire));
    }
    Ok(out)
}

async fn takethis(addr: SocketAddr, batch: &std::path::Path) -> Result<String> {
    let articles = read_batch(batch)?;
    let bytes: usize = articles.iter().map(|(_, a)| a.len()).sum();
    let mut c = Conn::open(addr).await?;
    let start = Instant::now();
    let mode = c.cmd("MODE STREAM").await?;
    if mode.code != 203 {
        return Err(format!("MODE STREAM answered {mode}").into());
    }
    let Conn { mut reader, mut writer, .. } = c;
    let count = articles.len();
    let sender = tokio::spawn(async move {
        let mut out = Vec::with_capacity(1 << 20);
        for (id, wire) in &articles {
            out.extend_from_slice(format!("TAKETHIS {id}\r\n").as_bytes());
            out.extend_from_slice(wire);
            if out.len() >= 1 << 20 {
                writer.write_all(&out).await?;
                out.clear();
            }
        }
        writer.write_all(&out).await?;
        writer.flush().await?;
        Result::Ok(writer)
    });
    let (mut accepted, mut refused, mut other) = (0usize, 0usize, 0usize);
    let mut line = Vec::new();
    for _ in 0..count {
        line.clear();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            return Err("the server closed the connection while being fed".into());
        }
        match StatusLine::parse(&line).map(|s| s.code) {
            Some(239) => accepted += 1,
            Some(439) => refused += 1,
            _ => other += 1,
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let mut writer = sender.await??;
    let _ = writer.write_all(b"QUIT\r\n").await;
    Ok(format!(
        r#"{{"scenario":"takethis","articles":{count},"bytes":{bytes},"accepted":{accepted},"refused":{refused},"other":{other},"seconds":{elapsed:.3},"msgs_per_s":{:.0}}}"#,
        count as f64 / elapsed
    ))
}

fn main() {
    let cli = Cli::parse();
    // One client on one thread: a multi-threaded client would add its own cross-thread
    // wake-ups to every round trip it measures.
    if let Scenario::Echo { size, seconds } = cli.scenario {
        match echo(size, seconds) {
            Ok(line) => println!("{line}"),
            Err(e) => {
                eprintln!("nntp-bench: {e}");
                std::process::exit(1);
            }
        }
        return;
    }
    let one = match cli.scenario {
        Scenario::ArticleNumber { clients, .. }
        | Scenario::ArticleId { clients, .. }
        | Scenario::Http { clients, .. } => clients == 1,
        Scenario::Group { .. } => true,
        _ => false,
    };
    let runtime = if one {
        tokio::runtime::Builder::new_current_thread().enable_all().build()
    } else {
        tokio::runtime::Builder::new_multi_thread().enable_all().build()
    };
    let runtime = match runtime {
        Ok(r) => r,
        Err(e) => {
            eprintln!("nntp-bench: {e}");
            std::process::exit(1);
        }
    };
    runtime.block_on(run(cli));
}

async fn run(cli: Cli) {
    let Some(addr) = cli.addr else {
        eprintln!("nntp-bench: --addr is needed (the server to measure)");
        std::process::exit(2);
    };
    let result = match cli.scenario {
        Scenario::Xover { rounds } => listing(addr, &cli.group, rounds, false).await,
        Scenario::Hdr { rounds } => listing(addr, &cli.group, rounds, true).await,
        Scenario::ArticleNumber { clients, seconds } => articles(addr, &cli.group, clients, seconds, false).await,
        Scenario::ArticleId { clients, seconds } => articles(addr, &cli.group, clients, seconds, true).await,
        Scenario::Group { count } => group_latency(addr, &cli.group, count).await,
        Scenario::Idle { connections, pid } => idle(addr, connections, pid).await,
        Scenario::Http { paths, clients, seconds } => http(addr, &paths, clients, seconds).await,
        Scenario::Takethis { batch } => takethis(addr, &batch).await,
        Scenario::Echo { .. } => unreachable!("run without a runtime"),
    };
    match result {
        Ok(line) => println!("{line}"),
        Err(e) => {
            eprintln!("nntp-bench: {e}");
            std::process::exit(1);
        }
    }
}
