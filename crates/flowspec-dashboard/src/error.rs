//! What can go wrong behind a page, and the error page it becomes.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::html;
use thiserror::Error;

use crate::BASE;
use crate::layout::Page;

/// Why a dashboard page or action failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DashboardError {
    /// The project could not give what the page needs (store, configuration).
    #[error(transparent)]
    Project(#[from] flowspec::Error),
    /// The CI platform refused or failed a request.
    #[error(transparent)]
    Provider(#[from] flowspec_core::provider::ProviderError),
    /// The results store failed.
    #[error(transparent)]
    Results(#[from] flowspec_results::ResultsError),
    /// No such profile, run, job or event.
    #[error("{0}")]
    NotFound(String),
    /// A form or query value that cannot be used.
    #[error("{0}")]
    BadRequest(String),
    /// The listener could not be opened or failed.
    #[error("cannot serve the dashboard on {addr}: {source}")]
    Serve {
        /// The address.
        addr: std::net::SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl DashboardError {
    fn status(&self) -> StatusCode {
        match self {
            DashboardError::NotFound(_) => StatusCode::NOT_FOUND,
            DashboardError::BadRequest(_) => StatusCode::BAD_REQUEST,
            DashboardError::Provider(_) => StatusCode::BAD_GATEWAY,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for DashboardError {
    fn into_response(self) -> Response {
        let status = self.status();
        let title = status.canonical_reason().unwrap_or("Error");
        let page = Page::new(title).body(html! {
            h1 { (title) }
            p.error role="alert" { (self.to_string()) }
            p { a href={(BASE) "/runs"} { "Back to the runs" } }
        });
        (status, page.render()).into_response()
    }
}
