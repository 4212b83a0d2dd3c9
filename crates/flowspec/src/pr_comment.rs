//! Test results on a pull request: the sticky results comment (one comment, found
//! again by its hidden marker and edited in place) and, on GitHub, a check run with
//! an annotation per failed test. `flowspec pr comment` and the `pr_comment:` hook
//! action both go through [`post_results`].
//!
//! ```yaml
//! hooks:
//!   - name: results-on-the-pr
//!     events: [{type: ci.completed}]
//!     pr_comment:
//!       results: ["target/surefire-reports/*.xml"]
//!       check_run: tests          # GitHub only
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use flowspec_core::action::{Action, ActionContext, ActionFactory, ActionOutcome, BuildContext};
use flowspec_core::config::{ConfigError, ConfigErrorKind, ConfigErrors, Node, from_node};
use flowspec_core::event::Event;
use flowspec_core::glob::Glob;
use flowspec_core::output::Stream;
use flowspec_providers::action::{check_template, render_template};
use flowspec_providers::common::GitDefaults;
use flowspec_providers::config::CiSettings;
use flowspec_providers::forge::{
    self, CheckAnnotation, CheckRunRef, CheckRunRequest, CommentRef, Forge, PrError, PullRequest,
    hook_forge,
};
use flowspec_results::ParseOptions;
use serde::Deserialize;
use serde_json::json;

use crate::render::Painter;
use crate::render::results::{summary_markdown, totals_line};
use crate::test_results::Summary;

/// The hidden line that finds the results comment again.
pub const RESULTS_MARKER: &str = "<!-- flowspec:results -->";

/// Failed tests listed in the comment by default.
pub const DEFAULT_FAILURES: usize = 50;

/// Lines of a failure message kept in an annotation.
const ANNOTATION_LINES: usize = 30;
/// Characters of a failure message kept in an annotation.
const ANNOTATION_CHARS: usize = 4000;

/// The Markdown of the results comment: the results summary (totals, coverage,
/// failed tests, flaky ones), then a link to the run when there is one.
pub fn comment_body(
    summary: &Summary,
    max_failures: usize,
    run_url: Option<&str>,
    show_path: impl Fn(&str) -> String,
) -> String {
    let mut body = summary_markdown(summary, max_failures, show_path);
    if let Some(url) = run_url.filter(|u| !u.trim().is_empty()) {
        let url: String = url
            .trim()
            .chars()
            .map(|c| match c {
                ' ' => "%20".to_owned(),
                '(' => "%28".to_owned(),
                ')' => "%29".to_owned(),
                '<' => "%3C".to_owned(),
                '>' => "%3E".to_owned(),
                c if c.is_control() => String::new(),
                c => c.to_string(),
            })
            .collect();
        body.push_str(&format!("[The CI run]({url})\n"));
    }
    body
}

/// The check run of `summary` on `sha`: `success` or `failure`, the totals as its
/// title, `body` as its summary, one `failure` annotation per failed test that has
/// a file and a line (paths made relative to `root`).
pub fn check_run_request(
    name: &str,
    sha: &str,
    summary: &Summary,
    body: &str,
    root: &Path,
    run_url: Option<&str>,
) -> CheckRunRequest {
    let totals = &summary.report.totals;
    let success = totals.failing() == 0 && !summary.report.partial;
    let mut request = CheckRunRequest::new(
        name,
        sha,
        success,
        totals_line(Painter::plain(), totals),
        body,
    );
    request.details_url = run_url.map(str::to_owned);
    let root = root.to_string_lossy().trim_end_matches('/').to_owned() + "/";
    for f in &summary.report.failures {
        let (Some(file), Some(line)) = (&f.file, f.line) else {
            continue;
        };
        let path = file.strip_prefix(&root).unwrap_or(file);
        let path = path.strip_prefix("./").unwrap_or(path);
        let message = f
            .message
            .as_deref()
            .or(f.stack.as_deref())
            .unwrap_or("(no message)");
        let message: String = message
            .lines()
            .take(ANNOTATION_LINES)
            .collect::<Vec<_>>()
            .join("\n")
            .chars()
            .take(ANNOTATION_CHARS)
            .collect();
        let verb = match f.kind {
            flowspec_results::model::FailureKind::Failure => "failed",
            flowspec_results::model::FailureKind::Error => "errored",
        };
        request.annotations.push(CheckAnnotation::failure(
            path,
            line.max(1),
            format!("{} {verb}", f.id),
            message,
        ));
    }
    request
}

