//! What only the terminal uses: the `listnews` command line (clap), each subcommand's
//! driver and output, and `listnews thread`'s tree view ([`thread`]).

mod man;
pub mod thread;

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::import::mbox::MboxFormat;
use crate::import::{ImportError, Importer, Outcome};
use crate::live::control::{self, ClientError};
use crate::store::{Store, StoreError};

/// An NNTP server for mailing-list archives: mbox files, Maildirs and public-inbox
/// (lore.kernel.org) mirrors in, newsreaders out.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Import mail into the store (through the running server, if one holds the store).
    Import {
        /// The configuration file.
        #[arg(long, short)]
        config: PathBuf,
        /// Put every message in this group instead of routing by List-Id and To/Cc.
        #[arg(long, short)]
        group: Option<String>,
        /// How `>From ` lines are unquoted in mbox files.
        #[arg(long, value_enum, default_value_t = MboxFormat::Mboxrd)]
        mbox_format: MboxFormat,
        /// mbox files (.gz too), public-inbox epochs (bare git repositories) or inbox folders
        /// (with git/0.git, git/1.git, …). Without any: the configured `watch` sources and
        /// every list of each `[[mirror]]`, each into its group (what `serve` follows).
        sources: Vec<PathBuf>,
    },
    /// Serve the store over NNTP until SIGINT or SIGTERM.
    ///
    /// Takes deliveries and imports over the control socket (data_dir/control.sock) and
    /// follows the configured watch, pull and mirror sources. SIGHUP rereads the
    /// configuration and certificates.
    Serve {
        /// The configuration file.
        #[arg(long, short)]
        config: PathBuf,
        /// Import these sources first, routed as `import` does (a source imported before is
        /// resumed from its checkpoint, so this is quick on restart).
        #[arg(long, value_name = "SOURCE")]
        import: Vec<PathBuf>,
    },
    /// Store one message read on standard input (for an MTA).
    ///
    /// For postfix, exim, procmail, fetchmail. Exit status: 0 once stored on disk, 65 if the
    /// input is not a message, 75 if it cannot be stored now (the MTA retries), 78 for a
    /// configuration error (such as a --group that is not configured).
    Deliver {
        /// The configuration file.
        #[arg(long, short)]
        config: PathBuf,
        /// Put the message in this group instead of routing by List-Id and To/Cc.
        #[arg(long, short)]
        group: Option<String>,
    },
    /// Remove an article from every group (spam, takedown); its numbers are never reused.
    Remove {
        /// The configuration file.
        #[arg(long, short)]
        config: PathBuf,
        /// The message-id, with its angle brackets.
        message_id: String,
    },
    /// Print the thread a message belongs to as a tree (asks the running server when it
    /// holds the store).
    Thread {
        /// The configuration file.
        #[arg(long, short)]
        config: PathBuf,
        /// A message-id, with its angle brackets.
        message_id: String,
    },
    /// Read a password on standard input and print its hash for a [[user]] password_hash.
    Passwd,
    /// List the messages imports set aside, with the reason (asks the running server when it
    /// holds the store).
    Rejects {
        /// The configuration file.
        #[arg(long, short)]
        config: PathBuf,
        /// Also print each message.
        #[arg(long)]
        full: bool,
    },
    /// Check the configuration and the store.
    ///
    /// The configuration: every problem at once, each with file, line, column, key and fix.
    /// The store: every group and article read back (through the running server when it
    /// holds the store). Exit status: 0 when both are sound (warnings allowed), 78 for
    /// configuration problems, 65 for store problems, 75 when the store cannot be read now.
    Check {
        /// The configuration file.
        #[arg(long, short)]
        config: PathBuf,
        /// Check the store in this folder instead of the configured data_dir (a backup).
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// Check the configuration only.
        #[arg(long)]
        config_only: bool,
    },
    /// Copy the store, consistently, into a new folder.
    ///
    /// Through the running server when it holds the store, without stopping it (its writes
    /// wait meanwhile). The copy is a store: `check --data-dir` verifies it; point data_dir
    /// at it to serve it.
    Backup {
        /// The configuration file.
        #[arg(long, short)]
        config: PathBuf,
        /// A folder that does not exist yet (or is empty).
        dest: PathBuf,
    },
    /// Write the manual pages (listnews.1, listnews-<command>.1, listnews.toml.5) into DIR.
    Man {
        /// Where to write them (e.g. /usr/local/share/man).
        dir: PathBuf,
    },
}

