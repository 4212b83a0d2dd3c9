//! `flowspec pr ...` through `flowspec::pr` and the forge of `flowspec_providers`:
//! this file picks the call for each subcommand and renders its result.

use flowspec::pr_comment;
use flowspec::render::safe;
use flowspec_providers::forge::{
    self, CheckState, GreenWait, MergeMethod, PrError, PrRequest, PrStatus, PullRequest,
};
use serde_json::json;

use super::{Context, Failure, OrFail, print_json};
use crate::cli::pr::{PrArgs, PrCommand, PrFields};
use crate::exit_code;
use crate::output::outln;

pub async fn run(cx: &Context<'_>, args: PrArgs) -> Result<u8, Failure> {
    let json = args.json;
    let project = cx.project()?;
    let forge = flowspec::pr::forge(&project, args.profile.as_deref()).or_fail(cx)?;
    let f = forge.as_ref();
    let branch = flowspec::pr::current_branch(&project);
    let head_of = |fields: &PrFields| fields.head.clone().or_else(|| branch.clone());
    match args.command {
        PrCommand::Create {
            fields,
            draft,
            auto_merge,
        } => {
            let auto_merge = auto_merge.map(|m| method(&m)).transpose()?;
            let request = request(&fields, head_of(&fields))?.draft(draft);
            let (pr, created) = forge::ensure_pr(f, &request, auto_merge)
                .await
                .map_err(|e| failure(cx, e))?;
            if json {
                print_json(&json!({"pr": pr, "created": created}))?;
            } else {
                let verb = if created { "opened" } else { "updated" };
                outln!("{verb} pull request #{} {}", pr.number, safe(&pr.url));
            }
        }
        PrCommand::Update { pr, fields } => {
            let head = head_of(&fields);
            let open = forge::resolve(f, pr, head.as_deref())
                .await
                .map_err(|e| failure(cx, e))?;
            let request = request(&fields, Some(open.head.clone()))?;
            let pr = f.update(open.number, &request).await.or_fail(cx)?;
            if !request.labels.is_empty() {
                f.add_labels(pr.number, &request.labels).await.or_fail(cx)?;
            }
            if !request.reviewers.is_empty() {
                f.request_reviewers(pr.number, &request.reviewers)
                    .await
                    .or_fail(cx)?;
            }
            if json {
                print_json(&json!({"pr": pr, "created": false}))?;
            } else {
                outln!("updated pull request #{} {}", pr.number, safe(&pr.url));
            }
        }
        PrCommand::List { limit } => {
            let list = f.list_open(limit).await.or_fail(cx)?;
            if json {
                print_json(&json!({"pull_requests": list}))?;
            } else if list.is_empty() {
                outln!("no open pull requests");
            } else {
                for pr in &list {
                    outln!("{}", line(pr));
                }
            }
        }
        PrCommand::Status { pr } => {
            let pr = forge::resolve(f, pr, branch.as_deref())
                .await
                .map_err(|e| failure(cx, e))?;
            let status = f.status(&pr).await.or_fail(cx)?;
            if json {
                print_json(&status_json(&status))?;
            } else {
                print_status(&status);
            }
        }
        PrCommand::Comment {
            pr,
            results,
            failures,
            check_run,
            run_url,
        } => {
            if check_run.is_some() && !f.has_check_runs() {
                return Err(Failure::new(
                    exit_code::USAGE,
                    PrError::NoCheckRuns { platform: f.kind() }.to_string(),
                ));
            }
            let pr = forge::resolve(f, pr, branch.as_deref())
                .await
                .map_err(|e| failure(cx, e))?;
            let options =
                flowspec_results::ParseOptions::default().max_failures(failures.max(1000));
            let summary = flowspec::test_results::summarize(&results, options).or_fail(cx)?;
            let show = |p: &str| cx.show_path(std::path::Path::new(p));
            let post = pr_comment::ResultsPost {
                summary: &summary,
                max_failures: failures,
                run_url: run_url.as_deref(),
                check_run: check_run.as_deref(),
                sha: None,
                root: project.root(),
            };
            let posted = pr_comment::post_results(f, &pr, &post, show)
                .await
                .map_err(|e| failure(cx, e))?;
            if json {
                print_json(&json!({
                    "pr": pr.number,
                    "comment": posted.comment,
                    "check_run": posted.check_run,
                }))?;
            } else {
                let verb = if posted.comment.created {
                    "posted"
                } else {
                    "updated"
                };
                outln!(
                    "{verb} the results comment on {}",
                    pr_comment::pr_name(f.kind(), pr.number)
                );
                if let (Some(name), Some(run)) = (&check_run, &posted.check_run) {
                    outln!(
                        "created check run `{}` with {} annotations{}",
                        safe(name),
                        run.annotations,
                        run.url
                            .as_deref()
                            .map(|u| format!(" {}", safe(u)))
                            .unwrap_or_default()
                    );
                }
            }
        }
        PrCommand::Merge {
            pr,
            method: m,
            when_green,
            timeout,
            interval,
            delete_branch,
        } => {
            let m = method(&m)?;
            let pr = forge::resolve(f, pr, branch.as_deref())
                .await
                .map_err(|e| failure(cx, e))?;
            let merged = if when_green {
                let wait = GreenWait {
                    interval,
                    timeout: Some(timeout),
                };
                let mut last: Option<Vec<String>> = None;
                forge::merge_when_green(f, &pr, m, Some(wait), &mut |s: &PrStatus| {
                    let pending = s.pending_checks();
                    if !pending.is_empty() && last.as_ref() != Some(&pending) {
                        eprintln!("waiting for {}", safe(&pending.join(", ")));
                    }
                    last = Some(pending);
                })
                .await
            } else {
                forge::merge(f, &pr, m).await
            }
            .map_err(|e| failure(cx, e))?;
            if delete_branch {
                f.delete_branch(&pr.head).await.or_fail(cx)?;
            }
            if json {
                print_json(&json!({"merged": merged, "branch_deleted": delete_branch}))?;
            } else {
                outln!(
                    "merged pull request #{} ({}){}",
                    merged.number,
                    merged.method.as_str(),
                    if delete_branch {
                        format!("; deleted `{}`", safe(&pr.head))
                    } else {
                        String::new()
                    }
                );
            }
        }
    }
    Ok(exit_code::OK)
}

