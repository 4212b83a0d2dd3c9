//! How the watcher learns about files: inotify, or polling.
//!
//! By default the watcher uses inotify (through the `notify` crate) and falls back to
//! polling, with a warning saying why, when inotify cannot be used:
//! - the inotify watch limit is reached (`fs.inotify.max_user_watches`),
//! - too many inotify instances are open (`fs.inotify.max_user_instances`),
//! - the kernel has no inotify,
//! - the directory is on a network filesystem (NFS, SMB/CIFS, 9p, Ceph, AFS, FUSE):
//!   inotify there only sees changes made by this machine, not by the others.
//!
//! Polling can also be forced ([`crate::WatcherBuilder::poll`]).

use std::path::Path;

use serde::{Deserialize, Serialize};

/// The mode a watcher runs in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// inotify events (Linux): files are taken as soon as they are renamed in or closed.
    Inotify,
    /// A directory scan every poll interval: files are taken once unchanged between two scans.
    Polling,
}

impl Mode {
    /// `inotify` or `polling`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Inotify => "inotify",
            Mode::Polling => "polling",
        }
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The network filesystem `dir` is on, by name, when it is one.
pub fn network_filesystem(dir: &Path) -> Option<&'static str> {
    #[cfg(target_os = "linux")]
    {
        let stat = rustix::fs::statfs(dir).ok()?;
        network_filesystem_name(stat.f_type as i64)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = dir;
        None
    }
}

/// The name of a network filesystem by its `statfs` magic number (Linux).
pub fn network_filesystem_name(magic: i64) -> Option<&'static str> {
    // From linux/magic.h and the filesystems' sources.
    Some(match magic as u32 {
        0x6969 => "nfs",
        0x517b => "smb",
        0xff53_4d42 => "cifs",
        0xfe53_4d42 => "smb2",
        0x0102_1997 => "9p",
        0x00c3_6400 => "ceph",
        0x5346_414f => "afs",
        0x6b41_4653 => "afs",
        0x6573_5546 => "fuse",
        0x0bd0_0bd0 => "lustre",
        0x4750_4653 => "gpfs",
        _ => return None,
    })
}

/// Why inotify could not be used, in words for the fallback warning.
#[cfg(target_os = "linux")]
pub(crate) fn inotify_failure_reason(error: &notify::Error) -> String {
    match &error.kind {
        notify::ErrorKind::MaxFilesWatch => {
            "the inotify watch limit is reached (raise fs.inotify.max_user_watches)".to_owned()
        }
        notify::ErrorKind::Io(io)
            if io.raw_os_error() == Some(rustix::io::Errno::MFILE.raw_os_error()) =>
        {
            "too many inotify instances are open (raise fs.inotify.max_user_instances)".to_owned()
        }
        notify::ErrorKind::Io(io)
            if io.raw_os_error() == Some(rustix::io::Errno::NOSYS.raw_os_error()) =>
        {
            "this kernel has no inotify".to_owned()
        }
        _ => format!("inotify is not available: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_name_network_filesystems() {
        assert_eq!(network_filesystem_name(0x6969), Some("nfs"));
        assert_eq!(network_filesystem_name(0xff53_4d42), Some("cifs"));
        assert_eq!(network_filesystem_name(0x6573_5546), Some("fuse"));
        assert_eq!(network_filesystem_name(0xef53), None, "ext4 is local");
        assert_eq!(network_filesystem_name(0x0102_1994), None, "tmpfs is local");
    }

    #[test]
    fn should_see_a_local_temp_dir_as_local() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(network_filesystem(dir.path()), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn should_explain_why_inotify_failed() {
        let limit = notify::Error::new(notify::ErrorKind::MaxFilesWatch);
        assert_eq!(
            inotify_failure_reason(&limit),
            "the inotify watch limit is reached (raise fs.inotify.max_user_watches)"
        );
        let instances = notify::Error::io(std::io::Error::from_raw_os_error(24));
        assert_eq!(
            inotify_failure_reason(&instances),
            "too many inotify instances are open (raise fs.inotify.max_user_instances)"
        );
        let other = notify::Error::generic("boom");
        assert_eq!(
            inotify_failure_reason(&other),
            "inotify is not available: boom"
        );
    }
}
