//! End-to-end tests of the `flowspec` binary: each test gets a temporary project.

mod action;
mod audit;
mod ci;
mod ci_ghes;
mod ci_push;
mod ci_results;
mod ci_steer;
mod completion;
mod dashboard;
mod docs;
mod emit;
mod emit_bad_bytes;
mod escapes;
mod events;
mod fix_loop;
mod help;
mod hooks;
mod init;
mod notify;
mod notify_replay;
mod pr;
mod pr_comment;
mod prune;
mod results;
mod results_summary;
mod runtime;
mod safety;
mod serve;
mod serve_postgres;
mod status;
mod subscribe;
mod terminal;
mod watch;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// A temporary project with a `.flowspec/hooks/hooks.yaml`.
pub struct TestProject {
    dir: tempfile::TempDir,
}

impl TestProject {
    /// A project whose hooks.yaml is `hooks_yaml`.
    pub fn new(hooks_yaml: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join(".flowspec/hooks")).unwrap();
        let project = TestProject { dir };
        project.write(".flowspec/hooks/hooks.yaml", hooks_yaml);
        project
    }

    /// An empty directory (no project).
    pub fn empty() -> Self {
        TestProject {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn join(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    pub fn write(&self, relative: &str, contents: &str) {
        let path = self.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }

    pub fn write_script(&self, relative: &str, contents: &str) {
        self.write(relative, contents);
        std::fs::set_permissions(self.join(relative), std::fs::Permissions::from_mode(0o755))
            .unwrap();
    }

    pub fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.join(relative)).unwrap_or_default()
    }

    /// `flowspec` run in the project, with a clean flowspec environment and no colors.
    pub fn cmd(&self) -> Command {
        let mut cmd = Command::cargo_bin("flowspec").expect("flowspec binary");
        cmd.current_dir(self.path())
            .env_remove("FLOWSPEC_CONFIG")
            .env_remove("RUST_LOG")
            .env_remove("COLUMNS")
            .env_remove("CLICOLOR_FORCE")
            .env("NO_COLOR", "1");
        cmd
    }

    /// The audit log's records as JSON values.
    pub fn audit(&self) -> Vec<serde_json::Value> {
        self.read(".flowspec/audit.log")
            .lines()
            .map(|l| serde_json::from_str(l).expect("audit lines are JSON"))
            .collect()
    }
}

/// Runs `cmd` and returns (exit code, stdout, stderr), printing them on failure.
pub fn run(cmd: &mut Command) -> (i32, String, String) {
    let output = cmd.output().expect("run flowspec");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        !stderr.contains("panicked"),
        "flowspec panicked:\n```\n{stderr}\n```"
    );
    (output.status.code().unwrap_or(-1), stdout, stderr)
}

/// Sends `signal` to the process `pid` with kill(2). Tests never shell out to the
/// `kill` command: Debian's procps-ng 4.0.2 misreads a negative process-group id
/// (`kill -9 -12345` signals `-1`, every process on the machine).
pub fn send_signal(pid: u32, signal: libc::c_int) {
    let pid = libc::pid_t::try_from(pid).expect("a pid fits pid_t");
    assert!(pid > 1, "refusing to signal pid {pid}");
    // SAFETY: kill(2) on one positive pid that the test started.
    unsafe {
        libc::kill(pid, signal);
    }
}

/// Kills the process group `pgid` (a hook's group left behind when flowspec itself
/// was killed), but only while its leader still leads it, so a reused id is never hit.
pub fn kill_group(pgid: u32) {
    let stat = std::fs::read_to_string(format!("/proc/{pgid}/stat")).unwrap_or_default();
    // Fields after the command name: state, ppid, pgrp.
    let pgrp = stat
        .rsplit(')')
        .next()
        .and_then(|rest| rest.split_whitespace().nth(2))
        .and_then(|g| g.parse::<u32>().ok());
    // SAFETY: getpgrp(2) has no preconditions.
    let ours = unsafe { libc::getpgrp() } as u32;
    if pgid > 1 && pgrp == Some(pgid) && pgid != ours {
        // SAFETY: kill(2) on a negative id signals exactly that process group.
        unsafe {
            libc::kill(-(pgid as libc::pid_t), libc::SIGKILL);
        }
    }
}

/// Waits until `condition` holds (checked every 20 ms): tests synchronise on what they
/// can observe, never on a fixed sleep. Fails after a generous 60 s.
pub fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !condition() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Formats output for assertion messages.
pub fn shown(stdout: &str, stderr: &str) -> String {
    format!("stdout:\n```\n{stdout}```\nstderr:\n```\n{stderr}```")
}
