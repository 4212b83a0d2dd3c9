//! Reading a dropped file safely and writing copies next to the moved files.

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::path::{Path, PathBuf};

use crate::error::{FileError, FileErrorKind};
use crate::file::FileIdentity;
use crate::layout::{numbered_name, write_new};

pub(super) enum ReadResult {
    Ok(Vec<u8>, FileIdentity),
    Failed(FileError, Option<FileIdentity>),
    Gone,
}

/// Reads a regular file without following symlinks or blocking on FIFOs.
pub(super) fn read_file(path: &Path, max: u64) -> ReadResult {
    use std::os::unix::fs::OpenOptionsExt;
    let flags = rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK;
    let mut file = match File::options()
        .read(true)
        .custom_flags(flags.bits() as i32)
        .open(path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => return ReadResult::Gone,
        // ELOOP: a symlink; not ours to take.
        Err(e) if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) => {
            return ReadResult::Gone;
        }
        Err(e) => {
            return ReadResult::Failed(
                FileError::new(
                    FileErrorKind::Unreadable,
                    format!("cannot read the file: {e}"),
                ),
                None,
            );
        }
    };
    let metadata = match file.metadata() {
        Ok(m) => m,
        Err(e) => {
            return ReadResult::Failed(
                FileError::new(
                    FileErrorKind::Unreadable,
                    format!("cannot read the file: {e}"),
                ),
                None,
            );
        }
    };
    if !metadata.is_file() {
        return ReadResult::Gone;
    }
    let identity = FileIdentity::of(&metadata);
    if identity.size > max {
        return ReadResult::Failed(
            FileError::new(
                FileErrorKind::Unreadable,
                format!(
                    "the file is {} bytes, more than the {max} bytes an event file may have",
                    identity.size
                ),
            ),
            Some(identity),
        );
    }
    let mut content = Vec::with_capacity(identity.size as usize);
    match (&mut file).take(max + 1).read_to_end(&mut content) {
        Ok(_) if content.len() as u64 > max => ReadResult::Failed(
            FileError::new(
                FileErrorKind::Unreadable,
                format!("the file grew past the {max} bytes an event file may have"),
            ),
            Some(identity),
        ),
        Ok(_) => ReadResult::Ok(content, identity),
        Err(e) => ReadResult::Failed(
            FileError::new(
                FileErrorKind::Unreadable,
                format!("cannot read the file: {e}"),
            ),
            Some(identity),
        ),
    }
}

/// Writes `content` as a new file named like `name` in `dest` (numbered when taken).
pub(super) fn write_copy(
    dest: &Path,
    name: &str,
    content: &[u8],
    sidecar: Option<&str>,
) -> std::io::Result<PathBuf> {
    for n in 1..=10_000 {
        let candidate = dest.join(numbered_name(name, n));
        if let Some(suffix) = sidecar {
            let mut side = candidate.clone().into_os_string();
            side.push(suffix);
            if Path::new(&side).symlink_metadata().is_ok() {
                continue;
            }
        }
        match write_new(&candidate, content) {
            Ok(()) => return Ok(candidate),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::new(
        ErrorKind::AlreadyExists,
        format!(
            "10000 files named like {name} already exist in {}",
            dest.display()
        ),
    ))
}
