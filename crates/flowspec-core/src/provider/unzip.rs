//! Unpacking a downloaded zip archive (a CI artifact) safely: no entry may land
//! outside the target folder, and no archive may unpack to more than
//! [`UnzipLimits`] allow. Used by the providers' artifact downloads and by the
//! test-results fetch of `flowspec-results`.

use std::io;
use std::path::{Component, Path, PathBuf};

/// Why a zip archive could not be unpacked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UnzipError {
    /// The file is not a zip archive, or is damaged.
    #[error("{path} is not a valid zip archive: {message}")]
    Invalid {
        /// The archive.
        path: PathBuf,
        /// The reader's message.
        message: String,
    },
    /// An entry's name would write outside the target folder (`../x`, `/etc/x`).
    #[error(
        "{archive} holds an unsafe entry `{entry}` (it would be written outside {dir}); nothing after it was unpacked"
    )]
    UnsafeEntry {
        /// The archive.
        archive: PathBuf,
        /// The entry name as stored.
        entry: String,
        /// The target folder.
        dir: PathBuf,
    },
    /// The archive would unpack to more bytes or entries than the limits allow: a zip
    /// bomb, or an artifact larger than expected.
    #[error(
        "{archive} unpacks to more than {limit}; unpacking stopped there (files unpacked before it stay in {dir})"
    )]
    TooLarge {
        /// The archive.
        archive: PathBuf,
        /// The limit that was reached, in words (`4096 MiB`, `100000 entries`).
        limit: String,
        /// The target folder.
        dir: PathBuf,
    },
    /// Reading or writing failed.
    #[error("cannot unpack {path}: {source}")]
    Io {
        /// The file being written or read.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
}

/// How much one archive may unpack to. A zip bomb of a few kilobytes can declare
/// (or, with lying headers, produce) terabytes; these stop it.
///
/// ```
/// use flowspec_core::provider::unzip::UnzipLimits;
/// let limits = UnzipLimits { max_bytes: 512 << 20, ..UnzipLimits::default() };
/// assert_eq!(limits.max_entries, 100_000);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnzipLimits {
    /// Total bytes written, over all entries (default 4 GiB).
    pub max_bytes: u64,
    /// Entries in the archive, folders included (default 100,000).
    pub max_entries: usize,
}

impl Default for UnzipLimits {
    fn default() -> Self {
        UnzipLimits {
            max_bytes: 4 << 30,
            max_entries: 100_000,
        }
    }
}

/// [`unzip_with`] and the default [`UnzipLimits`].
///
/// ```no_run
/// let files = flowspec_core::provider::unzip::unzip(
///     std::path::Path::new("out/report.zip"),
///     std::path::Path::new("out/report"),
/// ).unwrap();
/// println!("{} files", files.len());
/// ```
pub fn unzip(archive: &Path, dir: &Path) -> Result<Vec<PathBuf>, UnzipError> {
    unzip_with(archive, dir, UnzipLimits::default())
}

