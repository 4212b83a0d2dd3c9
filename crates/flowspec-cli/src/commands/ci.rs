//! `flowspec ci ...`: trigger, watch and steer CI runs through the provider
//! configured under `ci:` in .flowspec/flowspec.yaml (docs/ci.md).

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand, ValueEnum};
use flowspec_core::config::{ConfigError, ConfigErrorKind, ConfigErrors, Vars};
use flowspec_core::provider::{
    Artifact, CiProvider, CommitState, CommitStatus, Job, JobId, ProviderError, ProviderErrorKind,
    RetryScope, Run, RunFilter, RunId, RunStatus, TriggerRequest,
};
use flowspec_core::secret::Masker;
use flowspec_core::settings::Settings;
use flowspec_core::{ActionFactory, Project};
use flowspec_providers::config::CiSettings;
use flowspec_providers::download::{UnzipError, UnzipLimits};
use flowspec_providers::wait::{Verdict, WaitOptions, WaitOutcome, WaitUpdate, wait_for_run};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;
use tokio::io::AsyncWrite;

use super::{Context, Failure, print_json};
use crate::exit_code;

mod test_results;
use crate::terminal::{human_ms, stderr_is_terminal, table};

const AFTER_HELP: &str = "\
The CI comes from `ci:` in .flowspec/flowspec.yaml (provider: github | gitlab | ...);
tokens from GITHUB_TOKEN/GH_TOKEN, GITLAB_TOKEN... or `token: ${VAR}`. See docs/ci.md.

Examples:
  flowspec ci trigger --workflow integration-tests.yml --input feature=auth
  flowspec ci wait --run 22222222222 --timeout 30m
  flowspec ci logs --run 22222222222 --job build --follow
  flowspec ci retry --run 22222222222 --failed
  flowspec ci artifacts --run 22222222222 --output out/ --unzip
  flowspec ci list --branch main --limit 5 --json
  flowspec ci report-status --sha $(git rev-parse HEAD) --state success --context flowspec/tests
  flowspec ci results --run 22222222222           download the run's test reports and store them
  flowspec ci wait --run 22222222222 --quarantine --retry-flaky
  flowspec ci fix --run 22222222222                failure context for a fixer hook

Exit codes: 0 ok (ci wait: the run succeeded), 12 the run failed, 13 the run was cancelled,
14 ci wait timed out, 15 the CI refused or failed a request, 11 no readable test report
(ci results), 4 a fail_mode: stop hook failed (ci fix), 3 invalid config, 2 usage.";

/// `flowspec ci`.
#[derive(Debug, Args)]
#[command(after_help = AFTER_HELP)]
pub struct CiArgs {
    /// The `ci.profiles` entry to use (default: `ci.default`, or the only one).
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,

    /// Print JSON on stdout (progress stays on stderr).
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: CiCommand,
}

