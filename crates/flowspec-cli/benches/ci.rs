//! CI benchmarks of the real `flowspec` binary against a local mock of GitHub:
//!
//! 1. `ci wait` on a run that lasts 10 minutes: how many requests, how many of them
//!    answered `304 Not Modified` (free of rate limit). Time is compressed: the mock's
//!    clock runs `FACTOR`× faster than the wall clock, and `FLOWSPEC_CI_POLL_MS` scales
//!    flowspec's GitHub schedule (10 s → 60 s) by the same factor, so the request
//!    pattern is the one of a real 10-minute wait.
//! 2. `ci artifacts` downloading a 1 GiB artifact (302 to a storage URL, streamed):
//!    peak RSS of the flowspec process (wait4 rusage) and throughput on loopback.
//!
//! Run: `cargo bench -p flowspec-cli --bench ci` (results: docs/benchmarks.md).

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Mock seconds per wall second.
const FACTOR: f64 = 200.0;
/// flowspec's GitHub start interval (10 s) divided by FACTOR, in ms.
const POLL_MS: u64 = 50;
/// The run: queued for 20 s, then three jobs end at 200 s, 400 s and 600 s.
const RUN_SECONDS: f64 = 600.0;
const ARTIFACT_BYTES: u64 = 1 << 30;

#[derive(Default)]
struct Counts {
    run_200: AtomicU64,
    run_304: AtomicU64,
    jobs_200: AtomicU64,
    jobs_304: AtomicU64,
    other: AtomicU64,
}

struct Mock {
    start: Instant,
    counts: Counts,
    port: u16,
}

impl Mock {
    fn virtual_seconds(&self) -> f64 {
        self.start.elapsed().as_secs_f64() * FACTOR
    }

    /// 0 queued, 1..=3 running with n-1 jobs done, 4 completed.
    fn phase(&self) -> u32 {
        let t = self.virtual_seconds();
        if t < 20.0 {
            0
        } else if t >= RUN_SECONDS {
            4
        } else {
            1 + (t / 200.0) as u32
        }
    }
}

fn run_body(phase: u32) -> String {
    let (status, conclusion) = match phase {
        0 => ("queued", "null"),
        4 => ("completed", "\"success\""),
        _ => ("in_progress", "null"),
    };
    format!(
        r#"{{"id":7,"name":"CI","display_title":"CI","run_number":1,"run_attempt":1,"event":"workflow_dispatch","status":"{status}","conclusion":{conclusion},"head_branch":"main","head_sha":"a1b2c3","html_url":"https://github.com/octo/app/actions/runs/7","created_at":"2026-03-20T10:00:00Z","updated_at":"2026-03-20T10:{:02}:00Z","run_started_at":"2026-03-20T10:00:20Z"}}"#,
        phase * 3
    )
}

fn jobs_body(phase: u32) -> String {
    let jobs: Vec<String> = (0..3)
        .map(|i| {
            let (status, conclusion) = if phase > i + 1 {
                ("completed", "\"success\"")
            } else if phase >= 1 {
                ("in_progress", "null")
            } else {
                ("queued", "null")
            };
            format!(
                r#"{{"id":{},"name":"job-{i}","status":"{status}","conclusion":{conclusion}}}"#,
                100 + i
            )
        })
        .collect();
    format!(r#"{{"total_count":3,"jobs":[{}]}}"#, jobs.join(","))
}

fn respond(stream: &mut TcpStream, status: &str, headers: &[(&str, String)], body: &[u8]) {
    let mut head = format!(
        "HTTP/1.1 {status}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
}

fn handle(mut stream: TcpStream, mock: &Mock) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone the socket"));
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let target = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let mut if_none_match = None;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).is_err() || header == "\r\n" || header.is_empty() {
            break;
        }
        if let Some((k, v)) = header.split_once(':')
            && k.eq_ignore_ascii_case("if-none-match")
        {
            if_none_match = Some(v.trim().to_owned());
        }
    }
    let path = target.split('?').next().unwrap_or("");
    let phase = mock.phase();
    let etag = format!("\"p{phase}\"");
    match path {
        "/repos/octo/app/actions/runs/7" | "/repos/octo/app/actions/runs/7/jobs" => {
            let jobs = path.ends_with("/jobs");
            let (ok, not_modified) = if jobs {
                (&mock.counts.jobs_200, &mock.counts.jobs_304)
            } else {
                (&mock.counts.run_200, &mock.counts.run_304)
            };
            if if_none_match.as_deref() == Some(etag.as_str()) {
                not_modified.fetch_add(1, Ordering::Relaxed);
                respond(&mut stream, "304 Not Modified", &[("etag", etag)], b"");
            } else {
                ok.fetch_add(1, Ordering::Relaxed);
                let body = if jobs {
                    jobs_body(phase)
                } else {
                    run_body(phase)
                };
                respond(
                    &mut stream,
                    "200 OK",
                    &[("etag", etag), ("content-type", "application/json".into())],
                    body.as_bytes(),
                );
            }
        }
        "/repos/octo/app/actions/runs/7/artifacts" => {
            mock.counts.other.fetch_add(1, Ordering::Relaxed);
            let body = format!(
                r#"{{"total_count":1,"artifacts":[{{"id":11,"name":"big","size_in_bytes":{ARTIFACT_BYTES},"expired":false}}]}}"#
            );
            respond(
                &mut stream,
                "200 OK",
                &[("content-type", "application/json".into())],
                body.as_bytes(),
            );
        }
        "/repos/octo/app/actions/artifacts/11/zip" => {
            mock.counts.other.fetch_add(1, Ordering::Relaxed);
            let location = format!("http://127.0.0.1:{}/blob/big.bin", mock.port);
            respond(&mut stream, "302 Found", &[("location", location)], b"");
        }
        "/blob/big.bin" => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-type: application/octet-stream\r\ncontent-length: {ARTIFACT_BYTES}\r\n\r\n"
            );
            if stream.write_all(head.as_bytes()).is_err() {
                return;
            }
            let chunk = vec![0x5au8; 256 * 1024];
            let mut left = ARTIFACT_BYTES;
            while left > 0 {
                let n = left.min(chunk.len() as u64) as usize;
                if stream.write_all(&chunk[..n]).is_err() {
                    return;
                }
                left -= n as u64;
            }
        }
        _ => respond(
            &mut stream,
            "404 Not Found",
            &[],
            br#"{"message":"Not Found"}"#,
        ),
    }
}

