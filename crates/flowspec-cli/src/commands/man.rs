//! `flowspec man`: the roff manual pages of every command, made from the same clap
//! definitions as `--help`, so the pages never drift from the binary.

use std::path::Path;

use crate::cli::Cli;
use crate::exit_code;
use crate::output::outln;

use super::{Context, Failure};

/// Writes `flowspec.1` and one page per subcommand (`flowspec-ci-trigger.1`…) into
/// `output`, creating it, and prints what it wrote.
pub fn run(cx: &Context<'_>, output: &Path, json: bool) -> Result<u8, Failure> {
    std::fs::create_dir_all(output)
        .map_err(|e| Failure::error(format!("cannot create {}: {e}", cx.show_path(output))))?;
    let command = <Cli as clap::CommandFactory>::command().version(env!("CARGO_PKG_VERSION"));
    clap_mangen::generate_to(command, output).map_err(|e| {
        Failure::error(format!(
            "cannot write the man pages into {}: {e}",
            cx.show_path(output)
        ))
    })?;
    let mut pages: Vec<String> = std::fs::read_dir(output)
        .map_err(|e| Failure::error(format!("cannot list {}: {e}", cx.show_path(output))))?
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.starts_with("flowspec") && name.ends_with(".1"))
        .collect();
    pages.sort();
    if json {
        return super::print_json(&serde_json::json!({
            "directory": output,
            "pages": pages,
        }))
        .map(|()| exit_code::OK);
    }
    outln!(
        "{} man pages written to {} (read one with: man -l {}/flowspec.1)",
        pages.len(),
        cx.show_path(output),
        cx.show_path(output)
    );
    Ok(exit_code::OK)
}
