//! The quarantine of a project: the tests whose failures alone do not fail a check
//! (`results check`, `ci wait --quarantine`). It is the union of `results.quarantine`
//! in flowspec.yaml and the entries stored with [`add`]; only stored entries can be
//! lifted with [`remove`].
//!
//! ```no_run
//! # async fn run() -> flowspec::Result<()> {
//! let project = flowspec::Project::discover(std::path::Path::new("."))?;
//! flowspec::quarantine::add(&project, "tests::network::*", Some("JIRA-123")).await?;
//! for entry in flowspec::quarantine::list(&project).await?.entries() {
//!     println!("{} ({:?})", entry.test, entry.source);
//! }
//! # Ok(()) }
//! ```

use flowspec_results::quarantine::Quarantine;

use crate::error::{Error, Result};
use crate::project::Project;

/// Stores `test` (a test id `classname::name`, or a pattern where `*` matches any
/// text) with an optional reason. Returns whether it was new.
pub async fn add(project: &Project, test: &str, reason: Option<&str>) -> Result<bool> {
    let results = project.results().await?;
    Ok(results.store.quarantine_add(test, reason).await?)
}

/// Lifts the stored quarantine of `test` (as it was added). A test that is not
/// stored is a usage error whose hint says where it is listed, if anywhere.
pub async fn remove(project: &Project, test: &str) -> Result<()> {
    let results = project.results().await?;
    if results.store.quarantine_remove(test).await? {
        return Ok(());
    }
    let in_config = results
        .config
        .quarantine
        .entries()
        .iter()
        .any(|e| e.test == test);
    let hint = if in_config {
        "it is listed in results.quarantine in flowspec.yaml: remove it there"
    } else {
        "`flowspec results quarantine list` shows the entries"
    };
    Err(Error::Usage(format!(
        "{test} is not in the stored quarantine\n  hint: {hint}"
    )))
}

/// Every quarantined test: flowspec.yaml's entries first, then the stored ones.
pub async fn list(project: &Project) -> Result<Quarantine> {
    let results = project.results().await?;
    let mut all = results.config.quarantine.clone();
    all.extend(results.store.quarantine_list().await?);
    Ok(all)
}