#[derive(Debug, Subcommand)]
pub enum CiCommand {
    /// Start a run of a workflow (pipeline, job) and print its id.
    #[command(after_help = "\
Examples:
  flowspec ci trigger --workflow integration-tests.yml
  flowspec ci trigger --workflow deploy.yml --branch main --input env=staging --wait")]
    Trigger {
        /// The workflow (GitHub: file name; default: `workflow` in the `ci:` config).
        #[arg(long, value_name = "NAME")]
        workflow: Option<String>,
        /// The branch or tag (default: `ref` in the config, else the current branch).
        #[arg(long, value_name = "REF")]
        branch: Option<String>,
        /// An input, variable or parameter: key=value. Repeatable.
        #[arg(long = "input", short = 'i', value_name = "KEY=VALUE")]
        inputs: Vec<String>,
        /// Wait for the run to end (exit codes as `ci wait`).
        #[arg(long)]
        wait: bool,
        /// With --wait: give up after this long (30s, 10m, 1h).
        #[arg(long, value_name = "DURATION", requires = "wait")]
        timeout: Option<String>,
    },
    /// Show a run and its jobs.
    Status {
        /// The run id.
        #[arg(long, value_name = "ID")]
        run: String,
    },
    /// Wait until a run ends, showing its jobs; the exit code says how it ended.
    #[command(after_help = "\
Polls adaptively: the provider's start interval (GitHub 10 s, GitLab 5 s), stretched ×1.5 up
to 60 s while nothing changes; GitHub polls use ETags, so unchanged answers cost no rate limit.

--retry-flaky: when the run fails, its test reports are downloaded and stored; if the
results.auto_retry policy says so (every failure a known flaky test, retries left), the failed
jobs are retried and the wait goes on. --quarantine: a failed run whose failures are all
quarantined tests (not broken, report complete) exits 0. Each decision is printed.

Exit codes: 0 success (or every failure quarantined, with --quarantine), 12 failed,
13 cancelled, 14 timed out (the run keeps going), 15 a retry request failed.

Examples:
  flowspec ci wait --run 22222222222 --timeout 30m
  flowspec ci wait --run 22222222222 --retry-flaky --quarantine --json")]
    Wait {
        /// The run id.
        #[arg(long, value_name = "ID")]
        run: String,
        /// Give up after this long (30s, 10m, 1h); retries included.
        #[arg(long, value_name = "DURATION")]
        timeout: Option<String>,
        /// Exit 0 when the run failed only in quarantined tests (results.quarantine).
        #[arg(long)]
        quarantine: bool,
        /// Retry the failed jobs when every failure is a known flaky test (results.auto_retry).
        #[arg(long)]
        retry_flaky: bool,
    },
    /// Download a run's test reports (JUnit, Cobertura, LCOV artifacts) and store them.
    #[command(after_help = "\
Artifacts are chosen by name (results.artifacts; default *junit*, *test-result*, *test-report*,
*surefire*, *nextest*, *.xml, *coverage*, *lcov*), unpacked safely, and every report found
inside is stored as the run, with its attempt, commit and branch. Then `flowspec results show
--run ID`, `results flaky` and `ci wait --quarantine` use them.

Exit codes: 0 stored, 11 no report artifact or no readable report (or one cut short),
15 the CI refused or failed a request.

Example: flowspec ci results --run 22222222222 --json")]
    Results {
        /// The run id.
        #[arg(long, value_name = "ID")]
        run: String,
        /// Failed tests listed at most.
        #[arg(long, value_name = "N", default_value_t = 50)]
        failures: usize,
    },
    /// Bundle a failed run's failure context and hand it to fixer hooks (`ci.fix.requested`).
    #[command(after_help = "\
Gathers the failed tests with messages and stack excerpts (the run's stored results; they are
downloaded first when missing), the log lines around each error from the failed jobs' logs
(secrets masked), the commit and branch, into fix-context.md and fix-context.json, then emits
`ci.fix.requested` with run_id, provider, markdown_path, json_path and a short summary: a hook
on that event (any agent or script) reads it on stdin.

Exit codes: 0 done (or nothing to fix), 4 a fail_mode: stop hook failed, 2 the run is still
going, 15 the CI refused or failed a request.

Example: flowspec ci fix --run 22222222222 --output fix/")]
    Fix {
        /// The run id.
        #[arg(long, value_name = "ID")]
        run: String,
        /// Where to write the bundle (default: .flowspec/fix/RUN_ID/).
        #[arg(long, short = 'o', value_name = "DIR")]
        output: Option<PathBuf>,
    },
    /// Print a job's log; --follow streams it until the job ends.
    Logs {
        /// The run id.
        #[arg(long, value_name = "ID")]
        run: String,
        /// The job: its id or name (default: the only job, or every job's log).
        #[arg(long, value_name = "JOB")]
        job: Option<String>,
        /// Keep printing new text until the job ends.
        #[arg(long, short = 'f')]
        follow: bool,
    },
    /// Run a run again: all of it, its failed jobs, or one job.
    Retry {
        /// The run id.
        #[arg(long, value_name = "ID")]
        run: String,
        /// Only this job (id or name).
        #[arg(long, value_name = "JOB", conflicts_with = "failed")]
        job: Option<String>,
        /// Only the failed jobs.
        #[arg(long)]
        failed: bool,
    },
    /// Cancel a run.
    Cancel {
        /// The run id.
        #[arg(long, value_name = "ID")]
        run: String,
    },
    /// Download a run's artifacts into a folder.
    #[command(after_help = "\
Each artifact is streamed to OUTPUT/<name> (names are sanitized: no path can escape OUTPUT).
--unzip unpacks zip artifacts into OUTPUT/<name>/ and refuses entries such as `../x`, and
archives that unpack to more than --unzip-max-mib (4096 MiB) or 100,000 entries: a zip bomb
stops there, with the files unpacked so far kept.")]
    Artifacts {
        /// The run id.
        #[arg(long, value_name = "ID")]
        run: String,
        /// The folder to write into (created if needed).
        #[arg(long, short = 'o', value_name = "DIR")]
        output: PathBuf,
        /// Only artifacts with this name. Repeatable.
        #[arg(long, value_name = "NAME")]
        name: Vec<String>,
        /// Unpack zip archives.
        #[arg(long)]
        unzip: bool,
        /// With --unzip: the most one archive may unpack to, in MiB.
        #[arg(long, value_name = "MIB", default_value_t = 4096, requires = "unzip")]
        unzip_max_mib: u64,
    },
    /// List recent runs.
    List {
        /// Only runs of this branch.
        #[arg(long, value_name = "B")]
        branch: Option<String>,
        /// Only runs of this workflow.
        #[arg(long, value_name = "NAME")]
        workflow: Option<String>,
        /// At most this many runs.
        #[arg(long, value_name = "N", default_value_t = 20)]
        limit: usize,
    },
    /// Set a commit status on the forge.
    ReportStatus {
        /// The full commit sha.
        #[arg(long, value_name = "SHA")]
        sha: String,
        /// The state.
        #[arg(long, value_enum)]
        state: StateArg,
        /// The label (e.g. flowspec/tests).
        #[arg(long, value_name = "LABEL")]
        context: Option<String>,
        /// A short description.
        #[arg(long, value_name = "TEXT")]
        description: Option<String>,
        /// A link to details.
        #[arg(long, value_name = "URL")]
        target_url: Option<String>,
        /// The branch or tag (GitLab uses it to pick the pipeline).
        #[arg(long = "ref", value_name = "REF")]
        git_ref: Option<String>,
    },
    /// List the CI providers this build knows and the configured profiles.
    Providers,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StateArg {
    Pending,
    Running,
    Success,
    Failed,
    Error,
    Cancelled,
    Skipped,
}

impl From<StateArg> for CommitState {
    fn from(s: StateArg) -> Self {
        match s {
            StateArg::Pending => CommitState::Pending,
            StateArg::Running => CommitState::Running,
            StateArg::Success => CommitState::Success,
            StateArg::Failed => CommitState::Failed,
            StateArg::Error => CommitState::Error,
            StateArg::Cancelled => CommitState::Cancelled,
            StateArg::Skipped => CommitState::Skipped,
        }
    }
}

/// The `ci:` hook action for the engine, from the project's flowspec.yaml.
pub fn action_factory(project: &Project) -> Result<Arc<dyn ActionFactory>, ConfigErrors> {
    Ok(Arc::new(
        flowspec_providers::action::CiActionFactory::from_settings_file(
            &project.settings_file,
            flowspec_providers::registry(),
        )?,
    ))
}

/// The `retry_flaky:` hook action (auto-retry of flaky failures on `ci.completed`).
pub fn retry_flaky_factory(project: &Project) -> Result<Arc<dyn ActionFactory>, ConfigErrors> {
    Ok(Arc::new(
        flowspec_results::ci::RetryFlakyFactory::from_project(
            project,
            flowspec_providers::registry(),
        )?,
    ))
}

pub async fn run(cx: &Context<'_>, args: CiArgs) -> Result<u8, Failure> {
    if let CiCommand::Providers = args.command {
        return providers(cx, args.json);
    }
    let provider = open(cx, args.profile.as_deref())?;
    let p = provider.as_ref();
    let json = args.json;
    match args.command {
        CiCommand::Trigger {
            workflow,
            branch,
            inputs,
            wait,
            timeout,
        } => {
            let mut request = TriggerRequest::new(workflow.unwrap_or_default());
            if let Some(b) = branch {
                request = request.git_ref(b);
            }
            for pair in inputs {
                let (k, v) = pair.split_once('=').ok_or_else(|| {
                    Failure::usage(format!("--input `{pair}`: expected KEY=VALUE"))
                })?;
                if k.is_empty() {
                    return Err(Failure::usage(format!(
                        "--input `{pair}`: the key is empty"
                    )));
                }
                request = request.input(k, v);
            }
            let run = p.trigger(&request).await.map_err(api_failure)?;
            if !json || !wait {
                if json {
                    print_json(&json!({
                        "platform": p.platform(),
                        "workflow": request.workflow,
                        "ref": run.git_ref.clone().or(request.git_ref.clone()),
                        "run_id": run.id,
                        "run_url": run.url,
                        "discovery": run.discovery,
                    }))?;
                } else {
                    println!(
                        "triggered run {}{}",
                        run.id,
                        run.url
                            .as_deref()
                            .map(|u| format!("  {u}"))
                            .unwrap_or_default()
                    );
                }
            }
            if wait {
                return wait_run(cx, p, &run.id, timeout.as_deref(), json).await;
            }
            Ok(exit_code::OK)
        }
        CiCommand::Status { run } => status(cx, p, &RunId::new(run), json).await,
        CiCommand::Wait {
            run,
            timeout,
            quarantine,
            retry_flaky,
        } if quarantine || retry_flaky => {
            let flags = test_results::WaitFlags {
                quarantine,
                retry_flaky,
            };
            test_results::wait(cx, p, &RunId::new(run), timeout.as_deref(), json, flags).await
        }
        CiCommand::Wait { run, timeout, .. } => {
            wait_run(cx, p, &RunId::new(run), timeout.as_deref(), json).await
        }
        CiCommand::Results { run, failures } => {
            test_results::results(cx, p, &RunId::new(run), failures, json).await
        }
        CiCommand::Fix { run, output } => {
            test_results::fix(cx, p, &RunId::new(run), output.as_deref(), json).await
        }
        CiCommand::Logs { run, job, follow } => logs(p, &RunId::new(run), job, follow, json).await,
        CiCommand::Retry { run, job, failed } => {
            let run = RunId::new(run);
            let scope = match (job, failed) {
                (Some(j), _) => RetryScope::Job(find_job(p, &run, &j).await?.id),
                (None, true) => RetryScope::Failed,
                (None, false) => RetryScope::All,
            };
            let new = p.retry(&run, &scope).await.map_err(api_failure)?;
            if json {
                print_json(&json!({"run_id": new.id, "run_url": new.url, "scope": scope}))?;
            } else {
                let what = match &scope {
                    RetryScope::Job(j) => format!("job {j} of run {run}"),
                    RetryScope::Failed => format!("the failed jobs of run {run}"),
                    _ => format!("run {run}"),
                };
                println!(
                    "re-running {what}; watch run {} with `flowspec ci wait --run {}`",
                    new.id, new.id
                );
            }
            Ok(exit_code::OK)
        }
        CiCommand::Cancel { run } => {
            let run = RunId::new(run);
            p.cancel(&run).await.map_err(api_failure)?;
            if json {
                print_json(&json!({"run_id": run, "cancel_requested": true}))?;
            } else {
                println!("cancel requested for run {run}");
            }
            Ok(exit_code::OK)
        }
        CiCommand::Artifacts {
            run,
            output,
            name,
            unzip,
            unzip_max_mib,
        } => {
            let unzip = unzip.then(|| UnzipLimits {
                max_bytes: unzip_max_mib.saturating_mul(1 << 20),
                ..UnzipLimits::default()
            });
            artifacts(cx, p, &RunId::new(run), &output, &name, unzip, json).await
        }
        CiCommand::List {
            branch,
            workflow,
            limit,
        } => {
            let mut filter = RunFilter::new().limit(limit);
            if let Some(b) = branch {
                filter = filter.branch(b);
            }
            if let Some(w) = workflow {
                filter = filter.workflow(w);
            }
            let runs = p.list_runs(&filter).await.map_err(api_failure)?;
            if json {
                print_json(&runs)?;
            } else if runs.is_empty() {
                println!("no runs");
            } else {
                let rows: Vec<Vec<String>> = runs
                    .iter()
                    .map(|r| {
                        vec![
                            r.id.to_string(),
                            r.status.to_string(),
                            r.workflow.clone().unwrap_or_default(),
                            r.head_branch.clone().unwrap_or_default(),
                            r.created_at
                                .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                                .unwrap_or_default(),
                        ]
                    })
                    .collect();
                println!(
                    "{}",
                    table(
                        &["RUN", "STATUS", "WORKFLOW", "BRANCH", "CREATED"],
                        &rows,
                        cx.out
                    )
                );
            }
            Ok(exit_code::OK)
        }
        CiCommand::ReportStatus {
            sha,
            state,
            context,
            description,
            target_url,
            git_ref,
        } => {
            let mut status = CommitStatus::new(sha, state.into());
            status.context = context;
            status.description = description;
            status.target_url = target_url;
            status.git_ref = git_ref;
            p.report_status(&status).await.map_err(api_failure)?;
            if json {
                print_json(&status)?;
            } else {
                println!("set {} on {}", status.state.as_str(), status.sha);
            }
            Ok(exit_code::OK)
        }
        CiCommand::Providers => unreachable!("handled above"),
    }
}

/// The project for `ci` commands: `--config`, or the nearest directory with a
/// `.flowspec/flowspec.yaml` (or hooks.yaml).
fn project(cx: &Context<'_>) -> Result<Project, Failure> {
    if cx.global.config.is_some() {
        return cx.project();
    }
    let cwd = std::env::current_dir()
        .map_err(|e| Failure::error(format!("cannot read the current directory: {e}")))?;
    cwd.ancestors()
        .find(|d| d.join(".flowspec/flowspec.yaml").is_file() || d.join(".flowspec/hooks/hooks.yaml").is_file())
        .map(Project::at_root)
        .ok_or_else(|| {
            Failure::new(
                exit_code::CONFIG_INVALID,
                format!(
                    "no .flowspec/flowspec.yaml in {} or above\n  hint: add one with a `ci:` section (docs/ci.md), e.g.\n    ci:\n      provider: github\n      config:\n        repo: owner/name",
                    cwd.display()
                ),
            )
        })
}

fn open(cx: &Context<'_>, profile: Option<&str>) -> Result<Arc<dyn CiProvider>, Failure> {
    let project = project(cx)?;
    let vars = Vars::from_process(Some(&project.dotenv_file))
        .map_err(|e| Failure::new(exit_code::CONFIG_INVALID, e.to_string()))?;
    // Tokens never reach the terminal, even through a log line.
    cx.log_masker.set(Masker::new(
        vars.iter()
            .filter(|(k, _)| flowspec_core::secret::looks_secret(k))
            .map(|(_, v)| v.to_owned()),
    ));
    let settings = Settings::load(&project.settings_file).map_err(|e| cx.config_failure(e))?;
    let ci = CiSettings::from_settings(&settings)
        .map_err(|e| cx.config_failure(e))?
        .ok_or_else(|| {
            cx.config_failure(
                ConfigError::new(
                    ConfigErrorKind::MissingField,
                    "no `ci:` section in flowspec.yaml",
                )
                .in_file(&project.settings_file, None)
                .hint("add `ci: {provider: github, config: {repo: owner/name}}` (docs/ci.md)")
                .into(),
            )
        })?;
    ci.build(
        profile,
        &flowspec_providers::registry(),
        &vars,
        &project.root,
    )
    .map_err(|e| cx.config_failure(e))
}

fn providers(cx: &Context<'_>, json: bool) -> Result<u8, Failure> {
    let registry = flowspec_providers::registry();
    let profiles: Vec<(String, String)> = project(cx)
        .ok()
        .and_then(|p| Settings::load(&p.settings_file).ok())
        .and_then(|s| CiSettings::from_settings(&s).ok().flatten())
        .map(|ci| {
            ci.profiles()
                .iter()
                .map(|p| (p.name.clone(), p.provider.clone()))
                .collect()
        })
        .unwrap_or_default();
    if json {
        print_json(&json!({
            "providers": registry.iter().map(|f| json!({"kind": f.kind(), "description": f.describe()})).collect::<Vec<_>>(),
            "profiles": profiles.iter().map(|(n, p)| json!({"name": n, "provider": p})).collect::<Vec<_>>(),
        }))?;
        return Ok(exit_code::OK);
    }
    let rows: Vec<Vec<String>> = registry
        .iter()
        .map(|f| vec![f.kind().to_owned(), f.describe().to_owned()])
        .collect();
    println!("{}", table(&["PROVIDER", "DESCRIPTION"], &rows, cx.out));
    if !profiles.is_empty() {
        println!();
        let rows: Vec<Vec<String>> = profiles.into_iter().map(|(n, p)| vec![n, p]).collect();
        println!("{}", table(&["PROFILE", "PROVIDER"], &rows, cx.out));
    }
    Ok(exit_code::OK)
}

/// A provider error as a failure with exit code 15 (2 for what the provider cannot do).
fn api_failure(error: ProviderError) -> Failure {
    let code = match error.kind() {
        ProviderErrorKind::Unsupported => exit_code::USAGE,
        _ => exit_code::CI_REQUEST_FAILED,
    };
    Failure::new(code, error.to_string())
}

fn parse_duration(text: Option<&str>) -> Result<Option<Duration>, Failure> {
    text.map(|t| {
        humantime::parse_duration(t)
            .map_err(|e| Failure::usage(format!("--timeout `{t}`: {e} (examples: 90s, 10m, 1h)")))
    })
    .transpose()
}

async fn status(
    cx: &Context<'_>,
    p: &dyn CiProvider,
    run: &RunId,
    json: bool,
) -> Result<u8, Failure> {
    let r = p.get_run(run).await.map_err(api_failure)?;
    let jobs = p.list_jobs(run).await.map_err(api_failure)?;
    if json {
        print_json(&json!({"run": r, "jobs": jobs}))?;
    } else {
        print_run(&r);
        print_jobs(cx, &jobs);
    }
    Ok(exit_code::OK)
}

fn print_run(r: &Run) {
    let mut line = format!("run {}: {} ({})", r.id, r.status, r.raw_status);
    if let Some(w) = &r.workflow {
        line.push_str(&format!("  {w}"));
    }
    if let Some(b) = &r.head_branch {
        line.push_str(&format!(" on {b}"));
    }
    if let Some(d) = r.duration() {
        line.push_str(&format!(
            " · {}",
            human_ms(d.num_milliseconds().max(0) as u64)
        ));
    }
    println!("{line}");
    if let Some(u) = &r.url {
        println!("{u}");
    }
}

fn print_jobs(cx: &Context<'_>, jobs: &[Job]) {
    if jobs.is_empty() {
        return;
    }
    let rows: Vec<Vec<String>> = jobs
        .iter()
        .map(|j| {
            vec![
                symbol(j.status).to_owned(),
                j.name.clone(),
                j.status.to_string(),
                job_duration(j),
                j.id.to_string(),
            ]
        })
        .collect();
    println!(
        "{}",
        table(&["", "JOB", "STATUS", "TIME", "ID"], &rows, cx.out)
    );
}

fn job_duration(j: &Job) -> String {
    match (j.started_at, j.finished_at) {
        (Some(s), Some(f)) => human_ms((f - s).num_milliseconds().max(0) as u64),
        (Some(s), None) => human_ms((chrono::Utc::now() - s).num_milliseconds().max(0) as u64),
        _ => String::new(),
    }
}

fn symbol(status: RunStatus) -> &'static str {
    match status {
        RunStatus::Queued => "·",
        RunStatus::Running => "▶",
        RunStatus::Waiting => "⏸",
        RunStatus::Success => "✓",
        RunStatus::Failed => "✗",
        RunStatus::Cancelled => "⊘",
        RunStatus::Skipped => "↷",
        _ => "?",
    }
}

