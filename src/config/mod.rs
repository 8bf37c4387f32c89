//! The TOML configuration file. Errors name the file, the line and what to change.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

mod mirror;
mod problems;
pub use mirror::{ListOverride, MirrorConfig};
pub use problems::{ConfigError, Problem};
use problems::{Locator, Seg::Index, Seg::Key};

#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from.
    pub path: PathBuf,
    pub server: ServerConfig,
    /// The `[[group]]` entries, then the lists of each `[[mirror]]` as found when the file was
    /// read (see [`Config::rescan`]).
    pub groups: Vec<GroupConfig>,
    /// Whole lore mirrors.
    pub mirrors: Vec<MirrorConfig>,
    pub users: Vec<UserConfig>,
}

/// A reader who may authenticate (AUTHINFO USER/PASS, RFC 4643).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    pub name: String,
    /// A PHC string from `listnews passwd` (argon2id).
    pub password_hash: String,
    /// The From addresses this user may post as (with `post_policy = "users"`).
    #[serde(default)]
    pub addresses: Vec<String>,
}

/// Who may post (POST, relayed to the lists by mail).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PostPolicy {
    /// Nobody: POST answers 440 with the list's address.
    #[default]
    Off,
    /// Users after AUTHINFO, with a From address configured for them.
    Users,
    /// Anyone, with no From check.
    Open,
}

/// When the relayed mail's From is replaced by the server's own address (so that the list's
/// readers' mail servers do not refuse it under the poster's domain's DMARC policy).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FromRewrite {
    /// When the poster's domain publishes a DMARC policy of quarantine or reject (or the
    /// lookup fails).
    #[default]
    Dmarc,
    Always,
    Never,
}

/// Where posts are relayed: `smtp://host[:port]` (plain; port 25), `smtp+starttls://host[:port]`
/// (port 587), `smtps://host[:port]` (implicit TLS, port 465) or `sendmail:/path/to/sendmail`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelayUrl {
    Smtp { host: String, port: u16, security: RelaySecurity },
    Sendmail(PathBuf),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelaySecurity {
    Plain,
    StartTls,
    Tls,
}