/// sysexits.h
const EX_DATAERR: u8 = 65;
const EX_TEMPFAIL: u8 = 75;
const EX_CONFIG: u8 = 78;

/// An exit status other than 1, carried out of `run`.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
struct Exit {
    code: u8,
    message: String,
}

/// The exit status for an error: sysexits where one fits.
fn exit_code(e: &anyhow::Error) -> u8 {
    if let Some(exit) = e.downcast_ref::<Exit>() {
        return exit.code;
    }
    if e.downcast_ref::<crate::config::ConfigError>().is_some() {
        return EX_CONFIG;
    }
    match e.downcast_ref::<ImportError>() {
        Some(ImportError::NotMail { .. }) => return EX_DATAERR,
        Some(ImportError::Usage(_)) => return EX_CONFIG,
        Some(ImportError::Store(StoreError::InUse { .. })) => return EX_TEMPFAIL,
        _ => {}
    }
    match e.downcast_ref::<StoreError>() {
        Some(StoreError::InUse { .. }) => EX_TEMPFAIL,
        _ => 1,
    }
}

/// An error and its causes, each said once (a cause already quoted by the message above it
/// is not repeated).
fn describe(e: &anyhow::Error) -> String {
    let mut text = e.to_string();
    for cause in e.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

/// Runs the `listnews` command line.
pub fn main() -> ExitCode {
    init_logging();
    let cli = Cli::parse();
    if let Cmd::Deliver { config, group } = &cli.command {
        return deliver(config, group.as_deref());
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if !e.to_string().is_empty() {
                eprintln!("listnews: {}", describe(&e));
            }
            ExitCode::from(exit_code(&e))
        }
    }
}