/// What [`post_results`] sends.
#[derive(Clone, Debug)]
pub struct ResultsPost<'a> {
    /// The results.
    pub summary: &'a Summary,
    /// Failed tests listed in the comment at most.
    pub max_failures: usize,
    /// The run's page, linked from the comment and the check run.
    pub run_url: Option<&'a str>,
    /// A check run of this name too (GitHub only).
    pub check_run: Option<&'a str>,
    /// The commit of the check run (default: the pull request's head).
    pub sha: Option<&'a str>,
    /// The repository root: annotation paths are made relative to it.
    pub root: &'a Path,
}

/// What [`post_results`] did.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PostedResults {
    /// The results comment (created, or edited in place).
    pub comment: CommentRef,
    /// The check run, when one was asked for.
    pub check_run: Option<CheckRunRef>,
}

/// Posts the results comment on `pr` (edited in place when one is there) and, when
/// asked, the check run. A check run asked of GitLab is refused before anything is
/// posted.
pub async fn post_results(
    forge: &dyn Forge,
    pr: &PullRequest,
    post: &ResultsPost<'_>,
    show_path: impl Fn(&str) -> String,
) -> Result<PostedResults, PrError> {
    if post.check_run.is_some() && !forge.has_check_runs() {
        return Err(PrError::NoCheckRuns {
            platform: forge.kind(),
        });
    }
    let body = comment_body(post.summary, post.max_failures, post.run_url, show_path);
    let comment = forge
        .upsert_comment(pr.number, RESULTS_MARKER, &body)
        .await?;
    let check_run = match post.check_run {
        Some(name) => {
            let sha = post.sha.unwrap_or(&pr.head_sha);
            let request =
                check_run_request(name, sha, post.summary, &body, post.root, post.run_url);
            Some(forge::publish_check_run(forge, &request).await?)
        }
        None => None,
    };
    Ok(PostedResults { comment, check_run })
}

/// The report files of `patterns`, relative ones under `base`: a pattern with `*`
/// matches any run of characters (`/` included: `reports/*.xml`,
/// `target/*/TEST-*.xml`); one without is the file itself. A pattern that matches
/// nothing is an error naming it.
pub fn expand_results(patterns: &[String], base: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for pattern in patterns {
        if !pattern.contains('*') {
            files.push(base.join(pattern));
            continue;
        }
        // An absolute pattern is matched from `/`, a relative one from `base`.
        let (root, relative) = match pattern.strip_prefix('/') {
            Some(rest) => (Path::new("/"), rest),
            None => (base, pattern.trim_start_matches("./")),
        };
        let cut = relative[..relative.find('*').unwrap_or(0)]
            .rfind('/')
            .map_or(0, |i| i + 1);
        let dir = root.join(&relative[..cut]);
        let glob = Glob::new(relative);
        let mut found = Vec::new();
        walk(&dir, root, &glob, 0, &mut found);
        if found.is_empty() {
            return Err(format!(
                "no file matches `{pattern}` (under {})",
                base.display()
            ));
        }
        found.sort();
        files.extend(found);
    }
    files.dedup();
    Ok(files)
}

fn walk(dir: &Path, base: &Path, glob: &Glob, depth: usize, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            if depth < 12 && entry.file_name() != ".git" {
                walk(&path, base, glob, depth + 1, found);
            }
        } else if let Ok(relative) = path.strip_prefix(base)
            && glob.matches(&relative.to_string_lossy().replace('\\', "/"))
        {
            found.push(path);
        }
    }
}

/// The hooks.yaml value under `pr_comment:`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrCommentConfig {
    /// Test reports, files or `*` patterns. Example: `["target/surefire-reports/*.xml"]`.
    pub results: Vec<String>,
    /// The pull request. Example: `"{event.pr}"`. Default: the open one of the
    /// event's `branch` (or `head_branch`), else of the checkout's branch.
    pub pr: Option<String>,
    /// The run's page. Example: `"{event.run_url}"`. Default: the event's `run_url`,
    /// else its `url`.
    pub run_url: Option<String>,
    /// A check run of this name with annotations (GitHub). Example: `tests`.
    pub check_run: Option<String>,
    /// The `ci:` profile of the forge. Example: `forge`.
    pub profile: Option<String>,
}

/// Builds `pr_comment:` actions from the project's `ci:` settings.
pub struct PrCommentActionFactory {
    settings: Option<CiSettings>,
}

impl PrCommentActionFactory {
    /// A factory for a project whose flowspec.yaml `ci:` section is `settings`.
    pub fn new(settings: Option<CiSettings>) -> Self {
        PrCommentActionFactory { settings }
    }
}

