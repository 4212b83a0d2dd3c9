//! Where files go after dispatch, and writing files without clobbering or tearing.
//!
//! ```text
//! <dir>/                      files dropped here (*.json, *.trigger)
//! <dir>/processed/<name>      dispatched: every hook succeeded, was skipped, or failed with fail_mode: continue
//! <dir>/failed/<name>         invalid JSON, invalid event, blocked by a fail_mode: stop hook, engine error
//! <dir>/failed/<name>.error.json   why (the error and the dispatch report)
//! <dir>/.flowspec-watch.lock  held by the running watcher
//! ```
//!
//! A name already taken in `processed/` or `failed/` gets a counter before its
//! extension (`deploy.completed~2.trigger`); nothing is ever overwritten.

use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use crate::error::WatchError;

/// The sub-directory of dispatched files.
pub const PROCESSED_DIR: &str = "processed";
/// The sub-directory of files that could not be dispatched, with their reasons.
pub const FAILED_DIR: &str = "failed";
/// The lock file that keeps a second watcher off the directory.
pub const LOCK_FILE: &str = ".flowspec-watch.lock";
/// The suffix of the reason written next to a failed file.
pub const ERROR_SUFFIX: &str = ".error.json";

/// The directories of one watched directory.
#[derive(Clone, Debug)]
pub struct Layout {
    /// The watched directory (absolute).
    pub dir: PathBuf,
    /// `<dir>/processed`.
    pub processed: PathBuf,
    /// `<dir>/failed`.
    pub failed: PathBuf,
}

impl Layout {
    /// The layout of `dir`; checks it is a directory and creates `processed/` and
    /// `failed/`, refusing either when it is a symbolic link or no directory.
    pub fn create(dir: &Path) -> Result<Layout, WatchError> {
        let dir = match dir.canonicalize() {
            Ok(dir) if dir.is_dir() => dir,
            Ok(_) => {
                return Err(WatchError::NotADirectory {
                    path: dir.to_owned(),
                    missing: false,
                });
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(WatchError::NotADirectory {
                    path: dir.to_owned(),
                    missing: true,
                });
            }
            Err(e) => return Err(WatchError::io("open", dir, e)),
        };
        let layout = Layout {
            processed: dir.join(PROCESSED_DIR),
            failed: dir.join(FAILED_DIR),
            dir,
        };
        for sub in [&layout.processed, &layout.failed] {
            match std::fs::create_dir(sub) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
                Err(e) => return Err(WatchError::io("create", sub, e)),
            }
        }
        layout.check()?;
        Ok(layout)
    }

    /// Checks that `processed/` and `failed/` are real directories, not symbolic
    /// links (checked at start and again before each move).
    pub fn check(&self) -> Result<(), WatchError> {
        for sub in [&self.processed, &self.failed] {
            check_real(sub, "directory")?;
        }
        Ok(())
    }

    /// The lock file path.
    pub fn lock_path(&self) -> PathBuf {
        self.dir.join(LOCK_FILE)
    }
}

/// Fails unless `path` is a real directory or regular file (`expected`), without
/// following a symbolic link.
pub(crate) fn check_real(path: &Path, expected: &'static str) -> Result<(), WatchError> {
    let metadata = path
        .symlink_metadata()
        .map_err(|e| WatchError::io("inspect", path, e))?;
    let kind = metadata.file_type();
    let fits = if expected == "directory" {
        kind.is_dir()
    } else {
        kind.is_file()
    };
    if fits {
        return Ok(());
    }
    Err(WatchError::UnsafeStatePath {
        path: path.to_owned(),
        target: kind
            .is_symlink()
            .then(|| std::fs::read_link(path).unwrap_or_default()),
        expected,
    })
}

/// `name`, then `stem~2.ext`, `stem~3.ext`... (the extension is what follows the last dot).
pub fn numbered_name(name: &str, n: u32) -> String {
    if n <= 1 {
        return name.to_owned();
    }
    match name.rfind('.') {
        Some(dot) if dot > 0 => format!("{}~{n}{}", &name[..dot], &name[dot..]),
        _ => format!("{name}~{n}"),
    }
}

