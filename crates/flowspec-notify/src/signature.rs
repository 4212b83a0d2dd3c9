//! Webhook signatures sent by the `webhooks` notifier: `X-Signature-256: sha256=<hex>`
//! and Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`,
//! several keys for rotation). One implementation, shared with the receiver, lives
//! in [`flowspec_http::signature`]; it is re-exported here for notifier authors and
//! tests. Its tests check GitHub's and Standard Webhooks' published vectors.

pub use flowspec_http::signature::*;