impl ActionFactory for PrCommentActionFactory {
    fn key(&self) -> &'static str {
        "pr_comment"
    }

    fn describe(&self) -> &'static str {
        "post the test results as one sticky comment on the pull request (GitHub or GitLab), edited in place; optionally a GitHub check run with annotations"
    }

    fn example_yaml(&self) -> &'static str {
        "name: results-comment\nevents:\n  - type: ci.completed\npr_comment:\n  results: [\"target/surefire-reports/*.xml\"]\n"
    }

    fn build(&self, value: &Node, cx: &BuildContext<'_>) -> Result<Arc<dyn Action>, ConfigErrors> {
        let config: PrCommentConfig =
            from_node(value, &cx.key_path).map_err(|e| ConfigErrors::from(cx.locate(e)))?;
        let mut errors = ConfigErrors::default();
        let invalid = |field: &str, message: String, hint: &str| {
            cx.locate(
                ConfigError::new(ConfigErrorKind::InvalidValue, message)
                    .path(format!("{}.{field}", cx.key_path))
                    .at(value.get(field).map_or(value.loc, |n| n.loc))
                    .hint(hint.to_owned()),
            )
        };
        if config.results.iter().all(|r| r.trim().is_empty()) {
            errors.push(invalid(
                "results",
                format!("hook `{}`: `results` names no report file", cx.hook_name),
                "list the test reports, for example `results: [\"target/surefire-reports/*.xml\"]`",
            ));
        }
        for (field, template) in [
            ("pr", config.pr.as_ref()),
            ("run_url", config.run_url.as_ref()),
        ] {
            if let Some(t) = template
                && let Err(message) = check_template(t)
            {
                errors.push(invalid(
                    field,
                    message,
                    "write `{event.FIELD}` for an event field",
                ));
            }
        }
        if config
            .check_run
            .as_deref()
            .is_some_and(|c| c.trim().is_empty())
        {
            errors.push(invalid(
                "check_run",
                "`check_run` is empty".into(),
                "name the check run, for example `check_run: tests`",
            ));
        }
        let profile = config.profile.clone();
        let Some(forge) = hook_forge(
            self.settings.as_ref(),
            "pr_comment",
            profile,
            value,
            cx,
            errors,
        )?
        else {
            return Ok(Arc::new(flowspec_core::action::disabled::Disabled(
                "pr_comment",
            )));
        };
        if config.check_run.is_some() && !forge.has_check_runs() {
            return Err(invalid(
                "check_run",
                format!(
                    "hook `{}`: {}",
                    cx.hook_name,
                    PrError::NoCheckRuns {
                        platform: forge.kind()
                    }
                ),
                "GitLab shows results through commit statuses: add a hook with `status:`",
            )
            .into());
        }
        Ok(Arc::new(PrCommentAction {
            config,
            forge,
            root: cx.project_root.to_path_buf(),
        }))
    }
}

/// A configured `pr_comment:` action.
#[derive(Debug)]
pub struct PrCommentAction {
    config: PrCommentConfig,
    forge: Arc<dyn Forge>,
    root: PathBuf,
}

impl PrCommentAction {
    async fn pull_request(&self, event: &Event, working_dir: &Path) -> Result<PullRequest, String> {
        let f = self.forge.as_ref();
        if let Some(t) = &self.config.pr {
            let text = render_template(t, event).map_err(|e| format!("`pr`: {e}"))?;
            let number: u64 = text
                .trim()
                .trim_start_matches(['#', '!'])
                .parse()
                .map_err(|_| format!("`pr`: `{text}` is not a pull request number"))?;
            return f.get(number).await.map_err(|e| e.to_string());
        }
        let head = event
            .field_text("branch")
            .or_else(|| event.field_text("head_branch"))
            .or_else(|| GitDefaults::discover(working_dir).branch);
        forge::resolve(f, None, head.as_deref())
            .await
            .map_err(|e| e.to_string())
    }

    fn run_url(&self, event: &Event) -> Result<Option<String>, String> {
        match &self.config.run_url {
            Some(t) => render_template(t, event)
                .map(Some)
                .map_err(|e| format!("`run_url`: {e}")),
            None => Ok(event
                .field_text("run_url")
                .or_else(|| event.field_text("url"))),
        }
    }
}

#[async_trait]
impl Action for PrCommentAction {
    fn summary(&self) -> String {
        match &self.config.check_run {
            Some(name) => format!(
                "pr_comment: {} results comment + check run \"{name}\"",
                self.forge.kind()
            ),
            None => format!("pr_comment: {} results comment", self.forge.kind()),
        }
    }