/// Unpacks the zip at `archive` into `dir`, streaming each entry; refuses (and
/// stops at) any entry whose name is absolute or climbs out with `..`, and any
/// archive past `limits`: by its declared sizes before anything is written, and by
/// the bytes really inflated while writing (headers can lie; the entry being
/// written when the limit is reached is removed). Returns the files written,
/// relative to `dir`.
///
/// ```no_run
/// use flowspec_core::provider::unzip::{unzip_with, UnzipLimits};
/// let limits = UnzipLimits { max_bytes: 1 << 30, max_entries: 10_000 };
/// let files = unzip_with(
///     std::path::Path::new("out/coverage.zip"),
///     std::path::Path::new("out/coverage"),
///     limits,
/// ).unwrap();
/// println!("{} files", files.len());
/// ```
pub fn unzip_with(
    archive: &Path,
    dir: &Path,
    limits: UnzipLimits,
) -> Result<Vec<PathBuf>, UnzipError> {
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| UnzipError::Io { path, source }
    };
    let file = std::fs::File::open(archive).map_err(io_err(archive))?;
    let mut zip =
        zip::ZipArchive::new(io::BufReader::new(file)).map_err(|e| UnzipError::Invalid {
            path: archive.to_path_buf(),
            message: e.to_string(),
        })?;
    let too_large = |limit: String| UnzipError::TooLarge {
        archive: archive.to_path_buf(),
        limit,
        dir: dir.to_path_buf(),
    };
    let bytes_limit = || format!("{} MiB", limits.max_bytes.div_ceil(1 << 20));
    if zip.len() > limits.max_entries {
        return Err(too_large(format!("{} entries", limits.max_entries)));
    }
    if zip
        .decompressed_size()
        .is_some_and(|declared| declared > u128::from(limits.max_bytes))
    {
        return Err(too_large(bytes_limit()));
    }
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let mut written = Vec::new();
    let mut budget = limits.max_bytes;
    for index in 0..zip.len() {
        let mut entry = zip.by_index(index).map_err(|e| UnzipError::Invalid {
            path: archive.to_path_buf(),
            message: e.to_string(),
        })?;
        let name = entry.name().to_owned();
        let relative = safe_relative(&name).ok_or_else(|| UnzipError::UnsafeEntry {
            archive: archive.to_path_buf(),
            entry: name.clone(),
            dir: dir.to_path_buf(),
        })?;
        let target = dir.join(&relative);
        if entry.is_dir() {
            std::fs::create_dir_all(&target).map_err(io_err(&target))?;
            continue;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(io_err(parent))?;
        }
        let mut out = std::fs::File::create(&target).map_err(io_err(&target))?;
        // One byte past the budget tells a lying header from an exact fit.
        let copied = io::copy(
            &mut io::Read::take(&mut entry, budget.saturating_add(1)),
            &mut out,
        )
        .map_err(io_err(&target))?;
        if copied > budget {
            drop(out);
            let _ = std::fs::remove_file(&target);
            return Err(too_large(bytes_limit()));
        }
        budget -= copied;
        written.push(relative);
    }
    Ok(written)
}

/// A relative path made of normal components only, or `None`.
fn safe_relative(name: &str) -> Option<PathBuf> {
    if name.contains('\\') && name.split('\\').any(|p| p == "..") {
        return None;
    }
    let path = Path::new(name);
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            _ => return None,
        }
    }
    (!out.as_os_str().is_empty()).then_some(out)
}