impl RelayUrl {
    pub fn parse(url: &str) -> Result<RelayUrl, String> {
        if let Some(path) = url.strip_prefix("sendmail:") {
            let path = PathBuf::from(path);
            if !path.is_absolute() {
                return Err("the sendmail program needs an absolute path".into());
            }
            return Ok(RelayUrl::Sendmail(path));
        }
        let (security, default_port, rest) = match url.split_once("://") {
            Some(("smtp", rest)) => (RelaySecurity::Plain, 25, rest),
            Some(("smtp+starttls", rest)) => (RelaySecurity::StartTls, 587, rest),
            Some(("smtps", rest)) => (RelaySecurity::Tls, 465, rest),
            _ => return Err("not an smtp://, smtp+starttls://, smtps:// or sendmail: address".into()),
        };
        let authority = rest.trim_end_matches('/');
        if authority.contains('/') {
            return Err("nothing may follow host:port".into());
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => {
                (h, p.parse::<u16>().map_err(|_| format!("bad port {p:?}"))?)
            }
            _ => (authority, default_port),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err("no host".into());
        }
        Ok(RelayUrl::Smtp { host: host.to_string(), port, security })
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Plain NNTP listeners (STARTTLS offered on them when a certificate is configured).
    #[serde(default = "default_listen")]
    pub listen: Vec<SocketAddr>,
    /// Implicit-TLS (NNTPS, port 563 style) listeners.
    #[serde(default)]
    pub listen_tls: Vec<SocketAddr>,
    /// PEM certificate chain and private key; relative to the config file's folder.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Listeners (from `listen` or `listen_tls`) whose clients come through a proxy that sends
    /// the PROXY protocol header (v1 or v2), as HAProxy does.
    #[serde(default)]
    pub proxy_protocol: Vec<SocketAddr>,
    /// Connections at once, in all; past it a client gets 400 and is closed.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Connections at once from one address.
    #[serde(default = "default_max_connections_per_ip")]
    pub max_connections_per_ip: usize,
    /// Allow AUTHINFO over a connection without TLS (passwords in the clear).
    #[serde(default)]
    pub allow_plaintext_auth: bool,
    /// Memory (MiB) password checks may use at once: as many run in parallel as this holds
    /// hashes of the configured cost (at least one).
    #[serde(default = "default_auth_memory_mb")]
    pub auth_memory_mb: u64,
    /// Password checks that may wait for a free checker; past it a client gets 403.
    #[serde(default = "default_auth_queue")]
    pub auth_queue: usize,
    /// Failed AUTHINFO attempts after which a connection's next command gets 400 and it is
    /// closed.
    #[serde(default = "default_auth_failures_per_connection")]
    pub auth_failures_per_connection: u32,
    /// Failed AUTHINFO attempts from one address within 15 minutes after which its attempts
    /// are no longer checked (answered 481 after the longest delay).
    #[serde(default = "default_auth_failures_per_address")]
    pub auth_failures_per_address: u32,
    /// Used in the greeting, in Path and in Xref.
    pub hostname: String,
    /// The sled store; relative paths are relative to the config file's folder.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// Text for LIST MOTD (RFC 6048 §2.5); without it LIST MOTD answers 503.
    #[serde(default)]
    pub motd: Option<String>,
    /// Free space (MiB) an import or delivery leaves on the store's filesystem, so that a
    /// full disk never leaves the store unable to open: writes stop before it.
    #[serde(default = "default_reserve_free_mb")]
    pub reserve_free_mb: u64,
    /// Resident memory (MiB) `listnews import` stays under: the index's page cache shrinks
    /// as the rest grows (sled keeps an entry for every page of the index in memory). 0: no
    /// limit, the cache stays at its size.
    #[serde(default = "default_import_memory_mb")]
    pub import_memory_mb: u64,
    /// How often watched sources and pulled groups are checked for new mail.
    #[serde(default = "default_watch_interval")]
    pub watch_interval_secs: f64,
    /// Connections under COMPRESS DEFLATE at once (each holds about 180 KiB of compression
    /// state); past it COMPRESS gets 403.
    #[serde(default = "default_max_compressed_connections")]
    pub max_compressed_connections: usize,
    /// The HTTP face (public-inbox's URL layout: raw messages, threads as mbox and Atom,
    /// pages) on these addresses; off when empty.
    #[serde(default)]
    pub http_listen: Vec<SocketAddr>,
    /// HTTP requests a second each client address may make (bursts of five seconds' worth);
    /// past it 429.
    #[serde(default = "default_http_rate")]
    pub http_requests_per_second: f64,
    /// A Prometheus endpoint (`GET /metrics`) on this address; off when absent.
    #[serde(default)]
    pub metrics_listen: Option<SocketAddr>,
    /// Close a connection idle this long (RFC 3977 §3.1: at least 3 minutes).
    #[serde(default = "default_idle_timeout")]
    pub idle_timeout_secs: u64,
    /// Who may post: "off" (the default), "users" or "open".
    #[serde(default)]
    pub post_policy: PostPolicy,
    /// Where posts go as mail (see [`RelayUrl`]); needed unless posting is off.
    pub post_relay: Option<String>,
    /// SMTP AUTH at the relay: the user, and a file holding the password.
    pub post_relay_user: Option<String>,
    pub post_relay_password_file: Option<PathBuf>,
    /// A PEM file of CA certificates to trust for the relay's TLS instead of the system's.
    pub post_relay_ca: Option<PathBuf>,
    /// The envelope sender (MAIL FROM) of every relayed post; by default the poster's address,
    /// so bounces reach the poster.
    pub post_envelope_from: Option<String>,
    /// When From is rewritten to `"Name via HOST" <post_from_address>` with Reply-To the poster.
    #[serde(default)]
    pub post_from_rewrite: FromRewrite,
    /// The address a rewritten From carries (default `noreply@` the hostname).
    pub post_from_address: Option<String>,
    /// The DNS server for DMARC lookups (default: the system's resolvers).
    pub post_dns: Option<SocketAddr>,
    /// The largest article POST accepts, in octets.
    #[serde(default = "default_post_max_bytes")]
    pub post_max_bytes: usize,
    /// Posts an hour from one user, one From address, one client address.
    #[serde(default = "default_post_per_hour")]
    pub post_per_hour: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupConfig {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The list's posting address: a message whose To or Cc holds it belongs to this group;
    /// POST answers 440 naming it.
    pub address: Option<String>,
    /// The list's List-Id (the part inside `<>`).
    pub list_id: Option<String>,
    /// Listed by LIST SUBSCRIPTIONS: groups a new reader should start with.
    #[serde(default)]
    pub subscribe: bool,
    /// Sources followed while serving, each a Maildir, a public-inbox inbox or epoch, or an
    /// mbox file (recognised by what is there); relative to the config file's folder.
    #[serde(default)]
    pub watch: Vec<PathBuf>,
    /// Another NNTP server's group to follow: `nntp://host:port/group` or `nntps://…`.
    pub pull: Option<String>,
    /// For an `nntps://` pull: a PEM file of CA certificates to trust instead of the system's.
    pub pull_ca: Option<PathBuf>,
    /// With `pull`: take article numbers from the upstream, so replicas agree.
    #[serde(default)]
    pub replica: bool,
    /// Makes the group private: only these users see it, after AUTHINFO.
    #[serde(default)]
    pub readers: Vec<String>,
    /// For a group of a `[[mirror]]`: its inbox's directory name.
    #[serde(skip)]
    pub inbox: Option<String>,
    /// Accepts posts (relayed to `address`) when the server's post_policy allows them.
    #[serde(default = "yes")]
    pub post: bool,
    /// The group's path segment on the HTTP face (default: a mirror list's folder name, or
    /// the last dot-separated part of the name).
    pub http_name: Option<String>,
}

impl GroupConfig {
    /// The path segment of this group on the HTTP face.
    pub fn web_name(&self) -> String {
        self.http_name
            .clone()
            .or_else(|| self.inbox.clone())
            .unwrap_or_else(|| self.name.rsplit('.').next().unwrap_or(&self.name).to_string())
    }
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    server: ServerConfig,
    #[serde(default)]
    group: Vec<GroupConfig>,
    #[serde(default)]
    mirror: Vec<MirrorConfig>,
    #[serde(default)]
    user: Vec<UserConfig>,
}

fn default_listen() -> Vec<SocketAddr> {
    vec![SocketAddr::from(([127, 0, 0, 1], 119))]
}

fn default_reserve_free_mb() -> u64 {
    64
}

fn default_import_memory_mb() -> u64 {
    256
}

fn default_max_compressed_connections() -> usize {
    512
}

fn default_auth_memory_mb() -> u64 {
    64
}

fn default_auth_queue() -> usize {
    64
}

fn default_auth_failures_per_connection() -> u32 {
    3
}

fn default_auth_failures_per_address() -> u32 {
    20
}

fn default_max_connections() -> usize {
    10_000
}

fn default_max_connections_per_ip() -> usize {
    64
}

fn default_watch_interval() -> f64 {
    10.0
}

fn default_idle_timeout() -> u64 {
    1800
}

fn default_http_rate() -> f64 {
    20.0
}

fn default_post_max_bytes() -> usize {
    1_000_000
}

fn default_post_per_hour() -> u32 {
    20
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("data")
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|error| ConfigError::Read { path: path.to_path_buf(), error })?;
        Config::parse(path, &text)
    }

