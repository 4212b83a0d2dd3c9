//! The `flowspec` command line: a thin composition of the flowspec libraries.

mod cli;
mod commands;
mod exit_code;
mod logging;
mod output;

fn main() -> std::process::ExitCode {
    let cli = <cli::Cli as clap::Parser>::parse();
    std::process::ExitCode::from(commands::run(cli))
}