/// A file name safe to create inside an output folder: path separators and `..`
/// replaced, so a platform's artifact name cannot escape the folder.
///
/// ```
/// use flowspec_core::provider::unzip::safe_file_name;
/// assert_eq!(safe_file_name("../../etc/passwd"), "_._.._etc_passwd");
/// assert_eq!(safe_file_name("build/report.zip"), "build_report.zip");
/// ```
pub fn safe_file_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| match c {
            '/' | '\\' | '\0' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    while out.starts_with("..") {
        out.replace_range(..1, "_");
    }
    if out.is_empty() || out == "." {
        out = "_".into();
    }
    out
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn zip_with(entries: &[(&str, &[u8])]) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        let mut writer = zip::ZipWriter::new(file.reopen().unwrap());
        for (name, data) in entries {
            writer
                .start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            writer.write_all(data).unwrap();
        }
        writer.finish().unwrap();
        file
    }

    #[test]
    fn should_unpack_nested_entries() {
        let archive = zip_with(&[("a.txt", b"A"), ("dir/b.txt", b"BB")]);
        let out = tempfile::tempdir().unwrap();
        let files = unzip(archive.path(), out.path()).unwrap();
        assert_eq!(files, [PathBuf::from("a.txt"), PathBuf::from("dir/b.txt")]);
        assert_eq!(std::fs::read(out.path().join("dir/b.txt")).unwrap(), b"BB");
    }

    #[test]
    fn should_refuse_an_entry_that_climbs_out_of_the_folder() {
        let archive = zip_with(&[("ok.txt", b"fine"), ("../evil.txt", b"pwned")]);
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("out");
        let err = unzip(archive.path(), &out).unwrap_err();
        assert!(matches!(err, UnzipError::UnsafeEntry { ref entry, .. } if entry == "../evil.txt"));
        assert!(
            err.to_string().contains("unsafe entry `../evil.txt`"),
            "{err}"
        );
        assert!(!root.path().join("evil.txt").exists());
    }

    #[test]
    fn should_refuse_an_archive_with_more_entries_than_allowed_before_writing() {
        let archive = zip_with(&[("a", b"1"), ("b", b"2"), ("c", b"3")]);
        let out = tempfile::tempdir().unwrap();
        let limits = UnzipLimits {
            max_entries: 2,
            ..UnzipLimits::default()
        };
        let err = unzip_with(archive.path(), &out.path().join("x"), limits).unwrap_err();
        assert!(err.to_string().contains("more than 2 entries"), "{err}");
        assert!(!out.path().join("x").exists(), "nothing was written");
    }

    #[test]
    fn should_refuse_a_bomb_by_its_declared_size_before_writing() {
        // 64 MiB of zeros deflate to about 64 KiB.
        let zeros = vec![0u8; 64 << 20];
        let archive = zip_with(&[("zeros.bin", &zeros)]);
        assert!(std::fs::metadata(archive.path()).unwrap().len() < 1 << 20);
        let out = tempfile::tempdir().unwrap();
        let limits = UnzipLimits {
            max_bytes: 1 << 20,
            ..UnzipLimits::default()
        };
        let err = unzip_with(archive.path(), &out.path().join("x"), limits).unwrap_err();
        assert!(matches!(err, UnzipError::TooLarge { .. }), "{err}");
        assert!(err.to_string().contains("more than 1 MiB"), "{err}");
        assert!(!out.path().join("x").exists(), "nothing was written");
    }

    #[test]
    fn should_stop_at_the_limit_when_the_header_lies_and_remove_the_partial_entry() {
        // A streamed entry (data descriptor) declares no size up front, so only the
        // bytes really inflated can stop it.
        let file = tempfile::NamedTempFile::new().unwrap();
        let mut writer = zip::ZipWriter::new_stream(file.reopen().unwrap());
        writer
            .start_file("small.txt", zip::write::SimpleFileOptions::default())
            .unwrap();
        writer.write_all(b"fits").unwrap();
        writer
            .start_file("big.bin", zip::write::SimpleFileOptions::default())
            .unwrap();
        writer.write_all(&vec![7u8; 3 << 20]).unwrap();
        writer.finish().unwrap();
        let out = tempfile::tempdir().unwrap();
        let limits = UnzipLimits {
            max_bytes: 2 << 20,
            ..UnzipLimits::default()
        };
        let err = unzip_with(file.path(), out.path(), limits).unwrap_err();
        assert!(matches!(err, UnzipError::TooLarge { .. }), "{err}");
        assert_eq!(
            std::fs::read(out.path().join("small.txt")).unwrap(),
            b"fits"
        );
        assert!(
            !out.path().join("big.bin").exists(),
            "the partial entry is removed"
        );
    }

    #[test]
    fn should_unpack_an_archive_that_fits_the_limits_exactly() {
        let archive = zip_with(&[("a", b"12345"), ("b", b"678")]);
        let out = tempfile::tempdir().unwrap();
        let limits = UnzipLimits {
            max_bytes: 8,
            max_entries: 2,
        };
        let files = unzip_with(archive.path(), out.path(), limits).unwrap();
        assert_eq!(files.len(), 2);
    }

    #[test]
    fn should_refuse_absolute_entries() {
        assert_eq!(safe_relative("/etc/passwd"), None);
        assert_eq!(safe_relative("a/../../b"), None);
        assert_eq!(safe_relative("./a/b"), Some(PathBuf::from("a/b")));
    }
}