    /// Reads a configuration; every problem in it is reported at once.
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let invalid = |mut problems: Vec<Problem>| {
            problems.sort_by_key(|p| (p.line, p.column));
            ConfigError::Invalid { path: path.to_path_buf(), problems }
        };
        let (file, mut problems) = problems::deserialize_all::<File>(text);
        let Some(file) = file else { return Err(invalid(problems)) };
        let at = Locator::new(text);
        let base = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let mut server = file.server;
        check_server(&server, &at, &mut problems);
        for p in
            [&mut server.tls_cert, &mut server.tls_key, &mut server.post_relay_password_file, &mut server.post_relay_ca]
                .into_iter()
                .flatten()
        {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        if server.data_dir.is_relative() {
            server.data_dir = base.join(&server.data_dir);
        }
        let mut user_names = std::collections::HashSet::new();
        for (i, u) in file.user.iter().enumerate() {
            let key = |k| [Key("user"), Index(i), Key(k)];
            if u.name.is_empty() || u.name.contains(char::is_whitespace) {
                problems.push(
                    at.problem(&key("name"), format!("{:?} is not a user name; fix: a name without spaces", u.name)),
                );
            } else if !user_names.insert(u.name.clone()) {
                problems.push(at.problem(
                    &key("name"),
                    format!("user {:?} is configured twice; fix: keep one [[user]] per name", u.name),
                ));
            }
            for (j, a) in u.addresses.iter().enumerate() {
                if !looks_like_address(a) {
                    problems.push(at.problem(
                        &[Key("user"), Index(i), Key("addresses"), Index(j)],
                        format!("{a:?} is not a mail address; fix: write it as name@example.org"),
                    ));
                }
            }
            if argon2::PasswordHash::new(&u.password_hash).is_err() {
                problems.push(at.problem(
                    &key("password_hash"),
                    format!(
                        "the password_hash of {:?} is not a password hash; fix: use the output of `listnews passwd`",
                        u.name
                    ),
                ));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for (i, g) in file.group.iter().enumerate() {
            let key = |k| [Key("group"), Index(i), Key(k)];
            if !valid_group_name(&g.name) {
                problems.push(at.problem(
                    &key("name"),
                    format!("{:?} is not a valid newsgroup name; fix: use letters, digits and . + - _ (e.g. org.kernel.vger.selinux)", g.name),
                ));
            } else if !seen.insert(g.name.clone()) {
                problems.push(at.problem(
                    &key("name"),
                    format!("group {:?} is configured twice; fix: keep one [[group]] per name", g.name),
                ));
            }
            if let Some(url) = &g.pull
                && let Err(why) = PullUrl::parse(url)
            {
                problems.push(at.problem(
                    &key("pull"),
                    format!("{url:?}: {why}; fix: use nntp://host:port/group or nntps://host:port/group"),
                ));
            }
            if let Some(web) = &g.http_name
                && (web.is_empty()
                    || web == "all"
                    || !web.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)))
            {
                problems.push(at.problem(
                    &key("http_name"),
                    format!("{web:?} cannot be a path segment; fix: letters, digits and . _ - (not \"all\")"),
                ));
            }
            if g.replica && g.pull.is_none() {
                problems.push(
                    at.problem(
                        &key("replica"),
                        "replica = true needs pull; fix: add pull = \"nntp://host:port/group\"",
                    ),
                );
            }
            for (j, r) in g.readers.iter().enumerate() {
                if !file.user.iter().any(|u| &u.name == r) {
                    problems.push(at.problem(
                        &[Key("group"), Index(i), Key("readers"), Index(j)],
                        format!("{r:?} is not a [[user]]; fix: add the user or correct the name"),
                    ));
                }
            }
        }
        let mut mirrors = file.mirror;
        for (i, m) in mirrors.iter_mut().enumerate() {
            if m.path.is_relative() {
                m.path = base.join(&m.path);
            }
            if !m.path.is_dir() {
                problems.push(at.problem(
                    &[Key("mirror"), Index(i), Key("path")],
                    format!(
                        "{} is not a folder; fix: point path at the mirror's root (the folder holding <list>/git/0.git)",
                        m.path.display()
                    ),
                ));
            }
        }
        if !problems.is_empty() {
            return Err(invalid(problems));
        }
        let groups: Vec<GroupConfig> = file
            .group
            .into_iter()
            .map(|mut g| {
                g.watch = g.watch.iter().map(|w| if w.is_relative() { base.join(w) } else { w.clone() }).collect();
                g.pull_ca = g.pull_ca.as_ref().map(|c| if c.is_relative() { base.join(c) } else { c.clone() });
                g.address = g.address.map(|a| a.trim().to_ascii_lowercase());
                g.list_id =
                    g.list_id.map(|l| l.trim().trim_start_matches('<').trim_end_matches('>').to_ascii_lowercase());
                g
            })
            .collect();
        let mut users = file.user;
        for u in &mut users {
            u.addresses = u.addresses.iter().map(|a| a.trim().to_ascii_lowercase()).collect();
        }
        let mut config = Config { path: path.to_path_buf(), server, groups, mirrors, users };
        config.groups =
            config.with_mirror_lists(&[]).map_err(|message| invalid(vec![at.problem(&[Key("mirror")], message)]))?;
        Ok(config)
    }