/// Logs go to journald when stderr is connected to the journal (a systemd service), else to
/// stderr, coloured only on a terminal. `RUST_LOG` sets the level (default info).
fn init_logging() {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = || {
        tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"))
    };
    if stderr_is_journal()
        && let Ok(journald) = tracing_journald::layer()
    {
        tracing_subscriber::registry().with(filter()).with(journald.with_syslog_identifier("listnews".into())).init();
        return;
    }
    tracing_subscriber::fmt()
        .with_env_filter(filter())
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

/// systemd sets `JOURNAL_STREAM` to the device and inode of the stream it connects stderr to.
fn stderr_is_journal() -> bool {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    let Some(stream) = std::env::var_os("JOURNAL_STREAM") else { return false };
    let Some((dev, ino)) = stream.to_str().and_then(|s| s.split_once(':')) else { return false };
    let Ok(fd) = std::io::stderr().as_fd().try_clone_to_owned() else { return false };
    let Ok(meta) = std::fs::File::from(fd).metadata() else { return false };
    dev.parse() == Ok(meta.dev()) && ino.parse() == Ok(meta.ino())
}

fn in_use(e: &ImportError) -> bool {
    matches!(e, ImportError::Store(StoreError::InUse { .. }))
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Cmd::Import { config, group, mbox_format, sources } => {
            let config = Config::load(&config)?;
            let progress = std::io::stderr().is_terminal();
            match crate::import::run(&config, group.as_deref(), &sources, mbox_format, progress) {
                Ok(_) => {}
                Err(e) if in_use(&e) && sources.is_empty() => {
                    anyhow::bail!("{e}; the running server follows the configured sources itself")
                }
                Err(e) if in_use(&e) && group.is_none() && mbox_format == MboxFormat::Mboxrd => {
                    // A server holds the store: import through it.
                    let socket = control::socket_path(&config.server.data_dir);
                    for source in &sources {
                        let path = source.canonicalize().map_err(|e| anyhow::anyhow!("{}: {e}", source.display()))?;
                        let header = format!("IMPORT {}\n", path.display());
                        match control::request(&socket, &header, b"", Duration::from_secs(24 * 3600)) {
                            Ok(answer) if answer.starts_with("OK ") => {
                                println!("{}: {}", source.display(), &answer[3..])
                            }
                            Ok(answer) => anyhow::bail!("{}: {}", source.display(), answer.trim_start_matches("ERR ")),
                            Err(ClientError::NoServer) => return Err(e.into()),
                            Err(ClientError::Failed(why)) => anyhow::bail!("{}: {why}", source.display()),
                        }
                    }
                }
                Err(e) if in_use(&e) => {
                    anyhow::bail!("{e}; through a running server only plain imports work (no --group, mboxrd)")
                }
                Err(e) => return Err(e.into()),
            }
        }
        Cmd::Serve { config, import } => {
            let config = Config::load(&config)?;
            if !import.is_empty() {
                crate::import::run(&config, None, &import, MboxFormat::Mboxrd, std::io::stderr().is_terminal())?;
            }
            serve(config)?;
        }
        Cmd::Deliver { .. } => unreachable!("handled in main"),
        Cmd::Remove { config, message_id } => {
            let config = Config::load(&config)?;
            let message_id = bracketed(&message_id);
            let removed = match Store::open(&config.server.data_dir) {
                Ok(store) => {
                    let mut importer = Importer::new(&store, &config, None)?;
                    let removed = importer.remove(&message_id)?;
                    importer.finish()?;
                    removed
                }
                Err(e @ StoreError::InUse { .. }) => {
                    let socket = control::socket_path(&config.server.data_dir);
                    match control::request(&socket, &format!("REMOVE {message_id}\n"), b"", Duration::from_secs(300)) {
                        Ok(answer) if answer == "OK removed" => true,
                        Ok(answer) if answer == "NOTFOUND" => false,
                        Ok(answer) => anyhow::bail!("{answer}"),
                        Err(ClientError::NoServer) => return Err(e.into()),
                        Err(ClientError::Failed(why)) => anyhow::bail!("{why}"),
                    }
                }
                Err(e) => return Err(e.into()),
            };
            if !removed {
                anyhow::bail!("no article {message_id}");
            }
            println!("removed {message_id} from every group");
        }
        Cmd::Thread { config, message_id } => {
            let config = Config::load(&config)?;
            let lines = thread::fetch(&config, &bracketed(&message_id))?;
            print!("{}", thread::render(&lines));
        }
        Cmd::Passwd => {
            use argon2::PasswordHasher;
            let mut password = String::new();
            if std::io::stdin().is_terminal() {
                eprint!("password: ");
            }
            std::io::stdin().read_line(&mut password)?;
            let password = password.trim_end_matches(['\r', '\n']);
            if password.is_empty() {
                anyhow::bail!("empty password");
            }
            let salt = argon2::password_hash::SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
            let hash = argon2::Argon2::default()
                .hash_password(password.as_bytes(), &salt)
                .map_err(|e| anyhow::anyhow!("cannot hash: {e}"))?;
            println!("{hash}");
        }
        Cmd::Rejects { config, full } => {
            let config = Config::load(&config)?;
            let request = if full { "REJECTS full" } else { "REJECTS" };
            let report = on_store(&config.server.data_dir, request, Duration::from_secs(600), |store| {
                crate::import::rejects_report(store, full).map_err(|e| e.to_string())
            })?;
            print!("{report}");
        }
        Cmd::Check { config, data_dir, config_only } => check(&config, data_dir, config_only)?,
        Cmd::Backup { config, dest } => {
            let config = Config::load(&config)?;
            let dest = std::path::absolute(&dest)?;
            let started = std::time::Instant::now();
            let answer = on_store(
                &config.server.data_dir,
                &format!("BACKUP {}", dest.display()),
                Duration::from_secs(24 * 3600),
                |store| {
                    serde_json::to_string(&store.backup(&dest).map_err(|e| e.to_string())?).map_err(|e| e.to_string())
                },
            )?;
            let summary: crate::store::BackupSummary = serde_json::from_str(&answer)?;
            println!(
                "backed up {} to {} in {:.1} s: {} records, {:.1} MiB of compressed articles; verify with `listnews check --config {} --data-dir {}`",
                config.server.data_dir.display(),
                dest.display(),
                started.elapsed().as_secs_f64(),
                summary.records,
                summary.article_bytes as f64 / (1 << 20) as f64,
                config.path.display(),
                dest.display()
            );
        }
        Cmd::Man { dir } => man::write(&dir)?,
    }
    Ok(())
}

