//! Latency of `flowspec watch`: from the `rename(2)` of a file into the watched
//! directory to the start of the hook process it triggers.
//!
//! ```sh
//! cargo bench -p flowspec-cli --bench watch_latency -- --mode inotify --files 300
//! cargo bench -p flowspec-cli --bench watch_latency -- --mode polling --poll-interval 100ms --files 200
//! cargo bench -p flowspec-cli --bench watch_latency -- --mode inotify --burst 500 --workers 4
//! ```
//!
//! The hook is this benchmark's own executable (a `script:` hook, so no shell runs in
//! between): when started with `WATCH_BENCH_STAMP` set, it appends the event id and the
//! wall-clock time to that file and exits. The driver takes the wall-clock time just
//! before `rename(2)`; the latency is the difference. Files are dropped one at a time
//! (the next after the previous one's hook ran), after a random pause (uniform in
//! [0, poll interval) when polling, so drops do not line up with the scans).
//! `--burst N` drops N files at once instead and reports the throughput.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

fn main() {
    if let Ok(stamps) = std::env::var("WATCH_BENCH_STAMP") {
        // Acting as the hook: record the start time first, then the id.
        let now = now_ns();
        let id = std::env::var("FLOWSPEC_EVENT_ID").unwrap_or_default();
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(stamps)
            .expect("open the stamp file");
        writeln!(file, "{id} {now}").expect("write a stamp");
        return;
    }
    let args = Args::parse();
    let bench = Bench::start(&args);
    match args.burst {
        Some(n) => bench.burst(n),
        None => bench.latency(&args),
    }
}

struct Args {
    polling: bool,
    poll_interval: Duration,
    files: usize,
    burst: Option<usize>,
    workers: usize,
}

impl Args {
    fn parse() -> Args {
        let mut args = Args {
            polling: false,
            poll_interval: Duration::from_secs(1),
            files: 300,
            burst: None,
            workers: 1,
        };
        let mut it = std::env::args().skip(1);
        while let Some(arg) = it.next() {
            let mut value = || it.next().unwrap_or_else(|| panic!("{arg} needs a value"));
            match arg.as_str() {
                "--mode" => args.polling = value() == "polling",
                "--poll-interval" => {
                    args.poll_interval = humantime::parse_duration(&value()).expect("a duration")
                }
                "--files" => args.files = value().parse().expect("a number"),
                "--burst" => args.burst = Some(value().parse().expect("a number")),
                "--workers" => args.workers = value().parse().expect("a number"),
                "--bench" => {}
                other => panic!("unknown argument {other}"),
            }
        }
        args
    }
}

struct Bench {
    project: tempfile::TempDir,
    watcher: Child,
    lines: Receiver<String>,
    poll_interval: Duration,
    polling: bool,
}

impl Bench {
    fn start(args: &Args) -> Bench {
        let project = tempfile::tempdir().expect("temp dir");
        let root = project.path();
        std::fs::create_dir_all(root.join(".flowspec/hooks")).unwrap();
        std::fs::create_dir_all(root.join("triggers")).unwrap();
        let me = std::env::current_exe().unwrap();
        std::fs::write(
            root.join(".flowspec/hooks/hooks.yaml"),
            format!(
                "hooks:\n  - name: stamp\n    events: [bench.latency]\n    script: {}\n    env:\n      WATCH_BENCH_STAMP: {}\n",
                me.display(),
                root.join("stamps.txt").display()
            ),
        )
        .unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_flowspec"));
        command
            .current_dir(root)
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG")
            .args(["watch", "triggers", "--json", "-q"])
            .args(["--workers", &args.workers.to_string()]);
        if args.polling {
            command.args([
                "--poll",
                "--poll-interval",
                &format!("{}ms", args.poll_interval.as_millis()),
            ]);
        }
        let mut watcher = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start flowspec watch");
        let stdout = watcher.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let started = lines
            .recv_timeout(Duration::from_secs(30))
            .expect("a start line");
        let info: serde_json::Value = serde_json::from_str(&started).unwrap();
        println!(
            "flowspec watch: mode {}, poll interval {} ms, {} worker(s)",
            info["info"]["mode"], info["info"]["poll_interval_ms"], info["info"]["workers"]
        );
        Bench {
            project,
            watcher,
            lines,
            poll_interval: args.poll_interval,
            polling: args.polling,
        }
    }