    /// The `[[group]]` entries followed by the lists each mirror holds now. Lists in `known`
    /// (by inbox and mirror) keep what was found of them before: only new lists are read.
    fn with_mirror_lists(&self, known: &[GroupConfig]) -> Result<Vec<GroupConfig>, String> {
        let mut groups: Vec<GroupConfig> = self.groups.iter().filter(|g| g.inbox.is_none()).cloned().collect();
        let mut names: std::collections::HashMap<String, String> =
            groups.iter().map(|g| (g.name.clone(), "a [[group]]".to_string())).collect();
        for m in &self.mirrors {
            for g in mirror::groups(m, known)? {
                let inbox = g.inbox.as_deref().unwrap_or_default();
                let here = format!("list {inbox:?} of the mirror at {}", m.path.display());
                if let Some(other) = names.insert(g.name.clone(), here.clone()) {
                    return Err(format!(
                        "group {:?} is both {other} and {here}; fix: set [mirror.lists.{inbox}] name = \"…\" (or skip = true)",
                        g.name
                    ));
                }
                groups.push(g);
            }
        }
        Ok(groups)
    }

    /// Looks at the mirrors again (lists added or removed while serving): `Some` new
    /// configuration when the groups changed.
    pub fn rescan(&self) -> Result<Option<Config>, String> {
        if self.mirrors.is_empty() {
            return Ok(None);
        }
        let known: Vec<GroupConfig> = self.groups.iter().filter(|g| g.inbox.is_some()).cloned().collect();
        let groups = self.with_mirror_lists(&known)?;
        let names = |gs: &[GroupConfig]| gs.iter().map(|g| g.name.clone()).collect::<Vec<_>>();
        if names(&groups) == names(&self.groups) {
            return Ok(None);
        }
        Ok(Some(Config { groups, ..self.clone() }))
    }

