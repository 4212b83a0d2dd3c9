//! Helpers for tests: a recording action and a reporter that keeps everything.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::action::{Action, ActionContext, ActionOutcome};
use crate::event::Event;
use crate::output::Stream;
use crate::report::{HookReport, Reporter};

/// An action that records the events it receives and succeeds (or fails, if built
/// with [`RecordingAction::failing`]).
#[derive(Debug, Default)]
pub struct RecordingAction {
    events: Mutex<Vec<Event>>,
    fail_with: Option<String>,
}

impl RecordingAction {
    /// A recording action that succeeds.
    pub fn new() -> Arc<Self> {
        Arc::new(RecordingAction::default())
    }

    /// A recording action that fails with `message`.
    pub fn failing(message: &str) -> Arc<Self> {
        Arc::new(RecordingAction {
            events: Mutex::default(),
            fail_with: Some(message.to_owned()),
        })
    }

    /// The events received so far.
    pub fn events(&self) -> Vec<Event> {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

#[async_trait]
impl Action for RecordingAction {
    fn summary(&self) -> String {
        "recording action".into()
    }

    async fn run(&self, cx: &ActionContext<'_>) -> ActionOutcome {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(cx.event.clone());
        match &self.fail_with {
            Some(message) => ActionOutcome::failed(message.clone()),
            None => ActionOutcome::success(),
        }
    }
}

/// A reporter that keeps every callback as a line of text, in order.
#[derive(Debug, Default)]
pub struct RecordingReporter {
    lines: Mutex<Vec<String>>,
}

impl RecordingReporter {
    /// A new reporter.
    pub fn new() -> Arc<Self> {
        Arc::new(RecordingReporter::default())
    }

    /// The recorded lines.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn push(&self, line: String) {
        self.lines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(line);
    }
}

impl Reporter for RecordingReporter {
    fn hook_started(&self, _event: &Event, hook: &str) {
        self.push(format!("start {hook}"));
    }

    fn hook_output(&self, hook: &str, stream: Stream, line: &str) {
        self.push(format!("{hook} {stream:?}: {line}"));
    }

    fn hook_finished(&self, _event: &Event, report: &HookReport) {
        self.push(format!("finish {} {}", report.hook, report.status));
    }
}

/// A sample event of `event_type` with feature `auth`.
pub fn sample_event(event_type: &str) -> Event {
    Event::builder(event_type)
        .feature("auth")
        .source("test")
        .build()
        .expect("sample event types are valid")
}

/// A throwaway PostgreSQL server for tests: `initdb` into a temporary directory, then
/// `postgres` on a free loopback port. Stopped and deleted on drop.
///
/// Needs the server binaries (`apt-get install -y postgresql`); when they are missing
/// [`TempPostgres::start`] panics with that instruction rather than skipping. When the
/// tests run as root, the server runs as the `postgres` user (PostgreSQL refuses root).
pub struct TempPostgres {
    dir: std::path::PathBuf,
    port: u16,
    child: Option<std::process::Child>,
}

impl TempPostgres {
    /// Starts a server; returns once it accepts connections.
    pub fn start() -> Self {
        use std::process::{Command, Stdio};
        let bin = postgres_bin_dir().unwrap_or_else(|| {
            panic!(
                "PostgreSQL server binaries (initdb, postgres) not found.\n\
                 Install them with: apt-get install -y postgresql\n\
                 (looked in PATH, `pg_config --bindir` and /usr/lib/postgresql/*/bin)"
            )
        });
        let root = rustix::process::geteuid().is_root();
        let dir =
            std::env::temp_dir().join(format!("flowspec-pg-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).expect("create the PostgreSQL directory");
        let data = dir.join("data");
        let as_server_user = |program: std::path::PathBuf| {
            if root {
                let mut cmd = Command::new("runuser");
                cmd.args(["-u", "postgres", "--"]).arg(program);
                cmd
            } else {
                Command::new(program)
            }
        };
        if root {
            let status = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(&dir)
                .status()
                .expect("chown");
            assert!(
                status.success(),
                "cannot give {} to the postgres user",
                dir.display()
            );
        }
        let out = as_server_user(bin.join("initdb"))
            .args([
                "-A",
                "trust",
                "-U",
                "flowspec",
                "-E",
                "UTF8",
                "--no-sync",
                "-D",
            ])
            .arg(&data)
            .output()
            .expect("run initdb");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = free_port();
        let child = as_server_user(bin.join("postgres"))
            .arg("-D")
            .arg(&data)
            .args([
                "-p",
                &port.to_string(),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
            ])
            .arg("-k")
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start postgres");
        let server = TempPostgres {
            dir,
            port,
            child: Some(child),
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "PostgreSQL did not start within 30 s"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        // Accepting TCP is not quite ready for queries; the first connection retries.
        server
    }

    /// A connection URL for the `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://flowspec@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for TempPostgres {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGTERM: smart shutdown. runuser forwards it to postgres.
            let pid = rustix::process::Pid::from_child(&child);
            if rustix::process::kill_process(pid, rustix::process::Signal::TERM).is_err() {
                let _ = child.kill();
            }
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn postgres_bin_dir() -> Option<std::path::PathBuf> {
    let has =
        |dir: &std::path::Path| dir.join("initdb").is_file() && dir.join("postgres").is_file();
    if let Ok(out) = std::process::Command::new("pg_config")
        .arg("--bindir")
        .output()
    {
        let dir = std::path::PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if has(&dir) {
            return Some(dir);
        }
    }
    let mut versions: Vec<std::path::PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|d| has(d))
        .collect();
    versions.sort();
    versions.pop()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A throwaway Redis server for tests: `redis-server` on a free loopback port with its
/// append-only file on (fsynced on every write) in a temporary directory. Killed and
/// deleted on drop.
///
/// Needs the server binary (`apt-get install -y redis-server`); when it is missing
/// [`TempRedis::start`] panics with that instruction rather than skipping.
pub struct TempRedis {
    dir: std::path::PathBuf,
    port: u16,
    child: Option<std::process::Child>,
}

impl TempRedis {
    /// Starts a server; returns once it answers `PING`.
    pub fn start() -> Self {
        let dir =
            std::env::temp_dir().join(format!("flowspec-redis-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).expect("create the Redis directory");
        let mut server = TempRedis {
            dir,
            port: free_port(),
            child: None,
        };
        server.spawn();
        server
    }

    /// `redis://127.0.0.1:<port>/0`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server with SIGKILL (a crash: only the append-only file survives).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills the server, then starts it again on the same port and files.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    fn spawn(&mut self) {
        use std::process::{Command, Stdio};
        let port = self.port.to_string();
        let child = Command::new("redis-server")
            .args(["--port", &port, "--bind", "127.0.0.1", "--save", ""])
            .args(["--appendonly", "yes", "--appendfsync", "always"])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start redis-server ({e}).\n\
                     Install it with: apt-get install -y redis-server"
                )
            });
        self.child = Some(child);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            if self.ping() {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "redis-server did not answer PING within 30 s on port {port}"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// Whether it answers `PING` with `PONG` (not `LOADING` while it replays its file).
    fn ping(&self) -> bool {
        use std::io::{Read, Write};
        let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(1)));
        let mut answer = [0u8; 64];
        stream.write_all(b"PING\r\n").is_ok()
            && stream
                .read(&mut answer)
                .is_ok_and(|n| answer[..n].starts_with(b"+PONG"))
    }
}

impl Drop for TempRedis {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
