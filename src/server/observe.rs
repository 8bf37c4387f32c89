//! What the server tells its operator: Prometheus metrics (through the `metrics` facade; the
//! exporter serves `/metrics` on `metrics_listen`) and one access-log line per session, as
//! INN's nnrpd writes (peer, groups, articles, bytes, duration, how it ended).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use metrics::{counter, gauge, histogram};

/// Starts the Prometheus endpoint (`GET /metrics`) on `addr`. Needs a tokio runtime.
pub fn install_exporter(addr: SocketAddr) -> anyhow::Result<()> {
    let buckets = [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
    metrics_exporter_prometheus::PrometheusBuilder::new()
        .with_http_listener(addr)
        .set_buckets(&buckets)?
        .install()
        .map_err(|e| anyhow::anyhow!("metrics_listen {addr}: {e}"))?;
    describe();
    tracing::info!(%addr, "metrics at http://{addr}/metrics");
    Ok(())
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_gauge!("listnews_connections_open", "NNTP connections open now");
    describe_counter!("listnews_connections_total", "NNTP connections accepted");
    describe_counter!("listnews_connections_refused_total", "Connections refused by a cap, by reason");
    describe_counter!("listnews_commands_total", "Commands answered, by command");
    describe_counter!("listnews_responses_total", "Status lines sent, by code");
    describe_counter!("listnews_sent_bytes_total", Unit::Bytes, "Bytes sent to clients (before TLS and compression)");
    describe_counter!("listnews_articles_served_total", "ARTICLE, HEAD and BODY answered with the article");
    describe_histogram!(
        "listnews_article_fetch_seconds",
        Unit::Seconds,
        "ARTICLE, HEAD, BODY and STAT, from command to answer"
    );
    describe_histogram!(
        "listnews_listing_seconds",
        Unit::Seconds,
        "Listings (LIST, OVER, HDR, NEWNEWS, …), from command to the last chunk sent"
    );
    describe_counter!("listnews_stored_total", "Messages imported, delivered or pulled, by source and outcome");
    describe_gauge!("listnews_pull_lag_articles", "Articles the upstream group has that a pulled group has not");
    describe_gauge!("listnews_pull_last_success_timestamp_seconds", "When a pulled group last caught up");
    describe_gauge!("listnews_store_bytes", Unit::Bytes, "Size of the store on disk");
    describe_gauge!("listnews_groups", "Groups served");
    describe_counter!("listnews_http_requests_total", "HTTP requests answered, by endpoint and status");
    describe_histogram!("listnews_http_seconds", Unit::Seconds, "HTTP requests, from request to response head");
}

/// One HTTP request answered: counted, timed, and logged as an access-log line.
pub fn http_request(client: std::net::SocketAddr, method: &str, path: &str, status: u16, took: Duration) {
    // The endpoint without its list and message-id, so labels stay few.
    let endpoint = match path.rsplit('/').next() {
        Some("raw") => "raw",
        Some("t.mbox.gz") => "t.mbox.gz",
        Some("t.atom") => "t.atom",
        Some("new.atom") => "new.atom",
        _ if path.ends_with("/T/") || path.ends_with("/t/") => "thread",
        _ if path == "/" => "lists",
        _ => "page",
    };
    counter!("listnews_http_requests_total", "endpoint" => endpoint, "code" => code_label(status)).increment(1);
    histogram!("listnews_http_seconds").record(took);
    tracing::info!(
        target: "listnews::access",
        "access: http peer={client} {method} {} status={status} seconds={:.3}",
        path.escape_debug(),
        took.as_secs_f64()
    );
}

/// A connection refused before its session (`reason`: a Status's short name).
pub fn refused(reason: &'static str) {
    counter!("listnews_connections_refused_total", "reason" => reason).increment(1);
}

/// A status code as a metric label, without an allocation per command: the codes 100-599
/// are spelled once.
fn code_label(code: u16) -> &'static str {
    static LABELS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let labels = LABELS.get_or_init(|| (100..600).map(|c: u16| c.to_string()).collect());
    match code {
        100..=599 => &labels[usize::from(code - 100)],
        _ => "other",
    }
}

