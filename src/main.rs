//! The `listnews` command; everything it does is in [`listnews::cli`].

fn main() -> std::process::ExitCode {
    listnews::cli::main()
}
