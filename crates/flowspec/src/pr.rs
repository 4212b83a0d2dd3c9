//! Pull requests of a project: the forge of its `ci:` settings (a `github`
//! profile), the `pr:` hook action, the current branch as the default head.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let project = flowspec::Project::discover(std::path::Path::new("."))?;
//! let forge = flowspec::pr::forge(&project, None)?;
//! for pr in forge.list_open(10).await? {
//!     println!("#{} {}", pr.number, pr.title);
//! }
//! # Ok(()) }
//! ```

use std::sync::Arc;

use flowspec_core::action::ActionFactory;
use flowspec_providers::common::GitDefaults;
#[cfg(feature = "render")]
use flowspec_providers::config::CiSettings;
use flowspec_providers::forge::action::PrActionFactory;
use flowspec_providers::forge::status::StatusActionFactory;
use flowspec_providers::forge::{Forge, ForgeSettings, build_forge};

use crate::{Project, Result};

/// The forge of the `ci:` profile `profile` (default: the default profile).
pub fn forge(project: &Project, profile: Option<&str>) -> Result<Arc<dyn Forge>> {
    Ok(build_forge(
        &project.ci_settings()?,
        &ForgeSettings {
            profile: profile.map(str::to_owned),
        },
        project.vars(),
        project.root(),
    )?)
}

/// The checkout's current branch (the default head of a pull request).
pub fn current_branch(project: &Project) -> Option<String> {
    GitDefaults::discover(project.root()).branch
}

/// The `pr:` hook action of the project.
pub fn action_factory(project: &Project) -> Result<Arc<dyn ActionFactory>> {
    Ok(Arc::new(PrActionFactory::from_settings_file(
        &project.paths().settings_file,
    )?))
}

/// The `status:` hook action of the project (commit statuses on the forge).
pub fn status_action_factory(project: &Project) -> Result<Arc<dyn ActionFactory>> {
    Ok(Arc::new(StatusActionFactory::from_settings_file(
        &project.paths().settings_file,
    )?))
}

/// The `pr_comment:` hook action of the project (the sticky results comment, and a
/// GitHub check run when asked).
#[cfg(feature = "render")]
pub fn comment_action_factory(project: &Project) -> Result<Arc<dyn ActionFactory>> {
    Ok(Arc::new(crate::pr_comment::PrCommentActionFactory::new(
        CiSettings::from_settings(project.settings())?,
    )))
}
