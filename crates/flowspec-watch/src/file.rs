//! Which files the watcher takes, and how a file becomes an [`Event`].
//!
//! | name | taken as |
//! |---|---|
//! | `*.json` | a flowspec event: a flat JSON object with at least `event_type` |
//! | `*.trigger` | a trigger file: the name (without `.trigger` and an optional `@tag`) is the event type; the content is empty or a JSON object of fields |
//! | `.*`, `*.tmp`, `*.part`, `*.swp`, `*~`, anything else | ignored (left where it is) |
//!
//! Trigger files: `deploy.completed.trigger` is the event `deploy.completed`;
//! `deploy.completed@run-42.trigger` too (the `@tag` only makes the name unique, so
//! several triggers of one type can wait side by side). Content, when there is some,
//! is a JSON object whose fields are added to the event (`{"environment": "staging",
//! "event_id": "deploy-42"}`); an `event_type` in it wins over the name.
//!
//! Events get `source: "watch"` unless they carry a `source`. A file without an
//! `event_id` gets a stable one derived from the file (see [`stable_id`]), so a file
//! dispatched again after a crash does not run its hooks twice.

use std::path::Path;

use flowspec_core::{Event, EventId};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::error::{FileError, FileErrorKind};

/// The source set on events read from files that do not name one.
pub const SOURCE: &str = "watch";

/// The two kinds of files the watcher takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// `*.json`: a flowspec event.
    Event,
    /// `*.trigger`: a trigger file.
    Trigger,
}

/// Suffixes of names that writers use while a file is incomplete: always ignored.
pub const TEMPORARY_SUFFIXES: &[&str] = &[".tmp", ".part", ".partial", ".swp", ".crdownload", "~"];

/// What a file name is taken as, or `None` when the watcher ignores it (dotfiles,
/// temporary names, other extensions).
///
/// ```
/// use flowspec_watch::file::{FileKind, classify};
/// assert_eq!(classify("deploy.completed.trigger"), Some(FileKind::Trigger));
/// assert_eq!(classify("event-42.json"), Some(FileKind::Event));
/// assert_eq!(classify("event-42.json.tmp"), None);
/// assert_eq!(classify(".event-42.json"), None);
/// assert_eq!(classify("notes.txt"), None);
/// ```
pub fn classify(name: &str) -> Option<FileKind> {
    if name.starts_with('.') || TEMPORARY_SUFFIXES.iter().any(|s| name.ends_with(s)) {
        return None;
    }
    if name.len() > ".json".len() && name.ends_with(".json") {
        Some(FileKind::Event)
    } else if name.len() > ".trigger".len() && name.ends_with(".trigger") {
        Some(FileKind::Trigger)
    } else {
        None
    }
}

/// What identifies one file on disk: used for the stable id and to notice that a
/// name was replaced by another file while it was being dispatched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FileIdentity {
    /// Device number.
    pub dev: u64,
    /// Inode number.
    pub ino: u64,
    /// Modification time in nanoseconds since the epoch.
    pub mtime_ns: i128,
    /// Size in bytes.
    pub size: u64,
}

impl FileIdentity {
    /// The identity of `metadata` (Unix).
    pub fn of(metadata: &std::fs::Metadata) -> Self {
        use std::os::unix::fs::MetadataExt;
        FileIdentity {
            dev: metadata.dev(),
            ino: metadata.ino(),
            mtime_ns: i128::from(metadata.mtime()) * 1_000_000_000
                + i128::from(metadata.mtime_nsec()),
            size: metadata.size(),
        }
    }

    /// Whether `other` is the same file (same device and inode), whatever its content.
    pub fn same_file(&self, other: &FileIdentity) -> bool {
        self.dev == other.dev && self.ino == other.ino
    }
}