/// The live view of `ci wait`: indicatif bars on a terminal, plain lines otherwise.
enum View {
    Live {
        multi: MultiProgress,
        run: ProgressBar,
        jobs: HashMap<JobId, ProgressBar>,
    },
    Plain {
        last_run: Option<String>,
        last_jobs: HashMap<JobId, RunStatus>,
    },
    Quiet,
}

impl View {
    fn new(cx: &Context<'_>, run: &RunId) -> View {
        if cx.global.quiet {
            return View::Quiet;
        }
        if !stderr_is_terminal() {
            return View::Plain {
                last_run: None,
                last_jobs: HashMap::new(),
            };
        }
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let bar = multi.add(ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} {elapsed:.dim}")
                .expect("a valid template"),
        );
        bar.set_message(format!("run {run}: waiting for the first answer"));
        bar.enable_steady_tick(Duration::from_millis(120));
        View::Live {
            multi,
            run: bar,
            jobs: HashMap::new(),
        }
    }

    fn update(&mut self, update: WaitUpdate<'_>) {
        match (self, update) {
            (View::Quiet, _) => {}
            (View::Live { run, .. }, WaitUpdate::Run(r)) => {
                run.set_message(format!("run {}: {} ({})", r.id, r.status, r.raw_status));
            }
            (View::Live { run, .. }, WaitUpdate::Unchanged { run: r, next }) => {
                run.set_message(format!(
                    "run {}: {} · next check in {}s",
                    r.id,
                    r.status,
                    next.as_secs().max(1)
                ));
            }
            (View::Live { run, .. }, WaitUpdate::Retrying { error, next }) => {
                run.set_message(format!("{error}; retrying in {}s", next.as_secs().max(1)));
            }
            (View::Live { multi, jobs, .. }, WaitUpdate::Jobs(list)) => {
                for job in list {
                    let bar = jobs.entry(job.id.clone()).or_insert_with(|| {
                        let b = multi.add(ProgressBar::new_spinner());
                        b.set_style(
                            ProgressStyle::with_template("  {msg}").expect("a valid template"),
                        );
                        b
                    });
                    bar.set_message(format!(
                        "{} {} {} {}",
                        symbol(job.status),
                        job.name,
                        job.status,
                        job_duration(job)
                    ));
                    if job.status.is_terminal() {
                        bar.finish();
                    }
                }
            }
            (View::Plain { last_run, .. }, WaitUpdate::Run(r)) => {
                let line = format!("run {}: {} ({})", r.id, r.status, r.raw_status);
                if last_run.as_deref() != Some(line.as_str()) {
                    eprintln!("{line}");
                    *last_run = Some(line);
                }
            }
            (View::Plain { last_jobs, .. }, WaitUpdate::Jobs(list)) => {
                for job in list {
                    if last_jobs.get(&job.id) != Some(&job.status) {
                        eprintln!("  job {}: {}", job.name, job.status);
                        last_jobs.insert(job.id.clone(), job.status);
                    }
                }
            }
            (View::Plain { .. }, WaitUpdate::Retrying { error, next }) => {
                eprintln!("{error}; retrying in {}s", next.as_secs().max(1));
            }
            (View::Plain { .. }, _) => {}
            (View::Live { .. }, _) => {}
        }
    }

    fn finish(self) {
        if let View::Live { multi, run, .. } = self {
            run.finish_and_clear();
            let _ = multi.clear();
        }
    }
}