/// A message-id as given on the command line, with or without its angle brackets.
fn bracketed(id: &str) -> String {
    let id = id.trim();
    if id.starts_with('<') { id.to_string() } else { format!("<{id}>") }
}

/// Runs `job` on the store in `data_dir`: opened here, or, when a server holds it, by that
/// server's writer (the control request `request`).
fn on_store(
    data_dir: &std::path::Path,
    request: &str,
    timeout: Duration,
    job: impl FnOnce(&Store) -> Result<String, String>,
) -> anyhow::Result<String> {
    match Store::open(data_dir) {
        Ok(store) => Ok(job(&store).map_err(|e| anyhow::anyhow!(e))?),
        Err(e @ StoreError::InUse { .. }) => {
            match control::request_text(&control::socket_path(data_dir), &format!("{request}\n"), timeout) {
                Ok(answer) => answer.map_err(|why| anyhow::anyhow!(why)),
                Err(ClientError::NoServer) => Err(e.into()),
                Err(ClientError::Failed(why)) => anyhow::bail!("the server holding the store did not answer: {why}"),
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// `listnews check`.
fn check(path: &std::path::Path, data_dir: Option<PathBuf>, config_only: bool) -> anyhow::Result<()> {
    let config = match Config::load(path) {
        Ok(c) => c,
        Err(e) => {
            let n = e.problems().len();
            eprintln!("{e}");
            let message = if n > 0 {
                format!("{} problem{} in the configuration", n, if n == 1 { "" } else { "s" })
            } else {
                String::new()
            };
            return Err(Exit { code: EX_CONFIG, message }.into());
        }
    };
    let from_mirrors = config.groups.iter().filter(|g| g.inbox.is_some()).count();
    println!(
        "{}: ok: {} groups ({} from [[group]], {} from {} mirrors), {} users",
        config.path.display(),
        config.groups.len(),
        config.groups.len() - from_mirrors,
        from_mirrors,
        config.mirrors.len(),
        config.users.len()
    );
    if config.server.post_policy != crate::config::PostPolicy::Off {
        // The relay is built as the server builds it (password file, CA, resolver).
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let relay = runtime.block_on(async { crate::post::relay::Relay::new(&config.server) });
        match relay {
            Ok(Some(relay)) => println!(
                "posting: post_policy = {:?}, relayed to {}, post_from_rewrite = {:?}; {} groups take posts",
                format!("{:?}", config.server.post_policy).to_lowercase(),
                relay.describe,
                format!("{:?}", config.server.post_from_rewrite).to_lowercase(),
                config.groups.iter().filter(|g| g.post && g.address.is_some()).count()
            ),
            Ok(None) => {}
            Err(e) => {
                eprintln!("{}: {e}", config.path.display());
                return Err(Exit { code: EX_CONFIG, message: "the post relay cannot be set up".into() }.into());
            }
        }
    }
    if config_only {
        return Ok(());
    }
    let dir = data_dir.unwrap_or_else(|| config.server.data_dir.clone());
    let json = on_store(&dir, "VERIFY", Duration::from_secs(24 * 3600), |store| {
        serde_json::to_string(&store.verify().map_err(|e| e.to_string())?).map_err(|e| e.to_string())
    });
    let v: crate::store::Verification = match json {
        Ok(json) => serde_json::from_str(&json)?,
        Err(e) => {
            let code = exit_code(&e);
            return Err(Exit {
                code: if code == 1 { EX_DATAERR } else { code },
                message: format!("{}: {}", dir.display(), describe(&e)),
            }
            .into());
        }
    };
    println!(
        "{}: format {}, {} articles in {} groups, {:.1} MiB on disk; every record read back ({:.1} MiB of article text, decompressed)",
        dir.display(),
        v.format,
        v.articles,
        v.groups.len(),
        v.size_on_disk as f64 / (1 << 20) as f64,
        v.text_bytes as f64 / (1 << 20) as f64
    );
    if !v.packing.is_empty() {
        let each: Vec<String> = v.packing.iter().map(|(how, n)| format!("{n} {how}")).collect();
        println!("article texts packed: {}", each.join(", "));
    }
    for g in &config.groups {
        match v.groups.iter().find(|(name, _, _)| name == &g.name) {
            None | Some((_, 0, _)) => println!("warning: group {} is configured but holds no articles yet", g.name),
            Some(_) => {}
        }
    }
    for (name, count, _) in &v.groups {
        if config.group(name).is_none() {
            println!(
                "warning: group {name} ({count} articles) is in the store but not configured: not served; its articles and numbers are kept"
            );
        }
    }
    for p in &v.problems {
        println!("problem: {p}");
    }
    if !v.problems.is_empty() {
        return Err(Exit { code: EX_DATAERR, message: format!("{} problems in the store", v.problems.len()) }.into());
    }
    Ok(())
}

/// `listnews serve`: the NNTP server, the store writer and the control socket, until
/// SIGINT or SIGTERM.
fn serve(mut config: Config) -> anyhow::Result<()> {
    let inherited = crate::server::systemd_sockets()?;
    let store = Store::open(&config.server.data_dir)?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        if let Some(addr) = config.server.metrics_listen {
            crate::server::observe::install_exporter(addr)?;
        }
        let service = crate::live::Service::start_with(&config, store.clone(), inherited).await?;
        for addr in &service.server.addrs {
            println!("listnews serving {} groups on {addr}", config.groups.len());
        }
        for addr in &service.server.tls_addrs {
            println!("listnews serving {} groups with TLS on {addr}", config.groups.len());
        }
        for addr in &service.server.http_addrs {
            println!("listnews serving {} groups over HTTP on http://{addr}/", config.groups.len());
        }
        // systemd (Type=notify): the store is open and every listener bound.
        let status = format!("serving {} groups", config.groups.len());
        notify(&[sd_notify::NotifyState::Ready, sd_notify::NotifyState::Status(&status)]);
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut hup = signal(SignalKind::hangup())?;
        // Mirrors are looked at again as often as watched sources: lists come and go.
        let mut rescan = tokio::time::interval(Duration::from_secs_f64(config.server.watch_interval_secs));
        rescan.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => break,
                _ = term.recv() => break,
                _ = hup.recv() => {
                    if let Ok(now) = sd_notify::NotifyState::monotonic_usec_now() {
                        notify(&[sd_notify::NotifyState::Reloading, now]);
                    }
                    // A bad new file keeps the running configuration.
                    match Config::load(&config.path) {
                        Ok(new) => match service.reload(&new).await {
                            Ok(()) => {
                                tracing::info!(path = %config.path.display(), "configuration and certificates reloaded");
                                config = new;
                            }
                            Err(e) => tracing::error!(error = %format!("{e:#}"), "reload failed; keeping the running configuration"),
                        },
                        Err(e) => tracing::error!(error = %e, "reload failed; keeping the running configuration"),
                    }
                    notify(&[sd_notify::NotifyState::Ready]);
                }
                _ = rescan.tick(), if !config.mirrors.is_empty() => {
                    if let Some(new) = service.rescan_mirrors(&config).await {
                        config = new;
                    }
                }
            }
        }
        tracing::info!("stopping: finishing responses under way");
        notify(&[sd_notify::NotifyState::Stopping]);
        service.stop().await;
        anyhow::Ok(())
    })?;
    store.flush()?;
    Ok(())
}

