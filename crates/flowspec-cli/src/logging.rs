//! Logging to stderr with tracing: level from -v/-q or RUST_LOG, text or JSON, and
//! every line passed through the secret masker before it is written.

use std::io::Write;
use std::sync::{Arc, RwLock};

use flowspec_core::secret::Masker;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::cli::{Global, LogFormat};

/// The masker used by the log writer; replaced once the configuration is loaded.
#[derive(Clone, Default)]
pub struct LogMasker(Arc<RwLock<Masker>>);

impl LogMasker {
    pub fn set(&self, masker: Masker) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = masker;
    }
}

/// Installs the global subscriber. Returns the handle to update the masker.
pub fn init(global: &Global, color: bool) -> LogMasker {
    let default_level = match (global.quiet, global.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        (false, _) => "trace",
    };
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let masker = LogMasker::default();
    let writer = MaskingStderr(masker.clone());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_target(false);
    let _ = match global.log_format {
        LogFormat::Text => builder.with_ansi(color).without_time().try_init(),
        LogFormat::Json => builder.json().with_ansi(false).try_init(),
    };
    masker
}

#[derive(Clone)]
struct MaskingStderr(LogMasker);

/// Buffers one formatted event and writes it masked, in one piece, when dropped.
struct MaskedLine {
    masker: LogMasker,
    buf: Vec<u8>,
}

impl<'a> MakeWriter<'a> for MaskingStderr {
    type Writer = MaskedLine;

    fn make_writer(&'a self) -> MaskedLine {
        MaskedLine {
            masker: self.0.clone(),
            buf: Vec::with_capacity(256),
        }
    }
}

impl Write for MaskedLine {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for MaskedLine {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.buf);
        let masker = self.masker.0.read().unwrap_or_else(|e| e.into_inner());
        let _ = std::io::stderr()
            .lock()
            .write_all(masker.mask(&text).as_bytes());
    }
}