/// Wait options with `timeout`, and the faster schedule of `FLOWSPEC_CI_POLL_MS`.
fn wait_options(timeout: Option<Duration>) -> WaitOptions {
    let mut options = WaitOptions::default().timeout(timeout);
    // Test and benchmark hook: a faster polling schedule against a local mock.
    if let Some(ms) = poll_override() {
        options = options.interval(flowspec_core::provider::PollInterval::new(ms, ms * 6));
    }
    options
}

async fn wait_run(
    cx: &Context<'_>,
    p: &dyn CiProvider,
    run: &RunId,
    timeout: Option<&str>,
    json: bool,
) -> Result<u8, Failure> {
    let timeout = parse_duration(timeout)?;
    let options = wait_options(timeout);
    let mut view = View::new(cx, run);
    let started = Instant::now();
    let outcome = wait_for_run(p, run, &options, &mut |u| view.update(u)).await;
    view.finish();
    let outcome = outcome.map_err(api_failure)?;
    report_wait(cx, &outcome, started.elapsed(), json)
}

/// `ci wait --json`'s object.
fn wait_json(
    outcome: &WaitOutcome,
    waited: Duration,
    verdict_name: &str,
    code: u8,
) -> serde_json::Value {
    json!({
        "verdict": verdict_name,
        "exit_code": code,
        "run": outcome.run,
        "jobs": outcome.jobs,
        "requests": {"run": outcome.run_polls, "jobs": outcome.job_polls},
        "waited_ms": waited.as_millis() as u64,
    })
}