    pub fn group(&self, name: &str) -> Option<&GroupConfig> {
        self.groups.iter().find(|g| g.name == name)
    }
}

/// The `[server]` table's values, each against its rule.
fn check_server(server: &ServerConfig, at: &Locator, problems: &mut Vec<Problem>) {
    let mut check = |ok: bool, key: &str, message: &str| {
        if !ok {
            problems.push(at.problem(&[Key("server"), Key(key)], message));
        }
    };
    check(
        !server.hostname.is_empty() && !server.hostname.contains(|c: char| c.is_whitespace() || c == '!'),
        "hostname",
        "must be a host name without spaces or '!'; fix: e.g. hostname = \"news.example.org\"",
    );
    check(
        server.tls_cert.is_some() || server.tls_key.is_none(),
        "tls_key",
        "tls_key without tls_cert; fix: set both (PEM files) or neither",
    );
    check(
        server.tls_key.is_some() || server.tls_cert.is_none(),
        "tls_cert",
        "tls_cert without tls_key; fix: set both (PEM files) or neither",
    );
    check(
        server.listen_tls.is_empty() || server.tls_cert.is_some(),
        "listen_tls",
        "TLS listeners need a certificate; fix: set tls_cert and tls_key",
    );
    for addr in &server.proxy_protocol {
        check(
            server.listen.contains(addr) || server.listen_tls.contains(addr) || server.http_listen.contains(addr),
            "proxy_protocol",
            &format!("{addr} is not in listen, listen_tls or http_listen; fix: list the listener's exact address"),
        );
    }
    check(server.idle_timeout_secs >= 180, "idle_timeout_secs", "must be at least 180 (RFC 3977 §3.1); fix: e.g. 1800");
    for (key, value) in [
        ("auth_queue", server.auth_queue as u64),
        ("auth_failures_per_connection", u64::from(server.auth_failures_per_connection)),
        ("auth_failures_per_address", u64::from(server.auth_failures_per_address)),
        ("max_connections", server.max_connections as u64),
        ("max_connections_per_ip", server.max_connections_per_ip as u64),
    ] {
        check(value >= 1, key, "must be at least 1; fix: remove it for the default, or raise it");
    }
    check(
        server.watch_interval_secs.is_finite() && server.watch_interval_secs > 0.0,
        "watch_interval_secs",
        "must be a positive number of seconds; fix: e.g. 10",
    );
    check(
        server.http_requests_per_second.is_finite() && server.http_requests_per_second > 0.0,
        "http_requests_per_second",
        "must be a positive number; fix: e.g. 20",
    );
    let posting = server.post_policy != PostPolicy::Off;
    check(
        !posting || server.post_relay.is_some(),
        "post_policy",
        "posting needs a relay; fix: set post_relay = \"smtp://127.0.0.1:25\" (or sendmail:/usr/sbin/sendmail), or post_policy = \"off\"",
    );
    if let Some(url) = &server.post_relay
        && let Err(why) = RelayUrl::parse(url)
    {
        check(
            false,
            "post_relay",
            &format!(
                "{url:?}: {why}; fix: e.g. smtp://127.0.0.1:25, smtp+starttls://smtp.example.org:587, smtps://smtp.example.org or sendmail:/usr/sbin/sendmail"
            ),
        );
    }
    check(
        server.post_relay_user.is_some() == server.post_relay_password_file.is_some(),
        if server.post_relay_user.is_some() { "post_relay_user" } else { "post_relay_password_file" },
        "post_relay_user and post_relay_password_file go together; fix: set both or neither",
    );
    for (key, value) in
        [("post_envelope_from", &server.post_envelope_from), ("post_from_address", &server.post_from_address)]
    {
        if let Some(a) = value {
            check(looks_like_address(a), key, "is not a mail address; fix: write it as name@example.org");
        }
    }
    check(server.post_max_bytes >= 1024, "post_max_bytes", "must be at least 1024; fix: e.g. 1000000");
    check(server.post_per_hour >= 1, "post_per_hour", "must be at least 1; fix: e.g. 20, or post_policy = \"off\"");
}