/// The id given to an event whose file has no `event_id`: `watch-` and 32 hex digits
/// of a SHA-256 over the file name, its device, inode and modification time, and its
/// content.
///
/// The same file seen again (after a crash between dispatch and the move to
/// `processed/`) gets the same id, so the engine skips the hooks that already
/// succeeded; the same content dropped again later is a new file (another inode or
/// modification time) and runs its hooks again. Copying the directory to another
/// filesystem changes inodes: give files an `event_id` when exactly-once must hold
/// across that too.
pub fn stable_id(name: &str, identity: &FileIdentity, content: &[u8]) -> EventId {
    let mut hash = Sha256::new();
    hash.update(name.as_bytes());
    hash.update([0]);
    hash.update(identity.dev.to_le_bytes());
    hash.update(identity.ino.to_le_bytes());
    hash.update(identity.mtime_ns.to_le_bytes());
    hash.update([0]);
    hash.update(content);
    let digest = hash.finalize();
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    EventId::new(format!("watch-{hex}")).expect("a hex id is a valid event id")
}

/// Reads the event out of a file's content.
///
/// `name` is the file name (it gives the kind, and the type of trigger files);
/// `identity` feeds the stable id of files without an `event_id`.
///
/// ```
/// use flowspec_watch::file::{FileIdentity, parse};
///
/// let identity = FileIdentity { dev: 1, ino: 2, mtime_ns: 3, size: 0 };
/// let event = parse("deploy.completed@42.trigger", b"{\"environment\": \"staging\"}", &identity).unwrap();
/// assert_eq!(event.event_type().as_str(), "deploy.completed");
/// assert_eq!(event.data()["environment"], "staging");
/// assert_eq!(event.source(), Some("watch"));
/// assert!(event.id().as_str().starts_with("watch-"));
/// ```
pub fn parse(name: &str, content: &[u8], identity: &FileIdentity) -> Result<Event, FileError> {
    let kind = classify(name).ok_or_else(|| {
        FileError::new(
            FileErrorKind::InvalidEvent,
            format!("`{name}` is neither a `.json` nor a `.trigger` file"),
        )
    })?;
    let mut map = match kind {
        FileKind::Event => read_object(content, "an event file")?,
        FileKind::Trigger if content.iter().all(u8::is_ascii_whitespace) => Map::new(),
        FileKind::Trigger => read_object(content, "a trigger file")?,
    };
    if kind == FileKind::Trigger && !map.contains_key("event_type") {
        let stem = &name[..name.len() - ".trigger".len()];
        let event_type = stem.split_once('@').map_or(stem, |(t, _)| t);
        map.insert("event_type".into(), Value::String(event_type.to_owned()));
    }
    let has_id = !matches!(map.get("event_id"), None | Some(Value::Null));
    let mut event = Event::from_json(Value::Object(map)).map_err(|e| {
        let hint = match (kind, &e) {
            (FileKind::Trigger, flowspec_core::EventError::InvalidType { .. }) => {
                " (hint: a trigger file is named `<event_type>.trigger` or `<event_type>@<tag>.trigger`, e.g. `deploy.completed@42.trigger`)"
            }
            (FileKind::Event, flowspec_core::EventError::MissingType) => {
                " (hint: an event file is a JSON object such as {\"event_type\": \"deploy.completed\"})"
            }
            _ => "",
        };
        FileError::new(FileErrorKind::InvalidEvent, format!("{e}{hint}"))
    })?;
    if !has_id {
        event.set_id(stable_id(name, identity, content));
    }
    event.set_source_if_missing(SOURCE);
    Ok(event)
}

fn read_object(content: &[u8], what: &str) -> Result<Map<String, Value>, FileError> {
    match serde_json::from_slice::<Value>(content) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(FileError::new(
            FileErrorKind::InvalidEvent,
            format!(
                "{what} must hold a JSON object, found {}",
                match other {
                    Value::Null => "null",
                    Value::Bool(_) => "a boolean",
                    Value::Number(_) => "a number",
                    Value::String(_) => "a string",
                    Value::Array(_) => "an array",
                    Value::Object(_) => unreachable!("objects are accepted above"),
                }
            ),
        )),
        Err(e) => Err(FileError::new(
            FileErrorKind::InvalidJson,
            format!("{what} is not valid JSON: {e}"),
        )),
    }
}