/// Renames `src` to `dst` unless `dst` exists (then `AlreadyExists`), atomically where
/// the filesystem supports `RENAME_NOREPLACE`, else with link + unlink.
pub fn rename_noclobber(src: &Path, dst: &Path) -> std::io::Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "macos"))]
    {
        use rustix::fs::{CWD, RenameFlags, renameat_with};
        use rustix::io::Errno;
        match renameat_with(CWD, src, CWD, dst, RenameFlags::NOREPLACE) {
            Ok(()) => return Ok(()),
            Err(Errno::NOSYS | Errno::INVAL) => {}
            Err(e) => return Err(e.into()),
        }
    }
    std::fs::hard_link(src, dst)?;
    std::fs::remove_file(src)
}

/// Moves `src` into `dest_dir` under its own name, or a numbered one when taken.
/// With `sidecar`, the name chosen also leaves `<name><sidecar>` free.
/// Returns the new path.
pub fn move_into(src: &Path, dest_dir: &Path, sidecar: Option<&str>) -> std::io::Result<PathBuf> {
    let name = src
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| std::io::Error::new(ErrorKind::InvalidInput, "file name is not UTF-8"))?;
    for n in 1..=10_000 {
        let candidate = dest_dir.join(numbered_name(name, n));
        if let Some(suffix) = sidecar {
            let mut side = candidate.clone().into_os_string();
            side.push(suffix);
            if Path::new(&side).symlink_metadata().is_ok() {
                continue;
            }
        }
        match rename_noclobber(src, &candidate) {
            Ok(()) => return Ok(candidate),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::new(
        ErrorKind::AlreadyExists,
        format!(
            "10000 files named like {name} already exist in {}",
            dest_dir.display()
        ),
    ))
}

/// Writes `bytes` to a new file at `path`; fails with `AlreadyExists` if it exists.
/// Readers never see a partial file (temporary file, then rename).
pub fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut temp = temp_beside(path)?;
    temp.write_all(bytes)?;
    temp.persist_noclobber(path).map_err(|e| e.error)?;
    Ok(())
}

/// Replaces the file at `path` with `bytes` atomically (temporary file, then rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut temp = temp_beside(path)?;
    temp.write_all(bytes)?;
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// A temporary dotfile in the directory of `path` (same filesystem, so the rename is
/// atomic; a dotfile, so a watcher of that directory ignores it).
fn temp_beside(path: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    tempfile::Builder::new()
        .prefix(".")
        .suffix(".tmp")
        .tempfile_in(parent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_number_names_before_the_extension() {
        assert_eq!(numbered_name("a.json", 1), "a.json");
        assert_eq!(numbered_name("a.json", 2), "a~2.json");
        assert_eq!(
            numbered_name("deploy.completed.trigger", 3),
            "deploy.completed~3.trigger"
        );
        assert_eq!(numbered_name("noext", 2), "noext~2");
    }

    #[test]
    fn should_never_overwrite_when_moving() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("processed");
        std::fs::create_dir(&dest).unwrap();
        std::fs::write(dest.join("a.json"), "old").unwrap();
        std::fs::write(dest.join("a~2.json"), "older").unwrap();
        let src = dir.path().join("a.json");
        std::fs::write(&src, "new").unwrap();

        let moved = move_into(&src, &dest, None).unwrap();
        assert_eq!(moved, dest.join("a~3.json"));
        assert!(!src.exists());
        assert_eq!(std::fs::read_to_string(dest.join("a.json")).unwrap(), "old");
        assert_eq!(
            std::fs::read_to_string(dest.join("a~2.json")).unwrap(),
            "older"
        );
        assert_eq!(std::fs::read_to_string(&moved).unwrap(), "new");
    }

    #[test]
    fn should_keep_the_sidecar_name_free() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("failed");
        std::fs::create_dir(&dest).unwrap();
        std::fs::write(dest.join("b.json.error.json"), "orphan").unwrap();
        let src = dir.path().join("b.json");
        std::fs::write(&src, "x").unwrap();
        let moved = move_into(&src, &dest, Some(ERROR_SUFFIX)).unwrap();
        assert_eq!(moved, dest.join("b~2.json"));
    }

    #[test]
    fn should_refuse_to_write_over_an_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.error.json");
        write_new(&path, b"first").unwrap();
        let error = write_new(&path, b"second").unwrap_err();
        assert_eq!(error.kind(), ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "first");
        write_atomic(&path, b"third").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "third");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "temporary files are cleaned up");
    }
}