/// A bare mail address: `local@domain`, nothing else.
pub fn looks_like_address(a: &str) -> bool {
    let a = a.trim();
    match a.rsplit_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !a.contains(|c: char| c.is_whitespace() || c.is_control() || "<>,;\"".contains(c))
        }
        None => false,
    }
}

/// A `pull` source: `nntp://host[:port]/group`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullUrl {
    pub host: String,
    pub port: u16,
    pub group: String,
    /// `nntps://`: implicit TLS.
    pub tls: bool,
}

impl PullUrl {
    pub fn parse(url: &str) -> Result<PullUrl, String> {
        let (rest, tls) = match url.split_once("://") {
            Some(("nntp", rest)) => (rest, false),
            Some(("nntps", rest)) => (rest, true),
            _ => return Err("not an nntp:// or nntps:// address".into()),
        };
        let (authority, group) = rest.split_once('/').ok_or("no group after the host")?;
        if !valid_group_name(group) {
            return Err(format!("{group:?} is not a newsgroup name"));
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (h, p.parse::<u16>().map_err(|_| format!("bad port {p:?}"))?),
            None => (authority, if tls { 563 } else { 119 }),
        };
        if host.is_empty() {
            return Err("no host".into());
        }
        Ok(PullUrl {
            host: host.trim_start_matches('[').trim_end_matches(']').to_string(),
            port,
            group: group.to_string(),
            tls,
        })
    }
}