/// Tells systemd (when it started us with NOTIFY_SOCKET) how the service is doing.
fn notify(states: &[sd_notify::NotifyState]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!(error = %e, "cannot notify systemd");
    }
}

/// `listnews deliver`: exit codes as sysexits, for an MTA.
fn deliver(config: &std::path::Path, group: Option<&str>) -> ExitCode {
    let config = match Config::load(config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("listnews: {e}");
            return ExitCode::from(EX_CONFIG);
        }
    };
    let mut raw = Vec::new();
    let limit = crate::import::message::MAX_MESSAGE as u64 + 1;
    if let Err(e) = std::io::stdin().take(limit).read_to_end(&mut raw) {
        eprintln!("listnews: reading the message: {e}");
        return ExitCode::from(EX_TEMPFAIL);
    }
    let socket = control::socket_path(&config.server.data_dir);
    let header = format!("DELIVER {}{}\n", raw.len(), group.map(|g| format!(" {g}")).unwrap_or_default());
    match control::request(&socket, &header, &raw, Duration::from_secs(120)) {
        Ok(answer) => return answer_code(&answer),
        Err(ClientError::Failed(why)) => {
            eprintln!("listnews: delivery not confirmed: {why}");
            return ExitCode::from(EX_TEMPFAIL);
        }
        Err(ClientError::NoServer) => {}
    }
    // No server: store it ourselves.
    let direct = || -> Result<Outcome, ImportError> {
        let store = Store::open(&config.server.data_dir)?;
        let mut importer = Importer::new(&store, &config, None)?;
        let position = (crate::clock::now() as u64) << 20 | u64::from(std::process::id() & 0xfffff);
        let outcome = importer.add_one("deliver", position, raw.clone(), group)?;
        importer.finish()?;
        Ok(outcome)
    };
    match direct() {
        Ok(Outcome::Stored { message_id, .. }) => {
            eprintln!("listnews: stored {message_id}");
            ExitCode::SUCCESS
        }
        Ok(Outcome::SetAside { reason, unreadable: true }) => {
            eprintln!("listnews: not a message: {reason}");
            ExitCode::from(EX_DATAERR)
        }
        Ok(Outcome::SetAside { reason, .. }) => {
            eprintln!("listnews: set aside: {reason}");
            ExitCode::SUCCESS
        }
        Ok(Outcome::Other) => ExitCode::SUCCESS,
        Err(ImportError::Usage(why)) => {
            eprintln!("listnews: {why}");
            ExitCode::from(EX_CONFIG)
        }
        Err(e) => {
            // The store is busy (a server starting or stopping) or failing: try again later.
            eprintln!("listnews: cannot store now: {e}");
            ExitCode::from(EX_TEMPFAIL)
        }
    }
}

fn answer_code(answer: &str) -> ExitCode {
    let (kind, rest) = answer.split_once(' ').unwrap_or((answer, ""));
    match kind {
        "OK" => {
            eprintln!("listnews: stored {rest}");
            ExitCode::SUCCESS
        }
        "SETASIDE" => {
            eprintln!("listnews: set aside: {rest}");
            ExitCode::SUCCESS
        }
        "DATAERR" => {
            eprintln!("listnews: not a message: {rest}");
            ExitCode::from(EX_DATAERR)
        }
        "CONFIG" => {
            eprintln!("listnews: {rest}");
            ExitCode::from(EX_CONFIG)
        }
        _ => {
            eprintln!("listnews: cannot store now: {rest}");
            ExitCode::from(EX_TEMPFAIL)
        }
    }
}
