//! Where a project's files live.
//!
//! ```text
//! <root>/
//!   .flowspec/
//!     flowspec.yaml        project settings (audit, state, and later ci/integrations/server)
//!     hooks/hooks.yaml     the hooks
//!     hooks/.env           variables for ${VAR} (keep it out of git)
//!     state/flowspec.db    the embedded store (idempotency)
//!     audit.log            one JSON line per hook execution
//! ```
//!
//! The root is found by walking up from the current directory to the first directory
//! holding `.flowspec/hooks/hooks.yaml`. A hooks file given explicitly (`--config`,
//! `FLOWSPEC_CONFIG`) at `<root>/.flowspec/hooks/hooks.yaml` has that root; a hooks
//! file anywhere else has its own directory as the root.

use std::path::{Path, PathBuf};

use thiserror::Error;

/// The hooks file's path below the project root.
pub const HOOKS_FILE: &str = ".flowspec/hooks/hooks.yaml";

/// The settings file's path below the project root.
pub const SETTINGS_FILE: &str = ".flowspec/flowspec.yaml";

/// The paths of one project.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProjectPaths {
    /// The project root: scripts and working directories are relative to it.
    pub root: PathBuf,
    /// hooks.yaml.
    pub hooks_file: PathBuf,
    /// The `.env` file read for `${VAR}`.
    pub dotenv_file: PathBuf,
    /// flowspec.yaml (optional).
    pub settings_file: PathBuf,
    /// The directory of the embedded store.
    pub state_dir: PathBuf,
    /// The default audit log.
    pub audit_log: PathBuf,
}

/// No project was found: no `.flowspec/` with a hooks file or a settings file.
#[derive(Debug, Error)]
#[error(
    "no {SETTINGS_FILE} or {HOOKS_FILE} in {} or any parent directory\n  hint: run `flowspec init` to create one, or pass --config PATH",
    start.display()
)]
pub struct DiscoverError {
    /// Where the search started.
    pub start: PathBuf,
}

impl ProjectPaths {
    /// The project whose `.flowspec/` sits directly in `root`.
    pub fn at_root(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        let dot = root.join(".flowspec");
        ProjectPaths {
            hooks_file: dot.join("hooks").join("hooks.yaml"),
            dotenv_file: dot.join("hooks").join(".env"),
            settings_file: dot.join("flowspec.yaml"),
            state_dir: dot.join("state"),
            audit_log: dot.join("audit.log"),
            root,
        }
    }

    /// Walks up from `start` to the first directory whose `.flowspec/` holds
    /// `hooks/hooks.yaml` or `flowspec.yaml` (either is enough).
    pub fn discover(start: &Path) -> Result<Self, DiscoverError> {
        let start = absolute(start);
        start
            .ancestors()
            .find(|dir| dir.join(HOOKS_FILE).is_file() || dir.join(SETTINGS_FILE).is_file())
            .map(ProjectPaths::at_root)
            .ok_or(DiscoverError { start })
    }

    /// The project of an explicitly given hooks file.
    pub fn from_hooks_file(path: &Path) -> Self {
        let path = absolute(path);
        let standard_root = path
            .parent()
            .filter(|hooks| hooks.file_name().is_some_and(|n| n == "hooks"))
            .and_then(Path::parent)
            .filter(|dot| dot.file_name().is_some_and(|n| n == ".flowspec"))
            .and_then(Path::parent);
        match standard_root {
            Some(root) => ProjectPaths {
                hooks_file: path.clone(),
                ..ProjectPaths::at_root(root)
            },
            None => {
                let root = path
                    .parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| PathBuf::from("/"));
                ProjectPaths {
                    hooks_file: path.clone(),
                    dotenv_file: path.with_file_name(".env"),
                    ..ProjectPaths::at_root(root)
                }
            }
        }
    }
}

fn absolute(path: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    // Resolve `..` and symlinks when the path exists, so roots print cleanly.
    joined.canonicalize().unwrap_or(joined)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_find_the_nearest_project_walking_up() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join(".flowspec/hooks")).unwrap();
        std::fs::write(root.join(HOOKS_FILE), "hooks: []\n").unwrap();
        std::fs::create_dir_all(root.join("src/deep")).unwrap();
        let project = ProjectPaths::discover(&root.join("src/deep")).unwrap();
        assert_eq!(project.root, root);
        assert_eq!(project.state_dir, root.join(".flowspec/state"));
    }

    #[test]
    fn should_find_a_project_that_holds_only_flowspec_yaml() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join(".flowspec")).unwrap();
        std::fs::write(root.join(SETTINGS_FILE), "ci: {}\n").unwrap();
        std::fs::create_dir_all(root.join("src")).unwrap();
        let project = ProjectPaths::discover(&root.join("src")).unwrap();
        assert_eq!(project.root, root);
        assert_eq!(project.hooks_file, root.join(HOOKS_FILE));
    }

    #[test]
    fn should_explain_when_nothing_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let err = ProjectPaths::discover(dir.path()).unwrap_err();
        assert!(err.to_string().contains("flowspec init"), "{err}");
    }

    #[test]
    fn should_derive_root_from_an_explicit_hooks_file() {
        let p = ProjectPaths::from_hooks_file(Path::new("/x/proj/.flowspec/hooks/hooks.yaml"));
        assert_eq!(p.root, Path::new("/x/proj"));
        let p = ProjectPaths::from_hooks_file(Path::new("/x/other/my-hooks.yaml"));
        assert_eq!(p.root, Path::new("/x/other"));
        assert_eq!(p.dotenv_file, Path::new("/x/other/.env"));
    }
}
