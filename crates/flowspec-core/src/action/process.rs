//! `script:` and `command:` hooks: a child process in its own process group.
//!
//! The process gets the event JSON on stdin, the hook's environment, and the working
//! directory. Its stdout and stderr are read line by line into the [`OutputSink`].
//! On timeout the whole group (children and grandchildren) gets SIGTERM, then SIGKILL
//! after the grace period. When the process exits, output still buffered in the pipes
//! is read for up to [`DRAIN_GRACE`]; background processes that keep the pipes open
//! beyond that are no longer read (redirect their output if it matters).

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use rustix::process::{Pid, Signal, WaitId, WaitIdOptions};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};

use super::{Action, ActionContext, ActionFactory, ActionOutcome, BuildContext};
use crate::config::{ConfigError, ConfigErrorKind, ConfigErrors, Node};
use crate::output::{OutputSink, Stream};

/// How long output is still read after the process exits.
pub const DRAIN_GRACE: Duration = Duration::from_millis(250);

/// Lines longer than this are split.
const MAX_LINE: usize = 16 * 1024;

/// What to execute.
#[derive(Clone, Debug)]
enum Program {
    /// An executable file: the absolute path, and the path as written.
    Script { path: PathBuf, written: String },
    /// A command line for `sh -c`.
    Shell(String),
}

/// Runs a script or a shell command.
#[derive(Clone, Debug)]
pub struct ProcessAction {
    program: Program,
}

impl ProcessAction {
    /// Runs `command` with `/bin/sh -c`.
    pub fn command(command: impl Into<String>) -> Self {
        ProcessAction {
            program: Program::Shell(command.into()),
        }
    }

    /// Runs the executable at `path` (absolute, or relative to the working directory).
    pub fn script(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        ProcessAction {
            program: Program::Script {
                written: path.display().to_string(),
                path,
            },
        }
    }

    fn build_command(&self) -> Command {
        match &self.program {
            Program::Script { path, .. } => Command::new(path),
            Program::Shell(line) => {
                let mut cmd = Command::new("/bin/sh");
                cmd.arg("-c").arg(line);
                cmd
            }
        }
    }
}

#[async_trait]
impl Action for ProcessAction {
    fn summary(&self) -> String {
        match &self.program {
            Program::Script { written, .. } => format!("script: {written}"),
            Program::Shell(line) => {
                let first = line.lines().next().unwrap_or("");
                if line.lines().nth(1).is_some() {
                    format!("command: {first} …")
                } else {
                    format!("command: {first}")
                }
            }
        }
    }

    fn enforces_timeout(&self) -> bool {
        true
    }

