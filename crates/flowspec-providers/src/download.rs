//! Downloads shared by the providers: streaming a response into a writer in
//! constant memory.
//!
//! (Placeholder of helper-1's `download.rs` on branch `issue-3`: same function and
//! signature, replaced by theirs on merge.)

use std::io;

use flowspec_core::provider::{ArtifactSink, ProviderError, ProviderErrorKind};
use flowspec_http::reqwest::Response;
use tokio::io::AsyncWriteExt;

/// Streams `response`'s body into `sink`; returns the bytes written.
pub async fn stream_response(
    mut response: Response,
    what: &str,
    sink: &mut ArtifactSink<'_>,
) -> Result<u64, ProviderError> {
    let mut written = 0u64;
    loop {
        let chunk = response.chunk().await.map_err(|e| {
            ProviderError::new(
                ProviderErrorKind::Transient,
                format!(
                    "{what}: the download broke off after {written} bytes: {}",
                    e.without_url()
                ),
            )
        })?;
        let Some(chunk) = chunk else { break };
        sink.write_all(&chunk)
            .await
            .map_err(|e| write_error(what, &e))?;
        written += chunk.len() as u64;
    }
    sink.flush().await.map_err(|e| write_error(what, &e))?;
    Ok(written)
}

pub(crate) fn write_error(what: &str, error: &io::Error) -> ProviderError {
    ProviderError::new(
        ProviderErrorKind::InvalidRequest,
        format!("{what}: cannot write: {error}"),
    )
}
