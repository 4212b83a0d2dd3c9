//! `flowspec init`: a commented starter `.flowspec/` (local tests, CI, a quality gate
//! and a staging deploy as hooks). Existing files are never overwritten.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use flowspec_core::HookStatus;

use super::{Context, Failure};
use crate::cli::InitArgs;
use crate::exit_code;
use crate::output::outln;

/// (path below the target directory, contents, executable)
const FILES: &[(&str, &str, bool)] = &[
    (
        ".flowspec/flowspec.yaml",
        include_str!("../../templates/init/flowspec.yaml"),
        false,
    ),
    (
        ".flowspec/.gitignore",
        include_str!("../../templates/init/gitignore"),
        false,
    ),
    (
        ".flowspec/hooks/hooks.yaml",
        include_str!("../../templates/init/hooks/hooks.yaml"),
        false,
    ),
    (
        ".flowspec/hooks/env.example",
        include_str!("../../templates/init/hooks/env.example"),
        false,
    ),
    (
        ".flowspec/hooks/run-local-tests.sh",
        include_str!("../../templates/init/hooks/run-local-tests.sh"),
        true,
    ),
    (
        ".flowspec/hooks/trigger-ci.sh",
        include_str!("../../templates/init/hooks/trigger-ci.sh"),
        true,
    ),
    (
        ".flowspec/hooks/quality-gate.sh",
        include_str!("../../templates/init/hooks/quality-gate.sh"),
        true,
    ),
    (
        ".flowspec/hooks/deploy-staging.sh",
        include_str!("../../templates/init/hooks/deploy-staging.sh"),
        true,
    ),
];

pub fn run(cx: &Context<'_>, args: InitArgs) -> Result<u8, Failure> {
    let target = args.dir.unwrap_or_else(|| PathBuf::from("."));
    let mut created = Vec::new();
    let mut kept = Vec::new();
    for (relative, contents, executable) in FILES {
        let path = target.join(relative);
        if path.exists() {
            kept.push(path);
            continue;
        }
        write(&path, contents, *executable)
            .map_err(|e| Failure::error(format!("cannot write {}: {e}", path.display())))?;
        created.push(path);
    }
    let p = cx.out;
    for path in &created {
        outln!(
            "{} created {}",
            p.status(HookStatus::Success),
            cx.show_path(path)
        );
    }
    for path in &kept {
        outln!(
            "{} kept    {} (already exists)",
            p.status(HookStatus::Skipped),
            cx.show_path(path)
        );
    }
    outln!(
        "\nNext:\n  flowspec hooks list\n  flowspec emit implement.completed --feature auth\n  $EDITOR {}",
        cx.show_path(&target.join(".flowspec/hooks/hooks.yaml"))
    );
    Ok(exit_code::OK)
}

fn write(path: &Path, contents: &str, executable: bool) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, contents)?;
    if executable {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(())
}
