//! A commented starter `.flowspec/`: flowspec.yaml, hooks.yaml with example hooks (local
//! tests, CI, a quality gate, a staging deploy) and their four scripts, env.example and
//! a .gitignore for the state and `.env`. Existing files are never overwritten.
//!
//! ```no_run
//! let created = flowspec::init::create(std::path::Path::new("."))?;
//! println!("{} files created, {} kept", created.created.len(), created.kept.len());
//! # Ok::<(), flowspec::Error>(())
//! ```

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// One starter file.
#[derive(Clone, Copy, Debug)]
pub struct StarterFile {
    /// Its path below the project directory.
    pub path: &'static str,
    /// Its contents.
    pub contents: &'static str,
    /// Whether it is a script (mode 0755).
    pub executable: bool,
}

macro_rules! starter {
    ($path:literal, $template:literal, $executable:literal) => {
        StarterFile {
            path: $path,
            contents: include_str!(concat!("../templates/init/", $template)),
            executable: $executable,
        }
    };
}

/// The files [`create`] writes.
pub const STARTER_FILES: &[StarterFile] = &[
    starter!(".flowspec/flowspec.yaml", "flowspec.yaml", false),
    starter!(".flowspec/.gitignore", "gitignore", false),
    starter!(".flowspec/hooks/hooks.yaml", "hooks/hooks.yaml", false),
    starter!(".flowspec/hooks/env.example", "hooks/env.example", false),
    starter!(
        ".flowspec/hooks/run-local-tests.sh",
        "hooks/run-local-tests.sh",
        true
    ),
    starter!(".flowspec/hooks/trigger-ci.sh", "hooks/trigger-ci.sh", true),
    starter!(
        ".flowspec/hooks/quality-gate.sh",
        "hooks/quality-gate.sh",
        true
    ),
    starter!(
        ".flowspec/hooks/deploy-staging.sh",
        "hooks/deploy-staging.sh",
        true
    ),
];

/// What [`create`] did.
#[derive(Clone, Debug, Default)]
pub struct Created {
    /// The files written.
    pub created: Vec<PathBuf>,
    /// The files that already existed, left as they were.
    pub kept: Vec<PathBuf>,
}

/// Writes the [`STARTER_FILES`] below `dir`, keeping every file that already exists.
pub fn create(dir: &Path) -> Result<Created> {
    let mut done = Created::default();
    for file in STARTER_FILES {
        let path = dir.join(file.path);
        if path.exists() {
            done.kept.push(path);
            continue;
        }
        write(&path, file).map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
        done.created.push(path);
    }
    Ok(done)
}

fn write(path: &Path, file: &StarterFile) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, file.contents)?;
    if file.executable {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(())
}