    async fn run(&self, cx: &ActionContext<'_>) -> ActionOutcome {
        let mut cmd = self.build_command();
        for name in cx.env_remove {
            cmd.env_remove(name);
        }
        cmd.current_dir(cx.working_dir)
            .envs(cx.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = match cmd.spawn() {
            Ok(child) => child,
            Err(e) => {
                return ActionOutcome::failed(format!("cannot start {}: {e}", self.summary()));
            }
        };
        let Some(pid) = child.id() else {
            return ActionOutcome::failed("the process exited before it could be watched");
        };
        let Some(group) = GroupGuard::new(pid) else {
            // Never the case for a child we just started; refuse rather than signal
            // every process of ours (0) or init (1).
            let _ = child.start_kill();
            let _ = child.wait().await;
            return ActionOutcome::failed(format!(
                "the process got id {pid}, which cannot be a process group of its own"
            ));
        };

        let stdin = child.stdin.take();
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let (exited_tx, exited_rx) = tokio::sync::oneshot::channel::<()>();

        let waiter = async {
            let outcome = wait_or_kill(&mut child, &group, cx.timeout, cx.kill_grace).await;
            let _ = exited_tx.send(());
            outcome
        };
        let io = async {
            let pumps = async {
                tokio::join!(
                    write_stdin(stdin, cx.payload),
                    pump(stdout, Stream::Stdout, cx.output),
                    pump(stderr, Stream::Stderr, cx.output),
                )
            };
            tokio::select! {
                _ = pumps => {}
                _ = async {
                    let _ = exited_rx.await;
                    tokio::time::sleep(DRAIN_GRACE).await;
                } => {}
            }
        };
        let (waited, ()) = tokio::join!(waiter, io);

        match waited {
            Waited::Exited(Ok(status)) => outcome_of(status),
            Waited::Exited(Err(e)) => {
                ActionOutcome::failed(format!("cannot wait for the process: {e}"))
            }
            Waited::TimedOut(status) => {
                ActionOutcome::timed_out().with_exit_code(status.ok().and_then(|s| s.code()))
            }
        }
    }
}

fn outcome_of(status: ExitStatus) -> ActionOutcome {
    match (status.code(), status.signal()) {
        (Some(0), _) => ActionOutcome::success().with_exit_code(Some(0)),
        (Some(code), _) => {
            ActionOutcome::failed(format!("exit code {code}")).with_exit_code(Some(code))
        }
        (None, Some(signal)) => ActionOutcome::failed(format!("killed by signal {signal}")),
        (None, None) => ActionOutcome::failed("ended without an exit code"),
    }
}

enum Waited {
    Exited(std::io::Result<ExitStatus>),
    TimedOut(std::io::Result<ExitStatus>),
}

async fn wait_or_kill(
    child: &mut Child,
    group: &GroupGuard,
    timeout: Duration,
    grace: Duration,
) -> Waited {
    tokio::select! {
        status = child.wait() => {
            group.mark_reaped();
            return Waited::Exited(status);
        }
        _ = tokio::time::sleep(timeout) => {}
    }
    // Timed out. Signal first and reap last: until the leader is reaped (even as a
    // zombie) its pid, which is the group id, cannot be given to another process group.
    group.signal(Signal::TERM);
    let deadline = tokio::time::Instant::now() + grace;
    while !leader_exited(group.pgid) && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Whether or not the leader is gone, its children may not be: finish them.
    group.signal(Signal::KILL);
    let status = child.wait().await;
    group.mark_reaped();
    Waited::TimedOut(status)
}

/// Whether the process `pid` (our child) has exited, without reaping it: WNOWAIT
/// leaves the child waitable, so tokio still reaps it and the pid stays reserved
/// until then.
fn leader_exited(pid: Pid) -> bool {
    matches!(
        rustix::process::waitid(
            WaitId::Pid(pid),
            WaitIdOptions::EXITED | WaitIdOptions::NOHANG | WaitIdOptions::NOWAIT,
        ),
        Ok(Some(_))
    )
}

async fn write_stdin(stdin: Option<tokio::process::ChildStdin>, payload: &[u8]) {
    if let Some(mut stdin) = stdin {
        // A hook that does not read stdin closes the pipe: that is fine.
        let _ = stdin.write_all(payload).await;
        let _ = stdin.shutdown().await;
    }
}

async fn pump<R: AsyncRead + Unpin>(reader: Option<R>, stream: Stream, sink: &OutputSink) {
    let Some(mut reader) = reader else { return };
    // Read straight into the line buffer: no 8 KiB array in every hook's future.
    let mut buf = Vec::with_capacity(8192);
    loop {
        if buf.capacity() - buf.len() < 4096 {
            buf.reserve(8192);
        }
        match reader.read_buf(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let mut start = 0;
        while let Some(pos) = buf[start..].iter().position(|&b| b == b'\n') {
            sink.line(stream, &buf[start..start + pos]);
            start += pos + 1;
        }
        buf.drain(..start);
        while buf.len() >= MAX_LINE {
            sink.line(stream, &buf[..MAX_LINE]);
            buf.drain(..MAX_LINE);
        }
    }
    if !buf.is_empty() {
        sink.line(stream, &buf);
    }
}

/// Kills the process group if the run is abandoned (the future dropped on Ctrl-C or
/// cancellation), so no hook outlives its engine by accident. Once the leader is
/// reaped it never signals: the group id may then belong to someone else.
struct GroupGuard {
    pgid: Pid,
    reaped: AtomicBool,
}

impl GroupGuard {
    /// The group led by our child `pid` (started with `process_group(0)`); `None` for
    /// an id that cannot be such a group (0 would mean our own group, 1 is init).
    fn new(pid: u32) -> Option<Self> {
        let pgid = i32::try_from(pid).ok().filter(|&raw| raw > 1)?;
        let pgid = Pid::from_raw(pgid)?;
        Some(GroupGuard {
            pgid,
            reaped: AtomicBool::new(false),
        })
    }

    fn signal(&self, signal: Signal) {
        if self.reaped.load(Ordering::SeqCst) {
            return;
        }
        // The group's leader is not reaped yet, so the id is still ours. An error
        // (ESRCH: every member already gone) leaves nothing to do.
        let _ = rustix::process::kill_process_group(self.pgid, signal);
    }

    fn mark_reaped(&self) {
        self.reaped.store(true, Ordering::SeqCst);
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.signal(Signal::KILL);
    }
}

/// `script: path/to/file` — an executable file relative to the project root.
pub struct ScriptFactory;

impl ActionFactory for ScriptFactory {
    fn key(&self) -> &'static str {
        "script"
    }

    fn describe(&self) -> &'static str {
        "run an executable file (path relative to the project root)"
    }