fn method(text: &str) -> Result<MergeMethod, Failure> {
    text.parse()
        .map_err(|e: String| Failure::new(exit_code::USAGE, e))
}

fn request(fields: &PrFields, head: Option<String>) -> Result<PrRequest, Failure> {
    let head = head.ok_or_else(|| {
        Failure::new(
            exit_code::USAGE,
            "no head branch: the checkout is on no branch; pass --head",
        )
    })?;
    let mut request = PrRequest::new(fields.title.clone(), fields.base.clone(), head)
        .labels(fields.labels.clone())
        .reviewers(fields.reviewers.clone());
    request.body = fields.body.clone();
    Ok(request)
}

/// Exit codes as for `ci`: failed checks 12, a wait that ran out 14, refusals and
/// request failures 15.
fn failure(cx: &Context<'_>, error: PrError) -> Failure {
    match error {
        PrError::Provider(e) => cx.fail(e.into()),
        PrError::ChecksFailed { .. } => Failure::new(exit_code::CI_RUN_FAILED, error.to_string()),
        PrError::TimedOut { .. } => Failure::new(exit_code::CI_WAIT_TIMEOUT, error.to_string()),
        PrError::NoCheckRuns { .. } => Failure::new(exit_code::USAGE, error.to_string()),
        other => Failure::new(exit_code::CI_REQUEST_FAILED, other.to_string()),
    }
}

fn line(pr: &PullRequest) -> String {
    format!(
        "#{:<5} {}{}  {} -> {}  {}",
        pr.number,
        safe(&pr.title),
        if pr.draft { " (draft)" } else { "" },
        safe(&pr.head),
        safe(&pr.base),
        safe(&pr.url)
    )
}

fn status_json(status: &PrStatus) -> serde_json::Value {
    json!({
        "pr": status.pr,
        "checks_state": status.checks_state(),
        "checks": status.checks,
        "reviews": status.reviews,
        "mergeable": status.pr.mergeable,
        "mergeable_state": status.pr.mergeable_state,
    })
}

fn print_status(status: &PrStatus) {
    outln!("{}", line(&status.pr));
    let state = match status.checks_state() {
        CheckState::Success => "green",
        CheckState::Pending => "running",
        CheckState::Failure => "failed",
    };
    outln!("checks: {state}");
    for c in &status.checks {
        outln!("  {:<8} {}", c.raw, safe(&c.name));
    }
    if status.reviews.is_empty() {
        outln!("reviews: none");
    } else {
        outln!("reviews:");
        for r in &status.reviews {
            outln!("  {:<18} {}", r.state, safe(&r.author));
        }
    }
    outln!(
        "mergeable: {}{}",
        match status.pr.mergeable {
            Some(true) => "yes",
            Some(false) => "no",
            None => "not computed yet",
        },
        status
            .pr
            .mergeable_state
            .as_deref()
            .map(|s| format!(" ({})", safe(s)))
            .unwrap_or_default()
    );
}