/// The file name of `path` as UTF-8, when it has one.
pub(crate) fn file_name(path: &Path) -> Option<&str> {
    path.file_name().and_then(|n| n.to_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: FileIdentity = FileIdentity {
        dev: 1,
        ino: 2,
        mtime_ns: 3,
        size: 0,
    };

    #[test]
    fn should_classify_names_and_ignore_temporary_ones() {
        for (name, expected) in [
            ("a.json", Some(FileKind::Event)),
            ("deploy.completed.trigger", Some(FileKind::Trigger)),
            ("a.json.tmp", None),
            ("a.json.part", None),
            ("a.json~", None),
            (".a.json", None),
            (".json", None),
            ("json", None),
            (".trigger", None),
            ("a.yaml", None),
        ] {
            assert_eq!(classify(name), expected, "{name}");
        }
    }

    #[test]
    fn should_read_an_event_file_and_keep_its_id() {
        let event = parse(
            "e.json",
            br#"{"event_type":"ci.completed","event_id":"ci-7","conclusion":"success","source":"ci"}"#,
            &ID,
        )
        .unwrap();
        assert_eq!(event.id().as_str(), "ci-7");
        assert_eq!(event.event_type().as_str(), "ci.completed");
        assert_eq!(event.source(), Some("ci"));
        assert_eq!(event.data()["conclusion"], "success");
    }

    #[test]
    fn should_take_the_type_of_an_empty_trigger_from_its_name() {
        let event = parse("deploy.completed.trigger", b"", &ID).unwrap();
        assert_eq!(event.event_type().as_str(), "deploy.completed");
        assert_eq!(event.source(), Some("watch"));
        let tagged = parse("deploy.completed@run-42.trigger", b"\n", &ID).unwrap();
        assert_eq!(tagged.event_type().as_str(), "deploy.completed");
    }

    #[test]
    fn should_let_the_content_type_win_over_the_name() {
        let event = parse("job.trigger", br#"{"event_type":"task.completed"}"#, &ID).unwrap();
        assert_eq!(event.event_type().as_str(), "task.completed");
    }

    #[test]
    fn should_give_stable_ids_that_change_with_the_file() {
        let a = parse("x.trigger", b"", &ID).unwrap();
        let again = parse("x.trigger", b"", &ID).unwrap();
        assert_eq!(a.id(), again.id());
        let other_inode = FileIdentity { ino: 9, ..ID };
        assert_ne!(a.id(), parse("x.trigger", b"", &other_inode).unwrap().id());
        let other_mtime = FileIdentity { mtime_ns: 4, ..ID };
        assert_ne!(a.id(), parse("x.trigger", b"", &other_mtime).unwrap().id());
        assert_ne!(a.id(), parse("x.trigger", b"{}", &ID).unwrap().id());
        assert_ne!(a.id(), parse("y.trigger", b"", &ID).unwrap().id());
    }

    #[test]
    fn should_explain_invalid_files() {
        let cases: [(&str, &[u8], FileErrorKind, &str); 6] = [
            (
                "a.json",
                b"{",
                FileErrorKind::InvalidJson,
                "an event file is not valid JSON: EOF while parsing an object at line 1 column 1",
            ),
            (
                "a.json",
                b"[1]",
                FileErrorKind::InvalidEvent,
                "an event file must hold a JSON object, found an array",
            ),
            (
                "a.json",
                b"{}",
                FileErrorKind::InvalidEvent,
                "the event has no `event_type` (hint: an event file is a JSON object such as {\"event_type\": \"deploy.completed\"})",
            ),
            (
                "a.trigger",
                b"hello",
                FileErrorKind::InvalidJson,
                "a trigger file is not valid JSON: expected value at line 1 column 1",
            ),
            (
                "deploy..x.trigger",
                b"",
                FileErrorKind::InvalidEvent,
                "invalid event type `deploy..x`: it has an empty segment (two dots in a row, or a leading or trailing dot) (hint: a trigger file is named `<event_type>.trigger` or `<event_type>@<tag>.trigger`, e.g. `deploy.completed@42.trigger`)",
            ),
            (
                "a.json",
                br#"{"event_type":"x","timestamp":5}"#,
                FileErrorKind::InvalidEvent,
                "invalid `timestamp`: expected an RFC 3339 string such as \"2025-12-02T15:30:45.123Z\"",
            ),
        ];
        for (name, content, kind, message) in cases {
            let error = parse(name, content, &ID).unwrap_err();
            assert_eq!(error.kind(), kind, "{name}");
            assert_eq!(error.to_string(), message, "{name}");
        }
    }
}