/// The exit code and JSON name of a wait's verdict.
fn verdict_code(verdict: Verdict) -> (u8, &'static str) {
    match verdict {
        Verdict::Success => (exit_code::OK, "success"),
        Verdict::Failed => (exit_code::CI_RUN_FAILED, "failed"),
        Verdict::Cancelled => (exit_code::CI_RUN_CANCELLED, "cancelled"),
        _ => (exit_code::CI_WAIT_TIMEOUT, "timed_out"),
    }
}

fn report_wait(
    cx: &Context<'_>,
    outcome: &WaitOutcome,
    waited: Duration,
    json: bool,
) -> Result<u8, Failure> {
    let verdict = outcome.verdict();
    let (code, verdict_name) = verdict_code(verdict);
    if json {
        print_json(&wait_json(outcome, waited, verdict_name, code))?;
    } else {
        if verdict == Verdict::TimedOut {
            println!(
                "gave up waiting after {}: run {} is still {} (it keeps going)",
                human_ms(waited.as_millis() as u64),
                outcome.run.id,
                outcome.run.status
            );
        } else {
            print_run(&outcome.run);
        }
        print_jobs(cx, &outcome.jobs);
    }
    Ok(code)
}

async fn find_job(p: &dyn CiProvider, run: &RunId, wanted: &str) -> Result<Job, Failure> {
    let jobs = p.list_jobs(run).await.map_err(api_failure)?;
    if let Some(j) = jobs
        .iter()
        .find(|j| j.id.as_str() == wanted || j.name == wanted)
    {
        return Ok(j.clone());
    }
    let names: Vec<String> = jobs
        .iter()
        .map(|j| format!("{} ({})", j.name, j.id))
        .collect();
    Err(Failure::usage(format!(
        "run {run} has no job `{wanted}`{}",
        if names.is_empty() {
            String::new()
        } else {
            format!("; its jobs: {}", names.join(", "))
        }
    )))
}

