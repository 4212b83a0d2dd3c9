//! What can go wrong between flowspec and the transport.

use flowspec_core::config::ConfigErrors;
use flowspec_core::transport::PublishError;

/// An error of the transport. The text never holds the URL's password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// `transport:` of flowspec.yaml is wrong, or missing what this needs.
    #[error(transparent)]
    Config(#[from] ConfigErrors),
    /// The server cannot be reached or the connection was lost (retried by subscribers
    /// and by a receiver's outbox).
    #[error("cannot reach {target}: {message}")]
    Unavailable {
        /// Where, without the password.
        target: String,
        /// What happened.
        message: String,
    },
    /// The server answered with an error (wrong key type, no permission, out of memory).
    #[error("{target} refused `{command}`: {message}")]
    Refused {
        /// Where, without the password.
        target: String,
        /// The command (`XADD`, `XREADGROUP`...).
        command: &'static str,
        /// The server's answer.
        message: String,
    },
    /// The server answered something this version does not understand.
    #[error("unexpected answer from {target} to `{command}`: {message}")]
    Protocol {
        /// Where, without the password.
        target: String,
        /// The command.
        command: &'static str,
        /// What was wrong.
        message: String,
    },
}

impl TransportError {
    /// Whether waiting and trying again may help (the server is down or unreachable).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, TransportError::Unavailable { .. })
    }
}

impl From<TransportError> for PublishError {
    fn from(error: TransportError) -> Self {
        match error {
            TransportError::Unavailable { .. } => PublishError::Unavailable(error.to_string()),
            other => PublishError::Refused(other.to_string()),
        }
    }
}
