//! # flowspec-http
//!
//! The one HTTP stack of flowspec, shared by the CI providers and the notifiers:
//! reqwest on hyper with rustls, so every crate links the same client and TLS code.
//!
//! - [`HttpClient`]: a configured client (timeouts, user agent) with
//!   [`HttpClient::send`], which turns every failure into a classified [`HttpError`],
//!   and [`HttpClient::send_with_retry`], which retries through
//!   [`flowspec_core::retry`] (the only retry loop: nothing underneath retries).
//! - [`HttpError`]: auth, not found, rate limited (with the reset time), transient,
//!   invalid request, or a platform error with its body; never the full URL, which
//!   often holds a secret (Slack and Discord webhook paths).
//! - [`target`]: outgoing targets must be HTTPS, except loopback addresses.
//! - [`signature`]: webhook signatures (`X-Signature-256`, Standard Webhooks), signed
//!   and verified by one implementation, in constant time.
//!
//! ```no_run
//! use flowspec_http::{HttpClient, Idempotency};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = HttpClient::shared();
//! let (response, attempts) = client
//!     .send_with_retry(Idempotency::Safe, || client.reqwest().get("https://api.github.com/zen"))
//!     .await?;
//! println!("{} after {attempts} attempt(s)", response.status());
//! # Ok(()) }
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

mod client;
mod error;
pub mod rate_limit;
pub mod signature;
pub mod target;

pub use client::{HttpClient, HttpConfig, Idempotency, Redirects};
pub use error::{HttpError, HttpErrorKind};
pub use reqwest;
