//! Hook output: each line is masked, kept in a bounded tail for the audit, and handed
//! to the [`Reporter`] so a terminal can show it live.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use crate::report::Reporter;
use crate::secret::Masker;

/// Which stream a line came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// Where an action writes its output lines. Created by the engine for each hook run.
pub struct OutputSink {
    hook: String,
    masker: Masker,
    reporter: Arc<dyn Reporter>,
    tail: Mutex<Tail>,
}

struct Tail {
    lines: VecDeque<String>,
    bytes: usize,
    limit: usize,
    dropped: bool,
}

impl OutputSink {
    /// A sink for `hook` keeping at most `tail_bytes` of the latest output.
    pub fn new(hook: &str, masker: Masker, reporter: Arc<dyn Reporter>, tail_bytes: usize) -> Self {
        OutputSink {
            hook: hook.to_owned(),
            masker,
            reporter,
            tail: Mutex::new(Tail {
                lines: VecDeque::new(),
                bytes: 0,
                limit: tail_bytes,
                dropped: false,
            }),
        }
    }

    /// A sink that keeps the tail but shows nothing (for tests and embedders).
    pub fn silent(hook: &str) -> Self {
        OutputSink::new(
            hook,
            Masker::default(),
            Arc::new(crate::report::SilentReporter),
            4096,
        )
    }

    /// Records one line (without its newline). Invalid UTF-8 is replaced.
    pub fn line(&self, stream: Stream, line: &[u8]) {
        let text = String::from_utf8_lossy(line);
        let text = text.trim_end_matches('\r');
        let masked = self.masker.mask(text);
        self.reporter.hook_output(&self.hook, stream, &masked);
        let mut tail = self.tail.lock().unwrap_or_else(|e| e.into_inner());
        tail.push(masked.into_owned());
    }

    /// Records a whole text, line by line.
    pub fn text(&self, stream: Stream, text: &str) {
        for line in text.lines() {
            self.line(stream, line.as_bytes());
        }
    }

    /// The kept tail: the latest lines, at most the configured number of bytes.
    pub fn tail(&self) -> String {
        let tail = self.tail.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = String::with_capacity(tail.bytes + 16);
        if tail.dropped {
            out.push_str("[…]\n");
        }
        for line in &tail.lines {
            out.push_str(line);
            out.push('\n');
        }
        out
    }
}

impl Tail {
    fn push(&mut self, mut line: String) {
        if self.limit == 0 {
            self.dropped = true;
            return;
        }
        if line.len() + 1 > self.limit {
            // Keep the end of an over-long line, cut on a character boundary.
            let mut cut = line.len() + 1 - self.limit;
            while !line.is_char_boundary(cut) {
                cut += 1;
            }
            line.drain(..cut);
            self.dropped = true;
        }
        self.bytes += line.len() + 1;
        self.lines.push_back(line);
        while self.bytes > self.limit {
            match self.lines.pop_front() {
                Some(old) => {
                    self.bytes -= old.len() + 1;
                    self.dropped = true;
                }
                None => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_keep_only_the_latest_bytes() {
        let sink = OutputSink::new(
            "h",
            Masker::default(),
            Arc::new(crate::report::SilentReporter),
            10,
        );
        for i in 0..5 {
            sink.line(Stream::Stdout, format!("line{i}").as_bytes());
        }
        assert_eq!(sink.tail(), "[…]\nline4\n");
    }

    #[test]
    fn should_mask_before_keeping() {
        let sink = OutputSink::new(
            "h",
            Masker::new(["hunter22"]),
            Arc::new(crate::report::SilentReporter),
            100,
        );
        sink.line(Stream::Stderr, b"pw=hunter22\r");
        assert_eq!(sink.tail(), "pw=***\n");
    }
}