    fn example_yaml(&self) -> &'static str {
        "name: run-local-tests\nevents:\n  - type: implement.completed\nscript: .flowspec/hooks/run-local-tests.sh\n"
    }

    fn build(&self, value: &Node, cx: &BuildContext<'_>) -> Result<Arc<dyn Action>, ConfigErrors> {
        let err = |kind, msg: String| {
            cx.locate(
                ConfigError::new(kind, msg)
                    .at(value.loc)
                    .path(cx.key_path.clone()),
            )
        };
        let Some(written) = value.as_str().filter(|s| !s.trim().is_empty()) else {
            return Err(err(
                ConfigErrorKind::InvalidValue,
                format!(
                    "`script` must be a path to an executable file, found {}",
                    value.value.kind()
                ),
            )
            .hint("use `command:` for a shell command line")
            .into());
        };
        let path = cx.project_root.join(written);
        let meta = match std::fs::metadata(&path) {
            Ok(meta) => meta,
            Err(_) => {
                return Err(err(
                    ConfigErrorKind::MissingFile,
                    format!("script `{written}` does not exist (looked at {})", path.display()),
                )
                .hint("script paths are relative to the project root; create the file or fix the path")
                .into());
            }
        };
        if !meta.is_file() {
            return Err(err(
                ConfigErrorKind::MissingFile,
                format!("script `{written}` is not a file"),
            )
            .into());
        }
        if meta.permissions().mode() & 0o111 == 0 {
            return Err(err(
                ConfigErrorKind::InvalidValue,
                format!("script `{written}` is not executable"),
            )
            .hint(format!("run `chmod +x {written}`"))
            .into());
        }
        Ok(Arc::new(ProcessAction {
            program: Program::Script {
                path,
                written: written.to_owned(),
            },
        }))
    }
}

/// `command: ...` — a command line run by `sh -c`.
pub struct CommandFactory;