    async fn run(&self, cx: &ActionContext<'_>) -> ActionOutcome {
        let event = cx.event;
        let files = match expand_results(&self.config.results, cx.working_dir) {
            Ok(files) => files,
            Err(message) => return ActionOutcome::failed(format!("`results`: {message}")),
        };
        let options = ParseOptions::default().max_failures(1000);
        let summary = match crate::test_results::summarize(&files, options) {
            Ok(s) => s,
            Err(e) => return ActionOutcome::failed(e.to_string()),
        };
        let run_url = match self.run_url(event) {
            Ok(u) => u,
            Err(message) => return ActionOutcome::failed(message),
        };
        let pr = match self.pull_request(event, cx.working_dir).await {
            Ok(pr) => pr,
            Err(message) => return ActionOutcome::failed(message),
        };
        let sha = event
            .field_text("sha")
            .or_else(|| event.field_text("head_sha"));
        let post = ResultsPost {
            summary: &summary,
            max_failures: DEFAULT_FAILURES,
            run_url: run_url.as_deref(),
            check_run: self.config.check_run.as_deref(),
            sha: sha.as_deref(),
            root: &self.root,
        };
        let base = cx.working_dir.to_path_buf();
        let show = move |p: &str| {
            Path::new(p)
                .strip_prefix(&base)
                .map(|r| r.display().to_string())
                .unwrap_or_else(|_| p.to_owned())
        };
        let kind = self.forge.kind();
        let target = json!({"platform": kind, "pr": pr.number});
        let posted = match post_results(self.forge.as_ref(), &pr, &post, show).await {
            Ok(p) => p,
            Err(e) => return ActionOutcome::failed(e.to_string()).with_detail("target", target),
        };
        let verb = if posted.comment.created {
            "posted"
        } else {
            "updated"
        };
        let line = format!(
            "{verb} the results comment on {} ({kind})",
            pr_name(kind, pr.number)
        );
        cx.output.text(Stream::Stdout, &format!("{line}\n"));
        if let Some(run) = &posted.check_run {
            cx.output.text(
                Stream::Stdout,
                &format!(
                    "created check run `{}` with {} annotations ({kind})\n",
                    self.config.check_run.as_deref().unwrap_or_default(),
                    run.annotations
                ),
            );
        }
        ActionOutcome::success()
            .with_detail("target", target)
            .with_detail(
                "response",
                json!({
                    "said": line,
                    "comment": posted.comment,
                    "check_run": posted.check_run,
                }),
            )
    }
}

/// `pull request #12` on GitHub, `merge request !12` on GitLab.
pub fn pr_name(kind: &str, number: u64) -> String {
    if kind == "gitlab" {
        format!("merge request !{number}")
    } else {
        format!("pull request #{number}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_expand_relative_and_absolute_patterns_and_name_one_that_matches_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path();
        std::fs::create_dir_all(base.join("reports/unit")).unwrap();
        for f in ["reports/a.xml", "reports/unit/b.xml", "reports/c.txt"] {
            std::fs::write(base.join(f), "x").unwrap();
        }
        let files = expand_results(&["reports/*.xml".into()], base).unwrap();
        assert_eq!(
            files,
            [base.join("reports/a.xml"), base.join("reports/unit/b.xml")]
        );
        let absolute = format!("{}/reports/unit/*.xml", base.display());
        assert_eq!(
            expand_results(&[absolute], base).unwrap(),
            [base.join("reports/unit/b.xml")]
        );
        assert_eq!(
            expand_results(&["reports/c.txt".into()], base).unwrap(),
            [base.join("reports/c.txt")]
        );
        let err = expand_results(&["out/*.xml".into()], base).unwrap_err();
        assert!(err.starts_with("no file matches `out/*.xml`"), "{err}");
    }

    #[test]
    fn should_link_the_run_with_the_parentheses_of_its_url_escaped() {
        let dir = tempfile::tempdir().unwrap();
        let report = dir.path().join("junit.xml");
        std::fs::write(
            &report,
            r#"<testsuite name="s" tests="1"><testcase name="a"/></testsuite>"#,
        )
        .unwrap();
        let summary = crate::test_results::summarize(&[report], ParseOptions::default()).unwrap();
        let body = comment_body(&summary, 5, Some("https://ci.example.com/r (1)"), |p| {
            p.to_owned()
        });
        assert!(
            body.ends_with("[The CI run](https://ci.example.com/r%20%281%29)\n"),
            "{body}"
        );
    }
}