/// What one session did, for the access log and the metrics.
/// (Counts are 32-bit, saturating: this is part of every idle connection's memory.)
pub struct Tally {
    started: Instant,
    commands: u32,
    articles: u32,
    pub bytes: u64,
    /// Groups selected, in order, each once (at most [`MAX_GROUPS_SHOWN`] named).
    groups: Vec<String>,
    more_groups: u32,
    /// The last status code sent (how the session ended, with the end reason).
    last_code: u16,
}

const MAX_GROUPS_SHOWN: usize = 16;

impl Tally {
    pub fn start() -> Tally {
        counter!("listnews_connections_total").increment(1);
        gauge!("listnews_connections_open").increment(1.0);
        Tally {
            started: Instant::now(),
            commands: 0,
            articles: 0,
            bytes: 0,
            groups: Vec::new(),
            more_groups: 0,
            last_code: 0,
        }
    }

    /// One command answered: its verb (`None` when it was not understood), the status code it
    /// got, the group it left selected and how long it took.
    pub fn command(&mut self, verb: Option<&'static str>, code: u16, group: Option<&str>, took: Duration) {
        self.commands = self.commands.saturating_add(1);
        self.last_code = code;
        counter!("listnews_commands_total", "command" => verb.unwrap_or("unknown")).increment(1);
        counter!("listnews_responses_total", "code" => code_label(code)).increment(1);
        match verb {
            Some("ARTICLE" | "HEAD" | "BODY" | "STAT") => {
                histogram!("listnews_article_fetch_seconds").record(took);
                if matches!(code, 220..=222) {
                    self.articles = self.articles.saturating_add(1);
                    counter!("listnews_articles_served_total").increment(1);
                }
            }
            Some("GROUP" | "LISTGROUP") if code == 211 => {
                if let Some(g) = group
                    && !self.groups.iter().any(|s| s == g)
                {
                    if self.groups.len() < MAX_GROUPS_SHOWN {
                        self.groups.push(g.to_string());
                    } else {
                        self.more_groups = self.more_groups.saturating_add(1);
                    }
                }
            }
            _ => {}
        }
    }

    /// A listing finished (its last chunk sent).
    pub fn listing(&self, took: Duration) {
        histogram!("listnews_listing_seconds").record(took);
    }

    pub fn sent(&mut self, bytes: usize) {
        self.bytes += bytes as u64;
        counter!("listnews_sent_bytes_total").increment(bytes as u64);
    }

    /// Writes the access-log line. `end`: quit, closed (the client went), idle, shutdown,
    /// stalled, error, or the server's own close (400).
    pub fn finish(&self, client: SocketAddr, tls: bool, user: Option<&str>, end: &str) {
        gauge!("listnews_connections_open").decrement(1.0);
        let end = if end == "quit" && self.last_code == 400 { "closed-by-server" } else { end };
        let mut groups = if self.groups.is_empty() { "-".to_string() } else { self.groups.join(",") };
        if self.more_groups > 0 {
            groups.push_str(&format!(",+{}", self.more_groups));
        }
        tracing::info!(
            target: "listnews::access",
            "access: peer={client} tls={} user={} groups={groups} articles={} bytes={} commands={} seconds={:.3} end={end}",
            if tls { "yes" } else { "no" },
            user.unwrap_or("-"),
            self.articles,
            self.bytes,
            self.commands,
            self.started.elapsed().as_secs_f64(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::code_label;

    #[test]
    fn status_codes_are_labelled_as_spelled() {
        assert_eq!(code_label(223), "223");
        assert_eq!(code_label(100), "100");
        assert_eq!(code_label(599), "599");
        assert_eq!(code_label(600), "other");
        assert_eq!(code_label(0), "other");
    }
}