fn start_mock() -> Arc<Mock> {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let mock = Arc::new(Mock {
        start: Instant::now(),
        counts: Counts::default(),
        port: listener.local_addr().unwrap().port(),
    });
    let shared = Arc::clone(&mock);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let m = Arc::clone(&shared);
            std::thread::spawn(move || handle(stream, &m));
        }
    });
    mock
}

fn project(port: u16) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join(".flowspec/hooks")).unwrap();
    std::fs::write(dir.path().join(".flowspec/hooks/hooks.yaml"), "hooks: []\n").unwrap();
    std::fs::write(
        dir.path().join(".flowspec/flowspec.yaml"),
        format!("ci:\n  provider: github\n  config:\n    repo: octo/app\n    api_url: http://127.0.0.1:{port}\n    ref: main\n"),
    )
    .unwrap();
    dir
}

/// Runs flowspec and returns (exit code, stdout, peak RSS in KiB, wall time).
// The child is reaped with wait4 (to read its own rusage), not Child::wait.
#[allow(clippy::zombie_processes)]
fn flowspec(dir: &std::path::Path, args: &[&str]) -> (i32, String, i64, Duration) {
    let started = Instant::now();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_flowspec"))
        .current_dir(dir)
        .env("GITHUB_TOKEN", "ghp_bench")
        .env("FLOWSPEC_CI_POLL_MS", POLL_MS.to_string())
        .env("NO_COLOR", "1")
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("run flowspec");
    let pid = child.id() as libc::pid_t;
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut child.stdout.expect("stdout"), &mut stdout).unwrap();
    let mut status = 0;
    // SAFETY: plain libc call on our own child; rusage is a plain struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4");
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    (code, stdout, usage.ru_maxrss, started.elapsed())
}

fn main() {
    // 1. ci wait on a 10-minute run.
    let mock = start_mock();
    let dir = project(mock.port);
    let (code, stdout, _, wall) = flowspec(dir.path(), &["ci", "wait", "--run", "7", "--json"]);
    assert_eq!(code, 0, "ci wait failed: {stdout}");
    let c = &mock.counts;
    let (r200, r304, j200, j304) = (
        c.run_200.load(Ordering::Relaxed),
        c.run_304.load(Ordering::Relaxed),
        c.jobs_200.load(Ordering::Relaxed),
        c.jobs_304.load(Ordering::Relaxed),
    );
    let total = r200 + r304 + j200 + j304;
    println!(
        "ci wait, 10-minute run ({}x compressed: {:.1}s wall)",
        FACTOR,
        wall.as_secs_f64()
    );
    println!(
        "  run requests:  {} ({} answered 200, {} answered 304)",
        r200 + r304,
        r200,
        r304
    );
    println!(
        "  jobs requests: {} ({} answered 200, {} answered 304)",
        j200 + j304,
        j200,
        j304
    );
    println!(
        "  total: {total} requests, {} counted against the rate limit",
        r200 + j200
    );
    println!("  gh run watch (3 s interval): ~200 run requests + jobs requests for the same run");

    // 2. a 1 GiB artifact. The file is a symlink to /dev/null: the bytes go through
    // the real file-writing path without needing 1 GiB of free disk.
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::os::unix::fs::symlink("/dev/null", out.join("big.zip")).expect("symlink");
    let (code, stdout, rss_kib, wall) = flowspec(
        dir.path(),
        &[
            "ci",
            "artifacts",
            "--run",
            "7",
            "--output",
            out.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(code, 0, "ci artifacts failed: {stdout}");
    let written: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(
        written[0]["bytes"].as_u64(),
        Some(ARTIFACT_BYTES),
        "the whole artifact was streamed"
    );
    let mb_s = ARTIFACT_BYTES as f64 / 1e6 / wall.as_secs_f64();
    println!("ci artifacts, 1 GiB over loopback (written to /dev/null through the file path)");
    println!(
        "  peak RSS: {:.1} MB, wall {:.2}s, {:.0} MB/s",
        rss_kib as f64 / 1024.0,
        wall.as_secs_f64(),
        mb_s
    );
}
