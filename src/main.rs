use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use listnews::config::Config;
use listnews::import::mbox::MboxFormat;

/// An NNTP server for mailing-list archives: mbox files and public-inbox (lore.kernel.org)
/// mirrors in, newsreaders out.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Import mail into the store (the server must not be running on the same store).
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
        /// (with git/0.git, git/1.git, …).
        #[arg(required = true)]
        sources: Vec<PathBuf>,
    },
    /// Serve the store over NNTP until SIGINT or SIGTERM.
    Serve {
        /// The configuration file.
        #[arg(long, short)]
        config: PathBuf,
        /// Import these sources first, routed as `import` does (a source imported before is
        /// resumed from its checkpoint, so this is quick on restart).
        #[arg(long, value_name = "SOURCE")]
        import: Vec<PathBuf>,
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
    /// List the messages imports set aside, with the reason.
    Rejects {
        /// The configuration file.
        #[arg(long, short)]
        config: PathBuf,
        /// Also print each message.
        #[arg(long)]
        full: bool,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("listnews: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Cmd::Import { config, group, mbox_format, sources } => {
            let config = Config::load(&config)?;
            listnews::import::run(&config, group.as_deref(), &sources, mbox_format)?;
        }
        Cmd::Serve { config, import } => {
            let config = Config::load(&config)?;
            if !import.is_empty() {
                listnews::import::run(&config, None, &import, MboxFormat::Mboxrd)?;
            }
            tokio::runtime::Runtime::new()?.block_on(listnews::server::run(config))?;
        }
        Cmd::Thread { config, message_id } => {
            let config = Config::load(&config)?;
            let id = if message_id.starts_with('<') { message_id } else { format!("<{message_id}>") };
            let lines = listnews::server::thread_view::fetch(&config, &id)?;
            print!("{}", listnews::server::thread_view::render(&lines));
        }
        Cmd::Rejects { config, full } => {
            let config = Config::load(&config)?;
            let store = listnews::store::Store::open(&config.server.data_dir)?;
            let mut n = 0;
            for reject in store.rejects() {
                let r = reject?;
                n += 1;
                println!("{} @ {}: {} ({} bytes)", r.source, r.position, r.reason, r.raw.len());
                if full {
                    println!("{}\n", String::from_utf8_lossy(&r.raw));
                }
            }
            println!("{n} set aside");
        }
    }
    Ok(())
}
