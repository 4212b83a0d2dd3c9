//! `flowspec init`: the starter `.flowspec/` of `flowspec::init`.

use std::path::PathBuf;

use flowspec_core::HookStatus;

use super::{Context, Failure, OrFail};
use crate::cli::InitArgs;
use crate::exit_code;
use crate::output::outln;

pub fn run(cx: &Context<'_>, args: InitArgs) -> Result<u8, Failure> {
    let target = args.dir.unwrap_or_else(|| PathBuf::from("."));
    let done = flowspec::init::create(&target).or_fail(cx)?;
    for path in &done.created {
        outln!(
            "{} created {}",
            cx.out.status(HookStatus::Success),
            cx.show_path(path)
        );
    }
    for path in &done.kept {
        outln!(
            "{} kept    {} (already exists)",
            cx.out.status(HookStatus::Skipped),
            cx.show_path(path)
        );
    }
    outln!(
        "\nNext:\n  flowspec hooks list\n  flowspec emit implement.completed --feature auth\n  $EDITOR {}",
        cx.show_path(&target.join(".flowspec/hooks/hooks.yaml"))
    );
    Ok(exit_code::OK)
}