async fn logs(
    p: &dyn CiProvider,
    run: &RunId,
    job: Option<String>,
    follow: bool,
    json: bool,
) -> Result<u8, Failure> {
    let jobs: Vec<Job> = match job {
        Some(j) => vec![find_job(p, run, &j).await?],
        None => {
            let all = p.list_jobs(run).await.map_err(api_failure)?;
            if follow && all.len() > 1 {
                let names: Vec<String> = all
                    .iter()
                    .map(|j| format!("{} ({})", j.name, j.id))
                    .collect();
                return Err(Failure::usage(format!(
                    "--follow needs one job: pass --job (run {run} has {})",
                    names.join(", ")
                )));
            }
            all
        }
    };
    let several = jobs.len() > 1;
    let mut stdout = std::io::stdout();
    for job in &jobs {
        if several && !json {
            println!("=== {} ({}) ===", job.name, job.id);
        }
        let mut offset = 0u64;
        let mut idle = Duration::from_secs(2);
        loop {
            let chunk = p.job_log(run, &job.id, offset).await.map_err(api_failure)?;
            if json {
                println!(
                    "{}",
                    json!({"job_id": job.id, "job": job.name, "offset": offset, "text": chunk.text(), "next_offset": chunk.next_offset, "complete": chunk.complete})
                );
            } else {
                if chunk.restarted {
                    eprintln!(
                        "(the log was truncated by the CI; printing it again from the start)"
                    );
                }
                stdout
                    .write_all(&chunk.bytes)
                    .and_then(|()| stdout.flush())
                    .map_err(|e| Failure::error(format!("cannot write the log: {e}")))?;
            }
            let grew = chunk.next_offset != offset;
            offset = chunk.next_offset;
            if !follow || chunk.complete {
                break;
            }
            idle = if grew {
                Duration::from_secs(2)
            } else {
                (idle * 3 / 2).min(Duration::from_secs(10))
            };
            tokio::time::sleep(poll_override().unwrap_or(idle)).await;
        }
    }
    Ok(exit_code::OK)
}

