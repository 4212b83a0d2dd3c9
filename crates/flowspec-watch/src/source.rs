//! Filesystem notifications, as the few facts the watcher needs.
//!
//! On Linux the inotify watcher of the `notify` crate feeds a channel; elsewhere
//! there is no event source and the watcher polls.

use std::path::{Path, PathBuf};

use tokio::sync::mpsc::UnboundedSender;

/// What a notification means for the watcher.
#[derive(Debug)]
pub(crate) enum FsEvent {
    /// A writer created or wrote the file: wait for its close.
    Writing(PathBuf),
    /// The file is complete: closed after writing, or renamed into the directory.
    Complete(PathBuf),
    /// The file was removed or renamed away.
    Gone(PathBuf),
    /// The watched directory itself was removed or moved.
    DirectoryGone,
    /// Events were lost (queue overflow): scan the directory.
    Rescan,
}

/// A running event source; dropping it stops the notifications.
pub(crate) struct EventSource {
    #[cfg(target_os = "linux")]
    _watcher: notify::RecommendedWatcher,
}

/// Starts inotify on `dir`, or says why it cannot be used.
#[cfg(target_os = "linux")]
pub(crate) fn start(
    dir: &Path,
    tx: UnboundedSender<FsEvent>,
    simulate_watch_limit: bool,
) -> Result<EventSource, String> {
    use notify::Watcher as _;

    if simulate_watch_limit {
        let error = notify::Error::new(notify::ErrorKind::MaxFilesWatch);
        return Err(crate::mode::inotify_failure_reason(&error));
    }
    if let Some(fs) = crate::mode::network_filesystem(dir) {
        return Err(format!(
            "{} is on a network filesystem ({fs}): inotify there only sees changes made on this machine",
            dir.display()
        ));
    }
    let root = dir.to_owned();
    let mut watcher =
        notify::recommended_watcher(move |result: notify::Result<notify::Event>| match result {
            Ok(event) => translate(&root, event, &tx),
            Err(error) => {
                tracing::warn!(message = "inotify reported an error; rescanning.", %error);
                let _ = tx.send(FsEvent::Rescan);
            }
        })
        .map_err(|e| crate::mode::inotify_failure_reason(&e))?;
    watcher
        .watch(dir, notify::RecursiveMode::NonRecursive)
        .map_err(|e| crate::mode::inotify_failure_reason(&e))?;
    Ok(EventSource { _watcher: watcher })
}

/// No inotify outside Linux: the watcher polls.
#[cfg(not(target_os = "linux"))]
pub(crate) fn start(
    _dir: &Path,
    _tx: UnboundedSender<FsEvent>,
    _simulate_watch_limit: bool,
) -> Result<EventSource, String> {
    Err("inotify is only available on Linux".to_owned())
}

#[cfg(target_os = "linux")]
fn translate(root: &Path, event: notify::Event, tx: &UnboundedSender<FsEvent>) {
    use notify::event::{AccessKind, AccessMode, CreateKind, EventKind, ModifyKind, RenameMode};

    if event.need_rescan() {
        let _ = tx.send(FsEvent::Rescan);
    }
    let in_root = |p: &&PathBuf| p.parent() == Some(root);
    let send = |make: fn(PathBuf) -> FsEvent, path: Option<&PathBuf>| {
        if let Some(path) = path.filter(in_root) {
            let _ = tx.send(make(path.clone()));
        }
    };
    if event.paths.iter().any(|p| p == root)
        && matches!(
            event.kind,
            EventKind::Remove(_) | EventKind::Modify(ModifyKind::Name(RenameMode::From))
        )
    {
        let _ = tx.send(FsEvent::DirectoryGone);
        return;
    }
    match event.kind {
        EventKind::Create(CreateKind::File | CreateKind::Any)
        | EventKind::Modify(ModifyKind::Data(_) | ModifyKind::Any) => {
            send(FsEvent::Writing, event.paths.first());
        }
        EventKind::Access(AccessKind::Close(AccessMode::Write))
        | EventKind::Modify(ModifyKind::Name(RenameMode::To)) => {
            send(FsEvent::Complete, event.paths.first());
        }
        // notify sends `From` and `To` on their own too.
        EventKind::Modify(ModifyKind::Name(RenameMode::Both)) => {}
        EventKind::Modify(ModifyKind::Name(RenameMode::From)) | EventKind::Remove(_) => {
            send(FsEvent::Gone, event.paths.first());
        }
        _ => {}
    }
}
