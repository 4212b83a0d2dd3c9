//! Downloads shared by the providers: streaming a response into a writer in
//! constant memory, and following a storage redirect without credentials. Safe zip
//! unpacking ([`unzip`], [`UnzipLimits`]) lives in
//! [`flowspec_core::provider::unzip`] (the test-results fetch of `flowspec-results`
//! uses it too) and is re-exported here.

use std::io;
use std::time::Duration;

use flowspec_core::provider::{ArtifactSink, ProviderError, ProviderErrorKind};
use flowspec_http::reqwest::{Response, Url};
use flowspec_http::{HttpClient, Idempotency};
use tokio::io::AsyncWriteExt;

use crate::common;

pub use flowspec_core::provider::unzip::{
    UnzipError, UnzipLimits, safe_file_name, unzip, unzip_with,
};

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

/// Streams `location` (a pre-signed storage URL after a redirect) into `sink`,
/// sending no credentials: HTTPS, or plain HTTP to loopback only.
pub async fn stream_blob(
    client: &HttpClient,
    location: &str,
    what: &str,
    sink: &mut ArtifactSink<'_>,
) -> Result<u64, ProviderError> {
    let url = flowspec_http::target::check_target(location)
        .map_err(|e| common::from_http(&e, what, None))?;
    let (response, _) = client
        .send_with_retry(Idempotency::Safe, || {
            // Large artifacts: the read timeout guards silence, not the total time.
            client
                .reqwest()
                .get(url.clone())
                .timeout(Duration::from_secs(24 * 3600))
        })
        .await
        .map_err(|e| common::from_http(&e.error, what, None))?;
    stream_response(response, what, sink).await
}

/// Streams the answer to a download request made without following redirects:
/// a `3xx` is followed once to its `Location` (resolved against `requested`) without
/// credentials, through `client`; any other answer is streamed as it is.
pub async fn stream_or_follow(
    client: &HttpClient,
    requested: &Url,
    response: Response,
    what: &str,
    sink: &mut ArtifactSink<'_>,
) -> Result<u64, ProviderError> {
    if !response.status().is_redirection() {
        return stream_response(response, what, sink).await;
    }
    let location = response
        .headers()
        .get(flowspec_http::reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ProviderError::malformed(what, "a redirect without Location"))?;
    let target = requested
        .join(location)
        .map_err(|e| ProviderError::malformed(what, e))?;
    stream_blob(client, target.as_str(), what, sink).await
}

pub(crate) fn write_error(what: &str, error: &io::Error) -> ProviderError {
    ProviderError::new(
        ProviderErrorKind::InvalidRequest,
        format!("{what}: cannot write: {error}"),
    )
}
