//! End-to-end tests of the `flowspec` binary: each test gets a temporary project.

mod audit;
mod ci;
mod ci_results;
mod emit;
mod hooks;
mod init;
mod notify;
mod results;
mod safety;
mod serve;
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

/// Formats output for assertion messages.
pub fn shown(stdout: &str, stderr: &str) -> String {
    format!("stdout:\n```\n{stdout}```\nstderr:\n```\n{stderr}```")
}