impl ActionFactory for CommandFactory {
    fn key(&self) -> &'static str {
        "command"
    }

    fn describe(&self) -> &'static str {
        "run a command line with `sh -c` (the event is on stdin, never in the command text)"
    }

    fn example_yaml(&self) -> &'static str {
        "name: deployment-notification\nevents:\n  - type: deploy.completed\n    filter:\n      environment: staging\ncommand: echo \"deployed $FLOWSPEC_EVENT_ID\"\n"
    }

    fn build(&self, value: &Node, cx: &BuildContext<'_>) -> Result<Arc<dyn Action>, ConfigErrors> {
        match value.as_str().filter(|s| !s.trim().is_empty()) {
            Some(line) => Ok(Arc::new(ProcessAction::command(line))),
            None => Err(cx
                .locate(
                    ConfigError::new(
                        ConfigErrorKind::InvalidValue,
                        format!(
                            "`command` must be a non-empty command line, found {}",
                            value.value.kind()
                        ),
                    )
                    .at(value.loc)
                    .path(cx.key_path.clone()),
                )
                .into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Event;

    async fn run(action: &ProcessAction, timeout: Duration) -> (ActionOutcome, String) {
        let event = Event::builder("t.x").build().unwrap();
        let payload = event.to_vec();
        let reporter = std::sync::Arc::new(crate::report::SilentReporter);
        let sink = OutputSink::new("t", crate::secret::Masker::default(), reporter, 1 << 20);
        let dir = std::env::temp_dir();
        let cx = ActionContext {
            event: &event,
            payload: &payload,
            hook_name: "t",
            env: &[("GREETING".into(), "hi".into())],
            env_remove: &[],
            project_root: &dir,
            working_dir: &dir,
            timeout,
            kill_grace: Duration::from_millis(200),
            attempt: 1,
            output: &sink,
        };
        let outcome = action.run(&cx).await;
        (outcome, sink.tail())
    }

    #[tokio::test]
    async fn should_pass_payload_on_stdin_and_env() {
        let action = ProcessAction::command("echo \"$GREETING\"; cat; echo; echo err >&2");
        let (outcome, tail) = run(&action, Duration::from_secs(5)).await;
        assert_eq!(outcome.result, super::super::ActionResult::Success);
        // stderr's line may land anywhere between stdout's: leave it out of the order.
        let stdout: Vec<&str> = tail.lines().filter(|l| *l != "err").collect();
        assert!(
            stdout.len() >= 2 && stdout[0] == "hi" && stdout[1].starts_with("{\"event_id\""),
            "stdout keeps its order: {tail}"
        );
        assert!(tail.contains("\"event_type\":\"t.x\""), "{tail}");
        assert!(
            tail.lines().any(|l| l == "err"),
            "stderr is read too (its order against stdout is not defined): {tail}"
        );
    }

    #[tokio::test]
    async fn should_report_exit_codes() {
        let (outcome, _) = run(&ProcessAction::command("exit 3"), Duration::from_secs(5)).await;
        assert_eq!(outcome.exit_code, Some(3));
        assert_eq!(
            outcome.result,
            super::super::ActionResult::Failed("exit code 3".into())
        );
    }

    #[tokio::test]
    async fn should_split_very_long_lines() {
        let (_, tail) = run(
            &ProcessAction::command("head -c 40000 /dev/zero | tr '\\0' a"),
            Duration::from_secs(5),
        )
        .await;
        assert_eq!(tail.lines().count(), 3);
    }

    #[tokio::test]
    async fn should_kill_a_process_that_ignores_sigterm_after_the_grace() {
        // `trap '' TERM` is inherited by `sleep`: only SIGKILL ends them.
        let action = ProcessAction::command("trap '' TERM; echo ready; sleep 30");
        let (outcome, tail) = run(&action, Duration::from_millis(300)).await;
        assert_eq!(outcome.result, super::super::ActionResult::TimedOut);
        assert_eq!(tail, "ready\n");
    }

    /// Whether `pid` is gone: no such process, or a zombie nobody reaped yet (a
    /// grandchild handed to init after its parent died).
    fn process_gone(pid: Pid) -> bool {
        if rustix::process::test_kill_process(pid).is_err() {
            return true;
        }
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid.as_raw_nonzero()))
            .unwrap_or_default();
        // `pid (comm) S ...`: the state follows the last parenthesis.
        let state = stat.rsplit_once(')').map(|(_, rest)| rest.trim_start());
        state.is_none_or(|s| s.starts_with('Z') || s.starts_with('X'))
    }

    /// Waits until `pid` is gone; false if it is still there after a generous while
    /// (the process was not killed).
    async fn wait_gone(pid: Pid) -> bool {
        for _ in 0..1000 {
            if process_gone(pid) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        false
    }

    fn pid_in(tail: &str) -> Pid {
        let raw: i32 = tail.lines().next().unwrap().trim().parse().unwrap();
        Pid::from_raw(raw).unwrap()
    }

    #[tokio::test]
    async fn should_end_the_whole_process_tree_at_the_timeout() {
        // A grandchild that ignores SIGTERM (the ignore is inherited): only the
        // SIGKILL sent to the whole group reaches it.
        let action = ProcessAction::command("trap '' TERM; sleep 600 & echo $!; wait");
        let (outcome, tail) = run(&action, Duration::from_millis(300)).await;
        assert_eq!(outcome.result, super::super::ActionResult::TimedOut);
        let grandchild = pid_in(&tail);
        assert!(
            wait_gone(grandchild).await,
            "the background `sleep` ({grandchild:?}) outlived its hook"
        );
    }

    #[tokio::test]
    async fn should_not_wait_for_background_children_holding_the_pipe() {
        // The background `sleep` keeps stdout open long after the shell exits.
        let (outcome, tail) = run(
            &ProcessAction::command("sleep 600 & echo $!"),
            Duration::from_secs(600),
        )
        .await;
        assert_eq!(outcome.result, super::super::ActionResult::Success);
        let background = pid_in(&tail);
        let still_running = !process_gone(background);
        // Clean up before asserting; the leader is reaped, so signal the pid itself.
        let _ = rustix::process::kill_process(background, Signal::KILL);
        assert!(
            still_running,
            "the run ended only after its background child holding the pipe had ended"
        );
    }

    #[test]
    fn should_refuse_to_signal_our_own_group_or_init() {
        assert!(GroupGuard::new(0).is_none());
        assert!(GroupGuard::new(1).is_none());
        assert!(GroupGuard::new(u32::MAX).is_none());
        let guard = GroupGuard::new(4242).unwrap();
        guard.mark_reaped(); // Never signal a group that is not ours.
    }
}