/// RFC 3977 §4.1 newsgroup names: printable, no wildmat specials; we allow the usual set.
pub fn valid_group_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && !name.starts_with('.')
        && !name.ends_with('.')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._+-".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[server]
listen = ["127.0.0.1:1119"]
hostname = "news.example.org"
data_dir = "data"

[[group]]
name = "org.kernel.vger.selinux"
description = "SELinux development"
address = "SELinux@vger.kernel.org"
list_id = "<selinux.vger.kernel.org>"
"#;

    #[test]
    fn reads_the_documented_example() {
        let c = Config::parse(Path::new("/etc/listnews/listnews.toml"), GOOD).unwrap();
        assert_eq!(c.server.data_dir, Path::new("/etc/listnews/data"));
        assert_eq!(c.groups[0].address.as_deref(), Some("selinux@vger.kernel.org"));
        assert_eq!(c.groups[0].list_id.as_deref(), Some("selinux.vger.kernel.org"));
    }

    /// The problems `edit` makes in GOOD, as printed.
    fn problems(text: &str) -> Vec<String> {
        match Config::parse(Path::new("x.toml"), text) {
            Ok(_) => Vec::new(),
            Err(e) => e.to_string().lines().map(String::from).collect(),
        }
    }

    #[test]
    fn errors_name_file_line_column_key_and_fix() {
        let p = problems(&GOOD.replace("listen =", "lisen ="));
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0], "x.toml:3:1: server.lisen: unknown key `lisen`; fix: did you mean `listen`?");

        let p = problems(&GOOD.replace("org.kernel.vger.selinux", "bad name"));
        assert!(p[0].starts_with("x.toml:8:1: group[0].name: \"bad name\" is not a valid newsgroup name"), "{p:?}");

        let p = problems(&GOOD.replace("\"127.0.0.1:1119\"", "\"localhost:1119\""));
        assert!(p[0].starts_with("x.toml:3:"), "{p:?}");
        assert!(p[0].contains("server.listen") && p[0].contains("host names are not looked up"), "{p:?}");
    }

    #[test]
    fn wrong_types_name_the_key_and_the_fix() {
        let p = problems(&GOOD.replace("data_dir", "idle_timeout_secs = \"1800\"\ndata_dir"));
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].starts_with("x.toml:5:21: server.idle_timeout_secs: invalid type: string \"1800\""), "{p:?}");
        assert!(p[0].ends_with("fix: write the number without quotes"), "{p:?}");
    }

    #[test]
    fn each_problem_at_its_own_key_and_all_at_once() {
        // A key after a commented example of it, a key whose name starts like another's,
        // a misspelled key and a bad value: four problems, each on its own line.
        let text = GOOD.replace(
            "data_dir = \"data\"\n",
            "data_dir = \"data\"\n# max_connections_per_ip = 8\nmax_connections = 10\nmax_connections_per_ip = 0\nidle_timout_secs = 5\n",
        )
        .replace("news.example.org", "news example");
        let p = problems(&text);
        assert_eq!(p.len(), 3, "{p:?}");
        assert!(p.iter().any(|l| l.ends_with("x.toml:9:1: server.idle_timout_secs: unknown key `idle_timout_secs`; fix: did you mean `idle_timeout_secs`?")), "{p:?}");
        assert!(p.iter().any(|l| l.starts_with("x.toml:4:1: server.hostname: must be a host name")), "{p:?}");
        assert!(
            p.iter().any(|l| l.starts_with("x.toml:8:1: server.max_connections_per_ip: must be at least 1")),
            "{p:?}"
        );
    }

    #[test]
    fn single_bracket_tables_are_named() {
        let p = problems(&GOOD.replace("[[group]]", "[group]"));
        assert_eq!(p, ["x.toml:7:1: group: [group] opens a single table; fix: write [[group]], once per group"]);
    }
}