fn poll_override() -> Option<Duration> {
    std::env::var("FLOWSPEC_CI_POLL_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_millis)
}

/// A writer that counts bytes into a progress bar.
struct Counting<W> {
    inner: W,
    bar: ProgressBar,
}

impl<W: AsyncWrite + Unpin> AsyncWrite for Counting<W> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &poll {
            self.bar.inc(*n as u64);
        }
        poll
    }
    fn poll_flush(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

async fn artifacts(
    cx: &Context<'_>,
    p: &dyn CiProvider,
    run: &RunId,
    output: &Path,
    names: &[String],
    unzip: Option<UnzipLimits>,
    json: bool,
) -> Result<u8, Failure> {
    let all = p.list_artifacts(run).await.map_err(api_failure)?;
    let chosen: Vec<&Artifact> = all
        .iter()
        .filter(|a| names.is_empty() || names.contains(&a.name))
        .collect();
    if chosen.is_empty() {
        let have: Vec<&str> = all.iter().map(|a| a.name.as_str()).collect();
        return Err(Failure::new(
            exit_code::CI_REQUEST_FAILED,
            if have.is_empty() {
                format!("run {run} has no artifacts")
            } else {
                format!(
                    "no artifact named {} in run {run}; it has: {}",
                    names.join(", "),
                    have.join(", ")
                )
            },
        ));
    }
    tokio::fs::create_dir_all(output)
        .await
        .map_err(|e| Failure::error(format!("cannot create {}: {e}", cx.show_path(output))))?;
    let live = stderr_is_terminal() && !cx.global.quiet;
    let mut results = Vec::new();
    for artifact in chosen {
        if artifact.expired {
            return Err(Failure::new(
                exit_code::CI_REQUEST_FAILED,
                format!("artifact `{}` has expired", artifact.name),
            ));
        }
        let mut file_name = flowspec_providers::download::safe_file_name(&artifact.name);
        if artifact.zip && !file_name.ends_with(".zip") {
            file_name.push_str(".zip");
        }
        let path = output.join(&file_name);
        let bar = if live {
            let b = match artifact.size {
                Some(size) => ProgressBar::new(size),
                None => ProgressBar::new_spinner(),
            };
            b.set_draw_target(ProgressDrawTarget::stderr());
            b.set_style(
                ProgressStyle::with_template(
                    "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}",
                )
                .expect("a valid template")
                .progress_chars("=> "),
            );
            b.set_message(artifact.name.clone());
            b
        } else {
            ProgressBar::hidden()
        };
        let file = tokio::fs::File::create(&path)
            .await
            .map_err(|e| Failure::error(format!("cannot create {}: {e}", cx.show_path(&path))))?;
        let mut sink = Counting {
            inner: file,
            bar: bar.clone(),
        };
        let result = p.download_artifact(run, artifact, &mut sink).await;
        bar.finish_and_clear();
        let bytes = match result {
            Ok(n) => n,
            Err(e) => {
                drop(sink);
                let _ = tokio::fs::remove_file(&path).await;
                return Err(api_failure(e));
            }
        };
        let mut entry = json!({"name": artifact.name, "path": path, "bytes": bytes});
        if let Some(limits) = unzip.filter(|_| artifact.zip) {
            let dir = output.join(file_name.trim_end_matches(".zip"));
            let archive = path.clone();
            let target = dir.clone();
            let files = tokio::task::spawn_blocking(move || {
                flowspec_providers::download::unzip_with(&archive, &target, limits)
            })
            .await
            .map_err(|e| Failure::error(format!("unzip stopped: {e}")))?
            .map_err(|e| {
                let hint = match e {
                    UnzipError::TooLarge { .. } => {
                        "\n  hint: if the artifact is really that large, raise --unzip-max-mib"
                    }
                    _ => "",
                };
                Failure::new(exit_code::CI_REQUEST_FAILED, format!("{e}{hint}"))
            })?;
            let _ = tokio::fs::remove_file(&path).await;
            entry = json!({"name": artifact.name, "path": dir, "bytes": bytes, "files": files});
            if !json {
                println!(
                    "{} → {} ({} files, {} bytes)",
                    artifact.name,
                    cx.show_path(&dir),
                    files.len(),
                    bytes
                );
            }
        } else if !json {
            println!(
                "{} → {} ({} bytes)",
                artifact.name,
                cx.show_path(&path),
                bytes
            );
        }
        results.push(entry);
    }
    if json {
        print_json(&results)?;
    }
    Ok(exit_code::OK)
}
