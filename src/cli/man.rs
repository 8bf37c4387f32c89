//! `listnews man DIR`: the manual pages, made from the command line's definition (clap_mangen)
//! and, for the configuration file, `docs/listnews.toml.5`.

use std::path::Path;

use clap::CommandFactory;

/// The configuration file's page (section 5).
pub const CONFIG_PAGE: &str = include_str!("../../docs/listnews.toml.5");

/// Writes `listnews.1`, `listnews-<command>.1` for each subcommand and `listnews.toml.5`.
pub fn write(dir: &Path) -> anyhow::Result<()> {
    let man1 = dir.join("man1");
    let man5 = dir.join("man5");
    std::fs::create_dir_all(&man1)?;
    std::fs::create_dir_all(&man5)?;
    let command = super::Cli::command().name("listnews");
    let mut written = Vec::new();
    let mut page = Vec::new();
    clap_mangen::Man::new(command.clone()).render(&mut page)?;
    std::fs::write(man1.join("listnews.1"), &page)?;
    written.push(man1.join("listnews.1"));
    for sub in command.get_subcommands() {
        let name = format!("listnews-{}", sub.get_name());
        let sub = sub.clone().name(name.clone());
        let mut page = Vec::new();
        clap_mangen::Man::new(sub).render(&mut page)?;
        let path = man1.join(format!("{name}.1"));
        std::fs::write(&path, page)?;
        written.push(path);
    }
    std::fs::write(man5.join("listnews.toml.5"), CONFIG_PAGE)?;
    written.push(man5.join("listnews.toml.5"));
    for path in written {
        println!("{}", path.display());
    }
    Ok(())
}
