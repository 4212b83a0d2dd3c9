//! The `flowspec` command line: a thin composition of the flowspec libraries.

mod cli;
mod commands;
mod complete;
mod exit_code;
mod logging;
mod output;

fn main() -> std::process::ExitCode {
    // The shell calling back for completions (`COMPLETE=bash flowspec -- ...`).
    complete::complete_if_asked();
    let cli = <cli::Cli as clap::Parser>::parse();
    std::process::ExitCode::from(commands::run(cli))
}