    fn root(&self) -> &Path {
        self.project.path()
    }

    /// Writes the event under a temporary name; returns the wall time just before the
    /// rename into the directory.
    fn drop_file(&self, id: &str) -> u128 {
        let dir = self.root().join("triggers");
        let tmp = dir.join(format!(".{id}.json.tmp"));
        std::fs::write(
            &tmp,
            format!(r#"{{"event_type":"bench.latency","event_id":"{id}"}}"#),
        )
        .unwrap();
        let t0 = now_ns();
        std::fs::rename(&tmp, dir.join(format!("{id}.json"))).unwrap();
        t0
    }

    /// Waits for the watcher's JSON line for `count` more files.
    fn wait_files(&self, count: usize) {
        let mut seen = 0;
        while seen < count {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(60))
                .expect("the watcher reports every file");
            let value: serde_json::Value = serde_json::from_str(&line).unwrap();
            if value["type"] == "file" {
                assert_eq!(value["file"]["status"], "processed", "{line}");
                seen += 1;
            }
        }
    }

    fn stamps(&self) -> HashMap<String, u128> {
        std::fs::read_to_string(self.root().join("stamps.txt"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let (id, t) = l.split_once(' ')?;
                Some((id.to_owned(), t.parse().ok()?))
            })
            .collect()
    }

    fn latency(mut self, args: &Args) {
        let mut rng = 0x2545_f491_4f6c_dd1d_u64;
        let mut pause = |max: Duration| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            max.mul_f64((rng % 10_000) as f64 / 10_000.0)
        };
        let warmup = 10;
        let mut dropped = Vec::new();
        for i in 0..warmup + args.files {
            let gap = if self.polling {
                self.poll_interval
            } else {
                Duration::from_millis(5)
            };
            std::thread::sleep(pause(gap));
            let id = format!("e{i:05}");
            let t0 = self.drop_file(&id);
            self.wait_files(1);
            if i >= warmup {
                dropped.push((id, t0));
            }
        }
        let stamps = self.stamps();
        let mut ms: Vec<f64> = dropped
            .iter()
            .map(|(id, t0)| {
                let t1 = stamps
                    .get(id)
                    .unwrap_or_else(|| panic!("no stamp for {id}"));
                (*t1 as f64 - *t0 as f64) / 1e6
            })
            .collect();
        ms.sort_by(f64::total_cmp);
        let pct = |p: f64| ms[((ms.len() as f64 * p).ceil() as usize).clamp(1, ms.len()) - 1];
        let mean = ms.iter().sum::<f64>() / ms.len() as f64;
        println!(
            "rename → hook start over {} files: p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, mean {:.2} ms, min {:.2} ms, max {:.2} ms",
            ms.len(),
            pct(0.50),
            pct(0.95),
            pct(0.99),
            mean,
            ms[0],
            ms[ms.len() - 1]
        );
        self.stop();
    }

    fn burst(mut self, n: usize) {
        // Written first, renamed in as fast as possible.
        let dir = self.root().join("triggers");
        for i in 0..n {
            std::fs::write(
                dir.join(format!(".b{i:05}.json.tmp")),
                format!(r#"{{"event_type":"bench.latency","event_id":"b{i:05}"}}"#),
            )
            .unwrap();
        }
        let started = Instant::now();
        for i in 0..n {
            std::fs::rename(
                dir.join(format!(".b{i:05}.json.tmp")),
                dir.join(format!("b{i:05}.json")),
            )
            .unwrap();
        }
        self.wait_files(n);
        let elapsed = started.elapsed();
        println!(
            "burst of {n} files: all hooks ran in {:.2} s, {:.0} files/s",
            elapsed.as_secs_f64(),
            n as f64 / elapsed.as_secs_f64()
        );
        assert_eq!(self.stamps().len(), n, "every file ran its hook once");
        self.stop();
    }

    fn stop(&mut self) {
        // SAFETY: kill(2) on the watcher this bench started (not the `kill` command:
        // Debian's procps-ng 4.0.2 misreads negative ids, so the benches avoid it too).
        unsafe {
            libc::kill(self.watcher.id() as libc::pid_t, libc::SIGTERM);
        }
        let _ = self.watcher.wait();
    }
}
