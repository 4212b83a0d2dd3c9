//! The commit and branch of a checkout: CI variables first, then `git`.

use std::path::Path;

/// The commit: `GITHUB_SHA`, `CI_COMMIT_SHA`, `CIRCLE_SHA1`, `GIT_COMMIT`, then
/// `git rev-parse HEAD` in `root`.
pub fn commit(root: &Path) -> Option<String> {
    ["GITHUB_SHA", "CI_COMMIT_SHA", "CIRCLE_SHA1", "GIT_COMMIT"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .or_else(|| git(root, &["rev-parse", "HEAD"]))
}

/// The branch: the CI variables of GitHub Actions, GitLab CI, CircleCI and Jenkins,
/// then the checkout's branch in `root` (none when detached).
pub fn branch(root: &Path) -> Option<String> {
    [
        "GITHUB_HEAD_REF",
        "GITHUB_REF_NAME",
        "CI_COMMIT_REF_NAME",
        "CIRCLE_BRANCH",
        "GIT_BRANCH",
    ]
    .iter()
    .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
    .or_else(|| git(root, &["rev-parse", "--abbrev-ref", "HEAD"]).filter(|b| b != "HEAD"))
}

fn git(root: &Path, args: &[&str]) -> Option<String> {
    let output = std::process::Command::new("git")
        .args(args)
        .current_dir(root)
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8(output.stdout).ok()?.trim().to_owned();
    (output.status.success() && !text.is_empty()).then_some(text)
}
