//! `flowspec dashboard`: the dashboard alone, without the receiver.

use std::future::Future;
use std::net::SocketAddr;

use tokio::net::TcpListener;

use crate::{Dashboard, DashboardError};

/// Serves `dashboard` on `bind` until `shutdown` completes; `ready` is told the
/// address once listening (port 0 picks a free one).
///
/// ```no_run
/// # async fn run(dashboard: flowspec_dashboard::Dashboard) -> Result<(), flowspec_dashboard::DashboardError> {
/// let bind = "127.0.0.1:8080".parse().unwrap();
/// flowspec_dashboard::serve(dashboard, bind, |addr| println!("on http://{addr}/ui/"), async {
///     tokio::signal::ctrl_c().await.ok();
/// })
/// .await
/// # }
/// ```
pub async fn serve(
    dashboard: Dashboard,
    bind: SocketAddr,
    ready: impl FnOnce(SocketAddr),
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), DashboardError> {
    let fail = |source| DashboardError::Serve { addr: bind, source };
    let listener = TcpListener::bind(bind).await.map_err(fail)?;
    ready(listener.local_addr().map_err(fail)?);
    axum::serve(listener, dashboard.router())
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(fail)
}
